/*
 * AWTRIX 2 -> AWTRIX 3, after awtrix-api.md 3.2-3.4.  Bodies are parsed and
 * written with json-c; the output keeps the order of the input's keys, so
 * that what the clock receives is predictable byte for byte.  The fate of
 * every AWTRIX 2 key is listed in docs/http-api.md.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "translate.h"

#define TR_NAME_MAX 64
#define TR_BMP_MAX (32 * 8)

typedef struct json_object jo;

/* Keys of AWTRIX 3's /api/settings (awtrix-api.md 1.2). */
static const char *const tr_settings3[] = {
	"MATP", "ABRI", "BRI", "ATRANS", "TCOL", "TEFF", "TSPEED", "ATIME",
	"TMODE", "CHCOL", "CTCOL", "CBCOL", "TFORMAT", "DFORMAT", "SOM", "CEL",
	"BLOCKN", "MAT", "SOUND", "GAMMA", "UPPERCASE", "CCORRECTION", "CTEMP",
	"WD", "WDCA", "WDCI", "TIME_COL", "DATE_COL", "HUM_COL", "TEMP_COL",
	"BAT_COL", "SSPEED", "TIM", "DAT", "HUM", "TEMP", "BAT", "VOL",
	"OVERLAY", NULL
};

/* Notification keys that only AWTRIX 2 knows: one of them makes a notify
 * body an AWTRIX 2 body (3.2, 3.3). */
static const char *const tr_notify2[] = {
	"force", "multiColorText", "fallingText", "name", "moveIcon",
	"repeatIcon", "count", "soundfile", "progressColor",
	"progressBackground", "barchart", "linechart", "yeelight", "icon2",
	"icon3", "icon4", "remove", NULL
};

static int
tr_in(const char *const *list, const char *key)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, key) == 0)
			return (1);
	return (0);
}

/* Append ${key} to the note of dropped keys ("a,b,..."), printable only. */
static void
tr_drop(struct translate_out *out, const char *key)
{
	size_t off = strlen(out->note), cap = sizeof(out->note);
	const char *k;

	if (off >= 3 && strcmp(out->note + off - 3, "...") == 0)
		return;
	if (off + strlen(key) + 2 + 4 > cap) {
		snprintf(out->note + off, cap - off, "%s...", off ? "," : "");
		return;
	}
	if (off > 0)
		out->note[off++] = ',';
	for (k = key; *k != '\0'; k++)
		out->note[off++] = ((unsigned char)*k >= 0x20 &&
		    (unsigned char)*k < 0x7f && *k != ',') ? *k : '?';
	out->note[off] = '\0';
}

/* Refuse the request: ${out->note} is the reason (keys made printable). */
static int
tr_refuse(struct translate_out *out, const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	vsnprintf(out->note, sizeof(out->note), fmt, ap);
	va_end(ap);
	for (p = out->note; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	return (TRANSLATE_REFUSED);
}

/* An integer in [lo, hi]: a JSON integer, or a string of digits (the
 * AWTRIX 2 host took settings as strings). */
static int
tr_int(jo *v, long lo, long hi, long *out)
{
	const char *s;
	char *end;
	long n;

	if (json_object_is_type(v, json_type_int)) {
		int64_t i = json_object_get_int64(v);

		if (i < lo || i > hi)
			return (-1);
		*out = (long)i;
		return (0);
	}
	if (!json_object_is_type(v, json_type_string))
		return (-1);
	s = json_object_get_string(v);
	if (*s < '0' || *s > '9' || strlen(s) > 9)
		return (-1);
	n = strtol(s, &end, 10);
	if (*end != '\0' || n < lo || n > hi)
		return (-1);
	*out = n;
	return (0);
}

/* An app name that may go into a query string unencoded. */
static int
tr_name_ok(jo *v)
{
	const char *s;
	size_t i, n;

	if (!json_object_is_type(v, json_type_string))
		return (0);
	s = json_object_get_string(v);
	n = strlen(s);
	if (n == 0 || n > TR_NAME_MAX)
		return (0);
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' &&
		    s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '_' || s[i] == '-'))
			return (0);
	return (1);
}

/* Add ${v} to ${o} under ${key}, taking a reference.  0 or -1. */
static int
tr_put(jo *o, const char *key, jo *v)
{
	if (v == NULL)
		return (-1);
	return (json_object_object_add(o, key, v));
}

