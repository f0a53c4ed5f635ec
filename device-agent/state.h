#ifndef AGENT_STATE_H
#define AGENT_STATE_H

/*
 * The agent's state directory (mode 0700), shared by awtrix-agent and
 * awtrix-token:
 *
 *   device.key    the device's static X25519 key pair (0600)
 *   token         the token, one line (0600)
 *   public-url    the broker's https URL of /cloud, as told at registration
 *   control.sock  the running agent's control socket (0600)
 *   agent.lock    flock(2)ed by the running agent (and briefly by
 *                 awtrix-token writing the token while no agent runs)
 *
 * The token is bound to the device key: moving an agent means copying the
 * whole directory.
 */

#include <stddef.h>

#include "keyfile.h"
#include "token.h"

#define STATE_PATH_MAX 4096
#define STATE_LOCK "agent.lock"

struct agent_state {
	char dir[STATE_PATH_MAX];
	struct device_key key;
	char token[TOKEN_LEN + 1];
	int lock_fd;			/* STATE_LOCK, held while running */
};

/**
 * state_path(buf, cap, dir, name):
 * Write "${dir}/${name}" into ${buf}.  Return 0, or -1 if it does not fit.
 */
int state_path(char *buf, size_t cap, const char *dir, const char *name);

/**
 * state_lock(dir, err, errlen):
 * Take the exclusive lock of ${dir} without waiting.  Return its file
 * descriptor (the lock lasts until it is closed), or -1 with a message in
 * ${err}, which says so when another process holds it.
 */
int state_lock(const char *dir, char *err, size_t errlen);

/**
 * state_agent_running(dir):
 * Return 1 if another process holds the lock of ${dir}, 0 if none does,
 * -1 if that cannot be told (errno).
 */
int state_agent_running(const char *dir);

/**
 * state_open(dir, st, err, errlen):
 * Create ${dir} (0700) if missing and refuse it if others can write it;
 * take its lock (state_lock); load device.key and token, generating either
 * when missing.  Return 0, or -1 with a message in ${err}.
 */
int state_open(const char *dir, struct agent_state *st, char *err,
    size_t errlen);

/**
 * state_token_read(dir, out, err, errlen):
 * Read and check the token file.  Return 0 or -1 with a message in ${err}.
 */
int state_token_read(const char *dir, char out[TOKEN_LEN + 1], char *err,
    size_t errlen);

/**
 * state_token_write(dir, token):
 * Replace the token file atomically (mode 0600).  Return 0 or -1 (errno).
 */
int state_token_write(const char *dir, const char token[TOKEN_LEN]);

/**
 * state_url_valid(url, len):
 * Return 1 if the public URL ${url} told by a broker may be stored and
 * printed: 1..LINKMSG_URL_MAX bytes of printable ASCII without spaces,
 * https://HOST... (or http:// for a loopback HOST).  Else 0.
 */
int state_url_valid(const char *url, size_t len);

/**
 * state_url_write(dir, url, len):
 * Store the public URL told by the broker.  Return 0 or -1.
 */
int state_url_write(const char *dir, const char *url, size_t len);

/**
 * state_url_read(dir, buf, cap):
 * Read the stored public URL into ${buf} (NUL-terminated).  Return 0, or
 * -1 if there is none.
 */
int state_url_read(const char *dir, char *buf, size_t cap);

#endif
