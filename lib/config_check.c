/*
 * config_check.c - the checks of config.yaml (see config_check.h).
 *
 * Severities follow one rule, so that `config apply` can refuse on errors
 * alone:
 *   error    CPA would not start with this file (bad YAML, a key written
 *            twice, a value of the wrong type), or would serve anybody (no
 *            client key) or nobody (the template keys in safe mode);
 *   warning  the file exposes something (remote management, pprof, request
 *            logs, the Amp upstream key), or CPA will silently ignore, migrate
 *            or delete a key of it;
 *   info     worth knowing, nothing to fix (CPA will hash a plaintext
 *            management key and rewrite the file).
 *
 * The version rules come from cpa-facts.md: a version given by the caller
 * selects the rules of that release; without one (or "dev"), the file is
 * judged against the newest CPA cpactl knows, and the texts name the versions
 * a rule applies from.  No text ever holds a value of the file; an unknown
 * key is named only when it looks like a key name (a pasted token could sit
 * where a key should be).
 */
#include "config_check.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpa.h"
#include "yamlconf.h"

enum value_type {
	V_ANY,          /* anything, cpactl does not check it */
	V_BOOL,         /* true/false (yaml.v3 also takes yes/no/on/off for a bool) */
	V_INT,
	V_SCALAR,       /* a Go string: any scalar, never a mapping or a list */
	V_STRING_LIST,  /* a list of scalars */
	V_LIST,
	V_MAP,
};

#define K_SECRET 1u   /* holds a secret: masked by secretmask.c, never quoted here */
#define K_CLOSED 2u   /* a mapping whose every key is listed below: others are unknown */

struct known_key {
	const char *path;   /* dotted: "remote-management.allow-remote" */
	enum value_type type;
	unsigned flags;
};

/* CPA's keys, v6.0 to v7.2 (config.example.yaml of each release, cpa-facts.md),
 * legacy ones included: they are known, and the version rules below say what
 * a release does with them.  Top-level keys not listed are reported unknown;
 * below the top level only K_CLOSED mappings are, as provider entries gain
 * keys with every release. */
