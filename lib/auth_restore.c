/*
 * auth_restore.c - see auth_restore.h.
 */
#include "auth_restore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tar_extract.h"
#include "atomic_file.h"
#include "buf.h"

#define AUTH_FILE_MAX ((size_t)16 * 1024 * 1024)

static int same_content(const char *a, const char *b)
{
	char *x = NULL, *y = NULL;
	size_t xl = 0, yl = 0;
	struct cpactl_error e = CPACTL_ERROR_INIT;
	int same = read_small_file(a, AUTH_FILE_MAX, &x, &xl, &e) == 0 &&
		   read_small_file(b, AUTH_FILE_MAX, &y, &yl, &e) == 0 && xl == yl && memcmp(x, y, xl) == 0;

	/* Token files: wipe the copies. */
	if (x)
		memset(x, 0, xl);
	if (y)
		memset(y, 0, yl);
	free(x);
	free(y);
	return same;
}

static int compare_dirs(const char *stage, const char *live, json_t *plan, struct cpactl_error *err)
{
	DIR *d = opendir(stage);
	struct dirent *e;
	struct buf sp = BUF_INIT, lp = BUF_INIT;
	int rc = -1;

	if (!d)
		return error_set_errno(err, errno, ERR_IO, "cannot read '%s'", stage);
	while ((e = readdir(d)) != NULL) {
		struct stat sst, lst;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		buf_reset(&sp);
		buf_reset(&lp);
		buf_appendf(&sp, "%s/%s", stage, e->d_name);
		buf_appendf(&lp, "%s/%s", live, e->d_name);
		if (lstat(sp.data, &sst) < 0 || !S_ISREG(sst.st_mode))
			continue;
		if (lstat(lp.data, &lst) < 0) {
			if (errno != ENOENT) {
				error_set_errno(err, errno, ERR_IO, "cannot check '%s'", lp.data);
				goto out;
			}
			json_array_append_new(json_object_get(plan, "missing"),
					      json_pack("{s:s,s:I}", "name", e->d_name, "ino", (json_int_t)sst.st_ino));
		} else if (!S_ISREG(lst.st_mode) || !same_content(sp.data, lp.data)) {
			json_array_append_new(json_object_get(plan, "differ"), json_string(e->d_name));
		}
	}
	closedir(d);
	d = opendir(live);
	if (!d) {
		error_set_errno(err, errno, ERR_IO, "cannot read '%s'", live);
		goto out;
	}
	while ((e = readdir(d)) != NULL) {
		struct stat sst;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		buf_reset(&sp);
		buf_appendf(&sp, "%s/%s", stage, e->d_name);
		if (lstat(sp.data, &sst) < 0 && errno == ENOENT)
			json_array_append_new(json_object_get(plan, "extra"), json_string(e->d_name));
	}
	rc = 0;
out:
	if (d)
		closedir(d);
	buf_free(&sp);
	buf_free(&lp);
	return rc;
}

int auth_stage(const char *tar_path, const char *live_dir, const char *tag, int exact, json_t **plan,
	       struct cpactl_error *err)
{
	struct buf stage = BUF_INIT;
	struct stat live, st;
	char *copy = strdup(live_dir);
	json_t *p = NULL;
	int rc = -1;

