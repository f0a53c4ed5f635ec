/*
 * Experiments only (bench/run.sh does not use this): an LD_PRELOAD shim that
 * changes two socket settings of an unmodified awtrix-broker, to measure
 * what a change to the broker would buy before anyone makes it.
 *
 *   EXP_NODELAY=1    TCP_NODELAY on every socket accept4() returns
 *   EXP_BACKLOG=N    listen() with a backlog of N (the kernel caps it at
 *                    net.core.somaxconn, which must be raised as well)
 *
 *   cc -O2 -shared -fPIC -D_GNU_SOURCE -o bench/bin/experiment.so \
 *       bench/tools/experiment_preload.c -ldl
 *   EXP_NODELAY=1 LD_PRELOAD=bench/bin/experiment.so awtrix-broker serve ...
 *
 * docs/benchmarks.md ("Findings") says what these experiments measured.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>

int
accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	static int (*real)(int, struct sockaddr *, socklen_t *, int);
	const char *v = getenv("EXP_NODELAY");
	int s, on = 1;

	if (real == NULL)
		real = (int (*)(int, struct sockaddr *, socklen_t *, int))
		    dlsym(RTLD_NEXT, "accept4");
	s = real(fd, addr, len, flags);
	if (s >= 0 && v != NULL && *v == '1')
		(void)setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	return (s);
}

int
listen(int fd, int backlog)
{
	static int (*real)(int, int);
	const char *v = getenv("EXP_BACKLOG");

	if (real == NULL)
		real = (int (*)(int, int))dlsym(RTLD_NEXT, "listen");
	if (v != NULL && atoi(v) > 0)
		backlog = atoi(v);
	return (real(fd, backlog));
}
