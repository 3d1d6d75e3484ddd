/*
 * doctor.c - see doctor.h.
 *
 * Every check appends to the list through add() or the doctor_*_finding()
 * judges and records an out-of-memory in `nomem` instead of returning early:
 * the checks are independent, and the only failure doctor_check() reports is
 * running out of memory.
 */
#include "doctor.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "buf.h"
#include "config_check.h"
#include "container_files.h"
#include "cpa.h"
#include "deployment.h"
#include "atomic_file.h"
#include "health.h"
#include "history.h"
#include "yamlconf.h"
#include "image_version.h"
#include "journal.h"
#include "lock.h"
#include "rollback.h"
#include "verdict.h"
#include "secretmask.h"
#include "snapshot.h"


/* The variables CPA reads secrets from (see cpa-facts: the store back-ends). */
static const char *const secret_env_vars[] = {
	"MANAGEMENT_PASSWORD", "GITSTORE_GIT_TOKEN", "GITSTORE_GIT_PASSWORD", "OBJECTSTORE_SECRET_KEY",
	"OBJECTSTORE_ACCESS_KEY", "PGSTORE_DSN", NULL,
};

/* Set, they move config and auth into a remote store. */
static const char *const remote_store_vars[] = {
	"PGSTORE_DSN", "GITSTORE_GIT_URL", "OBJECTSTORE_ENDPOINT", NULL,
};

struct doctor_run {
	struct docker_client *c;
	const struct cpa_target *t;
	const struct doctor_options *o;
	struct finding_list *out;
	int nomem;
};

static void note(struct doctor_run *r, int rc)
{
	if (rc < 0)
		r->nomem = 1;
}

static void add(struct doctor_run *r, enum finding_severity severity, const char *code, const char *subject,
		const char *fix, const char *what_fmt, ...) __attribute__((format(printf, 6, 7)));
static void add(struct doctor_run *r, enum finding_severity severity, const char *code, const char *subject,
		const char *fix, const char *what_fmt, ...)
{
	va_list ap;

	va_start(ap, what_fmt);
	note(r, finding_addv(r->out, severity, code, subject, 0, fix, what_fmt, ap));
	va_end(ap);
}

/* --- the judges ------------------------------------------------------------ */

int doctor_binding_is_public(const char *host_ip)
{
	return !host_ip || !*host_ip || strcmp(host_ip, "0.0.0.0") == 0 || strcmp(host_ip, "::") == 0;
}

int doctor_probe_finding(struct finding_list *out, const char *container, long http_status,
			 const char *error_text, int key_sent, long models)
{
	const char *text = error_text ? error_text : "";

	if (http_status == 0)
		return finding_addf(out, FINDING_ERROR, "api-unreachable", container, 0,
				    "check that the container runs and that its API port is published to this "
				    "host ('docker port'), then look at 'docker logs'",
				    "/v1/models did not answer: %s", *text ? text : "no answer");
	if (http_status == 200) {
		if (models == 0)
			return finding_add(out, FINDING_WARNING, "api-no-models", container, 0,
					   "/v1/models answers with an empty list: no credential is loaded, so "
					   "every request will fail",
					   "add auth files to the auth dir or provider keys to config.yaml, and "
					   "look for error lines in 'docker logs'");
		return 0;
	}
	if (http_status == 403 && strstr(text, "unsafe_example_api_key"))
		return finding_add(out, FINDING_ERROR, "api-safe-mode", container, 0,
				   "CPA is in safe mode (403 unsafe_example_api_key): api-keys still holds the "
				   "example keys of the template, so every /v1 request is refused",
				   "replace the your-api-key-N entries of api-keys with keys of your own and "
				   "give them to the clients");
	if (http_status == 401 && strstr(text, "Missing API key")) {
		if (!key_sent)
			return finding_add(out, FINDING_ERROR, "api-key-missing", container, 0,
					   "/v1/models answered 401 Missing API key and cpactl had no client key to "
					   "send: config.yaml could not be read or its api-keys is empty while the "
					   "running CPA wants a key",
					   "make config.yaml readable to cpactl and list the client keys under "
					   "api-keys (CPA reloads the file by itself)");
		return finding_add(out, FINDING_ERROR, "api-key-missing", container, 0,
				   "/v1/models answered 401 Missing API key although cpactl sent the first key "
				   "of api-keys: something between the client and CPA drops the Authorization "
				   "header",
				   "let the reverse proxy or load balancer in front of CPA pass the "
				   "Authorization (or X-Api-Key) header through");
	}
	if (http_status == 401 && strstr(text, "Invalid API key"))
		return finding_add(out, FINDING_ERROR, "api-key-invalid", container, 0,
				   "/v1/models refused the first key of api-keys with 401 Invalid API key: the "
				   "running CPA holds other client keys than config.yaml (it did not reload it), "
				   "or the key is an upstream provider key put where a client key belongs",
				   "client keys go under api-keys and are what clients send; provider keys "
				   "(gemini-api-key, claude-api-key, codex-api-key ...) are only sent upstream and "
				   "CPA never accepts them from a client; fix api-keys or restart CPA so it "
				   "reloads config.yaml");
	/* Any other answer, a 401 with another body included: /v1/models is
	 * answered by CPA itself from the credentials it holds and never reaches
	 * an upstream, and CPA's only 401s on it are the two above, so another
	 * 401 comes from something that is not CPA's key check.  Bodies are not
	 * quoted: an answer from an unknown server may echo a key. */
	return finding_addf(out, FINDING_ERROR, "api-error", container, 0,
			    "look at 'docker logs' for the cause, then run 'cpactl status'",
			    "/v1/models answered HTTP %ld%s", http_status,
			    http_status == 401 ? ", which is not one of CPA's own key-check answers: is it CPA "
						 "that listens on this port?"
					       : "");
}

