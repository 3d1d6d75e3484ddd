/*
 * archiving.c - see archiving.h.
 *
 * The order of the work is what makes it safe to kill at any instant:
 *   1 finish what an interrupted run left (archive/.*.deleting, .*.tmp)
 *   2 plan, from snapshot_list() and the names under archive/ (pure)
 *   3 create the new archive: README.md and the listing written in
 *     archive/.<name>.tmp, which is then renamed into place
 *   4 move the snapshots, one rename each
 *   5 rescue the last restorable snapshot out of an archive to delete
 *   6 delete old archives: rename to .<name>.deleting, sync, remove
 *   7 the seals of snapshots that are gone
 *   8 mark and sweep: image indexes, then blobs, last of all
 *   9 the engine: retire containers, then tags; prune dangling images
 * Renames that later steps depend on are synced first: a power cut must not
 * keep the deletion of an archive but lose the rescue out of it, nor keep
 * the removal of blobs but lose the deletion of the snapshots that used them.
 */
#include "archiving.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomic_file.h"
#include "blobstore.h"
#include "buf.h"
#include "journal.h"
#include "lineage.h"
#include "operation.h"
#include "rollback.h"
#include "snapshot.h"
#include "upgrade.h"

#define ARCHIVE_STAMP_LEN 13 /* YYYYmmdd-HHMM */
#define ARCHIVE_PREFIX "archive/"
#define README_MAX ((size_t)1024 * 1024)

struct archiving {
	struct docker_client *c;
	const struct cpa_target *t;
	const struct deployment *d;
	const struct archiving_options *o;
	json_t *report;
	json_t *notes;
	uint64_t bytes_freed;
	char now[32]; /* RFC 3339, UTC */
};

