/*
 * cmd_config.c - `cpactl config log|diff|show`: the history of config.yaml.
 *
 * The history is the bare git repository that `cpactl backup` commits
 * config.yaml to (lib/history.h).  Subcommands live in one table below; a new
 * one (check, apply, restore ...) is a function and a row.  Every text taken
 * from the history or the live container holds secrets: it is masked with
 * secret_mask_yaml() before anything is printed, unless --show-secrets, and
 * wiped from memory after use.  When masking fails, nothing is printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/buf.h"
#include "../lib/container_files.h"
#include "../lib/deployment.h"
#include "../lib/discover.h"
#include "../lib/history.h"
#include "../lib/secretmask.h"
#include "cli.h"

/* A config.yaml larger than this is not a config.yaml. */
#define CONFIG_MAX_BYTES ((size_t)16 * 1024 * 1024)

enum { OPT_ROOT, OPT_SHOW_SECRETS };

const struct cli_option config_options[] = {
	[OPT_ROOT] = { "root", 0, "DIR",
		       "deployment root (default: $CPACTL_ROOT, else the directory of the "
		       "container's config.yaml)" },
	[OPT_SHOW_SECRETS] = { "show-secrets", 0, NULL,
			       "print secret values as they are instead of masking them with ***" },
	{ NULL, 0, NULL, NULL },
};

struct config_args {
	const char *root;
	int show_secrets;
};

/* What one run of a subcommand works with; cmd_config() releases it. */
struct config_run {
	struct cli *cli;
	struct config_args args;
	struct cpa_target *targets;
	size_t count;
	struct cpa_target *target;   /* set when the subcommand needed the container */
	struct deployment d;
	int have_deployment;
	json_t *result;              /* the JSON document (stolen by cli_finish) */
	struct cpactl_error err;
};

struct config_subcommand {
	const char *name;
	int min_operands, max_operands;
	int takes_show_secrets;
	const char *usage;           /* for messages: "config show REV|ID" */
	int (*run)(struct config_run *r, int argc, char **argv);
};

static int on_option(struct cli *cli, void *ctx, int index, const char *arg)
{
	struct config_args *a = ctx;
	(void)cli;
	switch (index) {
	case OPT_ROOT: a->root = arg; break;
	case OPT_SHOW_SECRETS: a->show_secrets = 1; break;
	default: break;
	}
	return 0;
}

/* Finds the deployment; the container only when `need_target` or when no
 * root was given. */
static int open_deployment(struct config_run *r, int need_target)
{
	if (cli_deployment(r->cli, r->args.root, need_target, &r->targets, &r->count, &r->target, &r->d,
			   &r->err) < 0)
		return -1;
	r->have_deployment = 1;
	debug(r->cli, "deployment root '%s'", r->d.root);
	return 0;
}

static int require_history(struct config_run *r)
{
	if (history_exists(r->d.history_dir))
		return 0;
	return error_set(&r->err, ERR_NOT_FOUND, "no config history yet under '%s' (cpactl backup creates it)",
			 r->d.root);
}

/* Copies `raw` to `shown`, masked unless --show-secrets. */
static int shown_text(struct config_run *r, const struct buf *raw, struct buf *shown)
{
	if (r->args.show_secrets) {
		if (buf_append(shown, raw->data ? raw->data : "", raw->len) < 0)
			return error_set(&r->err, ERR_NOMEM, "out of memory");
		return 0;
	}
	return secret_mask_yaml(raw->data, raw->len, shown, &r->err);
}

static json_t *json_text(struct config_run *r, const struct buf *text)
{
	json_t *s = json_stringn(text->data ? text->data : "", text->len);
	if (!s)
		error_set(&r->err, ERR_PARSE, "config.yaml is not UTF-8 text: it cannot go into JSON");
	return s;
}

static void print_document(const struct buf *text)
{
	if (text->len)
		fwrite(text->data, 1, text->len, stdout);
}

