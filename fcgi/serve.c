#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

#include "io.h"
#include "log.h"
#include "metrics.h"
#include "request.h"
#include "response.h"
#include "serve.h"
#include "upstream.h"

/**
 * serve_init(s, cfg, mux, slot):
 * Prepare ${s} to serve requests with ${cfg} through slot ${slot} of
 * ${mux}: allocate the body buffer once.  Return 0 or -1.
 */
int
serve_init(struct serve *s, const struct serve_config *cfg,
    struct mux *mux, unsigned int slot)
{
	s->cfg = *cfg;
	if ((s->body = malloc(cfg->max_body + 1)) == NULL)
		goto err0;
	if (upstream_init(&s->up, mux, slot) != 0)
		goto err1;
	return (0);

err1:
	free(s->body);
err0:
	return (-1);
}

/* Answer ${status} with ${message}; the response is all the client gets. */
static void
serve_error(struct io *io, int status, const char *message)
{
	struct response r;

	if (status == 400 || status == 405 || status == 413)
		metrics_refused(status);
	response_local(&r, status, message);
	if (response_send(&r, io_write, io) != 0)
		log_warn("%s: cannot write the response", __func__);
}

/* Read the body that the head of ${rq} announced; -1 on an I/O error. */
static long
serve_read_body(struct serve *s, struct io *io, const struct request *rq)
{
	switch (rq->body_how) {
	case REQUEST_BODY_EXACT:
		return (io_read_body(io, s->body, rq->body_len + 1, 1));
	case REQUEST_BODY_TO_EOF:
		return (io_read_body(io, s->body, s->cfg.max_body + 1, 0));
	default:
		return (0);
	}
}

/**
 * serve_request(s, io):
 * Serve the request of ${io} and write its whole response.
 */
void
serve_request(struct serve *s, struct io *io)
{
	struct request rq;
	struct request_env env;
	struct request_error err;
	struct relay_answer ans;
	char msg[200];
	long n;

	if (metrics_serve(io, s->cfg.socket, s->cfg.timeout_ms))
		return;
	env.method = io_param(io, "REQUEST_METHOD");
	env.query = io_param(io, "QUERY_STRING");
	env.authorization = io_param(io, "HTTP_AUTHORIZATION");
	env.ctype = io_param(io, "CONTENT_TYPE");
	env.content_length = io_param(io, "CONTENT_LENGTH");

	/* Client errors are the client's: the web server's log has them. */
	if (request_parse_head(&rq, &env, s->cfg.max_body, &err) != 0) {
		serve_error(io, err.status, err.message);
		goto done;
	}
	if ((n = serve_read_body(s, io, &rq)) < 0) {
		serve_error(io, 400, "cannot read the body");
		goto done;
	}
	if (request_set_body(&rq, s->body, (size_t)n, s->cfg.max_body,
	    &err) != 0) {
		serve_error(io, err.status, err.message);
		goto done;
	}

	switch (upstream_call(&s->up, rq.token, &rq.req, &ans)) {
	case UPSTREAM_ANSWER:
		if (ans.outcome == RELAY_NOT_ALLOWED) {
			/* Name the mode: a typo is the likeliest cause. */
			snprintf(msg, sizeof(msg), "the device's agent does not "
			    "allow mode=%.*s: it is not a known endpoint, or "
			    "the owner denied it (awtrix-agent --allow/--deny)",
			    (int)rq.req.mode_len, rq.req.mode);
			serve_error(io, 403, msg);
		} else if (response_send_answer(&ans, io_write, io) != 0)
			log_warn("%s: cannot write the response", __func__);
		break;
	case UPSTREAM_TIMEOUT:
		serve_error(io, 504, "no answer from the device in time");
		break;
	default:
		serve_error(io, 503, "the relay is not available; "
		    "retry later");
		break;
	}
done:
	sodium_memzero(rq.token, sizeof(rq.token));
}

/**
 * serve_free(s):
 * Free what serve_init allocated.
 */
void
serve_free(struct serve *s)
{
	upstream_free(&s->up);
	free(s->body);
	s->body = NULL;
}
