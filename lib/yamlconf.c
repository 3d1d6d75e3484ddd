/*
 * yamlconf.c - see yamlconf.h.  libyaml's event API, turned into a tree with
 * an explicit stack of open containers.
 */
#include "yamlconf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_DEPTH 256
#define MAX_NODES 1000000

struct anchor {
	char *name;
	json_t *value;
	size_t size; /* nodes of its value with every alias in it expanded */
};

struct builder {
	json_t *stack[MAX_DEPTH];
	char *pending_key[MAX_DEPTH];  /* for mappings: key waiting for its value */
	char *stack_anchor[MAX_DEPTH]; /* anchor to record when the container closes */
	size_t opened_at[MAX_DEPTH];   /* `nodes` when the container opened */
	int depth;
	json_t *root;
	struct anchor *anchors;
	size_t anchor_count;
	/* Nodes placed so far, an alias counting as the size of what it names:
	 * aliases are shared, not copied, so memory stays small, but everything
	 * that walks the tree later (the summary, the secrets to redact, the
	 * checks) pays the expanded size.  Capping it at MAX_NODES keeps a
	 * "billion laughs" document from hanging those walkers. */
	size_t nodes;
};

static json_t *scalar_value(const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	char *end;

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return json_stringn(v, len);
	if (len == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
	    strcmp(v, "NULL") == 0)
		return json_null();
	if (strcmp(v, "true") == 0 || strcmp(v, "True") == 0 || strcmp(v, "TRUE") == 0)
		return json_true();
	if (strcmp(v, "false") == 0 || strcmp(v, "False") == 0 || strcmp(v, "FALSE") == 0)
		return json_false();
	if ((v[0] >= '0' && v[0] <= '9') || ((v[0] == '-' || v[0] == '+') && len > 1)) {
		long long n;
		double d;
		errno = 0;
		n = strtoll(v, &end, 10);
		if (errno == 0 && *end == '\0')
			return json_integer(n);
		errno = 0;
		d = strtod(v, &end);
		if (errno == 0 && *end == '\0' && strchr(v, '.'))
			return json_real(d);
	}
	return json_stringn(v, len);
}

static void remember_anchor(struct builder *b, const char *name, json_t *value, size_t size)
{
	struct anchor *grown;

	if (!name)
		return;
	grown = realloc(b->anchors, (b->anchor_count + 1) * sizeof(*grown));
	if (!grown)
		return;
	b->anchors = grown;
	b->anchors[b->anchor_count].name = strdup(name);
	b->anchors[b->anchor_count].value = json_incref(value);
	b->anchors[b->anchor_count].size = size;
	b->anchor_count++;
}

static const struct anchor *find_anchor(struct builder *b, const char *name)
{
	for (size_t i = b->anchor_count; i > 0; i--)
		if (b->anchors[i - 1].name && strcmp(b->anchors[i - 1].name, name) == 0)
			return &b->anchors[i - 1];
	return NULL;
}

/* Places a finished value into the innermost open container (or the root).
 * Takes the reference.  `weight` is what it adds to b->nodes. */
static int place(struct builder *b, json_t *value, size_t weight)
{
	json_t *top;

	if (!value)
		return -1;
	if (weight > MAX_NODES - b->nodes) {
		json_decref(value);
		return -2;
	}
	b->nodes += weight;
	if (b->depth == 0) {
		if (!b->root)
			b->root = value;
		else
			json_decref(value);
		return 0;
	}
	top = b->stack[b->depth - 1];
	if (json_is_array(top))
		return json_array_append_new(top, value);
	/* A mapping alternates key, value. */
	if (!b->pending_key[b->depth - 1]) {
		const char *k = json_string_value(value);
		char buf[64];
		if (!k) {
			/* Non-string keys (numbers, booleans) are kept by their text. */
			if (json_is_integer(value))
				snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(value));
			else if (json_is_true(value))
				snprintf(buf, sizeof(buf), "true");
			else if (json_is_false(value))
				snprintf(buf, sizeof(buf), "false");
			else
				snprintf(buf, sizeof(buf), "null");
			k = buf;
		}
		b->pending_key[b->depth - 1] = strdup(k);
		json_decref(value);
		return b->pending_key[b->depth - 1] ? 0 : -1;
	}
	{
		char *key = b->pending_key[b->depth - 1];
		int rc;
		b->pending_key[b->depth - 1] = NULL;
		/* YAML merge keys ("<<: *base") copy the base mapping's members. */
		if (strcmp(key, "<<") == 0 && json_is_object(value)) {
			rc = json_object_update_missing(top, value);
			json_decref(value);
		} else {
			rc = json_object_set_new(top, key, value);
		}
		free(key);
		return rc;
	}
}

