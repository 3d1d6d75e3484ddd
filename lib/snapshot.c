/*
 * snapshot.c - see snapshot.h.
 *
 * The image is streamed from the engine's save endpoint through a pipe into
 * libarchive, which splits the tar into entries; every regular file becomes a
 * blob of the store.  A thread feeds the pipe because libcurl pushes data
 * while libarchive pulls it; memory stays constant whatever the image size.
 */
#include "snapshot.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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
#include "container_files.h"
#include "cpa.h"
#include "history.h"
#include "lineage.h"
#include "recreate.h"
#include "sha256.h"
#include "tar_extract.h"

#define AUTH_FILE_CHECK_MAX ((size_t)1024 * 1024)
#define MANIFEST_MAX ((size_t)64 * 1024 * 1024)
#define AUTH_READ_TRIES 3

const struct profile *snapshot_profile(const struct cpa_target *t)
{
	return t && t->profile ? t->profile : &profile_cpa;
}

const char *snapshot_settings_part(const struct cpa_target *t)
{
	return snapshot_profile(t)->settings_part;
}

static char *path_join(const char *a, const char *b);

int snapshot_part_path(struct buf *out, const char *snapshot_path, const char *part)
{
	return buf_appendf(out, "%s/%s", snapshot_path, part);
}

int snapshot_backup_part_path(struct buf *out, const struct deployment *d, const char *id, const char *part)
{
	return buf_appendf(out, "%s/%s/%s", d->backup_dir, id, part);
}

static char *path_join(const char *a, const char *b)
{
	struct buf p = BUF_INIT;
	if (buf_appendf(&p, "%s/%s", a, b) < 0) {
		buf_free(&p);
		return NULL;
	}
	return buf_detach(&p);
}

#define warn_add(r, ...) json_array_appendf((r)->warnings, __VA_ARGS__)

static int interrupted(const struct snapshot_options *o)
{
	return o->interrupted && *o->interrupted;
}

/* Writes one part of the snapshot (0600, fsynced) and records its hash. */
static int write_part(const char *dir, const char *name, const void *data, size_t len, json_t *parts,
		      struct cpactl_error *err)
{
	char *path = path_join(dir, name);
	char hex[SHA256_HEX_LEN + 1];
	int fd = -1, rc = -1;

	if (!path)
		return error_set(err, ERR_NOMEM, "out of memory");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		error_set_errno(err, errno, ERR_IO, "cannot create '%s'", path);
		goto out;
	}
	if (write_all(fd, data, len, path, err) < 0 || fsync_fd(fd, path, err) < 0)
		goto out;
	if (sha256_buffer(data, len, hex, err) < 0)
		goto out;
	json_object_set_new(parts, name, json_pack("{s:s,s:I}", "sha256", hex, "size", (json_int_t)len));
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(path);
	return rc;
}

static int write_json_part(const char *dir, const char *name, json_t *value, json_t *parts,
			   struct cpactl_error *err)
{
	char *text = json_dumps(value, JSON_INDENT(2) | JSON_SORT_KEYS);
	int rc;

	if (!text)
		return error_set(err, ERR_NOMEM, "out of memory");
	rc = write_part(dir, name, text, strlen(text), parts, err);
	free(text);
	return rc;
}

/* Records the hash of a part written by other means (a file in dir). */
static int record_part(const char *dir, const char *name, json_t *parts, uint64_t *bytes,
		       struct cpactl_error *err)
{
	char *path = path_join(dir, name);
	char hex[SHA256_HEX_LEN + 1];
	uint64_t size = 0;
	int rc;

	if (!path)
		return error_set(err, ERR_NOMEM, "out of memory");
	rc = sha256_file(path, hex, &size, err);
	if (rc == 0) {
		json_object_set_new(parts, name, json_pack("{s:s,s:I}", "sha256", hex, "size", (json_int_t)size));
		if (bytes)
			*bytes = size;
	}
	free(path);
	return rc;
}

/* --- the image ------------------------------------------------------------ */

struct saver {
	struct docker_client *client;
	const char *ref;
	int fd;
	int rc;
	struct cpactl_error err;
	const struct snapshot_options *opts;
};

static int saver_sink(void *ctx, const char *data, size_t len)
{
	struct saver *s = ctx;
	if (interrupted(s->opts))
		return -1;
	return write_all(s->fd, data, len, "the image pipe", &s->err);
}

static void *saver_main(void *arg)
{
	struct saver *s = arg;
	s->rc = docker_image_save(s->client, s->ref, saver_sink, s, &s->err);
	close(s->fd);
	s->fd = -1;
	return NULL;
}

static const char *entry_type(mode_t type)
{
	switch (type) {
	case AE_IFREG: return "file";
	case AE_IFDIR: return "dir";
	case AE_IFLNK: return "symlink";
	default: return "other";
	}
}

struct image_totals {
	uint64_t bytes;
	uint64_t new_bytes;
	uint64_t progress;
};

