# Goal: a device that never answers must not starve the other owners.  A
# real agent drives `fake-awtrix --hang` (it reads every request and never
# answers); 24 callers wait on its token while other owners' requests go
# through the shipped lighttpd configuration and the shipped Apache
# mod_proxy_fcgi site: all of theirs are answered 200.  Each FastCGI process
# serves its requests over one broker connection, answers coming back in
# another order than the requests went out; a broker restart while
# requests wait answers each of them 503 or its answer (none hangs); a
# caller that goes away before its answer costs nothing.  Under mod_fcgid
# (one request per process by design) the documented limit holds: with one
# process fewer than FcgidMaxProcessesPerClass waiting, another owner is
# still answered.
. "$(dirname "$0")/../lib.sh"
# This scenario is about the front end carrying many waiting requests: the
# broker's own per-device cap (4 in flight, docs/protocol.md "Fairness")
# is opened so that they reach it and wait there.
export AWTRIX_BROKER_MAX_INFLIGHT=64
# ...and without its cool-off, so that each web server's turn meets a mute
# device that still holds requests (90-hostile tests the cool-off).
export AWTRIX_BROKER_COOLOFF_MS=0

LIGHTTPD=$(command -v lighttpd || echo /usr/sbin/lighttpd)
APACHE=$(command -v apache2 || echo /usr/sbin/apache2)
SPAWN_FCGI=$(command -v spawn-fcgi || echo /usr/bin/spawn-fcgi)
MODS=/usr/lib/apache2/modules
if [ ! -x "$LIGHTTPD" ] || [ ! -x "$APACHE" ] || [ ! -x "$SPAWN_FCGI" ] ||
    [ ! -f "$MODS/mod_fcgid.so" ]; then
	not_ok "lighttpd, apache2, mod_fcgid and spawn-fcgi are installed (scripts/deps test)"
	exit 1
fi

# The mute device's requests end at the broker's deadline: shorter than the
# shipped 8 s so that the scenario stays short, longer than the slow
# device's 3 s.
export AWTRIX_BROKER_DEADLINE_MS=5000
. "$(dirname "$0")/../web.sh"

start_fake mute --hang
# An agent that does not report its clock's health (issue 14: the broker
# would then answer 502 at once, and nothing would wait).
AWTRIX_AGENT_NO_CLOCK=1 start_agent m "http://127.0.0.1:$FAKE_PORT/api/"
wait_for stat_is devices_connected 3
MUTE_TOKEN=$(token_of m)
MUTE=24

# mute_flood N: N callers on the mute device, in the background; their
# statuses go to $T/mute.*.
mute_flood() {
	rm -f "$T"/mute.*
	for i in $(seq 1 "$1"); do
		curl -s -o /dev/null -w '%{http_code}\n' --max-time 30 -X POST \
		    -H 'Content-Type: application/json' --data-binary '{"text":"x"}' \
		    "$URL?mode=notify&token=$MUTE_TOKEN" >"$T/mute.$i" &
	done
}
in_flight_ge() { test "$(broker_stat requests_in_flight)" -ge "$1"; }
# mute_all_answered: every mute caller got 504 (the deadline) or 429 (the
# broker's cap on one device's requests in flight); none hung (000).
mute_all_answered() {
	wait_for lines_are "$MUTE" "$T"/mute.* || return 1
	! grep -qv -E '^(504|429)$' "$T"/mute.*
}
# mixed N: N concurrent requests of two kinds on the fast device, odd ones
# notify (body OK), even ones stats (a JSON body); each answer must be its
# own kind, whatever order they came back in.
mixed() {
	rm -f "$T"/mix.*
	for i in $(seq 1 "$1"); do
		if [ $((i % 2)) = 1 ]; then
			curl -s -o "$T/mix.$i.b" -w '%{http_code}\n' --max-time 30 \
			    -X POST -H 'Content-Type: application/json' \
			    --data-binary '{"text":"m"}' \
			    "$URL?mode=notify&token=$TOKEN" >"$T/mix.$i" &
		else
			curl -s -o "$T/mix.$i.b" -w '%{http_code}\n' --max-time 30 \
			    "$URL?mode=stats&token=$TOKEN" >"$T/mix.$i" &
		fi
	done
	wait_for lines_are "$1" $(seq -f "$T/mix.%g" 1 "$1")
}
mixed_right() {
	for i in $(seq 1 "$1"); do
		[ "$(cat "$T/mix.$i")" = 200 ] || return 1
		if [ $((i % 2)) = 1 ]; then
			[ "$(cat "$T/mix.$i.b")" = OK ] || return 1
		else
			grep -q '^{' "$T/mix.$i.b" || return 1
		fi
	done
}

