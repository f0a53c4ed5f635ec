#ifndef AWTRIX_NET_H
#define AWTRIX_NET_H

/*
 * Small helpers shared by the programs: HOST:PORT parsing and the
 * monotonic clock every deadline is measured on.
 */

#include <stddef.h>
#include <stdint.h>

/**
 * net_split_hostport(spec, host, host_cap, port):
 * Split "HOST:PORT" or "[HOST]:PORT" into ${host} (NUL-terminated) and a
 * pointer ${port} into ${spec}.  Return 0, or -1 if ${spec} is malformed.
 */
int net_split_hostport(const char *spec, char *host, size_t host_cap,
    const char **port);

/**
 * net_now_ms():
 * CLOCK_MONOTONIC in milliseconds.
 */
uint64_t net_now_ms(void);

#endif
