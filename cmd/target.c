/*
 * target.c - pick the one CPA container a verb acts on, and its deployment.
 *
 * Verbs that change or read a deployment's state act on one container: the
 * one named by --container, or the only CPA container on the engine.  When
 * there are several, guessing would be dangerous: the user must name one.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/journal.h"
#include "../lib/lock.h"
#include "../lib/snapshot.h"
#include "cli.h"

int cli_targets(struct cli *cli, int skip_version, struct cpa_target **targets, size_t *count,
		struct cpactl_error *err)
{
	struct discover_options opts;

	cli_discover_options(cli, &opts);
	opts.skip_version = skip_version;
	if (cli_docker(cli, err) < 0 || discover_targets(cli->docker, &opts, targets, count, err) < 0)
		return -1;
	if (*count == 0)
		return error_set(err, ERR_NOT_FOUND,
				 "no CPA container found on '%s' (name one with --container, or label it "
				 "io.cpactl.target=true)",
				 docker_client_host(cli->docker));
	return 0;
}

int cli_one_target(struct cli *cli, int skip_version, struct cpa_target **targets, size_t *count,
		   struct cpa_target **target, struct cpactl_error *err)
{
	*target = NULL;
	if (cli_targets(cli, skip_version, targets, count, err) < 0)
		return -1;
	if (*count > 1) {
		char names[512] = "";
		size_t used = 0;
		for (size_t i = 0; i < *count && used < sizeof(names) - 1; i++) {
			int n = snprintf(names + used, sizeof(names) - used, "%s%s", i ? ", " : "", (*targets)[i].name);
			if (n < 0)
				break;
			used += (size_t)n;
		}
		return error_set(err, ERR_USAGE, "several CPA containers (%s): name one with --container", names);
	}
	*target = &(*targets)[0];
	return 0;
}

int cli_deployment(struct cli *cli, const char *root, int need_target, struct cpa_target **targets,
		   size_t *count, struct cpa_target **target, struct deployment *d,
		   struct cpactl_error *err)
{
	const char *env = getenv("CPACTL_ROOT");

	*target = NULL;
	if (need_target || !((root && *root) || (env && *env)))
		if (cli_one_target(cli, 0, targets, count, target, err) < 0)
			return -1;
	if (deployment_resolve(*target, root, d, err) < 0)
		return -1;
	return deployment_check_trust(d, err);
}

/* --- interrupts, numbers, the config history ----------------------------------- */

volatile sig_atomic_t cli_interrupted;

static void on_interrupt(int sig)
{
	(void)sig;
	cli_interrupted = 1;
}

void cli_catch_interrupts(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

int cli_parse_timeout(struct cli *cli, const char *arg, long *timeout_ms)
{
	char *end;
	double seconds = strtod(arg, &end);

	if (!*arg || *end || seconds <= 0 || seconds > 3600)
		return cli_usage(cli, "--timeout wants seconds, more than 0 and at most 3600 (fractions allowed), not '%s'",
				 arg), -1;
	*timeout_ms = (long)(seconds * 1000);
	return 0;
}

int cli_parse_candidate_network(struct cli *cli, const char *arg, int *shared)
{
	if (strcmp(arg, "isolated") == 0)
		*shared = 0;
	else if (strcmp(arg, "shared") == 0)
		*shared = 1;
	else
		return cli_usage(cli, "--candidate-network wants 'isolated' or 'shared', not '%s'", arg), -1;
	return 0;
}

int cli_parse_seconds(struct cli *cli, const char *option, const char *arg, int *out)
{
	char *end;
	long v = strtol(arg, &end, 10);

	if (!*arg || *end || v < 0 || v > 86400)
		return cli_usage(cli, "%s wants a number of seconds from 0 to 86400, not '%s'", option, arg), -1;
	*out = (int)v;
	return 0;
}

int cli_commit_config(struct cli *cli, const struct deployment *d, const char *snapshot_path,
		      const char *snapshot_id, const struct cpa_target *t, const char *why,
		      struct cpactl_error *err)
{
	char oid[41] = "";
	int committed = 0;

	if (snapshot_commit_config(d, snapshot_path, snapshot_id, t, why, oid, &committed, err) < 0)
		return -1;
	if (committed)
		say(cli, "config.yaml committed to the history as %.12s", oid);
	else if (oid[0])
		debug(cli, "config.yaml unchanged since history commit %.12s", oid);
	return 0;
}

int cli_unfinished_operation(const struct cpa_target *t, json_t *into, char *in_progress, size_t in_progress_len)
{
	struct deployment d;
	struct cpactl_error e = CPACTL_ERROR_INIT;
	json_t *journal = NULL;
	char text[400];
	long holder;
	int state = 0;

	if (in_progress && in_progress_len)
		in_progress[0] = '\0';
	/* A journal another user could have written is not read. */
	if (deployment_resolve(t, NULL, &d, &e) < 0 || deployment_check_trust(&d, &e) < 0) {
		deployment_release(&d);
		return 0;
	}
	if (journal_load(&d, &journal, &e) == 0 && journal) {
		const char *operation = json_string_value(json_object_get(journal, "operation")) ?: "?";
		const char *id = json_string_value(json_object_get(journal, "id")) ?: "?";
		const char *step = json_string_value(json_object_get(journal, "step")) ?: "?";
		/* A journal whose cpactl still runs is work in progress, not
		 * something to recover (recover would wait for its lock). */
		holder = lock_holder(d.lock_path);
		if (holder > 0) {
			if (in_progress && in_progress_len)
				snprintf(in_progress, in_progress_len, "a '%s' (id %s) is in progress (pid %ld), at step '%s'",
					 operation, id, holder, step);
			state = 2;
		} else {
			snprintf(text, sizeof(text), "an unfinished '%s' (id %s) stopped at step '%s': run 'cpactl recover'",
				 operation, id, step);
			json_array_append_new(into, json_string(text));
			state = 1;
		}
	}
	json_decref(journal);
	deployment_release(&d);
	return state;
}

int cli_root_option(struct cli *cli, void *ctx, int index, const char *arg)
{
	(void)cli;
	if (index == ROOT_OPT_ROOT)
		*(const char **)ctx = arg;
	return 0;
}
