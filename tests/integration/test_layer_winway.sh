#!/usr/bin/env bash
# A layer written the Windows way (tests/layers/lsp: it finds its entry by
# GUID and its position in ProtocolChain, asks WSCGetProviderPath for the
# next provider's file, dlopens it and calls its WSPStartup, and makes its
# own handles) at depth 1, 2 and 3, with every shipped layer (null, trace,
# stats, fault, policy) above and below it, and the probe layer below it
# to check the propagation rule.  Each chain is installed in a catalog
# file of its own the way an installer does (`wspshim install`, bottom
# up, the test layer with --guid), and real programs run through it:
# curl fetching a file from a native HTTP server, python3 making a UDP
# round trip, nc sending a line.  The layers' own outputs (the test
# layer's log, trace's lines, stats' JSON, fault's and policy's errors)
# show that every position ran.
# shellcheck disable=SC2317 # functions run through check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_lib
L=$WSPSHIM_BUILD/layers
T=$WSPSHIM_BUILD/tests/layers
LSP=$T/libwsp_lsp.so
CMD=$WSPSHIM_BUILD/tools/wspshim
LSP_GUID='{5f1e3a8c-7b2d-4c61-9e0a-3d4b5c6d7e8f}'
for f in "$LSP" "$T/libwsp_probe.so" "$CMD" \
    "$L"/{null,trace,stats,fault,policy}/libwsp_*.so; do
	[[ -e $f ]] || bail "$f is built"
done
unset WSPSHIM_LAYERS WSPSHIM_LAYER_PATH WSPSHIM_FALLBACK WSPSHIM_LOG \
    WSPSHIM_MANAGE WSP_LSP_LOG
PY=$(python3 -c 'import sys; print(sys.executable)')

# The content curl fetches, and a native HTTP server for it.
mkdir "$TEST_TMP/www"
head -c 300000 /dev/urandom >"$TEST_TMP/www/blob"
port=$(free_port 127.0.0.1)
bg "$PY" -m http.server -b 127.0.0.1 -d "$TEST_TMP/www" "$port"
wait_for_port "$port" || bail "the HTTP server started"
SIZE=$(stat -c %s "$TEST_TMP/www/blob")
# A native server that appends each connection's bytes to a file.
lport=$(free_port 127.0.0.1)
bg "$PY" -c '
import socket, sys
srv = socket.create_server(("127.0.0.1", int(sys.argv[1])))
while True:
    c, _ = srv.accept()
    data = b""
    while (b := c.recv(4096)):
        data += b
    c.close()
    with open(sys.argv[2], "ab") as f:
        f.write(data)
' "$lport" "$TEST_TMP/lines"
wait_for_port "$lport" || bail "the line server started"

# The plugin file of a layer name.
layer_file() {
	case $1 in
	lsp) echo "$LSP" ;;
	probe) echo "$T/libwsp_probe.so" ;;
	*) echo "$L/$1/libwsp_$1.so" ;;
	esac
}

# The parameters a layer runs with in chain N, position P: its output
# files are named after both.
layer_params() {
	local name=$1 tag=$2
	case $name in
	trace) echo "out=$TEST_TMP/$tag.%p.trace" ;;
	stats) echo "out=$TEST_TMP/$tag.%p.stats.json" ;;
	fault) echo "fail=connect:WSAENETUNREACH;addr=127.0.0.1:9" ;;
	policy) echo "deny connect port 7" ;;
	probe) echo "$TEST_TMP/$tag.probe" ;;
	*) echo "" ;;
	esac
}

