#ifndef AGENT_MODES_H
#define AGENT_MODES_H

/*
 * What each endpoint of the clock accepts, so that a caller's mistake gets
 * an answer that names it, instead of the firmware's bare "FileNotFound"
 * (a GET on a POST-only route) or "ErrorParsingJson" (a form-encoded body,
 * which AWTRIX 3 cannot read).  The facts: ../shared/awtrix-api.md §1-2.
 */

#include <stddef.h>

#include "relay.h"

/**
 * modes_refuse(awtrix2, req, buf, cap, status):
 * Return the length of a JSON error body written into ${buf} (at most ${cap}
 * bytes), with the HTTP status in ${status}, when ${req} cannot work on the
 * clock (an AWTRIX 2 host when ${awtrix2}, else AWTRIX 3):
 * 405 method_not_allowed for a method the endpoint does not serve, 400
 * bad_request for a form-encoded body that is not JSON where the endpoint
 * reads JSON.  Return 0 when the request may go to the clock.
 */
size_t modes_refuse(int awtrix2, const struct relay_request *req,
    char *buf, size_t cap, int *status);

#endif
