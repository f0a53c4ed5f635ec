# Goal: several brokers behind one URL (--nats).  A three-node nats-server
# cluster with JetStream on loopback, three brokers sharing one key file,
# agents spread over them, requests entering through every broker.  Then
# the failures: kill -9 of a broker under load, a NATS node killed, the KV
# leader killed, a node frozen with SIGSTOP, NATS gone altogether; and the
# binding races.  Each failure's outcome is checked and printed.
. "$(dirname "$0")/../lib.sh"
SOCKDIR=$T	# the load below runs with its own $T

if ! command -v nats-server >/dev/null; then
	not_ok "nats-server is not installed (scripts/deps test)"
	exit 0
fi

"$BIN/awtrix-broker" serve --key x --db x --socket x --listen 127.0.0.1:1 \
    --nats http://127.0.0.1:4222 >/dev/null 2>"$T/usage.err"
rc=$?
check "--nats with a bad URL: exit 2" test $rc = 2
check "...naming the flag" grep -q -- "--nats" "$T/usage.err"
"$BIN/awtrix-agent" --broker 127.0.0.1:1,,127.0.0.1:2 --broker-key x --state "$T/x" \
    --target http://127.0.0.1:1/api/ >/dev/null 2>"$T/usage2.err"
rc=$?
check "agent --broker with an empty item: exit 2 naming the flag" \
    sh -c "test $rc = 2 && grep -q -- --broker '$T/usage2.err'"

