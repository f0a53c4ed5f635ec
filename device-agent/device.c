#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "device.h"
#include "log.h"
#include "modes.h"
#include "net.h"
#include "translate.h"
#include "policy.h"

/* The documented, non-destructive endpoints of AWTRIX 3 and AWTRIX 2.
 * erase, resetSettings, doupdate, reboot and sleep are absent on purpose:
 * several of them act even on GET. */
static const char *const device_default_allow[] = {
	"notify", "notify/dismiss", "custom", "switch", "nextapp",
	"previousapp", "power", "moodlight", "indicator1", "indicator2",
	"indicator3", "sound", "rtttl", "r2d2", "settings", "stats", "screen",
	"loop", "apps", "effects", "transitions", "reorder",
	"basics", "draw", "temporaryapp", "customapp",
	NULL
};

struct queued {
	uint32_t id;
	uint64_t deadline_ms;
	uint64_t start_ms;		/* when the call went out */
	uint8_t method;
	char url[1024 + RELAY_QUERY_MAX];
	char ctype[24];
	uint8_t *body;
	size_t body_len;
	char note[TRANSLATE_NOTE_MAX];	/* AWTRIX 2 keys dropped */
};

struct device {
	struct device_config cfg;
	CURLM *multi;
	CURL *easy;
	device_answer_fn *fn;
	void *ctx;
	struct queued q[DEVICE_QUEUE_MAX];
	unsigned head, count;
	struct queued cur;		/* the call in progress */
	int busy;
	int forget;			/* discard cur's answer */
	int stalled;			/* a call timed out: device maybe busy */
	int probing;			/* cur is a probe, not a request */
	device_health_fn *health_fn;
	int clock;			/* enum device_clock */
	char version[DEVICE_VERSION_MAX + 1];
	uint64_t next_probe_ms;		/* 0: at once */
	struct curl_slist *headers;
	uint8_t *resp;			/* RELAY_BODY_MAX */
	size_t resp_len;
	int resp_overflow;
};

static int
list_has(const char *list, const char *mode, size_t len)
{
	const char *p = list, *end;

	if (list == NULL)
		return (0);
	while (*p != '\0') {
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		if ((size_t)(end - p) == len && memcmp(p, mode, len) == 0)
			return (1);
		p = (*end == ',') ? end + 1 : end;
	}
	return (0);
}

int
device_mode_default(const char *mode, size_t len)
{
	int i;

	for (i = 0; device_default_allow[i] != NULL; i++)
		if (strlen(device_default_allow[i]) == len &&
		    memcmp(device_default_allow[i], mode, len) == 0)
			return (1);
	return (0);
}

int
device_mode_allowed(const struct device *dev, const char *mode, size_t len)
{
	if (list_has(dev->cfg.deny, mode, len))
		return (0);
	if (list_has(dev->cfg.allow, mode, len))
		return (1);
	return (device_mode_default(mode, len));
}

static size_t
device_write_cb(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct device *dev = ctx;
	size_t n = size * nmemb;

	if (n > RELAY_BODY_MAX - dev->resp_len) {
		dev->resp_overflow = 1;
		return (0);	/* abort the transfer */
	}
	memcpy(dev->resp + dev->resp_len, data, n);
	dev->resp_len += n;
	return (n);
}

struct device *
device_new(const struct device_config *cfg, CURLM *multi,
    device_answer_fn *fn, void *ctx)
{
	struct device *dev;

	if ((dev = calloc(1, sizeof(*dev))) == NULL)
		return (NULL);
	dev->cfg = *cfg;
	dev->multi = multi;
	dev->fn = fn;
	dev->ctx = ctx;
	dev->clock = DEVICE_CLOCK_UNKNOWN;
	if ((dev->easy = curl_easy_init()) == NULL ||
	    (dev->resp = malloc(RELAY_BODY_MAX)) == NULL) {
		device_free(dev);
		return (NULL);
	}
	return (dev);
}

void
device_set_health(struct device *dev, device_health_fn *fn)
{
	dev->health_fn = fn;
}

int
device_clock(const struct device *dev, char *version, size_t cap)
{
	if (cap > 0)
		snprintf(version, cap, "%s", dev->version);
	return (dev->clock);
}

