/*
 * cmd_rollback.c - `cpactl rollback [ID]`: production back to a snapshot
 * (lib/rollback.h), with upgrade's confirmation rules (interact.h).
 */
#include <stdlib.h>
#include <string.h>

#include "../lib/lock.h"
#include "../lib/rollback.h"
#include "cli.h"
#include "interact.h"

/* The paragraph under the synopsis of `cpactl help rollback` (main.c's verb table). */
const char rollback_help[] =
	"Brings the CPA container back to snapshot ID (default: the snapshot the last\n"
	"upgrade took), in backup/ or archive/: its image, config.yaml and container\n"
	"definition (name, ports, mounts, networks), then verifies it on the real port\n"
	"and puts the replaced container back if it does not serve.  The snapshot is\n"
	"verified first and refused when anything in it is wrong.  The current state is\n"
	"backed up first.  The image comes from the kept previous container of that\n"
	"upgrade (a stop and a start), the engine, or the blob store.  OAuth tokens\n"
	"rotate, so only auth files missing now are restored and the ones that differ\n"
	"are named; --auth restores the auth dir exactly.  Without a terminal nothing\n"
	"changes unless --yes (exit 5).";

const struct cli_option rollback_options[] = {
	[ROLLBACK_OPT_AUTH] = { "auth", 0, NULL,
				 "restore the snapshot's auth dir exactly (default: only files missing now)" },
	[ROLLBACK_OPT_YES] = { "yes", 'y', NULL, "replace production without asking (needed without a terminal)" },
	[ROLLBACK_OPT_DRY_RUN] = { "dry-run", 'n', NULL,
				    "check the snapshot and print what would change, change nothing" },
	[ROLLBACK_OPT_NO_BACKUP] = { "no-backup", 0, NULL, "skip the snapshot of the current state (not with --auth)" },
	[ROLLBACK_OPT_TIMEOUT] = { "timeout", 0, "SECONDS",
				    "deadline for the restored release to serve /v1/models (default 60)" },
	[ROLLBACK_OPT_ROOT] = { "root", 0, "DIR",
				 "deployment root (default: $CPACTL_ROOT, else the directory of config.yaml)" },
	[ROLLBACK_OPT_WAIT] = { "wait", 0, "SECONDS", "wait this long for another cpactl to release the lock" },
	[ROLLBACK_OPT_ALLOW_WIDER] = { "allow-wider", 0, NULL,
					"restore a snapshot whose container may do more on the host than now "
					"(asked at a terminal, even with --yes)" },
	[ROLLBACK_OPT_COUNT] = { NULL, 0, NULL, NULL },
};

struct rollback_args {
	struct rollback_options o;
	int yes;
	const char *root;
	int wait;
	long timeout_ms;
};

static int on_option(struct cli *cli, void *ctx, int index, const char *arg)
{
	struct rollback_args *a = ctx;

	switch (index) {
	case ROLLBACK_OPT_AUTH: a->o.auth_exact = 1; break;
	case ROLLBACK_OPT_YES: a->yes = 1; break;
	case ROLLBACK_OPT_DRY_RUN: a->o.dry_run = 1; break;
	case ROLLBACK_OPT_NO_BACKUP: a->o.no_backup = 1; break;
	case ROLLBACK_OPT_ALLOW_WIDER: a->o.allow_wider = 1; break;
	case ROLLBACK_OPT_TIMEOUT:
		if (cli_parse_timeout(cli, arg, &a->timeout_ms) < 0)
			return -1;
		break;
	case ROLLBACK_OPT_ROOT: a->root = arg; break;
	case ROLLBACK_OPT_WAIT:
		if (cli_parse_seconds(cli, "--wait", arg, &a->wait) < 0)
			return -1;
		break;
	}
	return 0;
}

int cmd_rollback(struct cli *cli, int argc, char **argv)
{
	struct cpactl_error err = CPACTL_ERROR_INIT;
	struct rollback_args args;
	struct cpa_target *targets = NULL, *t = NULL;
	struct deployment d = { 0 };
	struct lock lock = { -1 };
	struct interaction x;
	json_t *report = NULL;
	char *default_id = NULL;
	size_t count = 0;
	int first, rc = -1;

	memset(&args, 0, sizeof(args));
	args.timeout_ms = 60000;
	first = cli_parse(cli, argc, argv, on_option, &args);
	if (first < 0)
		return first == -2 ? EXIT_OK : EXIT_USAGE;
	if (first + 1 < argc)
		return cli_usage(cli, "unexpected argument '%s'", argv[first + 1]);
	if (first < argc) {
		args.o.snapshot_id = argv[first];
		args.o.snapshot_named = 1;
	}
	interaction_init(&x, cli, args.yes);
	args.o.timeout_ms = args.timeout_ms;
	args.o.cpactl_version = CPACTL_VERSION;
	args.o.interrupted = &cli_interrupted;
	args.o.say = interaction_say;
	args.o.confirm = interaction_confirm;
	args.o.confirm_always = interaction_confirm_always;
	args.o.ctx = &x;
	args.o.load_progress = interaction_load_progress;
	args.o.backup_progress = progress_update;
	args.o.progress_ctx = &x.progress;
	if (cli_deployment(cli, args.root, 1, &targets, &count, &t, &d, &err) < 0)
		goto out;
	if (!args.o.snapshot_id) {
		default_id = rollback_default_snapshot(&d, t);
		if (!default_id) {
			error_set(&err, ERR_USAGE,
				  "no upgrade of '%s' has been made here yet: name the snapshot to roll back to (see "
				  "'cpactl list')",
				  t->name);
			goto out;
		}
		args.o.snapshot_id = default_id;
		say(cli, "rolling back to snapshot %s, taken by the last upgrade", default_id);
	}
	if (deployment_prepare(&d, &err) < 0 || lock_acquire(d.lock_path, "rollback", args.wait, &lock, &err) < 0)
		goto out;
	cli_catch_interrupts();
	snapshot_sweep(&d);
	rc = rollback_run(cli->docker, t, &d, &args.o, &report, &err);
	progress_done(&x.progress);
out:
	lock_release(&lock);
	deployment_release(&d);
	cpa_targets_free(targets, count);
	free(default_id);
	return cli_finish(cli, report, rc, &err, EXIT_OK);
}
