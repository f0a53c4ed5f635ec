# Goal: both shipped Apache sites, apache/awtrix-cloud-proxy-fcgi.conf (the
# program under spawn-fcgi on a Unix socket) and apache/awtrix-cloud-fcgid.conf
# (mod_fcgid starts it), under a real Apache 2.4 with mpm_event, in front of
# the real awtrix-cloud.fcgi, broker, agents and fake AWTRIX: every answer a
# client can get through them (HEAD, OPTIONS, TRACE and oversized bodies
# included), concurrency, a broker restart that heals without restarting
# Apache, SIGTERM to busy FastCGI processes, and logs that hold no token and
# no query string.
. "$(dirname "$0")/../lib.sh"

APACHE=$(command -v apache2 || echo /usr/sbin/apache2)
SPAWN_FCGI=$(command -v spawn-fcgi || echo /usr/bin/spawn-fcgi)
MODS=/usr/lib/apache2/modules
if [ ! -x "$APACHE" ] || [ ! -x "$SPAWN_FCGI" ] || [ ! -f "$MODS/mod_fcgid.so" ]; then
	not_ok "apache2, libapache2-mod-fcgid and spawn-fcgi are installed (scripts/deps test)"
	exit 1
fi

. "$(dirname "$0")/../web.sh"

# --- Apache-only helpers --------------------------------------------------------
# from_program: the answer was made by awtrix-cloud.fcgi, not Apache.
from_program() { grep -qi '^X-Content-Type-Options: nosniff' "$T/r.h"; }
# by_program STATUS [SLUG] / by_apache STATUS SLUG: that answer, made by
# the program / by Apache itself (then JSON all the same).
by_program() { is "$@" && from_program; }
by_apache() { is "$@" && ! from_program && is_json; }


# --- Apache with a shipped site ---------------------------------------------------------
# gen_site VARIANT: the shipped file with test paths and ports; TLS is left
# out (no certificate in a test).  Every other directive is as shipped.
gen_site() {
	sed -e "s|^Define AWTRIX_HOST .*|Define AWTRIX_HOST 127.0.0.1|" \
	    -e "s|^Define AWTRIX_FCGI_SOCKET .*|Define AWTRIX_FCGI_SOCKET $A/run/fcgi.sock|" \
	    -e "s|^Define AWTRIX_PROGRAM_DIR .*|Define AWTRIX_PROGRAM_DIR $T/prog|" \
	    -e "s|^Define AWTRIX_BROKER_SOCKET .*|Define AWTRIX_BROKER_SOCKET $BROKER_SOCK|" \
	    -e "s|^Define AWTRIX_DOCROOT .*|Define AWTRIX_DOCROOT $A/www|" \
	    -e "s|^Define AWTRIX_ACME_ROOT .*|Define AWTRIX_ACME_ROOT $A/acme|" \
	    -e "s|^Define AWTRIX_LOG_DIR .*|Define AWTRIX_LOG_DIR $A/logs|" \
	    -e '/^[[:space:]]*SSL/d' \
	    -e "s|<VirtualHost \*:443>|<VirtualHost 127.0.0.1:$PORT>|" \
	    -e "s|<VirtualHost \*:80>|<VirtualHost 127.0.0.1:$PORT80>|" \
	    "$ROOT/apache/awtrix-cloud-$1.conf"
}

