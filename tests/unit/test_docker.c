/*
 * test_docker.c - the engine client against a scripted fake engine.
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
#include <unistd.h>

#include "../../lib/buf.h"
#include "../../lib/docker.h"
#include "../../lib/error.h"
#include "fake_engine.h"

#define JSON "application/json"

struct fixture {
	struct fake_engine *fe;
	struct docker_client *c;
	struct cpactl_error err;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || fake_engine_start(&f->fe) < 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	docker_client_close(f->c);
	fake_engine_stop(f->fe);
	free(f);
	return 0;
}

/* Opens the client (the automatic /_ping answers). */
static void open_client(struct fixture *f)
{
	error_clear(&f->err);
	assert_int_equal(docker_client_open(fake_engine_host(f->fe), &f->c, &f->err), 0);
	assert_int_equal(f->err.kind, ERR_NONE);
	assert_string_equal(docker_client_api_version(f->c), "1.41");
	assert_true(docker_client_is_local(f->c));
}

static void assert_script_done(struct fixture *f)
{
	assert_string_equal(fake_engine_problems(f->fe), "");
	assert_int_equal(fake_engine_pending(f->fe), 0);
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("'%s' does not contain '%s'", hay, needle);
}

/* --- connecting ------------------------------------------------------------ */

static void test_open_missing_socket(void **state)
{
	struct cpactl_error err = CPACTL_ERROR_INIT;
	struct docker_client *c = (struct docker_client *)1;
	(void)state;

	assert_int_equal(docker_client_open("unix:///nonexistent-dir-cpactl/docker.sock", &c, &err), -1);
	assert_null(c);
	assert_int_equal(err.kind, ERR_ENGINE_UNREACHABLE);
	assert_contains(err.message, "'/nonexistent-dir-cpactl/docker.sock'");
	assert_contains(err.message, "DOCKER_HOST");
	assert_contains(err.message, "-H");
}

static void test_open_negotiates(void **state)
{
	struct fixture *f = *state;
	const struct fake_request *r;

	open_client(f);
	assert_string_equal(docker_client_host(f->c), fake_engine_host(f->fe));
	r = fake_engine_request(f->fe, 0);
	assert_non_null(r);
	assert_string_equal(r->method, "GET");
	assert_string_equal(r->path, "/_ping");
	assert_true(r->auto_ping);
	assert_script_done(f);
}

static void test_open_newer_engine_capped(void **state)
{
	struct fixture *f = *state;

	fake_engine_expect(f->fe, "GET", "/_ping", 200, "text/plain", "OK", (size_t)-1, 0);
	fake_engine_headers(f->fe, "Api-Version: 1.47\r\n");
	assert_int_equal(docker_client_open(fake_engine_host(f->fe), &f->c, &f->err), 0);
	assert_string_equal(docker_client_api_version(f->c), DOCKER_MAX_API);
	assert_script_done(f);
}

static void test_open_engine_too_old(void **state)
{
	struct fixture *f = *state;

	fake_engine_expect(f->fe, "GET", "/_ping", 200, "text/plain", "OK", (size_t)-1, 0);
	fake_engine_headers(f->fe, "Api-Version: 1.24\r\n");
	assert_int_equal(docker_client_open(fake_engine_host(f->fe), &f->c, &f->err), -1);
	assert_null(f->c);
	assert_int_equal(f->err.kind, ERR_ENGINE);
	assert_contains(f->err.message, "1.24");
	assert_contains(f->err.message, "1.41");
	assert_script_done(f);
}

static void test_open_engine_without_version_header(void **state)
{
	struct fixture *f = *state;

	fake_engine_expect(f->fe, "GET", "/_ping", 200, "text/plain", "OK", (size_t)-1, 0);
	fake_engine_headers(f->fe, "Server: ancient\r\n");
	assert_int_equal(docker_client_open(fake_engine_host(f->fe), &f->c, &f->err), -1);
	assert_int_equal(f->err.kind, ERR_ENGINE);
	assert_contains(f->err.message, "upgrade");
	assert_script_done(f);
}

static void test_open_ping_not_200(void **state)
{
	struct fixture *f = *state;

	fake_engine_expect(f->fe, "GET", "/_ping", 404, "text/plain", "nope", (size_t)-1, 0);
	assert_int_equal(docker_client_open(fake_engine_host(f->fe), &f->c, &f->err), -1);
	assert_int_equal(f->err.kind, ERR_ENGINE_UNREACHABLE);
	assert_contains(f->err.message, "404");
	assert_script_done(f);
}

