/*
 * docker.c - see docker.h.
 *
 * One CURL easy handle per client, reset between requests, so that keep-alive
 * connections to the engine are reused (discovering 100 containers costs a few
 * hundred requests; a new connection for each would double the time).
 * curl's own error text is converted into a cpactl_error in exactly one place:
 * transport_error().
 */
#include "docker.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsonstream.h"
#include "muxstream.h"

#define DEFAULT_TIMEOUT_MS 30000L
#define CONNECT_TIMEOUT_MS 5000L
#define ERROR_BODY_MAX 8192
/* Streams have no overall deadline; one that moves less than a byte in this
 * many seconds is declared dead. */
#define STREAM_STALL_SECONDS 120L

struct docker_client {
	CURL *curl;
	char *host;           /* as given: unix:///..., tcp://... */
	char *socket_path;    /* unix sockets only */
	char *base_url;       /* http://docker or https://host:port[/base] */
	char *remote_host;    /* tcp:// only: the engine's host */
	int tls, tls_verify;  /* tcp:// only, see setup_tls() */
	char *cert_dir;       /* DOCKER_CERT_PATH or ~/.docker, with TLS */
	char *ca_file, *cert_file, *key_file; /* NULL when not used */
	char api_version[16];
	char curl_error[CURL_ERROR_SIZE];
};

/* A malloc'd formatted string, or NULL when memory runs out. */
static char *dup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *dup_printf(const char *fmt, ...)
{
	char *s;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

/* Is a file there and readable?  0, or the errno saying why not. */
static int readable(const char *path)
{
	return access(path, R_OK) == 0 ? 0 : errno;
}

/* TLS for tcp://, from the environment the way the docker CLI reads it: a
 * non-empty DOCKER_TLS_VERIFY turns TLS on and checks the engine's
 * certificate against ca.pem (the CLI's --tlsverify); DOCKER_CERT_PATH or
 * DOCKER_TLS alone turn TLS on without that check (the CLI's --tls).  The
 * files live in DOCKER_CERT_PATH, default ~/.docker.  cert.pem and key.pem,
 * the client's identity, are sent when present, as the CLI does: an engine
 * started with --tlsverify refuses a client without them, and that refusal
 * is explained by transport_error(). */
static int setup_tls(struct docker_client *c, struct cpactl_error *err)
{
	const char *verify = getenv("DOCKER_TLS_VERIFY");
	const char *dir = getenv("DOCKER_CERT_PATH");
	const char *tls = getenv("DOCKER_TLS");
	const char *home = getenv("HOME");
	struct buf d = BUF_INIT;
	int rc = -1, cert_errno, key_errno, ca_errno;

	c->tls_verify = verify && *verify;
	c->tls = c->tls_verify || (dir && *dir) || (tls && *tls);
	if (!c->tls)
		return 0;
	if (dir && *dir)
		buf_append_str(&d, dir);
	else
		buf_appendf(&d, "%s/.docker", home ? home : "");
	c->cert_dir = buf_detach(&d);
	c->ca_file = dup_printf("%s/ca.pem", c->cert_dir);
	c->cert_file = dup_printf("%s/cert.pem", c->cert_dir);
	c->key_file = dup_printf("%s/key.pem", c->cert_dir);
	if (!c->cert_dir || !c->ca_file || !c->cert_file || !c->key_file) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	ca_errno = readable(c->ca_file);
	if (c->tls_verify && ca_errno) {
		error_set(err, ERR_USAGE,
			  "DOCKER_TLS_VERIFY is set but the engine's CA certificate '%s' cannot be read: %s "
			  "(put ca.pem there, or point DOCKER_CERT_PATH at the directory that has it)",
			  c->ca_file, strerror(ca_errno));
		goto out;
	}
	if (ca_errno) {
		free(c->ca_file);
		c->ca_file = NULL;
	}
	cert_errno = readable(c->cert_file);
	key_errno = readable(c->key_file);
	if (cert_errno != key_errno && (cert_errno == 0 || key_errno == 0)) {
		error_set(err, ERR_USAGE,
			  "the client certificate and its key go together, but '%s' cannot be read: %s "
			  "(put cert.pem and key.pem in '%s', or neither)",
			  cert_errno ? c->cert_file : c->key_file, strerror(cert_errno ? cert_errno : key_errno),
			  c->cert_dir);
		goto out;
	}
	if (cert_errno) {
		/* No client identity: the engine may not ask for one. */
		free(c->cert_file);
		free(c->key_file);
		c->cert_file = c->key_file = NULL;
	}
	rc = 0;
out:
	buf_free(&d);
	return rc;
}

static int parse_host(struct docker_client *c, const char *host, struct cpactl_error *err)
{
	if (strncmp(host, "unix://", 7) == 0) {
		const char *path = host + 7;
		if (!*path || strlen(path) >= 108)
			return error_set(err, ERR_USAGE,
					 "invalid docker host '%s': the socket path must be 1 to 107 bytes",
					 host);
		c->socket_path = strdup(path);
		c->base_url = strdup("http://docker");
	} else if (strncmp(host, "tcp://", 6) == 0) {
		const char *addr = host + 6;
		int tls;
		if (!*addr)
			return error_set(err, ERR_USAGE, "invalid docker host '%s': no address", host);
		if (setup_tls(c, err) < 0)
			return -1;
		tls = c->tls;
		/* host[:port][/path], or [v6]:port */
		{
			size_t n;
			if (addr[0] == '[') {
				const char *end = strchr(addr, ']');
				n = end ? (size_t)(end - addr - 1) : strlen(addr + 1);
				c->remote_host = strndup(addr + 1, n);
			} else {
				n = strcspn(addr, ":/");
				c->remote_host = strndup(addr, n);
			}
		}
		/* The docker CLI's default ports: 2376 with TLS, 2375 without. */
		if (!strchr(addr, ':')) {
			struct buf u = BUF_INIT;
			buf_appendf(&u, "%s://%s:%s", tls ? "https" : "http", addr, tls ? "2376" : "2375");
			c->base_url = buf_detach(&u);
		} else {
			c->base_url = dup_printf("%s://%s", tls ? "https" : "http", addr);
		}
		/* Drop a trailing slash so that base + "/v1.41/..." has one. */
		if (c->base_url) {
			size_t n = strlen(c->base_url);
			if (n && c->base_url[n - 1] == '/')
				c->base_url[n - 1] = '\0';
		}
	} else if (strncmp(host, "ssh://", 6) == 0) {
		return error_set(err, ERR_USAGE,
				 "docker host '%s': ssh:// is not supported; forward the socket with "
				 "'ssh -L /tmp/remote-docker.sock:/var/run/docker.sock HOST' and use "
				 "-H unix:///tmp/remote-docker.sock",
				 host);
	} else {
		return error_set(err, ERR_USAGE,
				 "invalid docker host '%s': use unix:///path/to/docker.sock or "
				 "tcp://host:port",
				 host);
	}
	if (!c->base_url || (strncmp(host, "unix://", 7) == 0 && !c->socket_path))
		return error_set(err, ERR_NOMEM, "out of memory");
	return 0;
}

const char *docker_client_api_version(const struct docker_client *c)
{
	return c->api_version;
}

const char *docker_client_host(const struct docker_client *c)
{
	return c->host;
}

int docker_client_is_local(const struct docker_client *c)
{
	const char *h = c->remote_host;

	if (c->socket_path)
		return 1;
	/* tcp:// on loopback: the engine is in this machine's network
	 * namespace, so on this machine (a port forwarded from elsewhere is not,
	 * and the namespace probe's cgroup check then refuses). */
	return h && (strncmp(h, "127.", 4) == 0 || strcmp(h, "::1") == 0 || strcmp(h, "localhost") == 0);
}

const char *docker_client_remote_host(const struct docker_client *c)
{
	return c->remote_host;
}

char *docker_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);
	char *copy;

	if (!e)
		return NULL;
	copy = strdup(e);
	curl_free(e);
	return copy;
}

