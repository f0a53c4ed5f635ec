#ifndef AWTRIX_LOGRATE_H
#define AWTRIX_LOGRATE_H

/*
 * Summarised log events: an event that any peer can repeat (a failed
 * handshake, a refused registration) prints at most LOGRATE_LINES lines per
 * LOGRATE_WINDOW_MS, then one line with the count of those left out, so
 * that no peer can fill the disk through the log.  The state belongs to
 * the caller (one struct per kind of event): no globals.
 */

#include <stdint.h>

#define LOGRATE_LINES 5
#define LOGRATE_WINDOW_MS 60000

struct lograte {
	const char *what;	/* names the kind of event in the summary */
	uint64_t window_ms;
	uint64_t start_ms;	/* start of the current window */
	uint32_t lines;		/* printed in the current window */
	uint32_t dropped;	/* left out in the current window */
};

/**
 * lograte_init(r, what, window_ms):
 * Prepare ${r} for events of the kind ${what} (a static string), with
 * windows of ${window_ms} (0: LOGRATE_WINDOW_MS).
 */
void lograte_init(struct lograte *r, const char *what, uint64_t window_ms);

/**
 * lograte_take(r, now_ms):
 * An event happens at ${now_ms}: return 1 if its line may be printed, 0 if
 * it is only counted.  A window that ended is summarised first.
 */
int lograte_take(struct lograte *r, uint64_t now_ms);

/**
 * lograte_flush(r, now_ms):
 * If the window of ${r} has ended with events left out, print the summary
 * line and start a new window.  Call it now and then (and at exit).
 */
void lograte_flush(struct lograte *r, uint64_t now_ms);

#endif
