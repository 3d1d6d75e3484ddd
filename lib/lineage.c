/*
 * lineage.c - see lineage.h.
 */
#include "lineage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "buf.h"

#define LINEAGE_FILE_MAX (1024 * 1024)

static char *lineage_path(const struct deployment *d)
{
	struct buf path = BUF_INIT;

	buf_appendf(&path, "%s/lineage.json", d->state_dir);
	return buf_detach(&path);
}

/* The map, or an empty one when there is none or it cannot be read: a lost
 * lineage only makes renamed containers' snapshots need naming. */
static json_t *load_map(const struct deployment *d)
{
	struct cpactl_error ignored = CPACTL_ERROR_INIT;
	char *path = lineage_path(d), *text = NULL;
	size_t len = 0;
	json_t *map = NULL;

	if (path && read_small_file(path, LINEAGE_FILE_MAX, &text, &len, &ignored) == 0)
		map = json_loadb(text, len, 0, NULL);
	if (!json_is_object(map)) {
		json_decref(map);
		map = json_object();
	}
	free(path);
	free(text);
	return map;
}

int lineage_record(const struct deployment *d, const char *old_id, const char *new_id, struct cpactl_error *err)
{
	json_t *map;
	char *path = NULL, *text = NULL;
	int rc = -1;

	if (!old_id || !new_id || strcmp(old_id, new_id) == 0)
		return 0;
	map = load_map(d);
	path = lineage_path(d);
	if (!map || !path || json_object_set_new(map, new_id, json_string(old_id)) < 0 ||
	    !(text = json_dumps(map, JSON_INDENT(1) | JSON_SORT_KEYS))) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (make_private_dirs(d->state_dir, err) < 0 || atomic_write_file(path, text, strlen(text), 0600, err) < 0)
		goto out;
	rc = 0;
out:
	json_decref(map);
	free(path);
	free(text);
	return rc;
}

json_t *lineage_ancestors(const struct deployment *d, const char *id)
{
	json_t *map = load_map(d), *out = json_array();
	const char *at = id;
	size_t n;

	if (!map || !out) {
		json_decref(map);
		json_decref(out);
		return NULL;
	}
	for (n = 0; at && n < LINEAGE_MAX; n++) {
		const char *prev = json_string_value(json_object_get(map, at));
		size_t i;
		json_t *seen;
		int cycle = 0;

		if (!prev || strcmp(prev, id) == 0)
			break;
		json_array_foreach(out, i, seen)
			cycle |= strcmp(json_string_value(seen), prev) == 0;
		if (cycle)
			break;
		json_array_append_new(out, json_string(prev));
		at = json_string_value(json_array_get(out, json_array_size(out) - 1));
	}
	json_decref(map);
	return out;
}

static int same_string(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

int lineage_is_own(const struct deployment *d, const struct cpa_target *t, const char *of_name, const char *of_id)
{
	json_t *ancestors, *a;
	size_t i;
	int found;

	if (!of_name || same_string(of_name, t->name))
		return 1;
	if (!of_id || !t->id)
		return 0;
	found = strcmp(of_id, t->id) == 0;
	ancestors = lineage_ancestors(d, t->id);
	json_array_foreach(ancestors, i, a)
		found |= strcmp(json_string_value(a), of_id) == 0;
	json_decref(ancestors);
	return found;
}

enum lineage_match lineage_belongs(const struct deployment *d, const struct cpa_target *t, json_t *baseline,
				   int explicit_id, char **why)
{
	const char *of = json_string_value(json_object_get(baseline, "container"));
	const char *of_id = json_string_value(json_object_get(baseline, "container_id"));
	const char *kind = json_string_value(json_object_get(baseline, "profile"));
	json_t *port = json_object_get(baseline, "api_port");
	struct buf differs = BUF_INIT;
	enum lineage_match match = LINEAGE_FOREIGN;

	*why = NULL;
	if (lineage_is_own(d, t, of, of_id))
		return LINEAGE_OWN;
	if (!same_string(kind ? kind : profile_cpa.name, t->profile->name))
		buf_appendf(&differs, ", a %s deployment", kind ? kind : profile_cpa.name);
	if (!same_string(json_string_value(json_object_get(baseline, "config_path")), t->config_path))
		buf_append_str(&differs, ", another config.yaml");
	if (!same_string(json_string_value(json_object_get(baseline, "auth_dir")), t->auth_dir))
		buf_append_str(&differs, ", another auth dir");
	if (json_is_object(port) != !!t->has_api_port ||
	    (t->has_api_port && (json_integer_value(json_object_get(port, "host_port")) != t->api_host_port ||
				 !same_string(json_string_value(json_object_get(port, "host_ip")), t->api_host_ip))))
		buf_append_str(&differs, ", another published API port");
	if (explicit_id && differs.len == 0) {
		match = LINEAGE_FITS;
	} else {
		buf_appendf(&differs, "%s", explicit_id ? "" : ", and it was not named");
		*why = strdup(differs.data + 2);
	}
	buf_free(&differs);
	return match;
}
