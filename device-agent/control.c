#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "state.h"

static int
control_addr(const char *dir, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (state_path(sun->sun_path, sizeof(sun->sun_path), dir,
	    CONTROL_SOCKET)) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	return (0);
}

int
control_listen(const char *dir)
{
	struct sockaddr_un sun;
	mode_t old;
	int fd, saved;

	if (control_addr(dir, &sun))
		return (-1);
	(void)unlink(sun.sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return (-1);
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) || listen(fd, 8)) {
		saved = errno;
		umask(old);
		close(fd);
		errno = saved;
		return (-1);
	}
	umask(old);
	return (fd);
}

int
control_peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return (0);
	return (cred.uid == 0 || cred.uid == geteuid());
}

int
control_ask(const char *dir, const char *cmd, char *reply, size_t cap,
    int timeout_ms)
{
	struct sockaddr_un sun;
	struct pollfd pfd;
	size_t have = 0, len = strlen(cmd);
	char line[CONTROL_LINE_MAX];
	ssize_t n;
	char *nl;
	int fd, saved;

	if (cap == 0 || control_addr(dir, &sun))
		return (-1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return (-1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)))
		goto fail;
	/* One send: the agent acts on the first read and closes, so a
	 * newline sent on its own could meet a closed socket (EPIPE). */
	if (len + 1 >= sizeof(line)) {
		errno = EINVAL;
		goto fail;
	}
	memcpy(line, cmd, len);
	line[len] = '\n';
	if (send(fd, line, len + 1, MSG_NOSIGNAL) != (ssize_t)(len + 1))
		goto fail;
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (have + 1 < cap) {
		n = poll(&pfd, 1, timeout_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0) {
			errno = ETIMEDOUT;
			goto fail;
		}
		if (n < 0)
			goto fail;
		n = read(fd, reply + have, cap - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		reply[have] = '\0';
		if ((nl = strchr(reply, '\n')) != NULL) {
			*nl = '\0';
			close(fd);
			return (0);
		}
	}
	errno = EPROTO;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return (-1);
}
