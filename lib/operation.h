/*
 * operation.h - the steps of cpactl's mutating operations, as one table.
 *
 * Upgrade, rollback and config apply change production in journaled steps
 * (journal.h); `cpactl recover` reads the last step a killed run journaled
 * and decides from it whether to finish the operation or undo it.  Before
 * this table, step names were string literals written in promote.c,
 * rollback.c, upgrade.c and config apply and matched again in recover.c,
 * so a renamed step silently changed what recover did.  Now each step is an
 * enum value, and its journal name, what it does to production and how
 * recover treats a run killed at it live here, once.
 *
 * The same goes for the names of the containers an operation keeps aside
 * (NAME-cpactl-candidate, -new, -prev-<ID>, -failed-<ID>) and for the keys of
 * the journal's context, which recover reads back.
 *
 * The journal names are an interface: journal.json files written by an
 * earlier cpactl are read by a later one's recover, and the tests kill
 * cpactl at steps by name (CPACTL_TEST_KILL_AT).  Never rename one.
 */
#ifndef CPACTL_OPERATION_H
#define CPACTL_OPERATION_H

#include <jansson.h>

#include "docker.h"
#include "error.h"
#include "buf.h"
#include "journal.h"
#include "snapshot.h"

/* Messages for a person go through the caller (lib/ never prints): one
 * sentence, no newline at the end. */
