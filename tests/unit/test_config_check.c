/*
 * test_config_check.c - every finding of config_check, tripped and not, and
 * never a value of the file in a finding's text.
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

#include "../../lib/config_check.h"
#include "../../lib/error.h"
#include "../../lib/finding.h"
#include "../../lib/yamlconf.h"

/* Every value below that could leak holds this marker. */
#define VALUE_MARK "SECRET-VAL"

static const char clean[] =
	"# a CPA config with nothing to say about\n"
	"host: \"\"\n"
	"port: 8317\n"
	"remote-management:\n"
	"  allow-remote: false\n"
	"  secret-key: \"$2a$10$SECRET-VAL-hash\"\n"
	"  disable-control-panel: false\n"
	"auth-dir: \"~/.cli-proxy-api\"\n"
	"api-keys:\n"
	"  - \"SECRET-VAL-key-1\"\n"
	"  - 'SECRET-VAL-key-2'\n"
	"debug: false\n"
	"request-log: false\n"
	"pprof:\n"
	"  enable: false\n"
	"  addr: \"127.0.0.1:8316\"\n"
	"request-retry: 3\n"
	"routing:\n"
	"  strategy: round-robin\n"
	"gemini-api-key:\n"
	"  - api-key: \"SECRET-VAL-gemini\"\n"
	"    base-url: \"https://generativelanguage.googleapis.com\"\n"
	"codex-api-key:\n"
	"  - api-key: \"SECRET-VAL-codex\"\n"
	"    base-url: \"https://api.openai.com/v1\"\n";

static void assert_no_value(const struct finding_list *l)
{
	for (size_t i = 0; i < l->count; i++) {
		const struct finding *f = &l->items[i];
		if (strstr(f->what, VALUE_MARK) || strstr(f->fix, VALUE_MARK) ||
		    (f->subject && strstr(f->subject, VALUE_MARK)))
			fail_msg("finding '%s' quotes a value: %s / %s", f->code, f->what, f->fix);
	}
}

static void check(const char *text, const char *version, struct finding_list *out)
{
	struct config_check_input in = { text, strlen(text), "config.yaml", version };
	struct cpactl_error err = CPACTL_ERROR_INIT;

	finding_list_release(out);
	assert_int_equal(config_check(&in, out, &err), 0);
	assert_int_equal(err.kind, ERR_NONE);
	assert_no_value(out);
}

static const struct finding *find(const struct finding_list *l, const char *code, const char *subject)
{
	for (size_t i = 0; i < l->count; i++)
		if (strcmp(l->items[i].code, code) == 0 &&
		    (!subject || (l->items[i].subject && strcmp(l->items[i].subject, subject) == 0)))
			return &l->items[i];
	return NULL;
}

static void print_all(const struct finding_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		print_message("  %s %s %s:%d %s\n", finding_severity_name(l->items[i].severity), l->items[i].code,
			      l->items[i].subject ? l->items[i].subject : "-", l->items[i].line, l->items[i].what);
}

static const struct finding *expect(const struct finding_list *l, const char *code, const char *subject,
				    enum finding_severity severity)
{
	const struct finding *f = find(l, code, subject);
	if (!f) {
		print_all(l);
		fail_msg("no finding '%s' about '%s'", code, subject ? subject : "-");
	}
	assert_int_equal(f->severity, severity);
	return f;
}

static void expect_none(const struct finding_list *l)
{
	if (l->count) {
		print_all(l);
		fail_msg("%zu findings on a clean file", l->count);
	}
}

/* The clean file with `from` replaced by `to` (one occurrence). */
static char *edited(const char *from, const char *to)
{
	const char *at = strstr(clean, from);
	size_t a, b = strlen(to), c;
	char *s;

	assert_non_null(at);
	a = (size_t)(at - clean);
	c = strlen(at + strlen(from));
	s = malloc(a + b + c + 1);
	memcpy(s, clean, a);
	memcpy(s + a, to, b);
	memcpy(s + a + b, at + strlen(from), c + 1);
	return s;
}