int doctor_memory_finding(struct finding_list *out, const char *container, long long memory_bytes)
{
	if (memory_bytes <= DOCTOR_MEMORY_LIMIT)
		return 0;
	return finding_addf(out, FINDING_WARNING, "memory-high", container, 0,
			    "look for a leak or a runaway request log ('docker logs'), restart the container, "
			    "and set a limit with 'docker update --memory'",
			    "the container uses %.0f MB of memory, more than the %lld MB a CPA should need",
			    (double)memory_bytes / 1048576.0, DOCTOR_MEMORY_LIMIT / 1048576);
}

int doctor_restart_finding(struct finding_list *out, const char *container, const char *state,
			   long restart_count, long uptime_seconds)
{
	int recent = uptime_seconds >= 0 && uptime_seconds < DOCTOR_RESTART_RECENT_SECONDS;

	if ((state && strcmp(state, "restarting") == 0) || (restart_count >= DOCTOR_RESTARTS_WARN && recent))
		return finding_addf(out, FINDING_ERROR, "restart-loop", container, 0,
				    "read 'docker logs' for why it exits (a bad config.yaml or auth dir, a "
				    "port in use), fix that, then 'docker restart' it",
				    "the container restarts over and over (%ld restarts so far)", restart_count);
	if (state && strcmp(state, "running") != 0)
		return finding_addf(out, FINDING_ERROR, "not-running", container, 0,
				    "read 'docker logs' for why it stopped, then 'docker start' it",
				    "the container is %s, not running", state);
	if (restart_count >= DOCTOR_RESTARTS_WARN)
		return finding_addf(out, FINDING_WARNING, "restart-count", container, 0,
				    "read 'docker logs' around the restarts: crashes or an out-of-memory kill",
				    "the container has restarted %ld times", restart_count);
	if (restart_count > 0)
		return finding_addf(out, FINDING_INFO, "restart-count", container, 0,
				    "nothing to do unless the count keeps growing",
				    "the container has restarted %ld time%s", restart_count,
				    restart_count == 1 ? "" : "s");
	return 0;
}

int doctor_secret_mode_finding(struct finding_list *out, const char *code, const char *path, mode_t mode,
			       const char *what)
{
	if (mode & S_IROTH)
		return finding_addf(out, FINDING_ERROR, code, path, 0,
				    "chmod go-rwx the files (0600) and their directory (0700)",
				    "%s under '%s' can be read by every local user, and it holds secrets", what,
				    path);
	if (mode & S_IRGRP)
		return finding_addf(out, FINDING_WARNING, code, path, 0,
				    "chmod go-rwx the files (0600) and their directory (0700)",
				    "%s under '%s' can be read by its group, and it holds secrets", what, path);
	return 0;
}

int doctor_snapshot_age_finding(struct finding_list *out, const char *root, time_t newest, time_t now)
{
	if (newest < 0)
		return finding_addf(out, FINDING_WARNING, "no-snapshot", root, 0,
				    "take one with 'cpactl backup', and schedule it daily",
				    "there is no snapshot under '%s': nothing to roll back to", root);
	if (now - newest > DOCTOR_SNAPSHOT_MAX_AGE)
		return finding_addf(out, FINDING_WARNING, "snapshot-old", root, 0,
				    "take one with 'cpactl backup', and schedule it daily",
				    "the newest snapshot under '%s' is %ld hours old", root,
				    (long)((now - newest) / 3600));
	return 0;
}

int doctor_disk_finding(struct finding_list *out, const char *root, unsigned long long free_bytes,
			unsigned long long last_snapshot_bytes)
{
	if (free_bytes >= last_snapshot_bytes)
		return 0;
	return finding_addf(out, FINDING_WARNING, "disk-low", root, 0,
			    "free space there, or run 'cpactl archive' to drop old snapshots and blobs",
			    "'%s' has %.1f MB free, less than the %.1f MB of the last snapshot: the next "
			    "backup may not fit",
			    root, (double)free_bytes / 1048576.0, (double)last_snapshot_bytes / 1048576.0);
}

/* --- the container ------------------------------------------------------- */

