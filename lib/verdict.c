/*
 * verdict.c - see verdict.h.
 */
#include "verdict.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "container_files.h"
#include "cpa.h"
#include "probe.h"
#include "secretmask.h"

#define POLL_MS 150
/* A definite non-200 answer gets this long to turn into 200 (a release still
 * loading its credentials) before it is the verdict. */
#define ANSWER_GRACE_MS 2500
#define SETTLE_MS 600
#define CLIENT_LINE_GRACE_MS 2500 /* after the first good answer */
#define LOG_TAIL_LINES 25
#define LOG_FILE_MAX ((off_t)1 << 20) /* the end of a log file that is read */
/* CPA rotates logs/main.log at 10 MB (lumberjack, internal/logging). */
#define ENGINE_LOG_MAX ((size_t)12 << 20)

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(long ms)
{
	usleep((useconds_t)ms * 1000);
}

#define reason(v, ...) json_array_appendf((v)->reasons, __VA_ARGS__)

/* The last `lines` lines of text. */
static const char *last_lines(const char *text, int lines)
{
	const char *p = text + strlen(text);
	int seen = 0;

	while (p > text) {
		p--;
		if (*p == '\n' && p[1] && ++seen > lines)
			return p + 1;
	}
	return text;
}

/* What fails a line that has no level (plain prints, Go's panic trace,
 * releases that logged otherwise); a line with a level fails on its level. */
static const char *const fatal_patterns[] = {
	"panic", "fatal", "failed to", "is a directory", "unsafe_example_api_key", NULL,
};

void verdict_read_log(struct verdict *v, const char *logs)
{
	const char *line = logs, *seen[4] = {0};
	size_t n_seen = 0;

	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		const char *offline = cpa_log_offline_warning(line, len);

		if (offline) {
			size_t k = 0;
			while (k < n_seen && seen[k] != offline)
				k++;
			if (k == n_seen && n_seen < sizeof(seen) / sizeof(seen[0]))
				seen[n_seen++] = offline;
		} else if (cpa_log_line_is_trouble(line, len, fatal_patterns)) {
			char text[600];
			snprintf(text, sizeof(text), "%.*s", (int)(len < 500 ? len : 500), line);
			reason(v, "its log says: %s", text);
		}
		line = end ? end + 1 : NULL;
	}
	if (n_seen) {
		/* Named once, so nobody takes them for the failure they are not. */
		char text[400];
		snprintf(text, sizeof(text),
			 "harmless: the warning%s '%s%s%s' (CPA could not reach the internet at start; it goes on "
			 "with built-in fallbacks)",
			 n_seen > 1 ? "s" : "", seen[0], n_seen > 1 ? "' and '" : "", n_seen > 1 ? seen[1] : "");
		json_array_append_new(v->notes, json_string(text));
	}
}

static int running_state(struct docker_client *c, const char *id, long *exit_code, char *error_text,
			 size_t len, struct cpactl_error *err)
{
	json_t *inspect = NULL, *state;
	int running;

	if (docker_container_inspect(c, id, &inspect, err) < 0)
		return -1;
	state = json_object_get(inspect, "State");
	running = json_is_true(json_object_get(state, "Running")) && !json_is_true(json_object_get(state, "Restarting"));
	*exit_code = (long)json_integer_value(json_object_get(state, "ExitCode"));
	snprintf(error_text, len, "%s", json_string_value(json_object_get(state, "Error")) ?: "");
	json_decref(inspect);
	return running;
}

/* The container's output, then the end of its log file when it writes one
 * (CPA with logging-to-file: its logrus lines go there, not to the engine).
 * The file is in a dir the container writes: a symlink or anything but a
 * regular file is not followed. */
static int read_logs(struct docker_client *c, const char *id, const struct judge_options *o, struct buf *logs,
		     struct cpactl_error *err)
{
	char chunk[8192];
	struct stat st;
	ssize_t n;
	off_t from;
	int fd;

	if (docker_container_logs(c, id, 2000, o->tty, logs, err) < 0)
		return -1;
	if (o->log_in_container) {
		struct buf file = BUF_INIT;
		struct cpactl_error ignored = CPACTL_ERROR_INIT;
		int is_dir = 0;
		if (container_read_file_at(c, id, o->log_in_container, NULL, ENGINE_LOG_MAX, &file, &is_dir,
					   &ignored) == 0 &&
		    !is_dir) {
			/* Rotated since (smaller than the mark): all of it is new. */
			size_t skip = file.len >= o->log_from ? o->log_from : 0;
			buf_append_str(logs, "\n");
			buf_append(logs, file.data ? file.data + skip : "", file.len - skip);
		}
		error_clear(&ignored);
		buf_free(&file);
		return 0;
	}
	if (!o->log_file)
		return 0;
	fd = open(o->log_file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		from = st.st_size > LOG_FILE_MAX ? st.st_size - LOG_FILE_MAX : 0;
		if (lseek(fd, from, SEEK_SET) == from) {
			buf_append_str(logs, "\n");
			while ((n = read(fd, chunk, sizeof(chunk))) > 0 && logs->len < (size_t)LOG_FILE_MAX * 2)
				buf_append(logs, chunk, (size_t)n);
		}
	}
	close(fd);
	return 0;
}

