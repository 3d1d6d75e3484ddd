/*
 * archiving.h - `cpactl archive`, the runbook's step 6 made safe by
 * construction: move old snapshots aside, keep the newest archives, give the
 * space back.
 *
 * archiving_run() moves every snapshot of ROOT/backup/ but the newest into a
 * new ROOT/archive/<YYYYmmdd-HHMM>/ (with PRE_ARCHIVE_SNAPSHOT.txt, the
 * listing of backup/ before, and a README.md), keeps the newest N archive
 * directories and deletes the older ones, then removes what no remaining
 * snapshot needs: image blobs, image index files, seals, and the containers
 * (NAME-cpactl-prev-<ID>, NAME-cpactl-failed-<ID>) and rollback tags
 * (cpactl-rollback:<name>-<ID>) kept for snapshots older than the one that
 * stays in backup/.
 *
 * What must always hold:
 *  - the live config.yaml, the live auth dir and the production container are
 *    never touched: nothing here opens them, and the engine is only asked to
 *    remove stopped containers and tags that cpactl itself made;
 *  - a snapshot that can be rolled back to offline (image saved, every blob
 *    present, verify passes) stays when one existed: if the only one would go
 *    with an old archive, it is moved into the newest archive first;
 *  - a crash at any instant leaves every snapshot directory whose name has no
 *    leading dot complete.  Snapshots move with rename(2); an archive to
 *    delete is first renamed archive/.<name>.deleting (and that rename synced)
 *    and only then removed; the next run removes what is left.  Blobs go
 *    last, and only those that no remaining snapshot references (mark and
 *    sweep over the image-layers.json of every snapshot in backup/ and
 *    archive/): removing an unreferenced blob twice is harmless.
 *  - a later backup never reuses an image index whose blobs are gone: the
 *    indexes of images no remaining snapshot holds are removed with their
 *    blobs, and snapshot.c re-checks every blob of an index before reusing it.
 *
 * The plan is made first from what is on disk (archiving_plan(), pure), then
 * carried out; with dry_run it is reported and nothing is changed.  The
 * caller holds the deployment's lock (not needed for a dry run) and has
 * checked that no operation is unfinished.
 *
 * Test-only: CPACTL_TEST_KILL_AT=archive-move|archive-rescue|archive-delete|
 * archive-sweep kills cpactl at that point (journal_test_kill_point()).
 */
#ifndef CPACTL_ARCHIVING_H
#define CPACTL_ARCHIVING_H

#include <jansson.h>

#include "deployment.h"
#include "discover.h"
#include "docker.h"
#include "error.h"
#include "operation.h"

#define ARCHIVING_DEFAULT_KEEP 2

/* Messages for people go through this (lib/ never prints). */

struct archiving_options {
	int keep;                    /* archive directories to keep, at least 1 */
	int prune_images;            /* also remove the engine's dangling images */
	int dry_run;                 /* report the plan, change nothing */
	const char *cpactl_version;  /* for README.md */
	say_fn say;
	void *ctx;
};

/* Archives the snapshots of deployment `d` of target `t` as described above.
 * *report always receives a report (a new reference), also on failure:
 * {"container", "root", "dry_run", "keep", "moved": [ids], "archive_dir",
 *  "stays_in_backup", "kept": [ids], "kept_archives", "deleted_archives",
 *  "deleted_snapshots", "rescued", "restorable", "leftovers_removed",
 *  "blobs_removed", "image_indexes_removed", "seals_removed", "bytes_freed",
 *  "retired_containers", "retired_tags", "pruned_images", "production",
 *  "notes"}, as documented in man cpactl-archive.  What the engine refuses
 * (a tag whose image a container uses) is a note, not a failure. */
int archiving_run(struct docker_client *c, const struct cpa_target *t, const struct deployment *d,
		  const struct archiving_options *o, json_t **report, struct cpactl_error *err);

/* --- the pure parts (unit-tested) ------------------------------------------ */

/* 1 when `name` is an archive directory cpactl made: YYYYmmdd-HHMM, or
 * YYYYmmdd-HHMM-N with N from 2 (a second archive in the same minute).
 * Other directories under archive/ are never deleted nor counted. */
int archiving_archive_name_valid(const char *name);

/* Orders archive names by time, then by N (so "-10" comes after "-9"). */
int archiving_archive_name_compare(const char *a, const char *b);

/* Says whether a snapshot (an item of snapshot_list()) can be rolled back
 * to offline.  Called newest first, until one says yes. */
typedef int (*archiving_restorable_fn)(void *ctx, const json_t *snapshot);

/* Plans an archive run.  `snapshots` as snapshot_list() gives them (oldest
 * first, each with "id" and "location"), `archive_names` the entries of
 * archive/ (strings), `stamp` the UTC YYYYmmdd-HHMM of now.  *plan receives
 * (a new reference):
 *   {"stays_in_backup": id|null, "moved": [ids], "archive_dir": name|null,
 *    "kept_archives": [names, oldest first], "deleted_archives": [names],
 *    "deleted_snapshots": [ids], "kept": [ids],
 *    "rescued": {"id","from","to"}|null, "restorable": id|null}
 * The new archive is always kept, even if a clock set wrong gave an older
 * archive a later name.  A restorable snapshot in an archive to delete is
 * rescued into the newest kept archive when no kept snapshot is restorable. */
int archiving_plan(const json_t *snapshots, const json_t *archive_names, int keep, const char *stamp,
		   archiving_restorable_fn restorable, void *ctx, json_t **plan, struct cpactl_error *err);

/* Marks what the image-layers.json document `layers` references: the
 * SHA-256 of every blob as a key of `blobs`, its image ID (without
 * "sha256:") as a key of `images`.  ERR_PARSE when the document is not an
 * entry list (then nothing may be swept: its blobs are unknown). */
int archiving_mark_layers(const json_t *layers, json_t *blobs, json_t *images, struct cpactl_error *err);

#endif
