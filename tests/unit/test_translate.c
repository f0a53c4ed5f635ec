/*
 * device-agent/translate.c: AWTRIX 2 requests for an AWTRIX 3 clock
 * (awtrix-api.md 3.4, docs/http-api.md).  Each case gives the request and
 * the exact call and JSON the clock must get, or the refusal.  The agent's
 * sources are not in libawtrix.a, so translate.c is included here.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../device-agent/translate.c"

static struct translate_out out;

static int
run(const char *mode, uint8_t method, const char *query, const char *body)
{
	struct relay_request req;

	memset(&req, 0, sizeof(req));
	req.method = method;
	req.mode = mode;
	req.mode_len = strlen(mode);
	req.query = query;
	req.query_len = strlen(query);
	req.ctype = "application/json";
	req.ctype_len = 16;
	req.body = (const uint8_t *)body;
	req.body_len = strlen(body);
	translate_out_free(&out);
	return (translate_awtrix2(&req, &out));
}

static int
post(const char *mode, const char *body)
{
	return (run(mode, RELAY_POST, "", body));
}

/* The request became MODE?QUERY with exactly BODY ("" for none). */
static void
expect(uint8_t method, const char *mode, const char *query, const char *body)
{
	assert_int_equal(out.method, method);
	assert_string_equal(out.mode, mode);
	assert_string_equal(out.query, query);
	if (*body == '\0')
		assert_int_equal(out.body_len, 0);
	else {
		assert_non_null(out.body);
		assert_int_equal(out.body_len, strlen(body));
		assert_string_equal(out.body, body);
	}
}

static void
refused(const char *mode, const char *body, const char *key)
{
	assert_int_equal(post(mode, body), TRANSLATE_REFUSED);
	assert_non_null(strstr(out.note, key));
	assert_non_null(out.body);
	assert_true(strncmp(out.body, "{\"error\":\"bad_request\",\"message\":\"",
	    34) == 0);
}

static void
test_seed(void **state)
{
	(void)state;
	assert_int_equal(post("notify", "{\"force\":true,\"icon\":36,\"text\":"
	    "\"New mail from X\",\"color\":[255,255,255]}"),
	    TRANSLATE_REWRITTEN);
	expect(RELAY_POST, "notify", "", "{\"stack\":false,\"icon\":\"36\","
	    "\"text\":\"New mail from X\",\"color\":[255,255,255]}");
	assert_string_equal(out.note, "");
}

static void
test_pass(void **state)
{
	(void)state;
	/* AWTRIX 3 bodies, other modes, other methods: untouched. */
	assert_int_equal(post("notify", "{\"text\":\"x\",\"icon\":36}"),
	    TRANSLATE_PASS);
	assert_int_equal(post("notify", "{\"text\":\"x\",\"scrollSpeed\":50}"),
	    TRANSLATE_PASS);
	assert_int_equal(post("notify", "not json"), TRANSLATE_PASS);
	assert_int_equal(post("notify", ""), TRANSLATE_PASS);
	assert_int_equal(post("settings", "{\"BRI\":10,\"ATRANS\":true}"),
	    TRANSLATE_PASS);
	assert_int_equal(run("settings", RELAY_GET, "", ""), TRANSLATE_PASS);
	assert_int_equal(run("notify", RELAY_POST, "x=1", "{\"force\":true}"),
	    TRANSLATE_PASS);
	assert_int_equal(post("power", "{\"power\":true}"), TRANSLATE_PASS);
	assert_int_equal(post("custom", "{\"force\":true}"), TRANSLATE_PASS);
	assert_int_equal(post("customapp", "{\"ID\":1}"), TRANSLATE_PASS);
	assert_null(out.body);
	assert_string_equal(out.note, "");
}