static void test_open_invalid_host(void **state)
{
	struct cpactl_error err = CPACTL_ERROR_INIT;
	struct docker_client *c = NULL;
	(void)state;

	assert_int_equal(docker_client_open("ftp://x", &c, &err), -1);
	assert_null(c);
	assert_int_equal(err.kind, ERR_USAGE);
	assert_contains(err.message, "'ftp://x'");
	assert_contains(err.message, "unix://");

	error_clear(&err);
	assert_int_equal(docker_client_open("unix://", &c, &err), -1);
	assert_int_equal(err.kind, ERR_USAGE);

	error_clear(&err);
	assert_int_equal(docker_client_open("tcp://", &c, &err), -1);
	assert_int_equal(err.kind, ERR_USAGE);
}

static void test_open_ssh_host(void **state)
{
	struct cpactl_error err = CPACTL_ERROR_INIT;
	struct docker_client *c = NULL;
	(void)state;

	assert_int_equal(docker_client_open("ssh://user@remote", &c, &err), -1);
	assert_null(c);
	assert_int_equal(err.kind, ERR_USAGE);
	assert_contains(err.message, "ssh://");
	assert_contains(err.message, "ssh -L");
	assert_contains(err.message, "-H unix://");
}

/* TLS files are checked before any connection: the errors name the file. */
static void test_open_tls_files(void **state)
{
	struct cpactl_error err = CPACTL_ERROR_INIT;
	struct docker_client *c = NULL;
	char dir[] = "/tmp/cpactl-test-tls.XXXXXX";
	char path[128];
	FILE *f;
	(void)state;

	assert_non_null(mkdtemp(dir));
	setenv("DOCKER_CERT_PATH", dir, 1);
	setenv("DOCKER_TLS_VERIFY", "1", 1);
	/* Verification without ca.pem. */
	assert_int_equal(docker_client_open("tcp://127.0.0.1:1", &c, &err), -1);
	assert_null(c);
	assert_int_equal(err.kind, ERR_USAGE);
	assert_contains(err.message, "ca.pem");
	assert_contains(err.message, dir);
	assert_contains(err.message, "DOCKER_CERT_PATH");
	/* A certificate without its key. */
	snprintf(path, sizeof(path), "%s/ca.pem", dir);
	assert_non_null(f = fopen(path, "w"));
	fclose(f);
	snprintf(path, sizeof(path), "%s/cert.pem", dir);
	assert_non_null(f = fopen(path, "w"));
	fclose(f);
	error_clear(&err);
	assert_int_equal(docker_client_open("tcp://127.0.0.1:1", &c, &err), -1);
	assert_int_equal(err.kind, ERR_USAGE);
	assert_contains(err.message, "key.pem");
	/* No verification: ca.pem is not needed, the pair still is. */
	unsetenv("DOCKER_TLS_VERIFY");
	snprintf(path, sizeof(path), "%s/ca.pem", dir);
	unlink(path);
	error_clear(&err);
	assert_int_equal(docker_client_open("tcp://127.0.0.1:1", &c, &err), -1);
	assert_contains(err.message, "key.pem");
	snprintf(path, sizeof(path), "%s/cert.pem", dir);
	unlink(path);
	/* Nothing there and no verification: it gets as far as connecting. */
	error_clear(&err);
	assert_int_equal(docker_client_open("tcp://127.0.0.1:1", &c, &err), -1);
	assert_int_equal(err.kind, ERR_ENGINE_UNREACHABLE);
	rmdir(dir);
	unsetenv("DOCKER_CERT_PATH");
	error_clear(&err);
}

/* --- JSON calls ------------------------------------------------------------ */