# gen_main VARIANT: what Debian's apache2.conf, mpm_event and the enabled
# modules provide around the site (a2enmod ssl is left out with TLS).
gen_main() {
	cat <<EOF
ServerRoot "$A"
DefaultRuntimeDir "$A/run"
PidFile "$A/run/apache.pid"
ServerName 127.0.0.1
Listen 127.0.0.1:$PORT
Listen 127.0.0.1:$PORT80
ErrorLog "$T/apache-$1.log"
LogLevel warn
LoadModule mpm_event_module $MODS/mod_mpm_event.so
LoadModule authz_core_module $MODS/mod_authz_core.so
LoadModule authz_host_module $MODS/mod_authz_host.so
LoadModule alias_module $MODS/mod_alias.so
LoadModule headers_module $MODS/mod_headers.so
LoadModule reqtimeout_module $MODS/mod_reqtimeout.so
LoadModule rewrite_module $MODS/mod_rewrite.so
# Debian's security.conf
TraceEnable Off
ServerTokens OS
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

# spawn_fcgi: the program on $A/run/fcgi.sock, 2 processes, as
# apache/awtrix-cloud-proxy-fcgi.conf says; their PIDs join the cleanup.
spawn_fcgi() {
	sp=""
	[ "$(id -u)" = 0 ] && sp="-u $WEBUSER -g $WEBGROUP -U $WEBUSER -G $WEBGROUP"
	# shellcheck disable=SC2086
	env AWTRIX_BROKER_SOCKET="$BROKER_SOCK" AWTRIX_TIMEOUT_MS=10000 \
	    AWTRIX_MAX_BODY=16384 AWTRIX_THREADS=512 "$SPAWN_FCGI" \
	    -s "$A/run/fcgi.sock" -M 0660 $sp -F 2 -- "$PROG" >"$T/spawn-fcgi.out" 2>>"$T/fcgi-proxy.log"
	SPAWNED=$(sed -n 's/.*PID: *\([0-9]*\).*/\1/p' "$T/spawn-fcgi.out" | tr '\n' ' ')
	PIDS="$PIDS $SPAWNED"
	[ -S "$A/run/fcgi.sock" ] || not_up spawn-fcgi "$T/spawn-fcgi.out" "$T/fcgi-proxy.log"
}

# configtest: apache2 -t on $A/apache.conf; its complaints as comments.
configtest() {
	"$APACHE" -t -f "$A/apache.conf" >"$A/configtest.out" 2>&1 ||
	    { sed 's/^/# /' "$A/configtest.out" >&2; return 1; }
}

run_variant() {
	V=$1
	A=$T/apache-$V
	mkdir -p "$A/run" "$A/logs" "$A/www" "$A/fcgid" "$A/acme/.well-known/acme-challenge"
	echo challenge-answer >"$A/acme/.well-known/acme-challenge/t0ken"
	[ "$(id -u)" = 0 ] && chown "$WEBUSER:$WEBGROUP" "$A/fcgid"
	PORT=$(free_port)
	PORT80=$(free_port)
	URL=http://127.0.0.1:$PORT/cloud
	gen_site "$V" >"$A/site.conf"
	gen_main "$V" >"$A/apache.conf"

	check "$V: the shipped site passes apache2 -t" configtest
	if [ "$V" = proxy-fcgi ]; then
		spawn_fcgi
		check "$V: spawn-fcgi starts 2 processes" \
		    test "$(echo $SPAWNED | wc -w)" = 2
	fi
	spawn "apache-$V-main" "$APACHE" -f "$A/apache.conf" -DFOREGROUND
	APACHE_PID=$LASTPID
	{ wait_for listening "$PORT" && wait_for listening "$PORT80"; } ||
	    not_up "Apache ($V)" "$T/apache-$V-main.log" "$T/apache-$V.log" \
	    "$A/logs/awtrix-cloud-error.log"
	check "$V: Apache listens (mpm_event)" listening "$PORT"

	# A slow client, judged at the end: headers and part of a body, then
	# nothing.  mod_reqtimeout must cut it; the device must never see it.
	SLOWBODY_T0=$(date +%s%N)
	(
		exec 5<>"/dev/tcp/127.0.0.1/$PORT"
		printf 'POST /cloud?mode=notify HTTP/1.1\r\nHost: cloud.test\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"text":"slowloris' "$TOKEN" >&5
		timeout 40 cat <&5 >"$A/slowbody.resp"
		echo $(( ($(date +%s%N) - SLOWBODY_T0) / 1000000 )) >"$A/slowbody.ms"
	) &
	SLOWBODY_PID=$!

	# --- the requests of the HTTP contract ---
	req -X POST -H 'Content-Type: application/json' --data-binary "$NOTIFY" \
	    "$URL?mode=notify&token=$TOKEN"
	check "$V: notify through Apache: 200" is 200
	check "$V: ...the device's body" test "$(cat "$T/r.b")" = OK
	check "$V: ...reached the fake AWTRIX with the JSON body" \
	    reached "POST /api/notify ctype=application/json auth=no len=${#NOTIFY} body=$NOTIFY"
	check "$V: the program runs as $WEBUSER" sh -c \
	    "ps -o user= -p \"\$(pgrep -f '^$PROG' | head -n 1)\" | grep -qx '$WEBUSER'"

	req "$URL?mode=stats&token=$TOKEN"
	check "$V: GET stats: 200 with the device's JSON" is 200
	check "$V: ...its body" grep -q '"version":"0.98"' "$T/r.b"
	check "$V: ...as application/json" is_json

	req -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	    --data-binary "{\"text\":\"bearer via $V\"}" "$URL?mode=notify"
	check "$V: Authorization: Bearer reaches the program (CGIPassAuth): 200" is 200
	check "$V: ...and the device" reached "body={\"text\":\"bearer via $V\"}"

	req -X POST -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' \
	    --data-binary "{\"text\":\"chunked via $V\"}" "$URL?mode=notify&token=$TOKEN"
	check "$V: a chunked body (no Content-Length): 200" is 200
	check "$V: ...reached the device whole" reached "body={\"text\":\"chunked via $V\"}"

	req -X POST "$URL?mode=notify/dismiss&token=$TOKEN"
	check "$V: a POST with no body reaches the program (not 411)" by_program 200
	check "$V: ...and the device, with an empty body" test "$(tail -n 1 "$T/fake.requests")" = \
	    'POST /api/notify/dismiss ctype=application/json auth=no len=0 body='

	req -X POST -H 'Content-Type: application/json' --data-binary "$NOTIFY" \
	    "$URL?mode=notify&token=$UNKNOWN"
	check "$V: unknown token: 404 device_offline" is 404 device_offline
	check "$V: ...JSON" is_json

	n=$(device_lines)
	req -X POST -H 'Content-Type: application/json' --data-binary @"$T/17k.json" \
	    "$URL?mode=notify&token=$TOKEN"
	check "$V: body over AWTRIX_MAX_BODY (17 kB): 413 body_too_large" is 413 body_too_large
	check "$V: ...from the program, JSON" sh -c "grep -qi '^Content-Type: application/json' '$T/r.h'"
	check "$V: ...made by the program" from_program
	req -X POST -H 'Content-Type: application/json' --data-binary @"$T/100k.json" \
	    "$URL?mode=notify&token=$TOKEN"
	check "$V: Content-Length over 32 KiB: 413 body_too_large" is 413 body_too_large
	check "$V: ...from Apache, JSON all the same" by_apache 413 body_too_large
	req -X POST -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' \
	    --data-binary @"$T/100k.json" "$URL?mode=notify&token=$TOKEN"
	check "$V: 100 kB chunked: 413 body_too_large" is 413 body_too_large
	req --http2 -X POST -H 'Content-Type: application/json' \
	    --data-binary @"$T/100k.json" "$URL?mode=notify&token=$TOKEN"
	check "$V: a body over the limit with curl --http2: 413 JSON (the site speaks HTTP/1.1 only)" \
	    by_apache 413 body_too_large
	# 100 chunks of 1000 bytes: Apache cuts it at 32 KiB; what the handler
	# passes on must still be more than the program takes.
	{
		printf 'POST /cloud?mode=rtttl&token=%s HTTP/1.1\r\nHost: cloud.test\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n' "$TOKEN"
		chunk=$(head -c 1000 /dev/zero | tr '\0' b)
		for i in $(seq 1 100); do printf '3e8\r\n%s\r\n' "$chunk"; done
		printf '0\r\n\r\n'
	} | raw "$PORT"
	check "$V: 100 kB in 1000-byte chunks: 413 (got $(raw_status)), never a truncated body" \
	    test "$(raw_status)" = 413
	check "$V: no oversized body reached the device" test "$(device_lines)" = "$n"

	for m in PUT DELETE PATCH OPTIONS FOO; do
		req -X "$m" "$URL?mode=stats&token=$TOKEN"
		check "$V: $m: 405 method_not_allowed from the program" \
		    by_program 405 method_not_allowed
		check "$V: ...with Allow: GET, POST" allow_ok
	done
	req -X TRACE "$URL?mode=stats&token=$TOKEN"
	check "$V: TRACE: 405 method_not_allowed from Apache (TraceEnable off), JSON" \
	    by_apache 405 method_not_allowed
	check "$V: ...with Allow: GET, POST" allow_ok
	check "$V: ...never echoing the request" sh -c "! grep -q '$TOKEN' '$T/r.b'"
	req -X TRACE "http://127.0.0.1:$PORT/elsewhere?token=$TOKEN"
	check "$V: TRACE elsewhere: 405" is 405
	check "$V: ...no echo" sh -c "! grep -q '$TOKEN' '$T/r.b'"
	req -I "$URL?mode=stats&token=$TOKEN"
	check "$V: HEAD reaches the program as HEAD (not turned into GET): 405" \
	    by_program 405
	check "$V: ...with Allow: GET, POST" allow_ok
	printf 'HEAD /cloud?mode=stats&token=%s HTTP/1.1\r\nHost: cloud.test\r\nConnection: close\r\n\r\n' \
	    "$TOKEN" | raw "$PORT"
	check "$V: ...and no body on the wire" test -z "$(raw_body)"
	check "$V: no HEAD/OPTIONS/PUT/TRACE/... reached the device" \
	    test "$(device_lines)" = "$n"

	for p in /cloud/anything-else /cloud/ /cloudx /; do
		req "http://127.0.0.1:$PORT$p?mode=notify&token=$TOKEN"
		check "$V: GET $p: 404, not the program" is 404
	done
	check "$V: ...and nothing reached the device" test "$(device_lines)" = "$n"

	req "http://127.0.0.1:$PORT80/cloud?mode=stats&token=$TOKEN"
	check "$V: plain HTTP: 301 to https" is 301
	check "$V: ...same path and query" test "$(hdr Location)" = \
	    "https://127.0.0.1/cloud?mode=stats&token=$TOKEN"
	req "http://127.0.0.1:$PORT80/"
	check "$V: plain HTTP /: 301 to https://127.0.0.1/" \
	    sh -c "[ $STATUS = 301 ] && [ '$(hdr Location)' = https://127.0.0.1/ ]"
	req "http://127.0.0.1:$PORT80/.well-known/acme-challenge/t0ken"
	check "$V: plain HTTP: Let's Encrypt's challenge is served (certbot --webroot)" \
	    sh -c "[ $STATUS = 200 ] && grep -q challenge-answer '$T/r.b'"

	# --- several processes ---
	t0=$(date +%s%N)
	curl -s -o /dev/null -w '%{http_code}' --max-time 30 -X POST \
	    -H 'Content-Type: application/json' --data-binary '{"text":"slow"}' \
	    "$URL?mode=notify&token=$SLOW_TOKEN" >"$T/slowreq.status" &
	SLOWREQ=$!
	sleep 0.3
	req "$URL?mode=stats&token=$TOKEN"
	fast_ms=$(ms_since "$t0")
	[ -s "$T/slowreq.status" ] && slow_pending=no || slow_pending=yes
	check "$V: a request is answered while another waits for a slow device" is 200
	check "$V: ...while the slow one is still pending ($fast_ms ms; the device takes 3000)" \
	    test "$slow_pending" = yes
	wait "$SLOWREQ"
	check "$V: ...and the slow one gets its 200" test "$(cat "$T/slowreq.status")" = 200
	notify_many 8 "$V-c"
	check "$V: 8 concurrent notifies to one clock: $(count_200) x 200, the rest 429" \
	    burst_ok 8
	check "$V: ...every one answered 200 reached the device" \
	    test "$(grep -c "body={\"text\":\"$V-c[1-8]\"}" "$T/fake.requests")" = "$(count_200)"
	check "$V: several FastCGI processes served them ($(our_fcgi | wc -l))" \
	    fcgi_count_ge 2

	# --- a broker restart heals without restarting Apache ---
	check_hostile_answers "$V: "
	check_hostile_mute "$V: "
	check_broker_restart "$V: " Apache "$APACHE_PID"
	check_ops_paths "$V: "

	# --- SIGTERM to the FastCGI processes while one is busy ---
	check_term_busy "$V: "
	req -X POST -H 'Content-Type: application/json' --data-binary '{"text":"after term"}' \
	    "$URL?mode=notify&token=$TOKEN"
	if [ "$V" = fcgid ]; then
		check "$V: mod_fcgid starts new ones: the next notify gets 200" is 200
	else
		check "$V: no FastCGI process left: 503 relay_unavailable from Apache, JSON" \
		    by_apache 503 relay_unavailable
		check "$V: ...with Retry-After" test -n "$(hdr Retry-After)"
		spawn_fcgi
		req -X POST -H 'Content-Type: application/json' \
		    --data-binary '{"text":"after term"}' "$URL?mode=notify&token=$TOKEN"
		check "$V: spawn-fcgi again: 200, Apache untouched" is 200
	fi

	# --- the slow client ---
	wait "$SLOWBODY_PID"
	check "$V: a client that stalls mid-body is cut (after $(cat "$A/slowbody.ms") ms)" \
	    test "$(cat "$A/slowbody.ms")" -lt 30000
	echo "# $V: Apache's answer to it: '$(head -n 1 "$A/slowbody.resp" | tr -d '\r')'"
	check "$V: ...and never reaches the device" sh -c "! grep -q slowloris '$T/fake.requests'"

	# --- stop ---
	stop "$APACHE_PID" >/dev/null
	check "$V: Apache stopped, its children too" wait_for apache_gone
	if [ "$V" = proxy-fcgi ]; then
		# shellcheck disable=SC2086
		kill $SPAWNED 2>/dev/null
	fi
	check "$V: no FastCGI process left" wait_for no_fcgi_left

	# --- the logs: no token, no query string ---
	check "$V: the access log has the requests (\"POST /cloud HTTP/1.1\" 200)" \
	    grep -q '"POST /cloud HTTP/1.1" 200 ' "$A/logs/awtrix-cloud-access.log"
	for f in "$A/logs/awtrix-cloud-access.log" "$A/logs/awtrix-cloud-error.log" \
	    "$T/apache-$V.log" "$T/fcgi-proxy.log"; do
		[ -f "$f" ] || continue
		not_in "$f" "token" "$TOKEN"
		not_in "$f" "token of the slow device" "$SLOW_TOKEN"
		not_in "$f" "unknown token" "$UNKNOWN"
		not_in "$f" "'token='" "token="
		not_in "$f" "'mode='" "mode="
		not_in "$f" "'Bearer'" "Bearer"
		not_in "$f" "'?' (no query string at all)" "?"
	done
}
apache_gone() { ! pgrep -f "^$APACHE -f $A/apache.conf" >/dev/null; }
# not_in FILE LABEL STRING: FILE does not contain STRING.
not_in() {
	check "$V: $(basename "$1") holds no $2" sh -c "! grep -qF -- '$3' '$1'"
}

# --- a server that does not come up says why ------------------------------------
# free_port once picked ports in the kernel's ephemeral range, where a port
# nobody listens on may still be held by a client connection in TIME_WAIT:
# then Apache could not bind it, and nothing said so.
eph=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range)
picked=$(for i in $(seq 1 50); do free_port; done | sort -n | tail -n 1)
check "free_port picks below the ephemeral range ($eph; highest of 50: $picked)" \
    test "$picked" -lt "$eph"
A=$T/apache-busy
mkdir -p "$A/run"
cat >"$A/apache.conf" <<EOF
ServerRoot "$A"
DefaultRuntimeDir "$A/run"
PidFile "$A/run/apache.pid"
ServerName 127.0.0.1
Listen 127.0.0.1:$BROKER_PORT
ErrorLog "$T/apache-busy.log"
LoadModule mpm_event_module $MODS/mod_mpm_event.so
LoadModule authz_core_module $MODS/mod_authz_core.so
EOF
spawn apache-busy-main "$APACHE" -f "$A/apache.conf" -DFOREGROUND
wait_for gone "$LASTPID"
not_up "Apache on a port in use" "$T/apache-busy-main.log" "$T/apache-busy.log" \
    >"$T/notup.out"
sed -n '1,4p' "$T/notup.out"
check "a server that does not come up: the test prints its error log (\"# \" lines)" \
    grep -q "^#   .*could not bind to address 127.0.0.1:$BROKER_PORT" "$T/notup.out"

# APACHE_VARIANTS="fcgid" runs one of them only.
for v in ${APACHE_VARIANTS:-proxy-fcgi fcgid}; do run_variant "$v"; done
