/*
 * fuzz_tar.c - a tar from outside (an auth.tar of a snapshot, a container's
 * archive answer) unpacked by lib/tar_extract.c, whose entry checks must
 * refuse everything that points out of the directory, device nodes, FIFOs
 * and hard links.
 *
 * Each input is written to a file and unpacked into a fresh directory four
 * levels under a private scratch directory, so that an entry escaping by a
 * few "../" lands where the check below sees it instead of on the machine.
 * After each run the scratch directory must hold nothing but that path.
 */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/tar_extract.h"
#include "../../lib/atomic_file.h"
#include "../../lib/error.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char scratch[256];
static char tar_path[300];
static char dest[300];

static void remove_scratch(void)
{
	struct cpactl_error err = CPACTL_ERROR_INIT;
	remove_tree(scratch, &err);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *base = getenv("TMPDIR");

	/* Every input is written and unpacked: in memory it runs about three
	 * times as fast as on a disk. */
	if (!base)
		base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	(void)argc;
	(void)argv;
	snprintf(scratch, sizeof(scratch), "%s/cpactl-fuzz-tar.XXXXXX", base);
	if (!mkdtemp(scratch)) {
		perror("fuzz_tar: mkdtemp");
		exit(1);
	}
	atexit(remove_scratch);
	snprintf(tar_path, sizeof(tar_path), "%s/in.tar", scratch);
	snprintf(dest, sizeof(dest), "%s/a/b/c/dest", scratch);
	return 0;
}

/* 1 when `dir` holds exactly the entries `names` (NULL-terminated). */
static int holds_only(const char *dir, const char *const *names)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t seen = 0, want = 0;
	int ok = 1;

	while (names[want])
		want++;
	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL) {
		size_t i;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		for (i = 0; names[i] && strcmp(names[i], e->d_name) != 0; i++)
			;
		if (!names[i])
			ok = 0;
		seen++;
	}
	closedir(d);
	return ok && seen == want;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const top[] = { "in.tar", "a", NULL }, *const a[] = { "b", NULL },
				  *const b[] = { "c", NULL }, *const c[] = { "dest", NULL };
	struct cpactl_error err = CPACTL_ERROR_INIT;
	char path[300];
	FILE *f = fopen(tar_path, "wb");

	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	snprintf(path, sizeof(path), "%s/a/b/c", scratch);
	if (remove_tree(path, &err) < 0 && access(path, F_OK) == 0)
		abort();
	snprintf(path, sizeof(path), "%s/a", scratch);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/a/b", scratch);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/a/b/c", scratch);
	mkdir(path, 0700);
	if (mkdir(dest, 0700) < 0)
		abort();
	error_clear(&err);
	tar_extract_into(tar_path, dest, "auth", &err);
	/* Whatever the tar held, nothing was written beside dest. */
	snprintf(path, sizeof(path), "%s/a", scratch);
	if (!holds_only(scratch, top) || !holds_only(path, a))
		abort();
	snprintf(path, sizeof(path), "%s/a/b", scratch);
	if (!holds_only(path, b))
		abort();
	snprintf(path, sizeof(path), "%s/a/b/c", scratch);
	if (!holds_only(path, c))
		abort();
	return 0;
}
