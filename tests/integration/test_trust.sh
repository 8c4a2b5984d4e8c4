#!/usr/bin/env bash
# What the library trusts (docs/shim.md): a hostile file for each check,
# and the refusal with its one log line.  A world-writable catalog file, a
# group-writable plugin (and folder), a relative plugin path in the file,
# a symbolic link where each output file will go (the log, stats' and
# trace's out=), another user's HOME for a root process, and a program
# that changes directory after start under a relative LD_PRELOAD and
# WSPSHIM_LAYER_PATH.  Run as root (CI and scripts/test are), and, where
# the owner matters, as nobody with a setuid-root copy of probe_trust: a
# run that cannot become nobody fails, it is not skipped.
# shellcheck disable=SC2317 # functions run through check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_lib
# Checks change directory: the library by its absolute name (the
# relative preload has a check of its own).
WSPSHIM_LIB=$(realpath "$WSPSHIM_LIB")
tool=$WSPSHIM_BUILD/tools/wspshim
null=$WSPSHIM_BUILD/layers/null/libwsp_null.so
startfail=$WSPSHIM_BUILD/tests/layers/libwsp_broken_startfail.so
probe=$WSPSHIM_BUILD/tests/integration/probe_trust
for f in "$tool" "$null" "$startfail" "$probe"; do
	[[ -e $f ]] || bail "built: $f"
done
((EUID == 0)) || bail "test_trust.sh runs as root (it makes setuid copies)"
unset WSPSHIM_CATALOG WSPSHIM_LAYERS WSPSHIM_LAYER_PATH WSPSHIM_FALLBACK \
    WSPSHIM_LOG WSPSHIM_MANAGE XDG_CONFIG_HOME
export HOME=$TEST_TMP/home
py=$(python3 -c 'import sys; print(sys.executable)')

# One TCP socket in python3: prints "ok" or the errno's name.
sock_py='
import errno, os, socket, sys
if len(sys.argv) > 1:
    os.chdir(sys.argv[1])
try:
    socket.socket().close()
    print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])
'

# Run the socket program under the preload; stdout to $TEST_TMP/out,
# stderr to $TEST_TMP/err.
run_py() {
	preload "$py" -c "$sock_py" >"$TEST_TMP/out" 2>"$TEST_TMP/err"
}

# Fail unless stdout is exactly $1.
out_is() {
	[[ $(cat "$TEST_TMP/out") == "$1" ]] || {
		echo "stdout is '$(cat "$TEST_TMP/out")', not '$1'; stderr:"
		cat "$TEST_TMP/err"
		return 1
	}
}

# Fail unless FILE (default: stderr) holds exactly one wspshim line, and
# it contains the fixed string $1.
one_line() {
	local f=${2:-$TEST_TMP/err} n
	n=$(grep -c '^wspshim\[' "$f" || true)
	if ((n != 1)) || ! grep -qF -- "$1" "$f"; then
		echo "want one wspshim line with '$1'; $f has $n:"
		cat "$f"
		return 1
	fi
}

# A fresh catalog file $d/cat with LAYER (a path) over TCP; sets d.
catalog_with() {
	d=$(mktemp -d "$TEST_TMP/t.XXXXXX")
	chmod 755 "$d"
	"$tool" --catalog "$d/cat" install --over tcp "$1" >/dev/null
}

world_writable_catalog() {
	catalog_with "$null"
	chmod 666 "$d/cat"
	WSPSHIM_CATALOG=$d/cat run_py
	out_is ELIBACC
	one_line "catalog file $d/cat: refused: it is writable by others (mode 0666, owner 0); sockets fail with WSAEPROVIDERFAILEDINIT"
	# The same file, mode fixed, is used: the layer's chain works.
	chmod 644 "$d/cat"
	WSPSHIM_CATALOG=$d/cat run_py
	out_is ok
	[[ ! -s $TEST_TMP/err ]] || { cat "$TEST_TMP/err"; return 1; }
}

group_writable_plugin() {
	local p
	d=$(mktemp -d "$TEST_TMP/t.XXXXXX")
	chmod 755 "$d"
	mkdir -m 755 "$d/plug"
	p=$d/plug/libwsp_null.so
	cp "$null" "$p"
	chmod 664 "$p"
	"$tool" --catalog "$d/cat" install --over tcp "$p" >/dev/null
	WSPSHIM_CATALOG=$d/cat run_py
	out_is ELIBACC
	one_line "provider $p: refused: it is writable by its group (mode 0664, owner 0)"
	chmod 644 "$p"
	chmod 775 "$d/plug"
	WSPSHIM_CATALOG=$d/cat run_py
	out_is ELIBACC
	one_line "provider $p: refused: the folder $d/plug is writable by its group (mode 0775, owner 0)"
	chmod 755 "$d/plug"
	WSPSHIM_CATALOG=$d/cat run_py
	out_is ok
}

