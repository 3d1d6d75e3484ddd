/*
 * buf.h - a growable byte buffer, in the spirit of git's strbuf.
 *
 * The buffer owns `data`; it is always NUL-terminated after a successful append
 * (so text can be used as a C string), but may also hold binary bytes.  A
 * zeroed struct buf (BUF_INIT) is a valid empty buffer.  buf_free() releases
 * the memory and leaves an empty buffer.  buf_wipe() zeroes the bytes first:
 * use it for buffers that held a secret.
 */
#ifndef CPACTL_BUF_H
#define CPACTL_BUF_H

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

#define BUF_INIT { NULL, 0, 0 }

/* All return 0, or -1 when memory runs out (the buffer is left unchanged). */
int buf_append(struct buf *b, const void *data, size_t len);
int buf_append_str(struct buf *b, const char *s);
int buf_appendf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vappendf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Appends the formatted text to a JSON array of strings (the reasons,
 * problems and warnings of a report), whatever its length.  -1 when memory
 * runs out or the text is not UTF-8 (nothing is appended then). */
int json_array_appendf(json_t *array, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Returns the contents as a C string ("" for an empty buffer). */
const char *buf_str(const struct buf *b);

/* Removes the first n bytes. */
void buf_consume(struct buf *b, size_t n);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);
void buf_wipe(struct buf *b);

/* Hands the allocation to the caller (who must free() it); the buffer is left
 * empty.  Returns a malloc'd "" for an empty buffer, NULL on no memory. */
char *buf_detach(struct buf *b);

#endif
