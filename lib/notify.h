/*
 * notify.h - tell someone how a cpactl run ended: one JSON document POSTed
 * to a URL (--notify URL, or $CPACTL_NOTIFY_URL).
 *
 * cpactl runs from cron, systemd timers and fleet tools where nobody reads
 * stderr; a webhook is how a failed nightly upgrade gets noticed.  Two rules
 * hold:
 *   - the payload is built from a WHITELIST of fields of the verb's own JSON
 *     result (outcome, container, snapshot id, versions, audit counts, the
 *     error message), never from config.yaml, auth files or the environment,
 *     and every copied string is checked to be short, printable text.  So a
 *     secret that some day lands in a verb's result still cannot ride along;
 *   - a notification is a side channel: it never changes the command's exit
 *     code.  It is tried twice (5 s each) and the caller reports a failure.
 *
 * The URL itself may hold a token (Slack and Discord webhooks keep theirs in
 * the path), so messages name it through notify_url_redacted() only.
 */
#ifndef CPACTL_NOTIFY_H
#define CPACTL_NOTIFY_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

#include "error.h"

/* The environment variable read when --notify is not given. */
#define NOTIFY_URL_ENV "CPACTL_NOTIFY_URL"

/* Seconds one attempt may take, and how many attempts are made. */
#define NOTIFY_TIMEOUT_SECONDS 5
#define NOTIFY_ATTEMPTS 2

/* What the caller knows about the run; every pointer may be NULL except
 * command and outcome.  Nothing is owned. */
struct notify_event {
	const char *cpactl_version;
	const char *command;      /* "upgrade", "config check" */
	const char *container;    /* --container, when the result names none */
	const char *host;         /* this machine's name */
	const char *outcome;      /* "ok", "failed", "usage", "problems", ... */
	int exit_code;
	time_t time;
	const json_t *result;     /* the verb's final JSON document (with "error") */
};

/* 0 when url is an http:// or https:// URL with a host; ERR_USAGE otherwise,
 * with a message that does not repeat the URL (it may hold a token).
 * `source` names where it came from ("--notify", "CPACTL_NOTIFY_URL"). */
int notify_url_check(const char *url, const char *source, struct cpactl_error *err);

/* "scheme://host[:port]" plus "/..." when the URL has a path, query or user
 * info: safe to print.  Writes at most `len` bytes into `out`. */
void notify_url_redacted(const char *url, char *out, size_t len);

/* The payload for ev: a new object owned by the caller, NULL when out of
 * memory.  Fields: cpactl_version, command, container, host, outcome,
 * exit_code, time; when the result has them: result (the verb's own outcome
 * word), snapshot, versions {from, to}, summary {error, warning, info},
 * reason (the error message). */
json_t *notify_payload(const struct notify_event *ev);

/* POSTs payload as application/json to url; a 2xx answer is success.  One
 * retry after a failed attempt.  The error names the URL redacted. */
int notify_post(const char *url, const json_t *payload, struct cpactl_error *err);

#endif
