/*
 * registry.c - see registry.h.
 */
#include "registry.h"

#include <ctype.h>
#include <curl/curl.h>
#include <fnmatch.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "cpa.h"
#include "registry_auth.h"

#define REGISTRY_TIMEOUT_S 15L
#define REGISTRY_BODY_MAX (4 * 1024 * 1024)
#define REGISTRY_DIGESTS_MAX 50
#define MANIFEST_ACCEPT                                                                                     \
	"Accept: application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, " \
	"application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json"

struct session {
	char *base;           /* scheme://host */
	char *repository;     /* library/nginx, eceasy/cli-proxy-api */
	char *basic;          /* user:password or NULL (SECRET, borrowed) */
	char *bearer;         /* a token the registry handed out (SECRET) */
};

struct answer {
	long status;
	struct buf body;
	char challenge[1024]; /* WWW-Authenticate */
	char digest[160];     /* Docker-Content-Digest */
};

int registry_tag_is_release(const char *tag)
{
	int dots = 0, digits = 0;

	if (*tag == 'v')
		tag++;
	for (; *tag; tag++) {
		if (*tag == '.') {
			if (!digits)
				return 0;
			dots++;
			digits = 0;
		} else if (isdigit((unsigned char)*tag)) {
			digits++;
		} else {
			return 0;
		}
	}
	return dots == 2 && digits > 0;
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	struct answer *a = ctx;

	if (a->body.len + size * n > REGISTRY_BODY_MAX)
		return 0;
	buf_append(&a->body, data, size * n);
	return size * n;
}

static void header_value(const char *line, size_t len, const char *name, char *out, size_t outlen)
{
	size_t n = strlen(name), v;

	if (len <= n || strncasecmp(line, name, n) != 0)
		return;
	line += n;
	len -= n;
	while (len && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	while (len && (line[len - 1] == '\r' || line[len - 1] == '\n'))
		len--;
	v = len < outlen - 1 ? len : outlen - 1;
	memcpy(out, line, v);
	out[v] = '\0';
}

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
	struct answer *a = ctx;

	header_value(data, size * n, "WWW-Authenticate:", a->challenge, sizeof(a->challenge));
	header_value(data, size * n, "Docker-Content-Digest:", a->digest, sizeof(a->digest));
	return size * n;
}

/* One request; `auth` is a whole Authorization header or NULL. */
static int perform(const char *url, int head, const char *auth, const char *user_pass, struct answer *a,
		   struct cpactl_error *err)
{
	CURL *curl = curl_easy_init();
	struct curl_slist *headers = NULL;
	char curl_error[CURL_ERROR_SIZE] = "";
	CURLcode code;

	memset(a, 0, sizeof(*a));
	if (!curl)
		return error_set(err, ERR_NOMEM, "out of memory");
	headers = curl_slist_append(headers, MANIFEST_ACCEPT);
	if (auth)
		headers = curl_slist_append(headers, auth);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_NOBODY, head ? 1L : 0L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, REGISTRY_TIMEOUT_S);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_error);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, a);
	if (user_pass) {
		curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(curl, CURLOPT_USERPWD, user_pass);
	}
	code = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a->status);
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	if (code != CURLE_OK) {
		buf_free(&a->body);
		/* The URL holds no secret: scheme, host and the repository path. */
		return error_set(err, ERR_FAILED, "cannot ask %s: %s", url, curl_error[0] ? curl_error : curl_easy_strerror(code));
	}
	return 0;
}

/* The value of key="value" in a WWW-Authenticate challenge. */
static int challenge_param(const char *challenge, const char *key, char *out, size_t outlen)
{
	char pat[32];
	const char *p, *q;

	snprintf(pat, sizeof(pat), "%s=\"", key);
	if (!(p = strcasestr(challenge, pat)))
		return -1;
	p += strlen(pat);
	if (!(q = strchr(p, '"')) || (size_t)(q - p) >= outlen)
		return -1;
	memcpy(out, p, (size_t)(q - p));
	out[q - p] = '\0';
	return 0;
}

/* A bearer token for the challenge (Docker Hub, GHCR ...), with the
 * credentials when there are any, anonymously otherwise. */
