/*
 * fcgi/mux.c against a fake broker on a Unix socket: many threads share one
 * connection, answers that come back in another order reach the right
 * callers, a connection that ends wakes every waiter with MUX_DOWN at once
 * (and the next call connects again), a late answer after a caller's
 * deadline is dropped and never given to the next call, and a malformed
 * frame from the broker ends the connection.  The fcgi/ sources are not in
 * libawtrix.a, so mux.c is included here.
 */

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../fcgi/mux.c"

#define CALLERS 8

static const char tok[] = "abcdefghijABCDEFGHIJ0123456789xy";
static char dir[64], path[128];
static int lfd = -1;

struct caller {
	struct mux *m;
	unsigned int slot;
	char body[32];
	int result;
	char got[32];
	uint8_t frame[1024];
};

/* The fake broker: what it does with the connection it accepts. */
struct fake {
	int nreq;		/* frames to read before answering */
	int reverse;		/* answer them last first */
	int close_after;	/* close instead of answering */
	int garbage;		/* send a frame with a length too large */
	int conns;		/* connections to serve */
};

static int
setup(void **state)
{
	struct sockaddr_un sun;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_mux.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return (-1);
	snprintf(path, sizeof(path), "%s/broker.sock", dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	if ((lfd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    listen(lfd, 16) != 0)
		return (-1);
	return (0);
}

static int
teardown(void **state)
{
	(void)state;
	close(lfd);
	unlink(path);
	rmdir(dir);
	return (0);
}

static int
readn(int fd, uint8_t *p, size_t n)
{
	ssize_t r;

	while (n > 0) {
		if ((r = read(fd, p, n)) <= 0)
			return (-1);
		p += r;
		n -= (size_t)r;
	}
	return (0);
}

static int
writen(int fd, const uint8_t *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) <= 0)
			return (-1);
		p += w;
		n -= (size_t)w;
	}
	return (0);
}

/* Read one request frame; store its id and body ("caller-N"). */
static int
fake_read(int fd, uint32_t *id, char *body, size_t cap)
{
	static uint8_t buf[FRONT_FRAME_MAX];
	struct front_msg m;
	long plen;

	if (readn(fd, buf, FRONT_HEADER_LEN) != 0 ||
	    (plen = front_payload_length(buf)) < 0 ||
	    readn(fd, buf, (size_t)plen) != 0 ||
	    front_decode(buf, (size_t)plen, &m) != 0 ||
	    m.type != FRONT_REQUEST || m.req.body_len >= cap)
		return (-1);
	*id = m.id;
	memcpy(body, m.req.body, m.req.body_len);
	body[m.req.body_len] = '\0';
	return (0);
}

/* Answer ${id} with the body "answer-to-" + ${body}. */
static int
fake_answer(int fd, uint32_t id, const char *body)
{
	uint8_t frame[256];
	char text[64];
	struct relay_answer a;
	long len;

	snprintf(text, sizeof(text), "answer-to-%s", body);
	memset(&a, 0, sizeof(a));
	a.outcome = RELAY_DEVICE;
	a.status = 200;
	a.ctype = "text/plain";
	a.ctype_len = 10;
	a.body = (const uint8_t *)text;
	a.body_len = strlen(text);
	if ((len = front_encode_answer(frame, sizeof(frame), id, &a)) < 0)
		return (-1);
	return (writen(fd, frame, (size_t)len));
}

static void *
fake_main(void *arg)
{
	struct fake *f = arg;
	uint32_t ids[CALLERS];
	char bodies[CALLERS][32];
	uint8_t bad[8] = { 0x7f, 0xff, 0xff, 0xff, 1, 0, 0, 0 };
	int fd, i, k, c;

	for (c = 0; c < f->conns; c++) {
		if ((fd = accept(lfd, NULL, NULL)) == -1)
			return (NULL);
		for (i = 0; i < f->nreq; i++)
			if (fake_read(fd, &ids[i], bodies[i], 32) != 0)
				break;
		if (f->garbage)
			writen(fd, bad, sizeof(bad));
		else if (!f->close_after)
			for (i = 0; i < f->nreq; i++) {
				k = f->reverse ? f->nreq - 1 - i : i;
				fake_answer(fd, ids[k], bodies[k]);
			}
		/* Keep the connection until the client is done with it. */
		if (!f->close_after && !f->garbage) {
			uint8_t b;
			while (read(fd, &b, 1) > 0)
				continue;
		}
		close(fd);
		/* close_after / garbage: the next connection is answered. */
		if (f->close_after || f->garbage) {
			f->close_after = f->garbage = 0;
			f->nreq = 1;
		}
	}
	return (NULL);
}

static void *
caller_main(void *arg)
{
	struct caller *c = arg;
	struct relay_request rq;
	struct front_msg m;
	uint32_t id = mux_next_id(c->m, c->slot);
	long len;

	memset(&rq, 0, sizeof(rq));
	rq.method = RELAY_POST;
	rq.mode = "notify";
	rq.mode_len = 6;
	rq.query = "";
	rq.ctype = "";
	rq.body = (const uint8_t *)c->body;
	rq.body_len = strlen(c->body);
	len = front_encode_request(c->frame, sizeof(c->frame), id, tok, &rq);
	c->result = len < 0 ? -1 :
	    mux_call(c->m, c->slot, c->frame, (size_t)len, id, &m);
	c->got[0] = '\0';
	if (c->result == MUX_ANSWER && m.type == FRONT_ANSWER &&
	    m.ans.body_len < sizeof(c->got)) {
		memcpy(c->got, m.ans.body, m.ans.body_len);
		c->got[m.ans.body_len] = '\0';
	}
	return (NULL);
}

