#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "json_check.h"

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

static int
json_check_hex(uint8_t c)
{
	return ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F'));
}

/*
 * Skip the string whose opening quote is at ${body}[${i}] and return the
 * index after its closing quote, or 0 if it is malformed: a control
 * character, an escape that RFC 8259 does not have, or a byte sequence
 * that is not UTF-8.
 */
static size_t
json_check_string(const uint8_t *body, size_t len, size_t i)
{
	size_t n, k;
	uint8_t c;

	for (i++; i < len; i++) {
		c = body[i];
		if (c == '"')
			return (i + 1);
		if (c < 0x20)
			return (0);
		if (c == '\\') {
			if (++i >= len)
				return (0);
			c = body[i];
			if (c == 'u') {
				if (len - i < 5)
					return (0);
				for (k = 1; k <= 4; k++)
					if (!json_check_hex(body[i + k]))
						return (0);
				i += 4;
			} else if (strchr("\"\\/bfnrt", c) == NULL || c == '\0')
				return (0);
		} else if (c >= 0x80) {
			if ((n = json_check_utf8(body, len, i)) == 0)
				return (0);
			i += n - 1;
		}
	}
	return (0);
}

/* Skip the literal ${word} at ${body}[${i}]; return the index after or 0. */
static size_t
json_check_word(const uint8_t *body, size_t len, size_t i, const char *word)
{
	size_t n = strlen(word);

	if (len - i < n || memcmp(body + i, word, n) != 0)
		return (0);
	return (i + n);
}

static size_t
json_check_skip_space(const uint8_t *body, size_t len, size_t i)
{
	while (i < len && json_check_space(body[i]))
		i++;
	return (i);
}

/**
 * json_check_valid(body, len):
 * Return 1 if ${body} of ${len} bytes is exactly one JSON text (strict:
 * double-quoted strings, no control characters in strings, valid UTF-8,
 * no NaN, nesting within json-c's limit of JSON_CHECK_DEPTH levels, nothing
 * but white space after it), else 0.
 *
 * One pass, no allocation, nothing locale-dependent: the grammar of
 * RFC 8259 with a stack of one bit per open object (1) or array (0).  The
 * fuzz target cross-checks it against json-c and an independent validator.
 */
int
json_check_valid(const uint8_t *body, size_t len)
{
	uint64_t stack = 0;	/* bit d: level d + 1 is an object */
	unsigned int depth = 0;
	size_t i = 0;
	uint8_t c;

	if (len == 0)
		return (0);
value:
	i = json_check_skip_space(body, len, i);
	if (i >= len)
		return (0);
	c = body[i];
	if (c == '{' || c == '[') {
		if (depth >= JSON_CHECK_DEPTH)
			return (0);
		stack = (stack & ~((uint64_t)1 << depth)) |
		    ((uint64_t)(c == '{') << depth);
		depth++;
		i = json_check_skip_space(body, len, i + 1);
		if (i < len && body[i] == (c == '{' ? '}' : ']')) {
			depth--;
			i++;
			goto after;
		}
		if (c == '{')
			goto key;
		goto value;
	} else if (c == '"')
		i = json_check_string(body, len, i);
	else if (c == '-' || json_check_digit(c))
		i = json_check_number(body, len, i);
	else if (c == 't')
		i = json_check_word(body, len, i, "true");
	else if (c == 'f')
		i = json_check_word(body, len, i, "false");
	else if (c == 'n')
		i = json_check_word(body, len, i, "null");
	else
		return (0);
	if (i == 0)
		return (0);
after:
	i = json_check_skip_space(body, len, i);
	if (depth == 0)
		return (i == len);
	if (i >= len)
		return (0);
	c = body[i++];
	if (stack & ((uint64_t)1 << (depth - 1))) {
		if (c == '}') {
			depth--;
			goto after;
		}
		if (c == ',')
			goto key;
		return (0);
	}
	if (c == ']') {
		depth--;
		goto after;
	}
	if (c == ',')
		goto value;
	return (0);
key:
	i = json_check_skip_space(body, len, i);
	if (i >= len || body[i] != '"' ||
	    (i = json_check_string(body, len, i)) == 0)
		return (0);
	i = json_check_skip_space(body, len, i);
	if (i >= len || body[i] != ':')
		return (0);
	i++;
	goto value;
}
