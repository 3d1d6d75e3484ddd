/*
 * test_secretmask.c - secret values of YAML become ***, every other byte stays.
 *
 * Fixture secrets all start with SECRET-FIXTURE-, so each test can also assert
 * that none survived.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/buf.h"
#include "../../lib/error.h"
#include "../../lib/secretmask.h"

/* Masks `in` and checks the result is exactly `want` and holds no fixture secret. */
static void check_mask(const char *in, const char *want)
{
	struct buf out = BUF_INIT;
	struct cpactl_error err = CPACTL_ERROR_INIT;

	if (secret_mask_yaml(in, strlen(in), &out, &err) < 0)
		fail_msg("masking failed: %s", err.message);
	assert_int_equal(err.kind, ERR_NONE);
	if (strcmp(buf_str(&out), want) != 0)
		fail_msg("masked:\n%s\n---- wanted:\n%s", buf_str(&out), want);
	assert_null(strstr(buf_str(&out), "SECRET-FIXTURE-"));
	buf_free(&out);
}

static void check_unchanged(const char *in)
{
	check_mask(in, in);
}

/* --- comments and places ---------------------------------------------------- */

static void test_commented_secrets(void **state)
{
	(void)state;
	/* A key commented out is still a key: its value is masked. */
	check_mask("api-keys:\n"
		   "  - \"SECRET-FIXTURE-live\"\n"
		   "#  - \"SECRET-FIXTURE-old\"\n"
		   "  #- 'SECRET-FIXTURE-older'   \n"
		   "port: 8317\n"
		   "#  - \"gemini-2.5-pro\"\n"
		   "# api-keys:\n"
		   "#   - \"SECRET-FIXTURE-example\"\r\n"
		   "## secret-key: \"SECRET-FIXTURE-mgmt\"\n"
		   "#   - api-key: \"SECRET-FIXTURE-gemini\"\n"
		   "#     base-url: \"https://example.com\"\n"
		   "host: \"a # b\" # api-key: SECRET-FIXTURE-tail\n"
		   "#     credential: \"SECRET-FIXTURE-turn\"\n",
		   "api-keys:\n"
		   "  - ***\n"
		   "#  - ***\n"
		   "  #- ***   \n"
		   "port: 8317\n"
		   "#  - \"gemini-2.5-pro\"\n"
		   "# api-keys:\n"
		   "#   - ***\r\n"
		   "## secret-key: ***\n"
		   "#   - api-key: ***\n"
		   "#     base-url: \"https://example.com\"\n"
		   "host: \"a # b\" # api-key: ***\n"
		   "#     credential: ***\n");
	/* Prose in comments stays. */
	check_unchanged("# Note: keys go below\n# - one per line\nport: 1\n");
}

static void test_plugin_configs_and_turn(void **state)
{
	(void)state;
	check_mask("plugins:\n"
		   "  enabled: true\n"
		   "  dir: \"plugins\"\n"
		   "  configs:\n"
		   "    weather:\n"
		   "      enabled: true\n"
		   "      api-base: \"SECRET-FIXTURE-plugin-a\"\n"
		   "      auth: {user: \"SECRET-FIXTURE-plugin-b\"}\n"
		   "codex:\n"
		   "  live-media-relay:\n"
		   "    ice-servers:\n"
		   "      - urls: [\"turn:turn.example.com:3478\"]\n"
		   "        username: \"user\"\n"
		   "        credential: \"SECRET-FIXTURE-turn\"\n"
		   "configs:\n"
		   "  enabled: x\n"
		   "  other: y\n",
		   "plugins:\n"
		   "  enabled: true\n"
		   "  dir: \"plugins\"\n"
		   "  configs:\n"
		   "    weather:\n"
		   "      enabled: true\n"
		   "      api-base: ***\n"
		   "      auth: {user: ***}\n"
		   "codex:\n"
		   "  live-media-relay:\n"
		   "    ice-servers:\n"
		   "      - urls: [\"turn:turn.example.com:3478\"]\n"
		   "        username: \"user\"\n"
		   "        credential: ***\n"
		   "configs:\n"
		   "  enabled: x\n"
		   "  other: y\n");
}

