/*
 * fake_engine.c - see fake_engine.h.
 */
#include "fake_engine.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define FE_MAX_CONNS 64
#define FE_DEFAULT_HEADERS "Api-Version: 1.41\r\nServer: fake-engine\r\n"

struct fe_step {
	char *method;
	char *path_prefix;
	int status;
	char *content_type;
	char *body;
	size_t len;
	unsigned flags;
	size_t close_after;
	char *headers;
};

struct fe_conn {
	int fd;
	char *in;
	size_t in_len, in_cap;
};

struct fake_engine {
	char dir[64];
	char sock_path[100];
	char host[160];
	int listen_fd;
	int wake[2];
	pthread_t thread;
	int running;
	pthread_mutex_t lock;

	struct fe_step *steps;
	size_t step_count, step_next;

	struct fake_request *requests;
	size_t request_count;

	char *problems;
	size_t problems_len;

	struct fe_conn conns[FE_MAX_CONNS];

	/* Stateful mode (fake_engine_start_with): every request goes to the
	 * handler instead of the script, and is not recorded. */
	fake_engine_handler_fn handler;
	void *handler_ctx;
	void (*handler_free)(void *ctx);
};

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q) {
		fprintf(stderr, "fake engine: out of memory\n");
		abort();
	}
	return q;
}

static char *xstrdup(const char *s)
{
	char *p;
	if (!s)
		return NULL;
	p = strdup(s);
	if (!p)
		abort();
	return p;
}

static char *xmemdup(const char *s, size_t n)
{
	char *p = xrealloc(NULL, n + 1);
	if (n)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static void add_problem(struct fake_engine *fe, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add_problem(struct fake_engine *fe, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	n = strlen(line);
	fe->problems = xrealloc(fe->problems, fe->problems_len + n + 2);
	memcpy(fe->problems + fe->problems_len, line, n);
	fe->problems_len += n;
	fe->problems[fe->problems_len++] = '\n';
	fe->problems[fe->problems_len] = '\0';
}

/* --- writing ------------------------------------------------------------- */

static int write_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static int write_body_piece(int fd, const char *data, size_t len, int chunked)
{
	if (chunked) {
		char head[32];
		int n = snprintf(head, sizeof(head), "%zx\r\n", len);
		if (len == 0)
			return 0;
		if (write_all(fd, head, (size_t)n) < 0 || write_all(fd, data, len) < 0 ||
		    write_all(fd, "\r\n", 2) < 0)
			return -1;
		return 0;
	}
	return write_all(fd, data, len);
}

static const char *reason_phrase(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 409: return "Conflict";
	case 401: return "Unauthorized";
	case 500: return "Internal Server Error";
	default: return "Status";
	}
}

/* Sends the answer; returns 1 when the connection must be closed after it. */
static int send_answer(int fd, const struct fe_step *s)
{
	char head[2048];
	size_t send_len = s->len;
	int chunked = (s->flags & FE_CHUNKED) != 0;
	int close_conn = 0;
	int n;

	n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n%s", s->status, reason_phrase(s->status),
		     s->headers ? s->headers : FE_DEFAULT_HEADERS);
	if (s->content_type)
		n += snprintf(head + n, sizeof(head) - (size_t)n, "Content-Type: %s\r\n", s->content_type);
	if (chunked) {
		n += snprintf(head + n, sizeof(head) - (size_t)n, "Transfer-Encoding: chunked\r\n");
	} else if (s->flags & FE_NO_LENGTH) {
		n += snprintf(head + n, sizeof(head) - (size_t)n, "Connection: close\r\n");
		close_conn = 1;
	} else {
		n += snprintf(head + n, sizeof(head) - (size_t)n, "Content-Length: %zu\r\n", s->len);
	}
	n += snprintf(head + n, sizeof(head) - (size_t)n, "\r\n");
	if (write_all(fd, head, (size_t)n) < 0)
		return 1;
	if (s->flags & FE_CLOSE_AFTER) {
		if (s->close_after < send_len)
			send_len = s->close_after;
		close_conn = 1;
	}
	if (s->flags & FE_TINY_CHUNKS) {
		size_t off = 0, piece = 1;
		while (off < send_len) {
			size_t take = send_len - off < piece ? send_len - off : piece;
			if (write_body_piece(fd, s->body + off, take, chunked) < 0)
				return 1;
			off += take;
			piece = piece % 7 + 1;
			usleep(30);
		}
	} else if (send_len && write_body_piece(fd, s->body, send_len, chunked) < 0) {
		return 1;
	}
	if (close_conn)
		return 1;
	if (chunked && write_all(fd, "0\r\n\r\n", 5) < 0)
		return 1;
	return 0;
}

