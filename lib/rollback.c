/*
 * rollback.c - see rollback.h.
 *
 * Steps, journaled (promote.c names the promotion's own):
 *   preflight   the snapshot is found, verified, read; production's config
 *   backup      a snapshot of production as it is now (what undo restores)
 *   image       the image: kept container, engine, or blob store (load)
 *   auth-stage  the snapshot's auth files extracted beside the live dir
 *   confirm
 *   promote-*   as upgrade, with "promote-auth" after the old one stopped
 *   verify
 */
#include "rollback.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomic_file.h"
#include "auth_restore.h"
#include "buf.h"
#include "container_files.h"
#include "cpa.h"
#include "history.h"
#include "image_restore.h"
#include "journal.h"
#include "lineage.h"
#include "operation.h"
#include "probe.h"
#include "privilege.h"
#include "promote.h"
#include "recreate.h"
#include "secretmask.h"
#include "verdict.h"
#include "yamlconf.h"

#define PART_MAX ((size_t)64 * 1024 * 1024)

struct rollback {
	struct operation op;
	const struct rollback_options *o;
	const char *snap_id;
	const char *snap_path;
	json_t *snap_container;   /* the snapshot's container.json */
	json_t *snap_image;       /* its image-inspect.json */
	json_t *manifest;
	const char *snap_version; /* CPA version the snapshot recorded, or NULL */
	const char *image_id;     /* the snapshot's image id */
	char *image_ref;          /* what the recreated container names as its image */
	char *reuse_id;           /* the kept container that is the snapshot's, if any */
	char *reuse_name;
	json_t *auth_plan;
	json_t *plugins_plan;     /* the plugins dir: the snapshot's missing files */
	json_t *secrets;
	struct buf config_before; /* SECRET: live config.yaml */
	struct buf config_after;  /* SECRET: the snapshot's, when it differs */
	int config_changes;
	/* What the restored release is probed with when config_after replaces
	 * the live file: its tls.enable and first client key (SECRET). */
	int after_tls;
	char *after_key;
	enum op_undo undo;        /* of a failed promotion */
	int untouched;            /* the promotion stopped before production changed */
};

/* Messages for people go through the caller's say callback. */
#define sayf(r, ...) say_fmt((r)->op.say, (r)->op.ctx, __VA_ARGS__)

char *rollback_default_snapshot(const struct deployment *d, const struct cpa_target *t)
{
	struct buf path = BUF_INIT;
	json_t *last, *context;
	const char *op, *snap;
	char *out = NULL;

	buf_appendf(&path, "%s/last-upgraded.json", d->state_dir);
	last = json_load_file(path.data, 0, NULL);
	context = json_object_get(last, "context");
	op = json_string_value(json_object_get(last, "outcome"));
	snap = json_string_value(json_object_get(context, OP_KEY_SNAPSHOT));
	/* The last upgrade of this container, under its name or under the name
	 * it had then (its new container is this one or an ancestor). */
	if (op && strcmp(op, UPGRADE_UPGRADED) == 0 && snap &&
	    (!t || lineage_is_own(d, t, json_string_value(json_object_get(context, OP_KEY_CONTAINER)),
				  json_string_value(json_object_get(context, OP_KEY_NEW_ID)))))
		out = strdup(snap);
	json_decref(last);
	buf_free(&path);
	return out;
}

static json_t *load_part(const char *dir, const char *name, struct cpactl_error *err)
{
	struct buf path = BUF_INIT;
	json_error_t je;
	json_t *out;

	snapshot_part_path(&path, dir, name);
	out = json_load_file(buf_str(&path), 0, &je);
	if (!out)
		error_set(err, ERR_FAILED, "the snapshot's %s cannot be read: %s", name, je.text);
	buf_free(&path);
	return out;
}

