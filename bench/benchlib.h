/*
 * Small helpers shared by the benchmark tools (header-only, so that each
 * tool builds from one .c file):
 *
 *   cc -O2 -std=c11 -D_GNU_SOURCE -Ilib bench/TOOL.c build/libawtrix.a -lsodium
 *
 * Identities are derived from (seed, index), so that two processes (the
 * fake agents and the front load) agree on the tokens without talking, and
 * a later run presents the same device keys and tokens as an earlier one
 * (known devices: the broker reads SQLite and writes nothing).
 */
#ifndef BENCH_BENCHLIB_H
#define BENCH_BENCHLIB_H

#include <sys/resource.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "keyfile.h"
#include "token.h"

static inline uint64_t
bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
}

static inline uint64_t
bench_now_ms(void)
{
	return (bench_now_ns() / 1000000ull);
}

/* Raise the soft open-file limit to the hard one; return the new limit. */
static inline long
bench_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return (-1);
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return (-1);
	return ((long)rl.rlim_cur);
}

/* 32 bytes derived from (what, seed, index). */
static inline void
bench_derive(uint8_t out[32], const char *what, uint32_t seed, uint32_t idx)
{
	crypto_generichash_state st;
	uint8_t b[8];

	memcpy(b, &seed, 4);
	memcpy(b + 4, &idx, 4);
	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const uint8_t *)what, strlen(what));
	crypto_generichash_update(&st, b, sizeof(b));
	crypto_generichash_final(&st, out, 32);
}

/* The token of bench device ${idx}: 32 characters of [A-Za-z0-9]. */
static inline void
bench_token(char out[TOKEN_LEN + 1], uint32_t seed, uint32_t idx)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	uint8_t h[32];
	int i;

	bench_derive(h, "awtrix-bench-token", seed, idx);
	for (i = 0; i < TOKEN_LEN; i++)
		out[i] = alphabet[h[i] % 62];
	out[TOKEN_LEN] = '\0';
}

/* The static key pair of bench device ${idx}. */
static inline int
bench_device_key(struct device_key *k, uint32_t seed, uint32_t idx)
{
	bench_derive(k->sk, "awtrix-bench-device", seed, idx);
	return (crypto_scalarmult_base(k->pk, k->sk));
}

/* CPU time (user + system) of process ${pid} in nanoseconds, or -1. */
static inline long long
bench_proc_cpu_ns(long pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ns, ut, st;
	FILE *f;
	int i;

	if (pid <= 0)
		return (-1);
	snprintf(path, sizeof(path), "/proc/%ld/schedstat", pid);
	if ((f = fopen(path, "r")) != NULL) {
		if (fscanf(f, "%llu", &ns) == 1 && ns > 0) {
			fclose(f);
			return ((long long)ns);
		}
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	if (fgets(buf, sizeof(buf), f) == NULL) {
		fclose(f);
		return (-1);
	}
	fclose(f);
	/* Skip "pid (comm)": comm may hold spaces, so find the last ')'. */
	if ((p = strrchr(buf, ')')) == NULL)
		return (-1);
	p += 2;
	/* Fields 3.. : state is field 3; utime 14, stime 15. */
	for (i = 3; i < 14 && p != NULL; i++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (p == NULL || sscanf(p, "%llu %llu", &ut, &st) != 2)
		return (-1);
	return ((long long)((ut + st) * (1000000000ull /
	    (unsigned long long)sysconf(_SC_CLK_TCK))));
}

/* VmRSS of process ${pid} in KiB, or -1. */
static inline long
bench_proc_rss_kb(long pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return (kb);
}

static inline int
bench_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x < y ? -1 : x > y);
}

/* Percentile ${q} (0..1) of ${n} sorted values. */
static inline uint32_t
bench_pct(const uint32_t *v, size_t n, double q)
{
	size_t i;

	if (n == 0)
		return (0);
	i = (size_t)(q * (double)(n - 1) + 0.5);
	return (v[i < n ? i : n - 1]);
}

/* Latency samples in nanoseconds (as uint32: at most 4.29 s), bounded. */
struct bench_samples {
	uint32_t *v;
	size_t n, cap;
};

static inline int
bench_samples_init(struct bench_samples *s, size_t cap)
{
	s->n = 0;
	s->cap = cap;
	s->v = malloc(cap * sizeof(*s->v));
	return (s->v == NULL ? -1 : 0);
}

static inline void
bench_samples_add(struct bench_samples *s, uint64_t ns)
{
	if (s->n < s->cap)
		s->v[s->n++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
}

#endif
