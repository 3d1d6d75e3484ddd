/*
 * netns.c - sockets inside a container's network namespace (see netns.h).
 */
#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

int netns_capable(struct cpactl_error *err)
{
	int fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return error_set_errno(err, errno, ERR_USAGE,
				       "cannot open /proc/self/ns/net to reach an isolated candidate");
	/* Entering the namespace we are in changes nothing, and is allowed only
	 * with the capability that entering the candidate's needs. */
	if (setns(fd, CLONE_NEWNET) < 0)
		rc = error_set_errno(err, errno, ERR_USAGE,
				     "an isolated candidate is probed inside its own network namespace, which "
				     "needs root (CAP_SYS_ADMIN)");
	close(fd);
	return rc;
}

/* 1 when /proc/PID/cgroup names the container: the engine's cgroup path
 * holds the full id with either cgroup driver (".../docker/<id>" or
 * ".../docker-<id>.scope"). */
static int pid_in_container(int pid, const char *container_id)
{
	char path[64], text[8192];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	text[n] = '\0';
	return strstr(text, container_id) != NULL;
}

int netns_open(int pid, const char *container_id, struct netns *ns, struct cpactl_error *err)
{
	char path[64];
	struct stat target, self;

	ns->target_fd = ns->self_fd = -1;
	if (pid <= 0 || !container_id || strlen(container_id) < 12)
		return error_set(err, ERR_FAILED, "the candidate has no process to reach (pid %d)", pid);
	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	ns->target_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (ns->target_fd < 0) {
		error_set_errno(err, errno, ERR_FAILED,
				"cannot open the candidate's network namespace %s (is the engine on another "
				"machine, or in another pid namespace?)",
				path);
		goto fail;
	}
	/* Checked after the open: a pid reused before it fails here, and the
	 * descriptor keeps the namespace it opened whatever happens next. */
	if (!pid_in_container(pid, container_id)) {
		error_set(err, ERR_FAILED, "process %d is not in container %.12s: the engine's processes are "
					   "not visible here (an engine on another machine?)",
			  pid, container_id);
		goto fail;
	}
	ns->self_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (ns->self_fd < 0) {
		error_set_errno(err, errno, ERR_FAILED, "cannot open /proc/self/ns/net");
		goto fail;
	}
	if (fstat(ns->target_fd, &target) < 0 || fstat(ns->self_fd, &self) < 0) {
		error_set_errno(err, errno, ERR_FAILED, "cannot stat a network namespace");
		goto fail;
	}
	if (target.st_dev == self.st_dev && target.st_ino == self.st_ino) {
		error_set(err, ERR_FAILED, "container %.12s shares this machine's network: it is not isolated",
			  container_id);
		goto fail;
	}
	return 0;
fail:
	netns_close(ns);
	return -1;
}

int netns_socket(const struct netns *ns, int domain, int type, int protocol)
{
	int fd, saved;

	if (ns->target_fd < 0 || ns->self_fd < 0) {
		errno = EBADF;
		return -1;
	}
	if (setns(ns->target_fd, CLONE_NEWNET) < 0)
		return -1;
	fd = socket(domain, type | SOCK_CLOEXEC, protocol);
	saved = errno;
	/* Back home before anything else: every later socket (the engine's
	 * connection is a Unix socket, but a webhook is not) must be ours. */
	if (setns(ns->self_fd, CLONE_NEWNET) < 0) {
		saved = errno;
		if (fd >= 0)
			close(fd);
		errno = saved;
		return -1;
	}
	errno = saved;
	return fd;
}

void netns_close(struct netns *ns)
{
	if (ns->target_fd >= 0)
		close(ns->target_fd);
	if (ns->self_fd >= 0)
		close(ns->self_fd);
	ns->target_fd = ns->self_fd = -1;
}
