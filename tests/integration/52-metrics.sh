# Goal: /metrics and /healthz of awtrix-cloud.fcgi (as CGI) in front of the
# real broker, agents and fake AWTRIX.  After traffic of every outcome the
# exposition passes two real parsers (promtool check metrics, and
# prometheus_client's text parser), every outcome and FastCGI refusal is
# counted, the histogram adds up, no label carries a token or an address,
# /healthz is 200 with the broker and 503 without, and the alert rules of
# docs/operations.md pass promtool check rules.
. "$(dirname "$0")/../lib.sh"

PROMTOOL=$(command -v promtool || echo /usr/bin/promtool)
PY=/usr/bin/python3
if [ ! -x "$PROMTOOL" ] || ! "$PY" -c 'import prometheus_client' 2>/dev/null; then
	not_ok "promtool and python3-prometheus-client are installed (scripts/deps test)"
	exit 1
fi

# path PATH [METHOD]: run the program as CGI for PATH, as the web server
# routes it (SCRIPT_NAME); STATUS, $T/resp.h and $T/resp.b as for cgi.
path() {
	env -i PATH="$PATH" GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD="${2:-GET}" \
	    SCRIPT_NAME="$1" REQUEST_URI="$1" QUERY_STRING= \
	    AWTRIX_BROKER_SOCKET="${BROKER_SOCK:-$T/nobroker.sock}" \
	    "${VG[@]}" "$BIN/awtrix-cloud.fcgi" </dev/null >"$T/resp" 2>>"$T/cgi.log"
	sed -n '1,/^\r\{0,1\}$/p' "$T/resp" | tr -d '\r' >"$T/resp.h"
	sed '1,/^\r\{0,1\}$/d' "$T/resp" >"$T/resp.b"
	STATUS=$(sed -n 's/^Status: \([0-9]*\).*/\1/p' "$T/resp.h")
}

# value SERIES: the sample value of the exact series name{labels} in the
# last /metrics body.
value() { awk -v s="$1" '$1 == s { print $2 }' "$T/metrics.txt"; }

path /healthz
check "/healthz without a broker: 503" test "$STATUS" = 503
path /metrics
check "/metrics without a broker: 503 (Prometheus sees the target down)" \
    test "$STATUS" = 503

export AWTRIX_BROKER_RATE=0.2 AWTRIX_BROKER_BURST=3 AWTRIX_BROKER_DEADLINE_MS=1000
start_fake fake
start_broker
start_agent a "http://127.0.0.1:$FAKE_PORT/api/" --deny power
wait_for agent_connected a
TOKEN=$(token_of a)

path /healthz
check "/healthz with the broker: 200 ok" \
    eval 'test "$STATUS" = 200 && test "$(cat "$T/resp.b")" = ok'
path /healthz POST
check "POST /healthz: 405 with Allow: GET, HEAD" \
    eval 'test "$STATUS" = 405 && grep -q "^Allow: GET, HEAD$" "$T/resp.h"'

# --- traffic of every outcome --------------------------------------------------
cgi POST "mode=notify&token=$TOKEN" '{"text":"m"}' application/json	# 200
cgi POST "mode=notify&token=$TOKEN" '' application/json		# device 500
cgi POST "mode=power&token=$TOKEN" '{"power":false}' application/json	# 403
for i in 1 2 3; do cgi POST "mode=notify&token=$TOKEN" '{"text":"f"}' application/json; done
check "a flood gets 429 (rate limited at the broker)" is_status 429 rate_limited
cgi POST "mode=notify&token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" '{"text":"x"}' application/json
check "unknown token: 404" is_status 404 device_offline
cgi POST "mode=notify" '{"text":"x"}' application/json			# 400, local
cgi DELETE "mode=notify&token=$TOKEN"					# 405, local
cgi POST "mode=notify&token=$TOKEN" "$(head -c 20000 /dev/zero | tr '\0' a)" text/plain	# 413
check "an oversized body: 413 (answered by the program itself)" is_status 413
stop "$AGENT_PID" >/dev/null
start_agent b "http://127.0.0.1:9/api/"					# 502
wait_for agent_connected b
TOKEN_B=$(token_of b)
cgi POST "mode=notify&token=$TOKEN_B" '{"text":"x"}' application/json
check "device down: 502" is_status 502 device_unreachable
stop "$AGENT_PID" >/dev/null
FAKE=slow; start_fake slow --delay-ms 2500
start_agent c "http://127.0.0.1:$FAKE_PORT/api/"				# 504
wait_for agent_connected c
cgi POST "mode=notify&token=$(token_of c)" '{"text":"slow"}' application/json
check "slow device: 504" is_status 504 device_timeout

