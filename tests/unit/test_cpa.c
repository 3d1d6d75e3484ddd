/*
 * test_cpa.c - what cpactl knows about CLIProxyAPI.
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

#include "../../lib/cpa.h"
#include "../../lib/error.h"
#include "../../lib/yamlconf.h"

/* --- version line ---------------------------------------------------------- */

static void test_parse_version_line(void **state)
{
	char v[64];
	(void)state;

	assert_int_equal(cpa_parse_version_line("CLIProxyAPI Version: v7.2.0, Commit: abc123, BuiltAt: "
						"2025-01-01T00:00:00Z\n", v, sizeof(v)), 0);
	assert_string_equal(v, "v7.2.0");
	/* After other output, with CRLF. */
	assert_int_equal(cpa_parse_version_line("flag provided but not defined: -version\r\n"
						"CLIProxyAPI Version: v6.0.1\r\n", v, sizeof(v)), 0);
	assert_string_equal(v, "v6.0.1");
	/* A source build. */
	assert_int_equal(cpa_parse_version_line("CLIProxyAPI Version: dev, Commit: none, BuiltAt: unknown",
						v, sizeof(v)), 0);
	assert_string_equal(v, "dev");
	/* Homebrew prints the version without a v. */
	assert_int_equal(cpa_parse_version_line("CLIProxyAPI Version: 7.2.0, Commit: Homebrew", v, sizeof(v)), 0);
	assert_string_equal(v, "7.2.0");
	/* A suffix is kept. */
	assert_int_equal(cpa_parse_version_line("CLIProxyAPI Version: v7.2.1-rc1, Commit: x", v, sizeof(v)), 0);
	assert_string_equal(v, "v7.2.1-rc1");
}

static void test_parse_version_line_missing(void **state)
{
	char v[64] = "untouched";
	char tiny[4];
	(void)state;

	assert_int_equal(cpa_parse_version_line("Usage of ./CLIProxyAPI:\n  -config string\n", v, sizeof(v)), -1);
	assert_int_equal(cpa_parse_version_line("", v, sizeof(v)), -1);
	assert_int_equal(cpa_parse_version_line(NULL, v, sizeof(v)), -1);
	assert_int_equal(cpa_parse_version_line("CLIProxyAPI Version: , Commit: x", v, sizeof(v)), -1);
	assert_int_equal(cpa_parse_version_line("CLIProxyAPI Version:", v, sizeof(v)), -1);
	/* Too long for the output: refused, never truncated. */
	assert_int_equal(cpa_parse_version_line("CLIProxyAPI Version: v7.2.0", tiny, sizeof(tiny)), -1);
	assert_int_equal(cpa_parse_version_line("CLIProxyAPI Version: v7.2.0", v, 0), -1);
}

/* --- versions from image references --------------------------------------- */

static void test_version_from_image(void **state)
{
	static const struct {
		const char *ref;
		const char *version; /* NULL: -1 */
	} cases[] = {
		{ "eceasy/cli-proxy-api:v7.1.0", "v7.1.0" },
		{ "eceasy/cli-proxy-api:7.1.0", "7.1.0" },
		{ "eceasy/cli-proxy-api:v7.2.1-rc1", "v7.2.1-rc1" },
		{ "ghcr.io/router-for-me/cliproxyapi:V7.0.0", "V7.0.0" },
		{ "registry.local:5000/eceasy/cli-proxy-api:v7.2.0", "v7.2.0" },
		{ "registry.local:5000/eceasy/cli-proxy-api", NULL },
		{ "localhost:5000/cli-proxy-api:latest", NULL },
		{ "eceasy/cli-proxy-api:latest", NULL },
		{ "eceasy/cli-proxy-api", NULL },
		{ "eceasy/cli-proxy-api:main", NULL },
		{ "eceasy/cli-proxy-api:version", NULL },
		{ "eceasy/cli-proxy-api@sha256:0123456789abcdef", NULL },
		{ "eceasy/cli-proxy-api:v7.2.0@sha256:0123456789abcdef", NULL },
		{ "sha256:0123456789abcdef", NULL },
		{ "", NULL },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char v[64] = "";
		int rc = cpa_version_from_image(cases[i].ref, v, sizeof(v));
		if (cases[i].version) {
			if (rc != 0)
				fail_msg("'%s': expected %s", cases[i].ref, cases[i].version);
			assert_string_equal(v, cases[i].version);
		} else if (rc != -1) {
			fail_msg("'%s': expected no version, got '%s'", cases[i].ref, v);
		}
	}
	{
		char tiny[4];
		assert_int_equal(cpa_version_from_image(NULL, tiny, sizeof(tiny)), -1);
		assert_int_equal(cpa_version_from_image("x:v7.2.0", tiny, sizeof(tiny)), -1);
	}
}

