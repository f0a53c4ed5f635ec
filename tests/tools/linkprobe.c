/*
 * linkprobe: attacks the broker's agent port on purpose, for the
 * integration tests.  Each mode sends one kind of bad input and exits 0 if
 * the broker reacted as it must (closed the connection, or refused the
 * registration), 1 if not, 2 on a usage or local error.
 *
 *   linkprobe MODE HOST:PORT PUBKEY [TOKEN [KEYFILE]]
 *
 *   garbage      48 random bytes instead of message 1
 *   silent       connect and send nothing (the handshake deadline)
 *   truncated    half of message 1, then close our side for writing
 *   flip1        message 1 with one bit flipped
 *   flip3        message 3 with one bit flipped
 *   replay1      message 1 of an earlier connection, then its message 3
 *   replay3      a fresh message 1, then message 3 of an earlier handshake
 *   wrongkey     pin a key the broker does not hold
 *   register     full handshake with TOKEN (device key KEYFILE, created if
 *                missing; a fresh key without one); prints the result and
 *                exits 0 if accepted, 3 if refused
 *   frame-zero   register, then a frame with length 0
 *   frame-big    register, then a frame longer than the maximum
 *   frame-replay register, then the same encrypted ping twice
 *   frame-reorder register, then two pings in the wrong order
 *   frame-flip   register, then a ping with a flipped bit
 *   bad-message  register, then a well-encrypted message of unknown type
 */
#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
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
#include "noise.h"
#include "wire.h"

#define MSG1 NOISE_XK_MSG1_LEN(0)
#define MSG2 NOISE_XK_MSG2_LEN(0)
#define MSG3 NOISE_XK_MSG3_LEN(LINKMSG_REGISTER_LEN)

static const char *probe_broker;
static uint8_t probe_pk[32];

static int
probe_connect(void)
{
	struct addrinfo hints, *res;
	char host[256];
	const char *colon = strrchr(probe_broker, ':');
	int fd;

	if (colon == NULL || (size_t)(colon - probe_broker) >= sizeof(host))
		return (-1);
	memcpy(host, probe_broker, (size_t)(colon - probe_broker));
	host[colon - probe_broker] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, colon + 1, &hints, &res))
		return (-1);
	fd = socket(res->ai_family, SOCK_STREAM, 0);
	if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen)) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return (fd);
}

/* Wait up to ${ms} for the broker to close: 1 if it did, 0 if not. */
static int
probe_closed(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char buf[256];
	ssize_t n;

	for (;;) {
		if (poll(&pfd, 1, ms) <= 0)
			return (0);
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			return (1);
	}
}

static int
read_exact(int fd, uint8_t *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = read(fd, p, len);
		if (n <= 0)
			return (-1);
		p += n;
		len -= (size_t)n;
	}
	return (0);
}

/* Run a handshake by hand.  Record messages 1 and 3 when asked. */
struct hand {
	int fd;
	struct noise_xk hs;
	struct device_key key;
	uint8_t m1[MSG1], m2[MSG2], m3[MSG3];
};

static int
hand_start(struct hand *h, const uint8_t *pin)
{
	size_t len;

	device_key_generate(&h->key);
	if ((h->fd = probe_connect()) < 0)
		return (-1);
	if (noise_xk_init(&h->hs, 1, (const uint8_t *)LINK_PROLOGUE,
	    strlen(LINK_PROLOGUE), h->key.sk, h->key.pk, pin))
		return (-1);
	return (noise_xk_write(&h->hs, NULL, 0, h->m1, sizeof(h->m1), &len));
}

static int
hand_finish(struct hand *h, const char *token)
{
	uint8_t reg[LINKMSG_REGISTER_LEN], pl[8];
	size_t len;

	if (read_exact(h->fd, h->m2, MSG2) ||
	    noise_xk_read(&h->hs, h->m2, MSG2, pl, sizeof(pl), &len))
		return (-1);
	linkmsg_encode_register(reg, sizeof(reg), LM_REGISTER, token);
	return (noise_xk_write(&h->hs, reg, sizeof(reg), h->m3, sizeof(h->m3),
	    &len));
}

static int
probe_register(struct link *l, const char *token, const char *keyfile,
    int *result)
{
	struct device_key key;
	const char *why;
	char url[600];

	if (keyfile != NULL) {
		if (device_key_load(keyfile, &key, &why)) {
			device_key_generate(&key);
			if (device_key_save(keyfile, &key))
				return (-1);
		}
	} else
		device_key_generate(&key);
	if (link_client_connect(l, probe_broker, probe_pk, &key, token, 5000,
	    result, url, sizeof(url), &why)) {
		fprintf(stderr, "linkprobe: %s\n", why);
		return (-1);
	}
	return (0);
}

/* Send raw bytes on a registered link's socket. */
static int
raw(struct link *l, const uint8_t *p, size_t len)
{
	return (write(l->fd, p, len) == (ssize_t)len ? 0 : -1);
}

