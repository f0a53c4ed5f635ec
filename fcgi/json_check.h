#ifndef AWTRIX_FCGI_JSON_CHECK_H
#define AWTRIX_FCGI_JSON_CHECK_H

/*
 * Is a request body JSON, and is it valid?  A body declared as JSON, or that
 * looks like JSON, must parse before it is sent to a device: AWTRIX reads a
 * broken body as empty, and an empty body deletes a custom app.
 */

#include <stddef.h>
#include <stdint.h>

#define JSON_CHECK_DEPTH 32	/* AWTRIX bodies nest 4 or 5 deep */

/**
 * json_check_declared(ctype, len):
 * Return 1 if the media type ${ctype} (of ${len} bytes, parameters allowed)
 * is application/json or any type with a "+json" suffix, else 0.
 */
int json_check_declared(const char *ctype, size_t len);

/**
 * json_check_looks_like(body, len):
 * Return 1 if the first byte of ${body} that is not JSON white space is
 * '{' or '[', else 0.
 */
int json_check_looks_like(const uint8_t *body, size_t len);

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
int json_check_valid(const uint8_t *body, size_t len);

#endif
