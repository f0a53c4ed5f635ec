#ifndef AWTRIX_LINKMSG_H
#define AWTRIX_LINKMSG_H

/*
 * Messages inside the encrypted link (one message per frame, plaintext):
 *
 *   u8 type, then per type:
 *   LM_REGISTER  u8 version, token[32]        agent: payload of Noise msg 3
 *   LM_WELCOME   u8 result, u16 n, url[n]     broker: first transport message
 *   LM_PING      (nothing)                    either side, when idle
 *   LM_PONG      (nothing)                    answer to LM_PING
 *   LM_ROTATE    u8 version, token[32]        agent: switch to a new token
 *   LM_ROTATED   u8 result, u16 0             broker: rotation committed (or not)
 *   LM_REQUEST   u32 id, u32 deadline_ms, relay_request     broker -> agent
 *   LM_ANSWER    u32 id, relay_answer                       agent -> broker
 *   LM_CLOCK     u8 reachable (0/1), u8 n, version[n]       agent -> broker
 *                (the clock's health when it changes; version: the
 *                firmware's, printable, n <= LINKMSG_VERSION_MAX, 0 if
 *                unknown.  Agents before it never send it.)
 *
 * Decoding is exact: unknown types, short fields and left-over bytes fail.
 */

#include <stddef.h>
#include <stdint.h>

#include "relay.h"
#include "token.h"

#define LINK_VERSION 1
#define LINK_PROLOGUE "awtrix-cloud link v1"
#define LINKMSG_REGISTER_LEN (1 + 1 + TOKEN_LEN)
#define LINKMSG_URL_MAX 512
#define LINKMSG_VERSION_MAX 32

enum linkmsg_type {
	LM_REGISTER = 1,
	LM_WELCOME,
	LM_PING,
	LM_PONG,
	LM_ROTATE,
	LM_ROTATED,
	LM_REQUEST,
	LM_ANSWER,
	LM_CLOCK
};

/* Result of a registration or rotation, as the broker tells the agent. */
enum linkmsg_result {
	LM_OK = 0,
	LM_REFUSED_BOUND,	/* token bound to another device key */
	LM_REFUSED_REVOKED,	/* token revoked (rotated away or by operator) */
	LM_REFUSED_VERSION,	/* protocol version not spoken here */
	LM_REFUSED_TOKEN,	/* token malformed */
	LM_REFUSED_LIMIT,	/* too many rotations today */
	LM_REFUSED_ERROR,	/* the broker could not store it; retry later */
	LM_REFUSED_BUSY,	/* registrations rate-limited; retry later */
	LM_REFUSED_FULL,	/* broker at --max-devices; try another broker */
	LM_REFUSED_CLUSTER = 9,	/* cluster store unreachable; try another broker */
	LM_RESULT_COUNT
};

struct linkmsg {
	uint8_t type;
	uint8_t version;		/* REGISTER, ROTATE */
	const char *token;		/* REGISTER, ROTATE: TOKEN_LEN bytes */
	uint8_t result;			/* WELCOME, ROTATED */
	const char *url;		/* WELCOME */
	size_t url_len;
	uint32_t id;			/* REQUEST, ANSWER */
	uint32_t deadline_ms;		/* REQUEST: time left */
	struct relay_request req;	/* REQUEST */
	struct relay_answer ans;	/* ANSWER */
	uint8_t reachable;		/* CLOCK: 0 or 1 */
	const char *fw;			/* CLOCK: firmware version */
	size_t fw_len;
};

/**
 * linkmsg_decode(p, len, m):
 * Decode the message ${p} of ${len} bytes into ${m} (pointing into ${p}).
 * Return 0 or -1.
 */
int linkmsg_decode(const uint8_t *p, size_t len, struct linkmsg *m);

/**
 * linkmsg_encode_register(buf, cap, type, token):
 * Encode LM_REGISTER or LM_ROTATE.  Return the length or -1.
 */
long linkmsg_encode_register(uint8_t *buf, size_t cap, uint8_t type,
    const char token[TOKEN_LEN]);

/**
 * linkmsg_encode_result(buf, cap, type, result, url, url_len):
 * Encode LM_WELCOME or LM_ROTATED (${url} may be NULL).  Return the length
 * or -1.
 */
long linkmsg_encode_result(uint8_t *buf, size_t cap, uint8_t type,
    uint8_t result, const char *url, size_t url_len);

/**
 * linkmsg_encode_empty(buf, cap, type):
 * Encode LM_PING or LM_PONG.  Return the length or -1.
 */
long linkmsg_encode_empty(uint8_t *buf, size_t cap, uint8_t type);

/**
 * linkmsg_encode_request(buf, cap, id, deadline_ms, req):
 * Encode LM_REQUEST.  Return the length or -1.
 */
long linkmsg_encode_request(uint8_t *buf, size_t cap, uint32_t id,
    uint32_t deadline_ms, const struct relay_request *req);

/**
 * linkmsg_encode_answer(buf, cap, id, ans):
 * Encode LM_ANSWER.  Return the length or -1.
 */
long linkmsg_encode_answer(uint8_t *buf, size_t cap, uint32_t id,
    const struct relay_answer *ans);

/**
 * linkmsg_encode_clock(buf, cap, reachable, version):
 * Encode LM_CLOCK (${version} may be NULL or "").  Return the length or -1.
 */
long linkmsg_encode_clock(uint8_t *buf, size_t cap, int reachable,
    const char *version);

/**
 * linkmsg_result_text(result):
 * A sentence for logs and the CLI.
 */
const char *linkmsg_result_text(int result);

#endif
