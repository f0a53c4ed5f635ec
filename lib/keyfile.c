#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "keyfile.h"

#define MAGIC_LEN 8
static const char broker_magic[MAGIC_LEN] = "AWTRIXB1";
static const char device_magic[MAGIC_LEN] = "AWTRIXD1";

#define BROKER_FILE_LEN (MAGIC_LEN + 3 * KEY_LEN)
#define DEVICE_FILE_LEN (MAGIC_LEN + 2 * KEY_LEN)

static void
keypair_generate(uint8_t sk[KEY_LEN], uint8_t pk[KEY_LEN])
{
	randombytes_buf(sk, KEY_LEN);
	crypto_scalarmult_base(pk, sk);
}

void
broker_key_generate(struct broker_key *k)
{
	keypair_generate(k->sk, k->pk);
	randombytes_buf(k->hash_key, KEY_LEN);
}

void
device_key_generate(struct device_key *k)
{
	keypair_generate(k->sk, k->pk);
}

static int
write_all(int fd, const void *p, size_t len)
{
	const uint8_t *q = p;
	ssize_t n;

	while (len > 0) {
		n = write(fd, q, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return (-1);
		q += n;
		len -= (size_t)n;
	}
	return (0);
}

int
file_write_private(const char *path, const void *data, size_t len,
    int exclusive)
{
	char tmp[4096];
	int fd, saved;

	if (exclusive && access(path, F_OK) == 0) {
		errno = EEXIST;
		return (-1);
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0)
		return (-1);
	if (write_all(fd, data, len) || fsync(fd))
		goto fail;
	if (close(fd)) {
		fd = -1;
		goto fail;
	}
	/* link(2) cannot replace: it keeps the exclusive promise atomically. */
	if (exclusive) {
		if (link(tmp, path))
			goto fail_unlink;
		(void)unlink(tmp);
	} else if (rename(tmp, path))
		goto fail_unlink;
	return (0);

fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	errno = saved;
fail_unlink:
	saved = errno;
	(void)unlink(tmp);
	errno = saved;
	return (-1);
}

int
file_read_private(const char *path, void *buf, size_t cap, size_t *len,
    const char **why)
{
	struct stat st;
	ssize_t n;
	size_t have = 0;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		*why = (errno == ENOENT ? "does not exist" :
		    errno == ELOOP ? "is a symbolic link" : strerror(errno));
		return (-1);
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		*why = "is not a regular file";
		goto fail;
	}
	if (st.st_mode & 077) {
		*why = "is accessible by group or others (chmod 600 it)";
		goto fail;
	}
	if ((size_t)st.st_size > cap) {
		*why = "has the wrong size";
		goto fail;
	}
	while (have < cap) {
		n = read(fd, (uint8_t *)buf + have, cap - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*why = strerror(errno);
			goto fail;
		}
		if (n == 0)
			break;
		have += (size_t)n;
	}
	close(fd);
	*len = have;
	return (0);

fail:
	close(fd);
	return (-1);
}

/*
 * Whether ${path} exists with ${len} bytes starting with ${magic}, read
 * whatever its mode: only to word an error.
 */
static int
key_file_looks_right(const char *path, const char magic[MAGIC_LEN],
    size_t len)
{
	char head[MAGIC_LEN];
	struct stat st;
	int fd, ok;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return (1);	/* the reason already given is the right one */
	ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (size_t)st.st_size == len &&
	    read(fd, head, MAGIC_LEN) == MAGIC_LEN &&
	    memcmp(head, magic, MAGIC_LEN) == 0;
	close(fd);
	return (ok);
}

