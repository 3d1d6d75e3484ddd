/*
 * atomic_file.h - state on disk that is either the old version or the new one.
 *
 * The redis rule: write to a temporary name, fsync, rename over the target,
 * fsync the directory.  A crash at any instant leaves either the complete old
 * file or the complete new one, never a torn one.  Files are created 0600.
 */
#ifndef CPACTL_ATOMIC_FILE_H
#define CPACTL_ATOMIC_FILE_H

#include <stddef.h>

#include "error.h"

/* Writes `data` to `path` atomically with `mode` (e.g. 0600). */
int atomic_write_file(const char *path, const void *data, size_t len, int mode,
		      struct cpactl_error *err);

/* Replaces the existing file `path` atomically with `data`, keeping its owner
 * and mode (a live config.yaml: CPA and the web UI must still be able to
 * write it). */
int atomic_replace_file(const char *path, const void *data, size_t len, struct cpactl_error *err);

/* Rewrites `path` in place: same inode, owner and mode.  NOT atomic: the
 * only write a container sees through a bind mount of that single file (the
 * mount pins the inode, a rename on the host is never seen inside).  The old
 * bytes are overwritten, then the file is cut to length and fsynced, so a
 * reader never finds it empty. */
int rewrite_file_in_place(const char *path, const void *data, size_t len, struct cpactl_error *err);

/* fsyncs a directory so that a rename inside it is durable. */
int fsync_dir(const char *path, struct cpactl_error *err);

/* fsyncs an open file descriptor, naming `path` in the error. */
int fsync_fd(int fd, const char *path, struct cpactl_error *err);

/* Writes all of `data` to fd (retrying short writes); ENOSPC is named. */
int write_all(int fd, const void *data, size_t len, const char *path, struct cpactl_error *err);

/* Removes a directory tree (no symlink is followed).  Missing is not an error. */
int remove_tree(const char *path, struct cpactl_error *err);

/* Reads a whole (small) file into a malloc'd, NUL-terminated buffer. */
int read_small_file(const char *path, size_t max, char **out, size_t *len, struct cpactl_error *err);

#endif
