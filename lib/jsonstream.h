/*
 * jsonstream.h - decode the engine's JSON progress streams incrementally.
 *
 * Image pull, load and push answer with a stream of JSON objects, one per line,
 * that arrive in arbitrary chunks.  A jsonstream is fed those chunks and calls
 * back once per complete object, so memory stays bounded by the longest single
 * message (JSONSTREAM_MAX_LINE), never by the stream.  A line that is not JSON
 * is reported through the callback with a NULL object so the caller can decide.
 *
 * The decoder also recognises the engine's in-band failure, an object with an
 * "errorDetail" or "error" member, and remembers the first such message: the
 * HTTP status of these endpoints stays 200 after output has started, so this
 * is the only place a failed pull or load shows.
 */
#ifndef CPACTL_JSONSTREAM_H
#define CPACTL_JSONSTREAM_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"

#define JSONSTREAM_MAX_LINE (1024 * 1024)

/* Called with each decoded object (borrowed: valid only during the call), or
 * with obj NULL and the raw line for a line that is not JSON.  Return 0 to go
 * on, -1 to stop feeding. */
typedef int (*jsonstream_fn)(void *ctx, json_t *obj, const char *line, size_t len);

struct jsonstream {
	struct buf pending;      /* bytes of an incomplete line */
	jsonstream_fn callback;
	void *ctx;
	char *error_message;     /* first in-band error, malloc'd */
	size_t objects;          /* objects decoded so far */
	int overflow;            /* a line exceeded JSONSTREAM_MAX_LINE */
};

void jsonstream_init(struct jsonstream *s, jsonstream_fn callback, void *ctx);

/* Feeds bytes.  Returns 0, or -1 when the callback asked to stop, a line grew
 * past the limit, or memory ran out. */
int jsonstream_feed(struct jsonstream *s, const char *data, size_t len);

/* Decodes a final line without a newline.  Returns as jsonstream_feed. */
int jsonstream_finish(struct jsonstream *s);

/* The first in-band error message seen, or NULL. */
const char *jsonstream_error(const struct jsonstream *s);

void jsonstream_release(struct jsonstream *s);

#endif
