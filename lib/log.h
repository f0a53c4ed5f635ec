#ifndef AWTRIX_LOG_H
#define AWTRIX_LOG_H

/*
 * One line per event on stderr: "<program>: <level>: <message>".  A
 * timestamp is added when stderr is not a terminal's, so that plain files and
 * journald both read well.  Never pass a token, a key or a peer address.
 */

/**
 * log_init(progname):
 * Set the program name that prefixes every line.
 */
void log_init(const char *progname);

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