# starvation LABEL: the mute flood, and meanwhile other owners' requests.
starvation() {
	mute_flood "$MUTE"
	wait_for in_flight_ge 16
	check "${1}$MUTE callers wait on the mute device ($(broker_stat requests_in_flight) in flight)" \
	    in_flight_ge 16
	check "${1}...over one broker connection per FastCGI process ($(broker_stat front_connections) for $(our_fcgi | wc -l) processes and this stats call)" \
	    test "$(broker_stat front_connections)" -le $(( $(our_fcgi | wc -l) + 1 ))
	notify_many 8 "${1}o"
	check "${1}meanwhile 8 concurrent notifies of another owner: $(count_200) x 200" \
	    test "$(count_200)" = 8
	mixed 8
	check "${1}...and 8 mixed requests, each answered with its own answer" mixed_right 8
	req -X POST -H 'Content-Type: application/json' --data-binary "$NOTIFY" \
	    "$URL?mode=notify&token=$TOKEN"
	check "${1}...and a sequential one: 200" is 200
	check "${1}every mute caller was answered 504 or 429, none hung" mute_all_answered
}

# restart_mid_flight LABEL SERVER_PID: the broker stops while 8 requests
# wait on the slow device; each gets 503 or its 200, none hangs; after a
# restart everything works again.
restart_mid_flight() {
	rm -f "$T"/rs.*
	for i in $(seq 1 8); do
		curl -s -o /dev/null -w '%{http_code}\n' --max-time 30 -X POST \
		    -H 'Content-Type: application/json' --data-binary '{"text":"r"}' \
		    "$URL?mode=notify&token=$SLOW_TOKEN" >"$T/rs.$i" &
	done
	wait_for in_flight_ge 8
	# A crash, not a clean stop (which answers what waits with 504).
	kill -KILL "$BROKER_PID"
	wait "$BROKER_PID" 2>/dev/null
	wait_for lines_are 8 "$T"/rs.*
	check "${1}broker killed mid-flight: every waiting caller got 503 or its answer, none hung ($(sort "$T"/rs.* | uniq -c | tr -s ' \n' ' '))" \
	    sh -c "! grep -qv -E '^(503|200)$' \"$T\"/rs.*"
	check "${1}...503 for those whose answer was lost" grep -q '^503$' "$T"/rs.*
	start_broker --socket-group "$WEBGROUP"
	i=0
	while ! stat_is devices_connected 3 && [ $i -lt 300 ]; do
		sleep 0.1; i=$((i + 1))
	done
	notify_many 8 "${1}h"
	check "${1}...after the restart 8 concurrent notifies: $(count_200) x 200" \
	    test "$(count_200)" = 8
	check "${1}...the web server was not restarted" kill -0 "$2"
}

