/*
 * upgrade.c - see upgrade.h.
 *
 * The steps, in the order of the issue and the runbook:
 *   1 journal (the caller holds the lock)   6 judge the candidate
 *   2 preflight                             7 config migration diff
 *   3 backup                                8 remove candidate, confirm
 *   4 pull, "already up to date"            9 promote: create new, stop old,
 *   5 candidate on scratch copies             rename both, start new
 *                                          10 verify, else roll back by itself
 */
#include "upgrade.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "tar_extract.h"
#include "atomic_file.h"
#include "buf.h"
#include "container_files.h"
#include "cpa.h"
#include "history.h"
#include "journal.h"
#include "operation.h"
#include "probe.h"
#include "promote.h"
#include "recreate.h"
#include "secretmask.h"
#include "verdict.h"
#include "yamlconf.h"


struct upgrade {
	struct docker_client *c;
	struct cpa_target *t;
	const struct deployment *d;
	const struct upgrade_options *o;
	struct journal journal;
	json_t *report;
	json_t *old_image;        /* inspect of the running image */
	json_t *new_image;        /* inspect of the target image */
	json_t *secrets;          /* config secret values, for redaction */
	json_t *prod_models;      /* production's /v1/models ids, or NULL */
	long prod_clients;
	char *target_ref;
	char *op_id;              /* snapshot id, or a time stamp with --no-backup */
	char *scratch_dir;
	struct buf config_before; /* live config.yaml bytes (SECRET) */
	struct buf config_after;  /* the candidate's rewrite, when it made one (SECRET) */
	int config_migrated;      /* production gets config_after at promotion */
	const struct buf *seed;   /* what the candidate starts with: config_before, or the applied file */
	struct buf applied;       /* config apply: the new file (SECRET) */
	char *applied_key;        /* config apply: its first api key (SECRET), for the probes */
	int judging_old;          /* the old release is judged: with its own key */
	char *candidate_id;
	char *new_id;
	char *prev_name;
	json_t *old_restart;      /* the old container's restart policy */
	const char *expected_version; /* the version the target should report, or NULL */
};

/* Messages for people go through the caller's say callback. */
#define sayf(u, ...) say_fmt((u)->o->say, (u)->o->ctx, __VA_ARGS__)

/* --- preflight --------------------------------------------------------------- */

