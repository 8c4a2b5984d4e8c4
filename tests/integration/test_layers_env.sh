#!/usr/bin/env bash
# WSPSHIM_LAYERS end to end: chains of the probe layer (tests/layers/probe)
# at every depth from 1 to 6 obey the propagation rule, the loader refuses
# broken plugins with the documented error and one log line, and
# WSPSHIM_FALLBACK=1 runs without a layer that is not found.
#
# The probe appends one line per WSPStartup, WSPSocket, WSPAccept,
# WSPCloseSocket and WSPCleanup to the file its parameters name (see
# probe.c); check_log below reads those lines.
# shellcheck disable=SC2317 # functions run through check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_lib
T=$WSPSHIM_BUILD/tests/layers
CLIENT=$T/layer_client
PROBE=$T/libwsp_probe.so
[[ -x $CLIENT && -f $PROBE ]] ||
    bail "the test layers are built ($T)"

# No catalog file of this machine or user: the built-in catalog.
export WSPSHIM_CATALOG=$TEST_TMP/no-catalog
unset WSPSHIM_LAYERS WSPSHIM_LAYER_PATH WSPSHIM_FALLBACK WSPSHIM_LOG \
    WSPSHIM_MANAGE

# The WSPSHIM_LAYERS value for DEPTH probes logging to LOG, top first;
# even positions by short name (found through WSPSHIM_LAYER_PATH), odd
# ones by path, so the same file comes in under two names.
probes() {
	local depth=$1 log=$2 i spec=
	for ((i = 0; i < depth; i++)); do
		if ((i % 2 == 0)); then
			spec+=${spec:+,}probe:$log
		else
			spec+=${spec:+,}$PROBE:$log
		fi
	done
	echo "$spec"
}

# Check the probe log LOG of one run: DEPTH layers, NSOCK sockets made
# with WSPSocket and NACC accepted ones, closed and cleaned up when
# CLOSED is 1, left open at exit (no WSACleanup) when it is 0.
check_log() {
	python3 - "$@" <<'PY'
import sys
log, depth, nsock, nacc, closed = sys.argv[1], *map(int, sys.argv[2:])
recs = []
for line in open(log):
    w = line.split()
    r = dict(x.split("=", 1) for x in w[1:])
    r["op"] = w[0]
    recs.append(r)
errs = []
def by(op):
    return [r for r in recs if r["op"] == op]
def want(cond, msg):
    if not cond:
        errs.append(msg)

st, so = by("startup"), by("socket")
selves = {r["self"] for r in st}
want(len(st) == depth, f"{len(st)} WSPStartup calls, want {depth}")
want(len(selves) == depth,
     f"layer ids {sorted(selves)}: want {depth} distinct instances")
want("0" not in selves, "a layer got 0 from WSPShimSelfCatalogEntryId")
# Every layer sees the same chain struct: one entry, one hash.
seen = {(r["entry"], r["chainlen"], r["chain"], r["info"])
        for r in st + so}
want(len(seen) == 1, f"layers saw different structs: {sorted(seen)}")
for r in st + so:
    chain = r["chain"].split(",")
    pos = int(r["pos"])
    what = f'{r["op"]} of layer {r["self"]}'
    want(r["rc"] == "0", f"{what} failed: {r['rc']}")
    want(int(r["chainlen"]) == depth + 1 and len(chain) == depth + 1,
         f"{what}: chain {r['chain']}, want {depth + 1} entries")
    want(0 <= pos < depth and chain[pos] == r["self"],
         f"{what}: not in the chain at position {pos}")
    if pos < depth - 1:
        # Over another layer: the same struct, unmodified.
        want((r["passed_entry"], r["passed_chain"], r["passed_info"]) ==
             (r["entry"], r["chain"], r["info"]),
             f"{what} passed a changed struct down")
    else:
        # Over the base: the base's own entry, never a chain.
        want(r["passed_chainlen"] == "1" and
             r["passed_chain"] == r["passed_entry"] == chain[-1],
             f"{what} passed entry {r['passed_entry']} chain "
             f"{r['passed_chain']} to the base {chain[-1]}")
want(not st or set(st[0]["chain"].split(",")[:depth]) == selves,
     "the chain's layers are not the started instances")
want(len(so) == depth * nsock, f"{len(so)} WSPSocket calls, "
     f"want {depth * nsock}")
acc = by("accept")
want(len(acc) == depth * nacc, f"{len(acc)} WSPAccept calls, "
     f"want {depth * nacc}")
cl, cu = by("closesocket"), by("cleanup")
want(all(r["ctx"] == "ok" for r in acc + cl),
     "a handle context did not resolve")
want(all(r["rc"] == "0" for r in acc + cl + cu), "a call failed")
if closed:
    want(len(cl) == depth * (nsock + nacc),
         f"{len(cl)} WSPCloseSocket calls, want {depth * (nsock + nacc)}")
    for s in selves:
        a = sum(r["self"] == s for r in st)
        b = sum(r["self"] == s for r in cu)
        want(a == b, f"layer {s}: {a} WSPStartup, {b} WSPCleanup")
else:
    want(len(cl) == 0 and len(cu) == 0,
         f"{len(cl)} closes and {len(cu)} cleanups at exit, want none")
for e in errs:
    print(e)
if errs:
    print("--- probe log:")
    print(open(log).read(), end="")
sys.exit(1 if errs else 0)
PY
}

