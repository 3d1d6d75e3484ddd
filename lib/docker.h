/*
 * docker.h - a small client for the Docker Engine API, over libcurl.
 *
 * It speaks to the engine named by -H/--host or DOCKER_HOST (unix:///path,
 * tcp://host:port with TLS from DOCKER_CERT_PATH/DOCKER_TLS_VERIFY as the docker
 * CLI does), negotiates the API version with /_ping (1.41, Docker 20.10, at
 * least), and puts a timeout on every call.  Endpoints that stream (image
 * save, load and pull, logs, archives) are read and written through
 * callbacks, so memory stays constant whatever their size.  There is no
 * exec: cpactl never runs anything inside a container it looks at.
 *
 * Failures become one cpactl_error with a message a person can act on: the
 * socket that is missing and how to point cpactl elsewhere, why permission was
 * denied, which container does not exist, the engine's own message otherwise.
 *
 * Ownership: docker_client_open() returns a client the caller closes with
 * docker_client_close().  Every json_t ** out parameter receives a new
 * reference the caller must json_decref(); on failure it is set to NULL.
 */
#ifndef CPACTL_DOCKER_H
#define CPACTL_DOCKER_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "error.h"

#define DOCKER_DEFAULT_HOST "unix:///var/run/docker.sock"
#define DOCKER_MIN_API "1.41"
#define DOCKER_MAX_API "1.45"

struct docker_client;

/* Opens a client for `host` (NULL: $DOCKER_HOST, else the default socket) and
 * negotiates the API version.  Fails with ERR_ENGINE_UNREACHABLE when nothing
 * answers, ERR_ENGINE when the engine is older than API 1.41. */
int docker_client_open(const char *host, struct docker_client **out, struct cpactl_error *err);
void docker_client_close(struct docker_client *c);

/* The negotiated API version ("1.41") and the host as given ("unix:///..."). */
const char *docker_client_api_version(const struct docker_client *c);
const char *docker_client_host(const struct docker_client *c);
/* 1 when the engine is reached over a local unix socket or tcp:// on a
 * loopback address, so host paths of bind mounts are paths on this machine
 * (a socket or port forwarded from another host breaks that assumption). */
int docker_client_is_local(const struct docker_client *c);
/* For tcp:// engines, the host name or address of the engine (where its
 * published ports are), else NULL. */
const char *docker_client_remote_host(const struct docker_client *c);

/* Receives streamed response bytes; return 0 to go on, -1 to abort. */
typedef int (*docker_sink_fn)(void *ctx, const char *data, size_t len);
/* Supplies request bytes; returns the count (0 at the end), or -1 on error. */
typedef ssize_t (*docker_source_fn)(void *ctx, char *data, size_t cap);

struct docker_request {
	const char *method;          /* "GET", "POST", "DELETE", "HEAD", "PUT" */
	const char *path;            /* after the version prefix: "/containers/json" */
	const char *content_type;    /* NULL: none, or "application/json" for a body */
	const char *body;            /* in-memory body, or NULL */
	size_t body_len;
	docker_source_fn source;     /* streamed body (chunked), instead of body */
	void *source_ctx;
	docker_sink_fn sink;         /* streamed 2xx response, instead of response */
	void *sink_ctx;
	struct buf *response;        /* collects the 2xx response when sink is NULL */
	long timeout_ms;             /* 0: the client default; -1: none (streams) */
	const char *registry_auth;   /* X-Registry-Auth value, or NULL (SECRET: never logged) */
};

/* Performs one request.  Returns 0 when the engine answered (any status; the
 * body of a non-2xx answer is kept in *error_body if given), -1 when it could
 * not be reached or the transfer broke. */
int docker_perform(struct docker_client *c, const struct docker_request *req, long *status,
		   struct buf *error_body, struct cpactl_error *err);

/* A request whose answer is JSON (or empty).  Any status outside 2xx (and
 * 304, which the engine uses for "already started/stopped") becomes an error
 * carrying the engine's {"message"}; 404 is ERR_NOT_FOUND naming `what`.
 * `body` may be NULL; `out` may be NULL when the answer is not wanted. */
int docker_call_json(struct docker_client *c, const char *method, const char *path,
		     json_t *body, const char *what, json_t **out, long *status,
		     struct cpactl_error *err);

/* Percent-encodes a query value; returns malloc'd text or NULL. */
char *docker_escape(const char *s);

/* --- containers ---------------------------------------------------------- */

/* GET /containers/json?all=1 */
int docker_container_list(struct docker_client *c, json_t **out, struct cpactl_error *err);
/* GET /containers/{id}/json; ERR_NOT_FOUND: "no such container 'x'". */
int docker_container_inspect(struct docker_client *c, const char *id, json_t **out,
			     struct cpactl_error *err);
