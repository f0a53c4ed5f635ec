/*
 * Known-answer tests: our Noise XK must reproduce, byte for byte, every
 * handshake and transport message of the official vectors for
 * Noise_XK_25519_ChaChaPoly_SHA512 (tests/vectors, from the noise-c suite),
 * and the handshake hash where the vector gives it.  Then the failure cases
 * the link relies on: flipped bits, wrong keys, replays, truncation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <sodium.h>

#include "noise.h"

#define VECTORS "tests/vectors/noise-25519-chachapoly.json"

static size_t
hex_to_bin(const char *hex, uint8_t *out, size_t cap)
{
	size_t len;

	assert_int_equal(sodium_hex2bin(out, cap, hex, strlen(hex), NULL, &len,
	    NULL), 0);
	return (len);
}

static const char *
field(json_object *v, const char *name)
{
	json_object *f;

	if (!json_object_object_get_ex(v, name, &f))
		return (NULL);
	return (json_object_get_string(f));
}

static void
key_field(json_object *v, const char *name, uint8_t out[32])
{
	const char *hex = field(v, name);

	assert_non_null(hex);
	assert_int_equal(hex_to_bin(hex, out, 32), 32);
}

static void
run_vector(json_object *v)
{
	struct noise_xk init, resp;
	struct noise_cipher itx, irx, rtx, rrx;
	uint8_t prologue[256], s_sk[32], s_pk[32], e_sk[32], rs[32];
	uint8_t r_sk[32], r_pk[32], r_e[32];
	uint8_t payload[1024], expect[1024], msg[1024], got[1024];
	size_t plen, elen, mlen, glen, i, n;
	json_object *msgs, *m;
	const char *hh;

	n = hex_to_bin(field(v, "init_prologue"), prologue, sizeof(prologue));
	key_field(v, "init_static", s_sk);
	key_field(v, "init_ephemeral", e_sk);
	key_field(v, "init_remote_static", rs);
	key_field(v, "resp_static", r_sk);
	key_field(v, "resp_ephemeral", r_e);
	crypto_scalarmult_base(s_pk, s_sk);
	crypto_scalarmult_base(r_pk, r_sk);
	assert_memory_equal(r_pk, rs, 32);

	assert_int_equal(noise_xk_init(&init, 1, prologue, n, s_sk, s_pk, rs), 0);
	assert_int_equal(noise_xk_init(&resp, 0, prologue, n, r_sk, r_pk, NULL), 0);
	noise_xk_set_ephemeral(&init, e_sk);
	noise_xk_set_ephemeral(&resp, r_e);

	assert_true(json_object_object_get_ex(v, "messages", &msgs));
	for (i = 0; i < json_object_array_length(msgs); i++) {
		m = json_object_array_get_idx(msgs, i);
		plen = hex_to_bin(field(m, "payload"), payload, sizeof(payload));
		elen = hex_to_bin(field(m, "ciphertext"), expect, sizeof(expect));
		/* Messages alternate: initiator, responder, initiator, ... */
		int from_init = (i % 2 == 0);
		if (i < 3) {
			struct noise_xk *w = from_init ? &init : &resp;
			struct noise_xk *r = from_init ? &resp : &init;
			assert_int_equal(noise_xk_write(w, payload, plen, msg,
			    sizeof(msg), &mlen), 0);
			assert_int_equal(mlen, elen);
			assert_memory_equal(msg, expect, elen);
			assert_int_equal(noise_xk_read(r, msg, mlen, got,
			    sizeof(got), &glen), 0);
			assert_int_equal(glen, plen);
			assert_memory_equal(got, payload, plen);
			if (i == 2) {
				hh = field(v, "handshake_hash");
				if (hh != NULL) {
					uint8_t h[64];
					assert_int_equal(hex_to_bin(hh, h,
					    sizeof(h)), 64);
					assert_memory_equal(h,
					    noise_xk_handshake_hash(&init), 64);
					assert_memory_equal(h,
					    noise_xk_handshake_hash(&resp), 64);
				}
				assert_memory_equal(
				    noise_xk_remote_static(&resp), s_pk, 32);
				assert_int_equal(noise_xk_split(&init, &itx,
				    &irx), 0);
				assert_int_equal(noise_xk_split(&resp, &rtx,
				    &rrx), 0);
			}
			continue;
		}
		struct noise_cipher *tx = from_init ? &itx : &rtx;
		struct noise_cipher *rx = from_init ? &rrx : &irx;
		assert_int_equal(noise_encrypt(tx, NULL, 0, payload, plen, msg), 0);
		assert_int_equal(plen + NOISE_TAGLEN, elen);
		assert_memory_equal(msg, expect, elen);
		assert_int_equal(noise_decrypt(rx, NULL, 0, msg, elen, got), 0);
		assert_memory_equal(got, payload, plen);
	}
}

