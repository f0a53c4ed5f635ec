# Goal: log lines journald can filter.  With stderr being the journal
# (JOURNAL_STREAM naming its device and inode, as systemd sets it) every
# line starts with its syslog priority ("<6>" info, "<4>" warning, "<3>"
# error) and carries no timestamp of its own; with JOURNAL_STREAM naming
# another stream (inherited by a child), no prefix.  Every line carries a
# stable event identifier, and every identifier in the sources is
# documented in docs/operations.md (and every documented one still exists).
. "$(dirname "$0")/../lib.sh"

: >"$T/broker.log"
JOURNAL_STREAM=$(stat -c %d:%i "$T/broker.log") start_broker
wait_for grep -q 'start.serving' "$T/broker.log" || wait_for grep -q 'start.serving' "$T/broker.log"
check "as the journal's stream: info lines start with <6>, event identifier next" eval '
    grep -q "^<6>awtrix-broker: info: start\.serving: serving: agents on " "$T/broker.log" ||
    { echo "# JOURNAL_STREAM=$(stat -c %d:%i "$T/broker.log")" >&2; sed "s/^/#   /" "$T/broker.log" >&2; false; }'
check "...and no timestamp of their own" eval '! grep -q "^<[0-9]>[0-9]\{4\}-" "$T/broker.log"'
# A warning: a front connection from a user not allowed on the socket.
# As root the broker runs as awtrix-test, so root (uid 0) is allowed; a
# refused peer needs another user: nobody.
if [ "$(id -u)" = 0 ]; then
	chmod 666 "$BROKER_SOCK"
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    "$BIN/awtrix-broker" stats --socket "$BROKER_SOCK" >/dev/null 2>&1
	check "a warning starts with <4> and names its event (front.peer_refused)" \
	    wait_for grep -q '^<4>awtrix-broker: warning: front\.peer_refused: ' "$T/broker.log"
else
	ok "skipped: a refused peer needs root to switch users"
fi
stop "$BROKER_PID" >/dev/null
check "the shutdown line: <6> stop.shutdown" \
    grep -q '^<6>awtrix-broker: info: stop\.shutdown: ' "$T/broker.log"
# An error: a second broker on the same socket fails at start.
start_broker
: >"$T/second.log"
# (bounded: should it start after all, it is stopped after 10 s)
JOURNAL_STREAM=$(stat -c %d:%i "$T/second.log") timeout 10 "$BIN/awtrix-broker" serve \
    --key "$T/broker/key" --db "$T/broker/state.db" --socket "$BROKER_SOCK" \
    --listen "127.0.0.1:$(free_port)" "${BROKER_USER[@]}" 2>>"$T/second.log"
check "an error starts with <3> (start.socket_failed)" \
    grep -q '^<3>awtrix-broker: error: start\.socket_failed: ' "$T/second.log"
stop "$BROKER_PID" >/dev/null

: >"$T/broker.log"
JOURNAL_STREAM=1:1 start_broker
wait_for grep -q 'start.serving' "$T/broker.log"
check "JOURNAL_STREAM of another stream: no priority prefix" \
    grep -q '^[0-9-]*T[0-9:]*Z awtrix-broker: info: start\.serving: ' "$T/broker.log"
stop "$BROKER_PID" >/dev/null

# --- the list in docs/operations.md ----------------------------------------------
grep -rhoE 'log_(info|warn|error)_ev\("[a-z_.]+"' "$ROOT"/broker "$ROOT"/fcgi \
    "$ROOT"/device-agent "$ROOT"/lib --include='*.c' |
    sed 's/.*("//; s/"$//' | sort -u >"$T/used"
sed -n 's/^| `\([a-z_]*\.[a-z_.]*\)` |.*/\1/p' "$ROOT/docs/operations.md" | sort -u >"$T/documented"
check "the sources use event identifiers ($(wc -l <"$T/used"))" test -s "$T/used"
check "every event identifier in the sources is in docs/operations.md" eval '
    comm -23 "$T/used" "$T/documented" >"$T/undocumented"; ! [ -s "$T/undocumented" ] ||
    { sed "s/^/#   undocumented: /" "$T/undocumented" >&2; false; }'
check "every event in docs/operations.md is still used" eval '
    comm -13 "$T/used" "$T/documented" >"$T/stale"; ! [ -s "$T/stale" ] ||
    { sed "s/^/#   stale: /" "$T/stale" >&2; false; }'