static void test_container_list_ok(void **state)
{
	struct fixture *f = *state;
	json_t *list = NULL;
	const char *body =
		"[{\"Id\":\"8dfafdbc3a40\",\"Names\":[\"/cpa\"],\"Image\":\"eceasy/cli-proxy-api:v7.2.0\","
		"\"ImageID\":\"sha256:aaaa\",\"Command\":\"./CLIProxyAPI\",\"State\":\"running\","
		"\"Labels\":{}},"
		"{\"Id\":\"9cd87474be90\",\"Names\":[\"/db\"],\"Image\":\"postgres:16\",\"State\":\"exited\"}]";

	open_client(f);
	fake_engine_expect(f->fe, "GET", "/containers/json", 200, JSON, body, (size_t)-1, 0);
	assert_int_equal(docker_container_list(f->c, &list, &f->err), 0);
	assert_true(json_is_array(list));
	assert_int_equal(json_array_size(list), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "Id")),
			    "8dfafdbc3a40");
	assert_non_null(fake_engine_find(f->fe, "GET", "/v1.41/containers/json?all=1"));
	json_decref(list);
	assert_script_done(f);
}

static void test_container_list_not_array(void **state)
{
	struct fixture *f = *state;
	json_t *list = NULL;

	open_client(f);
	fake_engine_expect(f->fe, "GET", "/containers/json", 200, JSON, "{\"a\":1}", (size_t)-1, 0);
	assert_int_equal(docker_container_list(f->c, &list, &f->err), -1);
	assert_null(list);
	assert_int_equal(f->err.kind, ERR_ENGINE);
	assert_script_done(f);
}

static void test_keepalive_many_requests(void **state)
{
	struct fixture *f = *state;

	open_client(f);
	for (int i = 0; i < 20; i++) {
		json_t *obj = NULL;
		char id[16];
		snprintf(id, sizeof(id), "c%d", i);
		fake_engine_expect(f->fe, "GET", "/containers/", 200, JSON, "{\"Id\":\"x\"}", (size_t)-1,
				   i % 3 == 0 ? FE_CHUNKED : 0);
		assert_int_equal(docker_container_inspect(f->c, id, &obj, &f->err), 0);
		assert_string_equal(json_string_value(json_object_get(obj, "Id")), "x");
		json_decref(obj);
	}
	assert_int_equal(fake_engine_request_count(f->fe), 21);
	assert_script_done(f);
}

static void test_inspect_404(void **state)
{
	struct fixture *f = *state;
	json_t *obj = (json_t *)1;

	open_client(f);
	fake_engine_expect(f->fe, "GET", "/containers/x/json", 404, JSON,
			   "{\"message\":\"No such container: x\"}", (size_t)-1, 0);
	assert_int_equal(docker_container_inspect(f->c, "x", &obj, &f->err), -1);
	assert_null(obj);
	assert_int_equal(f->err.kind, ERR_NOT_FOUND);
	assert_true(strncmp(f->err.message, "no such container 'x'", 21) == 0);
	assert_contains(f->err.message, "No such container: x");
	assert_script_done(f);
}

static void test_inspect_escapes_id(void **state)
{
	struct fixture *f = *state;
	json_t *obj = NULL;

	open_client(f);
	fake_engine_expect(f->fe, "GET", "/containers/", 200, JSON, "{}", (size_t)-1, 0);
	assert_int_equal(docker_container_inspect(f->c, "a b/../c", &obj, &f->err), 0);
	assert_non_null(fake_engine_find(f->fe, "GET", "/containers/a%20b%2F..%2Fc/json"));
	json_decref(obj);
	assert_script_done(f);
}

static void test_500_message(void **state)
{
	struct fixture *f = *state;
	json_t *obj = NULL;

	open_client(f);
	fake_engine_expect(f->fe, "GET", "/containers/x/json", 500, JSON, "{\"message\":\"boom\"}",
			   (size_t)-1, 0);
	assert_int_equal(docker_container_inspect(f->c, "x", &obj, &f->err), -1);
	assert_null(obj);
	assert_int_equal(f->err.kind, ERR_ENGINE);
	assert_contains(f->err.message, "500");
	assert_contains(f->err.message, "boom");
	assert_script_done(f);
}

static void test_500_not_json(void **state)
{
	struct fixture *f = *state;
	json_t *obj = NULL;

	open_client(f);
	fake_engine_expect(f->fe, "GET", "/containers/x/json", 502, "text/html",
			   "Bad gateway from proxy\r\n<html>second line</html>", (size_t)-1, 0);
	assert_int_equal(docker_container_inspect(f->c, "x", &obj, &f->err), -1);
	assert_int_equal(f->err.kind, ERR_ENGINE);
	assert_contains(f->err.message, "Bad gateway from proxy");
	assert_null(strstr(f->err.message, "second line"));
	assert_script_done(f);
}