static int
tr_keep(jo *o, const char *key, jo *v)
{
	return (json_object_object_add(o, key, json_object_get(v)));
}

/* [r,g,b] with each in 0..255. */
static int
tr_rgb(jo *v, long rgb[3])
{
	size_t i;

	if (!json_object_is_type(v, json_type_array) ||
	    json_object_array_length(v) != 3)
		return (-1);
	for (i = 0; i < 3; i++)
		if (tr_int(json_object_array_get_idx(v, i), 0, 255, &rgb[i]))
			return (-1);
	return (0);
}

/* The body's JSON object, or NULL (not JSON, not an object, too deep). */
static jo *
tr_parse(const struct relay_request *req)
{
	struct json_tokener *tok;
	jo *o;

	if (req->body_len == 0 || req->body_len > RELAY_BODY_MAX)
		return (NULL);
	if ((tok = json_tokener_new_ex(TRANSLATE_DEPTH)) == NULL)
		return (NULL);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, (const char *)req->body,
	    (int)req->body_len);
	if (o != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != req->body_len ||
	    !json_object_is_type(o, json_type_object))) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return (o);
}

/* Serialise ${o} into ${out->body}: TRANSLATE_REWRITTEN, TRANSLATE_REFUSED
 * (larger than a relay body: a drawing grows), or -1 (memory). */
static int
tr_emit(struct translate_out *out, jo *o)
{
	const char *s;
	size_t n;

	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s == NULL)
		return (-1);
	if ((n = strlen(s)) > RELAY_BODY_MAX)
		return (tr_refuse(out, "the AWTRIX 3 translation would be "
		    "larger than %d bytes", RELAY_BODY_MAX));
	if ((out->body = malloc(n + 1)) == NULL)
		return (-1);
	memcpy(out->body, s, n + 1);
	out->body_len = n;
	return (TRANSLATE_REWRITTEN);
}

/* The refusal in the relay's error shape (design 4). */
static int
tr_error_body(struct translate_out *out)
{
	jo *o;
	int rc = -1;

	if ((o = json_object_new_object()) == NULL)
		return (-1);
	if (tr_put(o, "error", json_object_new_string("bad_request")) == 0 &&
	    tr_put(o, "message", json_object_new_string(out->note)) == 0)
		rc = tr_emit(out, o) == TRANSLATE_REWRITTEN ? 0 : -1;
	json_object_put(o);
	return (rc);
}

static void
tr_target(struct translate_out *out, uint8_t method, const char *mode)
{
	out->method = method;
	snprintf(out->mode, sizeof(out->mode), "%s", mode);
}

/* multiColorText [{"text","color":[r,g,b]}] -> [{"t","c":"RRGGBB"}]. */
static int
tr_fragments(struct translate_out *out, jo *dst, jo *v)
{
	jo *arr, *frag, *el, *t, *c;
	char hex[8];
	long rgb[3];
	size_t i;

	if (!json_object_is_type(v, json_type_array))
		return (tr_refuse(out, "AWTRIX 2 key \"multiColorText\" must "
		    "be an array of {\"text\",\"color\"}"));
	if ((arr = json_object_new_array()) == NULL ||
	    json_object_object_add(dst, "text", arr))
		return (-1);
	for (i = 0; i < json_object_array_length(v); i++) {
		el = json_object_array_get_idx(v, i);
		if (!json_object_is_type(el, json_type_object) ||
		    !json_object_object_get_ex(el, "text", &t) ||
		    !json_object_is_type(t, json_type_string))
			return (tr_refuse(out, "AWTRIX 2 key \"multiColorText\" "
			    "needs a \"text\" string in every element"));
		if ((frag = json_object_new_object()) == NULL ||
		    json_object_array_add(arr, frag) || tr_keep(frag, "t", t))
			return (-1);
		if (!json_object_object_get_ex(el, "color", &c))
			continue;
		if (tr_rgb(c, rgb))
			return (tr_refuse(out, "AWTRIX 2 key \"multiColorText\": "
			    "a color must be [r,g,b]"));
		snprintf(hex, sizeof(hex), "%02lX%02lX%02lX", rgb[0], rgb[1],
		    rgb[2]);
		if (tr_put(frag, "c", json_object_new_string(hex)))
			return (-1);
	}
	return (0);
}

