/*
 * release.h - a release put in production's place the safe way: tested on a
 * candidate first, then promoted.  The steps upgrade and config apply share.
 *
 * An upgrade brings a new image, a config apply a new config.yaml on the
 * same image; both go through the same gates (the runbook's rules, kept by
 * the program): a preflight that refuses what cannot be done safely, a
 * snapshot before any change, a candidate container on 127.0.0.1:<test
 * port> running on SCRATCH COPIES of config.yaml and the auth dir (so it can
 * neither rewrite production's config nor refresh its tokens), the config
 * diff with secrets masked, a confirmation, and promote.c's journaled
 * swap that keeps the old container stopped for rollback and puts it back by
 * itself when the new release does not serve.
 *
 * upgrade.c and config_apply.c are the step lists; this module owns the
 * state they share (struct release) and each step's work.  Every step
 * returns 0, or -1 with err set.
 */
#ifndef CPACTL_RELEASE_H
#define CPACTL_RELEASE_H

#include <jansson.h>

#include "buf.h"
#include "operation.h"
#include "upgrade.h"
#include "verdict.h"

struct release {
	struct operation op;
	const struct upgrade_options *o;
	char *target_ref;         /* the image the new container runs */
	json_t *old_image;        /* inspect of the running image */
	json_t *new_image;        /* inspect of the target image */
	json_t *secrets;          /* config secret values, for redaction */
	json_t *prod_models;      /* production's /v1/models ids: the bar, or NULL */
	long prod_clients;        /* production's client count, -1 unknown */
	int promoting;            /* judging the new release in production's place */
	char *prod_log_path;      /* production's logs/main.log in the container, when it
				   * writes one (logging-to-file), or NULL */
	size_t prod_log_len;      /* its length then: what the new release writes follows */
	const char *expected_version; /* what the target should report, or NULL */
	char target_version[64];
	struct buf config_before; /* SECRET: the live config.yaml (or env file) */
	struct buf config_after;  /* SECRET: what production gets at promotion */
	int config_changes;       /* 1: production gets config_after */
	int candidate_rewrote;    /* the candidate rewrote its scratch config */
	const char *seed;         /* SECRET: what the candidate starts with; NULL: config_before */
	size_t seed_len;
	char *new_key;            /* SECRET: the new release's probe key, or NULL: production's */
	int judging_old;          /* the old release is judged: with its own key and bar */
	struct verdict candidate;
	char *new_id;             /* the promoted container */
	char *prev_name;          /* where the old one is kept */
	json_t *old_restart;      /* the old container's restart policy */
	enum op_undo undo;        /* of a failed promotion */
	int untouched;            /* the promotion stopped before production changed */
};

/* Starts `kind` ("upgrade", "config-apply") of target t to image
 * target_ref (taken over; NULL: refused, the image has no repository):
 * the report in *report (always set, a new reference), the journal, its
 * target. */
int release_begin(struct release *r, struct docker_client *c, struct cpa_target *t, const struct deployment *d,
		  const struct upgrade_options *o, const char *kind, char *target_ref, json_t **report,
		  struct cpactl_error *err);

/* Preflight: what the release needs is there (bind mounts, a free test
 * port, a valid reference, room for the snapshot), the live config is read
 * (a broken one refuses unless `broken_ok`), its secrets, the restart
 * policy, and production's model list and client count: the bar. */
int release_preflight(struct release *r, int broken_ok, struct cpactl_error *err);

/* The snapshot before the change (skipped with --no-backup). */
int release_backup(struct release *r, const char *why, struct cpactl_error *err);

/* The target image must be in the engine; the report's "to" names it, and
 * the version its tag promises becomes the expected one. */
int release_target_image(struct release *r, struct cpactl_error *err);

/* The candidate on scratch copies of `seed` and the auth dir: started,
 * judged (r->candidate) and removed; the report's "candidate".  When it
 * rewrote its config (a migration), that is config_after. */
int release_run_candidate(struct release *r, struct cpactl_error *err);

/* The candidate's verdict said: refused when it failed, its pass (and
 * notes) said when it passed. */
int release_accept_candidate(struct release *r, struct cpactl_error *err);

/* The diff from the live config to config_after, secrets masked, in the
 * report's "config_diff" and said after `intro`. */
int release_show_diff(struct release *r, const char *intro, struct cpactl_error *err);

/* --dry-run: the recreated container in the report's "plan". */
int release_plan(struct release *r, struct cpactl_error *err);

/* Confirm, then promote.c's swap; r->undo says what a failure left. */
int release_promote(struct release *r, const char *question, struct cpactl_error *err);

/* Ends the operation with `outcome`, or when rc < 0 with the outcome of
 * the failure in err: rolled-back or rollback-failed after a promotion,
 * declined when a person said no, else refused.  The journal stays for
 * `cpactl recover` when a promotion failed half way.  Frees r. */
void release_end(struct release *r, const char *outcome, int rc, const struct cpactl_error *err);

/* The unified diff from `before` to `after` (labelled after_label), both
 * with every secret of profile p masked, as a new JSON string; NULL on
 * failure (err set: also when the text is not UTF-8). */
json_t *release_masked_diff(const struct profile *p, const char *before, size_t before_len, const char *after,
			    size_t after_len, const char *after_label, struct cpactl_error *err);

#endif
