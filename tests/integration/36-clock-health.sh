#!/bin/bash
# Goal: clock health, separate from agent health.  The clock is switched off
# and on while the agent runs (probe interval 1 s): while it is off, a
# request is answered 502 device_unreachable by the broker at once (the
# agent never tries the clock for it); once it is back, 200 again; with no
# agent, 404 device_offline; an agent older than the CLOCK message still
# works.  `awtrix-token status` tells each state, with
# the firmware version from /api/stats, and its exit status says which
# side is missing.
. "$(dirname "$0")/../lib.sh"

start_fake fake
F=$FAKE_PORT
start_broker
start_agent a "http://127.0.0.1:$F/api/" --probe-interval 1
wait_for agent_connected a
TOKEN=$(token_of a)
NOTIFY='{"text":"health"}'

# status_is CODE: `awtrix-token status` exits CODE; its output in $T/st.
status_is() {
	"$BIN/awtrix-token" --state "$T/a" status >"$T/st" 2>&1
	[ $? = "$1" ]
}
says() { grep -qx -- "$1" "$T/st" || { sed 's/^/#   /' "$T/st" >&2; return 1; }; }
tries() { grep -c 'device call.* failed' "$T/a.log" 2>/dev/null || true; }

# --- everything up ---------------------------------------------------------
check "status: exit 0 once the first probe is in" wait_for status_is 0
check "...agent: running" says "agent: running"
check "...broker: connected" says "broker: connected"
check "...clock: reachable, with the firmware version of /api/stats" \
    says "clock: reachable (firmware 0.98)"
cgi POST "mode=notify&token=$TOKEN" "$NOTIFY" application/json
check "a request reaches the clock: 200" is_status 200

# --- the clock is switched off ------------------------------------------------
kill "$FAKE_PID"
wait "$FAKE_PID" 2>/dev/null
check "status: exit 4 once a probe finds the clock gone" wait_for status_is 4
check "...clock: not reachable" says "clock: not reachable"
check "...broker: still connected" says "broker: connected"
n=$(tries)
cgi POST "mode=notify&token=$TOKEN" "$NOTIFY" application/json
check "a request now: 502 device_unreachable" is_status 502 device_unreachable
check "...answered by the broker: the agent did not try the clock" \
    test "$(tries)" = "$n"
check "...the broker counts it" \
    sh -c "[ \"\$(\"$BIN/awtrix-broker\" stats --socket '$BROKER_SOCK' |
    sed -n 's/.*\"device_unreachable\":\([0-9]*\).*/\1/p')\" -ge 1 ]"

# --- and on again, on the same port -----------------------------------------
spawn fake-again "$TBIN/fake-awtrix" --port "$F" --log "$T/fake.requests"
FAKE_AGAIN=$LASTPID
check "status: exit 0 again within the probe interval" wait_for status_is 0
check "...clock: reachable (firmware 0.98)" says "clock: reachable (firmware 0.98)"
cgi POST "mode=notify&token=$TOKEN" "$NOTIFY" application/json
check "a request reaches the clock again: 200" is_status 200
check "...and the clock got it" reached 'POST /api/notify .*health'

# --- no broker: the agent runs, the clock answers ---------------------------------
kill "$BROKER_PID"
wait "$BROKER_PID" 2>/dev/null
check "status without the broker: exit 3" wait_for status_is 3
check "...broker: not connected" says "broker: not connected"
check "...clock: still reachable" says "clock: reachable (firmware 0.98)"

# --- the broker back ------------------------------------------------------------
start_broker
# The agent's backoff after a few failed attempts: up to 8 s, with jitter.
for k in 1 2 3; do
	wait_for log_count_ge "$T/a.log" "device registered" 2 && break
done
check "the agent is back on the new broker" wait_for status_is 0

# --- an agent older than LM_CLOCK keeps working ------------------------------------
kill "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
n=$(grep_count "device registered" "$T/a.log")
AWTRIX_AGENT_NO_CLOCK=1 start_agent a "http://127.0.0.1:$F/api/" --probe-interval 1
wait_for log_count_ge "$T/a.log" "device registered" $((n + 1))
cgi POST "mode=notify&token=$TOKEN" '{"text":"old agent"}' application/json
check "an agent that never sends CLOCK: 200" is_status 200
check "...and the clock got it" reached 'POST /api/notify .*old agent'
n=$(grep_count "the clock does not answer" "$T/a.log")
kill "$FAKE_AGAIN"
wait "$FAKE_AGAIN" 2>/dev/null
wait_for log_count_ge "$T/a.log" "the clock does not answer" $((n + 1))
n=$(tries)
cgi POST "mode=notify&token=$TOKEN" "$NOTIFY" application/json
check "...clock off: still 502 device_unreachable, from the agent's own try" \
    sh -c "[ '$STATUS' = 502 ] && [ \"\$(grep -c 'device call.* failed' '$T/a.log')\" -gt '$n' ]"

# --- no agent -------------------------------------------------------------------
kill "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
cgi POST "mode=notify&token=$TOKEN" "$NOTIFY" application/json
check "no agent: 404 device_offline (not device_unreachable)" \
    is_status 404 device_offline
check "status without the agent: exit 1" status_is 1
check "...agent: not running" says "agent: not running"
