/*
 * discover.h - find the CPA containers on an engine and describe each one.
 *
 * Nothing is assumed: not a name, a tag, a port or a path.  A container is a
 * CPA target when its image reference (or one of its image's tags) names
 * cli-proxy-api / CLIProxyAPI, when its command runs CLIProxyAPI, when it has
 * the label io.cpactl.target=true, or when the caller names it.
 *
 * For each target the description holds what the runbook's baseline records
 * and more (see struct cpa_target).  A target whose config cannot be read is
 * still described, with the reason in `problems`; only a failure to talk to
 * the engine at all fails discovery.
 *
 * Secrets: the only secret a target holds is `probe_key` (the first client
 * api key, for probes).  cpa_target_to_json() never includes it, nor any
 * other value read from config.yaml or auth files: only counts and flags.
 */
#ifndef CPACTL_DISCOVER_H
#define CPACTL_DISCOVER_H

#include <jansson.h>
#include <stddef.h>

#include "docker.h"
#include "error.h"
#include "profile.h"

#define CPACTL_TARGET_LABEL "io.cpactl.target"
#define CPACTL_PROFILE_LABEL "io.cpactl.profile"

struct cpa_target {
	const struct profile *profile; /* what kind of proxy (borrowed, static) */
	char *probe_path;        /* the health path probed (profile's or --probe-path) */
	char *name;              /* without the leading '/' */
	char *id;
	char *image;             /* the reference the container was created from */
	char *image_id;
	char *state;             /* running, exited, restarting, created ... */
	char *started_at;        /* RFC 3339, from State.StartedAt */
	long uptime_seconds;     /* -1 when not running */
	long restart_count;
	char *restart_policy;
	char *version;           /* "v7.2.0", or NULL when unknown */
	char *version_source;    /* "binary", "image-tag" or "unknown" */
	int has_api_port;
	char api_host_ip[64];
	int api_host_port;
	int api_container_port;  /* the port CPA listens on inside (config `port`) */
	/* The settings file: config.yaml for CPA, the env file for the other
	 * profiles (NULL paths when none was found: the settings then live only
	 * in the container's environment, which container.json keeps). */
	char *config_in_container;   /* e.g. /CLIProxyAPI/config.yaml; NULL: not mounted */
	char *config_path;       /* host path, "volume:NAME/sub", or "container:PATH" */
	char *config_storage;    /* "bind", "volume", "container", or "host" (an env file
				  * the container does not mount: --env-file, compose's .env) */
	char *auth_in_container; /* e.g. /root/.cli-proxy-api; NULL when the profile has none */
	char *auth_dir;          /* host path, "volume:NAME/sub", or "container:PATH" */
	char *auth_storage;      /* "bind", "volume" or "container" */
	char *config_host;       /* host path of config.yaml when it is a bind mount on a
				  * local engine (read directly), else NULL */
	char *auth_host;         /* the same for the auth dir */
	int config_ok;           /* config.yaml was read and parsed */
	int tls;                 /* tls.enable: probes speak https */
	int kind_unknown;        /* taken for a CPA only because it was named: upgrade refuses */
	int allow_remote;        /* 1, 0, or -1 unknown */
	int secret_key_set;
	long api_keys;
	json_t *providers;       /* section -> entry count */
	json_t *auth_files;      /* provider -> file count */
	json_t *compose;         /* {"project","service","working_dir","config_files"} or NULL */
	json_t *problems;        /* array of strings, never holding a secret */
	const char *cluster;     /* a CPA cluster node: "HOME_JWT" or "-home-jwt" (static), else NULL */
	const char *remote_store;/* CPA's remote store variable that is set (static), else NULL */
	int tty;                 /* Config.Tty: logs are not multiplexed */
	json_t *inspect;         /* the container's inspect data (owned) */
	char *probe_key;         /* SECRET: first api key, or NULL */
};

struct discover_options {
	const char *container;   /* only this one (name or id), which need not look like CPA */
	int skip_version;        /* do not read the version from the image's binary */
	const char *profile;     /* --profile: the profile of every target found */
	int api_port;            /* --api-port: the API port inside the container, 0 = the profile's */
	const char *probe_path;  /* --probe-path, NULL = the profile's */
	const char *env_file;    /* --env-file: the settings env file on the host */
};

/* Finds and describes targets.  *out receives an array of *count targets the
 * caller frees with cpa_targets_free().  When opts->container names a
 * container that does not exist, fails with ERR_NOT_FOUND. */
int discover_targets(struct docker_client *c, const struct discover_options *opts,
		     struct cpa_target **out, size_t *count, struct cpactl_error *err);

void cpa_targets_free(struct cpa_target *targets, size_t count);

/* The entry of an inspect's Mounts that holds `path` in the container: the
 * longest Destination that contains it (a borrowed reference), or NULL when
 * the path is in the container's own filesystem. */
json_t *discover_mount_of(json_t *mounts, const char *path);

/* 1 when `storage` (a target's config_storage or auth_storage) is a mount
 * that the next container of the deployment sees too, a bind or a volume
 * (written through the engine when it is not a path on this machine); 0 for
 * the container's own filesystem, a tmpfs, an env file it does not mount. */
int discover_storage_persists(const char *storage);

/* The value of NAME in an inspect's Config.Env (borrowed; the last one
 * wins, as in the container), or NULL. */
const char *discover_env_value(json_t *inspect, const char *name);

/* The JSON description of a target (a new reference), as documented in
 * man cpactl-discover.  Never holds a secret. */
json_t *cpa_target_to_json(const struct cpa_target *t);

/* Fills `t` from one container's inspect data: everything but the version and
 * the files (used by discover_targets and by unit tests).  Takes a reference
 * to `inspect`.  The profile comes from the label io.cpactl.profile, else the
 * image name, else CPA; target_from_inspect() is given one. */
int cpa_target_from_inspect(json_t *inspect, struct cpa_target *t, struct cpactl_error *err);
int target_from_inspect(json_t *inspect, const struct profile *profile, struct cpa_target *t,
			struct cpactl_error *err);

#endif
