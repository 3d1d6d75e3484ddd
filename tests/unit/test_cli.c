/*
 * test_cli.c - how a verb ends (cli_finish): the exit code and the error
 * document, above all for a failure that set no error, which must exit 1 and
 * say "internal error" with the verb, never exit 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "../../cmd/cli.h"

/* cmd/cli.c names the dispatch table of cmd/main.c; these tests need none. */
const struct verb verbs[] = { { 0 } };

static const struct verb upgrade_verb = { .name = "upgrade" };

static struct cli json_cli(void)
{
	struct cli cli;
	memset(&cli, 0, sizeof(cli));
	cli.json = 1;
	cli.verb = &upgrade_verb;
	return cli;
}

static const char *error_message(const struct cli *cli)
{
	return json_string_value(json_object_get(json_object_get(cli->final_document, "error"), "message"));
}

static void test_failure_without_error_is_internal_error(void **state)
{
	struct cpactl_error err = CPACTL_ERROR_INIT;
	struct cli cli = json_cli();
	(void)state;

	assert_int_equal(cli_finish(&cli, json_object(), -1, &err, EXIT_OK), EXIT_FAILED);
	assert_non_null(error_message(&cli));
	assert_non_null(strstr(error_message(&cli), "internal error"));
	assert_non_null(strstr(error_message(&cli), "upgrade"));
	json_decref(cli.final_document);
}

static void test_success_keeps_its_code(void **state)
{
	struct cpactl_error err = CPACTL_ERROR_INIT;
	struct cli cli = json_cli();
	(void)state;

	assert_int_equal(cli_finish(&cli, json_object(), 0, &err, EXIT_PROBLEMS), EXIT_PROBLEMS);
	assert_null(error_message(&cli));
	json_decref(cli.final_document);
}

static void test_error_sets_the_code(void **state)
{
	struct cpactl_error err = CPACTL_ERROR_INIT;
	struct cli cli = json_cli();
	(void)state;

	error_set(&err, ERR_LOCKED, "another cpactl holds the lock");
	assert_int_equal(cli_finish(&cli, NULL, -1, &err, EXIT_OK), EXIT_LOCKED);
	assert_string_equal(error_message(&cli), "another cpactl holds the lock");
	json_decref(cli.final_document);
	error_clear(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failure_without_error_is_internal_error),
		cmocka_unit_test(test_success_keeps_its_code),
		cmocka_unit_test(test_error_sets_the_code),
	};
	/* cli_finish prints the JSON document: not this test's output. */
	if (!freopen("/dev/null", "w", stdout))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
