#!/usr/bin/env bash
# The layer of docs/writing-a-layer.md (tests/layers-out-of-tree/count.c)
# builds outside the tree against an installed libwspshim, with the flags
# pkg-config gives, and works: run with WSPSHIM_LAYERS=/path/to/it.so and
# installed with the wspshim command, it counts exactly the sends and
# bytes of a real round trip on loopback.  The shipped layers are
# installed too.
# shellcheck disable=SC2317 # functions run through check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_lib
src=$WSPSHIM_ROOT/tests/layers-out-of-tree
dest=$TEST_TMP/dest
CC=${CC:-cc}
PY=$(python3 -c 'import sys; print(sys.executable)')
export WSPSHIM_CATALOG=$TEST_TMP/no-catalog
unset WSPSHIM_LAYERS WSPSHIM_LAYER_PATH WSPSHIM_FALLBACK WSPSHIM_MANAGE

pc_install "$dest"
libdir=$PC_LIBDIR
bindir=$(pkg-config --variable=prefix wspshim)
[[ $bindir == "$dest"/* ]] || bindir=$dest$bindir
bindir=$bindir/bin
lib=$libdir/libwspshim.so
flags=("${PC_FLAGS[@]}")

installed_layers() {
	local l
	for l in null fault policy stats trace; do
		ls -l "$libdir/wspshim/layers/libwsp_$l.so"
	done
}
check "the shipped layers are installed in LIBDIR/wspshim/layers" \
    installed_layers

layer=$TEST_TMP/libwsp_count.so
layer_win=$TEST_TMP/windows/libwsp_count.so
mkdir -p "$TEST_TMP/windows"
check "count.c builds with cc and pkg-config (-Wall -Wextra -Werror)" \
    "$CC" -std=c11 -Wall -Wextra -Werror -shared -fPIC -o "$layer" \
    "$src/count.c" "${flags[@]}"
check "count.c builds the Windows way (-DCOUNT_WINDOWS_WAY)" \
    "$CC" -std=c11 -Wall -Wextra -Werror -DCOUNT_WINDOWS_WAY -shared -fPIC \
    -o "$layer_win" "$src/count.c" "${flags[@]}"
make_builds() {
	mkdir -p "$TEST_TMP/make"
	cp "$src/count.c" "$src/Makefile" "$TEST_TMP/make/"
	make -C "$TEST_TMP/make" CFLAGS="-O2 -Wall -Wextra -Werror"
	[[ -f $TEST_TMP/make/libwsp_count.so ]]
}
if command -v make >/dev/null; then
	check "its Makefile builds it too" make_builds
else
	skip "its Makefile builds it too" "no make"
fi

exports_only_startup() {
	local syms
	syms=$(nm -D --defined-only "$layer" | awk '{print $3}' |
	    grep -v '^_' || true)
	echo "$syms"
	[[ $syms == WSPStartup ]]
}
check "the layer exports WSPStartup (and nothing else of its own)" \
    exports_only_startup

# A TCP echo server, run natively; the client under the layer sends 5
# times 100 bytes and reads the 500 back.
cat >"$TEST_TMP/echod.py" <<'PY'
import socket, sys
srv = socket.socket()
srv.bind(("127.0.0.1", int(sys.argv[1])))
srv.listen(16)
while True:
    c, _ = srv.accept()
    c.settimeout(20)
    try:
        while True:
            b = c.recv(65536)
            if not b:
                break
            c.sendall(b)
    except OSError:
        pass
    c.close()
PY
cat >"$TEST_TMP/client.py" <<'PY'
import socket, sys
s = socket.socket()
s.connect(("127.0.0.1", int(sys.argv[1])))
for i in range(5):
    s.sendall(bytes([65 + i]) * 100)
got = b""
while len(got) < 500:
    b = s.recv(4096)
    if not b:
        break
    got += b
s.close()
print("echoed", len(got))
PY
port=$(free_port 127.0.0.1)
bg "$PY" "$TEST_TMP/echod.py" "$port"
wait_for_port "$port" || bail "the echo server started"

# counts FILE: the line the layer wrote says 5 sends of 500 bytes and
# 500 bytes received.
counts() {
	cat "$1"
	grep -Eqx 'sends 5 bytes_out 500 recvs [1-9][0-9]* bytes_in 500' "$1"
}

# env_run FILE LAYERS: the client under WSPSHIM_LAYERS=LAYERS, where the
# count layer writes to FILE.
env_run() {
	local out
	out=$(WSPSHIM_LAYERS="$2" LD_PRELOAD=$lib \
	    timeout 30 "$PY" "$TEST_TMP/client.py" "$port")
	echo "$out"
	[[ $out == "echoed 500" ]]
	counts "$1"
}
t=$TEST_TMP
check "WSPSHIM_LAYERS=/path/libwsp_count.so: the round trip is counted" \
    env_run "$t/env.txt" "$layer:out=$t/env.txt"
check "the Windows-way build counts the same" \
    env_run "$t/win.txt" "$layer_win:out=$t/win.txt"
null=$libdir/wspshim/layers/libwsp_null.so
check "over two installed null layers (by path)" \
    env_run "$t/stack.txt" "$layer:out=$t/stack.txt,$null,$null"
check "under two installed null layers" \
    env_run "$t/under.txt" "$null,$null,$layer:out=$t/under.txt"

# The wspshim command installs it into a catalog file and runs a program
# with that catalog.
wspshim_install() {
	local cat=$TEST_TMP/catalog out
	"$bindir/wspshim" --catalog "$cat" install --over tcp \
	    --params "out=$TEST_TMP/installed.txt" "$layer"
	"$bindir/wspshim" --catalog "$cat" catalog --brief | grep -w count
	out=$("$bindir/wspshim" --catalog "$cat" run --library "$lib" -- \
	    timeout 30 "$PY" "$TEST_TMP/client.py" "$port")
	echo "$out"
	[[ $out == "echoed 500" ]]
	counts "$TEST_TMP/installed.txt"
	"$bindir/wspshim" --catalog "$cat" remove count
}
check "wspshim install --over tcp, then wspshim run: counted" \
    wspshim_install

socat_round_trip() {
	local out
	out=$(printf 'abc\n' | WSPSHIM_LAYERS="$layer:out=$TEST_TMP/socat.txt" \
	    LD_PRELOAD=$lib timeout 30 socat -T 10 - "TCP:127.0.0.1:$port")
	echo "got: $out"
	[[ $out == abc ]]
	cat "$TEST_TMP/socat.txt"
	grep -Eq '^sends [1-9][0-9]* bytes_out 4 recvs [0-9]+ bytes_in 4$' \
	    "$TEST_TMP/socat.txt"
}
if command -v socat >/dev/null; then
	check "socat through it: 4 bytes out, 4 in" socat_round_trip
else
	skip "socat through it: 4 bytes out, 4 in" "no socat"
fi
done_testing
