/*
 * image_restore.h - put a snapshot's image back into the engine from the
 * blob store, when its rollback tag is gone (pruned, another machine).
 *
 * The snapshot's image-layers.json lists the entries of the image's save
 * stream in order; regular files are blobs of the store.  The stream is
 * rebuilt entry by entry and handed to the engine's load endpoint.  Every
 * entry is checked first (relative path without "..", a known type, its
 * blob present with its size): a lying manifest loads nothing.
 */
#ifndef CPACTL_IMAGE_RESTORE_H
#define CPACTL_IMAGE_RESTORE_H

#include <jansson.h>
#include <signal.h>
#include <stddef.h>

#include "docker.h"
#include "error.h"

/* Loads the image of the snapshot at `snapshot_path` and checks that the
 * engine then holds `image_id` (when given). */
int image_restore(struct docker_client *c, const char *store_dir, const char *snapshot_path,
		  const char *image_id, const volatile sig_atomic_t *interrupted, docker_progress_fn progress,
		  void *progress_ctx, struct cpactl_error *err);

/* The checks above, on the "entries" array of an image-layers.json. */
int image_entries_check(const char *store_dir, json_t *entries, struct cpactl_error *err);

/* Parses the bytes of an image-layers.json (`name` for messages) and runs
 * image_entries_check() on its entries: on success *layers is the whole
 * document, a new reference.  The one place these bytes are read, used by
 * image_restore() and by the fuzzer (tests/fuzz/fuzz_layers.c). */
int image_layers_parse(const char *store_dir, const char *text, size_t len, const char *name, json_t **layers,
		       struct cpactl_error *err);

#endif
