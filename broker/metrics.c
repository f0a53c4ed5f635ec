/*
 * The Prometheus text exposition (format 0.0.4) of the broker's figures.
 * Rendered on demand into one buffer from counters the rest of the broker
 * keeps anyway; the only state of its own is the latency histogram, the
 * device status classes and the FastCGI refusals, all fixed-size arrays.
 * Every label value is a constant of this file or an outcome slug: nothing
 * a peer sent can reach a label.
 */
#include <sys/resource.h>

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "metrics.h"

static const unsigned metrics_bounds_ms[METRICS_BUCKETS] = {
	5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000
};

static const char *const metrics_classes[METRICS_STATUS_CLASSES] = {
	"1xx", "2xx", "3xx", "4xx", "5xx", "other"
};

static const char *const metrics_refusal_codes[METRICS_REFUSALS] = {
	"400", "405", "413", "other"
};

/**
 * metrics_observe(m, ms):
 * Count one request forwarded to a device that ended ${ms} milliseconds
 * after it arrived (answered, refused by the agent or timed out).
 */
void
metrics_observe(struct broker_metrics *m, uint64_t ms)
{
	int i;

	for (i = 0; i < METRICS_BUCKETS; i++)
		if (ms <= metrics_bounds_ms[i])
			break;
	m->latency[i]++;
	m->latency_sum_ms += ms;
	m->latency_count++;
}

/**
 * metrics_answer(m, ans):
 * Count the status class of ${ans} if the device itself answered.
 */
void
metrics_answer(struct broker_metrics *m, const struct relay_answer *ans)
{
	unsigned c;

	if (ans->outcome != RELAY_DEVICE)
		return;
	c = ans->status / 100;
	m->device_class[c >= 1 && c <= 5 ? c - 1 : METRICS_STATUS_CLASSES - 1]++;
}

/**
 * metrics_refused(m, status):
 * Count one request that a FastCGI process answered itself with ${status}.
 */
void
metrics_refused(struct broker_metrics *m, uint16_t status)
{
	int i;

	switch (status) {
	case 400: i = 0; break;
	case 405: i = 1; break;
	case 413: i = 2; break;
	default: i = METRICS_REFUSALS - 1; break;
	}
	m->fcgi_refused[i]++;
}

/* The HTTP status class the relay answers an outcome with (design §4). */
static const char *
metrics_outcome_class(int outcome)
{
	switch (outcome) {
	case RELAY_OFFLINE:
	case RELAY_RATE_LIMITED:
	case RELAY_NOT_ALLOWED:
	case RELAY_BAD_REQUEST:
		return ("4xx");
	case RELAY_UNREACHABLE:
	case RELAY_TIMEOUT:
	case RELAY_OVERLOADED:
		return ("5xx");
	default:
		return ("other");
	}
}

/* An output buffer that remembers whether anything did not fit. */
struct metrics_out {
	char *p;
	size_t cap, len;
	int full;
};

static void metrics_printf(struct metrics_out *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
metrics_printf(struct metrics_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len)
		o->full = 1;
	else
		o->len += (size_t)n;
}

static void
metrics_head(struct metrics_out *o, const char *name, const char *type,
    const char *help)
{
	metrics_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

static void
metrics_one(struct metrics_out *o, const char *name, const char *type,
    const char *help, unsigned long long v)
{
	metrics_head(o, name, type, help);
	metrics_printf(o, "%s %llu\n", name, v);
}

/* Open descriptors, from /proc/self/fd (not counting the one reading it). */
static long
metrics_open_fds(void)
{
	struct dirent *e;
	DIR *d;
	long n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return (-1);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return (n - 1);
}

/* Resident set size in bytes, from /proc/self/statm. */
static long long
metrics_rss(void)
{
	long long pages, rss;
	FILE *f;
	int n;

	if ((f = fopen("/proc/self/statm", "re")) == NULL)
		return (-1);
	n = fscanf(f, "%lld %lld", &pages, &rss);
	fclose(f);
	return (n == 2 ? rss * sysconf(_SC_PAGESIZE) : -1);
}

static void
metrics_process(struct metrics_out *o, const struct broker *b)
{
	struct rusage ru;
	struct rlimit rl;
	long long rss;
	long fds;
	double t;

	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		t = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
		    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
		metrics_head(o, "process_cpu_seconds_total", "counter",
		    "User and system CPU time spent in seconds.");
		metrics_printf(o, "process_cpu_seconds_total %.3f\n", t);
	}
	if ((rss = metrics_rss()) >= 0)
		metrics_one(o, "process_resident_memory_bytes", "gauge",
		    "Resident memory size in bytes.", (unsigned long long)rss);
	if ((fds = metrics_open_fds()) >= 0)
		metrics_one(o, "process_open_fds", "gauge",
		    "Number of open file descriptors.", (unsigned long long)fds);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		metrics_one(o, "process_max_fds", "gauge",
		    "Maximum number of open file descriptors.",
		    (unsigned long long)rl.rlim_cur);
	metrics_one(o, "process_start_time_seconds", "gauge",
	    "Start time of the process since the Unix epoch in seconds.",
	    (unsigned long long)(time(NULL) -
	    (time_t)((b->now_ms - b->started_ms) / 1000)));
	metrics_head(o, "awtrix_build_info", "gauge",
	    "The version of the running broker (always 1).");
	metrics_printf(o, "awtrix_build_info{version=\"%s\"} 1\n",
	    AWTRIX_VERSION);
}

