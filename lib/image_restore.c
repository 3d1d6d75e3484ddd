/*
 * image_restore.c - see image_restore.h.
 *
 * The save stream is rebuilt with libarchive in a writer thread that pushes
 * it into a pipe, while the engine's load call pulls from the other end:
 * like backup, constant memory whatever the image size, and no temporary
 * copy of the image on disk.
 */
#include "image_restore.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "blobstore.h"
#include "buf.h"
#include "tar_extract.h"

#define LAYERS_MAX ((size_t)64 * 1024 * 1024)

struct writer {
	const char *store_dir;
	json_t *entries;
	int fd;
	int rc;
	struct cpactl_error err;
	const volatile sig_atomic_t *interrupted;
};

/* A path of the save stream: relative, no "..", no empty component. */
static int safe_entry_path(const char *p)
{
	const char *c = p;

	if (!p || !*p || *p == '/' || strlen(p) > 4096)
		return 0;
	while (*c) {
		size_t n = strcspn(c, "/");
		if ((n == 2 && c[0] == '.' && c[1] == '.') || (n == 0 && c[0] == '/'))
			return 0;
		c += n;
		if (*c == '/')
			c++;
	}
	return 1;
}

/* Checks every entry before a byte goes to the engine: a manifest that lies
 * is refused as a whole, never half loaded. */
int image_entries_check(const char *store_dir, json_t *entries, struct cpactl_error *err)
{
	json_t *e;
	size_t i;
	int have_manifest = 0;

	if (!json_is_array(entries) || json_array_size(entries) == 0)
		return error_set(err, ERR_FAILED, "image-layers.json lists no entries");
	json_array_foreach(entries, i, e) {
		const char *path = json_string_value(json_object_get(e, "path"));
		const char *type = json_string_value(json_object_get(e, "type"));
		const char *hex = json_string_value(json_object_get(e, "sha256"));
		json_t *size = json_object_get(e, "size");

		if (!safe_entry_path(path))
			return error_set(err, ERR_FAILED, "image-layers.json: entry %zu has an unsafe path", i);
		if (!type || (strcmp(type, "file") != 0 && strcmp(type, "dir") != 0 && strcmp(type, "symlink") != 0))
			return error_set(err, ERR_FAILED, "image-layers.json: '%s' is not a file, dir or symlink", path);
		if (strcmp(type, "symlink") == 0 && !json_is_string(json_object_get(e, "target")))
			return error_set(err, ERR_FAILED, "image-layers.json: symlink '%s' has no target", path);
		if (strcmp(type, "file") == 0) {
			if (!hex || !json_is_integer(size) || json_integer_value(size) < 0)
				return error_set(err, ERR_FAILED, "image-layers.json: file '%s' has no blob", path);
			/* A blob name is a SHA-256, never a path. */
			if (strlen(hex) != SHA256_HEX_LEN || strspn(hex, "0123456789abcdef") != SHA256_HEX_LEN)
				return error_set(err, ERR_FAILED, "image-layers.json: file '%s' names no blob (not a SHA-256)",
						 path);
			if (!blob_present(store_dir, hex, (uint64_t)json_integer_value(size)))
				return error_set(err, ERR_NOT_FOUND,
						 "the blob of image entry '%s' is missing from the store or has another "
						 "size: this snapshot cannot be restored offline",
						 path);
		}
		if (strcmp(path, "manifest.json") == 0)
			have_manifest = 1;
	}
	if (!have_manifest)
		return error_set(err, ERR_FAILED, "image-layers.json has no manifest.json: not a saved image");
	return 0;
}

int image_layers_parse(const char *store_dir, const char *text, size_t len, const char *name, json_t **layers,
		       struct cpactl_error *err)
{
	json_error_t jerr;
	json_t *doc = json_loadb(text, len, 0, &jerr);

	*layers = NULL;
	if (!doc)
		return error_set(err, ERR_FAILED, "'%s' is not valid JSON: %s", name, jerr.text);
	if (image_entries_check(store_dir, json_object_get(doc, "entries"), err) < 0) {
		json_decref(doc);
		return -1;
	}
	*layers = doc;
	return 0;
}

