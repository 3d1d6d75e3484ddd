/*
 * test_doctor.c - the judges of `cpactl doctor`: how a /v1/models answer is
 * classified, the memory and restart thresholds, the modes of secret files,
 * the snapshot age and the disk.  The checks that gather facts from an engine
 * and the disk are tested end to end (tests/e2e/11_doctor.bats).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <sys/stat.h>

#include "../../lib/doctor.h"

/* The list holds exactly one finding, with this code and severity. */
static void assert_one(const struct finding_list *l, const char *code, enum finding_severity severity)
{
	assert_int_equal(l->count, 1);
	assert_string_equal(l->items[0].code, code);
	assert_int_equal(l->items[0].severity, severity);
	assert_non_null(l->items[0].what);
	assert_non_null(l->items[0].fix);
}

static void test_probe_ok_is_silent(void **state)
{
	struct finding_list l = FINDING_LIST_INIT;
	(void)state;
	assert_int_equal(doctor_probe_finding(&l, "cpa", 200, "", 1, 4), 0);
	assert_int_equal(l.count, 0);
	finding_list_release(&l);
}

static void test_probe_empty_model_list(void **state)
{
	struct finding_list l = FINDING_LIST_INIT;
	(void)state;
	doctor_probe_finding(&l, "cpa", 200, "", 1, 0);
	assert_one(&l, "api-no-models", FINDING_WARNING);
	finding_list_release(&l);
}

static void test_probe_safe_mode(void **state)
{
	struct finding_list l = FINDING_LIST_INIT;
	(void)state;
	doctor_probe_finding(&l, "cpa", 403, "unsafe_example_api_key", 1, -1);
	assert_one(&l, "api-safe-mode", FINDING_ERROR);
	assert_non_null(strstr(l.items[0].fix, "api-keys"));
	finding_list_release(&l);
}

static void test_probe_missing_key_sent_or_not(void **state)
{
	struct finding_list l = FINDING_LIST_INIT;
	(void)state;
	doctor_probe_finding(&l, "cpa", 401, "Missing API key", 1, -1);
	assert_one(&l, "api-key-missing", FINDING_ERROR);
	/* A key was sent: something in between dropped it. */
	assert_non_null(strstr(l.items[0].what, "Authorization"));
	finding_list_release(&l);
	doctor_probe_finding(&l, "cpa", 401, "Missing API key", 0, -1);
	assert_one(&l, "api-key-missing", FINDING_ERROR);
	assert_non_null(strstr(l.items[0].what, "no client key"));
	finding_list_release(&l);
}

static void test_probe_invalid_key_names_the_upstream_trap(void **state)
{
	struct finding_list l = FINDING_LIST_INIT;
	(void)state;
	doctor_probe_finding(&l, "cpa", 401, "Invalid API key", 1, -1);
	assert_one(&l, "api-key-invalid", FINDING_ERROR);
	assert_non_null(strstr(l.items[0].what, "upstream provider key"));
	finding_list_release(&l);
}

/* /v1/models never reaches an upstream: a 401 CPA does not word is not
 * blamed on a provider key, and its body (which could echo a key) is not
 * quoted. */
static void test_probe_other_401_is_not_cpa(void **state)
{
	struct finding_list l = FINDING_LIST_INIT;
	(void)state;
	doctor_probe_finding(&l, "cpa", 401, "invalid x-api-key SECRET-FIXTURE-x", 1, -1);
	assert_one(&l, "api-error", FINDING_ERROR);
	assert_non_null(strstr(l.items[0].what, "401"));
	assert_non_null(strstr(l.items[0].what, "not one of CPA's own"));
	assert_null(strstr(l.items[0].what, "SECRET-FIXTURE"));
	assert_null(strstr(l.items[0].fix, "upstream"));
	finding_list_release(&l);
}

static void test_probe_other_answers(void **state)
{
	struct finding_list l = FINDING_LIST_INIT;
	(void)state;
	doctor_probe_finding(&l, "cpa", 500, "internal", 1, -1);
	assert_one(&l, "api-error", FINDING_ERROR);
	assert_non_null(strstr(l.items[0].what, "500"));
	finding_list_release(&l);
	doctor_probe_finding(&l, "cpa", 403, "something else", 1, -1);
	assert_one(&l, "api-error", FINDING_ERROR);
	finding_list_release(&l);
	doctor_probe_finding(&l, "cpa", 0, "Connection refused", 1, -1);
	assert_one(&l, "api-unreachable", FINDING_ERROR);
	assert_non_null(strstr(l.items[0].what, "Connection refused"));
	finding_list_release(&l);
}

static void test_memory_threshold(void **state)
{
	struct finding_list l = FINDING_LIST_INIT;
	(void)state;
	doctor_memory_finding(&l, "cpa", -1);
	doctor_memory_finding(&l, "cpa", 40LL << 20);
	doctor_memory_finding(&l, "cpa", DOCTOR_MEMORY_LIMIT);
	assert_int_equal(l.count, 0);
	doctor_memory_finding(&l, "cpa", DOCTOR_MEMORY_LIMIT + 1);
	assert_one(&l, "memory-high", FINDING_WARNING);
	finding_list_release(&l);
}