/* --- the transfer ---------------------------------------------------------- */

struct transfer {
	struct docker_client *client;
	const struct docker_request *req;
	struct buf *error_body;
	long status;
	int sink_failed;
	char api_version_header[16];
};

static size_t on_header(char *data, size_t size, size_t n, void *userdata)
{
	struct transfer *t = userdata;
	size_t len = size * n;
	static const char name[] = "api-version:";

	if (len > sizeof(name) && strncasecmp(data, name, sizeof(name) - 1) == 0) {
		const char *v = data + sizeof(name) - 1;
		size_t i = 0;
		while (*v == ' ')
			v++;
		while (i + 1 < sizeof(t->api_version_header) && v[i] && v[i] != '\r' && v[i] != '\n') {
			t->api_version_header[i] = v[i];
			i++;
		}
		t->api_version_header[i] = '\0';
	}
	return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
	struct transfer *t = userdata;
	size_t len = size * n;

	if (!t->status)
		curl_easy_getinfo(t->client->curl, CURLINFO_RESPONSE_CODE, &t->status);
	if (t->status < 200 || t->status >= 300) {
		/* Keep a bounded piece of an error answer for the message. */
		if (t->error_body && t->error_body->len < ERROR_BODY_MAX) {
			size_t room = ERROR_BODY_MAX - t->error_body->len;
			if (buf_append(t->error_body, data, len < room ? len : room) < 0)
				return 0;
		}
		return len;
	}
	if (t->req->sink) {
		if (t->req->sink(t->req->sink_ctx, data, len) < 0) {
			t->sink_failed = 1;
			return 0;
		}
		return len;
	}
	if (t->req->response && buf_append(t->req->response, data, len) < 0)
		return 0;
	return len;
}

static size_t on_read(char *data, size_t size, size_t n, void *userdata)
{
	struct transfer *t = userdata;
	ssize_t got = t->req->source(t->req->source_ctx, data, size * n);

	if (got < 0)
		return CURL_READFUNC_ABORT;
	return (size_t)got;
}

/* A failure of TLS itself, named with the file or the reason and what to
 * check; 0 when `code` is not about TLS. */
static int tls_error(struct docker_client *c, CURLcode code, struct cpactl_error *err)
{
	const char *why = c->curl_error[0] ? c->curl_error : curl_easy_strerror(code);

	switch (code) {
	case CURLE_PEER_FAILED_VERIFICATION:
		return error_set(err, ERR_ENGINE_UNREACHABLE,
				 "the docker engine at '%s' is not trusted: %s (its certificate must be "
				 "signed by the CA in '%s' and name the host '%s'; check DOCKER_CERT_PATH)",
				 c->host, why, c->ca_file ? c->ca_file : "ca.pem",
				 c->remote_host ? c->remote_host : "");
	case CURLE_SSL_CACERT_BADFILE:
		return error_set(err, ERR_USAGE, "the CA certificate '%s' cannot be used: %s",
				 c->ca_file ? c->ca_file : "ca.pem", why);
	case CURLE_SSL_CERTPROBLEM:
		return error_set(err, ERR_USAGE,
				 "the client certificate '%s' or its key '%s' cannot be used: %s",
				 c->cert_file ? c->cert_file : "cert.pem", c->key_file ? c->key_file : "key.pem",
				 why);
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
		if (!c->cert_file)
			return error_set(err, ERR_ENGINE_UNREACHABLE,
					 "TLS with the docker engine at '%s' failed: %s (cpactl sent no client "
					 "certificate: an engine started with --tlsverify needs cert.pem and "
					 "key.pem in '%s')",
					 c->host, why, c->cert_dir);
		return error_set(err, ERR_ENGINE_UNREACHABLE,
				 "TLS with the docker engine at '%s' failed: %s (is it a TLS endpoint, and "
				 "does it accept the client certificate '%s'?)",
				 c->host, why, c->cert_file);
	default:
		return 0;
	}
}

