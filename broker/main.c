/*
 * awtrix-broker: keygen, pubkey, serve, stats, revoke.
 */
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "broker.h"
#include "cluster.h"
#include "fairness.h"
#include "front_client.h"
#include "keyfile.h"
#include "log.h"
#include "net.h"
#include "public_url.h"
#include "token.h"

/* Where the shipped units put the socket, and the FastCGI program looks. */
#define DEFAULT_SOCKET "/run/awtrix-cloud/broker.sock"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: awtrix-broker keygen KEYFILE\n"
	    "       awtrix-broker pubkey KEYFILE\n"
	    "       awtrix-broker serve --key KEYFILE --db DBFILE --socket PATH"
	    " --listen HOST:PORT\n"
	    "                           [--public-url URL] [--socket-group GROUP]"
	    " [--user USER]\n"
	    "                           [--nats URL[,URL...]] [--max-devices N]\n"
	    "       awtrix-broker stats [--socket PATH]   (default "
	    DEFAULT_SOCKET ")\n"
	    "       awtrix-broker revoke --key KEYFILE --db DBFILE"
	    " [--nats URL[,URL...]] TOKEN\n"
	    "       awtrix-broker --help | --version\n");
}

static int
bad_usage(const char *msg)
{
	if (msg != NULL)
		fprintf(stderr, "awtrix-broker: %s\n", msg);
	usage(stderr);
	return (2);
}

static int
cmd_keygen(int argc, char **argv)
{
	struct broker_key k;
	char b64[KEY_B64_LEN + 1];

	if (argc != 2)
		return (bad_usage("keygen takes one KEYFILE"));
	broker_key_generate(&k);
	if (broker_key_save(argv[1], &k)) {
		fprintf(stderr, "awtrix-broker: cannot create %s: %s\n", argv[1],
		    errno == EEXIST ? "it already exists (refusing to "
		    "overwrite a key)" : strerror(errno));
		sodium_memzero(&k, sizeof(k));
		return (1);
	}
	key_to_base64(k.pk, b64);
	sodium_memzero(&k, sizeof(k));
	printf("%s\n", b64);
	return (0);
}

static int
cmd_pubkey(int argc, char **argv)
{
	struct broker_key k;
	char b64[KEY_B64_LEN + 1];
	const char *why;

	if (argc != 2)
		return (bad_usage("pubkey takes one KEYFILE"));
	if (broker_key_load(argv[1], &k, &why)) {
		fprintf(stderr, "awtrix-broker: key file %s %s\n", argv[1], why);
		return (1);
	}
	key_to_base64(k.pk, b64);
	sodium_memzero(&k, sizeof(k));
	printf("%s\n", b64);
	return (0);
}

enum {
	OPT_KEY = 1, OPT_DB, OPT_SOCKET, OPT_LISTEN, OPT_URL, OPT_GROUP,
	OPT_USER, OPT_NATS, OPT_MAX_DEVICES, OPT_HELP
};

static const struct option serve_opts[] = {
	{ "key", required_argument, NULL, OPT_KEY },
	{ "db", required_argument, NULL, OPT_DB },
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "public-url", required_argument, NULL, OPT_URL },
	{ "socket-group", required_argument, NULL, OPT_GROUP },
	{ "user", required_argument, NULL, OPT_USER },
	{ "nats", required_argument, NULL, OPT_NATS },
	{ "max-devices", required_argument, NULL, OPT_MAX_DEVICES },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 }
};

/* Parse the options of serve/stats/revoke; which ones are allowed is up
 * to the caller. */
