/*
 * Per-source-address counters (see peers.h).  Open addressing over a fixed
 * array: a source's slot is found within PEERS_PROBE of its hash, and a slot
 * whose source holds no handshake and has a full bucket is idle and may be
 * taken by another.  The hash key is random per process, so nobody can aim
 * collisions; when every probed slot is busy the source goes unlimited per
 * source (fail open) and the global caps still hold.
 */
#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "peers.h"

/**
 * peers_init(p, reg_rate, reg_burst):
 * Allocate the table and draw its key; each source may make ${reg_burst}
 * first registrations, refilled at ${reg_rate} per second.  Return 0 or -1.
 */
int
peers_init(struct peers *p, double reg_rate, double reg_burst)
{
	p->slot = calloc(PEERS_SLOTS, sizeof(*p->slot));
	if (p->slot == NULL)
		return (-1);
	randombytes_buf(p->key, sizeof(p->key));
	p->reg_rate = reg_rate;
	p->reg_burst = reg_burst;
	return (0);
}

/**
 * peers_free(p):
 * Wipe and free the table.
 */
void
peers_free(struct peers *p)
{
	if (p->slot != NULL)
		sodium_memzero(p->slot, PEERS_SLOTS * sizeof(*p->slot));
	free(p->slot);
	p->slot = NULL;
	sodium_memzero(p->key, sizeof(p->key));
}

/* The bucket of ${e} refilled to ${now_ms}. */
static float
peers_tokens(const struct peers *p, const struct peer *e, uint64_t now_ms)
{
	double t = e->reg_tokens +
	    (double)((uint32_t)now_ms - e->reg_ms) / 1000.0 * p->reg_rate;

	return ((float)(t > p->reg_burst ? p->reg_burst : t));
}

static int
peers_idle(const struct peers *p, const struct peer *e, uint64_t now_ms)
{
	return (e->tag == 0 || (e->handshakes == 0 &&
	    peers_tokens(p, e, now_ms) >= (float)p->reg_burst));
}

/**
 * peers_get(p, sa, len, now_ms):
 * The entry of the source address ${sa}, taking a free or idle slot for a
 * new one; NULL when its slots are all held by other busy sources.
 */
struct peer *
peers_get(struct peers *p, const struct sockaddr *sa, socklen_t len,
    uint64_t now_ms)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	const struct sockaddr_in6 *s6;
	const uint8_t *a;
	uint8_t in[9], h[8];
	struct peer *e, *idle = NULL;
	uint64_t tag;
	size_t i, n;

	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		in[0] = 4;
		memcpy(in + 1, &((const struct sockaddr_in *)(const void *)sa)->
		    sin_addr, 4);
		n = 5;
	} else if (sa->sa_family == AF_INET6 &&
	    len >= sizeof(struct sockaddr_in6)) {
		s6 = (const struct sockaddr_in6 *)(const void *)sa;
		a = s6->sin6_addr.s6_addr;
		if (memcmp(a, v4mapped, 12) == 0) {
			in[0] = 4;
			memcpy(in + 1, a + 12, 4);
			n = 5;
		} else {
			in[0] = 6;
			memcpy(in + 1, a, 8);	/* the /64 */
			n = 9;
		}
	} else
		return (NULL);
	crypto_shorthash(h, in, n, p->key);
	sodium_memzero(in, sizeof(in));
	memcpy(&tag, h, sizeof(tag));
	if (tag == 0)
		tag = 1;
	for (i = 0; i < PEERS_PROBE; i++) {
		e = &p->slot[(tag + i) % PEERS_SLOTS];
		if (e->tag == tag)
			return (e);
		if (idle == NULL && peers_idle(p, e, now_ms))
			idle = e;
	}
	if (idle == NULL)
		return (NULL);
	idle->tag = tag;
	idle->handshakes = 0;
	idle->reg_tokens = (float)p->reg_burst;
	idle->reg_ms = (uint32_t)now_ms;
	return (idle);
}

/**
 * peers_reg_take(p, e, now_ms):
 * Take one first registration from the bucket of ${e}.  Return 1 if there
 * was one, else 0.
 */
int
peers_reg_take(const struct peers *p, struct peer *e, uint64_t now_ms)
{
	e->reg_tokens = peers_tokens(p, e, now_ms);
	e->reg_ms = (uint32_t)now_ms;
	if (e->reg_tokens < 1.0f)
		return (0);
	e->reg_tokens -= 1.0f;
	return (1);
}