/* --- reading ------------------------------------------------------------- */

static const char *find_bytes(const char *hay, size_t hay_len, const char *needle)
{
	size_t n = strlen(needle);
	if (hay_len < n)
		return NULL;
	for (size_t i = 0; i + n <= hay_len; i++)
		if (memcmp(hay + i, needle, n) == 0)
			return hay + i;
	return NULL;
}

/* Value of header `name` in the block, copied into out; 0 if present. */
static int header_value(const char *headers, const char *name, char *out, size_t outlen)
{
	size_t n = strlen(name);
	const char *line = headers;

	while (line && *line) {
		const char *end = strstr(line, "\r\n");
		size_t len = end ? (size_t)(end - line) : strlen(line);
		if (len > n && strncasecmp(line, name, n) == 0 && line[n] == ':') {
			const char *v = line + n + 1;
			size_t vl;
			while (*v == ' ')
				v++;
			vl = (size_t)(line + len - v);
			if (vl >= outlen)
				vl = outlen - 1;
			memcpy(out, v, vl);
			out[vl] = '\0';
			return 0;
		}
		line = end ? end + 2 : NULL;
	}
	return -1;
}

/* Tries to parse one complete request from the buffer.  Returns the bytes it
 * used (the request is filled), 0 when more bytes are needed, -1 on garbage. */
static long parse_request(const char *in, size_t len, struct fake_request *r)
{
	const char *end = find_bytes(in, len, "\r\n\r\n");
	const char *sp1, *sp2, *line_end;
	char value[64];
	size_t head_len, pos;
	char *body = NULL;
	size_t body_len = 0;

	memset(r, 0, sizeof(*r));
	if (!end)
		return len > 65536 ? -1 : 0;
	head_len = (size_t)(end - in) + 4;
	line_end = find_bytes(in, head_len, "\r\n");
	sp1 = memchr(in, ' ', (size_t)(line_end - in));
	if (!sp1)
		return -1;
	sp2 = memchr(sp1 + 1, ' ', (size_t)(line_end - sp1 - 1));
	if (!sp2 || (size_t)(sp1 - in) >= sizeof(r->method))
		return -1;
	memcpy(r->method, in, (size_t)(sp1 - in));
	r->method[sp1 - in] = '\0';
	r->path = xmemdup(sp1 + 1, (size_t)(sp2 - sp1 - 1));
	r->headers = xmemdup(line_end + 2, (size_t)(end + 2 - (line_end + 2)));
	pos = head_len;
	if (header_value(r->headers, "Transfer-Encoding", value, sizeof(value)) == 0 &&
	    strcasecmp(value, "chunked") == 0) {
		r->chunked = 1;
		for (;;) {
			const char *nl = find_bytes(in + pos, len - pos, "\r\n");
			unsigned long size;
			char *hex_end;
			if (!nl)
				goto incomplete;
			size = strtoul(in + pos, &hex_end, 16);
			if (hex_end == in + pos)
				goto garbage;
			pos = (size_t)(nl - in) + 2;
			if (size == 0) {
				/* Optional trailers, then an empty line. */
				if (len - pos >= 2 && memcmp(in + pos, "\r\n", 2) == 0) {
					pos += 2;
					break;
				}
				nl = find_bytes(in + pos, len - pos, "\r\n\r\n");
				if (!nl)
					goto incomplete;
				pos = (size_t)(nl - in) + 4;
				break;
			}
			if (len - pos < size + 2)
				goto incomplete;
			body = xrealloc(body, body_len + size + 1);
			memcpy(body + body_len, in + pos, size);
			body_len += size;
			pos += size + 2;
		}
	} else if (header_value(r->headers, "Content-Length", value, sizeof(value)) == 0) {
		size_t cl = strtoul(value, NULL, 10);
		if (len - pos < cl)
			goto incomplete;
		body = xmemdup(in + pos, cl);
		body_len = cl;
		pos += cl;
	}
	if (!body)
		body = xmemdup("", 0);
	body[body_len] = '\0';
	r->body = body;
	r->body_len = body_len;
	return (long)pos;
incomplete:
	free(body);
	free(r->path);
	free(r->headers);
	memset(r, 0, sizeof(*r));
	return 0;
garbage:
	free(body);
	free(r->path);
	free(r->headers);
	memset(r, 0, sizeof(*r));
	return -1;
}

