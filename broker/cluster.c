/*
 * --nats: the cluster of brokers (see cluster.h and docs/scale-out.md).
 *
 * Subjects (hex of keyed hashes, never a token or the database's hash):
 *   awtrix.d.<route>   the holder of a token subscribes; requests ('Q')
 *                      and evictions ('E') are published there.  A request
 *                      carries its deadline twice: the time left, and the
 *                      wall-clock instant, so that a request delayed in a
 *                      frozen NATS node is dropped, never executed late
 *                      `awtrix-broker revoke --nats` publishes 'R' there
 *   <inbox>.<n>        this broker's replies ('A'); n names the pending
 *                      entry (pool index << 32 | serial)
 *   awtrix.peers       a heartbeat ('P' + broker id) every 5 s
 *
 * Threads: nats.c calls on_msg/on_state from its own threads; they only
 * append to a mutex-protected queue and write the eventfd.  The worker
 * thread of cluster_kv.c runs the blocking KV calls, one job at a time, and
 * hands each finished job back the same way.  Everything else runs on the
 * loop.
 */
#define _GNU_SOURCE
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>
#include <sodium.h>

#include "broker.h"
#include "cluster.h"
#include "cluster_int.h"
#include "log.h"
#include "wire.h"

static uint64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

/**
 * cluster_hex(out, p, n):
 * Write the ${n} bytes at ${p} as 2n lower-case hex digits and a NUL.
 */
void
cluster_hex(char *out, const uint8_t *p, size_t n)
{
	static const char d[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int
unhex(uint8_t *out, const char *s, size_t n)
{
	size_t i;
	int hi, lo;

	for (i = 0; i < n; i++) {
		hi = s[2 * i];
		lo = s[2 * i + 1];
		hi = hi >= '0' && hi <= '9' ? hi - '0' :
		    hi >= 'a' && hi <= 'f' ? hi - 'a' + 10 : -1;
		lo = lo >= '0' && lo <= '9' ? lo - '0' :
		    lo >= 'a' && lo <= 'f' ? lo - 'a' + 10 : -1;
		if (hi < 0 || lo < 0)
			return (-1);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (0);
}

/**
 * cluster_derive(out, key, tag, h):
 * Keyed BLAKE2b-256 of ${tag} || ${h} under ${key}: subjects and KV names
 * are unlinkable to the database's hashes without the broker key file.
 */
void
cluster_derive(uint8_t out[TOKEN_HASH_LEN], const uint8_t key[32], char tag,
    const uint8_t h[TOKEN_HASH_LEN])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, key, 32, TOKEN_HASH_LEN);
	crypto_generichash_update(&st, (const uint8_t *)&tag, 1);
	crypto_generichash_update(&st, h, TOKEN_HASH_LEN);
	crypto_generichash_final(&st, out, TOKEN_HASH_LEN);
}

/**
 * cluster_subject(out, cap, route):
 * The subject of the token whose route hash is ${route}.
 */
void
cluster_subject(char *out, size_t cap, const uint8_t route[TOKEN_HASH_LEN])
{
	char h[HASH_HEX + 1];

	cluster_hex(h, route, TOKEN_HASH_LEN);
	snprintf(out, cap, "%s%s", SUBJ_DEV, h);
}

/* --- nats.c's threads --------------------------------------------------- */

/**
 * cluster_wake(c):
 * Wake the loop thread (write the eventfd).  Any thread.
 */
void
cluster_wake(struct cluster *c)
{
	uint64_t one = 1;

	(void)!write(c->conn.fd, &one, sizeof(one));
}

static void
on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg,
    void *closure)
{
	struct cluster *c = closure;
	struct cluster_ev *e;
	int first;

	(void)nc;
	(void)sub;
	pthread_mutex_lock(&c->mu);
	if (c->q_len >= QUEUE_MAX || (e = malloc(sizeof(*e))) == NULL) {
		c->dropped++;
		pthread_mutex_unlock(&c->mu);
		natsMsg_Destroy(msg);
		return;
	}
	e->next = NULL;
	e->msg = msg;
	first = c->q_head == NULL;
	if (c->q_tail)
		c->q_tail->next = e;
	else
		c->q_head = e;
	c->q_tail = e;
	c->q_len++;
	pthread_mutex_unlock(&c->mu);
	/* A non-empty queue has a wake-up pending already: the loop takes
	 * the whole queue at once, under the lock. */
	if (first)
		cluster_wake(c);
}

