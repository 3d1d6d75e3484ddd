/*
 * secretmask.h - cpactl's handling of secrets, in one place: hide the secret
 * values of a YAML text and keep every other byte; and the secret values of a
 * config or an environment, for redacting them from log lines.  (Which
 * config keys and env names hold secrets: cpa.h and profile.h.)
 *
 * `cpactl config show` and `config diff` print config.yaml as its owner wrote
 * it (comments, order, quoting, blank lines) so that a diff reads like a diff
 * of the file.  Only the values that hold secrets are replaced, each by `***`:
 * the value of a key that cpa_key_is_secret() names (or a key that ends in
 * password, token, secret ...), and every scalar inside a sequence or mapping
 * under such a key (each item of `api-keys:`, each value under `headers:`).
 * Every value under `plugins.configs.<id>` but `enabled` is masked too (a
 * plugin's settings can be anything, tokens among them).  Comments: a
 * commented `key: value` whose key is a secret's, and a commented list item
 * under a secret key (`#  - "sk-..."` below `api-keys:`), are masked.
 * Keys stay visible, so a reader still sees which key a line holds.
 *
 * What must always hold: the text is never hand-parsed (but its comments,
 * which libyaml does not report, and where any doubt masks).  libyaml's event
 * parser says where each scalar starts and ends; those ranges, and nothing
 * else, are replaced.  A node that an alias in a secret place refers to is
 * masked where it is defined, too.  When the YAML does not parse, nothing is
 * written: a caller can never print the text unmasked by mistake.
 */
#ifndef CPACTL_SECRETMASK_H
#define CPACTL_SECRETMASK_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"
#include "error.h"

#define SECRET_MASK "***"

/* Appends the masked copy of `data` (len bytes, UTF-8) to `out`.  Fails with
 * ERR_PARSE (line and column in the message, never a value) when the text is
 * not YAML, ERR_NOMEM when memory runs out; `out` is then left unchanged. */
int secret_mask_yaml(const char *data, size_t len, struct buf *out, struct cpactl_error *err);

/* 1 when the value of mapping key `key` is a secret: cpa_key_is_secret(), or
 * a name ending in one of the secret words (`management-password`,
 * `git_token`, `client-secret` ...). */
int secret_mask_key_is_secret(const char *key);

/* Every secret value of a parsed config.yaml (values under secret keys), for
 * redaction.  A new array. */
json_t *secret_values_of(json_t *config);

/* The secret values of an env-file proxy, for redaction: the values of the
 * secret variables (env_name_is_secret) of the container's Env and of the
 * env file's text (may be empty).  A new array. */
json_t *env_secret_values(json_t *inspect, const struct buf *env_file);

/* The credentials of the auth files in host directory `dir` (*.json,
 * regular files, up to AUTH_FILE_SECRET_MAX bytes each): every string of
 * AUTH_SECRET_MIN characters or more under a key naming a token, secret,
 * key, password, cookie or session, for redaction from quoted log lines (a
 * provider's error answer can carry one into CPA's debug log).  A new
 * array, empty when the dir cannot be read. */
#define AUTH_SECRET_MIN 8
#define AUTH_FILE_SECRET_MAX (1024 * 1024)
json_t *auth_secret_values(const char *dir);

/* Replaces each occurrence of each string of `secrets` in text by "***". */
void redact_secrets(char *text, json_t *secrets);

#endif
