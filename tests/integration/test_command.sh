#!/usr/bin/env bash
# scripts/wspshim, the project's command: help and errors, "run" (the
# preload, the exit status, the README's curl example) and "demo".  The
# catalog commands have their own test (test_catalog_cli.sh).
# shellcheck disable=SC2317 # functions run through check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

wspshim=$WSPSHIM_ROOT/scripts/wspshim
export WSPSHIM_BUILD_DIR=$WSPSHIM_BUILD
need_lib

help_on_stdout() {
	"$wspshim" --help >"$TEST_TMP/out"
	cat "$TEST_TMP/out"
	grep -q '^usage: wspshim' "$TEST_TMP/out"
	grep -q 'run \[--\] PROGRAM' "$TEST_TMP/out"
}

# An unknown command: status 2, usage on stderr, nothing on stdout.
unknown_command() {
	local rc=0
	"$wspshim" no-such-command >"$TEST_TMP/out" 2>"$TEST_TMP/err" ||
	    rc=$?
	[[ $rc == 2 ]] || { echo "exit status $rc, not 2"; return 1; }
	[[ ! -s $TEST_TMP/out ]] || { echo "stdout:"; cat "$TEST_TMP/out"
	    return 1; }
	grep -q '^usage: wspshim' "$TEST_TMP/err"
}

run_help() {
	"$wspshim" run --help | grep '^usage: wspshim run' >/dev/null
}

# LD_PRELOAD names the library first and keeps what was there.
run_sets_preload() {
	local got
	# shellcheck disable=SC2016 # expanded by sh
	got=$(LD_PRELOAD='' "$wspshim" run -- sh -c 'printf %s "$LD_PRELOAD"')
	[[ $got == "$WSPSHIM_LIB" ]] || { echo "got '$got'"; return 1; }
	# shellcheck disable=SC2016
	got=$(LD_PRELOAD=libm.so.6 "$wspshim" run sh -c \
	    'printf %s "$LD_PRELOAD"')
	[[ $got == "$WSPSHIM_LIB:libm.so.6" ]] || { echo "got '$got'"
	    return 1; }
}

run_keeps_status() {
	local rc=0
	"$wspshim" run -- sh -c 'exit 7' || rc=$?
	[[ $rc == 7 ]] || { echo "exit status $rc, not 7"; return 1; }
}

# The README's example: curl through the shim gets a page from a local
# HTTP server.
readme_curl() {
	local port
	port=$(free_port 127.0.0.1)
	mkdir -p "$TEST_TMP/www"
	echo "hello from wspshim" >"$TEST_TMP/www/index.html"
	bg python3 -m http.server --bind 127.0.0.1 --directory \
	    "$TEST_TMP/www" "$port"
	wait_for_port "$port"
	timeout 20 "$wspshim" run -- curl -sSf --max-time 10 \
	    "http://127.0.0.1:$port/" >"$TEST_TMP/page"
	grep -q "hello from wspshim" "$TEST_TMP/page"
}

# The README's fault and stats example, as printed there (the port and
# the report's directory changed): curl's connect is refused by fault, and
# stats, above it, counts the refusal.
readme_fault_stats() {
	local port line rc=0 words=() i
	port=$(free_port 127.0.0.1)
	mkdir -p "$TEST_TMP/www" "$TEST_TMP/st"
	bg python3 -m http.server --bind 127.0.0.1 --directory \
	    "$TEST_TMP/www" "$port"
	wait_for_port "$port"
	line=$(grep -m1 "^scripts/wspshim run -l .*stats" \
	    "$WSPSHIM_ROOT/README.md")
	line=${line//127.0.0.1:8000/127.0.0.1:$port}
	line=${line//\/tmp\/stats/$TEST_TMP\/st\/stats}
	eval "words=($line)"
	[[ ${words[0]} == scripts/wspshim ]]
	words[0]=$wspshim
	for i in "${!words[@]}"; do
		[[ ${words[i]} == curl ]] && words[i]="timeout 20 curl" && break
	done
	# shellcheck disable=SC2068 # "timeout 20 curl" splits on purpose
	${words[@]} >/dev/null || rc=$?
	[[ $rc == 7 ]] || { echo "curl exited $rc, not 7 (refused)"
	    return 1; }
	ls "$TEST_TMP"/st/stats.*.json
	[[ $(find "$TEST_TMP/st" -name 'stats.*.json' | wc -l) == 1 ]]
	cat "$TEST_TMP"/st/stats.*.json
	grep -q '"errors": {"WSAECONNREFUSED": 1}' "$TEST_TMP"/st/stats.*.json
	grep -q '"connect": 1' "$TEST_TMP"/st/stats.*.json
}

# The demo (examples/catalog.c) lists the catalog in force and makes one
# socket of each base kind.
demo_lists_entries() {
	timeout 30 "$wspshim" demo >"$TEST_TMP/cat"
	cat "$TEST_TMP/cat"
	grep -q '^Winsock Catalog Provider Entry' "$TEST_TMP/cat"
	grep -q 'Base Service Provider' "$TEST_TMP/cat"
	grep -q '^One socket of each base kind' "$TEST_TMP/cat"
}

check "wspshim --help prints usage" help_on_stdout
check "wspshim with an unknown command exits 2" unknown_command
check "wspshim run --help prints usage" run_help
check "wspshim run puts libwspshim.so first in LD_PRELOAD" run_sets_preload
check "wspshim run exits with the program's status" run_keeps_status
check "wspshim run -- curl fetches a page from 127.0.0.1" readme_curl
check "the README's fault and stats example counts the refusal" \
    readme_fault_stats
check "wspshim demo lists the catalog and exits 0" demo_lists_entries
done_testing
