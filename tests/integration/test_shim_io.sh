#!/usr/bin/env bash
# Echo round trips on every transport with every send/receive family:
# send/recv, sendto/recvfrom, sendmsg/recvmsg, sendmmsg/recvmmsg,
# write/read and writev/readv, each compared with the unpreloaded run;
# sendfile and splice to and from a socket.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=modes.sh
. "$(dirname "${BASH_SOURCE[0]}")/modes.sh"

need_probes
echo_start

for t in tcp4 tcp6 udp4 udp4c udp6 udp6c unix-stream unix-dgram \
    unix-seqpacket; do
	for api in send sendto msg mmsg rw rwv; do
		check_modes "$t $api round trip" "$PROBES/probe_io" "$t" "$api"
	done
done
check_modes "sendfile to a socket, with an offset and without" \
    "$PROBES/probe_file" sendfile
check_modes "splice from a pipe into a socket and back into a pipe" \
    "$PROBES/probe_file" splice
done_testing