/* Reads the save stream from fd and stores its entries; fills `entries`. */
static int store_save_stream(int fd, const char *store_dir, const struct snapshot_options *o,
			     json_t *entries, struct image_totals *totals, struct cpactl_error *err)
{
	struct archive *a = archive_read_new();
	struct archive_entry *entry;
	struct blob_writer w;
	int r, rc = -1, have_manifest = 0, writing = 0;
	char *chunk = malloc(65536);

	if (!a || !chunk) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	archive_read_support_format_tar(a);
	if (archive_read_open_fd(a, fd, 1024 * 1024) != ARCHIVE_OK) {
		error_set(err, ERR_ENGINE, "cannot read the image save stream: %s", archive_error_string(a));
		goto out;
	}
	while ((r = archive_read_next_header(a, &entry)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(entry);
		mode_t type = archive_entry_filetype(entry);
		json_t *e;

		if (!name)
			continue;
		if (strcmp(name, "manifest.json") == 0)
			have_manifest = 1;
		e = json_pack("{s:s,s:s,s:i,s:I}", "path", name, "type", entry_type(type), "mode",
			      (int)(archive_entry_perm(entry) & 07777), "mtime", (json_int_t)archive_entry_mtime(entry));
		if (type == AE_IFLNK && archive_entry_symlink(entry))
			json_object_set_new(e, "target", json_string(archive_entry_symlink(entry)));
		if (type == AE_IFREG) {
			char hex[SHA256_HEX_LEN + 1];
			uint64_t size = 0;
			int added = 0;
			la_ssize_t n;

			if (blob_writer_open(store_dir, &w, err) < 0) {
				json_decref(e);
				goto out;
			}
			writing = 1;
			while ((n = archive_read_data(a, chunk, 65536)) > 0) {
				if (interrupted(o)) {
					error_set(err, ERR_FAILED, "interrupted");
					json_decref(e);
					goto out;
				}
				if (blob_writer_write(&w, chunk, (size_t)n, err) < 0) {
					json_decref(e);
					goto out;
				}
				totals->progress += (uint64_t)n;
				if (o->progress)
					o->progress(o->progress_ctx, "image", totals->progress);
			}
			if (n < 0) {
				error_set(err, ERR_ENGINE, "the image save stream is damaged at '%s': %s", name,
					  archive_error_string(a));
				json_decref(e);
				goto out;
			}
			writing = 0;
			if (blob_writer_commit(&w, hex, &size, &added, err) < 0) {
				json_decref(e);
				goto out;
			}
			json_object_set_new(e, "sha256", json_string(hex));
			json_object_set_new(e, "size", json_integer((json_int_t)size));
			totals->bytes += size;
			if (added)
				totals->new_bytes += size;
		}
		json_array_append_new(entries, e);
	}
	if (r != ARCHIVE_EOF) {
		error_set(err, ERR_ENGINE, "the image save stream is cut or damaged: %s", archive_error_string(a));
		goto out;
	}
	if (!have_manifest) {
		error_set(err, ERR_ENGINE, "the image save stream has no manifest.json: not a docker image archive");
		goto out;
	}
	rc = 0;
out:
	if (writing)
		blob_writer_abort(&w);
	if (a)
		archive_read_free(a);
	free(chunk);
	return rc;
}

static char *image_index_path(const char *store_dir, const char *image_id)
{
	struct buf p = BUF_INIT;
	const char *hex = strncmp(image_id, "sha256:", 7) == 0 ? image_id + 7 : image_id;
	buf_appendf(&p, "%s/images/%s.json", store_dir, hex);
	return buf_detach(&p);
}

/* The image's entries from an earlier backup, if every blob is still there. */
static json_t *reuse_image_index(const char *store_dir, const char *image_id, struct image_totals *totals)
{
	char *path = image_index_path(store_dir, image_id);
	json_t *index = path ? json_load_file(path, 0, NULL) : NULL;
	json_t *entries = json_object_get(index, "entries"), *e;
	size_t i;

	free(path);
	if (!json_is_array(entries) || json_array_size(entries) == 0)
		goto miss;
	json_array_foreach(entries, i, e) {
		const char *hex = json_string_value(json_object_get(e, "sha256"));
		uint64_t size = (uint64_t)json_integer_value(json_object_get(e, "size"));
		if (hex && !blob_present(store_dir, hex, size))
			goto miss;
		if (hex)
			totals->bytes += size;
	}
	return index;
miss:
	json_decref(index);
	totals->bytes = 0;
	return NULL;
}

static int snapshot_image(struct docker_client *c, const struct cpa_target *t, const struct deployment *d,
			  const char *tmpdir, const struct snapshot_options *o, json_t *parts,
			  struct snapshot_result *r, uint64_t *image_bytes, struct cpactl_error *err)
{
	struct image_totals totals = { 0, 0, 0 };
	json_t *index = reuse_image_index(d->store_dir, t->image_id, &totals);
	char *index_path = NULL, *dir = NULL;
	struct saver s;
	pthread_t thread;
	int fds[2] = { -1, -1 }, started = 0, rc = -1;

	memset(&s, 0, sizeof(s));
	if (index) {
		r->image_reused = 1;
		goto write_index;
	}
	index = json_pack("{s:s,s:s?,s:[]}", "image_id", t->image_id, "image", t->image, "entries");
	if (!index || pipe2(fds, O_CLOEXEC) < 0) {
		error_set_errno(err, errno, ERR_IO, "cannot create a pipe");
		goto out;
	}
	/* A larger pipe means fewer wake-ups between the two threads. */
	fcntl(fds[1], F_SETPIPE_SZ, 1024 * 1024);
	s.client = c;
	s.ref = t->image_id;
	s.fd = fds[1];
	s.opts = o;
	if (pthread_create(&thread, NULL, saver_main, &s) != 0) {
		error_set(err, ERR_FAILED, "cannot start the image reader thread");
		goto out;
	}
	started = 1;
	fds[1] = -1; /* the thread owns and closes it */
	rc = store_save_stream(fds[0], d->store_dir, o, json_object_get(index, "entries"), &totals, err);
	/* Closing our end makes a still-writing thread fail with EPIPE and stop. */
	close(fds[0]);
	fds[0] = -1;
	pthread_join(thread, NULL);
	started = 0;
	if (s.rc < 0 && (rc == 0 || err->kind == ERR_ENGINE)) {
		/* The engine's own reason (it died, the image vanished) beats the
		 * reader's "stream cut"; but when the reader failed on its own (disk
		 * full), the writer's broken pipe is only a consequence. */
		struct cpactl_error saver_err = s.err;
		error_clear(err);
		*err = saver_err;
		rc = -1;
	}
	if (rc < 0 && interrupted(o)) {
		/* Whichever side noticed first, the cause is the interrupt. */
		error_clear(err);
		error_set(err, ERR_FAILED, "interrupted");
	}
	if (rc < 0)
		goto out;
	r->new_bytes += totals.new_bytes;
	/* Remember the entries so an unchanged image is never saved again. */
	index_path = image_index_path(d->store_dir, t->image_id);
	dir = path_join(d->store_dir, "images");
	if (!index_path || !dir || make_private_dirs(dir, err) < 0)
		goto out;
	{
		char *text = json_dumps(index, JSON_COMPACT);
		int wrc = text ? atomic_write_file(index_path, text, strlen(text), 0600, err) : -1;
		free(text);
		if (wrc < 0)
			goto out;
	}
write_index:
	rc = write_json_part(tmpdir, SNAPSHOT_PART_IMAGE_LAYERS, index, parts, err);
	*image_bytes = totals.bytes;
out:
	if (started) {
		close(fds[0]);
		pthread_join(thread, NULL);
	}
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	json_decref(index);
	free(index_path);
	free(dir);
	return rc;
}

/* A part written by libarchive, on disk before the snapshot is sealed. */
static int sync_file(const char *path, struct cpactl_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fsync_fd(fd, path, err) < 0) {
		if (fd >= 0)
			close(fd);
		return error_set_errno(err, errno, ERR_IO, "cannot sync '%s'", path);
	}
	close(fd);
	return 0;
}

/* --- the auth dir -------------------------------------------------------- */

/* Rewrites the engine's tar of the auth dir as auth.tar, names relative to the
 * dir, hashing each file.  *torn is set when a .json file does not parse: CPA
 * was rewriting it while the engine read it. */
/* `engine_tar` is the engine's archive of the dir; or, when host_dir is
 * given, the dir is read from the host with libarchive's disk reader (a bind
 * mount on a local engine: faster, and each file is read exactly once). */
