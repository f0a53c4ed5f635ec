# Goal: the Debian packages built by `make deb` (build/deb/*.deb) hold
# every file with its mode, their maintainer scripts do what docs/deploy.md
# promises (a system user and a 0700 state directory at installation, the
# broker enabled and started, every unit stopped at removal, state removed
# only at purge), the source names no architecture, and lintian finds no
# error and only the warnings docs/packaging.md explains.
#
# The packages are unpacked with dpkg -x into a scratch root; the maintainer
# scripts run against stub commands (adduser, install, rm, deb-systemd-*,
# systemctl ...) that record what they were asked to do, with the test's
# own stand-in for /run/systemd/system.  Nothing on this machine changes.
. "$(dirname "$0")/../lib.sh"

D=$ROOT/build/deb
CLOUD=$(ls "$D"/awtrix-cloud_*.deb 2>/dev/null | head -n 1)
AGENT=$(ls "$D"/awtrix-agent_*.deb 2>/dev/null | head -n 1)
if [ -z "$CLOUD" ] || [ -z "$AGENT" ]; then
	not_ok "make deb built awtrix-cloud_*.deb and awtrix-agent_*.deb"
	exit 1
fi
ok "make deb built $(basename "$CLOUD") and $(basename "$AGENT")"

# --- contents and modes --------------------------------------------------------
R=$T/root
dpkg-deb -x "$CLOUD" "$R"
dpkg-deb -x "$AGENT" "$R"

# has MODE OWNER PATH: in the .deb's listing, PATH has this mode and owner.
dpkg-deb -c "$CLOUD" >"$T/contents"
dpkg-deb -c "$AGENT" >>"$T/contents"
has() {
	awk -v m="$1" -v o="$2" -v p="./$3" '$6 == p { print $1, $2 }' \
	    "$T/contents" | grep -qx -- "$1 $2" ||
	    { echo "# $3: $(awk -v p="./$3" '$6 == p { print $1, $2 }' "$T/contents"), want $1 $2" >&2; return 1; }
}
for f in usr/bin/awtrix-broker usr/lib/awtrix-cloud/awtrix-cloud.fcgi \
    usr/bin/awtrix-agent usr/bin/awtrix-token; do
	check "$f: -rwxr-xr-x root/root" has -rwxr-xr-x root/root "$f"
done
check "usr/bin/awtrix-cloud.fcgi links to the one program" \
    test "$(readlink "$R/usr/bin/awtrix-cloud.fcgi")" = ../lib/awtrix-cloud/awtrix-cloud.fcgi
for f in lib/systemd/system/awtrix-broker.service \
    lib/systemd/system/awtrix-cloud-fcgi.service \
    lib/systemd/system/awtrix-cloud-fcgi.socket \
    lib/systemd/system/awtrix-agent.service \
    usr/share/awtrix-cloud/sql/schema.sql \
    usr/share/awtrix-cloud/lighttpd/awtrix-cloud.conf \
    usr/share/awtrix-cloud/apache/awtrix-cloud-fcgid.conf \
    usr/share/awtrix-cloud/apache/awtrix-cloud-proxy-fcgi.conf \
    usr/share/man/man8/awtrix-broker.8.gz usr/share/man/man8/awtrix-cloud.fcgi.8.gz \
    usr/share/man/man8/awtrix-agent.8.gz usr/share/man/man1/awtrix-token.1.gz \
    usr/share/doc/awtrix-cloud/copyright usr/share/doc/awtrix-agent/copyright \
    usr/share/doc/awtrix-cloud/operations.md.gz; do
	check "$f: -rw-r--r-- root/root" has -rw-r--r-- root/root "$f"
done
check "etc/default/awtrix-agent: -rw------- root/root (may hold the clock's credentials)" \
    has -rw------- root/root etc/default/awtrix-agent
check "etc/default/awtrix-agent is a conffile" eval '
    dpkg-deb -e "$AGENT" "$T/agent.ctl" && grep -qx /etc/default/awtrix-agent "$T/agent.ctl/conffiles"'
