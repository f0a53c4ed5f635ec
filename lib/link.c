#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "link.h"
#include "wire.h"

void
link_init(struct link *l, int fd, const struct noise_cipher *tx,
    const struct noise_cipher *rx)
{
	memset(l, 0, sizeof(*l));
	l->fd = fd;
	l->tx = *tx;
	l->rx = *rx;
}

long
link_seal(struct noise_cipher *tx, const uint8_t *pt, size_t len,
    uint8_t *frame)
{
	size_t clen = len + NOISE_TAGLEN;

	if (len > LINK_PLAIN_MAX)
		return (-1);
	wire_store_u16(frame, (uint16_t)clen);
	if (noise_encrypt(tx, frame, LINK_HEADER_LEN, pt, len,
	    frame + LINK_HEADER_LEN))
		return (-1);
	return ((long)(LINK_HEADER_LEN + clen));
}

int
link_open(struct noise_cipher *rx, uint8_t *frame, size_t len, uint8_t **pt,
    size_t *pt_len)
{
	size_t clen;

	if (len < LINK_HEADER_LEN)
		return (-1);
	clen = wire_load_u16(frame);
	if (clen < NOISE_TAGLEN || clen > LINK_CIPHER_MAX ||
	    clen != len - LINK_HEADER_LEN)
		return (-1);
	if (noise_decrypt(rx, frame, LINK_HEADER_LEN, frame + LINK_HEADER_LEN,
	    clen, frame + LINK_HEADER_LEN))
		return (-1);
	*pt = frame + LINK_HEADER_LEN;
	*pt_len = clen - NOISE_TAGLEN;
	return (0);
}

static void
link_drop_out(struct link *l)
{
	free(l->out);
	l->out = NULL;
	l->out_len = l->out_off = l->out_cap = 0;
}

int
link_flush(struct link *l)
{
	ssize_t n;

	while (l->out_off < l->out_len) {
		n = send(l->fd, l->out + l->out_off, l->out_len - l->out_off,
		    MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return (1);
		if (n <= 0) {
			l->error = "write failed";
			return (-1);
		}
		l->out_off += (uint32_t)n;
	}
	link_drop_out(l);
	return (0);
}

int
link_send(struct link *l, const uint8_t *pt, size_t len)
{
	size_t need = LINK_HEADER_LEN + len + NOISE_TAGLEN;
	size_t cap;
	uint8_t *p;
	long n;

	if (len > LINK_PLAIN_MAX) {
		l->error = "message too large";
		return (-1);
	}
	if (l->out_len == 0) {
		/* Nothing queued: seal on the stack and send; queue only
		 * what the socket does not take. */
		uint8_t frame[LINK_FRAME_MAX];
		ssize_t sent;

		n = link_seal(&l->tx, pt, len, frame);
		if (n < 0) {
			l->error = "encryption failed";
			return (-1);
		}
		do
			sent = send(l->fd, frame, (size_t)n, MSG_NOSIGNAL);
		while (sent < 0 && errno == EINTR);
		if (sent == n)
			return (0);
		if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			l->error = "write failed";
			return (-1);
		}
		if (sent < 0)
			sent = 0;
		if ((l->out = malloc((size_t)(n - sent))) == NULL) {
			l->error = "out of memory";
			return (-1);
		}
		memcpy(l->out, frame + sent, (size_t)(n - sent));
		l->out_len = l->out_cap = (uint32_t)(n - sent);
		l->out_off = 0;
		return (1);
	}
	if (l->out_len + need > LINK_OUT_MAX) {
		l->error = "peer does not read (send queue full)";
		return (-1);
	}
	if (l->out_len + need > l->out_cap) {
		/* Compact first: sent bytes at the front are dead. */
		if (l->out_off > 0) {
			memmove(l->out, l->out + l->out_off,
			    l->out_len - l->out_off);
			l->out_len -= l->out_off;
			l->out_off = 0;
		}
		cap = l->out_cap ? l->out_cap : 4096;
		while (cap < l->out_len + need)
			cap *= 2;
		if (cap != l->out_cap) {
			if ((p = realloc(l->out, cap)) == NULL) {
				l->error = "out of memory";
				return (-1);
			}
			l->out = p;
			l->out_cap = (uint32_t)cap;
		}
	}
	n = link_seal(&l->tx, pt, len, l->out + l->out_len);
	if (n < 0) {
		l->error = "encryption failed";
		return (-1);
	}
	l->out_len += (uint32_t)n;
	return (link_flush(l));
}

