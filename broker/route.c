/*
 * Routing: a FRONT_REQUEST becomes an LM_REQUEST on the session that holds
 * the token, and the LM_ANSWER (or the deadline) becomes the FRONT_ANSWER.
 *
 * All requests have the same deadline, so the list of pending requests in
 * creation order is also in deadline order: expiry looks at its head only.
 * Pending entries come from a pool allocated at start: no allocation per
 * request.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "fairness.h"
#include "log.h"

int
route_init(struct broker *b)
{
	int i;

	b->pool = calloc((size_t)b->cfg.max_pending, sizeof(*b->pool));
	if (b->pool == NULL)
		return (-1);
	for (i = b->cfg.max_pending - 1; i >= 0; i--) {
		b->pool[i].next = b->free_pending;
		b->free_pending = &b->pool[i];
	}
	return (0);
}

void
route_reply_outcome(struct broker *b, int fd, uint32_t gen, uint32_t id,
    int outcome, uint16_t retry_after)
{
	struct relay_answer ans;

	memset(&ans, 0, sizeof(ans));
	ans.outcome = (uint8_t)outcome;
	ans.retry_after = retry_after;
	b->stats.requests[outcome]++;
	front_reply(b, fd, gen, id, &ans);
}

static void
pending_release(struct broker *b, struct pending *p)
{
	struct agent *a = p->agent;

	if (p->prev)
		p->prev->next = p->next;
	else
		b->pend_head = p->next;
	if (p->next)
		p->next->prev = p->prev;
	else
		b->pend_tail = p->prev;
	if (p->ag_prev)
		p->ag_prev->ag_next = p->ag_next;
	else
		a->pending = p->ag_next;
	if (p->ag_next)
		p->ag_next->ag_prev = p->ag_prev;
	a->inflight--;
	b->npending--;
	memset(p, 0, sizeof(*p));
	p->next = b->free_pending;
	b->free_pending = p;
}

/* Token bucket: refill, then take one.  Return 0, or the seconds to wait. */
static uint16_t
rate_take(struct broker *b, struct agent *a)
{
	uint32_t now = (uint32_t)b->now_ms;
	float tokens;

	tokens = a->bucket + (float)((now - a->bucket_ms) / 1000.0 * b->cfg.rate);
	if (tokens > (float)b->cfg.burst)
		tokens = (float)b->cfg.burst;
	a->bucket = tokens;
	a->bucket_ms = now;
	if (tokens < 1.0f)
		return ((uint16_t)ceil((1.0 - tokens) / b->cfg.rate));
	a->bucket = tokens - 1.0f;
	return (0);
}

void
route_request(struct broker *b, struct front *f, const struct front_msg *m)
{
	uint8_t th[TOKEN_HASH_LEN];
	struct pending *p;
	struct agent *a;
	uint16_t wait;
	long n;
	int o;

	if (!token_valid(m->token, TOKEN_LEN)) {
		route_reply_outcome(b, f->fd, f->gen, m->id, RELAY_BAD_REQUEST, 0);
		return;
	}
	token_hash(th, b->key.hash_key, m->token);
	/* An unknown token and an offline device get the same answer. */
	a = table_get(&b->tokens, th);
	if (a == NULL || a->state != AGENT_LIVE) {
		route_reply_outcome(b, f->fd, f->gen, m->id, RELAY_OFFLINE, 0);
		return;
	}
	if ((wait = rate_take(b, a)) != 0) {
		route_reply_outcome(b, f->fd, f->gen, m->id, RELAY_RATE_LIMITED,
		    wait);
		return;
	}
	if ((o = fair_admit(b, a, &wait)) != RELAY_DEVICE) {
		route_reply_outcome(b, f->fd, f->gen, m->id, o, wait);
		return;
	}
	if ((p = b->free_pending) == NULL) {
		route_reply_outcome(b, f->fd, f->gen, m->id, RELAY_OVERLOADED, 1);
		return;
	}
	n = linkmsg_encode_request(b->msg, sizeof(b->msg), a->next_id,
	    (uint32_t)b->cfg.deadline_ms, &m->req);
	if (n < 0) {
		route_reply_outcome(b, f->fd, f->gen, m->id, RELAY_BAD_REQUEST, 0);
		return;
	}
	b->free_pending = p->next;
	memset(p, 0, sizeof(*p));
	p->link_id = a->next_id++;
	p->front_id = m->id;
	p->front_fd = f->fd;
	p->front_gen = f->gen;
	p->deadline_ms = b->now_ms + (uint64_t)b->cfg.deadline_ms;
	p->agent = a;
	p->prev = b->pend_tail;
	if (b->pend_tail)
		b->pend_tail->next = p;
	else
		b->pend_head = p;
	b->pend_tail = p;
	p->ag_next = a->pending;
	if (a->pending)
		a->pending->ag_prev = p;
	a->pending = p;
	a->inflight++;
	b->npending++;
	/* On failure agent_send closes a, which answers p. */
	(void)agent_send(b, a, b->msg, (size_t)n);
}

