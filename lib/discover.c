/*
 * discover.c - see discover.h.
 */
#include "discover.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "buf.h"
#include "container_files.h"
#include "cpa.h"
#include "image_version.h"
#include "operation.h"
#include "yamlconf.h"

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

#define add_problem(t, ...) json_array_appendf((t)->problems, __VA_ARGS__)

/* Seconds since an RFC 3339 time, or -1. */
static long seconds_since(const char *rfc3339)
{
	struct tm tm;
	const char *rest;
	time_t then;

	if (!rfc3339 || strncmp(rfc3339, "0001-", 5) == 0)
		return -1;
	memset(&tm, 0, sizeof(tm));
	rest = strptime(rfc3339, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!rest)
		return -1;
	then = timegm(&tm);
	return (long)(time(NULL) - then);
}

json_t *discover_mount_of(json_t *mounts, const char *path)
{
	json_t *m, *best = NULL;
	size_t i, best_len = 0;

	json_array_foreach(mounts, i, m) {
		const char *dest = json_string_value(json_object_get(m, "Destination"));
		size_t n = dest ? strlen(dest) : 0;
		if (!n || strncmp(path, dest, n) != 0 || (path[n] != '\0' && path[n] != '/'))
			continue;
		if (n > best_len) {
			best = m;
			best_len = n;
		}
	}
	return best;
}

/* Maps a path inside the container to where it lives, from the mounts. */
static void locate(json_t *mounts, const char *path, char **where, char **storage)
{
	json_t *best = discover_mount_of(mounts, path);
	size_t best_len = best ? strlen(json_string_value(json_object_get(best, "Destination"))) : 0;
	struct buf b = BUF_INIT;

	if (!best) {
		buf_appendf(&b, "container:%s", path);
		*storage = strdup("container");
	} else {
		const char *type = json_string_value(json_object_get(best, "Type"));
		const char *rest = path + best_len;
		if (type && strcmp(type, "volume") == 0) {
			buf_appendf(&b, "volume:%s%s", json_string_value(json_object_get(best, "Name")), rest);
			*storage = strdup("volume");
		} else {
			buf_appendf(&b, "%s%s", json_string_value(json_object_get(best, "Source")), rest);
			*storage = strdup(type ? type : "bind");
		}
	}
	*where = buf_detach(&b);
}

/* The config path CPA reads: the -config argument, else the default. */
static char *config_path_in_container(json_t *inspect)
{
	json_t *args = json_object_get(inspect, "Args");
	const char *workdir = json_string_value(json_object_get(json_object_get(inspect, "Config"), "WorkingDir"));
	const char *value = NULL;
	json_t *a;
	size_t i;
	struct buf b = BUF_INIT;

	json_array_foreach(args, i, a) {
		const char *s = json_string_value(a);
		if (!s)
			continue;
		if (strcmp(s, "-config") == 0 || strcmp(s, "--config") == 0) {
			value = json_string_value(json_array_get(args, i + 1));
			break;
		}
		if (strncmp(s, "-config=", 8) == 0) {
			value = s + 8;
			break;
		}
		if (strncmp(s, "--config=", 9) == 0) {
			value = s + 9;
			break;
		}
	}
	if (!value || !*value)
		return strdup(CPA_CONFIG_PATH);
	if (value[0] == '/')
		return strdup(value);
	buf_appendf(&b, "%s/%s", workdir && *workdir ? workdir : CPA_WORKDIR,
		    strncmp(value, "./", 2) == 0 ? value + 2 : value);
	return buf_detach(&b);
}

