#include <string.h>

#include "public_url.h"

/* Whether ${host} (${len} bytes, no port) names this machine: localhost,
 * [::1] or 127.N.N.N in digits ("127.example.com" is not loopback). */
static int
public_url_loopback(const char *host, size_t len)
{
	size_t i, dots = 0;

	if ((len == 9 && memcmp(host, "localhost", 9) == 0) ||
	    (len == 5 && memcmp(host, "[::1]", 5) == 0))
		return (1);
	if (len < 7 || memcmp(host, "127.", 4) != 0)
		return (0);
	for (i = 3; i < len; i++) {
		if (host[i] == '.') {
			if (host[i - 1] == '.' || ++dots > 3)
				return (0);
		} else if (host[i] < '0' || host[i] > '9')
			return (0);
	}
	return (dots == 3 && host[len - 1] != '.');
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