# gone_early LABEL: callers that give up before the slow device answers; the
# processes live on and the next request is answered.
gone_early() {
	before=$(our_fcgi | tr '\n' ' ')
	gpids=""
	for i in 1 2 3 4; do
		curl -s -o /dev/null --max-time 1 -X POST \
		    -H 'Content-Type: application/json' --data-binary '{"text":"g"}' \
		    "$URL?mode=notify&token=$SLOW_TOKEN" &
		gpids="$gpids $!"
	done
	# shellcheck disable=SC2086
	wait $gpids
	# Their answers come 3 s after the requests, to callers gone.
	wait_for stat_is requests_in_flight 0
	sleep 0.5
	req -X POST -H 'Content-Type: application/json' --data-binary "$NOTIFY" \
	    "$URL?mode=notify&token=$TOKEN"
	check "${1}callers gone before their answer: the next request is 200" is 200
	check "${1}...and the same FastCGI processes still run" \
	    test "$(our_fcgi | tr '\n' ' ')" = "$before"
}

# --- lighttpd with the shipped configuration ----------------------------------
L=$T/lighttpd
mkdir -p "$L/www" "$L/run"
: >"$T/lighttpd-error.log"
[ "$(id -u)" = 0 ] && chown "$WEBUSER:$WEBGROUP" "$L" "$L/run" "$T/lighttpd-error.log"
PORT=$(free_port)
URL=http://127.0.0.1:$PORT/cloud
sed -e "s|^var.awtrix_program .*|var.awtrix_program  = \"$PROG\"|" \
    -e "s|^var.awtrix_broker .*|var.awtrix_broker   = \"$BROKER_SOCK\"|" \
    -e "s|^var.awtrix_fcgi_dir .*|var.awtrix_fcgi_dir = \"$L/run\"|" \
    -e "s|^var.awtrix_log_dir .*|var.awtrix_log_dir  = \"$L\"|" \
    -e "s|^var.awtrix_acme_root .*|var.awtrix_acme_root = \"$L/www\"|" \
    -e '/^ssl\./d' -e '/use-ipv6.pl/d' \
    -e 's/ssl.engine = "enable"/ssl.engine = "disable"/' \
    -e "s|\"0.0.0.0:443\"|\"127.0.0.1:$PORT\"|" \
    -e "s|^\$HTTP\[\"scheme\"\] == \"http\"|\$SERVER[\"socket\"] == \"127.0.0.1:$(free_port)\"|" \
    "$ROOT/lighttpd/awtrix-cloud.conf" >"$L/awtrix-cloud.conf"
cat >"$L/lighttpd.conf" <<EOF
server.modules = ( "mod_indexfile", "mod_access", "mod_alias", "mod_redirect" )
server.document-root = "$L/www"
server.bind = "127.0.0.1"
server.port = $PORT
server.errorlog = "$T/lighttpd-error.log"
server.pid-file = "$L/lighttpd.pid"
server.username = "$WEBUSER"
server.groupname = "$WEBGROUP"
include "$L/awtrix-cloud.conf"
EOF
spawn lighttpd "$LIGHTTPD" -D -f "$L/lighttpd.conf"
LIGHTTPD_PID=$LASTPID
wait_for listening "$PORT"
PROCS=$(sed -n 's/^[[:space:]]*"max-procs"[[:space:]]*=>[[:space:]]*\([0-9]*\).*/\1/p' \
    "$ROOT/lighttpd/awtrix-cloud.conf")
check "lighttpd: starts the shipped max-procs ($PROCS) FastCGI processes" \
    wait_for fcgi_count_ge "$PROCS"
if ! listening "$PORT"; then
	not_ok "lighttpd listens"; sed 's/^/# /' "$T/lighttpd-error.log"; exit 1
fi
starvation "lighttpd: "
restart_mid_flight "lighttpd: " "$LIGHTTPD_PID"
gone_early "lighttpd: "
stop "$LIGHTTPD_PID" >/dev/null
wait_for no_fcgi_left

