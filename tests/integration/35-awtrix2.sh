#!/bin/bash
# Goal: applets written for AWTRIX 2 drive an AWTRIX 3 clock.  Every AWTRIX 2
# mode and key of awtrix-api.md 3.4 goes through awtrix-cloud.fcgi (as CGI,
# then behind a real lighttpd) to an agent whose target is the fake AWTRIX 3,
# and the JSON the clock received is compared byte for byte with the
# translation of docs/http-api.md; the same requests to an agent whose target
# is the fake AWTRIX 2 host arrive untouched; AWTRIX 3 requests pass
# untouched; what has no AWTRIX 3 equivalent is named (dropped keys in the
# answer, or 400 naming the key); a denied mode stays denied when it comes
# as basics; the seed's IFTTT body shows its text in its colour at once.
. "$(dirname "$0")/../lib.sh"

# The rate limit is not under test here (30-relay.sh has it).
export AWTRIX_BROKER_RATE=100000 AWTRIX_BROKER_BURST=100000
# lighttpd's FastCGI processes run as www-data when started as root.
if [ "$(id -u)" = 0 ]; then WEBUSER=www-data; else WEBUSER=$(id -un); fi
WEBGROUP=$(id -gn "$WEBUSER")
chmod 711 "$T"

start_fake fake3
F3=$FAKE_PORT
start_fake fake2 --generation 2
F2=$FAKE_PORT
start_broker --socket-group "$WEBGROUP"
# One probe at start, then none while the test runs: the last line of a
# fake's log is the test's own request.
start_agent a3 "http://127.0.0.1:$F3/api/" --probe-interval 3600
start_agent a2 "http://127.0.0.1:$F2/api/v3/" --probe-interval 3600
start_agent d3 "http://127.0.0.1:$F3/api/" --probe-interval 3600 \
    --deny power
# Bounded, but patient: the machine may be busy.
for k in 1 2 3; do wait_for stat_is devices_connected 3 && break; done
check "three agents connect" stat_is devices_connected 3
T3=$(token_of a3)
T2=$(token_of a2)
TD=$(token_of d3)
# The start-up probes are in (GET stats, POST basics get version).
check "the AWTRIX 3 agents probe with GET stats" \
    wait_for grep -q 'GET /api/stats' "$T/fake3.requests"
check "the AWTRIX 2 agent probes with basics get version" \
    wait_for grep -q 'POST /api/v3/basics .*body={"get":"version"}' "$T/fake2.requests"
# Both AWTRIX 3 agents' probes are in before the first case.
wait_for test "$(grep -c 'GET /api/stats' "$T/fake3.requests")" -ge 2

# last FAKE: "METHOD PATH body=BODY" of the fake's last request.
last() {
	tail -n 1 "$T/$1.requests" |
	    sed 's/ ctype=[^ ]* auth=[a-z]* len=[0-9]* body=/ body=/'
}
# got FAKE LINE: the fake's last request is exactly LINE.
got() {
	[ "$(last "$1")" = "$2" ] && return 0
	echo "# $1 got:  $(last "$1")" >&2
	echo "# expected: $2" >&2
	return 1
}
# refused KEY: the agent's 400 bad_request, naming KEY.
refused() {
	is_status 400 bad_request && grep -q -- "$1" "$T/resp.b" && return 0
	echo "# body: $(cat "$T/resp.b")" >&2
	return 1
}
body_is() {
	[ "$(cat "$T/resp.b")" = "$1" ] && return 0
	echo "# body: $(cat "$T/resp.b")" >&2
	return 1
}

