# Goal: the request path end to end.  The real awtrix-cloud.fcgi (as CGI),
# the real broker and agent, and a fake AWTRIX 3 that behaves like the
# firmware: every status of the HTTP contract, what reaches the device and
# what must not.
. "$(dirname "$0")/../lib.sh"

export AWTRIX_BROKER_RATE=5 AWTRIX_BROKER_BURST=30
start_fake fake
start_broker
start_agent a "http://127.0.0.1:$FAKE_PORT/api/" --deny power
wait_for agent_connected a
TOKEN=$(token_of a)
NOTIFY='{"text":"New mail from Alice","color":"#00FF00","duration":10}'

cgi POST "mode=notify&token=$TOKEN" "$NOTIFY" application/json
check "notify reaches the device: 200" is_status 200
check "the device's body is passed through" test "$(cat "$T/resp.b")" = OK
check "the device's content type is passed through" \
    sh -c "grep -qi '^Content-Type: text/plain' '$T/resp.h'"
check "the device got the JSON body as application/json" \
    reached "POST /api/notify ctype=application/json auth=no len=${#NOTIFY} body=$NOTIFY"

cgi GET "mode=stats&token=$TOKEN"
check "GET stats returns the device's JSON" is_status 200
check "stats body is the device's JSON" grep -q '"version":"0.98"' "$T/resp.b"
check "stats content type is JSON" test "$(header Content-Type)" = application/json

cgi POST "mode=custom&name=weather&token=$TOKEN" '{"text":"21C"}' application/json
check "custom with name: 200" is_status 200
check "name=... is passed on to the device" reached "POST /api/custom?name=weather "

cgi POST "mode=rtttl&token=$TOKEN" 'tetris:d=4,o=5,b=160:e6' text/plain
check "rtttl plain text: 200" is_status 200
check "plain text goes as text/plain" reached "POST /api/rtttl ctype=text/plain"

cgi POST "mode=notify" '{"text":"bearer"}' application/json "Bearer $TOKEN"
check "token in Authorization: Bearer works" is_status 200
check "bearer request reached the device" reached 'body={"text":"bearer"}'

cgi POST "mode=notify&token=$TOKEN" '{"text":"form"}' application/x-www-form-urlencoded
check "JSON sent with a form type still reaches the device" is_status 200
check "...as application/json, never a form type" \
    reached 'ctype=application/json auth=no len=15 body={"text":"form"}'
check "no request ever went as a form type" sh -c "! grep -q x-www-form '$T/fake.requests'"

cgi POST "mode=notify&token=$TOKEN" '' application/json
check "device 500 ErrorParsingJson (empty notify) is passed through" is_status 500
check "...with the device's body" test "$(cat "$T/resp.b")" = ErrorParsingJson

cgi POST "mode=notify&token=$TOKEN" '{"text":' application/json
check "invalid JSON: 400 bad_request" is_status 400 bad_request
check "invalid JSON never reaches the device" sh -c "! grep -q 'body={\"text\":$' '$T/fake.requests'"

n_before=$(wc -l <"$T/fake.requests")
cgi POST "mode=reboot&token=$TOKEN"
check "a destructive mode (reboot) is denied: 403" is_status 403 mode_not_allowed
cgi GET "mode=erase&token=$TOKEN"
check "erase is denied: 403" is_status 403 mode_not_allowed
cgi POST "mode=power&token=$TOKEN" '{"power":false}' application/json
check "--deny power: 403" is_status 403 mode_not_allowed
check "denied modes never reach the device" \
    test "$(wc -l <"$T/fake.requests")" = "$n_before"

cgi POST "mode=notify&token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "$NOTIFY" application/json
cp "$T/resp.b" "$T/unknown.b"
check "unknown token: 404 device_offline" is_status 404 device_offline
check "Cache-Control: no-store on relay errors" test "$(header Cache-Control)" = no-store
check "relay errors are JSON" test "$(header Content-Type)" = application/json

# --- rotation -------------------------------------------------------------
"$BIN/awtrix-token" --state "$T/a" regenerate >/dev/null 2>&1
NEW=$(token_of a)
cgi POST "mode=notify&token=$TOKEN" '{"text":"old"}' application/json
check "right after regenerate the old token gets 404" is_status 404 device_offline
check "...the same body as an unknown token" cmp -s "$T/resp.b" "$T/unknown.b"
cgi POST "mode=notify&token=$NEW" '{"text":"new"}' application/json
check "the new token reaches the device" is_status 200
check "the old token's request never reached the device" \
    sh -c "! grep -q 'body={\"text\":\"old\"}' '$T/fake.requests'"
TOKEN=$NEW

