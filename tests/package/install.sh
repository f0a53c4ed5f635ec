# Goal: the built packages installed for real with dpkg on this machine
# (root only; CI runs it, see `make deb-test`): the system user and its
# state directory exist with the right modes, the installed broker runs as
# that user from the installed unit's command line, `dpkg -r` keeps the
# state and `dpkg -P` removes it.  Without systemd running (a container)
# dpkg does not start units; tests/package/deb.sh checks what the scripts
# ask systemd.  Everything installed here is purged again at the end.
#
# Refuses to run where the packages or their state already exist, so that
# it never removes an operator's relay.
. "$(dirname "$0")/../lib.sh"

D=$ROOT/build/deb
CLOUD=$(ls "$D"/awtrix-cloud_*.deb 2>/dev/null | head -n 1)
AGENT=$(ls "$D"/awtrix-agent_*.deb 2>/dev/null | head -n 1)
if [ -z "$CLOUD" ] || [ -z "$AGENT" ]; then
	not_ok "make deb built awtrix-cloud_*.deb and awtrix-agent_*.deb"
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	ok "skipped: installing packages needs root"
	exit 0
fi
if dpkg-query -W awtrix-cloud awtrix-agent >/dev/null 2>&1 ||
    [ -e /var/lib/awtrix-cloud ] || [ -e /var/lib/private/awtrix-agent ]; then
	not_ok "awtrix-cloud or awtrix-agent (or their state) is already on this machine: not touching it"
	exit 1
fi
MADE_PRIVATE=0
purge_all() {
	dpkg -P awtrix-cloud awtrix-agent >/dev/null 2>&1 || true
	[ "$MADE_PRIVATE" = 0 ] || rmdir /var/lib/private 2>/dev/null || true
}
trap 'purge_all; cleanup' EXIT

check "dpkg -i installs both packages" eval '
    dpkg -i "$CLOUD" "$AGENT" >"$T/dpkg-i.out" 2>&1 ||
    { tail -n 20 "$T/dpkg-i.out" | sed "s/^/#   /" >&2; false; }'
check "both are installed" eval '
    test "$(dpkg-query -W -f="\${db:Status-Status} " awtrix-cloud awtrix-agent)" = "installed installed "'
check "system user awtrix-cloud: system uid, primary group www-data, no shell" eval '
    u=$(getent passwd awtrix-cloud) && uid=$(echo "$u" | cut -d: -f3) &&
    test "$uid" -lt 1000 && test "$(id -gn awtrix-cloud)" = www-data &&
    test "$(echo "$u" | cut -d: -f6,7)" = /var/lib/awtrix-cloud:/usr/sbin/nologin'
check "/var/lib/awtrix-cloud: 0700 awtrix-cloud:www-data" \
    test "$(stat -c %a:%U:%G /var/lib/awtrix-cloud)" = 700:awtrix-cloud:www-data
check "/etc/default/awtrix-agent: 0600 root" \
    test "$(stat -c %a:%U /etc/default/awtrix-agent)" = 600:root
check "the installed programs run" eval '{
    /usr/bin/awtrix-broker --version && /usr/bin/awtrix-agent --version &&
    /usr/bin/awtrix-token --version &&
    env -u GATEWAY_INTERFACE /usr/bin/awtrix-cloud.fcgi --version; } >/dev/null'

# The unit's command lines, as its user, with /run/awtrix-cloud under $T
# (systemd would make /run/awtrix-cloud; nothing is made outside $T here).
U=/lib/systemd/system/awtrix-broker.service
unit_line() {
	sed -e ':a' -e '/\\$/{N;s/\\\n//;ba' -e '}' "$U" | sed -n "s/^$1=//p" |
	    sed -e 's/\$\$/$/g' -e "s|/run/awtrix-cloud/|$T/run/|g"
}
mkdir -p "$T/run"
chown awtrix-cloud:www-data "$T/run"
chmod 750 "$T/run"
chmod 755 "$T"
LISTEN=127.0.0.1:$(free_port)
export PUBLIC_URL=https://cloud.test/cloud CLUSTER=
eval "PRE=($(unit_line ExecStartPre))"
check "ExecStartPre, as awtrix-cloud, makes the key in /var/lib/awtrix-cloud" eval '
    runuser -u awtrix-cloud -- "${PRE[@]}" >/dev/null 2>&1 &&
    test "$(stat -c %a:%U /var/lib/awtrix-cloud/broker.key)" = 600:awtrix-cloud'
eval "CMD=($(unit_line ExecStart))"
spawn broker runuser -u awtrix-cloud -g www-data -- "${CMD[@]}"
BROKER_PID=$LASTPID
check "ExecStart, as awtrix-cloud:www-data, serves" wait_for test -S "$T/run/broker.sock"
check "its database is in /var/lib/awtrix-cloud" test -f /var/lib/awtrix-cloud/state.db
check "/healthz through the installed program: 200" eval '
    runuser -u www-data -- env -i GATEWAY_INTERFACE=CGI/1.1 \
    REQUEST_METHOD=GET SCRIPT_NAME=/healthz AWTRIX_BROKER_SOCKET="$T/run/broker.sock" \
    /usr/lib/awtrix-cloud/awtrix-cloud.fcgi </dev/null |
    grep -q "^Status: 200"'
kill "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null

# Stand-in for the agent's state, which its dynamic user would have made
# (/var/lib/private too, if it was not there: removed again at the end).
[ -d /var/lib/private ] || MADE_PRIVATE=1
mkdir -p /var/lib/private/awtrix-agent
touch /var/lib/private/awtrix-agent/device.key
check "dpkg -r removes the programs" eval '
    dpkg -r awtrix-cloud awtrix-agent >"$T/dpkg-r.out" 2>&1 &&
    ! [ -e /usr/bin/awtrix-broker ] && ! [ -e /usr/bin/awtrix-agent ]'
check "...and keeps the state: key, database, the agent's state" eval '
    test -f /var/lib/awtrix-cloud/broker.key && test -f /var/lib/awtrix-cloud/state.db &&
    test -f /var/lib/private/awtrix-agent/device.key'
check "...and the agent's edited-or-not settings (a conffile)" test -f /etc/default/awtrix-agent
check "dpkg -P removes the state" eval '
    dpkg -P awtrix-cloud awtrix-agent >"$T/dpkg-p.out" 2>&1 &&
    ! [ -e /var/lib/awtrix-cloud ] && ! [ -e /var/lib/private/awtrix-agent ] &&
    ! [ -e /etc/default/awtrix-agent ]'
check "...and keeps the system user (Debian's habit)" eval 'getent passwd awtrix-cloud >/dev/null'
