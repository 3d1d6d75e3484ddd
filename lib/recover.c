/*
 * recover.c - see recover.h.
 */
#include "recover.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "auth_restore.h"
#include "buf.h"
#include "container_files.h"
#include "cpa.h"
#include "discover.h"
#include "journal.h"
#include "lineage.h"
#include "lock.h"
#include "operation.h"
#include "probe.h"
#include "profile.h"
#include "snapshot.h"
#include "verdict.h"

#define RECOVER_TIMEOUT_MS 30000L

struct recovery {
	struct docker_client *c;
	const struct deployment *d;
	struct journal j;
	json_t *report;
	say_fn say;
	void *ctx;
	const char *name;
	const char *old_id;
	const char *new_id;
	const char *prev_name;
	const char *op_id;
	const char *operation;    /* "upgrade" or "rollback" */
};

static void note(struct recovery *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct recovery *r, const char *fmt, ...)
{
	char text[800];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	json_array_append_new(json_object_get(r->report, "actions"), json_string(text));
	if (r->say)
		r->say(r->ctx, text);
}

/* The container's current name, or NULL when it does not exist. */
static char *current_name(struct recovery *r, const char *id)
{
	json_t *inspect = NULL;
	struct cpactl_error e = CPACTL_ERROR_INIT;
	const char *n;
	char *out = NULL;

	if (!id || docker_container_inspect(r->c, id, &inspect, &e) < 0)
		return NULL;
	n = json_string_value(json_object_get(inspect, "Name"));
	if (n)
		out = strdup(n[0] == '/' ? n + 1 : n);
	json_decref(inspect);
	return out;
}

static int ensure_name(struct recovery *r, const char *id, const char *name, struct cpactl_error *err)
{
	/* The wanted name may be held by the other container: callers order
	 * the renames so that it is free. */
	int rc = docker_container_ensure_name(r->c, id, name, err);
	if (rc == 1)
		note(r, "renamed '%.12s' to '%s'", id, name);
	return rc < 0 ? -1 : 0;
}

/* Rollback's auth and plugins restore, forward or back; idempotent
 * (auth_restore.h).  Undone in the reverse order. */
static int auth_to(struct recovery *r, int forward, struct cpactl_error *err)
{
	json_t *plan = journal_get(&r->j, OP_KEY_AUTH_PLAN);
	json_t *plugins = journal_get(&r->j, OP_KEY_PLUGINS_PLAN);

	if (!forward && plugins && auth_apply(plugins, 0, err) < 0)
		return -1;
	if (plan && auth_apply(plan, forward, err) < 0)
		return -1;
	if (forward && plugins && auth_apply(plugins, 1, err) < 0)
		return -1;
	if (plan)
		note(r, forward ? "auth dir: the snapshot's files are in place"
				: "auth dir: as it was before the rollback");
	if (plugins)
		note(r, forward ? "plugins dir: the snapshot's missing files are in place"
				: "plugins dir: as it was before the rollback");
	return 0;
}

static int restore_config(struct recovery *r, struct cpactl_error *err)
{
	const char *host = journal_get_string(&r->j, OP_KEY_CONFIG_HOST);
	const char *in_container = journal_get_string(&r->j, OP_KEY_CONFIG_IN_CONTAINER);
	const char *scratch = journal_get_string(&r->j, OP_KEY_SCRATCH_DIR);
	const char *snapshot = journal_get_string(&r->j, OP_KEY_SNAPSHOT);
	struct buf src = BUF_INIT;
	char *data = NULL;
	size_t len = 0;
	struct cpactl_error e = CPACTL_ERROR_INIT;
	int rc = -1;

	if (!host && !in_container) {
		rc = 0;
		goto out;
	}
	if (snapshot)
		snapshot_backup_part_path(&src, r->d, snapshot,
					  journal_get_string(&r->j, OP_KEY_SETTINGS_PART)
						  ? journal_get_string(&r->j, OP_KEY_SETTINGS_PART)
						  : profile_cpa.settings_part);
	if (!snapshot || access(src.data, R_OK) != 0) {
		buf_reset(&src);
		if (scratch)
			buf_appendf(&src, "%s/config.orig", scratch);
	}
	if (!src.len || read_small_file(src.data, CPA_CONFIG_MAX, &data, &len, &e) < 0) {
		/* Nothing to restore from: the config was never replaced (the copy is
		 * written before any change). */
		rc = 0;
		goto out;
	}
	if (!host) {
		/* On a volume: through the old container (kept, running or not),
		 * which mounts it; the same bytes are left alone. */
		struct buf live = BUF_INIT;
		int same = container_read_file(r->c, r->old_id, in_container, CPA_CONFIG_MAX, &live, NULL, &e) == 0 &&
			   live.len == len && memcmp(live.data ? live.data : "", data, len) == 0;
		buf_wipe(&live);
		error_clear(&e);
		if (!same && container_write_file(r->c, r->old_id, in_container, data, len, err) < 0)
			goto out;
		if (!same)
			note(r, "config.yaml restored to its state before the %s",
			     r->operation ? r->operation : "operation");
		rc = 0;
		goto out;
	}
	{
		char *live = NULL;
		size_t live_len = 0;
		if (read_small_file(host, CPA_CONFIG_MAX, &live, &live_len, &e) == 0 && live_len == len &&
		    memcmp(live, data, len) == 0) {
			free(live);
			rc = 0;
			goto out;
		}
		free(live);
	}
	/* A --reload of a file mounted alone rewrote it in place; a rename
	 * would leave the running container on the new bytes. */
	if (json_is_true(journal_get(&r->j, OP_KEY_IN_PLACE))) {
		if (rewrite_file_in_place(host, data, len, err) < 0)
			goto out;
	} else if (atomic_replace_file(host, data, len, err) < 0) {
		goto out;
	}
	note(r, "%s restored to its state before the %s",
	     journal_get_string(&r->j, OP_KEY_SETTINGS_PART) ? "the env file" : "config.yaml",
	     r->operation ? r->operation : "operation");
	rc = 0;
out:
	if (data)
		memset(data, 0, len);
	free(data);
	buf_free(&src);
	return rc;
}

