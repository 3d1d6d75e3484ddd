/*
 * cpa.h - what cpactl knows about CLIProxyAPI (CPA), in one place.
 *
 * Image names, paths inside the image, the version line, the start-up log
 * lines, the config keys that hold secrets and the provider sections.  The
 * facts come from CPA's sources (see docs/cpa-facts in the project notes);
 * when CPA changes, this is the file to change.
 *
 * The config summary is the only structure here that holds a secret: the
 * first client api key, kept so that probes can authenticate.  It is never
 * serialised; cpa_config_summary_release() wipes it.
 */
#ifndef CPACTL_CPA_H
#define CPACTL_CPA_H

#include <jansson.h>
#include <stddef.h>

#define CPA_API_PORT 8317
#define CPA_WORKDIR "/CLIProxyAPI"
#define CPA_BINARY "/CLIProxyAPI/CLIProxyAPI"
/* What v7.1.46 to v7.2.50 log when api-keys holds a template key and they run
 * a warning page instead of the API server (cmd/server/main.go:531). */
#define CPA_SAFE_MODE_PAGE_LINE "starting warning-only server"
/* What CPA logs when DEPLOY=cloud finds no usable config.yaml and stands by
 * without its API server (internal/cmd/run.go:113). */
#define CPA_CLOUD_STANDBY_LINE "Cloud deploy mode: No config found; standing by"
#define CPA_CONFIG_PATH "/CLIProxyAPI/config.yaml"
#define CPA_AUTH_DIR "/root/.cli-proxy-api"
/* The largest config.yaml (or env file) cpactl reads, in every verb alike: a
 * file one verb accepts is never refused by the next. */
#define CPA_CONFIG_MAX ((size_t)16 * 1024 * 1024)

/* 1 when an image reference names CPA (cli-proxy-api, CLIProxyAPI, any case). */
int cpa_image_matches(const char *image_ref);

/* Finds "CLIProxyAPI Version: vX.Y.Z, Commit: ..." in `text` and copies the
 * version token ("v7.2.0", "dev", "7.2.0") into out.  Returns 0 or -1. */
int cpa_parse_version_line(const char *text, char *out, size_t outlen);

/* The version part of an image tag ("eceasy/cli-proxy-api:v7.1.0" -> "v7.1.0"),
 * or -1 when the tag is not a version ("latest", a digest). */
int cpa_version_from_image(const char *image_ref, char *out, size_t outlen);

/* Compares two versions numerically ("v7.2.10" > "v7.2.9"); a leading "v" and
 * any suffix after '-' are ignored.  Returns <0, 0, >0; unparsable sorts first. */
int cpa_version_compare(const char *a, const char *b);

/* The client count of the last "full client load complete - N clients" line in
 * the logs, or -1 if there is none. */
long cpa_loaded_clients(const char *logs);

/* The provider an auth file belongs to, from its name ("claude-x.json" ->
 * "claude"); "other" for a .json file of no known provider; NULL when the name
 * is not an auth file (not *.json, or hidden). */
const char *cpa_auth_provider(const char *filename);

/* How CPA logs (internal/logging/global_logger.go): a logrus line is
 *   [2006-01-02 15:04:05] [<request id or 8 dashes>] [<level padded to 5>] [<file>:<line>] message fields
 * (older releases: "[ts] [level] [file:line] | id | message"); lines printed
 * with plain fmt (the version line, "API server started ...", Go's panic
 * trace) carry no level.  The level of one line (len bytes, no newline):
 * CPA_LOG_NONE when the line has no level in its leading bracketed fields. */
enum cpa_log_level {
	CPA_LOG_NONE,
	CPA_LOG_DEBUG,
	CPA_LOG_INFO,
	CPA_LOG_WARN,
	CPA_LOG_ERROR,
	CPA_LOG_FATAL,
	CPA_LOG_PANIC,
};
enum cpa_log_level cpa_log_line_level(const char *line, size_t len);