/* Finds, verifies and reads the snapshot. */
static int read_snapshot(struct rollback *r, json_t *list, struct cpactl_error *err)
{
	json_t *item = NULL, *each, *report = NULL;
	size_t i;
	int ok = 0;

	json_array_foreach(list, i, each)
		if (strcmp(json_string_value(json_object_get(each, "id")), r->o->snapshot_id) == 0)
			item = each;
	if (!item)
		return error_set(err, ERR_NOT_FOUND, "no snapshot '%s' under '%s' (see 'cpactl list')", r->o->snapshot_id,
				 r->op.d->root);
	r->snap_id = json_string_value(json_object_get(item, "id"));
	r->snap_path = json_string_value(json_object_get(item, "path"));
	json_object_set_new(r->op.report, "location", json_incref(json_object_get(item, "location")));
	if (snapshot_verify(r->op.d, r->snap_id, &report, &ok, err) < 0)
		return -1;
	if (!ok) {
		json_t *problems = json_object_get(json_array_get(report, 0), "problems");
		json_object_set_new(r->op.report, "problems", json_incref(problems));
		error_set(err, ERR_FAILED, "snapshot %s fails verification (%s%s): refusing to roll back to it",
			  r->snap_id, json_string_value(json_array_get(problems, 0)),
			  json_array_size(problems) > 1 ? ", and more: see 'cpactl verify'" : "");
		json_decref(report);
		return -1;
	}
	json_decref(report);
	if (!(r->manifest = load_part(r->snap_path, SNAPSHOT_PART_MANIFEST, err)) ||
	    !(r->snap_container = load_part(r->snap_path, SNAPSHOT_PART_CONTAINER, err)) ||
	    !(r->snap_image = load_part(r->snap_path, SNAPSHOT_PART_IMAGE_INSPECT, err)))
		return -1;
	{
		/* Two containers that share a deployment root share backup/: a
		 * snapshot of the other one is not this container's past (its
		 * ports, name and mounts would be recreated here), unless the
		 * user named it and its definition fits (a renamed container). */
		json_t *baseline = json_object_get(r->manifest, "baseline");
		const char *of = json_string_value(json_object_get(baseline, "container"));
		char *why = NULL;
		enum lineage_match match = lineage_belongs(r->op.d, r->op.t, baseline, r->o->snapshot_named, &why);

		if (match == LINEAGE_FOREIGN) {
			error_set(err, ERR_FAILED,
				  "snapshot %s was taken of container '%s', not of '%s' (%s): the two share the "
				  "deployment root '%s'; roll '%s' back with --container %s, and give each its "
				  "own root (--root or CPACTL_ROOT)",
				  r->snap_id, of, r->op.t->name, why, r->op.d->root, of, of);
			free(why);
			return -1;
		}
		if (match == LINEAGE_FITS)
			sayf(r, "note: snapshot %s was taken of container '%s'; its config, auth dir and port are "
				"'%s''s, so it is rolled back to as named",
			     r->snap_id, of, r->op.t->name);
	}
	{
		/* A snapshot of another kind of proxy is not this container's past. */
		const char *kind = json_string_value(
			json_object_get(json_object_get(r->manifest, "baseline"), "profile"));
		if (!kind)
			kind = profile_cpa.name; /* snapshots from before profiles */
		if (strcmp(kind, r->op.t->profile->name) != 0)
			return error_set(err, ERR_FAILED,
					 "snapshot %s is of a %s deployment, and '%s' is %s: refusing to roll back "
					 "to it (name the profile with --profile if discovery guessed wrong)",
					 r->snap_id, kind, r->op.t->name, r->op.t->profile->name);
	}
	r->snap_version = json_string_value(json_object_get(r->manifest, "version"));
	r->image_id = json_string_value(json_object_get(json_object_get(r->manifest, "image"), "id"));
	if (!r->image_id)
		r->image_id = json_string_value(json_object_get(r->snap_container, "Image"));
	if (!r->image_id)
		return error_set(err, ERR_FAILED, "snapshot %s names no image", r->snap_id);
	json_object_set_new(r->op.report, "to",
			    json_pack("{s:s?,s:s?,s:s?}", "image",
				      json_string_value(json_object_get(json_object_get(r->manifest, "image"), "ref")),
				      "image_id", r->image_id, "version", r->snap_version));
	return 0;
}

/* The kept previous container of the upgrade that took the snapshot is the
 * snapshotted container itself: same id, stopped, image unchanged. */