# --- Apache: the shipped sites ------------------------------------------------
gen_site() {
	sed -e "s|^Define AWTRIX_HOST .*|Define AWTRIX_HOST 127.0.0.1|" \
	    -e "s|^Define AWTRIX_FCGI_SOCKET .*|Define AWTRIX_FCGI_SOCKET $A/run/fcgi.sock|" \
	    -e "s|^Define AWTRIX_PROGRAM_DIR .*|Define AWTRIX_PROGRAM_DIR $T/prog|" \
	    -e "s|^Define AWTRIX_BROKER_SOCKET .*|Define AWTRIX_BROKER_SOCKET $BROKER_SOCK|" \
	    -e "s|^Define AWTRIX_DOCROOT .*|Define AWTRIX_DOCROOT $A/www|" \
	    -e "s|^Define AWTRIX_ACME_ROOT .*|Define AWTRIX_ACME_ROOT $A/www|" \
	    -e "s|^Define AWTRIX_LOG_DIR .*|Define AWTRIX_LOG_DIR $A/logs|" \
	    -e '/^[[:space:]]*SSL/d' \
	    -e "s|<VirtualHost \*:443>|<VirtualHost 127.0.0.1:$PORT>|" \
	    -e "s|<VirtualHost \*:80>|<VirtualHost 127.0.0.1:$(free_port)>|" \
	    "$ROOT/apache/awtrix-cloud-$1.conf"
}
gen_main() {
	cat <<EOF
ServerRoot "$A"
DefaultRuntimeDir "$A/run"
PidFile "$A/run/apache.pid"
ServerName 127.0.0.1
Listen 127.0.0.1:$PORT
ErrorLog "$T/apache-$1.log"
LogLevel warn
LoadModule mpm_event_module $MODS/mod_mpm_event.so
LoadModule authz_core_module $MODS/mod_authz_core.so
LoadModule authz_host_module $MODS/mod_authz_host.so
LoadModule alias_module $MODS/mod_alias.so
LoadModule headers_module $MODS/mod_headers.so
LoadModule reqtimeout_module $MODS/mod_reqtimeout.so
LoadModule rewrite_module $MODS/mod_rewrite.so
EOF
	[ "$(id -u)" = 0 ] && printf 'User %s\nGroup %s\n' "$WEBUSER" "$WEBGROUP"
	case $1 in
	proxy-fcgi)
		echo "LoadModule proxy_module $MODS/mod_proxy.so"
		echo "LoadModule proxy_fcgi_module $MODS/mod_proxy_fcgi.so" ;;
	fcgid)
		echo "LoadModule fcgid_module $MODS/mod_fcgid.so"
		echo "FcgidIPCDir \"$A/fcgid\""
		echo "FcgidProcessTableFile \"$A/fcgid/shm\"" ;;
	esac
	echo "Include \"$A/site.conf\""
}
start_apache() {
	A=$T/apache-$1
	mkdir -p "$A/run" "$A/logs" "$A/www" "$A/fcgid"
	[ "$(id -u)" = 0 ] && chown "$WEBUSER:$WEBGROUP" "$A/fcgid"
	PORT=$(free_port)
	URL=http://127.0.0.1:$PORT/cloud
	gen_site "$1" >"$A/site.conf"
	gen_main "$1" >"$A/apache.conf"
	spawn "apache-$1-main" "$APACHE" -f "$A/apache.conf" -DFOREGROUND
	APACHE_PID=$LASTPID
	wait_for listening "$PORT"
	if ! listening "$PORT"; then
		not_ok "$1: Apache listens"
		cat "$T/apache-$1.log" "$T/apache-$1-main.log" 2>/dev/null | sed 's/^/# /' 
		exit 1
	fi
}

# proxy_fcgi: the program under spawn-fcgi exactly as the site's comment says.
A=$T/apache-proxy-fcgi
mkdir -p "$A/run"
[ "$(id -u)" = 0 ] && chown "$WEBUSER:$WEBGROUP" "$A/run"
SPAWN_CMD=$(sed -n "s/^#.* -F \([0-9]*\) -- .*/\1/p" \
    "$ROOT/apache/awtrix-cloud-proxy-fcgi.conf")
