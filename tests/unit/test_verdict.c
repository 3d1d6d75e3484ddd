/*
 * test_verdict.c - the verdict's reading of a release's log (verdict_read_log):
 * a line fails the release by its CPA level, and the warnings every offline
 * host logs are named as harmless, not taken for a failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <string.h>

#include "../../lib/verdict.h"

/* Real CPA's start on a host without internet access (internal/logging/
 * global_logger.go; internal/misc/antigravity_version.go:94;
 * internal/managementasset/updater.go:253). */
#define START                                                                                                   \
	"CLIProxyAPI Version: v7.2.0, Commit: abc, BuiltAt: 2026-11-30\n"                                        \
	"[2026-12-02 12:38:28] [--------] [info ] [main.go:572] CLIProxyAPI Version: v7.2.0, Commit: abc, "      \
	"BuiltAt: 2026-11-30\n"                                                                                 \
	"[2026-12-02 12:38:28] [--------] [warn ] [antigravity_version.go:94] failed to refresh antigravity "    \
	"version, using fallback version error=Get \"https://x/manifest\": dial tcp: lookup x: server "          \
	"misbehaving\n"                                                                                         \
	"[2026-12-02 12:38:28] [--------] [warn ] [updater.go:253] failed to fetch latest management release "   \
	"information error=Get \"https://x/releases/latest\": dial tcp: lookup x: server misbehaving\n"         \
	"API server started successfully on: :8317\n"                                                           \
	"[2026-12-02 12:38:28] [--------] [info ] [clients.go:152] full client load complete - 3 clients\n"


static void judge(struct verdict *v, const char *log)
{
	memset(v, 0, sizeof(*v));
	v->reasons = json_array();
	v->notes = json_array();
	assert_non_null(v->reasons);
	assert_non_null(v->notes);
	verdict_read_log(v, log);
}

static int notes_mention(const struct verdict *v, const char *needle)
{
	size_t i;
	json_t *n;

	json_array_foreach(v->notes, i, n)
		if (strstr(json_string_value(n), needle))
			return 1;
	return 0;
}

static void test_offline_start_passes_and_is_named_harmless(void **state)
{
	struct verdict v;
	(void)state;

	judge(&v, START "[2026-12-02 12:38:29] [a1b2c3d4] [info ] [gin_logger.go:97] 200 | 1ms | GET \"/v1/models\"\n");
	assert_int_equal(json_array_size(v.reasons), 0);
	/* One line, naming both warnings as harmless. */
	assert_int_equal(json_array_size(v.notes), 1);
	assert_true(notes_mention(&v, "harmless"));
	assert_true(notes_mention(&v, "failed to refresh antigravity version"));
	assert_true(notes_mention(&v, "failed to fetch latest management release information"));
	verdict_release(&v);
}

static void test_warn_never_fails(void **state)
{
	struct verdict v;
	(void)state;

	judge(&v, "[t] [a1b2c3d4] [warn ] [gin_logger.go:95] 401 | 1ms | GET \"/v1/models\"\n"
		  "[t] [--------] [warn ] [service_lifecycle.go:79] failed to load auth store: timeout\n"
		  "[t] [--------] [info ] [x.go:1] panic button is a directory, fatal\n");
	assert_int_equal(json_array_size(v.reasons), 0);
	assert_int_equal(json_array_size(v.notes), 0); /* no offline warning: no note */
	verdict_release(&v);
}

static void check_fails_on(const char *line)
{
	struct verdict v;

	judge(&v, line);
	assert_int_equal(json_array_size(v.reasons), 1);
	assert_non_null(strstr(json_string_value(json_array_get(v.reasons, 0)), "its log says: "));
	verdict_release(&v);
}

static void test_error_fatal_panic_fail(void **state)
{
	(void)state;

	check_fails_on(START "[t] [--------] [error] [main.go:531] failed to load config: yaml: unmarshal errors\n");
	check_fails_on(START "[t] [--------] [fatal] [main.go:1] cannot continue\n");
	check_fails_on(START "[t] [--------] [panic] [x.go:1] boom\n");
	/* An error line whose words would pass the old patterns still fails. */
	check_fails_on(START "[t] [a1b2c3d4] [error] [gin_logger.go:93] 500 | 1ms | POST \"/v1/chat/completions\"\n");
}

static void test_unleveled_lines_keep_the_patterns(void **state)
{
	struct verdict v;
	(void)state;

	/* Go's panic trace is a plain print: it still fails. */
	check_fails_on("panic: runtime error: invalid memory address or nil pointer dereference\n"
		       "goroutine 1 [running]:\n");
	/* An older release that logged "failed to" without a level fails as before. */
	check_fails_on("failed to read config: read /CLIProxyAPI/config.yaml: is a directory\n");
	judge(&v, "API server started successfully on: :8317\nserver clients and configuration updated: 3 clients\n");
	assert_int_equal(json_array_size(v.reasons), 0);
	verdict_release(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offline_start_passes_and_is_named_harmless),
		cmocka_unit_test(test_warn_never_fails),
		cmocka_unit_test(test_error_fatal_panic_fail),
		cmocka_unit_test(test_unleveled_lines_keep_the_patterns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