/* The clock answered (or not): tell the agent when that changes. */
static void
device_health(struct device *dev, int clock)
{
	if (clock == dev->clock)
		return;
	dev->clock = clock;
	if (clock == DEVICE_CLOCK_UP)
		log_info_ev("clock.reachable", "the clock answers%s%s", dev->version[0] ?
		    "; firmware " : "", dev->version);
	else
		log_warn_ev("clock.unreachable", "the clock does not answer");
	if (dev->health_fn != NULL)
		dev->health_fn(dev->ctx, clock, dev->version);
}

/* The "version" of a /api/stats answer (AWTRIX 3) or of basics
 * {"get":"version"} (AWTRIX 2), kept if printable and short. */
static void
device_version(struct device *dev)
{
	struct json_tokener *tok;
	json_object *o, *v;
	const char *s;
	size_t i, n;
	int changed = 0;

	if (dev->resp_len == 0 || dev->resp[0] != '{' ||
	    (tok = json_tokener_new_ex(8)) == NULL)
		return;
	o = json_tokener_parse_ex(tok, (const char *)dev->resp,
	    (int)dev->resp_len);
	if (o != NULL && json_tokener_get_error(tok) == json_tokener_success &&
	    json_object_is_type(o, json_type_object) &&
	    json_object_object_get_ex(o, "version", &v) &&
	    json_object_is_type(v, json_type_string)) {
		s = json_object_get_string(v);
		n = strlen(s);
		for (i = 0; i < n; i++)
			if (s[i] < 0x21 || s[i] > 0x7e)
				break;
		if (i == n && n > 0 && n <= DEVICE_VERSION_MAX &&
		    strcmp(s, dev->version) != 0) {
			memcpy(dev->version, s, n + 1);
			changed = 1;
		}
	}
	json_object_put(o);
	json_tokener_free(tok);
	if (changed && dev->clock == DEVICE_CLOCK_UP && dev->health_fn)
		dev->health_fn(dev->ctx, dev->clock, dev->version);
}

static void
device_answer_outcome(struct device *dev, uint32_t id, int outcome)
{
	struct relay_answer ans;

	memset(&ans, 0, sizeof(ans));
	ans.outcome = (uint8_t)outcome;
	dev->fn(dev->ctx, id, &ans);
}

/* Characters the front end leaves in a passed-on query (it re-encodes). */
static int
query_safe(const char *q, size_t len)
{
	static const char ok[] = "-._~%=&+!*'(),;:@/";
	size_t i;
	unsigned char c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)q[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || (c != 0 && strchr(ok, c))))
			return (0);
	}
	return (1);
}

/* JSON goes as application/json, anything else as text/plain: never a
 * form type, which AWTRIX 3 reads as an empty body. */
static const char *
device_ctype(const struct relay_request *req)
{
	size_t i;

	if (req->ctype_len >= 16 &&
	    strncmp(req->ctype, "application/json", 16) == 0)
		return ("application/json");
	for (i = 0; i < req->body_len; i++) {
		if (req->body[i] == ' ' || req->body[i] == '\t' ||
		    req->body[i] == '\r' || req->body[i] == '\n')
			continue;
		if (req->body[i] == '{' || req->body[i] == '[')
			return ("application/json");
		return ("text/plain");
	}
	return ("application/json");
}

/* The agent's own 400 for an AWTRIX 2 request it will not half-do: the
 * relay's error shape (design 4), naming the key. */
static void
device_answer_refusal(struct device *dev, uint32_t id,
    const struct translate_out *tr)
{
	static const char ctype[] = "application/json";
	struct relay_answer ans;

	memset(&ans, 0, sizeof(ans));
	ans.outcome = RELAY_DEVICE;
	ans.status = 400;
	ans.ctype = ctype;
	ans.ctype_len = sizeof(ctype) - 1;
	ans.body = (const uint8_t *)tr->body;
	ans.body_len = tr->body_len;
	dev->fn(dev->ctx, id, &ans);
}

/*
 * An AWTRIX 2 request for an AWTRIX 3 clock becomes its AWTRIX 3 call in
 * ${t} (pointing into ${tr}).  Return 0 to go on with ${*reqp} (${t} or the
 * request as it came), 1 if answered already.
 */
