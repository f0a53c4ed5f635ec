/*
 * The two things that travel end to end (lib/relay.c), and the agent's side
 * of them (device-agent/device.c, included here): what it makes of a request
 * from the broker, and how it turns the device's HTTP answer into the
 * relay_answer it sends back.  libcurl is replaced by the stubs below (the
 * curl headers are still needed), so no network is used: the "transfer"
 * delivers the input's body through device.c's write callback and reports
 * the input's status, Content-Type and result code.
 *
 * Input: one selector byte, then:
 *   selector % 4 == 0: an encoded answer for relay_answer_get;
 *   selector % 4 == 1: an encoded request for relay_request_get, which is
 *                      then submitted to the agent's device queue and
 *                      started (the curl options it sets are checked);
 *   selector % 4 >= 2: a device answer:
 *       u8 result (0 ok, 1 time-out, 2 connection refused, 3 receive
 *          error), u8 connected (bit 0: CONNECT_TIME_T > 0; bits 1-2:
 *          the result of the probe that follows a time-out), i32 HTTP status
 *          (big-endian), u8 n and n bytes of Content-Type header value
 *          (n == 255: no header), then the body (the rest), delivered in
 *          pieces of (selector / 4 + 1) * 61 bytes.
 *       The Content-Type is shaped as curl 7.88 hands it out
 *       (Curl_copy_header_value): white space stripped at both ends, cut at
 *       CR, LF or NUL; anything else (tabs, bytes >= 0x80) is kept.
 *
 * Invariants: no crash or out-of-bounds access; a decoded request or
 * answer points inside its buffer, respects every limit and re-encodes to
 * the same bytes; the agent answers every request exactly once (and never
 * a probe: after a time-out it sends GET stats, and nothing else until that
 * returns); the URL it
 * builds holds no space or control character; and every answer the agent
 * makes encodes as LM_ANSWER and is accepted by the broker's linkmsg_decode
 * (a refusal there closes the agent's whole link, broker/agent.c), then
 * travels on as FRONT_ANSWER.  Decoding checks structure only, so a
 * device's odd Content-Type (once a bug that closed the whole link, kept in
 * tests/fuzz/regress/relay_answer/) now decodes and fails the answer rules
 * (relay_answer_passable, held to ref_passable below): 502 for that request.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "fuzz.h"
#include "front.h"
#include "link.h"
#include "linkmsg.h"
#include "log.h"

#ifndef AWTRIX_VERSION
#define AWTRIX_VERSION "fuzz"
#endif

#include "../../device-agent/device.c"
#include "../../device-agent/translate.c"
#include "../../device-agent/modes.c"
#include "../../device-agent/policy.c"

/* --- libcurl, as far as device.c uses it ------------------------------- */

static struct {
	int easy;			/* the address is the handle */
	int in_multi;
	CURLMsg msg;
	int msg_pending;
	long status;
	char ctype[256];
	int has_ctype;
	curl_off_t connect_time;
	char url[4096];
	int url_set;
	long post, postsize;
	const char *postfields;
} fake;

CURL *
curl_easy_init(void)
{
	return (&fake.easy);
}

void
curl_easy_reset(CURL *e)
{
	FUZZ_CHECK(e == &fake.easy);
	fake.url_set = 0;
	fake.post = fake.postsize = -1;
	fake.postfields = NULL;
}

void
curl_easy_cleanup(CURL *e)
{
	FUZZ_CHECK(e == &fake.easy && !fake.in_multi);
}

const char *
curl_easy_strerror(CURLcode rc)
{
	return (rc == CURLE_OK ? "No error" : "Some error");
}

CURLcode
(curl_easy_setopt)(CURL *e, CURLoption opt, ...)
{
	va_list ap;
	const char *s;

	FUZZ_CHECK(e == &fake.easy);
	va_start(ap, opt);
	switch (opt) {
	case CURLOPT_URL:
		s = va_arg(ap, const char *);
		FUZZ_CHECK(strlen(s) < sizeof(fake.url));
		strcpy(fake.url, s);
		fake.url_set = 1;
		break;
	case CURLOPT_POST:
		fake.post = va_arg(ap, long);
		break;
	case CURLOPT_POSTFIELDS:
		fake.postfields = va_arg(ap, const char *);
		break;
	case CURLOPT_POSTFIELDSIZE:
		fake.postsize = va_arg(ap, long);
		break;
	default:
		break;
	}
	va_end(ap);
	return (CURLE_OK);
}