static void check_ports(struct doctor_run *r)
{
	json_t *inspect = r->t->inspect;
	json_t *ports = json_object_get(json_object_get(inspect, "NetworkSettings"), "Ports");
	json_t *bindings;
	const char *key;

	/* A stopped container has no runtime ports: look at what it asks for. */
	if (!json_is_object(ports) || json_object_size(ports) == 0)
		ports = json_object_get(json_object_get(inspect, "HostConfig"), "PortBindings");
	json_object_foreach(ports, key, bindings) {
		json_t *b;
		size_t i;
		json_array_foreach(bindings, i, b) {
			const char *ip = json_string_value(json_object_get(b, "HostIp"));
			const char *port = json_string_value(json_object_get(b, "HostPort"));
			if (!doctor_binding_is_public(ip))
				continue;
			char hint[200];
			snprintf(hint, sizeof(hint),
				 "publish it on the loopback only (-p 127.0.0.1:PORT:%d, or \"127.0.0.1:PORT:%d\" in "
				 "compose) and put a TLS reverse proxy in front when clients are remote",
				 atoi(key), atoi(key));
			add(r, FINDING_WARNING, "port-on-all-interfaces", key, hint,
			    "port %s of '%s' is published on all interfaces (%s:%s): anyone who reaches the "
			    "host reaches %s",
			    key, r->t->name, ip && *ip ? ip : "0.0.0.0", port ? port : "?",
			    r->t->profile->cpa ? "CPA" : "the proxy");
			break; /* one finding per port, whatever the address families */
		}
	}
}

static void check_runtime(struct doctor_run *r)
{
	json_t *host = json_object_get(r->t->inspect, "HostConfig");
	json_t *opt;
	size_t i;
	int no_new_privileges = 0;

	/* An env-file proxy takes its keys from the environment by design:
	 * check_env_file() looks at where they are written instead. */
	for (i = 0; r->t->profile->cpa && secret_env_vars[i]; i++) {
		const char *v = discover_env_value(r->t->inspect, secret_env_vars[i]);
		if (!v || !*v)
			continue;
		add(r, FINDING_WARNING, "secret-in-environment", secret_env_vars[i],
		    "move it into an env file readable by root only, or into config.yaml (a bcrypt-hashed "
		    "secret-key for the management password), and recreate the container",
		    "%s is set in the environment of '%s': anyone who may run 'docker inspect' reads it",
		    secret_env_vars[i], r->t->name);
	}
	for (i = 0; r->t->profile->cpa && remote_store_vars[i]; i++) {
		const char *v = discover_env_value(r->t->inspect, remote_store_vars[i]);
		if (!v || !*v)
			continue;
		add(r, FINDING_INFO, "remote-store", remote_store_vars[i],
		    "back up the store itself: cpactl's snapshots hold only the mounted files",
		    "%s is set: config and auth live in a remote store, not in the mounted files", remote_store_vars[i]);
		break;
	}
	json_array_foreach(json_object_get(host, "SecurityOpt"), i, opt) {
		const char *s = json_string_value(opt);
		if (s && (strcmp(s, "no-new-privileges") == 0 || strcmp(s, "no-new-privileges:true") == 0 ||
			  strcmp(s, "no-new-privileges=true") == 0))
			no_new_privileges = 1;
	}
	if (!no_new_privileges)
		add(r, FINDING_WARNING, "no-new-privileges", r->t->name,
		    "recreate it with --security-opt no-new-privileges (compose: security_opt: "
		    "[\"no-new-privileges:true\"])",
		    "'%s' runs without no-new-privileges: a process in it may gain privileges through "
		    "setuid binaries",
		    r->t->name);
	if (!r->t->restart_policy || strcmp(r->t->restart_policy, "no") == 0)
		add(r, FINDING_WARNING, "no-restart-policy", r->t->name,
		    "set one with 'docker update --restart unless-stopped' (compose: restart: unless-stopped)",
		    "'%s' has no restart policy: after a crash or a reboot it stays down", r->t->name);
	note(r, doctor_restart_finding(r->out, r->t->name, r->t->state, r->t->restart_count, r->t->uptime_seconds));
}

/* A health endpoint's answer (the profiles other than CPA's). */
static void check_health_endpoint(struct doctor_run *r, const struct health_report *h)
{
	const char *path = r->t->probe_path;

	if (!h->http_status)
		add(r, FINDING_ERROR, "api-unreachable", r->t->name,
		    "check that the container runs and that its API port is published to this host "
		    "('docker port'), then look at 'docker logs'",
		    "%s did not answer: %s", path, h->probe_error[0] ? h->probe_error : "no answer");
	else if (json_array_size(h->reasons))
		add(r, FINDING_ERROR, "api-error", r->t->name,
		    "look at 'docker logs' for the cause (an upstream key or URL that is wrong, a missing "
		    "setting), then run 'cpactl status'",
		    "%s answered HTTP %ld%s%s: the proxy does not say it is healthy", path, h->http_status,
		    h->probe_status[0] ? ", status " : "", h->probe_status);
}

