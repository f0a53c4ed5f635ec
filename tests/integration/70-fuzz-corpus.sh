# Goal: every fuzz target (tests/fuzz/fuzz_*.c) replays its whole seed
# corpus (tests/fuzz/corpus/T) and every crash ever found (tests/fuzz/
# regress/T) without a crash, a broken invariant or an ASan/UBSan report,
# built with gcc and tests/fuzz/replay.c (no clang, no libFuzzer), in a
# private directory.  One "ok"/"not ok" line per target; under a minute.
. "$(dirname "$0")/../lib.sh"

FZ=$ROOT/tests/fuzz
CC=${FUZZ_REPLAY_CC:-gcc}
# The Makefile's CFLAGS (without -MMD -MP), at -O1 to build faster, with
# the sanitizers.
FLAGS="-O1 -g -std=c11 -Wall -Wextra -Werror -Wshadow -Wpointer-arith
    -Wstrict-prototypes -Wmissing-prototypes -Wmissing-declarations
    -Wcast-qual -Wformat=2 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
    -DAWTRIX_VERSION=\"fuzz\" -I$ROOT/lib -I$FZ
    -fsanitize=address,undefined -fno-sanitize-recover=undefined
    -fno-omit-frame-pointer"
TARGETS=""
for f in "$FZ"/fuzz_*.c; do
	t=$(basename "$f" .c)
	TARGETS="$TARGETS ${t#fuzz_}"
done
if [ -z "$TARGETS" ]; then
	not_ok "fuzz targets exist in $FZ"
	exit 1
fi

# lib/ into an archive (a target may replace a member, as fuzz_relay_answer
# replaces log.o), two compilers at a time.
mkdir -p "$T/lib"
n=0
for c in "$ROOT"/lib/*.c; do
	# shellcheck disable=SC2086
	$CC $FLAGS -c -o "$T/lib/$(basename "$c" .c).o" "$c" \
	    2>>"$T/build.txt" &
	n=$((n + 1))
	[ $((n % 2)) -eq 0 ] && wait
done
wait
if ! ar rcs "$T/libawtrix.a" "$T"/lib/*.o 2>>"$T/build.txt"; then
	not_ok "lib/ builds with $CC and the sanitizers"
	sed 's/^/#   /' "$T/build.txt" | head -20
	exit 1
fi

build() {
	# shellcheck disable=SC2086
	$CC $FLAGS -o "$T/fuzz_$1" "$FZ/fuzz_$1.c" "$FZ/replay.c" \
	    "$T/libawtrix.a" -lsodium -ljson-c >"$T/build-$1.txt" 2>&1
}

set -- $TARGETS
while [ $# -gt 0 ]; do
	build "$1" &
	if [ $# -gt 1 ]; then build "$2" & shift; fi
	shift
	wait
done

for t in $TARGETS; do
	if [ ! -x "$T/fuzz_$t" ]; then
		not_ok "fuzz target $t builds with $CC"
		sed 's/^/#   /' "$T/build-$t.txt" | head -20
		continue
	fi
	dirs="$FZ/corpus/$t"
	[ -d "$FZ/regress/$t" ] && dirs="$dirs $FZ/regress/$t"
	nreg=$(find "$FZ/regress/$t" -type f ! -name '.*' 2>/dev/null | wc -l)
	# In a subshell, so that the shell's "Aborted" goes to the file too.
	# shellcheck disable=SC2086
	if (ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 \
	    UBSAN_OPTIONS=abort_on_error=1:print_stacktrace=1 \
	    "$T/fuzz_$t" $dirs; rc=$?; exit $rc) >"$T/replay-$t.txt" 2>&1
	then
		ok "fuzz target $t replays $(tail -n 1 "$T/replay-$t.txt")" \
		    "($nreg of them regressions)"
	else
		failed=$(sed -n 's/^replay: input that failed: //p' \
		    "$T/replay-$t.txt" | head -n 1)
		not_ok "fuzz target $t replays its corpus and regressions:" \
		    "${failed#"$ROOT"/} fails"
		grep -E 'invariant broken|ERROR: |runtime error|SUMMARY|^    #[0-3] ' \
		    "$T/replay-$t.txt" | head -12 | sed 's/^/#   /'
	fi
done
