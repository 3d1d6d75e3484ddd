/*
 * test_archiving.c - the pure parts of `cpactl archive`: archive names and
 * their order, the plan (what moves, what goes, the rescue of the last
 * restorable snapshot), and the marking of blobs.
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

#include "../../lib/error.h"
#include "../../lib/archiving.h"

#define STAMP "20260301-1200"
#define HEX_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

/* Restorable: the ids listed in ctx (a space-separated string); each call is
 * counted, so a test can see that the newest is asked first. */
struct oracle {
	const char *restorable;
	char asked[512];
};

static int fake_restorable(void *ctx, const json_t *s)
{
	struct oracle *o = ctx;
	const char *id = json_string_value(json_object_get(s, "id"));
	size_t used = strlen(o->asked);

	snprintf(o->asked + used, sizeof(o->asked) - used, "%s%s", used ? " " : "", id);
	return o->restorable && strstr(o->restorable, id) != NULL;
}

/* A snapshot list like snapshot_list()'s: "ID@location ..." oldest first. */
static json_t *snapshots(const char *spec)
{
	json_t *list = json_array();
	char *copy = strdup(spec), *save = NULL;

	for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *at = strchr(tok, '@');
		*at = '\0';
		json_array_append_new(list, json_pack("{s:s,s:s}", "id", tok, "location", at + 1));
	}
	free(copy);
	return list;
}

static json_t *names(const char *spec)
{
	json_t *list = json_array();
	char *copy = strdup(spec), *save = NULL;

	for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		json_array_append_new(list, json_string(tok));
	free(copy);
	return list;
}

/* The strings of array `key` of the plan, space-separated. */
static const char *joined(const json_t *plan, const char *key)
{
	static char out[1024];
	json_t *v;
	size_t i, used = 0;

	out[0] = '\0';
	json_array_foreach(json_object_get(plan, key), i, v)
		used += (size_t)snprintf(out + used, sizeof(out) - used, "%s%s", i ? " " : "", json_string_value(v));
	return out;
}

static json_t *plan_of(const char *snaps, const char *archive_names, int keep, struct oracle *o)
{
	json_t *s = snapshots(snaps), *n = names(archive_names), *plan = NULL;
	struct cpactl_error err = CPACTL_ERROR_INIT;

	if (archiving_plan(s, n, keep, STAMP, fake_restorable, o, &plan, &err) < 0)
		fail_msg("plan failed: %s", err.message);
	json_decref(s);
	json_decref(n);
	return plan;
}

static void test_archive_names(void **state)
{
	(void)state;
	assert_true(archiving_archive_name_valid("20260301-1200"));
	assert_true(archiving_archive_name_valid("20260301-1200-2"));
	assert_true(archiving_archive_name_valid("20260301-1200-10"));
	assert_false(archiving_archive_name_valid("20260301-1200-1"));
	assert_false(archiving_archive_name_valid("20260301-1200-02"));
	assert_false(archiving_archive_name_valid("20260301-1200-"));
	assert_false(archiving_archive_name_valid("20260301-120000"));
	assert_false(archiving_archive_name_valid("old-backups"));
	assert_false(archiving_archive_name_valid(".20260301-1200.deleting"));
	assert_true(archiving_archive_name_compare("20260301-1200", "20260301-1200-2") < 0);
	assert_true(archiving_archive_name_compare("20260301-1200-9", "20260301-1200-10") < 0);
	assert_true(archiving_archive_name_compare("20260301-1201", "20260301-1200-10") > 0);
	assert_int_equal(archiving_archive_name_compare("20260301-1200-3", "20260301-1200-3"), 0);
}

static void test_moves_all_but_the_newest(void **state)
{
	struct oracle o = { "20260301-110000", "" };
	json_t *plan = plan_of("20260301-100000@backup 20260301-110000@backup 20260301-115900@backup", "", 2, &o);

	(void)state;
	assert_string_equal(json_string_value(json_object_get(plan, "stays_in_backup")), "20260301-115900");
	assert_string_equal(joined(plan, "moved"), "20260301-100000 20260301-110000");
	assert_string_equal(json_string_value(json_object_get(plan, "archive_dir")), "archive/" STAMP);
	assert_string_equal(joined(plan, "kept_archives"), "archive/" STAMP);
	assert_string_equal(joined(plan, "deleted_archives"), "");
	assert_string_equal(joined(plan, "kept"), "20260301-100000 20260301-110000 20260301-115900");
	assert_true(json_is_null(json_object_get(plan, "rescued")));
	assert_string_equal(json_string_value(json_object_get(plan, "restorable")), "20260301-110000");
	/* Newest first, stopping at the first that can be restored. */
	assert_string_equal(o.asked, "20260301-115900 20260301-110000");
	json_decref(plan);
}

