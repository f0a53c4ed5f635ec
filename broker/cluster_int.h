#ifndef BROKER_CLUSTER_INT_H
#define BROKER_CLUSTER_INT_H

/*
 * Inside --nats: what cluster.c (connection, routing, eviction) and
 * cluster_kv.c (the KV worker and the binding rules) share.  Only these two
 * files include it, and with it nats.h.
 */

#include <pthread.h>
#include <stdint.h>

#include <nats/nats.h>

#include "broker.h"

#define SUBJ_DEV "awtrix.d."
#define SUBJ_PEERS "awtrix.peers"
#define BUCKET "awtrix"
#define ID_LEN 16
#define HASH_HEX (2 * TOKEN_HASH_LEN)
#define KEY_MAX (2 + HASH_HEX + 1)
#define CUR_LEN (2 * HASH_HEX + 1)	/* "<t>:<route>" in d.<d> */
#define QUEUE_MAX 16384
#define JOBS_MAX 256
#define PEERS_MAX 64
#define PEER_TTL_MS 15000
#define BEAT_MS 5000
#define KV_WAIT_MS 2000
#define URLS_MAX 16
#define DEADLINE_MARGIN_MS 20

struct cluster_ev {
	struct cluster_ev *next;
	natsMsg *msg;
};

struct cluster_job {
	struct cluster_job *next;
	struct agent *agent;		/* loop thread only; NULL: cancelled */
	uint8_t th[TOKEN_HASH_LEN];	/* what agent_*_done gets back */
	int rotation;
	/* Inputs (set before queueing) and result, for the worker. */
	char k_rev[KEY_MAX], k_bind[KEY_MAX], k_dev[KEY_MAX],
	    k_oldrev[KEY_MAX];
	char v_dev[HASH_HEX + 1], v_cur[CUR_LEN + 1];
	int result;
};

struct cluster_peer {
	uint8_t id[ID_LEN];
	uint64_t seen_ms;
};

struct cluster_stats {
	uint64_t sent, answered, served, no_responders, timeouts, nats_down,
	    publish_failed, malformed, late, evictions_sent, evicted,
	    refused_cluster, kv_failed, dropped;
};

struct cluster {
	struct conn conn;		/* CONN_CLUSTER: the eventfd */
	natsOptions *opts;
	natsConnection *nc;
	natsSubscription *inbox_sub, *peers_sub;
	char inbox[64];
	size_t inbox_len;

	/* Shared with nats.c's threads and the worker: under mu. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct cluster_ev *q_head, *q_tail;
	unsigned q_len;
	int state_changed;
	uint64_t dropped;
	struct cluster_job *j_head, *j_tail;	/* to the worker */
	struct cluster_job *d_head, *d_tail;	/* done, to the loop */
	int kv_ready;
	int quit;

	/* The worker's own. */
	pthread_t worker;
	int worker_started;
	jsCtx *js;
	kvStore *kv;
	int kv_logged;

	/* The loop's own. */
	int up;
	unsigned jobs;
	struct table routes;		/* held agents by route_hash */
	uint8_t id[ID_LEN];
	uint8_t route_key[32], kv_key[32];
	uint32_t seq;
	uint64_t last_since;
	uint64_t next_beat_ms;
	struct cluster_peer peers[PEERS_MAX];
	struct cluster_stats st;
	uint8_t buf[RELAY_BODY_MAX + 4096];
};

/**
 * cluster_wake(c):
 * Wake the loop thread (write the eventfd).  Any thread.
 */
void cluster_wake(struct cluster *c);

/**
 * cluster_hex(out, p, n):
 * Write the ${n} bytes at ${p} as 2n lower-case hex digits and a NUL.
 */
void cluster_hex(char *out, const uint8_t *p, size_t n);

/**
 * cluster_derive(out, key, tag, h):
 * Keyed BLAKE2b-256 of ${tag} || ${h} under ${key}: subjects and KV names
 * are unlinkable to the database's hashes without the broker key file.
 */
void cluster_derive(uint8_t out[TOKEN_HASH_LEN], const uint8_t key[32],
    char tag, const uint8_t h[TOKEN_HASH_LEN]);

/**
 * cluster_subject(out, cap, route):
 * The subject of the token whose route hash is ${route}.
 */
void cluster_subject(char *out, size_t cap,
    const uint8_t route[TOKEN_HASH_LEN]);

/**
 * cluster_subkeys(c, hash_key):
 * Derive c->route_key and c->kv_key from the key file's hash key.
 */
void cluster_subkeys(struct cluster *c, const uint8_t hash_key[32]);

/**
 * cluster_set_options(c, urls):
 * Create c->opts for the comma-separated ${urls}.  Return 0 or -1.
 */
int cluster_set_options(struct cluster *c, const char *urls);

/**
 * cluster_worker_main(b):
 * The KV worker thread (cluster_kv.c): runs jobs until c->quit.
 */
void *cluster_worker_main(void *b);

/**
 * cluster_job_done(b, j):
 * On the loop thread: hand the result of ${j} to its agent (if it is
 * still there) and free ${j}.
 */
void cluster_job_done(struct broker *b, struct cluster_job *j);

#endif
