#!/usr/bin/env bash
# The trace layer's output against checked-in files (tests/trace-golden/):
# its decoder on fixed inputs (every argument kind: strings cut and
# escaped, binary data, bad pointers, every address family, iovecs,
# msghdr with SCM_RIGHTS, socket options, errno), and a program making
# every kind of socket call traced through the chain; strace agrees with
# that trace (tracecmp), and the trace is the same at the top and at the
# bottom of a chain.
# shellcheck disable=SC2317 # functions run through check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=../../scripts/lib/trace-assert.sh
. "$WSPSHIM_ROOT/scripts/lib/trace-assert.sh"

need_lib
export WSPSHIM_CATALOG=$TEST_TMP/no-catalog
unset WSPSHIM_LAYERS WSPSHIM_LAYER_PATH WSPSHIM_FALLBACK WSPSHIM_MANAGE
GOLDEN=$WSPSHIM_ROOT/tests/trace-golden
TOOL=$WSPSHIM_BUILD/tools/wspshim
DECODE=$WSPSHIM_BUILD/layers/trace/trace-golden
CALLS=$WSPSHIM_BUILD/layers/trace/trace-calls
CMSGS=$WSPSHIM_BUILD/layers/trace/trace-cmsgs
[[ -x $TOOL && -x $DECODE && -x $CALLS && -x $CMSGS ]] ||
    bail "the wspshim program and tests/trace-golden's programs are built"
command -v strace >/dev/null || bail "strace is installed"

# diff against a golden file, saying how to refresh it.
same() {
	if ! diff -u "$1" "$2"; then
		echo "(if the new output is right: cp $2 $1)"
		return 1
	fi
}

decoder() {
	"$DECODE" >"$TEST_TMP/decode.out"
	same "$GOLDEN/decode.out" "$TEST_TMP/decode.out"
}
check "decoder: every argument kind as strace prints it (decode.out)" \
    decoder

# trace-calls under "wspshim trace" (extra arguments before --), its
# lines normalised as normalise.sed says, into $TEST_TMP/$1.
traced_calls() {
	local name=$1
	shift
	mkdir -p "$TEST_TMP/$name.dir"
	timeout 60 "$TOOL" trace --library "$WSPSHIM_LIB" \
	    -o "$TEST_TMP/$name.raw" "$@" -- "$CALLS" "$TEST_TMP/$name.dir"
	sed -f "$GOLDEN/normalise.sed" "$TEST_TMP/$name.raw" \
	    >"$TEST_TMP/$name.out"
}

calls_top() {
	traced_calls top
	same "$GOLDEN/calls.out" "$TEST_TMP/top.out"
}
check "every call kind through the layer (calls.out)" calls_top

calls_bottom() {
	traced_calls bottom --position bottom -l null -l null
	same "$GOLDEN/calls.out" "$TEST_TMP/bottom.out"
}
check "the same at the bottom of a chain under two null layers" \
    calls_bottom

# strace, run on the same program, sees the same calls.
calls_strace() {
	mkdir -p "$TEST_TMP/cmp.dir"
	timeout 60 "$TOOL" tracecmp --library "$WSPSHIM_LIB" --ports -v \
	    -- "$CALLS" "$TEST_TMP/cmp.dir" | tee "$TEST_TMP/cmp.log"
	grep -q '^match: [0-9]* calls$' "$TEST_TMP/cmp.log"
}
check "strace agrees with the layer on every call kind (tracecmp)" \
    calls_strace

# -s 8: data cut at 8 bytes, with "..." as strace does.
calls_s8() {
	traced_calls s8 -s 8
	trace_expect "$TEST_TMP/s8.out" \
	    'write(4, "01234567"..., 40) = 40'
	trace_expect "$TEST_TMP/s8.out" \
	    'read(5, "01234567"..., 100) = 40'
	trace_expect "$TEST_TMP/s8.out" 'sendto(3, "abc", 3, 0, {*}, 28) = 3'
}
check "-s 8 cuts data at 8 bytes" calls_s8

# Every control message kind (tests/trace-golden/cmsg-cases.h), sent by
# trace-cmsgs: strace and the layer print each msg_control alike, at -s
# 32, 2 (arrays cut after two elements) and 0 (cut before any; structures
# and strings never are).
cmsgs_size() {
	local s=$1 d=$TEST_TMP/cmsgs.$1 n
	mkdir -p "$d"
	n=$(timeout 60 strace -qq -s "$s" -e trace=sendmsg \
	    -o "$d/strace.txt" "$CMSGS")
	timeout 60 "$TOOL" trace --library "$WSPSHIM_LIB" -s "$s" \
	    -o "$d/layer.txt" -- "$CMSGS" >/dev/null
	# The control part of each line, the address of trailing bytes
	# (different in each run) taken out.
	for f in strace layer; do
		sed -n -e 's/ *= / = /' -e 's|/\* 0x[0-9a-f]* \*/|/* ADDR */|' \
		    -e 's/^sendmsg(.*msg_control=\(.*\), msg_controllen=.*) = /\1 = /p' \
		    "$d/$f.txt" >"$d/$f.cmsg"
	done
	[[ $(wc -l <"$d/strace.cmsg") -eq $n ]] ||
	    { echo "strace traced $(wc -l <"$d/strace.cmsg") of $n"; return 1; }
	diff -u "$d/strace.cmsg" "$d/layer.cmsg"
}
cmsgs() {
	cmsgs_size 32 && cmsgs_size 2 && cmsgs_size 0
}
check "every control message as strace prints it, at -s 32, 2 and 0" cmsgs

# The bad pointers and failures in calls.out, by pattern.
calls_failures() {
	local f=$GOLDEN/calls.out
	trace_expect "$f" 'sendto(4, 0x10, 5, MSG_NOSIGNAL, NULL, 0) = -1 EFAULT (Bad address)'
	trace_expect "$f" 'connect(3, 0x10, 16) = -1 EFAULT (Bad address)'
	trace_expect "$f" 'connect(3, {*}, 16) = -1 ECONNREFUSED (Connection refused)'
	trace_expect "$f" 'connect(4, {sa_family=AF_UNIX, sun_path="DIR/none.sock"}, 110) = -1 ENOENT (No such file or directory)'
	trace_expect "$f" 'recvfrom(5, 0xADDR, 10, 0, NULL, NULL) = -1 EAGAIN (Resource temporarily unavailable)'
	trace_expect_count "$f" '* = -1 *' 9
	trace_expect_order "$f" 'socketpair(AF_UNIX, SOCK_STREAM, 0, [3, 4]) = 0' \
	    'sendmsg(3, {*cmsg_type=SCM_RIGHTS, cmsg_data=[3]}*}, 0) = 1' \
	    'recvmsg(4, {*cmsg_data=[5]}], msg_controllen=24, msg_flags=MSG_CMSG_CLOEXEC}, MSG_CMSG_CLOEXEC) = 1'
}
check "failures, bad pointers and SCM_RIGHTS in calls.out (trace_expect)" \
    calls_failures

done_testing
