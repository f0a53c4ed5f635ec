#!/bin/bash
# Cross-broker routing cost (--nats), on loopback: a three-node nats-server
# cluster with JetStream, three brokers sharing one key file, N simulated
# agents (bench/loadagents, answering at once) on broker B, and
# bench/frontload driving requests through broker B's socket (local: no
# NATS), through broker C's (C uses the same NATS node as B: one NATS
# server between them) and through broker A's (A's node is another one:
# the request also crosses a NATS route, as between two machines).
# Same devices, same load, same machine.  Writes bench/cluster-results.md
# and appends the raw RESULT lines to bench/results-raw.txt.
#
#   bench/cluster.sh [SECS] [RUNS]        defaults: 5 s, 3 runs
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
SECS=${1:-5}
RUNS=${2:-3}
DEVICES=100
CONCS="1 16"
OUT=$ROOT/bench/cluster-results.md
RAW=$ROOT/bench/results-raw.txt
TOOLS=$ROOT/build/bench
log() { echo "cluster-bench: $*" >&2; }
command -v nats-server >/dev/null || { log "nats-server is not installed"; exit 1; }
make -s all >&2 || exit 1
mkdir -p "$TOOLS"
for t in loadagents frontload; do
	cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Ilib -o "$TOOLS/$t" \
	    "bench/$t.c" build/libawtrix.a -lsodium || exit 1
done

T=$(mktemp -d /tmp/awtrix-cbench.XXXXXX)
chmod 711 "$T"
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
port() {
	while :; do
		p=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 30000 ))
		(exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo $p; return; }
	done
}
BUSER=()
if [ "$(id -u)" = 0 ]; then
	id awtrix-bench >/dev/null 2>&1 || useradd --system --no-create-home \
	    --shell /usr/sbin/nologin awtrix-bench 2>/dev/null
	BUSER=(--user awtrix-bench)
fi

NP=(); CP=()
for i in 0 1 2; do NP[$i]=$(port); CP[$i]=$(port); done
for i in 0 1 2; do
	mkdir -p "$T/n$i"
	cat >"$T/n$i.conf" <<EOF
server_name: n$i
listen: 127.0.0.1:${NP[$i]}
jetstream { store_dir: "$T/n$i", max_memory_store: 64MB, max_file_store: 256MB }
cluster {
  name: awtrix
  listen: 127.0.0.1:${CP[$i]}
  routes: [ nats-route://127.0.0.1:${CP[0]}, nats-route://127.0.0.1:${CP[1]}, nats-route://127.0.0.1:${CP[2]} ]
}
EOF
	nats-server -c "$T/n$i.conf" 2>"$T/n$i.log" &
	PIDS+=($!)
done
mkdir -p "$T/a" "$T/b" "$T/c"
"$ROOT/bin/awtrix-broker" keygen "$T/key" >/dev/null
PUB=$("$ROOT/bin/awtrix-broker" pubkey "$T/key")
[ ${#BUSER[@]} -gt 0 ] && chown awtrix-bench "$T/key" "$T/a" "$T/b" "$T/c"
PA=$(port); PB=$(port); PC=$(port)
for x in a b c; do
	case $x in a) p=$PA; n=0 ;; b) p=$PB; n=1 ;; c) p=$PC; n=1 ;; esac
	AWTRIX_BROKER_RATE=1000000000 AWTRIX_BROKER_BURST=1000000000 \
	    "$ROOT/bin/awtrix-broker" serve --key "$T/key" --db "$T/$x/db" \
	    --socket "$T/$x/sock" --listen "127.0.0.1:$p" "${BUSER[@]}" \
	    --nats "nats://127.0.0.1:${NP[$n]},nats://127.0.0.1:${NP[2]}" \
	    2>"$T/$x.log" &
	PIDS+=($!)
	eval PID_$x=$!
