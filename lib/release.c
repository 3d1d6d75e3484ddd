/*
 * release.c - see release.h.
 */
#include "release.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "atomic_file.h"
#include "buf.h"
#include "container_files.h"
#include "cpa.h"
#include "history.h"
#include "netns.h"
#include "probe.h"
#include "promote.h"
#include "recreate.h"
#include "secretmask.h"
#include "tar_extract.h"
#include "yamlconf.h"

/* Messages for people go through the caller's say callback. */
#define sayf(r, ...) say_fmt((r)->op.say, (r)->op.ctx, __VA_ARGS__)

/* What the candidate starts with. */
static const char *seed_data(const struct release *r, size_t *len)
{
	if (r->seed) {
		*len = r->seed_len;
		return r->seed;
	}
	*len = r->config_before.len;
	return r->config_before.data ? r->config_before.data : "";
}

static json_t *image_summary(const char *ref, const char *id, const char *version)
{
	return json_pack("{s:s?,s:s?,s:s?}", "image", ref, "image_id", id, "version", version);
}

int release_begin(struct release *r, struct docker_client *c, struct cpa_target *t, const struct deployment *d,
		  const struct upgrade_options *o, const char *kind, char *target_ref, json_t **report,
		  struct cpactl_error *err)
{
	json_t *rep = json_pack("{s:s,s:s,s:o,s:[]}", "outcome", UPGRADE_REFUSED, "container", t->name, "from",
				image_summary(t->image, t->image_id, t->version), "steps");

	memset(r, 0, sizeof(*r));
	operation_init(&r->op, c, t, d, rep, o->say, o->ctx);
	r->o = o;
	r->target_ref = target_ref;
	r->prod_clients = -1;
	*report = rep;
	if (!rep)
		return error_set(err, ERR_NOMEM, "out of memory");
	if (!target_ref)
		return error_set(err, ERR_USAGE,
				 "the running image of '%s' has no repository: name the target with --image", t->name);
	/* The journal: refuses when an earlier operation is unfinished. */
	if (operation_begin(&r->op, kind, err) < 0)
		return -1;
	journal_set(&r->op.journal, OP_KEY_TARGET, json_string(target_ref));
	return 0;
}

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