static void vsay(struct archiving *r, const char *prefix, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static void vsay(struct archiving *r, const char *prefix, const char *fmt, va_list ap)
{
	char text[1600];
	struct buf line = BUF_INIT;

	vsnprintf(text, sizeof(text), fmt, ap);
	if (r->o->say && buf_appendf(&line, "%s%s", prefix, text) == 0)
		r->o->say(r->o->ctx, line.data);
	if (*prefix)
		json_array_append_new(r->notes, json_string(text));
	buf_free(&line);
}

static void sayf(struct archiving *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sayf(struct archiving *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsay(r, "", fmt, ap);
	va_end(ap);
}

/* A note is said and kept in the report's "notes". */
static void note(struct archiving *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct archiving *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsay(r, "note: ", fmt, ap);
	va_end(ap);
}

/* "moved" or "would move": the same sentence for the act and the plan. */
static const char *verb(const struct archiving *r, const char *done, const char *planned)
{
	return r->o->dry_run ? planned : done;
}

/* nftw(3) has no context pointer; this module is single-threaded. */
static uint64_t tree_total;

static int add_file_bytes(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (flag == FTW_F && S_ISREG(st->st_mode))
		tree_total += (uint64_t)st->st_size;
	return 0;
}

/* The bytes of the regular files under `path` (0 when it is gone). */
static uint64_t tree_bytes(const char *path)
{
	tree_total = 0;
	nftw(path, add_file_bytes, 32, FTW_PHYS);
	return tree_total;
}

static int is_hex64(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!isxdigit((unsigned char)s[n]) || isupper((unsigned char)s[n]))
			return 0;
	return n == SHA256_HEX_LEN;
}

static int json_array_has(const json_t *array, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(array, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return 1;
	return 0;
}

/* --- the pure parts ---------------------------------------------------------------- */

int archiving_archive_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (len < ARCHIVE_STAMP_LEN || name[8] != '-')
		return 0;
	for (size_t i = 0; i < ARCHIVE_STAMP_LEN; i++)
		if (i != 8 && !isdigit((unsigned char)name[i]))
			return 0;
	if (len == ARCHIVE_STAMP_LEN)
		return 1;
	/* -N: N from 2, no leading zero, at most 4 digits. */
	if (name[ARCHIVE_STAMP_LEN] != '-' || len < ARCHIVE_STAMP_LEN + 2 || len > ARCHIVE_STAMP_LEN + 5 ||
	    name[ARCHIVE_STAMP_LEN + 1] == '0')
		return 0;
	for (size_t i = ARCHIVE_STAMP_LEN + 1; i < len; i++)
		if (!isdigit((unsigned char)name[i]))
			return 0;
	return atol(name + ARCHIVE_STAMP_LEN + 1) >= 2;
}

static long archive_suffix(const char *name)
{
	return strlen(name) > ARCHIVE_STAMP_LEN + 1 ? atol(name + ARCHIVE_STAMP_LEN + 1) : 1;
}

int archiving_archive_name_compare(const char *a, const char *b)
{
	int c = strncmp(a, b, ARCHIVE_STAMP_LEN);
	long x, y;

	if (c)
		return c;
	x = archive_suffix(a);
	y = archive_suffix(b);
	return x < y ? -1 : x > y;
}

static int compare_names(const void *a, const void *b)
{
	return archiving_archive_name_compare(*(const char *const *)a, *(const char *const *)b);
}

/* stamp, or stamp-N with N above every archive of the same minute, so that
 * names keep sorting by age even after older ones were deleted. */
static int unique_archive_name(const json_t *names, const char *stamp, char *out, size_t len)
{
	long n = 0;
	size_t i;
	json_t *v;

	json_array_foreach(names, i, v) {
		const char *name = json_string_value(v);
		if (name && archiving_archive_name_valid(name) && strncmp(name, stamp, ARCHIVE_STAMP_LEN) == 0 &&
		    archive_suffix(name) > n)
			n = archive_suffix(name);
	}
	for (n++;; n++) {
		if (n > 9999)
			return -1;
		if (n == 1)
			snprintf(out, len, "%s", stamp);
		else
			snprintf(out, len, "%s-%ld", stamp, n);
		if (!json_array_has(names, out))
			return 0;
	}
}

static json_t *location_of(const char *name)
{
	struct buf b = BUF_INIT;
	json_t *v;

	buf_appendf(&b, ARCHIVE_PREFIX "%s", name);
	v = json_string(buf_str(&b));
	buf_free(&b);
	return v;
}

enum fate { FATE_STAY, FATE_MOVE, FATE_KEEP, FATE_DELETE, FATE_RESCUE };

int archiving_plan(const json_t *snapshots, const json_t *archive_names, int keep, const char *stamp,
		   archiving_restorable_fn restorable, void *ctx, json_t **plan, struct cpactl_error *err)
{
	size_t n = json_array_size(snapshots), nmanaged = 0, ndelete = 0, i;
	const char **managed = calloc(json_array_size(archive_names) + 1, sizeof(*managed));
	enum fate *fates = calloc(n + 1, sizeof(*fates));
	const char *newest = NULL, *restorable_id = NULL;
	char new_name[64] = "";
	json_t *p = NULL, *deleted = NULL, *v;
	long rescued = -1;
	int rc = -1, moves = 0;

	*plan = NULL;
	if (!managed || !fates) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (keep < 1) {
		error_set(err, ERR_USAGE, "the number of archives to keep must be at least 1");
		goto out;
	}
	json_array_foreach(snapshots, i, v) {
		const char *id = json_string_value(json_object_get(v, "id"));
		if (id && strcmp(json_string_value(json_object_get(v, "location")) ?: "", "backup") == 0 &&
		    (!newest || strcmp(id, newest) > 0))
			newest = id;
	}
	json_array_foreach(archive_names, i, v)
		if (json_is_string(v) && archiving_archive_name_valid(json_string_value(v)))
			managed[nmanaged++] = json_string_value(v);
	qsort(managed, nmanaged, sizeof(*managed), compare_names);

	/* What moves: every snapshot of backup/ but the newest. */
	json_array_foreach(snapshots, i, v) {
		const char *loc = json_string_value(json_object_get(v, "location")) ?: "";
		fates[i] = FATE_KEEP;
		if (strcmp(loc, "backup") == 0) {
			fates[i] = strcmp(json_string_value(json_object_get(v, "id")) ?: "", newest) == 0 ? FATE_STAY
													 : FATE_MOVE;
			moves += fates[i] == FATE_MOVE;
		}
	}
	if (moves && unique_archive_name(archive_names, stamp, new_name, sizeof(new_name)) < 0) {
		error_set(err, ERR_IO, "no free archive name for '%s'", stamp);
		goto out;
	}
	/* The new archive counts as the newest, whatever the names of the others. */
	if (nmanaged + (moves ? 1 : 0) > (size_t)keep)
		ndelete = nmanaged + (moves ? 1 : 0) - (size_t)keep;
	deleted = json_array();
	for (i = 0; i < ndelete; i++)
		json_array_append_new(deleted, location_of(managed[i]));
	json_array_foreach(snapshots, i, v)
		if (json_array_has(deleted, json_string_value(json_object_get(v, "location")) ?: ""))
			fates[i] = FATE_DELETE;

	/* The newest snapshot that can be rolled back to offline among those that
	 * stay; else the newest among those that would go, rescued. */
	for (i = n; i-- > 0 && !restorable_id;)
		if (fates[i] != FATE_DELETE && restorable(ctx, json_array_get(snapshots, i)))
			restorable_id = json_string_value(json_object_get(json_array_get(snapshots, i), "id"));
	for (i = n; i-- > 0 && !restorable_id;)
		if (fates[i] == FATE_DELETE && restorable(ctx, json_array_get(snapshots, i))) {
			restorable_id = json_string_value(json_object_get(json_array_get(snapshots, i), "id"));
			fates[i] = FATE_RESCUE;
			rescued = (long)i;
		}

	p = json_pack("{s:s?,s:[],s:o,s:[],s:O,s:[],s:[],s:n,s:s?}", "stays_in_backup", newest, "moved",
		      "archive_dir", moves ? location_of(new_name) : json_null(), "kept_archives", "deleted_archives",
		      deleted, "deleted_snapshots", "kept", "rescued", "restorable", restorable_id);
	if (!p) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = ndelete; i < nmanaged; i++)
		json_array_append_new(json_object_get(p, "kept_archives"), location_of(managed[i]));
	if (moves)
		json_array_append(json_object_get(p, "kept_archives"), json_object_get(p, "archive_dir"));
	json_array_foreach(snapshots, i, v) {
		json_t *id = json_object_get(v, "id");
		if (fates[i] == FATE_MOVE)
			json_array_append(json_object_get(p, "moved"), id);
		json_array_append(json_object_get(p, fates[i] == FATE_DELETE ? "deleted_snapshots" : "kept"), id);
	}
	if (rescued >= 0) {
		/* Into the newest archive that stays: the new one, else the last kept. */
		json_t *kept = json_object_get(p, "kept_archives");
		json_t *s = json_array_get(snapshots, (size_t)rescued);
		json_object_set_new(p, "rescued",
				    json_pack("{s:O,s:O,s:O}", "id", json_object_get(s, "id"), "from",
					      json_object_get(s, "location"), "to",
					      json_array_get(kept, json_array_size(kept) - 1)));
	}
	*plan = p;
	p = NULL;
	rc = 0;
out:
	json_decref(p);
	json_decref(deleted);
	free(managed);
	free(fates);
	return rc;
}

int archiving_mark_layers(const json_t *layers, json_t *blobs, json_t *images, struct cpactl_error *err)
{
	json_t *entries = json_object_get(layers, "entries"), *e;
	const char *image_id = json_string_value(json_object_get(layers, "image_id"));
	size_t i;

	if (!json_is_array(entries))
		return error_set(err, ERR_PARSE, "it holds no entry list");
	json_array_foreach(entries, i, e) {
		json_t *sha = json_object_get(e, "sha256");
		const char *type = json_string_value(json_object_get(e, "type"));
		if (!sha && !(type && strcmp(type, "file") == 0))
			continue; /* directories and links have no blob */
		if (!json_is_string(sha) || !is_hex64(json_string_value(sha)))
			return error_set(err, ERR_PARSE, "entry %zu names no valid blob", i);
		json_object_set_new(blobs, json_string_value(sha), json_true());
	}
	if (image_id) {
		if (strncmp(image_id, "sha256:", 7) == 0)
			image_id += 7;
		json_object_set_new(images, image_id, json_true());
	}
	return 0;
}