static void find_kept_container(struct rollback *r)
{
	char *name = operation_kept_name(r->op.t->name, OP_KEPT_PREV, r->snap_id);
	const char *want = json_string_value(json_object_get(r->snap_container, "Id"));
	json_t *inspect = NULL;
	struct cpactl_error e = CPACTL_ERROR_INIT;

	if (want && docker_container_inspect(r->op.c, name, &inspect, &e) == 0) {
		const char *id = json_string_value(json_object_get(inspect, "Id"));
		const char *image = json_string_value(json_object_get(inspect, "Image"));
		int running = json_is_true(json_object_get(json_object_get(inspect, "State"), "Running"));
		if (id && strcmp(id, want) == 0 && image && strcmp(image, r->image_id) == 0 && !running &&
		    strcmp(id, r->op.t->id) != 0) {
			r->reuse_id = strdup(id);
			r->reuse_name = strdup(name);
		}
	}
	json_decref(inspect);
	free(name);
}

static int image_in_engine(struct rollback *r, const char *ref)
{
	json_t *inspect = NULL;
	struct cpactl_error e = CPACTL_ERROR_INIT;
	int same = 0;

	if (ref && docker_image_inspect(r->op.c, ref, &inspect, &e) == 0) {
		const char *id = json_string_value(json_object_get(inspect, "Id"));
		same = id && strcmp(id, r->image_id) == 0;
	}
	json_decref(inspect);
	return same;
}

/* The image for a recreated container: the snapshot's own reference when it
 * still names that image, else the rollback tag (discovery knows it). */
static int prepare_image(struct rollback *r, struct cpactl_error *err)
{
	const char *ref = json_string_value(json_object_get(json_object_get(r->manifest, "image"), "ref"));
	struct buf tag = BUF_INIT, path = BUF_INIT;
	char *eid = NULL, *erepo = NULL, *etag = NULL;
	int rc = -1;

	if (!image_in_engine(r, r->image_id)) {
		if (!json_is_true(json_object_get(json_object_get(r->manifest, "image"), "saved"))) {
			error_set(err, ERR_NOT_FOUND,
				  "the image of snapshot %s (%.19s) is gone from the engine and the snapshot was taken "
				  "with --no-image: pull it again, then retry",
				  r->snap_id, r->image_id);
			goto out;
		}
		sayf(r, "loading the image of snapshot %s from the blob store", r->snap_id);
		json_object_set_new(r->op.report, "path", json_string("blob-store"));
		if (operation_step(&r->op, OP_STEP_IMAGE_LOAD, err) < 0 ||
		    image_restore(r->op.c, r->op.d->store_dir, r->snap_path, r->image_id, r->o->interrupted,
				  r->o->load_progress, r->o->progress_ctx, err) < 0)
			goto out;
	}
	if (ref && image_in_engine(r, ref)) {
		r->image_ref = strdup(ref);
		rc = 0;
		goto out;
	}
	/* The same tag backup gives. */
	{
		char *full = snapshot_rollback_tag(r->op.t->name, r->snap_id);
		const char *colon = full ? strchr(full, ':') : NULL;
		if (!colon) {
			free(full);
			error_set(err, ERR_NOMEM, "out of memory");
			goto out;
		}
		buf_append_str(&tag, colon + 1);
		r->image_ref = full;
	}
	eid = docker_escape(r->image_id);
	erepo = docker_escape(ROLLBACK_REPO);
	etag = docker_escape(tag.data);
	if (!eid || !erepo || !etag || buf_appendf(&path, "/images/%s/tag?repo=%s&tag=%s", eid, erepo, etag) < 0 ||
	    docker_call_json(r->op.c, "POST", path.data, NULL, "image", NULL, NULL, err) < 0)
		goto out;
	if (ref)
		sayf(r, "note: '%s' names another image now; the container will run '%s', the same image as in "
			"the snapshot",
		     ref, r->image_ref);
	rc = 0;
out:
	free(eid);
	free(erepo);
	free(etag);
	buf_free(&tag);
	buf_free(&path);
	return rc;
}

/* Adds `more` (a new array, or NULL) to the strings redacted from quoted
 * log lines. */
static void add_secrets(struct rollback *r, json_t *more)
{
	if (!r->secrets)
		r->secrets = json_array();
	if (r->secrets && more)
		json_array_extend(r->secrets, more);
	json_decref(more);
}

