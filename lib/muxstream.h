/*
 * muxstream.h - split the engine's multiplexed stdout/stderr stream.
 *
 * When a container or exec runs without a TTY, its attach, logs and exec
 * streams are framed: an 8-byte header {type, 0, 0, 0, size as big-endian
 * uint32} then `size` bytes of payload.  Types: 0 stdin (written on stdout),
 * 1 stdout, 2 stderr, 3 the engine's own error text.  The decoder is fed
 * arbitrary chunks and delivers payload pieces as they arrive, so it uses a
 * constant 8 bytes of state whatever the frame sizes.
 */
#ifndef CPACTL_MUXSTREAM_H
#define CPACTL_MUXSTREAM_H

#include <stddef.h>
#include <stdint.h>

enum mux_stream { MUX_STDIN = 0, MUX_STDOUT = 1, MUX_STDERR = 2, MUX_SYSTEMERR = 3 };

/* Called with each piece of payload; return 0 to go on, -1 to stop. */
typedef int (*muxstream_fn)(void *ctx, enum mux_stream stream, const char *data, size_t len);

struct muxstream {
	unsigned char header[8];
	size_t header_len;      /* header bytes gathered so far */
	uint32_t remaining;     /* payload bytes left in the current frame */
	int stream;             /* type of the current frame */
	int corrupt;            /* an unknown frame type was seen */
	muxstream_fn callback;
	void *ctx;
};

void muxstream_init(struct muxstream *m, muxstream_fn callback, void *ctx);

/* Returns 0, or -1 when the callback stopped or a header is corrupt (a type
 * other than 0..3 or non-zero padding: not a multiplexed stream). */
int muxstream_feed(struct muxstream *m, const char *data, size_t len);

/* 1 if the stream ended in the middle of a frame. */
int muxstream_truncated(const struct muxstream *m);

#endif
