/*
 * config_apply.h - `cpactl config apply`: a new config.yaml for production,
 * on the image it runs, in one of two ways.
 *
 * With a candidate (the default): the release path of an upgrade
 * (release.h), the same image with the new file.  The candidate starts on a
 * scratch copy of the new file and the auth dir; it must serve with the new
 * file's first api key; then production is recreated with the new file and
 * verified, and put back by itself when it does not serve.  The candidate is
 * not held to production's model list and client count: a config change
 * may drop providers on purpose.
 *
 * With --reload: no candidate and no restart.
 * CPA watches config.yaml and reloads it on change, so a config change needs
 * no downtime at all.  The price: there is no candidate, the new file is
 * tested by production itself.  What must always hold: the previous bytes are
 * kept (in the snapshot, and in the scratch dir as config.orig) before the
 * live file changes, and when production does not serve with the new file's
 * first key within the deadline, the previous bytes go back and production is
 * probed again with its old key.  The operation is journaled as
 * "config-apply", so a crash in the middle leaves a journal that makes other
 * mutating commands refuse, and `cpactl recover` puts the old file back.
 *
 * How the file is replaced depends on the mount.  A file bind-mounted on its
 * own (-v ./config.yaml:/CLIProxyAPI/config.yaml) pins its inode: a rename on
 * the host would never be seen inside the container.  Such a file is
 * rewritten in place (same inode, owner and mode; written, then truncated to
 * its new length, then fsynced), and for that instant a reader may see a
 * mixed file: CPA's watcher sees the following change and reads it again.
 * A config.yaml inside a mounted directory is replaced atomically (rename).
 */
#ifndef CPACTL_CONFIG_APPLY_H
#define CPACTL_CONFIG_APPLY_H

#include <jansson.h>

#include "deployment.h"
#include "discover.h"
#include "docker.h"
#include "error.h"
#include "upgrade.h"

/* Applies o->config_data (SECRET, o->config_len bytes, named
 * o->config_source in messages) to the running target `t`, through a
 * candidate, or with `reload` through CPA's file watcher.  Also uses from
 * `o`: image (with a candidate: another image than the running one),
 * test_port, timeout_ms, no_backup, cpactl_version, interrupted, say,
 * confirm, ctx, backup_progress, progress_ctx; --dry-run is the caller's.
 * The caller holds the deployment's lock.  *report always receives a
 * report (a new reference): {"outcome" (applied, rolled-back,
 * rollback-failed, declined, refused), "container", "snapshot",
 * "config_diff", "steps", and with a candidate "from", "to", "candidate",
 * "production", "previous_container", "downtime_ms"; with --reload "mode":
 * "reload", "in_place"}.  Returns 0 when applied. */
int config_apply_run(struct docker_client *c, struct cpa_target *t, const struct deployment *d,
		     const struct upgrade_options *o, int reload, json_t **report, struct cpactl_error *err);

/* The unified diff from `before` to `after`, both masked (secretmask.h), as a
 * new JSON string; NULL on failure (err set). */
json_t *config_masked_diff(const char *before, size_t before_len, const char *after, size_t after_len,
			   struct cpactl_error *err);

/* 1 when config.yaml is bind-mounted on its own (its inode is pinned: only an
 * in-place write reaches the container). */
int config_mounted_alone(const struct cpa_target *t);

#endif
