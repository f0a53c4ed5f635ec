/*
 * The front protocol between awtrix-cloud.fcgi and the broker, both ways.
 *
 * Input: one selector byte, then a byte stream of frames.
 *   Always: the stream is read as broker/frontconn.c reads what a FastCGI
 *           process sends (front_payload_length on each 4-byte header, then
 *           front_decode on the payload), frame after frame, until a bad
 *           header or the end.
 *   selector odd: the same stream is also what the broker answers to
 *           front_call (lib/front_client.c) over a socket pair, for request
 *           id FUZZ_FRONT_ID; an answer it returns is then rendered by
 *           fcgi/response.c's response_send_answer as the HTTP answer.
 *
 * Invariants: no crash or out-of-bounds access (each payload is copied into
 * an exact-sized buffer); a decoded frame re-encodes, header included, to
 * the same bytes with the matching front_encode_* (canonical encoding), and
 * one byte less of room makes the encoder fail; front_call returns only a
 * frame carrying its id; the CGI head it renders is printable header lines
 * ending in an empty line, with a Content-Length equal to the body that
 * follows, and the relay's own error bodies are valid JSON.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "front.h"
#include "front_client.h"

#include "../../fcgi/json_check.c"
#include "../../fcgi/response.c"

#define FUZZ_FRONT_ID 7

static int
inside(const void *q, size_t n, const uint8_t *p, size_t len)
{
	const uint8_t *b = q;

	return (q != NULL && b >= p && n <= len && b - p <= (long)(len - n));
}

static long
encode(const struct front_msg *m, uint8_t *buf, size_t cap)
{
	switch (m->type) {
	case FRONT_REQUEST:
		return (front_encode_request(buf, cap, m->id, m->token,
		    &m->req));
	case FRONT_ANSWER:
		return (front_encode_answer(buf, cap, m->id, &m->ans));
	case FRONT_STATS:
		return (front_encode_stats(buf, cap, m->id));
	case FRONT_STATS_ANSWER:
		return (front_encode_stats_answer(buf, cap, m->id, m->text,
		    m->text_len));
	}
	FUZZ_CHECK(!"decoded an unknown type");
	return (-1);
}

/* Check a decoded frame ${m} whose header and payload are at ${frame}. */
static void
check_frame(const struct front_msg *m, const uint8_t *frame, size_t flen)
{
	const uint8_t *p = frame + FRONT_HEADER_LEN;
	size_t len = flen - FRONT_HEADER_LEN;
	uint8_t *q;
	long n;

	FUZZ_CHECK(m->type == p[0] && m->id == wire_load_u32(p + 1));
	switch (m->type) {
	case FRONT_REQUEST:
		FUZZ_CHECK(inside(m->token, TOKEN_LEN, p, len));
		FUZZ_CHECK(m->req.method == RELAY_GET ||
		    m->req.method == RELAY_POST);
		FUZZ_CHECK(relay_mode_valid(m->req.mode, m->req.mode_len));
		FUZZ_CHECK(inside(m->req.mode, m->req.mode_len, p, len));
		FUZZ_CHECK(inside(m->req.query, m->req.query_len, p, len));
		FUZZ_CHECK(inside(m->req.ctype, m->req.ctype_len, p, len));
		FUZZ_CHECK(inside(m->req.body, m->req.body_len, p, len));
		break;
	case FRONT_ANSWER:
		FUZZ_CHECK(m->ans.outcome < RELAY_OUTCOME_COUNT);
		FUZZ_CHECK(inside(m->ans.ctype, m->ans.ctype_len, p, len));
		FUZZ_CHECK(inside(m->ans.body, m->ans.body_len, p, len));
		break;
	case FRONT_STATS:
		FUZZ_CHECK(len == 5);
		break;
	case FRONT_STATS_ANSWER:
		FUZZ_CHECK(m->text_len <= FRONT_STATS_MAX);
		FUZZ_CHECK(inside(m->text, m->text_len, p, len));
		break;
	default:
		FUZZ_CHECK(!"decoded an unknown type");
	}
	if ((q = malloc(flen)) == NULL)
		abort();
	n = encode(m, q, flen);
	FUZZ_CHECK(n == (long)flen);
	FUZZ_CHECK(memcmp(q, frame, flen) == 0);
	free(q);
	if ((q = malloc(flen - 1)) == NULL)
		abort();
	FUZZ_CHECK(encode(m, q, flen - 1) == -1);
	free(q);
}

/* The broker's reading of a stream of frames. */
static void
broker_reads(const uint8_t *data, size_t size)
{
	struct front_msg m;
	uint8_t *frame;
	size_t off = 0;
	long plen;

	while (size - off >= FRONT_HEADER_LEN) {
		if ((plen = front_payload_length(data + off)) < 0)
			return;
		FUZZ_CHECK(plen >= 5 && plen <= FRONT_PAYLOAD_MAX);
		if ((size_t)plen > size - off - FRONT_HEADER_LEN)
			return;
		/* The header and payload in one exact-sized buffer. */
		if ((frame = malloc(FRONT_HEADER_LEN + (size_t)plen)) == NULL)
			abort();
		memcpy(frame, data + off, FRONT_HEADER_LEN + (size_t)plen);
		if (front_decode(frame + FRONT_HEADER_LEN, (size_t)plen,
		    &m) != 0) {
			free(frame);
			return;
		}
		check_frame(&m, frame, FRONT_HEADER_LEN + (size_t)plen);
		free(frame);
		off += FRONT_HEADER_LEN + (size_t)plen;
	}
}

