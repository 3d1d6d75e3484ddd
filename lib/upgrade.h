/*
 * upgrade.h - the safe upgrade: test the new image on a scratch copy, promote
 * with minimal downtime, roll back by itself.
 *
 * The runbook's steps 2B, 3 and 4 with its four rules kept by the program:
 * ask before touching production (the confirm callback), back up before any
 * change (a snapshot), test before production (a candidate container on
 * 127.0.0.1:<test port> running on SCRATCH COPIES of config.yaml and the auth
 * dir, so it can neither rewrite production's config nor refresh its
 * tokens), keep a working rollback path (the old container is kept stopped,
 * renamed NAME-cpactl-prev-<snapshot>, with restart policy "no").
 *
 * What must always hold: before promotion, production is never stopped and
 * keeps its container id; after a failed promotion, the old container serves
 * again under its name with its config.yaml.  Every step is journaled before
 * it runs (journal.h), so a crash anywhere can be recovered.
 */
#ifndef CPACTL_UPGRADE_H
#define CPACTL_UPGRADE_H

#include <jansson.h>
#include <signal.h>

#include "deployment.h"
#include "discover.h"
#include "docker.h"
#include "error.h"
#include "operation.h"
#include "snapshot.h"

struct upgrade_options {
	const char *image;          /* target reference; NULL: the same repository, tag latest */
	int test_port;              /* only with shared_network */
	int shared_network;         /* --candidate-network shared: production's network, 127.0.0.1:test_port */
	int candidate_without_store; /* a remote-store deployment: test on the local files only */
	long timeout_ms;
	int dry_run;
	int no_backup;
	int no_pull;
	int force;
	int allow_missing_models;
	int allow_fewer_clients;
	int allow_downgrade;
	int keep_config;
	int update_compose_file;    /* rewrite the compose file's image: line */
	int start_stopped;          /* --start: production is stopped; the new release may run */
	/* config apply: production's image with this config.yaml (SECRET),
	 * tested on a candidate first; config_source names it in messages. */
	const char *config_data;
	size_t config_len;
	const char *config_source;
	const char *cpactl_version;
	const volatile sig_atomic_t *interrupted;
	say_fn say;
	confirm_fn confirm;
	void *ctx;
	docker_progress_fn pull_progress;
	snapshot_progress_fn backup_progress;
	void *progress_ctx;
};

/* Outcome kinds, as in the report's "outcome". */
#define UPGRADE_UPGRADED "upgraded"
#define UPGRADE_UP_TO_DATE "up-to-date"
#define UPGRADE_DRY_RUN "dry-run"
#define UPGRADE_REFUSED "refused"
#define UPGRADE_DECLINED "declined"
#define UPGRADE_ROLLED_BACK "rolled-back"   /* failed: the old release serves again */
#define UPGRADE_ROLLBACK_FAILED "rollback-failed" /* failed, and production is neither: recover */
#define UPGRADE_APPLIED "applied"       /* config apply */

/* Runs the upgrade of target `t` (the caller holds the deployment's lock).
 * *report always receives the report (a new reference), also on failure:
 * {"outcome", "container", "from": {image, image_id, version}, "to": {...},
 * "snapshot", "candidate": verdict, "production": verdict, "config_diff",
 * "plan", "downtime_ms", "steps"}.  Returns 0 for upgraded, up-to-date and
 * dry-run; -1 otherwise with err set (ERR_DECLINED for a "no"). */
int upgrade_run(struct docker_client *c, struct cpa_target *t, const struct deployment *d,
		const struct upgrade_options *o, json_t **report, struct cpactl_error *err);


#endif
