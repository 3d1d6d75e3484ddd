/*
 * cmd_upgrade.c - `cpactl upgrade`: the safe upgrade of lib/upgrade.h, with
 * the confirmation rules of the runbook: a prompt on a terminal; without one,
 * nothing changes unless --yes (cron and AI agents must opt in, exit 5
 * otherwise); --dry-run stops before production and prints the plan.
 */
#include <stdlib.h>
#include <string.h>

#include "../lib/lock.h"
#include "../lib/registry.h"
#include "../lib/upgrade.h"
#include "cli.h"
#include "interact.h"

/* The paragraph under the synopsis of `cpactl help upgrade` (main.c's verb table). */
const char upgrade_help[] =
	"Upgrades a CPA container safely: takes a snapshot, pulls the target image, runs\n"
	"it as a candidate with no network, on scratch copies of config.yaml, the auth\n"
	"dir and the plugins (logs: an empty dir; other mounts read-only), judges it (/v1/models with the configured key, the models and clients\n"
	"production has, no fatal log line, the expected version), asks for\n"
	"confirmation, then replaces production keeping the old container stopped as\n"
	"NAME-cpactl-prev-<ID>, verifies it on the real port and rolls back by itself\n"
	"when that fails.  Without a terminal nothing changes unless --yes (exit 5).";

const struct cli_option upgrade_options[] = {
	[UPGRADE_OPT_IMAGE] = { "image", 0, "REF",
				 "target image: a tag or a digest (default: the same repository, tag latest)" },
	[UPGRADE_OPT_TEST_PORT] = { "test-port", 0, "PORT",
				     "with --candidate-network shared: host port of the candidate, on 127.0.0.1 "
				     "only (default 8318)" },
	[UPGRADE_OPT_CANDIDATE_NETWORK] = { "candidate-network", 0, "MODE",
					     "isolated (default): the candidate has no network, probed inside its "
					     "namespace (root, local engine); shared: production's network and "
					     "127.0.0.1:PORT, it can refresh tokens upstream" },
	[UPGRADE_OPT_CANDIDATE_WITHOUT_STORE] = { "candidate-without-store", 0, NULL,
						   "with a remote store (PGSTORE_DSN, ...): test the candidate on the "
						   "local config.yaml and auth dir, without the store's variables" },
	[UPGRADE_OPT_TIMEOUT] = { "timeout", 0, "SECONDS", "deadline for a release to serve /v1/models (default 60)" },
	[UPGRADE_OPT_YES] = { "yes", 'y', NULL, "replace production without asking (needed without a terminal)" },
	[UPGRADE_OPT_DRY_RUN] = { "dry-run", 'n', NULL,
				   "test the candidate, print the plan and the verdict, change nothing" },
	[UPGRADE_OPT_NO_BACKUP] = { "no-backup", 0, NULL, "skip the snapshot before the upgrade" },
	[UPGRADE_OPT_NO_PULL] = { "no-pull", 0, NULL, "use the target image already in the engine" },
	[UPGRADE_OPT_FORCE] = { "force", 0, NULL, "upgrade even when the target image is the running one" },
	[UPGRADE_OPT_ALLOW_MISSING_MODELS] = { "allow-missing-models", 0, NULL,
						"accept a release that serves fewer models than production" },
	[UPGRADE_OPT_ALLOW_FEWER_CLIENTS] = { "allow-fewer-clients", 0, NULL,
					       "accept a release that loads fewer clients than production" },
	[UPGRADE_OPT_ALLOW_DOWNGRADE] = { "allow-downgrade", 0, NULL,
					   "accept a target version older than the running one" },
	[UPGRADE_OPT_KEEP_CONFIG] = { "keep-config", 0, NULL,
				       "keep production's config.yaml even if the new release migrates it" },
	[UPGRADE_OPT_ROOT] = { "root", 0, "DIR",
				"deployment root (default: $CPACTL_ROOT, else the directory of config.yaml)" },
	[UPGRADE_OPT_WAIT] = { "wait", 0, "SECONDS", "wait this long for another cpactl to release the lock" },
	[UPGRADE_OPT_UPDATE_COMPOSE_FILE] = { "update-compose-file", 0, NULL,
					       "point the compose file's image: line at the new image (a copy is kept)" },
	[UPGRADE_OPT_START] = { "start", 0, NULL,
				 "production is stopped: upgrade it anyway and start the new release" },
	[UPGRADE_OPT_CHECK] = { "check", 0, NULL,
				"change nothing: list the releases in the registry newer than the running one, "
				"exit 3 when there is one" },
	[UPGRADE_OPT_TO] = { "to", 0, "PATTERN",
			     "with --check: only releases whose tag matches PATTERN (a glob, e.g. 'v7.2.*')" },
	[UPGRADE_OPT_COUNT] = { NULL, 0, NULL, NULL },
};

struct upgrade_args {
	struct upgrade_options o;
	int yes;
	const char *root;
	int wait;
	long timeout_ms;
	int check;
	const char *to;
};

