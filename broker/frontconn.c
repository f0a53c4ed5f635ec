/*
 * The broker's Unix socket: connections from awtrix-cloud.fcgi processes
 * (one persistent connection each) and from `awtrix-broker stats`.  The
 * peer's credentials are checked at accept; frames are checked exactly; a
 * malformed frame from our own program is a bug, logged loudly, and ends
 * that connection only.
 */
#define _GNU_SOURCE
#include <sys/epoll.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"
#include "wire.h"

#define FRONT_OUT_MAX (8 * 1024 * 1024)

static int
front_peer_allowed(const struct broker *b, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) ||
	    len != sizeof(cred))
		return (0);
	return (cred.uid == 0 || cred.uid == geteuid() ||
	    cred.gid == getegid() ||
	    (b->cfg.socket_gid != (gid_t)-1 && cred.gid == b->cfg.socket_gid));
}

void
front_accept(struct broker *b)
{
	struct front *f;
	int fd, i;

	for (i = 0; i < 64; i++) {
		fd = accept4(b->unix_sock.fd, NULL, NULL,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				log_warn_ev("front.out_of_fds", "front: out of file descriptors");
			return;
		}
		if (fd >= b->fronts_cap || !front_peer_allowed(b, fd)) {
			if (fd < b->fronts_cap) {
				b->stats.front_refused++;
				log_warn_ev("front.peer_refused", "front: connection refused: peer "
				    "uid/gid not allowed on the socket");
			}
			close(fd);
			continue;
		}
		if ((f = calloc(1, sizeof(*f))) == NULL ||
		    (f->in = malloc(FRONT_FRAME_MAX)) == NULL) {
			free(f);
			close(fd);
			log_warn_ev("front.out_of_memory", "front: out of memory");
			return;
		}
		f->kind = CONN_FRONT;
		f->fd = fd;
		f->gen = ++b->front_gen;
		b->fronts[fd] = f;
		b->nfronts++;
		f->events = EPOLLIN;
		if (broker_watch(b, (struct conn *)f, fd, f->events))
			front_close(b, f);
	}
}

void
front_close(struct broker *b, struct front *f)
{
	broker_unwatch(b, f->fd);
	close(f->fd);
	b->fronts[f->fd] = NULL;
	b->nfronts--;
	free(f->in);
	free(f->out);
	free(f);
}

static int
front_flush(struct broker *b, struct front *f)
{
	ssize_t n;

	while (f->out_off < f->out_len) {
		n = send(f->fd, f->out + f->out_off, f->out_len - f->out_off,
		    MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			broker_rewatch(b, (struct conn *)f, f->fd, &f->events,
			    EPOLLIN | EPOLLOUT);
			return (0);
		}
		if (n <= 0)
			return (-1);
		f->out_off += (uint32_t)n;
	}
	free(f->out);
	f->out = NULL;
	f->out_len = f->out_off = f->out_cap = 0;
	broker_rewatch(b, (struct conn *)f, f->fd, &f->events, EPOLLIN);
	return (0);
}

/* Send ${len} bytes, queueing what the socket does not take: with nothing
 * queued (the usual case) there is no copy and no allocation. */
