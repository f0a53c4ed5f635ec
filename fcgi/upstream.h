#ifndef AWTRIX_FCGI_UPSTREAM_H
#define AWTRIX_FCGI_UPSTREAM_H

/*
 * One worker thread's way to the broker: its slot of the process's shared
 * connection (fcgi/mux.c) and the buffer its request frames are built in.
 */

#include <stdint.h>

#include "front.h"
#include "mux.h"
#include "relay.h"
#include "token.h"

enum upstream_result {
	UPSTREAM_ANSWER,	/* ${ans} holds the broker's answer */
	UPSTREAM_DOWN,		/* no broker, or it failed: 503 */
	UPSTREAM_TIMEOUT	/* no answer before the deadline: 504 */
};

struct upstream {
	struct mux *mux;	/* shared by the process's threads */
	unsigned int slot;	/* this thread's */
	uint8_t *frame;		/* FRONT_FRAME_MAX: the request out */
};

/**
 * upstream_init(u, mux, slot):
 * Prepare ${u} to send requests through slot ${slot} of ${mux}, which only
 * this thread uses.  Return 0 or -1.
 */
int upstream_init(struct upstream *u, struct mux *mux, unsigned int slot);

/**
 * upstream_call(u, token, req, ans):
 * Send ${req} for ${token} to the broker and wait for its answer, which is
 * stored in ${ans} (pointing into ${u}'s slot until the next call).  Return
 * an enum upstream_result.
 */
int upstream_call(struct upstream *u, const char token[TOKEN_LEN],
    const struct relay_request *req, struct relay_answer *ans);

/**
 * upstream_free(u):
 * Free the buffer of ${u}.
 */
void upstream_free(struct upstream *u);

#endif
