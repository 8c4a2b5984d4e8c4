#!/usr/bin/env bash
# The socket syscalls a probe makes, seen by strace, with and without the
# shim.  In the shim mode (nothing managed) they must be the same calls on
# the same descriptors with the same results: the shim makes no syscall of
# its own.  In the managed modes (base, ...) the same comparison runs after
# the documented translations of docs/testing.md ("What strace shows")
# have been applied to both traces, and nothing else.
# shellcheck disable=SC2317 # functions run through check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=modes.sh
. "$(dirname "${BASH_SOURCE[0]}")/modes.sh"

need_probes
command -v strace >/dev/null || bail "strace is installed"
echo_start

TRACE=trace=%network,read,write,readv,writev,close,dup,dup2,dup3,fcntl,ioctl

# Print the part of strace output $2 between the probe's markers in
# canonical form: "strict" or "families" ($1).  See docs/testing.md.
strace_canon() {
	python3 - "$1" "$2" <<'PY'
import re
import sys

mode, path = sys.argv[1], sys.argv[2]
SEND = {"write", "send", "sendto", "sendmsg", "writev"}
RECV = {"read", "recv", "recvfrom", "recvmsg", "readv"}
# Where the flags are, per call (argument index; -1: the last one).
FLAGS = {"send": 3, "sendto": 3, "recv": 3, "recvfrom": 3,
         "sendmsg": -1, "recvmsg": -1, "sendmmsg": 3, "recvmmsg": 3}


def split_args(s):
    """Top-level comma-separated arguments of s (brackets, strings)."""
    out, depth, cur, i, quote = [], 0, "", 0, False
    while i < len(s):
        c = s[i]
        if quote:
            cur += c
            if c == "\\":
                cur += s[i + 1]
                i += 1
            elif c == '"':
                quote = False
        elif c == '"':
            quote, cur = True, cur + c
        elif c in "([{":
            depth, cur = depth + 1, cur + c
        elif c in ")]}":
            depth, cur = depth - 1, cur + c
        elif c == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += c
        i += 1
    if cur.strip():
        out.append(cur.strip())
    return out


def parse(line):
    m = re.match(r"^(\w+)\((.*)\)\s+= (.*)$", line)
    if not m:
        return None
    return m.group(1), split_args(m.group(2)), m.group(3).strip()


def marked(lines):
    """The lines between the probe:begin and probe:end markers."""
    out, on = [], False
    for l in lines:
        l = re.sub(r"^(\[pid\s+\d+\]\s*|\d+\s+)", "", l.rstrip("\n"))
        if 'write(-1, "probe:begin"' in l:
            on = True
        elif 'write(-1, "probe:end"' in l:
            on = False
        elif on and not l.startswith(("+++", "---")):
            out.append(l)
    return out


def scrub(l):
    l = re.sub(r"0x[0-9a-f]+", "ADDR", l)
    l = re.sub(r"htons\(\d+\)", "htons(PORT)", l)
    return re.sub(r'sun_path=@"[0-9a-f]+"', 'sun_path=@"AUTO"', l)


def flags_of(name, args):
    i = FLAGS.get(name)
    if i is None or not args:
        return "0"
    return args[i] if -len(args) <= i < len(args) else "0"


def mmsg(name, args, ret):
    """sendmmsg/recvmmsg as the messages the shim sends one by one."""
    out = []
    fam = "send" if name == "sendmmsg" else "recv"
    if ret.startswith("-1"):
        return ["%s(%s) = %s" % (fam, args[0], ret)]
    n = int(ret.split()[0])
    lens = re.findall(r"msg_len=(\d+)", args[1])[:n]
    out = ["%s(%s) = %s" % (fam, args[0], k) for k in lens]
    # recvmmsg(MSG_WAITFORONE) that stopped short: one more non-blocking
    # receive, which found nothing.
    if (name == "recvmmsg" and "MSG_WAITFORONE" in args[3]
            and n < int(args[2])):
        out.append("recv(%s) = -1 EAGAIN (Resource temporarily "
                   "unavailable)" % args[0])
    return out


def canon(line):
    p = parse(line)
    if p is None:
        return [scrub(line)]
    name, args, ret = p
    fd = args[0] if args else ""
    if mode == "families":
        if name in ("sendmmsg", "recvmmsg"):
            return mmsg(name, args, ret)
        if name in SEND:
            return ["send(%s) = %s" % (fd, ret)]
        if name in RECV:
            return ["recv(%s) = %s" % (fd, ret)]
        if name == "accept":
            name, args = "accept4", args + ["0"]
    if name == "recvmmsg" and not ret.startswith("-"):
        # The bytes received: how a stream's split between calls falls
        # depends on timing (merged below).
        n = int(ret.split()[0])
        ret = str(sum(int(k) for k in
                      re.findall(r"msg_len=(\d+)", args[1])[:n]))
    if name in SEND or name in RECV or name in ("sendmmsg", "recvmmsg"):
        return ["%s(%s, %s) = %s" % (name, fd, flags_of(name, args), ret)]
    return [scrub("%s(%s) = %s" % (name, ", ".join(args), ret))]


def drop_translations(rows):
    """families: the calls docs/testing.md lists as the shim's own."""
    out, i = [], 0
    while i < len(rows):
        p = parse(rows[i])
        nxt = parse(rows[i + 1]) if i + 1 < len(rows) else None
        # F_SETFL on a managed socket: FIONBIO down the chain first.
        if (p and p[0] == "ioctl" and "FIONBIO" in p[1][1] and nxt
                and nxt[0] == "fcntl" and nxt[1][0] == p[1][0]
                and nxt[1][1] == "F_SETFL"):
            i += 1
            continue
        # More than IOV_MAX vectors: the shim answers EINVAL itself.
        if (p and p[0] in ("readv", "writev") and len(p[1]) == 3
                and p[1][2].isdigit() and int(p[1][2]) > 1024
                and p[2].startswith("-1 EINVAL")):
            i += 1
            continue
        # close_range/closefrom: each managed socket in the range is
        # closed through its chain (one close() each) first.
        j = i
        while j < len(rows) and parse(rows[j]) and \
                parse(rows[j])[0] == "close" and parse(rows[j])[2] == "0":
            j += 1
        cr = parse(rows[j]) if j > i and j < len(rows) else None
        if cr and cr[0] == "close_range":
            lo, hi = int(cr[1][0]), int(cr[1][1], 0)
            if all(lo <= int(parse(r)[1][0]) <= hi for r in rows[i:j]):
                i = j
                continue
        # Adoption: the triple of a socket the shim did not create.
        tri = [parse(r) for r in rows[i:i + 3]]
        if (len(tri) == 3 and all(t and t[0] == "getsockopt" for t in tri)
                and [t[1][2] for t in tri] ==
                ["SO_DOMAIN", "SO_TYPE", "SO_PROTOCOL"]
                and len({t[1][0] for t in tri}) == 1):
            i += 3
            continue
        out.append(rows[i])
        i += 1
    return out


def merge_recvs(rows):
    """Consecutive successful receives on one descriptor are one: how a
    stream's bytes split between reads depends on timing."""
    out = []
    for r in rows:
        m = re.match(r"^(\w+)\((\d+)(.*)\) = (\d+)$", r)
        prev = re.match(r"^(\w+)\((\d+)(.*)\) = (\d+)$", out[-1]) \
            if out else None
        if (m and prev and m.group(1) in RECV | {"recv", "recvmmsg"}
                and m.group(1, 2, 3) == prev.group(1, 2, 3)):
            total = int(prev.group(4)) + int(m.group(4))
            out[-1] = "%s(%s%s) = %d" % (m.group(1), m.group(2),
                                         m.group(3), total)
            continue
        out.append(r)
    return out


with open(path, errors="replace") as f:
    rows = marked(f)
if mode == "families":
    rows = drop_translations(rows)
canon_rows = []
for r in rows:
    canon_rows.extend(canon(r))
for r in merge_recvs(canon_rows):
    print(r)
PY
}