/* memmem without _GNU_SOURCE. */
static const uint8_t *
find(const uint8_t *p, size_t len, const char *what)
{
	size_t n = strlen(what), i;

	for (i = 0; n <= len && i <= len - n; i++)
		if (memcmp(p + i, what, n) == 0)
			return (p + i);
	return (NULL);
}

struct sink {
	uint8_t *p;
	size_t len, cap;
};

static int
sink_write(void *ctx, const void *p, size_t n)
{
	struct sink *s = ctx;

	if (n > s->cap - s->len)
		return (-1);
	memcpy(s->p + s->len, p, n);
	s->len += n;
	return (0);
}

/* response_send_answer's CGI answer for ${ans}. */
static void
render(const struct relay_answer *ans)
{
	struct sink s;
	const uint8_t *end, *line, *nl, *body;
	size_t i, clen = (size_t)-1, blen;
	int rc;

	s.cap = 1024 + RELAY_BODY_MAX;
	s.len = 0;
	if ((s.p = malloc(s.cap)) == NULL)
		abort();
	rc = response_send_answer(ans, sink_write, &s);
	FUZZ_CHECK(rc == 0);
	end = find(s.p, s.len, "\r\n\r\n");
	FUZZ_CHECK(end != NULL);
	FUZZ_CHECK(s.len >= 8 && memcmp(s.p, "Status: ", 8) == 0);
	for (line = s.p; line < end + 2; line = nl + 2) {
		nl = find(line, (size_t)(end + 2 - line), "\r\n");
		FUZZ_CHECK(nl != NULL && nl > line);
		FUZZ_CHECK(memchr(line, ':', (size_t)(nl - line)) != NULL);
		for (i = 0; i < (size_t)(nl - line); i++)
			FUZZ_CHECK(line[i] >= 0x20 && line[i] <= 0x7e);
		if ((size_t)(nl - line) > 16 &&
		    memcmp(line, "Content-Length: ", 16) == 0)
			clen = strtoul((const char *)line + 16, NULL, 10);
	}
	body = end + 4;
	blen = s.len - (size_t)(body - s.p);
	FUZZ_CHECK(clen == blen);
	/* The answer rules (docs/protocol.md §5): only a passable device
	 * answer is written as is, with the headers that forbid running it;
	 * everything else is the relay's own JSON error. */
	if (ans->outcome == RELAY_DEVICE && relay_answer_passable(ans)) {
		FUZZ_CHECK(ans->status >= 200 && ans->status <= 599);
		FUZZ_CHECK(blen == ans->body_len &&
		    (blen == 0 || memcmp(body, ans->body, blen) == 0));
		FUZZ_CHECK(find(s.p, (size_t)(end - s.p), "\r\n"
		    "X-Content-Type-Options: nosniff\r\n") != NULL);
		FUZZ_CHECK(find(s.p, (size_t)(end - s.p), "\r\n"
		    "Content-Security-Policy: default-src 'none'; sandbox\r\n")
		    != NULL);
	} else
		FUZZ_CHECK(json_check_valid(body, blen));
	free(s.p);
}

/* awtrix-cloud.fcgi's reading of the broker's answers with front_call. */
static void
fcgi_reads(const uint8_t *data, size_t size)
{
	static uint8_t *buf;
	struct front_msg m;
	uint8_t req[64];
	size_t off = 0;
	ssize_t n;
	long rlen;
	int sv[2], rc;

	if (buf == NULL && (buf = malloc(FRONT_FRAME_MAX)) == NULL)
		abort();
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		abort();
	if (fcntl(sv[1], F_SETFL, O_NONBLOCK) != 0)
		abort();
	/* What the broker sends, then its end of file. */
	while (off < size) {
		n = write(sv[1], data + off, size - off);
		if (n <= 0)
			break;		/* the socket buffer is full: cut */
		off += (size_t)n;
	}
	shutdown(sv[1], SHUT_WR);
	rlen = front_encode_stats(req, sizeof(req), FUZZ_FRONT_ID);
	FUZZ_CHECK(rlen > 0);
	rc = front_call(sv[0], req, (size_t)rlen, FUZZ_FRONT_ID, 0, buf,
	    FRONT_FRAME_MAX, &m);
	FUZZ_CHECK(rc == 0 || rc == -1 || rc == -2);
	if (rc == 0) {
		FUZZ_CHECK(m.id == FUZZ_FRONT_ID);
		if (m.type == FRONT_ANSWER)
			render(&m.ans);
	} else
		FUZZ_CHECK(rc == -2 || errno != EPIPE);
	close(sv[0]);
	close(sv[1]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t sel;

	if (size < 1)
		return (0);
	sel = data[0];
	data++;
	size--;
	broker_reads(data, size);
	if (sel & 1)
		fcgi_reads(data, size);
	return (0);
}
