/*
 * main.c - cpactl's entry point: global options and the one table of verbs.
 *
 * Adding a verb means adding a row here and a cmd_<verb>.c; the help text, the
 * man page and the completions list the same verbs (a test checks it).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "cli.h"
#include "../lib/notify.h"

const struct verb verbs[] = {
	{ "discover", "find every CPA container and describe it",
	  "[--container NAME] [--no-version] [--json]",
	  "Finds every CLIProxyAPI container on the engine without assuming a name, tag,\n"
	  "port or path: its image names cli-proxy-api or CLIProxyAPI, or its command runs\n"
	  "CLIProxyAPI, or it has the label io.cpactl.target=true (any other value of that\n"
	  "label excludes it), or --container names it.  It reports what the runbook's\n"
	  "baseline records: version, API port, config and auth locations, keys and\n"
	  "providers in use (counts only, never a secret), compose project, and any\n"
	  "problem found.",
	  discover_options, cmd_discover },
	{ "status", "check that each CPA container serves",
	  "[--container NAME] [--timeout SECONDS] [--json]",
	  "Probes /v1/models on each CPA container with its first configured API key and\n"
	  "reports the HTTP status, model count and latency, uptime, restart count,\n"
	  "memory and CPU, and trouble lines in its recent log.  Exits 3 when any\n"
	  "container is not healthy, or when none is found.",
	  status_options, cmd_status },
	{ "backup", "take a snapshot: image, config.yaml, auth dir, baseline",
	  "[--container NAME] [--root DIR] [--no-image] [--no-config] [--wait SECONDS] [--json]",
	  "Takes a snapshot of a CPA deployment into ROOT/backup/<ID> (ID = UTC\n"
	  "YYYYmmdd-HHMMSS): the container definition, config.yaml byte for byte, the auth\n"
	  "dir as a tar, the image into a deduplicating blob store, and the runbook's\n"
	  "baseline.  The snapshot appears only when complete; the image is tagged\n"
	  "cpactl-rollback:<name>-<ID>; config.yaml is committed to the config history.",
	  backup_options, cmd_backup },
	{ "upgrade", "test a new release on a scratch copy, then replace production",
	  "[--container NAME] [--image REF] [--test-port PORT] [--timeout SECONDS] [--yes] [--dry-run] [--json]",
	  "Upgrades a CPA container safely: takes a snapshot, pulls the target image, runs\n"
	  "it as a candidate on 127.0.0.1:PORT with scratch copies of config.yaml and the\n"
	  "auth dir, judges it (/v1/models with the configured key, the models and clients\n"
	  "production has, no fatal log line, the expected version), asks for\n"
	  "confirmation, then replaces production keeping the old container stopped as\n"
	  "NAME-cpactl-prev-<ID>, verifies it on the real port and rolls back by itself\n"
	  "when that fails.  Without a terminal nothing changes unless --yes (exit 5).",
	  upgrade_options, cmd_upgrade },
	{ "rollback", "bring production back to a snapshot",
	  "[ID] [--container NAME] [--auth] [--yes] [--dry-run] [--no-backup] [--timeout SECONDS] [--root DIR] "
	  "[--wait SECONDS] [--json]",
	  "Brings the CPA container back to snapshot ID (default: the snapshot the last\n"
	  "upgrade took), in backup/ or archive/: its image, config.yaml and container\n"
	  "definition (name, ports, mounts, networks), then verifies it on the real port\n"
	  "and puts the replaced container back if it does not serve.  The snapshot is\n"
	  "verified first and refused when anything in it is wrong.  The current state is\n"
	  "backed up first.  The image comes from the kept previous container of that\n"
	  "upgrade (a stop and a start), the engine, or the blob store.  OAuth tokens\n"
	  "rotate, so only auth files missing now are restored and the ones that differ\n"
	  "are named; --auth restores the auth dir exactly.  Without a terminal nothing\n"
	  "changes unless --yes (exit 5).",
	  rollback_options, cmd_rollback },
	{ "recover", "finish or undo an upgrade, rollback or config change that a crash interrupted",
	  "[--container NAME] [--root DIR] [--wait SECONDS] [--json]",
	  "Reads the journal of an operation that did not finish (cpactl was killed, the\n"
	  "machine lost power, the engine restarted) and brings the deployment back to a\n"
	  "consistent, serving state: it finishes the upgrade or rollback when that is\n"
	  "safe and the new release serves, otherwise it undoes it, and says which.",
	  recover_options, cmd_recover },
	{ "list", "list the snapshots of a deployment",
	  "[--container NAME] [--root DIR] [--json]",
	  "Lists every snapshot in ROOT/backup and ROOT/archive: id, date, version, image,\n"
	  "size, the bytes it added to disk, and whether it can be restored offline (all\n"
	  "its image blobs are present).",
	  list_options, cmd_list },
	{ "verify", "re-hash snapshots and name what is missing or corrupt",
	  "[ID] [--container NAME] [--root DIR] [--json]",
	  "Re-hashes the manifest of each snapshot (or only ID) against its seal, every\n"
	  "part against the manifest and every image blob against its name, and names\n"
	  "exactly what is missing or corrupt.  Exits 3 when anything is.",
	  verify_options, cmd_verify },
	{ "archive", "move old snapshots aside, keep the newest archives, free the space",
	  "[--container NAME] [--root DIR] [--keep N] [--prune-images] [--dry-run] [--wait SECONDS] [--json]",
	  "Moves every snapshot of ROOT/backup but the newest into a new\n"
	  "ROOT/archive/<YYYYmmdd-HHMM> with a README.md and the listing of backup/ before,\n"
	  "keeps the newest N archives (default 2) and deletes the older ones, then removes\n"
	  "the image blobs, index files and seals no remaining snapshot needs, and the\n"
	  "stopped NAME-cpactl-prev/failed-<ID> containers and cpactl-rollback tags of\n"
	  "snapshots older than the one left in backup/.  The last snapshot that can be\n"
	  "rolled back to offline is always kept.  The live config.yaml, the auth dir and\n"
	  "the running container are never touched.  A crash at any point is finished by\n"
	  "the next run.",
	  archive_options, cmd_archive },
	{ "config", "history of config.yaml; check it; apply a new one or an old one",
	  "log|diff|show|check|apply|restore [FILE|REV|ID]... [--container NAME] [--root DIR] [--show-secrets] "
	  "[--yes] [--dry-run] [--reload] [--json]",
	  "The config history is a git repository under ROOT/.cpactl/history that\n"
	  "'cpactl backup' commits config.yaml to when it changed.  'config log' lists its\n"
	  "commits, newest first; 'config show REV' prints config.yaml as of a commit\n"
	  "(HEAD, HEAD~1, a hash, or a snapshot id); 'config diff [A [B]]' prints a unified\n"
	  "diff: HEAD against the live config.yaml, A against the live file, or A against\n"
	  "B.  Secret values (api keys, secret-key, proxy-url, tokens, headers) are\n"
	  "printed as *** unless --show-secrets.  'config check [FILE]' audits FILE or the\n"
	  "live config.yaml (YAML errors with line and column, types, unknown keys, an\n"
	  "open proxy, exposed management, keys a CPA version migrates or ignores) and\n"
	  "exits 3 on a warning or an error.  'config apply FILE' and 'config restore\n"
	  "REV|ID' check the file (an error refuses), back up, test it on a candidate,\n"
	  "restart production with it and roll back by themselves; --reload lets the\n"
	  "running CPA reload the file instead (no candidate test, no restart).  Without\n"
	  "a terminal nothing changes unless --yes (exit 5).",
	  config_options, cmd_config },
	{ "doctor", "name what is wrong with a deployment and how to fix it",
	  "[--container NAME] [--root DIR] [--timeout SECONDS] [--json]",
	  "Looks at each CPA container (or --container) from every side and reports\n"
	  "findings, each with a severity (error, warning, info), a stable code, one\n"
	  "sentence on what is wrong and one on how to fix it: ports published on all\n"
	  "interfaces, config.yaml (missing, a directory, read-only, its settings), the auth\n"
	  "dir and file modes, secrets in the environment, no-new-privileges, restart\n"
	  "policy and count, memory, snapshots (age, verification, modes), an unfinished\n"
	  "operation, disk space, and /v1/models with the configured key.  Reads only.\n"
	  "Exits 3 when anything is above info.",
	  doctor_options, cmd_doctor },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};

const struct verb *verb_find(const char *name)
{
	for (const struct verb *v = verbs; v->name; v++)
		if (strcmp(v->name, name) == 0)
			return v;
	return NULL;
}

/* Global options may come before the verb: they are handed to the verb's own
 * parser, which knows them too. */