static void test_version_compare(void **state)
{
	(void)state;

	assert_true(cpa_version_compare("v7.2.10", "v7.2.9") > 0);
	assert_true(cpa_version_compare("v7.2.9", "v7.2.10") < 0);
	assert_true(cpa_version_compare("v7.10.0", "v7.9.99") > 0);
	assert_true(cpa_version_compare("v10.0.0", "v9.0.0") > 0);
	assert_int_equal(cpa_version_compare("v7.2.0", "7.2.0"), 0);
	assert_int_equal(cpa_version_compare("V7.2.0", "v7.2.0"), 0);
	/* Suffixes are ignored. */
	assert_int_equal(cpa_version_compare("v7.2.1-rc1", "v7.2.1"), 0);
	assert_true(cpa_version_compare("v7.2.1-rc1", "v7.2.0") > 0);
	/* Missing parts count as 0. */
	assert_int_equal(cpa_version_compare("v7.2", "v7.2.0"), 0);
	assert_true(cpa_version_compare("v7", "v6.9.9") > 0);
	assert_true(cpa_version_compare("v7.1.50", "v7.1.49") > 0);
	/* Unparsable sorts first. */
	assert_true(cpa_version_compare("dev", "v0.0.1") < 0);
	assert_true(cpa_version_compare("v0.0.1", "dev") > 0);
	assert_int_equal(cpa_version_compare("dev", "latest"), 0);
	assert_true(cpa_version_compare(NULL, "v1.0.0") < 0);
	assert_int_equal(cpa_version_compare(NULL, NULL), 0);
}

/* --- logs -------------------------------------------------------------------- */

static void test_loaded_clients(void **state)
{
	(void)state;

	assert_int_equal(cpa_loaded_clients(
				 "[2025-01-01 10:00:00] [info] full client load complete - 3 clients (2 auth files)\n"
				 "[2025-01-01 10:05:00] [info] file changed, reloading\n"
				 "[2025-01-01 10:05:01] [info] full client load complete - 5 clients (4 auth files)\n"
				 "[2025-01-01 10:05:02] [info] API server started\n"),
			 5);
	assert_int_equal(cpa_loaded_clients("full client load complete - 0 clients\n"), 0);
	assert_int_equal(cpa_loaded_clients("server started on :8317\n"), -1);
	assert_int_equal(cpa_loaded_clients(""), -1);
	assert_int_equal(cpa_loaded_clients(NULL), -1);
	/* The last marker wins even when it has no number. */
	assert_int_equal(cpa_loaded_clients("full client load complete - 4 clients\n"
					    "full client load complete - ? clients\n"),
			 -1);
}

static void test_count_error_lines(void **state)
{
	(void)state;

	assert_int_equal(cpa_count_error_lines("ok\nPANIC: boom\nrequest 401 unauthorized\n"
					       "all good\nread timeout\nfatal error\n"),
			 4);
	assert_int_equal(cpa_count_error_lines("all good\nnothing to see"), 0);
	assert_int_equal(cpa_count_error_lines(""), 0);
	assert_int_equal(cpa_count_error_lines(NULL), 0);
}

/* Lines as real CPA writes them (internal/logging/global_logger.go). */
#define OFFLINE_ANTIGRAVITY                                                                                      \
	"[2026-12-02 12:38:28] [--------] [warn ] [antigravity_version.go:94] failed to refresh antigravity "      \
	"version, using fallback version error=Get \"https://x/manifest\": dial tcp: lookup x: server misbehaving"
#define OFFLINE_MANAGEMENT                                                                                       \
	"[2026-12-02 12:38:28] [--------] [warn ] [updater.go:253] failed to fetch latest management release "     \
	"information error=Get \"https://x/releases/latest\": context deadline exceeded (Client.Timeout exceeded)"