/* A minimal Messages request, counted by the proxy itself (no upstream). */
#define TOKEN_CHECK_BODY "{\"model\":\"claude-3-5-haiku-latest\",\"max_tokens\":1,\"messages\":" \
			 "[{\"role\":\"user\",\"content\":\"ping\"}]}"
/* Never any deployment's key: only a proxy that checks none accepts it. */
#define WRONG_CLIENT_KEY "cpactl-wrong-key-probe"

/* Step 1b, for a profile whose health path proves only that the process is
 * up: a request the proxy answers itself must get 200 with input_tokens
 * (the request conversion and the key check work), and, when a client key
 * is set, a wrong key must be refused with 401. */
static void check_tokens(const struct judge_options *o, const struct profile *profile, struct verdict *v)
{
	struct cpactl_error e = CPACTL_ERROR_INIT;
	struct probe_result p;
	const char *path = profile->token_check_path;

	if (probe_post_json(o->netns, o->tls, o->host, o->port, path, o->probe_key, TOKEN_CHECK_BODY, 5000, &p,
			    &e) < 0)
		reason(v, "%s did not answer: %s", path, p.error_text);
	else if (p.http_status != 200 || p.input_tokens < 0)
		reason(v, "%s answered %ld%s%s%s instead of 200 with input_tokens: the request conversion or the client "
			  "key check is broken", path, p.http_status, p.error_text[0] ? " (" : "", p.error_text,
		       p.error_text[0] ? ")" : "");
	probe_result_release(&p);
	if (!o->probe_key)
		return;
	error_clear(&e);
	if (probe_post_json(o->netns, o->tls, o->host, o->port, path, WRONG_CLIENT_KEY, TOKEN_CHECK_BODY, 5000, &p,
			    &e) == 0 &&
	    p.http_status != 401)
		reason(v, "%s answered %ld to a wrong client key where 401 was expected: the release does not check "
			  "client keys",
		       path, p.http_status);
	probe_result_release(&p);
}

int judge_container(struct docker_client *c, const char *id, const struct judge_options *o,
		    struct verdict *v, struct cpactl_error *err)
{
	double start = now_ms(), deadline = start + (double)o->timeout_ms, first_answer = 0;
	const struct profile *profile = o->profile;
	const char *path = o->probe_path;
	struct buf logs = BUF_INIT;
	struct probe_result p;
	struct cpactl_error e = CPACTL_ERROR_INIT;
	char state_error[512], last_error[300] = "";
	long exit_code = 0, last_status = 0;
	int running, served = 0, rc = -1;
	size_t i;
	json_t *m;

	memset(v, 0, sizeof(*v));
	memset(&p, 0, sizeof(p));
	if (!profile)
		profile = &profile_cpa;
	if (!path)
		path = profile->probe_path;
	v->reasons = json_array();
	v->notes = json_array();
	v->clients = -1;
	if (!v->reasons || !v->notes)
		return error_set(err, ERR_NOMEM, "out of memory");

	/* 1. Wait for the answer the profile expects (a 200 model list on
	 * /v1/models for CPA), watching that it does not exit. */
	for (;;) {
		if (o->interrupted && *o->interrupted) {
			reason(v, "interrupted before the verdict");
			break;
		}
		running = running_state(c, id, &exit_code, state_error, sizeof(state_error), err);
		if (running < 0)
			goto out;
		if (!running) {
			char code[32];
			snprintf(code, sizeof(code), "%ld", exit_code);
			reason(v, "the container exited with code %s%s before serving", code,
			       state_error[0] ? " (engine error)" : "");
			break;
		}
		error_clear(&e);
		probe_result_release(&p);
		if (probe_get(o->netns, o->tls, o->host, o->port, path, o->probe_key, 2000, &p, &e) == 0) {
			last_status = p.http_status;
			snprintf(last_error, sizeof(last_error), "%s", p.error_text);
			if (probe_answer_ok(profile->expect, &p)) {
				served = 1;
				v->ready_ms = now_ms() - start;
				v->models = p.models ? json_incref(p.models) : NULL;
				break;
			}
			if (!first_answer)
				first_answer = now_ms();
			else if (now_ms() - first_answer > ANSWER_GRACE_MS) {
				char status[32];
				snprintf(status, sizeof(status), "%ld", p.http_status);
				if (!profile->cpa) {
					char what[200];
					snprintf(what, sizeof(what), "%s%s%s", status, p.status[0] ? ", status " : "",
						 p.status);
					reason(v, "the health path %s answered %s", path, what);
					break;
				}
				reason(v, "/v1/models answered %s with the configured key%s", status,
				       p.safe_mode ? " (CPA's safe mode: api-keys still hold the template values)"
				       : p.error_text[0] ? (strcmp(p.error_text, "Invalid API key") == 0
								 ? " (Invalid API key)"
								 : strcmp(p.error_text, "Missing API key") == 0 ? " (Missing API key)"
														   : " (an error)")
							 : "");
				break;
			}
		}
		if (now_ms() > deadline) {
			char secs[32];
			snprintf(secs, sizeof(secs), "%.0f", (double)o->timeout_ms / 1000.0);
			if (last_status) {
				char status[32], what[300];
				snprintf(status, sizeof(status), "%ld", last_status);
				snprintf(what, sizeof(what), "%s did not answer as expected within %s s", path, secs);
				reason(v, "%s (last answer %s)", what, status);
			} else {
				reason(v, "%s did not answer within %s s", path, secs);
			}
			break;
		}
		sleep_ms(POLL_MS);
	}
	v->http_status = last_status;

