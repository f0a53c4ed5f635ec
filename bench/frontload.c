/*
 * frontload: requests per second and latency through the broker alone,
 * speaking the front protocol on its Unix socket (as awtrix-cloud.fcgi
 * does), and the same load against a raw Unix-socket echo server (the
 * floor: one process that answers every frame at once with the answer
 * frame the broker would send).
 *
 *   frontload --socket PATH [--seed S --first I --devices D]
 *             [--concurrency C] [--pipeline P] [--secs T] [--warmup W]
 *             [--body BYTES] [--pid BROKER_PID]
 *   frontload --floor [--server-cpu N] [same load options]
 *
 * C requests are outstanding at all times, over C/P connections with P
 * each (P = 1, the default, is what awtrix-cloud.fcgi does: one request at
 * a time per process).  Request i goes to device (i mod D), whose token is
 * derived as in loadagents (benchlib.h).  Each request is a FRONT_REQUEST
 * built with front_encode_request: POST notify, application/json, a body
 * of BYTES bytes.  Answers are matched by id.  After a warm-up, answers
 * received during T seconds count; latency is from the send of a request
 * to the decoding of its answer.
 *
 * Output: "RESULT key=value ..." (rps counts every answer; ok_rps the
 * answers that the device gave, i.e. relayed ones; latency percentiles are
 * of all answers; cpu_us_per_req is the broker's (or echo server's) CPU
 * time in the window divided by the answers).
 */
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchlib.h"
#include "front.h"
#include "relay.h"
#include "wire.h"

#define MAX_SAMPLES (8u * 1024 * 1024)

struct slot {
	uint32_t id;
	int used;
	uint64_t t_ns;
};

struct conn {
	int fd;
	uint8_t *in;
	uint32_t in_len;
	uint8_t *out;
	uint32_t out_len, out_off, out_cap;
	int out_watched;
	struct slot *slots;
	unsigned nslots, busy;
};

static struct {
	const char *socket;
	int floor;
	int server_cpu;
	uint32_t seed, first, devices;
	unsigned conc, pipeline;
	double secs, warmup;
	size_t body;
	long pid;
} opt;

static char (*tokens)[TOKEN_LEN + 1];
static uint8_t *body;
static struct conn *conns;
static unsigned nconns;
static int ep;
static uint32_t next_id = 1;
static uint64_t seq;
static uint64_t t_meas0, t_meas1, t_stop;
static struct bench_samples lat;
static unsigned long long n_ans, n_ok, n_limited, n_other, n_late_id;
static unsigned long long n_outcome[RELAY_OUTCOME_COUNT + 1];
static volatile sig_atomic_t stop;

static void
die(const char *what)
{
	fprintf(stderr, "frontload: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* ---- the floor: a raw Unix-socket server answering every frame ---- */

static void
floor_server(const char *path, int ready_fd)
{
	struct sockaddr_un sun;
	struct epoll_event ev, evs[256];
	static uint8_t answer[256];
	struct relay_answer ans;
	uint8_t **bufs;
	uint32_t *lens;
	long alen, plen;
	int lfd, efd, fd, n, i, cap = 65536;
	static const char ok[] = "OK", ct[] = "text/plain";

	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	/* Never outlive the client, however it ends. */
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		_exit(0);
	if (opt.server_cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(opt.server_cpu, &set);
		(void)sched_setaffinity(0, sizeof(set), &set);
	}
	memset(&ans, 0, sizeof(ans));
	ans.outcome = RELAY_DEVICE;
	ans.status = 200;
	ans.ctype = ct;
	ans.ctype_len = sizeof(ct) - 1;
	ans.body = (const uint8_t *)ok;
	ans.body_len = sizeof(ok) - 1;
	if ((alen = front_encode_answer(answer, sizeof(answer), 0, &ans)) < 0)
		_exit(1);
	bufs = calloc((size_t)cap, sizeof(*bufs));
	lens = calloc((size_t)cap, sizeof(*lens));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	(void)unlink(path);
	if ((lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0)) < 0 ||
	    bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) ||
	    listen(lfd, 1024) || (efd = epoll_create1(0)) < 0 || !bufs || !lens)
		_exit(1);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = lfd;
	epoll_ctl(efd, EPOLL_CTL_ADD, lfd, &ev);
	(void)write(ready_fd, "r", 1);
	close(ready_fd);
	for (;;) {
		n = epoll_wait(efd, evs, 256, -1);
		for (i = 0; i < n; i++) {
			fd = evs[i].data.fd;
			if (fd == lfd) {
				while ((fd = accept4(lfd, NULL, NULL,
				    SOCK_NONBLOCK)) >= 0) {
					if (fd >= cap || !(bufs[fd] =
					    malloc(FRONT_FRAME_MAX))) {
						close(fd);
						continue;
					}
					lens[fd] = 0;
					ev.events = EPOLLIN;
					ev.data.fd = fd;
					epoll_ctl(efd, EPOLL_CTL_ADD, fd, &ev);
				}
				continue;
			}
			ssize_t r = read(fd, bufs[fd] + lens[fd],
			    FRONT_FRAME_MAX - lens[fd]);
			if (r <= 0) {
				if (r < 0 && errno == EAGAIN)
					continue;
				close(fd);
				free(bufs[fd]);
				bufs[fd] = NULL;
				continue;
			}
			lens[fd] += (uint32_t)r;
			uint32_t off = 0;
			while (lens[fd] - off >= FRONT_HEADER_LEN) {
				plen = front_payload_length(bufs[fd] + off);
				if (plen < 0)
					_exit(1);
				if (lens[fd] - off < FRONT_HEADER_LEN +
				    (uint32_t)plen)
					break;
				/* Echo the id: u32 len, u8 type, u32 id. */
				memcpy(answer + 5, bufs[fd] + off + 5, 4);
				if (send(fd, answer, (size_t)alen,
				    MSG_NOSIGNAL) != alen)
					_exit(1);
				off += FRONT_HEADER_LEN + (uint32_t)plen;
			}
			if (off > 0) {
				memmove(bufs[fd], bufs[fd] + off,
				    lens[fd] - off);
				lens[fd] -= off;
			}
		}
	}
}

