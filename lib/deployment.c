/*
 * deployment.c - see deployment.h.
 */
#include "deployment.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"

static char *join(const char *a, const char *b)
{
	struct buf p = BUF_INIT;
	if (buf_appendf(&p, "%s/%s", a, b) < 0) {
		buf_free(&p);
		return NULL;
	}
	return buf_detach(&p);
}

int make_private_dirs(const char *path, struct cpactl_error *err)
{
	char *copy = strdup(path);
	int rc = -1;

	if (!copy)
		return error_set(err, ERR_NOMEM, "out of memory");
	for (char *p = copy + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char saved = *p;
			*p = '\0';
			if (mkdir(copy, 0700) < 0 && errno != EEXIST) {
				error_set_errno(err, errno, ERR_IO, "cannot create directory '%s'", copy);
				goto out;
			}
			*p = saved;
			if (saved == '\0')
				break;
		}
	}
	rc = 0;
out:
	free(copy);
	return rc;
}

/* One path: owned by root or us; not writable by group or others, but the
 * root and the directories above it may be sticky (like /tmp, or a tmpfs):
 * nobody can then rename or replace what is ours in them, and what another
 * user made there first (a backup/ of their own) fails the owner check. */
static int trusted(const char *path, const struct stat *st, int sticky_ok, struct cpactl_error *err)
{
	uid_t me = geteuid();

	if (st->st_uid != 0 && st->st_uid != me)
		return error_set(err, ERR_UNTRUSTED,
				 "refusing to trust '%s': it is owned by uid %u, who could have written what "
				 "cpactl would read there (snapshots, seals, the journal); only root or uid %u may "
				 "own it: chown it, or use another --root",
				 path, (unsigned)st->st_uid, (unsigned)me);
	if ((st->st_mode & 022) && !(sticky_ok && (st->st_mode & S_ISVTX)))
		return error_set(err, ERR_UNTRUSTED,
				 "refusing to trust '%s': its mode %04o lets %s write in it, who could replace "
				 "what cpactl would read there; chmod go-w '%s', or use another --root",
				 path, (unsigned)(st->st_mode & 07777), (st->st_mode & 002) ? "every local user" : "its group",
				 path);
	return 0;
}

int deployment_check_trust(const struct deployment *d, struct cpactl_error *err)
{
	const char *dirs[] = { d->backup_dir, d->archive_dir, d->state_dir, NULL };
	char *copy = strdup(d->root);
	struct stat st;
	int rc = -1;

	if (!copy)
		return error_set(err, ERR_NOMEM, "out of memory");
	/* "/", then each directory down to the root itself.  A root that does
	 * not exist yet holds nothing to trust. */
	for (char *p = copy;; p++) {
		if (*p == '/' || *p == '\0') {
			char saved = *p;
			const char *path = p == copy ? "/" : copy;
			*p = '\0';
			if (stat(path, &st) < 0) {
				if (errno == ENOENT) {
					rc = 0;
					goto out;
				}
				error_set_errno(err, errno, ERR_IO, "cannot check '%s'", path);
				goto out;
			}
			if (trusted(path, &st, 1, err) < 0)
				goto out;
			*p = saved;
			if (saved == '\0')
				break;
		}
	}
	for (size_t i = 0; dirs[i]; i++) {
		if (lstat(dirs[i], &st) < 0) {
			if (errno == ENOENT)
				continue;
			error_set_errno(err, errno, ERR_IO, "cannot check '%s'", dirs[i]);
			goto out;
		}
		if (!S_ISDIR(st.st_mode)) {
			error_set(err, ERR_UNTRUSTED, "refusing to trust '%s': it is %s; move it away", dirs[i],
				  S_ISLNK(st.st_mode) ? "a symlink, not a directory cpactl made" : "not a directory");
			goto out;
		}
		if (trusted(dirs[i], &st, 0, err) < 0)
			goto out;
	}
	rc = 0;
out:
	free(copy);
	return rc;
}

int deployment_resolve(const struct cpa_target *t, const char *root_override,
		       struct deployment *d, struct cpactl_error *err)
{
	struct buf root = BUF_INIT;
	const char *env = getenv("CPACTL_ROOT");

	memset(d, 0, sizeof(*d));
	if (root_override && *root_override) {
		buf_append_str(&root, root_override);
	} else if (env && *env) {
		buf_append_str(&root, env);
	} else if (t && t->config_storage &&
		   (strcmp(t->config_storage, "bind") == 0 || strcmp(t->config_storage, "host") == 0) &&
		   t->config_path && t->config_path[0] == '/') {
		const char *slash = strrchr(t->config_path, '/');
		buf_append(&root, t->config_path, slash == t->config_path ? 1 : (size_t)(slash - t->config_path));
	} else if (t && t->profile && !t->profile->cpa) {
		return error_set(err, ERR_USAGE,
				 "no deployment root for container '%s': no env file of its settings was "
				 "found; name it with --env-file FILE, or a directory with --root DIR",
				 t->name ? t->name : "?");
	} else {
		return error_set(err, ERR_USAGE,
				 "no deployment root for container '%s': its config.yaml is not a bind "
				 "mount on this machine; name a directory with --root DIR or CPACTL_ROOT",
				 t && t->name ? t->name : "?");
	}
	while (root.len > 1 && root.data[root.len - 1] == '/')
		root.data[--root.len] = '\0';
	if (root.len == 0 || root.data[0] != '/') {
		error_set(err, ERR_USAGE,
			  "the deployment root '%s' is not an absolute path: give it from / (--root or "
			  "CPACTL_ROOT)",
			  buf_str(&root));
		buf_free(&root);
		return -1;
	}
	d->root = buf_detach(&root);
	d->backup_dir = join(d->root, "backup");
	d->archive_dir = join(d->root, "archive");
	d->state_dir = join(d->root, ".cpactl");
	d->store_dir = join(d->root, ".cpactl/store");
	d->history_dir = join(d->root, ".cpactl/history");
	d->lock_path = join(d->root, ".cpactl/lock");
	if (!d->root || !d->backup_dir || !d->archive_dir || !d->state_dir || !d->store_dir ||
	    !d->history_dir || !d->lock_path) {
		deployment_release(d);
		return error_set(err, ERR_NOMEM, "out of memory");
	}
	return 0;
}

int deployment_prepare(const struct deployment *d, struct cpactl_error *err)
{
	const char *dirs[] = { d->backup_dir, d->archive_dir, d->state_dir, d->store_dir, NULL };
	struct stat st;

	/* A root named with --root may be new: create it private. */
	if (stat(d->root, &st) < 0 && make_private_dirs(d->root, err) < 0)
		return -1;
	for (size_t i = 0; dirs[i]; i++)
		if (make_private_dirs(dirs[i], err) < 0)
			return -1;
	return 0;
}

void deployment_release(struct deployment *d)
{
	free(d->root);
	free(d->backup_dir);
	free(d->archive_dir);
	free(d->state_dir);
	free(d->store_dir);
	free(d->history_dir);
	free(d->lock_path);
	memset(d, 0, sizeof(*d));
}
