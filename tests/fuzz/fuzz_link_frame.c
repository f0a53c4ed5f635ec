/*
 * The transport of the link after the handshake: frames (lib/link.c) and
 * the messages inside them (lib/linkmsg.c).
 *
 * Input: one selector byte, then the data.
 *   selector % 3 == 0: the data is one frame for link_open, with the fixed
 *                      cipher key and nonce 0;
 *   selector % 3 == 1: the data is a plaintext message for linkmsg_decode;
 *   selector % 3 == 2: the data is a byte stream from the peer, sent at
 *                      the same time to two links (each a socket pair),
 *                      in pieces of (selector / 12 + 1) * 97 bytes (twice
 *                      that for the second), read back with link_recv
 *                      (frames with nonces 0, 1, 2...) in turns as the
 *                      broker's agent_live takes them: at most 64 messages
 *                      (or 1 if bit 1 of selector / 3 is set), then
 *                      link_park.  With bit 0 of selector / 3 set, both
 *                      links read into one shared scratch buffer
 *                      (link_set_scratch), scribbled over between turns.
 * Every plaintext that opens is also decoded as a message.
 *
 * Invariants: no crash or out-of-bounds access (frames and plaintexts are
 * copied into exact-sized buffers); link_open accepts only a length field
 * in range that matches the frame; a decoded message points inside its
 * plaintext; a message that decodes re-encodes to the same bytes (REGISTER
 * and ROTATE always encode version 1, so there the version byte is
 * patched); an encoder given one byte less than it needs fails without
 * writing past the buffer; anything sealed opens to the same plaintext;
 * each link of a stream yields exactly the messages that opening its
 * frames one by one yields, and fails exactly where that stops; after a
 * turn no link keeps bytes in the shared scratch, and an idle one holds no
 * buffer.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "fuzz.h"
#include "link.h"
#include "linkmsg.h"

static struct noise_cipher key0;

static void
fuzz_init(void)
{
	static int done;

	if (done)
		return;
	if (sodium_init() < 0)
		abort();
	memset(&key0, 0, sizeof(key0));
	memset(key0.k, FUZZ_LINK_KEY_BYTE, sizeof(key0.k));
	key0.has_key = 1;
	done = 1;
}

static uint8_t *
dup_exact(const uint8_t *p, size_t len)
{
	uint8_t *q = calloc(1, len ? len : 1);

	if (q == NULL)
		abort();
	if (len > 0)
		memcpy(q, p, len);
	return (q);
}

static int
inside(const void *q, size_t n, const uint8_t *p, size_t len)
{
	const uint8_t *b = q;

	return (q != NULL && b >= p && n <= len && b - p <= (long)(len - n));
}

/* Encode ${m} again into ${buf} of ${cap} bytes; return the length. */
static long
encode(const struct linkmsg *m, uint8_t *buf, size_t cap)
{
	switch (m->type) {
	case LM_REGISTER:
	case LM_ROTATE:
		return (linkmsg_encode_register(buf, cap, m->type, m->token));
	case LM_WELCOME:
	case LM_ROTATED:
		return (linkmsg_encode_result(buf, cap, m->type, m->result,
		    m->url, m->url_len));
	case LM_PING:
	case LM_PONG:
		return (linkmsg_encode_empty(buf, cap, m->type));
	case LM_REQUEST:
		return (linkmsg_encode_request(buf, cap, m->id, m->deadline_ms,
		    &m->req));
	case LM_ANSWER:
		return (linkmsg_encode_answer(buf, cap, m->id, &m->ans));
	case LM_CLOCK: {
		char v[LINKMSG_VERSION_MAX + 1];

		memcpy(v, m->fw, m->fw_len);
		v[m->fw_len] = '\0';
		return (linkmsg_encode_clock(buf, cap, m->reachable, v));
	}
	}
	FUZZ_CHECK(!"decoded an unknown type");
	return (-1);
}

