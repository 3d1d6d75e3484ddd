/*
 * history.c - see history.h.
 *
 * Every public function brackets its work with git_libgit2_init() and
 * git_libgit2_shutdown() (libgit2 counts them), so no caller has to know
 * that libgit2 exists.  libgit2 is told not to read the system, global or
 * XDG git configuration: a user's ~/.gitconfig must not change what cpactl
 * writes (a hook path, a default branch, a shared mode).
 */
#include "history.h"

#include <ctype.h>
#include <errno.h>
#include <git2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "deployment.h"

#define HISTORY_FILE "config.yaml"
#define HISTORY_BRANCH "refs/heads/main"
#define HISTORY_NAME "cpactl"
#define HISTORY_EMAIL "cpactl@localhost"

/* The one place where libgit2's error becomes ours.  `fmt` says what was
 * being done ("cannot read the config history at '...'"). */
static int git_failure(struct cpactl_error *err, enum error_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int git_failure(struct cpactl_error *err, enum error_kind kind, const char *fmt, ...)
{
	const git_error *e = git_error_last();
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return error_set(err, kind, "%s: %s", what,
			 e && e->message && *e->message ? e->message : "unknown libgit2 error");
}

static void git_begin(void)
{
	git_libgit2_init();
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_SYSTEM, "");
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_XDG, "");
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_GLOBAL, "");
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_PROGRAMDATA, "");
	/* Objects and refs reach the disk before a commit is reported. */
	git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1);
}

static void git_end(void)
{
	git_libgit2_shutdown();
}

static void oid_hex(const git_oid *oid, char out[41])
{
	git_oid_tostr(out, 41, oid);
}

/* Opens an existing repository, never searching upwards nor creating. */
static int open_repo(const char *repo_path, git_repository **repo, struct cpactl_error *err)
{
	struct stat st;

	if (stat(repo_path, &st) < 0) {
		if (errno == ENOENT)
			return error_set(err, ERR_NOT_FOUND, "no config history at '%s'", repo_path);
		return error_set_errno(err, errno, ERR_IO, "cannot read the config history at '%s'", repo_path);
	}
	if (git_repository_open_ext(repo, repo_path,
				    GIT_REPOSITORY_OPEN_NO_SEARCH | GIT_REPOSITORY_OPEN_BARE |
					    GIT_REPOSITORY_OPEN_NO_DOTGIT,
				    NULL) < 0)
		return git_failure(err, ERR_IO, "cannot open the config history at '%s'", repo_path);
	return 0;
}

int history_exists(const char *repo_path)
{
	git_repository *repo = NULL;
	int ok;

	git_begin();
	ok = git_repository_open_ext(&repo, repo_path,
				     GIT_REPOSITORY_OPEN_NO_SEARCH | GIT_REPOSITORY_OPEN_BARE |
					     GIT_REPOSITORY_OPEN_NO_DOTGIT,
				     NULL) == 0;
	git_repository_free(repo);
	git_end();
	return ok;
}

/* Creates the bare repository: the directory 0700 first (make_private_dirs),
 * then libgit2 under the caller's umask 077. */
static int create_repo(const char *repo_path, git_repository **repo, struct cpactl_error *err)
{
	git_repository_init_options opts;
	git_config *cfg = NULL;
	int rc = -1;

	git_repository_init_options_init(&opts, GIT_REPOSITORY_INIT_OPTIONS_VERSION);


	if (make_private_dirs(repo_path, err) < 0)
		return -1;
	if (chmod(repo_path, 0700) < 0)
		return error_set_errno(err, errno, ERR_IO, "cannot make '%s' private", repo_path);
	opts.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH;
	opts.mode = GIT_REPOSITORY_INIT_SHARED_UMASK;
	opts.initial_head = "main";
	opts.description = "cpactl: the history of config.yaml";
	if (git_repository_init_ext(repo, repo_path, &opts) < 0)
		return git_failure(err, ERR_IO, "cannot create the config history at '%s'", repo_path);
	/* For git itself, should someone run it here: keep files owner-only. */
	if (git_repository_config(&cfg, *repo) < 0 ||
	    git_config_set_string(cfg, "core.sharedRepository", "0600") < 0) {
		git_failure(err, ERR_IO, "cannot configure the config history at '%s'", repo_path);
		goto out;
	}
	rc = 0;
out:
	git_config_free(cfg);
	if (rc < 0) {
		git_repository_free(*repo);
		*repo = NULL;
	}
	return rc;
}