static void
test_vectors(void **state)
{
	json_object *root, *vectors, *v;
	const char *name;
	size_t i, ran = 0;

	(void)state;
	root = json_object_from_file(VECTORS);
	assert_non_null(root);
	assert_true(json_object_object_get_ex(root, "vectors", &vectors));
	for (i = 0; i < json_object_array_length(vectors); i++) {
		v = json_object_array_get_idx(vectors, i);
		name = field(v, "name");
		if (strcmp(name, "Noise_XK_25519_ChaChaPoly_SHA512") != 0)
			continue;
		print_message("vector %zu: %s\n", i, name);
		run_vector(v);
		ran++;
	}
	assert_int_equal(ran, 2);
	json_object_put(root);
}

/* A complete handshake between two fresh parties; returns both ciphers. */
struct pair {
	uint8_t isk[32], ipk[32], rsk[32], rpk[32];
	struct noise_xk init, resp;
	uint8_t m1[128], m2[128], m3[256];
	size_t l1, l2, l3;
};

static void
pair_setup(struct pair *p)
{
	crypto_box_keypair(p->ipk, p->isk);
	crypto_box_keypair(p->rpk, p->rsk);
	assert_int_equal(noise_xk_init(&p->init, 1, (const uint8_t *)"p", 1,
	    p->isk, p->ipk, p->rpk), 0);
	assert_int_equal(noise_xk_init(&p->resp, 0, (const uint8_t *)"p", 1,
	    p->rsk, p->rpk, NULL), 0);
}

static void
test_flipped_bits(void **state)
{
	struct pair p;
	uint8_t out[256];
	size_t olen, bit, msgno;

	(void)state;
	/* Every bit of every message, for message 1, 2 and 3. */
	for (msgno = 1; msgno <= 3; msgno++) {
		for (bit = 0; bit < 8 * 48; bit += 7) {
			pair_setup(&p);
			assert_int_equal(noise_xk_write(&p.init,
			    (const uint8_t *)"", 0, p.m1, sizeof(p.m1), &p.l1), 0);
			if (msgno == 1) {
				p.m1[bit / 8] ^= (uint8_t)(1 << (bit % 8));
				assert_int_equal(noise_xk_read(&p.resp, p.m1,
				    p.l1, out, sizeof(out), &olen), -1);
				continue;
			}
			assert_int_equal(noise_xk_read(&p.resp, p.m1, p.l1, out,
			    sizeof(out), &olen), 0);
			assert_int_equal(noise_xk_write(&p.resp,
			    (const uint8_t *)"", 0, p.m2, sizeof(p.m2), &p.l2), 0);
			if (msgno == 2) {
				p.m2[bit / 8] ^= (uint8_t)(1 << (bit % 8));
				assert_int_equal(noise_xk_read(&p.init, p.m2,
				    p.l2, out, sizeof(out), &olen), -1);
				continue;
			}
			assert_int_equal(noise_xk_read(&p.init, p.m2, p.l2, out,
			    sizeof(out), &olen), 0);
			assert_int_equal(noise_xk_write(&p.init,
			    (const uint8_t *)"reg", 3, p.m3, sizeof(p.m3), &p.l3), 0);
			p.m3[bit / 8 % p.l3] ^= (uint8_t)(1 << (bit % 8));
			assert_int_equal(noise_xk_read(&p.resp, p.m3, p.l3, out,
			    sizeof(out), &olen), -1);
		}
	}
}