typedef void (*say_fn)(void *ctx, const char *message);
/* printf-like message through `say` (ignored when say is NULL). */
void say_fmt(say_fn say, void *ctx, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Asks a person before production changes: 1 yes, 0 no (no terminal: 0). */
typedef int (*confirm_fn)(void *ctx, const char *question);

enum op_step {
	/* Before production is touched. */
	OP_STEP_PREFLIGHT,
	OP_STEP_BACKUP,
	OP_STEP_PULL,
	OP_STEP_IMAGE,
	OP_STEP_IMAGE_LOAD,
	OP_STEP_SCRATCH,
	OP_STEP_AUTH_STAGE,
	OP_STEP_CANDIDATE_CREATE,
	OP_STEP_CANDIDATE_START,
	OP_STEP_CANDIDATE_JUDGE,
	OP_STEP_CANDIDATE_REMOVE,
	OP_STEP_CONFIRM,
	/* The promotion (promote.c), in order. */
	OP_STEP_PROMOTE_CREATE,
	OP_STEP_PROMOTE_RESTART_POLICY,
	OP_STEP_PROMOTE_CONFIG,
	OP_STEP_PROMOTE_STOP_OLD,
	OP_STEP_PROMOTE_HOOK,
	OP_STEP_PROMOTE_AUTH,
	OP_STEP_PROMOTE_RENAME_OLD,
	OP_STEP_PROMOTE_RENAME_NEW,
	OP_STEP_PROMOTE_START_NEW,
	OP_STEP_VERIFY,
	/* The automatic undo of a promotion that did not serve. */
	OP_STEP_ROLLBACK_STOP_NEW,
	OP_STEP_ROLLBACK_RENAME_NEW,
	OP_STEP_ROLLBACK_RENAME_OLD,
	OP_STEP_ROLLBACK_CONFIG,
	OP_STEP_ROLLBACK_HOOK,
	OP_STEP_ROLLBACK_START_OLD,
	OP_STEP_ROLLBACK_VERIFY,
	/* config apply --reload's undo. */
	OP_STEP_UNDO_CONFIG,
	OP_STEP_COUNT
};

/* What a run killed at a step leaves to recover. */
enum op_recovery {
	/* Production was not replaced yet (or is being put back): recover
	 * undoes the operation. */
	OP_RECOVER_UNDO,
	/* The new release may already be in production's place: recover
	 * finishes the operation when the new release serves, else undoes it. */
	OP_RECOVER_FINISH_IF_SERVING,
};

/* What the step does to the production container. */
enum op_production {
	OP_PRODUCTION_UNTOUCHED, /* production serves as before */
	OP_PRODUCTION_CHANGED,   /* stopped, renamed, its config rewritten, or replaced */
};

struct op_step_info {
	const char *name;            /* in journal.json and CPACTL_TEST_KILL_AT */
	enum op_production production;
	enum op_recovery recovery;
};

/* The table row of a step; never NULL for a valid step. */
const struct op_step_info *op_step_info(enum op_step step);
/* The row whose journal name is `name`, or NULL (a journal from elsewhere). */
const struct op_step_info *op_step_find(const char *name);

/* The id of an operation that starts now: the time, UTC, YYYYmmdd-HHMMSS. */
void operation_stamp(char *out, size_t len);

/* One run of a mutating operation: what upgrade, config apply and rollback
 * share.  The operation module owns the journal, the snapshot taken before
 * the change, the id and the scratch dir; the caller owns the report (it
 * hands it out) and the target. */
struct operation {
	struct docker_client *c;
	struct cpa_target *t;
	const struct deployment *d;
	json_t *report;            /* receives "steps" and, at the end, "outcome" */
	say_fn say;
	void *ctx;
	struct journal journal;
	char stamp[32];            /* when it started (operation_stamp) */
	char *id;                  /* the snapshot's id, or the stamp without one */
	char *scratch_dir;         /* ROOT/.cpactl/scratch/<id>, or NULL */
	struct snapshot_result snap;
	int journaled;             /* the journal was begun: operation_end ends it */
};

/* Fills `op` for target t; no journal yet. */
void operation_init(struct operation *op, struct docker_client *c, struct cpa_target *t, const struct deployment *d,
		    json_t *report, say_fn say, void *ctx);

/* Begins operation `kind` ("upgrade", "config-apply", "rollback"): the
 * journal (refused with ERR_LOCKED while an earlier operation is
 * unfinished) and the target in its context (OP_KEY_CONTAINER, _OLD_ID,
 * _CONFIG_HOST, _PROFILE, _PROBE_PATH, _API_PORT, _SETTINGS_PART), which is
 * what recover needs to find and judge it again. */
int operation_begin(struct operation *op, const char *kind, struct cpactl_error *err);

/* Records that `step` starts now: in the journal (written before the step
 * runs) and in the report's "steps" array, which --json shows. */
int operation_step(struct operation *op, enum op_step step, struct cpactl_error *err);

/* Journals OP_STEP_CONFIRM, then asks `question` through `confirm` (with
 * op->ctx): 0 when the answer is yes; -1 with ERR_DECLINED when it is no or
 * nobody can be asked (confirm NULL), production untouched. */
int operation_confirm(struct operation *op, confirm_fn confirm, const char *question, struct cpactl_error *err);

/* The snapshot every operation takes before it changes anything. */
struct op_backup {
	int skip;                /* --no-backup: the id is the stamp */
	const char *why;         /* the history commit's message: "backup before upgrade" */
	const char *report_key;  /* where the report names the snapshot: "snapshot" */
	const char *taken_of;    /* said after "snapshot <id> taken", or NULL */
	const char *skipped;     /* said with --no-backup, or NULL */
	struct snapshot_options snapshot;
};

/* Journals OP_STEP_BACKUP, takes the snapshot into op->snap, records its id
 * in the journal (OP_KEY_SNAPSHOT) and the report, commits its config to the
 * history; op->id becomes the snapshot's id.  With b->skip, op->id is the
 * stamp and nothing is taken. */
int operation_backup(struct operation *op, const struct op_backup *b, struct cpactl_error *err);

/* ROOT/.cpactl/scratch/<id>, private, with config.orig holding `orig` (the
 * live settings file as it was: what undo and recover put back), journaled
 * as OP_KEY_SCRATCH_DIR.  Any earlier dir of that name is removed first. */
int operation_scratch(struct operation *op, const struct buf *orig, struct cpactl_error *err);

/* Ends the run: "outcome" in the report; when `finished`, the scratch dir is
 * removed and the journal closed with the outcome, else the journal stays
 * for `cpactl recover`.  Releases what the operation owns. */
void operation_end(struct operation *op, const char *outcome, int finished);

/* Whether the promotion's undo put the old release back, for the outcome
 * an operation reports. */
enum op_undo {
	OP_UNDO_NONE,     /* no undo ran: the new release serves, or promotion never started */
	OP_UNDO_DONE,     /* the old release serves again */
	OP_UNDO_FAILED,   /* production is neither: the journal stays for recover */
};

/* Commits `data`, the config production now serves, to the deployment's
 * history with a message made of fmt.  A failure is a warning said through
 * `say`, never a failed operation: production already serves the file. */
void operation_commit_config(const struct deployment *d, const char *data, size_t len, say_fn say, void *ctx,
			     const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* The containers an operation keeps aside, named after production's NAME. */
enum op_kept {
	OP_KEPT_CANDIDATE, /* NAME-cpactl-candidate: the release under test */
	OP_KEPT_NEW,       /* NAME-cpactl-new: the new container before the swap */
	OP_KEPT_PREV,      /* NAME-cpactl-prev-<ID>: the old release, stopped, for rollback */
	OP_KEPT_FAILED,    /* NAME-cpactl-failed-<ID>: a release that did not serve */
};

/* NAME-cpactl-<role>[-<id>]; id is used by PREV and FAILED only.  malloc'd,
 * NULL when out of memory. */
char *operation_kept_name(const char *name, enum op_kept role, const char *id);

/* The role of a container cpactl keeps aside, from its name (a leading '/',
 * as the engine lists names, is ignored); -1 when the name is not one of
 * them.  When `production` is not NULL, only names kept for it count. */
int operation_kept_role(const char *name, const char *production);

/* The keys of an operation's context in the journal, read back by recover. */
#define OP_KEY_CONTAINER "container"         /* production's name */
#define OP_KEY_OLD_ID "old_id"               /* production's container id before */
#define OP_KEY_NEW_ID "new_id"               /* the new container's id */
#define OP_KEY_PREV_NAME "prev_name"         /* the old one's name once aside */
#define OP_KEY_NEW_KEPT_NAME "new_kept_name" /* where a failed new one is kept */
#define OP_KEY_CANDIDATE_ID "candidate_id"
#define OP_KEY_CONFIG_HOST "config_host"     /* the live config.yaml on the host */
#define OP_KEY_CONFIG_IN_CONTAINER "config_in_container" /* or its path on a volume */
#define OP_KEY_SETTINGS_PART "settings_part" /* the snapshot part of an env-file proxy */
#define OP_KEY_SCRATCH_DIR "scratch_dir"
#define OP_KEY_SNAPSHOT "snapshot"           /* taken before the change */
#define OP_KEY_TARGET "target"               /* the image an upgrade goes to */
#define OP_KEY_TARGET_SNAPSHOT "target_snapshot"
#define OP_KEY_PROFILE "profile"
#define OP_KEY_PROBE_PATH "probe_path"
#define OP_KEY_API_PORT "api_port"
#define OP_KEY_MODE "mode"
#define OP_KEY_IN_PLACE "in_place"
#define OP_KEY_AUTH_PLAN "auth_plan"
#define OP_KEY_PLUGINS_PLAN "plugins_plan" /* rollback: the plugins dir, missing files only */
#define OP_KEY_OLD_RESTART "old_restart"
#define OP_KEY_NEW_RESTART "new_restart"

#endif
