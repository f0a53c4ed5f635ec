# Goal: the README's first command works: `make demo`'s one-shot mode sends a
# notification through lighttpd, the broker and the agent to the simulated
# AWTRIX, exits 0, and leaves nothing running and nothing behind.
. "$(dirname "$0")/../lib.sh"

export TMPDIR=$T
DEMO_ONESHOT=1 "$ROOT/scripts/demo" >"$T/demo.out" 2>&1
rc=$?
check "DEMO_ONESHOT=1 demo exits 0" test $rc -eq 0
check "the demo printed the IFTTT settings" grep -q "Content Type  application/json" "$T/demo.out"
check "the demo printed the owner's page link (token in the fragment)" \
    grep -Eq '^  http://127\.0\.0\.1:[0-9]+/owner/#token=[A-Za-z0-9]{32}$' "$T/demo.out"
check "the notification reached the simulated clock" \
    grep -q '^clock: notify "Mail from Alice"' "$T/demo.out"
check "the demo answered 200 through lighttpd" grep -q "answer: OK (HTTP 200)" "$T/demo.out"
check "an AWTRIX 2 applet's body reaches the AWTRIX 3 clock translated" \
    grep -q 'the AWTRIX 3 clock got: POST /api/notify {"stack":false,"icon":"36","text":"Old applet","color":\[255,255,255\]}' "$T/demo.out"
DEMO_ONESHOT=1 DEMO_AWTRIX=2 "$ROOT/scripts/demo" >"$T/demo-2.out" 2>&1
check "DEMO_AWTRIX=2: the AWTRIX 2 host shows the AWTRIX 2 body" \
    sh -c "grep -q '^clock: notify \"Mail from Alice\"' '$T/demo-2.out' &&
    grep -q 'answer: OK (HTTP 200)' '$T/demo-2.out'"
check "nothing is left behind in its directory" \
    sh -c "! ls -d '$T'/awtrix-demo.* 2>/dev/null"
check "nothing is left running" \
    sh -c "! pgrep -f '$T/awtrix-dem[o]' >/dev/null"

# A taken port: the demo picks another one.
spawn squatter "$TBIN/fake-awtrix" --port 8080
sleep 0.2
DEMO_ONESHOT=1 "$ROOT/scripts/demo" >"$T/demo2.out" 2>&1
check "with port 8080 taken the demo still works" test $? -eq 0
[ $rc -eq 0 ] || sed 's/^/#   /' "$T/demo.out"