static void
test_notify_keys(void **state)
{
	(void)state;
	assert_int_equal(post("notify", "{\"name\":\"n\",\"force\":false,"
	    "\"text\":\"Hi\",\"moveIcon\":true,\"count\":3,\"soundfile\":7,"
	    "\"scrollSpeed\":65,\"progressColor\":[1,2,3],"
	    "\"progressBackground\":[4,5,6],\"barchart\":[1],\"linechart\":[2],"
	    "\"fallingText\":true,\"icon2\":1,\"icon3\":2,\"icon4\":3,"
	    "\"yeelight\":1,\"duration\":4,\"rainbow\":true,\"progress\":9}"),
	    TRANSLATE_REWRITTEN);
	expect(RELAY_POST, "notify", "", "{\"text\":\"Hi\",\"pushIcon\":1,"
	    "\"repeat\":3,\"sound\":\"0007\",\"scrollSpeed\":100,"
	    "\"progressC\":[1,2,3],\"progressBC\":[4,5,6],\"bar\":[1],"
	    "\"line\":[2],\"duration\":4,\"rainbow\":true,\"progress\":9}");
	assert_string_equal(out.note,
	    "name,fallingText,icon2,icon3,icon4,yeelight");
	/* repeat wins over count; repeatIcon with moveIcon is pushIcon 2. */
	assert_int_equal(post("notify", "{\"count\":1,\"repeat\":2,"
	    "\"repeatIcon\":true,\"moveIcon\":true}"), TRANSLATE_REWRITTEN);
	expect(RELAY_POST, "notify", "", "{\"repeat\":2,\"pushIcon\":2}");
	/* 130 ms per step: half AWTRIX 3's default speed. */
	assert_int_equal(post("notify", "{\"force\":true,\"scrollSpeed\":130}"),
	    TRANSLATE_REWRITTEN);
	expect(RELAY_POST, "notify", "", "{\"stack\":false,\"scrollSpeed\":50}");
	refused("notify", "{\"force\":true,\"scrollSpeed\":0}", "scrollSpeed");
	refused("notify", "{\"soundfile\":\"x\"}", "soundfile");
	refused("notify", "{\"remove\":\"n\"}", "remove");
}

static void
test_multicolor(void **state)
{
	(void)state;
	assert_int_equal(post("notify", "{\"text\":\"lost\",\"multiColorText\":"
	    "[{\"text\":\"A \",\"color\":[0,255,0]},{\"text\":\"B\"}]}"),
	    TRANSLATE_REWRITTEN);
	expect(RELAY_POST, "notify", "", "{\"text\":[{\"t\":\"A \",\"c\":"
	    "\"00FF00\"},{\"t\":\"B\"}]}");
	assert_string_equal(out.note, "text");
	refused("notify", "{\"multiColorText\":[{\"color\":[1,2,3]}]}",
	    "multiColorText");
	refused("notify", "{\"multiColorText\":[{\"text\":\"x\","
	    "\"color\":[1,2,300]}]}", "multiColorText");
	refused("notify", "{\"multiColorText\":\"x\"}", "multiColorText");
}

static void
test_basics(void **state)
{
	(void)state;
	assert_int_equal(post("basics", "{\"power\":true}"),
	    TRANSLATE_REWRITTEN);
	expect(RELAY_POST, "power", "", "{\"power\":true}");
	assert_int_equal(post("basics", "{\"switchTo\":\"Time\"}"),
	    TRANSLATE_REWRITTEN);
	expect(RELAY_POST, "switch", "", "{\"name\":\"Time\"}");
	assert_int_equal(post("basics", "{\"app\":\"next\"}"),
	    TRANSLATE_REWRITTEN);
	expect(RELAY_POST, "nextapp", "", "");
	assert_int_equal(post("basics", "{\"app\":\"back\"}"),
	    TRANSLATE_REWRITTEN);
	expect(RELAY_POST, "previousapp", "", "");
	assert_int_equal(post("basics", "{\"get\":\"uptime\"}"),
	    TRANSLATE_REWRITTEN);
	expect(RELAY_GET, "stats", "", "");
	assert_int_equal(post("basics", "{\"soundfile\":\"5\"}"),
	    TRANSLATE_REWRITTEN);
	expect(RELAY_POST, "sound", "", "{\"sound\":\"0005\"}");
	assert_int_equal(post("basics", "{\"disable\":\"Date\",\"x\":1}"),
	    TRANSLATE_REWRITTEN);
	expect(RELAY_POST, "apps", "", "[{\"name\":\"Date\",\"show\":false}]");
	assert_string_equal(out.note, "x");
	refused("basics", "{\"power\":1}", "power");
	refused("basics", "{\"showAnimation\":\"random\"}", "showAnimation");
	refused("basics", "{\"timer\":\"stop\"}", "timer");
	refused("basics", "{\"app\":\"hold\"}", "app");
	refused("basics", "{\"get\":\"log\"}", "get");
	refused("basics", "{}", "command");
	refused("basics", "[1]", "JSON object");
	refused("basics", "{\"power\":true,\"app\":\"next\"}", "app");
	assert_int_equal(run("basics", RELAY_GET, "", ""), TRANSLATE_REFUSED);
}

