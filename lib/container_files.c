/*
 * container_files.c - see container_files.h.
 */
#include "container_files.h"

#include "atomic_file.h"
#include "tar_extract.h"

#include <archive.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* The archive of a single config file or an auth dir listing is small; the
 * cap keeps a hostile container from making cpactl buffer gigabytes. */
#define ARCHIVE_BUFFER_MAX ((size_t)256 * 1024 * 1024)

struct bounded {
	struct buf *b;
	size_t max;
	int overflow;
};

static int bounded_sink(void *ctx, const char *data, size_t len)
{
	struct bounded *s = ctx;
	if (s->b->len + len > s->max) {
		s->overflow = 1;
		return -1;
	}
	return buf_append(s->b, data, len);
}

static int fetch(struct docker_client *c, const char *id, const char *path, size_t max,
		 struct buf *tar, struct cpactl_error *err)
{
	struct bounded s = { tar, max, 0 };
	struct cpactl_error inner = CPACTL_ERROR_INIT;

	if (docker_container_archive(c, id, path, bounded_sink, &s, &inner) < 0) {
		if (s.overflow)
			return error_set(err, ERR_IO, "'%s' in container '%s' is larger than %zu bytes",
					 path, id, max);
		*err = err->kind == ERR_NONE ? inner : *err;
		return -1;
	}
	return 0;
}

static int open_tar(struct archive **a, const struct buf *tar, struct cpactl_error *err)
{
	*a = archive_read_new();
	if (!*a)
		return error_set(err, ERR_NOMEM, "out of memory");
	archive_read_support_format_tar(*a);
	if (archive_read_open_memory(*a, tar->data ? tar->data : "", tar->len) != ARCHIVE_OK)
		return tar_error(err, ERR_ENGINE, *a, "the engine's archive cannot be read");
	return 0;
}

/* Who owns a file and its permission bits, as the engine's tar says. */
struct file_meta {
	int mode;
	la_int64_t uid, gid;
};

static int read_file_entry(struct docker_client *c, const char *id, const char *path, size_t max_bytes,
			   struct buf *out, int *is_dir, struct file_meta *meta, struct cpactl_error *err);

int container_read_file(struct docker_client *c, const char *id, const char *path,
			size_t max_bytes, struct buf *out, int *is_dir, struct cpactl_error *err)
{
	return read_file_entry(c, id, path, max_bytes, out, is_dir, NULL, err);
}

static int read_file_entry(struct docker_client *c, const char *id, const char *path, size_t max_bytes,
			   struct buf *out, int *is_dir, struct file_meta *meta, struct cpactl_error *err)
{
	struct buf tar = BUF_INIT;
	struct archive *a = NULL;
	struct archive_entry *entry;
	int rc = -1, r;

	if (is_dir)
		*is_dir = 0;
	/* A tar adds headers: leave room for them beyond max_bytes. */
	if (fetch(c, id, path, max_bytes + 64 * 1024, &tar, err) < 0)
		goto out;
	if (open_tar(&a, &tar, err) < 0)
		goto out;
	r = archive_read_next_header(a, &entry);
	if (r != ARCHIVE_OK) {
		error_set(err, ERR_ENGINE, "the engine's archive of '%s' is empty or corrupt", path);
		goto out;
	}
	if (archive_entry_filetype(entry) == AE_IFDIR) {
		if (is_dir)
			*is_dir = 1;
		error_set(err, ERR_IO, "'%s' is a directory, not a file", path);
		goto out;
	}
	if (archive_entry_filetype(entry) != AE_IFREG) {
		error_set(err, ERR_IO, "'%s' is not a regular file", path);
		goto out;
	}
	if (meta) {
		meta->mode = (int)(archive_entry_perm(entry) & 07777);
		meta->uid = archive_entry_uid(entry);
		meta->gid = archive_entry_gid(entry);
	}
	if (archive_entry_size(entry) > (la_int64_t)max_bytes) {
		error_set(err, ERR_IO, "'%s' is larger than %zu bytes", path, max_bytes);
		goto out;
	}
	for (;;) {
		char chunk[16384];
		la_ssize_t n = archive_read_data(a, chunk, sizeof(chunk));
		if (n < 0) {
			tar_error(err, ERR_ENGINE, a, "reading '%s' from the engine's archive failed", path);
			goto out;
		}
		if (n == 0)
			break;
		if (buf_append(out, chunk, (size_t)n) < 0) {
			error_set(err, ERR_NOMEM, "out of memory");
			goto out;
		}
	}
	rc = 0;
out:
	if (a)
		archive_read_free(a);
	buf_wipe(&tar);
	return rc;
}