/*
 * The notification keys of ${in} into ${dst} (3.4 "Notify keys"); ${app}
 * for a temporary app (custom), where force, name and lifetime mean
 * something else.  0, TRANSLATE_REFUSED or -1.
 */
static int
tr_notify_keys(struct translate_out *out, jo *in, jo *dst, int app)
{
	jo *v, *mct = NULL;
	long n;
	char snd[8];
	int move = 0, rep = 0, rc;

	if (json_object_object_get_ex(in, "moveIcon", &v))
		move = json_object_get_boolean(v);
	if (json_object_object_get_ex(in, "repeatIcon", &v))
		rep = json_object_get_boolean(v);
	json_object_object_get_ex(in, "multiColorText", &mct);
	json_object_object_foreach(in, key, val) {
		if (strcmp(key, "force") == 0) {
			if (app)
				tr_drop(out, key);
			else if (json_object_get_boolean(val) &&
			    tr_put(dst, "stack", json_object_new_boolean(0)))
				return (-1);
			/* force:false is AWTRIX 3's default (stack:true). */
		} else if (strcmp(key, "moveIcon") == 0) {
			if (move && tr_put(dst, "pushIcon",
			    json_object_new_int(rep ? 2 : 1)))
				return (-1);
		} else if (strcmp(key, "repeatIcon") == 0) {
			/* Folded into pushIcon; alone it did nothing. */
		} else if (strcmp(key, "count") == 0) {
			if (!json_object_object_get_ex(in, "repeat", &v) &&
			    tr_keep(dst, "repeat", val))
				return (-1);
		} else if (strcmp(key, "icon") == 0) {
			if (json_object_is_type(val, json_type_int)) {
				if (tr_put(dst, "icon", json_object_new_string(
				    json_object_get_string(val))))
					return (-1);
			} else if (tr_keep(dst, "icon", val))
				return (-1);
		} else if (strcmp(key, "scrollSpeed") == 0) {
			if (tr_int(val, 1, 100000, &n))
				return (tr_refuse(out, "AWTRIX 2 key "
				    "\"scrollSpeed\" must be milliseconds > 0"));
			/* 65 ms per step is AWTRIX 3's 100 %. */
			n = (6500 + n / 2) / n;
			if (tr_put(dst, "scrollSpeed",
			    json_object_new_int(n < 1 ? 1 : (int)n)))
				return (-1);
		} else if (strcmp(key, "soundfile") == 0) {
			if (tr_int(val, 1, 9999, &n))
				return (tr_refuse(out, "AWTRIX 2 key "
				    "\"soundfile\" must be 1..9999"));
			snprintf(snd, sizeof(snd), "%04ld", n);
			if (tr_put(dst, "sound", json_object_new_string(snd)))
				return (-1);
		} else if (strcmp(key, "progressColor") == 0) {
			if (tr_keep(dst, "progressC", val))
				return (-1);
		} else if (strcmp(key, "progressBackground") == 0) {
			if (tr_keep(dst, "progressBC", val))
				return (-1);
		} else if (strcmp(key, "barchart") == 0) {
			if (tr_keep(dst, "bar", val))
				return (-1);
		} else if (strcmp(key, "linechart") == 0) {
			if (tr_keep(dst, "line", val))
				return (-1);
		} else if (strcmp(key, "multiColorText") == 0) {
			if ((rc = tr_fragments(out, dst, val)) != 0)
				return (rc);
		} else if (strcmp(key, "text") == 0) {
			if (mct != NULL)
				tr_drop(out, key);	/* multiColorText wins */
			else if (tr_keep(dst, key, val))
				return (-1);
		} else if (strcmp(key, "fallingText") == 0 ||
		    strcmp(key, "yeelight") == 0 || strcmp(key, "icon2") == 0 ||
		    strcmp(key, "icon3") == 0 || strcmp(key, "icon4") == 0 ||
		    (!app && strcmp(key, "name") == 0)) {
			tr_drop(out, key);
		} else if (strcmp(key, "remove") == 0) {
			return (tr_refuse(out, "AWTRIX 2 key \"remove\" has no "
			    "AWTRIX 3 equivalent for a notification"));
		} else if (app && (strcmp(key, "name") == 0 ||
		    strcmp(key, "lifetime") == 0)) {
			/* In the query and below. */
		} else if (tr_keep(dst, key, val))
			return (-1);	/* same name in both, or AWTRIX 3's */
	}
	return (0);
}

