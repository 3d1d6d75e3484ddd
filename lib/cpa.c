/*
 * cpa.c - see cpa.h.
 */
#include "cpa.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"

/* Sections whose list entries are upstream credentials, as in CPA's config. */
static const char *const provider_sections[] = {
	"gemini-api-key", "claude-api-key", "codex-api-key", "xai-api-key", "vertex-api-key",
	"openai-compatibility", "generative-language-api-key", "kimi-api-key", NULL,
};

static const char *const secret_keys[] = {
	"api-keys", "api-key", "secret-key", "upstream-api-key", "amp-upstream-api-key",
	"proxy-url", "access_token", "refresh_token", "id_token", "client_secret", "private_key",
	"password", "token", "generative-language-api-key", "headers", "api-key-entries",
	/* codex.live-media-relay.ice-servers[].credential: a TURN password
	 * (internal/config/config_types.go, CodexLiveICEServer). */
	"credential", NULL,
};

int cpa_key_is_secret(const char *key)
{
	for (size_t i = 0; secret_keys[i]; i++)
		if (strcasecmp(key, secret_keys[i]) == 0)
			return 1;
	return 0;
}

static int contains_nocase(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return 1;
	return 0;
}

int cpa_image_matches(const char *image_ref)
{
	if (!image_ref)
		return 0;
	/* cpactl-rollback:<name>-<ID> is the tag a rollback runs a CPA image
	 * under when its own reference names another image now. */
	return contains_nocase(image_ref, "cli-proxy-api") || contains_nocase(image_ref, "cliproxyapi") ||
	       strncmp(image_ref, "cpactl-rollback:", 16) == 0;
}

int cpa_parse_version_line(const char *text, char *out, size_t outlen)
{
	static const char marker[] = "CLIProxyAPI Version:";
	const char *p = text ? strstr(text, marker) : NULL;
	size_t n = 0;

	if (!p || outlen == 0)
		return -1;
	p += sizeof(marker) - 1;
	while (*p == ' ')
		p++;
	while (p[n] && p[n] != ',' && p[n] != ' ' && p[n] != '\n' && p[n] != '\r')
		n++;
	if (n == 0 || n >= outlen)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

int cpa_version_from_image(const char *image_ref, char *out, size_t outlen)
{
	const char *slash, *colon;
	size_t n;

	/* A digest, or a bare image id ("sha256:0123...": its hex is no tag). */
	if (!image_ref || strchr(image_ref, '@') || strncmp(image_ref, "sha256:", 7) == 0)
		return -1;
	slash = strrchr(image_ref, '/');
	colon = strrchr(image_ref, ':');
	if (!colon || (slash && colon < slash))
		return -1;
	colon++;
	/* Only tags that look like versions: v7.2.0, 7.2.0, v7.2.1-rc1. */
	if (!(isdigit((unsigned char)colon[0]) ||
	      ((colon[0] == 'v' || colon[0] == 'V') && isdigit((unsigned char)colon[1]))))
		return -1;
	n = strlen(colon);
	if (n >= outlen)
		return -1;
	memcpy(out, colon, n + 1);
	return 0;
}

static int parse_version(const char *v, long parts[3])
{
	char *end;

	parts[0] = parts[1] = parts[2] = 0;
	if (!v)
		return -1;
	if (*v == 'v' || *v == 'V')
		v++;
	for (int i = 0; i < 3; i++) {
		if (!isdigit((unsigned char)*v))
			return i == 0 ? -1 : 0;
		parts[i] = strtol(v, &end, 10);
		v = end;
		if (*v != '.')
			return 0;
		v++;
	}
	return 0;
}

int cpa_version_compare(const char *a, const char *b)
{
	long pa[3], pb[3];
	int ra = parse_version(a, pa), rb = parse_version(b, pb);

	if (ra < 0 || rb < 0)
		return (ra < 0 ? 0 : 1) - (rb < 0 ? 0 : 1);
	for (int i = 0; i < 3; i++)
		if (pa[i] != pb[i])
			return pa[i] < pb[i] ? -1 : 1;
	return 0;
}

long cpa_loaded_clients(const char *logs)
{
	static const char marker[] = "full client load complete - ";
	const char *p = logs, *hit = NULL;

	while (p && (p = strstr(p, marker)) != NULL) {
		hit = p;
		p += sizeof(marker) - 1;
	}
	if (!hit)
		return -1;
	hit += sizeof(marker) - 1;
	if (!isdigit((unsigned char)*hit))
		return -1;
	return strtol(hit, NULL, 10);
}

const char *cpa_auth_provider(const char *filename)
{
	static const char *const providers[] = {
		"claude", "codex", "gemini", "antigravity", "xai", "kimi", "vertex", "qwen", "iflow", NULL,
	};
	size_t n = strlen(filename);

	if (filename[0] == '.' || n < 6 || strcasecmp(filename + n - 5, ".json") != 0)
		return NULL;
	for (size_t i = 0; providers[i]; i++) {
		size_t p = strlen(providers[i]);
		if (strncmp(filename, providers[i], p) == 0 && filename[p] == '-')
			return providers[i];
	}
	return "other";
}

/* Does line[0..len) contain needle, in any case? */
static int span_contains_nocase(const char *line, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; n <= len && i <= len - n; i++)
		if (strncasecmp(line + i, needle, n) == 0)
			return 1;
	return 0;
}