static int prepare_config(struct rollback *r, struct cpactl_error *err)
{
	struct buf path = BUF_INIT;
	struct cpactl_error e = CPACTL_ERROR_INIT;
	char *data = NULL;
	size_t len = 0;
	json_t *doc = NULL;
	const char *part = snapshot_settings_part(r->op.t);
	int rc = -1;

	if (!r->op.t->config_host && !(r->op.t->profile->cpa && discover_storage_persists(r->op.t->config_storage))) {
		if (r->op.t->profile->cpa)
			sayf(r, "note: config.yaml of '%s' is not on a mount (it is %s): it is not restored",
			     r->op.t->name, r->op.t->config_storage ? r->op.t->config_storage : "unknown");
		else
			sayf(r, "note: no env file of '%s' on this machine: its settings come back with the snapshot's "
				"container environment only",
			     r->op.t->name);
		rc = 0;
		goto out;
	}
	if (container_read_file_at(r->op.c, r->op.t->id, r->op.t->config_in_container, r->op.t->config_host, CPA_CONFIG_MAX,
				   &r->config_before, NULL, err) < 0)
		goto out;
	/* The live file as it is: what undo and recover put back. */
	if (operation_scratch(&r->op, &r->config_before, err) < 0)
		goto out;
	/* The auth files' tokens: a provider's error answer can carry one into
	 * a log line that a verdict quotes. */
	add_secrets(r, auth_secret_values(r->op.t->auth_host));
	snapshot_part_path(&path, r->snap_path, part);
	if (read_small_file(buf_str(&path), CPA_CONFIG_MAX, &data, &len, &e) < 0) {
		sayf(r, "note: snapshot %s has no %s: the live one stays", r->snap_id, part);
		rc = 0;
		goto out;
	}
	if (!r->op.t->profile->cpa) {
		struct buf text = { data, len, len };
		add_secrets(r, env_secret_values(r->snap_container, &text));
	} else if (yaml_parse(data, len, "config.yaml", &doc, err) == 0) {
		struct cpa_config_summary sum;
		add_secrets(r, secret_values_of(doc));
		r->after_tls = r->op.t->tls;
		if (cpa_config_summarize(doc, &sum) == 0) {
			r->after_tls = sum.tls;
			r->after_key = sum.first_api_key ? strdup(sum.first_api_key) : NULL;
			cpa_config_summary_release(&sum);
		}
	} else
		error_clear(err);
	if (len != r->config_before.len || memcmp(data, r->config_before.data ? r->config_before.data : "", len) != 0) {
		buf_append(&r->config_after, data, len);
		r->config_changes = 1;
	}
	json_object_set_new(r->op.report, "config_changed", json_boolean(r->config_changes));
	rc = 0;
out:
	if (data)
		memset(data, 0, len);
	free(data);
	json_decref(doc);
	buf_free(&path);
	return rc;
}

/* CPA's plugins: a release from v7.2.37 removes the older files of a plugin,
 * so the release a rollback brings back may miss its own.  The snapshot's
 * files that are missing now come back (never replacing or removing one:
 * the plugins the running release loads stay). */
static int prepare_plugins(struct rollback *r, struct cpactl_error *err)
{
	const char *dir = r->op.t->profile->plugins_dir;
	const char *host =
		dir && docker_client_is_local(r->op.c) ? recreate_bind_source_at(r->op.t->inspect, dir) : NULL;
	struct buf tar = BUF_INIT;
	json_t *names, *m;
	size_t i;
	int rc = -1;

	snapshot_part_path(&tar, r->snap_path, SNAPSHOT_PART_PLUGINS);
	if (!dir || access(buf_str(&tar), R_OK) != 0) {
		rc = 0;
		goto out;
	}
	if (!host) {
		sayf(r, "note: the plugins dir of '%s' is not a bind mount on this machine: the snapshot's plugins "
			"are not restored",
		     r->op.t->name);
		rc = 0;
		goto out;
	}
	if (operation_step(&r->op, OP_STEP_AUTH_STAGE, err) < 0)
		goto out;
	if (auth_stage(tar.data, host, r->op.id, 0, &r->plugins_plan, err) < 0) {
		if (err->kind == ERR_CHECK || err->kind == ERR_PARSE)
			err->kind = ERR_FAILED;
		goto out;
	}
	journal_set(&r->op.journal, OP_KEY_PLUGINS_PLAN, json_incref(r->plugins_plan));
	names = json_array();
	json_array_foreach(json_object_get(r->plugins_plan, "missing"), i, m)
		json_array_append(names, json_object_get(m, "name"));
	json_object_set_new(r->op.report, "plugins",
			    json_pack("{s:o,s:O}", "missing", names, "differ", json_object_get(r->plugins_plan, "differ")));
	if (json_array_size(names))
		sayf(r, "plugins: %zu file(s) of the snapshot that the plugins dir lacks now come back",
		     json_array_size(names));
	rc = 0;
out:
	buf_free(&tar);
	return rc;
}