/* Memory and the API, through the same look `cpactl status` takes. */
static void check_health(struct doctor_run *r)
{
	struct cpactl_error e = CPACTL_ERROR_INIT;
	struct health_report h;

	if (!r->t->state || strcmp(r->t->state, "running") != 0)
		return; /* not-running or restart-loop says it already */
	if (health_check(r->c, r->t, r->o->timeout_ms, 0, &h, &e) < 0) {
		r->nomem = 1;
		return;
	}
	note(r, doctor_memory_finding(r->out, r->t->name, h.memory_bytes));
	if (!r->t->has_api_port)
		add(r, FINDING_INFO, "api-not-published", r->t->name,
		    "publish the API port on 127.0.0.1 if the host should reach it",
		    "no host port reaches the API port of '%s', so /v1/models was not probed", r->t->name);
	else if (!r->t->profile->cpa)
		check_health_endpoint(r, &h);
	else if (h.safe_mode_page)
		add(r, FINDING_ERROR, "api-safe-mode", r->t->name,
		    "replace the your-api-key-N entries of api-keys with keys of your own and give them to the "
		    "clients, then restart the container",
		    "CPA runs its safe-mode warning page instead of the API server (its log says '%s'): api-keys "
		    "still holds the example keys of the template, so every /v1 request answers 404 (v7.1.46 to "
		    "v7.2.50)",
		    CPA_SAFE_MODE_PAGE_LINE);
	else if (h.cloud_standby)
		add(r, FINDING_ERROR, "api-standby", r->t->name,
		    "mount a config.yaml with a 'port:' where CPA reads it, or remove DEPLOY=cloud, then restart the "
		    "container",
		    "CPA runs in cloud deploy mode (DEPLOY=cloud) and found no usable config.yaml (missing, a "
		    "directory, or without 'port:'), so it stands by without its API server (its log says '%s')",
		    CPA_CLOUD_STANDBY_LINE);
	else if (r->t->cluster && h.http_status == 503)
		add(r, FINDING_ERROR, "cluster-heartbeat-down", r->t->name,
		    "check that CLIProxyAPIHome runs and is reachable from the node, and that no second process "
		    "runs with the node's HOME_JWT (a copy of the container, a test instance)",
		    "'%s' is a cluster node and %s answered 503: it has no heartbeat from CLIProxyAPIHome, so it "
		    "refuses every API request", r->t->name, r->t->probe_path);
	else if (r->t->cluster && h.http_status == 200)
		; /* /healthz: serving, and its keys and models are Home's business */
	else if (h.http_status || h.probe_error[0])
		note(r, doctor_probe_finding(r->out, r->t->name, h.http_status, h.probe_error, r->t->probe_key != NULL,
					     h.models));
	if (h.error_lines > 0)
		add(r, FINDING_INFO, "log-trouble", r->t->name, "read them with 'docker logs --tail 200'",
		    "%ld of the last %d log lines of '%s' look like trouble (logged as error, fatal or panic)",
		    h.error_lines, HEALTH_LOG_LINES, r->t->name);
	health_report_release(&h);
}

/* --- files ----------------------------------------------------------------- */

static int mount_read_only(json_t *inspect, const char *path)
{
	json_t *m = path ? discover_mount_of(json_object_get(inspect, "Mounts"), path) : NULL;
	return m && json_is_false(json_object_get(m, "RW"));
}

static void check_config(struct doctor_run *r)
{
	const struct cpa_target *t = r->t;
	struct cpactl_error e = CPACTL_ERROR_INIT;
	struct buf text = BUF_INIT;
	struct stat st;
	int is_dir = 0;

	if (t->config_host) {
		if (stat(t->config_host, &st) < 0) {
			add(r, FINDING_ERROR, "config-missing", t->config_host,
			    "put config.yaml back (from 'cpactl config show HEAD' or a snapshot) before the "
			    "container restarts: docker would create a directory there and CPA would not start",
			    "config.yaml '%s' does not exist on the host (%s)", t->config_host, strerror(errno));
			return;
		}
		if (S_ISDIR(st.st_mode)) {
			add(r, FINDING_ERROR, "config-is-directory", t->config_host,
			    "remove the directory, put config.yaml there as a file, and recreate the container",
			    "config.yaml '%s' is a directory: the path did not exist when the container was "
			    "created, so docker made one, and CPA fails with 'is a directory'",
			    t->config_host);
			return;
		}
		note(r, doctor_secret_mode_finding(r->out, "config-readable", t->config_host, st.st_mode & 0077,
						   "config.yaml"));
	} else if (t->config_storage && strcmp(t->config_storage, "container") == 0 && !t->cluster) {
		add(r, FINDING_INFO, "config-in-container", t->config_in_container,
		    "bind-mount config.yaml from the host (-v /opt/cliproxyapi/config.yaml:/CLIProxyAPI/config.yaml)",
		    "config.yaml lives in the filesystem of '%s' itself: it is lost when the container is "
		    "recreated",
		    t->name);
	}
	/* Only v6.5.37 to v6.7.53 persisted start-up migrations (and failed to
	 * start when they could not); later releases write back only the bcrypt
	 * hash of a plaintext secret-key, ignoring a failure. */
	if (mount_read_only(t->inspect, t->config_in_container) && t->version &&
	    cpa_version_compare(t->version, "6.5.37") >= 0 && cpa_version_compare(t->version, "6.8.0") < 0)
		add(r, FINDING_WARNING, "config-read-only", t->config_in_container,
		    "mount it read-write (drop ':ro'): CPA's web UI and its start-up migrations rewrite the file",
		    "config.yaml is mounted read-only in '%s': the web UI cannot save, and %s migrates legacy "
		    "keys on start and fails to start when it cannot write the file",
		    t->name, t->version);
	else if (mount_read_only(t->inspect, t->config_in_container))
		add(r, FINDING_INFO, "config-read-only", t->config_in_container,
		    "mount it read-write (drop ':ro') if you edit settings in the web UI",
		    "config.yaml is mounted read-only in '%s': the web UI cannot save it, and CPA cannot store "
		    "the hash of a plaintext secret-key (it goes on without)",
		    t->name);
	if (container_read_file_at(r->c, t->id, t->config_in_container, t->config_host, CPA_CONFIG_MAX, &text,
				   &is_dir, &e) < 0) {
		if (is_dir)
			add(r, FINDING_ERROR, "config-is-directory", t->config_path,
			    "remove the directory, put config.yaml there as a file, and recreate the container",
			    "config.yaml of '%s' is a directory, and CPA fails with 'is a directory'", t->name);
		else if (t->cluster)
			add(r, FINDING_INFO, "cluster-node", t->name,
			    "check its settings in CLIProxyAPIHome; upgrade it the way the cluster is run",
			    "'%s' is a CPA cluster node (%s): its config comes from CLIProxyAPIHome, so there is no "
			    "config.yaml to check, and cpactl upgrade refuses it",
			    t->name, t->cluster);
		else
			add(r, FINDING_WARNING, "config-unreadable", t->config_path,
			    "check the mount and the file's permissions",
			    "config.yaml of '%s' cannot be read, so it was not checked: %s", t->name, e.message);
		goto out;
	}
	{
		struct config_check_input in = { text.data ? text.data : "", text.len, "config.yaml", t->version };
		struct cpactl_error ce = CPACTL_ERROR_INIT;
		if (config_check(&in, r->out, &ce) < 0)
			r->nomem = 1;
	}
out:
	buf_wipe(&text);
}