/* GET /containers/{id}/stats?stream=false: one sample that carries the one
 * before in precpu_stats, for a CPU percentage; the engine waits about a
 * second for it.  one_shot (API 1.41): at once, without precpu_stats (an
 * older engine ignores it and waits). */
int docker_container_stats(struct docker_client *c, const char *id, int one_shot, json_t **out,
			   struct cpactl_error *err);
/* The last `tail` lines of stdout and stderr, merged in arrival order into
 * `out` (tty containers included). */
int docker_container_logs(struct docker_client *c, const char *id, int tail, int tty,
			  struct buf *out, struct cpactl_error *err);
/* GET /containers/{id}/archive?path=P: a tar of P streamed to sink. */
int docker_container_archive(struct docker_client *c, const char *id, const char *path,
			     docker_sink_fn sink, void *ctx, struct cpactl_error *err);
/* PUT /containers/{id}/archive?path=DIR: the engine extracts the tar into
 * DIR, through the container's mounts (a stopped container's too). */
int docker_container_put_archive(struct docker_client *c, const char *id, const char *dir, const char *tar,
				 size_t tar_len, struct cpactl_error *err);

/* POST /containers/create?name=NAME (NULL: a name the engine picks); *id
 * receives the new id (malloc'd). */
int docker_container_create(struct docker_client *c, const char *name, json_t *body, char **id,
			    struct cpactl_error *err);
/* start (304 "already running" is success), stop with the container's own
 * timeout when timeout_s < 0 (304 "already stopped" is success), rename,
 * remove (force: even running; missing is success when missing_ok). */
int docker_container_start(struct docker_client *c, const char *id, struct cpactl_error *err);
int docker_container_stop(struct docker_client *c, const char *id, int timeout_s, struct cpactl_error *err);
int docker_container_rename(struct docker_client *c, const char *id, const char *name,
			    struct cpactl_error *err);
/* Renames `id` to `name` unless it has that name already: 1 renamed, 0 it
 * had it, -1 error (also when the container is gone). */
int docker_container_ensure_name(struct docker_client *c, const char *id, const char *name,
				 struct cpactl_error *err);
int docker_container_remove(struct docker_client *c, const char *id, int force, int missing_ok,
			    struct cpactl_error *err);
/* POST /containers/{id}/update with {"RestartPolicy":{"Name":policy,...}}. */
int docker_container_set_restart(struct docker_client *c, const char *id, json_t *policy,
				 struct cpactl_error *err);
/* POST /networks/{net}/connect {"Container":id,"EndpointConfig":endpoint}. */
int docker_network_connect(struct docker_client *c, const char *network, const char *id,
			   json_t *endpoint, struct cpactl_error *err);

/* --- images -------------------------------------------------------------- */

int docker_image_inspect(struct docker_client *c, const char *ref, json_t **out,
			 struct cpactl_error *err);

/* GET /images/json: every image (tagged or not) with its RepoTags and Size;
 * with dangling_only, only the untagged images no other image builds on. */
int docker_image_list(struct docker_client *c, int dangling_only, json_t **out, struct cpactl_error *err);
/* DELETE /images/{ref} without force: removes a tag (and the image when it
 * was its last tag).  A missing image is success; an image a container uses
 * is refused by the engine (ERR_ENGINE with its message, a 409). */
int docker_image_remove(struct docker_client *c, const char *ref, struct cpactl_error *err);

/* POST /images/{id}/tag: points `ref` (repo[:tag]; no tag: latest) at image `id`. */
int docker_image_tag(struct docker_client *c, const char *id, const char *ref, struct cpactl_error *err);
/* POST /images/prune with the filter dangling=true; *out receives
 * {"ImagesDeleted": [...] or null, "SpaceReclaimed": bytes}. */
int docker_image_prune_dangling(struct docker_client *c, json_t **out, struct cpactl_error *err);

/* Progress callback of pull and load: each JSON message of the stream. */
typedef void (*docker_progress_fn)(void *ctx, json_t *message);

/* POST /images/create: pulls `ref` (repo[:tag] or repo@digest; no tag means
 * "latest", never "all tags") with the registry credentials `registry_auth`
 * (registry_auth.h; NULL: none).  A mid-stream {"error"} fails the call. */
int docker_image_pull(struct docker_client *c, const char *ref, const char *registry_auth, docker_progress_fn progress,
		      void *ctx, struct cpactl_error *err);
/* GET /images/{ref}/get streamed to sink. */
int docker_image_save(struct docker_client *c, const char *ref, docker_sink_fn sink, void *ctx,
		      struct cpactl_error *err);
/* POST /images/load with the tar from source; an in-band error fails. */
int docker_image_load(struct docker_client *c, docker_source_fn source, void *source_ctx,
		      docker_progress_fn progress, void *ctx, struct cpactl_error *err);

#endif
