#!/usr/bin/env bash
# Servers in the shapes real ones have (probes/probe_serve.c): a
# fork-per-connection TCP server, a server that hands its connection to a
# child on fds 0 and 1 that execs, SCM_RIGHTS of a socket the process
# already has, UDP with IP_PKTINFO/IPV6_PKTINFO and an IP_RECVERR, and a
# client connecting to every address getaddrinfo gives.  Each behaves as
# without the shim in every mode; tracecmp finds strace and the trace
# layer agreeing; the trace layer writes one file per process at any fork
# depth; a descriptor closed while another descriptor of the same open
# file stays does not close the chain socket (adoption shares it); and
# what no preload sees (raw syscalls, static and set-ID programs) is said.
# shellcheck disable=SC2317 # functions run through check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=modes.sh
. "$(dirname "${BASH_SOURCE[0]}")/modes.sh"
# shellcheck source=../../scripts/lib/trace-assert.sh
. "$WSPSHIM_ROOT/scripts/lib/trace-assert.sh"

need_probes
export WSPSHIM_CATALOG=$TEST_TMP/no-catalog
unset WSPSHIM_LAYERS WSPSHIM_LAYER_PATH WSPSHIM_FALLBACK WSPSHIM_MANAGE
TOOL=$WSPSHIM_BUILD/tools/wspshim
SERVE=$PROBES/probe_serve
[[ -x $TOOL && -x $SERVE ]] || bail "the wspshim program and probe_serve are built"
command -v strace >/dev/null || bail "strace is installed"

for m in "fork 2 3" handoff scm pktinfo resolve; do
	# shellcheck disable=SC2086 # the mode's words
	check_modes "probe_serve $m" "$SERVE" $m
done

n=0
# cmp ARGS...: tracecmp matches (the traces kept in $TEST_TMP/cmp.N).
cmp() {
	n=$((n + 1))
	timeout 120 "$TOOL" tracecmp --library "$WSPSHIM_LIB" --ports -v \
	    --keep "$TEST_TMP/cmp.$n" "$@" | tee "$TEST_TMP/cmp.$n.log"
	grep -q '^match: [1-9][0-9]* calls$' "$TEST_TMP/cmp.$n.log"
}
check "tracecmp: fork-per-connection server, 2 connections, 3 levels" \
    cmp -- "$SERVE" fork 2 3
check "tracecmp: connection handed to an exec'd child on fds 0 and 1" \
    cmp -- "$SERVE" handoff
check "tracecmp: SCM_RIGHTS of a socket the process has" cmp -- "$SERVE" scm
check "tracecmp: IP_PKTINFO, IPV6_PKTINFO, IP_TTL, IP_TOS, IP_RECVERR" \
    cmp -- "$SERVE" pktinfo
check "tracecmp: the same control messages at -s 0" \
    cmp -s 0 -- "$SERVE" pktinfo
check "tracecmp: every address getaddrinfo gives (its sorting sockets)" \
    cmp -- "$SERVE" resolve

