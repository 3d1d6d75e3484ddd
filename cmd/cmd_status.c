/*
 * cmd_status.c - `cpactl status`: is each CPA container serving right now?
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/discover.h"
#include "../lib/health.h"
#include "cli.h"

/* The paragraph under the synopsis of `cpactl help status` (main.c's verb table). */
const char status_help[] =
	"Probes /v1/models on each CPA container with its first configured API key and\n"
	"reports the HTTP status, model count and latency, uptime, restart count,\n"
	"memory and CPU, and trouble lines in its recent log.  Exits 3 when any\n"
	"container is not healthy, or when none is found.";

const struct cli_option status_options[] = {
	[STATUS_OPT_TIMEOUT] = { "timeout", 0, "SECONDS", "deadline of each API probe (default 5)" },
	[STATUS_OPT_COUNT] = { NULL, 0, NULL, NULL },
};

struct status_args {
	long timeout_ms;
};

static int on_option(struct cli *cli, void *ctx, int index, const char *arg)
{
	struct status_args *a = ctx;

	if (index == STATUS_OPT_TIMEOUT)
		return cli_parse_timeout(cli, arg, &a->timeout_ms);
	return 0;
}

int cmd_status(struct cli *cli, int argc, char **argv)
{
	struct cpactl_error err = CPACTL_ERROR_INIT;
	struct status_args args = { 5000 };
	struct discover_options opts = { 0 };
	struct cpa_target *targets = NULL;
	size_t count = 0;
	json_t *result = NULL;
	int first, unhealthy = 0, rc = -1;

	first = cli_parse(cli, argc, argv, on_option, &args);
	if (first < 0)
		return first == -2 ? EXIT_OK : EXIT_USAGE;
	if (first < argc)
		return cli_usage(cli, "unexpected argument '%s'", argv[first]);
	cli_discover_options(cli, &opts);
	opts.skip_version = 0;
	if (cli_docker(cli, &err) < 0 || discover_targets(cli->docker, &opts, &targets, &count, &err) < 0)
		goto out;
	result = json_array();
	if (!cli->json && !cli->quiet && count)
		fprintf(stderr, "%-24s %-10s %-8s %-6s %-7s %-9s %-8s %-9s %-6s %s\n", "NAME", "VERSION",
			"HEALTH", "HTTP", "MODELS", "LATENCY", "UPTIME", "MEMORY", "ERRORS", "RESTARTS");
	for (size_t i = 0; i < count; i++) {
		struct health_report r;
		json_t *p;
		size_t k;
		char in_progress[400];
		json_t *item;

		if (health_check(cli->docker, &targets[i], args.timeout_ms, 1, &r, &err) < 0)
			goto out;
		if (cli_unfinished_operation(&targets[i], r.reasons, in_progress, sizeof(in_progress)) == 1)
			r.healthy = 0;
		if (!r.healthy)
			unhealthy++;
		item = health_report_to_json(&targets[i], &r);
		json_object_set_new(item, "operation_in_progress", in_progress[0] ? json_string(in_progress) : json_null());
		json_array_append_new(result, item);
		if (!cli->json && !cli->quiet) {
			char http[24] = "-", models[24] = "-", latency[32] = "-", uptime[24] = "-",
			     memory[32] = "-", errors[24] = "-";
			if (r.http_status)
				snprintf(http, sizeof(http), "%ld", r.http_status);
			if (r.models >= 0)
				snprintf(models, sizeof(models), "%ld", r.models);
			if (r.http_status)
				snprintf(latency, sizeof(latency), "%.1fms", r.latency_ms);
			if (r.uptime_seconds >= 0)
				snprintf(uptime, sizeof(uptime), "%lds", r.uptime_seconds);
			if (r.memory_bytes >= 0)
				snprintf(memory, sizeof(memory), "%.1fMB", (double)r.memory_bytes / 1048576.0);
			if (r.error_lines >= 0)
				snprintf(errors, sizeof(errors), "%ld", r.error_lines);
			fprintf(stderr, "%-24s %-10s %-8s %-6s %-7s %-9s %-8s %-9s %-6s %ld\n", targets[i].name,
				targets[i].version ? targets[i].version : "?", r.healthy ? "ok" : "FAIL", http,
				models, latency, uptime, memory, errors, r.restart_count);
			json_array_foreach(r.reasons, k, p)
				fprintf(stderr, "  %s: %s\n", targets[i].name, json_string_value(p));
			if (in_progress[0])
				fprintf(stderr, "  %s: note: %s\n", targets[i].name, in_progress);
		}
		health_report_release(&r);
	}
	/* Nothing to check is not "healthy": a cron job must notice that the
	 * proxy it watches is gone. */
	if (count == 0) {
		say(cli, "no CPA container found on '%s'", docker_client_host(cli->docker));
		unhealthy = 1;
	}
	rc = 0;
out:
	cpa_targets_free(targets, count);
	/* One rule for "not there": no CPA at all and a --container that is
	 * gone are both problems a monitor must see (3), not a failed check. */
	if (err.kind == ERR_NOT_FOUND && cli->container) {
		cli_finish(cli, result, rc, &err, EXIT_PROBLEMS);
		return EXIT_PROBLEMS;
	}
	return cli_finish(cli, result, rc, &err, unhealthy ? EXIT_PROBLEMS : EXIT_OK);
}