# --- a three-node NATS cluster with JetStream -------------------------------
# Nine distinct free ports (client, cluster route, monitoring per node).
pick_ports() {
	used=""
	for v in NP1 NP2 NP3 CP1 CP2 CP3 HP1 HP2 HP3; do
		p=$(free_port)
		while case " $used " in *" $p "*) true ;; *) false ;; esac; do
			p=$(free_port)
		done
		used="$used $p"
		eval $v=$p
	done
}
NATS_PID1=; NATS_PID2=; NATS_PID3=
start_nats() {
	i=$1
	eval np=\$NP$i cp=\$CP$i hp=\$HP$i
	mkdir -p "$T/n$i"
	cat >"$T/n$i.conf" <<EOF
server_name: n$i
listen: 127.0.0.1:$np
http: 127.0.0.1:$hp
jetstream { store_dir: "$T/n$i", max_memory_store: 64MB, max_file_store: 256MB }
cluster {
  name: awtrix
  listen: 127.0.0.1:$cp
  routes: [ nats-route://127.0.0.1:$CP1, nats-route://127.0.0.1:$CP2, nats-route://127.0.0.1:$CP3 ]
}
EOF
	spawn "nats$i" nats-server -c "$T/n$i.conf"
	eval NATS_PID$i=\$LASTPID
}
# A port taken meanwhile by someone else: start the three again elsewhere.
for try in 1 2 3; do
	pick_ports
	for i in 1 2 3; do start_nats $i; done
	sleep 1
	alive=1
	for i in 1 2 3; do kill -0 "$(eval echo \$NATS_PID$i)" 2>/dev/null || alive=0; done
	[ $alive = 1 ] && break
	echo "# a nats-server did not start (port in use?): again on other ports"
	for i in 1 2 3; do kill -9 "$(eval echo \$NATS_PID$i)" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T/n1" "$T/n2" "$T/n3"
done

# --- three brokers, one key file -------------------------------------------------
mkdir -p "$T/keys"
"$BIN/awtrix-broker" keygen "$T/keys/key" >/dev/null
PUB=$("$BIN/awtrix-broker" pubkey "$T/keys/key")
[ "$(id -u)" = 0 ] && chown awtrix-test "$T/keys/key"
export AWTRIX_BROKER_DEADLINE_MS=2000 AWTRIX_BROKER_RATE=0.1 AWTRIX_BROKER_BURST=10
start_cbroker() {
	i=$1
	mkdir -p "$T/b$i"
	[ "$(id -u)" = 0 ] && chown awtrix-test "$T/b$i"
	eval BP$i=\${BP$i:-\$\(free_port\)}
	eval bp=\$BP$i np=\$NP$i
	# Its local node first, the others on failure.
	others=""
	for j in 1 2 3; do [ $j = $i ] || eval others=\"\$others,nats://127.0.0.1:\$NP$j\"; done
	# All the test's agents and racers come from 127.0.0.1: open the
	# per-source limits, as start_broker does (90-hostile tests them).
	AWTRIX_BROKER_SRC_REG_BURST=1000000 AWTRIX_BROKER_REG_BURST=1000000 \
	AWTRIX_BROKER_MAX_SRC_HANDSHAKES=100000 AWTRIX_BROKER_LOG_WINDOW_MS=1 \
	spawn "broker$i" "${VG[@]}" "$BIN/awtrix-broker" serve --key "$T/keys/key" \
	    --db "$T/b$i/state.db" --socket "$T/b$i/broker.sock" \
	    --listen "127.0.0.1:$bp" --public-url https://cloud.test/cloud \
	    --nats "nats://127.0.0.1:$np$others" "${BROKER_USER[@]}"
	eval BPID$i=\$LASTPID
}
# cstat N PATH: a number from broker N's stats (e.g. cluster.requests_sent).
cstat() {
	"$BIN/awtrix-broker" stats --socket "$SOCKDIR/b$1/broker.sock" 2>/dev/null |
	    sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"
}
cluster_ready() { test "$(cstat "$1" nats_connected)" = 1; }
test_not_ready() { test "$(cstat "$1" nats_connected)" = 0; }
for i in 1 2 3; do start_cbroker $i; done
for b in 1 2 3; do
	if ! wait_for cluster_ready $b && ! wait_for cluster_ready $b &&
	    ! wait_for cluster_ready $b; then
		not_ok "broker $b joined the cluster"
		tail -n 20 "$T/broker$b.log" "$T/nats$b.log" | sed 's/^/#   /'
		exit 0
	fi
done
ok "three brokers joined a three-node NATS cluster (KV bucket, 3 replicas)"

start_fake fake
TARGET=http://127.0.0.1:$FAKE_PORT/api/
# cagent NAME BROKERS...: an agent on these brokers (numbers).
cagent() {
	name=$1; shift
	list=""
	for i in "$@"; do eval list=\"\$list,127.0.0.1:\$BP$i\"; done
	spawn "$name" "${VG[@]}" "$BIN/awtrix-agent" --broker "${list#,}" \
	    --broker-key "$PUB" --state "$T/$name" --target "$TARGET"
	eval PID_$name=\$LASTPID
}
# via N MODE TOKEN BODY: a request entering through broker N.
via() {
	BROKER_SOCK=$SOCKDIR/b$1/broker.sock cgi POST "mode=$2&token=$3" "$4" application/json
}
cagent p1 1; cagent p2 2; cagent p3 3
for a in p1 p2 p3; do wait_for agent_connected $a; done
TP1=$(token_of p1); TP2=$(token_of p2); TP3=$(token_of p3)

bad=""
for held in 1 2 3; do
	eval tok=\$TP$held
	for entry in 1 2 3; do
		via $entry notify "$tok" "{\"text\":\"$entry to $held\"}"
		[ "$STATUS" = 200 ] && reached "body={\"text\":\"$entry to $held\"}" ||
		    bad="$bad $entry->$held:$STATUS"
	done
done
check "a request entering any broker reaches a device held by any other (9 of 9)" test -z "$bad"
check "...remote ones went over NATS (broker 1 sent 2, served 2)" \
    test "$(cstat 1 requests_sent) $(cstat 1 requests_served)" = "2 2"
peers_are() { test "$(cstat "$1" peers_seen)" = "$2"; }
check "stats: the cluster view of broker 1 counts the two other brokers" wait_for peers_are 1 2
via 2 notify AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA '{"text":"x"}'
check "unknown token through a cluster broker: 404 device_offline (no responders)" \
    is_status 404 device_offline
check "...counted as no_responders" test "$(cstat 2 no_responders)" -ge 1

# The holder enforces the rate limit (burst 10, 0.1/s): exact across brokers.
n200=0
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	via $(( i % 3 + 1 )) notify "$TP2" '{"text":"flood"}'
	[ "$STATUS" = 200 ] && n200=$((n200 + 1))
done
# p2 spent 3 of its burst above; the refill adds at most one here.
check "rate limit across three brokers stays the holder's: $n200 of 12 passed (<= 8)" \
    test $n200 -le 8 -a $n200 -ge 6
check "...the rest got 429 rate_limited" is_status 429 rate_limited

# --- rotation on one broker, seen from another ---------------------------------
"$BIN/awtrix-token" --state "$T/p3" regenerate >/dev/null 2>&1
NEW3=$(token_of p3)
via 1 notify "$TP3" '{"text":"old3"}'
check "rotation on broker 3: the old token through broker 1 gets 404" is_status 404 device_offline
via 1 notify "$NEW3" '{"text":"new3"}'
check "...and the new one reaches the device through broker 1" is_status 200
TP3=$NEW3

# --- one holder per token: a second session elsewhere evicts the first --------
cp -r "$T/p1" "$T/p1copy" && rm -f "$T/p1copy/control.sock"
cagent p1copy 3
check "the same device on another broker evicts the old session there" \
    wait_for grep -q "superseded by a session on another broker" "$T/broker1.log"
kill "$PID_p1copy" "$PID_p1"; wait "$PID_p1copy" "$PID_p1" 2>/dev/null
held_total() {
	n=0
	for i in ${*:-1 2 3}; do n=$(( n + $(cstat $i devices_connected) )); done
	echo $n
}
held_is() { test "$(held_total)" = "$1"; }
check "...and the copies gone, no broker holds it any more" wait_for held_is 2

# From here on, a limit that the load does not reach: restart all three.
for i in 1 2 3; do stop "$(eval echo \$BPID$i)" >/dev/null; done
export AWTRIX_BROKER_RATE=100 AWTRIX_BROKER_BURST=200
for i in 1 2 3; do start_cbroker $i; done
for i in 1 2 3; do wait_for cluster_ready $i; done
check "brokers restarted: the agents came back" wait_for held_is 2

# --- kill -9 of a broker under load ------------------------------------------------
for k in 1 2 3 4 5 6; do cagent "m$k" 1 2 3; done
for k in 1 2 3 4 5 6; do wait_for agent_connected "m$k"; done
check "six agents with three brokers each spread and registered" wait_for held_is 8
for k in 1 2 3 4 5 6; do eval TM$k=\$\(token_of m$k\); done
# The victim: the broker with most of the six (p2 and p3 are pinned).
V=1; best=-1
for i in 1 2 3; do
	n=$(cstat $i devices_connected); [ $i = 1 ] || n=$((n - 1))
	[ "$n" -gt $best ] && { best=$n; V=$i; }
done
case $V in 1) S1=2 S2=3 ;; 2) S1=1 S2=3 ;; 3) S1=1 S2=2 ;; esac
# Load: through the two other brokers (a web server whose local broker
# died sends nothing there), every token in turn, each status and time
# logged.
load() {
	end=$(( $(date +%s) + $1 ))
	n=0
	while [ "$(date +%s)" -lt $end ]; do
		for k in 1 2 3 4 5 6; do
			eval tok=\$TM$k
			t0=$(date +%s%N)
			[ $((n % 2)) = 0 ] && e=$S1 || e=$S2
			via $e notify "$tok" '{"text":"load"}'
			echo "$k $STATUS $(( ($(date +%s%N) - t0) / 1000000 ))" >>"$T/load.txt"
			n=$((n + 1))
		done
	done
}
(T=$T/ld; mkdir -p "$T"; load 6) & LOADPID=$!
sleep 1
KILLED_MS=$(date +%s%N)
eval vpid=\$BPID$V
kill -9 "$vpid"; wait "$vpid" 2>/dev/null
# Every token answers again through a surviving broker.
back=""
for k in 1 2 3 4 5 6; do
	eval tok=\$TM$k
	i=0
	while :; do
		via $S1 notify "$tok" '{"text":"back"}'
		[ "$STATUS" = 200 ] && break
		i=$((i + 1)); [ $i -gt 100 ] && { back="$back m$k"; break; }
		sleep 0.05
	done
