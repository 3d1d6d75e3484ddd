/*
 * progress.c - see progress.h.
 */
#include "progress.h"

#include <stdio.h>
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

void progress_init(struct progress *p, const struct cli *cli)
{
	p->enabled = !cli->quiet && !cli->json && isatty(STDERR_FILENO);
	p->drawn = 0;
	p->started = now_seconds();
	p->last_draw = 0;
}

void progress_update(void *ctx, const char *phase, uint64_t bytes)
{
	struct progress *p = ctx;
	double t = now_seconds();
	char amount[32], rate[32];

	if (!p->enabled || t - p->last_draw < 0.2)
		return;
	p->last_draw = t;
	human_bytes(bytes, amount, sizeof(amount));
	human_bytes((uint64_t)((double)bytes / (t - p->started > 0.001 ? t - p->started : 0.001)), rate,
		    sizeof(rate));
	fprintf(stderr, "\r\033[K%s: %s (%s/s)", phase, amount, rate);
	p->drawn = 1;
}

void progress_done(struct progress *p)
{
	if (p->drawn)
		fprintf(stderr, "\r\033[K");
	p->drawn = 0;
}
