#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "io.h"

static long long
io_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/**
 * io_param(io, name):
 * The CGI variable ${name} of the current request, or NULL.
 */
const char *
io_param(const struct io *io, const char *name)
{
	if (io->fcgx != NULL)
		return (FCGX_GetParam(name, io->fcgx->envp));
	return (getenv(name));
}

/*
 * Wait up to ${ms} for stdin to have data or end of file.  Return 1 when it
 * has, 0 on timeout, -1 on error.
 */
static int
io_cgi_wait(int ms)
{
	struct pollfd pfd;
	int rc;

	pfd.fd = STDIN_FILENO;
	pfd.events = POLLIN;
	pfd.revents = 0;
	do
		rc = poll(&pfd, 1, ms);
	while (rc == -1 && errno == EINTR);
	return (rc > 0 ? 1 : rc);
}

static long
io_cgi_read(struct io *io, uint8_t *buf, size_t cap, int probe)
{
	long long deadline = io_now_ms() + io->timeout_ms, left;
	size_t got = 0, want = probe ? cap - 1 : cap;
	ssize_t n;
	int w;

	while (got < cap) {
		if (got == want) {
			/* The probe: is more already there? */
			if (io_cgi_wait(0) <= 0)
				break;
		} else {
			left = deadline - io_now_ms();
			if ((w = io_cgi_wait(left > 0 ? (int)left : 0)) <= 0)
				return (-1);
		}
		n = read(STDIN_FILENO, buf + got, got == want ? 1 : want - got);
		if (n == 0 || (n < 0 && got == want))
			break;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return (-1);
		}
		got += (size_t)n;
	}
	return ((long)got);
}

static long
io_fcgx_read(struct io *io, uint8_t *buf, size_t cap)
{
	size_t got = 0;
	int n, chunk;

	while (got < cap) {
		chunk = cap - got > INT_MAX ? INT_MAX : (int)(cap - got);
		n = FCGX_GetStr((char *)buf + got, chunk, io->fcgx->in);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (FCGX_GetError(io->fcgx->in) != 0)
		return (-1);
	return ((long)got);
}

/**
 * io_read_body(io, buf, cap, probe):
 * Read the request body into ${buf} until ${cap} bytes or end of file.
 * With ${probe}, the last of the ${cap} bytes only serves to find out
 * whether the client sent more than it announced: under CGI it is read only
 * if it is already there.  Return the number of bytes read, or -1 on an
 * error or when the CGI deadline passes.
 */
long
io_read_body(struct io *io, uint8_t *buf, size_t cap, int probe)
{
	if (cap == 0)
		return (0);
	if (io->fcgx != NULL)
		return (io_fcgx_read(io, buf, cap));
	return (io_cgi_read(io, buf, cap, probe));
}

/**
 * io_finish(io):
 * End the request of ${io} before its response is closed.  Under FastCGI,
 * read what is left of the body (at most IO_DRAIN_MAX bytes); if it does not
 * end there, have the connection closed rather than kept for the next
 * request, which would otherwise start in the middle of this body.
 */
void
io_finish(struct io *io)
{
	char scratch[4096];
	size_t left = IO_DRAIN_MAX;
	int n, want, eof;

	if (io->fcgx == NULL || io->fcgx->in == NULL)
		return;
	eof = FCGX_HasSeenEOF(io->fcgx->in);
	while (!eof && left > 0) {
		want = (int)(left < sizeof(scratch) ? left : sizeof(scratch));
		n = FCGX_GetStr(scratch, want, io->fcgx->in);
		/* Fewer bytes than asked for: the end of the body. */
		if (n < want)
			eof = 1;
		if (n > 0)
			left -= (size_t)n;
	}
	if (!eof)
		io->fcgx->keepConnection = 0;
}

/**
 * io_write(ctx, p, n):
 * Write the ${n} bytes ${p} to the response of the struct io ${ctx}
 * (a response_write_fn).  Return 0 or -1.
 */
int
io_write(void *ctx, const void *p, size_t n)
{
	struct io *io = ctx;
	const char *s = p;
	ssize_t w;
	int chunk;

	while (n > 0) {
		if (io->fcgx != NULL) {
			chunk = n > INT_MAX ? INT_MAX : (int)n;
			if (FCGX_PutStr(s, chunk, io->fcgx->out) != chunk)
				return (-1);
			w = chunk;
		} else if ((w = write(STDOUT_FILENO, s, n)) < 0) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		s += w;
		n -= (size_t)w;
	}
	return (0);
}
