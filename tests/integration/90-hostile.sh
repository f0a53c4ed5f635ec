# Goal: hostile agents and hostile clients (issue 10).  Anyone can run a
# modified agent (tests/tools/hostile-agent.c, built on lib/) and open TCP
# connections to the broker; the relay stays safe and fair.  The seven
# cases, each by name, through the real broker, awtrix-cloud.fcgi (as CGI)
# and agent; case 1 also runs through lighttpd and Apache in 40-lighttpd.sh
# and 41-apache.sh.  The floods assert outcomes, never timings (the figures
# are in docs/security.md).
. "$(dirname "$0")/../lib.sh"

HA=$TBIN/hostile-agent
# The per-token rate limit is not under test here.
export AWTRIX_BROKER_RATE=100000 AWTRIX_BROKER_BURST=100000
export AWTRIX_BROKER_LOG_WINDOW_MS=4000

# restart_broker [FLAGS...]: stop the broker and start a fresh one (new key,
# new database) with the environment of the caller.
restart_broker() {
	[ -n "${BROKER_PID:-}" ] && stop "$BROKER_PID" >/dev/null
	mv "$T/broker.log" "$T/broker.$(date +%s%N).old" 2>/dev/null
	rm -rf "$T/broker"
	unset BROKER_PORT
	start_broker "$@"
}

# hostile NAME MODE ARGS...: a hostile agent with identity $T/NAME; waits
# until it is registered and sets HTOKEN to its token.
hostile() {
	name=$1; mode=$2; shift 2
	spawn "$name" "$HA" "$mode" "127.0.0.1:$BROKER_PORT" "$BROKER_PUB" \
	    "$T/$name" "$@"
	wait_for grep -q registered "$T/$name.out"
	HTOKEN=$(cat "$T/$name.token")
}

# cgi_to FILE METHOD QUERY BODY: like cgi, in the background-safe FILE.
cgi_to() {
	printf '%s' "$4" >"$1.body"
	env -i PATH="$PATH" GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD="$2" \
	    QUERY_STRING="$3" CONTENT_TYPE=application/json \
	    CONTENT_LENGTH="$(wc -c <"$1.body")" SCRIPT_NAME=/cloud \
	    AWTRIX_BROKER_SOCKET="$BROKER_SOCK" \
	    "$BIN/awtrix-cloud.fcgi" <"$1.body" >"$1" 2>>"$T/cgi.log"
}
not_reached() { ! reached "$1"; }
# wait_long COND...: wait_for up to 30 s (an agent's backoff after restarts).
wait_long() { wait_for "$@" || wait_for "$@" || wait_for "$@"; }
status_of() { sed -n 's/^Status: \([0-9]*\).*/\1/p' "$1" | head -n 1; }

start_fake fake
start_broker
start_agent a "http://127.0.0.1:$FAKE_PORT/api/"
wait_for agent_connected a
TOKEN=$(token_of a)
NOTIFY='{"text":"hello"}'

# --- 1. An agent writes the relay's HTTP response ------------------------------
HTTP302=$(printf 'HTTP/1.1 302 Found\r\nLocation: https://evil.test/\r\nSet-Cookie: sid=attacker; Path=/\r\nContent-Length: 0\r\n\r\n')
hostile h100 answer 100 text/plain "$HTTP302"
cgi POST "mode=notify&token=$HTOKEN" "$NOTIFY" application/json
check "1 answer rules: device status 100 with an HTTP response body: 502" \
    is_status 502 device_unreachable
check "1 answer rules: ...no Set-Cookie, no Location, not the attacker's body" \
    sh -c "! grep -qi -e '^Set-Cookie' -e '^Location' '$T/resp.h' && \
    ! grep -q attacker '$T/resp.b'"
cgi POST "mode=notify&token=$HTOKEN" "$NOTIFY" application/json
check "1 answer rules: ...and the link stays up: the next request is 502 too, not 404" \
    is_status 502 device_unreachable