static void
on_state(natsConnection *nc, void *closure)
{
	struct cluster *c = closure;

	(void)nc;
	pthread_mutex_lock(&c->mu);
	c->state_changed = 1;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	cluster_wake(c);
}

/* --- the loop thread ------------------------------------------------------ */

int
cluster_up(const struct broker *b)
{
	const struct cluster *c = b->cluster;

	return (c != NULL && c->up &&
	    natsConnection_Status(c->nc) == NATS_CONN_STATUS_CONNECTED);
}

static void
send_evict(struct broker *b, struct agent *a)
{
	struct cluster *c = b->cluster;
	struct wire_writer w;
	char subj[80];
	long n;

	if (!cluster_up(b))
		return;
	cluster_subject(subj, sizeof(subj), a->route_hash);
	wire_writer_init(&w, c->buf, sizeof(c->buf));
	wire_put_u8(&w, 'E');
	wire_put_u32(&w, (uint32_t)(a->since_ms >> 32));
	wire_put_u32(&w, (uint32_t)a->since_ms);
	wire_put_bytes(&w, c->id, ID_LEN);
	if ((n = wire_writer_end(&w)) < 0)
		return;
	if (natsConnection_Publish(c->nc, subj, c->buf, (int)n) == NATS_OK)
		c->st.evictions_sent++;
	else
		c->st.publish_failed++;
}

/* The connection came back (or went): after a reconnect, tell the others
 * again which tokens are held here, since evictions sent while we were
 * away were lost. */
static void
update_state(struct broker *b, int kv_ready)
{
	struct cluster *c = b->cluster;
	int up = natsConnection_Status(c->nc) == NATS_CONN_STATUS_CONNECTED &&
	    kv_ready;
	struct pending *p, *next;
	struct relay_answer ans;
	struct agent *a;
	size_t i;

	if (up == c->up)
		return;
	c->up = up;
	log_info_ev("cluster.state", "cluster: %s", up ? "connected" : "NATS unreachable: "
	    "serving local devices only, refusing registrations");
	if (!up) {
		/* Our requests out there will get no answer: say so now. */
		memset(&ans, 0, sizeof(ans));
		ans.outcome = RELAY_OVERLOADED;
		ans.retry_after = 1;
		for (p = b->pend_head; p != NULL; p = next) {
			next = p->next;
			if (p->agent == NULL) {
				c->st.nats_down++;
				route_pending_finish(b, p, &ans);
			}
		}
		return;
	}
	for (i = 0; i < c->routes.cap; i++)
		if ((a = table_at(&c->routes, i)) != NULL)
			send_evict(b, a);
}

void
cluster_reply(struct broker *b, const char *subject,
    const struct relay_answer *ans)
{
	struct cluster *c = b->cluster;
	struct wire_writer w;
	long n;

	if (c == NULL)
		return;
	c->st.served++;
	if (!cluster_up(b)) {
		c->st.nats_down++;
		return;
	}
	wire_writer_init(&w, c->buf, sizeof(c->buf));
	wire_put_u8(&w, 'A');
	relay_answer_put(&w, ans);
	if ((n = wire_writer_end(&w)) < 0 ||
	    natsConnection_Publish(c->nc, subject, c->buf, (int)n) != NATS_OK)
		c->st.publish_failed++;
}

static void
reply_outcome(struct broker *b, const char *subject, int outcome,
    uint16_t retry_after)
{
	struct relay_answer ans;

	memset(&ans, 0, sizeof(ans));
	ans.outcome = (uint8_t)outcome;
	ans.retry_after = retry_after;
	cluster_reply(b, subject, &ans);
}

