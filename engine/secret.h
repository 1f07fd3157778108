/* secret: the server key, and what coco derives from it. The key is read from a file named
 * "coco-key" in [Secrets] Directory= or, under systemd, in $CREDENTIALS_DIRECTORY
 * (LoadCredential=coco-key:/etc/coco/secrets/coco-key). It never reaches a log or the store.
 * From it come the reply tags (who answers which round, unforgeable) and the pseudonyms of
 * anonymous rounds. */
#pragma once

#include <nettle/hmac.h>
#include <stdbool.h>
#include <stddef.h>

#define SECRET_KEY_NAME "coco-key"
#define SECRET_TAG_LEN 16    /* base32 characters of a reply tag */
#define SECRET_PSEUDO_LEN 16 /* hex characters of a pseudonym */

typedef struct secret {
	unsigned char key[64];
	size_t len;
	/* The key's HMAC schedule (the keyed inner and outer hash states), made once by
	 * secret_load(): each tag then hashes only its message. A secret filled in by hand
	 * (keyed false) has each HMAC key itself, with the same result. */
	bool keyed;
	struct hmac_sha256_ctx keyed_ctx;
} secret;

/* dir NULL: $CREDENTIALS_DIRECTORY. -ENOENT with a helpful log line if there is no key;
 * -EINVAL if it is shorter than 16 bytes or group/world-readable outside credentials. */
int secret_load(const char *dir, secret *ret);
/* A text secret a channel needs (an SMTP password, a Slack token) from the file `name` in
 * dir (NULL: $CREDENTIALS_DIRECTORY), its trailing newline dropped; malloc'd, to be freed
 * with secret_free_text(). -ENOENT, -EINVAL (empty, binary, a name with '/'), -errno;
 * logged without the value. */
int secret_read_credential(const char *dir, const char *name, char **ret);
/* Wipes and frees a secret text. Accepts NULL. */
void secret_free_text(char *s);
/* Writes a new random key file (0600, O_EXCL). */
int secret_generate(const char *path);

/* HMAC-SHA256(key, "tag\0" a "/" b "/" c) as lower-case base32, SECRET_TAG_LEN chars + NUL. */
void secret_tag(const secret *k, const char *a, const char *b, const char *c,
                char ret[SECRET_TAG_LEN + 1]);
/* HMAC-SHA256(key, "pseudo\0" campaign "/" member) as hex, SECRET_PSEUDO_LEN chars + NUL. */
void secret_pseudonym(const secret *k, const char *campaign, const char *member,
                      char ret[SECRET_PSEUDO_LEN + 1]);
