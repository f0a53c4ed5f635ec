/*
 * awtrix-token: show, print as a URL, or regenerate the token of an agent's
 * state directory.  It prints the token on purpose, and nothing else does.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "control.h"
#include "relay.h"
#include "state.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: awtrix-token --state DIR show\n"
	    "       awtrix-token --state DIR url [MODE]\n"
	    "       awtrix-token --state DIR regenerate\n"
	    "       awtrix-token --help | --version\n"
	    "\n"
	    "  show        print the current token\n"
	    "  url [MODE]  print the ready-to-paste URL (MODE defaults to notify)\n"
	    "  regenerate  make a new token; the old one is dead for ever\n");
}

static int
bad_usage(const char *msg)
{
	if (msg != NULL)
		fprintf(stderr, "awtrix-token: %s\n", msg);
	usage(stderr);
	return (2);
}

static int
cmd_show(const char *dir)
{
	char token[TOKEN_LEN + 1], err[512];

	if (state_token_read(dir, token, err, sizeof(err))) {
		fprintf(stderr, "awtrix-token: %s\n", err);
		return (1);
	}
	printf("%s\n", token);
	sodium_memzero(token, sizeof(token));
	return (0);
}

static int
cmd_url(const char *dir, const char *mode)
{
	char token[TOKEN_LEN + 1], err[512], url[1024];

	if (!relay_mode_valid(mode, strlen(mode)))
		return (bad_usage("MODE must be an endpoint such as notify, "
		    "custom or stats"));
	if (state_url_read(dir, url, sizeof(url))) {
		fprintf(stderr, "awtrix-token: no usable public URL in %s yet: the "
		    "agent stores the one the broker tells it when it "
		    "connects (the broker needs --public-url)\n", dir);
		return (1);
	}
	if (state_token_read(dir, token, err, sizeof(err))) {
		fprintf(stderr, "awtrix-token: %s\n", err);
		return (1);
	}
	printf("%s%smode=%s&token=%s\n", url, strchr(url, '?') ? "&" : "?",
	    mode, token);
	sodium_memzero(token, sizeof(token));
	return (0);
}

static int
cmd_regenerate(const char *dir)
{
	char reply[CONTROL_LINE_MAX], token[TOKEN_LEN + 1], err[512];

	if (control_ask(dir, "regenerate", reply, sizeof(reply), 15000) == 0) {
		if (strcmp(reply, "rotated") == 0)
			return (cmd_show(dir));
		if (strcmp(reply, "offline") == 0) {
			fprintf(stderr, "awtrix-token: the agent is not "
			    "connected to the broker: the old token stops "
			    "working when it next connects\n");
			return (cmd_show(dir));
		}
		fprintf(stderr, "awtrix-token: the agent answered: %s\n", reply);
		return (1);
	}
	if (errno != ENOENT && errno != ECONNREFUSED) {
		fprintf(stderr, "awtrix-token: cannot talk to the agent: %s\n",
		    strerror(errno));
		return (1);
	}
	/* No agent runs: write the file; the agent rotates when it starts. */
	if (state_token_read(dir, token, err, sizeof(err))) {
		fprintf(stderr, "awtrix-token: %s\n", err);
		return (1);
	}
	token_generate(token);
	if (state_token_write(dir, token)) {
		fprintf(stderr, "awtrix-token: cannot write the token file in "
		    "%s: %s\n", dir, strerror(errno));
		return (1);
	}
	fprintf(stderr, "awtrix-token: the agent is not running: the old "
	    "token stops working when it next connects\n");
	printf("%s\n", token);
	sodium_memzero(token, sizeof(token));
	return (0);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir = NULL, *cmd;
	int c;

	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 's': dir = optarg; break;
		case 'h': usage(stdout); return (0);
		case 'V': printf("awtrix-token %s\n", AWTRIX_VERSION); return (0);
		default: return (bad_usage(NULL));
		}
	}
	if (dir == NULL || optind >= argc)
		return (bad_usage("--state DIR and a command are required"));
	if (sodium_init() < 0) {
		fprintf(stderr, "awtrix-token: libsodium failed to start\n");
		return (1);
	}
	cmd = argv[optind++];
	if (strcmp(cmd, "show") == 0 && optind == argc)
		return (cmd_show(dir));
	if (strcmp(cmd, "url") == 0 && argc - optind <= 1)
		return (cmd_url(dir, optind < argc ? argv[optind] : "notify"));
	if (strcmp(cmd, "regenerate") == 0 && optind == argc)
		return (cmd_regenerate(dir));
	return (bad_usage("unknown command or extra argument"));
}
