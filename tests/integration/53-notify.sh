# Goal: the broker speaks systemd's notification protocol (Type=notify,
# WatchdogSec=) to a fake NOTIFY_SOCKET: READY=1 comes once, only after the
# front socket exists and the agents' port accepts, WATCHDOG=1 pings follow
# from the event loop while it runs (and stop while it is stopped), and
# STOPPING=1 comes at SIGTERM.  Without NOTIFY_SOCKET nothing changes.
. "$(dirname "$0")/../lib.sh"

PY=/usr/bin/python3
N=$T/notify
mkdir -p "$N"
chmod 755 "$N"
BROKER_PORT=$(free_port)
BROKER_SOCK=$T/broker/broker.sock
spawn listener "$PY" "$ROOT/tests/tools/notify-listener.py" "$N/notify.sock" \
    "$N/messages" "$BROKER_SOCK" "$BROKER_PORT"
wait_for grep -q listening "$N/messages"

# n_of MESSAGE: how many times it came.
n_of() { grep -c "^$1 " "$N/messages" 2>/dev/null || true; }

# A watchdog of 1 s: a ping every 0.5 s at most, every second at least
# (the loop's longest sleep).
NOTIFY_SOCKET=$N/notify.sock WATCHDOG_USEC=1000000 start_broker
check "READY=1 arrives" wait_for grep -q '^READY=1 ' "$N/messages"
check "...only after the front socket exists and the agents' port accepts" \
    grep -q '^READY=1 sock=1 tcp=1$' "$N/messages"
check "...exactly once" test "$(n_of READY=1)" = 1
check "STATUS= says serving" grep -q '^STATUS=serving ' "$N/messages"
check "WATCHDOG=1 pings keep coming from the event loop" \
    wait_for eval 'test "$(n_of WATCHDOG=1)" -ge 4'

# A stopped loop sends nothing: what systemd's watchdog acts on.
kill -STOP "$BROKER_PID"
before=$(n_of WATCHDOG=1)
sleep 2
check "no ping while the broker is stopped (SIGSTOP)" test "$(n_of WATCHDOG=1)" = "$before"
kill -CONT "$BROKER_PID"
check "pings again after SIGCONT" wait_for eval 'test "$(n_of WATCHDOG=1)" -gt "$before"'

kill "$BROKER_PID"; wait "$BROKER_PID"
check "the broker exits 0 on SIGTERM" test $? = 0
check "STOPPING=1 at shutdown" grep -q '^STOPPING=1 ' "$N/messages"

# Without a watchdog, READY=1 only; without NOTIFY_SOCKET, no message at all.
: >"$N/messages"
NOTIFY_SOCKET=$N/notify.sock start_broker
check "without WATCHDOG_USEC: READY=1" wait_for grep -q '^READY=1 sock=1 tcp=1$' "$N/messages"
sleep 1.5
check "...and no WATCHDOG=1" test "$(n_of WATCHDOG=1)" = 0
stop "$BROKER_PID" >/dev/null
# The listener writes what it got after the broker exits: let it finish.
wait_for grep -q '^STOPPING=1' "$N/messages"
: >"$N/messages"
start_broker
check "without NOTIFY_SOCKET the broker serves" test -S "$BROKER_SOCK"
stop "$BROKER_PID" >/dev/null
check "...and sends nothing" test "$(wc -l <"$N/messages")" = 0