/* --- what is on disk ------------------------------------------------------------ */

/* The names under archive/ that do not start with a dot. */
static int list_archive_names(const struct deployment *d, json_t **out, struct cpactl_error *err)
{
	DIR *dir = opendir(d->archive_dir);
	struct dirent *e;

	*out = json_array();
	if (!*out)
		return error_set(err, ERR_NOMEM, "out of memory");
	if (!dir)
		return errno == ENOENT ? 0 : error_set_errno(err, errno, ERR_IO, "cannot read '%s'", d->archive_dir);
	while ((e = readdir(dir)) != NULL)
		if (e->d_name[0] != '.')
			json_array_append_new(*out, json_string(e->d_name));
	closedir(dir);
	return 0;
}

/* A snapshot can be rolled back to offline when its image was saved, every
 * blob is there (the listing's cheap check), and verify passes. */
static int snapshot_restorable(void *ctx, const json_t *s)
{
	struct archiving *r = ctx;
	struct cpactl_error e = CPACTL_ERROR_INIT;
	const char *id = json_string_value(json_object_get(s, "id"));
	json_t *report = NULL;
	int all_ok = 0;

	if (!id || !json_is_true(json_object_get(s, "offline")))
		return 0;
	if (snapshot_verify(r->d, id, &report, &all_ok, &e) < 0)
		all_ok = 0;
	json_decref(report);
	if (!all_ok)
		note(r, "snapshot %s has its image but does not pass 'cpactl verify %s': it does not count as one to "
			"roll back to",
		     id, id);
	return all_ok;
}

/* Removes archive/.<name>.deleting and archive/.<name>.tmp that an
 * interrupted run left (a .tmp holds only README.md and the listing:
 * snapshots move in after it is renamed). */
static int remove_leftovers(struct archiving *r, struct cpactl_error *err)
{
	DIR *dir = opendir(r->d->archive_dir);
	json_t *done = json_array();
	struct dirent *e;
	int rc = -1;

	json_object_set_new(r->report, "leftovers_removed", done);
	if (!dir)
		return errno == ENOENT ? 0 : error_set_errno(err, errno, ERR_IO, "cannot read '%s'", r->d->archive_dir);
	while ((e = readdir(dir)) != NULL) {
		size_t len = strlen(e->d_name);
		struct buf path = BUF_INIT;
		int deleting = len > 10 && strcmp(e->d_name + len - 9, ".deleting") == 0;
		int tmp = len > 5 && strcmp(e->d_name + len - 4, ".tmp") == 0;

		if (e->d_name[0] != '.' || !(deleting || tmp))
			continue;
		buf_appendf(&path, "%s/%s", r->d->archive_dir, e->d_name);
		r->bytes_freed += tree_bytes(path.data);
		if (!r->o->dry_run && remove_tree(path.data, err) < 0) {
			buf_free(&path);
			goto out;
		}
		buf_free(&path);
		buf_appendf(&path, ARCHIVE_PREFIX "%s", e->d_name);
		json_array_append_new(done, json_string(path.data));
		sayf(r, "%s %s, left by an interrupted run", verb(r, "removed", "would remove"), path.data);
		buf_free(&path);
	}
	rc = 0;
out:
	closedir(dir);
	return rc;
}

/* --- the new archive --------------------------------------------------------------- */

static void listing_append(struct buf *b, const json_t *snapshots)
{
	size_t i;
	json_t *s;

	buf_appendf(b, "%-16s %-21s %-10s %14s %-8s %s\n", "ID", "CREATED", "VERSION", "BYTES", "OFFLINE", "IMAGE");
	json_array_foreach(snapshots, i, s) {
		if (strcmp(json_string_value(json_object_get(s, "location")) ?: "", "backup") != 0)
			continue;
		buf_appendf(b, "%-16s %-21s %-10s %14lld %-8s %s\n", json_string_value(json_object_get(s, "id")),
			    json_string_value(json_object_get(s, "created")) ?: "?",
			    json_string_value(json_object_get(s, "version")) ?: "?",
			    (long long)json_integer_value(json_object_get(s, "bytes")),
			    json_is_true(json_object_get(s, "offline")) ? "yes" : "no",
			    json_string_value(json_object_get(s, "image")) ?: "?");
	}
}

static void rescue_append(struct buf *b, const json_t *rescued, const char *when)
{
	buf_appendf(b,
		    "\n## Kept from a deleted archive\n\n"
		    "`%s` was moved here from `%s` on %s, when that archive was deleted: it was the\n"
		    "last snapshot that can be rolled back to offline (its image saved, every blob\n"
		    "present, `cpactl verify` passing).\n",
		    json_string_value(json_object_get(rescued, "id")), json_string_value(json_object_get(rescued, "from")),
		    when);
}

