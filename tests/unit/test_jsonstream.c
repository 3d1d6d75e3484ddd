/*
 * test_jsonstream.c - incremental decoding of the engine's JSON progress streams.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/jsonstream.h"

/* What the callback saw, as one text: "{...}" per object (compact, sorted) and
 * "RAW<line>" per non-JSON line, each followed by '|'. */
struct seen {
	struct buf log;
	int objects, raw;
	int stop_after;   /* return -1 on this call (1-based), 0: never */
	int calls;
};

static int record(void *ctx, json_t *obj, const char *line, size_t len)
{
	struct seen *s = ctx;

	s->calls++;
	if (obj) {
		char *text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
		assert_non_null(text);
		buf_append_str(&s->log, text);
		free(text);
		s->objects++;
	} else {
		buf_append_str(&s->log, "RAW");
		buf_append(&s->log, line, len);
		s->raw++;
	}
	buf_append_str(&s->log, "|");
	return s->stop_after && s->calls == s->stop_after ? -1 : 0;
}

static const char stream_text[] =
	"{\"status\":\"Pulling from library/alpine\",\"id\":\"3.19\"}\r\n"
	"{\"status\":\"Downloading\",\"progressDetail\":{\"current\":1,\"total\":2},\"id\":\"a\"}\n"
	"\r\n"
	"\n"
	"{\"status\":\"Digest: sha256:00\"}\r\n";

static const char expected_log[] =
	"{\"id\":\"3.19\",\"status\":\"Pulling from library/alpine\"}|"
	"{\"id\":\"a\",\"progressDetail\":{\"current\":1,\"total\":2},\"status\":\"Downloading\"}|"
	"{\"status\":\"Digest: sha256:00\"}|";

static void feed_in_pieces(size_t piece)
{
	struct seen s = { .log = BUF_INIT };
	struct jsonstream js;
	size_t len = sizeof(stream_text) - 1;

	jsonstream_init(&js, record, &s);
	for (size_t off = 0; off < len; off += piece) {
		size_t n = len - off < piece ? len - off : piece;
		assert_int_equal(jsonstream_feed(&js, stream_text + off, n), 0);
	}
	assert_int_equal(jsonstream_finish(&js), 0);
	assert_string_equal(buf_str(&s.log), expected_log);
	assert_int_equal(js.objects, 3);
	assert_int_equal(s.raw, 0);
	assert_null(jsonstream_error(&js));
	assert_false(js.overflow);
	jsonstream_release(&js);
	buf_free(&s.log);
}

static void test_byte_by_byte(void **state)
{
	(void)state;
	feed_in_pieces(1);
}

static void test_every_chunk_size(void **state)
{
	(void)state;
	for (size_t piece = 2; piece <= sizeof(stream_text); piece++)
		feed_in_pieces(piece);
}

static void test_every_split_point(void **state)
{
	size_t len = sizeof(stream_text) - 1;
	(void)state;

	for (size_t cut = 0; cut <= len; cut++) {
		struct seen s = { .log = BUF_INIT };
		struct jsonstream js;

		jsonstream_init(&js, record, &s);
		assert_int_equal(jsonstream_feed(&js, stream_text, cut), 0);
		assert_int_equal(jsonstream_feed(&js, stream_text + cut, len - cut), 0);
		assert_int_equal(jsonstream_finish(&js), 0);
		assert_string_equal(buf_str(&s.log), expected_log);
		jsonstream_release(&js);
		buf_free(&s.log);
	}
}

static void test_blank_lines_and_crlf(void **state)
{
	struct seen s = { .log = BUF_INIT };
	struct jsonstream js;
	const char text[] = "\n\r\n   \r\n{\"a\":1}   \r\n\n\n";
	(void)state;

	jsonstream_init(&js, record, &s);
	assert_int_equal(jsonstream_feed(&js, text, sizeof(text) - 1), 0);
	assert_int_equal(jsonstream_finish(&js), 0);
	assert_string_equal(buf_str(&s.log), "{\"a\":1}|");
	assert_int_equal(s.calls, 1);
	jsonstream_release(&js);
	buf_free(&s.log);
}