static int port_is_free(int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	if (fd < 0)
		return 0;
	/* SO_REUSEADDR: connections of an earlier candidate linger in TIME_WAIT
	 * on the port; only a listener makes it busy, as for docker-proxy. */
	{
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	}
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

static int valid_reference(const char *ref)
{
	const char *slash, *colon;

	if (!ref || !*ref || strlen(ref) > 255)
		return 0;
	for (const char *p = ref; *p; p++)
		if (*p <= ' ' || *p == '"' || *p == '\\')
			return 0;
	/* The repository part is lower case. */
	slash = strrchr(ref, '/');
	colon = strrchr(ref, ':');
	for (const char *p = ref; *p && *p != '@' && !(colon && p == colon && (!slash || colon > slash)); p++)
		if (*p >= 'A' && *p <= 'Z')
			return 0;
	return 1;
}

static char *default_target(const char *image)
{
	struct buf b = BUF_INIT;
	const char *at = strchr(image, '@'), *slash = strrchr(image, '/'), *colon = strrchr(image, ':');
	size_t n = strlen(image);

	if (at)
		n = (size_t)(at - image);
	else if (colon && (!slash || colon > slash))
		n = (size_t)(colon - image);
	buf_append(&b, image, n);
	buf_append_str(&b, ":latest");
	return buf_detach(&b);
}

static int preflight(struct upgrade *u, struct cpactl_error *err)
{
	struct statvfs vfs;
	json_t *problem;
	size_t i;

	if (!u->t->state || strcmp(u->t->state, "running") != 0)
		sayf(u, "note: production '%s' is %s", u->t->name, u->t->state ? u->t->state : "not running");
	if (!u->t->config_ok) {
		json_array_foreach(u->t->problems, i, problem)
			return error_set(err, ERR_FAILED, "preflight: %s", json_string_value(problem));
		return error_set(err, ERR_FAILED, "preflight: config.yaml of '%s' cannot be read", u->t->name);
	}
	if (!u->t->profile->cpa) {
		/* A mounted env file gets a scratch copy: it must be on this machine. */
		if (u->t->config_in_container && !u->t->config_host)
			return error_set(err, ERR_USAGE,
					 "preflight: the env file of '%s' must be a bind mount on this machine "
					 "for the candidate's scratch copy (it is %s)",
					 u->t->name, u->t->config_storage);
		if (!u->t->api_container_port)
			return error_set(err, ERR_USAGE, "preflight: the API port of '%s' is unknown: name it with "
							 "--api-port", u->t->name);
	} else if (!u->t->config_host || !u->t->auth_host)
		return error_set(err, ERR_USAGE,
				 "preflight: config.yaml and the auth dir of '%s' must be bind mounts on this "
				 "machine for the candidate's scratch copies (config %s, auth %s)",
				 u->t->name, u->t->config_storage, u->t->auth_storage ? u->t->auth_storage : "?");
	if (u->o->test_port <= 0 || u->o->test_port > 65535)
		return error_set(err, ERR_USAGE, "preflight: --test-port %d is not a port", u->o->test_port);
	if (!port_is_free(u->o->test_port))
		return error_set(err, ERR_FAILED,
				 "preflight: the test port %d is in use on 127.0.0.1; choose another with "
				 "--test-port",
				 u->o->test_port);
	if (!valid_reference(u->target_ref))
		return error_set(err, ERR_USAGE, "preflight: '%s' is not a valid image reference", u->target_ref);
	if (!u->o->no_backup && statvfs(u->d->root, &vfs) == 0) {
		/* The snapshot needs at most the image once more plus the small parts. */
		unsigned long long room = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
		unsigned long long need = (unsigned long long)json_integer_value(json_object_get(u->old_image, "Size")) +
					  (64ULL << 20);
		if (room < need)
			return error_set(err, ERR_FAILED,
					 "preflight: '%s' has %llu MB free, a snapshot may need %llu MB; free space "
					 "or use --no-backup",
					 u->d->root, room >> 20, need >> 20);
	}
	return 0;
}

/* What production serves now: the bar the candidate must clear. */
static void production_baseline(struct upgrade *u)
{
	struct probe_result p;
	struct cpactl_error e = CPACTL_ERROR_INIT;
	struct buf logs = BUF_INIT;

	u->prod_clients = -1;
	if (u->t->has_api_port &&
	    probe_get(probe_host_for_binding(u->t->api_host_ip), u->t->api_host_port, u->t->probe_path, u->t->probe_key,
		      5000, &p, &e) == 0 &&
	    p.http_status == 200 && p.models)
		u->prod_models = json_incref(p.models);
	else if (u->t->profile->cpa)
		sayf(u, "note: production does not answer /v1/models now: its model list is not compared");
	probe_result_release(&p);
	error_clear(&e);
	if (u->t->profile->cpa && docker_container_logs(u->c, u->t->id, 5000, u->t->tty, &logs, &e) == 0)
		u->prod_clients = cpa_loaded_clients(buf_str(&logs));
	buf_free(&logs);
}

/* --- the candidate ----------------------------------------------------------- */

static int write_private(const char *path, const char *data, size_t len, struct cpactl_error *err)
{
	return atomic_write_file(path, data, len, 0600, err);
}

/* ROOT/.cpactl/scratch/<op>/{config.yaml,auth/}: copies the candidate may
 * rewrite and refresh as it likes. */
static int prepare_scratch(struct upgrade *u, struct cpactl_error *err)
{
	struct buf dir = BUF_INIT, cfg = BUF_INIT, auth = BUF_INIT, tar = BUF_INIT, marker = BUF_INIT;
	const char *auth_in = u->t->auth_in_container;
	const char *base = auth_in ? strrchr(auth_in, '/') : NULL;
	int rc = -1;

	base = base && base[1] ? base + 1 : auth_in;
	buf_appendf(&dir, "%s/scratch/%s", u->d->state_dir, u->op_id);
	buf_appendf(&cfg, "%s/config.yaml", dir.data);
	buf_appendf(&auth, "%s/auth", dir.data);
	buf_appendf(&tar, "%s/auth.tar", dir.data);
	buf_appendf(&marker, "%s/.cpactl-scratch", auth.data);
	{
		struct cpactl_error ignored = CPACTL_ERROR_INIT;
		remove_tree(dir.data, &ignored);
	}
	if (make_private_dirs(auth.data, err) < 0)
		goto out;
	u->scratch_dir = strdup(dir.data);
	journal_set(&u->journal, OP_KEY_SCRATCH_DIR, json_string(dir.data));
	if (write_private(cfg.data, u->seed->data ? u->seed->data : "", u->seed->len, err) < 0)
		goto out;
	/* The original, untouched: what recovery puts back if a crash comes
	 * after the migrated file replaced production's. */
	{
		struct buf orig = BUF_INIT;
		int r;
		buf_appendf(&orig, "%s/config.orig", dir.data);
		r = write_private(orig.data, u->config_before.data ? u->config_before.data : "", u->config_before.len, err);
		buf_free(&orig);
		if (r < 0)
			goto out;
	}
	if (!auth_in) { /* a profile without an auth dir (an env-file proxy) */
		rc = 0;
		goto out;
	}
	if (container_archive_to_file(u->c, u->t->id, auth_in, tar.data, u->o->interrupted, NULL, err) < 0)
		goto out;
	if (tar_extract_into(tar.data, auth.data, base, err) < 0)
		goto out;
	unlink(tar.data);
	/* Tells a release (and a person) that this is a throw-away copy. */
	if (write_private(marker.data, "cpactl scratch copy: not production\n", 36, err) < 0)
		goto out;
	rc = 0;
out:
	buf_free(&dir);
	buf_free(&cfg);
	buf_free(&auth);
	buf_free(&tar);
	buf_free(&marker);
	return rc;
}

static void remove_scratch(struct upgrade *u)
{
	struct cpactl_error ignored = CPACTL_ERROR_INIT;
	if (u->scratch_dir)
		remove_tree(u->scratch_dir, &ignored);
}

static int judge(struct upgrade *u, const char *id, const char *host, int port, const char *expected_version,
		 struct verdict *v, struct cpactl_error *err)
{
	struct judge_options jo;

	memset(&jo, 0, sizeof(jo));
	jo.timeout_ms = u->o->timeout_ms;
	jo.host = host;
	jo.port = port;
	jo.probe_key = u->applied_key && !u->judging_old ? u->applied_key : u->t->probe_key;
	jo.expected_models = u->prod_models;
	jo.expected_clients = u->prod_clients;
	jo.expected_version = expected_version;
	jo.allow_missing_models = u->o->allow_missing_models;
	jo.allow_fewer_clients = u->o->allow_fewer_clients;
	jo.tty = u->t->tty;
	jo.profile = u->t->profile;
	jo.probe_path = u->t->probe_path;
	jo.secrets = u->secrets;
	jo.interrupted = u->o->interrupted;
	return judge_container(u->c, id, &jo, v, err);
}


static json_t *masked_diff(struct upgrade *u, struct cpactl_error *err)
{
	struct buf a = BUF_INIT, b = BUF_INIT, patch = BUF_INIT;
	json_t *out = NULL;

	(void)u;
	if (profile_mask_settings(u->t->profile, u->config_before.data ? u->config_before.data : "",
				  u->config_before.len, &a, err) < 0 ||
	    profile_mask_settings(u->t->profile, u->config_after.data ? u->config_after.data : "", u->config_after.len,
				  &b, err) < 0 ||
	    history_diff("config.yaml", a.data ? a.data : "", a.len, "config.yaml (migrated)", b.data ? b.data : "", b.len,
			 &patch, err) < 0)
		goto out;
	out = json_string(buf_str(&patch));
	if (!out) /* json_string refuses text that is not UTF-8 */
		error_set(err, ERR_PARSE, "config.yaml is not UTF-8 text: its diff cannot be shown");
out:
	buf_free(&a);
	buf_free(&b);
	buf_free(&patch);
	return out;
}

static int run_candidate(struct upgrade *u, const char *expected_version, struct verdict *v,
			 struct cpactl_error *err)
{
	struct recreate_options ro;
	struct recreate_plan plan;
	char *name = operation_kept_name(u->t->name, OP_KEPT_CANDIDATE, NULL);
	struct buf cfg = BUF_INIT, auth = BUF_INIT, after_path = BUF_INIT;
	struct cpactl_error e = CPACTL_ERROR_INIT;
	int rc = -1;

	memset(&plan, 0, sizeof(plan));
	memset(&ro, 0, sizeof(ro));
	buf_appendf(&cfg, "%s/config.yaml", u->scratch_dir);
	buf_appendf(&auth, "%s/auth", u->scratch_dir);
	ro.role = RECREATE_CANDIDATE;
	ro.new_image = u->target_ref;
	ro.container_port = u->t->api_container_port;
	ro.test_port = u->o->test_port;
	ro.config_in_container = u->t->config_in_container;
	ro.auth_in_container = u->t->auth_in_container;
	if (!u->t->profile->cpa && !u->t->config_in_container)
		ro.config_in_container = NULL;
	ro.scratch_config = cfg.data;
	ro.scratch_auth = auth.data;
	if (recreate_plan_build(u->t->inspect, u->old_image, &ro, &plan, err) < 0)
		goto out;
	/* A candidate left by a killed run is ours to remove. */
	docker_container_remove(u->c, name, 1, 1, &e);
	error_clear(&e);
	if (operation_step(&u->journal, u->report, OP_STEP_CANDIDATE_CREATE, err) < 0 ||
	    docker_container_create(u->c, name, plan.create_body, &u->candidate_id, err) < 0)
		goto out;
	journal_set(&u->journal, OP_KEY_CANDIDATE_ID, json_string(u->candidate_id));
	if (operation_step(&u->journal, u->report, OP_STEP_CANDIDATE_START, err) < 0)
		goto out;
	if (docker_container_start(u->c, u->candidate_id, err) < 0) {
		/* A start failure is a verdict too (bad mounts, bad command). */
		v->reasons = json_array();
		v->notes = json_array();
		json_array_append_new(v->reasons, json_pack("s", err->message));
		error_clear(err);
		v->ok = 0;
	} else {
		sayf(u, "candidate %s started on 127.0.0.1:%d (%s)", u->target_ref, u->o->test_port,
		     u->t->profile->cpa ? "scratch copies of config.yaml and the auth dir"
		     : u->t->config_in_container ? "a scratch copy of the env file" : "production's environment");
		if (operation_step(&u->journal, u->report, OP_STEP_CANDIDATE_JUDGE, err) < 0 ||
		    judge(u, u->candidate_id, "127.0.0.1", u->o->test_port, expected_version, v, err) < 0)
			goto out;
	}
	/* Did it rewrite its config.yaml (a migration of the new version)? */
	buf_appendf(&after_path, "%s/config.yaml", u->scratch_dir);
	{
		char *data = NULL;
		size_t len = 0;
		if (read_small_file(after_path.data, CPA_CONFIG_MAX, &data, &len, &e) == 0) {
			if (len != u->seed->len || memcmp(data, u->seed->data ? u->seed->data : "", len) != 0) {
				buf_append(&u->config_after, data, len);
				u->config_migrated = 1;
			}
			memset(data, 0, len);
			free(data);
		}
	}
	rc = 0;
out:
	if (u->candidate_id) {
		struct cpactl_error ignored = CPACTL_ERROR_INIT;
		operation_step(&u->journal, u->report, OP_STEP_CANDIDATE_REMOVE, &ignored);
		error_clear(&ignored);
		docker_container_remove(u->c, u->candidate_id, 1, 1, &ignored);
	}
	recreate_plan_release(&plan);
	free(name);
	buf_free(&cfg);
	buf_free(&auth);
	buf_free(&after_path);
	return rc;
}

/* --- promotion ---------------------------------------------------------------- */

static int promotion_judge(void *ctx, const char *id, int old_release, struct verdict *v, struct cpactl_error *err)
{
	struct upgrade *u = ctx;
	const char *host = probe_host_for_binding(u->t->api_host_ip);
	json_t *models = u->prod_models;
	int rc;

	if (!old_release)
		return judge(u, id, host, u->t->api_host_port, u->expected_version, v, err);
	/* The old release is judged on what it was, not on the new bar. */
	u->prod_models = NULL;
	u->judging_old = 1;
	rc = judge(u, id, host, u->t->api_host_port, NULL, v, err);
	u->judging_old = 0;
	u->prod_models = models;
	return rc;
}

static void promotion_say(void *ctx, const char *message)
{
	struct upgrade *u = ctx;
	if (u->o->say)
		u->o->say(u->o->ctx, message);
}

static int promote(struct upgrade *u, struct cpactl_error *err)
{
	struct recreate_options ro;
	struct recreate_plan plan;
	struct promotion p;
	char *failed = operation_kept_name(u->t->name, OP_KEPT_FAILED, u->op_id);
	int rc = -1;

	memset(&plan, 0, sizeof(plan));
	memset(&ro, 0, sizeof(ro));
	memset(&p, 0, sizeof(p));
	ro.role = RECREATE_PRODUCTION;
	ro.new_image = u->target_ref;
	if (recreate_plan_build(u->t->inspect, u->old_image, &ro, &plan, err) < 0)
		goto out;
	u->prev_name = operation_kept_name(u->t->name, OP_KEPT_PREV, u->op_id);
	p.c = u->c;
	p.journal = &u->journal;
	p.report = u->report;
	p.name = u->t->name;
	p.old_id = u->t->id;
	p.old_restart = u->old_restart;
	p.config_host = u->t->config_host;
	p.config_before = &u->config_before;
	p.config_after = u->config_migrated && (!u->o->keep_config || u->o->config_data) ? &u->config_after : NULL;
	p.create_body = plan.create_body;
	p.extra_networks = plan.extra_networks;
	p.prev_name = u->prev_name;
	p.failed_name = failed;
	p.judge = promotion_judge;
	p.say = promotion_say;
	p.ctx = u;
	rc = promote_run(&p, err);
	if (p.outcome)
		json_object_set_new(u->report, "outcome", json_string(p.outcome));
	else if (rc == 0 && p.config_after)
		sayf(u, "config.yaml: the migrated file is now production's (the old one is in the snapshot)");
	u->new_id = p.new_id;
	p.new_id = NULL;
out:
	promotion_release(&p);
	recreate_plan_release(&plan);
	free(failed);
	return rc;
}

/* --- compose ------------------------------------------------------------------ */

/* Compose recreates a container whose file names another image on the next
 * `docker compose up`, silently undoing the upgrade.  Say which file and
 * service pin the old image, or change the line (--update-compose-file)
 * after keeping a copy of the file. */
static void compose_pin(struct upgrade *u)
{
	const char *files = json_string_value(json_object_get(u->t->compose, "config_files"));
	const char *service = json_string_value(json_object_get(u->t->compose, "service"));
	struct cpactl_error e = CPACTL_ERROR_INIT;
	struct buf file = BUF_INIT, out = BUF_INIT, backup = BUF_INIT;
	char *text = NULL;
	size_t len = 0, matches = 0;
	const char *line;

	if (!u->t->compose || !u->t->image)
		return;
	buf_append(&file, files ? files : "", files ? strcspn(files, ",") : 0);
	if (!u->o->update_compose_file || !file.len) {
		sayf(u, "compose manages '%s' (service '%s'): %s pins '%s'; change that service's image: line to "
			"'%s', or the next 'docker compose up' recreates it from the old image "
			"(--update-compose-file does it)",
		     u->t->name, service ? service : "?", file.len ? file.data : "its compose file", u->t->image,
		     u->target_ref);
		goto out;
	}
	if (read_small_file(file.data, (size_t)4 << 20, &text, &len, &e) < 0) {
		sayf(u, "--update-compose-file: %s", e.message);
		goto out;
	}
	/* Only a line that names exactly the old reference is changed. */
	for (line = text; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line + 1) : strlen(line);
		const char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, "image:", 6) == 0) {
			const char *v = p + 6;
			size_t vlen;
			while (*v == ' ')
				v++;
			if (*v == '"' || *v == '\'')
				v++;
			vlen = strcspn(v, "\"' \r\n#");
			if (vlen == strlen(u->t->image) && strncmp(v, u->t->image, vlen) == 0) {
				buf_append(&out, line, (size_t)(v - line));
				buf_append_str(&out, u->target_ref);
				buf_append(&out, v + vlen, n - (size_t)(v + vlen - line));
				matches++;
				line += n;
				continue;
			}
		}
		buf_append(&out, line, n);
		line += n;
	}
	if (matches != 1) {
		sayf(u, "--update-compose-file: %zu image: lines of '%s' name '%s'; change the one of service '%s' "
			"by hand",
		     matches, file.data, u->t->image, service ? service : "?");
		goto out;
	}
	buf_appendf(&backup, "%s/compose-%s.yml", u->d->state_dir, u->op_id);
	if (atomic_write_file(backup.data, text, len, 0600, &e) < 0) {
		sayf(u, "--update-compose-file: cannot keep a copy: %s", e.message);
		goto out;
	}
	{
		struct stat st;
		int mode = stat(file.data, &st) == 0 ? (int)(st.st_mode & 07777) : 0644;
		if (atomic_write_file(file.data, out.data, out.len, mode, &e) < 0) {
			sayf(u, "--update-compose-file: %s", e.message);
			goto out;
		}
	}
	sayf(u, "compose file '%s' now names '%s' (the previous file is kept as '%s')", file.data, u->target_ref,
	     backup.data);
	json_object_set_new(u->report, "compose_file_updated", json_string(file.data));