static int
frame_mode(const char *mode, const char *token)
{
	uint8_t ping[1] = { LM_PING }, f1[64], f2[64], hdr[2];
	struct link l;
	long n1, n2;
	int result, closed;

	if (probe_register(&l, token, NULL, &result) || result != LM_OK) {
		fprintf(stderr, "linkprobe: registration failed\n");
		return (2);
	}
	if (strcmp(mode, "frame-zero") == 0) {
		wire_store_u16(hdr, 0);
		raw(&l, hdr, 2);
	} else if (strcmp(mode, "frame-big") == 0) {
		wire_store_u16(hdr, LINK_CIPHER_MAX + 1);
		raw(&l, hdr, 2);
	} else if (strcmp(mode, "frame-replay") == 0) {
		n1 = link_seal(&l.tx, ping, 1, f1);
		raw(&l, f1, (size_t)n1);
		raw(&l, f1, (size_t)n1);
	} else if (strcmp(mode, "frame-reorder") == 0) {
		n1 = link_seal(&l.tx, ping, 1, f1);
		n2 = link_seal(&l.tx, ping, 1, f2);
		raw(&l, f2, (size_t)n2);
		raw(&l, f1, (size_t)n1);
	} else if (strcmp(mode, "frame-flip") == 0) {
		n1 = link_seal(&l.tx, ping, 1, f1);
		f1[n1 - 3] ^= 0x10;
		raw(&l, f1, (size_t)n1);
	} else if (strcmp(mode, "bad-message") == 0) {
		ping[0] = 0x7f;
		n1 = link_seal(&l.tx, ping, 1, f1);
		raw(&l, f1, (size_t)n1);
	} else
		return (2);
	closed = probe_closed(l.fd, 3000);
	link_close(&l);
	return (closed ? 0 : 1);
}

int
main(int argc, char **argv)
{
	struct hand h, old;
	uint8_t junk[MSG1], other[32], sk[32];
	const char *mode, *token = NULL;
	struct link l;
	int result, fd;

	if (argc < 4) {
		fprintf(stderr, "usage: linkprobe MODE HOST:PORT PUBKEY "
		    "[TOKEN [KEYFILE]]\n");
		return (2);
	}
	if (sodium_init() < 0)
		return (2);
	mode = argv[1];
	probe_broker = argv[2];
	if (key_from_base64(argv[3], probe_pk)) {
		fprintf(stderr, "linkprobe: bad PUBKEY\n");
		return (2);
	}
	if (argc > 4)
		token = argv[4];

	if (strcmp(mode, "garbage") == 0) {
		randombytes_buf(junk, sizeof(junk));
		if ((fd = probe_connect()) < 0 || write(fd, junk, MSG1) != MSG1)
			return (2);
		return (probe_closed(fd, 3000) ? 0 : 1);
	}
	if (strcmp(mode, "silent") == 0) {
		if ((fd = probe_connect()) < 0)
			return (2);
		return (probe_closed(fd, 15000) ? 0 : 1);
	}
	if (strcmp(mode, "truncated") == 0) {
		if (hand_start(&h, probe_pk) || write(h.fd, h.m1, MSG1 / 2) < 0)
			return (2);
		shutdown(h.fd, SHUT_WR);
		return (probe_closed(h.fd, 3000) ? 0 : 1);
	}
	if (strcmp(mode, "flip1") == 0) {
		if (hand_start(&h, probe_pk))
			return (2);
		h.m1[40] ^= 0x01;
		if (write(h.fd, h.m1, MSG1) != MSG1)
			return (2);
		return (probe_closed(h.fd, 3000) ? 0 : 1);
	}
	if (strcmp(mode, "wrongkey") == 0) {
		crypto_box_keypair(other, sk);
		if (hand_start(&h, other) || write(h.fd, h.m1, MSG1) != MSG1)
			return (2);
		return (probe_closed(h.fd, 3000) ? 0 : 1);
	}
	if (token == NULL) {
		fprintf(stderr, "linkprobe: %s needs a TOKEN\n", mode);
		return (2);
	}
	if (strcmp(mode, "flip3") == 0 || strcmp(mode, "replay3") == 0 ||
	    strcmp(mode, "replay1") == 0) {
		/* A complete, valid handshake to record from. */
		if (hand_start(&old, probe_pk) ||
		    write(old.fd, old.m1, MSG1) != MSG1 ||
		    hand_finish(&old, token) ||
		    write(old.fd, old.m3, MSG3) != MSG3)
			return (2);
		/* Let the broker act on it before we go. */
		probe_closed(old.fd, 300);
		close(old.fd);
		if (strcmp(mode, "flip3") == 0) {
			if (hand_start(&h, probe_pk) ||
			    write(h.fd, h.m1, MSG1) != MSG1 ||
			    hand_finish(&h, token))
				return (2);
			h.m3[60] ^= 0x80;
			if (write(h.fd, h.m3, MSG3) != MSG3)
				return (2);
			return (probe_closed(h.fd, 3000) ? 0 : 1);
		}
		if ((fd = probe_connect()) < 0)
			return (2);
		if (strcmp(mode, "replay1") == 0) {
			/* The broker answers a replayed message 1 (it
			 * carries nothing), but no message 3 can follow. */
			if (write(fd, old.m1, MSG1) != MSG1 ||
			    read_exact(fd, h.m2, MSG2) ||
			    write(fd, old.m3, MSG3) != MSG3)
				return (1);
			return (probe_closed(fd, 3000) ? 0 : 1);
		}
		if (hand_start(&h, probe_pk) || write(h.fd, h.m1, MSG1) != MSG1 ||
		    read_exact(h.fd, h.m2, MSG2) ||
		    write(h.fd, old.m3, MSG3) != MSG3)
			return (2);
		return (probe_closed(h.fd, 3000) ? 0 : 1);
	}
	if (strcmp(mode, "register") == 0) {
		if (probe_register(&l, token, argc > 5 ? argv[5] : NULL,
		    &result))
			return (2);
		printf("%s\n", linkmsg_result_text(result));
		link_close(&l);
		return (result == LM_OK ? 0 : 3);
	}
	if (strncmp(mode, "frame-", 6) == 0 || strcmp(mode, "bad-message") == 0)
		return (frame_mode(mode, token));
	fprintf(stderr, "linkprobe: unknown mode %s\n", mode);
	return (2);
}
