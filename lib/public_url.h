#ifndef AWTRIX_PUBLIC_URL_H
#define AWTRIX_PUBLIC_URL_H

/*
 * The public URL of /cloud: the broker is given it (--public-url), tells it
 * to every agent at registration, and awtrix-token prints it with the token
 * appended.  Both ends check it with the same rules, so that a mistyped flag
 * is refused at the broker's start and a hostile broker cannot make an
 * agent store or print anything else.
 */

#include <stddef.h>

#define PUBLIC_URL_MAX 512

/**
 * public_url_check(url, len, why):
 * Return 0 if the ${len} bytes at ${url} are printable ASCII without
 * spaces or '#', at most PUBLIC_URL_MAX bytes, "https://HOST/PATH" (or
 * "http://" when HOST is a loopback name or address) with a non-empty HOST
 * and PATH.  Else return -1 with ${why} set to a sentence that says what is
 * wrong and what is expected.
 */
int public_url_check(const char *url, size_t len, const char **why);

#endif
