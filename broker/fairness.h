#ifndef BROKER_FAIRNESS_H
#define BROKER_FAIRNESS_H

/*
 * Per-device admission: the in-flight cap and the cool-off of a device
 * whose requests keep timing out (broker/fairness.c).
 */

#include <stdint.h>

#define FAIR_TIMEOUTS 3			/* consecutive time-outs */
#define FAIR_COOLOFF_MS 30000

struct broker;
struct agent;

/**
 * fair_admit(b, a, retry_after):
 * May a new request for the device of ${a} be sent?  Return RELAY_DEVICE
 * if so, else the outcome to answer at once (RELAY_RATE_LIMITED with
 * ${retry_after} set, or RELAY_UNREACHABLE during a cool-off).
 */
int fair_admit(struct broker *b, struct agent *a, uint16_t *retry_after);

/**
 * fair_timed_out(b, a):
 * A request of ${a} reached its deadline unanswered.
 */
void fair_timed_out(struct broker *b, struct agent *a);

/**
 * fair_answered(b, a, outcome):
 * The agent of ${a} answered a request (in time or late) with ${outcome}.
 */
void fair_answered(struct broker *b, struct agent *a, int outcome);

#endif
