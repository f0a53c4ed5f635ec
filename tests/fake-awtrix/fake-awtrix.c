/*
 * fake-awtrix: a fake AWTRIX 3 clock (firmware 0.98 HTTP API) for the
 * integration tests, the benchmarks and the demo.  Flags: see fa_usage().
 * With --generation 2 it plays an AWTRIX 2 host instead (awtrix-api.md 2):
 * the POST endpoints under /api/v3/, each answering 200 "OK" to a JSON
 * object (the real host's HTTP answers are not documented), and basics
 * {"get":"version"|"uptime"} answering a JSON object.
 *
 * The firmware's transport quirks are copied on purpose, because the
 * relay must cope with them (/work/shared/awtrix-api.md 1.1-1.2): one
 * synchronous client at a time, one request per connection, 404
 * "FileNotFound" for anything unknown or with the wrong method, CORS on
 * every answer, and a form-urlencoded or multipart body that handlers
 * never see (WebServer leaves server.arg("plain") empty).
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define FA_HDR_MAX	8192		/* request line + headers */
#define FA_BODY_MAX	65536
#define FA_BUF_SIZE	(FA_HDR_MAX + FA_BODY_MAX + 1)
#define FA_READ_MS	5000		/* HTTP_MAX_POST_WAIT of WebServer */
#define FA_HANG_MS	60000
#define FA_DRAIN_MS	200
#define FA_JSON_DEPTH	64
#define FA_W		32
#define FA_H		8
#define FA_TEXT_MAX	256
#define FA_AUTH_MAX	256		/* HTTP_MAX_BASIC_AUTH_LEN */
#define FA_BIG_MAX	(64L * 1024 * 1024)
#define FA_VERSION	"0.98"
#define FA2_VERSION	"0.43"		/* the AWTRIX 2 host's, made up */
#define FA_OFF_RGB	0x282828u	/* dim grey: an unlit LED */
#define FA_NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

#define FA_GET		1
#define FA_POST		2
#define FA_ANY		7		/* HTTP_ANY: every method */

static volatile sig_atomic_t fa_stop;

struct fa_span {
	const char	*s;
	size_t		 n;
};

struct fa_jp {				/* JSON cursor */
	const char	*s;
	size_t		 n;
	size_t		 i;
};

struct fa_opts {
	long		 port;
	const char	*auth;
	long		 delay_ms;
	int		 hang;
	long		 big_body;
	long		 max_requests;
	const char	*log_path;
	int		 render;
	int		 hostile;
	long		 generation;	/* 3, or 2: an AWTRIX 2 host */
};

struct fa_req {
	char		 method[16];
	char		 target[FA_HDR_MAX + 1];	/* raw path?query */
	size_t		 pathlen;			/* bytes before '?' */
	char		 ctype[FA_HDR_MAX + 1];
	int		 auth;		/* a Basic credential was accepted */
	const char	*body;
	size_t		 bodylen;
	struct fa_span	 plain;		/* the body the handlers see */
};

struct fa_resp {
	int		 status;
	const char	*ctype;
	const char	*body;
	size_t		 len;
	int		 challenge;
	char		*heap;
	char		 sbuf[4096];
};

struct fa_srv {
	struct fa_opts	 o;
	FILE		*log;
	long long	 start_ms;
	long		 served;
	uint32_t	 screen[FA_W * FA_H];	/* last frame drawn */
	struct fa_req	 req;
	struct fa_resp	 resp;
	char		 buf[FA_BUF_SIZE];
};

struct fa_route {
	const char	*path;
	int		 methods;
	void		(*fn)(struct fa_srv *, const struct fa_route *);
	const char	*arg;		/* clock: words or canned answer */
};

struct fa_text {
	char		 ch[FA_TEXT_MAX];
	uint32_t	 col[FA_TEXT_MAX];
	size_t		 n;
	int		 frags;
};

/* 3x5 font: rows top to bottom, bit 4 is the leftmost column. */
struct fa_glyph {
	char		 c;
	unsigned char	 w;
	unsigned char	 rows[5];
};

static const struct fa_glyph fa_font[] = {
	{ '0', 3, { 7, 5, 5, 5, 7 } }, { '1', 3, { 2, 6, 2, 2, 7 } },
	{ '2', 3, { 7, 1, 7, 4, 7 } }, { '3', 3, { 7, 1, 7, 1, 7 } },
	{ '4', 3, { 5, 5, 7, 1, 1 } }, { '5', 3, { 7, 4, 7, 1, 7 } },
	{ '6', 3, { 7, 4, 7, 5, 7 } }, { '7', 3, { 7, 1, 1, 1, 1 } },
	{ '8', 3, { 7, 5, 7, 5, 7 } }, { '9', 3, { 7, 5, 7, 1, 7 } },
	{ 'A', 3, { 2, 5, 7, 5, 5 } }, { 'B', 3, { 6, 5, 6, 5, 6 } },
	{ 'C', 3, { 3, 4, 4, 4, 3 } }, { 'D', 3, { 6, 5, 5, 5, 6 } },
	{ 'E', 3, { 7, 4, 6, 4, 7 } }, { 'F', 3, { 7, 4, 6, 4, 4 } },
	{ 'G', 3, { 3, 4, 5, 5, 3 } }, { 'H', 3, { 5, 5, 7, 5, 5 } },
	{ 'I', 3, { 7, 2, 2, 2, 7 } }, { 'J', 3, { 1, 1, 1, 5, 2 } },
	{ 'K', 3, { 5, 5, 6, 5, 5 } }, { 'L', 3, { 4, 4, 4, 4, 7 } },
	{ 'M', 3, { 5, 7, 5, 5, 5 } }, { 'N', 3, { 6, 5, 5, 5, 5 } },
	{ 'O', 3, { 2, 5, 5, 5, 2 } }, { 'P', 3, { 6, 5, 6, 4, 4 } },
	{ 'Q', 3, { 2, 5, 5, 7, 3 } }, { 'R', 3, { 6, 5, 6, 5, 5 } },
	{ 'S', 3, { 3, 4, 2, 1, 6 } }, { 'T', 3, { 7, 2, 2, 2, 2 } },
	{ 'U', 3, { 5, 5, 5, 5, 7 } }, { 'V', 3, { 5, 5, 5, 5, 2 } },
	{ 'W', 3, { 5, 5, 7, 7, 5 } }, { 'X', 3, { 5, 5, 2, 5, 5 } },
	{ 'Y', 3, { 5, 5, 2, 2, 2 } }, { 'Z', 3, { 7, 1, 2, 4, 7 } },
	{ ' ', 2, { 0, 0, 0, 0, 0 } }, { '.', 1, { 0, 0, 0, 0, 4 } },
	{ ',', 2, { 0, 0, 0, 2, 4 } }, { ':', 1, { 0, 4, 0, 4, 0 } },
	{ '!', 1, { 4, 4, 4, 0, 4 } }, { '?', 3, { 7, 1, 2, 0, 2 } },
	{ '-', 3, { 0, 0, 7, 0, 0 } }, { '+', 3, { 0, 2, 7, 2, 0 } },
	{ '/', 3, { 1, 1, 2, 4, 4 } }, { '\'', 1, { 4, 4, 0, 0, 0 } },
	{ '"', 3, { 5, 5, 0, 0, 0 } }, { '@', 3, { 2, 5, 7, 4, 3 } },
	{ '#', 3, { 5, 7, 5, 7, 5 } }, { '%', 3, { 5, 1, 2, 4, 5 } },
	{ '(', 2, { 2, 4, 4, 4, 2 } }, { ')', 2, { 4, 2, 2, 2, 4 } },
	{ '=', 3, { 0, 7, 0, 7, 0 } },
};

