#!/usr/bin/env bash
# Descriptor duplication on sockets (dup, dup2, dup3, F_DUPFD,
# F_DUPFD_CLOEXEC), dup2 onto a socket, dup2(fd, fd), and close_range and
# closefrom over sockets (their peers read end of file).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=modes.sh
. "$(dirname "${BASH_SOURCE[0]}")/modes.sh"

need_probes
echo_start

for form in dup dup2 dup3 dupfd dupfd_cloexec; do
	check_modes "$form: the duplicate carries data, outlives the original" \
	    "$PROBES/probe_dup" "$form"
done
for t in udp4c unix-stream unix-seqpacket; do
	check_modes "dup on $t: the duplicate carries data" \
	    "$PROBES/probe_dup" dup "$t"
done
check_modes "dup2 onto a socket closes it unless duplicated" \
    "$PROBES/probe_dup" dup2onto
check_modes "dup2(fd, fd) is a no-op, dup3(fd, fd) EINVAL" \
    "$PROBES/probe_dup" self
check_modes "close_range closes sockets (peers read EOF)" \
    "$PROBES/probe_dup" close_range
check_modes "close_range CLOSE_RANGE_CLOEXEC marks sockets" \
    "$PROBES/probe_dup" close_range_cloexec
check_modes "closefrom closes sockets (peers read EOF)" \
    "$PROBES/probe_dup" closefrom
done_testing