done
MOVED_MS=$(( ($(date +%s%N) - KILLED_MS) / 1000000 ))
wait "$LOADPID"
echo "# kill -9 of broker $V ($best of the 6 movable sessions there): every agent answered again after $MOVED_MS ms"
check "kill -9 of a broker: the moved agents answer again via the others within 5 s ($MOVED_MS ms)" \
    test -z "$back" -a "$MOVED_MS" -le 5000
sent=$(wc -l <"$T/ld/load.txt")
answered=$(grep -c -E ' (200|404|429|503|504) ' "$T/ld/load.txt")
slow=$(awk '$3 > 3000' "$T/ld/load.txt" | wc -l)
echo "# load during the kill: $sent sent, statuses: $(cut -d' ' -f2 "$T/ld/load.txt" | sort | uniq -c | tr -s ' \n' ' ')"
check "under load every request got a status: sent $sent = answered $answered" test "$sent" = "$answered" -a "$sent" -gt 0
check "...each within its deadline (2 s + slack; $slow slower than 3 s)" test "$slow" = 0
survivors_hold() { test "$(held_total $S1 $S2)" = "$1"; }
check "each token ends with exactly one holder (the 6 + the pinned agents of the survivors)" \
    wait_for survivors_hold $(( V == 1 ? 8 : 7 ))
