/*
 * secretmask.c - see secretmask.h.
 *
 * How it works.  libyaml's events carry the position of every node as a
 * character index (not a byte offset: "中" is one character, three bytes).
 * A walk over the events keeps a stack of the collections it is inside and,
 * for each, whether everything in it is secret; a mapping also knows whether
 * the value about to come belongs to a secret key.  Each scalar that is a
 * secret value has its character range turned into a byte range (a cursor
 * that only moves forward, since events come in document order) and replaced.
 *
 * Places.  Plugin settings (`plugins.configs.<id>.*` but `enabled`) are
 * secrets by where they stand, not by their key's name: a frame knows what
 * its collection is (enum place) and what the value about to come will be.
 *
 * Comments.  libyaml drops them; mask_comments() reads them afterwards, line
 * by line (the one hand-read part), so a key commented out is not printed.
 *
 * Aliases.  `api-key: *k` hides nothing by itself: the secret is wherever
 * `&k` was defined, possibly under a harmless key.  So the walk runs first
 * without writing, collecting the anchors that secret places refer to, and
 * again until that set stops growing (an anchored node may itself hold
 * aliases); only then a last walk writes, masking anchored nodes of the set
 * as a whole.
 */
#include "secretmask.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "cpa.h"
#include "profile.h"

/* Bounds the fixed-point passes over aliases; a real config needs two. */
#define MAX_PASSES 64

/* Key names whose values are secrets even though cpa_key_is_secret() does
 * not list them: a suffix match catches `management-password`,
 * `gitstore-git-token`, `objectstore-secret-key`, `client-secret` ...
 * Not "api-key": `claude-api-key` is a whole provider section, and its
 * base-url and models must stay readable (its `api-key`s are masked). */
static const char *const secret_suffixes[] = {
	"password", "passwd", "token", "secret", "secret-key", "secret_key", "private-key",
	"private_key", "authorization", "cookie", "dsn", NULL,
};

int secret_mask_key_is_secret(const char *key)
{
	size_t klen;

	if (!key)
		return 0;
	if (cpa_key_is_secret(key))
		return 1;
	klen = strlen(key);
	for (size_t i = 0; secret_suffixes[i]; i++) {
		size_t slen = strlen(secret_suffixes[i]);
		if (klen >= slen && strcasecmp(key + klen - slen, secret_suffixes[i]) == 0)
			return 1;
	}
	return 0;
}

struct frame {
	int is_mapping;
	int secret;        /* every scalar inside is a secret */
	int expect_key;    /* mapping: the next node is a key */
	int value_secret;  /* mapping: the value about to come belongs to a secret key */
	/* Plugin settings (plugins.configs.<id>.*) are whatever each plugin
	 * asks for, tokens among them: every value there is a secret but
	 * `enabled` (config_types.go, PluginInstanceConfig). */
	int value_role;    /* mapping: what the value about to come is (enum place) */
	int role;          /* what this collection is (enum place) */
};

enum place { PLACE_OTHER, PLACE_PLUGINS, PLACE_PLUGIN_CONFIGS, PLACE_PLUGIN_CONFIG };

struct names {
	char **items;
	size_t count, cap;
};

struct walk {
	const char *src;
	size_t len;
	struct frame *stack;
	size_t depth, cap;
	struct names secret_anchors; /* anchors an alias in a secret place refers to */
	struct names key_anchors;    /* anchors of scalars that name a secret key */
	int grew;                    /* secret_anchors grew during this pass */
	int emit;                    /* the writing pass */
	struct buf *out;
	size_t copied;               /* bytes of src already written */
	size_t char_pos, byte_pos;   /* the character -> byte cursor */
};

static int names_has(const struct names *n, const char *name)
{
	for (size_t i = 0; i < n->count; i++)
		if (strcmp(n->items[i], name) == 0)
			return 1;
	return 0;
}

/* Returns 1 when added, 0 when already there, -1 without memory. */
static int names_add(struct names *n, const char *name)
{
	char *copy;

	if (names_has(n, name))
		return 0;
	if (n->count == n->cap) {
		size_t cap = n->cap ? n->cap * 2 : 8;
		char **items = realloc(n->items, cap * sizeof(*items));
		if (!items)
			return -1;
		n->items = items;
		n->cap = cap;
	}
	copy = strdup(name);
	if (!copy)
		return -1;
	n->items[n->count++] = copy;
	return 1;
}

