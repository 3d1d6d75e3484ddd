/*
 * verdict.h - judge a CPA container: is this release fit for production?
 *
 * Used on an upgrade's candidate (step 6) and on production after promotion
 * (step 10).  Within a deadline it waits for /v1/models to answer 200 with the
 * first configured key, then checks, in plain words for the verdict:
 *   - the container did not exit (CPA can exit 0 after logging a failure);
 *   - no model that production listed is missing (unless allowed);
 *   - it loaded at least as many clients as production ("full client load
 *     complete - N clients"), unless allowed;
 *   - its log holds no trouble line (verdict_read_log);
 *   - it reports the expected version.
 * A failed verdict carries the reasons and the last log lines, with every
 * secret value of the config redacted.
 */
#ifndef CPACTL_VERDICT_H
#define CPACTL_VERDICT_H

#include <jansson.h>
#include <signal.h>

#include "docker.h"
#include "buf.h"
#include "error.h"
#include "profile.h"

struct netns;

struct judge_options {
	long timeout_ms;
	const struct netns *netns;  /* probe inside this namespace (netns.h), or NULL */
	const char *host;           /* where to probe */
	int tls;                    /* https (the deployment's tls.enable) */
	int port;
	const char *probe_key;      /* SECRET: the first api key, or NULL */
	json_t *expected_models;    /* production's model ids, or NULL */
	long expected_clients;      /* production's client count, -1 unknown */
	const char *expected_version; /* or NULL */
	int allow_missing_models;
	int allow_fewer_clients;
	int tty;                    /* the container's Config.Tty */
	json_t *secrets;            /* array of strings to redact from log lines */
	const volatile sig_atomic_t *interrupted;
	/* What to ask and expect (NULL profile: CPA's /v1/models).  The steps
	 * that read CPA's log (client count, version line) need profile->cpa. */
	const struct profile *profile;
	const char *probe_path;
	/* A log file the container writes besides its output (CPA's logs/main.log
	 * with logging-to-file), as a host path, or NULL. */
	const char *log_file;
	/* Or the same file as a path inside the container, read through the
	 * engine (production's own file: no host path to trust), skipping its
	 * first `log_from` bytes (what an earlier release wrote there). */
	const char *log_in_container;
	size_t log_from;
};

struct verdict {
	int ok;
	json_t *reasons;     /* array of strings */
	json_t *notes;       /* array of strings: what could not be compared */
	json_t *models;      /* the model ids it served, or NULL */
	long clients;        /* -1 unknown */
	long http_status;
	char version[64];
	char *log_tail;      /* last log lines, redacted (malloc'd) */
	double ready_ms;     /* time until the first 200 */
};

/* Judges container `id`.  Fails only when the engine cannot be asked; a bad
 * release is a verdict with ok = 0. */
int judge_container(struct docker_client *c, const char *id, const struct judge_options *o,
		    struct verdict *v, struct cpactl_error *err);
json_t *verdict_to_json(const struct verdict *v);

/* Step 4 of the verdict, on the container's log text: a reason for each line
 * logged as error, fatal or panic (CPA's levels, cpa_log_line_level), or, on
 * a line without a level, one that says panic, fatal, failed to, is a
 * directory or unsafe_example_api_key.  Lines logged as debug, info or warn
 * never fail a release; the warnings of an offline host
 * (cpa_log_offline_warning) are named once in a note, as harmless.  v's
 * reasons and notes arrays must exist. */
void verdict_read_log(struct verdict *v, const char *logs);
void verdict_release(struct verdict *v);


#endif
