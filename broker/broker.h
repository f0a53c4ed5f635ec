#ifndef BROKER_BROKER_H
#define BROKER_BROKER_H

/*
 * awtrix-broker: one single-threaded epoll loop owns everything below.
 *
 *   agent.c      device sessions: Noise XK handshake, registration, link
 *   frontconn.c  the Unix socket of awtrix-cloud.fcgi: front frames
 *   route.c      a request from the front to a session and the answer back
 *   loop.c       sockets, epoll, timers, signals, shutdown
 *   db.c         SQLite: hashes and the binding rules
 *   table.c      session lookup by device-key hash and by token hash
 *   cluster.c    --nats: routing, eviction and bindings across brokers
 *   metrics.c    the Prometheus text of the figures below
 *   notify.c     systemd readiness and watchdog (sd_notify)
 *   fairness.c   per-device in-flight cap and cool-off
 *   peers.c      per-source-address counters (memory only, hashed)
 *   admit.c      who may make a first registration (floods, --max-devices)
 */

#include <sys/types.h>

#include <stdint.h>

#include "db.h"
#include "front.h"
#include "keyfile.h"
#include "link.h"
#include "linkmsg.h"
#include "metrics.h"
#include "lograte.h"
#include "noise.h"
#include "peers.h"
#include "relay.h"
#include "table.h"

struct broker_config {
	const char *key_path;
	const char *db_path;
	const char *socket_path;
	const char *listen;		/* HOST:PORT */
	const char *public_url;		/* may be NULL */
	gid_t socket_gid;		/* also allowed on the socket */
	const char *user;		/* drop to this user (needed as root) */
	uid_t user_uid;
	gid_t user_gid;
	int handshake_ms;		/* 5000: accept to message 3 */
	int msg1_ms;			/* 1500: accept to message 1 */
	int max_src_handshakes;		/* per source address: 16 */
	long max_devices;		/* bindings: 100000 */
	double reg_rate, reg_burst;	/* first registrations: 5/s, 100 */
	double src_reg_rate;		/* per source: 1/60 s */
	double src_reg_burst;		/* 10 */
	int log_window_ms;		/* repeated events: 60000 (lograte) */
	int deadline_ms;		/* 8000 */
	double rate;			/* requests per second per token: 5 */
	double burst;			/* 30 */
	int max_inflight;		/* per device: 4 */
	int cooloff_ms;			/* fairness.c: FAIR_COOLOFF_MS */
	int max_handshakes;		/* concurrent: 1024 */
	int max_pending;		/* requests in flight in all: 4096 */
	int ping_s;			/* send a ping after this idle: 20 */
	int dead_s;			/* drop a link silent this long: 50 */
	const char *nats;		/* --nats URL[,URL...], or NULL */
	int kv_replicas;		/* of the cluster's KV bucket: 3 */
};

/* Every object registered with epoll starts with its kind. */
enum conn_kind {
	CONN_LISTEN_TCP = 1,
	CONN_LISTEN_UNIX,
	CONN_SIGNAL,
	CONN_AGENT,
	CONN_FRONT,
	CONN_CLUSTER
};

struct conn {
	uint8_t kind;
	int fd;
};

enum agent_state {
	AGENT_MSG1,		/* waiting for Noise message 1 */
	AGENT_MSG3,		/* sent message 2, waiting for message 3 */
	AGENT_BINDING,		/* --nats: waiting for the cluster's binding */
	AGENT_LIVE,		/* registered, routing */
	AGENT_CLOSING		/* refused: flushing the answer, then close */
};

/* Handshake state: allocated at accept, freed at registration. */
struct handshake {
	struct noise_xk xk;
	uint8_t buf[NOISE_XK_MSG3_LEN(LINKMSG_REGISTER_LEN)];
	uint16_t have;
	uint64_t deadline_ms;
};

struct pending;
struct cluster;
struct cluster_job;

struct agent {
	uint8_t kind;			/* CONN_AGENT */
	uint8_t state;			/* enum agent_state */
	uint8_t in_tables;
	uint8_t inflight;
	uint8_t clock_down;		/* LM_CLOCK said: clock not answering */
	uint8_t timeouts;		/* consecutive, for fairness.c */
	uint32_t events;		/* what epoll reports now */
	uint32_t next_id;
	struct link link;		/* link.fd is the socket */
	uint8_t token_hash[TOKEN_HASH_LEN];
	uint8_t device_hash[TOKEN_HASH_LEN];
	uint32_t last_rx_s, last_tx_s;	/* monotonic seconds */
	uint32_t bucket_ms;		/* last refill of the rate bucket */
	float bucket;
	uint64_t cooloff_until_ms;
	struct handshake *hs;
	struct peer *peer;		/* its source, during the handshake */
	struct broker *broker;		/* for admit_registration */
	struct agent *hs_prev, *hs_next;	/* handshakes, by deadline */
	struct pending *pending;	/* requests in flight on this link */
	/* --nats only (cluster.c) */
	uint8_t route_hash[TOKEN_HASH_LEN];	/* keyed hash of token_hash */
	uint8_t held;			/* subscribed on its subject */
	uint64_t since_ms;		/* wall clock at registration */
	void *sub;			/* natsSubscription */
	struct cluster_job *job;	/* binding or rotation in the KV */
};

struct front {
	uint8_t kind;			/* CONN_FRONT */
	int fd;
	uint32_t gen;
	uint32_t events;		/* what epoll reports now */
	uint8_t *in;			/* FRONT_FRAME_MAX */
	uint32_t in_len;
	uint8_t *out;
	uint32_t out_len, out_off, out_cap;
};