static void test_200_garbage_json(void **state)
{
	struct fixture *f = *state;
	json_t *obj = (json_t *)1;

	open_client(f);
	fake_engine_expect(f->fe, "GET", "/containers/x/json", 200, JSON, "{\"Id\": \"abc\", garbage",
			   (size_t)-1, 0);
	assert_int_equal(docker_container_inspect(f->c, "x", &obj, &f->err), -1);
	assert_null(obj);
	assert_int_equal(f->err.kind, ERR_ENGINE);
	assert_contains(f->err.message, "not valid JSON");
	assert_script_done(f);
}

static void test_call_json_304_and_body(void **state)
{
	struct fixture *f = *state;
	json_t *body = json_pack("{s:s}", "Name", "x");
	const struct fake_request *r;
	long status = 0;

	open_client(f);
	fake_engine_expect(f->fe, "POST", "/containers/x/start", 304, NULL, NULL, 0, 0);
	assert_int_equal(docker_call_json(f->c, "POST", "/containers/x/start", body, "container 'x'",
					  NULL, &status, &f->err), 0);
	assert_int_equal(status, 304);
	r = fake_engine_find(f->fe, "POST", "/containers/x/start");
	assert_non_null(r);
	assert_false(r->chunked);
	assert_string_equal(r->body, "{\"Name\":\"x\"}");
	assert_contains(r->headers, "Content-Type: application/json");
	json_decref(body);
	assert_script_done(f);
}

/* --- logs ------------------------------------------------------------------ */

static void test_logs_merged(void **state)
{
	struct fixture *f = *state;
	struct buf logs = BUF_INIT;
	char *frames = NULL;
	size_t frames_len = 0;

	fake_mux_frame(&frames, &frames_len, 1, "line one\n", 9);
	fake_mux_frame(&frames, &frames_len, 2, "line two\n", 9);
	fake_mux_frame(&frames, &frames_len, 1, "full client load complete - 3 clients\n", 38);
	open_client(f);
	fake_engine_expect(f->fe, "GET", "/containers/cpa/logs", 200, "application/vnd.docker.multiplexed-stream",
			   frames, frames_len, FE_CHUNKED | FE_TINY_CHUNKS);
	assert_int_equal(docker_container_logs(f->c, "cpa", 200, 0, &logs, &f->err), 0);
	assert_string_equal(buf_str(&logs), "line one\nline two\nfull client load complete - 3 clients\n");
	assert_non_null(fake_engine_find(f->fe, "GET", "/containers/cpa/logs?stdout=1&stderr=1&tail=200"));
	free(frames);
	buf_free(&logs);
	assert_script_done(f);
}

static void test_logs_tty_raw(void **state)
{
	struct fixture *f = *state;
	struct buf logs = BUF_INIT;
	const char raw[] = "\x01\x02 raw tty output is not framed\n";

	open_client(f);
	fake_engine_expect(f->fe, "GET", "/containers/cpa/logs", 200, "text/plain", raw, sizeof(raw) - 1,
			   FE_CHUNKED);
	assert_int_equal(docker_container_logs(f->c, "cpa", 10, 1, &logs, &f->err), 0);
	assert_int_equal(logs.len, sizeof(raw) - 1);
	assert_memory_equal(logs.data, raw, sizeof(raw) - 1);
	buf_free(&logs);
	assert_script_done(f);
}

static void test_logs_truncated_frame(void **state)
{
	struct fixture *f = *state;
	struct buf logs = BUF_INIT;
	char *frames = NULL;
	size_t frames_len = 0;

	fake_mux_frame(&frames, &frames_len, 1, "complete line\n", 14);
	fake_mux_frame(&frames, &frames_len, 2, "this frame is cut short\n", 24);
	/* The engine goes away 5 bytes into the second frame's payload. */
	open_client(f);
	fake_engine_expect(f->fe, "GET", "/containers/cpa/logs", 200,
			   "application/vnd.docker.multiplexed-stream", frames, frames_len - 19,
			   FE_NO_LENGTH);
	assert_int_equal(docker_container_logs(f->c, "cpa", 200, 0, &logs, &f->err), -1);
	assert_int_equal(f->err.kind, ERR_ENGINE);
	assert_contains(f->err.message, "middle of a frame");
	free(frames);
	buf_free(&logs);
	assert_script_done(f);
}

