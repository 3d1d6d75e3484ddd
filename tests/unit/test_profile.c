/*
 * test_profile.c - the profiles' image patterns, health answers, and env
 * files read and masked.
 *
 * Fixture secrets all start with SECRET-FIXTURE-, so the masking tests can
 * assert that none survived.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "../../lib/buf.h"
#include "../../lib/error.h"
#include "../../lib/probe.h"
#include "../../lib/profile.h"

static void test_profile_for_image(void **state)
{
	(void)state;
	assert_ptr_equal(profile_for_image("eceasy/cli-proxy-api:v7.2.0"), &profile_cpa);
	assert_ptr_equal(profile_for_image("ghcr.io/x/CLIProxyAPI"), &profile_cpa);
	assert_ptr_equal(profile_for_image("fuergaosi233/claude-code-proxy:v1.1.0"), &profile_claude_code_proxy);
	assert_ptr_equal(profile_for_image("registry:5000/Claude-Code-Proxy@sha256:00"), &profile_claude_code_proxy);
	/* Only the repository counts: a tag that names a proxy does not. */
	assert_null(profile_for_image("nginx:claude-code-proxy"));
	assert_null(profile_for_image("sha256:0123456789abcdef"));
	assert_null(profile_for_image(NULL));
	assert_ptr_equal(profile_by_name("http"), &profile_http);
	assert_null(profile_by_name("nginx"));
	assert_null(profile_by_name(NULL));
}

static void test_answer_ok(void **state)
{
	struct probe_result r;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.http_status = 200;
	strcpy(r.status, "healthy");
	assert_true(probe_answer_ok(EXPECT_STATUS, &r));
	assert_false(probe_answer_ok(EXPECT_MODELS, &r)); /* no model list */
	strcpy(r.status, "unhealthy");
	assert_false(probe_answer_ok(EXPECT_STATUS, &r));
	assert_false(probe_answer_ok(EXPECT_2XX, &r));
	r.status[0] = '\0';
	assert_false(probe_answer_ok(EXPECT_STATUS, &r)); /* status is required */
	r.http_status = 204;
	assert_true(probe_answer_ok(EXPECT_2XX, &r));
	r.http_status = 503;
	assert_false(probe_answer_ok(EXPECT_2XX, &r));
}

static void test_env_text_get(void **state)
{
	const char *text = "# keys\n"
			   "OPENAI_API_KEY=first\n"
			   "export ANTHROPIC_API_KEY=\"SECRET-FIXTURE-quoted\"\r\n"
			   "  PORT = 8082  \n"
			   "OPENAI_API_KEY=second\n"
			   "EMPTY=\n"
			   "noequals\n"
			   "LAST='single quoted'";
	char *v = NULL;

	(void)state;
	assert_int_equal(env_text_get(text, strlen(text), "OPENAI_API_KEY", &v), 1);
	assert_string_equal(v, "second"); /* the last assignment wins, as with docker */
	free(v);
	assert_int_equal(env_text_get(text, strlen(text), "ANTHROPIC_API_KEY", &v), 1);
	assert_string_equal(v, "SECRET-FIXTURE-quoted");
	free(v);
	assert_int_equal(env_text_get(text, strlen(text), "PORT", &v), 1);
	assert_string_equal(v, "8082");
	free(v);
	assert_int_equal(env_text_get(text, strlen(text), "EMPTY", &v), 1);
	assert_string_equal(v, "");
	free(v);
	assert_int_equal(env_text_get(text, strlen(text), "LAST", &v), 1);
	assert_string_equal(v, "single quoted");
	free(v);
	assert_int_equal(env_text_get(text, strlen(text), "noequals", &v), 0);
	assert_null(v);
	assert_int_equal(env_text_get(text, strlen(text), "OPENAI", &v), 0);
}

static void test_env_name_is_secret(void **state)
{
	(void)state;
	assert_true(env_name_is_secret("OPENAI_API_KEY"));
	assert_true(env_name_is_secret("GITSTORE_GIT_TOKEN"));
	assert_true(env_name_is_secret("MANAGEMENT_PASSWORD"));
	assert_true(env_name_is_secret("PGSTORE_DSN"));
	assert_true(env_name_is_secret("proxy_auth"));
	assert_true(env_name_is_secret("HOME_JWT"));
	assert_true(env_name_is_secret("home_jwt"));
	assert_true(env_name_is_secret("pgstore_dsn"));
	assert_true(env_name_is_secret("CUSTOM_HEADER_X_ORG"));
	assert_false(env_name_is_secret("MAX_TOKENS_LIMIT"));
	assert_false(env_name_is_secret("MIN_TOKENS_LIMIT"));
	assert_false(env_name_is_secret("BIG_MODEL"));
	assert_false(env_name_is_secret("OPENAI_BASE_URL"));
	assert_false(env_name_is_secret("PORT"));
}

static void test_secret_mask_env(void **state)
{
	const char *text = "# claude-code-proxy\n"
			   "OPENAI_API_KEY=SECRET-FIXTURE-openai\n"
			   "export ANTHROPIC_API_KEY=\"SECRET-FIXTURE-client\"\r\n"
			   "BIG_MODEL=gpt-4o\n"
			   "EMPTY_TOKEN=\n"
			   "not a line\n"
			   "PASSWORD=SECRET-FIXTURE-nonl";
	const char *want = "# claude-code-proxy\n"
			   "OPENAI_API_KEY=***\n"
			   "export ANTHROPIC_API_KEY=***\r\n"
			   "BIG_MODEL=gpt-4o\n"
			   "EMPTY_TOKEN=\n"
			   "not a line\n"
			   "PASSWORD=***";
	struct buf out = BUF_INIT;
	struct cpactl_error err = CPACTL_ERROR_INIT;

	(void)state;
	assert_int_equal(secret_mask_env(text, strlen(text), &out, &err), 0);
	assert_string_equal(buf_str(&out), want);
	assert_null(strstr(buf_str(&out), "SECRET-FIXTURE-"));
	buf_reset(&out);
	/* The CPA profile masks YAML; the others, env files. */
	assert_int_equal(profile_mask_settings(&profile_claude_code_proxy, text, strlen(text), &out, &err), 0);
	assert_string_equal(buf_str(&out), want);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_profile_for_image),
		cmocka_unit_test(test_answer_ok),
		cmocka_unit_test(test_env_text_get),
		cmocka_unit_test(test_env_name_is_secret),
		cmocka_unit_test(test_secret_mask_env),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
