#!/usr/bin/env bash
# The catalog file through the wspshim command (tools/wspshim.c): install,
# remove, order and catalog against a temporary file; a preloaded program
# loads that file; a corrupt file fails closed with one log line, and
# WSPSHIM_FALLBACK=1 falls back; two installers running at once lose
# nothing and never reuse an id.
# shellcheck disable=SC2317 # functions run through check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_lib
tool=$WSPSHIM_BUILD/tools/wspshim
[[ -x $tool ]] || bail "the wspshim program is built ($tool)"
export WSPSHIM_CATALOG=$TEST_TMP/cat/catalog
unset WSPSHIM_FALLBACK WSPSHIM_LAYERS WSPSHIM_LOG
# The real interpreter, not a wrapper script that execs it (each exec
# would load the library, and log, again).
py=$(python3 -c 'import sys; print(sys.executable)')

# A layer file to install: the null layer when it is built; install
# stores the path and does not load it, so any file would do.
layer=$WSPSHIM_BUILD/layers/null/libwsp_null.so
[[ -f $layer ]] || layer=$WSPSHIM_LIB

# Run the command; its output goes to TEST_TMP/out and TEST_TMP/err.
ws() {
	"$tool" "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err"
}

# Fail unless the last output matches the extended regexp $1.
out_has() {
	grep -Eq -- "$1" "$TEST_TMP/out" || {
		echo "stdout lacks /$1/:"
		cat "$TEST_TMP/out" "$TEST_TMP/err"
		return 1
	}
}

# The ids of the --brief listing, one a line, in catalog order.
brief_ids() {
	"$tool" catalog --brief | awk 'NR > 2 { print $1 }'
}

# A setuid-root copy of the command, run as nobody, is under secure
# execution (AT_SECURE): the catalog WSPSHIM_CATALOG names must not count,
# while the same copy without the setuid bit reads it.  Needs root to make
# the copy; the copy lives in /var/tmp, which nobody can reach, on the
# root file system (a nosuid /tmp would not do).
secure_execution() {
	local d ids
	((EUID == 0)) || { echo "needs root to make a setuid copy"; return 1; }
	rm -rf "$TEST_TMP/cat"
	ws install --over tcp "$layer"
	d=$(mktemp -d /var/tmp/wspshim-suid.XXXXXX)
	trap 'rm -rf "$d"' RETURN
	cp "$tool" "$d/wspshim"
	cp "$WSPSHIM_CATALOG" "$d/catalog"
	chmod 755 "$d" "$d/wspshim"
	chmod 644 "$d/catalog"
	ids=$(setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    env WSPSHIM_CATALOG="$d/catalog" "$d/wspshim" catalog --brief |
	    awk 'NR > 2 { print $1 }' | tr '\n' ' ') || true
	[[ $ids == 1010* ]] || {
		echo "without setuid, nobody reads WSPSHIM_CATALOG: got '$ids'"
		return 1
	}
	chmod 4755 "$d/wspshim"
	ids=$(setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    env WSPSHIM_CATALOG="$d/catalog" "$d/wspshim" catalog --brief |
	    awk 'NR > 2 { print $1 }' | tr '\n' ' ')
	[[ $ids != *1010* ]] || {
		echo "setuid: WSPSHIM_CATALOG was read: $ids"
		return 1
	}
}

missing_is_builtin() {
	rm -rf "$TEST_TMP/cat"
	ws catalog --brief
	out_has 'no such file: the built-in catalog'
	[[ $(brief_ids | tr '\n' ' ') == \
	    "1001 1002 1003 1004 1005 1006 1007 1008 1009 " ]]
	ws catalog
	out_has '^Entry Type: +Base Service Provider'
	out_has '^Catalog Entry ID: +1009'
	[[ ! -e $WSPSHIM_CATALOG ]] || { echo "catalog created"; return 1; }
}

