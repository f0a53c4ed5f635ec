#ifndef AWTRIX_FUZZ_H
#define AWTRIX_FUZZ_H

/*
 * Shared by the fuzz targets, the corpus replayer and the seed generator:
 * the libFuzzer entry point, the fixed keys the targets use (so that the
 * seed generator can make inputs that get past the MACs), and FUZZ_CHECK,
 * which aborts on a broken invariant so that libFuzzer (or the replayer
 * under ASan/UBSan) reports the input.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Private keys are 32 bytes of one value; public keys are derived. */
#define FUZZ_BROKER_STATIC_BYTE 0x42	/* the responder's static key */
#define FUZZ_BROKER_EPHEMERAL_BYTE 0x43	/* its "random" ephemeral key */
#define FUZZ_AGENT_STATIC_BYTE 0x24	/* the seeds' initiator */
#define FUZZ_AGENT_EPHEMERAL_BYTE 0x25
#define FUZZ_LINK_KEY_BYTE 0x5a		/* the fixed transport cipher key */

/* fuzz_fcgi_request's fixed body limit: awtrix-cloud.fcgi's default. */
#define FUZZ_MAX_BODY 16384

#define FUZZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant broken: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

#endif
