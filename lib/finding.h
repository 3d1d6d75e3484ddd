/*
 * finding.h - what an audit found: severity, a stable code, what is wrong and
 * how to fix it.
 *
 * `cpactl doctor` and `cpactl config check` both report findings; this module
 * is the one shape they share, so a person reads the same two sentences and a
 * script reads the same JSON object from either.  A finding's texts name keys,
 * paths and containers, never a value read from config.yaml, an auth file or
 * the environment: findings are printed and sent in notifications as they are.
 *
 * The list owns its findings and their strings; finding_list_release() frees
 * them all.
 */
#ifndef CPACTL_FINDING_H
#define CPACTL_FINDING_H

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>

enum finding_severity {
	FINDING_INFO = 0,
	FINDING_WARNING,
	FINDING_ERROR,
};

struct finding {
	enum finding_severity severity;
	char *code;    /* stable, kebab-case: "port-on-all-interfaces" */
	char *what;    /* one sentence: what is wrong */
	char *fix;     /* one sentence: how to fix it */
	char *subject; /* the key, path or container it is about, or NULL */
	int line;      /* config.yaml line (1-based) or 0 when not about a line */
};

struct finding_list {
	struct finding *items;
	size_t count;
	size_t alloc;
};

#define FINDING_LIST_INIT { NULL, 0, 0 }

/* Appends a finding; the strings are copied.  `subject` may be NULL, `line`
 * 0.  Returns 0, or -1 when out of memory (the list stays valid). */
int finding_add(struct finding_list *list, enum finding_severity severity, const char *code,
		const char *subject, int line, const char *what, const char *fix);

/* finding_addf with a va_list, for callers with printf-style wrappers of
 * their own. */
int finding_addv(struct finding_list *list, enum finding_severity severity, const char *code,
		 const char *subject, int line, const char *fix, const char *what_fmt, va_list ap)
	__attribute__((format(printf, 7, 0)));

/* printf-style `what`; `fix` is a plain string. */
int finding_addf(struct finding_list *list, enum finding_severity severity, const char *code,
		 const char *subject, int line, const char *fix, const char *what_fmt, ...)
	__attribute__((format(printf, 7, 8)));

/* The highest severity in the list, or -1 when it is empty. */
int finding_list_worst(const struct finding_list *list);

/* "error", "warning", "info". */
const char *finding_severity_name(enum finding_severity severity);

/* The list as a JSON array of {severity, code, subject, line, what, fix},
 * errors first, in the order found within a severity; a new reference, or
 * NULL when out of memory. */
json_t *finding_list_json(const struct finding_list *list);

/* Sorts errors first, then warnings, then info; stable within a severity. */
void finding_list_sort(struct finding_list *list);

void finding_list_release(struct finding_list *list);

#endif
