/*
 * journal.h - mutating operations as sequences of journaled steps.
 *
 * Before each step of an upgrade (and later rollback and config changes) the
 * operation's state is written to ROOT/.cpactl/journal.json, atomically and
 * fsynced, so that a cpactl killed at any instant leaves a record of exactly
 * where it stopped and of everything needed to finish or undo it (container
 * ids and names, the snapshot, the scratch directory).  While a journal
 * exists, the next mutating command refuses to start (exit 4) and names it;
 * `cpactl recover` reads it.
 *
 * Test-only switch: when CPACTL_TEST_KILL_AT names a step, cpactl kills
 * itself with SIGKILL right after journaling that step (or at a named point
 * of an operation that needs no journal), so the test suite can prove
 * recovery from every step boundary.
 */
#ifndef CPACTL_JOURNAL_H
#define CPACTL_JOURNAL_H

#include <jansson.h>

#include "deployment.h"
#include "error.h"

struct journal {
	char *path;
	json_t *doc;   /* {"operation","id","started","pid","step","steps":[...],"context":{...}} */
};

/* Starts an operation.  Fails with ERR_LOCKED naming the unfinished one when a
 * journal is already there. */
int journal_begin(const struct deployment *d, const char *operation, const char *id,
		  struct journal *j, struct cpactl_error *err);

/* ERR_LOCKED naming the unfinished operation, if there is one: every
 * mutating command calls it (journal_begin does). */
int journal_refuse_unfinished(const struct deployment *d, struct cpactl_error *err);

/* Records that `step` starts now, with the context as it stands. */
int journal_step(struct journal *j, const char *step, struct cpactl_error *err);

/* Sets a context value (takes the reference); written at the next step. */
void journal_set(struct journal *j, const char *key, json_t *value);
/* A context value (borrowed), or NULL; keys: OP_KEY_* of operation.h. */
json_t *journal_get(const struct journal *j, const char *key);
const char *journal_get_string(const struct journal *j, const char *key);

/* Ends the operation: the journal is moved to ROOT/.cpactl/last-operation.json
 * with its outcome, and copied to last-<outcome>.json (last-upgraded.json). */
int journal_finish(struct journal *j, const char *outcome, struct cpactl_error *err);

void journal_release(struct journal *j);

/* The test-only switches: SIGKILL when CPACTL_TEST_KILL_AT names `step`,
 * SIGINT (a Ctrl-C) when CPACTL_TEST_INTERRUPT_AT does (SIGTERM with
 * CPACTL_TEST_INTERRUPT_SIGNAL=TERM).
 * journal_step() calls it after writing each step; operations that are safe
 * by construction without a journal (archive) call it at their own named
 * points. */
void journal_test_kill_point(const char *step);

/* The unfinished operation of a deployment, or *out NULL when there is none. */
int journal_load(const struct deployment *d, json_t **out, struct cpactl_error *err);

/* Adopts an unfinished journal (for recover). */
int journal_adopt(const struct deployment *d, struct journal *j, struct cpactl_error *err);

#endif
