/*
 * fake_engine_state.c - the stateful fake Docker engine (fake_engine.h).
 *
 * Crash tests need an engine that remembers: a container created by a run
 * that was killed must still be there, under the name it had, when recover
 * runs.  This engine keeps containers and images in memory and answers the
 * Engine API calls lib/docker.c makes, with the engine's rules that matter to
 * cpactl: unique names (create or rename to a taken name is 409), a running
 * container is removed only with force (else 409), start of a running and
 * stop of a stopped container are 304, a published port is bound at start
 * (a taken port fails the start, as docker-proxy does).  Every running
 * container that publishes a port gets a fake CPA on it (fake_cpa_http.c),
 * and its log holds CPA's start-up lines in CPA's format
 * (tests/fixtures/fakecpa.c), multiplexed unless Tty.
 *
 * An image whose repository names claude-code-proxy makes containers that
 * behave like tests/fixtures/fakeccp.c in the e2e images instead (WORKDIR
 * /app, CMD /app/start_proxy, EXPOSE 8082, ENV PORT=8082 HOST=0.0.0.0): the
 * settings are the container's Env, then /app/.env (a bind-mounted .env) for
 * what Env does not set; without OPENAI_API_KEY it exits 1 at start; it
 * serves /health, / (the version) and /v1/messages (ANTHROPIC_API_KEY the
 * client key) on the published port, and logs as fakeccp.c does.
 *
 * Everything runs on the fake engine's server thread; the lock is for the
 * test thread's queries (fake_engine_running and the like).
 */
#include "fake_engine.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../lib/sha256.h"
#include "fake_cpa_http.h"

#define CPA_CONFIG "/CLIProxyAPI/config.yaml"
#define CPA_AUTH "/root/.cli-proxy-api"
#define CCP_DOTENV "/app/.env"

struct fimage {
	char id[80];       /* sha256:<64 hex> */
	json_t *tags;      /* ["repo:tag", ...] */
	char version[64];  /* what its containers report */
	int prodfail;
	int err500;
	int ccp;           /* a claude-code-proxy (fakeccp.c) */
	int crash;         /* ccp "-crash": exits 1 at start */
	int unhealthy;     /* ccp "-unhealthy": /health answers 503 */
};

struct fcont {
	char id[65];
	char name[256];    /* without the leading '/' */
	char image_id[80];
	int ccp;           /* its image is a claude-code-proxy */
	json_t *config;    /* Config */
	json_t *host;      /* HostConfig */
	json_t *mounts;    /* Mounts (inspect shape) */
	int running;
	int exit_code;
	char started[40], finished[40], created[40];
	char *logs;
	size_t logs_len;
	struct fake_cpa *http;
	int host_port;     /* bound while running */
	char port_key[32]; /* "8317/tcp" */
};

struct fstate {
	pthread_mutex_t lock;
	struct fimage *images;
	size_t n_images;
	struct fcont **conts;
	size_t n_conts;
	unsigned long serial;
};

/* --- small helpers ---------------------------------------------------------- */

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		abort();
	return p;
}

static void now_rfc3339(char *out, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char base[24];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%.19s.%09dZ", base, (int)(ts.tv_nsec % 1000000000L));
}

static void hex_of(const char *text, char out[SHA256_HEX_LEN + 1])
{
	struct cpactl_error e = CPACTL_ERROR_INIT;
	if (sha256_buffer(text, strlen(text), out, &e) < 0)
		abort();
}

static void answer_json(struct fake_answer *a, int status, json_t *body)
{
	a->status = status;
	snprintf(a->content_type, sizeof(a->content_type), "application/json");
	a->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
	a->len = a->body ? strlen(a->body) : 0;
	json_decref(body);
}

