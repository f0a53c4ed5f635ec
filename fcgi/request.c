#include <string.h>
#include <strings.h>

#include "json_check.h"
#include "relay.h"
#include "request.h"
#include "token.h"

#define MALFORMED_TOKEN "malformed token: a token is 32 letters and digits"

/* Decoded names and values of the query string go here one at a time. */
struct request_param {
	char name[REQUEST_QUERY_RAW_MAX];
	size_t name_len;
	char value[REQUEST_QUERY_RAW_MAX];
	size_t value_len;
	int has_value;
};

static int
request_fail(struct request_error *err, int status, const char *message)
{
	err->status = status;
	err->message = message;
	return (-1);
}

static int
request_hex(char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/*
 * Percent-decode ${src} of ${len} bytes into ${dst} (which holds at least
 * ${len} bytes), '+' meaning a space as in a form.  Store the decoded
 * length in ${out}.  Return 0, or -1 for a malformed escape or a control
 * character (which no device parameter needs, and which would let a value
 * forge a line of a log or a header).
 */
static int
request_unescape(char *dst, const char *src, size_t len, size_t *out)
{
	size_t i, n = 0;
	int hi, lo;
	unsigned char c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)src[i];
		if (c == '%') {
			if (len - i < 3 || (hi = request_hex(src[i + 1])) < 0 ||
			    (lo = request_hex(src[i + 2])) < 0)
				return (-1);
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (c < 0x20 || c == 0x7f)
			return (-1);
		dst[n++] = (char)c;
	}
	*out = n;
	return (0);
}

/*
 * Append ${src} of ${len} bytes to the query of ${rq}, percent-encoding
 * every byte but the unreserved ones of RFC 3986, so that what the device
 * receives is plain ASCII whatever bytes the value holds.  Return 0, or -1
 * if it does not fit.
 */
static int
request_escape(struct request *rq, const char *src, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;
	unsigned char c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)src[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			if (rq->req.query_len + 1 > sizeof(rq->query))
				return (-1);
			rq->query[rq->req.query_len++] = (char)c;
		} else {
			if (rq->req.query_len + 3 > sizeof(rq->query))
				return (-1);
			rq->query[rq->req.query_len++] = '%';
			rq->query[rq->req.query_len++] = hex[c >> 4];
			rq->query[rq->req.query_len++] = hex[c & 15];
		}
	}
	return (0);
}

static int
request_append(struct request *rq, const char *s, size_t len)
{
	if (len > sizeof(rq->query) - rq->req.query_len)
		return (-1);
	memcpy(rq->query + rq->req.query_len, s, len);
	rq->req.query_len += len;
	return (0);
}

/* Pass one parameter on to the device. */
static int
request_pass_on(struct request *rq, const struct request_param *p)
{
	if (rq->req.query_len > 0 && request_append(rq, "&", 1) != 0)
		return (-1);
	if (request_escape(rq, p->name, p->name_len) != 0)
		return (-1);
	if (!p->has_value)
		return (0);
	if (request_append(rq, "=", 1) != 0 ||
	    request_escape(rq, p->value, p->value_len) != 0)
		return (-1);
	return (0);
}

/*
 * Keep the value of ${p} in ${dst} of ${cap} bytes, or mark it as too long
 * (a length of ${cap} + 1) so that the check of the whole value fails.
 */
static void
request_keep(char *dst, size_t cap, size_t *len, const struct request_param *p)
{
	if (p->value_len > cap) {
		*len = cap + 1;
		return;
	}
	memcpy(dst, p->value, p->value_len);
	*len = p->value_len;
}

/*
 * Split the query string on '&': "mode" and "token" are taken out, every
 * other parameter is passed on re-encoded.  Store the length of the token
 * found in ${token_len} (0: none; TOKEN_LEN + 1: too long or empty), and
 * in ${have_mode} whether there was a mode (its length is in ${rq}).
 * Return 0, or -1 with ${err} set.
 */