/* The union of the group/other mode bits of `dir` and its top-level
 * entries. */
static mode_t loose_bits_of_dir(const char *dir, mode_t dir_mode)
{
	mode_t bits = dir_mode & 0077;
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return bits;
	while ((e = readdir(d)) != NULL) {
		struct buf p = BUF_INIT;
		struct stat st;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (buf_appendf(&p, "%s/%s", dir, e->d_name) == 0 && lstat(p.data, &st) == 0 && !S_ISLNK(st.st_mode))
			bits |= st.st_mode & 0077;
		buf_free(&p);
	}
	closedir(d);
	return bits;
}

/* The uid, and the gid when given, of a container's "user[:group]"; -1 for a
 * part that is a name (it cannot be resolved from here) or is absent. */
static void numeric_user(const char *user, long *uid, long *gid)
{
	const char *colon;
	char *end;

	*uid = 0;
	*gid = -1;
	if (!user || !*user)
		return;
	*uid = strtol(user, &end, 10);
	if (end == user || (*end && *end != ':'))
		*uid = -1;
	colon = strchr(user, ':');
	if (colon && colon[1]) {
		*gid = strtol(colon + 1, &end, 10);
		if (*end)
			*gid = -1;
	}
}

static void check_auth_dir(struct doctor_run *r)
{
	const struct cpa_target *t = r->t;
	struct stat st;
	long uid, gid;

	if (t->auth_storage && strcmp(t->auth_storage, "container") == 0)
		add(r, FINDING_INFO, "auth-in-container", t->auth_in_container,
		    "bind-mount the auth dir from the host (-v /opt/cliproxyapi/auth:/root/.cli-proxy-api)",
		    "the auth dir lives in the filesystem of '%s' itself: its tokens are lost when the "
		    "container is recreated",
		    t->name);
	if (t->auth_in_container && mount_read_only(t->inspect, t->auth_in_container))
		add(r, FINDING_ERROR, "auth-dir-read-only", t->auth_in_container,
		    "mount it read-write (drop ':ro')",
		    "the auth dir is mounted read-only in '%s': CPA cannot save refreshed OAuth tokens, and "
		    "the old ones stop working",
		    t->name);
	if (!t->auth_host)
		return;
	if (stat(t->auth_host, &st) < 0) {
		add(r, FINDING_ERROR, "auth-dir-missing", t->auth_host,
		    "restore it from a snapshot ('cpactl rollback --auth') or log in again, then restart CPA",
		    "the auth dir '%s' does not exist on the host (%s)", t->auth_host, strerror(errno));
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		add(r, FINDING_ERROR, "auth-dir-missing", t->auth_host, "replace it with a directory of auth files",
		    "the auth dir '%s' is not a directory", t->auth_host);
		return;
	}
	/* Root in the container writes anywhere; another user needs to own the
	 * directory, or to be in its group (as named by --user uid:gid) with
	 * group write, or the directory must be world-writable.  The group of a
	 * bare --user uid comes from the image's /etc/passwd, unknown here:
	 * only the owner and world bits are judged then. */
	numeric_user(json_string_value(json_object_get(json_object_get(t->inspect, "Config"), "User")), &uid,
		     &gid);
	if (uid > 0 && (uid_t)uid != st.st_uid && !(st.st_mode & S_IWOTH) &&
	    !(gid >= 0 && (gid_t)gid == st.st_gid && (st.st_mode & S_IWGRP)))
		add(r, FINDING_ERROR, "auth-dir-not-writable", t->auth_host,
		    "chown the auth dir to the container's user",
		    "the container runs as uid %ld, which cannot write the auth dir '%s' (owned by uid %ld)", uid,
		    t->auth_host, (long)st.st_uid);
	note(r, doctor_secret_mode_finding(r->out, "auth-readable", t->auth_host,
					   loose_bits_of_dir(t->auth_host, st.st_mode), "the auth dir or a file"));
}

/* --- the deployment --------------------------------------------------------- */

