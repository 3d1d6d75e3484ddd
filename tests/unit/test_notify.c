/*
 * test_notify.c - the notification payload is a whitelist: what a verb's
 * result holds beyond the named fields never leaves the machine; the URL
 * check and the redaction of URLs in messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/error.h"
#include "../../lib/notify.h"

#define SECRET "SECRET-FIXTURE-apikey-1-7f3a"

static struct notify_event event(const char *command, int exit_code, const char *outcome,
				 const json_t *result)
{
	struct notify_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.cpactl_version = "0.1.0";
	ev.command = command;
	ev.host = "host-1";
	ev.outcome = outcome;
	ev.exit_code = exit_code;
	ev.time = 1767225600; /* 2026-01-01T00:00:00Z */
	ev.result = result;
	return ev;
}

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void test_upgrade_fields(void **state)
{
	json_t *result = json_pack("{s:s,s:s,s:s,s:{s:s,s:s},s:{s:s,s:s}}", "outcome", "upgraded",
				   "container", "cpa", "snapshot", "20260101-000000", "from", "image",
				   "eceasy/cli-proxy-api:v7.1.0", "version", "v7.1.0", "to", "image",
				   "eceasy/cli-proxy-api:v7.2.0", "version", "v7.2.0");
	struct notify_event ev = event("upgrade", 0, "ok", result);
	json_t *p = notify_payload(&ev);
	char *text;

	(void)state;
	assert_non_null(p);
	assert_string_equal(str(p, "cpactl_version"), "0.1.0");
	assert_string_equal(str(p, "command"), "upgrade");
	assert_string_equal(str(p, "container"), "cpa");
	assert_string_equal(str(p, "host"), "host-1");
	assert_string_equal(str(p, "outcome"), "ok");
	assert_int_equal(json_integer_value(json_object_get(p, "exit_code")), 0);
	assert_string_equal(str(p, "result"), "upgraded");
	assert_string_equal(str(p, "snapshot"), "20260101-000000");
	assert_string_equal(str(json_object_get(p, "versions"), "from"), "v7.1.0");
	assert_string_equal(str(json_object_get(p, "versions"), "to"), "v7.2.0");
	assert_string_equal(str(p, "time"), "2026-01-01T00:00:00Z");
	/* No reason on success, and no image names: they are not whitelisted. */
	assert_null(json_object_get(p, "reason"));
	text = json_dumps(p, 0);
	assert_null(strstr(text, "eceasy"));
	free(text);
	json_decref(p);
	json_decref(result);
}

/* A result that carries secret-looking fields, at the top and nested in
 * whitelisted objects: none of them, and no value of them, comes out. */
static void test_secrets_do_not_pass(void **state)
{
	json_t *result = json_pack(
		"{s:s,s:s,s:s,s:s,s:{s:s,s:s},s:{s:s,s:s},s:{s:i,s:s},s:{s:s,s:s}}", "outcome", "failed",
		"api_key", SECRET, "secret-key", SECRET, "config", "api-keys: [" SECRET "]", "from",
		"version", "v7.1.0", "token", SECRET, "to", "version", SECRET " has spaces", "auth", SECRET,
		"summary", "error", 2, "secret", SECRET, "error", "code", "failed", "message",
		"the candidate failed its checks");
	struct notify_event ev = event("upgrade", 1, "failed", result);
	json_t *p = notify_payload(&ev);
	char *text;

	(void)state;
	assert_non_null(p);
	text = json_dumps(p, JSON_SORT_KEYS);
	assert_null(strstr(text, "SECRET"));
	assert_null(strstr(text, "api"));
	assert_null(json_object_get(p, "token"));
	assert_null(json_object_get(p, "config"));
	/* The whitelisted parts still come through. */
	assert_string_equal(str(json_object_get(p, "versions"), "from"), "v7.1.0");
	assert_true(json_is_null(json_object_get(json_object_get(p, "versions"), "to")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(p, "summary"), "error")), 2);
	assert_int_equal(json_object_size(json_object_get(p, "summary")), 1);
	assert_string_equal(str(p, "reason"), "the candidate failed its checks");
	assert_string_equal(str(p, "outcome"), "failed");
	free(text);
	json_decref(p);
	json_decref(result);
}

/* Strings are whitelisted by shape too: a "container" or "outcome" that is
 * not a plain word, or a multi-line reason, is dropped. */
