#!/usr/bin/env bash
# wspshim tracecmp on real programs: their socket calls under strace
# (no shim) and through the trace layer at the bottom of the chain
# (WSPSHIM_MANAGE=all) must match, after the documented rules
# (docs/tracing.md).  curl against python3 -m http.server, nc and socat
# round trips through echod over TCP, TCP6, UDP and AF_UNIX, and an
# asyncio client and server in one process.  127.0.0.1, ::1 and AF_UNIX
# only; every run is under timeout.
# shellcheck disable=SC2317 # functions run through check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=modes.sh
. "$(dirname "${BASH_SOURCE[0]}")/modes.sh"
# shellcheck source=../../scripts/lib/trace-assert.sh
. "$WSPSHIM_ROOT/scripts/lib/trace-assert.sh"

need_probes
export WSPSHIM_CATALOG=$TEST_TMP/no-catalog
unset WSPSHIM_LAYERS WSPSHIM_LAYER_PATH WSPSHIM_FALLBACK WSPSHIM_MANAGE
TOOL=$WSPSHIM_BUILD/tools/wspshim
[[ -x $TOOL ]] || bail "the wspshim program is built ($TOOL)"
for p in strace curl nc socat python3; do
	command -v "$p" >/dev/null || bail "$p is installed"
done
PY=$(python3 -c 'import sys; print(sys.executable)')
echo_start
port() { awk -v k="$1" '$1 == k { print $2 }' "$ECHO_DIR/ports"; }
TCP4=$(port tcp4)
TCP6=$(port tcp6)
UDP4=$(port udp4)
UDP6=$(port udp6)
printf 'hello tracecmp\n' >"$TEST_TMP/in.txt"

# tracecmp NAME [OPTIONS] -- CMD...: match, with the traces kept in
# $TEST_TMP/NAME (strace.txt, layer.PID.txt) for trace_expect.
tracecmp() {
	local name=$1
	shift
	timeout 90 "$TOOL" tracecmp --library "$WSPSHIM_LIB" --ports -v \
	    --keep "$TEST_TMP/$name" "$@" | tee "$TEST_TMP/$name.log"
	grep -q '^match: [1-9][0-9]* calls$' "$TEST_TMP/$name.log"
}

# The layer's trace file of run NAME (one process).
layer_file() {
	local f
	for f in "$TEST_TMP/$1"/layer.*.txt; do
		echo "$f"
		return 0
	done
	return 1
}

curl_page() {
	local port
	mkdir -p "$TEST_TMP/www"
	echo hello >"$TEST_TMP/www/index.html"
	port=$(free_port 127.0.0.1)
	bg "$PY" -m http.server --bind 127.0.0.1 --directory "$TEST_TMP/www" \
	    "$port"
	wait_for_port "$port"
	tracecmp curl -- curl -sS --max-time 10 -o "$TEST_TMP/page" \
	    "http://127.0.0.1:$port/index.html"
	trace_expect_order "$(layer_file curl)" \
	    'socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = *' \
	    "connect(*, {sa_family=AF_INET, sin_port=htons($port), *}, 16) = -1 EINPROGRESS (Operation now in progress)" \
	    'getsockopt(*, SOL_SOCKET, SO_ERROR, [0], [4]) = 0' \
	    'sendto(*, "GET /index.html HTTP/1.1\r\nHost: "..., *, MSG_NOSIGNAL, NULL, 0) = *' \
	    'recvfrom(*, "HTTP/1.0 200 OK\r\n*' \
	    'close(*) = 0'
}
check "curl against python3 -m http.server" curl_page

check "nc over TCP" tracecmp nc-tcp -i "$TEST_TMP/in.txt" -- \
    nc -N 127.0.0.1 "$TCP4"
check "nc over TCP6" tracecmp nc-tcp6 -i "$TEST_TMP/in.txt" -- \
    nc -N ::1 "$TCP6"
check "nc over UDP" tracecmp nc-udp -i "$TEST_TMP/in.txt" -- \
    nc -u -w1 -q1 127.0.0.1 "$UDP4"
check "nc over AF_UNIX stream" tracecmp nc-unix -i "$TEST_TMP/in.txt" -- \
    nc -N -U "$ECHO_DIR/stream.sock"

# socat: the reply comes before the end of input (socat's order of
# shutting down and reading is otherwise a race, with or without strace).
socat_slow() {
	local name=$1 addr=$2
	tracecmp "socat-$name" -- sh -c "(cat '$TEST_TMP/in.txt'; sleep 0.3) |
	    socat -t 2 - $addr"
	trace_expect "$(layer_file "socat-$name")" \
	    'read(*, "hello tracecmp\n", *) = 15'
}
check "socat over TCP" socat_slow tcp "TCP:127.0.0.1:$TCP4"
check "socat over TCP6" socat_slow tcp6 "TCP6:[::1]:$TCP6"
check "socat over AF_UNIX stream" socat_slow unix \
    "UNIX-CONNECT:$ECHO_DIR/stream.sock"
check "socat over AF_UNIX seqpacket" socat_slow seqpacket \
    "UNIX-CONNECT:$ECHO_DIR/seqpacket.sock,type=5"
check "socat over UDP" socat_slow udp "UDP:127.0.0.1:$UDP4"
check "socat over UDP6" socat_slow udp6 "UDP6:[::1]:$UDP6"

# An asyncio server and client in one process: three lines echoed.
cat >"$TEST_TMP/echo.py" <<'PY'
import asyncio

async def handle(reader, writer):
    while True:
        line = await reader.readline()
        if not line:
            break
        writer.write(line.upper())
        await writer.drain()
    writer.close()
    await writer.wait_closed()

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for word in (b"one\n", b"two\n", b"three\n"):
        writer.write(word)
        await writer.drain()
        got = await asyncio.wait_for(reader.readline(), 10)
        print(got.decode().strip())
    writer.close()
    await writer.wait_closed()
    server.close()
    await server.wait_closed()

asyncio.run(asyncio.wait_for(main(), 20))
PY
asyncio_pair() {
	tracecmp asyncio -- "$PY" "$TEST_TMP/echo.py"
	trace_expect_count "$(layer_file asyncio)" 'sendto(*, "T*' 2
	trace_expect "$(layer_file asyncio)" \
	    'accept4(*, {sa_family=AF_INET, *}, [16], SOCK_CLOEXEC) = *'
}
check "an asyncio server and client in one process" asyncio_pair

done_testing
