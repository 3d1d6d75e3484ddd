/*
 * config_apply.c - see config_apply.h.
 *
 * With a candidate:                     With --reload:
 *   1 journal, preflight, the new file    1 the new file's key, journal
 *   2 backup                              2 preflight: the live file read
 *   3 candidate on the new file           3 backup, config.orig kept
 *   4 diff, confirm                       4 diff, confirm
 *   5 promote, verify, or roll back       5 replace the live file, verify,
 *                                           or put the old bytes back
 */
#include "config_apply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomic_file.h"
#include "container_files.h"
#include "cpa.h"
#include "operation.h"
#include "probe.h"
#include "profile.h"
#include "release.h"
#include "secretmask.h"
#include "yamlconf.h"

#define PROBE_EVERY_MS 200

#define sayf(op, ...) say_fmt((op)->say, (op)->ctx, __VA_ARGS__)

json_t *config_masked_diff(const char *before, size_t before_len, const char *after, size_t after_len,
			   struct cpactl_error *err)
{
	return release_masked_diff(&profile_cpa, before, before_len, after, after_len, "config.yaml (new)", err);
}

int config_mounted_alone(const struct cpa_target *t)
{
	json_t *mounts = json_object_get(t->inspect, "Mounts"), *m;
	size_t i;

	json_array_foreach(mounts, i, m) {
		const char *dest = json_string_value(json_object_get(m, "Destination"));
		if (dest && t->config_in_container && strcmp(dest, t->config_in_container) == 0)
			return 1;
	}
	return 0;
}

/* The new file must parse as a mapping and keep the proxy closed before
 * anything sees it.  *key: its first api key (SECRET), for the probes;
 * secrets (may be NULL) gets its secret values, redacted from log lines. */
static int read_applied(const struct upgrade_options *o, char **key, json_t *secrets, struct cpactl_error *err)
{
	const char *source = o->config_source ? o->config_source : "the new config.yaml";
	const char *first;
	json_t *doc = NULL, *keys;
	int rc = -1;

	if (yaml_parse(o->config_data, o->config_len, source, &doc, err) < 0)
		goto out;
	if (!json_is_object(doc)) {
		error_set(err, ERR_FAILED, "%s is not a YAML mapping: not a config.yaml", source);
		goto out;
	}
	keys = json_object_get(doc, "api-keys");
	first = json_string_value(json_array_get(keys, 0));
	if (!first || !*first) {
		error_set(err, ERR_FAILED,
			  "%s has no api-keys: CPA would serve anyone (or refuse everyone in safe mode); add at least "
			  "one key",
			  source);
		goto out;
	}
	*key = strdup(first);
	if (secrets) {
		json_t *more = secret_values_of(doc);
		json_array_extend(secrets, more);
		json_decref(more);
	}
	rc = *key ? 0 : error_set(err, ERR_NOMEM, "out of memory");
out:
	json_decref(doc);
	return rc;
}

/* --- with a candidate ---------------------------------------------------------- */

static int apply_with_candidate(struct docker_client *c, struct cpa_target *t, const struct deployment *d,
				const struct upgrade_options *o, json_t **report, struct cpactl_error *err)
{
	struct release r;
	const char *outcome = UPGRADE_REFUSED;
	char question[600];
	int rc = -1;

	/* 1. The same image (unless named), a new config.yaml. */
	if (release_begin(&r, c, t, d, o, "config-apply", strdup(o->image ? o->image : t->image ? t->image : t->image_id),
			  report, err) < 0)
		goto out;
	r.seed = o->config_data;
	r.seed_len = o->config_len;
	/* A broken live file is what a config apply may be there to fix. */
	if (release_preflight(&r, 1, err) < 0 || read_applied(o, &r.new_key, r.secrets, err) < 0)
		goto out;
	/* A config change may drop providers on purpose: the candidate is not
	 * held to production's model list and client count. */
	json_decref(r.prod_models);
	r.prod_models = NULL;
	r.prod_clients = -1;

	/* 2-3. Back up; the candidate on the new file. */
	if (release_backup(&r, "backup before config apply", err) < 0 || release_target_image(&r, err) < 0 ||
	    release_run_candidate(&r, err) < 0 || release_accept_candidate(&r, err) < 0)
		goto out;

	/* 4. What production gets: the new file, or the candidate's rewrite of it. */
	if (!r.candidate_rewrote)
		buf_append(&r.config_after, o->config_data, o->config_len);
	r.config_changes = 1;
	if (release_show_diff(&r, "config.yaml changes", err) < 0)
		goto out;
	snprintf(question, sizeof(question), "restart production '%s' with the new config.yaml?", t->name);

	/* 5. Promote and verify, or roll back. */
	if (release_promote(&r, question, err) < 0)
		goto out;
	operation_commit_config(d, r.config_after.data, r.config_after.len, o->say, o->ctx, "config apply %s: %s\n",
				r.op.id, o->config_source ? o->config_source : "a new file");
	sayf(&r.op, "applied: '%s' serves with the new config.yaml; the previous container is kept stopped as '%s'",
	     t->name, r.prev_name);
	outcome = UPGRADE_APPLIED;
	rc = 0;
out:
	release_end(&r, outcome, rc, err);
	return rc;
}

