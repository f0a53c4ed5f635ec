#include <stdio.h>
#include <string.h>

#include "modes.h"

/* AWTRIX 3 routes registered for HTTP_POST only. */
static const char *const modes_post_only[] = {
	"notify", "custom", "previousapp", "switch", "power", "sleep",
	"moodlight", "indicator1", "indicator2", "indicator3", "sound",
	"rtttl", "r2d2", "reorder", "doupdate", NULL
};

/* AWTRIX 3 routes registered for HTTP_GET only. */
static const char *const modes_get_only[] = {
	"stats", "screen", "loop", "effects", "transitions", NULL
};

/* Routes whose body is not JSON (or may be a bare word). */
static const char *const modes_text_body[] = {
	"rtttl", "r2d2", "sound", "power", NULL
};

static int
modes_in(const char *const *list, const char *mode, size_t len)
{
	for (; *list != NULL; list++)
		if (strlen(*list) == len && memcmp(*list, mode, len) == 0)
			return (1);
	return (0);
}

static int
modes_has_prefix(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return (len >= n && strncmp(s, prefix, n) == 0);
}

/* Whether the body's first non-blank byte opens JSON. */
static int
modes_body_json(const struct relay_request *req)
{
	size_t i;

	for (i = 0; i < req->body_len; i++) {
		if (strchr(" \t\r\n", req->body[i]) != NULL)
			continue;
		return (req->body[i] == '{' || req->body[i] == '[');
	}
	return (1);	/* empty: nothing to misread */
}

size_t
modes_refuse(int awtrix2, const struct relay_request *req,
    char *buf, size_t cap, int *status)
{
	const char *want = NULL;
	int n;

	/* Every documented AWTRIX 2 call is a POST. */
	if (req->method == RELAY_GET && (awtrix2 ||
	    modes_in(modes_post_only, req->mode, req->mode_len)))
		want = "POST";
	else if (!awtrix2 && req->method == RELAY_POST &&
	    modes_in(modes_get_only, req->mode, req->mode_len))
		want = "GET";
	if (want != NULL) {
		*status = 405;
		n = snprintf(buf, cap, "{\"error\":\"method_not_allowed\","
		    "\"message\":\"mode=%.*s takes %s, this request was a "
		    "%s\"}", (int)req->mode_len, req->mode, want,
		    req->method == RELAY_GET ? "GET" : "POST");
		return (n > 0 && (size_t)n < cap ? (size_t)n : 0);
	}
	if ((modes_has_prefix(req->ctype, req->ctype_len,
	    "application/x-www-form-urlencoded") ||
	    modes_has_prefix(req->ctype, req->ctype_len, "multipart/")) &&
	    !modes_body_json(req) &&
	    !modes_in(modes_text_body, req->mode, req->mode_len)) {
		*status = 400;
		n = snprintf(buf, cap, "{\"error\":\"bad_request\",\"message\":"
		    "\"the body is form-encoded, and the clock reads JSON: "
		    "send a JSON body with Content-Type application/json "
		    "(in IFTTT: Content Type application/json)\"}");
		return (n > 0 && (size_t)n < cap ? (size_t)n : 0);
	}
	return (0);
}