static void answer_message(struct fake_answer *a, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void answer_message(struct fake_answer *a, int status, const char *fmt, ...)
{
	char text[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	answer_json(a, status, json_pack("{s:s}", "message", text));
}

static void answer_empty(struct fake_answer *a, int status)
{
	a->status = status;
	a->body = NULL;
	a->len = 0;
}

/* Percent-decodes s[0..n) into a new string. */
static char *url_decode(const char *s, size_t n)
{
	char *out = xcalloc(n + 1, 1), *o = out;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n) {
			char hex[3] = { s[i + 1], s[i + 2], 0 };
			*o++ = (char)strtol(hex, NULL, 16);
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

/* The decoded value of query parameter `name` of path, or NULL. */
static char *query_param(const char *path, const char *name)
{
	const char *q = strchr(path, '?');
	size_t n = strlen(name);

	while (q) {
		q++;
		if (strncmp(q, name, n) == 0 && q[n] == '=') {
			const char *v = q + n + 1;
			return url_decode(v, strcspn(v, "&"));
		}
		q = strchr(q, '&');
	}
	return NULL;
}

/* --- images ----------------------------------------------------------------------- */

static char *normal_ref(const char *ref)
{
	const char *slash = strrchr(ref, '/'), *colon = strrchr(ref, ':');
	char *out;

	if (strchr(ref, '@') || (colon && (!slash || colon > slash)))
		return strdup(ref);
	out = xcalloc(strlen(ref) + 8, 1);
	sprintf(out, "%s:latest", ref);
	return out;
}

static struct fimage *image_find(struct fstate *s, const char *ref)
{
	char *norm;
	struct fimage *found = NULL;

	if (!ref || !*ref)
		return NULL;
	for (size_t i = 0; i < s->n_images; i++) {
		struct fimage *im = &s->images[i];
		const char *hex = im->id + 7;
		if (strcmp(ref, im->id) == 0 || strcmp(ref, hex) == 0 ||
		    (strncmp(ref, "sha256:", 7) == 0 && strlen(ref) >= 19 && strncmp(ref, im->id, strlen(ref)) == 0) ||
		    (strlen(ref) >= 12 && strncmp(ref, hex, strlen(ref)) == 0))
			return im;
	}
	norm = normal_ref(ref);
	for (size_t i = 0; i < s->n_images && !found; i++) {
		json_t *t;
		size_t k;
		json_array_foreach(s->images[i].tags, k, t)
			if (strcmp(json_string_value(t), norm) == 0)
				found = &s->images[i];
	}
	free(norm);
	return found;
}

/* Moves tag `ref` to image `im` (removing it from any other). */
static void image_tag(struct fstate *s, struct fimage *im, const char *ref)
{
	char *norm = normal_ref(ref);

	for (size_t i = 0; i < s->n_images; i++) {
		json_t *t;
		size_t k;
		json_array_foreach(s->images[i].tags, k, t) {
			if (strcmp(json_string_value(t), norm) == 0) {
				json_array_remove(s->images[i].tags, k);
				break;
			}
		}
	}
	json_array_append_new(im->tags, json_string(norm));
	free(norm);
}

static json_t *image_config(const struct fimage *im)
{
	if (im->ccp)
		return json_pack("{s:[s,s,s],s:[s],s:n,s:s,s:{s:{}},s:{},s:s}", "Env",
				 "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "PORT=8082",
				 "HOST=0.0.0.0", "Cmd", "/app/start_proxy", "Entrypoint", "WorkingDir", "/app",
				 "ExposedPorts", "8082/tcp", "Labels", "User", "");
	return json_pack("{s:[s],s:[s],s:n,s:s,s:{s:{}},s:{},s:s}", "Env",
			 "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "Cmd", "./CLIProxyAPI",
			 "Entrypoint", "WorkingDir", "/CLIProxyAPI", "ExposedPorts", "8317/tcp", "Labels", "User", "");
}

static json_t *image_inspect(const struct fimage *im)
{
	return json_pack("{s:s,s:O,s:[],s:s,s:o,s:I,s:s,s:s}", "Id", im->id, "RepoTags", im->tags, "RepoDigests",
			 "Created", "2026-11-01T00:00:00Z", "Config", image_config(im), "Size", (json_int_t)4096,
			 "Architecture", "amd64", "Os", "linux");
}

/* --- tar building (libarchive into memory) ------------------------------------ */

struct membuf {
	char *data;
	size_t len, cap;
};

static la_ssize_t membuf_write(struct archive *a, void *ctx, const void *data, size_t n)
{
	struct membuf *m = ctx;
	(void)a;
	if (m->len + n > m->cap) {
		m->cap = (m->len + n) * 2 + 4096;
		m->data = realloc(m->data, m->cap);
		if (!m->data)
			abort();
	}
	memcpy(m->data + m->len, data, n);
	m->len += n;
	return (la_ssize_t)n;
}

static struct archive *tar_open(struct membuf *m)
{
	struct archive *a = archive_write_new();

	memset(m, 0, sizeof(*m));
	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_per_block(a, 512);
	archive_write_open(a, m, NULL, membuf_write, NULL);
	return a;
}

static void tar_add(struct archive *a, const char *name, const char *data, size_t len, int mode, int dir,
		    time_t mtime)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
	archive_entry_set_perm(e, (mode_t)mode);
	archive_entry_set_size(e, dir ? 0 : (la_int64_t)len);
	archive_entry_set_mtime(e, mtime, 0);
	archive_write_header(a, e);
	if (!dir && len)
		archive_write_data(a, data, len);
	archive_entry_free(e);
}

/* Adds host path `src` as `name` (recursively for a directory). */
static int tar_add_path(struct archive *a, const char *src, const char *name)
{
	struct stat st;
	DIR *d;
	struct dirent *de;

	if (lstat(src, &st) < 0)
		return -1;
	if (S_ISREG(st.st_mode)) {
		FILE *fp = fopen(src, "rb");
		char *data = xcalloc((size_t)st.st_size + 1, 1);
		size_t n = fp ? fread(data, 1, (size_t)st.st_size, fp) : 0;
		if (fp)
			fclose(fp);
		tar_add(a, name, data, n, (int)(st.st_mode & 07777), 0, st.st_mtime);
		free(data);
		return 0;
	}
	if (!S_ISDIR(st.st_mode))
		return 0;
	tar_add(a, name, NULL, 0, (int)(st.st_mode & 07777), 1, st.st_mtime);
	d = opendir(src);
	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char *s2, *n2;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		s2 = xcalloc(strlen(src) + strlen(de->d_name) + 2, 1);
		n2 = xcalloc(strlen(name) + strlen(de->d_name) + 2, 1);
		sprintf(s2, "%s/%s", src, de->d_name);
		sprintf(n2, "%s/%s", name, de->d_name);
		tar_add_path(a, s2, n2);
		free(s2);
		free(n2);
	}
	closedir(d);
	return 0;
}

/* A tiny valid `docker save` stream: manifest.json, the config, one layer. */
static void image_save_tar(const struct fimage *im, struct fake_answer *ans)
{
	struct membuf m;
	struct archive *a = tar_open(&m);
	char layer_hex[SHA256_HEX_LEN + 1], seed[200], cfg_name[100], layer_name[120];
	json_t *config = json_pack("{s:s,s:s,s:o,s:{s:s,s:[]}}", "architecture", "amd64", "os", "linux", "config",
				   image_config(im), "rootfs", "type", "layers", "diff_ids");
	json_t *manifest;
	char *text;

	snprintf(seed, sizeof(seed), "layer of %s", im->id);
	hex_of(seed, layer_hex);
	snprintf(cfg_name, sizeof(cfg_name), "%s.json", im->id + 7);
	snprintf(layer_name, sizeof(layer_name), "%s/layer.tar", layer_hex);
	manifest = json_pack("[{s:s,s:O,s:[s]}]", "Config", cfg_name, "RepoTags", im->tags, "Layers", layer_name);
	text = json_dumps(config, JSON_COMPACT);
	tar_add(a, cfg_name, text, strlen(text), 0644, 0, 1700000000);
	free(text);
	tar_add(a, layer_hex, NULL, 0, 0755, 1, 1700000000);
	tar_add(a, layer_name, seed, strlen(seed), 0644, 0, 1700000000);
	text = json_dumps(manifest, JSON_COMPACT);
	tar_add(a, "manifest.json", text, strlen(text), 0644, 0, 1700000000);
	free(text);
	json_decref(config);
	json_decref(manifest);
	archive_write_close(a);
	archive_write_free(a);
	ans->status = 200;
	snprintf(ans->content_type, sizeof(ans->content_type), "application/x-tar");
	ans->body = m.data;
	ans->len = m.len;
}

/* --- containers ------------------------------------------------------------------ */

static struct fcont *cont_find(struct fstate *s, const char *key)
{
	size_t n;

	if (!key || !*key)
		return NULL;
	if (key[0] == '/')
		key++;
	for (size_t i = 0; i < s->n_conts; i++)
		if (strcmp(s->conts[i]->id, key) == 0 || strcmp(s->conts[i]->name, key) == 0)
			return s->conts[i];
	n = strlen(key);
	if (n >= 4)
		for (size_t i = 0; i < s->n_conts; i++)
			if (strncmp(s->conts[i]->id, key, n) == 0)
				return s->conts[i];
	return NULL;
}

static void cont_log(struct fcont *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cont_log(struct fcont *c, const char *fmt, ...)
{
	char line[800];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	n = strlen(line);
	line[n++] = '\n';
	c->logs = realloc(c->logs, c->logs_len + n + 1);
	if (!c->logs)
		abort();
	memcpy(c->logs + c->logs_len, line, n);
	c->logs_len += n;
	c->logs[c->logs_len] = '\0';
}

/* CPA's log line format (fakecpa.c's logf_): [ts] [--------] [level] [src] msg */
static void cont_cpa_log(struct fcont *c, const char *level, const char *src, const char *msg)
{
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
	cont_log(c, "[%s] [--------] [%-5s] [%s] %s", ts, level, src, msg);
}

/* The host path behind `path` in the container: its bind mount's source
 * plus the rest, or NULL (malloc'd). */
static char *host_path(const struct fcont *c, const char *path)
{
	json_t *m, *best = NULL;
	size_t i, best_len = 0;
	const char *src, *dest;
	char *out;

	json_array_foreach(c->mounts, i, m) {
		size_t n;
		dest = json_string_value(json_object_get(m, "Destination"));
		n = dest ? strlen(dest) : 0;
		if (!dest || strncmp(path, dest, n) != 0 || (path[n] != '/' && path[n] != '\0'))
			continue;
		if (n > best_len) {
			best = m;
			best_len = n;
		}
	}
	if (!best)
		return NULL;
	src = json_string_value(json_object_get(best, "Source"));
	out = xcalloc(strlen(src) + strlen(path) + 2, 1);
	sprintf(out, "%s%s", src, path + best_len);
	return out;
}

/* Mounts in inspect's shape, from HostConfig.Binds and HostConfig.Mounts. */
static json_t *mounts_of(json_t *host)
{
	json_t *out = json_array(), *b;
	size_t i;

	json_array_foreach(json_object_get(host, "Binds"), i, b) {
		const char *spec = json_string_value(b), *c1, *c2;
		char *src, *dst;
		int ro;
		if (!spec || !(c1 = strchr(spec, ':')))
			continue;
		c2 = strchr(c1 + 1, ':');
		src = strndup(spec, (size_t)(c1 - spec));
		dst = c2 ? strndup(c1 + 1, (size_t)(c2 - c1 - 1)) : strdup(c1 + 1);
		ro = c2 && strstr(c2, "ro") != NULL;
		json_array_append_new(out, json_pack("{s:s,s:s,s:s,s:s,s:b,s:s}", "Type", "bind", "Source", src,
						     "Destination", dst, "Mode", c2 ? c2 + 1 : "", "RW", !ro,
						     "Propagation", "rprivate"));
		free(src);
		free(dst);
	}
	json_array_foreach(json_object_get(host, "Mounts"), i, b) {
		const char *type = json_string_value(json_object_get(b, "Type"));
		if (!type || strcmp(type, "bind") != 0)
			continue;
		json_array_append_new(out, json_pack("{s:s,s:O,s:O,s:s,s:b,s:s}", "Type", "bind", "Source",
						     json_object_get(b, "Source"), "Destination", json_object_get(b, "Target"),
						     "Mode", "", "RW", !json_is_true(json_object_get(b, "ReadOnly")),
						     "Propagation", "rprivate"));
	}
	return out;
}

/* Image defaults under the user's settings, as the engine merges them. */
static json_t *merged_config(json_t *body, const struct fimage *im)
{
	json_t *img = image_config(im), *cfg = json_deep_copy(body), *env = json_array(), *v, *labels, *ports;
	const char *key;
	size_t i;

	json_object_del(cfg, "HostConfig");
	json_object_del(cfg, "NetworkingConfig");
	/* Env: the image's, a user's value of the same name wins. */
	json_array_foreach(json_object_get(img, "Env"), i, v) {
		const char *s = json_string_value(v), *eq = strchr(s, '=');
		int overridden = 0;
		json_t *u;
		size_t k;
		json_array_foreach(json_object_get(body, "Env"), k, u) {
			const char *us = json_string_value(u);
			if (us && eq && strncmp(us, s, (size_t)(eq - s + 1)) == 0)
				overridden = 1;
		}
		if (!overridden)
			json_array_append(env, v);
	}
	json_array_foreach(json_object_get(body, "Env"), i, v)
		json_array_append(env, v);
	json_object_set_new(cfg, "Env", env);
	if (!json_is_array(json_object_get(cfg, "Cmd")))
		json_object_set(cfg, "Cmd", json_object_get(img, "Cmd"));
	if (!json_object_get(cfg, "Entrypoint"))
		json_object_set_new(cfg, "Entrypoint", json_null());
	if (!json_string_value(json_object_get(cfg, "WorkingDir")) ||
	    !*json_string_value(json_object_get(cfg, "WorkingDir")))
		json_object_set(cfg, "WorkingDir", json_object_get(img, "WorkingDir"));
	labels = json_deep_copy(json_object_get(img, "Labels"));
	json_object_foreach(json_object_get(body, "Labels"), key, v)
		json_object_set(labels, key, v);
	json_object_set_new(cfg, "Labels", labels);
	ports = json_deep_copy(json_object_get(img, "ExposedPorts"));
	json_object_foreach(json_object_get(body, "ExposedPorts"), key, v)
		json_object_set(ports, key, v);
	json_object_set_new(cfg, "ExposedPorts", ports);
	if (!json_object_get(cfg, "Tty"))
		json_object_set_new(cfg, "Tty", json_false());
	if (!json_object_get(cfg, "Hostname"))
		json_object_set_new(cfg, "Hostname", json_string("fakehost"));
	json_decref(img);
	return cfg;
}

static struct fcont *cont_create(struct fstate *s, const char *name, json_t *body, const struct fimage *im)
{
	struct fcont *c = xcalloc(1, sizeof(*c));
	char seed[400];
	json_t *host;

	snprintf(seed, sizeof(seed), "container %lu %s %ld", ++s->serial, name, (long)getpid());
	hex_of(seed, c->id);
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->image_id, sizeof(c->image_id), "%s", im->id);
	c->ccp = im->ccp;
	c->config = merged_config(body, im);
	host = json_object_get(body, "HostConfig");
	c->host = json_is_object(host) ? json_deep_copy(host) : json_object();
	if (!json_is_object(json_object_get(c->host, "RestartPolicy")))
		json_object_set_new(c->host, "RestartPolicy", json_pack("{s:s,s:i}", "Name", "no", "MaximumRetryCount", 0));
	if (!json_string_value(json_object_get(c->host, "NetworkMode")))
		json_object_set_new(c->host, "NetworkMode", json_string("bridge"));
	c->mounts = mounts_of(c->host);
	now_rfc3339(c->created, sizeof(c->created));
	snprintf(c->started, sizeof(c->started), "0001-01-01T00:00:00Z");
	snprintf(c->finished, sizeof(c->finished), "0001-01-01T00:00:00Z");
	s->conts = realloc(s->conts, (s->n_conts + 1) * sizeof(*s->conts));
	if (!s->conts)
		abort();
	s->conts[s->n_conts++] = c;
	return c;
}

static void cont_stop(struct fcont *c, int code)
{
	if (c->http) {
		fake_cpa_stop(c->http);
		c->http = NULL;
	}
	if (c->running) {
		c->running = 0;
		c->exit_code = code;
		now_rfc3339(c->finished, sizeof(c->finished));
	}
	c->host_port = 0;
}

static void cont_free(struct fcont *c)
{
	cont_stop(c, 137);
	json_decref(c->config);
	json_decref(c->host);
	json_decref(c->mounts);
	free(c->logs);
	free(c);
}

static void cont_remove(struct fstate *s, struct fcont *c)
{
	for (size_t i = 0; i < s->n_conts; i++) {
		if (s->conts[i] == c) {
			memmove(&s->conts[i], &s->conts[i + 1], (s->n_conts - i - 1) * sizeof(*s->conts));
			s->n_conts--;
			break;
		}
	}
	cont_free(c);
}

/* Whether any directory bind-mounted into c holds the scratch marker. */
static int has_scratch_marker(const struct fcont *c)
{
	json_t *m;
	size_t i;

	json_array_foreach(c->mounts, i, m) {
		const char *src = json_string_value(json_object_get(m, "Source"));
		char path[4200];
		snprintf(path, sizeof(path), "%s/.cpactl-scratch", src ? src : "");
		if (src && access(path, F_OK) == 0)
			return 1;
	}
	return 0;
}

/* A setting of a ccp container, as fakeccp.c reads them: the container's
 * Env (a non-empty value), else the last assignment in /app/.env (python-dotenv:
 * `export `, quotes, an unquoted value ends at " #").  Into out ("" unset);
 * 1 found, 0 not. */
static int ccp_setting(const struct fcont *c, const char *name, char *out, size_t len)
{
	json_t *v;
	size_t i, n = strlen(name);
	char *path = host_path(c, CCP_DOTENV), line[4096];
	FILE *fp;
	int found = 0;

	out[0] = '\0';
	json_array_foreach(json_object_get(c->config, "Env"), i, v) {
		const char *e = json_string_value(v);
		if (e && strncmp(e, name, n) == 0 && e[n] == '=') {
			snprintf(out, len, "%s", e + n + 1);
			found = 1;
		}
	}
	if (found) {
		free(path);
		return 1;
	}
	fp = path ? fopen(path, "r") : NULL;
	free(path);
	while (fp && fgets(line, sizeof(line), fp)) {
		char *k = line, *eq, *val, *end;
		line[strcspn(line, "\r\n")] = '\0';
		while (*k == ' ' || *k == '\t')
			k++;
		if (strncmp(k, "export ", 7) == 0)
			k += 7;
		while (*k == ' ' || *k == '\t')
			k++;
		eq = strchr(k, '=');
		if (!*k || *k == '#' || !eq)
			continue;
		end = eq;
		while (end > k && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if ((size_t)(end - k) != n || strncmp(k, name, n) != 0)
			continue;
		val = eq + 1;
		while (*val == ' ' || *val == '\t')
			val++;
		if (*val == '"' || *val == '\'') {
			char q = *val++, *close_q = strchr(val, q);
			if (close_q)
				*close_q = '\0';
		} else {
			char *comment = strstr(val, " #");
			if (comment)
				*comment = '\0';
			for (end = val + strlen(val); end > val && (end[-1] == ' ' || end[-1] == '\t'); end--)
				end[-1] = '\0';
		}
		snprintf(out, len, "%s", val);
		found = 1;
	}
	if (fp)
		fclose(fp);
	memset(line, 0, sizeof(line));
	return found;
}

/* fakeccp.c's log line: "2026-11-01 12:00:00 - INFO - message". */
static void cont_ccp_log(struct fcont *c, const char *level, const char *msg)
{
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
	cont_log(c, "%s - %s - %s", ts, level, msg);
}

/* Starts a ccp container c from im, listening on host port `port` (0: none
 * published); as cont_start. */
static int ccp_start(struct fcont *c, const struct fimage *im, int port, int published, struct fake_answer *a)
{
	char openai[512], client[512], host[128], port_s[32], line[400];

	ccp_setting(c, "OPENAI_API_KEY", openai, sizeof(openai));
	ccp_setting(c, "ANTHROPIC_API_KEY", client, sizeof(client));
	if (!ccp_setting(c, "HOST", host, sizeof(host)) || !host[0])
		snprintf(host, sizeof(host), "0.0.0.0");
	if (!ccp_setting(c, "PORT", port_s, sizeof(port_s)) || !port_s[0])
		snprintf(port_s, sizeof(port_s), "8082");
	c->running = 1;
	if (!openai[0] || im->crash) {
		if (!openai[0])
			cont_log(c, "Error: OPENAI_API_KEY not found in environment variables");
		else
			cont_log(c, "Traceback (most recent call last):\n  File \"/app/start_proxy.py\", line 12, in "
				    "<module>\n    from src.main import main\nModuleNotFoundError: No module named "
				    "'src.conversion'");
		cont_stop(c, 1);
		goto out;
	}
	snprintf(line, sizeof(line), "claude-code-proxy %s starting on %s:%d", im->version, host, atoi(port_s));
	cont_log(c, "%s", line);
	if (published) {
		c->http = fake_ccp_start(port, im->version, client, im->unhealthy);
		if (!c->http) {
			int e = errno;
			c->running = 0;
			answer_message(a, 500,
				       "driver failed programming external connectivity on endpoint %s: Bind for "
				       "127.0.0.1:%d failed: %s",
				       c->name, port, e == EADDRINUSE ? "port is already allocated" : strerror(e));
			memset(openai, 0, sizeof(openai));
			memset(client, 0, sizeof(client));
			return 500;
		}
		c->host_port = fake_cpa_port(c->http);
	}
	c->exit_code = 0;
	snprintf(line, sizeof(line), "Uvicorn running on http://%s:%d (Press CTRL+C to quit)", host, atoi(port_s));
	cont_ccp_log(c, "INFO", line);
	if (im->unhealthy)
		cont_ccp_log(c, "ERROR", "upstream not configured");
out:
	memset(openai, 0, sizeof(openai));
	memset(client, 0, sizeof(client));
	return 0;
}

/* Starts c: its fake CPA on the published port.  0, or an HTTP status with
 * the answer filled. */
static int cont_start(struct fstate *s, struct fcont *c, struct fake_answer *a)
{
	const struct fimage *im = image_find(s, c->image_id);
	json_t *bindings = json_object_get(c->host, "PortBindings"), *first = NULL, *v;
	const char *key;
	char *config = host_path(c, CPA_CONFIG);
	char line[300];
	int port = 0;

	c->port_key[0] = '\0';
	json_object_foreach(bindings, key, v) {
		if (json_array_size(v)) {
			first = json_array_get(v, 0);
			snprintf(c->port_key, sizeof(c->port_key), "%s", key);
			break;
		}
	}
	if (first)
		port = atoi(json_string_value(json_object_get(first, "HostPort")) ?: "0");
	now_rfc3339(c->started, sizeof(c->started));
	if (im && im->ccp) {
		free(config);
		return ccp_start(c, im, port, first != NULL, a);
	}
	snprintf(line, sizeof(line), "CLIProxyAPI Version: %s, Commit: fake, BuiltAt: 2026-11-01T00:00:00Z",
		 im ? im->version : "unknown");
	if (im && im->prodfail && !has_scratch_marker(c)) {
		/* The release crashes in production (the e2e fixture's prodfail). */
		cont_cpa_log(c, "info", "main.go:572", line);
		cont_log(c, "panic: runtime error: invalid memory address or nil pointer dereference");
		c->running = 1;
		cont_stop(c, 2);
		free(config);
		return 0;
	}
	if (first) {
		c->http = fake_cpa_start(port, im ? im->version : "unknown", config ? config : "", im && im->err500);
		if (!c->http) {
			int e = errno;
			free(config);
			answer_message(a, 500,
				       "driver failed programming external connectivity on endpoint %s: Bind for "
				       "127.0.0.1:%d failed: %s",
				       c->name, port, e == EADDRINUSE ? "port is already allocated" : strerror(e));
			return 500;
		}
		c->host_port = fake_cpa_port(c->http);
	}
	free(config);
	c->running = 1;
	c->exit_code = 0;
	cont_cpa_log(c, "info", "main.go:572", line);
	/* Test hosts are offline, as many real ones are: real CPA warns on every
	 * start (internal/misc/antigravity_version.go:94 and
	 * internal/managementasset/updater.go:253, as tests/fixtures/fakecpa.c
	 * logs them), and a release must not be refused for it. */
	cont_cpa_log(c, "warn", "antigravity_version.go:94",
		     "failed to refresh antigravity version, using fallback version error=Get "
		     "\"https://antigravity-hub-auto-updater-974169037036.us-central1.run.app/manifest/latest-arm64-mac.yml\": "
		     "dial tcp: lookup antigravity-hub-auto-updater-974169037036.us-central1.run.app on 127.0.0.11:53: "
		     "server misbehaving");
	cont_cpa_log(c, "warn", "updater.go:253",
		     "failed to fetch latest management release information error=Get "
		     "\"https://api.github.com/repos/router-for-me/Cli-Proxy-API-Management-Center/releases/latest\": "
		     "dial tcp: lookup api.github.com on 127.0.0.11:53: server misbehaving");
	cont_log(c, "API server started successfully on: :8317");
	cont_log(c, "server clients and configuration updated: 1 clients (1 auth entries + 0 API keys)");
	cont_cpa_log(c, "info", "clients.go:152",
		     "full client load complete - 1 clients (1 auth files + 0 Gemini API keys + 0 Vertex API keys + "
		     "0 Claude API keys + 0 Codex keys + 0 xAI keys + 0 OpenAI-compat)");
	cont_cpa_log(c, "info", "service_lifecycle.go:196", "file watcher started for config and auth directory changes");
	return 0;
}

/* NetworkSettings.Ports: the bound ports while running, else none. */
static json_t *runtime_ports(const struct fcont *c)
{
	json_t *ports = json_object(), *v;
	const char *key;

	json_object_foreach(json_object_get(c->host, "PortBindings"), key, v) {
		char port[16];
		if (!c->running || strcmp(key, c->port_key) != 0 || !c->host_port) {
			continue;
		}
		snprintf(port, sizeof(port), "%d", c->host_port);
		json_object_set_new(ports, key, json_pack("[{s:s,s:s}]", "HostIp", "127.0.0.1", "HostPort", port));
	}
	return ports;
}

static json_t *cont_inspect(const struct fcont *c)
{
	char name[300];

	snprintf(name, sizeof(name), "/%s", c->name);
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:[],s:i,s:{s:s,s:b,s:b,s:b,s:b,s:b,s:i,s:i,s:s,s:s,s:s},"
			 "s:O,s:O,s:O,s:{s:o,s:{s:{s:s,s:s}}}}",
			 "Id", c->id, "Created", c->created, "Name", name, "Image", c->image_id, "Path",
			 c->ccp ? "/app/start_proxy" : "./CLIProxyAPI", "Args", "RestartCount", 0, "State", "Status", c->running ? "running" : "exited",
			 "Running", c->running, "Paused", 0, "Restarting", 0, "OOMKilled", 0, "Dead", 0, "Pid",
			 c->running ? 4242 : 0, "ExitCode", c->exit_code, "Error", "", "StartedAt", c->started,
			 "FinishedAt", c->finished, "Config", c->config, "HostConfig", c->host, "Mounts", c->mounts,
			 "NetworkSettings", "Ports", runtime_ports(c), "Networks", "bridge", "NetworkID", "fakebridge",
			 "IPAddress", c->running ? "172.17.0.2" : "");
}

static json_t *cont_summary(const struct fcont *c)
{
	char name[300];
	json_t *ports = json_array();

	snprintf(name, sizeof(name), "/%s", c->name);
	return json_pack("{s:s,s:[s],s:O,s:s,s:s,s:O,s:s,s:s,s:o}", "Id", c->id, "Names", name, "Image",
			 json_object_get(c->config, "Image"), "ImageID", c->image_id, "Command",
			 c->ccp ? "/app/start_proxy" : "./CLIProxyAPI",
			 "Labels", json_object_get(c->config, "Labels"), "State", c->running ? "running" : "exited",
			 "Status", c->running ? "Up" : "Exited", "Ports", ports);
}

/* --- the dispatcher ----------------------------------------------------------------- */

/* The muxed (or, with Tty, raw) log stream, the last `tail` lines. */
static void answer_logs(const struct fcont *c, const char *path, struct fake_answer *a)
{
	char *tail_s = query_param(path, "tail");
	long tail = tail_s ? strtol(tail_s, NULL, 10) : -1;
	const char *start = c->logs ? c->logs : "";
	const char *p = start + c->logs_len;
	int tty = json_is_true(json_object_get(c->config, "Tty"));
	char *buf = NULL;
	size_t len = 0;

	free(tail_s);
	if (tail >= 0) {
		long seen = 0;
		while (p > start) {
			p--;
			if (*p == '\n' && p + 1 < start + c->logs_len && ++seen >= tail) {
				p++;
				break;
			}
		}
	} else {
		p = start;
	}
	if (tail >= 0 && p == start + c->logs_len)
		p = start;
	/* One frame per line, as the engine sends them. */
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p + 1) : strlen(p);
		if (tty) {
			buf = realloc(buf, len + n);
			if (!buf)
				abort();
			memcpy(buf + len, p, n);
			len += n;
		} else {
			fake_mux_frame(&buf, &len, 1, p, n);
		}
		p += n;
	}
	a->status = 200;
	snprintf(a->content_type, sizeof(a->content_type), "%s",
		 tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream");
	a->body = buf;
	a->len = len;
}

