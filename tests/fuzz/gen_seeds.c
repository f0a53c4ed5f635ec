/*
 * gen_seeds DIR: write the seed inputs of every fuzz target into
 * DIR/<target>/seed-<name>, in the input format each target's header
 * comment describes.  The seeds are valid inputs (a complete handshake with
 * the fixed keys of fuzz.h, sealed frames, front frames, real requests of
 * docs/http-api.md, AWTRIX JSON bodies, device answers) and a few near
 * misses.  Deterministic: the same files every run.  Link with libawtrix
 * and libsodium.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "front.h"
#include "fuzz.h"
#include "link.h"
#include "linkmsg.h"
#include "noise.h"

#define TOK "abcdefghijABCDEFGHIJ0123456789xy"
#define TOK2 "ZZZZZZZZZZABCDEFGHIJ0123456789xy"

static const char *root;

static void
put(const char *target, const char *name, const void *p, size_t len)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, target);
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/seed-%s", root, target, name);
	if ((f = fopen(path, "wb")) == NULL ||
	    (len > 0 && fwrite(p, 1, len, f) != len) || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* A byte buffer to build inputs in. */
struct buf {
	uint8_t p[200000];
	size_t len;
};

static void
add(struct buf *b, const void *p, size_t len)
{
	if (len > sizeof(b->p) - b->len)
		abort();
	if (len == 0)
		return;
	memcpy(b->p + b->len, p, len);
	b->len += len;
}

static void
add_u8(struct buf *b, uint8_t v)
{
	add(b, &v, 1);
}

static void
add_str(struct buf *b, const char *s)
{
	add(b, s, strlen(s));
}

static struct buf B;

static void
start(uint8_t sel)
{
	B.len = 0;
	add_u8(&B, sel);
}

/* --- noise_responder --------------------------------------------------- */

/*
 * A handshake of an agent (static key byte ${agent}) with the fuzz
 * responder; message 1 carries ${p1len} payload bytes, message 3 the
 * payload ${p3}.  ${corrupt} flips a bit at that offset of the input (or
 * nothing if it is 0).
 */
static void
handshake_seed(const char *name, uint8_t agent, size_t p1len,
    const uint8_t *p3, size_t p3len, size_t corrupt)
{
	struct noise_xk ini, resp;
	uint8_t a_sk[32], a_pk[32], a_e[32], b_sk[32], b_pk[32], b_e[32];
	uint8_t m1[256], m2[256], m3[256], pl[256], zero[64];
	size_t l1, l2, l3, plen;

	memset(zero, 0, sizeof(zero));
	memset(a_sk, agent, 32);
	memset(a_e, FUZZ_AGENT_EPHEMERAL_BYTE, 32);
	memset(b_sk, FUZZ_BROKER_STATIC_BYTE, 32);
	memset(b_e, FUZZ_BROKER_EPHEMERAL_BYTE, 32);
	if (crypto_scalarmult_base(a_pk, a_sk) || crypto_scalarmult_base(b_pk,
	    b_sk))
		abort();
	if (noise_xk_init(&ini, 1, (const uint8_t *)LINK_PROLOGUE,
	    strlen(LINK_PROLOGUE), a_sk, a_pk, b_pk) ||
	    noise_xk_set_ephemeral(&ini, a_e) ||
	    noise_xk_init(&resp, 0, (const uint8_t *)LINK_PROLOGUE,
	    strlen(LINK_PROLOGUE), b_sk, b_pk, NULL) ||
	    noise_xk_set_ephemeral(&resp, b_e))
		abort();
	if (noise_xk_write(&ini, zero, p1len, m1, sizeof(m1), &l1) ||
	    noise_xk_read(&resp, m1, l1, pl, sizeof(pl), &plen) ||
	    noise_xk_write(&resp, NULL, 0, m2, sizeof(m2), &l2) ||
	    noise_xk_read(&ini, m2, l2, pl, sizeof(pl), &plen) ||
	    noise_xk_write(&ini, p3, p3len, m3, sizeof(m3), &l3))
		abort();
	B.len = 0;
	add_u8(&B, (uint8_t)(l1 >> 8));
	add_u8(&B, (uint8_t)l1);
	add(&B, m1, l1);
	add(&B, m3, l3);
	if (corrupt > 0 && corrupt < B.len)
		B.p[corrupt] ^= 0x04;
	put("noise_responder", name, B.p, B.len);
}

