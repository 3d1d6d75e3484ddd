/*
 * progress.c - see progress.h.
 */
#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void human_bytes(uint64_t bytes, char *out, size_t len)
{
	const char *units[] = { "B", "kB", "MB", "GB", "TB" };
	double v = (double)bytes;
	int u = 0;

	while (v >= 1000.0 && u < 4) {
		v /= 1000.0;
		u++;
	}
	if (u == 0)
		snprintf(out, len, "%llu B", (unsigned long long)bytes);
	else
		snprintf(out, len, "%.1f %s", v, units[u]);
}

/* "1m05s", "42s" */
static void human_seconds(double s, char *out, size_t len)
{
	long n = (long)(s + 0.5);

	if (n >= 3600)
		snprintf(out, len, "%ldh%02ldm", n / 3600, n % 3600 / 60);
	else if (n >= 60)
		snprintf(out, len, "%ldm%02lds", n / 60, n % 60);
	else
		snprintf(out, len, "%lds", n);
}

void progress_init(struct progress *p, const struct cli *cli)
{
	const char *no_color = getenv("NO_COLOR");

	memset(p, 0, sizeof(*p));
	p->enabled = !cli->quiet && !cli->json;
	p->tty = isatty(STDERR_FILENO);
	p->plain = no_color && *no_color;
	p->started = now_seconds();
	p->log_seconds = PROGRESS_LOG_SECONDS;
	{
		const char *test = getenv("CPACTL_TEST_PROGRESS_SECONDS");
		char *end;
		double s = test ? strtod(test, &end) : 0;
		if (test && *test && !*end && s > 0)
			p->log_seconds = s;
	}
}

void progress_set_total(struct progress *p, const char *phase, uint64_t total)
{
	snprintf(p->total_phase, sizeof(p->total_phase), "%s", phase);
	p->total = total;
}

/* Goes back to the start of the line and blanks what was drawn. */
static void erase_line(struct progress *p)
{
	if (p->plain)
		fprintf(stderr, "\r%*s\r", (int)p->width, "");
	else
		fputs("\r\033[K", stderr);
}

void progress_update(void *ctx, const char *phase, uint64_t bytes)
{
	struct progress *p = ctx;
	double t = now_seconds(), elapsed;
	char amount[32], total[32], rate[32], left[32], line[160];
	double per_second;
	int n;

	if (!p->enabled)
		return;
	/* A new phase restarts the clock; the first draw waits a fifth of a
	 * second, so the rate means something and short phases draw nothing. */
	if (strcmp(p->phase, phase) != 0) {
		snprintf(p->phase, sizeof(p->phase), "%s", phase);
		p->started = t;
		p->last_draw = t;
		return;
	}
	if (t - p->last_draw < (p->tty ? 0.2 : p->log_seconds))
		return;
	p->last_draw = t;
	elapsed = t - p->started > 0.001 ? t - p->started : 0.001;
	per_second = (double)bytes / elapsed;
	human_bytes(bytes, amount, sizeof(amount));
	human_bytes((uint64_t)per_second, rate, sizeof(rate));
	if (strcmp(p->total_phase, phase) == 0 && p->total > bytes && per_second > 0) {
		human_bytes(p->total, total, sizeof(total));
		human_seconds((double)(p->total - bytes) / per_second, left, sizeof(left));
		n = snprintf(line, sizeof(line), "%s: %s of %s (%s/s, %s left)", phase, amount, total, rate, left);
	} else {
		n = snprintf(line, sizeof(line), "%s: %s (%s/s)", phase, amount, rate);
	}
	if (!p->tty) {
		fprintf(stderr, "%s\n", line);
		return;
	}
	if (p->drawn)
		erase_line(p);
	else
		fputc('\r', stderr);
	fputs(line, stderr);
	fflush(stderr);
	p->width = n > 0 ? (size_t)n : 0;
	p->drawn = 1;
}

void progress_engine_message(struct progress *p, const char *phase, json_t *message)
{
	json_t *detail = json_object_get(message, "progressDetail");
	const char *id = json_string_value(json_object_get(message, "id"));
	json_int_t current = json_integer_value(json_object_get(detail, "current"));
	json_int_t total = json_integer_value(json_object_get(detail, "total"));
	uint64_t sum = 0, sum_total = 0;
	size_t i;

	if (!p->enabled || current <= 0)
		return;
	if (!id)
		id = "";
	/* The engine reports each layer on its own: keep the last word of each. */
	for (i = 0; i < p->nlayers && strcmp(p->layers[i].id, id) != 0; i++)
		;
	if (i == p->nlayers) {
		if (p->nlayers == PROGRESS_MAX_LAYERS)
			i = PROGRESS_MAX_LAYERS - 1; /* more layers than that: fold into the last */
		else
			p->nlayers++;
		snprintf(p->layers[i].id, sizeof(p->layers[i].id), "%s", id);
	}
	p->layers[i].current = (uint64_t)current;
	if (total > 0)
		p->layers[i].total = (uint64_t)total;
	for (i = 0; i < p->nlayers; i++) {
		sum += p->layers[i].current;
		sum_total += p->layers[i].total > p->layers[i].current ? p->layers[i].total : p->layers[i].current;
	}
	progress_set_total(p, phase, sum_total);
	progress_update(p, phase, sum);
}

void progress_done(struct progress *p)
{
	if (p->drawn) {
		erase_line(p);
		fflush(stderr);
	}
	p->drawn = 0;
}
