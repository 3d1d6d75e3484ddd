/*
 * rollback.h - bring production back to a snapshot: its image, its
 * config.yaml, its container definition, and (carefully) its auth files.
 *
 * The image comes from the fastest source that is the snapshot's exactly:
 * the kept previous container of the upgrade that took the snapshot (it is
 * the snapshotted container itself: only a stop and a start), else the
 * image still in the engine (its rollback tag), else the blob store, loaded
 * through the engine's load endpoint.  The snapshot is verified first and
 * refused when anything in it is wrong.  The current production is backed
 * up, then replaced by promote.c's journaled sequence: production keeps
 * serving until the stop, and a new release that does not serve is
 * replaced by the old one again.
 *
 * Auth files: see auth_restore.h.  By default only the missing files come
 * back; --auth restores the dir exactly (after the backup).
 */
#ifndef CPACTL_ROLLBACK_H
#define CPACTL_ROLLBACK_H

#include <jansson.h>
#include <signal.h>

#include "deployment.h"
#include "discover.h"
#include "docker.h"
#include "error.h"
#include "snapshot.h"
#include "upgrade.h"

struct rollback_options {
	const char *snapshot_id;   /* required (NULL is refused); the command line
				    * defaults it with rollback_default_snapshot() */
	int snapshot_named;        /* the user named snapshot_id: another
				    * container's is taken when it fits (lineage.h) */
	int auth_exact;            /* --auth */
	int dry_run;
	int no_backup;
	long timeout_ms;
	const char *cpactl_version;
	const volatile sig_atomic_t *interrupted;
	say_fn say;
	confirm_fn confirm;
	int allow_wider;           /* --allow-wider: a snapshot that widens what the
				    * container may do, restored after confirm_always */
	confirm_fn confirm_always; /* asks a person even under --yes; NULL: nobody */
	void *ctx;
	docker_progress_fn load_progress;
	snapshot_progress_fn backup_progress;
	void *progress_ctx;
};

#define ROLLBACK_DONE "rolled-back"
#define ROLLBACK_DRY_RUN "dry-run"
#define ROLLBACK_REFUSED "refused"
#define ROLLBACK_DECLINED "declined"
#define ROLLBACK_UNDONE "undone"

/* Rolls target `t` back (the caller holds the deployment's lock).  *report
 * always receives the report: {"outcome", "container", "snapshot",
 * "location", "from", "to", "path": "kept-container"|"image"|"blob-store",
 * "backup", "config_changed", "auth": {"mode","missing","differ","extra"},
 * "production", "downtime_ms", "steps"}. */
int rollback_run(struct docker_client *c, struct cpa_target *t, const struct deployment *d,
		 const struct rollback_options *o, json_t **report, struct cpactl_error *err);

/* The snapshot the last successful upgrade of container `t` took
 * (ROOT/.cpactl/last-upgraded.json), or NULL: none, or the last upgrade in
 * this root was of another container (two containers sharing a root; a
 * renamed container is still itself, lineage.h).  `t` NULL: whichever
 * container it was.  malloc'd. */
char *rollback_default_snapshot(const struct deployment *d, const struct cpa_target *t);

#endif
