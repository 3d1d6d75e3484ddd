/*
 * config_check.h - what is wrong with a CPA config.yaml, read as text.
 *
 * One place that knows CPA's keys: which exist, their types, which hold
 * secrets, which a version migrates, ignores or deletes, and which settings
 * are unsafe (an open proxy, remote management without a secret, an upstream
 * key reachable from outside ...).  `cpactl config check` prints these
 * findings; `cpactl doctor` adds them to its own; `config apply` refuses a
 * file with an error among them.
 *
 * Nothing here reads the engine or the disk: the caller passes the bytes and
 * the CPA version it runs (or will run).  Findings never quote a value.
 */
#ifndef CPACTL_CONFIG_CHECK_H
#define CPACTL_CONFIG_CHECK_H

#include <stddef.h>

#include "error.h"
#include "finding.h"

struct config_check_input {
	const char *data;    /* config.yaml bytes, not NUL-terminated */
	size_t len;
	const char *name;    /* for messages: "config.yaml", a path */
	const char *version; /* CPA version it runs or will run ("7.2.51"), or NULL */
};

/* Appends the findings for `in` to `out`.  A YAML syntax error is a finding
 * (code "yaml-syntax", with its line), not a failure: the function returns -1
 * only when it cannot work at all (out of memory). */
int config_check(const struct config_check_input *in, struct finding_list *out, struct cpactl_error *err);

#endif
