#ifndef AGENT_CONTROL_H
#define AGENT_CONTROL_H

/*
 * The control socket in the state directory: awtrix-token asks the running
 * agent to do what only it can do while connected.  One line each way:
 *
 *   status      -> "connected" | "disconnected"
 *   clock       -> "reachable [VERSION]" | "unreachable [VERSION]" |
 *                  "unknown" (the clock's health as last seen; VERSION
 *                  is its firmware's, from /api/stats, if known)
 *   regenerate  -> "rotated" | "offline" | "refused <reason>"
 *
 * Only the agent's own user (or root) may connect (SO_PEERCRED).
 */

#include <stddef.h>

#define CONTROL_SOCKET "control.sock"
#define CONTROL_LINE_MAX 256

/**
 * control_listen(dir):
 * Create the control socket in ${dir} (mode 0600, replacing a stale one),
 * non-blocking.  Return the socket or -1 with errno set.
 */
int control_listen(const char *dir);

/**
 * control_ask(dir, cmd, reply, cap, timeout_ms):
 * Send the line ${cmd} to the agent running on ${dir} and read its one-line
 * answer into ${reply} (without the newline).  Return 0; -1 with errno
 * ENOENT or ECONNREFUSED when no agent runs; -1 with ETIMEDOUT or another
 * errno on failure.
 */
int control_ask(const char *dir, const char *cmd, char *reply, size_t cap,
    int timeout_ms);

/**
 * control_peer_allowed(fd):
 * Return 1 if the peer of ${fd} is root or our effective user.
 */
int control_peer_allowed(int fd);

#endif
