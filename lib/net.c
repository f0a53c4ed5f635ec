#include <string.h>
#include <time.h>

#include "net.h"

int
net_split_hostport(const char *spec, char *host, size_t host_cap,
    const char **port)
{
	const char *colon, *h = spec;
	size_t hlen;

	colon = strrchr(spec, ':');
	if (colon == NULL || colon[1] == '\0')
		return (-1);
	hlen = (size_t)(colon - spec);
	if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= host_cap)
		return (-1);
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = colon + 1;
	return (0);
}

int
net_hostport_valid(const char *spec)
{
	char host[256];
	const char *port;
	unsigned long n = 0;

	if (net_split_hostport(spec, host, sizeof(host), &port))
		return (0);
	for (; *port != '\0'; port++) {
		if (*port < '0' || *port > '9')
			return (0);
		n = n * 10 + (unsigned long)(*port - '0');
		if (n > 65535)
			return (0);
	}
	return (port[-1] != ':');	/* at least one digit; 0 binds any */
}

uint64_t
net_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}
