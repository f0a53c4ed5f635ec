/*
 * The lists of --broker (device-agent/brokers.c) and --nats
 * (broker/cluster_urls.c): what is accepted, and the agent's jittered
 * order.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "../../device-agent/brokers.c"
#include "../../broker/cluster_urls.c"

static void
test_brokers_parse(void **state)
{
	struct broker_list l;

	(void)state;
	assert_int_equal(brokers_parse(&l, "a.example:7443"), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(brokers_current(&l), "a.example:7443");
	assert_int_equal(brokers_parse(&l, "a:1,[::1]:2,10.0.0.3:3"), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(brokers_parse(&l, ""), -1);
	assert_int_equal(brokers_parse(&l, "a:1,"), -1);
	assert_int_equal(brokers_parse(&l, "a:1,,b:2"), -1);
	assert_int_equal(brokers_parse(&l, ",a:1"), -1);
	assert_int_equal(brokers_parse(&l, "a"), -1);
	assert_int_equal(brokers_parse(&l, "a:"), -1);
	assert_int_equal(brokers_parse(&l,
	    "a:1,a:2,a:3,a:4,a:5,a:6,a:7,a:8,a:9,a:10,a:11,a:12,a:13,a:14,"
	    "a:15,a:16"), 0);
	assert_int_equal(brokers_parse(&l,
	    "a:1,a:2,a:3,a:4,a:5,a:6,a:7,a:8,a:9,a:10,a:11,a:12,a:13,a:14,"
	    "a:15,a:16,a:17"), -1);
}

/* Every round tries every broker once; the first one varies. */
static void
test_brokers_rounds(void **state)
{
	struct broker_list l;
	int seen[3], first[3] = { 0, 0, 0 }, round, k, wrapped;

	(void)state;
	assert_int_equal(brokers_parse(&l, "h:1,h:2,h:3"), 0);
	for (round = 0; round < 300; round++) {
		memset(seen, 0, sizeof(seen));
		first[brokers_current(&l)[2] - '1']++;
		for (k = 0; k < 3; k++) {
			seen[brokers_current(&l)[2] - '1']++;
			wrapped = brokers_next(&l);
			assert_int_equal(wrapped, k == 2);
		}
		assert_true(seen[0] == 1 && seen[1] == 1 && seen[2] == 1);
	}
	/* 300 rounds: each broker comes first about 100 times. */
	for (k = 0; k < 3; k++)
		assert_true(first[k] > 50);
}

static void
test_nats_urls(void **state)
{
	const char *why;

	(void)state;
	assert_int_equal(cluster_urls_valid("nats://127.0.0.1:4222", &why), 1);
	assert_int_equal(cluster_urls_valid("nats://a:1,nats://b.example:4222,"
	    "nats://[::1]:4222", &why), 1);
	assert_int_equal(cluster_urls_valid("", &why), 0);
	assert_int_equal(cluster_urls_valid("http://a:4222", &why), 0);
	assert_int_equal(cluster_urls_valid("nats://a", &why), 0);
	assert_int_equal(cluster_urls_valid("nats://a:0", &why), 0);
	assert_int_equal(cluster_urls_valid("nats://a:65536", &why), 0);
	assert_int_equal(cluster_urls_valid("nats://a:1,", &why), 0);
	assert_int_equal(cluster_urls_valid("nats://u:p@a:1", &why), 0);
	assert_int_equal(cluster_urls_valid("nats://a:99999999999999", &why),
	    0);
	assert_non_null(why);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_brokers_parse),
		cmocka_unit_test(test_brokers_rounds),
		cmocka_unit_test(test_nats_urls),
	};

	if (sodium_init() < 0)
		return (1);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
