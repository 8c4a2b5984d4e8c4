#!/usr/bin/env bash
# What the hooks cannot see: sockets closed or replaced behind the shim's
# back (syscall(), fclose() of an fdopen()ed socket) whose numbers come
# back as files and pipes, glibc's internal sockets (getaddrinfo), and
# another preload stacked before or after libwspshim.so.
# shellcheck disable=SC2317 # functions run through check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=modes.sh
. "$(dirname "${BASH_SOURCE[0]}")/modes.sh"

need_probes
echo_start

check_modes "a socket closed by syscall(): its number reused by open()" \
    "$PROBES/probe_behind" sysclose
check_modes "a socket closed by fclose(): its number reused by pipe()" \
    "$PROBES/probe_behind" fclose
check_modes "a pipe put over a socket by syscall(SYS_dup2)" \
    "$PROBES/probe_behind" sysdup2
check_modes "glibc's internal sockets (getaddrinfo AI_ADDRCONFIG)" \
    "$PROBES/probe_behind" getaddrinfo

# probe_stack in MODE with libstack.so preloaded too, before or after
# libwspshim.so (ORDER first or last); native: libstack.so alone.
stacked() {
	local mode=$1 order=$2 stack=$PROBES/libstack.so pre
	mode_env "$mode"
	pre=$stack
	if [[ $mode != native && $order == last ]]; then
		pre=$WSPSHIM_LIB:$stack
	elif [[ $mode != native ]]; then
		pre=$stack:$WSPSHIM_LIB
	fi
	env "${MODE_ENV[@]}" LD_PRELOAD="$pre" \
	    timeout -k 5 "$PROBE_TIMEOUT" "$PROBES/probe_stack"
}

for mode in native $WSPSHIM_TEST_MODES; do
	check "another preload after libwspshim.so sees every send [$mode]" \
	    stacked "$mode" last
	check "another preload before libwspshim.so sees every send [$mode]" \
	    stacked "$mode" first
done
done_testing
