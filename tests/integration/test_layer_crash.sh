#!/usr/bin/env bash
# A layer that crashes (or hangs) in its WSPStartup takes down the program
# that starts it: that is in-process and cannot be helped.  So "wspshim
# install" and "wspshim run" start each layer once in a child process
# first, and refuse one that crashes or hangs there with one line and
# exit 2, before it is stored in the catalog or handed to the program.
# A layer whose start merely fails is still installed, with a warning.
# shellcheck disable=SC2317 # functions run through check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_lib
tool=$WSPSHIM_BUILD/tools/wspshim
T=$WSPSHIM_BUILD/tests/layers
[[ -x $tool ]] || bail "the wspshim program is built ($tool)"
for f in broken_crash broken_hang broken_startfail; do
	[[ -f $T/libwsp_$f.so ]] || bail "the $f test layer is built"
done
null=$WSPSHIM_BUILD/layers/null/libwsp_null.so
[[ -f $null ]] || bail "the null layer is built"
unset WSPSHIM_FALLBACK WSPSHIM_LAYERS WSPSHIM_LOG WSPSHIM_MANAGE LD_PRELOAD
export WSPSHIM_CATALOG=$TEST_TMP/cat/catalog
export WSPSHIM_LAYER_PATH=$T

# Run the command; its output goes to TEST_TMP/out and TEST_TMP/err, its
# exit status to rc.
ws() {
	rc=0
	timeout 60 "$tool" "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
}

# Fail unless stderr is exactly one line matching the extended regexp $1
# and stdout is empty.
one_line() {
	local n
	n=$(wc -l <"$TEST_TMP/err")
	if ((n != 1)) || ! grep -Eq -- "$1" "$TEST_TMP/err" ||
	    [[ -s $TEST_TMP/out ]]; then
		echo "want one stderr line /$1/ and no stdout; got:"
		cat "$TEST_TMP/out" "$TEST_TMP/err"
		return 1
	fi
}

# Fail unless the command exited $1.
status_is() {
	((rc == $1)) || { echo "exit status $rc, not $1"
	    cat "$TEST_TMP/out" "$TEST_TMP/err"; return 1; }
}

# The catalog's brief listing (the built-in one while no file exists).
listing() {
	"$tool" catalog --brief
}

# install LAYER refused: exit 2, one line matching PATTERN, catalog file
# untouched (here: never created).
install_refused() {
	local layer=$1 pattern=$2 before
	rm -rf "$TEST_TMP/cat"
	before=$(listing)
	ws install --over tcp "$layer"
	status_is 2
	one_line "$pattern"
	[[ ! -e $WSPSHIM_CATALOG ]] ||
	    { echo "the catalog file was written"; return 1; }
	[[ $(listing) == "$before" ]]
}

# install of a layer that starts: stored, no stderr.
install_null() {
	rm -rf "$TEST_TMP/cat"
	ws install --over tcp "$null"
	status_is 0
	[[ ! -s $TEST_TMP/err ]] || { cat "$TEST_TMP/err"; return 1; }
	grep -q '^installed null as entry ' "$TEST_TMP/out"
	listing | grep 'null over \[wspshim \[TCP/IP\]\]' >/dev/null
}

# A layer whose start fails is installed (its sockets fail with
# WSAEPROVIDERFAILEDINIT, the program does not), with one warning line.
install_startfail() {
	rm -rf "$TEST_TMP/cat"
	ws install --over tcp "$T/libwsp_broken_startfail.so"
	status_is 0
	grep -q '^installed broken_startfail as entry ' "$TEST_TMP/out"
	if [[ $(wc -l <"$TEST_TMP/err") != 1 ]] || ! grep -Eq \
	    'warning: layer .*broken_startfail.so: it failed to start' \
	    "$TEST_TMP/err"; then
		cat "$TEST_TMP/err"
		return 1
	fi
	[[ -e $WSPSHIM_CATALOG ]]
}

# run -l LAYER... refused: exit 2, one line matching PATTERN, the program
# never ran.
run_refused() {
	local pattern=$1 l args=()
	shift
	for l; do
		args+=(-l "$l")
	done
	rm -f "$TEST_TMP/ran"
	ws run "${args[@]}" -- touch "$TEST_TMP/ran"
	status_is 2
	one_line "$pattern"
	[[ ! -e $TEST_TMP/ran ]] || { echo "the program ran"; return 1; }
}

# run -l null (and params) runs the program with the layer.
run_null() {
	rm -rf "$TEST_TMP/cat" "$TEST_TMP/ran"
	# shellcheck disable=SC2016 # expanded by the inner sh
	ws run -l null -l "$null" -- sh -c \
	    'echo "$WSPSHIM_LAYERS" >"$1"' sh "$TEST_TMP/ran"
	status_is 0
	[[ ! -s $TEST_TMP/err ]] || { cat "$TEST_TMP/err"; return 1; }
	[[ $(cat "$TEST_TMP/ran") == "null,$null" ]]
}

# What the refusal is about: preloaded, the crashing layer kills the
# program at its first socket (SIGSEGV), as documented.
in_process_crash() {
	rc=0
	WSPSHIM_LAYERS=broken_crash preload timeout 30 python3 -c \
	    'import socket; socket.socket()' >/dev/null 2>&1 || rc=$?
	((rc == 139)) || { echo "exit status $rc, not 139 (SIGSEGV)"
	    return 1; }
}

crashed='^wspshim: install: refused: layer .*libwsp_broken_crash.so crashed'`
    `' in its start \(Segmentation fault; tried in a child process\)$'
check "install: a layer that crashes in WSPStartup is refused, nothing stored" \
    install_refused "$T/libwsp_broken_crash.so" "$crashed"
check "install: a crashing layer found by name is refused" \
    install_refused broken_crash \
    '^wspshim: install: refused: layer broken_crash crashed in its start'
check "install: a layer that hangs in WSPStartup is refused after 10 s" \
    install_refused "$T/libwsp_broken_hang.so" \
    'refused: layer .*libwsp_broken_hang.so did not finish starting in 10 s'
check "install: a layer that starts is stored, silently" install_null
check "install: a layer whose start fails is stored, with a warning" \
    install_startfail
check "run: -l with a layer that crashes in WSPStartup is refused" \
    run_refused \
    '^wspshim: run: refused: layer broken_crash crashed in its start' \
    broken_crash
check "run: -l with a crashing layer, by path and with params" \
    run_refused 'refused: layer .*libwsp_broken_crash.so crashed in its start' \
    "$T/libwsp_broken_crash.so:a=b,c"
check "run: a crashing layer below a good one is refused" \
    run_refused 'refused: layer broken_crash crashed' null broken_crash
check "run: layers that start are passed to the program" run_null
check "in process, a layer that crashes in WSPStartup kills the program" \
    in_process_crash
done_testing
