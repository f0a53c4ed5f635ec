/*
 * mqttload: the peer in the same run, mosquitto, loaded the way the broker
 * is loaded.  Raw MQTT 3.1.1 (CONNECT, SUBSCRIBE, PUBLISH QoS 0, PINGREQ),
 * one process, epoll, non-blocking, several 127.0.0.x source addresses.
 *
 *   mqttload --port P idle N
 *       N idle clients, each subscribed to its own topic d/<i> (as a
 *       device must be to receive commands; an idle agent session is
 *       likewise registered and routable), keep-alive 60 s with a PINGREQ
 *       every 30 s: prints "READY n=N secs=..." and holds them until
 *       SIGTERM.
 *
 *   mqttload --port P [--devices D] [--concurrency C] [--secs T]
 *            [--warmup W] [--body BYTES] [--pid MOSQUITTO_PID] relay
 *       The routing benchmark's analogue: D "device" clients, each
 *       subscribed to its topic d/<i>, answer every message at once on the
 *       requester's topic r/<k>; C requester clients (one request
 *       outstanding each, as awtrix-cloud.fcgi) publish to d/<i mod D> and
 *       wait for the answer.  Each round trip is two messages relayed by
 *       mosquitto, as each routed request is two messages relayed by the
 *       broker (LM_REQUEST out, LM_ANSWER back).  The payloads have the
 *       sizes of the front frames that carry the same request and answer
 *       (72 + BYTES and 31 bytes).
 *       Prints "RESULT rps=... p50_us=... relayed_msgs_per_s=...".
 */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchlib.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define MAX_SAMPLES (8u * 1024 * 1024)
#define KEEPALIVE_S 60

enum role { R_IDLE, R_DEVICE, R_REQ };
enum cstate { C_TCP, C_SETUP, C_READY };

struct mc {
	int fd;
	uint8_t role, st, out_watched;
	uint32_t idx;
	uint8_t *in;
	uint32_t in_len, in_cap;
	uint8_t *out;
	uint32_t out_len, out_off, out_cap;
	uint32_t seq;
	int busy;
	uint64_t t_ns;
	uint64_t last_tx_ms;
};

static struct {
	uint16_t port;
	unsigned sources, conc, setup_conc;
	uint32_t n, devices;
	double secs, warmup;
	size_t body;
	long pid;
	int relay;
} opt;

static struct mc *mcs;
static uint32_t nmc, nready, nsetup, next_start;
static int ep;
static volatile sig_atomic_t stop;
static size_t reqsize, anssize;
static uint8_t *pad;
static uint64_t seq_dev, t_meas0, t_meas1, t_stop;
static struct bench_samples lat;
static unsigned long long n_ans, n_relayed_dev;

