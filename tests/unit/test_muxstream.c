/*
 * test_muxstream.c - splitting the engine's multiplexed stdout/stderr stream.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "../../lib/buf.h"
#include "../../lib/muxstream.h"
#include "fake_engine.h"

struct routed {
	struct buf by_stream[4];
	int calls;
	int zero_len_calls;
	int stop_on_call;     /* 1-based; 0 never */
};

static int route(void *ctx, enum mux_stream stream, const char *data, size_t len)
{
	struct routed *r = ctx;

	assert_true(stream >= MUX_STDIN && stream <= MUX_SYSTEMERR);
	r->calls++;
	if (len == 0)
		r->zero_len_calls++;
	assert_int_equal(buf_append(&r->by_stream[stream], data, len), 0);
	return r->stop_on_call && r->calls == r->stop_on_call ? -1 : 0;
}

static void routed_free(struct routed *r)
{
	for (int i = 0; i < 4; i++)
		buf_free(&r->by_stream[i]);
}

/* A stream with all four types, a zero-length frame and a frame > 255 bytes. */
static char *build_stream(size_t *len)
{
	char *s = NULL;
	char big[300];

	*len = 0;
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	fake_mux_frame(&s, len, MUX_STDOUT, "out one\n", 8);
	fake_mux_frame(&s, len, MUX_STDERR, "err one\n", 8);
	fake_mux_frame(&s, len, MUX_STDOUT, NULL, 0);
	fake_mux_frame(&s, len, MUX_STDIN, "in\n", 3);
	fake_mux_frame(&s, len, MUX_SYSTEMERR, "exec failed\n", 12);
	fake_mux_frame(&s, len, MUX_STDOUT, big, sizeof(big));
	fake_mux_frame(&s, len, MUX_STDERR, NULL, 0);
	fake_mux_frame(&s, len, MUX_STDERR, "err two", 7);
	return s;
}

static void check_routed(const struct routed *r)
{
	char expect_out[8 + 300 + 1];

	memcpy(expect_out, "out one\n", 8);
	for (size_t i = 0; i < 300; i++)
		expect_out[8 + i] = (char)('a' + i % 26);
	expect_out[308] = '\0';
	assert_string_equal(buf_str(&r->by_stream[MUX_STDOUT]), expect_out);
	assert_string_equal(buf_str(&r->by_stream[MUX_STDERR]), "err one\nerr two");
	assert_string_equal(buf_str(&r->by_stream[MUX_STDIN]), "in\n");
	assert_string_equal(buf_str(&r->by_stream[MUX_SYSTEMERR]), "exec failed\n");
}

static void test_routing_whole(void **state)
{
	struct routed r;
	struct muxstream m;
	size_t len;
	char *s = build_stream(&len);
	(void)state;

	memset(&r, 0, sizeof(r));
	muxstream_init(&m, route, &r);
	assert_int_equal(muxstream_feed(&m, s, len), 0);
	assert_false(muxstream_truncated(&m));
	assert_false(m.corrupt);
	check_routed(&r);
	/* Zero-length frames deliver nothing. */
	assert_int_equal(r.zero_len_calls, 0);
	routed_free(&r);
	free(s);
}

static void test_byte_by_byte(void **state)
{
	struct routed r;
	struct muxstream m;
	size_t len;
	char *s = build_stream(&len);
	(void)state;

	memset(&r, 0, sizeof(r));
	muxstream_init(&m, route, &r);
	for (size_t i = 0; i < len; i++)
		assert_int_equal(muxstream_feed(&m, s + i, 1), 0);
	assert_false(muxstream_truncated(&m));
	check_routed(&r);
	assert_int_equal(r.zero_len_calls, 0);
	routed_free(&r);
	free(s);
}

static void test_split_at_every_byte(void **state)
{
	size_t len;
	char *s = build_stream(&len);
	(void)state;

	for (size_t cut = 0; cut <= len; cut++) {
		struct routed r;
		struct muxstream m;

		memset(&r, 0, sizeof(r));
		muxstream_init(&m, route, &r);
		assert_int_equal(muxstream_feed(&m, s, cut), 0);
		assert_int_equal(muxstream_feed(&m, s + cut, len - cut), 0);
		assert_false(muxstream_truncated(&m));
		check_routed(&r);
		routed_free(&r);
	}
	free(s);
}

static void test_truncated(void **state)
{
	size_t len;
	char *s = build_stream(&len);
	(void)state;

	/* Frame boundaries of build_stream: after 16, 32, 40, 51, 71, 379, 387, 402. */
	static const size_t boundaries[] = { 0, 16, 32, 40, 51, 71, 379, 387, 402 };
	assert_int_equal(len, 402);
	for (size_t cut = 0; cut <= len; cut++) {
		struct routed r;
		struct muxstream m;
		int at_boundary = 0;

		for (size_t b = 0; b < sizeof(boundaries) / sizeof(boundaries[0]); b++)
			if (boundaries[b] == cut)
				at_boundary = 1;
		memset(&r, 0, sizeof(r));
		muxstream_init(&m, route, &r);
		assert_int_equal(muxstream_feed(&m, s, cut), 0);
		if (muxstream_truncated(&m) == at_boundary)
			fail_msg("cut at %zu: truncated=%d", cut, muxstream_truncated(&m));
		routed_free(&r);
	}
	free(s);
}