# --- every AWTRIX 2 request: MODE | BODY | what AWTRIX 3 gets --------------
SEED='{"force":true,"icon":36,"text":"New mail from X","color":[255,255,255]}'
ALLKEYS='{"name":"n1","force":true,"text":"Hi","icon":6,"color":[0,255,0],"moveIcon":true,"repeatIcon":true,"duration":5,"count":2,"rainbow":false,"progress":40,"progressColor":[255,0,0],"progressBackground":[0,0,255],"soundfile":12,"scrollSpeed":130,"barchart":[1,2],"linechart":[3,4],"fallingText":true,"yeelight":["Alarm",10],"icon2":7,"icon3":8,"icon4":9}'
MULTI='{"multiColorText":[{"text":"Totally ","color":[0,255,0]},{"text":"Awesome","color":[255,0,0]}],"count":1}'
TEMP='{"name":"TestApp","lifetime":5,"icon":6,"text":"Totally Awesome","color":[60,255,0]}'
DRAW_DOC='{"repeat":2,"draw":[{"type":"fill","color":[100,100,100]},{"type":"text","string":"Hello","position":[0,0],"color":[255,0,0]},{"type":"show"},{"type":"wait","ms":3000},{"type":"circle","radius":3,"position":[24,3],"color":[255,0,255]},{"type":"show"},{"type":"wait","ms":3000},{"type":"clear"},{"type":"line","start":[0,0],"end":[31,7],"color":[255,255,255]},{"type":"show"},{"type":"wait","ms":3000},{"type":"exit"}]}'
DRAW_ALL='{"draw":[{"type":"fill","color":[1,2,3]},{"type":"pixel","position":[1,2],"color":[4,5,6]},{"type":"rect","position":[2,1],"size":[4,3],"color":[7,8,9]},{"type":"circle","position":[20,4],"radius":2},{"type":"text","string":"Hi","position":[10,1],"color":[0,0,255]},{"type":"bmp","position":[30,6],"size":[2,1],"data":[63488,2016]},{"type":"show"},{"type":"exit"}]}'

CASES=$(cat <<EOF
notify|$SEED|POST /api/notify body={"stack":false,"icon":"36","text":"New mail from X","color":[255,255,255]}
notify|$ALLKEYS|POST /api/notify body={"stack":false,"text":"Hi","icon":"6","color":[0,255,0],"pushIcon":2,"duration":5,"repeat":2,"rainbow":false,"progress":40,"progressC":[255,0,0],"progressBC":[0,0,255],"sound":"0012","scrollSpeed":50,"bar":[1,2],"line":[3,4]}
notify|$MULTI|POST /api/notify body={"text":[{"t":"Totally ","c":"00FF00"},{"t":"Awesome","c":"FF0000"}],"repeat":1}
notify|{"force":false,"moveIcon":true,"text":"q"}|POST /api/notify body={"pushIcon":1,"text":"q"}
basics|{"power":false}|POST /api/power body={"power":false}
basics|{"switchTo":"Facebook"}|POST /api/switch body={"name":"Facebook"}
basics|{"app":"next"}|POST /api/nextapp body=
basics|{"app":"back"}|POST /api/previousapp body=
basics|{"get":"version"}|GET /api/stats body=
basics|{"get":"uptime"}|GET /api/stats body=
basics|{"soundfile":101}|POST /api/sound body={"sound":"0101"}
basics|{"disable":"Time"}|POST /api/apps body=[{"name":"Time","show":false}]
basics|{"enable":"Time"}|POST /api/apps body=[{"name":"Time","show":true}]
settings|{"Brightness":100}|POST /api/settings body={"BRI":255}
settings|{"Brightness":"50","ATRANS":false}|POST /api/settings body={"BRI":128,"ATRANS":false}
temporaryapp|$TEMP|POST /api/custom?name=TestApp body={"icon":"6","text":"Totally Awesome","color":[60,255,0],"lifetime":300}
temporaryapp|{"remove":"TestApp"}|POST /api/custom?name=TestApp body=
draw|$DRAW_DOC|POST /api/notify body={"draw":[{"dl":[0,0,31,7,[255,255,255]]}],"stack":false,"duration":9}
draw|$DRAW_ALL|POST /api/notify body={"draw":[{"df":[0,0,32,8,[1,2,3]]},{"dp":[1,2,[4,5,6]]},{"dr":[2,1,4,3,[7,8,9]]},{"dc":[20,4,2,[255,255,255]]},{"dt":[10,1,"Hi",[0,0,255]]},{"db":[30,6,2,1,[16711680,65280]]}],"stack":false}
EOF
)

i=0
while IFS='|' read -r mode body want; do
	i=$((i + 1))
	cgi POST "mode=$mode&token=$T3" "$body" application/json
	check "AWTRIX 3 [$i] $mode: 200" is_status 200
	check "AWTRIX 3 [$i] $mode: the clock got ${want%% body=*} and the translated JSON" \
	    got fake3 "$want"
	cgi POST "mode=$mode&token=$T2" "$body" application/json
	check "AWTRIX 2 [$i] $mode: 200, the host got it untouched" \
	    got fake2 "POST /api/v3/$mode body=$body"
done <<EOF
$CASES
EOF