static int
device_translate(struct device *dev, uint32_t id,
    const struct relay_request **reqp, struct relay_request *t,
    struct translate_out *tr)
{
	static const char json[] = "application/json";
	int rc;

	memset(tr, 0, sizeof(*tr));
	if (dev->cfg.generation != 3)
		return (0);
	rc = translate_awtrix2(*reqp, tr);
	if (rc < 0) {
		device_answer_outcome(dev, id, RELAY_UNREACHABLE);
		return (1);
	}
	if (rc == TRANSLATE_REFUSED) {
		device_answer_refusal(dev, id, tr);
		return (1);
	}
	if (rc == TRANSLATE_PASS)
		return (0);
	/* The owner's allow/deny lists hold for what really reaches the
	 * clock: a denied power stays denied when it comes as basics. */
	if (!device_mode_allowed(dev, tr->mode, strlen(tr->mode))) {
		device_answer_outcome(dev, id, RELAY_NOT_ALLOWED);
		return (1);
	}
	memset(t, 0, sizeof(*t));
	t->method = tr->method;
	t->mode = tr->mode;
	t->mode_len = strlen(tr->mode);
	t->query = tr->query;
	t->query_len = strlen(tr->query);
	t->ctype = json;
	t->ctype_len = sizeof(json) - 1;
	t->body = (const uint8_t *)tr->body;
	t->body_len = tr->method == RELAY_POST ? tr->body_len : 0;
	*reqp = t;
	return (0);
}

void
device_submit(struct device *dev, uint32_t id, uint64_t deadline_ms,
    uint64_t now_ms, const struct relay_request *req)
{
	struct translate_out tr;
	struct relay_request t;
	char pbuf[POLICY_ANSWER_MAX];
	struct relay_answer pans;
	struct queued *q;
	struct relay_answer ans;
	char err[256];
	int n, status;

	(void)now_ms;
	if (!device_mode_allowed(dev, req->mode, req->mode_len)) {
		device_answer_outcome(dev, id, RELAY_NOT_ALLOWED);
		return;
	}
	/* A request the clock would misread is answered here, in the words
	 * of the relay's own errors. */
	memset(&ans, 0, sizeof(ans));
	if (modes_refuse(dev->cfg.generation == 2, req, err, sizeof(err), &status) > 0) {
		ans.outcome = RELAY_DEVICE;
		ans.status = (uint16_t)status;
		ans.ctype = "application/json";
		ans.ctype_len = strlen(ans.ctype);
		ans.body = (const uint8_t *)err;
		ans.body_len = strlen(err);
		dev->fn(dev->ctx, id, &ans);
		return;
	}
	if (!query_safe(req->query, req->query_len)) {
		device_answer_outcome(dev, id, RELAY_BAD_REQUEST);
		return;
	}
	if (policy_refuse(&dev->cfg, req, &pans, pbuf, sizeof(pbuf))) {
		dev->fn(dev->ctx, id, &pans);
		return;
	}
	if (dev->count == DEVICE_QUEUE_MAX) {
		device_answer_outcome(dev, id, RELAY_RATE_LIMITED);
		return;
	}
	if (device_translate(dev, id, &req, &t, &tr)) {
		translate_out_free(&tr);
		return;
	}
	q = &dev->q[(dev->head + dev->count) % DEVICE_QUEUE_MAX];
	memset(q, 0, sizeof(*q));
	n = snprintf(q->url, sizeof(q->url), "%s%.*s%s%.*s", dev->cfg.target,
	    (int)req->mode_len, req->mode, req->query_len ? "?" : "",
	    (int)req->query_len, req->query);
	if (n < 0 || (size_t)n >= sizeof(q->url)) {
		device_answer_outcome(dev, id, RELAY_BAD_REQUEST);
		translate_out_free(&tr);
		return;
	}
	if (req->body_len > 0) {
		if ((q->body = malloc(req->body_len)) == NULL) {
			device_answer_outcome(dev, id, RELAY_UNREACHABLE);
			translate_out_free(&tr);
			return;
		}
		memcpy(q->body, req->body, req->body_len);
	}
	q->id = id;
	q->deadline_ms = deadline_ms;
	q->method = req->method;
	q->body_len = req->body_len;
	snprintf(q->ctype, sizeof(q->ctype), "%s", device_ctype(req));
	snprintf(q->note, sizeof(q->note), "%s", tr.note);
	translate_out_free(&tr);
	dev->count++;
}

