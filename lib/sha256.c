/*
 * sha256.c - see sha256.h.
 */
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <unistd.h>

int sha256_init(struct sha256 *h, struct cpactl_error *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	h->ctx = NULL;
	h->bytes = 0;
	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return error_set(err, ERR_FAILED, "cannot initialise SHA-256 (libcrypto)");
	}
	h->ctx = ctx;
	return 0;
}

void sha256_update(struct sha256 *h, const void *data, size_t len)
{
	if (len)
		EVP_DigestUpdate(h->ctx, data, len);
	h->bytes += len;
}

void sha256_final(struct sha256 *h, char hex[SHA256_HEX_LEN + 1])
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	EVP_DigestFinal_ex(h->ctx, digest, &n);
	for (unsigned int i = 0; i < n && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	hex[SHA256_HEX_LEN] = '\0';
	sha256_release(h);
}

void sha256_release(struct sha256 *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

int sha256_file(const char *path, char hex[SHA256_HEX_LEN + 1], uint64_t *size,
		struct cpactl_error *err)
{
	struct sha256 h;
	char chunk[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return error_set_errno(err, errno, ERR_IO, "cannot read '%s'", path);
	if (sha256_init(&h, err) < 0) {
		close(fd);
		return -1;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		sha256_update(&h, chunk, (size_t)n);
	if (n < 0) {
		int e = errno;
		sha256_release(&h);
		close(fd);
		return error_set_errno(err, e, ERR_IO, "cannot read '%s'", path);
	}
	close(fd);
	if (size)
		*size = h.bytes;
	sha256_final(&h, hex);
	return 0;
}

int sha256_buffer(const void *data, size_t len, char hex[SHA256_HEX_LEN + 1],
		  struct cpactl_error *err)
{
	struct sha256 h;

	if (sha256_init(&h, err) < 0)
		return -1;
	sha256_update(&h, data, len);
	sha256_final(&h, hex);
	return 0;
}