if [ $V != 1 ]; then
	eval tok=\$TP$V
	via $S1 notify "$tok" '{"text":"x"}'
	check "an agent that knows only the dead broker: 404 device_offline" is_status 404 device_offline
fi
start_cbroker $V
check "the killed broker restarts and rejoins" wait_for cluster_ready $V
# Its pinned agent has been backing off (up to 2^n s) while it was dead.
pinned_back() { wait_for held_is 8 || wait_for held_is 8 || wait_for held_is 8; }
check "...and its pinned agent with it" pinned_back

# --- NATS nodes fail ----------------------------------------------------------------------
# Which node leads the KV stream?
kv_leader() {
	for i in 1 2 3; do
		eval hp=\$HP$i
		curl -s "http://127.0.0.1:$hp/jsz?accounts=true&streams=true" 2>/dev/null |
		    tr -d ' \n' | grep -o '"name":"KV_awtrix"[^]]*"leader":"n[0-9]"' |
		    grep -o 'n[0-9]"$' | tr -d '"n' && return
	done
}
L=$(kv_leader)
check "the KV stream has a leader (n$L)" test -n "$L"
other=1; [ "$L" = 1 ] && other=2
everyone() {
	for entry in 1 2 3; do
		for k in 1 4; do
			eval tok=\$TM$k
			via $entry notify "$tok" '{"text":"n"}'
			[ "$STATUS" = 200 ] || return 1
		done
	done
}
registers() {	# a new device registers through broker 1
	"$TBIN/linkprobe" register "127.0.0.1:$BP1" "$PUB" "$1" >/dev/null 2>&1
}
kill -9 "$(eval echo \$NATS_PID$other)"
t0=$(date +%s%N)
wait_for everyone
echo "# nats node n$other killed: requests across brokers flow again after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
check "one NATS node killed: requests still cross brokers" everyone
check "...and new devices still register (2 of 3 KV replicas)" registers BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB1
start_nats $other
sleep 2
kill -9 "$(eval echo \$NATS_PID$L)"
t0=$(date +%s%N)
ok_reg=0
for i in $(seq 1 120); do
	if registers "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCC$(printf %02d $i)"; then ok_reg=1; break; fi
	sleep 0.25
done
echo "# KV leader n$L killed: a new registration succeeded after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
check "the KV leader killed: registrations resume once a new leader is elected" test $ok_reg = 1
check "...requests cross brokers" wait_for everyone
start_nats $L
sleep 2

# Freeze the node most brokers use: its pings go unanswered and they move
# on.  Requests sent into it meanwhile must never reach a device late.
busiest_node() {
	best=-1; F=1
	for i in 1 2 3; do
		eval hp=\$HP$i
		n=$(curl -s "http://127.0.0.1:$hp/connz" | tr -d ' \n' |
		    grep -o '"num_connections":[0-9]*' | cut -d: -f2)
		[ "${n:-0}" -gt $best ] && { best=${n:-0}; F=$i; }
	done
	echo $F
}
F=$(busiest_node)
eval fpid=\$NATS_PID$F
kill -STOP "$fpid"
t0=$(date +%s%N)
for i in 1 2 3; do
	eval tok=\$TM$i
	via $i notify "$tok" "{\"text\":\"frozen $i\"}"
	echo "# request entering broker $i right after the freeze of n$F: $STATUS"
done
wait_for everyone || wait_for everyone
FROZEN_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "# nats node n$F frozen: requests cross between all brokers again after $FROZEN_MS ms"
check "a frozen NATS node (SIGSTOP): the brokers reconnect elsewhere, requests cross again" everyone
before=$(grep_count 'frozen' "$T/fake.requests")
kill -CONT "$fpid"
sleep 3
check "...and what it held up is dropped when it thaws, never executed late" \
    test "$(grep_count 'frozen' "$T/fake.requests")" = "$before"

# --- binding races -------------------------------------------------------------------------
"$TBIN/bindrace" races 1000 "127.0.0.1:$BP1" "127.0.0.1:$BP3" "$PUB" >"$T/races.txt" 2>&1
rc=$?
echo "# $(cat "$T/races.txt")"
check "1,000 same-token registrations racing on two brokers: never two winners" test $rc = 0
"$TBIN/bindrace" rotate 200 "127.0.0.1:$BP1" "127.0.0.1:$BP3" "$PUB" >"$T/rot.txt" 2>&1
rc=$?
echo "# $(cat "$T/rot.txt")"
check "200 hijacks of the new token during a rotation: never two winners" test $rc = 0