static void names_free(struct names *n)
{
	for (size_t i = 0; i < n->count; i++)
		free(n->items[i]);
	free(n->items);
	memset(n, 0, sizeof(*n));
}

static size_t utf8_width(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if ((c & 0xE0) == 0xC0)
		return 2;
	if ((c & 0xF0) == 0xE0)
		return 3;
	if ((c & 0xF8) == 0xF0)
		return 4;
	return 1;
}

/* The byte offset of character `index`.  libyaml validated the UTF-8, and
 * counts CR LF as two characters, as this does. */
static size_t byte_offset(struct walk *w, size_t index)
{
	while (w->char_pos < index && w->byte_pos < w->len) {
		w->byte_pos += utf8_width((unsigned char)w->src[w->byte_pos]);
		w->char_pos++;
	}
	return w->byte_pos < w->len ? w->byte_pos : w->len;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int is_plain_null(const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;

	return ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
		strcmp(v, "NULL") == 0);
}

/* Writes src[copied, end) as it is. */
static int copy_to(struct walk *w, size_t end)
{
	if (end > w->copied && buf_append(w->out, w->src + w->copied, end - w->copied) < 0)
		return -1;
	if (end > w->copied)
		w->copied = end;
	return 0;
}

/* Replaces the scalar of `ev` by the mask.  Its anchor and tag stay (an alias
 * elsewhere may name it); so do a block scalar's header comment and the line
 * breaks after it, which libyaml counts as part of a block scalar. */
static int mask_scalar(struct walk *w, const yaml_event_t *ev, struct cpactl_error *err)
{
	size_t start = byte_offset(w, ev->start_mark.index);
	size_t end = byte_offset(w, ev->end_mark.index);
	size_t p = start;
	int block = ev->data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
		    ev->data.scalar.style == YAML_FOLDED_SCALAR_STYLE;

	if (start < w->copied || end < start)
		return error_set(err, ERR_FAILED, "cannot mask secrets: scalar positions out of order");
	for (int props = 0; props < 2 && p < end && (w->src[p] == '&' || w->src[p] == '!'); props++) {
		while (p < end && !is_space(w->src[p]))
			p++;
		while (p < end && is_space(w->src[p]))
			p++;
	}
	if (p >= end || is_plain_null(ev))
		return 0; /* an empty value or a null hides nothing */
	if (copy_to(w, p) < 0 || buf_append_str(w->out, SECRET_MASK) < 0)
		goto nomem;
	if (block) {
		size_t eol = p, tail = end;
		while (eol < end && w->src[eol] != '\n' && w->src[eol] != '\r')
			eol++;
		size_t indicators = p;
		/* The header is `|` or `>` with chomping and indent digits, then
		 * maybe a comment: keep the comment, with the spaces before it. */
		while (indicators < eol && !is_space(w->src[indicators]))
			indicators++;
		if (memchr(w->src + indicators, '#', eol - indicators) &&
		    buf_append(w->out, w->src + indicators, eol - indicators) < 0)
			goto nomem;
		while (tail > p && is_space(w->src[tail - 1]))
			tail--;
		while (tail < end && w->src[tail] != '\n' && w->src[tail] != '\r')
			tail++;
		if (tail < end && buf_append(w->out, w->src + tail, end - tail) < 0)
			goto nomem;
	}
	w->copied = end;
	return 0;
nomem:
	return error_set(err, ERR_NOMEM, "out of memory");
}

/* Where the next node stands: whether it is a mapping key and whether it is
 * a secret by its place (before looking at its anchor). */
static void node_place(const struct walk *w, int *is_key, int *secret)
{
	const struct frame *f = w->depth ? &w->stack[w->depth - 1] : NULL;

	*is_key = f && f->is_mapping && f->expect_key;
	if (!f)
		*secret = 0;
	else if (!f->is_mapping)
		*secret = f->secret;
	else if (f->expect_key)
		*secret = 0;
	else
		*secret = f->secret || f->value_secret;
}

/* A node is complete: a mapping moves from key to value or back.
 * `key_secret` says whether a key just read names a secret. */