static int
tr_notify(struct translate_out *out, jo *in)
{
	jo *dst;
	int rc = TRANSLATE_PASS;

	json_object_object_foreach(in, key, val) {
		(void)val;
		if (tr_in(tr_notify2, key))
			rc = TRANSLATE_REWRITTEN;
	}
	if (rc == TRANSLATE_PASS)
		return (rc);
	if ((dst = json_object_new_object()) == NULL)
		return (-1);
	tr_target(out, RELAY_POST, "notify");
	if ((rc = tr_notify_keys(out, in, dst, 0)) == 0)
		rc = tr_emit(out, dst);
	json_object_put(dst);
	return (rc);
}

/* temporaryapp -> /api/custom?name=NAME; {"remove":NAME} -> an empty body,
 * which deletes the app. */
static int
tr_tempapp(struct translate_out *out, jo *in)
{
	jo *dst, *name, *v;
	long loops;
	int rc;

	if (json_object_object_get_ex(in, "remove", &name)) {
		if (!tr_name_ok(name))
			return (tr_refuse(out, "AWTRIX 2 key \"remove\" must be "
			    "an app name of [A-Za-z0-9_-]{1,%d}", TR_NAME_MAX));
		if (json_object_object_length(in) != 1)
			return (tr_refuse(out, "AWTRIX 2 key \"remove\" takes no "
			    "other key"));
		tr_target(out, RELAY_POST, "custom");
		snprintf(out->query, sizeof(out->query), "name=%s",
		    json_object_get_string(name));
		return (TRANSLATE_REWRITTEN);
	}
	if (!json_object_object_get_ex(in, "name", &name) || !tr_name_ok(name))
		return (tr_refuse(out, "AWTRIX 2 key \"name\" is required: an "
		    "app name of [A-Za-z0-9_-]{1,%d}", TR_NAME_MAX));
	if (!json_object_object_get_ex(in, "lifetime", &v) ||
	    tr_int(v, 1, 100000, &loops))
		return (tr_refuse(out, "AWTRIX 2 key \"lifetime\" is required: "
		    "1..100000 loops"));
	if ((dst = json_object_new_object()) == NULL)
		return (-1);
	tr_target(out, RELAY_POST, "custom");
	snprintf(out->query, sizeof(out->query), "name=%s",
	    json_object_get_string(name));
	if ((rc = tr_notify_keys(out, in, dst, 1)) == 0) {
		rc = -1;
		/* AWTRIX 2 counts loops, AWTRIX 3 seconds: an estimate. */
		if (tr_put(dst, "lifetime",
		    json_object_new_int64((int64_t)loops * TRANSLATE_LOOP_S)) == 0)
			rc = tr_emit(out, dst);
	}
	json_object_put(dst);
	return (rc);
}

/* settings: Brightness 0-100 -> BRI 0-255; AWTRIX 3 keys kept; other
 * keys dropped; nothing left -> refused. */
static int
tr_settings(struct translate_out *out, jo *in)
{
	jo *dst;
	long n;
	int rc = TRANSLATE_PASS;

	json_object_object_foreach(in, k0, v0) {
		(void)v0;
		if (!tr_in(tr_settings3, k0))
			rc = TRANSLATE_REWRITTEN;
	}
	if (rc == TRANSLATE_PASS)
		return (rc);
	if ((dst = json_object_new_object()) == NULL)
		return (-1);
	tr_target(out, RELAY_POST, "settings");
	json_object_object_foreach(in, key, val) {
		if (strcmp(key, "Brightness") == 0) {
			if (tr_int(val, 0, 100, &n)) {
				rc = tr_refuse(out, "AWTRIX 2 key \"Brightness\" "
				    "must be 0..100");
				goto out;
			}
			if (tr_put(dst, "BRI", json_object_new_int(
			    (int)((n * 255 + 50) / 100)))) {
				rc = -1;
				goto out;
			}
		} else if (tr_in(tr_settings3, key)) {
			if (tr_keep(dst, key, val)) {
				rc = -1;
				goto out;
			}
		} else
			tr_drop(out, key);
	}
	if (json_object_object_length(dst) == 0) {
		char dropped[TRANSLATE_NOTE_MAX];

		snprintf(dropped, sizeof(dropped), "%s", out->note);
		rc = tr_refuse(out, "AWTRIX 2 settings without an AWTRIX 3 "
		    "equivalent: %s", dropped);
		goto out;
	}
	rc = tr_emit(out, dst);
out:
	json_object_put(dst);
	return (rc);
}