static int
device_start(struct device *dev, uint64_t now_ms)
{
	struct queued *q = &dev->cur;
	char hdr[64];
	CURL *e = dev->easy;

	curl_easy_reset(e);
	curl_slist_free_all(dev->headers);
	snprintf(hdr, sizeof(hdr), "Content-Type: %s", q->ctype);
	dev->headers = curl_slist_append(NULL, hdr);
	dev->headers = curl_slist_append(dev->headers, "Expect:");
	dev->resp_len = 0;
	dev->resp_overflow = 0;
	q->start_ms = now_ms;
	curl_easy_setopt(e, CURLOPT_URL, q->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)DEVICE_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(q->deadline_ms - now_ms));
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, device_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, dev);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "awtrix-agent/" AWTRIX_VERSION);
	if (dev->cfg.auth != NULL) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(e, CURLOPT_USERPWD, dev->cfg.auth);
	}
	if (q->method == RELAY_POST) {
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS,
		    q->body ? (char *)q->body : "");
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)q->body_len);
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, dev->headers);
	} else
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	if (curl_multi_add_handle(dev->multi, e) != CURLM_OK)
		return (-1);
	dev->busy = 1;
	return (0);
}

/* A Content-Type the broker accepts (relay_answer_get): 0x20..0x7e only.
 * curl hands out the header value as it came: tabs, bytes >= 0x80. */
static int
header_printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return (0);
	return (1);
}

/* The length of ${url} without its query: what logs may name (the query
 * is the caller's, like the body). */
static int
url_path_len(const char *url)
{
	const char *q = strchr(url, '?');

	return ((int)(q ? (size_t)(q - url) : strlen(url)));
}

/*
 * A clock with web authentication answers 401 with an empty body, which
 * tells the caller nothing: say what the owner must do.
 */
static const char device_auth_hint[] =
    "{\"error\":\"device_auth_required\",\"message\":\"the clock asks "
    "for a user name and password: start awtrix-agent with --target-auth "
    "USER:PASS (the clock's web authentication)\"}";

/* The device's body, then the note of what an AWTRIX 2 translation
 * dropped (docs/http-api.md): the answer format stays the same on every
 * hop, and the caller still reads it.  Text answers only. */
static void
device_add_note(struct device *dev, const char *ctype)
{
	char line[TRANSLATE_NOTE_MAX + 64];
	int n;

	if (dev->cur.note[0] == '\0' ||
	    (ctype != NULL && strncmp(ctype, "application/json", 16) == 0))
		return;
	n = snprintf(line, sizeof(line), "%sawtrix-agent: dropped %s (no "
	    "AWTRIX 3 equivalent)\n", dev->resp_len > 0 &&
	    dev->resp[dev->resp_len - 1] != '\n' ? "\n" : "", dev->cur.note);
	if (n < 0 || (size_t)n > RELAY_BODY_MAX - dev->resp_len)
		return;
	memcpy(dev->resp + dev->resp_len, line, (size_t)n);
	dev->resp_len += (size_t)n;
}

/* Idle time before the next health probe: probe_s, but no more than
 * DEVICE_DOWN_PROBE_S while the clock is not answering, so that requests
 * flow again soon after it is back (the broker refuses them meanwhile). */
static uint64_t
device_probe_wait_ms(const struct device *dev)
{
	int s = dev->cfg.probe_s;

	if (dev->clock == DEVICE_CLOCK_DOWN && s > DEVICE_DOWN_PROBE_S)
		s = DEVICE_DOWN_PROBE_S;
	return ((uint64_t)s * 1000);
}

