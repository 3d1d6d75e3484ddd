/*
 * upgrade.c - see upgrade.h.
 *
 * The steps, in the order of the runbook (release.c does each one's work):
 *   1 journal (the caller holds the lock)   6 judge the candidate
 *   2 preflight                             7 config migration diff
 *   3 backup                                8 remove candidate, confirm
 *   4 pull, "already up to date"            9 promote: create new, stop old,
 *   5 candidate on scratch copies             rename both, start new
 *                                          10 verify, else roll back by itself
 */
#include "upgrade.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "atomic_file.h"
#include "buf.h"
#include "cpa.h"
#include "registry_auth.h"
#include "release.h"

#define sayf(r, ...) say_fmt((r)->op.say, (r)->op.ctx, __VA_ARGS__)

static void compose_pin(struct release *u);

static char *default_target(const char *image)
{
	struct buf b = BUF_INIT;
	const char *at = strchr(image, '@'), *slash = strrchr(image, '/'), *colon = strrchr(image, ':');
	size_t n = strlen(image);

	if (at)
		n = (size_t)(at - image);
	else if (colon && (!slash || colon > slash))
		n = (size_t)(colon - image);
	buf_append(&b, image, n);
	buf_append_str(&b, ":latest");
	return buf_detach(&b);
}

/* Pulls the target with the registry's credentials (registry_auth.h), and
 * turns the engine's answer into what to do about it.  Nothing of
 * production has changed yet, and the message says so. */
static int pull(struct release *r, struct cpactl_error *err)
{
	struct registry_auth auth;
	struct cpactl_error e = CPACTL_ERROR_INIT;
	const char *m;
	int rc;

	if (registry_auth_for(r->target_ref, &auth, err) < 0)
		return -1;
	rc = docker_image_pull(r->op.c, r->target_ref, auth.header, r->o->pull_progress, r->o->progress_ctx, &e);
	if (rc < 0) {
		m = e.message;
		if (r->o->interrupted && *r->o->interrupted)
			error_set(err, ERR_FAILED, "interrupted while %s was pulled; production was not touched",
				  r->target_ref);
		else if (strcasestr(m, "unauthorized") || strcasestr(m, "authentication required") ||
			 strcasestr(m, "no basic auth credentials") || strcasestr(m, "denied"))
			error_set(err, ERR_FAILED, "pulling %s: the registry %s refused it (%s): %s; production was not "
						   "touched",
				  r->target_ref, auth.registry, m,
				  auth.header ? "the credentials for it in config.json were refused"
				  : auth.helper ? "its credentials are kept by a credential helper, which cpactl does not run: "
						  "put them in the auths of config.json (docker login with no credsStore)"
						: "it wants credentials: run 'docker login' for it as the user who runs cpactl "
						  "(cpactl reads the auths of $DOCKER_CONFIG/config.json or ~/.docker/config.json)");
		else if (strcasestr(m, "manifest unknown") || strcasestr(m, "not found") || strcasestr(m, "does not exist"))
			error_set(err, ERR_FAILED, "pulling %s: the registry %s has no such image or tag (%s); production "
						   "was not touched",
				  r->target_ref, auth.registry, m);
		else
			error_set(err, e.kind, "pulling %s from %s failed: %s; production was not touched", r->target_ref,
				  auth.registry, m);
	}
	registry_auth_free(&auth);
	return rc;
}

int upgrade_run(struct docker_client *c, struct cpa_target *t, const struct deployment *d,
		const struct upgrade_options *o, json_t **report, struct cpactl_error *err)
{
	struct release r;
	const char *outcome = UPGRADE_REFUSED, *new_id, *version;
	char question[600];
	int rc = -1;

	/* 1. The journal. */
	if (release_begin(&r, c, t, d, o, "upgrade",
			  o->image ? strdup(o->image) : t->image ? default_target(t->image) : NULL, report, err) < 0)
		goto out;

	/* 2-3. Preflight, back up. */
	if (release_preflight(&r, 0, err) < 0 || release_backup(&r, "backup before upgrade", err) < 0)
		goto out;

	/* 4. Pull, then "already up to date", and no silent downgrade. */
	if (!o->no_pull) {
		if (operation_step(&r.op, OP_STEP_PULL, err) < 0)
			goto out;
		sayf(&r, "pulling %s", r.target_ref);
		if (pull(&r, err) < 0)
			goto out;
	}
	if (release_target_image(&r, err) < 0)
		goto out;
	new_id = json_string_value(json_object_get(r.new_image, "Id"));
	if (new_id && t->image_id && strcmp(new_id, t->image_id) == 0 && !o->force) {
		sayf(&r, "'%s' already runs %s (%.19s): already up to date", t->name, r.target_ref, new_id);
		outcome = UPGRADE_UP_TO_DATE;
		rc = 0;
		goto out;
	}
	if (r.expected_version && t->version && cpa_version_compare(r.expected_version, t->version) < 0 &&
	    !o->allow_downgrade) {
		error_set(err, ERR_FAILED, "%s is older than the running %s: a downgrade needs --allow-downgrade",
			  r.expected_version, t->version);
		goto out;
	}

	/* 5-6. The candidate on scratch copies, and its verdict. */
	if (release_run_candidate(&r, err) < 0)
		goto out;
	version = r.candidate.version;
	if (!r.expected_version && version[0] && t->version && cpa_version_compare(version, t->version) < 0 &&
	    !o->allow_downgrade) {
		error_set(err, ERR_FAILED,
			  "the candidate reports %s, older than the running %s: a downgrade needs --allow-downgrade",
			  version, t->version);
		goto out;
	}
	if (release_accept_candidate(&r, err) < 0)
		goto out;

	/* 7. The new release's config migration, shown; --keep-config declines it. */
	if (r.candidate_rewrote) {
		if (release_show_diff(&r, "the new release rewrote config.yaml", err) < 0)
			goto out;
		if (o->keep_config) {
			sayf(&r, "--keep-config: production keeps its config.yaml as it is");
			r.config_changes = 0;
		}
	}

	/* 8. Dry run, or confirm (the candidate is already removed). */
	if (o->dry_run) {
		if (release_plan(&r, err) < 0)
			goto out;
		sayf(&r, "dry run: '%s' would be recreated from %s; nothing was changed", t->name, r.target_ref);
		outcome = UPGRADE_DRY_RUN;
		rc = 0;
		goto out;
	}
	snprintf(question, sizeof(question), "replace production '%s' (%s) with %s?", t->name,
		 t->version ? t->version : "?", r.target_ref);

	/* 9-10. Promote and verify, or roll back. */
	if (release_promote(&r, question, err) < 0)
		goto out;
	if (r.config_changes)
		operation_commit_config(d, r.config_after.data, r.config_after.len, o->say, o->ctx,
					"upgrade %s: CPA %s, image %s (migrated by the new release)\n", r.op.id,
					r.expected_version ? r.expected_version : version, r.target_ref);
	sayf(&r, "upgraded: '%s' now runs %s; the old container is kept stopped as '%s'", t->name, r.target_ref,
	     r.prev_name);
	compose_pin(&r);
	outcome = UPGRADE_UPGRADED;
	rc = 0;
out:
	release_end(&r, outcome, rc, err);
	return rc;
}

