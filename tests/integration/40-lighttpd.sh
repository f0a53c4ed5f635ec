# Goal: the shipped lighttpd/awtrix-cloud.conf, under a real lighttpd that
# starts the real awtrix-cloud.fcgi (several processes) in front of the real
# broker, agents and fake AWTRIX: every answer a client can get through it,
# concurrency, a broker restart that heals without restarting lighttpd,
# SIGTERM to busy FastCGI processes, the external-socket variant, and logs
# that hold no token and no query string.
. "$(dirname "$0")/../lib.sh"

LIGHTTPD=$(command -v lighttpd || echo /usr/sbin/lighttpd)
SPAWN_FCGI=$(command -v spawn-fcgi || echo /usr/bin/spawn-fcgi)
NGHTTP=$(command -v nghttp || echo /usr/bin/nghttp)
if [ ! -x "$LIGHTTPD" ] || [ ! -x "$SPAWN_FCGI" ] || [ ! -x "$NGHTTP" ]; then
	not_ok "lighttpd, spawn-fcgi and nghttp2-client are installed (scripts/deps test)"
	exit 1
fi

. "$(dirname "$0")/../web.sh"

# --- lighttpd with the shipped configuration -------------------------------------
L=$T/lighttpd
mkdir -p "$L/www" "$L/run" "$L/acme/.well-known/acme-challenge"
cp -R "$ROOT/lighttpd/errors" "$L/errors"
echo challenge-answer >"$L/acme/.well-known/acme-challenge/t0ken"
: >"$T/lighttpd-error.log"
[ "$(id -u)" = 0 ] && chown "$WEBUSER:$WEBGROUP" "$L" "$L/run" "$T/lighttpd-error.log"
PORT=$(free_port)
PORT80=$(free_port)
URL=http://127.0.0.1:$PORT/cloud

# The same directives as shipped; only paths and ports change, TLS is left
# out (no certificate in a test), and the port that stands for :80 is
# matched by socket instead of scheme since the test speaks plain HTTP on
# both.
gen_conf() {
	sed -e "s|^var.awtrix_program .*|var.awtrix_program  = \"$PROG\"|" \
	    -e "s|^var.awtrix_broker .*|var.awtrix_broker   = \"$BROKER_SOCK\"|" \
	    -e "s|^var.awtrix_fcgi_dir .*|var.awtrix_fcgi_dir = \"$L/run\"|" \
	    -e "s|^var.awtrix_log_dir .*|var.awtrix_log_dir  = \"$L\"|" \
	    -e "s|^var.awtrix_acme_root .*|var.awtrix_acme_root = \"$L/acme\"|" \
	    -e "s|^var.awtrix_errors .*|var.awtrix_errors   = \"$L/errors\"|" \
	    -e '/^ssl\./d' -e '/use-ipv6.pl/d' \
	    -e 's/ssl.engine = "enable"/ssl.engine = "disable"/' \
	    -e "s|\"0.0.0.0:443\"|\"127.0.0.1:$PORT\"|" \
	    -e "s|^\$HTTP\[\"scheme\"\] == \"http\"|\$SERVER[\"socket\"] == \"127.0.0.1:$PORT80\"|" \
	    "$ROOT/lighttpd/awtrix-cloud.conf"
}
gen_conf >"$L/awtrix-cloud.conf"
# What Debian's /etc/lighttpd/lighttpd.conf provides around it.
cat >"$L/lighttpd.conf" <<EOF
server.modules = ( "mod_indexfile", "mod_access", "mod_alias", "mod_redirect" )
server.document-root = "$L/www"
server.bind = "127.0.0.1"
server.port = $PORT
server.errorlog = "$T/lighttpd-error.log"
server.pid-file = "$L/lighttpd.pid"
server.username = "$WEBUSER"
server.groupname = "$WEBGROUP"
index-file.names = ( "index.html" )
include "$L/awtrix-cloud.conf"
server.modules += ( "mod_staticfile" )
EOF

check "the shipped configuration passes lighttpd -tt" \
    "$LIGHTTPD" -tt -f "$L/lighttpd.conf"
spawn lighttpd "$LIGHTTPD" -D -f "$L/lighttpd.conf"
LIGHTTPD_PID=$LASTPID
{ wait_for listening "$PORT" && wait_for listening "$PORT80"; } ||
    not_up lighttpd "$T/lighttpd.log" "$T/lighttpd-error.log"
