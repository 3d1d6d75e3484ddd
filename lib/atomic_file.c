/*
 * atomic_file.c - see atomic_file.h.
 */
#define _XOPEN_SOURCE 700
#include "atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"

int write_all(int fd, const void *data, size_t len, const char *path, struct cpactl_error *err)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOSPC)
				return error_set(err, ERR_IO, "cannot write '%s': no space left on device", path);
			return error_set_errno(err, errno, ERR_IO, "cannot write '%s'", path);
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fsync_fd(int fd, const char *path, struct cpactl_error *err)
{
	if (fsync(fd) < 0) {
		if (errno == ENOSPC)
			return error_set(err, ERR_IO, "cannot write '%s': no space left on device", path);
		return error_set_errno(err, errno, ERR_IO, "cannot sync '%s'", path);
	}
	return 0;
}

int fsync_dir(const char *path, struct cpactl_error *err)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return error_set_errno(err, errno, ERR_IO, "cannot open directory '%s'", path);
	rc = fsync_fd(fd, path, err);
	close(fd);
	return rc;
}

int atomic_write_file(const char *path, const void *data, size_t len, int mode,
		      struct cpactl_error *err)
{
	struct buf tmp = BUF_INIT, dir = BUF_INIT;
	const char *slash = strrchr(path, '/');
	int fd = -1, rc = -1;

	if (buf_appendf(&tmp, "%s.tmp-%ld", path, (long)getpid()) < 0 ||
	    buf_append(&dir, path, slash ? (size_t)(slash - path) : 0) < 0) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (!dir.len)
		buf_append_str(&dir, ".");
	fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		error_set_errno(err, errno, ERR_IO, "cannot create '%s'", tmp.data);
		goto out;
	}
	/* open() honours the umask; the mode must be exactly what was asked. */
	if (fchmod(fd, (mode_t)mode) < 0 || write_all(fd, data, len, path, err) < 0 ||
	    fsync_fd(fd, path, err) < 0) {
		error_set_errno(err, errno, ERR_IO, "cannot write '%s'", path);
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		error_set_errno(err, errno, ERR_IO, "cannot write '%s'", path);
		goto out;
	}
	fd = -1;
	if (rename(tmp.data, path) < 0) {
		error_set_errno(err, errno, ERR_IO, "cannot rename '%s' to '%s'", tmp.data, path);
		goto out;
	}
	if (fsync_dir(dir.data, err) < 0)
		goto out;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0 && tmp.data)
		unlink(tmp.data);
	buf_free(&tmp);
	buf_free(&dir);
	return rc;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int remove_tree(const char *path, struct cpactl_error *err)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : error_set_errno(err, errno, ERR_IO, "cannot remove '%s'", path);
	if (nftw(path, remove_entry, 32, FTW_DEPTH | FTW_PHYS) < 0)
		return error_set_errno(err, errno, ERR_IO, "cannot remove '%s'", path);
	return 0;
}

int read_small_file(const char *path, size_t max, char **out, size_t *len, struct cpactl_error *err)
{
	struct buf b = BUF_INIT;
	char chunk[16384];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*out = NULL;
	if (fd < 0)
		return error_set_errno(err, errno, errno == ENOENT ? ERR_NOT_FOUND : ERR_IO, "cannot read '%s'", path);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		if (b.len + (size_t)n > max) {
			close(fd);
			buf_free(&b);
			return error_set(err, ERR_IO, "'%s' is larger than %zu bytes", path, max);
		}
		buf_append(&b, chunk, (size_t)n);
	}
	close(fd);
	if (n < 0) {
		buf_free(&b);
		return error_set_errno(err, errno, ERR_IO, "cannot read '%s'", path);
	}
	if (len)
		*len = b.len;
	*out = buf_detach(&b);
	return 0;
}

int rewrite_file_in_place(const char *path, const void *data, size_t len, struct cpactl_error *err)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	int rc = -1;

	if (fd < 0)
		return error_set_errno(err, errno, ERR_IO, "cannot open '%s' for writing", path);
	if (write_all(fd, data, len, path, err) < 0)
		goto out;
	if (ftruncate(fd, (off_t)len) < 0) {
		error_set_errno(err, errno, ERR_IO, "cannot write '%s'", path);
		goto out;
	}
	if (fsync_fd(fd, path, err) < 0)
		goto out;
	rc = 0;
out:
	close(fd);
	return rc;
}

int atomic_replace_file(const char *path, const void *data, size_t len, struct cpactl_error *err)
{
	struct stat st;
	struct buf tmp = BUF_INIT, dir = BUF_INIT;
	const char *slash = strrchr(path, '/');
	int fd = -1, rc = -1;

	if (stat(path, &st) < 0)
		return error_set_errno(err, errno, ERR_IO, "cannot replace '%s'", path);
	buf_appendf(&tmp, "%s.cpactl-tmp", path);
	buf_append(&dir, path, slash ? (size_t)(slash - path) : 0);
	if (!dir.len)
		buf_append_str(&dir, slash ? "/" : ".");
	fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		error_set_errno(err, errno, ERR_IO, "cannot create '%s'", tmp.data);
		goto out;
	}
	if (write_all(fd, data, len, tmp.data, err) < 0)
		goto out;
	if (fchown(fd, st.st_uid, st.st_gid) < 0 || fchmod(fd, st.st_mode & 07777) < 0) {
		error_set_errno(err, errno, ERR_IO, "cannot keep the owner and mode of '%s'", path);
		goto out;
	}
	if (fsync_fd(fd, tmp.data, err) < 0)
		goto out;
	close(fd);
	fd = -1;
	if (rename(tmp.data, path) < 0) {
		error_set_errno(err, errno, ERR_IO, "cannot replace '%s'", path);
		goto out;
	}
	rc = fsync_dir(dir.data, err);
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		unlink(tmp.data);
	buf_free(&tmp);
	buf_free(&dir);
	return rc;
}
