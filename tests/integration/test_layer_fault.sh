#!/usr/bin/env bash
# The fault layer: each mode gives exactly the errno or the byte counts
# its parameters ask for, on real sockets over loopback, and probability
# rules repeat exactly with the same seed.
# shellcheck disable=SC2317 # functions run through check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_lib
# No catalog file of this machine or user: the built-in catalog, and only
# the layers each check names.
export WSPSHIM_CATALOG=$TEST_TMP/no-catalog
unset WSPSHIM_LAYERS WSPSHIM_LAYER_PATH WSPSHIM_FALLBACK WSPSHIM_MANAGE
[[ -f $WSPSHIM_BUILD/layers/fault/libwsp_fault.so ]] ||
    bail "the fault layer is built"
PY=$(python3 -c 'import sys; print(sys.executable)')

# Run the python program $2... with WSPSHIM_LAYERS=fault:$1.
fault() {
	local params=$1
	shift
	WSPSHIM_LAYERS="fault:$params" preload "$PY" "$@"
}

# Print what each of the operations named in argv does, one word per
# operation: "ok", a byte count, or the errno name.  A listener on
# 127.0.0.1 (and one on ::1) takes the connections.
cat >"$TEST_TMP/ops.py" <<'PY'
import errno, socket, sys, time
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(64)
srv6 = socket.socket(socket.AF_INET6)
srv6.bind(("::1", 0))
srv6.listen(64)
port, port6 = srv.getsockname()[1], srv6.getsockname()[1]
out = []
def attempt(f):
    try:
        r = f()
        out.append("ok" if r is None else str(r))
    except OSError as e:
        out.append(errno.errorcode.get(e.errno, str(e.errno)))
def pair():
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    a, _ = srv.accept()
    a.settimeout(10)
    return c, a
for op in sys.argv[1:]:
    if op in ("connect", "connect6"):
        fam, host, l = (socket.AF_INET6, "::1", srv6) if op == "connect6" \
            else (socket.AF_INET, "127.0.0.1", srv)
        s = socket.socket(fam)
        s.settimeout(10)
        attempt(lambda: s.connect((host, l.getsockname()[1])))
        if out[-1] == "ok":
            l.accept()[0].close()
        s.close()
    elif op == "socket":
        attempt(lambda: socket.socket().close())
    elif op == "bind":
        s = socket.socket()
        attempt(lambda: s.bind(("127.0.0.1", 0)))
        s.close()
    elif op == "send":
        c, a = pair()
        attempt(lambda: c.send(b"hello"))
        c.close(); a.close()
    elif op == "sendall":
        # 5 bytes however short the sends; prints what arrived
        c, a = pair()
        c.sendall(b"hello")
        c.close()
        got = b""
        while len(got) < 5:
            b = a.recv(100)
            if not b:
                break
            got += b
        out.append(got.decode())
        a.close()
    elif op == "recv":
        c, a = pair()
        c.sendall(b"0123456789")
        time.sleep(0.05)
        attempt(lambda: len(a.recv(100)))
        c.close(); a.close()
    elif op == "recvtime":
        c, a = pair()
        c.sendall(b"x")
        t0 = time.monotonic()
        a.recv(1)
        out.append("slow" if time.monotonic() - t0 >= 0.19 else "fast")
        c.close(); a.close()
    elif op == "sendto":
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        attempt(lambda: u.sendto(b"datagram", ("127.0.0.1", 9)))
        u.close()
    elif op == "accept":
        c = socket.create_connection(("127.0.0.1", port), timeout=10)
        def acc():
            a, _ = srv.accept()
            a.close()
        attempt(acc)
        c.close()
print(" ".join(out))
PY

# expect PARAMS "WORDS" OPS...: the output of ops.py is exactly WORDS.
expect() {
	local params=$1 want=$2 got
	shift 2
	got=$(fault "$params" "$TEST_TMP/ops.py" "$@")
	echo "params: $params"
	echo "want:   $want"
	echo "got:    $got"
	[[ $got == "$want" ]]
}

check "no rules: everything passes" \
    expect "" "ok ok 5 10 8" connect socket send recv sendto
check "fail=connect:WSAECONNREFUSED: ECONNREFUSED with a listener there" \
    expect "fail=connect:WSAECONNREFUSED" "ECONNREFUSED ECONNREFUSED 8" \
    connect connect6 sendto
check "fail=send:WSAECONNRESET: send gives ECONNRESET, connect still works" \
    expect "fail=send:WSAECONNRESET" "ECONNRESET ok" send connect
check "fail=recv:WSAETIMEDOUT: recv gives ETIMEDOUT" \
    expect "fail=recv:WSAETIMEDOUT" "ETIMEDOUT" recv
# (ops.py makes and binds its two listeners first: after=2 spares them.)
check "fail=socket:WSAEMFILE: socket() gives EMFILE" \
    expect "fail=socket:WSAEMFILE;after=2" "EMFILE EMFILE" socket socket