static int rewrite_auth_tar(const char *engine_tar, const char *host_dir, const char *out_path,
			    const char *base, json_t *files, json_t *left_out, int *torn, struct cpactl_error *err)
{
	struct archive *in = host_dir ? archive_read_disk_new() : archive_read_new(), *out = archive_write_new();
	struct archive_entry *entry;
	size_t base_len = strlen(base);
	struct buf content = BUF_INIT, relname = BUF_INIT;
	char *chunk = malloc(65536);
	int r, rc = -1, out_open = 0;

	*torn = 0;
	if (!in || !out || !chunk) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	archive_write_set_format_pax_restricted(out);
	if (host_dir) {
		archive_read_disk_set_standard_lookup(in);
		archive_read_disk_set_symlink_physical(in);
		if (archive_read_disk_open(in, host_dir) != ARCHIVE_OK) {
			error_set(err, ERR_IO, "cannot read the auth dir '%s': %s", host_dir, archive_error_string(in));
			goto out;
		}
	} else {
		archive_read_support_format_tar(in);
		if (archive_read_open_filename(in, engine_tar, 65536) != ARCHIVE_OK) {
			error_set(err, ERR_IO, "cannot read the auth dir archive: %s", archive_error_string(in));
			goto out;
		}
	}
	if (archive_write_open_filename(out, out_path) != ARCHIVE_OK) {
		tar_error(err, ERR_IO, out, "cannot write '%s'", out_path);
		goto out;
	}
	out_open = 1;
	while ((r = archive_read_next_header(in, &entry)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(entry);
		const char *rel;
		struct sha256 h;
		char hex[SHA256_HEX_LEN + 1];
		la_ssize_t n;
		int is_file = archive_entry_filetype(entry) == AE_IFREG;

		if (!name)
			continue;
		if (host_dir && archive_entry_filetype(entry) == AE_IFDIR)
			archive_read_disk_descend(in);
		if (strncmp(name, base, base_len) == 0 && name[base_len] == '/')
			rel = name + base_len + 1;
		else if (strcmp(name, base) == 0)
			rel = ".";
		else
			rel = name;
		if (!*rel)
			rel = ".";
		/* `rel` points into the entry's own pathname: setting the entry's
		 * name from it would copy a string onto itself (names came out cut:
		 * "ample.com.json").  Copy it out first. */
		buf_reset(&relname);
		buf_append_str(&relname, rel);
		rel = buf_str(&relname);
		/* What a restore would refuse is left out, and said: a snapshot
		 * that passes verify must be one that rollback can restore. */
		{
			const char *why = strcmp(rel, ".") == 0 ? NULL : tar_entry_unrestorable(entry, rel);
			if (why) {
				json_array_append_new(left_out, json_sprintf("'%s' (%s)", rel, why));
				continue;
			}
		}
		archive_entry_set_pathname(entry, rel);
		if (archive_write_header(out, entry) != ARCHIVE_OK) {
			tar_error(err, ERR_IO, out, "cannot write '%s'", out_path);
			goto out;
		}
		if (!is_file)
			continue;
		if (sha256_init(&h, err) < 0)
			goto out;
		buf_reset(&content);
		while ((n = archive_read_data(in, chunk, 65536)) > 0) {
			sha256_update(&h, chunk, (size_t)n);
			if (content.len + (size_t)n <= AUTH_FILE_CHECK_MAX)
				buf_append(&content, chunk, (size_t)n);
			if (archive_write_data(out, chunk, (size_t)n) != n) {
				sha256_release(&h);
				tar_error(err, ERR_IO, out, "cannot write '%s'", out_path);
				goto out;
			}
		}
		if (n < 0) {
			sha256_release(&h);
			error_set(err, ERR_ENGINE, "the auth dir archive is damaged: %s", archive_error_string(in));
			goto out;
		}
		{
			uint64_t size = h.bytes;
			size_t len = strlen(rel);
			sha256_final(&h, hex);
			if (len > 5 && strcmp(rel + len - 5, ".json") == 0 && !strchr(rel, '/') &&
			    size <= AUTH_FILE_CHECK_MAX) {
				json_t *j = json_loadb(content.data ? content.data : "", content.len, 0, NULL);
				if (!j)
					*torn = 1;
				json_decref(j);
			}
			json_array_append_new(files, json_pack("{s:s,s:I,s:i,s:I,s:I,s:I,s:s}", "name", rel, "size",
							       (json_int_t)size, "mode",
							       (int)(archive_entry_perm(entry) & 07777), "uid",
							       (json_int_t)archive_entry_uid(entry), "gid",
							       (json_int_t)archive_entry_gid(entry), "mtime",
							       (json_int_t)archive_entry_mtime(entry), "sha256", hex));
		}
	}
	if (r != ARCHIVE_EOF) {
		error_set(err, ERR_ENGINE, "the auth dir archive is damaged: %s", archive_error_string(in));
		goto out;
	}
	if (archive_write_close(out) != ARCHIVE_OK) {
		tar_error(err, ERR_IO, out, "cannot write '%s'", out_path);
		goto out;
	}
	rc = 0;
out:
	(void)out_open;
	if (in)
		archive_read_free(in);
	if (out)
		archive_write_free(out);
	buf_wipe(&content);
	buf_free(&relname);
	free(chunk);
	return rc;
}

static int snapshot_auth(struct docker_client *c, const struct cpa_target *t, const char *tmpdir,
			 const struct snapshot_options *o, json_t *parts, json_t *files,
			 struct snapshot_result *r, struct cpactl_error *err)
{
	char *spool_path = path_join(tmpdir, ".auth-engine.tar");
	char *tar_path = path_join(tmpdir, SNAPSHOT_PART_AUTH);
	const char *base = strrchr(t->auth_in_container, '/');
	json_t *left_out = json_array(), *skipped;
	size_t i;
	int rc = -1, torn = 0;

	base = base && base[1] ? base + 1 : t->auth_in_container;
	if (!spool_path || !tar_path || !left_out) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	for (int attempt = 0; attempt < AUTH_READ_TRIES; attempt++) {
		uint64_t spooled = 0;
		json_array_clear(files);
		unlink(spool_path);
		unlink(tar_path);
		if (t->auth_host) {
			json_array_clear(left_out);
			if (rewrite_auth_tar(NULL, t->auth_host, tar_path, t->auth_host, files, left_out, &torn, err) < 0)
				goto out;
			if (!torn)
				break;
			usleep(200000);
			continue;
		}
		if (container_archive_to_file(c, t->id, t->auth_in_container, spool_path, o->interrupted, &spooled,
					      err) < 0) {
			if (interrupted(o)) {
				error_clear(err);
				error_set(err, ERR_FAILED, "interrupted");
			}
			goto out;
		}
		if (o->progress)
			o->progress(o->progress_ctx, "auth", spooled);
		json_array_clear(left_out);
		if (rewrite_auth_tar(spool_path, NULL, tar_path, base, files, left_out, &torn, err) < 0)
			goto out;
		if (!torn)
			break;
		/* CPA was rewriting a token file while the engine read it: read again. */
		usleep(200000);
	}
	json_array_foreach(left_out, i, skipped)
		warn_add(r, "not in the snapshot: %s of the auth dir; a rollback could not put it back",
			 json_string_value(skipped));
	if (torn)
		warn_add(r, "an auth file of '%s' is not valid JSON (it may be broken in place, not only "
			    "while being rewritten)",
			 t->auth_dir ? t->auth_dir : "");
	if (sync_file(tar_path, err) < 0)
		goto out;
	rc = record_part(tmpdir, SNAPSHOT_PART_AUTH, parts, NULL, err);
out:
	if (spool_path)
		unlink(spool_path);
	free(spool_path);
	free(tar_path);
	json_decref(left_out);
	return rc;
}

/* --- the plugins dir --------------------------------------------------------- */

/* CPA's plugins (native libraries, <id>-v<version>.so; v7.1.47 on) are state:
 * a release from v7.2.37 removes the older files of a plugin, so the one a
 * rollback brings back may need them.  Kept as plugins.tar, read through the
 * engine, each file with its id and version in the manifest. */
static int snapshot_plugins(struct docker_client *c, const struct cpa_target *t, const char *tmpdir,
			    const struct snapshot_options *o, json_t *parts, json_t *files, json_t *left_out,
			    struct cpactl_error *err)
{
	const char *dir = snapshot_profile(t)->plugins_dir;
	char *spool_path = path_join(tmpdir, ".plugins-engine.tar");
	char *tar_path = path_join(tmpdir, SNAPSHOT_PART_PLUGINS);
	json_t *file;
	size_t i;
	int rc = -1, torn = 0;

	if (!spool_path || !tar_path) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (container_archive_to_file(c, t->id, dir, spool_path, o->interrupted, NULL, err) < 0 ||
	    rewrite_auth_tar(spool_path, NULL, tar_path, strrchr(dir, '/') + 1, files, left_out, &torn, err) < 0)
		goto out;
	json_array_foreach(files, i, file) {
		/* internal/pluginhost/platform.go pluginFileFromPath: <id>-v<version>.so */
		const char *name = json_string_value(json_object_get(file, "name"));
		const char *v = name ? strstr(name, "-v") : NULL;
		size_t len = name ? strlen(name) : 0;
		if (!v || len < 4 || strcmp(name + len - 3, ".so") != 0 || strchr(name, '/'))
			continue;
		while (strstr(v + 2, "-v"))
			v = strstr(v + 2, "-v");
		json_object_set_new(file, "plugin", json_stringn(name, (size_t)(v - name)));
		json_object_set_new(file, "version", json_stringn(v + 2, (size_t)(name + len - 3 - (v + 2))));
	}
	if (sync_file(tar_path, err) < 0)
		goto out;
	rc = record_part(tmpdir, SNAPSHOT_PART_PLUGINS, parts, NULL, err);
out:
	if (spool_path)
		unlink(spool_path);
	free(spool_path);
	free(tar_path);
	return rc;
}

/* --- putting it together ---------------------------------------------------- */

/* `when` in UTC, for strftime(): the format stays at the call, a literal the
 * compiler checks. */
static struct tm utc(time_t when)
{
	struct tm tm;
	gmtime_r(&when, &tm);
	return tm;
}

/* The time of the newest snapshot id anywhere (backup/ or archive/), or 0.
 * reserve_id starts after it: an id taken by moving on a second runs ahead of
 * the clock, and once that snapshot is archived the clock would hand the
 * same id out again, or an id older than the newest, breaking "newest wins". */
static time_t newest_id_time(const struct deployment *d, json_t **ids)
{
	struct cpactl_error ignored = { 0 };
	json_t *list = NULL, *item;
	size_t i;
	time_t newest = 0;

	*ids = json_object();
	if (snapshot_list(d, &list, &ignored) < 0) {
		error_clear(&ignored);
		return 0;
	}
	json_array_foreach(list, i, item) {
		const char *id = json_string_value(json_object_get(item, "id"));
		struct tm tm = { 0 };
		const char *end;
		time_t when;
		if (!id)
			continue;
		if (*ids)
			json_object_set_new(*ids, id, json_true());
		end = strptime(id, "%Y%m%d-%H%M%S", &tm);
		if (!end || *end)
			continue;
		when = timegm(&tm);
		if (when > newest)
			newest = when;
	}
	json_decref(list);
	return newest;
}

/* Reserves a unique id: backup/.<ID>.tmp is created exclusively; an id
 * already taken (same second, or held by an archived snapshot) moves on to
 * the next second.  Ids only grow: they sort by time everywhere. */
static int reserve_id(const struct deployment *d, char id[32], char **tmpdir, struct cpactl_error *err)
{
	json_t *taken_ids = NULL;
	time_t when = time(NULL), newest = newest_id_time(d, &taken_ids);
	int rc = -1;

	if (newest >= when)
		when = newest + 1;
	for (int tries = 0; tries < 120; tries++, when++) {
		struct buf final = BUF_INIT, tmp = BUF_INIT;
		struct stat st;
		struct tm tm = utc(when);
		strftime(id, 32, "%Y%m%d-%H%M%S", &tm);
		buf_appendf(&final, "%s/%s", d->backup_dir, id);
		buf_appendf(&tmp, "%s/.%s.tmp", d->backup_dir, id);
		int taken = json_object_get(taken_ids, id) != NULL || stat(buf_str(&final), &st) == 0;
		if (taken || mkdir(buf_str(&tmp), 0700) < 0) {
			int e = taken ? EEXIST : errno;
			buf_free(&final);
			buf_free(&tmp);
			if (e != EEXIST && e != 0) {
				rc = error_set_errno(err, e, ERR_IO, "cannot create a snapshot in '%s'", d->backup_dir);
				goto out;
			}
			continue;
		}
		buf_free(&final);
		*tmpdir = buf_detach(&tmp);
		rc = 0;
		goto out;
	}
	rc = error_set(err, ERR_IO, "no free snapshot id in '%s'", d->backup_dir);
out:
	json_decref(taken_ids);
	return rc;
}

static char *baseline_md(const struct cpa_target *t, const char *id)
{
	struct buf b = BUF_INIT;
	char port[32] = "unknown";

	if (t->has_api_port)
		snprintf(port, sizeof(port), "%d", t->api_host_port);
	buf_appendf(&b, "# Baseline %s\n", id);
	buf_appendf(&b, "Container: %s\n", t->name);
	buf_appendf(&b, "Profile: %s (health %s)\n", snapshot_profile(t)->name, t->probe_path ? t->probe_path : "?");
	buf_appendf(&b, "Image: %s\n", t->image ? t->image : "unknown");
	buf_appendf(&b, "Image ID: %s\n", t->image_id ? t->image_id : "unknown");
	if (t->version && strcmp(t->version_source ? t->version_source : "", "binary") == 0)
		buf_appendf(&b, "Version: CLIProxyAPI Version: %s\n", t->version);
	else
		buf_appendf(&b, "Version: %s (from %s)\n", t->version ? t->version : "unknown",
			    t->version_source ? t->version_source : "nowhere");
	buf_appendf(&b, "Port: %s\n", port);
	if (!snapshot_profile(t)->cpa) {
		buf_appendf(&b, "Settings: %s\n", t->config_path ? t->config_path : "the container's environment only");
		return buf_detach(&b);
	}
	buf_appendf(&b, "Auth Dir: %s\n", t->auth_dir ? t->auth_dir : "unknown");
	buf_appendf(&b, "Config: %s\n", t->config_path ? t->config_path : "unknown");
	buf_appendf(&b, "Remote Management: allow-remote %s, secret-key %s\n",
		    t->allow_remote < 0 ? "unset" : t->allow_remote ? "true" : "false",
		    t->secret_key_set ? "set" : "not set");
	buf_appendf(&b, "API Keys: %ld\n", t->api_keys);
	{
		const char *key;
		json_t *v;
		buf_append_str(&b, "Providers:");
		json_object_foreach(t->providers, key, v)
			buf_appendf(&b, " %s=%lld", key, (long long)json_integer_value(v));
		buf_append_str(&b, "\n");
	}
	return buf_detach(&b);
}

static json_t *baseline_json(const struct deployment *d, const struct cpa_target *t)
{
	json_t *port = t->has_api_port
			       ? json_pack("{s:s,s:i}", "host_ip", t->api_host_ip, "host_port", t->api_host_port)
			       : json_null();
	/* The ids this container had before (lineage.h): a snapshot stays its
	 * own past across upgrades and renames. */
	return json_pack("{s:s,s:s,s:s?,s:s?,s:o*,s:s?,s:s?,s:s?,s:o,s:i,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?}",
			 "profile", snapshot_profile(t)->name, "probe_path", t->probe_path, "container", t->name,
			 "container_id", t->id, "lineage", t->id ? lineage_ancestors(d, t->id) : NULL, "image", t->image, "image_id", t->image_id, "version", t->version,
			 "api_port", port, "container_port", t->api_container_port, "auth_dir", t->auth_dir,
			 "auth_in_container", t->auth_in_container, "config_path", t->config_path,
			 "config_in_container", t->config_in_container, "config_storage", t->config_storage,
			 "auth_storage", t->auth_storage);
}

static int seal(const struct deployment *d, const char *id, const char *manifest_hex,
		struct cpactl_error *err)
{
	struct buf dir = BUF_INIT, path = BUF_INIT, text = BUF_INIT;
	int rc = -1;

	buf_appendf(&dir, "%s/seals", d->state_dir);
	buf_appendf(&path, "%s/%s.sha256", dir.data, id);
	buf_appendf(&text, "%s\n", manifest_hex);
	if (make_private_dirs(dir.data, err) == 0 &&
	    atomic_write_file(path.data, text.data, text.len, 0600, err) == 0)
		rc = 0;
	buf_free(&dir);
	buf_free(&path);
	buf_free(&text);
	return rc;
}

char *snapshot_rollback_tag(const char *container, const char *id)
{
	struct buf tag = BUF_INIT;

	/* Tags are [A-Za-z0-9_.-]; container names are too, but keep them short. */
	if (buf_appendf(&tag, "%s:%.100s-%s", ROLLBACK_REPO, container, id) < 0) {
		buf_free(&tag);
		return NULL;
	}
	for (size_t i = sizeof(ROLLBACK_REPO); i < tag.len; i++)
		if (!(tag.data[i] == '_' || tag.data[i] == '.' || tag.data[i] == '-' ||
		      (tag.data[i] >= '0' && tag.data[i] <= '9') || (tag.data[i] >= 'a' && tag.data[i] <= 'z') ||
		      (tag.data[i] >= 'A' && tag.data[i] <= 'Z')))
			tag.data[i] = '-';
	return buf_detach(&tag);
}

static void tag_image(struct docker_client *c, const struct cpa_target *t, const char *id,
		      struct snapshot_result *r)
{
	struct buf path = BUF_INIT;
	struct cpactl_error e = CPACTL_ERROR_INIT;
	char *full = snapshot_rollback_tag(t->name, id);
	char *eid = docker_escape(t->image_id), *etag = NULL;

	if (full)
		etag = docker_escape(full + sizeof(ROLLBACK_REPO));
	if (eid && etag && buf_appendf(&path, "/images/%s/tag?repo=%s&tag=%s", eid, ROLLBACK_REPO, etag) == 0 &&
	    docker_call_json(c, "POST", path.data, NULL, "image", NULL, NULL, &e) == 0) {
		r->rollback_tag = full;
		full = NULL;
	} else {
		warn_add(r, "the image could not be tagged for rollback: %s", e.message);
	}
	free(full);
	free(eid);
	free(etag);
	buf_free(&path);
}

int snapshot_create(struct docker_client *c, const struct cpa_target *t, const struct deployment *d,
		    const struct snapshot_options *o, struct snapshot_result *r,
		    struct cpactl_error *err)
{
	char *tmpdir = NULL, *final = NULL, *md = NULL;
	json_t *manifest = NULL, *parts = json_object(), *auth_files = json_array(), *image_inspect = NULL;
	json_t *plugin_files = NULL;
	struct buf config = BUF_INIT;
	char created[40], manifest_hex[SHA256_HEX_LEN + 1];
	struct tm created_tm;
	uint64_t image_bytes = 0, auth_bytes = 0;
	int rc = -1, sealed = 0;

	memset(r, 0, sizeof(*r));
	r->warnings = json_array();
	if (!parts || !auth_files || !r->warnings) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (reserve_id(d, r->id, &tmpdir, err) < 0)
		goto out;
	created_tm = utc(time(NULL));
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &created_tm);

	/* The settings first (config.yaml): without them a snapshot is of little
	 * use.  A proxy whose settings are only in its environment has none to
	 * read: container.json keeps that environment. */
	if (!t->config_in_container && !t->config_host) {
		if (snapshot_profile(t)->cpa) {
			error_set(err, ERR_FAILED, "cannot back up config.yaml of '%s': it was not found", t->name);
			goto out;
		}
		warn_add(r, "no env file was found: the settings are those of the container's environment, kept in "
			    "container.json (name the file with --env-file)");
	} else if (container_read_file_at(c, t->id, t->config_in_container, t->config_host, CPA_CONFIG_MAX, &config,
					  NULL, err) < 0) {
		if (t->cluster && !o->no_config) {
			/* Its config lives in CLIProxyAPIHome: nothing is missing. */
			error_clear(err);
			warn_add(r, "'%s' is a CPA cluster node (%s): its config comes from CLIProxyAPIHome, so the "
				    "snapshot has no config.yaml",
				 t->name, t->cluster);
		} else if (!o->no_config) {
			struct cpactl_error inner = *err;
			error_clear(err);
			error_set(err, inner.kind == ERR_ENGINE_UNREACHABLE ? inner.kind : ERR_FAILED,
				  "cannot back up %s of '%s': %s (use --no-config to go on without it)",
				  snapshot_settings_part(t), t->name, inner.message);
			goto out;
		} else {
			error_clear(err);
			warn_add(r, "%s was not backed up (--no-config)", snapshot_settings_part(t));
		}
	} else if (write_part(tmpdir, snapshot_settings_part(t), config.data ? config.data : "", config.len, parts,
			      err) < 0) {
		goto out;
	}
	if (interrupted(o))
		goto interrupted_out;
	if (write_json_part(tmpdir, SNAPSHOT_PART_CONTAINER, t->inspect, parts, err) < 0)
		goto out;
	if (t->image_id && docker_image_inspect(c, t->image_id, &image_inspect, err) < 0)
		goto out;
	if (image_inspect && write_json_part(tmpdir, SNAPSHOT_PART_IMAGE_INSPECT, image_inspect, parts, err) < 0)
		goto out;
	if (t->auth_in_container && snapshot_auth(c, t, tmpdir, o, parts, auth_files, r, err) < 0)
		goto out;
	if (snapshot_profile(t)->plugins_dir && recreate_mount_at(t->inspect, snapshot_profile(t)->plugins_dir)) {
		json_t *left_out = json_array(), *skipped;
		size_t k;
		plugin_files = json_array();
		if (!plugin_files || !left_out ||
		    snapshot_plugins(c, t, tmpdir, o, parts, plugin_files, left_out, err) < 0) {
			json_decref(left_out);
			goto out;
		}
		json_array_foreach(left_out, k, skipped)
			warn_add(r, "not in the snapshot: %s of the plugins dir; a rollback could not put it back",
				 json_string_value(skipped));
		json_decref(left_out);
	}
	auth_bytes = (uint64_t)json_integer_value(json_object_get(json_object_get(parts, SNAPSHOT_PART_AUTH), "size"));
	if (interrupted(o))
		goto interrupted_out;
	if (!o->no_image) {
		if (snapshot_image(c, t, d, tmpdir, o, parts, r, &image_bytes, err) < 0)
			goto out;
	} else {
		warn_add(r, "the image was not backed up (--no-image): this snapshot cannot be restored "
			    "offline");
	}
	if (interrupted(o))
		goto interrupted_out;
	md = baseline_md(t, r->id);
	if (!md || write_part(tmpdir, "baseline.md", md, strlen(md), parts, err) < 0)
		goto out;

	{
		const char *key;
		json_t *v;
		uint64_t part_bytes = 0;
		json_object_foreach(parts, key, v)
			part_bytes += (uint64_t)json_integer_value(json_object_get(v, "size"));
		(void)auth_bytes;
		r->new_bytes += part_bytes;
		r->bytes = part_bytes + image_bytes;
	}
	manifest = json_pack("{s:i,s:s,s:s,s:s,s:o,s:{s:s?,s:s?,s:b},s:s?,s:O,s:O,s:I,s:I,s:O?}", "format",
			     SNAPSHOT_FORMAT, "cpactl_version", o->cpactl_version ? o->cpactl_version : "unknown",
			     "id", r->id, "created", created, "baseline", baseline_json(d, t), "image", "ref", t->image,
			     "id", t->image_id, "saved", !o->no_image, "version", t->version, "parts", parts,
			     "auth_files", auth_files, "bytes", (json_int_t)r->bytes, "new_bytes",
			     (json_int_t)r->new_bytes, "plugin_files", plugin_files);
	if (!manifest) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	{
		char *text = json_dumps(manifest, JSON_INDENT(2) | JSON_SORT_KEYS);
		char *mpath = path_join(tmpdir, SNAPSHOT_PART_MANIFEST);
		int wrc = -1;
		if (text && mpath && atomic_write_file(mpath, text, strlen(text), 0600, err) == 0 &&
		    sha256_buffer(text, strlen(text), manifest_hex, err) == 0)
			wrc = 0;
		free(text);
		free(mpath);
		if (wrc < 0)
			goto out;
	}
	if (fsync_dir(tmpdir, err) < 0)
		goto out;
	sealed = 1;
	if (seal(d, r->id, manifest_hex, err) < 0)
		goto out;
	final = path_join(d->backup_dir, r->id);
	if (!final) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	/* The id was reserved: nothing else can take backup/<ID>, and
	 * RENAME_NOREPLACE makes sure of it. */
	if (renameat2(AT_FDCWD, tmpdir, AT_FDCWD, final, RENAME_NOREPLACE) < 0) {
		error_set_errno(err, errno, ERR_IO, "cannot publish the snapshot '%s'", final);
		goto out;
	}
	free(tmpdir);
	tmpdir = NULL;
	if (fsync_dir(d->backup_dir, err) < 0)
		goto out;
	r->path = final;
	final = NULL;
	if (!o->no_image)
		tag_image(c, t, r->id, r);
	rc = 0;
	goto out;
interrupted_out:
	error_set(err, ERR_FAILED, "interrupted: no snapshot was made");
out:
	if (tmpdir) {
		struct cpactl_error ignored = CPACTL_ERROR_INIT;
		remove_tree(tmpdir, &ignored);
	}
	if (rc < 0) {
		/* Only this backup's own seal: r->id may name an existing snapshot
		 * when no id could be reserved. */
		if (sealed) {
			struct buf s = BUF_INIT;
			buf_appendf(&s, "%s/seals/%s.sha256", d->state_dir, r->id);
			unlink(buf_str(&s));
			buf_free(&s);
		}
		blobstore_sweep_tmp(d->store_dir);
	}
	free(tmpdir);
	free(final);
	free(md);
	json_decref(manifest);
	json_decref(parts);
	json_decref(auth_files);
	json_decref(plugin_files);
	json_decref(image_inspect);
	buf_wipe(&config);
	return rc;
}

