/*
 * blobstore.c - see blobstore.h.
 */
#include "blobstore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "buf.h"
#include "deployment.h"

#define BLOB_WRITEBACK_CHUNK ((uint64_t)8 << 20)

char *blob_path(const char *store_dir, const char *hex)
{
	struct buf p = BUF_INIT;
	if (buf_appendf(&p, "%s/sha256/%.2s/%s", store_dir, hex, hex) < 0) {
		buf_free(&p);
		return NULL;
	}
	return buf_detach(&p);
}

int blob_writer_open(const char *store_dir, struct blob_writer *w, struct cpactl_error *err)
{
	struct buf dir = BUF_INIT, path = BUF_INIT;
	int rc = -1;

	memset(w, 0, sizeof(*w));
	w->fd = -1;
	w->store_dir = store_dir;
	if (buf_appendf(&dir, "%s/tmp", store_dir) < 0 || buf_appendf(&path, "%s/blob-XXXXXX", dir.data) < 0) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (make_private_dirs(dir.data, err) < 0)
		goto out;
	w->fd = mkostemp(path.data, O_CLOEXEC);
	if (w->fd < 0) {
		error_set_errno(err, errno, ERR_IO, "cannot create a blob in '%s'", dir.data);
		goto out;
	}
	if (sha256_init(&w->hash, err) < 0)
		goto out;
	w->tmp_path = buf_detach(&path);
	rc = 0;
out:
	if (rc < 0 && w->fd >= 0) {
		unlink(path.data);
		close(w->fd);
		w->fd = -1;
	}
	buf_free(&dir);
	buf_free(&path);
	return rc;
}

int blob_writer_write(struct blob_writer *w, const void *data, size_t len, struct cpactl_error *err)
{
	if (write_all(w->fd, data, len, w->tmp_path, err) < 0)
		return -1;
	sha256_update(&w->hash, data, len);
	/* Start writeback every 8 MB while the stream goes on, so that the fsync
	 * at commit finds little left to write: durability without a long stall
	 * at the end. */
	if (w->hash.bytes - w->flushed >= BLOB_WRITEBACK_CHUNK) {
		sync_file_range(w->fd, (off64_t)w->flushed, (off64_t)(w->hash.bytes - w->flushed), SYNC_FILE_RANGE_WRITE);
		w->flushed = w->hash.bytes;
	}
	return 0;
}

int blob_writer_commit(struct blob_writer *w, char hex[SHA256_HEX_LEN + 1], uint64_t *size,
		       int *added, struct cpactl_error *err)
{
	char *final = NULL;
	struct buf dir = BUF_INIT;
	int rc = -1;

	*added = 0;
	*size = w->hash.bytes;
	sha256_final(&w->hash, hex);
	final = blob_path(w->store_dir, hex);
	if (!final) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (blob_present(w->store_dir, hex, *size)) {
		rc = 0;
		goto out;
	}
	if (fsync_fd(w->fd, w->tmp_path, err) < 0)
		goto out;
	buf_append(&dir, final, (size_t)(strrchr(final, '/') - final));
	if (make_private_dirs(dir.data, err) < 0)
		goto out;
	if (rename(w->tmp_path, final) < 0) {
		error_set_errno(err, errno, ERR_IO, "cannot store blob '%s'", final);
		goto out;
	}
	if (fsync_dir(dir.data, err) < 0)
		goto out;
	*added = 1;
	rc = 0;
out:
	close(w->fd);
	w->fd = -1;
	/* When the blob was already there, or on failure, the temporary goes. */
	unlink(w->tmp_path);
	free(w->tmp_path);
	w->tmp_path = NULL;
	free(final);
	buf_free(&dir);
	return rc;
}

void blob_writer_abort(struct blob_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	if (w->tmp_path)
		unlink(w->tmp_path);
	free(w->tmp_path);
	w->tmp_path = NULL;
	sha256_release(&w->hash);
}

int blob_present(const char *store_dir, const char *hex, uint64_t size)
{
	char *path = blob_path(store_dir, hex);
	struct stat st;
	int ok;

	ok = path && stat(path, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == size;
	free(path);
	return ok;
}

int blob_verify(const char *store_dir, const char *hex, uint64_t size, struct cpactl_error *err)
{
	char *path = blob_path(store_dir, hex);
	char actual[SHA256_HEX_LEN + 1];
	uint64_t actual_size = 0;
	struct cpactl_error inner = CPACTL_ERROR_INIT;
	int rc = -1;

	if (!path)
		return error_set(err, ERR_NOMEM, "out of memory");
	if (sha256_file(path, actual, &actual_size, &inner) < 0) {
		error_set(err, ERR_NOT_FOUND, "blob sha256:%.12s is missing from the store", hex);
		goto out;
	}
	if (actual_size != size || strcmp(actual, hex) != 0) {
		error_set(err, ERR_CHECK, "blob sha256:%.12s is corrupt (its content no longer matches its hash)", hex);
		goto out;
	}
	rc = 0;
out:
	free(path);
	return rc;
}

void blobstore_sweep_tmp(const char *store_dir)
{
	struct buf dir = BUF_INIT;
	DIR *d;
	struct dirent *e;

	buf_appendf(&dir, "%s/tmp", store_dir);
	d = opendir(buf_str(&dir));
	if (d) {
		while ((e = readdir(d)) != NULL) {
			if (strncmp(e->d_name, "blob-", 5) == 0)
				unlinkat(dirfd(d), e->d_name, 0);
		}
		closedir(d);
	}
	buf_free(&dir);
}