static const struct known_key known_keys[] = {
	{ "host", V_SCALAR, 0 },
	{ "port", V_INT, 0 },
	{ "tls", V_MAP, K_CLOSED },
	{ "tls.enable", V_BOOL, 0 },
	{ "tls.cert", V_SCALAR, 0 },
	{ "tls.key", V_SCALAR, 0 },
	{ "remote-management", V_MAP, K_CLOSED },
	{ "remote-management.allow-remote", V_BOOL, 0 },
	{ "remote-management.secret-key", V_SCALAR, K_SECRET },
	{ "remote-management.disable-control-panel", V_BOOL, 0 },
	{ "remote-management.disable-auto-update-panel", V_BOOL, 0 },
	{ "remote-management.panel-github-repository", V_SCALAR, 0 },
	{ "auth-dir", V_SCALAR, 0 },
	{ "api-keys", V_STRING_LIST, K_SECRET },
	{ "debug", V_BOOL, 0 },
	{ "request-log", V_BOOL, 0 },
	{ "pprof", V_MAP, K_CLOSED },
	{ "pprof.enable", V_BOOL, 0 },
	{ "pprof.addr", V_SCALAR, 0 },
	{ "ws-auth", V_BOOL, 0 },
	{ "logging-to-file", V_BOOL, 0 },
	{ "logs-max-total-size-mb", V_INT, 0 },
	{ "error-logs-max-files", V_INT, 0 },
	{ "usage-statistics-enabled", V_BOOL, 0 },
	{ "redis-usage-queue-retention-seconds", V_INT, 0 },
	{ "proxy-url", V_SCALAR, K_SECRET },
	{ "request-retry", V_INT, 0 },
	{ "max-retry-credentials", V_INT, 0 },
	{ "max-retry-interval", V_INT, 0 },
	{ "disable-cooling", V_BOOL, 0 },
	{ "save-cooldown-status", V_BOOL, 0 },
	{ "transient-error-cooldown-seconds", V_INT, 0 },
	{ "commercial-mode", V_BOOL, 0 },
	{ "force-model-prefix", V_BOOL, 0 },
	{ "passthrough-headers", V_BOOL, 0 },
	{ "disable-claude-cloak-mode", V_BOOL, 0 },
	{ "disable-image-generation", V_ANY, 0 },
	{ "gpt-image-2-base-model", V_SCALAR, 0 },
	{ "video-result-auth-cache-ttl", V_SCALAR, 0 },
	{ "auth-auto-refresh-workers", V_INT, 0 },
	{ "nonstream-keepalive-interval", V_INT, 0 },
	{ "antigravity-signature-cache-enabled", V_BOOL, 0 },
	{ "antigravity-signature-bypass-strict", V_BOOL, 0 },
	{ "quota-exceeded", V_MAP, 0 },
	{ "routing", V_MAP, 0 },
	{ "routing.strategy", V_SCALAR, 0 },
	{ "streaming", V_MAP, 0 },
	{ "claude-code", V_MAP, 0 },
	{ "codex", V_MAP, 0 },
	{ "xai", V_MAP, 0 },
	{ "antigravity", V_MAP, 0 },
	{ "plugins", V_MAP, 0 },
	{ "credential-concurrency", V_MAP, 0 },
	{ "credential-in-flight", V_MAP, 0 },
	{ "payload", V_MAP, 0 },
	{ "claude-header-defaults", V_MAP, 0 },
	{ "codex-header-defaults", V_MAP, 0 },
	{ "oauth-model-alias", V_MAP, 0 },
	{ "oauth-excluded-models", V_MAP, 0 },
	{ "oauth-request-scoped-errors", V_MAP, 0 },
	{ "gemini-api-key", V_LIST, K_SECRET },
	{ "interactions-api-key", V_LIST, K_SECRET },
	{ "claude-api-key", V_LIST, K_SECRET },
	{ "codex-api-key", V_LIST, K_SECRET },
	{ "xai-api-key", V_LIST, K_SECRET },
	{ "vertex-api-key", V_LIST, K_SECRET },
	{ "openai-compatibility", V_LIST, K_SECRET },
	/* Legacy keys: see the version rules. */
	{ "generative-language-api-key", V_STRING_LIST, K_SECRET },
	{ "ampcode", V_MAP, K_CLOSED },
	{ "ampcode.upstream-url", V_SCALAR, 0 },
	{ "ampcode.upstream-api-key", V_SCALAR, K_SECRET },
	{ "ampcode.restrict-management-to-localhost", V_BOOL, 0 },
	{ "ampcode.model-mappings", V_ANY, 0 },
	{ "amp-upstream-url", V_SCALAR, 0 },
	{ "amp-upstream-api-key", V_SCALAR, K_SECRET },
	{ "amp-restrict-management-to-localhost", V_BOOL, 0 },
	{ "amp-model-mappings", V_ANY, 0 },
	{ "auth", V_MAP, K_CLOSED },
	{ "auth.providers", V_LIST, K_SECRET },
	{ "oauth-model-mappings", V_ANY, 0 },
	/* Keys of some releases only: see the version rules. */
	{ "enable-gemini-cli-endpoint", V_BOOL, 0 },
	{ "home", V_MAP, 0 },
	/* Not listed: model-name-mappings, which no tagged release ever read. */
};

#define KNOWN_KEY_COUNT (sizeof(known_keys) / sizeof(known_keys[0]))

/* What a release does with a key it no longer reads as written. */
struct version_rule {
	const char *path;
	const char *from;   /* first release the rule applies to */
	const char *until;  /* first release it no longer applies to, or NULL */
	const char *code;
	/* The sentence is what_before 'path' what_after: the format that quotes
	 * the key is a literal at the call, and the key is named once. */
	const char *what_before;
	const char *what_after;
	const char *fix;
};

