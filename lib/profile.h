/*
 * profile.h - what differs between the proxies cpactl operates.
 *
 * cpactl was made for CLIProxyAPI (CPA), but the runbook's steps (find the
 * container, back it up, try the new image on a test port, replace, roll
 * back) fit any proxy container with an HTTP health endpoint.  A profile
 * names what differs:
 *
 *   cpa                config.yaml and an auth dir bind-mounted, port 8317
 *                      (or config `port`), probe GET /v1/models with the
 *                      first api key, a model list expected
 *   claude-code-proxy  settings in an env file (.env, usually beside a
 *                      docker-compose.yml), port 8082 (or $PORT), probe
 *                      GET /health, JSON {"status":"healthy"} expected
 *   http               any other container: settings in an env file if one
 *                      is found or named, the port and path from --api-port
 *                      and --probe-path (default /health), any 2xx answer
 *
 * The profiles are static tables owned by this module; a target keeps a
 * borrowed pointer.  The env-file reader here is the only parser of env
 * files in cpactl; values it returns may be secrets and are the caller's to
 * wipe.
 */
#ifndef CPACTL_PROFILE_H
#define CPACTL_PROFILE_H

#include <stddef.h>

#include "buf.h"
#include "error.h"

enum settings_format {
	SETTINGS_YAML,  /* CPA's config.yaml */
	SETTINGS_ENV,   /* KEY=VALUE lines, as docker's --env-file and compose's env_file */
};

enum probe_expect {
	EXPECT_MODELS,  /* 200 with an OpenAI model list */
	EXPECT_STATUS,  /* 200 with JSON whose "status" says healthy */
	EXPECT_2XX,     /* any 2xx; a JSON "status" must not say unhealthy */
};

struct profile {
	const char *name;
	const char *const *image_patterns; /* case-insensitive substrings of the repository */
	int api_port;                      /* inside the container; 0: the only exposed port */
	const char *port_env;              /* an env var that moves the port, or NULL */
	const char *probe_path;
	enum probe_expect expect;
	enum settings_format settings;
	const char *settings_part;         /* its name in a snapshot */
	const char *key_env;               /* env var with the client key, or NULL (sent as a
					    * bearer token, which claude-code-proxy accepts too) */
	int has_auth_dir;                  /* OAuth token files to back up (CPA) */
	int cpa;                           /* the CPA-only steps apply (version exec, logs, models) */
	const char *logs_dir;              /* written by the running process: never shared, or NULL */
	const char *plugins_dir;           /* code a release may clean up: state, or NULL */
	/* A request the proxy answers itself, with the client-key check, that
	 * proves more than the health path (claude-code-proxy's /health is 200
	 * once the process is up): POSTed with a minimal message, 200 with
	 * input_tokens expected; with a client key set, a wrong key must get 401.
	 * NULL: none. */
	const char *token_check_path;
};

extern const struct profile profile_cpa;
extern const struct profile profile_claude_code_proxy;
extern const struct profile profile_http;

/* The profile called `name`, or NULL. */
const struct profile *profile_by_name(const char *name);

/* The profile whose image patterns match `image_ref`, or NULL (the http
 * profile has none: it is only ever chosen). */
const struct profile *profile_for_image(const char *image_ref);

/* "cpa, claude-code-proxy, http": for messages and help. */
#define PROFILE_NAMES "cpa, claude-code-proxy, http"

/* 1 when a JSON "status" value says the service is well ("healthy", "ok",
 * "up", "pass", "running", case-insensitive), 0 otherwise. */
int profile_status_is_healthy(const char *status);

/* The value of KEY in an env-file text (the last assignment wins, as with
 * docker), malloc'd in *value; `export `, surrounding quotes and blank/#
 * lines are handled like docker compose does.  Returns 1 found, 0 not,
 * -1 out of memory.  The value may be a secret: wipe and free it. */
int env_text_get(const char *data, size_t len, const char *key, char **value);

/* 1 when an env variable's value is a secret: its name has KEY, TOKEN,
 * SECRET, PASSWORD, PASSWD, CREDENTIAL, DSN, COOKIE, AUTH, JWT (CPA's
 * HOME_JWT) or CUSTOM_HEADER_ (claude-code-proxy's extra upstream headers) in
 * it, in any case (CPA also reads lower-case names), and it is not a size
 * (MAX_TOKENS_LIMIT, ...). */
int env_name_is_secret(const char *name);

/* Appends `data` to `out` with the value of every secret variable replaced
 * by "***"; comments, order and other values kept. */
int secret_mask_env(const char *data, size_t len, struct buf *out, struct cpactl_error *err);

/* The masking of the profile's settings format (secret_mask_yaml for CPA). */
int profile_mask_settings(const struct profile *p, const char *data, size_t len, struct buf *out,
			  struct cpactl_error *err);

#endif
