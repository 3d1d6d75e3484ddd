/*
 * cmd_backup.c - `cpactl backup`: a snapshot of image, config and auth dir.
 *
 * The runbook's step 1 in one command: atomic (the snapshot appears only when
 * complete), verifiable (every part hashed, the manifest sealed), cheap to
 * repeat (image blobs are stored once), and the config committed to the
 * history.  Ctrl-C aborts cleanly: temporary files are removed.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../lib/journal.h"
#include "../lib/lock.h"
#include "../lib/snapshot.h"
#include "cli.h"
#include "progress.h"

/* The paragraph under the synopsis of `cpactl help backup` (main.c's verb table). */
const char backup_help[] =
	"Takes a snapshot of a CPA deployment into ROOT/backup/<ID> (ID = UTC\n"
	"YYYYmmdd-HHMMSS): the container definition, config.yaml byte for byte, the auth\n"
	"dir as a tar, the image into a deduplicating blob store, and the runbook's\n"
	"baseline.  The snapshot appears only when complete; the image is tagged\n"
	"cpactl-rollback:<name>-<ID>; config.yaml is committed to the config history.";

const struct cli_option backup_options[] = {
	[BACKUP_OPT_ROOT] = { "root", 0, "DIR",
			       "deployment root (default: $CPACTL_ROOT, else the directory of config.yaml)" },
	[BACKUP_OPT_NO_IMAGE] = { "no-image", 0, NULL,
				   "do not save the image (the snapshot cannot be restored offline)" },
	[BACKUP_OPT_NO_CONFIG] = { "no-config", 0, NULL, "go on when config.yaml cannot be read" },
	[BACKUP_OPT_WAIT] = { "wait", 0, "SECONDS", "wait this long for another cpactl to release the lock" },
	[BACKUP_OPT_COUNT] = { NULL, 0, NULL, NULL },
};

struct backup_args {
	const char *root;
	int no_image;
	int no_config;
	int wait;
};

static int on_option(struct cli *cli, void *ctx, int index, const char *arg)
{
	struct backup_args *a = ctx;
	switch (index) {
	case BACKUP_OPT_ROOT: a->root = arg; break;
	case BACKUP_OPT_NO_IMAGE: a->no_image = 1; break;
	case BACKUP_OPT_NO_CONFIG: a->no_config = 1; break;
	case BACKUP_OPT_WAIT:
		if (cli_parse_seconds(cli, "--wait", arg, &a->wait) < 0)
			return -1;
		break;
	}
	return 0;
}

int cmd_backup(struct cli *cli, int argc, char **argv)
{
	struct cpactl_error err = CPACTL_ERROR_INIT;
	struct backup_args args = { 0 };
	struct cpa_target *targets = NULL, *t = NULL;
	struct deployment d = { 0 };
	struct snapshot_options opts = { 0 };
	struct snapshot_result r = { 0 };
	struct lock lock = { -1 };
	struct progress progress;
	json_t *result = NULL;
	size_t count = 0;
	int first, rc = -1;

	first = cli_parse(cli, argc, argv, on_option, &args);
	if (first < 0)
		return first == -2 ? EXIT_OK : EXIT_USAGE;
	if (first < argc)
		return cli_usage(cli, "unexpected argument '%s'", argv[first]);
	if (cli_deployment(cli, args.root, 1, &targets, &count, &t, &d, &err) < 0 ||
	    deployment_prepare(&d, &err) < 0 || lock_acquire(d.lock_path, "backup", args.wait, &lock, &err) < 0 ||
	    journal_refuse_unfinished(&d, &err) < 0)
		goto out;
	snapshot_sweep(&d);
	cli_catch_interrupts();
	progress_init(&progress, cli);
	opts.no_image = args.no_image;
	opts.no_config = args.no_config;
	opts.cpactl_version = CPACTL_VERSION;
	opts.interrupted = &cli_interrupted;
	opts.progress = progress_update;
	opts.progress_ctx = &progress;
	if (!args.no_image && t->image_id) {
		/* The save stream is about the image's size: enough for the time left. */
		json_t *image = NULL;
		struct cpactl_error ignored = CPACTL_ERROR_INIT;
		if (docker_image_inspect(cli->docker, t->image_id, &image, &ignored) == 0)
			progress_set_total(&progress, "image",
					   (uint64_t)json_integer_value(json_object_get(image, "Size")));
		json_decref(image);
		error_clear(&ignored);
	}
	say(cli, "backing up '%s' (%s) into '%s'", t->name, t->version ? t->version : "version unknown",
	    d.backup_dir);
	if (snapshot_create(cli->docker, t, &d, &opts, &r, &err) < 0) {
		progress_done(&progress);
		goto out;
	}
	progress_done(&progress);
	{
		/* The snapshot exists and is sealed: a history that cannot take the
		 * commit is worth a warning, not a failed backup. */
		struct cpactl_error history_err = CPACTL_ERROR_INIT;
		if (cli_commit_config(cli, &d, r.path, r.id, t, "backup", &history_err) < 0) {
			warn("config.yaml was not committed to the history: %s", history_err.message);
			json_array_append_new(r.warnings, json_string("config.yaml was not committed to the history"));
		}
	}
	{
		json_t *w;
		size_t i;
		json_array_foreach(r.warnings, i, w)
			if (!cli->quiet)
				warn("%s", json_string_value(w));
	}
	{
		char total[32], added[32];
		human_bytes(r.bytes, total, sizeof(total));
		human_bytes(r.new_bytes, added, sizeof(added));
		say(cli, "snapshot %s: %s, %s new on disk%s", r.id, total, added,
		    r.image_reused ? " (image unchanged: no image bytes saved again)" : "");
	}
	if (r.rollback_tag)
		say(cli, "image tagged %s for a local rollback", r.rollback_tag);
	result = json_pack("{s:s,s:s,s:s,s:s?,s:s?,s:I,s:I,s:b,s:s?,s:O}", "id", r.id, "path", r.path, "container",
			   t->name, "version", t->version, "image", t->image, "bytes", (json_int_t)r.bytes,
			   "new_bytes", (json_int_t)r.new_bytes, "image_reused", r.image_reused,
			   "rollback_tag", r.rollback_tag, "warnings", r.warnings);
	rc = 0;
out:
	lock_release(&lock);
	snapshot_result_release(&r);
	deployment_release(&d);
	cpa_targets_free(targets, count);
	if (cli_interrupted && err.kind == ERR_NONE)
		error_set(&err, ERR_FAILED,
			  "interrupted by a signal: an unfinished snapshot is never listed; run 'cpactl "
			  "backup' again");
	return cli_finish(cli, result, rc, &err, EXIT_OK);
}
