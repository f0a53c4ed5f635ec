#define _POSIX_C_SOURCE 200809L
#include <sys/stat.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* Syslog priorities (RFC 5424), as sd-daemon.h's SD_ERR, SD_WARNING and
 * SD_INFO write them. */
#define LOG_PRI_ERR 3
#define LOG_PRI_WARNING 4
#define LOG_PRI_INFO 6

/* Set once at start-up, before any event loop runs. */
static const char *log_progname = "awtrix";
static int log_stamp;		/* add a timestamp: not a tty, not journald */
static int log_journal;		/* stderr is journald's: "<N>" prefixes */

/* Whether JOURNAL_STREAM ("device:inode") names our stderr: a child that
 * inherited the variable but not the stream must not prefix. */
static int
log_is_journal(void)
{
	const char *v = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (v == NULL || sscanf(v, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(STDERR_FILENO, &st) != 0)
		return (0);
	return ((unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino);
}

/**
 * log_init(progname):
 * Set the program name that prefixes every line, and find out whether
 * stderr is the journal.
 */
void
log_init(const char *progname)
{
	log_progname = progname;
	setvbuf(stderr, NULL, _IOLBF, 0);
	log_journal = log_is_journal();
	/* journald stamps every line itself. */
	log_stamp = !isatty(STDERR_FILENO) && !log_journal;
}

static void log_vline(int, const char *, const char *, const char *,
    va_list) __attribute__((format(printf, 4, 0)));

static void
log_vline(int pri, const char *level, const char *event, const char *fmt,
    va_list ap)
{
	char stamp[32] = "", prefix[8] = "";
	struct timespec ts;
	struct tm tm;

	if (log_journal)
		snprintf(prefix, sizeof(prefix), "<%d>", pri);
	else if (log_stamp && clock_gettime(CLOCK_REALTIME, &ts) == 0 &&
	    gmtime_r(&ts.tv_sec, &tm) != NULL)
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ ", &tm);
	flockfile(stderr);
	fprintf(stderr, "%s%s%s: %s: ", prefix, stamp, log_progname, level);
	if (event != NULL)
		fprintf(stderr, "%s: ", event);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

#define LOG_DEFINE(name, pri, level)					\
void									\
name##_ev(const char *event, const char *fmt, ...)			\
{									\
	va_list ap;							\
									\
	va_start(ap, fmt);						\
	log_vline(pri, level, event, fmt, ap);				\
	va_end(ap);							\
}									\
									\
void									\
name(const char *fmt, ...)						\
{									\
	va_list ap;							\
									\
	va_start(ap, fmt);						\
	log_vline(pri, level, NULL, fmt, ap);				\
	va_end(ap);							\
}

/*
 * log_info(fmt, ...), log_info_ev(event, fmt, ...) and the same for
 * log_warn and log_error: log one line at that level, with the event
 * identifier ${event} for the _ev forms.
 */
LOG_DEFINE(log_info, LOG_PRI_INFO, "info")
LOG_DEFINE(log_warn, LOG_PRI_WARNING, "warning")
LOG_DEFINE(log_error, LOG_PRI_ERR, "error")
