/*
 * fuzz_muxstream.c - the engine's multiplexed stdout/stderr stream (exec,
 * logs) through lib/muxstream.c, cut into chunks the way the network cuts
 * them.
 *
 * The first input byte picks the chunk size (1..255, 0 = all at once); the
 * rest is the stream.  Beyond "no crash", the decoder must never hand out a
 * byte that was not fed, nor a stream type outside 0..3.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../lib/muxstream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	const char *start, *end; /* the bytes fed */
	size_t delivered;
};

static int on_payload(void *ctx, enum mux_stream stream, const char *data, size_t len)
{
	struct seen *s = ctx;

	if ((int)stream < MUX_STDIN || stream > MUX_SYSTEMERR)
		abort();
	if (len && (data < s->start || data + len > s->end))
		abort();
	s->delivered += len;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct muxstream mux;
	struct seen seen;
	size_t chunk, at = 0;

	if (size < 1)
		return 0;
	chunk = data[0] ? data[0] : size;
	data++;
	size--;
	seen.start = (const char *)data;
	seen.end = (const char *)data + size;
	seen.delivered = 0;
	muxstream_init(&mux, on_payload, &seen);
	while (at < size) {
		size_t n = size - at < chunk ? size - at : chunk;
		if (muxstream_feed(&mux, (const char *)data + at, n) < 0)
			break;
		at += n;
	}
	(void)muxstream_truncated(&mux);
	/* Every frame costs 8 header bytes: the payload is less than the input. */
	if (seen.delivered > size)
		abort();
	return 0;
}
