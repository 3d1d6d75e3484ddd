/*
 * main.c - cpactl's entry point: global options and the one table of verbs.
 *
 * Adding a verb means adding a row here and a cmd_<verb>.c; the help text, the
 * man page and the completions list the same verbs (a test checks it).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

const struct verb verbs[] = {
	{ "discover", "find every CPA container and describe it",
	  "[--container NAME] [--no-version] [--json]",
	  "Finds every CLIProxyAPI container on the engine, by image name, by the\n"
	  "io.cpactl.target=true label or by --container, without assuming a name, tag,\n"
	  "port or path, and reports what the runbook's baseline records: version, API\n"
	  "port, config and auth locations, keys and providers in use (counts only, never\n"
	  "a secret), compose project, and any problem found.",
	  discover_options, cmd_discover },
	{ "status", "check that each CPA container serves",
	  "[--container NAME] [--timeout SECONDS] [--json]",
	  "Probes /v1/models on each CPA container with its first configured API key and\n"
	  "reports the HTTP status, model count and latency, uptime, restart count,\n"
	  "memory and CPU, and trouble lines in its recent log.  Exits 3 when any\n"
	  "container is not healthy.",
	  status_options, cmd_status },
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
	return strcmp(a, "-H") == 0 || strcmp(a, "--host") == 0 || strcmp(a, "--container") == 0;
}

int main(int argc, char **argv)
{
	struct cli cli;
	const struct verb *verb = NULL;
	int verb_at = -1, rc;

	memset(&cli, 0, sizeof(cli));
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
		cli_help(stderr, NULL);
		return EXIT_USAGE;
	}
	if (strcmp(argv[verb_at], "help") == 0) {
		if (verb_at + 1 >= argc) {
			cli_help(stdout, NULL);
			return EXIT_OK;
		}
		verb = verb_find(argv[verb_at + 1]);
		if (!verb) {
			fprintf(stderr, "cpactl: unknown verb '%s' (see 'cpactl --help')\n", argv[verb_at + 1]);
			return EXIT_USAGE;
		}
		cli_help(stdout, verb);
		return EXIT_OK;
	}
	verb = verb_find(argv[verb_at]);
	if (!verb) {
		fprintf(stderr, "cpactl: unknown verb '%s' (see 'cpactl --help')\n", argv[verb_at]);
		return EXIT_USAGE;
	}
	cli.verb = verb;
	/* Drop the verb from argv so the verb's parser sees options and operands. */
	for (int i = verb_at; i + 1 < argc; i++)
		argv[i] = argv[i + 1];
	argc--;
	rc = verb->run(&cli, argc, argv);
	docker_client_close(cli.docker);
	return rc;
}