# The parameters are stored as given: the library itself exports
# WSPStartup and no parameter check, so install takes any string for it
# (the null layer refuses parameters).
install_layer() {
	rm -rf "$TEST_TMP/cat"
	ws install --over tcp,udp6 --params 'level=2,x="y"' "$WSPSHIM_LIB"
	out_has '^installed .* as entry 1010, provider \{[0-9a-f-]{36}\}, '`
	    `'chains 1011 1012$'
	[[ -f $WSPSHIM_CATALOG ]]
	grep -q '^wspshim-catalog 1$' "$WSPSHIM_CATALOG"
	grep -q '^next-id 1013$' "$WSPSHIM_CATALOG"
	grep -qF "path \"$(realpath "$WSPSHIM_LIB")\"" "$WSPSHIM_CATALOG"
	grep -qF 'params "level=2,x=\"y\""' "$WSPSHIM_CATALOG"
	[[ $(brief_ids | head -3 | tr '\n' ' ') == "1010 1011 1012 " ]]
	ws catalog
	out_has '^Entry Type: +Layered Service Provider'
	out_has '^Protocol Chain: +1010 : 1001$'
	out_has '^Protocol Chain: +1010 : 1005$'
	out_has '^Layer Parameters: +level=2,x="y"$'
	out_has 'over \[wspshim \[TCP/IP\]\]'
}

# --guid gives the layer the GUID its own code expects; a bad GUID is a
# usage error, one already installed a failure, and neither writes.
install_guid() {
	local g='{5f1e3a8c-7b2d-4c61-9e0a-3d4b5c6d7e8f}' before
	rm -rf "$TEST_TMP/cat"
	ws install --over tcp --guid "${g:1:36}" "$layer"
	out_has "^installed .* as entry 1010, provider \\$g, chains 1011\$"
	ws catalog
	out_has "^Provider ID: +\\$g\$"
	before=$(cat "$WSPSHIM_CATALOG")
	rc=0; ws install --over udp --guid "$g" "$layer" || rc=$?
	((rc == 1))
	grep -q "is already installed (entry 1010)" "$TEST_TMP/err"
	rc=0; ws install --guid '{5f1e3a8c-7b2d}' "$layer" || rc=$?
	((rc == 2))
	grep -q "is not a GUID" "$TEST_TMP/err"
	[[ $(cat "$WSPSHIM_CATALOG") == "$before" ]]
}

install_by_name_and_remove() {
	rm -rf "$TEST_TMP/cat"
	ws install --name first --over tcp "$layer"
	ws install --name second --over ipv6 "$layer"
	out_has 'as entry 1012, .* chains 1013 1014 1015$'
	# A chain id stands for the layer on top of it.
	ws remove 1014
	out_has '^removed provider'
	[[ $(brief_ids | tr '\n' ' ') == \
	    "1010 1011 1001 1002 1003 1004 1005 1006 1007 1008 1009 " ]]
	ws remove first
	[[ $(brief_ids | head -1) == 1001 ]]
	# Ids are never handed out again.
	ws install --over tcp "$layer"
	out_has 'as entry 1016, .* chains 1017$'
	guid=$(sed -n 's/.*provider \({[^}]*}\).*/\1/p' "$TEST_TMP/out")
	ws remove "$guid"
	[[ $(brief_ids | head -1) == 1001 ]]
	grep -q '^next-id 1018$' "$WSPSHIM_CATALOG"
}

order_entries() {
	rm -rf "$TEST_TMP/cat"
	ws order 1009 1003
	[[ $(brief_ids | head -3 | tr '\n' ' ') == "1009 1003 1001 " ]]
	ws order 1001,1009
	[[ $(brief_ids | head -3 | tr '\n' ' ') == "1001 1009 1003 " ]]
}

# Usage errors exit 2 with the usage on stderr; failures exit 1 with one
# line; --help goes to stdout.
usage_and_failures() {
	local rc
	rc=0; ws install || rc=$?
	[[ $rc == 2 ]]
	grep -q '^usage: wspshim install' "$TEST_TMP/err"
	rc=0; ws install --over nonsense "$layer" || rc=$?
	[[ $rc == 2 ]]
	grep -q 'neither a catalog entry id' "$TEST_TMP/err"
	rc=0; ws order x || rc=$?
	[[ $rc == 2 ]]
	rc=0; ws frobnicate || rc=$?
	[[ $rc == 2 ]]
	grep -q '^usage: wspshim' "$TEST_TMP/err"
	rc=0; ws remove nosuchlayer || rc=$?
	[[ $rc == 1 && $(wc -l <"$TEST_TMP/err") == 1 ]]
	grep -q 'no layer named nosuchlayer' "$TEST_TMP/err"
	rc=0; ws order 4242 || rc=$?
	[[ $rc == 1 && $(wc -l <"$TEST_TMP/err") == 1 ]]
	rc=0; ws remove 1001 || rc=$?
	[[ $rc == 1 ]]
	grep -q 'built-in base entry' "$TEST_TMP/err"
	rc=0; ws install "$TEST_TMP/no-such-layer.so" || rc=$?
	[[ $rc == 2 && $(wc -l <"$TEST_TMP/err") == 1 ]]
	for c in catalog install remove order run; do
		ws "$c" --help
		out_has "^usage: wspshim $c"
		[[ ! -s $TEST_TMP/err ]]
	done
}

