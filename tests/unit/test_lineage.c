/*
 * test_lineage.c - a container's past across recreations and renames: the
 * ids it replaced are followed (and a forged cycle ends the walk); another
 * container's snapshot is its own only when named and when it fits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/atomic_file.h"
#include "../../lib/lineage.h"

struct fixture {
	char dir[64];
	struct deployment d;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_lineage.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->d.root = f->dir;
	assert_true(asprintf(&f->d.state_dir, "%s/.cpactl", f->dir) > 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct cpactl_error e = CPACTL_ERROR_INIT;

	remove_tree(f->dir, &e);
	free(f->d.state_dir);
	free(f);
	return 0;
}

static char *ancestors(struct fixture *f, const char *id)
{
	json_t *a = lineage_ancestors(&f->d, id);
	char *text;

	assert_non_null(a);
	text = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return text;
}

static void test_chain_newest_first(void **state)
{
	struct fixture *f = *state;
	struct cpactl_error e = CPACTL_ERROR_INIT;
	char *text;

	text = ancestors(f, "c3");
	assert_string_equal(text, "[]"); /* no file yet */
	free(text);
	assert_int_equal(lineage_record(&f->d, "c1", "c2", &e), 0);
	assert_int_equal(lineage_record(&f->d, "c2", "c3", &e), 0);
	assert_int_equal(lineage_record(&f->d, "c3", "c3", &e), 0); /* no self-loop is written */
	text = ancestors(f, "c3");
	assert_string_equal(text, "[\"c2\",\"c1\"]");
	free(text);
}

static void test_forged_cycle_ends(void **state)
{
	struct fixture *f = *state;
	struct cpactl_error e = CPACTL_ERROR_INIT;
	const char *cycle = "{\"a\":\"b\",\"b\":\"c\",\"c\":\"b\"}";
	char path[128], *text;

	assert_int_equal(make_private_dirs(f->d.state_dir, &e), 0);
	snprintf(path, sizeof(path), "%s/lineage.json", f->d.state_dir);
	assert_int_equal(atomic_write_file(path, cycle, strlen(cycle), 0600, &e), 0);
	text = ancestors(f, "a");
	assert_string_equal(text, "[\"b\",\"c\"]");
	free(text);
	/* Not JSON: no lineage, no crash. */
	assert_int_equal(atomic_write_file(path, "{", 1, 0600, &e), 0);
	text = ancestors(f, "a");
	assert_string_equal(text, "[]");
	free(text);
}

static void test_belongs(void **state)
{
	struct fixture *f = *state;
	struct cpactl_error e = CPACTL_ERROR_INIT;
	struct cpa_target t;
	json_t *baseline;
	char *why = NULL;

	memset(&t, 0, sizeof(t));
	t.name = "cpa";
	t.id = "new";
	t.profile = &profile_cpa;
	t.config_path = "/opt/cpa/config.yaml";
	t.auth_dir = "/opt/cpa/auth";
	t.has_api_port = 1;
	snprintf(t.api_host_ip, sizeof(t.api_host_ip), "127.0.0.1");
	t.api_host_port = 8317;
	baseline = json_pack("{s:s,s:s,s:s,s:s,s:s,s:{s:s,s:i}}", "profile", "cpa", "container", "other", "container_id",
			     "old", "config_path", "/opt/cpa/config.yaml", "auth_dir", "/opt/cpa/auth", "api_port",
			     "host_ip", "127.0.0.1", "host_port", 8317);

	/* Another name, an unknown id: named and fitting, or refused. */
	assert_int_equal(lineage_belongs(&f->d, &t, baseline, 1, &why), LINEAGE_FITS);
	assert_null(why);
	assert_int_equal(lineage_belongs(&f->d, &t, baseline, 0, &why), LINEAGE_FOREIGN);
	assert_string_equal(why, "and it was not named");
	free(why);
	json_object_set_new(json_object_get(baseline, "api_port"), "host_port", json_integer(8318));
	assert_int_equal(lineage_belongs(&f->d, &t, baseline, 1, &why), LINEAGE_FOREIGN);
	assert_string_equal(why, "another published API port");
	free(why);
	/* The id is an ancestor: its own, whatever the name and port. */
	assert_int_equal(lineage_record(&f->d, "old", "new", &e), 0);
	assert_int_equal(lineage_belongs(&f->d, &t, baseline, 0, &why), LINEAGE_OWN);
	/* The same name: its own. */
	json_object_set_new(baseline, "container_id", json_string("unrelated"));
	json_object_set_new(baseline, "container", json_string("cpa"));
	assert_int_equal(lineage_belongs(&f->d, &t, baseline, 0, &why), LINEAGE_OWN);
	json_decref(baseline);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_chain_newest_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forged_cycle_ends, setup, teardown),
		cmocka_unit_test_setup_teardown(test_belongs, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
