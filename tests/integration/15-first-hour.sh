#!/bin/bash
# The first hour of an owner and an operator (issue 15): every mistake a
# new user made following the documents gets a message that says what to do,
# and the exit status of a usage error (2).  Each case is named after the
# mistake.
. "$(dirname "$0")/../lib.sh"

# run_err NAME STATUS PATTERN COMMAND...: exits STATUS and says PATTERN.
run_err() {
	n=$1 want=$2 pat=$3; shift 3
	"$@" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
	if [ "$rc" = "$want" ] && grep -q -- "$pat" "$T/err"; then
		ok "$n"
	else
		not_ok "$n (exit $rc, wanted $want)"
		sed 's/^/#   /' "$T/err" | head -n 5
	fi
}

# --- 1. two agents on one state directory --------------------------------
start_broker
start_fake fake
start_agent a1 "http://127.0.0.1:$FAKE_PORT/api/"
wait_for agent_connected a1
FIRST=$AGENT_PID
run_err "a second agent on the same --state refuses to start" 1 \
    "another awtrix-agent" "$BIN/awtrix-agent" --broker "127.0.0.1:$BROKER_PORT" \
    --broker-key "$BROKER_PUB" --state "$T/a1" \
    --target "http://127.0.0.1:$FAKE_PORT/api/"
check "the first agent's control socket survives the second" test -S "$T/a1/control.sock"
check "the first agent still runs" kill -0 "$FIRST"
OLD=$(token_of a1)
"$BIN/awtrix-token" --state "$T/a1" regenerate >"$T/regen.out" 2>"$T/regen.err"
check "regenerate reaches the running agent (exit 0, rotated)" \
    test "$(sed -n 1p "$T/regen.out")" = "$(token_of a1)" -a "$OLD" != "$(token_of a1)"
cgi POST "mode=notify&token=$OLD" '{"text":"old"}' application/json
check "the old token is dead after regenerate (404)" is_status 404 device_offline
cgi POST "mode=notify&token=$(token_of a1)" '{"text":"new"}' application/json
check "the new token routes (200)" is_status 200

# --- 4. a useless --public-url -------------------------------------------
for u in "" "cloud.example.org" "http://cloud.example.org/cloud" \
    "https://cloud.example.org" "https://x.example/cloud$(printf '\033')[2J"; do
	run_err "broker refuses --public-url '$(printf '%s' "$u" | tr -d '\033')' (exit 2)" 2 \
	    "public-url" "$BIN/awtrix-broker" serve --key "$T/broker/key" \
	    --db "$T/unused.db" --socket "$T/unused.sock" --listen 127.0.0.1:1 \
	    --public-url "$u" "${BROKER_USER[@]}"
done

# --- 5. awtrix-token says what is wrong --------------------------------
run_err "awtrix-token on a missing state directory says it does not exist" 1 \
    "does not exist: pass the --state" "$BIN/awtrix-token" --state "$T/nowhere" url
if [ "$(id -u)" = 0 ]; then
	# A copy in $T (0711): the checkout itself may not be reachable for
	# that user (a clone under a 0700 directory).
	install -m 0755 "$BIN/awtrix-token" "$T/awtrix-token"
	run_err "awtrix-token without permission says to use sudo" 1 \
	    "as root (sudo)" runuser -u awtrix-test -- "$T/awtrix-token" \
	    --state "$T/a1" url
fi
check "awtrix-token regenerate prints the new link after the token" \
    grep -q "^https://cloud.test/cloud?mode=notify&token=$(token_of a1)$" "$T/regen.out"
"$BIN/awtrix-token" --help >"$T/help"
check "awtrix-token --state defaults to the unit's directory" \
    grep -q "default /var/lib/awtrix-agent/" "$T/help"
"$BIN/awtrix-token" --state "$T/a1" url --qr >"$T/qr"
check "awtrix-token url --qr prints the link and a QR code" \
    sh -c "head -n 1 '$T/qr' | grep -q '^https://cloud.test/cloud?mode=notify&token=' &&
        test \$(wc -l <'$T/qr') -ge 15 && grep -q '▀' '$T/qr'"
run_err "awtrix-token url with two modes is a usage error" 2 "at most one MODE" \
    "$BIN/awtrix-token" --state "$T/a1" url notify stats

# --- 8. the smaller ones -------------------------------------------------
run_err "awtrix-broker pubkey of a file that is no key says so" 1 \
    "is not a key file" "$BIN/awtrix-broker" pubkey /etc/hostname
run_err "--listen without a host is a usage error (exit 2)" 2 \
    "--listen must be HOST:PORT" "$BIN/awtrix-broker" serve --key "$T/broker/key" \
    --db "$T/unused.db" --socket "$T/unused.sock" --listen 17445 "${BROKER_USER[@]}"
"$BIN/awtrix-broker" stats >/dev/null 2>"$T/err"
check "awtrix-broker stats without --socket tries /run/awtrix-cloud/broker.sock" \
    grep -q "/run/awtrix-cloud/broker.sock" "$T/err"
if [ "$(id -u)" = 0 ]; then
	mkdir -m 755 "$T/rodir"
	cp "$T/broker/key" "$T/key2"; chown awtrix-test "$T/key2"
	mkdir -p "$T/run2"; chown awtrix-test "$T/run2"
	run_err "an unwritable database directory is named, with what to do" 1 \
	    "directory $T/rodir must exist and be writable" "$BIN/awtrix-broker" serve \
	    --key "$T/key2" --db "$T/rodir/state.db" --socket "$T/run2/s" \
	    --listen 127.0.0.1:1 "${BROKER_USER[@]}"
