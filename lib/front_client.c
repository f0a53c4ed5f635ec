#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "front.h"
#include "front_client.h"

/*
 * How long front_connect waits for a connection that the system reports
 * as in progress.  Linux never does that for Unix sockets (a full backlog is
 * EAGAIN at once); other systems may.
 */
#define FRONT_CONNECT_WAIT_MS 1000

static int64_t
front_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/*
 * Wait until ${fd} is ready for ${events} or ${deadline} (monotonic ms) has
 * passed.  Return 1 when ready (or on POLLHUP/POLLERR: the next call reports
 * it), 0 on timeout, -1 on error.
 */
static int
front_wait(int fd, short events, int64_t deadline)
{
	struct pollfd pfd;
	int64_t left;
	int rc;

	for (;;) {
		left = deadline - front_now_ms();
		if (left < 0)
			left = 0;
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		rc = poll(&pfd, 1, (int)left);
		if (rc > 0)
			return (1);
		if (rc == 0)
			return (0);
		if (errno != EINTR)
			return (-1);
	}
}

/**
 * front_connect(path):
 * Connect to the broker's Unix socket at ${path}.  Return the socket
 * (close-on-exec) or -1 with errno set.
 *
 * The connect itself does not block: a broker whose backlog is full is
 * overloaded, and that must be an error (EAGAIN) at once rather than a wait
 * without a deadline.  The socket returned is blocking.
 */
int
front_connect(const char *path)
{
	struct sockaddr_un sun;
	size_t len;
	socklen_t elen;
	int fd, flags, e;

	len = strlen(path);
	if (len == 0 || len >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, len);

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		return (-1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (errno != EINPROGRESS && errno != EINTR)
			goto err0;
		e = front_wait(fd, POLLOUT, front_now_ms() +
		    FRONT_CONNECT_WAIT_MS);
		if (e <= 0) {
			if (e == 0)
				errno = ETIMEDOUT;
			goto err0;
		}
		elen = sizeof(e);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) == -1)
			goto err0;
		if (e != 0) {
			errno = e;
			goto err0;
		}
	}
	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == -1)
		goto err0;
	return (fd);

err0:
	e = errno;
	close(fd);
	errno = e;
	return (-1);
}

/*
 * Send all ${len} bytes of ${p} before ${deadline}.  Return 0, -2 on
 * timeout, or -1 with errno EPIPE: the frame did not go through whole, so
 * the broker cannot have acted on it.
 */
static int
front_send(int fd, const uint8_t *p, size_t len, int64_t deadline)
{
	ssize_t n;
	int w;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if ((w = front_wait(fd, POLLOUT, deadline)) == 0)
				return (-2);
			if (w == 1)
				continue;
		}
		errno = EPIPE;
		return (-1);
	}
	return (0);
}

/*
 * Read exactly ${len} bytes into ${p} before ${deadline}.  Return 0, -2 on
 * timeout, -1 on error or end of file (errno ECONNRESET).  errno is never
 * EPIPE here, so that the caller can tell a frame that was sent from one
 * that was not.
 */
static int
front_recv(int fd, uint8_t *p, size_t len, int64_t deadline)
{
	ssize_t n;
	int w;

	while (len > 0) {
		if ((w = front_wait(fd, POLLIN, deadline)) == 0)
			return (-2);
		if (w == -1)
			goto fail;
		n = recv(fd, p, len, MSG_DONTWAIT);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == 0) {
			errno = ECONNRESET;
			return (-1);
		}
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			continue;
		goto fail;
	}
	return (0);

fail:
	if (errno == EPIPE)
		errno = ECONNRESET;
	return (-1);
}

/**
 * front_send_frame(fd, frame, len, timeout_ms):
 * Send all ${len} bytes of ${frame} on ${fd} within ${timeout_ms}, without
 * reading anything (the answer is read by whoever reads ${fd}).  Return 0,
 * -2 on timeout, or -1 with errno EPIPE: the frame did not go through whole.
 */
int
front_send_frame(int fd, const uint8_t *frame, size_t len, int timeout_ms)
{
	return (front_send(fd, frame, len, front_now_ms() +
	    (timeout_ms > 0 ? timeout_ms : 0)));
}

/**
 * front_call(fd, frame, len, id, timeout_ms, buf, cap, out):
 * Send the whole frame ${frame} of ${len} bytes, then read frames until one
 * carries request id ${id}, discarding answers to earlier requests that
 * timed out, and decode it into ${out} (pointing into ${buf} of ${cap}
 * bytes, which must hold FRONT_FRAME_MAX).  Give up after ${timeout_ms} in
 * all.  Return 0 on success, -2 on timeout, -1 on an I/O error, end of file
 * or malformed frame: after -1 or -2 the caller closes ${fd} and reconnects
 * for the next request.
 *
 * On -1, errno is EPIPE if and only if the frame was not sent whole (so it
 * is safe to send it again on a new connection), EPROTO for a malformed
 * frame from the broker, and otherwise the error of the read (ECONNRESET
 * for end of file).
 */
int
front_call(int fd, const uint8_t *frame, size_t len, uint32_t id,
    int timeout_ms, uint8_t *buf, size_t cap, struct front_msg *out)
{
	uint8_t hdr[FRONT_HEADER_LEN];
	int64_t deadline;
	long plen;
	int rc;

	if (cap < FRONT_FRAME_MAX || timeout_ms < 0) {
		errno = EINVAL;
		return (-1);
	}
	deadline = front_now_ms() + timeout_ms;
	if ((rc = front_send(fd, frame, len, deadline)) != 0)
		return (rc);
	for (;;) {
		if ((rc = front_recv(fd, hdr, sizeof(hdr), deadline)) != 0)
			return (rc);
		/* The announced length is checked before anything is read. */
		if ((plen = front_payload_length(hdr)) < 0) {
			errno = EPROTO;
			return (-1);
		}
		if ((rc = front_recv(fd, buf, (size_t)plen, deadline)) != 0)
			return (rc);
		if (front_decode(buf, (size_t)plen, out) != 0) {
			errno = EPROTO;
			return (-1);
		}
		if (out->id == id)
			return (0);
		/* A late answer to a request that timed out: drop it. */
	}
}
