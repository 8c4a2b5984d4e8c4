#!/usr/bin/env bash
# The user's mistakes caught by the wspshim command before anything runs
# or is stored (docs/wspshim-command.md, "Checked before the run"): each
# case checks the exact line on stderr, the exit status, an empty stdout,
# and that the program did not run or the catalog file was not written.
# shellcheck disable=SC2317 # functions run through check
# shellcheck disable=SC2016 # sh -c scripts expand in sh
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_lib
tool=$WSPSHIM_BUILD/tools/wspshim
[[ -x $tool ]] || bail "no $tool (build the project first)"
export WSPSHIM_CATALOG=$TEST_TMP/catalog
ran=$TEST_TMP/ran
unset WSPSHIM_LAYERS

# ws ARGS...: the command, stdout and stderr in $TEST_TMP/out and err, the
# exit status in $rc.
ws() {
	rc=0
	"$tool" "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
}

# refused STATUS LINE: the last ws exited STATUS with exactly LINE on
# stderr, nothing on stdout, the program not run, no catalog file made.
refused() {
	[[ $rc == "$1" ]] || { echo "exit status $rc, not $1"; cat \
	    "$TEST_TMP/err"; return 1; }
	[[ $(cat "$TEST_TMP/err") == "$2" ]] || { echo "stderr:"
	    cat "$TEST_TMP/err"; echo "wanted: $2"; return 1; }
	[[ ! -s $TEST_TMP/out ]] || { echo "stdout:"; cat "$TEST_TMP/out"
	    return 1; }
	[[ ! -e $ran ]] || { echo "the program ran"; return 1; }
	[[ ! -e $WSPSHIM_CATALOG ]] || { echo "the catalog was written"
	    return 1; }
}

# run ARGS...: "wspshim run ARGS... -- sh -c 'touch $ran'".
run() {
	rm -f "$ran"
	ws run --library "$WSPSHIM_LIB" "$@" -- sh -c ': >"$1"' sh "$ran"
}

misspelt_operation() {
	run -l 'fault:fail=conect:WSAECONNREFUSED'
	refused 2 'wspshim: run: fault: unknown operation "conect" (did you mean connect?)'
}

misspelt_key() {
	run -l 'fault:fial=connect:WSAECONNREFUSED'
	refused 2 'wspshim: run: fault: unknown key "fial" (did you mean fail?)'
	run -l 'stats:outt=x.json'
	refused 2 'wspshim: run: stats: unknown key "outt" (did you mean out?)'
	run -l 'policy:deny connect 127.0.0.1/8 prot 80'
	refused 2 'wspshim: run: policy: unknown word "prot" (not a direction, family, address/prefix or port)'
	run -l 'null:x=1'
	refused 2 'wspshim: run: null: takes no parameters ("x=1")'
}

# The check runs on the list the program would get, WSPSHIM_LAYERS too,
# and on a layer named by its path.
layers_from_env() {
	rm -f "$ran"
	rc=0
	WSPSHIM_LAYERS='trace,fault:delay=rcv:1ms' "$tool" run --library \
	    "$WSPSHIM_LIB" -- sh -c ': >"$1"' sh "$ran" >"$TEST_TMP/out" \
	    2>"$TEST_TMP/err" || rc=$?
	refused 2 'wspshim: run: fault: unknown operation "rcv" (did you mean recv?)'
	run -l "$WSPSHIM_BUILD/layers/fault/libwsp_fault.so:fail=connect:WSAEBOGUS"
	refused 2 'wspshim: run: fault: unknown error "WSAEBOGUS" (use a WSAE... name or a number)'
}

no_such_layer() {
	run -l nosuch
	[[ $rc == 2 ]] || { echo "exit status $rc"; return 1; }
	grep -q '^wspshim: run: no layer nosuch (looked in: ' "$TEST_TMP/err"
	[[ $(wc -l <"$TEST_TMP/err") == 1 && ! -e $ran ]]
	run -l faul
	[[ $rc == 2 ]] || { echo "exit status $rc"; return 1; }
	grep -q '^wspshim: run: no layer faul, did you mean fault? (looked in: ' \
	    "$TEST_TMP/err"
	[[ $(wc -l <"$TEST_TMP/err") == 1 && ! -e $ran ]]
}

trace_call_name() {
	rm -f "$ran"
	ws trace --library "$WSPSHIM_LIB" -e conect -- sh -c ': >"$1"' sh \
	    "$ran"
	refused 2 'wspshim: trace: trace: unknown call "conect" in e= (did you mean connect?)'
}

