/*
 * cmd_config.c - `cpactl config log|diff|show|check|apply|restore`: the
 * history of config.yaml, its audit, and config-only changes.
 *
 * The history is the bare git repository that `cpactl backup` commits
 * config.yaml to (lib/history.h).  Subcommands live in one table below; a new
 * one is a function and a row.  `check` prints config_check()'s findings;
 * `apply` and `restore` run the check first (an error refuses, nothing
 * changes), then lib/config_apply.c: a candidate on scratch copies, a
 * journaled restart, automatic rollback (release.c, as an upgrade does) or,
 * with --reload, CPA's file watcher, no restart.  Every text taken
 * from the history or the live container holds secrets: it is masked with
 * secret_mask_yaml() before anything is printed, unless --show-secrets, and
 * wiped from memory after use.  When masking fails, nothing is printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/atomic_file.h"
#include "../lib/buf.h"
#include "../lib/cpa.h"
#include "../lib/config_check.h"
#include "../lib/config_apply.h"
#include "../lib/container_files.h"
#include "../lib/deployment.h"
#include "../lib/discover.h"
#include "../lib/history.h"
#include "../lib/lock.h"
#include "../lib/secretmask.h"
#include "../lib/snapshot.h"
#include "../lib/upgrade.h"
#include "cli.h"
#include "interact.h"

/* The paragraph under the synopsis of `cpactl help config` (main.c's verb table). */
const char config_help[] =
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
	"a terminal nothing changes unless --yes (exit 5).";

const struct cli_option config_options[] = {
	[CONFIG_OPT_ROOT] = { "root", 0, "DIR",
			       "deployment root (default: $CPACTL_ROOT, else the directory of the "
			       "container's config.yaml)" },
	[CONFIG_OPT_SHOW_SECRETS] = { "show-secrets", 0, NULL,
				       "print secret values as they are instead of masking them with ***" },
	[CONFIG_OPT_YES] = { "yes", 'y', NULL,
			      "apply/restore: change production without asking (needed without a terminal)" },
	[CONFIG_OPT_DRY_RUN] = { "dry-run", 'n', NULL,
				  "apply/restore: check and print the masked diff, change nothing" },
	[CONFIG_OPT_TEST_PORT] = { "test-port", 0, "PORT",
				    "apply/restore: host port of the candidate, on 127.0.0.1 (default 8318)" },
	[CONFIG_OPT_CANDIDATE_NETWORK] = { "candidate-network", 0, "MODE",
					    "apply/restore: isolated (default, no network) or shared (127.0.0.1:PORT)" },
	[CONFIG_OPT_CANDIDATE_WITHOUT_STORE] = { "candidate-without-store", 0, NULL,
						  "apply/restore: with a remote store, test on the local files only" },
	[CONFIG_OPT_TIMEOUT] = { "timeout", 0, "SECONDS", "apply/restore: deadline to serve /v1/models (default 60)" },
	[CONFIG_OPT_WAIT] = { "wait", 0, "SECONDS",
			       "apply/restore: wait this long for another cpactl to release the lock" },
	[CONFIG_OPT_NO_BACKUP] = { "no-backup", 0, NULL, "apply/restore: skip the snapshot before the change" },
	[CONFIG_OPT_RELOAD] = { "reload", 0, NULL,
				 "apply/restore: no restart and no candidate: replace the file, let CPA reload it" },
	[CONFIG_OPT_START] = { "start", 0, NULL,
				"apply/restore: production is stopped: change it anyway and start it" },
	[CONFIG_OPT_COUNT] = { NULL, 0, NULL, NULL },
};

struct config_args {
	const char *root;
	int show_secrets;
	int yes, dry_run, test_port, wait, no_backup, reload, shared_network, without_store, start_stopped;
	long timeout_ms;
	int change_options;          /* an option only apply/restore take was given */
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
	int code;                    /* exit code on success (config check: 3 on findings) */
};

