/*
 * Routing: a FRONT_REQUEST becomes an LM_REQUEST on the session that holds
 * the token, and the LM_ANSWER (or the deadline) becomes the FRONT_ANSWER.
 *
 * Local requests all have the same deadline, so the list of pending
 * requests in creation order is almost in deadline order; requests from
 * other brokers (--nats) are placed by their shorter deadline.  Expiry
 * looks at its head only.
 * Pending entries come from a pool allocated at start: no allocation per
 * request.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "cluster.h"
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
	if (a != NULL) {
		if (p->ag_prev)
			p->ag_prev->ag_next = p->ag_next;
		else
			a->pending = p->ag_next;
		if (p->ag_next)
			p->ag_next->ag_prev = p->ag_prev;
		a->inflight--;
	}
	metrics_observe(&b->metrics, b->now_ms - p->start_ms);
	b->npending--;
	memset(p, 0, sizeof(*p));
	p->next = b->free_pending;
	b->free_pending = p;
}

/*
 * Take a pending entry for ${a} (NULL: a request sent to another broker)
 * with its deadline, kept in deadline order: local requests all have the
 * same deadline and go to the tail; only requests from other brokers
 * (shorter, what is left of theirs) walk back.  NULL if the pool is empty.
 */
struct pending *
route_pending_new(struct broker *b, struct agent *a, uint64_t deadline_ms)
{
	struct pending *p, *at;

	if ((p = b->free_pending) == NULL)
		return (NULL);
	b->free_pending = p->next;
	memset(p, 0, sizeof(*p));
	p->in_use = 1;
	p->front_fd = -1;
	p->deadline_ms = deadline_ms;
	p->start_ms = b->now_ms;
	p->agent = a;
	for (at = b->pend_tail; at != NULL && at->deadline_ms > deadline_ms;
	    at = at->prev)
		;
	p->prev = at;
	p->next = at ? at->next : b->pend_head;
	if (p->next)
		p->next->prev = p;
	else
		b->pend_tail = p;
	if (at)
		at->next = p;
	else
		b->pend_head = p;
	if (a != NULL) {
		p->ag_next = a->pending;
		if (a->pending)
			a->pending->ag_prev = p;
		a->pending = p;
		a->inflight++;
	}
	b->npending++;
	return (p);
}

/* Release ${p} and give ${ans} to whoever asked: a front connection, or
 * the broker that sent it over NATS. */