wait_for fcgi_count_ge 2 || not_up "lighttpd's FastCGI processes" "$T/lighttpd-error.log"
check "lighttpd starts max-procs (2) FastCGI processes" fcgi_count_ge 2
check "...running as $WEBUSER" \
    sh -c "ps -o user= -p \"\$(pgrep -f '^$PROG' | head -n 1)\" | grep -qx '$WEBUSER'"

# A slow client, started now and judged at the end: headers and part of a
# body, then nothing.  lighttpd must cut it (server.max-read-idle) and the
# program must never run it.
SLOWBODY_T0=$(date +%s%N)
(
	exec 5<>"/dev/tcp/127.0.0.1/$PORT"
	printf 'POST /cloud?mode=notify HTTP/1.1\r\nHost: cloud.test\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"text":"slowloris' "$TOKEN" >&5
	timeout 40 cat <&5 >"$T/slowbody.resp"
	echo $(( ($(date +%s%N) - SLOWBODY_T0) / 1000000 )) >"$T/slowbody.ms"
) &
SLOWBODY_PID=$!

# --- the requests of the HTTP contract -------------------------------------------
req -X POST -H 'Content-Type: application/json' --data-binary "$NOTIFY" \
    "$URL?mode=notify&token=$TOKEN"
check "notify through lighttpd: 200" is 200
check "...the device's body" test "$(cat "$T/r.b")" = OK
check "...reached the fake AWTRIX with the JSON body" \
    reached "POST /api/notify ctype=application/json auth=no len=${#NOTIFY} body=$NOTIFY"

n=$(device_lines)
req -X POST "$URL?mode=notify/dismiss&token=$TOKEN"
check "a POST with no body and no Content-Length: 411 from lighttpd (documented limit)" \
    is 411
check "...and it reached neither the program nor the device" test "$(device_lines)" = "$n"
req --http2-prior-knowledge -X POST "$URL?mode=notify/dismiss&token=$TOKEN"
check "...over HTTP/2 as well (lighttpd 1.4.69)" is 411
req -d '' "$URL?mode=notify/dismiss&token=$TOKEN"
check "a POST with no body reaches the program (not 411) with Content-Length: 0 (curl -d '')" \
    is 200
check "...and the device, with an empty body" test "$(tail -n 1 "$T/fake.requests")" = \
    'POST /api/notify/dismiss ctype=application/json auth=no len=0 body='
req --http2-prior-knowledge -d '' "$URL?mode=notify/dismiss&token=$TOKEN"
check "...over HTTP/2 too: 200" is 200

req "$URL?mode=stats&token=$TOKEN"
check "GET stats: 200 with the device's JSON" is 200
check "...its body" grep -q '"version":"0.98"' "$T/r.b"
check "...as application/json" is_json

req -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    --data-binary '{"text":"bearer via lighttpd"}' "$URL?mode=notify"
check "token in Authorization: Bearer reaches the program: 200" is 200
check "...and the device" reached 'body={"text":"bearer via lighttpd"}'

req -X POST -H 'Content-Type: application/json' --data-binary "$NOTIFY" \
    "$URL?mode=notify&token=$UNKNOWN"
check "unknown token: 404 device_offline" is 404 device_offline
check "...JSON" is_json

n=$(device_lines)
req -X POST -H 'Content-Type: application/json' --data-binary @"$T/17k.json" \
    "$URL?mode=notify&token=$TOKEN"
check "body over AWTRIX_MAX_BODY (17 kB): 413 body_too_large from the program" \
    is 413 body_too_large
check "...JSON" is_json
req -X POST -H 'Content-Type: application/json' --data-binary @"$T/100k.json" \
    "$URL?mode=notify&token=$TOKEN"
check "100 kB (under server.max-request-size): the program's 413 body_too_large" \
    is 413 body_too_large
req --http2-prior-knowledge -X POST -H 'Content-Type: application/json' \
    --data-binary @"$T/100k.json" "$URL?mode=notify&token=$TOKEN"
check "a body over the limit over HTTP/2: 413 JSON (h2c, 100 kB, curl)" \
    is 413 body_too_large
check "...JSON" is_json
check "...over HTTP/2 indeed" grep -q '^HTTP/2 413' "$T/r.h"
head -c 1100000 /dev/zero | tr '\0' a | sed 's/^/{"text":"/; s/$/"}/' >"$T/1100k.json"
req -X POST -H 'Content-Type: application/json' --data-binary @"$T/1100k.json" \
    "$URL?mode=notify&token=$TOKEN"
