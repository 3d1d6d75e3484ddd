/*
 * registry_auth.h - the credentials a pull needs, read as the docker CLI
 * reads them.
 *
 * The engine pulls; it needs the registry's credentials in the
 * X-Registry-Auth header of POST /images/create: base64url of
 * {"username", "password", "serveraddress"} (or {"identitytoken", ...}).
 * They come from the `auths` of the docker CLI's config.json
 * ($DOCKER_CONFIG/config.json, else ~/.docker/config.json), keyed by the
 * registry's host (Docker Hub: "https://index.docker.io/v1/"); an entry's
 * "auth" is base64 of "user:password".  Credential helpers (credsStore,
 * credHelpers) are programs cpactl does not run: that is said, not guessed.
 *
 * Secrets: the header value is a credential.  It is only ever sent to the
 * engine, never printed or logged; callers free it with
 * registry_auth_free(), which wipes it.  A config.json that is not owned by
 * the user running cpactl (or root), or that others may write, is not read.
 */
#ifndef CPACTL_REGISTRY_AUTH_H
#define CPACTL_REGISTRY_AUTH_H

#include "error.h"

struct registry_auth {
	char *registry;     /* the registry host of the image ("docker.io" for the Hub) */
	char *header;       /* X-Registry-Auth value, or NULL: no credentials found (SECRET) */
	char *basic;        /* "user:password" for asking the registry itself, or NULL (SECRET) */
	char *helper;       /* a credential helper config.json names for it, or NULL */
	char *config_path;  /* the config.json that was read, or NULL */
};

/* The registry of `image_ref`: its first component when that holds a dot
 * or a colon or is "localhost", else "docker.io".  malloc'd. */
char *registry_of_image(const char *image_ref);

/* Fills `a` for a pull of `image_ref`.  No config.json, or no entry for the
 * registry, is not an error (a->header stays NULL).  Fails on a config.json
 * that cannot be parsed or trusted, naming it. */
int registry_auth_for(const char *image_ref, struct registry_auth *a, struct cpactl_error *err);

void registry_auth_free(struct registry_auth *a);

#endif