static void test_restart_thresholds(void **state)
{
	struct finding_list l = FINDING_LIST_INIT;
	(void)state;
	doctor_restart_finding(&l, "cpa", "running", 0, 5);
	assert_int_equal(l.count, 0);
	doctor_restart_finding(&l, "cpa", "running", 1, 5000);
	assert_one(&l, "restart-count", FINDING_INFO);
	finding_list_release(&l);
	doctor_restart_finding(&l, "cpa", "running", DOCTOR_RESTARTS_WARN, DOCTOR_RESTART_RECENT_SECONDS);
	assert_one(&l, "restart-count", FINDING_WARNING);
	finding_list_release(&l);
	/* Many restarts and a fresh start: it is looping. */
	doctor_restart_finding(&l, "cpa", "running", DOCTOR_RESTARTS_WARN, 2);
	assert_one(&l, "restart-loop", FINDING_ERROR);
	finding_list_release(&l);
	doctor_restart_finding(&l, "cpa", "restarting", 1, -1);
	assert_one(&l, "restart-loop", FINDING_ERROR);
	finding_list_release(&l);
	doctor_restart_finding(&l, "cpa", "exited", 0, -1);
	assert_one(&l, "not-running", FINDING_ERROR);
	finding_list_release(&l);
}

static void test_secret_modes(void **state)
{
	struct finding_list l = FINDING_LIST_INIT;
	(void)state;
	doctor_secret_mode_finding(&l, "auth-readable", "/x/auth", 0, "an auth file");
	doctor_secret_mode_finding(&l, "auth-readable", "/x/auth", S_IWGRP | S_IXOTH, "an auth file");
	assert_int_equal(l.count, 0);
	doctor_secret_mode_finding(&l, "auth-readable", "/x/auth", S_IRGRP, "an auth file");
	assert_one(&l, "auth-readable", FINDING_WARNING);
	assert_string_equal(l.items[0].subject, "/x/auth");
	finding_list_release(&l);
	doctor_secret_mode_finding(&l, "auth-readable", "/x/auth", 0044, "an auth file");
	assert_one(&l, "auth-readable", FINDING_ERROR);
	finding_list_release(&l);
}

static void test_public_bindings(void **state)
{
	(void)state;
	assert_true(doctor_binding_is_public(""));
	assert_true(doctor_binding_is_public(NULL));
	assert_true(doctor_binding_is_public("0.0.0.0"));
	assert_true(doctor_binding_is_public("::"));
	assert_false(doctor_binding_is_public("127.0.0.1"));
	assert_false(doctor_binding_is_public("::1"));
	assert_false(doctor_binding_is_public("10.0.0.5"));
}

static void test_snapshot_age(void **state)
{
	struct finding_list l = FINDING_LIST_INIT;
	time_t now = 1800000000;
	(void)state;
	doctor_snapshot_age_finding(&l, "/r", now - 3600, now);
	doctor_snapshot_age_finding(&l, "/r", now - DOCTOR_SNAPSHOT_MAX_AGE, now);
	assert_int_equal(l.count, 0);
	doctor_snapshot_age_finding(&l, "/r", now - DOCTOR_SNAPSHOT_MAX_AGE - 1, now);
	assert_one(&l, "snapshot-old", FINDING_WARNING);
	finding_list_release(&l);
	doctor_snapshot_age_finding(&l, "/r", -1, now);
	assert_one(&l, "no-snapshot", FINDING_WARNING);
	finding_list_release(&l);
}

static void test_disk(void **state)
{
	struct finding_list l = FINDING_LIST_INIT;
	(void)state;
	doctor_disk_finding(&l, "/r", 100, 100);
	doctor_disk_finding(&l, "/r", 100, 0);
	assert_int_equal(l.count, 0);
	doctor_disk_finding(&l, "/r", 99, 100);
	assert_one(&l, "disk-low", FINDING_WARNING);
	finding_list_release(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_ok_is_silent),
		cmocka_unit_test(test_probe_empty_model_list),
		cmocka_unit_test(test_probe_safe_mode),
		cmocka_unit_test(test_probe_missing_key_sent_or_not),
		cmocka_unit_test(test_probe_invalid_key_names_the_upstream_trap),
		cmocka_unit_test(test_probe_other_401_is_not_cpa),
		cmocka_unit_test(test_probe_other_answers),
		cmocka_unit_test(test_memory_threshold),
		cmocka_unit_test(test_restart_thresholds),
		cmocka_unit_test(test_secret_modes),
		cmocka_unit_test(test_public_bindings),
		cmocka_unit_test(test_snapshot_age),
		cmocka_unit_test(test_disk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
