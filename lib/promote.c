/*
 * promote.c - see promote.h.
 */
#include "promote.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "atomic_file.h"
#include "container_files.h"
#include "lineage.h"

void verdict_say(say_fn say, void *ctx, const char *who, const struct verdict *v)
{
	json_t *r;
	size_t i;

	json_array_foreach(v->reasons, i, r)
		say_fmt(say, ctx, "%s: %s", who, json_string_value(r));
	json_array_foreach(v->notes, i, r)
		say_fmt(say, ctx, "%s: note: %s", who, json_string_value(r));
	if (!v->ok && v->log_tail && *v->log_tail)
		say_fmt(say, ctx, "%s: last log lines:\n%s", who, v->log_tail);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static int write_config(struct promotion *p, const struct buf *data, struct cpactl_error *err)
{
	if (!p->config_host && !p->config_in_container)
		return error_set(err, ERR_FAILED, "config.yaml of '%s' is on no mount cpactl can write", p->name);
	if (!p->config_host) /* the old container has the mount, running or stopped */
		return container_write_file(p->op->c, p->old_id, p->config_in_container, data->data ? data->data : "",
					    data->len, err);
	return atomic_replace_file(p->config_host, data->data ? data->data : "", data->len, err);
}

static int set_restart_no(struct promotion *p, const char *id, struct cpactl_error *err)
{
	json_t *no = json_pack("{s:s}", "Name", "no");
	int rc = docker_container_set_restart(p->op->c, id, no, err);
	json_decref(no);
	return rc;
}

/* The new container is production now: its snapshots-to-be and the old
 * one's are one container's past (lineage.h).  Losing this only makes a
 * renamed container's older snapshots need naming, so it is a note. */
static void record_lineage(struct promotion *p)
{
	struct cpactl_error e = CPACTL_ERROR_INIT;

	if (lineage_record(p->op->d, p->old_id, p->new_id, &e) < 0)
		say_fmt(p->op->say, p->op->ctx, "note: %s", e.message);
}

/* Puts the old container back: the new one failed its verdict or its start. */
static int undo(struct promotion *p, struct cpactl_error *err)
{
	struct verdict v;
	int rc = -1;

	memset(&v, 0, sizeof(v));
	say_fmt(p->op->say, p->op->ctx, "rolling back: the old container '%s' takes over again", p->name);
	if (operation_step(p->op, OP_STEP_ROLLBACK_STOP_NEW, err) < 0 || docker_container_stop(p->op->c, p->new_id, 10, err) < 0)
		goto out;
	if (operation_step(p->op, OP_STEP_ROLLBACK_RENAME_NEW, err) < 0 || docker_container_ensure_name(p->op->c, p->new_id, p->failed_name, err) < 0)
		goto out;
	/* A reused container goes back to being a kept, inert one. */
	if (p->reuse_id && set_restart_no(p, p->new_id, err) < 0)
		goto out;
	if (operation_step(p->op, OP_STEP_ROLLBACK_RENAME_OLD, err) < 0 || docker_container_ensure_name(p->op->c, p->old_id, p->name, err) < 0)
		goto out;
	if (p->config_after) {
		if (operation_step(p->op, OP_STEP_ROLLBACK_CONFIG, err) < 0 || write_config(p, p->config_before, err) < 0)
			goto out;
	}
	if (p->hook) {
		if (operation_step(p->op, OP_STEP_ROLLBACK_HOOK, err) < 0 || p->hook(p->ctx, 1, err) < 0)
			goto out;
	}
	if (operation_step(p->op, OP_STEP_ROLLBACK_START_OLD, err) < 0 ||
	    docker_container_set_restart(p->op->c, p->old_id, p->old_restart, err) < 0 ||
	    docker_container_start(p->op->c, p->old_id, err) < 0)
		goto out;
	if (operation_step(p->op, OP_STEP_ROLLBACK_VERIFY, err) < 0 || p->judge(p->ctx, p->old_id, 1, &v, err) < 0)
		goto out;
	json_object_set_new(p->op->report, "rollback", verdict_to_json(&v));
	if (!v.ok) {
		verdict_say(p->op->say, p->op->ctx, "old release after rollback", &v);
		error_set(err, ERR_FAILED, "the rollback restarted '%s' but it does not serve: see above", p->name);
		goto out;
	}
	say_fmt(p->op->say, p->op->ctx, "rolled back: '%s' serves again with its previous release; the failed one is kept as '%s'",
		p->name, p->failed_name);
	rc = 0;
out:
	verdict_release(&v);
	return rc;
}

int promote_run(struct promotion *p, struct cpactl_error *err)
{
	struct verdict v;
	json_t *net;
	size_t i;
	double stop_at = 0, judge_at = 0;
	int rc = -1;

	memset(&v, 0, sizeof(v));
	p->undo = OP_UNDO_NONE;
	journal_set(&p->op->journal, OP_KEY_PREV_NAME, json_string(p->prev_name));
	if (p->reuse_id) {
		p->new_id = strdup(p->reuse_id);
		journal_set(&p->op->journal, OP_KEY_NEW_ID, json_string(p->new_id));
		journal_set(&p->op->journal, OP_KEY_NEW_KEPT_NAME, json_string(p->failed_name));
	} else {
		/* Created before anything is stopped: the slow part happens while
		 * the old release still serves. */
		char *temp = operation_kept_name(p->name, OP_KEPT_NEW, NULL);
		struct cpactl_error ignored = CPACTL_ERROR_INIT;
		int r;
		if (!temp) {
			error_set(err, ERR_NOMEM, "out of memory");
			goto out;
		}
		docker_container_remove(p->op->c, temp, 1, 1, &ignored);
		r = operation_step(p->op, OP_STEP_PROMOTE_CREATE, err) < 0 ||
		    docker_container_create(p->op->c, temp, p->create_body, &p->new_id, err) < 0;
		free(temp);
		if (r)
			goto out;
		journal_set(&p->op->journal, OP_KEY_NEW_ID, json_string(p->new_id));
		json_array_foreach(p->extra_networks, i, net)
			if (docker_network_connect(p->op->c, json_string_value(json_object_get(net, "network")), p->new_id,
						   json_object_get(net, "endpoint"), err) < 0)
				goto out;
	}
	if (p->interrupted && *p->interrupted) {
		/* The last point where stopping changes nothing: the new container
		 * exists, production has not been touched.  A container that
		 * cannot be removed stays in the journal for recover. */
		struct cpactl_error ignored = CPACTL_ERROR_INIT;
		p->untouched = p->reuse_id || docker_container_remove(p->op->c, p->new_id, 1, 1, &ignored) == 0;
		error_set(err, ERR_FAILED, "interrupted before production was touched; it still serves");
		goto out;
	}
	/* An engine restart must never bring the kept old container back on the port. */
	if (operation_step(p->op, OP_STEP_PROMOTE_RESTART_POLICY, err) < 0 || set_restart_no(p, p->old_id, err) < 0)
		goto out;
	if (p->config_after) {
		if (operation_step(p->op, OP_STEP_PROMOTE_CONFIG, err) < 0 || write_config(p, p->config_after, err) < 0)
			goto out;
	}
	stop_at = now_ms();
	if (operation_step(p->op, OP_STEP_PROMOTE_STOP_OLD, err) < 0 || docker_container_stop(p->op->c, p->old_id, -1, err) < 0)
		goto out;
	if (p->hook) {
		if (operation_step(p->op, p->hook_step ? p->hook_step : OP_STEP_PROMOTE_HOOK, err) < 0 ||
		    p->hook(p->ctx, 0, err) < 0)
			goto failed_before_rename;
	}
	if (operation_step(p->op, OP_STEP_PROMOTE_RENAME_OLD, err) < 0 || docker_container_rename(p->op->c, p->old_id, p->prev_name, err) < 0)
		goto out;
	if (operation_step(p->op, OP_STEP_PROMOTE_RENAME_NEW, err) < 0 || docker_container_rename(p->op->c, p->new_id, p->name, err) < 0)
		goto out;
	if (operation_step(p->op, OP_STEP_PROMOTE_START_NEW, err) < 0)
		goto out;
	if ((p->reuse_restart && docker_container_set_restart(p->op->c, p->new_id, p->reuse_restart, err) < 0) ||
	    docker_container_start(p->op->c, p->new_id, err) < 0) {
		say_fmt(p->op->say, p->op->ctx, "the new container did not start: %s", err->message);
		error_clear(err);
		v.reasons = json_array();
		v.notes = json_array();
		goto failed;
	}
	judge_at = now_ms();
	if (operation_step(p->op, OP_STEP_VERIFY, err) < 0 || p->judge(p->ctx, p->new_id, 0, &v, err) < 0)
		goto out;
	json_object_set_new(p->op->report, "production", verdict_to_json(&v));
	if (v.ok) {
		/* From the stop of the old release to the first good answer of the
		 * new one: the time production did not serve. */
		json_object_set_new(p->op->report, "downtime_ms", json_real(judge_at + v.ready_ms - stop_at));
		record_lineage(p);
		rc = 0;
		goto out;
	}
	verdict_say(p->op->say, p->op->ctx, "production", &v);
	goto failed;
failed_before_rename:
	/* The names have not moved yet: undo renames nothing twice. */
	say_fmt(p->op->say, p->op->ctx, "%s", err->message);
	error_clear(err);
failed:
	if (undo(p, err) < 0) {
		p->undo = OP_UNDO_FAILED;
		goto out;
	}
	p->undo = OP_UNDO_DONE;
	if (p->interrupted && *p->interrupted)
		/* undo() judged the old release: it serves, checked. */
		error_set(err, ERR_FAILED, "interrupted: the new release was stopped and the previous one serves "
					   "again under '%s'",
			  p->name);
	else
		error_set(err, ERR_FAILED, "the new release failed on the production port and was rolled back");
out:
	verdict_release(&v);
	return rc;
}

void promotion_init(struct promotion *p, struct operation *op)
{
	memset(p, 0, sizeof(*p));
	p->op = op;
	p->name = op->t->name;
	p->old_id = op->t->id;
	p->config_host = op->t->config_host;
	if (!p->config_host && discover_storage_persists(op->t->config_storage))
		p->config_in_container = op->t->config_in_container;
}

void promotion_release(struct promotion *p)
{
	free(p->new_id);
	p->new_id = NULL;
}
