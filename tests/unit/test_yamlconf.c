/*
 * test_yamlconf.c - CPA's config.yaml into a jansson tree.
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
#include <time.h>

#include "../../lib/buf.h"
#include "../../lib/error.h"
#include "../../lib/secretmask.h"
#include "../../lib/yamlconf.h"

static json_t *parse_ok(const char *text)
{
	struct cpactl_error err = CPACTL_ERROR_INIT;
	json_t *doc = NULL;

	if (yaml_parse(text, strlen(text), "config.yaml", &doc, &err) != 0)
		fail_msg("yaml_parse failed: %s", err.message);
	assert_non_null(doc);
	assert_int_equal(err.kind, ERR_NONE);
	return doc;
}

static void parse_fails(const char *text, struct cpactl_error *err)
{
	json_t *doc = (json_t *)1;

	error_clear(err);
	assert_int_equal(yaml_parse(text, strlen(text), "config.yaml", &doc, err), -1);
	assert_null(doc);
	assert_int_not_equal(err->kind, ERR_NONE);
}

static const char realistic[] =
	"# CLIProxyAPI configuration\n"
	"host: \"\"\n"
	"port: 8317\n"
	"\n"
	"tls:\n"
	"  enable: false\n"
	"  cert: \"\"\n"
	"  key: \"\"\n"
	"\n"
	"remote-management:\n"
	"  # Whether to allow remote (non-localhost) management access.\n"
	"  allow-remote: true\n"
	"  secret-key: \"$2a$10$Q9fixturehash\"\n"
	"  disable-control-panel: false\n"
	"\n"
	"auth-dir: \"~/.cli-proxy-api\"\n"
	"\n"
	"api-keys:\n"
	"  - \"sk-client-one\"\n"
	"  - \"sk-client-two\"\n"
	"  - sk-client-three\n"
	"\n"
	"debug: false\n"
	"logging-to-file: false\n"
	"usage-statistics-enabled: false\n"
	"proxy-url: \"\"\n"
	"request-retry: 3\n"
	"quota-exceeded:\n"
	"   switch-project: true\n"
	"   switch-preview-model: true\n"
	"ws-auth: false\n"
	"\n"
	"gemini-api-key:\n"
	"  - api-key: \"AIzaSy-fixture-1\"\n"
	"    base-url: \"https://generativelanguage.googleapis.com\"\n"
	"    headers:\n"
	"      X-Custom-Header: \"custom-value\"\n"
	"    proxy-url: \"socks5://proxy.example.com:1080\"\n"
	"  - api-key: \"AIzaSy-fixture-2\"\n"
	"\n"
	"claude-api-key:\n"
	"  - api-key: \"sk-ant-fixture\"\n"
	"    base-url: \"https://www.example.com\"\n"
	"    models:\n"
	"      - name: \"claude-3-5-sonnet-20241022\"\n"
	"        alias: \"claude-sonnet-latest\"\n"
	"\n"
	"openai-compatibility:\n"
	"  - name: \"openrouter\"\n"
	"    base-url: \"https://openrouter.ai/api/v1\"\n"
	"    api-key-entries:\n"
	"      - api-key: \"sk-or-v1-fixture\"\n"
	"        proxy-url: \"socks5://proxy.example.com:1080\"\n"
	"      - api-key: \"sk-or-v1-fixture-2\"\n"
	"    models: [{name: \"moonshotai/kimi-k2:free\", alias: \"kimi-k2\"}]\n";

static void test_realistic_config(void **state)
{
	json_t *doc = parse_ok(realistic), *v, *rm, *entry;
	(void)state;

	assert_true(json_is_object(doc));
	assert_string_equal(json_string_value(json_object_get(doc, "host")), "");
	assert_int_equal(json_integer_value(json_object_get(doc, "port")), 8317);
	assert_true(json_is_false(json_object_get(json_object_get(doc, "tls"), "enable")));

	rm = json_object_get(doc, "remote-management");
	assert_true(json_is_object(rm));
	assert_true(json_is_true(json_object_get(rm, "allow-remote")));
	assert_string_equal(json_string_value(json_object_get(rm, "secret-key")), "$2a$10$Q9fixturehash");

	assert_string_equal(json_string_value(json_object_get(doc, "auth-dir")), "~/.cli-proxy-api");
	v = json_object_get(doc, "api-keys");
	assert_true(json_is_array(v));
	assert_int_equal(json_array_size(v), 3);
	assert_string_equal(json_string_value(json_array_get(v, 0)), "sk-client-one");
	assert_string_equal(json_string_value(json_array_get(v, 2)), "sk-client-three");
	assert_int_equal(json_integer_value(json_object_get(doc, "request-retry")), 3);
	assert_true(json_is_true(json_object_get(json_object_get(doc, "quota-exceeded"), "switch-project")));

	v = json_object_get(doc, "gemini-api-key");
	assert_int_equal(json_array_size(v), 2);
	entry = json_array_get(v, 0);
	assert_string_equal(json_string_value(json_object_get(entry, "api-key")), "AIzaSy-fixture-1");
	assert_string_equal(json_string_value(json_object_get(json_object_get(entry, "headers"),
							      "X-Custom-Header")),
			    "custom-value");

	v = json_object_get(doc, "claude-api-key");
	entry = json_array_get(json_object_get(json_array_get(v, 0), "models"), 0);
	assert_string_equal(json_string_value(json_object_get(entry, "alias")), "claude-sonnet-latest");

	v = json_array_get(json_object_get(doc, "openai-compatibility"), 0);
	assert_string_equal(json_string_value(json_object_get(v, "name")), "openrouter");
	assert_int_equal(json_array_size(json_object_get(v, "api-key-entries")), 2);
	entry = json_array_get(json_object_get(v, "models"), 0);
	assert_string_equal(json_string_value(json_object_get(entry, "name")), "moonshotai/kimi-k2:free");
	json_decref(doc);
}

static void test_scalar_types(void **state)
{
	json_t *doc = parse_ok("t1: true\nt2: True\nt3: TRUE\n"
			       "f1: false\nf2: False\n"
			       "n1: null\nn2: ~\nn3:\nn4: NULL\n"
			       "i1: 42\ni2: -7\ni3: +3\ni4: 0\n"
			       "r1: 0.5\nr2: -1.25\n"
			       "q1: \"123\"\nq2: '8317'\nq3: \"true\"\nq4: 'null'\nq5: \"\"\n"
			       "yes1: yes\nno1: no\non1: on\n"
			       "ver: 1.2.3\nhex: 0x10\nbig: 99999999999999999999\n"
			       "minus: -x\nplain: hello world\n"
			       "8317: numeric key\ntrue: bool key\n");
	(void)state;

	assert_true(json_is_true(json_object_get(doc, "t1")));
	assert_true(json_is_true(json_object_get(doc, "t2")));
	assert_true(json_is_true(json_object_get(doc, "t3")));
	assert_true(json_is_false(json_object_get(doc, "f1")));
	assert_true(json_is_false(json_object_get(doc, "f2")));
	assert_true(json_is_null(json_object_get(doc, "n1")));
	assert_true(json_is_null(json_object_get(doc, "n2")));
	assert_true(json_is_null(json_object_get(doc, "n3")));
	assert_true(json_is_null(json_object_get(doc, "n4")));
	assert_true(json_is_integer(json_object_get(doc, "i1")));
	assert_int_equal(json_integer_value(json_object_get(doc, "i1")), 42);
	assert_int_equal(json_integer_value(json_object_get(doc, "i2")), -7);
	assert_int_equal(json_integer_value(json_object_get(doc, "i3")), 3);
	assert_true(json_is_integer(json_object_get(doc, "i4")));
	assert_true(json_is_real(json_object_get(doc, "r1")));
	assert_true(json_real_value(json_object_get(doc, "r1")) == 0.5);
	assert_true(json_real_value(json_object_get(doc, "r2")) == -1.25);
	/* Quoted stays a string. */
	assert_string_equal(json_string_value(json_object_get(doc, "q1")), "123");
	assert_string_equal(json_string_value(json_object_get(doc, "q2")), "8317");
	assert_string_equal(json_string_value(json_object_get(doc, "q3")), "true");
	assert_string_equal(json_string_value(json_object_get(doc, "q4")), "null");
	assert_string_equal(json_string_value(json_object_get(doc, "q5")), "");
	/* YAML 1.2, as Go's yaml.v3: yes/no/on are strings. */
	assert_string_equal(json_string_value(json_object_get(doc, "yes1")), "yes");
	assert_string_equal(json_string_value(json_object_get(doc, "no1")), "no");
	assert_string_equal(json_string_value(json_object_get(doc, "on1")), "on");
	assert_string_equal(json_string_value(json_object_get(doc, "ver")), "1.2.3");
	assert_string_equal(json_string_value(json_object_get(doc, "hex")), "0x10");
	assert_string_equal(json_string_value(json_object_get(doc, "big")), "99999999999999999999");
	assert_string_equal(json_string_value(json_object_get(doc, "minus")), "-x");
	assert_string_equal(json_string_value(json_object_get(doc, "plain")), "hello world");
	/* Non-string keys are kept by their text. */
	assert_string_equal(json_string_value(json_object_get(doc, "8317")), "numeric key");
	assert_string_equal(json_string_value(json_object_get(doc, "true")), "bool key");
	json_decref(doc);
}

