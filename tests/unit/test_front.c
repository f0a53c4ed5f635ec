/*
 * The front protocol (lib/front.c) and the mode rule (lib/relay.c): every
 * frame type survives a round trip, and every frame that is not exactly
 * right (truncated, a byte too long, an unknown type, a length out of
 * bounds, a field out of its limits) is refused.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "front.h"
#include "relay.h"
#include "token.h"
#include "wire.h"

static const char test_token[] = "abcdefghijABCDEFGHIJ0123456789xy";

static uint8_t frame[FRONT_FRAME_MAX + 16];
static uint8_t big_body[RELAY_BODY_MAX + 1];

static struct relay_request
sample_request(void)
{
	struct relay_request req;

	memset(&req, 0, sizeof(req));
	req.method = RELAY_POST;
	req.mode = "notify/dismiss";
	req.mode_len = strlen(req.mode);
	req.query = "name=my%20app&x=1";
	req.query_len = strlen(req.query);
	req.ctype = "application/json";
	req.ctype_len = strlen(req.ctype);
	req.body = (const uint8_t *)"{\"text\":\"hi\"}";
	req.body_len = 13;
	return (req);
}

static struct relay_answer
sample_answer(void)
{
	struct relay_answer ans;

	memset(&ans, 0, sizeof(ans));
	ans.outcome = RELAY_DEVICE;
	ans.status = 200;
	ans.ctype = "text/plain";
	ans.ctype_len = 10;
	ans.body = (const uint8_t *)"OK";
	ans.body_len = 2;
	return (ans);
}

/* Check the header of a frame of ${n} bytes and return its payload length. */
static size_t
check_header(long n)
{
	long plen;

	assert_true(n > FRONT_HEADER_LEN);
	plen = front_payload_length(frame);
	assert_int_equal(plen, n - FRONT_HEADER_LEN);
	return ((size_t)plen);
}

/*
 * Every proper prefix of the payload of the frame of ${n} bytes, and the
 * payload with one byte more, must be refused.
 */
static void
check_exact(long n)
{
	struct front_msg m;
	size_t plen = check_header(n), k;

	for (k = 0; k < plen; k++)
		assert_int_equal(front_decode(frame + FRONT_HEADER_LEN, k, &m),
		    -1);
	frame[n] = 0;
	assert_int_equal(front_decode(frame + FRONT_HEADER_LEN, plen + 1, &m),
	    -1);
	assert_int_equal(front_decode(frame + FRONT_HEADER_LEN, plen, &m), 0);
}

static void
test_request_round_trip(void **state)
{
	struct relay_request req = sample_request();
	struct front_msg m;
	long n;
	size_t plen;

	(void)state;
	n = front_encode_request(frame, sizeof(frame), 0xdeadbeef, test_token,
	    &req);
	plen = check_header(n);
	assert_int_equal(front_decode(frame + FRONT_HEADER_LEN, plen, &m), 0);
	assert_int_equal(m.type, FRONT_REQUEST);
	assert_int_equal(m.id, 0xdeadbeef);
	assert_memory_equal(m.token, test_token, TOKEN_LEN);
	assert_int_equal(m.req.method, RELAY_POST);
	assert_int_equal(m.req.mode_len, req.mode_len);
	assert_memory_equal(m.req.mode, req.mode, req.mode_len);
	assert_int_equal(m.req.query_len, req.query_len);
	assert_memory_equal(m.req.query, req.query, req.query_len);
	assert_int_equal(m.req.ctype_len, req.ctype_len);
	assert_memory_equal(m.req.ctype, req.ctype, req.ctype_len);
	assert_int_equal(m.req.body_len, req.body_len);
	assert_memory_equal(m.req.body, req.body, req.body_len);
	check_exact(n);
}