static void check_edited(const char *from, const char *to, const char *version, struct finding_list *out)
{
	char *text = edited(from, to);
	check(text, version, out);
	free(text);
}

/* --- the tests ---------------------------------------------------------------- */

static void test_clean_file_has_no_finding(void **state)
{
	struct finding_list l = FINDING_LIST_INIT;
	(void)state;
	check(clean, NULL, &l);
	expect_none(&l);
	check(clean, "v7.2.60", &l);
	expect_none(&l);
	check(clean, "v6.0.0", &l);
	expect_none(&l);
	check(clean, "dev", &l);
	expect_none(&l);
	finding_list_release(&l);
}

static void test_yaml_syntax_with_line(void **state)
{
	struct finding_list l = FINDING_LIST_INIT;
	const struct finding *f;
	(void)state;
	check("port: 8317\napi-keys:\n  - \"SECRET-VAL-a\n", NULL, &l);
	f = expect(&l, "yaml-syntax", NULL, FINDING_ERROR);
	assert_true(f->line >= 3);
	assert_non_null(strstr(f->what, "line"));
	assert_int_equal(l.count, 1);
	check("a: [1, 2\n", NULL, &l);
	expect(&l, "yaml-syntax", NULL, FINDING_ERROR);
	finding_list_release(&l);
}

static void test_not_a_mapping(void **state)
{
	struct finding_list l = FINDING_LIST_INIT;
	(void)state;
	check("- SECRET-VAL-a\n- b\n", NULL, &l);
	expect(&l, "not-a-mapping", NULL, FINDING_ERROR);
	check(clean, NULL, &l);
	assert_null(find(&l, "not-a-mapping", NULL));
	finding_list_release(&l);
}

static void test_duplicate_key(void **state)
{
	struct finding_list l = FINDING_LIST_INIT;
	const struct finding *f;
	(void)state;
	check_edited("request-retry: 3\n", "request-retry: 3\nport: 9000\n", NULL, &l);
	f = expect(&l, "duplicate-key", "port", FINDING_ERROR);
	assert_int_equal(f->line, 18);
	assert_non_null(strstr(f->what, "line 3"));
	check_edited("  allow-remote: false\n", "  allow-remote: false\n  allow-remote: false\n", NULL, &l);
	expect(&l, "duplicate-key", "remote-management.allow-remote", FINDING_ERROR);
	finding_list_release(&l);
}

static void test_wrong_types(void **state)
{
	struct finding_list l = FINDING_LIST_INIT;
	const struct finding *f;
	(void)state;
	check_edited("port: 8317", "port: \"8317\"", NULL, &l);
	f = expect(&l, "wrong-type", "port", FINDING_ERROR);
	assert_int_equal(f->line, 3);
	check_edited("port: 8317", "port: 70000", NULL, &l);
	expect(&l, "wrong-type", "port", FINDING_ERROR);
	check_edited("debug: false", "debug: 3", NULL, &l);
	expect(&l, "wrong-type", "debug", FINDING_ERROR);
	/* yaml.v3 reads yes/no into a bool. */
	check_edited("debug: false", "debug: no", NULL, &l);
	expect_none(&l);
	check_edited("  allow-remote: false", "  allow-remote: maybe", NULL, &l);
	expect(&l, "wrong-type", "remote-management.allow-remote", FINDING_ERROR);
	check_edited("routing:\n  strategy: round-robin\n", "routing: fill-first\n", NULL, &l);
	expect(&l, "wrong-type", "routing", FINDING_ERROR);
	check_edited("gemini-api-key:\n", "gemini-api-key:\n  x: 1\nold-gemini:\n", NULL, &l);
	expect(&l, "wrong-type", "gemini-api-key", FINDING_ERROR);
	check_edited("  - 'SECRET-VAL-key-2'\n", "  - {a: SECRET-VAL-b}\n", NULL, &l);
	expect(&l, "wrong-type", "api-keys", FINDING_ERROR);
	/* null leaves Go's zero value: fine. */
	check_edited("request-retry: 3", "request-retry:", NULL, &l);
	expect_none(&l);
	finding_list_release(&l);
}

