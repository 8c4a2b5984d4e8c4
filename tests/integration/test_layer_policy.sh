#!/usr/bin/env bash
# The policy layer: connect, bind, sendto and accept succeed where a rule
# (or the default) allows them and fail with EACCES where one denies them;
# the first matching rule wins.
# shellcheck disable=SC2317 # functions run through check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_lib
# No catalog file of this machine or user: the built-in catalog, and only
# the layers each check names.
export WSPSHIM_CATALOG=$TEST_TMP/no-catalog
unset WSPSHIM_LAYERS WSPSHIM_LAYER_PATH WSPSHIM_FALLBACK WSPSHIM_MANAGE
[[ -f $WSPSHIM_BUILD/layers/policy/libwsp_policy.so ]] ||
    bail "the policy layer is built"
PY=$(python3 -c 'import sys; print(sys.executable)')

# Two listeners on 127.0.0.1 and one on ::1, run natively (not under the
# policy), each accepting and closing connections.  Their ports are in
# TEST_TMP/ports: "A B V6".
cat >"$TEST_TMP/listen.py" <<'PY'
import os, selectors, socket, sys
sel = selectors.DefaultSelector()
ports = []
for fam, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET, "127.0.0.1"),
    (socket.AF_INET6, "::1")):
    s = socket.socket(fam)
    s.bind((host, 0))
    s.listen(64)
    sel.register(s, selectors.EVENT_READ)
    ports.append(str(s.getsockname()[1]))
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(" ".join(ports) + "\n")
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    for key, _ in sel.select(30):
        key.fileobj.accept()[0].close()
PY
bg "$PY" "$TEST_TMP/listen.py" "$TEST_TMP/ports"
for ((i = 0; i < 100; i++)); do
	[[ -s $TEST_TMP/ports ]] && break
	sleep 0.1
done
[[ -s $TEST_TMP/ports ]] || bail "the listeners started"
read -r A B V6 <"$TEST_TMP/ports"
export A B V6

# Print one word per operation in argv: "ok" or the errno name.
#   connect:HOST:PORT  bind:HOST:PORT  sendto:HOST:PORT  (HOST may be
#   "::1"; PORT may be $A, $B or $V6, taken from the environment)
#   accept: a listener under the policy, and a connection to it
#   unix: connect to an AF_UNIX stream socket
cat >"$TEST_TMP/ops.py" <<'PY'
import errno, os, socket, sys, tempfile
out = []
def attempt(f):
    try:
        f()
        out.append("ok")
    except OSError as e:
        out.append(errno.errorcode.get(e.errno, str(e.errno)))
def hostport(spec):
    host, _, port = spec.rpartition(":")
    port = os.environ.get(port, port)
    return host, int(port)
for op in sys.argv[1:]:
    kind, _, spec = op.partition(":")
    if kind in ("connect", "bind", "sendto"):
        host, port = hostport(spec)
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        typ = socket.SOCK_DGRAM if kind == "sendto" else socket.SOCK_STREAM
        s = socket.socket(fam, typ)
        s.settimeout(10)
        if kind == "connect":
            attempt(lambda: s.connect((host, port)))
        elif kind == "bind":
            attempt(lambda: s.bind((host, port)))
        else:
            attempt(lambda: s.sendto(b"x", (host, port)))
        s.close()
    elif kind == "accept":
        l = socket.socket()
        l.bind(("127.0.0.1", 0))
        l.listen(1)
        l.settimeout(10)
        c = socket.create_connection(l.getsockname(), timeout=10)
        attempt(lambda: l.accept()[0].close())
        c.close()
        l.close()
    elif kind == "unix":
        d = tempfile.mkdtemp()
        l = socket.socket(socket.AF_UNIX)
        l.bind(os.path.join(d, "s"))
        l.listen(1)
        c = socket.socket(socket.AF_UNIX)
        c.settimeout(10)
        attempt(lambda: c.connect(os.path.join(d, "s")))
        c.close()
        l.close()
print(" ".join(out))
PY

# expect RULES "WORDS" OPS...: ops.py under policy:RULES prints WORDS.
expect() {
	local rules=$1 want=$2 got
	shift 2
	got=$(WSPSHIM_LAYERS="policy:$rules" preload "$PY" "$TEST_TMP/ops.py" \
	    "$@")
	echo "rules: $rules"
	echo "want:  $want"
	echo "got:   $got"
	[[ $got == "$want" ]]
}

check "no rules: everything is allowed" \
    expect "" "ok ok ok ok ok" connect:127.0.0.1:A connect:::1:V6 \
    bind:127.0.0.1:0 sendto:127.0.0.1:9 accept
check "deny connect to one port: EACCES there, the other port connects" \
    expect "deny connect 127.0.0.1 port $A" "EACCES ok" \
    connect:127.0.0.1:A connect:127.0.0.1:B
check "deny connect 127.0.0.0/8 (CIDR): EACCES for 127.0.0.1 and 127.0.0.9" \
    expect "deny connect 127.0.0.0/8" "EACCES EACCES ok" \
    connect:127.0.0.1:A connect:127.0.0.9:A connect:::1:V6
check "deny connect inet6: IPv6 denied, IPv4 allowed" \
    expect "deny connect inet6" "EACCES ok" connect:::1:V6 \
    connect:127.0.0.1:A