void
cluster_route(struct broker *b, struct front *f, const struct front_msg *m,
    const uint8_t token_hash[TOKEN_HASH_LEN])
{
	struct cluster *c = b->cluster;
	uint8_t route[TOKEN_HASH_LEN];
	struct relay_answer ans;
	struct wire_writer w;
	struct pending *p;
	char subj[80], reply[PENDING_REPLY_MAX];
	uint64_t at;
	uint32_t left;
	long n;

	if (!cluster_up(b)) {
		c->st.nats_down++;
		route_reply_outcome(b, f->fd, f->gen, m->id, RELAY_OVERLOADED,
		    1);
		return;
	}
	p = route_pending_new(b, NULL, b->now_ms + (uint64_t)b->cfg.deadline_ms);
	if (p == NULL) {
		route_reply_outcome(b, f->fd, f->gen, m->id, RELAY_OVERLOADED,
		    1);
		return;
	}
	p->front_fd = f->fd;
	p->front_gen = f->gen;
	p->front_id = m->id;
	p->link_id = ++c->seq;
	cluster_derive(route, c->route_key, 'r', token_hash);
	cluster_subject(subj, sizeof(subj), route);
	snprintf(reply, sizeof(reply), "%s.%llu", c->inbox,
	    (unsigned long long)((uint64_t)(p - b->pool) << 32 | p->link_id));
	wire_writer_init(&w, c->buf, sizeof(c->buf));
	wire_put_u8(&w, 'Q');
	/* Leave the holder's own time-out a little room to arrive first. */
	left = (uint32_t)(b->cfg.deadline_ms > 2 * DEADLINE_MARGIN_MS ?
	    b->cfg.deadline_ms - DEADLINE_MARGIN_MS : b->cfg.deadline_ms);
	at = wall_ms() + left;
	wire_put_u32(&w, left);
	wire_put_u32(&w, (uint32_t)(at >> 32));
	wire_put_u32(&w, (uint32_t)at);
	relay_request_put(&w, &m->req);
	c->st.sent++;
	if ((n = wire_writer_end(&w)) < 0 ||
	    natsConnection_PublishRequest(c->nc, subj, reply, c->buf,
	    (int)n) != NATS_OK) {
		c->st.publish_failed++;
		memset(&ans, 0, sizeof(ans));
		ans.outcome = RELAY_OVERLOADED;
		ans.retry_after = 1;
		route_pending_finish(b, p, &ans);
	}
}

/* An answer to one of our requests, on our inbox. */
static void
handle_reply(struct broker *b, natsMsg *msg, const char *idstr)
{
	struct cluster *c = b->cluster;
	struct relay_answer ans;
	struct wire_reader r;
	struct pending *p;
	unsigned long long v;
	char *end;
	uint64_t idx;

	errno = 0;
	v = strtoull(idstr, &end, 10);
	idx = v >> 32;
	if (errno || *end != '\0' || idx >= (uint64_t)b->cfg.max_pending) {
		c->st.malformed++;
		return;
	}
	p = &b->pool[idx];
	if (!p->in_use || p->agent != NULL || p->reply[0] != '\0' ||
	    p->link_id != (uint32_t)v) {
		c->st.late++;	/* its deadline passed: answered already */
		return;
	}
	memset(&ans, 0, sizeof(ans));
	if (natsMsg_IsNoResponders(msg)) {
		/* Nobody holds the token: the same answer as one broker's. */
		c->st.no_responders++;
		ans.outcome = RELAY_OFFLINE;
	} else {
		wire_reader_init(&r, natsMsg_GetData(msg),
		    (size_t)natsMsg_GetDataLength(msg));
		if (wire_get_u8(&r) != 'A' || relay_answer_get(&r, &ans) ||
		    wire_reader_end(&r) || ans.outcome >= RELAY_OUTCOME_COUNT) {
			c->st.malformed++;
			memset(&ans, 0, sizeof(ans));
			ans.outcome = RELAY_OVERLOADED;
			ans.retry_after = 1;
		}
	}
	route_pending_finish(b, p, &ans);
}

