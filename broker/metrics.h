#ifndef BROKER_METRICS_H
#define BROKER_METRICS_H

/*
 * The broker's figures in the Prometheus text exposition format (0.0.4),
 * served through awtrix-cloud.fcgi on /metrics: the counters of struct
 * broker_stats, a histogram of how long forwarded requests took, device
 * answers by status class, and the refusals the FastCGI processes made
 * themselves.  No label ever names a token, a hash, a device or an address:
 * every label value comes from a fixed list.
 */

#include <stddef.h>
#include <stdint.h>

#include "relay.h"

/* Upper bounds of the latency buckets, in milliseconds; then +Inf. */
#define METRICS_BUCKETS 12
#define METRICS_STATUS_CLASSES 6	/* 1xx .. 5xx, then anything else */
#define METRICS_REFUSALS 4		/* 400, 405, 413, then any other */

struct broker_metrics {
	uint64_t latency[METRICS_BUCKETS + 1];	/* per bucket, not cumulative */
	uint64_t latency_sum_ms;
	uint64_t latency_count;
	uint64_t device_class[METRICS_STATUS_CLASSES];
	uint64_t fcgi_refused[METRICS_REFUSALS];
};

struct broker;

/**
 * metrics_observe(m, ms):
 * Count one request forwarded to a device that ended ${ms} milliseconds
 * after it arrived (answered, refused by the agent or timed out).
 */
void metrics_observe(struct broker_metrics *m, uint64_t ms);

/**
 * metrics_answer(m, ans):
 * Count the status class of ${ans} if the device itself answered.
 */
void metrics_answer(struct broker_metrics *m, const struct relay_answer *ans);

/**
 * metrics_refused(m, status):
 * Count one request that a FastCGI process answered itself with ${status}.
 */
void metrics_refused(struct broker_metrics *m, uint16_t status);

/**
 * metrics_render(b, buf, cap):
 * Write the text exposition of ${b}'s figures into ${buf} of ${cap} bytes.
 * Return its length, or -1 if it does not fit.
 */
long metrics_render(const struct broker *b, char *buf, size_t cap);

#endif
