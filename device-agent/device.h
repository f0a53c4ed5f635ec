#ifndef AGENT_DEVICE_H
#define AGENT_DEVICE_H

/*
 * The agent's side of the AWTRIX: requests from the broker become HTTP
 * calls to the device's local API with libcurl.  The AWTRIX 3 web server
 * serves one client at a time and falls over under bursts, so requests are
 * queued and sent one at a time, in arrival order; a request whose deadline
 * has passed before its turn is dropped, never sent late.
 */

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "relay.h"

#define DEVICE_QUEUE_MAX 16
#define DEVICE_CONNECT_TIMEOUT_MS 3000
#define DEVICE_PROBE_TIMEOUT_MS 30000
#define DEVICE_IDLE_PROBE_TIMEOUT_MS 5000
#define DEVICE_DOWN_PROBE_S 5		/* probe interval while it is down */
#define DEVICE_VERSION_MAX 32

struct device_config {
	const char *target;		/* URL prefix the mode is appended to */
	const char *auth;		/* USER:PASS for Basic auth, or NULL */
	const char *allow;		/* extra modes, comma-separated */
	const char *deny;		/* denied modes, comma-separated */
	int verbose;			/* log every call: mode, status, time */
	int generation;			/* 2, 3 (AWTRIX 2 requests translated),
					 * or 0: pass everything as it is */
	int probe_s;			/* idle health probe interval; 0: none */
	int allow_lan_clients;		/* let "clients" through (policy.c) */
};

/* The clock's health as the agent last saw it. */
enum device_clock {
	DEVICE_CLOCK_UNKNOWN = -1,
	DEVICE_CLOCK_DOWN = 0,
	DEVICE_CLOCK_UP = 1
};

/* Called when the clock's health or firmware version changes; ${version}
 * is "" when unknown. */
typedef void device_health_fn(void *ctx, int clock, const char *version);

/* Called with the answer to request ${id}; the answer's pointers are valid
 * during the call only. */
typedef void device_answer_fn(void *ctx, uint32_t id,
    const struct relay_answer *ans);

struct device;

/**
 * device_new(cfg, multi, fn, ctx):
 * Create the device side on the curl multi handle ${multi}; answers go to
 * ${fn}(${ctx}, ...).  Return NULL on failure.
 */
struct device *device_new(const struct device_config *cfg, CURLM *multi,
    device_answer_fn *fn, void *ctx);

/**
 * device_mode_default(mode, len):
 * Return 1 if ${mode} is one of the endpoints allowed by default.
 */
int device_mode_default(const char *mode, size_t len);

/**
 * device_set_health(dev, fn):
 * Report changes of the clock's health to ${fn} (with device_new's ctx).
 */
void device_set_health(struct device *dev, device_health_fn *fn);

/**
 * device_clock(dev, version, cap):
 * The clock's health (enum device_clock); its firmware version, if known,
 * goes to ${version} ("" if not).
 */
int device_clock(const struct device *dev, char *version, size_t cap);

/**
 * device_mode_allowed(dev, mode, len):
 * Return 1 if the allow/deny lists let ${mode} reach the device.
 */
int device_mode_allowed(const struct device *dev, const char *mode,
    size_t len);

/**
 * device_submit(dev, id, deadline_ms, now_ms, req):
 * Queue a request (answered at once through the callback when it is refused:
 * mode not allowed, malformed query, queue full).
 */
void device_submit(struct device *dev, uint32_t id, uint64_t deadline_ms,
    uint64_t now_ms, const struct relay_request *req);

/**
 * device_step(dev, now_ms):
 * After curl_multi_perform: collect a finished call, answer it, and start
 * the next queued request whose deadline has not passed; when idle for
 * probe_s seconds (or at start), probe the clock's health.
 */
void device_step(struct device *dev, uint64_t now_ms);

/**
 * device_forget(dev):
 * The link to the broker is gone: drop queued requests and discard the
 * answer of the call in progress (its caller has been answered).
 */
void device_forget(struct device *dev);

/**
 * device_free(dev):
 * Free everything.  device_free(NULL) does nothing.
 */
void device_free(struct device *dev);

#endif
