/*
 * awtrix-token: show, print as a URL, or regenerate the token of an agent's
 * state directory.  It prints the token on purpose, and nothing else does.
 */
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "control.h"
#include "qr.h"
#include "relay.h"
#include "state.h"

/* The state directory of the shipped awtrix-agent.service. */
#define DEFAULT_STATE "/var/lib/awtrix-agent/"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: awtrix-token [--state DIR] show\n"
	    "       awtrix-token [--state DIR] url [MODE] [--qr]\n"
	    "       awtrix-token [--state DIR] url --page\n"
	    "       awtrix-token [--state DIR] regenerate\n"
	    "       awtrix-token [--state DIR] status\n"
	    "       awtrix-token --help | --version\n"
	    "\n"
	    "  --state DIR      the agent's state directory (default "
	    DEFAULT_STATE ",\n"
	    "                   the one of awtrix-agent.service)\n"
	    "  show             print the current token\n"
	    "  url [MODE]       print the ready-to-paste URL (MODE defaults to "
	    "notify);\n"
	    "                   --qr also draws it as a QR code for a phone\n"
	    "  url --page       print the link of the owner's page, token in "
	    "the fragment\n"
	    "  regenerate       make a new token (the old one is dead for ever)"
	    "\n"
	    "                   and print it, then the new URL\n"
	    "  status           is the agent running, connected, is the clock "
	    "there?\n"
	    "                   (exit 0 all yes, 1 no agent, 3 no broker, 4 no "
	    "clock)\n");
}

static int
bad_usage(const char *msg)
{
	if (msg != NULL)
		fprintf(stderr, "awtrix-token: %s\n", msg);
	usage(stderr);
	return (2);
}

/*
 * Say what is wrong with ${dir} itself, if anything: a missing directory
 * and a permission problem need different fixes.  Return 0 if it can be
 * read, else -1 (printed).
 */
static int
state_check(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) != 0) {
		if (errno == ENOENT)
			fprintf(stderr, "awtrix-token: %s does not exist: "
			    "pass the --state DIR the agent runs with (the "
			    "agent creates it at its first start)\n", dir);
		else if (errno == EACCES)
			fprintf(stderr, "awtrix-token: cannot reach %s: "
			    "permission denied; run awtrix-token as root "
			    "(sudo) or as the agent's user\n", dir);
		else
			fprintf(stderr, "awtrix-token: %s: %s\n", dir,
			    strerror(errno));
		return (-1);
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "awtrix-token: %s is not a directory: pass "
		    "the agent's --state DIR\n", dir);
		return (-1);
	}
	if (access(dir, R_OK | X_OK) != 0) {
		fprintf(stderr, "awtrix-token: cannot read %s: %s; run "
		    "awtrix-token as root (sudo) or as the agent's user\n",
		    dir, strerror(errno));
		return (-1);
	}
	return (0);
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

/*
 * Print the URL of ${mode} for the token in ${dir}, and as a QR code too
 * when ${qr}.  Return 0, or 1 (printed).
 */
