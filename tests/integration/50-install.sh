# Goal: `make install DESTDIR=... PREFIX=...` puts every file in place with
# its mode; the installed programs answer --help and --version and refuse a
# wrong flag with 2; the man pages lint clean; systemd-analyze accepts the
# units; and the units' own command lines start a working broker and agent.
#
# systemd-analyze verify checks that ExecStart= points at an executable, so
# it runs on copies of the installed units whose /usr/local/bin is rewritten
# to the DESTDIR tree, with MANPATH at the installed man pages (it also checks
# that every Documentation=man: page exists).  Everything else in the units is
# verified as installed.
. "$(dirname "$0")/../lib.sh"

R=$T/root
P=/usr/local
UNITS="awtrix-broker.service awtrix-agent.service awtrix-cloud-fcgi.socket
awtrix-cloud-fcgi.service"
PROGRAMS="awtrix-broker awtrix-agent awtrix-token awtrix-cloud.fcgi"

if ! make -C "$ROOT" install DESTDIR="$R" PREFIX=$P >"$T/install.out" 2>&1; then
	not_ok "make install DESTDIR=... PREFIX=$P"
	tail -n 20 "$T/install.out" | sed 's/^/#   /'
	exit 1
fi
ok "make install DESTDIR=... PREFIX=$P"

# --- the layout ---------------------------------------------------------

# has_mode MODE FILE: FILE is a regular file with exactly this octal mode.
has_mode() {
	[ -f "$2" ] && [ "$(stat -c %a "$2")" = "$1" ] ||
	    { echo "# $2: $(stat -c %a "$2" 2>&1), want $1" >&2; return 1; }
}

for p in $PROGRAMS; do
	check "$P/bin/$p installed 0755" has_mode 755 "$R$P/bin/$p"
done
check "$P/lib/awtrix-cloud/awtrix-cloud.fcgi installed 0755 (web servers)" \
    has_mode 755 "$R$P/lib/awtrix-cloud/awtrix-cloud.fcgi"
