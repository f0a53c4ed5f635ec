/*
 * loadagents: many real agent sessions from one process (epoll,
 * non-blocking), for the broker benchmarks.
 *
 * Every session is a real one: TCP from one of several 127.0.0.x source
 * addresses, the Noise XK handshake as initiator with the fixed-size
 * messages of docs/protocol.md (48 bytes out, 48 in, 98 out with the
 * LM_REGISTER payload), then LM_WELCOME, then the link: LM_PING answered
 * with LM_PONG, LM_PING sent after 20 s without sending, a link silent for
 * 50 s dropped (as device-agent/agent.c does).  Each session has its own
 * device key and token, derived from (--seed, index): see benchlib.h.
 *
 * Modes:
 *   idle N        open N sessions (at most --concurrency handshakes at a
 *                 time), print "READY ...", hold them until SIGTERM.  With
 *                 --answer, answer every LM_REQUEST at once with an
 *                 LM_ANSWER (200, text/plain, "OK").
 *   handshakes    measure sessions established per second: --concurrency
 *                 K connections, each looping connect, handshake,
 *                 register, LM_WELCOME, close, over --pool identities
 *                 (already registered: a known device writes nothing),
 *                 for --count handshakes or --secs seconds.
 *   reconnect N   open N sessions, then for each of --rounds rounds print
 *                 "ARMED r" and wait for the broker to go away and come
 *                 back: every agent reconnects with the agent's own
 *                 backoff (agent_backoff_ms: uniform in [0, min(60 s,
 *                 1 s * 2^n)], n reset as for a session that lasted more
 *                 than 60 s), and "BACK r secs=..." tells how long all N
 *                 took, from the first disconnect to the last LM_WELCOME.
 *
 * The client's own X25519 work: the first message of a handshake (the
 * ephemeral key and the es DH) does not depend on the broker, so in the
 * handshakes and reconnect modes it is computed before the timed part
 * (each precomputed state is used for one handshake only).  A real agent
 * has its own CPU; here one core plays thousands of agents, and without
 * this it would be as busy as the broker's core and the measure would be
 * of the load tool.  The broker's work is unchanged.
 *
 * Output: one line per event on stdout (READY, ARMED, BACK, RESULT, EXIT),
 * "key=value" fields, for bench/run.sh.
 */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "benchlib.h"
#include "link.h"
#include "linkmsg.h"
#include "noise.h"
#include "relay.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define MSG1_LEN NOISE_XK_MSG1_LEN(0)
#define MSG2_LEN NOISE_XK_MSG2_LEN(0)
#define MSG3_LEN NOISE_XK_MSG3_LEN(LINKMSG_REGISTER_LEN)
#define PING_MS 20000
#define DEAD_MS 50000
#define BACKOFF_BASE_MS 1000
#define BACKOFF_MAX_MS 60000

enum mode { M_IDLE, M_HANDSHAKES, M_RECONNECT };
enum sstate { S_OFF, S_WAIT, S_CONNECTING, S_MSG2, S_WELCOME, S_LIVE };

/* A handshake after message 1: the state and the bytes of message 1. */
struct pre {
	struct noise_xk xk;
	uint8_t msg1[MSG1_LEN];
};

struct sess {
	int fd;
	uint8_t st;
	uint8_t out_watched;
	uint8_t have;
	uint8_t down;			/* went down in the current round */
	uint32_t id;			/* identity: index into keys/tokens */
	unsigned attempt;
	uint64_t next_ms;		/* S_WAIT: connect at; else deadline */
	uint64_t connected_ms, last_tx_ms, last_rx_ms;
	struct pre *hs;			/* during the handshake */
	struct pre *ready;		/* precomputed for the next attempt */
	uint8_t buf[MSG2_LEN];
	struct link link;
};

static struct {
	enum mode mode;
	struct sockaddr_in broker;
	uint8_t broker_pk[KEY_LEN];
	uint32_t seed, first, n, pool;
	unsigned conc, sources, rounds;
	int answer;
	int nodelay;
	int hs_timeout_ms;
	double secs;
	long count;
	long broker_pid;
	int round_timeout_s;
	unsigned backoff_base_ms;
} opt;

