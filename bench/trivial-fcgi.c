/*
 * trivial-fcgi: the floor of bench/e2e.sh.  A minimal libfcgi responder that
 * reads the request body and answers 200 "OK", so that a web server with the
 * same number of FastCGI processes can be measured without the relay behind
 * it.  Built by bench/e2e.sh:
 *
 *   cc -O2 bench/trivial-fcgi.c -lfcgi -o tests/bin/trivial-fcgi
 */
#include <fcgiapp.h>

int
main(void)
{
	static const char answer[] = "Status: 200 OK\r\n"
	    "Content-Type: text/plain\r\n"
	    "Content-Length: 2\r\n"
	    "\r\n"
	    "OK";
	FCGX_Request req;
	char buf[4096];

	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, 0, 0) != 0)
		return (1);
	while (FCGX_Accept_r(&req) >= 0) {
		while (FCGX_GetStr(buf, (int)sizeof(buf), req.in) > 0)
			;
		FCGX_PutStr(answer, (int)sizeof(answer) - 1, req.out);
		FCGX_Finish_r(&req);
	}
	return (0);
}