static int preflight_checks(struct release *r, struct cpactl_error *err)
{
	const struct cpa_target *t = r->op.t;
	const struct upgrade_options *o = r->o;
	const char *marker, *store = NULL;
	struct statvfs vfs;
	json_t *problem;
	size_t i;

	if (t->kind_unknown)
		return error_set(err, ERR_USAGE,
				 "preflight: nothing says '%s' is a CPA (its image and command do not): name its kind "
				 "with --profile (%s)",
				 t->name, PROFILE_NAMES);
	if (t->profile->cpa && (marker = cpa_cluster_marker(t->inspect)) != NULL)
		/* The JWT is the node's identity: a candidate that reached Home would
		 * be a second process with it; one that cannot has no config. */
		return error_set(err, ERR_FAILED,
				 "preflight: '%s' is a CPA cluster node (%s): its config comes from CLIProxyAPIHome "
				 "and the JWT is its identity, so no candidate can test a release without joining "
				 "the cluster as production.  cpactl does not upgrade cluster nodes: take a snapshot "
				 "(cpactl backup), then update the node the way the cluster is run (docker compose "
				 "pull && docker compose up -d with the cluster's compose file)",
				 t->name, marker);
	if (t->profile->cpa && (store = cpa_remote_store_var(t->inspect)) != NULL && !o->candidate_without_store)
		return error_set(err, ERR_FAILED,
				 "preflight: '%s' keeps its config and auth in a remote store (%s): an isolated "
				 "candidate cannot load them, and one that could would write into production's "
				 "store.  cpactl can test the release only on the local config.yaml and auth dir with "
				 "the store's variables removed; --candidate-without-store says that is enough",
				 t->name, store);
	if (store)
		sayf(r, "note: --candidate-without-store: the candidate runs without %s and the other store "
			"variables, on the local config.yaml and auth dir; the store is neither tested nor touched",
		     store);
	if (!t->config_ok) {
		json_array_foreach(t->problems, i, problem)
			return error_set(err, ERR_FAILED, "preflight: %s", json_string_value(problem));
		return error_set(err, ERR_FAILED, "preflight: config.yaml of '%s' cannot be read", t->name);
	}
	if (!t->profile->cpa) {
		/* A mounted env file gets a scratch copy: it must be on this machine. */
		if (t->config_in_container && !t->config_host)
			return error_set(err, ERR_USAGE,
					 "preflight: the env file of '%s' must be a bind mount on this machine "
					 "for the candidate's scratch copy (it is %s)",
					 t->name, t->config_storage);
		if (!t->api_container_port)
			return error_set(err, ERR_USAGE, "preflight: the API port of '%s' is unknown: name it with "
							 "--api-port", t->name);
	} else if (!discover_storage_persists(t->config_storage) || !discover_storage_persists(t->auth_storage)) {
		/* A new container starts from the image: files in the old one's
		 * own filesystem (or a tmpfs) would be gone. */
		return error_set(err, ERR_FAILED,
				 "preflight: config.yaml and the auth dir of '%s' must be on mounts (a bind or a "
				 "volume) for a new container to have them (config is %s, auth is %s): mount "
				 "them, then upgrade",
				 t->name, t->config_storage ? t->config_storage : "?",
				 t->auth_storage ? t->auth_storage : "?");
	}
	if (!docker_client_is_local(r->op.c))
		/* Its scratch copies are dirs on this machine, bound into it. */
		return error_set(err, ERR_USAGE,
				 "preflight: the engine at %s is not on this machine: the candidate's scratch "
				 "copies and its probe inside its network namespace need the engine here (run "
				 "cpactl on the engine's host)",
				 docker_client_host(r->op.c));
	if (o->shared_network) {
		if (o->test_port <= 0 || o->test_port > 65535)
			return error_set(err, ERR_USAGE, "preflight: --test-port %d is not a port", o->test_port);
		if (!port_is_free(o->test_port))
			return error_set(err, ERR_FAILED,
					 "preflight: the test port %d is in use on 127.0.0.1; choose another with "
					 "--test-port",
					 o->test_port);
	} else {
		struct cpactl_error e = CPACTL_ERROR_INIT;
		if (netns_capable(&e) < 0)
			return error_set(err, ERR_USAGE,
					 "preflight: %s; or accept a candidate that can reach the network (and "
					 "refresh production's tokens) with --candidate-network shared",
					 e.message);
	}
	if (!valid_reference(r->target_ref))
		return error_set(err, ERR_USAGE, "preflight: '%s' is not a valid image reference", r->target_ref);
	if (!t->state || strcmp(t->state, "running") != 0) {
		/* Stopped on purpose (or never started): promotion would start it.
		 * A crash loop ("restarting") is what an upgrade may be there to fix. */
		int stopped = !t->state || strcmp(t->state, "restarting") != 0;
		if (stopped && !o->start_stopped && !o->dry_run)
			return error_set(err, ERR_FAILED,
					 "preflight: production '%s' is %s: the new release would be started; "
					 "start '%s' first, or pass --start to upgrade it and start it",
					 t->name, t->state ? t->state : "not running", t->name);
		sayf(r, "note: production '%s' is %s%s", t->name, t->state ? t->state : "not running",
		     !stopped ? "" : o->start_stopped ? ": the new release will be started (--start)"
						       : ": the upgrade itself needs --start");
	}
	if (!o->no_backup && statvfs(r->op.d->root, &vfs) == 0) {
		/* The snapshot needs at most the image once more plus the small parts. */
		unsigned long long room = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
		unsigned long long need = (unsigned long long)json_integer_value(json_object_get(r->old_image, "Size")) +
					  (64ULL << 20);
		if (room < need)
			return error_set(err, ERR_FAILED,
					 "preflight: '%s' has %llu MB free, a snapshot may need %llu MB; free space "
					 "or use --no-backup",
					 r->op.d->root, room >> 20, need >> 20);
	}
	return 0;
}

/* CPA rotates logs/main.log at 10 MB (lumberjack, internal/logging). */
#define PROD_LOG_MAX ((size_t)12 << 20)

/* What production serves now: the bar the candidate must clear. */
static void production_baseline(struct release *r)
{
	const struct cpa_target *t = r->op.t;
	struct probe_result p;
	struct cpactl_error e = CPACTL_ERROR_INIT;
	struct buf logs = BUF_INIT;

	/* A stopped container has no published port: p is then never filled. */
	memset(&p, 0, sizeof(p));
	if (t->has_api_port &&
	    probe_get(NULL, t->tls, probe_host_for_binding(t->api_host_ip), t->api_host_port, t->probe_path, t->probe_key, 5000, &p,
		      &e) == 0 &&
	    p.http_status == 200 && p.models)
		r->prod_models = json_incref(p.models);
	else if (t->profile->cpa)
		sayf(r, "note: production does not answer /v1/models now: its model list is not compared");
	probe_result_release(&p);
	error_clear(&e);
	if (t->profile->cpa && docker_container_logs(r->op.c, t->id, 5000, t->tty, &logs, &e) == 0)
		r->prod_clients = cpa_loaded_clients(buf_str(&logs));
	/* With logging-to-file the line is in logs/main.log (read through the
	 * engine: production's file, not a path on this machine to trust). */
	if (r->prod_clients < 0 && t->profile->logs_dir && recreate_mount_at(t->inspect, t->profile->logs_dir)) {
		struct buf path = BUF_INIT;
		int is_dir = 0;
		buf_reset(&logs);
		error_clear(&e);
		buf_appendf(&path, "%s/main.log", t->profile->logs_dir);
		if (container_read_file_at(r->op.c, t->id, path.data, NULL, PROD_LOG_MAX, &logs, &is_dir, &e) == 0 &&
		    !is_dir) {
			r->prod_clients = cpa_loaded_clients(buf_str(&logs));
			/* The promoted release writes on after these bytes: its
			 * client count is read from there, not from the old one's. */
			r->prod_log_path = buf_detach(&path);
			r->prod_log_len = logs.len;
		}
		buf_free(&path);
	}
	error_clear(&e);
	buf_free(&logs);
}

