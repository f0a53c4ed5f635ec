#ifndef AWTRIX_KEYFILE_H
#define AWTRIX_KEYFILE_H

/*
 * Key files.  Both are small binary files, mode 0600, created with O_EXCL and
 * O_NOFOLLOW and refused when group- or world-accessible:
 *
 *   broker key  "AWTRIXB1" | X25519 secret (32) | public (32) | hash key (32)
 *   device key  "AWTRIXD1" | X25519 secret (32) | public (32)
 *
 * The loader checks the exact size, the magic and that the public key is the
 * secret key's, so a truncated or foreign file is refused with a clear reason.
 */

#include <stddef.h>
#include <stdint.h>

#define KEY_LEN 32
#define KEY_B64_LEN 44		/* standard base64 of 32 bytes */

struct broker_key {
	uint8_t sk[KEY_LEN];
	uint8_t pk[KEY_LEN];
	uint8_t hash_key[KEY_LEN];
};

struct device_key {
	uint8_t sk[KEY_LEN];
	uint8_t pk[KEY_LEN];
};

/**
 * broker_key_generate(k) / device_key_generate(k):
 * Fill ${k} with fresh random keys.
 */
void broker_key_generate(struct broker_key *k);
void device_key_generate(struct device_key *k);

/**
 * broker_key_save(path, k) / device_key_save(path, k):
 * Create ${path} (mode 0600, refusing to overwrite or follow a symlink) and
 * write the key to it.  Return 0, or -1 with errno set.
 */
int broker_key_save(const char *path, const struct broker_key *k);
int device_key_save(const char *path, const struct device_key *k);

/**
 * broker_key_load(path, k, why) / device_key_load(path, k, why):
 * Read and check the key file at ${path}.  Return 0, or -1 with ${why}
 * pointing to a static reason (errno is set when the reason is a system
 * error).
 */
int broker_key_load(const char *path, struct broker_key *k, const char **why);
int device_key_load(const char *path, struct device_key *k, const char **why);

/**
 * key_to_base64(pk, out):
 * Write the standard base64 of a 32-byte public key and a NUL to ${out}.
 */
void key_to_base64(const uint8_t pk[KEY_LEN], char out[KEY_B64_LEN + 1]);

/**
 * key_from_base64(s, pk):
 * Parse a 44-character standard base64 public key.  Return 0 or -1.
 */
int key_from_base64(const char *s, uint8_t pk[KEY_LEN]);

/**
 * file_write_private(path, data, len, exclusive):
 * Write ${data} to ${path} with mode 0600 via a temporary file, fsync and
 * rename, so that a reader sees the old or the new content, never a mix.
 * With ${exclusive}, refuse if ${path} exists.  Return 0 or -1 with errno.
 */
int file_write_private(const char *path, const void *data, size_t len,
    int exclusive);

/**
 * file_read_private(path, buf, cap, len, why):
 * Read at most ${cap} bytes of the regular file ${path}, refusing symlinks
 * and files accessible by group or others.  Store the size in ${len}.  A
 * file larger than ${cap} is refused.  Return 0 or -1 with ${why} set.
 */
int file_read_private(const char *path, void *buf, size_t cap, size_t *len,
    const char **why);

#endif