static void
die(const char *what)
{
	fprintf(stderr, "mqttload: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void
watch(struct mc *c, uint32_t events, int op)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = c;
	if (epoll_ctl(ep, op, c->fd, &ev) != 0)
		die("epoll_ctl");
	c->out_watched = (events & EPOLLOUT) != 0;
}

static uint8_t *
out_reserve(struct mc *c, size_t n)
{
	if (c->out_len + n > c->out_cap) {
		c->out_cap = (uint32_t)((c->out_len + n) * 2 + 64);
		if ((c->out = realloc(c->out, c->out_cap)) == NULL)
			die("realloc");
	}
	return (c->out + c->out_len);
}

static void
flush(struct mc *c)
{
	ssize_t n;

	while (c->out_off < c->out_len) {
		n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
		    MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (!c->out_watched)
				watch(c, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
			return;
		}
		if (n <= 0)
			die("send");
		c->out_off += (uint32_t)n;
	}
	c->out_off = c->out_len = 0;
	if (c->out_watched)
		watch(c, EPOLLIN, EPOLL_CTL_MOD);
}

/* Fixed header: type byte and the remaining length as a varint. */
static size_t
put_header(uint8_t *p, uint8_t type, size_t rl)
{
	size_t n = 0;

	p[n++] = type;
	do {
		uint8_t b = rl % 128;
		rl /= 128;
		p[n++] = (uint8_t)(b | (rl ? 0x80 : 0));
	} while (rl);
	return (n);
}

static size_t
put_str(uint8_t *p, const char *s, size_t len)
{
	p[0] = (uint8_t)(len >> 8);
	p[1] = (uint8_t)len;
	memcpy(p + 2, s, len);
	return (2 + len);
}

static void
send_connect(struct mc *c)
{
	char id[32];
	size_t idlen = (size_t)snprintf(id, sizeof(id), "bench-%c%u",
	    "idr"[c->role], c->idx);
	size_t rl = 10 + 2 + idlen, n;
	uint8_t *p = out_reserve(c, 5 + rl);

	n = put_header(p, 0x10, rl);
	n += put_str(p + n, "MQTT", 4);
	p[n++] = 4;			/* protocol level 3.1.1 */
	p[n++] = 0x02;			/* clean session */
	p[n++] = 0;
	p[n++] = KEEPALIVE_S;
	n += put_str(p + n, id, idlen);
	c->out_len += (uint32_t)n;
}

static void
send_subscribe(struct mc *c)
{
	char topic[32];
	size_t tlen = (size_t)snprintf(topic, sizeof(topic), "%c/%u",
	    c->role == R_REQ ? 'r' : 'd', c->idx);
	size_t rl = 2 + 2 + tlen + 1, n;
	uint8_t *p = out_reserve(c, 5 + rl);

	n = put_header(p, 0x82, rl);
	p[n++] = 0;
	p[n++] = 1;			/* packet id */
	n += put_str(p + n, topic, tlen);
	p[n++] = 0;			/* QoS 0 */
	c->out_len += (uint32_t)n;
}

/* PUBLISH QoS 0 to ${kind}/${idx}: u32 from, u32 seq, padding to ${size}. */
static void
send_publish(struct mc *c, char kind, uint32_t idx, uint32_t from,
    uint32_t seq, size_t size)
{
	char topic[32];
	size_t tlen = (size_t)snprintf(topic, sizeof(topic), "%c/%u", kind,
	    idx), rl, n;
	uint8_t *p;

	if (size < 8)
		size = 8;
	rl = 2 + tlen + size;
	p = out_reserve(c, 5 + rl);
	n = put_header(p, 0x30, rl);
	n += put_str(p + n, topic, tlen);
	memcpy(p + n, &from, 4);
	memcpy(p + n + 4, &seq, 4);
	memcpy(p + n + 8, pad, size - 8);
	n += size;
	c->out_len += (uint32_t)n;
	c->last_tx_ms = bench_now_ms();
}

static void
req_next(struct mc *c)
{
	uint32_t dev = (uint32_t)(seq_dev++ % opt.devices);

	c->seq++;
	c->busy = 1;
	c->t_ns = bench_now_ns();
	send_publish(c, 'd', dev, c->idx, c->seq, reqsize);
}

static void
on_publish(struct mc *c, const uint8_t *p, size_t len, uint64_t now_ns)
{
	uint32_t from, seq;
	size_t tlen;

	if (len < 2)
		return;
	tlen = ((size_t)p[0] << 8) | p[1];
	if (len < 2 + tlen + 8)
		return;
	memcpy(&from, p + 2 + tlen, 4);
	memcpy(&seq, p + 2 + tlen + 4, 4);
	if (c->role == R_DEVICE) {
		n_relayed_dev++;
		send_publish(c, 'r', from, c->idx, seq, anssize);
		return;
	}
	if (c->role != R_REQ || !c->busy || seq != c->seq)
		return;
	c->busy = 0;
	if (c->t_ns >= t_meas0 && now_ns <= t_meas1) {
		n_ans++;
		bench_samples_add(&lat, now_ns - c->t_ns);
	}
	if (t_stop != 0 && now_ns < t_stop && !stop)
		req_next(c);
}

static void
mc_ready(struct mc *c)
{
	c->st = C_READY;
	nready++;
	nsetup--;
}

static void
mc_read(struct mc *c)
{
	uint64_t now_ns;
	uint32_t off = 0, rl, mul, i;
	ssize_t n;

	if (c->in_len == c->in_cap)
		die("input buffer full");
	n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		fprintf(stderr, "mqttload: mosquitto closed a connection\n");
		exit(1);
	}
	now_ns = bench_now_ns();
	c->in_len += (uint32_t)n;
	for (;;) {
		uint32_t have = c->in_len - off, hl;

		if (have < 2)
			break;
		rl = 0;
		mul = 1;
		for (i = 1; i < 5 && i < have; i++) {
			rl += (uint32_t)(c->in[off + i] & 0x7f) * mul;
			mul *= 128;
			if (!(c->in[off + i] & 0x80))
				break;
		}
		if (i >= have)
			break;
		hl = i + 1;
		if (hl + rl > c->in_cap)
			die("packet larger than the buffer");
		if (have < hl + rl)
			break;
		switch (c->in[off] >> 4) {
		case 2:		/* CONNACK */
			if (rl < 2 || c->in[off + hl + 1] != 0) {
				fprintf(stderr, "mqttload: connection refused "
				    "by mosquitto\n");
				exit(1);
			}
			break;
		case 9:		/* SUBACK */
			if (c->st == C_SETUP)
				mc_ready(c);
			break;
		case 3:		/* PUBLISH */
			on_publish(c, c->in + off + hl, rl, now_ns);
			break;
		default:	/* PINGRESP and the rest */
			break;
		}
		off += hl + rl;
	}
	if (off > 0) {
		memmove(c->in, c->in + off, c->in_len - off);
		c->in_len -= off;
	}
	flush(c);
}