/* One basics command becomes one AWTRIX 3 call (3.4 "Endpoints"). */
static int
tr_basics(struct translate_out *out, jo *in)
{
	static const char *const refused[] = { "showAnimation", "play",
	    "timer", "stopwatch", "yeelight", "appList", NULL };
	static const char *const commands[] = { "power", "switchTo", "app",
	    "get", "soundfile", "enable", "disable", NULL };
	const char *cmd = NULL, *s;
	jo *dst = NULL, *v = NULL, *arr, *el;
	char snd[8];
	long n;
	int rc = -1;

	json_object_object_foreach(in, key, val) {
		if (tr_in(refused, key))
			return (tr_refuse(out, "AWTRIX 2 basics \"%s\" has no "
			    "AWTRIX 3 equivalent", key));
		if (!tr_in(commands, key))
			continue;
		if (cmd != NULL)
			return (tr_refuse(out, "one AWTRIX 2 basics command at "
			    "a time (\"%s\", \"%s\")", cmd, key));
		cmd = key;
		v = val;
	}
	if (cmd == NULL)
		return (tr_refuse(out, "no AWTRIX 2 basics command (power, "
		    "switchTo, app, get, soundfile, enable, disable)"));
	json_object_object_foreach(in, k2, v2) {
		(void)v2;
		if (strcmp(k2, cmd) != 0)
			tr_drop(out, k2);
	}
	if ((dst = json_object_new_object()) == NULL)
		return (-1);
	if (strcmp(cmd, "power") == 0) {
		if (!json_object_is_type(v, json_type_boolean)) {
			rc = tr_refuse(out, "AWTRIX 2 basics \"power\" must be "
			    "true or false");
			goto out;
		}
		tr_target(out, RELAY_POST, "power");
		if (tr_keep(dst, "power", v))
			goto out;
	} else if (strcmp(cmd, "switchTo") == 0) {
		if (!json_object_is_type(v, json_type_string)) {
			rc = tr_refuse(out, "AWTRIX 2 basics \"switchTo\" must "
			    "be an app name");
			goto out;
		}
		tr_target(out, RELAY_POST, "switch");
		if (tr_keep(dst, "name", v))
			goto out;
	} else if (strcmp(cmd, "app") == 0 || strcmp(cmd, "get") == 0) {
		s = json_object_is_type(v, json_type_string) ?
		    json_object_get_string(v) : "";
		if (strcmp(cmd, "app") == 0 && strcmp(s, "next") == 0)
			tr_target(out, RELAY_POST, "nextapp");
		else if (strcmp(cmd, "app") == 0 && strcmp(s, "back") == 0)
			tr_target(out, RELAY_POST, "previousapp");
		else if (strcmp(cmd, "get") == 0 && (strcmp(s, "version") == 0 ||
		    strcmp(s, "uptime") == 0))
			tr_target(out, RELAY_GET, "stats");
		else {
			rc = tr_refuse(out, "AWTRIX 2 basics \"%s\" has no AWTRIX "
			    "3 equivalent for this value", cmd);
			goto out;
		}
		/* No body: the call itself is the command. */
		rc = TRANSLATE_REWRITTEN;
		goto out;
	} else if (strcmp(cmd, "soundfile") == 0) {
		if (tr_int(v, 1, 9999, &n)) {
			rc = tr_refuse(out, "AWTRIX 2 basics \"soundfile\" must "
			    "be 1..9999");
			goto out;
		}
		snprintf(snd, sizeof(snd), "%04ld", n);
		tr_target(out, RELAY_POST, "sound");
		if (tr_put(dst, "sound", json_object_new_string(snd)))
			goto out;
	} else {
		/* enable/disable an app: /api/apps [{"name","show"}]
		 * (an inference: no source states it). */
		if (!json_object_is_type(v, json_type_string)) {
			rc = tr_refuse(out, "AWTRIX 2 basics \"%s\" must be an "
			    "app name", cmd);
			goto out;
		}
		tr_target(out, RELAY_POST, "apps");
		json_object_put(dst);
		if ((dst = json_object_new_array()) == NULL ||
		    (el = json_object_new_object()) == NULL)
			goto out;
		arr = dst;
		if (json_object_array_add(arr, el) || tr_keep(el, "name", v) ||
		    tr_put(el, "show", json_object_new_boolean(
		    strcmp(cmd, "enable") == 0)))
			goto out;
	}
	rc = tr_emit(out, dst);
out:
	json_object_put(dst);
	return (rc);
}