/* The path without a leading "/vX.Y". */
static const char *unversioned(const char *path)
{
	if (path[0] == '/' && path[1] == 'v' && path[2] >= '0' && path[2] <= '9') {
		const char *p = path + 2;
		while ((*p >= '0' && *p <= '9') || *p == '.')
			p++;
		if (*p == '/')
			return p;
	}
	return path;
}

static const struct fe_step auto_ping_step = {
	NULL, NULL, 200, (char *)"text/plain; charset=utf-8", (char *)"OK", 2, 0, 0, NULL,
};

/* Records the request, picks the answer, sends it.  Returns 1 to close. */
static int handle_request(struct fake_engine *fe, int fd, struct fake_request *r)
{
	const char *path = unversioned(r->path);
	struct fe_step reject;
	const struct fe_step *answer = NULL;
	char message[600];
	int is_ping = strncmp(path, "/_ping", 6) == 0;
	int rc;

	if (fe->handler) {
		struct fake_answer a;
		struct fe_step s;

		memset(&a, 0, sizeof(a));
		a.status = 500;
		fe->handler(fe->handler_ctx, r, path, &a);
		memset(&s, 0, sizeof(s));
		s.status = a.status;
		s.content_type = a.content_type[0] ? a.content_type : NULL;
		s.body = a.body ? a.body : (char *)"";
		s.len = a.body ? a.len : 0;
		s.headers = a.headers;
		rc = send_answer(fd, &s);
		free(a.body);
		free(a.headers);
		free(r->path);
		free(r->headers);
		free(r->body);
		memset(r, 0, sizeof(*r));
		return rc;
	}
	pthread_mutex_lock(&fe->lock);
	if (fe->step_next < fe->step_count) {
		const struct fe_step *s = &fe->steps[fe->step_next];
		int step_is_ping = s->path_prefix && strncmp(s->path_prefix, "/_ping", 6) == 0;
		if (is_ping && !step_is_ping) {
			answer = &auto_ping_step;
			r->auto_ping = 1;
		} else if ((s->method && strcmp(s->method, r->method) != 0) ||
			   (s->path_prefix && strncmp(path, s->path_prefix, strlen(s->path_prefix)) != 0)) {
			add_problem(fe, "request %zu: expected %s %s, got %s %s", fe->request_count,
				    s->method ? s->method : "*", s->path_prefix ? s->path_prefix : "*",
				    r->method, r->path);
		} else {
			answer = s;
			fe->step_next++;
		}
	} else if (is_ping) {
		answer = &auto_ping_step;
		r->auto_ping = 1;
	} else {
		add_problem(fe, "request %zu: no scripted answer for %s %s", fe->request_count, r->method,
			    r->path);
	}
	fe->requests = xrealloc(fe->requests, (fe->request_count + 1) * sizeof(*fe->requests));
	fe->requests[fe->request_count++] = *r;
	memset(r, 0, sizeof(*r));
	pthread_mutex_unlock(&fe->lock);

	if (!answer) {
		memset(&reject, 0, sizeof(reject));
		snprintf(message, sizeof(message), "{\"message\":\"fake engine: unexpected request\"}");
		reject.status = 500;
		reject.content_type = (char *)"application/json";
		reject.body = message;
		reject.len = strlen(message);
		answer = &reject;
	}
	rc = send_answer(fd, answer);
	return rc;
}

static void conn_close(struct fe_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->in);
	c->in = NULL;
	c->in_len = c->in_cap = 0;
}

/* Reads what is there and serves the complete requests; 1 when closed. */
static int conn_readable(struct fake_engine *fe, struct fe_conn *c)
{
	char tmp[16384];
	ssize_t n = recv(c->fd, tmp, sizeof(tmp), 0);

	if (n < 0 && errno == EINTR)
		return 0;
	if (n <= 0)
		return 1;
	if (c->in_len + (size_t)n + 1 > c->in_cap) {
		c->in_cap = (c->in_len + (size_t)n + 1) * 2;
		c->in = xrealloc(c->in, c->in_cap);
	}
	memcpy(c->in + c->in_len, tmp, (size_t)n);
	c->in_len += (size_t)n;
	for (;;) {
		struct fake_request r;
		long used = parse_request(c->in, c->in_len, &r);
		if (used == 0)
			return 0;
		if (used < 0) {
			pthread_mutex_lock(&fe->lock);
			add_problem(fe, "unparsable request bytes");
			pthread_mutex_unlock(&fe->lock);
			return 1;
		}
		memmove(c->in, c->in + used, c->in_len - (size_t)used);
		c->in_len -= (size_t)used;
		if (handle_request(fe, c->fd, &r))
			return 1;
	}
}

