#include <limits.h>
#include <string.h>

#include <json-c/json.h>

#include "json_check.h"

#ifndef JSON_TOKENER_VALIDATE_UTF8
#define JSON_TOKENER_VALIDATE_UTF8 0
#endif

static int
json_check_space(uint8_t c)
{
	return (c == ' ' || c == '\t' || c == '\n' || c == '\r');
}

/**
 * json_check_declared(ctype, len):
 * Return 1 if the media type ${ctype} (of ${len} bytes, parameters allowed)
 * is application/json or any type with a "+json" suffix, else 0.
 */
int
json_check_declared(const char *ctype, size_t len)
{
	const char *semi, *slash;

	if (ctype == NULL)
		return (0);
	if ((semi = memchr(ctype, ';', len)) != NULL)
		len = (size_t)(semi - ctype);
	while (len > 0 && json_check_space((uint8_t)ctype[0])) {
		ctype++;
		len--;
	}
	while (len > 0 && json_check_space((uint8_t)ctype[len - 1]))
		len--;
	if (len == 16 && strncasecmp(ctype, "application/json", 16) == 0)
		return (1);
	/* type "/" subtype "+json", with a type and a subtype before it */
	if ((slash = memchr(ctype, '/', len)) == NULL || slash == ctype)
		return (0);
	if (len - (size_t)(slash - ctype) < 1 + 1 + 5)
		return (0);
	return (strncasecmp(ctype + len - 5, "+json", 5) == 0);
}

/**
 * json_check_looks_like(body, len):
 * Return 1 if the first byte of ${body} that is not JSON white space is
 * '{' or '[', else 0.
 */
int
json_check_looks_like(const uint8_t *body, size_t len)
{
	size_t i;

	for (i = 0; i < len && json_check_space(body[i]); i++)
		continue;
	return (i < len && (body[i] == '{' || body[i] == '['));
}

static int
json_check_digit(uint8_t c)
{
	return (c >= '0' && c <= '9');
}

/*
 * Skip a number at ${body}[${i}] by the grammar of RFC 8259
 * -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? and return the index after
 * it, or 0 if it is malformed.
 */
static size_t
json_check_number(const uint8_t *body, size_t len, size_t i)
{
	if (i < len && body[i] == '-')
		i++;
	if (i < len && body[i] == '0')
		i++;
	else if (i < len && json_check_digit(body[i]))
		while (i < len && json_check_digit(body[i]))
			i++;
	else
		return (0);
	if (i < len && body[i] == '.') {
		if (++i >= len || !json_check_digit(body[i]))
			return (0);
		while (i < len && json_check_digit(body[i]))
			i++;
	}
	if (i < len && (body[i] == 'e' || body[i] == 'E')) {
		if (++i < len && (body[i] == '+' || body[i] == '-'))
			i++;
		if (i >= len || !json_check_digit(body[i]))
			return (0);
		while (i < len && json_check_digit(body[i]))
			i++;
	}
	if (i < len && (json_check_digit(body[i]) || body[i] == '.'))
		return (0);
	return (i);
}

/*
 * The length of the well-formed UTF-8 sequence (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF) starting at body[i], or 0.
 * json-c only checks the bit patterns of lead and continuation bytes.
 */
static size_t
json_check_utf8(const uint8_t *body, size_t len, size_t i)
{
	uint8_t c = body[i], lo = 0x80, hi = 0xbf;
	size_t n, k;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return (0);
	if (len - i < n || body[i + 1] < lo || body[i + 1] > hi)
		return (0);
	for (k = 2; k < n; k++)
		if (body[i + k] < 0x80 || body[i + k] > 0xbf)
			return (0);
	return (n);
}

/*
 * The tokens of RFC 8259, checked before json-c sees the text, because
 * json-c lets through even with JSON_TOKENER_STRICT: single-quoted keys,
 * control characters inside strings, NaN, Infinity and "1.".  json-c then
 * checks the structure.  Return 1 if every token is well formed, else 0.
 */
static int
json_check_lexical(const uint8_t *body, size_t len)
{
	static const char *const words[] = { "true", "false", "null" };
	size_t i = 0, j, k, n;
	uint8_t c;

	while (i < len) {
		c = body[i];
		if (c == '"') {
			for (i++; i < len && body[i] != '"'; i++) {
				if (body[i] < 0x20)
					return (0);
				if (body[i] == '\\')
					i++;
				else if (body[i] >= 0x80) {
					if ((n = json_check_utf8(body, len, i)) == 0)
						return (0);
					i += n - 1;
				}
			}
			if (i >= len)
				return (0);
			i++;
		} else if (c == '-' || json_check_digit(c)) {
			if ((i = json_check_number(body, len, i)) == 0)
				return (0);
		} else if (c >= 'a' && c <= 'z') {
			for (j = i; j < len && body[j] >= 'a' && body[j] <= 'z';
			    j++)
				continue;
			for (k = 0; k < 3; k++) {
				n = strlen(words[k]);
				if (j - i == n &&
				    memcmp(body + i, words[k], n) == 0)
					break;
			}
			if (k == 3)
				return (0);
			i = j;
		} else if (json_check_space(c) || c == '{' || c == '}' ||
		    c == '[' || c == ']' || c == ',' || c == ':') {
			i++;
		} else {
			return (0);
		}
	}
	return (1);
}

/**
 * json_check_valid(body, len):
 * Return 1 if ${body} of ${len} bytes is exactly one JSON text (strict:
 * double-quoted strings, no control characters in strings, valid UTF-8,
 * no NaN, nesting within json-c's limit of JSON_CHECK_DEPTH levels, nothing
 * but white space after it), else 0.
 */
int
json_check_valid(const uint8_t *body, size_t len)
{
	struct json_tokener *tok;
	json_object *obj;
	enum json_tokener_error e;
	int ok = 0;

	if (len == 0 || len > INT_MAX || !json_check_lexical(body, len))
		return (0);
	if ((tok = json_tokener_new_ex(JSON_CHECK_DEPTH)) == NULL)
		return (0);
	json_tokener_set_flags(tok,
	    JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, (const char *)body, (int)len);
	e = json_tokener_get_error(tok);
	/* A JSON null parses to a NULL object: only the error code counts. */
	if (e == json_tokener_success) {
		/* json-c eats trailing white space: all of it must be gone. */
		ok = json_tokener_get_parse_end(tok) == len;
	} else if (e == json_tokener_continue) {
		/*
		 * A number or literal at the very end is only complete once
		 * something follows it: end the text with a space.
		 */
		obj = json_tokener_parse_ex(tok, " ", 1);
		ok = json_tokener_get_error(tok) == json_tokener_success &&
		    json_tokener_get_parse_end(tok) == 1;
	}
	json_object_put(obj);
	json_tokener_free(tok);
	return (ok);
}
