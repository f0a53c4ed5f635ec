#ifndef AWTRIX_FCGI_SERVE_H
#define AWTRIX_FCGI_SERVE_H

/*
 * One HTTP request from start to end: check it, read its body, hand it to
 * the broker, answer.  The same for CGI and FastCGI.  A struct serve
 * belongs to one thread; the struct mux it talks through is shared.
 */

#include <stddef.h>
#include <stdint.h>

#include "io.h"
#include "mux.h"
#include "upstream.h"

struct serve_config {
	const char *socket;	/* AWTRIX_BROKER_SOCKET */
	int timeout_ms;		/* AWTRIX_TIMEOUT_MS */
	size_t max_body;	/* AWTRIX_MAX_BODY, at most RELAY_BODY_MAX */
	unsigned int threads;	/* AWTRIX_THREADS: requests at once */
};

struct serve {
	struct serve_config cfg;
	struct upstream up;
	uint8_t *body;		/* max_body + 1 bytes */
};

/**
 * serve_init(s, cfg, mux, slot):
 * Prepare ${s} to serve requests with ${cfg} through slot ${slot} of
 * ${mux}: allocate the body buffer once.  Return 0 or -1.
 */
int serve_init(struct serve *s, const struct serve_config *cfg,
    struct mux *mux, unsigned int slot);

/**
 * serve_request(s, io):
 * Serve the request of ${io} and write its whole response.
 */
void serve_request(struct serve *s, struct io *io);

/**
 * serve_free(s):
 * Free what serve_init allocated.
 */
void serve_free(struct serve *s);

#endif