static void test_block_scalars_and_flow(void **state)
{
	json_t *doc = parse_ok("lit: |\n  line one\n  line two\nfold: >\n  a\n  b\n"
			       "flow: {a: 1, b: [x, \"y\", 2.5]}\n");
	json_t *flow;
	(void)state;

	assert_string_equal(json_string_value(json_object_get(doc, "lit")), "line one\nline two\n");
	assert_string_equal(json_string_value(json_object_get(doc, "fold")), "a b\n");
	flow = json_object_get(doc, "flow");
	assert_int_equal(json_integer_value(json_object_get(flow, "a")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(flow, "b"), 1)), "y");
	json_decref(doc);
}

static void test_anchors_aliases_merge(void **state)
{
	json_t *doc = parse_ok("defaults: &defaults\n"
			       "  base-url: https://api.example.com\n"
			       "  timeout: 30\n"
			       "  proxy-url: \"\"\n"
			       "key: &k shared-value\n"
			       "list: &l [1, 2]\n"
			       "first:\n"
			       "  <<: *defaults\n"
			       "  timeout: 60\n"
			       "second:\n"
			       "  timeout: 90\n"
			       "  <<: *defaults\n"
			       "copies: [*k, *l, *defaults]\n");
	json_t *first, *second, *defaults, *copies;
	(void)state;

	defaults = json_object_get(doc, "defaults");
	first = json_object_get(doc, "first");
	second = json_object_get(doc, "second");
	copies = json_object_get(doc, "copies");
	/* Merge: explicit keys win whatever their position. */
	assert_string_equal(json_string_value(json_object_get(first, "base-url")), "https://api.example.com");
	assert_int_equal(json_integer_value(json_object_get(first, "timeout")), 60);
	assert_int_equal(json_integer_value(json_object_get(second, "timeout")), 90);
	assert_string_equal(json_string_value(json_object_get(second, "proxy-url")), "");
	assert_null(json_object_get(first, "<<"));
	assert_null(json_object_get(second, "<<"));
	/* The base itself is untouched. */
	assert_int_equal(json_integer_value(json_object_get(defaults, "timeout")), 30);
	assert_int_equal(json_object_size(defaults), 3);
	/* Aliases. */
	assert_string_equal(json_string_value(json_array_get(copies, 0)), "shared-value");
	assert_int_equal(json_array_size(json_array_get(copies, 1)), 2);
	assert_true(json_equal(json_array_get(copies, 2), defaults));
	json_decref(doc);
}

