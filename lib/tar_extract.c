/*
 * tar_extract.c - see tar_extract.h.
 */
#include "tar_extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

int tar_error(struct cpactl_error *err, enum error_kind kind, struct archive *a, const char *fmt, ...)
{
	const char *why = a ? archive_error_string(a) : NULL;
	int errnum = a ? archive_errno(a) : 0;
	struct buf what = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vappendf(&what, fmt, ap);
	va_end(ap);
	/* libarchive says "Write error" for a full disk: the errno says which. */
	if (errnum > 0 && (!why || !strstr(why, strerror(errnum))))
		error_set(err, kind, "%s: %s%s%s%s", buf_str(&what), strerror(errnum), why ? " (" : "", why ? why : "",
			  why ? ")" : "");
	else
		error_set(err, kind, "%s: %s", buf_str(&what), why ? why : "unknown error");
	buf_free(&what);
	return -1;
}

static int points_out(const char *path)
{
	size_t len = strlen(path);

	return path[0] == '/' || strcmp(path, "..") == 0 || strncmp(path, "../", 3) == 0 || strstr(path, "/../") ||
	       (len >= 3 && strcmp(path + len - 3, "/..") == 0);
}

const char *tar_entry_unrestorable(struct archive_entry *entry, const char *name)
{
	mode_t type = archive_entry_filetype(entry);

	if (points_out(name))
		return "it points out of the directory";
	if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK)
		return "only files, directories and symlinks are restored";
	if (archive_entry_hardlink(entry))
		return "a hard link";
	if (type == AE_IFLNK && (!archive_entry_symlink(entry) || points_out(archive_entry_symlink(entry))))
		return "a symlink that points out of the directory";
	return NULL;
}

int tar_extract_into(const char *tar_path, const char *dest, const char *strip,
			 struct cpactl_error *err)
{
	struct archive *in = archive_read_new(), *out = archive_write_disk_new();
	struct archive_entry *entry;
	size_t strip_len = strip ? strlen(strip) : 0;
	struct buf target = BUF_INIT;
	int r, rc = -1;
	/* Entries are written under `dest`, an absolute path, so libarchive's
	 * NOABSOLUTEPATHS cannot be used: the entry's own name is checked for a
	 * leading '/' below instead. */
	const int flags = ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_OWNER |
			  ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS;
	/* No ARCHIVE_EXTRACT_UNLINK: with it, SECURE_SYMLINKS replaces a symlink
	 * on the way by a directory instead of refusing the entry. */
	char *real_dest = realpath(dest, NULL);
	char name_copy[4096];

	if (!in || !out) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	/* Every component of the target path is checked for symlinks: give
	 * libarchive the real path of dest, so that a link above it (such as
	 * /var/run -> /run) is neither refused nor touched. */
	if (!real_dest) {
		error_set(err, ERR_IO, "cannot resolve '%s'", dest);
		goto out;
	}
	dest = real_dest;
	archive_read_support_format_tar(in);
	archive_write_disk_set_options(out, flags);
	archive_write_disk_set_standard_lookup(out);
	if (archive_read_open_filename(in, tar_path, 65536) != ARCHIVE_OK) {
		tar_error(err, ERR_IO, in, "cannot read '%s'", tar_path);
		goto out;
	}
	while ((r = archive_read_next_header(in, &entry)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(entry);
		mode_t type = archive_entry_filetype(entry);

		if (!name)
			continue;
		if (strip_len && strncmp(name, strip, strip_len) == 0 && (name[strip_len] == '\0' ||
									  (name[strip_len] == '/' && name[strip_len + 1] == '\0')))
			continue;
		if (strip_len && strncmp(name, strip, strip_len) == 0 && name[strip_len] == '/')
			name += strip_len + 1;
		if (strcmp(name, ".") == 0 || strcmp(name, "./") == 0)
			continue;
		/* Cut to fit, the entry would land under another name. */
		if (strlen(name) >= sizeof(name_copy)) {
			error_set(err, ERR_CHECK, "refusing an entry of '%s': its name is too long (%zu bytes)", tar_path,
				  strlen(name));
			goto out;
		}
		snprintf(name_copy, sizeof(name_copy), "%s", name);
		name = name_copy;
		{
			const char *why = tar_entry_unrestorable(entry, name);
			if (why) {
				error_set(err, ERR_CHECK, "refusing '%s' in '%s': %s", name, tar_path, why);
				goto out;
			}
		}
		buf_reset(&target);
		buf_appendf(&target, "%s/%s", dest, name);
		archive_entry_set_pathname(entry, target.data);
		if (archive_write_header(out, entry) != ARCHIVE_OK) {
			tar_error(err, ERR_CHECK, out, "refusing '%s' from '%s'", name, tar_path);
			goto out;
		}
		if (type == AE_IFREG) {
			const void *block;
			size_t size;
			la_int64_t offset;
			while ((r = archive_read_data_block(in, &block, &size, &offset)) == ARCHIVE_OK) {
				if (archive_write_data_block(out, block, size, offset) != ARCHIVE_OK) {
					tar_error(err, ERR_IO, out, "cannot write '%s'", target.data);
					goto out;
				}
			}
			if (r != ARCHIVE_EOF) {
				tar_error(err, ERR_IO, in, "'%s' is damaged", tar_path);
				goto out;
			}
		}
		if (archive_write_finish_entry(out) != ARCHIVE_OK) {
			tar_error(err, ERR_IO, out, "cannot write '%s'", target.data);
			goto out;
		}
	}
	if (r != ARCHIVE_EOF) {
		tar_error(err, ERR_IO, in, "'%s' is damaged", tar_path);
		goto out;
	}
	if (archive_write_close(out) != ARCHIVE_OK) {
		tar_error(err, ERR_IO, out, "cannot finish writing into '%s'", dest);
		goto out;
	}
	rc = 0;
out:
	if (in)
		archive_read_free(in);
	if (out)
		archive_write_free(out);
	buf_free(&target);
	free(real_dest);
	return rc;
}