void
route_answer(struct broker *b, struct agent *a, uint32_t id,
    const struct relay_answer *ans)
{
	struct pending *p;
	int fd;
	uint32_t gen, fid;

	for (p = a->pending; p != NULL; p = p->ag_next)
		if (p->link_id == id)
			break;
	/* Even a late answer shows the agent is answering again. */
	fair_answered(b, a, ans->outcome);
	if (p == NULL) {
		/* Its deadline passed: the caller already has a 504. */
		b->stats.late_answers++;
		return;
	}
	fd = p->front_fd;
	gen = p->front_gen;
	fid = p->front_id;
	pending_release(b, p);
	if (!relay_answer_passable(ans)) {
		/* The agent may not write the relay's answer (docs/protocol.md
		 * "Answer rules"). */
		b->stats.answers_refused++;
		route_reply_outcome(b, fd, gen, fid, RELAY_UNREACHABLE, 0);
		return;
	}
	b->stats.requests[ans->outcome]++;
	front_reply(b, fd, gen, fid, ans);
}

/* Give up on ${p}: its caller gets 504 (it may or may not have reached
 * the device). */
static void
pending_timeout(struct broker *b, struct pending *p)
{
	int fd = p->front_fd;
	uint32_t gen = p->front_gen, fid = p->front_id;

	pending_release(b, p);
	route_reply_outcome(b, fd, gen, fid, RELAY_TIMEOUT, 0);
}

void
route_agent_gone(struct broker *b, struct agent *a)
{
	while (a->pending != NULL)
		pending_timeout(b, a->pending);
}

void
route_agent_failed(struct broker *b, struct agent *a)
{
	struct pending *p;
	int fd;
	uint32_t gen, fid;

	/* The agent broke the protocol: nothing it had is coming, and
	 * "timed out" would be a lie. */
	while ((p = a->pending) != NULL) {
		fd = p->front_fd;
		gen = p->front_gen;
		fid = p->front_id;
		pending_release(b, p);
		route_reply_outcome(b, fd, gen, fid, RELAY_UNREACHABLE, 0);
	}
}

void
route_expire(struct broker *b)
{
	while (b->pend_head != NULL && b->pend_head->deadline_ms <= b->now_ms) {
		fair_timed_out(b, b->pend_head->agent);
		pending_timeout(b, b->pend_head);
	}
}

uint64_t
route_next_deadline(const struct broker *b)
{
	return (b->pend_head ? b->pend_head->deadline_ms : 0);
}

long
route_stats_json(const struct broker *b, char *buf, size_t cap)
{
	const struct broker_stats *s = &b->stats;
	size_t off;
	int n, i;

	n = snprintf(buf, cap, "{\"version\":\"%s\",\"uptime_s\":%llu,"
	    "\"devices_connected\":%zu,\"handshakes_pending\":%u,"
	    "\"handshakes_ok\":%llu,\"handshakes_failed\":%llu,"
	    "\"registrations_refused\":%llu,\"rotations\":%llu,"
	    "\"replaced_sessions\":%llu,\"dead_links\":%llu,"
	    "\"requests_in_flight\":%u,\"late_answers\":%llu,"
	    "\"answers_refused\":%llu,\"cooloffs\":%llu,"
	    "\"handshakes_evicted\":%llu,\"registrations_busy\":%llu,"
	    "\"registrations_full\":%llu,\"devices_bound\":%ld,"
	    "\"front_connections\":%u,\"front_refused\":%llu,\"requests\":{",
	    AWTRIX_VERSION,
	    (unsigned long long)((b->now_ms - b->started_ms) / 1000),
	    b->devices.count, b->handshakes,
	    (unsigned long long)s->handshakes_ok,
	    (unsigned long long)s->handshakes_failed,
	    (unsigned long long)s->registrations_refused,
	    (unsigned long long)s->rotations,
	    (unsigned long long)s->replaced_sessions,
	    (unsigned long long)s->dead_links, b->npending,
	    (unsigned long long)s->late_answers,
	    (unsigned long long)s->answers_refused,
	    (unsigned long long)s->cooloffs,
	    (unsigned long long)s->handshakes_evicted,
	    (unsigned long long)s->registrations_busy,
	    (unsigned long long)s->registrations_full, b->ndevices, b->nfronts,
	    (unsigned long long)s->front_refused);
	if (n < 0 || (size_t)n >= cap)
		return (-1);
	off = (size_t)n;
	for (i = 0; i < RELAY_OUTCOME_COUNT; i++) {
		n = snprintf(buf + off, cap - off, "%s\"%s\":%llu",
		    i ? "," : "", relay_outcome_name(i),
		    (unsigned long long)s->requests[i]);
		if (n < 0 || (size_t)n >= cap - off)
			return (-1);
		off += (size_t)n;
	}
	n = snprintf(buf + off, cap - off, "}}");
	if (n < 0 || (size_t)n >= cap - off)
		return (-1);
	return ((long)(off + (size_t)n));
}
