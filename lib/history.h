/*
 * history.h - the history of a deployment's config.yaml, in a bare git
 * repository (libgit2), at deployment.history_dir.
 *
 * Each commit holds one tree with one file, `config.yaml`, exactly the bytes
 * that were live when it was taken.  A commit is made only when those bytes
 * differ from HEAD's, so the log lists changes, not backups.  Commit messages
 * are written by callers and must never hold a secret: a snapshot id, a CPA
 * version, an image reference.  Author and committer are
 * "cpactl <cpactl@localhost>"; no git configuration of the user is read.
 *
 * What must always hold: the repository holds api keys, so it is created
 * 0700 and everything in it is written under umask 077 (directories 0700,
 * files 0600 or read-only 0400), with core.sharedRepository=0600.  Reading
 * never creates anything: only history_commit() does.
 *
 * libgit2's errors (git_error_last()) are turned into a cpactl_error in one
 * place, history.c's git_failure().
 */
#ifndef CPACTL_HISTORY_H
#define CPACTL_HISTORY_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"
#include "error.h"

/* 1 when `repo_path` holds a repository (history_commit() has run there), 0
 * otherwise.  Creates nothing. */
int history_exists(const char *repo_path);

/* Commits `data` as config.yaml with `message`, creating the repository (and
 * missing parent directories, 0700) on first use.  When the content equals
 * HEAD's, commits nothing: *committed = 0 and oid_out is HEAD.  Otherwise
 * *committed = 1 and oid_out is the new commit.  oid_out receives 40 hex
 * digits and a NUL. */
int history_commit(const char *repo_path, const char *data, size_t len, const char *message,
		   char oid_out[41], int *committed, struct cpactl_error *err);

/* *out receives a new array, newest first, of at most `max` commits (0: all):
 * {"commit": 40 hex, "date": "2026-11-22T04:30:00Z" (UTC), "message": first
 * line}.  An empty repository gives an empty array; a missing one fails with
 * ERR_NOT_FOUND. */
int history_log(const char *repo_path, size_t max, json_t **out, struct cpactl_error *err);

/* Appends config.yaml as of `rev` to `out` and names the commit in oid_out.
 * `rev` is a snapshot id (YYYYmmdd-HHMMSS: the newest commit whose message
 * holds it) or anything git_revparse_single() reads: HEAD, HEAD~1, a full or
 * abbreviated hash.  ERR_NOT_FOUND when nothing matches, the history is empty
 * or missing.  The text is the live file's: it holds secrets; mask it before
 * showing it (secretmask.h) and wipe `out` after use. */
int history_read(const char *repo_path, const char *rev, struct buf *out, char oid_out[41],
		 struct cpactl_error *err);

/* Appends to `patch` the unified diff (git's format, 3 lines of context) from
 * old_text to new_text, labelled a/old_name and b/new_name; nothing when the
 * texts are equal.  Callers pass texts already masked. */
int history_diff(const char *old_name, const char *old_text, size_t old_len, const char *new_name,
		 const char *new_text, size_t new_len, struct buf *patch, struct cpactl_error *err);

/* 1 when `rev` has the shape of a snapshot id (YYYYmmdd-HHMMSS). */
int history_is_snapshot_id(const char *rev);

/* *tracked = 1 when the absolute path `path` is committed or staged in a git
 * repository around it (an env file with keys pushed with the code), 0 when
 * it is not in one, untracked or ignored.  Returns 0, or -1 when a
 * repository is there but cannot be read. */
int history_file_in_git(const char *path, int *tracked, struct cpactl_error *err);

#endif
