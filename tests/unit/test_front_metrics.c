/*
 * The front frames of /metrics and of the FastCGI refusals (lib/front.c):
 * METRICS, METRICS_ANSWER and REFUSED survive a round trip, a metrics text
 * above FRONT_METRICS_MAX is neither encoded nor decoded, and every
 * truncated or overlong frame is refused.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "front.h"
#include "wire.h"

static uint8_t frame[FRONT_FRAME_MAX + 16];
static char text[FRONT_METRICS_MAX + 2];

/* Every proper prefix of the payload, and the payload plus a byte, fail. */
static void
refuse_cut_and_grown(size_t plen)
{
	struct front_msg m;
	size_t i;

	for (i = 0; i < plen; i++)
		assert_int_equal(front_decode(frame + FRONT_HEADER_LEN, i, &m),
		    -1);
	frame[FRONT_HEADER_LEN + plen] = 0;
	assert_int_equal(front_decode(frame + FRONT_HEADER_LEN, plen + 1, &m),
	    -1);
}

static void
test_metrics_request(void **state)
{
	struct front_msg m;
	long n;

	(void)state;
	n = front_encode_metrics(frame, sizeof(frame), 77);
	assert_int_equal(n, FRONT_HEADER_LEN + 5);
	assert_int_equal(front_payload_length(frame), 5);
	assert_int_equal(front_decode(frame + FRONT_HEADER_LEN, 5, &m), 0);
	assert_int_equal(m.type, FRONT_METRICS);
	assert_int_equal(m.id, 77);
	refuse_cut_and_grown(5);
}

static void
test_metrics_answer(void **state)
{
	struct front_msg m;
	const char *t = "# TYPE x_total counter\nx_total 1\n";
	long n;

	(void)state;
	n = front_encode_metrics_answer(frame, sizeof(frame), 5, t, strlen(t));
	assert_true(n > 0);
	assert_int_equal(front_decode(frame + FRONT_HEADER_LEN,
	    (size_t)n - FRONT_HEADER_LEN, &m), 0);
	assert_int_equal(m.type, FRONT_METRICS_ANSWER);
	assert_int_equal(m.id, 5);
	assert_int_equal(m.text_len, strlen(t));
	assert_memory_equal(m.text, t, strlen(t));
	refuse_cut_and_grown((size_t)n - FRONT_HEADER_LEN);
}

static void
test_metrics_answer_bounds(void **state)
{
	struct front_msg m;
	long n;

	(void)state;
	memset(text, 'a', sizeof(text));
	n = front_encode_metrics_answer(frame, sizeof(frame), 1, text,
	    FRONT_METRICS_MAX);
	assert_true(n > 0);
	assert_int_equal(front_decode(frame + FRONT_HEADER_LEN,
	    (size_t)n - FRONT_HEADER_LEN, &m), 0);
	assert_int_equal(m.text_len, FRONT_METRICS_MAX);
	assert_int_equal(front_encode_metrics_answer(frame, sizeof(frame), 1,
	    text, FRONT_METRICS_MAX + 1), -1);
	/* A frame that announces one byte more than the limit is refused. */
	wire_store_u32(frame + FRONT_HEADER_LEN + 5, FRONT_METRICS_MAX + 1);
	frame[(size_t)n] = 'a';
	assert_int_equal(front_decode(frame + FRONT_HEADER_LEN,
	    (size_t)n - FRONT_HEADER_LEN + 1, &m), -1);
	assert_int_equal(front_encode_metrics_answer(frame, 64, 1, text, 100),
	    -1);
}

static void
test_refused(void **state)
{
	static const uint16_t statuses[] = { 400, 405, 413, 0, 65535 };
	struct front_msg m;
	size_t i;
	long n;

	(void)state;
	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		n = front_encode_refused(frame, sizeof(frame), 9, statuses[i]);
		assert_int_equal(n, FRONT_HEADER_LEN + 7);
		assert_int_equal(front_decode(frame + FRONT_HEADER_LEN, 7, &m),
		    0);
		assert_int_equal(m.type, FRONT_REFUSED);
		assert_int_equal(m.status, statuses[i]);
		refuse_cut_and_grown(7);
	}
	assert_int_equal(front_encode_refused(frame, 8, 9, 400), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_request),
		cmocka_unit_test(test_metrics_answer),
		cmocka_unit_test(test_metrics_answer_bounds),
		cmocka_unit_test(test_refused),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
