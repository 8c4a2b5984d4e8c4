#!/usr/bin/env bash
# A layer with an older table (tests/layers/old: Winsock's 30 members,
# wLinuxTableVersion 0; with "1", also version 1's sendmsg, recvmsg and
# accept4) under every shipped layer, at the top and between two: the
# core completes its table, so the layers above, which call the Linux
# members, never reach a NULL one.  Python's socket module drives real
# traffic (accept4, sendmsg/recvmsg with several buffers and addresses,
# sendall, sendfile, SCM_RIGHTS); the output must be the native run's,
# except that a version 0 layer cannot carry ancillary data: sendmsg with
# SCM_RIGHTS fails with EOPNOTSUPP (said once on stderr) rather than
# dropping the descriptor.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=modes.sh
. "$(dirname "${BASH_SOURCE[0]}")/modes.sh"

need_probes
command -v python3 >/dev/null || bail "python3 is installed"
OLD=$WSPSHIM_BUILD/tests/layers/libwsp_old.so
[[ -f $OLD ]] || bail "the test layers are built"
script=$WSPSHIM_ROOT/tests/integration/old_layer_traffic.py

mode_run native timeout 60 python3 "$script" "$TEST_TMP" \
    >"$TEST_TMP/native.out" 2>&1 || bail "the native run works"
# What a version 0 layer gives: the same, but for the SCM_RIGHTS line.
sed 's/^scm_rights: .*/scm_rights: sendmsg failed: ENOTSUP/' \
    "$TEST_TMP/native.out" >"$TEST_TMP/v0.out"

# run_over NAME LAYERS EXPECTED: LAYERS as WSPSHIM_LAYERS; stdout must be
# EXPECTED, stderr empty but for the one ancillary-data line, the exit 0.
run_over() {
	local name=$1 layers=$2 expect=$3 rc=0
	mode_define "$name" off preload "WSPSHIM_LAYERS=$layers"
	mode_run "$name" timeout 60 python3 "$script" "$TEST_TMP" \
	    >"$TEST_TMP/$name.out" 2>"$TEST_TMP/$name.err" || rc=$?
	cat "$TEST_TMP/$name.err"
	((rc == 0)) || { echo "exit $rc"; return 1; }
	diff "$expect" "$TEST_TMP/$name.out" || return 1
	! grep -v -e 'cannot send ancillary data' -e '^{' -e '^}' -e '^  ' \
	    "$TEST_TMP/$name.err"
}

for top in null trace stats fault policy; do
	params=
	case $top in
	trace) params=":out=$TEST_TMP/trace.%p" ;;
	stats) params=":out=$TEST_TMP/stats.json" ;;
	fault) params=":delay=connect:1ms" ;;
	policy) params=":default=allow" ;;
	esac
	check "$top over a version 0 layer: Python's traffic as native" \
	    run_over "v0_$top" "$top$params,$OLD" "$TEST_TMP/v0.out"
	check "$top over a version 1 layer: Python's traffic as native" \
	    run_over "v1_$top" "$top$params,$OLD:1" "$TEST_TMP/native.out"
done
check "a version 0 layer alone, at the top" \
    run_over v0_top "$OLD" "$TEST_TMP/v0.out"
check "a version 0 layer between two null layers" \
    run_over v0_mid "null,$OLD,null" "$TEST_TMP/v0.out"
check "a version 1 layer between two null layers" \
    run_over v1_mid "null,$OLD:1,null" "$TEST_TMP/native.out"
check "three version 0 layers" \
    run_over v0_three "$OLD,$OLD,$OLD" "$TEST_TMP/v0.out"

# The trace over it saw the Linux members it called: accept4 and
# sendmsg, answered by the core's fallbacks below it.
# grep reads the files itself: "cat | grep -q" under pipefail fails with
# SIGPIPE when grep stops at a match in the first file.
trace_saw() {
	grep -q -h '^accept4(' "$TEST_TMP"/trace.* &&
	    grep -q -h '^sendmsg(' "$TEST_TMP"/trace.* &&
	    grep -q -h '^sendfile(' "$TEST_TMP"/trace.*
}
check "trace over the old layer traced accept4, sendmsg and sendfile" \
    trace_saw
done_testing
