/*
 * auth_restore.h - put a snapshot's auth files back into the live auth dir.
 *
 * OAuth refresh tokens rotate: an old token file put back can be one the
 * provider already revoked.  So there are two ways, chosen by the caller:
 *   - missing only (the default): files of the snapshot that are missing
 *     now are added; files that differ are only reported;
 *   - exact: the live dir becomes the snapshot's, swapped in one
 *     renameat2(RENAME_EXCHANGE) with a staged copy, so no reader ever sees a
 *     half-restored dir.
 * Both are staged first: the snapshot's auth.tar is extracted (securely) into
 * a hidden sibling of the live dir, on the same file system, while
 * production still serves.  The plan (a JSON object, journaled) records
 * inode numbers, so applying and undoing are idempotent and tell by
 * themselves whether they already happened: recover can call either at any
 * time.  The plan holds file names only, never contents.
 */
#ifndef CPACTL_AUTH_RESTORE_H
#define CPACTL_AUTH_RESTORE_H

#include <jansson.h>

#include "error.h"

/* Stages `tar_path` (a snapshot's auth.tar) for `live_dir`.  *plan receives
 * {"live","stage","exact","stage_ino","missing":[{"name","ino"}],
 *  "differ":[names],"extra":[names]}. */
int auth_stage(const char *tar_path, const char *live_dir, const char *tag, int exact, json_t **plan,
	       struct cpactl_error *err);

/* Applies the plan (forward 1) or undoes it (forward 0).  Idempotent. */
int auth_apply(json_t *plan, int forward, struct cpactl_error *err);

/* Removes the staged copy (after the operation ended either way). */
void auth_stage_remove(json_t *plan);

#endif
