#ifndef AGENT_POLICY_H
#define AGENT_POLICY_H

/*
 * The owner's policy on what a request may make the clock do beyond
 * itself (device-agent/policy.c).  Whoever holds the token can send any
 * body; keys that make the clock contact other hosts of the owner's LAN
 * are refused unless the owner allowed them.
 */

#include <stddef.h>

#include "relay.h"

#define POLICY_ANSWER_MAX 256

struct device_config;

/**
 * policy_refuse(cfg, req, ans, buf, cap):
 * If ${req} must not reach the device under ${cfg}, fill ${ans} with the
 * agent's own 400 bad_request answer (a JSON body in ${buf} of ${cap}
 * bytes, naming the refused key) and return 1; else return 0.
 */
int policy_refuse(const struct device_config *cfg,
    const struct relay_request *req, struct relay_answer *ans, char *buf,
    size_t cap);

#endif