static char *readme_text(const struct archiving *r, const json_t *plan, const json_t *snapshots)
{
	struct buf b = BUF_INIT;
	const json_t *rescued = json_object_get(plan, "rescued");
	const char *dir = json_string_value(json_object_get(plan, "archive_dir"));
	json_t *v, *s;
	size_t i, k;

	buf_appendf(&b, "# %s\n\nMade by `cpactl archive` (cpactl %s) on %s (UTC).\n\n", dir,
		    r->o->cpactl_version ? r->o->cpactl_version : "unknown", r->now);
	buf_appendf(&b, "## What was moved here\n\nThese snapshots were moved from `backup/`, each a complete "
			"directory, still sealed:\n\n");
	json_array_foreach(json_object_get(plan, "moved"), i, v) {
		const char *version = "?", *image = "?";
		json_array_foreach(snapshots, k, s)
			if (strcmp(json_string_value(json_object_get(s, "id")) ?: "", json_string_value(v)) == 0) {
				version = json_string_value(json_object_get(s, "version")) ?: "?";
				image = json_is_true(json_object_get(s, "offline")) ? "image saved" : "no image";
			}
		buf_appendf(&b, "- `%s` (CPA %s, %s)\n", json_string_value(v), version, image);
	}
	buf_appendf(&b,
		    "\n`backup/` keeps the newest snapshot, `%s`.  The listing of `backup/` before the\n"
		    "move is in `PRE_ARCHIVE_SNAPSHOT.txt`.  If cpactl was interrupted, a snapshot named\n"
		    "above may still be in `backup/`: `cpactl list` says where each one is.\n",
		    json_string_value(json_object_get(plan, "stays_in_backup")));
	buf_appendf(&b,
		    "\n## What was not touched\n\n"
		    "The live `config.yaml`, the live auth directory and the running container\n"
		    "`%s` were not touched: `cpactl archive` only moves and deletes cpactl's own\n"
		    "snapshot directories, blobs, seals and image indexes, and the stopped\n"
		    "containers and image tags that cpactl kept aside for older snapshots.\n",
		    r->t->name);
	buf_appendf(&b,
		    "\n## Rolling back to a snapshot of this archive\n\n"
		    "    cpactl verify <ID>\n"
		    "    cpactl rollback <ID>\n\n"
		    "The image of an archived snapshot is rebuilt from the blob store\n"
		    "(`.cpactl/store/`) when its rollback tag is gone; `cpactl list` shows which\n"
		    "snapshots can be restored offline.\n");
	if (json_is_object(rescued))
		rescue_append(&b, rescued, r->now);
	return buf_detach(&b);
}

static int write_into(const char *dir, const char *name, const char *text, struct cpactl_error *err)
{
	struct buf path = BUF_INIT;
	int rc;

	buf_appendf(&path, "%s/%s", dir, name);
	rc = atomic_write_file(buf_str(&path), text, strlen(text), 0600, err);
	buf_free(&path);
	return rc;
}

/* archive/<name>/ appears complete with its README.md and listing: built as
 * archive/.<name>.tmp and renamed. */
static int create_archive(struct archiving *r, const json_t *plan, const json_t *snapshots,
			  struct cpactl_error *err)
{
	const char *loc = json_string_value(json_object_get(plan, "archive_dir"));
	struct buf tmp = BUF_INIT, final = BUF_INIT, listing = BUF_INIT;
	char *readme = readme_text(r, plan, snapshots);
	int rc = -1, made = 0;

	buf_appendf(&tmp, "%s/.%s.tmp", r->d->archive_dir, loc + strlen(ARCHIVE_PREFIX));
	buf_appendf(&final, "%s/%s", r->d->root, loc);
	buf_appendf(&listing, "# backup/ of %s before 'cpactl archive' on %s (UTC)\n", r->d->root, r->now);
	listing_append(&listing, snapshots);
	if (!readme || !tmp.data || !final.data || !listing.data) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (make_private_dirs(r->d->archive_dir, err) < 0)
		goto out;
	if (mkdir(tmp.data, 0700) < 0) {
		error_set_errno(err, errno, ERR_IO, "cannot create '%s'", tmp.data);
		goto out;
	}
	made = 1;
	if (write_into(tmp.data, "PRE_ARCHIVE_SNAPSHOT.txt", listing.data, err) < 0 ||
	    write_into(tmp.data, "README.md", readme, err) < 0 || fsync_dir(tmp.data, err) < 0)
		goto out;
	if (renameat2(AT_FDCWD, tmp.data, AT_FDCWD, final.data, RENAME_NOREPLACE) < 0) {
		error_set_errno(err, errno, ERR_IO, "cannot create the archive '%s'", final.data);
		goto out;
	}
	made = 0;
	rc = fsync_dir(r->d->archive_dir, err);
out:
	if (made) {
		struct cpactl_error ignored = CPACTL_ERROR_INIT;
		remove_tree(tmp.data, &ignored);
	}
	free(readme);
	buf_free(&tmp);
	buf_free(&final);
	buf_free(&listing);
	return rc;
}

/* Renames ROOT/<from>/<id> to ROOT/<to>/<id>, never over anything. */
static int move_snapshot(struct archiving *r, const char *id, const char *from, const char *to,
			 struct cpactl_error *err)
{
	struct buf src = BUF_INIT, dst = BUF_INIT;
	int rc = 0;

	buf_appendf(&src, "%s/%s/%s", r->d->root, from, id);
	buf_appendf(&dst, "%s/%s/%s", r->d->root, to, id);
	if (renameat2(AT_FDCWD, buf_str(&src), AT_FDCWD, buf_str(&dst), RENAME_NOREPLACE) < 0)
		rc = error_set_errno(err, errno, ERR_IO, "cannot move '%s' to '%s'", buf_str(&src), buf_str(&dst));
	buf_free(&src);
	buf_free(&dst);
	return rc;
}

static int fsync_location(const struct archiving *r, const char *loc, struct cpactl_error *err)
{
	struct buf path = BUF_INIT;
	int rc;

	buf_appendf(&path, "%s/%s", r->d->root, loc);
	rc = fsync_dir(buf_str(&path), err);
	buf_free(&path);
	return rc;
}

/* Adds the rescue to the README.md of an archive that existed already. */
static int readme_add_rescue(struct archiving *r, const json_t *rescued, struct cpactl_error *err)
{
	struct buf path = BUF_INIT, text = BUF_INIT;
	struct cpactl_error missing = CPACTL_ERROR_INIT;
	char *old = NULL;
	size_t len = 0;
	int rc;

	buf_appendf(&path, "%s/%s/README.md", r->d->root, json_string_value(json_object_get(rescued, "to")));
	if (read_small_file(buf_str(&path), README_MAX, &old, &len, &missing) == 0)
		buf_append(&text, old, len);
	rescue_append(&text, rescued, r->now);
	rc = atomic_write_file(buf_str(&path), buf_str(&text), text.len, 0600, err);
	free(old);
	buf_free(&path);
	buf_free(&text);
	return rc;
}

