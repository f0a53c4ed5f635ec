#include "log.h"
#include "lograte.h"

/**
 * lograte_init(r, what, window_ms):
 * Prepare ${r} for events of the kind ${what} (a static string), with
 * windows of ${window_ms} (0: LOGRATE_WINDOW_MS).
 */
void
lograte_init(struct lograte *r, const char *what, uint64_t window_ms)
{
	r->what = what;
	r->window_ms = window_ms > 0 ? window_ms : LOGRATE_WINDOW_MS;
	r->start_ms = 0;
	r->lines = r->dropped = 0;
}

/* Print the count of the lines left out, if any, and start over. */
static void
lograte_summary(struct lograte *r, uint64_t now_ms)
{
	if (r->dropped > 0)
		log_info_ev("log.summary", "%u more %s in the last %llu s (not logged one by one)",
		    r->dropped, r->what,
		    (unsigned long long)((now_ms - r->start_ms) / 1000));
	r->start_ms = now_ms;
	r->lines = r->dropped = 0;
}

/**
 * lograte_take(r, now_ms):
 * An event happens at ${now_ms}: return 1 if its line may be printed, 0 if
 * it is only counted.  A window that ended is summarised first.
 */
int
lograte_take(struct lograte *r, uint64_t now_ms)
{
	if (r->lines == 0 && r->dropped == 0)
		r->start_ms = now_ms;
	else if (now_ms - r->start_ms >= r->window_ms)
		lograte_summary(r, now_ms);
	if (r->lines < LOGRATE_LINES) {
		r->lines++;
		return (1);
	}
	if (r->dropped < UINT32_MAX)
		r->dropped++;
	return (0);
}

/**
 * lograte_flush(r, now_ms):
 * If the window of ${r} has ended with events left out, print the summary
 * line and start a new window.  Call it now and then (and at exit).
 */
void
lograte_flush(struct lograte *r, uint64_t now_ms)
{
	if (r->dropped > 0 && now_ms - r->start_ms >= r->window_ms)
		lograte_summary(r, now_ms);
	else if (r->dropped == 0 && r->lines > 0 &&
	    now_ms - r->start_ms >= r->window_ms)
		r->lines = 0;
}
