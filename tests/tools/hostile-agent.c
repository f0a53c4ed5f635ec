/*
 * hostile-agent: a modified agent (and a fake broker) built on lib/, for
 * tests/integration/90-hostile.sh and bench/hostile-flood.sh.  Everything a
 * hostile peer of the broker (or of an agent) can do with the real protocol.
 *
 *   hostile-agent MODE HOST:PORT PUBKEY ARGS...
 *
 *   answer DIR STATUS CTYPE BODY   register the device DIR/key with the
 *                      token DIR/token (both created if missing) and answer
 *                      every REQUEST as if the device had said STATUS with
 *                      Content-Type CTYPE ("-": none) and BODY
 *   outcome DIR N      answer every REQUEST with relay outcome N
 *   garbage DIR        answer the first REQUEST with a frame that fails to
 *                      decrypt
 *   mute DIR           answer PINGs, never a REQUEST
 *   flood-register N   N first registrations, each with a fresh key and a
 *                      fresh token; prints "ok A busy B full C other D"
 *   register-many DIR N  register the devices DIR/dev.I (I < N, created on
 *                      first use) one after the other, each within 10 s
 *                      (the agent's own limit); prints "ok A of N, within
 *                      3 s B, slowest S ms, median M ms"
 *   silent-flood N SECONDS SRC...  hold N connections that send nothing,
 *                      from the source addresses SRC in turn, re-opening
 *                      each one as soon as the broker closes it, for
 *                      SECONDS; prints "opened A"
 *
 *   hostile-agent fake-broker PORT KEYFILE URL
 *                      a broker on 127.0.0.1:PORT with the key KEYFILE that
 *                      welcomes every agent with the public URL URL (any
 *                      bytes) and answers its pings; prints "port P"
 *
 * Modes that register print "registered" once connected (answer, outcome,
 * garbage, mute) and run until killed.  Exit 2 on a usage or local error.
 */
#include <sys/resource.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "keyfile.h"
#include "link.h"
#include "link_client.h"
#include "linkmsg.h"
#include "net.h"
#include "noise.h"
#include "token.h"

static const char *broker;
static uint8_t broker_pk[KEY_LEN];
static uint8_t scratch[LINK_FRAME_MAX];

static int
usage(void)
{
	fprintf(stderr, "usage: hostile-agent MODE HOST:PORT PUBKEY ARGS... "
	    "(see tests/tools/hostile-agent.c)\n");
	return (2);
}

/* The device key and token of ${dir}, created when missing. */
static int
identity(const char *dir, struct device_key *key, char token[TOKEN_LEN + 1])
{
	char path[4096];
	const char *why;
	size_t len;

	snprintf(path, sizeof(path), "%s.key", dir);
	if (device_key_load(path, key, &why)) {
		device_key_generate(key);
		if (device_key_save(path, key))
			return (-1);
	}
	snprintf(path, sizeof(path), "%s.token", dir);
	if (file_read_private(path, token, TOKEN_LEN + 1, &len, &why) ||
	    len < TOKEN_LEN || !token_valid(token, TOKEN_LEN)) {
		token_generate(token);
		if (file_write_private(path, token, TOKEN_LEN, 0))
			return (-1);
	}
	token[TOKEN_LEN] = '\0';
	return (0);
}

static int
send_msg(struct link *l, const uint8_t *msg, long n)
{
	if (n < 0 || link_send(l, msg, (size_t)n) < 0)
		return (-1);
	while (link_pending_out(l)) {
		struct pollfd pfd = { .fd = l->fd, .events = POLLOUT };

		if (poll(&pfd, 1, 5000) <= 0 || link_flush(l) < 0)
			return (-1);
	}
	return (0);
}