/* The one place curl's failures become cpactl errors. */
static int transport_error(struct docker_client *c, CURLcode code, const struct transfer *t,
			   struct cpactl_error *err)
{
	long os_errno = 0;

	if (t->sink_failed)
		return error_set(err, ERR_FAILED, "writing the engine's answer to '%s' failed",
				 t->req->path);
	curl_easy_getinfo(c->curl, CURLINFO_OS_ERRNO, &os_errno);
	if (code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST) {
		if (c->socket_path) {
			if (os_errno == EACCES || os_errno == EPERM)
				return error_set(err, ERR_ENGINE_UNREACHABLE,
						 "cannot connect to the docker engine at '%s': permission "
						 "denied (run cpactl as root or as a member of the 'docker' "
						 "group)",
						 c->socket_path);
			if (os_errno == ENOENT)
				return error_set(err, ERR_ENGINE_UNREACHABLE,
						 "cannot connect to the docker engine at '%s': no such "
						 "socket (is dockerd running? point cpactl at another "
						 "engine with -H unix:///path or DOCKER_HOST)",
						 c->socket_path);
			return error_set(err, ERR_ENGINE_UNREACHABLE,
					 "cannot connect to the docker engine at '%s': %s (is dockerd "
					 "running? point cpactl elsewhere with -H or DOCKER_HOST)",
					 c->socket_path, os_errno ? strerror((int)os_errno) : "refused");
		}
		return error_set(err, ERR_ENGINE_UNREACHABLE,
				 "cannot connect to the docker engine at '%s': %s", c->host,
				 c->curl_error[0] ? c->curl_error : curl_easy_strerror(code));
	}
	if (c->tls && tls_error(c, code, err) < 0)
		return -1;
	if (code == CURLE_OPERATION_TIMEDOUT)
		return error_set(err, ERR_ENGINE, "the docker engine at '%s' did not answer '%s %s' in time",
				 c->host, t->req->method, t->req->path);
	return error_set(err, ERR_ENGINE, "talking to the docker engine at '%s' failed during '%s %s': %s",
			 c->host, t->req->method, t->req->path,
			 c->curl_error[0] ? c->curl_error : curl_easy_strerror(code));
}

static int perform(struct docker_client *c, const struct docker_request *req, int versioned,
		   struct transfer *t, struct cpactl_error *err)
{
	struct curl_slist *headers = NULL;
	struct buf url = BUF_INIT;
	CURLcode code;
	long timeout = req->timeout_ms ? req->timeout_ms : DEFAULT_TIMEOUT_MS;
	int rc = -1;

	t->client = c;
	t->req = req;
	curl_easy_reset(c->curl);
	c->curl_error[0] = '\0';
	if (versioned)
		buf_appendf(&url, "%s/v%s%s", c->base_url, c->api_version, req->path);
	else
		buf_appendf(&url, "%s%s", c->base_url, req->path);
	if (!url.data) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	curl_easy_setopt(c->curl, CURLOPT_URL, url.data);
	if (c->socket_path)
		curl_easy_setopt(c->curl, CURLOPT_UNIX_SOCKET_PATH, c->socket_path);
	if (c->tls) {
		if (c->tls_verify) {
			curl_easy_setopt(c->curl, CURLOPT_CAINFO, c->ca_file);
			curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYPEER, 1L);
			curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYHOST, 2L);
		} else {
			curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYPEER, 0L);
			curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYHOST, 0L);
		}
		if (c->cert_file) {
			curl_easy_setopt(c->curl, CURLOPT_SSLCERT, c->cert_file);
			curl_easy_setopt(c->curl, CURLOPT_SSLKEY, c->key_file);
		}
	}
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->curl_error);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	if (timeout > 0) {
		curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, timeout);
	} else {
		curl_easy_setopt(c->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(c->curl, CURLOPT_LOW_SPEED_TIME, STREAM_STALL_SECONDS);
	}
	curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, t);
	/* libcurl would otherwise wait for "100 Continue" before large bodies. */
	headers = curl_slist_append(headers, "Expect:");
	if (req->content_type) {
		struct buf h = BUF_INIT;
		buf_appendf(&h, "Content-Type: %s", req->content_type);
		headers = curl_slist_append(headers, buf_str(&h));
		buf_free(&h);
	}
	if (req->registry_auth) {
		/* A credential: curl copies it; the copy here is wiped. */
		struct buf h = BUF_INIT;
		buf_appendf(&h, "X-Registry-Auth: %s", req->registry_auth);
		headers = curl_slist_append(headers, buf_str(&h));
		OPENSSL_cleanse(h.data, h.len);
		buf_free(&h);
	}
	if (strcmp(req->method, "GET") == 0) {
		/* the default */
	} else if (strcmp(req->method, "HEAD") == 0) {
		curl_easy_setopt(c->curl, CURLOPT_NOBODY, 1L);
	} else if (strcmp(req->method, "POST") == 0) {
		curl_easy_setopt(c->curl, CURLOPT_POST, 1L);
		if (req->source) {
			curl_easy_setopt(c->curl, CURLOPT_READFUNCTION, on_read);
			curl_easy_setopt(c->curl, CURLOPT_READDATA, t);
			headers = curl_slist_append(headers, "Transfer-Encoding: chunked");
		} else {
			/* /start refuses chunked or non-empty bodies: always send a length. */
			curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, req->body ? req->body : "");
			curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)(req->body ? req->body_len : 0));
		}
	} else if (strcmp(req->method, "PUT") == 0) {
		/* An in-memory body with the PUT verb (the archive endpoint). */
		curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, "PUT");
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, req->body ? req->body : "");
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)(req->body ? req->body_len : 0));
	} else {
		curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, req->method);
	}
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
	code = curl_easy_perform(c->curl);
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &t->status);
	if (code != CURLE_OK) {
		transport_error(c, code, t, err);
		goto out;
	}
	rc = 0;