static int prepare_auth(struct rollback *r, struct cpactl_error *err)
{
	struct buf tar = BUF_INIT;
	json_t *summary;
	int rc = -1;

	if (!r->op.t->auth_in_container)
		return 0; /* a profile without an auth dir */
	if (!r->op.t->auth_host) {
		sayf(r, "note: the auth dir of '%s' is not a bind mount on this machine: auth files are not restored",
		     r->op.t->name);
		return 0;
	}
	snapshot_part_path(&tar, r->snap_path, SNAPSHOT_PART_AUTH);
	if (access(buf_str(&tar), R_OK) != 0) {
		rc = 0;
		goto out;
	}
	if (operation_step(&r->op, OP_STEP_AUTH_STAGE, err) < 0)
		goto out;
	if (auth_stage(tar.data, r->op.t->auth_host, r->op.id, r->o->auth_exact, &r->auth_plan, err) < 0) {
		/* A hostile or damaged tar refuses the snapshot, like verify does. */
		if (err->kind == ERR_CHECK || err->kind == ERR_PARSE)
			err->kind = ERR_FAILED;
		goto out;
	}
	journal_set(&r->op.journal, OP_KEY_AUTH_PLAN, json_incref(r->auth_plan));
	summary = json_pack("{s:s,s:O,s:O,s:O}", "mode", r->o->auth_exact ? "exact" : "missing-only", "missing",
			    json_object_get(r->auth_plan, "missing"), "differ", json_object_get(r->auth_plan, "differ"),
			    "extra", json_object_get(r->auth_plan, "extra"));
	/* Names only: the plan's inode numbers are for recovery. */
	{
		json_t *names = json_array(), *m;
		size_t i;
		json_array_foreach(json_object_get(summary, "missing"), i, m)
			json_array_append(names, json_object_get(m, "name"));
		json_object_set_new(summary, "missing", names);
	}
	json_object_set_new(r->op.report, "auth", summary);
	rc = 0;
out:
	buf_free(&tar);
	return rc;
}

static void say_auth(struct rollback *r)
{
	json_t *auth = json_object_get(r->op.report, "auth"), *n;
	size_t i;

	if (!auth)
		return;
	if (r->o->auth_exact) {
		sayf(r, "auth dir: restored exactly as in snapshot %s (%zu files differed, %zu were missing, %zu not in "
			"the snapshot)",
		     r->snap_id, json_array_size(json_object_get(auth, "differ")),
		     json_array_size(json_object_get(auth, "missing")), json_array_size(json_object_get(auth, "extra")));
		return;
	}
	json_array_foreach(json_object_get(auth, "missing"), i, n)
		sayf(r, "auth dir: restored the missing file '%s'", json_string_value(n));
	json_array_foreach(json_object_get(auth, "differ"), i, n)
		sayf(r, "auth dir: '%s' differs from the snapshot and was kept (tokens rotate; --auth restores the "
			"snapshot's exactly)",
		     json_string_value(n));
}

static int rollback_judge(void *ctx, const char *id, int old_release, struct verdict *v, struct cpactl_error *err)
{
	struct rollback *r = ctx;
	struct judge_options jo;

	memset(&jo, 0, sizeof(jo));
	jo.timeout_ms = r->o->timeout_ms;
	jo.host = probe_host_for_binding(r->op.t->api_host_ip);
	jo.port = r->op.t->api_host_port;
	/* The restored release runs the snapshot's config.yaml when it replaced
	 * the live one: its scheme and its client key; the old one the live. */
	jo.tls = r->op.t->tls;
	jo.probe_key = r->op.t->probe_key;
	if (!old_release && r->config_changes && r->op.t->profile->cpa) {
		jo.tls = r->after_tls;
		if (r->after_key)
			jo.probe_key = r->after_key;
	}
	jo.expected_clients = -1;
	jo.expected_version = old_release ? NULL : r->snap_version;
	jo.tty = r->op.t->tty;
	jo.profile = r->op.t->profile;
	jo.probe_path = r->op.t->probe_path;
	jo.secrets = r->secrets;
	jo.interrupted = old_release ? NULL : r->o->interrupted;
	return judge_container(r->op.c, id, &jo, v, err);
}