/* The registered modes: one loop, the reaction to a REQUEST differs. */
static int
serve(const char *mode, char **args, int nargs)
{
	static uint8_t msg[LINK_PLAIN_MAX], body[RELAY_BODY_MAX];
	struct relay_answer ans;
	struct device_key key;
	char token[TOKEN_LEN + 1], url[LINKMSG_URL_MAX + 1];
	struct pollfd pfd;
	struct linkmsg m;
	struct link l;
	const uint8_t *p;
	const char *why;
	size_t len;
	long n;
	int result, rc;

	if (nargs < 1 || identity(args[0], &key, token))
		return (2);
	memset(&ans, 0, sizeof(ans));
	if (strcmp(mode, "answer") == 0) {
		if (nargs != 4)
			return (usage());
		ans.outcome = RELAY_DEVICE;
		ans.status = (uint16_t)atoi(args[1]);
		if (strcmp(args[2], "-") != 0) {
			ans.ctype = args[2];
			ans.ctype_len = strlen(args[2]);
		}
		len = strlen(args[3]) < sizeof(body) ? strlen(args[3]) :
		    sizeof(body);
		memcpy(body, args[3], len);
		ans.body = body;
		ans.body_len = len;
	} else if (strcmp(mode, "outcome") == 0) {
		if (nargs != 2)
			return (usage());
		ans.outcome = (uint8_t)atoi(args[1]);
	} else if (strcmp(mode, "garbage") != 0 && strcmp(mode, "mute") != 0)
		return (usage());
	if (link_client_connect(&l, broker, broker_pk, &key, token, 10000,
	    &result, url, sizeof(url), &why)) {
		fprintf(stderr, "hostile-agent: %s\n", why);
		return (1);
	}
	if (result != LM_OK) {
		fprintf(stderr, "hostile-agent: registration %s\n",
		    linkmsg_result_text(result));
		return (1);
	}
	link_set_scratch(&l, scratch);
	printf("registered\n");
	fflush(stdout);
	for (;;) {
		pfd.fd = l.fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
			return (1);
		while ((rc = link_recv(&l, &p, &len)) == 1) {
			if (linkmsg_decode(p, len, &m))
				return (1);
			if (m.type == LM_PING) {
				n = linkmsg_encode_empty(msg, sizeof(msg),
				    LM_PONG);
				if (send_msg(&l, msg, n))
					return (1);
				continue;
			}
			if (m.type != LM_REQUEST || strcmp(mode, "mute") == 0)
				continue;
			if (strcmp(mode, "garbage") == 0) {
				uint8_t frame[64], pt[1] = { LM_PONG };

				n = link_seal(&l.tx, pt, 1, frame);
				frame[n - 1] ^= 0x01;
				if (write(l.fd, frame, (size_t)n) != n)
					return (1);
				continue;
			}
			n = linkmsg_encode_answer(msg, sizeof(msg), m.id, &ans);
			if (send_msg(&l, msg, n))
				return (1);
		}
		if (rc < 0 || link_park(&l))
			return (0);	/* the broker closed the link */
	}
}

static int
flood_register(int count)
{
	struct device_key key;
	char token[TOKEN_LEN + 1], url[LINKMSG_URL_MAX + 1];
	int i, result, ok = 0, busy = 0, full = 0, other = 0;
	const char *why;
	struct link l;

	for (i = 0; i < count; i++) {
		device_key_generate(&key);
		token_generate(token);
		if (link_client_connect(&l, broker, broker_pk, &key, token,
		    10000, &result, url, sizeof(url), &why)) {
			other++;
			continue;
		}
		link_close(&l);
		if (result == LM_OK)
			ok++;
		else if (result == LM_REFUSED_BUSY)
			busy++;
		else if (result == LM_REFUSED_FULL)
			full++;
		else
			other++;
	}
	printf("ok %d busy %d full %d other %d\n", ok, busy, full, other);
	return (0);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x < y ? -1 : x > y);
}

