/*
 * The event loop: listening sockets, epoll dispatch, timers and signals.
 * Every callback does one step and returns; nothing here blocks except
 * SQLite on a registration (a few local reads, rarely a write).
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "broker.h"
#include "cluster.h"
#include "log.h"
#include "net.h"
#include "notify.h"
#include "privdrop.h"

#define SWEEP_MS 5000

/* Sweep often enough that a ping goes out every ping_s. */
static uint64_t
sweep_ms(const struct broker *b)
{
	uint64_t ms = (uint64_t)b->cfg.ping_s * 1000;

	return (ms < SWEEP_MS ? ms : SWEEP_MS);
}

uint32_t
broker_now_s(const struct broker *b)
{
	return ((uint32_t)(b->now_ms / 1000));
}

int
broker_watch(struct broker *b, struct conn *c, int fd, uint32_t events)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = c;
	if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, fd, &ev) == 0)
		return (0);
	if (errno == EEXIST && epoll_ctl(b->epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
		return (0);
	log_error_ev("loop.epoll_failed", "%s: epoll_ctl: %s", __func__, strerror(errno));
	return (-1);
}

/* Change what epoll reports for ${fd}, with a system call only when it
 * changes (${cur} remembers it). */
void
broker_rewatch(struct broker *b, struct conn *c, int fd, uint32_t *cur,
    uint32_t events)
{
	struct epoll_event ev;

	if (*cur == events)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = c;
	if (epoll_ctl(b->epfd, EPOLL_CTL_MOD, fd, &ev))
		log_error_ev("loop.epoll_failed", "%s: epoll_ctl: %s", __func__, strerror(errno));
	else
		*cur = events;
}

void
broker_unwatch(struct broker *b, int fd)
{
	(void)epoll_ctl(b->epfd, EPOLL_CTL_DEL, fd, NULL);
}

/* Parse HOST:PORT or [HOST]:PORT and listen on it. */
static int
listen_tcp(const char *spec, int defer_s)
{
	struct addrinfo hints, *res = NULL;
	char host[256];
	const char *port;
	int fd = -1, on = 1, rc;

	if (net_split_hostport(spec, host, sizeof(host), &port)) {
		log_error_ev("start.listen_failed", "--listen %s: expected HOST:PORT", spec);
		return (-1);
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		log_error_ev("start.listen_failed", "--listen %s: %s", spec, gai_strerror(rc));
		return (-1);
	}
	/* The backlog holds a reconnection storm; the kernel caps it at
	 * net.core.somaxconn. */
	fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) ||
	    bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 65535)) {
		log_error_ev("start.listen_failed", "--listen %s: %s", spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	/* A peer that connects and sends nothing stays in the kernel for
	 * this long instead of taking a handshake slot (an agent sends
	 * message 1 at once).  Best effort: not every system has it. */
	if (fd >= 0 && defer_s > 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer_s,
		    sizeof(defer_s));
	return (fd);
}

/* Create the Unix socket, replacing a stale one but never a live one. */
static int
listen_unix(const struct broker_config *cfg)
{
	struct sockaddr_un sun;
	mode_t old;
	int fd, probe;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(cfg->socket_path) >= sizeof(sun.sun_path)) {
		log_error_ev("start.socket_failed", "--socket %s: path too long", cfg->socket_path);
		return (-1);
	}
	strcpy(sun.sun_path, cfg->socket_path);
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0 &&
	    connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		close(probe);
		log_error_ev("start.socket_failed", "--socket %s: another broker is listening there",
		    cfg->socket_path);
		return (-1);
	}
	if (probe >= 0)
		close(probe);
	if (unlink(cfg->socket_path) == 0)
		log_info_ev("start.stale_socket", "replaced stale socket %s", cfg->socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	old = umask(0117);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		umask(old);
		goto fail;
	}
	umask(old);
	if (chmod(cfg->socket_path, 0660) ||
	    chown(cfg->socket_path, cfg->user ? cfg->user_uid : (uid_t)-1,
	    cfg->socket_gid != (gid_t)-1 ? cfg->socket_gid :
	    cfg->user ? cfg->user_gid : (gid_t)-1) ||
	    listen(fd, 1024))
		goto fail;
	return (fd);