static void test_unknown_keys(void **state)
{
	struct finding_list l = FINDING_LIST_INIT;
	const struct finding *f;
	(void)state;
	check_edited("request-retry: 3\n", "request-retry: 3\napi-key:\n  - SECRET-VAL-x\n", NULL, &l);
	f = expect(&l, "unknown-key", "api-key", FINDING_WARNING);
	assert_int_equal(f->line, 18);
	assert_non_null(strstr(f->fix, "'api-keys'"));
	check_edited("  allow-remote: false", "  alow-remote: true", NULL, &l);
	f = expect(&l, "unknown-key", "remote-management.alow-remote", FINDING_WARNING);
	assert_non_null(strstr(f->fix, "'allow-remote'"));
	check_edited("request-retry: 3\n", "request-retry: 3\nfrobnicate-everything: true\n", NULL, &l);
	f = expect(&l, "unknown-key", "frobnicate-everything", FINDING_WARNING);
	assert_null(strstr(f->fix, "did you mean"));
	/* A key that does not look like a key name is not shown. */
	check_edited("request-retry: 3\n", "request-retry: 3\nSECRET-VAL-PastedToken: 1\n", NULL, &l);
	f = expect(&l, "unknown-key", NULL, FINDING_WARNING);
	assert_null(f->subject);
	/* Provider entries are open: their keys are not judged. */
	check_edited("    base-url:", "    some-future-field: 1\n    base-url:", NULL, &l);
	expect_none(&l);
	finding_list_release(&l);
}

static void test_api_keys_empty(void **state)
{
	struct finding_list l = FINDING_LIST_INIT;
	(void)state;
	check_edited("api-keys:\n  - \"SECRET-VAL-key-1\"\n  - 'SECRET-VAL-key-2'\n", "api-keys: []\n", NULL, &l);
	expect(&l, "api-keys-empty", "api-keys", FINDING_ERROR);
	check_edited("api-keys:\n  - \"SECRET-VAL-key-1\"\n  - 'SECRET-VAL-key-2'\n", "", NULL, &l);
	expect(&l, "api-keys-empty", NULL, FINDING_ERROR);
	check_edited("api-keys:\n  - \"SECRET-VAL-key-1\"\n  - 'SECRET-VAL-key-2'\n", "api-keys:\n  - \"\"\n", NULL,
		     &l);
	expect(&l, "api-keys-empty", "api-keys", FINDING_ERROR);
	finding_list_release(&l);
}

static const char legacy_providers[] =
	"port: 8317\n"
	"auth:\n"
	"  providers:\n"
	"    - name: default\n"
	"      type: api-key\n"
	"      api-keys:\n"
	"        - SECRET-VAL-legacy\n";

static void test_auth_providers_by_version(void **state)
{
	struct finding_list l = FINDING_LIST_INIT;
	const struct finding *f;
	(void)state;
	/* Before v6.8.9 they are the client keys: not open. */
	check(legacy_providers, "v6.0.0", &l);
	expect_none(&l);
	/* From v6.8.9 on they are ignored: the proxy is open. */
	check(legacy_providers, "v6.8.9", &l);
	f = expect(&l, "api-keys-empty", NULL, FINDING_ERROR);
	assert_non_null(strstr(f->what, "auth.providers"));
	f = expect(&l, "legacy-key-ignored", "auth", FINDING_WARNING);
	assert_int_equal(f->line, 2);
	check(legacy_providers, NULL, &l);
	expect(&l, "api-keys-empty", NULL, FINDING_ERROR);
	finding_list_release(&l);
}

