/*
 * fcgi/request.c and fcgi/json_check.c: what the relay accepts from an HTTP
 * request and what it refuses, with which status, before anything reaches
 * the broker.  The fcgi/ sources are not in libawtrix.a, so they are
 * included here.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../fcgi/json_check.c"
#include "../../fcgi/request.c"

#define TOK "abcdefghijABCDEFGHIJ0123456789xy"
#define TOK2 "ZZZZZZZZZZABCDEFGHIJ0123456789xy"
#define MAX_BODY 16384

static struct request rq;
static struct request_error err;

static struct request_env
env_get(const char *query)
{
	struct request_env env;

	memset(&env, 0, sizeof(env));
	env.method = "GET";
	env.query = query;
	return (env);
}

/* Parse ${env} with the body ${body}; return the HTTP status (0: ok). */
static int
parse(const struct request_env *env, const char *body, size_t len)
{
	memset(&err, 0, sizeof(err));
	if (request_parse(&rq, env, (const uint8_t *)body, len, MAX_BODY,
	    &err) == 0)
		return (0);
	assert_non_null(err.message);
	/* No message ever repeats the token. */
	assert_null(strstr(err.message, TOK));
	return (err.status);
}

static int
parse_query(const char *query)
{
	struct request_env env = env_get(query);

	return (parse(&env, "", 0));
}

static int
parse_post(const char *ctype, const char *clen, const char *body)
{
	struct request_env env = env_get("mode=notify&token=" TOK);

	env.method = "POST";
	env.ctype = ctype;
	env.content_length = clen;
	return (parse(&env, body, strlen(body)));
}

static void
assert_query(const char *want)
{
	assert_int_equal(rq.req.query_len, strlen(want));
	assert_memory_equal(rq.req.query, want, strlen(want));
}

static void
test_minimal(void **state)
{
	(void)state;
	assert_int_equal(parse_query("mode=notify&token=" TOK), 0);
	assert_int_equal(rq.req.method, RELAY_GET);
	assert_memory_equal(rq.token, TOK, TOKEN_LEN);
	assert_int_equal(rq.req.mode_len, 6);
	assert_memory_equal(rq.req.mode, "notify", 6);
	assert_int_equal(rq.req.query_len, 0);
	assert_int_equal(rq.req.ctype_len, 0);
	assert_int_equal(rq.req.body_len, 0);
	assert_int_equal(rq.body_how, REQUEST_BODY_NONE);

	/* Order does not matter; empty pieces are skipped. */
	assert_int_equal(parse_query("&&token=" TOK "&&mode=notify/dismiss&"),
	    0);
	assert_memory_equal(rq.req.mode, "notify/dismiss", 14);
}

static void
test_method(void **state)
{
	static const char *const bad[] = { "HEAD", "PUT", "DELETE", "OPTIONS",
	    "PATCH", "get", "post", "", "GET ", "TRACE" };
	struct request_env env = env_get("mode=notify&token=" TOK);
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		env.method = bad[i];
		assert_int_equal(parse(&env, "", 0), 405);
	}
	env.method = NULL;
	assert_int_equal(parse(&env, "", 0), 405);
	/* The method is checked first, before a missing token. */
	env = env_get(NULL);
	env.method = "PUT";
	assert_int_equal(parse(&env, "", 0), 405);
	env.method = "POST";
	assert_int_equal(parse(&env, "", 0), 400);
}

static void
test_passed_on(void **state)
{
	(void)state;
	assert_int_equal(parse_query("mode=custom&name=clock&token=" TOK), 0);
	assert_query("name=clock");
	assert_int_equal(parse_query("name=my%20app&mode=custom&token=" TOK
	    "&x=1"), 0);
	assert_query("name=my%20app&x=1");
	/* '+' is a space; reserved bytes are re-encoded; UTF-8 is kept. */
	assert_int_equal(parse_query("mode=custom&token=" TOK
	    "&name=a+b%2Bc%26d%3De&t=caf%C3%A9&u=\xc3\xa9"), 0);
	assert_query("name=a%20b%2Bc%26d%3De&t=caf%C3%A9&u=%C3%A9");
	/* A name without '=' stays one; an empty value stays empty. */
	assert_int_equal(parse_query("mode=custom&token=" TOK "&flag&e="), 0);
	assert_query("flag&e=");
	/* Names are decoded before they are compared. */
	assert_int_equal(parse_query("mo%64e=notify&%74oken=" TOK), 0);
	assert_int_equal(rq.req.query_len, 0);
	/* Unreserved characters stay as they are. */
	assert_int_equal(parse_query("mode=custom&token=" TOK
	    "&a-b_c.d~e=A-Z_a.z~0"), 0);
	assert_query("a-b_c.d~e=A-Z_a.z~0");
}

