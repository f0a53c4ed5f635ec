/*
 * bindrace: races registrations across two brokers of a cluster, for the
 * integration tests.  Each race starts two processes at once (a pipe is
 * the starting gun), each with its own fresh device key.
 *
 *   bindrace races  N HOST:PORT HOST:PORT PUBKEY
 *       both register the same fresh token, one on each broker
 *   bindrace rotate N HOST:PORT HOST:PORT PUBKEY
 *       the first registers token T1 on the first broker, then rotates to
 *       T2 while the second (a hijacker who knows T2) registers T2 on the
 *       second broker
 *
 * Prints "races N two_winners X one Y none Z errors E" and exits 0 if no
 * race had two winners and no race had an error, 1 if not, 2 on usage.
 */
#include <sys/wait.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "keyfile.h"
#include "link.h"
#include "link_client.h"
#include "linkmsg.h"
#include "token.h"

#define WON 0
#define REFUSED 3
#define FAILED 4

static uint8_t pk[KEY_LEN];

static void
random_token(char t[TOKEN_LEN])
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789";
	int i;

	for (i = 0; i < TOKEN_LEN; i++)
		t[i] = a[randombytes_uniform(sizeof(a) - 1)];
}

static int
do_register(struct link *l, const char *broker, struct device_key *k,
    const char *token)
{
	char url[LINKMSG_URL_MAX + 1];
	const char *why;
	int result;

	if (link_client_connect(l, broker, pk, k, token, 10000, &result, url,
	    sizeof(url), &why))
		return (FAILED);
	return (result == LM_OK ? WON : REFUSED);
}

/* Send LM_ROTATE and wait for LM_ROTATED. */
static int
do_rotate(struct link *l, const char *token)
{
	uint8_t msg[LINK_PLAIN_MAX];
	const uint8_t *p;
	struct pollfd pfd;
	struct linkmsg m;
	size_t len;
	long n;
	int rc;

	n = linkmsg_encode_register(msg, sizeof(msg), LM_ROTATE, token);
	if (n < 0 || link_send(l, msg, (size_t)n) != 0)
		return (FAILED);
	for (;;) {
		pfd.fd = l->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 10000) <= 0)
			return (FAILED);
		while ((rc = link_recv(l, &p, &len)) == 1) {
			if (linkmsg_decode(p, len, &m))
				return (FAILED);
			if (m.type == LM_ROTATED)
				return (m.result == LM_OK ? WON : REFUSED);
		}
		if (rc < 0)
			return (FAILED);
	}
}

/* One side of a race: wait for the gun on ${gun}, then go. */
static int
side(int rotate, int first, const char *broker, const char *t1,
    const char *t2, int gun, int ready)
{
	struct device_key k;
	struct link l;
	char c;
	int rc = FAILED;

	memset(&l, 0, sizeof(l));
	l.fd = -1;
	device_key_generate(&k);
	if (rotate && first) {
		if (do_register(&l, broker, &k, t1) != WON)
			return (FAILED);
	}
	(void)!write(ready, "r", 1);
	if (read(gun, &c, 1) < 0)
		return (FAILED);
	if (rotate && first)
		rc = do_rotate(&l, t2);
	else
		rc = do_register(&l, broker, &k, rotate ? t2 : t1);
	if (l.fd >= 0)
		link_close(&l);
	return (rc);
}

int
main(int argc, char **argv)
{
	char t1[TOKEN_LEN + 1], t2[TOKEN_LEN + 1], c;
	int rotate, n, i, s, gun[2], ready[2], st[2], two = 0, one = 0,
	    none = 0, errors = 0;
	pid_t pid[2];

	if (argc != 6 || (strcmp(argv[1], "races") &&
	    strcmp(argv[1], "rotate")) || (n = atoi(argv[2])) <= 0) {
		fprintf(stderr, "usage: bindrace races|rotate N HOST:PORT "
		    "HOST:PORT PUBKEY\n");
		return (2);
	}
	rotate = strcmp(argv[1], "rotate") == 0;
	if (sodium_init() < 0 || key_from_base64(argv[5], pk))
		return (2);
	t1[TOKEN_LEN] = t2[TOKEN_LEN] = '\0';
	for (i = 0; i < n; i++) {
		random_token(t1);
		random_token(t2);
		if (pipe(gun) || pipe(ready))
			return (2);
		for (s = 0; s < 2; s++) {
			if ((pid[s] = fork()) < 0)
				return (2);
			if (pid[s] == 0) {
				close(gun[1]);
				close(ready[0]);
				_exit(side(rotate, s == 0, argv[3 + s], t1, t2,
				    gun[0], ready[1]));
			}
		}
		close(gun[0]);
		close(ready[1]);
		for (s = 0; s < 2; s++)
			(void)!read(ready[0], &c, 1);
		close(gun[1]);		/* both read EOF at once: go */
		close(ready[0]);
		for (s = 0; s < 2; s++) {
			if (waitpid(pid[s], &st[s], 0) < 0 ||
			    !WIFEXITED(st[s]))
				st[s] = FAILED;
			else
				st[s] = WEXITSTATUS(st[s]);
		}
		if (st[0] == FAILED || st[1] == FAILED)
			errors++;
		else if (st[0] == WON && st[1] == WON)
			two++;
		else if (st[0] == WON || st[1] == WON)
			one++;
		else
			none++;
	}
	printf("races %d two_winners %d one %d none %d errors %d\n", n, two,
	    one, none, errors);
	return (two == 0 && errors == 0 ? 0 : 1);
}