static void node_done(struct walk *w, int key_secret, const char *key)
{
	struct frame *f = w->depth ? &w->stack[w->depth - 1] : NULL;

	if (!f || !f->is_mapping)
		return;
	if (f->expect_key) {
		f->expect_key = 0;
		f->value_secret = key_secret;
		f->value_role = PLACE_OTHER;
		if (w->depth == 1 && key && strcmp(key, "plugins") == 0)
			f->value_role = PLACE_PLUGINS;
		else if (f->role == PLACE_PLUGINS && key && strcmp(key, "configs") == 0)
			f->value_role = PLACE_PLUGIN_CONFIGS;
		else if (f->role == PLACE_PLUGIN_CONFIGS)
			f->value_role = PLACE_PLUGIN_CONFIG;
		else if (f->role == PLACE_PLUGIN_CONFIG)
			f->value_secret = !key || strcmp(key, "enabled") != 0;
	} else {
		f->expect_key = 1;
		f->value_secret = 0;
		f->value_role = PLACE_OTHER;
	}
}

static int push(struct walk *w, int is_mapping, int secret)
{
	const struct frame *parent = w->depth ? &w->stack[w->depth - 1] : NULL;
	int role = parent && parent->is_mapping && !parent->expect_key ? parent->value_role : PLACE_OTHER;

	if (w->depth == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		struct frame *s = realloc(w->stack, cap * sizeof(*s));
		if (!s)
			return -1;
		w->stack = s;
		w->cap = cap;
	}
	w->stack[w->depth].is_mapping = is_mapping;
	w->stack[w->depth].secret = secret;
	w->stack[w->depth].expect_key = 1;
	w->stack[w->depth].value_secret = 0;
	w->stack[w->depth].value_role = PLACE_OTHER;
	w->stack[w->depth].role = role;
	w->depth++;
	return 0;
}

static int anchored_secret(const struct walk *w, const yaml_char_t *anchor)
{
	return anchor && names_has(&w->secret_anchors, (const char *)anchor);
}

static int on_event(struct walk *w, const yaml_event_t *ev, struct cpactl_error *err)
{
	int is_key, secret;

	switch (ev->type) {
	case YAML_SCALAR_EVENT: {
		const char *value = (const char *)ev->data.scalar.value;
		node_place(w, &is_key, &secret);
		secret = secret || anchored_secret(w, ev->data.scalar.anchor);
		if (ev->data.scalar.anchor && secret_mask_key_is_secret(value) &&
		    names_add(&w->key_anchors, (const char *)ev->data.scalar.anchor) < 0)
			return error_set(err, ERR_NOMEM, "out of memory");
		if (secret && w->emit && mask_scalar(w, ev, err) < 0)
			return -1;
		node_done(w, is_key && secret_mask_key_is_secret(value), is_key ? value : NULL);
		return 0;
	}
	case YAML_ALIAS_EVENT: {
		const char *anchor = (const char *)ev->data.alias.anchor;
		node_place(w, &is_key, &secret);
		if (secret && !is_key) {
			int added = names_add(&w->secret_anchors, anchor);
			if (added < 0)
				return error_set(err, ERR_NOMEM, "out of memory");
			/* The writing pass must not discover a secret it already
			 * passed by: fail rather than print it. */
			if (added && w->emit)
				return error_set(err, ERR_FAILED, "cannot mask secrets: aliases nest too deeply");
			w->grew |= added;
		}
		node_done(w, is_key && names_has(&w->key_anchors, anchor), NULL);
		return 0;
	}
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: {
		const yaml_char_t *anchor = ev->type == YAML_MAPPING_START_EVENT
						    ? ev->data.mapping_start.anchor
						    : ev->data.sequence_start.anchor;
		node_place(w, &is_key, &secret);
		/* A collection used as a key inside a secret collection stays secret. */
		if (is_key && w->depth)
			secret = w->stack[w->depth - 1].secret;
		secret = secret || anchored_secret(w, anchor);
		if (push(w, ev->type == YAML_MAPPING_START_EVENT, secret) < 0)
			return error_set(err, ERR_NOMEM, "out of memory");
		return 0;
	}
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		if (w->depth)
			w->depth--;
		node_done(w, 0, NULL);
		return 0;
	default:
		return 0;
	}
}

/* --- comments ------------------------------------------------------------ */

