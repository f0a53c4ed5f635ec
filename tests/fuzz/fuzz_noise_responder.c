/*
 * The broker's side of the Noise XK handshake fed arbitrary bytes.
 *
 * Input: u16 n (big-endian), then message 1 (the next n bytes, or fewer if
 * the input ends), then message 3 (the rest).  The responder has a fixed
 * static key and a fixed ephemeral key (the test hook), so that the seeds
 * made by gen_seeds.c with the same keys complete the handshake.  The
 * responder is driven as broker/agent.c drives it: message 1 must carry an
 * empty payload, message 2 is written, message 3's payload goes into a
 * LINKMSG_REGISTER_LEN buffer and is decoded as the registration.
 *
 * Invariants: no crash, no read or write outside the exact-sized buffers
 * (each message and each payload buffer is its own allocation), and an
 * accepted handshake is one whose every byte is authenticated: flipping any
 * bit of message 1 or 3, or cutting or extending either by a byte, must
 * make it fail.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fuzz.h"
#include "linkmsg.h"
#include "noise.h"

static uint8_t s_sk[NOISE_KEYLEN], s_pk[NOISE_KEYLEN], e_sk[NOISE_KEYLEN];

static void
fuzz_init(void)
{
	static int done;

	if (done)
		return;
	if (sodium_init() < 0)
		abort();
	memset(s_sk, FUZZ_BROKER_STATIC_BYTE, sizeof(s_sk));
	memset(e_sk, FUZZ_BROKER_EPHEMERAL_BYTE, sizeof(e_sk));
	if (crypto_scalarmult_base(s_pk, s_sk) != 0)
		abort();
	done = 1;
}

static uint8_t *
dup_exact(const uint8_t *p, size_t len)
{
	uint8_t *q = calloc(1, len ? len : 1);

	if (q == NULL)
		abort();
	if (len > 0)
		memcpy(q, p, len);
	return (q);
}

/*
 * One handshake as the broker runs it.  Return 1 if message 3 is accepted,
 * else 0.  ${reg} (when not NULL) gets the registration payload.
 */
static int
respond(const uint8_t *m1, size_t l1, const uint8_t *m3, size_t l3,
    struct linkmsg *reg, int *reg_ok)
{
	struct noise_xk hs;
	struct noise_cipher tx, rx;
	uint8_t *msg1 = dup_exact(m1, l1), *msg3 = dup_exact(m3, l3);
	uint8_t *pl1 = malloc(LINKMSG_REGISTER_LEN);
	uint8_t *pl3 = malloc(LINKMSG_REGISTER_LEN);
	uint8_t *msg2 = malloc(NOISE_XK_MSG2_LEN(0));
	size_t plen, mlen;
	int accepted = 0;

