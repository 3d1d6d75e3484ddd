/*
 * image_version.h - which CPA release an image holds (and whether it holds a
 * file), learned without running anything inside a container that serves.
 *
 * CPA's binary prints "CLIProxyAPI Version: ..." before it parses its flags
 * (cmd/server/main.go).  From v7.2.93 `CLIProxyAPI --version` also reads
 * ./config.yaml and loads the enabled plugins (as root, possibly deleting
 * older plugin files), so it is never run by exec inside production.  It is
 * run once per image id in a throwaway container instead: the image itself,
 * no mounts, no network, a read-only root, all capabilities dropped, removed
 * afterwards.  The answer (also "prints no version", for binaries older than
 * v6.0.0) is cached per image id, which names the bytes exactly, in
 * $XDG_CACHE_HOME/cpactl/image-versions.json (default ~/.cache/cpactl).  The
 * cache is used only when the directory and the file belong to the user and
 * nobody else can write them; otherwise it is ignored (never trusted, never
 * fixed).
 *
 * Ownership: the caller owns every buffer it passes in; nothing is kept.
 */
#ifndef CPACTL_IMAGE_VERSION_H
#define CPACTL_IMAGE_VERSION_H

#include <stddef.h>

#include "docker.h"
#include "error.h"

/* The label every throwaway version container carries (value: the image id). */
#define IMAGE_VERSION_LABEL "cpactl.version-probe"

/* The version ("v7.2.0") the binary at `binary` in image `image_id` prints.
 * Returns 0 with `version` filled, 1 when the binary prints no version line
 * (CPA older than v6.0.0, or not CPA), -1 when it could not be run (err set;
 * nothing is left behind). */
int image_version_read(struct docker_client *c, const char *image_id, const char *binary,
		       char *version, size_t len, struct cpactl_error *err);

/* Whether image `image_id` holds a file at `path` (*present 1 or 0), read
 * from a container of the image that is created, never started (no process
 * runs), and removed: claude-code-proxy's Dockerfile copies the build
 * directory, .env included unless a .dockerignore keeps it out.  The file's
 * bytes pass through memory only, wiped. */
int image_file_present(struct docker_client *c, const char *image_id, const char *path, int *present,
		       struct cpactl_error *err);

#endif
