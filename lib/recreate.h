/*
 * recreate.h - plan the create request of a container that replaces another.
 *
 * An upgrade creates a new container from the inspect data of the old one:
 * the production container itself, or a candidate (the test container that
 * runs the new image beside production first).  This module turns
 * `GET /containers/{id}/json` and `GET /images/{old image}/json` into the body
 * of `POST /containers/create` plus the networks to connect before start.  It
 * talks to no engine and prints nothing: the caller sends the plan.
 *
 * What must always hold:
 *  - Only what the user set is carried over.  The inspected Config is the
 *    daemon's merge of the user's settings and the OLD image's defaults (Env,
 *    Cmd, Entrypoint, WorkingDir, User, StopSignal, Healthcheck, Labels,
 *    Volumes, ExposedPorts), so every value equal to the old image's is left
 *    out and the NEW image's defaults win.  A user value that happens to equal
 *    the old default cannot be told apart and is left out too; a note says so.
 *  - Nothing the engine made up is copied: not the short-id hostname, not a
 *    MAC address, not endpoint IDs, runtime addresses or the id aliases.
 *  - At most one network endpoint goes into the create body (API 1.41 takes
 *    one); every other network is in `extra_networks`, to be connected after
 *    create and before start.  The default bridge never gets aliases.
 *  - A candidate can never be mistaken for production, nor touch its state:
 *    no compose labels, `io.cpactl.target=false`, no restart policy; the
 *    config file and auth dir are scratch copies, never production's; the
 *    logs dir an empty scratch dir and the plugins dir a scratch copy; every
 *    other mount read-only.  Isolated (the default): no network at all.
 *    Otherwise: published on 127.0.0.1 only, one network, no aliases or
 *    static addresses.
 *  - Notes never quote a value that may be a secret (environment values,
 *    commands, label values); they name fields, counts, networks and paths.
 *  - The inputs are never modified.
 */
#ifndef CPACTL_RECREATE_H
#define CPACTL_RECREATE_H

#include <jansson.h>

#include "error.h"

/* The labels that mark a candidate, so that discovery ignores it. */
#define RECREATE_LABEL_TARGET "io.cpactl.target"
#define RECREATE_LABEL_ROLE "io.cpactl.role"

struct recreate_plan {
	json_t *create_body;    /* body for POST /containers/create (Config fields at top level + "HostConfig" + "NetworkingConfig") */
	json_t *extra_networks; /* array of {"network": name, "endpoint": {...EndpointConfig...}} to connect after create, before start */
	json_t *notes;          /* array of strings: what was dropped or changed and why (no secret values: env values are never quoted) */
};

enum recreate_role { RECREATE_PRODUCTION, RECREATE_CANDIDATE };

struct recreate_options {
	enum recreate_role role;
	const char *new_image;          /* image reference for Config.Image */
	/* candidate only: */
	int container_port;             /* e.g. 8317 */
	int test_port;                  /* host port, bound on 127.0.0.1 only */
	const char *config_in_container;/* e.g. /CLIProxyAPI/config.yaml */
	const char *auth_in_container;  /* e.g. /root/.cli-proxy-api */
	const char *scratch_config;     /* host path of the scratch copy of config.yaml */
	const char *scratch_auth;       /* host path of the scratch copy of the auth dir */
	int isolated;                   /* network mode none, nothing published (test_port unused) */
	int drop_remote_store;          /* leave out CPA's PGSTORE_*, GITSTORE_*, OBJECTSTORE_* variables */
	/* Mounts at these paths get the scratch dirs instead (NULL: no such kind). */
	const char *logs_in_container;    /* e.g. /CLIProxyAPI/logs */
	const char *scratch_logs;         /* an empty host dir: the candidate's own logs */
	const char *plugins_in_container; /* e.g. /CLIProxyAPI/plugins */
	const char *scratch_plugins;      /* a host copy of production's plugins */
	/* production only: when set, the label io.cpactl.profile=VALUE, so that a
	 * container that runs under cpactl's rollback tag (whose name says
	 * nothing of the proxy) is still known for what it is. */
	const char *profile_label;
};

/*
 * Builds the plan.  `container_inspect` is the old container's inspect (API
 * 1.41 shape or later), `old_image_inspect` the inspect of the image it runs
 * (the container's top-level "Image" ID, not the tag, which may have moved);
 * its "Config" is used, else "ContainerConfig", and missing fields count as
 * empty.  Neither input is modified or kept.
 *
 * On success the three members of `plan` are new references owned by the
 * caller, released with recreate_plan_release().  On failure `plan` is left
 * empty (all NULL) and `err` says why: ERR_USAGE for missing or bad options
 * (no new image, a candidate without ports or paths, a path that is not
 * absolute or holds ':'), ERR_PARSE when the inspect has no Config or
 * HostConfig object, ERR_NOMEM.
 */
int recreate_plan_build(json_t *container_inspect, json_t *old_image_inspect,
			const struct recreate_options *o, struct recreate_plan *plan,
			struct cpactl_error *err);

/* The inspected container's mount (bind, volume, tmpfs) at exactly `dest`,
 * its entry of "Mounts" (borrowed), or NULL. */
json_t *recreate_mount_at(json_t *container_inspect, const char *dest);

/* The host path of its bind mount at `dest`, or NULL (no mount there, or
 * not a bind).  Borrowed from the inspect. */
const char *recreate_bind_source_at(json_t *container_inspect, const char *dest);

/* Drops the plan's references and leaves it empty; safe on an empty plan. */
void recreate_plan_release(struct recreate_plan *plan);

#endif