static enum cpa_log_level level_of_word(const char *w, size_t n)
{
	static const struct {
		const char *word;
		enum cpa_log_level level;
	} words[] = {
		{"debug", CPA_LOG_DEBUG}, {"trace", CPA_LOG_DEBUG}, {"info", CPA_LOG_INFO},
		{"warn", CPA_LOG_WARN},   {"warning", CPA_LOG_WARN}, {"error", CPA_LOG_ERROR},
		{"fatal", CPA_LOG_FATAL}, {"panic", CPA_LOG_PANIC},
	};

	while (n && w[n - 1] == ' ') /* "%-5s": "warn ", "info " */
		n--;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strlen(words[i].word) == n && strncasecmp(w, words[i].word, n) == 0)
			return words[i].level;
	return CPA_LOG_NONE;
}

enum cpa_log_level cpa_log_line_level(const char *line, size_t len)
{
	const char *p = line, *end = line + len;

	/* The level is one of the first three bracketed fields (timestamp,
	 * request id, level; or timestamp, level): a bracket later in the
	 * message is the message's own. */
	for (int field = 0; field < 3; field++) {
		const char *close;
		enum cpa_log_level level;

		while (p < end && *p == ' ')
			p++;
		if (p >= end || *p != '[')
			break;
		close = memchr(p, ']', (size_t)(end - p));
		if (!close)
			break;
		level = level_of_word(p + 1, (size_t)(close - p - 1));
		if (level != CPA_LOG_NONE)
			return level;
		p = close + 1;
	}
	return CPA_LOG_NONE;
}

const char *cpa_log_offline_warning(const char *line, size_t len)
{
	static const char *const offline[] = {
		"failed to refresh antigravity version",               /* antigravity_version.go:94 */
		"failed to fetch latest management release information", /* updater.go:247, 253 */
		NULL,
	};

	if (cpa_log_line_level(line, len) != CPA_LOG_WARN)
		return NULL;
	for (size_t i = 0; offline[i]; i++)
		if (span_contains_nocase(line, len, offline[i]))
			return offline[i];
	return NULL;
}

int cpa_log_line_is_trouble(const char *line, size_t len, const char *const *unleveled_patterns)
{
	enum cpa_log_level level = cpa_log_line_level(line, len);

	if (level != CPA_LOG_NONE)
		return level >= CPA_LOG_ERROR;
	for (size_t i = 0; unleveled_patterns && unleveled_patterns[i]; i++)
		if (span_contains_nocase(line, len, unleveled_patterns[i]))
			return 1;
	return 0;
}

