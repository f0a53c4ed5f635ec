#ifndef AWTRIX_RELAY_H
#define AWTRIX_RELAY_H

/*
 * The two things that travel end to end: a request for the device (method,
 * mode, passed-on query, content type, body) and its answer (the device's
 * status, content type and body, or an outcome of the relay itself).  The
 * front protocol (fcgi <-> broker) and the link protocol (broker <-> agent)
 * both carry them with these encoders, so the limits are checked the same way
 * at every hop.  Decoded strings point into the message buffer: no copies.
 */

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define RELAY_MODE_MAX 32
#define RELAY_QUERY_MAX 2048
#define RELAY_CTYPE_MAX 127
#define RELAY_BODY_MAX 60000	/* fits one link frame with every header */

enum relay_method {
	RELAY_GET = 1,
	RELAY_POST = 2
};

/* What happened to a request; RELAY_DEVICE means the device answered. */
enum relay_outcome {
	RELAY_DEVICE = 0,
	RELAY_OFFLINE,		/* 404 device_offline (also unknown token) */
	RELAY_RATE_LIMITED,	/* 429 rate_limited, with retry_after */
	RELAY_NOT_ALLOWED,	/* 403 mode_not_allowed */
	RELAY_UNREACHABLE,	/* 502 device_unreachable */
	RELAY_TIMEOUT,		/* 504 device_timeout */
	RELAY_OVERLOADED,	/* 503 relay_unavailable, with retry_after */
	RELAY_BAD_REQUEST,	/* 400 bad_request */
	RELAY_OUTCOME_COUNT
};

struct relay_request {
	uint8_t method;
	const char *mode;
	size_t mode_len;
	const char *query;
	size_t query_len;
	const char *ctype;
	size_t ctype_len;
	const uint8_t *body;
	size_t body_len;
};

struct relay_answer {
	uint8_t outcome;
	uint16_t status;	/* the device's HTTP status (RELAY_DEVICE) */
	uint16_t retry_after;	/* seconds (RATE_LIMITED, OVERLOADED) */
	const char *ctype;
	size_t ctype_len;
	const uint8_t *body;
	size_t body_len;
};

/**
 * relay_mode_valid(mode, len):
 * Return 1 if ${mode} is [A-Za-z0-9_/-]{1,32} with no ".." and no leading
 * or trailing "/" and no "//", else 0.
 */
int relay_mode_valid(const char *mode, size_t len);

/**
 * relay_request_put(w, req):
 * Append ${req} to ${w}.
 */
void relay_request_put(struct wire_writer *w, const struct relay_request *req);

/**
 * relay_request_get(r, req):
 * Read a request from ${r} into ${req} and check every field against its
 * limit (a valid mode, a known method).  Return 0 or -1.
 */
int relay_request_get(struct wire_reader *r, struct relay_request *req);

/**
 * relay_answer_put(w, ans):
 * Append ${ans} to ${w}.
 */
void relay_answer_put(struct wire_writer *w, const struct relay_answer *ans);

/**
 * relay_answer_get(r, ans):
 * Read an answer from ${r} into ${ans} and check its structure (lengths,
 * a known outcome); whether it may be passed on is relay_answer_passable's
 * decision.  Return 0 or -1.
 */
int relay_answer_get(struct wire_reader *r, struct relay_answer *ans);

/**
 * relay_ctype_passable(ctype, len):
 * Return 1 if the device's Content-Type ${ctype} may be passed on to a
 * caller: empty (served as text/plain), or application/json or text/plain
 * in any letter case, optionally followed by ";" and parameters, all
 * printable ASCII.  Else 0.
 */
int relay_ctype_passable(const char *ctype, size_t len);

/**
 * relay_answer_passable(ans):
 * Return 1 if an agent may send ${ans}: a device answer with a status in
 * 200..599 and a passable Content-Type, or an outcome an agent can produce
 * itself (rate limited, mode not allowed, unreachable, timeout, bad
 * request).  Else 0: the relay answers 502 device_unreachable instead.
 */
int relay_answer_passable(const struct relay_answer *ans);

/**
 * relay_outcome_name(outcome):
 * The counter and error slug of ${outcome} ("ok", "device_offline", ...).
 */
const char *relay_outcome_name(int outcome);

#endif
