/*
 * fcgi/json_check.c, included here as the unit tests do, on arbitrary
 * bodies, cross-checked against two oracles:
 *
 *   json-c on its own: json_tokener_parse_ex with JSON_TOKENER_STRICT (the
 *   default depth), the whole input consumed but for trailing white space;
 *
 *   rfc8259_valid below: an independent, small recursive-descent validator
 *   of RFC 8259 (strict grammar, UTF-8 validated per RFC 3629: no overlong
 *   forms, no encoded surrogates, nothing above U+10FFFF), which also
 *   reports the nesting depth.
 *
 * Invariants: no crash or out-of-bounds access (the body is an exact-sized
 * allocation); whatever json_check_valid accepts, json-c strict accepts and
 * RFC 8259 accepts, nested at most JSON_CHECK_DEPTH deep; and the other
 * way round, a text valid by RFC 8259 that nests less than
 * JSON_CHECK_DEPTH deep is accepted (define FUZZ_JSON_ONE_WAY to check only
 * the first direction).  With FUZZ_KNOWN_BUGS defined, the UTF-8 that
 * json-c 0.16 lets through (overlong forms, surrogates, above U+10FFFF:
 * tests/fuzz/regress/json_check/) is tolerated, to look for other bugs.  json_check_declared and json_check_looks_like run
 * on the same bytes (as a content type, and as a body).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fuzz.h"

#include "../../fcgi/json_check.c"

struct rfc {
	const uint8_t *p;
	size_t len, i;
	int depth, max_depth;
	int lax_utf8;		/* json-c 0.16's UTF-8 check, for KNOWN_BUGS */
};

static int rfc_value(struct rfc *r);

static void
rfc_ws(struct rfc *r)
{
	while (r->i < r->len && (r->p[r->i] == ' ' || r->p[r->i] == '\t' ||
	    r->p[r->i] == '\n' || r->p[r->i] == '\r'))
		r->i++;
}

static int
rfc_hex(uint8_t c)
{
	return ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F'));
}