static void
test_request_empty_fields(void **state)
{
	struct relay_request req = sample_request();
	struct front_msg m;
	long n;

	(void)state;
	req.method = RELAY_GET;
	req.query = "";
	req.query_len = 0;
	req.ctype = "";
	req.ctype_len = 0;
	req.body = (const uint8_t *)"";
	req.body_len = 0;
	n = front_encode_request(frame, sizeof(frame), 1, test_token, &req);
	assert_int_equal(front_decode(frame + FRONT_HEADER_LEN,
	    check_header(n), &m), 0);
	assert_int_equal(m.req.method, RELAY_GET);
	assert_int_equal(m.req.query_len, 0);
	assert_int_equal(m.req.body_len, 0);
	check_exact(n);
}

static void
test_request_largest(void **state)
{
	struct relay_request req = sample_request();
	static uint8_t body[RELAY_BODY_MAX + 1];
	static char query[RELAY_QUERY_MAX + 1];
	char ctype[RELAY_CTYPE_MAX + 1];
	struct front_msg m;
	long n;

	(void)state;
	memset(body, 'b', sizeof(body));
	memset(query, 'q', sizeof(query));
	memset(ctype, 'c', sizeof(ctype));
	req.mode = "abcdefghijklmnopqrstuvwxyz012345";
	req.mode_len = RELAY_MODE_MAX;
	req.query = query;
	req.query_len = RELAY_QUERY_MAX;
	req.ctype = ctype;
	req.ctype_len = RELAY_CTYPE_MAX;
	req.body = body;
	req.body_len = RELAY_BODY_MAX;
	n = front_encode_request(frame, sizeof(frame), 2, test_token, &req);
	assert_true(n > 0 && n <= FRONT_FRAME_MAX);
	assert_int_equal(front_decode(frame + FRONT_HEADER_LEN,
	    check_header(n), &m), 0);
	assert_int_equal(m.req.body_len, RELAY_BODY_MAX);

	/* One more of anything does not fit its field. */
	req.body_len = RELAY_BODY_MAX + 1;
	assert_int_equal(front_encode_request(frame, sizeof(frame), 2,
	    test_token, &req), -1);
	req.body_len = RELAY_BODY_MAX;
	req.query_len = RELAY_QUERY_MAX + 1;
	assert_int_equal(front_encode_request(frame, sizeof(frame), 2,
	    test_token, &req), -1);
	req.query_len = RELAY_QUERY_MAX;
	req.ctype_len = RELAY_CTYPE_MAX + 1;
	assert_int_equal(front_encode_request(frame, sizeof(frame), 2,
	    test_token, &req), -1);
	req.ctype_len = RELAY_CTYPE_MAX;
	req.mode = "abcdefghijklmnopqrstuvwxyz0123456";
	req.mode_len = RELAY_MODE_MAX + 1;
	assert_int_equal(front_encode_request(frame, sizeof(frame), 2,
	    test_token, &req), -1);
}

static void
test_request_bad_fields(void **state)
{
	struct relay_request req = sample_request();
	struct front_msg m;
	long n;

	(void)state;
	/* The encoder checks lengths only; the decoder checks the rest. */
	req.mode = "../x";
	req.mode_len = 4;
	n = front_encode_request(frame, sizeof(frame), 3, test_token, &req);
	assert_int_equal(front_decode(frame + FRONT_HEADER_LEN,
	    check_header(n), &m), -1);

	req = sample_request();
	req.method = 3;
	n = front_encode_request(frame, sizeof(frame), 3, test_token, &req);
	assert_int_equal(front_decode(frame + FRONT_HEADER_LEN,
	    check_header(n), &m), -1);

	req = sample_request();
	req.query = "a=\n";
	req.query_len = 3;
	n = front_encode_request(frame, sizeof(frame), 3, test_token, &req);
	assert_int_equal(front_decode(frame + FRONT_HEADER_LEN,
	    check_header(n), &m), -1);

	req = sample_request();
	req.ctype = "text/plain\r\nX: y";
	req.ctype_len = strlen(req.ctype);
	n = front_encode_request(frame, sizeof(frame), 3, test_token, &req);
	assert_int_equal(front_decode(frame + FRONT_HEADER_LEN,
	    check_header(n), &m), -1);
}

