/*
 * fake_engine.h - a scripted Docker engine for unit tests (fault injection).
 *
 * An HTTP/1.1 server on a unix socket in a fresh temp dir, served by a
 * pthread.  The test scripts the answers in order with fake_engine_expect();
 * each incoming request consumes the next scripted answer, after an optional
 * check of its method and path prefix (the "/vX.Y" version prefix of the path
 * is ignored by the check).  Every GET /_ping is answered "200 OK" with
 * "Api-Version: 1.41" automatically, unless the next scripted answer is itself
 * for "/_ping".
 *
 * Connections are kept alive and may carry several requests; request bodies
 * with Content-Length and chunked request bodies are both read.  Every request
 * is recorded (method, path, headers, de-chunked body) for assertions.
 *
 * A request that does not match the script (or comes when the script is
 * exhausted) is answered 500 {"message":"fake engine: ..."} and noted in
 * fake_engine_problems(), which tests should assert to be "".
 *
 * A second, stateful mode (fake_engine_start_stateful, fake_engine_state.c):
 * an in-memory engine that keeps a table of containers and images and answers
 * the Engine API calls cpactl makes, with a fake CPA (fake_cpa_http.c) serving
 * HTTP on the host port of every running container that publishes one (or a
 * fake claude-code-proxy, for an image of that name).
 */
#ifndef CPACTL_TEST_FAKE_ENGINE_H
#define CPACTL_TEST_FAKE_ENGINE_H

#include <stddef.h>

struct fake_engine;

/* Answer options (flags of fake_engine_expect). */
#define FE_CHUNKED     (1u << 0) /* Transfer-Encoding: chunked */
#define FE_NO_LENGTH   (1u << 1) /* no Content-Length: the body ends when the connection closes */
#define FE_TINY_CHUNKS (1u << 2) /* write the body in pieces of 1..7 bytes with short pauses */
#define FE_CLOSE_AFTER (1u << 3) /* close after close_after body bytes (set with fake_engine_close_after) */

struct fake_request {
	char method[16];
	char *path;          /* as sent, e.g. "/v1.41/containers/json?all=1" */
	char *headers;       /* the raw header block */
	char *body;          /* de-chunked, NUL-terminated (may hold NUL bytes) */
	size_t body_len;
	int chunked;         /* the body came with Transfer-Encoding: chunked */
	int auto_ping;       /* answered by the automatic /_ping rule */
};

/* Starts the server.  Returns 0, or -1 (with a message on stderr). */
int fake_engine_start(struct fake_engine **out);

/* Stops the server, removes the socket and its dir, frees everything. */
void fake_engine_stop(struct fake_engine *fe);

/* "unix:///tmp/fake-engine-XXXXXX/docker.sock" */
const char *fake_engine_host(const struct fake_engine *fe);
const char *fake_engine_socket_path(const struct fake_engine *fe);

/* Scripts the next answer.  method / path_prefix may be NULL (no check);
 * content_type may be NULL (no header); body is copied (len bytes; when len
 * is (size_t)-1, strlen(body)). */
void fake_engine_expect(struct fake_engine *fe, const char *method, const char *path_prefix,
			int status, const char *content_type, const void *body, size_t len,
			unsigned flags);
/* Options of the answer scripted last. */
void fake_engine_close_after(struct fake_engine *fe, size_t body_bytes);
/* Replaces the default extra headers ("Api-Version: 1.41\r\n") of the last
 * answer; `headers` is a block of "Name: value\r\n" lines. */
void fake_engine_headers(struct fake_engine *fe, const char *headers);

/* Scripted answers not consumed yet. */
size_t fake_engine_pending(struct fake_engine *fe);
/* Mismatches seen so far, "" when none. The pointer is valid until stop. */
const char *fake_engine_problems(struct fake_engine *fe);

/* Recorded requests, automatic pings included. */
size_t fake_engine_request_count(struct fake_engine *fe);
const struct fake_request *fake_engine_request(struct fake_engine *fe, size_t i);
/* The first recorded request whose method matches (NULL: any) and whose path
 * contains `path_part`, or NULL. */
const struct fake_request *fake_engine_find(struct fake_engine *fe, const char *method,
					    const char *path_part);

/* --- a custom handler (what the stateful mode is built on) ----------------- */

/* What a handler answers: status, optional content type, body (malloc'd,
 * freed by the server), optional extra header lines (malloc'd; NULL: the
 * default Api-Version header). */
struct fake_answer {
	int status;
	char content_type[64];
	char *body;
	size_t len;
	char *headers;
};
/* Called on the server thread for every request, `path` without "/vX.Y". */
typedef void (*fake_engine_handler_fn)(void *ctx, const struct fake_request *r, const char *path,
				       struct fake_answer *a);
/* Starts a server whose every request goes to `handler` (nothing is scripted
 * or recorded); free_ctx(ctx) runs at stop, after the server thread ended. */
int fake_engine_start_with(struct fake_engine **out, fake_engine_handler_fn handler, void *ctx,
			   void (*free_ctx)(void *ctx));
void *fake_engine_handler_ctx(const struct fake_engine *fe);

/* --- the stateful engine (fake_engine_state.c) ----------------------------- */

/* Starts an engine with no container and no image. */
int fake_engine_start_stateful(struct fake_engine **out);
/* Adds an image named `ref` (repo:tag).  Its tag sets how its containers
 * behave: the version they report is the tag up to a '-' (v7.2.1-prodfail:
 * v7.2.1), and a suffix picks a mode: "-prodfail" exits at start unless an
 * auth dir mounted into it holds .cpactl-scratch (it fails in production
 * only, passes as a candidate); "-err500" answers 500.  A repository that
 * names claude-code-proxy makes a fake claude-code-proxy instead
 * (tests/fixtures/fakeccp.c: /health, the version in GET /, settings from
 * Env and a bind-mounted /app/.env, API port 8082), with the modes "-crash"
 * (exits 1 at start) and "-unhealthy" (/health answers 503).  0, or -1. */
int fake_engine_add_image(struct fake_engine *fe, const char *ref);
/* Creates and starts a CPA-like container `name` from image `ref`, with
 * config_host bind-mounted as /CLIProxyAPI/config.yaml and auth_host as
 * /root/.cli-proxy-api, port 8317 published on a free 127.0.0.1 port
 * (*port).  0, or -1 with a message on stderr. */
int fake_engine_run_cpa(struct fake_engine *fe, const char *name, const char *ref, const char *config_host,
			const char *auth_host, int *port);
/* How many running containers have a name that starts with `prefix`
 * (NULL: any); with `first` (size first_len) the name of one of them. */
int fake_engine_running(struct fake_engine *fe, const char *prefix, char *first, size_t first_len);
/* Whether container `name` exists and runs: 1 running, 0 stopped, -1 none. */
int fake_engine_state_of(struct fake_engine *fe, const char *name);
/* Removes every container (their fake CPAs stop). */
void fake_engine_remove_all(struct fake_engine *fe);

/* Helpers to build bodies. */
/* Appends one multiplexed-stream frame (8-byte header + payload) to *buf,
 * which is realloc'd; *len is updated. */
void fake_mux_frame(char **buf, size_t *len, int stream, const void *payload, size_t n);

#endif
