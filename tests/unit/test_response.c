/*
 * fcgi/response.c: the status table of design §4, byte for byte as a web
 * server receives it from the program.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../fcgi/response.c"

static char out[RELAY_BODY_MAX + 1024];
static size_t out_len;
static int fail_writes;

static int
capture(void *ctx, const void *p, size_t n)
{
	(void)ctx;
	if (fail_writes)
		return (-1);
	assert_true(n <= sizeof(out) - 1 - out_len);
	memcpy(out + out_len, p, n);
	out_len += n;
	out[out_len] = '\0';
	return (0);
}

static void
reset(void)
{
	out_len = 0;
	out[0] = '\0';
	fail_writes = 0;
}

/* The value of header ${name} in the output, or NULL. */
static const char *
header(const char *name)
{
	static char value[256];
	char key[64];
	const char *p, *e;

	snprintf(key, sizeof(key), "\r\n%s: ", name);
	if (strncmp(out, key + 2, strlen(key) - 2) == 0)
		p = out + strlen(key) - 2;
	else if ((p = strstr(out, key)) != NULL)
		p += strlen(key);
	else
		return (NULL);
	if ((e = strstr(p, "\r\n")) == NULL || (size_t)(e - p) >= sizeof(value))
		return (NULL);
	memcpy(value, p, (size_t)(e - p));
	value[e - p] = '\0';
	return (value);
}

static const char *
body(void)
{
	const char *p = strstr(out, "\r\n\r\n");

	assert_non_null(p);
	return (p + 4);
}

/* Check a relay error of ${status} with ${slug}; Content-Length matches. */
static void
assert_error(int status, const char *slug)
{
	char want[128];
	const char *b = body();

	snprintf(want, sizeof(want), "%d %s", status, response_reason(status));
	assert_string_equal(header("Status"), want);
	assert_string_equal(header("Content-Type"), "application/json");
	assert_string_equal(header("Cache-Control"), "no-store");
	snprintf(want, sizeof(want), "{\"error\":\"%s\",\"message\":\"", slug);
	assert_memory_equal(b, want, strlen(want));
	assert_string_equal(b + strlen(b) - 3, "\"}\n");
	snprintf(want, sizeof(want), "%zu", strlen(b));
	assert_string_equal(header("Content-Length"), want);
	if (status == 405)
		assert_string_equal(header("Allow"), "GET, POST");
	else
		assert_null(header("Allow"));
	if (status != 429 && status != 503)
		assert_null(header("Retry-After"));
}

static void
test_local_table(void **state)
{
	static const struct {
		int status;
		const char *slug;
	} table[] = {
		{ 400, "bad_request" }, { 403, "mode_not_allowed" },
		{ 404, "device_offline" }, { 405, "method_not_allowed" },
		{ 413, "body_too_large" }, { 429, "rate_limited" },
		{ 502, "device_unreachable" }, { 503, "relay_unavailable" },
		{ 504, "device_timeout" }
	};
	struct response r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		reset();
		response_local(&r, table[i].status, "some text");
		assert_int_equal(response_send(&r, capture, NULL), 0);
		assert_error(table[i].status, table[i].slug);
		if (table[i].status == 429 || table[i].status == 503)
			assert_string_equal(header("Retry-After"), "5");
	}
	/* A status outside the table is answered as 503. */
	reset();
	response_local(&r, 500, "oops");
	assert_int_equal(response_send(&r, capture, NULL), 0);
	assert_error(503, "relay_unavailable");
}

static void
test_outcomes(void **state)
{
	static const struct {
		int outcome;
		int status;
		const char *slug;
	} table[] = {
		{ RELAY_OFFLINE, 404, "device_offline" },
		{ RELAY_RATE_LIMITED, 429, "rate_limited" },
		{ RELAY_NOT_ALLOWED, 403, "mode_not_allowed" },
		{ RELAY_UNREACHABLE, 502, "device_unreachable" },
		{ RELAY_TIMEOUT, 504, "device_timeout" },
		{ RELAY_OVERLOADED, 503, "relay_unavailable" },
		{ RELAY_BAD_REQUEST, 400, "bad_request" }
	};
	struct relay_answer ans;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		reset();
		memset(&ans, 0, sizeof(ans));
		ans.outcome = (uint8_t)table[i].outcome;
		ans.retry_after = 17;
		assert_int_equal(response_send_answer(&ans, capture, NULL), 0);
		assert_error(table[i].status, table[i].slug);
		/* The slug is also the broker's counter name. */
		assert_string_equal(relay_outcome_name(table[i].outcome),
		    table[i].slug);
		if (table[i].status == 429 || table[i].status == 503)
			assert_string_equal(header("Retry-After"), "17");

		/* Without a value from the broker, the default. */
		reset();
		ans.retry_after = 0;
		assert_int_equal(response_send_answer(&ans, capture, NULL), 0);
		if (table[i].status == 429 || table[i].status == 503)
			assert_string_equal(header("Retry-After"), "5");
	}
}

