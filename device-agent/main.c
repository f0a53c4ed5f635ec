/*
 * awtrix-agent: the device side of AWTRIX Cloud.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "agent.h"
#include "log.h"
#include "relay.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: awtrix-agent --broker HOST:PORT --broker-key PUBKEY "
	    "--state DIR --target URLPREFIX\n"
	    "                    [--target-auth USER:PASS] [--allow MODE,...] "
	    "[--deny MODE,...]\n"
	    "                    [--allow-lan-clients]\n"
	    "       awtrix-agent --help | --version\n"
	    "\n"
	    "  --broker HOST:PORT   the broker's agent port\n"
	    "  --broker-key PUBKEY  the broker's public key (44 characters of "
	    "base64)\n"
	    "  --state DIR          device key, token and control socket "
	    "(created 0700)\n"
	    "  --target URLPREFIX   e.g. http://192.168.1.50/api/ (AWTRIX 3) "
	    "or\n"
	    "                       http://127.0.0.1:7000/api/v3/ (AWTRIX 2)\n"
	    "  --target-auth U:P    HTTP Basic auth towards the device\n"
	    "  --allow MODE,...     also allow these endpoints\n"
	    "  --deny MODE,...      refuse these endpoints (403)\n"
	    "  --allow-lan-clients  let notifications carry \"clients\" (the "
	    "clock then\n"
	    "                       forwards them to other hosts of the LAN; "
	    "else 400)\n");
}

static int
bad_usage(const char *msg)
{
	if (msg != NULL)
		fprintf(stderr, "awtrix-agent: %s\n", msg);
	usage(stderr);
	return (2);
}

static int
modes_valid(const char *list)
{
	const char *p = list, *end;

	while (*p != '\0') {
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		if (!relay_mode_valid(p, (size_t)(end - p)))
			return (0);
		p = (*end == ',') ? end + 1 : end;
	}
	return (1);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "broker", required_argument, NULL, 'b' },
		{ "broker-key", required_argument, NULL, 'k' },
		{ "state", required_argument, NULL, 's' },
		{ "target", required_argument, NULL, 't' },
		{ "target-auth", required_argument, NULL, 'u' },
		{ "allow", required_argument, NULL, 'a' },
		{ "deny", required_argument, NULL, 'd' },
		{ "allow-lan-clients", no_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct agent_config cfg;
	const char *key = NULL, *v;
	int c;

	log_init("awtrix-agent");
	memset(&cfg, 0, sizeof(cfg));
	cfg.ping_s = 20;
	cfg.dead_s = 50;
	/* Connect and handshake, including time queued in the broker's
	 * backlog during a reconnection storm (its own 5 s starts at accept). */
	cfg.handshake_ms = 10000;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'b': cfg.broker = optarg; break;
		case 'k': key = optarg; break;
		case 's': cfg.state_dir = optarg; break;
		case 't': cfg.device.target = optarg; break;
		case 'u': cfg.device.auth = optarg; break;
		case 'a': cfg.device.allow = optarg; break;
		case 'd': cfg.device.deny = optarg; break;
		case 'L': cfg.device.allow_lan_clients = 1; break;
		case 'h': usage(stdout); return (0);
		case 'V': printf("awtrix-agent %s\n", AWTRIX_VERSION); return (0);
		default: return (bad_usage(NULL));
		}
	}
	if (optind != argc)
		return (bad_usage("unexpected argument"));
	if (!cfg.broker || !key || !cfg.state_dir || !cfg.device.target)
		return (bad_usage("--broker, --broker-key, --state and --target "
		    "are required"));
	if (sodium_init() < 0) {
		fprintf(stderr, "awtrix-agent: libsodium failed to start\n");
		return (1);
	}
	if (key_from_base64(key, cfg.broker_pk))
		return (bad_usage("--broker-key must be the 44-character base64 "
		    "key that `awtrix-broker pubkey` prints"));
	if (strncmp(cfg.device.target, "http://", 7) != 0 &&
	    strncmp(cfg.device.target, "https://", 8) != 0)
		return (bad_usage("--target must start with http:// or https://"));
	if (cfg.device.auth != NULL && strchr(cfg.device.auth, ':') == NULL)
		return (bad_usage("--target-auth must be USER:PASS"));
	if ((cfg.device.allow && !modes_valid(cfg.device.allow)) ||
	    (cfg.device.deny && !modes_valid(cfg.device.deny)))
		return (bad_usage("--allow/--deny take modes separated by commas"));
	/* Test knobs: shorter heartbeats, so that dead links are seen fast. */
	if ((v = getenv("AWTRIX_AGENT_PING_S")) != NULL && atoi(v) > 0)
		cfg.ping_s = atoi(v);
	if ((v = getenv("AWTRIX_AGENT_DEAD_S")) != NULL && atoi(v) > 0)
		cfg.dead_s = atoi(v);
	return (agent_run(&cfg));
}