static long long
fa_now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return 0;
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
fa_onsig(int sig)
{
	(void)sig;
	fa_stop = 1;
}

/* Bytes outside 0x20..0x7e, '\\' (and '"' if quoting) become \xHH. */
static void
fa_put_esc(FILE *f, const char *s, size_t n, int quote)
{
	size_t i;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c < 0x20 || c > 0x7e || c == '\\' || (quote && c == '"'))
			fprintf(f, "\\x%02x", c);
		else
			putc(c, f);
	}
}

static int
fa_is(struct fa_span v, const char *lit)
{
	return v.n == strlen(lit) && memcmp(v.s, lit, v.n) == 0;
}

static int
fa_hex(int c)
{
	static const char x[] = "0123456789abcdef";
	const char *p;

	if (c == '\0' || (p = strchr(x, tolower(c))) == NULL)
		return -1;
	return (int)(p - x);
}

/* --- JSON: a strict RFC 8259 validator, reused to skip values. */

static int	fa_j_value(struct fa_jp *, int);

static int
fa_j_peek(const struct fa_jp *p)
{
	return p->i < p->n ? (unsigned char)p->s[p->i] : -1;
}

static void
fa_j_ws(struct fa_jp *p)
{
	int c;

	while ((c = fa_j_peek(p)) == ' ' || c == '\t' || c == '\n' ||
	    c == '\r')
		p->i++;
}

static int
fa_j_string(struct fa_jp *p)
{
	unsigned char c;
	int k;

	if (fa_j_peek(p) != '"')
		return -1;
	for (p->i++; p->i < p->n; ) {
		c = (unsigned char)p->s[p->i++];
		if (c == '"')
			return 0;
		if (c < 0x20)
			return -1;
		if (c != '\\')
			continue;
		if (p->i >= p->n)
			return -1;
		c = (unsigned char)p->s[p->i++];
		if (c == 'u') {
			if (p->n - p->i < 4)
				return -1;
			for (k = 0; k < 4; k++)
				if (fa_hex((unsigned char)p->s[p->i++]) < 0)
					return -1;
		} else if (c == '\0' || strchr("\"\\/bfnrt", c) == NULL)
			return -1;
	}
	return -1;
}

static int
fa_j_digits(struct fa_jp *p)
{
	size_t start = p->i;

	while (fa_j_peek(p) >= '0' && fa_j_peek(p) <= '9')
		p->i++;
	return p->i > start ? 0 : -1;
}

static int
fa_j_number(struct fa_jp *p)
{
	if (fa_j_peek(p) == '-')
		p->i++;
	if (fa_j_peek(p) == '0')
		p->i++;
	else if (fa_j_digits(p) == -1)
		return -1;
	if (fa_j_peek(p) == '.') {
		p->i++;
		if (fa_j_digits(p) == -1)
			return -1;
	}
	if (fa_j_peek(p) == 'e' || fa_j_peek(p) == 'E') {
		p->i++;
		if (fa_j_peek(p) == '+' || fa_j_peek(p) == '-')
			p->i++;
		return fa_j_digits(p);
	}
	return 0;
}

static int
fa_j_lit(struct fa_jp *p, const char *lit)
{
	size_t len = strlen(lit);

	if (p->n - p->i < len || memcmp(p->s + p->i, lit, len) != 0)
		return -1;
	p->i += len;
	return 0;
}

static int
fa_j_value(struct fa_jp *p, int depth)
{
	int c = fa_j_peek(p), close = c == '{' ? '}' : ']';

	if (c == '"')
		return fa_j_string(p);
	if (c == 't' || c == 'f' || c == 'n')
		return fa_j_lit(p, c == 't' ? "true" : c == 'f' ? "false" :
		    "null");
	if (c == '-' || (c >= '0' && c <= '9'))
		return fa_j_number(p);
	if ((c != '{' && c != '[') || depth >= FA_JSON_DEPTH)
		return -1;
	p->i++;
	fa_j_ws(p);
	if (fa_j_peek(p) == close) {
		p->i++;
		return 0;
	}
	for (;;) {
		if (c == '{') {
			if (fa_j_string(p) == -1)
				return -1;
			fa_j_ws(p);
			if (fa_j_peek(p) != ':')
				return -1;
			p->i++;
			fa_j_ws(p);
		}
		if (fa_j_value(p, depth + 1) == -1)
			return -1;
		fa_j_ws(p);
		if (fa_j_peek(p) == close) {
			p->i++;
			return 0;
		}
		if (fa_j_peek(p) != ',')
			return -1;
		p->i++;
		fa_j_ws(p);
	}
}

/* 0 if the span is exactly one JSON text; *kind gets its first byte. */
static int
fa_json_valid(struct fa_span b, int *kind)
{
	struct fa_jp p = { b.s, b.n, 0 };

	fa_j_ws(&p);
	*kind = fa_j_peek(&p);
	if (fa_j_value(&p, 0) == -1)
		return -1;
	fa_j_ws(&p);
	return p.i == p.n ? 0 : -1;
}

/* Value of a top-level key of a valid object; keys compared raw. */
static int
fa_json_get(struct fa_span obj, const char *key, struct fa_span *out)
{
	struct fa_jp p = { obj.s, obj.n, 0 };
	size_t klen = strlen(key), ks, ke, vs;

	fa_j_ws(&p);
	if (fa_j_peek(&p) != '{')
		return -1;
	do {
		p.i++;
		fa_j_ws(&p);
		ks = p.i;
		if (fa_j_string(&p) == -1)
			return -1;	/* also the end of {} */
		ke = p.i;
		fa_j_ws(&p);
		if (fa_j_peek(&p) != ':')
			return -1;
		p.i++;
		fa_j_ws(&p);
		vs = p.i;
		if (fa_j_value(&p, 1) == -1)
			return -1;
		if (ke - ks - 2 == klen && memcmp(p.s + ks + 1, key, klen) == 0) {
			out->s = p.s + vs;
			out->n = p.i - vs;
			return 0;
		}
		fa_j_ws(&p);
	} while (fa_j_peek(&p) == ',');
	return -1;
}

