#!/usr/bin/env bash
# OpenBSD nc(1), unmodified, against the echo server over TCP (IPv4 and
# IPv6), UDP and AF_UNIX stream and datagram sockets, and as a listening
# server: the same output and exit status in every mode as without the
# shim.
# shellcheck disable=SC2317 # functions run through check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=modes.sh
. "$(dirname "${BASH_SOURCE[0]}")/modes.sh"

need_probes
command -v nc >/dev/null || bail "nc (netcat-openbsd) is installed"
echo_start

port() {
	awk -v k="$1" '$1 == k { print $2 }' "$ECHO_DIR/ports"
}

head -c 200000 /dev/urandom >"$TEST_TMP/big"
printf 'a datagram through nc\n' >"$TEST_TMP/line"

check_modes -i "$TEST_TMP/big" -o "$TEST_TMP/big" "nc TCP round trip" \
    nc -N 127.0.0.1 "$(port tcp4)"
check_modes -i "$TEST_TMP/big" -o "$TEST_TMP/big" "nc TCP over IPv6" \
    nc -N -6 ::1 "$(port tcp6)"
check_modes -i "$TEST_TMP/line" -o "$TEST_TMP/line" "nc UDP round trip" \
    nc -u -w 1 127.0.0.1 "$(port udp4)"
check_modes -i "$TEST_TMP/line" -o "$TEST_TMP/line" "nc UDP over IPv6" \
    nc -u -w 1 -6 ::1 "$(port udp6)"
check_modes -i "$TEST_TMP/big" -o "$TEST_TMP/big" "nc AF_UNIX stream" \
    nc -N -U "$ECHO_DIR/stream.sock"
check_modes -i "$TEST_TMP/line" -o "$TEST_TMP/line" "nc AF_UNIX datagram" \
    nc -u -U -w 1 "$ECHO_DIR/dgram.sock"
check_modes -s 1 "nc to a closed port fails alike" \
    nc -z 127.0.0.1 "$(free_port 127.0.0.1)"

# nc -l in MODE must print exactly what a native nc sends it, and exit 0.
listen_in() {
	local mode=$1 port out=$TEST_TMP/listen.$1 pid i rc=0
	port=$(free_port 127.0.0.1)
	mode_env "$mode"
	env "${MODE_ENV[@]}" timeout 20 nc -l 127.0.0.1 "$port" \
	    >"$out" </dev/null &
	pid=$!
	# Until it listens, the client is refused and tries again (for at
	# most 20 seconds).
	for ((i = SECONDS + 20; SECONDS < i; )); do
		timeout 10 nc -N 127.0.0.1 "$port" <"$TEST_TMP/big" \
		    >/dev/null 2>&1 && break
		sleep 0.1
	done
	wait "$pid" || rc=$?
	if ((rc != 0)); then
		echo "nc -l in $mode mode exited $rc"
		return 1
	fi
	cmp "$out" "$TEST_TMP/big"
}

for mode in native $WSPSHIM_TEST_MODES; do
	check "nc -l receives a TCP stream [$mode]" listen_in "$mode"
done
done_testing