static void
check_message(const uint8_t *data, size_t len)
{
	uint8_t *p = dup_exact(data, len), *q, *r;
	struct linkmsg m;
	long n;

	if (linkmsg_decode(p, len, &m) != 0) {
		free(p);
		return;
	}
	FUZZ_CHECK(len >= 1 && m.type == p[0]);
	switch (m.type) {
	case LM_REGISTER:
	case LM_ROTATE:
		FUZZ_CHECK(len == LINKMSG_REGISTER_LEN);
		FUZZ_CHECK(inside(m.token, TOKEN_LEN, p, len));
		break;
	case LM_WELCOME:
	case LM_ROTATED:
		FUZZ_CHECK(m.result < LM_RESULT_COUNT);
		FUZZ_CHECK(m.url_len <= LINKMSG_URL_MAX);
		FUZZ_CHECK(inside(m.url, m.url_len, p, len));
		(void)linkmsg_result_text(m.result);
		break;
	case LM_REQUEST:
		FUZZ_CHECK(m.req.method == RELAY_GET ||
		    m.req.method == RELAY_POST);
		FUZZ_CHECK(relay_mode_valid(m.req.mode, m.req.mode_len));
		FUZZ_CHECK(inside(m.req.mode, m.req.mode_len, p, len));
		FUZZ_CHECK(inside(m.req.query, m.req.query_len, p, len));
		FUZZ_CHECK(inside(m.req.ctype, m.req.ctype_len, p, len));
		FUZZ_CHECK(inside(m.req.body, m.req.body_len, p, len));
		FUZZ_CHECK(m.req.query_len <= RELAY_QUERY_MAX &&
		    m.req.ctype_len <= RELAY_CTYPE_MAX &&
		    m.req.body_len <= RELAY_BODY_MAX);
		break;
	case LM_ANSWER:
		FUZZ_CHECK(m.ans.outcome < RELAY_OUTCOME_COUNT);
		/* Status and content type are the answer rules' to judge
		 * (relay_answer_passable): a bad one fails its request only. */
		if (relay_answer_passable(&m.ans))
			FUZZ_CHECK(m.ans.outcome != RELAY_DEVICE ||
			    (m.ans.status >= 200 && m.ans.status <= 599));
		FUZZ_CHECK(inside(m.ans.ctype, m.ans.ctype_len, p, len));
		FUZZ_CHECK(inside(m.ans.body, m.ans.body_len, p, len));
		FUZZ_CHECK(m.ans.ctype_len <= RELAY_CTYPE_MAX &&
		    m.ans.body_len <= RELAY_BODY_MAX);
		(void)relay_outcome_name(m.ans.outcome);
		break;
	case LM_CLOCK:
		FUZZ_CHECK(m.reachable <= 1 && m.fw_len <= LINKMSG_VERSION_MAX);
		FUZZ_CHECK(inside(m.fw, m.fw_len, p, len));
		break;
	default:
		FUZZ_CHECK(len == 1);
	}

	/* Round trip: the encoding is canonical. */
	q = malloc(len);
	if (q == NULL)
		abort();
	n = encode(&m, q, len);
	FUZZ_CHECK(n == (long)len);
	if (m.type == LM_REGISTER || m.type == LM_ROTATE)
		p[1] = LINK_VERSION;	/* the encoder speaks version 1 only */
	FUZZ_CHECK(memcmp(p, q, len) == 0);
	free(q);
	/* One byte short: refused, nothing written past the buffer. */
	r = malloc(len - 1 ? len - 1 : 1);
	if (r == NULL)
		abort();
	FUZZ_CHECK(encode(&m, r, len - 1) == -1);
	free(r);
	free(p);
}