/* Next element of a valid array; start with p->i at the '['. */
static int
fa_json_elem(struct fa_jp *p, struct fa_span *el)
{
	size_t vs;

	fa_j_ws(p);
	if (fa_j_peek(p) != '[' && fa_j_peek(p) != ',')
		return -1;
	p->i++;
	fa_j_ws(p);
	vs = p->i;
	if (fa_j_value(p, 1) == -1)
		return -1;		/* also the end of [] */
	el->s = p->s + vs;
	el->n = p->i - vs;
	return 0;
}

/* Decode a JSON string, truncating; non-ASCII \u escapes become '?'. */
static int
fa_jstr(struct fa_span v, char *out, size_t outsz)
{
	static const char map[] = "b\bf\fn\nr\rt\t";
	const char *m;
	size_t i, k, o = 0;
	int cp;
	char c;

	if (outsz == 0 || v.n < 2 || v.s[0] != '"')
		return -1;
	for (i = 1; i + 1 < v.n && o + 1 < outsz; i++) {
		if ((c = v.s[i]) == '\\' && i + 2 < v.n) {
			c = v.s[++i];
			if (c == 'u' && i + 5 < v.n) {
				for (cp = 0, k = 1; k <= 4; k++)
					cp = cp << 4 |
					    fa_hex((unsigned char)v.s[i + k]);
				i += 4;
				c = cp < 0x80 ? (char)cp : '?';
			} else if (c != '\0' && (m = strchr(map, c)) != NULL &&
			    (m - map) % 2 == 0)
				c = m[1];
		}
		out[o++] = c;
	}
	out[o] = '\0';
	return (int)o;
}

static int
fa_jnum(struct fa_span v, double *d)
{
	char tmp[64], *end;

	if (v.n == 0 || v.n >= sizeof(tmp) ||
	    !(v.s[0] == '-' || (v.s[0] >= '0' && v.s[0] <= '9')))
		return -1;
	memcpy(tmp, v.s, v.n);
	tmp[v.n] = '\0';
	errno = 0;
	*d = strtod(tmp, &end);
	return errno != 0 || end != tmp + v.n ? -1 : 0;
}

/* "#RRGGBB", "RRGGBB" (as in fragments) or [r,g,b]. */
static int
fa_jcolor(struct fa_span v, uint32_t *rgb)
{
	struct fa_jp p = { v.s, v.n, 0 };
	struct fa_span el;
	char hex[16], *h;
	uint32_t c = 0;
	double d;
	int k, x;

	if (v.n > 0 && v.s[0] == '"') {
		if (fa_jstr(v, hex, sizeof(hex)) < 0)
			return -1;
		h = hex[0] == '#' ? hex + 1 : hex;
		if (strlen(h) != 6)
			return -1;
		for (k = 0; k < 6; k++) {
			if ((x = fa_hex((unsigned char)h[k])) < 0)
				return -1;
			c = c << 4 | (uint32_t)x;
		}
		*rgb = c;
		return 0;
	}
	for (k = 0; k < 3; k++) {
		if (fa_json_elem(&p, &el) == -1 || fa_jnum(el, &d) == -1)
			return -1;
		c = c << 8 | (uint32_t)(d < 0 ? 0 : d > 255 ? 255 : d);
	}
	*rgb = c;
	return 0;
}

/* --- The 32x8 LED matrix. */

static const struct fa_glyph *
fa_glyph_of(unsigned char c)
{
	size_t i;

	c = (unsigned char)toupper(c);
	for (i = 0; i < FA_NITEMS(fa_font); i++)
		if ((unsigned char)fa_font[i].c == c)
			return &fa_font[i];
	return fa_glyph_of('?');
}

static void
fa_text_add(struct fa_text *t, const char *s, uint32_t col)
{
	for (; *s != '\0' && t->n < FA_TEXT_MAX; s++) {
		/* The font is ASCII: one '?' per UTF-8 character. */
		if (((unsigned char)*s & 0xc0) == 0x80)
			continue;
		t->ch[t->n] = (unsigned char)*s < 0x80 ? *s : '?';
		t->col[t->n++] = col;
	}
}

/* The first frame: centred like the firmware if it fits, else clipped. */
static void
fa_draw(uint32_t *scr, const struct fa_text *t, int icon)
{
	const struct fa_glyph *g;
	size_t k;
	int width = -1, x, row, col;

	memset(scr, 0, FA_W * FA_H * sizeof(*scr));
	for (k = 0; k < t->n; k++)
		width += fa_glyph_of((unsigned char)t->ch[k])->w + 1;
	x = icon ? 9 : width <= FA_W ? (FA_W - width) / 2 : 0;
	for (k = 0; icon && k < 8; k++) {
		/* We have no icon files: draw an 8x8 placeholder frame. */
		scr[k] = scr[7 * FA_W + k] = 0x808080;
		scr[k * FA_W] = scr[k * FA_W + 7] = 0x808080;
	}
	for (k = 0; k < t->n && x < FA_W; k++) {
		g = fa_glyph_of((unsigned char)t->ch[k]);
		for (row = 0; row < 5; row++)
			for (col = 0; col < g->w && x + col < FA_W; col++)
				if (g->rows[row] & (4 >> col))
					scr[(1 + row) * FA_W + x + col] =
					    t->col[k];
		x += g->w + 1;
	}
}

static void
fa_print_frame(const uint32_t *scr)
{
	uint32_t c, last;
	int x, y;

	for (y = 0; y < FA_H; y++) {
		fputs("  ", stdout);
		for (last = UINT32_MAX, x = 0; x < FA_W; x++) {
			if ((c = scr[y * FA_W + x]) == 0)
				c = FA_OFF_RGB;
			if (c != last)
				printf("\033[38;2;%u;%u;%um", (unsigned)(c >> 16),
				    (unsigned)(c >> 8 & 0xff),
				    (unsigned)(c & 0xff));
			last = c;
			fputs("\xe2\x96\x88\xe2\x96\x88", stdout);	/* ██ */
		}
		fputs("\033[0m\n", stdout);
	}
}

static void
fa_put_quoted(const char *s, size_t n)
{
	fputs(" \"", stdout);
	fa_put_esc(stdout, s, n, 1);
	putchar('"');
}

/*
 * A notification or custom app page: keep its first frame for GET
 * /api/screen and, with --render, describe it and draw it.
 */