static int
register_many(const char *dir, int count)
{
	struct device_key key;
	char token[TOKEN_LEN + 1], url[LINKMSG_URL_MAX + 1], path[4096];
	uint64_t t0, *ms;
	int i, result, ok = 0, fast = 0;
	const char *why;
	struct link l;

	if ((ms = calloc((size_t)count, sizeof(*ms))) == NULL)
		return (2);
	for (i = 0; i < count; i++) {
		snprintf(path, sizeof(path), "%s/dev.%d", dir, i);
		if (identity(path, &key, token))
			return (2);
		t0 = net_now_ms();
		if (link_client_connect(&l, broker, broker_pk, &key, token,
		    10000, &result, url, sizeof(url), &why) == 0) {
			link_close(&l);
			if (result == LM_OK)
				ok++;
		} else
			result = -1;
		ms[i] = net_now_ms() - t0;
		if (result == LM_OK && ms[i] <= 3000)
			fast++;
	}
	qsort(ms, (size_t)count, sizeof(*ms), cmp_u64);
	printf("ok %d of %d, within 3 s %d, slowest %llu ms, median %llu ms\n",
	    ok, count, fast, (unsigned long long)ms[count - 1],
	    (unsigned long long)ms[count / 2]);
	free(ms);
	return (0);
}

/* A non-blocking connection from ${src} that will send nothing. */
static int
silent_open(const struct sockaddr_in *dst, const char *src)
{
	struct sockaddr_in sin;
	int fd;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) < 0)
		return (-1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	if (inet_pton(AF_INET, src, &sin.sin_addr) != 1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    (connect(fd, (const struct sockaddr *)dst, sizeof(*dst)) &&
	    errno != EINPROGRESS)) {
		close(fd);
		return (-1);
	}
	return (fd);
}

static int
silent_flood(int count, int secs, char **srcs, int nsrcs)
{
	struct sockaddr_in dst;
	struct pollfd *pfd;
	struct rlimit rl;
	char host[64], buf[64];
	const char *port;
	uint64_t end;
	long opened = 0;
	int i, k = 0;

	if (net_split_hostport(broker, host, sizeof(host), &port) ||
	    count < 1 || nsrcs < 1)
		return (usage());
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)atoi(port));
	if (inet_pton(AF_INET, host, &dst.sin_addr) != 1)
		return (usage());
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if ((pfd = calloc((size_t)count, sizeof(*pfd))) == NULL)
		return (2);
	for (i = 0; i < count; i++) {
		pfd[i].fd = silent_open(&dst, srcs[k++ % nsrcs]);
		pfd[i].events = POLLIN;
		opened += pfd[i].fd >= 0;
	}
	end = net_now_ms() + (uint64_t)secs * 1000;
	while (net_now_ms() < end) {
		if (poll(pfd, (nfds_t)count, 100) < 0 && errno != EINTR)
			break;
		for (i = 0; i < count; i++) {
			if (pfd[i].fd >= 0 && pfd[i].revents == 0)
				continue;
			if (pfd[i].fd >= 0 && (pfd[i].revents & POLLIN) &&
			    read(pfd[i].fd, buf, sizeof(buf)) > 0)
				continue;
			/* Closed (or never opened): open it again. */
			if (pfd[i].fd >= 0)
				close(pfd[i].fd);
			pfd[i].fd = silent_open(&dst, srcs[k++ % nsrcs]);
			pfd[i].revents = 0;
			opened += pfd[i].fd >= 0;
		}
	}
	for (i = 0; i < count; i++)
		if (pfd[i].fd >= 0)
			close(pfd[i].fd);
	free(pfd);
	printf("opened %ld\n", opened);
	return (0);
}

static int
read_exact(int fd, uint8_t *p, size_t len)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;

	while (len > 0) {
		if (poll(&pfd, 1, 5000) <= 0)
			return (-1);
		n = read(fd, p, len);
		if (n <= 0)
			return (-1);
		p += n;
		len -= (size_t)n;
	}
	return (0);
}

