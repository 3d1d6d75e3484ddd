/*
 * fake_cpa_http.c - see fake_cpa_http.h.
 *
 * One request per connection (answers say "Connection: close"), served on
 * the listener's own thread: probes are few and small, and a stop must
 * leave the port free at once, so nothing outlives fake_cpa_stop().
 * A ccp listener answers like tests/fixtures/fakeccp.c.
 */
#include "fake_cpa_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct fake_cpa {
	int listen_fd;
	int wake[2];
	int port;
	int err500;
	int ccp;             /* answers like claude-code-proxy */
	int unhealthy;       /* ccp: /health says 503 unhealthy */
	char client_key[512]; /* ccp: ANTHROPIC_API_KEY at start ("" : any key) */
	char version[64];
	char config_path[4096];
	pthread_t thread;
};

int fake_cpa_first_key(const char *text, char *out, size_t len)
{
	const char *p = text;
	int in_keys = 0;

	/* Enough YAML for the fixtures: "api-keys:" then "  - value" items. */
	while (p && *p) {
		const char *end = strchr(p, '\n');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		const char *s = p;

		if (in_keys) {
			while (s < p + n && *s == ' ')
				s++;
			if (s < p + n && *s == '-') {
				const char *v = s + 1, *e = p + n;
				while (v < e && *v == ' ')
					v++;
				while (e > v && (e[-1] == ' ' || e[-1] == '\r'))
					e--;
				if (e - v >= 2 && (*v == '"' || *v == '\'') && e[-1] == *v) {
					v++;
					e--;
				}
				if ((size_t)(e - v) >= len || e == v)
					return -1;
				memcpy(out, v, (size_t)(e - v));
				out[e - v] = '\0';
				return 0;
			}
			if (n && s != p + n)
				in_keys = 0;
		}
		if (strncmp(p, "api-keys:", 9) == 0)
			in_keys = 1;
		p = end ? end + 1 : NULL;
	}
	return -1;
}

static int send_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* CPA names its version only in the answers of its management middleware,
 * before the key check (internal/api/handlers/management/handler.go:267). */
static void respond_as(struct fake_cpa *f, int fd, int code, const char *body, int management)
{
	char head[512], version[160] = "";
	int n;

	if (management)
		snprintf(version, sizeof(version), "X-CPA-VERSION: %s\r\nX-CPA-COMMIT: fake\r\n", f->version);
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d %s\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: %zu\r\n"
		     "%sConnection: close\r\n\r\n",
		     code, code == 200 ? "OK" : code == 401 ? "Unauthorized" : code == 404 ? "Not Found"
										  : "Internal Server Error",
		     strlen(body), version);
	if (send_all(fd, head, (size_t)n) == 0)
		send_all(fd, body, strlen(body));
}

static void respond(struct fake_cpa *f, int fd, int code, const char *body)
{
	respond_as(f, fd, code, body, 0);
}

/* The key production expects now: the config file as it is on disk. */
static int current_key(struct fake_cpa *f, char *out, size_t len)
{
	FILE *fp = fopen(f->config_path, "r");
	char *text;
	size_t n;
	int rc;

	if (!fp)
		return -1;
	text = malloc(1 << 20);
	if (!text) {
		fclose(fp);
		return -1;
	}
	n = fread(text, 1, (1 << 20) - 1, fp);
	text[n] = '\0';
	fclose(fp);
	rc = fake_cpa_first_key(text, out, len);
	memset(text, 0, n);
	free(text);
	return rc;
}

/* As uvicorn answers for fakeccp.c: no version header, HEAD without a body. */
static void ccp_respond(int fd, int head, int code, const char *body)
{
	char hdr[512];
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 %d %s\r\nserver: uvicorn\r\ncontent-type: application/json\r\ncontent-length: "
			 "%zu\r\nconnection: close\r\n\r\n",
			 code, code == 200 ? "OK" : code == 401 ? "Unauthorized" : code == 404 ? "Not Found"
							 : code == 405 ? "Method Not Allowed"
							 : code == 503 ? "Service Unavailable"
								       : "Internal Server Error",
			 strlen(body));
	if (send_all(fd, hdr, (size_t)n) == 0 && !head)
		send_all(fd, body, strlen(body));
}