/* While no container runs: the auth files, then the plugins the snapshot
 * had and the dir lacks now (undone in the reverse order). */
static int rollback_hook(void *ctx, int undo, struct cpactl_error *err)
{
	struct rollback *r = ctx;

	if (undo && r->plugins_plan && auth_apply(r->plugins_plan, 0, err) < 0)
		return -1;
	if (r->auth_plan && auth_apply(r->auth_plan, !undo, err) < 0)
		return -1;
	if (!undo && r->plugins_plan && auth_apply(r->plugins_plan, 1, err) < 0)
		return -1;
	return 0;
}

static int promote(struct rollback *r, struct cpactl_error *err)
{
	struct recreate_options ro;
	struct recreate_plan plan;
	struct promotion p;
	json_t *old_restart = json_object_get(json_object_get(r->op.t->inspect, "HostConfig"), "RestartPolicy");
	json_t *no = json_pack("{s:s}", "Name", "no");
	char *prev = operation_kept_name(r->op.t->name, OP_KEPT_PREV, r->op.id);
	char *failed = operation_kept_name(r->op.t->name, OP_KEPT_FAILED, r->op.id);
	int rc = -1;

	memset(&plan, 0, sizeof(plan));
	memset(&ro, 0, sizeof(ro));
	promotion_init(&p, &r->op);
	if (!r->reuse_id) {
		ro.role = RECREATE_PRODUCTION;
		ro.new_image = r->image_ref;
		/* Under cpactl-rollback:<name>-<ID>, discovery would take any
		 * proxy for CPA: the label keeps its profile. */
		if (!r->op.t->profile->cpa && strncmp(r->image_ref, ROLLBACK_REPO ":", strlen(ROLLBACK_REPO) + 1) == 0)
			ro.profile_label = r->op.t->profile->name;
		if (recreate_plan_build(r->snap_container, r->snap_image, &ro, &plan, err) < 0)
			goto out;
	}
	p.old_restart = old_restart ? old_restart : no;
	p.interrupted = r->o->interrupted;
	p.config_before = &r->config_before;
	p.config_after = r->config_changes ? &r->config_after : NULL;
	p.create_body = plan.create_body;
	p.extra_networks = plan.extra_networks;
	p.reuse_id = r->reuse_id;
	p.reuse_restart = json_object_get(json_object_get(r->snap_container, "HostConfig"), "RestartPolicy");
	p.prev_name = prev;
	/* A kept container that fails goes back to being the kept one. */
	p.failed_name = r->reuse_id ? r->reuse_name : failed;
	if ((r->auth_plan && (r->o->auth_exact || json_array_size(json_object_get(r->auth_plan, "missing")))) ||
	    (r->plugins_plan && json_array_size(json_object_get(r->plugins_plan, "missing")))) {
		p.hook = rollback_hook;
		p.hook_step = OP_STEP_PROMOTE_AUTH;
	}
	p.judge = rollback_judge;
	p.ctx = r;
	journal_set(&r->op.journal, OP_KEY_OLD_RESTART, json_incref(p.old_restart));
	if (p.reuse_restart)
		journal_set(&r->op.journal, OP_KEY_NEW_RESTART, json_incref(p.reuse_restart));
	rc = promote_run(&p, err);
	r->undo = p.undo;
	r->untouched = p.untouched;
	json_object_set_new(r->op.report, "previous_container", json_string(prev));
out:
	promotion_release(&p);
	recreate_plan_release(&plan);
	json_decref(no);
	free(prev);
	free(failed);
	return rc;
}