static void
seeds_noise(void)
{
	uint8_t reg[LINKMSG_REGISTER_LEN], rot[LINKMSG_REGISTER_LEN];
	uint8_t bad[LINKMSG_REGISTER_LEN];

	linkmsg_encode_register(reg, sizeof(reg), LM_REGISTER, TOK);
	linkmsg_encode_register(rot, sizeof(rot), LM_ROTATE, TOK2);
	memcpy(bad, reg, sizeof(bad));
	bad[1] = 2;				/* version 2 */
	bad[10] = '%';				/* malformed token */
	handshake_seed("register", FUZZ_AGENT_STATIC_BYTE, 0, reg,
	    sizeof(reg), 0);
	handshake_seed("register-other-key", 0x26, 0, reg, sizeof(reg), 0);
	handshake_seed("rotate-payload", FUZZ_AGENT_STATIC_BYTE, 0, rot,
	    sizeof(rot), 0);
	handshake_seed("bad-registration", FUZZ_AGENT_STATIC_BYTE, 0, bad,
	    sizeof(bad), 0);
	handshake_seed("empty-msg3-payload", FUZZ_AGENT_STATIC_BYTE, 0, reg,
	    0, 0);
	handshake_seed("msg1-payload", FUZZ_AGENT_STATIC_BYTE, 3, reg,
	    sizeof(reg), 0);
	handshake_seed("msg3-tag-flipped", FUZZ_AGENT_STATIC_BYTE, 0, reg,
	    sizeof(reg), 2 + 48 + 97);
	handshake_seed("msg3-static-flipped", FUZZ_AGENT_STATIC_BYTE, 0, reg,
	    sizeof(reg), 2 + 48 + 5);
	handshake_seed("msg1-flipped", FUZZ_AGENT_STATIC_BYTE, 0, reg,
	    sizeof(reg), 2 + 3);
	/* A low-order point (all zero) as the initiator's ephemeral key. */
	B.len = 0;
	add_u8(&B, 0);
	add_u8(&B, 48);
	memset(B.p + 2, 0, 48 + 98);
	B.len = 2 + 48 + 98;
	put("noise_responder", "zero-ephemeral", B.p, B.len);
}

/* --- link_frame -------------------------------------------------------- */

static struct noise_cipher link_key;

static long
seal(uint64_t nonce, const uint8_t *pt, size_t len, uint8_t *frame)
{
	struct noise_cipher c = link_key;

	c.n = nonce;
	return (link_seal(&c, pt, len, frame));
}

static uint8_t body_big[RELAY_BODY_MAX];