static const struct version_rule version_rules[] = {
	/* The legacy keys were moved and config.yaml rewritten only from v6.5.37
	 * to v6.7.53; v6.8.0 turned the startup migration off, so from then on
	 * they are read by nobody (internal/config/config.go LoadConfig). */
	{ "amp-upstream-url", "6.5.37", "6.8.0", "legacy-key-migrated",
	  "from v6.5.37 to v6.7.53, CPA moves legacy ",
	  " under 'ampcode:' and rewrites config.yaml on start (a read-only mount makes that start fail)",
	  "move the key under 'ampcode:' yourself (upstream-url), so the file does not change under you" },
	{ "amp-upstream-api-key", "6.5.37", "6.8.0", "legacy-key-migrated",
	  "from v6.5.37 to v6.7.53, CPA moves legacy ",
	  " under 'ampcode:' and rewrites config.yaml on start (a read-only mount makes that start fail)",
	  "move the key under 'ampcode:' yourself (upstream-api-key), so the file does not change under you" },
	{ "amp-restrict-management-to-localhost", "6.5.37", "6.8.0", "legacy-key-migrated",
	  "from v6.5.37 to v6.7.53, CPA moves legacy ", " under 'ampcode:' and rewrites config.yaml on start",
	  "move the key under 'ampcode:' yourself (restrict-management-to-localhost)" },
	{ "amp-model-mappings", "6.5.37", "6.8.0", "legacy-key-migrated",
	  "from v6.5.37 to v6.7.53, CPA moves legacy ", " under 'ampcode:' and rewrites config.yaml on start",
	  "move the key under 'ampcode:' yourself (model-mappings)" },
	{ "generative-language-api-key", "6.5.37", "6.8.0", "legacy-key-migrated",
	  "from v6.5.37 to v6.7.53, CPA moves legacy ", " into 'gemini-api-key' and rewrites config.yaml on start",
	  "move the keys into 'gemini-api-key' entries yourself" },
	{ "amp-upstream-url", "6.8.0", "7.2.0", "legacy-key-ignored",
	  "from v6.8.0 on, CPA silently ignores legacy ", " (the startup migration was turned off)",
	  "move the key under 'ampcode:' (upstream-url)" },
	{ "amp-upstream-api-key", "6.8.0", "7.2.0", "legacy-key-ignored",
	  "from v6.8.0 on, CPA silently ignores legacy ", ": that upstream key is no longer used",
	  "move the key under 'ampcode:' (upstream-api-key)" },
	{ "amp-restrict-management-to-localhost", "6.8.0", "7.2.0", "legacy-key-ignored",
	  "from v6.8.0 on, CPA silently ignores legacy ", " (the startup migration was turned off)",
	  "move the key under 'ampcode:' (restrict-management-to-localhost)" },
	{ "amp-model-mappings", "6.8.0", "7.2.0", "legacy-key-ignored",
	  "from v6.8.0 on, CPA silently ignores legacy ", " (the startup migration was turned off)",
	  "move the key under 'ampcode:' (model-mappings)" },
	{ "amp-upstream-url", "7.2.0", NULL, "legacy-key-ignored",
	  "from v7.2.0 on, CPA has no Amp support and ignores legacy ", "", "remove the key" },
	{ "amp-upstream-api-key", "7.2.0", NULL, "legacy-key-ignored",
	  "from v7.2.0 on, CPA has no Amp support and ignores legacy ", "",
	  "remove the key (and revoke that key if it is no longer used)" },
	{ "amp-restrict-management-to-localhost", "7.2.0", NULL, "legacy-key-ignored",
	  "from v7.2.0 on, CPA has no Amp support and ignores legacy ", "", "remove the key" },
	{ "amp-model-mappings", "7.2.0", NULL, "legacy-key-ignored",
	  "from v7.2.0 on, CPA has no Amp support and ignores legacy ", "", "remove the key" },
	{ "generative-language-api-key", "6.8.0", NULL, "legacy-key-ignored",
	  "from v6.8.0 on, CPA silently ignores legacy ", ": those Gemini keys are no longer used",
	  "move the keys into 'gemini-api-key' entries" },
	{ "ampcode", "7.2.0", NULL, "key-removed",
	  "from v7.2.0 on, CPA ignores ",
	  " (Amp support was removed) and deletes it the next time it saves config.yaml (the web UI)",
	  "remove the 'ampcode' block, or stay on v7.1 while Amp clients depend on it" },
	{ "auth", "6.8.9", NULL, "legacy-key-ignored",
	  "from v6.8.9 on, CPA silently ignores ", " (auth.providers): its keys no longer authenticate clients",
	  "move the client keys to 'api-keys' and remove the 'auth' block" },
	{ "oauth-model-mappings", "6.7.0", "6.8.0", "legacy-key-migrated",
	  "from v6.7.0 to v6.7.53, CPA renames ", " to 'oauth-model-alias' and rewrites config.yaml on start",
	  "rename the key to 'oauth-model-alias' yourself, so the file does not change under you" },
	{ "oauth-model-mappings", "6.8.0", NULL, "legacy-key-ignored",
	  "from v6.8.0 on, CPA silently ignores ", " (the rename to 'oauth-model-alias' was turned off)",
	  "rename the key to 'oauth-model-alias'" },
	/* internal/config/sdk_config.go from v6.9.12 to v7.2.19. */
	{ "enable-gemini-cli-endpoint", "0.0.1", "6.9.12", "key-unknown-yet",
	  "before v6.9.12, CPA does not know ", "", "remove the key, or upgrade to v6.9.12 or later" },
	{ "enable-gemini-cli-endpoint", "7.2.20", NULL, "key-removed",
	  "from v7.2.20 on, CPA no longer reads ", "", "remove the key" },
	/* A node's Home settings (internal/config/config.go) from v7.0.0 to v7.1.16. */
	{ "home", "0.0.1", "7.0.0", "key-unknown-yet",
	  "before v7.0.0, CPA does not know ", "", "remove the block, or upgrade to v7.0.0 or later" },
	{ "home", "7.1.17", NULL, "key-removed",
	  "from v7.1.17 on, CPA ignores ",
	  ": a node configured by it silently leaves its cluster (it runs as a standalone proxy)",
	  "start the node with -home-jwt (or HOME_JWT), as CPA's docker-compose.cluster.yml does" },
};

