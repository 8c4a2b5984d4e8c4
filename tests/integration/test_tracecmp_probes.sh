#!/usr/bin/env bash
# wspshim tracecmp on the project's probe programs (tests/integration/
# probes): under strace without the shim and through the trace layer at
# the bottom of every chain, their socket calls match after the
# documented rules (docs/tracing.md).  Left out, and why (docs/tracing.md
# says more): probe_threads, probe_signal and probe_race (threads race by
# design: the order of calls and the numbers they get differ from run to
# run, strace against strace too); probe_behind sysreuse, sysdup2 and
# fclose, and probe_proc spawn_noenv and exec_noenv (calls no preload
# sees: raw syscalls, stdio inside glibc, programs run without
# LD_PRELOAD).
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
command -v strace >/dev/null || bail "strace is installed"
echo_start
n=0

# probe ARGS...: tracecmp matches (the traces kept in $TEST_TMP/N).
probe() {
	n=$((n + 1))
	timeout 90 "$TOOL" tracecmp --library "$WSPSHIM_LIB" --ports -v \
	    --keep "$TEST_TMP/$n" -- "$PROBES/$1" "${@:2}" | tee "$TEST_TMP/$n.log"
	grep -q '^match: [1-9][0-9]* calls$' "$TEST_TMP/$n.log"
}

for t in tcp4 tcp6 udp4 udp6 udp4c udp6c unix-stream unix-dgram \
    unix-seqpacket; do
	check "probe_io $t all small" probe probe_io "$t" all small
done
check "probe_conn all" probe probe_conn all
check "probe_dup all" probe probe_dup all
check "probe_errno" probe probe_errno
check "probe_scm self" probe probe_scm self
check "probe_scm fork" probe probe_scm fork
check "probe_early" probe probe_early
check "probe_fortify" probe probe_fortify
for f in fork vfork vfork_exec spawn exec cloexec; do
	check "probe_proc $f" probe probe_proc "$f"
done
check "probe_behind sysclose" probe probe_behind sysclose
check "probe_behind getaddrinfo" probe probe_behind getaddrinfo

# What the rules did for probe_scm fork: the layer traced both processes
# into files of their own, and SCM_RIGHTS shows in both traces.
scm_rules() {
	local files
	timeout 90 "$TOOL" tracecmp --library "$WSPSHIM_LIB" --ports -v \
	    --keep "$TEST_TMP/scm" -- "$PROBES/probe_scm" fork \
	    >"$TEST_TMP/scm.log" || { cat "$TEST_TMP/scm.log"; return 1; }
	grep -q '^match:' "$TEST_TMP/scm.log" ||
	    { echo "tracecmp found no match"; cat "$TEST_TMP/scm.log"; return 1; }
	grep -q '^# rule mmsg-split' "$TEST_TMP/scm.log" ||
	    { echo "no mmsg-split rule"; cat "$TEST_TMP/scm.log"; return 1; }
	mapfile -t files < <(find "$TEST_TMP/scm" -name 'layer.*.txt' | sort)
	[[ ${#files[@]} -ge 2 ]] ||
	    { echo "layer files: ${files[*]}"; return 1; }
	# No "= N": strace -f splits a call another process interrupts
	# into "<unfinished ...>" and "<... sendmsg resumed>" lines.
	trace_expect "$TEST_TMP/scm/strace.txt" \
	    'sendmsg(*, {*cmsg_type=SCM_RIGHTS, cmsg_data=[*]}*'
	trace_expect -r "${files[0]}" '.*cmsg_type=SCM_RIGHTS.*'
}
check "probe_scm fork: one layer file per process, SCM_RIGHTS both sides" \
    scm_rules

done_testing
