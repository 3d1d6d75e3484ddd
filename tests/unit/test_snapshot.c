/*
 * test_snapshot.c - reading a snapshot's manifest.json (the part of verify
 * that needs no files): not JSON, another snapshot's id, and parts named
 * outside the snapshot directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <string.h>

#include "../../lib/snapshot.h"

#define ID "20260101-120000"

/* Parses `text` and returns the problems (the manifest in *manifest). */
static json_t *parse(const char *text, int want_rc, json_t **manifest)
{
	json_t *problems = json_array();

	assert_int_equal(snapshot_manifest_parse(text, strlen(text), ID, manifest, problems), want_rc);
	return problems;
}

static int mentions(json_t *problems, const char *words)
{
	json_t *p;
	size_t i;

	json_array_foreach(problems, i, p)
		if (strstr(json_string_value(p), words))
			return 1;
	return 0;
}

static void test_manifest_good(void **state)
{
	json_t *manifest, *problems;
	(void)state;

	problems = parse("{\"id\":\"" ID "\",\"parts\":{\"config.yaml\":{\"sha256\":\"ab\",\"size\":3}}}", 0, &manifest);
	assert_int_equal(json_array_size(problems), 0);
	assert_true(json_is_object(json_object_get(manifest, "parts")));
	json_decref(problems);
	json_decref(manifest);
}

static void test_manifest_not_json(void **state)
{
	json_t *manifest = (json_t *)1, *problems;
	(void)state;

	problems = parse("{\"id\":", -1, &manifest);
	assert_null(manifest);
	assert_true(mentions(problems, "not valid JSON"));
	json_decref(problems);
	/* JSON, but not an object: the same. */
	problems = parse("[\"" ID "\"]", -1, &manifest);
	assert_null(manifest);
	assert_true(mentions(problems, "not valid JSON"));
	json_decref(problems);
}

static void test_manifest_other_id(void **state)
{
	json_t *manifest, *problems;
	(void)state;

	problems = parse("{\"id\":\"20250101-000000\",\"parts\":{}}", 0, &manifest);
	assert_true(mentions(problems, "names another snapshot than '" ID "'"));
	json_decref(problems);
	json_decref(manifest);
	problems = parse("{\"id\":7}", 0, &manifest);
	assert_true(mentions(problems, "names another snapshot"));
	json_decref(problems);
	json_decref(manifest);
}

/* Part names are files directly in the snapshot: a path, a dot file or an
 * empty name (the directory itself) is refused by name. */
static void test_manifest_parts_outside(void **state)
{
	json_t *manifest, *problems;
	(void)state;

	problems = parse("{\"id\":\"" ID "\",\"parts\":{\"../../etc/passwd\":{},\".seal\":{},\"\":{},\"auth.tar\":{}}}", 0,
			 &manifest);
	assert_int_equal(json_array_size(problems), 3);
	assert_true(mentions(problems, "outside the snapshot: '../../etc/passwd'"));
	assert_true(mentions(problems, "outside the snapshot: '.seal'"));
	assert_true(mentions(problems, "outside the snapshot: ''"));
	assert_false(mentions(problems, "auth.tar"));
	json_decref(problems);
	json_decref(manifest);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_manifest_good),
		cmocka_unit_test(test_manifest_not_json),
		cmocka_unit_test(test_manifest_other_id),
		cmocka_unit_test(test_manifest_parts_outside),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
