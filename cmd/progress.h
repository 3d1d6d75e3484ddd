/*
 * progress.h - progress of long transfers for people at a terminal.
 *
 * On a TTY (stderr), without -q or --json, a single line is redrawn at most
 * five times a second: phase, bytes (of the total when known), rate and the
 * time left.  Elsewhere (cron, systemd, a pipe) nothing is redrawn: a long
 * transfer writes the same words as a plain line every PROGRESS_LOG_SECONDS,
 * so a log shows it moving and a short one adds nothing.  The line is erased with an ANSI sequence,
 * or with spaces when NO_COLOR is set (https://no-color.org): cpactl prints
 * no colour, and with NO_COLOR no escape sequence at all.
 *
 * Image pulls and loads report per layer (docker's progressDetail with a
 * layer id); progress_engine_message() sums the layers into one line.
 */
#ifndef CPACTL_PROGRESS_H
#define CPACTL_PROGRESS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "cli.h"

#define PROGRESS_MAX_LAYERS 128
#define PROGRESS_LOG_SECONDS 30.0
/* Test-only: CPACTL_TEST_PROGRESS_SECONDS=S logs every S seconds instead, so a
 * test sees the plain lines without a transfer of half a minute. */

struct progress_layer {
	char id[72];
	uint64_t current, total;
};

struct progress {
	int enabled;
	int tty;            /* redraw one line; else plain log lines */
	int plain;          /* NO_COLOR: no escape sequences */
	int drawn;
	size_t width;       /* of the last line drawn, to blank it without escapes */
	double started;
	double last_draw;
	double log_seconds;  /* PROGRESS_LOG_SECONDS, or CPACTL_TEST_PROGRESS_SECONDS (tests) */
	char phase[24];     /* the phase drawn last: a new one restarts the rate */
	char total_phase[24];
	uint64_t total;     /* of total_phase; 0 when unknown */
	struct progress_layer layers[PROGRESS_MAX_LAYERS];
	size_t nlayers;
};

void progress_init(struct progress *p, const struct cli *cli);
/* The size phase `phase` is expected to reach (0: unknown). */
void progress_set_total(struct progress *p, const char *phase, uint64_t total);
/* A snapshot_progress_fn: ctx is a struct progress. */
void progress_update(void *ctx, const char *phase, uint64_t bytes);
/* One message of an engine progress stream (pull, load): ctx is a struct
 * progress. */
void progress_engine_message(struct progress *p, const char *phase, json_t *message);
/* Erases the line (before other output, and at the end). */
void progress_done(struct progress *p);

/* "12.3 MB" */
void human_bytes(uint64_t bytes, char *out, size_t len);

#endif