static void test_nothing_to_move(void **state)
{
	struct oracle o = { "", "" };
	json_t *plan = plan_of("20260301-100000@backup", "", 2, &o);

	(void)state;
	assert_string_equal(joined(plan, "moved"), "");
	assert_true(json_is_null(json_object_get(plan, "archive_dir")));
	assert_true(json_is_null(json_object_get(plan, "restorable")));
	json_decref(plan);

	plan = plan_of("", "", 2, &o);
	assert_true(json_is_null(json_object_get(plan, "stays_in_backup")));
	assert_string_equal(joined(plan, "kept"), "");
	json_decref(plan);
}

static void test_keeps_the_newest_archives(void **state)
{
	struct oracle o = { "20260301-115900", "" };
	json_t *plan = plan_of("20260101-100000@archive/20260101-1000 20260201-100000@archive/20260201-1000 "
			       "20260215-100000@archive/20260215-1000 20260301-110000@backup 20260301-115900@backup",
			       "20260215-1000 20260101-1000 20260201-1000", 2, &o);

	(void)state;
	assert_string_equal(joined(plan, "deleted_archives"), "archive/20260101-1000 archive/20260201-1000");
	assert_string_equal(joined(plan, "kept_archives"), "archive/20260215-1000 archive/" STAMP);
	assert_string_equal(joined(plan, "deleted_snapshots"), "20260101-100000 20260201-100000");
	assert_string_equal(joined(plan, "kept"), "20260215-100000 20260301-110000 20260301-115900");
	json_decref(plan);

	/* Nothing moves: the existing archives alone count. */
	o.asked[0] = '\0';
	plan = plan_of("20260101-100000@archive/20260101-1000 20260201-100000@archive/20260201-1000 "
		       "20260301-115900@backup",
		       "20260101-1000 20260201-1000", 1, &o);
	assert_string_equal(joined(plan, "deleted_archives"), "archive/20260101-1000");
	assert_string_equal(joined(plan, "kept_archives"), "archive/20260201-1000");
	json_decref(plan);
}

static void test_foreign_directories_are_never_deleted(void **state)
{
	struct oracle o = { "20260301-115900", "" };
	json_t *plan = plan_of("20250101-100000@archive/old-backups 20260101-100000@archive/20260101-1000 "
			       "20260301-110000@backup 20260301-115900@backup",
			       "old-backups 20260101-1000", 1, &o);

	(void)state;
	assert_string_equal(joined(plan, "deleted_archives"), "archive/20260101-1000");
	assert_string_equal(joined(plan, "kept"), "20250101-100000 20260301-110000 20260301-115900");
	json_decref(plan);
}

static void test_new_archive_name_is_unique_and_kept(void **state)
{
	struct oracle o = { "", "" };
	json_t *plan = plan_of("20260301-110000@backup 20260301-115900@backup",
			       STAMP " " STAMP "-2 " STAMP "-3 20991231-2359", 2, &o);

	(void)state;
	assert_string_equal(json_string_value(json_object_get(plan, "archive_dir")), "archive/" STAMP "-4");

	/* A clock set wrong once gave an archive a future name: the new one is
	 * still the newest, never deleted by its own run. */
	assert_string_equal(joined(plan, "kept_archives"), "archive/20991231-2359 archive/" STAMP "-4");
	assert_string_equal(joined(plan, "deleted_archives"),
			    "archive/" STAMP " archive/" STAMP "-2 archive/" STAMP "-3");
	json_decref(plan);

	/* After STAMP was deleted, a new archive of the same minute still sorts
	 * after STAMP-2, the one that stays. */
	plan = plan_of("20260301-110000@backup 20260301-115900@backup", STAMP "-2 old-backups", 2, &o);
	assert_string_equal(json_string_value(json_object_get(plan, "archive_dir")), "archive/" STAMP "-3");
	json_decref(plan);
}

static void test_rescues_the_last_restorable_snapshot(void **state)
{
	/* Only 20260101-100000 has its image; every later one was --no-image. */
	struct oracle o = { "20260101-100000 20260101-090000", "" };
	json_t *plan = plan_of("20260101-090000@archive/20260101-1000 20260101-100000@archive/20260101-1000 "
			       "20260201-100000@archive/20260201-1000 20260301-110000@backup 20260301-115900@backup",
			       "20260101-1000 20260201-1000", 2, &o);
	json_t *rescued = json_object_get(plan, "rescued");

	(void)state;
	assert_string_equal(joined(plan, "deleted_archives"), "archive/20260101-1000");
	assert_true(json_is_object(rescued));
	assert_string_equal(json_string_value(json_object_get(rescued, "id")), "20260101-100000");
	assert_string_equal(json_string_value(json_object_get(rescued, "from")), "archive/20260101-1000");
	assert_string_equal(json_string_value(json_object_get(rescued, "to")), "archive/" STAMP);
	assert_string_equal(json_string_value(json_object_get(plan, "restorable")), "20260101-100000");
	assert_string_equal(joined(plan, "deleted_snapshots"), "20260101-090000");
	assert_string_equal(joined(plan, "kept"), "20260101-100000 20260201-100000 20260301-110000 20260301-115900");
	/* Those that stay were asked first, then the doomed ones, newest first. */
	assert_string_equal(o.asked, "20260301-115900 20260301-110000 20260201-100000 20260101-100000");
	json_decref(plan);

	/* Without a new archive, into the newest kept one. */
	o.asked[0] = '\0';
	plan = plan_of("20260101-100000@archive/20260101-1000 20260201-100000@archive/20260201-1000 "
		       "20260301-115900@backup",
		       "20260101-1000 20260201-1000", 1, &o);
	assert_string_equal(json_string_value(json_object_get(json_object_get(plan, "rescued"), "to")),
			    "archive/20260201-1000");
	json_decref(plan);
}