check "the units run the programs from /usr/bin" eval '
    grep -q "^ExecStart=/usr/bin/awtrix-broker serve" "$R/lib/systemd/system/awtrix-broker.service" &&
    grep -q "^ExecStart=/usr/bin/awtrix-cloud.fcgi" "$R/lib/systemd/system/awtrix-cloud-fcgi.service" &&
    grep -q "^ExecStart=/usr/bin/awtrix-agent " "$R/lib/systemd/system/awtrix-agent.service"'
check "the broker unit is Type=notify with a watchdog" eval '
    grep -qx Type=notify "$R/lib/systemd/system/awtrix-broker.service" &&
    grep -q "^WatchdogSec=[0-9]" "$R/lib/systemd/system/awtrix-broker.service"'
check "the web-server snippets name the packaged program's directory" eval '
    grep -q /usr/lib/awtrix-cloud "$R/usr/share/awtrix-cloud/lighttpd/awtrix-cloud.conf" &&
    grep -q /usr/lib/awtrix-cloud "$R/usr/share/awtrix-cloud/apache/awtrix-cloud-fcgid.conf" &&
    ! grep -rq /usr/local "$R/usr/share/awtrix-cloud"'
for p in awtrix-broker awtrix-agent awtrix-token awtrix-cloud.fcgi; do
	check "the packaged $p runs (--version)" eval '
	    env -u GATEWAY_INTERFACE "$R/usr/bin/$p" --version | grep -q "^$p [0-9]"'
done
check "awtrix-cloud depends on adduser and libsystemd0" eval '
    dpkg-deb -f "$CLOUD" Depends | grep -q adduser &&
    dpkg-deb -f "$CLOUD" Depends | grep -q libsystemd0'

# --- no architecture assumed --------------------------------------------------------
check "debian/control: Architecture linux-any for both packages (no amd64)" eval '
    test "$(grep -c "^Architecture: linux-any$" "$ROOT/debian/control")" = 2 &&
    ! grep -rqiw -e amd64 -e x86_64 -e i386 "$ROOT/debian"'
check "no architecture-specific compiler flag in the Makefile or debian/rules" \
    eval '! grep -E -q -- "-m(64|32|arch|tune|cpu)|-msse|-mavx" "$ROOT/Makefile" "$ROOT/debian/rules"'

# --- the maintainer scripts ----------------------------------------------------
# Stubs record "command args" in $T/calls; getent says whether the user
# exists from $T/user-exists.
S=$T/stubs
mkdir -p "$S" "$T/run/systemd/system"
for c in adduser install rm deb-systemd-helper deb-systemd-invoke systemctl \
    dpkg-statoverride deluser chown chmod; do
	printf '#!/bin/sh\necho "%s $*" >>"%s/calls"\nexit 0\n' "$c" "$T" >"$S/$c"
	chmod +x "$S/$c"
done
printf '#!/bin/sh\n[ "$1 $2" = "passwd awtrix-cloud" ] && [ -e "%s/user-exists" ]\n' \
    "$T" >"$S/getent"
chmod +x "$S/getent"
# As on a fresh system: no unit was installed by a package before
# (debian-installed fails), and was-enabled is true for a new unit.
printf '#!/bin/sh\necho "deb-systemd-helper $*" >>"%s/calls"\n[ "$1" != debian-installed ]\n' \
    "$T" >"$S/deb-systemd-helper"
# dpkg-statoverride --list finds nothing (exit 1).
printf '#!/bin/sh\necho "dpkg-statoverride $*" >>"%s/calls"\nexit 1\n' "$T" >"$S/dpkg-statoverride"
dpkg-deb -e "$CLOUD" "$T/cloud.ctl"

# run_script DIR SCRIPT ARGS...: run a maintainer script with the stubs, its
# /run/systemd/system and /usr/bin/deb-systemd-helper tests pointed at ours.
run_script() {
	dir=$1; script=$2; shift 2
	: >"$T/calls"
	sed -e "s|/run/systemd/system|$T/run/systemd/system|g" \
	    -e "s|/usr/bin/deb-systemd-helper|$S/deb-systemd-helper|g" \
	    "$dir/$script" >"$T/script"
	PATH="$S:$PATH" sh "$T/script" "$@" >"$T/script.out" 2>&1
}
called() { grep -qx -- "$1" "$T/calls" || { echo "# calls:" >&2; sed 's/^/#   /' "$T/calls" >&2; return 1; }; }

