#!/usr/bin/env bash
# The trace layer: one strace-style line per call, with the name strace
# gives the entry point the program called, the kernel descriptor, the
# decoded arguments and the result or the errno, on stderr or in out=FILE
# (kept out of the program's descriptor range).
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

# has FILE LINE...: each LINE (an extended regular expression matched
# against a whole line, its " = " standing for strace's padding) is in
# FILE.
has() {
	local file=$1 re
	shift
	for re in "$@"; do
		re=${re// = / += }
		grep -Eqx -- "$re" "$file" || {
			echo "no line matching: $re"
			echo "--- $file:"
			cat "$file"
			return 1
		}
	done
}

# Pieces of strace's sockaddr syntax, as regular expressions.
in4='\{sa_family=AF_INET, sin_port=htons'
lo='sin_addr=inet_addr\("127\.0\.0\.1"\)\}'
in6='\{sa_family=AF_INET6, sin6_port=htons'
one='sin6_flowinfo=htonl\(0\), inet_pton\(AF_INET6, "::1", &sin6_addr\),'
one+=' sin6_scope_id=0\}'

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
	    "socket\(AF_INET, SOCK_STREAM\|SOCK_CLOEXEC, IPPROTO_IP\) = $srv" \
	    "bind\($srv, $in4\(0\), $lo, 16\) = 0" \
	    "listen\($srv, 1\) = 0" \
	    "socket\(AF_INET, SOCK_STREAM\|SOCK_CLOEXEC, IPPROTO_IP\) = $c" \
	    "connect\($c, $in4\($port\), $lo, 16\) = 0" \
	    "accept4\($srv, $in4\($cport\), $lo, \[16\], SOCK_CLOEXEC\) = $a" \
	    "sendto\($c, \"x{32}\"\.\.\., 64, 0, NULL, 0\) = 64" \
	    "recvfrom\($a, \"x{32}\"\.\.\., 4096, 0, NULL, NULL\) = 64" \
	    "write\($c, \"hello\", 5\) = 5" \
	    "recvfrom\($a, \"hello\", 4096, 0, NULL, NULL\) = 5" \
	    "close\($c\) = 0"
}
check "TCP: socket, bind, listen, connect, accept4, sendto, recvfrom, write" \
    tcp_lines

# Failures print -1 and the errno the program sees.
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
	has "$TEST_TMP/err.err" "connect\($s, $in4\($port\), $lo, 16\) = -1\
 ECONNREFUSED \(Connection refused\)"
}
check "a refused connect: = -1 ECONNREFUSED (Connection refused)" \
    error_lines

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
	    "socket\(AF_INET6, SOCK_DGRAM\|SOCK_CLOEXEC, IPPROTO_IP\) = $a" \
	    "sendto\($a, \"abc\", 3, 0, $in6\($bp\), $one, 28\) = 3" \
	    "recvfrom\($b, \"abc\", 100, 0, $in6\($ap\), $one, \[28\]\) = 3"
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
	    "socket\(AF_INET, SOCK_STREAM\|SOCK_CLOEXEC, IPPROTO_IP\) = 3" \
	    "close\(3\) = 0"
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
	    "connect\([0-9]+, .*htons\($port\).*\) = (0|-1 EINPROGRESS .*)" \
	    "(sendto|write|sendmsg)\([0-9]+, \"GET / HTTP/1\.1.*\) = [0-9]+" \
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
