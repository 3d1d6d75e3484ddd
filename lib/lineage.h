/*
 * lineage.h - which snapshots are a container's own past.
 *
 * A container's id changes at every upgrade, rollback and config apply (the
 * new container replaces the old one), and a name can change (`docker
 * rename`) or be taken by a different container on the same deployment
 * root.  So a snapshot names the container it was taken of twice: by name
 * and by id, together with the ids that container had before (its lineage,
 * snapshot baseline "lineage").  The lineage comes from the deployment's
 * `.cpactl/lineage.json`, a map of container id -> the id it replaced,
 * written (atomically, 0600) by promotion when a new container takes over
 * production; it is trusted only as far as the deployment root is
 * (deployment_check_trust()).
 *
 * lineage_belongs() is the one rule every verb applies (rollback, verify,
 * archive): a snapshot is the container's own when its container id is the
 * container's id or one of its ancestors, or when its name is the
 * container's name (compose and people recreate containers under the same
 * name outside cpactl).  Another container's snapshot is accepted only when
 * the caller named it explicitly and its definition fits: same kind of
 * proxy, same config and auth locations, same published API port.
 */
#ifndef CPACTL_LINEAGE_H
#define CPACTL_LINEAGE_H

#include <jansson.h>

#include "deployment.h"
#include "discover.h"
#include "error.h"

/* Records that container `new_id` replaced `old_id` as production. */
int lineage_record(const struct deployment *d, const char *old_id, const char *new_id, struct cpactl_error *err);

/* A new array of the ids `id` replaced, newest first (empty when none is
 * known, or the file is unreadable); NULL without memory.  Cycles and
 * chains longer than LINEAGE_MAX end the walk. */
#define LINEAGE_MAX 256
json_t *lineage_ancestors(const struct deployment *d, const char *id);

/* 1 when a snapshot (or an operation) of container `of_name` / `of_id` is
 * `t`'s own: same name, same id, or an id `t` replaced.  A NULL name (from
 * before names were recorded) is the root's own. */
int lineage_is_own(const struct deployment *d, const struct cpa_target *t, const char *of_name, const char *of_id);

enum lineage_match {
	LINEAGE_OWN = 0,      /* same id, an ancestor, or same name */
	LINEAGE_FITS,         /* another container's, named explicitly, definition fits */
	LINEAGE_FOREIGN,      /* another container's: refuse */
};

/* Whether the snapshot whose manifest "baseline" is `baseline` belongs to
 * `t`.  `explicit_id`: the user named the snapshot.  On LINEAGE_FOREIGN,
 * *why says how it differs (for the message; free()); otherwise NULL. */
enum lineage_match lineage_belongs(const struct deployment *d, const struct cpa_target *t, json_t *baseline,
				   int explicit_id, char **why);

#endif
