/*
 * cmd_doctor.c - `cpactl doctor`: what is wrong with each CPA deployment, and
 * how to fix it.
 *
 * Reads only: no lock, no change.  Exit 0 when nothing is above info, 3
 * otherwise.  With one container the JSON document is
 * {container, findings, summary}; with several, an array of those.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../lib/doctor.h"
#include "cli.h"

/* The paragraph under the synopsis of `cpactl help doctor` (main.c's verb table). */
const char doctor_help[] =
	"Looks at each CPA container (or --container) from every side and reports\n"
	"findings, each with a severity (error, warning, info), a stable code, one\n"
	"sentence on what is wrong and one on how to fix it: ports published on all\n"
	"interfaces, config.yaml (missing, a directory, read-only, its settings), the auth\n"
	"dir and file modes, secrets in the environment, no-new-privileges, restart\n"
	"policy and count, memory, snapshots (age, verification, modes), an unfinished\n"
	"operation, disk space, and /v1/models with the configured key.  Reads only.\n"
	"Exits 3 when anything is above info.";

const struct cli_option doctor_options[] = {
	[DOCTOR_OPT_ROOT] = { "root", 0, "DIR",
			       "deployment root (default: $CPACTL_ROOT, else the directory of config.yaml)" },
	[DOCTOR_OPT_TIMEOUT] = { "timeout", 0, "SECONDS", "deadline of the /v1/models probe (default 5)" },
	[DOCTOR_OPT_COUNT] = { NULL, 0, NULL, NULL },
};

struct doctor_args {
	const char *root;
	long timeout_ms;
};

static int on_option(struct cli *cli, void *ctx, int index, const char *arg)
{
	struct doctor_args *a = ctx;

	if (index == DOCTOR_OPT_ROOT)
		a->root = arg;
	else if (index == DOCTOR_OPT_TIMEOUT)
		return cli_parse_timeout(cli, arg, &a->timeout_ms);
	return 0;
}

/* The clock snapshot ages are measured against.  CPACTL_TEST_NOW (seconds
 * since the epoch) lets the test suite age a snapshot without waiting a day. */
static time_t doctor_now(void)
{
	const char *fake = getenv("CPACTL_TEST_NOW");
	char *end;
	long long v;

	if (fake && *fake) {
		v = strtoll(fake, &end, 10);
		if (!*end && v > 0)
			return (time_t)v;
	}
	return time(NULL);
}

static void print_findings(const struct cli *cli, const char *container, const struct finding_list *list)
{
	int counts[3] = { 0, 0, 0 };

	for (size_t i = 0; i < list->count; i++) {
		const struct finding *f = &list->items[i];
		counts[f->severity]++;
		fprintf(stderr, "%s: %-7s %s: %s\n", container, finding_severity_name(f->severity), f->code, f->what);
		fprintf(stderr, "%*s fix: %s\n", (int)strlen(container) + 8, "", f->fix);
	}
	say(cli, "%s: %d error%s, %d warning%s, %d info", container, counts[FINDING_ERROR],
	    counts[FINDING_ERROR] == 1 ? "" : "s", counts[FINDING_WARNING], counts[FINDING_WARNING] == 1 ? "" : "s",
	    counts[FINDING_INFO]);
}

static json_t *findings_document(const char *container, const struct finding_list *list)
{
	json_int_t counts[3] = { 0, 0, 0 };

	for (size_t i = 0; i < list->count; i++)
		counts[list->items[i].severity]++;
	return json_pack("{s:s,s:o,s:{s:I,s:I,s:I}}", "container", container, "findings", finding_list_json(list),
			 "summary", "error", counts[FINDING_ERROR], "warning", counts[FINDING_WARNING], "info",
			 counts[FINDING_INFO]);
}

int cmd_doctor(struct cli *cli, int argc, char **argv)
{
	struct cpactl_error err = CPACTL_ERROR_INIT;
	struct doctor_args args = { NULL, 5000 };
	struct doctor_options o;
	struct cpa_target *targets = NULL;
	size_t count = 0;
	json_t *documents = NULL, *result = NULL;
	int first, problems = 0, rc = -1;

	first = cli_parse(cli, argc, argv, on_option, &args);
	if (first < 0)
		return first == -2 ? EXIT_OK : EXIT_USAGE;
	if (first < argc)
		return cli_usage(cli, "unexpected argument '%s'", argv[first]);
	if (cli_targets(cli, 0, &targets, &count, &err) < 0)
		goto out;
	/* One root belongs to one deployment: with several containers it would
	 * be checked against each of them. */
	if (args.root && count > 1) {
		error_set(&err, ERR_USAGE, "--root names one deployment but %zu CPA containers were found: name "
					   "one with --container", count);
		goto out;
	}
	memset(&o, 0, sizeof(o));
	o.root = args.root;
	o.now = doctor_now();
	o.timeout_ms = args.timeout_ms;
	documents = json_array();
	for (size_t i = 0; i < count; i++) {
		struct finding_list list = FINDING_LIST_INIT;
		if (doctor_check(cli->docker, &targets[i], &o, &list, &err) < 0) {
			finding_list_release(&list);
			goto out;
		}
		if (finding_list_worst(&list) > FINDING_INFO)
			problems = 1;
		if (!cli->json && !cli->quiet)
			print_findings(cli, targets[i].name, &list);
		json_array_append_new(documents, findings_document(targets[i].name, &list));
		finding_list_release(&list);
	}
	result = count == 1 ? json_incref(json_array_get(documents, 0)) : json_incref(documents);
	rc = 0;
out:
	json_decref(documents);
	cpa_targets_free(targets, count);
	return cli_finish(cli, result, rc, &err, problems ? EXIT_PROBLEMS : EXIT_OK);
}
