#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "linkmsg.h"
#include "public_url.h"
#include "state.h"

int
state_path(char *buf, size_t cap, const char *dir, const char *name)
{
	int n = snprintf(buf, cap, "%s/%s", dir, name);

	return (n < 0 || (size_t)n >= cap ? -1 : 0);
}

static int
state_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (mkdir(dir, 0700) == 0)
		return (0);
	if (errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", dir,
		    strerror(errno));
		return (-1);
	}
	/* stat, not lstat: systemd's StateDirectory= with DynamicUser= is a
	 * symbolic link to private/; files inside are opened O_NOFOLLOW. */
	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s is not a directory", dir);
		return (-1);
	}
	if (st.st_mode & 022) {
		snprintf(err, errlen, "%s is writable by group or others "
		    "(chmod 700 it)", dir);
		return (-1);
	}
	return (0);
}

int
state_token_read(const char *dir, char out[TOKEN_LEN + 1], char *err,
    size_t errlen)
{
	char path[STATE_PATH_MAX], buf[TOKEN_LEN + 2];
	const char *why;
	size_t len;

	if (state_path(path, sizeof(path), dir, "token")) {
		snprintf(err, errlen, "state directory path too long");
		return (-1);
	}
	if (file_read_private(path, buf, sizeof(buf), &len, &why)) {
		snprintf(err, errlen, "%s %s", path, why);
		return (-1);
	}
	if (len == TOKEN_LEN + 1 && buf[TOKEN_LEN] == '\n')
		len--;
	if (!token_valid(buf, len)) {
		snprintf(err, errlen, "%s does not hold a token (32 characters "
		    "of A-Z, a-z, 0-9 on one line)", path);
		sodium_memzero(buf, sizeof(buf));
		return (-1);
	}
	memcpy(out, buf, TOKEN_LEN);
	out[TOKEN_LEN] = '\0';
	sodium_memzero(buf, sizeof(buf));
	return (0);
}

int
state_token_write(const char *dir, const char token[TOKEN_LEN])
{
	char path[STATE_PATH_MAX], line[TOKEN_LEN + 1];
	int rc;

	if (state_path(path, sizeof(path), dir, "token")) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	memcpy(line, token, TOKEN_LEN);
	line[TOKEN_LEN] = '\n';
	rc = file_write_private(path, line, sizeof(line), 0);
	sodium_memzero(line, sizeof(line));
	return (rc);
}

int
state_lock(const char *dir, char *err, size_t errlen)
{
	char path[STATE_PATH_MAX];
	int fd;

	if (state_path(path, sizeof(path), dir, STATE_LOCK)) {
		snprintf(err, errlen, "state directory path too long");
		return (-1);
	}
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path,
		    strerror(errno));
		return (-1);
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return (fd);
	if (errno == EWOULDBLOCK)
		snprintf(err, errlen, "another awtrix-agent (or awtrix-token) "
		    "is using %s: stop it first; two agents on one state "
		    "directory would replace each other at the broker", dir);
	else
		snprintf(err, errlen, "cannot lock %s: %s", path,
		    strerror(errno));
	close(fd);
	return (-1);
}

int
state_agent_running(const char *dir)
{
	char path[STATE_PATH_MAX];
	int fd, rc;

	if (state_path(path, sizeof(path), dir, STATE_LOCK))
		return (-1);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return (errno == ENOENT ? 0 : -1);
	if (flock(fd, LOCK_SH | LOCK_NB) == 0)
		rc = 0;
	else
		rc = errno == EWOULDBLOCK ? 1 : -1;
	close(fd);
	return (rc);
}

int
state_open(const char *dir, struct agent_state *st, char *err, size_t errlen)
{
	char path[STATE_PATH_MAX];
	const char *why;

	memset(st, 0, sizeof(*st));
	st->lock_fd = -1;
	if (strlen(dir) >= sizeof(st->dir) - 32) {
		snprintf(err, errlen, "state directory path too long");
		return (-1);
	}
	strcpy(st->dir, dir);
	if (state_dir(dir, err, errlen))
		return (-1);
	/* Held until the process exits: one agent per directory, so only
	 * the holder ever creates or removes the control socket. */
	if ((st->lock_fd = state_lock(dir, err, errlen)) < 0)
		return (-1);

	state_path(path, sizeof(path), dir, "device.key");
	if (access(path, F_OK) != 0 && errno == ENOENT) {
		device_key_generate(&st->key);
		if (device_key_save(path, &st->key)) {
			snprintf(err, errlen, "cannot create %s: %s", path,
			    strerror(errno));
			return (-1);
		}
	} else if (device_key_load(path, &st->key, &why)) {
		snprintf(err, errlen, "%s %s", path, why);
		return (-1);
	}

	state_path(path, sizeof(path), dir, "token");
	if (access(path, F_OK) != 0 && errno == ENOENT) {
		token_generate(st->token);
		if (state_token_write(dir, st->token)) {
			snprintf(err, errlen, "cannot create %s: %s", path,
			    strerror(errno));
			return (-1);
		}
		return (0);
	}
	return (state_token_read(dir, st->token, err, errlen));
}

/**
 * state_url_valid(url, len):
 * Return 1 if the public URL ${url} told by a broker may be stored and
 * printed: 1..LINKMSG_URL_MAX bytes of printable ASCII without spaces,
 * https://HOST... (or http:// for a loopback HOST).  Else 0.
 */
int
state_url_valid(const char *url, size_t len)
{
	const char *why;

	/* The broker checks its --public-url with the same rules. */
	return (public_url_check(url, len, &why) == 0);
}

int
state_url_write(const char *dir, const char *url, size_t len)
{
	char path[STATE_PATH_MAX], buf[1024];

	if (!state_url_valid(url, len) || len + 1 > sizeof(buf) ||
	    state_path(path, sizeof(path), dir, "public-url"))
		return (-1);
	memcpy(buf, url, len);
	buf[len] = '\n';
	return (file_write_private(path, buf, len + 1, 0));
}

int
state_url_read(const char *dir, char *buf, size_t cap)
{
	char path[STATE_PATH_MAX];
	const char *why;
	size_t len;

	if (cap < 2 || state_path(path, sizeof(path), dir, "public-url") ||
	    file_read_private(path, buf, cap - 1, &len, &why))
		return (-1);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	buf[len] = '\0';
	/* Whoever could write the file, nothing unprintable is printed. */
	return (state_url_valid(buf, len) ? 0 : -1);
}
