# Shared by the web-server scenarios (40-lighttpd.sh, 41-apache.sh): sourced
# after tests/lib.sh.  Starts the relay behind the web server as in
# production (the broker with --socket-group, a fast and a slow fake AWTRIX
# with an agent each, a copy of awtrix-cloud.fcgi the web user may run) and
# defines the helpers that speak HTTP to it.

# --- the relay behind the web server -------------------------------------------
# The rate limit is not under test here (30-relay.sh has it; 47-browser.sh
# sets WEB_RATE and WEB_BURST to see the page show it).
export AWTRIX_BROKER_RATE=${WEB_RATE:-100000} AWTRIX_BROKER_BURST=${WEB_BURST:-100000}
# The web server and its FastCGI processes drop to www-data when started as root:
# they must reach the program and the broker socket like in production
# (--socket-group), and nothing else.
if [ "$(id -u)" = 0 ]; then
	WEBUSER=www-data WEBGROUP=www-data
else
	WEBUSER=$(id -un) WEBGROUP=$(id -gn)
fi
chmod 711 "$T"
mkdir -p "$T/prog"
# AWTRIX_TEST_FCGI: another build of it (make tsan-test).
cp "${AWTRIX_TEST_FCGI:-$BIN/awtrix-cloud.fcgi}" "$T/prog/awtrix-cloud.fcgi"
chmod 755 "$T/prog" "$T/prog/awtrix-cloud.fcgi"
PROG=$T/prog/awtrix-cloud.fcgi

start_fake slowfake --delay-ms 3000
SLOW_PORT=$FAKE_PORT
start_fake fake
start_broker --socket-group "$WEBGROUP"
start_agent a "http://127.0.0.1:$FAKE_PORT/api/"
start_agent s "http://127.0.0.1:$SLOW_PORT/api/"
wait_for stat_is devices_connected 2 ||
    not_up "the agents' link to the broker" "$T/a.log" "$T/s.log" "$T/broker.log"
TOKEN=$(token_of a)
SLOW_TOKEN=$(token_of s)
UNKNOWN=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
NOTIFY='{"text":"New mail from Alice","color":"#00FF00","duration":10}'

head -c 17000 /dev/zero | tr '\0' a | sed 's/^/{"text":"/; s/$/"}/' >"$T/17k.json"
head -c 100000 /dev/zero | tr '\0' a | sed 's/^/{"text":"/; s/$/"}/' >"$T/100k.json"

