/*
 * bench/poller.c - measures the service gap of a CPA during an operation.
 *
 *   POLLER_KEY=KEY poller -p PORT [-h 127.0.0.1] [-i 5] [-c 50] [-t 500]
 *                         [-s STOPFILE] [-m 600] [-l LOG]
 *
 * GETs http://HOST:PORT/v1/models with "Authorization: Bearer KEY" every -i ms
 * (an attempt starts at most every -i ms; one that took longer is followed at
 * once), with a -c ms connect timeout and a -t ms total timeout, until SIGTERM
 * or SIGINT, until STOPFILE exists, or after -m seconds.  An attempt is good
 * when the answer is "HTTP/1.x 200" with its whole body (Content-Length, else
 * up to EOF).  Plain sockets, one connection per attempt ("Connection: close").
 *
 * On stop it prints, one "key=value" a line:
 *   requests, good, failed, failure_windows (runs of consecutive failed
 *   attempts), longest_gap_ms (the longest time between two good answers,
 *   counting the poller's start and stop as bounds, so trailing or leading
 *   failures are not hidden), longest_gap_from / longest_gap_to (wall clock,
 *   ms since the epoch), then one "window=" line per failure window:
 *   start and end (wall clock ms of the first failed attempt's start and of
 *   the next good answer), the failed attempts and their kinds (refused,
 *   connect-timeout, reset, eof, timeout, http-NNN, other).
 * With -l LOG every attempt is also written there: start_ms end_ms ok kind
 * (wall clock, ms since the epoch).
 *
 * The key is read from the environment (POLLER_KEY) rather than argv so it
 * does not show in the process list; -k KEY also works.
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

/* Waits for `events` on fd until the monotonic deadline; 1 ready, 0 timeout, -1 error/signal. */
static int wait_fd(int fd, short events, double deadline)
{
	for (;;) {
		double left = deadline - mono_ms();
		struct pollfd p = { .fd = fd, .events = events };
		int r;
		if (left <= 0)
			return 0;
		r = poll(&p, 1, (int)(left + 0.999));
		if (r > 0)
			return 1;
		if (r == 0)
			continue; /* recheck the deadline (poll rounds) */
		if (errno == EINTR && !stop_flag)
			continue;
		return -1;
	}
}

static int kind_of_errno(int e)
{
	switch (e) {
	case ECONNREFUSED: return K_REFUSED;
	case ECONNRESET: case EPIPE: return K_RESET;
	default: return K_OTHER;
	}
}

/* Returns the kind; -1 if interrupted by a stop signal (not recorded). */
static int attempt_once(const struct sockaddr_in *addr, const char *request, size_t request_len,
			int connect_ms, int total_ms, int *status)
{
	static char resp[256 * 1024];
	double t0 = mono_ms(), total_deadline = t0 + total_ms, connect_deadline = t0 + connect_ms;
	struct linger lg = { 1, 0 };
	size_t have = 0, sent = 0;
	int fd, r, kind = K_OTHER, one = 1;
	long content_length = -1;
	size_t header_end = 0;

	*status = 0;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return K_OTHER;
	/* RST on close: thousands of attempts must not pile up in TIME_WAIT. */
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0) {
		int err = 0;
		socklen_t len = sizeof(err);
		if (errno != EINPROGRESS) {
			kind = kind_of_errno(errno);
			goto out;
		}
		r = wait_fd(fd, POLLOUT, connect_deadline < total_deadline ? connect_deadline : total_deadline);
		if (r < 0 && stop_flag) {
			kind = -1;
			goto out;
		}
		if (r == 0) {
			kind = K_CONNECT_TIMEOUT;
			goto out;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
			kind = kind_of_errno(err);
			goto out;
		}
	}
	while (sent < request_len) {
		ssize_t n = send(fd, request + sent, request_len - sent, MSG_NOSIGNAL);
		if (n > 0) {
			sent += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			r = wait_fd(fd, POLLOUT, total_deadline);
			if (r < 0 && stop_flag) {
				kind = -1;
				goto out;
			}
			if (r <= 0) {
				kind = K_TIMEOUT;
				goto out;
			}
			continue;
		}
		kind = kind_of_errno(errno);
		goto out;
	}
	for (;;) {
		ssize_t n;
		if (header_end && content_length >= 0 && have >= header_end + (size_t)content_length)
			break;
		r = wait_fd(fd, POLLIN, total_deadline);
		if (r < 0 && stop_flag) {
			kind = -1;
			goto out;
		}
		if (r <= 0) {
			kind = K_TIMEOUT;
			goto out;
		}
		n = recv(fd, resp + have, sizeof(resp) - 1 - have, 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				continue;
			kind = kind_of_errno(errno);
			goto out;
		}
		if (n == 0) {
			if (!header_end) {
				kind = have ? K_OTHER : K_EOF;
				goto out;
			}
			if (content_length >= 0 && have < header_end + (size_t)content_length) {
				kind = K_EOF;
				goto out;
			}
			break;
		}
		have += (size_t)n;
		resp[have] = 0;
		if (have >= sizeof(resp) - 1) {
			kind = K_OTHER; /* far larger than a model list */
			goto out;
		}
		if (!header_end) {
			char *e = strstr(resp, "\r\n\r\n");
			if (e) {
				const char *p;
				header_end = (size_t)(e - resp) + 4;
				if (strncmp(resp, "HTTP/1.", 7) != 0 || have < 12) {
					kind = K_OTHER;
					goto out;
				}
				*status = atoi(resp + 9);
				for (p = resp; p < e; p++) {
					if ((p == resp || p[-1] == '\n') && strncasecmp(p, "content-length:", 15) == 0) {
						content_length = strtol(p + 15, NULL, 10);
						break;
					}
				}
			}
		}
	}
	kind = *status == 200 ? K_OK : K_HTTP;
