/*
 * test_image_version.c - an image's version read in a throwaway container,
 * against a scripted fake engine: what the container may touch, that it is
 * always removed, the log stream in pieces, the per-image cache and the
 * cache nobody else may have written.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/atomic_file.h"
#include "../../lib/docker.h"
#include "../../lib/error.h"
#include "../../lib/image_version.h"
#include "fake_engine.h"

#define JSON "application/json"
#define IMAGE "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define BINARY "/CLIProxyAPI/CLIProxyAPI"

static const char version_out[] = "CLIProxyAPI Version: v7.2.0, Commit: x, BuiltAt: y\n";
static const char version_err[] = "flag provided but not defined: -version\nUsage of ./CLIProxyAPI:\n";

struct fixture {
	struct fake_engine *fe;
	struct docker_client *c;
	struct cpactl_error err;
	char cache_home[64];
	char cache_file[128];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || fake_engine_start(&f->fe) < 0) {
		free(f);
		return -1;
	}
	snprintf(f->cache_home, sizeof(f->cache_home), "/tmp/cpactl-iv.XXXXXX");
	if (!mkdtemp(f->cache_home))
		return -1;
	snprintf(f->cache_file, sizeof(f->cache_file), "%s/cpactl/image-versions.json", f->cache_home);
	setenv("XDG_CACHE_HOME", f->cache_home, 1);
	if (docker_client_open(fake_engine_host(f->fe), &f->c, &f->err) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct cpactl_error e = CPACTL_ERROR_INIT;

	docker_client_close(f->c);
	fake_engine_stop(f->fe);
	remove_tree(f->cache_home, &e);
	error_clear(&e);
	error_clear(&f->err);
	free(f);
	return 0;
}

static void assert_script_done(struct fixture *f)
{
	assert_string_equal(fake_engine_problems(f->fe), "");
	assert_int_equal(fake_engine_pending(f->fe), 0);
}

/* The throwaway's whole life; `logs` is its multiplexed output. */
static void script_probe(struct fixture *f, const char *logs, size_t logs_len, unsigned flags)
{
	fake_engine_expect(f->fe, "POST", "/containers/create", 201, JSON, "{\"Id\":\"p1\"}", (size_t)-1, 0);
	fake_engine_expect(f->fe, "POST", "/containers/p1/start", 204, NULL, NULL, 0, 0);
	fake_engine_expect(f->fe, "GET", "/containers/p1/json", 200, JSON,
			   "{\"Id\":\"p1\",\"State\":{\"Status\":\"exited\",\"ExitCode\":2}}", (size_t)-1, 0);
	fake_engine_expect(f->fe, "GET", "/containers/p1/logs", 200, "application/vnd.docker.multiplexed-stream",
			   logs, logs_len, flags);
	fake_engine_expect(f->fe, "DELETE", "/containers/p1", 204, NULL, NULL, 0, 0);
}