/* A request or an eviction for a token we may hold. */
static void
handle_device(struct broker *b, natsMsg *msg, const char *routehex)
{
	struct cluster *c = b->cluster;
	uint8_t route[TOKEN_HASH_LEN], their_id[ID_LEN];
	struct relay_request req;
	struct pending origin;
	struct wire_reader r;
	const char *reply = natsMsg_GetReply(msg);
	const uint8_t *idp;
	struct agent *a;
	uint64_t since, at, now;
	uint32_t deadline;
	uint16_t wait;
	uint8_t kind;
	int outcome, newer;

	if (strlen(routehex) != HASH_HEX || unhex(route, routehex,
	    TOKEN_HASH_LEN)) {
		c->st.malformed++;
		return;
	}
	a = table_get(&c->routes, route);
	wire_reader_init(&r, natsMsg_GetData(msg),
	    (size_t)natsMsg_GetDataLength(msg));
	kind = wire_get_u8(&r);
	if (kind == 'R') {
		/* Revoked in the KV already: by `awtrix-broker revoke --nats`,
		 * or a rotation at a registration on another broker. */
		if (wire_reader_end(&r)) {
			c->st.malformed++;
			return;
		}
		if (a != NULL)
			agent_close(b, a, "token revoked (by the operator, or "
			    "rotated on another broker)");
		return;
	}
	if (kind == 'E') {
		since = (uint64_t)wire_get_u32(&r) << 32;
		since |= wire_get_u32(&r);
		idp = wire_get_bytes(&r, ID_LEN);
		if (wire_reader_end(&r) || idp == NULL) {
			c->st.malformed++;
			return;
		}
		memcpy(their_id, idp, ID_LEN);
		if (a == NULL || memcmp(their_id, c->id, ID_LEN) == 0)
			return;
		/* The newer session wins; equal times by broker id. */
		newer = since > a->since_ms || (since == a->since_ms &&
		    memcmp(their_id, c->id, ID_LEN) > 0);
		if (newer) {
			c->st.evicted++;
			agent_close(b, a, "superseded by a session on another "
			    "broker");
		} else
			send_evict(b, a);	/* a stale holder: it must go */
		return;
	}
	if (kind != 'Q' || reply == NULL || reply[0] == '\0' ||
	    strlen(reply) >= PENDING_REPLY_MAX) {
		c->st.malformed++;
		return;
	}
	deadline = wire_get_u32(&r);
	at = (uint64_t)wire_get_u32(&r) << 32;
	at |= wire_get_u32(&r);
	if (r.bad || relay_request_get(&r, &req) || wire_reader_end(&r)) {
		c->st.malformed++;
		reply_outcome(b, reply, RELAY_BAD_REQUEST, 0);
		return;
	}
	/* Held up on the way (a frozen node): its caller has given up. */
	now = wall_ms();
	if (at <= now) {
		c->st.late++;
		return;
	}
	if (at - now < deadline)
		deadline = (uint32_t)(at - now);
	if (a == NULL || a->state != AGENT_LIVE) {
		reply_outcome(b, reply, RELAY_OFFLINE, 0);
		return;
	}
	memset(&origin, 0, sizeof(origin));
	origin.front_fd = -1;
	snprintf(origin.reply, sizeof(origin.reply), "%s", reply);
	outcome = route_deliver(b, a, deadline, &req, &origin, &wait);
	if (outcome >= 0)
		reply_outcome(b, reply, outcome, wait);
}

static void
handle_peer(struct broker *b, natsMsg *msg)
{
	struct cluster *c = b->cluster;
	const uint8_t *p = (const uint8_t *)natsMsg_GetData(msg);
	int i, free_slot = -1, oldest = 0;

	if (natsMsg_GetDataLength(msg) != 1 + ID_LEN || p[0] != 'P') {
		c->st.malformed++;
		return;
	}
	for (i = 0; i < PEERS_MAX; i++) {
		if (c->peers[i].seen_ms != 0 &&
		    memcmp(c->peers[i].id, p + 1, ID_LEN) == 0) {
			c->peers[i].seen_ms = b->now_ms;
			return;
		}
		if (c->peers[i].seen_ms == 0 && free_slot < 0)
			free_slot = i;
		if (c->peers[i].seen_ms < c->peers[oldest].seen_ms)
			oldest = i;
	}
	i = free_slot >= 0 ? free_slot : oldest;
	memcpy(c->peers[i].id, p + 1, ID_LEN);
	c->peers[i].seen_ms = b->now_ms;
}