out:
	close(fd);
	return kind;
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
	struct attempt *a = NULL;
	size_t n = 0, cap = 0, good = 0, failed = 0, windows = 0, i;
	struct sockaddr_in addr;
	char request[1024];
	int request_len, opt;
	double start_mono, start_wall, stop_mono, next, last_good, gap = 0, gap_from = 0, gap_to = 0;
	struct sigaction sa;
	FILE *log = NULL;

	while ((opt = getopt(argc, argv, "p:h:i:c:t:s:m:l:k:")) != -1) {
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
		default: usage(argv[0]);
		}
	}
	if (!port || !key || optind != argc)
		usage(argv[0]);
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
	if (logpath && !(log = fopen(logpath, "w"))) {
		fprintf(stderr, "poller: cannot write '%s': %s\n", logpath, strerror(errno));
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: poll and nanosleep return EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	start_mono = mono_ms();
	start_wall = wall_ms();
	next = start_mono;
	while (!stop_flag) {
		struct stat st;
		double now = mono_ms();
		int kind, status;

		if (now - start_mono > (double)max_s * 1000.0)
			break;
		if (stopfile && stat(stopfile, &st) == 0)
			break;
		if (now < next) {
			double left = next - now;
			struct timespec ts = { (time_t)(left / 1000.0), (long)((left - (double)(long)(left / 1000.0) * 1000.0) * 1e6) };
			nanosleep(&ts, NULL);
			continue;
		}
		kind = attempt_once(&addr, request, (size_t)request_len, (int)connect_ms, (int)total_ms, &status);
		if (kind < 0)
			break;
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
		a[n].end = mono_ms();
		a[n].kind = kind;
		a[n].status = status;
		n++;
		/* The next attempt: one interval after this one started, or at once if late. */
		next = now + (double)interval;
	}
	stop_mono = mono_ms();

	/* Gaps between good answers, with the start and the stop as bounds. */
	last_good = start_mono;
	for (i = 0; i < n; i++) {
		if (a[i].kind != K_OK) {
			failed++;
			continue;
		}
		good++;
		if (a[i].end - last_good > gap) {
			gap = a[i].end - last_good;
			gap_from = last_good;
			gap_to = a[i].end;
		}
		last_good = a[i].end;
	}
	if (stop_mono - last_good > gap) {
		gap = stop_mono - last_good;
		gap_from = last_good;
		gap_to = stop_mono;
	}
	for (i = 0; i < n; i++)
		if (a[i].kind != K_OK && (i == 0 || a[i - 1].kind == K_OK))
			windows++;

	printf("requests=%zu\n", n);
	printf("good=%zu\n", good);
	printf("failed=%zu\n", failed);
	printf("failure_windows=%zu\n", windows);
	printf("longest_gap_ms=%.1f\n", gap);
	printf("longest_gap_from=%.3f\n", start_wall + (gap_from - start_mono));
	printf("longest_gap_to=%.3f\n", start_wall + (gap_to - start_mono));
	printf("duration_ms=%.1f\n", stop_mono - start_mono);
	printf("start_wall=%.3f\n", start_wall);
	for (i = 0; i < n; i++) {
		size_t j, counts[K_COUNT] = { 0 };
		int http_last = 0, k;
		double end;

		if (a[i].kind == K_OK || (i > 0 && a[i - 1].kind != K_OK))
			continue;
		for (j = i; j < n && a[j].kind != K_OK; j++) {
			counts[a[j].kind]++;
			if (a[j].kind == K_HTTP)
				http_last = a[j].status;
		}
		end = j < n ? a[j].end : stop_mono;
		printf("window=start %.3f end %.3f duration_ms %.1f failed %zu%s kinds", start_wall + (a[i].start - start_mono),
		       start_wall + (end - start_mono), end - a[i].start, j - i, j < n ? "" : " (open at stop)");
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
	free(a);
	return 0;
}