static void *serve(void *arg)
{
	struct fake_engine *fe = arg;

	for (;;) {
		struct pollfd p[FE_MAX_CONNS + 2];
		int map[FE_MAX_CONNS + 2];
		nfds_t np = 0;

		p[np].fd = fe->wake[0];
		p[np].events = POLLIN;
		map[np++] = -1;
		p[np].fd = fe->listen_fd;
		p[np].events = POLLIN;
		map[np++] = -2;
		for (int i = 0; i < FE_MAX_CONNS; i++) {
			if (fe->conns[i].fd < 0)
				continue;
			p[np].fd = fe->conns[i].fd;
			p[np].events = POLLIN;
			map[np++] = i;
		}
		if (poll(p, np, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents)
			break;
		for (nfds_t k = 2; k < np; k++) {
			if (!p[k].revents)
				continue;
			if (conn_readable(fe, &fe->conns[map[k]]))
				conn_close(&fe->conns[map[k]]);
		}
		if (p[1].revents & POLLIN) {
			int fd = accept(fe->listen_fd, NULL, NULL);
			int placed = 0;
			if (fd < 0)
				continue;
			for (int i = 0; i < FE_MAX_CONNS && !placed; i++) {
				if (fe->conns[i].fd < 0) {
					fe->conns[i].fd = fd;
					placed = 1;
				}
			}
			if (!placed)
				close(fd);
		}
	}
	return NULL;
}

/* --- the API --------------------------------------------------------------- */

int fake_engine_start(struct fake_engine **out)
{
	return fake_engine_start_with(out, NULL, NULL, NULL);
}

int fake_engine_start_with(struct fake_engine **out, fake_engine_handler_fn handler, void *ctx,
			   void (*free_ctx)(void *ctx))
{
	struct fake_engine *fe = calloc(1, sizeof(*fe));
	struct sockaddr_un addr;

	*out = NULL;
	if (!fe) {
		if (free_ctx)
			free_ctx(ctx);
		return -1;
	}
	fe->handler = handler;
	fe->handler_ctx = ctx;
	fe->handler_free = free_ctx;
	fe->listen_fd = -1;
	fe->wake[0] = fe->wake[1] = -1;
	for (int i = 0; i < FE_MAX_CONNS; i++)
		fe->conns[i].fd = -1;
	pthread_mutex_init(&fe->lock, NULL);
	snprintf(fe->dir, sizeof(fe->dir), "/tmp/fake-engine-XXXXXX");
	if (!mkdtemp(fe->dir)) {
		perror("fake engine: mkdtemp");
		fe->dir[0] = '\0';
		goto fail;
	}
	snprintf(fe->sock_path, sizeof(fe->sock_path), "%s/docker.sock", fe->dir);
	snprintf(fe->host, sizeof(fe->host), "unix://%s", fe->sock_path);
	fe->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fe->listen_fd < 0) {
		perror("fake engine: socket");
		goto fail;
	}
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", fe->sock_path);
	if (bind(fe->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(fe->listen_fd, 16) < 0) {
		perror("fake engine: bind/listen");
		goto fail;
	}
	if (pipe(fe->wake) < 0) {
		perror("fake engine: pipe");
		goto fail;
	}
	if (pthread_create(&fe->thread, NULL, serve, fe) != 0) {
		fprintf(stderr, "fake engine: pthread_create failed\n");
		goto fail;
	}
	fe->running = 1;
	*out = fe;
	return 0;
fail:
	fake_engine_stop(fe);
	return -1;
}

void fake_engine_stop(struct fake_engine *fe)
{
	if (!fe)
		return;
	if (fe->running) {
		ssize_t n = write(fe->wake[1], "x", 1);
		(void)n;
		pthread_join(fe->thread, NULL);
	}
	for (int i = 0; i < FE_MAX_CONNS; i++)
		conn_close(&fe->conns[i]);
	if (fe->listen_fd >= 0)
		close(fe->listen_fd);
	if (fe->wake[0] >= 0)
		close(fe->wake[0]);
	if (fe->wake[1] >= 0)
		close(fe->wake[1]);
	if (fe->sock_path[0])
		unlink(fe->sock_path);
	if (fe->dir[0])
		rmdir(fe->dir);
	for (size_t i = 0; i < fe->step_count; i++) {
		struct fe_step *s = &fe->steps[i];
		free(s->method);
		free(s->path_prefix);
		free(s->content_type);
		free(s->body);
		free(s->headers);
	}
	free(fe->steps);
	for (size_t i = 0; i < fe->request_count; i++) {
		free(fe->requests[i].path);
		free(fe->requests[i].headers);
		free(fe->requests[i].body);
	}
	free(fe->requests);
	free(fe->problems);
	/* After the join: the handler's state is no longer in use. */
	if (fe->handler_free)
		fe->handler_free(fe->handler_ctx);
	pthread_mutex_destroy(&fe->lock);
	free(fe);
}

void *fake_engine_handler_ctx(const struct fake_engine *fe)
{
	return fe->handler_ctx;
}

const char *fake_engine_host(const struct fake_engine *fe)
{
	return fe->host;
}

const char *fake_engine_socket_path(const struct fake_engine *fe)
{
	return fe->sock_path;
}

void fake_engine_expect(struct fake_engine *fe, const char *method, const char *path_prefix,
			int status, const char *content_type, const void *body, size_t len,
			unsigned flags)
{
	struct fe_step *s;

	if (body && len == (size_t)-1)
		len = strlen(body);
	if (!body)
		len = 0;
	pthread_mutex_lock(&fe->lock);
	fe->steps = xrealloc(fe->steps, (fe->step_count + 1) * sizeof(*fe->steps));
	s = &fe->steps[fe->step_count++];
	memset(s, 0, sizeof(*s));
	s->method = xstrdup(method);
	s->path_prefix = xstrdup(path_prefix);
	s->status = status;
	s->content_type = xstrdup(content_type);
	s->body = xmemdup(body ? body : "", len);
	s->len = len;
	s->flags = flags;
	pthread_mutex_unlock(&fe->lock);
}

void fake_engine_close_after(struct fake_engine *fe, size_t body_bytes)
{
	pthread_mutex_lock(&fe->lock);
	if (fe->step_count) {
		fe->steps[fe->step_count - 1].flags |= FE_CLOSE_AFTER;
		fe->steps[fe->step_count - 1].close_after = body_bytes;
	}
	pthread_mutex_unlock(&fe->lock);
}

void fake_engine_headers(struct fake_engine *fe, const char *headers)
{
	pthread_mutex_lock(&fe->lock);
	if (fe->step_count) {
		free(fe->steps[fe->step_count - 1].headers);
		fe->steps[fe->step_count - 1].headers = xstrdup(headers);
	}
	pthread_mutex_unlock(&fe->lock);
}

size_t fake_engine_pending(struct fake_engine *fe)
{
	size_t n;
	pthread_mutex_lock(&fe->lock);
	n = fe->step_count - fe->step_next;
	pthread_mutex_unlock(&fe->lock);
	return n;
}

const char *fake_engine_problems(struct fake_engine *fe)
{
	const char *p;
	pthread_mutex_lock(&fe->lock);
	p = fe->problems ? fe->problems : "";
	pthread_mutex_unlock(&fe->lock);
	return p;
}

size_t fake_engine_request_count(struct fake_engine *fe)
{
	size_t n;
	pthread_mutex_lock(&fe->lock);
	n = fe->request_count;
	pthread_mutex_unlock(&fe->lock);
	return n;
}

const struct fake_request *fake_engine_request(struct fake_engine *fe, size_t i)
{
	const struct fake_request *r = NULL;
	pthread_mutex_lock(&fe->lock);
	if (i < fe->request_count)
		r = &fe->requests[i];
	pthread_mutex_unlock(&fe->lock);
	return r;
}

const struct fake_request *fake_engine_find(struct fake_engine *fe, const char *method,
					    const char *path_part)
{
	const struct fake_request *r = NULL;
	pthread_mutex_lock(&fe->lock);
	for (size_t i = 0; i < fe->request_count && !r; i++) {
		if (method && strcmp(fe->requests[i].method, method) != 0)
			continue;
		if (path_part && !strstr(fe->requests[i].path, path_part))
			continue;
		r = &fe->requests[i];
	}
	pthread_mutex_unlock(&fe->lock);
	return r;
}

void fake_mux_frame(char **buf, size_t *len, int stream, const void *payload, size_t n)
{
	unsigned char head[8] = { (unsigned char)stream, 0, 0, 0,
				  (unsigned char)(n >> 24), (unsigned char)(n >> 16),
				  (unsigned char)(n >> 8), (unsigned char)n };
	*buf = xrealloc(*buf, *len + 8 + n);
	memcpy(*buf + *len, head, 8);
	if (n)
		memcpy(*buf + *len + 8, payload, n);
	*len += 8 + n;
}
