/*
 * lock.h - one mutating cpactl at a time per deployment root.
 *
 * flock(2) on ROOT/.cpactl/lock: the kernel releases it when the process dies,
 * so a killed cpactl never leaves a stale lock.  The holder writes who it is
 * (pid, command, since) into the file so that the next one can say who holds
 * it.  Read-only commands never take it.
 */
#ifndef CPACTL_LOCK_H
#define CPACTL_LOCK_H

#include "error.h"

struct lock {
	int fd;
};

/* Takes the lock, waiting up to wait_seconds (0: not at all).  ERR_LOCKED
 * names the holder when it is busy. */
int lock_acquire(const char *path, const char *command, int wait_seconds, struct lock *l,
		 struct cpactl_error *err);
void lock_release(struct lock *l);

/* The pid of the process that holds the lock at `path` now, 0 when nobody
 * does (or the lock file is absent).  It is read from /proc/locks, so a
 * read-only command never takes the lock, not even for an instant that could
 * make a mutating one fail, and never trusts what the file says. */
long lock_holder(const char *path);

#endif