static void
test_answer_round_trip(void **state)
{
	struct relay_answer ans = sample_answer();
	struct front_msg m;
	long n;
	int o;

	(void)state;
	n = front_encode_answer(frame, sizeof(frame), 77, &ans);
	assert_int_equal(front_decode(frame + FRONT_HEADER_LEN,
	    check_header(n), &m), 0);
	assert_int_equal(m.type, FRONT_ANSWER);
	assert_int_equal(m.id, 77);
	assert_int_equal(m.ans.outcome, RELAY_DEVICE);
	assert_int_equal(m.ans.status, 200);
	assert_int_equal(m.ans.ctype_len, 10);
	assert_memory_equal(m.ans.ctype, "text/plain", 10);
	assert_int_equal(m.ans.body_len, 2);
	assert_memory_equal(m.ans.body, "OK", 2);
	check_exact(n);

	for (o = RELAY_OFFLINE; o < RELAY_OUTCOME_COUNT; o++) {
		memset(&ans, 0, sizeof(ans));
		ans.outcome = (uint8_t)o;
		ans.retry_after = 7;
		n = front_encode_answer(frame, sizeof(frame), (uint32_t)o,
		    &ans);
		assert_int_equal(front_decode(frame + FRONT_HEADER_LEN,
		    check_header(n), &m), 0);
		assert_int_equal(m.ans.outcome, o);
		assert_int_equal(m.ans.retry_after, 7);
		check_exact(n);
	}
}

static void
test_answer_bad_fields(void **state)
{
	struct relay_answer ans = sample_answer();
	struct front_msg m;
	long n;

	(void)state;
	/* A status or content type out of the answer rules decodes (only
	 * its own request fails), and relay_answer_passable refuses it. */
	ans.status = 99;
	n = front_encode_answer(frame, sizeof(frame), 1, &ans);
	assert_int_equal(front_decode(frame + FRONT_HEADER_LEN,
	    check_header(n), &m), 0);
	assert_false(relay_answer_passable(&m.ans));
	ans.status = 600;
	n = front_encode_answer(frame, sizeof(frame), 1, &ans);
	assert_int_equal(front_decode(frame + FRONT_HEADER_LEN,
	    check_header(n), &m), 0);
	assert_false(relay_answer_passable(&m.ans));

	ans = sample_answer();
	ans.outcome = RELAY_OUTCOME_COUNT;
	n = front_encode_answer(frame, sizeof(frame), 1, &ans);
	assert_int_equal(front_decode(frame + FRONT_HEADER_LEN,
	    check_header(n), &m), -1);

	ans = sample_answer();
	ans.ctype = "text/html\n";
	ans.ctype_len = 10;
	n = front_encode_answer(frame, sizeof(frame), 1, &ans);
	assert_int_equal(front_decode(frame + FRONT_HEADER_LEN,
	    check_header(n), &m), 0);
	assert_false(relay_answer_passable(&m.ans));

	ans = sample_answer();
	ans.body = big_body;
	ans.body_len = RELAY_BODY_MAX + 1;
	assert_int_equal(front_encode_answer(frame, sizeof(frame), 1, &ans),
	    -1);
}

static void
test_stats_round_trip(void **state)
{
	struct front_msg m;
	static const char json[] = "{\"devices\":3}";
	static char big[FRONT_STATS_MAX + 1];
	long n;

	(void)state;
	n = front_encode_stats(frame, sizeof(frame), 5);
	assert_int_equal(n, FRONT_HEADER_LEN + 5);
	assert_int_equal(front_decode(frame + FRONT_HEADER_LEN,
	    check_header(n), &m), 0);
	assert_int_equal(m.type, FRONT_STATS);
	assert_int_equal(m.id, 5);
	check_exact(n);

	n = front_encode_stats_answer(frame, sizeof(frame), 6, json,
	    strlen(json));
	assert_int_equal(front_decode(frame + FRONT_HEADER_LEN,
	    check_header(n), &m), 0);
	assert_int_equal(m.type, FRONT_STATS_ANSWER);
	assert_int_equal(m.id, 6);
	assert_int_equal(m.text_len, strlen(json));
	assert_memory_equal(m.text, json, strlen(json));
	check_exact(n);

	memset(big, '1', sizeof(big));
	assert_true(front_encode_stats_answer(frame, sizeof(frame), 6, big,
	    FRONT_STATS_MAX) > 0);
	assert_int_equal(front_encode_stats_answer(frame, sizeof(frame), 6,
	    big, FRONT_STATS_MAX + 1), -1);

	/* A stats answer that claims more text than the maximum. */
	n = front_encode_stats_answer(frame, sizeof(frame), 6, json, 0);
	wire_store_u16(frame + FRONT_HEADER_LEN + 5, FRONT_STATS_MAX + 1);
	assert_int_equal(front_decode(frame + FRONT_HEADER_LEN,
	    check_header(n), &m), -1);
}