static void
fa_show(struct fa_srv *srv, struct fa_span obj, const char *what,
    const char *app)
{
	struct fa_text t;
	struct fa_span v, el, tv, cv;
	struct fa_jp p;
	uint32_t color = 0xffffff, c;
	char buf[FA_TEXT_MAX + 1], icon[65];
	double dur = 0, num;
	int has_text = 0, has_icon = 0, has_dur;

	memset(&t, 0, sizeof(t));
	if (fa_json_get(obj, "color", &v) == 0 && fa_jcolor(v, &c) == 0)
		color = c;
	if (fa_json_get(obj, "text", &v) == 0 &&
	    fa_jstr(v, buf, sizeof(buf)) >= 0) {
		fa_text_add(&t, buf, color);
		has_text = 1;
	} else if (fa_json_get(obj, "text", &v) == 0 && v.s[0] == '[') {
		/* Fragments [{"t":"Hi ","c":"FF0000"},...]. */
		p = (struct fa_jp){ v.s, v.n, 0 };
		while (fa_json_elem(&p, &el) == 0) {
			if (fa_json_get(el, "t", &tv) == -1 ||
			    fa_jstr(tv, buf, sizeof(buf)) < 0)
				continue;
			c = color;
			if (fa_json_get(el, "c", &cv) == 0)
				(void)fa_jcolor(cv, &c);
			fa_text_add(&t, buf, c);
			t.frags++;
		}
		has_text = 1;
	}
	if (fa_json_get(obj, "icon", &v) == 0) {
		if (fa_jstr(v, icon, sizeof(icon)) >= 0)
			has_icon = 1;
		else if (v.n < sizeof(icon) && fa_jnum(v, &num) == 0) {
			memcpy(icon, v.s, v.n);	/* "icon":1234 works too */
			icon[v.n] = '\0';
			has_icon = 1;
		}
	}
	has_dur = fa_json_get(obj, "duration", &v) == 0 &&
	    fa_jnum(v, &dur) == 0;
	if (has_text || has_icon)
		fa_draw(srv->screen, &t, has_icon);
	if (!srv->o.render)
		return;
	printf("clock: %s", what);
	if (app != NULL) {
		fputs(" app", stdout);
		fa_put_quoted(app, strlen(app));
	}
	if (has_text) {
		fa_put_quoted(t.ch, t.n);
		if (t.frags > 0)
			printf(" in %d fragments", t.frags);
		else
			printf(" color #%06X", (unsigned)color);
	}
	if (has_icon) {
		fputs(" icon", stdout);
		fa_put_quoted(icon, strlen(icon));
	}
	if (has_dur)
		printf(" duration %gs", dur);
	putchar('\n');
	if (has_text)
		fa_print_frame(srv->screen);
	fflush(stdout);
}

/* --- Handlers: each fills srv->resp; only successes say "clock:". */

static void
fa_resp_set(struct fa_resp *r, int status, const char *ctype,
    const char *body)
{
	r->status = status;
	r->ctype = ctype;
	r->body = body;
	r->len = strlen(body);
}

static void
fa_ok(struct fa_srv *srv)
{
	fa_resp_set(&srv->resp, 200, "text/plain", "OK");
}

static void
fa_bad_json(struct fa_srv *srv)
{
	fa_resp_set(&srv->resp, 500, "text/plain", "ErrorParsingJson");
}

/* "clock: WHAT" plus, if q is set, the quoted q. */
static void
fa_say(const struct fa_srv *srv, const char *what, const char *q, size_t n)
{
	if (!srv->o.render)
		return;
	printf("clock: %s", what);
	if (q != NULL)
		fa_put_quoted(q, n);
	putchar('\n');
	fflush(stdout);
}

static void
fa_h_plain(struct fa_srv *srv, const struct fa_route *rt)
{
	fa_ok(srv);
	fa_say(srv, rt->arg, NULL, 0);
}

static void
fa_h_canned(struct fa_srv *srv, const struct fa_route *rt)
{
	fa_resp_set(&srv->resp, 200, rt->arg[0] == '{' || rt->arg[0] == '[' ?
	    "application/json" : "text/plain", rt->arg);
}

static void
fa_h_notify(struct fa_srv *srv, const struct fa_route *rt)
{
	int kind;

	(void)rt;
	if (fa_json_valid(srv->req.plain, &kind) == -1 || kind != '{') {
		fa_bad_json(srv);
		return;
	}
	fa_ok(srv);
	fa_show(srv, srv->req.plain, "notify", NULL);
}

/* The url-decoded value of a query parameter, "" when absent. */
static void
fa_query(const struct fa_req *req, const char *key, char *out, size_t outsz)
{
	const char *q, *end;
	size_t klen = strlen(key), o = 0;
	int hi, lo;

	out[0] = '\0';
	if (req->target[req->pathlen] != '?')
		return;
	for (q = req->target + req->pathlen + 1; *q != '\0'; q = end + 1) {
		end = q + strcspn(q, "&");
		if (strncmp(q, key, klen) != 0 || q[klen] != '=') {
			if (*end == '\0')
				return;
			continue;
		}
		for (q += klen + 1; q < end && o + 1 < outsz; q++) {
			if (*q == '%' && end - q >= 3 &&
			    (hi = fa_hex((unsigned char)q[1])) >= 0 &&
			    (lo = fa_hex((unsigned char)q[2])) >= 0) {
				out[o++] = (char)(hi << 4 | lo);
				q += 2;
			} else
				out[o++] = *q == '+' ? ' ' : *q;
		}
		out[o] = '\0';
		return;
	}
}

static void
fa_h_custom(struct fa_srv *srv, const struct fa_route *rt)
{
	struct fa_span b = srv->req.plain, el;
	struct fa_jp p = { b.s, b.n, 0 };
	char app[128];
	int kind = 0;

	(void)rt;
	fa_query(&srv->req, "name", app, sizeof(app));
	if (b.n > 0 && fa_json_valid(b, &kind) == -1) {
		fa_bad_json(srv);
		return;
	}
	fa_ok(srv);
	if (b.n > 0 && kind == '[') {
		/* An array makes apps <name>0, <name>1...: show the first. */
		if (fa_json_elem(&p, &el) == 0)
			fa_show(srv, el, "custom", app);
		return;
	}
	fa_j_ws(&p);
	if (kind == '{') {
		p.i++;
		fa_j_ws(&p);
	}
	if (b.n == 0 || (kind == '{' && fa_j_peek(&p) == '}')) {
		/* An empty body or {} deletes the app. */
		if (srv->o.render) {
			fputs("clock: custom app", stdout);
			fa_put_quoted(app, strlen(app));
			fputs(" removed\n", stdout);
			fflush(stdout);
		}
		return;
	}
	fa_show(srv, b, "custom", app);
}

static void
fa_h_switch(struct fa_srv *srv, const struct fa_route *rt)
{
	struct fa_span v;
	char app[64];
	int kind;

	(void)rt;
	if (fa_json_valid(srv->req.plain, &kind) == -1 || kind != '{' ||
	    fa_json_get(srv->req.plain, "name", &v) == -1 ||
	    fa_jstr(v, app, sizeof(app)) <= 0) {
		fa_resp_set(&srv->resp, 500, "text/plain", "FAILED");
		return;
	}
	fa_ok(srv);
	fa_say(srv, "switch to app", app, strlen(app));
}

static void
fa_h_power(struct fa_srv *srv, const struct fa_route *rt)
{
	struct fa_span b = srv->req.plain, v;
	int kind, on = -1;

	(void)rt;
	fa_ok(srv);		/* the firmware always says OK */
	if (fa_is(b, "true") || fa_is(b, "1"))
		on = 1;
	else if (fa_is(b, "false") || fa_is(b, "0"))
		on = 0;
	else if (fa_json_valid(b, &kind) == 0 && kind == '{' &&
	    fa_json_get(b, "power", &v) == 0)
		on = fa_is(v, "true") ? 1 : fa_is(v, "false") ? 0 : -1;
	fa_say(srv, on == 1 ? "power on" : on == 0 ? "power off" :
	    "power unchanged", NULL, 0);
}

