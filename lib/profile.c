/*
 * profile.c - the profiles' tables, and env files read and masked.
 */
#include "profile.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cpa.h"
#include "secretmask.h"

static const char *const cpa_images[] = { "cli-proxy-api", "cliproxyapi", NULL };
static const char *const ccp_images[] = { "claude-code-proxy", NULL };
static const char *const no_images[] = { NULL };

const struct profile profile_cpa = {
	.name = "cpa",
	.image_patterns = cpa_images,
	.api_port = CPA_API_PORT,
	.probe_path = "/v1/models",
	.expect = EXPECT_MODELS,
	.settings = SETTINGS_YAML,
	.settings_part = "config.yaml",
	.has_auth_dir = 1,
	.cpa = 1,
	/* CPA's working dir holds them (internal/logging, internal/pluginhost). */
	.logs_dir = "/CLIProxyAPI/logs",
	.plugins_dir = "/CLIProxyAPI/plugins",
};

const struct profile profile_claude_code_proxy = {
	.name = "claude-code-proxy",
	.image_patterns = ccp_images,
	.api_port = 8082,
	.port_env = "PORT",
	.probe_path = "/health",
	.expect = EXPECT_STATUS,
	.settings = SETTINGS_ENV,
	.settings_part = "settings.env",
	.key_env = "ANTHROPIC_API_KEY",
	/* src/api/endpoints.py: counted locally, no upstream call. */
	.token_check_path = "/v1/messages/count_tokens",
};

const struct profile profile_http = {
	.name = "http",
	.image_patterns = no_images,
	.api_port = 0,
	.probe_path = "/health",
	.expect = EXPECT_2XX,
	.settings = SETTINGS_ENV,
	.settings_part = "settings.env",
};

static const struct profile *const profiles[] = { &profile_cpa, &profile_claude_code_proxy, &profile_http, NULL };

const struct profile *profile_by_name(const char *name)
{
	for (size_t i = 0; name && profiles[i]; i++)
		if (strcmp(profiles[i]->name, name) == 0)
			return profiles[i];
	return NULL;
}

/* Case-insensitive strstr on the repository part (before the tag). */
static int repo_contains(const char *ref, const char *pattern)
{
	size_t plen = strlen(pattern), n = strlen(ref);
	const char *slash = strrchr(ref, '/'), *colon = strrchr(ref, ':'), *at = strchr(ref, '@');

	if (at)
		n = (size_t)(at - ref);
	else if (colon && (!slash || colon > slash))
		n = (size_t)(colon - ref);
	for (size_t i = 0; i + plen <= n; i++)
		if (strncasecmp(ref + i, pattern, plen) == 0)
			return 1;
	return 0;
}

const struct profile *profile_for_image(const char *image_ref)
{
	if (!image_ref || strncmp(image_ref, "sha256:", 7) == 0)
		return NULL;
	for (size_t i = 0; profiles[i]; i++)
		for (size_t k = 0; profiles[i]->image_patterns[k]; k++)
			if (repo_contains(image_ref, profiles[i]->image_patterns[k]))
				return profiles[i];
	return NULL;
}

int profile_status_is_healthy(const char *status)
{
	static const char *const good[] = { "healthy", "ok", "up", "pass", "running", "serving", NULL };

	for (size_t i = 0; status && good[i]; i++)
		if (strcasecmp(status, good[i]) == 0)
			return 1;
	return 0;
}

/* --- env files ---------------------------------------------------------------- */

/* One line of an env file: where the name and the value are. */
struct env_line {
	const char *name;
	size_t name_len;
	const char *value;   /* after '=', quotes included */
	size_t value_len;
};

/* Splits the line [p, end) ; returns 1 for an assignment, 0 for a blank,
 * comment or malformed line. */