struct config_subcommand {
	const char *name;
	int min_operands, max_operands;
	int takes_show_secrets;
	int changes;                 /* takes --yes, --dry-run ... */
	const char *usage;           /* for messages: "config show REV|ID" */
	int (*run)(struct config_run *r, int argc, char **argv);
};

static int on_option(struct cli *cli, void *ctx, int index, const char *arg)
{
	struct config_args *a = ctx;
	char *end;
	long port;

	/* Named one by one, not as a range of the table: a row inserted anywhere
	 * must not turn an option into (or out of) an apply/restore one. */
	switch (index) {
	case CONFIG_OPT_YES:
	case CONFIG_OPT_DRY_RUN:
	case CONFIG_OPT_TEST_PORT:
	case CONFIG_OPT_CANDIDATE_NETWORK:
	case CONFIG_OPT_CANDIDATE_WITHOUT_STORE:
	case CONFIG_OPT_TIMEOUT:
	case CONFIG_OPT_WAIT:
	case CONFIG_OPT_NO_BACKUP:
	case CONFIG_OPT_RELOAD:
		a->change_options = 1;
		break;
	default: break;
	}
	switch (index) {
	case CONFIG_OPT_ROOT: a->root = arg; break;
	case CONFIG_OPT_SHOW_SECRETS: a->show_secrets = 1; break;
	case CONFIG_OPT_YES: a->yes = 1; break;
	case CONFIG_OPT_DRY_RUN: a->dry_run = 1; break;
	case CONFIG_OPT_TEST_PORT:
		port = strtol(arg, &end, 10);
		if (!*arg || *end || port < 1 || port > 65535)
			return cli_usage(cli, "--test-port wants a port from 1 to 65535, not '%s'", arg), -1;
		a->test_port = (int)port;
		break;
	case CONFIG_OPT_CANDIDATE_WITHOUT_STORE: a->without_store = 1; break;
	case CONFIG_OPT_START: a->start_stopped = 1; break;
	case CONFIG_OPT_CANDIDATE_NETWORK:
		if (cli_parse_candidate_network(cli, arg, &a->shared_network) < 0)
			return -1;
		break;
	case CONFIG_OPT_TIMEOUT:
		if (cli_parse_timeout(cli, arg, &a->timeout_ms) < 0)
			return -1;
		break;
	case CONFIG_OPT_WAIT:
		if (cli_parse_seconds(cli, "--wait", arg, &a->wait) < 0)
			return -1;
		break;
	case CONFIG_OPT_NO_BACKUP: a->no_backup = 1; break;
	case CONFIG_OPT_RELOAD: a->reload = 1; break;
	default: break;
	}
	return 0;
}

/* Finds the deployment; the container only when `need_target` or when no
 * root was given. */
static int open_deployment(struct config_run *r, int need_target)
{
	/* restore opens it to read the history, then apply_bytes asks again. */
	if (r->have_deployment && (r->target || !need_target))
		return 0;
	if (r->have_deployment) {
		deployment_release(&r->d);
		cpa_targets_free(r->targets, r->count);
		r->targets = NULL;
		r->count = 0;
		r->target = NULL;
		r->have_deployment = 0;
	}
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
	if (r->target)
		return profile_mask_settings(r->target->profile, raw->data, raw->len, shown, &r->err);
	/* The kind of proxy is unknown (--root without a container): the text
	 * may be an env file, which also parses as one YAML scalar and would
	 * pass the YAML masking untouched.  Both maskings, then. */
	{
		struct buf env = BUF_INIT;
		int rc = secret_mask_env(raw->data ? raw->data : "", raw->len, &env, &r->err);
		if (rc == 0)
			rc = secret_mask_yaml(env.data ? env.data : "", env.len, shown, &r->err);
		buf_wipe(&env);
		return rc;
	}
}

