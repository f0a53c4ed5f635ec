#ifndef BROKER_NOTIFY_H
#define BROKER_NOTIFY_H

/*
 * systemd's service notification (sd_notify): READY=1 once the broker can
 * serve, WATCHDOG=1 from the event loop, STOPPING=1 at shutdown.  Outside
 * systemd (no NOTIFY_SOCKET) every call does nothing.
 */

#include <stdint.h>

/**
 * notify_ready(now_ms):
 * Tell systemd that the sockets listen and the database is open, and read
 * the watchdog interval (WATCHDOG_USEC) of the unit, if any.
 */
void notify_ready(uint64_t now_ms);

/**
 * notify_tick(now_ms):
 * Called on every turn of the event loop: send WATCHDOG=1 when half of the
 * watchdog interval has passed since the last one.
 */
void notify_tick(uint64_t now_ms);

/**
 * notify_stopping(void):
 * Tell systemd that the broker is shutting down.
 */
void notify_stopping(void);

#endif
