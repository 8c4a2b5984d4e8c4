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

check "meson install into a DESTDIR" \
    meson install -C "$WSPSHIM_BUILD" --destdir "$dest" --no-rebuild
pc=$(find "$dest" -name wspshim.pc -print -quit 2>/dev/null || true)
[[ -n $pc ]] || bail "wspshim.pc is installed"

# pkg-config reads the installed .pc; the sysroot maps its paths (made for
# the real prefix) into the DESTDIR.
export PKG_CONFIG_PATH=${pc%/*}
export PKG_CONFIG_SYSROOT_DIR=$dest
unset PKG_CONFIG_LIBDIR

# Every public header lies under some -I directory of the .pc, as
# wspshim/NAME.h.
cflags_find_headers() {
	local flag h found
	for h in winsock2.h ws2spi.h; do
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

# pkgconf puts the sysroot in front of variables too; pkg-config does not.
libdir=$(pkg-config --variable=libdir wspshim)
[[ $libdir == "$dest"/* ]] || libdir=$dest$libdir
read -ra flags <<<"$(pkg-config --cflags --libs wspshim)"

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
