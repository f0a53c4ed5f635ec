#ifndef AWTRIX_FCGI_MUX_H
#define AWTRIX_FCGI_MUX_H

/*
 * The one broker connection of a process, shared by all its worker threads:
 * each thread owns a slot, sends its FRONT_REQUEST frame (tagged with an id
 * that names the slot) and sleeps on the slot's condition variable; one
 * reader thread reads every answer, in whatever order the broker sends
 * them, and hands each to the slot its id names.  An answer whose slot no
 * longer waits for it (the caller's deadline passed) is dropped.  When the
 * connection ends, every waiting slot is woken at once with MUX_DOWN; the
 * next call connects again.
 */

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "front.h"

/* Ids: the slot in the low bits, a per-slot sequence number above. */
#define MUX_SLOT_BITS 16
#define MUX_SLOTS_MAX 4096

enum mux_result {
	MUX_ANSWER,	/* the answer is in the message given */
	MUX_DOWN,	/* no broker, or the connection failed: 503 */
	MUX_TIMEOUT	/* no answer before the deadline: 504 */
};

struct mux_slot {
	pthread_cond_t cv;
	int state;		/* enum mux_state in mux.c */
	uint32_t id;		/* the id awaited */
	uint32_t seq;
	unsigned long gen;	/* the connection it was sent on */
	uint8_t *buf;		/* FRONT_PAYLOAD_MAX: the answer's payload */
	size_t len;
};

struct mux {
	const char *path;	/* the broker's Unix socket */
	int timeout_ms;
	pthread_mutex_t lock;	/* everything below */
	pthread_mutex_t send_lock;	/* one frame at a time on fd; close */
	pthread_cond_t conn_cv;	/* fd appeared, or was closed */
	int fd;			/* -1: none */
	int broken;		/* fd is shut down; the reader closes it */
	unsigned long gen;	/* counts connections */
	int stop;
	int reader_started;
	pthread_t reader;
	struct mux_slot *slots;
	unsigned int nslots;
	uint8_t *in;		/* the reader's buffer */
	size_t in_cap;
};

/**
 * mux_init(m, path, timeout_ms, nslots):
 * Prepare ${m} for ${nslots} (1 .. MUX_SLOTS_MAX) callers of the broker at
 * ${path}, each waiting at most ${timeout_ms} for an answer, and start its
 * reader thread.  Nothing is connected yet.  Return 0 or -1.
 */
int mux_init(struct mux *m, const char *path, int timeout_ms,
    unsigned int nslots);

/**
 * mux_next_id(m, slot):
 * The request id for the next call of slot ${slot}.
 */
uint32_t mux_next_id(struct mux *m, unsigned int slot);

/**
 * mux_call(m, slot, frame, len, id, out):
 * From the thread that owns slot ${slot}: send the whole frame ${frame} of
 * ${len} bytes, whose request id is ${id} (from mux_next_id), and wait for
 * its answer, decoded into ${out} (pointing into the slot's buffer until
 * the slot's next call).  A frame that could not be sent whole on a
 * connection made for an earlier call is sent once more on a new one.
 * Return an enum mux_result.
 */
int mux_call(struct mux *m, unsigned int slot, const uint8_t *frame,
    size_t len, uint32_t id, struct front_msg *out);

/**
 * mux_free(m):
 * Stop the reader thread, close the connection and free ${m}'s memory.  No
 * call may be in progress.
 */
void mux_free(struct mux *m);

#endif
