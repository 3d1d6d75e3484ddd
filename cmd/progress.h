/*
 * progress.h - progress of long transfers for people at a terminal.
 *
 * On a TTY (stderr), without -q or --json, a single line is redrawn at most
 * five times a second: phase, bytes, rate.  Elsewhere nothing is drawn, so
 * logs of cron and systemd stay clean.
 */
#ifndef CPACTL_PROGRESS_H
#define CPACTL_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"

struct progress {
	int enabled;
	int drawn;
	double started;
	double last_draw;
};

void progress_init(struct progress *p, const struct cli *cli);
/* A snapshot_progress_fn: ctx is a struct progress. */
void progress_update(void *ctx, const char *phase, uint64_t bytes);
void progress_done(struct progress *p);

/* "12.3 MB" */
void human_bytes(uint64_t bytes, char *out, size_t len);

#endif
