/*
 * registry.h - what a registry has: the releases newer than the running one.
 *
 * `cpactl upgrade --check` asks the registry of production's image itself
 * (Docker Registry HTTP API V2, libcurl; the engine has no call for a tag
 * list): GET /v2/<repository>/tags/list, then the digest of each newer
 * release and of `latest` (HEAD /v2/<repository>/manifests/<tag>), so that
 * `latest` is named by the version it really is and the target can be
 * pinned by digest.  Release tags are `vX.Y.Z` or `X.Y.Z`; any other tag
 * (latest, v7.2.1-rc1, a branch) is not a release.  Ordered by semantic
 * version; `pattern` (fnmatch(3), e.g. "v7.2.*") limits the releases; older
 * releases only with `allow_downgrade`.
 *
 * The registry is spoken to over HTTPS, except one on a loopback address or
 * `localhost` (plain HTTP, as the engine allows them without
 * --insecure-registry).  Credentials: the docker CLI's config.json
 * (registry_auth.h), sent as Basic auth, or exchanged for a bearer token
 * when the registry asks for one (WWW-Authenticate: Bearer realm=...), as
 * Docker Hub and GHCR do, anonymously too.  Docker Hub is
 * registry-1.docker.io, and a one-word repository is library/<name>.
 * Nothing here is printed; credentials never leave the request.
 */
#ifndef CPACTL_REGISTRY_H
#define CPACTL_REGISTRY_H

#include <jansson.h>

#include "error.h"

/* Fills *report with {"registry", "repository", "running_version",
 * "latest": {"digest", "version"} or null (no latest tag), "newer": [{"tag", "version",
 * "digest"}] oldest first, "update_available", "target"} ("target": the
 * newest release pinned by digest, repository@sha256:..., or null).
 * `image_ref` is production's image reference; `running_version` its
 * version (NULL: unknown, every release is listed). */
int registry_check(const char *image_ref, const char *running_version, const char *pattern, int allow_downgrade,
		   json_t **report, struct cpactl_error *err);

/* 1 when `tag` is a release tag (vX.Y.Z or X.Y.Z). */
int registry_tag_is_release(const char *tag);

#endif