/* An array of ${n} integers in [lo, hi]. */
static int
tr_ints(jo *v, size_t n, long lo, long hi, long *out)
{
	size_t i;

	if (!json_object_is_type(v, json_type_array) ||
	    json_object_array_length(v) != n)
		return (-1);
	for (i = 0; i < n; i++)
		if (tr_int(json_object_array_get_idx(v, i), lo, hi, &out[i]))
			return (-1);
	return (0);
}

static int
tr_add_ints(jo *arr, const long *v, size_t n)
{
	size_t i;

	jo *e;

	for (i = 0; i < n; i++) {
		if ((e = json_object_new_int64(v[i])) == NULL)
			return (-1);
		if (json_object_array_add(arr, e)) {
			json_object_put(e);
			return (-1);
		}
	}
	return (0);
}

/* RGB565 -> 0xRRGGBB, each channel scaled to 0..255. */
static long
tr_rgb888(long v)
{
	long r = (v >> 11) & 31, g = (v >> 5) & 63, b = v & 31;

	return (((r * 255 + 15) / 31) << 16 | ((g * 255 + 31) / 63) << 8 |
	    ((b * 255 + 15) / 31));
}

/*
 * One AWTRIX 2 draw command -> one AWTRIX 3 command appended to ${cmds}
 * (or nothing: show, exit; wait adds to ${wait_ms}; clear empties the
 * list).  0, TRANSLATE_REFUSED or -1.
 */