# A preloaded program runs with the catalog file's catalog (the demo
# lists the catalog in force through WSCEnumProtocols).
program_loads_file() {
	local demo=$WSPSHIM_BUILD/examples/catalog-demo
	rm -rf "$TEST_TMP/cat"
	ws install --name filelayer --over tcp "$layer"
	preload "$demo" >"$TEST_TMP/out" 2>"$TEST_TMP/err" || true
	out_has 'filelayer over \[wspshim \[TCP/IP\]\]'
	# The same program with no catalog file: the built-in catalog.
	WSPSHIM_CATALOG=$TEST_TMP/none preload "$demo" >"$TEST_TMP/out" \
	    2>&1 || true
	if grep -q filelayer "$TEST_TMP/out"; then
		echo "the built-in catalog has the file's layer"
		return 1
	fi
}

# The --catalog option and the scripts/wspshim dispatcher.
dispatcher_and_option() {
	local other=$TEST_TMP/other/catalog
	rm -rf "$TEST_TMP/other"
	WSPSHIM_BUILD_DIR=$WSPSHIM_BUILD "$WSPSHIM_ROOT/scripts/wspshim" \
	    --catalog "$other" install --over unix "$layer" >"$TEST_TMP/out"
	out_has 'chains 1011 1012 1013$'
	[[ -f $other ]]
	WSPSHIM_BUILD_DIR=$WSPSHIM_BUILD "$WSPSHIM_ROOT/scripts/wspshim" \
	    catalog --brief --catalog "$other" >"$TEST_TMP/out"
	out_has '^1013 +chain +AF_UNIX'
}

# A socket program: each kind it makes prints "ok" or the errno.
sockets() {
	"$py" -c '
import socket
for af, t in ((socket.AF_INET, socket.SOCK_STREAM),
    (socket.AF_INET, socket.SOCK_DGRAM), (socket.AF_INET6, socket.SOCK_STREAM),
    (socket.AF_UNIX, socket.SOCK_STREAM)):
    try:
        socket.socket(af, t).close()
        print("ok")
    except OSError as e:
        print("errno", e.errno)
'
}

corrupt_fails_closed() {
	local log=$TEST_TMP/log elibacc
	elibacc=$("$py" -c 'import errno; print(errno.ELIBACC)')
	mkdir -p "$TEST_TMP/cat"
	printf 'wspshim-catalog 1\nnext-id 1010\nentry 1001\n\tbogus 1\n' \
	    >"$WSPSHIM_CATALOG"
	rm -f "$log"
	WSPSHIM_LOG=$log preload bash -c "$(declare -f sockets); py=$py;"`
	    `' sockets' >"$TEST_TMP/out"
	[[ $(sort -u "$TEST_TMP/out") == "errno $elibacc" ]] ||
	    { cat "$TEST_TMP/out"; return 1; }
	# bash and python each load the library: one line per process.
	[[ $(grep -c . "$log") == 2 ]] || { cat "$log"; return 1; }
	[[ $(grep -c "catalog file $WSPSHIM_CATALOG: line 4: unknown key" \
	    "$log") == 2 ]] || { cat "$log"; return 1; }
	grep -q 'sockets fail with WSAEPROVIDERFAILEDINIT' "$log"
	# The command refuses to read or change it, naming the line.
	rc=0; ws catalog || rc=$?
	[[ $rc == 1 ]]
	grep -q 'line 4: unknown key "bogus"' "$TEST_TMP/err"
	cp "$WSPSHIM_CATALOG" "$TEST_TMP/before"
	rc=0; ws install "$layer" || rc=$?
	[[ $rc == 1 ]]
	cmp -s "$WSPSHIM_CATALOG" "$TEST_TMP/before"
}