/* What a finished call says about the clock. */
static void
device_observe(struct device *dev, CURLcode rc, long status)
{
	curl_off_t connect_ok = 0;

	if (rc == CURLE_OK && status >= 100 && status <= 599) {
		if (status < 300)
			device_version(dev);
		device_health(dev, DEVICE_CLOCK_UP);
		return;
	}
	if (rc == CURLE_WRITE_ERROR && dev->resp_overflow) {
		device_health(dev, DEVICE_CLOCK_UP);	/* it talks a lot */
		return;
	}
	curl_easy_getinfo(dev->easy, CURLINFO_CONNECT_TIME_T, &connect_ok);
	/* Connected but slow: busy, not gone, unless a probe (which waits
	 * long) got nothing either. */
	if (rc == CURLE_OPERATION_TIMEDOUT && connect_ok > 0 && !dev->probing)
		return;
	device_health(dev, DEVICE_CLOCK_DOWN);
}

static void
device_finish(struct device *dev, CURLcode rc, uint64_t now_ms)
{
	struct relay_answer ans;
	char *ctype = NULL;
	long status = 0;

	curl_multi_remove_handle(dev->multi, dev->easy);
	dev->busy = 0;
	if (rc == CURLE_OK)
		curl_easy_getinfo(dev->easy, CURLINFO_RESPONSE_CODE, &status);
	device_observe(dev, rc, status);
	if (dev->cfg.probe_s > 0)
		dev->next_probe_ms = now_ms + device_probe_wait_ms(dev);
	if (dev->probing) {
		/* Whatever the probe got, the device is no longer busy with
		 * the request that timed out. */
		dev->probing = 0;
		dev->stalled = 0;
		dev->forget = 0;
		free(dev->cur.body);
		dev->cur.body = NULL;
		return;
	}
	memset(&ans, 0, sizeof(ans));
	if (rc == CURLE_OK) {
		curl_easy_getinfo(dev->easy, CURLINFO_CONTENT_TYPE, &ctype);
		device_add_note(dev, ctype);
		ans.outcome = RELAY_DEVICE;
		ans.status = (uint16_t)status;
		if (ctype != NULL && strlen(ctype) <= RELAY_CTYPE_MAX &&
		    header_printable(ctype)) {
			ans.ctype = ctype;
			ans.ctype_len = strlen(ctype);
		}
		ans.body = dev->resp;
		ans.body_len = dev->resp_len;
		/* What the broker passes on (relay_answer_passable). */
		if (status < 200 || status > 599)
			ans.outcome = RELAY_UNREACHABLE;
		if (status == 401 && dev->resp_len == 0) {
			log_warn_ev("device.auth_required", "device %.*s asks for authentication%s",
			    url_path_len(dev->cur.url), dev->cur.url,
			    dev->cfg.auth ? " and refused --target-auth" :
			    ": pass --target-auth USER:PASS");
			ans.ctype = "application/json";
			ans.ctype_len = strlen(ans.ctype);
			ans.body = (const uint8_t *)device_auth_hint;
			ans.body_len = sizeof(device_auth_hint) - 1;
		}
	} else if (rc == CURLE_OPERATION_TIMEDOUT && dev->resp_len == 0 &&
	    !dev->resp_overflow) {
		/* Connected but no answer in time, or no connection within
		 * the connect timeout: curl reports both as a time-out. */
		curl_off_t connect_ok = 0;
		curl_easy_getinfo(dev->easy, CURLINFO_CONNECT_TIME_T,
		    &connect_ok);
		ans.outcome = connect_ok > 0 ? RELAY_TIMEOUT : RELAY_UNREACHABLE;
		log_warn_ev("device.timeout", "device %.*s %s", url_path_len(dev->cur.url),
		    dev->cur.url, connect_ok > 0 ? "accepted the call but did "
		    "not answer in time" : "could not be reached in time");
		/* The device serves one client at a time and may still be
		 * working on this request: a request sent now would wait in
		 * its backlog and run late.  Probe first (device_step). */
		dev->stalled = (ans.outcome == RELAY_TIMEOUT);
	} else {
		if (dev->resp_overflow)
			log_warn_ev("device.answer_too_large", "device %.*s answered more than %d bytes: "
			    "dropped", url_path_len(dev->cur.url),
			    dev->cur.url, RELAY_BODY_MAX);
		else
			log_warn_ev("device.call_failed", "device call to %.*s failed: %s",
			    url_path_len(dev->cur.url), dev->cur.url,
			    curl_easy_strerror(rc));
		ans.outcome = RELAY_UNREACHABLE;
	}
	if (dev->cfg.verbose)
		log_info_ev("device.call", "%s %.*s: %u%s in %llu ms",
		    dev->cur.method == RELAY_POST ? "POST" : "GET",
		    url_path_len(dev->cur.url) - (int)strlen(dev->cfg.target),
		    dev->cur.url + strlen(dev->cfg.target),
		    ans.outcome == RELAY_DEVICE ? ans.status :
		    ans.outcome == RELAY_TIMEOUT ? 504 : 502,
		    ans.outcome == RELAY_DEVICE ? "" : " (relay)",
		    (unsigned long long)(net_now_ms() - dev->cur.start_ms));
	if (!dev->forget)
		dev->fn(dev->ctx, dev->cur.id, &ans);
	dev->forget = 0;
	free(dev->cur.body);
	dev->cur.body = NULL;
}