/* Seal ${pt} and open it again with a copy of the same cipher state. */
static void
check_seal(const uint8_t *pt, size_t len, uint64_t nonce)
{
	struct noise_cipher tx = key0, rx = key0;
	size_t flen = LINK_HEADER_LEN + len + NOISE_TAGLEN, olen;
	uint8_t *frame = malloc(flen), *copy = malloc(flen), *out;
	long n;

	if (frame == NULL || copy == NULL)
		abort();
	tx.n = rx.n = nonce;
	n = link_seal(&tx, pt, len, frame);
	FUZZ_CHECK(n == (long)(LINK_HEADER_LEN + len + NOISE_TAGLEN));
	FUZZ_CHECK(tx.n == nonce + 1);
	memcpy(copy, frame, flen);
	FUZZ_CHECK(link_open(&rx, frame, (size_t)n, &out, &olen) == 0);
	FUZZ_CHECK(olen == len && memcmp(out, pt, len) == 0);
	FUZZ_CHECK(rx.n == nonce + 1);
	/* The same frame again (a replay) no longer opens. */
	FUZZ_CHECK(link_open(&rx, copy, flen, &out, &olen) == -1);
	FUZZ_CHECK(rx.n == nonce + 1);
	free(frame);
	free(copy);
}

static void
one_frame(const uint8_t *data, size_t size)
{
	struct noise_cipher rx = key0;
	uint8_t *f = dup_exact(data, size), *pt;
	size_t plen;

	if (link_open(&rx, f, size, &pt, &plen) == 0) {
		FUZZ_CHECK(size >= LINK_HEADER_LEN + NOISE_TAGLEN);
		FUZZ_CHECK(size <= LINK_FRAME_MAX);
		FUZZ_CHECK(wire_load_u16(data) == size - LINK_HEADER_LEN);
		FUZZ_CHECK(pt == f + LINK_HEADER_LEN &&
		    plen == size - LINK_HEADER_LEN - NOISE_TAGLEN);
		FUZZ_CHECK(rx.n == 1);
		check_message(pt, plen);
		check_seal(pt, plen, 0);
	} else
		FUZZ_CHECK(rx.n == 0);
	free(f);
}

/*
 * The frames of ${data} opened one after the other with a fresh cipher
 * state, as a reference: the plaintexts go to ${ref} (a copy of the data,
 * decrypted in place), their offsets and lengths to ${off} and ${len}.
 * Return how many opened before the first bad frame or the end.
 */
static size_t
reference(uint8_t *ref, size_t size, size_t *off, size_t *len, size_t max)
{
	struct noise_cipher rx = key0;
	size_t pos = 0, n = 0, clen;
	uint8_t *pt;

	while (n < max && size - pos >= LINK_HEADER_LEN) {
		clen = wire_load_u16(ref + pos);
		if (clen < NOISE_TAGLEN || clen > LINK_CIPHER_MAX ||
		    size - pos - LINK_HEADER_LEN < clen)
			break;
		if (link_open(&rx, ref + pos, LINK_HEADER_LEN + clen, &pt,
		    &len[n]) != 0)
			break;
		off[n++] = (size_t)(pt - ref);
		pos += LINK_HEADER_LEN + clen;
	}
	return (n);
}

#define STREAM_MAX_FRAMES 4096	/* a frame is at least 18 bytes */
#define STREAM_LINKS 2

struct peer {
	struct link l;
	int wfd;		/* the peer's end: we write the stream here */
	size_t piece, sent;
	size_t got;		/* messages received so far */
	int done;
};

/*
 * One turn of the broker's agent_live for ${p}: feed it the next piece of
 * the stream, then take at most ${quota} messages and park.  Every message
 * must be the next of the reference.
 */