void snapshot_result_release(struct snapshot_result *r)
{
	free(r->path);
	free(r->rollback_tag);
	json_decref(r->warnings);
	memset(r, 0, sizeof(*r));
}

void snapshot_sweep(const struct deployment *d)
{
	DIR *dir = opendir(d->backup_dir);
	struct dirent *e;

	if (dir) {
		while ((e = readdir(dir)) != NULL) {
			size_t n = strlen(e->d_name);
			if (e->d_name[0] == '.' && n > 5 && strcmp(e->d_name + n - 4, ".tmp") == 0) {
				char *p = path_join(d->backup_dir, e->d_name);
				struct cpactl_error ignored = CPACTL_ERROR_INIT;
				if (p)
					remove_tree(p, &ignored);
				free(p);
			}
		}
		closedir(dir);
	}
	blobstore_sweep_tmp(d->store_dir);
}

/* --- listing and verifying ------------------------------------------------------ */

int snapshot_id_valid(const char *name)
{
	if (strlen(name) != SNAPSHOT_ID_LEN || name[8] != '-')
		return 0;
	for (int i = 0; i < SNAPSHOT_ID_LEN; i++)
		if (i != 8 && (name[i] < '0' || name[i] > '9'))
			return 0;
	return 1;
}

static int compare_ids(const void *a, const void *b)
{
	const json_t *const *x = a, *const *y = b;
	return strcmp(json_string_value(json_object_get(*x, "id")), json_string_value(json_object_get(*y, "id")));
}