/* --- with --reload ---------------------------------------------------------------- */

struct reload {
	struct operation op;
	const struct upgrade_options *o;
	struct buf before;      /* SECRET: the live file */
	char *new_key;          /* SECRET: the new file's first api key */
	int in_place;
};

static int replace_live(struct reload *r, const char *data, size_t len, struct cpactl_error *err)
{
	if (r->in_place)
		return rewrite_file_in_place(r->op.t->config_host, data ? data : "", len, err);
	return atomic_replace_file(r->op.t->config_host, data ? data : "", len, err);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Production serves /v1/models with `key` within the deadline.  On failure,
 * `why` says what it answered last. */
static int serves_with(struct reload *r, const char *key, char *why, size_t why_len)
{
	double deadline = now_ms() + (double)r->o->timeout_ms;
	const char *host = probe_host_for_binding(r->op.t->api_host_ip);

	snprintf(why, why_len, "it did not answer");
	for (;;) {
		struct probe_result p;
		struct cpactl_error e = CPACTL_ERROR_INIT;
		memset(&p, 0, sizeof(p));
		if (probe_get(NULL, r->op.t->tls, host, r->op.t->api_host_port, "/v1/models", key, 2000, &p, &e) == 0) {
			if (p.http_status == 200 && p.models) {
				probe_result_release(&p);
				return 1;
			}
			snprintf(why, why_len, "/v1/models answered %ld%s%s%s", p.http_status, p.error_text[0] ? " (" : "",
				 p.error_text, p.error_text[0] ? ")" : "");
		}
		probe_result_release(&p);
		if (now_ms() > deadline || (r->o->interrupted && *r->o->interrupted))
			return 0;
		usleep(PROBE_EVERY_MS * 1000);
	}
}

/* Puts the previous bytes back after the new file failed; the outcome. */
static const char *undo_reload(struct reload *r, int *leave_journal)
{
	struct cpactl_error e = CPACTL_ERROR_INIT;
	const struct cpa_target *t = r->op.t;
	char why[400];

	operation_step(&r->op, OP_STEP_UNDO_CONFIG, &e);
	error_clear(&e);
	if (replace_live(r, r->before.data, r->before.len, &e) < 0) {
		sayf(&r->op, "cannot put the previous config.yaml back: %s; run 'cpactl recover'", e.message);
		*leave_journal = 1;
		return UPGRADE_ROLLBACK_FAILED;
	}
	if (serves_with(r, t->probe_key, why, sizeof(why))) {
		sayf(&r->op, "the previous config.yaml is back and '%s' serves with it", t->name);
		return UPGRADE_ROLLED_BACK;
	}
	sayf(&r->op, "the previous config.yaml is back, but '%s' does not serve with it either (%s): restart it "
		     "('docker restart %s') and check its log",
	     t->name, why, t->name);
	return UPGRADE_ROLLBACK_FAILED;
}

static int apply_with_reload(struct docker_client *c, struct cpa_target *t, const struct deployment *d,
			     const struct upgrade_options *o, json_t **report, struct cpactl_error *err)
{
	struct reload r;
	const struct op_backup b = {
		.skip = o->no_backup,
		.why = "backup before config apply",
		.report_key = "snapshot",
		.skipped = "no backup (--no-backup): the previous config.yaml is kept until the new one serves",
		.snapshot = { .cpactl_version = o->cpactl_version, .interrupted = o->interrupted,
			      .progress = o->backup_progress, .progress_ctx = o->progress_ctx },
	};
	const char *outcome = UPGRADE_REFUSED;
	char question[400], why[400];
	int rc = -1, leave_journal = 0;
	json_t *diff;

	memset(&r, 0, sizeof(r));
	r.o = o;
	*report = json_pack("{s:s,s:s,s:s,s:[]}", "outcome", UPGRADE_REFUSED, "container", t->name, "mode", "reload",
			    "steps");
	operation_init(&r.op, c, t, d, *report, o->say, o->ctx);
	if (!*report)
		return error_set(err, ERR_NOMEM, "out of memory");

	/* 1. Only a file on this machine, only a serving production, only a
	 * closed proxy. */
	if (!t->config_host) {
		error_set(err, ERR_USAGE,
			  "--reload needs config.yaml of '%s' as a bind mount on this machine (it is %s); apply "
			  "without --reload",
			  t->name, t->config_storage ? t->config_storage : "elsewhere");
		goto out;
	}
	if (!t->state || strcmp(t->state, "running") != 0 || !t->has_api_port) {
		error_set(err, ERR_FAILED, "--reload needs '%s' running with a published API port: apply without --reload",
			  t->name);
		goto out;
	}
	r.in_place = config_mounted_alone(t);
	json_object_set_new(r.op.report, "in_place", json_boolean(r.in_place));
	if (read_applied(o, &r.new_key, NULL, err) < 0 || operation_begin(&r.op, "config-apply", err) < 0)
		goto out;
	journal_set(&r.op.journal, OP_KEY_MODE, json_string("reload"));
	/* recover must put the old bytes back the same way, or the running
	 * container keeps reading the new file through its pinned inode. */
	journal_set(&r.op.journal, OP_KEY_IN_PLACE, json_boolean(r.in_place));

	/* 2-3. The live file; the backup, and the previous bytes where recover
	 * finds them. */
	if (operation_step(&r.op, OP_STEP_PREFLIGHT, err) < 0 ||
	    container_read_file_at(c, t->id, t->config_in_container, t->config_host, CPA_CONFIG_MAX, &r.before, NULL,
				   err) < 0 ||
	    operation_backup(&r.op, &b, err) < 0 || operation_step(&r.op, OP_STEP_SCRATCH, err) < 0 ||
	    operation_scratch(&r.op, &r.before, err) < 0)
		goto out;

	/* 4. The diff; confirm. */
	if (!(diff = config_masked_diff(r.before.data, r.before.len, o->config_data, o->config_len, err)))
		goto out;
	json_object_set_new(r.op.report, "config_diff", diff);
	sayf(&r.op, "config.yaml changes (secrets masked):\n%s", json_string_value(diff));
	snprintf(question, sizeof(question),
		 "replace config.yaml of '%s' and let the running CPA reload it (no candidate test)?", t->name);
	if (operation_confirm(&r.op, o->confirm, question, err) < 0) {
		if (err->kind == ERR_DECLINED)
			outcome = UPGRADE_DECLINED;
		goto out;
	}

	/* 5. The change, and production's verdict on it. */
	if (operation_step(&r.op, OP_STEP_PROMOTE_CONFIG, err) < 0)
		goto out;
	if (replace_live(&r, o->config_data, o->config_len, err) < 0) {
		outcome = undo_reload(&r, &leave_journal);
		goto out;
	}
	sayf(&r.op, "config.yaml of '%s' replaced %s; waiting for CPA to reload it", t->name,
	     r.in_place ? "in place (its own bind mount)" : "atomically");
	if (operation_step(&r.op, OP_STEP_VERIFY, err) < 0)
		goto out;
	if (!serves_with(&r, r.new_key, why, sizeof(why))) {
		sayf(&r.op, "'%s' does not serve with the new config.yaml: %s; putting the previous file back", t->name,
		     why);
		error_set(err, ERR_FAILED, "'%s' did not serve with the new config.yaml within %ld s (%s)", t->name,
			  o->timeout_ms / 1000, why);
		outcome = undo_reload(&r, &leave_journal);
		goto out;
	}
	operation_commit_config(d, o->config_data, o->config_len, o->say, o->ctx, "config apply %s: %s (reload)\n",
				r.op.id, o->config_source ? o->config_source : "a new file");
	sayf(&r.op, "applied: '%s' reloaded config.yaml and serves with its first key", t->name);
	outcome = UPGRADE_APPLIED;
	rc = 0;
out:
	operation_end(&r.op, outcome, !leave_journal);
	buf_wipe(&r.before);
	if (r.new_key) {
		memset(r.new_key, 0, strlen(r.new_key));
		free(r.new_key);
	}
	return rc;
}

int config_apply_run(struct docker_client *c, struct cpa_target *t, const struct deployment *d,
		     const struct upgrade_options *o, int reload, json_t **report, struct cpactl_error *err)
{
	if (reload)
		return apply_with_reload(c, t, d, o, report, err);
	return apply_with_candidate(c, t, d, o, report, err);
}