# Run the client with DEPTH probes: exchange FAMILY TYPE [wsacleanup],
# then check its probe log.
propagation() {
	local depth=$1 fam=$2 type=$3 mode=${4-} log nsock=2 nacc=0 out
	log=$TEST_TMP/probe.$depth.$fam.$type.$mode.log
	rm -f "$log"
	[[ $type == dgram ]] || nacc=1
	out=$(WSPSHIM_LAYERS=$(probes "$depth" "$log") \
	    WSPSHIM_LAYER_PATH=$T preload "$CLIENT" exchange "$fam" "$type" \
	    ${mode:+"$mode"})
	echo "client: $out"
	[[ $out == skip ]] && return 0
	[[ $out == ok ]]
	check_log "$log" "$depth" "$nsock" "$nacc" \
	    "$([[ $mode == wsacleanup ]] && echo 1 || echo 0)"
}

for depth in 1 2 3 4 5 6; do
	name="depth $depth: TCP through $depth probes (propagation rule,"
	name+=" contexts, SIO_BASE_HANDLE, a WSPCleanup per WSPStartup)"
	check "$name" propagation "$depth" inet stream wsacleanup
done
for kind in "inet dgram" "inet6 stream" "inet6 dgram" "unix stream" \
    "unix dgram" "unix seqpacket"; do
	# shellcheck disable=SC2086 # two words
	check "depth 3: $kind through the chain WSPSHIM_LAYERS made" \
	    propagation 3 $kind wsacleanup
done
check "depth 2: exit without WSACleanup runs no WSPCleanup" \
    propagation 2 inet stream

# A layer found in the build tree next to the library, under a probe.
shipped_null() {
	local log=$TEST_TMP/probe.null.log out
	out=$(WSPSHIM_LAYERS=$PROBE:$log,null preload "$CLIENT" exchange \
	    inet stream wsacleanup)
	[[ $out == ok ]] && grep -q 'passed_chainlen=3 ' "$log"
}
if [[ -f $WSPSHIM_BUILD/layers/null/libwsp_null.so ]]; then
	check "a short name is found in the build tree (layers/null)" \
	    shipped_null
else
	skip "a short name is found in the build tree" "no layers/null built"
fi