static void test_logs_cut_chunked(void **state)
{
	struct fixture *f = *state;
	struct buf logs = BUF_INIT;
	char *frames = NULL;
	size_t frames_len = 0;

	fake_mux_frame(&frames, &frames_len, 1, "complete line\n", 14);
	fake_mux_frame(&frames, &frames_len, 1, "another line\n", 13);
	open_client(f);
	fake_engine_expect(f->fe, "GET", "/containers/cpa/logs", 200,
			   "application/vnd.docker.multiplexed-stream", frames, frames_len, FE_CHUNKED);
	fake_engine_close_after(f->fe, 22); /* inside the first frame: no terminating chunk */
	assert_int_equal(docker_container_logs(f->c, "cpa", 200, 0, &logs, &f->err), -1);
	assert_int_equal(f->err.kind, ERR_ENGINE);
	free(frames);
	buf_free(&logs);
	assert_script_done(f);
}

static void test_logs_corrupt_stream(void **state)
{
	struct fixture *f = *state;
	struct buf logs = BUF_INIT;
	const char raw[] = "plain text where frames were expected\n";

	open_client(f);
	fake_engine_expect(f->fe, "GET", "/containers/cpa/logs", 200, "text/plain", raw,
			   sizeof(raw) - 1, 0);
	assert_int_equal(docker_container_logs(f->c, "cpa", 200, 0, &logs, &f->err), -1);
	assert_int_not_equal(f->err.kind, ERR_NONE);
	buf_free(&logs);
	assert_script_done(f);
}

/* --- images ---------------------------------------------------------------- */

struct progress_log {
	int messages;
	char last_status[128];
};

static void on_progress(void *ctx, json_t *message)
{
	struct progress_log *p = ctx;
	const char *s = json_string_value(json_object_get(message, "status"));

	if (!s)
		s = json_string_value(json_object_get(message, "stream"));
	p->messages++;
	if (s)
		snprintf(p->last_status, sizeof(p->last_status), "%s", s);
}

static void test_pull_ok(void **state)
{
	struct fixture *f = *state;
	struct progress_log p = { 0 };
	const char *body =
		"{\"status\":\"Pulling from eceasy/cli-proxy-api\",\"id\":\"v7.2.0\"}\r\n"
		"{\"status\":\"Downloading\",\"progressDetail\":{\"current\":1024,\"total\":4096},\"id\":\"a1\"}\r\n"
		"{\"status\":\"Digest: sha256:0123\"}\r\n"
		"{\"status\":\"Status: Downloaded newer image for eceasy/cli-proxy-api:v7.2.0\"}\r\n";

	open_client(f);
	fake_engine_expect(f->fe, "POST", "/images/create", 200, JSON, body, (size_t)-1,
			   FE_CHUNKED | FE_TINY_CHUNKS);
	assert_int_equal(docker_image_pull(f->c, "eceasy/cli-proxy-api:v7.2.0", NULL, on_progress, &p, &f->err), 0);
	assert_int_equal(p.messages, 4);
	assert_contains(p.last_status, "Downloaded newer image");
	assert_non_null(fake_engine_find(f->fe, "POST",
					 "/images/create?fromImage=eceasy%2Fcli-proxy-api&tag=v7.2.0"));
	assert_script_done(f);
}

static void test_pull_default_tag_and_registry_port(void **state)
{
	struct fixture *f = *state;
	const char *ok = "{\"status\":\"Status: Image is up to date\"}\n";

	open_client(f);
	fake_engine_expect(f->fe, "POST", "/images/create", 200, JSON, ok, (size_t)-1, FE_CHUNKED);
	fake_engine_expect(f->fe, "POST", "/images/create", 200, JSON, ok, (size_t)-1, FE_CHUNKED);
	assert_int_equal(docker_image_pull(f->c, "registry.local:5000/cpa", NULL, NULL, NULL, &f->err), 0);
	assert_int_equal(docker_image_pull(f->c, "cpa@sha256:abcd", NULL, NULL, NULL, &f->err), 0);
	assert_non_null(fake_engine_find(f->fe, "POST",
					 "fromImage=registry.local%3A5000%2Fcpa&tag=latest"));
	assert_non_null(fake_engine_find(f->fe, "POST", "fromImage=cpa&tag=sha256%3Aabcd"));
	assert_script_done(f);
}