static enum cpa_log_level level_of(const char *line)
{
	return cpa_log_line_level(line, strlen(line));
}

static void test_log_line_level(void **state)
{
	(void)state;

	assert_int_equal(level_of("[2026-12-02 12:38:28] [--------] [info ] [main.go:572] CLIProxyAPI Version: v7"),
			 CPA_LOG_INFO);
	assert_int_equal(level_of(OFFLINE_ANTIGRAVITY), CPA_LOG_WARN);
	assert_int_equal(level_of("[2026-12-02 12:38:28] [a1b2c3d4] [error] [gin_logger.go:93] 500 | 1ms"),
			 CPA_LOG_ERROR);
	assert_int_equal(level_of("[2026-12-02 12:38:28] [--------] [fatal] [main.go:1] x"), CPA_LOG_FATAL);
	assert_int_equal(level_of("[2026-12-02 12:38:28] [--------] [panic] [main.go:1] x"), CPA_LOG_PANIC);
	assert_int_equal(level_of("[2026-12-02 12:38:28] [--------] [debug] [x.go:1] failed to x"), CPA_LOG_DEBUG);
	/* The older formatter (no request id column) and the old fake's "[ts] [level]". */
	assert_int_equal(level_of("[2025-12-23 20:14:04] [warning] [manager.go:524] | a1b2c3d4 | x"), CPA_LOG_WARN);
	assert_int_equal(level_of("[2025-01-01 10:00:00] [error] failed to load config"), CPA_LOG_ERROR);
	/* No level: plain prints, Go's panic trace, a level word later in the line. */
	assert_int_equal(level_of("API server started successfully on: :8317"), CPA_LOG_NONE);
	assert_int_equal(level_of("panic: runtime error: invalid memory address"), CPA_LOG_NONE);
	assert_int_equal(level_of("goroutine 1 [running]:"), CPA_LOG_NONE);
	assert_int_equal(level_of("[2026-12-02 12:38:28] [--------] [x.go:1] [error] late"), CPA_LOG_NONE);
	assert_int_equal(level_of("[error"), CPA_LOG_NONE);
	assert_int_equal(level_of(""), CPA_LOG_NONE);
}

static void test_log_offline_warning(void **state)
{
	(void)state;

	assert_string_equal(cpa_log_offline_warning(OFFLINE_ANTIGRAVITY, strlen(OFFLINE_ANTIGRAVITY)),
			    "failed to refresh antigravity version");
	assert_string_equal(cpa_log_offline_warning(OFFLINE_MANAGEMENT, strlen(OFFLINE_MANAGEMENT)),
			    "failed to fetch latest management release information");
	/* Only as a warning: the same words at error level are not excused. */
	assert_null(cpa_log_offline_warning("[t] [--------] [error] [x.go:1] failed to refresh antigravity version",
					    strlen("[t] [--------] [error] [x.go:1] failed to refresh antigravity version")));
	assert_null(cpa_log_offline_warning("failed to refresh antigravity version",
					    strlen("failed to refresh antigravity version")));
}

static void test_count_error_lines_by_level(void **state)
{
	(void)state;

	/* warn and info lines are never trouble, whatever they say; error,
	 * fatal and panic lines always are; a line without a level by its words. */
	assert_int_equal(cpa_count_error_lines(OFFLINE_ANTIGRAVITY "\n" OFFLINE_MANAGEMENT "\n"
					       "[t] [a1b2c3d4] [warn ] [gin_logger.go:95] 401 | 1ms | GET /v1/models\n"
					       "[t] [--------] [info ] [x.go:1] request timeout raised to 60s\n"),
			 0);
	assert_int_equal(cpa_count_error_lines("[t] [--------] [error] [main.go:531] failed to load config: x\n"
					       "[t] [--------] [fatal] [x.go:1] x\n"
					       "[t] [--------] [panic] [x.go:1] x\n"
					       "[t] [a1b2c3d4] [error] [gin_logger.go:93] 500 | 1ms\n"
					       "panic: runtime error\n"
					       "API server started successfully on: :8317\n"),
			 5);
}

/* --- names ---------------------------------------------------------------- */

