#!/usr/bin/env bash
# The stats layer: the JSON it writes parses, and its counts are exactly
# the traffic the program made (calls, bytes, errors by code, sockets),
# at exit, at the last WSPCleanup (once), and on a signal.
# shellcheck disable=SC2317 # functions run through check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_lib
# No catalog file of this machine or user: the built-in catalog, and only
# the layers each check names.
export WSPSHIM_CATALOG=$TEST_TMP/no-catalog
unset WSPSHIM_LAYERS WSPSHIM_LAYER_PATH WSPSHIM_FALLBACK WSPSHIM_MANAGE
[[ -f $WSPSHIM_BUILD/layers/stats/libwsp_stats.so ]] ||
    bail "the stats layer is built"
PY=$(python3 -c 'import sys; print(sys.executable)')

# A TCP echo server, run natively.
cat >"$TEST_TMP/echod.py" <<'PY'
import socket, sys, threading
srv = socket.socket()
srv.bind(("127.0.0.1", int(sys.argv[1])))
srv.listen(16)
def serve(c):
    while True:
        b = c.recv(65536)
        if not b:
            break
        c.sendall(b)
    c.close()
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
port=$(free_port 127.0.0.1)
bg "$PY" "$TEST_TMP/echod.py" "$port"
wait_for_port "$port" || bail "the echo server started"
export port TEST_TMP

# Run the python program "$@" under stats:PARAMS (and more layers after
# it, in LAYERS_BELOW).
stats() {
	local params=$1
	shift
	WSPSHIM_LAYERS="stats:$params${LAYERS_BELOW:+,$LAYERS_BELOW}" \
	    preload timeout 60 "$PY" "$@"
}

# Check a JSON file: json.tool parses it, and the python expression
# $2 (over j, the parsed object) is true.
json_holds() {
	local file=$1 expr=$2
	cat "$file"
	"$PY" -m json.tool "$file" >/dev/null
	"$PY" - "$file" "$expr" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
t = j["totals"]
if not eval("(" + sys.argv[2] + ")"):
    sys.exit("does not hold: " + sys.argv[2])
PY
}

# 5 sends of 100 bytes, the 500 read back, one close (a blocking socket:
# with a timeout, python connects non-blocking, which counts an error).
tcp_traffic() {
	stats "out=$TEST_TMP/tcp.json" -c '
import os, socket
s = socket.socket()
s.connect(("127.0.0.1", int(os.environ["port"])))
for i in range(5):
    assert s.send(b"x" * 100) == 100
got = 0
while got < 500:
    got += len(s.recv(1000))
s.close()'
	json_holds "$TEST_TMP/tcp.json" '
t["calls"]["send"] == 5 and t["bytes_out"] == 500 and
t["bytes_in"] == 500 and t["calls"]["connect"] == 1 and
t["calls"]["socket"] == 1 and t["calls"]["closesocket"] == 1 and
t["errors"] == {} and j["sockets_opened"] == 1 and
j["sockets_closed"] == 1 and j["sockets"] == [] and
j["reason"] == "exit" and t["time_ns"]["send"] > 0 and
t["calls"]["recv"] >= 1 and t["time_ns"]["recv"] > 0'
}
check "TCP: 5 sends, 500 bytes each way, one socket; JSON parses" \
    tcp_traffic

# UDP: 3 datagrams of 10 bytes between two sockets of the program.
udp_traffic() {
	stats "out=$TEST_TMP/udp.json" -c '
import socket
a = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
a.bind(("::1", 0))
b = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
b.settimeout(10)
b.bind(("::1", 0))
for i in range(3):
    a.sendto(b"0123456789", b.getsockname())
for i in range(3):
    b.recvfrom(100)'
	json_holds "$TEST_TMP/udp.json" '
t["calls"]["sendto"] == 3 and t["calls"]["recvfrom"] == 3 and
t["bytes_out"] == 30 and t["bytes_in"] == 30 and
t["calls"]["bind"] == 2 and j["sockets_opened"] == 2'
}
check "UDP/IPv6: 3 sendto and 3 recvfrom of 10 bytes" udp_traffic

# Errors by code: a refused connect and a bind to a port in use.
errors() {
	stats "out=$TEST_TMP/err.json" -c '
import os, socket
p = socket.socket()
p.bind(("127.0.0.1", 0))
closed = p.getsockname()[1]
p.close()
for i in range(2):
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", closed))
    except ConnectionRefusedError:
        pass
    s.close()
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(os.environ["port"])))
except OSError:
    pass'
	json_holds "$TEST_TMP/err.json" '
t["errors"]["WSAECONNREFUSED"] == 2 and
t["errors"]["WSAEADDRINUSE"] == 1 and
t["calls"]["connect"] == 2 and t["calls"]["bind"] == 2 and
j["sockets_opened"] == 4 and j["sockets_closed"] == 4'
}
check "errors by code: 2 WSAECONNREFUSED, 1 WSAEADDRINUSE" errors

