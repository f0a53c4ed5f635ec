#!/bin/bash
# bench/e2e.sh: requests per second and latency of an IFTTT-shaped notify
# (bench/notify.lua) through each shipped web server configuration into
# awtrix-cloud.fcgi -> broker -> agent -> fake AWTRIX, each beside its floor:
# the same server, the same configuration and the same number of FastCGI
# processes answering from bench/trivial-fcgi.c (200 "OK") instead.
# Prints a table and writes bench/e2e-results.md.
#
#   bench/e2e.sh                       wrk runs of 10 s at 1, 16, 64 connections
#   E2E_SECS=3 E2E_CONNS="1 16" bench/e2e.sh    a quicker look
#   E2E_SERVERS="lighttpd" bench/e2e.sh         one server only
#   E2E_KEEP=1 bench/e2e.sh                     keep the logs (path on stderr)
#   E2E_OWNERS=cheap bench/e2e.sh               the owners' side played by one
#                                               fast process (loadagents --answer)
#   E2E_FCGI=/path/awtrix-cloud.fcgi bench/e2e.sh   another relay build (before/after)
#   E2E_OUT=/tmp/x.md bench/e2e.sh              write the report elsewhere
#
# Beside requests/s and latency, each row has the cloud side's CPU time per
# request, from /proc/PID/stat (utime + stime of every thread) before and
# after the measured run, divided by the requests wrk counted: the web
# server's processes, the FastCGI processes and the broker, each apart, and
# their sum.  The floor's broker column is what an idle broker costs.
# E2E_OWNERS=agents (default): E2E_DEVICES real agents with a fake AWTRIX
# each, so the owners' side shares CPU 1 with wrk and sets requests/s;
# E2E_OWNERS=cheap: one loadagents process answers every request at once,
# so that the cloud side is the limit.
#
# Servers: lighttpd (lighttpd/awtrix-cloud.conf, bin-path), apache-proxy-fcgi
# (apache/awtrix-cloud-proxy-fcgi.conf, spawn-fcgi) and apache-fcgid
# (apache/awtrix-cloud-fcgid.conf), each with E2E_PROCS FastCGI processes
# (default 4), plain HTTP on 127.0.0.1 (no TLS), configurations generated
# from the shipped files exactly as tests/integration/4[01]-*.sh do.
#
# The broker runs with AWTRIX_BROKER_RATE/BURST raised (test knobs): the
# per-token limit (5/s, burst 30) would otherwise answer 429.  Everything but
# wrk runs on CPU 0 and wrk on CPU 1 (taskset) when the machine has two.
# Everything listens on 127.0.0.1, every wait is bounded, and everything
# started here is stopped on exit.

set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
SECS=${E2E_SECS:-10}
CONNS=${E2E_CONNS:-1 16 64}
PROCS=${E2E_PROCS:-4}
# Devices (agent + fake AWTRIX each): the agent sends one request at a time
# to its device, as the clock demands, so one device bounds the relay at
# one device round trip; wrk spreads the requests over the tokens.
DEVICES=${E2E_DEVICES:-16}
SERVERS=${E2E_SERVERS:-lighttpd apache-proxy-fcgi apache-fcgid}
OUT=${E2E_OUT:-$ROOT/bench/e2e-results.md}
OWNERS=${E2E_OWNERS:-agents}
RELAY_BIN=${E2E_FCGI:-$ROOT/bin/awtrix-cloud.fcgi}
MODS=/usr/lib/apache2/modules
APACHE=$(command -v apache2 || echo /usr/sbin/apache2)
LIGHTTPD=$(command -v lighttpd || echo /usr/sbin/lighttpd)
SPAWN_FCGI=$(command -v spawn-fcgi || echo /usr/bin/spawn-fcgi)

for t in wrk curl taskset; do
	command -v "$t" >/dev/null || { echo "e2e: $t is missing (scripts/deps bench)" >&2; exit 1; }
