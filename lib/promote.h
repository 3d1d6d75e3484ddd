/*
 * promote.h - put another container in production's place, keep the old one
 * stopped, verify on the real port, and put the old one back by itself when
 * the new one does not serve.  Shared by upgrade and rollback.
 *
 * The order keeps the downtime to a stop and a start and keeps a way back at
 * every instant: the new container is created (or, on rollback's fast path,
 * already exists) while the old one still serves; the old one loses its
 * restart policy (an engine restart must never start both), config.yaml is
 * replaced, the old one stops, a hook runs (rollback's auth restore), the
 * names swap, the new one starts and is judged.  Each step is journaled
 * before it runs (operation.h's table says how recover treats each).
 */
#ifndef CPACTL_PROMOTE_H
#define CPACTL_PROMOTE_H

#include <jansson.h>
#include <signal.h>

#include "buf.h"
#include "docker.h"
#include "error.h"
#include "journal.h"
#include "operation.h"
#include "verdict.h"

/* Judges container `id` on the production port; old_release is 1 when it is
 * the old release being checked after an undo (judged on what it was). */
typedef int (*promote_judge_fn)(void *ctx, const char *id, int old_release, struct verdict *v,
				struct cpactl_error *err);
/* Runs after the old container stopped; undo is 1 when rolling back. */
typedef int (*promote_hook_fn)(void *ctx, int undo, struct cpactl_error *err);

struct promotion {
	struct operation *op;       /* its engine, journal, say; its report receives
				     * "steps", "production", "rollback", "downtime_ms" */
	const char *name;           /* production's name */
	const char *old_id;         /* production's container now */
	json_t *old_restart;        /* its restart policy, given back on undo */
	const char *config_host;    /* the live config.yaml on this machine, or NULL: */
	const char *config_in_container; /* ... its path in the old container, on a volume
					  * (or a bind on the engine's host), written through the engine */
	const struct buf *config_before; /* SECRET: put back on undo */
	const struct buf *config_after;  /* SECRET: written before the new one starts; NULL: unchanged */
	json_t *create_body;        /* the new container, created as NAME-cpactl-new; or */
	json_t *extra_networks;     /* [{network, endpoint}] connected after create */
	const char *reuse_id;       /* an existing stopped container started instead */
	json_t *reuse_restart;      /* the restart policy it gets when it takes over */
	const char *prev_name;      /* the old container's name afterwards */
	const char *failed_name;    /* the new one's name when it fails */
	enum op_step hook_step;     /* the hook's journal step; 0: OP_STEP_PROMOTE_HOOK */
	promote_hook_fn hook;
	promote_judge_fn judge;
	void *ctx;                  /* for judge and hook */
	const volatile sig_atomic_t *interrupted; /* Ctrl-C: the failure is said as one */
	/* Out. */
	char *new_id;               /* malloc'd */
	enum op_undo undo;          /* whether a failed new release was undone */
	int untouched;              /* failed (interrupted) before production was changed */
};

/* A promotion of op's target: name, old id and config file from it. */
void promotion_init(struct promotion *p, struct operation *op);

/* Returns 0 when the new container serves; -1 otherwise, with p->undo
 * saying whether the old one was put back. */
int promote_run(struct promotion *p, struct cpactl_error *err);
void promotion_release(struct promotion *p);

/* Says a verdict's reasons, notes and, when it failed, its log tail. */
void verdict_say(say_fn say, void *ctx, const char *who, const struct verdict *v);


#endif
