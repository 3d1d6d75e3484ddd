/*
 * bench/poller.c - measures the service gap of a CPA during an operation.
 *
 *   POLLER_KEY=KEY poller -p PORT [-h 127.0.0.1] [-i 5] [-c 50] [-t 500]
 *                         [-s STOPFILE] [-m 600] [-l LOG] [-S]
 *
 * Starts a GET http://HOST:PORT/v1/models with "Authorization: Bearer KEY" every
 * -i ms, each with a -c ms connect timeout and a -t ms total timeout, until
 * SIGTERM or SIGINT, until STOPFILE exists, or after -m seconds; then lets the
 * attempts in flight finish (at most -t ms) and prints its figures.
 *
 * Open loop by default: an attempt starts every -i ms whatever the earlier ones
 * are doing (up to 256 in flight).  That matters here: while a container starts,
 * docker-proxy already accepts connections but its dial to the container hangs,
 * so an attempt can sit there until its total timeout; a poller that waits for
 * each answer before the next (-S, "serial", closed loop) sees the service come
 * back only when that hung attempt gives up, so its gap can be overstated by up
 * to -t ms (seen here: 1160 ms serial where the service was back at ~650 ms).
 * -S is kept for comparison.
 *
 * An attempt is good when the answer is "HTTP/1.x 200" with its whole body
 * (Content-Length, else up to EOF).  Plain sockets, one connection per attempt
 * ("Connection: close"), closed with RST so nothing piles up in TIME_WAIT.
 *
 * Output, one "key=value" a line:
 *   mode, requests, good, failed, skipped (launches dropped with 256 in flight),
 *   failure_windows: runs of consecutive failed attempts, in the order they
 *     were started,
 *   failed_outside_gap: failed attempts that were over before the gap began
 *     (the last good answer) or started after it ended (the first good answer
 *     after it); "no failed request outside the gap" means 0 here.  The
 *     windows can be more than one while that is 0: in the last moments of a
 *     gap a few attempts may hang (docker-proxy's dial to a container whose
 *     network is not up yet) and fail after a younger attempt has succeeded,
 *   longest_gap_ms: the longest time between two good answers (by the time the
 *     answers arrived; the poller's start and stop count as bounds, so leading
 *     or trailing failures are not hidden), longest_gap_from / _to (wall clock,
 *     ms since the epoch: the last good answer before, the first after),
 *   duration_ms, start_wall,
 *   one "window=" line per failure window: first_start (wall clock ms), last_end,
 *     span_ms, the failed attempts and their kinds (refused, connect-timeout,
 *     reset, eof, timeout, http-NNN, other).
 * With -l LOG every attempt is also written there: "start end ok kind" (wall
 * clock ms since the epoch).
 *
 * The key comes from the environment (POLLER_KEY) rather than argv, so it does
 * not show in the process list; -k KEY also works.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum kind { K_OK, K_REFUSED, K_CONNECT_TIMEOUT, K_RESET, K_EOF, K_TIMEOUT, K_HTTP, K_OTHER, K_COUNT };
#define IN_FLIGHT (-1)
static const char *kind_names[K_COUNT] = { "ok", "refused", "connect-timeout", "reset", "eof", "timeout", "http", "other" };

struct attempt {
	double start;  /* monotonic ms */
	double end;
	int kind;
	int status;    /* HTTP status when one was read */
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static double mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static double wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static int kind_of_errno(int e)
{
	switch (e) {
	case ECONNREFUSED: return K_REFUSED;
	case ECONNRESET: case EPIPE: return K_RESET;
	default: return K_OTHER;
	}
}

/* One attempt in flight. */
struct flight {
	int fd;
	size_t index;        /* into the attempts */
	int connected;
	double connect_deadline, total_deadline;
	size_t sent, have, header_end;
	long content_length;
	int status;          /* from the status line, once read */
	char resp[8192];     /* a model list is far smaller; more is "other" */
};

static const char *g_request;
static size_t g_request_len;

