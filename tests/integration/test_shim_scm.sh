#!/usr/bin/env bash
# Descriptors passed with SCM_RIGHTS over AF_UNIX: a TCP socket passed
# to a forked child and used there; TCP and UDP sockets passed to this
# process; MSG_CTRUNC when the control buffer is short.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=modes.sh
. "$(dirname "${BASH_SOURCE[0]}")/modes.sh"

need_probes
echo_start

check_modes "SCM_RIGHTS: a TCP socket passed to a child works there" \
    "$PROBES/probe_scm" fork
check_modes "SCM_RIGHTS: TCP and UDP sockets received work" \
    "$PROBES/probe_scm" self
check_modes "SCM_RIGHTS: MSG_CTRUNC with room for one of two" \
    "$PROBES/probe_scm" ctrunc
done_testing
