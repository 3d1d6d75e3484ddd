/*
 * test_operation.c - the table of operation steps (operation.h): names that
 * are unique and found again, the steps at which recover may finish an
 * operation rather than undo it, and the names of the containers an
 * operation keeps aside.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "../../lib/operation.h"

static void test_every_step_named_once(void **state)
{
	(void)state;

	for (int i = 0; i < OP_STEP_COUNT; i++) {
		const struct op_step_info *info = op_step_info((enum op_step)i);
		assert_non_null(info);
		assert_non_null(info->name);
		assert_true(strlen(info->name) > 0);
		/* Found again under its name, and no other step has it. */
		assert_ptr_equal(op_step_find(info->name), info);
	}
	assert_null(op_step_info(OP_STEP_COUNT));
	assert_null(op_step_find("no-such-step"));
	assert_null(op_step_find(NULL));
}

/* A run killed at one of these may have put the new release in production's
 * place: recover finishes it when the new release serves.  Everywhere else
 * it undoes.  The e2e kill matrices (07_recover, 08_rollback, 10_config_apply,
 * 20_ccp) rely on exactly this set. */
static void test_where_recover_may_finish(void **state)
{
	static const char *const finish[] = {
		"promote-stop-old", "promote-auth", "promote-rename-old", "promote-rename-new", "promote-start-new",
		"verify", NULL,
	};
	size_t n = 0;
	(void)state;

	for (size_t i = 0; finish[i]; i++) {
		const struct op_step_info *info = op_step_find(finish[i]);
		assert_non_null(info);
		assert_int_equal(info->recovery, OP_RECOVER_FINISH_IF_SERVING);
		assert_int_equal(info->production, OP_PRODUCTION_CHANGED);
	}
	for (int i = 0; i < OP_STEP_COUNT; i++)
		if (op_step_info((enum op_step)i)->recovery == OP_RECOVER_FINISH_IF_SERVING)
			n++;
	assert_int_equal(n, 6);
	/* Before the confirmation nothing of production has changed. */
	for (int i = 0; i <= OP_STEP_CONFIRM; i++)
		assert_int_equal(op_step_info((enum op_step)i)->production, OP_PRODUCTION_UNTOUCHED);
	assert_string_equal(op_step_info(OP_STEP_PROMOTE_HOOK)->name, "promote-hook");
	assert_int_equal(op_step_info(OP_STEP_PROMOTE_HOOK)->recovery, OP_RECOVER_UNDO);
}

static void check_kept(const char *name, enum op_kept role, const char *id, const char *expected)
{
	char *got = operation_kept_name(name, role, id);
	assert_non_null(got);
	assert_string_equal(got, expected);
	free(got);
}

static void test_kept_names(void **state)
{
	(void)state;

	check_kept("cpa", OP_KEPT_CANDIDATE, NULL, "cpa-cpactl-candidate");
	check_kept("cpa", OP_KEPT_NEW, NULL, "cpa-cpactl-new");
	check_kept("cpa", OP_KEPT_PREV, "20261202-120000", "cpa-cpactl-prev-20261202-120000");
	check_kept("cpa", OP_KEPT_FAILED, "20261202-120000", "cpa-cpactl-failed-20261202-120000");
	/* Only prev and failed carry the operation's id. */
	check_kept("cpa", OP_KEPT_NEW, "20261202-120000", "cpa-cpactl-new");
}

static void test_kept_roles(void **state)
{
	(void)state;

	assert_int_equal(operation_kept_role("/cpa-cpactl-candidate", NULL), OP_KEPT_CANDIDATE);
	assert_int_equal(operation_kept_role("cpa-cpactl-new", NULL), OP_KEPT_NEW);
	assert_int_equal(operation_kept_role("/cpa-cpactl-prev-20261202-120000", NULL), OP_KEPT_PREV);
	assert_int_equal(operation_kept_role("/cpa-cpactl-failed-20261202-120000", NULL), OP_KEPT_FAILED);
	/* A production name that itself holds the marker: the last one counts. */
	assert_int_equal(operation_kept_role("/a-cpactl-b-cpactl-new", NULL), OP_KEPT_NEW);
	/* Not kept-aside containers. */
	assert_int_equal(operation_kept_role("/cpa", NULL), -1);
	assert_int_equal(operation_kept_role("/cpa-cpactl-newer", NULL), -1);
	assert_int_equal(operation_kept_role("/cpa-cpactl-prev-", NULL), -1);
	assert_int_equal(operation_kept_role("/-cpactl-new", NULL), -1);
	assert_int_equal(operation_kept_role(NULL, NULL), -1);
	/* Kept for one production only. */
	assert_int_equal(operation_kept_role("/cpa-cpactl-new", "cpa"), OP_KEPT_NEW);
	assert_int_equal(operation_kept_role("/cpa2-cpactl-new", "cpa"), -1);
	assert_int_equal(operation_kept_role("/cpa-cpactl-prev-1", "cp"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_step_named_once),
		cmocka_unit_test(test_where_recover_may_finish),
		cmocka_unit_test(test_kept_names),
		cmocka_unit_test(test_kept_roles),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