/* The template keys of config.example.yaml that trip CPA's safe mode, after
 * trimming (internal/safemode/example_api_keys.go); a plain "your-api-key" is
 * not one of them. */
static const char *const template_keys[] = { "your-api-key-1", "your-api-key-2", "your-api-key-3" };

struct check {
	struct finding_list *out;
	json_t *doc;
	json_t *lines;
	const char *version;  /* NULL: the newest CPA */
	int failed;           /* out of memory */
};

static int line_of(const struct check *c, const char *path)
{
	return (int)json_integer_value(json_object_get(c->lines, path));
}

static void add(struct check *c, enum finding_severity severity, const char *code, const char *subject,
		const char *fix, const char *what_fmt, ...) __attribute__((format(printf, 6, 7)));

static void add(struct check *c, enum finding_severity severity, const char *code, const char *subject,
		const char *fix, const char *what_fmt, ...)
{
	va_list ap;

	va_start(ap, what_fmt);
	if (finding_addv(c->out, severity, code, subject, subject ? line_of(c, subject) : 0, fix, what_fmt, ap) < 0)
		c->failed = 1;
	va_end(ap);
}

/* The value at a dotted path, or NULL. */
static json_t *value_at(json_t *doc, const char *path)
{
	char part[128];
	json_t *v = doc;

	while (v && *path) {
		size_t n = strcspn(path, ".");
		if (n >= sizeof(part) || !json_is_object(v))
			return NULL;
		memcpy(part, path, n);
		part[n] = '\0';
		v = json_object_get(v, part);
		path += n;
		if (*path == '.')
			path++;
	}
	return v;
}

/* 1 from `version` on (NULL: the newest CPA is past every rule). */
static int at_least(const struct check *c, const char *version)
{
	return !c->version || cpa_version_compare(c->version, version) >= 0;
}

static int in_range(const struct check *c, const char *from, const char *until)
{
	if (!c->version)
		return until == NULL;
	return at_least(c, from) && (!until || !at_least(c, until));
}

/* yaml.v3 reads yes/on/y (and no/off/n) into a Go bool. */
static int is_true(json_t *v)
{
	const char *s = json_string_value(v);

	if (json_is_true(v))
		return 1;
	return s && (strcmp(s, "yes") == 0 || strcmp(s, "Yes") == 0 || strcmp(s, "YES") == 0 || strcmp(s, "on") == 0 ||
		     strcmp(s, "On") == 0 || strcmp(s, "ON") == 0 || strcmp(s, "y") == 0 || strcmp(s, "Y") == 0);
}

static int is_bool_text(json_t *v)
{
	static const char *const words[] = { "y", "Y", "yes", "Yes", "YES", "on", "On", "ON",
					     "n", "N", "no", "No", "NO", "off", "Off", "OFF" };
	const char *s = json_string_value(v);

	for (size_t i = 0; s && i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(s, words[i]) == 0)
			return 1;
	return 0;
}

static int is_scalar(json_t *v)
{
	return !json_is_object(v) && !json_is_array(v);
}

/* A non-empty string (a Go string field holding something). */
static const char *text_of(json_t *v)
{
	const char *s = json_string_value(v);
	return s && *s ? s : NULL;
}

static const struct known_key *known_key_find(const char *path)
{
	for (size_t i = 0; i < KNOWN_KEY_COUNT; i++)
		if (strcmp(known_keys[i].path, path) == 0)
			return &known_keys[i];
	return NULL;
}

/* --- syntax, duplicates, types --------------------------------------------- */

/* The line number inside a yamlconf message ("... line 3 column 5: ..."). */
static int line_in_message(const char *message)
{
	const char *p = strstr(message, " line ");
	return p ? atoi(p + 6) : 0;
}

static void check_duplicates(struct check *c, json_t *duplicates)
{
	size_t i;
	json_t *d;

	json_array_foreach(duplicates, i, d) {
		const char *key = json_string_value(json_object_get(d, "key"));
		int line = (int)json_integer_value(json_object_get(d, "line"));
		char what[512];
		snprintf(what, sizeof(what), "'%s' is written twice (first at line %d): CPA refuses to start on a "
					     "duplicate key",
			 key, (int)json_integer_value(json_object_get(d, "first")));
		if (finding_add(c->out, FINDING_ERROR, "duplicate-key", key, line, what,
				"keep one of the two and remove the other") < 0)
			c->failed = 1;
	}
}

