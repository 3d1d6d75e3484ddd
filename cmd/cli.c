/*
 * cli.c - option parsing, help text and output shared by every verb.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../lib/notify.h"

/* The global options, in the order --help prints them: the table's rows and
 * cli_parse()'s cases are named by it, so a new option shifts nothing. */
enum global_option {
	GLOBAL_OPT_JSON,
	GLOBAL_OPT_HOST,
	GLOBAL_OPT_CONTAINER,
	GLOBAL_OPT_QUIET,
	GLOBAL_OPT_VERBOSE,
	GLOBAL_OPT_HELP,
	GLOBAL_OPT_VERSION,
	GLOBAL_OPT_NOTIFY,
	GLOBAL_OPT_PROFILE,
	GLOBAL_OPT_API_PORT,
	GLOBAL_OPT_PROBE_PATH,
	GLOBAL_OPT_ENV_FILE,
	GLOBAL_OPT_COUNT
};

static const struct cli_option global_options[] = {
	[GLOBAL_OPT_JSON] = { "json", 0, NULL, "print one JSON document on stdout (also on failure)" },
	[GLOBAL_OPT_HOST] = { "host", 'H', "HOST",
			      "docker engine, unix:///path or tcp://host:port\n"
			      "                             (default: $DOCKER_HOST, else /var/run/docker.sock)" },
	[GLOBAL_OPT_CONTAINER] = { "container", 0, "NAME", "act on this container only (name or id)" },
	[GLOBAL_OPT_QUIET] = { "quiet", 'q', NULL, "print nothing for people but errors" },
	[GLOBAL_OPT_VERBOSE] = { "verbose", 'v', NULL, "say more about what is done" },
	[GLOBAL_OPT_HELP] = { "help", 'h', NULL, "show this help" },
	[GLOBAL_OPT_VERSION] = { "version", 'V', NULL, "print cpactl's version" },
	[GLOBAL_OPT_NOTIFY] = { "notify", 0, "URL",
				"POST a JSON summary of how the run ended to URL\n"
				"                             (http:// or https://; default: $CPACTL_NOTIFY_URL)" },
	[GLOBAL_OPT_PROFILE] = { "profile", 0, "NAME",
				 "the kind of proxy: cpa, claude-code-proxy or http\n"
				 "                             (default: label io.cpactl.profile, else the image name)" },
	[GLOBAL_OPT_API_PORT] = { "api-port", 0, "PORT", "the port the API listens on inside the container" },
	[GLOBAL_OPT_PROBE_PATH] = { "probe-path", 0, "PATH",
				    "the HTTP path that says the proxy serves\n"
				    "                             (cpa: /v1/models; claude-code-proxy and http: /health)" },
	[GLOBAL_OPT_ENV_FILE] = { "env-file", 0, "FILE", "the env file that holds the proxy's settings (not cpa)" },
	[GLOBAL_OPT_COUNT] = { NULL, 0, NULL, NULL },
};

#define GLOBAL_BASE 1000
#define VERB_BASE 2000
#define MAX_OPTIONS 64

static size_t count_options(const struct cli_option *o)
{
	size_t n = 0;
	while (o && o[n].name)
		n++;
	return n;
}

/* Adds an option's short letter, if it has one, to getopt's string and to
 * the letter -> id table; a letter already taken (by a global option) stays
 * with its first owner. */
static void add_short(char *shortopts, size_t *slen, size_t size, int short_id[128],
		      const struct cli_option *o, int id)
{
	int letter = o->short_name;

	if (letter <= 0 || letter >= 128 || short_id[letter] || *slen + 3 >= size)
		return;
	short_id[letter] = id;
	shortopts[(*slen)++] = (char)letter;
	if (o->arg)
		shortopts[(*slen)++] = ':';
	shortopts[*slen] = '\0';
}

