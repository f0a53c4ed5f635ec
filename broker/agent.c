/*
 * Device sessions on the broker, one state machine per connection:
 *
 *   accept -> AGENT_MSG1 --(read 48 bytes: e, es)--> write message 2
 *          -> AGENT_MSG3 --(read 98 bytes: s, se, registration)--> register
 *          -> AGENT_LIVE (routing, pings)  or  AGENT_CLOSING (refused)
 *
 * The handshake messages have fixed sizes, so they are read exactly, with
 * no length field to trust, and the whole handshake has a deadline.  Nothing
 * is acted on before message 3 has been authenticated.  Log lines name the
 * event only: never a token, a key or the peer's address.
 */
#define _GNU_SOURCE
#include <sys/epoll.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "broker.h"
#include "cluster.h"
#include "log.h"

#define MSG1_LEN NOISE_XK_MSG1_LEN(0)
#define MSG2_LEN NOISE_XK_MSG2_LEN(0)
#define MSG3_LEN NOISE_XK_MSG3_LEN(LINKMSG_REGISTER_LEN)
#define MESSAGES_PER_EVENT 64

/* The handshake queue ${a} is in: by state, each in deadline order. */
static struct agent **
hs_queue(struct broker *b, const struct agent *a, struct agent ***tail)
{
	if (a->state == AGENT_MSG1) {
		*tail = &b->hs_tail;
		return (&b->hs_head);
	}
	*tail = &b->hs3_tail;
	return (&b->hs3_head);
}

static void
hs_list_remove(struct broker *b, struct agent *a)
{
	struct agent **head, **tail;

	head = hs_queue(b, a, &tail);
	if (a->hs_prev)
		a->hs_prev->hs_next = a->hs_next;
	else
		*head = a->hs_next;
	if (a->hs_next)
		a->hs_next->hs_prev = a->hs_prev;
	else
		*tail = a->hs_prev;
	a->hs_prev = a->hs_next = NULL;
}

static void
hs_list_append(struct broker *b, struct agent *a)
{
	struct agent **head, **tail;

	head = hs_queue(b, a, &tail);
	a->hs_prev = *tail;
	a->hs_next = NULL;
	if (*tail)
		(*tail)->hs_next = a;
	else
		*head = a;
	*tail = a;
}

static void
hs_free(struct broker *b, struct agent *a)
{
	if (a->hs == NULL)
		return;
	hs_list_remove(b, a);
	b->handshakes--;
	if (a->peer != NULL && a->peer->handshakes > 0)
		a->peer->handshakes--;
	a->peer = NULL;
	noise_xk_wipe(&a->hs->xk);
	free(a->hs);
	a->hs = NULL;
}

void
agent_close(struct broker *b, struct agent *a, const char *why)
{
	/* Unauthenticated peers can repeat failures at will: summarised. */
	if (why != NULL && lograte_take(a->hs != NULL ? &b->lr_handshake :
	    &b->lr_session, b->now_ms))
		log_info_ev("session.closed", "session closed: %s", why);
	if (a->in_tables) {
		table_del(&b->devices, a);
		table_del(&b->tokens, a);
		a->in_tables = 0;
	}
	cluster_release(b, a);
	route_agent_gone(b, a);
	if (a->hs != NULL) {
		b->stats.handshakes_failed++;
		hs_free(b, a);
	}
	broker_unwatch(b, a->link.fd);
	link_close(&a->link);
	/* Freed after this loop turn: an event for it may still be in the
	 * batch (an eviction closes other connections than the one at hand),
	 * and kind 0 makes the loop skip it. */
	a->kind = 0;
	a->hs_next = b->dead;
	b->dead = a;
}

void
agent_reap(struct broker *b)
{
	struct agent *a;

	while ((a = b->dead) != NULL) {
		b->dead = a->hs_next;
		free(a);
	}
}

/* The agent broke the protocol: its requests are answered 502, then it
 * is closed. */
