# shellcheck shell=bash
# lib.sh - helpers for the integration tests (tests/integration/test_*.sh).
#
# A test script sources this file, runs checks, and ends with done_testing:
#
#	. "$(dirname "$0")/lib.sh"
#	check "curl gets the page" preload curl -sf "http://127.0.0.1:$port/"
#	done_testing
#
# Each check prints a TAP line, "ok N - NAME" or "not ok N - NAME" (then
# the command's output as "# " lines); done_testing prints the plan and
# exits non-zero when a check failed.  scripts/test counts these lines.
#
# Variables (the environment may set the first two; scripts/test does):
#   WSPSHIM_BUILD	the meson build directory (default: <repo>/build)
#   WSPSHIM_LIB		the built libwspshim.so to preload
#   WSPSHIM_ROOT	the repository
#   TEST_TMP		a private temporary directory, removed on exit
#   CHECK_TIMEOUT	seconds a check's program may run (default 60)

set -euo pipefail

WSPSHIM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
WSPSHIM_BUILD=${WSPSHIM_BUILD:-$WSPSHIM_ROOT/build}
WSPSHIM_LIB=${WSPSHIM_LIB:-$WSPSHIM_BUILD/shim/libwspshim.so}
CHECK_TIMEOUT=${CHECK_TIMEOUT:-60}
export WSPSHIM_ROOT WSPSHIM_BUILD WSPSHIM_LIB

_tap_n=0
_tap_failed=0
_bg_pids=()

TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/wspshim-test.XXXXXX")

# Stop what bg started in this shell, by pid.
_bg_stop() {
	local pid
	for pid in "${_bg_pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${_bg_pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	_bg_pids=()
}

_lib_cleanup() {
	_bg_stop
	rm -rf "$TEST_TMP"
}
trap _lib_cleanup EXIT
trap 'exit 130' INT TERM

# Print "ok N - NAME" when CMD... exits 0, else "not ok N - NAME" and the
# output of CMD.  A CMD that is a program (not a shell function) is run
# under timeout CHECK_TIMEOUT; a function runs in a subshell with set -e
# and must bound its own waits.  Returns 0 either way (the failure is
# counted), so the script goes on to its next check.
check() {
	local name=$1 out rc=0
	shift
	out=$TEST_TMP/check.out
	_tap_n=$((_tap_n + 1))
	# In the background, so that set -e holds inside a function (bash
	# ignores it in the left side of ||).  What the function starts with
	# bg stops when it returns.
	if [[ $(type -t "$1") == function ]]; then
		# shellcheck disable=SC2030 # the subshell's own list
		( _bg_pids=(); trap _bg_stop EXIT; "$@" ) >"$out" 2>&1 \
		    </dev/null &
	else
		timeout "$CHECK_TIMEOUT" "$@" >"$out" 2>&1 </dev/null &
	fi
	wait "$!" || rc=$?
	if ((rc == 0)); then
		echo "ok $_tap_n - $name"
	else
		_tap_failed=$((_tap_failed + 1))
		echo "not ok $_tap_n - $name"
		[[ $rc == 124 ]] && echo "# timed out after ${CHECK_TIMEOUT}s"
		echo "# exit status $rc: $*"
		sed -e 's/^/#   /' -e 200q "$out"
	fi
	return 0
}

# Record a check that is not run here, as passed with a SKIP reason.
skip() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $1 # SKIP ${2:-}"
}

# Print the plan and exit: 1 if a check failed, else 0.
done_testing() {
	echo "1..$_tap_n"
	if ((_tap_failed > 0)); then
		echo "# $_tap_failed of $_tap_n failed"
		exit 1
	fi
	exit 0
}

# Give up on the whole script: print NAME as a failed check and exit 1.
bail() {
	_tap_n=$((_tap_n + 1))
	echo "not ok $_tap_n - $*"
	echo "1..$_tap_n"
	exit 1
}

# Run CMD... with libwspshim.so first in LD_PRELOAD, as "wspshim run" does.
preload() {
	LD_PRELOAD=$WSPSHIM_LIB${LD_PRELOAD:+:$LD_PRELOAD} "$@"
}

# Start the program CMD... in the background (output in TEST_TMP/bg.*.log);
# it is stopped by its pid when the script (or the checked function that
# started it) ends.  Sets BG_PID.
bg() {
	local log
	log=$(mktemp "$TEST_TMP/bg.XXXXXX.log")
	"$@" >"$log" 2>&1 </dev/null &
	BG_PID=$!
	# shellcheck disable=SC2031 # this shell's list, see check
	_bg_pids+=("$BG_PID")
}

