#!/usr/bin/env bash
# socat(1), unmodified: TCP (IPv4 and IPv6), UDP, AF_UNIX stream, datagram
# and seqpacket round trips through the echo server, and socat as an echo
# server itself (TCP-LISTEN and UNIX-LISTEN with PIPE): the same output
# and exit status in every mode as without the shim.
# shellcheck disable=SC2317 # functions run through check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=modes.sh
. "$(dirname "${BASH_SOURCE[0]}")/modes.sh"

need_probes
command -v socat >/dev/null || bail "socat is installed"
echo_start

port() {
	awk -v k="$1" '$1 == k { print $2 }' "$ECHO_DIR/ports"
}

head -c 300000 /dev/urandom >"$TEST_TMP/big"
printf 'a datagram through socat\n' >"$TEST_TMP/line"
E=$ECHO_DIR

check_modes -i "$TEST_TMP/big" -o "$TEST_TMP/big" "socat TCP round trip" \
    socat - "TCP:127.0.0.1:$(port tcp4)"
check_modes -i "$TEST_TMP/big" -o "$TEST_TMP/big" "socat TCP6 round trip" \
    socat - "TCP6:[::1]:$(port tcp6)"
check_modes -i "$TEST_TMP/line" -o "$TEST_TMP/line" "socat UDP round trip" \
    socat - "UDP:127.0.0.1:$(port udp4)"
check_modes -i "$TEST_TMP/line" -o "$TEST_TMP/line" "socat UDP6 round trip" \
    socat - "UDP6:[::1]:$(port udp6)"
check_modes -i "$TEST_TMP/big" -o "$TEST_TMP/big" "socat AF_UNIX stream" \
    socat - "UNIX-CONNECT:$E/stream.sock"
check_modes -i "$TEST_TMP/line" -o "$TEST_TMP/line" "socat AF_UNIX seqpacket" \
    socat - "UNIX-CONNECT:$E/seqpacket.sock,type=5"
check_modes -i "$TEST_TMP/line" -o "$TEST_TMP/line" "socat AF_UNIX datagram" \
    socat - "UNIX-SENDTO:$E/dgram.sock,bind=$TEST_TMP/c.sock,unlink-early,unlink-close"

# socat serving ADDRESS (with PIPE: an echo) in MODE; a native socat
# client sends a file through CLIENT and must get it back.
serve_in() {
	local mode=$1 listen=$2 client=$3 out=$TEST_TMP/served.$1 pid i rc=0
	mode_env "$mode"
	env "${MODE_ENV[@]}" timeout 20 socat "$listen" PIPE </dev/null \
	    >/dev/null &
	pid=$!
	# Until it listens, the client fails and tries again (for at most 20
	# seconds).
	for ((i = SECONDS + 20; SECONDS < i; )); do
		timeout 10 socat - "$client" <"$TEST_TMP/big" >"$out" \
		    2>/dev/null && [[ -s $out ]] && break
		sleep 0.1
	done
	wait "$pid" || rc=$?
	if ((rc != 0)); then
		echo "the socat server in $mode mode exited $rc"
		return 1
	fi
	cmp "$out" "$TEST_TMP/big"
}

for mode in native $WSPSHIM_TEST_MODES; do
	p=$(free_port 127.0.0.1)
	check "socat TCP-LISTEN echoes a stream [$mode]" serve_in "$mode" \
	    "TCP-LISTEN:$p,bind=127.0.0.1,reuseaddr" "TCP:127.0.0.1:$p"
	p=$(free_port ::1)
	check "socat TCP6-LISTEN echoes a stream [$mode]" serve_in "$mode" \
	    "TCP6-LISTEN:$p,bind=[::1],reuseaddr" "TCP6:[::1]:$p"
	s=$TEST_TMP/listen.$mode.sock
	check "socat UNIX-LISTEN echoes a stream [$mode]" serve_in "$mode" \
	    "UNIX-LISTEN:$s,unlink-early" "UNIX-CONNECT:$s"
done
done_testing