/* libyaml drops comments, so a key the owner commented out (`#  - "sk-..."`
 * under `api-keys:`, `# secret-key: ...`) would be printed as written.
 * Comments are the one place read by hand, line by line, and in doubt they
 * are masked: the value of a commented `key: value` whose key is a secret's,
 * and a commented list item under a secret key (the last `key:` without a
 * value above it, commented or not). */

/* The length of a plain mapping key at `s` followed by ':' and a space or
 * the end of the line; 0 when `s` is not such a key. */
static size_t key_length(const char *s, const char *end)
{
	size_t n = 0;

	while (s + n < end && (isalnum((unsigned char)s[n]) || s[n] == '-' || s[n] == '_' || s[n] == '.'))
		n++;
	if (!n || s + n >= end || s[n] != ':')
		return 0;
	if (s + n + 1 < end && s[n + 1] != ' ' && s[n + 1] != '\t')
		return 0;
	return n;
}

/* Where the comment of the line [s, end) starts, or end: a '#' at the start
 * or after a blank, outside quotes. */
static const char *comment_start(const char *s, const char *end)
{
	char quote = 0;

	for (const char *p = s; p < end; p++) {
		if (quote) {
			if (*p == quote)
				quote = 0;
		} else if (*p == '"' || (*p == '\'' && (p == s || p[-1] == ' ' || p[-1] == '\t' || p[-1] == '[' ||
							 p[-1] == ',' || p[-1] == ':'))) {
			quote = *p;
		} else if (*p == '#' && (p == s || p[-1] == ' ' || p[-1] == '\t')) {
			return p;
		}
	}
	return end;
}

/* Reads list markers ("- "), then "key:" at s; sets *key and *key_len, returns where the value
 * starts (blanks skipped), or NULL when there is no key; *dashed says
 * whether a list marker came first. */
static const char *read_key(const char *s, const char *end, const char **key, size_t *key_len, int *dashed)
{
	*dashed = 0;
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	while (s + 1 < end && *s == '-' && (s[1] == ' ' || s[1] == '\t')) {
		*dashed = 1;
		s += 2;
		while (s < end && (*s == ' ' || *s == '\t'))
			s++;
	}
	*key = s;
	*key_len = key_length(s, end);
	if (!*key_len)
		return NULL;
	s += *key_len + 1;
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	return s;
}

static int key_is_secret_n(const char *key, size_t len)
{
	char name[128];

	if (len >= sizeof(name))
		return 0;
	memcpy(name, key, len);
	name[len] = '\0';
	return secret_mask_key_is_secret(name);
}

static int mask_comments(const char *src, size_t len, struct buf *out)
{
	const char *p = src, *end = src + len;
	int under_secret = 0; /* the last key without a value names a secret */

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end, *text_end = eol, *c, *value, *key;
		size_t key_len;
		int dashed;

		if (text_end > p && text_end[-1] == '\r')
			text_end--;
		c = comment_start(p, text_end);
		/* The line's own part: a key opens or closes a secret list. */
		value = read_key(p, c, &key, &key_len, &dashed);
		if (value)
			under_secret = value == c && key_is_secret_n(key, key_len);
		if (c < text_end) {
			const char *body = c;
			const char *mask_from = NULL;
			while (body < text_end && *body == '#')
				body++;
			value = read_key(body, text_end, &key, &key_len, &dashed);
			if (value && value < text_end) {
				if (key_is_secret_n(key, key_len))
					mask_from = value;
			} else if (value) {
				under_secret = key_is_secret_n(key, key_len);
			} else if (dashed && under_secret) {
				/* Past the list markers read_key passed. */
				mask_from = body;
				while (mask_from < text_end &&
				       (*mask_from == ' ' || *mask_from == '\t' ||
					(*mask_from == '-' && mask_from + 1 < text_end &&
					 (mask_from[1] == ' ' || mask_from[1] == '\t'))))
					mask_from++;
			}
			if (mask_from && mask_from < text_end) {
				const char *value_end = text_end;
				while (value_end > mask_from && (value_end[-1] == ' ' || value_end[-1] == '\t'))
					value_end--;
				if (buf_append(out, p, (size_t)(mask_from - p)) < 0 ||
				    buf_append_str(out, SECRET_MASK) < 0 ||
				    buf_append(out, value_end, (size_t)(eol - value_end)) < 0)
					return -1;
				goto next;
			}
		}
		if (buf_append(out, p, (size_t)(eol - p)) < 0)
			return -1;
next:
		if (nl && buf_append(out, "\n", 1) < 0)
			return -1;
		p = nl ? nl + 1 : end;
	}
	return 0;
}