/* The plaintexts: one of each message type. */
static size_t
link_messages(uint8_t msgs[][LINK_PLAIN_MAX], size_t *lens)
{
	struct relay_request get, post;
	struct relay_answer ok, offline, limited;
	const char *url = "https://cloud.example.org/cloud?mode=notify&token="
	    TOK;
	size_t n = 0;

	memset(&get, 0, sizeof(get));
	get.method = RELAY_GET;
	get.mode = "stats";
	get.mode_len = 5;
	get.query = get.ctype = "";
	get.body = (const uint8_t *)"";
	post = get;
	post.method = RELAY_POST;
	post.mode = "custom";
	post.mode_len = 6;
	post.query = "name=weather";
	post.query_len = 12;
	post.ctype = "application/json";
	post.ctype_len = 16;
	post.body = (const uint8_t *)"{\"text\":\"21\xc2\xb0" "C\",\"icon\":\"2422\"}";
	post.body_len = strlen((const char *)post.body);
	memset(&ok, 0, sizeof(ok));
	ok.outcome = RELAY_DEVICE;
	ok.status = 200;
	ok.ctype = "application/json";
	ok.ctype_len = 16;
	ok.body = (const uint8_t *)"{\"bat\":93,\"wifi_signal\":-61}";
	ok.body_len = strlen((const char *)ok.body);
	memset(&offline, 0, sizeof(offline));
	offline.outcome = RELAY_OFFLINE;
	offline.ctype = "";
	offline.body = (const uint8_t *)"";
	limited = offline;
	limited.outcome = RELAY_RATE_LIMITED;
	limited.retry_after = 3;

	lens[n] = (size_t)linkmsg_encode_register(msgs[n], LINK_PLAIN_MAX,
	    LM_REGISTER, TOK), n++;
	lens[n] = (size_t)linkmsg_encode_result(msgs[n], LINK_PLAIN_MAX,
	    LM_WELCOME, LM_OK, url, strlen(url)), n++;
	lens[n] = (size_t)linkmsg_encode_empty(msgs[n], LINK_PLAIN_MAX,
	    LM_PING), n++;
	lens[n] = (size_t)linkmsg_encode_empty(msgs[n], LINK_PLAIN_MAX,
	    LM_PONG), n++;
	lens[n] = (size_t)linkmsg_encode_register(msgs[n], LINK_PLAIN_MAX,
	    LM_ROTATE, TOK2), n++;
	lens[n] = (size_t)linkmsg_encode_result(msgs[n], LINK_PLAIN_MAX,
	    LM_ROTATED, LM_REFUSED_LIMIT, NULL, 0), n++;
	lens[n] = (size_t)linkmsg_encode_request(msgs[n], LINK_PLAIN_MAX, 1,
	    8000, &get), n++;
	lens[n] = (size_t)linkmsg_encode_request(msgs[n], LINK_PLAIN_MAX,
	    0xfffffffe, 7999, &post), n++;
	lens[n] = (size_t)linkmsg_encode_answer(msgs[n], LINK_PLAIN_MAX, 1,
	    &ok), n++;
	lens[n] = (size_t)linkmsg_encode_answer(msgs[n], LINK_PLAIN_MAX, 2,
	    &offline), n++;
	lens[n] = (size_t)linkmsg_encode_answer(msgs[n], LINK_PLAIN_MAX, 3,
	    &limited), n++;
	memset(body_big, 'x', 20000);
	ok.body = body_big;
	ok.body_len = 20000;
	ok.ctype = "text/plain";
	ok.ctype_len = 10;
	lens[n] = (size_t)linkmsg_encode_answer(msgs[n], LINK_PLAIN_MAX, 4,
	    &ok), n++;
	return (n);
}

