/*
 * cmd_verify.c - `cpactl verify [ID]`: re-hash snapshots, trust nothing.
 */
#include <stdio.h>

#include "../lib/snapshot.h"
#include "cli.h"

/* The paragraph under the synopsis of `cpactl help verify` (main.c's verb table). */
const char verify_help[] =
	"Re-hashes the manifest of each snapshot (or only ID) against its seal, every\n"
	"part against the manifest and every image blob against its name, and names\n"
	"exactly what is missing or corrupt.  Exits 3 when anything is.  With a\n"
	"container, only its own snapshots are verified (taken of it under its name,\n"
	"or of a container it replaced); another container's are named and skipped.";

const struct cli_option verify_options[] = {
	[ROOT_OPT_ROOT] = { "root", 0, "DIR",
			     "deployment root (default: $CPACTL_ROOT, else the directory of config.yaml)" },
	[ROOT_OPT_COUNT] = { NULL, 0, NULL, NULL },
};

int cmd_verify(struct cli *cli, int argc, char **argv)
{
	struct cpactl_error err = CPACTL_ERROR_INIT;
	struct cpa_target *targets = NULL, *t = NULL;
	struct deployment d = { 0 };
	const char *root = NULL, *id = NULL;
	json_t *report = NULL, *skipped = NULL, *item, *p;
	size_t count = 0, i, k;
	int first, all_ok = 1, rc = -1;

	first = cli_parse(cli, argc, argv, cli_root_option, &root);
	if (first < 0)
		return first == -2 ? EXIT_OK : EXIT_USAGE;
	if (first < argc)
		id = argv[first++];
	if (first < argc)
		return cli_usage(cli, "unexpected argument '%s'", argv[first]);
	if (cli_deployment(cli, root, 0, &targets, &count, &t, &d, &err) < 0)
		goto out;
	/* With a container, only its own snapshots (a shared root holds
	 * others'); with none running, every snapshot under the root. */
	if (snapshot_verify_own(&d, t, id, &report, &all_ok, &skipped, &err) < 0)
		goto out;
	json_array_foreach(skipped, i, item)
		say(cli, "%s not verified: it was taken of container '%s', not of '%s' (verify it with --container %s)",
		    json_string_value(json_object_get(item, "id")),
		    json_string_value(json_object_get(item, "container")), t->name,
		    json_string_value(json_object_get(item, "container")));
	if (!cli->quiet && !cli->json) {
		json_array_foreach(report, i, item) {
			int ok = json_is_true(json_object_get(item, "ok"));
			fprintf(stderr, "%s %s\n", json_string_value(json_object_get(item, "id")), ok ? "ok" : "FAILED");
			json_array_foreach(json_object_get(item, "problems"), k, p)
				fprintf(stderr, "  %s\n", json_string_value(p));
		}
		if (json_array_size(report) == 0)
			say(cli, "no snapshot under '%s'", d.root);
	}
	rc = 0;
out:
	json_decref(skipped);
	deployment_release(&d);
	cpa_targets_free(targets, count);
	return cli_finish(cli, report, rc, &err, all_ok ? EXIT_OK : EXIT_PROBLEMS);
}
