/*
 * The agent's list of brokers, in a jittered order.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "brokers.h"
#include "net.h"

/* Fisher-Yates with libsodium's unbiased uniform draw. */
static void
brokers_shuffle(struct broker_list *l)
{
	unsigned i, j, t;

	for (i = 0; i < l->n; i++)
		l->order[i] = i;
	for (i = l->n; i > 1; i--) {
		j = randombytes_uniform(i);
		t = l->order[i - 1];
		l->order[i - 1] = l->order[j];
		l->order[j] = t;
	}
	l->pos = 0;
}

int
brokers_parse(struct broker_list *l, const char *spec)
{
	const char *p = spec, *end, *port;
	char host[256];
	size_t len;

	memset(l, 0, sizeof(*l));
	while (*p != '\0') {
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		len = (size_t)(end - p);
		if (l->n == BROKERS_MAX || len == 0 || len >= BROKER_ADDR_MAX)
			return (-1);
		memcpy(l->addr[l->n], p, len);
		l->addr[l->n][len] = '\0';
		if (net_split_hostport(l->addr[l->n], host, sizeof(host),
		    &port) || !net_hostport_valid(l->addr[l->n]) ||
		    strcmp(port, "0") == 0)
			return (-1);
		l->n++;
		p = (*end == ',') ? end + 1 : end;
		if (*end == ',' && *p == '\0')
			return (-1);
	}
	if (l->n == 0)
		return (-1);
	brokers_shuffle(l);
	return (0);
}

const char *
brokers_current(const struct broker_list *l)
{
	return (l->addr[l->order[l->pos]]);
}

int
brokers_next(struct broker_list *l)
{
	if (++l->pos < l->n)
		return (0);
	brokers_shuffle(l);
	return (1);
}
