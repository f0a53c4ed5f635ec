#ifndef AGENT_BROKERS_H
#define AGENT_BROKERS_H

/*
 * The brokers an agent may use (--broker HOST:PORT[,HOST:PORT...]), tried
 * in a random order so that agents spread over the brokers and do not all
 * fall on the same one when one fails.
 */

#define BROKERS_MAX 16
#define BROKER_ADDR_MAX 262

struct broker_list {
	char addr[BROKERS_MAX][BROKER_ADDR_MAX];
	unsigned n;
	unsigned order[BROKERS_MAX];
	unsigned pos;
};

/**
 * brokers_parse(l, spec):
 * Fill ${l} from ${spec}, a comma-separated list of at most BROKERS_MAX
 * HOST:PORT, in a random order.  Return 0, or -1 if ${spec} is malformed.
 */
int brokers_parse(struct broker_list *l, const char *spec);

/**
 * brokers_current(l):
 * The broker to try now.
 */
const char *brokers_current(const struct broker_list *l);

/**
 * brokers_next(l):
 * Move on to the next broker.  Return 1 if every broker has been tried
 * since the last round began (a new random order starts), else 0.
 */
int brokers_next(struct broker_list *l);

#endif
