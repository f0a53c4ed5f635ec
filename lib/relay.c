#include <string.h>

#include "relay.h"

int
relay_mode_valid(const char *mode, size_t len)
{
	size_t i;
	unsigned char c;

	if (mode == NULL || len < 1 || len > RELAY_MODE_MAX)
		return (0);
	if (mode[0] == '/' || mode[len - 1] == '/')
		return (0);
	for (i = 0; i < len; i++) {
		c = (unsigned char)mode[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '/'))
			return (0);
		if (i > 0 && c == '/' && mode[i - 1] == '/')
			return (0);
	}
	/* Only '.' could make "..", and it is not in the alphabet. */
	return (1);
}

void
relay_request_put(struct wire_writer *w, const struct relay_request *req)
{
	/* Lengths that do not fit their field must not be truncated, and
	 * nothing is copied from a length beyond its limit. */
	if (req->mode_len > RELAY_MODE_MAX || req->query_len > RELAY_QUERY_MAX ||
	    req->ctype_len > RELAY_CTYPE_MAX || req->body_len > RELAY_BODY_MAX) {
		w->bad = 1;
		return;
	}
	wire_put_u8(w, req->method);
	wire_put_u8(w, (uint8_t)req->mode_len);
	wire_put_bytes(w, req->mode, req->mode_len);
	wire_put_u16(w, (uint16_t)req->query_len);
	wire_put_bytes(w, req->query, req->query_len);
	wire_put_u8(w, (uint8_t)req->ctype_len);
	wire_put_bytes(w, req->ctype, req->ctype_len);
	wire_put_u32(w, (uint32_t)req->body_len);
	wire_put_bytes(w, req->body, req->body_len);
}

static int
printable(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return (0);
	return (1);
}

int
relay_request_get(struct wire_reader *r, struct relay_request *req)
{
	memset(req, 0, sizeof(*req));
	req->method = wire_get_u8(r);
	req->mode_len = wire_get_u8(r);
	req->mode = (const char *)wire_get_bytes(r, req->mode_len);
	req->query_len = wire_get_u16(r);
	req->query = (const char *)wire_get_bytes(r, req->query_len);
	req->ctype_len = wire_get_u8(r);
	req->ctype = (const char *)wire_get_bytes(r, req->ctype_len);
	req->body_len = wire_get_u32(r);
	if (req->body_len > RELAY_BODY_MAX)
		return (-1);
	req->body = wire_get_bytes(r, req->body_len);
	if (r->bad)
		return (-1);
	if (req->method != RELAY_GET && req->method != RELAY_POST)
		return (-1);
	if (!relay_mode_valid(req->mode, req->mode_len))
		return (-1);
	if (req->query_len > RELAY_QUERY_MAX ||
	    !printable(req->query, req->query_len))
		return (-1);
	if (req->ctype_len > RELAY_CTYPE_MAX ||
	    !printable(req->ctype, req->ctype_len))
		return (-1);
	return (0);
}

void
relay_answer_put(struct wire_writer *w, const struct relay_answer *ans)
{
	if (ans->ctype_len > RELAY_CTYPE_MAX || ans->body_len > RELAY_BODY_MAX) {
		w->bad = 1;
		return;
	}
	wire_put_u8(w, ans->outcome);
	wire_put_u16(w, ans->status);
	wire_put_u16(w, ans->retry_after);
	wire_put_u8(w, (uint8_t)ans->ctype_len);
	wire_put_bytes(w, ans->ctype, ans->ctype_len);
	wire_put_u32(w, (uint32_t)ans->body_len);
	wire_put_bytes(w, ans->body, ans->body_len);
}

int
relay_answer_get(struct wire_reader *r, struct relay_answer *ans)
{
	memset(ans, 0, sizeof(*ans));
	ans->outcome = wire_get_u8(r);
	ans->status = wire_get_u16(r);
	ans->retry_after = wire_get_u16(r);
	ans->ctype_len = wire_get_u8(r);
	ans->ctype = (const char *)wire_get_bytes(r, ans->ctype_len);
	ans->body_len = wire_get_u32(r);
	if (ans->body_len > RELAY_BODY_MAX)
		return (-1);
	ans->body = wire_get_bytes(r, ans->body_len);
	if (r->bad || ans->outcome >= RELAY_OUTCOME_COUNT)
		return (-1);
	/* The status and content type are judged by relay_answer_passable:
	 * an answer that is well formed but not acceptable fails only its
	 * own request, not the whole link it came on. */
	if (ans->ctype_len > RELAY_CTYPE_MAX)
		return (-1);
	return (0);
}

/* ASCII case-insensitive: does ${s} (${len} bytes) start with ${pre}? */
static int
starts_with_ci(const char *s, size_t len, const char *pre)
{
	size_t i, n = strlen(pre);
	unsigned char c;

	if (len < n)
		return (0);
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (c != (unsigned char)pre[i])
			return (0);
	}
	return (1);
}

int
relay_ctype_passable(const char *ctype, size_t len)
{
	static const char *const types[] = { "application/json",
	    "text/plain" };
	size_t i, n;

	/* No Content-Type at all is passed on as text/plain. */
	if (len == 0)
		return (1);
	if (ctype == NULL || len > RELAY_CTYPE_MAX || !printable(ctype, len))
		return (0);
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		n = strlen(types[i]);
		if (!starts_with_ci(ctype, len, types[i]))
			continue;
		/* Exactly the type, or the type and its parameters. */
		while (n < len && (ctype[n] == ' ' || ctype[n] == '\t'))
			n++;
		if (n == len || ctype[n] == ';')
			return (1);
	}
	return (0);
}

int
relay_answer_passable(const struct relay_answer *ans)
{
	switch (ans->outcome) {
	case RELAY_DEVICE:
		return (ans->status >= 200 && ans->status <= 599 &&
		    relay_ctype_passable(ans->ctype, ans->ctype_len));
	case RELAY_RATE_LIMITED:	/* the agent's queue is full */
	case RELAY_NOT_ALLOWED:
	case RELAY_UNREACHABLE:
	case RELAY_TIMEOUT:
	case RELAY_BAD_REQUEST:
		return (1);
	default:
		/* Offline, overloaded: only the relay may say so. */
		return (0);
	}
}

const char *
relay_outcome_name(int outcome)
{
	static const char *const names[RELAY_OUTCOME_COUNT] = {
		"ok", "device_offline", "rate_limited", "mode_not_allowed",
		"device_unreachable", "device_timeout", "relay_unavailable",
		"bad_request"
	};

	if (outcome < 0 || outcome >= RELAY_OUTCOME_COUNT)
		return ("unknown");
	return (names[outcome]);
}