static void
agent_fail(struct broker *b, struct agent *a, const char *why)
{
	route_agent_failed(b, a);
	agent_close(b, a, why);
}

static void agent_handshake(struct broker *, struct agent *);

/* The oldest handshake of ${src} (any source if NULL): silent ones first. */
static struct agent *
hs_oldest(struct broker *b, const struct peer *src)
{
	struct agent *a;

	for (a = b->hs_head; a != NULL; a = a->hs_next)
		if (src == NULL || a->peer == src)
			return (a);
	for (a = b->hs3_head; a != NULL; a = a->hs_next)
		if (src == NULL || a->peer == src)
			return (a);
	return (NULL);
}

/*
 * Make room for one more handshake by closing the oldest pending one: of
 * the same source if it is at its cap, else of all.  Accepting never
 * pauses, so the backlog drains at once and a genuine agent behind a flood
 * of silent connections is accepted while its message 1 is fresh, and
 * finishes long before it would be the oldest.
 */
static void
hs_make_room(struct broker *b, struct peer *src)
{
	struct agent *victim;

	if (src != NULL && src->handshakes >= (unsigned)b->cfg.max_src_handshakes &&
	    (victim = hs_oldest(b, src)) != NULL) {
		b->stats.handshakes_evicted++;
		agent_close(b, victim, "handshake evicted (source at its cap)");
	}
	if (b->handshakes >= (unsigned)b->cfg.max_handshakes &&
	    (victim = hs_oldest(b, NULL)) != NULL) {
		b->stats.handshakes_evicted++;
		agent_close(b, victim, "handshake evicted (all slots taken)");
	}
}

void
agent_accept(struct broker *b)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	struct peer *src;
	struct agent *a;
	int fd, i, one = 1;

	for (i = 0; i < 64; i++) {
		sl = sizeof(ss);
		fd = accept4(b->tcp.fd, (struct sockaddr *)&ss, &sl,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				log_warn_ev("agent.out_of_fds", "out of file descriptors (%s): "
				    "accepting paused for 1 s", strerror(errno));
				b->accept_resume_ms = b->now_ms + 1000;
			} else if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn_ev("agent.accept_failed", "accept: %s", strerror(errno));
			return;
		}
		/* Only a keyed hash of the address is kept, and only here. */
		src = peers_get(&b->peers, (struct sockaddr *)&ss, sl,
		    b->now_ms);
		sodium_memzero(&ss, sizeof(ss));
		hs_make_room(b, src);
		if ((a = calloc(1, sizeof(*a))) == NULL ||
		    (a->hs = calloc(1, sizeof(*a->hs))) == NULL) {
			log_warn_ev("agent.out_of_memory", "out of memory: connection dropped");
			free(a);
			close(fd);
			return;
		}
		a->kind = CONN_AGENT;
		a->state = AGENT_MSG1;
		a->link.fd = fd;
		a->hs->deadline_ms = b->now_ms + (uint64_t)b->cfg.msg1_ms;
		if (noise_xk_init(&a->hs->xk, 0,
		    (const uint8_t *)LINK_PROLOGUE, strlen(LINK_PROLOGUE),
		    b->key.sk, b->key.pk, NULL)) {
			free(a->hs);
			free(a);
			close(fd);
			return;
		}
		hs_list_append(b, a);
		b->handshakes++;
		if ((a->peer = src) != NULL)
			src->handshakes++;
		/* Nagle would hold back a second frame behind the first. */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		a->events = EPOLLIN | EPOLLRDHUP;
		if (broker_watch(b, (struct conn *)a, fd, a->events)) {
			agent_close(b, a, NULL);
			return;
		}
		/* With TCP_DEFER_ACCEPT an agent's message 1 is usually here
		 * already: take it now, before the next accepts of this batch
		 * could evict the connection as the oldest silent one. */
		agent_handshake(b, a);
	}
}