int release_preflight(struct release *r, int broken_ok, struct cpactl_error *err)
{
	struct cpa_target *t = r->op.t;
	json_t *doc = NULL;
	int rc = -1;

	if (operation_step(&r->op, OP_STEP_PREFLIGHT, err) < 0 ||
	    docker_image_inspect(r->op.c, t->image_id, &r->old_image, err) < 0 || preflight_checks(r, err) < 0)
		goto out;
	if ((t->config_in_container || t->config_host) &&
	    container_read_file_at(r->op.c, t->id, t->config_in_container, t->config_host, CPA_CONFIG_MAX,
				   &r->config_before, NULL, err) < 0)
		goto out;
	if (!t->profile->cpa) {
		r->secrets = env_secret_values(t->inspect, &r->config_before);
	} else if (yaml_parse(r->config_before.data ? r->config_before.data : "", r->config_before.len, "config.yaml",
			      &doc, err) < 0) {
		/* A broken live file is what a config apply may be there to fix. */
		if (!broken_ok)
			goto out;
		error_clear(err);
	}
	if (!r->secrets) {
		/* The config's secrets and the environment's (MANAGEMENT_PASSWORD,
		 * a store's DSN ...): a log line or a healthcheck may hold either. */
		json_t *env = env_secret_values(t->inspect, NULL);
		r->secrets = doc ? secret_values_of(doc) : json_array();
		if (env)
			json_array_extend(r->secrets, env);
		json_decref(env);
	}
	{
		/* The auth files' tokens: a provider's error answer can carry one
		 * into a log line that a verdict quotes. */
		json_t *tokens = auth_secret_values(t->auth_host);
		if (tokens && r->secrets)
			json_array_extend(r->secrets, tokens);
		json_decref(tokens);
	}
	r->old_restart = json_incref(json_object_get(json_object_get(t->inspect, "HostConfig"), "RestartPolicy"));
	if (!r->old_restart)
		r->old_restart = json_pack("{s:s}", "Name", "no");
	journal_set(&r->op.journal, OP_KEY_OLD_RESTART, json_incref(r->old_restart));
	production_baseline(r);
	rc = 0;
out:
	json_decref(doc);
	return rc;
}

int release_backup(struct release *r, const char *why, struct cpactl_error *err)
{
	const struct upgrade_options *o = r->o;
	const struct op_backup b = {
		.skip = o->no_backup,
		.why = why,
		.report_key = "snapshot",
		.skipped = "no backup (--no-backup): a failed promotion still rolls back to the kept old container",
		.snapshot = { .cpactl_version = o->cpactl_version, .interrupted = o->interrupted,
			      .progress = o->backup_progress, .progress_ctx = o->progress_ctx },
	};
	return operation_backup(&r->op, &b, err);
}

int release_target_image(struct release *r, struct cpactl_error *err)
{
	struct cpactl_error e = CPACTL_ERROR_INIT;
	const char *new_id;

	if (docker_image_inspect(r->op.c, r->target_ref, &r->new_image, &e) < 0)
		return error_set(err, e.kind, "the target image '%s' is not in the engine%s: %s", r->target_ref,
				 r->o->no_pull ? " (--no-pull)" : "", e.message);
	new_id = json_string_value(json_object_get(r->new_image, "Id"));
	if (cpa_version_from_image(r->target_ref, r->target_version, sizeof(r->target_version)) == 0)
		r->expected_version = r->target_version;
	json_object_set_new(r->op.report, "to", image_summary(r->target_ref, new_id, r->expected_version));
	return 0;
}

/* --- the candidate ----------------------------------------------------------- */

/* An empty scratch dir at `path` for the candidate's own files, owned and
 * moded as production's bind source at `in_container` when there is one on
 * this machine (a release that runs as another user must be able to write
 * it), else root's 0755. */
static int make_scratch_like(const struct cpa_target *t, const char *in_container, const char *path,
			     struct cpactl_error *err)
{
	const char *source = recreate_bind_source_at(t->inspect, in_container);
	struct stat st;

	if (mkdir(path, 0700) < 0)
		return error_set_errno(err, errno, ERR_IO, "cannot create the scratch dir '%s'", path);
	if (source && stat(source, &st) == 0 && S_ISDIR(st.st_mode)) {
		if (chown(path, st.st_uid, st.st_gid) < 0 || chmod(path, st.st_mode & 0777) < 0)
			return error_set_errno(err, errno, ERR_IO, "cannot set the owner of '%s'", path);
		return 0;
	}
	if (chmod(path, 0755) < 0)
		return error_set_errno(err, errno, ERR_IO, "cannot set the mode of '%s'", path);
	return 0;
}