static void test_template_keys(void **state)
{
	struct finding_list l = FINDING_LIST_INIT;
	const struct finding *f;
	(void)state;
	/* v7.2.51 on: the API server answers 403 (internal/api/server.go). */
	check_edited("  - 'SECRET-VAL-key-2'\n", "  - your-api-key-2\n", "v7.2.51", &l);
	f = expect(&l, "api-keys-template", "api-keys", FINDING_ERROR);
	assert_non_null(strstr(f->what, "403"));
	/* v7.1.46 to v7.2.50: a warning page instead of the API server. */
	check_edited("  - 'SECRET-VAL-key-2'\n", "  - your-api-key-2\n", "v7.2.50", &l);
	f = expect(&l, "api-keys-template", "api-keys", FINDING_ERROR);
	assert_non_null(strstr(f->what, "warning page"));
	assert_null(strstr(f->what, "403"));
	check_edited("  - 'SECRET-VAL-key-2'\n", "  - your-api-key-2\n", "v7.1.46", &l);
	f = expect(&l, "api-keys-template", "api-keys", FINDING_ERROR);
	assert_non_null(strstr(f->what, "warning page"));
	/* Before: keys everybody knows. */
	check_edited("  - 'SECRET-VAL-key-2'\n", "  - your-api-key-2\n", "v7.1.45", &l);
	f = expect(&l, "api-keys-template", "api-keys", FINDING_ERROR);
	assert_null(strstr(f->what, "403"));
	assert_null(strstr(f->what, "warning page"));
	assert_null(strstr(f->what, "your-api-key"));
	/* CPA trims the keys before it compares (safemode/example_api_keys.go). */
	check_edited("  - 'SECRET-VAL-key-2'\n", "  - \" your-api-key-1 \"\n", "v7.2.51", &l);
	expect(&l, "api-keys-template", "api-keys", FINDING_ERROR);
	/* A plain your-api-key is not one of the template keys CPA knows. */
	check_edited("  - 'SECRET-VAL-key-2'\n", "  - your-api-key\n", "v7.2.51", &l);
	assert_null(find(&l, "api-keys-template", NULL));
	finding_list_release(&l);
}

/* No port: CPA listens on a random one (internal/api/server.go). */
static void test_port_missing(void **state)
{
	struct finding_list l = FINDING_LIST_INIT;
	const struct finding *f;
	(void)state;
	check_edited("port: 8317\n", "", NULL, &l);
	f = expect(&l, "port-missing", NULL, FINDING_ERROR);
	assert_non_null(strstr(f->what, "random port"));
	check_edited("port: 8317\n", "port: 9000\n", NULL, &l);
	assert_null(find(&l, "port-missing", NULL));
	finding_list_release(&l);
}

/* Blank keys are dropped by CPA: a list of blanks is an open proxy. */
static void test_blank_keys_are_no_keys(void **state)
{
	struct finding_list l = FINDING_LIST_INIT;
	(void)state;
	check_edited("  - \"SECRET-VAL-key-1\"\n  - 'SECRET-VAL-key-2'\n", "  - \"  \"\n  - \"\\t\"\n", NULL, &l);
	expect(&l, "api-keys-empty", "api-keys", FINDING_ERROR);
	/* One real key beside a blank one: served with that key. */
	check_edited("  - 'SECRET-VAL-key-2'\n", "  - \"   \"\n", NULL, &l);
	assert_null(find(&l, "api-keys-empty", NULL));
	finding_list_release(&l);
}

static void test_remote_management(void **state)
{
	struct finding_list l = FINDING_LIST_INIT;
	(void)state;
	check_edited("  allow-remote: false", "  allow-remote: true", NULL, &l);
	expect(&l, "remote-management-allowed", "remote-management.allow-remote", FINDING_WARNING);
	assert_null(find(&l, "remote-management-without-secret", NULL));
	check_edited("  allow-remote: false\n  secret-key: \"$2a$10$SECRET-VAL-hash\"\n", "  allow-remote: yes\n",
		     NULL, &l);
	expect(&l, "remote-management-without-secret", "remote-management.allow-remote", FINDING_WARNING);
	assert_null(find(&l, "remote-management-allowed", NULL));
	finding_list_release(&l);
}