/* config check, apply and restore know CPA's config.yaml only. */
static int require_cpa(struct config_run *r, const char *what)
{
	if (!r->target || r->target->profile->cpa)
		return 0;
	return error_set(&r->err, ERR_USAGE,
			 "config %s checks and applies CPA's config.yaml; '%s' is a %s container whose settings "
			 "are in an env file: take a 'cpactl backup', edit the file and recreate the container "
			 "as it was made (docker compose up -d); 'cpactl rollback' restores a snapshot's",
			 what, r->target->name, r->target->profile->name);
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

	/* An env file compose reads (not mounted) has a host path only. */
	if (!t || (!t->config_in_container && !t->config_host))
		return error_set(&r->err, ERR_NOT_FOUND, "cannot tell where the container keeps %s",
				 t && !t->profile->cpa ? "its env file" : "config.yaml");
	if (cli_docker(r->cli, &r->err) < 0)
		return -1;
	/* On the host through its bind mount when there is one. */
	return container_read_file_at(r->cli->docker, t->id, t->config_in_container, t->config_host, CPA_CONFIG_MAX,
				      out, &is_dir, &r->err);
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

/* --- config check ------------------------------------------------------------ */

/* The findings, for people (stderr), errors first. */
static void say_findings(struct config_run *r, const char *file, const struct finding_list *l)
{
	if (r->cli->json || r->cli->quiet)
		return;
	for (int severity = FINDING_ERROR; severity >= FINDING_INFO; severity--)
		for (size_t i = 0; i < l->count; i++) {
			const struct finding *f = &l->items[i];
			if ((int)f->severity != severity)
				continue;
			if (f->line)
				fprintf(stderr, "%s:%d: %s: %s [%s]\n    fix: %s\n", file, f->line,
					finding_severity_name(f->severity), f->what, f->code, f->fix);
			else
				fprintf(stderr, "%s: %s: %s [%s]\n    fix: %s\n", file, finding_severity_name(f->severity),
					f->what, f->code, f->fix);
		}
	if (l->count == 0)
		say(r->cli, "%s: no findings", file);
}

/* Runs the checks on `data`; the findings go into *findings (JSON) and are
 * said.  Returns the worst severity, -1 for none, -2 on failure. */
static int run_check(struct config_run *r, const struct buf *data, const char *file, const char *version,
		     json_t **findings)
{
	struct config_check_input in;
	struct finding_list l = FINDING_LIST_INIT;
	int worst = -2;

	memset(&in, 0, sizeof(in));
	in.data = data->data ? data->data : "";
	in.len = data->len;
	in.name = file;
	in.version = version;
	if (config_check(&in, &l, &r->err) < 0)
		goto out;
	say_findings(r, file, &l);
	if (!(*findings = finding_list_json(&l))) {
		error_set(&r->err, ERR_NOMEM, "out of memory");
		goto out;
	}
	worst = finding_list_worst(&l);
out:
	finding_list_release(&l);
	return worst;
}

static int read_file_operand(struct config_run *r, const char *path, struct buf *out)
{
	char *data = NULL;
	size_t len = 0;

	if (read_small_file(path, CPA_CONFIG_MAX, &data, &len, &r->err) < 0)
		return -1;
	buf_append(out, data, len);
	memset(data, 0, len);
	free(data);
	return 0;
}

static int config_check_cmd(struct config_run *r, int argc, char **argv)
{
	struct buf data = BUF_INIT;
	json_t *findings = NULL;
	const char *file, *version = NULL;
	int worst, rc = -1;

	if (argc == 1) {
		/* A file on its own is judged against the newest CPA cpactl knows. */
		file = argv[0];
		if (read_file_operand(r, file, &data) < 0)
			goto out;
	} else {
		if (cli_one_target(r->cli, 0, &r->targets, &r->count, &r->target, &r->err) < 0 ||
		    require_cpa(r, "check") < 0 || read_live(r, &data) < 0)
			goto out;
		file = r->target->config_host ? r->target->config_host : "config.yaml";
		version = r->target->version;
	}
	worst = run_check(r, &data, file, version, &findings);
	if (worst == -2)
		goto out;
	r->result = json_pack("{s:s,s:s?,s:o}", "file", file, "version", version, "findings", findings);
	r->code = worst >= FINDING_WARNING ? EXIT_PROBLEMS : EXIT_OK;
	rc = 0;
out:
	buf_wipe(&data);
	return rc;
}

/* --- config apply, config restore ---------------------------------------------- */

/* Puts `data` in production: check (errors refuse), unchanged?, --dry-run,
 * then the lock and the change. */
static int apply_bytes(struct config_run *r, const struct buf *data, const char *source)
{
	struct config_args *a = &r->args;
	struct lock lock = { -1 };
	struct interaction x;
	struct upgrade_options o;
	struct buf live = BUF_INIT;
	json_t *findings = NULL, *report = NULL;
	int worst, rc = -1;

	if (open_deployment(r, 1) < 0 || require_cpa(r, "apply") < 0)
		goto out;
	worst = run_check(r, data, source, r->target->version, &findings);
	if (worst == -2)
		goto out;
	if (worst == FINDING_ERROR) {
		r->result = json_pack("{s:s,s:o}", "outcome", UPGRADE_REFUSED, "findings", findings);
		error_set(&r->err, ERR_CHECK, "%s has errors (above): nothing was changed", source);
		goto out;
	}
	if (read_live(r, &live) < 0) {
		json_decref(findings);
		goto out;
	}
	if (live.len == data->len && memcmp(live.data ? live.data : "", data->data ? data->data : "", live.len) == 0) {
		say(r->cli, "%s is byte for byte the live config.yaml of '%s': nothing to apply", source, r->target->name);
		r->result = json_pack("{s:s,s:o}", "outcome", "unchanged", "findings", findings);
		rc = 0;
		goto out;
	}
	if (a->dry_run) {
		json_t *diff = config_masked_diff(live.data, live.len, data->data, data->len, &r->err);
		if (!diff) {
			json_decref(findings);
			goto out;
		}
		if (json_string_length(diff))
			say(r->cli, "config.yaml changes (secrets masked):\n%s", json_string_value(diff));
		else
			say(r->cli, "only secret values change (masked; see them with 'cpactl config diff "
				    "--show-secrets' after applying)");
		say(r->cli, "dry run: '%s' would get %s%s; nothing was changed", r->target->name, source,
		    a->reload ? " through CPA's reload" : " after a candidate test");
		r->result = json_pack("{s:s,s:o,s:o}", "outcome", UPGRADE_DRY_RUN, "config_diff", diff, "findings", findings);
		rc = 0;
		goto out;
	}
	if (deployment_prepare(&r->d, &r->err) < 0 ||
	    lock_acquire(r->d.lock_path, "config apply", a->wait, &lock, &r->err) < 0) {
		json_decref(findings);
		goto out;
	}
	cli_catch_interrupts();
	snapshot_sweep(&r->d);
	memset(&o, 0, sizeof(o));
	interaction_init(&x, r->cli, a->yes);
	interaction_wire_upgrade(&x, &o);
	o.test_port = a->test_port;
	o.shared_network = a->shared_network;
	o.candidate_without_store = a->without_store;
	o.start_stopped = a->start_stopped;
	o.timeout_ms = a->timeout_ms;
	o.no_backup = a->no_backup;
	o.config_data = data->data ? data->data : "";
	o.config_len = data->len;
	o.config_source = source;
	rc = config_apply_run(r->cli->docker, r->target, &r->d, &o, a->reload, &report, &r->err);
	progress_done(&x.progress);
	if (report)
		json_object_set_new(report, "findings", findings);
	else
		json_decref(findings);
	r->result = report;
out:
	lock_release(&lock);
	buf_wipe(&live);
	return rc;
}

static int config_apply(struct config_run *r, int argc, char **argv)
{
	struct buf data = BUF_INIT;
	int rc = -1;

	(void)argc;
	if (read_file_operand(r, argv[0], &data) == 0)
		rc = apply_bytes(r, &data, argv[0]);
	buf_wipe(&data);
	return rc;
}

/* config.yaml as a snapshot kept it (an id of backup/), else as of a
 * revision of the history.  The snapshot comes first: the history's commits
 * that name an id include the change applied after that snapshot. */
static int read_revision(struct config_run *r, const char *rev, struct buf *out, char *source, size_t source_len)
{
	struct cpactl_error e = CPACTL_ERROR_INIT;
	char oid[41] = "";

	if (snapshot_id_valid(rev)) {
		struct buf path = BUF_INIT;
		char *data = NULL;
		size_t len = 0;
		snapshot_backup_part_path(&path, &r->d, rev, profile_cpa.settings_part);
		if (read_small_file(buf_str(&path), CPA_CONFIG_MAX, &data, &len, &e) == 0) {
			buf_append(out, data, len);
			memset(data, 0, len);
			free(data);
			buf_free(&path);
			snprintf(source, source_len, "snapshot %s", rev);
			return 0;
		}
		buf_free(&path);
		error_clear(&e);
	}
	if (history_exists(r->d.history_dir) && history_read(r->d.history_dir, rev, out, oid, &e) == 0) {
		snprintf(source, source_len, "revision %.12s", oid);
		return 0;
	}
	buf_wipe(out);
	return error_set(&r->err, ERR_NOT_FOUND,
			 "'%s' is neither a snapshot under '%s' nor a revision of the config history (see 'cpactl "
			 "list' and 'cpactl config log')",
			 rev, r->d.backup_dir);
}

static int config_restore(struct config_run *r, int argc, char **argv)
{
	struct buf data = BUF_INIT;
	char source[96];
	int rc = -1;

	(void)argc;
	if (open_deployment(r, 1) < 0 || read_revision(r, argv[0], &data, source, sizeof(source)) < 0)
		goto out;
	say(r->cli, "restoring config.yaml of %s", source);
	rc = apply_bytes(r, &data, source);
out:
	buf_wipe(&data);
	return rc;
}

/* --- the table -------------------------------------------------------------- */

static const struct config_subcommand subcommands[] = {
	{ "log", 0, 0, 0, 0, "config log", config_log },
	{ "diff", 0, 2, 1, 0, "config diff [REV|ID] [REV|ID]", config_diff },
	{ "show", 1, 1, 1, 0, "config show REV|ID", config_show },
	{ "check", 0, 1, 0, 0, "config check [FILE]", config_check_cmd },
	{ "apply", 1, 1, 0, 1, "config apply FILE", config_apply },
	{ "restore", 1, 1, 0, 1, "config restore REV|ID", config_restore },
	{ NULL, 0, 0, 0, 0, NULL, NULL },
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
	int first, operands, code, rc;

	memset(&r, 0, sizeof(r));
	r.cli = cli;
	r.args.test_port = 8318;
	r.args.timeout_ms = 60000;
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
				 strstr(sub->usage, "FILE") ? "a file" : "a revision or snapshot id");
	if (operands > sub->max_operands)
		return cli_usage(cli, "unexpected argument '%s' (usage: cpactl %s)",
				 argv[first + 1 + sub->max_operands], sub->usage);
	if (r.args.show_secrets && !sub->takes_show_secrets)
		return cli_usage(cli, "'--show-secrets' does not apply to 'config %s'", sub->name);
	if (r.args.change_options && !sub->changes)
		return cli_usage(cli, "--yes, --dry-run, --test-port, --candidate-network, --candidate-without-store, --timeout, --wait, --no-backup and --reload apply "
				      "to 'config apply' and 'config restore' only");
	rc = sub->run(&r, operands, argv + first + 1);
	if (r.err.kind == ERR_PARSE && !r.args.show_secrets)
		say(cli, "config.yaml is not valid YAML, so its secrets cannot be masked: nothing is shown");
	code = cli_finish(cli, r.result, rc, &r.err, r.code);
	if (r.have_deployment)
		deployment_release(&r.d);
	cpa_targets_free(r.targets, r.count);
	return code;
}
