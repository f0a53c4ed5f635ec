#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "io.h"
#include "log.h"
#include "mux.h"
#include "pool.h"
#include "serve.h"

/*
 * A worker's stack holds one request's parsing state (about 20 KiB, most
 * of it the query string decoded) and libfcgi's frames; only the pages
 * touched count in RSS.  Sanitizers need more.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define POOL_STACK (1024 * 1024)
#else
#define POOL_STACK (256 * 1024)
#endif

/* How often the acceptors are woken again while shutting down. */
#define POOL_WAKE_MS 20

struct pool;

struct pool_worker {
	struct pool *p;
	unsigned int idx;
	pthread_t th;
	int started;
	int ready;		/* serve and req initialised */
	atomic_int in_accept;	/* inside FCGX_Accept_r: may be woken */
	atomic_int done;
	struct serve s;
	FCGX_Request req;
};

struct pool {
	const struct serve_config *cfg;
	struct mux mux;
	atomic_int stop;
	atomic_int failed;
	struct pool_worker *w;
	unsigned int n;
};

/* SIGUSR2 only interrupts accept(2) in a worker at shutdown. */
static void
pool_on_wake(int sig)
{
	(void)sig;
}

static void *
pool_worker_main(void *arg)
{
	struct pool_worker *w = arg;
	struct pool *p = w->p;
	struct io io = { &w->req, p->cfg->timeout_ms };
	sigset_t wake;
	int rc;

	sigemptyset(&wake);
	sigaddset(&wake, SIGUSR2);
	pthread_sigmask(SIG_UNBLOCK, &wake, NULL);
	for (;;) {
		atomic_store(&w->in_accept, 1);
		rc = atomic_load(&p->stop) ? -EINTR : FCGX_Accept_r(&w->req);
		atomic_store(&w->in_accept, 0);
		if (atomic_load(&p->stop)) {
			/* Accepted just before the stop: still served. */
			if (rc >= 0) {
				serve_request(&w->s, &io);
				io_finish(&io);
			}
			break;
		}
		if (rc == -EINTR)
			continue;
		if (rc < 0) {
			log_error("%s: cannot accept a request (%d)", __func__,
			    rc);
			atomic_store(&p->failed, 1);
			/* The main thread waits for this in sigwait. */
			kill(getpid(), SIGTERM);
			break;
		}
		serve_request(&w->s, &io);
		io_finish(&io);
		/*
		 * Here, not inside the next FCGX_Accept_r: the response must be
		 * flushed before in_accept says that a wake-up signal (and its
		 * EINTR) may come.
		 */
		FCGX_Finish_r(&w->req);
	}
	FCGX_Finish_r(&w->req);
	atomic_store(&w->done, 1);
	return (NULL);
}

/* Start up to p->n workers; return how many run. */
static unsigned int
pool_start(struct pool *p)
{
	pthread_attr_t ta;
	struct pool_worker *w;
	unsigned int i, started = 0;

	if (pthread_attr_init(&ta) != 0)
		return (0);
	pthread_attr_setstacksize(&ta, POOL_STACK);
	for (i = 0; i < p->n; i++) {
		w = &p->w[i];
		w->p = p;
		w->idx = i;
		if (serve_init(&w->s, p->cfg, &p->mux, i) != 0)
			break;
		if (FCGX_InitRequest(&w->req, 0, FCGI_FAIL_ACCEPT_ON_INTR) !=
		    0) {
			serve_free(&w->s);
			break;
		}
		w->ready = 1;
		if (pthread_create(&w->th, &ta, pool_worker_main, w) != 0)
			break;
		w->started = 1;
		started++;
	}
	pthread_attr_destroy(&ta);
	if (started < p->n)
		log_warn("%s: %u of %u threads started", __func__, started,
		    p->n);
	return (started);
}

/* Wake the acceptors until every worker has finished its request. */
static void
pool_stop(struct pool *p)
{
	struct timespec pause = { 0, POOL_WAKE_MS * 1000000L };
	unsigned int i, left;

	atomic_store(&p->stop, 1);
	do {
		left = 0;
		for (i = 0; i < p->n; i++) {
			if (!p->w[i].started || atomic_load(&p->w[i].done))
				continue;
			left++;
			if (atomic_load(&p->w[i].in_accept))
				pthread_kill(p->w[i].th, SIGUSR2);
		}
		if (left > 0)
			nanosleep(&pause, NULL);
	} while (left > 0);
	for (i = 0; i < p->n; i++)
		if (p->w[i].started)
			pthread_join(p->w[i].th, NULL);
}

/**
 * pool_run(cfg):
 * Serve FastCGI requests on the listening socket of standard input with
 * ${cfg}->threads worker threads until SIGTERM or SIGUSR1, then let every
 * request being served finish.  Return the exit status: 0, or 1 if the
 * threads could not be started or accepting failed.
 */
int
pool_run(const struct serve_config *cfg)
{
	struct sigaction sa;
	struct pool p;
	sigset_t sigs;
	unsigned int i;
	int sig, rc = 1;

	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	p.n = cfg->threads;
	if (FCGX_Init() != 0) {
		log_error("%s: cannot initialise FastCGI", __func__);
		return (1);
	}
	/*
	 * After FCGX_Init, which installs its own SIGUSR1 handler.  Every
	 * thread blocks SIGTERM and SIGUSR1 (multiwatch's default, which
	 * means SIGTERM here): only this thread takes them, in sigwait.  So a
	 * request is never interrupted, and serving one costs no
	 * sigprocmask(2) at all.
	 */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGUSR2);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = pool_on_wake;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART: accept(2) must return */
	if (sigaction(SIGUSR2, &sa, NULL) == -1 ||
	    pthread_sigmask(SIG_BLOCK, &sigs, NULL) != 0) {
		log_error("%s: signals: %s", __func__, strerror(errno));
		return (1);
	}
	sigdelset(&sigs, SIGUSR2);
	if ((p.w = calloc(p.n, sizeof(*p.w))) == NULL) {
		log_error("%s: out of memory", __func__);
		return (1);
	}
	if (mux_init(&p.mux, cfg->socket, cfg->timeout_ms, p.n) != 0) {
		log_error("%s: cannot start the broker connection", __func__);
		goto err0;
	}
	if (pool_start(&p) == 0) {
		log_error("%s: cannot start a thread", __func__);
		goto err1;
	}
	do
		rc = sigwait(&sigs, &sig);
	while (rc == EINTR);
	pool_stop(&p);
	rc = atomic_load(&p.failed) ? 1 : 0;
	goto done;

err1:
	pool_stop(&p);
	rc = 1;
done:
	for (i = 0; i < p.n; i++) {
		if (!p.w[i].ready)
			continue;
		FCGX_Free(&p.w[i].req, 1);
		serve_free(&p.w[i].s);
	}
	mux_free(&p.mux);
err0:
	free(p.w);
	return (rc);
}
