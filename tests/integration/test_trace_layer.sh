#!/usr/bin/env bash
# The trace layer's parameters and behaviour (docs/layers/trace.md): out=
# with %p (a file per process, also after fork), the output descriptor out
# of the program's way, f, t/tt/ttt/r, T, s=, e=, fd=, bad parameters,
# errno as the program sees it with another layer in the chain, and the
# trace at the top or the bottom of a chain.
# shellcheck disable=SC2317 # functions run through check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=../../scripts/lib/trace-assert.sh
. "$WSPSHIM_ROOT/scripts/lib/trace-assert.sh"

need_lib
export WSPSHIM_CATALOG=$TEST_TMP/no-catalog
unset WSPSHIM_LAYERS WSPSHIM_LAYER_PATH WSPSHIM_FALLBACK WSPSHIM_MANAGE
[[ -f $WSPSHIM_BUILD/layers/trace/libwsp_trace.so ]] ||
    bail "the trace layer is built"
PY=$(python3 -c 'import sys; print(sys.executable)')
export TEST_TMP

# Run the python program "$@" with WSPSHIM_LAYERS=$1 (the layers).
with_layers() {
	local layers=$1
	shift
	WSPSHIM_LAYERS=$layers preload timeout 60 "$PY" "$@"
}

# A small TCP conversation (prints nothing).
TCP='
import socket
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
c = socket.socket()
c.connect(srv.getsockname())
a, _ = srv.accept()
c.send(b"x" * 64)
a.recv(4096)
c.close()
a.close()
srv.close()'

out_file() {
	with_layers "trace:out=$TEST_TMP/out.%p.log" -c '
import os, socket
s = socket.socket()
s.close()
os.closerange(3, 4096)
os.dup2(os.open("/dev/null", os.O_WRONLY), 2)
s = socket.socket()
s.close()
for name in os.listdir("/proc/self/fd"):
    try:
        target = os.readlink("/proc/self/fd/" + name)
    except OSError:
        continue
    if target.endswith(".log"):
        flags = open("/proc/self/fdinfo/" + name).read().split()
        print(os.getpid(), name, int(flags[flags.index("flags:") + 1], 8)
              & 0o2000000 != 0)' >"$TEST_TMP/out.txt"
	cat "$TEST_TMP/out.txt"
	local pid fd cloexec
	read -r pid fd cloexec <"$TEST_TMP/out.txt"
	((fd >= 1000)) && [[ $cloexec == True ]]
	trace_expect_count "$TEST_TMP/out.$pid.log" \
	    'socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP) = *' 2
	trace_expect_count "$TEST_TMP/out.$pid.log" 'close(*) = 0' 2
}
check "out=FILE.%p: fd >= 1000, close-on-exec, kept through closerange" \
    out_file

# stderr by default, as it was when the layer started (the first socket
# of its chain), on a descriptor of the layer's own: a program that then
# puts /dev/null over its stderr still has its calls traced there.
stderr_kept() {
	with_layers trace -c '
import os, socket
socket.socket().close()
os.dup2(os.open("/dev/null", os.O_WRONLY), 2)
socket.socket(socket.AF_INET6).close()' 2>"$TEST_TMP/err.log"
	trace_expect_order "$TEST_TMP/err.log" \
	    'socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP) = *' \
	    'socket(AF_INET6, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP) = *'
}
check "stderr by default, kept when the program replaces its fd 2" \
    stderr_kept

fork_files() {
	with_layers "trace:out=$TEST_TMP/fork.%p.log" -c '
import os, socket
s = socket.socket()
pid = os.fork()
if pid == 0:
    s.close()
    socket.socket(socket.AF_INET6).close()
    os._exit(0)
os.waitpid(pid, 0)
s.close()
print(os.getpid(), pid)' >"$TEST_TMP/fork.txt"
	local parent child
	read -r parent child <"$TEST_TMP/fork.txt"
	trace_expect_order "$TEST_TMP/fork.$parent.log" 'socket(AF_INET, *) = 3' \
	    'close(3) = 0'
	trace_expect_none "$TEST_TMP/fork.$parent.log" 'socket(AF_INET6, *'
	trace_expect_order "$TEST_TMP/fork.$child.log" 'close(3) = 0' \
	    'socket(AF_INET6, *) = 3' 'close(3) = 0'
}
check "fork: the child writes to a file of its own (%p)" fork_files

