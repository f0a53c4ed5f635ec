#ifndef BROKER_PRIVDROP_H
#define BROKER_PRIVDROP_H

#include <sys/types.h>

/**
 * priv_drop(user, uid, gid):
 * Become ${uid}:${gid} (no supplementary groups) for good, and check with
 * getresuid/getresgid that every id changed and that root cannot be
 * regained.  Return 0, or -1 after logging why.
 */
int priv_drop(const char *user, uid_t uid, gid_t gid);

/**
 * priv_check_dir(path):
 * Refuse (-1, logged) a directory for the Unix socket that others may
 * write without the sticky bit: they could replace the socket.
 */
int priv_check_socket_dir(const char *socket_path);

#endif
