#!/usr/bin/env bash
# The trace layer: one line per call with the entry point's name, the
# descriptor, the arguments that matter and the result or the WSA error,
# on stderr or in out=FILE (kept out of the program's descriptor range).
# shellcheck disable=SC2317 # functions run through check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_lib
# No catalog file of this machine or user: the built-in catalog, and only
# the layers each check names.
export WSPSHIM_CATALOG=$TEST_TMP/no-catalog
unset WSPSHIM_LAYERS WSPSHIM_LAYER_PATH WSPSHIM_FALLBACK WSPSHIM_MANAGE
[[ -f $WSPSHIM_BUILD/layers/trace/libwsp_trace.so ]] ||
    bail "the trace layer is built"
PY=$(python3 -c 'import sys; print(sys.executable)')
export TEST_TMP

# Run the python program "$@" under trace:PARAMS.
trace() {
	local params=$1
	shift
	WSPSHIM_LAYERS="trace${params:+:$params}" preload timeout 60 "$PY" "$@"
}

# has FILE LINE...: each LINE (a regular expression matched against a
# whole line) is in FILE.
has() {
	local file=$1 re
	shift
	for re in "$@"; do
		grep -Eqx -- "$re" "$file" || {
			echo "no line matching: $re"
			echo "--- $file:"
			cat "$file"
			return 1
		}
	done
}

# A TCP conversation: the program prints its descriptors and ports as
# shell assignments; trace lines go to stderr.
tcp_lines() {
	trace "" -c '
import os, socket
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
c = socket.socket()
c.connect(srv.getsockname())
a, peer = srv.accept()
c.send(b"x" * 64)
a.recv(4096)
os.write(c.fileno(), b"hello")
a.recv(4096)
cfd = c.fileno()
c.close()
print("%d %d %d %d %d" % (srv.fileno(), cfd,
    a.fileno(), srv.getsockname()[1], peer[1]))' \
	    >"$TEST_TMP/tcp.out" 2>"$TEST_TMP/tcp.err"
	cat "$TEST_TMP/tcp.out"
	local srv c a port cport
	read -r srv c a port cport <"$TEST_TMP/tcp.out"
	has "$TEST_TMP/tcp.err" \
	    "socket\(AF_INET, SOCK_STREAM, 6\) = $srv" \
	    "bind\($srv, 127\.0\.0\.1:0\) = 0" \
	    "listen\($srv, 1\) = 0" \
	    "socket\(AF_INET, SOCK_STREAM, 6\) = $c" \
	    "connect\($c, 127\.0\.0\.1:$port\) = 0" \
	    "accept4\($srv\) = $a \(127\.0\.0\.1:$cport\)" \
	    "send\($c, 64\) = 64" \
	    "recv\($a, 4096\) = 64" \
	    "write\($c, 5\) = 5" \
	    "recv\($a, 4096\) = 5" \
	    "close\($c\) = 0"
}
check "TCP: socket, bind, listen, connect, accept4, send, recv, write, close" \
    tcp_lines

# Failures print -1 and the WSA name.
error_lines() {
	trace "" -c '
import socket
p = socket.socket()
p.bind(("127.0.0.1", 0))
port = p.getsockname()[1]
p.close()
s = socket.socket()
try:
    s.connect(("127.0.0.1", port))
except ConnectionRefusedError:
    pass
print(s.fileno(), port)' \
	    >"$TEST_TMP/err.out" 2>"$TEST_TMP/err.err"
	local s port
	read -r s port <"$TEST_TMP/err.out"
	has "$TEST_TMP/err.err" \
	    "connect\($s, 127\.0\.0\.1:$port\) = -1 WSAECONNREFUSED"
}
check "a refused connect: = -1 WSAECONNREFUSED" error_lines

# UDP over IPv6: sendto shows the destination, recvfrom the source.
udp_lines() {
	trace "" -c '
import socket
a = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
a.bind(("::1", 0))
b = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
b.bind(("::1", 0))
b.settimeout(10)
a.sendto(b"abc", b.getsockname())
b.recvfrom(100)
print("%d %d %d %d" % (a.fileno(), b.fileno(),
    a.getsockname()[1], b.getsockname()[1]))' \
	    >"$TEST_TMP/udp.out" 2>"$TEST_TMP/udp.err"
	local a b ap bp
	read -r a b ap bp <"$TEST_TMP/udp.out"
	has "$TEST_TMP/udp.err" \
	    "socket\(AF_INET6, SOCK_DGRAM, 17\) = $a" \
	    "sendto\($a, 3, \[::1\]:$bp\) = 3" \
	    "recvfrom\($b, 100\) = 3 \(\[::1\]:$ap\)"
}
check "UDP/IPv6: sendto and recvfrom lines with addresses" udp_lines

# out=FILE: the lines go there, not to stderr; the file is open on a
# descriptor >= 1000 with close-on-exec, which the program can see.
out_file() {
	trace "out=$TEST_TMP/trace.%p.log" -c '
import os, socket
s = socket.socket()
s.close()
os.closerange(3, 4096)
s = socket.socket()
s.close()
high = []
for name in os.listdir("/proc/self/fd"):
    fd = int(name)
    try:
        target = os.readlink("/proc/self/fd/" + name)
    except OSError:
        continue
    if "trace." in target:
        flags = open("/proc/self/fdinfo/" + name).read().split()
        high.append((fd, int(flags[flags.index("flags:") + 1], 8)))
print(os.getpid(), high[0][0], int(high[0][1] & 0o2000000 != 0))' \
	    >"$TEST_TMP/out.out" 2>"$TEST_TMP/out.err"
	cat "$TEST_TMP/out.out"
	local pid high cloexec
	read -r pid high cloexec <"$TEST_TMP/out.out"
	((high >= 1000 && cloexec == 1))
	has "$TEST_TMP/trace.$pid.log" \
	    "socket\(AF_INET, SOCK_STREAM, 6\) = 3" "close\(3\) = 0"
	# Both sockets are traced: the program's closerange left it open.
	[[ $(grep -c "^socket(" "$TEST_TMP/trace.$pid.log") == 2 ]]
	if grep -q "socket(" "$TEST_TMP/out.err"; then
		echo "trace lines on stderr too:"
		cat "$TEST_TMP/out.err"
		return 1
	fi
}
check "out=FILE.%p: fd >= 1000, close-on-exec, kept through closerange" \
    out_file

# A real program: curl's connection shows up.
curl_lines() {
	local port
	mkdir -p "$TEST_TMP/www"
	echo hello >"$TEST_TMP/www/index.html"
	port=$(free_port 127.0.0.1)
	bg "$PY" -m http.server --bind 127.0.0.1 --directory "$TEST_TMP/www" \
	    "$port"
	wait_for_port "$port"
	WSPSHIM_LAYERS="trace:out=$TEST_TMP/curl.log" preload curl -sS \
	    --max-time 10 "http://127.0.0.1:$port/" | grep -x hello
	has "$TEST_TMP/curl.log" \
	    "connect\([0-9]+, 127\.0\.0\.1:$port\) = (0|-1 WSAEINPROGRESS)" \
	    "(send|write|sendto|sendmsg)\([0-9]+, [0-9]+(, NULL)?\) = [0-9]+" \
	    "close\([0-9]+\) = 0"
}
if command -v curl >/dev/null; then
	check "curl: its connect, its request and its close are traced" \
	    curl_lines
else
	skip "curl: its connect, its request and its close are traced" \
	    "no curl"
fi
done_testing
