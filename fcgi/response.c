#include <stdio.h>
#include <string.h>

#include "relay.h"
#include "response.h"

#define RESPONSE_HEAD_MAX 512
#define RESPONSE_BODY_MAX 512

/* The status table of design §4: every slug the relay may answer. */
static const struct {
	int status;
	const char *slug;
} response_table[] = {
	{ 400, "bad_request" },
	{ 403, "mode_not_allowed" },
	{ 404, "device_offline" },
	{ 405, "method_not_allowed" },
	{ 413, "body_too_large" },
	{ 429, "rate_limited" },
	{ 502, "device_unreachable" },
	{ 503, "relay_unavailable" },
	{ 504, "device_timeout" }
};

/* What the broker said, in the words of the table. */
static const struct {
	int status;
	const char *message;
} response_outcomes[RELAY_OUTCOME_COUNT] = {
	[RELAY_DEVICE] = { 503, "the relay could not handle the request" },
	[RELAY_OFFLINE] = { 404, "no device is connected for this token: "
	    "check that its agent runs and is connected (awtrix-token status), "
	    "and that this is the current token (after awtrix-token "
	    "regenerate only the new URL works)" },
	[RELAY_RATE_LIMITED] = { 429,
	    "too many requests for this token; retry later" },
	[RELAY_NOT_ALLOWED] = { 403,
	    "the device's agent does not allow this mode: it is not a known "
	    "endpoint, or the owner denied it (awtrix-agent --allow/--deny)" },
	[RELAY_UNREACHABLE] = { 502, "the agent could not reach the device" },
	[RELAY_TIMEOUT] = { 504, "the device did not answer in time" },
	[RELAY_OVERLOADED] = { 503, "the relay is busy; retry later" },
	[RELAY_BAD_REQUEST] = { 400, "the relay refused the request" }
};

/**
 * response_reason(status):
 * The reason phrase of ${status} for the CGI Status header.
 */
const char *
response_reason(int status)
{
	static const struct {
		int status;
		const char *reason;
	} reasons[] = {
		{ 200, "OK" }, { 201, "Created" }, { 202, "Accepted" },
		{ 204, "No Content" }, { 301, "Moved Permanently" },
		{ 302, "Found" }, { 304, "Not Modified" },
		{ 400, "Bad Request" }, { 401, "Unauthorized" },
		{ 403, "Forbidden" }, { 404, "Not Found" },
		{ 405, "Method Not Allowed" }, { 408, "Request Timeout" },
		{ 409, "Conflict" }, { 413, "Content Too Large" },
		{ 415, "Unsupported Media Type" },
		{ 422, "Unprocessable Content" },
		{ 429, "Too Many Requests" }, { 500, "Internal Server Error" },
		{ 501, "Not Implemented" }, { 502, "Bad Gateway" },
		{ 503, "Service Unavailable" }, { 504, "Gateway Timeout" }
	};
	static const char *const classes[] = { "Informational", "Success",
	    "Redirection", "Client Error", "Server Error" };
	size_t i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].status == status)
			return (reasons[i].reason);
	if (status >= 100 && status <= 599)
		return (classes[status / 100 - 1]);
	return ("Unknown");
}

/**
 * response_local(r, status, message):
 * Fill ${r} for an error found by the relay itself: ${status} is one of the
 * table (400, 403, 404, 405, 413, 429, 502, 503, 504; anything else is
 * answered as 503), ${message} a static text.
 */
void
response_local(struct response *r, int status, const char *message)
{
	size_t i;

	r->status = 503;
	r->slug = "relay_unavailable";
	for (i = 0; i < sizeof(response_table) / sizeof(response_table[0]); i++)
		if (response_table[i].status == status) {
			r->status = status;
			r->slug = response_table[i].slug;
		}
	r->message = message;
	r->retry_after = r->status == 429 || r->status == 503 ?
	    RESPONSE_RETRY_AFTER : 0;
}

/**
 * response_outcome(r, ans):
 * Fill ${r} for a broker answer ${ans} whose outcome is not RELAY_DEVICE.
 */