# --- a known but disconnected device -----------------------------------------
stop "$AGENT_PID" >/dev/null
wait_for stat_is devices_connected 0
cgi POST "mode=notify&token=$TOKEN" '{"text":"x"}' application/json
check "known token, agent offline: 404 device_offline" is_status 404 device_offline
check "...indistinguishable from an unknown token" cmp -s "$T/resp.b" "$T/unknown.b"

# --- device down: 502 -----------------------------------------------------------
start_agent a "http://127.0.0.1:9/api/"
wait_for stat_is devices_connected 1
cgi POST "mode=notify&token=$TOKEN" '{"text":"x"}' application/json
check "device unreachable: 502 device_unreachable" is_status 502 device_unreachable
stop "$AGENT_PID" >/dev/null

# --- device answer over the cap: 502 -----------------------------------------------
FAKE=big; start_fake big --big-body 70000
start_agent a "http://127.0.0.1:$FAKE_PORT/api/"
wait_for stat_is devices_connected 1
cgi GET "mode=stats&token=$TOKEN"
check "device answer larger than the cap: 502" is_status 502 device_unreachable
stop "$AGENT_PID" >/dev/null

# --- device with Basic auth -------------------------------------------------------
FAKE=authfake; start_fake authfake --auth admin:s3cret
start_agent a "http://127.0.0.1:$FAKE_PORT/api/" --target-auth admin:s3cret
wait_for stat_is devices_connected 1
cgi POST "mode=notify&token=$TOKEN" '{"text":"auth"}' application/json
check "Basic auth towards the device: 200" is_status 200
check "the device saw the credentials" reached "auth=yes"
stop "$AGENT_PID" >/dev/null

# --- slow device: 504 at the deadline, late answer dropped -----------------------------
stop "$BROKER_PID" >/dev/null
AWTRIX_BROKER_DEADLINE_MS=1000 start_broker
FAKE=slow; start_fake slow --delay-ms 2500
start_agent a "http://127.0.0.1:$FAKE_PORT/api/"
wait_for stat_is devices_connected 1
t0=$(date +%s%N)
cgi POST "mode=notify&token=$TOKEN" '{"text":"slow"}' application/json
t1=$(date +%s%N)
check "slow device: 504 device_timeout" is_status 504 device_timeout
check "...answered at the deadline, not after the device" \
    test $(( (t1 - t0) / 1000000 )) -lt 2400
# The agent gives up at the same deadline, so its 504 and the broker's race:
# either way the caller gets exactly one answer and a late one is dropped.
sleep 3
check "the time-out is answered once: one device_timeout, at most one late answer dropped" \
    test "$(broker_stat device_timeout) $(( $(broker_stat late_answers) <= 1 ))" = "1 1"
qpids=""
for i in 1 2 3; do
	(T=$T/q$i; mkdir -p "$T"; cgi POST "mode=notify&token=$TOKEN" "{\"text\":\"queued $i\"}" application/json; echo "$STATUS" >"$T/status") &
	qpids="$qpids $!"
	sleep 0.1
done
wait $qpids
check "three requests behind a slow device: all answered 504" test \
    "$(cat "$T"/q*/status | sort -u)" = 504
# The device is busy for 2.5 s per request (the agent's probe included):
# give everything queued in its backlog time to arrive.
sleep 6
# Once one of them is on the device it is busy past every other deadline,
# and the agent sends nothing more until its probe returns.
check "one at a time, never late: at most one of the queued requests reaches the device" \
    test "$(grep -c 'queued [123]' "$T/slow.requests")" -le 1

# --- flood: 429 -----------------------------------------------------------------------
stop "$BROKER_PID" >/dev/null
AWTRIX_BROKER_RATE=0.1 AWTRIX_BROKER_BURST=3 start_broker
FAKE=fast; start_fake fast
stop "$AGENT_PID" >/dev/null
start_agent a "http://127.0.0.1:$FAKE_PORT/api/"
wait_for stat_is devices_connected 1
for i in 1 2 3 4 5; do cgi POST "mode=notify&token=$TOKEN" '{"text":"f"}' application/json; done
check "a flood from one token: 429 rate_limited" is_status 429 rate_limited
check "429 has Retry-After" test -n "$(header Retry-After)"
check "rate_limited is counted" test "$(broker_stat rate_limited)" -ge 1

# --- broker down: 503 at once ----------------------------------------------------------
stop "$BROKER_PID" >/dev/null
t0=$(date +%s%N)
cgi POST "mode=notify&token=$TOKEN" '{"text":"x"}' application/json
t1=$(date +%s%N)
check "broker down: 503 relay_unavailable" is_status 503 relay_unavailable
check "503 has Retry-After" test -n "$(header Retry-After)"
check "503 comes within a second" test $(( (t1 - t0) / 1000000 )) -lt 1000
check "the fcgi program logged no token" sh -c "! grep -q '$TOKEN' '$T/cgi.log'"
