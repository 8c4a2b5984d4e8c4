# shellcheck shell=bash
# Helpers shared by scripts/wspshim and scripts/test.  Source it; it defines
# functions and the variables below and changes nothing else.
#
#   WSP_ROOT	the repository (the parent of scripts/)
#   WSP_BUILD	the build directory: $WSPSHIM_BUILD_DIR, else $WSP_ROOT/build

WSP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
WSP_BUILD=${WSPSHIM_BUILD_DIR:-$WSP_ROOT/build}

# Print a message on stderr, prefixed with the program's name.
wsp_warn() {
	printf '%s: %s\n' "${0##*/}" "$*" >&2
}

# Print a message on stderr and exit 1.
wsp_die() {
	wsp_warn "$@"
	exit 1
}

# Whether $1 is a configured meson build directory.
wsp_is_builddir() {
	[[ -f $1/meson-private/coredata.dat && -f $1/build.ninja ]]
}

# Whether any source of the build is newer than the file $1 (or $1 is
# missing).
wsp_sources_newer() {
	local stamp=$1 dirs=() d
	[[ -e $stamp ]] || return 0
	for d in spi shim include examples layers; do
		[[ -d $WSP_ROOT/$d ]] && dirs+=("$WSP_ROOT/$d")
	done
	[[ -n $(find "${dirs[@]}" "$WSP_ROOT/meson.build" \
	    "$WSP_ROOT/meson_options.txt" -newer "$stamp" -print -quit \
	    2>/dev/null) ]]
}

# The Debian packages a build needs.
WSP_BUILD_PACKAGES=(meson ninja-build pkg-config gcc libbsd-dev liburing-dev)

# Install the build packages that are missing, with apt-get (sudo when not
# root), so that the first `scripts/wspshim run` works on a fresh Debian
# machine.  Messages go to stderr.  Returns non-zero when it cannot.
wsp_install_build_deps() {
	local missing=() p sudo=()

	command -v dpkg-query >/dev/null || {
		command -v meson >/dev/null && command -v ninja >/dev/null &&
		    return 0
		wsp_warn "meson and ninja are needed: install" \
		    "${WSP_BUILD_PACKAGES[*]}"
		return 1
	}
	for p in "${WSP_BUILD_PACKAGES[@]}"; do
		[[ $(dpkg-query -W -f='${db:Status-Status}' "$p" \
		    2>/dev/null) == installed ]] || missing+=("$p")
	done
	((${#missing[@]} == 0)) && return 0
	if ((EUID != 0)); then
		command -v sudo >/dev/null || {
			wsp_warn "not root and no sudo to install ${missing[*]}"
			return 1
		}
		sudo=(sudo)
	fi
	wsp_warn "installing ${missing[*]}"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -y update \
	    >&2 &&
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -y install \
	    --no-install-recommends "${missing[@]}" >&2 || {
		wsp_warn "could not install ${missing[*]}"
		return 1
	}
}

# Make sure $WSP_BUILD holds an up-to-date libwspshim.so and the examples.
# Configures the directory on first use (without the unit tests when
# Criterion is not installed).  Quiet: progress and build output go to
# stderr, and only when something has to be built.  Returns non-zero when
# configuring or building fails.
wsp_ensure_built() {
	local lib=$WSP_BUILD/shim/libwspshim.so log opts=()
	local targets=(shim/libwspshim.so examples/catalog-demo)

	if wsp_is_builddir "$WSP_BUILD" && ! wsp_sources_newer "$lib"; then
		return 0
	fi
	wsp_install_build_deps || return 1
	log=$(mktemp) || return 1
	if ! wsp_is_builddir "$WSP_BUILD"; then
		wsp_warn "configuring $WSP_BUILD"
		pkg-config --exists criterion 2>/dev/null || opts+=(-Dtests=false)
		if ! meson setup "${opts[@]}" "$WSP_BUILD" "$WSP_ROOT" \
		    >"$log" 2>&1; then
			cat "$log" >&2
			rm -f "$log"
			wsp_warn "configuring $WSP_BUILD failed"
			return 1
		fi
	fi
	wsp_warn "building libwspshim in $WSP_BUILD"
	if ! ninja -C "$WSP_BUILD" "${targets[@]}" >"$log" 2>&1; then
		cat "$log" >&2
		rm -f "$log"
		wsp_warn "building in $WSP_BUILD failed"
		return 1
	fi
	rm -f "$log"
	# ninja leaves an up-to-date output alone; touch it so the next
	# check is quiet.
	[[ -e $lib ]] && touch "$lib"
	return 0
}
