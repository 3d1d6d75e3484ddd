/*
 * blobstore.h - a content-addressed store of image blobs.
 *
 * Each blob (a layer tar, an image config, a manifest of a saved image) is
 * kept once, at STORE/sha256/<first two hex>/<hex>, whoever references it.
 * Backing up an unchanged image again therefore adds no image bytes.
 *
 * What must always hold: a file under sha256/ has exactly the content its
 * name says.  A blob is written to STORE/tmp/ under a unique name, hashed as
 * it is written, fsynced, and renamed into place only when complete; an
 * interrupted write leaves only a temporary file, which the next writer
 * sweeps.  Blobs are 0600.
 */
#ifndef CPACTL_BLOBSTORE_H
#define CPACTL_BLOBSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "sha256.h"

struct blob_writer {
	int fd;
	char *tmp_path;
	const char *store_dir;
	struct sha256 hash;
	uint64_t flushed;     /* bytes already handed to writeback */
};

int blob_writer_open(const char *store_dir, struct blob_writer *w, struct cpactl_error *err);
int blob_writer_write(struct blob_writer *w, const void *data, size_t len, struct cpactl_error *err);
/* Completes the blob: hex receives its SHA-256, *size its length, *added 1
 * when the store did not have it (0 when an identical blob was there). */
int blob_writer_commit(struct blob_writer *w, char hex[SHA256_HEX_LEN + 1], uint64_t *size,
		       int *added, struct cpactl_error *err);
/* Discards a blob being written. */
void blob_writer_abort(struct blob_writer *w);

/* The path of a blob; malloc'd. */
char *blob_path(const char *store_dir, const char *hex);

/* 1 when the blob is present with the expected size (no re-hash). */
int blob_present(const char *store_dir, const char *hex, uint64_t size);

/* Re-hashes a blob: 0 when intact, -1 with the reason otherwise. */
int blob_verify(const char *store_dir, const char *hex, uint64_t size, struct cpactl_error *err);

/* Removes temporary files of writers that died (call under the lock). */
void blobstore_sweep_tmp(const char *store_dir);

#endif