static void test_secret_key_plaintext(void **state)
{
	struct finding_list l = FINDING_LIST_INIT;
	const struct finding *f;
	(void)state;
	check_edited("\"$2a$10$SECRET-VAL-hash\"", "\"SECRET-VAL-plain\"", NULL, &l);
	f = expect(&l, "secret-key-plaintext", "remote-management.secret-key", FINDING_INFO);
	assert_int_equal(f->line, 6);
	assert_int_equal(finding_list_worst(&l), FINDING_INFO);
	finding_list_release(&l);
}

static const char amp_block[] =
	"request-retry: 3\n"
	"ampcode:\n"
	"  upstream-url: \"https://ampcode.com\"\n"
	"  upstream-api-key: \"SECRET-VAL-amp\"\n"
	"  restrict-management-to-localhost: false\n";

static void test_amp_upstream_key(void **state)
{
	struct finding_list l = FINDING_LIST_INIT;
	char *text;
	(void)state;
	check_edited("request-retry: 3\n", amp_block, "v7.1.0", &l);
	expect(&l, "amp-upstream-key-exposed", "ampcode.upstream-api-key", FINDING_WARNING);
	assert_null(find(&l, "key-removed", NULL));
	text = edited("request-retry: 3\n", amp_block);
	{
		char *fixed = strstr(text, "localhost: false");
		memcpy(fixed, "localhost: true ", 16);
	}
	check(text, "v7.1.0", &l);
	expect_none(&l);
	free(text);
	/* v7.2 reads no ampcode at all: it is removed, not exposed. */
	check_edited("request-retry: 3\n", amp_block, "v7.2.0", &l);
	assert_null(find(&l, "amp-upstream-key-exposed", NULL));
	expect(&l, "key-removed", "ampcode", FINDING_WARNING);
	finding_list_release(&l);
}

/* Each rule with configs from its release range (checked against the tags
 * of router-for-me/CLIProxyAPI, see cpa-facts.md). */
static void test_legacy_amp_keys(void **state)
{
	struct finding_list l = FINDING_LIST_INIT;
	const char *flat = "request-retry: 3\namp-upstream-url: \"https://ampcode.com\"\n";
	(void)state;
	check_edited("request-retry: 3\n", flat, "v6.0.0", &l);
	expect_none(&l);
	/* Moved and config.yaml rewritten only from v6.5.37 to v6.7.53. */
	check_edited("request-retry: 3\n", flat, "v6.7.53", &l);
	expect(&l, "legacy-key-migrated", "amp-upstream-url", FINDING_WARNING);
	/* v6.8.0 turned the startup migration off: read by nobody. */
	check_edited("request-retry: 3\n", flat, "v6.8.0", &l);
	expect(&l, "legacy-key-ignored", "amp-upstream-url", FINDING_WARNING);
	assert_null(find(&l, "legacy-key-migrated", NULL));
	check_edited("request-retry: 3\n", flat, "v7.1.0", &l);
	expect(&l, "legacy-key-ignored", "amp-upstream-url", FINDING_WARNING);
	check_edited("request-retry: 3\n", flat, "v7.2.60", &l);
	expect(&l, "legacy-key-ignored", "amp-upstream-url", FINDING_WARNING);
	assert_null(find(&l, "legacy-key-migrated", NULL));
	finding_list_release(&l);
}