static void
test_bad_type(void **state)
{
	struct front_msg m;
	static const uint8_t types[] = { 0, 8, 9, 0x7f, 0x80, 0xff };
	size_t i;
	long n;

	(void)state;
	n = front_encode_stats(frame, sizeof(frame), 9);
	for (i = 0; i < sizeof(types); i++) {
		frame[FRONT_HEADER_LEN] = types[i];
		assert_int_equal(front_decode(frame + FRONT_HEADER_LEN,
		    check_header(n), &m), -1);
	}
}

static void
test_header_length(void **state)
{
	uint8_t hdr[FRONT_HEADER_LEN];
	static const uint32_t bad[] = { 0, 1, 4, FRONT_PAYLOAD_MAX + 1,
	    0x7fffffff, 0x80000000, 0xffffffff };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		wire_store_u32(hdr, bad[i]);
		assert_int_equal(front_payload_length(hdr), -1);
	}
	wire_store_u32(hdr, 5);
	assert_int_equal(front_payload_length(hdr), 5);
	wire_store_u32(hdr, FRONT_PAYLOAD_MAX);
	assert_int_equal(front_payload_length(hdr), FRONT_PAYLOAD_MAX);
}

static void
test_encode_small_buffer(void **state)
{
	struct relay_request req = sample_request();
	long n;
	size_t cap;

	(void)state;
	n = front_encode_request(frame, sizeof(frame), 1, test_token, &req);
	for (cap = 0; cap < (size_t)n; cap++)
		assert_int_equal(front_encode_request(frame, cap, 1,
		    test_token, &req), -1);
	assert_int_equal(front_encode_request(frame, (size_t)n, 1, test_token,
	    &req), n);
	assert_int_equal(front_encode_stats(frame, FRONT_HEADER_LEN + 4, 1),
	    -1);
}

static void
test_mode_valid(void **state)
{
	static const char *const good[] = { "notify", "notify/dismiss",
	    "indicator1", "custom", "a", "a_b-c", "api/v3/notify",
	    "abcdefghijklmnopqrstuvwxyz012345" };
	static const char *const bad[] = { "", "/notify", "notify/", "a//b",
	    "..", "../x", "a.b", "abcdefghijklmnopqrstuvwxyz0123456",
	    "no tify", "x/../y", "a%2fb", "a?b", "a\\b", "notify\n", "/",
	    "caf\xc3\xa9" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(relay_mode_valid(good[i], strlen(good[i])));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(relay_mode_valid(bad[i], strlen(bad[i])));
	assert_false(relay_mode_valid(NULL, 0));
	/* A NUL inside is not in the alphabet either. */
	assert_false(relay_mode_valid("no\0tify", 7));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_round_trip),
		cmocka_unit_test(test_request_empty_fields),
		cmocka_unit_test(test_request_largest),
		cmocka_unit_test(test_request_bad_fields),
		cmocka_unit_test(test_answer_round_trip),
		cmocka_unit_test(test_answer_bad_fields),
		cmocka_unit_test(test_stats_round_trip),
		cmocka_unit_test(test_bad_type),
		cmocka_unit_test(test_header_length),
		cmocka_unit_test(test_encode_small_buffer),
		cmocka_unit_test(test_mode_valid),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