static void
seeds_link(void)
{
	static uint8_t msgs[16][LINK_PLAIN_MAX];
	static const char *const names[] = { "register", "welcome", "ping",
	    "pong", "rotate", "rotated", "request-get", "request-post",
	    "answer-device", "answer-offline", "answer-limited",
	    "answer-20k" };
	static uint8_t frame[LINK_FRAME_MAX];
	size_t lens[16], n, i;
	char name[64];
	long f;

	memset(&link_key, 0, sizeof(link_key));
	memset(link_key.k, FUZZ_LINK_KEY_BYTE, sizeof(link_key.k));
	link_key.has_key = 1;
	n = link_messages(msgs, lens);
	for (i = 0; i < n; i++) {
		/* 1: the plaintext alone (not the 20 KB one: it is in 0). */
		if (lens[i] < 1000) {
			start(1);
			add(&B, msgs[i], lens[i]);
			snprintf(name, sizeof(name), "plain-%s", names[i]);
			put("link_frame", name, B.p, B.len);
		}
		/* 0: one sealed frame at nonce 0. */
		if (i % 2 == 0 || lens[i] > 1000) {
			start(0);
			f = seal(0, msgs[i], lens[i], frame);
			add(&B, frame, (size_t)f);
			snprintf(name, sizeof(name), "frame-%s", names[i]);
			put("link_frame", name, B.p, B.len);
		}
	}
	/* 2: streams of frames with nonces 0, 1, 2... in small pieces. */
	start(2);
	for (i = 0; i < 6; i++) {
		f = seal(i, msgs[i + 1], lens[i + 1], frame);
		add(&B, frame, (size_t)f);
	}
	put("link_frame", "stream-small-pieces", B.p, B.len);
	start(3 * 20 + 2);
	for (i = 0; i < n; i++) {
		f = seal(i, msgs[i], lens[i], frame);
		add(&B, frame, (size_t)f);
	}
	put("link_frame", "stream-all-types", B.p, B.len);
	/* The same through a shared scratch buffer: one message a turn, and
	 * 64 a turn in larger pieces. */
	B.p[0] = 3 * 3 + 2;
	put("link_frame", "stream-shared-quota-1", B.p, B.len);
	B.p[0] = 3 * 21 + 2;
	put("link_frame", "stream-shared-big-pieces", B.p, B.len);
	/* The stream goes on after a frame that fails: it must stop. */
	start(5);
	f = seal(0, msgs[2], lens[2], frame);
	add(&B, frame, (size_t)f);
	f = seal(5, msgs[3], lens[3], frame);
	add(&B, frame, (size_t)f);
	f = seal(2, msgs[3], lens[3], frame);
	add(&B, frame, (size_t)f);
	put("link_frame", "stream-wrong-nonce", B.p, B.len);
	/* A length field out of range, and one cut short. */
	start(2);
	add(&B, "\xff\xff\x00\x01", 4);
	put("link_frame", "stream-bad-length", B.p, B.len);
	start(8);
	f = seal(0, msgs[0], lens[0], frame);
	add(&B, frame, (size_t)f - 3);
	put("link_frame", "stream-cut", B.p, B.len);
}

/* --- front_frame ------------------------------------------------------- */