static time_t parse_created(json_t *snapshot)
{
	const char *created = json_string_value(json_object_get(snapshot, "created"));
	const char *id = json_string_value(json_object_get(snapshot, "id"));
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (created && strptime(created, "%Y-%m-%dT%H:%M:%S", &tm))
		return timegm(&tm);
	memset(&tm, 0, sizeof(tm));
	if (id && strptime(id, "%Y%m%d-%H%M%S", &tm))
		return timegm(&tm);
	return 0;
}

/* 1 when `dir` can be opened or does not exist (no snapshot yet), else 0
 * with the reason in `e`. */
static int dir_listable(const char *dir, struct cpactl_error *e)
{
	DIR *d = opendir(dir);

	if (d) {
		closedir(d);
		return 1;
	}
	if (errno == ENOENT)
		return 1;
	error_set_errno(e, errno, ERR_IO, "cannot open '%s'", dir);
	return 0;
}

static void check_snapshots(struct doctor_run *r, const struct deployment *d)
{
	struct cpactl_error e = CPACTL_ERROR_INIT;
	json_t *list = NULL, *item, *newest, *report = NULL;
	mode_t loose = 0;
	struct statvfs vfs;
	struct stat st;
	size_t i;
	int all_ok = 1;

	/* snapshot_list() passes over a directory it cannot open, which would
	 * read as "no snapshot": say why instead. */
	if (!dir_listable(d->backup_dir, &e) || !dir_listable(d->archive_dir, &e)) {
		add(r, FINDING_WARNING, "snapshots-unreadable", d->root,
		    "run cpactl as the user who owns the deployment root (or as root), or fix the permissions "
		    "of ROOT/backup and ROOT/archive",
		    "the snapshots under '%s' cannot be listed: %s", d->root, e.message);
		return;
	}
	if (snapshot_list(d, &list, &e) < 0) {
		add(r, FINDING_WARNING, "snapshots-unreadable", d->root, "check the permissions of the root",
		    "the snapshots under '%s' cannot be listed: %s", d->root, e.message);
		return;
	}
	if (stat(d->backup_dir, &st) == 0)
		loose |= st.st_mode & 0077;
	if (stat(d->archive_dir, &st) == 0)
		loose |= st.st_mode & 0077;
	json_array_foreach(list, i, item) {
		const char *path = json_string_value(json_object_get(item, "path"));
		if (path && *path && stat(path, &st) == 0)
			loose |= loose_bits_of_dir(path, st.st_mode);
	}
	note(r, doctor_secret_mode_finding(r->out, "snapshot-readable", d->root, loose, "a snapshot"));

	/* The list is oldest first. */
	newest = json_array_size(list) ? json_array_get(list, json_array_size(list) - 1) : NULL;
	note(r, doctor_snapshot_age_finding(r->out, d->root, newest ? parse_created(newest) : -1, r->o->now));
	if (!newest)
		goto out;
	if (snapshot_verify(d, json_string_value(json_object_get(newest, "id")), &report, &all_ok, &e) < 0) {
		add(r, FINDING_ERROR, "snapshot-verify-failed", json_string_value(json_object_get(newest, "id")),
		    "run 'cpactl verify' for the details and take a new snapshot with 'cpactl backup'",
		    "the newest snapshot could not be verified: %s", e.message);
	} else if (!all_ok) {
		json_t *problems = json_object_get(json_array_get(report, 0), "problems");
		add(r, FINDING_ERROR, "snapshot-verify-failed", json_string_value(json_object_get(newest, "id")),
		    "run 'cpactl verify' for the details and take a new snapshot with 'cpactl backup'",
		    "the newest snapshot, %s, fails verification: %s%s",
		    json_string_value(json_object_get(newest, "id")),
		    json_string_value(json_array_get(problems, 0)) ?: "see 'cpactl verify'",
		    json_array_size(problems) > 1 ? " (and more)" : "");
	}
	if (statvfs(d->root, &vfs) == 0)
		note(r, doctor_disk_finding(r->out, d->root, (unsigned long long)vfs.f_bavail * vfs.f_frsize,
					    (unsigned long long)json_integer_value(json_object_get(newest, "bytes"))));
	{
		/* The runbook's fourth rule: a working way back.  After an
		 * upgrade that is its snapshot (`cpactl rollback` with no ID). */
		char *last = rollback_default_snapshot(d, r->t);
		int found = 0;
		json_array_foreach(list, i, item)
			if (last && strcmp(json_string_value(json_object_get(item, "id")), last) == 0)
				found = 1;
		if (last && !found)
			add(r, FINDING_WARNING, "no-rollback-path", d->root,
			    "take a snapshot now ('cpactl backup') so that a later upgrade has a way back; name an "
			    "older snapshot to 'cpactl rollback' if one fits",
			    "the snapshot of the last upgrade, %s, is gone: 'cpactl rollback' with no ID has nothing "
			    "to go back to",
			    last);
		free(last);
	}
out:
	json_decref(report);
	json_decref(list);
}

