# Goal: the privacy promises, proved on the files themselves.  After traffic
# from many tokens (requests, rotations, refusals), the broker's database,
# every log and every file the cloud side wrote hold no token, no device
# public key in clear, no IP address and no payload byte.
. "$(dirname "$0")/../lib.sh"

hex() { od -An -tx1 -v "$@" | tr -d ' \n'; }
start_fake fake
start_broker
N=6
for i in $(seq $N); do start_agent "a$i" "http://127.0.0.1:$FAKE_PORT/api/"; done
wait_for stat_is devices_connected $N
MARK=PAYLOAD-7f3a9c
: >"$T/tokens"
for i in $(seq $N); do
	t=$(token_of "a$i"); echo "$t" >>"$T/tokens"
	cgi POST "mode=notify&token=$t" "{\"text\":\"$MARK-$i\"}" application/json
	cgi GET "mode=stats" "" "" "Bearer $t"
	cgi POST "mode=notify&token=$t" "{\"text\":" application/json
done
for i in 1 2; do
	"$BIN/awtrix-token" --state "$T/a$i" regenerate >/dev/null 2>&1
	t=$(token_of "a$i"); echo "$t" >>"$T/tokens"
	cgi POST "mode=notify&token=$t" "{\"text\":\"$MARK-new\"}" application/json
done
"$TBIN/linkprobe" register "127.0.0.1:$BROKER_PORT" "$BROKER_PUB" \
    "$(head -n 1 "$T/tokens")" >/dev/null 2>&1
check "the traffic reached the device" grep -q "$MARK-1" "$T/fake.requests"
stop "$BROKER_PID" >/dev/null	# checkpoint and close the database

# The cloud side's files: everything under the broker's directory, the
# broker's, the FastCGI program's and the agents' logs.
mapfile -t db_files < <(ls "$T"/broker/* | grep -v -e '/key$' -e '\.sock$')
files=("${db_files[@]}" "$T/broker.log" "$T/cgi.log" "$T"/a*.log)
leaks=0
while read -r t; do
	if grep -a -l -F "$t" "${files[@]}"; then leaks=1; fi
done <"$T/tokens"
check "no token in the database, its journal or any log" test $leaks = 0
absent() { ! grep -a -l "$@"; }
check "no payload byte in the database or any log" absent -F "$MARK" "${files[@]}"
check "no IP address in the database or the FastCGI program's log" \
    absent -E '127\.0\.0\.1|::1' "${db_files[@]}" "$T/cgi.log"
# The agents name the broker and the clock they were configured with, so
# that an owner can tell which one fails; no other address.
check "no IP address in the agents' logs but their own --broker and --target" \
    sh -c "! sed -e 's|127\.0\.0\.1:$BROKER_PORT||g' -e 's|http://127\.0\.0\.1:[0-9]*/api/[a-z/]*||g' \
        $T/a*.log | grep -q -E '127\.0\.0\.1|::1'"
check "no IP address in the broker log except its own listen line" \
    sh -c "! grep -v 'serving: agents on' '$T/broker.log' | grep -q -E '127\.0\.0\.1'"
dbhex=$(hex "$T"/broker/state.db*)
keyleak=0
for i in $(seq $N); do
	pk=$(tail -c 32 "$T/a$i/device.key" | hex)
	case "$dbhex" in *"$pk"*) keyleak=1 ;; esac
	pkb64=$(tail -c 32 "$T/a$i/device.key" | base64)
	grep -a -q -F "$pkb64" "$T"/broker/state.db* $T/broker.log && keyleak=1
done
check "no device public key in clear (binary or base64) in the database or logs" \
    test $keyleak = 0
check "the database holds one row per device and one per rotation" test \
    "$(sqlite3 "$T/broker/state.db" 'SELECT count(*) FROM device; SELECT count(*) FROM revoked' | tr '\n' ' ')" = "$N 2 "
check "every value stored is a 32-byte hash or a small integer" test \
    "$(sqlite3 "$T/broker/state.db" "SELECT count(*) FROM device WHERE length(device_hash) != 32 OR length(token_hash) != 32; SELECT count(*) FROM revoked WHERE length(token_hash) != 32" | tr '\n' ' ')" = "0 0 "
