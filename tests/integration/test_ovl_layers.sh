#!/usr/bin/env bash
# Overlapped I/O through the chain: probe_ovl (128 receives and 128 sends
# in flight on one TCP socket, UDP with addresses, cancellation by
# closesocket) prints the same through no layer, three null layers and
# trace as through the base alone, and on the poll fallback.
# shellcheck disable=SC2317 # functions run through check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_lib
export WSPSHIM_CATALOG=$TEST_TMP/no-catalog
unset WSPSHIM_LAYERS WSPSHIM_LAYER_PATH WSPSHIM_FALLBACK WSPSHIM_MANAGE
linked_probe probe_ovl
probe=$PROBE

check "the base alone moves every byte in posting order" \
    grep -q "same bytes, order posting, bytes 524288" "$TEST_TMP/ref"
check "UDP reports the sender's address" \
    grep -q 'udp: 5 bytes "hello" from 127.0.0.1, address length 16' \
    "$TEST_TMP/ref"
check "closesocket aborts both pending requests" \
    test "$(grep -c 'status 995$' "$TEST_TMP/ref")" = 2
check "the engine is io_uring, logged once" \
    test "$(grep -c 'overlapped I/O: io_uring$' "$TEST_TMP/ref.err")" = 1
check_same_in_chains

# trace: each request as issued, and a second line when the program
# learns it ended: the 128 receives through their completion routines
# (trace's own, which then runs the probe's), the UDP receive through
# WSAGetOverlappedResult.
trace_completions() {
	local counts
	WSPSHIM_LAYERS=trace timeout 60 "$probe" >"$TEST_TMP/out" \
	    2>"$TEST_TMP/tr" || { tail -5 "$TEST_TMP/tr"; return 1; }
	diff -u "$TEST_TMP/ref" "$TEST_TMP/out"
	# Per socket: receives issued pending, and completion lines.
	counts=$(awk -F'[(,]' '/^WSARecv\(/ {
		if ($0 ~ /= -1 EINPROGRESS/) p[$2]++
		else if ($0 ~ /= [0-9]+ <completion>$/) c[$2]++
	} END { for (fd in p) print fd, p[fd], c[fd] + 0 }' "$TEST_TMP/tr" |
	    sort -k2,2n | tail -n 1)
	echo "socket, receives issued pending, completion lines: $counts"
	read -r _ pend fin <<<"$counts"
	((pend >= 100 && fin == pend))
	grep -q '^WSARecvFrom([0-9]*, "hello", 64, 0) *= 5 <completion>$' \
	    "$TEST_TMP/tr"
}
check "trace: a line per request issued and one per completion" \
    trace_completions

# stats: a request left pending is no error, and its end is counted with
# its bytes (the probe's 512 KiB each way over TCP, and the echo thread's
# plain copy of them, and the 5-byte datagram).
stats_completions() {
	WSPSHIM_LAYERS="stats:out=$TEST_TMP/st.json" timeout 60 "$probe" \
	    >"$TEST_TMP/out" 2>"$TEST_TMP/err" || { tail -5 "$TEST_TMP/err"; return 1; }
	diff -u "$TEST_TMP/ref" "$TEST_TMP/out"
	python3 - "$TEST_TMP/st.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["totals"]
print("completions:", t.get("completions"), "errors:", t.get("errors"),
      "bytes in/out:", t["bytes_in"], t["bytes_out"])
assert t["completions"].get("recv") == 128, t["completions"]
assert t["completions"].get("recvfrom") == 1, t["completions"]
assert "WSA_IO_PENDING" not in t["errors"], t["errors"]
assert t["bytes_in"] == 2 * 524288 + 5, t["bytes_in"]
assert t["bytes_out"] == 2 * 524288 + 5, t["bytes_out"]
PY
}
check "stats: pending requests are no errors; their ends count, with bytes" \
    stats_completions
done_testing
