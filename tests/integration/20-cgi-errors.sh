# Goal: every error that awtrix-cloud.fcgi answers by itself, with the
# status, headers and `error` slug of the table in design §4.  The program
# runs as plain CGI (the environment of a web server, the body on stdin),
# with AWTRIX_BROKER_SOCKET pointing where nothing listens, so that a valid
# request must end in a quick 503.  No token ever reaches stderr.
. "$(dirname "$0")/../lib.sh"

FCGI=$BIN/awtrix-cloud.fcgi
NOSOCK=$T/nobody/broker.sock
ERR=$T/stderr.log
: >"$ERR"
# A fresh token each run, so that finding it on stderr means a leak.
TOKEN=$(LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32)
TOKEN31=${TOKEN%?}
# Another well-formed token: every character shifted by one.
OTHER=$(printf '%s' "$TOKEN" | tr 'A-Za-z0-9' 'B-Za-z0-9A')

if [ ! -x "$FCGI" ]; then
	not_ok "$FCGI is built"
	exit 1
fi

# cgi NAME BODY VAR=VALUE...: one request with BODY on stdin.  The answer
# goes to $T/NAME.head (headers, CR removed) and $T/NAME.body; the exit
# status to $T/NAME.rc; the time taken in ms to $T/NAME.ms.
cgi() {
	name=$1 body=$2
	shift 2
	printf '%s' "$body" >"$T/$name.in"
	cgi_run "$name" "$@" <"$T/$name.in"
}

# cgi_run NAME VAR=VALUE...: the same with stdin as the caller set it.
cgi_run() {
	name=$1
	shift
	t0=$(date +%s%N)
	env -i PATH="$PATH" GATEWAY_INTERFACE=CGI/1.1 \
	    SERVER_PROTOCOL=HTTP/1.1 SCRIPT_NAME=/cloud \
	    AWTRIX_BROKER_SOCKET="$NOSOCK" "$@" \
	    "$FCGI" >"$T/$name.out" 2>>"$ERR"
	echo $? >"$T/$name.rc"
	echo $((($(date +%s%N) - t0) / 1000000)) >"$T/$name.ms"
	tr -d '\r' <"$T/$name.out" | sed '/^$/q' >"$T/$name.head"
	tr -d '\r' <"$T/$name.out" | sed '1,/^$/d' >"$T/$name.body"
}

# expect NAME STATUS SLUG [HEADER...]: the answer of NAME has STATUS, the
# relay's headers, every HEADER line given, and the body
# {"error":SLUG,"message":...}.  One ok/not ok line.
expect() {
	name=$1 status=$2 slug=$3
	shift 3
	why=""
	h=$T/$name.head
	[ "$(cat "$T/$name.rc")" = 0 ] || why="$why exit=$(cat "$T/$name.rc")"
	head -n 1 "$h" | grep -q "^Status: $status " ||
	    why="$why status=$(head -n 1 "$h")"
	grep -qx 'Content-Type: application/json' "$h" ||
	    why="$why no-json-content-type"
	grep -qx 'Cache-Control: no-store' "$h" || why="$why no-no-store"
	grep -qx "{\"error\":\"$slug\",\"message\":\"[^\"\\\\]*\"}" \
	    "$T/$name.body" || why="$why body=$(head -c 200 "$T/$name.body")"
	for want in "$@"; do
		grep -qx -- "$want" "$h" || why="$why missing[$want]"
	done
	case $status in
	405) ;;
	*) ! grep -q '^Allow:' "$h" || why="$why unexpected-Allow" ;;
	esac
	case $status in
	429|503) ;;
	*) ! grep -q '^Retry-After:' "$h" || why="$why unexpected-Retry-After" ;;
	esac
	if [ -z "$why" ]; then
		ok "$name: $status $slug"
	else
		not_ok "$name: $status $slug"
		echo "#  $why"
	fi
}

Q="mode=notify&token=$TOKEN"
JSON='{"text":"Hello","color":"#FF0000"}'

# --- token and mode ----------------------------------------------------
cgi missing-token "" REQUEST_METHOD=GET QUERY_STRING="mode=notify"
expect missing-token 400 bad_request

cgi token-31-chars "" REQUEST_METHOD=GET \
    QUERY_STRING="mode=notify&token=$TOKEN31"
expect token-31-chars 400 bad_request

cgi token-33-chars "" REQUEST_METHOD=GET QUERY_STRING="${Q}x"
expect token-33-chars 400 bad_request

cgi token-non-alnum "" REQUEST_METHOD=GET \
    QUERY_STRING="mode=notify&token=${TOKEN31}-"
expect token-non-alnum 400 bad_request

cgi duplicate-token "" REQUEST_METHOD=GET QUERY_STRING="$Q&token=$TOKEN"
expect duplicate-token 400 bad_request

cgi bearer-differs "" REQUEST_METHOD=GET QUERY_STRING="$Q" \
    HTTP_AUTHORIZATION="Bearer $OTHER"
expect bearer-differs 400 bad_request

cgi missing-mode "" REQUEST_METHOD=GET QUERY_STRING="token=$TOKEN"
expect missing-mode 400 bad_request

cgi mode-dotdot "" REQUEST_METHOD=GET QUERY_STRING="mode=../x&token=$TOKEN"
expect mode-dotdot 400 bad_request

cgi mode-dotdot-encoded "" REQUEST_METHOD=GET \
    QUERY_STRING="mode=..%2Fx&token=$TOKEN"
expect mode-dotdot-encoded 400 bad_request

cgi mode-leading-slash "" REQUEST_METHOD=GET \
    QUERY_STRING="mode=/notify&token=$TOKEN"
