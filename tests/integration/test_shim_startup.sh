#!/usr/bin/env bash
# Start-up and fortified builds: sockets made by a library constructor
# before the shim's own (adopted on first use), one used after the shim's
# destructors; read/recv/recvfrom through __read_chk, __recv_chk and
# __recvfrom_chk in a _FORTIFY_SOURCE=2 program.
# shellcheck disable=SC2317 # functions run through check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=modes.sh
. "$(dirname "${BASH_SOURCE[0]}")/modes.sh"

need_probes
echo_start

# Say which of the _chk functions the fortified probe $1 imports; 1 if
# one is missing.
chk_imports() {
	local f missing=0
	for f in __read_chk __recv_chk __recvfrom_chk; do
		if nm -D --undefined-only "$1" | grep -w "$f" >/dev/null; then
			echo "imports $f"
		else
			echo "does not import $f"
			missing=1
		fi
	done
	return "$missing"
}

check_modes "sockets from a constructor before the shim's work" \
    "$PROBES/probe_early"
check "probe_fortify goes through __read_chk, __recv_chk, __recvfrom_chk" \
    chk_imports "$PROBES/probe_fortify"
check_modes "fortified read, recv, recvfrom" "$PROBES/probe_fortify"
done_testing
