#!/bin/bash
# Silent-connection flood against a real broker on loopback (issue 10,
# docs/security.md "2. Silent connections"): 100 known devices re-register
# one after the other while N connections that never send a byte are
# re-opened as fast as the broker closes them, first from 127.0.0.2-9, then
# from 127.0.0.1 (the genuine agents' own address).  Prints the line of
# `hostile-agent register-many` and the broker's counters for each.
#
#   bench/hostile-flood.sh [N (5000)] [SECONDS of flood (25)]
#
# BROKER=path/to/awtrix-broker runs another build (an older one, to compare).
#
# Needs `make all testbin`; run as root (the broker drops to awtrix-test)
# or as any user.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-5000}
SECS=${2:-25}
D=$(mktemp -d "${TMPDIR:-/tmp}/awtrix-hflood.XXXXXX")
chmod 711 "$D"
mkdir -p "$D/b" "$D/g"
USER_FLAG=()
if [ "$(id -u)" = 0 ]; then
	id awtrix-test >/dev/null 2>&1 || useradd --system --no-create-home \
	    --shell /usr/sbin/nologin awtrix-test
	chown awtrix-test "$D/b"
	USER_FLAG=(--user awtrix-test)
fi
BROKER=${BROKER:-$ROOT/bin/awtrix-broker}
"$BROKER" keygen "$D/b/key" >/dev/null
[ "$(id -u)" = 0 ] && chown awtrix-test "$D/b/key"
PUB=$("$BROKER" pubkey "$D/b/key")
PORT=$((20000 + RANDOM % 30000))
# Only the first-registration buckets are opened up (100 devices from one
# address); the handshake limits are the defaults.
AWTRIX_BROKER_REG_BURST=1000000 AWTRIX_BROKER_SRC_REG_BURST=1000000 \
    "$BROKER" serve --key "$D/b/key" --db "$D/b/state.db" \
    --socket "$D/b/sock" --listen "127.0.0.1:$PORT" "${USER_FLAG[@]}" \
    2>"$D/broker.log" &
BP=$!
trap 'kill $BP 2>/dev/null; wait 2>/dev/null; rm -rf "$D"' EXIT
sleep 0.5
HA=$ROOT/tests/bin/hostile-agent
echo "before:   $("$HA" register-many "127.0.0.1:$PORT" "$PUB" "$D/g" 100)"
for src in "127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5 127.0.0.6 127.0.0.7 127.0.0.8 127.0.0.9" \
    127.0.0.1; do
	# shellcheck disable=SC2086
	"$HA" silent-flood "127.0.0.1:$PORT" "$PUB" "$N" "$SECS" $src >"$D/flood.out" &
	FP=$!
	sleep 4
	echo "flood from ${src// /,}: $("$HA" register-many "127.0.0.1:$PORT" "$PUB" "$D/g" 100)"
	wait $FP
	echo "  flood: $(cat "$D/flood.out") connections in $SECS s"
	"$BROKER" stats --socket "$D/b/sock" |
	    grep -o '"handshakes_\(failed\|evicted\)":[0-9]*' | tr '\n' ' '
	echo
done
echo "broker log: $(wc -l <"$D/broker.log") lines"