expect mode-leading-slash 400 bad_request

cgi mode-leading-slash-encoded "" REQUEST_METHOD=GET \
    QUERY_STRING="mode=%2Fnotify&token=$TOKEN"
expect mode-leading-slash-encoded 400 bad_request

cgi duplicate-mode "" REQUEST_METHOD=GET QUERY_STRING="$Q&mode=reboot"
expect duplicate-mode 400 bad_request

cgi control-char-in-query "" REQUEST_METHOD=GET \
    QUERY_STRING="$Q&name=a%0Ab"
expect control-char-in-query 400 bad_request

# --- body --------------------------------------------------------------
cgi invalid-json '{"text":"Hello"' REQUEST_METHOD=POST QUERY_STRING="$Q" \
    CONTENT_TYPE=application/json CONTENT_LENGTH=15
expect invalid-json 400 bad_request

cgi invalid-json-undeclared '[1,2' REQUEST_METHOD=POST QUERY_STRING="$Q" \
    CONTENT_TYPE=text/plain CONTENT_LENGTH=4
expect invalid-json-undeclared 400 bad_request

cgi content-length-larger "$JSON" REQUEST_METHOD=POST QUERY_STRING="$Q" \
    CONTENT_TYPE=application/json CONTENT_LENGTH=$((${#JSON} + 10))
expect content-length-larger 400 bad_request
check "content-length-larger: says the body is shorter" \
    grep -q 'shorter than Content-Length' "$T/content-length-larger.body"

cgi content-length-smaller "$JSON" REQUEST_METHOD=POST QUERY_STRING="$Q" \
    CONTENT_TYPE=application/json CONTENT_LENGTH=10
expect content-length-smaller 400 bad_request
check "content-length-smaller: says the body is longer" \
    grep -q 'longer than Content-Length' "$T/content-length-smaller.body"

cgi content-length-malformed "$JSON" REQUEST_METHOD=POST QUERY_STRING="$Q" \
    CONTENT_TYPE=application/json CONTENT_LENGTH=" ${#JSON}"
expect content-length-malformed 400 bad_request

cgi body-too-large "$JSON" REQUEST_METHOD=POST QUERY_STRING="$Q" \
    CONTENT_TYPE=application/json CONTENT_LENGTH=${#JSON} AWTRIX_MAX_BODY=16
expect body-too-large 413 body_too_large

# 413 comes from CONTENT_LENGTH alone: stdin is a FIFO that never ends, so
# reading it would hang until the deadline.
mkfifo "$T/fifo"
exec 3<>"$T/fifo"
cgi_run body-too-large-unread REQUEST_METHOD=POST QUERY_STRING="$Q" \
    CONTENT_TYPE=application/json CONTENT_LENGTH=100000 AWTRIX_MAX_BODY=16 \
    AWTRIX_TIMEOUT_MS=3000 <&3
exec 3>&-
expect body-too-large-unread 413 body_too_large
check "body-too-large-unread: answered without reading the body" \
    test "$(cat "$T/body-too-large-unread.ms")" -lt 1000

# --- method ------------------------------------------------------------
cgi put "$JSON" REQUEST_METHOD=PUT QUERY_STRING="$Q" \
    CONTENT_TYPE=application/json CONTENT_LENGTH=${#JSON}
expect put 405 method_not_allowed 'Allow: GET, POST'

cgi head "" REQUEST_METHOD=HEAD QUERY_STRING="$Q"
expect head 405 method_not_allowed 'Allow: GET, POST'

cgi options "" REQUEST_METHOD=OPTIONS QUERY_STRING="$Q"
expect options 405 method_not_allowed 'Allow: GET, POST'

# --- valid requests, but no broker -------------------------------------
cgi no-broker-post "$JSON" REQUEST_METHOD=POST QUERY_STRING="$Q" \
    CONTENT_TYPE=application/json CONTENT_LENGTH=${#JSON}
expect no-broker-post 503 relay_unavailable 'Retry-After: [0-9][0-9]*'
check "no-broker-post: answered in under a second" \
    test "$(cat "$T/no-broker-post.ms")" -lt 1000

cgi no-broker-get "" REQUEST_METHOD=GET QUERY_STRING="mode=stats" \
    HTTP_AUTHORIZATION="Bearer $TOKEN"
expect no-broker-get 503 relay_unavailable 'Retry-After: [0-9][0-9]*'
check "no-broker-get: answered in under a second" \
    test "$(cat "$T/no-broker-get.ms")" -lt 1000

# A socket file left behind with nobody listening: refused, also at once.
mkdir -p "$T/stale"
if command -v python3 >/dev/null 2>&1; then
	python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' \
	    "$T/stale/broker.sock"
	cgi stale-socket "" REQUEST_METHOD=GET QUERY_STRING="$Q" \
	    AWTRIX_BROKER_SOCKET="$T/stale/broker.sock"
	expect stale-socket 503 relay_unavailable 'Retry-After: [0-9][0-9]*'
fi

# --- the token stays secret --------------------------------------------
check "stderr has the log lines of the failed broker connections" \
    grep -q 'broker' "$ERR"
check "stderr never contains the token" sh -c "! grep -qF '$TOKEN' '$ERR'"
check "stderr never contains the 31-character token" \
    sh -c "! grep -qF '$TOKEN31' '$ERR'"
check "stderr never contains the other token" \
    sh -c "! grep -qF '$OTHER' '$ERR'"
check "no answer contains a token" \
    sh -c "! cat '$T'/*.out | grep -qF -e '$TOKEN31' -e '$OTHER'"