	*plan = NULL;
	if (!copy)
		return error_set(err, ERR_NOMEM, "out of memory");
	if (stat(live_dir, &live) < 0 || !S_ISDIR(live.st_mode)) {
		error_set(err, ERR_FAILED, "the auth dir '%s' is not a directory on this machine", live_dir);
		goto out;
	}
	/* A hidden sibling: the same file system, so renames are atomic. */
	buf_appendf(&stage, "%s/.cpactl-auth-%s", dirname(copy), tag);
	remove_tree(stage.data, err);
	error_clear(err);
	if (mkdir(stage.data, 0700) < 0) {
		error_set_errno(err, errno, ERR_IO, "cannot create '%s'", stage.data);
		goto out;
	}
	if (tar_extract_into(tar_path, stage.data, ".", err) < 0)
		goto out;
	/* Swapped in whole, the copy must look like the dir it replaces. */
	if (chmod(stage.data, live.st_mode & 07777) < 0 ||
	    (chown(stage.data, live.st_uid, live.st_gid) < 0 && errno != EPERM) || stat(stage.data, &st) < 0) {
		error_set_errno(err, errno, ERR_IO, "cannot set up '%s'", stage.data);
		goto out;
	}
	p = json_pack("{s:s,s:s,s:b,s:I,s:[],s:[],s:[]}", "live", live_dir, "stage", stage.data, "exact", exact,
		      "stage_ino", (json_int_t)st.st_ino, "missing", "differ", "extra");
	if (!p) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (compare_dirs(stage.data, live_dir, p, err) < 0)
		goto out;
	*plan = p;
	p = NULL;
	rc = 0;
out:
	if (rc < 0) {
		struct cpactl_error ignored = CPACTL_ERROR_INIT;
		remove_tree(stage.data, &ignored);
	}
	json_decref(p);
	free(copy);
	buf_free(&stage);
	return rc;
}

static int exchange(const char *a, const char *b, struct cpactl_error *err)
{
	if (renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) < 0)
		return error_set_errno(err, errno, ERR_IO, "cannot swap '%s' and '%s'", a, b);
	return 0;
}

int auth_apply(json_t *plan, int forward, struct cpactl_error *err)
{
	const char *live = json_string_value(json_object_get(plan, "live"));
	const char *stage = json_string_value(json_object_get(plan, "stage"));
	json_t *m;
	struct buf sp = BUF_INIT, lp = BUF_INIT;
	struct stat st;
	size_t i;
	int rc = -1;

	if (!live || !stage)
		return error_set(err, ERR_FAILED, "the auth restore plan names no directories");
	if (json_is_true(json_object_get(plan, "exact"))) {
		/* Which dir sits at the live path tells whether the swap happened. */
		int swapped = stat(live, &st) == 0 &&
			      (json_int_t)st.st_ino == json_integer_value(json_object_get(plan, "stage_ino"));
		if (swapped != forward && exchange(stage, live, err) < 0)
			return -1;
		return 0;
	}
	json_array_foreach(json_object_get(plan, "missing"), i, m) {
		const char *name = json_string_value(json_object_get(m, "name"));
		json_int_t ino = json_integer_value(json_object_get(m, "ino"));
		int here;
		buf_reset(&sp);
		buf_reset(&lp);
		buf_appendf(&sp, "%s/%s", stage, name);
		buf_appendf(&lp, "%s/%s", live, name);
		here = lstat(lp.data, &st) == 0 && (json_int_t)st.st_ino == ino;
		if (forward && !here) {
			/* NOREPLACE: a file that appeared since (a new login) wins. */
			if (renameat2(AT_FDCWD, sp.data, AT_FDCWD, lp.data, RENAME_NOREPLACE) < 0 && errno != EEXIST &&
			    errno != ENOENT) {
				error_set_errno(err, errno, ERR_IO, "cannot restore '%s'", lp.data);
				goto out;
			}
		} else if (!forward && here) {
			if (rename(lp.data, sp.data) < 0) {
				error_set_errno(err, errno, ERR_IO, "cannot take back '%s'", lp.data);
				goto out;
			}
		}
	}
	if (fsync_dir(live, err) < 0)
		goto out;
	rc = 0;
out:
	buf_free(&sp);
	buf_free(&lp);
	return rc;
}

void auth_stage_remove(json_t *plan)
{
	const char *stage = json_string_value(json_object_get(plan, "stage"));
	struct cpactl_error ignored = CPACTL_ERROR_INIT;

	if (stage)
		remove_tree(stage, &ignored);
}