static void remove_quietly(struct recovery *r, const char *id_or_name, const char *what)
{
	struct cpactl_error e = CPACTL_ERROR_INIT;
	char *now;

	if (!id_or_name)
		return;
	now = current_name(r, id_or_name);
	if (now && docker_container_remove(r->c, id_or_name, 1, 1, &e) == 0)
		note(r, "removed the %s '%s'", what, now);
	free(now);
}

static int serves(struct recovery *r, const char *id)
{
	struct discover_options opts = { 0 };
	struct cpa_target *targets = NULL;
	struct judge_options jo;
	struct verdict v;
	struct cpactl_error e = CPACTL_ERROR_INIT;
	size_t count = 0;
	int ok = 0;

	opts.container = id;
	opts.skip_version = 1;
	/* The kind of proxy the operation was run on (--profile and the like). */
	opts.profile = journal_get_string(&r->j, OP_KEY_PROFILE);
	opts.probe_path = journal_get_string(&r->j, OP_KEY_PROBE_PATH);
	if (opts.profile && strcmp(opts.profile, profile_cpa.name) != 0) /* CPA's is in its config */
		opts.api_port = (int)json_integer_value(journal_get(&r->j, OP_KEY_API_PORT));
	memset(&v, 0, sizeof(v));
	if (discover_targets(r->c, &opts, &targets, &count, &e) < 0 || count != 1 || !targets[0].has_api_port)
		goto out;
	memset(&jo, 0, sizeof(jo));
	jo.timeout_ms = RECOVER_TIMEOUT_MS;
	jo.host = probe_host_for_binding(targets[0].api_host_ip);
	jo.port = targets[0].api_host_port;
	jo.tls = targets[0].tls;
	jo.probe_key = targets[0].probe_key;
	jo.expected_clients = -1;
	jo.tty = targets[0].tty;
	jo.profile = targets[0].profile;
	jo.probe_path = targets[0].probe_path;
	if (judge_container(r->c, targets[0].id, &jo, &v, &e) == 0 && v.ok)
		ok = 1;
	else if (v.reasons && json_array_size(v.reasons))
		note(r, "'%s' does not serve: %s", r->name, json_string_value(json_array_get(v.reasons, 0)));
out:
	verdict_release(&v);
	cpa_targets_free(targets, count);
	return ok;
}

