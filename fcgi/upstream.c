#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "front.h"
#include "front_client.h"
#include "log.h"
#include "upstream.h"

/* Where the token sits in a FRONT_REQUEST frame: header, type, id. */
#define UPSTREAM_TOKEN_OFF (FRONT_HEADER_LEN + 1 + 4)

/**
 * upstream_init(u, path, timeout_ms):
 * Prepare ${u} to talk to the broker at ${path}, waiting at most
 * ${timeout_ms} for each answer.  Nothing is connected yet.  Return 0 or -1.
 */
int
upstream_init(struct upstream *u, const char *path, int timeout_ms)
{
	u->path = path;
	u->timeout_ms = timeout_ms;
	u->fd = -1;
	u->next_id = randombytes_random();
	if ((u->frame = malloc(FRONT_FRAME_MAX)) == NULL)
		goto err0;
	if ((u->buf = malloc(FRONT_FRAME_MAX)) == NULL)
		goto err1;
	return (0);

err1:
	free(u->frame);
err0:
	return (-1);
}

static void
upstream_close(struct upstream *u)
{
	if (u->fd != -1) {
		close(u->fd);
		u->fd = -1;
	}
}

/* Send the frame of ${len} bytes once; the result of front_call. */
static int
upstream_try(struct upstream *u, long len, uint32_t id, struct front_msg *m,
    int *reused)
{
	*reused = u->fd != -1;
	if (u->fd == -1 && (u->fd = front_connect(u->path)) == -1) {
		log_warn("%s: cannot connect to the broker at %s: %s",
		    __func__, u->path, strerror(errno));
		return (-1);
	}
	return (front_call(u->fd, u->frame, (size_t)len, id, u->timeout_ms,
	    u->buf, FRONT_FRAME_MAX, m));
}

/**
 * upstream_call(u, token, req, ans):
 * Send ${req} for ${token} to the broker and wait for its answer, which is
 * stored in ${ans} (pointing into ${u} until the next call).  A frame that
 * could not be sent on a connection made for an earlier request (the
 * broker restarted since) is sent once more on a new connection.  Return an
 * enum upstream_result.
 */
int
upstream_call(struct upstream *u, const char token[TOKEN_LEN],
    const struct relay_request *req, struct relay_answer *ans)
{
	struct front_msg m;
	uint32_t id = u->next_id++;
	long len;
	int rc, reused, result = UPSTREAM_DOWN;

	if ((len = front_encode_request(u->frame, FRONT_FRAME_MAX, id, token,
	    req)) < 0) {
		log_error("%s: request does not fit a frame", __func__);
		return (UPSTREAM_DOWN);
	}
	rc = upstream_try(u, len, id, &m, &reused);
	if (rc == -1 && reused && errno == EPIPE) {
		/* The frame never got through whole: safe to send again. */
		upstream_close(u);
		rc = upstream_try(u, len, id, &m, &reused);
	}
	if (rc == 0 && m.type == FRONT_ANSWER) {
		*ans = m.ans;
		result = UPSTREAM_ANSWER;
	} else if (rc == 0) {
		log_error("%s: broker answered with a frame of type %u",
		    __func__, (unsigned int)m.type);
		upstream_close(u);
	} else if (rc == -2) {
		log_warn("%s: no answer from the broker within %d ms",
		    __func__, u->timeout_ms);
		upstream_close(u);
		result = UPSTREAM_TIMEOUT;
	} else if (u->fd != -1) {
		log_warn("%s: broker connection failed: %s", __func__,
		    errno == EPROTO ? "malformed frame" : strerror(errno));
		upstream_close(u);
	}
	/* The token has no business staying in memory. */
	sodium_memzero(u->frame + UPSTREAM_TOKEN_OFF, TOKEN_LEN);
	return (result);
}

/**
 * upstream_free(u):
 * Close the connection of ${u} and free its buffers.
 */
void
upstream_free(struct upstream *u)
{
	if (u == NULL)
		return;
	upstream_close(u);
	free(u->frame);
	free(u->buf);
	u->frame = u->buf = NULL;
}