static void find_api_port(struct cpa_target *t, json_t *inspect)
{
	json_t *host_config = json_object_get(inspect, "HostConfig");
	const char *mode = json_string_value(json_object_get(host_config, "NetworkMode"));
	json_t *ports = json_object_get(json_object_get(inspect, "NetworkSettings"), "Ports");
	json_t *bindings, *first = NULL;
	char key[32];
	size_t i;
	json_t *b;

	snprintf(key, sizeof(key), "%d/tcp", t->api_container_port);
	if (mode && strcmp(mode, "host") == 0) {
		t->has_api_port = 1;
		snprintf(t->api_host_ip, sizeof(t->api_host_ip), "0.0.0.0");
		t->api_host_port = t->api_container_port;
		return;
	}
	/* A stopped container has no runtime ports: fall back to what it asked for. */
	bindings = json_object_get(ports, key);
	if (!json_is_array(bindings) || json_array_size(bindings) == 0)
		bindings = json_object_get(json_object_get(host_config, "PortBindings"), key);
	/* Prefer an IPv4 binding: it is what the runbook probes. */
	json_array_foreach(bindings, i, b) {
		const char *ip = json_string_value(json_object_get(b, "HostIp"));
		if (!first || (ip && !strchr(ip, ':')))
			first = b;
		if (ip && !strchr(ip, ':'))
			break;
	}
	if (!first)
		return;
	{
		const char *ip = json_string_value(json_object_get(first, "HostIp"));
		const char *port = json_string_value(json_object_get(first, "HostPort"));
		if (!port || !*port)
			return;
		t->has_api_port = 1;
		snprintf(t->api_host_ip, sizeof(t->api_host_ip), "%s", ip && *ip ? ip : "0.0.0.0");
		t->api_host_port = atoi(port);
	}
}

static void read_compose(struct cpa_target *t, json_t *labels)
{
	const char *project = json_string_value(json_object_get(labels, "com.docker.compose.project"));
	const char *service = json_string_value(json_object_get(labels, "com.docker.compose.service"));
	const char *dir = json_string_value(json_object_get(labels, "com.docker.compose.project.working_dir"));
	const char *files = json_string_value(json_object_get(labels, "com.docker.compose.project.config_files"));

	if (!project && !service)
		return;
	t->compose = json_pack("{s:s?,s:s?,s:s?,s:s?}", "project", project, "service", service,
			       "working_dir", dir, "config_files", files);
}

/* The profile a container names itself (label), or its image suggests. */
static const struct profile *profile_of_inspect(json_t *inspect)
{
	json_t *config = json_object_get(inspect, "Config");
	const char *label = json_string_value(json_object_get(json_object_get(config, "Labels"), CPACTL_PROFILE_LABEL));
	const struct profile *p = profile_by_name(label);

	if (!p)
		p = profile_for_image(json_string_value(json_object_get(config, "Image")));
	return p ? p : &profile_cpa;
}

int cpa_target_from_inspect(json_t *inspect, struct cpa_target *t, struct cpactl_error *err)
{
	return target_from_inspect(inspect, profile_of_inspect(inspect), t, err);
}

int target_from_inspect(json_t *inspect, const struct profile *profile, struct cpa_target *t,
			struct cpactl_error *err)
{
	json_t *config = json_object_get(inspect, "Config");
	json_t *state = json_object_get(inspect, "State");
	json_t *host_config = json_object_get(inspect, "HostConfig");
	const char *name = json_string_value(json_object_get(inspect, "Name"));