/* The values redaction looks for: the same places as the masker. */
static void test_secret_values(void **state)
{
	json_t *config = json_loads("{\"plugins\":{\"enabled\":true,\"configs\":{\"w\":{\"enabled\":true,"
				    "\"key\":\"SECRET-FIXTURE-plugin\"}}},\"codex\":{\"live-media-relay\":"
				    "{\"ice-servers\":[{\"credential\":\"SECRET-FIXTURE-turn\"}]}},"
				    "\"port\":8317}",
				    0, NULL);
	json_t *values;
	char *text;

	(void)state;
	assert_non_null(config);
	values = secret_values_of(config);
	text = json_dumps(values, JSON_COMPACT);
	assert_string_equal(text, "[\"SECRET-FIXTURE-turn\",\"SECRET-FIXTURE-plugin\"]");
	free(text);
	json_decref(values);
	json_decref(config);
}

/* --- styles ---------------------------------------------------------------- */

static void test_block_style(void **state)
{
	(void)state;
	check_mask("# CLIProxyAPI config\n"
		   "host: \"\"\n"
		   "port: 8317\n"
		   "\n"
		   "remote-management:\n"
		   "  allow-remote: false\n"
		   "  secret-key: \"SECRET-FIXTURE-mgmt-9d2b\"   # the management key\n"
		   "  disable-control-panel: false\n"
		   "\n"
		   "api-keys:\n"
		   "  - \"SECRET-FIXTURE-apikey-1-7f3a\"\n"
		   "  - 'SECRET-FIXTURE-apikey-2-c81e'\n"
		   "  - SECRET-FIXTURE-apikey-3-plain\n"
		   "proxy-url: socks5://user:SECRET-FIXTURE-pw@proxy:1080\n"
		   "debug: false\n",
		   "# CLIProxyAPI config\n"
		   "host: \"\"\n"
		   "port: 8317\n"
		   "\n"
		   "remote-management:\n"
		   "  allow-remote: false\n"
		   "  secret-key: ***   # the management key\n"
		   "  disable-control-panel: false\n"
		   "\n"
		   "api-keys:\n"
		   "  - ***\n"
		   "  - ***\n"
		   "  - ***\n"
		   "proxy-url: ***\n"
		   "debug: false\n");
}

static void test_flow_style(void **state)
{
	(void)state;
	check_mask("api-keys: [\"SECRET-FIXTURE-a\", 'SECRET-FIXTURE-b', SECRET-FIXTURE-c]\n"
		   "remote-management: {allow-remote: true, secret-key: SECRET-FIXTURE-d}\n"
		   "ports: [8317, 8085]\n",
		   "api-keys: [***, ***, ***]\n"
		   "remote-management: {allow-remote: true, secret-key: ***}\n"
		   "ports: [8317, 8085]\n");
	check_mask("{api-key: SECRET-FIXTURE-x, base-url: \"https://x\"}",
		   "{api-key: ***, base-url: \"https://x\"}");
}

static void test_provider_lists(void **state)
{
	(void)state;
	check_mask("gemini-api-key:\n"
		   "  - api-key: \"SECRET-FIXTURE-gemini-1\"\n"
		   "  - api-key: SECRET-FIXTURE-gemini-2\n"
		   "    base-url: \"https://generativelanguage.googleapis.com\"\n"
		   "    headers:\n"
		   "      X-Custom: SECRET-FIXTURE-header\n"
		   "      Authorization: \"Bearer SECRET-FIXTURE-bearer\"\n"
		   "claude-api-key:\n"
		   "  - api-key: \"SECRET-FIXTURE-claude\"\n"
		   "    models:\n"
		   "      - name: \"claude-sonnet-4-5\"\n"
		   "        alias: \"sonnet\"\n",
		   "gemini-api-key:\n"
		   "  - api-key: ***\n"
		   "  - api-key: ***\n"
		   "    base-url: \"https://generativelanguage.googleapis.com\"\n"
		   "    headers:\n"
		   "      X-Custom: ***\n"
		   "      Authorization: ***\n"
		   "claude-api-key:\n"
		   "  - api-key: ***\n"
		   "    models:\n"
		   "      - name: \"claude-sonnet-4-5\"\n"
		   "        alias: \"sonnet\"\n");
}

