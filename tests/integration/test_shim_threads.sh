#!/usr/bin/env bash
# Concurrency: 16 threads opening, using, duplicating and closing
# sockets for 3 seconds; fork while threads do; a signal handler that writes to a socket and
# closes a duplicate while the main thread is busy in socket calls.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=modes.sh
. "$(dirname "${BASH_SOURCE[0]}")/modes.sh"

need_probes
echo_start

check_modes "16 threads: no lost or mixed-up data" \
    "$PROBES/probe_threads" 3
check_modes "fork while 4 threads use sockets: every child works" \
    "$PROBES/probe_threads" fork
check_modes "signal handler write() and close(): no deadlock" \
    "$PROBES/probe_signal" 2
done_testing