int cli_parse(struct cli *cli, int argc, char **argv, option_fn on_option, void *ctx)
{
	struct option longopts[MAX_OPTIONS + 1];
	/* A leading ':' makes getopt report a missing argument as ':'. */
	char shortopts[64] = ":";
	size_t slen = 1;
	/* The id getopt_long's answer for a short letter stands for. */
	int short_id[128] = { 0 };
	const struct cli_option *vopts = cli->verb->options;
	size_t ng = count_options(global_options), nv = count_options(vopts), n = 0;
	int c;

	memset(longopts, 0, sizeof(longopts));
	/* No leading '+': GNU permutation lets options follow operands
	 * ("cpactl rollback ID --yes"). */
	for (size_t i = 0; i < ng && n < MAX_OPTIONS; i++, n++) {
		longopts[n].name = global_options[i].name;
		longopts[n].has_arg = global_options[i].arg ? required_argument : no_argument;
		longopts[n].val = GLOBAL_BASE + (int)i;
		add_short(shortopts, &slen, sizeof(shortopts), short_id, &global_options[i], GLOBAL_BASE + (int)i);
	}
	for (size_t i = 0; i < nv && n < MAX_OPTIONS; i++, n++) {
		longopts[n].name = vopts[i].name;
		longopts[n].has_arg = vopts[i].arg ? required_argument : no_argument;
		longopts[n].val = VERB_BASE + (int)i;
		add_short(shortopts, &slen, sizeof(shortopts), short_id, &vopts[i], VERB_BASE + (int)i);
	}
	/* --json decides how even an error in an earlier option is reported. */
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--json") == 0)
			cli->json = 1;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		int id = c;
		if (c > 0 && c < 128 && short_id[c])
			id = short_id[c];
		if (c == ':') {
			cli_usage(cli, "option '%s' needs an argument", argv[optind - 1]);
			return -1;
		}
		if (c == '?') {
			if (optopt && optopt < GLOBAL_BASE)
				cli_usage(cli, "unknown option '-%c'", optopt);
			else
				cli_usage(cli, "unknown option '%s'", argv[optind - 1]);
			return -1;
		}
		if (id >= VERB_BASE) {
			if (on_option(cli, ctx, id - VERB_BASE, optarg) < 0)
				return -1;
			continue;
		}
		switch (id - GLOBAL_BASE) {
		case GLOBAL_OPT_JSON: cli->json = 1; break;
		case GLOBAL_OPT_HOST: cli->host = optarg; break;
		case GLOBAL_OPT_CONTAINER: cli->container = optarg; break;
		case GLOBAL_OPT_QUIET: cli->quiet = 1; break;
		case GLOBAL_OPT_VERBOSE: cli->verbose++; break;
		case GLOBAL_OPT_HELP: cli_show_help(cli->json, cli->verb); return -2;
		case GLOBAL_OPT_VERSION: cli_show_version(cli->json); return -2;
		case GLOBAL_OPT_NOTIFY: cli->notify_url = optarg; break;
		case GLOBAL_OPT_PROFILE:
			if (!profile_by_name(optarg)) {
				cli_usage(cli, "unknown profile '%s' (known: %s)", optarg, PROFILE_NAMES);
				return -1;
			}
			cli->profile = optarg;
			break;
		case GLOBAL_OPT_API_PORT: {
			char *end;
			long port = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end || port < 1 || port > 65535) {
				cli_usage(cli, "--api-port '%s' is not a port (1-65535)", optarg);
				return -1;
			}
			cli->api_port = (int)port;
			break;
		}
		case GLOBAL_OPT_PROBE_PATH:
			if (optarg[0] != '/' || strpbrk(optarg, " \t\r\n")) {
				cli_usage(cli, "--probe-path '%s' must be a path that starts with '/'", optarg);
				return -1;
			}
			cli->probe_path = optarg;
			break;
		case GLOBAL_OPT_ENV_FILE:
			free(cli->env_file);
			cli->env_file = realpath(optarg, NULL);
			if (!cli->env_file) {
				cli_usage(cli, "--env-file '%s': %s", optarg, strerror(errno));
				return -1;
			}
			break;
		default: break;
		}
	}
	return optind;
}

int cli_global_takes_arg(const char *arg)
{
	for (size_t i = 0; global_options[i].name; i++) {
		if (!global_options[i].arg)
			continue;
		if ((arg[0] == '-' && arg[1] == '-' && strcmp(arg + 2, global_options[i].name) == 0) ||
		    (global_options[i].short_name && arg[0] == '-' && arg[1] == global_options[i].short_name &&
		     arg[2] == '\0'))
			return 1;
	}
	return 0;
}

