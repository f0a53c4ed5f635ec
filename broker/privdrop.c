/*
 * Privileges: the broker never serves as root.  Started as root it must be
 * told a user (--user); it binds its sockets, reads its key, then drops to
 * that user for good before it opens the database or accepts anyone.
 */
#define _GNU_SOURCE
#include <sys/stat.h>

#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "privdrop.h"

int
priv_drop(const char *user, uid_t uid, gid_t gid)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (setgroups(0, NULL) || setresgid(gid, gid, gid) ||
	    setresuid(uid, uid, uid)) {
		log_error_ev("start.privdrop_failed", "cannot drop privileges to %s: %s", user,
		    strerror(errno));
		return (-1);
	}
	if (getresuid(&ru, &eu, &su) || getresgid(&rg, &eg, &sg) ||
	    ru != uid || eu != uid || su != uid ||
	    rg != gid || eg != gid || sg != gid) {
		log_error_ev("start.privdrop_failed", "privileges were not dropped to %s", user);
		return (-1);
	}
	/* Root must be gone for good. */
	if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		log_error_ev("start.privdrop_failed", "could regain root after dropping to %s", user);
		return (-1);
	}
	log_info_ev("start.user", "running as user %s", user);
	return (0);
}

int
priv_check_socket_dir(const char *socket_path)
{
	char copy[PATH_MAX];
	struct stat st;
	const char *dir;

	if (strlen(socket_path) >= sizeof(copy))
		return (-1);
	strcpy(copy, socket_path);
	dir = dirname(copy);
	if (stat(dir, &st)) {
		log_error_ev("start.socket_dir", "socket directory %s: %s", dir, strerror(errno));
		return (-1);
	}
	if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX)) {
		log_error_ev("start.socket_dir", "socket directory %s is writable by others without "
		    "the sticky bit: anyone could replace the socket", dir);
		return (-1);
	}
	return (0);
}
