#include <string.h>

#include "public_url.h"

/* Whether ${host} (${len} bytes) names this machine. */
static int
public_url_loopback(const char *host, size_t len)
{
	if (len == 9 && memcmp(host, "localhost", 9) == 0)
		return (1);
	if (len == 5 && memcmp(host, "[::1]", 5) == 0)
		return (1);
	return (len >= 4 && memcmp(host, "127.", 4) == 0);
}

int
public_url_check(const char *url, size_t len, const char **why)
{
	const char *host, *end = url + len, *slash, *colon;
	size_t i, hlen;

	*why = "must be the https:// URL of /cloud, for example "
	    "https://cloud.example.org/cloud";
	if (len == 0)
		return (-1);
	if (len > PUBLIC_URL_MAX) {
		*why = "is longer than 512 bytes";
		return (-1);
	}
	for (i = 0; i < len; i++) {
		if (url[i] <= ' ' || url[i] > '~' || url[i] == '#') {
			*why = "may hold only printable ASCII without spaces "
			    "or '#'";
			return (-1);
		}
	}
	if (len > 8 && memcmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (len > 7 && memcmp(url, "http://", 7) == 0)
		host = url + 7;
	else
		return (-1);
	slash = memchr(host, '/', (size_t)(end - host));
	if (slash == NULL || slash == host || slash + 1 == end)
		return (-1);
	/* The host without the port, for the loopback test. */
	hlen = (size_t)(slash - host);
	if (host[0] != '[' && (colon = memchr(host, ':', hlen)) != NULL)
		hlen = (size_t)(colon - host);
	else if (host[0] == '[' && (colon = memchr(host, ']', hlen)) != NULL)
		hlen = (size_t)(colon - host) + 1;
	if (hlen == 0)
		return (-1);
	if (host == url + 7 && !public_url_loopback(host, hlen)) {
		*why = "must use https:// (http:// only for a loopback host): "
		    "tokens travel in it";
		return (-1);
	}
	return (0);
}