static int
request_query(struct request *rq, const char *q, size_t *token_len,
    int *have_mode, struct request_error *err)
{
	struct request_param p;
	const char *seg, *end, *eq;
	size_t qlen, mode_len = 0;
	int have_token = 0;

	*have_mode = 0;
	*token_len = 0;
	if (q == NULL)
		return (0);
	if ((qlen = strlen(q)) > REQUEST_QUERY_RAW_MAX)
		return (request_fail(err, 400, "query string too long"));
	for (seg = q; seg < q + qlen; seg = end + 1) {
		if ((end = memchr(seg, '&', (size_t)(q + qlen - seg))) == NULL)
			end = q + qlen;
		if (end == seg)
			continue;
		eq = memchr(seg, '=', (size_t)(end - seg));
		p.has_value = eq != NULL;
		if (eq == NULL)
			eq = end;
		if (request_unescape(p.name, seg, (size_t)(eq - seg),
		    &p.name_len) != 0 || (p.has_value &&
		    request_unescape(p.value, eq + 1, (size_t)(end - eq - 1),
		    &p.value_len) != 0))
			return (request_fail(err, 400, "malformed query string:"
			    " bad percent-encoding or a control character"));
		if (!p.has_value)
			p.value_len = 0;
		if (p.name_len == 0)
			return (request_fail(err, 400,
			    "query parameter without a name"));
		if (p.name_len == 4 && memcmp(p.name, "mode", 4) == 0) {
			if ((*have_mode)++)
				return (request_fail(err, 400,
				    "more than one mode parameter"));
			request_keep(rq->mode, sizeof(rq->mode), &mode_len, &p);
		} else if (p.name_len == 5 && memcmp(p.name, "token", 5) == 0) {
			if (have_token++)
				return (request_fail(err, 400,
				    "more than one token parameter"));
			request_keep(rq->token, sizeof(rq->token), token_len,
			    &p);
			/* An empty value counts as given (and malformed). */
			if (*token_len == 0)
				*token_len = TOKEN_LEN + 1;
		} else if (request_pass_on(rq, &p) != 0) {
			return (request_fail(err, 400, "query string too long "
			    "to pass on to the device"));
		}
	}
	rq->req.mode_len = mode_len;
	return (0);
}

/*
 * Find the token of an "Authorization: Bearer TOKEN" header in ${auth}.
 * Return 1 and point ${tok} at it and store its length (maybe 0) in ${len},
 * or return 0 if there is no bearer token: other schemes are not ours (a
 * web server in front may use Basic) and are ignored.
 */
static int
request_bearer(const char *auth, const char **tok, size_t *len)
{
	const char *s, *e;

	if (auth == NULL || strncasecmp(auth, "Bearer", 6) != 0 ||
	    (auth[6] != ' ' && auth[6] != '\t' && auth[6] != '\0'))
		return (0);
	for (s = auth + 6; *s == ' ' || *s == '\t'; s++)
		continue;
	for (e = s + strlen(s); e > s && (e[-1] == ' ' || e[-1] == '\t'); e--)
		continue;
	*tok = s;
	*len = (size_t)(e - s);
	return (1);
}

/*
 * Parse CONTENT_LENGTH: digits only.  Store the length in ${len}, or a
 * value above ${max} if it is larger, without overflowing.
 */