out:
	curl_slist_free_all(headers);
	buf_free(&url);
	return rc;
}

int docker_perform(struct docker_client *c, const struct docker_request *req, long *status,
		   struct buf *error_body, struct cpactl_error *err)
{
	struct transfer t;
	int rc;

	memset(&t, 0, sizeof(t));
	t.error_body = error_body;
	rc = perform(c, req, 1, &t, err);
	if (status)
		*status = t.status;
	return rc;
}

/* Turns a non-2xx answer into an error with the engine's own message. */
static int engine_error(long status, const struct buf *body, const char *what,
			struct cpactl_error *err)
{
	json_t *j = body->len ? json_loadb(body->data, body->len, 0, NULL) : NULL;
	const char *msg = j ? json_string_value(json_object_get(j, "message")) : NULL;
	struct buf text = BUF_INIT;

	if (!msg && body->len) {
		/* Not JSON: quote at most one line of it. */
		size_t n = strcspn(buf_str(body), "\r\n");
		buf_append(&text, body->data, n > 300 ? 300 : n);
		msg = buf_str(&text);
	}
	if (status == 404 && what)
		error_set(err, ERR_NOT_FOUND, "no such %s%s%s", what, msg ? ": " : "", msg ? msg : "");
	else
		error_set(err, ERR_ENGINE, "the docker engine answered %ld%s%s", status, msg ? ": " : "",
			  msg ? msg : "");
	buf_free(&text);
	json_decref(j);
	return -1;
}

/* docker_call_json() with a deadline of its own (0: the client default). */
static int call_json_within(struct docker_client *c, const char *method, const char *path, json_t *body,
			    const char *what, long timeout_ms, json_t **out, long *status_out,
			    struct cpactl_error *err)
{
	struct docker_request req = { 0 };
	struct buf response = BUF_INIT, error_body = BUF_INIT;
	char *text = NULL;
	long status = 0;
	int rc = -1;

	if (out)
		*out = NULL;
	req.method = method;
	req.path = path;
	req.response = &response;
	req.timeout_ms = timeout_ms;
	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		if (!text) {
			error_set(err, ERR_NOMEM, "out of memory");
			goto out;
		}
		req.content_type = "application/json";
		req.body = text;
		req.body_len = strlen(text);
	}
	if (docker_perform(c, &req, &status, &error_body, err) < 0)
		goto out;
	if (status_out)
		*status_out = status;
	if ((status < 200 || status >= 300) && status != 304) {
		engine_error(status, &error_body, what, err);
		goto out;
	}
	if (out && response.len) {
		json_error_t jerr;
		*out = json_loadb(response.data, response.len, 0, &jerr);
		if (!*out) {
			error_set(err, ERR_ENGINE, "the docker engine's answer to '%s %s' is not valid JSON: %s",
				  method, path, jerr.text);
			goto out;
		}
	}
	rc = 0;
out:
	free(text);
	buf_free(&response);
	buf_free(&error_body);
	return rc;
}

int docker_call_json(struct docker_client *c, const char *method, const char *path,
		     json_t *body, const char *what, json_t **out, long *status_out,
		     struct cpactl_error *err)
{
	return call_json_within(c, method, path, body, what, 0, out, status_out, err);
}

/* --- connecting ---------------------------------------------------------- */

static int version_less(const char *a, const char *b)
{
	int amaj = 0, amin = 0, bmaj = 0, bmin = 0;
	sscanf(a, "%d.%d", &amaj, &amin);
	sscanf(b, "%d.%d", &bmaj, &bmin);
	return amaj != bmaj ? amaj < bmaj : amin < bmin;
}

static int negotiate(struct docker_client *c, struct cpactl_error *err)
{
	struct docker_request req = { 0 };
	struct transfer t;
	struct buf body = BUF_INIT;
	const char *pinned = getenv("DOCKER_API_VERSION");
	const char *engine;
	int rc = -1;

	memset(&t, 0, sizeof(t));
	t.error_body = &body;
	req.method = "GET";
	req.path = "/_ping";
	req.timeout_ms = 10000;
	if (perform(c, &req, 0, &t, err) < 0)
		goto out;
	/* Go's HTTP server answers plain HTTP on a TLS port with this 400. */
	if (t.status == 400 && !c->tls && strstr(buf_str(&body), "HTTPS server")) {
		error_set(err, ERR_ENGINE_UNREACHABLE,
			  "the docker engine at '%s' speaks TLS and cpactl spoke plain HTTP: set "
			  "DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH to the directory of its ca.pem, "
			  "cert.pem and key.pem",
			  c->host);
		goto out;
	}
	if (t.status != 200) {
		error_set(err, ERR_ENGINE_UNREACHABLE,
			  "'%s' answered %ld to /_ping: it does not look like a docker engine", c->host,
			  t.status);
		goto out;
	}
	if (pinned && *pinned) {
		snprintf(c->api_version, sizeof(c->api_version), "%s", pinned);
		rc = 0;
		goto out;
	}
	/* An engine without the header is older than any we support. */
	engine = t.api_version_header[0] ? t.api_version_header : "1.24";
	if (version_less(engine, DOCKER_MIN_API)) {
		error_set(err, ERR_ENGINE,
			  "the docker engine at '%s' speaks API %s; cpactl needs %s or later "
			  "(Docker 20.10): upgrade the engine",
			  c->host, engine, DOCKER_MIN_API);
		goto out;
	}
	snprintf(c->api_version, sizeof(c->api_version), "%s",
		 version_less(engine, DOCKER_MAX_API) ? engine : DOCKER_MAX_API);
	rc = 0;
out:
	buf_free(&body);
	return rc;
}