static void
test_percent_decoding(void **state)
{
	static const char *const bad[] = { "%", "%4", "%zz", "%G0", "x=%",
	    "x=%0", "x=%%41", "x=%00", "x=%0a", "x=%0D", "x=%7f", "x=%1F",
	    "x=a\tb", "x=a\nb", "%0a=1" };
	char q[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(q, sizeof(q), "mode=notify&token=" TOK "&%s", bad[i]);
		assert_int_equal(parse_query(q), 400);
	}
	/* Malformed escapes in mode and token are just as bad. */
	assert_int_equal(parse_query("mode=noti%2&token=" TOK), 400);
	assert_int_equal(parse_query("mode=notify&token=%" TOK), 400);
	assert_int_equal(parse_query("mode=notify&token=" TOK "&=x"), 400);
	/* Upper and lower case hex digits both decode. */
	assert_int_equal(parse_query("mode=notify&token=" TOK "&x=%c3%A9"), 0);
	assert_query("x=%C3%A9");
}

static void
test_duplicates(void **state)
{
	(void)state;
	assert_int_equal(parse_query("mode=notify&mode=notify&token=" TOK),
	    400);
	assert_int_equal(parse_query("mode=notify&token=" TOK "&token=" TOK),
	    400);
	assert_int_equal(parse_query("mode=notify&token=" TOK "&mode=custom"),
	    400);
	assert_int_equal(parse_query("mode=notify&token=" TOK "&mo%64e=x"),
	    400);
	assert_int_equal(parse_query("mode=notify&token=&token=" TOK), 400);
	/* Other parameters may repeat: the device decides. */
	assert_int_equal(parse_query("mode=notify&token=" TOK "&a=1&a=2"), 0);
	assert_query("a=1&a=2");
}

static void
test_token(void **state)
{
	(void)state;
	assert_int_equal(parse_query("mode=notify"), 400);
	assert_non_null(strstr(err.message, "missing token"));
	assert_int_equal(parse_query(NULL), 400);
	assert_int_equal(parse_query(""), 400);
	/* 31 and 33 characters, non-alphanumeric, empty. */
	assert_int_equal(parse_query("mode=notify&token="
	    "abcdefghijABCDEFGHIJ0123456789x"), 400);
	assert_non_null(strstr(err.message, "malformed token"));
	assert_int_equal(parse_query("mode=notify&token=" TOK "z"), 400);
	assert_int_equal(parse_query("mode=notify&token="
	    "abcdefghijABCDEFGHIJ0123456789x-"), 400);
	assert_int_equal(parse_query("mode=notify&token="
	    "abcdefghijABCDEFGHIJ0123456789x_"), 400);
	assert_int_equal(parse_query("mode=notify&token="
	    "abcdefghijABCDEFGHIJ0123456789x%20"), 400);
	assert_int_equal(parse_query("mode=notify&token="
	    "abcdefghijABCDEFGHIJ0123456789x+"), 400);
	assert_int_equal(parse_query("mode=notify&token="
	    "abcdefghijABCDEFGHIJ0123456789x%C3%A9"), 400);
	assert_int_equal(parse_query("mode=notify&token="), 400);
	assert_int_equal(parse_query("mode=notify&token"), 400);
	/* A percent-encoded token is decoded first. */
	assert_int_equal(parse_query("mode=notify&token=%61bcdefghijABCDEFGHIJ"
	    "0123456789xy"), 0);
	assert_memory_equal(rq.token, TOK, TOKEN_LEN);
}