out:
	free(text);
	buf_free(&file);
	buf_free(&out);
	buf_free(&backup);
}

/* --- the whole ------------------------------------------------------------------ */

static json_t *image_summary(const char *ref, const char *id, const char *version)
{
	return json_pack("{s:s?,s:s?,s:s?}", "image", ref, "image_id", id, "version", version);
}

/* The recreated container, for --dry-run, with every env value hidden. */
static json_t *plan_for_people(struct upgrade *u, struct cpactl_error *err)
{
	struct recreate_options ro;
	struct recreate_plan plan;
	json_t *body, *env, *e, *masked = json_array(), *out;
	size_t i;

	memset(&ro, 0, sizeof(ro));
	ro.role = RECREATE_PRODUCTION;
	ro.new_image = u->target_ref;
	if (recreate_plan_build(u->t->inspect, u->old_image, &ro, &plan, err) < 0) {
		json_decref(masked);
		return NULL;
	}
	body = json_deep_copy(plan.create_body);
	env = json_object_get(body, "Env");
	json_array_foreach(env, i, e) {
		const char *s = json_string_value(e);
		const char *eq = s ? strchr(s, '=') : NULL;
		char text[300];
		snprintf(text, sizeof(text), "%.*s=***", eq ? (int)(eq - s) : 0, s ? s : "");
		json_array_append_new(masked, json_string(text));
	}
	if (env)
		json_object_set_new(body, "Env", masked);
	else
		json_decref(masked);
	out = json_pack("{s:s,s:o,s:O,s:O}", "name", u->t->name, "create", body, "extra_networks",
			plan.extra_networks, "notes", plan.notes);
	recreate_plan_release(&plan);
	return out;
}

