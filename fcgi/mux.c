#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "front.h"
#include "front_client.h"
#include "log.h"
#include "mux.h"

/* The reader's buffer: a whole frame always fits, many small ones too. */
#define MUX_IN_CAP (FRONT_FRAME_MAX + 65536)

enum mux_state {
	MUX_IDLE,	/* no call: an answer for it is dropped */
	MUX_WAIT,	/* sent (or being sent), waiting for the answer */
	MUX_DONE,	/* the answer's payload is in buf */
	MUX_GONE	/* the connection ended before the answer */
};

static int64_t
mux_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static struct timespec
mux_abstime(int64_t deadline_ms)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(deadline_ms / 1000);
	ts.tv_nsec = (long)(deadline_ms % 1000) * 1000000;
	return (ts);
}

/*
 * With m->lock held: end the connection of generation ${gen} if it is still
 * the current one.  It is shut down (which ends the reader's recv) but not
 * closed: only the reader closes it, under send_lock, so that no sender can
 * ever write to a descriptor number that was reused.  Every slot waiting on
 * it is woken with MUX_GONE.
 */
static void
mux_drop_locked(struct mux *m, unsigned long gen)
{
	unsigned int i;

	if (m->fd == -1 || m->gen != gen || m->broken)
		return;
	shutdown(m->fd, SHUT_RDWR);
	m->broken = 1;
	for (i = 0; i < m->nslots; i++) {
		if (m->slots[i].state == MUX_WAIT && m->slots[i].gen == gen) {
			m->slots[i].state = MUX_GONE;
			pthread_cond_signal(&m->slots[i].cv);
		}
	}
}

/*
 * With m->lock held: hand the frame payload ${p} of ${len} bytes to the slot
 * its id names, if that slot waits for exactly this id on connection ${gen}.
 */
static void
mux_dispatch_locked(struct mux *m, unsigned long gen, const uint8_t *p,
    size_t len)
{
	struct mux_slot *s;
	uint32_t id;

	id = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 8 | p[4];
	if ((id & ((1u << MUX_SLOT_BITS) - 1)) >= m->nslots)
		return;
	s = &m->slots[id & ((1u << MUX_SLOT_BITS) - 1)];
	/* A late answer to a call that gave up: dropped. */
	if (s->state != MUX_WAIT || s->id != id || s->gen != gen)
		return;
	memcpy(s->buf, p, len);
	s->len = len;
	s->state = MUX_DONE;
	pthread_cond_signal(&s->cv);
}

/*
 * Read the connection ${fd} of generation ${gen} until it ends, handing
 * every whole frame to its slot.  Return 0 when it ends, or -1 (logged:
 * the broker is our own program) when a frame is malformed.
 */
static int
mux_read(struct mux *m, int fd, unsigned long gen)
{
	size_t have = 0, off;
	long plen;
	ssize_t n;

	for (;;) {
		n = recv(fd, m->in + have, m->in_cap - have, 0);
		if (n == 0)
			return (0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return (0);
		}
		have += (size_t)n;
		off = 0;
		pthread_mutex_lock(&m->lock);
		while (have - off >= FRONT_HEADER_LEN) {
			/* The announced length is checked before the rest. */
			if ((plen = front_payload_length(m->in + off)) < 0) {
				pthread_mutex_unlock(&m->lock);
				log_error("%s: malformed frame from the broker",
				    __func__);
				return (-1);
			}
			if (have - off < FRONT_HEADER_LEN + (size_t)plen)
				break;
			mux_dispatch_locked(m, gen, m->in + off +
			    FRONT_HEADER_LEN, (size_t)plen);
			off += FRONT_HEADER_LEN + (size_t)plen;
		}
		pthread_mutex_unlock(&m->lock);
		if (off > 0 && off < have)
			memmove(m->in, m->in + off, have - off);
		have -= off;
	}
}

/* The reader thread: one connection after the other until mux_free. */
static void *
mux_reader(void *arg)
{
	struct mux *m = arg;
	unsigned long gen;
	int fd;

	pthread_mutex_lock(&m->lock);
	for (;;) {
		while (m->fd == -1 && !m->stop)
			pthread_cond_wait(&m->conn_cv, &m->lock);
		if (m->fd == -1)
			break;
		fd = m->fd;
		gen = m->gen;
		pthread_mutex_unlock(&m->lock);

		if (mux_read(m, fd, gen) == 0) {
			pthread_mutex_lock(&m->lock);
			if (!m->broken && !m->stop)
				log_warn("%s: the broker closed the "
				    "connection", __func__);
		} else
			pthread_mutex_lock(&m->lock);
		mux_drop_locked(m, gen);
		pthread_mutex_unlock(&m->lock);
		/* No sender is inside send(2) on fd once send_lock is ours. */
		pthread_mutex_lock(&m->send_lock);
		pthread_mutex_lock(&m->lock);
		close(fd);
		m->fd = -1;
		m->broken = 0;
		pthread_cond_broadcast(&m->conn_cv);
		pthread_mutex_unlock(&m->send_lock);
	}
	pthread_mutex_unlock(&m->lock);
	return (NULL);
}

