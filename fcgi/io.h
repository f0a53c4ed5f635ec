#ifndef AWTRIX_FCGI_IO_H
#define AWTRIX_FCGI_IO_H

/*
 * The two ways a request arrives: plain CGI (the process environment,
 * stdin and stdout, one request) and FastCGI (the parameters and streams of
 * an FCGX_Request).  The rest of the program sees only these functions.
 */

#include <stddef.h>
#include <stdint.h>

#include <fcgiapp.h>

/* The most of an unread body drained to keep a FastCGI connection. */
#define IO_DRAIN_MAX 65536

struct io {
	FCGX_Request *fcgx;	/* NULL for plain CGI */
	int timeout_ms;		/* CGI: deadline for reading the body */
};

/**
 * io_param(io, name):
 * The CGI variable ${name} of the current request, or NULL.
 */
const char *io_param(const struct io *io, const char *name);

/**
 * io_read_body(io, buf, cap, probe):
 * Read the request body into ${buf} until ${cap} bytes or end of file.
 * With ${probe}, the last of the ${cap} bytes only serves to find out
 * whether the client sent more than it announced: under CGI it is read only
 * if it is already there.  Return the number of bytes read, or -1 on an
 * error or when the CGI deadline passes.
 */
long io_read_body(struct io *io, uint8_t *buf, size_t cap, int probe);

/**
 * io_finish(io):
 * End the request of ${io} before its response is closed.  Under FastCGI,
 * read what is left of the body (at most IO_DRAIN_MAX bytes); if it does not
 * end there, have the connection closed rather than kept for the next
 * request, which would otherwise start in the middle of this body.
 */
void io_finish(struct io *io);

/**
 * io_write(ctx, p, n):
 * Write the ${n} bytes ${p} to the response of the struct io ${ctx}
 * (a response_write_fn).  Return 0 or -1.
 */
int io_write(void *ctx, const void *p, size_t n);

#endif