static void test_non_json_line(void **state)
{
	struct seen s = { .log = BUF_INIT };
	struct jsonstream js;
	const char text[] = "{\"a\":1}\nthis is not json\r\n[1,2]\n\"str\"\n{\"b\":2}\n";
	(void)state;

	jsonstream_init(&js, record, &s);
	assert_int_equal(jsonstream_feed(&js, text, sizeof(text) - 1), 0);
	assert_int_equal(jsonstream_finish(&js), 0);
	/* Only objects count; arrays and strings are "not JSON objects" lines. */
	assert_string_equal(buf_str(&s.log),
			    "{\"a\":1}|RAWthis is not json|RAW[1,2]|RAW\"str\"|{\"b\":2}|");
	assert_int_equal(js.objects, 2);
	assert_int_equal(s.raw, 3);
	jsonstream_release(&js);
	buf_free(&s.log);
}

static void test_null_callback(void **state)
{
	struct jsonstream js;
	const char text[] = "garbage\n{\"error\":\"boom\"}\n";
	(void)state;

	jsonstream_init(&js, NULL, NULL);
	assert_int_equal(jsonstream_feed(&js, text, sizeof(text) - 1), 0);
	assert_int_equal(jsonstream_finish(&js), 0);
	assert_int_equal(js.objects, 1);
	assert_string_equal(jsonstream_error(&js), "boom");
	jsonstream_release(&js);
}

static void test_error_detail_first_only(void **state)
{
	struct seen s = { .log = BUF_INIT };
	struct jsonstream js;
	const char text[] =
		"{\"status\":\"Waiting\"}\n"
		"{\"errorDetail\":{\"message\":\"manifest unknown\"},\"error\":\"manifest unknown: x\"}\n"
		"{\"errorDetail\":{\"message\":\"second\"},\"error\":\"second\"}\n";
	(void)state;

	jsonstream_init(&js, record, &s);
	assert_int_equal(jsonstream_feed(&js, text, sizeof(text) - 1), 0);
	assert_int_equal(jsonstream_finish(&js), 0);
	/* errorDetail.message is preferred over error. */
	assert_string_equal(jsonstream_error(&js), "manifest unknown");
	assert_int_equal(s.objects, 3);
	jsonstream_release(&js);
	assert_null(jsonstream_error(&js));
	buf_free(&s.log);
}

static void test_error_forms(void **state)
{
	static const struct {
		const char *line;
		const char *expect;
	} cases[] = {
		{ "{\"error\":\"only error\"}\n", "only error" },
		{ "{\"errorDetail\":{\"code\":1}, \"error\":\"fallback\"}\n", "fallback" },
		{ "{\"errorDetail\":{}}\n", "the engine reported an error without a message" },
		{ "{\"error\":null}\n", "the engine reported an error without a message" },
		{ "{\"errorDetail\":\"a string\"}\n", "the engine reported an error without a message" },
		{ "{\"status\":\"error in the text is not an error\"}\n", NULL },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jsonstream js;
		jsonstream_init(&js, NULL, NULL);
		assert_int_equal(jsonstream_feed(&js, cases[i].line, strlen(cases[i].line)), 0);
		if (cases[i].expect)
			assert_string_equal(jsonstream_error(&js), cases[i].expect);
		else
			assert_null(jsonstream_error(&js));
		jsonstream_release(&js);
	}
}

static void test_overflow(void **state)
{
	struct seen s = { .log = BUF_INIT };
	struct jsonstream js;
	size_t piece = 64 * 1024;
	char *chunk = malloc(piece);
	size_t fed = 0;
	int rc = 0;
	(void)state;

	assert_non_null(chunk);
	memset(chunk, 'x', piece);
	jsonstream_init(&js, record, &s);
	assert_int_equal(jsonstream_feed(&js, "{\"ok\":1}\n", 9), 0);
	while (fed <= JSONSTREAM_MAX_LINE + piece && rc == 0) {
		rc = jsonstream_feed(&js, chunk, piece);
		fed += piece;
	}
	assert_int_equal(rc, -1);
	assert_true(js.overflow);
	/* The limit holds: the pending line never grew past it. */
	assert_true(js.pending.len <= JSONSTREAM_MAX_LINE);
	assert_true(fed <= JSONSTREAM_MAX_LINE + piece);
	assert_int_equal(s.objects, 1);
	jsonstream_release(&js);
	buf_free(&s.log);
	free(chunk);
}