check "body over server.max-request-size (1.1 MB): 413 body_too_large from lighttpd" \
    is 413 body_too_large
check "...as application/json (errors/413.html)" is_json
req -X POST -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' \
    --data-binary @"$T/1100k.json" "$URL?mode=notify&token=$TOKEN"
check "...chunked, no Content-Length: 413 body_too_large too" is 413 body_too_large
# Over HTTP/2 lighttpd answers before the body and ends the stream with
# RST_STREAM(NO_ERROR), which curl 7.88 reports as error 92 (documented in
# the configuration); nghttp shows what every client gets.
timeout 20 "$NGHTTP" -v -d "$T/1100k.json" -H 'content-type: application/json' \
    "$URL?mode=notify&token=$TOKEN" >"$T/nghttp.out" 2>&1
check "...over HTTP/2 (nghttp): 413 from lighttpd" \
    grep -q ':status: 413' "$T/nghttp.out"
check "...with the body_too_large JSON" grep -q '"error":"body_too_large"' "$T/nghttp.out"
check "no oversized body reached the device" test "$(device_lines)" = "$n"

for m in PUT DELETE PATCH OPTIONS TRACE; do
	req -X "$m" "$URL?mode=stats&token=$TOKEN"
	check "$m: 405 method_not_allowed from the program" is 405 method_not_allowed
	check "...with Allow: GET, POST" allow_ok
done
req -I "$URL?mode=stats&token=$TOKEN"
check "HEAD reaches the program as HEAD: 405" is 405
check "...with Allow: GET, POST" allow_ok
printf 'HEAD /cloud?mode=stats&token=%s HTTP/1.1\r\nHost: cloud.test\r\nConnection: close\r\n\r\n' \
    "$TOKEN" | raw "$PORT"
check "...and no body on the wire" test -z "$(raw_body)"
req -X FOO "$URL?mode=stats&token=$TOKEN"
check "a method lighttpd does not know: 501 from lighttpd" is 501
check "no HEAD/OPTIONS/PUT/... reached the device" test "$(device_lines)" = "$n"

for p in /cloud/anything-else /cloud/ /cloudx; do
	req "http://127.0.0.1:$PORT$p?mode=notify&token=$TOKEN"
	check "GET $p: 404, not the program" is 404
done
req "http://127.0.0.1:$PORT/?mode=notify&token=$TOKEN"
check "GET /: 403 (no index, no listing), not the program" is 403
check "...and nothing reached the device" test "$(device_lines)" = "$n"

req "http://127.0.0.1:$PORT80/cloud?mode=stats&token=$TOKEN"
check "plain HTTP: 301 to https" is 301
check "...same path and query" test "$(hdr Location)" = \
    "https://127.0.0.1:$PORT80/cloud?mode=stats&token=$TOKEN"
req "http://127.0.0.1:$PORT80/.well-known/acme-challenge/t0ken"
check "plain HTTP: Let's Encrypt's challenge is served (certbot --webroot)" \
    sh -c "[ $STATUS = 200 ] && grep -q challenge-answer '$T/r.b'"

# --- several processes ------------------------------------------------------------
t0=$(date +%s%N)
curl -s -o "$T/slowreq.b" -w '%{http_code}' --max-time 30 -X POST \
    -H 'Content-Type: application/json' --data-binary '{"text":"slow"}' \
    "$URL?mode=notify&token=$SLOW_TOKEN" >"$T/slowreq.status" &
SLOWREQ=$!
sleep 0.3
req "$URL?mode=stats&token=$TOKEN"
fast_ms=$(ms_since "$t0")
[ -s "$T/slowreq.status" ] && slow_pending=no || slow_pending=yes
check "a request is answered while another waits for a slow device" is 200
check "...while the slow one is still pending ($fast_ms ms; the device takes 3000)" \
    test "$slow_pending" = yes
wait "$SLOWREQ"
check "...and the slow one gets its 200" test "$(cat "$T/slowreq.status")" = 200

notify_many 8 c
check "8 concurrent notifies to one clock: $(count_200) x 200, the rest 429 (4 in flight per device)" \
    burst_ok 8
check "...every one answered 200 reached the device" \
    test "$(grep -c 'body={"text":"c[1-8]"}' "$T/fake.requests")" = "$(count_200)"