static void test_openai_compatibility(void **state)
{
	(void)state;
	check_mask("openai-compatibility:\n"
		   "  - name: \"openrouter\"\n"
		   "    base-url: \"https://openrouter.ai/api/v1\"\n"
		   "    api-key-entries:\n"
		   "      - api-key: \"SECRET-FIXTURE-or-1\"\n"
		   "        proxy-url: \"socks5://SECRET-FIXTURE-proxy\"\n"
		   "      - api-key: SECRET-FIXTURE-or-2\n"
		   "    models:\n"
		   "      - name: \"moonshotai/kimi-k2:free\"\n"
		   "        alias: \"kimi-k2\"\n",
		   "openai-compatibility:\n"
		   "  - name: \"openrouter\"\n"
		   "    base-url: \"https://openrouter.ai/api/v1\"\n"
		   "    api-key-entries:\n"
		   "      - api-key: ***\n"
		   "        proxy-url: ***\n"
		   "      - api-key: ***\n"
		   "    models:\n"
		   "      - name: \"moonshotai/kimi-k2:free\"\n"
		   "        alias: \"kimi-k2\"\n");
}

static void test_legacy_and_variants(void **state)
{
	(void)state;
	check_mask("ampcode:\n"
		   "  upstream-url: \"https://ampcode.com\"\n"
		   "  upstream-api-key: SECRET-FIXTURE-amp\n"
		   "amp-upstream-api-key: SECRET-FIXTURE-amp-legacy\n"
		   "generative-language-api-key:\n"
		   "  - SECRET-FIXTURE-glang\n"
		   "auth:\n"
		   "  providers:\n"
		   "    - name: x\n"
		   "      api-keys: [SECRET-FIXTURE-prov]\n"
		   "store:\n"
		   "  management-password: SECRET-FIXTURE-pw\n"
		   "  git-token: SECRET-FIXTURE-tok\n"
		   "  Access_Token: SECRET-FIXTURE-at\n"
		   "  max-tokens: 4096\n",
		   "ampcode:\n"
		   "  upstream-url: \"https://ampcode.com\"\n"
		   "  upstream-api-key: ***\n"
		   "amp-upstream-api-key: ***\n"
		   "generative-language-api-key:\n"
		   "  - ***\n"
		   "auth:\n"
		   "  providers:\n"
		   "    - name: x\n"
		   "      api-keys: [***]\n"
		   "store:\n"
		   "  management-password: ***\n"
		   "  git-token: ***\n"
		   "  Access_Token: ***\n"
		   "  max-tokens: 4096\n");
	assert_true(secret_mask_key_is_secret("api-key"));
	assert_true(secret_mask_key_is_secret("objectstore-secret-key"));
	assert_false(secret_mask_key_is_secret("base-url"));
	assert_false(secret_mask_key_is_secret("max-tokens"));
	assert_false(secret_mask_key_is_secret(NULL));
}

/* --- scalars that span lines ---------------------------------------------- */

static void test_multiline_scalars(void **state)
{
	(void)state;
	/* Literal and folded block scalars: the line breaks after them stay, so
	 * the next key keeps its place; a header comment stays. */
	check_mask("api-key: |\n"
		   "  SECRET-FIXTURE-line-1\n"
		   "  SECRET-FIXTURE-line-2\n"
		   "port: 8317\n"
		   "secret-key: >-  # folded\n"
		   "    SECRET-FIXTURE-folded-1\n"
		   "    SECRET-FIXTURE-folded-2\n"
		   "\n"
		   "\n"
		   "debug: true\n",
		   "api-key: ***\n"
		   "port: 8317\n"
		   "secret-key: ***  # folded\n"
		   "\n"
		   "\n"
		   "debug: true\n");
	/* Plain and quoted scalars that continue on the next lines. */
	check_mask("proxy-url: SECRET-FIXTURE-plain-1\n"
		   "  SECRET-FIXTURE-plain-2\n"
		   "api-key: \"SECRET-FIXTURE-dq-1\n"
		   "  SECRET-FIXTURE-dq-2\"\n"
		   "name: two\n"
		   "  lines\n",
		   "proxy-url: ***\n"
		   "api-key: ***\n"
		   "name: two\n"
		   "  lines\n");
	/* A block scalar at the end of a file without a final newline. */
	check_mask("api-key: |\n  SECRET-FIXTURE-eof", "api-key: ***");
	check_mask("api-keys:\n  - |\n    SECRET-FIXTURE-item\n  - x\n", "api-keys:\n  - ***\n  - ***\n");
}

