#define _GNU_SOURCE
/*
 * awtrix-agent's loop: one link to the broker (reconnected for ever with
 * exponential backoff and full jitter), one control socket for awtrix-token,
 * and the device calls, all driven by curl_multi_poll with our sockets as
 * extra descriptors.  Single-threaded; this function's frame owns the state.
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "agent.h"
#include "brokers.h"
#include "control.h"
#include "link_client.h"
#include "linkmsg.h"
#include "log.h"
#include "net.h"
#include "state.h"

#define BACKOFF_BASE_MS 1000
#define BACKOFF_MAX_MS 60000
#define CONTROL_WAIT_MS 10000

static volatile sig_atomic_t agent_stop;

struct agentd {
	const struct agent_config *cfg;
	struct agent_state st;
	struct broker_list brokers;
	CURLM *multi;
	struct device *dev;
	int connected;
	struct link link;
	uint64_t now_ms, last_rx_ms, last_tx_ms;
	uint64_t connected_ms;
	unsigned attempt;
	uint64_t next_connect_ms;
	int ctl_fd;
	int waiter;			/* control client awaiting LM_ROTATED */
	uint64_t waiter_deadline_ms;
	char old_token[TOKEN_LEN + 1];	/* restored if a rotation is refused */
	uint8_t msg[LINK_PLAIN_MAX];
};

static void
on_signal(int sig)
{
	(void)sig;
	agent_stop = 1;
}

uint64_t
agent_backoff_ms(unsigned attempt, double random)
{
	uint64_t cap = BACKOFF_BASE_MS;

	while (attempt-- > 0 && cap < BACKOFF_MAX_MS)
		cap *= 2;
	if (cap > BACKOFF_MAX_MS)
		cap = BACKOFF_MAX_MS;
	return ((uint64_t)(random * (double)cap));
}

static void
waiter_reply(struct agentd *d, const char *line)
{
	if (d->waiter < 0)
		return;
	(void)send(d->waiter, line, strlen(line), MSG_NOSIGNAL);
	(void)send(d->waiter, "\n", 1, MSG_NOSIGNAL);
	close(d->waiter);
	d->waiter = -1;
}

static void
agent_disconnect(struct agentd *d, const char *why)
{
	if (!d->connected)
		return;
	log_warn_ev("link.disconnected", "disconnected from the broker %s: %s",
	    brokers_current(&d->brokers), why);
	link_close(&d->link);
	d->connected = 0;
	device_forget(d->dev);
	waiter_reply(d, "offline");
	/* That broker may be gone: start with the next one. */
	(void)brokers_next(&d->brokers);
	/* A session that lasted resets the backoff. */
	if (d->now_ms - d->connected_ms > BACKOFF_MAX_MS)
		d->attempt = 0;
	d->next_connect_ms = d->now_ms + agent_backoff_ms(d->attempt++,
	    randombytes_uniform(1000000) / 1e6);
}

static int
agent_send(struct agentd *d, const uint8_t *msg, size_t len)
{
	if (!d->connected)
		return (-1);
	if (link_send(&d->link, msg, len) < 0) {
		agent_disconnect(d, d->link.error);
		return (-1);
	}
	d->last_tx_ms = d->now_ms;
	return (0);
}

/* device.c's callback: the answer to request ${id} goes to the broker. */
static void
agent_on_answer(void *ctx, uint32_t id, const struct relay_answer *ans)
{
	struct agentd *d = ctx;
	long n;

	n = linkmsg_encode_answer(d->msg, sizeof(d->msg), id, ans);
	if (n < 0) {
		log_error_ev("link.encode_failed", "%s: cannot encode an answer", __func__);
		return;
	}
	(void)agent_send(d, d->msg, (size_t)n);
}

/* Tell the broker how the clock is (LM_CLOCK), so that it answers 502 at
 * once while the clock does not answer.  Nothing while unknown: the broker
 * assumes a clock is there, as it does for agents that never say. */