static void test_empty_stream(void **state)
{
	struct muxstream m;
	(void)state;

	muxstream_init(&m, NULL, NULL);
	assert_int_equal(muxstream_feed(&m, "", 0), 0);
	assert_false(muxstream_truncated(&m));
}

static void test_null_callback(void **state)
{
	struct muxstream m;
	size_t len;
	char *s = build_stream(&len);
	(void)state;

	muxstream_init(&m, NULL, NULL);
	assert_int_equal(muxstream_feed(&m, s, len), 0);
	assert_false(muxstream_truncated(&m));
	free(s);
}

static void test_corrupt_type(void **state)
{
	struct routed r;
	struct muxstream m;
	const unsigned char bad[] = { 4, 0, 0, 0, 0, 0, 0, 1, 'x' };
	(void)state;

	memset(&r, 0, sizeof(r));
	muxstream_init(&m, route, &r);
	assert_int_equal(muxstream_feed(&m, (const char *)bad, sizeof(bad)), -1);
	assert_true(m.corrupt);
	assert_int_equal(r.calls, 0);
	routed_free(&r);
}

static void test_corrupt_padding(void **state)
{
	struct routed r;
	struct muxstream m;
	const unsigned char bad[] = { 1, 0, 1, 0, 0, 0, 0, 1, 'x' };
	(void)state;

	memset(&r, 0, sizeof(r));
	muxstream_init(&m, route, &r);
	assert_int_equal(muxstream_feed(&m, (const char *)bad, sizeof(bad)), -1);
	assert_true(m.corrupt);
	routed_free(&r);
}

static void test_plain_text_is_corrupt(void **state)
{
	struct routed r;
	struct muxstream m;
	const char text[] = "time=\"2024\" level=info msg=\"hello\"\n";
	(void)state;

	memset(&r, 0, sizeof(r));
	muxstream_init(&m, route, &r);
	assert_int_equal(muxstream_feed(&m, text, sizeof(text) - 1), -1);
	assert_true(m.corrupt);
	assert_int_equal(r.calls, 0);
	routed_free(&r);
}

static void test_corrupt_after_good_frame(void **state)
{
	struct routed r;
	struct muxstream m;
	char *s = NULL;
	size_t len = 0;
	(void)state;

	fake_mux_frame(&s, &len, MUX_STDOUT, "ok\n", 3);
	fake_mux_frame(&s, &len, 9, "bad", 3);
	memset(&r, 0, sizeof(r));
	muxstream_init(&m, route, &r);
	/* Fed in pieces: the bad header completes in the second piece. */
	assert_int_equal(muxstream_feed(&m, s, 14), 0);
	assert_int_equal(muxstream_feed(&m, s + 14, len - 14), -1);
	assert_string_equal(buf_str(&r.by_stream[MUX_STDOUT]), "ok\n");
	routed_free(&r);
	free(s);
}

static void test_callback_stops(void **state)
{
	struct routed r;
	struct muxstream m;
	size_t len;
	char *s = build_stream(&len);
	(void)state;

	memset(&r, 0, sizeof(r));
	r.stop_on_call = 2;
	muxstream_init(&m, route, &r);
	assert_int_equal(muxstream_feed(&m, s, len), -1);
	assert_int_equal(r.calls, 2);
	assert_false(m.corrupt);
	routed_free(&r);
	free(s);
}

static void test_large_frame_size(void **state)
{
	struct routed r;
	struct muxstream m;
	/* A header announcing 16 MiB + 1: state stays constant, payload streams. */
	const unsigned char head[] = { 1, 0, 0, 0, 0x01, 0x00, 0x00, 0x01 };
	char piece[4096];
	(void)state;

	memset(piece, 'z', sizeof(piece));
	memset(&r, 0, sizeof(r));
	muxstream_init(&m, route, &r);
	assert_int_equal(muxstream_feed(&m, (const char *)head, sizeof(head)), 0);
	assert_int_equal(m.remaining, 0x01000001u);
	for (int i = 0; i < 4; i++)
		assert_int_equal(muxstream_feed(&m, piece, sizeof(piece)), 0);
	assert_int_equal(r.by_stream[MUX_STDOUT].len, 4 * sizeof(piece));
	assert_true(muxstream_truncated(&m));
	routed_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routing_whole),
		cmocka_unit_test(test_byte_by_byte),
		cmocka_unit_test(test_split_at_every_byte),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_empty_stream),
		cmocka_unit_test(test_null_callback),
		cmocka_unit_test(test_corrupt_type),
		cmocka_unit_test(test_corrupt_padding),
		cmocka_unit_test(test_plain_text_is_corrupt),
		cmocka_unit_test(test_corrupt_after_good_frame),
		cmocka_unit_test(test_callback_stops),
		cmocka_unit_test(test_large_frame_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