	memset(t, 0, sizeof(*t));
	t->profile = profile;
	t->probe_path = strdup(profile->probe_path);
	t->inspect = json_incref(inspect);
	t->problems = json_array();
	t->providers = json_object();
	t->auth_files = json_object();
	t->allow_remote = -1;
	t->uptime_seconds = -1;
	t->api_container_port = profile->api_port;
	if (!json_is_object(inspect) || !json_is_object(config) || !name)
		return error_set(err, ERR_ENGINE, "the engine's inspect data lacks Name or Config");
	t->name = strdup(name[0] == '/' ? name + 1 : name);
	t->id = dup_or_null(json_string_value(json_object_get(inspect, "Id")));
	t->image = dup_or_null(json_string_value(json_object_get(config, "Image")));
	t->image_id = dup_or_null(json_string_value(json_object_get(inspect, "Image")));
	t->state = dup_or_null(json_string_value(json_object_get(state, "Status")));
	t->started_at = dup_or_null(json_string_value(json_object_get(state, "StartedAt")));
	if (json_is_true(json_object_get(state, "Running")))
		t->uptime_seconds = seconds_since(t->started_at);
	t->restart_count = (long)json_integer_value(json_object_get(inspect, "RestartCount"));
	t->restart_policy = dup_or_null(json_string_value(
		json_object_get(json_object_get(host_config, "RestartPolicy"), "Name")));
	if (t->restart_policy && !*t->restart_policy) {
		free(t->restart_policy);
		t->restart_policy = strdup("no");
	}
	t->tty = json_is_true(json_object_get(config, "Tty"));
	read_compose(t, json_object_get(config, "Labels"));
	if (!profile->cpa) {
		if (!t->name || !t->id || !t->problems || !t->providers || !t->auth_files || !t->probe_path)
			return error_set(err, ERR_NOMEM, "out of memory");
		return 0;
	}
	t->config_in_container = config_path_in_container(inspect);
	locate(json_object_get(inspect, "Mounts"), t->config_in_container, &t->config_path,
	       &t->config_storage);
	/* With a remote store, the files cpactl sees are not what CPA uses; a
	 * cluster node has its config from CLIProxyAPIHome (cmd/server/main.go
	 * reads both spellings of each variable). */
	if (t->profile->cpa) {
		t->remote_store = cpa_remote_store_var(inspect);
		t->cluster = cpa_cluster_marker(inspect);
	}
	if (t->cluster) {
		/* Its client keys live in Home, so /v1/models would answer 401 to
		 * cpactl; /healthz needs no key and answers 503 while the node's
		 * Home heartbeat is down (internal/api/server_middleware.go).
		 * --probe-path still overrides. */
		free(t->probe_path);
		t->probe_path = strdup(CPA_CLUSTER_PROBE_PATH);
	}
	if (t->remote_store)
		add_problem(t, "config and auth live in a remote store (%s is set): the mounted files are not what "
			       "CPA uses",
			    t->remote_store);
	if (!t->name || !t->id || !t->problems || !t->providers || !t->auth_files || !t->probe_path ||
	    !t->config_in_container || !t->config_path)
		return error_set(err, ERR_NOMEM, "out of memory");
	return 0;
}

int discover_storage_persists(const char *storage)
{
	return storage && (strcmp(storage, "bind") == 0 || strcmp(storage, "volume") == 0);
}

/* The host path to read directly, for a bind mount on a local engine. */
static char *host_path_of(struct docker_client *c, const char *storage, const char *where)
{
	if (!docker_client_is_local(c) || !storage || strcmp(storage, "bind") != 0 || !where || where[0] != '/')
		return NULL;
	return strdup(where);
}

static void read_config(struct docker_client *c, struct cpa_target *t)
{
	struct cpactl_error e = CPACTL_ERROR_INIT;
	struct buf text = BUF_INIT;
	struct cpa_config_summary s;
	json_t *doc = NULL;
	int is_dir = 0;

	memset(&s, 0, sizeof(s));
	t->config_host = host_path_of(c, t->config_storage, t->config_path);
	if (container_read_file_at(c, t->id, t->config_in_container, t->config_host, CPA_CONFIG_MAX, &text,
				   &is_dir, &e) < 0) {
		if (is_dir)
			add_problem(t, "config.yaml at '%s' is a directory (the host path did not exist "
				       "when the container was created, so docker made a directory)",
				    t->config_path);
		else if (!t->cluster)
			add_problem(t, "config.yaml cannot be read: %s", e.message);
		/* A cluster node without a config.yaml is as it should be. */
		goto out;
	}
	if (yaml_parse(text.data ? text.data : "", text.len, "config.yaml", &doc, &e) < 0) {
		add_problem(t, "config.yaml is not valid YAML: %s", e.message);
		goto out;
	}
	if (cpa_config_summarize(doc, &s) < 0) {
		add_problem(t, "config.yaml is not a YAML mapping");
		goto out;
	}
	t->config_ok = 1;
	t->api_container_port = (int)s.port;
	if (!s.port_set)
		add_problem(t, "config.yaml has no 'port:': CPA then listens on a random port (only cluster mode "
			       "forces %d), so no published port reaches it; cpactl assumes %d",
			    CPA_API_PORT, CPA_API_PORT);
	t->allow_remote = s.allow_remote;
	t->tls = s.tls;
	t->secret_key_set = s.secret_key_set;
	t->api_keys = s.api_keys;
	json_decref(t->providers);
	t->providers = json_incref(s.providers);
	t->probe_key = s.first_api_key;
	s.first_api_key = NULL;
	{
		const char *workdir = json_string_value(
			json_object_get(json_object_get(t->inspect, "Config"), "WorkingDir"));
		t->auth_in_container = cpa_resolve_auth_dir(s.auth_dir, workdir, discover_env_value(t->inspect, "HOME"));
	}
out:
	if (!t->auth_in_container)
		t->auth_in_container = strdup(CPA_AUTH_DIR);
	cpa_config_summary_release(&s);
	json_decref(doc);
	buf_wipe(&text);
}