hostile hhtml answer 200 text/html '<script>alert(document.cookie)</script>'
cgi POST "mode=notify&token=$HTOKEN" "$NOTIFY" application/json
check "1 answer rules: 200 text/html with a script: 502" is_status 502 device_unreachable
check "1 answer rules: ...the script is not served" sh -c "! grep -q script '$T/resp.b'"

hostile hcrlf answer 200 "$(printf 'text/plain\r\nSet-Cookie: sid=attacker')" 'OK'
cgi POST "mode=notify&token=$HTOKEN" "$NOTIFY" application/json
check "1 answer rules: a content type with CR LF and a header: 502" \
    is_status 502 device_unreachable
check "1 answer rules: ...no Set-Cookie" sh -c "! grep -qi '^Set-Cookie' '$T/resp.h'"

hostile h700 answer 700 application/json '{}'
cgi POST "mode=notify&token=$HTOKEN" "$NOTIFY" application/json
check "1 answer rules: device status 700: 502 (not 504)" is_status 502 device_unreachable

hostile hoff outcome 1
cgi POST "mode=notify&token=$HTOKEN" "$NOTIFY" application/json
check "1 answer rules: an agent may not say 'device offline': 502" \
    is_status 502 device_unreachable
hostile hbusy outcome 6
cgi POST "mode=notify&token=$HTOKEN" "$NOTIFY" application/json
check "1 answer rules: an agent may not say 'relay unavailable': 502" \
    is_status 502 device_unreachable

hostile hok answer 201 'Application/JSON; charset=utf-8' '{"ok":true}'
cgi POST "mode=notify&token=$HTOKEN" "$NOTIFY" application/json
check "1 answer rules: 201 Application/JSON; charset=utf-8 is passed on" is_status 201
check "1 answer rules: ...with its content type and body" \
    sh -c "test \"\$(sed -n 's/^Content-Type: //Ip' '$T/resp.h')\" = \
    'Application/JSON; charset=utf-8' && grep -q '\"ok\":true' '$T/resp.b'"
check "1 answer rules: ...with X-Content-Type-Options: nosniff" \
    test "$(header X-Content-Type-Options)" = nosniff
check "1 answer rules: ...and Content-Security-Policy: default-src 'none'; sandbox" \
    test "$(header Content-Security-Policy)" = "default-src 'none'; sandbox"
cgi POST "mode=notify&token=$TOKEN" "$NOTIFY" application/json
check "1 answer rules: a genuine device's answer has the same headers" \
    sh -c "test '$STATUS' = 200 && grep -qi '^X-Content-Type-Options: nosniff' \
    '$T/resp.h' && grep -qi \"^Content-Security-Policy: default-src 'none'; sandbox\" '$T/resp.h'"

# A frame that fails to decrypt closes the link: its request gets 502, and
# the device is offline afterwards (until its agent reconnects).
hostile hgarbage garbage
cgi POST "mode=notify&token=$HTOKEN" "$NOTIFY" application/json
check "1 answer rules: a frame that fails to decrypt: 502 at once, not 504" \
    is_status 502 device_unreachable
cgi POST "mode=notify&token=$HTOKEN" "$NOTIFY" application/json
check "1 answer rules: ...and that link is closed (404 offline)" is_status 404 device_offline
check "1 answer rules: refused answers are counted (answers_refused)" \
    test "$(broker_stat answers_refused)" -ge 7
cgi POST "mode=notify&token=$TOKEN" "$NOTIFY" application/json
check "1 answer rules: the genuine device still answers 200" is_status 200

# --- 3. One unanswered device does not starve everyone -------------------------
hostile mute mute
MUTE=$HTOKEN
i=0
MUTE_PIDS=""
while [ $i -lt 24 ]; do
	cgi_to "$T/mute.$i" POST "mode=notify&token=$MUTE" "$NOTIFY" &
	MUTE_PIDS="$MUTE_PIDS $!"
	i=$((i + 1))
