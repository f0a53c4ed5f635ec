# Shared by the integration scenarios: sourced, never run.  It gives each
# scenario a private directory, free loopback ports, helpers to start the
# real programs, and "ok"/"not ok" reporting.  Everything started with
# `spawn` is killed when the scenario exits.

set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$ROOT/bin
TBIN=$ROOT/tests/bin
T=$(mktemp -d "${TMPDIR:-/tmp}/awtrix-it.XXXXXX")
PIDS=""
TESTNO=0

cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1; i=$((i + 1))
		done
		kill -9 "$p" 2>/dev/null
	done
	wait 2>/dev/null
	# Under `make SANITIZE=1`, any report in any program's log fails.
	if grep -l -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|WARNING: ThreadSanitizer' \
	    "$T"/*.log >"$T/sanitizer" 2>/dev/null; then
		for f in $(cat "$T/sanitizer"); do
			not_ok "sanitizer report in $(basename "$f")"
			grep -E -A12 'ERROR: |runtime error:|WARNING: ThreadSanitizer' "$f" | head -40 |
			    sed 's/^/#   /'
		done
	fi
	for f in "$T"/valgrind.*.vg; do
		[ -s "$f" ] || continue
		not_ok "valgrind report $(basename "$f")"
		head -40 "$f" | sed 's/^/#   /'
	done
	if [ "${KEEP:-0}" = 1 ]; then echo "# kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok() { TESTNO=$((TESTNO + 1)); echo "ok $TESTNO - $*"; }
not_ok() { TESTNO=$((TESTNO + 1)); echo "not ok $TESTNO - $*"; }

# check NAME COMMAND...: ok if the command succeeds.
check() {
	name=$1; shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}

# spawn NAME COMMAND...: start in the background, stderr to $T/NAME.log.
spawn() {
	name=$1; shift
	"$@" >>"$T/$name.out" 2>>"$T/$name.log" &
	PIDS="$PIDS $!"
	LASTPID=$!
}

# stop PID: SIGTERM and wait; prints the exit status.
stop() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	echo $?
}

# free_port: a TCP port on 127.0.0.1 nobody listens on right now, below the
# kernel's ephemeral range: a port in it may be the local end of a client
# connection in TIME_WAIT (every curl leaves one), which nobody listens on
# but no server can bind.  During 41-apache about 1000 of the 30000 ports
# this used to pick from were such ports, and a server then failed to start.
free_port() {
	eph=32768
	read -r eph _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || :
	base=10000 span=$((eph - 10000))
	[ "$span" -ge 5000 ] || base=20000 span=30000
	while :; do
		p=$(( base + $(od -An -N2 -tu2 /dev/urandom) % span ))
		if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
			echo $p; return
		fi
	done
}

# wait_for COND_COMMAND...: poll for up to 10 s.
wait_for() {
	i=0
	while ! "$@" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 100 ] && return 1
		sleep 0.1
	done
}

# not_up NAME LOG...: NAME did not come up; show the end of its logs as
# comments (on stdout, so that they stand next to the failing checks) and
# fail.  For `wait_for READY || not_up ...` after starting a server.
not_up() {
	echo "# $1 did not come up; its logs:"
	shift
	for f in "$@"; do
		if [ -s "$f" ]; then
			echo "# --- $f (last 30 lines)"
			tail -n 30 "$f" | sed 's/^/#   /'
		else
			echo "# --- $f: empty or missing"
		fi
	done
	return 1
}

# grep_count PATTERN FILE: number of matching lines (0 if none).
grep_count() { grep -c -- "$1" "$2" 2>/dev/null || true; }

# VALGRIND=1: run our programs under valgrind memcheck; any error or leak
# in their reports fails the scenario (checked in cleanup).
VG=()
if [ "${VALGRIND:-0}" = 1 ]; then
	VG=(valgrind -q --vgdb=no --leak-check=full --show-leak-kinds=definite,indirect
	    --errors-for-leak-kinds=definite,indirect --error-exitcode=99
	    --log-file="$T/valgrind.%p.vg")
fi

# The broker refuses to serve as root: as root, tests run it as a
# dedicated unprivileged user (created on first use).
BROKER_USER=()
if [ "$(id -u)" = 0 ]; then
	id awtrix-test >/dev/null 2>&1 ||
	    useradd --system --no-create-home --shell /usr/sbin/nologin \
	    awtrix-test 2>/dev/null || true
	BROKER_USER=(--user awtrix-test)
	chmod 711 "$T"
fi

