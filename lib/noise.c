/*
 * Noise XK on libsodium.  The functions below follow the names and order of
 * sections 5.1 (CipherState), 5.2 (SymmetricState) and 5.3 (HandshakeState)
 * of the Noise specification, revision 34, so that a reader can check them
 * line by line against it.
 */
#include <string.h>

#include <sodium.h>

#include "noise.h"

static const char noise_protocol_name[] = "Noise_XK_25519_ChaChaPoly_SHA512";

/* 5.1 CipherState */

static void
cipher_initialize_key(struct noise_cipher *c, const uint8_t k[NOISE_KEYLEN])
{
	memcpy(c->k, k, NOISE_KEYLEN);
	c->n = 0;
	c->has_key = 1;
}

static void
cipher_nonce(uint8_t nonce[12], uint64_t n)
{
	int i;

	/* 32 bits of zeros, then the 64-bit counter little-endian. */
	memset(nonce, 0, 4);
	for (i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(n >> (8 * i));
}

int
noise_encrypt(struct noise_cipher *c, const uint8_t *ad, size_t ad_len,
    const uint8_t *pt, size_t pt_len, uint8_t *out)
{
	uint8_t nonce[12];
	unsigned long long clen;

	/* 2^64-1 is reserved; a session never gets near it, but refuse. */
	if (!c->has_key || c->n == UINT64_MAX)
		return (-1);
	cipher_nonce(nonce, c->n);
	if (crypto_aead_chacha20poly1305_ietf_encrypt(out, &clen, pt, pt_len,
	    ad, ad_len, NULL, nonce, c->k) != 0)
		return (-1);
	c->n++;
	return (0);
}

int
noise_decrypt(struct noise_cipher *c, const uint8_t *ad, size_t ad_len,
    const uint8_t *ct, size_t ct_len, uint8_t *out)
{
	uint8_t nonce[12];
	unsigned long long plen;

	if (!c->has_key || c->n == UINT64_MAX || ct_len < NOISE_TAGLEN)
		return (-1);
	cipher_nonce(nonce, c->n);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(out, &plen, NULL, ct,
	    ct_len, ad, ad_len, nonce, c->k) != 0)
		return (-1);
	c->n++;
	return (0);
}

void
noise_cipher_wipe(struct noise_cipher *c)
{
	sodium_memzero(c, sizeof(*c));
}

/* 4.3 Hash functions: HMAC and HKDF */