void
response_outcome(struct response *r, const struct relay_answer *ans)
{
	int o = ans->outcome < RELAY_OUTCOME_COUNT ? ans->outcome :
	    RELAY_DEVICE;

	response_local(r, response_outcomes[o].status,
	    response_outcomes[o].message);
	if (r->retry_after > 0 && ans->retry_after > 0)
		r->retry_after = ans->retry_after;
}

/* Append ${s} to ${buf} as the inside of a JSON string. */
static size_t
response_json_string(char *buf, size_t cap, size_t off, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char c;

	for (; *s != '\0' && off + 6 < cap; s++) {
		c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			buf[off++] = '\\';
			buf[off++] = (char)c;
		} else if (c < 0x20) {
			memcpy(buf + off, "\\u00", 4);
			buf[off + 4] = hex[c >> 4];
			buf[off + 5] = hex[c & 15];
			off += 6;
		} else {
			buf[off++] = (char)c;
		}
	}
	return (off);
}

/**
 * response_send(r, out, ctx):
 * Write the headers and JSON body of ${r} with ${out}(${ctx}, ...).
 * Return 0 or -1.
 */
int
response_send(const struct response *r, response_write_fn *out, void *ctx)
{
	char head[RESPONSE_HEAD_MAX], body[RESPONSE_BODY_MAX];
	char extra[64] = "";
	size_t blen;
	int hlen;

	blen = (size_t)snprintf(body, sizeof(body), "{\"error\":\"%s\","
	    "\"message\":\"", r->slug);
	blen = response_json_string(body, sizeof(body) - 3, blen, r->message);
	memcpy(body + blen, "\"}\n", 3);
	blen += 3;

	if (r->status == 405)
		snprintf(extra, sizeof(extra), "Allow: GET, POST\r\n");
	else if (r->retry_after > 0)
		snprintf(extra, sizeof(extra), "Retry-After: %u\r\n",
		    r->retry_after);
	hlen = snprintf(head, sizeof(head), "Status: %d %s\r\n"
	    "Content-Type: application/json\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "%s"
	    "Content-Length: %zu\r\n"
	    "\r\n", r->status, response_reason(r->status), extra, blen);
	if (hlen < 0 || (size_t)hlen >= sizeof(head))
		return (-1);
	if (out(ctx, head, (size_t)hlen) != 0 || out(ctx, body, blen) != 0)
		return (-1);
	return (0);
}

/* Is the device's content type safe to repeat as a header? */
static int
response_ctype_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > RELAY_CTYPE_MAX)
		return (0);
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return (0);
	return (1);
}

/**
 * response_send_answer(ans, out, ctx):
 * Write the broker answer ${ans}: the device's own answer for RELAY_DEVICE,
 * else the relay's error for its outcome.  Return 0 or -1.
 */
int
response_send_answer(const struct relay_answer *ans, response_write_fn *out,
    void *ctx)
{
	struct response r;
	char head[RESPONSE_HEAD_MAX];
	const char *ctype = "text/plain";
	size_t clen = 10;
	int hlen;

	if (ans->outcome != RELAY_DEVICE) {
		response_outcome(&r, ans);
		return (response_send(&r, out, ctx));
	}
	/* The broker applies the same rules (docs/protocol.md "Answer
	 * rules"); checked again here so that no agent writes our answer. */
	if (!relay_answer_passable(ans)) {
		response_local(&r, 502, "the device gave an invalid answer");
		return (response_send(&r, out, ctx));
	}
	if (response_ctype_ok(ans->ctype, ans->ctype_len)) {
		ctype = ans->ctype;
		clen = ans->ctype_len;
	}
	hlen = snprintf(head, sizeof(head), "Status: %u %s\r\n"
	    "Content-Type: %.*s\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "Content-Security-Policy: default-src 'none'; sandbox\r\n"
	    "Content-Length: %zu\r\n"
	    "\r\n", (unsigned int)ans->status, response_reason(ans->status),
	    (int)clen, ctype, ans->body_len);
	if (hlen < 0 || (size_t)hlen >= sizeof(head))
		return (-1);
	if (out(ctx, head, (size_t)hlen) != 0)
		return (-1);
	if (ans->body_len > 0 && out(ctx, ans->body, ans->body_len) != 0)
		return (-1);
	return (0);
}