# --- the exposition ---------------------------------------------------------------
path /metrics
check "/metrics: 200" test "$STATUS" = 200
check "/metrics: Content-Type text/plain; version=0.0.4" \
    grep -q '^Content-Type: text/plain; version=0.0.4' "$T/resp.h"
cp "$T/resp.b" "$T/metrics.txt"
check "promtool check metrics accepts it (no lint problem either)" eval '
    "$PROMTOOL" check metrics <"$T/metrics.txt" >"$T/promtool.out" 2>&1 ||
    { sed "s/^/#   /" "$T/promtool.out" >&2; false; }'
check "prometheus_client's parser reads every family" eval '
    "$PY" - "$T/metrics.txt" >"$T/parsed.out" 2>&1 <<PYEOF || { sed "s/^/#   /" "$T/parsed.out" >&2; false; }
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
need = {"awtrix_requests": "counter", "awtrix_request_duration_seconds": "histogram",
        "awtrix_handshakes": "counter", "awtrix_fcgi_refused": "counter",
        "awtrix_build_info": "gauge", "process_cpu_seconds": "counter",
        "awtrix_devices_connected": "gauge"}
for n, t in need.items():
    assert n in fams, n
    assert fams[n].type == t, (n, fams[n].type)
print(len(fams), "families")
PYEOF'
HEAD_N=$(grep -c . "$T/metrics.txt")
echo "# /metrics: $HEAD_N lines, $(wc -c <"$T/metrics.txt") bytes"
check "device answers counted by status class: 2xx and 5xx" eval '
    test "$(value "awtrix_requests_total{code=\"2xx\",slug=\"ok\"}")" -ge 1 &&
    test "$(value "awtrix_requests_total{code=\"5xx\",slug=\"ok\"}")" -ge 1'
for s in 4xx:mode_not_allowed 4xx:rate_limited 4xx:device_offline \
    5xx:device_unreachable 5xx:device_timeout; do
	check "outcome ${s#*:} counted with code ${s%%:*}" test \
	    "$(value "awtrix_requests_total{code=\"${s%%:*}\",slug=\"${s#*:}\"}")" -ge 1
done
for c in 400 405 413; do
	check "FastCGI refusal $c counted" \
	    test "$(value "awtrix_fcgi_refused_total{code=\"$c\"}")" -ge 1
done
check "handshakes counted" test "$(value 'awtrix_handshakes_total{result="ok"}')" -ge 3
check "the histogram's +Inf bucket equals its count" test \
    "$(value 'awtrix_request_duration_seconds_bucket{le="+Inf"}')" = \
    "$(value awtrix_request_duration_seconds_count)"
check "the 504 is in the histogram at the deadline (not under 0.5 s)" test \
    "$(value 'awtrix_request_duration_seconds_bucket{le="0.5"}')" -lt \
    "$(value awtrix_request_duration_seconds_count)"
check "build info names the version" grep -q '^awtrix_build_info{version="[0-9.]*"} 1$' "$T/metrics.txt"
check "no label carries a token or an address" eval '
    ! grep -e "$TOKEN" -e "$TOKEN_B" -e 127.0.0.1 "$T/metrics.txt" &&
    ! grep -o "{[^}]*}" "$T/metrics.txt" | grep -v -E "^\{((code|slug|result|le|version)=\"[A-Za-z0-9_.+]*\",?)*\}$"'
path /metrics HEAD
check "HEAD /metrics: headers only" eval 'test "$STATUS" = 200 && ! [ -s "$T/resp.b" ]'

# --- the alert rules of docs/operations.md --------------------------------------
sed -n '/^# BEGIN awtrix-cloud.rules.yml/,/^# END awtrix-cloud.rules.yml/p' \
    "$ROOT/docs/operations.md" | sed '1d;$d' >"$T/rules.yml"
check "docs/operations.md has three alert rules" test "$(grep -c -- '- alert:' "$T/rules.yml")" -ge 3
check "promtool check rules accepts them" eval '
    "$PROMTOOL" check rules "$T/rules.yml" >"$T/rules.out" 2>&1 ||
    { sed "s/^/#   /" "$T/rules.out" >&2; false; }'

stop "$BROKER_PID" >/dev/null
path /healthz
check "/healthz after the broker stopped: 503" test "$STATUS" = 503
check "the program logged no token" eval '! grep -q -e "$TOKEN" "$T"/*.log'