done
sleep 1
others=0
t0=$(date +%s%N)
for n in 1 2 3 4; do
	cgi_to "$T/other.$n" POST "mode=notify&token=$TOKEN" "{\"text\":\"other $n\"}"
	[ "$(status_of "$T/other.$n")" = 200 ] && others=$((others + 1))
done
echo "# 4 notifications to another device during the mute flood: $(( ($(date +%s%N) - t0) / 1000000 )) ms in all (figure, not asserted)"
check "3 fairness: 24 callers on a mute agent, other devices still get 200 (4 of 4)" \
    test $others = 4
for p in $MUTE_PIDS; do wait "$p"; done
n429=0; n504=0; n502=0
for i in $(seq 0 23); do
	case $(status_of "$T/mute.$i") in
	429) n429=$((n429 + 1)) ;;
	502) n502=$((n502 + 1)) ;;
	504) n504=$((n504 + 1)) ;;
	esac
done
# At most 4 in flight; the third time-out in a row starts the cool-off
# with up to 3 more still in flight: at most 6 time-outs, however slowly
# the callers arrive (the rest 429 at once, or 502 once cooling off).
check "3 fairness: the mute device holds at most 4 requests in flight (504: $n504, 429: $n429, 502: $n502)" \
    test $n504 -le 6 -a $((n429 + n504 + n502)) = 24
check "3 fairness: ...after 3 consecutive time-outs it cools off (cooloffs)" \
    test "$(broker_stat cooloffs)" -ge 1
t0=$(date +%s%N)
cgi POST "mode=notify&token=$MUTE" "$NOTIFY" application/json
echo "# a request to the cooling-off device: answered in $(( ($(date +%s%N) - t0) / 1000000 )) ms (figure, not asserted)"
check "3 fairness: ...and its new requests are answered 502 at once" \
    is_status 502 device_unreachable
check "3 fairness: ...without holding a slot" test "$(broker_stat requests_in_flight)" = 0

# --- 7. The clock does not reach beyond itself --------------------------------
cgi POST "mode=notify&token=$TOKEN" '{"text":"x","clients":["192.168.1.20"]}' application/json
check "7 clients: notify with \"clients\" is refused with 400 bad_request" \
    is_status 400 bad_request
check "7 clients: ...the message names the key" grep -q '\\"clients\\"' "$T/resp.b"
check "7 clients: ...and it never reached the device" not_reached clients
cgi POST "mode=custom&name=app&token=$TOKEN" '[{"text":"a"},{"text":"b","clients":["h"]}]' application/json
check "7 clients: ...also inside a custom app array" is_status 400 bad_request
cgi POST "mode=notify&token=$TOKEN" '{"text":"no clients here"}' application/json
check "7 clients: a notification without it still works" is_status 200
start_agent lan "http://127.0.0.1:$FAKE_PORT/api/" --allow-lan-clients
wait_for agent_connected lan
cgi POST "mode=notify&token=$(token_of lan)" '{"text":"y","clients":["192.168.1.21"]}' application/json
check "7 clients: with --allow-lan-clients the owner lets it through" is_status 200
check "7 clients: ...to the device" reached '192.168.1.21'

# --- 5. The agent trusts nothing it prints or stores ---------------------------
"$BIN/awtrix-broker" keygen "$T/fake.key" >/dev/null
FAKE_PUB=$("$BIN/awtrix-broker" pubkey "$T/fake.key")
ESC=$(printf '\033')
# fake_broker_agent NAME URL: an agent NAME welcomed by a fake broker with URL.
fake_broker_agent() {
	spawn "fb-$1" "$HA" fake-broker 0 "$T/fake.key" "$2"
	FB_PID=$LASTPID
	wait_for grep -q '^port ' "$T/fb-$1.out"
	spawn "$1" "$BIN/awtrix-agent" --broker "127.0.0.1:$(sed -n 's/^port //p' "$T/fb-$1.out")" \
	    --broker-key "$FAKE_PUB" --state "$T/$1" --target "http://127.0.0.1:$FAKE_PORT/api/"
	wait_for agent_connected "$1"
}
fake_broker_agent esc "https://cloud.test/${ESC}]0;owned${ESC}\\${ESC}[2J/cloud"
check "5 url: a public URL with ESC bytes is refused with a log line" \
    wait_for grep -q "public URL .* refused, not stored" "$T/esc.log"