static void
agent_send_clock(struct agentd *d)
{
	char version[DEVICE_VERSION_MAX + 1];
	long n;
	int clock;

	clock = device_clock(d->dev, version, sizeof(version));
	if (clock == DEVICE_CLOCK_UNKNOWN || !d->connected || d->cfg->no_clock)
		return;
	n = linkmsg_encode_clock(d->msg, sizeof(d->msg),
	    clock == DEVICE_CLOCK_UP, version);
	if (n < 0) {
		log_error_ev("link.encode_failed", "%s: cannot encode the clock's health", __func__);
		return;
	}
	(void)agent_send(d, d->msg, (size_t)n);
}

/* device.c's health callback. */
static void
agent_on_health(void *ctx, int clock, const char *version)
{
	(void)clock;
	(void)version;
	agent_send_clock(ctx);
}

static void
agent_connect(struct agentd *d)
{
	char url[LINKMSG_URL_MAX + 1], stored[LINKMSG_URL_MAX + 2];
	const char *why;
	int result;

	if (link_client_connect(&d->link, brokers_current(&d->brokers),
	    d->cfg->broker_pk, &d->st.key, d->st.token, d->cfg->handshake_ms,
	    &result, url, sizeof(url), &why)) {
		log_warn_ev("link.connect_failed", "broker %s: %s", brokers_current(&d->brokers), why);
		goto next;
	}
	if (result != LM_OK) {
		log_error_ev("registration.refused", "registration at %s %s%s",
		    brokers_current(&d->brokers),
		    linkmsg_result_text(result),
		    (result == LM_REFUSED_REVOKED || result == LM_REFUSED_BOUND)
		    ? "; make a new token with `awtrix-token regenerate`" : "");
		link_close(&d->link);
		/* That broker cannot take us; another one may. */
		if (result == LM_REFUSED_CLUSTER || result == LM_REFUSED_FULL)
			goto next;
		goto retry;
	}
	d->connected = 1;
	d->connected_ms = d->last_rx_ms = d->last_tx_ms = d->now_ms;
	log_info_ev("registration.ok", "connected to the broker %s; device registered",
	    brokers_current(&d->brokers));
	agent_send_clock(d);
	/* Never stored or logged as is: it is printed by awtrix-token. */
	if (url[0] != '\0' && !state_url_valid(url, strlen(url)))
		log_warn_ev("state.url_refused", "the broker told a public URL "
		    "that is not printable ASCII, https:// (http:// only for a "
		    "loopback host) and at most %d bytes: refused, not stored",
		    LINKMSG_URL_MAX);
	else if (url[0] != '\0' && (state_url_read(d->st.dir, stored,
	    sizeof(stored)) || strcmp(stored, url) != 0) &&
	    state_url_write(d->st.dir, url, strlen(url)))
		log_warn_ev("state.url_write_failed", "cannot store the public URL in %s", d->st.dir);
	return;
next:
	/* Try the next broker at once; back off after a whole round. */
	if (!brokers_next(&d->brokers)) {
		d->next_connect_ms = net_now_ms();
		return;
	}
retry:
	d->next_connect_ms = net_now_ms() + agent_backoff_ms(d->attempt++,
	    randombytes_uniform(1000000) / 1e6);
}

static void
agent_rotated(struct agentd *d, int result)
{
	if (result == LM_OK) {
		log_info_ev("token.rotated", "token rotated; the old token is revoked");
		waiter_reply(d, "rotated");
		return;
	}
	log_error_ev("rotation.refused", "rotation %s", linkmsg_result_text(result));
	/* Keep the token the broker still routes. */
	if (d->old_token[0] != '\0') {
		memcpy(d->st.token, d->old_token, sizeof(d->st.token));
		if (state_token_write(d->st.dir, d->st.token))
			log_error_ev("state.token_restore_failed", "cannot restore the token file: %s",
			    strerror(errno));
	}
	if (d->waiter >= 0) {
		char line[CONTROL_LINE_MAX];

		snprintf(line, sizeof(line), "%s", linkmsg_result_text(result));
		waiter_reply(d, line);
	}
}

