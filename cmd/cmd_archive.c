/*
 * cmd_archive.c - `cpactl archive`: the runbook's step 6 (move old backups
 * aside, keep the newest archives, clean up) through lib/archiving.h.
 *
 * It takes the deployment's lock like backup and refuses to run while an
 * operation is unfinished (exit 4).  --dry-run is read-only: it takes no
 * lock and creates nothing, so it can run beside another cpactl.  The
 * production container is found without running anything in it.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../lib/journal.h"
#include "../lib/lock.h"
#include "../lib/archiving.h"
#include "cli.h"
#include "progress.h"

/* The paragraph under the synopsis of `cpactl help archive` (main.c's verb table). */
const char archive_help[] =
	"Moves every snapshot of ROOT/backup but the newest into a new\n"
	"ROOT/archive/<YYYYmmdd-HHMM> with a README.md and the listing of backup/ before,\n"
	"keeps the newest N archives (default 2) and deletes the older ones, then removes\n"
	"the image blobs, index files and seals no remaining snapshot needs, and the\n"
	"stopped NAME-cpactl-prev/failed-<ID> containers and cpactl-rollback tags of\n"
	"snapshots older than the one left in backup/.  The last snapshot that can be\n"
	"rolled back to offline is always kept.  The live config.yaml, the auth dir and\n"
	"the running container are never touched.  A crash at any point is finished by\n"
	"the next run.";

const struct cli_option archive_options[] = {
	[ARCHIVE_OPT_ROOT] = { "root", 0, "DIR",
				"deployment root (default: $CPACTL_ROOT, else the directory of config.yaml)" },
	[ARCHIVE_OPT_KEEP] = { "keep", 0, "N", "archive directories to keep, newest first (default 2, at least 1)" },
	[ARCHIVE_OPT_PRUNE_IMAGES] = { "prune-images", 0, NULL, "also remove the engine's dangling images" },
	[ARCHIVE_OPT_DRY_RUN] = { "dry-run", 0, NULL,
				   "print what would be moved, deleted and retired; change nothing" },
	[ARCHIVE_OPT_WAIT] = { "wait", 0, "SECONDS", "wait this long for another cpactl to release the lock" },
	[ARCHIVE_OPT_COUNT] = { NULL, 0, NULL, NULL },
};

struct archive_args {
	struct archiving_options o;
	const char *root;
	int wait;
};

static int on_option(struct cli *cli, void *ctx, int index, const char *arg)
{
	struct archive_args *a = ctx;
	char *end;
	long keep;

	switch (index) {
	case ARCHIVE_OPT_ROOT: a->root = arg; break;
	case ARCHIVE_OPT_KEEP:
		keep = strtol(arg, &end, 10);
		if (!*arg || *end || keep < 1 || keep > 10000)
			return cli_usage(cli, "--keep wants a number of archives from 1 to 10000, not '%s'", arg), -1;
		a->o.keep = (int)keep;
		break;
	case ARCHIVE_OPT_PRUNE_IMAGES: a->o.prune_images = 1; break;
	case ARCHIVE_OPT_DRY_RUN: a->o.dry_run = 1; break;
	case ARCHIVE_OPT_WAIT:
		if (cli_parse_seconds(cli, "--wait", arg, &a->wait) < 0)
			return -1;
		break;
	}
	return 0;
}

int cmd_archive(struct cli *cli, int argc, char **argv)
{
	struct cpactl_error err = CPACTL_ERROR_INIT;
	struct archive_args args = { 0 };
	struct cpa_target *targets = NULL, *t = NULL;
	struct deployment d = { 0 };
	struct lock lock = { -1 };
	json_t *report = NULL;
	size_t count = 0;
	int first, rc = -1;

	args.o.keep = ARCHIVING_DEFAULT_KEEP;
	first = cli_parse(cli, argc, argv, on_option, &args);
	if (first < 0)
		return first == -2 ? EXIT_OK : EXIT_USAGE;
	if (first < argc)
		return cli_usage(cli, "unexpected argument '%s'", argv[first]);
	args.o.cpactl_version = CPACTL_VERSION;
	args.o.say = cli_say_message;
	args.o.ctx = cli;
	/* The container's name is all archive needs of it: no exec for its version. */
	if (cli_one_target(cli, 1, &targets, &count, &t, &err) < 0 || deployment_resolve(t, args.root, &d, &err) < 0 ||
	    deployment_check_trust(&d, &err) < 0)
		goto out;
	if (!args.o.dry_run &&
	    (deployment_prepare(&d, &err) < 0 || lock_acquire(d.lock_path, "archive", args.wait, &lock, &err) < 0))
		goto out;
	if (journal_refuse_unfinished(&d, &err) < 0)
		goto out;
	say(cli, "%s the snapshots of '%s' under '%s', keeping %d archive%s",
	    args.o.dry_run ? "planning to archive" : "archiving", t->name, d.root, args.o.keep,
	    args.o.keep == 1 ? "" : "s");
	rc = archiving_run(cli->docker, t, &d, &args.o, &report, &err);
	if (rc == 0) {
		char freed[32];
		human_bytes((uint64_t)json_integer_value(json_object_get(report, "bytes_freed")), freed, sizeof(freed));
		if (args.o.dry_run)
			say(cli, "dry run: %s would be freed; nothing was changed", freed);
		else
			say(cli, "done: %s freed; the live config.yaml, auth dir and container '%s' were not touched", freed,
			    t->name);
	}
out:
	lock_release(&lock);
	deployment_release(&d);
	cpa_targets_free(targets, count);
	return cli_finish(cli, report, rc, &err, EXIT_OK);
}