check "5 url: ...and not stored" test ! -e "$T/esc/public-url"
"$BIN/awtrix-token" --state "$T/esc" url >"$T/url.out" 2>&1
check "5 url: ...awtrix-token url says there is none" test $? = 1
fake_broker_agent plain "http://evil.test/cloud"
check "5 url: http:// to a host that is not loopback is refused" \
    wait_for grep -q "refused, not stored" "$T/plain.log"
fake_broker_agent good "https://cloud.test/cloud"
wait_for test -e "$T/good/public-url"
check "5 url: an https URL is stored and printed" \
    sh -c "'$BIN/awtrix-token' --state '$T/good' url | grep -q '^https://cloud.test/cloud?mode=notify&token='"
printf 'https://cloud.test/\033[2J\n' >"$T/good/public-url"
"$BIN/awtrix-token" --state "$T/good" url >"$T/url.out" 2>&1
rc=$?
check "5 url: awtrix-token never prints control bytes from the state dir" \
    sh -c "test $rc = 1 && ! grep -q '$ESC' '$T/url.out'"

# --- 4. Registration floods ----------------------------------------------------
for bad in 0 -3 abc 1x; do
	"$BIN/awtrix-broker" serve --key "$T/fake.key" --db "$T/x.db" --socket "$T/x.sock" \
	    --listen 127.0.0.1:1 --max-devices "$bad" 2>"$T/flag.err"
	rc=$?
	check "4 registration: --max-devices $bad exits 2 naming the flag" \
	    sh -c "test $rc = 2 && grep -q -- '--max-devices' '$T/flag.err'"
done
stop "$AGENT_PID" >/dev/null
# Refills so slow that no registration comes back during a step, however
# slow the machine (valgrind): outcomes, not timings.
export AWTRIX_BROKER_SRC_REG_BURST=10 AWTRIX_BROKER_REG_BURST=1000 \
    AWTRIX_BROKER_SRC_REG_RATE=0.00001 AWTRIX_BROKER_REG_RATE=0.00001
restart_broker
start_agent own "http://127.0.0.1:$FAKE_PORT/api/"
OWN_PID=$AGENT_PID
wait_for agent_connected own
"$HA" flood-register "127.0.0.1:$BROKER_PORT" "$BROKER_PUB" 30 >"$T/flood1.out"
check "4 registration: 30 fresh keys from one address: 9 bound, 21 told to retry later (busy)" \
    grep -q '^ok 9 busy 21 full 0 other 0$' "$T/flood1.out"
check "4 registration: ...counted (registrations_busy)" test "$(broker_stat registrations_busy)" = 21
"$BIN/awtrix-token" --state "$T/own" regenerate >"$T/own-regen.out" 2>"$T/own-regen.err"
rc=$?
check "4 registration: the owner's rotation is not refused during the flood" test $rc = 0
[ $rc = 0 ] || sed 's/^/#   /' "$T/own-regen.err" "$T/own.log" | tail -n 12
stop "$OWN_PID" >/dev/null
start_agent own "http://127.0.0.1:$FAKE_PORT/api/"
check "4 registration: ...nor its reconnection (a known device key)" \
    wait_long log_count_ge "$T/own.log" "device registered" 2
cgi POST "mode=notify&token=$(token_of own)" "$NOTIFY" application/json
check "4 registration: ...which routes (200)" is_status 200
export AWTRIX_BROKER_SRC_REG_BURST=1000 AWTRIX_BROKER_REG_BURST=5
stop "$BROKER_PID" >/dev/null
start_broker --max-devices 1000
"$HA" flood-register "127.0.0.1:$BROKER_PORT" "$BROKER_PUB" 10 >"$T/flood2.out"
check "4 registration: the overall bucket (5) holds when the source's does not" \
    grep -q '^ok 5 busy 5 full 0 other 0$' "$T/flood2.out"
