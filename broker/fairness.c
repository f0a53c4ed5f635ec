/*
 * The broker's share of fairness between devices.
 *
 * An AWTRIX serves one HTTP client at a time and the agent sends it one
 * request at a time, so more than a few requests in flight for one device
 * only wait in the agent's queue: the per-device cap (--max-inflight,
 * default 4) answers the rest with 429 at once instead of letting one
 * device hold pending slots, front connections and FastCGI processes that
 * every other device shares.
 *
 * A device whose requests keep timing out (a mute agent, a clock that hangs)
 * would still hold its 4 slots for the whole deadline, again and again.
 * After FAIR_TIMEOUTS consecutive time-outs the device is "cooling off":
 * for FAIR_COOLOFF_MS (cfg.cooloff_ms) its new requests are answered 502 device_unreachable
 * at once (they are not sent, so "unreachable" is the truth and "timeout"
 * would not be: a 504 means it may have run).  Any answer from the agent,
 * even a late one, ends the cool-off; when it runs out one more round of
 * requests is let through, and a single time-out among them starts the next
 * cool-off.
 */
#include "broker.h"
#include "fairness.h"

/**
 * fair_admit(b, a, retry_after):
 * May a new request for the device of ${a} be sent?  Return RELAY_DEVICE
 * if so, else the outcome to answer at once (RELAY_RATE_LIMITED with
 * ${retry_after} set, or RELAY_UNREACHABLE during a cool-off).
 */
int
fair_admit(struct broker *b, struct agent *a, uint16_t *retry_after)
{
	*retry_after = 0;
	if (a->timeouts >= FAIR_TIMEOUTS && b->now_ms < a->cooloff_until_ms)
		return (RELAY_UNREACHABLE);
	if (a->inflight >= b->cfg.max_inflight) {
		*retry_after = 1;
		return (RELAY_RATE_LIMITED);
	}
	return (RELAY_DEVICE);
}

/**
 * fair_timed_out(b, a):
 * A request of ${a} reached its deadline unanswered.
 */
void
fair_timed_out(struct broker *b, struct agent *a)
{
	if (a->timeouts < 255)
		a->timeouts++;
	if (a->timeouts >= FAIR_TIMEOUTS &&
	    b->now_ms >= a->cooloff_until_ms) {
		a->cooloff_until_ms = b->now_ms + (uint64_t)b->cfg.cooloff_ms;
		b->stats.cooloffs++;
	}
}

/**
 * fair_answered(b, a, outcome):
 * The agent of ${a} answered a request (in time or late) with ${outcome}.
 */
void
fair_answered(struct broker *b, struct agent *a, int outcome)
{
	/* The agent's own time-out says the clock is not answering. */
	if (outcome == RELAY_TIMEOUT) {
		fair_timed_out(b, a);
		return;
	}
	a->timeouts = 0;
	a->cooloff_until_ms = 0;
}