static void
test_bearer(void **state)
{
	struct request_env env = env_get("mode=notify");

	(void)state;
	env.authorization = "Bearer " TOK;
	assert_int_equal(parse(&env, "", 0), 0);
	assert_memory_equal(rq.token, TOK, TOKEN_LEN);
	env.authorization = "bearer  " TOK "  ";
	assert_int_equal(parse(&env, "", 0), 0);
	env.authorization = "BEARER\t" TOK;
	assert_int_equal(parse(&env, "", 0), 0);

	/* Malformed bearer tokens. */
	env.authorization = "Bearer abcdefghijABCDEFGHIJ0123456789x";
	assert_int_equal(parse(&env, "", 0), 400);
	env.authorization = "Bearer " TOK "z";
	assert_int_equal(parse(&env, "", 0), 400);
	env.authorization = "Bearer " TOK " x";
	assert_int_equal(parse(&env, "", 0), 400);
	env.authorization = "Bearer";
	assert_int_equal(parse(&env, "", 0), 400);
	env.authorization = "Bearer ";
	assert_int_equal(parse(&env, "", 0), 400);

	/* Other schemes are not ours: the token is then missing. */
	env.authorization = "Basic dXNlcjpwYXNz";
	assert_int_equal(parse(&env, "", 0), 400);
	assert_non_null(strstr(err.message, "missing token"));
	env.authorization = "Bearer" TOK;
	assert_int_equal(parse(&env, "", 0), 400);

	/* Both: the same is fine, different is refused. */
	env = env_get("mode=notify&token=" TOK);
	env.authorization = "Bearer " TOK;
	assert_int_equal(parse(&env, "", 0), 0);
	env.authorization = "Bearer " TOK2;
	assert_int_equal(parse(&env, "", 0), 400);
	assert_non_null(strstr(err.message, "differ"));
	env.authorization = "Basic dXNlcjpwYXNz";
	assert_int_equal(parse(&env, "", 0), 0);
}

static void
test_mode(void **state)
{
	static const char *const bad[] = { "mode=", "mode", "mode=..",
	    "mode=../x", "mode=%2Fnotify", "mode=/notify", "mode=notify/",
	    "mode=a//b", "mode=a.b", "mode=no+tify", "mode=no%20tify",
	    "mode=abcdefghijklmnopqrstuvwxyz0123456",
	    "mode=abcdefghijklmnopqrstuvwxyz0123456789012345678901234567890",
	    "mode=notify%3F" };
	char q[256];
	size_t i;

	(void)state;
	assert_int_equal(parse_query("token=" TOK), 400);
	assert_non_null(strstr(err.message, "missing mode"));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(q, sizeof(q), "%s&token=" TOK, bad[i]);
		assert_int_equal(parse_query(q), 400);
	}
	assert_int_equal(parse_query("mode=abcdefghijklmnopqrstuvwxyz012345"
	    "&token=" TOK), 0);
	assert_int_equal(parse_query("mode=notify%2Fdismiss&token=" TOK), 0);
	assert_memory_equal(rq.req.mode, "notify/dismiss", 14);
}

static void
test_query_size(void **state)
{
	static char q[REQUEST_QUERY_RAW_MAX + 64];
	size_t n;

	(void)state;
	/* Passed on exactly RELAY_QUERY_MAX bytes: fits. */
	n = (size_t)snprintf(q, sizeof(q), "mode=notify&token=" TOK "&x=");
	memset(q + n, 'a', RELAY_QUERY_MAX - 2);
	q[n + RELAY_QUERY_MAX - 2] = '\0';
	assert_int_equal(parse_query(q), 0);
	assert_int_equal(rq.req.query_len, RELAY_QUERY_MAX);
	/* One more byte does not. */
	strcat(q, "a");
	assert_int_equal(parse_query(q), 400);
	/* Re-encoding counts: 700 spaces are 2100 bytes. */
	n = (size_t)snprintf(q, sizeof(q), "mode=notify&token=" TOK "&x=");
	memset(q + n, '+', 700);
	q[n + 700] = '\0';
	assert_int_equal(parse_query(q), 400);
	/* A raw query string above the limit is refused unread. */
	memset(q, 'a', REQUEST_QUERY_RAW_MAX + 1);
	q[REQUEST_QUERY_RAW_MAX + 1] = '\0';
	assert_int_equal(parse_query(q), 400);
}

static void
test_content_type(void **state)
{
	char ct[RELAY_CTYPE_MAX + 2];

	(void)state;
	assert_int_equal(parse_post("text/plain; charset=utf-8", "3", "abc"),
	    0);
	assert_int_equal(rq.req.ctype_len, 25);
	assert_memory_equal(rq.req.ctype, "text/plain; charset=utf-8", 25);
	memset(ct, 'a', sizeof(ct));
	ct[RELAY_CTYPE_MAX] = '\0';
	assert_int_equal(parse_post(ct, "3", "abc"), 0);
	ct[RELAY_CTYPE_MAX] = 'a';
	ct[RELAY_CTYPE_MAX + 1] = '\0';
	assert_int_equal(parse_post(ct, "3", "abc"), 400);
	assert_int_equal(parse_post("text/plain\n", "3", "abc"), 400);
	assert_int_equal(parse_post("text/pl\xc3\xa4in", "3", "abc"), 400);
}