check "deny connect ::1/128 (IPv6 CIDR)" \
    expect "deny connect ::1/128" "EACCES ok" connect:::1:V6 \
    connect:127.0.0.1:B
check "an IPv6 prefix shorter than the address: ::/96 covers ::1" \
    expect "deny ::/96" "EACCES" connect:::1:V6
check "IPv4-mapped IPv6 is matched as IPv4" \
    expect "deny connect 127.0.0.1" "EACCES" "connect:::ffff:127.0.0.1:A"
check "first match wins: allow one port, then deny the network" \
    expect "allow connect 127.0.0.1 port $B; deny connect 127.0.0.0/8" \
    "EACCES ok" connect:127.0.0.1:A connect:127.0.0.1:B
check "default deny: only what a rule allows" \
    expect "default deny; allow connect 127.0.0.1 port $A" \
    "ok EACCES EACCES EACCES" connect:127.0.0.1:A connect:127.0.0.1:B \
    connect:::1:V6 bind:127.0.0.1:0
check "a port range" \
    expect "deny connect port 1-1023" "EACCES ok" connect:127.0.0.1:9 \
    connect:127.0.0.1:A
check "deny bind to a port: EACCES; port 0 binds" \
    expect "deny bind port 5999" "EACCES ok" bind:127.0.0.1:5999 \
    bind:127.0.0.1:0
check "deny bind inet6: IPv6 bind denied" \
    expect "deny bind inet6" "EACCES ok" bind:::1:0 bind:127.0.0.1:0
check "deny sendto ::1 port 9: that datagram EACCES, another goes" \
    expect "deny sendto ::1 port 9" "EACCES ok" sendto:::1:9 sendto:::1:10
check "deny sendto does not touch connect" \
    expect "deny sendto" "ok EACCES" connect:127.0.0.1:A sendto:127.0.0.1:9
check "deny accept 127.0.0.1: accept gives EACCES" \
    expect "deny accept 127.0.0.1" "EACCES" accept
check "deny connect does not touch accept" \
    expect "deny connect 127.0.0.1 port $A" "ok" accept
check "deny connect unix: AF_UNIX connect EACCES, TCP allowed" \
    expect "deny connect unix" "EACCES ok" unix connect:127.0.0.1:A
check "rules may be separated by ',' and say default=allow" \
    expect "deny connect port $A\\, default=allow" "EACCES ok" \
    connect:127.0.0.1:A connect:127.0.0.1:B

bad_rule() {
	local out
	out=$(WSPSHIM_LAYERS="policy:deny connect 300.1.2.3" preload "$PY" -c '
import errno, socket
try:
    socket.socket()
    print("made a socket")
except OSError as e:
    print(errno.errorcode[e.errno])' 2>&1)
	echo "$out"
	grep -q 'wsp_policy: bad parameters' <<<"$out"
	[[ $(tail -n 1 <<<"$out") == ELIBACC ]]
}
check "a rule it cannot read: a message on stderr and ELIBACC" bad_rule

# curl: allowed by one rule, refused by another.
curl_policy() {
	local port rc=0 allow
	mkdir -p "$TEST_TMP/www"
	echo hello >"$TEST_TMP/www/index.html"
	port=$(free_port 127.0.0.1)
	bg "$PY" -m http.server --bind 127.0.0.1 --directory "$TEST_TMP/www" \
	    "$port"
	wait_for_port "$port"
	allow="allow connect 127.0.0.1 port $port; default deny"
	WSPSHIM_LAYERS="policy:$allow" preload curl -sS --max-time 10 \
	    "http://127.0.0.1:$port/" | grep -x hello
	WSPSHIM_LAYERS="policy:deny connect port $port" preload curl -sS \
	    --max-time 10 "http://127.0.0.1:$port/" || rc=$?
	echo "denied curl: exit $rc"
	((rc == 7))	# curl: failed to connect
}
if command -v curl >/dev/null; then
	check "curl: allowed by a rule, refused by another" curl_policy
else
	skip "curl: allowed by a rule, refused by another" "no curl"
fi
# A relative LD_PRELOAD reaches a child that starts in another directory:
# the shim makes its own entry absolute at start-up, so a shell's "cd"
# before running a program is no way around the policy.
relative_preload() {
	local rel got
	rel=$(realpath --relative-to="$TEST_TMP" "$WSPSHIM_LIB")
	got=$(cd "$TEST_TMP" && LD_PRELOAD=$rel \
	    WSPSHIM_LAYERS="policy:deny connect 127.0.0.1 port $A" \
	    sh -c 'cd / && echo "$LD_PRELOAD" >&2 && exec "$0" "$@"' \
	    "$PY" "$TEST_TMP/ops.py" connect:127.0.0.1:A connect:127.0.0.1:B \
	    2>"$TEST_TMP/rel.err")
	echo "LD_PRELOAD given: $rel; the child saw: $(cat "$TEST_TMP/rel.err")"
	echo "got: $got"
	[[ $got == "EACCES ok" && $(cat "$TEST_TMP/rel.err") == /* ]]
}
check "a relative LD_PRELOAD: a child after cd is still under the policy" \
    relative_preload
done_testing
