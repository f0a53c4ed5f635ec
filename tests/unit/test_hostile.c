/*
 * The answer rules (lib/relay.c relay_answer_passable, docs/protocol.md §5)
 * and the log summaries (lib/lograte.c) that protect the relay from hostile
 * agents and peers.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lograte.h"
#include "relay.h"

static int
ctype_ok(const char *s)
{
	return (relay_ctype_passable(s, strlen(s)));
}

static void
test_ctype(void **state)
{
	(void)state;
	assert_true(ctype_ok(""));
	assert_true(ctype_ok("application/json"));
	assert_true(ctype_ok("text/plain"));
	assert_true(ctype_ok("TEXT/Plain"));
	assert_true(ctype_ok("application/json; charset=utf-8"));
	assert_true(ctype_ok("text/plain ;charset=x"));
	assert_false(ctype_ok("text/html"));
	assert_false(ctype_ok("text/plainx"));
	assert_false(ctype_ok("application/json5"));
	assert_false(ctype_ok(" text/plain"));
	assert_false(ctype_ok("text/plain\r\nSet-Cookie: a=b"));
	assert_false(ctype_ok("text/plain; x=\x1b"));
	assert_false(ctype_ok("application/javascript"));
	assert_false(ctype_ok("image/svg+xml"));
}

static void
test_answer(void **state)
{
	struct relay_answer a;
	int o;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.outcome = RELAY_DEVICE;
	a.ctype = "text/plain";
	a.ctype_len = 10;
	a.status = 100;
	assert_false(relay_answer_passable(&a));
	a.status = 199;
	assert_false(relay_answer_passable(&a));
	a.status = 200;
	assert_true(relay_answer_passable(&a));
	a.status = 302;
	assert_true(relay_answer_passable(&a));
	a.status = 599;
	assert_true(relay_answer_passable(&a));
	a.status = 600;
	assert_false(relay_answer_passable(&a));
	a.status = 200;
	a.ctype = "text/html";
	a.ctype_len = 9;
	assert_false(relay_answer_passable(&a));
	/* Outcomes: only what an agent can say itself. */
	for (o = 1; o < RELAY_OUTCOME_COUNT; o++) {
		a.outcome = (uint8_t)o;
		assert_int_equal(relay_answer_passable(&a),
		    o != RELAY_OFFLINE && o != RELAY_OVERLOADED);
	}
}

static void
test_lograte(void **state)
{
	struct lograte r;
	int i, n = 0;

	(void)state;
	lograte_init(&r, "test events", 1000);
	for (i = 0; i < 100; i++)
		n += lograte_take(&r, 10 + (uint64_t)i);
	assert_int_equal(n, LOGRATE_LINES);
	assert_int_equal(r.dropped, 100 - LOGRATE_LINES);
	/* Before the window ends nothing is summarised. */
	lograte_flush(&r, 500);
	assert_int_equal(r.dropped, 100 - LOGRATE_LINES);
	/* After it, the summary resets the window. */
	lograte_flush(&r, 1010);
	assert_int_equal(r.dropped, 0);
	assert_int_equal(r.lines, 0);
	assert_true(lograte_take(&r, 1020));
	/* A window of 0 is the default one. */
	lograte_init(&r, "test events", 0);
	assert_int_equal(r.window_ms, LOGRATE_WINDOW_MS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ctype),
		cmocka_unit_test(test_answer),
		cmocka_unit_test(test_lograte),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