/* The id of HEAD's config.yaml blob, when HEAD exists and has one. */
static int head_file(git_repository *repo, git_commit **head, git_oid *blob, int *has_blob,
		     struct cpactl_error *err)
{
	git_oid head_oid;
	git_tree *tree = NULL;
	const git_tree_entry *entry;
	int rc = -1;

	*head = NULL;
	*has_blob = 0;
	if (git_repository_head_unborn(repo) == 1)
		return 0;
	if (git_reference_name_to_id(&head_oid, repo, "HEAD") < 0 ||
	    git_commit_lookup(head, repo, &head_oid) < 0 || git_commit_tree(&tree, *head) < 0) {
		git_failure(err, ERR_IO, "cannot read HEAD of the config history");
		goto out;
	}
	entry = git_tree_entry_byname(tree, HISTORY_FILE);
	if (entry) {
		git_oid_cpy(blob, git_tree_entry_id(entry));
		*has_blob = 1;
	}
	rc = 0;
out:
	git_tree_free(tree);
	if (rc < 0) {
		git_commit_free(*head);
		*head = NULL;
	}
	return rc;
}

int history_commit(const char *repo_path, const char *data, size_t len, const char *message,
		   char oid_out[41], int *committed, struct cpactl_error *err)
{
	git_repository *repo = NULL;
	git_commit *head = NULL;
	git_treebuilder *builder = NULL;
	git_tree *tree = NULL;
	git_signature *sig = NULL;
	git_oid blob, head_blob, tree_oid, commit_oid;
	struct buf msg = BUF_INIT;
	int has_head_blob = 0, rc = -1;
	mode_t old_umask = umask(077);

	*committed = 0;
	oid_out[0] = '\0';
	git_begin();
	if (history_exists(repo_path)) {
		if (open_repo(repo_path, &repo, err) < 0)
			goto out;
	} else if (create_repo(repo_path, &repo, err) < 0) {
		goto out;
	}
	if (head_file(repo, &head, &head_blob, &has_head_blob, err) < 0)
		goto out;
	if (git_blob_create_from_buffer(&blob, repo, data ? data : "", data ? len : 0) < 0) {
		git_failure(err, ERR_IO, "cannot store config.yaml in the config history at '%s'", repo_path);
		goto out;
	}
	if (head && has_head_blob && git_oid_equal(&blob, &head_blob)) {
		oid_hex(git_commit_id(head), oid_out);
		rc = 0;
		goto out;
	}
	if (buf_append_str(&msg, message && *message ? message : "config.yaml") < 0 ||
	    (msg.data[msg.len - 1] != '\n' && buf_append_str(&msg, "\n") < 0)) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (git_treebuilder_new(&builder, repo, NULL) < 0 ||
	    git_treebuilder_insert(NULL, builder, HISTORY_FILE, &blob, GIT_FILEMODE_BLOB) < 0 ||
	    git_treebuilder_write(&tree_oid, builder) < 0 || git_tree_lookup(&tree, repo, &tree_oid) < 0 ||
	    git_signature_now(&sig, HISTORY_NAME, HISTORY_EMAIL) < 0 ||
	    git_commit_create(&commit_oid, repo, "HEAD", sig, sig, NULL, msg.data, tree, head ? 1 : 0,
			      (const git_commit **)&head) < 0) {
		git_failure(err, ERR_IO, "cannot commit to the config history at '%s'", repo_path);
		goto out;
	}
	oid_hex(&commit_oid, oid_out);
	*committed = 1;
	rc = 0;
out:
	buf_free(&msg);
	git_signature_free(sig);
	git_tree_free(tree);
	git_treebuilder_free(builder);
	git_commit_free(head);
	git_repository_free(repo);
	git_end();
	umask(old_umask);
	return rc;
}

/* The first line of a commit message as a JSON string. */
static json_t *first_line(const char *message)
{
	size_t n = 0;
	json_t *s;

	if (!message)
		return json_string("");
	while (message[n] && message[n] != '\n' && message[n] != '\r')
		n++;
	s = json_stringn(message, n);
	return s ? s : json_string("(not UTF-8)");
}