static void
mc_start(struct mc *c)
{
	struct sockaddr_in src, dst;
	int on = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		die("socket (raise ulimit -n)");
	(void)setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on,
	    sizeof(on));
	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	src.sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)(c - mcs) %
	    opt.sources);
	if (bind(c->fd, (struct sockaddr *)&src, sizeof(src)) != 0)
		die("bind");
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons(opt.port);
	dst.sin_addr.s_addr = htonl(0x7f000001u);
	if (connect(c->fd, (struct sockaddr *)&dst, sizeof(dst)) != 0 &&
	    errno != EINPROGRESS)
		die("connect");
	c->st = C_TCP;
	nsetup++;
	watch(c, EPOLLIN | EPOLLOUT, EPOLL_CTL_ADD);
}

static void
mc_event(struct mc *c, uint32_t events)
{
	int err = 0;
	socklen_t elen = sizeof(err);

	if (c->st == C_TCP) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen) ||
		    err) {
			errno = err;
			die("connect to mosquitto");
		}
		if (!(events & EPOLLOUT))
			return;
		c->st = C_SETUP;
		send_connect(c);
		send_subscribe(c);
		c->out_watched = 1;	/* flush() sets the mask */
		flush(c);
		return;
	}
	if (events & EPOLLOUT)
		flush(c);
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		mc_read(c);
}