static void
handle_msg(struct broker *b, natsMsg *msg)
{
	struct cluster *c = b->cluster;
	const char *subj = natsMsg_GetSubject(msg);

	if (strncmp(subj, c->inbox, c->inbox_len) == 0 &&
	    subj[c->inbox_len] == '.')
		handle_reply(b, msg, subj + c->inbox_len + 1);
	else if (strncmp(subj, SUBJ_DEV, strlen(SUBJ_DEV)) == 0)
		handle_device(b, msg, subj + strlen(SUBJ_DEV));
	else if (strcmp(subj, SUBJ_PEERS) == 0)
		handle_peer(b, msg);
}

void
cluster_event(struct broker *b)
{
	struct cluster *c = b->cluster;
	struct cluster_ev *e, *next;
	struct cluster_job *j, *jn;
	uint64_t v;
	int changed, kv_ready;

	while (read(c->conn.fd, &v, sizeof(v)) == sizeof(v))
		;
	pthread_mutex_lock(&c->mu);
	e = c->q_head;
	c->q_head = c->q_tail = NULL;
	c->q_len = 0;
	j = c->d_head;
	c->d_head = c->d_tail = NULL;
	changed = c->state_changed;
	c->state_changed = 0;
	kv_ready = c->kv_ready;
	c->st.dropped = c->dropped;
	pthread_mutex_unlock(&c->mu);
	if (changed)
		update_state(b, kv_ready);
	for (; e != NULL; e = next) {
		next = e->next;
		handle_msg(b, e->msg);
		natsMsg_Destroy(e->msg);
		free(e);
	}
	for (; j != NULL; j = jn) {
		jn = j->next;
		cluster_job_done(b, j);
	}
}

void
cluster_timers(struct broker *b)
{
	struct cluster *c = b->cluster;
	uint8_t beat[1 + ID_LEN];
	int kv_ready;

	if (c == NULL || b->now_ms < c->next_beat_ms)
		return;
	c->next_beat_ms = b->now_ms + BEAT_MS;
	/* A missed callback would leave c->up stale: look again. */
	pthread_mutex_lock(&c->mu);
	kv_ready = c->kv_ready;
	pthread_mutex_unlock(&c->mu);
	update_state(b, kv_ready);
	if (!cluster_up(b))
		return;
	beat[0] = 'P';
	memcpy(beat + 1, c->id, ID_LEN);
	(void)natsConnection_Publish(c->nc, SUBJ_PEERS, beat, sizeof(beat));
}

int
cluster_hold(struct broker *b, struct agent *a)
{
	struct cluster *c = b->cluster;
	natsSubscription *sub = NULL;
	char subj[80];
	uint64_t now;

	if (c == NULL)
		return (0);
	cluster_release(b, a);
	cluster_derive(a->route_hash, c->route_key, 'r', a->token_hash);
	cluster_subject(subj, sizeof(subj), a->route_hash);
	if (natsConnection_Subscribe(&sub, c->nc, subj, on_msg, c) != NATS_OK)
		return (-1);
	if (table_put(&c->routes, a)) {
		natsSubscription_Destroy(sub);
		return (-1);
	}
	/* Strictly increasing here, so that our own sessions are ordered. */
	now = wall_ms();
	a->since_ms = now > c->last_since ? now : c->last_since + 1;
	c->last_since = a->since_ms;
	a->sub = sub;
	a->held = 1;
	send_evict(b, a);
	return (0);
}

void
cluster_release(struct broker *b, struct agent *a)
{
	struct cluster *c = b->cluster;

	if (c == NULL)
		return;
	if (a->job != NULL) {
		a->job->agent = NULL;	/* freed when the worker is done */
		a->job = NULL;
	}
	if (!a->held)
		return;
	table_del(&c->routes, a);
	(void)natsSubscription_Unsubscribe(a->sub);
	natsSubscription_Destroy(a->sub);
	a->sub = NULL;
	a->held = 0;
}

