# Goal: faults harm nothing.  Real processes on loopback: kill -9 of the
# broker under load and of an agent mid-request, a device that never
# answers, idle and one-byte-per-second handshakes, a full disk, a caller
# that hangs up (SIGPIPE), and running out of file descriptors (EMFILE).
# Every request gets an answer, and the daemons keep serving everyone else.
. "$(dirname "$0")/../lib.sh"

ms() { echo $(( $(date +%s%N) / 1000000 )); }
export AWTRIX_BROKER_DEADLINE_MS=1500 AWTRIX_BROKER_HANDSHAKE_MS=1000
export AWTRIX_BROKER_RATE=1000 AWTRIX_BROKER_BURST=1000
start_fake fake
start_broker
start_agent a "http://127.0.0.1:$FAKE_PORT/api/"
wait_for agent_connected a
TOKEN=$(token_of a)

# --- 1,000 connections that send nothing: the deadline frees them ---------
out=$("$TBIN/idleconns" 1000 "127.0.0.1:$BROKER_PORT" 15)
check "1,000 silent connections are all closed by the handshake deadline" \
    test "$out" = "opened 1000 closed 1000 refused 0"
out=$("$TBIN/idleconns" -s 20 "127.0.0.1:$BROKER_PORT" 10)
check "handshakes sent one byte per second are cut at the deadline" \
    test "$out" = "opened 20 closed 20 refused 0"
cgi POST "mode=notify&token=$TOKEN" '{"text":"still here"}' application/json
check "the device is still served after both" is_status 200

# --- a device that accepts TCP and never answers ------------------------------
stop "$AGENT_PID" >/dev/null
FAKE=hang; start_fake hang --hang
start_agent a "http://127.0.0.1:$FAKE_PORT/api/"
wait_for stat_is devices_connected 1
t0=$(ms); cgi POST "mode=notify&token=$TOKEN" '{"text":"x"}' application/json; t1=$(ms)
check "device that never answers: 504 device_timeout" is_status 504 device_timeout
check "...at the deadline ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 3000

# --- kill -9 of an agent mid-request -------------------------------------------
( sleep 0.4; kill -9 "$AGENT_PID" ) &
t0=$(ms); cgi POST "mode=notify&token=$TOKEN" '{"text":"x"}' application/json; t1=$(ms)
check "agent killed mid-request: 504 or 404, never a hang" \
    sh -c "test '$STATUS' = 504 -o '$STATUS' = 404"
check "...answered within the deadline ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 3000
wait_for stat_is devices_connected 0
cgi POST "mode=notify&token=$TOKEN" '{"text":"x"}' application/json
check "after the agent died: 404 device_offline" is_status 404 device_offline

# --- a caller that hangs up mid-request (SIGPIPE on the broker's side) ---------
FAKE=slow; start_fake slow --delay-ms 800
n=$(grep_count "the clock answers" "$T/a.log")
start_agent a "http://127.0.0.1:$FAKE_PORT/api/"
wait_for stat_is devices_connected 1
# The agent's first health probe takes the slow device's 800 ms too: let it
# finish, or the requests below would wait behind it past the deadline.
wait_for log_count_ge "$T/a.log" "the clock answers" $((n + 1))
timeout 0.2 bash -c "$(declare -f cgi); T=$T BIN=$BIN BROKER_SOCK=$BROKER_SOCK cgi POST 'mode=notify&token=$TOKEN' '{}' application/json"
sleep 1
check "the broker survives answering a caller that hung up" kill -0 "$BROKER_PID"
cgi GET "mode=stats&token=$TOKEN"
check "...and serves the next request" is_status 200

# --- kill -9 of the broker under load --------------------------------------------
stop "$AGENT_PID" >/dev/null
FAKE=fake
start_agent a "http://127.0.0.1:$FAKE_PORT/api/"
wait_for stat_is devices_connected 1
LT=$T/load.times; : >"$LT"
load() {	# 30 requests, one line "status ms" each
	for i in $(seq 30); do
		t0=$(ms); cgi GET "mode=stats&token=$TOKEN"; t1=$(ms)
		echo "$STATUS $((t1 - t0))" >>"$LT"
	done
}
(T=$T/l1; mkdir -p "$T"; load) & L1=$!
(T=$T/l2; mkdir -p "$T"; load) & L2=$!
sleep 0.5
kill -9 "$BROKER_PID"
wait $L1 $L2
check "every request under the broker kill got an answer" \
    test "$(wc -l <"$T/load.times")" = 60
check "answers were 200 before the kill and 503 after" \
    sh -c "! grep -v -E '^(200|503) ' '$T/load.times'"