/* The logs dir and the plugins dir, when production mounts them: the
 * candidate gets an empty logs dir (two processes must never share one: CPA's
 * cleaner deletes old files) and a copy of the plugins (a release may delete
 * older plugin files), so production's stay byte for byte as they were. */
static int prepare_scratch_state(struct release *r, struct cpactl_error *err)
{
	const struct cpa_target *t = r->op.t;
	const struct profile *p = t->profile;
	struct buf dir = BUF_INIT, tar = BUF_INIT;
	int rc = -1;

	if (p->logs_dir && recreate_mount_at(t->inspect, p->logs_dir)) {
		buf_appendf(&dir, "%s/logs", r->op.scratch_dir);
		if (make_scratch_like(t, p->logs_dir, dir.data, err) < 0)
			goto out;
	}
	if (p->plugins_dir && recreate_mount_at(t->inspect, p->plugins_dir)) {
		buf_reset(&dir);
		buf_appendf(&dir, "%s/plugins", r->op.scratch_dir);
		buf_appendf(&tar, "%s/plugins.tar", r->op.scratch_dir);
		if (make_scratch_like(t, p->plugins_dir, dir.data, err) < 0 ||
		    container_archive_to_file(r->op.c, t->id, p->plugins_dir, tar.data, r->o->interrupted, NULL,
					      err) < 0 ||
		    tar_extract_into(tar.data, dir.data, "plugins", err) < 0)
			goto out;
		unlink(tar.data);
	}
	rc = 0;
out:
	buf_free(&dir);
	buf_free(&tar);
	return rc;
}

/* ROOT/.cpactl/scratch/<op>/{config.orig,config.yaml,auth/}: copies the
 * candidate may rewrite and refresh as it likes; config.orig is the live
 * file as it was, what recovery puts back if a crash comes after the
 * migrated file replaced production's. */
static int prepare_scratch(struct release *r, struct cpactl_error *err)
{
	const struct cpa_target *t = r->op.t;
	struct buf cfg = BUF_INIT, auth = BUF_INIT, tar = BUF_INIT, marker = BUF_INIT;
	const char *auth_in = t->auth_in_container;
	const char *base = auth_in ? strrchr(auth_in, '/') : NULL;
	const char *seed;
	size_t seed_len;
	int rc = -1;

	base = base && base[1] ? base + 1 : auth_in;
	if (operation_step(&r->op, OP_STEP_SCRATCH, err) < 0 || operation_scratch(&r->op, &r->config_before, err) < 0)
		goto out;
	buf_appendf(&cfg, "%s/config.yaml", r->op.scratch_dir);
	buf_appendf(&auth, "%s/auth", r->op.scratch_dir);
	buf_appendf(&tar, "%s/auth.tar", r->op.scratch_dir);
	buf_appendf(&marker, "%s/.cpactl-scratch", auth.data);
	seed = seed_data(r, &seed_len);
	if (make_private_dirs(auth.data, err) < 0 || atomic_write_file(cfg.data, seed, seed_len, 0600, err) < 0)
		goto out;
	if (prepare_scratch_state(r, err) < 0)
		goto out;
	if (!auth_in) { /* a profile without an auth dir (an env-file proxy) */
		rc = 0;
		goto out;
	}
	if (container_archive_to_file(r->op.c, t->id, auth_in, tar.data, r->o->interrupted, NULL, err) < 0 ||
	    tar_extract_into(tar.data, auth.data, base, err) < 0)
		goto out;
	unlink(tar.data);
	if (!t->auth_host) {
		/* The tokens of auth files read through the engine (a named
		 * volume): preflight could only read a bind mount's. */
		json_t *tokens = auth_secret_values(auth.data);
		if (tokens && r->secrets)
			json_array_extend(r->secrets, tokens);
		json_decref(tokens);
	}
	/* Tells a release (and a person) that this is a throw-away copy. */
	if (atomic_write_file(marker.data, "cpactl scratch copy: not production\n", 36, 0600, err) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0 && r->o->interrupted && *r->o->interrupted) {
		/* A copy cut short by the Ctrl-C is the interrupt, not an error
		 * of the engine's. */
		error_clear(err);
		error_set(err, ERR_FAILED, "interrupted while the candidate's scratch copies were taken; production "
					   "was not touched");
	}
	buf_free(&cfg);
	buf_free(&auth);
	buf_free(&tar);
	buf_free(&marker);
	return rc;
}

/* 1 when the config the container runs (`data`) says tls.enable: its port
 * speaks TLS only.  What cannot be read is as production is. */