trace_output() {
	rm -f "$ran"
	ws trace --library "$WSPSHIM_LIB" -o /nonexistent/x -- sh -c \
	    ': >"$1"' sh "$ran"
	refused 2 'wspshim: trace: -o /nonexistent/x: No such file or directory'
	ws trace --library "$WSPSHIM_LIB" -o /nonexistent/t.%p -- sh -c \
	    ': >"$1"' sh "$ran"
	refused 2 'wspshim: trace: -o /nonexistent/t.%p: /nonexistent: No such file or directory'
	# A good one still runs.
	ws trace --library "$WSPSHIM_LIB" -o "$TEST_TMP/t" -- sh -c \
	    ': >"$1"' sh "$ran"
	[[ $rc == 0 && -e $ran && -e $TEST_TMP/t ]]
}

install_bad_params() {
	rm -f "$ran"
	ws install --params 'fail=conect:WSAECONNREFUSED' fault
	refused 2 'wspshim: install: fault: unknown operation "conect" (did you mean connect?)'
}

install_not_a_layer() {
	rm -f "$ran"
	ws install /etc/hostname
	refused 2 'wspshim: install: /etc/hostname is not a layer (file too short)'
	# An ELF library without WSPStartup.
	ws install "$WSPSHIM_BUILD/tests/integration/libstack.so"
	refused 2 "wspshim: install: $WSPSHIM_BUILD/tests/integration/libstack.so is not a layer (it exports no WSPStartup)"
	# And a good install still works.
	ws install --params 'fail=connect:WSAECONNREFUSED;count=1' fault
	[[ $rc == 0 && -s $WSPSHIM_CATALOG ]] || { cat "$TEST_TMP/err"
	    return 1; }
	rm -f "$WSPSHIM_CATALOG"
}

# A static program (no PT_INTERP): run says the shim cannot reach it and
# runs it (it really connects, unseen); with a policy layer, run and
# trace refuse.
static_program() {
	local port probe=$WSPSHIM_BUILD/tests/integration/probe_static_connect out
	port=$(free_port 127.0.0.1)
	bg python3 -m http.server --bind 127.0.0.1 --directory "$TEST_TMP" \
	    "$port"
	wait_for_port "$port"
	rc=0
	out=$("$tool" run --library "$WSPSHIM_LIB" -- "$probe" "$port" \
	    2>"$TEST_TMP/err") || rc=$?
	[[ $rc == 0 && $out == connected ]] || { echo "rc $rc: $out"
	    return 1; }
	[[ $(cat "$TEST_TMP/err") == "wspshim: run: $probe is statically linked: it runs without the shim, so no layer sees its socket calls" ]] ||
	    { cat "$TEST_TMP/err"; return 1; }
	rc=0
	"$tool" run --library "$WSPSHIM_LIB" -l 'policy:default deny' -- \
	    "$probe" "$port" >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
	refused 2 "wspshim: run: $probe is statically linked: it would run without the shim and the policy layer would not apply; not running it"
	rc=0
	"$tool" trace --library "$WSPSHIM_LIB" -l 'policy:default deny' -- \
	    "$probe" "$port" >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
	refused 2 "wspshim: trace: $probe is statically linked: it would run without the shim and the policy layer would not apply; not running it"
}

# run_denied PROGRAM WHY: "run -l policy" refuses PROGRAM, which WHY.
run_denied() {
	rc=0
	"$tool" run --library "$WSPSHIM_LIB" -l 'policy:default deny' -- \
	    "$1" -s http://127.0.0.1:1/ >"$TEST_TMP/out" 2>"$TEST_TMP/err" ||
	    rc=$?
	refused 2 "wspshim: run: $1 $2: it would run without the shim and the policy layer would not apply; not running it"
}

# A set-group-ID copy of curl (its group not ours) and one with file
# capabilities run in secure-execution mode, where ld.so drops the
# preload.
set_id_program() {
	local sg=$TEST_TMP/curl-setgid cap=$TEST_TMP/curl-cap
	cp "$(command -v curl)" "$sg"
	chgrp nogroup "$sg"
	chmod g+s "$sg"
	run_denied "$sg" "is set-group-ID"
	# The claim holds: ld.so drops LD_PRELOAD for such a program (a
	# set-group-ID env prints its environment without it), while run
	# says so and runs it.
	cp "$(command -v env)" "$TEST_TMP/env-setgid"
	chgrp nogroup "$TEST_TMP/env-setgid"
	chmod g+s "$TEST_TMP/env-setgid"
	"$tool" run --library "$WSPSHIM_LIB" -- "$TEST_TMP/env-setgid" \
	    >"$TEST_TMP/out" 2>"$TEST_TMP/err"
	grep -q '^PATH=' "$TEST_TMP/out"
	if grep -q '^LD_PRELOAD=' "$TEST_TMP/out"; then
		echo "LD_PRELOAD reached it"; return 1
	fi
	[[ $(cat "$TEST_TMP/err") == "wspshim: run: $TEST_TMP/env-setgid is set-group-ID: it runs without the shim, so no layer sees its socket calls" ]]
	command -v setcap >/dev/null || { echo "no setcap"; return 1; }
	cp "$(command -v curl)" "$cap"
	setcap cap_net_raw+ep "$cap"
	run_denied "$cap" "has file capabilities"
}

