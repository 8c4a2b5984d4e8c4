#!/usr/bin/env bash
# ThreadSanitizer over the lock-free core: the threaded probes, built with
# -fsanitize=thread together with libwspshim.so and the layers (a build
# directory of their own, see scripts/test's run_tsan), run preloaded
# under every layer stack.  Criterion cannot start under TSan, so this is
# where the core's concurrency is checked by it.
#
#	WSPSHIM_BUILD=build-tsan bash tests/tsan/run.sh [STACK...]
#
# Each check passes when the probe exits 0, prints what it prints without
# the preload, and TSan reported nothing (suppressions.txt, beside this
# script, lists what is suppressed and why).  TSAN_SECONDS (default 1)
# is how long the time-bounded probes run.
# shellcheck disable=SC2317 # functions run through check
# shellcheck source-path=SCRIPTDIR/../integration source=../integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"
# shellcheck source-path=SCRIPTDIR/../integration source=../integration/modes.sh
. "$(dirname "${BASH_SOURCE[0]}")/../integration/modes.sh"

need_lib
secs=${TSAN_SECONDS:-1}
for l in null fault policy stats trace; do
	[[ -f $WSPSHIM_BUILD/layers/$l/libwsp_$l.so ]] ||
	    bail "the $l layer is built in $WSPSHIM_BUILD"
done
for p in probe_threads probe_signal probe_sigfd probe_churn probe_mix \
    probe_race librace.so probe_netev probe_share; do
	[[ -f $PROBES/$p ]] || bail "$p is built in $WSPSHIM_BUILD"
done
[[ $(readelf -d "$WSPSHIM_LIB") == *libtsan* ]] ||
    bail "$WSPSHIM_LIB is built with -fsanitize=thread"
supp=$WSPSHIM_ROOT/tests/tsan/suppressions.txt
[[ -f $supp ]] || bail "the suppressions file is there ($supp)"
# Every report is counted (halt_on_error=0) and makes the exit status 66.
export TSAN_OPTIONS="halt_on_error=0 exitcode=66 second_deadlock_stack=1
    report_signal_unsafe=1 suppressions=$supp ${TSAN_OPTIONS:-}"
CHECK_TIMEOUT=120
echo_start

