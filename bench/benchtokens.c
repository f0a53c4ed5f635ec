/*
 * benchtokens: print the tokens of bench devices FIRST .. FIRST+N-1 of seed
 * SEED (benchlib.h), one per line, for bench/e2e.sh's cheap owners' side
 * (loadagents --answer plays those devices).
 *
 *   benchtokens SEED FIRST N
 */
#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

#include "benchlib.h"

int
main(int argc, char **argv)
{
	char tok[TOKEN_LEN + 1];
	unsigned long seed, first, n, i;

	if (argc != 4 || sodium_init() < 0)
		return (2);
	seed = strtoul(argv[1], NULL, 10);
	first = strtoul(argv[2], NULL, 10);
	n = strtoul(argv[3], NULL, 10);
	for (i = 0; i < n; i++) {
		bench_token(tok, (uint32_t)seed, (uint32_t)(first + i));
		puts(tok);
	}
	return (0);
}