static void answer_archive(const struct fcont *c, const char *path, struct fake_answer *a)
{
	char *want = query_param(path, "path");
	char *src = want ? host_path(c, want) : NULL;
	const char *base = want ? strrchr(want, '/') : NULL;
	struct membuf m;
	struct archive *ar;
	struct stat st;

	if (!src || stat(src, &st) < 0) {
		answer_message(a, 404, "Could not find the file %s in container %s", want ? want : "", c->name);
		goto out;
	}
	base = base && base[1] ? base + 1 : want;
	ar = tar_open(&m);
	tar_add_path(ar, src, base);
	archive_write_close(ar);
	archive_write_free(ar);
	a->status = 200;
	snprintf(a->content_type, sizeof(a->content_type), "application/x-tar");
	a->body = m.data;
	a->len = m.len;
out:
	free(want);
	free(src);
}

static void handle_containers(struct fstate *s, const struct fake_request *r, const char *path,
			      struct fake_answer *a)
{
	const char *rest = path + strlen("/containers/");
	size_t idlen = strcspn(rest, "/?");
	char *id = url_decode(rest, idlen);
	const char *action = rest + idlen;
	struct fcont *c;

	if (strcmp(r->method, "GET") == 0 && strncmp(path, "/containers/json", 16) == 0 &&
	    (path[16] == '\0' || path[16] == '?')) {
		json_t *list = json_array();
		for (size_t i = 0; i < s->n_conts; i++)
			json_array_append_new(list, cont_summary(s->conts[i]));
		answer_json(a, 200, list);
		goto out;
	}
	if (strcmp(r->method, "POST") == 0 && strncmp(path, "/containers/create", 18) == 0) {
		char *name = query_param(path, "name");
		json_t *body = json_loadb(r->body, r->body_len, 0, NULL);
		const struct fimage *im = image_find(s, json_string_value(json_object_get(body, "Image")));
		if (!im)
			answer_message(a, 404, "No such image: %s",
				       json_string_value(json_object_get(body, "Image")) ?: "");
		else if (json_object_get(json_object_get(body, "Labels"), "cpactl.version-probe"))
			/* No throwaway containers: the version comes from the image tag. */
			answer_message(a, 501, "fake engine: version probes are not supported");
		else if (name && cont_find(s, name) && strcmp(cont_find(s, name)->name, name[0] == '/' ? name + 1 : name) == 0)
			answer_message(a, 409, "Conflict. The container name \"/%s\" is already in use", name);
		else {
			char fallback[40];
			snprintf(fallback, sizeof(fallback), "fake_%lu", s->serial + 1);
			c = cont_create(s, name && *name ? (name[0] == '/' ? name + 1 : name) : fallback, body, im);
			answer_json(a, 201, json_pack("{s:s,s:[]}", "Id", c->id, "Warnings"));
		}
		free(name);
		json_decref(body);
		goto out;
	}
	c = cont_find(s, id);
	if (!c) {
		answer_message(a, 404, "No such container: %s", id);
		goto out;
	}
	if (strcmp(r->method, "GET") == 0 && strcmp(action, "/json") == 0) {
		answer_json(a, 200, cont_inspect(c));
	} else if (strcmp(r->method, "GET") == 0 && strncmp(action, "/logs", 5) == 0) {
		answer_logs(c, path, a);
	} else if (strcmp(r->method, "GET") == 0 && strncmp(action, "/archive", 8) == 0) {
		answer_archive(c, path, a);
	} else if (strcmp(r->method, "POST") == 0 && strcmp(action, "/start") == 0) {
		if (c->running)
			answer_empty(a, 304);
		else if (cont_start(s, c, a) == 0)
			answer_empty(a, 204);
	} else if (strcmp(r->method, "POST") == 0 && strncmp(action, "/stop", 5) == 0) {
		if (!c->running)
			answer_empty(a, 304);
		else {
			cont_stop(c, 0);
			answer_empty(a, 204);
		}
	} else if (strcmp(r->method, "POST") == 0 && strncmp(action, "/rename", 7) == 0) {
		char *name = query_param(path, "name");
		const char *n = name && name[0] == '/' ? name + 1 : name;
		struct fcont *other = n ? cont_find(s, n) : NULL;
		if (!n || !*n)
			answer_message(a, 400, "a name is needed");
		else if (other && strcmp(other->name, n) == 0 && other != c)
			answer_message(a, 409, "Conflict. The container name \"/%s\" is already in use", n);
		else if (strcmp(c->name, n) == 0)
			answer_message(a, 409, "Renaming a container with the same name as its current name");
		else {
			snprintf(c->name, sizeof(c->name), "%s", n);
			answer_empty(a, 204);
		}
		free(name);
	} else if (strcmp(r->method, "POST") == 0 && strcmp(action, "/update") == 0) {
		json_t *body = json_loadb(r->body, r->body_len, 0, NULL);
		json_t *policy = json_object_get(body, "RestartPolicy");
		if (json_is_object(policy))
			json_object_set(c->host, "RestartPolicy", policy);
		answer_json(a, 200, json_pack("{s:[]}", "Warnings"));
		json_decref(body);
	} else if (strcmp(r->method, "DELETE") == 0 && (action[0] == '\0' || action[0] == '?')) {
		char *force = query_param(path, "force");
		int forced = force && (strcmp(force, "1") == 0 || strcmp(force, "true") == 0);
		free(force);
		if (c->running && !forced)
			answer_message(a, 409, "You cannot remove a running container %s. Stop the container before "
					       "attempting removal or force remove", c->id);
		else {
			cont_remove(s, c);
			answer_empty(a, 204);
		}
	} else {
		answer_message(a, 404, "fake engine: %s %s is not supported", r->method, path);
	}
out:
	free(id);
}