static int runs_tls(const struct release *r, const char *data, size_t len)
{
	struct cpactl_error e = CPACTL_ERROR_INIT;
	struct cpa_config_summary s;
	json_t *doc = NULL;
	int tls = r->op.t->tls;

	if (!r->op.t->profile->cpa || !data)
		return tls;
	if (yaml_parse(data, len, "config.yaml", &doc, &e) == 0 && cpa_config_summarize(doc, &s) == 0) {
		tls = s.tls;
		cpa_config_summary_release(&s);
	}
	json_decref(doc);
	return tls;
}

/* `log_file`: a log the container writes besides its output, or NULL;
 * `tls`: its port speaks TLS. */
static int judge(struct release *r, const char *id, const struct netns *ns, int tls, const char *host, int port,
		 const char *log_file, const char *expected_version, struct verdict *v, struct cpactl_error *err)
{
	const struct cpa_target *t = r->op.t;
	struct judge_options jo;

	memset(&jo, 0, sizeof(jo));
	jo.netns = ns;
	jo.tls = tls;
	jo.timeout_ms = r->o->timeout_ms;
	jo.host = host;
	jo.port = port;
	jo.probe_key = r->new_key && !r->judging_old ? r->new_key : t->probe_key;
	jo.expected_models = r->judging_old ? NULL : r->prod_models;
	jo.expected_clients = r->prod_clients;
	jo.expected_version = expected_version;
	jo.allow_missing_models = r->o->allow_missing_models;
	jo.allow_fewer_clients = r->o->allow_fewer_clients;
	jo.tty = t->tty;
	jo.profile = t->profile;
	jo.probe_path = t->probe_path;
	jo.secrets = r->secrets;
	/* Judging the old release is the undo's check of production: an
	 * interrupt must not cut it short (the undo is the safe point). */
	jo.interrupted = r->judging_old ? NULL : r->o->interrupted;
	jo.log_file = log_file;
	if (!log_file && !r->judging_old && r->promoting && r->prod_log_path) {
		jo.log_in_container = r->prod_log_path;
		jo.log_from = r->prod_log_len;
	}
	return judge_container(r->op.c, id, &jo, v, err);
}

/* Did the candidate rewrite its config.yaml (a migration of the new
 * version)?  Then that is what production gets. */
static void read_rewrite(struct release *r)
{
	struct cpactl_error e = CPACTL_ERROR_INIT;
	struct buf path = BUF_INIT;
	char *data = NULL;
	size_t len = 0, seed_len;
	const char *seed = seed_data(r, &seed_len);

	buf_appendf(&path, "%s/config.yaml", r->op.scratch_dir);
	if (read_small_file(buf_str(&path), CPA_CONFIG_MAX, &data, &len, &e) == 0) {
		if (len != seed_len || memcmp(data, seed, len) != 0) {
			buf_reset(&r->config_after);
			buf_append(&r->config_after, data, len);
			r->config_changes = 1;
			r->candidate_rewrote = 1;
		}
		memset(data, 0, len);
		free(data);
	}
	buf_free(&path);
}

/* The network namespace of the running candidate `id`, where it is probed. */
static int open_candidate_netns(struct release *r, const char *id, struct netns *ns, struct cpactl_error *err)
{
	json_t *inspect = NULL;
	json_t *state;
	int rc = -1;

	if (docker_container_inspect(r->op.c, id, &inspect, err) < 0)
		return -1;
	state = json_object_get(inspect, "State");
	if (!json_is_true(json_object_get(state, "Running"))) {
		/* It died already: the verdict reads why from its log. */
		rc = 0;
		goto out;
	}
	rc = netns_open((int)json_integer_value(json_object_get(state, "Pid")),
			json_string_value(json_object_get(inspect, "Id")), ns, err);
	/* A release that exits at once (exit 0, a crash) can be gone between
	 * the inspect and the open, before the engine says so: that is its
	 * verdict, not an error of cpactl's.  Up to 3 s for the engine to see it. */
	for (int tries = 0; rc < 0 && tries < 30; tries++) {
		struct cpactl_error e = CPACTL_ERROR_INIT;
		json_decref(inspect);
		inspect = NULL;
		if (docker_container_inspect(r->op.c, id, &inspect, &e) < 0)
			break;
		if (!json_is_true(json_object_get(json_object_get(inspect, "State"), "Running"))) {
			error_clear(err);
			rc = 0;
			break;
		}
		usleep(100 * 1000);
	}
out:
	json_decref(inspect);
	return rc;
}

/* Containers are created from the target's reference, so that `docker ps`,
 * compose and the next discover see the repository and tag.  A tag can move
 * under cpactl's feet (a cron job pulling `latest`, another tool): right
 * before the candidate and the new production container are created, the
 * tag is made to point at the image resolved and tested again, and that is
 * said.  A digest cannot move. */