relative_plugin_path() {
	local line
	catalog_with "$null"
	cp "$null" "$d/libwsp_null.so"
	sed -i "s|path \"$(realpath "$null")\"|path \"./libwsp_null.so\"|" \
	    "$d/cat"
	line=$(grep -n 'path "./libwsp_null.so"' "$d/cat" | cut -d: -f1)
	[[ -n $line ]] || { echo "no relative path written"; return 1; }
	# From the folder holding a libwsp_null.so, which must not count.
	(cd "$d" && WSPSHIM_CATALOG=$d/cat run_py)
	out_is ELIBACC
	one_line "catalog file $d/cat: line $line: provider path is not absolute"
}

# A file nobody may lose, and symbolic links to it where outputs go.
victim_setup() {
	d=$(mktemp -d "$TEST_TMP/t.XXXXXX")
	echo precious >"$d/victim"
}

victim_intact() {
	[[ $(cat "$d/victim") == precious ]] || {
		echo "the victim file was written:"; cat "$d/victim"; return 1
	}
}

symlink_log() {
	victim_setup
	ln -s "$d/victim" "$d/log"
	# Something to log: a catalog file that is corrupt.
	echo broken >"$d/cat"
	WSPSHIM_LOG=$d/log WSPSHIM_CATALOG=$d/cat run_py
	out_is ELIBACC
	victim_intact
	grep -qF "log file $d/log refused: it is a symbolic link; logging to stderr" "$TEST_TMP/err" || {
		cat "$TEST_TMP/err"; return 1
	}
	[[ $(grep -c '^wspshim\[' "$TEST_TMP/err") == 2 ]] || {
		echo "want the refusal and the catalog's line:"
		cat "$TEST_TMP/err"; return 1
	}
}

symlink_stats() {
	victim_setup
	# The temporary file the report is written to first, then the
	# report's own name.
	ln -s "$d/victim" "$d/s.json.tmp"
	WSPSHIM_LAYERS="stats:out=$d/s.json" run_py
	out_is ok
	victim_intact
	grep -qF "cannot write $d/s.json: it is a symbolic link" \
	    "$TEST_TMP/err" || { cat "$TEST_TMP/err"; return 1; }
	rm "$d/s.json.tmp"
	ln -s "$d/victim" "$d/s.json"
	WSPSHIM_LAYERS="stats:out=$d/s.json" run_py
	out_is ok
	victim_intact
	[[ -L $d/s.json ]] || { echo "the link was replaced"; return 1; }
	grep -qF "cannot write $d/s.json: it is a symbolic link" \
	    "$TEST_TMP/err" || { cat "$TEST_TMP/err"; return 1; }
	# Nor is a FIFO (or a device: out=/dev/null) replaced by the report.
	mkfifo "$d/fifo"
	WSPSHIM_LAYERS="stats:out=$d/fifo" run_py
	out_is ok
	[[ -p $d/fifo ]] || { echo "the FIFO was replaced"; return 1; }
	grep -qF "cannot write $d/fifo: it is not a regular file" \
	    "$TEST_TMP/err" || { cat "$TEST_TMP/err"; return 1; }
	# Without the link, the report is written, mode 0600.
	rm "$d/s.json"
	WSPSHIM_LAYERS="stats:out=$d/s.json" run_py
	out_is ok
	grep -q '"sockets"' "$d/s.json"
	[[ $(stat -c %a "$d/s.json") == 600 ]]
}

symlink_trace() {
	victim_setup
	ln -s "$d/victim" "$d/t.txt"
	WSPSHIM_LAYERS="trace:out=$d/t.txt" run_py
	out_is ELIBACC
	victim_intact
	grep -qF "cannot open the out= file $d/t.txt: it is a symbolic link" \
	    "$TEST_TMP/err" || { cat "$TEST_TMP/err"; return 1; }
	# Another user's file is not written either.
	rm "$d/t.txt"
	: >"$d/t.txt"
	chown nobody "$d/t.txt"
	chmod 666 "$d/t.txt"
	WSPSHIM_LAYERS="trace:out=$d/t.txt" run_py
	out_is ELIBACC
	[[ ! -s $d/t.txt ]]
	grep -qF "cannot open the out= file $d/t.txt: it belongs to user 65534" \
	    "$TEST_TMP/err" || { cat "$TEST_TMP/err"; return 1; }
}

# A root process with someone else's HOME: that user's catalog (naming a
# plugin that would fail every socket) is not read; named explicitly it
# must pass the checks, which another user's file does not for root.
root_other_home() {
	local eve cat
	d=$(mktemp -d "$TEST_TMP/t.XXXXXX")
	chmod 755 "$d"
	eve=$d/eve
	cat=$eve/.config/wspshim/catalog
	mkdir -p "$eve/.config/wspshim"
	cp "$startfail" "$eve/libwsp_x.so"
	"$tool" --catalog "$cat" install --over tcp "$eve/libwsp_x.so" \
	    >/dev/null
	chown -R nobody:nogroup "$eve"
	HOME=$eve run_py
	out_is ok
	one_line "catalog file $cat ignored: a root process reads the system catalog"
	HOME=$eve WSPSHIM_CATALOG=$cat run_py
	out_is ELIBACC
	one_line "catalog file $cat: refused: the folder $eve is owned by user 65534"
}

