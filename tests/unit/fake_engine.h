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

/* Helpers to build bodies. */
/* Appends one multiplexed-stream frame (8-byte header + payload) to *buf,
 * which is realloc'd; *len is updated. */
void fake_mux_frame(char **buf, size_t *len, int stream, const void *payload, size_t n);

#endif
