#ifndef AWTRIX_FRONT_CLIENT_H
#define AWTRIX_FRONT_CLIENT_H

/*
 * The client side of the front protocol, blocking with a deadline: used by
 * awtrix-cloud.fcgi (one connection per process shared by all its threads,
 * fcgi/mux.c, which reads the answers itself) and by `awtrix-broker stats`
 * (front_call: one request, then its answer).
 */

#include <stddef.h>
#include <stdint.h>

#include "front.h"

/**
 * front_connect(path):
 * Connect to the broker's Unix socket at ${path}.  Return the socket
 * (close-on-exec) or -1 with errno set.
 */
int front_connect(const char *path);

/**
 * front_send_frame(fd, frame, len, timeout_ms):
 * Send all ${len} bytes of ${frame} on ${fd} within ${timeout_ms}, without
 * reading anything (the answer is read by whoever reads ${fd}).  Return 0,
 * -2 on timeout, or -1 with errno EPIPE: the frame did not go through whole.
 */
int front_send_frame(int fd, const uint8_t *frame, size_t len,
    int timeout_ms);

/**
 * front_call(fd, frame, len, id, timeout_ms, buf, cap, out):
 * Send the whole frame ${frame} of ${len} bytes, then read frames until one
 * carries request id ${id}, discarding answers to earlier requests that
 * timed out, and decode it into ${out} (pointing into ${buf} of ${cap}
 * bytes, which must hold FRONT_FRAME_MAX).  Give up after ${timeout_ms} in
 * all.  Return 0 on success, -2 on timeout, -1 on an I/O error, end of file
 * or malformed frame: after -1 or -2 the caller closes ${fd} and reconnects
 * for the next request.
 */
int front_call(int fd, const uint8_t *frame, size_t len, uint32_t id,
    int timeout_ms, uint8_t *buf, size_t cap, struct front_msg *out);

#endif
