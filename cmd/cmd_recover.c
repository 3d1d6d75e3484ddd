/*
 * cmd_recover.c - `cpactl recover`: finish or undo an operation a crash cut.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/lock.h"
#include "../lib/operation.h"
#include "../lib/recover.h"
#include "cli.h"

/* The paragraph under the synopsis of `cpactl help recover` (main.c's verb table). */
const char recover_help[] =
	"Reads the journal of an operation that did not finish (cpactl was killed, the\n"
	"machine lost power, the engine restarted) and brings the deployment back to a\n"
	"consistent, serving state: it finishes the upgrade or rollback when that is\n"
	"safe and the new release serves, otherwise it undoes it, and says which.";

const struct cli_option recover_options[] = {
	[RECOVER_OPT_ROOT] = { "root", 0, "DIR",
				"deployment root (default: $CPACTL_ROOT, else the directory of config.yaml)" },
	[RECOVER_OPT_WAIT] = { "wait", 0, "SECONDS", "wait this long for another cpactl to release the lock" },
	[RECOVER_OPT_DRY_RUN] = { "dry-run", 'n', NULL,
				   "say what recover would do (undo, or finish if the new release serves), change nothing" },
	[RECOVER_OPT_COUNT] = { NULL, 0, NULL, NULL },
};

struct recover_args {
	const char *root;
	int wait;
	int dry_run;
};

static int on_option(struct cli *cli, void *ctx, int index, const char *arg)
{
	struct recover_args *a = ctx;
	if (index == RECOVER_OPT_ROOT)
		a->root = arg;
	else if (index == RECOVER_OPT_WAIT && cli_parse_seconds(cli, "--wait", arg, &a->wait) < 0)
		return -1;
	else if (index == RECOVER_OPT_DRY_RUN)
		a->dry_run = 1;
	return 0;
}

/* A container named NAME-cpactl-new or NAME-cpactl-prev-<ID>, or NULL. */
static char *aside_container(struct cli *cli)
{
	struct cpactl_error e = CPACTL_ERROR_INIT;
	json_t *list = NULL, *entry, *n;
	char *found = NULL;
	size_t i, k;

	if (cli_docker(cli, &e) < 0 || docker_container_list(cli->docker, &list, &e) < 0)
		return NULL;
	json_array_foreach(list, i, entry) {
		json_array_foreach(json_object_get(entry, "Names"), k, n) {
			const char *s = json_string_value(n);
			int role = operation_kept_role(s, cli->container);
			if (!found && (role == OP_KEPT_NEW || role == OP_KEPT_PREV))
				found = strdup(*s == '/' ? s + 1 : s);
		}
	}
	json_decref(list);
	return found;
}

int cmd_recover(struct cli *cli, int argc, char **argv)
{
	struct cpactl_error err = CPACTL_ERROR_INIT;
	struct recover_args args = { 0 };
	struct cpa_target *targets = NULL, *t = NULL;
	struct deployment d = { 0 };
	struct lock lock = { -1 };
	json_t *report = NULL;
	size_t count = 0;
	int first, rc = -1;

	first = cli_parse(cli, argc, argv, on_option, &args);
	if (first < 0)
		return first == -2 ? EXIT_OK : EXIT_USAGE;
	if (first < argc)
		return cli_usage(cli, "unexpected argument '%s'", argv[first]);
	/* The container may be renamed or stopped: the root is found from
	 * --root, CPACTL_ROOT or whichever container --container names. */
	if (cli_deployment(cli, args.root, 0, &targets, &count, &t, &d, &err) < 0) {
		/* Killed between two renames, no container may carry NAME: any of
		 * the ones the upgrade set aside shares its deployment. */
		char *aside = cli->container && err.kind == ERR_NOT_FOUND ? aside_container(cli) : NULL;
		const char *named = cli->container;
		if (!aside)
			goto out;
		error_clear(&err);
		cli->container = aside;
		cpa_targets_free(targets, count);
		targets = NULL;
		count = 0;
		if (cli_deployment(cli, args.root, 0, &targets, &count, &t, &d, &err) < 0) {
			cli->container = named;
			free(aside);
			goto out;
		}
		cli->container = named;
		free(aside);
	}
	if (args.dry_run) {
		/* Read-only: the journal alone, no lock, no engine call. */
		rc = recover_plan(&d, cli_say_message, cli, &report, &err);
		goto out;
	}
	if (lock_acquire(d.lock_path, "recover", args.wait, &lock, &err) < 0 || cli_docker(cli, &err) < 0)
		goto out;
	rc = recover_run(cli->docker, &d, cli_say_message, cli, &report, &err);
out:
	lock_release(&lock);
	deployment_release(&d);
	cpa_targets_free(targets, count);
	return cli_finish(cli, report, rc, &err, EXIT_OK);
}