int
link_pending_out(const struct link *l)
{
	return (l->out_off < l->out_len);
}

void
link_set_scratch(struct link *l, uint8_t *scratch)
{
	l->scratch = scratch;
}

/* Is there one whole frame at in_off?  Check its length first. */
static int
link_frame_ready(struct link *l, size_t *flen)
{
	size_t have = l->in_len - l->in_off, clen;

	if (have < LINK_HEADER_LEN)
		return (0);
	clen = wire_load_u16(l->cur + l->in_off);
	if (clen < NOISE_TAGLEN || clen > LINK_CIPHER_MAX) {
		l->error = "bad frame length";
		l->violated = 1;
		return (-1);
	}
	if (have < LINK_HEADER_LEN + clen)
		return (0);
	*flen = LINK_HEADER_LEN + clen;
	return (1);
}

/* Keep only the unprocessed bytes, at the front of cur. */
static void
link_compact(struct link *l)
{
	if (l->in_off > 0) {
		memmove(l->cur, l->cur + l->in_off, l->in_len - l->in_off);
		l->in_len -= l->in_off;
		l->in_off = 0;
	}
}

int
link_park(struct link *l)
{
	if (l->cur == NULL || l->cur != l->scratch)
		return (0);
	link_compact(l);
	if (l->in_len == 0) {
		l->cur = NULL;
		return (0);
	}
	if (l->in == NULL && (l->in = malloc(LINK_FRAME_MAX)) == NULL) {
		l->error = "out of memory";
		return (-1);
	}
	memcpy(l->in, l->scratch, l->in_len);
	l->cur = l->in;
	return (0);
}

/* Nothing buffered: release the buffers. */
static void
link_idle(struct link *l)
{
	l->cur = NULL;
	l->in_len = l->in_off = 0;
	free(l->in);
	l->in = NULL;
}

int
link_recv(struct link *l, const uint8_t **pt, size_t *len)
{
	size_t flen, plen;
	uint8_t *p;
	ssize_t n;
	int rc;

	for (;;) {
		if (l->cur != NULL) {
			rc = link_frame_ready(l, &flen);
			if (rc < 0)
				return (-1);
			if (rc == 1) {
				if (link_open(&l->rx, l->cur + l->in_off, flen,
				    &p, &plen)) {
					l->error = "frame failed to decrypt";
					l->violated = 1;
					return (-1);
				}
				l->in_off += (uint32_t)flen;
				*pt = p;
				*len = plen;
				return (1);
			}
			link_compact(l);
		} else {
			l->cur = l->in != NULL ? l->in : l->scratch;
			if (l->cur == NULL) {
				if ((l->in = malloc(LINK_FRAME_MAX)) == NULL) {
					l->error = "out of memory";
					return (-1);
				}
				l->cur = l->in;
			}
			l->in_len = l->in_off = 0;
		}
		/* A short read emptied the socket: do not ask again for an
		 * EAGAIN (epoll is level-triggered and will tell us). */
		if (l->drained) {
			l->drained = 0;
			n = -1;
			errno = EAGAIN;
		} else
			n = read(l->fd, l->cur + l->in_len,
			    LINK_FRAME_MAX - l->in_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (l->in_len == 0)
				link_idle(l);
			else if (link_park(l))
				return (-1);
			return (0);
		}
		if (n == 0) {
			l->error = (l->in_len ? "connection closed mid-frame" :
			    "connection closed");
			return (-1);
		}
		if (n < 0) {
			l->error = "read failed";
			return (-1);
		}
		l->drained = ((size_t)n < LINK_FRAME_MAX - l->in_len);
		l->in_len += (uint32_t)n;
	}
}

void
link_close(struct link *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	link_idle(l);
	link_drop_out(l);
	sodium_memzero(&l->tx, sizeof(l->tx));
	sodium_memzero(&l->rx, sizeof(l->rx));
}