int docker_client_open(const char *host, struct docker_client **out, struct cpactl_error *err)
{
	struct docker_client *c;
	static int curl_ready;

	*out = NULL;
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
			return error_set(err, ERR_FAILED, "cannot initialise libcurl");
		curl_ready = 1;
	}
	if (!host || !*host)
		host = getenv("DOCKER_HOST");
	if (!host || !*host)
		host = DOCKER_DEFAULT_HOST;
	c = calloc(1, sizeof(*c));
	if (!c)
		return error_set(err, ERR_NOMEM, "out of memory");
	c->host = strdup(host);
	c->curl = curl_easy_init();
	if (!c->host || !c->curl) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto fail;
	}
	if (parse_host(c, host, err) < 0 || negotiate(c, err) < 0)
		goto fail;
	*out = c;
	return 0;
fail:
	docker_client_close(c);
	return -1;
}

void docker_client_close(struct docker_client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c->host);
	free(c->socket_path);
	free(c->base_url);
	free(c->remote_host);
	free(c->cert_dir);
	free(c->ca_file);
	free(c->cert_file);
	free(c->key_file);
	free(c);
}

/* --- containers ------------------------------------------------------------ */

/* Appends an engine path: prefix, then id escaped, then rest, as in
 * path_for(p, "/containers/", id, "/json").  The pieces are plain text, not
 * a format, so every format stays a literal the compiler checks. */
static int path_for(struct buf *p, const char *prefix, const char *id, const char *rest)
{
	char *e = docker_escape(id);
	int rc;

	if (!e)
		return -1;
	rc = buf_appendf(p, "%s%s%s", prefix, e, rest);
	free(e);
	return rc;
}

static int get_object(struct docker_client *c, const char *prefix, const char *id, const char *rest,
		      const char *what, json_t **out, struct cpactl_error *err)
{
	struct buf path = BUF_INIT, name = BUF_INIT;
	int rc;

	if (path_for(&path, prefix, id, rest) < 0 || buf_appendf(&name, "%s '%s'", what, id) < 0) {
		rc = error_set(err, ERR_NOMEM, "out of memory");
	} else {
		rc = docker_call_json(c, "GET", path.data, NULL, name.data, out, NULL, err);
	}
	buf_free(&path);
	buf_free(&name);
	return rc;
}

int docker_container_list(struct docker_client *c, json_t **out, struct cpactl_error *err)
{
	if (docker_call_json(c, "GET", "/containers/json?all=1", NULL, NULL, out, NULL, err) < 0)
		return -1;
	if (!json_is_array(*out)) {
		json_decref(*out);
		*out = NULL;
		return error_set(err, ERR_ENGINE, "the docker engine's container list is not an array");
	}
	return 0;
}

int docker_container_inspect(struct docker_client *c, const char *id, json_t **out,
			     struct cpactl_error *err)
{
	return get_object(c, "/containers/", id, "/json", "container", out, err);
}

int docker_container_stats(struct docker_client *c, const char *id, int one_shot, json_t **out,
			   struct cpactl_error *err)
{
	return get_object(c, "/containers/", id, one_shot ? "/stats?stream=false&one-shot=true" : "/stats?stream=false",
			  "container", out, err);
}

int docker_image_inspect(struct docker_client *c, const char *ref, json_t **out,
			 struct cpactl_error *err)
{
	return get_object(c, "/images/", ref, "/json", "image", out, err);
}

struct demux_target {
	struct buf *out;
	struct buf *errout;
	size_t max;
	struct muxstream mux;
	int tty;
};

static int append_bounded(struct buf *b, size_t max, const char *data, size_t len)
{
	if (!b || b->len >= max)
		return 0;
	if (len > max - b->len)
		len = max - b->len;
	return buf_append(b, data, len);
}

static int on_demuxed(void *ctx, enum mux_stream stream, const char *data, size_t len)
{
	struct demux_target *d = ctx;
	struct buf *b = stream == MUX_STDERR || stream == MUX_SYSTEMERR ? d->errout : d->out;
	return append_bounded(b, d->max, data, len);
}

static int demux_sink(void *ctx, const char *data, size_t len)
{
	struct demux_target *d = ctx;

	if (d->tty)
		return append_bounded(d->out, d->max, data, len);
	return muxstream_feed(&d->mux, data, len);
}

int docker_container_logs(struct docker_client *c, const char *id, int tail, int tty,
			  struct buf *out, struct cpactl_error *err)
{
	struct docker_request req = { 0 };
	struct demux_target d;
	struct buf path = BUF_INIT, error_body = BUF_INIT;
	char *e = docker_escape(id);
	long status = 0;
	int rc = -1;

