/*
 * muxstream.c - see muxstream.h.
 */
#include "muxstream.h"

#include <string.h>

void muxstream_init(struct muxstream *m, muxstream_fn callback, void *ctx)
{
	memset(m, 0, sizeof(*m));
	m->callback = callback;
	m->ctx = ctx;
}

int muxstream_feed(struct muxstream *m, const char *data, size_t len)
{
	while (len) {
		if (m->remaining == 0) {
			size_t take = sizeof(m->header) - m->header_len;
			if (take > len)
				take = len;
			memcpy(m->header + m->header_len, data, take);
			m->header_len += take;
			data += take;
			len -= take;
			if (m->header_len < sizeof(m->header))
				return 0;
			m->header_len = 0;
			if (m->header[0] > MUX_SYSTEMERR || m->header[1] || m->header[2] ||
			    m->header[3]) {
				m->corrupt = 1;
				return -1;
			}
			m->stream = m->header[0];
			m->remaining = (uint32_t)m->header[4] << 24 | (uint32_t)m->header[5] << 16 |
				       (uint32_t)m->header[6] << 8 | (uint32_t)m->header[7];
			continue;
		}
		{
			size_t take = len < m->remaining ? len : m->remaining;
			if (m->callback && m->callback(m->ctx, (enum mux_stream)m->stream, data, take) < 0)
				return -1;
			m->remaining -= (uint32_t)take;
			data += take;
			len -= take;
		}
	}
	return 0;
}

int muxstream_truncated(const struct muxstream *m)
{
	return m->remaining != 0 || m->header_len != 0;
}