static void
turn(struct peer *p, const uint8_t *data, size_t size, const uint8_t *ref,
    const size_t *off, const size_t *len, size_t nref, int quota,
    uint8_t *scratch)
{
	const uint8_t *pt;
	size_t n, plen;
	ssize_t w;
	int i, rc = 0;

	if (p->sent < size) {
		n = size - p->sent < p->piece ? size - p->sent : p->piece;
		/* A full socket buffer takes the rest at a later turn. */
		if ((w = write(p->wfd, data + p->sent, n)) < 0) {
			FUZZ_CHECK(errno == EAGAIN || errno == EWOULDBLOCK);
			w = 0;
		}
		p->sent += (size_t)w;
	} else if (p->wfd >= 0) {
		close(p->wfd);
		p->wfd = -1;
	}
	for (i = 0; i < quota; i++) {
		rc = link_recv(&p->l, &pt, &plen);
		if (rc != 1)
			break;
		FUZZ_CHECK(p->got < nref);
		FUZZ_CHECK(plen == len[p->got] &&
		    memcmp(pt, ref + off[p->got], plen) == 0);
		FUZZ_CHECK(plen <= LINK_PLAIN_MAX);
		FUZZ_CHECK(p->l.rx.n == p->got + 1);
		p->got++;
		check_message(pt, plen);
	}
	if (rc < 0) {
		/* A bad frame or the end: exactly where the reference ends. */
		FUZZ_CHECK(p->l.error != NULL);
		FUZZ_CHECK(p->got == nref);
		p->done = 1;
		return;
	}
	if (rc == 0) {
		/* The socket ran dry: an idle link holds no buffer. */
		FUZZ_CHECK(p->l.in_len != 0 || (p->l.in == NULL &&
		    p->l.cur == NULL));
		/* After a short read link_recv does not read again, so an
		 * end of file shows at the next turn, as under epoll. */
	} else
		FUZZ_CHECK(link_park(&p->l) == 0);
	/* Nothing of ours may stay in the shared buffer. */
	FUZZ_CHECK(p->l.cur == NULL || p->l.cur != scratch);
}

/*
 * The stream ${data} sent to STREAM_LINKS links at once, in pieces of
 * ${piece} bytes (and twice that for the second link), each turn taking at
 * most ${quota} messages; with ${shared}, the links read into one scratch
 * buffer, which is scribbled over between turns.
 */
static void
stream(const uint8_t *data, size_t size, size_t piece, int quota, int shared)
{
	static size_t off[STREAM_MAX_FRAMES], len[STREAM_MAX_FRAMES];
	struct peer peers[STREAM_LINKS];
	uint8_t *ref = dup_exact(data, size), *scratch = NULL;
	size_t nref, i;
	int sv[2], live;

	nref = reference(ref, size, off, len, STREAM_MAX_FRAMES);
	if (nref == STREAM_MAX_FRAMES)
		goto out;
	if (shared && (scratch = malloc(LINK_FRAME_MAX)) == NULL)
		abort();
	for (i = 0; i < STREAM_LINKS; i++) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
			abort();
		if (fcntl(sv[0], F_SETFL, O_NONBLOCK) != 0 ||
		    fcntl(sv[1], F_SETFL, O_NONBLOCK) != 0)
			abort();
		memset(&peers[i], 0, sizeof(peers[i]));
		link_init(&peers[i].l, sv[0], &key0, &key0);
		if (shared)
			link_set_scratch(&peers[i].l, scratch);
		peers[i].wfd = sv[1];
		peers[i].piece = piece * (i + 1);
	}
	do {
		live = 0;
		for (i = 0; i < STREAM_LINKS; i++) {
			if (peers[i].done)
				continue;
			turn(&peers[i], data, size, ref, off, len, nref, quota,
			    scratch);
			if (scratch != NULL)
				memset(scratch, 0xa5, LINK_FRAME_MAX);
			live += !peers[i].done;
		}
	} while (live > 0);
	for (i = 0; i < STREAM_LINKS; i++) {
		if (peers[i].wfd >= 0)
			close(peers[i].wfd);
		link_close(&peers[i].l);
		FUZZ_CHECK(peers[i].l.in == NULL && peers[i].l.cur == NULL &&
		    peers[i].l.out == NULL && peers[i].l.fd == -1);
	}
	free(scratch);
out:
	free(ref);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t sel;

	fuzz_init();
	if (size < 1)
		return (0);
	sel = data[0];
	data++;
	size--;
	switch (sel % 3) {
	case 0:
		one_frame(data, size);
		break;
	case 1:
		check_message(data, size);
		if (size <= LINK_PLAIN_MAX)
			check_seal(data, size, sel);
		break;
	default:
		/* sel / 3 = 0..84: bit 0 shared scratch, bit 1 a quota of one
		 * message a turn (else 64, as the broker), the rest the size
		 * of the pieces. */
		stream(data, size, (size_t)(sel / 12 + 1) * 97,
		    (sel / 3) & 2 ? 1 : 64, (sel / 3) & 1);
		break;
	}
	return (0);
}
