/*
 * tar_extract.h - unpack a tar into a directory, refusing hostile input; and
 * the one place where libarchive's errors become cpactl's.
 *
 * Used for the scratch copies an upgrade's candidate runs on and for auth
 * restores.  libarchive's secure flags refuse "..", absolute paths and
 * writing through symlinks; on top, device nodes, FIFOs and hard links are
 * refused, and nothing is ever written outside `dest`.
 */
#ifndef CPACTL_TAR_EXTRACT_H
#define CPACTL_TAR_EXTRACT_H

#include "error.h"

struct archive;
struct archive_entry;

/* Sets err to `kind` with the message made of fmt, then ": " and what
 * libarchive says went wrong with `a` ("unknown error" when it says
 * nothing).  Every module that reads or writes with libarchive reports
 * through this.  Returns -1. */
int tar_error(struct cpactl_error *err, enum error_kind kind, struct archive *a, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Why an entry named `name` (relative to the directory) could not be
 * restored by tar_extract_into(), or NULL when it could: a name or a
 * symlink that points out of the directory, a FIFO or device, a hard link.
 * backup leaves such entries out (and says so); verify reports them. */
const char *tar_entry_unrestorable(struct archive_entry *entry, const char *name);

/* Extracts `tar_path` into the existing directory `dest`.  Entry names that
 * start with "<strip>/" lose that prefix and the entry "<strip>" itself is
 * skipped (the engine names a directory's entries after it).  Owners, modes
 * and times are kept. */
int tar_extract_into(const char *tar_path, const char *dest, const char *strip,
			 struct cpactl_error *err);

#endif