static void
seeds_front(void)
{
	static uint8_t frame[FRONT_FRAME_MAX];
	struct relay_request get, post;
	struct relay_answer ok, offline, busy, text;
	const char *stats = "{\"sessions\":1,\"requests\":2}";
	long n;

	memset(&get, 0, sizeof(get));
	get.method = RELAY_GET;
	get.mode = "stats";
	get.mode_len = 5;
	get.query = get.ctype = "";
	get.body = (const uint8_t *)"";
	post = get;
	post.method = RELAY_POST;
	post.mode = "notify";
	post.mode_len = 6;
	post.ctype = "application/json";
	post.ctype_len = 16;
	post.body = (const uint8_t *)"{\"text\":\"New mail from Alice\","
	    "\"color\":\"#00FF00\",\"duration\":10}";
	post.body_len = strlen((const char *)post.body);
	memset(&ok, 0, sizeof(ok));
	ok.outcome = RELAY_DEVICE;
	ok.status = 200;
	ok.ctype = "text/plain";
	ok.ctype_len = 10;
	ok.body = (const uint8_t *)"OK";
	ok.body_len = 2;
	memset(&offline, 0, sizeof(offline));
	offline.outcome = RELAY_OFFLINE;
	offline.ctype = "";
	offline.body = (const uint8_t *)"";
	busy = offline;
	busy.outcome = RELAY_OVERLOADED;
	busy.retry_after = 2;
	text = ok;
	text.status = 500;
	text.ctype = "application/json; charset=utf-8";
	text.ctype_len = strlen(text.ctype);
	text.body = (const uint8_t *)"{\"error\":\"ErrorParsingJson\"}";
	text.body_len = strlen((const char *)text.body);

	/* What awtrix-cloud.fcgi sends. */
	start(0);
	n = front_encode_request(frame, sizeof(frame), 1, TOK, &get);
	add(&B, frame, (size_t)n);
	n = front_encode_request(frame, sizeof(frame), 2, TOK2, &post);
	add(&B, frame, (size_t)n);
	n = front_encode_stats(frame, sizeof(frame), 3);
	add(&B, frame, (size_t)n);
	put("front_frame", "fcgi-requests", B.p, B.len);
	/* What the broker answers: late answers first, then id 7. */
	start(1);
	n = front_encode_answer(frame, sizeof(frame), 5, &offline);
	add(&B, frame, (size_t)n);
	n = front_encode_answer(frame, sizeof(frame), 6, &busy);
	add(&B, frame, (size_t)n);
	n = front_encode_answer(frame, sizeof(frame), 7, &ok);
	add(&B, frame, (size_t)n);
	put("front_frame", "broker-answers", B.p, B.len);
	start(3);
	n = front_encode_answer(frame, sizeof(frame), 7, &text);
	add(&B, frame, (size_t)n);
	put("front_frame", "answer-device-500", B.p, B.len);
	start(5);
	n = front_encode_answer(frame, sizeof(frame), 7, &busy);
	add(&B, frame, (size_t)n);
	put("front_frame", "answer-overloaded", B.p, B.len);
	start(7);
	n = front_encode_stats_answer(frame, sizeof(frame), 7, stats,
	    strlen(stats));
	add(&B, frame, (size_t)n);
	put("front_frame", "stats-answer", B.p, B.len);
	/* A length out of range; an answer cut short. */
	start(1);
	add(&B, "\x00\x01\x00\x00\x02\x00\x00\x00\x07", 9);
	put("front_frame", "length-too-big", B.p, B.len);
	start(1);
	n = front_encode_answer(frame, sizeof(frame), 7, &ok);
	add(&B, frame, (size_t)n - 1);
	put("front_frame", "answer-cut", B.p, B.len);
}

/* --- fcgi_request ------------------------------------------------------ */

/* Fields: method, query, authorization, content type, content length
 * (NULL: the byte 0x01; "auto": the body's length), then the body. */
static void
req_seed(const char *name, uint8_t sel, const char *method,
    const char *query, const char *auth, const char *ctype,
    const char *clen, const char *body)
{
	const char *f[5];
	char n[32];
	int i;

	f[0] = method;
	f[1] = query;
	f[2] = auth;
	f[3] = ctype;
	f[4] = clen;
	if (clen != NULL && strcmp(clen, "auto") == 0) {
		snprintf(n, sizeof(n), "%zu", strlen(body));
		f[4] = n;
	}
	start(sel);
	for (i = 0; i < 5; i++) {
		add_str(&B, f[i] != NULL ? f[i] : "\x01");
		add_u8(&B, 0);
	}
	add_str(&B, body);
	put("fcgi_request", name, B.p, B.len);
}

