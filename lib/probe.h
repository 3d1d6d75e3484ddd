/*
 * probe.h - ask a proxy's API whether it serves, from the host.
 *
 * CPA images from v7.1.50 on have no curl or wget inside, so cpactl always
 * probes from outside: through the published port, or, for an isolated
 * candidate, from inside its network namespace.  A probe is one HTTP GET (or
 * one JSON POST: claude-code-proxy's count_tokens) with the client key, a
 * deadline, and the answer kept small: the status, the latency, the model ids
 * of a /v1/models list, an input_tokens count, and CPA's error text ("Missing
 * API key", "Invalid API key", "unsafe_example_api_key") so that a verdict can
 * say which of those it was.
 *
 * The key is a secret: it goes into a request header and nowhere else.
 */
#ifndef CPACTL_PROBE_H
#define CPACTL_PROBE_H

#include <jansson.h>

#include "error.h"
#include "profile.h"

struct probe_result {
	long http_status;     /* 0 when nothing answered */
	double latency_ms;
	json_t *models;       /* array of model ids from a 200 list, or NULL */
	char error_text[256]; /* CPA's {"error": ...} or the transport error */
	int safe_mode;        /* X-CPA-SAFE-MODE header was present */
	char version[64];     /* X-CPA-VERSION header, if any */
	char status[64];      /* a JSON answer's "status" string (health endpoints) */
	long input_tokens;    /* a JSON answer's "input_tokens" (count_tokens), or -1 */
};

struct netns;

/* GETs http://host:port/path (https:// when `tls`) with `key` as a bearer
 * token (NULL: none), seen from network namespace `ns` (netns.h; NULL: this
 * machine's).  Returns 0 when an HTTP answer came back (any status), -1 when
 * none did in `timeout_ms` (the reason is in result->error_text and err).
 *
 * Over TLS the certificate is not verified: it is the deployment's own
 * (often self-signed, for a name that is not the probed address), and the
 * probe talks to the container cpactl has just located, on loopback or in
 * its own namespace. */
int probe_get(const struct netns *ns, int tls, const char *host, int port, const char *path, const char *key,
	      long timeout_ms, struct probe_result *result, struct cpactl_error *err);

/* The same as probe_get() with a POST of the JSON `body`. */
int probe_post_json(const struct netns *ns, int tls, const char *host, int port, const char *path, const char *key,
		    const char *body, long timeout_ms, struct probe_result *result, struct cpactl_error *err);

void probe_result_release(struct probe_result *r);

/* 1 when an answer is what the profile expects of a serving proxy: a 200
 * model list (CPA), a 200 whose JSON "status" says healthy, or any 2xx whose
 * "status", if it has one, does not say otherwise. */
int probe_answer_ok(enum probe_expect expect, const struct probe_result *r);

/* The address to probe for a published port: 127.0.0.1 for "", 0.0.0.0 and
 * the loopback range; "::1" for "::"; the address itself otherwise. */
const char *probe_host_for_binding(const char *host_ip);

#endif