static struct device_key *keys;
static char (*tokens)[TOKEN_LEN + 1];
static struct sess *sess;
static uint32_t nsess;
static int ep;
static volatile sig_atomic_t stop;
static uint64_t now;

/* Counters. */
static unsigned nhs, nlive, nwait;
static unsigned long long to_state[S_LIVE + 1];
static unsigned long long ok_total, fail_refused, fail_reset, fail_timeout,
    fail_other, fail_result, answered, pings_rx, pongs_rx, drops, attempts;

/* Population (idle, reconnect) and rounds (reconnect). */
static int populated, round_active;
static unsigned round_no, ndown, nback;
static uint64_t round_first_down, round_armed_ms;
static long long round_cpu0;
static uint32_t *back_ms;

/* Handshake mode. */
static struct pre *pres;
static long npres, next_pre, hs_done;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void
die(const char *what)
{
	fprintf(stderr, "loadagents: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* device-agent/agent.c: agent_backoff_ms, same formula (and the same base,
 * 1 s, unless --backoff-base says otherwise for an experiment). */
static uint64_t
backoff_ms(unsigned attempt, double random)
{
	uint64_t cap = opt.backoff_base_ms;

	while (attempt-- > 0 && cap < BACKOFF_MAX_MS)
		cap *= 2;
	if (cap > BACKOFF_MAX_MS)
		cap = BACKOFF_MAX_MS;
	return ((uint64_t)(random * (double)cap));
}

static double
uniform01(void)
{
	return (randombytes_uniform(1000000) / 1e6);
}

static int
make_pre(struct pre *p, uint32_t id)
{
	size_t len;

	if (noise_xk_init(&p->xk, 1, (const uint8_t *)LINK_PROLOGUE,
	    strlen(LINK_PROLOGUE), keys[id].sk, keys[id].pk, opt.broker_pk))
		return (-1);
	if (noise_xk_write(&p->xk, NULL, 0, p->msg1, sizeof(p->msg1), &len) ||
	    len != MSG1_LEN)
		return (-1);
	return (0);
}

static void
watch(struct sess *s, uint32_t events, int op)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.u64 = (uint64_t)(s - sess);
	if (epoll_ctl(ep, op, s->fd, &ev) != 0)
		die("epoll_ctl");
	s->out_watched = (events & EPOLLOUT) != 0;
}

static void
set_wait(struct sess *s, uint64_t delay)
{
	s->st = S_WAIT;
	s->next_ms = now + delay;
	nwait++;
}

/* Delay before the next attempt of ${s} after a failure or a drop. */
static uint64_t
retry_delay(struct sess *s)
{
	if (opt.mode == M_RECONNECT && populated)
		return (backoff_ms(s->attempt++, uniform01()));
	/* Filling up: try again soon, spread. */
	return (100 + randombytes_uniform(400));
}

static void sess_start(struct sess *s);

static void
hs_end(struct sess *s)
{
	if (s->hs != NULL) {
		noise_xk_wipe(&s->hs->xk);
		if (opt.mode != M_HANDSHAKES)
			free(s->hs);
		s->hs = NULL;
	}
	nhs--;
}

static void
hs_fail(struct sess *s, int err)
{
	if (err == ECONNREFUSED)
		fail_refused++;
	else if (err == ECONNRESET || err == EPIPE || err == 0)
		fail_reset++;
	else if (err == ETIMEDOUT) {
		fail_timeout++;
		to_state[s->st]++;
	}
	else
		fail_other++;
	if (s->st == S_WELCOME)
		link_close(&s->link);
	else
		close(s->fd);
	s->fd = -1;
	hs_end(s);
	if (opt.mode == M_HANDSHAKES) {
		s->st = S_OFF;
		sess_start(s);
		return;
	}
	set_wait(s, retry_delay(s));
}

static void
live_drop(struct sess *s)
{
	link_close(&s->link);
	s->fd = -1;
	nlive--;
	drops++;
	if (round_active && !s->down) {
		s->down = 1;
		ndown++;
		if (round_first_down == 0) {
			round_first_down = now;
			round_cpu0 = bench_proc_cpu_ns((long)getpid());
		}
	}
	/* A session that lasted resets the backoff (agent_disconnect). */
	if (now - s->connected_ms > BACKOFF_MAX_MS)
		s->attempt = 0;
	set_wait(s, retry_delay(s));
}

