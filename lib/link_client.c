/*
 * The agent's side of the handshake, blocking with one deadline: the agent
 * has a single link, and nothing else to do until it is up.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "link_client.h"
#include "linkmsg.h"
#include "net.h"

static int
wait_fd(int fd, short events, uint64_t deadline)
{
	struct pollfd pfd;
	uint64_t now;
	int rc;

	pfd.fd = fd;
	pfd.events = events;
	for (;;) {
		now = net_now_ms();
		if (now >= deadline) {
			errno = ETIMEDOUT;
			return (-1);
		}
		rc = poll(&pfd, 1, (int)(deadline - now));
		if (rc > 0)
			return (0);
		if (rc < 0 && errno != EINTR)
			return (-1);
	}
}

static int
connect_to(const char *spec, uint64_t deadline, const char **why)
{
	struct addrinfo hints, *res = NULL, *ai;
	char host[256];
	const char *port;
	socklen_t elen;
	int fd = -1, err;

	if (net_split_hostport(spec, host, sizeof(host), &port)) {
		*why = "bad --broker (HOST:PORT)";
		return (-1);
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if (getaddrinfo(host, port, &hints, &res) != 0) {
		*why = "cannot resolve the broker's host name";
		return (-1);
	}
	*why = "cannot connect to the broker";
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		elen = sizeof(err);
		if (errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline) == 0 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 &&
		    err == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return (fd);
}

static int
send_all(int fd, const uint8_t *p, size_t len, uint64_t deadline)
{
	ssize_t n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && wait_fd(fd, POLLOUT, deadline) == 0)
			continue;
		return (-1);
	}
	return (0);
}

static int
recv_exact(int fd, uint8_t *p, size_t len, uint64_t deadline)
{
	ssize_t n;

	while (len > 0) {
		n = read(fd, p, len);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && wait_fd(fd, POLLIN, deadline) == 0)
			continue;
		return (-1);
	}
	return (0);
}

int
link_client_connect(struct link *l, const char *broker,
    const uint8_t broker_pk[KEY_LEN], const struct device_key *key,
    const char token[TOKEN_LEN], int timeout_ms, int *result, char *url,
    size_t url_cap, const char **why)
{
	uint64_t deadline = net_now_ms() + (uint64_t)timeout_ms;
	struct noise_xk hs;
	struct noise_cipher tx, rx;
	struct linkmsg m;
	uint8_t reg[LINKMSG_REGISTER_LEN], msg[128], pl[16];
	const uint8_t *p;
	size_t len, plen;
	int fd, rc, one = 1;

	if ((fd = connect_to(broker, deadline, why)) < 0)
		return (-1);
	/* Whole frames only: Nagle would hold back a second one. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (noise_xk_init(&hs, 1, (const uint8_t *)LINK_PROLOGUE,
	    strlen(LINK_PROLOGUE), key->sk, key->pk, broker_pk))
		goto fail;
	*why = "handshake failed";
	if (noise_xk_write(&hs, NULL, 0, msg, sizeof(msg), &len) ||
	    send_all(fd, msg, len, deadline))
		goto fail;
	/* A broker that does not hold the pinned key closes here. */
	*why = "handshake failed (wrong --broker-key, or not an awtrix-broker)";
	if (recv_exact(fd, msg, NOISE_XK_MSG2_LEN(0), deadline) ||
	    noise_xk_read(&hs, msg, NOISE_XK_MSG2_LEN(0), pl, sizeof(pl),
	    &plen) || plen != 0)
		goto fail;
	*why = "handshake failed";
	if (linkmsg_encode_register(reg, sizeof(reg), LM_REGISTER, token) !=
	    LINKMSG_REGISTER_LEN ||
	    noise_xk_write(&hs, reg, sizeof(reg), msg, sizeof(msg), &len) ||
	    send_all(fd, msg, len, deadline) ||
	    noise_xk_split(&hs, &tx, &rx))
		goto fail;
	sodium_memzero(reg, sizeof(reg));
	noise_xk_wipe(&hs);
	link_init(l, fd, &tx, &rx);
	sodium_memzero(&tx, sizeof(tx));
	sodium_memzero(&rx, sizeof(rx));

	*why = "no registration answer from the broker";
	for (;;) {
		rc = link_recv(l, &p, &len);
		if (rc < 0)
			goto fail_link;
		if (rc == 1)
			break;
		if (wait_fd(fd, POLLIN, deadline))
			goto fail_link;
	}
	if (linkmsg_decode(p, len, &m) || m.type != LM_WELCOME) {
		*why = "malformed registration answer";
		goto fail_link;
	}
	*result = m.result;
	len = m.url_len < url_cap - 1 ? m.url_len : url_cap - 1;
	memcpy(url, m.url, len);
	url[len] = '\0';
	return (0);

fail:
	sodium_memzero(reg, sizeof(reg));
	noise_xk_wipe(&hs);
	close(fd);
	return (-1);
fail_link:
	link_close(l);
	return (-1);
}
