/*
 * operation.c - see operation.h.
 */
#include "operation.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "atomic_file.h"
#include "buf.h"
#include "history.h"

#define UNTOUCHED OP_PRODUCTION_UNTOUCHED
#define CHANGED OP_PRODUCTION_CHANGED
#define UNDO OP_RECOVER_UNDO
#define FINISH OP_RECOVER_FINISH_IF_SERVING

/* Once the old container is stopped (promote-stop-old), the new release may
 * be the only way back to a serving production: recover finishes what it
 * can prove serves.  Before that, and during an automatic undo, it undoes.
 * promote-hook is the step of a promotion hook that names no step of its
 * own (rollback's is promote-auth): no operation has one today, and a run
 * killed there is undone, as recover did before this table.  config apply
 * --reload journals promote-config and verify too, with no new container:
 * recover has nothing to finish there and always puts the old bytes back. */
static const struct op_step_info steps[OP_STEP_COUNT] = {
	[OP_STEP_PREFLIGHT] = { "preflight", UNTOUCHED, UNDO },
	[OP_STEP_BACKUP] = { "backup", UNTOUCHED, UNDO },
	[OP_STEP_PULL] = { "pull", UNTOUCHED, UNDO },
	[OP_STEP_IMAGE] = { "image", UNTOUCHED, UNDO },
	[OP_STEP_IMAGE_LOAD] = { "image-load", UNTOUCHED, UNDO },
	[OP_STEP_SCRATCH] = { "scratch", UNTOUCHED, UNDO },
	[OP_STEP_AUTH_STAGE] = { "auth-stage", UNTOUCHED, UNDO },
	[OP_STEP_CANDIDATE_CREATE] = { "candidate-create", UNTOUCHED, UNDO },
	[OP_STEP_CANDIDATE_START] = { "candidate-start", UNTOUCHED, UNDO },
	[OP_STEP_CANDIDATE_JUDGE] = { "candidate-judge", UNTOUCHED, UNDO },
	[OP_STEP_CANDIDATE_REMOVE] = { "candidate-remove", UNTOUCHED, UNDO },
	[OP_STEP_CONFIRM] = { "confirm", UNTOUCHED, UNDO },
	[OP_STEP_PROMOTE_CREATE] = { "promote-create", UNTOUCHED, UNDO },
	[OP_STEP_PROMOTE_RESTART_POLICY] = { "promote-restart-policy", CHANGED, UNDO },
	[OP_STEP_PROMOTE_CONFIG] = { "promote-config", CHANGED, UNDO },
	[OP_STEP_PROMOTE_STOP_OLD] = { "promote-stop-old", CHANGED, FINISH },
	[OP_STEP_PROMOTE_HOOK] = { "promote-hook", CHANGED, UNDO },
	[OP_STEP_PROMOTE_AUTH] = { "promote-auth", CHANGED, FINISH },
	[OP_STEP_PROMOTE_RENAME_OLD] = { "promote-rename-old", CHANGED, FINISH },
	[OP_STEP_PROMOTE_RENAME_NEW] = { "promote-rename-new", CHANGED, FINISH },
	[OP_STEP_PROMOTE_START_NEW] = { "promote-start-new", CHANGED, FINISH },
	[OP_STEP_VERIFY] = { "verify", CHANGED, FINISH },
	[OP_STEP_ROLLBACK_STOP_NEW] = { "rollback-stop-new", CHANGED, UNDO },
	[OP_STEP_ROLLBACK_RENAME_NEW] = { "rollback-rename-new", CHANGED, UNDO },
	[OP_STEP_ROLLBACK_RENAME_OLD] = { "rollback-rename-old", CHANGED, UNDO },
	[OP_STEP_ROLLBACK_CONFIG] = { "rollback-config", CHANGED, UNDO },
	[OP_STEP_ROLLBACK_HOOK] = { "rollback-hook", CHANGED, UNDO },
	[OP_STEP_ROLLBACK_START_OLD] = { "rollback-start-old", CHANGED, UNDO },
	[OP_STEP_ROLLBACK_VERIFY] = { "rollback-verify", CHANGED, UNDO },
	[OP_STEP_UNDO_CONFIG] = { "undo-config", CHANGED, UNDO },
};

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

