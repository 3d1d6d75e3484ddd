/*
 * container_files.h - read files of a container through the engine.
 *
 * cpactl reads config.yaml and lists the auth dir through the engine's archive
 * endpoint rather than from the host: the same code then works for bind
 * mounts, named volumes, files baked into the image and remote engines, and
 * sees exactly what the container sees.  The tar the engine sends is read
 * with libarchive.  Reads are bounded (`max_bytes`) so a huge or hostile file
 * cannot exhaust memory.
 */
#ifndef CPACTL_CONTAINER_FILES_H
#define CPACTL_CONTAINER_FILES_H

#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <stddef.h>

#include "buf.h"
#include "docker.h"
#include "error.h"

/* Reads the regular file at `path` in container `id` into `out`.  When the path
 * is a directory, fails with ERR_IO and "is a directory" and sets *is_dir.
 * A missing path fails with ERR_NOT_FOUND. */
int container_read_file(struct docker_client *c, const char *id, const char *path,
			size_t max_bytes, struct buf *out, int *is_dir, struct cpactl_error *err);

/* Lists the top level of directory `path`: *out receives an array of objects
 * {"name", "type": "file"|"dir"|"link"|"other", "size", "mode"}.  File contents
 * are skipped, never kept. */
int container_list_dir(struct docker_client *c, const char *id, const char *path,
		       json_t **out, struct cpactl_error *err);

/* Streams the engine's tar of `path` in container `id` into the new file
 * `file` (0600, fsynced), in constant memory.  Stops early when *interrupted
 * becomes non-zero (may be NULL); *bytes (may be NULL) receives the size. */
int container_archive_to_file(struct docker_client *c, const char *id, const char *path,
			      const char *file, const volatile sig_atomic_t *interrupted,
			      uint64_t *bytes, struct cpactl_error *err);

/* Replaces the file at absolute `path` in container `id` (running or not)
 * with `data` through the engine's archive endpoint, keeping the old file's
 * owner and mode (a new file: root's 0600).  The engine removes the old file
 * and writes the new one, so it is not atomic: callers keep a copy to put
 * back (recovery does).  Into a mount (a volume, a bind on the engine's
 * host) it reaches what the next container of the deployment sees; into
 * the container's own filesystem only that container. */
int container_write_file(struct docker_client *c, const char *id, const char *path, const char *data,
			 size_t len, struct cpactl_error *err);
/* The same two, reading `host_path` directly when it is not NULL: for a bind
 * mount on a local engine the host's file is the container's file, and
 * reading it costs a syscall instead of an archive round trip through the
 * engine (which mounts the container's filesystem for each request). */
int container_read_file_at(struct docker_client *c, const char *id, const char *path,
			   const char *host_path, size_t max_bytes, struct buf *out, int *is_dir,
			   struct cpactl_error *err);
int container_list_dir_at(struct docker_client *c, const char *id, const char *path,
			  const char *host_path, json_t **out, struct cpactl_error *err);

#endif