# Install the chain LAYER... (top first) over TCP and UDP in the catalog
# file $CAT, bottom up, as an installer does; prints the test layer's
# layered entry id.
install_chain() {
	local over=tcp,udp out i name p lsp_id='' tag=$1
	shift
	local -a names=("$@")
	rm -f "$CAT" "$CAT.lock"
	for ((i = ${#names[@]} - 1; i >= 0; i--)); do
		name=${names[i]}
		p=$(layer_params "$name" "$tag.$i")
		local -a args=(--over "$over")
		[[ -n $p ]] && args+=(--params "$p")
		[[ $name == lsp ]] && args+=(--guid "$LSP_GUID")
		out=$("$CMD" --catalog "$CAT" install "${args[@]}" \
		    "$(layer_file "$name")")
		if [[ $name == lsp ]]; then
			lsp_id=${out#* entry }
			lsp_id=${lsp_id%%,*}
		fi
		over=$(sed 's/.*chains //; s/ /,/g' <<<"$out")
	done
	echo "$lsp_id"
}

# Check the test layer's log: one WSPStartup per chain (TCP and UDP) at
# position POS with self SELF, each passing what the propagation rule
# says, NSOCK sockets at least, every socket closed, a WSPCleanup per
# start when CLEANED is 1.
check_lsp_log() {
	"$PY" - "$@" <<'PY'
import sys
log, self_id, pos, nsock, cleaned = sys.argv[1], sys.argv[2], \
    int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1"
recs = []
for line in open(log):
    w = line.split()
    r = dict(x.split("=", 1) for x in w[1:])
    r["op"] = w[0]
    recs.append(r)
errs = []
def want(c, m):
    if not c:
        errs.append(m)
by = lambda op: [r for r in recs if r["op"] == op]
st = by("startup")
want(len(st) >= 1, "no WSPStartup")
for r in st:
    chain = r["chain"].split(",")
    want(r["rc"] == "0", f"WSPStartup failed: {r}")
    want(r["self"] == self_id, f"self {r['self']}, want {self_id}")
    want(int(r["pos"]) == pos and chain[pos] == self_id,
         f"position {r['pos']} in {chain}, want {pos}")
    want(r["next"] == chain[pos + 1], f"next {r['next']} in {chain}")
    base = pos + 1 == len(chain) - 1
    want(r["base"] == str(int(base)), f"base flag {r['base']} in {chain}")
    want(r["passed"] == (chain[-1] if base else r["entry"]),
         f"passed entry {r['passed']} to {r['next']} of {chain}")
so, cl = by("socket"), by("close")
acc = by("accept")
want(len(so) >= nsock, f"{len(so)} sockets, want {nsock} or more")
want(all(r["rc"] == "0" for r in so + cl + acc), "a call failed")
want(len(cl) == len(so) + len(acc),
     f"{len(so)} sockets and {len(acc)} accepted, {len(cl)} closed")
if cleaned:
    want(len(by("cleanup")) == len(st),
         f"{len(st)} WSPStartup, {len(by('cleanup'))} WSPCleanup")
for e in errs:
    print(e)
if errs:
    print(open(log).read(), end="")
sys.exit(1 if errs else 0)
PY
}

# Check the outputs of the shipped layers of chain TAG (names...): each
# trace saw the connect to the server, each stats counted the file's
# bytes at least, each probe saw the propagation rule kept.
check_outputs() {
	local tag=$1 i name f
	shift
	local -a names=("$@")
	for ((i = 0; i < ${#names[@]}; i++)); do
		name=${names[i]}
		case $name in
		trace)
			# One file per process: one of them is curl's.
			grep -q "connect(.*$port" "$TEST_TMP/$tag.$i".*.trace ||
			    { echo "trace $i: no connect line"; return 1; }
			;;
		stats)
			"$PY" - "$SIZE" "$TEST_TMP/$tag.$i".*.stats.json \
			    <<'PY' || return 1
import json, sys
got = [json.load(open(f))["totals"]["bytes_in"] for f in sys.argv[2:]]
# One file per process: curl's counted the whole file at least.
if not any(g >= int(sys.argv[1]) for g in got):
    sys.exit(f"stats counted {got} bytes received")
PY
			;;
		probe)
			f=$TEST_TMP/$tag.$i.probe
			"$PY" - "$f" "$i" "${#names[@]}" <<'PY' || return 1
import sys
log, pos, depth = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
bad = []
for line in open(log):
    w = line.split()
    r = dict(x.split("=", 1) for x in w[1:])
    if w[0] not in ("startup", "socket"):
        continue
    chain = r["chain"].split(",")
    if r["rc"] != "0" or int(r["pos"]) != pos or chain[pos] != r["self"]:
        bad.append(line)
    elif pos + 1 < depth and (r["passed_entry"], r["passed_info"]) != \
            (r["entry"], r["info"]):
        bad.append("changed struct: " + line)
    elif pos + 1 == depth and (r["passed_chainlen"] != "1" or
                               r["passed_entry"] != chain[-1]):
        bad.append("base not given its entry: " + line)
if bad:
    sys.exit("".join(bad))
PY
			;;
		esac
	done
}

# Run the programs through chain LAYER... (top first, the test layer
# among them) and check everything.
through() {
	local tag=$1 pos=-1 i id out
	shift
	for ((i = 1; i <= $#; i++)); do
		[[ ${!i} == lsp ]] && pos=$((i - 1))
	done
	CAT=$TEST_TMP/$tag.catalog
	id=$(install_chain "$tag" "$@")
	[[ -n $id ]]
	export WSP_LSP_LOG=$TEST_TMP/$tag.lsp.log WSPSHIM_CATALOG=$CAT
	rm -f "$WSP_LSP_LOG"
	# curl: the file, byte for byte.
	preload curl -sS --max-time 20 -o "$TEST_TMP/$tag.got" \
	    "http://127.0.0.1:$port/blob"
	cmp "$TEST_TMP/www/blob" "$TEST_TMP/$tag.got"
	# python3: a UDP round trip between two sockets, and the errors the
	# layers inject come up unchanged (fault: ENETUNREACH for port 9,
	# policy: EACCES for port 7), and a refused connect stays refused.
	out=$(preload timeout 20 "$PY" - "$*" <<'PY'
import errno, socket, sys
a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
b.bind(("127.0.0.1", 0))
a.bind(("127.0.0.1", 0))
b.sendto(b"ping", a.getsockname())
a.settimeout(10)
data, peer = a.recvfrom(100)
assert data == b"ping" and peer == b.getsockname(), (data, peer)
a.close(); b.close()
names = sys.argv[1].split()
def connect(p):
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", p))
        return 0
    except OSError as e:
        return e.errno
    finally:
        s.close()
want9 = errno.ENETUNREACH if "fault" in names else errno.ECONNREFUSED
want7 = errno.EACCES if "policy" in names else errno.ECONNREFUSED
got9, got7 = connect(9), connect(7)
assert got9 == want9, f"port 9: {errno.errorcode.get(got9, got9)}"
assert got7 == want7, f"port 7: {errno.errorcode.get(got7, got7)}"
print("ok")
PY
)
	[[ $out == ok ]]
	# nc: one line to the native line server, which writes it out.
	echo "hello $tag" | preload timeout 20 nc -N 127.0.0.1 "$lport"
	grep -qx "hello $tag" "$TEST_TMP/lines"
	check_lsp_log "$WSP_LSP_LOG" "$id" "$pos" 3 0
	check_outputs "$tag" "$@"
}

LAYERS=(null trace stats fault policy)
check "depth 1: the test layer alone over the base" through d1 lsp
for ((k = 0; k < ${#LAYERS[@]}; k++)); do
	x=${LAYERS[k]}
	y=${LAYERS[(k + 1) % ${#LAYERS[@]}]}
	check "depth 1: the test layer over $x (it loads $x itself)" \
	    through "d1-$x" lsp "$x"
	check "depth 2: $x over the test layer over $x (one file above and below it)" \
	    through "d2-$x" "$x" lsp "$x"
	check "depth 3: $x, $y, the test layer, $x" \
	    through "d3-$x" "$x" "$y" lsp "$x"
done
check "depth 2: probe over the test layer over probe (propagation)" \
    through p2 probe lsp probe
check "depth 3: trace, probe, the test layer, probe" \
    through p3 trace probe lsp probe
check "depth 3: the test layer over probe over null" \
    through p1 lsp probe null

# WSACleanup balances every start: the test layer cleans up the layers
# it loaded itself.
cleanup_balanced() {
	CAT=$TEST_TMP/cl.catalog
	local id
	id=$(install_chain cl stats lsp trace)
	export WSP_LSP_LOG=$TEST_TMP/cl.lsp.log WSPSHIM_CATALOG=$CAT
	rm -f "$WSP_LSP_LOG"
	preload timeout 20 "$WSPSHIM_BUILD/tests/layers/layer_client" \
	    exchange inet stream wsacleanup
	check_lsp_log "$WSP_LSP_LOG" "$id" 1 2 1
	"$PY" - "$TEST_TMP"/cl.0.*.stats.json <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["reason"] == "cleanup", j["reason"]
assert j["sockets_opened"] == j["sockets_closed"] == 3, j
PY
}
check "WSACleanup: a WSPCleanup per WSPStartup (stats, test layer, trace)" \
    cleanup_balanced

done_testing