const struct op_step_info *op_step_info(enum op_step step)
{
	if ((unsigned)step >= OP_STEP_COUNT)
		return NULL;
	return &steps[step];
}

const struct op_step_info *op_step_find(const char *name)
{
	for (size_t i = 0; name && i < OP_STEP_COUNT; i++)
		if (strcmp(steps[i].name, name) == 0)
			return &steps[i];
	return NULL;
}

int operation_step(struct operation *op, enum op_step step, struct cpactl_error *err)
{
	const struct op_step_info *info = op_step_info(step);

	if (!info)
		return error_set(err, ERR_FAILED, "internal error: no operation step %d", (int)step);
	json_array_append_new(json_object_get(op->report, "steps"), json_string(info->name));
	return journal_step(&op->journal, info->name, err);
}

int operation_confirm(struct operation *op, confirm_fn confirm, const char *question, struct cpactl_error *err)
{
	if (operation_step(op, OP_STEP_CONFIRM, err) < 0)
		return -1;
	if (!confirm || !confirm(op->ctx, question))
		return error_set(err, ERR_DECLINED,
				 "not confirmed: production was not touched (use --yes to confirm without a terminal)");
	return 0;
}

void operation_stamp(char *out, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, len, "%Y%m%d-%H%M%S", &tm);
}

void operation_init(struct operation *op, struct docker_client *c, struct cpa_target *t, const struct deployment *d,
		    json_t *report, say_fn say, void *ctx)
{
	memset(op, 0, sizeof(*op));
	op->c = c;
	op->t = t;
	op->d = d;
	op->report = report;
	op->say = say;
	op->ctx = ctx;
	operation_stamp(op->stamp, sizeof(op->stamp));
}

int operation_begin(struct operation *op, const char *kind, struct cpactl_error *err)
{
	struct journal *j = &op->journal;
	const struct cpa_target *t = op->t;

	if (journal_begin(op->d, kind, op->stamp, j, err) < 0)
		return -1;
	op->journaled = 1;
	journal_set(j, OP_KEY_CONTAINER, json_string(t->name));
	journal_set(j, OP_KEY_OLD_ID, json_string(t->id));
	journal_set(j, OP_KEY_CONFIG_HOST, t->config_host ? json_string(t->config_host) : NULL);
	/* Else on a volume: recovery writes it back through the engine. */
	if (!t->config_host && t->profile->cpa && discover_storage_persists(t->config_storage))
		journal_set(j, OP_KEY_CONFIG_IN_CONTAINER, json_string(t->config_in_container));
	journal_set(j, OP_KEY_PROFILE, json_string(t->profile->name));
	journal_set(j, OP_KEY_PROBE_PATH, t->probe_path ? json_string(t->probe_path) : NULL);
	journal_set(j, OP_KEY_API_PORT, json_integer(t->api_container_port));
	if (!t->profile->cpa)
		journal_set(j, OP_KEY_SETTINGS_PART, json_string(snapshot_settings_part(t)));
	return 0;
}

int operation_backup(struct operation *op, const struct op_backup *b, struct cpactl_error *err)
{
	char oid[41];
	int committed = 0;

	if (b->skip) {
		op->id = strdup(op->stamp);
		if (!op->id)
			return error_set(err, ERR_NOMEM, "out of memory");
		if (b->skipped)
			say_fmt(op->say, op->ctx, "%s", b->skipped);
		return 0;
	}
	if (operation_step(op, OP_STEP_BACKUP, err) < 0)
		return -1;
	if (snapshot_create(op->c, op->t, op->d, &b->snapshot, &op->snap, err) < 0) {
		if (b->snapshot.interrupted && *b->snapshot.interrupted) {
			/* The backup is the first thing an operation does. */
			error_clear(err);
			error_set(err, ERR_FAILED, "interrupted while the snapshot was taken; production was not touched");
		}
		return -1;
	}
	op->id = strdup(op->snap.id);
	if (!op->id)
		return error_set(err, ERR_NOMEM, "out of memory");
	journal_set(&op->journal, OP_KEY_SNAPSHOT, json_string(op->snap.id));
	json_object_set_new(op->report, b->report_key, json_string(op->snap.id));
	if (snapshot_commit_config(op->d, op->snap.path, op->snap.id, op->t, b->why, oid, &committed, err) < 0)
		return -1;
	say_fmt(op->say, op->ctx, "snapshot %s taken%s", op->snap.id, b->taken_of ? b->taken_of : "");
	return 0;
}

