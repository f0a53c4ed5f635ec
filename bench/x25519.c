/*
 * x25519: the reference for the handshake benchmark.  X25519 operations
 * per second of this libsodium on this core: crypto_scalarmult (a DH with
 * a variable point, as in es, ee and se) and crypto_scalarmult_base (the
 * fixed base point, as in generating an ephemeral key).  The responder's
 * side of one XK handshake does 3 DH + 1 base-point multiplication, so
 *
 *   budget (handshakes/s) = 1 / (3 / dh_per_s + 1 / base_per_s)
 *
 * is the rate that the handshake's own X25519 work allows on one core.
 * Both rates are per second of this process's CPU time
 * (CLOCK_PROCESS_CPUTIME_ID), like the broker's CPU time they are compared
 * with in bench/run.sh: on a shared machine, wall-clock time would count
 * the time other programs ran too.
 *
 *   x25519 [SECONDS]   (default 1 per measure)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "benchlib.h"

/* This process's CPU time in ns. */
static uint64_t
x25519_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
}

int
main(int argc, char **argv)
{
	uint8_t sk[32], pk[32], out[32];
	double secs = argc > 1 ? atof(argv[1]) : 1.0, dh, base, t;
	uint64_t t0, end;
	unsigned long ops;
	int i;

	if (sodium_init() < 0 || secs <= 0)
		return (1);
	randombytes_buf(sk, sizeof(sk));
	crypto_scalarmult_base(pk, sk);

	/* Variable-point DH; feed the output back so nothing is hoisted. */
	ops = 0;
	t0 = x25519_cpu_ns();
	end = t0 + (uint64_t)(secs * 1e9);
	do {
		for (i = 0; i < 64; i++) {
			if (crypto_scalarmult(out, sk, pk) != 0)
				return (1);
			sk[0] ^= out[0];
		}
		ops += 64;
	} while (x25519_cpu_ns() < end);
	t = (x25519_cpu_ns() - t0) / 1e9;
	dh = ops / t;

	ops = 0;
	t0 = x25519_cpu_ns();
	end = t0 + (uint64_t)(secs * 1e9);
	do {
		for (i = 0; i < 64; i++) {
			crypto_scalarmult_base(out, sk);
			sk[1] ^= out[1];
		}
		ops += 64;
	} while (x25519_cpu_ns() < end);
	t = (x25519_cpu_ns() - t0) / 1e9;
	base = ops / t;

	printf("RESULT dh_per_s=%.0f base_per_s=%.0f budget_hs_per_s=%.0f "
	    "budget4_hs_per_s=%.0f\n", dh, base,
	    1.0 / (3.0 / dh + 1.0 / base), dh / 4.0);
	return (0);
}