/* "a, b, c", or "a, b, c, ... and 7 more" when long: the report has them all. */
static void append_ids(struct buf *b, const json_t *ids)
{
	size_t i, n = json_array_size(ids);
	json_t *v;

	json_array_foreach(ids, i, v) {
		if (i == 3 && n > 5) {
			buf_appendf(b, ", ... and %zu more", n - 3);
			break;
		}
		buf_appendf(b, "%s%s", i ? ", " : "", json_string_value(v));
	}
}

static void say_moved(struct archiving *r, const json_t *plan)
{
	const json_t *moved = json_object_get(plan, "moved");
	struct buf ids = BUF_INIT;

	append_ids(&ids, moved);
	sayf(r, "%s %zu snapshot%s from backup/ to %s (%s); backup/ keeps the newest, %s", verb(r, "moved", "would move"),
	     json_array_size(moved), json_array_size(moved) == 1 ? "" : "s",
	     json_string_value(json_object_get(plan, "archive_dir")), buf_str(&ids),
	     json_string_value(json_object_get(plan, "stays_in_backup")));
	buf_free(&ids);
}

static void say_rescued(struct archiving *r, const json_t *rescued)
{
	note(r, "%s %s from %s to %s: it is the last snapshot that can be rolled back to offline",
	     verb(r, "kept", "would keep"), json_string_value(json_object_get(rescued, "id")),
	     json_string_value(json_object_get(rescued, "from")), json_string_value(json_object_get(rescued, "to")));
}

static void say_deleted(struct archiving *r, const char *loc, const json_t *snapshots, const json_t *rescued)
{
	const char *kept = json_string_value(json_object_get(rescued, "id"));
	struct buf text = BUF_INIT;
	json_t *ids = json_array(), *s;
	size_t i;

	json_array_foreach(snapshots, i, s) {
		const char *id = json_string_value(json_object_get(s, "id"));
		if (strcmp(json_string_value(json_object_get(s, "location")) ?: "", loc) == 0 &&
		    !(kept && strcmp(id, kept) == 0))
			json_array_append(ids, json_object_get(s, "id"));
	}
	append_ids(&text, ids);
	sayf(r, "%s %s (%s)", verb(r, "deleted", "would delete"), loc, text.len ? buf_str(&text) : "no snapshot");
	json_decref(ids);
	buf_free(&text);
}

/* Steps 3 and 4: the new archive, complete, then the snapshots into it. */
static int move_snapshots(struct archiving *r, const json_t *plan, const json_t *snapshots, struct cpactl_error *err)
{
	const char *dir = json_string_value(json_object_get(plan, "archive_dir"));
	json_t *v;
	size_t i;

	if (create_archive(r, plan, snapshots, err) < 0)
		return -1;
	json_array_foreach(json_object_get(plan, "moved"), i, v) {
		if (move_snapshot(r, json_string_value(v), "backup", dir, err) < 0)
			return -1;
		if (i == 0)
			journal_test_kill_point("archive-move");
	}
	return fsync_dir(r->d->backup_dir, err) < 0 || fsync_location(r, dir, err) < 0 ? -1 : 0;
}

/* Step 5: out of the archive about to be deleted, synced before it is. */
static int rescue(struct archiving *r, const json_t *plan, struct cpactl_error *err)
{
	const json_t *rescued = json_object_get(plan, "rescued");
	const char *dir = json_string_value(json_object_get(plan, "archive_dir"));
	const char *from = json_string_value(json_object_get(rescued, "from"));
	const char *to = json_string_value(json_object_get(rescued, "to"));

	if (move_snapshot(r, json_string_value(json_object_get(rescued, "id")), from, to, err) < 0 ||
	    fsync_location(r, from, err) < 0 || fsync_location(r, to, err) < 0)
		return -1;
	/* A new archive's README.md has said so from the start. */
	if ((!dir || strcmp(dir, to) != 0) && readme_add_rescue(r, rescued, err) < 0)
		return -1;
	journal_test_kill_point("archive-rescue");
	return 0;
}

/* Step 6, for the archive at `loc`: renamed .<name>.deleting and synced, so
 * that from then on it is no snapshot's home, then removed.  A dry run
 * counts its bytes but those of a snapshot rescued from it. */
static int delete_archive(struct archiving *r, const char *loc, const json_t *rescued, struct cpactl_error *err)
{
	struct buf path = BUF_INIT, doomed = BUF_INIT;
	int rc = -1;

	buf_appendf(&path, "%s/%s", r->d->root, loc);
	buf_appendf(&doomed, "%s/.%s.deleting", r->d->archive_dir, loc + strlen(ARCHIVE_PREFIX));
	if (r->o->dry_run) {
		r->bytes_freed += tree_bytes(path.data);
		if (json_is_object(rescued) && strcmp(json_string_value(json_object_get(rescued, "from")), loc) == 0) {
			struct buf kept = BUF_INIT;
			buf_appendf(&kept, "%s/%s", path.data, json_string_value(json_object_get(rescued, "id")));
			r->bytes_freed -= tree_bytes(kept.data);
			buf_free(&kept);
		}
		rc = 0;
		goto out;
	}
	if (renameat2(AT_FDCWD, path.data, AT_FDCWD, doomed.data, RENAME_NOREPLACE) < 0) {
		error_set_errno(err, errno, ERR_IO, "cannot rename '%s' to '%s'", path.data, doomed.data);
		goto out;
	}
	if (fsync_dir(r->d->archive_dir, err) < 0)
		goto out;
	/* A crash from here leaves the .deleting directory to the next run. */
	journal_test_kill_point("archive-delete");
	r->bytes_freed += tree_bytes(doomed.data);
	rc = remove_tree(doomed.data, err);
out:
	buf_free(&path);
	buf_free(&doomed);
	return rc;
}