/* --- compose ------------------------------------------------------------------ */

/* Compose recreates a container whose file names another image on the next
 * `docker compose up`, silently undoing the upgrade.  Say which file and
 * service pin the old image, or change the line (--update-compose-file)
 * after keeping a copy of the file. */
static void compose_pin(struct release *u)
{
	const char *files = json_string_value(json_object_get(u->op.t->compose, "config_files"));
	const char *service = json_string_value(json_object_get(u->op.t->compose, "service"));
	struct cpactl_error e = CPACTL_ERROR_INIT;
	struct buf file = BUF_INIT, out = BUF_INIT, backup = BUF_INIT;
	char *text = NULL;
	size_t len = 0, matches = 0;
	const char *line;

	if (!u->op.t->compose || !u->op.t->image)
		return;
	buf_append(&file, files ? files : "", files ? strcspn(files, ",") : 0);
	if (!u->o->update_compose_file || !file.len) {
		sayf(u, "compose manages '%s' (service '%s'): %s pins '%s'; change that service's image: line to "
			"'%s', or the next 'docker compose up' recreates it from the old image "
			"(--update-compose-file does it)",
		     u->op.t->name, service ? service : "?", file.len ? file.data : "its compose file", u->op.t->image,
		     u->target_ref);
		goto out;
	}
	if (read_small_file(file.data, (size_t)4 << 20, &text, &len, &e) < 0) {
		sayf(u, "--update-compose-file: %s", e.message);
		goto out;
	}
	/* Only a line that names exactly the old reference is changed. */
	for (line = text; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line + 1) : strlen(line);
		const char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, "image:", 6) == 0) {
			const char *v = p + 6;
			size_t vlen;
			while (*v == ' ')
				v++;
			if (*v == '"' || *v == '\'')
				v++;
			vlen = strcspn(v, "\"' \r\n#");
			if (vlen == strlen(u->op.t->image) && strncmp(v, u->op.t->image, vlen) == 0) {
				buf_append(&out, line, (size_t)(v - line));
				buf_append_str(&out, u->target_ref);
				buf_append(&out, v + vlen, n - (size_t)(v + vlen - line));
				matches++;
				line += n;
				continue;
			}
		}
		buf_append(&out, line, n);
		line += n;
	}
	if (matches != 1) {
		sayf(u, "--update-compose-file: %zu image: lines of '%s' name '%s'; change the one of service '%s' "
			"by hand",
		     matches, file.data, u->op.t->image, service ? service : "?");
		goto out;
	}
	buf_appendf(&backup, "%s/compose-%s.yml", u->op.d->state_dir, u->op.id);
	if (atomic_write_file(backup.data, text, len, 0600, &e) < 0) {
		sayf(u, "--update-compose-file: cannot keep a copy: %s", e.message);
		goto out;
	}
	{
		struct stat st;
		int mode = stat(file.data, &st) == 0 ? (int)(st.st_mode & 07777) : 0644;
		if (atomic_write_file(file.data, out.data, out.len, mode, &e) < 0) {
			sayf(u, "--update-compose-file: %s", e.message);
			goto out;
		}
	}
	sayf(u, "compose file '%s' now names '%s' (the previous file is kept as '%s')", file.data, u->target_ref,
	     backup.data);
	json_object_set_new(u->op.report, "compose_file_updated", json_string(file.data));
out:
	free(text);
	buf_free(&file);
	buf_free(&out);
	buf_free(&backup);
}
