# shellcheck shell=bash
# shellcheck disable=SC2034 # set here, used by the sourcing script
# fuzz.sh - the libFuzzer targets (tests/fuzz/), shared by scripts/fuzz and
# scripts/test.  Source it after common.sh.
#
#   FUZZ_TARGETS	the targets, by name (tests/fuzz/fuzz_NAME)
#   FUZZ_RUNS[NAME]	scripts/test's fixed number of runs for NAME
#   fuzz_setup_args	meson's arguments for the fuzz build directory
#   fuzz_cmd NAME DIR WORK	the command that fuzzes NAME (built in DIR)
#			with WORK as its scratch corpus: FUZZ_CMD
#
# The packages they need (clang, libFuzzer's runtime) are in
# FUZZ_PACKAGES.

FUZZ_PACKAGES=(clang libclang-rt-14-dev)
FUZZ_TARGETS=(catfile fault policy stats trace addrstr tdecode wsasocket
    sockopt)

# About four seconds each on an idle core (under ASan), under a minute
# in all; scripts/test also bounds each with -max_total_time.
declare -A FUZZ_RUNS=(
	[catfile]=300000 [fault]=250000 [policy]=200000 [stats]=250000
	[trace]=80000 [addrstr]=250000 [tdecode]=200000 [wsasocket]=400000
	[sockopt]=200000
)

# clang, everything instrumented for coverage, ASan and UBSan.
fuzz_setup_args=(-Dfuzz=true -Dtests=false -Db_lundef=false
    "-Db_sanitize=address,undefined" -Dc_args=-fsanitize=fuzzer-no-link)

# Set FUZZ_CMD to fuzz NAME: the program in DIR, its seed corpus (every
# file of it run first: the regression inputs too), new inputs to WORK,
# crashes saved as WORK/crash-*.  Options after it are added by the
# caller (-runs=N -seed=1, or -max_total_time=S).
fuzz_cmd() {
	local name=$1 dir=$2 work=$3
	FUZZ_CMD=("$dir/tests/fuzz/fuzz_$name" -max_len=4096 -timeout=10
	    -rss_limit_mb=2048 -print_final_stats=1
	    "-artifact_prefix=$work/" "$work/corpus"
	    "$WSP_ROOT/tests/fuzz/corpus/$name")
}