static int
parse_opts(int argc, char **argv, struct broker_config *cfg)
{
	struct passwd *pw;
	struct group *gr;
	const char *why;
	char *end;
	long n;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", serve_opts, NULL)) != -1) {
		switch (c) {
		case OPT_KEY: cfg->key_path = optarg; break;
		case OPT_DB: cfg->db_path = optarg; break;
		case OPT_SOCKET: cfg->socket_path = optarg; break;
		case OPT_LISTEN: cfg->listen = optarg; break;
		case OPT_URL: cfg->public_url = optarg; break;
		case OPT_GROUP:
			if ((gr = getgrnam(optarg)) == NULL) {
				fprintf(stderr, "awtrix-broker: --socket-group "
				    "%s: no such group\n", optarg);
				return (2);
			}
			cfg->socket_gid = gr->gr_gid;
			break;
		case OPT_USER:
			if ((pw = getpwnam(optarg)) == NULL) {
				fprintf(stderr, "awtrix-broker: --user %s: no "
				    "such user\n", optarg);
				return (2);
			}
			cfg->user = optarg;
			cfg->user_uid = pw->pw_uid;
			cfg->user_gid = pw->pw_gid;
			break;
		case OPT_NATS:
			if (!cluster_urls_valid(optarg, &why)) {
				fprintf(stderr, "awtrix-broker: --nats: %s\n",
				    why);
				return (2);
			}
			cfg->nats = optarg;
			break;
		case OPT_MAX_DEVICES:
			errno = 0;
			n = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    n < 1 || n > 100000000) {
				fprintf(stderr, "awtrix-broker: --max-devices "
				    "%s: expected a number of devices from 1 to "
				    "100000000\n", optarg);
				return (2);
			}
			cfg->max_devices = n;
			break;
		case OPT_HELP:
			usage(stdout);
			exit(0);
		default:
			return (bad_usage(NULL));
		}
	}
	return (0);
}

static void
config_defaults(struct broker_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->socket_gid = (gid_t)-1;
	cfg->handshake_ms = 5000;
	cfg->msg1_ms = 1500;
	cfg->max_src_handshakes = 16;
	cfg->max_devices = 100000;
	cfg->reg_rate = 5.0;
	cfg->reg_burst = 100.0;
	cfg->src_reg_rate = 1.0 / 60;
	cfg->src_reg_burst = 10.0;
	cfg->deadline_ms = 8000;
	cfg->rate = 5.0;
	cfg->burst = 30.0;
	cfg->max_inflight = 4;
	cfg->cooloff_ms = FAIR_COOLOFF_MS;
	cfg->max_handshakes = 1024;
	cfg->max_pending = 4096;
	cfg->ping_s = 20;
	cfg->dead_s = 50;
	cfg->kv_replicas = 3;
}

