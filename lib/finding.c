/*
 * finding.c - the findings list shared by doctor and config check.
 */
#include "finding.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *copy_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

int finding_add(struct finding_list *list, enum finding_severity severity, const char *code,
		const char *subject, int line, const char *what, const char *fix)
{
	struct finding *f;

	if (list->count == list->alloc) {
		size_t alloc = list->alloc ? list->alloc * 2 : 8;
		struct finding *items = realloc(list->items, alloc * sizeof(*items));
		if (!items)
			return -1;
		list->items = items;
		list->alloc = alloc;
	}
	f = &list->items[list->count];
	memset(f, 0, sizeof(*f));
	f->severity = severity;
	f->line = line;
	f->code = copy_or_null(code);
	f->subject = copy_or_null(subject);
	f->what = copy_or_null(what);
	f->fix = copy_or_null(fix);
	if (!f->code || !f->what || !f->fix || (subject && !f->subject)) {
		free(f->code);
		free(f->subject);
		free(f->what);
		free(f->fix);
		return -1;
	}
	list->count++;
	return 0;
}

int finding_addv(struct finding_list *list, enum finding_severity severity, const char *code,
		 const char *subject, int line, const char *fix, const char *what_fmt, va_list ap)
{
	char what[1024];

	vsnprintf(what, sizeof(what), what_fmt, ap);
	return finding_add(list, severity, code, subject, line, what, fix);
}

int finding_addf(struct finding_list *list, enum finding_severity severity, const char *code,
		 const char *subject, int line, const char *fix, const char *what_fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, what_fmt);
	rc = finding_addv(list, severity, code, subject, line, fix, what_fmt, ap);
	va_end(ap);
	return rc;
}

int finding_list_worst(const struct finding_list *list)
{
	int worst = -1;

	for (size_t i = 0; i < list->count; i++)
		if ((int)list->items[i].severity > worst)
			worst = (int)list->items[i].severity;
	return worst;
}

const char *finding_severity_name(enum finding_severity severity)
{
	switch (severity) {
	case FINDING_ERROR:
		return "error";
	case FINDING_WARNING:
		return "warning";
	case FINDING_INFO:
		break;
	}
	return "info";
}

void finding_list_sort(struct finding_list *list)
{
	/* Insertion sort: stable, and lists are a few dozen findings long. */
	for (size_t i = 1; i < list->count; i++) {
		struct finding f = list->items[i];
		size_t j = i;
		while (j > 0 && list->items[j - 1].severity < f.severity) {
			list->items[j] = list->items[j - 1];
			j--;
		}
		list->items[j] = f;
	}
}

json_t *finding_list_json(const struct finding_list *list)
{
	json_t *array = json_array();

	if (!array)
		return NULL;
	for (int severity = FINDING_ERROR; severity >= FINDING_INFO; severity--) {
		for (size_t i = 0; i < list->count; i++) {
			const struct finding *f = &list->items[i];
			json_t *item;
			if ((int)f->severity != severity)
				continue;
			item = json_pack("{s:s,s:s,s:s?,s:i,s:s,s:s}", "severity", finding_severity_name(f->severity),
					 "code", f->code, "subject", f->subject, "line", f->line, "what", f->what,
					 "fix", f->fix);
			if (!item || json_array_append_new(array, item) < 0) {
				json_decref(array);
				return NULL;
			}
		}
	}
	return array;
}

void finding_list_release(struct finding_list *list)
{
	for (size_t i = 0; i < list->count; i++) {
		free(list->items[i].code);
		free(list->items[i].subject);
		free(list->items[i].what);
		free(list->items[i].fix);
	}
	free(list->items);
	list->items = NULL;
	list->count = list->alloc = 0;
}