static void handle_images(struct fstate *s, const struct fake_request *r, const char *path, struct fake_answer *a)
{
	const char *rest = path + strlen("/images/");
	const char *q = strchr(rest, '?');
	size_t n = q ? (size_t)(q - rest) : strlen(rest);
	char *ref = NULL;
	const char *suffix = "";
	struct fimage *im;

	if (strcmp(r->method, "GET") == 0 && strncmp(path, "/images/json", 12) == 0) {
		json_t *list = json_array();
		for (size_t i = 0; i < s->n_images; i++)
			json_array_append_new(list, json_pack("{s:s,s:O,s:I}", "Id", s->images[i].id, "RepoTags",
							      s->images[i].tags, "Size", (json_int_t)4096));
		answer_json(a, 200, list);
		return;
	}
	if (strcmp(r->method, "POST") == 0 && strncmp(path, "/images/create", 14) == 0) {
		char *repo = query_param(path, "fromImage"), *tag = query_param(path, "tag");
		char full[600];
		snprintf(full, sizeof(full), "%s:%s", repo ? repo : "", tag ? tag : "latest");
		if (image_find(s, full)) {
			a->status = 200;
			snprintf(a->content_type, sizeof(a->content_type), "application/json");
			a->body = strdup("{\"status\":\"Status: Image is up to date\"}\n");
			a->len = strlen(a->body);
		} else {
			answer_message(a, 404, "pull access denied for %s, repository does not exist", repo ? repo : "");
		}
		free(repo);
		free(tag);
		return;
	}
	/* /images/{ref}/json, /get, /tag; the ref may hold '/' unescaped. */
	if (n > 5 && strncmp(rest + n - 5, "/json", 5) == 0) {
		suffix = "json";
		n -= 5;
	} else if (n > 4 && strncmp(rest + n - 4, "/get", 4) == 0) {
		suffix = "get";
		n -= 4;
	} else if (n > 4 && strncmp(rest + n - 4, "/tag", 4) == 0) {
		suffix = "tag";
		n -= 4;
	}
	ref = url_decode(rest, n);
	im = image_find(s, ref);
	if (!im) {
		answer_message(a, 404, "No such image: %s", ref);
	} else if (strcmp(r->method, "GET") == 0 && strcmp(suffix, "json") == 0) {
		answer_json(a, 200, image_inspect(im));
	} else if (strcmp(r->method, "GET") == 0 && strcmp(suffix, "get") == 0) {
		image_save_tar(im, a);
	} else if (strcmp(r->method, "POST") == 0 && strcmp(suffix, "tag") == 0) {
		char *repo = query_param(path, "repo"), *tag = query_param(path, "tag");
		char full[600];
		snprintf(full, sizeof(full), "%s:%s", repo ? repo : "", tag && *tag ? tag : "latest");
		image_tag(s, im, full);
		answer_empty(a, 201);
		free(repo);
		free(tag);
	} else if (strcmp(r->method, "DELETE") == 0 && !*suffix) {
		char *norm = normal_ref(ref);
		json_t *t;
		size_t k;
		json_array_foreach(im->tags, k, t) {
			if (strcmp(json_string_value(t), norm) == 0) {
				json_array_remove(im->tags, k);
				break;
			}
		}
		free(norm);
		answer_json(a, 200, json_pack("[{s:s}]", "Untagged", ref));
	} else {
		answer_message(a, 404, "fake engine: %s %s is not supported", r->method, path);
	}
	free(ref);
}