/* --- config log ----------------------------------------------------------- */

static int config_log(struct config_run *r, int argc, char **argv)
{
	json_t *list = NULL, *c;
	size_t i;

	(void)argc;
	(void)argv;
	if (open_deployment(r, 0) < 0)
		return -1;
	if (!history_exists(r->d.history_dir)) {
		say(r->cli, "no config history yet under '%s' (cpactl backup creates it)", r->d.root);
		r->result = json_array();
		return 0;
	}
	if (history_log(r->d.history_dir, 0, &list, &r->err) < 0)
		return -1;
	if (!r->cli->json && !r->cli->quiet) {
		json_array_foreach(list, i, c)
			fprintf(stderr, "%.12s  %s  %s\n", json_string_value(json_object_get(c, "commit")),
				json_string_value(json_object_get(c, "date")),
				json_string_value(json_object_get(c, "message")));
		if (json_array_size(list) == 0)
			say(r->cli, "the config history under '%s' is empty", r->d.root);
	}
	r->result = list;
	return 0;
}

/* --- config show ---------------------------------------------------------- */

static int config_show(struct config_run *r, int argc, char **argv)
{
	struct buf raw = BUF_INIT, shown = BUF_INIT;
	char oid[41] = "";
	json_t *text;
	int rc = -1;

	(void)argc;
	if (open_deployment(r, 0) < 0 || require_history(r) < 0)
		goto out;
	if (history_read(r->d.history_dir, argv[0], &raw, oid, &r->err) < 0 || shown_text(r, &raw, &shown) < 0)
		goto out;
	debug(r->cli, "'%s' is commit %s", argv[0], oid);
	if (r->cli->json) {
		if (!(text = json_text(r, &shown)))
			goto out;
		r->result = json_pack("{s:s,s:o,s:b}", "commit", oid, "text", text, "masked",
				      !r->args.show_secrets);
	} else {
		print_document(&shown);
	}
	rc = 0;
out:
	buf_wipe(&raw);
	buf_wipe(&shown);
	return rc;
}

/* --- config diff ---------------------------------------------------------- */

/* One side of a diff: a revision of the history, or the live file. */
struct diff_side {
	const char *rev;             /* NULL: the live config.yaml */
	char oid[41];
	char label[64];              /* "1a2b3c4d5e6f/config.yaml", "live/config.yaml" */
	struct buf raw, shown;
};

static int read_live(struct config_run *r, struct buf *out)
{
	const struct cpa_target *t = r->target;
	int is_dir = 0;

	if (!t || !t->config_in_container)
		return error_set(&r->err, ERR_NOT_FOUND, "cannot tell where the container keeps config.yaml");
	if (cli_docker(r->cli, &r->err) < 0)
		return -1;
	return container_read_file(r->cli->docker, t->id, t->config_in_container, CONFIG_MAX_BYTES, out,
				   &is_dir, &r->err);
}

static int read_side(struct config_run *r, struct diff_side *s)
{
	if (!s->rev) {
		if (read_live(r, &s->raw) < 0)
			return -1;
		snprintf(s->oid, sizeof(s->oid), "live");
		snprintf(s->label, sizeof(s->label), "live/config.yaml");
	} else {
		if (history_read(r->d.history_dir, s->rev, &s->raw, s->oid, &r->err) < 0)
			return -1;
		snprintf(s->label, sizeof(s->label), "%.12s/config.yaml", s->oid);
	}
	return shown_text(r, &s->raw, &s->shown);
}

