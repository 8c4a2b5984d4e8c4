#!/usr/bin/env bash
# Connection set-up and descriptor flags: non-blocking connect completed
# with epoll (and refused), accept4 and socket() with SOCK_NONBLOCK and
# SOCK_CLOEXEC, O_NONBLOCK switched by F_SETFL and FIONBIO.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=modes.sh
. "$(dirname "${BASH_SOURCE[0]}")/modes.sh"

need_probes
echo_start

check_modes "non-blocking connect completes through epoll" \
    "$PROBES/probe_conn" nbconnect
check_modes "non-blocking connect to a closed port is refused" \
    "$PROBES/probe_conn" refused
check_modes "accept4 sets exactly SOCK_NONBLOCK and SOCK_CLOEXEC" \
    "$PROBES/probe_conn" accept4
check_modes "socket() with SOCK_NONBLOCK|SOCK_CLOEXEC on every transport" \
    "$PROBES/probe_conn" sockflags
check_modes "F_SETFL and FIONBIO switch O_NONBLOCK" \
    "$PROBES/probe_conn" fionbio
done_testing