static void read_auth_dir(struct docker_client *c, struct cpa_target *t)
{
	struct cpactl_error e = CPACTL_ERROR_INIT;
	json_t *list = NULL, *f;
	size_t i;

	locate(json_object_get(t->inspect, "Mounts"), t->auth_in_container, &t->auth_dir, &t->auth_storage);
	t->auth_host = host_path_of(c, t->auth_storage, t->auth_dir);
	if (container_list_dir_at(c, t->id, t->auth_in_container, t->auth_host, &list, &e) < 0) {
		add_problem(t, "the auth dir cannot be listed: %s", e.message);
		return;
	}
	json_array_foreach(list, i, f) {
		const char *type = json_string_value(json_object_get(f, "type"));
		const char *provider;
		if (!type || strcmp(type, "file") != 0)
			continue;
		provider = cpa_auth_provider(json_string_value(json_object_get(f, "name")));
		if (!provider)
			continue;
		json_object_set_new(t->auth_files, provider,
				    json_integer(json_integer_value(json_object_get(t->auth_files, provider)) + 1));
	}
	json_decref(list);
}

static void read_version(struct docker_client *c, struct cpa_target *t, int skip)
{
	struct cpactl_error e = CPACTL_ERROR_INIT;
	char version[64];
	const char *path = json_string_value(json_object_get(t->inspect, "Path"));
	const char *binary = path && path[0] == '/' && strstr(path, "CLIProxyAPI") ? path : CPA_BINARY;
	int rc = 1;

	/* The image's own binary says, in a throwaway container (never by exec
	 * in this one: from v7.2.93 --version loads its plugins); CPA exits 2
	 * after printing it (there is no --version flag), so the exit code says
	 * nothing. */
	if (!skip)
		rc = image_version_read(c, t->image_id, binary, version, sizeof(version), &e);
	if (rc == 0) {
		t->version = strdup(version);
		t->version_source = strdup("binary");
	} else if (cpa_version_from_image(t->image, version, sizeof(version)) == 0) {
		t->version = strdup(version);
		t->version_source = strdup("image-tag");
		if (rc < 0 && !skip)
			add_problem(t, "version taken from the image tag '%s': the image's binary could not be run "
				       "in a throwaway container: %s",
				    t->image, e.message);
		else if (!skip)
			add_problem(t, "version taken from the image tag '%s': the image's binary did not print "
				       "its version (older than v6.0.0)",
				    t->image);
	} else {
		t->version_source = strdup("unknown");
		add_problem(t, "version unknown: the image's binary did not print it and the image tag '%s' "
			       "is not a version",
			    t->image ? t->image : "");
	}
	error_clear(&e);
}

/* --- the other profiles: settings in an env file ------------------------------ */

const char *discover_env_value(json_t *inspect, const char *name)
{
	json_t *env = json_object_get(json_object_get(inspect, "Config"), "Env"), *e;
	size_t i, n = strlen(name);
	const char *found = NULL;

	json_array_foreach(env, i, e) {
		const char *s = json_string_value(e);
		if (s && strncmp(s, name, n) == 0 && s[n] == '=')
			found = s + n + 1;
	}
	return found;
}