static void test_auth_provider(void **state)
{
	(void)state;

	assert_string_equal(cpa_auth_provider("claude-user@example.com.json"), "claude");
	assert_string_equal(cpa_auth_provider("codex-x.json"), "codex");
	assert_string_equal(cpa_auth_provider("gemini-user-project-123.json"), "gemini");
	assert_string_equal(cpa_auth_provider("antigravity-a.json"), "antigravity");
	assert_string_equal(cpa_auth_provider("qwen-a.JSON"), "qwen");
	assert_string_equal(cpa_auth_provider("iflow-a.json"), "iflow");
	assert_string_equal(cpa_auth_provider("unknown-a.json"), "other");
	assert_string_equal(cpa_auth_provider("claude.json"), "other");
	assert_string_equal(cpa_auth_provider("claudex-a.json"), "other");
	assert_string_equal(cpa_auth_provider("a.json"), "other");
	assert_null(cpa_auth_provider(".claude-a.json"));
	assert_null(cpa_auth_provider("claude-a.json.bak"));
	assert_null(cpa_auth_provider("claude-a.txt"));
	assert_null(cpa_auth_provider(".json"));
	assert_null(cpa_auth_provider("json"));
	assert_null(cpa_auth_provider(""));
}

static void test_image_matches(void **state)
{
	(void)state;

	assert_true(cpa_image_matches("eceasy/cli-proxy-api:v7.2.0"));
	assert_true(cpa_image_matches("ghcr.io/router-for-me/CLIProxyAPI:latest"));
	assert_true(cpa_image_matches("registry:5000/x/CLI-PROXY-API"));
	assert_false(cpa_image_matches("postgres:16"));
	assert_false(cpa_image_matches("cli-proxy:1"));
	assert_false(cpa_image_matches(""));
	assert_false(cpa_image_matches(NULL));
}

static void test_key_is_secret(void **state)
{
	(void)state;

	assert_true(cpa_key_is_secret("api-keys"));
	assert_true(cpa_key_is_secret("secret-key"));
	assert_true(cpa_key_is_secret("API-KEY"));
	assert_true(cpa_key_is_secret("refresh_token"));
	assert_true(cpa_key_is_secret("proxy-url"));
	assert_false(cpa_key_is_secret("port"));
	assert_false(cpa_key_is_secret("base-url"));
	assert_false(cpa_key_is_secret("allow-remote"));
}

/* --- config summary -------------------------------------------------------- */

static json_t *yaml(const char *text)
{
	struct cpactl_error err = CPACTL_ERROR_INIT;
	json_t *doc = NULL;

	if (yaml_parse(text, strlen(text), "config.yaml", &doc, &err) != 0)
		fail_msg("%s", err.message);
	return doc;
}

static void test_summarize_full(void **state)
{
	json_t *doc = yaml("host: 127.0.0.1\n"
			   "port: 9000\n"
			   "auth-dir: ./auths\n"
			   "remote-management:\n"
			   "  allow-remote: true\n"
			   "  secret-key: \"hash\"\n"
			   "api-keys:\n"
			   "  - \"\"\n"
			   "  - \"SECRET-FIXTURE-first\"\n"
			   "  - \"SECRET-FIXTURE-second\"\n"
			   "gemini-api-key:\n"
			   "  - api-key: a\n"
			   "  - api-key: b\n"
			   "claude-api-key:\n"
			   "  - api-key: c\n"
			   "codex-api-key: []\n"
			   "openai-compatibility:\n"
			   "  - name: openrouter\n"
			   "xai-api-key: null\n"
			   "vertex-api-key: {odd: shape}\n"
			   "not-a-provider: [1, 2]\n");
	struct cpa_config_summary s;
	char *dump;
	(void)state;

	assert_int_equal(cpa_config_summarize(doc, &s), 0);
	assert_int_equal(s.port, 9000);
	assert_string_equal(s.host, "127.0.0.1");
	assert_string_equal(s.auth_dir, "./auths");
	/* The blank key is no key: CPA drops it. */
	assert_int_equal(s.api_keys, 2);
	assert_int_equal(s.allow_remote, 1);
	assert_true(s.secret_key_set);
	assert_true(s.port_set);
	/* The first non-empty key. */
	assert_string_equal(s.first_api_key, "SECRET-FIXTURE-first");
	assert_int_equal(json_integer_value(json_object_get(s.providers, "gemini-api-key")), 2);
	assert_int_equal(json_integer_value(json_object_get(s.providers, "claude-api-key")), 1);
	assert_int_equal(json_integer_value(json_object_get(s.providers, "codex-api-key")), 0);
	assert_int_equal(json_integer_value(json_object_get(s.providers, "openai-compatibility")), 1);
	assert_int_equal(json_integer_value(json_object_get(s.providers, "vertex-api-key")), 1);
	assert_null(json_object_get(s.providers, "xai-api-key"));
	assert_null(json_object_get(s.providers, "not-a-provider"));
	assert_null(json_object_get(s.providers, "kimi-api-key"));
	/* The providers object holds counts only. */
	dump = json_dumps(s.providers, 0);
	assert_null(strstr(dump, "SECRET-FIXTURE"));
	free(dump);
	cpa_config_summary_release(&s);
	assert_null(s.first_api_key);
	assert_null(s.providers);
	json_decref(doc);
}