static void
test_settings(void **state)
{
	(void)state;
	assert_int_equal(post("settings", "{\"Brightness\":0}"),
	    TRANSLATE_REWRITTEN);
	expect(RELAY_POST, "settings", "", "{\"BRI\":0}");
	assert_int_equal(post("settings", "{\"Brightness\":\"100\","
	    "\"TEFF\":2,\"Other\":1}"), TRANSLATE_REWRITTEN);
	expect(RELAY_POST, "settings", "", "{\"BRI\":255,\"TEFF\":2}");
	assert_string_equal(out.note, "Other");
	refused("settings", "{\"Brightness\":101}", "Brightness");
	refused("settings", "{\"Brightness\":-1}", "Brightness");
	refused("settings", "{\"Brightness\":50.5}", "Brightness");
	refused("settings", "{\"Foo\":1,\"Bar\":2}", "Foo,Bar");
}

static void
test_temporaryapp(void **state)
{
	(void)state;
	assert_int_equal(post("temporaryapp", "{\"name\":\"T1\",\"lifetime\":2,"
	    "\"force\":true,\"text\":\"x\",\"icon\":\"abc\"}"),
	    TRANSLATE_REWRITTEN);
	expect(RELAY_POST, "custom", "name=T1", "{\"text\":\"x\",\"icon\":"
	    "\"abc\",\"lifetime\":120}");
	assert_string_equal(out.note, "force");
	assert_int_equal(post("temporaryapp", "{\"remove\":\"T1\"}"),
	    TRANSLATE_REWRITTEN);
	expect(RELAY_POST, "custom", "name=T1", "");
	refused("temporaryapp", "{\"remove\":\"a&b\"}", "remove");
	refused("temporaryapp", "{\"remove\":\"a\",\"text\":\"b\"}", "remove");
	refused("temporaryapp", "{\"name\":\"a b\",\"lifetime\":1}", "name");
	refused("temporaryapp", "{\"name\":\"ab\",\"lifetime\":0}", "lifetime");
	refused("temporaryapp", "{\"name\":\"ab\",\"lifetime\":1,"
	    "\"remove\":\"x\"}", "remove");
}

static void
test_draw(void **state)
{
	(void)state;
	assert_int_equal(post("draw", "{\"loop\":2,\"draw\":["
	    "{\"type\":\"pixel\",\"position\":[1,2],\"color\":[3,4,5]},"
	    "{\"type\":\"wait\",\"ms\":1500},{\"type\":\"show\"},"
	    "{\"type\":\"bmp\",\"position\":[0,0],\"size\":[3,1],"
	    "\"data\":[65535,31,0]},{\"type\":\"exit\"}]}"),
	    TRANSLATE_REWRITTEN);
	expect(RELAY_POST, "notify", "", "{\"draw\":[{\"dp\":[1,2,[3,4,5]]},"
	    "{\"db\":[0,0,3,1,[16777215,255,0]]}],\"stack\":false,"
	    "\"duration\":2}");
	assert_string_equal(out.note, "loop,draw:wait");
	/* clear: what came before is gone. */
	assert_int_equal(post("draw", "{\"draw\":[{\"type\":\"fill\"},"
	    "{\"type\":\"clear\"},{\"type\":\"rect\",\"size\":[2,2]}]}"),
	    TRANSLATE_REWRITTEN);
	expect(RELAY_POST, "notify", "", "{\"draw\":[{\"dr\":[0,0,2,2,"
	    "[255,255,255]]}],\"stack\":false}");
	refused("draw", "{\"draw\":{}}", "draw");
	refused("draw", "{\"draw\":[1]}", "type");
	refused("draw", "{\"draw\":[{\"type\":\"text\"}]}", "string");
	refused("draw", "{\"draw\":[{\"type\":\"line\",\"start\":[0,0]}]}",
	    "end");
	refused("draw", "{\"draw\":[{\"type\":\"circle\"}]}", "radius");
	refused("draw", "{\"draw\":[{\"type\":\"pixel\",\"color\":\"#fff\"}]}",
	    "color");
	refused("draw", "{\"draw\":[{\"type\":\"bmp\",\"size\":[33,1],"
	    "\"data\":[]}]}", "size");
	refused("draw", "{\"draw\":[{\"type\":\"bmp\",\"size\":[1,1],"
	    "\"data\":[70000]}]}", "bmp");
}