	if (served && profile->token_check_path)
		check_tokens(o, profile, v);
	if (served) {
		/* 2. Its client count, from the start-up log (CPA's).  CPA logs it
		 * as it starts serving: a log without it (another log layout) is
		 * not waited for to the deadline. */
		double clients_deadline = now_ms() + CLIENT_LINE_GRACE_MS;
		if (clients_deadline > deadline)
			clients_deadline = deadline;
		for (; profile->cpa;) {
			buf_reset(&logs);
			error_clear(&e);
			if (read_logs(c, id, o, &logs, &e) == 0)
				v->clients = cpa_loaded_clients(buf_str(&logs));
			if (v->clients >= 0 || now_ms() > clients_deadline)
				break;
			sleep_ms(POLL_MS);
		}
		/* 3. Still alive a moment later (a release that serves, then dies). */
		sleep_ms(SETTLE_MS);
		running = running_state(c, id, &exit_code, state_error, sizeof(state_error), err);
		if (running < 0)
			goto out;
		if (!running) {
			char code[32];
			snprintf(code, sizeof(code), "%ld", exit_code);
			reason(v, "the container exited with code %s after it started serving", code);
		}
		if (o->expected_models) {
			json_array_foreach(o->expected_models, i, m) {
				int found = 0;
				size_t k;
				json_t *n;
				json_array_foreach(v->models, k, n)
					if (json_equal(m, n))
						found = 1;
				if (!found && !o->allow_missing_models)
					reason(v, "model '%s' that production serves is missing (--allow-missing-models to accept)",
					       json_string_value(m) ? json_string_value(m) : "");
				else if (!found) {
					char text[300];
					snprintf(text, sizeof(text), "model '%s' is missing (allowed)", json_string_value(m));
					json_array_append_new(v->notes, json_string(text));
				}
			}
		}
		if (o->expected_clients >= 0 && v->clients < 0)
			json_array_append_new(v->notes, json_string("no client-load line in the log: client counts not compared"));
		else if (o->expected_clients >= 0 && v->clients < o->expected_clients) {
			char text[200];
			snprintf(text, sizeof(text), "it loaded %ld clients where production loads %ld", v->clients,
				 o->expected_clients);
			if (o->allow_fewer_clients)
				json_array_append_new(v->notes, json_string(text));
			else
				reason(v, "%s (logins it no longer reads? --allow-fewer-clients to accept)", text);
		}
	}

	/* 4. The log: trouble lines, the version line, the tail for the record. */
	buf_reset(&logs);
	error_clear(&e);
	if (read_logs(c, id, o, &logs, &e) == 0) {
		redact_secrets(logs.data, o->secrets);
		verdict_read_log(v, buf_str(&logs));
		if (!profile->cpa || cpa_parse_version_line(buf_str(&logs), v->version, sizeof(v->version)) < 0)
			v->version[0] = '\0';
		v->log_tail = strdup(last_lines(buf_str(&logs), LOG_TAIL_LINES));
	}
	if (!v->version[0] && p.version[0])
		snprintf(v->version, sizeof(v->version), "%s", p.version);
	if (o->expected_version && v->version[0] && cpa_version_compare(v->version, o->expected_version) != 0)
		reason(v, "it reports version %s where %s was expected", v->version, o->expected_version);
	v->ok = json_array_size(v->reasons) == 0;
	rc = 0;
out:
	probe_result_release(&p);
	buf_free(&logs);
	return rc;
}

json_t *verdict_to_json(const struct verdict *v)
{
	return json_pack("{s:b,s:O,s:O,s:O,s:o,s:o,s:s?,s:s?,s:f}", "ok", v->ok, "reasons", v->reasons, "notes",
			 v->notes, "models", v->models ? v->models : json_null(), "clients",
			 v->clients >= 0 ? json_integer(v->clients) : json_null(), "http_status",
			 v->http_status ? json_integer(v->http_status) : json_null(), "version",
			 v->version[0] ? v->version : NULL, "log_tail", v->log_tail, "ready_ms", v->ready_ms);
}

void verdict_release(struct verdict *v)
{
	json_decref(v->reasons);
	json_decref(v->notes);
	json_decref(v->models);
	free(v->log_tail);
	memset(v, 0, sizeof(*v));
}
