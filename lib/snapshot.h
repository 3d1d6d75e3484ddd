/*
 * snapshot.h - snapshots you can trust: create, list and verify them.
 *
 * A snapshot is a directory ROOT/backup/<ID> (ID = UTC YYYYmmdd-HHMMSS) with:
 *   manifest.json       format, cpactl version, baseline, the SHA-256 and size
 *                       of every part, the image and its blobs
 *   baseline.md         the runbook's baseline, for people
 *   container.json      the container's inspect data (to recreate it exactly)
 *   image-inspect.json  the image's inspect data (its defaults, to subtract)
 *   config.yaml         the live config, byte for byte (settings.env: the env
 *                       file of a claude-code-proxy or http profile)
 *   auth.tar            the auth dir (CPA only), a pax tar written with libarchive
 *                       (names, modes, owners, mtimes kept)
 *   image-layers.json   the entries of the image's save stream; regular files
 *                       point to blobs of the store by SHA-256
 *
 * What must always hold: a snapshot directory without a leading '.' is
 * complete.  It is built as backup/.<ID>.tmp, every file fsynced, sealed
 * (the manifest's SHA-256 goes to ROOT/.cpactl/seals/<ID>.sha256) and then
 * renamed into place.  An interrupted or failed backup leaves no snapshot.
 * verify trusts nothing: it re-hashes the manifest against its seal, every
 * part against the manifest, every blob against its name.
 *
 * Secrets: config.yaml, auth.tar and container.json hold secrets; they are
 * written 0600 in 0700 directories and their contents are never printed.
 */
#ifndef CPACTL_SNAPSHOT_H
#define CPACTL_SNAPSHOT_H

#include <jansson.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "deployment.h"
#include "discover.h"
#include "docker.h"
#include "error.h"

#define SNAPSHOT_FORMAT 1
#define SNAPSHOT_ID_LEN 15 /* YYYYmmdd-HHMMSS */
#define ROLLBACK_REPO "cpactl-rollback"

/* Told about progress: phase ("image", "auth", "config") and bytes so far. */
typedef void (*snapshot_progress_fn)(void *ctx, const char *phase, uint64_t bytes);

struct snapshot_options {
	int no_image;      /* skip the image (not offline-restorable) */
	int no_config;     /* go on without config.yaml when it cannot be read */
	const char *cpactl_version;
	const volatile sig_atomic_t *interrupted; /* set by a signal handler: abort */
	snapshot_progress_fn progress;
	void *progress_ctx;
};

struct snapshot_result {
	char id[32];
	char *path;             /* ROOT/backup/<ID>, malloc'd */
	uint64_t bytes;         /* parts plus every blob the snapshot references */
	uint64_t new_bytes;     /* bytes this snapshot added to disk */
	int image_reused;       /* the image's blobs were all in the store already */
	char *rollback_tag;     /* cpactl-rollback:<name>-<ID>, or NULL if tagging failed */
	json_t *warnings;       /* array of strings */
};

/* The target's profile (CPA when it has none), and the name its settings
 * file has in a snapshot: "config.yaml" for CPA, "settings.env" for the
 * profiles whose settings live in an env file. */
const struct profile *snapshot_profile(const struct cpa_target *t);

/* The parts of a snapshot directory that other modules read.  How a
 * snapshot is laid out on disk (backup/<ID>/<part>) is this module's
 * business: others name parts and ask for paths. */
#define SNAPSHOT_PART_MANIFEST "manifest.json"
#define SNAPSHOT_PART_CONTAINER "container.json"
#define SNAPSHOT_PART_IMAGE_INSPECT "image-inspect.json"
#define SNAPSHOT_PART_IMAGE_LAYERS "image-layers.json"
#define SNAPSHOT_PART_AUTH "auth.tar"
#define SNAPSHOT_PART_PLUGINS "plugins.tar" /* CPA's plugins dir, when mounted */
/* (the settings part: snapshot_settings_part(), config.yaml or settings.env) */

/* Appends to `out` the path of `part` of the snapshot in directory
 * `snapshot_path` (a "path" of snapshot_list(), in backup/ or archive/).
 * -1 when memory runs out. */
int snapshot_part_path(struct buf *out, const char *snapshot_path, const char *part);
/* The same for snapshot `id` in the deployment's backup/. */
int snapshot_backup_part_path(struct buf *out, const struct deployment *d, const char *id, const char *part);
const char *snapshot_settings_part(const struct cpa_target *t);

/* Takes a snapshot of target `t` into deployment `d` (which must be prepared
 * and locked by the caller). */
int snapshot_create(struct docker_client *c, const struct cpa_target *t, const struct deployment *d,
		    const struct snapshot_options *o, struct snapshot_result *r,
		    struct cpactl_error *err);
void snapshot_result_release(struct snapshot_result *r);

/* Every snapshot of the deployment, in backup/ and archive/, oldest first:
 * objects with id, container, container_id, created, version, image,
 * image_id, bytes, new_bytes, offline, location, path, readable. */
int snapshot_list(const struct deployment *d, json_t **out, struct cpactl_error *err);

/* Verifies one snapshot (id) or all (id NULL).  *report is an array of
 * {"id", "ok", "problems": [..]}; *all_ok is 1 when nothing is wrong.
 * ERR_NOT_FOUND when `id` names no snapshot. */
int snapshot_verify(const struct deployment *d, const char *id, json_t **report, int *all_ok,
		    struct cpactl_error *err);

/* snapshot_verify() of the snapshots that are `t`'s own (lineage_belongs()):
 * another container's are left out and listed in *skipped ({"id",
 * "container"}); naming one (`id`) is an ERR_FAILED error unless its
 * definition fits `t`.  `t` NULL: every snapshot, as snapshot_verify(). */
int snapshot_verify_own(const struct deployment *d, const struct cpa_target *t, const char *id, json_t **report,
			int *all_ok, json_t **skipped, struct cpactl_error *err);

/* Commits the config.yaml of the snapshot at `snapshot_path` to the
 * deployment's history with a message naming `why`, the snapshot, the CPA
 * version and the image (never a secret).  A snapshot without config.yaml
 * (--no-config) commits nothing. */
int snapshot_commit_config(const struct deployment *d, const char *snapshot_path, const char *snapshot_id,
			   const struct cpa_target *t, const char *why, char oid[41], int *committed,
			   struct cpactl_error *err);

/* Parses the bytes of snapshot `id`'s manifest.json.  On success *manifest is
 * the object (a new reference) and `problems` (an array) got a sentence for
 * an id other than `id` and for every part named outside the snapshot.
 * When the bytes are not a JSON object, returns -1 with *manifest NULL and
 * that problem appended.  The one place a manifest's bytes are parsed, used
 * by snapshot_verify() and by the fuzzer (tests/fuzz/fuzz_manifest.c). */
int snapshot_manifest_parse(const char *text, size_t len, const char *id, json_t **manifest, json_t *problems);

/* 1 when `name` has the form of a snapshot id, YYYYmmdd-HHMMSS. */
int snapshot_id_valid(const char *name);

/* The rollback tag of snapshot `id` of `container`:
 * cpactl-rollback:<container>-<ID>, the container name cut to 100 characters
 * and every character a tag cannot hold replaced by '-'.  malloc'd. */
char *snapshot_rollback_tag(const char *container, const char *id);

/* Removes leftovers of interrupted backups (call with the lock held). */
void snapshot_sweep(const struct deployment *d);

#endif