/* ---- the client ---- */

static int
unix_connect(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		die("socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
		die("connect");
	return (fd);
}

static void
conn_watch(struct conn *c, int out)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | (out ? EPOLLOUT : 0);
	ev.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
		die("epoll_ctl");
	c->out_watched = out;
}

static void
conn_flush(struct conn *c)
{
	ssize_t n;

	while (c->out_off < c->out_len) {
		n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
		    MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (!c->out_watched)
				conn_watch(c, 1);
			return;
		}
		if (n <= 0)
			die("send");
		c->out_off += (uint32_t)n;
	}
	c->out_off = c->out_len = 0;
	if (c->out_watched)
		conn_watch(c, 0);
}

/* Put one request in slot ${s} of ${c} (queued; flushed by the caller). */
static void
conn_request(struct conn *c, struct slot *s)
{
	struct relay_request req;
	uint32_t dev = (uint32_t)(seq++ % opt.devices);
	size_t need = FRONT_HEADER_LEN + 64 + TOKEN_LEN + opt.body;
	long n;

	memset(&req, 0, sizeof(req));
	req.method = RELAY_POST;
	req.mode = "notify";
	req.mode_len = 6;
	req.query = "";
	req.ctype = "application/json";
	req.ctype_len = 16;
	req.body = body;
	req.body_len = opt.body;
	if (c->out_len + need > c->out_cap) {
		c->out_cap = (uint32_t)((c->out_len + need) * 2);
		if ((c->out = realloc(c->out, c->out_cap)) == NULL)
			die("realloc");
	}
	s->id = next_id++;
	n = front_encode_request(c->out + c->out_len, c->out_cap - c->out_len,
	    s->id, tokens[dev], &req);
	if (n < 0) {
		fprintf(stderr, "frontload: cannot encode a request\n");
		exit(1);
	}
	c->out_len += (uint32_t)n;
	s->used = 1;
	s->t_ns = bench_now_ns();
	c->busy++;
}

static void
conn_answer(struct conn *c, const struct front_msg *m, uint64_t now_ns)
{
	struct slot *s = NULL;
	unsigned i;

	for (i = 0; i < c->nslots; i++)
		if (c->slots[i].used && c->slots[i].id == m->id) {
			s = &c->slots[i];
			break;
		}
	if (s == NULL) {
		n_late_id++;
		return;
	}
	s->used = 0;
	c->busy--;
	if (s->t_ns >= t_meas0 && now_ns <= t_meas1) {
		n_ans++;
		n_outcome[m->type == FRONT_ANSWER &&
		    m->ans.outcome < RELAY_OUTCOME_COUNT ? m->ans.outcome :
		    RELAY_OUTCOME_COUNT]++;
		if (m->type == FRONT_ANSWER && m->ans.outcome == RELAY_DEVICE)
			n_ok++;
		else if (m->type == FRONT_ANSWER &&
		    m->ans.outcome == RELAY_RATE_LIMITED)
			n_limited++;
		else
			n_other++;
		bench_samples_add(&lat, now_ns - s->t_ns);
	}
	if (now_ns < t_stop && !stop)
		conn_request(c, s);
}