static void
sess_start(struct sess *s)
{
	struct sockaddr_in src;
	int on = 1;

	if (opt.mode == M_HANDSHAKES) {
		if (next_pre >= npres || stop)
			return;
		s->hs = &pres[next_pre];
		s->id = (uint32_t)(next_pre % (long)opt.pool);
		next_pre++;
	} else if (s->ready != NULL) {
		s->hs = s->ready;
		s->ready = NULL;
	} else {
		if ((s->hs = malloc(sizeof(*s->hs))) == NULL)
			die("malloc");
		if (make_pre(s->hs, s->id)) {
			fprintf(stderr, "loadagents: noise init failed\n");
			exit(1);
		}
	}
	attempts++;
	nhs++;
	s->have = 0;
	s->next_ms = now + (uint64_t)opt.hs_timeout_ms;
	s->st = S_CONNECTING;
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		if (errno == EMFILE || errno == ENFILE)
			die("socket (raise ulimit -n)");
		die("socket");
	}
	(void)setsockopt(s->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on,
	    sizeof(on));
	if (opt.nodelay)
		(void)setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &on,
		    sizeof(on));
	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	src.sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)(s - sess) %
	    opt.sources);
	if (bind(s->fd, (struct sockaddr *)&src, sizeof(src)) != 0)
		die("bind");
	if (connect(s->fd, (struct sockaddr *)&opt.broker,
	    sizeof(opt.broker)) != 0 && errno != EINPROGRESS) {
		hs_fail(s, errno);
		return;
	}
	watch(s, EPOLLIN | EPOLLOUT, EPOLL_CTL_ADD);
}

static void
on_welcome(struct sess *s, const struct linkmsg *m)
{
	if (m->result != LM_OK) {
		fail_result++;
		fprintf(stderr, "loadagents: registration %s\n",
		    linkmsg_result_text(m->result));
		hs_fail(s, EPROTO);
		return;
	}
	hs_end(s);
	ok_total++;
	s->connected_ms = s->last_rx_ms = s->last_tx_ms = now;
	if (opt.mode == M_HANDSHAKES) {
		hs_done++;
		link_close(&s->link);
		s->fd = -1;
		s->st = S_OFF;
		sess_start(s);
		return;
	}
	s->st = S_LIVE;
	nlive++;
	if (round_active && s->down) {
		s->down = 0;
		back_ms[nback++] = (uint32_t)(now - round_first_down);
	}
}

