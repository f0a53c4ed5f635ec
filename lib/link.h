#ifndef AWTRIX_LINK_H
#define AWTRIX_LINK_H

/*
 * The encrypted transport between an agent and the broker, after the Noise
 * handshake.  Each frame is
 *
 *     u16 length (big-endian, of the ciphertext: NOISE_TAGLEN .. LINK_CIPHER_MAX)
 *     ciphertext (ChaCha20-Poly1305 with the length bytes as associated data)
 *
 * The length is checked against the maximum before anything is read past it;
 * buffers have fixed sizes and are never sized from the wire.  The first
 * frame that fails to decrypt ends the link: there is no resynchronisation,
 * and since every frame advances the nonce, a replayed, reordered or dropped
 * frame fails too.
 *
 * Buffers are allocated only while a frame is partly received or partly sent,
 * so an idle link costs no buffer memory.
 */

#include <stddef.h>
#include <stdint.h>

#include "noise.h"

#define LINK_HEADER_LEN 2
#define LINK_PLAIN_MAX 64000
#define LINK_CIPHER_MAX (LINK_PLAIN_MAX + NOISE_TAGLEN)
#define LINK_FRAME_MAX (LINK_HEADER_LEN + LINK_CIPHER_MAX)
#define LINK_OUT_MAX (1024 * 1024)	/* unsent bytes before we give up */

struct link {
	int fd;
	struct noise_cipher tx, rx;
	uint8_t *in;		/* own LINK_FRAME_MAX buffer, or NULL */
	uint8_t *scratch;	/* the loop's shared LINK_FRAME_MAX buffer */
	uint8_t *cur;		/* in or scratch while bytes are buffered */
	uint32_t in_len;	/* bytes buffered in cur */
	uint32_t in_off;	/* start of the first unprocessed frame */
	uint8_t drained;	/* the last read came short: the socket is empty */
	uint8_t *out;		/* queued frames, or NULL when all sent */
	uint32_t out_len, out_off, out_cap;
	const char *error;	/* why the link failed (static string) */
	uint8_t violated;	/* it failed on a bad frame, not on I/O */
};

/**
 * link_init(l, fd, tx, rx):
 * Set up ${l} on the connected socket ${fd} with the transport ciphers of
 * a completed handshake.
 */
void link_init(struct link *l, int fd, const struct noise_cipher *tx,
    const struct noise_cipher *rx);

/**
 * link_set_scratch(l, scratch):
 * Let ${l} read into ${scratch} (LINK_FRAME_MAX bytes, shared by every
 * link of one event loop) and allocate its own buffer only for a frame
 * that is still incomplete when the socket runs dry.  The caller must call
 * link_park before another link uses the scratch.
 */
void link_set_scratch(struct link *l, uint8_t *scratch);

/**
 * link_park(l):
 * Move bytes that ${l} still holds in the shared scratch into its own
 * buffer.  Return 0, or -1 if memory ran out (${l->error}).
 */
int link_park(struct link *l);

/**
 * link_seal(tx, pt, len, frame):
 * Encrypt ${len} (<= LINK_PLAIN_MAX) bytes into a whole frame at ${frame},
 * which must hold LINK_HEADER_LEN + len + NOISE_TAGLEN bytes.  Return the
 * frame length or -1.
 */
long link_seal(struct noise_cipher *tx, const uint8_t *pt, size_t len,
    uint8_t *frame);

/**
 * link_open(rx, frame, len, pt, pt_len):
 * Check and decrypt the whole frame ${frame} of ${len} bytes in place;
 * point ${pt} at the plaintext.  Return 0, or -1 on a bad length or a
 * failed authentication.
 */
int link_open(struct noise_cipher *rx, uint8_t *frame, size_t len,
    uint8_t **pt, size_t *pt_len);

/**
 * link_send(l, pt, len):
 * Encrypt one message and send it, queueing what the socket does not take.
 * Return 0 if everything is sent, 1 if bytes remain queued (wait for the
 * socket to be writable and call link_flush), -1 on error (${l->error}).
 */
int link_send(struct link *l, const uint8_t *pt, size_t len);

/**
 * link_flush(l):
 * Write queued bytes.  Return 0 if the queue is empty, 1 if bytes remain,
 * -1 on error.
 */
int link_flush(struct link *l);

/**
 * link_recv(l, pt, len):
 * Return the next message: 1 with ${pt}/${len} set (valid until the next
 * call), 0 if the socket has no complete frame yet, -1 on end of file, a
 * read error or a bad frame (${l->error} says which).
 */
int link_recv(struct link *l, const uint8_t **pt, size_t *len);

/**
 * link_pending_out(l):
 * Return 1 if bytes wait to be sent.
 */
int link_pending_out(const struct link *l);

/**
 * link_close(l):
 * Close the socket, free the buffers and wipe the keys.
 */
void link_close(struct link *l);

#endif
