#!/usr/bin/env bash
# Concurrency: 16 threads opening, using, duplicating and closing
# sockets for 3 seconds; fork while threads do; threads making and closing
# sockets while others call on the same numbers; a signal handler that
# writes to a socket and closes a duplicate while the main thread is busy
# in socket calls; a send
# on a duplicate racing with another thread's close of the original.
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
check_modes "socket()/dup()/close() churn against calls on the same numbers" \
    "$PROBES/probe_churn"
check_modes "16 threads mixing socket/dup/dup2/dup3/close/send and fork+exec" \
    "$PROBES/probe_mix" 1
# A send on a duplicate, held open (by librace.so, below the shim) while
# another thread closes the original and reuses its number.
for mode in native $WSPSHIM_TEST_MODES; do
	check "send on a dup while another thread recycles the original [$mode]" \
	    mode_run_stacked "$mode" "$PROBES/librace.so" last \
	    "$PROBES/probe_race"
done
done_testing