static void
test_content_length(void **state)
{
	static const char *const bad[] = { "-1", "+3", " 3", "3 ", "0x3",
	    "3a", "1e3", "3.0", "３" };
	size_t i;

	(void)state;
	assert_int_equal(parse_post("text/plain", "3", "abc"), 0);
	assert_int_equal(rq.req.body_len, 3);
	assert_memory_equal(rq.req.body, "abc", 3);
	assert_int_equal(parse_post("text/plain", "003", "abc"), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse_post("text/plain", bad[i], "abc"), 400);

	/* The body is shorter or longer than announced. */
	assert_int_equal(parse_post("text/plain", "4", "abc"), 400);
	assert_non_null(strstr(err.message, "shorter"));
	assert_int_equal(parse_post("text/plain", "2", "abc"), 400);
	assert_non_null(strstr(err.message, "longer"));
	assert_int_equal(parse_post("text/plain", "0", "a"), 400);
	assert_int_equal(parse_post("text/plain", "0", ""), 0);

	/* No CONTENT_LENGTH: a GET has no body, a POST one up to EOF. */
	assert_int_equal(parse_post("text/plain", NULL, "abc"), 0);
	assert_int_equal(rq.body_how, REQUEST_BODY_TO_EOF);
	assert_int_equal(rq.req.body_len, 3);
	assert_int_equal(parse_post("text/plain", "", ""), 0);
	assert_int_equal(rq.req.body_len, 0);
	{
		struct request_env env = env_get("mode=notify&token=" TOK);

		assert_int_equal(parse(&env, "abc", 3), 0);
		assert_int_equal(rq.body_how, REQUEST_BODY_NONE);
		assert_int_equal(rq.req.body_len, 0);
		env.content_length = "3";
		assert_int_equal(parse(&env, "abc", 3), 0);
		assert_int_equal(rq.req.body_len, 3);
	}
}

static void
test_body_too_large(void **state)
{
	static char body[MAX_BODY + 2];
	char clen[32];

	(void)state;
	memset(body, 'x', sizeof(body) - 1);
	body[MAX_BODY] = '\0';
	snprintf(clen, sizeof(clen), "%d", MAX_BODY);
	assert_int_equal(parse_post("text/plain", clen, body), 0);
	assert_int_equal(rq.req.body_len, MAX_BODY);

	/* The head alone decides: nothing of the body is needed. */
	snprintf(clen, sizeof(clen), "%d", MAX_BODY + 1);
	assert_int_equal(parse_post("text/plain", clen, ""), 413);
	assert_int_equal(parse_post("text/plain", "99999999999999999999999999",
	    ""), 413);
	{
		struct request_env env = env_get("mode=notify&token=" TOK);

		env.method = "POST";
		env.content_length = "17";
		memset(&err, 0, sizeof(err));
		assert_int_equal(request_parse_head(&rq, &env, 16, &err), -1);
		assert_int_equal(err.status, 413);
		env.content_length = "16";
		assert_int_equal(request_parse_head(&rq, &env, 16, &err), 0);
		assert_int_equal(rq.body_how, REQUEST_BODY_EXACT);
		assert_int_equal(rq.body_len, 16);
	}
	/* Without CONTENT_LENGTH, the body read to EOF is measured. */
	body[MAX_BODY] = 'x';
	assert_int_equal(parse_post("text/plain", NULL, body), 413);
}

