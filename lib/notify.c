/*
 * notify.c - the notification POST and the whitelist that builds its payload.
 *
 * See notify.h for the two rules (whitelist only; never changes the exit
 * code).  The payload builder is a pure function of its event so that a unit
 * test can feed it a result full of secret-looking fields and check that none
 * comes out.
 */
#include "notify.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Copied strings longer than this are dropped, not cut: a reason cut in
 * half reads as a different reason. */
#define NOTIFY_TEXT_MAX 512

/* Short printable text without control characters. */
static int is_plain_text(const char *s, size_t max)
{
	size_t n = 0;

	if (!s || !*s)
		return 0;
	for (; *s; s++, n++) {
		unsigned char c = (unsigned char)*s;
		if (n >= max || c < 0x20 || c == 0x7f)
			return 0;
	}
	return 1;
}

/* A word of the verb's vocabulary ("upgraded", "up-to-date", "rolled-back"),
 * or an id/version: letters, digits and . - _ + : only. */
static int is_word(const char *s, size_t max)
{
	size_t n = 0;

	if (!s || !*s)
		return 0;
	for (; *s; s++, n++)
		if (n >= max || !(isalnum((unsigned char)*s) || strchr(".-_+:", *s)))
			return 0;
	return 1;
}

static const char *word_at(const json_t *obj, const char *key, size_t max)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return is_word(s, max) ? s : NULL;
}

/* Sets key to a copy of s when s is given; ignores out-of-memory, which only
 * makes the payload shorter. */
static void set_string(json_t *payload, const char *key, const char *s)
{
	if (s)
		json_object_set_new(payload, key, json_string(s));
}

static void copy_versions(json_t *payload, const json_t *result)
{
	const char *from = word_at(json_object_get(result, "from"), "version", 64);
	const char *to = word_at(json_object_get(result, "to"), "version", 64);

	if (from || to)
		json_object_set_new(payload, "versions",
				    json_pack("{s:s?,s:s?}", "from", from, "to", to));
}

/* The counts of an audit (doctor, config check): integers only. */
static void copy_summary(json_t *payload, const json_t *result)
{
	static const char *const keys[] = { "error", "warning", "info" };
	const json_t *summary = json_object_get(result, "summary");
	json_t *out;

	if (!json_is_object(summary))
		return;
	out = json_object();
	for (size_t i = 0; out && i < sizeof(keys) / sizeof(keys[0]); i++) {
		const json_t *v = json_object_get(summary, keys[i]);
		if (json_is_integer(v))
			json_object_set_new(out, keys[i], json_integer(json_integer_value(v)));
	}
	if (out && json_object_size(out) > 0)
		json_object_set_new(payload, "summary", out);
	else
		json_decref(out);
}