	memset(&d, 0, sizeof(d));
	/* Logs of both streams go to one buffer in arrival order. */
	d.out = out;
	d.errout = out;
	d.max = (size_t)64 * 1024 * 1024;
	d.tty = tty;
	muxstream_init(&d.mux, on_demuxed, &d);
	if (!e || buf_appendf(&path, "/containers/%s/logs?stdout=1&stderr=1&tail=%d", e, tail) < 0) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	req.method = "GET";
	req.path = path.data;
	req.sink = demux_sink;
	req.sink_ctx = &d;
	if (docker_perform(c, &req, &status, &error_body, err) < 0)
		goto out;
	if (status != 200) {
		char name[300];
		snprintf(name, sizeof(name), "container '%s'", id);
		engine_error(status, &error_body, name, err);
		goto out;
	}
	if (!tty && muxstream_truncated(&d.mux)) {
		error_set(err, ERR_ENGINE, "the log stream of container '%s' ended in the middle of a frame", id);
		goto out;
	}
	rc = 0;
out:
	free(e);
	buf_free(&path);
	buf_free(&error_body);
	return rc;
}

/* One request to /containers/{id}/archive?path=PATH (plus `query`), set up
 * by the caller in `req` but for its path; any answer but 200 is an error. */
static int archive_call(struct docker_client *c, const char *id, const char *path, const char *query,
			struct docker_request *req, struct cpactl_error *err)
{
	struct buf url = BUF_INIT, error_body = BUF_INIT;
	char *eid = docker_escape(id), *epath = docker_escape(path);
	long status = 0;
	int rc = -1;

	if (!eid || !epath || buf_appendf(&url, "/containers/%s/archive?path=%s%s", eid, epath, query) < 0) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	req->path = url.data;
	if (docker_perform(c, req, &status, &error_body, err) < 0)
		goto out;
	if (status != 200) {
		char name[600];
		snprintf(name, sizeof(name), "path '%s' in container '%s'", path, id);
		engine_error(status, &error_body, name, err);
		goto out;
	}
	rc = 0;
out:
	free(eid);
	free(epath);
	buf_free(&url);
	buf_free(&error_body);
	return rc;
}

int docker_container_archive(struct docker_client *c, const char *id, const char *path,
			     docker_sink_fn sink, void *ctx, struct cpactl_error *err)
{
	struct docker_request req = { 0 };

	req.method = "GET";
	req.sink = sink;
	req.sink_ctx = ctx;
	req.timeout_ms = -1;
	return archive_call(c, id, path, "", &req, err);
}

int docker_container_put_archive(struct docker_client *c, const char *id, const char *dir, const char *tar,
				 size_t tar_len, struct cpactl_error *err)
{
	struct docker_request req = { 0 };

	req.method = "PUT";
	req.content_type = "application/x-tar";
	req.body = tar;
	req.body_len = tar_len;
	/* noOverwriteDirNonDir: a file never replaces a directory, nor the reverse. */
	return archive_call(c, id, dir, "&noOverwriteDirNonDir=true", &req, err);
}

/* POSTs to prefix, id escaped, rest, then arg escaped (when not NULL), as in
 * post_simple(c, "/containers/", id, "/rename?name=", name, ...). */
static int post_simple(struct docker_client *c, const char *prefix, const char *id, const char *rest,
		       const char *arg, json_t *body, const char *what, long timeout_ms, int missing_ok,
		       struct cpactl_error *err)
{
	struct buf path = BUF_INIT, name = BUF_INIT;
	struct docker_request req = { 0 };
	struct buf response = BUF_INIT, error_body = BUF_INIT;
	char *eid = docker_escape(id), *earg = arg ? docker_escape(arg) : NULL, *text = NULL;
	long status = 0;
	int rc = -1;

	if (!eid || (arg && !earg) || buf_appendf(&path, "%s%s%s%s", prefix, eid, rest, earg ? earg : "") < 0 ||
	    buf_appendf(&name, "%s '%s'", what, id) < 0) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	req.method = "POST";
	req.path = path.data;
	req.response = &response;
	req.timeout_ms = timeout_ms;
	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		req.content_type = "application/json";
		req.body = text;
		req.body_len = text ? strlen(text) : 0;
	}
	if (docker_perform(c, &req, &status, &error_body, err) < 0)
		goto out;
	if (status == 404 && missing_ok) {
		rc = 0;
		goto out;
	}
	if ((status < 200 || status >= 300) && status != 304) {
		engine_error(status, &error_body, name.data, err);
		goto out;
	}
	rc = 0;
out:
	free(eid);
	free(earg);
	free(text);
	buf_free(&path);
	buf_free(&name);
	buf_free(&response);
	buf_free(&error_body);
	return rc;
}

int docker_container_create(struct docker_client *c, const char *name, json_t *body, char **id,
			    struct cpactl_error *err)
{
	struct buf path = BUF_INIT;
	char *ename = name ? docker_escape(name) : NULL;
	json_t *answer = NULL;
	int rc = -1;

	*id = NULL;
	if ((name && !ename) || buf_appendf(&path, "/containers/create%s%s", name ? "?name=" : "", name ? ename : "") < 0) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (docker_call_json(c, "POST", path.data, body, "image", &answer, NULL, err) < 0)
		goto out;
	if (!json_is_string(json_object_get(answer, "Id"))) {
		error_set(err, ERR_ENGINE, "the engine created container '%s' without an id", name ? name : "");
		goto out;
	}
	*id = strdup(json_string_value(json_object_get(answer, "Id")));
	rc = *id ? 0 : error_set(err, ERR_NOMEM, "out of memory");
out:
	free(ename);
	buf_free(&path);
	json_decref(answer);
	return rc;
}

int docker_container_start(struct docker_client *c, const char *id, struct cpactl_error *err)
{
	return post_simple(c, "/containers/", id, "/start", NULL, NULL, "container", 60000, 0, err);
}