static void
metrics_sessions(struct metrics_out *o, const struct broker *b)
{
	const struct broker_stats *s = &b->stats;

	metrics_one(o, "awtrix_devices_connected", "gauge",
	    "Devices with a registered session now.",
	    (unsigned long long)b->devices.count);
	metrics_one(o, "awtrix_handshakes_pending", "gauge",
	    "Agent connections still in the Noise handshake.", b->handshakes);
	metrics_head(o, "awtrix_handshakes_total", "counter",
	    "Noise handshakes completed or failed (failed: bad message, "
	    "deadline passed, closed early).");
	metrics_printf(o, "awtrix_handshakes_total{result=\"ok\"} %llu\n"
	    "awtrix_handshakes_total{result=\"failed\"} %llu\n",
	    (unsigned long long)s->handshakes_ok,
	    (unsigned long long)s->handshakes_failed);
	metrics_head(o, "awtrix_registrations_total", "counter",
	    "Registrations after a completed handshake, accepted or refused "
	    "(unknown version, bad or revoked token, device bound elsewhere, "
	    "database).");
	metrics_printf(o, "awtrix_registrations_total{result=\"accepted\"} "
	    "%llu\nawtrix_registrations_total{result=\"refused\"} %llu\n",
	    (unsigned long long)(s->handshakes_ok >= s->registrations_refused ?
	    s->handshakes_ok - s->registrations_refused : 0),
	    (unsigned long long)s->registrations_refused);
	metrics_one(o, "awtrix_rotations_total", "counter",
	    "Tokens rotated (at registration or on request).", s->rotations);
	metrics_one(o, "awtrix_sessions_replaced_total", "counter",
	    "Sessions closed because the device registered again.",
	    s->replaced_sessions);
	metrics_one(o, "awtrix_sessions_dead_total", "counter",
	    "Sessions closed because the link stayed silent too long.",
	    s->dead_links);
}

static void
metrics_requests(struct metrics_out *o, const struct broker *b)
{
	const struct broker_stats *s = &b->stats;
	const struct broker_metrics *m = &b->metrics;
	uint64_t cum = 0;
	int i;

	metrics_one(o, "awtrix_requests_in_flight", "gauge",
	    "Requests forwarded to a device and not answered yet.",
	    b->npending);
	metrics_head(o, "awtrix_requests_total", "counter",
	    "Requests answered by the broker, by HTTP status class and error "
	    "slug (slug ok: the device answered, code its status class).");
	for (i = 0; i < METRICS_STATUS_CLASSES; i++)
		metrics_printf(o, "awtrix_requests_total{code=\"%s\","
		    "slug=\"ok\"} %llu\n", metrics_classes[i],
		    (unsigned long long)m->device_class[i]);
	for (i = 0; i < RELAY_OUTCOME_COUNT; i++)
		if (i != RELAY_DEVICE)
			metrics_printf(o, "awtrix_requests_total{code=\"%s\","
			    "slug=\"%s\"} %llu\n", metrics_outcome_class(i),
			    relay_outcome_name(i),
			    (unsigned long long)s->requests[i]);
	metrics_head(o, "awtrix_fcgi_refused_total", "counter",
	    "Requests the FastCGI program answered itself, without the broker "
	    "(400 bad request, 405 method, 413 body too large).");
	for (i = 0; i < METRICS_REFUSALS; i++)
		metrics_printf(o, "awtrix_fcgi_refused_total{code=\"%s\"} %llu\n",
		    metrics_refusal_codes[i],
		    (unsigned long long)m->fcgi_refused[i]);
	metrics_one(o, "awtrix_late_answers_total", "counter",
	    "Device answers that came after their request's deadline.",
	    s->late_answers);
	metrics_one(o, "awtrix_front_connections", "gauge",
	    "Connections from FastCGI processes on the broker's socket.",
	    b->nfronts);
	metrics_one(o, "awtrix_front_peers_refused_total", "counter",
	    "Connections to the broker's socket refused for their uid/gid.",
	    s->front_refused);
	metrics_head(o, "awtrix_request_duration_seconds", "histogram",
	    "Time from a request reaching the broker to its answer, for "
	    "requests forwarded to a device (timeouts included).");
	for (i = 0; i < METRICS_BUCKETS; i++) {
		cum += m->latency[i];
		metrics_printf(o, "awtrix_request_duration_seconds_bucket"
		    "{le=\"%g\"} %llu\n", metrics_bounds_ms[i] / 1000.0,
		    (unsigned long long)cum);
	}
	metrics_printf(o, "awtrix_request_duration_seconds_bucket{le=\"+Inf\"}"
	    " %llu\nawtrix_request_duration_seconds_sum %.3f\n"
	    "awtrix_request_duration_seconds_count %llu\n",
	    (unsigned long long)m->latency_count,
	    (double)m->latency_sum_ms / 1000.0,
	    (unsigned long long)m->latency_count);
}

/**
 * metrics_render(b, buf, cap):
 * Write the text exposition of ${b}'s figures into ${buf} of ${cap} bytes.
 * Return its length, or -1 if it does not fit.
 */
long
metrics_render(const struct broker *b, char *buf, size_t cap)
{
	struct metrics_out o = { buf, cap, 0, 0 };

	if (cap == 0)
		return (-1);
	metrics_process(&o, b);
	metrics_sessions(&o, b);
	metrics_requests(&o, b);
	return (o.full ? -1 : (long)o.len);
}