static int
sess_send(struct sess *s, const uint8_t *msg, long len)
{
	int rc;

	if (len < 0)
		return (-1);
	rc = link_send(&s->link, msg, (size_t)len);
	if (rc < 0)
		return (-1);
	s->last_tx_ms = now;
	if (rc == 1 && !s->out_watched)
		watch(s, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
	return (0);
}

/* Read link messages (LM_WELCOME first, then the live ones). */
static void
sess_link(struct sess *s)
{
	static uint8_t out[512];
	static const char ok[] = "OK", ct[] = "text/plain";
	struct relay_answer ans;
	const uint8_t *p;
	struct linkmsg m;
	size_t len;
	int rc, i;

	for (i = 0; i < 64; i++) {
		rc = link_recv(&s->link, &p, &len);
		if (rc == 0)
			return;
		if (rc < 0 || linkmsg_decode(p, len, &m)) {
			if (s->st == S_WELCOME)
				hs_fail(s, ECONNRESET);
			else
				live_drop(s);
			return;
		}
		s->last_rx_ms = now;
		if (s->st == S_WELCOME) {
			if (m.type != LM_WELCOME) {
				hs_fail(s, EPROTO);
				return;
			}
			on_welcome(s, &m);
			if (s->st != S_LIVE)
				return;
			continue;
		}
		switch (m.type) {
		case LM_PING:
			pings_rx++;
			if (sess_send(s, out, linkmsg_encode_empty(out,
			    sizeof(out), LM_PONG))) {
				live_drop(s);
				return;
			}
			break;
		case LM_PONG:
			pongs_rx++;
			break;
		case LM_REQUEST:
			if (!opt.answer)
				break;
			memset(&ans, 0, sizeof(ans));
			ans.outcome = RELAY_DEVICE;
			ans.status = 200;
			ans.ctype = ct;
			ans.ctype_len = sizeof(ct) - 1;
			ans.body = (const uint8_t *)ok;
			ans.body_len = sizeof(ok) - 1;
			if (sess_send(s, out, linkmsg_encode_answer(out,
			    sizeof(out), m.id, &ans))) {
				live_drop(s);
				return;
			}
			answered++;
			break;
		default:
			break;
		}
	}
}

static void
sess_event(struct sess *s, uint32_t events)
{
	uint8_t reg[LINKMSG_REGISTER_LEN], msg3[MSG3_LEN], pl[16];
	struct noise_cipher tx, rx;
	socklen_t elen;
	size_t len, plen;
	ssize_t n;
	int err, rc;

	switch (s->st) {
	case S_CONNECTING:
		err = 0;
		elen = sizeof(err);
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0)
			err = errno;
		if (err != 0) {
			hs_fail(s, err);
			return;
		}
		if (!(events & EPOLLOUT))
			return;
		n = send(s->fd, s->hs->msg1, MSG1_LEN, MSG_NOSIGNAL);
		if (n != MSG1_LEN) {
			hs_fail(s, n < 0 ? errno : EPIPE);
			return;
		}
		s->st = S_MSG2;
		watch(s, EPOLLIN, EPOLL_CTL_MOD);
		return;
	case S_MSG2:
		while (s->have < MSG2_LEN) {
			n = read(s->fd, s->buf + s->have, MSG2_LEN - s->have);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN)
				return;
			if (n <= 0) {
				hs_fail(s, n < 0 ? errno : ECONNRESET);
				return;
			}
			s->have += (uint8_t)n;
		}
		if (noise_xk_read(&s->hs->xk, s->buf, MSG2_LEN, pl, sizeof(pl),
		    &plen) || plen != 0 ||
		    linkmsg_encode_register(reg, sizeof(reg), LM_REGISTER,
		    tokens[s->id]) != LINKMSG_REGISTER_LEN ||
		    noise_xk_write(&s->hs->xk, reg, sizeof(reg), msg3,
		    sizeof(msg3), &len) || len != MSG3_LEN ||
		    noise_xk_split(&s->hs->xk, &tx, &rx)) {
			fprintf(stderr, "loadagents: handshake failed (wrong "
			    "--broker-key?)\n");
			hs_fail(s, EPROTO);
			return;
		}
		n = send(s->fd, msg3, MSG3_LEN, MSG_NOSIGNAL);
		if (n != MSG3_LEN) {
			hs_fail(s, n < 0 ? errno : EPIPE);
			return;
		}
		link_init(&s->link, s->fd, &tx, &rx);
		s->st = S_WELCOME;
		/* The answer may already be there. */
		sess_link(s);
		return;
	case S_WELCOME:
		sess_link(s);
		return;
	case S_LIVE:
		if (events & EPOLLOUT) {
			rc = link_flush(&s->link);
			if (rc < 0) {
				live_drop(s);
				return;
			}
			if (rc == 0 && s->out_watched)
				watch(s, EPOLLIN, EPOLL_CTL_MOD);
		}
		if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
			sess_link(s);
		return;
	default:
		return;
	}
}

/* Filling up: start sessions never started, --concurrency at a time. */
static uint32_t fill_next;

static void
fill(void)
{
	while (fill_next < nsess && nhs < opt.conc)
		sess_start(&sess[fill_next++]);
}