/* ${n} callers at once on ${m}, slots 0 .. n-1. */
static void
run_callers(struct mux *m, struct caller *c, int n)
{
	pthread_t th[CALLERS];
	int i;

	for (i = 0; i < n; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		c[i].m = m;
		c[i].slot = (unsigned int)i;
		snprintf(c[i].body, sizeof(c[i].body), "caller-%d", i);
		assert_int_equal(pthread_create(&th[i], NULL, caller_main,
		    &c[i]), 0);
	}
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
}

static void
test_out_of_order(void **state)
{
	struct fake f = { CALLERS, 1, 0, 0, 1 };
	struct caller c[CALLERS];
	struct mux m;
	pthread_t fk;
	char want[64];
	int i;

	(void)state;
	assert_int_equal(mux_init(&m, path, 5000, CALLERS), 0);
	assert_int_equal(pthread_create(&fk, NULL, fake_main, &f), 0);
	run_callers(&m, c, CALLERS);
	for (i = 0; i < CALLERS; i++) {
		snprintf(want, sizeof(want), "answer-to-caller-%d", i);
		assert_int_equal(c[i].result, MUX_ANSWER);
		assert_string_equal(c[i].got, want);
	}
	mux_free(&m);
	pthread_join(fk, NULL);
}

static void
test_broker_gone(void **state)
{
	struct fake f = { 4, 0, 1, 0, 2 };
	struct caller c[CALLERS];
	struct mux m;
	pthread_t fk;
	int i;

	(void)state;
	/* A long deadline: MUX_DOWN must not wait for it. */
	assert_int_equal(mux_init(&m, path, 60000, CALLERS), 0);
	assert_int_equal(pthread_create(&fk, NULL, fake_main, &f), 0);
	run_callers(&m, c, 4);
	for (i = 0; i < 4; i++)
		assert_int_equal(c[i].result, MUX_DOWN);
	/* The next call connects again and gets its answer. */
	run_callers(&m, c, 1);
	assert_int_equal(c[0].result, MUX_ANSWER);
	assert_string_equal(c[0].got, "answer-to-caller-0");
	mux_free(&m);
	pthread_join(fk, NULL);
}

static void
test_garbage(void **state)
{
	struct fake f = { 1, 0, 0, 1, 2 };
	struct caller c[1];
	struct mux m;
	pthread_t fk;

	(void)state;
	assert_int_equal(mux_init(&m, path, 60000, 1), 0);
	assert_int_equal(pthread_create(&fk, NULL, fake_main, &f), 0);
	run_callers(&m, c, 1);
	assert_int_equal(c[0].result, MUX_DOWN);
	run_callers(&m, c, 1);
	assert_int_equal(c[0].result, MUX_ANSWER);
	mux_free(&m);
	pthread_join(fk, NULL);
}

/* The late answer to a call that timed out never reaches the next call. */
static void
test_late_answer(void **state)
{
	struct caller c[1];
	struct mux m;
	uint32_t id1, id2;
	char b1[32], b2[32];
	int fd;

	(void)state;
	assert_int_equal(mux_init(&m, path, 300, 1), 0);
	/* This thread plays the broker; the caller runs in another. */
	{
		pthread_t th;

		memset(&c[0], 0, sizeof(c[0]));
		c[0].m = &m;
		strcpy(c[0].body, "first");
		assert_int_equal(pthread_create(&th, NULL, caller_main, &c[0]),
		    0);
		assert_int_not_equal(fd = accept(lfd, NULL, NULL), -1);
		assert_int_equal(fake_read(fd, &id1, b1, sizeof(b1)), 0);
		pthread_join(th, NULL);
		assert_int_equal(c[0].result, MUX_TIMEOUT);
		/* Too late now; then the second call. */
		assert_int_equal(fake_answer(fd, id1, b1), 0);
		strcpy(c[0].body, "second");
		assert_int_equal(pthread_create(&th, NULL, caller_main, &c[0]),
		    0);
		assert_int_equal(fake_read(fd, &id2, b2, sizeof(b2)), 0);
		assert_int_not_equal(id1, id2);
		assert_int_equal(fake_answer(fd, id2, b2), 0);
		pthread_join(th, NULL);
	}
	assert_int_equal(c[0].result, MUX_ANSWER);
	assert_string_equal(c[0].got, "answer-to-second");
	mux_free(&m);
	close(fd);
}

static void
test_no_broker(void **state)
{
	struct caller c[1];
	struct mux m;

	(void)state;
	assert_int_equal(mux_init(&m, "/nonexistent/broker.sock", 5000, 1),
	    0);
	run_callers(&m, c, 1);
	assert_int_equal(c[0].result, MUX_DOWN);
	mux_free(&m);
	/* Out of range. */
	assert_int_equal(mux_init(&m, path, 5000, 0), -1);
	assert_int_equal(mux_init(&m, path, 5000, MUX_SLOTS_MAX + 1), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_broker_gone),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_late_answer),
		cmocka_unit_test(test_no_broker),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
