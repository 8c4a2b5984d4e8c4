#!/usr/bin/env bash
# sendfile, sendfile64 and splice on managed sockets: one call down the
# chain, with the kernel's short counts, EAGAIN, offsets (with and without
# an offset pointer, and the file offset after) and errno, byte for byte
# as without the shim: through the base alone, three null layers, trace
# on top, trace under three null layers, a layer with an older table
# (whose copying fallback must keep the same rules), and layers that
# change the bytes (which get them in bounded pieces).  Then trace's lines
# against strace's, the stats layer's byte counts, asyncio's
# loop.sock_sendfile and socket.sendfile, and an event loop's non-blocking
# sendfile with a timeout.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=modes.sh
. "$(dirname "${BASH_SOURCE[0]}")/modes.sh"
# shellcheck source=../../scripts/lib/trace-assert.sh
. "$WSPSHIM_ROOT/scripts/lib/trace-assert.sh"

need_probes
OLD=$WSPSHIM_BUILD/tests/layers/libwsp_old.so
[[ -f $OLD ]] || bail "the test layers are built"
export TMPDIR=$TEST_TMP

mode_define trace off preload "WSPSHIM_LAYERS=trace:out=$TEST_TMP/top.%p"
mode_define trace_bottom off preload \
    "WSPSHIM_LAYERS=null,null,null,trace:out=$TEST_TMP/bottom.%p"
mode_define old0 off preload "WSPSHIM_LAYERS=null,$OLD,null"
mode_define old1 off preload "WSPSHIM_LAYERS=null,$OLD:1"
# Layers that change the bytes (XOR on send, again on receive, so both
# ends of an in-process connection see the program's bytes only if every
# byte went through them): version 0 with the core's fallbacks, and a
# version 2 layer with WSPShimSendFileBySend/WSPShimSpliceByCopy.
mode_define xor0 off preload "WSPSHIM_LAYERS=null,$OLD:xor,null"
mode_define xor2 off preload "WSPSHIM_LAYERS=trace:out=/dev/null,$OLD:xor2"
WSPSHIM_TEST_MODES="shim base layers3 trace trace_bottom old0 old1 xor0 xor2"

p=$PROBES/probe_sendfile
check_modes "blocking sendfile, with an offset pointer and without" \
    "$p" blocking
check_modes "non-blocking sendfile: short count, EAGAIN, offsets, bytes" \
    "$p" nonblocking
check_modes "non-blocking sendfile in an event loop with a timeout" \
    "$p" timeout
check_modes "splice both ways, blocking and SPLICE_F_NONBLOCK, refusals" \
    "$p" splice
check_modes "sendfile errors: descriptors, pipes, offsets, shutdown" \
    "$p" errors

script=$WSPSHIM_ROOT/tests/integration/sendfile_asyncio.py
check_modes "asyncio loop.sock_sendfile and socket.sendfile of 1 MiB" \
    python3 "$script" "$TEST_TMP"

# The trace layer's lines in strace's syntax, whatever runs below it.
trace_lines() {
	local pfx=$1
	cat "$TEST_TMP"/"$pfx".* >"$TEST_TMP/$pfx.all"
	trace_expect "$TEST_TMP/$pfx.all" \
	    'sendfile(*, *, [0] => [300000], 300000) = 300000'
	trace_expect "$TEST_TMP/$pfx.all" 'sendfile(*, *, NULL, 50000) = 50000'
	trace_expect "$TEST_TMP/$pfx.all" \
	    'sendfile(*, *, [4194304], 100) = 0'
	trace_expect "$TEST_TMP/$pfx.all" \
	    'sendfile(*, -1, NULL, 10) = -1 EBADF (Bad file descriptor)'
	trace_expect "$TEST_TMP/$pfx.all" \
	    'splice(*, NULL, *, NULL, 10000, 0) = 10000'
	trace_expect "$TEST_TMP/$pfx.all" \
	    'splice(*, NULL, *, NULL, 3000, SPLICE_F_NONBLOCK) = -1 EAGAIN (Resource temporarily unavailable)'
}
rm -f "$TEST_TMP"/top.* "$TEST_TMP"/bottom.*
mode_run trace timeout 60 "$p" all >/dev/null 2>&1 || true
mode_run trace_bottom timeout 60 "$p" all >/dev/null 2>&1 || true
check "trace on top prints sendfile and splice as strace does" \
    trace_lines top
check "trace under three null layers prints the same" trace_lines bottom

# Exactly strace's lines, for the calls that do not depend on timing (the
# splices the kernel refuses before any byte moves run without the chain,
# so no layer sees them: they are left out).
same_as_strace() {
	local part
	for part in blocking errors; do
		rm -f "$TEST_TMP"/top.*
		strace -f -qq -e trace=sendfile,splice -o "$TEST_TMP/st" \
		    timeout 60 "$p" "$part" >/dev/null
		mode_run trace timeout 60 "$p" "$part" >/dev/null
		sed -E -e 's/^[0-9]+ +//' -e 's/ += / = /' "$TEST_TMP/st" |
		    grep -E '^(sendfile|splice)\(' >"$TEST_TMP/st.lines"
		cat "$TEST_TMP"/top.* | sed -E 's/ += / = /' |
		    grep -E '^(sendfile|splice)\(' >"$TEST_TMP/tr.lines"
		diff "$TEST_TMP/st.lines" "$TEST_TMP/tr.lines" || return 1
		[[ -s $TEST_TMP/tr.lines ]] || return 1
	done
}
if command -v strace >/dev/null; then
	check "trace's sendfile lines are strace's, byte for byte" \
	    same_as_strace
else
	skip "trace's sendfile lines are strace's, byte for byte" \
	    "strace is not installed"
fi

# stats counts sendfile and splice as the bytes they moved.
stats_bytes() {
	mode_define stats off preload \
	    "WSPSHIM_LAYERS=stats:out=$TEST_TMP/stats.json"
	mode_run stats timeout 60 "$p" blocking >/dev/null
	python3 - "$TEST_TMP/stats.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["totals"]
calls = r["calls"]
# 300000 + 50000 by sendfile, received by recv: both ends are the probe's.
assert calls.get("sendfile") == 6, calls
assert r["bytes_out"] == 350000, r["bytes_out"]
assert r["bytes_in"] == 350000, r["bytes_in"]
PY
}
check "stats counts sendfile calls and their bytes" stats_bytes

# No copying through the layers: the base's one sendfile per call is all
# strace sees under three null layers (the issue saw 16 KiB sendtos).
zero_copy() {
	mode_env layers3
	env "${MODE_ENV[@]}" strace -f -qq -e trace=sendfile,sendto,write \
	    -o "$TEST_TMP/zc" timeout 60 "$p" blocking >/dev/null
	grep -q 'sendfile(.*, \[0\] => \[300000\], 300000) = 300000' \
	    "$TEST_TMP/zc" || return 1
	! grep -E '^[0-9]+ +sendto\(' "$TEST_TMP/zc"
}
if command -v strace >/dev/null; then
	check "under three null layers the kernel's sendfile runs, nothing copies" \
	    zero_copy
else
	skip "under three null layers the kernel's sendfile runs" \
	    "strace is not installed"
fi
done_testing
