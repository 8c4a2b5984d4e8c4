# shellcheck shell=bash
# modes.sh - run one program the same way in several modes and compare.
#
# Source it after lib.sh.  A mode is a set of environment variables for one
# command (see docs/testing.md):
#
#   native	no preload: the reference every other mode is compared with
#   shim	LD_PRELOAD, built-in catalog: every socket passes through
#   base	LD_PRELOAD and WSPSHIM_MANAGE=all: every socket of a catalog
#		entry goes through the chain (the base provider alone)
#
# WSPSHIM_TEST_MODES lists the preloaded modes a check runs in (default:
# every mode defined "on" below).  A new mode is one mode_define line.
#
#	mode_run MODE CMD...		run the program CMD in MODE
#	mode_env MODE			set MODE_ENV: env(1) arguments for MODE
#	mode_run_stacked MODE LIB first|last CMD...
#					the same with another preload LIB
#					before or after libwspshim.so
#	mode_bg MODE CMD...		mode_run in the background (lib.sh's
#					bg: BG_PID, stopped on exit)
#	check_modes [-s N] [-i FILE] [-o FILE] NAME CMD...
#					one check per mode: the native run
#					must exit N (default 0) and, with -o,
#					print exactly FILE; every other mode
#					must match its stdout and exit status.
#					-i: stdin from FILE (else /dev/null)
#	echo_start			start echod, export ECHO_DIR
#	need_probes			bail unless the probes are built
#
# Every mode starts from the same clean environment: LD_PRELOAD and every
# WSPSHIM_* variable but the harness's own are removed, and WSPSHIM_CATALOG
# names a file that does not exist, so the built-in catalog is used
# whatever the machine's catalog file says.

PROBES=$WSPSHIM_BUILD/tests/integration
PROBE_TIMEOUT=${PROBE_TIMEOUT:-60}

declare -A _mode_env=()
_mode_on=()

# Define mode NAME: ON is "on" when WSPSHIM_TEST_MODES includes it by
# default; then VAR=VALUE words for its environment ("preload" stands for
# LD_PRELOAD=<the library>).
mode_define() {
	local name=$1 on=$2
	shift 2
	_mode_env[$name]="$*"
	[[ $on == on ]] && _mode_on+=("$name")
	return 0
}

mode_define native off
mode_define shim on preload
mode_define base on preload WSPSHIM_MANAGE=all
# Three pass-through layers over every TCP, UDP and AF_UNIX socket.
mode_define layers3 on preload WSPSHIM_LAYERS=null,null,null

WSPSHIM_TEST_MODES=${WSPSHIM_TEST_MODES:-${_mode_on[*]}}

# The env(1) arguments that give MODE's environment, one a line.
_mode_env_args() {
	local mode=$1 v w
	if [[ -z ${_mode_env[$mode]+set} ]]; then
		echo "modes.sh: unknown mode '$mode'" >&2
		return 1
	fi
	printf '%s\n' -u LD_PRELOAD
	while IFS= read -r v; do
		case $v in
		WSPSHIM_BUILD | WSPSHIM_LIB | WSPSHIM_ROOT | WSPSHIM_TEST_MODES) ;;
		*) printf '%s\n' -u "$v" ;;
		esac
	done < <(compgen -e WSPSHIM_)
	printf '%s\n' "WSPSHIM_CATALOG=$TEST_TMP/no-such-catalog"
	for w in ${_mode_env[$mode]}; do
		if [[ $w == preload ]]; then
			printf '%s\n' "LD_PRELOAD=$WSPSHIM_LIB"
		else
			printf '%s\n' "$w"
		fi
	done
}

# Set the array MODE_ENV to the env(1) arguments that give MODE's
# environment, for "env "${MODE_ENV[@]}" CMD..." (in the background, say:
# $! is then CMD's own pid, as env execs it).
mode_env() {
	local args
	args=$(_mode_env_args "$1") || return 2
	mapfile -t MODE_ENV <<<"$args"
}

# Run the program CMD... in MODE (the environment changes for CMD only).
mode_run() {
	mode_env "$1" || return 2
	shift
	env "${MODE_ENV[@]}" "$@"
}

# Run the program CMD... in MODE with the preload LIB stacked too: after
# libwspshim.so (ORDER last) or before it (first); native: LIB alone.
# Under timeout.
mode_run_stacked() {
	local mode=$1 lib=$2 order=$3 pre
	shift 3
	mode_env "$mode" || return 2
	pre=$lib
	if [[ $mode != native && $order == last ]]; then
		pre=$WSPSHIM_LIB:$lib
	elif [[ $mode != native ]]; then
		pre=$lib:$WSPSHIM_LIB
	fi
	env "${MODE_ENV[@]}" LD_PRELOAD="$pre" \
	    timeout -k 5 "$PROBE_TIMEOUT" "$@"
}

