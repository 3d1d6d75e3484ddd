/*
 * recover.h - bring a deployment back to a consistent, serving state after a
 * mutating cpactl died in the middle (SIGKILL, power loss, an engine restart).
 *
 * It reads the journal (journal.h) and, from the step the operation stopped
 * at, either finishes it when that is safe or undoes it:
 *   - before production was stopped: undo (remove the candidate and the
 *     pre-created container, restore the old restart policy and config.yaml,
 *     make sure the old container runs);
 *   - after production was stopped: finish (names in place, start the new
 *     container) when the new release passes a verdict on the real port,
 *     else undo (the old container back under its name with its config);
 *   - in the middle of a rollback: complete the rollback.
 * Every action is idempotent, so recover itself can be killed and rerun.
 */
#ifndef CPACTL_RECOVER_H
#define CPACTL_RECOVER_H

#include <jansson.h>

#include "deployment.h"
#include "docker.h"
#include "error.h"
#include "upgrade.h"

/* Returns 0 with *report {"operation","id","stopped_at","outcome":
 * "nothing"|"finished"|"undone","actions":[...]} or -1. */
int recover_run(struct docker_client *c, const struct deployment *d, say_fn say, void *ctx,
		json_t **report, struct cpactl_error *err);

/* --dry-run: what recover_run would do, from the journal alone; it changes
 * nothing and takes no lock.  *report {"outcome": "nothing"|"dry-run",
 * "operation","id","stopped_at","plan": "undo"|"finish-if-serving",
 * "in_progress_pid": a live cpactl that holds the lock, or null}. */
int recover_plan(const struct deployment *d, say_fn say, void *ctx, json_t **report, struct cpactl_error *err);

#endif