static void test_pull_inband_error(void **state)
{
	struct fixture *f = *state;
	struct progress_log p = { 0 };
	const char *body =
		"{\"status\":\"Pulling from eceasy/cli-proxy-api\",\"id\":\"v9.9.9\"}\r\n"
		"{\"status\":\"Waiting\",\"id\":\"a1\"}\r\n"
		"{\"errorDetail\":{\"message\":\"manifest unknown\"},\"error\":\"manifest unknown\"}\r\n";

	open_client(f);
	fake_engine_expect(f->fe, "POST", "/images/create", 200, JSON, body, (size_t)-1,
			   FE_CHUNKED | FE_TINY_CHUNKS);
	assert_int_equal(docker_image_pull(f->c, "eceasy/cli-proxy-api:v9.9.9", NULL, on_progress, &p, &f->err), -1);
	assert_int_equal(f->err.kind, ERR_ENGINE);
	assert_contains(f->err.message, "manifest unknown");
	assert_contains(f->err.message, "eceasy/cli-proxy-api:v9.9.9");
	assert_int_equal(p.messages, 3);
	assert_script_done(f);
}

static void test_pull_http_404(void **state)
{
	struct fixture *f = *state;
	struct progress_log p = { 0 };

	open_client(f);
	fake_engine_expect(f->fe, "POST", "/images/create", 404, JSON,
			   "{\"message\":\"pull access denied for nope, repository does not exist\"}",
			   (size_t)-1, 0);
	assert_int_equal(docker_image_pull(f->c, "nope:1", NULL, on_progress, &p, &f->err), -1);
	assert_int_equal(f->err.kind, ERR_NOT_FOUND);
	assert_string_equal(f->err.message, "pulling image 'nope:1' failed: the docker engine answered 404: "
					    "pull access denied for nope, repository does not exist");
	assert_int_equal(p.messages, 0);
	assert_script_done(f);
}

static void test_pull_stream_cut(void **state)
{
	struct fixture *f = *state;
	const char *body =
		"{\"status\":\"Pulling from eceasy/cli-proxy-api\",\"id\":\"v7.2.0\"}\r\n"
		"{\"status\":\"Downloading\",\"id\":\"a1\"}\r\n"
		"{\"status\":\"Status: Downloaded newer image\"}\r\n";

	open_client(f);
	fake_engine_expect(f->fe, "POST", "/images/create", 200, JSON, body, (size_t)-1, FE_CHUNKED);
	fake_engine_close_after(f->fe, 70);
	assert_int_equal(docker_image_pull(f->c, "eceasy/cli-proxy-api:v7.2.0", NULL, NULL, NULL, &f->err), -1);
	assert_int_equal(f->err.kind, ERR_ENGINE);
	assert_script_done(f);
}

static void test_pull_empty_stream(void **state)
{
	struct fixture *f = *state;

	open_client(f);
	fake_engine_expect(f->fe, "POST", "/images/create", 200, JSON, "", 0, FE_CHUNKED);
	assert_int_equal(docker_image_pull(f->c, "eceasy/cli-proxy-api:v7.2.0", NULL, NULL, NULL, &f->err), -1);
	assert_int_equal(f->err.kind, ERR_ENGINE);
	assert_script_done(f);
}

struct source {
	const unsigned char *data;
	size_t len, off;
	size_t calls;
};

static ssize_t from_memory(void *ctx, char *data, size_t cap)
{
	struct source *s = ctx;
	/* Odd-sized pieces so chunk boundaries fall everywhere. */
	size_t want = 1 + (s->calls++ * 977) % 5003;
	size_t n = s->len - s->off;

	if (n > want)
		n = want;
	if (n > cap)
		n = cap;
	memcpy(data, s->data + s->off, n);
	s->off += n;
	return (ssize_t)n;
}

static unsigned char *make_bytes(size_t n, unsigned seed)
{
	unsigned char *p = malloc(n);
	uint32_t x = seed * 2654435761u + 1;

	assert_non_null(p);
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
	return p;
}