for f in "$ROOT"/sql/*; do
	[ -f "$f" ] || continue
	check "sql/$(basename "$f") installed 0644" \
	    has_mode 644 "$R$P/share/awtrix-cloud/sql/$(basename "$f")"
done
n=0
for f in "$ROOT"/apache/*.conf "$ROOT"/lighttpd/*.conf; do
	[ -f "$f" ] || continue
	d=$(basename "$(dirname "$f")")
	check "$d/$(basename "$f") installed 0644" \
	    has_mode 644 "$R$P/share/awtrix-cloud/$d/$(basename "$f")"
	n=$((n + 1))
done
[ $n -gt 0 ] || ok "skipped: no apache/ or lighttpd/ configuration to install yet"
for f in "$ROOT"/www/*; do
	check "www/$(basename "$f") (the owner's page) installed 0644" \
	    has_mode 644 "$R$P/share/awtrix-cloud/www/$(basename "$f")"
done
check "lighttpd/errors/413.html installed 0644 (server.errorfile-prefix)" \
    has_mode 644 "$R$P/share/awtrix-cloud/lighttpd/errors/413.html"
for u in $UNITS; do
	check "unit $u installed 0644" has_mode 644 "$R$P/lib/systemd/system/$u"
done
check "no @BINDIR@ left in the installed units" \
    eval '! grep -l @BINDIR@ "$R$P"/lib/systemd/system/*'
for u in $UNITS; do
	case $u in *.service) ;; *) continue ;; esac
	check "$u runs its program from $P/bin" \
	    grep -q "^ExecStart=$P/bin/awtrix-" "$R$P/lib/systemd/system/$u"
done
check "/etc/default/awtrix-agent installed 0600" \
    has_mode 600 "$R/etc/default/awtrix-agent"
check "man page awtrix-token.1 installed 0644" \
    has_mode 644 "$R$P/share/man/man1/awtrix-token.1"
for m in awtrix-broker awtrix-agent awtrix-cloud.fcgi; do
	check "man page $m.8 installed 0644" \
	    has_mode 644 "$R$P/share/man/man8/$m.8"
done

# A second install keeps the owner's settings; PREFIX=/usr puts the units
# in /lib/systemd/system.
echo "BROKER=edited.example:7443" >"$R/etc/default/awtrix-agent"
make -C "$ROOT" install DESTDIR="$R" PREFIX=$P >"$T/install2.out" 2>&1
check "a second install keeps an edited /etc/default/awtrix-agent" \
    grep -q edited.example "$R/etc/default/awtrix-agent"
make -C "$ROOT" install DESTDIR="$T/usr-root" PREFIX=/usr >"$T/install3.out" 2>&1
check "PREFIX=/usr: units in /lib/systemd/system, running /usr/bin" \
    grep -q '^ExecStart=/usr/bin/awtrix-broker ' \
    "$T/usr-root/lib/systemd/system/awtrix-broker.service"
check "PREFIX=/usr: programs in /usr/bin" test -x "$T/usr-root/usr/bin/awtrix-token"
make -C "$ROOT" uninstall DESTDIR="$T/usr-root" PREFIX=/usr >"$T/uninstall.out" 2>&1
check "make uninstall PREFIX=/usr removes every file make install put there" eval '
    test -z "$(find "$T/usr-root" ! -type d)" ||
    { find "$T/usr-root" ! -type d | sed "s/^/#   left: /" >&2; false; }'

# --- the installed programs ---------------------------------------------

# runs WANT_RC PROGRAM ARGS...: exits WANT_RC, with output on stdout when
# WANT_RC is 0 (outside a web server: no GATEWAY_INTERFACE).
runs() {
	want=$1; shift
	env -u GATEWAY_INTERFACE "$@" >"$T/prog.out" 2>"$T/prog.err"
	rc=$?
	[ $rc = "$want" ] || { echo "# $*: exit $rc, want $want" >&2; return 1; }
	[ "$want" != 0 ] || [ -s "$T/prog.out" ]
}
for p in $PROGRAMS; do
	check "installed $p --help exits 0" runs 0 "$R$P/bin/$p" --help
	check "installed $p --version exits 0" runs 0 "$R$P/bin/$p" --version
	check "installed $p --version names it" grep -q "^$p [0-9]" "$T/prog.out"
	check "installed $p with a wrong flag exits 2" \
	    runs 2 "$R$P/bin/$p" --no-such-flag
done

# --- the man pages ------------------------------------------------------

MANS="$R$P/share/man/man1/awtrix-token.1 $R$P/share/man/man8/awtrix-broker.8
$R$P/share/man/man8/awtrix-agent.8 $R$P/share/man/man8/awtrix-cloud.fcgi.8"
# lint FILE: no message of level WARNING or worse (STYLE messages, such as
# the cross-references to pages not in the system's database, are fine).
if command -v mandoc >/dev/null; then
	lint() { mandoc -T lint -W warning "$1" >&2 && mandoc -T ascii "$1" |
	    sed 's/.\x08//g' | grep -q '^NAME'; }
	LINTER=mandoc
elif command -v groff >/dev/null; then
	lint() { out=$(groff -mandoc -Tutf8 -ww -z "$1" 2>&1);
	    [ -z "$out" ] || { echo "$out" >&2; return 1; }; }
	LINTER=groff
else
	LINTER=
fi
for m in $MANS; do
	if [ -n "$LINTER" ]; then
		check "$(basename "$m") passes $LINTER without warnings" lint "$m"
	else
		ok "skipped: neither mandoc nor groff to check $(basename "$m")"
	fi
done

# --- systemd-analyze verify ---------------------------------------------

if command -v systemd-analyze >/dev/null; then
	mkdir -p "$T/units"
	for u in $UNITS; do
		sed "s|$P/bin/|$R$P/bin/|g" "$R$P/lib/systemd/system/$u" \
		    >"$T/units/$u"
	done
	for u in $UNITS; do
		# Exit 0 and not a word: warnings (unknown keys, bad values)
		# leave the exit status at 0.
		check "systemd-analyze verify accepts $u" eval '
		    (cd "$T/units" && MANPATH="$R$P/share/man" \
		    systemd-analyze verify "$u") >"$T/verify.out" 2>&1 &&
		    ! [ -s "$T/verify.out" ] ||
		    { sed "s/^/#   /" "$T/verify.out" >&2; false; }'
	done
else
	ok "skipped: no systemd-analyze to verify the units"
fi

# --- the units' command lines, run by hand ------------------------------

# The units run the programs as an unprivileged user, so the command lines
# run here as one too: as root, the tests' user awtrix-test (lib.sh), whose
# primary group stands in for www-data; otherwise the user running the tests.
RUNAS=()
UNIT_GROUP=$(id -gn)
if [ "$(id -u)" = 0 ]; then
	if ! id awtrix-test >/dev/null 2>&1; then
		ok "skipped: no user awtrix-test to run the units' command lines"
		exit 0
	fi
	RUNAS=(setpriv --reuid="$(id -u awtrix-test)"
	    --regid="$(id -g awtrix-test)" --clear-groups)
	UNIT_GROUP=$(id -gn awtrix-test)
fi

# exec_line UNIT KEY: the unit's KEY= command line (continuations joined,
# systemd's $$ unescaped), with the installed paths moved under $T so that
# it can run here, and the web server's group replaced by UNIT_GROUP.
exec_line() {
	sed -e ':a' -e '/\\$/{N;s/\\\n//;ba' -e '}' \
	    "$R$P/lib/systemd/system/$1" | sed -n "s/^$2=//p" |
	    sed -e 's/\$\$/$/g' -e "s|$P/bin/|$R$P/bin/|g" \
	    -e "s|/var/lib/|$T/var/lib/|g" -e "s|/run/|$T/run/|g" \
	    -e "s|www-data|$UNIT_GROUP|g"
}

# What systemd makes of StateDirectory= and RuntimeDirectory=: directories
# of the unit's user.  The agent's dynamic user gets a symbolic link to
# private/awtrix-agent.
mkdir -p "$T/var/lib/awtrix-cloud" "$T/run/awtrix-cloud" \
    "$T/var/lib/private/awtrix-agent"
ln -s private/awtrix-agent "$T/var/lib/awtrix-agent"
chmod 700 "$T/var/lib/awtrix-cloud" "$T/var/lib/private/awtrix-agent"
chmod 750 "$T/run/awtrix-cloud"
[ ${#RUNAS[@]} = 0 ] || chown awtrix-test "$T/var/lib/awtrix-cloud" \
    "$T/run/awtrix-cloud" "$T/var/lib/private/awtrix-agent"

LISTEN=127.0.0.1:$(free_port)
CLUSTER=
eval "PRE=($(exec_line awtrix-broker.service ExecStartPre))"
check "the broker unit's ExecStartPre refuses an empty PUBLIC_URL (exit 2)" \
    sh -c "PUBLIC_URL= \"\$@\" 2>'$T/pre.err'; test \$? -eq 2 &&
        grep -q 'set PUBLIC_URL=' '$T/pre.err'" - "${PRE[@]}"
export PUBLIC_URL=https://cloud.test/cloud
check "the broker unit's ExecStartPre makes the key" eval '"${RUNAS[@]}" \
    "${PRE[@]}" >"$T/keygen.out" 2>&1 &&
    test -s "$T/var/lib/awtrix-cloud/broker.key"'
check "the broker unit's ExecStartPre is a no-op when the key exists" eval '
    "${RUNAS[@]}" "${PRE[@]}" >"$T/keygen2.out" 2>&1 &&
    ! [ -s "$T/keygen2.out" ]'
eval "CMD=($(exec_line awtrix-broker.service ExecStart))"
spawn broker "${RUNAS[@]}" "${CMD[@]}"
BROKER_PID=$LASTPID
BROKER_SOCK=$T/run/awtrix-cloud/broker.sock
check "the broker unit's ExecStart serves" wait_for test -S "$BROKER_SOCK"
check "awtrix-broker stats answers on the unit's socket" eval '
    "$R$P/bin/awtrix-broker" stats --socket "$BROKER_SOCK" |
    grep -q "\"devices_connected\":0"'

BROKER=$LISTEN
BROKER_KEY=$("$R$P/bin/awtrix-broker" pubkey "$T/var/lib/awtrix-cloud/broker.key")
TARGET=http://127.0.0.1:9/api/
AGENT_OPTS="--deny power"
export BROKER BROKER_KEY TARGET
eval "PRE=($(exec_line awtrix-agent.service ExecStartPre))"
check "the agent unit's ExecStartPre accepts the settings" "${PRE[@]}"
( unset BROKER; "${PRE[@]}" ) 2>"$T/pre.err"
check "the agent unit's ExecStartPre refuses missing settings (exit 2)" \
    test $? = 2
eval "CMD=($(exec_line awtrix-agent.service ExecStart))"
spawn agent "${RUNAS[@]}" "${CMD[@]}"
AGENT_PID=$LASTPID
check "the agent unit's ExecStart registers (state dir behind a symlink)" \
    wait_for agent_connected agent
check "awtrix-token prints the URL of the broker unit's --public-url" eval '
    "$R$P/bin/awtrix-token" --state "$T/var/lib/awtrix-agent" url |
    grep -q "^https://cloud.test/cloud?mode=notify&token=[A-Za-z0-9]\{32\}$"'
kill "$AGENT_PID"; wait "$AGENT_PID"
check "the agent stops on SIGTERM with exit 0" test $? = 0
kill "$BROKER_PID"; wait "$BROKER_PID"
check "the broker stops on SIGTERM with exit 0" test $? = 0

# --- make uninstall -------------------------------------------------------

make -C "$ROOT" uninstall DESTDIR="$R" PREFIX=$P >"$T/uninstall2.out" 2>&1
check "make uninstall exits 0" test $? = 0
check "make uninstall keeps the owner's edited /etc/default/awtrix-agent, nothing else" eval '
    test "$(find "$R" ! -type d)" = "$R/etc/default/awtrix-agent" ||
    { find "$R" ! -type d | sed "s/^/#   left: /" >&2; false; }'
make -C "$ROOT" uninstall DESTDIR="$R" PREFIX=$P >"$T/uninstall3.out" 2>&1
check "a second make uninstall is harmless" test $? = 0
