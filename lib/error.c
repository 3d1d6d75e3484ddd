/*
 * error.c - see error.h.  The only place that formats error messages.
 */
#include "error.h"

#include <stdio.h>
#include <string.h>

static int error_vset(struct cpactl_error *err, enum error_kind kind, const char *suffix,
		      const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
static int error_vset(struct cpactl_error *err, enum error_kind kind, const char *suffix,
		      const char *fmt, va_list ap)
{
	if (!err || err->kind != ERR_NONE)
		return -1;
	err->kind = kind == ERR_NONE ? ERR_FAILED : kind;
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	if (suffix) {
		size_t used = strlen(err->message);
		snprintf(err->message + used, sizeof(err->message) - used, ": %s", suffix);
	}
	return -1;
}

int error_set(struct cpactl_error *err, enum error_kind kind, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	error_vset(err, kind, NULL, fmt, ap);
	va_end(ap);
	return -1;
}

int error_set_errno(struct cpactl_error *err, int errnum, enum error_kind kind,
		    const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	error_vset(err, kind, strerror(errnum), fmt, ap);
	va_end(ap);
	return -1;
}

void error_clear(struct cpactl_error *err)
{
	if (!err)
		return;
	err->kind = ERR_NONE;
	err->message[0] = '\0';
}

const char *error_kind_name(enum error_kind kind)
{
	switch (kind) {
	case ERR_NONE: return "none";
	case ERR_FAILED: return "failed";
	case ERR_USAGE: return "usage";
	case ERR_CHECK: return "check_failed";
	case ERR_LOCKED: return "locked";
	case ERR_DECLINED: return "declined";
	case ERR_ENGINE_UNREACHABLE: return "engine_unreachable";
	case ERR_ENGINE: return "engine_error";
	case ERR_NOT_FOUND: return "not_found";
	case ERR_IO: return "io_error";
	case ERR_PARSE: return "parse_error";
	case ERR_UNTRUSTED: return "untrusted";
	case ERR_NOMEM: return "out_of_memory";
	}
	return "failed";
}
