/*
 * test_history.c - the config history: commit, log, read, diff, permissions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <jansson.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/buf.h"
#include "../../lib/error.h"
#include "../../lib/history.h"

#define V1 "port: 8317\napi-keys:\n  - \"SECRET-FIXTURE-one\"\n"
#define V2 "port: 8318\napi-keys:\n  - \"SECRET-FIXTURE-one\"\n"
#define V3 "port: 8318\napi-keys:\n  - \"SECRET-FIXTURE-two\"\n"

struct fixture {
	char dir[64];
	char repo[128];
};

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/cpactl-history-test.XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	/* Below a directory that does not exist yet, as .cpactl/history is. */
	snprintf(f->repo, sizeof(f->repo), "%s/root/.cpactl/history", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void commit(struct fixture *f, const char *data, const char *message, char oid[41], int want_committed)
{
	struct cpactl_error err = CPACTL_ERROR_INIT;
	int committed = -1;

	if (history_commit(f->repo, data, strlen(data), message, oid, &committed, &err) < 0)
		fail_msg("history_commit: %s", err.message);
	assert_int_equal(committed, want_committed);
	assert_int_equal(strlen(oid), 40);
}

static void read_rev(struct fixture *f, const char *rev, const char *want_text, const char *want_oid)
{
	struct cpactl_error err = CPACTL_ERROR_INIT;
	struct buf out = BUF_INIT;
	char oid[41];

	if (history_read(f->repo, rev, &out, oid, &err) < 0)
		fail_msg("history_read '%s': %s", rev, err.message);
	assert_string_equal(buf_str(&out), want_text);
	assert_string_equal(oid, want_oid);
	buf_wipe(&out);
}

static void read_fails(struct fixture *f, const char *rev, enum error_kind kind, const char *words)
{
	struct cpactl_error err = CPACTL_ERROR_INIT;
	struct buf out = BUF_INIT;
	char oid[41];

	assert_int_equal(history_read(f->repo, rev, &out, oid, &err), -1);
	assert_int_equal(err.kind, kind);
	if (!strstr(err.message, words))
		fail_msg("'%s' does not say '%s'", err.message, words);
	assert_int_equal(out.len, 0);
	buf_free(&out);
}

/* --- commit ---------------------------------------------------------------- */

static void test_commit_and_noop(void **state)
{
	struct fixture *f = *state;
	char a[41], b[41], c[41];

	assert_false(history_exists(f->repo));
	commit(f, V1, "backup 20261122-043000: CPA v7.1.0, image eceasy/cli-proxy-api:v7.1.0", a, 1);
	assert_true(history_exists(f->repo));
	/* Same bytes: nothing new, HEAD named. */
	commit(f, V1, "backup 20261122-050000: CPA v7.1.0", b, 0);
	assert_string_equal(a, b);
	commit(f, V2, "backup 20261122-060000: CPA v7.2.0", c, 1);
	assert_string_not_equal(a, c);
	/* Going back to an older content is a change too. */
	commit(f, V1, "backup 20261122-070000", b, 1);
	assert_string_not_equal(b, a);
	assert_string_not_equal(b, c);
}

static void test_empty_content(void **state)
{
	struct fixture *f = *state;
	char a[41], b[41];

	commit(f, "", "empty", a, 1);
	commit(f, "", "empty again", b, 0);
	assert_string_equal(a, b);
	read_rev(f, "HEAD", "", a);
}

/* --- log ------------------------------------------------------------------- */

static void test_log_newest_first(void **state)
{
	struct fixture *f = *state;
	struct cpactl_error err = CPACTL_ERROR_INIT;
	char a[41], b[41], c[41];
	json_t *log = NULL;
	regex_t date;

	commit(f, V1, "backup 20261122-043000: CPA v7.1.0\n\ncontainer: cpa\nsnapshot: 20261122-043000\n", a, 1);
	commit(f, V2, "backup 20261122-060000: CPA v7.2.0", b, 1);
	commit(f, V3, "backup 20261122-070000: CPA v7.2.0", c, 1);
	assert_int_equal(history_log(f->repo, 0, &log, &err), 0);
	assert_int_equal(json_array_size(log), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(log, 0), "commit")), c);
	assert_string_equal(json_string_value(json_object_get(json_array_get(log, 1), "commit")), b);
	assert_string_equal(json_string_value(json_object_get(json_array_get(log, 2), "commit")), a);
	/* The first line only. */
	assert_string_equal(json_string_value(json_object_get(json_array_get(log, 2), "message")),
			    "backup 20261122-043000: CPA v7.1.0");
	assert_int_equal(regcomp(&date, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$",
				 REG_EXTENDED | REG_NOSUB), 0);
	assert_int_equal(regexec(&date, json_string_value(json_object_get(json_array_get(log, 0), "date")), 0,
				 NULL, 0), 0);
	regfree(&date);
	json_decref(log);
	/* At most `max`. */
	assert_int_equal(history_log(f->repo, 2, &log, &err), 0);
	assert_int_equal(json_array_size(log), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(log, 0), "commit")), c);
	json_decref(log);
}

static void test_missing_history(void **state)
{
	struct fixture *f = *state;
	struct cpactl_error err = CPACTL_ERROR_INIT;
	json_t *log = (json_t *)1;
	struct stat st;

	assert_int_equal(history_log(f->repo, 0, &log, &err), -1);
	assert_int_equal(err.kind, ERR_NOT_FOUND);
	assert_null(log);
	read_fails(f, "HEAD", ERR_NOT_FOUND, "no config history");
	/* Reading created nothing. */
	assert_int_equal(stat(f->repo, &st), -1);
	assert_false(history_exists(f->repo));
}

