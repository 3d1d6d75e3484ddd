/*
 * test_tar_extract.c - unpacking a tar into a directory, refusing hostile
 * input: "..", absolute paths, symlinks out, writing through a symlink, hard
 * links, devices, FIFOs and damaged archives.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "../../lib/tar_extract.h"
#include "../../lib/error.h"

struct fix {
	char root[256];       /* the temp dir holding everything */
	char tar[PATH_MAX];   /* root/t.tar */
	char dest[PATH_MAX];  /* root/dest, where entries go */
	char other[PATH_MAX]; /* root/other, a directory outside dest */
};

struct ent {
	const char *name;
	mode_t type;          /* AE_IFREG, AE_IFDIR, ... */
	mode_t perm;
	const char *data;     /* AE_IFREG */
	const char *symlink;  /* AE_IFLNK */
	const char *hardlink; /* makes the entry a hard link */
};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_tree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->root, sizeof(f->root), "/tmp/cpactl-test-extract-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->tar, sizeof(f->tar), "%s/t.tar", f->root);
	snprintf(f->dest, sizeof(f->dest), "%s/dest", f->root);
	snprintf(f->other, sizeof(f->other), "%s/other", f->root);
	assert_int_equal(mkdir(f->dest, 0755), 0);
	assert_int_equal(mkdir(f->other, 0755), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	rm_tree(f->root);
	free(f);
	return 0;
}

/* Writes `n` entries into `path` as a pax-restricted tar with no padding of
 * the last block, so the file ends right after the end-of-archive marker. */
static void write_tar(const char *path, const struct ent *ents, size_t n)
{
	struct archive *a = archive_write_new();

	assert_non_null(a);
	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	assert_int_equal(archive_write_set_bytes_in_last_block(a, 1), ARCHIVE_OK);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		const struct ent *x = &ents[i];
		size_t len = x->data ? strlen(x->data) : 0;

		assert_non_null(e);
		archive_entry_set_pathname(e, x->name);
		archive_entry_set_filetype(e, x->type);
		archive_entry_set_perm(e, x->perm);
		archive_entry_set_uid(e, getuid());
		archive_entry_set_gid(e, getgid());
		archive_entry_set_mtime(e, 1700000000, 0);
		if (x->symlink)
			archive_entry_set_symlink(e, x->symlink);
		if (x->hardlink)
			archive_entry_set_hardlink(e, x->hardlink);
		if (x->type == AE_IFCHR)
			archive_entry_set_rdev(e, makedev(1, 3));
		archive_entry_set_size(e, x->type == AE_IFREG && !x->hardlink ? (la_int64_t)len : 0);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		if (len && !x->hardlink)
			assert_int_equal(archive_write_data(a, x->data, len), (la_ssize_t)len);
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "rb");
	char *s;
	long n;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n >= 0);
	rewind(fp);
	s = malloc((size_t)n + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, (size_t)n, fp), (size_t)n);
	s[n] = '\0';
	fclose(fp);
	return s;
}

static void assert_file(const char *dir, const char *rel, const char *content, mode_t perm)
{
	char path[PATH_MAX * 2];
	struct stat st;
	char *got;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, perm);
	got = slurp(path);
	assert_string_equal(got, content);
	free(got);
}

static int exists(const char *dir, const char *rel)
{
	char path[PATH_MAX * 2];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	return lstat(path, &st) == 0;
}

/* Extracts, expects a refusal with a message, and nothing in dest. */
static void expect_refused(struct fix *f, const struct ent *ents, size_t n, enum error_kind kind)
{
	struct cpactl_error err = CPACTL_ERROR_INIT;

	write_tar(f->tar, ents, n);
	assert_int_equal(tar_extract_into(f->tar, f->dest, NULL, &err), -1);
	assert_int_equal(err.kind, kind);
	assert_true(err.message[0] != '\0');
}

