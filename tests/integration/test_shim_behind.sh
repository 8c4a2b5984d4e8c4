#!/usr/bin/env bash
# What the hooks cannot see: sockets closed or replaced behind the shim's
# back (syscall(), fclose() of an fdopen()ed socket) whose numbers come
# back as files and pipes, glibc's internal sockets (getaddrinfo), and
# another preload stacked before or after libwspshim.so.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=modes.sh
. "$(dirname "${BASH_SOURCE[0]}")/modes.sh"

need_probes
echo_start

check_modes "a socket closed by syscall(): its number reused by open()" \
    "$PROBES/probe_behind" sysclose
check_modes "a TCP socket closed by syscall(), reused by a UDP one: UDP" \
    "$PROBES/probe_behind" sysreuse
check_modes "a socket closed by fclose(): its number reused by pipe()" \
    "$PROBES/probe_behind" fclose
check_modes "a pipe put over a socket by syscall(SYS_dup2)" \
    "$PROBES/probe_behind" sysdup2
check_modes "glibc's internal sockets (getaddrinfo AI_ADDRCONFIG)" \
    "$PROBES/probe_behind" getaddrinfo

for mode in native $WSPSHIM_TEST_MODES; do
	check "another preload after libwspshim.so sees every send [$mode]" \
	    mode_run_stacked "$mode" "$PROBES/libstack.so" last \
	    "$PROBES/probe_stack"
	check "another preload before libwspshim.so sees every send [$mode]" \
	    mode_run_stacked "$mode" "$PROBES/libstack.so" first \
	    "$PROBES/probe_stack"
done
done_testing