/* One agent's session with the fake broker, until it goes. */
static void
fake_session(int fd, const struct broker_key *k, const char *url)
{
	uint8_t m1[NOISE_XK_MSG1_LEN(0)], m2[NOISE_XK_MSG2_LEN(0)];
	uint8_t m3[NOISE_XK_MSG3_LEN(LINKMSG_REGISTER_LEN)], pl[64];
	uint8_t msg[LINKMSG_URL_MAX + 16];
	struct noise_cipher tx, rx;
	struct noise_xk hs;
	struct linkmsg m;
	struct link l;
	const uint8_t *p;
	size_t len;
	long n;
	int rc;

	if (noise_xk_init(&hs, 0, (const uint8_t *)LINK_PROLOGUE,
	    strlen(LINK_PROLOGUE), k->sk, k->pk, NULL) ||
	    read_exact(fd, m1, sizeof(m1)) ||
	    noise_xk_read(&hs, m1, sizeof(m1), pl, sizeof(pl), &len) ||
	    noise_xk_write(&hs, NULL, 0, m2, sizeof(m2), &len) ||
	    write(fd, m2, len) != (ssize_t)len ||
	    read_exact(fd, m3, sizeof(m3)) ||
	    noise_xk_read(&hs, m3, sizeof(m3), pl, sizeof(pl), &len) ||
	    noise_xk_split(&hs, &tx, &rx)) {
		close(fd);
		return;
	}
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	link_init(&l, fd, &tx, &rx);
	link_set_scratch(&l, scratch);
	n = linkmsg_encode_result(msg, sizeof(msg), LM_WELCOME, LM_OK, url,
	    strlen(url));
	if (send_msg(&l, msg, n))
		goto out;
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (poll(&pfd, 1, -1) < 0)
			goto out;
		while ((rc = link_recv(&l, &p, &len)) == 1)
			if (linkmsg_decode(p, len, &m) == 0 &&
			    m.type == LM_PING) {
				n = linkmsg_encode_empty(msg, sizeof(msg),
				    LM_PONG);
				if (send_msg(&l, msg, n))
					goto out;
			}
		if (rc < 0 || link_park(&l))
			goto out;
	}
out:
	link_close(&l);
}

static int
fake_broker(const char *port, const char *keyfile, const char *url)
{
	struct sockaddr_in sin;
	struct broker_key k;
	socklen_t sl = sizeof(sin);
	const char *why;
	int lfd, fd, on = 1;

	if (broker_key_load(keyfile, &k, &why)) {
		fprintf(stderr, "hostile-agent: %s %s\n", keyfile, why);
		return (2);
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(port));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    listen(lfd, 16) ||
	    getsockname(lfd, (struct sockaddr *)&sin, &sl))
		return (2);
	printf("port %u\n", ntohs(sin.sin_port));
	fflush(stdout);
	while ((fd = accept(lfd, NULL, NULL)) >= 0)
		fake_session(fd, &k, url);
	return (1);
}

int
main(int argc, char **argv)
{
	const char *mode;

	if (sodium_init() < 0)
		return (2);
	if (argc >= 5 && strcmp(argv[1], "fake-broker") == 0)
		return (fake_broker(argv[2], argv[3], argv[4]));
	if (argc < 5)
		return (usage());
	mode = argv[1];
	broker = argv[2];
	if (key_from_base64(argv[3], broker_pk)) {
		fprintf(stderr, "hostile-agent: bad PUBKEY\n");
		return (2);
	}
	if (strcmp(mode, "flood-register") == 0)
		return (flood_register(atoi(argv[4])));
	if (strcmp(mode, "register-many") == 0 && argc == 6)
		return (register_many(argv[4], atoi(argv[5])));
	if (strcmp(mode, "silent-flood") == 0 && argc >= 7)
		return (silent_flood(atoi(argv[4]), atoi(argv[5]), argv + 6,
		    argc - 6));
	return (serve(mode, argv + 4, argc - 4));
}