static int pin_target(struct release *r, struct cpactl_error *err)
{
	const char *tested = json_string_value(json_object_get(r->new_image, "Id"));
	json_t *now = NULL;
	struct cpactl_error e = CPACTL_ERROR_INIT;
	const char *now_id;
	int rc = 0;

	if (!tested || !r->target_ref || strchr(r->target_ref, '@'))
		return 0;
	if (docker_image_inspect(r->op.c, r->target_ref, &now, &e) == 0 &&
	    (now_id = json_string_value(json_object_get(now, "Id"))) && strcmp(now_id, tested) == 0)
		goto out;
	now_id = json_string_value(json_object_get(now, "Id"));
	sayf(r, "note: %s moved to another image (%.19s) after cpactl resolved it; it points at %.19s again, the "
		"image the candidate runs: production gets exactly what was tested",
	     r->target_ref, now_id ? now_id : "none", tested);
	rc = docker_image_tag(r->op.c, tested, r->target_ref, err);
out:
	json_decref(now);
	return rc;
}

static int start_candidate(struct release *r, struct cpactl_error *err)
{
	const struct cpa_target *t = r->op.t;
	struct verdict *v = &r->candidate;
	struct recreate_options ro;
	struct recreate_plan plan;
	char *name = operation_kept_name(t->name, OP_KEPT_CANDIDATE, NULL), *id = NULL;
	struct buf cfg = BUF_INIT, auth = BUF_INIT, logs = BUF_INIT, plugins = BUF_INIT, logs_file = BUF_INIT;
	struct cpactl_error e = CPACTL_ERROR_INIT;
	struct netns ns = NETNS_INIT;
	int rc = -1;

	memset(&plan, 0, sizeof(plan));
	memset(&ro, 0, sizeof(ro));
	buf_appendf(&cfg, "%s/config.yaml", r->op.scratch_dir);
	buf_appendf(&auth, "%s/auth", r->op.scratch_dir);
	buf_appendf(&logs, "%s/logs", r->op.scratch_dir);
	buf_appendf(&plugins, "%s/plugins", r->op.scratch_dir);
	buf_appendf(&logs_file, "%s/logs/main.log", r->op.scratch_dir);
	ro.isolated = !r->o->shared_network;
	ro.drop_remote_store = r->o->candidate_without_store;
	ro.logs_in_container = t->profile->logs_dir;
	ro.scratch_logs = logs.data;
	ro.plugins_in_container = t->profile->plugins_dir;
	ro.scratch_plugins = plugins.data;
	ro.role = RECREATE_CANDIDATE;
	if (pin_target(r, err) < 0)
		goto out;
	ro.new_image = r->target_ref;
	ro.container_port = t->api_container_port;
	ro.test_port = r->o->test_port;
	ro.config_in_container = t->config_in_container;
	ro.auth_in_container = t->auth_in_container;
	if (!t->profile->cpa && !t->config_in_container)
		ro.config_in_container = NULL;
	ro.scratch_config = cfg.data;
	ro.scratch_auth = auth.data;
	if (recreate_plan_build(t->inspect, r->old_image, &ro, &plan, err) < 0)
		goto out;
	/* A candidate left by a killed run is ours to remove. */
	docker_container_remove(r->op.c, name, 1, 1, &e);
	error_clear(&e);
	if (operation_step(&r->op, OP_STEP_CANDIDATE_CREATE, err) < 0 ||
	    docker_container_create(r->op.c, name, plan.create_body, &id, err) < 0)
		goto out;
	journal_set(&r->op.journal, OP_KEY_CANDIDATE_ID, json_string(id));
	if (operation_step(&r->op, OP_STEP_CANDIDATE_START, err) < 0)
		goto out;
	if (docker_container_start(r->op.c, id, err) < 0) {
		/* A start failure is a verdict too (bad mounts, bad command). */
		v->reasons = json_array();
		v->notes = json_array();
		json_array_append_new(v->reasons, json_pack("s", err->message));
		error_clear(err);
		v->ok = 0;
	} else {
		const char *files = t->profile->cpa ? "scratch copies of config.yaml and the auth dir"
				    : t->config_in_container ? "a scratch copy of the env file"
							     : "production's environment";
		if (r->o->shared_network)
			sayf(r, "candidate %s started on 127.0.0.1:%d (%s; --candidate-network shared: it can "
				"reach the network)", r->target_ref, r->o->test_port, files);
		else
			sayf(r, "candidate %s started with no network (%s), probed on its own port %d from "
				"inside its network namespace", r->target_ref, files, t->api_container_port);
		size_t seed_len;
		const char *seed = seed_data(r, &seed_len);
		int tls = runs_tls(r, seed, seed_len);
		/* Its logs dir is a scratch dir here: with logging-to-file, its log. */
		const char *log_file = t->profile->logs_dir && recreate_mount_at(t->inspect, t->profile->logs_dir)
					       ? logs_file.data
					       : NULL;
		/* Isolated: its own port, inside its namespace; shared: the test port. */
		if (operation_step(&r->op, OP_STEP_CANDIDATE_JUDGE, err) < 0 ||
		    (!r->o->shared_network && open_candidate_netns(r, id, &ns, err) < 0) ||
		    judge(r, id, r->o->shared_network ? NULL : &ns, tls, "127.0.0.1",
			  r->o->shared_network ? r->o->test_port : t->api_container_port, log_file, r->expected_version,
			  v, err) < 0)
			goto out;
	}
	read_rewrite(r);
	rc = 0;
out:
	if (id) {
		struct cpactl_error ignored = CPACTL_ERROR_INIT;
		operation_step(&r->op, OP_STEP_CANDIDATE_REMOVE, &ignored);
		error_clear(&ignored);
		docker_container_remove(r->op.c, id, 1, 1, &ignored);
	}
	netns_close(&ns);
	recreate_plan_release(&plan);
	free(name);
	free(id);
	buf_free(&cfg);
	buf_free(&auth);
	buf_free(&logs);
	buf_free(&plugins);
	buf_free(&logs_file);
	return rc;
}