CURLcode
(curl_easy_getinfo)(CURL *e, CURLINFO info, ...)
{
	va_list ap;

	FUZZ_CHECK(e == &fake.easy);
	va_start(ap, info);
	switch (info) {
	case CURLINFO_RESPONSE_CODE:
		*va_arg(ap, long *) = fake.status;
		break;
	case CURLINFO_CONTENT_TYPE:
		*va_arg(ap, char **) = fake.has_ctype ? fake.ctype : NULL;
		break;
	case CURLINFO_CONNECT_TIME_T:
		*va_arg(ap, curl_off_t *) = fake.connect_time;
		break;
	default:
		FUZZ_CHECK(!"unexpected curl_easy_getinfo");
	}
	va_end(ap);
	return (CURLE_OK);
}

struct curl_slist *
curl_slist_append(struct curl_slist *list, const char *s)
{
	struct curl_slist *n = calloc(1, sizeof(*n)), *last;

	if (n == NULL || (n->data = strdup(s)) == NULL)
		abort();
	if (list == NULL)
		return (n);
	for (last = list; last->next != NULL; last = last->next)
		continue;
	last->next = n;
	return (list);
}

void
curl_slist_free_all(struct curl_slist *list)
{
	struct curl_slist *next;

	for (; list != NULL; list = next) {
		next = list->next;
		free(list->data);
		free(list);
	}
}

CURLMcode
curl_multi_add_handle(CURLM *m, CURL *e)
{
	(void)m;
	FUZZ_CHECK(e == &fake.easy && !fake.in_multi);
	fake.in_multi = 1;
	return (CURLM_OK);
}

CURLMcode
curl_multi_remove_handle(CURLM *m, CURL *e)
{
	(void)m;
	FUZZ_CHECK(e == &fake.easy);
	fake.in_multi = 0;
	return (CURLM_OK);
}

CURLMsg *
curl_multi_info_read(CURLM *m, int *left)
{
	(void)m;
	*left = 0;
	if (!fake.msg_pending)
		return (NULL);
	fake.msg_pending = 0;
	return (&fake.msg);
}

/* --- lib/log.c, quiet (the format is still expanded) ------------------- */

static void
quiet(const char *fmt, va_list ap)
{
	char line[256];

	vsnprintf(line, sizeof(line), fmt, ap);
}

void log_init(const char *progname) { (void)progname; }
#define QUIET(name) void name(const char *fmt, ...) \
	{ va_list ap; va_start(ap, fmt); quiet(fmt, ap); va_end(ap); }
QUIET(log_info)
QUIET(log_warn)
QUIET(log_error)
#define QUIET_EV(name) void name(const char *ev, const char *fmt, ...) \
	{ va_list ap; (void)ev; va_start(ap, fmt); quiet(fmt, ap); va_end(ap); }
QUIET_EV(log_info_ev)
QUIET_EV(log_warn_ev)
QUIET_EV(log_error_ev)

/* --- checks ------------------------------------------------------------ */

static int
inside(const void *q, size_t n, const uint8_t *p, size_t len)
{
	const uint8_t *b = q;

	return (q != NULL && b >= p && n <= len && b - p <= (long)(len - n));
}

static int answers;
static uint32_t answered_id;
static int answered_outcome;
static unsigned answered_status;
static int answered_json;	/* a JSON body that names an error slug */
static int answered_names_clients;	/* ...and the key "clients" */
static int contains(const uint8_t *, size_t, const char *);

/*
 * agent.c's agent_on_answer, and then what the broker does with it: decode
 * the LM_ANSWER and pass it on to awtrix-cloud.fcgi as a FRONT_ANSWER.
 */
static void
on_answer(void *ctx, uint32_t id, const struct relay_answer *ans)
{
	static uint8_t msg[LINK_PLAIN_MAX], frame[FRONT_FRAME_MAX];
	struct linkmsg m;
	struct front_msg f;
	long n, k;

	(void)ctx;
	answers++;
	answered_id = id;
	answered_outcome = ans->outcome;
	answered_status = ans->status;
	answered_json = ans->ctype_len == 16 &&
	    memcmp(ans->ctype, "application/json", 16) == 0 &&
	    ans->body_len > 10 && memcmp(ans->body, "{\"error\":\"", 10) == 0;
	answered_names_clients = answered_json &&
	    contains(ans->body, ans->body_len, "makes the clock contact other");
	FUZZ_CHECK(ans->outcome < RELAY_OUTCOME_COUNT);
	/* The agent never uses the relay's own words. */
	FUZZ_CHECK(ans->outcome != RELAY_OFFLINE &&
	    ans->outcome != RELAY_OVERLOADED);
	FUZZ_CHECK(ans->outcome != RELAY_DEVICE ||
	    (ans->status >= 200 && ans->status <= 599));
	n = linkmsg_encode_answer(msg, sizeof(msg), id, ans);
	FUZZ_CHECK(n > 0);		/* else: "cannot encode an answer" */
	FUZZ_CHECK(linkmsg_decode(msg, (size_t)n, &m) == 0);
	FUZZ_CHECK(m.type == LM_ANSWER && m.id == id &&
	    m.ans.outcome == ans->outcome);
	k = front_encode_answer(frame, sizeof(frame), id, &m.ans);
	FUZZ_CHECK(k > 0);
	FUZZ_CHECK(front_decode(frame + FRONT_HEADER_LEN,
	    (size_t)k - FRONT_HEADER_LEN, &f) == 0);
}