/* Puts the old container back under its name, running, with its config. */
static int undo(struct recovery *r, struct cpactl_error *err)
{
	json_t *policy = journal_get(&r->j, OP_KEY_OLD_RESTART);
	struct cpactl_error e = CPACTL_ERROR_INIT;

	const char *kept = journal_get_string(&r->j, OP_KEY_NEW_KEPT_NAME);

	remove_quietly(r, journal_get_string(&r->j, OP_KEY_CANDIDATE_ID), "candidate");
	if (r->new_id && kept) {
		/* Rollback's fast path started a kept container: it goes back to
		 * being the kept, stopped, inert one. */
		json_t *no = json_pack("{s:s}", "Name", "no");
		int failed = 0;
		docker_container_stop(r->c, r->new_id, 10, &e);
		error_clear(&e);
		char *now = current_name(r, r->new_id);
		if (now)
			failed = ensure_name(r, r->new_id, kept, err) < 0 ||
				 docker_container_set_restart(r->c, r->new_id, no, err) < 0;
		free(now);
		json_decref(no);
		if (failed)
			return -1;
	} else if (r->new_id) {
		char *now = current_name(r, r->new_id);
		char *failed = now ? operation_kept_name(r->name, OP_KEPT_FAILED, r->op_id) : NULL;
		if (now && !failed) {
			free(now);
			return error_set(err, ERR_NOMEM, "out of memory");
		}
		if (now) {
			docker_container_stop(r->c, r->new_id, 10, &e);
			error_clear(&e);
			/* Never created as production? Then it is only a leftover. */
			if (strcmp(now, r->name) == 0 || operation_kept_role(now, r->name) == OP_KEPT_NEW) {
				if (strcmp(now, r->name) == 0) {
					if (docker_container_rename(r->c, r->new_id, failed, err) < 0) {
						free(now);
						free(failed);
						return -1;
					}
					note(r, "the new container is kept stopped as '%s'", failed);
				} else {
					remove_quietly(r, r->new_id, "pre-created container");
				}
			}
			free(now);
			free(failed);
		}
	}
	if (ensure_name(r, r->old_id, r->name, err) < 0 || restore_config(r, err) < 0 || auth_to(r, 0, err) < 0)
		return -1;
	if (policy && docker_container_set_restart(r->c, r->old_id, policy, err) < 0)
		return -1;
	if (docker_container_start(r->c, r->old_id, err) < 0)
		return -1;
	note(r, "the old container serves again as '%s'", r->name);
	return 0;
}

static int finish(struct recovery *r, struct cpactl_error *err)
{
	json_t *new_restart = journal_get(&r->j, OP_KEY_NEW_RESTART);
	struct cpactl_error e = CPACTL_ERROR_INIT;

	remove_quietly(r, journal_get_string(&r->j, OP_KEY_CANDIDATE_ID), "candidate");
	if (docker_container_stop(r->c, r->old_id, -1, err) < 0)
		return -1;
	if (ensure_name(r, r->old_id, r->prev_name, err) < 0 || ensure_name(r, r->new_id, r->name, err) < 0 ||
	    auth_to(r, 1, err) < 0)
		return -1;
	if (new_restart && docker_container_set_restart(r->c, r->new_id, new_restart, err) < 0)
		return -1;
	if (docker_container_start(r->c, r->new_id, &e) == 0 && serves(r, r->new_id)) {
		if (lineage_record(r->d, r->old_id, r->new_id, &e) < 0)
			note(r, "%s", e.message);
		note(r, "the %s was finished: '%s' serves the new release; the old one is kept as '%s'", r->operation,
		     r->name, r->prev_name);
		return 1;
	}
	note(r, "the new release does not serve: undoing the %s", r->operation);
	return 0;
}

/* Whether a run killed at `step` may have put the new release in production's
 * place (operation.h's table; a step this cpactl does not know: no). */
static int may_finish_at(const char *step)
{
	const struct op_step_info *info = op_step_find(step);
	return info && info->recovery == OP_RECOVER_FINISH_IF_SERVING;
}