/* Steps 3 to 6.  A dry run says what they would do. */
static int carry_out(struct archiving *r, const json_t *plan, const json_t *snapshots, struct cpactl_error *err)
{
	const json_t *rescued = json_object_get(plan, "rescued");
	int moves = json_array_size(json_object_get(plan, "moved")) > 0;
	json_t *v;
	size_t i;

	if (moves && !r->o->dry_run && move_snapshots(r, plan, snapshots, err) < 0)
		return -1;
	if (moves)
		say_moved(r, plan);
	else if (json_is_string(json_object_get(plan, "stays_in_backup")))
		sayf(r, "nothing to move: backup/ holds only the newest snapshot");
	else
		sayf(r, "nothing to move: backup/ holds no snapshot");
	if (json_is_object(rescued)) {
		if (!r->o->dry_run && rescue(r, plan, err) < 0)
			return -1;
		say_rescued(r, rescued);
	}
	json_array_foreach(json_object_get(plan, "deleted_archives"), i, v) {
		if (delete_archive(r, json_string_value(v), rescued, err) < 0)
			return -1;
		say_deleted(r, json_string_value(v), snapshots, rescued);
	}
	return 0;
}

/* --- mark and sweep ------------------------------------------------------------ */

/* The snapshots that stay.  After the work, whatever snapshot_list() finds;
 * in a dry run, those the plan keeps, where they are now. */
static int survivors_of(struct archiving *r, const json_t *plan, const json_t *snapshots, json_t **out,
			struct cpactl_error *err)
{
	const json_t *deleted = json_object_get(plan, "deleted_archives");
	const char *rescued = json_string_value(json_object_get(json_object_get(plan, "rescued"), "id"));
	json_t *s;
	size_t i;

	if (!r->o->dry_run)
		return snapshot_list(r->d, out, err);
	*out = json_array();
	json_array_foreach(snapshots, i, s)
		if (!json_array_has(deleted, json_string_value(json_object_get(s, "location")) ?: "") ||
		    (rescued && strcmp(rescued, json_string_value(json_object_get(s, "id"))) == 0))
			json_array_append(*out, s);
	return 0;
}

/* Removes (or counts, in a dry run) the regular file `name` of `dir` when
 * `gone` says nothing references it.  Returns 1 when it went. */
