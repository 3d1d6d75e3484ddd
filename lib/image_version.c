/*
 * image_version.c - see image_version.h.
 */
#include "image_version.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomic_file.h"
#include "buf.h"
#include "container_files.h"
#include "cpa.h"

#define CACHE_FILE "image-versions.json"
#define CACHE_MAX_BYTES ((size_t)1024 * 1024)
/* Enough for every release a host keeps; the oldest answers go first. */
#define CACHE_MAX_ENTRIES 256
/* CPA prints its version at once; a binary that has not exited by then is
 * not one that answers --version. */
#define PROBE_TIMEOUT_MS 15000L
#define PROBE_POLL_MS 50L
/* The version line comes first; the usage text after it is long. */
#define PROBE_LOG_LINES 2000
/* What a cached "prints no version" is stored as. */
#define NO_VERSION ""

/* --- the cache ------------------------------------------------------------- */

/* $XDG_CACHE_HOME/cpactl, else $HOME/.cache/cpactl, into `dir`; -1 when
 * neither is set (no cache then). */
static int cache_dir(struct buf *dir)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

	if (xdg && xdg[0] == '/')
		return buf_appendf(dir, "%s/cpactl", xdg);
	if (home && home[0] == '/')
		return buf_appendf(dir, "%s/.cache/cpactl", home);
	return -1;
}

/* Only what this user alone can write is believed: another local user who
 * could plant an answer could make cpactl take one release for another. */