maxms=$(grep '^503 ' "$T/load.times" | cut -d' ' -f2 | sort -n | tail -n 1)
check "no request hung: the slowest 503 took ${maxms:-?} ms" test "${maxms:-99999}" -lt 1000
echo "# longest wait for a 503 after kill -9 of the broker: ${maxms:-?} ms"
start_broker
check "the agent reconnects after the broker comes back" wait_for stat_is devices_connected 1
cgi GET "mode=stats&token=$TOKEN"
check "...and requests flow again" is_status 200

# --- out of file descriptors: accept pauses, the broker survives --------------------
stop "$BROKER_PID" >/dev/null
(ulimit -n 48; exec "$BIN/awtrix-broker" serve --key "$T/broker/key" \
    --db "$T/broker/state.db" --socket "$BROKER_SOCK" \
    --listen "127.0.0.1:$BROKER_PORT" "${BROKER_USER[@]}") 2>>"$T/emfile.log" &
BROKER_PID=$!; PIDS="$PIDS $BROKER_PID"
wait_for test -S "$BROKER_SOCK"
wait_for stat_is devices_connected 1
"$TBIN/idleconns" 80 "127.0.0.1:$BROKER_PORT" 4 >/dev/null
check "EMFILE: a log line says why accepting paused" \
    grep -q "out of file descriptors" "$T/emfile.log"
check "EMFILE: the broker survives" kill -0 "$BROKER_PID"
cgi GET "mode=stats&token=$TOKEN"
check "EMFILE: the connected device is still served" is_status 200

# --- a full disk: routing goes on, new registrations are refused -----------------
if [ "$(id -u)" = 0 ] && mkdir -p "$T/full" && mount -t tmpfs -o size=1m tmpfs "$T/full" 2>/dev/null; then
	stop "$BROKER_PID" >/dev/null
	cp "$T/broker/state.db" "$T/full/state.db"
	chown -R awtrix-test "$T/full"
	spawn full "$BIN/awtrix-broker" serve --key "$T/broker/key" \
	    --db "$T/full/state.db" --socket "$BROKER_SOCK" \
	    --listen "127.0.0.1:$BROKER_PORT" "${BROKER_USER[@]}"
	BROKER_PID=$LASTPID
	wait_for stat_is devices_connected 1
	dd if=/dev/zero of="$T/full/filler" bs=64k 2>/dev/null
	P="$TBIN/linkprobe"
	"$P" register "127.0.0.1:$BROKER_PORT" "$BROKER_PUB" \
	    "$(tr -dc A-Za-z0-9 </dev/urandom | head -c 32)" >"$T/full.out" 2>&1
	check "disk full: a new registration is refused" \
	    grep -q "could not store" "$T/full.out"
	check "disk full: a clear log line" grep -q "database: cannot write\|database:.*full" "$T/full.log"
	cgi GET "mode=stats&token=$TOKEN"
	check "disk full: the connected device is still routed" is_status 200
	stop "$AGENT_PID" >/dev/null
	start_agent a "http://127.0.0.1:$FAKE_PORT/api/"
	check "disk full: a known device reconnects (no write needed)" \
	    wait_for stat_is devices_connected 1
	stop "$BROKER_PID" >/dev/null
	umount "$T/full"
else
	ok "# SKIP disk full: needs root to mount a small tmpfs"
fi

# --- 2,000 agents reconnecting at once after a broker kill -9 ----------------
# bench/loadagents plays 2,000 real agents (own keys and tokens, the agent's
# own backoff and jitter).
pkill -f "$T/broker" 2>/dev/null; sleep 0.2
rm -f "$BROKER_SOCK"
unset AWTRIX_BROKER_HANDSHAKE_MS
start_broker
spawn storm "$TBIN/loadagents" --broker "127.0.0.1:$BROKER_PORT" \
    --broker-key "$BROKER_PUB" --concurrency 128 --rounds 1 \
    --round-timeout 60 reconnect 2000
check "2,000 agents connected" wait_for grep -q "ARMED round=1 " "$T/storm.out"
kill -9 "$BROKER_PID"
sleep 0.5
rm -f "$BROKER_SOCK"
start_broker
i=0
until grep -q "BACK round=1 \|INCOMPLETE" "$T/storm.out" || [ $i -gt 600 ]; do
	sleep 0.1; i=$((i + 1))
done
line=$(grep "BACK round=1 " "$T/storm.out" | tail -n 1)
secs=$(echo "$line" | sed -n 's/.* secs=\([0-9.]*\).*/\1/p')
echo "# 2,000 agents back after kill -9 and restart: ${secs:-never} s ($line)"
check "2,000 agents all back after a broker kill -9 (${secs:-never} s)" test -n "$secs"
check "the broker counts them" wait_for stat_is devices_connected 2001