fi

# --- 3. the agent checks its settings and names what fails ----------------
agent_usage() {
	n=$1 pat=$2; shift 2
	run_err "$n" 2 "$pat" "$BIN/awtrix-agent" --broker-key "$BROKER_PUB" \
	    --state "$T/u" "$@"
}
agent_usage "--target without /api/ is refused (exit 2, names --target)" \
    "--target http://127.0.0.1:1 must be the clock's API" \
    --broker "127.0.0.1:$BROKER_PORT" --target http://127.0.0.1:1
agent_usage "--broker without a port is refused (exit 2, names --broker)" \
    "--broker cloud.example.org must be HOST:PORT" \
    --broker cloud.example.org --target http://127.0.0.1:1/api/
agent_usage "--deny with a typo is refused (exit 2, names the mode)" \
    "--deny: pwoer is not an endpoint" \
    --broker "127.0.0.1:$BROKER_PORT" --target http://127.0.0.1:1/api/ --deny pwoer

start_fake fauth --auth owner:secret
start_agent a2 "http://127.0.0.1:$FAKE_PORT/api/" --verbose
wait_for agent_connected a2
cgi POST "mode=notify&token=$(token_of a2)" '{"text":"hi"}' application/json
check "a clock that asks for a password: 401 with a body that says --target-auth" \
    sh -c "[ '$STATUS' = 401 ] && grep -q 'target-auth' '$T/resp.b' &&
        grep -qi 'application/json' '$T/resp.h'"
check "...and the agent's log names the clock's URL" \
    grep -q "device http://127.0.0.1:$FAKE_PORT/api/notify asks for authentication" "$T/a2.log"
check "--verbose logs each call: method, mode, status, time" \
    grep -q "POST notify: 401 in [0-9]* ms" "$T/a2.log"
kill "$FAKE_PID"; wait "$FAKE_PID" 2>/dev/null
cgi POST "mode=notify&token=$(token_of a2)" '{"text":"hi"}' application/json
check "a clock that is off: 502, and the agent's log names the URL" \
    sh -c "[ '$STATUS' = 502 ] && grep -q 'device call to http://127.0.0.1:$FAKE_PORT/api/notify failed' '$T/a2.log'"

start_fake fhang --hang
start_agent a3 "http://127.0.0.1:$FAKE_PORT/api/"
wait_for agent_connected a3
AWTRIX_TIMEOUT_MS=12000 cgi POST "mode=notify&token=$(token_of a3)" '{"text":"hi"}' application/json
check "a hanging clock: 504, and the agent's log says it did not answer" \
    sh -c "[ '$STATUS' = 504 ] && wait_for() { i=0; while ! grep -q 'did not answer in time' '$T/a3.log'; do i=\$((i+1)); [ \$i -gt 100 ] && return 1; sleep 0.1; done; }; wait_for"

# --- 2. three mistakes, three answers --------------------------------------
start_fake f2
start_agent a4 "http://127.0.0.1:$FAKE_PORT/api/"
wait_for agent_connected a4
cgi GET "mode=notify&token=$(token_of a4)"
check "a GET on notify: 405 method_not_allowed naming POST (not the clock's 404)" \
    sh -c "is_status() { :; }; [ '$STATUS' = 405 ] &&
        grep -q '\"error\":\"method_not_allowed\"' '$T/resp.b' && grep -q 'takes POST' '$T/resp.b'"
check "...and the clock never saw it" sh -c "! grep -q 'GET /api/notify' '$T/f2.requests'"
cgi POST "mode=stats&token=$(token_of a4)"
check "a POST on stats: 405 naming GET" \
    sh -c "[ '$STATUS' = 405 ] && grep -q 'takes GET' '$T/resp.b'"
cgi POST "mode=notify&token=Zz$(token_of a4 | cut -c3-)" '{"text":"x"}' application/json
check "a mistyped token: 404 device_offline that says to check the token" \
    sh -c "[ '$STATUS' = 404 ] && grep -q '\"error\":\"device_offline\"' '$T/resp.b' &&
        grep -q 'current token' '$T/resp.b'"
cgi POST "mode=notify&token=$(token_of a4)" 'text=hello' application/x-www-form-urlencoded
check "a form-encoded body: 400 that says to use application/json" \
    sh -c "[ '$STATUS' = 400 ] && grep -q 'Content-Type application/json' '$T/resp.b'"
cgi POST "mode=rtttl&token=$(token_of a4)" 'x:d=4,o=5,b=100:c' application/x-www-form-urlencoded
check "...but rtttl's plain-text body still reaches the clock" is_status 200

# --- 8. a byte-order mark, an unknown mode -------------------------------
cgi POST "mode=notify&token=$(token_of a4)" "$(printf '\357\273\277'){\"text\":\"bom\"}" application/json
check "JSON with a UTF-8 byte-order mark: 200, and the clock gets it without the mark" \
    sh -c "[ '$STATUS' = 200 ] && grep -q 'POST /api/notify .*bom' '$T/f2.requests' &&
        ! grep -q \"\$(printf '\\357\\273\\277')\" '$T/f2.requests'"
cgi POST "mode=notfiy&token=$(token_of a4)" '{"text":"x"}' application/json
check "an unknown mode: 403 mode_not_allowed naming it" \
    sh -c "[ '$STATUS' = 403 ] && grep -q 'mode=notfiy' '$T/resp.b'"
