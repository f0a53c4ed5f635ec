/*
 * lib/front_client.c against a fake broker on the other end of a socket
 * pair: whole frames out (also when the kernel takes them in pieces), late
 * answers skipped, the deadline kept, lengths checked before reading, and an
 * errno that tells "never sent" (EPIPE) from "sent, then failed".
 */

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "front.h"
#include "front_client.h"
#include "wire.h"

static const char tok[] = "abcdefghijABCDEFGHIJ0123456789xy";

static uint8_t req_frame[FRONT_FRAME_MAX];
static uint8_t ans_frame[FRONT_FRAME_MAX];
static uint8_t buf[FRONT_FRAME_MAX];
static uint8_t body[RELAY_BODY_MAX];
static int sv[2];	/* sv[0]: the client, sv[1]: the fake broker */

static int
setup(void **state)
{
	(void)state;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return (-1);
	return (0);
}

static int
teardown(void **state)
{
	(void)state;
	close(sv[0]);
	if (sv[1] != -1)
		close(sv[1]);
	return (0);
}

static long
make_request(uint32_t id, size_t body_len)
{
	struct relay_request req;

	memset(&req, 0, sizeof(req));
	req.method = RELAY_POST;
	req.mode = "notify";
	req.mode_len = 6;
	req.query = "";
	req.ctype = "text/plain";
	req.ctype_len = 10;
	memset(body, 'x', body_len);
	req.body = body;
	req.body_len = body_len;
	return (front_encode_request(req_frame, sizeof(req_frame), id, tok,
	    &req));
}

/* The fake broker sends an answer for ${id} with ${status}. */
static void
broker_answer(uint32_t id, uint16_t status)
{
	struct relay_answer ans;
	long n;

	memset(&ans, 0, sizeof(ans));
	ans.outcome = RELAY_DEVICE;
	ans.status = status;
	ans.body = (const uint8_t *)"OK";
	ans.body_len = 2;
	n = front_encode_answer(ans_frame, sizeof(ans_frame), id, &ans);
	assert_true(n > 0);
	assert_int_equal(write(sv[1], ans_frame, (size_t)n), n);
}

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static void
test_answer_skips_late_ones(void **state)
{
	struct front_msg m;
	uint8_t got[FRONT_FRAME_MAX];
	long n;

	(void)state;
	n = make_request(7, 5);
	broker_answer(5, 500);
	broker_answer(6, 404);
	broker_answer(7, 200);
	assert_int_equal(front_call(sv[0], req_frame, (size_t)n, 7, 1000, buf,
	    sizeof(buf), &m), 0);
	assert_int_equal(m.type, FRONT_ANSWER);
	assert_int_equal(m.id, 7);
	assert_int_equal(m.ans.status, 200);
	assert_memory_equal(m.ans.body, "OK", 2);
	/* The broker got the frame, whole and unchanged. */
	assert_int_equal(read(sv[1], got, sizeof(got)), n);
	assert_memory_equal(got, req_frame, (size_t)n);
}

static void
test_timeout(void **state)
{
	struct front_msg m;
	long n, t0, dt;

	(void)state;
	n = make_request(1, 0);
	t0 = now_ms();
	assert_int_equal(front_call(sv[0], req_frame, (size_t)n, 1, 200, buf,
	    sizeof(buf), &m), -2);
	dt = now_ms() - t0;
	assert_true(dt >= 190 && dt < 1000);

	/* Half a frame, then nothing: still the deadline. */
	assert_true(front_encode_stats(ans_frame, sizeof(ans_frame), 1) > 6);
	assert_int_equal(write(sv[1], ans_frame, 6), 6);
	t0 = now_ms();
	assert_int_equal(front_call(sv[0], req_frame, (size_t)n, 1, 200, buf,
	    sizeof(buf), &m), -2);
	assert_true(now_ms() - t0 < 1000);

	/* Only answers for others until the deadline. */
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	broker_answer(2, 200);
	broker_answer(3, 200);
	assert_int_equal(front_call(sv[0], req_frame, (size_t)n, 4, 200, buf,
	    sizeof(buf), &m), -2);
}

static void
test_bad_length(void **state)
{
	static const uint32_t bad[] = { 0, 4, FRONT_PAYLOAD_MAX + 1,
	    0xffffffff };
	struct front_msg m;
	uint8_t hdr[FRONT_HEADER_LEN];
	size_t i;
	long n;

	(void)state;
	n = make_request(1, 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* Only the header: the length is refused before any read. */
		wire_store_u32(hdr, bad[i]);
		assert_int_equal(write(sv[1], hdr, sizeof(hdr)), 4);
		errno = 0;
		assert_int_equal(front_call(sv[0], req_frame, (size_t)n, 1,
		    1000, buf, sizeof(buf), &m), -1);
		assert_int_equal(errno, EPROTO);
	}
}

