#ifndef AWTRIX_FCGI_POOL_H
#define AWTRIX_FCGI_POOL_H

/*
 * The FastCGI side of the process: worker threads that each accept and
 * serve one request at a time with libfcgi's thread-safe FCGX_Accept_r,
 * all of them talking to the broker through one shared connection
 * (fcgi/mux.c).  A request that waits for a slow device costs a thread
 * (a small stack and a few pages), not a process.
 */

#include "serve.h"

/**
 * pool_run(cfg):
 * Serve FastCGI requests on the listening socket of standard input with
 * ${cfg}->threads worker threads until SIGTERM or SIGUSR1, then let every
 * request being served finish.  Return the exit status: 0, or 1 if the
 * threads could not be started or accepting failed.
 */
int pool_run(const struct serve_config *cfg);

#endif