/* Test and benchmark knobs, from the environment: never needed in use. */
static void
config_from_env(struct broker_config *cfg)
{
	const char *v;

	if ((v = getenv("AWTRIX_BROKER_DEADLINE_MS")) != NULL)
		cfg->deadline_ms = atoi(v) > 0 ? atoi(v) : cfg->deadline_ms;
	if ((v = getenv("AWTRIX_BROKER_HANDSHAKE_MS")) != NULL)
		cfg->handshake_ms = atoi(v) > 0 ? atoi(v) : cfg->handshake_ms;
	if ((v = getenv("AWTRIX_BROKER_RATE")) != NULL)
		cfg->rate = atof(v) > 0 ? atof(v) : cfg->rate;
	if ((v = getenv("AWTRIX_BROKER_BURST")) != NULL)
		cfg->burst = atof(v) >= 1 ? atof(v) : cfg->burst;
	if ((v = getenv("AWTRIX_BROKER_PING_S")) != NULL)
		cfg->ping_s = atoi(v) > 0 ? atoi(v) : cfg->ping_s;
	if ((v = getenv("AWTRIX_BROKER_DEAD_S")) != NULL)
		cfg->dead_s = atoi(v) > 0 ? atoi(v) : cfg->dead_s;
	if ((v = getenv("AWTRIX_BROKER_KV_REPLICAS")) != NULL)
		cfg->kv_replicas = atoi(v) >= 1 && atoi(v) <= 5 ? atoi(v) :
		    cfg->kv_replicas;
	if ((v = getenv("AWTRIX_BROKER_MAX_HANDSHAKES")) != NULL)
		cfg->max_handshakes = atoi(v) > 0 ? atoi(v) :
		    cfg->max_handshakes;
	if ((v = getenv("AWTRIX_BROKER_LOG_WINDOW_MS")) != NULL)
		cfg->log_window_ms = atoi(v) > 0 ? atoi(v) : 0;
	if ((v = getenv("AWTRIX_BROKER_MSG1_MS")) != NULL)
		cfg->msg1_ms = atoi(v) > 0 ? atoi(v) : cfg->msg1_ms;
	if ((v = getenv("AWTRIX_BROKER_MAX_SRC_HANDSHAKES")) != NULL)
		cfg->max_src_handshakes = atoi(v) > 0 ? atoi(v) :
		    cfg->max_src_handshakes;
	if ((v = getenv("AWTRIX_BROKER_COOLOFF_MS")) != NULL)
		cfg->cooloff_ms = atoi(v) >= 0 ? atoi(v) : cfg->cooloff_ms;
	if ((v = getenv("AWTRIX_BROKER_MAX_INFLIGHT")) != NULL)
		cfg->max_inflight = atoi(v) > 0 && atoi(v) < 256 ? atoi(v) :
		    cfg->max_inflight;
	if ((v = getenv("AWTRIX_BROKER_REG_RATE")) != NULL)
		cfg->reg_rate = atof(v) > 0 ? atof(v) : cfg->reg_rate;
	if ((v = getenv("AWTRIX_BROKER_REG_BURST")) != NULL)
		cfg->reg_burst = atof(v) >= 1 ? atof(v) : cfg->reg_burst;
	if ((v = getenv("AWTRIX_BROKER_SRC_REG_RATE")) != NULL)
		cfg->src_reg_rate = atof(v) > 0 ? atof(v) : cfg->src_reg_rate;
	if ((v = getenv("AWTRIX_BROKER_SRC_REG_BURST")) != NULL)
		cfg->src_reg_burst = atof(v) >= 1 ? atof(v) :
		    cfg->src_reg_burst;
}

static int
cmd_serve(int argc, char **argv)
{
	struct broker_config cfg;
	const char *why;
	int rc;

	config_defaults(&cfg);
	if ((rc = parse_opts(argc, argv, &cfg)) != 0)
		return (rc);
	if (optind != argc)
		return (bad_usage("serve takes no arguments"));
	if (!cfg.key_path || !cfg.db_path || !cfg.socket_path || !cfg.listen)
		return (bad_usage("serve needs --key, --db, --socket and "
		    "--listen"));
	if (!net_hostport_valid(cfg.listen))
		return (bad_usage("--listen must be HOST:PORT, for example "
		    "0.0.0.0:7443 or [::]:7443"));
	if (cfg.public_url != NULL &&
	    public_url_check(cfg.public_url, strlen(cfg.public_url), &why)) {
		fprintf(stderr, "awtrix-broker: --public-url %s (or leave the "
		    "flag out: agents then print no link)\n", why);
		return (2);
	}
	if (geteuid() == 0 && cfg.user == NULL) {
		fprintf(stderr, "awtrix-broker: refusing to serve as root: "
		    "pass --user USER to drop to an unprivileged user after "
		    "binding, or start it as that user\n");
		return (2);
	}
	if (cfg.user != NULL && geteuid() != 0 && geteuid() != cfg.user_uid) {
		fprintf(stderr, "awtrix-broker: --user %s needs root\n",
		    cfg.user);
		return (2);
	}
	config_from_env(&cfg);
	/* The database, its journal and our files: owner only. */
	umask(077);
	return (broker_serve(&cfg));
}