# --- operator revocation, cluster-wide ----------------------------------------------
"$BIN/awtrix-broker" revoke --key "$T/keys/key" --db "$T/revoke.db" \
    --nats "nats://127.0.0.1:$NP1,nats://127.0.0.1:$NP2,nats://127.0.0.1:$NP3" \
    "$TM2" >"$T/revoke.out" 2>&1
check "revoke --nats: revoked in the cluster's KV bucket" grep -q "in the whole cluster" "$T/revoke.out"
check "...its holder, on whichever broker, ended the session" \
    wait_for grep -q "token revoked" "$T"/broker[123].log
check "...and every broker refuses it when the agent comes back" \
    wait_for grep -q "registration.* refused: this token has been revoked" "$T/m2.log"
bad=""
for i in 1 2 3; do via $i notify "$TM2" '{"text":"revoked"}'; [ "$STATUS" = 404 ] || bad="$bad $i:$STATUS"; done
check "...a request for it through any broker: 404" test -z "$bad"

# --- a token regenerated offline, registered on another broker ---------------------
# The same device (a copy of p3's state), its token regenerated while it
# was not connected, registers on broker 1: p3's old token is revoked
# cluster-wide and its session on broker 3 ends.
cp -r "$T/p3" "$T/p3b" && rm -f "$T/p3b/control.sock"
"$BIN/awtrix-token" --state "$T/p3b" regenerate >/dev/null 2>&1
NEWB=$(token_of p3b)
n_before=$(grep_count "rotated on another broker" "$T/broker3.log")
cagent p3b 1
wait_for agent_connected p3b
check "a token regenerated offline and registered on another broker ends the old session" \
    wait_for log_count_ge "$T/broker3.log" "rotated on another broker" $((n_before + 1))
via 2 notify "$TP3" '{"text":"x"}'
check "...the old token is refused through any broker (404)" is_status 404 device_offline
# p3 comes back after its backoff (up to 2^n s).
p3_refused() {
	for n in 1 2 3; do
		wait_for grep -q "registration.* refused: this token has been revoked" \
		    "$T/p3.log" && return 0
	done
	return 1
}
check "...and can no longer register" p3_refused
via 2 notify "$NEWB" '{"text":"newb"}'
check "...the new token reaches the device" is_status 200
kill "$PID_p3" "$PID_p3b" 2>/dev/null

# --- NATS gone altogether --------------------------------------------------------------------
# Enter through the broker that holds most of the six.
E=1; best=-1
for i in 1 2 3; do
	n=$(cstat $i devices_connected)
	[ "$n" -gt $best ] && { best=$n; E=$i; }
done
for i in 1 2 3; do kill -9 "$(eval echo \$NATS_PID$i)" 2>/dev/null; done
check "NATS gone: the brokers notice" wait_for test_not_ready $E
local_here=""; remote=""
for k in 1 2 3 4 5 6; do
	eval tok=\$TM$k
	via $E notify "$tok" '{"text":"alone"}'
	case $STATUS in 200) local_here="$local_here $k" ;; 503) remote=$k ;; esac
done
check "NATS gone: local devices are still served" test -n "$local_here"
if [ -n "$remote" ]; then
	eval tok=\$TM$remote
	via $E notify "$tok" '{"text":"x"}'
	check "NATS gone: devices on other brokers get 503 relay_unavailable" is_status 503 relay_unavailable
fi
eval bp=\$BP$E
"$TBIN/linkprobe" register "127.0.0.1:$bp" "$PUB" DDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD >"$T/probe.out" 2>&1
check "NATS gone: a new registration is refused so the agent tries another broker" \
    grep -q "cluster" "$T/probe.out"
cagent late 1 2 3
wait_for log_count_ge "$T/late.log" "cannot reach its cluster" 3
first3() { grep "cannot reach its cluster" "$T/late.log" | head -n 3 | cut -d' ' -f1 | sed 's/Z$//'; }
span=$(( $(date -d "$(first3 | tail -n 1)" +%s) - $(date -d "$(first3 | head -n 1)" +%s) ))
check "...and an agent with three brokers tries all three at once ($span s), not after a backoff" \
    test "$(first3 | wc -l)" = 3 -a "$span" -le 1

# --- privacy -------------------------------------------------------------------------------------
leak=""
for tok in $TP1 $TP2 $TP3 $TM1 $TM2 $TM3; do
	grep -l "$tok" "$T"/broker*.log "$T"/nats*.log >/dev/null 2>&1 && leak=1
	grep -rl "$tok" "$T"/n1 "$T"/n2 "$T"/n3 >/dev/null 2>&1 && leak=1
done
check "no token in any broker or nats-server log, nor in the JetStream store" test -z "$leak"