/* The value of header `name` (with its ": ") in the header block, trimmed, into out ("" when absent). */
static void header_of(const char *req, const char *name, char *out, size_t len)
{
	size_t n = strlen(name);

	out[0] = '\0';
	for (const char *h = strstr(req, "\r\n"); h && h[2] != '\r'; h = strstr(h + 2, "\r\n")) {
		if (strncasecmp(h + 2, name, n) == 0) {
			const char *v = h + 2 + n, *e = strstr(v, "\r\n");
			while (*v == ' ' || *v == '\t')
				v++;
			while (e && e > v && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			if (e && (size_t)(e - v) < len) {
				memcpy(out, v, (size_t)(e - v));
				out[e - v] = '\0';
			}
			return;
		}
	}
}

/* One request as fakeccp.c answers it; `req` holds the header block (and
 * what came of the body), `len` bytes. */
static void ccp_serve(struct fake_cpa *f, int fd, char *req, size_t len)
{
	char method[16] = "", target[1024] = "", key[512], auth[512], body[512], ts[40], clen_s[32];
	const char *end = strstr(req, "\r\n\r\n");
	size_t have = len - (size_t)(end + 4 - req);
	long clen;
	int get, head;
	struct timespec now;
	struct tm tm;

	if (sscanf(req, "%15s %1023s", method, target) != 2)
		return;
	target[strcspn(target, "?")] = '\0';
	header_of(req, "Content-Length:", clen_s, sizeof(clen_s));
	clen = atol(clen_s);
	/* The (small) body drained, so that the close sends no RST. */
	while (clen > 0 && (long)have < clen && clen < (1 << 20)) {
		struct pollfd p = { fd, POLLIN, 0 };
		char sink[4096];
		ssize_t n;
		if (poll(&p, 1, 1000) <= 0 || (n = recv(fd, sink, sizeof(sink), 0)) <= 0)
			break;
		have += (size_t)n;
	}
	get = strcmp(method, "GET") == 0;
	head = strcmp(method, "HEAD") == 0;
	if (strcmp(target, "/health") == 0 && (get || head)) {
		clock_gettime(CLOCK_REALTIME, &now);
		localtime_r(&now.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		if (f->unhealthy) {
			snprintf(body, sizeof(body),
				 "{\"status\":\"unhealthy\",\"timestamp\":\"%s.%06ld\",\"error\":\"upstream not "
				 "configured\"}",
				 ts, now.tv_nsec / 1000);
			ccp_respond(fd, head, 503, body);
			return;
		}
		snprintf(body, sizeof(body),
			 "{\"status\":\"healthy\",\"timestamp\":\"%s.%06ld\",\"openai_api_configured\":true,"
			 "\"api_key_valid\":true,\"client_api_key_validation\":%s}",
			 ts, now.tv_nsec / 1000, f->client_key[0] ? "true" : "false");
		ccp_respond(fd, head, 200, body);
	} else if (strcmp(target, "/") == 0 && (get || head)) {
		snprintf(body, sizeof(body), "{\"message\":\"Claude-to-OpenAI API Proxy %s\",\"status\":\"running\"}",
			 f->version);
		ccp_respond(fd, head, 200, body);
	} else if ((strcmp(target, "/v1/messages") == 0 || strcmp(target, "/v1/messages/count_tokens") == 0) &&
		   strcmp(method, "POST") == 0) {
		int count = strcmp(target, "/v1/messages/count_tokens") == 0;
		header_of(req, "x-api-key:", key, sizeof(key));
		header_of(req, "Authorization:", auth, sizeof(auth));
		if (!key[0] && strncasecmp(auth, "Bearer ", 7) == 0)
			memmove(key, auth + 7, strlen(auth + 7) + 1);
		if (f->client_key[0] && strcmp(key, f->client_key) != 0)
			ccp_respond(fd, 0, 401,
				    "{\"detail\":\"Invalid API key. Please provide a valid Anthropic API key.\"}");
		else if (count) /* answered locally, src/api/endpoints.py */
			ccp_respond(fd, 0, 200, "{\"input_tokens\":12}");
		else
			ccp_respond(fd, 0, 200,
				    "{\"id\":\"msg_fakeccp0001\",\"type\":\"message\",\"role\":\"assistant\",\"model\":"
				    "\"gpt-4o\",\"content\":[{\"type\":\"text\",\"text\":\"Hello from the fake "
				    "claude-code-proxy.\"}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,"
				    "\"usage\":{\"input_tokens\":3,\"output_tokens\":8}}");
		memset(key, 0, sizeof(key));
		memset(auth, 0, sizeof(auth));
	} else if (strcmp(target, "/v1/messages") == 0) {
		ccp_respond(fd, head, 405, "{\"detail\":\"Method Not Allowed\"}");
	} else {
		ccp_respond(fd, head, 404, "{\"detail\":\"Not Found\"}");
	}
}

static void serve_one(struct fake_cpa *f, int fd)
{
	char req[8192], key[512], want[512];
	size_t len = 0;
	const char *auth, *sp, *line_end;

	/* The whole header block, within a short deadline. */
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;
		if (poll(&p, 1, 2000) <= 0)
			return;
		n = recv(fd, req + len, sizeof(req) - 1 - len, 0);
		if (n <= 0)
			return;
		len += (size_t)n;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
		if (len >= sizeof(req) - 1)
			return;
	}
	if (f->ccp) {
		ccp_serve(f, fd, req, len);
		memset(req, 0, len);
		return;
	}
	if (f->err500) {
		respond(f, fd, 500, "{\"error\":\"internal\"}");
		return;
	}
	sp = strchr(req, ' ');
	if (sp && strncmp(sp + 1, "/v0/management/", 15) == 0) {
		/* A keyless request from the host itself: 401, with the headers. */
		respond_as(f, fd, 401, "{\"error\":\"missing management key\"}", 1);
		return;
	}
	if (!sp || strncmp(sp + 1, "/v1/models", 10) != 0 || (sp[11] != ' ' && sp[11] != '?')) {
		respond(f, fd, 404, "{\"error\":\"not found\"}");
		return;
	}
	key[0] = '\0';
	for (auth = strstr(req, "\r\n"); auth; auth = strstr(auth + 2, "\r\n")) {
		if (strncasecmp(auth + 2, "Authorization: Bearer ", 22) == 0) {
			line_end = strstr(auth + 24, "\r\n");
			if (line_end && (size_t)(line_end - (auth + 24)) < sizeof(key)) {
				memcpy(key, auth + 24, (size_t)(line_end - (auth + 24)));
				key[line_end - (auth + 24)] = '\0';
			}
			break;
		}
	}
	if (!key[0]) {
		respond(f, fd, 401, "{\"error\":\"Missing API key\"}");
		return;
	}
	if (current_key(f, want, sizeof(want)) < 0 || strcmp(want, key) != 0) {
		respond(f, fd, 401, "{\"error\":\"Invalid API key\"}");
		return;
	}
	respond(f, fd, 200, "{\"object\":\"list\",\"data\":[{\"id\":\"gpt-x\",\"object\":\"model\"}]}");
}

static void *serve(void *arg)
{
	struct fake_cpa *f = arg;

	for (;;) {
		struct pollfd p[2] = { { f->wake[0], POLLIN, 0 }, { f->listen_fd, POLLIN, 0 } };
		int fd;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents)
			break;
		fd = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		serve_one(f, fd);
		close(fd);
	}
	return NULL;
}