static int
request_content_length(const char *s, size_t max, size_t *len)
{
	size_t v = 0;

	if (*s == '\0')
		return (-1);
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return (-1);
		if (v <= max)
			v = v * 10 + (size_t)(*s - '0');
	}
	*len = v;
	return (0);
}

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
int
request_parse_head(struct request *rq, const struct request_env *env,
    size_t max_body, struct request_error *err)
{
	const char *bearer = NULL, *ctype;
	size_t token_len, bearer_len = 0, i;
	int have_mode;

	memset(rq, 0, sizeof(*rq));
	rq->req.mode = rq->mode;
	rq->req.query = rq->query;
	rq->req.body = (const uint8_t *)"";

	if (env->method != NULL && strcmp(env->method, "GET") == 0)
		rq->req.method = RELAY_GET;
	else if (env->method != NULL && strcmp(env->method, "POST") == 0)
		rq->req.method = RELAY_POST;
	else
		return (request_fail(err, 405,
		    "only GET and POST are allowed"));

	if (request_query(rq, env->query, &token_len, &have_mode, err) != 0)
		return (-1);

	/* Each token given must be well formed, and two must be the same. */
	if (token_len > 0 && !token_valid(rq->token, token_len))
		return (request_fail(err, 400, MALFORMED_TOKEN));
	if (request_bearer(env->authorization, &bearer, &bearer_len)) {
		if (!token_valid(bearer, bearer_len))
			return (request_fail(err, 400, MALFORMED_TOKEN));
		if (token_len > 0 && memcmp(bearer, rq->token, TOKEN_LEN) != 0)
			return (request_fail(err, 400, "the token in the query "
			    "and the one in the Authorization header differ"));
		memcpy(rq->token, bearer, TOKEN_LEN);
		token_len = TOKEN_LEN;
	}
	if (token_len == 0)
		return (request_fail(err, 400, "missing token: add "
		    "token=... or an Authorization: Bearer header"));

	if (!have_mode)
		return (request_fail(err, 400, "missing mode: add mode=..."));
	if (!relay_mode_valid(rq->mode, rq->req.mode_len))
		return (request_fail(err, 400, "malformed mode"));

	ctype = env->ctype != NULL ? env->ctype : "";
	rq->req.ctype = ctype;
	rq->req.ctype_len = strlen(ctype);
	if (rq->req.ctype_len > RELAY_CTYPE_MAX)
		return (request_fail(err, 400, "content type too long"));
	for (i = 0; i < rq->req.ctype_len; i++)
		if ((unsigned char)ctype[i] < 0x20 ||
		    (unsigned char)ctype[i] > 0x7e)
			return (request_fail(err, 400,
			    "malformed content type"));

	if (env->content_length == NULL || env->content_length[0] == '\0') {
		/* A chunked POST has a body but no CONTENT_LENGTH. */
		rq->body_how = rq->req.method == RELAY_POST ?
		    REQUEST_BODY_TO_EOF : REQUEST_BODY_NONE;
		return (0);
	}
	if (request_content_length(env->content_length, max_body,
	    &rq->body_len) != 0)
		return (request_fail(err, 400, "malformed Content-Length"));
	if (rq->body_len > max_body)
		return (request_fail(err, 413, "the body is larger than "
		    "this relay accepts"));
	rq->body_how = REQUEST_BODY_EXACT;
	return (0);
}

/**
 * request_set_body(rq, body, len, max_body, err):
 * Take the ${len} bytes ${body} read for ${rq} (stopping at end of file),
 * check them against what was announced and against ${max_body}, and check
 * a JSON body.  Return 0, or -1 with ${err} set.
 */
int
request_set_body(struct request *rq, const uint8_t *body, size_t len,
    size_t max_body, struct request_error *err)
{
	switch (rq->body_how) {
	case REQUEST_BODY_NONE:
		len = 0;
		break;
	case REQUEST_BODY_EXACT:
		if (len < rq->body_len)
			return (request_fail(err, 400,
			    "body shorter than Content-Length"));
		if (len > rq->body_len)
			return (request_fail(err, 400,
			    "body longer than Content-Length"));
		break;
	default:
		if (len > max_body)
			return (request_fail(err, 413, "the body is larger "
			    "than this relay accepts"));
		break;
	}
	/* A UTF-8 byte-order mark (some editors and clients write one) is
	 * not JSON, and the clock's parser would choke on it: drop it. */
	if (len >= 3 && body[0] == 0xEF && body[1] == 0xBB && body[2] == 0xBF) {
		body += 3;
		len -= 3;
	}
	if (len > 0 && (json_check_declared(rq->req.ctype, rq->req.ctype_len) ||
	    json_check_looks_like(body, len)) && !json_check_valid(body, len))
		return (request_fail(err, 400, "the body is not valid JSON"));
	rq->req.body = len > 0 ? body : (const uint8_t *)"";
	rq->req.body_len = len;
	return (0);
}

/**
 * request_parse(rq, env, body, len, max_body, err):
 * request_parse_head and then request_set_body with the whole input ${body}
 * of ${len} bytes, as if it had been read from stdin (for tests and
 * fuzzers).  Return 0, or -1 with ${err} set.
 */
int
request_parse(struct request *rq, const struct request_env *env,
    const uint8_t *body, size_t len, size_t max_body,
    struct request_error *err)
{
	size_t want;

	if (request_parse_head(rq, env, max_body, err) != 0)
		return (-1);
	if (rq->body_how == REQUEST_BODY_EXACT)
		want = rq->body_len + 1;
	else if (rq->body_how == REQUEST_BODY_TO_EOF)
		want = max_body + 1;
	else
		want = 0;
	return (request_set_body(rq, body, len < want ? len : want, max_body,
	    err));
}
