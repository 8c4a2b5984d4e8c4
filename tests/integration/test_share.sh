#!/usr/bin/env bash
# Sockets shared with another process: probe_share (WSADuplicateSocketW to
# a forked child, an exec'd child and an unrelated process, a connected,
# a listening and a UDP socket, and every refusal: a token used twice, by a
# third process or the target's child, altered, expired; a pid that
# exited; another user's process) checks each rule itself and prints the
# same through three null layers, trace, and the library managing every
# socket through the base alone; trace and stats show both sides.
# shellcheck disable=SC2317 # functions run through check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_lib
export WSPSHIM_CATALOG=$TEST_TMP/no-catalog
unset WSPSHIM_LAYERS WSPSHIM_LAYER_PATH WSPSHIM_FALLBACK WSPSHIM_MANAGE
unset WSPSHIM_SHARE_TTL
linked_probe probe_share
probe=$PROBE

check "a forked child takes a connected socket its parent closed" \
    grep -q "^forked child, connected TCP: one stream, options shared$" \
    "$TEST_TMP/ref"
check "an exec'd child accepts on a listening socket" \
    grep -q "^exec'd child, listening TCP: accepted and echoed$" \
    "$TEST_TMP/ref"
check "unrelated processes share a bound UDP socket" \
    grep -q "^unrelated processes, bound UDP: the datagram arrived$" \
    "$TEST_TMP/ref"
check "no holder outlives its token" \
    grep -q "^spent, expired or orphaned tokens: holder gone$" \
    "$TEST_TMP/ref"
refusals() {
	local what
	for what in "the same token again" "a third process" \
	    "one byte of the token altered" "the target's forked child" \
	    "taken after its time" "a forged token"; do
		grep -qxF "$what: refused (WSAEINVAL)" "$TEST_TMP/ref" ||
		    { echo "missing: $what"; return 1; }
	done
	grep -qx "a pid that exited: WSAEINVAL" "$TEST_TMP/ref"
}
check "every refusal is WSAEINVAL" refusals
if [[ $(id -u) == 0 ]]; then
	check "another user's process: refused both ways" \
	    grep -q "^another user: refused both ways$" "$TEST_TMP/ref"
fi
check "every rule held" grep -q "^done$" "$TEST_TMP/ref"
check_same_in_chains

trace_lines() {
	WSPSHIM_LAYERS=trace timeout 90 "$probe" >/dev/null 2>"$TEST_TMP/tr"
	local fd tok
	read -r fd tok < <(sed -nE 's/^WSADuplicateSocketW\(([0-9]+), [0-9]+, \{dwCatalogEntryId=[0-9]+, dwProviderReserved=(0xa[0-7][0-9a-f]{6})\}\) += 0$/\1 \2/p' \
	    "$TEST_TMP/tr" | head -1)
	[[ -n $tok ]] || { echo "no WSADuplicateSocketW line"; return 1; }
	# The target's line names the same token, and the source's fd that
	# the source's trace attached to it.
	grep -Eq "^WSASocketW\(AF_INET, SOCK_STREAM, IPPROTO_TCP, \{dwProviderReserved=$tok\} /\* from pid [0-9]+ fd $fd \*/\) += [0-9]+$" "$TEST_TMP/tr"
	grep -Eq '^WSADuplicateSocketW\([0-9]+, 0, 0x[0-9a-f]+\) += -1 EINVAL' "$TEST_TMP/tr"
}
check "trace shows WSADuplicateSocketW and the target's WSASocketW" \
    trace_lines

stats_sides() {
	rm -f "$TEST_TMP"/st.*
	WSPSHIM_LAYERS="stats:out=$TEST_TMP/st.%p" timeout 90 "$probe" \
	    >/dev/null
	# The parent made six tokens; the exec'd child (a fresh process,
	# no counts of its parent's) took one.
	grep -l '"sockets_shared_out": 6,' "$TEST_TMP"/st.* >/dev/null &&
	    grep -l '"sockets_shared_out": 0,' "$TEST_TMP"/st.* |
	    xargs grep -l '"sockets_shared_in": 1,' >/dev/null
}
check "stats counts both sides" stats_sides
done_testing