static void test_unknown_alias(void **state)
{
	struct cpactl_error err;
	(void)state;

	parse_fails("a: 1\nb: *nowhere\n", &err);
	assert_int_equal(err.kind, ERR_PARSE);
	assert_non_null(strstr(err.message, "line 2"));
	assert_non_null(strstr(err.message, "alias"));
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "Billion laughs" documents of `levels` levels of `width` aliases each. */
static void laughs(struct buf *y, int levels, int width)
{
	buf_append_str(y, "l0: &l0 [");
	for (int i = 0; i < width; i++)
		buf_append_str(y, i ? ",\"lol\"" : "\"lol\"");
	buf_append_str(y, "]\n");
	for (int level = 1; level < levels; level++) {
		buf_appendf(y, "l%d: &l%d [", level, level);
		for (int i = 0; i < width; i++)
			buf_appendf(y, "%s*l%d", i ? "," : "", level - 1);
		buf_append_str(y, "]\n");
	}
}

static void test_billion_laughs(void **state)
{
	struct buf y = BUF_INIT;
	struct cpactl_error err = CPACTL_ERROR_INIT;
	json_t *doc = NULL;
	double t0;
	(void)state;

	/* 9 levels of 9: fully expanded that is 9^9 = 387 million strings.  The
	 * aliases are shared, so memory would stay small, but whatever walks
	 * the tree afterwards (secrets, summary, checks) would not finish:
	 * aliases count at their expanded size, and this is refused. */
	laughs(&y, 9, 9);
	t0 = now_seconds();
	assert_int_equal(yaml_parse(y.data, y.len, "bomb.yaml", &doc, &err), -1);
	assert_true(now_seconds() - t0 < 5.0);
	assert_int_equal(err.kind, ERR_PARSE);
	assert_non_null(strstr(err.message, "too large"));
	assert_null(doc);
	buf_free(&y);
}

/* Caught by tests/fuzz/fuzz_config.c (a timeout) on a hand-made seed: 12
 * levels of 10 aliases (594 bytes) parsed, as an alias cost one node, and
 * then secret_values_of() walked 10^12 strings.  Now the parse is refused. */
static void test_alias_expansion_bounds_walkers(void **state)
{
	struct buf y = BUF_INIT;
	struct cpactl_error err = CPACTL_ERROR_INIT;
	json_t *doc = NULL, *secrets;
	double t0;
	(void)state;

	laughs(&y, 12, 10);
	t0 = now_seconds();
	assert_int_equal(yaml_parse(y.data, y.len, "bomb.yaml", &doc, &err), -1);
	assert_non_null(strstr(err.message, "too large"));
	assert_true(now_seconds() - t0 < 5.0);

	/* Below the cap (5 levels of 9: 66430 nodes expanded) aliases still
	 * parse, shared rather than copied, and a walk over them is quick. */
	buf_reset(&y);
	laughs(&y, 5, 9);
	error_clear(&err);
	assert_int_equal(yaml_parse(y.data, y.len, "ok.yaml", &doc, &err), 0);
	assert_int_equal(json_array_size(json_object_get(doc, "l4")), 9);
	assert_ptr_equal(json_array_get(json_object_get(doc, "l4"), 0), json_object_get(doc, "l3"));
	assert_ptr_equal(json_array_get(json_object_get(doc, "l1"), 8), json_object_get(doc, "l0"));
	t0 = now_seconds();
	secrets = secret_values_of(doc);
	assert_non_null(secrets);
	assert_true(now_seconds() - t0 < 5.0);
	json_decref(secrets);
	json_decref(doc);
	buf_free(&y);
}

static void test_node_cap(void **state)
{
	struct buf y = BUF_INIT;
	struct cpactl_error err = CPACTL_ERROR_INIT;
	json_t *doc = NULL;
	(void)state;

	/* Over a million plain nodes: refused, not built without end. */
	buf_append_str(&y, "a: [");
	for (int i = 0; i < 1000010; i++)
		buf_append(&y, "1,", 2);
	buf_append_str(&y, "1]\n");
	assert_int_equal(yaml_parse(y.data, y.len, "big.yaml", &doc, &err), -1);
	assert_null(doc);
	assert_int_equal(err.kind, ERR_PARSE);
	assert_non_null(strstr(err.message, "too large"));
	buf_free(&y);
}

static void test_too_deep(void **state)
{
	struct buf y = BUF_INIT;
	struct cpactl_error err = CPACTL_ERROR_INIT;
	json_t *doc = NULL;
	(void)state;

	for (int i = 0; i < 300; i++)
		buf_append_str(&y, "[");
	for (int i = 0; i < 300; i++)
		buf_append_str(&y, "]");
	assert_int_equal(yaml_parse(y.data, y.len, "deep.yaml", &doc, &err), -1);
	assert_null(doc);
	assert_int_equal(err.kind, ERR_PARSE);
	buf_free(&y);
}

static void test_invalid_yaml_position(void **state)
{
	struct cpactl_error err;
	(void)state;

	parse_fails("port: 8317\nhost: a\n  bad: indentation: here\n", &err);
	assert_int_equal(err.kind, ERR_PARSE);
	assert_non_null(strstr(err.message, "'config.yaml' line 3 column "));

	parse_fails("a: [1, 2\nb: 3\n", &err);
	assert_int_equal(err.kind, ERR_PARSE);
	assert_non_null(strstr(err.message, "line "));
	assert_non_null(strstr(err.message, " column "));

	parse_fails("key:\n\t- tab\n", &err);
	assert_int_equal(err.kind, ERR_PARSE);
	assert_non_null(strstr(err.message, "line 2 column 1"));
}

static void test_error_never_quotes_secret(void **state)
{
	static const char *const docs[] = {
		"port: 8317\napi-keys: [\"SECRET-FIXTURE-x\"\n",
		"api-keys: [\"SECRET-FIXTURE-x\", \n  remote: {\n",
		"remote-management:\n  secret-key: \"SECRET-FIXTURE-unterminated\n",
		"remote-management:\n  secret-key: 'SECRET-FIXTURE-single\n",
		"api-keys:\n  - SECRET-FIXTURE-plain: x: y\n",
		"api-keys:\n  - SECRET-FIXTURE-a\n - SECRET-FIXTURE-b\n",
		"secret-key: SECRET-FIXTURE-z\n\t\n  x: *SECRET-FIXTURE-alias\n",
		"a: *SECRET-FIXTURE-anchor\n",
		"a: &SECRET-FIXTURE-dup 1\nb: [SECRET-FIXTURE-in-flow}\n",
		"key: \"SECRET-FIXTURE-\\q-bad-escape\"\n",
	};
	(void)state;

	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		struct cpactl_error err;
		parse_fails(docs[i], &err);
		assert_int_equal(err.kind, ERR_PARSE);
		if (strstr(err.message, "SECRET-FIXTURE"))
			fail_msg("document %zu: message quotes the input: %s", i, err.message);
	}
}