void
route_pending_finish(struct broker *b, struct pending *p,
    const struct relay_answer *ans)
{
	char reply[PENDING_REPLY_MAX];
	int fd = p->front_fd, sent = p->agent == NULL;
	uint32_t gen = p->front_gen, fid = p->front_id;

	memcpy(reply, p->reply, sizeof(reply));
	pending_release(b, p);
	if (sent)
		cluster_sent_done(b, ans->outcome);
	if (reply[0] != '\0') {
		cluster_reply(b, reply, ans);
		return;
	}
	b->stats.requests[ans->outcome]++;
	metrics_answer(&b->metrics, ans);
	front_reply(b, fd, gen, fid, ans);
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

/*
 * Send ${req} to the device of ${a}, with ${deadline_ms} left, for the
 * origin described by ${origin} (front fields or reply subject).  Return
 * -1 when it is on its way, else the outcome to answer at once (with
 * ${retry_after}).  The rate limit and the in-flight cap are enforced
 * here, on the broker that holds the session, whoever asked.
 */
int
route_deliver(struct broker *b, struct agent *a, uint32_t deadline_ms,
    const struct relay_request *req, struct pending *origin,
    uint16_t *retry_after)
{
	struct pending *p;
	uint16_t wait;
	long n;
	int o;

	*retry_after = 0;
	if (a->clock_down)	/* the agent is up, its clock is not */
		return (RELAY_UNREACHABLE);
	if ((wait = rate_take(b, a)) != 0) {
		*retry_after = wait;
		return (RELAY_RATE_LIMITED);
	}
	if ((o = fair_admit(b, a, &wait)) != RELAY_DEVICE) {
		*retry_after = wait;
		return (o);
	}
	if ((uint32_t)b->cfg.deadline_ms < deadline_ms)
		deadline_ms = (uint32_t)b->cfg.deadline_ms;
	n = linkmsg_encode_request(b->msg, sizeof(b->msg), a->next_id,
	    deadline_ms, req);
	if (n < 0)
		return (RELAY_BAD_REQUEST);
	if ((p = route_pending_new(b, a, b->now_ms + deadline_ms)) == NULL) {
		*retry_after = 1;
		return (RELAY_OVERLOADED);
	}
	p->link_id = a->next_id++;
	p->front_id = origin->front_id;
	p->front_fd = origin->front_fd;
	p->front_gen = origin->front_gen;
	memcpy(p->reply, origin->reply, sizeof(p->reply));
	/* On failure agent_send closes a, which answers p. */
	(void)agent_send(b, a, b->msg, (size_t)n);
	return (-1);
}

void
route_request(struct broker *b, struct front *f, const struct front_msg *m)
{
	uint8_t th[TOKEN_HASH_LEN];
	struct pending origin;
	struct agent *a;
	uint16_t wait;
	int outcome;

	if (!token_valid(m->token, TOKEN_LEN)) {
		route_reply_outcome(b, f->fd, f->gen, m->id, RELAY_BAD_REQUEST, 0);
		return;
	}
	token_hash(th, b->key.hash_key, m->token);
	/* An unknown token and an offline device get the same answer. */
	a = table_get(&b->tokens, th);
	if (a == NULL || a->state != AGENT_LIVE) {
		if (b->cluster != NULL)
			cluster_route(b, f, m, th);
		else
			route_reply_outcome(b, f->fd, f->gen, m->id,
			    RELAY_OFFLINE, 0);
		return;
	}
	memset(&origin, 0, sizeof(origin));
	origin.front_fd = f->fd;
	origin.front_gen = f->gen;
	origin.front_id = m->id;
	outcome = route_deliver(b, a, (uint32_t)b->cfg.deadline_ms, &m->req,
	    &origin, &wait);
	if (outcome >= 0)
		route_reply_outcome(b, f->fd, f->gen, m->id, outcome, wait);
}

void
route_answer(struct broker *b, struct agent *a, uint32_t id,
    const struct relay_answer *ans)
{
	struct relay_answer unreachable;
	struct pending *p;

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
	if (!relay_answer_passable(ans)) {
		/* The agent may not write the relay's answer (docs/protocol.md
		 * "Answer rules"). */
		b->stats.answers_refused++;
		memset(&unreachable, 0, sizeof(unreachable));
		unreachable.outcome = RELAY_UNREACHABLE;
		route_pending_finish(b, p, &unreachable);
		return;
	}
	route_pending_finish(b, p, ans);
}

/* Give up on ${p}: its caller gets 504 (it may or may not have reached
 * the device). */
static void
pending_timeout(struct broker *b, struct pending *p)
{
	struct relay_answer ans;

	memset(&ans, 0, sizeof(ans));
	ans.outcome = RELAY_TIMEOUT;
	route_pending_finish(b, p, &ans);
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
	struct relay_answer ans;

	/* The agent broke the protocol: nothing it had is coming, and
	 * "timed out" would be a lie. */
	memset(&ans, 0, sizeof(ans));
	ans.outcome = RELAY_UNREACHABLE;
	while (a->pending != NULL)
		route_pending_finish(b, a->pending, &ans);
}

void
route_expire(struct broker *b)
{
	while (b->pend_head != NULL && b->pend_head->deadline_ms <= b->now_ms) {
		if (b->pend_head->agent != NULL)	/* not another broker's */
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
	n = snprintf(buf + off, cap - off, "}");
	if (n < 0 || (size_t)n >= cap - off)
		return (-1);
	off += (size_t)n;
	if (b->cluster != NULL) {
		n = (int)cluster_stats_json(b, buf + off, cap - off);
		if (n < 0)
			return (-1);
		off += (size_t)n;
	}
	n = snprintf(buf + off, cap - off, "}");
	if (n < 0 || (size_t)n >= cap - off)
		return (-1);
	return ((long)(off + (size_t)n));
}