static int is_env_file_name(const char *path)
{
	const char *base = path ? strrchr(path, '/') : NULL;
	size_t n;

	base = base ? base + 1 : path;
	if (!base || !*base)
		return 0;
	n = strlen(base);
	return strcmp(base, ".env") == 0 || (n > 4 && strcmp(base + n - 4, ".env") == 0);
}

/* Where the settings live: --env-file, else a bind-mounted *.env file, else
 * the .env beside the compose file (compose reads it for env_file and for
 * variables in the compose file). */
static void find_env_file(struct docker_client *c, struct cpa_target *t, const struct discover_options *o)
{
	json_t *mounts = json_object_get(t->inspect, "Mounts"), *m;
	const char *dir = json_string_value(json_object_get(t->compose, "working_dir"));
	struct buf b = BUF_INIT;
	struct stat st;
	size_t i;

	json_array_foreach(mounts, i, m) {
		const char *type = json_string_value(json_object_get(m, "Type"));
		const char *src = json_string_value(json_object_get(m, "Source"));
		const char *dest = json_string_value(json_object_get(m, "Destination"));
		if (!type || strcmp(type, "bind") != 0 || !src || !dest)
			continue;
		if (o->env_file ? strcmp(src, o->env_file) == 0 : is_env_file_name(dest)) {
			t->config_in_container = strdup(dest);
			t->config_path = strdup(src);
			t->config_storage = strdup("bind");
			t->config_host = host_path_of(c, "bind", src);
			return;
		}
	}
	if (o->env_file) {
		buf_append_str(&b, o->env_file);
	} else if (dir && docker_client_is_local(c)) {
		buf_appendf(&b, "%s/.env", dir);
		if (stat(b.data, &st) < 0) {
			buf_free(&b);
			return;
		}
	} else {
		return;
	}
	t->config_path = strdup(b.data);
	t->config_storage = strdup("host");
	t->config_host = buf_detach(&b);
}

/* The port the API listens on inside the container, when the profile does
 * not fix it: the only port the container exposes or publishes. */
static int only_port(json_t *inspect)
{
	json_t *exposed = json_object_get(json_object_get(inspect, "Config"), "ExposedPorts");
	json_t *bindings = json_object_get(json_object_get(inspect, "HostConfig"), "PortBindings");
	const char *key;
	json_t *v;
	int port = 0, n = 0;

	json_object_foreach(json_object_size(bindings) ? bindings : exposed, key, v) {
		if (!strstr(key, "/tcp"))
			continue;
		port = atoi(key);
		n++;
	}
	return n == 1 ? port : 0;
}

static void read_env_settings(struct docker_client *c, struct cpa_target *t, const struct discover_options *o)
{
	const struct profile *p = t->profile;
	struct cpactl_error e = CPACTL_ERROR_INIT;
	struct buf text = BUF_INIT;
	const char *port_env = p->port_env ? discover_env_value(t->inspect, p->port_env) : NULL;
	char version[64];

	find_env_file(c, t, o);
	if (t->config_path && (!t->config_storage || !t->config_host)) {
		add_problem(t, "out of memory");
		return;
	}
	t->config_ok = 1;
	if (t->config_path &&
	    container_read_file_at(c, t->id, t->config_in_container, t->config_host, CPA_CONFIG_MAX, &text, NULL,
				   &e) < 0) {
		add_problem(t, "the env file cannot be read: %s", e.message);
		t->config_ok = 0;
	}
	if (port_env && atoi(port_env) > 0 && atoi(port_env) < 65536) {
		t->api_container_port = atoi(port_env);
	} else if (p->port_env && text.len) {
		/* claude-code-proxy reads its .env as well; the environment wins
		 * (src/core/config.py). */
		char *value = NULL;
		if (env_text_get(text.data, text.len, p->port_env, &value) == 1 && atoi(value) > 0 &&
		    atoi(value) < 65536)
			t->api_container_port = atoi(value);
		free(value);
	}
	if (!t->api_container_port)
		t->api_container_port = only_port(t->inspect);
	if (!t->api_container_port && !o->api_port)
		add_problem(t, "the API port is unknown: the container exposes none or several; name it with "
			       "--api-port");
	if (p->key_env) {
		const char *key = discover_env_value(t->inspect, p->key_env);
		if (key && *key)
			t->probe_key = strdup(key);
		else if (text.len && env_text_get(text.data, text.len, p->key_env, &t->probe_key) == 1 &&
			 !*t->probe_key) {
			free(t->probe_key);
			t->probe_key = NULL;
		}
	}
	/* No binary to ask: the version is the image tag's. */
	if (cpa_version_from_image(t->image, version, sizeof(version)) == 0) {
		t->version = strdup(version);
		t->version_source = strdup("image-tag");
	} else {
		t->version_source = strdup("unknown");
	}
	buf_wipe(&text);
}