# Wait until something accepts TCP connections on HOST:PORT (HOST 127.0.0.1
# by default, or ::1), for at most SECONDS (default 10).  0 or 1.
wait_for_port() {
	local port=$1 host=${2:-127.0.0.1} secs=${3:-10} i
	for ((i = 0; i < secs * 10; i++)); do
		# shellcheck disable=SC2016 # expanded by the inner bash
		if timeout 1 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$host" \
		    "$port" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	echo "nothing listens on $host port $port after ${secs}s" >&2
	return 1
}

# Print a TCP port on HOST (default 127.0.0.1) that was free a moment ago.
free_port() {
	python3 - "${1:-127.0.0.1}" <<'PY'
import socket, sys
host = sys.argv[1]
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
with socket.socket(fam, socket.SOCK_STREAM) as s:
    s.bind((host, 0))
    print(s.getsockname()[1])
PY
}

# Fail the script early (as one failed check) unless libwspshim.so exists.
need_lib() {
	[[ -f $WSPSHIM_LIB ]] || bail "libwspshim.so is built ($WSPSHIM_LIB)"
}

# For a probe that links the library (the application API) and prints
# the same in every chain.  linked_probe NAME: sets PROBE to the built
# probe and runs it once with no preload and no layer, its output kept as
# the reference in $TEST_TMP/ref (or bails).  same_as_ref WORDS...: the
# probe run with environment words WORDS prints the reference.  Both
# bounded by PROBE_TIMEOUT seconds (default 90).
linked_probe() {
	PROBE=$WSPSHIM_BUILD/tests/integration/$1
	[[ -x $PROBE ]] || bail "$1 is built ($PROBE)"
	timeout "${PROBE_TIMEOUT:-90}" "$PROBE" >"$TEST_TMP/ref" \
	    2>"$TEST_TMP/ref.err" ||
	    bail "$1 runs: $(tail -n 3 "$TEST_TMP/ref" "$TEST_TMP/ref.err")"
}

same_as_ref() {
	env "$@" timeout "${PROBE_TIMEOUT:-90}" "$PROBE" >"$TEST_TMP/out" \
	    2>"$TEST_TMP/err" ||
	    { tail -5 "$TEST_TMP/out" "$TEST_TMP/err"; return 1; }
	diff -u "$TEST_TMP/ref" "$TEST_TMP/out"
}

# The linked probe prints its reference preloaded and managed, through
# three null layers, through trace, and through trace over two null
# layers preloaded: four checks.
check_same_in_chains() {
	check "preloaded, managed: the same" \
	    same_as_ref LD_PRELOAD="$WSPSHIM_LIB" WSPSHIM_MANAGE=all
	check "through three null layers: the same" \
	    same_as_ref WSPSHIM_LAYERS=null,null,null
	check "through trace: the same" \
	    same_as_ref WSPSHIM_LAYERS=trace
	check "through trace and two null layers, preloaded: the same" \
	    same_as_ref LD_PRELOAD="$WSPSHIM_LIB" WSPSHIM_LAYERS=trace,null,null
}

# Install the build into DEST (a check of its own), then point pkg-config
# at it: the .pc's paths are made for the real prefix, so a sysroot maps
# them into DEST.  Sets PC_LIBDIR (where the installed libwspshim.so is)
# and PC_FLAGS (an array: pkg-config --cflags --libs wspshim); bails when
# nothing was installed.
pc_install() {
	local dest=$1 pc
	check "meson install into a DESTDIR" \
	    meson install -C "$WSPSHIM_BUILD" --destdir "$dest" --no-rebuild
	pc=$(find "$dest" -name wspshim.pc -print -quit 2>/dev/null || true)
	[[ -n $pc ]] || bail "wspshim.pc is installed"
	export PKG_CONFIG_PATH=${pc%/*}
	export PKG_CONFIG_SYSROOT_DIR=$dest
	unset PKG_CONFIG_LIBDIR
	# pkgconf puts the sysroot in front of variables too; pkg-config
	# does not.
	PC_LIBDIR=$(pkg-config --variable=libdir wspshim)
	[[ $PC_LIBDIR == "$dest"/* ]] || PC_LIBDIR=$dest$PC_LIBDIR
	# shellcheck disable=SC2034 # the calling script reads it
	read -ra PC_FLAGS <<<"$(pkg-config --cflags --libs wspshim)"
}