/**
 * mux_init(m, path, timeout_ms, nslots):
 * Prepare ${m} for ${nslots} (1 .. MUX_SLOTS_MAX) callers of the broker at
 * ${path}, each waiting at most ${timeout_ms} for an answer, and start its
 * reader thread.  Nothing is connected yet.  Return 0 or -1.
 */
int
mux_init(struct mux *m, const char *path, int timeout_ms,
    unsigned int nslots)
{
	pthread_condattr_t ca;
	pthread_attr_t ta;
	unsigned int i;

	memset(m, 0, sizeof(*m));
	m->path = path;
	m->timeout_ms = timeout_ms;
	m->fd = -1;
	if (nslots == 0 || nslots > MUX_SLOTS_MAX)
		goto err0;
	if ((m->in = malloc(MUX_IN_CAP)) == NULL)
		goto err0;
	m->in_cap = MUX_IN_CAP;
	if ((m->slots = calloc(nslots, sizeof(*m->slots))) == NULL)
		goto err1;
	/* Deadlines are monotonic: a clock step must not end a wait. */
	if (pthread_condattr_init(&ca) != 0)
		goto err2;
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0)
		goto err3;
	for (m->nslots = 0; m->nslots < nslots; m->nslots++) {
		if ((m->slots[m->nslots].buf = malloc(FRONT_PAYLOAD_MAX)) ==
		    NULL)
			goto err4;
		if (pthread_cond_init(&m->slots[m->nslots].cv, &ca) != 0) {
			free(m->slots[m->nslots].buf);
			goto err4;
		}
	}
	if (pthread_cond_init(&m->conn_cv, &ca) != 0)
		goto err4;
	if (pthread_mutex_init(&m->lock, NULL) != 0)
		goto err5;
	if (pthread_mutex_init(&m->send_lock, NULL) != 0)
		goto err6;
	/* The reader needs little stack: its buffer is on the heap. */
	if (pthread_attr_init(&ta) != 0)
		goto err7;
	pthread_attr_setstacksize(&ta, 64 * 1024);
	if (pthread_create(&m->reader, &ta, mux_reader, m) != 0) {
		pthread_attr_destroy(&ta);
		goto err7;
	}
	pthread_attr_destroy(&ta);
	m->reader_started = 1;
	pthread_condattr_destroy(&ca);
	return (0);

err7:
	pthread_mutex_destroy(&m->send_lock);
err6:
	pthread_mutex_destroy(&m->lock);
err5:
	pthread_cond_destroy(&m->conn_cv);
err4:
	for (i = 0; i < m->nslots; i++) {
		pthread_cond_destroy(&m->slots[i].cv);
		free(m->slots[i].buf);
	}
err3:
	pthread_condattr_destroy(&ca);
err2:
	free(m->slots);
err1:
	free(m->in);
err0:
	m->slots = NULL;
	m->in = NULL;
	return (-1);
}

/**
 * mux_next_id(m, slot):
 * The request id for the next call of slot ${slot}.
 */
uint32_t
mux_next_id(struct mux *m, unsigned int slot)
{
	struct mux_slot *s = &m->slots[slot];

	/* Only the slot's own thread touches seq. */
	s->seq++;
	return (s->seq << MUX_SLOT_BITS | slot);
}

/*
 * With m->lock held: make sure there is a connection that is not being
 * torn down, waiting until ${deadline} for the reader to close a broken
 * one.  Store whether it was made now in ${made}.  Return 0, -2 on timeout,
 * or -1 (logged) if the broker cannot be reached.
 */
static int
mux_connect_locked(struct mux *m, int64_t deadline, int *made)
{
	struct timespec ts = mux_abstime(deadline);
	int fd;

	*made = 0;
	while (m->fd != -1 && m->broken && !m->stop)
		if (pthread_cond_timedwait(&m->conn_cv, &m->lock, &ts) ==
		    ETIMEDOUT)
			return (-2);
	if (m->stop)
		return (-1);
	if (m->fd != -1)
		return (0);
	if ((fd = front_connect(m->path)) == -1) {
		log_warn("%s: cannot connect to the broker at %s: %s",
		    __func__, m->path, strerror(errno));
		return (-1);
	}
	m->fd = fd;
	m->gen++;
	*made = 1;
	pthread_cond_broadcast(&m->conn_cv);
	return (0);
}

/*
 * Send ${frame} for slot ${s} on the current connection (connecting if
 * needed) and register the slot as waiting for ${id}.  Return 0, -2 on
 * timeout, -3 if the frame did not go out whole on a connection that an
 * earlier call made (the broker went away since: worth one more try on a
 * new one), or -1 (logged).
 */