pids() {
	with_layers "trace:f;out=$TEST_TMP/f.log" -c '
import socket, threading
socket.socket().close()
t = threading.Thread(target=lambda: socket.socket(socket.AF_INET6).close())
t.start()
t.join()'
	trace_expect -r "$TEST_TMP/f.log" \
	    'socket\(AF_INET, SOCK_STREAM\|SOCK_CLOEXEC, IPPROTO_IP\) += 3'
	grep -Eq '^\[pid +[0-9]+\] socket\(AF_INET6' "$TEST_TMP/f.log"
	! grep -q '^\[pid .*socket(AF_INET,' "$TEST_TMP/f.log"
}
check "f: [pid N] before another thread's lines only" pids

stamps() {
	local k re
	for k in t tt ttt r; do
		with_layers "trace:$k;T;out=$TEST_TMP/$k.log" -c "$TCP"
	done
	for k in t tt ttt r; do
		case $k in
		t) re='[0-9]{2}:[0-9]{2}:[0-9]{2} listen' ;;
		tt) re='[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6} listen' ;;
		ttt) re='[0-9]{10,}\.[0-9]{6} listen' ;;
		r) re=' +[0-9]+\.[0-9]{6} listen' ;;
		esac
		grep -Eq "^$re\\(3, 1\\) += 0 <[0-9]+\\.[0-9]{6}>\$" \
		    "$TEST_TMP/$k.log" || { cat "$TEST_TMP/$k.log"; return 1; }
	done
	# The tidied lines still match plain patterns.
	trace_expect "$TEST_TMP/tt.log" 'listen(3, 1) = 0'
}
check "t, tt, ttt, r timestamps and T times" stamps

filters() {
	# In WSPSHIM_LAYERS a comma ends the layer: "\," stands for one.
	with_layers "trace:e=connect\\,close;out=$TEST_TMP/e.log" -c "$TCP"
	trace_expect_count "$TEST_TMP/e.log" 'connect(4, {*}, 16) = 0' 1
	trace_expect_count "$TEST_TMP/e.log" 'close(*) = 0' 3
	trace_expect_count "$TEST_TMP/e.log" '*' 4
	with_layers "trace:fd=5;out=$TEST_TMP/fd.log" -c "$TCP"
	trace_expect_order "$TEST_TMP/fd.log" 'recvfrom(5, "xxxx*"..., 4096, 0, NULL, NULL) = 64' \
	    'close(5) = 0'
	trace_expect_none "$TEST_TMP/fd.log" 'socket(*'
	with_layers "trace:s=4;e=sendto;out=$TEST_TMP/s.log" -c "$TCP"
	trace_expect "$TEST_TMP/s.log" 'sendto(4, "xxxx"..., 64, 0, NULL, 0) = 64'
}
check "e= and fd= filters, s= cuts data" filters

bad_params() {
	local rc=0
	with_layers "trace:nosuchkey=1" -c '
import socket, errno
try:
    socket.socket()
except OSError as e:
    print(errno.errorcode[e.errno])' >"$TEST_TMP/bad.out" \
	    2>"$TEST_TMP/bad.err" || rc=$?
	cat "$TEST_TMP/bad.out" "$TEST_TMP/bad.err"
	grep -q "wsp_trace: unknown key" "$TEST_TMP/bad.err"
	grep -qx ELIBACC "$TEST_TMP/bad.out"
}
check "a bad parameter: said on stderr, sockets fail (ELIBACC)" bad_params

# The errno the program sees, with a fault layer in the chain: the trace
# on top shows the injected failure as the program's errno; below the
# fault layer the connect never arrives.
positions() {
	local prog='
import socket
s = socket.socket()
try:
    s.connect(("127.0.0.1", 9))
except OSError as e:
    print(e.errno)'
	with_layers "trace:out=$TEST_TMP/top.log,fault:fail=connect:WSAECONNRESET" \
	    -c "$prog"
	with_layers "fault:fail=connect:WSAECONNRESET,trace:out=$TEST_TMP/bot.log" \
	    -c "$prog"
	trace_expect "$TEST_TMP/top.log" \
	    'connect(3, {*}, 16) = -1 ECONNRESET (Connection reset by peer)'
	trace_expect_none "$TEST_TMP/bot.log" 'connect(*'
	trace_expect "$TEST_TMP/bot.log" 'socket(AF_INET, *) = 3'
	# Without the fault: the native errno, ECONNREFUSED, from the base.
	with_layers "trace:out=$TEST_TMP/none.log" -c "$prog"
	trace_expect "$TEST_TMP/none.log" \
	    'connect(3, {*}, 16) = -1 ECONNREFUSED (Connection refused)'
}
check "errno as the program sees it; the trace on top and at the bottom" \
    positions

done_testing