static void check_deployment(struct doctor_run *r)
{
	struct cpactl_error e = CPACTL_ERROR_INIT;
	struct deployment d;
	json_t *journal = NULL;
	struct stat st;

	if (deployment_resolve(r->t, r->o->root, &d, &e) < 0) {
		add(r, FINDING_INFO, "no-deployment-root", r->t->name,
		    "name the deployment root with --root DIR (or CPACTL_ROOT)",
		    "snapshots, the journal and the disk were not checked: %s", e.message);
		return;
	}
	if (stat(d.root, &st) < 0) {
		add(r, FINDING_WARNING, "no-snapshot", d.root, "take one with 'cpactl backup', and schedule it daily",
		    "the deployment root '%s' does not exist: there is no snapshot", d.root);
		goto out;
	}
	if (st.st_mode & (S_IROTH | S_IXOTH))
		add(r, FINDING_WARNING, "root-readable", d.root, "chmod 0700 it (or o-rwx)",
		    "the deployment root '%s' is open to every local user (mode %04o)", d.root,
		    (unsigned)(st.st_mode & 07777));
	if (deployment_check_trust(&d, &e) < 0) {
		/* Nothing there is read: a forged journal or snapshot would lie. */
		add(r, FINDING_ERROR, "untrusted-state", d.root,
		    "make the root and its backup/, archive/ and .cpactl/ owned by root or the user running cpactl "
		    "and not writable by group or others, or use another --root",
		    "%s", e.message);
		goto out;
	}
	if (journal_load(&d, &journal, &e) < 0) {
		add(r, FINDING_WARNING, "journal-unreadable", d.root, "check the permissions of ROOT/.cpactl",
		    "the journal cannot be read: %s", e.message);
	} else if (journal && lock_holder(d.lock_path) > 0) {
		/* Its cpactl still runs: nothing to recover, and production may be
		 * between two containers for a moment. */
		add(r, FINDING_INFO, "operation-in-progress", d.root, "wait for it to finish",
		    "a '%s' (id %s) is in progress (pid %ld), at step '%s'",
		    json_string_value(json_object_get(journal, "operation")) ?: "?",
		    json_string_value(json_object_get(journal, "id")) ?: "?", lock_holder(d.lock_path),
		    json_string_value(json_object_get(journal, "step")) ?: "?");
	} else if (journal) {
		add(r, FINDING_ERROR, "unfinished-operation", d.root,
		    "run 'cpactl recover' to finish or undo it; other changes are refused until then",
		    "an unfinished '%s' (id %s) stopped at step '%s'",
		    json_string_value(json_object_get(journal, "operation")) ?: "?",
		    json_string_value(json_object_get(journal, "id")) ?: "?",
		    json_string_value(json_object_get(journal, "step")) ?: "?");
	}
	check_snapshots(r, &d);
out:
	json_decref(journal);
	deployment_release(&d);
}

/* The env file of a proxy that keeps its settings in one: its mode, and
 * whether git has it (or a compose file holding one of its secrets). */
static void check_env_file(struct doctor_run *r)
{
	const struct cpa_target *t = r->t;
	const char *files = json_string_value(json_object_get(t->compose, "config_files"));
	struct cpactl_error e = CPACTL_ERROR_INIT;
	struct stat st;
	int tracked = 0;

	if (!t->config_host) {
		add(r, FINDING_INFO, "env-file-unknown", t->name,
		    "keep the settings in an env file readable by root only (compose: env_file: .env) and name it "
		    "with --env-file, so backups and rollbacks carry it",
		    "no env file of '%s' was found: its settings and keys are only in the container's "
		    "environment", t->name);
	} else if (stat(t->config_host, &st) < 0) {
		add(r, FINDING_ERROR, "env-file-missing", t->config_host,
		    "put it back from a snapshot (ROOT/backup/<ID>/settings.env) before the container is recreated",
		    "the env file '%s' does not exist (%s)", t->config_host, strerror(errno));
	} else {
		note(r, doctor_secret_mode_finding(r->out, "env-file-readable", t->config_host, st.st_mode & 0077,
						   "the env file"));
		if (history_file_in_git(t->config_host, &tracked, &e) < 0)
			add(r, FINDING_INFO, "env-file-committed", t->config_host, "check the repository by hand",
			    "cannot tell whether git tracks the env file: %s", e.message);
		else if (tracked)
			add(r, FINDING_ERROR, "env-file-committed", t->config_host,
			    "remove it from git (git rm --cached), add it to .gitignore, and change the keys it held: "
			    "whoever can read the repository or its history has them",
			    "the env file '%s' is committed to a git repository with its keys", t->config_host);
	}
	/* A compose file that is committed and spells a key out. */
	if (files && *files) {
		struct buf one = BUF_INIT, text = BUF_INIT;
		json_t *secrets = env_secret_values(t->inspect, NULL), *s;
		size_t n = strcspn(files, ","), i;
		int has_secret = 0;
		char *data = NULL;
		size_t len = 0;
		const char *workdir = json_string_value(json_object_get(t->compose, "working_dir"));

		if (*files != '/' && workdir && *workdir) /* as compose v1 records it */
			buf_appendf(&one, "%s/", workdir);
		buf_append(&one, files, n);
		error_clear(&e);
		if (one.len && read_small_file(one.data, CPA_CONFIG_MAX, &data, &len, &e) == 0) {
			buf_append(&text, data, len);
			json_array_foreach(secrets, i, s)
				if (json_string_length(s) >= 8 && memmem(text.data, text.len, json_string_value(s),
									 json_string_length(s)))
					has_secret = 1;
			if (has_secret && history_file_in_git(one.data, &tracked, &e) == 0 && tracked)
				add(r, FINDING_ERROR, "secret-committed", one.data,
				    "move the keys into the env file (env_file: .env, kept out of git) and change them",
				    "the compose file '%s' holds a key in clear and is committed to a git repository",
				    one.data);
		}
		if (data)
			memset(data, 0, len);
		free(data);
		buf_wipe(&text);
		buf_free(&one);
		json_decref(secrets);
	}
}

