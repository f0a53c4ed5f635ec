#ifndef AWTRIX_LOG_H
#define AWTRIX_LOG_H

/*
 * One line per event on stderr:
 *
 *     <program>: <level>: <event>: <message>
 *
 * <level> is error, warning or info.  <event> is a stable identifier of the
 * kind of event, "area.what" in lower case with a dot (session.closed,
 * db.write_failed): it never changes when the wording does, so operators
 * filter and alert on it (docs/operations.md lists every one).  The
 * log_*_ev functions take it; the plain ones leave it out (lines not yet
 * given an identifier).
 *
 * When stderr is the journal (systemd sets JOURNAL_STREAM to its device and
 * inode), each line starts with the syslog priority as sd-daemon(3)
 * prefixes do ("<3>" error, "<4>" warning, "<6>" info), which journald
 * turns into the entry's PRIORITY (journalctl -p warning); journald stamps
 * the time itself.  Elsewhere a timestamp is added unless stderr is a
 * terminal.  Never pass a token, a key, a payload or a peer address.
 */

/**
 * log_init(progname):
 * Set the program name that prefixes every line, and find out whether
 * stderr is the journal.
 */
void log_init(const char *progname);

/**
 * log_info_ev(event, fmt, ...), log_warn_ev(event, fmt, ...),
 * log_error_ev(event, fmt, ...):
 * Log one line of the kind ${event} at that level.
 */
void log_info_ev(const char *event, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_warn_ev(const char *event, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_error_ev(const char *event, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/**
 * log_info(fmt, ...), log_warn(fmt, ...), log_error(fmt, ...):
 * Log one line without an event identifier.
 */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
