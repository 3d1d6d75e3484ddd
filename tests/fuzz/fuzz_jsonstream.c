/*
 * fuzz_jsonstream.c - the engine's JSON progress streams (pull, load, push)
 * through lib/jsonstream.c, cut into chunks the way the network cuts them.
 *
 * The first input byte picks the chunk size (1..255, 0 = all at once) and
 * the second after how many objects the callback stops the stream (0 =
 * never); the rest is the stream.  Both shapes happen with a real engine.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/jsonstream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	size_t calls;
	size_t stop_after;
};

static int on_message(void *ctx, json_t *obj, const char *line, size_t len)
{
	struct seen *s = ctx;
	volatile char touch;

	/* What the callbacks in lib/docker.c read: the object's members, or
	 * the raw line when it is not JSON. */
	if (obj)
		(void)json_string_value(json_object_get(obj, "status"));
	else if (len)
		touch = line[len - 1], (void)touch;
	s->calls++;
	return s->stop_after && s->calls >= s->stop_after ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jsonstream stream;
	struct seen seen = { 0, 0 };
	size_t chunk, at = 0;

	if (size < 2)
		return 0;
	chunk = data[0] ? data[0] : size;
	seen.stop_after = data[1];
	data += 2;
	size -= 2;
	jsonstream_init(&stream, on_message, &seen);
	while (at < size) {
		size_t n = size - at < chunk ? size - at : chunk;
		if (jsonstream_feed(&stream, (const char *)data + at, n) < 0)
			break;
		at += n;
	}
	if (at == size)
		jsonstream_finish(&stream);
	(void)jsonstream_error(&stream);
	jsonstream_release(&stream);
	return 0;
}