static void test_summarize_defaults(void **state)
{
	json_t *doc = yaml("debug: true\n");
	struct cpa_config_summary s;
	(void)state;

	assert_int_equal(cpa_config_summarize(doc, &s), 0);
	assert_int_equal(s.port, CPA_API_PORT);
	assert_null(s.host);
	assert_null(s.auth_dir);
	assert_int_equal(s.api_keys, 0);
	assert_int_equal(s.allow_remote, -1);
	assert_false(s.secret_key_set);
	assert_null(s.first_api_key);
	assert_int_equal(json_object_size(s.providers), 0);
	cpa_config_summary_release(&s);
	json_decref(doc);
}

static void test_summarize_allow_remote(void **state)
{
	static const struct {
		const char *text;
		int allow_remote;
		int secret_key_set;
	} cases[] = {
		{ "remote-management:\n  allow-remote: false\n  secret-key: \"\"\n", 0, 0 },
		{ "remote-management:\n  allow-remote: true\n", 1, 0 },
		{ "remote-management:\n  secret-key: x\n", -1, 1 },
		{ "remote-management:\n  allow-remote: \"true\"\n", -1, 0 },
		{ "remote-management:\n  allow-remote: yes\n", -1, 0 },
		{ "remote-management: null\n", -1, 0 },
		{ "remote-management: [1]\n", -1, 0 },
		{ "remote-management:\n  secret-key: 12345\n", -1, 0 },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *doc = yaml(cases[i].text);
		struct cpa_config_summary s;
		assert_int_equal(cpa_config_summarize(doc, &s), 0);
		if (s.allow_remote != cases[i].allow_remote || s.secret_key_set != cases[i].secret_key_set)
			fail_msg("case %zu: allow_remote %d secret_key_set %d", i, s.allow_remote,
				 s.secret_key_set);
		cpa_config_summary_release(&s);
		json_decref(doc);
	}
}

static void test_summarize_odd_values(void **state)
{
	json_t *doc = yaml("port: \"9000\"\nhost: 5\napi-keys: just-one-string\n");
	struct cpa_config_summary s;
	(void)state;

	assert_int_equal(cpa_config_summarize(doc, &s), 0);
	assert_int_equal(s.port, CPA_API_PORT);
	assert_false(s.port_set);
	assert_null(s.host);
	assert_int_equal(s.api_keys, 0);
	assert_null(s.first_api_key);
	cpa_config_summary_release(&s);
	json_decref(doc);

	/* Go reads 1 and true into strings; blank keys are dropped; keys are
	 * trimmed. */
	doc = yaml("api-keys: [1, true, \"\", \"  \", \" k \"]\n");
	assert_int_equal(cpa_config_summarize(doc, &s), 0);
	assert_int_equal(s.api_keys, 3);
	assert_string_equal(s.first_api_key, "k");
	cpa_config_summary_release(&s);
	json_decref(doc);
}

static void test_summarize_not_mapping(void **state)
{
	json_t *arr = json_array();
	struct cpa_config_summary s;
	(void)state;

	assert_int_equal(cpa_config_summarize(arr, &s), -1);
	cpa_config_summary_release(&s);
	assert_int_equal(cpa_config_summarize(NULL, &s), -1);
	cpa_config_summary_release(&s);
	json_decref(arr);
}

/* --- auth dir ---------------------------------------------------------------- */