done
ready() {
	"$ROOT/bin/awtrix-broker" stats --socket "$T/$1/sock" 2>/dev/null |
	    grep -q '"nats_connected":1'
}
for x in a b c; do
	i=0
	until ready $x; do
		i=$((i + 1)); [ $i -gt 300 ] && { log "broker $x not ready: $(tail -3 "$T/$x.log")"; exit 1; }
		sleep 0.1
	done
done
"$TOOLS/loadagents" --broker "127.0.0.1:$PB" --broker-key "$PUB" \
    --concurrency 64 --answer idle "$DEVICES" >"$T/agents.out" 2>"$T/agents.err" &
PIDS+=($!)
i=0
until grep -q READY "$T/agents.out"; do
	i=$((i + 1)); [ $i -gt 600 ] && { log "agents not ready"; exit 1; }
	sleep 0.1
done

field() { sed -n "s/.*[ ]$1=\([^ ]*\).*/\1/p" | tail -1; }
med() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {
    if (NR == 0) { print "n/a"; exit }
    print (NR % 2) ? a[(NR + 1) / 2] : (a[NR/2] + a[NR/2+1]) / 2 }'; }
declare -A R
for c in $CONCS; do
	for path in local same-node cross; do
		case $path in
		local) s=$T/b/sock; pid=$PID_b ;;
		same-node) s=$T/c/sock; pid=$PID_c ;;
		cross) s=$T/a/sock; pid=$PID_a ;;
		esac
		for r in $(seq "$RUNS"); do
			line=$("$TOOLS/frontload" --socket "$s" --devices "$DEVICES" \
			    --concurrency "$c" --secs "$SECS" --warmup 1 --pid "$pid" \
			    2>>"$T/frontload.err" | grep RESULT)
			echo "$line cluster=$path" >>"$RAW"
			for k in ok_rps p50_us p99_us; do
				R[$path.$c.$k]="${R[$path.$c.$k]:-} $(echo "$line" | field $k)"
			done
		done
		log "$path c=$c: $(echo ${R[$path.$c.ok_rps]} | med) ok/s, p50 $(echo ${R[$path.$c.p50_us]} | med) µs"
	done
done

{
	echo "# Cross-broker routing (--nats)"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)),"
	echo "nats-server $(nats-server --version | sed 's/.*v//'), libnats $(dpkg-query -W -f='${Version}' libnats3.4 2>/dev/null || echo '?'),"
	echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg). Everything on one machine: three"
	echo "nats-server nodes, three brokers, $DEVICES agents (loadagents, answering at once) on"
	echo "broker B; frontload through B's socket (local), C's (C and B use the same NATS"
	echo "node) or A's (A uses another node: the request also crosses a NATS route)."
	echo "Medians of $RUNS runs of $SECS s. Command: \`bench/cluster.sh $SECS $RUNS\` (part of \`make bench\`)."
	echo
	echo "| concurrency | path | relayed req/s | p50 µs | p99 µs |"
	echo "|---|---|---|---|---|"
	for c in $CONCS; do
		for path in local same-node cross; do
			echo "| $c | $path | $(echo ${R[$path.$c.ok_rps]} | med) | $(echo ${R[$path.$c.p50_us]} | med) | $(echo ${R[$path.$c.p99_us]} | med) |"
		done
	done
	echo
	for c in $CONCS; do
		l=$(echo ${R[local.$c.p50_us]} | med); x=$(echo ${R[cross.$c.p50_us]} | med)
		y=$(echo ${R[same-node.$c.p50_us]} | med)
		echo "- concurrency $c: a cross-broker request adds $(awk "BEGIN { printf(\"%.0f\", $x - $l) }" 2>/dev/null || echo n/a) µs at p50 across two NATS nodes, $(awk "BEGIN { printf(\"%.0f\", $y - $l) }" 2>/dev/null || echo n/a) µs through one (goal: at most 500 µs)."
	done
} >"$OUT"
cat "$OUT"
