#ifndef AGENT_FLAGS_H
#define AGENT_FLAGS_H

/*
 * Checks of awtrix-agent's flags at start: a mistake there would otherwise
 * show only later, as every call failing or a retry loop that never ends.
 * Each returns 0, or -1 with ${why} set to a sentence that names what is
 * expected.
 */

/**
 * flags_target_check(target, why):
 * ${target} is http:// or https://, a host, and a path ending in '/' that
 * is not the bare root (the clock's API is under /api/ or /api/v3/).
 */
int flags_target_check(const char *target, const char **why);

/**
 * flags_deny_check(deny, why, bad, badcap):
 * Every mode of the comma-separated ${deny} is one the agent would
 * otherwise allow (a default endpoint); a mode denied already is a typo.
 * On failure the offending mode is copied into ${bad}.
 */
int flags_deny_check(const char *deny, const char **why, char *bad,
    size_t badcap);

#endif