stop "$BROKER_PID" >/dev/null
export AWTRIX_BROKER_REG_BURST=1000
nreg=$(grep -c "device registered" "$T/own.log")
start_broker --max-devices 18
check "4 registration: the broker counts its bindings at start (devices_bound)" \
    test "$(broker_stat devices_bound)" = 15
"$HA" flood-register "127.0.0.1:$BROKER_PORT" "$BROKER_PUB" 5 >"$T/flood3.out"
check "4 registration: --max-devices 18: 3 more bound, then refused as full" \
    grep -q '^ok 3 busy 0 full 2 other 0$' "$T/flood3.out"
check "4 registration: ...with the documented WELCOME result" \
    grep -q "registration refused: the broker is full" "$T/broker.log"
wait_long log_count_ge "$T/own.log" "device registered" $((nreg + 1))
cgi POST "mode=notify&token=$(token_of own)" "$NOTIFY" application/json
check "4 registration: a known device reconnects to a full broker (200)" is_status 200

# --- 2. Silent connections do not lock out new agents --------------------------
# --- 6. ...and the log summarises repeated events -------------------------------
# Production defaults for handshakes (16 per source, message 1 within 1.5 s);
# 100 known devices first, then the same 100 re-register (like after a
# broker restart) while 5,000 silent connections are re-opened as fast as
# the broker closes them.
export AWTRIX_BROKER_MAX_SRC_HANDSHAKES=16 AWTRIX_BROKER_SRC_REG_BURST=1000000 \
    AWTRIX_BROKER_REG_BURST=1000000
stop "$BROKER_PID" >/dev/null
restart_broker
mkdir -p "$T/genuine"
"$HA" register-many "127.0.0.1:$BROKER_PORT" "$BROKER_PUB" "$T/genuine" 100 >"$T/reg0.out"
check "2 silent: 100 genuine devices registered before the flood" \
    grep -q '^ok 100 of 100' "$T/reg0.out"
for variant in "127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5 127.0.0.6 127.0.0.7 127.0.0.8 127.0.0.9" 127.0.0.1; do
	# shellcheck disable=SC2086
	spawn flood "$HA" silent-flood "127.0.0.1:$BROKER_PORT" "$BROKER_PUB" 5000 25 $variant
	FLOOD_PID=$LASTPID
	sleep 4
	"$HA" register-many "127.0.0.1:$BROKER_PORT" "$BROKER_PUB" "$T/genuine" 100 >"$T/reg.out"
	echo "# flood from $variant: $(cat "$T/reg.out"); stats: handshakes_evicted=$(broker_stat handshakes_evicted)"
	ok100=$(sed -n 's/^ok \([0-9]*\) of.*/\1/p' "$T/reg.out")
	check "2 silent: 5,000 silent connections from ${variant%% *}...: >= 99 of 100 genuine registrations complete" \
	    test "${ok100:-0}" -ge 99
	stop "$FLOOD_PID" >/dev/null
done
check "2 silent: the broker evicted silent handshakes (handshakes_evicted)" \
    test "$(broker_stat handshakes_evicted)" -gt 1000
failed=$(broker_stat handshakes_failed)
sleep 5	# one more summary window (AWTRIX_BROKER_LOG_WINDOW_MS=4000) and sweep
lines=$(grep -c 'session closed: \(handshake\|no handshake\)' "$T/broker.log")
check "6 log: $failed failed handshakes, at most a few lines per window ($lines)" \
    test "$lines" -le 40
check "6 log: ...and a summary line with the count" \
    grep -q 'more failed or evicted handshakes in the last' "$T/broker.log"
check "6 log: ...which holds no address" \
    sh -c "! grep -v 'serving: agents on' '$T/broker.log' | grep -q '127\.0\.0\.'"
