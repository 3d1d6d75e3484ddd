/*
 * jsonstream.c - see jsonstream.h.
 */
#include "jsonstream.h"

#include <stdlib.h>
#include <string.h>

void jsonstream_init(struct jsonstream *s, jsonstream_fn callback, void *ctx)
{
	memset(s, 0, sizeof(*s));
	s->callback = callback;
	s->ctx = ctx;
}

static void remember_error(struct jsonstream *s, json_t *obj)
{
	const char *msg = NULL;
	json_t *detail;

	if (s->error_message)
		return;
	detail = json_object_get(obj, "errorDetail");
	if (json_is_object(detail))
		msg = json_string_value(json_object_get(detail, "message"));
	if (!msg)
		msg = json_string_value(json_object_get(obj, "error"));
	if (msg)
		s->error_message = strdup(msg);
	else if (json_object_get(obj, "errorDetail") || json_object_get(obj, "error"))
		s->error_message = strdup("the engine reported an error without a message");
}

static int decode_line(struct jsonstream *s, const char *line, size_t len)
{
	json_t *obj;
	int rc = 0;

	/* The engine terminates messages with "\r\n"; blank lines are keep-alives. */
	while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	if (len == 0)
		return 0;
	obj = json_loadb(line, len, JSON_DECODE_ANY, NULL);
	if (obj && json_is_object(obj)) {
		s->objects++;
		remember_error(s, obj);
		if (s->callback)
			rc = s->callback(s->ctx, obj, line, len);
	} else if (s->callback) {
		rc = s->callback(s->ctx, NULL, line, len);
	}
	json_decref(obj);
	return rc;
}

int jsonstream_feed(struct jsonstream *s, const char *data, size_t len)
{
	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t take = nl ? (size_t)(nl - data) : len;

		if (s->pending.len + take > JSONSTREAM_MAX_LINE) {
			s->overflow = 1;
			return -1;
		}
		if (!nl)
			return buf_append(&s->pending, data, take);
		if (s->pending.len) {
			int rc;
			if (buf_append(&s->pending, data, take) < 0)
				return -1;
			rc = decode_line(s, s->pending.data, s->pending.len);
			buf_reset(&s->pending);
			if (rc < 0)
				return -1;
		} else if (decode_line(s, data, take) < 0) {
			return -1;
		}
		data += take + 1;
		len -= take + 1;
	}
	return 0;
}

int jsonstream_finish(struct jsonstream *s)
{
	int rc = 0;

	if (s->pending.len)
		rc = decode_line(s, s->pending.data, s->pending.len);
	buf_reset(&s->pending);
	return rc;
}

const char *jsonstream_error(const struct jsonstream *s)
{
	return s->error_message;
}

void jsonstream_release(struct jsonstream *s)
{
	buf_free(&s->pending);
	free(s->error_message);
	s->error_message = NULL;
}