static int
tr_draw_cmd(struct translate_out *out, jo **cmds, jo *c, long *wait_ms)
{
	static const long full[4] = { 0, 0, 32, 8 };
	jo *v, *args, *cmd, *col, *data, *pix;
	long pos[2] = { 0, 0 }, xy[4], rgb[3] = { 255, 255, 255 }, n, p;
	const char *type, *name;
	size_t i;

	if (!json_object_is_type(c, json_type_object) ||
	    !json_object_object_get_ex(c, "type", &v) ||
	    !json_object_is_type(v, json_type_string))
		return (tr_refuse(out, "AWTRIX 2 draw: every command needs a "
		    "\"type\""));
	type = json_object_get_string(v);
	if (strcmp(type, "show") == 0 || strcmp(type, "exit") == 0)
		return (0);
	if (strcmp(type, "wait") == 0) {
		if (!json_object_object_get_ex(c, "ms", &v) ||
		    tr_int(v, 0, 600000, &n))
			return (tr_refuse(out, "AWTRIX 2 draw \"wait\" needs "
			    "\"ms\" 0..600000"));
		*wait_ms += n;
		if (strstr(out->note, "draw:wait") == NULL)
			tr_drop(out, "draw:wait");
		return (0);
	}
	if (strcmp(type, "clear") == 0) {
		json_object_put(*cmds);
		return ((*cmds = json_object_new_array()) == NULL ? -1 : 0);
	}
	if (json_object_object_get_ex(c, "color", &v) && tr_rgb(v, rgb))
		return (tr_refuse(out, "AWTRIX 2 draw \"%s\": \"color\" must "
		    "be [r,g,b]", type));
	if (json_object_object_get_ex(c, "position", &v) &&
	    tr_ints(v, 2, -1000, 1000, pos))
		return (tr_refuse(out, "AWTRIX 2 draw \"%s\": \"position\" must "
		    "be [x,y]", type));
	if ((args = json_object_new_array()) == NULL)
		return (-1);
	if ((cmd = json_object_new_object()) == NULL ||
	    json_object_array_add(*cmds, cmd)) {
		json_object_put(cmd);
		json_object_put(args);
		return (-1);
	}
	if (strcmp(type, "fill") == 0) {
		name = "df";
		if (tr_add_ints(args, full, 4))
			goto fail;
	} else if (strcmp(type, "pixel") == 0) {
		name = "dp";
		if (tr_add_ints(args, pos, 2))
			goto fail;
	} else if (strcmp(type, "text") == 0) {
		name = "dt";
		if (!json_object_object_get_ex(c, "string", &v) ||
		    !json_object_is_type(v, json_type_string)) {
			json_object_put(args);
			return (tr_refuse(out, "AWTRIX 2 draw \"text\" needs "
			    "\"string\""));
		}
		if (tr_add_ints(args, pos, 2) ||
		    json_object_array_add(args, json_object_get(v)))
			goto fail;
	} else if (strcmp(type, "rect") == 0 || strcmp(type, "bmp") == 0) {
		name = type[0] == 'r' ? "dr" : "db";
		if (!json_object_object_get_ex(c, "size", &v) ||
		    tr_ints(v, 2, 0, 32, xy)) {
			json_object_put(args);
			return (tr_refuse(out, "AWTRIX 2 draw \"%s\" needs "
			    "\"size\" [w,h] up to 32", type));
		}
		if (tr_add_ints(args, pos, 2) || tr_add_ints(args, xy, 2))
			goto fail;
		if (name[1] == 'b') {
			n = xy[0] * xy[1];
			if (!json_object_object_get_ex(c, "data", &data) ||
			    !json_object_is_type(data, json_type_array) ||
			    json_object_array_length(data) != (size_t)n ||
			    n > TR_BMP_MAX) {
				json_object_put(args);
				return (tr_refuse(out, "AWTRIX 2 draw \"bmp\" "
				    "needs \"data\": w*h RGB565 values"));
			}
			if ((pix = json_object_new_array()) == NULL ||
			    json_object_array_add(args, pix))
				goto fail;
			for (i = 0; i < (size_t)n; i++) {
				if (tr_int(json_object_array_get_idx(data, i),
				    0, 65535, &p)) {
					json_object_put(args);
					return (tr_refuse(out, "AWTRIX 2 draw "
					    "\"bmp\": data must be 0..65535"));
				}
				p = tr_rgb888(p);
				if (tr_add_ints(pix, &p, 1))
					goto fail;
			}
			/* db has no colour. */
			goto done;
		}
	} else if (strcmp(type, "line") == 0) {
		name = "dl";
		if (!json_object_object_get_ex(c, "start", &v) ||
		    tr_ints(v, 2, -1000, 1000, xy) ||
		    !json_object_object_get_ex(c, "end", &v) ||
		    tr_ints(v, 2, -1000, 1000, xy + 2)) {
			json_object_put(args);
			return (tr_refuse(out, "AWTRIX 2 draw \"line\" needs "
			    "\"start\" and \"end\" [x,y]"));
		}
		if (tr_add_ints(args, xy, 4))
			goto fail;
	} else if (strcmp(type, "circle") == 0) {
		name = "dc";
		if (!json_object_object_get_ex(c, "radius", &v) ||
		    tr_int(v, 0, 32, &n)) {
			json_object_put(args);
			return (tr_refuse(out, "AWTRIX 2 draw \"circle\" needs "
			    "\"radius\" 0..32"));
		}
		if (tr_add_ints(args, pos, 2) || tr_add_ints(args, &n, 1))
			goto fail;
	} else {
		json_object_put(args);
		return (tr_refuse(out, "AWTRIX 2 draw type \"%s\" is unknown",
		    type));
	}
	if ((col = json_object_new_array()) == NULL ||
	    json_object_array_add(args, col) || tr_add_ints(col, rgb, 3))
		goto fail;
done:
	if (json_object_object_add(cmd, name, args))
		goto fail;
	return (0);
fail:
	json_object_put(args);
	return (-1);
}

/* draw -> a notify that carries AWTRIX 3 draw commands, shown at once;
 * the frames of an animation collapse into the last one. */
