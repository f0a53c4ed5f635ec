#ifndef AWTRIX_NOISE_H
#define AWTRIX_NOISE_H

/*
 * Noise_XK_25519_ChaChaPoly_SHA512 (Noise Protocol Framework, revision 34),
 * built from libsodium 1.0.18 primitives only: X25519, ChaCha20-Poly1305
 * IETF, SHA-512, and HKDF built from HMAC-SHA512 exactly as section 4.3 of
 * the specification defines it.
 *
 *   XK:
 *     <- s
 *     ...
 *     -> e, es
 *     <- e, ee
 *     -> s, se
 *
 * Every function that can fail returns -1 and leaves the state unusable: the
 * caller must drop the connection (and call noise_xk_wipe).
 */

#include <stddef.h>
#include <stdint.h>

#define NOISE_KEYLEN 32		/* X25519 keys and cipher keys */
#define NOISE_HASHLEN 64	/* SHA-512 */
#define NOISE_TAGLEN 16		/* Poly1305 */
#define NOISE_MSG_MAX 65535

/* Sizes of the three XK handshake messages for a given payload length. */
#define NOISE_XK_MSG1_LEN(p) (NOISE_KEYLEN + (p) + NOISE_TAGLEN)
#define NOISE_XK_MSG2_LEN(p) (NOISE_KEYLEN + (p) + NOISE_TAGLEN)
#define NOISE_XK_MSG3_LEN(p) (NOISE_KEYLEN + NOISE_TAGLEN + (p) + NOISE_TAGLEN)

struct noise_cipher {
	uint8_t k[NOISE_KEYLEN];
	uint64_t n;
	int has_key;
};

struct noise_xk {
	struct noise_cipher cs;
	uint8_t ck[NOISE_HASHLEN];
	uint8_t h[NOISE_HASHLEN];
	uint8_t s_sk[NOISE_KEYLEN], s_pk[NOISE_KEYLEN];
	uint8_t e_sk[NOISE_KEYLEN], e_pk[NOISE_KEYLEN];
	uint8_t rs[NOISE_KEYLEN], re[NOISE_KEYLEN];
	int initiator;
	int fixed_ephemeral;	/* test hook: e_sk was injected */
	int step;		/* next message: 1, 2, 3; 4 when done */
};

/**
 * noise_xk_init(hs, initiator, prologue, prologue_len, s_sk, s_pk, rs):
 * Start an XK handshake as initiator (${initiator} != 0) or responder, with
 * the local static key pair ${s_sk}/${s_pk}.  The initiator passes the
 * responder's static public key ${rs} (pinned); the responder passes NULL.
 * Return 0 on success or -1.
 */
int noise_xk_init(struct noise_xk *hs, int initiator, const uint8_t *prologue,
    size_t prologue_len, const uint8_t s_sk[NOISE_KEYLEN],
    const uint8_t s_pk[NOISE_KEYLEN], const uint8_t *rs);

/**
 * noise_xk_set_ephemeral(hs, e_sk):
 * Test hook: use ${e_sk} as the ephemeral private key instead of a fresh
 * random one.  Only the known-answer tests call this.  Return 0 or -1.
 */
int noise_xk_set_ephemeral(struct noise_xk *hs, const uint8_t e_sk[NOISE_KEYLEN]);

/**
 * noise_xk_write(hs, payload, payload_len, out, out_cap, out_len):
 * Write the next handshake message (it must be ours to write) carrying
 * ${payload} into ${out}, and store its length in ${out_len}.
 * Return 0 on success or -1.
 */
int noise_xk_write(struct noise_xk *hs, const uint8_t *payload,
    size_t payload_len, uint8_t *out, size_t out_cap, size_t *out_len);

/**
 * noise_xk_read(hs, msg, msg_len, payload, payload_cap, payload_len):
 * Read the next handshake message ${msg} (it must be the peer's), and store
 * its decrypted payload in ${payload} and its length in ${payload_len}.
 * Return 0 on success or -1 (bad length, failed authentication, low-order
 * point).
 */
int noise_xk_read(struct noise_xk *hs, const uint8_t *msg, size_t msg_len,
    uint8_t *payload, size_t payload_cap, size_t *payload_len);

/**
 * noise_xk_split(hs, tx, rx):
 * After the third message, derive the two transport CipherStates: ${tx} for
 * what we send and ${rx} for what we receive.  Wipe the handshake state.
 * Return 0 or -1.
 */
int noise_xk_split(struct noise_xk *hs, struct noise_cipher *tx,
    struct noise_cipher *rx);

/**
 * noise_xk_remote_static(hs):
 * The peer's static public key (valid for the responder after message 3).
 */
const uint8_t *noise_xk_remote_static(const struct noise_xk *hs);

/**
 * noise_xk_handshake_hash(hs):
 * The handshake hash h (NOISE_HASHLEN bytes); read it before split.
 */
const uint8_t *noise_xk_handshake_hash(const struct noise_xk *hs);

/**
 * noise_xk_wipe(hs):
 * Erase every key in ${hs}.
 */
void noise_xk_wipe(struct noise_xk *hs);

/**
 * noise_encrypt(c, ad, ad_len, pt, pt_len, out):
 * EncryptWithAd: write ${pt_len} + NOISE_TAGLEN bytes to ${out} (which may
 * equal ${pt}) and advance the nonce.  Return 0 or -1 (no key, nonce
 * exhausted).
 */
int noise_encrypt(struct noise_cipher *c, const uint8_t *ad, size_t ad_len,
    const uint8_t *pt, size_t pt_len, uint8_t *out);

/**
 * noise_decrypt(c, ad, ad_len, ct, ct_len, out):
 * DecryptWithAd: authenticate ${ct} and write ${ct_len} - NOISE_TAGLEN bytes
 * to ${out} (which may equal ${ct}).  The nonce advances only on success.
 * Return 0 or -1.
 */
int noise_decrypt(struct noise_cipher *c, const uint8_t *ad, size_t ad_len,
    const uint8_t *ct, size_t ct_len, uint8_t *out);

/**
 * noise_cipher_wipe(c):
 * Erase the key of ${c}.
 */
void noise_cipher_wipe(struct noise_cipher *c);

#endif