int operation_scratch(struct operation *op, const struct buf *orig, struct cpactl_error *err)
{
	struct cpactl_error ignored = CPACTL_ERROR_INIT;
	struct buf dir = BUF_INIT, path = BUF_INIT;
	int rc = -1;

	if (buf_appendf(&dir, "%s/scratch/%s", op->d->state_dir, op->id) < 0 ||
	    buf_appendf(&path, "%s/config.orig", dir.data) < 0) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	/* A dir left by a killed run of the same id is ours. */
	remove_tree(dir.data, &ignored);
	if (make_private_dirs(dir.data, err) < 0)
		goto out;
	free(op->scratch_dir);
	op->scratch_dir = buf_detach(&dir);
	journal_set(&op->journal, OP_KEY_SCRATCH_DIR, json_string(op->scratch_dir));
	rc = atomic_write_file(path.data, orig->data ? orig->data : "", orig->len, 0600, err);
out:
	buf_free(&dir);
	buf_free(&path);
	return rc;
}

void operation_end(struct operation *op, const char *outcome, int finished)
{
	struct cpactl_error ignored = CPACTL_ERROR_INIT;

	json_object_set_new(op->report, "outcome", json_string(outcome));
	if (op->journaled && finished) {
		if (op->scratch_dir)
			remove_tree(op->scratch_dir, &ignored);
		journal_finish(&op->journal, outcome, &ignored);
	}
	journal_release(&op->journal);
	snapshot_result_release(&op->snap);
	free(op->id);
	free(op->scratch_dir);
	op->id = op->scratch_dir = NULL;
	op->journaled = 0;
}

void operation_commit_config(const struct deployment *d, const char *data, size_t len, say_fn say, void *ctx,
			     const char *fmt, ...)
{
	struct cpactl_error e = CPACTL_ERROR_INIT;
	struct buf message = BUF_INIT;
	char oid[41];
	int committed = 0;
	va_list ap;

	va_start(ap, fmt);
	buf_vappendf(&message, fmt, ap);
	va_end(ap);
	if (history_commit(d->history_dir, data ? data : "", len, buf_str(&message), oid, &committed, &e) < 0)
		say_fmt(say, ctx, "warning: config.yaml could not be committed to the history: %s", e.message);
	buf_free(&message);
}

char *operation_kept_name(const char *name, enum op_kept role, const char *id)
{
	static const char *const roles[] = {
		[OP_KEPT_CANDIDATE] = "candidate",
		[OP_KEPT_NEW] = "new",
		[OP_KEPT_PREV] = "prev",
		[OP_KEPT_FAILED] = "failed",
	};
	struct buf b = BUF_INIT;
	int with_id = (role == OP_KEPT_PREV || role == OP_KEPT_FAILED) && id;

	if ((unsigned)role >= sizeof(roles) / sizeof(roles[0]))
		return NULL;
	if (buf_appendf(&b, "%s-cpactl-%s%s%s", name, roles[role], with_id ? "-" : "", with_id ? id : "") < 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b);
}

int operation_kept_role(const char *name, const char *production)
{
	static const char marker[] = "-cpactl-";
	const char *hit = NULL, *p, *rest;

	if (!name)
		return -1;
	if (*name == '/')
		name++;
	if (production) {
		size_t n = strlen(production);
		if (strncmp(name, production, n) != 0 || strncmp(name + n, marker, sizeof(marker) - 1) != 0)
			return -1;
		hit = name + n;
	} else {
		for (p = name; (p = strstr(p, marker)) != NULL; p++)
			hit = p;
	}
	if (!hit || hit == name)
		return -1;
	rest = hit + sizeof(marker) - 1;
	if (strcmp(rest, "candidate") == 0)
		return OP_KEPT_CANDIDATE;
	if (strcmp(rest, "new") == 0)
		return OP_KEPT_NEW;
	if (strncmp(rest, "prev-", 5) == 0 && rest[5])
		return OP_KEPT_PREV;
	if (strncmp(rest, "failed-", 7) == 0 && rest[7])
		return OP_KEPT_FAILED;
	return -1;
}