/* Timers: connects due, handshake deadlines, heartbeats. */
static void
scan(void)
{
	static uint8_t ping[8];
	long plen = linkmsg_encode_empty(ping, sizeof(ping), LM_PING);
	struct sess *s;
	uint32_t i;

	for (i = 0; i < nsess; i++) {
		s = &sess[i];
		switch (s->st) {
		case S_WAIT:
			if (now < s->next_ms)
				break;
			if (!populated && nhs >= opt.conc)
				break;
			nwait--;
			sess_start(s);
			break;
		case S_CONNECTING:
		case S_MSG2:
		case S_WELCOME:
			if (now >= s->next_ms)
				hs_fail(s, ETIMEDOUT);
			break;
		case S_LIVE:
			if (now - s->last_rx_ms >= DEAD_MS)
				live_drop(s);
			else if (now - s->last_tx_ms >= PING_MS &&
			    sess_send(s, ping, plen))
				live_drop(s);
			break;
		default:
			break;
		}
	}
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: loadagents --broker 127.0.0.1:PORT --broker-key B64 "
	    "[options] idle N | handshakes | reconnect N\n"
	    "  --seed S --first I     identities (default 1, 0)\n"
	    "  --concurrency K        handshakes at a time (default 128)\n"
	    "  --sources S            source addresses 127.0.0.2.. (default 8)\n"
	    "  --answer               answer LM_REQUEST with 200 OK\n"
	    "  --nodelay              TCP_NODELAY (the real agent does not)\n"
	    "  --pool P --count M --secs T    handshakes mode (4096, 20000, 4)\n"
	    "  --rounds R             reconnect mode (default 3)\n"
	    "  --round-timeout S      give up a round after S s (default 60)\n"
	    "  --broker-pid PID       report the broker's CPU time\n"
	    "  --backoff-base MS      experiment: backoff base (agent: 1000)\n"
	    "  --hs-timeout MS        experiment: handshake deadline (agent: 10000)\n");
	exit(2);
}

static void
parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "broker", required_argument, NULL, 'b' },
		{ "broker-key", required_argument, NULL, 'k' },
		{ "seed", required_argument, NULL, 's' },
		{ "first", required_argument, NULL, 'f' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "sources", required_argument, NULL, 'S' },
		{ "answer", no_argument, NULL, 'a' },
		{ "nodelay", no_argument, NULL, 'N' },
		{ "pool", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'm' },
		{ "secs", required_argument, NULL, 't' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "round-timeout", required_argument, NULL, 'R' },
		{ "broker-pid", required_argument, NULL, 'P' },
		{ "backoff-base", required_argument, NULL, 'B' },
		{ "hs-timeout", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 }
	};
	char host[64], *colon;
	int c;

	opt.seed = 1;
	opt.conc = 128;
	opt.sources = 8;
	opt.pool = 4096;
	opt.count = 20000;
	opt.secs = 4;
	opt.rounds = 3;
	opt.round_timeout_s = 60;
	opt.hs_timeout_ms = 10000;	/* device-agent/main.c handshake_ms */
	opt.backoff_base_ms = BACKOFF_BASE_MS;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'b':
			snprintf(host, sizeof(host), "%s", optarg);
			if ((colon = strrchr(host, ':')) == NULL)
				usage();
			*colon = '\0';
			memset(&opt.broker, 0, sizeof(opt.broker));
			opt.broker.sin_family = AF_INET;
			opt.broker.sin_port = htons((uint16_t)atoi(colon + 1));
			if (inet_pton(AF_INET, host, &opt.broker.sin_addr) != 1)
				usage();
			break;
		case 'k':
			if (key_from_base64(optarg, opt.broker_pk))
				usage();
			break;
		case 's': opt.seed = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'f': opt.first = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'c': opt.conc = (unsigned)atoi(optarg); break;
		case 'S': opt.sources = (unsigned)atoi(optarg); break;
		case 'a': opt.answer = 1; break;
		case 'N': opt.nodelay = 1; break;
		case 'p': opt.pool = (uint32_t)atoi(optarg); break;
		case 'm': opt.count = atol(optarg); break;
		case 't': opt.secs = atof(optarg); break;
		case 'r': opt.rounds = (unsigned)atoi(optarg); break;
		case 'R': opt.round_timeout_s = atoi(optarg); break;
		case 'P': opt.broker_pid = atol(optarg); break;
		case 'B': opt.backoff_base_ms = (unsigned)atoi(optarg); break;
		case 'T': opt.hs_timeout_ms = atoi(optarg); break;
		default: usage();
		}
	}
	if (optind >= argc || opt.broker.sin_port == 0)
		usage();
	if (strcmp(argv[optind], "idle") == 0)
		opt.mode = M_IDLE;
	else if (strcmp(argv[optind], "handshakes") == 0)
		opt.mode = M_HANDSHAKES;
	else if (strcmp(argv[optind], "reconnect") == 0)
		opt.mode = M_RECONNECT;
	else
		usage();
	if (opt.mode != M_HANDSHAKES) {
		if (optind + 1 >= argc)
			usage();
		opt.n = (uint32_t)atol(argv[optind + 1]);
	}
	if (opt.conc < 1)
		opt.conc = 1;
	if (opt.sources < 1 || opt.sources > 250)
		opt.sources = 8;
	if (opt.pool < 1)
		opt.pool = 1;
}

