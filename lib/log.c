#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* Set once at start-up, before any event loop runs. */
static const char *log_progname = "awtrix";
static int log_stamp;		/* add a timestamp: not a tty, not journald */

void
log_init(const char *progname)
{
	log_progname = progname;
	setvbuf(stderr, NULL, _IOLBF, 0);
	/* journald stamps every line itself (it sets JOURNAL_STREAM). */
	log_stamp = !isatty(STDERR_FILENO) && getenv("JOURNAL_STREAM") == NULL;
}

static void log_vline(const char *, const char *, va_list)
    __attribute__((format(printf, 2, 0)));

static void
log_vline(const char *level, const char *fmt, va_list ap)
{
	char stamp[32] = "";
	struct timespec ts;
	struct tm tm;

	if (log_stamp && clock_gettime(CLOCK_REALTIME, &ts) == 0 &&
	    gmtime_r(&ts.tv_sec, &tm) != NULL)
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ ", &tm);
	flockfile(stderr);
	fprintf(stderr, "%s%s: %s: ", stamp, log_progname, level);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline("info", fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline("warning", fmt, ap);
	va_end(ap);
}

void
log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline("error", fmt, ap);
	va_end(ap);
}