static int trusted(const struct stat *st, int want_dir)
{
	return (want_dir ? S_ISDIR(st->st_mode) : S_ISREG(st->st_mode)) && st->st_uid == geteuid() &&
	       (st->st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

/* The cache as a JSON object (image id -> version), or an empty one when
 * there is none or it cannot be trusted; NULL only when out of memory. */
static json_t *cache_load(const char *dir)
{
	struct buf path = BUF_INIT, text = BUF_INIT;
	struct stat st;
	json_t *cache = NULL;
	char chunk[4096];
	ssize_t n;
	int fd = -1;

	if (lstat(dir, &st) < 0 || !trusted(&st, 1) || buf_appendf(&path, "%s/%s", dir, CACHE_FILE) < 0)
		goto out;
	fd = open(path.data, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !trusted(&st, 0) || (size_t)st.st_size > CACHE_MAX_BYTES)
		goto out;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0 || (n < 0 && errno == EINTR)) {
		if (n > 0 && (text.len + (size_t)n > CACHE_MAX_BYTES || buf_append(&text, chunk, (size_t)n) < 0))
			goto out;
	}
	if (n == 0 && text.len)
		cache = json_loadb(text.data, text.len, 0, NULL);
	if (cache && !json_is_object(cache)) {
		json_decref(cache);
		cache = NULL;
	}
out:
	if (fd >= 0)
		close(fd);
	buf_free(&path);
	buf_free(&text);
	return cache ? cache : json_object();
}

/* Records one answer.  A cache that cannot be written costs a throwaway
 * container next time, nothing else, so failures are ignored. */
static void cache_store(const char *dir, json_t *cache, const char *image_id, const char *version)
{
	struct cpactl_error ignored = CPACTL_ERROR_INIT;
	struct buf path = BUF_INIT;
	struct stat st;
	char *text = NULL;

	if (mkdir(dir, 0700) < 0 && errno == ENOENT) {
		/* $HOME/.cache itself may be missing. */
		char *parent = strdup(dir), *slash = parent ? strrchr(parent, '/') : NULL;
		if (slash && slash != parent) {
			*slash = '\0';
			(void)mkdir(parent, 0700);
			(void)mkdir(dir, 0700);
		}
		free(parent);
	}
	if (lstat(dir, &st) < 0 || !trusted(&st, 1))
		goto out;
	while (json_object_size(cache) >= CACHE_MAX_ENTRIES) {
		void *first = json_object_iter(cache);
		if (!first || json_object_del(cache, json_object_iter_key(first)) < 0)
			break;
	}
	if (json_object_set_new(cache, image_id, json_string(version)) < 0 ||
	    buf_appendf(&path, "%s/%s", dir, CACHE_FILE) < 0 ||
	    !(text = json_dumps(cache, JSON_INDENT(1) | JSON_PRESERVE_ORDER)))
		goto out;
	(void)atomic_write_file(path.data, text, strlen(text), 0600, &ignored);
out:
	free(text);
	buf_free(&path);
	error_clear(&ignored);
}

/* --- the throwaway container ------------------------------------------------ */

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Creates, runs and removes `binary --version` in a container of `image_id`
 * that can touch nothing: 0 with `version`, 1 no version line, -1 error. */
static int run_probe(struct docker_client *c, const char *image_id, const char *binary, char *version,
		     size_t len, struct cpactl_error *err)
{
	struct cpactl_error ignored = CPACTL_ERROR_INIT;
	struct buf logs = BUF_INIT;
	json_t *body, *inspect = NULL;
	char *id = NULL;
	const char *status = NULL;
	long waited = 0;
	int rc = -1;

	body = json_pack("{s:s, s:[s], s:[s], s:b, s:b, s:b, s:{s:s}, s:{s:s, s:b, s:[s], s:[s], s:I, s:I}}",
			 "Image", image_id, "Entrypoint", binary, "Cmd", "--version", "NetworkDisabled", 1,
			 "AttachStdout", 0, "Tty", 0, "Labels", IMAGE_VERSION_LABEL, image_id, "HostConfig",
			 "NetworkMode", "none", "ReadonlyRootfs", 1, "CapDrop", "ALL", "SecurityOpt",
			 "no-new-privileges", "Memory", (json_int_t)256 * 1024 * 1024, "PidsLimit", (json_int_t)256);
	if (!body) {
		error_set(err, ERR_NOMEM, "out of memory");
		return -1;
	}
	/* Anonymous: two cpactl runs may probe one image at once. */
	if (docker_container_create(c, NULL, body, &id, err) < 0 || docker_container_start(c, id, err) < 0)
		goto out;
	for (;;) {
		json_decref(inspect);
		inspect = NULL;
		if (docker_container_inspect(c, id, &inspect, err) < 0)
			goto out;
		status = json_string_value(json_object_get(json_object_get(inspect, "State"), "Status"));
		if (status && (strcmp(status, "exited") == 0 || strcmp(status, "dead") == 0))
			break;
		if (waited >= PROBE_TIMEOUT_MS) {
			error_set(err, ERR_ENGINE, "'%s --version' in a throwaway container of %.19s had not exited after %ld s",
				  binary, image_id, PROBE_TIMEOUT_MS / 1000);
			goto out;
		}
		sleep_ms(PROBE_POLL_MS);
		waited += PROBE_POLL_MS;
	}
	if (docker_container_logs(c, id, PROBE_LOG_LINES, 0, &logs, err) < 0)
		goto out;
	rc = cpa_parse_version_line(buf_str(&logs), version, len) == 0 ? 0 : 1;
out:
	if (id)
		(void)docker_container_remove(c, id, 1, 1, &ignored);
	error_clear(&ignored);
	json_decref(body);
	json_decref(inspect);
	buf_free(&logs);
	free(id);
	return rc;
}

int image_version_read(struct docker_client *c, const char *image_id, const char *binary,
		       char *version, size_t len, struct cpactl_error *err)
{
	struct buf dir = BUF_INIT;
	json_t *cache = NULL;
	const char *known;
	int have_dir, rc = -1;

	if (!image_id || !*image_id || !binary || !*binary || len == 0) {
		error_set(err, ERR_USAGE, "no image id or binary to read a version from");
		return -1;
	}
	have_dir = cache_dir(&dir) == 0;
	cache = have_dir ? cache_load(dir.data) : json_object();
	if (!cache) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	known = json_string_value(json_object_get(cache, image_id));
	if (known && strlen(known) < len && (!*known || known[0] == 'v' || (known[0] >= '0' && known[0] <= '9'))) {
		snprintf(version, len, "%s", known);
		rc = *known ? 0 : 1;
		goto out;
	}
	rc = run_probe(c, image_id, binary, version, len, err);
	if (rc >= 0 && have_dir)
		cache_store(dir.data, cache, image_id, rc == 0 ? version : NO_VERSION);
out:
	json_decref(cache);
	buf_free(&dir);
	return rc;
}

int image_file_present(struct docker_client *c, const char *image_id, const char *path, int *present,
		       struct cpactl_error *err)
{
	struct cpactl_error ignored = CPACTL_ERROR_INIT, e = CPACTL_ERROR_INIT;
	struct buf data = BUF_INIT;
	json_t *body;
	char *id = NULL;
	int rc = -1, is_dir = 0;

	*present = 0;
	/* The version probe's label: discover never takes it for a deployment. */
	body = json_pack("{s:s, s:b, s:{s:s}, s:{s:s}}", "Image", image_id, "NetworkDisabled", 1, "Labels",
			 IMAGE_VERSION_LABEL, image_id, "HostConfig", "NetworkMode", "none");
	if (!body)
		return error_set(err, ERR_NOMEM, "out of memory");
	if (docker_container_create(c, NULL, body, &id, err) < 0)
		goto out;
	if (container_read_file(c, id, path, 64 * 1024, &data, &is_dir, &e) == 0)
		*present = 1;
	else if (e.kind == ERR_IO) /* larger than the bound, or not a regular file */
		*present = !is_dir;
	else if (e.kind != ERR_NOT_FOUND) {
		*err = e;
		goto out;
	}
	rc = 0;
out:
	if (id)
		(void)docker_container_remove(c, id, 1, 1, &ignored);
	error_clear(&ignored);
	json_decref(body);
	buf_wipe(&data);
	free(id);
	return rc;
}
