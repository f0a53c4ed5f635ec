/*
 * systemd readiness and watchdog.  The watchdog is fed from the event loop
 * itself, never from a thread or a timer signal: a loop stuck in a callback
 * stops the pings, and systemd restarts the broker (WatchdogSec= of
 * awtrix-broker.service).  The loop wakes at least once a second
 * (broker_timeout), so a ping is at most a second late: WatchdogSec= must
 * be a few seconds at least.
 */
#include <stdio.h>

#include <systemd/sd-daemon.h>

#include "log.h"
#include "notify.h"

/* The process has one broker, one NOTIFY_SOCKET and one watchdog. */
static uint64_t notify_interval_ms;	/* 0: no watchdog */
static uint64_t notify_next_ms;

/**
 * notify_ready(now_ms):
 * Tell systemd that the sockets listen and the database is open, and read
 * the watchdog interval (WATCHDOG_USEC) of the unit, if any.
 */
void
notify_ready(uint64_t now_ms)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) > 0 && usec >= 2000) {
		notify_interval_ms = usec / 2000;
		notify_next_ms = now_ms + notify_interval_ms;
	}
	if (sd_notify(0, "READY=1\nSTATUS=serving") < 0)
		log_warn_ev("notify.failed", "sd_notify: cannot tell systemd "
		    "that the broker is ready");
	if (notify_interval_ms != 0)
		(void)sd_notify(0, "WATCHDOG=1");
}

/**
 * notify_tick(now_ms):
 * Called on every turn of the event loop: send WATCHDOG=1 when half of the
 * watchdog interval has passed since the last one.
 */
void
notify_tick(uint64_t now_ms)
{
	if (notify_interval_ms == 0 || now_ms < notify_next_ms)
		return;
	notify_next_ms = now_ms + notify_interval_ms;
	(void)sd_notify(0, "WATCHDOG=1");
}

/**
 * notify_stopping(void):
 * Tell systemd that the broker is shutting down.
 */
void
notify_stopping(void)
{
	(void)sd_notify(0, "STOPPING=1");
}
