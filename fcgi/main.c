/*
 * awtrix-cloud.fcgi: the HTTP side of AWTRIX Cloud.  Under a FastCGI
 * listener it serves requests until SIGTERM, many at once (fcgi/pool.c),
 * all over one broker connection (fcgi/mux.c); started as plain CGI it
 * serves the one request of its environment and stdin.  Either way every request
 * is checked, handed to the broker over its Unix socket, and answered with
 * the device's answer or an error of the status table (design §4).
 */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>
#include <sodium.h>

#include "io.h"
#include "log.h"
#include "metrics.h"
#include "mux.h"
#include "pool.h"
#include "relay.h"
#include "response.h"
#include "serve.h"

#define PROGNAME "awtrix-cloud.fcgi"
#define DEFAULT_SOCKET "/run/awtrix-cloud/broker.sock"
#define DEFAULT_TIMEOUT_MS 10000
#define MAX_TIMEOUT_MS 600000
#define DEFAULT_MAX_BODY 16384
#define DEFAULT_THREADS 256

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: " PROGNAME " [--help | --version]\n"
	    "\n"
	    "Relay HTTP requests for an AWTRIX to the AWTRIX Cloud broker.\n"
	    "Run it from a web server: as FastCGI (a listening socket on\n"
	    "stdin) it serves requests until SIGTERM; as plain CGI it serves\n"
	    "the one request of its environment and stdin.\n"
	    "\n"
	    "  POST|GET /cloud?mode=MODE&token=TOKEN[&name=...]\n"
	    "  (or the token as \"Authorization: Bearer TOKEN\")\n"
	    "\n"
	    "Environment, read once at start:\n"
	    "  AWTRIX_BROKER_SOCKET  broker's Unix socket (" DEFAULT_SOCKET
	    ")\n"
	    "  AWTRIX_TIMEOUT_MS     how long to wait for the device (%d)\n"
	    "  AWTRIX_MAX_BODY       largest request body in bytes (%d,\n"
	    "                        at most %d)\n"
	    "  AWTRIX_THREADS        FastCGI requests served at once by this\n"
	    "                        process, one thread each (%d, at most %d)\n",
	    DEFAULT_TIMEOUT_MS, DEFAULT_MAX_BODY, RELAY_BODY_MAX,
	    DEFAULT_THREADS, MUX_SLOTS_MAX);
}

/*
 * Read the unsigned decimal variable ${name} into ${v}, keeping ${v} when it
 * is unset or empty.  Return 0, or -1 (logged) if it is not digits only or
 * above ${max}.
 */
static int
main_env_number(const char *name, unsigned long max, unsigned long *v)
{
	const char *s = getenv(name);
	unsigned long n = 0;

	if (s == NULL || *s == '\0')
		return (0);
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || n > max)
			goto bad;
		n = n * 10 + (unsigned long)(*s - '0');
	}
	if (n > max)
		goto bad;
	*v = n;
	return (0);

bad:
	log_error("%s must be a number of at most %lu", name, max);
	return (-1);
}

/* The configuration of design §3; return 0 or -1 (logged). */
static int
main_config(struct serve_config *cfg)
{
	unsigned long timeout = DEFAULT_TIMEOUT_MS, body = DEFAULT_MAX_BODY;
	unsigned long threads = DEFAULT_THREADS;
	const char *sock = getenv("AWTRIX_BROKER_SOCKET");

	cfg->socket = sock != NULL && *sock != '\0' ? sock : DEFAULT_SOCKET;
	if (main_env_number("AWTRIX_TIMEOUT_MS", MAX_TIMEOUT_MS, &timeout) ||
	    main_env_number("AWTRIX_MAX_BODY", (unsigned long)-1 / 10, &body) ||
	    main_env_number("AWTRIX_THREADS", MUX_SLOTS_MAX, &threads))
		return (-1);
	if (threads == 0) {
		log_error("AWTRIX_THREADS must be at least 1");
		return (-1);
	}
	if (timeout == 0) {
		log_error("AWTRIX_TIMEOUT_MS must be at least 1");
		return (-1);
	}
	if (body > RELAY_BODY_MAX) {
		log_warn("AWTRIX_MAX_BODY %lu lowered to %d", body,
		    RELAY_BODY_MAX);
		body = RELAY_BODY_MAX;
	}
	cfg->timeout_ms = (int)timeout;
	cfg->max_body = body;
	cfg->threads = (unsigned int)threads;
	return (0);
}

/* Serve the one request of a plain CGI run. */
static int
main_cgi(const struct serve_config *cfg, int config_ok)
{
	struct io io = { NULL, cfg->timeout_ms };
	struct response r;
	struct serve s;
	struct mux mux;

	if (getenv("REQUEST_METHOD") == NULL) {
		log_error("not started by a web server (no REQUEST_METHOD); "
		    "see --help");
		return (2);
	}
	if (!config_ok) {
		response_local(&r, 503, "the relay is misconfigured");
		response_send(&r, io_write, &io);
		return (1);
	}
	if (mux_init(&mux, cfg->socket, cfg->timeout_ms, 1) != 0)
		goto fail;
	if (serve_init(&s, cfg, &mux, 0) != 0) {
		mux_free(&mux);
		goto fail;
	}
	serve_request(&s, &io);
	serve_free(&s);
	mux_free(&mux);
	return (0);

fail:
	log_error("out of memory");
	response_local(&r, 503, "the relay is not available; retry later");
	response_send(&r, io_write, &io);
	return (1);
}

int
main(int argc, char *argv[])
{
	struct serve_config cfg;
	int config_ok, rc;

	log_init(PROGNAME);
	/*
	 * Flags only outside a web server: under CGI a query string without
	 * '=' may be handed over as arguments (RFC 3875, 4.4).
	 */
	if (getenv("GATEWAY_INTERFACE") == NULL && argc > 1) {
		if (argc == 2 && strcmp(argv[1], "--help") == 0) {
			usage(stdout);
			return (0);
		}
		if (argc == 2 && strcmp(argv[1], "--version") == 0) {
			printf(PROGNAME " " AWTRIX_VERSION "\n");
			return (0);
		}
		usage(stderr);
		return (2);
	}

	/* A web server gone away is a failed write, not a dead process. */
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0) {
		log_error("cannot initialise libsodium");
		return (1);
	}
	config_ok = main_config(&cfg) == 0;
	if (!config_ok) {
		cfg.socket = DEFAULT_SOCKET;
		cfg.timeout_ms = DEFAULT_TIMEOUT_MS;
		cfg.max_body = 0;
		cfg.threads = 1;
	}
	/* Before any thread: the broker socket of /metrics and refusals. */
	metrics_init(cfg.socket);
	if (FCGX_IsCGI())
		rc = main_cgi(&cfg, config_ok);
	else
		rc = config_ok ? pool_run(&cfg) : 1;
	return (rc);
}