static int
front_write(struct broker *b, struct front *f, const uint8_t *p, size_t len)
{
	size_t cap;
	ssize_t n = 0;
	uint8_t *q;

	if (f->out_len == 0) {
		do
			n = send(f->fd, p, len, MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		if (n == (ssize_t)len)
			return (0);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return (-1);
		if (n < 0)
			n = 0;
		p += n;
		len -= (size_t)n;
	}
	if (f->out_len + len > FRONT_OUT_MAX)
		return (-1);
	if (f->out_len + len > f->out_cap) {
		cap = f->out_cap ? f->out_cap : 4096;
		while (cap < f->out_len + len)
			cap *= 2;
		if ((q = realloc(f->out, cap)) == NULL)
			return (-1);
		f->out = q;
		f->out_cap = (uint32_t)cap;
	}
	memcpy(f->out + f->out_len, p, len);
	f->out_len += (uint32_t)len;
	broker_rewatch(b, (struct conn *)f, f->fd, &f->events,
	    EPOLLIN | EPOLLOUT);
	return (0);
}

void
front_reply(struct broker *b, int fd, uint32_t gen, uint32_t id,
    const struct relay_answer *ans)
{
	struct front *f;
	long n;

	if (fd < 0 || fd >= b->fronts_cap || (f = b->fronts[fd]) == NULL ||
	    f->gen != gen)
		return;		/* the caller went away */
	n = front_encode_answer(b->frame, sizeof(b->frame), id, ans);
	if (n < 0) {
		log_error_ev("front.encode_failed", "%s: cannot encode an answer", __func__);
		return;
	}
	if (front_write(b, f, b->frame, (size_t)n)) {
		log_warn_ev("front.slow_reader", "front: peer does not read its answers; closed");
		front_close(b, f);
	}
}

static int
front_handle(struct broker *b, struct front *f, const uint8_t *payload,
    size_t len)
{
	struct front_msg m;
	char json[FRONT_METRICS_MAX];
	long n;

	if (front_decode(payload, len, &m)) {
		log_error_ev("front.malformed", "front: malformed frame from awtrix-cloud.fcgi; "
		    "connection closed");
		return (-1);
	}
	switch (m.type) {
	case FRONT_REQUEST:
		route_request(b, f, &m);
		return (0);
	case FRONT_STATS:
		n = route_stats_json(b, json, FRONT_STATS_MAX);
		if (n < 0)
			return (-1);
		n = front_encode_stats_answer(b->frame, sizeof(b->frame), m.id,
		    json, (size_t)n);
		return (n < 0 ? -1 : front_write(b, f, b->frame, (size_t)n));
	case FRONT_METRICS:
		if ((n = metrics_render(b, json, sizeof(json))) < 0) {
			log_error_ev("front.metrics_too_big",
			    "front: metrics do not fit FRONT_METRICS_MAX");
			return (-1);
		}
		n = front_encode_metrics_answer(b->frame, sizeof(b->frame),
		    m.id, json, (size_t)n);
		return (n < 0 ? -1 : front_write(b, f, b->frame, (size_t)n));
	case FRONT_REFUSED:
		metrics_refused(&b->metrics, m.status);
		return (0);
	default:
		log_error_ev("front.malformed", "front: unexpected frame type %u", m.type);
		return (-1);
	}
}

void
front_event(struct broker *b, struct front *f, uint32_t events)
{
	uint32_t off;
	long plen;
	ssize_t n;
	int fd = f->fd;
	uint32_t gen = f->gen;

	if ((events & EPOLLOUT) && front_flush(b, f)) {
		front_close(b, f);
		return;
	}
	if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
		return;
	n = read(f->fd, f->in + f->in_len, FRONT_FRAME_MAX - f->in_len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		front_close(b, f);
		return;
	}
	f->in_len += (uint32_t)n;
	off = 0;
	while (f->in_len - off >= FRONT_HEADER_LEN) {
		plen = front_payload_length(f->in + off);
		if (plen < 0) {
			log_error_ev("front.malformed", "front: bad frame length; connection closed");
			front_close(b, f);
			return;
		}
		if (f->in_len - off < FRONT_HEADER_LEN + (uint32_t)plen)
			break;
		if (front_handle(b, f, f->in + off + FRONT_HEADER_LEN,
		    (size_t)plen)) {
			front_close(b, f);
			return;
		}
		/* Handling may have closed f (write failure). */
		if (b->fronts[fd] != f || f->gen != gen)
			return;
		off += FRONT_HEADER_LEN + (uint32_t)plen;
	}
	if (off > 0) {
		memmove(f->in, f->in + off, f->in_len - off);
		f->in_len -= off;
	}
}
