/*
 * device-agent/translate.c, included here as the unit tests do: AWTRIX 2
 * requests for an AWTRIX 3 clock.
 *
 * Input: one selector byte (mode = selector % 8 of basics, draw,
 * temporaryapp, notify, settings, power, custom, stats; bit 3: GET instead
 * of POST; bit 4: a query "x=1"), then the body (the rest).
 *
 * Invariants: no crash or out-of-bounds access (the body is an exact-sized
 * allocation); the result is PASS, REWRITTEN or REFUSED (or -1, out of
 * memory, never here); PASS leaves no body and no note; REWRITTEN names a
 * valid relay mode of AWTRIX 3, a query that is empty or "name=" and
 * [A-Za-z0-9_-], and a body that is one JSON text (json-c strict) that fits
 * RELAY_BODY_MAX, or none; REFUSED gives a JSON error body
 * {"error":"bad_request",...}; every note is printable and bounded; and the
 * same input gives the same output twice.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fuzz.h"

#include "../../device-agent/translate.c"

static int
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return (0);
	return (1);
}

static int
json_strict(const char *p, size_t len)
{
	struct json_tokener *tok;
	json_object *o;
	int ok;

	if ((tok = json_tokener_new()) == NULL)
		abort();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, p, (int)len);
	ok = o != NULL && json_tokener_get_error(tok) == json_tokener_success &&
	    json_tokener_get_parse_end(tok) == len;
	json_object_put(o);
	json_tokener_free(tok);
	return (ok);
}

static void
check_out(int rc, const struct translate_out *out)
{
	static const char *const modes[] = { "notify", "settings", "power",
	    "switch", "nextapp", "previousapp", "stats", "sound", "apps",
	    "custom", NULL };
	const char *const *m;
	size_t i;

	FUZZ_CHECK(rc == TRANSLATE_PASS || rc == TRANSLATE_REWRITTEN ||
	    rc == TRANSLATE_REFUSED);
	FUZZ_CHECK(strlen(out->note) < TRANSLATE_NOTE_MAX &&
	    printable(out->note));
	if (rc == TRANSLATE_PASS) {
		FUZZ_CHECK(out->body == NULL && out->note[0] == '\0');
		return;
	}
	if (rc == TRANSLATE_REFUSED) {
		FUZZ_CHECK(out->body != NULL && out->body_len ==
		    strlen(out->body));
		FUZZ_CHECK(strncmp(out->body, "{\"error\":\"bad_request\","
		    "\"message\":\"", 34) == 0);
		FUZZ_CHECK(json_strict(out->body, out->body_len));
		return;
	}
	for (m = modes; *m != NULL; m++)
		if (strcmp(*m, out->mode) == 0)
			break;
	FUZZ_CHECK(*m != NULL);
	FUZZ_CHECK(relay_mode_valid(out->mode, strlen(out->mode)));
	FUZZ_CHECK(out->method == RELAY_POST || out->method == RELAY_GET);
	if (out->query[0] != '\0') {
		FUZZ_CHECK(strncmp(out->query, "name=", 5) == 0 &&
		    out->query[5] != '\0');
		for (i = 5; out->query[i] != '\0'; i++)
			FUZZ_CHECK(strchr("abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-",
			    out->query[i]) != NULL);
	}
	if (out->body != NULL) {
		FUZZ_CHECK(out->body_len == strlen(out->body));
		FUZZ_CHECK(out->body_len <= RELAY_BODY_MAX);
		FUZZ_CHECK(json_strict(out->body, out->body_len));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const modes[8] = { "basics", "draw",
	    "temporaryapp", "notify", "settings", "power", "custom", "stats" };
	struct translate_out a, b;
	struct relay_request req;
	uint8_t *body;
	int rc, rc2;

	if (size < 1 || size > RELAY_BODY_MAX + 1)
		return (0);
	if ((body = malloc(size - 1 ? size - 1 : 1)) == NULL)
		abort();
	memcpy(body, data + 1, size - 1);
	memset(&req, 0, sizeof(req));
	req.mode = modes[data[0] % 8];
	req.mode_len = strlen(req.mode);
	req.method = (data[0] & 8) ? RELAY_GET : RELAY_POST;
	req.query = (data[0] & 16) ? "x=1" : "";
	req.query_len = strlen(req.query);
	req.ctype = "application/json";
	req.ctype_len = 16;
	req.body = body;
	req.body_len = size - 1;
	rc = translate_awtrix2(&req, &a);
	check_out(rc, &a);
	rc2 = translate_awtrix2(&req, &b);
	FUZZ_CHECK(rc == rc2 && strcmp(a.note, b.note) == 0 &&
	    strcmp(a.mode, b.mode) == 0 && strcmp(a.query, b.query) == 0 &&
	    a.body_len == b.body_len &&
	    (a.body == NULL) == (b.body == NULL) &&
	    (a.body == NULL || memcmp(a.body, b.body, a.body_len) == 0));
	translate_out_free(&a);
	translate_out_free(&b);
	free(body);
	return (0);
}