int container_list_dir(struct docker_client *c, const char *id, const char *path,
		       json_t **out, struct cpactl_error *err)
{
	struct buf tar = BUF_INIT;
	struct archive *a = NULL;
	struct archive_entry *entry;
	json_t *list = json_array();
	const char *base;
	size_t base_len;
	int rc = -1, r;

	*out = NULL;
	if (!list) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (fetch(c, id, path, ARCHIVE_BUFFER_MAX, &tar, err) < 0)
		goto out;
	if (open_tar(&a, &tar, err) < 0)
		goto out;
	/* Entries are "<basename>/<name>"; the first is the directory itself. */
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	base_len = strlen(base);
	while ((r = archive_read_next_header(a, &entry)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(entry);
		const char *type;
		if (!name)
			continue;
		if (strncmp(name, base, base_len) == 0 && name[base_len] == '/')
			name += base_len + 1;
		else if (strcmp(name, base) == 0) {
			if (archive_entry_filetype(entry) != AE_IFDIR) {
				error_set(err, ERR_IO, "'%s' is not a directory", path);
				goto out;
			}
			continue;
		}
		/* Only the top level: CPA reads auth files there and nowhere else. */
		if (!*name || (strchr(name, '/') && strchr(name, '/')[1] != '\0'))
			continue;
		switch (archive_entry_filetype(entry)) {
		case AE_IFREG: type = "file"; break;
		case AE_IFDIR: type = "dir"; break;
		case AE_IFLNK: type = "link"; break;
		default: type = "other"; break;
		}
		{
			char clean[1024];
			snprintf(clean, sizeof(clean), "%s", name);
			size_t n = strlen(clean);
			if (n && clean[n - 1] == '/')
				clean[n - 1] = '\0';
			json_array_append_new(list, json_pack("{s:s,s:s,s:I,s:i}", "name", clean, "type", type,
							      "size", (json_int_t)archive_entry_size(entry),
							      "mode", (int)(archive_entry_perm(entry) & 07777)));
		}
		archive_read_data_skip(a);
	}
	if (r != ARCHIVE_EOF) {
		tar_error(err, ERR_ENGINE, a, "the engine's archive of '%s' is corrupt", path);
		goto out;
	}
	*out = list;
	list = NULL;
	rc = 0;
out:
	json_decref(list);
	if (a)
		archive_read_free(a);
	buf_wipe(&tar);
	return rc;
}

int container_read_file_at(struct docker_client *c, const char *id, const char *path,
			   const char *host_path, size_t max_bytes, struct buf *out, int *is_dir,
			   struct cpactl_error *err)
{
	struct stat st;
	char chunk[16384];
	ssize_t n;
	int fd, rc = -1;

	if (!host_path)
		return container_read_file(c, id, path, max_bytes, out, is_dir, err);
	if (is_dir)
		*is_dir = 0;
	fd = open(host_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_set_errno(err, errno, errno == ENOENT ? ERR_NOT_FOUND : ERR_IO, "cannot read '%s'",
				       host_path);
	if (fstat(fd, &st) < 0) {
		error_set_errno(err, errno, ERR_IO, "cannot read '%s'", host_path);
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		if (is_dir)
			*is_dir = 1;
		error_set(err, ERR_IO, "'%s' is a directory, not a file", host_path);
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size > max_bytes) {
		error_set(err, ERR_IO, "'%s' is not a regular file of at most %zu bytes", host_path, max_bytes);
		goto out;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		if (out->len + (size_t)n > max_bytes) {
			error_set(err, ERR_IO, "'%s' is larger than %zu bytes", host_path, max_bytes);
			goto out;
		}
		if (buf_append(out, chunk, (size_t)n) < 0) {
			error_set(err, ERR_NOMEM, "out of memory");
			goto out;
		}
	}
	if (n < 0) {
		error_set_errno(err, errno, ERR_IO, "cannot read '%s'", host_path);
		goto out;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

int container_list_dir_at(struct docker_client *c, const char *id, const char *path,
			  const char *host_path, json_t **out, struct cpactl_error *err)
{
	DIR *d;
	struct dirent *e;
	json_t *list;

	if (!host_path)
		return container_list_dir(c, id, path, out, err);
	*out = NULL;
	d = opendir(host_path);
	if (!d)
		return error_set_errno(err, errno, errno == ENOENT ? ERR_NOT_FOUND : ERR_IO,
				       "cannot list '%s'", host_path);
	list = json_array();
	while (list && (e = readdir(d)) != NULL) {
		struct stat st;
		const char *type;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		type = S_ISREG(st.st_mode) ? "file" : S_ISDIR(st.st_mode) ? "dir" : S_ISLNK(st.st_mode) ? "link" : "other";
		json_array_append_new(list, json_pack("{s:s,s:s,s:I,s:i}", "name", e->d_name, "type", type, "size",
						      (json_int_t)st.st_size, "mode", (int)(st.st_mode & 07777)));
	}
	closedir(d);
	if (!list)
		return error_set(err, ERR_NOMEM, "out of memory");
	*out = list;
	return 0;
}

struct file_sink {
	int fd;
	const char *path;
	const volatile sig_atomic_t *interrupted;
	uint64_t bytes;
	struct cpactl_error *err;
};

static int file_sink_write(void *ctx, const char *data, size_t len)
{
	struct file_sink *s = ctx;
	if (s->interrupted && *s->interrupted)
		return -1;
	s->bytes += len;
	return write_all(s->fd, data, len, s->path, s->err);
}

int container_archive_to_file(struct docker_client *c, const char *id, const char *path,
			      const char *file, const volatile sig_atomic_t *interrupted,
			      uint64_t *bytes, struct cpactl_error *err)
{
	struct file_sink s = { -1, file, interrupted, 0, err };
	int rc = -1;

	s.fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s.fd < 0)
		return error_set_errno(err, errno, ERR_IO, "cannot create '%s'", file);
	if (docker_container_archive(c, id, path, file_sink_write, &s, err) < 0)
		goto out;
	if (fsync_fd(s.fd, file, err) < 0)
		goto out;
	rc = 0;
out:
	if (close(s.fd) < 0 && rc == 0)
		rc = error_set_errno(err, errno, ERR_IO, "cannot write '%s'", file);
	if (bytes)
		*bytes = s.bytes;
	return rc;
}

/* How much larger than the new data the old file may be and still have its
 * owner read (a bigger old file gets root's 0600). */
#define CONTAINER_WRITE_SLACK ((size_t)16 << 20)

int container_write_file(struct docker_client *c, const char *id, const char *path, const char *data,
			 size_t len, struct cpactl_error *err)
{
	struct file_meta meta = { 0600, 0, 0 };
	struct buf old = BUF_INIT, dir = BUF_INIT;
	struct cpactl_error e = CPACTL_ERROR_INIT;
	struct archive *a = NULL;
	struct archive_entry *entry = NULL;
	const char *base = strrchr(path, '/');
	/* The tar: one header and the data, padded to 512-byte blocks, and the
	 * end-of-archive blocks; pax headers for long names fit in the slack. */
	size_t room = len + 16 * 1024, used = 0;
	char *tar = NULL;
	int rc = -1;

	if (!base || !base[1] || path[0] != '/')
		return error_set(err, ERR_USAGE, "'%s' is not an absolute file path", path);
	/* The new file keeps the owner and mode of the old one. */
	if (read_file_entry(c, id, path, len + CONTAINER_WRITE_SLACK, &old, NULL, &meta, &e) < 0 &&
	    e.kind != ERR_NOT_FOUND && e.kind != ERR_IO) {
		*err = e;
		goto out;
	}
	error_clear(&e);
	buf_append(&dir, path, base == path ? 1 : (size_t)(base - path));
	tar = malloc(room);
	a = archive_write_new();
	entry = archive_entry_new();
	if (!tar || !a || !entry || !dir.data) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	archive_entry_set_pathname(entry, base + 1);
	archive_entry_set_filetype(entry, AE_IFREG);
	archive_entry_set_perm(entry, (mode_t)meta.mode);
	archive_entry_set_uid(entry, meta.uid);
	archive_entry_set_gid(entry, meta.gid);
	archive_entry_set_size(entry, (la_int64_t)len);
	archive_entry_set_mtime(entry, time(NULL), 0);
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_open_memory(a, tar, room, &used) != ARCHIVE_OK ||
	    archive_write_header(a, entry) != ARCHIVE_OK ||
	    (len && archive_write_data(a, data, len) != (la_ssize_t)len) || archive_write_close(a) != ARCHIVE_OK) {
		tar_error(err, ERR_IO, a, "cannot pack '%s' for the engine", path);
		goto out;
	}
	rc = docker_container_put_archive(c, id, dir.data, tar, used, err);
out:
	if (a)
		archive_write_free(a);
	if (entry)
		archive_entry_free(entry);
	if (tar) {
		memset(tar, 0, room);
		free(tar);
	}
	buf_wipe(&old);
	buf_free(&dir);
	return rc;
}