static int fetch_token(struct session *s, const char *challenge, struct cpactl_error *err)
{
	char realm[512], service[256] = "", scope[512] = "";
	struct buf url = BUF_INIT;
	struct answer a;
	json_t *doc = NULL;
	const char *token;
	char *eservice = NULL, *escope = NULL;
	int rc = -1;

	if (strncasecmp(challenge, "Bearer ", 7) != 0 || challenge_param(challenge, "realm", realm, sizeof(realm)) < 0)
		return error_set(err, ERR_FAILED, "%s asks for authentication cpactl does not speak ('%.40s')", s->base,
				 challenge);
	challenge_param(challenge, "service", service, sizeof(service));
	if (challenge_param(challenge, "scope", scope, sizeof(scope)) < 0)
		snprintf(scope, sizeof(scope), "repository:%s:pull", s->repository);
	eservice = curl_easy_escape(NULL, service, 0);
	escope = curl_easy_escape(NULL, scope, 0);
	buf_appendf(&url, "%s%sservice=%s&scope=%s", realm, strchr(realm, '?') ? "&" : "?", eservice ? eservice : "",
		    escope ? escope : "");
	if (perform(url.data, 0, NULL, s->basic, &a, err) < 0)
		goto out;
	doc = json_loadb(a.body.data ? a.body.data : "", a.body.len, 0, NULL);
	token = json_string_value(json_object_get(doc, "token"));
	if (!token)
		token = json_string_value(json_object_get(doc, "access_token"));
	if (a.status != 200 || !token) {
		error_set(err, ERR_FAILED, "%s refused a token for %s (HTTP %ld)%s", realm, s->repository, a.status,
			  s->basic ? ": the credentials in config.json were refused" : ": it wants credentials (docker login)");
		goto out;
	}
	s->bearer = strdup(token);
	rc = 0;
out:
	if (a.body.data)
		OPENSSL_cleanse(a.body.data, a.body.len);
	buf_free(&a.body);
	json_decref(doc);
	curl_free(eservice);
	curl_free(escope);
	buf_free(&url);
	return rc;
}

/* GET or HEAD `path` under the repository, authenticating as asked. */
static int ask(struct session *s, const char *path, int head, struct answer *a, struct cpactl_error *err)
{
	struct buf url = BUF_INIT, auth = BUF_INIT;
	int rc = -1, round;

	buf_appendf(&url, "%s/v2/%s/%s", s->base, s->repository, path);
	for (round = 0; round < 2; round++) {
		buf_reset(&auth);
		if (s->bearer)
			buf_appendf(&auth, "Authorization: Bearer %s", s->bearer);
		if (perform(url.data, head, s->bearer ? auth.data : NULL, s->bearer ? NULL : s->basic, a, err) < 0)
			goto out;
		if (a->status != 401 || round == 1 || s->bearer || strncasecmp(a->challenge, "Bearer ", 7) != 0)
			break;
		buf_free(&a->body);
		if (fetch_token(s, a->challenge, err) < 0)
			goto out;
	}
	if (a->status == 401 || a->status == 403) {
		error_set(err, ERR_FAILED, "%s refused to list %s (HTTP %ld): %s", s->base, s->repository, a->status,
			  s->basic ? "the credentials in config.json were refused"
				   : "it wants credentials: run 'docker login' for it as the user who runs cpactl");
		buf_free(&a->body);
		goto out;
	}
	rc = 0;
out:
	if (auth.data)
		OPENSSL_cleanse(auth.data, auth.len);
	buf_free(&auth);
	buf_free(&url);
	return rc;
}

static int by_version(const void *a, const void *b)
{
	json_t *const *x = a, *const *y = b;
	return cpa_version_compare(json_string_value(json_object_get(*x, "version")),
				   json_string_value(json_object_get(*y, "version")));
}

static char *digest_of(struct session *s, const char *tag, struct cpactl_error *err)
{
	struct buf path = BUF_INIT;
	struct answer a;
	char *out = NULL;

	buf_appendf(&path, "manifests/%s", tag);
	if (ask(s, path.data, 1, &a, err) == 0) {
		if (a.status == 200 && a.digest[0])
			out = strdup(a.digest);
		buf_free(&a.body);
	}
	buf_free(&path);
	return out;
}