THREADS=$(sed -n 's/^#.*AWTRIX_THREADS=\([0-9]*\).*/\1/p' \
    "$ROOT/apache/awtrix-cloud-proxy-fcgi.conf")
sp=""
[ "$(id -u)" = 0 ] && sp="-u $WEBUSER -g $WEBGROUP -U $WEBUSER -G $WEBGROUP"
# shellcheck disable=SC2086
env AWTRIX_BROKER_SOCKET="$BROKER_SOCK" AWTRIX_TIMEOUT_MS=10000 \
    AWTRIX_MAX_BODY=16384 AWTRIX_THREADS="${THREADS:-256}" \
    "$SPAWN_FCGI" -s "$A/run/fcgi.sock" -M 0660 $sp -F "${SPAWN_CMD:-1}" -- "$PROG" \
    >"$T/spawn-fcgi.out" 2>>"$T/fcgi-proxy.log"
SPAWNED=$(sed -n 's/.*PID: *\([0-9]*\).*/\1/p' "$T/spawn-fcgi.out" | tr '\n' ' ')
PIDS="$PIDS $SPAWNED"
check "proxy-fcgi: spawn-fcgi starts the documented ${SPAWN_CMD:-?} process(es) of ${THREADS:-?} threads" \
    test "$(echo $SPAWNED | wc -w)" = "${SPAWN_CMD:-x}"
start_apache proxy-fcgi
starvation "proxy-fcgi: "
gone_early "proxy-fcgi: "
stop "$APACHE_PID" >/dev/null
# shellcheck disable=SC2086
kill $SPAWNED 2>/dev/null
# shellcheck disable=SC2086
wait_for gone $SPAWNED

# mod_fcgid: one request per process; FcgidMaxProcessesPerClass is the limit.
# Skipped for another build (make tsan-test): mod_fcgid runs one thread per
# process, nothing for ThreadSanitizer there, and it starts its processes at
# its own pace, which a slow-starting TSan build does not keep within the
# waits of this scenario.
if [ -n "${AWTRIX_TEST_FCGI:-}" ]; then
	ok "fcgid: skipped for AWTRIX_TEST_FCGI builds # SKIP"
else
	FCGID_MAX=$(sed -n 's/^[[:space:]]*FcgidMaxProcessesPerClass[[:space:]]*\([0-9]*\).*/\1/p' \
	    "$ROOT/apache/awtrix-cloud-fcgid.conf")
	start_apache fcgid
	MUTE=$((FCGID_MAX - 1))
	# mod_fcgid starts its processes one after the other, about one a
	# second: have it start them all first (they stay, idle), or the
	# first mute callers would reach the broker's deadline before the last
	# got a process.
	for _ in 1 2 3; do
		notify_many "$FCGID_MAX" fw
		fcgi_count_ge "$FCGID_MAX" && break
	done
	mute_flood "$MUTE"
	# Up to 30 s (slow under valgrind).
	i=0
	while ! in_flight_ge "$MUTE" 2>/dev/null && [ $i -lt 300 ]; do
		sleep 0.1; i=$((i + 1))
	done
	check "fcgid: $MUTE callers (FcgidMaxProcessesPerClass $FCGID_MAX - 1) wait on the mute device" \
	    in_flight_ge "$MUTE"
	req -X POST -H 'Content-Type: application/json' --data-binary "$NOTIFY" \
	    "$URL?mode=notify&token=$TOKEN"
	check "fcgid: ...another owner is still answered 200 by the last process" is 200
	check "fcgid: every mute caller was answered 504 or 429, none hung" mute_all_answered
	stop "$APACHE_PID" >/dev/null
fi

check "the web servers' and FastCGI logs hold no token" sh -c \
    "! grep -h -e \"$TOKEN\" -e \"$MUTE_TOKEN\" -e \"$SLOW_TOKEN\" \"$T\"/lighttpd-error.log \"$T\"/fcgi-proxy.log \"$T\"/apache-*.log"
