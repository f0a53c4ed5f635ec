#ifndef AGENT_TRANSLATE_H
#define AGENT_TRANSLATE_H

/*
 * AWTRIX 2 requests for an AWTRIX 3 clock (docs/http-api.md, "Applets
 * written for AWTRIX 2"): the modes basics, draw and temporaryapp, and the
 * bodies of settings and notify that carry AWTRIX 2 keys, become the
 * AWTRIX 3 call that does the same (awtrix-api.md 3.4).  What AWTRIX 3
 * cannot do is either dropped, and named in the answer (translate_note),
 * or the whole request is refused with 400 naming the key: never a
 * silent half-command.  Everything else passes through untouched.
 */

#include <stddef.h>
#include <stdint.h>

#include "relay.h"

#define TRANSLATE_QUERY_MAX 96
#define TRANSLATE_NOTE_MAX 200
#define TRANSLATE_DEPTH 32		/* json-c nesting limit */
#define TRANSLATE_LOOP_S 60		/* one AWTRIX 2 app loop, in seconds */

enum translate_result {
	TRANSLATE_PASS = 0,		/* send the request as it is */
	TRANSLATE_REWRITTEN,		/* send ${out} instead */
	TRANSLATE_REFUSED		/* answer 400; ${out->note} says why */
};

struct translate_out {
	uint8_t method;				/* RELAY_GET or RELAY_POST */
	char mode[RELAY_MODE_MAX + 1];
	char query[TRANSLATE_QUERY_MAX];	/* e.g. "name=NAME" or "" */
	char *body;				/* malloc'd JSON, or NULL */
	size_t body_len;
	char note[TRANSLATE_NOTE_MAX];		/* dropped keys, or refusal */
};

/**
 * translate_awtrix2(req, out):
 * Translate the AWTRIX 2 request ${req} for an AWTRIX 3 clock into ${out}
 * (which the caller frees with translate_out_free in every case).  Return
 * TRANSLATE_PASS, TRANSLATE_REWRITTEN (${out->note} lists the dropped keys,
 * comma-separated, or is empty), TRANSLATE_REFUSED (${out->note} is the
 * reason, naming the key, and ${out->body} the JSON error body
 * {"error":"bad_request","message":...}), or -1 if memory ran out.
 */
int translate_awtrix2(const struct relay_request *req,
    struct translate_out *out);

/**
 * translate_out_free(out):
 * Free what ${out} holds and clear it.
 */
void translate_out_free(struct translate_out *out);

/**
 * translate_generation(target):
 * The AWTRIX generation that the --target URL prefix ${target} suggests:
 * 2 if it ends in "/api/v3/" (the AWTRIX 2 host), else 3.
 */
int translate_generation(const char *target);

#endif
