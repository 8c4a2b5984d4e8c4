#!/usr/bin/env bash
# "wspshim trace" and "wspshim tracecmp" as commands: usage errors exit 2
# with the usage on stderr, --help on stdout, the program's exit status
# kept (127 when it cannot be found), the options reaching the layer,
# --position with other layers, and the scripts/wspshim dispatcher.
# shellcheck disable=SC2317 # functions run through check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=../../scripts/lib/trace-assert.sh
. "$WSPSHIM_ROOT/scripts/lib/trace-assert.sh"

need_lib
export WSPSHIM_CATALOG=$TEST_TMP/no-catalog
unset WSPSHIM_LAYERS WSPSHIM_LAYER_PATH WSPSHIM_FALLBACK WSPSHIM_MANAGE
TOOL=$WSPSHIM_BUILD/tools/wspshim
[[ -x $TOOL ]] || bail "the wspshim program is built ($TOOL)"
PY=$(python3 -c 'import sys; print(sys.executable)')

# wspshim trace ARGS... (this build's library).
wt() {
	timeout 60 "$TOOL" trace --library "$WSPSHIM_LIB" "$@"
}

# usage_error STATUS CMD...: CMD exits STATUS, says "usage:" on stderr and
# nothing on stdout.
usage_error() {
	local want=$1 rc=0
	shift
	"$@" >"$TEST_TMP/u.out" 2>"$TEST_TMP/u.err" || rc=$?
	cat "$TEST_TMP/u.err"
	[[ $rc == "$want" && ! -s $TEST_TMP/u.out ]] &&
	    grep -q '^usage: wspshim trace' "$TEST_TMP/u.err"
}
check "trace with no program: exit 2" usage_error 2 "$TOOL" trace
check "trace -s x: exit 2" usage_error 2 "$TOOL" trace -s x -- true
check "trace --position middle: exit 2" usage_error 2 "$TOOL" trace \
    --position middle -- true
check "trace -r -t: exit 2" usage_error 2 "$TOOL" trace -r -t -- true
check "trace --fd x: exit 2" usage_error 2 "$TOOL" trace --fd 3,x -- true
check "trace --bogus: exit 2" usage_error 2 "$TOOL" trace --bogus -- true

helps() {
	"$TOOL" trace --help | grep '^usage: wspshim trace' >/dev/null
	"$TOOL" help trace | grep -- '--position P' >/dev/null
	"$TOOL" tracecmp --help | grep '^usage: wspshim tracecmp' >/dev/null
	"$TOOL" --help | grep 'tracecmp' >/dev/null
	local rc=0
	"$TOOL" tracecmp >/dev/null 2>&1 || rc=$?
	((rc == 2))
}
check "--help and help for trace and tracecmp; tracecmp usage exit 2" helps

statuses() {
	local rc=0
	wt -- sh -c 'exit 7' || rc=$?
	((rc == 7))
	rc=0
	wt -- /nonexistent/program 2>/dev/null || rc=$?
	((rc == 127))
}
check "the program's exit status; 127 when it cannot be found" statuses

options() {
	wt -o "$TEST_TMP/o.%p.log" -f -tt -T -s 4 -e trace=sendto,connect \
	    -- "$PY" -c '
import socket
s = socket.socket()
p = socket.socket()
p.bind(("127.0.0.1", 0))
p.listen(1)
s.connect(p.getsockname())
s.send(b"abcdefgh")
print(1)' >/dev/null
	local f
	f=$(find "$TEST_TMP" -name 'o.*.log' -print -quit)
	trace_expect_count "$f" '*' 2
	trace_expect "$f" 'connect(3, {sa_family=AF_INET, *}, 16) = 0'
	trace_expect "$f" 'sendto(3, "abcd"..., 8, 0, NULL, 0) = 8'
	grep -Eq '^[0-9:]{8}\.[0-9]{6} sendto.* <[0-9.]+>$' "$f"
}
check "-o, -f, -tt, -T, -s, -e trace=... reach the layer" options

# --position: the trace above or below a fault layer given with -l.
position() {
	local prog='
import socket
try:
    socket.create_connection(("127.0.0.1", 9), 5)
except OSError as e:
    print(e.errno)'
	wt -o "$TEST_TMP/top.log" -l 'fault:fail=connect:WSAETIMEDOUT' \
	    -- "$PY" -c "$prog" >"$TEST_TMP/top.out"
	wt -o "$TEST_TMP/bot.log" --position bottom \
	    -l 'fault:fail=connect:WSAETIMEDOUT' -- "$PY" -c "$prog" \
	    >"$TEST_TMP/bot.out"
	grep -qx 110 "$TEST_TMP/top.out"
	grep -qx 110 "$TEST_TMP/bot.out"
	trace_expect "$TEST_TMP/top.log" \
	    'connect(3, {*}, 16) = -1 ETIMEDOUT (Connection timed out)'
	trace_expect_none "$TEST_TMP/bot.log" 'connect(*'
}
check "--position top and bottom around -l fault" position

# WSPSHIM_LAYERS already set: the trace goes over (or under) it.
env_layers() {
	WSPSHIM_LAYERS=null wt -o "$TEST_TMP/env.log" --position bottom \
	    -- "$PY" -c 'import socket; socket.socket().close()'
	trace_expect_order "$TEST_TMP/env.log" 'socket(*) = 3' 'close(3) = 0'
}
check "over the layers WSPSHIM_LAYERS names" env_layers

# tracecmp is not vacuous: a layer that changes the calls (fault's
# "fail" on connect, above the trace) is a difference, shown with
# context; a run that overruns --timeout is killed, exit 3.
cmp_differs() {
	local rc=0
	timeout 60 "$TOOL" tracecmp --library "$WSPSHIM_LIB" --ports \
	    -l 'fault:fail=connect:WSAECONNREFUSED' -- "$PY" -c '
import socket
p = socket.socket()
p.bind(("127.0.0.1", 0))
p.listen(1)
s = socket.socket()
try:
    s.connect(p.getsockname())
except OSError:
    pass' >"$TEST_TMP/cd.out" || rc=$?
	cat "$TEST_TMP/cd.out"
	((rc == 1))
	grep -q '^  - strace: connect(' "$TEST_TMP/cd.out"
	grep -q '^differ: 1 difference' "$TEST_TMP/cd.out"
	rc=0
	timeout 60 "$TOOL" tracecmp --library "$WSPSHIM_LIB" --timeout 1 \
	    -- sleep 20 2>"$TEST_TMP/to.err" || rc=$?
	cat "$TEST_TMP/to.err"
	((rc == 3)) && grep -q 'killed' "$TEST_TMP/to.err"
}
check "tracecmp reports a difference a layer makes; --timeout" cmp_differs

dispatcher() {
	WSPSHIM_BUILD_DIR=$WSPSHIM_BUILD "$WSPSHIM_ROOT/scripts/wspshim" \
	    trace -o "$TEST_TMP/d.log" -- "$PY" -c \
	    'import socket; socket.socket(socket.AF_UNIX).close()'
	trace_expect "$TEST_TMP/d.log" \
	    'socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0) = 3'
	WSPSHIM_BUILD_DIR=$WSPSHIM_BUILD "$WSPSHIM_ROOT/scripts/wspshim" \
	    help | grep 'tracecmp' >/dev/null
}
check "scripts/wspshim trace and help" dispatcher

done_testing