# Broken plugins.  Run the client's CMD with LAYERS; want OUT on stdout,
# one log line matching PATTERN, and a clean exit.
broken() {
	local layers=$1 cmd=$2 want=$3 pattern=$4 log out
	log=$TEST_TMP/log.$RANDOM
	out=$(WSPSHIM_LOG=$log WSPSHIM_LAYERS=$layers preload "$CLIENT" \
	    "$cmd" inet stream)
	echo "client: $out"
	echo "log:"
	cat "$log"
	[[ $out == "$want" ]]
	[[ $(wc -l <"$log") -eq 1 ]]
	grep -q -- "$pattern" "$log"
}
echo "this is not a shared object" >"$TEST_TMP/libwsp_notelf.so"

while read -r what layer errno wsa pattern; do
	check "$what: socket() fails with $errno, one log line" \
	    broken "$layer" socket "errno=$errno" "$pattern"
	check "$what: WSASocketW fails with $wsa, one log line" \
	    broken "$layer" wsasocket "wsa=$wsa" "$pattern"
done <<EOF
no-WSPStartup $T/libwsp_broken_nostartup.so ELIBACC 10106 no.WSPStartup.export
failing-WSPStartup $T/libwsp_broken_startfail.so ELIBACC 10106 did.not.start.(WSASYSNOTREADY:
NULL-member $T/libwsp_broken_nullmember.so ELIBBAD 10104 NULL.member
newer-SPI $T/libwsp_broken_newer.so ELIBACC 10106 SPI.2.3
not-a-shared-object $TEST_TMP/libwsp_notelf.so ELIBACC 10106 cannot.load
missing-file $TEST_TMP/nowhere/libwsp_x.so ELIBACC 10106 not.found
unknown-name no_such_layer ELIBACC 10106 searched
EOF

# WSPSHIM_FALLBACK=1: the missing layer is left out, the rest runs.
fallback() {
	local log=$TEST_TMP/probe.fallback.log plog=$TEST_TMP/log.fallback
	local out
	out=$(WSPSHIM_FALLBACK=1 WSPSHIM_LOG=$plog \
	    WSPSHIM_LAYERS=$PROBE:$log,no_such_layer preload "$CLIENT" \
	    exchange inet stream wsacleanup)
	echo "client: $out"
	cat "$plog"
	[[ $out == ok ]]
	grep -q 'no_such_layer.*left out' "$plog"
	[[ $(wc -l <"$plog") -eq 1 ]]
	check_log "$log" 1 2 1 1
}
check "WSPSHIM_FALLBACK=1 runs without the missing layer" fallback

fallback_only() {
	local out plog=$TEST_TMP/log.fallback2
	out=$(WSPSHIM_FALLBACK=1 WSPSHIM_LOG=$plog \
	    WSPSHIM_LAYERS=no_such_layer preload "$CLIENT" socket inet stream)
	[[ $out == ok ]] && grep -q 'left out' "$plog"
}
check "WSPSHIM_FALLBACK=1 with only a missing layer: plain sockets" \
    fallback_only

# Too many layers: the sockets fail rather than run with some of them.
too_many() {
	local out
	out=$(WSPSHIM_LAYERS=$(probes 7 /dev/null) WSPSHIM_LAYER_PATH=$T \
	    WSPSHIM_LOG=$TEST_TMP/log.many preload "$CLIENT" socket inet stream)
	echo "client: $out"
	[[ $out == errno=ELIBACC ]] && grep -q '7 layers' "$TEST_TMP/log.many"
}
check "seven layers: socket() fails with ELIBACC" too_many

# Parameters with an escaped comma reach the layer whole.
escaped_comma() {
	local dir=$TEST_TMP/a,b out
	mkdir -p "$dir"
	out=$(WSPSHIM_LAYERS="probe:${dir//,/\\,}/log" WSPSHIM_LAYER_PATH=$T \
	    preload "$CLIENT" exchange inet stream wsacleanup)
	[[ $out == ok ]] && check_log "$dir/log" 1 2 1 1
}
check "a '\\,' in the parameters is a comma" escaped_comma

done_testing