# Started with relative names, the program changes directory before its
# first socket: the names still mean the start-up directory's files.
chdir_after_start() {
	local lib layers
	d=$(mktemp -d "$TEST_TMP/t.XXXXXX")
	lib=$(realpath --relative-to="$d" "$WSPSHIM_LIB")
	layers=$(realpath --relative-to="$d" "$WSPSHIM_BUILD/tests/layers")
	# A relative preload: layers found beside it (build tree) work.
	(cd "$d" && LD_PRELOAD=$lib WSPSHIM_LAYERS="trace:out=$d/t.out" \
	    "$py" -c "$sock_py" / >"$TEST_TMP/out" 2>"$TEST_TMP/err")
	out_is ok
	grep -q '^socket(AF_INET, SOCK_STREAM' "$d/t.out" || {
		echo "the trace layer saw no socket:"; cat "$d/t.out"
		cat "$TEST_TMP/err"; return 1
	}
	# A relative WSPSHIM_LAYER_PATH, and a relative log that the first
	# line (the layer's failed WSPStartup, after the chdir) goes to.
	(cd "$d" && LD_PRELOAD=$lib WSPSHIM_LAYER_PATH=$layers \
	    WSPSHIM_LAYERS=broken_startfail WSPSHIM_LOG=rel.log \
	    "$py" -c "$sock_py" / >"$TEST_TMP/out" 2>"$TEST_TMP/err")
	out_is ELIBACC
	one_line "libwsp_broken_startfail.so did not start (WSASYSNOTREADY" "$d/rel.log"
	[[ ! -e /rel.log ]]
}

# As nobody, with a setuid-root copy of probe_trust (secure execution:
# only root's files count) and a plain copy (nobody's own files count,
# another user's do not).
setuid_nobody() {
	local p out
	d=$(mktemp -d /var/tmp/wspshim-trust.XXXXXX)
	trap 'rm -rf "$d"' RETURN
	chmod 755 "$d"
	cp "$probe" "$d/probe"
	cp "$startfail" "$d/plug.so"
	p=$d/plug.so
	"$tool" --catalog "$d/cat" install --over tcp "$p" >/dev/null
	chmod 4755 "$d/probe"
	as_nobody() {
		setpriv --reuid=nobody --regid=nogroup --clear-groups \
		    "$d/probe" "$d/cat" >"$TEST_TMP/out" 2>"$TEST_TMP/err"
	}
	# Root's files: the catalog is read, the plugin loads (and its
	# WSPStartup fails, as that plugin's does).
	as_nobody
	grep -qx 'secure=1 euid=0' "$TEST_TMP/out" ||
	    { echo "not secure execution:"; cat "$TEST_TMP/out"; return 1; }
	grep -qx 'catalog file' "$TEST_TMP/out"
	one_line "layer $p did not start (WSASYSNOTREADY"
	# nobody's plugin: refused under secure execution.
	chown nobody "$p"
	as_nobody
	grep -qx 'socket error 10106' "$TEST_TMP/out"
	one_line "provider $p: refused: it is owned by user 65534 (mode 0755); a root or secure-execution process trusts only root's files"
	# nobody's catalog: refused too.
	chown root "$p"
	chown nobody "$d/cat"
	as_nobody
	grep -qx 'catalog closed' "$TEST_TMP/out"
	one_line "catalog file $d/cat: refused: it is owned by user 65534 (mode 0644); a root or secure-execution process trusts only root's files"
	# Without the setuid bit nobody trusts its own catalog and root's
	# plugin, but not a plugin of another user (daemon).
	chmod 755 "$d/probe"
	as_nobody
	grep -qx 'secure=0 euid=65534' "$TEST_TMP/out"
	grep -qx 'catalog file' "$TEST_TMP/out"
	one_line "layer $p did not start (WSASYSNOTREADY"
	chown daemon "$p"
	as_nobody
	one_line "provider $p: refused: it is owned by user 1 (mode 0755); only root's files and the user's own are trusted"
	# World-writable, even nobody's own catalog is refused.
	chmod 666 "$d/cat"
	as_nobody
	grep -qx 'catalog closed' "$TEST_TMP/out"
	one_line "catalog file $d/cat: refused: it is writable by others (mode 0666, owner 65534)"
}

check "a world-writable catalog file is refused" world_writable_catalog
check "a group-writable plugin or folder is refused" group_writable_plugin
check "a relative plugin path in the catalog is refused" relative_plugin_path
check "the log does not follow a symbolic link" symlink_log
check "stats out= does not follow or replace a link or a FIFO" \
    symlink_stats
check "trace out= follows no link and writes no one else's file" \
    symlink_trace
check "root ignores another user's HOME catalog" root_other_home
check "relative preload, layer path and log survive a chdir" \
    chdir_after_start
check "as nobody: setuid trusts root's files only, plain its own" \
    setuid_nobody
done_testing
