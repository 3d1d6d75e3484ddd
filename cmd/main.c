/*
 * main.c - cpactl's entry point: global options and the one table of verbs.
 *
 * Adding a verb means adding a row here and a cmd_<verb>.c, which holds the
 * verb's --help paragraph (<verb>_help) and options table; the help text, the
 * man page and the completions list the same verbs (a test checks it).
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "cli.h"
#include "../lib/notify.h"

const struct verb verbs[] = {
	{ "discover", "find every CPA container and describe it",
	  "[--container NAME] [--no-version] [--json]",
	  discover_help, discover_options, cmd_discover },
	{ "status", "check that each CPA container serves",
	  "[--container NAME] [--timeout SECONDS] [--json]",
	  status_help, status_options, cmd_status },
	{ "backup", "take a snapshot: image, config.yaml, auth dir, baseline",
	  "[--container NAME] [--root DIR] [--no-image] [--no-config] [--wait SECONDS] [--json]",
	  backup_help, backup_options, cmd_backup },
	{ "upgrade", "test a new release on a scratch copy, then replace production",
	  "[--container NAME] [--image REF] [--test-port PORT] [--candidate-network MODE] [--timeout SECONDS] [--yes] [--dry-run] [--json]",
	  upgrade_help, upgrade_options, cmd_upgrade },
	{ "rollback", "bring production back to a snapshot",
	  "[ID] [--container NAME] [--auth] [--yes] [--dry-run] [--no-backup] [--timeout SECONDS] [--root DIR] "
	  "[--wait SECONDS] [--json]",
	  rollback_help, rollback_options, cmd_rollback },
	{ "recover", "finish or undo an upgrade, rollback or config change that a crash interrupted",
	  "[--container NAME] [--root DIR] [--wait SECONDS] [--dry-run] [--json]",
	  recover_help, recover_options, cmd_recover },
	{ "list", "list the snapshots of a deployment",
	  "[--container NAME] [--root DIR] [--json]",
	  list_help, list_options, cmd_list },
	{ "verify", "re-hash snapshots and name what is missing or corrupt",
	  "[ID] [--container NAME] [--root DIR] [--json]",
	  verify_help, verify_options, cmd_verify },
	{ "archive", "move old snapshots aside, keep the newest archives, free the space",
	  "[--container NAME] [--root DIR] [--keep N] [--prune-images] [--dry-run] [--wait SECONDS] [--json]",
	  archive_help, archive_options, cmd_archive },
	{ "config", "history of config.yaml; check it; apply a new one or an old one",
	  "log|diff|show|check|apply|restore [FILE|REV|ID]... [--container NAME] [--root DIR] [--show-secrets] "
	  "[--yes] [--dry-run] [--reload] [--json]",
	  config_help, config_options, cmd_config },
	{ "doctor", "name what is wrong with a deployment and how to fix it",
	  "[--container NAME] [--root DIR] [--timeout SECONDS] [--json]",
	  doctor_help, doctor_options, cmd_doctor },
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
static int early_usage(int json, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int early_usage(int json, const char *fmt, ...)
{
	char text[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
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
				cli_show_help(json, NULL);
				return EXIT_OK;
			} else if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
				cli_show_version(json);
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
		return early_usage(json, "no verb given");
	}
	if (strcmp(argv[verb_at], "help") == 0) {
		const char *topic = NULL;
		/* The first operand after "help" (options such as --json skipped). */
		for (int i = verb_at + 1; i < argc && !topic; i++)
			if (argv[i][0] != '-')
				topic = argv[i];
		if (!topic || strcmp(topic, "help") == 0) {
			cli_show_help(json, NULL);
			return EXIT_OK;
		}
		verb = verb_find(topic);
		if (!verb)
			return early_usage(json, "unknown verb '%s'", topic);
		cli_show_help(json, verb);
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
