# Goal: the owner's page (www/) in a real browser, headless Chromium driven
# by playwright-core (tests/browser/), served by each shipped web-server
# configuration (lighttpd, Apache with mod_fcgid, Apache with
# mod_proxy_fcgi) in front of the real awtrix-cloud.fcgi, broker, agents and
# fake AWTRIX clocks: the live view draws what the clock shows, the form's
# notification reaches the clock as JSON, the agent-offline, clock-unreachable
# and rate-limited states are shown, a hostile device's markup never runs,
# the page keeps its Content-Security-Policy, and the token never reaches an
# access log or stays in the address bar.  Screenshots go to
# tests/artefacts/browser/ (not committed).
. "$(dirname "$0")/../lib.sh"

LIGHTTPD=$(command -v lighttpd || echo /usr/sbin/lighttpd)
APACHE=$(command -v apache2 || echo /usr/sbin/apache2)
SPAWN_FCGI=$(command -v spawn-fcgi || echo /usr/bin/spawn-fcgi)
MODS=/usr/lib/apache2/modules
QRCODE=/usr/share/javascript/qrcode-generator/qrcode.js
CHROME=$(command -v chromium-headless-shell || command -v chromium || true)
if [ ! -x "$LIGHTTPD" ] || [ ! -x "$APACHE" ] || [ ! -x "$SPAWN_FCGI" ] ||
    [ ! -f "$MODS/mod_fcgid.so" ] || [ -z "$CHROME" ] || [ ! -f "$QRCODE" ] ||
    ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	not_ok "lighttpd, apache2, mod_fcgid, spawn-fcgi, chromium, node-qrcode-generator, nodejs and npm are installed (scripts/deps test)"
	exit 1
fi

# playwright-core as pinned in package-lock.json: `npm ci` unless that very
# version is installed already (so a second run needs no registry).
B=$ROOT/tests/browser
want=$(sed -n '/"node_modules\/playwright-core"/,/}/s/.*"version": "\(.*\)".*/\1/p' "$B/package-lock.json")
have=$(sed -n 's/^  "version": "\(.*\)".*/\1/p' "$B/node_modules/playwright-core/package.json" 2>/dev/null)
if [ "$want" != "$have" ]; then
	(cd "$B" && npm ci --no-audit --no-fund --loglevel=error) >"$T/npm.log" 2>&1 ||
	    { not_ok "npm ci in tests/browser"; sed 's/^/#   /' "$T/npm.log"; exit 1; }
fi
ok "playwright-core $want from package-lock.json (npm ci)"

# The token's rate limit is the default one (5/s, burst 10): the page polls
# at 2/s at most, and the rate-limited check spends the budget on purpose.
export WEB_RATE=5 WEB_BURST=10
. "$(dirname "$0")/../web.sh"

# A clock that does not answer, and one that is hostile, each behind an agent.
start_agent u "http://127.0.0.1:$(free_port)/api/"
start_fake hostile --hostile
start_agent h "http://127.0.0.1:$FAKE_PORT/api/"
FAKE_PORT=$(sed -n 's/^port //p' "$T/fake.out" | head -n 1)
check "four agents connected" wait_for stat_is devices_connected 4
UNREACH_TOKEN=$(token_of u)
HOSTILE_TOKEN=$(token_of h)

# The link an owner opens: the broker's --public-url is https://cloud.test/cloud.
check "awtrix-token url --page: the page next to /cloud, token in the fragment" \
    test "$("$BIN/awtrix-token" --state "$T/a" url --page)" = \
    "https://cloud.test/owner/#token=$TOKEN"
"$BIN/awtrix-token" --state "$T/a" url --page extra >/dev/null 2>&1
check "awtrix-token url --page with an extra argument: usage error (2)" test $? = 2
# Other public URLs: the page takes the place of their last path segment.
mkdir -m 700 "$T/pg"
cp -p "$T/a/token" "$T/pg/token"
page_of() {
	(umask 077; printf '%s\n' "$1" >"$T/pg/public-url")
	"$BIN/awtrix-token" --state "$T/pg" url --page
}
check "...a public URL under a prefix: https://example.org/relay/owner/#token=..." \
    test "$(page_of https://example.org/relay/cloud?x=1)" = \
    "https://example.org/relay/owner/#token=$TOKEN"