/* One UTF-8 sequence of RFC 3629 at r->i (a byte >= 0x80). */
static int
rfc_utf8(struct rfc *r)
{
	const uint8_t *p = r->p + r->i;
	size_t left = r->len - r->i, n, k;
	uint8_t lo = 0x80, hi = 0xbf;

	if (r->lax_utf8) {
		/* Lead byte and continuation bytes only, as json-c checks:
		 * overlong forms, surrogates, up to U+1FFFFF pass. */
		n = (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3 :
		    (p[0] & 0xf8) == 0xf0 ? 4 : 0;
		if (n == 0 || left < n)
			return (0);
		for (k = 1; k < n; k++)
			if ((p[k] & 0xc0) != 0x80)
				return (0);
		r->i += n;
		return (1);
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;		/* no overlong form */
		if (p[0] == 0xed)
			hi = 0x9f;		/* no surrogate */
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		if (p[0] == 0xf0)
			lo = 0x90;
		if (p[0] == 0xf4)
			hi = 0x8f;		/* nothing above U+10FFFF */
	} else
		return (0);
	if (left < n || p[1] < lo || p[1] > hi)
		return (0);
	for (k = 2; k < n; k++)
		if (p[k] < 0x80 || p[k] > 0xbf)
			return (0);
	r->i += n;
	return (1);
}

static int
rfc_string(struct rfc *r)
{
	uint8_t c;
	int k;

	r->i++;				/* the opening quote */
	while (r->i < r->len) {
		c = r->p[r->i];
		if (c == '"') {
			r->i++;
			return (1);
		}
		if (c < 0x20)
			return (0);
		if (c == '\\') {
			if (++r->i >= r->len)
				return (0);
			c = r->p[r->i++];
			if (c == 'u') {
				for (k = 0; k < 4; k++, r->i++)
					if (r->i >= r->len ||
					    !rfc_hex(r->p[r->i]))
						return (0);
			} else if (!strchr("\"\\/bfnrt", c) || c == 0)
				return (0);
		} else if (c >= 0x80) {
			if (!rfc_utf8(r))
				return (0);
		} else
			r->i++;
	}
	return (0);
}

static int
rfc_digits(struct rfc *r)
{
	size_t start = r->i;

	while (r->i < r->len && r->p[r->i] >= '0' && r->p[r->i] <= '9')
		r->i++;
	return (r->i > start);
}

static int
rfc_number(struct rfc *r)
{
	if (r->p[r->i] == '-')
		r->i++;
	if (r->i < r->len && r->p[r->i] == '0')
		r->i++;
	else if (!rfc_digits(r))
		return (0);
	if (r->i < r->len && r->p[r->i] == '.') {
		r->i++;
		if (!rfc_digits(r))
			return (0);
	}
	if (r->i < r->len && (r->p[r->i] == 'e' || r->p[r->i] == 'E')) {
		r->i++;
		if (r->i < r->len && (r->p[r->i] == '+' || r->p[r->i] == '-'))
			r->i++;
		if (!rfc_digits(r))
			return (0);
	}
	return (1);
}

static int
rfc_word(struct rfc *r, const char *w)
{
	size_t n = strlen(w);

	if (r->len - r->i < n || memcmp(r->p + r->i, w, n) != 0)
		return (0);
	r->i += n;
	return (1);
}

/* Object or array: ${close} is '}' or ']'. */
static int
rfc_container(struct rfc *r, uint8_t close)
{
	int ok = 0;

	if (++r->depth > r->max_depth)
		r->max_depth = r->depth;
	if (r->depth > 1000)		/* our own stack */
		return (0);
	r->i++;
	rfc_ws(r);
	if (r->i < r->len && r->p[r->i] == close) {
		r->i++;
		r->depth--;
		return (1);
	}
	for (;;) {
		if (close == '}') {
			rfc_ws(r);
			if (r->i >= r->len || r->p[r->i] != '"' ||
			    !rfc_string(r))
				goto out;
			rfc_ws(r);
			if (r->i >= r->len || r->p[r->i] != ':')
				goto out;
			r->i++;
		}
		if (!rfc_value(r))
			goto out;
		if (r->i < r->len && r->p[r->i] == ',') {
			r->i++;
			continue;
		}
		if (r->i < r->len && r->p[r->i] == close) {
			r->i++;
			ok = 1;
		}
		goto out;
	}
out:
	r->depth--;
	return (ok);
}

/* ws value ws */
static int
rfc_value(struct rfc *r)
{
	int ok;

	rfc_ws(r);
	if (r->i >= r->len)
		return (0);
	switch (r->p[r->i]) {
	case '{':
		ok = rfc_container(r, '}');
		break;
	case '[':
		ok = rfc_container(r, ']');
		break;
	case '"':
		ok = rfc_string(r);
		break;
	case 't':
		ok = rfc_word(r, "true");
		break;
	case 'f':
		ok = rfc_word(r, "false");
		break;
	case 'n':
		ok = rfc_word(r, "null");
		break;
	default:
		ok = (r->p[r->i] == '-' ||
		    (r->p[r->i] >= '0' && r->p[r->i] <= '9')) && rfc_number(r);
	}
	if (ok)
		rfc_ws(r);
	return (ok);
}

static int
rfc8259_valid(const uint8_t *p, size_t len, int *depth, int lax_utf8)
{
	struct rfc r;

	memset(&r, 0, sizeof(r));
	r.lax_utf8 = lax_utf8;
	r.p = p;
	r.len = len;
	*depth = 0;
	if (!rfc_value(&r) || r.i != len)
		return (0);
	*depth = r.max_depth;
	return (1);
}

/* json-c alone in strict mode: one text, then only white space. */
static int
jsonc_strict(const uint8_t *p, size_t len)
{
	struct json_tokener *tok;
	json_object *obj;
	enum json_tokener_error e;
	size_t end;
	int ok = 0;

	if ((tok = json_tokener_new()) == NULL)
		abort();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, (const char *)p, (int)len);
	e = json_tokener_get_error(tok);
	if (e == json_tokener_success) {
		for (end = json_tokener_get_parse_end(tok); end < len &&
		    json_check_space(p[end]); end++)
			continue;
		ok = end == len;
	} else if (e == json_tokener_continue) {
		json_object_put(obj);
		obj = json_tokener_parse_ex(tok, " ", 1);
		ok = json_tokener_get_error(tok) == json_tokener_success;
	}
	json_object_put(obj);
	json_tokener_free(tok);
	return (ok);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *body;
	int valid, rfc, depth;

	if (size > 1 << 20)
		return (0);
	if ((body = calloc(1, size ? size : 1)) == NULL)
		abort();
	if (size > 0)
		memcpy(body, data, size);
	(void)json_check_declared((const char *)body, size);
	(void)json_check_looks_like(body, size);
	valid = json_check_valid(body, size);
	rfc = rfc8259_valid(body, size, &depth, 0);
	if (valid) {
#ifdef FUZZ_KNOWN_BUGS
		/* Known: json-c lets invalid UTF-8 through; look past it. */
		if (!rfc)
			rfc = rfc8259_valid(body, size, &depth, 1);
#endif
		FUZZ_CHECK(rfc);
		FUZZ_CHECK(depth <= JSON_CHECK_DEPTH);
		FUZZ_CHECK(jsonc_strict(body, size));
	}
#ifndef FUZZ_JSON_ONE_WAY
	if (rfc && depth < JSON_CHECK_DEPTH)
		FUZZ_CHECK(valid);
#endif
	free(body);
	return (0);
}
