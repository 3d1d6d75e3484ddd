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

void say_fmt(say_fn say, void *ctx, const char *fmt, ...)
{
	char text[1600];
	va_list ap;

	if (!say)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	say(ctx, text);
}

int promote_step(struct journal *j, json_t *report, const char *name, struct cpactl_error *err)
{
	json_array_append_new(json_object_get(report, "steps"), json_string(name));
	return journal_step(j, name, err);
}

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

static int step(struct promotion *p, const char *name, struct cpactl_error *err)
{
	return promote_step(p->journal, p->report, name, err);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static int write_config(struct promotion *p, const struct buf *data, struct cpactl_error *err)
{
	return atomic_replace_file(p->config_host, data->data ? data->data : "", data->len, err);
}

static int set_restart_no(struct promotion *p, const char *id, struct cpactl_error *err)
{
	json_t *no = json_pack("{s:s}", "Name", "no");
	int rc = docker_container_set_restart(p->c, id, no, err);
	json_decref(no);
	return rc;
}

/* Puts the old container back: the new one failed its verdict or its start. */
static int undo(struct promotion *p, struct cpactl_error *err)
{
	struct verdict v;
	int rc = -1;

	memset(&v, 0, sizeof(v));
	say_fmt(p->say, p->ctx, "rolling back: the old container '%s' takes over again", p->name);
	if (step(p, "rollback-stop-new", err) < 0 || docker_container_stop(p->c, p->new_id, 10, err) < 0)
		goto out;
	if (step(p, "rollback-rename-new", err) < 0 || docker_container_ensure_name(p->c, p->new_id, p->failed_name, err) < 0)
		goto out;
	/* A reused container goes back to being a kept, inert one. */
	if (p->reuse_id && set_restart_no(p, p->new_id, err) < 0)
		goto out;
	if (step(p, "rollback-rename-old", err) < 0 || docker_container_ensure_name(p->c, p->old_id, p->name, err) < 0)
		goto out;
	if (p->config_after) {
		if (step(p, "rollback-config", err) < 0 || write_config(p, p->config_before, err) < 0)
			goto out;
	}
	if (p->hook) {
		if (step(p, "rollback-hook", err) < 0 || p->hook(p->ctx, 1, err) < 0)
			goto out;
	}
	if (step(p, "rollback-start-old", err) < 0 ||
	    docker_container_set_restart(p->c, p->old_id, p->old_restart, err) < 0 ||
	    docker_container_start(p->c, p->old_id, err) < 0)
		goto out;
	if (step(p, "rollback-verify", err) < 0 || p->judge(p->ctx, p->old_id, 1, &v, err) < 0)
		goto out;
	json_object_set_new(p->report, "rollback", verdict_to_json(&v));
	if (!v.ok) {
		verdict_say(p->say, p->ctx, "old release after rollback", &v);
		error_set(err, ERR_FAILED, "the rollback restarted '%s' but it does not serve: see above", p->name);
		goto out;
	}
	say_fmt(p->say, p->ctx, "rolled back: '%s' serves again with its previous release; the failed one is kept as '%s'",
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
	p->outcome = NULL;
	journal_set(p->journal, "prev_name", json_string(p->prev_name));
	if (p->reuse_id) {
		p->new_id = strdup(p->reuse_id);
		journal_set(p->journal, "new_id", json_string(p->new_id));
		journal_set(p->journal, "new_kept_name", json_string(p->failed_name));
	} else {
		/* Created before anything is stopped: the slow part happens while
		 * the old release still serves. */
		struct buf temp = BUF_INIT;
		struct cpactl_error ignored = CPACTL_ERROR_INIT;
		int r;
		buf_appendf(&temp, "%s-cpactl-new", p->name);
		docker_container_remove(p->c, temp.data, 1, 1, &ignored);
		r = step(p, "promote-create", err) < 0 ||
		    docker_container_create(p->c, temp.data, p->create_body, &p->new_id, err) < 0;
		buf_free(&temp);
		if (r)
			goto out;
		journal_set(p->journal, "new_id", json_string(p->new_id));
		json_array_foreach(p->extra_networks, i, net)
			if (docker_network_connect(p->c, json_string_value(json_object_get(net, "network")), p->new_id,
						   json_object_get(net, "endpoint"), err) < 0)
				goto out;
	}
	/* An engine restart must never bring the kept old container back on the port. */
	if (step(p, "promote-restart-policy", err) < 0 || set_restart_no(p, p->old_id, err) < 0)
		goto out;
	if (p->config_after) {
		if (step(p, "promote-config", err) < 0 || write_config(p, p->config_after, err) < 0)
			goto out;
	}
	stop_at = now_ms();
	if (step(p, "promote-stop-old", err) < 0 || docker_container_stop(p->c, p->old_id, -1, err) < 0)
		goto out;
	if (p->hook) {
		if (step(p, p->hook_step ? p->hook_step : "promote-hook", err) < 0 || p->hook(p->ctx, 0, err) < 0)
			goto failed_before_rename;
	}
	if (step(p, "promote-rename-old", err) < 0 || docker_container_rename(p->c, p->old_id, p->prev_name, err) < 0)
		goto out;
	if (step(p, "promote-rename-new", err) < 0 || docker_container_rename(p->c, p->new_id, p->name, err) < 0)
		goto out;
	if (step(p, "promote-start-new", err) < 0)
		goto out;
	if ((p->reuse_restart && docker_container_set_restart(p->c, p->new_id, p->reuse_restart, err) < 0) ||
	    docker_container_start(p->c, p->new_id, err) < 0) {
		say_fmt(p->say, p->ctx, "the new container did not start: %s", err->message);
		error_clear(err);
		v.reasons = json_array();
		v.notes = json_array();
		goto failed;
	}
	judge_at = now_ms();
	if (step(p, "verify", err) < 0 || p->judge(p->ctx, p->new_id, 0, &v, err) < 0)
		goto out;
	json_object_set_new(p->report, "production", verdict_to_json(&v));
	if (v.ok) {
		/* From the stop of the old release to the first good answer of the
		 * new one: the time production did not serve. */
		json_object_set_new(p->report, "downtime_ms", json_real(judge_at + v.ready_ms - stop_at));
		rc = 0;
		goto out;
	}
	verdict_say(p->say, p->ctx, "production", &v);
	goto failed;
failed_before_rename:
	/* The names have not moved yet: undo renames nothing twice. */
	say_fmt(p->say, p->ctx, "%s", err->message);
	error_clear(err);
failed:
	if (undo(p, err) < 0) {
		p->outcome = "rollback-failed";
		goto out;
	}
	p->outcome = "rolled-back";
	error_set(err, ERR_FAILED, "the new release failed on the production port and was rolled back");
out:
	verdict_release(&v);
	return rc;
}

void promotion_release(struct promotion *p)
{
	free(p->new_id);
	p->new_id = NULL;
}