static void test_line_at_limit_ok(void **state)
{
	struct seen s = { .log = BUF_INIT };
	struct jsonstream js;
	size_t n = JSONSTREAM_MAX_LINE;
	char *line = malloc(n + 1);
	(void)state;

	assert_non_null(line);
	/* {"a":"xxxx...x"} exactly JSONSTREAM_MAX_LINE bytes, then '\n'. */
	memset(line, 'x', n);
	memcpy(line, "{\"a\":\"", 6);
	memcpy(line + n - 2, "\"}", 2);
	line[n] = '\n';
	jsonstream_init(&js, record, &s);
	assert_int_equal(jsonstream_feed(&js, line, n / 2), 0);
	assert_int_equal(jsonstream_feed(&js, line + n / 2, n + 1 - n / 2), 0);
	assert_false(js.overflow);
	assert_int_equal(s.objects, 1);
	jsonstream_release(&js);
	buf_free(&s.log);
	free(line);
}

static void test_finish_without_newline(void **state)
{
	struct seen s = { .log = BUF_INIT };
	struct jsonstream js;
	const char text[] = "{\"a\":1}\n{\"stream\":\"Loaded image: a:b\"}";
	(void)state;

	jsonstream_init(&js, record, &s);
	assert_int_equal(jsonstream_feed(&js, text, sizeof(text) - 1), 0);
	assert_int_equal(s.objects, 1);
	assert_int_equal(jsonstream_finish(&js), 0);
	assert_string_equal(buf_str(&s.log), "{\"a\":1}|{\"stream\":\"Loaded image: a:b\"}|");
	/* A second finish has nothing left. */
	assert_int_equal(jsonstream_finish(&js), 0);
	assert_int_equal(s.calls, 2);
	jsonstream_release(&js);
	buf_free(&s.log);
}

static void test_finish_partial_garbage(void **state)
{
	struct seen s = { .log = BUF_INIT };
	struct jsonstream js;
	const char text[] = "{\"a\":1}\n{\"status\":\"Downlo";
	(void)state;

	jsonstream_init(&js, record, &s);
	assert_int_equal(jsonstream_feed(&js, text, sizeof(text) - 1), 0);
	assert_int_equal(jsonstream_finish(&js), 0);
	assert_string_equal(buf_str(&s.log), "{\"a\":1}|RAW{\"status\":\"Downlo|");
	jsonstream_release(&js);
	buf_free(&s.log);
}

static void test_callback_stops(void **state)
{
	struct seen s = { .stop_after = 2 };
	struct jsonstream js;
	const char text[] = "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n";
	(void)state;

	jsonstream_init(&js, record, &s);
	assert_int_equal(jsonstream_feed(&js, text, sizeof(text) - 1), -1);
	assert_int_equal(s.calls, 2);
	jsonstream_release(&js);
	buf_free(&s.log);

	/* Also when the stopping line was assembled from pieces. */
	memset(&s, 0, sizeof(s));
	s.stop_after = 1;
	jsonstream_init(&js, record, &s);
	assert_int_equal(jsonstream_feed(&js, "{\"a\"", 4), 0);
	assert_int_equal(jsonstream_feed(&js, ":1}\n{\"b\":2}\n", 12), -1);
	assert_int_equal(s.calls, 1);
	jsonstream_release(&js);
	buf_free(&s.log);
}

static void test_empty_feed(void **state)
{
	struct jsonstream js;
	(void)state;

	jsonstream_init(&js, NULL, NULL);
	assert_int_equal(jsonstream_feed(&js, "", 0), 0);
	assert_int_equal(jsonstream_finish(&js), 0);
	assert_int_equal(js.objects, 0);
	jsonstream_release(&js);
	jsonstream_release(&js);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_byte_by_byte),
		cmocka_unit_test(test_every_chunk_size),
		cmocka_unit_test(test_every_split_point),
		cmocka_unit_test(test_blank_lines_and_crlf),
		cmocka_unit_test(test_non_json_line),
		cmocka_unit_test(test_null_callback),
		cmocka_unit_test(test_error_detail_first_only),
		cmocka_unit_test(test_error_forms),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_line_at_limit_ok),
		cmocka_unit_test(test_finish_without_newline),
		cmocka_unit_test(test_finish_partial_garbage),
		cmocka_unit_test(test_callback_stops),
		cmocka_unit_test(test_empty_feed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
