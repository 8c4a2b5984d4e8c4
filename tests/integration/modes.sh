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
#	check_modes [-s N] NAME CMD...	one check per mode: native must exit
#					N (default 0); every other mode must
#					match its stdout and exit status
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

WSPSHIM_TEST_MODES=${WSPSHIM_TEST_MODES:-${_mode_on[*]}}

# The env(1) arguments that give MODE's environment, one a line.
_mode_env_args() {
	local mode=$1 v w
	if [[ -z ${_mode_env[$mode]+set} ]]; then
		echo "modes.sh: unknown mode '$mode'" >&2
		return 1
	fi
	echo -u
	echo LD_PRELOAD
	while IFS= read -r v; do
		case $v in
		WSPSHIM_BUILD | WSPSHIM_LIB | WSPSHIM_ROOT | WSPSHIM_TEST_MODES) ;;
		*) echo -u; echo "$v" ;;
		esac
	done < <(compgen -e WSPSHIM_)
	echo "WSPSHIM_CATALOG=$TEST_TMP/no-such-catalog"
	for w in ${_mode_env[$mode]}; do
		if [[ $w == preload ]]; then
			echo "LD_PRELOAD=$WSPSHIM_LIB"
		else
			echo "$w"
		fi
	done
}

# Run the program CMD... in MODE (the environment changes for CMD only).
mode_run() {
	local mode=$1 args
	shift
	args=$(_mode_env_args "$mode") || return 2
	local -a a
	mapfile -t a <<<"$args"
	env "${a[@]}" "$@"
}

# Run CMD... in MODE under timeout; stdout to $2.out, stderr to $2.err,
# the exit status to $2.rc.  Returns 0.
_mode_capture() {
	local mode=$1 base=$2 rc=0
	shift 2
	mode_run "$mode" timeout -k 5 "$PROBE_TIMEOUT" "$@" \
	    >"$base.out" 2>"$base.err" </dev/null || rc=$?
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

# The native run of a check: it must exit WANT.
_mode_native() {
	local want=$1 ref=$2
	shift 2
	_mode_capture native "$ref" "$@"
	if [[ $(cat "$ref.rc") != "$want" ]]; then
		echo "the native run (no preload) must exit $want:"
		_mode_show "$ref"
		return 1
	fi
	cat "$ref.out"
}

# A preloaded run: same stdout and exit status as the native run $2.
_mode_compare() {
	local mode=$1 ref=$2 run
	shift 2
	run=$ref.$mode
	if [[ ! -f $ref.rc ]]; then
		echo "no native run to compare with"
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

# check_modes [-s N] NAME CMD...: "NAME [native]" and "NAME [MODE]" for
# every mode in WSPSHIM_TEST_MODES.
check_modes() {
	local want=0 name ref mode
	if [[ $1 == -s ]]; then
		want=$2
		shift 2
	fi
	name=$1
	shift
	_mode_seq=$((_mode_seq + 1))
	ref=$TEST_TMP/run.$_mode_seq
	check "$name [native]" _mode_native "$want" "$ref" "$@"
	for mode in $WSPSHIM_TEST_MODES; do
		check "$name [$mode]" _mode_compare "$mode" "$ref" "$@"
	done
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
	local i args
	local -a a
	ECHO_DIR=$TEST_TMP/echo
	mkdir -p "$ECHO_DIR"
	# env execs echod: BG_PID is echod's own pid, which cleanup stops.
	args=$(_mode_env_args native)
	mapfile -t a <<<"$args"
	bg env "${a[@]}" "$PROBES/echod" "$ECHO_DIR" 240
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