long
cluster_stats_json(const struct broker *b, char *buf, size_t cap)
{
	const struct cluster *c = b->cluster;
	const struct cluster_stats *s = &c->st;
	unsigned peers = 0;
	int i, n;

	for (i = 0; i < PEERS_MAX; i++)
		if (c->peers[i].seen_ms != 0 &&
		    b->now_ms - c->peers[i].seen_ms < PEER_TTL_MS)
			peers++;
	n = snprintf(buf, cap, ",\"cluster\":{\"nats_connected\":%d,"
	    "\"peers_seen\":%u,\"devices_held\":%zu,\"requests_sent\":%llu,"
	    "\"requests_answered\":%llu,\"requests_served\":%llu,"
	    "\"evictions_sent\":%llu,\"sessions_evicted\":%llu,"
	    "\"registrations_refused\":%llu,\"failures\":{"
	    "\"no_responders\":%llu,\"timeout\":%llu,\"nats_down\":%llu,"
	    "\"publish\":%llu,\"malformed\":%llu,\"late\":%llu,\"kv\":%llu,"
	    "\"dropped\":%llu}}",
	    c->up, peers, c->routes.count,
	    (unsigned long long)s->sent, (unsigned long long)s->answered,
	    (unsigned long long)s->served,
	    (unsigned long long)s->evictions_sent,
	    (unsigned long long)s->evicted,
	    (unsigned long long)s->refused_cluster,
	    (unsigned long long)s->no_responders,
	    (unsigned long long)s->timeouts,
	    (unsigned long long)s->nats_down,
	    (unsigned long long)s->publish_failed,
	    (unsigned long long)s->malformed, (unsigned long long)s->late,
	    (unsigned long long)s->kv_failed, (unsigned long long)s->dropped);
	if (n < 0 || (size_t)n >= cap)
		return (-1);
	return (n);
}

void
cluster_sent_done(struct broker *b, int outcome)
{
	struct cluster *c = b->cluster;

	if (c == NULL)
		return;
	c->st.answered++;
	if (outcome == RELAY_TIMEOUT)
		c->st.timeouts++;
}

/**
 * cluster_set_options(c, urls):
 * Create c->opts for the comma-separated ${urls}.  Return 0 or -1.
 */
int
cluster_set_options(struct cluster *c, const char *urls)
{
	char *copy, *p, *save = NULL;
	const char *list[URLS_MAX];
	int n = 0;
	natsStatus s;

	if ((copy = strdup(urls)) == NULL)
		return (-1);
	for (p = strtok_r(copy, ",", &save); p && n < URLS_MAX;
	    p = strtok_r(NULL, ",", &save))
		list[n++] = p;
	s = natsOptions_Create(&c->opts);
	if (s == NATS_OK)
		s = natsOptions_SetServers(c->opts, list, n);
	free(copy);
	if (s == NATS_OK)
		s = natsOptions_SetName(c->opts, "awtrix-broker");
	/* In the order given: the local node first, the others on failure. */
	if (s == NATS_OK)
		s = natsOptions_SetNoRandomize(c->opts, true);
	/* A publish buffered while disconnected would be a late actuation:
	 * with 0, nats.c refuses every publish until reconnected. */
	if (s == NATS_OK)
		s = natsOptions_SetReconnectBufSize(c->opts, 0);
	if (s == NATS_OK)
		s = natsOptions_SetSendAsap(c->opts, true);
	/* One shared delivery thread, not one per device subscription. */
	if (s == NATS_OK)
		s = natsOptions_UseGlobalMessageDelivery(c->opts, true);
	if (s == NATS_OK)
		s = natsOptions_SetNoEcho(c->opts, true);
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(c->opts, -1);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectWait(c->opts, 250);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectJitter(c->opts, 250, 1000);
	/* A frozen server is noticed within about 3 s. */
	if (s == NATS_OK)
		s = natsOptions_SetPingInterval(c->opts, 1000);
	if (s == NATS_OK)
		s = natsOptions_SetMaxPingsOut(c->opts, 2);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(c->opts, 2000);
	if (s == NATS_OK)
		s = natsOptions_SetDisconnectedCB(c->opts, on_state, c);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectedCB(c->opts, on_state, c);
	if (s == NATS_OK)
		s = natsOptions_SetClosedCB(c->opts, on_state, c);
	if (s == NATS_OK)
		s = natsOptions_SetRetryOnFailedConnect(c->opts, true,
		    on_state, c);
	return (s == NATS_OK ? 0 : -1);
}

/**
 * cluster_subkeys(c, hash_key):
 * Derive c->route_key and c->kv_key from the key file's hash key.
 */