/* A directory that is not there holds no snapshot; one that cannot be read
 * (permissions, not a directory) is an error, never "nothing there". */
static int add_snapshots_in(const char *dir, const char *location, const char *store_dir, json_t *list,
			    struct cpactl_error *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return errno == ENOENT ? 0 : error_set_errno(err, errno, ERR_IO, "cannot read the snapshots in '%s'", dir);
	while ((e = readdir(d)) != NULL) {
		char *path, *mpath;
		json_t *m, *item, *layers = NULL, *entry;
		int offline;
		size_t i;

		if (!snapshot_id_valid(e->d_name))
			continue;
		path = path_join(dir, e->d_name);
		mpath = path ? path_join(path, SNAPSHOT_PART_MANIFEST) : NULL;
		m = mpath ? json_load_file(mpath, 0, NULL) : NULL;
		offline = json_is_true(json_object_get(json_object_get(m, "image"), "saved"));
		if (offline) {
			char *lpath = path_join(path, SNAPSHOT_PART_IMAGE_LAYERS);
			layers = lpath ? json_load_file(lpath, 0, NULL) : NULL;
			free(lpath);
			offline = layers != NULL;
			json_array_foreach(json_object_get(layers, "entries"), i, entry) {
				const char *hex = json_string_value(json_object_get(entry, "sha256"));
				if (hex && !blob_present(store_dir, hex, (uint64_t)json_integer_value(json_object_get(entry, "size"))))
					offline = 0;
			}
		}
		item = json_pack("{s:s,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:I,s:I,s:b,s:s,s:s,s:b}", "id", e->d_name,
				 "container", json_string_value(json_object_get(json_object_get(m, "baseline"), "container")),
				 "container_id",
				 json_string_value(json_object_get(json_object_get(m, "baseline"), "container_id")),
				 "created",
				 json_string_value(json_object_get(m, "created")), "version",
				 json_string_value(json_object_get(m, "version")), "image",
				 json_string_value(json_object_get(json_object_get(m, "image"), "ref")), "image_id",
				 json_string_value(json_object_get(json_object_get(m, "image"), "id")), "bytes",
				 json_integer_value(json_object_get(m, "bytes")), "new_bytes",
				 json_integer_value(json_object_get(m, "new_bytes")), "offline", offline, "location",
				 location, "path", path ? path : "", "readable", m != NULL);
		if (item)
			json_array_append_new(list, item);
		json_decref(m);
		json_decref(layers);
		free(path);
		free(mpath);
	}
	closedir(d);
	return 0;
}