static void check_auth_dir(const char *configured, const char *workdir, const char *expect)
{
	char *got = cpa_resolve_auth_dir(configured, workdir, NULL);

	assert_non_null(got);
	if (strcmp(got, expect) != 0)
		fail_msg("'%s' (workdir '%s'): expected '%s', got '%s'", configured ? configured : "(null)",
			 workdir ? workdir : "(null)", expect, got);
	free(got);
}

/* The container's $HOME decides "~" (discover passes its Config.Env HOME). */
static void test_resolve_auth_dir_home(void **state)
{
	char *got;

	(void)state;
	got = cpa_resolve_auth_dir("~/.cli-proxy-api", "/w", "/data/");
	assert_string_equal(got, "/data/.cli-proxy-api");
	free(got);
	got = cpa_resolve_auth_dir("~", "/w", "/data/");
	assert_string_equal(got, "/data");
	free(got);
	got = cpa_resolve_auth_dir("~x", "/w", "");
	assert_string_equal(got, "/root/x");
	free(got);
}

static void test_command_mentions(void **state)
{
	json_t *config = json_pack("{s:[s],s:[s,s,s]}", "Entrypoint", "/bin/sh", "Cmd", "-c", "x",
				   "./CLIProxyAPI -home-jwt \"$HOME_JWT\"");

	(void)state;
	assert_true(cpa_command_mentions(config, "-home-jwt"));
	assert_true(cpa_command_mentions(config, "/bin/sh"));
	assert_false(cpa_command_mentions(config, "start_proxy"));
	assert_false(cpa_command_mentions(NULL, "x"));
	json_decref(config);
}

static void test_resolve_auth_dir(void **state)
{
	(void)state;

	check_auth_dir(NULL, NULL, CPA_AUTH_DIR);
	check_auth_dir("", "/CLIProxyAPI", CPA_AUTH_DIR);
	check_auth_dir("~", NULL, "/root");
	check_auth_dir("~/", NULL, "/root");
	check_auth_dir("~/.cli-proxy-api", NULL, "/root/.cli-proxy-api");
	check_auth_dir("~/.cli-proxy-api/", "/w", "/root/.cli-proxy-api");
	/* As internal/util/util.go: every leading "~" is $HOME. */
	check_auth_dir("~user/x", "/w", "/root/user/x");
	check_auth_dir("~auths", "/w", "/root/auths");
	check_auth_dir("~//x\\y", "/w", "/root/x/y");
	check_auth_dir("/data/auths", "/CLIProxyAPI", "/data/auths");
	check_auth_dir("/data/auths///", NULL, "/data/auths");
	check_auth_dir("/", NULL, "/");
	check_auth_dir("auths", "/CLIProxyAPI", "/CLIProxyAPI/auths");
	check_auth_dir("auths", NULL, "/CLIProxyAPI/auths");
	check_auth_dir("auths", "", "/CLIProxyAPI/auths");
	check_auth_dir("auths/", "/app", "/app/auths");
	check_auth_dir("./auths", "/app", "/app/auths");
	check_auth_dir("./", "/app", "/app");
	check_auth_dir(".", "/app", "/app");
	check_auth_dir("sub/dir", "/app/", "/app/sub/dir");
	check_auth_dir("auths", "/", "/auths");
	check_auth_dir(".", "/", "/");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_version_line),
		cmocka_unit_test(test_parse_version_line_missing),
		cmocka_unit_test(test_version_from_image),
		cmocka_unit_test(test_version_compare),
		cmocka_unit_test(test_loaded_clients),
		cmocka_unit_test(test_count_error_lines),
		cmocka_unit_test(test_log_line_level),
		cmocka_unit_test(test_log_offline_warning),
		cmocka_unit_test(test_count_error_lines_by_level),
		cmocka_unit_test(test_auth_provider),
		cmocka_unit_test(test_image_matches),
		cmocka_unit_test(test_key_is_secret),
		cmocka_unit_test(test_summarize_full),
		cmocka_unit_test(test_summarize_defaults),
		cmocka_unit_test(test_summarize_allow_remote),
		cmocka_unit_test(test_summarize_odd_values),
		cmocka_unit_test(test_summarize_not_mapping),
		cmocka_unit_test(test_resolve_auth_dir),
		cmocka_unit_test(test_resolve_auth_dir_home),
		cmocka_unit_test(test_command_mentions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
