/*
 * config_reload.c - see config_reload.h.
 */
#include "config_reload.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomic_file.h"
#include "container_files.h"
#include "cpa.h"
#include "history.h"
#include "journal.h"
#include "operation.h"
#include "probe.h"
#include "promote.h"
#include "secretmask.h"
#include "snapshot.h"
#include "yamlconf.h"

#define PROBE_EVERY_MS 200

struct reload {
	struct docker_client *c;
	struct cpa_target *t;
	const struct deployment *d;
	const struct upgrade_options *o;
	struct journal journal;
	json_t *report;
	struct buf before;      /* SECRET: the live file */
	char *new_key;          /* SECRET: the new file's first api key */
	char *op_id;
	char *scratch_dir;
	int in_place;
};

#define sayf(r, ...) say_fmt((r)->o->say, (r)->o->ctx, __VA_ARGS__)

json_t *config_masked_diff(const char *before, size_t before_len, const char *after, size_t after_len,
			   struct cpactl_error *err)
{
	struct buf a = BUF_INIT, b = BUF_INIT, patch = BUF_INIT;
	json_t *out = NULL;

	if (secret_mask_yaml(before ? before : "", before_len, &a, err) < 0 ||
	    secret_mask_yaml(after ? after : "", after_len, &b, err) < 0 ||
	    history_diff("config.yaml", a.data ? a.data : "", a.len, "config.yaml (new)", b.data ? b.data : "", b.len,
			 &patch, err) < 0)
		goto out;
	out = json_string(buf_str(&patch));
	if (!out)
		error_set(err, ERR_PARSE, "config.yaml is not UTF-8 text: its diff cannot be shown");
out:
	buf_free(&a);
	buf_free(&b);
	buf_free(&patch);
	return out;
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

static int replace_live(struct reload *r, const char *data, size_t len, struct cpactl_error *err)
{
	if (r->in_place)
		return rewrite_file_in_place(r->t->config_host, data ? data : "", len, err);
	return atomic_replace_file(r->t->config_host, data ? data : "", len, err);
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
	const char *host = probe_host_for_binding(r->t->api_host_ip);

	snprintf(why, why_len, "it did not answer");
	for (;;) {
		struct probe_result p;
		struct cpactl_error e = CPACTL_ERROR_INIT;
		memset(&p, 0, sizeof(p));
		if (probe_get(host, r->t->api_host_port, "/v1/models", key, 2000, &p, &e) == 0) {
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

/* The new file's first api key, for the probes (config check made sure
 * there is one). */
static int read_new_key(struct reload *r, struct cpactl_error *err)
{
	json_t *doc = NULL;
	const char *key;

	if (yaml_parse(r->o->config_data, r->o->config_len, r->o->config_source ? r->o->config_source : "config.yaml",
		       &doc, err) < 0)
		return -1;
	key = json_string_value(json_array_get(json_object_get(doc, "api-keys"), 0));
	if (key && *key)
		r->new_key = strdup(key);
	json_decref(doc);
	if (!r->new_key)
		return error_set(err, ERR_FAILED, "%s has no api-keys: refusing an open proxy",
				 r->o->config_source ? r->o->config_source : "the new config.yaml");
	return 0;
}

static int keep_previous(struct reload *r, struct cpactl_error *err)
{
	struct buf dir = BUF_INIT, orig = BUF_INIT;
	int rc = -1;

	buf_appendf(&dir, "%s/scratch/%s", r->d->state_dir, r->op_id);
	buf_appendf(&orig, "%s/config.orig", dir.data);
	if (make_private_dirs(dir.data, err) < 0)
		goto out;
	r->scratch_dir = strdup(dir.data);
	journal_set(&r->journal, OP_KEY_SCRATCH_DIR, json_string(dir.data));
	rc = atomic_write_file(orig.data, r->before.data ? r->before.data : "", r->before.len, 0600, err);
out:
	buf_free(&dir);
	buf_free(&orig);
	return rc;
}

int config_reload_run(struct docker_client *c, struct cpa_target *t, const struct deployment *d,
		      const struct upgrade_options *o, json_t **report, struct cpactl_error *err)
{
	struct reload r;
	struct snapshot_result snap;
	const char *outcome = UPGRADE_REFUSED;
	char stamp[32], why[400];
	int rc = -1, journaled = 0, leave_journal = 0;

	memset(&r, 0, sizeof(r));
	memset(&snap, 0, sizeof(snap));
	r.c = c;
	r.t = t;
	r.d = d;
	r.o = o;
	r.report = json_pack("{s:s,s:s,s:s,s:[]}", "outcome", UPGRADE_REFUSED, "container", t->name, "mode", "reload",
			     "steps");
	*report = r.report;
	if (!r.report)
		return error_set(err, ERR_NOMEM, "out of memory");
	operation_stamp(stamp, sizeof(stamp));
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
	json_object_set_new(r.report, "in_place", json_boolean(r.in_place));
	if (read_new_key(&r, err) < 0)
		goto out;
	if (operation_begin(d, "config-apply", stamp, t, &r.journal, err) < 0)
		goto out;
	journaled = 1;
	journal_set(&r.journal, OP_KEY_MODE, json_string("reload"));
	/* recover must put the old bytes back the same way, or the running
	 * container keeps reading the new file through its pinned inode. */
	journal_set(&r.journal, OP_KEY_IN_PLACE, json_boolean(r.in_place));
	if (operation_step(&r.journal, r.report, OP_STEP_PREFLIGHT, err) < 0 ||
	    container_read_file_at(c, t->id, t->config_in_container, t->config_host, CPA_CONFIG_MAX, &r.before, NULL,
				   err) < 0)
		goto out;

	/* Back up, and keep the previous bytes where recover finds them. */
	if (!o->no_backup) {
		const struct op_backup b = {
			.why = "backup before config apply",
			.report_key = "snapshot",
			.snapshot = { .cpactl_version = o->cpactl_version, .interrupted = o->interrupted,
				      .progress = o->backup_progress, .progress_ctx = o->progress_ctx },
		};
		if (operation_backup(c, t, d, &r.journal, r.report, &b, &snap, &r.op_id, err) < 0)
			goto out;
		sayf(&r, "snapshot %s taken", snap.id);
	} else {
		r.op_id = strdup(stamp);
		sayf(&r, "no backup (--no-backup): the previous config.yaml is kept until the new one serves");
	}
	if (operation_step(&r.journal, r.report, OP_STEP_SCRATCH, err) < 0 || keep_previous(&r, err) < 0)
		goto out;
	{
		json_t *diff = config_masked_diff(r.before.data, r.before.len, o->config_data, o->config_len, err);
		if (!diff)
			goto out;
		json_object_set_new(r.report, "config_diff", diff);
		sayf(&r, "config.yaml changes (secrets masked):\n%s", json_string_value(diff));
	}

	{
		char question[400];
		snprintf(question, sizeof(question),
			 "replace config.yaml of '%s' and let the running CPA reload it (no candidate test)?", t->name);
		if (operation_confirm(&r.journal, r.report, o->confirm, o->ctx, question, err) < 0) {
			if (err->kind == ERR_DECLINED)
				outcome = UPGRADE_DECLINED;
			goto out;
		}
	}

	/* The change, and production's verdict on it. */
	if (operation_step(&r.journal, r.report, OP_STEP_PROMOTE_CONFIG, err) < 0)
		goto out;
	if (replace_live(&r, o->config_data, o->config_len, err) < 0)
		goto undo;
	sayf(&r, "config.yaml of '%s' replaced %s; waiting for CPA to reload it", t->name,
	     r.in_place ? "in place (its own bind mount)" : "atomically");
	if (operation_step(&r.journal, r.report, OP_STEP_VERIFY, err) < 0)
		goto out;
	if (serves_with(&r, r.new_key, why, sizeof(why))) {
		operation_commit_config(d, o->config_data, o->config_len, o->say, o->ctx, "config apply %s: %s (reload)\n",
					r.op_id, o->config_source ? o->config_source : "a new file");
		sayf(&r, "applied: '%s' reloaded config.yaml and serves with its first key", t->name);
		outcome = UPGRADE_APPLIED;
		rc = 0;
		goto out;
	}
	sayf(&r, "'%s' does not serve with the new config.yaml: %s; putting the previous file back", t->name, why);
	error_set(err, ERR_FAILED, "'%s' did not serve with the new config.yaml within %ld s (%s)", t->name,
		  o->timeout_ms / 1000, why);
undo:
	{
		struct cpactl_error e = CPACTL_ERROR_INIT;
		char why_old[400];
		operation_step(&r.journal, r.report, OP_STEP_UNDO_CONFIG, &e);
		error_clear(&e);
		if (replace_live(&r, r.before.data, r.before.len, &e) < 0) {
			sayf(&r, "cannot put the previous config.yaml back: %s; run 'cpactl recover'", e.message);
			outcome = "rollback-failed";
			leave_journal = 1;
			goto out;
		}
		if (serves_with(&r, t->probe_key, why_old, sizeof(why_old))) {
			sayf(&r, "the previous config.yaml is back and '%s' serves with it", t->name);
			outcome = UPGRADE_ROLLED_BACK;
		} else {
			sayf(&r, "the previous config.yaml is back, but '%s' does not serve with it either (%s): restart it "
				 "('docker restart %s') and check its log",
			     t->name, why_old, t->name);
			outcome = "rollback-failed";
		}
	}
out:
	json_object_set_new(r.report, "outcome", json_string(outcome));
	if (journaled) {
		struct cpactl_error ignored = CPACTL_ERROR_INIT;
		if (!leave_journal) {
			if (r.scratch_dir)
				remove_tree(r.scratch_dir, &ignored);
			journal_finish(&r.journal, outcome, &ignored);
		}
	}
	journal_release(&r.journal);
	snapshot_result_release(&snap);
	buf_wipe(&r.before);
	if (r.new_key) {
		memset(r.new_key, 0, strlen(r.new_key));
		free(r.new_key);
	}
	free(r.op_id);
	free(r.scratch_dir);
	return rc;
}
