/*
 * deployment.h - where cpactl keeps the state of one CPA deployment.
 *
 * A deployment root per CPA container: by default the host directory that
 * holds its config.yaml (the runbook's /opt/cliproxyapi), else --root DIR or
 * $CPACTL_ROOT.  Under it:
 *
 *   backup/<ID>/         one snapshot per directory, ID = UTC YYYYmmdd-HHMMSS
 *   archive/<STAMP>/     snapshots moved aside by `cpactl archive`
 *   .cpactl/store/       the image blob store, one file per SHA-256
 *   .cpactl/history/     the config history (a bare git repository)
 *   .cpactl/lock         flock(2) of mutating commands
 *
 * Directories are created 0700 and files 0600: they hold api keys and OAuth
 * tokens.  The live config.yaml and auth dir are never written here.
 */
#ifndef CPACTL_DEPLOYMENT_H
#define CPACTL_DEPLOYMENT_H

#include "discover.h"
#include "error.h"

struct deployment {
	char *root;
	char *backup_dir;
	char *archive_dir;
	char *state_dir;     /* root/.cpactl */
	char *store_dir;     /* root/.cpactl/store */
	char *history_dir;   /* root/.cpactl/history */
	char *lock_path;     /* root/.cpactl/lock */
};

/* Picks the root: `root_override` (from --root) first, then $CPACTL_ROOT,
 * then the directory of the target's bind-mounted config.yaml.  Fails with
 * ERR_USAGE, saying to use --root, when none applies (config in a volume or in
 * the image, or a remote engine).  `t` may be NULL when an override is given. */
int deployment_resolve(const struct cpa_target *t, const char *root_override,
		       struct deployment *d, struct cpactl_error *err);

/* Whether the state under the root can be trusted, as OpenSSH's StrictModes
 * and sudo judge their files: nobody but root and the user running cpactl
 * may have written it.  The root and each directory above it must be owned
 * by root or the effective user and not writable by group or others (or
 * sticky, like /tmp); backup/, archive/ and .cpactl/, where
 * they exist, must be directories (never symlinks), owned so, writable by
 * the owner only.  Fails with ERR_UNTRUSTED naming the path, its owner and
 * mode, and the fix.  Read-only verbs call it too: a snapshot, seal or
 * journal that another user could have forged is never read. */
int deployment_check_trust(const struct deployment *d, struct cpactl_error *err);

/* Creates the directories that are missing, 0700. */
int deployment_prepare(const struct deployment *d, struct cpactl_error *err);

void deployment_release(struct deployment *d);

/* mkdir -p with mode 0700 for every component created. */
int make_private_dirs(const char *path, struct cpactl_error *err);

#endif