done
for t in "$APACHE" "$LIGHTTPD" "$SPAWN_FCGI"; do
	[ -x "$t" ] || { echo "e2e: $t is missing (scripts/deps bench)" >&2; exit 1; }
done
make -s all testbin >/dev/null || { echo "e2e: make failed" >&2; exit 1; }
cc -O2 bench/trivial-fcgi.c -lfcgi -o tests/bin/trivial-fcgi ||
    { echo "e2e: cannot build bench/trivial-fcgi.c" >&2; exit 1; }
cc -O2 -std=c11 -D_GNU_SOURCE -Ilib -o tests/bin/benchtokens bench/benchtokens.c \
    build/libawtrix.a -lsodium || { echo "e2e: cannot build bench/benchtokens.c" >&2; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/awtrix-e2e.XXXXXX") || exit 1
chmod 711 "$T"
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	sleep 0.5
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	if [ "${E2E_KEEP:-0}" = 1 ]; then echo "e2e: kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# The cloud side (web server, FastCGI programs, broker) on CPU 0; the
# clients (wrk) and, by default, the owners' side (agents and fake clocks,
# which in real life run in the owners' LANs) on CPU 1.  E2E_DEVICE_CPU=0
# puts the owners' side on CPU 0 too.
SERVER_CPU="" WRK_CPU="" DEVICE_CPU=""
if [ "$(nproc)" -ge 2 ]; then
	SERVER_CPU="taskset -c 0" WRK_CPU="taskset -c 1"
	DEVICE_CPU="taskset -c ${E2E_DEVICE_CPU:-1}"
fi

# bg NAME CMD...: start in the background on the server CPU; log in $T.
bg() {
	name=$1; shift
	cpu=$SERVER_CPU
	case "$name" in fake*|agent*|owners) cpu=$DEVICE_CPU ;; esac
	$cpu "$@" >"$T/$name.out" 2>"$T/$name.log" &
	LASTPID=$!
	PIDS="$PIDS $LASTPID"
}
free_port() {
	while :; do
		p=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 30000 ))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
}
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# wait_until SECONDS CMD...: poll CMD every 0.1 s, for at most SECONDS.
wait_until() {
	n=$(( $1 * 10 )); shift
	while ! "$@" 2>/dev/null; do
		n=$((n - 1)); [ $n -le 0 ] && return 1; sleep 0.1
	done
}
stop_pid() { kill "$1" 2>/dev/null; wait_until 10 sh -c "! kill -0 $1"; }

# --- who runs what ------------------------------------------------------------
if [ "$(id -u)" = 0 ]; then
	WEBUSER=www-data WEBGROUP=www-data
	# The broker refuses root: the unprivileged user the tests use.
	id awtrix-test >/dev/null 2>&1 || useradd --system --no-create-home \
	    --shell /usr/sbin/nologin awtrix-test
	BROKER_USER=(--user awtrix-test)
else
	WEBUSER=$(id -un) WEBGROUP=$(id -gn)
	BROKER_USER=()
