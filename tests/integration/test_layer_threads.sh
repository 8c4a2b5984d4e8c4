#!/usr/bin/env bash
# The shipped layers under concurrency: 16 threads making and using
# sockets (their chains start while other threads use them), fork while 4
# threads do (a child must never inherit a layer lock held by a thread it
# does not have), and signal handlers making socket calls (one that must
# not steer the call it interrupted to its own socket).  Each probe's
# transcript must equal its run without the shim.
# shellcheck disable=SC2317 # functions run through check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=modes.sh
. "$(dirname "${BASH_SOURCE[0]}")/modes.sh"

need_probes
for l in null fault policy stats; do
	[[ -f $WSPSHIM_BUILD/layers/$l/libwsp_$l.so ]] ||
	    bail "the $l layer is built"
done
export WSPSHIM_CATALOG=$TEST_TMP/no-catalog
unset WSPSHIM_LAYERS WSPSHIM_LAYER_PATH WSPSHIM_FALLBACK WSPSHIM_MANAGE
echo_start

# The stacks, by name; fault has a rule so that its lock is taken.
declare -A stacks=(
	[null3]="null,null,null"
	[fault]="fault:delay=send:0ms"
	[policy]="policy:deny connect 10.0.0.0/8"
	[stats]="stats:out=$TEST_TMP/stats.%p.json"
	[trace]="trace:out=$TEST_TMP/trace.%p.txt"
	[all]="stats:out=$TEST_TMP/all.%p.json,fault:delay=recv:0ms"
)
stacks[all]+=",policy:deny bind port 1,null"

# same NAME PROBE ARGS...: the probe prints the same under stack NAME as
# natively, and exits 0 both times.
same() {
	local name=$1 native layered
	shift
	native=$(timeout 60 "$@")
	layered=$(WSPSHIM_LAYERS=${stacks[$name]} preload timeout 60 "$@")
	echo "native:  $native"
	echo "layered: $layered"
	[[ -n $native && $native == "$layered" ]]
}

for name in null3 fault policy stats trace all; do
	check "16 threads for 2 s [$name]" same "$name" \
	    "$PROBES/probe_threads" 2
	check "fork while 4 threads use sockets [$name]" same "$name" \
	    "$PROBES/probe_threads" fork
	check "a signal handler's write() and close() [$name]" same "$name" \
	    "$PROBES/probe_signal" 2
	check "a signal handler's send() amid a send() on a dup [$name]" \
	    same "$name" "$PROBES/probe_sigfd" 1
	check "16 threads mixing dup2/close/send and fork+exec [$name]" \
	    same "$name" "$PROBES/probe_mix" 1
done
done_testing