static const char *type_words(enum value_type t, const char **fix)
{
	switch (t) {
	case V_BOOL:
		*fix = "write true or false, without quotes";
		return "true or false";
	case V_INT:
		*fix = "write a whole number, without quotes";
		return "a whole number";
	case V_SCALAR:
		*fix = "write a single value on the key's line";
		return "a single value, not a list or a mapping";
	case V_STRING_LIST:
		*fix = "write one '- value' line per entry under the key";
		return "a list of values";
	case V_LIST:
		*fix = "write one '- ' entry per item under the key";
		return "a list";
	case V_MAP:
		*fix = "write 'key: value' lines indented under it";
		return "a mapping of keys";
	case V_ANY:
		break;
	}
	*fix = "";
	return "";
}

static int type_fits(enum value_type t, json_t *v)
{
	size_t i;
	json_t *item;

	if (json_is_null(v))
		return 1;    /* Go leaves the zero value */
	switch (t) {
	case V_ANY: return 1;
	case V_BOOL: return json_is_boolean(v) || is_bool_text(v);
	case V_INT: return json_is_integer(v);
	case V_SCALAR: return is_scalar(v);
	case V_LIST: return json_is_array(v);
	case V_MAP: return json_is_object(v);
	case V_STRING_LIST:
		if (!json_is_array(v))
			return 0;
		json_array_foreach(v, i, item)
			if (!is_scalar(item))
				return 0;
		return 1;
	}
	return 1;
}

static void check_types(struct check *c)
{
	for (size_t i = 0; i < KNOWN_KEY_COUNT; i++) {
		const struct known_key *k = &known_keys[i];
		json_t *v = value_at(c->doc, k->path);
		const char *fix, *words;
		if (!v || type_fits(k->type, v))
			continue;
		words = type_words(k->type, &fix);
		add(c, FINDING_ERROR, "wrong-type", k->path, fix,
		    "'%s' must be %s: CPA cannot read this file and does not start", k->path, words);
	}
	{
		json_t *port = json_object_get(c->doc, "port");
		/* Without it Go listens on ":0" (internal/api/server.go:250). */
		if (!port)
			add(c, FINDING_ERROR, "port-missing", NULL, "write 'port: 8317' (or the port the container publishes)",
			    "config.yaml has no 'port:': CPA then listens on a random port (only cluster mode forces "
			    "8317), so the port the container publishes reaches nothing");
		if (json_is_integer(port) && (json_integer_value(port) < 1 || json_integer_value(port) > 65535))
			add(c, FINDING_ERROR, "wrong-type", "port", "choose a port from 1 to 65535 (8317 is CPA's)",
			    "'port' is not a port from 1 to 65535: CPA cannot listen");
	}
}

/* --- unknown keys ------------------------------------------------------------ */

/* A key is named in a finding only when it looks like one: lower case words
 * with dashes, short.  Anything else could be a value pasted in its place. */