static void handle(void *ctx, const struct fake_request *r, const char *path, struct fake_answer *a)
{
	struct fstate *s = ctx;

	pthread_mutex_lock(&s->lock);
	if (strncmp(path, "/_ping", 6) == 0) {
		a->status = 200;
		snprintf(a->content_type, sizeof(a->content_type), "text/plain; charset=utf-8");
		a->body = strdup("OK");
		a->len = 2;
	} else if (strncmp(path, "/containers/", 12) == 0) {
		handle_containers(s, r, path, a);
	} else if (strncmp(path, "/images/", 8) == 0) {
		handle_images(s, r, path, a);
	} else if (strcmp(r->method, "POST") == 0 && strncmp(path, "/networks/", 10) == 0 && strstr(path, "/connect")) {
		answer_empty(a, 200);
	} else {
		answer_message(a, 404, "fake engine: %s %s is not supported", r->method, path);
	}
	pthread_mutex_unlock(&s->lock);
}

static void state_free(void *ctx)
{
	struct fstate *s = ctx;

	if (!s)
		return;
	for (size_t i = 0; i < s->n_conts; i++)
		cont_free(s->conts[i]);
	free(s->conts);
	for (size_t i = 0; i < s->n_images; i++)
		json_decref(s->images[i].tags);
	free(s->images);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* --- the test's side ------------------------------------------------------------------ */

int fake_engine_start_stateful(struct fake_engine **out)
{
	struct fstate *s = xcalloc(1, sizeof(*s));

	pthread_mutex_init(&s->lock, NULL);
	return fake_engine_start_with(out, handle, s, state_free);
}

int fake_engine_add_image(struct fake_engine *fe, const char *ref)
{
	struct fstate *s = fake_engine_handler_ctx(fe);
	const char *colon = strrchr(ref, ':');
	char hex[SHA256_HEX_LEN + 1], seed[600];
	struct fimage *im;

	if (!colon)
		return -1;
	pthread_mutex_lock(&s->lock);
	s->images = realloc(s->images, (s->n_images + 1) * sizeof(*s->images));
	if (!s->images)
		abort();
	im = &s->images[s->n_images++];
	memset(im, 0, sizeof(*im));
	snprintf(seed, sizeof(seed), "image %s", ref);
	hex_of(seed, hex);
	snprintf(im->id, sizeof(im->id), "sha256:%s", hex);
	im->tags = json_array();
	/* The version is the tag up to its first '-' (v7.2.1-prodfail: v7.2.1). */
	snprintf(im->version, sizeof(im->version), "%.*s", (int)strcspn(colon + 1, "-"), colon + 1);
	im->prodfail = strstr(colon, "-prodfail") != NULL;
	im->err500 = strstr(colon, "-err500") != NULL;
	im->ccp = strstr(ref, "claude-code-proxy") != NULL && strstr(ref, "claude-code-proxy") < colon;
	im->crash = im->ccp && strstr(colon, "-crash") != NULL;
	im->unhealthy = im->ccp && strstr(colon, "-unhealthy") != NULL;
	image_tag(s, im, ref);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int fake_engine_run_cpa(struct fake_engine *fe, const char *name, const char *ref, const char *config_host,
			const char *auth_host, int *port)
{
	struct fstate *s = fake_engine_handler_ctx(fe);
	struct fake_answer a;
	struct fimage *im;
	struct fcont *c;
	json_t *body;
	char binds[2][4200], hp[16];
	int rc = -1;

	memset(&a, 0, sizeof(a));
	snprintf(binds[0], sizeof(binds[0]), "%s:%s", config_host, CPA_CONFIG);
	snprintf(binds[1], sizeof(binds[1]), "%s:%s", auth_host, CPA_AUTH);
	pthread_mutex_lock(&s->lock);
	im = image_find(s, ref);
	if (!im || cont_find(s, name)) {
		fprintf(stderr, "fake engine: cannot run '%s' from '%s'\n", name, ref);
		goto out;
	}
	/* Published on a port the kernel picks, then pinned in PortBindings as
	 * if the user had asked for it, so a recreated container gets it too. */
	body = json_pack("{s:s,s:{s:[s,s],s:{s:[{s:s,s:s}]},s:{s:s,s:i}}}", "Image", ref, "HostConfig", "Binds",
			 binds[0], binds[1], "PortBindings", "8317/tcp", "HostIp", "127.0.0.1", "HostPort", "0",
			 "RestartPolicy", "Name", "unless-stopped", "MaximumRetryCount", 0);
	c = cont_create(s, name, body, im);
	json_decref(body);
	if (cont_start(s, c, &a) != 0 || !c->running) {
		fprintf(stderr, "fake engine: '%s' did not start\n", name);
		goto out;
	}
	snprintf(hp, sizeof(hp), "%d", c->host_port);
	json_object_set_new(json_array_get(json_object_get(json_object_get(c->host, "PortBindings"), "8317/tcp"), 0),
			    "HostPort", json_string(hp));
	*port = c->host_port;
	rc = 0;
out:
	pthread_mutex_unlock(&s->lock);
	free(a.body);
	return rc;
}

int fake_engine_running(struct fake_engine *fe, const char *prefix, char *first, size_t first_len)
{
	struct fstate *s = fake_engine_handler_ctx(fe);
	int n = 0;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n_conts; i++) {
		const struct fcont *c = s->conts[i];
		if (!c->running || (prefix && strncmp(c->name, prefix, strlen(prefix)) != 0))
			continue;
		if (n++ == 0 && first)
			snprintf(first, first_len, "%s", c->name);
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

int fake_engine_state_of(struct fake_engine *fe, const char *name)
{
	struct fstate *s = fake_engine_handler_ctx(fe);
	int st = -1;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n_conts; i++)
		if (strcmp(s->conts[i]->name, name) == 0)
			st = s->conts[i]->running;
	pthread_mutex_unlock(&s->lock);
	return st;
}

void fake_engine_remove_all(struct fake_engine *fe)
{
	struct fstate *s = fake_engine_handler_ctx(fe);

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n_conts; i++)
		cont_free(s->conts[i]);
	s->n_conts = 0;
	pthread_mutex_unlock(&s->lock);
}
