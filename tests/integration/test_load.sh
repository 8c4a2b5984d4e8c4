#!/usr/bin/env bash
# Load: loadd, an epoll server with every socket non-blocking (serving a
# file with non-blocking sendfile, or read+send), under three null layers,
# under stats+trace and with the base alone, against loadgen (8 threads,
# keep-alive, a new connection every 8 requests, 4000 requests checked
# byte for byte) on loopback.  Each run must print what the plain run
# prints: the same counts and digest of every body, zero errors, the
# server's descriptors the same after both halves and its resident set
# grown by at most 128 KiB between them (loadgen.c says why that bound).
# shellcheck disable=SC2317 # functions run through check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=modes.sh
. "$(dirname "${BASH_SOURCE[0]}")/modes.sh"

need_probes
[[ -x $PROBES/loadd && -x $PROBES/loadgen ]] ||
    bail "loadd and loadgen are built ($PROBES)"
for l in null stats trace; do
	[[ -f $WSPSHIM_BUILD/layers/$l/libwsp_$l.so ]] ||
	    bail "the $l layer is built"
done
REQUESTS=${LOAD_REQUESTS:-4000}
CONNS=8
mode_define null3 off preload WSPSHIM_LAYERS=null,null,null
mode_define stats_trace off preload \
    "WSPSHIM_LAYERS=stats:out=$TEST_TMP/stats.%p.json,trace:out=$TEST_TMP/trace.%p.txt"

# The file served: 256 KiB that are not all alike.
head -c 262144 /dev/urandom >"$TEST_TMP/file"

# One run: loadd in MODE serving with HOW (sendfile or write), loadgen
# against it; loadgen's report in TEST_TMP/load.MODE.HOW.  The server
# must stop cleanly on SIGTERM.
load_run() {
	local mode=$1 how=$2 dir=$TEST_TMP/srv.$1.$2 pid i rc=0 st=0
	local out=$TEST_TMP/load.$1.$2
	rm -rf "$dir"
	mkdir -p "$dir"
	mode_env "$mode"
	env "${MODE_ENV[@]}" "$PROBES/loadd" "$dir" "$TEST_TMP/file" \
	    "$how" 2>"$dir/err" &
	pid=$!
	for ((i = 0; i < 100; i++)); do
		[[ -s $dir/port ]] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if [[ ! -s $dir/port ]]; then
		echo "loadd did not start:"
		cat "$dir/err"
		kill "$pid" 2>/dev/null || true
		return 1
	fi
	timeout 180 "$PROBES/loadgen" "$(cat "$dir/port")" "$TEST_TMP/file" \
	    "$REQUESTS" "$CONNS" >"$out" || rc=$?
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" || st=$?
	cat "$out"
	sed 's/^/server: /' "$dir/err"
	((st == 0)) || { echo "loadd exited with status $st"; return 1; }
	((rc == 0)) || { echo "loadgen exited with status $rc"; return 1; }
}

# The plain run, then MODE: the same report.
load_same() {
	local mode=$1 how=$2 ref=$TEST_TMP/load.native.$2
	[[ -s $ref ]] || { echo "the plain run failed"; return 1; }
	load_run "$mode" "$how"
	if ! cmp -s "$ref" "$TEST_TMP/load.$mode.$how"; then
		echo "differs from the plain run:"
		diff "$ref" "$TEST_TMP/load.$mode.$how" || true
		return 1
	fi
	if [[ $mode == stats_trace ]]; then
		# Both layers did their work.
		compgen -G "$TEST_TMP/stats.*.json" >/dev/null ||
		    { echo "stats wrote no file"; return 1; }
		grep -q '^sendfile(\|^accept4(' "$TEST_TMP"/trace.*.txt ||
		    { echo "the trace has no accept4 or sendfile line"
		    return 1; }
	fi
}

for how in sendfile write; do
	check "plain run: loadd ($how), $REQUESTS requests: 0 errors, flat" \
	    load_run native "$how"
done
check "three null layers: loadd (sendfile), the plain run's bytes" \
    load_same null3 sendfile
check "three null layers: loadd (read+send), the plain run's bytes" \
    load_same null3 write
check "stats+trace: loadd (sendfile), the plain run's bytes" \
    load_same stats_trace sendfile
check "base provider alone: loadd (sendfile), the plain run's bytes" \
    load_same base sendfile
done_testing