/* An image built from a directory that held the .env (claude-code-proxy's
 * Dockerfile does ADD . /app; only a .dockerignore keeps .env out) carries
 * its keys in every copy of the image: registries, other hosts, snapshots.
 * Learned from a container of the image that is created, never started. */
static void check_image_env_file(struct doctor_run *r)
{
	const struct cpa_target *t = r->t;
	const char *workdir = json_string_value(json_object_get(json_object_get(t->inspect, "Config"), "WorkingDir"));
	struct cpactl_error e = CPACTL_ERROR_INIT;
	struct buf path = BUF_INIT;
	int present = 0;

	if (!t->image_id || !workdir || workdir[0] != '/')
		return;
	buf_appendf(&path, "%s/.env", strcmp(workdir, "/") != 0 ? workdir : "");
	if (image_file_present(r->c, t->image_id, buf_str(&path), &present, &e) < 0)
		add(r, FINDING_INFO, "image-unchecked", t->image ? t->image : t->image_id,
		    "look for it with: docker create IMAGE, docker cp, docker rm",
		    "cannot tell whether the image holds %s: %s", buf_str(&path), e.message);
	else if (present)
		add(r, FINDING_ERROR, "image-holds-env-file", t->image ? t->image : t->image_id,
		    "change the keys it holds, put .env in a .dockerignore and rebuild, then remove the old image "
		    "from every registry and host (cpactl keeps snapshot images readable by root only)",
		    "the image of '%s' holds %s (built with the build directory's .env in it): its keys are in "
		    "every copy of the image",
		    t->name, buf_str(&path));
	error_clear(&e);
	buf_free(&path);
}

/* The compose service that runs the container, as its files say: a
 * `pull_policy: always` makes the next `docker compose up` pull a release
 * nobody tested and put it in production; a `build:` section rebuilds the
 * image on `up --build` the same way.  Either undoes what cpactl tested. */
static void check_compose_file(struct doctor_run *r)
{
	const struct cpa_target *t = r->t;
	const char *files = json_string_value(json_object_get(t->compose, "config_files"));
	const char *service = json_string_value(json_object_get(t->compose, "service"));
	const char *workdir = json_string_value(json_object_get(t->compose, "working_dir"));
	const char *p = files;

	while (p && *p && service) {
		size_t n = strcspn(p, ",");
		struct buf one = BUF_INIT;
		struct cpactl_error e = CPACTL_ERROR_INIT;
		char *data = NULL;
		size_t len = 0;
		json_t *doc = NULL, *svc;

		/* compose v1 records the files as given on its command line:
		 * relative to the project's working dir. */
		if (*p != '/' && workdir && *workdir)
			buf_appendf(&one, "%s/", workdir);
		buf_append(&one, p, n);
		p += n + (p[n] == ',');
		if (read_small_file(one.data, CPA_CONFIG_MAX, &data, &len, &e) < 0 ||
		    yaml_parse(data, len, one.data, &doc, &e) < 0) {
			add(r, FINDING_INFO, "compose-unread", one.data, "make it readable to cpactl",
			    "the compose file '%s' of '%s' was not checked: %s", one.data, t->name, e.message);
		} else if ((svc = json_object_get(json_object_get(doc, "services"), service)) != NULL) {
			const char *policy = json_string_value(json_object_get(svc, "pull_policy"));
			if (policy && strcmp(policy, "always") == 0)
				add(r, FINDING_WARNING, "compose-pull-always", one.data,
				    "set pull_policy: missing for the service and upgrade with 'cpactl upgrade', which "
				    "tests a release before production gets it",
				    "service '%s' of '%s' has pull_policy: always: the next 'docker compose up' pulls "
				    "whatever the tag is then and replaces '%s' with it, untested",
				    service, one.data, t->name);
			if (json_object_get(svc, "build"))
				add(r, FINDING_WARNING, "compose-build", one.data,
				    "build and tag the image first (docker compose build), then upgrade to that tag "
				    "with 'cpactl upgrade --image TAG --no-pull'",
				    "service '%s' of '%s' has a build: section: 'docker compose up --build' rebuilds "
				    "the image and replaces '%s' with it, untested",
				    service, one.data, t->name);
		}
		if (data)
			memset(data, 0, len);
		free(data);
		json_decref(doc);
		buf_free(&one);
	}
}

int doctor_check(struct docker_client *c, const struct cpa_target *t, const struct doctor_options *o,
		 struct finding_list *out, struct cpactl_error *err)
{
	struct doctor_run r = { c, t, o, out, 0 };

	check_ports(&r);
	check_runtime(&r);
	check_health(&r);
	if (t->profile->cpa) {
		check_config(&r);
		check_auth_dir(&r);
	} else {
		check_env_file(&r);
		check_image_env_file(&r);
	}
	check_compose_file(&r);
	check_deployment(&r);
	if (r.nomem)
		return error_set(err, ERR_NOMEM, "out of memory");
	finding_list_sort(out);
	return 0;
}