# Run the program CMD... in MODE in the background (see lib.sh's bg):
# env execs CMD, so BG_PID is CMD's own pid.
mode_bg() {
	mode_env "$1" || return 2
	shift
	bg env "${MODE_ENV[@]}" "$@"
}

# Stdin of the runs check_modes makes (its -i option).
_mode_stdin=/dev/null

# Run CMD... in MODE under timeout; stdout to $2.out, stderr to $2.err,
# the exit status to $2.rc.  Returns 0.
_mode_capture() {
	local mode=$1 base=$2 rc=0
	shift 2
	mode_run "$mode" timeout -k 5 "$PROBE_TIMEOUT" "$@" \
	    >"$base.out" 2>"$base.err" <"$_mode_stdin" || rc=$?
	echo "$rc" >"$base.rc"
}

# Show the captured run $1 (for a failed check).
_mode_show() {
	local base=$1
	echo "exit status $(cat "$base.rc")"
	[[ $(cat "$base.rc") == 124 ]] && echo "(timed out after ${PROBE_TIMEOUT}s)"
	sed -e 's/^/stdout: /' -e 60q "$base.out"
	sed -e 's/^/stderr: /' -e 40q "$base.err"
}

# The native run of a check: it must exit WANT and, when EXPECT is not
# empty, print exactly the file EXPECT.
_mode_native() {
	local want=$1 expect=$2 ref=$3
	shift 3
	_mode_capture native "$ref" "$@"
	if [[ $(cat "$ref.rc") != "$want" ]]; then
		echo "the native run (no preload) must exit $want:"
		_mode_show "$ref"
		rm -f "$ref.rc"
		return 1
	fi
	if [[ -n $expect ]] && ! cmp "$expect" "$ref.out"; then
		echo "the native run's output is not $expect"
		rm -f "$ref.rc"
		return 1
	fi
	head -c 2000 "$ref.out"
}

# A preloaded run: same stdout and exit status as the native run $2.
_mode_compare() {
	local mode=$1 ref=$2 run
	shift 2
	run=$ref.$mode
	if [[ ! -f $ref.rc ]]; then
		echo "the native run failed: nothing to compare with"
		return 1
	fi
	_mode_capture "$mode" "$run" "$@"
	if [[ $(cat "$run.rc") == "$(cat "$ref.rc")" ]] &&
	    cmp -s "$ref.out" "$run.out"; then
		return 0
	fi
	echo "differs from the native run (exit $(cat "$ref.rc")):"
	_mode_show "$run"
	echo "diff native $mode:"
	diff "$ref.out" "$run.out" | sed -e 60q || true
	return 1
}

_mode_seq=0

# check_modes [-s N] [-i FILE] [-o FILE] NAME CMD...: "NAME [native]"
# and "NAME [MODE]" for every mode in WSPSHIM_TEST_MODES.
check_modes() {
	local want=0 expect='' name ref mode
	_mode_stdin=/dev/null
	while (($# > 2)); do
		case $1 in
		-s) want=$2 ;;
		-i) _mode_stdin=$2 ;;
		-o) expect=$2 ;;
		*) break ;;
		esac
		shift 2
	done
	name=$1
	shift
	_mode_seq=$((_mode_seq + 1))
	ref=$TEST_TMP/run.$_mode_seq
	check "$name [native]" _mode_native "$want" "$expect" "$ref" "$@"
	for mode in $WSPSHIM_TEST_MODES; do
		check "$name [$mode]" _mode_compare "$mode" "$ref" "$@"
	done
	_mode_stdin=/dev/null
}

# Bail out unless the probe programs are built.
need_probes() {
	need_lib
	[[ -x $PROBES/echod && -x $PROBES/probe_io ]] ||
	    bail "the integration probes are built ($PROBES)"
}

# Start echod in TEST_TMP/echo (without the preload) and wait, at most 10
# seconds, for its ports file; exports ECHO_DIR.  Bails on failure.
echo_start() {
	local i
	ECHO_DIR=$TEST_TMP/echo
	mkdir -p "$ECHO_DIR"
	mode_bg native "$PROBES/echod" "$ECHO_DIR" 240
	for ((i = 0; i < 100; i++)); do
		[[ -s $ECHO_DIR/ports ]] && break
		if ! kill -0 "$BG_PID" 2>/dev/null; then
			sed 's/^/# /' "$TEST_TMP"/bg.*.log
			bail "echod starts (IPv4, IPv6 and AF_UNIX echo services)"
		fi
		sleep 0.1
	done
	[[ -s $ECHO_DIR/ports ]] || bail "echod wrote its ports within 10s"
	export ECHO_DIR
}