static int printable_key(const char *key)
{
	size_t n = strlen(key);

	if (n == 0 || n > 48)
		return 0;
	for (const char *p = key; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
			return 0;
	return 1;
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64];

	if (la >= 63 || lb >= 63)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

/* The known key of the same parent closest to `path` (a typo), or NULL. */
static const char *closest_key(const char *parent, const char *key)
{
	size_t plen = parent ? strlen(parent) : 0, best = 3;
	const char *found = NULL;

	for (size_t i = 0; i < KNOWN_KEY_COUNT; i++) {
		const char *p = known_keys[i].path, *leaf;
		size_t d;
		if (plen ? strncmp(p, parent, plen) != 0 || p[plen] != '.' : strchr(p, '.') != NULL)
			continue;
		leaf = plen ? p + plen + 1 : p;
		if (strchr(leaf, '.'))
			continue;
		d = edit_distance(key, leaf);
		if (d < best) {
			best = d;
			found = leaf;
		}
	}
	return found;
}

static void check_unknown_in(struct check *c, const char *parent, json_t *map)
{
	const char *key;
	json_t *v;

	json_object_foreach(map, key, v) {
		char path[256];
		const char *near;
		(void)v;
		snprintf(path, sizeof(path), "%s%s%s", parent ? parent : "", parent ? "." : "", key);
		if (known_key_find(path))
			continue;
		if (!printable_key(key)) {
			add(c, FINDING_WARNING, "unknown-key", NULL, "check the spelling and indentation of the keys",
			    "%s%s%s holds a key cpactl does not know and does not show (it does not look like a key "
			    "name); CPA ignores unknown keys silently",
			    parent ? "'" : "the top level", parent ? parent : "", parent ? "'" : "");
			continue;
		}
		near = closest_key(parent, key);
		if (near) {
			char fix[160];
			snprintf(fix, sizeof(fix), "did you mean '%s'?", near);
			add(c, FINDING_WARNING, "unknown-key", path, fix,
			    "'%s' is not a key of CPA: it is ignored silently", path);
		} else {
			add(c, FINDING_WARNING, "unknown-key", path,
			    "remove it, or check that the running CPA version documents it",
			    "'%s' is not a key cpactl knows for CPA up to v7.2: CPA ignores unknown keys silently", path);
		}
	}
}

static void check_unknown(struct check *c)
{
	check_unknown_in(c, NULL, c->doc);
	for (size_t i = 0; i < KNOWN_KEY_COUNT; i++) {
		json_t *v;
		if (!(known_keys[i].flags & K_CLOSED))
			continue;
		v = value_at(c->doc, known_keys[i].path);
		if (json_is_object(v))
			check_unknown_in(c, known_keys[i].path, v);
	}
}

/* --- client keys ------------------------------------------------------------- */

/* The keys CPA keeps: it drops the blank ones, so `api-keys: ["  "]` is no
 * key at all. */
static size_t count_keys(json_t *list)
{
	size_t i, n = 0, len;
	json_t *item;

	json_array_foreach(list, i, item)
		if (text_of(item) && (cpa_client_key_trim(text_of(item), &len), len > 0))
			n++;
	return n;
}

/* Keys of the legacy auth.providers[].api-keys, read before v6.8.9. */
static size_t legacy_provider_keys(json_t *doc)
{
	json_t *providers = value_at(doc, "auth.providers"), *p;
	size_t i, n = 0;

	json_array_foreach(providers, i, p)
		n += count_keys(json_object_get(p, "api-keys"));
	return n;
}

static int is_template_key(const char *k)
{
	size_t len;

	k = cpa_client_key_trim(k, &len);
	for (size_t i = 0; i < sizeof(template_keys) / sizeof(template_keys[0]); i++)
		if (strlen(template_keys[i]) == len && strncmp(k, template_keys[i], len) == 0)
			return 1;
	return 0;
}

static void check_client_keys(struct check *c)
{
	json_t *keys = json_object_get(c->doc, "api-keys"), *k;
	size_t i, templates = 0, n = json_is_array(keys) ? count_keys(keys) : 0;

	if (keys && !json_is_array(keys) && !json_is_null(keys))
		return;    /* a wrong-type finding already */
	if (n == 0) {
		size_t legacy = in_range(c, "0.0.0", "6.8.9") ? legacy_provider_keys(c->doc) : 0;
		if (legacy == 0)
			add(c, FINDING_ERROR, "api-keys-empty", json_object_get(c->doc, "api-keys") ? "api-keys" : NULL,
			    "add at least one long random key under 'api-keys' and give it to the clients",
			    "'api-keys' is empty%s: CPA serves anyone who reaches its port (an open proxy)",
			    json_object_get(c->doc, "auth") && at_least(c, "6.8.9")
				    ? " and 'auth.providers' no longer counts from v6.8.9 on"
				    : "");
		return;
	}
	json_array_foreach(keys, i, k)
		if (json_is_string(k) && is_template_key(json_string_value(k)))
			templates++;
	if (templates == 0)
		return;
	/* CPA's safe mode (internal/safemode): from v7.1.46 a start with these
	 * keys runs a warning page instead of the API server; from v7.2.51 the
	 * API server runs and answers 403 unsafe_example_api_key
	 * (internal/api/server.go). */
	if (at_least(c, "7.2.51"))
		add(c, FINDING_ERROR, "api-keys-template", "api-keys",
		    "replace them with long random keys of your own",
		    "'api-keys' still holds %zu of the template keys of config.example.yaml: from v7.2.51 on, CPA's "
		    "safe mode answers 403 to every API request",
		    templates);
	else if (at_least(c, "7.1.46"))
		add(c, FINDING_ERROR, "api-keys-template", "api-keys",
		    "replace them with long random keys of your own",
		    "'api-keys' still holds %zu of the template keys of config.example.yaml: from v7.1.46 to v7.2.50, "
		    "CPA then starts a warning page instead of its API server (every API request answers 404)",
		    templates);
	else
		add(c, FINDING_ERROR, "api-keys-template", "api-keys",
		    "replace them with long random keys of your own (and note that v7.1.46 and later refuse "
		    "to serve with them)",
		    "'api-keys' still holds %zu of the template keys of config.example.yaml: everyone knows them, so "
		    "the proxy is open",
		    templates);
}

/* --- exposure ------------------------------------------------------------------ */

static int is_bcrypt(const char *s)
{
	return strncmp(s, "$2a$", 4) == 0 || strncmp(s, "$2b$", 4) == 0 || strncmp(s, "$2y$", 4) == 0;
}

static void check_management(struct check *c)
{
	json_t *rm = json_object_get(c->doc, "remote-management");
	const char *secret = text_of(json_object_get(rm, "secret-key"));

	if (is_true(json_object_get(rm, "allow-remote"))) {
		if (secret)
			add(c, FINDING_WARNING, "remote-management-allowed", "remote-management.allow-remote",
			    "set it to false and manage CPA from the host (ssh, a tunnel), unless remote management is "
			    "needed",
			    "remote-management.allow-remote is true: the management API (which can read and change "
			    "every key) answers from any address, guarded by the secret-key alone");
		else
			add(c, FINDING_WARNING, "remote-management-without-secret", "remote-management.allow-remote",
			    "set allow-remote to false, or set a long random secret-key",
			    "remote-management.allow-remote is true and no secret-key is set: the management API is "
			    "off, unless MANAGEMENT_PASSWORD is set in the environment, which then alone guards it "
			    "from any address");
	}
	if (secret && !is_bcrypt(secret))
		add(c, FINDING_INFO, "secret-key-plaintext", "remote-management.secret-key",
		    "nothing to do; expect config.yaml (and its next history commit) to differ after the start",
		    "remote-management.secret-key is in plaintext: CPA hashes it with bcrypt on start and writes the "
		    "hash back into config.yaml");
}

static void check_amp_exposure(struct check *c)
{
	json_t *amp = json_object_get(c->doc, "ampcode");
	int nested = json_is_object(amp) && text_of(json_object_get(amp, "upstream-api-key"));
	int flat = text_of(json_object_get(c->doc, "amp-upstream-api-key")) != NULL;

	/* From v7.2.0 on CPA reads neither: the version rules say so instead. */
	if (c->version && at_least(c, "7.2.0"))
		return;
	if (nested && !is_true(json_object_get(amp, "restrict-management-to-localhost")))
		add(c, FINDING_WARNING, "amp-upstream-key-exposed", "ampcode.upstream-api-key",
		    "set ampcode.restrict-management-to-localhost: true, or block /api/ management routes in front "
		    "of CPA",
		    "ampcode.upstream-api-key is set and restrict-management-to-localhost is not true: Amp's "
		    "management routes use that key for anyone with a client key, from any address");
	/* The flat key was read (and moved) only before v6.8.0. */
	if (flat && c->version && !at_least(c, "6.8.0") &&
	    !is_true(json_object_get(c->doc, "amp-restrict-management-to-localhost")))
		add(c, FINDING_WARNING, "amp-upstream-key-exposed", "amp-upstream-api-key",
		    "set amp-restrict-management-to-localhost: true (or ampcode.restrict-management-to-localhost)",
		    "amp-upstream-api-key is set and management routes are not restricted to localhost: Amp's "
		    "management routes use that key for anyone with a client key, from any address");
}

/* pprof's address, host part: "127.0.0.1:8316", "[::1]:8316", ":6060". */
static int loopback_address(const char *addr)
{
	if (!addr || !*addr)
		return 1;   /* CPA's default is 127.0.0.1:8316 */
	return strncmp(addr, "127.", 4) == 0 || strncmp(addr, "localhost:", 10) == 0 ||
	       strcmp(addr, "localhost") == 0 || strncmp(addr, "[::1]", 5) == 0;
}

static void check_logging(struct check *c)
{
	json_t *pprof = json_object_get(c->doc, "pprof");

	if (is_true(json_object_get(c->doc, "debug")))
		add(c, FINDING_WARNING, "debug-on", "debug", "set debug: false once the problem is found",
		    "debug is on: CPA logs request details, and its logs are read by more people and tools than "
		    "config.yaml");
	if (is_true(json_object_get(c->doc, "request-log")))
		add(c, FINDING_WARNING, "request-log-on", "request-log", "set request-log: false unless you are "
									     "debugging a client",
		    "request-log is on: CPA writes every request and response (prompts and answers) to files");
	if (json_is_object(pprof) && is_true(json_object_get(pprof, "enable")) &&
	    !loopback_address(json_string_value(json_object_get(pprof, "addr"))))
		add(c, FINDING_WARNING, "pprof-exposed", "pprof.addr", "bind pprof to 127.0.0.1:8316, or disable it",
		    "pprof is enabled on a non-loopback address: anyone who reaches it can read CPA's memory "
		    "profile, which holds keys and tokens");
}

/* 1 when an entry of a provider list has a base-url that is not blank. */
static int has_base_url(json_t *entry)
{
	const char *url = text_of(json_object_get(entry, "base-url"));

	while (url && (*url == ' ' || *url == '\t'))
		url++;
	return url && *url;
}

/* Entries CPA drops or reads only in part (internal/config/
 * config_normalization.go, earlier config.go): codex, xAI (from v7.2.73)
 * and OpenAI-compatible entries without a base-url are removed at load, as
 * if never written; the legacy per-entry 'api-keys' of openai-compatibility
 * was moved to 'api-key-entries' only from v6.5.37 to v6.7.53. */
static void check_provider_entries(struct check *c)
{
	static const struct {
		const char *list, *from;
	} needs_url[] = { { "codex-api-key", NULL }, { "xai-api-key", "7.2.73" }, { "openai-compatibility", NULL } };
	json_t *entry;
	size_t i, k;

	for (k = 0; k < sizeof(needs_url) / sizeof(needs_url[0]); k++) {
		if (needs_url[k].from && c->version && !at_least(c, needs_url[k].from))
			continue;
		json_array_foreach(json_object_get(c->doc, needs_url[k].list), i, entry) {
			if (!json_is_object(entry) || has_base_url(entry))
				continue;
			add(c, FINDING_WARNING, "entry-dropped", needs_url[k].list,
			    "give the entry its base-url, or remove it",
			    "entry %zu of '%s' has no base-url: CPA drops it when it loads config.yaml, so its keys "
			    "and models are not served",
			    i + 1, needs_url[k].list);
		}
	}
	if (c->version && !at_least(c, "6.8.0"))
		return;
	json_array_foreach(json_object_get(c->doc, "openai-compatibility"), i, entry) {
		if (!json_is_object(entry) || !json_object_get(entry, "api-keys"))
			continue;
		add(c, FINDING_WARNING, "legacy-key-ignored", "openai-compatibility",
		    "move the keys into 'api-key-entries' (one '- api-key: ...' each)",
		    "entry %zu of 'openai-compatibility' has the legacy 'api-keys' list: from v6.8.0 on, CPA "
		    "silently ignores it, so those upstream keys are not used",
		    i + 1);
	}
}

static void check_versions(struct check *c)
{
	for (size_t i = 0; i < sizeof(version_rules) / sizeof(version_rules[0]); i++) {
		const struct version_rule *r = &version_rules[i];
		if (!value_at(c->doc, r->path) || !in_range(c, r->from, r->until))
			continue;
		add(c, FINDING_WARNING, r->code, r->path, r->fix, "%s'%s'%s", r->what_before, r->path, r->what_after);
	}
}

int config_check(const struct config_check_input *in, struct finding_list *out, struct cpactl_error *err)
{
	struct cpactl_error parse_err = CPACTL_ERROR_INIT;
	struct check c;
	json_t *duplicates = NULL;
	const char *name = in->name ? in->name : "config.yaml";
	char version[64] = "";

	memset(&c, 0, sizeof(c));
	c.out = out;
	/* "dev" and other unparsable versions are judged as the newest. */
	if (in->version && cpa_version_compare(in->version, "0.0.1") >= 0) {
		snprintf(version, sizeof(version), "%s", in->version);
		c.version = version;
	}
	if (yaml_parse(in->data ? in->data : "", in->len, name, &c.doc, &parse_err) < 0) {
		if (finding_add(out, FINDING_ERROR, "yaml-syntax", NULL, line_in_message(parse_err.message),
				parse_err.message, "fix the YAML syntax at the line and column named") < 0)
			return error_set(err, ERR_NOMEM, "out of memory");
		return 0;
	}
	if (yaml_key_lines(in->data ? in->data : "", in->len, &c.lines, &duplicates, &parse_err) < 0) {
		json_decref(c.doc);
		return error_set(err, parse_err.kind == ERR_NOMEM ? ERR_NOMEM : ERR_PARSE, "%s", parse_err.message);
	}
	if (!json_is_object(c.doc)) {
		add(&c, FINDING_ERROR, "not-a-mapping", NULL, "start from CPA's config.example.yaml",
		    "'%s' is a YAML %s, not a mapping of keys: CPA cannot read it", name,
		    json_is_array(c.doc) ? "list" : "single value");
	} else {
		check_duplicates(&c, duplicates);
		check_types(&c);
		check_unknown(&c);
		check_client_keys(&c);
		check_management(&c);
		check_amp_exposure(&c);
		check_logging(&c);
		check_versions(&c);
		check_provider_entries(&c);
	}
	json_decref(c.doc);
	json_decref(c.lines);
	json_decref(duplicates);
	if (c.failed)
		return error_set(err, ERR_NOMEM, "out of memory");
	return 0;
}