static void
test_bounds(void **state)
{
	char body[4096], *p, *big;
	int i;

	(void)state;
	/* Deeper than TRANSLATE_DEPTH: not parsed; notify goes as it is. */
	p = body;
	p += sprintf(p, "{\"force\":true,\"x\":");
	for (i = 0; i < 40; i++)
		*p++ = '[';
	for (i = 0; i < 40; i++)
		*p++ = ']';
	strcpy(p, "}");
	assert_int_equal(post("notify", body), TRANSLATE_PASS);
	assert_int_equal(post("draw", body), TRANSLATE_REFUSED);
	/* Many dropped keys: the note stays bounded and says so. */
	p = body;
	p += sprintf(p, "{\"Brightness\":1");
	for (i = 0; i < 100; i++)
		p += sprintf(p, ",\"Key%d\":1", i);
	strcpy(p, "}");
	assert_int_equal(post("settings", body), TRANSLATE_REWRITTEN);
	assert_true(strlen(out.note) < TRANSLATE_NOTE_MAX);
	assert_non_null(strstr(out.note, "..."));
	/* Control bytes in a key do not reach the note. */
	assert_int_equal(post("settings", "{\"Brightness\":1,\"a\\nb\":1}"),
	    TRANSLATE_REWRITTEN);
	assert_string_equal(out.note, "a?b");
	/* A drawing that grows past a relay body: refused, not cut. */
	if ((big = malloc(RELAY_BODY_MAX + 1)) == NULL)
		fail();
	p = big;
	p += sprintf(p, "{\"draw\":[");
	for (i = 0; i < 3500; i++)
		p += sprintf(p, "%s{\"type\":\"pixel\"}", i ? "," : "");
	strcpy(p, "]}");
	assert_true(strlen(big) <= RELAY_BODY_MAX);
	refused("draw", big, "larger than");
	free(big);
	/* Non-ASCII in a refused name stays out of the note. */
	refused("draw", "{\"draw\":[{\"type\":\"\xc3\xa9\"}]}", "??");
	/* Trailing garbage: not one JSON text. */
	refused("basics", "{\"power\":true} x", "JSON object");
}

static void
test_generation(void **state)
{
	(void)state;
	assert_int_equal(translate_generation("http://h:7000/api/v3/"), 2);
	assert_int_equal(translate_generation("http://h:7000/api/v3"), 2);
	assert_int_equal(translate_generation("http://h/api/"), 3);
	assert_int_equal(translate_generation("http://h/"), 3);
	assert_int_equal(translate_generation(""), 3);
}

static int
teardown(void **state)
{
	(void)state;
	translate_out_free(&out);
	return (0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_seed, teardown),
		cmocka_unit_test_teardown(test_pass, teardown),
		cmocka_unit_test_teardown(test_notify_keys, teardown),
		cmocka_unit_test_teardown(test_multicolor, teardown),
		cmocka_unit_test_teardown(test_basics, teardown),
		cmocka_unit_test_teardown(test_settings, teardown),
		cmocka_unit_test_teardown(test_temporaryapp, teardown),
		cmocka_unit_test_teardown(test_draw, teardown),
		cmocka_unit_test_teardown(test_bounds, teardown),
		cmocka_unit_test_teardown(test_generation, teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