/* A warning real CPA logs on every start when it cannot reach the internet
 * (internal/misc/antigravity_version.go, internal/managementasset/updater.go):
 * its short name ("failed to refresh antigravity version"), or NULL when the
 * line is not one of them.  Harmless: CPA goes on with built-in fallbacks. */
const char *cpa_log_offline_warning(const char *line, size_t len);

/* Is this log line trouble?  A line with a level is trouble when it is
 * logged as error, fatal or panic, never as debug, info or warn; a line
 * without one (plain prints, panic traces, older formats) when it contains
 * one of `unleveled_patterns` (NULL-terminated, any case). */
int cpa_log_line_is_trouble(const char *line, size_t len, const char *const *unleveled_patterns);

/* Counts trouble lines (cpa_log_line_is_trouble; without a level: panic,
 * fatal, failed to, 401, 403, timeout, is a directory, error). */
long cpa_count_error_lines(const char *logs);

/* 1 if a key of config.yaml (at any depth) holds a secret value. */
int cpa_key_is_secret(const char *key);

/* A client key as CPA keeps it: trimmed of white space
 * (internal/access/config_access/provider.go).  Returns where it starts in
 * `key` and sets *len (0: a blank key, which CPA drops). */
const char *cpa_client_key_trim(const char *key, size_t *len);

struct cpa_config_summary {
	long port;                /* `port`, CPA_API_PORT when absent */
	int port_set;             /* `port` written: without it CPA listens on a random port */
	int tls;                  /* tls.enable: the API port speaks TLS only */
	char *host;               /* `host`, NULL when absent */
	char *auth_dir;           /* `auth-dir` as written, NULL when absent */
	long api_keys;            /* entries of `api-keys` CPA keeps: not blank once trimmed */
	int allow_remote;         /* remote-management.allow-remote: 1, 0, -1 absent */
	int secret_key_set;       /* remote-management.secret-key non-empty */
	json_t *providers;        /* {"claude-api-key": 1, ...}, only present sections */
	char *first_api_key;      /* SECRET: never print, never serialise */
};

/* Summarises a parsed config.yaml.  Returns 0, or -1 when `config` is not a
 * mapping.  Release with cpa_config_summary_release(). */
int cpa_config_summarize(json_t *config, struct cpa_config_summary *out);
void cpa_config_summary_release(struct cpa_config_summary *s);

/* Resolves the auth dir the way CPA does (internal/util/util.go): a leading
 * "~" is `home` (the container's $HOME; NULL: /root, the engine's default for
 * root, which the CPA image runs as) and the rest, slashes trimmed, below it;
 * relative paths are taken from the working directory.  malloc'd. */
char *cpa_resolve_auth_dir(const char *configured, const char *workdir, const char *home);


/* How a CPA container keeps its state, read from its inspect (Config.Env
 * and the command), as cmd/server/main.go reads them (upper- or lower-case
 * names, blank values ignored):
 *  - a cluster node: HOME_JWT, or -home-jwt on the command line; its config
 *    comes from CLIProxyAPIHome and the JWT is its identity;
 *  - a remote store: PGSTORE_DSN, GITSTORE_GIT_URL or OBJECTSTORE_ENDPOINT;
 *    config and auth live there.
 * Each returns the name of what was found (a static string) or NULL. */
const char *cpa_cluster_marker(json_t *container_inspect);
const char *cpa_remote_store_var(json_t *container_inspect);

/* What a cluster node is probed on: no key needed (its client keys live in
 * Home), 503 while its Home heartbeat is down (every path but management's
 * answers 503 then: internal/api/server_middleware.go). */
#define CPA_CLUSTER_PROBE_PATH "/healthz"

/* 1 when a string of `config`'s Entrypoint or Cmd (an inspect's "Config")
 * holds `word`. */
int cpa_command_mentions(json_t *config, const char *word);

/* 1 when env entry "NAME=value" (a Config.Env string) is one of the remote
 * store's variables (PGSTORE_*, GITSTORE_*, OBJECTSTORE_*, any case). */
int cpa_env_is_remote_store(const char *entry);

#endif