static void
seeds_request(void)
{
	const char *b1 = "{\"text\":\"New mail from Alice\",\"color\":"
	    "\"#00FF00\",\"duration\":10}";

	req_seed("get-stats", 0, "GET", "mode=stats&token=" TOK, NULL, NULL,
	    NULL, "");
	req_seed("post-notify", 0, "POST", "mode=notify&token=" TOK, NULL,
	    "application/json", "auto", b1);
	req_seed("post-bearer", 1, "POST", "mode=notify", "Bearer " TOK,
	    "application/json", "13", "{\"text\":\"Hi\"}");
	req_seed("post-custom-app", 0, "POST",
	    "mode=custom&name=weather&token=" TOK, NULL, "application/json",
	    "auto", "{\"text\":\"21\xc2\xb0" "C\",\"icon\":\"2422\"}");
	req_seed("post-rtttl-text", 0, "POST", "mode=rtttl&token=" TOK, NULL,
	    "text/plain", "auto", "tetris:d=4,o=5,b=160:e6,8b,8c6");
	req_seed("post-chunked", 1, "POST", "token=" TOK "&mode=notify", NULL,
	    "application/vnd.awtrix+json; charset=utf-8", NULL,
	    "[{\"text\":\"a\"},{\"text\":\"b\",\"rainbow\":true}]");
	req_seed("get-escapes", 0, "GET", "mode=custom&name=caf%C3%A9+bar"
	    "&x&y=&token=" TOK "&z=%7e%2F", "Basic dXNlcjpwYXNz", NULL, "",
	    "");
	req_seed("get-small-limit", 20, "GET", "mode=notify/dismiss&tok%65n="
	    TOK, "bearer\t" TOK "\t", "", "0", "");
	req_seed("post-bad-json", 0, "POST", "mode=notify&token=" TOK, NULL,
	    "application/json", "9", "{'a':1}  ");
	req_seed("two-tokens", 0, "GET", "mode=stats&token=" TOK, "Bearer "
	    TOK2, NULL, NULL, "");
	req_seed("bad-method", 0, "PUT", "mode=stats&token=" TOK, NULL, NULL,
	    NULL, "");
	req_seed("too-long-body", 23, "POST", "mode=notify&token=" TOK, NULL,
	    "text/plain", "99", "0123456789");
}

/* --- json_check -------------------------------------------------------- */

static void
seeds_json(void)
{
	static const char *const docs[] = {
		"{\"text\":\"New mail from Alice\",\"color\":\"#00FF00\","
		    "\"duration\":10}",
		"{\"text\":\"21\xc2\xb0" "C\",\"icon\":\"2422\"}",
		"[{\"text\":\"a\",\"color\":[255,0,0]},{\"text\":\"b\","
		    "\"rainbow\":true,\"progress\":-1}]",
		"{\"draw\":[{\"dl\":[0,0,31,7,\"#FF0000\"]},{\"dp\":[1,2,"
		    "\"#00ff00\"]}],\"repeat\":2,\"hold\":false,\"x\":null}",
		"{\"a\":-0.5e+10,\"b\":0,\"c\":1E-7,\"d\":123456789012,"
		    "\"e\":\"\\u00e9\\n\\t\\\"\\\\\\/\\ud83d\\ude00\"}",
		" \r\n\t[ ]\n",
		"{}",
		"\"just a string\"",
		"true",
		"-12.5",
		"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
		"{\"\xf0\x9f\x98\x80\":\"\xe2\x82\xac\"}",
		/* near misses */
		"{'a':1}",
		"[1,]",
		"{\"a\":NaN}",
		"[1.]",
		"{\"a\":1} x",
		"[\"\x01\"]",
		"01",
		"[1e]",
	};
	char name[32];
	size_t i;

	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		snprintf(name, sizeof(name), "%02zu", i);
		put("json_check", name, docs[i], strlen(docs[i]));
	}
}

/* --- relay_answer ------------------------------------------------------ */

static void
wire_seed(const char *name, uint8_t sel, const struct relay_request *req,
    const struct relay_answer *ans)
{
	struct wire_writer w;
	long n;

	start(sel);
	wire_writer_init(&w, B.p + 1, sizeof(B.p) - 1);
	if (req != NULL)
		relay_request_put(&w, req);
	else
		relay_answer_put(&w, ans);
	if ((n = wire_writer_end(&w)) < 0)
		abort();
	B.len += (size_t)n;
	put("relay_answer", name, B.p, B.len);
}

/* A device answer: curl result, connected, status, Content-Type, body. */
static void
device_seed(const char *name, uint8_t sel, uint8_t result, long status,
    const char *ctype, const uint8_t *body, size_t blen)
{
	start(sel);
	add_u8(&B, result);
	add_u8(&B, 1);
	add_u8(&B, (uint8_t)(status >> 24));
	add_u8(&B, (uint8_t)(status >> 16));
	add_u8(&B, (uint8_t)(status >> 8));
	add_u8(&B, (uint8_t)status);
	if (ctype == NULL)
		add_u8(&B, 255);
	else {
		add_u8(&B, (uint8_t)strlen(ctype));
		add_str(&B, ctype);
	}
	add(&B, body, blen);
	put("relay_answer", name, B.p, B.len);
}

