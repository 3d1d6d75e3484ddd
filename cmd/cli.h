/*
 * cli.h - what every verb of the command line shares.
 *
 * main.c owns the one dispatch table of verbs and the global options; each
 * verb lives in cmd_<verb>.c with its --help paragraph, and declares its own
 * options in a table that is used both to parse the command line and to print
 * --help, so the two cannot drift apart.  Only cmd/ prints and chooses exit
 * codes: lib/ reports through struct cpactl_error.
 *
 * Output rules: with --json exactly one JSON document goes to stdout, even on
 * failure (then an object with an "error" member); everything meant for
 * people goes to stderr, and -q silences all of it but errors.
 */
#ifndef CPACTL_CLI_H
#define CPACTL_CLI_H

#include <jansson.h>
#include <signal.h>

#include "../lib/deployment.h"
#include "../lib/discover.h"
#include "../lib/docker.h"
#include "../lib/error.h"

#define CPACTL_VERSION "0.1.0"

/* Exit codes, documented in man/cpactl.1. */
enum exit_code {
	EXIT_OK = 0,
	EXIT_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_PROBLEMS = 3,
	EXIT_LOCKED = 4,
	EXIT_DECLINED = 5,
};

struct cli_option {
	const char *name;     /* long name without "--" */
	int short_name;       /* 0 when none */
	const char *arg;      /* argument placeholder ("NAME"), NULL for a flag */
	const char *help;
};

struct cli {
	int json;
	int quiet;
	int verbose;
	const char *host;       /* -H/--host */
	const char *container;  /* --container */
	const char *profile;    /* --profile */
	int api_port;           /* --api-port, 0 when not given */
	const char *probe_path; /* --probe-path */
	char *env_file;         /* --env-file, made absolute (malloc'd) */
	struct docker_client *docker;
	const struct verb *verb;
	const char *notify_url;  /* --notify or $CPACTL_NOTIFY_URL, checked by main.c */
	const char *subcommand;  /* "check" of `config check`, named in notifications */
	json_t *final_document;  /* what cli_finish()/cli_usage() ended with, for cli_notify() */
};

typedef int (*verb_fn)(struct cli *cli, int argc, char **argv);

struct verb {
	const char *name;
	const char *summary;      /* one line for the verb list */
	const char *synopsis;     /* after "cpactl VERB " */
	const char *description;  /* a paragraph for --help: <verb>_help, below */
	const struct cli_option *options; /* terminated by a zeroed entry; may be NULL */
	verb_fn run;
};

/* Called for each option of the verb's own table: its index in that table
 * (one of the table's enum, below) and the argument (NULL for flags).
 * Returns 0, or -1 after cli_usage(). */
typedef int (*option_fn)(struct cli *cli, void *ctx, int index, const char *arg);

/* Parses global and verb options anywhere on the command line.  Returns the
 * index of the first operand in argv (argv is permuted), -1 on a usage error
 * (already reported), or -2 when --help or --version was printed. */
int cli_parse(struct cli *cli, int argc, char **argv, option_fn on_option, void *ctx);

/* The discovery options the global options ask for (--container, --profile,
 * --api-port, --probe-path, --env-file). */
void cli_discover_options(const struct cli *cli, struct discover_options *opts);

/* 1 when `arg` is a global option that takes its value as the next word
 * ("--container NAME", "-H HOST"), from the one table of global options. */
int cli_global_takes_arg(const char *arg);

/* Opens the engine connection (once). */
int cli_docker(struct cli *cli, struct cpactl_error *err);