static void test_normal_with_strip(void **state)
{
	struct fix *f = *state;
	struct cpactl_error err = CPACTL_ERROR_INIT;
	const struct ent ents[] = {
		{ "auth", AE_IFDIR, 0755, NULL, NULL, NULL },
		{ "auth/claude-a.json", AE_IFREG, 0600, "{\"token\":\"a\"}\n", NULL, NULL },
		{ "auth/sub/x.json", AE_IFREG, 0644, "{\"x\":1}", NULL, NULL },
	};
	struct stat st;
	char sub[PATH_MAX * 2];

	write_tar(f->tar, ents, sizeof(ents) / sizeof(ents[0]));
	assert_int_equal(tar_extract_into(f->tar, f->dest, "auth", &err), 0);
	assert_int_equal(err.kind, ERR_NONE);
	assert_file(f->dest, "claude-a.json", "{\"token\":\"a\"}\n", 0600);
	assert_file(f->dest, "sub/x.json", "{\"x\":1}", 0644);
	snprintf(sub, sizeof(sub), "%s/sub", f->dest);
	assert_int_equal(lstat(sub, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	/* The "auth" entry itself is skipped, not recreated inside dest. */
	assert_false(exists(f->dest, "auth"));
	/* dest itself keeps its mode: the "auth" entry did not touch it. */
	assert_int_equal(lstat(f->dest, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
}

static void test_no_strip_keeps_names(void **state)
{
	struct fix *f = *state;
	struct cpactl_error err = CPACTL_ERROR_INIT;
	const struct ent ents[] = {
		{ "auth", AE_IFDIR, 0700, NULL, NULL, NULL },
		{ "auth/claude-a.json", AE_IFREG, 0600, "a", NULL, NULL },
		{ "./top.txt", AE_IFREG, 0640, "top", NULL, NULL },
	};
	struct stat st;
	char p[PATH_MAX * 2];

	write_tar(f->tar, ents, sizeof(ents) / sizeof(ents[0]));
	assert_int_equal(tar_extract_into(f->tar, f->dest, NULL, &err), 0);
	assert_file(f->dest, "auth/claude-a.json", "a", 0600);
	assert_file(f->dest, "top.txt", "top", 0640);
	snprintf(p, sizeof(p), "%s/auth", f->dest);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
}

static void test_dotdot_refused(void **state)
{
	struct fix *f = *state;
	const struct ent ents[] = {
		{ "../evil", AE_IFREG, 0644, "evil", NULL, NULL },
	};

	expect_refused(f, ents, 1, ERR_CHECK);
	assert_false(exists(f->dest, "../evil"));
	assert_false(exists(f->root, "evil"));
}

static void test_inner_dotdot_refused(void **state)
{
	struct fix *f = *state;
	const struct ent ents[] = {
		{ "a/../../evil", AE_IFREG, 0644, "evil", NULL, NULL },
	};

	expect_refused(f, ents, 1, ERR_CHECK);
	assert_false(exists(f->root, "evil"));
	assert_false(exists(f->dest, "a"));
}

static void test_dotdot_after_strip_refused(void **state)
{
	struct fix *f = *state;
	struct cpactl_error err = CPACTL_ERROR_INIT;
	const struct ent ents[] = {
		{ "auth/../evil", AE_IFREG, 0644, "evil", NULL, NULL },
		{ "auth/..", AE_IFDIR, 0777, NULL, NULL, NULL },
	};

	write_tar(f->tar, ents, 1);
	assert_int_equal(tar_extract_into(f->tar, f->dest, "auth", &err), -1);
	assert_int_equal(err.kind, ERR_CHECK);
	assert_false(exists(f->root, "evil"));

	error_clear(&err);
	write_tar(f->tar, ents + 1, 1);
	assert_int_equal(tar_extract_into(f->tar, f->dest, "auth", &err), -1);
	assert_int_equal(err.kind, ERR_CHECK);
}

static void test_absolute_refused(void **state)
{
	struct fix *f = *state;
	char abs[PATH_MAX * 2];
	struct ent ents[] = {
		{ NULL, AE_IFREG, 0644, "evil", NULL, NULL },
	};

	snprintf(abs, sizeof(abs), "%s/evil", f->other);
	ents[0].name = abs;
	expect_refused(f, ents, 1, ERR_CHECK);
	assert_false(exists(f->other, "evil"));
	/* Nor was it created under dest as "dest//tmp/.../evil". */
	assert_false(exists(f->dest, "tmp"));
}

static void test_symlink_absolute_refused(void **state)
{
	struct fix *f = *state;
	const struct ent ents[] = {
		{ "link", AE_IFLNK, 0777, NULL, "/etc/passwd", NULL },
	};

	expect_refused(f, ents, 1, ERR_CHECK);
	assert_false(exists(f->dest, "link"));
}

static void test_symlink_dotdot_refused(void **state)
{
	struct fix *f = *state;
	const struct ent ents[] = {
		{ "link", AE_IFLNK, 0777, NULL, "../x", NULL },
	};

	expect_refused(f, ents, 1, ERR_CHECK);
	assert_false(exists(f->dest, "link"));
}

static void test_symlink_inside_accepted(void **state)
{
	struct fix *f = *state;
	struct cpactl_error err = CPACTL_ERROR_INIT;
	const struct ent ents[] = {
		{ "target", AE_IFREG, 0644, "t", NULL, NULL },
		{ "link", AE_IFLNK, 0777, NULL, "target", NULL },
	};
	char p[PATH_MAX * 2], got[PATH_MAX];
	struct stat st;
	ssize_t n;

	write_tar(f->tar, ents, 2);
	assert_int_equal(tar_extract_into(f->tar, f->dest, NULL, &err), 0);
	snprintf(p, sizeof(p), "%s/link", f->dest);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	n = readlink(p, got, sizeof(got) - 1);
	assert_true(n > 0);
	got[n] = '\0';
	assert_string_equal(got, "target");
	assert_file(f->dest, "target", "t", 0644);
}

/* dest/out -> <other> already exists; the entry "out/pwned" must not land in
 * <other>. */
static void test_write_through_existing_symlink_refused(void **state)
{
	struct fix *f = *state;
	struct cpactl_error err = CPACTL_ERROR_INIT;
	const struct ent ents[] = {
		{ "out/pwned", AE_IFREG, 0644, "pwned", NULL, NULL },
	};
	char p[PATH_MAX * 2];
	int rc;

	snprintf(p, sizeof(p), "%s/out", f->dest);
	assert_int_equal(symlink(f->other, p), 0);
	write_tar(f->tar, ents, 1);
	rc = tar_extract_into(f->tar, f->dest, NULL, &err);
	/* Whatever happens, nothing may be written through the link. */
	assert_false(exists(f->other, "pwned"));
	assert_int_equal(rc, -1);
	assert_true(err.message[0] != '\0');
}

/* Same, with the symlink planted by an earlier entry of the same tar. */
static void test_write_through_own_symlink_refused(void **state)
{
	struct fix *f = *state;
	struct cpactl_error err = CPACTL_ERROR_INIT;
	const struct ent ents[] = {
		{ "sub", AE_IFDIR, 0755, NULL, NULL, NULL },
		{ "d", AE_IFLNK, 0777, NULL, "sub", NULL },
		{ "d/file", AE_IFREG, 0644, "x", NULL, NULL },
	};
	int rc;

	write_tar(f->tar, ents, 3);
	rc = tar_extract_into(f->tar, f->dest, NULL, &err);
	assert_false(exists(f->dest, "sub/file"));
	assert_int_equal(rc, -1);
	assert_true(err.message[0] != '\0');
}

/* dest reached through a symlinked ancestor (root/link -> root/real): the
 * extraction must leave that ancestor, which is outside dest, alone. */
static void test_dest_behind_symlink_untouched(void **state)
{
	struct fix *f = *state;
	struct cpactl_error err = CPACTL_ERROR_INIT;
	const struct ent ents[] = {
		{ "f", AE_IFREG, 0644, "x", NULL, NULL },
	};
	char real[PATH_MAX], link[PATH_MAX], dest[PATH_MAX * 2];
	struct stat st;

	snprintf(real, sizeof(real), "%s/real", f->root);
	snprintf(link, sizeof(link), "%s/link", f->root);
	snprintf(dest, sizeof(dest), "%s/dest", link);
	assert_int_equal(mkdir(real, 0755), 0);
	assert_int_equal(symlink("real", link), 0);
	assert_int_equal(mkdir(dest, 0755), 0);
	write_tar(f->tar, ents, 1);
	(void)tar_extract_into(f->tar, dest, NULL, &err);
	/* Whether or not it succeeds, root/link must still be the symlink. */
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(err.kind, ERR_NONE);
	assert_file(real, "dest/f", "x", 0644);
}

static void test_hardlink_refused(void **state)
{
	struct fix *f = *state;
	const struct ent ents[] = {
		{ "a", AE_IFREG, 0644, "a", NULL, NULL },
		{ "b", AE_IFREG, 0644, NULL, NULL, "a" },
	};

	expect_refused(f, ents, 2, ERR_CHECK);
	assert_false(exists(f->dest, "b"));
}

/* A name longer than the longest path was once cut silently to 4095 bytes:
 * the file landed under another name than the tar says.  Refused now. */
static void test_overlong_name_refused(void **state)
{
	struct fix *f = *state;
	struct cpactl_error err = CPACTL_ERROR_INIT;
	char *name = malloc(5001);
	struct ent ents[] = { { NULL, AE_IFREG, 0644, "x", NULL, NULL } };

	assert_non_null(name);
	/* "d/d/d/.../long-file-name": 5000 bytes, each component short. */
	for (int i = 0; i < 4980; i += 2)
		memcpy(name + i, "d/", 2);
	memcpy(name + 4980, "long-file-name-of-20", 20);
	name[5000] = '\0';
	ents[0].name = name;
	write_tar(f->tar, ents, 1);
	assert_int_equal(tar_extract_into(f->tar, f->dest, NULL, &err), -1);
	assert_int_equal(err.kind, ERR_CHECK);
	assert_non_null(strstr(err.message, "too long"));
	assert_false(exists(f->dest, "d"));
	free(name);
}

static void test_hardlink_outside_refused(void **state)
{
	struct fix *f = *state;
	const struct ent ents[] = {
		{ "shadow", AE_IFREG, 0644, NULL, NULL, "/etc/shadow" },
	};

	expect_refused(f, ents, 1, ERR_CHECK);
	assert_false(exists(f->dest, "shadow"));
}

static void test_chardev_refused(void **state)
{
	struct fix *f = *state;
	const struct ent ents[] = {
		{ "null", AE_IFCHR, 0666, NULL, NULL, NULL },
	};

	expect_refused(f, ents, 1, ERR_CHECK);
	assert_false(exists(f->dest, "null"));
}

static void test_fifo_refused(void **state)
{
	struct fix *f = *state;
	const struct ent ents[] = {
		{ "fifo", AE_IFIFO, 0644, NULL, NULL, NULL },
	};

	expect_refused(f, ents, 1, ERR_CHECK);
	assert_false(exists(f->dest, "fifo"));
}

static void test_truncated(void **state)
{
	struct fix *f = *state;
	struct cpactl_error err = CPACTL_ERROR_INIT;
	char data[2049];
	struct ent ents[] = {
		{ "big", AE_IFREG, 0644, NULL, NULL, NULL },
	};
	struct stat st;
	off_t header_end;

	memset(data, 'z', sizeof(data) - 1);
	data[sizeof(data) - 1] = '\0';
	ents[0].data = data;
	write_tar(f->tar, ents, 1);
	assert_int_equal(stat(f->tar, &st), 0);
	/* headers + 2048 bytes of data + 1024 bytes of end marker, no padding */
	header_end = st.st_size - 2048 - 1024;
	assert_true(header_end >= 512);
	assert_int_equal(truncate(f->tar, header_end + 256), 0);
	assert_int_equal(tar_extract_into(f->tar, f->dest, NULL, &err), -1);
	assert_int_equal(err.kind, ERR_IO);
	assert_non_null(strstr(err.message, f->tar));
}

static void test_missing_tar(void **state)
{
	struct fix *f = *state;
	struct cpactl_error err = CPACTL_ERROR_INIT;

	assert_int_equal(tar_extract_into(f->tar, f->dest, NULL, &err), -1);
	assert_int_equal(err.kind, ERR_IO);
	assert_non_null(strstr(err.message, "cannot read"));
}

static void test_not_a_tar(void **state)
{
	struct fix *f = *state;
	struct cpactl_error err = CPACTL_ERROR_INIT;
	FILE *fp = fopen(f->tar, "wb");
	char junk[1024];

	assert_non_null(fp);
	memset(junk, 'q', sizeof(junk));
	assert_int_equal(fwrite(junk, 1, sizeof(junk), fp), sizeof(junk));
	fclose(fp);
	assert_int_equal(tar_extract_into(f->tar, f->dest, NULL, &err), -1);
	assert_true(err.message[0] != '\0');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_normal_with_strip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_strip_keeps_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dotdot_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inner_dotdot_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dotdot_after_strip_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_absolute_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_absolute_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_dotdot_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_inside_accepted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_through_existing_symlink_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_through_own_symlink_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dest_behind_symlink_untouched, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hardlink_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlong_name_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hardlink_outside_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chardev_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_tar, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_tar, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