fi
# The relay and the floor, each as "awtrix-cloud.fcgi" in a directory of
# its own (the fcgid site runs ${AWTRIX_PROGRAM_DIR}/awtrix-cloud.fcgi).
mkdir -p "$T/relay" "$T/floor"
cp "$RELAY_BIN" "$T/relay/awtrix-cloud.fcgi"
cp tests/bin/trivial-fcgi "$T/floor/awtrix-cloud.fcgi"
chmod 755 "$T/relay" "$T/floor" "$T"/*/awtrix-cloud.fcgi

# --- the relay: fake AWTRIX clocks, broker, agents ---------------------------------
mkdir -p "$T/broker"
[ "$(id -u)" = 0 ] && chown awtrix-test "$T/broker"
BROKER_PUB=$(bin/awtrix-broker keygen "$T/broker/key")
BROKER_PORT=$(free_port)
BROKER_SOCK=$T/broker/broker.sock
AWTRIX_BROKER_RATE=1000000 AWTRIX_BROKER_BURST=1000000 \
    AWTRIX_BROKER_REG_BURST=1000000 AWTRIX_BROKER_SRC_REG_BURST=1000000 \
    AWTRIX_BROKER_MAX_SRC_HANDSHAKES=1000000 AWTRIX_BROKER_MAX_INFLIGHT=16 \
    bg broker bin/awtrix-broker serve --key "$T/broker/key" --db "$T/broker/state.db" \
    --socket "$BROKER_SOCK" --socket-group "$WEBGROUP" \
    --listen "127.0.0.1:$BROKER_PORT" "${BROKER_USER[@]}"
wait_until 10 test -S "$BROKER_SOCK" || { echo "e2e: broker did not start" >&2; exit 1; }
TOKENS=""
if [ "$OWNERS" = cheap ]; then
	# One process plays every device and answers at once (200 "OK").
	bg owners tests/bin/loadagents --broker "127.0.0.1:$BROKER_PORT" \
	    --broker-key "$BROKER_PUB" --sources 4 --answer idle "$DEVICES"
	wait_until 60 grep -q '^READY' "$T/owners.out" ||
	    { echo "e2e: loadagents did not come up" >&2; exit 1; }
	TOKENS=$(tests/bin/benchtokens 1 0 "$DEVICES" | tr '\n' ' ')
else
for d in $(seq "$DEVICES"); do
	bg "fake$d" tests/bin/fake-awtrix --port 0
	wait_until 10 grep -q '^port ' "$T/fake$d.out" ||
	    { echo "e2e: fake-awtrix did not start" >&2; exit 1; }
	FAKE_PORT=$(sed -n 's/^port //p' "$T/fake$d.out" | head -n 1)
	bg "agent$d" bin/awtrix-agent --broker "127.0.0.1:$BROKER_PORT" \
	    --broker-key "$BROKER_PUB" --state "$T/agent$d" \
	    --target "http://127.0.0.1:$FAKE_PORT/api/"
done
for d in $(seq "$DEVICES"); do
	wait_until 20 grep -q "device registered" "$T/agent$d.log" ||
	    { echo "e2e: agent $d did not register" >&2; exit 1; }
	TOKENS="$TOKENS $(bin/awtrix-token --state "$T/agent$d" show)"
done
fi
TOKEN=${TOKENS# }
TOKEN=${TOKEN%% *}	# the first device's, for the warm-up request

# --- the web servers, configured from the shipped files -------------------------------
# start_server SERVER BACKEND: sets PORT and SERVER_PID (and FCGI_PIDS for
# spawn-fcgi).  BACKEND is relay or floor.
start_server() {
	srv=$1 be=$2
	D=$T/$srv-$be
	mkdir -p "$D/run" "$D/logs" "$D/www" "$D/fcgid"
	[ "$(id -u)" = 0 ] && chown "$WEBUSER:$WEBGROUP" "$D" "$D/run" "$D/logs" "$D/fcgid"
	PORT=$(free_port)
	PORT80=$(free_port)
	FCGI_PIDS=""
	case $srv in
	lighttpd)
		sed -e "s|^var.awtrix_program .*|var.awtrix_program = \"$T/$be/awtrix-cloud.fcgi\"|" \
		    -e "s|^var.awtrix_broker .*|var.awtrix_broker = \"$BROKER_SOCK\"|" \
		    -e "s|^var.awtrix_fcgi_dir .*|var.awtrix_fcgi_dir = \"$D/run\"|" \
		    -e "s|^var.awtrix_log_dir .*|var.awtrix_log_dir = \"$D/logs\"|" \
		    -e "s|^var.awtrix_acme_root .*|var.awtrix_acme_root = \"$D/www\"|" \
		    -e '/^ssl\./d' -e '/use-ipv6.pl/d' \
		    -e 's/ssl.engine = "enable"/ssl.engine = "disable"/' \
		    -e "s|\"0.0.0.0:443\"|\"127.0.0.1:$PORT\"|" \
		    -e "s|^\$HTTP\[\"scheme\"\] == \"http\"|\$SERVER[\"socket\"] == \"127.0.0.1:$PORT80\"|" \
		    -e "s|\"max-procs\" *=> *[0-9]*|\"max-procs\"       => $PROCS|" \
		    lighttpd/awtrix-cloud.conf >"$D/awtrix-cloud.conf"
		cat >"$D/lighttpd.conf" <<EOF
server.modules = ( "mod_indexfile", "mod_access", "mod_alias", "mod_redirect" )
server.document-root = "$D/www"
server.bind = "127.0.0.1"
server.port = $PORT
server.errorlog = "$D/logs/error.log"
server.pid-file = "$D/lighttpd.pid"
server.username = "$WEBUSER"
server.groupname = "$WEBGROUP"
include "$D/awtrix-cloud.conf"
server.modules += ( "mod_staticfile" )
EOF
		bg "$srv-$be" "$LIGHTTPD" -D -f "$D/lighttpd.conf"
		SERVER_PID=$LASTPID ;;
	apache-*)
		v=${srv#apache-}
		sed -e "s|^Define AWTRIX_HOST .*|Define AWTRIX_HOST 127.0.0.1|" \
		    -e "s|^Define AWTRIX_FCGI_SOCKET .*|Define AWTRIX_FCGI_SOCKET $D/run/fcgi.sock|" \
		    -e "s|^Define AWTRIX_PROGRAM_DIR .*|Define AWTRIX_PROGRAM_DIR $T/$be|" \
		    -e "s|^Define AWTRIX_BROKER_SOCKET .*|Define AWTRIX_BROKER_SOCKET $BROKER_SOCK|" \
		    -e "s|^Define AWTRIX_DOCROOT .*|Define AWTRIX_DOCROOT $D/www|" \
		    -e "s|^Define AWTRIX_ACME_ROOT .*|Define AWTRIX_ACME_ROOT $D/www|" \
		    -e "s|^Define AWTRIX_LOG_DIR .*|Define AWTRIX_LOG_DIR $D/logs|" \
		    -e '/^[[:space:]]*SSL/d' \
		    -e "s|<VirtualHost \*:443>|<VirtualHost 127.0.0.1:$PORT>|" \
		    -e "s|<VirtualHost \*:80>|<VirtualHost 127.0.0.1:$PORT80>|" \
		    -e "s|FcgidMaxProcessesPerClass [0-9]*|FcgidMaxProcessesPerClass $PROCS|" \
		    -e "s|FcgidMinProcessesPerClass [0-9]*|FcgidMinProcessesPerClass $PROCS|" \
		    "apache/awtrix-cloud-$v.conf" >"$D/site.conf"
		{
			cat <<EOF
ServerRoot "$D"
DefaultRuntimeDir "$D/run"
PidFile "$D/run/apache.pid"
ServerName 127.0.0.1
Listen 127.0.0.1:$PORT
Listen 127.0.0.1:$PORT80
ErrorLog "$D/logs/server-error.log"
LogLevel warn
LoadModule mpm_event_module $MODS/mod_mpm_event.so
LoadModule authz_core_module $MODS/mod_authz_core.so
LoadModule alias_module $MODS/mod_alias.so
LoadModule headers_module $MODS/mod_headers.so
LoadModule reqtimeout_module $MODS/mod_reqtimeout.so
LoadModule rewrite_module $MODS/mod_rewrite.so
TraceEnable Off
EOF
			[ "$(id -u)" = 0 ] && printf 'User %s\nGroup %s\n' "$WEBUSER" "$WEBGROUP"
			if [ "$v" = fcgid ]; then
				echo "LoadModule fcgid_module $MODS/mod_fcgid.so"
				echo "FcgidIPCDir \"$D/fcgid\""
				echo "FcgidProcessTableFile \"$D/fcgid/shm\""
			else
				echo "LoadModule proxy_module $MODS/mod_proxy.so"
				echo "LoadModule proxy_fcgi_module $MODS/mod_proxy_fcgi.so"
			fi
			echo "Include \"$D/site.conf\""
		} >"$D/apache.conf"
		if [ "$v" = proxy-fcgi ]; then
			sp=""
			[ "$(id -u)" = 0 ] && sp="-u $WEBUSER -g $WEBGROUP -U $WEBUSER -G $WEBGROUP"
			# shellcheck disable=SC2086
			env AWTRIX_BROKER_SOCKET="$BROKER_SOCK" $SERVER_CPU "$SPAWN_FCGI" \
			    -s "$D/run/fcgi.sock" -M 0660 $sp -F "$PROCS" -- \
			    "$T/$be/awtrix-cloud.fcgi" >"$D/spawn.out" 2>"$D/spawn.log"
			FCGI_PIDS=$(sed -n 's/.*PID: *\([0-9]*\).*/\1/p' "$D/spawn.out" | tr '\n' ' ')
			PIDS="$PIDS $FCGI_PIDS"
		fi
		bg "$srv-$be" "$APACHE" -f "$D/apache.conf" -DFOREGROUND
		SERVER_PID=$LASTPID ;;
	esac
	wait_until 10 listening "$PORT" || {
		echo "e2e: $srv ($be) did not start:" >&2
		tail -n 5 "$T/$srv-$be.log" "$D"/logs/*error.log >&2 2>/dev/null
		return 1
	}
	URL="http://127.0.0.1:$PORT/cloud?mode=notify&token=$TOKEN"
	# One request must work before anything is measured.
	s=$(curl -s -o /dev/null -w '%{http_code}' --max-time 15 -X POST \
	    -H 'Content-Type: application/json' --data-binary '{"text":"warm"}' "$URL")
	[ "$s" = 200 ] || { echo "e2e: $srv ($be): first notify got $s" >&2; return 1; }
}

stop_server() {
	stop_pid "$SERVER_PID"
	for p in $FCGI_PIDS; do stop_pid "$p"; done
}

# ticks PID...: utime + stime of these processes (all their threads), in
# clock ticks.
ticks() {
	for p in "$@"; do cat "/proc/$p/stat" 2>/dev/null; done |
	    awk '{ sub(/^.*\) /, ""); t += $12 + $13 } END { print t + 0 }'
}
# group_pids SERVER BACKEND: "web fcgi broker" PID lists, comma-separated
# inside a group.
web_pids() {
	case $1 in
	lighttpd) echo "$SERVER_PID" ;;
	*) pgrep -f "^$APACHE -f $T/$1-$2/apache.conf" | tr '\n' ' ' ;;
	esac
}
fcgi_pids() { pgrep -f "^$T/$1/awtrix-cloud.fcgi" | tr '\n' ' '; }
broker_pids() { pgrep -f "awtrix-broker serve --key $T/broker/key" | tr '\n' ' '; }
HZ=$(getconf CLK_TCK)

# measure SERVER BACKEND CONNS: one warm-up and one measured wrk run; one
# line "server backend conns rps avg p50 p90 p99 errors web_us fcgi_us
# broker_us cloud_us" to $T/rows (CPU µs per request).
measure() {
	thr=$(( $3 < 2 ? 1 : 2 ))
	$WRK_CPU wrk -t"$thr" -c"$3" -d2s -s bench/notify.lua "$URL" -- $TOKENS \
	    >/dev/null 2>&1
	wp=$(web_pids "$1" "$2") fp=$(fcgi_pids "$2") bp=$(broker_pids)
	# shellcheck disable=SC2086
	w0=$(ticks $wp) f0=$(ticks $fp) b0=$(ticks $bp)
	$WRK_CPU wrk -t"$thr" -c"$3" -d"${SECS}s" --latency --timeout 15s \
	    -s bench/notify.lua "$URL" -- $TOKENS >"$T/wrk.out" 2>&1
	# shellcheck disable=SC2086
	w1=$(ticks $wp) f1=$(ticks $fp) b1=$(ticks $bp)
	nreq=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$T/wrk.out")
	cpu=$(awk -v n="${nreq:-0}" -v hz="$HZ" -v w=$((w1 - w0)) -v f=$((f1 - f0)) \
	    -v b=$((b1 - b0)) 'BEGIN {
		if (n <= 0) { print "n/a n/a n/a n/a"; exit }
		k = 1e6 / hz / n
		printf "%.1f %.1f %.1f %.1f", w * k, f * k, b * k, (w + f + b) * k }')
	awk -v srv="$1" -v be="$2" -v c="$3" -v cpu="$cpu" '
	function ms(v) {
		if (v ~ /us$/) return sprintf("%.2f", v / 1000)
		if (v ~ /ms$/) return sprintf("%.2f", v + 0)
		if (v ~ /s$/) return sprintf("%.2f", v * 1000)
		return "n/a"
	}
	/^ +Latency / && !avg { avg = ms($2) }
	/^ +50% / { p50 = ms($2) }
	/^ +90% / { p90 = ms($2) }
	/^ +99% / { p99 = ms($2) }
	/^Requests\/sec:/ { rps = sprintf("%.0f", $2) }
	/Non-2xx or 3xx responses:/ { err += $NF }
	/Socket errors:/ { for (i = 3; i <= NF; i += 2) err += $(i + 1) }
	END {
		printf "%s %s %s %s %s %s %s %s %d %s\n", srv, be, c, rps ? rps : "n/a",
		    avg ? avg : "n/a", p50 ? p50 : "n/a", p90 ? p90 : "n/a",
		    p99 ? p99 : "n/a", err, cpu
	}' "$T/wrk.out" | tee -a "$T/rows" | awk '{
		printf "  %-18s %-6s c=%-3s %8s req/s  avg %7s ms  p50 %7s  p90 %7s  p99 %7s  errors %s  CPU µs/req: web %s fcgi %s broker %s cloud %s\n",
		    $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 }'
}

: >"$T/rows"
START=$(date -u '+%Y-%m-%d %H:%M UTC')
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
for srv in $SERVERS; do
	for be in relay floor; do
		echo "$srv, $be:"
		if ! start_server "$srv" "$be"; then
			for c in $CONNS; do echo "$srv $be $c n/a n/a n/a n/a n/a 0 n/a n/a n/a n/a" >>"$T/rows"; done
			stop_server
			continue
		fi
		for c in $CONNS; do measure "$srv" "$be" "$c"; done
		stop_server
	done
done

# --- the report -------------------------------------------------------------------------
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
{
	echo "# End-to-end benchmark: notify through the web servers"
	echo
	echo "Written by \`bench/e2e.sh\` on $START. Machine: $(nproc) CPUs ($CPU),"
	echo "Debian $(cat /etc/debian_version 2>/dev/null), $("$LIGHTTPD" -v 2>/dev/null | head -n 1 | cut -d' ' -f1),"
	echo "$("$APACHE" -v | sed -n 's/^Server version: //p') (mpm_event), mod_fcgid 2.3.9, $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)."
	echo "Load average before the run: $LOAD."
	echo
	echo "Each row: \`wrk -c CONNS -d ${SECS}s --latency -s bench/notify.lua\` (after a 2 s"
	echo "warm-up) posting an IFTTT-shaped notify (82-byte JSON body, token in the"
	echo "query) to \`/cloud\` over plain HTTP on 127.0.0.1. **relay**: the web server"
	echo "runs awtrix-cloud.fcgi, which hands each request to the broker, which"
	echo "routes it to the agent, which POSTs it to a fake AWTRIX 3"
	echo "(\`tests/bin/fake-awtrix\`, answers at once) and carries the answer back."
	echo "**floor**: the same server and configuration with the same number of"
	echo "FastCGI processes ($PROCS) running \`bench/trivial-fcgi.c\` (reads the body,"
	echo "answers 200 \"OK\")."
	[ -n "$SERVER_CPU" ] && echo "The cloud side (web server, FastCGI processes, broker) ran on CPU 0; wrk and the owners' side (the $DEVICES agents and fake clocks, which live in the owners' LANs) on CPU ${E2E_DEVICE_CPU:-1} (taskset)."
	echo "The broker ran with AWTRIX_BROKER_RATE/BURST raised, since the per-token"
	echo "limit (5/s, burst 30) would answer 429 to a load test. Latencies in ms;"
	echo "errors = non-2xx answers + socket errors."
	echo
	echo "Owners' side: $OWNERS ($([ "$OWNERS" = cheap ] && echo "one loadagents --answer process playing $DEVICES devices" || echo "$DEVICES agents and fake clocks")). Relay program: $RELAY_BIN."
	echo
	echo "| server | backend | connections | requests/s | avg | p50 | p90 | p99 | errors | CPU µs/req web | fcgi | broker | cloud |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	awk '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 }' "$T/rows"
	echo
	echo "Cloud-side CPU per request, relay ÷ floor:"
	echo
	awk '{ k = $1 " " $3; if ($2 == "relay") r[k] = $13; else f[k] = $13; o[k] = NR }
	END {
		n = 0; for (k in o) keys[++n] = k
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
			if (o[keys[j]] < o[keys[i]]) { t = keys[i]; keys[i] = keys[j]; keys[j] = t }
		for (i = 1; i <= n; i++) {
			split(keys[i], a, " ")
			if (r[keys[i]] + 0 > 0 && f[keys[i]] + 0 > 0)
				printf "- %s, %s connections: %.2f×\n", a[1], a[2], r[keys[i]] / f[keys[i]]
			else printf "- %s, %s connections: n/a\n", a[1], a[2]
		}
	}' "$T/rows"
	echo
	echo "Relay as a share of the floor (requests/s):"
	echo
	awk '{ k = $1 " " $3; if ($2 == "relay") r[k] = $4; else f[k] = $4; o[k] = NR }
	END {
		n = 0; for (k in o) keys[++n] = k
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
			if (o[keys[j]] < o[keys[i]]) { t = keys[i]; keys[i] = keys[j]; keys[j] = t }
		for (i = 1; i <= n; i++) {
			split(keys[i], a, " ")
			if (r[keys[i]] + 0 > 0 && f[keys[i]] + 0 > 0)
				printf "- %s, %s connections: %.0f %%\n", a[1], a[2], 100 * r[keys[i]] / f[keys[i]]
			else printf "- %s, %s connections: n/a\n", a[1], a[2]
		}
	}' "$T/rows"
	echo
	echo "Notes:"
	echo
	echo "- The relay requests go round-robin to $DEVICES tokens, i.e. $DEVICES devices (an agent"
	echo "  and a fake clock each), as many owners' applets would. The agent sends"
	echo "  one request at a time per device (design 5: the clock serves one client"
	echo "  at a time), each over a new TCP connection to the fake clock, so with"
	echo "  E2E_DEVICES=1 the relay is bound by that one device's round trip."
	echo "- mod_fcgid keeps requests beyond its process count inside Apache and"
	echo "  retries about once a second: that is the tail latency of apache-fcgid"
	echo "  at 16 and 64 connections with $PROCS processes. mod_proxy_fcgi leaves them"
	echo "  in the socket's backlog, served as soon as a process is free."
	echo "- errors counts wrk's non-2xx answers and socket errors together."
	echo "- The figures depend on what else the machine runs: compare rows of one run."
} >"$OUT"
echo
cat "$OUT"
