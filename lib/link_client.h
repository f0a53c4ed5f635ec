#ifndef AGENT_LINK_CLIENT_H
#define AGENT_LINK_CLIENT_H

#include <stddef.h>

#include "keyfile.h"
#include "link.h"
#include "token.h"

/**
 * link_client_connect(l, broker, broker_pk, key, token, timeout_ms,
 *     result, url, url_cap):
 * Connect to ${broker} (HOST:PORT), run the Noise XK handshake as initiator
 * pinning ${broker_pk}, register ${token} in message 3 and read the
 * broker's LM_WELCOME, all within ${timeout_ms}.  On return 0, ${l} is a
 * live non-blocking link, ${result} the broker's linkmsg_result and ${url}
 * the public URL it told (NUL-terminated, possibly empty).  Return -1 with
 * a reason in ${why} when the connection or handshake failed.
 */
int link_client_connect(struct link *l, const char *broker,
    const uint8_t broker_pk[KEY_LEN], const struct device_key *key,
    const char token[TOKEN_LEN], int timeout_ms, int *result, char *url,
    size_t url_cap, const char **why);

#endif