static void
seeds_relay(void)
{
	struct relay_request req;
	struct relay_answer ans;
	const char *json = "{\"bat\":93,\"wifi_signal\":-61,\"uptime\":1234}";

	memset(&ans, 0, sizeof(ans));
	ans.outcome = RELAY_DEVICE;
	ans.status = 200;
	ans.ctype = "application/json";
	ans.ctype_len = 16;
	ans.body = (const uint8_t *)json;
	ans.body_len = strlen(json);
	wire_seed("answer-device", 0, NULL, &ans);
	ans.outcome = RELAY_RATE_LIMITED;
	ans.status = 0;
	ans.retry_after = 1;
	ans.ctype = "";
	ans.ctype_len = 0;
	ans.body_len = 0;
	wire_seed("answer-limited", 4, NULL, &ans);

	memset(&req, 0, sizeof(req));
	req.method = RELAY_GET;
	req.mode = "stats";
	req.mode_len = 5;
	req.query = req.ctype = "";
	req.body = (const uint8_t *)"";
	wire_seed("request-stats", 1, &req, NULL);
	req.method = RELAY_POST;
	req.mode = "custom";
	req.mode_len = 6;
	req.query = "name=caf%C3%A9&x";
	req.query_len = strlen(req.query);
	req.ctype = "application/json";
	req.ctype_len = 16;
	req.body = (const uint8_t *)"{\"text\":\"Hi\"}";
	req.body_len = 13;
	wire_seed("request-custom", 5, &req, NULL);
	req.mode = "rtttl";
	req.mode_len = 5;
	req.query = "";
	req.query_len = 0;
	req.ctype = "text/plain";
	req.ctype_len = 10;
	req.body = (const uint8_t *)"tetris:d=4,o=5,b=160:e6,8b,8c6";
	req.body_len = 30;
	wire_seed("request-rtttl", 9, &req, NULL);
	req.method = RELAY_GET;
	req.mode = "reboot";
	req.mode_len = 6;
	req.body_len = 0;
	req.ctype_len = 0;
	wire_seed("request-denied", 13, &req, NULL);
	req.mode = "notify";
	req.mode_len = 6;
	req.query = "a=b c";
	req.query_len = 5;
	wire_seed("request-unsafe-query", 17, &req, NULL);

	device_seed("device-200-json", 2, 0, 200, "application/json",
	    (const uint8_t *)json, strlen(json));
	device_seed("device-200-ok", 3, 0, 200, "text/plain; charset=utf-8",
	    (const uint8_t *)"OK", 2);
	device_seed("device-404-noctype", 6, 0, 404, NULL,
	    (const uint8_t *)"FileNotFound", 12);
	device_seed("device-timeout", 7, 1, 0, NULL, NULL, 0);
	device_seed("device-refused", 10, 2, 0, NULL, NULL, 0);
	device_seed("device-status-0", 11, 0, 0, "", NULL, 0);
	memset(body_big, 'y', sizeof(body_big));
	device_seed("device-body-max", 254, 0, 200, "text/plain", body_big,
	    sizeof(body_big));
	device_seed("device-body-max-plus-1", 250, 0, 200, " text/html ",
	    body_big, sizeof(body_big));
	B.p[B.len++] = 'z';
	put("relay_answer", "device-body-max-plus-1", B.p, B.len);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_seeds CORPUS_DIR\n");
		return (2);
	}
	if (sodium_init() < 0)
		return (1);
	root = argv[1];
	if (mkdir(root, 0755) != 0 && errno != EEXIST) {
		perror(root);
		return (1);
	}
	seeds_noise();
	seeds_link();
	seeds_front();
	seeds_request();
	seeds_json();
	seeds_relay();
	return (0);
}
