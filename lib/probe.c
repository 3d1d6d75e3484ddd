/*
 * probe.c - see probe.h.
 */
#include "probe.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "netns.h"

#define PROBE_BODY_MAX ((size_t)4 * 1024 * 1024)

struct probe_transfer {
	struct buf body;
	struct probe_result *result;
};

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
	struct probe_transfer *t = userdata;
	size_t len = size * n;

	if (t->body.len + len > PROBE_BODY_MAX)
		return 0;
	return buf_append(&t->body, data, len) < 0 ? 0 : len;
}

static void header_value(const char *line, size_t len, char *out, size_t outlen)
{
	const char *colon = memchr(line, ':', len);
	size_t n = 0;

	if (!colon)
		return;
	colon++;
	while (colon < line + len && *colon == ' ')
		colon++;
	while (colon + n < line + len && colon[n] != '\r' && colon[n] != '\n' && n + 1 < outlen)
		n++;
	memcpy(out, colon, n);
	out[n] = '\0';
}

static size_t on_header(char *data, size_t size, size_t n, void *userdata)
{
	struct probe_transfer *t = userdata;
	size_t len = size * n;

	if (len > 16 && strncasecmp(data, "x-cpa-safe-mode:", 16) == 0)
		t->result->safe_mode = 1;
	else if (len > 14 && strncasecmp(data, "x-cpa-version:", 14) == 0)
		header_value(data, len, t->result->version, sizeof(t->result->version));
	return len;
}

const char *probe_host_for_binding(const char *host_ip)
{
	if (!host_ip || !*host_ip || strcmp(host_ip, "0.0.0.0") == 0)
		return "127.0.0.1";
	if (strcmp(host_ip, "::") == 0)
		return "::1";
	return host_ip;
}

static void parse_answer(struct probe_transfer *t)
{
	json_t *j = json_loadb(buf_str(&t->body), t->body.len, 0, NULL);
	json_t *data, *item;
	size_t i;

	if (!j)
		return;
	if (json_is_string(json_object_get(j, "error")))
		snprintf(t->result->error_text, sizeof(t->result->error_text), "%s",
			 json_string_value(json_object_get(j, "error")));
	else if (json_is_string(json_object_get(j, "detail"))) /* FastAPI's errors */
		snprintf(t->result->error_text, sizeof(t->result->error_text), "%s",
			 json_string_value(json_object_get(j, "detail")));
	if (json_is_string(json_object_get(j, "status")))
		snprintf(t->result->status, sizeof(t->result->status), "%s",
			 json_string_value(json_object_get(j, "status")));
	if (json_is_integer(json_object_get(j, "input_tokens")))
		t->result->input_tokens = (long)json_integer_value(json_object_get(j, "input_tokens"));
	data = json_object_get(j, "data");
	if (t->result->http_status == 200 && json_is_array(data)) {
		t->result->models = json_array();
		json_array_foreach(data, i, item) {
			const char *id = json_string_value(json_object_get(item, "id"));
			if (id)
				json_array_append_new(t->result->models, json_string(id));
		}
	}
	json_decref(j);
}

/* libcurl's socket, made inside the candidate's network namespace. */
static curl_socket_t open_in_netns(void *clientp, curlsocktype purpose, struct curl_sockaddr *address)
{
	int fd;

	(void)purpose;
	fd = netns_socket(clientp, address->family, address->socktype, address->protocol);
	return fd < 0 ? CURL_SOCKET_BAD : fd;
}

static int probe_request(const struct netns *ns, int tls, const char *host, int port, const char *path,
			 const char *key, const char *post_body, long timeout_ms, struct probe_result *result,
			 struct cpactl_error *err)
{
	struct probe_transfer t = { BUF_INIT, result };
	struct curl_slist *headers = NULL;
	struct buf url = BUF_INIT, auth = BUF_INIT;
	char curl_error[CURL_ERROR_SIZE] = "";
	CURL *curl = curl_easy_init();
	CURLcode code;
	double seconds = 0;
	int rc = -1;

	memset(result, 0, sizeof(*result));
	result->input_tokens = -1;
	if (!curl) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (strchr(host, ':'))
		buf_appendf(&url, "%s://[%s]:%d%s", tls ? "https" : "http", host, port, path);
	else
		buf_appendf(&url, "%s://%s:%d%s", tls ? "https" : "http", host, port, path);
	if (tls) {
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	curl_easy_setopt(curl, CURLOPT_URL, buf_str(&url));
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_error);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
	if (ns) {
		curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, open_in_netns);
		curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, (void *)ns);
	}
	if (key) {
		buf_appendf(&auth, "Authorization: Bearer %s", key);
		headers = curl_slist_append(headers, buf_str(&auth));
	}
	if (post_body) {
		headers = curl_slist_append(headers, "Content-Type: application/json");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, post_body);
	}
	if (headers)
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	code = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_TOTAL_TIME, &seconds);
	result->latency_ms = seconds * 1000.0;
	if (code != CURLE_OK) {
		snprintf(result->error_text, sizeof(result->error_text), "%s",
			 curl_error[0] ? curl_error : curl_easy_strerror(code));
		error_set(err, ERR_FAILED, "no answer from '%s://%s:%d%s': %s", tls ? "https" : "http", host, port,
			  path, result->error_text);
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result->http_status);
	parse_answer(&t);
	rc = 0;
out:
	curl_slist_free_all(headers);
	if (curl)
		curl_easy_cleanup(curl);
	buf_free(&url);
	buf_wipe(&auth);
	buf_free(&t.body);
	return rc;
}

int probe_get(const struct netns *ns, int tls, const char *host, int port, const char *path, const char *key,
	      long timeout_ms, struct probe_result *result, struct cpactl_error *err)
{
	return probe_request(ns, tls, host, port, path, key, NULL, timeout_ms, result, err);
}

int probe_post_json(const struct netns *ns, int tls, const char *host, int port, const char *path, const char *key,
		    const char *body, long timeout_ms, struct probe_result *result, struct cpactl_error *err)
{
	return probe_request(ns, tls, host, port, path, key, body, timeout_ms, result, err);
}

int probe_answer_ok(enum probe_expect expect, const struct probe_result *r)
{
	switch (expect) {
	case EXPECT_MODELS:
		return r->http_status == 200 && r->models;
	case EXPECT_STATUS:
		return r->http_status == 200 && profile_status_is_healthy(r->status);
	case EXPECT_2XX:
		return r->http_status >= 200 && r->http_status < 300 &&
		       (!r->status[0] || profile_status_is_healthy(r->status));
	}
	return 0;
}

void probe_result_release(struct probe_result *r)
{
	json_decref(r->models);
	r->models = NULL;
}