static void
test_device_answer(void **state)
{
	struct relay_answer ans;

	(void)state;
	reset();
	memset(&ans, 0, sizeof(ans));
	ans.outcome = RELAY_DEVICE;
	ans.status = 200;
	ans.ctype = "application/json";
	ans.ctype_len = 16;
	ans.body = (const uint8_t *)"{\"ok\":true}";
	ans.body_len = 11;
	assert_int_equal(response_send_answer(&ans, capture, NULL), 0);
	assert_string_equal(header("Status"), "200 OK");
	assert_string_equal(header("Content-Type"), "application/json");
	assert_string_equal(header("Cache-Control"), "no-store");
	assert_string_equal(header("Content-Length"), "11");
	assert_null(header("Retry-After"));
	assert_string_equal(body(), "{\"ok\":true}");

	/* Any status of the device, its body unchanged, text/plain default. */
	reset();
	ans.status = 500;
	ans.ctype = "";
	ans.ctype_len = 0;
	ans.body = (const uint8_t *)"FAILED\n";
	ans.body_len = 7;
	assert_int_equal(response_send_answer(&ans, capture, NULL), 0);
	assert_string_equal(header("Status"), "500 Internal Server Error");
	assert_string_equal(header("Content-Type"), "text/plain");
	assert_string_equal(body(), "FAILED\n");

	/* An empty body. */
	reset();
	ans.status = 204;
	ans.body_len = 0;
	assert_int_equal(response_send_answer(&ans, capture, NULL), 0);
	assert_string_equal(header("Status"), "204 No Content");
	assert_string_equal(header("Content-Length"), "0");
	assert_string_equal(body(), "");

	/* An unusual status keeps its number. */
	reset();
	ans.status = 299;
	assert_int_equal(response_send_answer(&ans, capture, NULL), 0);
	assert_string_equal(header("Status"), "299 Success");

	/* Every passed-on answer forbids sniffing, scripts and frames. */
	assert_string_equal(header("X-Content-Type-Options"), "nosniff");
	assert_string_equal(header("Content-Security-Policy"),
	    "default-src 'none'; sandbox");

	/* A content type with parameters, in any letter case, is kept. */
	reset();
	ans.status = 200;
	ans.ctype = "Application/JSON; charset=utf-8";
	ans.ctype_len = strlen(ans.ctype);
	assert_int_equal(response_send_answer(&ans, capture, NULL), 0);
	assert_string_equal(header("Content-Type"),
	    "Application/JSON; charset=utf-8");

	/* A content type that would break the header is refused. */
	reset();
	ans.ctype = "text/plain\r\nSet-Cookie: x=1";
	ans.ctype_len = strlen(ans.ctype);
	assert_int_equal(response_send_answer(&ans, capture, NULL), 0);
	assert_error(502, "device_unreachable");
	assert_null(header("Set-Cookie"));

	/* HTML (or anything but JSON and plain text) is never served. */
	reset();
	ans.ctype = "text/html";
	ans.ctype_len = strlen(ans.ctype);
	assert_int_equal(response_send_answer(&ans, capture, NULL), 0);
	assert_error(502, "device_unreachable");
	reset();
	ans.ctype = "text/plainx";
	ans.ctype_len = strlen(ans.ctype);
	assert_int_equal(response_send_answer(&ans, capture, NULL), 0);
	assert_error(502, "device_unreachable");

	/* 1xx: the web server would read the body as the real answer. */
	reset();
	ans.ctype = "text/plain";
	ans.ctype_len = 10;
	ans.status = 100;
	assert_int_equal(response_send_answer(&ans, capture, NULL), 0);
	assert_error(502, "device_unreachable");
	reset();
	ans.status = 199;
	assert_int_equal(response_send_answer(&ans, capture, NULL), 0);
	assert_error(502, "device_unreachable");

	/* A status out of range from a broken broker is not passed on. */
	reset();
	ans.status = 1000;
	assert_int_equal(response_send_answer(&ans, capture, NULL), 0);
	assert_error(502, "device_unreachable");
}

static void
test_escaping(void **state)
{
	struct response r;

	(void)state;
	reset();
	response_local(&r, 400, "a \"quoted\" \\ and\na newline");
	assert_int_equal(response_send(&r, capture, NULL), 0);
	assert_string_equal(body(), "{\"error\":\"bad_request\",\"message\":"
	    "\"a \\\"quoted\\\" \\\\ and\\u000aa newline\"}\n");
}

static void
test_write_failure(void **state)
{
	struct response r;
	struct relay_answer ans;

	(void)state;
	reset();
	fail_writes = 1;
	response_local(&r, 400, "x");
	assert_int_equal(response_send(&r, capture, NULL), -1);
	memset(&ans, 0, sizeof(ans));
	ans.status = 200;
	assert_int_equal(response_send_answer(&ans, capture, NULL), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_local_table),
		cmocka_unit_test(test_outcomes),
		cmocka_unit_test(test_device_answer),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_write_failure),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