static void
test_malformed(void **state)
{
	struct front_msg m;
	long n, a;

	(void)state;
	n = make_request(1, 0);
	a = front_encode_stats(ans_frame, sizeof(ans_frame), 1);
	ans_frame[FRONT_HEADER_LEN] = 9;	/* no such type */
	assert_int_equal(write(sv[1], ans_frame, (size_t)a), a);
	assert_int_equal(front_call(sv[0], req_frame, (size_t)n, 1, 1000, buf,
	    sizeof(buf), &m), -1);
	assert_int_equal(errno, EPROTO);
}

static void
test_eof_after_send(void **state)
{
	struct front_msg m;
	long n;

	(void)state;
	n = make_request(1, 0);
	shutdown(sv[1], SHUT_WR);
	assert_int_equal(front_call(sv[0], req_frame, (size_t)n, 1, 1000, buf,
	    sizeof(buf), &m), -1);
	/* Sent, so not EPIPE: the caller must not send it again. */
	assert_int_equal(errno, ECONNRESET);
}

static void
test_peer_gone(void **state)
{
	struct front_msg m;
	long n;

	(void)state;
	n = make_request(1, 0);
	close(sv[1]);
	sv[1] = -1;
	/* No SIGPIPE (it would end this test program), but EPIPE. */
	assert_int_equal(front_call(sv[0], req_frame, (size_t)n, 1, 1000, buf,
	    sizeof(buf), &m), -1);
	assert_int_equal(errno, EPIPE);
}

static void
test_small_buffer(void **state)
{
	struct front_msg m;
	long n;

	(void)state;
	n = make_request(1, 0);
	assert_int_equal(front_call(sv[0], req_frame, (size_t)n, 1, 1000, buf,
	    FRONT_FRAME_MAX - 1, &m), -1);
	assert_int_equal(errno, EINVAL);
}

/*
 * The largest frame through a small socket buffer: the kernel takes it in
 * pieces while a slow broker reads it in pieces.
 */
static void
test_partial_writes(void **state)
{
	struct front_msg m;
	int small = 4096, st;
	long n;
	pid_t pid;

	(void)state;
	n = make_request(42, RELAY_BODY_MAX);
	assert_true(n > 60000);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	if ((pid = fork()) == 0) {
		uint8_t in[FRONT_FRAME_MAX];
		struct front_msg r;
		size_t got = 0;
		ssize_t k;
		long plen;

		close(sv[0]);
		while (got < FRONT_HEADER_LEN ||
		    got < FRONT_HEADER_LEN + (size_t)front_payload_length(in)) {
			usleep(200);
			if ((k = read(sv[1], in + got, 1000)) <= 0)
				_exit(1);
			got += (size_t)k;
		}
		plen = front_payload_length(in);
		if (front_decode(in + FRONT_HEADER_LEN, (size_t)plen, &r) != 0 ||
		    r.id != 42 || r.req.body_len != RELAY_BODY_MAX ||
		    memcmp(r.token, tok, TOKEN_LEN) != 0)
			_exit(2);
		broker_answer(42, 201);
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(front_call(sv[0], req_frame, (size_t)n, 42, 5000, buf,
	    sizeof(buf), &m), 0);
	assert_int_equal(m.ans.status, 201);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void
test_connect(void **state)
{
	struct sockaddr_un sun;
	char path[sizeof(sun.sun_path) + 8];
	char dir[] = "/tmp/awtrix-fc.XXXXXX";
	int lfd, fd, fd2, fd3;

	(void)state;
	errno = 0;
	assert_int_equal(front_connect("/nonexistent/broker.sock"), -1);
	assert_int_equal(errno, ENOENT);
	memset(path, 'a', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	assert_int_equal(front_connect(path), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	assert_int_equal(front_connect(""), -1);

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/broker.sock", dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);

	/* A socket file nobody listens on: refused. */
	assert_int_equal(front_connect(path), -1);
	assert_int_equal(errno, ECONNREFUSED);

	assert_int_equal(listen(lfd, 0), 0);
	fd = front_connect(path);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_false(fcntl(fd, F_GETFL) & O_NONBLOCK);
	/* A full backlog is an error at once, not a wait. */
	fd2 = front_connect(path);
	fd3 = fd2 >= 0 ? front_connect(path) : -1;
	assert_true(fd2 == -1 || fd3 == -1);
	assert_int_equal(errno, EAGAIN);
	close(fd);
	if (fd2 >= 0)
		close(fd2);
	close(lfd);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_answer_skips_late_ones,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_length, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_eof_after_send, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_peer_gone, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_small_buffer, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_partial_writes, setup,
		    teardown),
		cmocka_unit_test(test_connect),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