check "postinst configure runs" run_script "$T/cloud.ctl" postinst configure
check "...creates the system user awtrix-cloud in group www-data" called \
    "adduser --system --quiet --ingroup www-data --home /var/lib/awtrix-cloud --no-create-home --shell /usr/sbin/nologin --gecos AWTRIX Cloud broker awtrix-cloud"
check "...makes /var/lib/awtrix-cloud 0700 awtrix-cloud:www-data" called \
    "install -d -o awtrix-cloud -g www-data -m 0700 /var/lib/awtrix-cloud"
check "...enables awtrix-broker.service" called "deb-systemd-helper enable awtrix-broker.service"
check "...starts awtrix-broker.service" called "deb-systemd-invoke start awtrix-broker.service"
check "...neither enables nor starts the FastCGI socket (one of three ways)" eval '
    ! grep -q -e "enable awtrix-cloud-fcgi" -e "start awtrix-cloud-fcgi" "$T/calls"'
touch "$T/user-exists"
run_script "$T/cloud.ctl" postinst configure 0.1.0
check "a second configure (upgrade) keeps the user and restarts the broker" eval '
    ! grep -q "^adduser" "$T/calls" && called "deb-systemd-invoke restart awtrix-broker.service"'
check "prerm remove runs" run_script "$T/cloud.ctl" prerm remove
check "...stops the broker" called "deb-systemd-invoke stop awtrix-broker.service"
check "...stops the FastCGI socket and service" called \
    "deb-systemd-invoke stop awtrix-cloud-fcgi.socket awtrix-cloud-fcgi.service"
run_script "$T/cloud.ctl" postrm remove
check "postrm remove keeps the state (key and database)" eval '! grep -q "^rm " "$T/calls"'
run_script "$T/cloud.ctl" postrm purge
check "postrm purge removes /var/lib/awtrix-cloud and /run/awtrix-cloud" \
    called "rm -rf /var/lib/awtrix-cloud /run/awtrix-cloud"
check "...and forgets the units' state" called "deb-systemd-helper purge awtrix-broker.service"

run_script "$T/agent.ctl" postinst configure
check "the agent is installed neither enabled nor started (settings first)" eval '
    ! grep -q -e "helper enable" -e "invoke start" "$T/calls"'
run_script "$T/agent.ctl" prerm remove
check "removing awtrix-agent stops the agent" called "deb-systemd-invoke stop awtrix-agent.service"
run_script "$T/agent.ctl" postrm purge
check "purging awtrix-agent removes its state" \
    called "rm -rf /var/lib/private/awtrix-agent /var/lib/awtrix-agent"

# --- lintian ------------------------------------------------------------------------
if command -v lintian >/dev/null; then
	lintian --pedantic -I "$D"/*.changes >"$T/lintian.out" 2>&1
	grep -v '^N:' "$T/lintian.out" | sed 's/^/# lintian: /'
	check "lintian: no error" eval '! grep -q "^E:" "$T/lintian.out"'
	check "lintian: no warning but the one docs/packaging.md explains" eval '
	    test "$(grep "^W:" "$T/lintian.out")" = \
	    "W: awtrix-agent: non-standard-file-perm 0600 != 0644 [etc/default/awtrix-agent]"'
	check "docs/packaging.md explains every lintian tag reported" eval '
	    for tag in $(sed -n "s/^[WIP]: [^:]*: \([a-z0-9-]*\).*/\1/p" "$T/lintian.out" | sort -u); do
	        grep -q -- "$tag" "$ROOT/docs/packaging.md" || { echo "# unexplained: $tag" >&2; exit 1; }
	    done'
else
	not_ok "lintian is installed (scripts/deps package)"
fi