static int config_diff(struct config_run *r, int argc, char **argv)
{
	struct diff_side from, to;
	struct buf patch = BUF_INIT;
	json_t *text;
	int rc = -1;

	memset(&from, 0, sizeof(from));
	memset(&to, 0, sizeof(to));
	from.rev = argc >= 1 ? argv[0] : "HEAD";
	to.rev = argc >= 2 ? argv[1] : NULL;
	if (open_deployment(r, to.rev == NULL) < 0 || require_history(r) < 0)
		goto out;
	if (read_side(r, &from) < 0 || read_side(r, &to) < 0)
		goto out;
	if (history_diff(from.label, from.shown.data, from.shown.len, to.label, to.shown.data, to.shown.len,
			 &patch, &r->err) < 0)
		goto out;
	if (patch.len == 0) {
		if (from.raw.len != to.raw.len || memcmp(from.raw.data ? from.raw.data : "",
							 to.raw.data ? to.raw.data : "", from.raw.len) != 0)
			say(r->cli, "only secret values differ between %s and %s (masked; see them with "
				    "--show-secrets)", from.label, to.label);
		else
			say(r->cli, "no differences between %s and %s", from.label, to.label);
	}
	if (r->cli->json) {
		if (!(text = json_text(r, &patch)))
			goto out;
		r->result = json_pack("{s:s,s:s,s:o,s:b}", "from", from.oid, "to", to.oid, "patch", text,
				      "masked", !r->args.show_secrets);
	} else {
		print_document(&patch);
	}
	rc = 0;
out:
	buf_wipe(&from.raw);
	buf_wipe(&from.shown);
	buf_wipe(&to.raw);
	buf_wipe(&to.shown);
	buf_wipe(&patch);
	return rc;
}

/* --- the table -------------------------------------------------------------- */

static const struct config_subcommand subcommands[] = {
	{ "log", 0, 0, 0, "config log", config_log },
	{ "diff", 0, 2, 1, "config diff [REV|ID] [REV|ID]", config_diff },
	{ "show", 1, 1, 1, "config show REV|ID", config_show },
	{ NULL, 0, 0, 0, NULL, NULL },
};

static void subcommand_names(char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; subcommands[i].name && used < len; i++) {
		int n = snprintf(out + used, len - used, "%s%s", i ? ", " : "", subcommands[i].name);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

static const struct config_subcommand *subcommand_find(const char *name)
{
	for (const struct config_subcommand *s = subcommands; s->name; s++)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

int cmd_config(struct cli *cli, int argc, char **argv)
{
	struct config_run r;
	const struct config_subcommand *sub;
	char names[128];
	int first, operands, code;

	memset(&r, 0, sizeof(r));
	r.cli = cli;
	first = cli_parse(cli, argc, argv, on_option, &r.args);
	if (first < 0)
		return first == -2 ? EXIT_OK : EXIT_USAGE;
	subcommand_names(names, sizeof(names));
	if (first >= argc)
		return cli_usage(cli, "name a subcommand: %s", names);
	sub = subcommand_find(argv[first]);
	if (!sub)
		return cli_usage(cli, "unknown subcommand '%s' (one of: %s)", argv[first], names);
	cli->subcommand = sub->name;
	operands = argc - first - 1;
	if (operands < sub->min_operands)
		return cli_usage(cli, "'%s' needs %s", sub->usage,
				 sub->min_operands == 1 ? "a revision or snapshot id" : "more arguments");
	if (operands > sub->max_operands)
		return cli_usage(cli, "unexpected argument '%s' (usage: cpactl %s)",
				 argv[first + 1 + sub->max_operands], sub->usage);
	if (r.args.show_secrets && !sub->takes_show_secrets)
		return cli_usage(cli, "'--show-secrets' does not apply to 'config %s'", sub->name);
	if (sub->run(&r, operands, argv + first + 1) < 0 && r.err.kind == ERR_NONE)
		error_set(&r.err, ERR_FAILED, "config %s failed", sub->name);
	if (r.err.kind == ERR_PARSE && !r.args.show_secrets)
		say(cli, "config.yaml is not valid YAML, so its secrets cannot be masked: nothing is shown");
	code = cli_finish(cli, r.result, &r.err, EXIT_OK);
	if (r.have_deployment)
		deployment_release(&r.d);
	cpa_targets_free(r.targets, r.count);
	return code;
}