static int
cmd_url(const char *dir, const char *mode, int qr)
{
	char token[TOKEN_LEN + 1], err[512], url[1024], link[1200];
	int n, rc = 1;

	if (!relay_mode_valid(mode, strlen(mode)))
		return (bad_usage("MODE must be an endpoint such as notify, "
		    "custom or stats"));
	if (state_check(dir))
		return (1);
	if (state_token_read(dir, token, err, sizeof(err))) {
		fprintf(stderr, "awtrix-token: %s\n", err);
		return (1);
	}
	if (state_url_read(dir, url, sizeof(url))) {
		fprintf(stderr, "awtrix-token: no public URL in %s yet: the "
		    "agent stores the one the broker tells it when it "
		    "registers. Check that the agent is running and connected "
		    "(its log says \"device registered\"), and ask your "
		    "operator whether the broker runs with --public-url\n",
		    dir);
		goto out;
	}
	n = snprintf(link, sizeof(link), "%s%smode=%s&token=%s", url,
	    strchr(url, '?') ? "&" : "?", mode, token);
	if (n < 0 || (size_t)n >= sizeof(link)) {
		fprintf(stderr, "awtrix-token: the public URL in %s is too "
		    "long\n", dir);
		goto out;
	}
	printf("%s\n", link);
	if (qr && qr_print(stdout, link) != 0) {
		fprintf(stderr, "awtrix-token: cannot draw the QR code: %s\n",
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(token, sizeof(token));
	sodium_memzero(link, sizeof(link));
	return (rc);
}

/* After a rotation: the new token, then the new link when it is known. */
static int
regenerated(const char *dir)
{
	char url[1024];

	if (cmd_show(dir) != 0)
		return (1);
	if (state_url_read(dir, url, sizeof(url)) == 0)
		return (cmd_url(dir, "notify", 0));
	return (0);
}

/*
 * The owner's page is www/ at /owner/ next to /cloud (the shipped web
 * server configurations): the public URL with its last path segment
 * replaced.  The token goes in the fragment, which browsers never send to
 * a server, so no access log or Referer ever holds it.
 */
static int
cmd_url_page(const char *dir)
{
	char token[TOKEN_LEN + 1], err[512], url[1024];
	char *host, *slash;

	if (state_check(dir))
		return (1);
	if (state_url_read(dir, url, sizeof(url))) {
		fprintf(stderr, "awtrix-token: no usable public URL in %s yet: the "
		    "agent stores the one the broker tells it when it "
		    "connects (the broker needs --public-url)\n", dir);
		return (1);
	}
	url[strcspn(url, "?#")] = '\0';
	host = strstr(url, "://");
	host = host != NULL ? host + 3 : url;
	if ((slash = strrchr(host, '/')) != NULL)
		slash[1] = '\0';
	if (state_token_read(dir, token, err, sizeof(err))) {
		fprintf(stderr, "awtrix-token: %s\n", err);
		return (1);
	}
	printf("%s%sowner/#token=%s\n", url, slash != NULL ? "" : "/", token);
	sodium_memzero(token, sizeof(token));
	return (0);
}

static int
cmd_regenerate(const char *dir)
{
	char reply[CONTROL_LINE_MAX], token[TOKEN_LEN + 1], err[512];
	int lock;

	if (state_check(dir))
		return (1);
	if (control_ask(dir, "regenerate", reply, sizeof(reply), 15000) == 0) {
		if (strcmp(reply, "rotated") == 0)
			return (regenerated(dir));
		if (strcmp(reply, "offline") == 0) {
			fprintf(stderr, "awtrix-token: the agent is not "
			    "connected to the broker: the old token stops "
			    "working when it next connects\n");
			return (regenerated(dir));
		}
		fprintf(stderr, "awtrix-token: the agent answered: %s\n", reply);
		return (1);
	}
	if (errno != ENOENT && errno != ECONNREFUSED) {
		fprintf(stderr, "awtrix-token: cannot talk to the agent: %s\n",
		    strerror(errno));
		return (1);
	}
	/*
	 * No control socket answers.  Only if no agent holds the lock may the
	 * file change under it; holding the lock meanwhile keeps an agent
	 * from starting half-way through.
	 */
	if ((lock = state_lock(dir, err, sizeof(err))) < 0) {
		if (state_agent_running(dir) == 1)
			fprintf(stderr, "awtrix-token: the agent is running but "
			    "does not answer on %s/" CONTROL_SOCKET ": nothing "
			    "was changed; restart the agent and try again\n",
			    dir);
		else
			fprintf(stderr, "awtrix-token: %s\n", err);
		return (1);
	}
	if (state_token_read(dir, token, err, sizeof(err))) {
		fprintf(stderr, "awtrix-token: %s\n", err);
		close(lock);
		return (1);
	}
	token_generate(token);
	if (state_token_write(dir, token)) {
		fprintf(stderr, "awtrix-token: cannot write the token file in "
		    "%s: %s\n", dir, strerror(errno));
		sodium_memzero(token, sizeof(token));
		close(lock);
		return (1);
	}
	close(lock);
	sodium_memzero(token, sizeof(token));
	fprintf(stderr, "awtrix-token: the agent is not running: the old "
	    "token stops working when it next connects\n");
	return (regenerated(dir));
}

/* Ask the running agent (control socket); nothing reaches the clock. */
static int
cmd_status(const char *dir)
{
	char link[CONTROL_LINE_MAX], clock[CONTROL_LINE_MAX], *sp;
	const char *version = NULL;
	int connected, rc = 0;

	if (control_ask(dir, "status", link, sizeof(link), 5000)) {
		if (errno == ENOENT || errno == ECONNREFUSED) {
			printf("agent: not running\n");
			return (1);
		}
		fprintf(stderr, "awtrix-token: cannot talk to the agent: %s\n",
		    strerror(errno));
		return (1);
	}
	printf("agent: running\n");
	connected = strcmp(link, "connected") == 0;
	printf("broker: %s\n", connected ? "connected" : "not connected");
	if (!connected)
		rc = 3;
	if (control_ask(dir, "clock", clock, sizeof(clock), 5000)) {
		fprintf(stderr, "awtrix-token: the agent did not say how the "
		    "clock is: %s\n", strerror(errno));
		snprintf(clock, sizeof(clock), "unknown");
	}
	/* "reachable 0.98": the word, then the version if any. */
	if ((sp = strchr(clock, ' ')) != NULL) {
		*sp = '\0';
		version = sp + 1;
	}
	if (strcmp(clock, "reachable") == 0)
		printf("clock: reachable%s%s%s\n", version ? " (firmware " : "",
		    version ? version : "", version ? ")" : "");
	else
		printf("clock: %s\n", strcmp(clock, "unreachable") == 0 ?
		    "not reachable" : "not checked yet");
	if (rc == 0 && strcmp(clock, "reachable") != 0)
		rc = 4;
	return (rc);
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
	const char *dir = DEFAULT_STATE, *cmd;
	int c, qr = 0;

	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 's': dir = optarg; break;
		case 'h': usage(stdout); return (0);
		case 'V': printf("awtrix-token %s\n", AWTRIX_VERSION); return (0);
		default: return (bad_usage(NULL));
		}
	}
	if (optind >= argc)
		return (bad_usage("a command is required"));
	if (sodium_init() < 0) {
		fprintf(stderr, "awtrix-token: libsodium failed to start\n");
		return (1);
	}
	cmd = argv[optind++];
	if (strcmp(cmd, "show") == 0 && optind == argc)
		return (cmd_show(dir));
	if (strcmp(cmd, "url") == 0 && argc - optind == 1 &&
	    strcmp(argv[optind], "--page") == 0)
		return (cmd_url_page(dir));
	if (strcmp(cmd, "url") == 0) {
		const char *mode = NULL;

		for (; optind < argc; optind++) {
			if (strcmp(argv[optind], "--qr") == 0)
				qr = 1;
			else if (argv[optind][0] == '-' || mode != NULL)
				return (bad_usage("url takes at most one MODE, "
				    "and --qr; or --page alone"));
			else
				mode = argv[optind];
		}
		if (mode == NULL)
			mode = "notify";
		return (cmd_url(dir, mode, qr));
	}
	if (strcmp(cmd, "regenerate") == 0 && optind == argc)
		return (cmd_regenerate(dir));
	if (strcmp(cmd, "status") == 0 && optind == argc)
		return (cmd_status(dir));
	return (bad_usage("unknown command or extra argument"));
}
