/*
 * awtrix-cloud.fcgi's parsing of one HTTP request (fcgi/request.c, with the
 * JSON check of fcgi/json_check.c), included here as the unit tests do.
 *
 * Input: one selector byte, then NUL-separated fields
 *     REQUEST_METHOD \0 QUERY_STRING \0 HTTP_AUTHORIZATION \0 CONTENT_TYPE
 *     \0 CONTENT_LENGTH \0 body (the rest, NULs included)
 * A field that the input does not reach, or that is the single byte 0x01,
 * is unset (NULL).  The selector picks the body limit: 16384 (the
 * default), RELAY_BODY_MAX (the largest allowed) or the selector itself.
 *
 * Invariants: no crash or out-of-bounds access (every field is its own
 * allocation); a refusal is 400, 405 or 413 with a static message (not
 * pointing into the input, short, printable); an accepted request has a known method, a
 * well-formed token, a valid mode, a passed-on query of unreserved
 * characters, '%XX', '&' and '=' only (what the agent's check lets
 * through), a body within the limit, exactly as announced, and valid JSON
 * when declared or looking like JSON; and it always fits a FRONT_REQUEST
 * frame that the broker decodes back to the same fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "front.h"

#include "../../fcgi/json_check.c"
#include "../../fcgi/request.c"

#define NFIELDS 5

static int
passed_on_char(unsigned char c)
{
	return ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~' || c == '%' || c == '&' || c == '=');
}

static int
points_into(const char *q, const void *p, size_t len)
{
	const char *b = p;

	return (q >= b && q <= b + len);
}

static void
check_refusal(const struct request_error *err, char *const field[NFIELDS],
    const uint8_t *body, size_t blen)
{
	int i;

	FUZZ_CHECK(err->status == 400 || err->status == 405 ||
	    err->status == 413);
	FUZZ_CHECK(err->message != NULL && err->message[0] != '\0');
	/* A static text, never built from (or pointing into) the input. */
	for (i = 0; i < NFIELDS; i++)
		if (field[i] != NULL)
			FUZZ_CHECK(!points_into(err->message, field[i],
			    strlen(field[i])));
	FUZZ_CHECK(!points_into(err->message, body, blen));
	FUZZ_CHECK(strlen(err->message) < 128);
	for (i = 0; err->message[i] != '\0'; i++)
		FUZZ_CHECK(err->message[i] >= 0x20 && err->message[i] <= 0x7e);
}

static void
check_accepted(const struct request *rq, char *const field[NFIELDS],
    const uint8_t *body, size_t blen, size_t max_body)
{
	const struct relay_request *r = &rq->req;
	struct front_msg m;
	uint8_t *frame;
	size_t i;
	long n;

	FUZZ_CHECK(field[0] != NULL);
	FUZZ_CHECK((r->method == RELAY_GET && strcmp(field[0], "GET") == 0) ||
	    (r->method == RELAY_POST && strcmp(field[0], "POST") == 0));
	FUZZ_CHECK(token_valid(rq->token, TOKEN_LEN));
	FUZZ_CHECK(r->mode == rq->mode && relay_mode_valid(r->mode,
	    r->mode_len));
	FUZZ_CHECK(r->query == rq->query && r->query_len <= RELAY_QUERY_MAX);
	for (i = 0; i < r->query_len; i++) {
		FUZZ_CHECK(passed_on_char((unsigned char)r->query[i]));
		if (r->query[i] == '%')
			FUZZ_CHECK(i + 2 < r->query_len &&
			    request_hex(r->query[i + 1]) >= 0 &&
			    request_hex(r->query[i + 2]) >= 0);
	}
	FUZZ_CHECK(r->ctype_len <= RELAY_CTYPE_MAX);
	FUZZ_CHECK(r->body_len <= max_body);
	if (rq->body_how == REQUEST_BODY_EXACT)
		FUZZ_CHECK(r->body_len == rq->body_len &&
		    r->body_len == blen);
	if (rq->body_how == REQUEST_BODY_NONE)
		FUZZ_CHECK(r->body_len == 0);
	if (r->body_len > 0) {
		FUZZ_CHECK(r->body == body);
		if (json_check_declared(r->ctype, r->ctype_len) ||
		    json_check_looks_like(r->body, r->body_len))
			FUZZ_CHECK(json_check_valid(r->body, r->body_len));
	}

	/* What the relay accepts, the broker accepts. */
	if ((frame = malloc(FRONT_FRAME_MAX)) == NULL)
		abort();
	n = front_encode_request(frame, FRONT_FRAME_MAX, 1, rq->token, r);
	FUZZ_CHECK(n > FRONT_HEADER_LEN);
	FUZZ_CHECK(front_payload_length(frame) == n - FRONT_HEADER_LEN);
	FUZZ_CHECK(front_decode(frame + FRONT_HEADER_LEN,
	    (size_t)n - FRONT_HEADER_LEN, &m) == 0);
	FUZZ_CHECK(m.type == FRONT_REQUEST && m.id == 1 &&
	    memcmp(m.token, rq->token, TOKEN_LEN) == 0);
	FUZZ_CHECK(m.req.method == r->method);
	FUZZ_CHECK(m.req.mode_len == r->mode_len &&
	    memcmp(m.req.mode, r->mode, r->mode_len) == 0);
	FUZZ_CHECK(m.req.query_len == r->query_len &&
	    memcmp(m.req.query, r->query, r->query_len) == 0);
	FUZZ_CHECK(m.req.ctype_len == r->ctype_len &&
	    memcmp(m.req.ctype, r->ctype, r->ctype_len) == 0);
	FUZZ_CHECK(m.req.body_len == r->body_len &&
	    memcmp(m.req.body, r->body, r->body_len) == 0);
	free(frame);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct request rq;	/* 2 KB of query: not on the stack */
	struct request_error err;
	struct request_env env;
	char *field[NFIELDS];
	const uint8_t *p, *nul;
	uint8_t *body;
	size_t max_body, left, flen, blen;
	int i;

	if (size < 1)
		return (0);
	switch (data[0] % 3) {
	case 0:
		max_body = FUZZ_MAX_BODY;
		break;
	case 1:
		max_body = RELAY_BODY_MAX;
		break;
	default:
		max_body = data[0];
		break;
	}
	p = data + 1;
	left = size - 1;
	for (i = 0; i < NFIELDS; i++) {
		field[i] = NULL;
		if (p == NULL)
			continue;
		nul = memchr(p, '\0', left);
		flen = nul != NULL ? (size_t)(nul - p) : left;
		if (!(flen == 1 && p[0] == 0x01)) {
			if ((field[i] = malloc(flen + 1)) == NULL)
				abort();
			memcpy(field[i], p, flen);
			field[i][flen] = '\0';
		}
		if (nul == NULL) {
			p = NULL;
			left = 0;
		} else {
			left -= flen + 1;
			p = nul + 1;
		}
	}
	blen = p != NULL ? left : 0;
	if ((body = malloc(blen ? blen : 1)) == NULL)
		abort();
	if (blen > 0)
		memcpy(body, p, blen);

	env.method = field[0];
	env.query = field[1];
	env.authorization = field[2];
	env.ctype = field[3];
	env.content_length = field[4];
	memset(&err, 0, sizeof(err));
	if (request_parse(&rq, &env, body, blen, max_body, &err) == 0)
		check_accepted(&rq, field, body, blen, max_body);
	else
		check_refusal(&err, field, body, blen);

	for (i = 0; i < NFIELDS; i++)
		free(field[i]);
	free(body);
	return (0);
}
