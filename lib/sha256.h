/*
 * sha256.h - SHA-256 through OpenSSL's libcrypto, streamed.
 *
 * Every hash cpactl records (snapshot parts, image blobs, auth files) is a
 * lower-case hex SHA-256; this is the one place that computes them.
 */
#ifndef CPACTL_SHA256_H
#define CPACTL_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define SHA256_HEX_LEN 64

struct sha256 {
	void *ctx;            /* EVP_MD_CTX, owned */
	uint64_t bytes;       /* bytes hashed so far */
};

int sha256_init(struct sha256 *h, struct cpactl_error *err);
void sha256_update(struct sha256 *h, const void *data, size_t len);
/* Writes 64 hex digits and a NUL into hex[65] and frees the context. */
void sha256_final(struct sha256 *h, char hex[SHA256_HEX_LEN + 1]);
void sha256_release(struct sha256 *h);

/* Hashes a whole file; *size receives its length. */
int sha256_file(const char *path, char hex[SHA256_HEX_LEN + 1], uint64_t *size,
		struct cpactl_error *err);
int sha256_buffer(const void *data, size_t len, char hex[SHA256_HEX_LEN + 1],
		  struct cpactl_error *err);

#endif