static void
agent_link_input(struct agentd *d)
{
	const uint8_t *p;
	struct linkmsg m;
	size_t len;
	long n;
	int rc;

	for (;;) {
		rc = link_recv(&d->link, &p, &len);
		if (rc == 0)
			return;
		if (rc < 0) {
			agent_disconnect(d, d->link.error);
			return;
		}
		d->last_rx_ms = d->now_ms;
		if (linkmsg_decode(p, len, &m)) {
			agent_disconnect(d, "malformed message from the broker");
			return;
		}
		switch (m.type) {
		case LM_PING:
			n = linkmsg_encode_empty(d->msg, sizeof(d->msg), LM_PONG);
			if (agent_send(d, d->msg, (size_t)n))
				return;
			break;
		case LM_PONG:
			break;
		case LM_REQUEST:
			device_submit(d->dev, m.id, d->now_ms + m.deadline_ms,
			    d->now_ms, &m.req);
			break;
		case LM_ROTATED:
			agent_rotated(d, m.result);
			break;
		default:
			agent_disconnect(d, "unexpected message from the broker");
			return;
		}
		if (!d->connected)
			return;
	}
}

static void
control_regenerate(struct agentd *d, int fd)
{
	char token[TOKEN_LEN + 1];
	long n;

	if (d->waiter >= 0) {
		(void)send(fd, "busy\n", 5, MSG_NOSIGNAL);
		close(fd);
		return;
	}
	token_generate(token);
	/* The file first: if we crash after the broker commits, the next
	 * registration with this token completes the rotation. */
	if (state_token_write(d->st.dir, token)) {
		log_error_ev("state.token_write_failed", "cannot write the token file: %s", strerror(errno));
		(void)send(fd, "error cannot write the token file\n", 34,
		    MSG_NOSIGNAL);
		close(fd);
		return;
	}
	memcpy(d->old_token, d->st.token, sizeof(d->old_token));
	memcpy(d->st.token, token, sizeof(token));
	sodium_memzero(token, sizeof(token));
	d->waiter = fd;
	d->waiter_deadline_ms = d->now_ms + CONTROL_WAIT_MS;
	if (!d->connected) {
		d->old_token[0] = '\0';
		log_info_ev("token.regenerated_offline", "token regenerated while offline; the rotation "
		    "completes at the next connection");
		/* The owner just acted: try now rather than after backoff. */
		d->attempt = 0;
		d->next_connect_ms = d->now_ms;
		waiter_reply(d, "offline");
		return;
	}
	n = linkmsg_encode_register(d->msg, sizeof(d->msg), LM_ROTATE,
	    d->st.token);
	(void)agent_send(d, d->msg, (size_t)n);
}

static void
control_accept(struct agentd *d)
{
	char line[CONTROL_LINE_MAX];
	struct pollfd pfd;
	ssize_t n;
	int fd;

	fd = accept4(d->ctl_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (!control_peer_allowed(fd)) {
		log_warn_ev("control.peer_refused", "control: connection from another user refused");
		close(fd);
		return;
	}
	/* awtrix-token writes its line at once; do not wait for a slow one. */
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 1000) != 1 ||
	    (n = read(fd, line, sizeof(line) - 1)) <= 0) {
		close(fd);
		return;
	}
	line[n] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	if (strcmp(line, "status") == 0) {
		const char *s = d->connected ? "connected\n" : "disconnected\n";
		(void)send(fd, s, strlen(s), MSG_NOSIGNAL);
		close(fd);
	} else if (strcmp(line, "clock") == 0) {
		char version[DEVICE_VERSION_MAX + 1], reply[CONTROL_LINE_MAX];
		int clock = device_clock(d->dev, version, sizeof(version));

		snprintf(reply, sizeof(reply), "%s%s%s\n",
		    clock == DEVICE_CLOCK_UP ? "reachable" :
		    clock == DEVICE_CLOCK_DOWN ? "unreachable" : "unknown",
		    version[0] ? " " : "", version);
		(void)send(fd, reply, strlen(reply), MSG_NOSIGNAL);
		close(fd);
	} else if (strcmp(line, "regenerate") == 0)
		control_regenerate(d, fd);
	else {
		(void)send(fd, "error unknown command\n", 22, MSG_NOSIGNAL);
		close(fd);
	}
}