fallback_opens() {
	local log=$TEST_TMP/log
	mkdir -p "$TEST_TMP/cat"
	printf 'not a catalog\n' >"$WSPSHIM_CATALOG"
	rm -f "$log"
	WSPSHIM_FALLBACK=1 WSPSHIM_LOG=$log preload "$py" -c \
	    'import socket; socket.socket().close(); print("ok")' \
	    >"$TEST_TMP/out"
	out_has '^ok$'
	[[ $(grep -c . "$log") == 1 ]] || { cat "$log"; return 1; }
	grep -q 'line 1: not a libwspshim catalog file.*using the built-in '`
	    `'catalog (WSPSHIM_FALLBACK=1)' "$log"
}

# One installer: NAME-1 .. NAME-N over tcp, removing the odd ones; the
# ids it was given go to FILE.
installer() {
	local name=$1 n=$2 file=$3 i
	for ((i = 1; i <= n; i++)); do
		"$tool" install --name "$name-$i" --over tcp "$layer" |
		    sed -n 's/.* as entry \([0-9]*\),.* chains \([0-9]*\)$/\1 \2/p' \
		    | tr ' ' '\n' >>"$file"
		if ((i % 2 == 1)); then
			"$tool" remove "$name-$i" >/dev/null
		fi
	done
}

concurrent_installers() {
	local n=${CONCURRENT_ROUNDS:-200} a b got want ids
	rm -rf "$TEST_TMP/cat"
	: >"$TEST_TMP/ids.a"
	: >"$TEST_TMP/ids.b"
	export -f installer
	export tool layer
	timeout 280 bash -c "installer a $n $TEST_TMP/ids.a" &
	a=$!
	timeout 280 bash -c "installer b $n $TEST_TMP/ids.b" &
	b=$!
	wait "$a" || { echo "installer a failed"; return 1; }
	wait "$b" || { echo "installer b failed"; return 1; }
	# Every install got two fresh ids, none given twice.
	ids=$(cat "$TEST_TMP/ids.a" "$TEST_TMP/ids.b" | sort -n)
	[[ $(wc -l <<<"$ids") == $((4 * n)) ]] ||
	    { echo "$(wc -l <<<"$ids") ids, not $((4 * n))"; return 1; }
	[[ -z $(uniq -d <<<"$ids") ]] || { echo "an id twice"; return 1; }
	[[ $(head -1 <<<"$ids") == 1010 &&
	    $(tail -1 <<<"$ids") == $((1009 + 4 * n)) ]]
	grep -q "^next-id $((1010 + 4 * n))\$" "$WSPSHIM_CATALOG"
	# Exactly the even layers of both, and the base entries, remain.
	got=$("$tool" catalog --brief | awk '$2 == "layer" { print $NF }' |
	    sort)
	want=$(for ((i = 2; i <= n; i += 2)); do echo "a-$i"; echo "b-$i"
	    done | sort)
	[[ $got == "$want" ]] || { diff <(echo "$want") <(echo "$got")
	    return 1; }
	[[ $("$tool" catalog --brief | awk '$2 == "chain"' | wc -l) == "$n" ]]
	[[ $("$tool" catalog --brief | awk '$2 == "base"' | wc -l) == 9 ]]
	# Every id left is one that was handed out, or a base entry's.
	"$tool" catalog --brief | awk 'NR > 2 && $1 > 1009 { print $1 }' |
	    sort -n >"$TEST_TMP/left"
	[[ -z $(comm -23 "$TEST_TMP/left" <(echo "$ids")) ]]
}

check "a missing catalog file lists the built-in catalog" missing_is_builtin
check "install writes a layered entry and chains first in order" \
    install_layer
check "remove by chain id, name and GUID; ids are never reused" \
    install_by_name_and_remove
check "install --guid GUID: that provider id; taken or bad: refused" \
    install_guid
check "order puts the listed entries first" order_entries
check "usage errors exit 2, failures exit 1 with one line" \
    usage_and_failures
check "a preloaded program runs with the catalog file" program_loads_file
check "--catalog FILE and the scripts/wspshim dispatcher" \
    dispatcher_and_option
check "a corrupt catalog file fails closed (ELIBACC), one log line" \
    corrupt_fails_closed
check "WSPSHIM_FALLBACK=1 uses the built-in catalog, one log line" \
    fallback_opens
check "secure execution (setuid) ignores WSPSHIM_CATALOG" secure_execution
check "two installers at once, ${CONCURRENT_ROUNDS:-200} rounds each, lose nothing" \
    concurrent_installers
done_testing
