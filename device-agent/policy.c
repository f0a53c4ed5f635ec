/*
 * Keys that make the clock reach beyond itself.  AWTRIX 3's notify JSON
 * has "clients": the clock POSTs the same notification, without
 * authentication, to every host listed (../shared/awtrix-api.md §3.1), so
 * the holder of a token could make the clock talk to other machines of the
 * owner's LAN.  No other key of the HTTP API names a host (the button
 * callback lives in /dev.json, which the API does not write).  Refused
 * with 400 unless the agent runs with --allow-lan-clients.
 *
 * Only JSON bodies are looked at, at the top level and in the objects of a
 * top-level array (a custom app array); a body that does not parse is the
 * device's to refuse (500 ErrorParsingJson).
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "device.h"
#include "policy.h"

static const char *const policy_lan_keys[] = { "clients" };

/* The first refused key of the object ${o}, or NULL. */
static const char *
policy_object_key(json_object *o)
{
	json_object *v;
	size_t i;

	if (!json_object_is_type(o, json_type_object))
		return (NULL);
	for (i = 0; i < sizeof(policy_lan_keys) / sizeof(policy_lan_keys[0]);
	    i++)
		if (json_object_object_get_ex(o, policy_lan_keys[i], &v))
			return (policy_lan_keys[i]);
	return (NULL);
}

/* The first refused key in the body ${p} of ${len} bytes, or NULL. */
static const char *
policy_body_key(const uint8_t *p, size_t len)
{
	struct json_tokener *tok;
	json_object *root;
	const char *key = NULL;
	size_t i, n;

	if (len == 0 || len > RELAY_BODY_MAX ||
	    (tok = json_tokener_new()) == NULL)
		return (NULL);
	root = json_tokener_parse_ex(tok, (const char *)p, (int)len);
	if (root != NULL && json_tokener_get_error(tok) == json_tokener_success) {
		if (json_object_is_type(root, json_type_array)) {
			n = json_object_array_length(root);
			for (i = 0; i < n && key == NULL; i++)
				key = policy_object_key(
				    json_object_array_get_idx(root, i));
		} else
			key = policy_object_key(root);
	}
	json_object_put(root);
	json_tokener_free(tok);
	return (key);
}

/**
 * policy_refuse(cfg, req, ans, buf, cap):
 * If ${req} must not reach the device under ${cfg}, fill ${ans} with the
 * agent's own 400 bad_request answer (a JSON body in ${buf} of ${cap}
 * bytes, naming the refused key) and return 1; else return 0.
 */
int
policy_refuse(const struct device_config *cfg,
    const struct relay_request *req, struct relay_answer *ans, char *buf,
    size_t cap)
{
	const char *key;
	int n;

	if (cfg->allow_lan_clients || req->method != RELAY_POST ||
	    (key = policy_body_key(req->body, req->body_len)) == NULL)
		return (0);
	n = snprintf(buf, cap, "{\"error\":\"bad_request\",\"message\":"
	    "\"the key \\\"%s\\\" makes the clock contact other hosts; the "
	    "owner's agent refuses it (awtrix-agent --allow-lan-clients "
	    "allows it)\"}\n", key);
	if (n < 0 || (size_t)n >= cap)
		n = 0;
	memset(ans, 0, sizeof(*ans));
	ans->outcome = RELAY_DEVICE;
	ans->status = 400;
	ans->ctype = "application/json";
	ans->ctype_len = strlen(ans->ctype);
	ans->body = (const uint8_t *)buf;
	ans->body_len = (size_t)n;
	return (1);
}
