#ifndef AWTRIX_FCGI_UPSTREAM_H
#define AWTRIX_FCGI_UPSTREAM_H

/*
 * The one persistent connection of this process to the broker: connected
 * when first needed, reused for every request, dropped after any error or
 * timeout so that the next request starts clean.
 */

#include <stdint.h>

#include "front.h"
#include "relay.h"
#include "token.h"

enum upstream_result {
	UPSTREAM_ANSWER,	/* ${ans} holds the broker's answer */
	UPSTREAM_DOWN,		/* no broker, or it failed: 503 */
	UPSTREAM_TIMEOUT	/* no answer before the deadline: 504 */
};

struct upstream {
	const char *path;	/* the broker's Unix socket */
	int timeout_ms;
	int fd;			/* -1: not connected */
	uint32_t next_id;
	uint8_t *frame;		/* FRONT_FRAME_MAX: the request out */
	uint8_t *buf;		/* FRONT_FRAME_MAX: the answer in */
};

/**
 * upstream_init(u, path, timeout_ms):
 * Prepare ${u} to talk to the broker at ${path}, waiting at most
 * ${timeout_ms} for each answer.  Nothing is connected yet.  Return 0 or -1.
 */
int upstream_init(struct upstream *u, const char *path, int timeout_ms);

/**
 * upstream_call(u, token, req, ans):
 * Send ${req} for ${token} to the broker and wait for its answer, which is
 * stored in ${ans} (pointing into ${u} until the next call).  A frame that
 * could not be sent on a connection made for an earlier request (the
 * broker restarted since) is sent once more on a new connection.  Return an
 * enum upstream_result.
 */
int upstream_call(struct upstream *u, const char token[TOKEN_LEN],
    const struct relay_request *req, struct relay_answer *ans);

/**
 * upstream_free(u):
 * Close the connection of ${u} and free its buffers.
 */
void upstream_free(struct upstream *u);

#endif