/* Starts an attempt: IN_FLIGHT, else the kind it already failed with. */
static int flight_start(struct flight *f, const struct sockaddr_in *addr, double now, int connect_ms, int total_ms)
{
	struct linger lg = { 1, 0 };
	int one = 1;

	memset(f, 0, sizeof(*f));
	f->content_length = -1;
	f->connect_deadline = now + connect_ms;
	f->total_deadline = now + total_ms;
	f->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (f->fd < 0)
		return K_OTHER;
	/* RST on close: thousands of attempts must not pile up in TIME_WAIT. */
	setsockopt(f->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	setsockopt(f->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(f->fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0) {
		f->connected = 1;
		return IN_FLIGHT;
	}
	if (errno == EINPROGRESS)
		return IN_FLIGHT;
	return kind_of_errno(errno);
}

static short flight_events(const struct flight *f)
{
	return !f->connected || f->sent < g_request_len ? POLLOUT : POLLIN;
}

/* Makes progress on a ready attempt: IN_FLIGHT, else its kind (K_OK included). */
static int flight_step(struct flight *f, int *status)
{
	if (!f->connected) {
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(f->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			return K_OTHER;
		if (err)
			return kind_of_errno(err);
		f->connected = 1;
	}
	while (f->sent < g_request_len) {
		ssize_t n = send(f->fd, g_request + f->sent, g_request_len - f->sent, MSG_NOSIGNAL);
		if (n > 0) {
			f->sent += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return IN_FLIGHT;
		return kind_of_errno(errno);
	}
	for (;;) {
		ssize_t n;
		if (f->header_end && f->content_length >= 0 && f->have >= f->header_end + (size_t)f->content_length)
			break;
		n = recv(f->fd, f->resp + f->have, sizeof(f->resp) - 1 - f->have, 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return IN_FLIGHT;
			if (errno == EINTR)
				continue;
			return kind_of_errno(errno);
		}
		if (n == 0) {
			if (!f->header_end)
				return f->have ? K_OTHER : K_EOF;
			if (f->content_length >= 0 && f->have < f->header_end + (size_t)f->content_length)
				return K_EOF;
			break;
		}
		f->have += (size_t)n;
		f->resp[f->have] = 0;
		if (f->have >= sizeof(f->resp) - 1)
			return K_OTHER;
		if (!f->header_end) {
			char *e = strstr(f->resp, "\r\n\r\n");
			if (e) {
				const char *p;
				f->header_end = (size_t)(e - f->resp) + 4;
				if (strncmp(f->resp, "HTTP/1.", 7) != 0 || f->have < 12)
					return K_OTHER;
				f->status = atoi(f->resp + 9);
				for (p = f->resp; p < e; p++) {
					if ((p == f->resp || p[-1] == '\n') && strncasecmp(p, "content-length:", 15) == 0) {
						f->content_length = strtol(p + 15, NULL, 10);
						break;
					}
				}
			}
		}
	}
	*status = f->status;
	return f->status == 200 ? K_OK : K_HTTP;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return a < b ? -1 : a > b;
}

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: POLLER_KEY=KEY %s -p PORT [-h HOST] [-i INTERVAL_MS] [-c CONNECT_MS] [-t TOTAL_MS]\n"
		"       [-s STOPFILE] [-m MAX_SECONDS] [-l LOG] [-k KEY]\n",
		argv0);
	exit(2);
}

static long number(const char *arg, long min, long max, const char *argv0)
{
	char *end;
	long v = strtol(arg, &end, 10);
	if (!*arg || *end || v < min || v > max)
		usage(argv0);
	return v;
}

int main(int argc, char **argv)
{
	const char *host = "127.0.0.1", *stopfile = NULL, *logpath = NULL, *key = getenv("POLLER_KEY");
	long port = 0, interval = 5, connect_ms = 50, total_ms = 500, max_s = 600;
	int serial = 0, opt, request_len;
	struct attempt *a = NULL;
	struct flight *fl = NULL;
	struct pollfd *pfd = NULL;
	size_t n = 0, cap = 0, good = 0, failed = 0, windows = 0, outside = 0, skipped = 0, inflight = 0, max_inflight = 256, i;
	double *good_end = NULL;
	struct sockaddr_in addr;
	char request[1024];
	double start_mono, start_wall, stop_mono = 0, next, last_good, gap = 0, gap_from = 0, gap_to = 0;
	struct sigaction sa;
	int stopping = 0;
	FILE *log = NULL;

	while ((opt = getopt(argc, argv, "p:h:i:c:t:s:m:l:k:S")) != -1) {
		switch (opt) {
		case 'p': port = number(optarg, 1, 65535, argv[0]); break;
		case 'h': host = optarg; break;
		case 'i': interval = number(optarg, 1, 60000, argv[0]); break;
		case 'c': connect_ms = number(optarg, 1, 60000, argv[0]); break;
		case 't': total_ms = number(optarg, 1, 600000, argv[0]); break;
		case 's': stopfile = optarg; break;
		case 'm': max_s = number(optarg, 1, 86400, argv[0]); break;
		case 'l': logpath = optarg; break;
		case 'k': key = optarg; break;
		case 'S': serial = 1; break;
		default: usage(argv[0]);
		}
	}
	if (!port || !key || optind != argc)
		usage(argv[0]);
	if (serial)
		max_inflight = 1;
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
		fprintf(stderr, "poller: '%s' is not an IPv4 address\n", host);
		return 2;
	}
	request_len = snprintf(request, sizeof(request),
			       "GET /v1/models HTTP/1.1\r\nHost: %s:%ld\r\nAuthorization: Bearer %s\r\n"
			       "User-Agent: cpactl-bench-poller\r\nAccept: application/json\r\nConnection: close\r\n\r\n",
			       host, port, key);
	if (request_len <= 0 || (size_t)request_len >= sizeof(request)) {
		fprintf(stderr, "poller: the key is too long\n");
		return 2;
	}
	g_request = request;
	g_request_len = (size_t)request_len;
	if (logpath && !(log = fopen(logpath, "w"))) {
		fprintf(stderr, "poller: cannot write '%s': %s\n", logpath, strerror(errno));
		return 1;
	}
	fl = calloc(max_inflight, sizeof(*fl));
	pfd = calloc(max_inflight, sizeof(*pfd));
	if (!fl || !pfd) {
		fprintf(stderr, "poller: out of memory\n");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: poll returns EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	start_mono = mono_ms();
	start_wall = wall_ms();
	next = start_mono;
	/* Launch on the clock; on stop, launch no more and let those in flight finish. */
	while (!stopping || inflight) {
		double now = mono_ms(), wake;
		struct stat st;
		int r;

		if (!stopping && (stop_flag || now - start_mono > (double)max_s * 1000.0 ||
				  (stopfile && stat(stopfile, &st) == 0))) {
			stopping = 1;
			stop_mono = now;
		}
		if (!stopping && now >= next && !(serial && inflight)) {
			if (inflight == max_inflight) {
				skipped++;
			} else {
				struct flight *f = &fl[inflight];
				int kind;
				if (n == cap) {
					struct attempt *bigger;
					cap = cap ? cap * 2 : 4096;
					bigger = realloc(a, cap * sizeof(*a));
					if (!bigger) {
						fprintf(stderr, "poller: out of memory\n");
						return 1;
					}
					a = bigger;
				}
				a[n].start = now;
				a[n].status = 0;
				kind = flight_start(f, &addr, now, (int)connect_ms, (int)total_ms);
				if (kind != IN_FLIGHT) {
					if (f->fd >= 0)
						close(f->fd);
					a[n].end = mono_ms();
					a[n].kind = kind;
				} else {
					f->index = n;
					inflight++;
				}
				n++;
			}
			/* Open loop: the next one interval after this one, never a burst to catch up. */
			next = next + (double)interval > now ? next + (double)interval : now + (double)interval;
			continue;
		}
		/* Deadlines of those in flight. */
		for (i = 0; i < inflight;) {
			struct flight *f = &fl[i];
			int kind = 0;
			if (!f->connected && now >= f->connect_deadline)
				kind = K_CONNECT_TIMEOUT;
			else if (now >= f->total_deadline)
				kind = K_TIMEOUT;
			if (!kind) {
				i++;
				continue;
			}
			close(f->fd);
			a[f->index].end = now;
			a[f->index].kind = kind;
			fl[i] = fl[--inflight];
		}
		wake = stopping ? now + 1000.0 : (serial && inflight) ? now + 1000.0 : next;
		for (i = 0; i < inflight; i++) {
			double d = fl[i].connected ? fl[i].total_deadline : fl[i].connect_deadline;
			if (d < wake)
				wake = d;
			pfd[i].fd = fl[i].fd;
			pfd[i].events = flight_events(&fl[i]);
			pfd[i].revents = 0;
		}
		if (stopfile && !stopping && wake > now + 20.0)
			wake = now + 20.0; /* look for the stop file now and then */
		{
			/* poll() counts whole ms: wake up to 1 ms late rather than spin. */
			double left = wake - now;
			r = poll(pfd, inflight, left <= 0 ? 0 : (int)(left + 0.999));
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			perror("poller: poll");
			return 1;
		}
		if (r == 0)
			continue;
		/* Walk backwards: a finished one is replaced by the last of the array. */
		for (i = inflight; i-- > 0;) {
			int kind, status = 0;
			if (!pfd[i].revents)
				continue;
			kind = flight_step(&fl[i], &status);
			if (kind == IN_FLIGHT)
				continue;
			close(fl[i].fd);
			a[fl[i].index].end = mono_ms();
			a[fl[i].index].kind = kind;
			a[fl[i].index].status = status;
			fl[i] = fl[--inflight];
			pfd[i] = pfd[inflight];
		}
	}

	/* Gaps between good answers in the order they came, the start and the stop as bounds. */
	good_end = malloc((n + 1) * sizeof(*good_end));
	if (!good_end) {
		fprintf(stderr, "poller: out of memory\n");
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (a[i].kind == K_OK)
			good_end[good++] = a[i].end;
		else
			failed++;
	}
	qsort(good_end, good, sizeof(*good_end), cmp_double);
	last_good = start_mono;
	for (i = 0; i < good; i++) {
		if (good_end[i] - last_good > gap) {
			gap = good_end[i] - last_good;
			gap_from = last_good;
			gap_to = good_end[i];
		}
		last_good = good_end[i];
	}
	if (stop_mono - last_good > gap) {
		gap = stop_mono - last_good;
		gap_from = last_good;
		gap_to = stop_mono;
	}
	/* Failure windows: runs of failed attempts in the order they were started. */
	for (i = 0; i < n; i++) {
		if (a[i].kind == K_OK)
			continue;
		if (i == 0 || a[i - 1].kind == K_OK)
			windows++;
		/* Outside the gap: over before the last good answer, or started after the first good one. */
		if (a[i].end < gap_from || a[i].start > gap_to)
			outside++;
	}

	printf("mode=%s\n", serial ? "serial" : "open-loop");
	printf("requests=%zu\n", n);
	printf("good=%zu\n", good);
	printf("failed=%zu\n", failed);
	printf("skipped=%zu\n", skipped);
	printf("failure_windows=%zu\n", windows);
	printf("failed_outside_gap=%zu\n", outside);
	printf("longest_gap_ms=%.1f\n", gap);
	printf("longest_gap_from=%.3f\n", start_wall + (gap_from - start_mono));
	printf("longest_gap_to=%.3f\n", start_wall + (gap_to - start_mono));
	printf("duration_ms=%.1f\n", stop_mono - start_mono);
	printf("start_wall=%.3f\n", start_wall);
	for (i = 0; i < n; i++) {
		size_t j, counts[K_COUNT] = { 0 };
		int http_last = 0, k;
		double end = 0;

		if (a[i].kind == K_OK || (i > 0 && a[i - 1].kind != K_OK))
			continue;
		for (j = i; j < n && a[j].kind != K_OK; j++) {
			counts[a[j].kind]++;
			if (a[j].end > end)
				end = a[j].end;
			if (a[j].kind == K_HTTP)
				http_last = a[j].status;
		}
		printf("window=first_start %.3f last_end %.3f span_ms %.1f failed %zu%s kinds",
		       start_wall + (a[i].start - start_mono), start_wall + (end - start_mono), end - a[i].start, j - i,
		       j < n ? "" : " (open at stop)");
		for (k = 1; k < K_COUNT; k++) {
			if (!counts[k])
				continue;
			if (k == K_HTTP)
				printf(" http-%d:%zu", http_last, counts[k]);
			else
				printf(" %s:%zu", kind_names[k], counts[k]);
		}
		printf("\n");
	}
	if (log) {
		for (i = 0; i < n; i++)
			fprintf(log, "%.3f %.3f %d %s%s%.0d\n", start_wall + (a[i].start - start_mono),
				start_wall + (a[i].end - start_mono), a[i].kind == K_OK, kind_names[a[i].kind],
				a[i].kind == K_HTTP ? "-" : "", a[i].kind == K_HTTP ? a[i].status : 0);
		fclose(log);
	}
	free(good_end);
	free(fl);
	free(pfd);
	free(a);
	return 0;
}