/* config apply: the new file must parse and keep the proxy closed before
 * a candidate even sees it. */
static int check_applied(struct upgrade *u, struct cpactl_error *err)
{
	json_t *doc = NULL, *keys;
	int rc = -1;

	if (yaml_parse(u->applied.data ? u->applied.data : "", u->applied.len, u->o->config_source, &doc, err) < 0)
		goto out;
	if (!json_is_object(doc)) {
		error_set(err, ERR_FAILED, "%s is not a YAML mapping: not a config.yaml", u->o->config_source);
		goto out;
	}
	keys = json_object_get(doc, "api-keys");
	if (!json_is_array(keys) || json_array_size(keys) == 0) {
		error_set(err, ERR_FAILED,
			  "%s has no api-keys: CPA would serve anyone (or refuse everyone in safe mode); add at least "
			  "one key",
			  u->o->config_source);
		goto out;
	}
	if (json_is_string(json_array_get(keys, 0)))
		u->applied_key = strdup(json_string_value(json_array_get(keys, 0)));
	/* A config change may drop providers on purpose: the candidate is not
	 * held to production's model list and client count. */
	json_decref(u->prod_models);
	u->prod_models = NULL;
	u->prod_clients = -1;
	/* Its secrets are redacted from log lines too. */
	{
		json_t *more = secret_values_of(doc);
		json_array_extend(u->secrets, more);
		json_decref(more);
	}
	rc = 0;
out:
	json_decref(doc);
	return rc;
}

