/*
 * registry_auth.c - see registry_auth.h.
 */
#include "registry_auth.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "buf.h"

#define DOCKER_CONFIG_MAX (1024 * 1024)
#define DOCKER_HUB_KEY "https://index.docker.io/v1/"

static void wipe_free(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

char *registry_of_image(const char *image_ref)
{
	const char *slash = strchr(image_ref, '/');
	size_t n;

	if (!slash)
		return strdup("docker.io");
	n = (size_t)(slash - image_ref);
	if (memchr(image_ref, '.', n) || memchr(image_ref, ':', n) || (n == 9 && strncmp(image_ref, "localhost", 9) == 0))
		return strndup(image_ref, n);
	return strdup("docker.io");
}

/* An auths key as the docker CLI writes it ("https://host/v1/", "host",
 * "http://host") reduced to its host. */
static int key_names_registry(const char *key, const char *registry)
{
	const char *host = key;
	size_t n;

	if (strcmp(registry, "docker.io") == 0 &&
	    (strcmp(key, DOCKER_HUB_KEY) == 0 || strcmp(key, "index.docker.io") == 0 || strcmp(key, "docker.io") == 0))
		return 1;
	if (strncmp(host, "https://", 8) == 0)
		host += 8;
	else if (strncmp(host, "http://", 7) == 0)
		host += 7;
	n = strcspn(host, "/");
	return n == strlen(registry) && strncmp(host, registry, n) == 0;
}

/* base64 (standard alphabet) to a NUL-terminated string, or NULL. */
static char *base64_decode(const char *in)
{
	size_t len = strlen(in);
	unsigned char *out = malloc(len / 4 * 3 + 4);
	int n;

	if (!out || len % 4 != 0 || (n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len)) < 0) {
		free(out);
		return NULL;
	}
	/* EVP_DecodeBlock counts the padding as data. */
	while (len > 0 && in[len - 1] == '=') {
		len--;
		n--;
	}
	out[n] = '\0';
	return (char *)out;
}

/* base64url of `text`, as the engine decodes X-Registry-Auth. */
static char *base64url_encode(const char *text)
{
	size_t len = strlen(text);
	char *out = malloc((len + 2) / 3 * 4 + 1);
	size_t i;

	if (!out)
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)text, (int)len);
	for (i = 0; out[i]; i++)
		out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	return out;
}

static char *config_path(void)
{
	const char *dir = getenv("DOCKER_CONFIG"), *home = getenv("HOME");
	struct buf path = BUF_INIT;

	if (dir && *dir)
		buf_appendf(&path, "%s/config.json", dir);
	else if (home && *home)
		buf_appendf(&path, "%s/.docker/config.json", home);
	else
		return NULL;
	return buf_detach(&path);
}

/* The header value for one auths entry, or NULL when it holds nothing usable;
 * *basic gets "user:password" when the entry has them. */
static char *header_for(json_t *entry, const char *registry, char **basic)
{
	const char *auth = json_string_value(json_object_get(entry, "auth"));
	const char *user = json_string_value(json_object_get(entry, "username"));
	const char *pass = json_string_value(json_object_get(entry, "password"));
	const char *token = json_string_value(json_object_get(entry, "identitytoken"));
	char *decoded = NULL, *text = NULL, *out = NULL;
	json_t *doc = NULL;

	if (auth && *auth && (decoded = base64_decode(auth)) != NULL) {
		char *colon = strchr(decoded, ':');
		if (colon) {
			*colon = '\0';
			user = decoded;
			pass = colon + 1;
		}
	}
	if (token && *token)
		doc = json_pack("{s:s,s:s}", "identitytoken", token, "serveraddress", registry);
	else if (user && *user && pass)
		doc = json_pack("{s:s,s:s,s:s}", "username", user, "password", pass, "serveraddress", registry);
	if (user && *user && pass) {
		struct buf b = BUF_INIT;
		buf_appendf(&b, "%s:%s", user, pass);
		*basic = buf_detach(&b);
	}
	if (doc && (text = json_dumps(doc, JSON_COMPACT)) != NULL)
		out = base64url_encode(text);
	wipe_free(text);
	wipe_free(decoded);
	json_decref(doc);
	return out;
}

int registry_auth_for(const char *image_ref, struct registry_auth *a, struct cpactl_error *err)
{
	char *text = NULL;
	size_t len = 0;
	struct stat st;
	struct cpactl_error e = CPACTL_ERROR_INIT;
	json_t *doc = NULL, *entry;
	const char *key;
	int rc = -1;

	memset(a, 0, sizeof(*a));
	if (!(a->registry = registry_of_image(image_ref)))
		return error_set(err, ERR_NOMEM, "out of memory");
	if (!(a->config_path = config_path()) || stat(a->config_path, &st) < 0) {
		free(a->config_path);
		a->config_path = NULL;
		return 0;
	}
	/* The docker CLI's own file: another user's could send our pulls to
	 * credentials of their choosing. */
	if ((st.st_uid != geteuid() && st.st_uid != 0) || (st.st_mode & S_IWOTH) || (st.st_mode & S_IWGRP)) {
		error_set(err, ERR_UNTRUSTED,
			  "'%s' is owned by uid %u with mode %04o: cpactl reads registry credentials only from a "
			  "file of its user or root that nobody else may write (chmod 600 it)",
			  a->config_path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (read_small_file(a->config_path, DOCKER_CONFIG_MAX, &text, &len, &e) < 0) {
		error_set(err, ERR_IO, "%s", e.message);
		goto out;
	}
	if (!(doc = json_loadb(text, len, 0, NULL)) || !json_is_object(doc)) {
		error_set(err, ERR_FAILED, "'%s' is not a JSON object: cannot read registry credentials from it",
			  a->config_path);
		goto out;
	}
	json_object_foreach(json_object_get(doc, "auths"), key, entry)
		if (!a->header && key_names_registry(key, a->registry))
			a->header = header_for(entry, a->registry, &a->basic);
	json_object_foreach(json_object_get(doc, "credHelpers"), key, entry)
		if (!a->header && !a->helper && key_names_registry(key, a->registry) && json_string_value(entry))
			a->helper = strdup(json_string_value(entry));
	if (!a->header && !a->helper && json_string_value(json_object_get(doc, "credsStore")))
		a->helper = strdup(json_string_value(json_object_get(doc, "credsStore")));
	rc = 0;
out:
	if (text) {
		OPENSSL_cleanse(text, len);
		free(text);
	}
	json_decref(doc);
	if (rc < 0)
		registry_auth_free(a);
	return rc;
}

void registry_auth_free(struct registry_auth *a)
{
	free(a->registry);
	wipe_free(a->header);
	wipe_free(a->basic);
	free(a->helper);
	free(a->config_path);
	memset(a, 0, sizeof(*a));
}