static int sweep_entry(struct archiving *r, DIR *dir, const char *name, int gone, uint64_t *bytes)
{
	struct stat st;

	if (!gone || fstatat(dirfd(dir), name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
		return 0;
	if (!r->o->dry_run && unlinkat(dirfd(dir), name, 0) < 0 && errno != ENOENT)
		return 0;
	*bytes += (uint64_t)st.st_size;
	return 1;
}

/* The files of directory parent/sub named <key><suffix>, with a key of
 * `key_len` characters that `valid` accepts and `keep` does not hold. */
static long sweep_named(struct archiving *r, const char *parent, const char *sub, size_t key_len,
			const char *suffix, int (*valid)(const char *), const json_t *keep, uint64_t *bytes)
{
	struct buf path = BUF_INIT;
	struct dirent *e;
	DIR *dir;
	long removed = 0;

	buf_appendf(&path, "%s/%s", parent, sub);
	dir = opendir(buf_str(&path));
	buf_free(&path);
	while (dir && (e = readdir(dir)) != NULL) {
		char key[80];
		if (key_len >= sizeof(key) || strlen(e->d_name) != key_len + strlen(suffix) ||
		    strcmp(e->d_name + key_len, suffix) != 0)
			continue;
		snprintf(key, sizeof(key), "%.*s", (int)key_len, e->d_name);
		if (valid(key))
			removed += sweep_entry(r, dir, e->d_name, !json_object_get(keep, key), bytes);
	}
	if (dir)
		closedir(dir);
	return removed;
}

/* store/sha256/<xx>/<hex> that no remaining snapshot references. */
static long sweep_blobs(struct archiving *r, const json_t *blobs, uint64_t *bytes)
{
	struct buf path = BUF_INIT;
	struct dirent *e, *b;
	DIR *top, *sub;
	long removed = 0;

	buf_appendf(&path, "%s/sha256", r->d->store_dir);
	top = opendir(buf_str(&path));
	while (top && (e = readdir(top)) != NULL) {
		if (strlen(e->d_name) != 2 || e->d_name[0] == '.')
			continue;
		int fd = openat(dirfd(top), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		sub = fd >= 0 ? fdopendir(fd) : NULL;
		if (!sub) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		while ((b = readdir(sub)) != NULL) {
			if (!is_hex64(b->d_name) || strncmp(b->d_name, e->d_name, 2) != 0)
				continue;
			if (sweep_entry(r, sub, b->d_name, !json_object_get(blobs, b->d_name), bytes) && !removed++)
				journal_test_kill_point("archive-sweep");
		}
		closedir(sub);
		/* An emptied fan-out directory goes too; a full one stays. */
		if (!r->o->dry_run)
			unlinkat(dirfd(top), e->d_name, AT_REMOVEDIR);
	}
	if (top)
		closedir(top);
	buf_free(&path);
	return removed;
}

/* Step 7 and 8. */
static int sweep(struct archiving *r, const json_t *survivors)
{
	json_t *ids = json_object(), *blobs = json_object(), *images = json_object(), *s;
	uint64_t seal_bytes = 0, index_bytes = 0, blob_bytes = 0;
	long seals, indexes = 0, removed = 0;
	int markable = 1;
	size_t i;

	json_array_foreach(survivors, i, s) {
		const char *path = json_string_value(json_object_get(s, "path"));
		struct cpactl_error e = CPACTL_ERROR_INIT;
		struct buf layers_path = BUF_INIT;
		struct stat st;
		json_t *layers;

		json_object_set_new(ids, json_string_value(json_object_get(s, "id")), json_true());
		buf_appendf(&layers_path, "%s/image-layers.json", path ? path : "");
		if (stat(buf_str(&layers_path), &st) < 0 && errno == ENOENT) {
			buf_free(&layers_path);
			continue; /* --no-image: it references no blob */
		}
		layers = json_load_file(buf_str(&layers_path), 0, NULL);
		if (!layers)
			error_set(&e, ERR_PARSE, "it is not JSON");
		if (!layers || archiving_mark_layers(layers, blobs, images, &e) < 0) {
			note(r, "cannot read '%s' (%s): no blob is removed this time, since its blobs are unknown",
			     buf_str(&layers_path), e.message);
			markable = 0;
		}
		json_decref(layers);
		buf_free(&layers_path);
	}
	/* Seals of snapshots gone from everywhere. */
	seals = sweep_named(r, r->d->state_dir, "seals", SNAPSHOT_ID_LEN, ".sha256", snapshot_id_valid, ids, &seal_bytes);
	if (markable) {
		/* The indexes of images no remaining snapshot holds (a later
		 * backup must not reuse one whose blobs went), before the blobs:
		 * a crash between the two leaves no index whose blobs are gone. */
		indexes = sweep_named(r, r->d->store_dir, "images", SHA256_HEX_LEN, ".json", is_hex64, images,
				      &index_bytes);
		removed = sweep_blobs(r, blobs, &blob_bytes);
	}
	r->bytes_freed += seal_bytes + index_bytes + blob_bytes;
	json_object_set_new(r->report, "blobs_removed", json_integer(removed));
	json_object_set_new(r->report, "blob_bytes_freed", json_integer((json_int_t)blob_bytes));
	json_object_set_new(r->report, "image_indexes_removed", json_integer(indexes));
	json_object_set_new(r->report, "seals_removed", json_integer(seals));
	if (removed || indexes || seals)
		sayf(r, "%s %ld unreferenced blob%s, %ld image index%s and %ld seal%s", verb(r, "removed", "would remove"),
		     removed, removed == 1 ? "" : "s", indexes, indexes == 1 ? "" : "es", seals, seals == 1 ? "" : "s");
	json_decref(ids);
	json_decref(blobs);
	json_decref(images);
	return 0;
}

/* --- the engine ---------------------------------------------------------------- */

/* The snapshot id at the end of a container name or tag, if it ends with one. */
static const char *trailing_id(const char *s)
{
	size_t len = s ? strlen(s) : 0;
	return len > SNAPSHOT_ID_LEN && s[len - SNAPSHOT_ID_LEN - 1] == '-' && snapshot_id_valid(s + len - SNAPSHOT_ID_LEN)
		       ? s + len - SNAPSHOT_ID_LEN
		       : NULL;
}

/* NAME-cpactl-prev-<ID> or NAME-cpactl-failed-<ID> of the target, with ID
 * older than the snapshot that stays in backup/. */
static int kept_aside_for_older(const struct archiving *r, const char *name, const char *newest)
{
	const char *id = trailing_id(name);
	char *prev, *failed;
	int match;

	if (!id || strcmp(id, newest) >= 0)
		return 0;
	prev = operation_kept_name(r->t->name, OP_KEPT_PREV, id);
	failed = operation_kept_name(r->t->name, OP_KEPT_FAILED, id);
	match = (prev && strcmp(prev, name) == 0) || (failed && strcmp(failed, name) == 0);
	free(prev);
	free(failed);
	return match;
}

/* Records the retirement of `what` ("container", "tag") `name`: done (or
 * to be done, in a dry run), or refused, with the engine's reason, as a note. */
static void record_retired(struct archiving *r, json_t *done, const char *what, const char *name, int refused,
			   const struct cpactl_error *e)
{
	if (refused) {
		note(r, "%s '%s' is kept: %s", what, name, e->message);
		return;
	}
	json_array_append_new(done, json_string(name));
	sayf(r, "%s %s '%s'", verb(r, "retired", "would retire"), what, name);
}

static int retire_containers(struct archiving *r, const char *newest, struct cpactl_error *err)
{
	json_t *list = NULL, *ct, *done = json_array();
	/* The last upgrade's way back (its kept container, its tag) stays
	 * whatever else is archived: the runbook's fourth rule. */
	char *last = rollback_default_snapshot(r->d, r->t);
	char *last_kept = last ? operation_kept_name(r->t->name, OP_KEPT_PREV, last) : NULL;
	size_t i;

	json_object_set_new(r->report, "retired_containers", done);
	if (docker_container_list(r->c, &list, err) < 0) {
		free(last);
		free(last_kept);
		return -1;
	}
	json_array_foreach(list, i, ct) {
		const char *name = json_string_value(json_array_get(json_object_get(ct, "Names"), 0));
		const char *id = json_string_value(json_object_get(ct, "Id")) ?: "";
		const char *state = json_string_value(json_object_get(ct, "State")) ?: "unknown";
		struct cpactl_error e = CPACTL_ERROR_INIT;

		if (name && name[0] == '/')
			name++;
		if (!name || !kept_aside_for_older(r, name, newest))
			continue;
		if (last_kept && strcmp(name, last_kept) == 0) {
			note(r, "container '%s' is kept: it is the fast way back of the last upgrade (cpactl rollback)",
			     name);
			continue;
		}
		/* Never production, never a container that runs. */
		if (strcmp(id, r->t->id) == 0 || strcmp(name, r->t->name) == 0)
			continue;
		if (strcmp(state, "exited") != 0 && strcmp(state, "created") != 0 && strcmp(state, "dead") != 0) {
			note(r, "container '%s' is %s: it is not removed", name, state);
			continue;
		}
		record_retired(r, done, "container", name, !r->o->dry_run && docker_container_remove(r->c, id, 0, 1, &e) < 0,
			       &e);
	}
	json_decref(list);
	free(last);
	free(last_kept);
	return 0;
}

static int retire_tags(struct archiving *r, const char *newest, struct cpactl_error *err)
{
	json_t *list = NULL, *image, *tag, *done = json_array();
	char *last = rollback_default_snapshot(r->d, r->t);
	size_t i, k;

	json_object_set_new(r->report, "retired_tags", done);
	if (docker_image_list(r->c, 0, &list, err) < 0) {
		free(last);
		return -1;
	}
	json_array_foreach(list, i, image) {
		json_array_foreach(json_object_get(image, "RepoTags"), k, tag) {
			const char *name = json_string_value(tag), *id = trailing_id(name);
			struct cpactl_error e = CPACTL_ERROR_INIT;
			char *expected;
			int match;

			if (!id || strcmp(id, newest) >= 0 || (last && strcmp(id, last) == 0))
				continue;
			expected = snapshot_rollback_tag(r->t->name, id);
			match = expected && strcmp(expected, name) == 0;
			free(expected);
			if (!match)
				continue;
			/* The engine refuses the last tag of an image a container
			 * uses: a note, the tag stays. */
			record_retired(r, done, "tag", name, !r->o->dry_run && docker_image_remove(r->c, name, &e) < 0, &e);
		}
	}
	json_decref(list);
	free(last);
	return 0;
}

static int prune_images(struct archiving *r, struct cpactl_error *err)
{
	json_t *answer = NULL, *v;
	json_int_t deleted = 0, bytes = 0;
	size_t i;

	if (r->o->dry_run) {
		/* An estimate: the dangling images there are now, and their size. */
		if (docker_image_list(r->c, 1, &answer, err) < 0)
			return -1;
		json_array_foreach(answer, i, v) {
			deleted++;
			bytes += json_integer_value(json_object_get(v, "Size"));
		}
	} else {
		if (docker_image_prune_dangling(r->c, &answer, err) < 0)
			return -1;
		/* The engine names every image and layer it deleted. */
		json_array_foreach(json_object_get(answer, "ImagesDeleted"), i, v)
			deleted += json_object_get(v, "Deleted") != NULL;
		bytes = json_integer_value(json_object_get(answer, "SpaceReclaimed"));
	}
	json_object_set_new(r->report, "pruned_images", json_pack("{s:I,s:I}", "deleted", deleted, "bytes", bytes));
	if (r->o->dry_run)
		sayf(r, "would prune %lld dangling image%s", (long long)deleted, deleted == 1 ? "" : "s");
	else
		sayf(r, "pruned dangling images: %lld images and layers deleted", (long long)deleted);
	json_decref(answer);
	return 0;
}

/* The runbook re-checks `docker ps` afterwards: the production container must
 * have the same id and start time as when cpactl found it. */
static void check_production(struct archiving *r)
{
	struct cpactl_error e = CPACTL_ERROR_INIT;
	json_t *now = NULL;
	const char *started = NULL;
	int unchanged;

	if (docker_container_inspect(r->c, r->t->id, &now, &e) == 0)
		started = json_string_value(json_object_get(json_object_get(now, "State"), "StartedAt"));
	unchanged = started && r->t->started_at && strcmp(started, r->t->started_at) == 0;
	json_object_set_new(r->report, "production",
			    json_pack("{s:s,s:s,s:s?,s:b}", "name", r->t->name, "id", r->t->id, "started_at", started,
				      "unchanged", unchanged));
	if (!unchanged)
		note(r, "production '%s' is gone or was restarted meanwhile (not by cpactl archive, which never "
			"touches it)",
		     r->t->name);
	json_decref(now);
}

/* --- putting it together ------------------------------------------------------- */

int archiving_run(struct docker_client *c, const struct cpa_target *t, const struct deployment *d,
		  const struct archiving_options *o, json_t **report, struct cpactl_error *err)
{
	struct archiving r;
	json_t *snapshots = NULL, *names = NULL, *plan = NULL, *survivors = NULL;
	const char *newest;
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	int rc = -1;

	memset(&r, 0, sizeof(r));
	r.c = c;
	r.t = t;
	r.d = d;
	r.o = o;
	r.report = json_pack("{s:s,s:s,s:b,s:i,s:[]}", "container", t->name, "root", d->root, "dry_run", o->dry_run,
			     "keep", o->keep, "notes");
	*report = r.report;
	if (!r.report)
		return error_set(err, ERR_NOMEM, "out of memory");
	r.notes = json_object_get(r.report, "notes");
	gmtime_r(&now, &tm);
	strftime(r.now, sizeof(r.now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M", &tm);

	if (remove_leftovers(&r, err) < 0)
		goto out;
	if (!o->dry_run)
		snapshot_sweep(d);
	if (snapshot_list(d, &snapshots, err) < 0 || list_archive_names(d, &names, err) < 0)
		goto out;
	{
		/* Archives hold whatever backup/ held: with another container's
		 * snapshots in this root, keeping N would keep or drop that
		 * container's way back by this one's count. */
		json_t *s;
		size_t k;
		json_array_foreach(snapshots, k, s) {
			const char *of = json_string_value(json_object_get(s, "container"));
			if (!lineage_is_own(d, t, of, json_string_value(json_object_get(s, "container_id")))) {
				error_set(err, ERR_FAILED,
					  "'%s' holds snapshots of another container, '%s' (%s): archiving would mix "
					  "their ways back; give each container its own root (--root or CPACTL_ROOT) "
					  "and move that one's snapshots there",
					  d->root, of, json_string_value(json_object_get(s, "id")));
				goto out;
			}
		}
	}
	if (archiving_plan(snapshots, names, o->keep, stamp, snapshot_restorable, &r, &plan, err) < 0)
		goto out;
	json_object_update(r.report, plan);
	if (!json_object_get(plan, "restorable"))
		note(&r, "no snapshot can be rolled back to offline (none has its image saved and passes verify): "
			 "take one with 'cpactl backup'");
	if (carry_out(&r, plan, snapshots, err) < 0 || survivors_of(&r, plan, snapshots, &survivors, err) < 0 ||
	    sweep(&r, survivors) < 0)
		goto out;
	newest = json_string_value(json_object_get(plan, "stays_in_backup"));
	if (!newest) {
		json_object_set_new(r.report, "retired_containers", json_array());
		json_object_set_new(r.report, "retired_tags", json_array());
	} else if (retire_containers(&r, newest, err) < 0 || retire_tags(&r, newest, err) < 0) {
		goto out;
	}
	if (o->prune_images && prune_images(&r, err) < 0)
		goto out;
	check_production(&r);
	rc = 0;
out:
	if (!json_object_get(r.report, "pruned_images"))
		json_object_set_new(r.report, "pruned_images", json_null());
	json_object_set_new(r.report, "bytes_freed", json_integer((json_int_t)r.bytes_freed));
	json_decref(snapshots);
	json_decref(names);
	json_decref(plan);
	json_decref(survivors);
	return rc;
}