json_t *notify_payload(const struct notify_event *ev)
{
	const json_t *result = json_is_object(ev->result) ? ev->result : NULL;
	const char *container = NULL, *snapshot = NULL, *reason = NULL;
	char when[32] = "";
	struct tm tm;
	json_t *payload;

	if (gmtime_r(&ev->time, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	payload = json_pack("{s:s?,s:s,s:s,s:i,s:s?}", "cpactl_version", ev->cpactl_version,
			    "command", ev->command, "outcome", ev->outcome, "exit_code", ev->exit_code,
			    "time", when[0] ? when : NULL);
	if (!payload)
		return NULL;
	if (is_plain_text(ev->host, 255))
		set_string(payload, "host", ev->host);
	if (result) {
		container = word_at(result, "container", 255);
		snapshot = word_at(result, "snapshot", 64);
		/* backup names the snapshot it took "id". */
		if (!snapshot && strcmp(ev->command, "backup") == 0)
			snapshot = word_at(result, "id", 64);
		set_string(payload, "result", word_at(result, "outcome", 32));
		copy_versions(payload, result);
		copy_summary(payload, result);
	}
	if (!container && is_word(ev->container, 255))
		container = ev->container;
	set_string(payload, "container", container);
	set_string(payload, "snapshot", snapshot);
	if (ev->exit_code != 0) {
		const json_t *error = ev->result ? json_object_get(ev->result, "error") : NULL;
		reason = json_string_value(json_object_get(error, "message"));
		set_string(payload, "reason", is_plain_text(reason, NOTIFY_TEXT_MAX) ? reason : NULL);
	}
	return payload;
}

/* The scheme of url ("http" or "https") and where its authority starts, or
 * NULL when it is neither. */
static const char *authority_of(const char *url)
{
	if (strncasecmp(url, "http://", 7) == 0)
		return url + 7;
	if (strncasecmp(url, "https://", 8) == 0)
		return url + 8;
	return NULL;
}

int notify_url_check(const char *url, const char *source, struct cpactl_error *err)
{
	const char *authority;
	size_t host_len;

	if (!url || !*url)
		return error_set(err, ERR_USAGE, "%s wants an http:// or https:// URL, not an empty string",
				 source);
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return error_set(err, ERR_USAGE, "%s: the URL contains a space or control character",
					 source);
	authority = authority_of(url);
	if (!authority)
		return error_set(err, ERR_USAGE,
				 "%s wants an http:// or https:// URL (the one given has another scheme "
				 "or none)", source);
	host_len = strcspn(authority, "/?#");
	/* user:password@host: the host is what follows the last '@'. */
	for (size_t i = 0; i < host_len; i++)
		if (authority[i] == '@') {
			authority += i + 1;
			host_len -= i + 1;
			i = (size_t)-1;
		}
	if (host_len == 0 || authority[0] == ':')
		return error_set(err, ERR_USAGE, "%s: the URL names no host", source);
	return 0;
}

void notify_url_redacted(const char *url, char *out, size_t len)
{
	const char *authority = authority_of(url ? url : "");
	const char *host, *rest;
	size_t host_len;
	int hidden;

	if (!len)
		return;
	if (!authority) {
		snprintf(out, len, "(not an http URL)");
		return;
	}
	host_len = strcspn(authority, "/?#");
	host = memrchr(authority, '@', host_len);
	hidden = host != NULL;
	host = host ? host + 1 : authority;
	host_len -= (size_t)(host - authority);
	rest = authority + strcspn(authority, "/?#");
	if (*rest && strcmp(rest, "/") != 0)
		hidden = 1;
	snprintf(out, len, "%.*s%.*s%s", (int)(authority - url), url, (int)host_len, host,
		 hidden ? "/..." : "");
}

static size_t discard_body(char *data, size_t size, size_t nmemb, void *ctx)
{
	(void)data;
	(void)ctx;
	return size * nmemb;
}

/* One attempt; fills why (curl's words or the HTTP status) on failure. */
static int post_once(CURL *curl, char *why, size_t why_len)
{
	char curl_error[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURLcode code;

	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_error);
	code = curl_easy_perform(curl);
	if (code != CURLE_OK) {
		snprintf(why, why_len, "%s", curl_error[0] ? curl_error : curl_easy_strerror(code));
		return -1;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		snprintf(why, why_len, "the server answered HTTP %ld", status);
		return -1;
	}
	return 0;
}

int notify_post(const char *url, const json_t *payload, struct cpactl_error *err)
{
	struct curl_slist *headers = NULL;
	char shown[300], why[CURL_ERROR_SIZE + 64] = "";
	char *body = NULL;
	CURL *curl = NULL;
	int rc = -1;

	notify_url_redacted(url, shown, sizeof(shown));
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		error_set(err, ERR_FAILED, "cannot notify '%s': cannot initialise libcurl", shown);
		goto out;
	}
	body = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS);
	curl = curl_easy_init();
	headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (!body || !curl || !headers) {
		error_set(err, ERR_NOMEM, "cannot notify '%s': out of memory", shown);
		goto out;
	}
	curl_easy_setopt(curl, CURLOPT_URL, url);
	/* A redirect or another protocol would send the payload somewhere the
	 * user did not name. */
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)NOTIFY_TIMEOUT_SECONDS);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, (long)NOTIFY_TIMEOUT_SECONDS);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "cpactl");
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_body);
	for (int attempt = 1; attempt <= NOTIFY_ATTEMPTS; attempt++) {
		if (post_once(curl, why, sizeof(why)) == 0) {
			rc = 0;
			goto out;
		}
		if (attempt < NOTIFY_ATTEMPTS)
			sleep(1);
	}
	error_set(err, ERR_FAILED, "cannot notify '%s': %s (tried %d times)", shown, why, NOTIFY_ATTEMPTS);
out:
	curl_slist_free_all(headers);
	if (curl)
		curl_easy_cleanup(curl);
	free(body);
	return rc;
}