# --- the answers say what was dropped -----------------------------------------
cgi POST "mode=notify&token=$T3" "$SEED" application/json
check "the seed's body: answer OK, nothing dropped" body_is OK
cgi GET "mode=screen&token=$T3"
check "...and the clock shows it at once in white (0xFFFFFF)" \
    grep -q '16777215' "$T/resp.b"
cgi POST "mode=notify&token=$T3" "$ALLKEYS" application/json
check "dropped keys are named in the answer" body_is "OK
awtrix-agent: dropped name,fallingText,yeelight,icon2,icon3,icon4 (no AWTRIX 3 equivalent)"
cgi POST "mode=settings&token=$T3" '{"Brightness":20,"Foo":1}' application/json
check "settings: an unknown AWTRIX 2 key is dropped and named" body_is "OK
awtrix-agent: dropped Foo (no AWTRIX 3 equivalent)"
check "...and the rest reaches the clock" got fake3 'POST /api/settings body={"BRI":51}'
cgi POST "mode=draw&token=$T3" "$DRAW_DOC" application/json
check "draw: repeat and the waits are named" body_is "OK
awtrix-agent: dropped repeat,draw:wait (no AWTRIX 3 equivalent)"
cgi POST "mode=basics&token=$T3" '{"get":"version"}' application/json
check "basics get version answers the clock's stats (firmware 0.98)" \
    grep -q '"version":"0.98"' "$T/resp.b"