static void
hmac(uint8_t out[NOISE_HASHLEN], const uint8_t *key, size_t key_len,
    const uint8_t *d1, size_t d1_len, const uint8_t *d2, size_t d2_len)
{
	crypto_auth_hmacsha512_state st;

	crypto_auth_hmacsha512_init(&st, key, key_len);
	crypto_auth_hmacsha512_update(&st, d1, d1_len);
	if (d2_len > 0)
		crypto_auth_hmacsha512_update(&st, d2, d2_len);
	crypto_auth_hmacsha512_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

/* HKDF(chaining_key, input_key_material, 2): two outputs of HASHLEN. */
static void
hkdf2(const uint8_t ck[NOISE_HASHLEN], const uint8_t *ikm, size_t ikm_len,
    uint8_t out1[NOISE_HASHLEN], uint8_t out2[NOISE_HASHLEN])
{
	uint8_t temp_key[NOISE_HASHLEN];
	const uint8_t one = 0x01, two = 0x02;

	hmac(temp_key, ck, NOISE_HASHLEN, ikm, ikm_len, NULL, 0);
	hmac(out1, temp_key, NOISE_HASHLEN, &one, 1, NULL, 0);
	hmac(out2, temp_key, NOISE_HASHLEN, out1, NOISE_HASHLEN, &two, 1);
	sodium_memzero(temp_key, sizeof(temp_key));
}

/* 5.2 SymmetricState */

static void
mix_hash(struct noise_xk *hs, const uint8_t *data, size_t len)
{
	crypto_hash_sha512_state st;

	crypto_hash_sha512_init(&st);
	crypto_hash_sha512_update(&st, hs->h, NOISE_HASHLEN);
	crypto_hash_sha512_update(&st, data, len);
	crypto_hash_sha512_final(&st, hs->h);
}

static void
mix_key(struct noise_xk *hs, const uint8_t *ikm, size_t ikm_len)
{
	uint8_t temp_k[NOISE_HASHLEN];

	hkdf2(hs->ck, ikm, ikm_len, hs->ck, temp_k);
	/* HASHLEN is 64: truncate temp_k to 32 bytes. */
	cipher_initialize_key(&hs->cs, temp_k);
	sodium_memzero(temp_k, sizeof(temp_k));
}

/* Write len + TAGLEN bytes (or len before the first key) to out. */
static int
encrypt_and_hash(struct noise_xk *hs, const uint8_t *pt, size_t len,
    uint8_t *out, size_t *out_len)
{
	if (hs->cs.has_key) {
		if (noise_encrypt(&hs->cs, hs->h, NOISE_HASHLEN, pt, len, out))
			return (-1);
		len += NOISE_TAGLEN;
	} else if (len > 0)
		memmove(out, pt, len);
	mix_hash(hs, out, len);
	*out_len = len;
	return (0);
}

static int
decrypt_and_hash(struct noise_xk *hs, const uint8_t *ct, size_t len,
    uint8_t *out, size_t *out_len)
{
	uint8_t h[NOISE_HASHLEN];

	/* MixHash takes the ciphertext, which out may overwrite. */
	memcpy(h, hs->h, NOISE_HASHLEN);
	mix_hash(hs, ct, len);
	if (hs->cs.has_key) {
		if (noise_decrypt(&hs->cs, h, NOISE_HASHLEN, ct, len, out))
			return (-1);
		len -= NOISE_TAGLEN;
	} else if (len > 0)
		memmove(out, ct, len);
	*out_len = len;
	return (0);
}

/* DH(private, public), refusing low-order points (all-zero output). */
static int
dh(struct noise_xk *hs, const uint8_t sk[NOISE_KEYLEN],
    const uint8_t pk[NOISE_KEYLEN])
{
	uint8_t shared[NOISE_KEYLEN];
	int rc;

	rc = crypto_scalarmult(shared, sk, pk);
	if (rc == 0)
		mix_key(hs, shared, sizeof(shared));
	sodium_memzero(shared, sizeof(shared));
	return (rc == 0 ? 0 : -1);
}

static int
generate_ephemeral(struct noise_xk *hs)
{
	if (!hs->fixed_ephemeral)
		randombytes_buf(hs->e_sk, NOISE_KEYLEN);
	return (crypto_scalarmult_base(hs->e_pk, hs->e_sk));
}

/* 5.3 HandshakeState */

int
noise_xk_init(struct noise_xk *hs, int initiator, const uint8_t *prologue,
    size_t prologue_len, const uint8_t s_sk[NOISE_KEYLEN],
    const uint8_t s_pk[NOISE_KEYLEN], const uint8_t *rs)
{
	memset(hs, 0, sizeof(*hs));
	if (initiator && rs == NULL)
		return (-1);
	hs->initiator = initiator;
	hs->step = 1;
	/* The name is shorter than HASHLEN: h = name padded with zeros. */
	memcpy(hs->h, noise_protocol_name, sizeof(noise_protocol_name) - 1);
	memcpy(hs->ck, hs->h, NOISE_HASHLEN);
	mix_hash(hs, prologue, prologue_len);
	memcpy(hs->s_sk, s_sk, NOISE_KEYLEN);
	memcpy(hs->s_pk, s_pk, NOISE_KEYLEN);
	/* Pre-message "<- s": both sides hash the responder's static key. */
	if (initiator) {
		memcpy(hs->rs, rs, NOISE_KEYLEN);
		mix_hash(hs, hs->rs, NOISE_KEYLEN);
	} else
		mix_hash(hs, hs->s_pk, NOISE_KEYLEN);
	return (0);
}

int
noise_xk_set_ephemeral(struct noise_xk *hs, const uint8_t e_sk[NOISE_KEYLEN])
{
	memcpy(hs->e_sk, e_sk, NOISE_KEYLEN);
	hs->fixed_ephemeral = 1;
	return (0);
}

static int
our_turn(const struct noise_xk *hs)
{
	/* The initiator writes messages 1 and 3, the responder message 2. */
	return (hs->initiator == (hs->step != 2));
}

int
noise_xk_write(struct noise_xk *hs, const uint8_t *payload,
    size_t payload_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	size_t need, n, off = 0;

	if (hs->step < 1 || hs->step > 3 || !our_turn(hs))
		return (-1);
	need = (hs->step == 3 ? NOISE_XK_MSG3_LEN(payload_len) :
	    NOISE_XK_MSG1_LEN(payload_len));
	if (need > out_cap || need > NOISE_MSG_MAX)
		return (-1);

	switch (hs->step) {
	case 1:		/* -> e, es */
		if (generate_ephemeral(hs))
			return (-1);
		memcpy(out, hs->e_pk, NOISE_KEYLEN);
		mix_hash(hs, hs->e_pk, NOISE_KEYLEN);
		off = NOISE_KEYLEN;
		if (dh(hs, hs->e_sk, hs->rs))
			return (-1);
		break;
	case 2:		/* <- e, ee */
		if (generate_ephemeral(hs))
			return (-1);
		memcpy(out, hs->e_pk, NOISE_KEYLEN);
		mix_hash(hs, hs->e_pk, NOISE_KEYLEN);
		off = NOISE_KEYLEN;
		if (dh(hs, hs->e_sk, hs->re))
			return (-1);
		break;
	case 3:		/* -> s, se */
		if (encrypt_and_hash(hs, hs->s_pk, NOISE_KEYLEN, out, &n))
			return (-1);
		off = n;
		if (dh(hs, hs->s_sk, hs->re))
			return (-1);
		break;
	}
	if (encrypt_and_hash(hs, payload, payload_len, out + off, &n))
		return (-1);
	*out_len = off + n;
	hs->step++;
	return (0);
}

int
noise_xk_read(struct noise_xk *hs, const uint8_t *msg, size_t msg_len,
    uint8_t *payload, size_t payload_cap, size_t *payload_len)
{
	size_t head, n;

	if (hs->step < 1 || hs->step > 3 || our_turn(hs))
		return (-1);
	head = (hs->step == 3 ? NOISE_KEYLEN + NOISE_TAGLEN : NOISE_KEYLEN);
	/* Every message ends with an encrypted payload: at least one tag. */
	if (msg_len < head + NOISE_TAGLEN || msg_len > NOISE_MSG_MAX ||
	    msg_len - head - NOISE_TAGLEN > payload_cap)
		return (-1);

	switch (hs->step) {
	case 1:		/* -> e, es */
		memcpy(hs->re, msg, NOISE_KEYLEN);
		mix_hash(hs, hs->re, NOISE_KEYLEN);
		if (dh(hs, hs->s_sk, hs->re))
			return (-1);
		break;
	case 2:		/* <- e, ee */
		memcpy(hs->re, msg, NOISE_KEYLEN);
		mix_hash(hs, hs->re, NOISE_KEYLEN);
		if (dh(hs, hs->e_sk, hs->re))
			return (-1);
		break;
	case 3:		/* -> s, se */
		if (decrypt_and_hash(hs, msg, head, hs->rs, &n))
			return (-1);
		if (dh(hs, hs->e_sk, hs->rs))
			return (-1);
		break;
	}
	if (decrypt_and_hash(hs, msg + head, msg_len - head, payload, &n))
		return (-1);
	*payload_len = n;
	hs->step++;
	return (0);
}

int
noise_xk_split(struct noise_xk *hs, struct noise_cipher *tx,
    struct noise_cipher *rx)
{
	uint8_t k1[NOISE_HASHLEN], k2[NOISE_HASHLEN];

	if (hs->step != 4)
		return (-1);
	hkdf2(hs->ck, NULL, 0, k1, k2);
	/* k1 protects initiator-to-responder traffic, k2 the other way. */
	memset(tx, 0, sizeof(*tx));
	memset(rx, 0, sizeof(*rx));
	cipher_initialize_key(hs->initiator ? tx : rx, k1);
	cipher_initialize_key(hs->initiator ? rx : tx, k2);
	sodium_memzero(k1, sizeof(k1));
	sodium_memzero(k2, sizeof(k2));
	/* Keep rs and h for the caller; erase every secret. */
	sodium_memzero(&hs->cs, sizeof(hs->cs));
	sodium_memzero(hs->ck, sizeof(hs->ck));
	sodium_memzero(hs->s_sk, sizeof(hs->s_sk));
	sodium_memzero(hs->e_sk, sizeof(hs->e_sk));
	hs->step = 5;
	return (0);
}

const uint8_t *
noise_xk_remote_static(const struct noise_xk *hs)
{
	return (hs->rs);
}

const uint8_t *
noise_xk_handshake_hash(const struct noise_xk *hs)
{
	return (hs->h);
}

void
noise_xk_wipe(struct noise_xk *hs)
{
	sodium_memzero(hs, sizeof(*hs));
}