int upgrade_run(struct docker_client *c, struct cpa_target *t, const struct deployment *d,
		const struct upgrade_options *o, json_t **report, struct cpactl_error *err)
{
	struct upgrade u;
	struct snapshot_result snap;
	struct verdict cand;
	struct cpactl_error e = CPACTL_ERROR_INIT;
	char target_version[64] = "", stamp[32];
	const char *expected = NULL;
	json_t *config_doc = NULL;
	int rc = -1, journaled = 0;
	const char *outcome = UPGRADE_REFUSED;

	memset(&u, 0, sizeof(u));
	memset(&snap, 0, sizeof(snap));
	memset(&cand, 0, sizeof(cand));
	u.c = c;
	u.t = t;
	u.d = d;
	u.o = o;
	u.report = json_pack("{s:s,s:s,s:o,s:[]}", "outcome", UPGRADE_REFUSED, "container", t->name, "from",
			     image_summary(t->image, t->image_id, t->version), "steps");
	*report = u.report;
	if (!u.report)
		return error_set(err, ERR_NOMEM, "out of memory");
	operation_stamp(stamp, sizeof(stamp));
	u.seed = &u.config_before;
	if (o->config_data) {
		/* config apply: the same image, a new config.yaml. */
		u.target_ref = strdup(o->image ? o->image : t->image ? t->image : t->image_id);
		buf_append(&u.applied, o->config_data, o->config_len);
		u.seed = &u.applied;
	} else {
		u.target_ref = o->image ? strdup(o->image) : t->image ? default_target(t->image) : NULL;
	}
	if (!u.target_ref) {
		error_set(err, ERR_USAGE, "the running image of '%s' has no repository: name the target with --image",
			  t->name);
		goto out;
	}
	/* 1. The journal: refuses when an earlier operation is unfinished. */
	if (operation_begin(d, o->config_data ? "config-apply" : "upgrade", stamp, t, &u.journal, err) < 0)
		goto out;
	journaled = 1;
	journal_set(&u.journal, OP_KEY_TARGET, json_string(u.target_ref));

	/* 2. Preflight. */
	if (operation_step(&u.journal, u.report, OP_STEP_PREFLIGHT, err) < 0)
		goto out;
	if (docker_image_inspect(c, t->image_id, &u.old_image, err) < 0)
		goto out;
	if (preflight(&u, err) < 0)
		goto out;
	if ((t->config_in_container || t->config_host) &&
	    container_read_file_at(c, t->id, t->config_in_container, t->config_host, CPA_CONFIG_MAX, &u.config_before,
				   NULL, err) < 0)
		goto out;
	if (!t->profile->cpa) {
		u.secrets = env_secret_values(t->inspect, &u.config_before);
	} else if (yaml_parse(u.config_before.data ? u.config_before.data : "", u.config_before.len, "config.yaml",
			      &config_doc, err) < 0) {
		/* A broken live file is what a config apply may be there to fix. */
		if (!o->config_data)
			goto out;
		error_clear(err);
	}
	if (!u.secrets)
		u.secrets = config_doc ? secret_values_of(config_doc) : json_array();
	u.old_restart = json_incref(json_object_get(json_object_get(t->inspect, "HostConfig"), "RestartPolicy"));
	if (!u.old_restart)
		u.old_restart = json_pack("{s:s}", "Name", "no");
	journal_set(&u.journal, OP_KEY_OLD_RESTART, json_incref(u.old_restart));
	production_baseline(&u);
	if (o->config_data && check_applied(&u, err) < 0)
		goto out;

	/* 3. Back up. */
	if (!o->no_backup) {
		const struct op_backup b = {
			.why = "backup before upgrade",
			.report_key = "snapshot",
			.snapshot = { .cpactl_version = o->cpactl_version, .interrupted = o->interrupted,
				      .progress = o->backup_progress, .progress_ctx = o->progress_ctx },
		};
		if (operation_backup(c, t, d, &u.journal, u.report, &b, &snap, &u.op_id, err) < 0)
			goto out;
		sayf(&u, "snapshot %s taken", snap.id);
	} else {
		u.op_id = strdup(stamp);
		sayf(&u, "no backup (--no-backup): a failed promotion still rolls back to the kept old container");
	}

	/* 4. Pull, then "already up to date". */
	if (!o->no_pull && !o->config_data) {
		if (operation_step(&u.journal, u.report, OP_STEP_PULL, err) < 0)
			goto out;
		sayf(&u, "pulling %s", u.target_ref);
		if (docker_image_pull(c, u.target_ref, o->pull_progress, o->progress_ctx, err) < 0)
			goto out;
	}
	if (docker_image_inspect(c, u.target_ref, &u.new_image, &e) < 0) {
		error_set(err, e.kind == ERR_NOT_FOUND ? ERR_NOT_FOUND : e.kind, "the target image '%s' is not in the engine%s: %s",
			  u.target_ref, o->no_pull ? " (--no-pull)" : "", e.message);
		goto out;
	}
	{
		const char *new_id = json_string_value(json_object_get(u.new_image, "Id"));
		if (cpa_version_from_image(u.target_ref, target_version, sizeof(target_version)) == 0)
			expected = target_version;
		json_object_set_new(u.report, "to", image_summary(u.target_ref, new_id, expected));
		if (new_id && t->image_id && strcmp(new_id, t->image_id) == 0 && !o->force && !o->config_data) {
			sayf(&u, "'%s' already runs %s (%.19s): already up to date", t->name, u.target_ref, new_id);
			outcome = UPGRADE_UP_TO_DATE;
			rc = 0;
			goto out;
		}
	}
	if (expected && t->version && cpa_version_compare(expected, t->version) < 0 && !o->allow_downgrade &&
	    !o->config_data) {
		error_set(err, ERR_FAILED, "%s is older than the running %s: a downgrade needs --allow-downgrade",
			  expected, t->version);
		goto out;
	}

	/* 5-6. The candidate on scratch copies, and its verdict. */
	if (operation_step(&u.journal, u.report, OP_STEP_SCRATCH, err) < 0 || prepare_scratch(&u, err) < 0)
		goto out;
	if (run_candidate(&u, expected, &cand, err) < 0)
		goto out;
	json_object_set_new(u.report, "candidate", verdict_to_json(&cand));
	if (!expected && cand.version[0] && t->version && cpa_version_compare(cand.version, t->version) < 0 &&
	    !o->allow_downgrade) {
		error_set(err, ERR_FAILED, "the candidate reports %s, older than the running %s: a downgrade needs "
					   "--allow-downgrade",
			  cand.version, t->version);
		goto out;
	}
	if (cand.version[0])
		json_object_set_new(json_object_get(u.report, "to"), "version", json_string(cand.version));
	if (!cand.ok) {
		verdict_say(u.o->say, u.o->ctx, "candidate", &cand);
		error_set(err, ERR_FAILED, "the candidate %s failed its checks; production was not touched",
			  u.target_ref);
		goto out;
	}
	if (t->profile->cpa)
		sayf(&u, "candidate passed: %s, %ld models, %ld clients, ready in %.0f ms",
		     cand.version[0] ? cand.version : "version unknown",
		     cand.models ? (long)json_array_size(cand.models) : 0, cand.clients, cand.ready_ms);
	else
		sayf(&u, "candidate passed: %s answered healthy (HTTP %ld), ready in %.0f ms", t->probe_path,
		     cand.http_status, cand.ready_ms);
	verdict_say(u.o->say, u.o->ctx, "candidate", &cand); /* its notes: a pass has no reason */

	/* 7. Config migration (config apply: the change itself, or the
	 * candidate's rewrite of it). */
	if (o->config_data && !u.config_migrated) {
		buf_append(&u.config_after, u.applied.data, u.applied.len);
		u.config_migrated = 1;
	}
	if (o->config_data) {
		json_t *diff = masked_diff(&u, err);
		if (!diff)
			goto out;
		json_object_set_new(u.report, "config_diff", diff);
		sayf(&u, "config.yaml changes (secrets masked):\n%s", json_string_value(diff));
	} else if (u.config_migrated) {
		json_t *diff = masked_diff(&u, err);
		if (!diff)
			goto out;
		json_object_set_new(u.report, "config_diff", diff);
		sayf(&u, "the new release rewrote config.yaml (secrets masked):\n%s", json_string_value(diff));
		if (o->keep_config)
			sayf(&u, "--keep-config: production keeps its config.yaml as it is");
	}

	/* 8. Confirm (the candidate is already removed). */
	if (o->dry_run) {
		json_t *plan = plan_for_people(&u, err);
		if (!plan)
			goto out;
		json_object_set_new(u.report, "plan", plan);
		sayf(&u, "dry run: '%s' would be recreated from %s; nothing was changed", t->name, u.target_ref);
		outcome = UPGRADE_DRY_RUN;
		rc = 0;
		goto out;
	}
	{
		char question[600];
		if (o->config_data)
			snprintf(question, sizeof(question), "restart production '%s' with the new config.yaml?", t->name);
		else
			snprintf(question, sizeof(question), "replace production '%s' (%s) with %s?", t->name,
				 t->version ? t->version : "?", u.target_ref);
		if (operation_confirm(&u.journal, u.report, o->confirm, o->ctx, question, err) < 0) {
			if (err->kind == ERR_DECLINED)
				outcome = UPGRADE_DECLINED;
			goto out;
		}
	}

	/* 9-10. Promote and verify, or roll back. */
	u.expected_version = expected;
	if (promote(&u, err) < 0) {
		const char *o2 = json_string_value(json_object_get(u.report, "outcome"));
		if (o2 && strcmp(o2, UPGRADE_ROLLED_BACK) == 0)
			outcome = UPGRADE_ROLLED_BACK;
		else if (o2 && strcmp(o2, "rollback-failed") == 0)
			outcome = "rollback-failed";
		goto out;
	}
	if (u.config_migrated && o->config_data)
		operation_commit_config(d, u.config_after.data, u.config_after.len, o->say, o->ctx, "config apply %s: %s\n",
					u.op_id, o->config_source ? o->config_source : "a new file");
	else if (u.config_migrated && !o->keep_config)
		operation_commit_config(d, u.config_after.data, u.config_after.len, o->say, o->ctx,
					"upgrade %s: CPA %s, image %s (migrated by the new release)\n", u.op_id,
					expected ? expected : cand.version, u.target_ref);
	json_object_set_new(u.report, "previous_container", json_string(u.prev_name));
	if (o->config_data) {
		sayf(&u, "applied: '%s' serves with the new config.yaml; the previous container is kept stopped as '%s'",
		     t->name, u.prev_name);
		outcome = UPGRADE_APPLIED;
		rc = 0;
		goto out;
	}
	sayf(&u, "upgraded: '%s' now runs %s; the old container is kept stopped as '%s'", t->name, u.target_ref,
	     u.prev_name);
	compose_pin(&u);
	outcome = UPGRADE_UPGRADED;
	rc = 0;
out:
	json_object_set_new(u.report, "outcome", json_string(outcome));
	if (journaled) {
		struct cpactl_error ignored = CPACTL_ERROR_INIT;
		/* A failure in the middle of a promotion that could not be undone
		 * leaves the journal for `cpactl recover`. */
		int finished = rc == 0 || strcmp(outcome, UPGRADE_ROLLED_BACK) == 0 || !u.new_id;
		remove_scratch(&u);
		if (finished)
			journal_finish(&u.journal, outcome, &ignored);
	}
	journal_release(&u.journal);
	verdict_release(&cand);
	snapshot_result_release(&snap);
	json_decref(u.old_image);
	json_decref(u.new_image);
	json_decref(u.secrets);
	json_decref(u.prod_models);
	json_decref(u.old_restart);
	json_decref(config_doc);
	buf_wipe(&u.config_before);
	buf_wipe(&u.config_after);
	buf_wipe(&u.applied);
	if (u.applied_key) {
		memset(u.applied_key, 0, strlen(u.applied_key));
		free(u.applied_key);
	}
	free(u.target_ref);
	free(u.op_id);
	free(u.scratch_dir);
	free(u.candidate_id);
	free(u.new_id);
	free(u.prev_name);
	return rc;
}