static void
test_wrong_responder_key(void **state)
{
	struct pair p;
	uint8_t other_pk[32], other_sk[32], out[64];
	size_t olen;

	(void)state;
	pair_setup(&p);
	/* The initiator pinned a key the responder does not hold. */
	crypto_box_keypair(other_pk, other_sk);
	assert_int_equal(noise_xk_init(&p.init, 1, (const uint8_t *)"p", 1,
	    p.isk, p.ipk, other_pk), 0);
	assert_int_equal(noise_xk_write(&p.init, NULL, 0, p.m1, sizeof(p.m1),
	    &p.l1), 0);
	assert_int_equal(noise_xk_read(&p.resp, p.m1, p.l1, out, sizeof(out),
	    &olen), -1);
}

static void
test_prologue_mismatch(void **state)
{
	struct pair p;
	uint8_t out[64];
	size_t olen;

	(void)state;
	pair_setup(&p);
	assert_int_equal(noise_xk_init(&p.init, 1, (const uint8_t *)"v0", 2,
	    p.isk, p.ipk, p.rpk), 0);
	assert_int_equal(noise_xk_write(&p.init, NULL, 0, p.m1, sizeof(p.m1),
	    &p.l1), 0);
	assert_int_equal(noise_xk_read(&p.resp, p.m1, p.l1, out, sizeof(out),
	    &olen), -1);
}

static void
test_replayed_msg3(void **state)
{
	struct pair p, q;
	uint8_t out[64];
	size_t olen;

	(void)state;
	/* Record a whole handshake, then replay its message 3 to a new one. */
	pair_setup(&p);
	assert_int_equal(noise_xk_write(&p.init, NULL, 0, p.m1, 128, &p.l1), 0);
	assert_int_equal(noise_xk_read(&p.resp, p.m1, p.l1, out, 64, &olen), 0);
	assert_int_equal(noise_xk_write(&p.resp, NULL, 0, p.m2, 128, &p.l2), 0);
	assert_int_equal(noise_xk_read(&p.init, p.m2, p.l2, out, 64, &olen), 0);
	assert_int_equal(noise_xk_write(&p.init, (const uint8_t *)"x", 1, p.m3,
	    256, &p.l3), 0);

	memcpy(&q, &p, sizeof(q));
	assert_int_equal(noise_xk_init(&q.resp, 0, (const uint8_t *)"p", 1,
	    p.rsk, p.rpk, NULL), 0);
	/* Replayed message 1 is accepted (it carries nothing) ... */
	assert_int_equal(noise_xk_read(&q.resp, p.m1, p.l1, out, 64, &olen), 0);
	assert_int_equal(noise_xk_write(&q.resp, NULL, 0, q.m2, 128, &q.l2), 0);
	/* ... but the old message 3 does not match the fresh ephemeral. */
	assert_int_equal(noise_xk_read(&q.resp, p.m3, p.l3, out, 64, &olen), -1);
}

static void
test_truncated_and_order(void **state)
{
	struct pair p;
	uint8_t out[64];
	size_t olen;

	(void)state;
	pair_setup(&p);
	assert_int_equal(noise_xk_write(&p.init, NULL, 0, p.m1, 128, &p.l1), 0);
	assert_int_equal(noise_xk_read(&p.resp, p.m1, p.l1 - 1, out, 64, &olen),
	    -1);
	assert_int_equal(noise_xk_read(&p.resp, p.m1, 0, out, 64, &olen), -1);
	/* Writing out of turn is refused. */
	pair_setup(&p);
	assert_int_equal(noise_xk_write(&p.resp, NULL, 0, p.m2, 128, &p.l2), -1);
	assert_int_equal(noise_xk_split(&p.init, NULL, NULL), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_flipped_bits),
		cmocka_unit_test(test_wrong_responder_key),
		cmocka_unit_test(test_prologue_mismatch),
		cmocka_unit_test(test_replayed_msg3),
		cmocka_unit_test(test_truncated_and_order),
	};

	if (sodium_init() < 0)
		return (1);
	return (cmocka_run_group_tests_name("noise", tests, NULL, NULL));
}