static void
report_back(void)
{
	unsigned long long a = attempts;
	long long cpu = bench_proc_cpu_ns((long)getpid());
	double span = (now - round_first_down) / 1000.0;

	qsort(back_ms, nback, sizeof(*back_ms), bench_cmp_u32);
	printf("BACK round=%u n=%u back=%u secs=%.3f p50=%.3f p90=%.3f "
	    "p99=%.3f armed_to_down=%.3f attempts=%llu refused=%llu "
	    "reset=%llu timeout=%llu timeout_connect=%llu timeout_msg2=%llu "
	    "timeout_welcome=%llu loadtool_cpu_busy=%.2f\n", round_no,
	    ndown, nback,
	    bench_pct(back_ms, nback, 1.0) / 1000.0,
	    bench_pct(back_ms, nback, 0.5) / 1000.0,
	    bench_pct(back_ms, nback, 0.9) / 1000.0,
	    bench_pct(back_ms, nback, 0.99) / 1000.0,
	    (round_first_down - round_armed_ms) / 1000.0, a, fail_refused,
	    fail_reset, fail_timeout, to_state[S_CONNECTING], to_state[S_MSG2],
	    to_state[S_WELCOME], (cpu >= 0 && round_cpu0 >= 0 &&
	    span > 0) ? (cpu - round_cpu0) / 1e9 / span : -1.0);
	fflush(stdout);
}