void cli_discover_options(const struct cli *cli, struct discover_options *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->container = cli->container;
	opts->profile = cli->profile;
	opts->api_port = cli->api_port;
	opts->probe_path = cli->probe_path;
	opts->env_file = cli->env_file;
}

int cli_docker(struct cli *cli, struct cpactl_error *err)
{
	if (cli->docker)
		return 0;
	if (docker_client_open(cli->host, &cli->docker, err) < 0)
		return -1;
	debug(cli, "engine '%s', API %s", docker_client_host(cli->docker),
	      docker_client_api_version(cli->docker));
	return 0;
}

static void vmessage(const char *prefix, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void vmessage(const char *prefix, const char *fmt, va_list ap)
{
	fputs(prefix, stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void say(const struct cli *cli, const char *fmt, ...)
{
	va_list ap;
	if (cli->quiet)
		return;
	va_start(ap, fmt);
	vmessage("", fmt, ap);
	va_end(ap);
}

void cli_say_message(void *ctx, const char *message)
{
	say(ctx, "%s", message);
}

void debug(const struct cli *cli, const char *fmt, ...)
{
	va_list ap;
	if (cli->verbose <= 0 || cli->quiet)
		return;
	va_start(ap, fmt);
	vmessage("cpactl: ", fmt, ap);
	va_end(ap);
}

void warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage("cpactl: warning: ", fmt, ap);
	va_end(ap);
}

int cli_usage(struct cli *cli, const char *fmt, ...)
{
	va_list ap;
	char text[512];

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	json_decref(cli->final_document);
	cli->final_document = json_pack("{s:{s:s,s:s}}", "error", "code", "usage", "message", text);
	if (cli->json && cli->final_document) {
		json_dumpf(cli->final_document, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	}
	fprintf(stderr, "cpactl %s: %s\n", cli->verb ? cli->verb->name : "", text);
	if (cli->verb)
		fprintf(stderr, "usage: cpactl %s %s\n(see 'cpactl help %s')\n", cli->verb->name,
			cli->verb->synopsis, cli->verb->name);
	return EXIT_USAGE;
}

int exit_code_for(enum error_kind kind)
{
	switch (kind) {
	case ERR_NONE: return EXIT_OK;
	case ERR_USAGE: return EXIT_USAGE;
	case ERR_CHECK: return EXIT_PROBLEMS;
	case ERR_LOCKED: return EXIT_LOCKED;
	case ERR_DECLINED: return EXIT_DECLINED;
	default: return EXIT_FAILED;
	}
}

int cli_finish(struct cli *cli, json_t *result, int rc, const struct cpactl_error *err, int code)
{
	struct cpactl_error internal = CPACTL_ERROR_INIT;
	int failed = err && err->kind != ERR_NONE;
	json_t *doc = result;

	/* A failure the engine did not explain is still a failure: never exit 0. */
	if (rc < 0 && !failed) {
		error_set(&internal, ERR_FAILED, "internal error: %s failed without saying why (a bug: please report it)",
			  cli->verb ? cli->verb->name : "the command");
		err = &internal;
		failed = 1;
	}

	if (failed) {
		json_t *e = json_pack("{s:s,s:s}", "code", error_kind_name(err->kind), "message",
				      err->message);
		if (json_is_object(result)) {
			json_object_set_new(result, "error", e);
		} else {
			json_decref(result);
			doc = json_pack("{s:o}", "error", e);
		}
	}
	if (cli->json && doc) {
		json_dumpf(doc, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	}
	/* Kept for cli_notify(): the notification reads the same document. */
	json_decref(cli->final_document);
	cli->final_document = doc;
	fflush(stdout);
	if (failed) {
		fprintf(stderr, "cpactl %s: %s\n", cli->verb ? cli->verb->name : "", err->message);
		return exit_code_for(err->kind);
	}
	return code;
}

/* The name of an exit code, the "outcome" of a notification. */
static const char *exit_code_name(int code)
{
	switch (code) {
	case EXIT_OK: return "ok";
	case EXIT_FAILED: return "failed";
	case EXIT_USAGE: return "usage";
	case EXIT_PROBLEMS: return "problems";
	case EXIT_LOCKED: return "locked";
	case EXIT_DECLINED: return "declined";
	default: return "failed";
	}
}

/* Commands that only read and report: a notification after each would be
 * noise (a shell loop of `cpactl list` is no event). */
static int is_read_only(const char *command)
{
	static const char *const read_only[] = { "discover", "list", "config log", "config diff",
						 "config show", NULL };

	for (size_t i = 0; read_only[i]; i++)
		if (strcmp(command, read_only[i]) == 0)
			return 1;
	return 0;
}

void cli_notify(struct cli *cli, int exit_code)
{
	struct cpactl_error err = CPACTL_ERROR_INIT;
	struct notify_event ev;
	char command[64], host[256] = "";
	json_t *payload;

	/* No document: --help or --version was printed, nothing ran. */
	if (!cli->notify_url || !cli->verb || !cli->final_document)
		return;
	snprintf(command, sizeof(command), "%s%s%s", cli->verb->name, cli->subcommand ? " " : "",
		 cli->subcommand ? cli->subcommand : "");
	if (is_read_only(command))
		return;
	if (gethostname(host, sizeof(host) - 1) < 0)
		host[0] = '\0';
	memset(&ev, 0, sizeof(ev));
	ev.cpactl_version = CPACTL_VERSION;
	ev.command = command;
	ev.container = cli->container;
	ev.host = host;
	ev.outcome = exit_code_name(exit_code);
	ev.exit_code = exit_code;
	ev.time = time(NULL);
	ev.result = cli->final_document;
	payload = notify_payload(&ev);
	if (!payload)
		error_set(&err, ERR_NOMEM, "cannot notify: out of memory");
	else if (notify_post(cli->notify_url, payload, &err) == 0)
		debug(cli, "notified the outcome '%s' of '%s'", ev.outcome, command);
	if (err.kind != ERR_NONE)
		fprintf(stderr, "cpactl %s: %s\n", cli->verb->name, err.message);
	json_decref(payload);
}

static void print_options(FILE *to, const struct cli_option *o)
{
	for (; o && o->name; o++) {
		char left[64];
		if (o->short_name)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", o->short_name, o->name, o->arg ? " " : "",
				 o->arg ? o->arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(to, "  %-26s %s\n", left, o->help);
	}
}

void cli_show_help(int json, const struct verb *verb)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem;
	json_t *doc;

	if (!json) {
		cli_help(stdout, verb);
		return;
	}
	/* --json: the help as one document too, for a program that always
	 * parses stdout. */
	mem = open_memstream(&text, &len);
	if (!mem)
		return;
	cli_help(mem, verb);
	fclose(mem);
	doc = json_pack("{s:s?,s:s,s:s}", "verb", verb ? verb->name : NULL, "cpactl_version", CPACTL_VERSION,
			"help", text ? text : "");
	if (doc) {
		json_dumpf(doc, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	}
	json_decref(doc);
	free(text);
}

void cli_show_version(int json)
{
	if (json)
		printf("{\n  \"cpactl_version\": \"%s\"\n}\n", CPACTL_VERSION);
	else
		printf("cpactl %s\n", CPACTL_VERSION);
}

void cli_help(FILE *to, const struct verb *verb)
{
	if (verb) {
		fprintf(to, "usage: cpactl %s %s\n\n%s\n\noptions:\n", verb->name, verb->synopsis,
			verb->description);
		print_options(to, verb->options);
		fprintf(to, "\nglobal options:\n");
		print_options(to, global_options);
		fprintf(to, "\nexit status: 0 success, 1 failed, 2 usage error, 3 problems found,\n"
			    "4 locked or unfinished operation, 5 declined.  See 'man cpactl-%s'.\n",
			verb->name);
		return;
	}
	fprintf(to, "usage: cpactl [global options] VERB [options]\n\n"
		    "cpactl keeps a CLIProxyAPI (CPA) container in Docker safe through its life:\n"
		    "find it, back it up, upgrade it, roll it back, audit it.\n\nverbs:\n");
	for (const struct verb *v = verbs; v->name; v++)
		fprintf(to, "  %-12s %s\n", v->name, v->summary);
	fprintf(to, "  %-12s %s\n", "help", "show the help of a verb: cpactl help VERB");
	fprintf(to, "\nglobal options:\n");
	print_options(to, global_options);
	fprintf(to, "\nexit status: 0 success, 1 failed, 2 usage error, 3 problems found,\n"
		    "4 locked or unfinished operation, 5 declined.  See 'man cpactl'.\n");
}