# --- a broker restart heals without restarting lighttpd --------------------------------
check_hostile_answers ""
check_hostile_mute ""
check_broker_restart "" lighttpd "$LIGHTTPD_PID"
check_ops_paths ""

# --- SIGTERM to the FastCGI processes while one is busy --------------------------------
check_term_busy ""
req -X POST -H 'Content-Type: application/json' --data-binary '{"text":"respawned"}' \
    "$URL?mode=notify&token=$TOKEN"
check "lighttpd starts new ones: the next notify gets 200" is 200

# --- the slow client ---------------------------------------------------------------------
wait "$SLOWBODY_PID"
check "a client that stalls mid-body is cut by lighttpd (after $(cat "$T/slowbody.ms") ms)" \
    test "$(cat "$T/slowbody.ms")" -lt 30000
echo "# lighttpd's answer to it: '$(head -n 1 "$T/slowbody.resp" | tr -d '\r')'"
check "...and never reaches the device" sh -c "! grep -q slowloris '$T/fake.requests'"

# --- the external-socket variant (commented in the shipped file) ------------------------
stop "$LIGHTTPD_PID" >/dev/null
check "lighttpd stops its FastCGI processes when it stops" \
    wait_for no_fcgi_left
sp=""
[ "$(id -u)" = 0 ] && sp="-u $WEBUSER -g $WEBGROUP -U $WEBUSER -G $WEBGROUP"
# shellcheck disable=SC2086
AWTRIX_BROKER_SOCKET=$BROKER_SOCK "$SPAWN_FCGI" -s "$L/run/fcgi.sock" -M 0660 \
    $sp -F 2 -- "$PROG" >"$T/spawn-fcgi.out" 2>>"$T/spawn-fcgi.log"
PIDS="$PIDS $(sed -n 's/.*PID: *\([0-9]*\).*/\1/p' "$T/spawn-fcgi.out" | tr '\n' ' ')"
[ -S "$L/run/fcgi.sock" ] || not_up spawn-fcgi "$T/spawn-fcgi.out" "$T/spawn-fcgi.log"
gen_conf | sed -e '/^\tfastcgi.server = /,/^\t)))/d' \
    -e '/^\t#fastcgi.server = /,/^\t#)))/s/^\t#/\t/' \
    -e "s|\"/run/awtrix-cloud/fcgi.sock\"|\"$L/run/fcgi.sock\"|" >"$L/awtrix-cloud.conf"
check "the external-socket variant passes lighttpd -tt" \
    "$LIGHTTPD" -tt -f "$L/lighttpd.conf"
spawn lighttpd "$LIGHTTPD" -D -f "$L/lighttpd.conf"
LIGHTTPD_PID=$LASTPID
wait_for listening "$PORT" || not_up lighttpd "$T/lighttpd.log" "$T/lighttpd-error.log"
req -X POST -H 'Content-Type: application/json' --data-binary '{"text":"external"}' \
    "$URL?mode=notify&token=$TOKEN"
check "external socket (spawn-fcgi): notify 200" is 200
check "...reached the device" reached 'body={"text":"external"}'
req -X PUT "$URL?mode=notify&token=$TOKEN"
check "...PUT: 405 with Allow" sh -c "[ $STATUS = 405 ] && grep -qi '^Allow: GET, POST$' '$T/r.h'"
stop "$LIGHTTPD_PID" >/dev/null
for p in $(sed -n 's/.*PID: *\([0-9]*\).*/\1/p' "$T/spawn-fcgi.out"); do kill "$p"; done
check "every FastCGI process is gone" wait_for no_fcgi_left

# --- the logs: no token, no query string ----------------------------------------------
# lighttpd has flushed its access log on exit.
check "the access log has the requests (\"POST /cloud HTTP/1.1\" 200)" \
    grep -q '"POST /cloud HTTP/1.1" 200 ' "$L/access.log"
# not_in FILE LABEL STRING: FILE does not contain STRING.
not_in() { check "$(basename "$1") holds no $2" sh -c "! grep -qF -- '$3' '$1'"; }
for f in "$L/access.log" "$T/lighttpd-error.log"; do
	not_in "$f" "token" "$TOKEN"
	not_in "$f" "token of the slow device" "$SLOW_TOKEN"
	not_in "$f" "unknown token" "$UNKNOWN"
	not_in "$f" "'token='" "token="
	not_in "$f" "'mode='" "mode="
	not_in "$f" "'Bearer'" "Bearer"
	not_in "$f" "'?' (no query string at all)" "?"
done