# start_broker [FLAGS...]: a fresh broker key, database and sockets under
# $T/broker, with extra serve FLAGS.  Sets BROKER_PORT, BROKER_PUB,
# BROKER_SOCK, BROKER_PID.  Extra environment (AWTRIX_BROKER_*) passes
# through.
start_broker() {
	# Every test agent comes from 127.0.0.1: the per-source limits of
	# first registrations and handshakes (90-hostile.sh tests them) would
	# otherwise throttle the scenarios' own agents.
	export AWTRIX_BROKER_SRC_REG_BURST=${AWTRIX_BROKER_SRC_REG_BURST:-1000000}
	export AWTRIX_BROKER_REG_BURST=${AWTRIX_BROKER_REG_BURST:-1000000}
	export AWTRIX_BROKER_MAX_SRC_HANDSHAKES=${AWTRIX_BROKER_MAX_SRC_HANDSHAKES:-100000}
	mkdir -p "$T/broker"
	[ "$(id -u)" = 0 ] && chown awtrix-test "$T/broker"
	[ -f "$T/broker/key" ] || BROKER_PUB=$("$BIN/awtrix-broker" keygen "$T/broker/key")
	BROKER_PUB=$("$BIN/awtrix-broker" pubkey "$T/broker/key")
	BROKER_PORT=${BROKER_PORT:-$(free_port)}
	BROKER_SOCK=$T/broker/broker.sock
	spawn broker "${VG[@]}" "$BIN/awtrix-broker" serve --key "$T/broker/key" \
	    --db "$T/broker/state.db" --socket "$BROKER_SOCK" \
	    --listen "127.0.0.1:$BROKER_PORT" \
	    --public-url "https://cloud.test/cloud" "${BROKER_USER[@]}" "$@"
	BROKER_PID=$LASTPID
	wait_for test -S "$BROKER_SOCK" || not_up broker "$T/broker.log"
}

# broker_stat FIELD: one number from `awtrix-broker stats`.
broker_stat() {
	"$BIN/awtrix-broker" stats --socket "$BROKER_SOCK" |
	    sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"
}

# stat_is FIELD VALUE: for wait_for.
stat_is() { test "$(broker_stat "$1")" = "$2"; }

# log_count_ge FILE PATTERN N: at least N matching lines.
log_count_ge() { test "$(grep -c -- "$2" "$1" 2>/dev/null)" -ge "$3"; }

# start_agent NAME TARGET [FLAGS...]: an agent with state in $T/NAME.
start_agent() {
	name=$1; target=$2; shift 2
	spawn "$name" "${VG[@]}" "$BIN/awtrix-agent" --broker "127.0.0.1:$BROKER_PORT" \
	    --broker-key "$BROKER_PUB" --state "$T/$name" --target "$target" "$@"
	AGENT_PID=$LASTPID
}

# agent_connected NAME: the agent says it is connected.
agent_connected() {
	grep -q "device registered" "$T/$1.log" 2>/dev/null
}

# token_of NAME: the agent's current token.
token_of() { "$BIN/awtrix-token" --state "$T/$1" show; }

# start_fake NAME [FLAGS...]: a fake AWTRIX; sets FAKE_PORT and FAKE_PID.
start_fake() {
	name=$1; shift
	spawn "$name" "$TBIN/fake-awtrix" --port 0 --log "$T/$name.requests" "$@"
	FAKE_PID=$LASTPID
	wait_for grep -q '^port ' "$T/$name.out" ||
	    not_up "fake AWTRIX $name" "$T/$name.log" "$T/$name.out"
	FAKE_PORT=$(sed -n 's/^port //p' "$T/$name.out" | head -n 1)
}

# cgi METHOD QUERY [BODY [CONTENT_TYPE [AUTHORIZATION]]]: run
# awtrix-cloud.fcgi as plain CGI against $BROKER_SOCK.  Sets STATUS, and
# leaves the headers in $T/resp.h and the body in $T/resp.b.
cgi() {
	printf '%s' "${3:-}" >"$T/req.body"
	env -i PATH="$PATH" GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD="$1" \
	    QUERY_STRING="$2" CONTENT_TYPE="${4:-}" \
	    CONTENT_LENGTH="$(wc -c <"$T/req.body")" \
	    ${5:+HTTP_AUTHORIZATION="$5"} SCRIPT_NAME=/cloud \
	    AWTRIX_BROKER_SOCKET="${BROKER_SOCK:-$T/nobroker.sock}" \
	    ${AWTRIX_TIMEOUT_MS:+AWTRIX_TIMEOUT_MS=$AWTRIX_TIMEOUT_MS} \
	    "${VG[@]}" "$BIN/awtrix-cloud.fcgi" <"$T/req.body" >"$T/resp" 2>>"$T/cgi.log"
	sed -n '1,/^\r\{0,1\}$/p' "$T/resp" | tr -d '\r' >"$T/resp.h"
	sed '1,/^\r\{0,1\}$/d' "$T/resp" >"$T/resp.b"
	STATUS=$(sed -n 's/^Status: \([0-9]*\).*/\1/p' "$T/resp.h")
	[ -n "$STATUS" ] || STATUS=200
}

# is_status CODE [SLUG]: the last cgi answer had this status (and error slug).
is_status() {
	[ "$STATUS" = "$1" ] || { echo "# got status $STATUS: $(head -c 200 "$T/resp.b")" >&2; return 1; }
	[ -z "${2:-}" ] || grep -q "\"error\":\"$2\"" "$T/resp.b"
}

# header NAME: the value of a header of the last cgi answer.
header() { sed -n "s/^$1: //Ip" "$T/resp.h" | head -n 1; }

# reached PATTERN: the fake device's request log has a matching line.
reached() { grep -q -- "$1" "$T/${FAKE:-fake}.requests" 2>/dev/null; }