static void test_odd_values_are_dropped(void **state)
{
	json_t *result = json_pack("{s:s,s:s,s:{s:s,s:s}}", "outcome", "ok\nX-Injected: 1", "container",
				   "cpa prod", "error", "code", "failed", "message", "line one\nline two");
	struct notify_event ev = event("backup", 1, "failed", result);
	json_t *p;

	(void)state;
	ev.container = "fallback-name";
	p = notify_payload(&ev);
	assert_null(json_object_get(p, "result"));
	assert_string_equal(str(p, "container"), "fallback-name");
	assert_null(json_object_get(p, "reason"));
	json_decref(p);
	json_decref(result);
}

/* backup's snapshot is its "id"; a result that is an array (status, verify)
 * gives only the event's own fields. */
static void test_backup_id_and_array_results(void **state)
{
	json_t *backup = json_pack("{s:s,s:s,s:s}", "id", "20260101-000001", "container", "cpa", "path",
				   "/srv/cpa/backup/20260101-000001");
	json_t *array = json_pack("[{s:s}]", "api_key", SECRET);
	struct notify_event ev = event("backup", 0, "ok", backup);
	json_t *p = notify_payload(&ev);
	char *text;

	(void)state;
	assert_string_equal(str(p, "snapshot"), "20260101-000001");
	assert_null(json_object_get(p, "path"));
	json_decref(p);
	ev = event("status", 3, "problems", array);
	ev.container = "cpa";
	p = notify_payload(&ev);
	assert_string_equal(str(p, "container"), "cpa");
	text = json_dumps(p, 0);
	assert_null(strstr(text, "SECRET"));
	free(text);
	assert_null(json_object_get(p, "reason"));
	json_decref(p);
	json_decref(backup);
	json_decref(array);
}

static void test_url_check(void **state)
{
	static const char *const good[] = { "http://127.0.0.1:8080/hook", "https://hooks.example.com/x?y=1",
					    "HTTPS://example.com", "http://user:pw@example.com/", NULL };
	static const char *const bad[] = { "", "ftp://example.com/", "file:///etc/passwd", "example.com",
					   "http://", "https:///path", "http://:80/", "http://a b/",
					   "http://x/\n", "gopher://x", NULL };

	(void)state;
	for (size_t i = 0; good[i]; i++) {
		struct cpactl_error err = CPACTL_ERROR_INIT;
		assert_int_equal(notify_url_check(good[i], "--notify", &err), 0);
	}
	for (size_t i = 0; bad[i]; i++) {
		struct cpactl_error err = CPACTL_ERROR_INIT;
		assert_int_equal(notify_url_check(bad[i], "--notify", &err), -1);
		assert_int_equal(err.kind, ERR_USAGE);
		assert_non_null(strstr(err.message, "--notify"));
	}
}

/* Webhook URLs keep their token in the path or the user info. */
static void test_url_redacted(void **state)
{
	char out[128];

	(void)state;
	notify_url_redacted("https://hooks.slack.com/services/T0/B0/" SECRET, out, sizeof(out));
	assert_string_equal(out, "https://hooks.slack.com/...");
	notify_url_redacted("http://bot:" SECRET "@127.0.0.1:9000", out, sizeof(out));
	assert_string_equal(out, "http://127.0.0.1:9000/...");
	notify_url_redacted("http://127.0.0.1:9000/", out, sizeof(out));
	assert_string_equal(out, "http://127.0.0.1:9000");
	notify_url_redacted("http://127.0.0.1:9000?token=" SECRET, out, sizeof(out));
	assert_string_equal(out, "http://127.0.0.1:9000/...");
}

/* Nothing listens on port 1 of loopback: two attempts, an error naming the
 * URL redacted. */
static void test_post_failure_names_url(void **state)
{
	struct cpactl_error err = CPACTL_ERROR_INIT;
	json_t *p = json_pack("{s:s}", "command", "backup");

	(void)state;
	assert_int_equal(notify_post("http://127.0.0.1:1/hook/" SECRET, p, &err), -1);
	assert_non_null(strstr(err.message, "cannot notify 'http://127.0.0.1:1/...'"));
	assert_null(strstr(err.message, "SECRET"));
	json_decref(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_upgrade_fields),
		cmocka_unit_test(test_secrets_do_not_pass),
		cmocka_unit_test(test_odd_values_are_dropped),
		cmocka_unit_test(test_backup_id_and_array_results),
		cmocka_unit_test(test_url_check),
		cmocka_unit_test(test_url_redacted),
		cmocka_unit_test(test_post_failure_names_url),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
