/*
 * cmd_discover.c - `cpactl discover`: list the CPA containers and their baseline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/discover.h"
#include "cli.h"

/* The paragraph under the synopsis of `cpactl help discover` (main.c's verb table). */
const char discover_help[] =
	"Finds every CLIProxyAPI container on the engine without assuming a name, tag,\n"
	"port or path: its image names cli-proxy-api or CLIProxyAPI, or its command runs\n"
	"CLIProxyAPI, or it has the label io.cpactl.target=true (any other value of that\n"
	"label excludes it), or --container names it.  It reports what the runbook's\n"
	"baseline records: version, API port, config and auth locations, keys and\n"
	"providers in use (counts only, never a secret), compose project, and any\n"
	"problem found.";

const struct cli_option discover_options[] = {
	[DISCOVER_OPT_NO_VERSION] = { "no-version", 0, NULL,
				       "do not run the binary for its version (use the image tag)" },
	[DISCOVER_OPT_COUNT] = { NULL, 0, NULL, NULL },
};

struct discover_args {
	int no_version;
};

static int on_option(struct cli *cli, void *ctx, int index, const char *arg)
{
	struct discover_args *a = ctx;
	(void)cli;
	(void)arg;
	if (index == DISCOVER_OPT_NO_VERSION)
		a->no_version = 1;
	return 0;
}

static void format_counts(json_t *obj, char *out, size_t len)
{
	const char *key;
	json_t *v;
	size_t used = 0;

	out[0] = '\0';
	json_object_foreach(obj, key, v) {
		int n = snprintf(out + used, len - used, "%s%s=%lld", used ? "," : "", key,
				 (long long)json_integer_value(v));
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
	if (!used)
		snprintf(out, len, "-");
}

static void print_uptime(char *out, size_t len, long seconds)
{
	if (seconds < 0)
		snprintf(out, len, "-");
	else if (seconds < 120)
		snprintf(out, len, "%lds", seconds);
	else if (seconds < 7200)
		snprintf(out, len, "%ldm", seconds / 60);
	else if (seconds < 172800)
		snprintf(out, len, "%ldh", seconds / 3600);
	else
		snprintf(out, len, "%ldd", seconds / 86400);
}

static void print_target(const struct cpa_target *t)
{
	char providers[256], auth[256], uptime[32], port[96];
	json_t *p;
	size_t i;

	format_counts(t->providers, providers, sizeof(providers));
	format_counts(t->auth_files, auth, sizeof(auth));
	print_uptime(uptime, sizeof(uptime), t->uptime_seconds);
	if (t->has_api_port)
		snprintf(port, sizeof(port), "%s:%d", t->api_host_ip, t->api_host_port);
	else
		snprintf(port, sizeof(port), "not published");
	fprintf(stderr, "%s (%.12s)\n", t->name, t->id);
	fprintf(stderr, "  image         %s (%.19s)\n", t->image ? t->image : "-",
		t->image_id ? t->image_id : "-");
	fprintf(stderr, "  version       %s (%s)\n", t->version ? t->version : "unknown",
		t->version_source ? t->version_source : "unknown");
	fprintf(stderr, "  state         %s, up %s, %ld restarts, restart policy %s\n",
		t->state ? t->state : "-", uptime, t->restart_count,
		t->restart_policy ? t->restart_policy : "-");
	fprintf(stderr, "  api           %s -> %d/tcp\n", port, t->api_container_port);
	if (!t->profile->cpa) {
		fprintf(stderr, "  profile       %s, health GET %s\n", t->profile->name, t->probe_path);
		fprintf(stderr, "  settings      %s (%s)\n", t->config_path ? t->config_path : "the container's environment",
			t->config_storage ? t->config_storage : "no env file found");
		fprintf(stderr, "  client key    %s\n", t->probe_key ? "set" : "none");
		goto tail;
	}
	if (t->cluster)
		fprintf(stderr, "  config        from CLIProxyAPIHome (cluster node, %s); health GET %s\n", t->cluster,
			t->probe_path);
	else
		fprintf(stderr, "  config        %s (%s)\n", t->config_path ? t->config_path : "-",
			t->config_storage ? t->config_storage : "-");
	fprintf(stderr, "  auth dir      %s (%s)\n", t->auth_dir ? t->auth_dir : "-",
		t->auth_storage ? t->auth_storage : "-");
	fprintf(stderr, "  api keys      %ld\n", t->api_keys);
	fprintf(stderr, "  remote mgmt   allow-remote %s, secret-key %s\n",
		t->allow_remote < 0 ? "unset" : t->allow_remote ? "true" : "false",
		t->secret_key_set ? "set" : "not set");
	fprintf(stderr, "  providers     %s\n", providers);
	fprintf(stderr, "  auth files    %s\n", auth);
tail:
	if (t->compose)
		fprintf(stderr, "  compose       project %s, service %s\n",
			json_string_value(json_object_get(t->compose, "project")) ?: "-",
			json_string_value(json_object_get(t->compose, "service")) ?: "-");
	json_array_foreach(t->problems, i, p)
		fprintf(stderr, "  problem       %s\n", json_string_value(p));
}

int cmd_discover(struct cli *cli, int argc, char **argv)
{
	struct cpactl_error err = CPACTL_ERROR_INIT;
	struct discover_args args = { 0 };
	struct discover_options opts = { 0 };
	struct cpa_target *targets = NULL;
	size_t count = 0;
	json_t *result = NULL;
	int first, rc = -1;

	first = cli_parse(cli, argc, argv, on_option, &args);
	if (first < 0)
		return first == -2 ? EXIT_OK : EXIT_USAGE;
	if (first < argc)
		return cli_usage(cli, "unexpected argument '%s'", argv[first]);
	cli_discover_options(cli, &opts);
	opts.skip_version = args.no_version;
	if (cli_docker(cli, &err) < 0 || discover_targets(cli->docker, &opts, &targets, &count, &err) < 0)
		goto out;
	result = json_array();
	for (size_t i = 0; i < count; i++) {
		cli_unfinished_operation(&targets[i], targets[i].problems, NULL, 0);
		json_array_append_new(result, cpa_target_to_json(&targets[i]));
		if (!cli->json && !cli->quiet) {
			print_target(&targets[i]);
			if (i + 1 < count)
				fputc('\n', stderr);
		}
	}
	if (count == 0)
		say(cli, "no CPA container found on '%s' (a container counts when its image names "
			 "cli-proxy-api or it carries the label io.cpactl.target=true)",
		    docker_client_host(cli->docker));
	rc = 0;
out:
	cpa_targets_free(targets, count);
	return cli_finish(cli, result, rc, &err, EXIT_OK);
}