static int env_parse_line(const char *p, const char *end, struct env_line *l)
{
	const char *eq;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end || *p == '#')
		return 0;
	if ((size_t)(end - p) > 7 && strncmp(p, "export ", 7) == 0)
		p += 7;
	eq = memchr(p, '=', (size_t)(end - p));
	if (!eq || eq == p)
		return 0;
	l->name = p;
	l->name_len = (size_t)(eq - p);
	while (l->name_len && (p[l->name_len - 1] == ' ' || p[l->name_len - 1] == '\t'))
		l->name_len--;
	l->value = eq + 1;
	l->value_len = (size_t)(end - l->value);
	if (l->value_len && l->value[l->value_len - 1] == '\r')
		l->value_len--;
	return l->name_len > 0;
}

int env_text_get(const char *data, size_t len, const char *key, char **value)
{
	const char *p = data, *end = data + len;
	size_t klen = strlen(key);
	int found = 0;

	*value = NULL;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = nl ? nl : end;
		struct env_line l;

		if (env_parse_line(p, line_end, &l) && l.name_len == klen && memcmp(l.name, key, klen) == 0) {
			const char *v = l.value;
			size_t n = l.value_len;
			char *copy;

			while (n && (*v == ' ' || *v == '\t')) {
				v++;
				n--;
			}
			while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
				n--;
			if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
				v++;
				n -= 2;
			}
			copy = malloc(n + 1);
			if (!copy)
				return -1;
			memcpy(copy, v, n);
			copy[n] = '\0';
			if (*value) {
				memset(*value, 0, strlen(*value));
				free(*value);
			}
			*value = copy;
			found = 1;
		}
		p = nl ? nl + 1 : end;
	}
	return found;
}

int env_name_is_secret(const char *name)
{
	static const char *const words[] = { "KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL",
					     "DSN", "COOKIE", "AUTH", "JWT", "CUSTOM_HEADER_", NULL };
	/* Sizes, not secrets: claude-code-proxy's MAX_TOKENS_LIMIT and kin. */
	static const char *const counts[] = { "TOKENS_LIMIT", "MAX_TOKENS", "MIN_TOKENS", NULL };

	for (size_t i = 0; name && counts[i]; i++)
		if (strcasestr(name, counts[i]))
			return 0;
	for (size_t i = 0; name && words[i]; i++) {
		size_t wlen = strlen(words[i]);
		for (const char *p = name; *p; p++)
			if (strncasecmp(p, words[i], wlen) == 0)
				return 1;
	}
	return 0;
}

int secret_mask_env(const char *data, size_t len, struct buf *out, struct cpactl_error *err)
{
	const char *p = data, *end = data + len;
	struct buf masked = BUF_INIT;
	int rc = -1;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = nl ? nl + 1 : end;
		struct env_line l;
		char name[256];

		if (env_parse_line(p, nl ? nl : end, &l) && l.name_len < sizeof(name)) {
			memcpy(name, l.name, l.name_len);
			name[l.name_len] = '\0';
		} else {
			name[0] = '\0';
		}
		if (name[0] && env_name_is_secret(name) && l.value_len > 0) {
			/* The line up to '=', the mask, and what ends the line. */
			if (buf_append(&masked, p, (size_t)(l.value - p)) < 0 || buf_append_str(&masked, SECRET_MASK) < 0 ||
			    buf_append(&masked, l.value + l.value_len, (size_t)(line_end - (l.value + l.value_len))) < 0)
				goto nomem;
		} else if (buf_append(&masked, p, (size_t)(line_end - p)) < 0) {
			goto nomem;
		}
		p = line_end;
	}
	if (buf_append(out, masked.data ? masked.data : "", masked.len) < 0)
		goto nomem;
	rc = 0;
	goto out;
nomem:
	error_set(err, ERR_NOMEM, "out of memory");
out:
	buf_wipe(&masked);
	return rc;
}

int profile_mask_settings(const struct profile *p, const char *data, size_t len, struct buf *out,
			  struct cpactl_error *err)
{
	if (p && p->settings == SETTINGS_ENV)
		return secret_mask_env(data, len, out, err);
	return secret_mask_yaml(data, len, out, err);
}
