/*
 * interact.h - how the mutating verbs talk with the person (or the program)
 * that runs them: messages from lib/ go to stderr with the progress line
 * cleared first, and confirmation follows the runbook's rule: a prompt on a
 * terminal; without one, only --yes says yes (cron and AI agents must opt
 * in, and get exit 5 otherwise).
 */
#ifndef CPACTL_INTERACT_H
#define CPACTL_INTERACT_H

#include <jansson.h>

#include "cli.h"
#include "progress.h"

struct interaction {
	struct cli *cli;
	int yes;
	struct progress progress;
};

void interaction_init(struct interaction *x, struct cli *cli, int yes);
/* A say_fn (lib/operation.h): ctx is a struct interaction. */
void interaction_say(void *ctx, const char *message);
/* A confirm_fn (lib/operation.h). */
int interaction_confirm(void *ctx, const char *question);

/* The same question, but --yes does not answer it: only a person at a
 * terminal can (a rollback that widens what the container may do). */
int interaction_confirm_always(void *ctx, const char *question);
/* docker_progress_fns for the pull and load streams. */
void interaction_pull_progress(void *ctx, json_t *message);
void interaction_load_progress(void *ctx, json_t *message);

struct upgrade_options;
/* Points the callbacks of an upgrade (or config apply) at `x`: messages,
 * confirmation, pull and backup progress, the interrupt flag and cpactl's
 * version. */
void interaction_wire_upgrade(struct interaction *x, struct upgrade_options *o);

#endif