tracecmp_not_found() {
	rm -f "$ran"
	ws tracecmp --library "$WSPSHIM_LIB" -- nosuchprog
	refused 127 'wspshim: tracecmp: nosuchprog: command not found'
	ws tracecmp --library "$WSPSHIM_LIB" --timeout 5 -- \
	    "$TEST_TMP/no/such"
	refused 127 "wspshim: tracecmp: $TEST_TMP/no/such: No such file or directory"
}

# tracecmp on a static program says why nothing matched.
tracecmp_static() {
	local probe=$WSPSHIM_BUILD/tests/integration/probe_static_connect
	command -v strace >/dev/null || { echo "no strace"; return 1; }
	ws tracecmp --library "$WSPSHIM_LIB" --timeout 20 -- "$probe" 1
	# The comparison itself notes the program as out of reach (and
	# so passes): what matters is the line saying why.
	grep -q '^note: .* ran without the shim (statically linked' \
	    "$TEST_TMP/out" || { echo "no note line"; return 1; }
	grep -qxF "wspshim: tracecmp: $probe is statically linked: it runs without the shim, so the trace layer sees none of its calls and none can match" \
	    "$TEST_TMP/err"
}

# Past the command's check (the preload set by hand), a layer that does
# not start is said once per cause, not once per chain, with the code's
# name and what the program sees; the program's sockets all fail.
layer_fails_inside() {
	local log=$TEST_TMP/log py rc=0 fault
	py=$(python3 -c 'import sys; print(sys.executable)')
	fault=$(realpath "$WSPSHIM_BUILD/layers/fault/libwsp_fault.so")
	rm -f "$log"
	# Three sockets, three chains (TCP, TCP over IPv6, UDP).
	WSPSHIM_LAYERS="$fault:fail=conect:WSAECONNREFUSED" WSPSHIM_LOG=$log \
	    LD_PRELOAD=$WSPSHIM_LIB "$py" -c '
import errno, socket
n = 0
for f, t in ((socket.AF_INET, socket.SOCK_STREAM),
             (socket.AF_INET6, socket.SOCK_STREAM),
             (socket.AF_INET, socket.SOCK_DGRAM)):
    try:
        socket.socket(f, t)
    except OSError as e:
        n += e.errno == errno.ELIBACC
print(n)' >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
	[[ $rc == 0 && $(cat "$TEST_TMP/out") == 3 ]] || { echo "rc $rc"
	    cat "$TEST_TMP/out" "$TEST_TMP/err"; return 1; }
	cat "$TEST_TMP/err" "$log"
	[[ $(cat "$TEST_TMP/err") == 'wsp_fault: bad parameters "fail=conect:WSAECONNREFUSED": unknown operation "conect" (did you mean connect?)' ]]
	[[ $(wc -l <"$log") == 1 ]]
	[[ $(sed 's/^wspshim\[[0-9]*\]: //' "$log") == "layer $fault did not start (WSASYSNOTREADY: Network subsystem is not ready): every socket it covers fails with WSAEPROVIDERFAILEDINIT (errno ELIBACC, \"Can not access a needed shared library\")" ]]
	if grep -q 'adopt\|catalog entry\|10091' "$log"; then
		echo "internal words in the log"; return 1
	fi
}

check "run -l with a misspelt fault operation" misspelt_operation
check "run -l with a misspelt key, for each layer" misspelt_key
check "WSPSHIM_LAYERS and layer paths are checked too" layers_from_env
check "run -l with no such layer" no_such_layer
check "trace -e with a misspelt call" trace_call_name
check "trace -o into a missing directory" trace_output
check "install --params with a misspelt operation" install_bad_params
check "install of a file that is not a layer" install_not_a_layer
check "run and trace: a static program, and policy refused" static_program
if ((EUID == 0)); then
	check "run: set-group-ID and capability programs, policy refused" \
	    set_id_program
else
	skip "run: set-group-ID and capability programs, policy refused" \
	    "needs root (chgrp, setcap)"
fi
check "a layer that does not start: one line per cause, by name" \
    layer_fails_inside
check "tracecmp -- nosuchprog: not found, exit 127" tracecmp_not_found
check "tracecmp on a static program says why nothing matched" \
    tracecmp_static
done_testing