#define PENDING_REPLY_MAX 96

/* A request in flight.  Its origin is a front connection (front_fd >= 0)
 * or, with --nats, another broker waiting on ${reply}.  With agent NULL it
 * is a request this broker sent to another one (link_id: its serial). */
struct pending {
	uint32_t link_id;
	uint32_t front_id;
	int front_fd;
	uint32_t front_gen;
	uint64_t deadline_ms;
	uint64_t start_ms;			/* for the latency histogram */
	struct agent *agent;
	struct pending *prev, *next;		/* all, by deadline */
	struct pending *ag_prev, *ag_next;	/* this agent's */
	uint8_t in_use;
	char reply[PENDING_REPLY_MAX];		/* NATS reply subject, or "" */
};

struct broker_stats {
	uint64_t handshakes_ok;
	uint64_t handshakes_failed;
	uint64_t registrations_refused;
	uint64_t rotations;
	uint64_t replaced_sessions;
	uint64_t dead_links;
	uint64_t late_answers;
	uint64_t answers_refused;	/* broke the answer rules: 502 */
	uint64_t cooloffs;
	uint64_t handshakes_evicted;
	uint64_t registrations_busy;
	uint64_t registrations_full;
	uint64_t requests[RELAY_OUTCOME_COUNT];
	uint64_t front_refused;
};

struct broker {
	struct broker_config cfg;
	struct broker_key key;
	struct db *db;
	int epfd;
	struct conn tcp, unix_sock, sig;
	int accept_paused;
	uint64_t accept_resume_ms;	/* after EMFILE */
	uint64_t now_ms;		/* CLOCK_MONOTONIC, per loop turn */
	uint64_t started_ms;
	uint64_t next_sweep_ms;
	struct table devices;		/* by device hash */
	struct table tokens;		/* by token hash */
	struct agent *hs_head, *hs_tail;	/* waiting for message 1 */
	struct agent *hs3_head, *hs3_tail;	/* waiting for message 3 */
	unsigned handshakes;
	struct agent *dead;		/* closed this turn, freed after it */
	struct peers peers;
	float reg_tokens;		/* global first-registration bucket */
	uint32_t reg_ms;
	long ndevices;			/* bound devices (cached count) */
	struct lograte lr_handshake, lr_session, lr_registration;
	struct front **fronts;		/* by fd */
	int fronts_cap;
	unsigned nfronts;
	uint32_t front_gen;
	struct pending *pool;		/* cfg.max_pending entries */
	struct pending *free_pending;
	struct pending *pend_head, *pend_tail;
	unsigned npending;
	struct broker_stats stats;
	struct cluster *cluster;	/* --nats, else NULL */
	struct broker_metrics metrics;
	int stop;
	uint8_t msg[LINK_PLAIN_MAX];	/* scratch for one outgoing message */
	uint8_t rbuf[LINK_FRAME_MAX];	/* every link reads into this first */
	uint8_t frame[FRONT_FRAME_MAX];	/* scratch for one front frame */
};

/* loop.c */
int broker_serve(struct broker_config *cfg);
int broker_watch(struct broker *b, struct conn *c, int fd, uint32_t events);
void broker_rewatch(struct broker *b, struct conn *c, int fd,
    uint32_t *cur, uint32_t events);
void broker_unwatch(struct broker *b, int fd);
uint32_t broker_now_s(const struct broker *b);

/* agent.c */
void agent_accept(struct broker *b);
void agent_event(struct broker *b, struct agent *a, uint32_t events);
void agent_close(struct broker *b, struct agent *a, const char *why);
void agent_reap(struct broker *b);
void agent_expire_handshakes(struct broker *b);
void agent_sweep(struct broker *b);
void agent_check_revoked(struct broker *b);
int agent_send(struct broker *b, struct agent *a, const uint8_t *msg,
    size_t len);
uint64_t agent_next_deadline(const struct broker *b);
void agent_bind_done(struct broker *b, struct agent *a, int result);
void agent_rotate_done(struct broker *b, struct agent *a,
    const uint8_t token_hash[TOKEN_HASH_LEN], int result);

/* admit.c */
int admit_init(struct broker *b);
int admit_registration(void *agent);
void admit_recount(struct broker *b);

/* frontconn.c */
void front_accept(struct broker *b);
void front_event(struct broker *b, struct front *f, uint32_t events);
void front_close(struct broker *b, struct front *f);
void front_reply(struct broker *b, int fd, uint32_t gen, uint32_t id,
    const struct relay_answer *ans);

/* route.c */
int route_init(struct broker *b);
void route_request(struct broker *b, struct front *f, const struct front_msg *m);
void route_answer(struct broker *b, struct agent *a, uint32_t id,
    const struct relay_answer *ans);
void route_agent_gone(struct broker *b, struct agent *a);
void route_agent_failed(struct broker *b, struct agent *a);
void route_expire(struct broker *b);
uint64_t route_next_deadline(const struct broker *b);
void route_reply_outcome(struct broker *b, int fd, uint32_t gen, uint32_t id,
    int outcome, uint16_t retry_after);
long route_stats_json(const struct broker *b, char *buf, size_t cap);
int route_deliver(struct broker *b, struct agent *a, uint32_t deadline_ms,
    const struct relay_request *req, struct pending *origin,
    uint16_t *retry_after);
struct pending *route_pending_new(struct broker *b, struct agent *a,
    uint64_t deadline_ms);
void route_pending_finish(struct broker *b, struct pending *p,
    const struct relay_answer *ans);

#endif