/* The profile of a container found by discovery: --profile, the label, the
 * image's name, one of the image's tags (a tag that moved on leaves an id or
 * cpactl-rollback:...), else CPA. */
static const struct profile *profile_of(struct docker_client *c, json_t *inspect, const struct discover_options *o)
{
	json_t *config = json_object_get(inspect, "Config");
	const char *label = json_string_value(json_object_get(json_object_get(config, "Labels"), CPACTL_PROFILE_LABEL));
	const char *image_id = json_string_value(json_object_get(inspect, "Image"));
	const struct profile *p = profile_by_name(o->profile);
	struct cpactl_error e = CPACTL_ERROR_INIT;
	json_t *image = NULL, *tag;
	size_t i;

	if (!p)
		p = profile_by_name(label);
	if (!p)
		p = profile_for_image(json_string_value(json_object_get(config, "Image")));
	if (!p && image_id && docker_image_inspect(c, image_id, &image, &e) == 0)
		json_array_foreach(json_object_get(image, "RepoTags"), i, tag)
			if (!p)
				p = profile_for_image(json_string_value(tag));
	json_decref(image);
	/* claude-code-proxy's upstream compose only builds (<project>-proxy:latest):
	 * its command names it (CMD ["uv","run","start_proxy.py"]). */
	if (!p && cpa_command_mentions(config, "start_proxy"))
		p = &profile_claude_code_proxy;
	return p ? p : &profile_cpa;
}

/* 1 when nothing says the container is a CPA: not its image or tags, not its
 * command; it was taken for one only because --container or the target label
 * named it. */
static int kind_unknown(struct docker_client *c, json_t *inspect, const struct discover_options *o)
{
	json_t *config = json_object_get(inspect, "Config");
	const char *label = json_string_value(json_object_get(json_object_get(config, "Labels"), CPACTL_PROFILE_LABEL));
	const char *image_id = json_string_value(json_object_get(inspect, "Image"));
	struct cpactl_error e = CPACTL_ERROR_INIT;
	json_t *image = NULL, *tag;
	size_t i;
	int known;

	if (o->profile || profile_by_name(label) || cpa_image_matches(json_string_value(json_object_get(config, "Image"))) ||
	    cpa_command_mentions(config, "CLIProxyAPI"))
		return 0;
	known = 0;
	if (image_id && docker_image_inspect(c, image_id, &image, &e) == 0)
		json_array_foreach(json_object_get(image, "RepoTags"), i, tag)
			known |= cpa_image_matches(json_string_value(tag));
	json_decref(image);
	return !known;
}

/* Is this list entry a CPA target?  Image references that are bare ids (the
 * tag moved on after a pull) are resolved through the image's tags. */