/* moodlight, indicator1..3: an empty body turns them off. */
static void
fa_h_light(struct fa_srv *srv, const struct fa_route *rt)
{
	static const char *keys[] = { "brightness", "kelvin", "color",
	    "blink", "fade" };
	struct fa_span b = srv->req.plain, v;
	size_t i;
	int kind, any = 0;

	if (b.n > 0 && fa_json_valid(b, &kind) == -1) {
		fa_bad_json(srv);
		return;
	}
	fa_ok(srv);
	if (!srv->o.render)
		return;
	printf("clock: %s", rt->path + 5);
	for (i = 0; b.n > 0 && i < FA_NITEMS(keys); i++) {
		if (fa_json_get(b, keys[i], &v) == 0) {
			printf(" %s ", keys[i]);
			fa_put_esc(stdout, v.s, v.n, 0);
			any = 1;
		}
	}
	printf("%s\n", any ? "" : " off");
	fflush(stdout);
}

/* sound, rtttl, r2d2, settings: text as is; sound also {"sound":..}. */
static void
fa_h_text(struct fa_srv *srv, const struct fa_route *rt)
{
	struct fa_span b = srv->req.plain, v;
	char name[128];
	int kind;

	fa_ok(srv);	/* settings too, even on a parse error */
	if (strcmp(rt->arg, "sound") == 0 && fa_json_valid(b, &kind) == 0 &&
	    kind == '{' && fa_json_get(b, "sound", &v) == 0 &&
	    fa_jstr(v, name, sizeof(name)) >= 0)
		fa_say(srv, rt->arg, name, strlen(name));
	else
		fa_say(srv, rt->arg, b.s, b.n);
}

static void
fa_h_stats(struct fa_srv *srv, const struct fa_route *rt)
{
	struct fa_resp *r = &srv->resp;
	size_t base, big = (size_t)srv->o.big_body;
	int n;

	(void)rt;
	n = snprintf(r->sbuf, sizeof(r->sbuf), "{\"bat\":100,\"lux\":42,"
	    "\"ram\":150000,\"bri\":120,\"uptime\":%lld,\"wifi_signal\":-60,"
	    "\"messages\":%ld,\"version\":\"" FA_VERSION "\",\"app\":\"Time\","
	    "\"uid\":\"awtrix_fake\",\"matrix\":true}",
	    (fa_now_ms() - srv->start_ms) / 1000, srv->served);
	if (n < 0 || (size_t)n >= sizeof(r->sbuf)) {
		fa_resp_set(r, 500, "text/plain", "Internal");
		return;
	}
	fa_resp_set(r, 200, "application/json", r->sbuf);
	if (big == 0)
		return;
	/* --big-body: exactly N bytes, still one valid JSON object. */
	if ((r->heap = malloc(big)) == NULL) {
		fa_resp_set(r, 500, "text/plain", "NoMemory");
		return;
	}
	base = (size_t)n;
	if (big >= base + 9) {
		memcpy(r->heap, r->sbuf, base - 1);
		memcpy(r->heap + base - 1, ",\"pad\":\"", 8);
		memset(r->heap + base + 7, 'x', big - base - 9);
		memcpy(r->heap + big - 2, "\"}", 2);
	} else {
		memcpy(r->heap, "{}", 2);
		memset(r->heap + 2, ' ', big - 2);
	}
	r->body = r->heap;
	r->len = big;
}

static void
fa_h_screen(struct fa_srv *srv, const struct fa_route *rt)
{
	struct fa_resp *r = &srv->resp;
	size_t o = 0, i;
	int n;

	(void)rt;
	for (i = 0; i < FA_W * FA_H; i++) {
		n = snprintf(r->sbuf + o, sizeof(r->sbuf) - o, "%c%lu%s",
		    i == 0 ? '[' : ',', (unsigned long)srv->screen[i],
		    i + 1 == FA_W * FA_H ? "]" : "");
		if (n < 0 || (size_t)n >= sizeof(r->sbuf) - o) {
			fa_resp_set(r, 500, "text/plain", "Internal");
			return;
		}
		o += (size_t)n;
	}
	fa_resp_set(r, 200, "application/json", r->sbuf);
}

static const struct fa_route fa_routes[] = {
	{ "/api/notify", FA_POST, fa_h_notify, NULL },
	{ "/api/notify/dismiss", FA_ANY, fa_h_plain, "notify dismissed" },
	{ "/api/custom", FA_POST, fa_h_custom, NULL },
	{ "/api/nextapp", FA_ANY, fa_h_plain, "next app" },
	{ "/api/previousapp", FA_POST, fa_h_plain, "previous app" },
	{ "/api/switch", FA_POST, fa_h_switch, NULL },
	{ "/api/power", FA_POST, fa_h_power, NULL },
	{ "/api/moodlight", FA_POST, fa_h_light, NULL },
	{ "/api/indicator1", FA_POST, fa_h_light, NULL },
	{ "/api/indicator2", FA_POST, fa_h_light, NULL },
	{ "/api/indicator3", FA_POST, fa_h_light, NULL },
	{ "/api/sound", FA_POST, fa_h_text, "sound" },
	{ "/api/rtttl", FA_POST, fa_h_text, "rtttl" },
	{ "/api/r2d2", FA_POST, fa_h_text, "r2d2" },
	{ "/api/reorder", FA_POST, fa_h_plain, "apps reordered" },
	{ "/api/settings", FA_POST, fa_h_text, "settings" },
	{ "/api/settings", FA_GET, fa_h_canned, "{\"MATP\":true,"
	    "\"ABRI\":false,\"BRI\":120,\"ATRANS\":true,\"TCOL\":16777215,"
	    "\"TEFF\":1,\"TSPEED\":500,\"ATIME\":7,\"TMODE\":1,"
	    "\"UPPERCASE\":true,\"SOUND\":true,\"VOL\":20}" },
	{ "/api/stats", FA_GET, fa_h_stats, NULL },
	{ "/api/screen", FA_GET, fa_h_screen, NULL },
	{ "/api/loop", FA_GET, fa_h_canned, "{\"Time\":0,\"Date\":1,"
	    "\"Temperature\":2,\"Humidity\":3,\"Battery\":4}" },
	{ "/api/apps", FA_GET, fa_h_canned, "[{\"name\":\"Time\"},"
	    "{\"name\":\"Date\"},{\"name\":\"Temperature\"},"
	    "{\"name\":\"Humidity\"},{\"name\":\"Battery\"}]" },
	{ "/api/apps", FA_POST, fa_h_plain, "apps updated" },
	{ "/api/effects", FA_GET, fa_h_canned, "[\"Fade\",\"MovingLine\","
	    "\"BrickBreaker\",\"PingPong\",\"Radar\",\"Checkerboard\","
	    "\"Fireworks\",\"PlasmaCloud\",\"Ripple\",\"Snake\",\"Pacifica\","
	    "\"TheaterChase\",\"Plasma\",\"Matrix\",\"SwirlIn\",\"SwirlOut\","
	    "\"LookingEyes\",\"TwinklingStars\",\"ColorWaves\"]" },
	{ "/api/transitions", FA_GET, fa_h_canned, "[\"Random\",\"Slide\","
	    "\"Dim\",\"Zoom\",\"Rotate\",\"Pixelate\",\"Curtain\",\"Ripple\","
	    "\"Blink\",\"Reload\",\"Fade\"]" },
	{ "/version", FA_GET, fa_h_canned, FA_VERSION },
};

