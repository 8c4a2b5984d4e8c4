#!/usr/bin/env bash
# The installed library is usable from outside the tree: install the build
# into a temporary DESTDIR, then build tests/outside/ with the flags
# pkg-config gives (C, and the headers from C++) and run the programs
# against the installed libwspshim.so.
# shellcheck disable=SC2317 # functions run through check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

src=$WSPSHIM_ROOT/tests/outside
dest=$TEST_TMP/dest
CC=${CC:-cc}
CXX=${CXX:-g++}
need_lib

pc_install "$dest"

# Every public header lies under some -I directory of the .pc, as
# wspshim/NAME.h.
cflags_find_headers() {
	local flag h found
	for h in winsock2.h ws2spi.h ws2tcpip.h mswsock.h; do
		found=
		for flag in $(pkg-config --cflags-only-I wspshim); do
			[[ -f ${flag#-I}/wspshim/$h ]] && found=1
		done
		[[ -n $found ]] || { echo "no -I dir holds wspshim/$h:" \
		    "$(pkg-config --cflags wspshim)"; return 1; }
	done
}
check "pkg-config knows wspshim" pkg-config --exists --print-errors wspshim
check "pkg-config --cflags gives the directory holding wspshim/" \
    cflags_find_headers

libdir=$PC_LIBDIR
flags=("${PC_FLAGS[@]}")

check "outside/main.c builds with pkg-config flags" \
    "$CC" -Wall -Wextra -Werror -o "$TEST_TMP/outside" "$src/main.c" \
    "${flags[@]}"
check "the public headers compile as strict C99" \
    "$CC" -std=c99 -pedantic -Wall -Wextra -Werror -fsyntax-only \
    "$src/main.c" "${flags[@]}"

# The program resolves libwspshim.so to the installed copy.
loads_installed() {
	LD_LIBRARY_PATH=$libdir ldd "$TEST_TMP/outside" |
	    grep -F "libwspshim.so => $libdir/libwspshim.so"
}
check "outside program loads the installed libwspshim.so" loads_installed
check "outside program: WSASocketW TCP, SO_PROTOCOL_INFOW, loopback" \
    env LD_LIBRARY_PATH="$libdir" "$TEST_TMP/outside"

check "the public headers compile as C++ (g++ -fsyntax-only)" \
    "$CXX" -std=c++11 -pedantic -Wall -Wextra -Werror -fsyntax-only \
    -x c++ "$src/cxx.cc" "${flags[@]}"
check "a C++ program links the C API (extern \"C\")" \
    "$CXX" -Wall -Wextra -Werror -o "$TEST_TMP/cxx" "$src/cxx.cc" \
    "${flags[@]}"
check "the C++ program runs" \
    env LD_LIBRARY_PATH="$libdir" "$TEST_TMP/cxx"
done_testing