static void test_legacy_gemini_and_compat_keys(void **state)
{
	struct finding_list l = FINDING_LIST_INIT;
	const char *gl = "request-retry: 3\ngenerative-language-api-key:\n  - \"SECRET-VAL-gl\"\n";
	const char *compat = "request-retry: 3\nopenai-compatibility:\n  - name: x\n    base-url: \"https://x\"\n"
			     "    api-keys:\n      - \"SECRET-VAL-compat\"\n";
	(void)state;
	check_edited("request-retry: 3\n", gl, "v6.7.0", &l);
	expect(&l, "legacy-key-migrated", "generative-language-api-key", FINDING_WARNING);
	check_edited("request-retry: 3\n", gl, "v6.8.0", &l);
	expect(&l, "legacy-key-ignored", "generative-language-api-key", FINDING_WARNING);
	check_edited("request-retry: 3\n", compat, "v6.7.53", &l);
	assert_null(find(&l, "legacy-key-ignored", NULL));
	check_edited("request-retry: 3\n", compat, "v6.8.0", &l);
	expect(&l, "legacy-key-ignored", "openai-compatibility", FINDING_WARNING);
	check_edited("request-retry: 3\n", compat, NULL, &l);
	expect(&l, "legacy-key-ignored", "openai-compatibility", FINDING_WARNING);
	finding_list_release(&l);
}

static void test_model_mappings(void **state)
{
	struct finding_list l = FINDING_LIST_INIT;
	const char *never = "request-retry: 3\nmodel-name-mappings:\n  - from: a\n    to: b\n";
	const char *oauth = "request-retry: 3\noauth-model-mappings:\n  gemini-cli:\n    - name: a\n      alias: b\n";
	(void)state;
	/* model-name-mappings never shipped in a tag: unknown everywhere. */
	check_edited("request-retry: 3\n", never, "v6.7.0", &l);
	expect(&l, "unknown-key", "model-name-mappings", FINDING_WARNING);
	assert_null(find(&l, "legacy-key-migrated", NULL));
	/* oauth-model-mappings: renamed in place only from v6.7.0 to v6.7.53. */
	check_edited("request-retry: 3\n", oauth, "v6.6.0", &l);
	expect_none(&l);
	check_edited("request-retry: 3\n", oauth, "v6.7.10", &l);
	expect(&l, "legacy-key-migrated", "oauth-model-mappings", FINDING_WARNING);
	check_edited("request-retry: 3\n", oauth, "v6.8.0", &l);
	expect(&l, "legacy-key-ignored", "oauth-model-mappings", FINDING_WARNING);
	finding_list_release(&l);
}

static void test_keys_of_some_releases(void **state)
{
	struct finding_list l = FINDING_LIST_INIT;
	const char *cli = "request-retry: 3\nenable-gemini-cli-endpoint: true\n";
	const char *home = "request-retry: 3\nhome:\n  enabled: true\n";
	(void)state;
	check_edited("request-retry: 3\n", cli, "v6.9.11", &l);
	expect(&l, "key-unknown-yet", "enable-gemini-cli-endpoint", FINDING_WARNING);
	check_edited("request-retry: 3\n", cli, "v6.9.12", &l);
	expect_none(&l);
	check_edited("request-retry: 3\n", cli, "v7.2.19", &l);
	expect_none(&l);
	check_edited("request-retry: 3\n", cli, "v7.2.20", &l);
	expect(&l, "key-removed", "enable-gemini-cli-endpoint", FINDING_WARNING);
	check_edited("request-retry: 3\n", home, "v6.9.0", &l);
	expect(&l, "key-unknown-yet", "home", FINDING_WARNING);
	check_edited("request-retry: 3\n", home, "v7.1.16", &l);
	expect_none(&l);
	check_edited("request-retry: 3\n", home, "v7.1.17", &l);
	assert_non_null(strstr(expect(&l, "key-removed", "home", FINDING_WARNING)->what, "leaves its cluster"));
	finding_list_release(&l);
}

static void test_entries_without_base_url(void **state)
{
	struct finding_list l = FINDING_LIST_INIT;
	const char *xai = "request-retry: 3\nxai-api-key:\n  - api-key: \"SECRET-VAL-xai\"\n";
	(void)state;
	check_edited("    base-url: \"https://api.openai.com/v1\"\n", "    base-url: \"  \"\n", "v7.2.60", &l);
	expect(&l, "entry-dropped", "codex-api-key", FINDING_WARNING);
	check_edited("request-retry: 3\n", xai, "v7.2.72", &l);
	assert_null(find(&l, "entry-dropped", NULL));
	check_edited("request-retry: 3\n", xai, "v7.2.73", &l);
	expect(&l, "entry-dropped", "xai-api-key", FINDING_WARNING);
	check_edited("request-retry: 3\n", "request-retry: 3\nopenai-compatibility:\n  - name: x\n", NULL, &l);
	expect(&l, "entry-dropped", "openai-compatibility", FINDING_WARNING);
	finding_list_release(&l);
}

