/*
 * error.h - the one error convention of cpactl's engine.
 *
 * Every function in lib/ that can fail returns 0 on success and -1 on failure,
 * and fills a caller-provided struct cpactl_error.  The error is set once, at
 * the lowest level that knows what went wrong, and never overwritten on the way
 * up: error_set() is a no-op when the error already holds a message.  That way
 * the message a person reads names the real cause ("cannot connect to
 * '/run/docker.sock': permission denied"), not the last caller's view of it.
 *
 * Messages follow the house style: lower case, no full stop, the subject in
 * quotes.  They must never contain a secret: callers pass names and paths,
 * never values read from config.yaml or auth files.
 *
 * Only cmd/ turns an error into an exit code and prints it.
 */
#ifndef CPACTL_ERROR_H
#define CPACTL_ERROR_H

#include <stdarg.h>

enum error_kind {
	ERR_NONE = 0,
	ERR_FAILED,         /* an operation failed; exit 1 */
	ERR_USAGE,          /* bad input from the user; exit 2 */
	ERR_CHECK,          /* a check found problems; exit 3 */
	ERR_LOCKED,         /* lock held or operation unfinished; exit 4 */
	ERR_DECLINED,       /* the user said no; exit 5 */
	ERR_ENGINE_UNREACHABLE, /* no engine at the socket / address */
	ERR_ENGINE,         /* the engine answered with an error */
	ERR_NOT_FOUND,      /* no such container / image / snapshot */
	ERR_IO,             /* a local file operation failed */
	ERR_PARSE,          /* input that does not parse */
	ERR_UNTRUSTED,      /* state another local user could have written; exit 1 */
	ERR_NOMEM,
};

struct cpactl_error {
	enum error_kind kind;
	char message[1024];
};

#define CPACTL_ERROR_INIT { ERR_NONE, { 0 } }

/* Sets the error unless one is already set; always returns -1 so that
 * `return error_set(err, ...)` reads naturally. */
int error_set(struct cpactl_error *err, enum error_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like error_set() but appends ": strerror(errnum)". */
int error_set_errno(struct cpactl_error *err, int errnum, enum error_kind kind,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

void error_clear(struct cpactl_error *err);

/* Stable machine name of a kind, used as `error.code` in JSON output. */
const char *error_kind_name(enum error_kind kind);

#endif