long cpa_count_error_lines(const char *logs)
{
	static const char *const patterns[] = {
		"panic", "fatal", "failed to", " 401", " 403", "timeout", "is a directory", "error", NULL,
	};
	long count = 0;
	const char *line = logs;

	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);

		if (cpa_log_line_is_trouble(line, len, patterns))
			count++;
		line = end ? end + 1 : NULL;
	}
	return count;
}

static char *dup_string(json_t *v)
{
	const char *s = json_string_value(v);
	return s ? strdup(s) : NULL;
}

const char *cpa_client_key_trim(const char *key, size_t *len)
{
	size_t n;

	while (key && isspace((unsigned char)*key))
		key++;
	n = key ? strlen(key) : 0;
	while (n && isspace((unsigned char)key[n - 1]))
		n--;
	*len = n;
	return key;
}

int cpa_config_summarize(json_t *config, struct cpa_config_summary *out)
{
	json_t *v, *rm;

	memset(out, 0, sizeof(*out));
	out->allow_remote = -1;
	out->port = CPA_API_PORT;
	if (!json_is_object(config))
		return -1;
	v = json_object_get(config, "port");
	if (json_is_integer(v)) {
		out->port = (long)json_integer_value(v);
		out->port_set = 1;
	}
	out->tls = json_is_true(json_object_get(json_object_get(config, "tls"), "enable"));
	out->host = dup_string(json_object_get(config, "host"));
	out->auth_dir = dup_string(json_object_get(config, "auth-dir"));
	v = json_object_get(config, "api-keys");
	if (json_is_array(v)) {
		/* CPA trims the keys and drops the blank ones
		 * (internal/access/config_access/provider.go). */
		for (size_t i = 0; i < json_array_size(v); i++) {
			json_t *item = json_array_get(v, i);
			const char *k = json_string_value(item);
			size_t len;
			/* A number or a boolean is a key too: Go reads 1 into a
			 * string as "1". */
			if (json_is_number(item) || json_is_boolean(item)) {
				out->api_keys++;
				continue;
			}
			k = cpa_client_key_trim(k, &len);
			if (!len)
				continue;
			out->api_keys++;
			if (!out->first_api_key)
				out->first_api_key = strndup(k, len);
		}
	}
	rm = json_object_get(config, "remote-management");
	if (json_is_object(rm)) {
		v = json_object_get(rm, "allow-remote");
		if (json_is_boolean(v))
			out->allow_remote = json_is_true(v);
		v = json_object_get(rm, "secret-key");
		out->secret_key_set = json_is_string(v) && json_string_length(v) > 0;
	}
	out->providers = json_object();
	for (size_t i = 0; provider_sections[i]; i++) {
		v = json_object_get(config, provider_sections[i]);
		if (json_is_array(v))
			json_object_set_new(out->providers, provider_sections[i],
					    json_integer((json_int_t)json_array_size(v)));
		else if (v && !json_is_null(v))
			json_object_set_new(out->providers, provider_sections[i], json_integer(1));
	}
	return 0;
}

void cpa_config_summary_release(struct cpa_config_summary *s)
{
	if (s->first_api_key) {
		volatile char *p = s->first_api_key;
		while (*p)
			*p++ = 0;
		free(s->first_api_key);
	}
	free(s->host);
	free(s->auth_dir);
	json_decref(s->providers);
	memset(s, 0, sizeof(*s));
}

