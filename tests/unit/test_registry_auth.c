/*
 * test_registry_auth.c - registry credentials read as the docker CLI reads
 * them: the registry of a reference, the auths entry for it (auth or
 * username/password, Docker Hub's key), the X-Registry-Auth value the engine
 * decodes, a credential helper named, a file others may write refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/registry.h"
#include "../../lib/registry_auth.h"

static char dir[] = "/tmp/test_regauth.XXXXXX";

static void write_config(const char *text, int mode)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/config.json", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, (mode_t)mode), 0);
}

/* The JSON the engine gets: base64url decoded. */
static json_t *decoded(const char *header)
{
	char b64[1024];
	unsigned char out[1024];
	size_t i, n = strlen(header);
	int len;

	assert_true(n + 4 < sizeof(b64));
	for (i = 0; i < n; i++)
		b64[i] = header[i] == '-' ? '+' : header[i] == '_' ? '/' : header[i];
	while (i % 4)
		b64[i++] = '=';
	b64[i] = '\0';
	len = EVP_DecodeBlock(out, (unsigned char *)b64, (int)i);
	assert_true(len > 0);
	return json_loadb((char *)out, (size_t)len, JSON_DISABLE_EOF_CHECK, NULL);
}

static void test_registry_of_image(void **state)
{
	static const char *const cases[][2] = {
		{ "eceasy/cli-proxy-api:v7.2.0", "docker.io" },
		{ "nginx", "docker.io" },
		{ "127.0.0.1:5000/eceasy/cli-proxy-api:latest", "127.0.0.1:5000" },
		{ "ghcr.io/router-for-me/cliproxyapi@sha256:ab", "ghcr.io" },
		{ "localhost/cpa:1", "localhost" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *r = registry_of_image(cases[i][0]);
		assert_string_equal(r, cases[i][1]);
		free(r);
	}
}

/* Release tags are vX.Y.Z or X.Y.Z only. */
static void test_release_tags(void **state)
{
	(void)state;
	assert_true(registry_tag_is_release("v7.2.0"));
	assert_true(registry_tag_is_release("7.10.123"));
	assert_false(registry_tag_is_release("latest"));
	assert_false(registry_tag_is_release("v7.2.1-badauth"));
	assert_false(registry_tag_is_release("v7.2"));
	assert_false(registry_tag_is_release("v7..2"));
	assert_false(registry_tag_is_release("v7.2.0.1"));
	assert_false(registry_tag_is_release(""));
}

static void test_auths(void **state)
{
	struct cpactl_error err = CPACTL_ERROR_INIT;
	struct registry_auth a;
	json_t *doc;

	(void)state;
	/* "dTpw" is base64 of "u:p"; Docker Hub under the CLI's own key. */
	write_config("{\"auths\":{\"http://127.0.0.1:5000\":{\"auth\":\"dTpw\"},"
		     "\"https://index.docker.io/v1/\":{\"username\":\"hub\",\"password\":\"secret\"}}}",
		     0600);
	assert_int_equal(registry_auth_for("127.0.0.1:5000/eceasy/cli-proxy-api:v1", &a, &err), 0);
	assert_non_null(a.header);
	doc = decoded(a.header);
	assert_string_equal(json_string_value(json_object_get(doc, "username")), "u");
	assert_string_equal(json_string_value(json_object_get(doc, "password")), "p");
	assert_string_equal(json_string_value(json_object_get(doc, "serveraddress")), "127.0.0.1:5000");
	json_decref(doc);
	registry_auth_free(&a);
	assert_int_equal(registry_auth_for("eceasy/cli-proxy-api", &a, &err), 0);
	doc = decoded(a.header);
	assert_string_equal(json_string_value(json_object_get(doc, "username")), "hub");
	json_decref(doc);
	registry_auth_free(&a);
	/* No entry: no header, no error. */
	assert_int_equal(registry_auth_for("ghcr.io/x/y", &a, &err), 0);
	assert_null(a.header);
	assert_null(a.helper);
	registry_auth_free(&a);
}

static void test_helper_and_trust(void **state)
{
	struct cpactl_error err = CPACTL_ERROR_INIT;
	struct registry_auth a;

	(void)state;
	write_config("{\"credsStore\":\"pass\",\"credHelpers\":{\"ghcr.io\":\"gh\"}}", 0600);
	assert_int_equal(registry_auth_for("ghcr.io/x/y:1", &a, &err), 0);
	assert_null(a.header);
	assert_string_equal(a.helper, "gh");
	registry_auth_free(&a);
	assert_int_equal(registry_auth_for("eceasy/cli-proxy-api", &a, &err), 0);
	assert_string_equal(a.helper, "pass");
	registry_auth_free(&a);
	/* Others may write it: refused, naming it. */
	write_config("{\"auths\":{}}", 0666);
	assert_int_equal(registry_auth_for("eceasy/cli-proxy-api", &a, &err), -1);
	assert_int_equal(err.kind, ERR_UNTRUSTED);
	assert_non_null(strstr(err.message, "config.json"));
	error_clear(&err);
	write_config("not json", 0600);
	assert_int_equal(registry_auth_for("eceasy/cli-proxy-api", &a, &err), -1);
	error_clear(&err);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	setenv("DOCKER_CONFIG", dir, 1);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry_of_image),
		cmocka_unit_test(test_release_tags),
		cmocka_unit_test(test_auths),
		cmocka_unit_test(test_helper_and_trust),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