/* One pass over the whole stream. */
static int walk_once(struct walk *w, struct cpactl_error *err)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	int rc = -1, done = 0;

	if (!yaml_parser_initialize(&parser))
		return error_set(err, ERR_NOMEM, "out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)w->src, w->len);
	yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);
	w->depth = 0;
	w->grew = 0;
	w->copied = 0;
	w->char_pos = 0;
	w->byte_pos = 0;
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			if (parser.error == YAML_MEMORY_ERROR)
				error_set(err, ERR_NOMEM, "out of memory");
			else
				error_set(err, ERR_PARSE,
					  "cannot mask secrets: the YAML does not parse: line %zu column %zu: %s",
					  parser.problem_mark.line + 1, parser.problem_mark.column + 1,
					  parser.problem ? parser.problem : "unknown error");
			goto out;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		if (on_event(w, &ev, err) < 0) {
			yaml_event_delete(&ev);
			goto out;
		}
		yaml_event_delete(&ev);
	}
	if (w->emit && copy_to(w, w->len) < 0) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	rc = 0;
out:
	yaml_parser_delete(&parser);
	return rc;
}

int secret_mask_yaml(const char *data, size_t len, struct buf *out, struct cpactl_error *err)
{
	struct buf masked = BUF_INIT, commented = BUF_INIT;
	struct walk w;
	int rc = -1, passes = 0;

	memset(&w, 0, sizeof(w));
	w.src = data ? data : "";
	w.len = data ? len : 0;
	w.out = &masked;
	do {
		if (++passes > MAX_PASSES) {
			error_set(err, ERR_FAILED, "cannot mask secrets: aliases nest too deeply");
			goto out;
		}
		if (walk_once(&w, err) < 0)
			goto out;
	} while (w.grew);
	w.emit = 1;
	if (walk_once(&w, err) < 0)
		goto out;
	if (mask_comments(masked.data ? masked.data : "", masked.len, &commented) < 0 ||
	    buf_append(out, commented.data ? commented.data : "", commented.len) < 0) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	rc = 0;
out:
	buf_wipe(&masked);
	buf_wipe(&commented);
	free(w.stack);
	names_free(&w.secret_anchors);
	names_free(&w.key_anchors);
	return rc;
}

/* --- secret values, for redaction ---------------------------------------- */

static void collect_secrets(json_t *node, int secret, json_t *out)
{
	const char *key;
	json_t *value;
	size_t i;

	if (json_is_object(node)) {
		json_object_foreach(node, key, value)
			collect_secrets(value, secret || cpa_key_is_secret(key), out);
	} else if (json_is_array(node)) {
		json_array_foreach(node, i, value)
			collect_secrets(value, secret, out);
	} else if (secret && json_is_string(node) && json_string_length(node) >= 4) {
		json_array_append(out, node);
	}
}

json_t *secret_values_of(json_t *config)
{
	json_t *out = json_array(), *one;
	const char *id;

	if (!out)
		return NULL;
	collect_secrets(config, 0, out);
	/* plugins.configs.<id>: every value but `enabled` (as the masker). */
	json_object_foreach(json_object_get(json_object_get(config, "plugins"), "configs"), id, one) {
		const char *key;
		json_t *value;
		if (!json_is_object(one)) {
			collect_secrets(one, 1, out);
			continue;
		}
		json_object_foreach(one, key, value)
			if (strcmp(key, "enabled") != 0)
				collect_secrets(value, 1, out);
	}
	return out;
}

void redact_secrets(char *text, json_t *secrets)
{
	json_t *s;
	size_t i;

	if (!text)
		return;
	json_array_foreach(secrets, i, s) {
		const char *needle = json_string_value(s);
		size_t n = needle ? strlen(needle) : 0;
		char *hit;
		if (n < 4)
			continue;
		while ((hit = strstr(text, needle)) != NULL) {
			/* "***" then the rest, shifted left in place. */
			memcpy(hit, "***", 3);
			memmove(hit + 3, hit + n, strlen(hit + n) + 1);
		}
	}
}