/* Messages for people, on stderr.  say() is silenced by -q, debug() needs -v. */
void say(const struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void debug(const struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* say() as the message callback of a lib/ operation: ctx is the struct cli. */
void cli_say_message(void *ctx, const char *message);

/* Reports a usage error for the current verb and returns EXIT_USAGE. */
int cli_usage(struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Ends a verb: prints `result` (stolen) as the JSON document when --json, or
 * the error (as JSON or on stderr) when err is set, and returns the exit code:
 * `code` on success, the code of the error's kind otherwise.  `rc` is what the
 * verb's work returned: a failure (< 0) that set no error is an internal
 * error, exit 1, never a silent success. */
int cli_finish(struct cli *cli, json_t *result, int rc, const struct cpactl_error *err, int code);

int exit_code_for(enum error_kind kind);

/* Every CPA container (target.c), or only --container; none found is an
 * error (ERR_NOT_FOUND).  Freed by the caller with cpa_targets_free(). */
int cli_targets(struct cli *cli, int skip_version, struct cpa_target **targets, size_t *count,
		struct cpactl_error *err);
/* After the verb returned: POSTs how the run ended to cli->notify_url (when
 * set and the command changes or checks something), from the document kept
 * by cli_finish()/cli_usage().  A failure is a warning on stderr; the exit
 * code stays what the verb returned. */
void cli_notify(struct cli *cli, int exit_code);

/* The one CPA container to act on (target.c): --container, or the only one
 * found.  *targets and *count receive the discovery, freed by the caller with
 * cpa_targets_free(); *target points into it. */
int cli_one_target(struct cli *cli, int skip_version, struct cpa_target **targets, size_t *count,
		   struct cpa_target **target, struct cpactl_error *err);

/* The deployment: --root (root), $CPACTL_ROOT, or the target's config dir.
 * Discovers the target only when needed (need_target, or no root given). */
int cli_deployment(struct cli *cli, const char *root, int need_target, struct cpa_target **targets,
		   size_t *count, struct cpa_target **target, struct deployment *d,
		   struct cpactl_error *err);

/* An option_fn for verbs whose only option is --root DIR (ROOT_OPT_ROOT):
 * ctx is a const char ** that receives it. */
int cli_root_option(struct cli *cli, void *ctx, int index, const char *arg);

/* The operation the target's journal holds: 0 none; 1 unfinished (its
 * cpactl is gone): a sentence appended to `into`; 2 in progress (a live
 * cpactl holds the lock): the sentence in `in_progress` (may be NULL). */
int cli_unfinished_operation(const struct cpa_target *t, json_t *into, char *in_progress, size_t in_progress_len);

/* Set by the signal handlers of cli_catch_interrupts() (SIGINT, SIGTERM,
 * SIGHUP): long operations poll it and stop cleanly. */
extern volatile sig_atomic_t cli_interrupted;
void cli_catch_interrupts(void);

/* Parses the --timeout of a probe: seconds, fractions allowed, above 0 and
 * at most 3600, into milliseconds; usage error otherwise. */
int cli_parse_timeout(struct cli *cli, const char *arg, long *timeout_ms);

/* Parses --candidate-network: "isolated" (0) or "shared" (1) into *shared;
 * usage error otherwise. */
int cli_parse_candidate_network(struct cli *cli, const char *arg, int *shared);

/* Parses a count of seconds (0..86400) for `option`; usage error otherwise. */
int cli_parse_seconds(struct cli *cli, const char *option, const char *arg, int *out);

/* Commits the config.yaml of a snapshot to the deployment's history, with a
 * message naming why, the snapshot, the version and the image. */
int cli_commit_config(struct cli *cli, const struct deployment *d, const char *snapshot_path,
		      const char *snapshot_id, const struct cpa_target *t, const char *why,
		      struct cpactl_error *err);

/* Prints the help of a verb (or the general help when verb is NULL). */
void cli_help(FILE *to, const struct verb *verb);

/* --help and --version on stdout: the text, or with --json one document
 * ({"verb", "cpactl_version", "help"}; {"cpactl_version"}). */
void cli_show_help(int json, const struct verb *verb);
void cli_show_version(int json);

/* The verb table (main.c). */
extern const struct verb verbs[];
const struct verb *verb_find(const char *name);

/* Verbs. */
int cmd_discover(struct cli *cli, int argc, char **argv);
int cmd_status(struct cli *cli, int argc, char **argv);
int cmd_backup(struct cli *cli, int argc, char **argv);
int cmd_upgrade(struct cli *cli, int argc, char **argv);
int cmd_recover(struct cli *cli, int argc, char **argv);
int cmd_rollback(struct cli *cli, int argc, char **argv);
int cmd_list(struct cli *cli, int argc, char **argv);
int cmd_verify(struct cli *cli, int argc, char **argv);
int cmd_config(struct cli *cli, int argc, char **argv);
int cmd_archive(struct cli *cli, int argc, char **argv);
int cmd_doctor(struct cli *cli, int argc, char **argv);

/* The verbs' --help paragraphs and option tables (cmd_<verb>.c), used by
 * main.c's verb table.  Each option table is indexed by its enum: a table
 * names its rows ([UPGRADE_OPT_IMAGE] = ...) and its option_fn its cases
 * (case UPGRADE_OPT_IMAGE:), so inserting an option cannot shift which code
 * handles the others.  The order of an enum is the order --help prints; its
 * _COUNT is the zeroed entry that ends the table. */
enum discover_option { DISCOVER_OPT_NO_VERSION, DISCOVER_OPT_COUNT };
extern const char discover_help[];
extern const struct cli_option discover_options[];

enum status_option { STATUS_OPT_TIMEOUT, STATUS_OPT_COUNT };
extern const char status_help[];
extern const struct cli_option status_options[];

enum backup_option { BACKUP_OPT_ROOT, BACKUP_OPT_NO_IMAGE, BACKUP_OPT_NO_CONFIG, BACKUP_OPT_WAIT, BACKUP_OPT_COUNT };
extern const char backup_help[];
extern const struct cli_option backup_options[];

enum upgrade_option {
	UPGRADE_OPT_IMAGE,
	UPGRADE_OPT_TEST_PORT,
	UPGRADE_OPT_CANDIDATE_NETWORK,
	UPGRADE_OPT_CANDIDATE_WITHOUT_STORE,
	UPGRADE_OPT_TIMEOUT,
	UPGRADE_OPT_YES,
	UPGRADE_OPT_DRY_RUN,
	UPGRADE_OPT_NO_BACKUP,
	UPGRADE_OPT_NO_PULL,
	UPGRADE_OPT_FORCE,
	UPGRADE_OPT_ALLOW_MISSING_MODELS,
	UPGRADE_OPT_ALLOW_FEWER_CLIENTS,
	UPGRADE_OPT_ALLOW_DOWNGRADE,
	UPGRADE_OPT_KEEP_CONFIG,
	UPGRADE_OPT_ROOT,
	UPGRADE_OPT_WAIT,
	UPGRADE_OPT_UPDATE_COMPOSE_FILE,
	UPGRADE_OPT_START,
	UPGRADE_OPT_CHECK,
	UPGRADE_OPT_TO,
	UPGRADE_OPT_COUNT
};
extern const char upgrade_help[];
extern const struct cli_option upgrade_options[];

enum recover_option { RECOVER_OPT_ROOT, RECOVER_OPT_WAIT, RECOVER_OPT_DRY_RUN, RECOVER_OPT_COUNT };
extern const char recover_help[];
extern const struct cli_option recover_options[];

enum rollback_option {
	ROLLBACK_OPT_AUTH,
	ROLLBACK_OPT_YES,
	ROLLBACK_OPT_DRY_RUN,
	ROLLBACK_OPT_NO_BACKUP,
	ROLLBACK_OPT_TIMEOUT,
	ROLLBACK_OPT_ROOT,
	ROLLBACK_OPT_WAIT,
	ROLLBACK_OPT_ALLOW_WIDER,
	ROLLBACK_OPT_COUNT
};
extern const char rollback_help[];
extern const struct cli_option rollback_options[];

/* The tables of the verbs whose only option is --root DIR (list, verify):
 * cli_root_option() handles them. */
enum root_option { ROOT_OPT_ROOT, ROOT_OPT_COUNT };
extern const char list_help[];
extern const struct cli_option list_options[];
extern const char verify_help[];
extern const struct cli_option verify_options[];

enum config_option {
	CONFIG_OPT_ROOT,
	CONFIG_OPT_SHOW_SECRETS,
	CONFIG_OPT_YES,
	CONFIG_OPT_DRY_RUN,
	CONFIG_OPT_TEST_PORT,
	CONFIG_OPT_CANDIDATE_NETWORK,
	CONFIG_OPT_CANDIDATE_WITHOUT_STORE,
	CONFIG_OPT_TIMEOUT,
	CONFIG_OPT_WAIT,
	CONFIG_OPT_NO_BACKUP,
	CONFIG_OPT_RELOAD,
	CONFIG_OPT_START,
	CONFIG_OPT_COUNT
};
extern const char config_help[];
extern const struct cli_option config_options[];

enum archive_option {
	ARCHIVE_OPT_ROOT,
	ARCHIVE_OPT_KEEP,
	ARCHIVE_OPT_PRUNE_IMAGES,
	ARCHIVE_OPT_DRY_RUN,
	ARCHIVE_OPT_WAIT,
	ARCHIVE_OPT_COUNT
};
extern const char archive_help[];
extern const struct cli_option archive_options[];

enum doctor_option { DOCTOR_OPT_ROOT, DOCTOR_OPT_TIMEOUT, DOCTOR_OPT_COUNT };
extern const char doctor_help[];
extern const struct cli_option doctor_options[];

#endif
