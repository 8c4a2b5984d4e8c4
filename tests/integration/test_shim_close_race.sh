#!/usr/bin/env bash
# A close racing a call on the same socket (probe_close): the call
# finishes on the socket it started on (or finds it closed), never on the
# socket the kernel makes under the same number next, and no layer's
# socket context is freed under it.  Close racing send, recv, accept,
# connect, setsockopt, shutdown, a send on a dup()ed socket, and a send
# racing close_range() rather than close(); with no
# layer and with each shipped layer, each with and without a slow layer
# above it (fault's delay, which holds the call before it goes down), in
# every mode of modes.sh (layers3's three null layers go under the stack).
# The runs of one stack go in parallel: they mostly sleep.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=modes.sh
. "$(dirname "${BASH_SOURCE[0]}")/modes.sh"

need_probes

OPS=(send recv accept connect setsockopt shutdown dup range)
# stats writes its file whole and renames it into place: never /dev/null.
LAYERS=('' null trace:out=/dev/null "stats:out=$TEST_TMP/stats.%p.json"
    policy fault)
DELAY=300ms

# The layer a delay for OP needs (dup's and range's races are sends).
delay_for() {
	local op=$1
	[[ $op == dup || $op == range ]] && op=send
	echo "fault:delay=$op:$DELAY"
}

# The WSPSHIM_LAYERS value for STACK in MODE ("" when there is none).
stack_for() {
	local mode=$1 stack=$2
	if [[ $mode == layers3 ]]; then
		echo "${stack:+$stack,}null,null,null"
	else
		echo "$stack"
	fi
}

# Run every op with the stack SLOW+LAYER in MODE, in parallel, and check
# each: exit 0 and "OP: ok".
check_stack() {
	local mode=$1 layer=$2 slow=$3 op stack out name rc
	local -A pid=()
	mkdir -p "$TEST_TMP/close"
	for op in "${OPS[@]}"; do
		stack=$layer
		[[ $slow == slow ]] && stack=$(delay_for "$op")${layer:+,$layer}
		stack=$(stack_for "$mode" "$stack")
		out=$TEST_TMP/close/$mode.$op.$slow.${layer%%:*}
		if [[ -n $stack ]]; then
			mode_run "$mode" env WSPSHIM_LAYERS="$stack" \
			    timeout -k 5 "$PROBE_TIMEOUT" \
			    "$PROBES/probe_close" "$op" >"$out.out" 2>"$out.err" &
		else
			mode_run "$mode" timeout -k 5 "$PROBE_TIMEOUT" \
			    "$PROBES/probe_close" "$op" >"$out.out" 2>"$out.err" &
		fi
		pid[$op]=$!
	done
	for op in "${OPS[@]}"; do
		out=$TEST_TMP/close/$mode.$op.$slow.${layer%%:*}
		rc=0
		wait "${pid[$op]}" || rc=$?
		echo "$rc" >"$out.rc"
	done
	for op in "${OPS[@]}"; do
		out=$TEST_TMP/close/$mode.$op.$slow.${layer%%:*}
		name="close racing $op, layers '${layer%%:*}'"
		[[ $slow == slow ]] && name+=" under a slow layer"
		check "$name [$mode]" _close_ok "$op" "$out"
	done
}

# Whether the run OUT of OP passed.
_close_ok() {
	local op=$1 out=$2
	if [[ $(cat "$out.rc") == 0 && $(cat "$out.out") == "$op: ok" ]]; then
		return 0
	fi
	echo "exit status $(cat "$out.rc")"
	sed -e 's/^/output: /' -e 20q "$out.out"
	sed -e "s/^/stderr: /" -e 20q "$out.err"
	return 1
}

for op in "${OPS[@]}"; do
	check "close racing $op [native]" \
	    mode_run native timeout -k 5 "$PROBE_TIMEOUT" \
	    "$PROBES/probe_close" "$op"
done
for mode in $WSPSHIM_TEST_MODES; do
	for layer in "${LAYERS[@]}"; do
		check_stack "$mode" "$layer" plain
		check_stack "$mode" "$layer" slow
	done
done
done_testing