static int is_candidate(struct docker_client *c, json_t *entry, const struct discover_options *opts,
			json_t *image_cache)
{
	json_t *labels = json_object_get(entry, "Labels");
	const char *label = json_string_value(json_object_get(labels, CPACTL_TARGET_LABEL));
	const char *image = json_string_value(json_object_get(entry, "Image"));
	const char *command = json_string_value(json_object_get(entry, "Command"));
	const char *image_id = json_string_value(json_object_get(entry, "ImageID"));
	json_t *cached, *inspect = NULL, *tags, *tag;
	struct cpactl_error e = CPACTL_ERROR_INIT;
	size_t i;
	int match = 0;

	if (opts->container) {
		json_t *names = json_object_get(entry, "Names");
		const char *id = json_string_value(json_object_get(entry, "Id"));
		json_t *n;
		size_t len = strlen(opts->container);
		if (id && len >= 4 && strncmp(id, opts->container, len) == 0)
			return 1;
		json_array_foreach(names, i, n) {
			const char *s = json_string_value(n);
			if (s && (strcmp(s, opts->container) == 0 ||
				  (s[0] == '/' && strcmp(s + 1, opts->container) == 0)))
				return 1;
		}
		return 0;
	}
	/* The containers an upgrade keeps aside (NAME-cpactl-prev-<ID>,
	 * NAME-cpactl-failed-<ID>, NAME-cpactl-new) are cpactl's, not
	 * deployments of their own; --container still reaches them. */
	{
		json_t *names = json_object_get(entry, "Names"), *n;
		size_t k;
		json_array_foreach(names, k, n) {
			const char *s = json_string_value(n);
			if (operation_kept_role(s, NULL) >= 0)
				return 0;
		}
	}
	/* A throwaway that reads an image's version (image_version.c). */
	if (json_object_get(labels, IMAGE_VERSION_LABEL))
		return 0;
	if (label)
		return strcmp(label, "true") == 0;
	if (profile_by_name(json_string_value(json_object_get(labels, CPACTL_PROFILE_LABEL))))
		return 1;
	if (cpa_image_matches(image) || profile_for_image(image) || (command && strstr(command, "CLIProxyAPI")))
		return 1;
	if (!image_id)
		return 0;
	cached = json_object_get(image_cache, image_id);
	if (cached)
		return json_is_true(cached);
	if (docker_image_inspect(c, image_id, &inspect, &e) == 0) {
		tags = json_object_get(inspect, "RepoTags");
		json_array_foreach(tags, i, tag)
			if (cpa_image_matches(json_string_value(tag)) || profile_for_image(json_string_value(tag)))
				match = 1;
	}
	json_object_set_new(image_cache, image_id, json_boolean(match));
	json_decref(inspect);
	return match;
}

int discover_targets(struct docker_client *c, const struct discover_options *opts,
		     struct cpa_target **out, size_t *count, struct cpactl_error *err)
{
	json_t *list = NULL, *entry, *image_cache = json_object();
	struct cpa_target *targets = NULL;
	size_t n = 0, i;
	int rc = -1;

