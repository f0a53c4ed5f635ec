#include <stdio.h>
#include <string.h>

#include "device.h"
#include "flags.h"

int
flags_target_check(const char *target, const char **why)
{
	const char *host, *path;
	size_t len = strlen(target);

	*why = "must be the clock's API: http://CLOCK-IP/api/ for AWTRIX 3, "
	    "http://HOST:7000/api/v3/ for an AWTRIX 2 host";
	if (strncmp(target, "http://", 7) == 0)
		host = target + 7;
	else if (strncmp(target, "https://", 8) == 0)
		host = target + 8;
	else
		return (-1);
	if ((path = strchr(host, '/')) == NULL || path == host)
		return (-1);
	if (strcmp(path, "/") == 0 || target[len - 1] != '/')
		return (-1);
	if (strpbrk(target, " ?#") != NULL) {
		*why = "must be a URL prefix without spaces, '?' or '#'";
		return (-1);
	}
	return (0);
}

int
flags_deny_check(const char *deny, const char **why, char *bad,
    size_t badcap)
{
	const char *p = deny, *end;
	size_t n;

	while (*p != '\0') {
		end = strchr(p, ',');
		n = end ? (size_t)(end - p) : strlen(p);
		if (!device_mode_default(p, n)) {
			snprintf(bad, badcap, "%.*s", (int)n, p);
			*why = "is not an endpoint the agent allows by default, so "
			    "denying it changes nothing: a typo? (the list is "
			    "in awtrix-agent(8))";
			return (-1);
		}
		p = end ? end + 1 : p + n;
	}
	return (0);
}