int snapshot_list(const struct deployment *d, json_t **out, struct cpactl_error *err)
{
	json_t *list = json_array();
	DIR *archive;
	struct dirent *e;
	json_t **items = NULL;
	size_t n;

	*out = NULL;
	if (!list)
		return error_set(err, ERR_NOMEM, "out of memory");
	if (add_snapshots_in(d->backup_dir, "backup", d->store_dir, list, err) < 0)
		goto fail;
	archive = opendir(d->archive_dir);
	if (!archive && errno != ENOENT) {
		error_set_errno(err, errno, ERR_IO, "cannot read the archives in '%s'", d->archive_dir);
		goto fail;
	}
	if (archive) {
		int failed = 0;
		while (!failed && (e = readdir(archive)) != NULL) {
			char *sub, loc[300];
			if (e->d_name[0] == '.')
				continue;
			sub = path_join(d->archive_dir, e->d_name);
			snprintf(loc, sizeof(loc), "archive/%s", e->d_name);
			if (sub && add_snapshots_in(sub, loc, d->store_dir, list, err) < 0)
				failed = 1;
			free(sub);
		}
		closedir(archive);
		if (failed)
			goto fail;
	}
	/* Oldest first: ids sort by time. */
	n = json_array_size(list);
	items = calloc(n + 1, sizeof(*items));
	if (!items) {
		json_decref(list);
		return error_set(err, ERR_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		items[i] = json_incref(json_array_get(list, i));
	qsort(items, n, sizeof(*items), compare_ids);
	json_array_clear(list);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, items[i]);
	free(items);
	*out = list;
	return 0;
fail:
	json_decref(list);
	return -1;
}

#define problem(problems, ...) json_array_appendf((problems), __VA_ARGS__)

/* A part is a file directly in the snapshot directory. */
static int part_name_safe(const char *key)
{
	return key[0] != '\0' && key[0] != '.' && !strchr(key, '/');
}

int snapshot_manifest_parse(const char *text, size_t len, const char *id, json_t **manifest, json_t *problems)
{
	json_t *m = json_loadb(text, len, 0, NULL), *v;
	const char *key;

	*manifest = NULL;
	if (!json_is_object(m)) {
		json_decref(m);
		problem(problems, "manifest.json is not valid JSON");
		return -1;
	}
	if (!json_is_string(json_object_get(m, "id")) || strcmp(json_string_value(json_object_get(m, "id")), id) != 0)
		problem(problems, "manifest.json names another snapshot than '%s'", id);
	json_object_foreach(json_object_get(m, "parts"), key, v)
		if (!part_name_safe(key))
			problem(problems, "manifest.json names a part outside the snapshot: '%s'", key);
	*manifest = m;
	return 0;
}

/* A tar part whose entries a restore would refuse (snapshots taken before
 * backup left those out) cannot bring its directory back: say which. */
static void check_restorable(const char *dir, const char *key, json_t *problems)
{
	char *path = path_join(dir, key);
	struct archive *a = archive_read_new();
	struct archive_entry *entry;

	if (!path || !a)
		goto out;
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK)
		goto out; /* missing or unreadable: a problem already */
	while (archive_read_next_header(a, &entry) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(entry), *why;
		if (!name || strcmp(name, ".") == 0 || strcmp(name, "./") == 0)
			continue;
		if ((why = tar_entry_unrestorable(entry, name)) != NULL)
			problem(problems, "%s holds '%s', which a rollback would refuse (%s): the snapshot cannot be "
				"restored whole",
				key, name, why);
	}
out:
	if (a)
		archive_read_free(a);
	free(path);
}

