/*
 * awtrix-agent: the device side of AWTRIX Cloud.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "agent.h"
#include "flags.h"
#include "brokers.h"
#include "log.h"
#include "relay.h"
#include "translate.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: awtrix-agent --broker HOST:PORT[,...] --broker-key PUBKEY "
	    "--state DIR --target URLPREFIX\n"
	    "                    [--target-auth USER:PASS] [--allow MODE,...] "
	    "[--deny MODE,...]\n"
	    "                    [--verbose] [--allow-lan-clients]\n"
	    "                    [--generation 2|3] [--probe-interval S]\n"
	    "       awtrix-agent --help | --version\n"
	    "\n"
	    "  --broker HOST:PORT   the broker's agent port; several, separated "
	    "by commas,\n"
	    "                       are tried in a random order\n"
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
	    "  --verbose            log every call to the clock: mode, status, "
	    "time\n"
	    "  --generation 2|3     the clock's AWTRIX generation (default: "
	    "2 if the\n"
	    "                       target ends in /api/v3/, else 3); with 3, "
	    "AWTRIX 2\n"
	    "                       requests are translated\n"
	    "  --probe-interval S   check that the clock answers after S idle "
	    "seconds\n"
	    "                       (default 30, 1..3600)\n"
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
		{ "verbose", no_argument, NULL, 'v' },
		{ "generation", required_argument, NULL, 'g' },
		{ "probe-interval", required_argument, NULL, 'p' },
		{ "allow-lan-clients", no_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	static struct broker_list brokers;
	struct agent_config cfg;
	const char *key = NULL, *v, *why, *gen = NULL, *probe = NULL;
	char bad[64], msg[512], *end;
	long n;
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
		case 'v': cfg.device.verbose = 1; break;
		case 'g': gen = optarg; break;
		case 'p': probe = optarg; break;
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
	if (brokers_parse(&brokers, cfg.broker)) {
		snprintf(msg, sizeof(msg), "--broker %s must be HOST:PORT (or "
		    "up to 16, separated by commas), for example "
		    "cloud.example.org:7443", cfg.broker);
		return (bad_usage(msg));
	}
	if (key_from_base64(key, cfg.broker_pk))
		return (bad_usage("--broker-key must be the 44-character base64 "
		    "key that `awtrix-broker pubkey` prints"));
	if (flags_target_check(cfg.device.target, &why)) {
		snprintf(msg, sizeof(msg), "--target %s %s", cfg.device.target,
		    why);
		return (bad_usage(msg));
	}
	if (cfg.device.auth != NULL && strchr(cfg.device.auth, ':') == NULL)
		return (bad_usage("--target-auth must be USER:PASS"));
	if ((cfg.device.allow && !modes_valid(cfg.device.allow)) ||
	    (cfg.device.deny && !modes_valid(cfg.device.deny)))
		return (bad_usage("--allow/--deny take modes separated by commas"));
	if (cfg.device.deny && flags_deny_check(cfg.device.deny, &why, bad,
	    sizeof(bad))) {
		snprintf(msg, sizeof(msg), "--deny: %s %s", bad, why);
		return (bad_usage(msg));
	}
	if (gen == NULL)
		cfg.device.generation = translate_generation(cfg.device.target);
	else if (strcmp(gen, "2") == 0 || strcmp(gen, "3") == 0)
		cfg.device.generation = gen[0] - '0';
	else
		return (bad_usage("--generation must be 2 or 3"));
	cfg.device.probe_s = 30;
	if (probe != NULL) {
		n = strtol(probe, &end, 10);
		if (*probe < '0' || *probe > '9' || *end != '\0' || n < 1 ||
		    n > 3600)
			return (bad_usage("--probe-interval must be 1..3600 "
			    "seconds"));
		cfg.device.probe_s = (int)n;
	}
	/* Test knobs: shorter heartbeats, so that dead links are seen fast. */
	if ((v = getenv("AWTRIX_AGENT_PING_S")) != NULL && atoi(v) > 0)
		cfg.ping_s = atoi(v);
	if ((v = getenv("AWTRIX_AGENT_DEAD_S")) != NULL && atoi(v) > 0)
		cfg.dead_s = atoi(v);
	/* ...and one that plays an agent older than LM_CLOCK. */
	if ((v = getenv("AWTRIX_AGENT_NO_CLOCK")) != NULL && strcmp(v, "1") == 0)
		cfg.no_clock = 1;
	return (agent_run(&cfg));
}