int release_run_candidate(struct release *r, struct cpactl_error *err)
{
	if (prepare_scratch(r, err) < 0 || start_candidate(r, err) < 0)
		return -1;
	json_object_set_new(r->op.report, "candidate", verdict_to_json(&r->candidate));
	return 0;
}

int release_accept_candidate(struct release *r, struct cpactl_error *err)
{
	const struct cpa_target *t = r->op.t;
	const struct verdict *v = &r->candidate;

	if (v->version[0])
		json_object_set_new(json_object_get(r->op.report, "to"), "version", json_string(v->version));
	if (!v->ok && r->o->interrupted && *r->o->interrupted)
		return error_set(err, ERR_FAILED, "interrupted while the candidate %s was judged; production was not "
						  "touched",
				 r->target_ref);
	if (!v->ok) {
		verdict_say(r->op.say, r->op.ctx, "candidate", v);
		return error_set(err, ERR_FAILED, "the candidate %s failed its checks; production was not touched",
				 r->target_ref);
	}
	if (t->profile->cpa)
		sayf(r, "candidate passed: %s, %ld models, %ld clients, ready in %.0f ms",
		     v->version[0] ? v->version : "version unknown", v->models ? (long)json_array_size(v->models) : 0,
		     v->clients, v->ready_ms);
	else
		sayf(r, "candidate passed: %s answered healthy (HTTP %ld), ready in %.0f ms", t->probe_path,
		     v->http_status, v->ready_ms);
	verdict_say(r->op.say, r->op.ctx, "candidate", v); /* its notes: a pass has no reason */
	return 0;
}

/* --- the config diff, the plan ------------------------------------------------ */