# The stacks: WSPSHIM_* settings, by name (the modes of modes.sh, then
# the shipped layers alone and together, as test_layer_threads.sh).
declare -A stacks=(
	[shim]=""
	[base]="WSPSHIM_MANAGE=all"
	[null3]="WSPSHIM_LAYERS=null,null,null"
	[fault]="WSPSHIM_LAYERS=fault:delay=send:0ms"
	[policy]="WSPSHIM_LAYERS=policy:deny connect 10.0.0.0/8"
	[stats]="WSPSHIM_LAYERS=stats:out=$TEST_TMP/stats.%p.json"
	[trace]="WSPSHIM_LAYERS=trace:out=$TEST_TMP/trace.%p.txt"
	[all]="WSPSHIM_LAYERS=stats:out=$TEST_TMP/all.%p.json,fault:delay=recv:0ms,policy:deny bind port 1,null"
)
order=(shim base null3 fault policy stats trace all)
(($# > 0)) && order=("$@")

# Run CMD... in stack NAME (empty: natively), with EXTRA (a preload after
# the shim, or nothing); stdout to $OUT.out, stderr to $OUT.err.  Returns
# the exit status.
stack_run() {
	local name=$1 extra=$2 out=$3 pre=() set=()
	shift 3
	if [[ -n $name ]]; then
		pre=("LD_PRELOAD=$WSPSHIM_LIB${extra:+:$extra}")
		[[ -n ${stacks[$name]} ]] && set=("${stacks[$name]}")
	elif [[ -n $extra ]]; then
		pre=("LD_PRELOAD=$extra")
	fi
	mode_env native
	env "${MODE_ENV[@]}" "${pre[@]}" "${set[@]}" \
	    timeout -k 5 100 "$@" >"$out.out" 2>"$out.err"
}

# The check: PROBE ARGS... under stack NAME prints what it prints natively,
# exits 0, and TSan says nothing.  EXTRA as for stack_run.
tsan_check() {
	local name=$1 extra=$2 ref rc=0
	shift 2
	ref=$TEST_TMP/native.$(basename "$1").${2:-none}
	if [[ ! -f $ref.out ]]; then
		stack_run "" "$extra" "$ref" "$@" ||
		    { echo "the native run failed:"; cat "$ref.out" \
		    "$ref.err"; rm -f "$ref.out"; return 1; }
	fi
	stack_run "$name" "$extra" "$TEST_TMP/run" "$@" || rc=$?
	if grep -q 'WARNING: ThreadSanitizer\|ThreadSanitizer:' \
	    "$TEST_TMP/run.err"; then
		echo "TSan reports ($(grep -c 'WARNING: ThreadSanitizer' \
		    "$TEST_TMP/run.err")):"
		sed -n '/WARNING: ThreadSanitizer/,/^SUMMARY/p' \
		    "$TEST_TMP/run.err" | head -n 150
		return 1
	fi
	if ((rc != 0)) || ! cmp -s "$ref.out" "$TEST_TMP/run.out"; then
		echo "exit status $rc; native and $name differ:"
		diff "$ref.out" "$TEST_TMP/run.out" | head -n 20
		head -n 40 "$TEST_TMP/run.err"
		return 1
	fi
}

# A fork child of the [all] stack can hang in TSan's own allocator: its
# calloc (in a layer starting its chain) waits on a size-class lock of
# the runtime's (SizeClassAllocator64LocalCache::Refill) that a thread of
# the parent held when it forked.  glibc's malloc is fork-safe; the
# allocator of GCC 12's libtsan is not, and no lock of ours can cover it.
# [all] hung 3 times in 22 runs (two children read there, the third
# waiting on a futex inside the runtime too); the single-layer stacks
# (fault, policy, stats, trace, null3) in none of 40 runs, 8 each.
# TSAN_KNOWN=1 runs it.
known_fork() {
	[[ ${TSAN_KNOWN:-0} != 1 && $1 == all ]]
}

for name in "${order[@]}"; do
	[[ -n ${stacks[$name]+set} ]] || bail "no stack named $name"
	check "tsan: 16 threads for ${secs} s [$name]" tsan_check "$name" "" \
	    "$PROBES/probe_threads" "$secs"
	if known_fork "$name"; then
		skip "tsan: fork while 4 threads use sockets [$name]" \
		    "a fork child can hang in GCC 12 TSan's allocator"
	else
		check "tsan: fork while 4 threads use sockets [$name]" \
		    tsan_check "$name" "" "$PROBES/probe_threads" fork
	fi
	check "tsan: a signal handler's write() and close() [$name]" \
	    tsan_check "$name" "" "$PROBES/probe_signal" "$secs"
	check "tsan: a signal handler's send() amid a send() on a dup [$name]" \
	    tsan_check "$name" "" "$PROBES/probe_sigfd" "$secs"
	check "tsan: socket()/dup()/close() churn against calls [$name]" \
	    tsan_check "$name" "" "$PROBES/probe_churn"
	check "tsan: 16 threads mixing dup2/close/send/fork+exec [$name]" \
	    tsan_check "$name" "" "$PROBES/probe_mix" "$secs"
	check "tsan: a send on a dup racing close of the original [$name]" \
	    tsan_check "$name" "$PROBES/librace.so" "$PROBES/probe_race"
	# The network-event watcher against the calls that re-enable events.
	# Its fork case starts a watcher in the child of a process that has
	# one: TSan refuses threads after a multi-threaded fork unless told.
	# The probe links the library, so its reference run preloads it too:
	# linked only, the library comes after TSan's interceptors, which
	# then record a descriptor accept() made only once the whole shimmed
	# accept returned, after the watcher was handed it.
	TSAN_OPTIONS="$TSAN_OPTIONS die_after_fork=0" \
	    check "tsan: network events and their watcher [$name]" \
	    tsan_check "$name" "$WSPSHIM_LIB" "$PROBES/probe_netev"
	# Sharing with other processes: the holder is a raw clone() of the
	# process, the targets fork and exec.  Linked, so preloaded too.
	TSAN_OPTIONS="$TSAN_OPTIONS die_after_fork=0" \
	    check "tsan: sockets shared with other processes [$name]" \
	    tsan_check "$name" "$WSPSHIM_LIB" "$PROBES/probe_share"
done
done_testing