static int
cmd_stats(int argc, char **argv)
{
	static uint8_t buf[FRONT_FRAME_MAX];
	struct broker_config cfg;
	struct front_msg m;
	uint8_t frame[64];
	long n;
	int fd, rc;

	config_defaults(&cfg);
	if ((rc = parse_opts(argc, argv, &cfg)) != 0)
		return (rc);
	if (cfg.socket_path == NULL)
		cfg.socket_path = DEFAULT_SOCKET;
	if (optind != argc)
		return (bad_usage("stats takes no arguments"));
	if ((fd = front_connect(cfg.socket_path)) < 0) {
		fprintf(stderr, "awtrix-broker: cannot connect to %s: %s "
		    "(is the broker running, and is this its --socket?)\n",
		    cfg.socket_path, strerror(errno));
		return (1);
	}
	n = front_encode_stats(frame, sizeof(frame), 1);
	rc = front_call(fd, frame, (size_t)n, 1, 5000, buf, sizeof(buf), &m);
	close(fd);
	if (rc != 0 || m.type != FRONT_STATS_ANSWER) {
		fprintf(stderr, "awtrix-broker: no answer from the broker\n");
		return (1);
	}
	printf("%.*s\n", (int)m.text_len, m.text);
	return (0);
}

static int
cmd_revoke(int argc, char **argv)
{
	struct broker_config cfg;
	struct broker_key k;
	uint8_t h[TOKEN_HASH_LEN];
	struct db *db;
	const char *why, *tok;
	int rc;

	config_defaults(&cfg);
	if ((rc = parse_opts(argc, argv, &cfg)) != 0)
		return (rc);
	if (!cfg.key_path || !cfg.db_path || optind != argc - 1)
		return (bad_usage("revoke needs --key, --db and a TOKEN"));
	tok = argv[optind];
	if (!token_valid(tok, strlen(tok))) {
		fprintf(stderr, "awtrix-broker: not a token (32 characters of "
		    "A-Z, a-z, 0-9)\n");
		return (2);
	}
	if (broker_key_load(cfg.key_path, &k, &why)) {
		fprintf(stderr, "awtrix-broker: key file %s %s\n", cfg.key_path,
		    why);
		return (1);
	}
	token_hash(h, k.hash_key, tok);
	if (cfg.nats != NULL && cluster_revoke(cfg.nats, k.hash_key, h, &why)) {
		sodium_memzero(&k, sizeof(k));
		fprintf(stderr, "awtrix-broker: --nats: %s\n", why);
		return (1);
	}
	sodium_memzero(&k, sizeof(k));
	if ((db = db_open(cfg.db_path, &why)) == NULL) {
		fprintf(stderr, "awtrix-broker: database %s: %s\n",
		    cfg.db_path, why);
		return (1);
	}
	rc = db_revoke(db, h);
	db_close(db);
	if (rc < 0) {
		fprintf(stderr, "awtrix-broker: revocation failed\n");
		return (1);
	}
	printf("revoked%s; %s\n", rc ? "" : " (the token was not registered here)",
	    cfg.nats ? "in the whole cluster; its session has ended" :
	    "a running broker ends its session within 5 s");
	return (0);
}

int
main(int argc, char **argv)
{
	log_init("awtrix-broker");
	if (sodium_init() < 0) {
		fprintf(stderr, "awtrix-broker: libsodium failed to start\n");
		return (1);
	}
	if (argc < 2)
		return (bad_usage(NULL));
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return (0);
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("awtrix-broker %s\n", AWTRIX_VERSION);
		return (0);
	}
	if (strcmp(argv[1], "keygen") == 0)
		return (cmd_keygen(argc - 1, argv + 1));
	if (strcmp(argv[1], "pubkey") == 0)
		return (cmd_pubkey(argc - 1, argv + 1));
	if (strcmp(argv[1], "serve") == 0)
		return (cmd_serve(argc - 1, argv + 1));
	if (strcmp(argv[1], "stats") == 0)
		return (cmd_stats(argc - 1, argv + 1));
	if (strcmp(argv[1], "revoke") == 0)
		return (cmd_revoke(argc - 1, argv + 1));
	return (bad_usage("unknown command"));
}