static json_t *verify_one(const struct deployment *d, const char *id, const char *path)
{
	json_t *problems = json_array(), *manifest = NULL, *parts, *v, *layers = NULL, *entry;
	char *mpath = path_join(path, SNAPSHOT_PART_MANIFEST), *text = NULL, *seal_text = NULL;
	char hex[SHA256_HEX_LEN + 1];
	struct buf seal_path = BUF_INIT;
	struct cpactl_error e = CPACTL_ERROR_INIT;
	const char *key;
	size_t len = 0, i;

	buf_appendf(&seal_path, "%s/seals/%s.sha256", d->state_dir, id);
	if (!mpath || read_small_file(mpath, MANIFEST_MAX, &text, &len, &e) < 0) {
		problem(problems, "manifest.json is missing or unreadable");
		goto out;
	}
	error_clear(&e);
	if (sha256_buffer(text, len, hex, &e) < 0 ||
	    read_small_file(buf_str(&seal_path), 4096, &seal_text, NULL, &e) < 0) {
		problem(problems, "the seal of the manifest (%s) is missing: the snapshot cannot be trusted",
			buf_str(&seal_path));
	} else if (strncmp(seal_text, hex, SHA256_HEX_LEN) != 0) {
		problem(problems, "manifest.json does not match its seal: it was edited or is corrupt");
	}
	if (snapshot_manifest_parse(text, len, id, &manifest, problems) < 0)
		goto out;
	parts = json_object_get(manifest, "parts");
	json_object_foreach(parts, key, v) {
		char *ppath;
		uint64_t size = 0;
		const char *want = json_string_value(json_object_get(v, "sha256"));
		if (!part_name_safe(key))
			continue; /* a problem already */
		ppath = path_join(path, key);
		error_clear(&e);
		if (!ppath || sha256_file(ppath, hex, &size, &e) < 0)
			problem(problems, "%s is missing or unreadable", key);
		else if (!want || strcmp(want, hex) != 0 ||
			 size != (uint64_t)json_integer_value(json_object_get(v, "size")))
			problem(problems, "%s is corrupt: its SHA-256 or size differs from the manifest", key);
		else if (strcmp(key, SNAPSHOT_PART_AUTH) == 0 || strcmp(key, SNAPSHOT_PART_PLUGINS) == 0)
			check_restorable(path, key, problems);
		free(ppath);
	}
	if (json_is_true(json_object_get(json_object_get(manifest, "image"), "saved"))) {
		char *lpath = path_join(path, SNAPSHOT_PART_IMAGE_LAYERS);
		if (!json_object_get(parts, SNAPSHOT_PART_IMAGE_LAYERS))
			problem(problems, "image-layers.json is not in the manifest");
		layers = lpath ? json_load_file(lpath, 0, NULL) : NULL;
		free(lpath);
		json_array_foreach(json_object_get(layers, "entries"), i, entry) {
			const char *bhex = json_string_value(json_object_get(entry, "sha256"));
			const char *epath = json_string_value(json_object_get(entry, "path"));
			if (!bhex)
				continue;
			error_clear(&e);
			if (blob_verify(d->store_dir, bhex, (uint64_t)json_integer_value(json_object_get(entry, "size")), &e) < 0)
				problem(problems, "%s (needed by image entry '%s')", e.message, epath ? epath : "");
		}
	}
out:
	free(mpath);
	free(text);
	free(seal_text);
	buf_free(&seal_path);
	json_decref(manifest);
	json_decref(layers);
	return json_pack("{s:s,s:b,s:o}", "id", id, "ok", json_array_size(problems) == 0, "problems", problems);
}