static int
tr_draw(struct translate_out *out, jo *in)
{
	jo *dst, *cmds, *list;
	long wait_ms = 0;
	size_t i;
	int rc;

	if (!json_object_object_get_ex(in, "draw", &list) ||
	    !json_object_is_type(list, json_type_array))
		return (tr_refuse(out, "AWTRIX 2 draw needs a \"draw\" array"));
	json_object_object_foreach(in, key, val) {
		(void)val;
		if (strcmp(key, "draw") != 0)
			tr_drop(out, key);	/* repeat, loop, ... */
	}
	if ((dst = json_object_new_object()) == NULL)
		return (-1);
	if ((cmds = json_object_new_array()) == NULL) {
		json_object_put(dst);
		return (-1);
	}
	for (i = 0; i < json_object_array_length(list); i++) {
		rc = tr_draw_cmd(out, &cmds,
		    json_object_array_get_idx(list, i), &wait_ms);
		if (rc != 0) {
			json_object_put(cmds);
			json_object_put(dst);
			return (rc);
		}
	}
	rc = -1;
	tr_target(out, RELAY_POST, "notify");
	if (json_object_object_add(dst, "draw", cmds) == 0 &&
	    tr_put(dst, "stack", json_object_new_boolean(0)) == 0 &&
	    (wait_ms == 0 || tr_put(dst, "duration",
	    json_object_new_int64((wait_ms + 999) / 1000)) == 0))
		rc = tr_emit(out, dst);
	json_object_put(dst);
	return (rc);
}

/**
 * translate_awtrix2(req, out):
 * Translate the AWTRIX 2 request ${req} for an AWTRIX 3 clock into ${out}
 * (which the caller frees with translate_out_free in every case).  Return
 * TRANSLATE_PASS, TRANSLATE_REWRITTEN (${out->note} lists the dropped keys,
 * comma-separated, or is empty), TRANSLATE_REFUSED (${out->note} is the
 * reason, naming the key, and ${out->body} the JSON error body
 * {"error":"bad_request","message":...}), or -1 if memory ran out.
 */
int
translate_awtrix2(const struct relay_request *req, struct translate_out *out)
{
	static const char *const modes[] = { "basics", "draw", "temporaryapp",
	    "notify", "settings", NULL };
	char mode[RELAY_MODE_MAX + 1];
	jo *in;
	int rc;

	memset(out, 0, sizeof(*out));
	if (req->mode_len > RELAY_MODE_MAX)
		return (TRANSLATE_PASS);
	memcpy(mode, req->mode, req->mode_len);
	mode[req->mode_len] = '\0';
	if (!tr_in(modes, mode))
		return (TRANSLATE_PASS);
	/* AWTRIX 3's own notify and settings: only their bodies tell. */
	if ((strcmp(mode, "notify") == 0 || strcmp(mode, "settings") == 0) &&
	    (req->method != RELAY_POST || req->query_len != 0))
		return (TRANSLATE_PASS);
	if ((in = tr_parse(req)) == NULL) {
		if (strcmp(mode, "notify") == 0 || strcmp(mode, "settings") == 0)
			return (TRANSLATE_PASS);	/* the clock answers */
		rc = tr_refuse(out, "AWTRIX 2 %s needs a JSON object body "
		    "(POST)", mode);
	} else if (strcmp(mode, "basics") == 0)
		rc = tr_basics(out, in);
	else if (strcmp(mode, "draw") == 0)
		rc = tr_draw(out, in);
	else if (strcmp(mode, "temporaryapp") == 0)
		rc = tr_tempapp(out, in);
	else if (strcmp(mode, "settings") == 0)
		rc = tr_settings(out, in);
	else
		rc = tr_notify(out, in);
	json_object_put(in);
	if (rc != TRANSLATE_REWRITTEN) {
		free(out->body);
		out->body = NULL;
		out->body_len = 0;
		if (rc == TRANSLATE_PASS)
			out->note[0] = '\0';
	}
	if (rc == TRANSLATE_REFUSED && tr_error_body(out))
		rc = -1;
	return (rc);
}

/**
 * translate_out_free(out):
 * Free what ${out} holds and clear it.
 */
void
translate_out_free(struct translate_out *out)
{
	free(out->body);
	memset(out, 0, sizeof(*out));
}

/**
 * translate_generation(target):
 * The AWTRIX generation that the --target URL prefix ${target} suggests:
 * 2 if it ends in "/api/v3/" (the AWTRIX 2 host), else 3.
 */
int
translate_generation(const char *target)
{
	size_t n = strlen(target);

	if (n >= 8 && strcmp(target + n - 8, "/api/v3/") == 0)
		return (2);
	if (n >= 7 && strcmp(target + n - 7, "/api/v3") == 0)
		return (2);
	return (3);
}
