#ifndef AGENT_AGENT_H
#define AGENT_AGENT_H

#include <stdint.h>

#include "device.h"
#include "keyfile.h"

struct agent_config {
	const char *broker;		/* HOST:PORT */
	uint8_t broker_pk[KEY_LEN];	/* pinned */
	const char *state_dir;
	struct device_config device;
	int ping_s;			/* 20 */
	int dead_s;			/* 50 */
	int handshake_ms;		/* 5000 */
	int no_clock;			/* test knob: never send LM_CLOCK */
};

/**
 * agent_run(cfg):
 * Run the agent until SIGTERM or SIGINT.  Return the exit status.
 */
int agent_run(const struct agent_config *cfg);

/**
 * agent_backoff_ms(attempt, random):
 * The delay before reconnection attempt ${attempt} (0, 1, ...): full
 * jitter, uniform in [0, min(60 s, 1 s * 2^attempt)], from ${random}
 * uniform in [0, 1).
 */
uint64_t agent_backoff_ms(unsigned attempt, double random);

#endif