static void test_logging_and_pprof(void **state)
{
	struct finding_list l = FINDING_LIST_INIT;
	(void)state;
	check_edited("debug: false", "debug: true", NULL, &l);
	expect(&l, "debug-on", "debug", FINDING_WARNING);
	check_edited("request-log: false", "request-log: true", NULL, &l);
	expect(&l, "request-log-on", "request-log", FINDING_WARNING);
	check_edited("  enable: false\n  addr: \"127.0.0.1:8316\"", "  enable: true\n  addr: \"0.0.0.0:8316\"", NULL,
		     &l);
	expect(&l, "pprof-exposed", "pprof.addr", FINDING_WARNING);
	check_edited("  enable: false\n  addr: \"127.0.0.1:8316\"", "  enable: true\n  addr: \":6060\"", NULL, &l);
	expect(&l, "pprof-exposed", "pprof.addr", FINDING_WARNING);
	check_edited("  enable: false\n  addr: \"127.0.0.1:8316\"", "  enable: true\n  addr: \"127.0.0.1:8316\"", NULL,
		     &l);
	expect_none(&l);
	check_edited("  enable: false\n  addr: \"127.0.0.1:8316\"", "  enable: false\n  addr: \"0.0.0.0:8316\"", NULL,
		     &l);
	expect_none(&l);
	finding_list_release(&l);
}

static void test_key_lines(void **state)
{
	struct cpactl_error err = CPACTL_ERROR_INIT;
	json_t *lines = NULL, *dups = NULL;
	const char *text = "a: 1\nb:\n  c: 2\n  d:\n    - e: 3\n  f: &x {g: 1}\nh: *x\nb: 2\n";
	(void)state;
	assert_int_equal(yaml_key_lines(text, strlen(text), &lines, &dups, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(lines, "a")), 1);
	assert_int_equal(json_integer_value(json_object_get(lines, "b.c")), 3);
	assert_int_equal(json_integer_value(json_object_get(lines, "b.d")), 4);
	assert_null(json_object_get(lines, "b.d.e"));
	assert_int_equal(json_integer_value(json_object_get(lines, "b.f.g")), 6);
	assert_int_equal(json_integer_value(json_object_get(lines, "h")), 7);
	assert_int_equal(json_array_size(dups), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(dups, 0), "key")), "b");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(dups, 0), "line")), 8);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(dups, 0), "first")), 2);
	json_decref(lines);
	json_decref(dups);
	assert_int_equal(yaml_key_lines("a: [\n", 5, &lines, &dups, &err), -1);
	assert_null(lines);
	assert_null(dups);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_file_has_no_finding),
		cmocka_unit_test(test_yaml_syntax_with_line),
		cmocka_unit_test(test_not_a_mapping),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_api_keys_empty),
		cmocka_unit_test(test_auth_providers_by_version),
		cmocka_unit_test(test_template_keys),
		cmocka_unit_test(test_blank_keys_are_no_keys),
		cmocka_unit_test(test_port_missing),
		cmocka_unit_test(test_remote_management),
		cmocka_unit_test(test_secret_key_plaintext),
		cmocka_unit_test(test_amp_upstream_key),
		cmocka_unit_test(test_legacy_amp_keys),
		cmocka_unit_test(test_legacy_gemini_and_compat_keys),
		cmocka_unit_test(test_model_mappings),
		cmocka_unit_test(test_keys_of_some_releases),
		cmocka_unit_test(test_entries_without_base_url),
		cmocka_unit_test(test_logging_and_pprof),
		cmocka_unit_test(test_key_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
