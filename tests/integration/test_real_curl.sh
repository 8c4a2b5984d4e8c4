#!/usr/bin/env bash
# curl(1) fetching pages from python3's http.server on 127.0.0.1 and ::1,
# both unmodified: the same body and exit status in every mode as without
# the shim.  The server runs natively for the client checks, then in each
# mode itself (serving a native curl).
# shellcheck disable=SC2317 # functions run through check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=modes.sh
. "$(dirname "${BASH_SOURCE[0]}")/modes.sh"

need_probes
command -v curl >/dev/null || bail "curl is installed"
command -v python3 >/dev/null || bail "python3 is installed"

www=$TEST_TMP/www
mkdir -p "$www"
printf '<html><body>libwspshim integration test page</body></html>\n' \
    >"$www/index.html"
head -c 1500000 /dev/urandom >"$www/blob"
cat "$www/index.html" "$www/blob" >"$TEST_TMP/both"

# Start http.server on HOST in MODE in the background; HTTP_PID and
# HTTP_PORT name it.  In the script's own shell (not $(...)), so that
# cleanup knows the pid.
http_server() {
	local mode=$1 host=$2
	HTTP_PORT=$(free_port "$host")
	mode_env "$mode"
	env "${MODE_ENV[@]}" timeout 200 python3 -m http.server \
	    --bind "$host" --directory "$www" "$HTTP_PORT" \
	    >"$TEST_TMP/http.$mode.log" 2>&1 </dev/null &
	HTTP_PID=$!
	wait_for_port "$HTTP_PORT" "$host" 20
}

http_server native 127.0.0.1 || bail "http.server listens on 127.0.0.1"
_bg_pids+=("$HTTP_PID")
p4=$HTTP_PORT
http_server native ::1 || bail "http.server listens on ::1"
_bg_pids+=("$HTTP_PID")
p6=$HTTP_PORT
closed=$(free_port 127.0.0.1)

check_modes -o "$www/index.html" "curl fetches a page" \
    curl -sS --max-time 20 "http://127.0.0.1:$p4/index.html"
check_modes -o "$www/blob" "curl fetches 1.5 MB" \
    curl -sS --max-time 20 "http://127.0.0.1:$p4/blob"
check_modes -o "$TEST_TMP/both" "curl fetches two pages on one connection" \
    curl -sS --max-time 20 "http://127.0.0.1:$p4/index.html" \
    "http://127.0.0.1:$p4/blob"
check_modes -o "$www/index.html" "curl fetches a page over IPv6" \
    curl -sS --max-time 20 "http://[::1]:$p6/index.html"
check_modes -s 7 "curl to a closed port fails alike (exit 7)" \
    curl -sS --max-time 20 "http://127.0.0.1:$closed/"
check_modes -s 22 "curl -f on a missing page fails alike (exit 22)" \
    curl -sSf --max-time 20 "http://127.0.0.1:$p4/missing"

# http.server in MODE serves the blob to a native curl (and is stopped).
served_in() {
	local mode=$1 rc=0
	http_server "$mode" 127.0.0.1 || rc=1
	if ((rc == 0)); then
		curl -sS --max-time 20 "http://127.0.0.1:$HTTP_PORT/blob" \
		    >"$TEST_TMP/served.$mode" &&
		    cmp "$TEST_TMP/served.$mode" "$www/blob" || rc=1
	fi
	kill "$HTTP_PID" 2>/dev/null || true
	wait "$HTTP_PID" 2>/dev/null || true
	((rc == 0)) || sed 's/^/server: /' "$TEST_TMP/http.$mode.log"
	return "$rc"
}

for mode in native $WSPSHIM_TEST_MODES; do
	check "http.server serves curl [$mode]" served_in "$mode"
done
done_testing