static void
conn_read(struct conn *c)
{
	struct front_msg m;
	uint64_t now_ns;
	uint32_t off = 0;
	long plen;
	ssize_t n;

	n = read(c->fd, c->in + c->in_len, FRONT_FRAME_MAX - c->in_len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		fprintf(stderr, "frontload: the server closed a connection\n");
		exit(1);
	}
	now_ns = bench_now_ns();
	c->in_len += (uint32_t)n;
	while (c->in_len - off >= FRONT_HEADER_LEN) {
		plen = front_payload_length(c->in + off);
		if (plen < 0) {
			fprintf(stderr, "frontload: bad frame length\n");
			exit(1);
		}
		if (c->in_len - off < FRONT_HEADER_LEN + (uint32_t)plen)
			break;
		if (front_decode(c->in + off + FRONT_HEADER_LEN, (size_t)plen,
		    &m)) {
			fprintf(stderr, "frontload: malformed answer\n");
			exit(1);
		}
		conn_answer(c, &m, now_ns);
		off += FRONT_HEADER_LEN + (uint32_t)plen;
	}
	if (off > 0) {
		memmove(c->in, c->in + off, c->in_len - off);
		c->in_len -= off;
	}
	conn_flush(c);
}

static void
usage(void)
{
	fprintf(stderr, "usage: frontload (--socket PATH | --floor) "
	    "[--seed S] [--first I] [--devices D] [--concurrency C] "
	    "[--pipeline P] [--secs T] [--warmup W] [--body BYTES] "
	    "[--pid PID] [--server-cpu N]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "socket", required_argument, NULL, 'S' },
		{ "floor", no_argument, NULL, 'F' },
		{ "server-cpu", required_argument, NULL, 'u' },
		{ "seed", required_argument, NULL, 's' },
		{ "first", required_argument, NULL, 'f' },
		{ "devices", required_argument, NULL, 'd' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "pipeline", required_argument, NULL, 'p' },
		{ "secs", required_argument, NULL, 't' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "body", required_argument, NULL, 'b' },
		{ "pid", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 }
	};
	struct epoll_event ev, evs[256];
	char floor_path[108];
	long long cpu0 = -1, cpu1 = -1;
	long rss = -1;
	pid_t child = -1;
	uint64_t t_end_wait;
	unsigned i, j, left;
	size_t k;
	int c, n, pfd[2];
	char r;

	opt.seed = 1;
	opt.devices = 1;
	opt.conc = 1;
	opt.pipeline = 1;
	opt.secs = 2;
	opt.warmup = 0.5;
	opt.body = 100;
	opt.server_cpu = -1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'S': opt.socket = optarg; break;
		case 'F': opt.floor = 1; break;
		case 'u': opt.server_cpu = atoi(optarg); break;
		case 's': opt.seed = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'f': opt.first = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'd': opt.devices = (uint32_t)atol(optarg); break;
		case 'c': opt.conc = (unsigned)atoi(optarg); break;
		case 'p': opt.pipeline = (unsigned)atoi(optarg); break;
		case 't': opt.secs = atof(optarg); break;
		case 'w': opt.warmup = atof(optarg); break;
		case 'b': opt.body = (size_t)atol(optarg); break;
		case 'P': opt.pid = atol(optarg); break;
		default: usage();
		}
	}
	if ((!opt.socket && !opt.floor) || opt.devices < 1 || opt.conc < 1 ||
	    opt.pipeline < 1 || opt.body < 12 || opt.body > RELAY_BODY_MAX)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (sodium_init() < 0)
		die("sodium_init");
	bench_raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	if (opt.floor) {
		snprintf(floor_path, sizeof(floor_path), "/tmp/frontload-floor"
		    ".%ld.sock", (long)getpid());
		if (pipe(pfd) != 0)
			die("pipe");
		if ((child = fork()) < 0)
			die("fork");
		if (child == 0) {
			close(pfd[0]);
			floor_server(floor_path, pfd[1]);
			_exit(0);
		}
		close(pfd[1]);
		if (read(pfd[0], &r, 1) != 1) {
			fprintf(stderr, "frontload: the floor server failed\n");
			return (1);
		}
		close(pfd[0]);
		opt.socket = floor_path;
		opt.pid = child;
	}

	tokens = calloc(opt.devices, sizeof(*tokens));
	body = malloc(opt.body);
	if (!tokens || !body || bench_samples_init(&lat, MAX_SAMPLES))
		die("malloc");
	for (i = 0; i < opt.devices; i++)
		bench_token(tokens[i], opt.seed, opt.first + i);
	/* An IFTTT-shaped JSON body of exactly opt.body bytes. */
	memcpy(body, "{\"text\":\"", 9);
	for (k = 9; k < opt.body - 2; k++)
		body[k] = (uint8_t)('a' + k % 26);
	memcpy(body + opt.body - 2, "\"}", 2);

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll_create1");
	nconns = (opt.conc + opt.pipeline - 1) / opt.pipeline;
	if ((conns = calloc(nconns, sizeof(*conns))) == NULL)
		die("calloc");
	left = opt.conc;
	for (i = 0; i < nconns; i++) {
		struct conn *cn = &conns[i];

		cn->fd = unix_connect(opt.socket);
		cn->nslots = left < opt.pipeline ? left : opt.pipeline;
		left -= cn->nslots;
		cn->slots = calloc(cn->nslots, sizeof(*cn->slots));
		cn->in = malloc(FRONT_FRAME_MAX);
		if (!cn->slots || !cn->in)
			die("malloc");
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = cn;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, cn->fd, &ev) != 0)
			die("epoll_ctl");
	}
	t_meas0 = bench_now_ns() + (uint64_t)(opt.warmup * 1e9);
	t_meas1 = t_meas0 + (uint64_t)(opt.secs * 1e9);
	t_stop = t_meas1;
	for (i = 0; i < nconns; i++) {
		for (j = 0; j < conns[i].nslots; j++)
			conn_request(&conns[i], &conns[i].slots[j]);
		conn_flush(&conns[i]);
	}
	t_end_wait = t_meas1 + 3000000000ull;
	for (;;) {
		uint64_t now_ns = bench_now_ns();
		unsigned busy = 0;

		if (cpu0 < 0 && now_ns >= t_meas0)
			cpu0 = bench_proc_cpu_ns(opt.pid);
		if (cpu1 < 0 && now_ns >= t_meas1) {
			cpu1 = bench_proc_cpu_ns(opt.pid);
			rss = opt.pid > 0 ? bench_proc_rss_kb(opt.pid) : -1;
		}
		for (i = 0; i < nconns; i++)
			busy += conns[i].busy;
		if ((now_ns >= t_meas1 && busy == 0) || now_ns >= t_end_wait ||
		    stop)
			break;
		n = epoll_wait(ep, evs, 256, 1);
		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (i = 0; i < (unsigned)(n > 0 ? n : 0); i++) {
			struct conn *cn = evs[i].data.ptr;

			if (evs[i].events & EPOLLOUT)
				conn_flush(cn);
			if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				conn_read(cn);
		}
	}
	if (cpu1 < 0) {
		cpu1 = bench_proc_cpu_ns(opt.pid);
		rss = opt.pid > 0 ? bench_proc_rss_kb(opt.pid) : -1;
	}
	if (child > 0) {
		kill(child, SIGTERM);
		waitpid(child, NULL, 0);
		unlink(floor_path);
	}
	qsort(lat.v, lat.n, sizeof(*lat.v), bench_cmp_u32);
	printf("RESULT target=%s c=%u pipeline=%u devices=%u body=%zu "
	    "secs=%.3f answers=%llu ok=%llu limited=%llu other=%llu "
	    "rps=%.1f ok_rps=%.1f p50_us=%.1f p90_us=%.1f p99_us=%.1f "
	    "max_us=%.1f cpu_us_per_req=%.2f server_cpu_util=%.3f "
	    "server_rss_kb=%ld outcomes=", opt.floor ? "floor" : "broker",
	    opt.conc,
	    opt.pipeline, opt.devices, opt.body, opt.secs, n_ans, n_ok,
	    n_limited, n_other, n_ans / opt.secs, n_ok / opt.secs,
	    bench_pct(lat.v, lat.n, 0.5) / 1000.0,
	    bench_pct(lat.v, lat.n, 0.9) / 1000.0,
	    bench_pct(lat.v, lat.n, 0.99) / 1000.0,
	    bench_pct(lat.v, lat.n, 1.0) / 1000.0,
	    (cpu0 >= 0 && cpu1 >= cpu0 && n_ans) ?
	    (cpu1 - cpu0) / 1000.0 / (double)n_ans : -1.0,
	    (cpu0 >= 0 && cpu1 >= cpu0) ? (cpu1 - cpu0) / 1e9 / opt.secs :
	    -1.0, rss);
	for (i = 0; i <= RELAY_OUTCOME_COUNT; i++)
		printf("%s%llu", i ? "," : "", n_outcome[i]);
	printf("\n");
	return (0);
}