/*
 * --hostile: a clock (or whatever answers in its place) that tries to run
 * script in the page that shows its answers: the notify and screen routes
 * answer text/html with script, stats answers JSON whose strings are
 * markup.  1 if it answered.
 */
static int
fa_hostile(struct fa_srv *srv)
{
	static const char html[] = "<!DOCTYPE html><html><body>"
	    "<script>window.__pwned = 'html';alert('pwned')</script>"
	    "<img src=x onerror=\"window.__pwned='img'\"></body></html>";
	static const char json[] = "{\"version\":\"<script>window.__pwned="
	    "'json'</script><img src=x onerror=\\\"window.__pwned='json'"
	    "\\\">\",\"bat\":\"<b>100</b>\",\"wifi_signal\":-60}";
	const struct fa_req *req = &srv->req;

	if (req->pathlen == strlen("/api/stats") &&
	    memcmp(req->target, "/api/stats", req->pathlen) == 0)
		fa_resp_set(&srv->resp, 200, "application/json", json);
	else if ((req->pathlen == strlen("/api/notify") &&
	    memcmp(req->target, "/api/notify", req->pathlen) == 0) ||
	    (req->pathlen == strlen("/api/screen") &&
	    memcmp(req->target, "/api/screen", req->pathlen) == 0))
		fa_resp_set(&srv->resp, 200, "text/html", html);
	else
		return 0;
	return 1;
}

/* AWTRIX 2 host: any JSON object is taken; get answers a JSON object. */
static void
fa_h2_post(struct fa_srv *srv, const struct fa_route *rt)
{
	struct fa_span v;
	struct fa_resp *r = &srv->resp;
	int kind;

	if (fa_json_valid(srv->req.plain, &kind) == -1 || kind != '{') {
		fa_resp_set(r, 400, "text/plain", "Bad Request");
		return;
	}
	if (strcmp(rt->arg, "basics") == 0 &&
	    fa_json_get(srv->req.plain, "get", &v) == 0) {
		snprintf(r->sbuf, sizeof(r->sbuf), "{\"version\":\""
		    FA2_VERSION "\",\"uptime\":%lld}",
		    (fa_now_ms() - srv->start_ms) / 1000);
		fa_resp_set(r, 200, "application/json", r->sbuf);
		return;
	}
	fa_ok(srv);
	if (strcmp(rt->arg, "notify") == 0)
		fa_show(srv, srv->req.plain, "notify", NULL);
	else
		fa_say(srv, rt->arg, srv->req.plain.s, srv->req.plain.n);
}

static const struct fa_route fa2_routes[] = {
	{ "/api/v3/basics", FA_POST, fa_h2_post, "basics" },
	{ "/api/v3/settings", FA_POST, fa_h2_post, "settings" },
	{ "/api/v3/notify", FA_POST, fa_h2_post, "notify" },
	{ "/api/v3/temporaryapp", FA_POST, fa_h2_post, "temporaryapp" },
	{ "/api/v3/draw", FA_POST, fa_h2_post, "draw" },
	{ "/api/v3/app", FA_POST, fa_h2_post, "app" },
	{ "/api/v3/customapp", FA_POST, fa_h2_post, "customapp" },
};

static void
fa_dispatch(struct fa_srv *srv)
{
	const struct fa_req *req = &srv->req;
	const struct fa_route *rt;
	size_t i;
	int m;

	if (srv->o.auth != NULL && !req->auth) {
		/* requestAuthentication(): 401, empty text/html body. */
		fa_resp_set(&srv->resp, 401, "text/html", "");
		srv->resp.challenge = 1;
		return;
	}
	if (strcmp(req->method, "OPTIONS") == 0) {
		fa_resp_set(&srv->resp, 204, NULL, "");	/* CORS preflight */
		return;
	}
	if (srv->o.hostile && fa_hostile(srv))
		return;
	m = strcmp(req->method, "GET") == 0 ? FA_GET :
	    strcmp(req->method, "POST") == 0 ? FA_POST : 4;
	for (i = 0; i < (srv->o.generation == 2 ? FA_NITEMS(fa2_routes) :
	    FA_NITEMS(fa_routes)); i++) {
		rt = srv->o.generation == 2 ? &fa2_routes[i] : &fa_routes[i];
		if (strlen(rt->path) == req->pathlen &&
		    memcmp(rt->path, req->target, req->pathlen) == 0 &&
		    (rt->methods & m)) {
			rt->fn(srv, rt);
			return;
		}
	}
	/* Also erase, reboot, resetSettings, doupdate and sleep. */
	fa_resp_set(&srv->resp, 404, "text/plain", "FileNotFound");
}

/* --- HTTP transport. */

static int
fa_b64val(int c)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p;

	if (c == '\0' || (p = strchr(a, c)) == NULL)
		return -1;
	return (int)(p - a);
}

/* Decoded length, or -1 on a bad character, bad padding or overflow. */
static long
fa_b64dec(const char *in, char *out, size_t outsz)
{
	unsigned int acc = 0;
	size_t o = 0;
	int bits = 0, pad = 0, v;

	for (; *in != '\0'; in++) {
		if (*in == '=') {
			if (++pad > 2)
				return -1;
			continue;
		}
		if (pad > 0 || (v = fa_b64val((unsigned char)*in)) < 0)
			return -1;
		acc = (acc << 6 | (unsigned)v) & 0xffffu;
		if ((bits += 6) >= 8) {
			bits -= 8;
			if (o >= outsz)
				return -1;
			out[o++] = (char)(acc >> bits & 0xff);
		}
	}
	return (long)o;
}

/* Without --auth any well-formed USER:PASS counts as auth=yes. */
static void
fa_check_auth(struct fa_srv *srv, const char *val)
{
	char cred[FA_AUTH_MAX];
	long n;

	if (strncasecmp(val, "Basic ", 6) != 0)
		return;
	val += 6 + strspn(val + 6, " ");
	if ((n = fa_b64dec(val, cred, sizeof(cred))) < 0)
		return;
	if (srv->o.auth == NULL)
		srv->req.auth = memchr(cred, ':', (size_t)n) != NULL;
	else
		srv->req.auth = (size_t)n == strlen(srv->o.auth) &&
		    memcmp(cred, srv->o.auth, (size_t)n) == 0;
}

static int
fa_copy(char *dst, size_t dstsz, const char *src)
{
	size_t len = strlen(src);

	if (len >= dstsz)
		return -1;
	memcpy(dst, src, len + 1);
	return 0;
}