/* The "baseline" of the manifest at `path`, or NULL when unreadable (verify
 * reports that; a snapshot nobody can place is nobody's to skip). */
static json_t *load_baseline(const char *path)
{
	char *mpath = path_join(path, SNAPSHOT_PART_MANIFEST);
	json_t *m = mpath ? json_load_file(mpath, 0, NULL) : NULL, *b = NULL;

	if (json_is_object(json_object_get(m, "baseline")))
		b = json_incref(json_object_get(m, "baseline"));
	json_decref(m);
	free(mpath);
	return b;
}

int snapshot_verify_own(const struct deployment *d, const struct cpa_target *t, const char *id, json_t **report,
			int *all_ok, json_t **skipped, struct cpactl_error *err)
{
	json_t *out = NULL, *item, *list = NULL;
	size_t i;
	int rc = -1;

	*report = NULL;
	*skipped = NULL;
	*all_ok = 1;
	if (snapshot_list(d, &list, err) < 0)
		return -1;
	if (!(out = json_array()) || !(*skipped = json_array())) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	json_array_foreach(list, i, item) {
		const char *sid = json_string_value(json_object_get(item, "id"));
		json_t *baseline, *one;
		char *why = NULL;
		enum lineage_match match;

		if (id && strcmp(id, sid) != 0)
			continue;
		/* Without a container every snapshot is checked. */
		baseline = t ? load_baseline(json_string_value(json_object_get(item, "path"))) : NULL;
		match = baseline ? lineage_belongs(d, t, baseline, id != NULL, &why) : LINEAGE_OWN;
		if (match == LINEAGE_FOREIGN && id) {
			error_set(err, ERR_FAILED,
				  "snapshot %s was taken of container '%s', not of '%s' (%s): verify it with "
				  "--container %s",
				  sid, json_string_value(json_object_get(baseline, "container")), t->name, why,
				  json_string_value(json_object_get(baseline, "container")));
			free(why);
			json_decref(baseline);
			goto out;
		}
		free(why);
		if (match == LINEAGE_FOREIGN) {
			json_array_append_new(*skipped, json_pack("{s:s,s:s?}", "id", sid, "container",
								  json_string_value(json_object_get(baseline, "container"))));
			json_decref(baseline);
			continue;
		}
		json_decref(baseline);
		one = verify_one(d, sid, json_string_value(json_object_get(item, "path")));
		json_object_set_new(one, "location", json_incref(json_object_get(item, "location")));
		if (!json_is_true(json_object_get(one, "ok")))
			*all_ok = 0;
		json_array_append_new(out, one);
	}
	if (id && json_array_size(out) == 0) {
		error_set(err, ERR_NOT_FOUND, "no snapshot '%s' under '%s' (see 'cpactl list')", id, d->root);
		goto out;
	}
	*report = out;
	out = NULL;
	rc = 0;
out:
	json_decref(list);
	json_decref(out);
	if (rc < 0) {
		json_decref(*skipped);
		*skipped = NULL;
	}
	return rc;
}

int snapshot_verify(const struct deployment *d, const char *id, json_t **report, int *all_ok,
		    struct cpactl_error *err)
{
	json_t *skipped = NULL;
	int rc = snapshot_verify_own(d, NULL, id, report, all_ok, &skipped, err);

	json_decref(skipped);
	return rc;
}

int snapshot_commit_config(const struct deployment *d, const char *snapshot_path, const char *snapshot_id,
			   const struct cpa_target *t, const char *why, char oid[41], int *committed,
			   struct cpactl_error *err)
{
	struct buf path = BUF_INIT, message = BUF_INIT;
	struct cpactl_error inner = CPACTL_ERROR_INIT;
	char *data = NULL;
	size_t len = 0;
	int rc = -1;

	*committed = 0;
	oid[0] = '\0';
	buf_appendf(&path, "%s/%s", snapshot_path, snapshot_settings_part(t));
	if (read_small_file(path.data, CPA_CONFIG_MAX, &data, &len, &inner) < 0) {
		rc = 0;
		goto out;
	}
	/* Names, versions and ids only: a commit message never holds a secret. */
	buf_appendf(&message, "%s %s: %s %s, image %s\n\ncontainer: %s\nsnapshot: %s\n", why, snapshot_id,
		    snapshot_profile(t)->cpa ? "CPA" : snapshot_profile(t)->name, t->version ? t->version : "unknown", t->image ? t->image : "unknown", t->name, snapshot_id);
	rc = history_commit(d->history_dir, data, len, message.data, oid, committed, err);
out:
	if (data)
		memset(data, 0, len);
	free(data);
	buf_free(&path);
	buf_free(&message);
	return rc;
}