static int open_container(struct builder *b, json_t *c, const yaml_char_t *anchor)
{
	if (!c)
		return -1;
	if (b->depth >= MAX_DEPTH) {
		json_decref(c);
		return -3;
	}
	b->stack[b->depth] = c;
	b->pending_key[b->depth] = NULL;
	b->stack_anchor[b->depth] = anchor ? strdup((const char *)anchor) : NULL;
	b->opened_at[b->depth] = b->nodes;
	b->depth++;
	return 0;
}

static int close_container(struct builder *b)
{
	json_t *c;
	char *anchor;

	if (b->depth == 0)
		return -1;
	b->depth--;
	c = b->stack[b->depth];
	anchor = b->stack_anchor[b->depth];
	free(b->pending_key[b->depth]);
	b->pending_key[b->depth] = NULL;
	/* The container itself, plus everything placed into it. */
	remember_anchor(b, anchor, c, b->nodes - b->opened_at[b->depth] + 1);
	free(anchor);
	return place(b, c, 1);
}

static void builder_release(struct builder *b)
{
	while (b->depth > 0) {
		b->depth--;
		json_decref(b->stack[b->depth]);
		free(b->pending_key[b->depth]);
		free(b->stack_anchor[b->depth]);
	}
	json_decref(b->root);
	for (size_t i = 0; i < b->anchor_count; i++) {
		free(b->anchors[i].name);
		json_decref(b->anchors[i].value);
	}
	free(b->anchors);
}

/* The next event, or ERR_PARSE with the place: "'NAME' line L column C:
 * problem context" when the document has a name, "line L column C: problem"
 * otherwise.  libyaml's problem text never quotes the scalar, so no secret
 * leaks.  *done is set at the end of the stream and at the start of a second
 * document: only the first one counts, as for CPA. */
static int next_event(yaml_parser_t *parser, yaml_event_t *ev, int *documents, int *done, const char *name,
		      struct cpactl_error *err)
{
	const char *problem;

	if (yaml_parser_parse(parser, ev)) {
		if (ev->type == YAML_STREAM_END_EVENT ||
		    (ev->type == YAML_DOCUMENT_START_EVENT && ++*documents > 1))
			*done = 1;
		return 0;
	}
	problem = parser->problem ? parser->problem : "invalid YAML";
	if (!name)
		return error_set(err, ERR_PARSE, "line %zu column %zu: %s", parser->problem_mark.line + 1,
				 parser->problem_mark.column + 1, problem);
	return error_set(err, ERR_PARSE, "'%s' line %zu column %zu: %s%s%s", name, parser->problem_mark.line + 1,
			 parser->problem_mark.column + 1, problem, parser->context ? " " : "",
			 parser->context ? parser->context : "");
}

int yaml_parse(const char *data, size_t len, const char *name, json_t **out,
	       struct cpactl_error *err)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	struct builder b;
	int done = 0, rc = -1, documents = 0;

	*out = NULL;
	memset(&b, 0, sizeof(b));
	if (!yaml_parser_initialize(&parser))
		return error_set(err, ERR_NOMEM, "out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	while (!done) {
		int step = 0;
		if (next_event(&parser, &ev, &documents, &done, name, err) < 0)
			goto out;
		switch (ev.type) {
		case YAML_MAPPING_START_EVENT:
			step = open_container(&b, json_object(), ev.data.mapping_start.anchor);
			break;
		case YAML_SEQUENCE_START_EVENT:
			step = open_container(&b, json_array(), ev.data.sequence_start.anchor);
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			step = close_container(&b);
			break;
		case YAML_SCALAR_EVENT: {
			json_t *v = scalar_value(&ev);
			if (ev.data.scalar.anchor)
				remember_anchor(&b, (const char *)ev.data.scalar.anchor, v, 1);
			step = place(&b, v, 1);
			break;
		}
		case YAML_ALIAS_EVENT: {
			const struct anchor *a = find_anchor(&b, (const char *)ev.data.alias.anchor);
			if (!a) {
				error_set(err, ERR_PARSE, "'%s' line %zu column %zu: unknown alias", name,
					  ev.start_mark.line + 1, ev.start_mark.column + 1);
				yaml_event_delete(&ev);
				goto out;
			}
			/* Shared, not copied, but counted at its full size. */
			step = place(&b, json_incref(a->value), a->size);
			break;
		}
		default:
			break;
		}
		if (step < 0) {
			if (step == -2)
				error_set(err, ERR_PARSE, "'%s': document too large (over %d nodes, aliases expanded)", name,
					  MAX_NODES);
			else if (step == -3)
				error_set(err, ERR_PARSE, "'%s' line %zu: nested deeper than %d levels",
					  name, ev.start_mark.line + 1, MAX_DEPTH);
			else
				error_set(err, ERR_NOMEM, "out of memory reading '%s'", name);
			yaml_event_delete(&ev);
			goto out;
		}
		yaml_event_delete(&ev);
	}
	if (!b.root || json_is_null(b.root)) {
		json_decref(b.root);
		b.root = json_object();
	}
	*out = b.root;
	b.root = NULL;
	rc = 0;
