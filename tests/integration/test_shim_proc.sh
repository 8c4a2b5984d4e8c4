#!/usr/bin/env bash
# Sockets across processes: fork (the child closes its copy), vfork
# (the child closes and _exits or execs), posix_spawn and exec with a
# socket open (the new program uses it; preloaded through the environment,
# or not when LD_PRELOAD is taken out), and SOCK_CLOEXEC not inherited.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=modes.sh
. "$(dirname "${BASH_SOURCE[0]}")/modes.sh"

need_probes
echo_start

check_modes "fork: both processes use the socket" "$PROBES/probe_proc" fork
check_modes "vfork: the child closes and _exits" "$PROBES/probe_proc" vfork
check_modes "vfork: the child closes and execs" \
    "$PROBES/probe_proc" vfork_exec
check_modes "posix_spawn: the preloaded child uses the inherited socket" \
    "$PROBES/probe_proc" spawn
check_modes "posix_spawn without LD_PRELOAD: the child runs unpreloaded" \
    "$PROBES/probe_proc" spawn_noenv
check_modes "exec: the preloaded program uses the inherited socket" \
    "$PROBES/probe_proc" exec
check_modes "exec without LD_PRELOAD: the program runs unpreloaded" \
    "$PROBES/probe_proc" exec_noenv
check_modes "SOCK_CLOEXEC sockets are not inherited" \
    "$PROBES/probe_proc" cloexec
done_testing