static void
arm_round(void)
{
	uint32_t i;
	uint64_t t0 = bench_now_ms();

	/* The next attempt of every agent: message 1 computed now. */
	for (i = 0; i < nsess; i++) {
		if (sess[i].ready == NULL &&
		    (sess[i].ready = malloc(sizeof(struct pre))) == NULL)
			die("malloc");
		if (make_pre(sess[i].ready, sess[i].id))
			die("noise");
		/* As after a session that lasted more than 60 s. */
		sess[i].attempt = 0;
		sess[i].down = 0;
	}
	round_no++;
	round_active = 1;
	ndown = nback = 0;
	round_first_down = 0;
	attempts = fail_refused = fail_reset = fail_timeout = 0;
	memset(to_state, 0, sizeof(to_state));
	now = round_armed_ms = bench_now_ms();
	printf("ARMED round=%u precompute_s=%.3f\n", round_no,
	    (now - t0) / 1000.0);
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	struct epoll_event evs[1024];
	struct sigaction sa;
	uint64_t t_start, next_scan = 0, t_end_ms = 0;
	long long cpu0 = -1, cpu1;
	long limit;
	uint32_t i, nid;
	int n, k;

	parse_args(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (sodium_init() < 0)
		die("sodium_init");
	limit = bench_raise_nofile();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	nid = opt.mode == M_HANDSHAKES ? opt.pool : opt.n;
	nsess = opt.mode == M_HANDSHAKES ? opt.conc : opt.n;
	if (opt.mode != M_HANDSHAKES && limit > 0 &&
	    (long)nsess + 16 > limit) {
		fprintf(stderr, "loadagents: %u sessions need %u files; the "
		    "limit is %ld\n", nsess, nsess + 16, limit);
		return (1);
	}
	keys = calloc(nid, sizeof(*keys));
	tokens = calloc(nid, sizeof(*tokens));
	sess = calloc(nsess, sizeof(*sess));
	back_ms = calloc(nsess, sizeof(*back_ms));
	if (!keys || !tokens || !sess || !back_ms)
		die("calloc");
	for (i = 0; i < nid; i++) {
		if (bench_device_key(&keys[i], opt.seed, opt.first + i))
			die("device key");
		bench_token(tokens[i], opt.seed, opt.first + i);
	}
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll_create1");
	for (i = 0; i < nsess; i++) {
		sess[i].fd = -1;
		sess[i].id = i;
		sess[i].st = S_OFF;
	}

	if (opt.mode == M_HANDSHAKES) {
		uint64_t t0 = bench_now_ms();

		npres = opt.count;
		if ((pres = calloc((size_t)npres, sizeof(*pres))) == NULL)
			die("calloc");
		for (k = 0; k < (int)npres; k++)
			if (make_pre(&pres[k], (uint32_t)(k % (long)opt.pool)))
				die("noise");
		printf("PRECOMPUTED count=%ld secs=%.3f\n", npres,
		    (bench_now_ms() - t0) / 1000.0);
		cpu0 = bench_proc_cpu_ns(opt.broker_pid);
		now = bench_now_ms();
		t_end_ms = now + (uint64_t)(opt.secs * 1000);
		for (i = 0; i < nsess; i++)
			sess_start(&sess[i]);
	} else {
		now = bench_now_ms();
		fill();
	}
	t_start = bench_now_ns();

	while (!stop) {
		int timeout = (nwait || nhs) ? 5 : 500;

		n = epoll_wait(ep, evs, 1024, timeout);
		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		now = bench_now_ms();
		for (k = 0; k < n; k++)
			sess_event(&sess[evs[k].data.u64], evs[k].events);
		if (!populated)
			fill();
		if (now >= next_scan) {
			scan();
			next_scan = now + ((nwait || nhs) ? 5 : 1000);
		}
		if (opt.mode == M_HANDSHAKES) {
			if (now >= t_end_ms)
				npres = next_pre;	/* start no more */
			if (nhs == 0 && next_pre >= npres)
				break;
			continue;
		}
		if (!populated && nlive == nsess) {
			double secs = (bench_now_ns() - t_start) / 1e9;

			populated = 1;
			printf("READY n=%u secs=%.3f rate=%.1f attempts=%llu "
			    "refused=%llu reset=%llu timeout=%llu other=%llu "
			    "nofile=%ld\n", nsess, secs, nsess / secs, attempts,
			    fail_refused, fail_reset, fail_timeout, fail_other,
			    limit);
			fflush(stdout);
			if (opt.mode == M_RECONNECT && opt.rounds > 0)
				arm_round();
		}
		if (round_active && ndown == nsess && nback == ndown &&
		    nlive == nsess) {
			report_back();
			round_active = 0;
			if (round_no < opt.rounds)
				arm_round();
			else
				printf("DONE rounds=%u\n", round_no);
		} else if (round_active && round_first_down != 0 &&
		    now - round_first_down > (uint64_t)opt.round_timeout_s *
		    1000) {
			printf("INCOMPLETE ");
			report_back();
			round_active = 0;
			printf("DONE rounds=%u\n", round_no);
		}
	}

	if (opt.mode == M_HANDSHAKES) {
		double secs = (bench_now_ns() - t_start) / 1e9;

		cpu1 = bench_proc_cpu_ns(opt.broker_pid);
		printf("RESULT handshakes=%ld secs=%.3f rate=%.1f "
		    "broker_cpu_s=%.3f per_cpu_s=%.1f refused=%llu reset=%llu "
		    "timeout=%llu other=%llu result=%llu\n", hs_done, secs,
		    hs_done / secs,
		    cpu0 >= 0 && cpu1 >= 0 ? (cpu1 - cpu0) / 1e9 : -1.0,
		    cpu0 >= 0 && cpu1 > cpu0 ? hs_done / ((cpu1 - cpu0) / 1e9) :
		    -1.0, fail_refused, fail_reset, fail_timeout, fail_other,
		    fail_result);
	}
	printf("EXIT live=%u ok=%llu answered=%llu pings=%llu pongs=%llu "
	    "drops=%llu\n", nlive, ok_total, answered, pings_rx, pongs_rx,
	    drops);
	for (i = 0; i < nsess; i++) {
		if (sess[i].st == S_LIVE || sess[i].st == S_WELCOME)
			link_close(&sess[i].link);
		else if (sess[i].fd >= 0)
			close(sess[i].fd);
		free(sess[i].ready);
		if (opt.mode != M_HANDSHAKES && sess[i].hs)
			free(sess[i].hs);
	}
	return (0);
}