/* A harmless read that returns when the device has finished whatever it
 * was doing; queued requests wait (and expire) meanwhile.  AWTRIX 3: GET
 * stats; the AWTRIX 2 host has no stats: basics {"get":"version"}.  The
 * same call, with a shorter time-out, is the idle health probe. */
static void
device_probe(struct device *dev, uint64_t now_ms, uint64_t timeout_ms)
{
	static const char get_version[] = "{\"get\":\"version\"}";
	struct queued *q = &dev->cur;

	memset(q, 0, sizeof(*q));
	snprintf(q->ctype, sizeof(q->ctype), "application/json");
	if (dev->cfg.generation == 2) {
		snprintf(q->url, sizeof(q->url), "%sbasics", dev->cfg.target);
		q->method = RELAY_POST;
		q->body = (uint8_t *)strdup(get_version);
		q->body_len = q->body ? sizeof(get_version) - 1 : 0;
	} else {
		snprintf(q->url, sizeof(q->url), "%sstats", dev->cfg.target);
		q->method = RELAY_GET;
	}
	q->deadline_ms = now_ms + timeout_ms;
	dev->probing = 1;
	if (device_start(dev, now_ms)) {
		dev->probing = 0;
		dev->stalled = 0;
		free(q->body);
		q->body = NULL;
	}
}

void
device_step(struct device *dev, uint64_t now_ms)
{
	struct queued *q;
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(dev->multi, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == dev->easy)
			device_finish(dev, msg->data.result, now_ms);
	if (!dev->busy && dev->stalled) {
		device_probe(dev, now_ms, DEVICE_PROBE_TIMEOUT_MS);
		return;
	}
	/* Idle for probe_s (or never asked): is the clock there? */
	if (!dev->busy && dev->count == 0 && dev->cfg.probe_s > 0 &&
	    now_ms >= dev->next_probe_ms) {
		dev->next_probe_ms = now_ms + device_probe_wait_ms(dev);
		device_probe(dev, now_ms, DEVICE_IDLE_PROBE_TIMEOUT_MS);
		return;
	}
	while (!dev->busy && dev->count > 0) {
		q = &dev->q[dev->head];
		dev->head = (dev->head + 1) % DEVICE_QUEUE_MAX;
		dev->count--;
		if (q->deadline_ms <= now_ms + 50) {
			/* Too late: the caller already has its 504.  A
			 * command is never executed late. */
			free(q->body);
			continue;
		}
		dev->cur = *q;
		q->body = NULL;
		if (device_start(dev, now_ms)) {
			device_answer_outcome(dev, dev->cur.id,
			    RELAY_UNREACHABLE);
			free(dev->cur.body);
			dev->cur.body = NULL;
		}
	}
}

void
device_forget(struct device *dev)
{
	while (dev->count > 0) {
		free(dev->q[dev->head].body);
		dev->head = (dev->head + 1) % DEVICE_QUEUE_MAX;
		dev->count--;
	}
	if (dev->busy && !dev->probing)
		dev->forget = 1;
}

void
device_free(struct device *dev)
{
	if (dev == NULL)
		return;
	device_forget(dev);
	if (dev->busy)
		curl_multi_remove_handle(dev->multi, dev->easy);
	free(dev->cur.body);
	if (dev->easy)
		curl_easy_cleanup(dev->easy);
	curl_slist_free_all(dev->headers);
	free(dev->resp);
	free(dev);
}
