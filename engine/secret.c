/* secret: see secret.h. */
#define _GNU_SOURCE
#include "secret.h"

#include <fcntl.h>
#include <nettle/hmac.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

int secret_load(const char *dir, secret *ret)
{
	const char *d = dir ? dir : getenv("CREDENTIALS_DIRECTORY");
	if (!d) {
		log_error("no secret key: set [Secrets] Directory= in coco.conf or pass the "
		          "credential %s (LoadCredential=%s:/etc/coco/secrets/%s); create one with "
		          "`cococtl keygen /etc/coco/secrets/%s`",
		          SECRET_KEY_NAME, SECRET_KEY_NAME, SECRET_KEY_NAME, SECRET_KEY_NAME);
		return -ENOENT;
	}
	_cleanup_free_ char *path = xasprintf("%s/%s", d, SECRET_KEY_NAME);
	_cleanup_free_ char *data = NULL;
	size_t len;
	int r = read_file(path, 4096, &data, &len);
	if (r < 0)
		return log_error_errno(r, "cannot read the secret key %s: %m (create one with "
		                          "`cococtl keygen %s`)", path, path);
	struct stat st;
	if (stat(path, &st) == 0 && (st.st_mode & 0077) && !getenv("CREDENTIALS_DIRECTORY"))
		log_warning("secret key %s is readable by group or others: chmod 600 it", path);
	/* Text keys (hex from keygen) and binary keys both work: trailing newline dropped. */
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		len--;
	if (len < 16) {
		log_error("secret key %s is too short (%zu bytes, at least 16)", path, len);
		return -EINVAL;
	}
	secret k = {0};
	k.len = len > sizeof k.key ? sizeof k.key : len;
	memcpy(k.key, data, k.len);
	OPENSSL_cleanse(data, len);
	hmac_sha256_set_key(&k.keyed_ctx, k.len, k.key);
	k.keyed = true;
	*ret = k;
	OPENSSL_cleanse(&k, sizeof k);
	return 0;
}

int secret_read_credential(const char *dir, const char *name, char **ret)
{
	const char *d = dir ? dir : getenv("CREDENTIALS_DIRECTORY");
	if (!name || !*name || strchr(name, '/') || name[0] == '.')
		return -EINVAL;
	if (!d) {
		log_error("no secret %s: set [Secrets] Directory= in coco.conf or pass the "
		          "credential (LoadCredential=%s:/etc/coco/secrets/%s)", name, name, name);
		return -ENOENT;
	}
	_cleanup_free_ char *path = xasprintf("%s/%s", d, name);
	char *data = NULL;
	size_t len;
	int r = read_file(path, 4096, &data, &len);
	if (r < 0)
		return log_error_errno(r, "cannot read the secret %s: %m", path);
	struct stat st;
	if (stat(path, &st) == 0 && (st.st_mode & 0077) && !getenv("CREDENTIALS_DIRECTORY"))
		log_warning("secret %s is readable by group or others: chmod 600 it", path);
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		data[--len] = 0;
	if (len == 0 || memchr(data, 0, len)) {
		OPENSSL_cleanse(data, len);
		free(data);
		log_error("secret %s is empty or not text", path);
		return -EINVAL;
	}
	*ret = data;
	return 0;
}

void secret_free_text(char *s)
{
	if (!s)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

int secret_generate(const char *path)
{
	unsigned char raw[32];
	if (RAND_bytes(raw, sizeof raw) != 1)
		return -EIO;
	char hex[sizeof raw * 2 + 2];
	for (size_t i = 0; i < sizeof raw; i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	strcat(hex, "\n");
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	size_t n = strlen(hex);
	if (write(fd, hex, n) != (ssize_t)n || fsync(fd) < 0)
		return -errno;
	OPENSSL_cleanse(raw, sizeof raw);
	return 0;
}

static void hmac_put(struct hmac_sha256_ctx *ctx, const char *s, size_t len)
{
	hmac_sha256_update(ctx, len, (const uint8_t *)s);
}

static void hmac(const secret *k, const char *label, const char *a, const char *b, const char *c,
                 unsigned char out[32])
{
	/* Nettle, not OpenSSL: the same HMAC-SHA256, but OpenSSL's first HMAC() loads its
	 * configuration and providers, some 2 MiB of resident pages for a daemon that needs
	 * nothing else of it (docs/performance.md). Nettle is mapped already (GnuTLS). */
	struct hmac_sha256_ctx ctx;
	if (k->keyed)
		ctx = k->keyed_ctx; /* the key's schedule, made once (two SHA-256 blocks less) */
	else
		hmac_sha256_set_key(&ctx, k->len, k->key);
	/* The message, label "\0" a "/" b ["/" c], hashed piece by piece: no buffer. */
	hmac_put(&ctx, label, strlen(label) + 1);
	hmac_put(&ctx, a, strlen(a));
	hmac_put(&ctx, "/", 1);
	hmac_put(&ctx, b, strlen(b));
	if (c) {
		hmac_put(&ctx, "/", 1);
		hmac_put(&ctx, c, strlen(c));
	}
	hmac_sha256_digest(&ctx, SHA256_DIGEST_SIZE, out);
	OPENSSL_cleanse(&ctx, sizeof ctx);
}

void secret_tag(const secret *k, const char *a, const char *b, const char *c,
                char ret[SECRET_TAG_LEN + 1])
{
	static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
	unsigned char mac[32];
	hmac(k, "tag", a, b, c, mac);
	/* 16 base32 characters = 80 bits: case-insensitive, safe in an email local part. */
	for (size_t i = 0; i < SECRET_TAG_LEN; i++) {
		size_t bit = i * 5, byte = bit / 8, shift = bit % 8;
		unsigned v = ((unsigned)mac[byte] << 8 | mac[byte + 1]) >> (11 - shift);
		ret[i] = b32[v & 31];
	}
	ret[SECRET_TAG_LEN] = 0;
}

void secret_pseudonym(const secret *k, const char *campaign, const char *member,
                      char ret[SECRET_PSEUDO_LEN + 1])
{
	unsigned char mac[32];
	hmac(k, "pseudo", campaign, member, NULL, mac);
	for (size_t i = 0; i < SECRET_PSEUDO_LEN / 2; i++)
		snprintf(ret + 2 * i, 3, "%02x", mac[i]);
	ret[SECRET_PSEUDO_LEN] = 0;
}
