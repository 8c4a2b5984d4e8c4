#!/usr/bin/env bash
# errno fidelity: the same errno with and without the shim for refused
# connections, EPIPE (and SIGPIPE), EAGAIN, EBADF, ENOTSOCK, EINVAL and
# more; and errno untouched by calls that succeed.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=modes.sh
. "$(dirname "${BASH_SOURCE[0]}")/modes.sh"

need_probes
echo_start

check_modes "ECONNREFUSED and ENOENT on connect" "$PROBES/probe_errno" refused
check_modes "EPIPE on a closed or shut down peer" "$PROBES/probe_errno" epipe
check_modes "SIGPIPE unless MSG_NOSIGNAL" "$PROBES/probe_errno" sigpipe
check_modes "EAGAIN on non-blocking calls" "$PROBES/probe_errno" eagain
check_modes "EBADF on closed and invalid descriptors" \
    "$PROBES/probe_errno" ebadf
check_modes "ENOTSOCK on a pipe and /dev/null" "$PROBES/probe_errno" enotsock
check_modes "EINVAL where Linux gives it" "$PROBES/probe_errno" einval
check_modes "EAFNOSUPPORT, EPROTONOSUPPORT, ENOTCONN and others" \
    "$PROBES/probe_errno" other
check_modes "errno untouched by successful calls" \
    "$PROBES/probe_errno" sentinel
done_testing
