/*
 * journal.c - see journal.h.
 */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomic_file.h"
#include "buf.h"

#define JOURNAL_MAX ((size_t)4 * 1024 * 1024)

static char *journal_path(const struct deployment *d, const char *name)
{
	struct buf p = BUF_INIT;
	buf_appendf(&p, "%s/%s", d->state_dir, name);
	return buf_detach(&p);
}

static void now_rfc3339(char *out, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int write_journal(const char *path, json_t *doc, struct cpactl_error *err)
{
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
	int rc;

	if (!text)
		return error_set(err, ERR_NOMEM, "out of memory");
	rc = atomic_write_file(path, text, strlen(text), 0600, err);
	free(text);
	return rc;
}

int journal_load(const struct deployment *d, json_t **out, struct cpactl_error *err)
{
	char *path = journal_path(d, "journal.json");
	char *text = NULL;
	size_t len = 0;
	struct cpactl_error e = CPACTL_ERROR_INIT;
	int rc = 0;

	*out = NULL;
	if (!path)
		return error_set(err, ERR_NOMEM, "out of memory");
	if (read_small_file(path, JOURNAL_MAX, &text, &len, &e) < 0) {
		if (e.kind != ERR_NOT_FOUND)
			rc = error_set(err, ERR_IO, "%s", e.message);
		goto out;
	}
	*out = json_loadb(text, len, 0, NULL);
	if (!*out)
		/* A torn journal cannot exist (atomic writes); a corrupt one is
		 * still an unfinished operation. */
		*out = json_pack("{s:s,s:s}", "operation", "unknown", "step", "unreadable journal");
out:
	free(path);
	free(text);
	return rc;
}

int journal_refuse_unfinished(const struct deployment *d, struct cpactl_error *err)
{
	json_t *existing = NULL;

	if (journal_load(d, &existing, err) < 0)
		return -1;
	if (!existing)
		return 0;
	error_set(err, ERR_LOCKED,
		  "an earlier '%s' (id %s) did not finish: it stopped at step '%s'; run 'cpactl "
		  "recover' first",
		  json_string_value(json_object_get(existing, "operation")) ?: "?",
		  json_string_value(json_object_get(existing, "id")) ?: "?",
		  json_string_value(json_object_get(existing, "step")) ?: "?");
	json_decref(existing);
	return -1;
}

int journal_begin(const struct deployment *d, const char *operation, const char *id,
		  struct journal *j, struct cpactl_error *err)
{
	char started[40];

	memset(j, 0, sizeof(*j));
	if (journal_refuse_unfinished(d, err) < 0)
		return -1;
	now_rfc3339(started, sizeof(started));
	j->path = journal_path(d, "journal.json");
	j->doc = json_pack("{s:s,s:s,s:s,s:I,s:s,s:[],s:{}}", "operation", operation, "id", id, "started", started,
			   "pid", (json_int_t)getpid(), "step", "begin", "steps", "context");
	if (!j->path || !j->doc)
		return error_set(err, ERR_NOMEM, "out of memory");
	return write_journal(j->path, j->doc, err);
}

int journal_adopt(const struct deployment *d, struct journal *j, struct cpactl_error *err)
{
	memset(j, 0, sizeof(*j));
	if (journal_load(d, &j->doc, err) < 0)
		return -1;
	if (!j->doc)
		return error_set(err, ERR_NOT_FOUND, "no unfinished operation under '%s'", d->root);
	j->path = journal_path(d, "journal.json");
	if (!json_is_object(json_object_get(j->doc, "context")))
		json_object_set_new(j->doc, "context", json_object());
	if (!json_is_array(json_object_get(j->doc, "steps")))
		json_object_set_new(j->doc, "steps", json_array());
	return j->path ? 0 : error_set(err, ERR_NOMEM, "out of memory");
}

int journal_step(struct journal *j, const char *step, struct cpactl_error *err)
{
	json_object_set_new(j->doc, "step", json_string(step));
	json_array_append_new(json_object_get(j->doc, "steps"), json_string(step));
	if (write_journal(j->path, j->doc, err) < 0)
		return -1;
	journal_test_kill_point(step);
	return 0;
}

/* CPACTL_TEST_HOLD_AT=<step> with CPACTL_TEST_HOLD_FILE=<path>: at that
 * step, create <path>.reached and wait (up to 120 s) until <path> is gone,
 * so a test can change the world between two steps. */
static void hold_at(const char *step)
{
	const char *at = getenv("CPACTL_TEST_HOLD_AT"), *file = getenv("CPACTL_TEST_HOLD_FILE");
	char reached[4096];
	int i, fd;

	if (!at || !file || strcmp(at, step) != 0 || snprintf(reached, sizeof(reached), "%s.reached", file) >= (int)sizeof(reached))
		return;
	fd = open(reached, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	for (i = 0; i < 1200 && access(file, F_OK) == 0; i++)
		usleep(100000);
}

void journal_test_kill_point(const char *step)
{
	const char *kill_at = getenv("CPACTL_TEST_KILL_AT");

	const char *interrupt_at = getenv("CPACTL_TEST_INTERRUPT_AT");

	/* The test-only switches: die here, exactly as a power cut would; or
	 * get a Ctrl-C here, as a user at the terminal would. */
	if (kill_at && strcmp(kill_at, step) == 0)
		raise(SIGKILL);
	hold_at(step);
	if (interrupt_at && strcmp(interrupt_at, step) == 0) {
		/* CPACTL_TEST_INTERRUPT_SIGNAL=TERM: a service manager's stop
		 * (systemd, a container runtime, cron's timeout) instead. */
		const char *sig = getenv("CPACTL_TEST_INTERRUPT_SIGNAL");
		raise(sig && strcmp(sig, "TERM") == 0 ? SIGTERM : SIGINT);
	}
}

void journal_set(struct journal *j, const char *key, json_t *value)
{
	json_object_set_new(json_object_get(j->doc, "context"), key, value ? value : json_null());
}

json_t *journal_get(const struct journal *j, const char *key)
{
	return json_object_get(json_object_get(j->doc, "context"), key);
}

const char *journal_get_string(const struct journal *j, const char *key)
{
	return json_string_value(journal_get(j, key));
}

int journal_finish(struct journal *j, const char *outcome, struct cpactl_error *err)
{
	struct buf last = BUF_INIT;
	char ended[40];
	const char *slash;
	int rc = -1;

	if (!j->path)
		return 0;
	now_rfc3339(ended, sizeof(ended));
	json_object_set_new(j->doc, "outcome", json_string(outcome));
	json_object_set_new(j->doc, "ended", json_string(ended));
	slash = strrchr(j->path, '/');
	buf_append(&last, j->path, (size_t)(slash - j->path));
	buf_append_str(&last, "/last-operation.json");
	if (write_journal(last.data, j->doc, err) < 0)
		goto out;
	/* And per outcome (last-upgraded.json, last-rolled-back.json):
	 * `rollback` with no ID wants the last upgrade that succeeded, whatever
	 * ran since. */
	if (strspn(outcome, "abcdefghijklmnopqrstuvwxyz-") == strlen(outcome)) {
		buf_reset(&last);
		buf_append(&last, j->path, (size_t)(slash - j->path));
		buf_appendf(&last, "/last-%s.json", outcome);
		if (write_journal(last.data, j->doc, err) < 0)
			goto out;
	}
	if (unlink(j->path) < 0 && errno != ENOENT) {
		error_set_errno(err, errno, ERR_IO, "cannot remove the journal '%s'", j->path);
		goto out;
	}
	{
		struct buf dir = BUF_INIT;
		buf_append(&dir, j->path, (size_t)(slash - j->path));
		fsync_dir(dir.data, err);
		buf_free(&dir);
	}
	rc = 0;
out:
	buf_free(&last);
	return rc;
}

void journal_release(struct journal *j)
{
	free(j->path);
	json_decref(j->doc);
	memset(j, 0, sizeof(*j));
}
