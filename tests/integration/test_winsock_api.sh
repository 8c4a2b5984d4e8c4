#!/usr/bin/env bash
# Windows-style programs against the installed headers: the probe
# tests/outside/winsock.c and the echo server and client of examples/,
# built outside the tree with pkg-config exactly as written (only their
# include lines differ from the Windows sources), run with no layer and
# under three null layers, and the probe's calls as the trace layer
# prints them.
# shellcheck disable=SC2317 # functions run through check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_lib
export WSPSHIM_CATALOG=$TEST_TMP/no-catalog
unset WSPSHIM_LAYERS WSPSHIM_FALLBACK WSPSHIM_MANAGE
export WSPSHIM_LAYER_PATH=$WSPSHIM_BUILD/layers/null:$WSPSHIM_BUILD/layers/trace
dest=$TEST_TMP/dest
CC=${CC:-cc}

pc_install "$dest"
libdir=$PC_LIBDIR
flags=("${PC_FLAGS[@]}")


probe=$TEST_TMP/winsock
server=$TEST_TMP/wsecho_server
client=$TEST_TMP/wsecho_client
check "the Windows-style probe builds with pkg-config (-Werror)" \
    "$CC" -Wall -Wextra -Werror -o "$probe" \
    "$WSPSHIM_ROOT/tests/outside/winsock.c" "${flags[@]}"
check "the echo server builds with pkg-config (-Werror)" \
    "$CC" -Wall -Wextra -Werror -o "$server" \
    "$WSPSHIM_ROOT/examples/wsecho_server.c" "${flags[@]}"
check "the echo client builds with pkg-config (-Werror)" \
    "$CC" -Wall -Wextra -Werror -o "$client" \
    "$WSPSHIM_ROOT/examples/wsecho_client.c" "${flags[@]}"
ovecho=$TEST_TMP/ovecho
check "the overlapped echo builds with pkg-config (-Werror)" \
    "$CC" -Wall -Wextra -Werror -o "$ovecho" \
    "$WSPSHIM_ROOT/examples/ovecho.c" "${flags[@]}"
for f in examples/wsecho_server.c examples/wsecho_client.c \
    examples/ovecho.c; do
	check "$f compiles as C99 (POSIX 2008, -pedantic) with the headers" \
	    "$CC" -std=c99 -D_POSIX_C_SOURCE=200809L -pedantic -Wall -Wextra \
	    -Werror -fsyntax-only \
	    "$WSPSHIM_ROOT/$f" "${flags[@]}"
done
# A POSIX program that includes <sys/select.h> keeps glibc's fd_set.
cat >"$TEST_TMP/posix.c" <<'C'
#include <sys/select.h>
_Static_assert(sizeof(fd_set) == 128, "glibc's bitmap fd_set");
int main(void) { fd_set s; FD_ZERO(&s); FD_SET(1000, &s);
    return FD_ISSET(1000, &s) ? 0 : 1; }
C
check "a POSIX program's fd_set is glibc's, select is libc's" \
    "$CC" -Wall -Werror -o "$TEST_TMP/posix" "$TEST_TMP/posix.c" \
    "${flags[@]}"
cat >"$TEST_TMP/both.c" <<'C'
#define WSPSHIM_NO_WINSOCK_SELECT
#include <wspshim/winsock2.h>
#include <sys/select.h>
_Static_assert(sizeof(fd_set) == 128, "glibc's fd_set beside winsock2.h");
int main(void) { fd_set s; struct timeval tv = { 0, 0 }; FD_ZERO(&s);
    return select(0, &s, NULL, NULL, &tv); }
C
check "WSPSHIM_NO_WINSOCK_SELECT keeps glibc's fd_set and select" \
    "$CC" -Wall -Werror -o "$TEST_TMP/both" "$TEST_TMP/both.c" "${flags[@]}"
check "the POSIX program's FD_SET(1000) works under the preload" \
    env LD_PRELOAD="$libdir/libwspshim.so" "$TEST_TMP/posix"