int registry_check(const char *image_ref, const char *running_version, const char *pattern, int allow_downgrade,
		   json_t **report, struct cpactl_error *err)
{
	struct registry_auth creds;
	struct session s;
	struct answer a;
	struct buf base = BUF_INIT, repo = BUF_INIT;
	json_t *doc = NULL, *tag, *newer = json_array(), *latest = json_null(), *sorted = NULL;
	const char *start, *end;
	char *latest_digest = NULL;
	size_t i, n;
	int rc = -1, loopback;

	*report = NULL;
	memset(&s, 0, sizeof(s));
	memset(&a, 0, sizeof(a));
	if (registry_auth_for(image_ref, &creds, err) < 0) {
		json_decref(newer);
		return -1;
	}
	/* The repository: the reference without registry, tag or digest. */
	start = strcmp(creds.registry, "docker.io") == 0 && strncmp(image_ref, "docker.io/", 10) != 0
			? image_ref
			: image_ref + strlen(creds.registry) + 1;
	end = strchr(start, '@');
	if (!end) {
		const char *colon = strrchr(start, ':');
		end = colon && !strchr(colon, '/') ? colon : start + strlen(start);
	}
	if (strcmp(creds.registry, "docker.io") == 0 && !memchr(start, '/', (size_t)(end - start)))
		buf_append_str(&repo, "library/");
	buf_append(&repo, start, (size_t)(end - start));
	loopback = strncmp(creds.registry, "127.", 4) == 0 || strncmp(creds.registry, "localhost", 9) == 0 ||
		   strncmp(creds.registry, "[::1]", 5) == 0;
	buf_appendf(&base, "%s://%s", loopback ? "http" : "https",
		    strcmp(creds.registry, "docker.io") == 0 ? "registry-1.docker.io" : creds.registry);
	s.base = base.data;
	s.repository = repo.data;
	s.basic = creds.basic;
	if (!newer || ask(&s, "tags/list?n=1000", 0, &a, err) < 0)
		goto out;
	if (a.status != 200) {
		error_set(err, ERR_FAILED, "%s has no repository %s (HTTP %ld on its tag list)", s.base, s.repository,
			  a.status);
		goto out;
	}
	doc = json_loadb(a.body.data ? a.body.data : "", a.body.len, 0, NULL);
	if (!json_is_array(json_object_get(doc, "tags"))) {
		error_set(err, ERR_FAILED, "%s answered its tag list of %s with no 'tags' array", s.base, s.repository);
		goto out;
	}
	json_array_foreach(json_object_get(doc, "tags"), i, tag) {
		const char *name = json_string_value(tag);
		if (!name || !registry_tag_is_release(name) || (pattern && fnmatch(pattern, name, 0) != 0))
			continue;
		if (running_version && cpa_version_compare(name, running_version) <= 0 &&
		    !(allow_downgrade && cpa_version_compare(name, running_version) < 0))
			continue;
		json_array_append_new(newer, json_pack("{s:s,s:s}", "tag", name, "version", name));
	}
	/* Oldest first, by semantic version, not by the registry's order. */
	n = json_array_size(newer);
	{
		json_t **items = calloc(n ? n : 1, sizeof(*items));
		if (!items) {
			error_set(err, ERR_NOMEM, "out of memory");
			goto out;
		}
		for (i = 0; i < n; i++)
			items[i] = json_array_get(newer, i);
		qsort(items, n, sizeof(*items), by_version);
		sorted = json_array();
		for (i = 0; i < n; i++)
			json_array_append(sorted, items[i]);
		free(items);
	}
	/* Digests for the newest releases (a pin), and for latest. */
	for (i = n > REGISTRY_DIGESTS_MAX ? n - REGISTRY_DIGESTS_MAX : 0; i < n; i++) {
		json_t *item = json_array_get(sorted, i);
		char *d = digest_of(&s, json_string_value(json_object_get(item, "tag")), err);
		if (!d && err->kind != ERR_NONE)
			goto out;
		json_object_set_new(item, "digest", d ? json_string(d) : json_null());
		free(d);
	}
	latest_digest = digest_of(&s, "latest", err);
	if (!latest_digest && err->kind != ERR_NONE)
		goto out;
	if (latest_digest) {
		/* latest named by the release it is: the newest tag with its digest. */
		const char *is = NULL;
		json_t *all = json_object_get(doc, "tags");
		json_decref(latest);
		json_array_foreach(sorted, i, tag)
			if (json_string_value(json_object_get(tag, "digest")) &&
			    strcmp(json_string_value(json_object_get(tag, "digest")), latest_digest) == 0)
				is = json_string_value(json_object_get(tag, "version"));
		if (!is && running_version) {
			/* Not newer than production: maybe the running release itself. */
			json_array_foreach(all, i, tag) {
				const char *name = json_string_value(tag);
				char *d;
				if (!name || !registry_tag_is_release(name) || cpa_version_compare(name, running_version) != 0)
					continue;
				d = digest_of(&s, name, err);
				if (d && strcmp(d, latest_digest) == 0)
					is = name;
				free(d);
				error_clear(err);
				break;
			}
		}
		latest = json_pack("{s:s,s:s?}", "digest", latest_digest, "version", is);
	}
	{
		json_t *last = json_array_get(sorted, json_array_size(sorted) - 1);
		const char *digest = json_string_value(json_object_get(last, "digest"));
		struct buf target = BUF_INIT;
		if (last && digest)
			buf_appendf(&target, "%.*s@%s", (int)(end - image_ref), image_ref, digest);
		*report = json_pack("{s:s,s:s,s:s?,s:o,s:O,s:b,s:s?}", "registry", creds.registry, "repository",
				    s.repository, "running_version", running_version, "latest", latest, "newer", sorted,
				    "update_available", json_array_size(sorted) > 0, "target",
				    target.data);
		latest = NULL;
		buf_free(&target);
	}
	if (!*report) {
		error_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	rc = 0;
out:
	buf_free(&a.body);
	json_decref(doc);
	json_decref(newer);
	json_decref(sorted);
	json_decref(latest);
	free(latest_digest);
	if (s.bearer) {
		OPENSSL_cleanse(s.bearer, strlen(s.bearer));
		free(s.bearer);
	}
	buf_free(&base);
	buf_free(&repo);
	registry_auth_free(&creds);
	return rc;
}