/* Binds and starts the thread of a filled f; NULL (f freed) when it cannot. */
static struct fake_cpa *start(struct fake_cpa *f, int port)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int one = 1, saved;

	f->listen_fd = -1;
	f->wake[0] = f->wake[1] = -1;
	f->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->listen_fd < 0)
		goto fail;
	/* A port given back by a stopped container is reused at once, as
	 * docker-proxy does: its old connections may linger in TIME_WAIT. */
	setsockopt(f->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(f->listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(f->listen_fd, 64) < 0 ||
	    getsockname(f->listen_fd, (struct sockaddr *)&a, &alen) < 0)
		goto fail;
	f->port = ntohs(a.sin_port);
	if (pipe2(f->wake, O_CLOEXEC) < 0)
		goto fail;
	if (pthread_create(&f->thread, NULL, serve, f) != 0) {
		errno = EAGAIN;
		goto fail;
	}
	return f;
fail:
	saved = errno;
	if (f->listen_fd >= 0)
		close(f->listen_fd);
	if (f->wake[0] >= 0)
		close(f->wake[0]);
	if (f->wake[1] >= 0)
		close(f->wake[1]);
	memset(f->client_key, 0, sizeof(f->client_key));
	free(f);
	errno = saved;
	return NULL;
}

struct fake_cpa *fake_cpa_start(int port, const char *version, const char *config_path, int err500)
{
	struct fake_cpa *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->err500 = err500;
	snprintf(f->version, sizeof(f->version), "%s", version ? version : "");
	snprintf(f->config_path, sizeof(f->config_path), "%s", config_path ? config_path : "");
	return start(f, port);
}

struct fake_cpa *fake_ccp_start(int port, const char *version, const char *client_key, int unhealthy)
{
	struct fake_cpa *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->ccp = 1;
	f->unhealthy = unhealthy;
	snprintf(f->version, sizeof(f->version), "%s", version ? version : "");
	snprintf(f->client_key, sizeof(f->client_key), "%s", client_key ? client_key : "");
	return start(f, port);
}

int fake_cpa_port(const struct fake_cpa *f)
{
	return f->port;
}

void fake_cpa_stop(struct fake_cpa *f)
{
	ssize_t n;

	if (!f)
		return;
	n = write(f->wake[1], "x", 1);
	(void)n;
	pthread_join(f->thread, NULL);
	/* shutdown, not only close: a process forked a moment ago may still
	 * hold a copy of the descriptor (the test forks its cases while this
	 * thread serves), and a close alone would leave the port listening
	 * there, taken for the next container that publishes it. */
	shutdown(f->listen_fd, SHUT_RDWR);
	close(f->listen_fd);
	close(f->wake[0]);
	close(f->wake[1]);
	memset(f->client_key, 0, sizeof(f->client_key));
	free(f);
}