int recover_run(struct docker_client *c, const struct deployment *d, say_fn say, void *ctx,
		json_t **report, struct cpactl_error *err)
{
	struct recovery r;
	json_t *existing = NULL;
	const char *step, *operation;
	const char *outcome = "undone";
	int rc = -1;

	memset(&r, 0, sizeof(r));
	r.c = c;
	r.d = d;
	r.say = say;
	r.ctx = ctx;
	*report = json_pack("{s:s,s:[]}", "outcome", "nothing", "actions");
	r.report = *report;
	if (journal_load(d, &existing, err) < 0)
		return -1;
	if (!existing) {
		note(&r, "nothing to recover under '%s'", d->root);
		return 0;
	}
	json_decref(existing);
	if (journal_adopt(d, &r.j, err) < 0)
		return -1;
	operation = json_string_value(json_object_get(r.j.doc, "operation")) ?: "unknown";
	step = json_string_value(json_object_get(r.j.doc, "step")) ?: "begin";
	r.op_id = json_string_value(json_object_get(r.j.doc, "id")) ?: "unknown";
	json_object_set_new(r.report, "operation", json_string(operation));
	json_object_set_new(r.report, "id", json_string(r.op_id));
	json_object_set_new(r.report, "stopped_at", json_string(step));
	r.name = journal_get_string(&r.j, OP_KEY_CONTAINER);
	r.old_id = journal_get_string(&r.j, OP_KEY_OLD_ID);
	r.new_id = journal_get_string(&r.j, OP_KEY_NEW_ID);
	r.prev_name = journal_get_string(&r.j, OP_KEY_PREV_NAME);
	r.operation = operation;
	if ((strcmp(operation, "upgrade") != 0 && strcmp(operation, "rollback") != 0 &&
	     strcmp(operation, "config-apply") != 0) ||
	    !r.name || !r.old_id) {
		error_set(err, ERR_FAILED, "the unfinished operation '%s' in '%s' is not one cpactl can recover; "
					   "check the containers, then remove the journal",
			  operation, r.j.path);
		goto out;
	}
	if (say) {
		char text[300];
		snprintf(text, sizeof(text), "recovering the %s %s of '%s', stopped at step '%s'", operation, r.op_id,
			 r.name, step);
		say(ctx, text);
	}
	if (may_finish_at(step) && r.new_id && r.prev_name) {
		int f = finish(&r, err);
		if (f < 0)
			goto out;
		if (f == 1) {
			outcome = "finished";
		} else if (undo(&r, err) < 0) {
			goto out;
		}
	} else if (undo(&r, err) < 0) {
		goto out;
	}
	{
		const char *scratch = journal_get_string(&r.j, OP_KEY_SCRATCH_DIR);
		struct cpactl_error ignored = CPACTL_ERROR_INIT;
		json_t *plan = journal_get(&r.j, OP_KEY_AUTH_PLAN);
		json_t *plugins = journal_get(&r.j, OP_KEY_PLUGINS_PLAN);
		if (scratch)
			remove_tree(scratch, &ignored);
		if (plan)
			auth_stage_remove(plan);
		if (plugins)
			auth_stage_remove(plugins);
	}
	json_object_set_new(r.report, "outcome", json_string(outcome));
	if (journal_finish(&r.j, strcmp(outcome, "finished") == 0 ? "recovered: finished" : "recovered: undone", err) < 0)
		goto out;
	rc = 0;
out:
	journal_release(&r.j);
	return rc;
}

int recover_plan(const struct deployment *d, say_fn say, void *ctx, json_t **report, struct cpactl_error *err)
{
	json_t *journal = NULL;
	const char *operation, *step, *id, *plan = "undo";
	long holder;
	char text[400];

	*report = json_pack("{s:s,s:[]}", "outcome", "nothing", "actions");
	if (!*report)
		return error_set(err, ERR_NOMEM, "out of memory");
	if (journal_load(d, &journal, err) < 0)
		return -1;
	if (!journal) {
		snprintf(text, sizeof(text), "nothing to recover under '%s'", d->root);
		if (say)
			say(ctx, text);
		return 0;
	}
	operation = json_string_value(json_object_get(journal, "operation")) ?: "unknown";
	step = json_string_value(json_object_get(journal, "step")) ?: "begin";
	id = json_string_value(json_object_get(journal, "id")) ?: "unknown";
	/* The same choice as recover_run: finishing needs the new container
	 * and the name production had set aside. */
	if (may_finish_at(step) && json_object_get(json_object_get(journal, "context"), OP_KEY_NEW_ID) &&
	    json_object_get(json_object_get(journal, "context"), OP_KEY_PREV_NAME))
		plan = "finish-if-serving";
	holder = lock_holder(d->lock_path);
	json_object_set_new(*report, "outcome", json_string("dry-run"));
	json_object_set_new(*report, "operation", json_string(operation));
	json_object_set_new(*report, "id", json_string(id));
	json_object_set_new(*report, "stopped_at", json_string(step));
	json_object_set_new(*report, "plan", json_string(plan));
	json_object_set_new(*report, "in_progress_pid", holder > 0 ? json_integer(holder) : json_null());
	if (say) {
		if (holder > 0)
			snprintf(text, sizeof(text),
				 "the %s %s is in progress: cpactl pid %ld holds the lock, at step '%s'; recover "
				 "would wait for it (--wait) and then find nothing or what it left",
				 operation, id, holder, step);
		else if (strcmp(plan, "undo") == 0)
			snprintf(text, sizeof(text),
				 "dry run: the %s %s stopped at step '%s', before production was replaced: recover "
				 "would undo it (the old container back under its name, with its config)",
				 operation, id, step);
		else
			snprintf(text, sizeof(text),
				 "dry run: the %s %s stopped at step '%s', after production was stopped: recover "
				 "would finish it if the new release serves on the real port, else undo it",
				 operation, id, step);
		say(ctx, text);
	}
	json_decref(journal);
	return 0;
}