	*out = NULL;
	*count = 0;
	if (docker_container_list(c, &list, err) < 0)
		goto out;
	targets = calloc(json_array_size(list) + 1, sizeof(*targets));
	if (!targets || !image_cache) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	json_array_foreach(list, i, entry) {
		const char *id = json_string_value(json_object_get(entry, "Id"));
		const struct discover_options no_override = { 0 };
		const struct profile *profile;
		struct cpa_target *t;
		json_t *inspect = NULL;
		struct cpactl_error e = CPACTL_ERROR_INIT;

		if (!id || !is_candidate(c, entry, opts, image_cache))
			continue;
		/* A container removed between list and inspect is simply gone. */
		if (docker_container_inspect(c, id, &inspect, &e) < 0) {
			if (e.kind == ERR_NOT_FOUND)
				continue;
			*err = e;
			goto out;
		}
		profile = profile_of(c, inspect, opts);
		/* --profile without --container picks the containers of that kind. */
		if (opts->profile && !opts->container && profile_of(c, inspect, &no_override) != profile) {
			json_decref(inspect);
			continue;
		}
		if (target_from_inspect(inspect, profile, &targets[n], err) < 0) {
			json_decref(inspect);
			n++;
			goto out;
		}
		json_decref(inspect);
		t = &targets[n++];
		if (profile->cpa && kind_unknown(c, t->inspect, opts)) {
			t->kind_unknown = 1;
			add_problem(t, "nothing says '%s' is a CPA (its image and command do not): it is treated as one "
				       "only because it was named; name its kind with --profile (%s)",
				    t->name, PROFILE_NAMES);
		}
		if (profile->cpa) {
			read_config(c, t);
			read_auth_dir(c, t);
		} else {
			read_env_settings(c, t, opts);
		}
		if (opts->api_port > 0)
			t->api_container_port = opts->api_port;
		if (opts->probe_path) {
			free(t->probe_path);
			t->probe_path = strdup(opts->probe_path);
		}
		find_api_port(t, t->inspect);
		if (profile->cpa)
			read_version(c, t, opts->skip_version);
	}
	if (opts->container && n == 0) {
		error_set(err, ERR_NOT_FOUND,
			  "no such container '%s' (see 'cpactl discover' for the CPA containers found)",
			  opts->container);
		goto out;
	}
	*out = targets;
	*count = n;
	targets = NULL;
	n = 0;
	rc = 0;
out:
	cpa_targets_free(targets, n);
	json_decref(list);
	json_decref(image_cache);
	return rc;
}

void cpa_targets_free(struct cpa_target *targets, size_t count)
{
	if (!targets)
		return;
	for (size_t i = 0; i < count; i++) {
		struct cpa_target *t = &targets[i];
		free(t->probe_path);
		free(t->name);
		free(t->id);
		free(t->image);
		free(t->image_id);
		free(t->state);
		free(t->started_at);
		free(t->restart_policy);
		free(t->version);
		free(t->version_source);
		free(t->config_in_container);
		free(t->config_path);
		free(t->config_storage);
		free(t->config_host);
		free(t->auth_host);
		free(t->auth_in_container);
		free(t->auth_dir);
		free(t->auth_storage);
		json_decref(t->providers);
		json_decref(t->auth_files);
		json_decref(t->compose);
		json_decref(t->problems);
		json_decref(t->inspect);
		if (t->probe_key) {
			volatile char *p = t->probe_key;
			while (*p)
				*p++ = 0;
			free(t->probe_key);
		}
	}
	free(targets);
}

json_t *cpa_target_to_json(const struct cpa_target *t)
{
	json_t *port = json_null();

	if (t->has_api_port)
		port = json_pack("{s:s,s:i}", "host_ip", t->api_host_ip, "host_port", t->api_host_port);
	return json_pack(
		"{s:s,s:s,s:s,s:s,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:o,s:I,s:s?,s:o,s:i,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,"
		"s:o,s:b,s:I,s:O,s:O,s:O,s:s?,s:s?,s:b,s:O}",
		"profile", t->profile ? t->profile->name : "cpa", "probe_path", t->probe_path ? t->probe_path : "",
		"name", t->name, "id", t->id, "image", t->image, "image_id", t->image_id,
		"version", t->version, "version_source", t->version_source, "state", t->state,
		"started_at", t->started_at, "uptime_seconds",
		t->uptime_seconds >= 0 ? json_integer(t->uptime_seconds) : json_null(),
		"restart_count", (json_int_t)t->restart_count, "restart_policy", t->restart_policy,
		"api_port", port, "container_port", t->api_container_port,
		"config_path", t->config_path, "config_storage", t->config_storage,
		"config_in_container", t->config_in_container, "auth_dir", t->auth_dir,
		"auth_storage", t->auth_storage, "auth_in_container", t->auth_in_container,
		"allow_remote", t->allow_remote < 0 ? json_null() : json_boolean(t->allow_remote),
		"secret_key_set", t->secret_key_set, "api_keys", (json_int_t)t->api_keys,
		"providers", t->providers, "auth_files", t->auth_files,
		"compose", t->compose ? t->compose : json_null(), "cluster", t->cluster, "remote_store",
		t->remote_store, "tls", t->tls, "problems", t->problems);
}
