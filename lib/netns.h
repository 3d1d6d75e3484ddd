/*
 * netns.h - reach a container that has no network, from inside its own
 * network namespace.
 *
 * An upgrade's candidate runs with NetworkMode "none": no route anywhere,
 * so it can neither refresh production's OAuth tokens upstream (providers
 * that rotate refresh tokens would revoke the copy production holds) nor
 * write into a remote store.  Its only interface is its loopback, and cpactl
 * probes it there: a socket is made inside the candidate's namespace
 * (setns(2) into /proc/PID/ns/net, socket(2), setns back) and keeps that
 * namespace for its whole life, while the process goes on in its own.
 *
 * This needs what setns needs, CAP_SYS_ADMIN (root), and the engine's
 * processes visible in /proc: a local engine.  netns_open checks that the
 * pid still belongs to the container (its cgroup names the container id), so
 * a pid the engine reported and the kernel reused is never entered.
 *
 * Who owns what: struct netns holds two descriptors, closed by netns_close.
 * Nothing here prints or keeps global state.
 */
#ifndef CPACTL_NETNS_H
#define CPACTL_NETNS_H

#include "error.h"

struct netns {
	int target_fd; /* /proc/PID/ns/net of the container, or -1 */
	int self_fd;   /* this process's own, to come back to, or -1 */
};

#define NETNS_INIT { -1, -1 }

/* 0 when this process may enter other network namespaces (it tries to
 * enter its own); -1 with err (ERR_USAGE) saying why not. */
int netns_capable(struct cpactl_error *err);

/* Opens the network namespace of process `pid`, which must belong to the
 * container `container_id` (full id) and not share this process's
 * namespace.  -1 with err: ERR_FAILED. */
int netns_open(int pid, const char *container_id, struct netns *ns, struct cpactl_error *err);

/* A socket(2) made inside ns; -1 with errno set when it cannot be. */
int netns_socket(const struct netns *ns, int domain, int type, int protocol);

void netns_close(struct netns *ns);

#endif