static void test_no_rescue_when_one_stays(void **state)
{
	struct oracle o = { "20260101-100000 20260301-110000", "" };
	json_t *plan = plan_of("20260101-100000@archive/20260101-1000 20260201-100000@archive/20260201-1000 "
			       "20260301-110000@backup 20260301-115900@backup",
			       "20260101-1000 20260201-1000", 2, &o);

	(void)state;
	assert_true(json_is_null(json_object_get(plan, "rescued")));
	assert_string_equal(json_string_value(json_object_get(plan, "restorable")), "20260301-110000");
	assert_string_equal(joined(plan, "deleted_snapshots"), "20260101-100000");
	json_decref(plan);
}

static void test_keep_must_be_positive(void **state)
{
	json_t *s = snapshots("20260301-110000@backup"), *n = names(""), *plan = NULL;
	struct cpactl_error err = CPACTL_ERROR_INIT;
	struct oracle o = { "", "" };

	(void)state;
	assert_int_equal(archiving_plan(s, n, 0, STAMP, fake_restorable, &o, &plan, &err), -1);
	assert_int_equal(err.kind, ERR_USAGE);
	assert_null(plan);
	json_decref(s);
	json_decref(n);
}

static void test_mark_layers(void **state)
{
	json_t *blobs = json_object(), *images = json_object();
	struct cpactl_error err = CPACTL_ERROR_INIT;
	json_t *layers = json_pack("{s:s,s:[{s:s,s:s},{s:s,s:s,s:s,s:i},{s:s,s:s,s:s,s:i},{s:s,s:s,s:s}]}", "image_id",
				   "sha256:" HEX_B, "entries", "path", "blobs", "type", "dir", "path", "manifest.json",
				   "type", "file", "sha256", HEX_A, "size", 10, "path", "layer.tar", "type", "file",
				   "sha256", HEX_B, "size", 20, "path", "link", "type", "symlink", "target", "layer.tar");

	(void)state;
	assert_int_equal(archiving_mark_layers(layers, blobs, images, &err), 0);
	assert_int_equal(json_object_size(blobs), 2);
	assert_non_null(json_object_get(blobs, HEX_A));
	assert_non_null(json_object_get(blobs, HEX_B));
	assert_non_null(json_object_get(images, HEX_B));
	json_decref(layers);

	/* A file without a blob, a bad hash, no entry list: its blobs are
	 * unknown, so nothing may be swept. */
	layers = json_pack("{s:[{s:s,s:s}]}", "entries", "path", "x", "type", "file");
	assert_int_equal(archiving_mark_layers(layers, blobs, images, &err), -1);
	assert_int_equal(err.kind, ERR_PARSE);
	json_decref(layers);
	error_clear(&err);
	layers = json_pack("{s:[{s:s,s:s}]}", "entries", "path", "x", "sha256", "../../etc/passwd");
	assert_int_equal(archiving_mark_layers(layers, blobs, images, &err), -1);
	json_decref(layers);
	error_clear(&err);
	layers = json_pack("{s:s}", "entries", "nope");
	assert_int_equal(archiving_mark_layers(layers, blobs, images, &err), -1);
	json_decref(layers);
	json_decref(blobs);
	json_decref(images);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_archive_names),
		cmocka_unit_test(test_moves_all_but_the_newest),
		cmocka_unit_test(test_nothing_to_move),
		cmocka_unit_test(test_keeps_the_newest_archives),
		cmocka_unit_test(test_foreign_directories_are_never_deleted),
		cmocka_unit_test(test_new_archive_name_is_unique_and_kept),
		cmocka_unit_test(test_rescues_the_last_restorable_snapshot),
		cmocka_unit_test(test_no_rescue_when_one_stays),
		cmocka_unit_test(test_keep_must_be_positive),
		cmocka_unit_test(test_mark_layers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
