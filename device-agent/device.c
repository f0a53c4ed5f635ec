#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "log.h"
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
	uint8_t method;
	char url[1024 + RELAY_QUERY_MAX];
	char ctype[24];
	uint8_t *body;
	size_t body_len;
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
device_mode_allowed(const struct device *dev, const char *mode, size_t len)
{
	int i;

	if (list_has(dev->cfg.deny, mode, len))
		return (0);
	if (list_has(dev->cfg.allow, mode, len))
		return (1);
	for (i = 0; device_default_allow[i] != NULL; i++)
		if (strlen(device_default_allow[i]) == len &&
		    memcmp(device_default_allow[i], mode, len) == 0)
			return (1);
	return (0);
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
	if ((dev->easy = curl_easy_init()) == NULL ||
	    (dev->resp = malloc(RELAY_BODY_MAX)) == NULL) {
		device_free(dev);
		return (NULL);
	}
	return (dev);
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

void
device_submit(struct device *dev, uint32_t id, uint64_t deadline_ms,
    uint64_t now_ms, const struct relay_request *req)
{
	char pbuf[POLICY_ANSWER_MAX];
	struct relay_answer pans;
	struct queued *q;
	int n;

	(void)now_ms;
	if (!device_mode_allowed(dev, req->mode, req->mode_len)) {
		device_answer_outcome(dev, id, RELAY_NOT_ALLOWED);
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
	q = &dev->q[(dev->head + dev->count) % DEVICE_QUEUE_MAX];
	memset(q, 0, sizeof(*q));
	n = snprintf(q->url, sizeof(q->url), "%s%.*s%s%.*s", dev->cfg.target,
	    (int)req->mode_len, req->mode, req->query_len ? "?" : "",
	    (int)req->query_len, req->query);
	if (n < 0 || (size_t)n >= sizeof(q->url)) {
		device_answer_outcome(dev, id, RELAY_BAD_REQUEST);
		return;
	}
	if (req->body_len > 0) {
		if ((q->body = malloc(req->body_len)) == NULL) {
			device_answer_outcome(dev, id, RELAY_UNREACHABLE);
			return;
		}
		memcpy(q->body, req->body, req->body_len);
	}
	q->id = id;
	q->deadline_ms = deadline_ms;
	q->method = req->method;
	q->body_len = req->body_len;
	snprintf(q->ctype, sizeof(q->ctype), "%s", device_ctype(req));
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

static void
device_finish(struct device *dev, CURLcode rc)
{
	struct relay_answer ans;
	char *ctype = NULL;
	long status = 0;

	curl_multi_remove_handle(dev->multi, dev->easy);
	dev->busy = 0;
	if (dev->probing) {
		/* Whatever the probe got, the device is no longer busy with
		 * the request that timed out. */
		dev->probing = 0;
		dev->stalled = 0;
		dev->forget = 0;
		return;
	}
	memset(&ans, 0, sizeof(ans));
	if (rc == CURLE_OK) {
		curl_easy_getinfo(dev->easy, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(dev->easy, CURLINFO_CONTENT_TYPE, &ctype);
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
	} else if (rc == CURLE_OPERATION_TIMEDOUT && dev->resp_len == 0 &&
	    !dev->resp_overflow) {
		/* Connected but no answer in time, or no connection within
		 * the connect timeout: curl reports both as a time-out. */
		curl_off_t connect_ok = 0;
		curl_easy_getinfo(dev->easy, CURLINFO_CONNECT_TIME_T,
		    &connect_ok);
		ans.outcome = connect_ok > 0 ? RELAY_TIMEOUT : RELAY_UNREACHABLE;
		/* The device serves one client at a time and may still be
		 * working on this request: a request sent now would wait in
		 * its backlog and run late.  Probe first (device_step). */
		dev->stalled = (ans.outcome == RELAY_TIMEOUT);
	} else {
		if (dev->resp_overflow)
			log_warn("device answer larger than %d bytes: dropped",
			    RELAY_BODY_MAX);
		else
			log_warn("device call failed: %s",
			    curl_easy_strerror(rc));
		ans.outcome = RELAY_UNREACHABLE;
	}
	if (!dev->forget)
		dev->fn(dev->ctx, dev->cur.id, &ans);
	dev->forget = 0;
	free(dev->cur.body);
	dev->cur.body = NULL;
}

/* A harmless GET that returns when the device has finished whatever it
 * was doing; queued requests wait (and expire) meanwhile. */
static void
device_probe(struct device *dev, uint64_t now_ms)
{
	struct queued *q = &dev->cur;

	memset(q, 0, sizeof(*q));
	snprintf(q->url, sizeof(q->url), "%sstats", dev->cfg.target);
	snprintf(q->ctype, sizeof(q->ctype), "application/json");
	q->method = RELAY_GET;
	q->deadline_ms = now_ms + DEVICE_PROBE_TIMEOUT_MS;
	dev->probing = 1;
	if (device_start(dev, now_ms)) {
		dev->probing = 0;
		dev->stalled = 0;
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
			device_finish(dev, msg->data.result);
	if (!dev->busy && dev->stalled) {
		device_probe(dev, now_ms);
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