/* --- anchors and aliases --------------------------------------------------- */

static void test_anchors(void **state)
{
	(void)state;
	/* An anchor on a secret value stays, so aliases still name it. */
	check_mask("api-key: &k SECRET-FIXTURE-anchored\n"
		   "other:\n"
		   "  api-key: *k\n",
		   "api-key: &k ***\n"
		   "other:\n"
		   "  api-key: *k\n");
	/* A secret defined under a harmless key and used under a secret one is
	 * masked where it is defined. */
	check_mask("defaults: &d SECRET-FIXTURE-under-harmless-key\n"
		   "api-key: *d\n",
		   "defaults: &d ***\n"
		   "api-key: *d\n");
	check_mask("common: &c\n"
		   "  a: SECRET-FIXTURE-in-anchored-map\n"
		   "  b: [SECRET-FIXTURE-in-anchored-seq]\n"
		   "headers: *c\n",
		   "common: &c\n"
		   "  a: ***\n"
		   "  b: [***]\n"
		   "headers: *c\n");
	/* Aliases inside an anchored node that becomes secret: two rounds. */
	check_mask("x: &x SECRET-FIXTURE-deep\n"
		   "y: &y [*x, plain]\n"
		   "api-keys: *y\n",
		   "x: &x ***\n"
		   "y: &y [*x, ***]\n"
		   "api-keys: *y\n");
	/* A merge key brings a secret key along: masked at its definition. */
	check_mask("base: &b {api-key: SECRET-FIXTURE-merged, base-url: u}\n"
		   "claude-api-key:\n"
		   "  - <<: *b\n"
		   "    name: n\n",
		   "base: &b {api-key: ***, base-url: u}\n"
		   "claude-api-key:\n"
		   "  - <<: *b\n"
		   "    name: n\n");
	/* A key given by an alias still counts as a secret key. */
	check_mask("k: &name api-key\n"
		   "m:\n"
		   "  *name : SECRET-FIXTURE-aliased-key\n",
		   "k: &name api-key\n"
		   "m:\n"
		   "  *name : ***\n");
	/* A tag stays too. */
	check_mask("api-key: !!str SECRET-FIXTURE-tagged\n", "api-key: !!str ***\n");
}

/* --- what stays ------------------------------------------------------------ */

static void test_non_secrets_untouched(void **state)
{
	(void)state;
	check_unchanged("");
	check_unchanged("# only a comment\n");
	check_unchanged("host: \"127.0.0.1\"   # loopback only\r\n"
			"port: 8317\r\n"
			"tls: {enable: false, cert: '', key: ''}\r\n"
			"routing:\n"
			"    strategy: round-robin\n"
			"\n"
			"# 注释: 中文 comment, and a value below\n"
			"auth-dir: \"~/.cli-proxy-api/中文\"\n"
			"request-retry: 3\n"
			"models: [a, 'b', \"c\"]\n"
			"empty:\n"
			"...\n");
	/* Empty secret values hide nothing and stay as written. */
	check_unchanged("api-keys: []\napi-key:\nsecret-key: ~\nheaders: {}\n");
	check_mask("secret-key: \"\"\n", "secret-key: ***\n");
}

static void test_utf8_positions(void **state)
{
	(void)state;
	/* libyaml counts characters, not bytes: multi-byte text before a secret
	 * must not shift what is replaced.  A BOM and CR LF too. */
	check_mask("\xef\xbb\xbf# 配置 — ünïcödé\r\n"
		   "name: \"代理服务器\"\r\n"
		   "api-keys:\r\n"
		   "  - \"SECRET-FIXTURE-密钥-1\"\r\n"
		   "  - SECRET-FIXTURE-2\r\n"
		   "note: \"末尾\"\r\n",
		   "\xef\xbb\xbf# 配置 — ünïcödé\r\n"
		   "name: \"代理服务器\"\r\n"
		   "api-keys:\r\n"
		   "  - ***\r\n"
		   "  - ***\r\n"
		   "note: \"末尾\"\r\n");
}