static void test_load_ok(void **state)
{
	struct fixture *f = *state;
	struct progress_log p = { 0 };
	size_t n = 300000;
	unsigned char *tar = make_bytes(n, 7);
	struct source src = { tar, n, 0, 0 };
	const struct fake_request *r;

	open_client(f);
	fake_engine_expect(f->fe, "POST", "/images/load", 200, JSON,
			   "{\"stream\":\"Loaded image: a:b\\n\"}\r\n", (size_t)-1, FE_CHUNKED);
	assert_int_equal(docker_image_load(f->c, from_memory, &src, on_progress, &p, &f->err), 0);
	assert_int_equal(p.messages, 1);
	assert_string_equal(p.last_status, "Loaded image: a:b\n");
	r = fake_engine_find(f->fe, "POST", "/images/load");
	assert_non_null(r);
	assert_true(r->chunked);
	assert_contains(r->path, "quiet=1");
	assert_contains(r->headers, "Content-Type: application/x-tar");
	assert_int_equal(r->body_len, n);
	assert_memory_equal(r->body, tar, n);
	free(tar);
	assert_script_done(f);
}

static void test_load_inband_error(void **state)
{
	struct fixture *f = *state;
	unsigned char tar[512] = { 0 };
	struct source src = { tar, sizeof(tar), 0, 0 };

	open_client(f);
	fake_engine_expect(f->fe, "POST", "/images/load", 200, JSON,
			   "{\"errorDetail\":{\"message\":\"unexpected EOF\"},\"error\":\"unexpected EOF\"}\r\n",
			   (size_t)-1, FE_CHUNKED);
	assert_int_equal(docker_image_load(f->c, from_memory, &src, NULL, NULL, &f->err), -1);
	assert_int_equal(f->err.kind, ERR_ENGINE);
	assert_contains(f->err.message, "unexpected EOF");
	assert_script_done(f);
}

static ssize_t failing_source(void *ctx, char *data, size_t cap)
{
	int *calls = ctx;
	(void)data;
	(void)cap;
	(*calls)++;
	return -1;
}

static void test_load_source_fails(void **state)
{
	struct fixture *f = *state;
	int calls = 0;

	open_client(f);
	assert_int_equal(docker_image_load(f->c, failing_source, &calls, NULL, NULL, &f->err), -1);
	assert_true(calls >= 1);
	assert_int_not_equal(f->err.kind, ERR_NONE);
	assert_string_equal(fake_engine_problems(f->fe), "");
}

struct sink {
	struct buf data;
	size_t calls;
	size_t fail_after;
};

static int to_memory(void *ctx, const char *data, size_t len)
{
	struct sink *s = ctx;

	s->calls++;
	if (s->fail_after && s->calls > s->fail_after)
		return -1;
	return buf_append(&s->data, data, len);
}

static void test_save_tiny_chunks(void **state)
{
	struct fixture *f = *state;
	size_t n = 20000;
	unsigned char *tar = make_bytes(n, 3);
	struct sink s = { BUF_INIT, 0, 0 };

	open_client(f);
	fake_engine_expect(f->fe, "GET", "/images/eceasy%2Fcli-proxy-api%3Av7.2.0/get", 200,
			   "application/x-tar", tar, n, FE_TINY_CHUNKS);
	assert_int_equal(docker_image_save(f->c, "eceasy/cli-proxy-api:v7.2.0", to_memory, &s, &f->err), 0);
	assert_int_equal(s.data.len, n);
	assert_memory_equal(s.data.data, tar, n);
	assert_true(s.calls > 1);
	buf_free(&s.data);
	free(tar);
	assert_script_done(f);
}

static void test_save_chunked(void **state)
{
	struct fixture *f = *state;
	size_t n = 200000;
	unsigned char *tar = make_bytes(n, 4);
	struct sink s = { BUF_INIT, 0, 0 };

	open_client(f);
	fake_engine_expect(f->fe, "GET", "/images/", 200, "application/x-tar", tar, n, FE_CHUNKED);
	assert_int_equal(docker_image_save(f->c, "a:b", to_memory, &s, &f->err), 0);
	assert_int_equal(s.data.len, n);
	assert_memory_equal(s.data.data, tar, n);
	buf_free(&s.data);
	free(tar);
	assert_script_done(f);
}

static void test_save_cut_midway(void **state)
{
	struct fixture *f = *state;
	size_t n = 10000;
	unsigned char *tar = make_bytes(n, 5);
	struct sink s = { BUF_INIT, 0, 0 };

	open_client(f);
	fake_engine_expect(f->fe, "GET", "/images/", 200, "application/x-tar", tar, n, 0);
	fake_engine_close_after(f->fe, 3000);
	assert_int_equal(docker_image_save(f->c, "a:b", to_memory, &s, &f->err), -1);
	assert_int_equal(f->err.kind, ERR_ENGINE);
	assert_true(s.data.len <= 3000);
	buf_free(&s.data);
	free(tar);
	assert_script_done(f);
}