json_t *release_masked_diff(const struct profile *p, const char *before, size_t before_len, const char *after,
			    size_t after_len, const char *after_label, struct cpactl_error *err)
{
	struct buf a = BUF_INIT, b = BUF_INIT, patch = BUF_INIT;
	json_t *out = NULL;

	if (profile_mask_settings(p, before ? before : "", before_len, &a, err) < 0 ||
	    profile_mask_settings(p, after ? after : "", after_len, &b, err) < 0 ||
	    history_diff("config.yaml", a.data ? a.data : "", a.len, after_label, b.data ? b.data : "", b.len, &patch,
			 err) < 0)
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

int release_show_diff(struct release *r, const char *intro, struct cpactl_error *err)
{
	json_t *diff = release_masked_diff(r->op.t->profile, r->config_before.data, r->config_before.len,
					   r->config_after.data, r->config_after.len,
					   r->candidate_rewrote ? "config.yaml (migrated)" : "config.yaml (new)", err);
	if (!diff)
		return -1;
	json_object_set_new(r->op.report, "config_diff", diff);
	sayf(r, "%s (secrets masked):\n%s", intro, json_string_value(diff));
	return 0;
}

/* Replaces each known secret inside the strings of `list` (a command, a
 * healthcheck test) by "***". */
static void redact_list(json_t *list, json_t *secrets)
{
	json_t *e;
	size_t i;

	json_array_foreach(list, i, e) {
		char *text = json_is_string(e) ? strdup(json_string_value(e)) : NULL;
		if (!text)
			continue;
		redact_secrets(text, secrets);
		json_array_set_new(list, i, json_string(text));
		memset(text, 0, strlen(text));
		free(text);
	}
}

/* The recreated container, for --dry-run, with every env value hidden and
 * the known secrets taken out of its command and healthcheck (a client key
 * in a curl header is common there). */
int release_plan(struct release *r, struct cpactl_error *err)
{
	struct recreate_options ro;
	struct recreate_plan plan;
	json_t *body, *env, *e, *masked;
	size_t i;

	memset(&ro, 0, sizeof(ro));
	ro.role = RECREATE_PRODUCTION;
	ro.new_image = r->target_ref;
	if (recreate_plan_build(r->op.t->inspect, r->old_image, &ro, &plan, err) < 0)
		return -1;
	body = json_deep_copy(plan.create_body);
	env = json_object_get(body, "Env");
	if (env) {
		masked = json_array();
		json_array_foreach(env, i, e) {
			const char *s = json_string_value(e);
			const char *eq = s ? strchr(s, '=') : NULL;
			json_array_append_new(masked, json_sprintf("%.*s=***", eq ? (int)(eq - s) : 0, s ? s : ""));
		}
		json_object_set_new(body, "Env", masked);
	}
	redact_list(json_object_get(body, "Cmd"), r->secrets);
	redact_list(json_object_get(body, "Entrypoint"), r->secrets);
	redact_list(json_object_get(json_object_get(body, "Healthcheck"), "Test"), r->secrets);
	json_object_set_new(r->op.report, "plan",
			    json_pack("{s:s,s:o,s:O,s:O}", "name", r->op.t->name, "create", body, "extra_networks",
				      plan.extra_networks, "notes", plan.notes));
	recreate_plan_release(&plan);
	return 0;
}

/* --- promotion ---------------------------------------------------------------- */

static int promotion_judge(void *ctx, const char *id, int old_release, struct verdict *v, struct cpactl_error *err)
{
	struct release *r = ctx;
	const char *host = probe_host_for_binding(r->op.t->api_host_ip);
	int rc;

	if (!old_release) {
		r->promoting = 1;
		rc = judge(r, id, NULL,
			   r->config_changes ? runs_tls(r, r->config_after.data, r->config_after.len) : r->op.t->tls,
			   host, r->op.t->api_host_port, NULL, r->expected_version, v, err);
		r->promoting = 0;
		return rc;
	}
	/* The old release is judged on what it was, not on the new bar. */
	r->judging_old = 1;
	rc = judge(r, id, NULL, r->op.t->tls, host, r->op.t->api_host_port, NULL, NULL, v, err);
	r->judging_old = 0;
	return rc;
}

int release_promote(struct release *r, const char *question, struct cpactl_error *err)
{
	struct recreate_options ro;
	struct recreate_plan plan;
	struct promotion p;
	char *failed = operation_kept_name(r->op.t->name, OP_KEPT_FAILED, r->op.id);
	int rc = -1;

	memset(&plan, 0, sizeof(plan));
	memset(&ro, 0, sizeof(ro));
	promotion_init(&p, &r->op);
	if (operation_confirm(&r->op, r->o->confirm, question, err) < 0 || pin_target(r, err) < 0)
		goto out;
	ro.role = RECREATE_PRODUCTION;
	ro.new_image = r->target_ref;
	if (recreate_plan_build(r->op.t->inspect, r->old_image, &ro, &plan, err) < 0)
		goto out;
	r->prev_name = operation_kept_name(r->op.t->name, OP_KEPT_PREV, r->op.id);
	p.old_restart = r->old_restart;
	p.config_before = &r->config_before;
	p.config_after = r->config_changes ? &r->config_after : NULL;
	p.create_body = plan.create_body;
	p.extra_networks = plan.extra_networks;
	p.interrupted = r->o->interrupted;
	p.prev_name = r->prev_name;
	p.failed_name = failed;
	p.judge = promotion_judge;
	p.ctx = r;
	rc = promote_run(&p, err);
	r->undo = p.undo;
	r->untouched = p.untouched;
	if (rc == 0 && p.config_after)
		sayf(r, "config.yaml: the %s file is now production's (the old one is in the snapshot)",
		     r->candidate_rewrote ? "migrated" : "new");
	r->new_id = p.new_id;
	p.new_id = NULL;
	if (rc == 0)
		json_object_set_new(r->op.report, "previous_container", json_string(r->prev_name));
out:
	promotion_release(&p);
	recreate_plan_release(&plan);
	free(failed);
	return rc;
}

/* The outcome a failed release reports: rolled-back or rollback-failed
 * after a promotion, declined when a person said no, else refused. */
static const char *failure_outcome(const struct release *r, const struct cpactl_error *err)
{
	if (r->undo == OP_UNDO_DONE)
		return UPGRADE_ROLLED_BACK;
	if (r->undo == OP_UNDO_FAILED)
		return UPGRADE_ROLLBACK_FAILED;
	return err->kind == ERR_DECLINED ? UPGRADE_DECLINED : UPGRADE_REFUSED;
}

void release_end(struct release *r, const char *outcome, int rc, const struct cpactl_error *err)
{
	if (rc < 0)
		outcome = failure_outcome(r, err);
	/* A failure in the middle of a promotion that could not be undone
	 * leaves the journal for `cpactl recover`. */
	operation_end(&r->op, outcome, rc == 0 || r->undo == OP_UNDO_DONE || !r->new_id || r->untouched);
	verdict_release(&r->candidate);
	json_decref(r->old_image);
	json_decref(r->new_image);
	json_decref(r->secrets);
	json_decref(r->prod_models);
	json_decref(r->old_restart);
	buf_wipe(&r->config_before);
	buf_wipe(&r->config_after);
	if (r->new_key) {
		memset(r->new_key, 0, strlen(r->new_key));
		free(r->new_key);
	}
	free(r->target_ref);
	free(r->prod_log_path);
	free(r->new_id);
	free(r->prev_name);
}
