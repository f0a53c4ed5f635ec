#!/bin/bash
# The documents cannot drift from the programs: every ```sh block of
# README.md's owner and operator sections, and the blocks of docs/deploy.md
# marked "doc-test" (those that need neither systemd, certbot nor the
# internet), run here, word by word, in a scratch root.  Only what cannot run on a test machine is rewritten, the
# same way for every line: paths move under $R, the operator's user gets a
# temporary name, public ports become loopback ports, the example broker
# key and clock address become the real test broker's key and a fake
# AWTRIX.  Daemons (awtrix-broker serve, awtrix-agent) run in the
# background.  Each command is one test, named by the command.
. "$(dirname "$0")/../lib.sh"

if [ "$(id -u)" != 0 ]; then
	ok "README commands (skipped: they are run as root, as written)"
	exit 0
fi

R=$T/root
DOCUSER=awtxdoc$$
BPORT=$(free_port)
mkdir -p "$R"
chmod 711 "$T" "$R"
PATH=$R/usr/local/bin:$PATH
export PATH
userdel_doc() { userdel "$DOCUSER" 2>/dev/null || true; }
trap 'cleanup; userdel_doc' EXIT

# blocks FILE HEADING: the ```sh blocks under "## HEADING" of FILE, or with
# HEADING "doc-test" those right after a "<!-- doc-test" line; one command
# a line (continuations joined).
blocks() {
	awk -v want="$2" '
		/^## / { in_sec = (substr($0, 4) == want) }
		/^<!-- doc-test/ { marked = 1; next }
		/^```sh$/ && (in_sec || (want == "doc-test" && marked)) { code = 1; next }
		/^```/ { marked = 0 }
		code && /^```$/ { code = 0; next }
		code { line = line $0
		       if (line ~ /\\$/) { sub(/\\$/, "", line); next }
		       print line; line = "" }
	' "$ROOT/$1"
}

# rewrite: the substitutions of the header comment, on stdin.
rewrite() {
	sed -e "s|/var/lib/|$R/var/lib/|g" -e "s|/run/awtrix-cloud|$R/run/awtrix-cloud|g" \
	    -e "s|make install|make -s install DESTDIR=$R|" -e "s|^make &&|make -s \&\&|" \
	    -e "s|--user awtrix-cloud|--user $DOCUSER|" -e "s|-u awtrix-cloud |-u $DOCUSER |" \
	    -e "s|-o awtrix-cloud |-o $DOCUSER |" -e "s|nologin awtrix-cloud|nologin $DOCUSER|" \
	    -e "s|0\.0\.0\.0:7443|127.0.0.1:$BPORT|" -e "s|cloud\.example\.org:7443|127.0.0.1:$BPORT|" \
	    -e "s|https://cloud\.example\.org/cloud|http://127.0.0.1:1/cloud|" \
	    -e "s|'PUBKEY44CHARACTERS\.\.\.='|'${PUB:-}'|" \
	    -e "s|http://192\.168\.1\.50/api/|http://127.0.0.1:${FAKE_PORT:-1}/api/|"
}

# run_block FILE HEADING: run every command of that section.
run_block() {
	blocks "$1" "$2" >"$T/block"
	set -- "$1 $2"
	while IFS= read -r cmd; do
		case $cmd in ""|"#"*) continue ;; esac
		line=$(printf '%s\n' "$cmd" | rewrite)
		what="$1: $(printf '%s' "$cmd" | cut -c1-70)"
		case $cmd in
		*"awtrix-broker serve"*|"awtrix-agent "*)
			daemon=${cmd%% *}
			spawn "doc-$daemon" sh -c "exec ${line%&*}"
			if [ "$daemon" = awtrix-broker ]; then
				up="test -S $R/run/awtrix-cloud/broker.sock"
			else
				up="grep -q 'device registered' $T/doc-awtrix-agent.log"
			fi
			if wait_for sh -c "$up"; then
				ok "$what"
			else
				not_ok "$what"
				tail -n 15 "$T/doc-$daemon.log" | sed 's/^/#   /'
			fi
			;;
		*)
			if (cd "$ROOT" && sh -c "$line") >"$T/cmd.out" 2>"$T/cmd.err" </dev/null; then
				ok "$what"
			else
				not_ok "$what"
				sed 's/^/#   /' "$T/cmd.err" | tail -n 15
			fi
			# keygen prints the key the owners' block needs.
			case $cmd in
			*keygen*) PUB=$(tail -n 1 "$T/cmd.out") ;;
			*regenerate*) cp "$T/cmd.out" "$T/regen.out" ;;
			esac
			;;
		esac
	done <"$T/block"
}

run_block README.md "For operators: the cloud side"
check "the broker runs as the README's user" \
    test "$(stat -c %U "$R/var/lib/awtrix-cloud/state.db" 2>/dev/null)" = "$DOCUSER"

start_fake fake
run_block README.md "For AWTRIX owners: the agent"
check "awtrix-token regenerate printed the new token, then its link" \
    sh -c "sed -n 1p '$T/regen.out' | grep -qx '[A-Za-z0-9]\{32\}' &&
        sed -n 2p '$T/regen.out' | grep -q '^http://127.0.0.1:1/cloud?mode=notify&token='"

# docs/deploy.md's blocks that need neither systemd, certbot nor the
# internet (marked doc-test): the same setup by hand, in a second root.
for p in $PIDS; do kill "$p" 2>/dev/null; done
wait 2>/dev/null
PIDS=""
userdel_doc
R=$T/root2
mkdir -p "$R"; chmod 711 "$R"
BPORT=$(free_port)
: >"$T/doc-awtrix-broker.log"
run_block docs/deploy.md doc-test
check "deploy.md: awtrix-broker stats answers on the by-hand broker's socket" \
    sh -c "'$BIN/awtrix-broker' stats --socket '$R/run/awtrix-cloud/broker.sock' >/dev/null"