static int copy_blob(struct archive *a, const char *store_dir, const char *hex, struct writer *w)
{
	char *path = blob_path(store_dir, hex);
	char chunk[65536];
	ssize_t n;
	int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1, rc = -1;

	if (fd < 0) {
		error_set_errno(&w->err, errno, ERR_IO, "cannot open blob %.16s", hex);
		goto out;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		if (w->interrupted && *w->interrupted) {
			error_set(&w->err, ERR_FAILED, "interrupted");
			goto out;
		}
		if (archive_write_data(a, chunk, (size_t)n) != n) {
			/* The engine stopped reading (EPIPE): its own error tells why. */
			tar_error(&w->err, ERR_ENGINE, a, "the image stream to the engine broke");
			goto out;
		}
	}
	if (n < 0) {
		error_set_errno(&w->err, errno, ERR_IO, "cannot read blob %.16s", hex);
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(path);
	return rc;
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct archive *a = archive_write_new();
	struct archive_entry *entry = archive_entry_new();
	json_t *e;
	size_t i;

	w->rc = -1;
	archive_write_set_format_pax_restricted(a);
	/* No padding to 10 KiB records: the engine wants the tar as it was. */
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open_fd(a, w->fd) != ARCHIVE_OK) {
		tar_error(&w->err, ERR_IO, a, "cannot start the image stream");
		goto out;
	}
	json_array_foreach(w->entries, i, e) {
		const char *type = json_string_value(json_object_get(e, "type"));
		archive_entry_clear(entry);
		archive_entry_set_pathname(entry, json_string_value(json_object_get(e, "path")));
		archive_entry_set_perm(entry, (mode_t)json_integer_value(json_object_get(e, "mode")));
		archive_entry_set_mtime(entry, (time_t)json_integer_value(json_object_get(e, "mtime")), 0);
		if (strcmp(type, "dir") == 0) {
			archive_entry_set_filetype(entry, AE_IFDIR);
		} else if (strcmp(type, "symlink") == 0) {
			archive_entry_set_filetype(entry, AE_IFLNK);
			archive_entry_set_symlink(entry, json_string_value(json_object_get(e, "target")));
		} else {
			archive_entry_set_filetype(entry, AE_IFREG);
			archive_entry_set_size(entry, (la_int64_t)json_integer_value(json_object_get(e, "size")));
		}
		if (archive_write_header(a, entry) != ARCHIVE_OK) {
			tar_error(&w->err, ERR_ENGINE, a, "the image stream to the engine broke");
			goto out;
		}
		if (strcmp(type, "file") == 0 &&
		    copy_blob(a, w->store_dir, json_string_value(json_object_get(e, "sha256")), w) < 0)
			goto out;
	}
	if (archive_write_close(a) != ARCHIVE_OK) {
		tar_error(&w->err, ERR_ENGINE, a, "the image stream to the engine broke");
		goto out;
	}
	w->rc = 0;
out:
	archive_entry_free(entry);
	archive_write_free(a);
	close(w->fd);
	w->fd = -1;
	return NULL;
}

static ssize_t pipe_source(void *ctx, char *data, size_t cap)
{
	int fd = *(int *)ctx;
	ssize_t n;

	do
		n = read(fd, data, cap);
	while (n < 0 && errno == EINTR);
	return n;
}

int image_restore(struct docker_client *c, const char *store_dir, const char *snapshot_path,
		  const char *image_id, const volatile sig_atomic_t *interrupted, docker_progress_fn progress,
		  void *progress_ctx, struct cpactl_error *err)
{
	struct buf path = BUF_INIT;
	struct writer w;
	struct cpactl_error e = CPACTL_ERROR_INIT;
	json_t *layers = NULL, *inspect = NULL;
	char *text = NULL;
	size_t len = 0;
	pthread_t thread;
	int fds[2] = { -1, -1 }, started = 0, rc = -1;

	memset(&w, 0, sizeof(w));
	buf_appendf(&path, "%s/image-layers.json", snapshot_path);
	if (read_small_file(path.data, LAYERS_MAX, &text, &len, err) < 0)
		goto out;
	if (image_layers_parse(store_dir, text, len, path.data, &layers, err) < 0)
		goto out;
	if (pipe2(fds, O_CLOEXEC) < 0) {
		error_set_errno(err, errno, ERR_IO, "cannot create a pipe");
		goto out;
	}
	fcntl(fds[1], F_SETPIPE_SZ, 1024 * 1024);
	w.store_dir = store_dir;
	w.entries = json_object_get(layers, "entries");
	w.fd = fds[1];
	w.interrupted = interrupted;
	if (pthread_create(&thread, NULL, writer_main, &w) != 0) {
		error_set(err, ERR_FAILED, "cannot start the image writer thread");
		goto out;
	}
	started = 1;
	fds[1] = -1; /* the thread owns and closes it */
	rc = docker_image_load(c, pipe_source, &fds[0], progress, progress_ctx, err);
	/* Closing our end makes a still-writing thread fail and stop. */
	close(fds[0]);
	fds[0] = -1;
	pthread_join(thread, NULL);
	started = 0;
	if (w.rc < 0 && rc == 0) {
		error_set(err, w.err.kind, "%s", w.err.message);
		rc = -1;
	}
	if (rc < 0)
		goto out;
	rc = -1;
	/* The engine must now hold exactly the image the snapshot names. */
	if (image_id && docker_image_inspect(c, image_id, &inspect, &e) < 0) {
		error_set(err, ERR_FAILED, "the engine loaded the snapshot's image but holds no image %.19s: %s", image_id,
			  e.message);
		goto out;
	}
	rc = 0;
out:
	if (started)
		pthread_join(thread, NULL);
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	json_decref(layers);
	json_decref(inspect);
	free(text);
	buf_free(&path);
	return rc;
}