out:
	builder_release(&b);
	yaml_parser_delete(&parser);
	return rc;
}

/* --- where keys are written ------------------------------------------------ */

/* One open container of the key walk.  `path` is the dotted path of the
 * mapping (NULL inside a sequence: nothing below is listed); `key` the key
 * waiting for its value. */
struct key_frame {
	int is_mapping;
	int expect_key;
	char *path;
	char *key;
};

static char *join_path(const char *parent, const char *key)
{
	size_t a = parent ? strlen(parent) : 0, b = strlen(key);
	char *s = malloc(a + b + 2);

	if (!s)
		return NULL;
	if (a) {
		memcpy(s, parent, a);
		s[a] = '.';
		memcpy(s + a + 1, key, b + 1);
	} else {
		memcpy(s, key, b + 1);
	}
	return s;
}

/* The path of a container opened as the value of the innermost frame's key,
 * or NULL when it is not reachable through mappings only. */
static char *child_path(struct key_frame *stack, int depth)
{
	struct key_frame *top;

	if (depth == 0)
		return strdup("");
	top = &stack[depth - 1];
	if (!top->is_mapping || !top->path || !top->key)
		return NULL;
	return join_path(top->path, top->key);
}

/* A value (scalar, alias or a whole container) was placed in the innermost
 * frame: a mapping now waits for its next key. */
static void value_placed(struct key_frame *stack, int depth)
{
	if (depth > 0 && stack[depth - 1].is_mapping) {
		free(stack[depth - 1].key);
		stack[depth - 1].key = NULL;
		stack[depth - 1].expect_key = 1;
	}
}

int yaml_key_lines(const char *data, size_t len, json_t **lines, json_t **duplicates,
		   struct cpactl_error *err)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	struct key_frame stack[MAX_DEPTH];
	int depth = 0, done = 0, rc = -1, documents = 0;

	*lines = json_object();
	*duplicates = json_array();
	memset(stack, 0, sizeof(stack));
	if (!*lines || !*duplicates || !yaml_parser_initialize(&parser)) {
		json_decref(*lines);
		json_decref(*duplicates);
		*lines = *duplicates = NULL;
		return error_set(err, ERR_NOMEM, "out of memory");
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	while (!done) {
		if (next_event(&parser, &ev, &documents, &done, NULL, err) < 0)
			goto out;
		switch (ev.type) {
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
			if (depth >= MAX_DEPTH) {
				error_set(err, ERR_PARSE, "line %zu: nested deeper than %d levels",
					  ev.start_mark.line + 1, MAX_DEPTH);
				yaml_event_delete(&ev);
				goto out;
			}
			stack[depth].is_mapping = ev.type == YAML_MAPPING_START_EVENT;
			stack[depth].expect_key = 1;
			stack[depth].key = NULL;
			/* A sequence's items are not listed: its path stays NULL. */
			stack[depth].path = stack[depth].is_mapping ? child_path(stack, depth) : NULL;
			depth++;
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			if (depth > 0) {
				depth--;
				free(stack[depth].path);
				free(stack[depth].key);
				stack[depth].path = stack[depth].key = NULL;
			}
			value_placed(stack, depth);
			break;
		case YAML_SCALAR_EVENT: {
			struct key_frame *top = depth ? &stack[depth - 1] : NULL;
			if (top && top->is_mapping && top->expect_key) {
				const char *k = (const char *)ev.data.scalar.value;
				top->key = strdup(k);
				top->expect_key = 0;
				if (top->path && top->key && strcmp(k, "<<") != 0) {
					char *path = join_path(top->path, k);
					json_int_t line = (json_int_t)ev.start_mark.line + 1;
					json_t *first = path ? json_object_get(*lines, path) : NULL;
					if (first)
						json_array_append_new(*duplicates,
								      json_pack("{s:s,s:I,s:I}", "key", path, "line", line,
										"first", json_integer_value(first)));
					else if (path)
						json_object_set_new(*lines, path, json_integer(line));
					free(path);
				}
			} else {
				value_placed(stack, depth);
			}
			break;
		}
		case YAML_ALIAS_EVENT:
			value_placed(stack, depth);
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	rc = 0;
out:
	while (depth > 0) {
		depth--;
		free(stack[depth].path);
		free(stack[depth].key);
	}
	yaml_parser_delete(&parser);
	if (rc < 0) {
		json_decref(*lines);
		json_decref(*duplicates);
		*lines = *duplicates = NULL;
	}
	return rc;
}