static json_t *commit_to_json(const git_commit *c)
{
	char hex[41], date[32];
	time_t when = (time_t)git_commit_time(c);
	struct tm tm;

	oid_hex(git_commit_id(c), hex);
	if (!gmtime_r(&when, &tm) || strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(date, sizeof(date), "unknown");
	return json_pack("{s:s,s:s,s:o}", "commit", hex, "date", date, "message",
			 first_line(git_commit_message(c)));
}

/* Starts a walk from HEAD, newest first.  *walk stays NULL when the history
 * has no commit yet. */
static int walk_from_head(git_repository *repo, git_revwalk **walk, struct cpactl_error *err)
{
	int e;

	*walk = NULL;
	if (git_repository_head_unborn(repo) == 1)
		return 0;
	if (git_revwalk_new(walk, repo) < 0)
		return git_failure(err, ERR_IO, "cannot walk the config history");
	git_revwalk_sorting(*walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME);
	e = git_revwalk_push_head(*walk);
	if (e == GIT_ENOTFOUND || e == GIT_EUNBORNBRANCH) {
		git_revwalk_free(*walk);
		*walk = NULL;
		return 0;
	}
	if (e < 0) {
		git_failure(err, ERR_IO, "cannot walk the config history");
		git_revwalk_free(*walk);
		*walk = NULL;
		return -1;
	}
	return 0;
}

int history_log(const char *repo_path, size_t max, json_t **out, struct cpactl_error *err)
{
	git_repository *repo = NULL;
	git_revwalk *walk = NULL;
	git_oid oid;
	json_t *list = NULL;
	int rc = -1;

	*out = NULL;
	git_begin();
	if (open_repo(repo_path, &repo, err) < 0 || walk_from_head(repo, &walk, err) < 0)
		goto out;
	list = json_array();
	if (!list) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	while (walk && (max == 0 || json_array_size(list) < max) && git_revwalk_next(&oid, walk) == 0) {
		git_commit *c = NULL;
		if (git_commit_lookup(&c, repo, &oid) < 0) {
			git_failure(err, ERR_IO, "cannot read the config history at '%s'", repo_path);
			goto out;
		}
		json_array_append_new(list, commit_to_json(c));
		git_commit_free(c);
	}
	*out = list;
	list = NULL;
	rc = 0;
out:
	json_decref(list);
	git_revwalk_free(walk);
	git_repository_free(repo);
	git_end();
	return rc;
}

int history_is_snapshot_id(const char *rev)
{
	/* YYYYmmdd-HHMMSS */
	if (!rev || strlen(rev) != 15 || rev[8] != '-')
		return 0;
	for (size_t i = 0; i < 15; i++)
		if (i != 8 && !isdigit((unsigned char)rev[i]))
			return 0;
	return 1;
}

/* The newest commit whose message mentions snapshot `id`. */
static int find_snapshot(git_repository *repo, const char *id, git_commit **out, struct cpactl_error *err)
{
	git_revwalk *walk = NULL;
	git_oid oid;
	int rc = -1;

	*out = NULL;
	if (walk_from_head(repo, &walk, err) < 0)
		return -1;
	while (walk && git_revwalk_next(&oid, walk) == 0) {
		git_commit *c = NULL;
		const char *m;
		if (git_commit_lookup(&c, repo, &oid) < 0) {
			git_failure(err, ERR_IO, "cannot read the config history");
			goto out;
		}
		m = git_commit_message(c);
		if (m && strstr(m, id)) {
			*out = c;
			rc = 0;
			goto out;
		}
		git_commit_free(c);
	}
	error_set(err, ERR_NOT_FOUND, "no commit of the config history belongs to snapshot '%s'", id);
out:
	git_revwalk_free(walk);
	return rc;
}

/* Resolves `rev` to a commit. */
static int resolve_rev(git_repository *repo, const char *rev, git_commit **out, struct cpactl_error *err)
{
	git_object *obj = NULL;
	int e, rc = -1;

	*out = NULL;
	if (git_repository_head_unborn(repo) == 1)
		return error_set(err, ERR_NOT_FOUND,
				 "the config history is empty: 'cpactl backup' commits config.yaml to it");
	if (history_is_snapshot_id(rev))
		return find_snapshot(repo, rev, out, err);
	e = git_revparse_single(&obj, repo, rev);
	if (e == GIT_ENOTFOUND || e == GIT_EINVALIDSPEC || e == GIT_EUNBORNBRANCH) {
		error_set(err, ERR_NOT_FOUND, "no revision '%s' in the config history", rev);
		goto out;
	}
	if (e == GIT_EAMBIGUOUS) {
		error_set(err, ERR_USAGE, "revision '%s' is ambiguous: give more digits", rev);
		goto out;
	}
	if (e < 0) {
		git_failure(err, ERR_NOT_FOUND, "no revision '%s' in the config history", rev);
		goto out;
	}
	if (git_object_peel((git_object **)out, obj, GIT_OBJECT_COMMIT) < 0) {
		error_set(err, ERR_NOT_FOUND, "revision '%s' is not a commit of the config history", rev);
		goto out;
	}
	rc = 0;
out:
	git_object_free(obj);
	return rc;
}

int history_read(const char *repo_path, const char *rev, struct buf *out, char oid_out[41],
		 struct cpactl_error *err)
{
	git_repository *repo = NULL;
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	git_blob *blob = NULL;
	const git_tree_entry *entry;
	int rc = -1;

	oid_out[0] = '\0';
	git_begin();
	if (open_repo(repo_path, &repo, err) < 0 || resolve_rev(repo, rev, &commit, err) < 0)
		goto out;
	if (git_commit_tree(&tree, commit) < 0) {
		git_failure(err, ERR_IO, "cannot read the config history at '%s'", repo_path);
		goto out;
	}
	entry = git_tree_entry_byname(tree, HISTORY_FILE);
	if (!entry || git_tree_entry_type(entry) != GIT_OBJECT_BLOB) {
		error_set(err, ERR_NOT_FOUND, "revision '%s' of the config history holds no '%s'", rev,
			  HISTORY_FILE);
		goto out;
	}
	if (git_blob_lookup(&blob, repo, git_tree_entry_id(entry)) < 0) {
		git_failure(err, ERR_IO, "cannot read the config history at '%s'", repo_path);
		goto out;
	}
	if (buf_append(out, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob)) < 0) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	oid_hex(git_commit_id(commit), oid_out);
	rc = 0;
out:
	git_blob_free(blob);
	git_tree_free(tree);
	git_commit_free(commit);
	git_repository_free(repo);
	git_end();
	return rc;
}