/* Load a key file of exactly ${len} bytes starting with ${magic}. */
static int
key_load(const char *path, const char magic[MAGIC_LEN], uint8_t *out,
    size_t len, const char **why)
{
	uint8_t buf[BROKER_FILE_LEN + 1];
	uint8_t pk[KEY_LEN];
	size_t got;

	if (file_read_private(path, buf, len, &got, why)) {
		/* A wrong path is likelier than a loose mode: say first
		 * whether the file is a key file at all. */
		if (!key_file_looks_right(path, magic, len))
			*why = "is not a key file of this kind";
		return (-1);
	}
	if (got != len) {
		*why = "has the wrong size";
		goto fail;
	}
	if (memcmp(buf, magic, MAGIC_LEN) != 0) {
		*why = "is not a key file of this kind";
		goto fail;
	}
	crypto_scalarmult_base(pk, buf + MAGIC_LEN);
	if (sodium_memcmp(pk, buf + MAGIC_LEN + KEY_LEN, KEY_LEN) != 0) {
		*why = "holds a public key that does not match its secret key";
		goto fail;
	}
	memcpy(out, buf + MAGIC_LEN, len - MAGIC_LEN);
	sodium_memzero(buf, sizeof(buf));
	return (0);

fail:
	sodium_memzero(buf, sizeof(buf));
	return (-1);
}

int
broker_key_load(const char *path, struct broker_key *k, const char **why)
{
	uint8_t raw[3 * KEY_LEN];

	if (key_load(path, broker_magic, raw, BROKER_FILE_LEN, why))
		return (-1);
	memcpy(k->sk, raw, KEY_LEN);
	memcpy(k->pk, raw + KEY_LEN, KEY_LEN);
	memcpy(k->hash_key, raw + 2 * KEY_LEN, KEY_LEN);
	sodium_memzero(raw, sizeof(raw));
	return (0);
}

int
device_key_load(const char *path, struct device_key *k, const char **why)
{
	uint8_t raw[2 * KEY_LEN];

	if (key_load(path, device_magic, raw, DEVICE_FILE_LEN, why))
		return (-1);
	memcpy(k->sk, raw, KEY_LEN);
	memcpy(k->pk, raw + KEY_LEN, KEY_LEN);
	sodium_memzero(raw, sizeof(raw));
	return (0);
}

int
broker_key_save(const char *path, const struct broker_key *k)
{
	uint8_t buf[BROKER_FILE_LEN];
	int rc;

	memcpy(buf, broker_magic, MAGIC_LEN);
	memcpy(buf + MAGIC_LEN, k->sk, KEY_LEN);
	memcpy(buf + MAGIC_LEN + KEY_LEN, k->pk, KEY_LEN);
	memcpy(buf + MAGIC_LEN + 2 * KEY_LEN, k->hash_key, KEY_LEN);
	rc = file_write_private(path, buf, sizeof(buf), 1);
	sodium_memzero(buf, sizeof(buf));
	return (rc);
}

int
device_key_save(const char *path, const struct device_key *k)
{
	uint8_t buf[DEVICE_FILE_LEN];
	int rc;

	memcpy(buf, device_magic, MAGIC_LEN);
	memcpy(buf + MAGIC_LEN, k->sk, KEY_LEN);
	memcpy(buf + MAGIC_LEN + KEY_LEN, k->pk, KEY_LEN);
	rc = file_write_private(path, buf, sizeof(buf), 1);
	sodium_memzero(buf, sizeof(buf));
	return (rc);
}

void
key_to_base64(const uint8_t pk[KEY_LEN], char out[KEY_B64_LEN + 1])
{
	sodium_bin2base64(out, KEY_B64_LEN + 1, pk, KEY_LEN,
	    sodium_base64_VARIANT_ORIGINAL);
}

int
key_from_base64(const char *s, uint8_t pk[KEY_LEN])
{
	size_t len;
	const char *end;

	if (s == NULL || strlen(s) != KEY_B64_LEN)
		return (-1);
	if (sodium_base642bin(pk, KEY_LEN, s, KEY_B64_LEN, NULL, &len, &end,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || len != KEY_LEN ||
	    *end != '\0')
		return (-1);
	return (0);
}
