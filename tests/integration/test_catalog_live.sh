#!/usr/bin/env bash
# The catalog a process sees is live: an installer following the SDK's
# steps in one process (install the layered entry, enumerate to learn its
# id, install a chain, enumerate, reorder) sees each step at once, and
# its next socket goes through the new chain while a socket made before
# keeps working; a catalog changed by another process is seen by new
# sockets after the next WSAStartup, and an unchanged one is not reread.
# shellcheck disable=SC2317 # functions run through check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_lib
T=$WSPSHIM_BUILD/tests/layers
INST=$T/installer
LSP=$T/libwsp_lsp.so
CMD=$WSPSHIM_BUILD/tools/wspshim
# The sockets' SO_PROTOCOL_INFOW tells which entry they are on: the test
# layer answers it with its chain's struct, as the SDK sample does.
LSP_GUID='{5f1e3a8c-7b2d-4c61-9e0a-3d4b5c6d7e8f}'
for f in "$INST" "$LSP" "$CMD"; do
	[[ -e $f ]] || bail "$f is built"
done
unset WSPSHIM_LAYERS WSPSHIM_LAYER_PATH WSPSHIM_FALLBACK WSPSHIM_LOG \
    WSPSHIM_MANAGE WSP_LSP_LOG

# The SDK's steps in one process, then a socket through the chain.
sdk_steps() {
	export WSPSHIM_CATALOG=$TEST_TMP/sdk.catalog WSP_LSP_LOG=$TEST_TMP/sdk.log
	local out
	out=$(preload timeout 20 "$INST" sdk "$LSP")
	echo "$out"
	[[ $out == "layer=1010 chain=1011" ]]
	# The test layer started for the chain and made the socket.
	grep -q '^startup self=1010 pos=0 entry=1011 .* rc=0$' "$WSP_LSP_LOG"
	grep -q '^socket entry=1011 .* rc=0$' "$WSP_LSP_LOG"
	# What the file holds: the chain first.
	"$CMD" --catalog "$WSPSHIM_CATALOG" catalog --brief |
	    awk 'NR == 3 { exit $1 != 1011 }'
}
check "an installer's SDK steps in one process: each seen at once, then a socket through the chain" \
    sdk_steps

# Run "installer watch" under the preload; between its two sockets, run
# CMD... (another process).  Prints its two lines.
watch_around() {
	local out
	coproc W { preload timeout 20 "$INST" watch; }
	read -r -t 10 out <&"${W[0]}"
	echo "$out"
	"$@" >"$TEST_TMP/between.out"
	echo go >&"${W[1]}"
	read -r -t 10 out <&"${W[0]}"
	echo "$out"
	wait "$W_PID"
}

other_process() {
	export WSPSHIM_CATALOG=$TEST_TMP/other.catalog
	rm -f "$WSPSHIM_CATALOG"
	local out chain
	out=$(watch_around "$CMD" install --over tcp --guid "$LSP_GUID" "$LSP")
	echo "$out"
	chain=$(sed 's/.*chains //' "$TEST_TMP/between.out")
	[[ $chain =~ ^[0-9]+$ ]]
	grep -qx "before=1001" <<<"$out"
	grep -q "^after=$chain " <<<"$out"
}
check "another process's install: new sockets after the next WSAStartup use it" \
    other_process

unchanged() {
	export WSPSHIM_CATALOG=$TEST_TMP/same.catalog
	rm -f "$WSPSHIM_CATALOG"
	"$CMD" install --over tcp --guid "$LSP_GUID" "$LSP" >"$TEST_TMP/same.out"
	local out chain
	chain=$(sed 's/.*chains //' "$TEST_TMP/same.out")
	out=$(watch_around true)
	echo "$out"
	grep -qx "before=$chain" <<<"$out"
	grep -q "^after=$chain " <<<"$out"
	# And a removal is seen the same way: back to the base entry.
	out=$(watch_around "$CMD" remove lsp)
	echo "$out"
	grep -qx "before=$chain" <<<"$out"
	grep -q "^after=1001 " <<<"$out"
}
check "an unchanged file keeps the catalog; a removal is seen at WSAStartup" \
    unchanged

done_testing
