/*
 * First registrations: a device key the database does not know asks for a
 * binding row, which stays for ever.  Anyone can make fresh keys and fresh
 * tokens, so these are limited three ways, all in memory:
 *
 *   - per source address (peers.c): a bucket of --src-reg-burst (10),
 *     refilled at one per minute by default;
 *   - overall: a bucket of 100, refilled at 5 per second;
 *   - --max-devices (100000) bindings in all, from a count read at start
 *     (and again after another process changed the database), not a query
 *     per registration.
 *
 * The buckets answer LM_REFUSED_BUSY (the agent backs off and retries), the
 * bound LM_REFUSED_FULL.  A known device key (a reconnection, a rotation) is
 * never refused here: an owner's clock does not pay for others' floods.
 */
#include "broker.h"
#include "log.h"

/**
 * admit_init(b):
 * Fill the buckets, allocate the per-source table and count the bindings.
 * Return 0 or -1.
 */
int
admit_init(struct broker *b)
{
	b->reg_tokens = (float)b->cfg.reg_burst;
	b->reg_ms = (uint32_t)b->now_ms;
	if (peers_init(&b->peers, b->cfg.src_reg_rate, b->cfg.src_reg_burst))
		return (-1);
	admit_recount(b);
	return (0);
}

/**
 * admit_recount(b):
 * Count the bindings again (after another process changed the database).
 */
void
admit_recount(struct broker *b)
{
	long n = db_count_devices(b->db);

	/* On error keep the old count: it only grows between counts. */
	if (n >= 0)
		b->ndevices = n;
}

/* The global bucket: refill, then take one.  1 if there was one. */
static int
admit_take_global(struct broker *b)
{
	uint32_t now = (uint32_t)b->now_ms;
	double t;

	t = b->reg_tokens + (double)(now - b->reg_ms) / 1000.0 *
	    b->cfg.reg_rate;
	if (t > b->cfg.reg_burst)
		t = b->cfg.reg_burst;
	b->reg_tokens = (float)t;
	b->reg_ms = now;
	if (b->reg_tokens < 1.0f)
		return (0);
	b->reg_tokens -= 1.0f;
	return (1);
}

/**
 * admit_registration(ctx):
 * A db_admit_fn: may the device of the registering agent ${ctx}, unknown to
 * the database and with an unbound token, be bound now?  Return LM_OK,
 * LM_REFUSED_FULL or LM_REFUSED_BUSY.  On LM_OK the count of bindings
 * grows by one (the insert may still fail: the next recount corrects it).
 */
int
admit_registration(void *ctx)
{
	struct agent *a = ctx;
	struct broker *b = a->broker;

	if (b->cfg.max_devices > 0 && b->ndevices >= b->cfg.max_devices) {
		b->stats.registrations_full++;
		return (LM_REFUSED_FULL);
	}
	/* The source first, so that one flooding source does not empty the
	 * global bucket. */
	if ((a->peer != NULL && !peers_reg_take(&b->peers, a->peer,
	    b->now_ms)) || !admit_take_global(b)) {
		b->stats.registrations_busy++;
		return (LM_REFUSED_BUSY);
	}
	b->ndevices++;
	return (LM_OK);
}