static void test_several_documents(void **state)
{
	(void)state;
	check_mask("api-key: SECRET-FIXTURE-doc1\n---\napi-key: SECRET-FIXTURE-doc2\nport: 1\n",
		   "api-key: ***\n---\napi-key: ***\nport: 1\n");
}

/* --- failure ---------------------------------------------------------------- */

static void test_parse_error_writes_nothing(void **state)
{
	const char *bad[] = {
		"api-keys:\n  - \"SECRET-FIXTURE-unterminated\n",
		"api-key: SECRET-FIXTURE-x\n  bad: [indent\n",
		"a: b\n c: d\n  - SECRET-FIXTURE-y\n",
		"api-key: *undefined-but-fine\n\t- SECRET-FIXTURE-tab\n",
		"api-key: \"SECRET-FIXTURE-\xff\"\n",
		NULL,
	};
	(void)state;

	for (size_t i = 0; bad[i]; i++) {
		struct buf out = BUF_INIT;
		struct cpactl_error err = CPACTL_ERROR_INIT;

		buf_append_str(&out, "kept");
		assert_int_equal(secret_mask_yaml(bad[i], strlen(bad[i]), &out, &err), -1);
		assert_int_equal(err.kind, ERR_PARSE);
		assert_non_null(strstr(err.message, "line "));
		assert_non_null(strstr(err.message, "column "));
		assert_null(strstr(err.message, "SECRET-FIXTURE-"));
		assert_string_equal(buf_str(&out), "kept");
		buf_free(&out);
	}
}

static void test_appends(void **state)
{
	struct buf out = BUF_INIT;
	struct cpactl_error err = CPACTL_ERROR_INIT;
	const char *in = "api-key: SECRET-FIXTURE-z\n";
	(void)state;

	buf_append_str(&out, "before\n");
	assert_int_equal(secret_mask_yaml(in, strlen(in), &out, &err), 0);
	assert_string_equal(buf_str(&out), "before\napi-key: ***\n");
	buf_free(&out);
	/* Bytes after `len` are not read. */
	assert_int_equal(secret_mask_yaml("port: 1\napi-key: SECRET-FIXTURE-cut", 8, &out, &err), 0);
	assert_string_equal(buf_str(&out), "port: 1\n");
	buf_free(&out);
}

/* The auth files' credentials, for masking quoted log lines: nested ones
 * too; names, types and dates are not; links, FIFOs and non-JSON files are
 * not read. */
static void test_auth_secret_values(void **state)
{
	char dir[] = "/tmp/test_authsecrets.XXXXXX", path[256], *text;
	FILE *f;
	json_t *got;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/claude-a@example.com.json", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("{\"type\":\"claude\",\"email\":\"a@example.com\",\"access_token\":\"ACCESS-0123456789\","
	      "\"expired\":\"2026-12-31T00:00:00Z\",\"token\":{\"refresh\":\"REFRESH-0123456789\",\"n\":1},"
	      "\"api_key\":\"short\"}", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/notes.txt", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("{\"refresh_token\":\"NOT-JSON-NAMED-0123\"}", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/fifo.json", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	snprintf(path, sizeof(path), "%s/link.json", dir);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	got = auth_secret_values(dir);
	text = json_dumps(got, JSON_COMPACT);
	assert_string_equal(text, "[\"ACCESS-0123456789\",\"REFRESH-0123456789\"]");
	free(text);
	json_decref(got);
	got = auth_secret_values(NULL);
	assert_int_equal(json_array_size(got), 0);
	json_decref(got);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auth_secret_values),
		cmocka_unit_test(test_block_style),
		cmocka_unit_test(test_flow_style),
		cmocka_unit_test(test_provider_lists),
		cmocka_unit_test(test_openai_compatibility),
		cmocka_unit_test(test_legacy_and_variants),
		cmocka_unit_test(test_multiline_scalars),
		cmocka_unit_test(test_anchors),
		cmocka_unit_test(test_non_secrets_untouched),
		cmocka_unit_test(test_utf8_positions),
		cmocka_unit_test(test_several_documents),
		cmocka_unit_test(test_parse_error_writes_nothing),
		cmocka_unit_test(test_appends),
		cmocka_unit_test(test_commented_secrets),
		cmocka_unit_test(test_plugin_configs_and_turn),
		cmocka_unit_test(test_secret_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