void
cluster_subkeys(struct cluster *c, const uint8_t hash_key[32])
{
	crypto_generichash(c->route_key, 32, (const uint8_t *)"nats route v1",
	    13, hash_key, 32);
	crypto_generichash(c->kv_key, 32, (const uint8_t *)"nats kv v1", 10,
	    hash_key, 32);
}

int
cluster_open(struct broker *b)
{
	struct cluster *c;
	natsInbox *inbox = NULL;
	char sub[80];
	natsStatus s;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_error_ev("start.out_of_memory", "out of memory");
		return (-1);
	}
	b->cluster = c;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	table_init(&c->routes, offsetof(struct agent, route_hash));
	randombytes_buf(c->id, sizeof(c->id));
	cluster_subkeys(c, b->key.hash_key);
	c->conn.kind = CONN_CLUSTER;
	c->conn.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->conn.fd < 0 || cluster_set_options(c, b->cfg.nats)) {
		log_error_ev("cluster.setup_failed", "cluster: cannot set up the NATS client");
		return (-1);
	}
	s = natsConnection_Connect(&c->nc, c->opts);
	if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED) {
		log_error_ev("cluster.setup_failed", "cluster: --nats: %s", natsStatus_GetText(s));
		return (-1);
	}
	if (s == NATS_NOT_YET_CONNECTED)
		log_warn_ev("cluster.state", "cluster: no NATS server reachable yet; retrying");
	if (natsInbox_Create(&inbox) != NATS_OK ||
	    strlen(inbox) >= sizeof(c->inbox) - 24) {
		natsInbox_Destroy(inbox);
		return (-1);
	}
	snprintf(c->inbox, sizeof(c->inbox), "%s", inbox);
	natsInbox_Destroy(inbox);
	c->inbox_len = strlen(c->inbox);
	snprintf(sub, sizeof(sub), "%s.*", c->inbox);
	if (natsConnection_Subscribe(&c->inbox_sub, c->nc, sub, on_msg, c) !=
	    NATS_OK ||
	    natsConnection_Subscribe(&c->peers_sub, c->nc, SUBJ_PEERS, on_msg,
	    c) != NATS_OK) {
		log_error_ev("cluster.setup_failed", "cluster: cannot subscribe");
		return (-1);
	}
	if (pthread_create(&c->worker, NULL, cluster_worker_main, b) != 0)
		return (-1);
	c->worker_started = 1;
	c->state_changed = 1;
	if (broker_watch(b, &c->conn, c->conn.fd, EPOLLIN))
		return (-1);
	cluster_wake(c);
	return (0);
}

void
cluster_close(struct broker *b)
{
	struct cluster *c = b->cluster;
	struct cluster_ev *e;
	struct cluster_job *j;

	if (c == NULL)
		return;
	if (c->nc != NULL)
		natsConnection_Close(c->nc);
	if (c->worker_started) {
		pthread_mutex_lock(&c->mu);
		c->quit = 1;
		pthread_cond_signal(&c->cv);
		pthread_mutex_unlock(&c->mu);
		pthread_join(c->worker, NULL);
	}
	natsSubscription_Destroy(c->inbox_sub);
	natsSubscription_Destroy(c->peers_sub);
	kvStore_Destroy(c->kv);
	jsCtx_Destroy(c->js);
	natsConnection_Destroy(c->nc);
	natsOptions_Destroy(c->opts);
	/* Wait for nats.c's threads, so nothing calls on_msg any more. */
	(void)nats_CloseAndWait(2000);
	pthread_mutex_lock(&c->mu);
	while ((e = c->q_head) != NULL) {
		c->q_head = e->next;
		natsMsg_Destroy(e->msg);
		free(e);
	}
	pthread_mutex_unlock(&c->mu);
	while ((j = c->j_head) != NULL) {
		c->j_head = j->next;
		free(j);
	}
	while ((j = c->d_head) != NULL) {
		c->d_head = j->next;
		free(j);
	}
	if (c->conn.fd >= 0)
		close(c->conn.fd);
	table_free(&c->routes);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	sodium_memzero(c->route_key, sizeof(c->route_key));
	sodium_memzero(c->kv_key, sizeof(c->kv_key));
	free(c);
	b->cluster = NULL;
}