# trace -o FILE.%p on a server forking DEPTH levels per connection: one
# file per process (the server, its client, DEPTH per connection), each
# forked one starting with the "forked from" line naming a pid that has a
# file of its own.
per_process() {
	local conns=$1 depth=$2 d=$TEST_TMP/pp.$1.$2 f first parent files
	mkdir -p "$d"
	timeout 60 "$TOOL" trace --library "$WSPSHIM_LIB" -f -o "$d/t.%p" \
	    -- "$SERVE" fork "$conns" "$depth"
	files=$(find "$d" -name 't.*' | wc -l)
	echo "$files files"
	[[ $files -eq $((2 + conns * depth)) ]] || return 1
	for f in "$d"/t.*; do
		first=$(head -n 1 "$f")
		[[ $first == "--- forked from pid "* ]] || continue
		parent=${first#--- forked from pid }
		parent=${parent%% *}
		[[ -f $d/t.$parent ]] ||
		    { echo "$f: no file for parent $parent"; return 1; }
	done
	# Each handler closes the listener it inherited, in its own file.
	[[ $(grep -l 'close(3) ' "$d"/t.* | wc -l) -ge $((1 + conns)) ]]
}
check "trace: 4 processes, 4 files (fork per connection, one level more)" \
    per_process 1 2
check "trace: a file per process at fork depth 4" per_process 2 4

# handoff_closed MANAGE [WRAPPER]: the handed-off child's trace (the file with read(0, ...)): close(0)
# leaves the socket open on fd 1, so the chain sees one close, close(1),
# after both writes (two chain sockets would show close(0) too).
handoff_closed() {
	local d=$TEST_TMP/ho.${1:-layers}${2:+.nokcmp} f
	mkdir -p "$d"
	env ${1:+WSPSHIM_MANAGE=$1} timeout 60 "$TOOL" trace \
	    --library "$WSPSHIM_LIB" -o "$d/t.%p" -- ${2:+"$2"} "$SERVE" handoff
	f=$(grep -l '^read(0, ' "$d"/t.*)
	cat "$f"
	trace_expect_none "$f" 'close(0) = *'
	trace_expect_count "$f" 'close(1) = 0' 1
	trace_expect_count "$f" 'write(1, *' 2
	[[ $(tail -n 1 "$f") == "close(1)"*"= 0" ]]
}
check "adoption: fds 0 and 1 of one socket share one chain socket" \
    handoff_closed ""
check "adoption: the same with WSPSHIM_MANAGE=all" handoff_closed all

# scm_closed MANAGE [WRAPPER]: probe_serve scm: the received descriptor and the original are one
# socket: closing the original closes no chain socket; the last close
# (of the received one) does.
scm_closed() {
	local d=$TEST_TMP/scm.${1:-layers}${2:+.nokcmp} f fd r
	mkdir -p "$d"
	env ${1:+WSPSHIM_MANAGE=$1} timeout 60 "$TOOL" trace \
	    --library "$WSPSHIM_LIB" -o "$d/t" -- ${2:+"$2"} "$SERVE" scm
	f=$d/t
	cat "$f"
	# The client's descriptor: the one connect() used.
	fd=$(sed -n 's/^connect(\([0-9]*\), .*/\1/p' "$f")
	[[ -n $fd ]] || return 1
	# The received one: the descriptor recvmsg's SCM_RIGHTS names.
	r=$(sed -n 's/^recvmsg(.*SCM_RIGHTS, cmsg_data=\[\([0-9]*\)\].*/\1/p' "$f")
	[[ -n $r ]] || return 1
	trace_expect_none "$f" "close($fd) = *"
	trace_expect_order "$f" 'recvmsg(*SCM_RIGHTS*' "sendto($r, *" \
	    "sendto($r, *" "close($r) = 0"
}
check "adoption: SCM_RIGHTS of a socket the process has shares its chain socket" \
    scm_closed ""
check "adoption: the same with WSPSHIM_MANAGE=all" scm_closed all
# Where kcmp is refused (a seccomp profile), the socket inode decides.
check "adoption without kcmp: fds 0 and 1 share one chain socket" \
    handoff_closed "" "$PROBES/nokcmp"
check "adoption without kcmp: SCM_RIGHTS of a socket the process has" \
    scm_closed all "$PROBES/nokcmp"

# What no preload sees.  A send made with syscall(): tracecmp names it
# as a call that never reached the chain (and so differs); "trace -v"
# warns once that the program's calls bypass the shim when the number
# closed with syscall() is used again.
raw_named() {
	local rc=0
	timeout 120 "$TOOL" tracecmp --library "$WSPSHIM_LIB" --ports \
	    -- "$SERVE" raw >"$TEST_TMP/raw.log" || rc=$?
	cat "$TEST_TMP/raw.log"
	[[ $rc -eq 1 ]] &&
	    grep -q '^never reached the chain: sendto(4, .* = 16 (strace line [0-9]*): a raw syscall' \
	    "$TEST_TMP/raw.log" &&
	    [[ $(grep -c '^never reached the chain' "$TEST_TMP/raw.log") -eq 1 ]]
}
check "tracecmp names the send made with syscall()" raw_named

raw_warned() {
	timeout 60 "$TOOL" trace --library "$WSPSHIM_LIB" -v \
	    -o "$TEST_TMP/raw.trace" -- "$SERVE" raw 2>"$TEST_TMP/raw.err"
	cat "$TEST_TMP/raw.err"
	[[ $(grep -c 'behind the shim' "$TEST_TMP/raw.err") -eq 1 ]] &&
	    grep -q '^wsp_trace: descriptor 4 was closed or replaced behind the shim' \
	    "$TEST_TMP/raw.err"
}
check "trace -v warns once of calls that bypass the shim" raw_warned

# A static program: no loader, no preload.  tracecmp says it ran
# without the shim (its calls are not a difference); trace -v warns.
static_named() {
	timeout 120 "$TOOL" tracecmp --library "$WSPSHIM_LIB" -v \
	    -- "$PROBES/probe_static" | tee "$TEST_TMP/static.log"
	grep -q '^note: "[^"]*probe_static" ran without the shim (statically linked' \
	    "$TEST_TMP/static.log" &&
	    grep -q '^# rule no-preload  *strace  *[1-9]' "$TEST_TMP/static.log"
}
check "tracecmp: a static program is named as running without the shim" \
    static_named

static_warned() {
	timeout 60 "$TOOL" trace --library "$WSPSHIM_LIB" -v \
	    -- "$PROBES/probe_static" 2>"$TEST_TMP/static.err"
	cat "$TEST_TMP/static.err"
	grep -q 'probe_static is statically linked: it runs without the shim' \
	    "$TEST_TMP/static.err"
}
check "trace warns that a static program is out of reach" static_warned

# A set-group-ID program whose group is not ours runs in secure-execution
# mode, where the loader ignores LD_PRELOAD.  Making one needs a group
# the test may give a file and is not in: root's "nogroup".
setgid_named() {
	local copy=$TEST_TMP/setgid/probe_serve
	mkdir -p "$TEST_TMP/setgid"
	cp "$SERVE" "$copy"
	chgrp nogroup "$copy"
	chmod g+s "$copy"
	timeout 120 "$TOOL" tracecmp --library "$WSPSHIM_LIB" --ports \
	    -- "$copy" fork 1 1 | tee "$TEST_TMP/setgid.log"
	grep -q '^note: "[^"]*probe_serve" ran without the shim (set-user/group-ID' \
	    "$TEST_TMP/setgid.log" &&
	    grep -q '^match: ' "$TEST_TMP/setgid.log"
}
if [[ $(id -u) -eq 0 ]] && getent group nogroup >/dev/null &&
    [[ $(findmnt -n -o OPTIONS -T "$TEST_TMP") != *nosuid* ]]; then
	check "tracecmp: a set-group-ID program is named as running without the shim" \
	    setgid_named
else
	skip "tracecmp: a set-group-ID program" "needs root, group nogroup and a mount without nosuid"
fi

done_testing
