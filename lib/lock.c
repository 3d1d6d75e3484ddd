/*
 * lock.c - see lock.h.
 */
#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

int lock_acquire(const char *path, const char *command, int wait_seconds, struct lock *l,
		 struct cpactl_error *err)
{
	char holder[256] = "";
	char info[256];
	time_t now = time(NULL);
	struct tm tm;
	ssize_t n;
	int fd;

	l->fd = -1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return error_set_errno(err, errno, ERR_IO, "cannot open the lock '%s'", path);
	for (int waited = 0;; waited++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno != EWOULDBLOCK) {
			close(fd);
			return error_set_errno(err, errno, ERR_IO, "cannot lock '%s'", path);
		}
		if (waited >= wait_seconds * 10) {
			n = pread(fd, holder, sizeof(holder) - 1, 0);
			holder[n > 0 ? n : 0] = '\0';
			holder[strcspn(holder, "\n")] = '\0';
			close(fd);
			return error_set(err, ERR_LOCKED,
					 "another cpactl holds the lock on '%s' (%s); wait for it to finish "
					 "or use --wait SECONDS",
					 path, holder[0] ? holder : "holder unknown");
		}
		usleep(100000);
	}
	gmtime_r(&now, &tm);
	snprintf(info, sizeof(info), "pid %ld, '%s', since %04d-%02d-%02dT%02d:%02d:%02dZ\n", (long)getpid(),
		 command, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (ftruncate(fd, 0) == 0 && pwrite(fd, info, strlen(info), 0) < 0) {
		/* Who holds it is only informative; the lock itself is taken. */
	}
	l->fd = fd;
	return 0;
}

void lock_release(struct lock *l)
{
	if (l->fd >= 0) {
		if (ftruncate(l->fd, 0) < 0) {
			/* informative only */
		}
		flock(l->fd, LOCK_UN);
		close(l->fd);
	}
	l->fd = -1;
}

long lock_holder(const char *path)
{
	struct stat st;
	char line[256];
	long holder = 0;
	FILE *locks;

	if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	locks = fopen("/proc/locks", "re");
	if (!locks)
		return 0;
	/* "1: FLOCK  ADVISORY  WRITE 4711 fd:01:1234567 0 EOF" (proc(5)). */
	while (!holder && fgets(line, sizeof(line), locks)) {
		char kind[16], mode[16], rw[16];
		unsigned int major, minor;
		unsigned long long ino;
		long pid;
		if (sscanf(line, "%*[^:]: %15s %15s %15s %ld %x:%x:%llu", kind, mode, rw, &pid, &major, &minor,
			   &ino) == 7 &&
		    strcmp(kind, "FLOCK") == 0 && ino == (unsigned long long)st.st_ino &&
		    major == major(st.st_dev) && minor == minor(st.st_dev) && pid > 0)
			holder = pid;
	}
	fclose(locks);
	return holder;
}