select_not_exported() {
	! nm -D --defined-only "$libdir/libwspshim.so" | grep -w select >/dev/null
}
check "libwspshim.so exports no select" select_not_exported

# Run CMD... with LAYERS ("" for none) against the installed library.
run_with() {
	local layers=$1
	shift
	env LD_LIBRARY_PATH="$libdir" ${layers:+WSPSHIM_LAYERS=$layers} "$@"
}

probe_runs() {
	local out
	out=$(run_with "$1" "$probe")
	echo "$out"
	grep -qx "done" <<<"$out"
	grep -q "AcceptEx got 5: hello" <<<"$out"
	grep -q "UDP: 8 bytes" <<<"$out"
	grep -q "WSAConnect, WSAAccept, WSADuplicateSocket: ok" <<<"$out"
	grep -q "WSAJoinLeaf: ok" <<<"$out"
}
check "probe: TCP and UDP exchange, no layer" probe_runs ""
check "probe: TCP and UDP exchange, three null layers" probe_runs \
    null,null,null

echo_round() {
	local port out
	port=$(free_port 127.0.0.1)
	bg run_with "$1" "$server" "$port"
	wait_for_port "$port"
	out=$(run_with "$1" timeout 20 "$client" "$port" "hello winsock")
	echo "$out"
	grep -qx "tcp: hello winsock" <<<"$out"
	grep -qx "udp: hello winsock" <<<"$out"
	run_with "$1" timeout 20 "$client" "$port" QUIT
	wait "$BG_PID"
}
check "echo server and client, no layer" echo_round ""
check "echo server and client, three null layers" echo_round \
    null,null,null

# The overlapped echo: completion routines and alertable waits on both
# sides, three clients at once (one of 64 KiB messages), then QUIT.
ovecho_round() {
	local port out a b
	port=$(free_port 127.0.0.1)
	bg run_with "$1" "$ovecho" server "$port"
	wait_for_port "$port"
	run_with "$1" timeout 30 "$ovecho" client "$port" 100 65536 \
	    >"$TEST_TMP/ov.a" &
	a=$!
	run_with "$1" timeout 30 "$ovecho" client "$port" 500 1000 \
	    >"$TEST_TMP/ov.b" &
	b=$!
	out=$(run_with "$1" timeout 30 "$ovecho" client "$port" 200 30000)
	wait "$a" "$b"
	echo "$out"; cat "$TEST_TMP/ov.a" "$TEST_TMP/ov.b"
	[[ $out == "echoed 6000000 bytes in 200 rounds" ]]
	grep -qx "echoed 6553600 bytes in 100 rounds" "$TEST_TMP/ov.a"
	grep -qx "echoed 500000 bytes in 500 rounds" "$TEST_TMP/ov.b"
	run_with "$1" timeout 20 "$ovecho" client "$port" 1 4
	wait "$BG_PID"
}
check "overlapped echo server and clients, no layer" ovecho_round ""
check "overlapped echo server and clients, three null layers" \
    ovecho_round null,null,null
check "overlapped echo server and clients, trace and two null layers" \
    ovecho_round "trace:out=$TEST_TMP/ovtrace.%p.txt,null,null"

# The trace layer on top prints each call under its own name.
trace_names() {
	local t=$TEST_TMP/trace.txt name
	run_with "trace:out=$t,null,null,null" "$probe" >/dev/null
	cat "$t"
	for name in 'WSASocketW(' 'WSAIoctl(4, 0xc8000006' 'ConnectEx(4' \
	    'AcceptEx(3' 'WSASendMsg(' 'WSARecvMsg(' 'ioctlsocket(3, FIONREAD' \
	    'closesocket(' 'WSAConnect(4, {sa_family=AF_INET' \
	    'WSAAccept(3, NULL, NULL)'; do
		grep -qF "$name" "$t" || { echo "no $name line"; return 1; }
	done
}
check "trace names WSAIoctl, ConnectEx, AcceptEx, WSAConnect, WSAAccept, ..." \
    trace_names
done_testing
