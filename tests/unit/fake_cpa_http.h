/*
 * fake_cpa_http.h - the HTTP side of a fake CPA, for the stateful fake engine.
 *
 * cpactl judges a release by real HTTP: GET /v1/models on the published port
 * with "Authorization: Bearer <first api key>", reading the X-CPA-Version
 * header.  A fake_cpa is one listener on 127.0.0.1 served by its own pthread
 * that answers like a healthy CPA of a given version: 200 with a one-model
 * list, 401 without the right key.  The key is read from the container's
 * config.yaml on the host at every request, as CPA's file watcher would
 * reload it (config apply --reload relies on that).
 *
 * The same listener can answer like claude-code-proxy instead
 * (fake_ccp_start): the second profile cpactl knows, probed on GET /health.
 */
#ifndef CPACTL_TEST_FAKE_CPA_HTTP_H
#define CPACTL_TEST_FAKE_CPA_HTTP_H

#include <stddef.h>

struct fake_cpa;

/* Listens on 127.0.0.1:port (0: a free port the kernel picks).  version is
 * what X-CPA-Version says; config_path the host file the key is read from;
 * err500: answer every request 500.  NULL when the port cannot be bound
 * (errno says why: EADDRINUSE for a taken port). */
struct fake_cpa *fake_cpa_start(int port, const char *version, const char *config_path, int err500);
int fake_cpa_port(const struct fake_cpa *f);
/* Closes the listener (the port is free again when it returns), joins the thread. */
void fake_cpa_stop(struct fake_cpa *f);

/* A fake claude-code-proxy (tests/fixtures/fakeccp.c) on 127.0.0.1:port
 * instead: GET/HEAD /health answers 200 {"status":"healthy",...} (503
 * {"status":"unhealthy",...} with `unhealthy`), GET / names the version in
 * {"message":"Claude-to-OpenAI API Proxy <version>","status":"running"},
 * POST /v1/messages checks client_key (x-api-key or a bearer token; NULL or
 * "": any key), anything else is 404 {"detail":"Not Found"}.  No version
 * header: uvicorn sends "server: uvicorn".  The key is copied at start, as
 * the app reads its settings once, and wiped at stop. */
struct fake_cpa *fake_ccp_start(int port, const char *version, const char *client_key, int unhealthy);

/* The first entry of api-keys in a config.yaml text, into out; 0 or -1. */
int fake_cpa_first_key(const char *text, char *out, size_t len);

#endif
