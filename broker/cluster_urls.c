/*
 * --nats URL[,URL...]: checked at start, so that a typo exits 2 naming the
 * flag instead of retrying a connection for ever.  No NATS here.
 */
#include <string.h>

#include "cluster.h"

#define URLS_MAX 16

/**
 * cluster_urls_valid(urls, why):
 * Return 1 if ${urls} is a comma-separated list of at most 16
 * nats://HOST:PORT URLs, else 0 with ${why} set to a message.
 */
int
cluster_urls_valid(const char *urls, const char **why)
{
	const char *p = urls, *end, *colon, *q;
	int n = 0, port;

	*why = NULL;
	while (*p != '\0') {
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		if (++n > URLS_MAX) {
			*why = "at most 16 URLs";
			return (0);
		}
		if (end - p < 10 || end - p > 255 || strncmp(p, "nats://", 7)) {
			*why = "each URL must be nats://HOST:PORT";
			return (0);
		}
		for (colon = NULL, q = p + 7; q < end; q++)
			if (*q == ':')
				colon = q;
		if (colon == NULL || colon == p + 7 || colon + 1 == end) {
			*why = "each URL must be nats://HOST:PORT";
			return (0);
		}
		for (port = 0, q = colon + 1; q < end; q++) {
			if (*q < '0' || *q > '9' || port > 65535) {
				*why = "bad port";
				return (0);
			}
			port = port * 10 + (*q - '0');
		}
		if (port < 1 || port > 65535) {
			*why = "bad port";
			return (0);
		}
		for (q = p + 7; q < colon; q++)
			if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' &&
			    *q <= 'Z') || (*q >= '0' && *q <= '9') ||
			    strchr(".-_[]:", *q))) {
				*why = "bad host name";
				return (0);
			}
		p = (*end == ',') ? end + 1 : end;
		if (*end == ',' && *p == '\0') {
			*why = "empty URL";
			return (0);
		}
	}
	if (n == 0)
		*why = "no URL";
	return (n > 0);
}