int docker_container_stop(struct docker_client *c, const char *id, int timeout_s, struct cpactl_error *err)
{
	char rest[32] = "/stop";
	/* The engine waits up to the stop timeout before SIGKILL: give the
	 * request that long and more. */
	long wait_ms = (timeout_s < 0 ? 330L : (long)timeout_s + 30L) * 1000L;

	if (timeout_s >= 0)
		snprintf(rest, sizeof(rest), "/stop?t=%d", timeout_s);
	return post_simple(c, "/containers/", id, rest, NULL, NULL, "container", wait_ms, 0, err);
}

int docker_container_rename(struct docker_client *c, const char *id, const char *name,
			    struct cpactl_error *err)
{
	return post_simple(c, "/containers/", id, "/rename?name=", name, NULL, "container", 30000, 0, err);
}

int docker_container_ensure_name(struct docker_client *c, const char *id, const char *name,
				 struct cpactl_error *err)
{
	json_t *inspect = NULL;
	const char *now;
	int rc;

	if (docker_container_inspect(c, id, &inspect, err) < 0)
		return -1;
	now = json_string_value(json_object_get(inspect, "Name"));
	if (now && now[0] == '/')
		now++;
	/* The engine refuses a rename to the current name. */
	if (now && strcmp(now, name) == 0)
		rc = 0;
	else
		rc = docker_container_rename(c, id, name, err) < 0 ? -1 : 1;
	json_decref(inspect);
	return rc;
}

int docker_container_remove(struct docker_client *c, const char *id, int force, int missing_ok,
			    struct cpactl_error *err)
{
	struct buf path = BUF_INIT, error_body = BUF_INIT, name = BUF_INIT;
	struct docker_request req = { 0 };
	char *eid = docker_escape(id);
	long status = 0;
	int rc = -1;

	if (!eid || buf_appendf(&path, "/containers/%s?force=%d&v=0", eid, force ? 1 : 0) < 0) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	req.method = "DELETE";
	req.path = path.data;
	req.timeout_ms = 60000;
	if (docker_perform(c, &req, &status, &error_body, err) < 0)
		goto out;
	if (status == 404 && missing_ok) {
		rc = 0;
		goto out;
	}
	if (status < 200 || status >= 300) {
		buf_appendf(&name, "container '%s'", id);
		engine_error(status, &error_body, name.data, err);
		goto out;
	}
	rc = 0;
out:
	free(eid);
	buf_free(&path);
	buf_free(&error_body);
	buf_free(&name);
	return rc;
}

int docker_container_set_restart(struct docker_client *c, const char *id, json_t *policy,
				 struct cpactl_error *err)
{
	json_t *body = json_pack("{s:O}", "RestartPolicy", policy);
	int rc = post_simple(c, "/containers/", id, "/update", NULL, body, "container", 30000, 0, err);
	json_decref(body);
	return rc;
}

int docker_network_connect(struct docker_client *c, const char *network, const char *id,
			   json_t *endpoint, struct cpactl_error *err)
{
	/* 20.10 rejects a null endpoint: send {} at least. */
	json_t *body = endpoint ? json_pack("{s:s,s:O}", "Container", id, "EndpointConfig", endpoint)
				: json_pack("{s:s,s:{}}", "Container", id, "EndpointConfig");
	int rc = post_simple(c, "/networks/", network, "/connect", NULL, body, "network", 30000, 0, err);
	json_decref(body);
	return rc;
}

/* --- images --------------------------------------------------------------- */

/* The engine's filters parameter for dangling images, {"dangling":["true"]}. */
#define DANGLING_FILTER "filters=%7B%22dangling%22%3A%5B%22true%22%5D%7D"

int docker_image_list(struct docker_client *c, int dangling_only, json_t **out, struct cpactl_error *err)
{
	const char *path = dangling_only ? "/images/json?" DANGLING_FILTER : "/images/json";

	if (docker_call_json(c, "GET", path, NULL, NULL, out, NULL, err) < 0)
		return -1;
	if (!json_is_array(*out)) {
		json_decref(*out);
		*out = NULL;
		return error_set(err, ERR_ENGINE, "the docker engine's image list is not an array");
	}
	return 0;
}

int docker_image_remove(struct docker_client *c, const char *ref, struct cpactl_error *err)
{
	struct buf path = BUF_INIT, name = BUF_INIT;
	struct cpactl_error e = CPACTL_ERROR_INIT;
	int rc = -1;

	if (path_for(&path, "/images/", ref, "?force=0&noprune=0") < 0 || buf_appendf(&name, "image '%s'", ref) < 0) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (docker_call_json(c, "DELETE", path.data, NULL, name.data, NULL, NULL, &e) < 0) {
		if (e.kind == ERR_NOT_FOUND) {
			rc = 0;
			goto out;
		}
		error_set(err, e.kind, "%s", e.message);
		goto out;
	}
	rc = 0;
out:
	buf_free(&path);
	buf_free(&name);
	return rc;
}

int docker_image_prune_dangling(struct docker_client *c, json_t **out, struct cpactl_error *err)
{
	/* Pruning walks every image: more than the default deadline. */
	if (call_json_within(c, "POST", "/images/prune?" DANGLING_FILTER, NULL, NULL, 300000, out, NULL, err) < 0)
		return -1;
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return error_set(err, ERR_ENGINE, "the docker engine's answer to an image prune is not a JSON object");
	}
	return 0;
}

struct progress_relay {
	docker_progress_fn progress;
	void *ctx;
};

static int relay_message(void *ctx, json_t *obj, const char *line, size_t len)
{
	struct progress_relay *r = ctx;
	(void)line;
	(void)len;
	if (obj && r->progress)
		r->progress(r->ctx, obj);
	return 0;
}

static int jsonstream_sink(void *ctx, const char *data, size_t len)
{
	return jsonstream_feed(ctx, data, len);
}

/* Runs a request whose answer is a JSON progress stream; fails on an HTTP
 * error, on an in-band error, and on a stream that ends without a message. */
