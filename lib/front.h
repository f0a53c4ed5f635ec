#ifndef AWTRIX_FRONT_H
#define AWTRIX_FRONT_H

/*
 * The front protocol: awtrix-cloud.fcgi (and `awtrix-broker stats`) talk to
 * the broker over its Unix socket with frames
 *
 *     u32 length (big-endian, of what follows; 5 .. FRONT_PAYLOAD_MAX)
 *     u8  type
 *     u32 request id (chosen by the client, echoed by the broker)
 *     ... fields of the type
 *
 *   FRONT_REQUEST       token[32], relay_request
 *   FRONT_ANSWER        relay_answer
 *   FRONT_STATS         (nothing)
 *   FRONT_STATS_ANSWER  u16 length, JSON text
 *   FRONT_METRICS       (nothing)
 *   FRONT_METRICS_ANSWER u32 length (at most FRONT_METRICS_MAX), the
 *                       Prometheus text exposition
 *   FRONT_REFUSED       u16 status: the FastCGI program answered a request
 *                       itself with this status (400, 405, 413); the broker
 *                       counts it and sends nothing back
 *
 * Every frame is decoded exactly: a field out of bounds, a byte left over or
 * an unknown type is an error, and the reader drops the connection.
 */

#include <stddef.h>
#include <stdint.h>

#include "relay.h"
#include "token.h"

#define FRONT_HEADER_LEN 4
#define FRONT_PAYLOAD_MAX (RELAY_BODY_MAX + RELAY_QUERY_MAX + 512)
#define FRONT_FRAME_MAX (FRONT_HEADER_LEN + FRONT_PAYLOAD_MAX)
#define FRONT_STATS_MAX 4096
#define FRONT_METRICS_MAX 16384

enum front_type {
	FRONT_REQUEST = 1,
	FRONT_ANSWER = 2,
	FRONT_STATS = 3,
	FRONT_STATS_ANSWER = 4,
	FRONT_METRICS = 5,
	FRONT_METRICS_ANSWER = 6,
	FRONT_REFUSED = 7
};

struct front_msg {
	uint8_t type;
	uint32_t id;
	const char *token;		/* FRONT_REQUEST: TOKEN_LEN bytes */
	struct relay_request req;	/* FRONT_REQUEST */
	struct relay_answer ans;	/* FRONT_ANSWER */
	const char *text;		/* FRONT_STATS_ANSWER, _METRICS_ANSWER */
	size_t text_len;
	uint16_t status;		/* FRONT_REFUSED */
};

/**
 * front_payload_length(hdr):
 * Return the payload length announced by the 4-byte header ${hdr}, or -1
 * if it is below the minimum or above FRONT_PAYLOAD_MAX.
 */
long front_payload_length(const uint8_t hdr[FRONT_HEADER_LEN]);

/**
 * front_decode(payload, len, m):
 * Decode one frame's payload (without its header) into ${m}, whose pointers
 * then point into ${payload}.  Return 0 or -1.
 */
int front_decode(const uint8_t *payload, size_t len, struct front_msg *m);

/**
 * front_encode_request(buf, cap, id, token, req):
 * Write a whole FRONT_REQUEST frame, header included, into ${buf}.
 * Return its length, or -1 if it does not fit or a field is out of bounds.
 */
long front_encode_request(uint8_t *buf, size_t cap, uint32_t id,
    const char token[TOKEN_LEN], const struct relay_request *req);

/**
 * front_encode_answer(buf, cap, id, ans):
 * Write a whole FRONT_ANSWER frame into ${buf}.  Return its length or -1.
 */
long front_encode_answer(uint8_t *buf, size_t cap, uint32_t id,
    const struct relay_answer *ans);

/**
 * front_encode_stats(buf, cap, id):
 * Write a whole FRONT_STATS frame into ${buf}.  Return its length or -1.
 */
long front_encode_stats(uint8_t *buf, size_t cap, uint32_t id);

/**
 * front_encode_stats_answer(buf, cap, id, json, len):
 * Write a whole FRONT_STATS_ANSWER frame into ${buf}.  Return its length
 * or -1.
 */
long front_encode_stats_answer(uint8_t *buf, size_t cap, uint32_t id,
    const char *json, size_t len);

/**
 * front_encode_metrics(buf, cap, id):
 * Write a whole FRONT_METRICS frame into ${buf}.  Return its length or -1.
 */
long front_encode_metrics(uint8_t *buf, size_t cap, uint32_t id);

/**
 * front_encode_metrics_answer(buf, cap, id, text, len):
 * Write a whole FRONT_METRICS_ANSWER frame carrying the ${len} bytes of
 * ${text} (at most FRONT_METRICS_MAX) into ${buf}.  Return its length or -1.
 */
long front_encode_metrics_answer(uint8_t *buf, size_t cap, uint32_t id,
    const char *text, size_t len);

/**
 * front_encode_refused(buf, cap, id, status):
 * Write a whole FRONT_REFUSED frame for the HTTP ${status} into ${buf}.
 * Return its length or -1.
 */
long front_encode_refused(uint8_t *buf, size_t cap, uint32_t id,
    uint16_t status);

#endif