int rollback_run(struct docker_client *c, struct cpa_target *t, const struct deployment *d,
		 const struct rollback_options *o, json_t **report, struct cpactl_error *err)
{
	struct rollback r;
	const struct op_backup b = {
		.skip = o->no_backup || o->dry_run,
		.why = "backup before rollback",
		.report_key = "backup",
		.taken_of = " of the current state",
		.snapshot = { .cpactl_version = o->cpactl_version, .interrupted = o->interrupted,
			      .progress = o->backup_progress, .progress_ctx = o->progress_ctx },
	};
	json_t *list = NULL;
	char question[600];
	const char *outcome = ROLLBACK_REFUSED, *marker;
	int rc = -1, promoted = 0;

	memset(&r, 0, sizeof(r));
	r.o = o;
	*report = json_pack("{s:s,s:s,s:s?,s:o,s:[]}", "outcome", ROLLBACK_REFUSED, "container", t->name, "snapshot",
			    o->snapshot_id, "from",
			    json_pack("{s:s?,s:s?,s:s?}", "image", t->image, "image_id", t->image_id, "version", t->version),
			    "steps");
	operation_init(&r.op, c, t, d, *report, o->say, o->ctx);
	if (!*report)
		return error_set(err, ERR_NOMEM, "out of memory");
	if (!o->snapshot_id) {
		error_set(err, ERR_USAGE, "name the snapshot to roll back to (see 'cpactl list')");
		goto out;
	}

	/* 1. The snapshot, found, verified and read; the journal. */
	if (snapshot_list(d, &list, err) < 0 || read_snapshot(&r, list, err) < 0)
		goto out;
	if (o->auth_exact && o->no_backup) {
		error_set(err, ERR_USAGE, "--auth replaces the live auth dir: it needs the backup that --no-backup skips");
		goto out;
	}
	if (t->profile->cpa && (marker = cpa_cluster_marker(t->inspect)) != NULL) {
		/* Its config and client keys live in CLIProxyAPIHome: a restored
		 * release could never be verified, every rollback would undo itself. */
		const char *image =
			json_string_value(json_object_get(json_object_get(r.snap_container, "Config"), "Image"));
		error_set(err, ERR_FAILED,
			  "'%s' is a CPA cluster node (%s): its config and client keys come from CLIProxyAPIHome, "
			  "so cpactl cannot verify a restored release and does not roll cluster nodes back.  "
			  "Snapshot %s ran %s: set that image in the cluster's compose file (CLI_PROXY_IMAGE) and "
			  "run docker compose up -d",
			  t->name, marker, r.snap_id, image ? image : r.image_id);
		goto out;
	}
	{
		/* A rollback never widens what the container may do on the host
		 * without a person saying so: an old definition may be looser
		 * than today's, or forged. */
		json_t *wider = privilege_widening(t->inspect, r.snap_container), *what;
		size_t k;
		int refused = 0;
		if (wider && json_array_size(wider)) {
			json_object_set_new(r.op.report, "widening", json_incref(wider));
			json_array_foreach(wider, k, what)
				sayf(&r, "snapshot %s's container %s", r.snap_id, json_string_value(what));
			snprintf(question, sizeof(question),
				 "snapshot %s lets '%s' do more on the host than it does now (above): restore it anyway?",
				 r.snap_id, t->name);
			if (!o->allow_wider) {
				error_set(err, ERR_FAILED,
					  "snapshot %s would let '%s' do more on the host than it does now (%s%s): "
					  "refusing; --allow-wider restores it anyway, once a person confirms at a "
					  "terminal (--yes does not)",
					  r.snap_id, t->name, json_string_value(json_array_get(wider, 0)),
					  json_array_size(wider) > 1 ? ", and more" : "");
				refused = 1;
			} else if (!o->dry_run && (!o->confirm_always || !o->confirm_always(o->ctx, question))) {
				error_set(err, ERR_DECLINED,
					  "the wider definition of snapshot %s was not confirmed by a person at a "
					  "terminal: production was not touched",
					  r.snap_id);
				outcome = ROLLBACK_DECLINED;
				refused = 1;
			}
		}
		json_decref(wider);
		if (refused)
			goto out;
	}
	if (operation_begin(&r.op, "rollback", err) < 0)
		goto out;
	journal_set(&r.op.journal, OP_KEY_TARGET_SNAPSHOT, json_string(r.snap_id));
	if (operation_step(&r.op, OP_STEP_PREFLIGHT, err) < 0)
		goto out;
	if (t->image_id && strcmp(t->image_id, r.image_id) == 0 && !o->auth_exact)
		sayf(&r, "note: '%s' already runs the image of snapshot %s; its container, config and auth are "
			 "restored",
		     t->name, r.snap_id);

	/* 2. The backup: what an undo and `cpactl recover` put back; the
	 * snapshot's config beside the live one. */
	if (operation_backup(&r.op, &b, err) < 0 || prepare_config(&r, err) < 0)
		goto out;

	/* 3. The image: the fastest source that is exactly the snapshot's. */
	if (operation_step(&r.op, OP_STEP_IMAGE, err) < 0)
		goto out;
	find_kept_container(&r);
	if (r.reuse_id) {
		json_object_set_new(r.op.report, "path", json_string("kept-container"));
		sayf(&r, "fast path: '%s' is the snapshotted container itself", r.reuse_name);
	} else {
		json_object_set_new(r.op.report, "path", json_string("image"));
		if (!o->dry_run && prepare_image(&r, err) < 0)
			goto out;
	}

	/* 4. The auth files staged beside the live dir. */
	if (!o->dry_run && (prepare_auth(&r, err) < 0 || prepare_plugins(&r, err) < 0))
		goto out;

	/* 5. Dry run, or confirm. */
	if (o->dry_run) {
		sayf(&r, "dry run: '%s' would be brought back to snapshot %s (%s)%s; nothing was changed", t->name,
		     r.snap_id, r.snap_version ? r.snap_version : "version unknown",
		     r.config_changes ? (t->profile->cpa ? ", config.yaml replaced" : ", env file replaced") : "");
		outcome = ROLLBACK_DRY_RUN;
		rc = 0;
		goto out;
	}
	snprintf(question, sizeof(question), "replace production '%s' (%s) with snapshot %s (%s)%s?", t->name,
		 t->version ? t->version : "?", r.snap_id, r.snap_version ? r.snap_version : "?",
		 o->auth_exact ? ", restoring the auth dir exactly" : "");
	if (operation_confirm(&r.op, o->confirm, question, err) < 0) {
		if (err->kind == ERR_DECLINED)
			outcome = ROLLBACK_DECLINED;
		goto out;
	}

	/* 6. Promote and verify, or put the replaced release back. */
	promoted = 1;
	if (promote(&r, err) < 0) {
		/* No undo ran: the new container was never in production's place. */
		outcome = r.undo == OP_UNDO_DONE ? ROLLBACK_UNDONE
			  : r.undo == OP_UNDO_FAILED ? UPGRADE_ROLLBACK_FAILED : ROLLBACK_REFUSED;
		goto out;
	}
	say_auth(&r);
	if (r.config_changes)
		operation_commit_config(d, r.config_after.data, r.config_after.len, o->say, o->ctx, "rollback to %s: CPA %s\n",
					r.snap_id, r.snap_version ? r.snap_version : "?");
	sayf(&r, "rolled back: '%s' runs snapshot %s (%s) again, after %.0f ms without service; the replaced "
		 "container is kept stopped as '%s'",
	     t->name, r.snap_id, r.snap_version ? r.snap_version : "version unknown",
	     json_real_value(json_object_get(r.op.report, "downtime_ms")),
	     json_string_value(json_object_get(r.op.report, "previous_container")));
	outcome = ROLLBACK_DONE;
	rc = 0;
out:
	/* A failure that left production neither old nor new stays in the
	 * journal for `cpactl recover`. */
	if ((rc == 0 || !promoted || r.untouched || r.undo == OP_UNDO_DONE) && r.auth_plan && r.op.journaled)
		auth_stage_remove(r.auth_plan);
	if ((rc == 0 || !promoted || r.untouched || r.undo == OP_UNDO_DONE) && r.plugins_plan && r.op.journaled)
		auth_stage_remove(r.plugins_plan);
	operation_end(&r.op, outcome, rc == 0 || !promoted || r.untouched || r.undo == OP_UNDO_DONE);
	json_decref(list);
	json_decref(r.snap_container);
	json_decref(r.snap_image);
	json_decref(r.manifest);
	json_decref(r.auth_plan);
	json_decref(r.plugins_plan);
	json_decref(r.secrets);
	buf_wipe(&r.config_before);
	buf_wipe(&r.config_after);
	if (r.after_key) {
		memset(r.after_key, 0, strlen(r.after_key));
		free(r.after_key);
	}
	free(r.image_ref);
	free(r.reuse_id);
	free(r.reuse_name);
	return rc;
}