# --- refusals name the key, and nothing reaches the clock -----------------------
n=$(wc -l <"$T/fake3.requests")
for r in 'basics|{"showAnimation":"random"}|showAnimation' \
    'basics|{"timer":"00:01:00","color":[255,0,0]}|timer' \
    'basics|{"stopwatch":true,"icon":423}|stopwatch' \
    'basics|{"yeelight":["Alarm",10]}|yeelight' \
    'basics|{"appList":"reset"}|appList' \
    'basics|{"play":[1,1,20]}|play' \
    'basics|{"app":"pause"}|app' \
    'basics|{"get":"installedApps"}|get' \
    'basics|{"power":true,"switchTo":"Time"}|switchTo' \
    'notify|{"remove":"TestNotification"}|remove' \
    'temporaryapp|{"text":"no name"}|name' \
    'temporaryapp|{"name":"x"}|lifetime' \
    'settings|{"Foo":1}|Foo' \
    'draw|{"draw":[{"type":"spiral"}]}|spiral' \
    'draw|{"draw":[{"type":"bmp","size":[2,2],"data":[1]}]}|bmp' \
    'basics||basics'; do
	mode=${r%%|*}; rest=${r#*|}; body=${rest%|*}; key=${r##*|}
	cgi POST "mode=$mode&token=$T3" "$body" application/json
	check "$mode $body: 400 bad_request naming \"$key\"" refused "$key"
done
check "...none of them reached the clock" \
    test "$(wc -l <"$T/fake3.requests")" = "$n"

# --- AWTRIX 3 requests pass untouched ------------------------------------------
for r in 'notify|{"text":"Hi","color":"#FF0000","stack":false}' \
    'notify|{ "text" : "spaces kept" ,"icon":36}' \
    'settings|{"BRI":120,"ATRANS":false}' \
    'power|{"power":true}'; do
	mode=${r%%|*}; body=${r#*|}
	cgi POST "mode=$mode&token=$T3" "$body" application/json
	check "AWTRIX 3 $mode $body: untouched" got fake3 "POST /api/$mode body=$body"
done
cgi POST "mode=custom&name=x&token=$T3" '{"text":"app"}' application/json
check "AWTRIX 3 custom with its query: untouched" \
    got fake3 'POST /api/custom?name=x body={"text":"app"}'

# --- the owner's deny list holds for what reaches the clock --------------------
cgi POST "mode=basics&token=$TD" '{"power":false}' application/json
check "basics power with --deny power: 403 mode_not_allowed" \
    is_status 403 mode_not_allowed
cgi POST "mode=basics&token=$TD" '{"switchTo":"Time"}' application/json
check "...basics switchTo still works there" is_status 200

# --- behind a real web server (lighttpd, the shipped configuration) ------------
LIGHTTPD=$(command -v lighttpd || echo /usr/sbin/lighttpd)
if [ ! -x "$LIGHTTPD" ]; then
	not_ok "lighttpd is installed (scripts/deps test)"
	exit 1
fi
mkdir -p "$T/prog" "$T/l/www" "$T/l/run"
cp "$BIN/awtrix-cloud.fcgi" "$T/prog/"
chmod 755 "$T/prog" "$T/prog/awtrix-cloud.fcgi"
: >"$T/lighttpd-error.log"
[ "$(id -u)" = 0 ] && chown "$WEBUSER:$WEBGROUP" "$T/l" "$T/l/run" "$T/lighttpd-error.log"
# A port free now may be taken by the time lighttpd binds it (another
# program's outgoing connection): then try other ports, three times at most.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
start_lighttpd() {
	PORT=$(free_port)
	sed -e "s|^var.awtrix_program .*|var.awtrix_program  = \"$T/prog/awtrix-cloud.fcgi\"|" \
	    -e "s|^var.awtrix_broker .*|var.awtrix_broker   = \"$BROKER_SOCK\"|" \
	    -e "s|^var.awtrix_fcgi_dir .*|var.awtrix_fcgi_dir = \"$T/l/run\"|" \
	    -e "s|^var.awtrix_log_dir .*|var.awtrix_log_dir  = \"$T/l\"|" \
	    -e "s|^var.awtrix_acme_root .*|var.awtrix_acme_root = \"$T/l\"|" \
	    -e '/^ssl\./d' -e '/use-ipv6.pl/d' \
	    -e 's/ssl.engine = "enable"/ssl.engine = "disable"/' \
	    -e "s|\"0.0.0.0:443\"|\"127.0.0.1:$PORT\"|" \
	    -e "s|^\$HTTP\[\"scheme\"\] == \"http\"|\$SERVER[\"socket\"] == \"127.0.0.1:$(free_port)\"|" \
	    "$ROOT/lighttpd/awtrix-cloud.conf" >"$T/l/awtrix-cloud.conf"
	cat >"$T/l/lighttpd.conf" <<EOF
server.modules = ( "mod_indexfile", "mod_access", "mod_alias", "mod_redirect" )
server.document-root = "$T/l/www"
server.bind = "127.0.0.1"
server.port = $PORT
server.errorlog = "$T/lighttpd-error.log"
server.pid-file = "$T/l/lighttpd.pid"
server.username = "$WEBUSER"
server.groupname = "$WEBGROUP"
include "$T/l/awtrix-cloud.conf"
server.modules += ( "mod_staticfile" )
EOF
	spawn lighttpd "$LIGHTTPD" -D -f "$T/l/lighttpd.conf"
	LIGHTTPD_PID=$LASTPID
	wait_for listening "$PORT" && kill -0 "$LIGHTTPD_PID" 2>/dev/null
}
started=0
for k in 1 2 3; do
	if start_lighttpd; then started=1; break; fi
	kill "$LIGHTTPD_PID" 2>/dev/null; wait "$LIGHTTPD_PID" 2>/dev/null
done
if [ $started = 0 ]; then
	not_ok "lighttpd starts"
	sed 's/^/#   /' "$T/lighttpd-error.log" "$T/lighttpd.log" | tail -20
	exit 1
fi
web() {
	STATUS=$(curl -sS -o "$T/resp.b" -w '%{http_code}' --max-time 30 \
	    -H 'Content-Type: application/json' --data-binary "$2" \
	    "http://127.0.0.1:$PORT/cloud?$1" 2>>"$T/curl.err") || STATUS=000
}
web "mode=notify&token=$T3" "$SEED"
check "lighttpd: the seed's body, 200" is_status 200
check "lighttpd: ...the AWTRIX 3 clock got the translation" \
    got fake3 'POST /api/notify body={"stack":false,"icon":"36","text":"New mail from X","color":[255,255,255]}'
web "mode=notify&token=$T2" "$SEED"
check "lighttpd: ...the AWTRIX 2 host got it untouched" \
    got fake2 "POST /api/v3/notify body=$SEED"
web "mode=basics&token=$T3" '{"power":true}'
check "lighttpd: basics power reaches /api/power" \
    got fake3 'POST /api/power body={"power":true}'
web "mode=draw&token=$T3" "$DRAW_DOC"
check "lighttpd: draw reaches /api/notify, waits named" \
    body_is "OK
awtrix-agent: dropped repeat,draw:wait (no AWTRIX 3 equivalent)"
web "mode=basics&token=$T3" '{"showAnimation":"random"}'
check "lighttpd: a refusal is 400 bad_request naming the key" \
    refused showAnimation
