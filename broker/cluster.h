#ifndef BROKER_CLUSTER_H
#define BROKER_CLUSTER_H

/*
 * --nats: several brokers behind one URL.  A request for a device held by
 * another broker goes out as a NATS request on that device's subject; the
 * holder answers.  Bindings and revocations live in a JetStream KV bucket
 * written only with create-only operations.  nats.c runs its own threads:
 * its callbacks only queue work and wake the epoll loop through an
 * eventfd, and every blocking call (the KV) runs on one worker thread, so
 * all broker state stays on the loop thread.  See docs/scale-out.md.
 */

#include <stddef.h>
#include <stdint.h>

#include "token.h"

struct broker;
struct agent;
struct front;
struct front_msg;
struct relay_answer;

/**
 * cluster_urls_valid(urls, why):
 * Return 1 if ${urls} is a comma-separated list of at most 16
 * nats://HOST:PORT URLs, else 0 with ${why} set to a message.
 */
int cluster_urls_valid(const char *urls, const char **why);

/**
 * cluster_open(b):
 * Connect to b->cfg.nats in the background (the broker starts even if no
 * NATS server is up yet), start the KV worker and watch the eventfd.
 * Return 0 or -1.
 */
int cluster_open(struct broker *b);

/**
 * cluster_close(b):
 * Close the connection, stop the worker and free everything.  After every
 * session has been closed.  Does nothing without --nats.
 */
void cluster_close(struct broker *b);

/**
 * cluster_event(b):
 * The eventfd is readable: handle what nats.c and the worker queued.
 */
void cluster_event(struct broker *b);

/**
 * cluster_timers(b):
 * Periodic work: the peer heartbeat.
 */
void cluster_timers(struct broker *b);

/**
 * cluster_up(b):
 * Return 1 if the NATS connection is up and the KV bucket is bound.
 */
int cluster_up(const struct broker *b);

/**
 * cluster_route(b, f, m, token_hash):
 * The device of ${token_hash} is not held here: ask the other brokers,
 * or answer 503 at once if NATS is unreachable.
 */
void cluster_route(struct broker *b, struct front *f,
    const struct front_msg *m, const uint8_t token_hash[TOKEN_HASH_LEN]);

/**
 * cluster_reply(b, subject, ans):
 * Send ${ans} to the broker waiting on ${subject}.
 */
void cluster_reply(struct broker *b, const char *subject,
    const struct relay_answer *ans);

/**
 * cluster_bind(b, a, token_hash, old_hash):
 * Start the KV binding of ${token_hash} to a->device_hash (a rotation
 * from ${old_hash} if not NULL).  The result arrives later through
 * agent_bind_done (registration) or agent_rotate_done (rotation).  Return
 * 0, or an enum linkmsg_result to answer at once (LM_REFUSED_CLUSTER when
 * NATS is unreachable or the worker is saturated).
 */
int cluster_bind(struct broker *b, struct agent *a,
    const uint8_t token_hash[TOKEN_HASH_LEN],
    const uint8_t *old_hash);

/**
 * cluster_hold(b, a):
 * ${a} is live (or its token changed): subscribe on its subject and evict
 * any other holder of the token.  Return 0 or -1.
 */
int cluster_hold(struct broker *b, struct agent *a);

/**
 * cluster_release(b, a):
 * ${a} is closing or changing token: unsubscribe, forget a pending KV job.
 */
void cluster_release(struct broker *b, struct agent *a);

/**
 * cluster_revoke(urls, hash_key, token_hash, why):
 * For `awtrix-broker revoke --nats`: revoke ${token_hash} in the cluster's
 * KV bucket (create-only) and tell its holder, wherever it is, to end the
 * session.  Blocking.  Return 0, or -1 with ${why} set.
 */
int cluster_revoke(const char *urls, const uint8_t hash_key[32],
    const uint8_t token_hash[TOKEN_HASH_LEN], const char **why);

/**
 * cluster_sent_done(b, outcome):
 * A request sent to another broker got its answer (or its time-out).
 */
void cluster_sent_done(struct broker *b, int outcome);

/**
 * cluster_stats_json(b, buf, cap):
 * Append ",\"cluster\":{...}" to ${buf}.  Return its length or -1.
 */
long cluster_stats_json(const struct broker *b, char *buf, size_t cap);

#endif
