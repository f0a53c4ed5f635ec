#ifndef BROKER_PEERS_H
#define BROKER_PEERS_H

/*
 * Per-source-address counters, in memory only (broker/peers.c): how many
 * handshakes a source holds and its bucket of first registrations.  An
 * address is never stored: only a 64-bit SipHash of it under a key drawn
 * at start, so the table cannot be read back into addresses, is never
 * logged, and dies with the process.  IPv6 sources count by /64 (one
 * subscriber's prefix), IPv4 by address.
 */

#include <sys/socket.h>

#include <stdint.h>

#define PEERS_SLOTS 16384
#define PEERS_PROBE 8

struct peer {
	uint64_t tag;		/* keyed hash of the source; 0: free */
	uint32_t handshakes;	/* pending on this source now */
	uint32_t reg_ms;	/* last refill of the bucket (low 32 bits) */
	float reg_tokens;	/* first registrations it may still make */
};

struct peers {
	uint8_t key[16];
	struct peer *slot;	/* PEERS_SLOTS */
	double reg_rate;	/* per second */
	double reg_burst;
};

/**
 * peers_init(p, reg_rate, reg_burst):
 * Allocate the table and draw its key; each source may make ${reg_burst}
 * first registrations, refilled at ${reg_rate} per second.  Return 0 or -1.
 */
int peers_init(struct peers *p, double reg_rate, double reg_burst);

/**
 * peers_free(p):
 * Wipe and free the table.
 */
void peers_free(struct peers *p);

/**
 * peers_get(p, sa, len, now_ms):
 * The entry of the source address ${sa}, taking a free or idle slot for a
 * new one; NULL when its slots are all held by other busy sources (the
 * connection is then not limited per source, only globally).
 */
struct peer *peers_get(struct peers *p, const struct sockaddr *sa,
    socklen_t len, uint64_t now_ms);

/**
 * peers_reg_take(p, e, now_ms):
 * Take one first registration from the bucket of ${e}.  Return 1 if there
 * was one, else 0.
 */
int peers_reg_take(const struct peers *p, struct peer *e, uint64_t now_ms);

#endif
