#!/usr/bin/env bash
# Network events through the chain: probe_netev (WSAEventSelect,
# WSAEnumNetworkEvents and WSAPoll with Winsock's re-enabling rules and
# error codes, over loopback TCP and UDP, and across fork) checks each rule
# itself and prints the same through three null layers, trace, and the
# preloaded library managing every socket as through the base alone; trace
# shows both calls with their arguments and records.
# shellcheck disable=SC2317 # functions run through check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_lib
export WSPSHIM_CATALOG=$TEST_TMP/no-catalog
unset WSPSHIM_LAYERS WSPSHIM_LAYER_PATH WSPSHIM_FALLBACK WSPSHIM_MANAGE
linked_probe probe_netev
probe=$PROBE

check "FD_READ again after a partial read, not before a read" \
    grep -qz "1 byte read, 99 remain: FD_READ.more data, no read since: nothing" \
    <(tr '\n' '.' <"$TEST_TMP/ref")
check "FD_ACCEPT once until an accept" \
    grep -q "^third connection, no accept since: nothing$" "$TEST_TMP/ref"
check "FD_CONNECT's code: 0, then WSAECONNREFUSED" \
    bash -c "grep -q '^client: FD_WRITE FD_CONNECT(0)$' '$TEST_TMP/ref' &&
        grep -q '^refused: FD_CONNECT(10061)$' '$TEST_TMP/ref'"
check "FD_CLOSE's code: 0 in order, WSAECONNRESET for a reset" \
    bash -c "grep -q '^peer closed: FD_CLOSE(0)$' '$TEST_TMP/ref' &&
        grep -q '^peer reset: FD_CLOSE(10054)$' '$TEST_TMP/ref'"
check "every rule held" grep -q "^done$" "$TEST_TMP/ref"
check_same_in_chains

trace_lines() {
	WSPSHIM_LAYERS=trace timeout 90 "$probe" >/dev/null 2>"$TEST_TMP/tr"
	grep -Eq '^WSAEventSelect\([0-9]+, 0x[0-9a-f]+, FD_READ\|FD_WRITE\|FD_OOB\|FD_CONNECT\|FD_CLOSE\) += 0$' "$TEST_TMP/tr"
	grep -Eq '^WSAEnumNetworkEvents\([0-9]+, 0x[0-9a-f]+, \{lNetworkEvents=FD_CLOSE, iErrorCode=\{\[FD_CLOSE_BIT\]=10054\}\}\) += 0$' "$TEST_TMP/tr"
	grep -Eq '^WSAEventSelect\([0-9]+, 0x[0-9a-f]+, 0x400 /\* FD_\?\?\? \*/\) += -1 EINVAL' "$TEST_TMP/tr"
}
check "trace shows WSAEventSelect and WSAEnumNetworkEvents" trace_lines
done_testing
