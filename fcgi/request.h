#ifndef AWTRIX_FCGI_REQUEST_H
#define AWTRIX_FCGI_REQUEST_H

/*
 * From the CGI variables of one HTTP request to the relay_request and token
 * that go to the broker.  Pure parsing, no I/O: the caller reads the body in
 * between, told how much to read.  Every error is an HTTP status (400, 405
 * or 413) and a fixed message that never repeats any of the input, so that
 * a token can never leak through an error.
 */

#include <stddef.h>
#include <stdint.h>

#include "relay.h"
#include "token.h"

/* A longer QUERY_STRING is refused before it is looked at. */
#define REQUEST_QUERY_RAW_MAX 8192

/* The CGI variables the relay reads; any of them may be NULL. */
struct request_env {
	const char *method;		/* REQUEST_METHOD */
	const char *query;		/* QUERY_STRING */
	const char *authorization;	/* HTTP_AUTHORIZATION */
	const char *ctype;		/* CONTENT_TYPE */
	const char *content_length;	/* CONTENT_LENGTH */
};

/* How the caller reads the body once the head is accepted. */
enum request_body {
	REQUEST_BODY_NONE,	/* no body: read nothing */
	REQUEST_BODY_EXACT,	/* CONTENT_LENGTH bytes, then probe one more */
	REQUEST_BODY_TO_EOF	/* POST without CONTENT_LENGTH: to EOF */
};

struct request {
	struct relay_request req;	/* points into this and the body */
	char token[TOKEN_LEN];
	char mode[RELAY_MODE_MAX];
	char query[RELAY_QUERY_MAX];	/* re-encoded, without mode and token */
	int body_how;			/* enum request_body */
	size_t body_len;		/* announced (REQUEST_BODY_EXACT) */
};

struct request_error {
	int status;		/* 400, 405 or 413 */
	const char *message;	/* static text for humans */
};

/**
 * request_parse_head(rq, env, max_body, err):
 * Check the method, query string, token (from the query or an
 * "Authorization: Bearer" header), mode, content type and CONTENT_LENGTH of
 * ${env} against a body limit of ${max_body} bytes, and fill ${rq} except
 * for the body.  Return 0, or -1 with ${err} set.  Then read the body as
 * ${rq}->body_how says: REQUEST_BODY_EXACT wants ${rq}->body_len + 1 bytes
 * (the extra one shows a body longer than announced), REQUEST_BODY_TO_EOF
 * wants ${max_body} + 1.
 */
int request_parse_head(struct request *rq, const struct request_env *env,
    size_t max_body, struct request_error *err);

/**
 * request_set_body(rq, body, len, max_body, err):
 * Take the ${len} bytes ${body} read for ${rq} (stopping at end of file),
 * check them against what was announced and against ${max_body}, and check
 * a JSON body.  Return 0, or -1 with ${err} set.
 */
int request_set_body(struct request *rq, const uint8_t *body, size_t len,
    size_t max_body, struct request_error *err);

/**
 * request_parse(rq, env, body, len, max_body, err):
 * request_parse_head and then request_set_body with the whole input ${body}
 * of ${len} bytes, as if it had been read from stdin (for tests and
 * fuzzers).  Return 0, or -1 with ${err} set.
 */
int request_parse(struct request *rq, const struct request_env *env,
    const uint8_t *body, size_t len, size_t max_body,
    struct request_error *err);

#endif