static void
test_json(void **state)
{
	(void)state;
	assert_int_equal(parse_post("application/json", "13",
	    "{\"text\":\"hi\"}"), 0);
	assert_int_equal(parse_post("application/json", "12",
	    "{\"text\":\"hi\""), 400);
	assert_non_null(strstr(err.message, "JSON"));
	assert_int_equal(parse_post("application/json; charset=utf-8", "3",
	    "{x}"), 400);
	assert_int_equal(parse_post("application/vnd.api+json", "3", "{x}"),
	    400);
	/* Not declared, but looks like JSON. */
	assert_int_equal(parse_post("text/plain", "3", "{x}"), 400);
	assert_int_equal(parse_post(NULL, "5", " \n[1,"), 400);
	assert_int_equal(parse_post(NULL, "5", " \n[1]"), 0);
	/* Plain text stays plain text. */
	assert_int_equal(parse_post("text/plain", "9", "d=4,o=5,b"), 0);
	assert_int_equal(parse_post(NULL, "5", "hello"), 0);
	/* Declared JSON that is not JSON at all. */
	assert_int_equal(parse_post("application/json", "5", "hello"), 400);
	/* An empty JSON body is not checked. */
	assert_int_equal(parse_post("application/json", "0", ""), 0);
	/* Trailing white space is fine, trailing garbage is not. */
	assert_int_equal(parse_post("application/json", "3", "{}\n"), 0);
	assert_int_equal(parse_post("application/json", "4", "{}{}"), 400);
	assert_int_equal(parse_post("application/json", "3", "{},"), 400);
	/* Scalars are JSON too. */
	assert_int_equal(parse_post("application/json", "4", "true"), 0);
	assert_int_equal(parse_post("application/json", "2", "42"), 0);
}

static void
test_json_check(void **state)
{
	static const char *const good[] = { "{}", "[]", " {} ", "0", "-0.5e-3",
	    "1E+2", "true", "false", "null", " null ", "[null]", "\"x\"",
	    "\"\\u00e9\"", "[\"caf\xc3\xa9\"]", "{\"a\":[1,{\"b\":null}]}",
	    "{\"a\\\\\":1}", "{\"draw\":[{\"dp\":[0,0,\"#FF0000\"]}]}" };
	static const char *const bad[] = { "", " ", "{", "[1,]", "{\"a\":1,}",
	    "{'a':1}", "['a']", "{\"a\":\"x\ty\"}", "NaN", "Infinity", "[nan]",
	    "1.", "01", "-", "1e", ".5", "tru", "nul", "[truex]", "[1 2]",
	    "{\"a\" 1}", "{a:1}", "[\"\xc3\"]", "{}x", "\"abc" };
	char deep[2 * (JSON_CHECK_DEPTH + 1) + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(json_check_valid((const uint8_t *)good[i],
		    strlen(good[i])), 1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(json_check_valid((const uint8_t *)bad[i],
		    strlen(bad[i])), 0);
	/* A NUL byte inside. */
	assert_int_equal(json_check_valid((const uint8_t *)"[1]\0", 4), 0);
	assert_int_equal(json_check_valid((const uint8_t *)"[\"\0\"]", 5), 0);

	/* Nesting: up to the limit is fine, one deeper is not. */
	memset(deep, '[', JSON_CHECK_DEPTH);
	memset(deep + JSON_CHECK_DEPTH, ']', JSON_CHECK_DEPTH);
	assert_int_equal(json_check_valid((const uint8_t *)deep,
	    2 * JSON_CHECK_DEPTH), 1);
	memset(deep, '[', JSON_CHECK_DEPTH + 1);
	memset(deep + JSON_CHECK_DEPTH + 1, ']', JSON_CHECK_DEPTH + 1);
	assert_int_equal(json_check_valid((const uint8_t *)deep,
	    2 * JSON_CHECK_DEPTH + 2), 0);

	assert_true(json_check_declared("application/json", 16));
	assert_true(json_check_declared(" Application/JSON ; charset=utf-8",
	    33));
	assert_true(json_check_declared("application/vnd.api+json", 24));
	assert_false(json_check_declared("application/jsonx", 17));
	assert_false(json_check_declared("+json", 5));
	assert_false(json_check_declared("/+json", 6));
	assert_false(json_check_declared("text/plain", 10));
	assert_false(json_check_declared("", 0));
	assert_true(json_check_looks_like((const uint8_t *)" \r\n\t{", 5));
	assert_false(json_check_looks_like((const uint8_t *)" x{", 3));
	assert_false(json_check_looks_like((const uint8_t *)"  ", 2));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_method),
		cmocka_unit_test(test_passed_on),
		cmocka_unit_test(test_percent_decoding),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_token),
		cmocka_unit_test(test_bearer),
		cmocka_unit_test(test_mode),
		cmocka_unit_test(test_query_size),
		cmocka_unit_test(test_content_type),
		cmocka_unit_test(test_content_length),
		cmocka_unit_test(test_body_too_large),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_json_check),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