# Trace PROBE ARGS... in MODE into FILE; on failure, show its output.
trace_in() {
	local mode=$1 file=$2 rc=0
	shift 2
	mode_run "$mode" timeout -k 5 "$PROBE_TIMEOUT" \
	    strace -f -qq -o "$file" -e "$TRACE" "$@" >"$file.out" 2>&1 ||
	    rc=$?
	((rc == 0)) || sed -e 's/^/output: /' -e 20q "$file.out"
	return "$rc"
}

# The native trace of a probe: it must pass under strace and show the
# markers.
trace_native() {
	local ref=$1
	shift
	trace_in native "$ref.trace" "$@" ||
	    { echo "the probe failed under strace"; return 1; }
	grep -q 'probe:end' "$ref.trace" ||
	    { echo "no probe:end marker in the trace"; return 1; }
	strace_canon strict "$ref.trace" >"$ref.strict"
	strace_canon families "$ref.trace" >"$ref.families"
	[[ -s $ref.strict ]]
}

# Compare a probe's trace in MODE with the native one.
trace_compare() {
	local mode=$1 ref=$2 kind=families run
	shift 2
	run=$ref.$mode
	[[ $mode == shim ]] && kind=strict
	[[ -s $ref.$kind ]] || { echo "no native trace"; return 1; }
	trace_in "$mode" "$run.trace" "$@" ||
	    { echo "the probe failed under strace in $mode mode"; return 1; }
	strace_canon "$kind" "$run.trace" >"$run.$kind"
	if ! cmp -s "$ref.$kind" "$run.$kind"; then
		echo "the $kind traces differ (< native, > $mode):"
		diff "$ref.$kind" "$run.$kind" | cut -c1-200 | sed 100q
		return 1
	fi
}

n=0
for probe in "probe_io tcp4 all small" "probe_io udp4 all small" \
    "probe_io unix-stream all small" "probe_io unix-dgram all small" \
    "probe_io unix-seqpacket all small" "probe_conn all" "probe_dup all" \
    "probe_scm self" "probe_early"; do
	n=$((n + 1))
	read -r -a cmd <<<"$probe"
	cmd[0]=$PROBES/${cmd[0]}
	check "strace $probe [native]" trace_native "$TEST_TMP/st.$n" \
	    "${cmd[@]}"
	for mode in $WSPSHIM_TEST_MODES; do
		check "strace $probe [$mode]" trace_compare "$mode" \
		    "$TEST_TMP/st.$n" "${cmd[@]}"
	done
done
done_testing