# The broker refuses such a --public-url, and awtrix-token such a file.
check "...a stored public URL without a path is refused, nothing printed" \
    sh -c "! '$BIN/awtrix-token' --state '$T/pg' url --page >'$T/pg.out' 2>/dev/null &&
        ! test -s '$T/pg.out'" -- "$(page_of https://example.org 2>/dev/null)"

# What `make install` puts in /usr/local/share/awtrix-cloud/www.
mkdir -p "$T/www"
cp "$ROOT"/www/* "$T/www/"
chmod 755 "$T/www"
chmod 644 "$T/www"/*

ART=$ROOT/tests/artefacts/browser
mkdir -p "$ART"
rm -f "$ART"/*.png

# browser LABEL ORIGIN: the node tests against one web server; their TAP
# lines become this scenario's ok / not ok lines.
browser() {
	t0=$(date +%s%N)
	env BASE="$2" SERVER="$1" TOKEN="$TOKEN" FAKE="http://127.0.0.1:$FAKE_PORT" \
	    FAKE_LOG="$T/fake.requests" OFFLINE_TOKEN="$UNKNOWN" \
	    UNREACH_TOKEN="$UNREACH_TOKEN" HOSTILE_TOKEN="$HOSTILE_TOKEN" \
	    CHROME="$CHROME" ARTEFACTS="$ART" \
	    node --test --test-reporter=tap --test-timeout=180000 "$B/owner.test.mjs" \
	    >"$T/node-$1.tap" 2>"$T/node-$1.err"
	rc=$?
	ms=$(ms_since "$t0")
	# Top-level results only (subtests are indented); TAP escapes '#'.
	sed -n -e 's/^not ok [0-9]* - \(.*\)$/notok \1/p' \
	    -e 's/^ok [0-9]* - \(.*\)$/ok \1/p' "$T/node-$1.tap" |
	    sed 's/\\#/#/g' >"$T/node-$1.res"
	while read -r res name; do
		[ "$res" = ok ] && ok "$1: $name"
		[ "$res" = notok ] && not_ok "$1: $name"
	done <"$T/node-$1.res"
	if [ $rc -ne 0 ]; then
		not_ok "$1: node --test exited $rc"
		# Each failure's YAML block: where, what was expected, what came.
		awk '/^not ok/ { on = 1 } on { print } /^  \.\.\.$/ { on = 0 }' \
		    "$T/node-$1.tap" | grep -v '^ *at ' | head -60 | sed 's/^/#   /'
		tail -n 20 "$T/node-$1.err" | sed 's/^/#   /'
	fi
	echo "# $1: the browser tests took $ms ms"
}

# owner_redirect LABEL ORIGIN: /owner without its slash leads to /owner/.
owner_redirect() {
	req "$2/owner"
	check "$1: /owner redirects to /owner/ ($STATUS)" \
	    sh -c "[ '$STATUS' -ge 301 ] && [ '$STATUS' -le 308 ] &&
	        echo '$(hdr Location)' | grep -q '/owner/\$'"
}

# token_nowhere LABEL FILES...: no token in any of these logs.
token_nowhere() {
	label=$1; shift
	for f in "$@"; do
		[ -f "$f" ] || continue
		for tok in "$TOKEN" "$UNREACH_TOKEN" "$HOSTILE_TOKEN" "$UNKNOWN"; do
			grep -qF -- "$tok" "$f" && {
				not_ok "$label: $(basename "$f") holds a token"; continue 2; }
		done
		ok "$label: $(basename "$f") holds no token"
	done
}

# --- lighttpd with the shipped configuration --------------------------------------
# BROWSER_SERVERS="lighttpd fcgid proxy-fcgi" (the default) or fewer.
SERVERS=${BROWSER_SERVERS:-lighttpd fcgid proxy-fcgi}
L=$T/lighttpd
mkdir -p "$L/www" "$L/run" "$L/acme"
: >"$T/lighttpd-error.log"
[ "$(id -u)" = 0 ] && chown "$WEBUSER:$WEBGROUP" "$L" "$L/run" "$T/lighttpd-error.log"
# gen_lighttpd: the shipped file with test paths and $PORT/$PORT80, TLS
# left out, as in 40-lighttpd.sh, inside what Debian's lighttpd.conf provides.
gen_lighttpd() {
	sed -e "s|^var.awtrix_program .*|var.awtrix_program  = \"$PROG\"|" \
	    -e "s|^var.awtrix_broker .*|var.awtrix_broker   = \"$BROKER_SOCK\"|" \
	    -e "s|^var.awtrix_fcgi_dir .*|var.awtrix_fcgi_dir = \"$L/run\"|" \
	    -e "s|^var.awtrix_log_dir .*|var.awtrix_log_dir  = \"$L\"|" \
	    -e "s|^var.awtrix_acme_root .*|var.awtrix_acme_root = \"$L/acme\"|" \
	    -e "s|^var.awtrix_www .*|var.awtrix_www      = \"$T/www\"|" \
	    -e '/^ssl\./d' -e '/use-ipv6.pl/d' \
	    -e 's/ssl.engine = "enable"/ssl.engine = "disable"/' \
	    -e "s|\"0.0.0.0:443\"|\"127.0.0.1:$PORT\"|" \
	    -e "s|^\$HTTP\[\"scheme\"\] == \"http\"|\$SERVER[\"socket\"] == \"127.0.0.1:$PORT80\"|" \
	    "$ROOT/lighttpd/awtrix-cloud.conf" >"$L/awtrix-cloud.conf"
	# What Debian's /etc/lighttpd/lighttpd.conf provides around it.
	cat >"$L/lighttpd.conf" <<EOC
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
EOC
}
# up_or_dead PID: the server listens on $PORT, or has exited (a port taken
# between free_port and its bind: by another scenario, or by a client's
# ephemeral port, which free_port cannot see).
up_or_dead() { listening "$PORT" || ! kill -0 "$1" 2>/dev/null; }
# start_server NAME LOG START_FN: START_FN (which sets SERVER_PID) on fresh
# ports, up to three times; 0 once it listens.
start_server() {
	for try in 1 2 3; do
		PORT=$(free_port)
		PORT80=$(free_port)
		[ "$PORT" != "$PORT80" ] || continue
		"$3"
		wait_for up_or_dead "$SERVER_PID"
		listening "$PORT" && return 0
		stop "$SERVER_PID" >/dev/null
		echo "# $1 did not start (try $try): $(tail -n 3 "$2" 2>/dev/null | tr '\n' ' ')"
	done
	not_ok "$1 listens"
	sed 's/^/#   /' "$2"
	return 1
}
spawn_lighttpd() {
	gen_lighttpd
	spawn lighttpd "$LIGHTTPD" -D -f "$L/lighttpd.conf"
	SERVER_PID=$LASTPID
}
PORT=$(free_port)
PORT80=$(free_port)
gen_lighttpd
case " $SERVERS " in *" lighttpd "*) run_lighttpd=1 ;; *) run_lighttpd=0 ;; esac
if [ $run_lighttpd = 0 ]; then
	:
elif ! "$LIGHTTPD" -tt -f "$L/lighttpd.conf" >"$T/lighttpd-tt.out" 2>&1; then
	not_ok "lighttpd: the shipped configuration passes lighttpd -tt"
	sed 's/^/#   /' "$T/lighttpd-tt.out"
else
	ok "lighttpd: the shipped configuration passes lighttpd -tt"
	if start_server lighttpd "$T/lighttpd.log" spawn_lighttpd; then
		browser lighttpd "http://127.0.0.1:$PORT"
		owner_redirect lighttpd "http://127.0.0.1:$PORT"
	fi
	stop "$SERVER_PID" >/dev/null
	check "lighttpd: the access log has the page (\"GET /owner/ HTTP/1.1\" 200)" \
	    grep -q '"GET /owner/ HTTP/1.1" 200 ' "$L/access.log"
	token_nowhere lighttpd "$L/access.log" "$T/lighttpd-error.log"
fi

# --- Apache with each shipped site -------------------------------------------------
# gen_apache: the shipped site for $V with test paths and $PORT/$PORT80,
# TLS left out, as in 41-apache.sh, inside what Debian's apache2.conf,
# mpm_event and the enabled modules provide (mod_mime with /etc/mime.types
# is on by default).
gen_apache() {
	sed -e "s|^Define AWTRIX_HOST .*|Define AWTRIX_HOST 127.0.0.1|" \
	    -e "s|^Define AWTRIX_FCGI_SOCKET .*|Define AWTRIX_FCGI_SOCKET $A/run/fcgi.sock|" \
	    -e "s|^Define AWTRIX_PROGRAM_DIR .*|Define AWTRIX_PROGRAM_DIR $T/prog|" \
	    -e "s|^Define AWTRIX_BROKER_SOCKET .*|Define AWTRIX_BROKER_SOCKET $BROKER_SOCK|" \
	    -e "s|^Define AWTRIX_DOCROOT .*|Define AWTRIX_DOCROOT $A/www|" \
	    -e "s|^Define AWTRIX_WWW .*|Define AWTRIX_WWW $T/www|" \
	    -e "s|^Define AWTRIX_ACME_ROOT .*|Define AWTRIX_ACME_ROOT $A/acme|" \
	    -e "s|^Define AWTRIX_LOG_DIR .*|Define AWTRIX_LOG_DIR $A/logs|" \
	    -e '/^[[:space:]]*SSL/d' \
	    -e "s|<VirtualHost \*:443>|<VirtualHost 127.0.0.1:$PORT>|" \
	    -e "s|<VirtualHost \*:80>|<VirtualHost 127.0.0.1:$PORT80>|" \
	    "$ROOT/apache/awtrix-cloud-$V.conf" >"$A/site.conf"
	# Around it, what Debian provides.
	{
		cat <<EOC
ServerRoot "$A"
DefaultRuntimeDir "$A/run"
PidFile "$A/run/apache.pid"
ServerName 127.0.0.1
Listen 127.0.0.1:$PORT
Listen 127.0.0.1:$PORT80
ErrorLog "$T/apache-$V.log"
LogLevel warn
LoadModule mpm_event_module $MODS/mod_mpm_event.so
LoadModule authz_core_module $MODS/mod_authz_core.so
LoadModule authz_host_module $MODS/mod_authz_host.so
LoadModule alias_module $MODS/mod_alias.so
LoadModule headers_module $MODS/mod_headers.so
LoadModule reqtimeout_module $MODS/mod_reqtimeout.so
LoadModule rewrite_module $MODS/mod_rewrite.so
LoadModule mime_module $MODS/mod_mime.so
TypesConfig /etc/mime.types
TraceEnable Off
EOC
		[ "$(id -u)" = 0 ] && printf 'User %s\nGroup %s\n' "$WEBUSER" "$WEBGROUP"
		if [ "$V" = fcgid ]; then
			echo "LoadModule fcgid_module $MODS/mod_fcgid.so"
			echo "FcgidIPCDir \"$A/fcgid\""
			echo "FcgidProcessTableFile \"$A/fcgid/shm\""
		else
			echo "LoadModule proxy_module $MODS/mod_proxy.so"
			echo "LoadModule proxy_fcgi_module $MODS/mod_proxy_fcgi.so"
		fi
		echo "Include \"$A/site.conf\""
	} >"$A/apache.conf"
}
spawn_apache() {
	gen_apache
	spawn "apache-$V-main" "$APACHE" -f "$A/apache.conf" -DFOREGROUND
	SERVER_PID=$LASTPID
}

for V in fcgid proxy-fcgi; do
	case " $SERVERS " in *" $V "*) ;; *) continue ;; esac
	A=$T/apache-$V
	mkdir -p "$A/run" "$A/logs" "$A/www" "$A/fcgid" "$A/acme"
	[ "$(id -u)" = 0 ] && chown "$WEBUSER:$WEBGROUP" "$A/fcgid"
	PORT=$(free_port)
	PORT80=$(free_port)
	gen_apache
	if ! "$APACHE" -t -f "$A/apache.conf" >"$A/configtest.out" 2>&1; then
		not_ok "$V: the shipped site passes apache2 -t"
		sed 's/^/#   /' "$A/configtest.out"
		continue
	fi
	ok "$V: the shipped site passes apache2 -t"
	SPAWNED=""
	if [ "$V" = proxy-fcgi ]; then
		sp=""
		[ "$(id -u)" = 0 ] && sp="-u $WEBUSER -g $WEBGROUP -U $WEBUSER -G $WEBGROUP"
		# shellcheck disable=SC2086
		env AWTRIX_BROKER_SOCKET="$BROKER_SOCK" "$SPAWN_FCGI" -s "$A/run/fcgi.sock" \
		    -M 0660 $sp -F 2 -- "$PROG" >"$T/spawn-fcgi.out" 2>>"$T/fcgi-proxy.log"
		SPAWNED=$(sed -n 's/.*PID: *\([0-9]*\).*/\1/p' "$T/spawn-fcgi.out" | tr '\n' ' ')
		PIDS="$PIDS $SPAWNED"
	fi
	if start_server "$V: Apache" "$T/apache-$V-main.log" spawn_apache; then
		browser "$V" "http://127.0.0.1:$PORT"
		owner_redirect "$V" "http://127.0.0.1:$PORT"
	fi
	stop "$SERVER_PID" >/dev/null
	# shellcheck disable=SC2086
	[ -z "$SPAWNED" ] || kill $SPAWNED 2>/dev/null
	i=0
	while pgrep -f "^$APACHE -f $A/apache.conf" >/dev/null && [ $i -lt 100 ]; do
		sleep 0.1; i=$((i + 1))
	done
	check "$V: the access log has the page (\"GET /owner/ HTTP/1.1\" 200)" \
	    grep -q '"GET /owner/ HTTP/1.1" 200 ' "$A/logs/awtrix-cloud-access.log"
	token_nowhere "$V" "$A/logs/awtrix-cloud-access.log" \
	    "$A/logs/awtrix-cloud-error.log" "$T/apache-$V.log"
done
echo "# screenshots: $ART"