/* Parse the head in place (lines get NULs); an HTTP status on error. */
static int
fa_parse_head(struct fa_srv *srv, size_t hend, size_t *clen, int *expect)
{
	struct fa_req *req = &srv->req;
	char *line, *nl, *sp, *val, *end;
	int seen_len = 0;
	unsigned long v;

	for (line = srv->buf; line < srv->buf + hend; line = nl + 1) {
		if ((nl = memchr(line, '\n', (size_t)(srv->buf + hend -
		    line))) == NULL)
			return 400;
		*nl = '\0';
		if (nl > line && nl[-1] == '\r')
			nl[-1] = '\0';
		if (line == srv->buf) {
			/* METHOD SP TARGET SP HTTP/1.x */
			if ((sp = strchr(line, ' ')) == NULL)
				return 400;
			*sp++ = '\0';
			if ((end = strchr(sp, ' ')) == NULL ||
			    strncmp(end + 1, "HTTP/1.", 7) != 0)
				return 400;
			*end = '\0';
			if (fa_copy(req->method, sizeof(req->method), line) ||
			    fa_copy(req->target, sizeof(req->target), sp) ||
			    req->target[0] != '/')
				return 400;
			req->pathlen = strcspn(req->target, "?");
			continue;
		}
		if (*line == '\0')
			break;
		if ((val = strchr(line, ':')) == NULL)
			return 400;
		*val++ = '\0';
		val += strspn(val, " \t");
		for (end = val + strlen(val); end > val &&
		    (end[-1] == ' ' || end[-1] == '\t'); )
			*--end = '\0';
		if (strcasecmp(line, "Content-Length") == 0) {
			if (seen_len++ || *val == '\0' ||
			    strspn(val, "0123456789") != strlen(val))
				return 400;
			errno = 0;
			v = strtoul(val, NULL, 10);
			if (errno != 0 || v > FA_BODY_MAX)
				return 413;
			*clen = v;
		} else if (strcasecmp(line, "Content-Type") == 0) {
			if (fa_copy(req->ctype, sizeof(req->ctype), val) == -1)
				return 431;
		} else if (strcasecmp(line, "Authorization") == 0)
			fa_check_auth(srv, val);
		else if (strcasecmp(line, "Transfer-Encoding") == 0)
			return 501;	/* no chunked bodies, like WebServer */
		else if (strcasecmp(line, "Expect") == 0)
			*expect = strcasecmp(val, "100-continue") == 0;
	}
	return req->method[0] == '\0' ? 400 : 0;
}