/* --- read ------------------------------------------------------------------ */

static void test_read_revisions(void **state)
{
	struct fixture *f = *state;
	char a[41], b[41], c[41], abbrev[8];

	commit(f, V1, "backup 20261122-043000: CPA v7.1.0\n\nsnapshot: 20261122-043000\n", a, 1);
	commit(f, V2, "backup 20261123-010203: CPA v7.2.0", b, 1);
	commit(f, V2, "backup 20261124-000000: unchanged, no commit", c, 0);
	commit(f, V3, "backup 20261125-000000", c, 1);

	read_rev(f, "HEAD", V3, c);
	read_rev(f, "HEAD~1", V2, b);
	read_rev(f, "HEAD~2", V1, a);
	read_rev(f, a, V1, a);
	snprintf(abbrev, sizeof(abbrev), "%.7s", a);
	read_rev(f, abbrev, V1, a);
	read_rev(f, "20261122-043000", V1, a);
	read_rev(f, "20261123-010203", V2, b);

	read_fails(f, "HEAD~3", ERR_NOT_FOUND, "HEAD~3");
	read_fails(f, "0000000000000000000000000000000000000000", ERR_NOT_FOUND, "no revision");
	read_fails(f, "no-such-branch", ERR_NOT_FOUND, "no-such-branch");
	/* A snapshot that made no commit of its own is not found. */
	read_fails(f, "20261124-000000", ERR_NOT_FOUND, "snapshot '20261124-000000'");
	read_fails(f, "19990101-000000", ERR_NOT_FOUND, "19990101-000000");
	/* A tree or a blob is not a commit. */
	read_fails(f, "HEAD^{tree}", ERR_NOT_FOUND, "not a commit");
}

static void test_snapshot_id_shape(void **state)
{
	(void)state;
	assert_true(history_is_snapshot_id("20261122-043000"));
	assert_false(history_is_snapshot_id("20261122043000"));
	assert_false(history_is_snapshot_id("2026112-0430001"));
	assert_false(history_is_snapshot_id("HEAD"));
	assert_false(history_is_snapshot_id("20261122-04300a"));
	assert_false(history_is_snapshot_id(NULL));
}

/* --- diff ------------------------------------------------------------------ */

static void test_diff(void **state)
{
	struct cpactl_error err = CPACTL_ERROR_INIT;
	struct buf patch = BUF_INIT;
	const char *old = "host: \"\"\nport: 8317\ndebug: false\n";
	const char *new = "host: \"127.0.0.1\"\nport: 8317\ndebug: false\nrequest-retry: 3\n";
	(void)state;

	assert_int_equal(history_diff("abc/config.yaml", old, strlen(old), "live/config.yaml", new, strlen(new),
				      &patch, &err), 0);
	assert_non_null(strstr(buf_str(&patch), "--- a/abc/config.yaml\n"));
	assert_non_null(strstr(buf_str(&patch), "+++ b/live/config.yaml\n"));
	assert_non_null(strstr(buf_str(&patch), "@@ -1,3 +1,4 @@\n"));
	assert_non_null(strstr(buf_str(&patch), "\n-host: \"\"\n+host: \"127.0.0.1\"\n port: 8317\n"));
	assert_non_null(strstr(buf_str(&patch), "\n+request-retry: 3\n"));
	buf_free(&patch);

	/* Equal texts: nothing at all. */
	assert_int_equal(history_diff("a", old, strlen(old), "b", old, strlen(old), &patch, &err), 0);
	assert_int_equal(patch.len, 0);

	/* From nothing, and without a final newline. */
	assert_int_equal(history_diff("a", "", 0, "b", "port: 1", 7, &patch, &err), 0);
	assert_non_null(strstr(buf_str(&patch), "+port: 1\n\\ No newline at end of file\n"));
	buf_free(&patch);
	assert_int_equal(err.kind, ERR_NONE);
}

/* --- permissions ----------------------------------------------------------- */

static int bad_modes;

static int check_private(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)flag;
	(void)ftw;
	if (st->st_mode & 077) {
		fprintf(stderr, "'%s' has mode %04o\n", path, (unsigned)(st->st_mode & 07777));
		bad_modes++;
	}
	return 0;
}

static void test_repository_is_private(void **state)
{
	struct fixture *f = *state;
	char a[41], parent[160];
	struct stat st;
	mode_t old = umask(022); /* a usual umask must not leak into the repository */

	commit(f, V1, "one", a, 1);
	commit(f, V2, "two", a, 1);
	umask(old);
	assert_int_equal(stat(f->repo, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	snprintf(parent, sizeof(parent), "%s/root/.cpactl", f->dir);
	assert_int_equal(stat(parent, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	bad_modes = 0;
	assert_int_equal(nftw(f->repo, check_private, 16, FTW_PHYS), 0);
	assert_int_equal(bad_modes, 0);
	/* And the process umask is given back. */
	old = umask(022);
	assert_int_equal(old, 022);
	umask(old);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commit_and_noop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_content, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_newest_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_history, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_revisions, setup, teardown),
		cmocka_unit_test(test_snapshot_id_shape),
		cmocka_unit_test(test_diff),
		cmocka_unit_test_setup_teardown(test_repository_is_private, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