check "fail=bind:WSAEADDRINUSE: bind gives EADDRINUSE" \
    expect "fail=bind:WSAEADDRINUSE;after=2" "EADDRINUSE" bind
check "fail=sendto:WSAENETUNREACH: sendto gives ENETUNREACH" \
    expect "fail=sendto:WSAENETUNREACH" "ENETUNREACH" sendto
check "fail=accept:WSAECONNABORTED: accept gives ECONNABORTED" \
    expect "fail=accept:WSAECONNABORTED" "ECONNABORTED" accept
check "a numeric code: fail=connect:10065 gives EHOSTUNREACH" \
    expect "fail=connect:10065" "EHOSTUNREACH" connect

# Counting: after=N lets N calls pass, count=N stops after N failures.
check "after=2: the third connect on fails" \
    expect "fail=connect:WSAECONNREFUSED;after=2" \
    "ok ok ECONNREFUSED ECONNREFUSED" connect connect connect connect
check "count=1: only the first connect fails" \
    expect "fail=connect:WSAECONNREFUSED;count=1" \
    "ECONNREFUSED ok ok" connect connect connect
check "after=1;count=2: the second and third fail" \
    expect "fail=connect:WSAECONNREFUSED;after=1;count=2" \
    "ok ECONNREFUSED ECONNREFUSED ok" connect connect connect connect
check "',' separates keys too (written \\, in WSPSHIM_LAYERS)" \
    expect 'fail=connect:WSAECONNREFUSED\,count=1' \
    "ECONNREFUSED ok" connect connect

# By address.
check "addr=[::1]:PORT: only that address fails" \
    expect "fail=connect:WSAECONNREFUSED;addr=::1" "ok ECONNREFUSED" \
    connect connect6
check "addr=127.0.0.1:9: only sendto to port 9 fails" \
    expect "fail=sendto:WSAEHOSTUNREACH;addr=127.0.0.1:9" "EHOSTUNREACH" \
    sendto
check "addr names another port: nothing fails" \
    expect "fail=sendto:WSAEHOSTUNREACH;addr=127.0.0.1:10" "8" sendto
check "addr on send uses the connected peer" \
    expect "fail=send:WSAECONNRESET;addr=127.0.0.1" "ECONNRESET" send

# Probability with a seed: the same pattern every run, a new one with
# another seed.
pattern() {
	local ops=() i
	for ((i = 0; i < 40; i++)); do
		ops+=(connect)
	done
	fault "fail=connect:WSAECONNREFUSED;p=$1;seed=$2" "$TEST_TMP/ops.py" \
	    "${ops[@]}"
}
seeded() {
	local a b c
	a=$(pattern 0.3 42)
	b=$(pattern 0.3 42)
	c=$(pattern 0.3 7)
	echo "seed 42: $a"
	echo "seed 42: $b"
	echo "seed 7:  $c"
	[[ $a == "$b" && $a != "$c" ]]
	# About 30% fail: between 4 and 20 of 40.
	local n
	n=$(grep -o ECONNREFUSED <<<"$a" | wc -l)
	((n >= 4 && n <= 20))
}
check "p=0.3;seed=42: the same failures each run, others for seed 7" \
    seeded
check "p=0: never fails; p=1: always" \
    expect "fail=connect:WSAECONNREFUSED;p=0;fail=send:WSAECONNRESET;p=1" \
    "ok ECONNRESET" connect send

# Short reads and writes.
check "short=send:1: send moves 1 byte of 5" \
    expect "short=send:1" "1" send
check "short=send:1: sendall still delivers every byte" \
    expect "short=send:1" "hello" sendall
check "short=recv:3: recv returns 3 of 10 bytes" \
    expect "short=recv:3" "3" recv
check "short=send:2 with count=1: only the first send is cut" \
    expect "short=send:2;count=1" "2 5" send send

# Latency.
check "delay=recv:200ms: recv takes at least 200 ms" \
    expect "delay=recv:200ms" "slow" recvtime
check "without delay the same recv is fast" \
    expect "" "fast" recvtime

# A parameter string it cannot read stops the layer: its sockets fail
# (WSAEPROVIDERFAILEDINIT, ELIBACC) and stderr says why.
bad_params() {
	local out
	out=$(fault "fail=connect:WSAENOSUCH" -c '
import errno, socket
try:
    socket.socket()
    print("made a socket")
except OSError as e:
    print(errno.errorcode[e.errno])' 2>&1)
	echo "$out"
	grep -q 'wsp_fault: bad parameters "fail=connect:WSAENOSUCH"' <<<"$out"
	[[ $(tail -n 1 <<<"$out") == ELIBACC ]]
}
check "bad parameters: a message on stderr and ELIBACC" bad_params
done_testing