static int is_global_with_arg(const char *a)
{
	return cli_global_takes_arg(a);
}

/* The notification URL, found before any parsing so that even a usage error
 * in a verb's options is notified: the last --notify URL (or --notify=URL),
 * else $CPACTL_NOTIFY_URL.  *source names where it came from. */
static const char *notify_url_of(int argc, char **argv, const char **source)
{
	const char *url = NULL;

	*source = "--notify";
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--notify") == 0 && i + 1 < argc)
			url = argv[++i];
		else if (strncmp(argv[i], "--notify=", 9) == 0)
			url = argv[i] + 9;
	}
	if (!url) {
		url = getenv(NOTIFY_URL_ENV);
		*source = NOTIFY_URL_ENV;
		/* An empty variable is how a unit file switches it off. */
		if (url && !*url)
			url = NULL;
	}
	return url;
}

/* A usage error before any verb runs: one JSON document too with --json. */
static int early_usage(int json, const char *fmt, const char *arg)
{
	char text[300];

	snprintf(text, sizeof(text), fmt, arg);
	if (json) {
		json_t *doc = json_pack("{s:{s:s,s:s}}", "error", "code", "usage", "message", text);
		json_dumpf(doc, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(doc);
	}
	fprintf(stderr, "cpactl: %s (see 'cpactl --help')\n", text);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	struct cli cli;
	const struct verb *verb = NULL;
	int verb_at = -1, rc, json = 0;
	struct cpactl_error err = CPACTL_ERROR_INIT;
	const char *notify_source;

	memset(&cli, 0, sizeof(cli));
	/* A reader that goes away (a pipe to the image store, `| head`) must
	 * give an error to handle, not kill cpactl mid-write. */
	signal(SIGPIPE, SIG_IGN);
	/* Everything cpactl creates holds secrets or describes them: private by
	 * default.  Live files keep their own modes (they are replaced with
	 * explicit ones). */
	umask(077);
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0)
			break;
		if (a[0] == '-') {
			if (is_global_with_arg(a))
				i++;
			else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
				cli_help(stdout, NULL);
				return EXIT_OK;
			} else if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
				printf("cpactl %s\n", CPACTL_VERSION);
				return EXIT_OK;
			}
			continue;
		}
		verb_at = i;
		break;
	}
	if (verb_at < 0) {
		if (!json)
			cli_help(stderr, NULL);
		return early_usage(json, "no verb given%s", "");
	}
	if (strcmp(argv[verb_at], "help") == 0) {
		if (verb_at + 1 >= argc) {
			cli_help(stdout, NULL);
			return EXIT_OK;
		}
		if (strcmp(argv[verb_at + 1], "help") == 0) {
			cli_help(stdout, NULL);
			return EXIT_OK;
		}
		verb = verb_find(argv[verb_at + 1]);
		if (!verb)
			return early_usage(json, "unknown verb '%s'", argv[verb_at + 1]);
		cli_help(stdout, verb);
		return EXIT_OK;
	}
	verb = verb_find(argv[verb_at]);
	if (!verb)
		return early_usage(json, "unknown verb '%s'", argv[verb_at]);
	cli.verb = verb;
	cli.notify_url = notify_url_of(argc, argv, &notify_source);
	if (cli.notify_url && notify_url_check(cli.notify_url, notify_source, &err) < 0)
		return early_usage(json, "%s", err.message);
	/* Drop the verb from argv so the verb's parser sees options and operands. */
	for (int i = verb_at; i + 1 < argc; i++)
		argv[i] = argv[i + 1];
	argc--;
	rc = verb->run(&cli, argc, argv);
	docker_client_close(cli.docker);
	free(cli.env_file);
	cli_notify(&cli, rc);
	json_decref(cli.final_document);
	return rc;
}
