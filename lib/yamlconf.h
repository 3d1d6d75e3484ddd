/*
 * yamlconf.h - read YAML (CPA's config.yaml) into a jansson tree with libyaml.
 *
 * CPA's configuration is YAML; cpactl only ever needs to look at it, never to
 * write it back (the bytes of config.yaml are copied, never re-serialised, so a
 * backup or a migration keeps the file exactly as its owner wrote it).  Turning
 * the document into a json_t gives the rest of cpactl one tree type to query.
 *
 * Plain scalars become JSON true/false/null/integers/reals where YAML 1.1
 * core says so (true, false, yes/no are left as strings: CPA uses Go's yaml.v3,
 * which reads YAML 1.2), everything quoted stays a string.  Aliases are
 * followed and shared, not copied, but count at their expanded size against
 * a cap of a million nodes, so a "billion laughs" document fails instead of
 * eating memory or hanging whatever walks the tree.  Errors carry the line
 * and column.
 *
 * The tree has no line numbers, so yaml_key_lines() walks the document once
 * more to say where each key is written: findings about config.yaml point at
 * a line.  It also finds keys written twice in one mapping, which yaml_parse()
 * lets the last one win but Go's yaml.v3 (CPA) refuses, failing the start.
 */
#ifndef CPACTL_YAMLCONF_H
#define CPACTL_YAMLCONF_H

#include <jansson.h>
#include <stddef.h>

#include "error.h"

/* Parses the first document of `data`.  An empty document gives an empty
 * object.  `name` is used in messages ("'config.yaml' line 3 column 5: ...").
 * On success *out is a new reference. */
int yaml_parse(const char *data, size_t len, const char *name, json_t **out,
	       struct cpactl_error *err);

/* Where the keys of `data` are written.  *lines receives a new object from
 * dotted key paths to 1-based line numbers: "port", "remote-management.
 * allow-remote" (the first time each path is written; only paths through
 * mappings: keys inside sequences are not listed).  *duplicates receives a new
 * array of {"key": path, "line": n, "first": m} for each key written again in
 * the same mapping.  Fails like yaml_parse() on a syntax error. */
int yaml_key_lines(const char *data, size_t len, json_t **lines, json_t **duplicates,
		   struct cpactl_error *err);

#endif
