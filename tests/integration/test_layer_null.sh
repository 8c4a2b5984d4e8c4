#!/usr/bin/env bash
# The null layer passes everything down unchanged: real programs on
# loopback move the same bytes, see the same errors and keep the Linux
# extras (accept4 flags, SCM_RIGHTS) through null,null,null as natively.
# shellcheck disable=SC2317 # functions run through check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_lib
# No catalog file of this machine or user: the built-in catalog, and only
# the layers each check names.
export WSPSHIM_CATALOG=$TEST_TMP/no-catalog
unset WSPSHIM_LAYERS WSPSHIM_LAYER_PATH WSPSHIM_FALLBACK WSPSHIM_MANAGE
null=$WSPSHIM_BUILD/layers/null/libwsp_null.so
[[ -f $null ]] || bail "the null layer is built ($null)"
# The interpreter itself, not a wrapper script that would run under the
# preload too.
PY=$(python3 -c 'import sys; print(sys.executable)')

# Run CMD... through three null layers.
null3() {
	WSPSHIM_LAYERS=null,null,null preload "$@"
}

# A TCP round trip in one process: a listener, a client sending 1 MiB of
# seeded random bytes in odd-sized pieces, the echo read back.  Prints the
# SHA-256 of what came back, and what the client saw.
cat >"$TEST_TMP/tcp_echo.py" <<'PY'
import hashlib, random, socket, sys, threading
fam, host = (socket.AF_INET6, "::1") if sys.argv[1] == "6" else \
    (socket.AF_INET, "127.0.0.1")
data = random.Random(7).randbytes(1 << 20)
srv = socket.socket(fam)
srv.bind((host, 0))
srv.listen(1)
srv.settimeout(10)
def echo():
    c, _ = srv.accept()
    c.settimeout(10)
    while True:
        b = c.recv(70000)
        if not b:
            break
        c.sendall(b)
    c.close()
t = threading.Thread(target=echo)
t.start()
s = socket.socket(fam)
s.settimeout(10)
s.connect(srv.getsockname()[:2])
got = bytearray()
sizes = random.Random(8)
off = 0
while off < len(data):
    n = sizes.randint(1, 50000)
    s.sendall(data[off:off + n])
    off = min(off + n, len(data))
    while len(got) < off:
        got += s.recv(65536)
s.shutdown(socket.SHUT_WR)
assert s.recv(1) == b""
s.close()
t.join(10)
print(len(got), hashlib.sha256(got).hexdigest())
PY

same_as_native() {
	local native layered
	native=$("$PY" "$@")
	layered=$(null3 "$PY" "$@")
	echo "native:  $native"
	echo "layered: $layered"
	[[ -n $native && $native == "$layered" ]]
}
check "TCP/IPv4 echo of 1 MiB: same bytes as native" \
    same_as_native "$TEST_TMP/tcp_echo.py" 4
check "TCP/IPv6 echo of 1 MiB: same bytes as native" \
    same_as_native "$TEST_TMP/tcp_echo.py" 6

# Datagrams keep their boundaries and sources, over UDP and AF_UNIX.
cat >"$TEST_TMP/dgram.py" <<'PY'
import os, socket, sys
if sys.argv[1] == "unix":
    d = sys.argv[2]
    a = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    a.bind(os.path.join(d, "a"))
    b = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    b.bind(os.path.join(d, "b"))
else:
    fam = socket.AF_INET6 if sys.argv[1] == "6" else socket.AF_INET
    host = "::1" if sys.argv[1] == "6" else "127.0.0.1"
    a = socket.socket(fam, socket.SOCK_DGRAM)
    a.bind((host, 0))
    b = socket.socket(fam, socket.SOCK_DGRAM)
    b.bind((host, 0))
a.settimeout(10)
out = []
for n in (1, 100, 1000, 60000):
    b.sendto(bytes([n % 251]) * n, a.getsockname())
for n in (1, 100, 1000, 60000):
    m, src = a.recvfrom(65536)
    out.append((len(m), m == bytes([n % 251]) * n, src == b.getsockname()))
print(out)
PY
mkdir -p "$TEST_TMP/u1" "$TEST_TMP/u2"
check "UDP/IPv4 datagrams: same as native" \
    same_as_native "$TEST_TMP/dgram.py" 4
check "UDP/IPv6 datagrams: same as native" \
    same_as_native "$TEST_TMP/dgram.py" 6
unix_dgram() {
	local native layered
	native=$("$PY" "$TEST_TMP/dgram.py" unix "$TEST_TMP/u1")
	layered=$(null3 "$PY" "$TEST_TMP/dgram.py" unix "$TEST_TMP/u2")
	echo "native:  $native"
	echo "layered: $layered"
	[[ -n $native && $native == "$layered" ]]
}
check "AF_UNIX datagrams: same as native" unix_dgram