/* One read() into buf[*have..limit) before the deadline; -1: give up. */
static int
fa_fill(int fd, char *buf, size_t *have, size_t limit, long long deadline)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	long long left;
	ssize_t r;

	for (;;) {
		if (fa_stop || (left = deadline - fa_now_ms()) <= 0)
			return -1;
		pfd.revents = 0;
		if (poll(&pfd, 1, (int)left) == -1 && errno != EINTR)
			return -1;
		if (pfd.revents == 0)
			continue;
		if ((r = read(fd, buf + *have, limit - *have)) == -1 &&
		    (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			return -1;
		*have += (size_t)r;
		return 0;
	}
}

/* Read and drop input until EOF, an error, a signal or ms pass. */
static void
fa_drain(int fd, long long ms)
{
	long long deadline = fa_now_ms() + ms;
	char junk[512];
	size_t have;

	do
		have = 0;
	while (fa_fill(fd, junk, &have, sizeof(junk), deadline) == 0);
}

static size_t
fa_head_end(const char *buf, size_t have)
{
	size_t i;

	for (i = 0; i + 1 < have; i++) {
		if (buf[i] == '\n' && buf[i + 1] == '\n')
			return i + 2;
		if (i + 3 < have && memcmp(buf + i, "\r\n\r\n", 4) == 0)
			return i + 4;
	}
	return 0;
}

static int
fa_send_all(int fd, const char *p, size_t n)
{
	ssize_t r;

	while (n > 0) {
		if ((r = send(fd, p, n, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR && !fa_stop)
				continue;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* 0 with srv->req filled, an HTTP status to answer, or -1 to hang up. */
static int
fa_read_req(struct fa_srv *srv, int fd)
{
	struct fa_req *req = &srv->req;
	long long deadline = fa_now_ms() + FA_READ_MS;
	size_t have = 0, hend, clen = 0, need;
	int rc, expect = 0;

	req->method[0] = req->target[0] = req->ctype[0] = '\0';
	req->pathlen = 0;
	req->auth = 0;
	while ((hend = fa_head_end(srv->buf, have)) == 0) {
		if (have >= FA_HDR_MAX)
			return 431;
		if (fa_fill(fd, srv->buf, &have, FA_HDR_MAX, deadline) == -1)
			return -1;
	}
	if ((rc = fa_parse_head(srv, hend, &clen, &expect)) != 0)
		return rc;
	need = hend + clen;		/* <= FA_HDR_MAX + FA_BODY_MAX */
	if (expect && have < need &&
	    fa_send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25) == -1)
		return -1;
	while (have < need)
		if (fa_fill(fd, srv->buf, &have, need, deadline) == -1)
			return -1;
	srv->buf[need] = '\0';
	req->body = srv->buf + hend;
	req->bodylen = clen;
	req->plain.s = req->body;
	/* WebServer parses these as form arguments: no "plain" at all. */
	req->plain.n = strncasecmp(req->ctype,
	    "application/x-www-form-urlencoded", 33) == 0 ||
	    strncasecmp(req->ctype, "multipart/", 10) == 0 ? 0 : clen;
	return 0;
}

static const char *
fa_reason(int status)
{
	static const struct { int status; const char *text; } r[] = {
		{ 200, "OK" }, { 204, "No Content" }, { 400, "Bad Request" },
		{ 401, "Unauthorized" }, { 404, "Not Found" },
		{ 413, "Payload Too Large" },
		{ 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" }, { 501, "Not Implemented" },
	};
	size_t i;

	for (i = 0; i < FA_NITEMS(r); i++)
		if (r[i].status == status)
			return r[i].text;
	return "Unknown";
}

static void
fa_reply(int fd, const struct fa_resp *r)
{
	char hdr[512];
	int n;

	n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 %d %s\r\n%s%s%s"
	    "Content-Length: %zu\r\nAccess-Control-Allow-Origin: *\r\n%s"
	    "Connection: close\r\n\r\n", r->status, fa_reason(r->status),
	    r->ctype != NULL ? "Content-Type: " : "",
	    r->ctype != NULL ? r->ctype : "", r->ctype != NULL ? "\r\n" : "",
	    r->len, r->challenge ?
	    "WWW-Authenticate: Basic realm=\"Login Required\"\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(hdr) ||
	    fa_send_all(fd, hdr, (size_t)n) == -1)
		return;
	(void)fa_send_all(fd, r->body, r->len);
}

static void
fa_log_req(struct fa_srv *srv)
{
	const struct fa_req *req = &srv->req;
	FILE *f = srv->log;

	if (f == NULL)
		return;
	fprintf(f, "%s ", req->method);
	fa_put_esc(f, req->target, strlen(req->target), 0);
	fputs(" ctype=", f);
	if (req->ctype[0] == '\0')
		putc('-', f);
	fa_put_esc(f, req->ctype, strlen(req->ctype), 0);
	fprintf(f, " auth=%s len=%zu body=", req->auth ? "yes" : "no",
	    req->bodylen);
	fa_put_esc(f, req->body, req->bodylen, 0);
	putc('\n', f);
	fflush(f);
}

static void
fa_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (ms > 0 && nanosleep(&ts, &ts) == -1 && errno == EINTR &&
	    !fa_stop)
		;
}

static void
fa_serve(struct fa_srv *srv, int fd)
{
	struct fa_resp *r = &srv->resp;
	int rc;

	r->heap = NULL;
	r->challenge = 0;
	if ((rc = fa_read_req(srv, fd)) == -1)
		return;
	if (rc > 0) {
		fa_resp_set(r, rc, "text/plain", fa_reason(rc));
		fa_reply(fd, r);
		/* Unread input would turn close() into a RST. */
		(void)shutdown(fd, SHUT_WR);
		fa_drain(fd, FA_DRAIN_MS);
		return;
	}
	srv->served++;
	fa_log_req(srv);
	if (srv->o.hang) {
		/* Hold the peer; the next client waits, as on the ESP32. */
		fa_drain(fd, FA_HANG_MS);
		return;
	}
	fa_sleep_ms(srv->o.delay_ms);
	if (fa_stop)
		return;
	fa_dispatch(srv);
	fa_reply(fd, r);
	free(r->heap);
	r->heap = NULL;
}

static void
fa_usage(FILE *f)
{
	fputs("usage: fake-awtrix [--port N] [--auth USER:PASS] [--delay-ms N]"
	    " [--hang]\n"
	    "                   [--big-body N] [--max-requests N] [--log FILE]"
	    " [--render]\n"
	    "                   [--hostile]\n"
	    "  --port N          listen on 127.0.0.1:N (0: any), print "
	    "\"port N\"\n"
	    "  --auth USER:PASS  require HTTP Basic auth on every route\n"
	    "  --delay-ms N      sleep N ms before each answer\n"
	    "  --hang            read each request, never answer\n"
	    "  --big-body N      GET /api/stats answers exactly N bytes "
	    "(N >= 2)\n"
	    "  --max-requests N  exit 0 after N requests\n"
	    "  --log FILE        append one line per request\n"
	    "  --render          print \"clock: ...\" lines and LED frames\n"
	    "  --hostile         notify and screen answer text/html with "
	    "script,\n"
	    "                    stats answers JSON whose strings are markup\n"
	    "  --generation 2|3  play an AWTRIX 2 host (/api/v3/...) or an "
	    "AWTRIX 3\n"
	    "                    clock (default)\n",
	    f);
}

static int
fa_num(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* 0 to run, 1 for --help, -1 for a bad command line. */
static int
fa_args(int argc, char *argv[], struct fa_opts *o)
{
	const struct {
		const char	*name;
		long		 min, max, *val;
	} num[] = {
		{ "--port", 0, 65535, &o->port },
		{ "--delay-ms", 0, 3600000, &o->delay_ms },
		{ "--big-body", 2, FA_BIG_MAX, &o->big_body },
		{ "--max-requests", 1, 1000000000L, &o->max_requests },
		{ "--generation", 2, 3, &o->generation },
	};
	size_t k;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
		if (strcmp(argv[i], "--hostile") == 0) {
			o->hostile = 1;
			continue;
		}
		if (strcmp(argv[i], "--hang") == 0 ||
		    strcmp(argv[i], "--render") == 0) {
			*(argv[i][2] == 'h' ? &o->hang : &o->render) = 1;
			continue;
		}
		if (i + 1 >= argc)
			return -1;
		for (k = 0; k < FA_NITEMS(num); k++)
			if (strcmp(argv[i], num[k].name) == 0)
				break;
		if (k < FA_NITEMS(num)) {
			if (fa_num(argv[++i], num[k].min, num[k].max,
			    num[k].val) == -1)
				return -1;
		} else if (strcmp(argv[i], "--auth") == 0) {
			o->auth = argv[++i];
			if (strchr(o->auth, ':') == NULL ||
			    strlen(o->auth) >= FA_AUTH_MAX)
				return -1;
		} else if (strcmp(argv[i], "--log") == 0)
			o->log_path = argv[++i];
		else
			return -1;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	struct fa_opts o;
	struct fa_srv *srv;
	struct sockaddr_in sin;
	struct sigaction sa;
	struct pollfd pfd;
	socklen_t slen = sizeof(sin);
	struct timeval tv = { FA_READ_MS / 1000, 0 };
	int s, fd, one = 1, rc;

	memset(&o, 0, sizeof(o));
	o.generation = 3;
	if ((rc = fa_args(argc, argv, &o)) != 0) {
		fa_usage(rc == 1 ? stdout : stderr);
		return rc == 1 ? 0 : 2;
	}
	if ((srv = calloc(1, sizeof(*srv))) == NULL) {
		perror("fake-awtrix: calloc");
		return 1;
	}
	srv->o = o;
	srv->start_ms = fa_now_ms();
	if (o.log_path != NULL && (srv->log = fopen(o.log_path, "a")) == NULL) {
		perror(o.log_path);
		return 1;
	}

	/* No SA_RESTART: a blocked poll() or accept() must see EINTR. */
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = fa_onsig;
	if (sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1) {
		perror("fake-awtrix: sigaction");
		return 1;
	}
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);

	if ((s = socket(AF_INET, SOCK_STREAM, 0)) == -1) {
		perror("fake-awtrix: socket");
		return 1;
	}
	(void)setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)o.port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(s, 16) == -1 ||
	    getsockname(s, (struct sockaddr *)&sin, &slen) == -1) {
		perror("fake-awtrix: bind/listen");
		return 1;
	}
	printf("port %u\n", (unsigned)ntohs(sin.sin_port));
	fflush(stdout);

	pfd.fd = s;
	pfd.events = POLLIN;
	while (!fa_stop) {
		/* The timeout bounds the check-then-block signal race. */
		if (poll(&pfd, 1, 500) <= 0)
			continue;
		if ((fd = accept(s, NULL, NULL)) == -1) {
			if (errno != EINTR && errno != ECONNABORTED &&
			    errno != EAGAIN) {
				perror("fake-awtrix: accept");
				fa_sleep_ms(100);	/* EMFILE: back off */
			}
			continue;
		}
		/* Header and body are two send()s: do not let Nagle wait. */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		fa_serve(srv, fd);
		close(fd);
		if (o.max_requests > 0 && srv->served >= o.max_requests)
			break;
	}
	close(s);
	if (srv->log != NULL)
		fclose(srv->log);
	free(srv);
	return 0;
}
