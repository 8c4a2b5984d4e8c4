#!/usr/bin/env bash
# Python asyncio, unmodified: servers and clients in one process (TCP over
# IPv4 and IPv6, AF_UNIX, UDP, the loop's sock_* calls), and clients of
# the echo server: the same output and exit status in every mode as
# without the shim.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=modes.sh
. "$(dirname "${BASH_SOURCE[0]}")/modes.sh"

need_probes
command -v python3 >/dev/null || bail "python3 is installed"
echo_start

script=$WSPSHIM_ROOT/tests/integration/asyncio_echo.py
check_modes "asyncio servers and clients in one process" \
    python3 "$script" self
check_modes "asyncio clients of the echo server" \
    python3 "$script" echod "$ECHO_DIR"
done_testing