/* Adds the value of one NAME=VALUE (len bytes) when NAME is a secret's. */
static void add_env_secret(json_t *out, const char *s, size_t len)
{
	const char *eq = memchr(s, '=', len);
	char name[256];

	if (!eq || eq == s || (size_t)(eq - s) >= sizeof(name) || eq + 1 == s + len)
		return;
	memcpy(name, s, (size_t)(eq - s));
	name[eq - s] = '\0';
	if (env_name_is_secret(name))
		json_array_append_new(out, json_stringn(eq + 1, (size_t)(s + len - eq - 1)));
}

json_t *env_secret_values(json_t *inspect, const struct buf *env_file)
{
	json_t *out = json_array(), *e;
	const char *p = env_file && env_file->data ? env_file->data : "", *end = p + (env_file ? env_file->len : 0);
	size_t i;

	if (!out)
		return NULL;
	json_array_foreach(json_object_get(json_object_get(inspect, "Config"), "Env"), i, e)
		if (json_is_string(e))
			add_env_secret(out, json_string_value(e), json_string_length(e));
	/* The env file's values, as written (quotes too: a log may print either). */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = nl ? nl : end;
		char *value = NULL;
		while (p < line_end && (*p == ' ' || *p == '\t'))
			p++;
		if (line_end - p > 7 && strncmp(p, "export ", 7) == 0)
			p += 7;
		add_env_secret(out, p, (size_t)(line_end - p));
		{
			const char *eq = memchr(p, '=', (size_t)(line_end - p));
			if (eq && eq > p) {
				char name[256];
				size_t n = (size_t)(eq - p);
				if (n < sizeof(name)) {
					memcpy(name, p, n);
					name[n] = '\0';
					if (env_name_is_secret(name) &&
					    env_text_get(p, (size_t)(line_end - p), name, &value) == 1 && *value)
						json_array_append_new(out, json_string(value));
				}
			}
		}
		if (value) {
			memset(value, 0, strlen(value));
			free(value);
		}
		p = nl ? nl + 1 : end;
	}
	return out;
}

/* A key of an auth file whose value is a credential: access_token,
 * refresh_token, id_token, api_key, client_secret, cookie, password ...
 * (type, email, expired and project ids are not). */
static int auth_key_is_secret(const char *key)
{
	static const char *const words[] = { "token", "secret", "password", "cookie", "key", "jwt", "session" };
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasestr(key, words[i]))
			return 1;
	return 0;
}

static void add_auth_secrets(json_t *out, json_t *v, int secret)
{
	const char *key;
	json_t *child;
	size_t i;

	if (json_is_string(v) && secret && json_string_length(v) >= AUTH_SECRET_MIN)
		json_array_append(out, v);
	else if (json_is_object(v))
		json_object_foreach(v, key, child)
			add_auth_secrets(out, child, secret || auth_key_is_secret(key));
	else if (json_is_array(v))
		json_array_foreach(v, i, child)
			add_auth_secrets(out, child, secret);
}

json_t *auth_secret_values(const char *dir)
{
	json_t *out = json_array();
	DIR *d;
	struct dirent *e;

	if (!out || !dir || !(d = opendir(dir)))
		return out;
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		struct stat st;
		char *text = NULL;
		size_t len = 0;
		json_t *doc;
		int fd;

		if (e->d_name[0] == '.' || n < 6 || strcmp(e->d_name + n - 5, ".json") != 0)
			continue;
		/* Regular files only, never through a link: the dir is the
		 * container's, and a FIFO would block. */
		fd = openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= AUTH_FILE_SECRET_MAX) {
			struct buf b = BUF_INIT;
			char chunk[8192];
			ssize_t got;
			while ((got = read(fd, chunk, sizeof(chunk))) > 0 && b.len <= AUTH_FILE_SECRET_MAX)
				buf_append(&b, chunk, (size_t)got);
			len = b.len;
			text = buf_detach(&b);
		}
		close(fd);
		doc = text ? json_loadb(text, len, 0, NULL) : NULL;
		add_auth_secrets(out, doc, 0);
		json_decref(doc);
		if (text) {
			memset(text, 0, len);
			free(text);
		}
	}
	closedir(d);
	return out;
}
