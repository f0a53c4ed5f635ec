/*
 * /metrics, /healthz and the report of local refusals.  They use a broker
 * connection of their own, apart from the relay's (upstream.c), so that
 * neither can disturb the other: opened when first needed, kept, and
 * dropped after any error.  Nothing here writes a token, a query string or
 * an address anywhere: the path is compared, never logged.  The worker
 * threads of pool.c share that connection and its buffer: metrics_lock
 * serialises them (a scrape or a refusal is rare; requests never wait on
 * it).
 */
#include <sys/socket.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "front.h"
#include "front_client.h"
#include "log.h"
#include "metrics.h"

#define METRICS_HEALTH_MS 2000	/* /healthz: a broker slower than this is down */

static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *metrics_socket;	/* set by metrics_init, then read-only */
/* Under metrics_lock: */
static int metrics_fd = -1;
static uint32_t metrics_id;
static uint8_t metrics_buf[FRONT_FRAME_MAX];

static void
metrics_close(void)
{
	if (metrics_fd != -1) {
		close(metrics_fd);
		metrics_fd = -1;
	}
}

static int
metrics_connect(void)
{
	if (metrics_fd == -1 && metrics_socket != NULL)
		metrics_fd = front_connect(metrics_socket);
	return (metrics_fd);
}

/**
 * metrics_init(socket):
 * Use the broker socket ${socket}; called once, before any thread starts.
 */
void
metrics_init(const char *socket)
{
	metrics_socket = socket;
}

/* Send ${frame} and wait for the answer of the same id: 0 or -1. */
static int
metrics_call(const uint8_t *frame, size_t len, uint32_t id, int timeout_ms,
    struct front_msg *m)
{
	int i;

	/* A kept connection may have died with a broker restart: retry once
	 * on a new one. */
	for (i = 0; i < 2; i++) {
		if (metrics_connect() == -1)
			return (-1);
		if (front_call(metrics_fd, frame, len, id, timeout_ms,
		    metrics_buf, sizeof(metrics_buf), m) == 0)
			return (0);
		metrics_close();
		if (errno != EPIPE)
			break;
	}
	return (-1);
}

/* Which of our two paths ${io} asks for: "/metrics", "/healthz" or NULL.
 * SCRIPT_NAME is the decoded path under lighttpd and mod_fcgid; behind
 * mod_proxy_fcgi it is not, so the path of REQUEST_URI decides there. */
static const char *
metrics_path(const struct io *io)
{
	static const char *const paths[] = { "/metrics", "/healthz" };
	const char *v;
	size_t i, n;

	for (i = 0; i < 2; i++) {
		if ((v = io_param(io, "SCRIPT_NAME")) != NULL &&
		    strcmp(v, paths[i]) == 0)
			return (paths[i]);
		n = strlen(paths[i]);
		if ((v = io_param(io, "REQUEST_URI")) != NULL &&
		    strncmp(v, paths[i], n) == 0 &&
		    (v[n] == '\0' || v[n] == '?'))
			return (paths[i]);
	}
	return (NULL);
}

/* Write a whole plain-text answer; HEAD gets the headers only. */
static void
metrics_reply(struct io *io, int head, const char *status, const char *ctype,
    const char *extra, const char *body, size_t len)
{
	char h[256];
	int n;

	n = snprintf(h, sizeof(h), "Status: %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nCache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n%s\r\n", status, ctype, len,
	    extra);
	if (n < 0 || (size_t)n >= sizeof(h) || io_write(io, h, (size_t)n) ||
	    (!head && len > 0 && io_write(io, body, len)))
		log_warn_ev("http.write_failed", "%s: cannot write the response",
		    __func__);
}

#define METRICS_TEXT "text/plain; charset=utf-8"

/**
 * metrics_serve(io, socket, timeout_ms):
 * If the request of ${io} is for /metrics or /healthz, answer it (asking
 * the broker at ${socket}, waiting at most ${timeout_ms}) and return 1;
 * else return 0 and leave it to the relay.  (${socket} is the one of
 * metrics_init.)
 */
int
metrics_serve(struct io *io, const char *socket, int timeout_ms)
{
	struct front_msg m;
	uint8_t frame[16];
	const char *path, *method;
	uint32_t id;
	long n;
	int head, health;

	(void)socket;
	if ((path = metrics_path(io)) == NULL)
		return (0);
	health = path[1] == 'h';
	method = io_param(io, "REQUEST_METHOD");
	head = method != NULL && strcmp(method, "HEAD") == 0;
	if (method == NULL || (!head && strcmp(method, "GET") != 0)) {
		metrics_reply(io, 0, "405 Method Not Allowed", METRICS_TEXT,
		    "Allow: GET, HEAD\r\n", "only GET and HEAD\n", 18);
		return (1);
	}
	pthread_mutex_lock(&metrics_lock);
	id = ++metrics_id;
	n = health ? front_encode_stats(frame, sizeof(frame), id) :
	    front_encode_metrics(frame, sizeof(frame), id);
	if (health && timeout_ms > METRICS_HEALTH_MS)
		timeout_ms = METRICS_HEALTH_MS;
	if (n < 0 || metrics_call(frame, (size_t)n, id, timeout_ms, &m) ||
	    m.type != (health ? FRONT_STATS_ANSWER : FRONT_METRICS_ANSWER)) {
		if (!health)
			log_warn_ev("metrics.broker_unreachable",
			    "%s: no metrics from the broker", __func__);
		metrics_close();
		pthread_mutex_unlock(&metrics_lock);
		metrics_reply(io, head, "503 Service Unavailable", METRICS_TEXT,
		    "Retry-After: 5\r\n", "broker unreachable\n", 19);
		return (1);
	}
	if (health)
		metrics_reply(io, head, "200 OK", METRICS_TEXT, "", "ok\n", 3);
	else
		metrics_reply(io, head, "200 OK",
		    "text/plain; version=0.0.4; charset=utf-8", "", m.text,
		    m.text_len);
	pthread_mutex_unlock(&metrics_lock);	/* m.text is metrics_buf */
	return (1);
}

/**
 * metrics_refused(status):
 * Tell the broker that this process answered a request with ${status}
 * itself.  Never waits and never fails the request: a report that cannot
 * be sent at once is dropped.
 */
void
metrics_refused(int status)
{
	uint8_t frame[16];
	long n;
	int i;

	if (status < 0 || status > 65535)
		return;
	pthread_mutex_lock(&metrics_lock);
	if ((n = front_encode_refused(frame, sizeof(frame), ++metrics_id,
	    (uint16_t)status)) < 0)
		goto out;
	for (i = 0; i < 2; i++) {
		if (metrics_connect() == -1)
			goto out;
		if (send(metrics_fd, frame, (size_t)n,
		    MSG_DONTWAIT | MSG_NOSIGNAL) == n)
			goto out;
		/* A short or failed send leaves the stream unusable. */
		metrics_close();
		if (errno != EPIPE && errno != ECONNRESET)
			goto out;
	}
out:
	pthread_mutex_unlock(&metrics_lock);
}