static void test_empty_documents(void **state)
{
	static const char *const docs[] = { "", "\n", "# only a comment\n", "---\n", "---\n...\n", "~\n", "null\n" };
	(void)state;

	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		json_t *doc = parse_ok(docs[i]);
		assert_true(json_is_object(doc));
		assert_int_equal(json_object_size(doc), 0);
		json_decref(doc);
	}
}

static void test_first_document_only(void **state)
{
	json_t *doc = parse_ok("---\nport: 1\n---\nport: 2\n");
	(void)state;

	assert_int_equal(json_integer_value(json_object_get(doc, "port")), 1);
	json_decref(doc);
}

static void test_non_mapping_root(void **state)
{
	json_t *doc = parse_ok("- a\n- b\n");
	(void)state;

	assert_true(json_is_array(doc));
	assert_int_equal(json_array_size(doc), 2);
	json_decref(doc);
}

static void test_binary_length_respected(void **state)
{
	struct cpactl_error err = CPACTL_ERROR_INIT;
	json_t *doc = NULL;
	const char text[] = "a: 1\nb: 2\n";
	(void)state;

	/* Only the first 5 bytes are the document. */
	assert_int_equal(yaml_parse(text, 5, "x", &doc, &err), 0);
	assert_int_equal(json_object_size(doc), 1);
	json_decref(doc);
}

static void test_duplicate_key_last_wins(void **state)
{
	json_t *doc = parse_ok("port: 1\nport: 2\n");
	(void)state;

	assert_int_equal(json_integer_value(json_object_get(doc, "port")), 2);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_realistic_config),
		cmocka_unit_test(test_scalar_types),
		cmocka_unit_test(test_block_scalars_and_flow),
		cmocka_unit_test(test_anchors_aliases_merge),
		cmocka_unit_test(test_unknown_alias),
		cmocka_unit_test(test_billion_laughs),
		cmocka_unit_test(test_alias_expansion_bounds_walkers),
		cmocka_unit_test(test_node_cap),
		cmocka_unit_test(test_too_deep),
		cmocka_unit_test(test_invalid_yaml_position),
		cmocka_unit_test(test_error_never_quotes_secret),
		cmocka_unit_test(test_empty_documents),
		cmocka_unit_test(test_first_document_only),
		cmocka_unit_test(test_non_mapping_root),
		cmocka_unit_test(test_binary_length_respected),
		cmocka_unit_test(test_duplicate_key_last_wins),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