static void run_probe_test(struct fixture *f, unsigned flags)
{
	char *frames = NULL, version[64] = "";
	size_t frames_len = 0;
	const struct fake_request *r;
	json_t *body, *host;
	struct stat st;

	/* The version line split over two stdout frames (and an empty one), the
	 * usage on stderr after it, as the engine logs them line by line. */
	fake_mux_frame(&frames, &frames_len, 1, version_out, 20);
	fake_mux_frame(&frames, &frames_len, 1, NULL, 0);
	fake_mux_frame(&frames, &frames_len, 1, version_out + 20, strlen(version_out) - 20);
	fake_mux_frame(&frames, &frames_len, 2, version_err, strlen(version_err));
	script_probe(f, frames, frames_len, flags);
	assert_int_equal(image_version_read(f->c, IMAGE, BINARY, version, sizeof(version), &f->err), 0);
	assert_string_equal(version, "v7.2.0");
	assert_script_done(f);

	/* The container can touch nothing: no mount, no network, read-only. */
	r = fake_engine_find(f->fe, "POST", "/containers/create");
	assert_non_null(r);
	assert_null(strstr(r->path, "name="));
	body = json_loads(r->body, 0, NULL);
	assert_non_null(body);
	host = json_object_get(body, "HostConfig");
	assert_string_equal(json_string_value(json_object_get(body, "Image")), IMAGE);
	assert_string_equal(json_string_value(json_array_get(json_object_get(body, "Entrypoint"), 0)), BINARY);
	assert_string_equal(json_string_value(json_array_get(json_object_get(body, "Cmd"), 0)), "--version");
	assert_true(json_is_true(json_object_get(body, "NetworkDisabled")));
	assert_string_equal(json_string_value(json_object_get(host, "NetworkMode")), "none");
	assert_true(json_is_true(json_object_get(host, "ReadonlyRootfs")));
	assert_string_equal(json_string_value(json_array_get(json_object_get(host, "CapDrop"), 0)), "ALL");
	assert_null(json_object_get(host, "Binds"));
	assert_null(json_object_get(host, "Mounts"));
	assert_null(json_object_get(body, "Volumes"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(body, "Labels"), IMAGE_VERSION_LABEL)),
			    IMAGE);
	json_decref(body);
	assert_null(fake_engine_find(f->fe, "POST", "/exec"));

	/* The answer is kept per image id, for this user only: no second probe. */
	assert_int_equal(stat(f->cache_file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	memset(version, 0, sizeof(version));
	assert_int_equal(image_version_read(f->c, IMAGE, BINARY, version, sizeof(version), &f->err), 0);
	assert_string_equal(version, "v7.2.0");
	assert_script_done(f);
	free(frames);
}

static void test_probe_whole_body(void **state)
{
	run_probe_test(*state, 0);
}

static void test_probe_tiny_chunks(void **state)
{
	run_probe_test(*state, FE_NO_LENGTH | FE_TINY_CHUNKS);
}

static void test_probe_chunked(void **state)
{
	run_probe_test(*state, FE_CHUNKED | FE_TINY_CHUNKS);
}

/* A binary older than v6.0.0 prints no version: said, and remembered. */
static void test_probe_no_version_line(void **state)
{
	struct fixture *f = *state;
	char *frames = NULL, version[64] = "";
	size_t frames_len = 0;

	fake_mux_frame(&frames, &frames_len, 2, version_err, strlen(version_err));
	script_probe(f, frames, frames_len, 0);
	assert_int_equal(image_version_read(f->c, IMAGE, BINARY, version, sizeof(version), &f->err), 1);
	assert_script_done(f);
	assert_int_equal(image_version_read(f->c, IMAGE, BINARY, version, sizeof(version), &f->err), 1);
	assert_script_done(f);
	free(frames);
}

/* A log stream cut in the middle of a frame is an error, and the throwaway
 * is removed all the same. */
static void test_probe_truncated_log_removed(void **state)
{
	struct fixture *f = *state;
	char *frames = NULL, version[64] = "";
	size_t frames_len = 0;
	struct stat st;

	fake_mux_frame(&frames, &frames_len, 1, version_out, strlen(version_out));
	script_probe(f, frames, frames_len - 10, FE_NO_LENGTH);
	assert_int_equal(image_version_read(f->c, IMAGE, BINARY, version, sizeof(version), &f->err), -1);
	assert_int_equal(f->err.kind, ERR_ENGINE);
	assert_non_null(strstr(f->err.message, "middle of a frame"));
	assert_script_done(f);
	/* Nothing was learned, so nothing is cached. */
	assert_int_not_equal(stat(f->cache_file, &st), 0);
	free(frames);
}

/* An image the engine does not have: a clear error, nothing to remove. */
static void test_probe_image_missing(void **state)
{
	struct fixture *f = *state;
	char version[64] = "";

	fake_engine_expect(f->fe, "POST", "/containers/create", 404, JSON,
			   "{\"message\":\"No such image: " IMAGE "\"}", (size_t)-1, 0);
	assert_int_equal(image_version_read(f->c, IMAGE, BINARY, version, sizeof(version), &f->err), -1);
	assert_int_equal(f->err.kind, ERR_NOT_FOUND);
	assert_script_done(f);
}

/* A cache another user could have written is not believed. */
static void test_cache_others_can_write_ignored(void **state)
{
	struct fixture *f = *state;
	struct cpactl_error e = CPACTL_ERROR_INIT;
	char *frames = NULL, version[64] = "", dir[128];
	size_t frames_len = 0;
	const char *forged = "{\"" IMAGE "\": \"v9.9.9\"}";

	snprintf(dir, sizeof(dir), "%s/cpactl", f->cache_home);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(atomic_write_file(f->cache_file, forged, strlen(forged), 0600, &e), 0);
	assert_int_equal(chmod(f->cache_file, 0666), 0);
	fake_mux_frame(&frames, &frames_len, 1, version_out, strlen(version_out));
	script_probe(f, frames, frames_len, 0);
	assert_int_equal(image_version_read(f->c, IMAGE, BINARY, version, sizeof(version), &f->err), 0);
	assert_string_equal(version, "v7.2.0");
	assert_script_done(f);

	/* The same with a directory others may write into. */
	assert_int_equal(atomic_write_file(f->cache_file, forged, strlen(forged), 0600, &e), 0);
	assert_int_equal(chmod(dir, 0777), 0);
	script_probe(f, frames, frames_len, 0);
	assert_int_equal(image_version_read(f->c, IMAGE, BINARY, version, sizeof(version), &f->err), 0);
	assert_string_equal(version, "v7.2.0");
	assert_script_done(f);
	assert_int_equal(chmod(dir, 0700), 0);
	free(frames);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_probe_whole_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_tiny_chunks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_chunked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_no_version_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_truncated_log_removed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_image_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_others_can_write_ignored, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