static int
mux_send(struct mux *m, struct mux_slot *s, const uint8_t *frame, size_t len,
    uint32_t id, int64_t deadline)
{
	unsigned long gen;
	int fd, made, rc, left;

	pthread_mutex_lock(&m->lock);
	if ((rc = mux_connect_locked(m, deadline, &made)) != 0) {
		pthread_mutex_unlock(&m->lock);
		return (rc);
	}
	fd = m->fd;
	gen = m->gen;
	/* Waiting before sending: the answer may come before send returns. */
	s->state = MUX_WAIT;
	s->id = id;
	s->gen = gen;
	pthread_mutex_unlock(&m->lock);

	pthread_mutex_lock(&m->send_lock);
	pthread_mutex_lock(&m->lock);
	rc = m->fd == fd && m->gen == gen && !m->broken ? 0 : -1;
	pthread_mutex_unlock(&m->lock);
	if (rc == 0) {
		left = (int)(deadline - mux_now_ms());
		rc = front_send_frame(fd, frame, len, left > 0 ? left : 0);
	}
	pthread_mutex_unlock(&m->send_lock);
	if (rc == 0)
		return (0);

	pthread_mutex_lock(&m->lock);
	s->state = MUX_IDLE;
	/* Part of a frame may have gone out: the stream is out of step. */
	mux_drop_locked(m, gen);
	pthread_mutex_unlock(&m->lock);
	if (rc == -2)
		return (-2);
	if (!made)
		return (-3);
	log_warn("%s: cannot send to the broker: %s", __func__,
	    strerror(EPIPE));
	return (-1);
}

/**
 * mux_call(m, slot, frame, len, id, out):
 * From the thread that owns slot ${slot}: send the whole frame ${frame} of
 * ${len} bytes, whose request id is ${id} (from mux_next_id), and wait for
 * its answer, decoded into ${out} (pointing into the slot's buffer until
 * the slot's next call).  A frame that could not be sent whole on a
 * connection made for an earlier call is sent once more on a new one.
 * Return an enum mux_result.
 */
int
mux_call(struct mux *m, unsigned int slot, const uint8_t *frame,
    size_t len, uint32_t id, struct front_msg *out)
{
	struct mux_slot *s = &m->slots[slot];
	struct timespec ts;
	int64_t deadline = mux_now_ms() + m->timeout_ms;
	int rc, state;

	rc = mux_send(m, s, frame, len, id, deadline);
	if (rc == -3) {
		/* The frame never got through whole: safe to send again. */
		rc = mux_send(m, s, frame, len, id, deadline);
	}
	if (rc == -2)
		goto timeout;
	if (rc != 0)
		return (MUX_DOWN);

	ts = mux_abstime(deadline);
	pthread_mutex_lock(&m->lock);
	while (s->state == MUX_WAIT)
		if (pthread_cond_timedwait(&s->cv, &m->lock, &ts) ==
		    ETIMEDOUT && s->state == MUX_WAIT) {
			/* The answer, if it ever comes, will be dropped. */
			s->state = MUX_IDLE;
			pthread_mutex_unlock(&m->lock);
			goto timeout;
		}
	state = s->state;
	s->state = MUX_IDLE;
	pthread_mutex_unlock(&m->lock);

	/* The reader logged the end of the connection, once for all. */
	if (state == MUX_GONE)
		return (MUX_DOWN);
	if (front_decode(s->buf, s->len, out) != 0) {
		log_error("%s: malformed frame from the broker", __func__);
		return (MUX_DOWN);
	}
	return (MUX_ANSWER);

timeout:
	log_warn("%s: no answer from the broker within %d ms", __func__,
	    m->timeout_ms);
	return (MUX_TIMEOUT);
}

/**
 * mux_free(m):
 * Stop the reader thread, close the connection and free ${m}'s memory.  No
 * call may be in progress.
 */
void
mux_free(struct mux *m)
{
	unsigned int i;

	if (m == NULL || m->slots == NULL)
		return;
	pthread_mutex_lock(&m->lock);
	m->stop = 1;
	if (m->fd != -1)
		shutdown(m->fd, SHUT_RDWR);
	m->broken = 1;
	pthread_cond_broadcast(&m->conn_cv);
	pthread_mutex_unlock(&m->lock);
	if (m->reader_started)
		pthread_join(m->reader, NULL);
	pthread_mutex_destroy(&m->send_lock);
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->conn_cv);
	for (i = 0; i < m->nslots; i++) {
		pthread_cond_destroy(&m->slots[i].cv);
		free(m->slots[i].buf);
	}
	free(m->slots);
	free(m->in);
	m->slots = NULL;
	m->in = NULL;
}