/*
 * The answer rules of docs/protocol.md §5, written again the slow way, to
 * hold relay_answer_passable to: the status, then the content type lowered
 * and cut at the first ';' (and the blanks before it).
 */
static int
ref_passable(const struct relay_answer *ans)
{
	char low[RELAY_CTYPE_MAX + 1];
	size_t i, n = 0;

	if (ans->outcome == RELAY_OFFLINE || ans->outcome == RELAY_OVERLOADED)
		return (0);
	if (ans->outcome != RELAY_DEVICE)
		return (1);
	if (ans->status < 200 || ans->status > 599)
		return (0);
	for (i = 0; i < ans->ctype_len; i++) {
		unsigned char c = (unsigned char)ans->ctype[i];

		if (c < 0x20 || c > 0x7e)
			return (0);
		if (n == i && c != ';')
			low[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	while (n > 0 && (low[n - 1] == ' ' || low[n - 1] == '\t'))
		n--;
	low[n] = '\0';
	return (ans->ctype_len == 0 || strcmp(low, "application/json") == 0 ||
	    strcmp(low, "text/plain") == 0);
}

static void
answer_get(const uint8_t *data, size_t size)
{
	uint8_t *p = calloc(1, size ? size : 1), *q;
	struct relay_answer ans;
	struct wire_reader r;
	struct wire_writer w;

	if (p == NULL)
		abort();
	if (size > 0)
		memcpy(p, data, size);
	wire_reader_init(&r, p, size);
	if (relay_answer_get(&r, &ans) == 0 && wire_reader_end(&r) == 0) {
		FUZZ_CHECK(ans.outcome < RELAY_OUTCOME_COUNT);
		FUZZ_CHECK(relay_answer_passable(&ans) == ref_passable(&ans));
		FUZZ_CHECK(ans.ctype_len <= RELAY_CTYPE_MAX &&
		    ans.body_len <= RELAY_BODY_MAX);
		FUZZ_CHECK(inside(ans.ctype, ans.ctype_len, p, size));
		FUZZ_CHECK(inside(ans.body, ans.body_len, p, size));
		if ((q = malloc(size)) == NULL)
			abort();
		wire_writer_init(&w, q, size);
		relay_answer_put(&w, &ans);
		FUZZ_CHECK(wire_writer_end(&w) == (long)size);
		FUZZ_CHECK(memcmp(p, q, size) == 0);
		wire_writer_init(&w, q, size - 1);
		relay_answer_put(&w, &ans);
		FUZZ_CHECK(wire_writer_end(&w) == -1);
		free(q);
		(void)relay_outcome_name(ans.outcome);
	}
	free(p);
}

static struct device *
device_make(void)
{
	struct device_config cfg;
	struct device *dev;

	memset(&cfg, 0, sizeof(cfg));
	cfg.target = "http://192.0.2.1/api/";
	cfg.allow = "custom/x,erase";
	cfg.deny = "reboot,notify/dismiss";
	memset(&fake, 0, sizeof(fake));
	answers = 0;
	dev = device_new(&cfg, (CURLM *)&fake.in_multi, on_answer, NULL);
	FUZZ_CHECK(dev != NULL);
	return (dev);
}

/* Does ${p} (${len} bytes) contain the string ${s}? */
static int
contains(const uint8_t *p, size_t len, const char *s)
{
	size_t i, n = strlen(s);

	for (i = 0; i + n <= len; i++)
		if (memcmp(p + i, s, n) == 0)
			return (1);
	return (0);
}

static int
url_char_ok(unsigned char c)
{
	return (c > 0x20 && c < 0x7f);
}

/* The agent's handling of a request decoded from the broker. */
static void
request_to_device(const struct relay_request *req)
{
	struct device *dev = device_make();
	size_t i, tlen = strlen(dev->cfg.target);

	device_submit(dev, 41, 10000, 1000, req);
	if (answers == 1) {
		/* Refused at once, and said why: by an outcome, or in the
		 * relay's own words (modes.c, translate.c: 400, 405). */
		FUZZ_CHECK(answered_id == 41);
		FUZZ_CHECK(answered_outcome == RELAY_NOT_ALLOWED ||
		    answered_outcome == RELAY_BAD_REQUEST ||
		    (answered_outcome == RELAY_DEVICE && answered_json &&
		    (answered_status == 400 || answered_status == 405)));
		/* policy.c: a "clients" key is refused only in a POST body
		 * that carries it. */
		FUZZ_CHECK(!answered_names_clients ||
		    (req->method == RELAY_POST &&
		    contains(req->body, req->body_len, "clients")));
		FUZZ_CHECK(dev->count == 0);
	} else {
		FUZZ_CHECK(answers == 0 && dev->count == 1);
		FUZZ_CHECK(device_mode_allowed(dev, req->mode, req->mode_len));
		device_step(dev, 1000);
		FUZZ_CHECK(dev->busy && fake.in_multi && fake.url_set);
		FUZZ_CHECK(strncmp(fake.url, dev->cfg.target, tlen) == 0);
		FUZZ_CHECK(strncmp(fake.url + tlen, req->mode,
		    req->mode_len) == 0);
		for (i = 0; fake.url[i] != '\0'; i++)
			FUZZ_CHECK(url_char_ok((unsigned char)fake.url[i]));
		if (req->method == RELAY_POST) {
			FUZZ_CHECK(fake.post == 1);
			FUZZ_CHECK(fake.postsize == (long)req->body_len);
			FUZZ_CHECK(req->body_len == 0 || memcmp(fake.postfields,
			    req->body, req->body_len) == 0);
		}
		FUZZ_CHECK(dev->headers != NULL && (strcmp(dev->headers->data,
		    "Content-Type: application/json") == 0 ||
		    strcmp(dev->headers->data, "Content-Type: text/plain")
		    == 0));
		/* The link goes away: the call's answer is discarded. */
		device_forget(dev);
	}
	device_free(dev);
	FUZZ_CHECK(!fake.in_multi && answers <= 1);
}

static void
request_get(const uint8_t *data, size_t size)
{
	uint8_t *p = calloc(1, size ? size : 1), *q;
	struct relay_request req;
	struct wire_reader r;
	struct wire_writer w;

	if (p == NULL)
		abort();
	if (size > 0)
		memcpy(p, data, size);
	wire_reader_init(&r, p, size);
	if (relay_request_get(&r, &req) == 0 && wire_reader_end(&r) == 0) {
		FUZZ_CHECK(req.method == RELAY_GET || req.method == RELAY_POST);
		FUZZ_CHECK(relay_mode_valid(req.mode, req.mode_len));
		FUZZ_CHECK(req.query_len <= RELAY_QUERY_MAX &&
		    req.ctype_len <= RELAY_CTYPE_MAX &&
		    req.body_len <= RELAY_BODY_MAX);
		FUZZ_CHECK(inside(req.mode, req.mode_len, p, size));
		FUZZ_CHECK(inside(req.query, req.query_len, p, size));
		FUZZ_CHECK(inside(req.ctype, req.ctype_len, p, size));
		FUZZ_CHECK(inside(req.body, req.body_len, p, size));
		if ((q = malloc(size)) == NULL)
			abort();
		wire_writer_init(&w, q, size);
		relay_request_put(&w, &req);
		FUZZ_CHECK(wire_writer_end(&w) == (long)size);
		FUZZ_CHECK(memcmp(p, q, size) == 0);
		wire_writer_init(&w, q, size - 1);
		relay_request_put(&w, &req);
		FUZZ_CHECK(wire_writer_end(&w) == -1);
		free(q);
		request_to_device(&req);
	}
	free(p);
}

static int
curl_space(uint8_t c)
{
	return (c == ' ' || c == '\t' || c == '\n' || c == '\v' ||
	    c == '\f' || c == '\r');
}

/*
 * The device timed out after connecting, so it may still be busy: the agent
 * probes it (GET stats) before it sends anything else.  A request queued
 * meanwhile waits for the probe, whose result ends in no answer at all.
 */
static void
after_timeout(struct device *dev, CURLcode probe_rc)
{
	size_t tlen = strlen(dev->cfg.target);
	struct relay_request req;

	FUZZ_CHECK(dev->busy && dev->probing && fake.in_multi);
	FUZZ_CHECK(strncmp(fake.url, dev->cfg.target, tlen) == 0 &&
	    strcmp(fake.url + tlen, "stats") == 0);
	memset(&req, 0, sizeof(req));
	req.method = RELAY_POST;
	req.mode = "notify";
	req.mode_len = 6;
	req.query = req.ctype = "";
	req.body = (const uint8_t *)"{}";
	req.body_len = 2;
	device_submit(dev, 8, 20000, 2100, &req);
	device_step(dev, 2100);
	FUZZ_CHECK(answers == 1 && dev->probing && dev->count == 1);
	FUZZ_CHECK(strcmp(fake.url + tlen, "stats") == 0);

	fake.msg.msg = CURLMSG_DONE;
	fake.msg.easy_handle = &fake.easy;
	fake.msg.data.result = probe_rc;
	fake.msg_pending = 1;
	device_step(dev, 2200);
	/* The probe says nothing; the queued request goes out now. */
	FUZZ_CHECK(answers == 1 && !dev->probing && !dev->stalled);
	FUZZ_CHECK(dev->busy && dev->count == 0 && fake.post == 1);
	FUZZ_CHECK(strcmp(fake.url + tlen, "notify") == 0);
	device_forget(dev);
}

/* A call to the device, and what comes back of it. */
static void
device_answer(const uint8_t *data, size_t size, size_t piece)
{
	static const CURLcode results[] = { CURLE_OK,
	    CURLE_OPERATION_TIMEDOUT, CURLE_COULDNT_CONNECT, CURLE_RECV_ERROR };
	struct relay_request req;
	struct device *dev;
	size_t n, off, s, e, got;
	CURLcode rc, probe_rc;
	uint8_t *chunk;
	int connected;
	long status;

	if (size < 7)
		return;
	rc = results[data[0] % 4];
	connected = data[1] & 1;
	probe_rc = results[(data[1] >> 1) % 4];
	status = (long)(int32_t)wire_load_u32(data + 2);
	n = data[6];
	data += 7;
	size -= 7;

	dev = device_make();
	memset(&req, 0, sizeof(req));
	req.method = RELAY_GET;
	req.mode = "stats";
	req.mode_len = 5;
	req.query = req.ctype = "";
	req.body = (const uint8_t *)"";
	device_submit(dev, 7, 10000, 1000, &req);
	device_step(dev, 1000);
	FUZZ_CHECK(answers == 0 && dev->busy && fake.in_multi);

	if (n == 255)
		fake.has_ctype = 0;
	else {
		if (n > size)
			n = size;
		/* curl: cut at CR, LF, NUL; strip white space at both ends. */
		for (e = 0; e < n && data[e] != '\r' && data[e] != '\n' &&
		    data[e] != '\0'; e++)
			continue;
		for (s = 0; s < e && curl_space(data[s]); s++)
			continue;
		while (e > s && curl_space(data[e - 1]))
			e--;
		memcpy(fake.ctype, data + s, e - s);
		fake.ctype[e - s] = '\0';
		fake.has_ctype = 1;
		data += n;
		size -= n;
	}
	fake.status = status;
	fake.connect_time = connected ? 1234 : 0;

	/* The body, piece by piece, until device.c refuses one. */
	for (off = 0; off < size; off += n) {
		n = size - off < piece ? size - off : piece;
		if ((chunk = malloc(n)) == NULL)
			abort();
		memcpy(chunk, data + off, n);
		got = device_write_cb((char *)chunk, 1, n, dev);
		free(chunk);
		if (got != n) {
			FUZZ_CHECK(got == 0 && dev->resp_overflow);
			rc = CURLE_WRITE_ERROR;
			break;
		}
	}
	FUZZ_CHECK(dev->resp_len <= RELAY_BODY_MAX);

	fake.msg.msg = CURLMSG_DONE;
	fake.msg.easy_handle = &fake.easy;
	fake.msg.data.result = rc;
	fake.msg_pending = 1;
	device_step(dev, 2000);
	FUZZ_CHECK(answers == 1 && answered_id == 7);
	if (rc != CURLE_OK)
		FUZZ_CHECK(answered_outcome == RELAY_UNREACHABLE ||
		    answered_outcome == RELAY_TIMEOUT);
	if (answered_outcome == RELAY_TIMEOUT)
		after_timeout(dev, probe_rc);
	else
		FUZZ_CHECK(!dev->busy);
	device_free(dev);
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
	switch (sel % 4) {
	case 0:
		answer_get(data, size);
		break;
	case 1:
		request_get(data, size);
		break;
	default:
		device_answer(data, size, (size_t)(sel / 4 + 1) * 61);
		break;
	}
	return (0);
}