char *cpa_resolve_auth_dir(const char *configured, const char *workdir, const char *home)
{
	struct buf b = BUF_INIT;

	if (!configured || !*configured) {
		buf_append_str(&b, CPA_AUTH_DIR);
	} else if (configured[0] == '~') {
		/* internal/util/util.go ResolveAuthDir: any leading "~" is $HOME, the
		 * rest with its leading slashes trimmed ("~user/x" is $HOME/user/x). */
		const char *rest = configured + 1;
		size_t at;
		while (*rest == '/' || *rest == '\\')
			rest++;
		buf_append_str(&b, home && home[0] == '/' ? home : "/root");
		while (b.len > 1 && b.data[b.len - 1] == '/')
			b.data[--b.len] = '\0';
		if (*rest) {
			if (b.len > 1)
				buf_append_str(&b, "/");
			at = b.len;
			buf_append_str(&b, rest);
			for (; at < b.len; at++)
				if (b.data[at] == '\\')
					b.data[at] = '/';
		}
	} else if (configured[0] == '/') {
		buf_append_str(&b, configured);
	} else {
		const char *base = workdir && *workdir ? workdir : CPA_WORKDIR;
		size_t base_len = strlen(base);
		/* "./auths" and "." are relative too; "/app/./auths" would match no mount. */
		while (configured[0] == '.' && configured[1] == '/')
			configured += 2;
		if (strcmp(configured, ".") == 0)
			configured = "";
		while (base_len > 0 && base[base_len - 1] == '/')
			base_len--;
		buf_appendf(&b, "%.*s/%s", (int)base_len, base, configured);
	}
	/* Trailing slashes would not match mount destinations. */
	while (b.len > 1 && b.data[b.len - 1] == '/')
		b.data[--b.len] = '\0';
	return buf_detach(&b);
}

/* 1 when Config.Env sets NAME or name (the two spellings CPA looks up) to
 * something not blank; the last assignment wins, as in the engine. */
static int env_is_set(json_t *inspect, const char *upper)
{
	json_t *env = json_object_get(json_object_get(inspect, "Config"), "Env"), *entry;
	char lower[64];
	size_t i, n = strlen(upper);
	int set = 0;

	if (n >= sizeof(lower))
		return 0;
	for (i = 0; i <= n; i++)
		lower[i] = (char)tolower((unsigned char)upper[i]);
	json_array_foreach(env, i, entry) {
		const char *e = json_string_value(entry), *v;
		if (!e || (strncmp(e, upper, n) != 0 && strncmp(e, lower, n) != 0) || e[n] != '=')
			continue;
		for (v = e + n + 1; *v == ' ' || *v == '\t'; v++)
			;
		set = *v != '\0';
	}
	return set;
}

int cpa_command_mentions(json_t *config, const char *word)
{
	static const char *const fields[] = { "Entrypoint", "Cmd", NULL };
	json_t *arg;
	size_t i;

	for (size_t f = 0; fields[f]; f++)
		json_array_foreach(json_object_get(config, fields[f]), i, arg)
			if (json_string_value(arg) && strstr(json_string_value(arg), word))
				return 1;
	return 0;
}

const char *cpa_cluster_marker(json_t *inspect)
{
	if (env_is_set(inspect, "HOME_JWT"))
		return "HOME_JWT";
	/* `./CLIProxyAPI -home-jwt "$HOME_JWT"`, often through `sh -c`. */
	if (cpa_command_mentions(json_object_get(inspect, "Config"), "-home-jwt"))
		return "-home-jwt";
	return NULL;
}

const char *cpa_remote_store_var(json_t *inspect)
{
	static const char *const vars[] = { "PGSTORE_DSN", "GITSTORE_GIT_URL", "OBJECTSTORE_ENDPOINT", NULL };

	for (size_t i = 0; vars[i]; i++)
		if (env_is_set(inspect, vars[i]))
			return vars[i];
	return NULL;
}

int cpa_env_is_remote_store(const char *entry)
{
	static const char *const prefixes[] = { "PGSTORE_", "GITSTORE_", "OBJECTSTORE_", NULL };

	for (size_t i = 0; entry && prefixes[i]; i++)
		if (strncasecmp(entry, prefixes[i], strlen(prefixes[i])) == 0)
			return 1;
	return 0;
}