	if (pl1 == NULL || pl3 == NULL || msg2 == NULL)
		abort();
	FUZZ_CHECK(noise_xk_init(&hs, 0, (const uint8_t *)LINK_PROLOGUE,
	    strlen(LINK_PROLOGUE), s_sk, s_pk, NULL) == 0);
	FUZZ_CHECK(noise_xk_set_ephemeral(&hs, e_sk) == 0);
	/* The responder never writes first. */
	FUZZ_CHECK(noise_xk_write(&hs, NULL, 0, msg2, NOISE_XK_MSG2_LEN(0),
	    &mlen) == -1);
	if (noise_xk_read(&hs, msg1, l1, pl1, LINKMSG_REGISTER_LEN,
	    &plen) != 0)
		goto out;
	FUZZ_CHECK(plen <= LINKMSG_REGISTER_LEN);
	FUZZ_CHECK(l1 == NOISE_XK_MSG1_LEN(plen));
	/* broker/agent.c: message 1 carries no payload. */
	if (plen != 0)
		goto out;
	/* Not our turn to read again. */
	FUZZ_CHECK(noise_xk_read(&hs, msg1, l1, pl3, LINKMSG_REGISTER_LEN,
	    &plen) == -1);
	FUZZ_CHECK(noise_xk_write(&hs, NULL, 0, msg2, NOISE_XK_MSG2_LEN(0),
	    &mlen) == 0);
	FUZZ_CHECK(mlen == NOISE_XK_MSG2_LEN(0));
	if (noise_xk_read(&hs, msg3, l3, pl3, LINKMSG_REGISTER_LEN,
	    &plen) != 0)
		goto out;
	FUZZ_CHECK(plen <= LINKMSG_REGISTER_LEN);
	FUZZ_CHECK(l3 == NOISE_XK_MSG3_LEN(plen));
	/* Done: the state refuses any further message either way. */
	FUZZ_CHECK(noise_xk_read(&hs, msg3, l3, pl1, LINKMSG_REGISTER_LEN,
	    &mlen) == -1);
	FUZZ_CHECK(noise_xk_write(&hs, NULL, 0, msg2, NOISE_XK_MSG2_LEN(0),
	    &mlen) == -1);
	FUZZ_CHECK(noise_xk_split(&hs, &tx, &rx) == 0);
	FUZZ_CHECK(tx.has_key && rx.has_key && tx.n == 0 && rx.n == 0);
	FUZZ_CHECK(memcmp(tx.k, rx.k, NOISE_KEYLEN) != 0);
	if (reg != NULL)
		*reg_ok = linkmsg_decode(pl3, plen, reg) == 0 &&
		    reg->type == LM_REGISTER;
	accepted = 1;
	noise_cipher_wipe(&tx);
	noise_cipher_wipe(&rx);
out:
	noise_xk_wipe(&hs);
	free(msg1);
	free(msg3);
	free(pl1);
	free(pl3);
	free(msg2);
	return (accepted);
}

/* After an accepted handshake: every byte must count. */
static void
check_authenticated(const uint8_t *m1, size_t l1, const uint8_t *m3,
    size_t l3)
{
	uint8_t *a = malloc(l1 + 1), *b = malloc(l3 + 1);
	size_t i;

	if (a == NULL || b == NULL)
		abort();
	memcpy(a, m1, l1);
	memcpy(b, m3, l3);

	for (i = 0; i < l1; i++) {
		a[i] ^= 0x01;
		FUZZ_CHECK(!respond(a, l1, m3, l3, NULL, NULL));
		a[i] ^= 0x01;
	}
	for (i = 0; i < l3; i++) {
		b[i] ^= 0x80;
		FUZZ_CHECK(!respond(m1, l1, b, l3, NULL, NULL));
		b[i] ^= 0x80;
	}
	a[l1] = 0;
	b[l3] = 0;
	FUZZ_CHECK(!respond(a, l1 - 1, m3, l3, NULL, NULL));
	FUZZ_CHECK(!respond(a, l1 + 1, m3, l3, NULL, NULL));
	FUZZ_CHECK(!respond(m1, l1, b, l3 - 1, NULL, NULL));
	FUZZ_CHECK(!respond(m1, l1, b, l3 + 1, NULL, NULL));
	free(a);
	free(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct linkmsg reg;
	size_t l1, l3;
	int reg_ok = 0;

	fuzz_init();
	if (size < 2)
		return (0);
	l1 = (size_t)data[0] << 8 | data[1];
	data += 2;
	size -= 2;
	if (l1 > size)
		l1 = size;
	l3 = size - l1;
	if (!respond(data, l1, data + l1, l3, &reg, &reg_ok))
		return (0);
	/* The broker reads exactly these sizes: nothing else can pass. */
	FUZZ_CHECK(l1 == NOISE_XK_MSG1_LEN(0));
	FUZZ_CHECK(l3 >= NOISE_XK_MSG3_LEN(0) &&
	    l3 <= NOISE_XK_MSG3_LEN(LINKMSG_REGISTER_LEN));
	if (reg_ok)
		FUZZ_CHECK(l3 == NOISE_XK_MSG3_LEN(LINKMSG_REGISTER_LEN));
	check_authenticated(data, l1, data + l1, l3);
	return (0);
}