static void
agent_timers(struct agentd *d)
{
	long n;

	if (d->waiter >= 0 && d->now_ms >= d->waiter_deadline_ms)
		waiter_reply(d, "offline");
	if (!d->connected) {
		if (d->now_ms >= d->next_connect_ms && !agent_stop)
			agent_connect(d);
		return;
	}
	if (d->now_ms - d->last_rx_ms >= (uint64_t)d->cfg->dead_s * 1000) {
		agent_disconnect(d, "no heartbeat from the broker");
		return;
	}
	if (d->now_ms - d->last_tx_ms >= (uint64_t)d->cfg->ping_s * 1000) {
		n = linkmsg_encode_empty(d->msg, sizeof(d->msg), LM_PING);
		(void)agent_send(d, d->msg, (size_t)n);
	}
}

static int
agent_poll_timeout(const struct agentd *d)
{
	uint64_t next = d->now_ms + 1000;

	if (!d->connected && d->next_connect_ms < next)
		next = d->next_connect_ms;
	return (next > d->now_ms ? (int)(next - d->now_ms) : 0);
}

int
agent_run(const struct agent_config *cfg)
{
	struct curl_waitfd extra[2];
	struct sigaction sa;
	struct agentd *d;
	char err[512];
	unsigned n;
	int running, rc = 1;

	if ((d = calloc(1, sizeof(*d))) == NULL) {
		log_error_ev("start.out_of_memory", "out of memory");
		return (1);
	}
	d->cfg = cfg;
	d->ctl_fd = d->waiter = -1;
	d->link.fd = -1;
	d->st.lock_fd = -1;
	if (brokers_parse(&d->brokers, cfg->broker)) {
		log_error_ev("start.failed", "--broker: expected HOST:PORT[,HOST:PORT...]");
		goto out;
	}
	if (state_open(cfg->state_dir, &d->st, err, sizeof(err))) {
		log_error_ev("start.failed", "%s", err);
		goto out;
	}
	if ((d->ctl_fd = control_listen(cfg->state_dir)) < 0) {
		log_error_ev("start.control_socket_failed", "cannot create the control socket in %s: %s",
		    cfg->state_dir, strerror(errno));
		goto out;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (d->multi = curl_multi_init()) == NULL ||
	    (d->dev = device_new(&cfg->device, d->multi, agent_on_answer,
	    d)) == NULL) {
		log_error_ev("start.curl_failed", "cannot set up libcurl");
		goto out;
	}
	device_set_health(d->dev, agent_on_health);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	log_info_ev("start.started", "started; state in %s", cfg->state_dir);
	while (!agent_stop) {
		d->now_ms = net_now_ms();
		agent_timers(d);
		n = 0;
		extra[n].fd = d->ctl_fd;
		extra[n].events = CURL_WAIT_POLLIN;
		extra[n++].revents = 0;
		if (d->connected) {
			extra[n].fd = d->link.fd;
			extra[n].events = CURL_WAIT_POLLIN |
			    (link_pending_out(&d->link) ? CURL_WAIT_POLLOUT : 0);
			extra[n++].revents = 0;
		}
		if (curl_multi_poll(d->multi, extra, n, agent_poll_timeout(d),
		    NULL) != CURLM_OK) {
			log_error_ev("loop.poll_failed", "curl_multi_poll failed");
			goto out;
		}
		d->now_ms = net_now_ms();
		if (extra[0].revents)
			control_accept(d);
		if (d->connected && n > 1 && extra[1].revents) {
			if ((extra[1].revents & CURL_WAIT_POLLOUT) &&
			    link_flush(&d->link) < 0)
				agent_disconnect(d, d->link.error);
			if (d->connected)
				agent_link_input(d);
		}
		curl_multi_perform(d->multi, &running);
		device_step(d->dev, d->now_ms);
	}
	log_info_ev("stop.stopping", "stopping");
	rc = 0;
out:
	waiter_reply(d, "offline");
	if (d->connected)
		link_close(&d->link);
	device_free(d->dev);
	if (d->multi)
		curl_multi_cleanup(d->multi);
	if (d->ctl_fd >= 0) {
		char path[STATE_PATH_MAX];

		close(d->ctl_fd);
		if (state_path(path, sizeof(path), cfg->state_dir,
		    CONTROL_SOCKET) == 0)
			(void)unlink(path);
	}
	if (d->st.lock_fd >= 0)
		close(d->st.lock_fd);
	sodium_memzero(&d->st, sizeof(d->st));
	free(d);
	curl_global_cleanup();
	return (rc);
}