static void
usage(void)
{
	fprintf(stderr, "usage: mqttload --port P [--sources S] "
	    "[--devices D] [--concurrency C] [--secs T] [--warmup W] "
	    "[--body BYTES] [--pid PID] (idle N | relay)\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "sources", required_argument, NULL, 'S' },
		{ "devices", required_argument, NULL, 'd' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "secs", required_argument, NULL, 't' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "body", required_argument, NULL, 'b' },
		{ "pid", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 }
	};
	struct epoll_event evs[1024];
	long long cpu0 = -1, cpu1 = -1;
	long limit, rss = -1;
	uint64_t t0, now_ns, t_end_wait = 0, last_ping = 0;
	uint32_t i;
	int c, n, k;

	opt.sources = 8;
	opt.devices = 1;
	opt.conc = 1;
	opt.setup_conc = 256;
	opt.secs = 2;
	opt.warmup = 0.5;
	opt.body = 100;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'p': opt.port = (uint16_t)atoi(optarg); break;
		case 'S': opt.sources = (unsigned)atoi(optarg); break;
		case 'd': opt.devices = (uint32_t)atol(optarg); break;
		case 'c': opt.conc = (unsigned)atoi(optarg); break;
		case 't': opt.secs = atof(optarg); break;
		case 'w': opt.warmup = atof(optarg); break;
		case 'b': opt.body = (size_t)atol(optarg); break;
		case 'P': opt.pid = atol(optarg); break;
		default: usage();
		}
	}
	if (optind >= argc || opt.port == 0 || opt.devices < 1 ||
	    opt.conc < 1 || opt.sources < 1 || opt.sources > 250)
		usage();
	if (strcmp(argv[optind], "idle") == 0 && optind + 1 < argc)
		opt.n = (uint32_t)atol(argv[optind + 1]);
	else if (strcmp(argv[optind], "relay") == 0)
		opt.relay = 1;
	else
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	limit = bench_raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	reqsize = 72 + opt.body;	/* the FRONT_REQUEST frame's size */
	anssize = 31;			/* the FRONT_ANSWER frame's ("OK") */
	if ((pad = calloc(1, reqsize + anssize)) == NULL)
		die("calloc");
	memset(pad, 'x', reqsize + anssize);
	nmc = opt.relay ? opt.devices + opt.conc : opt.n;
	if (limit > 0 && (long)nmc + 16 > limit) {
		fprintf(stderr, "mqttload: %u connections need more than the "
		    "%ld files allowed\n", nmc, limit);
		return (1);
	}
	if ((mcs = calloc(nmc, sizeof(*mcs))) == NULL)
		die("calloc");
	for (i = 0; i < nmc; i++) {
		struct mc *m = &mcs[i];

		m->fd = -1;
		if (!opt.relay) {
			m->role = R_IDLE;
			m->idx = i;
			m->in_cap = 256;
		} else if (i < opt.devices) {
			m->role = R_DEVICE;
			m->idx = i;
			m->in_cap = (uint32_t)(4096 + reqsize);
		} else {
			m->role = R_REQ;
			m->idx = i - opt.devices;
			m->in_cap = (uint32_t)(4096 + anssize);
		}
		if ((m->in = malloc(m->in_cap)) == NULL)
			die("malloc");
	}
	if (bench_samples_init(&lat, opt.relay ? MAX_SAMPLES : 1))
		die("malloc");
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll_create1");

	/* Connect everyone, opt.setup_conc at a time. */
	t0 = bench_now_ns();
	while (nready < nmc && !stop) {
		while (next_start < nmc && nsetup < opt.setup_conc)
			mc_start(&mcs[next_start++]);
		n = epoll_wait(ep, evs, 1024, 100);
		for (k = 0; k < n; k++)
			mc_event(evs[k].data.ptr, evs[k].events);
		if (bench_now_ns() - t0 > 120000000000ull) {
			fprintf(stderr, "mqttload: setup took too long\n");
			return (1);
		}
	}
	printf("READY n=%u secs=%.3f\n", nready, (bench_now_ns() - t0) / 1e9);
	fflush(stdout);

	if (!opt.relay) {
		/* Hold, with keep-alive pings, until SIGTERM. */
		while (!stop) {
			n = epoll_wait(ep, evs, 1024, 1000);
			for (k = 0; k < n; k++)
				mc_event(evs[k].data.ptr, evs[k].events);
			if (bench_now_ms() - last_ping >= KEEPALIVE_S * 500) {
				last_ping = bench_now_ms();
				for (i = 0; i < nmc; i++) {
					uint8_t *p = out_reserve(&mcs[i], 2);
					p[0] = 0xc0;
					p[1] = 0;
					mcs[i].out_len += 2;
					flush(&mcs[i]);
				}
			}
		}
		printf("EXIT n=%u\n", nmc);
		return (0);
	}

	t_meas0 = bench_now_ns() + (uint64_t)(opt.warmup * 1e9);
	t_meas1 = t_meas0 + (uint64_t)(opt.secs * 1e9);
	t_stop = t_meas1;
	t_end_wait = t_meas1 + 3000000000ull;
	for (i = opt.devices; i < nmc; i++) {
		req_next(&mcs[i]);
		flush(&mcs[i]);
	}
	for (;;) {
		unsigned busy = 0;

		now_ns = bench_now_ns();
		if (cpu0 < 0 && now_ns >= t_meas0)
			cpu0 = bench_proc_cpu_ns(opt.pid);
		if (cpu1 < 0 && now_ns >= t_meas1) {
			cpu1 = bench_proc_cpu_ns(opt.pid);
			rss = opt.pid > 0 ? bench_proc_rss_kb(opt.pid) : -1;
		}
		for (i = opt.devices; i < nmc; i++)
			busy += (unsigned)mcs[i].busy;
		if ((now_ns >= t_meas1 && busy == 0) || now_ns >= t_end_wait ||
		    stop)
			break;
		n = epoll_wait(ep, evs, 1024, 1);
		for (k = 0; k < n; k++)
			mc_event(evs[k].data.ptr, evs[k].events);
	}
	if (cpu1 < 0) {
		cpu1 = bench_proc_cpu_ns(opt.pid);
		rss = opt.pid > 0 ? bench_proc_rss_kb(opt.pid) : -1;
	}
	qsort(lat.v, lat.n, sizeof(*lat.v), bench_cmp_u32);
	printf("RESULT target=mosquitto c=%u devices=%u body=%zu secs=%.3f "
	    "answers=%llu rps=%.1f relayed_msgs_per_s=%.1f p50_us=%.1f "
	    "p90_us=%.1f p99_us=%.1f max_us=%.1f cpu_us_per_req=%.2f "
	    "server_cpu_util=%.3f server_rss_kb=%ld\n", opt.conc,
	    opt.devices, opt.body, opt.secs, n_ans, n_ans / opt.secs,
	    2.0 * n_ans / opt.secs,
	    bench_pct(lat.v, lat.n, 0.5) / 1000.0,
	    bench_pct(lat.v, lat.n, 0.9) / 1000.0,
	    bench_pct(lat.v, lat.n, 0.99) / 1000.0,
	    bench_pct(lat.v, lat.n, 1.0) / 1000.0,
	    (cpu0 >= 0 && cpu1 >= cpu0 && n_ans) ?
	    (cpu1 - cpu0) / 1000.0 / (double)n_ans : -1.0,
	    (cpu0 >= 0 && cpu1 >= cpu0) ? (cpu1 - cpu0) / 1e9 / opt.secs :
	    -1.0, rss);
	for (i = 0; i < nmc; i++)
		if (mcs[i].fd >= 0)
			close(mcs[i].fd);
	return (0);
}