static int json_stream_request(struct docker_client *c, struct docker_request *req,
			       const char *what, docker_progress_fn progress, void *ctx,
			       struct cpactl_error *err)
{
	struct progress_relay relay = { progress, ctx };
	struct jsonstream stream;
	struct buf error_body = BUF_INIT;
	long status = 0;
	int rc = -1;

	jsonstream_init(&stream, relay_message, &relay);
	req->sink = jsonstream_sink;
	req->sink_ctx = &stream;
	req->timeout_ms = -1;
	if (docker_perform(c, req, &status, &error_body, err) < 0)
		goto out;
	if (status < 200 || status >= 300) {
		/* `what` is an action ("pulling image 'x'"), not a thing: no "no such". */
		struct cpactl_error e = CPACTL_ERROR_INIT;
		engine_error(status, &error_body, NULL, &e);
		error_set(err, status == 404 ? ERR_NOT_FOUND : e.kind, "%s failed: %s", what, e.message);
		goto out;
	}
	jsonstream_finish(&stream);
	if (jsonstream_error(&stream)) {
		error_set(err, ERR_ENGINE, "%s failed: %s", what, jsonstream_error(&stream));
		goto out;
	}
	if (stream.overflow) {
		error_set(err, ERR_ENGINE, "%s failed: the engine sent a message over 1 MiB", what);
		goto out;
	}
	if (stream.objects == 0) {
		error_set(err, ERR_ENGINE, "%s failed: the engine's answer ended without a message", what);
		goto out;
	}
	rc = 0;
out:
	jsonstream_release(&stream);
	buf_free(&error_body);
	return rc;
}

/* Splits repo[:tag] / repo@digest; the tag is after the last ':' that comes
 * after the last '/', so "host:5000/repo" has no tag. */
static int split_ref(const char *ref, struct buf *repo, struct buf *tag)
{
	const char *at = strchr(ref, '@');
	const char *slash = strrchr(ref, '/');
	const char *colon = strrchr(ref, ':');

	if (at) {
		buf_append(repo, ref, (size_t)(at - ref));
		return buf_append_str(tag, at + 1);
	}
	if (colon && (!slash || colon > slash)) {
		buf_append(repo, ref, (size_t)(colon - ref));
		return buf_append_str(tag, colon + 1);
	}
	buf_append_str(repo, ref);
	return buf_append_str(tag, "latest");
}

int docker_image_tag(struct docker_client *c, const char *id, const char *ref, struct cpactl_error *err)
{
	struct buf repo = BUF_INIT, tag = BUF_INIT, path = BUF_INIT;
	char *eid = docker_escape(id), *erepo = NULL, *etag = NULL;
	int rc = -1;

	split_ref(ref, &repo, &tag);
	erepo = docker_escape(buf_str(&repo));
	etag = docker_escape(buf_str(&tag));
	if (!eid || !erepo || !etag || buf_appendf(&path, "/images/%s/tag?repo=%s&tag=%s", eid, erepo, etag) < 0) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	rc = docker_call_json(c, "POST", path.data, NULL, "image", NULL, NULL, err);
out:
	free(eid);
	free(erepo);
	free(etag);
	buf_free(&repo);
	buf_free(&tag);
	buf_free(&path);
	return rc;
}

int docker_image_pull(struct docker_client *c, const char *ref, const char *registry_auth, docker_progress_fn progress,
		      void *ctx, struct cpactl_error *err)
{
	struct buf repo = BUF_INIT, tag = BUF_INIT, path = BUF_INIT, what = BUF_INIT;
	struct docker_request req = { 0 };
	char *erepo = NULL, *etag = NULL;
	int rc = -1;

	split_ref(ref, &repo, &tag);
	erepo = docker_escape(buf_str(&repo));
	etag = docker_escape(buf_str(&tag));
	if (!erepo || !etag || buf_appendf(&path, "/images/create?fromImage=%s&tag=%s", erepo, etag) < 0 ||
	    buf_appendf(&what, "pulling image '%s'", ref) < 0) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	req.method = "POST";
	req.path = path.data;
	req.registry_auth = registry_auth;
	rc = json_stream_request(c, &req, what.data, progress, ctx, err);
out:
	free(erepo);
	free(etag);
	buf_free(&repo);
	buf_free(&tag);
	buf_free(&path);
	buf_free(&what);
	return rc;
}

int docker_image_save(struct docker_client *c, const char *ref, docker_sink_fn sink, void *ctx,
		      struct cpactl_error *err)
{
	struct docker_request req = { 0 };
	struct buf path = BUF_INIT, error_body = BUF_INIT;
	long status = 0;
	int rc = -1;

	if (path_for(&path, "/images/", ref, "/get") < 0) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	req.method = "GET";
	req.path = path.data;
	req.sink = sink;
	req.sink_ctx = ctx;
	req.timeout_ms = -1;
	if (docker_perform(c, &req, &status, &error_body, err) < 0)
		goto out;
	if (status != 200) {
		char name[300];
		snprintf(name, sizeof(name), "image '%s'", ref);
		engine_error(status, &error_body, name, err);
		goto out;
	}
	rc = 0;
out:
	buf_free(&path);
	buf_free(&error_body);
	return rc;
}

int docker_image_load(struct docker_client *c, docker_source_fn source, void *source_ctx,
		      docker_progress_fn progress, void *ctx, struct cpactl_error *err)
{
	struct docker_request req = { 0 };

	req.method = "POST";
	req.path = "/images/load?quiet=1";
	req.content_type = "application/x-tar";
	req.source = source;
	req.source_ctx = source_ctx;
	return json_stream_request(c, &req, "loading the image", progress, ctx, err);
}