fail:
	log_error_ev("start.socket_failed", "--socket %s: %s", cfg->socket_path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return (-1);
}

static int
setup_signals(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return (-1);
	return (signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
}

static int
broker_setup(struct broker *b)
{
	struct rlimit rl;
	const char *why;

	if (broker_key_load(b->cfg.key_path, &b->key, &why)) {
		log_error_ev("start.key_failed", "key file %s %s", b->cfg.key_path, why);
		return (-1);
	}
	table_init(&b->devices, offsetof(struct agent, device_hash));
	table_init(&b->tokens, offsetof(struct agent, token_hash));
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	b->fronts_cap = (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur < 1048576) ? (int)rl.rlim_cur : 1048576;
	if ((b->fronts = calloc((size_t)b->fronts_cap, sizeof(*b->fronts))) ==
	    NULL || route_init(b)) {
		log_error_ev("start.out_of_memory", "out of memory");
		return (-1);
	}
	if ((b->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		log_error_ev("loop.epoll_failed", "epoll_create1: %s", strerror(errno));
		return (-1);
	}
	b->tcp.kind = CONN_LISTEN_TCP;
	b->unix_sock.kind = CONN_LISTEN_UNIX;
	b->sig.kind = CONN_SIGNAL;
	if (priv_check_socket_dir(b->cfg.socket_path) ||
	    (b->sig.fd = setup_signals()) < 0 ||
	    (b->tcp.fd = listen_tcp(b->cfg.listen,
	    (b->cfg.msg1_ms + 999) / 1000)) < 0 ||
	    (b->unix_sock.fd = listen_unix(&b->cfg)) < 0)
		return (-1);
	/* Sockets bound and key read: nothing more needs root. */
	if (b->cfg.user != NULL &&
	    priv_drop(b->cfg.user, b->cfg.user_uid, b->cfg.user_gid))
		return (-1);
	if ((b->db = db_open(b->cfg.db_path, &why)) == NULL) {
		log_error_ev("start.db_failed", "database %s: %s", b->cfg.db_path, why);
		return (-1);
	}
	/* After the signal mask: nats.c's threads inherit it. */
	if (b->cfg.nats != NULL && cluster_open(b))
		return (-1);
	if (admit_init(b)) {
		log_error_ev("start.out_of_memory", "out of memory");
		return (-1);
	}
	if (broker_watch(b, &b->sig, b->sig.fd, EPOLLIN) ||
	    broker_watch(b, &b->tcp, b->tcp.fd, EPOLLIN) ||
	    broker_watch(b, &b->unix_sock, b->unix_sock.fd, EPOLLIN))
		return (-1);
	return (0);
}

/* Pause accepting agents for a second after EMFILE (the kernel's backlog
 * holds them meanwhile).  A full set of handshakes does not pause: the
 * oldest is evicted (agent.c), else silent peers would lock everyone out. */
static void
broker_update_accept(struct broker *b)
{
	int pause = b->now_ms < b->accept_resume_ms;

	if (pause == b->accept_paused)
		return;
	b->accept_paused = pause;
	broker_watch(b, &b->tcp, b->tcp.fd, pause ? 0 : EPOLLIN);
}

static int
broker_timeout(struct broker *b)
{
	uint64_t next = b->next_sweep_ms, t;

	if ((t = agent_next_deadline(b)) != 0 && t < next)
		next = t;
	if ((t = route_next_deadline(b)) != 0 && t < next)
		next = t;
	if (b->accept_resume_ms > b->now_ms && b->accept_resume_ms < next)
		next = b->accept_resume_ms;
	if (next <= b->now_ms)
		return (0);
	return ((int)(next - b->now_ms > 1000 ? 1000 : next - b->now_ms));
}

static void
broker_timers(struct broker *b)
{
	agent_expire_handshakes(b);
	route_expire(b);
	if (b->now_ms >= b->next_sweep_ms) {
		b->next_sweep_ms = b->now_ms + sweep_ms(b);
		agent_sweep(b);
		/* `awtrix-broker revoke` commits from another process. */
		if (db_changed(b->db)) {
			agent_check_revoked(b);
			admit_recount(b);
		}
		lograte_flush(&b->lr_handshake, b->now_ms);
		lograte_flush(&b->lr_session, b->now_ms);
		lograte_flush(&b->lr_registration, b->now_ms);
	}
	cluster_timers(b);
}

static void
broker_shutdown(struct broker *b)
{
	struct agent *a;
	size_t i;
	int fd;

	for (i = 0; i < b->devices.cap; i++)
		if ((a = table_at(&b->devices, i)) != NULL) {
			agent_close(b, a, NULL);
			i--;	/* the backward shift may refill slot i */
		}
	while (b->hs_head != NULL)
		agent_close(b, b->hs_head, NULL);
	while (b->hs3_head != NULL)
		agent_close(b, b->hs3_head, NULL);
	/* Sessions first: closing one unsubscribes it. */
	cluster_close(b);
	for (fd = 0; fd < b->fronts_cap; fd++)
		if (b->fronts[fd] != NULL)
			front_close(b, b->fronts[fd]);
	agent_reap(b);
	if (b->tcp.fd >= 0)
		close(b->tcp.fd);
	if (b->unix_sock.fd >= 0) {
		close(b->unix_sock.fd);
		(void)unlink(b->cfg.socket_path);
	}
	if (b->sig.fd >= 0)
		close(b->sig.fd);
	close(b->epfd);
	table_free(&b->devices);
	table_free(&b->tokens);
	peers_free(&b->peers);
	db_close(b->db);
	free(b->fronts);
	free(b->pool);
	sodium_memzero(&b->key, sizeof(b->key));
}

int
broker_serve(struct broker_config *cfg)
{
	struct epoll_event ev[256];
	struct signalfd_siginfo si;
	struct broker *b;
	struct conn *c;
	int i, n, rc = 1;

	if ((b = calloc(1, sizeof(*b))) == NULL) {
		log_error_ev("start.out_of_memory", "out of memory");
		return (1);
	}
	b->cfg = *cfg;
	lograte_init(&b->lr_handshake, "failed or evicted handshakes",
	    (uint64_t)cfg->log_window_ms);
	lograte_init(&b->lr_session, "closed sessions",
	    (uint64_t)cfg->log_window_ms);
	lograte_init(&b->lr_registration, "refused registrations",
	    (uint64_t)cfg->log_window_ms);
	b->tcp.fd = b->unix_sock.fd = b->sig.fd = b->epfd = -1;
	if (broker_setup(b))
		goto out;
	b->now_ms = b->started_ms = net_now_ms();
	b->next_sweep_ms = b->now_ms + sweep_ms(b);
	log_info_ev("start.serving", "serving: agents on %s, front on %s%s",
	    cfg->listen, cfg->socket_path, cfg->nats ? ", cluster over NATS" : "");
	notify_ready(b->now_ms);
	while (!b->stop) {
		n = epoll_wait(b->epfd, ev, 256, broker_timeout(b));
		if (n < 0 && errno != EINTR) {
			log_error_ev("loop.epoll_failed", "epoll_wait: %s", strerror(errno));
			goto out;
		}
		b->now_ms = net_now_ms();
		for (i = 0; i < n; i++) {
			c = ev[i].data.ptr;
			switch (c->kind) {
			case CONN_LISTEN_TCP:
				agent_accept(b);
				break;
			case CONN_LISTEN_UNIX:
				front_accept(b);
				break;
			case CONN_SIGNAL:
				while (read(b->sig.fd, &si, sizeof(si)) ==
				    sizeof(si))
					b->stop = 1;
				break;
			case CONN_AGENT:
				agent_event(b, (struct agent *)c, ev[i].events);
				break;
			case CONN_FRONT:
				front_event(b, (struct front *)c, ev[i].events);
				break;
			case CONN_CLUSTER:
				cluster_event(b);
				break;
			}
		}
		broker_timers(b);
		broker_update_accept(b);
		notify_tick(b->now_ms);
		agent_reap(b);
	}
	notify_stopping();
	log_info_ev("stop.shutdown", "shutting down: closing %zu sessions", b->devices.count);
	rc = 0;
out:
	if (b->epfd >= 0)
		broker_shutdown(b);
	else
		db_close(b->db);
	free(b);
	return (rc);
}
