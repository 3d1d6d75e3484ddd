/*
 * cmd_list.c - `cpactl list`: the snapshots of a deployment.
 */
#include <stdio.h>

#include "../lib/snapshot.h"
#include "cli.h"
#include "progress.h"

/* The paragraph under the synopsis of `cpactl help list` (main.c's verb table). */
const char list_help[] =
	"Lists every snapshot in ROOT/backup and ROOT/archive: id, date, version, image,\n"
	"size, the bytes it added to disk, and whether it can be restored offline (all\n"
	"its image blobs are present).";

const struct cli_option list_options[] = {
	[ROOT_OPT_ROOT] = { "root", 0, "DIR",
			     "deployment root (default: $CPACTL_ROOT, else the directory of config.yaml)" },
	[ROOT_OPT_COUNT] = { NULL, 0, NULL, NULL },
};

int cmd_list(struct cli *cli, int argc, char **argv)
{
	struct cpactl_error err = CPACTL_ERROR_INIT;
	struct cpa_target *targets = NULL, *t = NULL;
	struct deployment d = { 0 };
	const char *root = NULL;
	json_t *list = NULL, *item;
	size_t count = 0, i;
	int first, rc = -1;

	first = cli_parse(cli, argc, argv, cli_root_option, &root);
	if (first < 0)
		return first == -2 ? EXIT_OK : EXIT_USAGE;
	if (first < argc)
		return cli_usage(cli, "unexpected argument '%s'", argv[first]);
	if (cli_deployment(cli, root, 0, &targets, &count, &t, &d, &err) < 0 || snapshot_list(&d, &list, &err) < 0)
		goto out;
	if (!cli->json && !cli->quiet) {
		if (json_array_size(list) == 0)
			say(cli, "no snapshot under '%s' (take one with 'cpactl backup')", d.root);
		else
			fprintf(stderr, "%-16s %-21s %-20s %-9s %-10s %-10s %-8s %s\n", "ID", "CREATED", "CONTAINER",
				"VERSION", "SIZE", "NEW", "OFFLINE", "IMAGE");
		json_array_foreach(list, i, item) {
			char size[32], added[32];
			const char *loc = json_string_value(json_object_get(item, "location"));
			human_bytes((uint64_t)json_integer_value(json_object_get(item, "bytes")), size, sizeof(size));
			human_bytes((uint64_t)json_integer_value(json_object_get(item, "new_bytes")), added, sizeof(added));
			fprintf(stderr, "%-16s %-21s %-20s %-9s %-10s %-10s %-8s %s%s%s%s\n",
				json_string_value(json_object_get(item, "id")),
				json_string_value(json_object_get(item, "created")) ?: "?",
				json_string_value(json_object_get(item, "container")) ?: "?",
				json_string_value(json_object_get(item, "version")) ?: "?", size, added,
				json_is_true(json_object_get(item, "offline")) ? "yes" : "no",
				json_string_value(json_object_get(item, "image")) ?: "?",
				loc && loc[0] == 'a' ? "  [" : "", loc && loc[0] == 'a' ? loc : "",
				loc && loc[0] == 'a' ? "]" : "");
		}
	}
	rc = 0;
out:
	deployment_release(&d);
	cpa_targets_free(targets, count);
	return cli_finish(cli, list, rc, &err, EXIT_OK);
}
