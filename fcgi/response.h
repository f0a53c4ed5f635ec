#ifndef AWTRIX_FCGI_RESPONSE_H
#define AWTRIX_FCGI_RESPONSE_H

/*
 * The HTTP status table of the relay (design §4): every answer the relay
 * makes itself is JSON {"error":SLUG,"message":TEXT} with Content-Type
 * application/json and Cache-Control no-store, plus Retry-After for 429 and
 * 503 and Allow for 405.  A device's answer is passed through with its own
 * status, content type and body.  Output goes through a write callback, so
 * that CGI (stdout) and FastCGI (FCGX streams) share this code.
 */

#include <stddef.h>

#include "relay.h"

/* Retry-After when the broker itself is missing or gave no value. */
#define RESPONSE_RETRY_AFTER 5

/* Write all ${n} bytes of ${p}; return 0 or -1. */
typedef int response_write_fn(void *ctx, const void *p, size_t n);

struct response {
	int status;
	const char *slug;
	const char *message;
	unsigned int retry_after;	/* seconds: 429 and 503 only */
};

/**
 * response_local(r, status, message):
 * Fill ${r} for an error found by the relay itself: ${status} is one of the
 * table (400, 403, 404, 405, 413, 429, 502, 503, 504; anything else is
 * answered as 503), ${message} a static text.
 */
void response_local(struct response *r, int status, const char *message);

/**
 * response_outcome(r, ans):
 * Fill ${r} for a broker answer ${ans} whose outcome is not RELAY_DEVICE.
 */
void response_outcome(struct response *r, const struct relay_answer *ans);

/**
 * response_send(r, out, ctx):
 * Write the headers and JSON body of ${r} with ${out}(${ctx}, ...).
 * Return 0 or -1.
 */
int response_send(const struct response *r, response_write_fn *out,
    void *ctx);

/**
 * response_send_answer(ans, out, ctx):
 * Write the broker answer ${ans}: the device's own answer for RELAY_DEVICE,
 * else the relay's error for its outcome.  Return 0 or -1.
 */
int response_send_answer(const struct relay_answer *ans,
    response_write_fn *out, void *ctx);

/**
 * response_reason(status):
 * The reason phrase of ${status} for the CGI Status header.
 */
const char *response_reason(int status);

#endif
