# Goal: the secure device link.  The real broker and real agents on
# loopback: registration, rotation, hijack refused, restart keeps bindings
# and revocations, operator revocation, heartbeats, and every kind of bad
# input ends only the offending connection.
. "$(dirname "$0")/../lib.sh"

# --- key files and start-up refusals -----------------------------------
pub=$("$BIN/awtrix-broker" keygen "$T/key1" 2>&1)
check "keygen prints a 44-character base64 key" test ${#pub} -eq 44
check "keygen creates the key file 0600" \
    test "$(stat -c %a "$T/key1")" = 600
check "keygen refuses to overwrite" \
    sh -c "! '$BIN/awtrix-broker' keygen '$T/key1' 2>/dev/null"
check "pubkey prints the same key" \
    test "$("$BIN/awtrix-broker" pubkey "$T/key1")" = "$pub"

serve_fails() {	# serve_fails KEY DB PATTERN
	out=$("$BIN/awtrix-broker" serve --key "$1" --db "$2" \
	    --socket "$T/x.sock" --listen 127.0.0.1:0 "${BROKER_USER[@]}" 2>&1)
	[ $? -ne 0 ] && echo "$out" | grep -q "$3"
}
check "serve refuses a missing key file" \
    serve_fails "$T/nokey" "$T/dbs/x.db" "does not exist"
cp "$T/key1" "$T/key644"; chmod 644 "$T/key644"
check "serve refuses a group/world-readable key file" \
    serve_fails "$T/key644" "$T/dbs/x.db" "accessible by group or others"
head -c 50 "$T/key1" >"$T/keyshort"; chmod 600 "$T/keyshort"
check "serve refuses a key file of the wrong size" \
    serve_fails "$T/keyshort" "$T/dbs/x.db" "wrong size"
mkdir -p "$T/dbs"
sqlite3 "$T/dbs/new.db" "PRAGMA user_version = 99; CREATE TABLE x(y);"
[ "$(id -u)" = 0 ] && chown -R awtrix-test "$T/dbs"
check "serve refuses a database with a newer schema" \
    serve_fails "$T/key1" "$T/dbs/new.db" "newer than this broker"
mkdir -p "$T/dbs/dir.db"
check "serve refuses a database it cannot open" \
    serve_fails "$T/key1" "$T/dbs/dir.db" "database"
if [ "$(id -u)" = 0 ]; then
	"$BIN/awtrix-broker" serve --key "$T/key1" --db "$T/dbs/x.db" \
	    --socket "$T/x.sock" --listen 127.0.0.1:0 >"$T/root.out" 2>&1
	check "as root without --user, serve refuses to start (exit 2)" test $? -eq 2
	check "...and says why" grep -q "refusing to serve as root" "$T/root.out"
fi
mkdir -m 777 "$T/open"
check "serve refuses a socket directory others may write (no sticky bit)" \
    sh -c "! '$BIN/awtrix-broker' serve --key '$T/key1' --db '$T/dbs/x.db' \
    --socket '$T/open/s' --listen 127.0.0.1:0 ${BROKER_USER[*]} 2>'$T/open.err' &&
    grep -q 'writable by others' '$T/open.err'"
check "wrong flag prints usage and exits 2" \
    sh -c "'$BIN/awtrix-broker' serve --bogus 2>/dev/null; test \$? -eq 2"

# --- first registration -------------------------------------------------
export AWTRIX_BROKER_HANDSHAKE_MS=1000
start_broker
start_agent a http://127.0.0.1:9/api/
check "agent registers" wait_for agent_connected a
check "broker counts one device" test "$(broker_stat devices_connected)" = 1
if [ "$(id -u)" = 0 ]; then
	check "started as root, the broker serves as its --user (real, effective, saved)" \
	    test "$(awk '/^Uid:/ {print $2 $3 $4}' /proc/$BROKER_PID/status)" = \
	    "$(id -u awtrix-test)$(id -u awtrix-test)$(id -u awtrix-test)"
fi
check "the database and its journal are 0600" test \
    "$(stat -c %a "$T/broker/state.db" "$T/broker/state.db-wal" | sort -u)" = 600
check "the front socket is 0660" test "$(stat -c %a "$BROKER_SOCK")" = 660
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	# Open the file permissions on purpose: SO_PEERCRED must still refuse.
	chmod 666 "$BROKER_SOCK"; chmod 755 "$T/broker"
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    "$BIN/awtrix-broker" stats --socket "$BROKER_SOCK" >/dev/null 2>&1
	check "SO_PEERCRED: a peer of another uid/gid is refused" \
	    wait_for stat_is front_refused 1
	check "...with a log line" grep -q "peer uid/gid not allowed" "$T/broker.log"
	chmod 660 "$BROKER_SOCK"
fi
check "state dir is 0700" test "$(stat -c %a "$T/a")" = 700
check "device.key and token are 0600" test \
    "$(stat -c %a "$T/a/device.key") $(stat -c %a "$T/a/token")" = "600 600"
TOKEN_A=$(token_of a)
check "token is 32 characters of [A-Za-z0-9]" \
    sh -c "echo '$TOKEN_A' | grep -Eqx '[A-Za-z0-9]{32}'"
check "awtrix-token url prints the ready-to-paste link" test \
    "$("$BIN/awtrix-token" --state "$T/a" url)" = \
    "https://cloud.test/cloud?mode=notify&token=$TOKEN_A"

# --- bad input: each ends only its own connection -------------------------
P="$TBIN/linkprobe"
B=127.0.0.1:$BROKER_PORT
probe() {	# probe MODE [TOKEN [KEYFILE]]
	m=$1; shift
	"$P" "$m" "$B" "$BROKER_PUB" "$@" >"$T/probe.out" 2>&1
}
fresh() { tr -dc A-Za-z0-9 </dev/urandom | head -c 32; }
check "garbage instead of a handshake: closed" probe garbage
check "silent peer: closed at the handshake deadline" probe silent
check "truncated message 1: closed" probe truncated
check "flipped bit in message 1: closed" probe flip1
check "flipped bit in message 3: closed" probe flip3 "$(fresh)"
check "replayed message 1 (and its message 3): closed" probe replay1 "$(fresh)"
check "replayed message 3: closed" probe replay3 "$(fresh)"
check "wrong broker key pinned: closed" probe wrongkey
check "frame length 0: closed" probe frame-zero "$(fresh)"
check "frame length over the maximum: closed" probe frame-big "$(fresh)"
check "replayed transport frame: closed" probe frame-replay "$(fresh)"
check "reordered transport frames: closed" probe frame-reorder "$(fresh)"
check "flipped bit in a transport frame: closed" probe frame-flip "$(fresh)"
check "unknown message type: closed" probe bad-message "$(fresh)"
probe register '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!'; rc=$?
check "malformed token refused" test $rc -eq 3
check "malformed token refusal says so" grep -q "malformed token" "$T/probe.out"
probe register "$TOKEN_A"; rc=$?
check "hijack: another device key presenting a bound token is refused" \
    test $rc -eq 3
check "hijack refusal says bound" grep -q "bound to another device" "$T/probe.out"
check "the real agent's session survived all of it" \
    test "$(broker_stat devices_connected) $(broker_stat replaced_sessions)" = "1 0"
check "the agent saw no disconnection" \
    sh -c "! grep -q disconnected '$T/a.log'"
check "broker logs carry no token" sh -c "! grep -q '$TOKEN_A' '$T/broker.log'"
check "broker logs carry no peer address" \
    sh -c "! grep -q '127\.0\.0\.1:[0-9]*[^0-9]' '$T/broker.log' || \
    ! grep -v 'serving: agents on' '$T/broker.log' | grep -q '127\.0\.0\.1'"
check "handshake failures are counted" test "$(broker_stat handshakes_failed)" -ge 9

# --- rotation -------------------------------------------------------------
"$BIN/awtrix-token" --state "$T/a" regenerate >"$T/regen.out" 2>"$T/regen.err"
check "regenerate exits 0 with the agent connected" test $? -eq 0
TOKEN_A2=$(token_of a)
check "regenerate prints the new token (then its link)" test "$(sed -n 1p "$T/regen.out")" = "$TOKEN_A2"
check "the new token differs" test "$TOKEN_A2" != "$TOKEN_A"
probe register "$TOKEN_A"; rc=$?
check "old token refused at once after regenerate (new device key)" test $rc -eq 3
check "old token refusal says revoked" grep -q revoked "$T/probe.out"
probe register "$TOKEN_A" "$T/a/device.key"; rc=$?
check "old token refused even with the owner's device key" test $rc -eq 3
check "rotation counted" test "$(broker_stat rotations)" = 1

# --- restart: bindings and revocations survive ----------------------------
stop "$BROKER_PID" >"$T/rc"
check "broker exits 0 on SIGTERM" test "$(cat "$T/rc")" = 0
start_broker
check "agent reconnects after a broker restart" \
    wait_for log_count_ge "$T/a.log" "device registered" 2
probe register "$TOKEN_A2"; rc=$?
check "after restart, hijack of the current token still refused" test $rc -eq 3
probe register "$TOKEN_A"; rc=$?
check "after restart, the revoked token is still refused" test $rc -eq 3

# --- a new session of the same device replaces the old one ------------------
probe register "$TOKEN_A2" "$T/a/device.key"; rc=$?
check "same device key and token: accepted" test $rc -eq 0
check "the older session was replaced" test "$(broker_stat replaced_sessions)" -ge 1

# --- heartbeats -----------------------------------------------------------
check "agent comes back after being replaced" \
    wait_for log_count_ge "$T/a.log" "device registered" 3

# --- operator revocation --------------------------------------------------
"$BIN/awtrix-broker" revoke --key "$T/broker/key" --db "$T/broker/state.db" \
    "$TOKEN_A2" >/dev/null
check "revoke: the live session ends within the sweep" \
    wait_for grep -q "revoked by the operator" "$T/broker.log"
check "revoked token refused at reconnection" \
    wait_for grep -q "refused: this token has been revoked" "$T/a.log"
"$BIN/awtrix-token" --state "$T/a" regenerate >/dev/null 2>&1
check "after the owner regenerates, the device registers again" \
    wait_for stat_is devices_connected 1

# --- privacy of the database ----------------------------------------------
db=$T/broker/state.db
sqlite3 "$db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
check "database holds no token" \
    sh -c "! grep -a -q -e '$TOKEN_A' -e '$TOKEN_A2' -e '$(token_of a)' $db*"
check "database holds no address" sh -c "! grep -a -q '127.0.0.1' $db*"
rows() { sqlite3 "$db" "SELECT (SELECT count(*) FROM device) || ' ' || (SELECT count(*) FROM revoked)"; }
before=$(rows)
for i in 1 2 3 4 5; do probe frame-replay "$(fresh)"; done
for i in 1 2 3; do probe register "$(token_of a)"; done
sleep 0.5
after=$(rows)
check "database rows do not grow with traffic (only with new devices)" \
    test "$(echo $after | cut -d' ' -f2)" = "$(echo $before | cut -d' ' -f2)"
check "database columns are only hashes and counters" test \
    "$(sqlite3 "$db" "SELECT group_concat(name) FROM pragma_table_info('device')")" = \
    "device_hash,token_hash,rotations,rotation_day"

# --- dead links are noticed ------------------------------------------------
stop "$BROKER_PID" >/dev/null
AWTRIX_BROKER_DEAD_S=2 AWTRIX_BROKER_PING_S=1 start_broker
check "agent back after second restart" \
    wait_for stat_is devices_connected 1
kill -STOP "$AGENT_PID"
check "broker drops a silent agent (heartbeat)" \
    wait_for stat_is dead_links 1
kill -CONT "$AGENT_PID"
check "the agent reconnects when it wakes" \
    wait_for stat_is devices_connected 1
stop "$AGENT_PID" >"$T/rc"
check "agent exits 0 on SIGTERM" test "$(cat "$T/rc")" = 0
check "agent logs carry no token" \
    sh -c "! grep -q -e '$TOKEN_A' -e '$TOKEN_A2' -e '$(token_of a)' '$T/a.log'"
