#!/usr/bin/env bash
# libwspshim.so exports exactly the names in the global section of
# shim/wspshim.map: the documented API and the interposed POSIX names.
# shellcheck disable=SC2317 # functions run through check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

map=$WSPSHIM_ROOT/shim/wspshim.map
need_lib

# The names of the map's global section, one a line, sorted.  Comments may
# span lines; entries end with ";".
map_names() {
	tr '\n' ' ' <"$map" |
	    sed -e 's:/\*\([^*]\|\*\+[^*/]\)*\*\+/: :g' \
		-e 's/.*global:\(.*\)local:.*/\1/' |
	    tr ';' '\n' | tr -d ' \t' | sed '/^$/d' | LC_ALL=C sort -u
}

# The dynamic symbols the library defines, one a line, sorted (version
# suffixes and version-node symbols left out).
lib_names() {
	nm -D --defined-only "$WSPSHIM_LIB" |
	    awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' |
	    LC_ALL=C sort -u
}

map_names >"$TEST_TMP/map"
lib_names >"$TEST_TMP/lib"

# Print LABEL and the names in file $1 that are not in file $2; 1 if any.
only_in() {
	local extra
	extra=$(LC_ALL=C comm -23 "$1" "$2" | tr '\n' ' ')
	if [[ -n $extra ]]; then
		echo "$3: $extra"
		return 1
	fi
}

check "wspshim.map has a global section" test -s "$TEST_TMP/map"
check "every name in wspshim.map is exported" \
    only_in "$TEST_TMP/map" "$TEST_TMP/lib" "in the map, not exported"
check "nothing beyond wspshim.map is exported" \
    only_in "$TEST_TMP/lib" "$TEST_TMP/map" "exported, not in the map"
done_testing