static void test_save_sink_fails(void **state)
{
	struct fixture *f = *state;
	size_t n = 50000;
	unsigned char *tar = make_bytes(n, 6);
	struct sink s = { BUF_INIT, 0, 1 };

	open_client(f);
	fake_engine_expect(f->fe, "GET", "/images/", 200, "application/x-tar", tar, n, FE_TINY_CHUNKS);
	assert_int_equal(docker_image_save(f->c, "a:b", to_memory, &s, &f->err), -1);
	assert_int_equal(f->err.kind, ERR_FAILED);
	assert_contains(f->err.message, "writing");
	buf_free(&s.data);
	free(tar);
	assert_script_done(f);
}

static void test_save_404(void **state)
{
	struct fixture *f = *state;
	struct sink s = { BUF_INIT, 0, 0 };

	open_client(f);
	fake_engine_expect(f->fe, "GET", "/images/", 404, JSON,
			   "{\"message\":\"reference does not exist\"}", (size_t)-1, 0);
	assert_int_equal(docker_image_save(f->c, "a:b", to_memory, &s, &f->err), -1);
	assert_int_equal(f->err.kind, ERR_NOT_FOUND);
	assert_contains(f->err.message, "no such image 'a:b'");
	assert_int_equal(s.data.len, 0);
	buf_free(&s.data);
	assert_script_done(f);
}

static void test_archive_stream(void **state)
{
	struct fixture *f = *state;
	size_t n = 4096;
	unsigned char *tar = make_bytes(n, 9);
	struct sink s = { BUF_INIT, 0, 0 };

	open_client(f);
	fake_engine_expect(f->fe, "GET", "/containers/cpa/archive", 200, "application/x-tar", tar, n,
			   FE_CHUNKED | FE_TINY_CHUNKS);
	assert_int_equal(docker_container_archive(f->c, "cpa", "/CLIProxyAPI/config.yaml", to_memory, &s,
						  &f->err), 0);
	assert_memory_equal(s.data.data, tar, n);
	assert_non_null(fake_engine_find(f->fe, "GET", "archive?path=%2FCLIProxyAPI%2Fconfig.yaml"));
	buf_free(&s.data);
	free(tar);
	assert_script_done(f);
}

static void test_engine_goes_away(void **state)
{
	struct fixture *f = *state;
	json_t *obj = NULL;

	open_client(f);
	fake_engine_expect(f->fe, "GET", "/containers/x/json", 200, JSON, "{\"Id\":\"x\"}", (size_t)-1, 0);
	fake_engine_close_after(f->fe, 0);
	assert_int_equal(docker_container_inspect(f->c, "x", &obj, &f->err), -1);
	assert_null(obj);
	assert_int_equal(f->err.kind, ERR_ENGINE);
	assert_contains(f->err.message, "GET /containers/x/json");
	assert_script_done(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_missing_socket),
		cmocka_unit_test_setup_teardown(test_open_negotiates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_newer_engine_capped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_engine_too_old, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_engine_without_version_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_ping_not_200, setup, teardown),
		cmocka_unit_test(test_open_invalid_host),
		cmocka_unit_test(test_open_ssh_host),
		cmocka_unit_test(test_open_tls_files),
		cmocka_unit_test_setup_teardown(test_container_list_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_container_list_not_array, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keepalive_many_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inspect_404, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inspect_escapes_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_500_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_500_not_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_200_garbage_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_call_json_304_and_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_logs_merged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_logs_tty_raw, setup, teardown),
		cmocka_unit_test_setup_teardown(test_logs_truncated_frame, setup, teardown),
		cmocka_unit_test_setup_teardown(test_logs_cut_chunked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_logs_corrupt_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pull_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pull_default_tag_and_registry_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pull_inband_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pull_http_404, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pull_stream_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pull_empty_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_inband_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_source_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_tiny_chunks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_chunked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_cut_midway, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_sink_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_404, setup, teardown),
		cmocka_unit_test_setup_teardown(test_archive_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_engine_goes_away, setup, teardown),
	};

	unsetenv("DOCKER_API_VERSION");
	unsetenv("DOCKER_HOST");
	unsetenv("DOCKER_TLS_VERIFY");
	unsetenv("DOCKER_CERT_PATH");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
