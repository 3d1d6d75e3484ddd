/*
 * interact.c - see interact.h.
 */
#include "interact.h"

#include <stdio.h>
#include <unistd.h>

#include "../lib/upgrade.h"

void interaction_init(struct interaction *x, struct cli *cli, int yes)
{
	x->cli = cli;
	x->yes = yes;
	progress_init(&x->progress, cli);
}

void interaction_say(void *ctx, const char *message)
{
	struct interaction *x = ctx;
	progress_done(&x->progress);
	say(x->cli, "%s", message);
}

static int ask(struct interaction *x, const char *question);

int interaction_confirm(void *ctx, const char *question)
{
	struct interaction *x = ctx;

	if (x->yes)
		return 1;
	return ask(x, question);
}

int interaction_confirm_always(void *ctx, const char *question)
{
	return ask(ctx, question);
}

static int ask(struct interaction *x, const char *question)
{
	char answer[16];

	/* Only a person at a terminal can say yes here. */
	if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO))
		return 0;
	progress_done(&x->progress);
	fprintf(stderr, "%s [y/N] ", question);
	fflush(stderr);
	if (!fgets(answer, sizeof(answer), stdin))
		return 0;
	return answer[0] == 'y' || answer[0] == 'Y';
}

void interaction_pull_progress(void *ctx, json_t *message)
{
	struct interaction *x = ctx;

	progress_engine_message(&x->progress, "pull", message);
}

void interaction_load_progress(void *ctx, json_t *message)
{
	struct interaction *x = ctx;

	progress_engine_message(&x->progress, "load", message);
}

void interaction_wire_upgrade(struct interaction *x, struct upgrade_options *o)
{
	o->cpactl_version = CPACTL_VERSION;
	o->interrupted = &cli_interrupted;
	o->say = interaction_say;
	o->confirm = interaction_confirm;
	o->ctx = x;
	o->pull_progress = interaction_pull_progress;
	o->backup_progress = progress_update;
	o->progress_ctx = &x->progress;
}