/* Read until hs->buf holds ${want} bytes.  1: complete, 0: wait, -1: gone. */
static int
hs_read(struct agent *a, size_t want)
{
	ssize_t n;

	while (a->hs->have < want) {
		n = read(a->link.fd, a->hs->buf + a->hs->have,
		    want - a->hs->have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return (0);
		if (n <= 0)
			return (-1);
		a->hs->have += (uint16_t)n;
	}
	return (1);
}

int
agent_send(struct broker *b, struct agent *a, const uint8_t *msg, size_t len)
{
	int rc = link_send(&a->link, msg, len);

	if (rc < 0) {
		agent_close(b, a, a->link.error);
		return (-1);
	}
	a->last_tx_s = broker_now_s(b);
	if (rc == 1)
		broker_rewatch(b, (struct conn *)a, a->link.fd, &a->events,
		    EPOLLIN | EPOLLRDHUP | EPOLLOUT);
	return (0);
}

static int
agent_send_result(struct broker *b, struct agent *a, uint8_t type,
    int result)
{
	const char *url = (type == LM_WELCOME && result == LM_OK) ?
	    b->cfg.public_url : NULL;
	long n;

	n = linkmsg_encode_result(b->msg, sizeof(b->msg), type, (uint8_t)result,
	    url, url ? strlen(url) : 0);
	if (n < 0) {
		agent_close(b, a, "cannot encode result");
		return (-1);
	}
	return (agent_send(b, a, b->msg, (size_t)n));
}

static int64_t
today(void)
{
	return ((int64_t)time(NULL) / 86400);
}

/* Put ${a} in the tables, replacing any older session of the device. */
static int
agent_publish(struct broker *b, struct agent *a)
{
	struct agent *old;

	if ((old = table_get(&b->devices, a->device_hash)) != NULL) {
		b->stats.replaced_sessions++;
		agent_close(b, old, "replaced by a new session of the device");
	}
	if ((old = table_get(&b->tokens, a->token_hash)) != NULL)
		agent_close(b, old, "replaced by a new session of the token");
	if (table_put(&b->devices, a))
		return (-1);
	if (table_put(&b->tokens, a)) {
		table_del(&b->devices, a);
		return (-1);
	}
	a->in_tables = 1;
	/* --nats: take requests from the other brokers, evict their copy. */
	return (cluster_hold(b, a));
}

/* The binding rules have given ${result} (the cluster's, with --nats):
 * apply the local database's, then welcome or refuse the agent. */
void
agent_bind_done(struct broker *b, struct agent *a, int result)
{
	int rotated;

	broker_rewatch(b, (struct conn *)a, a->link.fd, &a->events,
	    EPOLLIN | EPOLLRDHUP);
	if (result == LM_OK) {
		a->broker = b;
		result = db_register(b->db, a->token_hash, a->device_hash,
		    today(), &rotated, admit_registration, a);
		if (result == LM_OK && rotated) {
			b->stats.rotations++;
			log_info_ev("token.rotated", "token rotated at registration");
		}
	}
	if (result == LM_OK && agent_publish(b, a)) {
		agent_close(b, a, "out of memory or cluster subscription "
		    "failed");
		return;
	}
	if (result != LM_OK) {
		b->stats.registrations_refused++;
		if (lograte_take(&b->lr_registration, b->now_ms))
			log_info_ev("registration.refused", "registration %s",
			    linkmsg_result_text(result));
		a->state = AGENT_CLOSING;
		if (agent_send_result(b, a, LM_WELCOME, result) == 0 &&
		    !link_pending_out(&a->link))
			agent_close(b, a, NULL);
		return;
	}
	a->state = AGENT_LIVE;
	(void)agent_send_result(b, a, LM_WELCOME, LM_OK);
}

/* Message 3 has been authenticated: act on the registration it carries. */
static void
agent_register(struct broker *b, struct agent *a, const uint8_t *payload,
    size_t len)
{
	struct noise_cipher tx, rx;
	struct peer *src = a->peer;
	struct linkmsg m;
	int result = LM_OK;

	token_device_hash(a->device_hash, b->key.hash_key,
	    noise_xk_remote_static(&a->hs->xk));
	if (noise_xk_split(&a->hs->xk, &tx, &rx)) {
		agent_close(b, a, "handshake split failed");
		return;
	}
	link_init(&a->link, a->link.fd, &tx, &rx);
	link_set_scratch(&a->link, b->rbuf);
	sodium_memzero(&tx, sizeof(tx));
	sodium_memzero(&rx, sizeof(rx));
	hs_free(b, a);
	b->stats.handshakes_ok++;
	a->last_rx_s = a->last_tx_s = broker_now_s(b);
	a->bucket = (float)b->cfg.burst;
	a->bucket_ms = (uint32_t)b->now_ms;

	if (linkmsg_decode(payload, len, &m) || m.type != LM_REGISTER)
		result = LM_REFUSED_VERSION;
	else if (m.version != LINK_VERSION)
		result = LM_REFUSED_VERSION;
	else if (!token_valid(m.token, TOKEN_LEN))
		result = LM_REFUSED_TOKEN;
	else {
		token_hash(a->token_hash, b->key.hash_key, m.token);
		/* --nats: the cluster's KV decides first, off the loop.  The
		 * per-source limit of admit.c applies only on the spot (the
		 * source's entry is not kept for later); the global ones
		 * always do. */
		if (b->cluster != NULL &&
		    (result = cluster_bind(b, a, a->token_hash, NULL)) == 0) {
			a->state = AGENT_BINDING;
			broker_rewatch(b, (struct conn *)a, a->link.fd,
			    &a->events, EPOLLRDHUP);
			return;
		}
	}
	a->peer = src;
	agent_bind_done(b, a, result);
	a->peer = NULL;
}

static void
agent_handshake(struct broker *b, struct agent *a)
{
	uint8_t payload[LINKMSG_REGISTER_LEN], msg2[MSG2_LEN];
	size_t plen, mlen;
	ssize_t n;
	int rc;

	if (a->state == AGENT_MSG1) {
		if ((rc = hs_read(a, MSG1_LEN)) <= 0) {
			if (rc < 0)
				agent_close(b, a, "peer left during handshake");
			return;
		}
		if (noise_xk_read(&a->hs->xk, a->hs->buf, MSG1_LEN, payload,
		    sizeof(payload), &plen) || plen != 0) {
			agent_close(b, a, "handshake message 1 invalid");
			return;
		}
		if (noise_xk_write(&a->hs->xk, NULL, 0, msg2, sizeof(msg2),
		    &mlen)) {
			agent_close(b, a, "handshake message 2 failed");
			return;
		}
		/* 48 bytes into a fresh socket's empty buffer: all or error. */
		n = send(a->link.fd, msg2, mlen, MSG_NOSIGNAL);
		if (n != (ssize_t)mlen) {
			agent_close(b, a, "cannot send handshake message 2");
			return;
		}
		a->hs->have = 0;
		hs_list_remove(b, a);
		a->state = AGENT_MSG3;
		/* The whole handshake still ends within handshake_ms; the
		 * same offset for all keeps this queue in deadline order. */
		a->hs->deadline_ms = b->now_ms + (uint64_t)(b->cfg.handshake_ms >
		    b->cfg.msg1_ms + 1000 ? b->cfg.handshake_ms - b->cfg.msg1_ms :
		    1000);
		hs_list_append(b, a);
		/* Message 3 cannot be there yet: wait for epoll. */
		return;
	}
	if ((rc = hs_read(a, MSG3_LEN)) <= 0) {
		if (rc < 0)
			agent_close(b, a, "peer left during handshake");
		return;
	}
	if (noise_xk_read(&a->hs->xk, a->hs->buf, MSG3_LEN, payload,
	    sizeof(payload), &plen) || plen != LINKMSG_REGISTER_LEN) {
		agent_close(b, a, "handshake message 3 invalid");
		return;
	}
	agent_register(b, a, payload, plen);
	sodium_memzero(payload, sizeof(payload));
}

/* The binding rules have given ${result} for a rotation of ${a} to the
 * token hash ${h}: apply the local database's and answer. */
void
agent_rotate_done(struct broker *b, struct agent *a,
    const uint8_t h[TOKEN_HASH_LEN], int result)
{
	struct agent *other;
	int rotated = 0;

	if (result == LM_OK) {
		/* A known device: never limited by admit.c. */
		result = db_register(b->db, h, a->device_hash, today(),
		    &rotated, NULL, NULL);
		if (result == LM_OK && rotated) {
			b->stats.rotations++;
			log_info_ev("token.rotated", "token rotated");
			/* The old hash is revoked: route only the new one. */
			table_del(&b->tokens, a);
			memcpy(a->token_hash, h, TOKEN_HASH_LEN);
			if ((other = table_get(&b->tokens, h)) != NULL)
				agent_close(b, other, "token moved");
			if (table_put(&b->tokens, a) || cluster_hold(b, a)) {
				agent_close(b, a, "out of memory or cluster "
				    "subscription failed");
				return;
			}
		}
	}
	if (result != LM_OK)
		log_info_ev("rotation.refused", "rotation %s", linkmsg_result_text(result));
	(void)agent_send_result(b, a, LM_ROTATED, result);
}

/* LM_ROTATE inside a live session: the agent switches to a new token. */
static void
agent_rotate(struct broker *b, struct agent *a, const struct linkmsg *m)
{
	uint8_t h[TOKEN_HASH_LEN];
	int result;

	if (m->version != LINK_VERSION)
		result = LM_REFUSED_VERSION;
	else if (!token_valid(m->token, TOKEN_LEN))
		result = LM_REFUSED_TOKEN;
	else {
		token_hash(h, b->key.hash_key, m->token);
		/* --nats, a new token: the cluster's KV decides first. */
		if (b->cluster == NULL ||
		    sodium_memcmp(h, a->token_hash, TOKEN_HASH_LEN) == 0)
			result = LM_OK;
		else if ((result = cluster_bind(b, a, h, a->token_hash)) == 0)
			return;
		if (result == LM_OK) {
			agent_rotate_done(b, a, h, LM_OK);
			return;
		}
	}
	log_info_ev("rotation.refused", "rotation %s", linkmsg_result_text(result));
	(void)agent_send_result(b, a, LM_ROTATED, result);
}

static void
agent_live(struct broker *b, struct agent *a)
{
	const uint8_t *p;
	struct linkmsg m;
	size_t len;
	long n;
	int i, rc;

	for (i = 0; i < MESSAGES_PER_EVENT; i++) {
		rc = link_recv(&a->link, &p, &len);
		if (rc == 0)
			return;
		if (rc < 0) {
			if (a->link.violated)
				agent_fail(b, a, a->link.error);
			else
				agent_close(b, a, a->link.error);
			return;
		}
		a->last_rx_s = broker_now_s(b);
		if (linkmsg_decode(p, len, &m)) {
			agent_fail(b, a, "malformed message");
			return;
		}
		switch (m.type) {
		case LM_PING:
			n = linkmsg_encode_empty(b->msg, sizeof(b->msg),
			    LM_PONG);
			if (agent_send(b, a, b->msg, (size_t)n))
				return;
			break;
		case LM_PONG:
			break;
		case LM_ANSWER:
			route_answer(b, a, m.id, &m.ans);
			break;
		case LM_CLOCK:
			/* Requests get 502 at once while it is down
			 * (route.c); the version is the agent's to show. */
			a->clock_down = !m.reachable;
			break;
		case LM_ROTATE:
			/* agent_rotate may close a: park first. */
			if (link_park(&a->link)) {
				agent_close(b, a, a->link.error);
				return;
			}
			agent_rotate(b, a, &m);
			return;
		default:
			agent_fail(b, a, "unexpected message type");
			return;
		}
	}
	/* Fairness: leave the rest for the next turn, out of the scratch. */
	if (link_park(&a->link))
		agent_close(b, a, a->link.error);
}

void
agent_event(struct broker *b, struct agent *a, uint32_t events)
{
	int rc;

	if (events & EPOLLOUT) {
		rc = link_flush(&a->link);
		if (rc < 0) {
			agent_close(b, a, a->link.error);
			return;
		}
		if (rc == 0) {
			if (a->state == AGENT_CLOSING) {
				agent_close(b, a, NULL);
				return;
			}
			broker_rewatch(b, (struct conn *)a, a->link.fd,
			    &a->events, EPOLLIN | EPOLLRDHUP);
		}
	}
	if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
		return;
	switch (a->state) {
	case AGENT_MSG1:
	case AGENT_MSG3:
		/* A peer that already hung up (an agent that gave up while
		 * queued in the backlog) is not worth three X25519. */
		if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
			agent_close(b, a, "peer left during handshake");
			break;
		}
		agent_handshake(b, a);
		break;
	case AGENT_BINDING:
		/* Only a hang-up is watched until the cluster answers. */
		if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			agent_close(b, a, "peer left during binding");
		break;
	case AGENT_LIVE:
		agent_live(b, a);
		break;
	case AGENT_CLOSING:
		/* Refused: ignore what it sends; close on hang-up. */
		if (events & (EPOLLERR | EPOLLHUP))
			agent_close(b, a, NULL);
		else {
			char sink[512];
			if (read(a->link.fd, sink, sizeof(sink)) <= 0)
				agent_close(b, a, NULL);
		}
		break;
	}
}

