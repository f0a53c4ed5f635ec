#ifndef AWTRIX_FCGI_METRICS_H
#define AWTRIX_FCGI_METRICS_H

/*
 * The operator's two paths, when the web server routes them to this
 * program: GET /metrics passes on the broker's Prometheus text, GET
 * /healthz answers 200 if the broker answers and 503 if it does not.  And
 * the refusals this program makes itself (400, 405, 413), which the broker
 * never sees otherwise, are reported to it so that /metrics counts them for
 * every process.
 */

#include "io.h"

/**
 * metrics_init(socket):
 * Use the broker socket ${socket}; called once, before any thread starts.
 */
void metrics_init(const char *socket);

/**
 * metrics_serve(io, socket, timeout_ms):
 * If the request of ${io} is for /metrics or /healthz, answer it (asking
 * the broker at ${socket}, waiting at most ${timeout_ms}) and return 1;
 * else return 0 and leave it to the relay.  (${socket} is the one of
 * metrics_init.)
 */
int metrics_serve(struct io *io, const char *socket, int timeout_ms);

/**
 * metrics_refused(status):
 * Tell the broker that this process answered a request with ${status}
 * itself.  Never waits and never fails the request: a report that cannot
 * be sent at once is dropped.
 */
void metrics_refused(int status);

#endif
