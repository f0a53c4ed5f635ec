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
 * net_hostport_valid(spec):
 * Return 1 if ${spec} is HOST:PORT or [HOST]:PORT with a decimal PORT of
 * 0..65535 (0: any free port, for a listener), else 0.
 */
int net_hostport_valid(const char *spec);

/**
 * net_now_ms():
 * CLOCK_MONOTONIC in milliseconds.
 */
uint64_t net_now_ms(void);

#endif
