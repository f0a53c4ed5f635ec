#include <stdlib.h>

#include <sodium.h>

#include "front.h"
#include "log.h"
#include "mux.h"
#include "upstream.h"

/* Where the token sits in a FRONT_REQUEST frame: header, type, id. */
#define UPSTREAM_TOKEN_OFF (FRONT_HEADER_LEN + 1 + 4)

/**
 * upstream_init(u, mux, slot):
 * Prepare ${u} to send requests through slot ${slot} of ${mux}, which only
 * this thread uses.  Return 0 or -1.
 */
int
upstream_init(struct upstream *u, struct mux *mux, unsigned int slot)
{
	u->mux = mux;
	u->slot = slot;
	if ((u->frame = malloc(FRONT_FRAME_MAX)) == NULL)
		return (-1);
	return (0);
}

/**
 * upstream_call(u, token, req, ans):
 * Send ${req} for ${token} to the broker and wait for its answer, which is
 * stored in ${ans} (pointing into ${u}'s slot until the next call).  Return
 * an enum upstream_result.
 */
int
upstream_call(struct upstream *u, const char token[TOKEN_LEN],
    const struct relay_request *req, struct relay_answer *ans)
{
	struct front_msg m;
	uint32_t id = mux_next_id(u->mux, u->slot);
	long len;
	int rc, result = UPSTREAM_DOWN;

	if ((len = front_encode_request(u->frame, FRONT_FRAME_MAX, id, token,
	    req)) < 0) {
		log_error("%s: request does not fit a frame", __func__);
		return (UPSTREAM_DOWN);
	}
	rc = mux_call(u->mux, u->slot, u->frame, (size_t)len, id, &m);
	if (rc == MUX_ANSWER && m.type == FRONT_ANSWER) {
		*ans = m.ans;
		result = UPSTREAM_ANSWER;
	} else if (rc == MUX_ANSWER) {
		log_error("%s: broker answered with a frame of type %u",
		    __func__, (unsigned int)m.type);
	} else if (rc == MUX_TIMEOUT)
		result = UPSTREAM_TIMEOUT;
	/* The token has no business staying in memory. */
	sodium_memzero(u->frame + UPSTREAM_TOKEN_OFF, TOKEN_LEN);
	return (result);
}

/**
 * upstream_free(u):
 * Free the buffer of ${u}.
 */
void
upstream_free(struct upstream *u)
{
	if (u == NULL)
		return;
	free(u->frame);
	u->frame = NULL;
}