# sendmsg with SCM_RIGHTS goes through the Linux members: the received
# descriptor reads the pipe that was sent.
cat >"$TEST_TMP/scm.py" <<'PY'
import array, os, socket
a, b = socket.socketpair()
r, w = os.pipe()
os.write(w, b"through the pipe")
a.sendmsg([b"x"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
    array.array("i", [r]))])
msg, anc, flags, _ = b.recvmsg(1, socket.CMSG_SPACE(4))
fds = array.array("i")
for level, kind, data in anc:
    fds.frombytes(data[:4])
print(msg, os.read(fds[0], 100))
PY
check "sendmsg/recvmsg pass a descriptor (SCM_RIGHTS)" \
    same_as_native "$TEST_TMP/scm.py"

# accept4 flags stay atomic: SOCK_NONBLOCK and SOCK_CLOEXEC arrive.
cat >"$TEST_TMP/accept4.py" <<'PY'
import ctypes, fcntl, os, socket
libc = ctypes.CDLL(None, use_errno=True)
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
c = socket.create_connection(srv.getsockname(), timeout=10)
fd = libc.accept4(srv.fileno(), None, None,
    socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC)
assert fd >= 0, os.strerror(ctypes.get_errno())
print("nonblock", bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK),
    "cloexec", bool(fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC))
os.close(fd)
PY
check "accept4 keeps SOCK_NONBLOCK and SOCK_CLOEXEC" \
    same_as_native "$TEST_TMP/accept4.py"

# Errors come up as the same errno as natively.
cat >"$TEST_TMP/errors.py" <<'PY'
import errno, socket
p = socket.socket()
p.bind(("127.0.0.1", 0))
port = p.getsockname()[1]
p.close()
out = []
s = socket.socket()
try:
    s.connect(("127.0.0.1", port))
except OSError as e:
    out.append(errno.errorcode[e.errno])
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
c = socket.create_connection(srv.getsockname(), timeout=10)
a, _ = srv.accept()
a.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
a.close()
try:
    c.settimeout(10)
    c.recv(10)
except OSError as e:
    out.append(errno.errorcode[e.errno])
try:
    c.send(b"x")
    c.send(b"x")
except OSError as e:
    out.append(errno.errorcode[e.errno])
b = socket.socket()
try:
    b.bind(srv.getsockname())
except OSError as e:
    out.append(errno.errorcode[e.errno])
print(out)
PY
check "ECONNREFUSED, ECONNRESET, EPIPE, EADDRINUSE as native" \
    same_as_native "$TEST_TMP/errors.py"

# dup()ed descriptors share the socket; it closes with the last one.
cat >"$TEST_TMP/dup.py" <<'PY'
import os, socket
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
c = socket.create_connection(srv.getsockname(), timeout=10)
a, _ = srv.accept()
fd = os.dup(c.fileno())
c.close()
os.write(fd, b"after dup")
a.settimeout(10)
first = a.recv(100)
os.close(fd)
print(first, a.recv(100))
PY
check "a dup()ed socket works after the original closes" \
    same_as_native "$TEST_TMP/dup.py"

# Three copies of the layer are loaded: one per position in the chain.
copies() {
	null3 "$PY" -c '
import socket
s = socket.socket()
s.close()
print(sum(1 for l in open("/proc/self/maps")
    if "libwsp_null" in l and " r-xp " in l))' | grep -x 3
}
check "null,null,null loads three copies of the layer" copies

# Real programs: curl against python3 -m http.server, socat.
mkdir -p "$TEST_TMP/www"
head -c 300000 /dev/urandom >"$TEST_TMP/www/blob"
port=$(free_port 127.0.0.1)
bg "$PY" -m http.server --bind 127.0.0.1 --directory "$TEST_TMP/www" "$port"
curl_same() {
	wait_for_port "$port"
	null3 curl -sS --max-time 20 -o "$TEST_TMP/blob.got" \
	    "http://127.0.0.1:$port/blob"
	cmp "$TEST_TMP/www/blob" "$TEST_TMP/blob.got"
}
if command -v curl >/dev/null; then
	check "curl through null,null,null fetches the same file" curl_same
else
	skip "curl through null,null,null" "no curl"
fi

socat_echo() {
	local p out
	p=$(free_port 127.0.0.1)
	bg socat -T 20 "TCP-LISTEN:$p,bind=127.0.0.1,reuseaddr,fork" EXEC:cat
	wait_for_port "$p"
	out=$(printf 'line one\nline two\n' |
	    null3 timeout 20 socat -T 10 - "TCP:127.0.0.1:$p")
	echo "got: $out"
	[[ $out == $'line one\nline two' ]]
}
if command -v socat >/dev/null; then
	check "socat round trip through null,null,null" socat_echo
else
	skip "socat round trip through null,null,null" "no socat"
fi
done_testing