void
agent_expire_handshakes(struct broker *b)
{
	while (b->hs_head != NULL && b->hs_head->hs->deadline_ms <= b->now_ms)
		agent_close(b, b->hs_head, "no handshake message 1 in time");
	while (b->hs3_head != NULL &&
	    b->hs3_head->hs->deadline_ms <= b->now_ms)
		agent_close(b, b->hs3_head, "handshake deadline passed");
}

uint64_t
agent_next_deadline(const struct broker *b)
{
	uint64_t t1 = b->hs_head ? b->hs_head->hs->deadline_ms : 0;
	uint64_t t3 = b->hs3_head ? b->hs3_head->hs->deadline_ms : 0;

	if (t1 == 0 || (t3 != 0 && t3 < t1))
		return (t3);
	return (t1);
}

/* Heartbeats: ping idle links, drop silent ones. */
void
agent_sweep(struct broker *b)
{
	uint32_t now = broker_now_s(b);
	struct agent *a;
	size_t i;
	long n;

	n = linkmsg_encode_empty(b->msg, sizeof(b->msg), LM_PING);
	for (i = 0; i < b->devices.cap; i++) {
		if ((a = table_at(&b->devices, i)) == NULL)
			continue;
		if (now - a->last_rx_s >= (uint32_t)b->cfg.dead_s) {
			b->stats.dead_links++;
			agent_close(b, a, "no heartbeat from the agent");
			i--;	/* the backward shift may refill slot i */
			continue;
		}
		if (now - a->last_tx_s >= (uint32_t)b->cfg.ping_s &&
		    agent_send(b, a, b->msg, (size_t)n))
			i--;
	}
}

/* After an operator revocation: end the sessions of revoked tokens. */
void
agent_check_revoked(struct broker *b)
{
	struct agent *a;
	size_t i;

	for (i = 0; i < b->devices.cap; i++) {
		if ((a = table_at(&b->devices, i)) == NULL)
			continue;
		if (db_is_revoked(b->db, a->token_hash) == 1) {
			/* The operator's act: never summarised. */
			log_info_ev("session.closed", "session closed: token revoked by the operator");
			agent_close(b, a, NULL);
			i--;
		}
	}
}