static int on_option(struct cli *cli, void *ctx, int index, const char *arg)
{
	struct upgrade_args *a = ctx;
	char *end;
	long port;

	switch (index) {
	case UPGRADE_OPT_IMAGE: a->o.image = arg; break;
	case UPGRADE_OPT_TEST_PORT:
		port = strtol(arg, &end, 10);
		if (*end || port < 1 || port > 65535)
			return cli_usage(cli, "--test-port wants a port from 1 to 65535, not '%s'", arg), -1;
		a->o.test_port = (int)port;
		break;
	case UPGRADE_OPT_CANDIDATE_NETWORK:
		if (cli_parse_candidate_network(cli, arg, &a->o.shared_network) < 0)
			return -1;
		break;
	case UPGRADE_OPT_CANDIDATE_WITHOUT_STORE: a->o.candidate_without_store = 1; break;
	case UPGRADE_OPT_START: a->o.start_stopped = 1; break;
	case UPGRADE_OPT_CHECK: a->check = 1; break;
	case UPGRADE_OPT_TO: a->to = arg; break;
	case UPGRADE_OPT_TIMEOUT:
		if (cli_parse_timeout(cli, arg, &a->timeout_ms) < 0)
			return -1;
		break;
	case UPGRADE_OPT_YES: a->yes = 1; break;
	case UPGRADE_OPT_DRY_RUN: a->o.dry_run = 1; break;
	case UPGRADE_OPT_NO_BACKUP: a->o.no_backup = 1; break;
	case UPGRADE_OPT_NO_PULL: a->o.no_pull = 1; break;
	case UPGRADE_OPT_FORCE: a->o.force = 1; break;
	case UPGRADE_OPT_ALLOW_MISSING_MODELS: a->o.allow_missing_models = 1; break;
	case UPGRADE_OPT_ALLOW_FEWER_CLIENTS: a->o.allow_fewer_clients = 1; break;
	case UPGRADE_OPT_ALLOW_DOWNGRADE: a->o.allow_downgrade = 1; break;
	case UPGRADE_OPT_KEEP_CONFIG: a->o.keep_config = 1; break;
	case UPGRADE_OPT_ROOT: a->root = arg; break;
	case UPGRADE_OPT_WAIT:
		if (cli_parse_seconds(cli, "--wait", arg, &a->wait) < 0)
			return -1;
		break;
	case UPGRADE_OPT_UPDATE_COMPOSE_FILE: a->o.update_compose_file = 1; break;
	}
	return 0;
}

/* `upgrade --check`: the registry's releases newer than production's, for
 * a person, cron or an agent to decide on; nothing is changed, no lock. */
static int check_releases(struct cli *cli, const struct upgrade_args *a)
{
	struct cpactl_error err = CPACTL_ERROR_INIT;
	struct cpa_target *targets = NULL, *t = NULL;
	json_t *report = NULL, *item;
	size_t count = 0, i;
	int rc = -1, available = 0;

	if (cli_one_target(cli, 0, &targets, &count, &t, &err) < 0 ||
	    registry_check(t->image, t->version, a->to, a->o.allow_downgrade, &report, &err) < 0)
		goto out;
	/* The upgrade document (cpactl-json(7)), with what the registry has. */
	available = json_is_true(json_object_get(report, "update_available"));
	json_object_set_new(report, "outcome", json_string(available ? "update-available" : UPGRADE_UP_TO_DATE));
	json_object_set_new(report, "container", json_string(t->name));
	json_object_set_new(report, "from", json_pack("{s:s?,s:s?,s:s?}", "image", t->image, "image_id", t->image_id,
						      "version", t->version));
	json_object_set_new(report, "steps", json_array());
	json_object_del(report, "running_version");
	if (!cli->json) {
		json_t *latest = json_object_get(report, "latest");
		say(cli, "'%s' runs %s (%s)", t->name, t->version ? t->version : "an unknown version", t->image);
		if (json_is_object(latest))
			say(cli, "latest is %s (%.19s)",
			    json_string_value(json_object_get(latest, "version")) ?: "not a release tag cpactl can name",
			    json_string_value(json_object_get(latest, "digest")));
		json_array_foreach(json_object_get(report, "newer"), i, item)
			say(cli, "  %s %s", json_string_value(json_object_get(item, "tag")),
			    json_string_value(json_object_get(item, "digest")) ?: "");
		if (available)
			say(cli, "upgrade with: cpactl upgrade --container %s --image %s", t->name,
			    json_string_value(json_object_get(report, "target")) ?: "?");
		else
			say(cli, "no newer release%s%s", a->to ? " matching " : "", a->to ? a->to : "");
	}
	rc = 0;
out:
	cpa_targets_free(targets, count);
	return cli_finish(cli, report, rc, &err, available ? EXIT_PROBLEMS : EXIT_OK);
}

int cmd_upgrade(struct cli *cli, int argc, char **argv)
{
	struct cpactl_error err = CPACTL_ERROR_INIT;
	struct upgrade_args args;
	struct cpa_target *targets = NULL, *t = NULL;
	struct deployment d = { 0 };
	struct lock lock = { -1 };
	struct interaction x;
	json_t *report = NULL;
	size_t count = 0;
	int first, rc = -1;

	memset(&args, 0, sizeof(args));
	args.o.test_port = 8318;
	args.timeout_ms = 60000;
	first = cli_parse(cli, argc, argv, on_option, &args);
	if (first < 0)
		return first == -2 ? EXIT_OK : EXIT_USAGE;
	if (first < argc)
		return cli_usage(cli, "unexpected argument '%s'", argv[first]);
	if (args.to && !args.check)
		return cli_usage(cli, "--to goes with --check");
	if (args.check)
		return check_releases(cli, &args);
	interaction_init(&x, cli, args.yes);
	args.o.timeout_ms = args.timeout_ms;
	interaction_wire_upgrade(&x, &args.o);
	if (cli_deployment(cli, args.root, 1, &targets, &count, &t, &d, &err) < 0 ||
	    deployment_prepare(&d, &err) < 0 || lock_acquire(d.lock_path, "upgrade", args.wait, &lock, &err) < 0)
		goto out;
	cli_catch_interrupts();
	snapshot_sweep(&d);
	rc = upgrade_run(cli->docker, t, &d, &args.o, &report, &err);
	progress_done(&x.progress);
out:
	lock_release(&lock);
	deployment_release(&d);
	cpa_targets_free(targets, count);
	return cli_finish(cli, report, rc, &err, EXIT_OK);
}