# %p names the file after the pid.
pid_file() {
	local pid
	pid=$(stats "out=$TEST_TMP/st.%p.json" -c '
import os, socket
socket.socket().close()
print(os.getpid())')
	echo "pid $pid"
	json_holds "$TEST_TMP/st.$pid.json" "j['pid'] == $pid"
}
check "out=FILE.%p.json: the pid in the name and in the JSON" pid_file

# Time in call includes the layers below: a fault delay under stats.
time_below() {
	LAYERS_BELOW="fault:delay=recv:100ms" stats "out=$TEST_TMP/t.json" -c '
import os, socket
s = socket.create_connection(("127.0.0.1", int(os.environ["port"])), 10)
s.sendall(b"abc")
s.recv(3)
s.close()'
	json_holds "$TEST_TMP/t.json" '
t["calls"]["recv"] == 1 and t["time_ns"]["recv"] >= 100000000 and
t["time_ns"]["send"] < 100000000'
}
check "time_ns counts the time below (a 100 ms fault delay under it)" \
    time_below

# signal=USR2: the next call after the signal writes the counts so far;
# the exit writes the final ones.
on_signal() {
	stats "out=$TEST_TMP/sig.json;signal=USR2" -c '
import json, os, signal, socket, time
s = socket.create_connection(("127.0.0.1", int(os.environ["port"])), 10)
for i in range(3):
    s.send(b"x" * 10)
os.kill(os.getpid(), signal.SIGUSR2)
time.sleep(0.1)
s.send(b"y")
j = json.load(open(os.environ["TEST_TMP"] + "/sig.json"))
mine = [k for k in j["sockets"] if k["fd"] == s.fileno()]
assert j["reason"] == "signal", j["reason"]
assert j["totals"]["calls"]["send"] == 3, j["totals"]
assert len(mine) == 1 and mine[0]["calls"]["send"] == 3, j["sockets"]
assert mine[0]["peer"] == "127.0.0.1:" + os.environ["port"], mine
s.close()
print("signal dump ok")' | grep -x "signal dump ok"
	json_holds "$TEST_TMP/sig.json" '
j["reason"] == "exit" and t["calls"]["send"] == 4 and
t["bytes_out"] == 31'
}
check "signal=USR2: a dump at the next call, the final one at exit" \
    on_signal

# A successful call leaves errno alone, even when the report it writes
# on the way fails (no such directory).
errno_kept() {
	stats "out=$TEST_TMP/nodir/s.json;signal=USR2" -c '
import ctypes, os, signal, socket
libc = ctypes.CDLL(None, use_errno=True)
s = socket.create_connection(("127.0.0.1", int(os.environ["port"])), 10)
os.kill(os.getpid(), signal.SIGUSR2)
ctypes.set_errno(42)
n = libc.send(s.fileno(), b"abc", 3, 0)
print(n, ctypes.get_errno())' 2>"$TEST_TMP/errno.err" | tee /dev/stderr |
	    grep -x "3 42"
	grep "wsp_stats: cannot write" "$TEST_TMP/errno.err"
}
check "errno is kept by a successful call whose report cannot be written" \
    errno_kept

# The last WSPCleanup (the final WSACleanup) writes the report; exit
# does not write it again.
cleanup_once() {
	stats "out=$TEST_TMP/wsa.json" -c '
import ctypes, json, os
lib = ctypes.CDLL(os.environ["WSPSHIM_LIB"])
lib.WSASocketW.restype = ctypes.c_size_t
lib.closesocket.argtypes = [ctypes.c_size_t]
data = ctypes.create_string_buffer(1024)
assert lib.WSAStartup(0x0202, data) == 0
s = lib.WSASocketW(2, 1, 6, None, 0, 0)
assert s != ctypes.c_size_t(-1).value
assert lib.closesocket(s) == 0
assert lib.WSACleanup() == 0
j = json.load(open(os.environ["TEST_TMP"] + "/wsa.json"))
assert j["reason"] == "cleanup", j
os.unlink(os.environ["TEST_TMP"] + "/wsa.json")
print("cleanup dump ok")' | grep -x "cleanup dump ok"
	if [[ -e $TEST_TMP/wsa.json ]]; then
		echo "written again at exit:"
		cat "$TEST_TMP/wsa.json"
		return 1
	fi
}
check "the last WSPCleanup writes the report, and only it" cleanup_once

bad_key() {
	local out
	out=$(stats "outt=x" -c '
import errno, socket
try:
    socket.socket()
    print("made a socket")
except OSError as e:
    print(errno.errorcode[e.errno])' 2>&1)
	echo "$out"
	grep -q 'wsp_stats: bad parameters' <<<"$out"
	[[ $(tail -n 1 <<<"$out") == ELIBACC ]]
}
check "an unknown key: a message on stderr and ELIBACC" bad_key
done_testing
