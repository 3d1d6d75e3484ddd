/*
 * archive_extract.h - unpack a tar into a directory, refusing hostile input.
 *
 * Used for the scratch copies an upgrade's candidate runs on and for auth
 * restores.  libarchive's secure flags refuse "..", absolute paths and
 * writing through symlinks; on top, device nodes, FIFOs and hard links are
 * refused, and nothing is ever written outside `dest`.
 */
#ifndef CPACTL_ARCHIVE_EXTRACT_H
#define CPACTL_ARCHIVE_EXTRACT_H

#include "error.h"

/* Extracts `tar_path` into the existing directory `dest`.  Entry names that
 * start with "<strip>/" lose that prefix and the entry "<strip>" itself is
 * skipped (the engine names a directory's entries after it).  Owners, modes
 * and times are kept. */
int archive_extract_into(const char *tar_path, const char *dest, const char *strip,
			 struct cpactl_error *err);

#endif