int history_diff(const char *old_name, const char *old_text, size_t old_len, const char *new_name,
		 const char *new_text, size_t new_len, struct buf *patch, struct cpactl_error *err)
{
	git_diff_options opts;
	git_patch *p = NULL;
	git_buf text = { NULL, 0, 0 };
	int rc = -1;

	git_begin();
	git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION);
	/* config.yaml is text even when someone put a NUL in it. */
	opts.flags = GIT_DIFF_FORCE_TEXT;
	if (git_patch_from_buffers(&p, old_text ? old_text : "", old_text ? old_len : 0, old_name,
				   new_text ? new_text : "", new_text ? new_len : 0, new_name, &opts) < 0) {
		git_failure(err, ERR_FAILED, "cannot compare '%s' and '%s'", old_name, new_name);
		goto out;
	}
	if (git_patch_num_hunks(p) == 0) {
		rc = 0;
		goto out;
	}
	if (git_patch_to_buf(&text, p) < 0) {
		git_failure(err, ERR_FAILED, "cannot compare '%s' and '%s'", old_name, new_name);
		goto out;
	}
	if (buf_append(patch, text.ptr ? text.ptr : "", text.size) < 0) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	rc = 0;
out:
	git_buf_dispose(&text);
	git_patch_free(p);
	git_end();
	return rc;
}

int history_file_in_git(const char *path, int *tracked, struct cpactl_error *err)
{
	git_repository *repo = NULL;
	git_buf root = GIT_BUF_INIT;
	const char *workdir;
	unsigned int flags = 0;
	int rc = -1, r;

	*tracked = 0;
	git_begin();
	/* Any repository the file lies in, found upwards as git would; the
	 * deployment's own history is a bare one and never matches. */
	r = git_repository_discover(&root, path, 0, NULL);
	if (r == GIT_ENOTFOUND) {
		rc = 0;
		goto out;
	}
	if (r < 0 || git_repository_open(&repo, root.ptr) < 0) {
		git_failure(err, ERR_IO, "cannot open the git repository around '%s'", path);
		goto out;
	}
	workdir = git_repository_workdir(repo);
	if (!workdir || strncmp(path, workdir, strlen(workdir)) != 0) {
		rc = 0;
		goto out;
	}
	r = git_status_file(&flags, repo, path + strlen(workdir));
	if (r == GIT_ENOTFOUND) {
		rc = 0;
		goto out;
	}
	if (r < 0) {
		git_failure(err, ERR_IO, "cannot ask git about '%s'", path);
		goto out;
	}
	/* Committed (unchanged or changed since) or staged: git has its bytes. */
	*tracked = !(flags & (GIT_STATUS_WT_NEW | GIT_STATUS_IGNORED));
	rc = 0;
out:
	git_repository_free(repo);
	git_buf_dispose(&root);
	git_end();
	return rc;
}