# --- helpers --------------------------------------------------------------------
# req ARGS...: one curl request; STATUS, headers in $T/r.h, body in $T/r.b.
req() {
	STATUS=$(curl -sS -o "$T/r.b" -D "$T/r.hr" -w '%{http_code}' \
	    --max-time 30 "$@" 2>>"$T/curl.err") || STATUS=000
	tr -d '\r' <"$T/r.hr" >"$T/r.h"
}
# is STATUS [SLUG]: the last answer had this status (and JSON error slug).
is() {
	[ "$STATUS" = "$1" ] || {
		echo "# got $STATUS: $(head -c 200 "$T/r.b")" >&2; return 1; }
	[ -z "${2:-}" ] || grep -q "\"error\":\"$2\"" "$T/r.b"
}
hdr() { sed -n "s/^$1: //Ip" "$T/r.h" | head -n 1; }
is_json() { hdr Content-Type | grep -q '^application/json'; }
allow_ok() { grep -qi '^Allow: GET, POST$' "$T/r.h"; }
# device_lines: how many requests the fake AWTRIX got so far.
device_lines() { wc -l <"$T/fake.requests"; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# our_fcgi: the PIDs of this scenario's FastCGI processes (our own copy).
our_fcgi() { pgrep -f "^$PROG" || true; }
fcgi_count_ge() { test "$(our_fcgi | wc -l)" -ge "$1"; }
no_fcgi_left() { test -z "$(our_fcgi)"; }
# lines_are N FILES...: the files hold N lines in all.
lines_are() { n=$1; shift; test "$(cat "$@" 2>/dev/null | wc -l)" = "$n"; }
# raw PORT: send stdin as it is, answer (until the server closes) to
# $T/raw.resp; raw_status, raw_body: its status and what came after the head.
raw() {
	exec 6<>"/dev/tcp/127.0.0.1/$1"
	cat >&6
	timeout 20 cat <&6 >"$T/raw.resp"
	exec 6<&-
}
raw_status() { head -n 1 "$T/raw.resp" | cut -d' ' -f2; }
raw_body() { sed '1,/^\r\{0,1\}$/d' "$T/raw.resp"; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
# notify_many N TAG: N concurrent notifies; their statuses in $T/conc.*.
notify_many() {
	rm -f "$T"/conc.*
	for i in $(seq 1 "$1"); do
		curl -s -o /dev/null -w '%{http_code}\n' --max-time 30 -X POST \
		    -H 'Content-Type: application/json' \
		    --data-binary "{\"text\":\"$2$i\"}" \
		    "$URL?mode=notify&token=$TOKEN" >"$T/conc.$i" &
	done
	wait_for lines_are "$1" "$T"/conc.*
}

# count_200: how many of notify_many's answers were 200.
count_200() { cat "$T"/conc.* | grep -c '^200$'; }
# burst_ok N: of notify_many's N answers, each is 200 or 429 (the broker
# holds at most 4 requests in flight per device, docs/protocol.md
# "Fairness"), and at least 4 are 200.
burst_ok() {
	test "$(cat "$T"/conc.* | grep -c -e '^200$' -e '^429$')" = "$1" &&
	    test "$(count_200)" -ge 4
}
# gone PID...: every one of them has exited.
gone() { for p in "$@"; do kill -0 "$p" 2>/dev/null && return 1; done; return 0; }

# check_broker_restart LABEL SERVER SERVER_PID: with the broker down the
# program answers 503; after a broker restart, without touching the web
# server, concurrent and sequential notifies work again.
check_broker_restart() {
	stop "$BROKER_PID" >/dev/null
	req -X POST -H 'Content-Type: application/json' --data-binary '{"text":"x"}' \
	    "$URL?mode=notify&token=$TOKEN"
	check "${1}broker down: 503 relay_unavailable" is 503 relay_unavailable
	check "${1}...with Retry-After" test -n "$(hdr Retry-After)"
	start_broker --socket-group "$WEBGROUP"
	i=0
	while ! stat_is devices_connected 2 && [ $i -lt 300 ]; do
		sleep 0.1; i=$((i + 1))
	done
	stat_is devices_connected 2 ||
	    not_up "the agents' link to the new broker" "$T/a.log" "$T/s.log" "$T/broker.log"
	check "${1}the agents reconnect to the new broker" stat_is devices_connected 2
	notify_many 8 "${1}r"
	check "${1}after the restart every process reconnects: 8 concurrent notifies, $(count_200) x 200, the rest 429" \
	    burst_ok 8
	req -X POST -H 'Content-Type: application/json' --data-binary '{"text":"healed"}' \
	    "$URL?mode=notify&token=$TOKEN"
	check "${1}...and a sequential one: 200" is 200
	check "${1}$2 itself was not restarted" kill -0 "$3"
}

# check_term_busy LABEL: SIGTERM to every FastCGI process while one of them
# waits on the slow device: that request still gets its 200, and all exit.
check_term_busy() {
	before=$(our_fcgi | tr '\n' ' ')
	curl -s -o /dev/null -w '%{http_code}' --max-time 30 -X POST \
	    -H 'Content-Type: application/json' --data-binary '{"text":"term"}' \
	    "$URL?mode=notify&token=$SLOW_TOKEN" >"$T/termreq.status" &
	TERMREQ=$!
	sleep 0.5
	# shellcheck disable=SC2086
	kill -TERM $before 2>/dev/null
	wait "$TERMREQ"
	check "${1}SIGTERM to every FastCGI process: the busy one still answers 200" \
	    test "$(cat "$T/termreq.status")" = 200
	# shellcheck disable=SC2086
	check "${1}...and every one of them exits" wait_for gone $before
}

# check_ops_paths LABEL: the shipped configuration routes /metrics and
# /healthz to the program; /metrics only from the loopback address
# 127.0.0.1 (a client from 127.0.0.2 stands for any other network).
check_ops_paths() {
	base=${URL%/cloud}
	req "$base/healthz"
	check "${1}/healthz: 200 ok" eval 'is 200 && test "$(cat "$T/r.b")" = ok'
	req --interface 127.0.0.2 "$base/healthz"
	check "${1}/healthz from another address: 200 too" is 200
	req "$base/metrics"
	check "${1}/metrics from 127.0.0.1: 200, the exposition format" eval '
	    is 200 && hdr Content-Type | grep -q "^text/plain; version=0.0.4" &&
	    grep -q "^awtrix_requests_total{" "$T/r.b"'
	req --interface 127.0.0.2 "$base/metrics"
	check "${1}/metrics from another address: refused ($STATUS), no figures" eval '
	    test "$STATUS" = 403 -o "$STATUS" = 404 && ! grep -q awtrix_ "$T/r.b"'
}

# check_hostile_answers LABEL: issue 10, case 1 through the web server: two
# modified agents (tests/tools/hostile-agent.c) answer with status 100 and an
# HTTP response as body, and with text/html and a script; the relay must
# answer 502 and pass on neither.  A genuine answer carries the headers that
# forbid sniffing and running it.
check_hostile_answers() {
	hbody=$(printf 'HTTP/1.1 302 Found\r\nLocation: https://evil.test/\r\nSet-Cookie: sid=attacker; Path=/\r\nContent-Length: 0\r\n\r\n')
	hpids=""
	for h in "h100:100:text/plain:$hbody" "hhtml:200:text/html:<script>alert(1)</script>"; do
		hn=${h%%:*}; rest=${h#*:}; hs=${rest%%:*}; rest=${rest#*:}
		hc=${rest%%:*}; hb=${rest#*:}
		rm -f "$T/$hn.out"
		spawn "$hn" "$TBIN/hostile-agent" answer "127.0.0.1:$BROKER_PORT" \
		    "$BROKER_PUB" "$T/$hn" "$hs" "$hc" "$hb"
		hpids="$hpids $LASTPID"
		wait_for grep -q registered "$T/$hn.out"
	done
	req -X POST -H 'Content-Type: application/json' --data-binary "$NOTIFY" \
	    "$URL?mode=notify&token=$(cat "$T/h100.token")"
	check "${1}1 answer rules: an agent's status 100 with an HTTP response as body: 502" \
	    is 502 device_unreachable
	check "${1}...no Set-Cookie, no Location from the agent" \
	    sh -c "! grep -qi -e '^Set-Cookie' -e '^Location: https://evil' '$T/r.h'"
	req -X POST -H 'Content-Type: application/json' --data-binary "$NOTIFY" \
	    "$URL?mode=notify&token=$(cat "$T/hhtml.token")"
	check "${1}1 answer rules: text/html with a script: 502, not served" \
	    sh -c "test '$STATUS' = 502 && ! grep -q script '$T/r.b'"
	req -X POST -H 'Content-Type: application/json' --data-binary "$NOTIFY" \
	    "$URL?mode=notify&token=$TOKEN"
	check "${1}1 answer rules: a device's answer has nosniff and CSP default-src 'none'; sandbox" \
	    sh -c "test '$STATUS' = 200 && grep -qi '^X-Content-Type-Options: nosniff' '$T/r.h' && \
	    grep -qi \"^Content-Security-Policy: default-src 'none'; sandbox\" '$T/r.h'"
	for p in $hpids; do kill "$p" 2>/dev/null; done
}

# check_hostile_mute LABEL: issue 10, case 3 through the web server: an
# agent that answers PINGs but never a request, 24 parallel callers on its
# token; other devices' notifications still get 200 (the broker holds 4 of
# the mute device's requests and answers the rest at once; how long the
# others wait for a FastCGI process is the front end's business, issue 11:
# printed, not asserted).
check_hostile_mute() {
	rm -f "$T/hmute.out" "$T"/hm.* "$T"/ho.*
	spawn hmute "$TBIN/hostile-agent" mute "127.0.0.1:$BROKER_PORT" \
	    "$BROKER_PUB" "$T/hmute"
	hmpid=$LASTPID
	wait_for grep -q registered "$T/hmute.out"
	hm_t0=$(broker_stat device_timeout)
	for i in $(seq 1 24); do
		curl -s -o /dev/null -w '%{http_code}\n' --max-time 30 -X POST \
		    -H 'Content-Type: application/json' --data-binary "$NOTIFY" \
		    "$URL?mode=notify&token=$(cat "$T/hmute.token")" >"$T/hm.$i" &
	done
	sleep 1
	t0=$(date +%s%N)
	for i in 1 2 3 4; do
		curl -s -o /dev/null -w '%{http_code}\n' --max-time 30 -X POST \
		    -H 'Content-Type: application/json' --data-binary "{\"text\":\"other $i\"}" \
		    "$URL?mode=notify&token=$TOKEN" >"$T/ho.$i" &
	done
	wait_for lines_are 4 "$T"/ho.* || wait_for lines_are 4 "$T"/ho.* ||
	    wait_for lines_are 4 "$T"/ho.*
	echo "# ${1}4 other notifications during the mute flood: $(ms_since "$t0") ms (figure, not asserted)"
	check "${1}3 fairness: 24 callers on a mute agent, other devices get 200 ($(cat "$T"/ho.* | grep -c '^200$') of 4)" \
	    test "$(cat "$T"/ho.* | grep -c '^200$')" = 4
	wait_for lines_are 24 "$T"/hm.* || wait_for lines_are 24 "$T"/hm.* ||
	    wait_for lines_are 24 "$T"/hm.*
	# The broker's count says how long the device held its slots: the
	# third time-out in a row starts the cool-off, and up to 3 more may
	# already be in flight then (the cap is 4): at most 6.
	hm_n=$(( $(broker_stat device_timeout) - hm_t0 ))
	check "${1}3 fairness: the broker timed out at most 6 of the mute token's requests ($hm_n), then cooled it off (callers got: $(sort "$T"/hm.* | uniq -c | tr '\n' ' '))" \
	    test "$hm_n" -le 6 -a "$(cat "$T"/hm.* | grep -c '^200$')" = 0
	kill "$hmpid" 2>/dev/null
}
