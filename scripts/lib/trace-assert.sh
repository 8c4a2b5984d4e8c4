# shellcheck shell=bash
# trace-assert.sh - assertions on trace files, for test scripts, in the
# style of bats-assert (docs/tracing.md).  Source it; it defines functions
# and nothing else.  A trace file is what the trace layer writes (wspshim
# trace -o FILE, or WSPSHIM_LAYERS=trace:out=FILE) or what strace -o FILE
# writes: one call a line.
#
#	trace_expect FILE PATTERN		a line matches
#	trace_expect_none FILE PATTERN		no line matches
#	trace_expect_order FILE PATTERN...	lines match in this order (others
#						may come between)
#	trace_expect_count FILE PATTERN N	exactly N lines match
#
# Each returns 0, or prints what it looked for and the trace (its first 60
# lines) and returns 1, so "check NAME trace_expect ..." or a function run
# with set -e fails with a useful message.
#
# Patterns.  By default a PATTERN is a glob in which only '*' is special
# (any characters, brackets and parentheses included): every other
# character stands for itself, so strace's own brackets need no escaping:
#
#	trace_expect t.log 'connect(*, {sa_family=AF_INET, *}, 16) = 0'
#	trace_expect t.log 'getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4]) = 0'
#
# With -r before FILE the PATTERN is an extended regular expression
# (grep -E):
#
#	trace_expect -r t.log '^sendto\([0-9]+, "GET / HTTP/1\.1\\r\\n'
#
# A pattern matches the whole line, once the line is tidied: a "[pid N] "
# or "PID " prefix, a timestamp (t, tt, ttt, r) and a trailing <time> (T)
# are taken off, and the padding before " = " is one space.

# The lines of FILE, tidied as above.
_trace_lines() {
	sed -E -e 's/^\[pid +[0-9]+\] //' -e 's/^[0-9]+ +//' \
	    -e 's/^([0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?|[0-9]+\.[0-9]{6}|'\
' *[0-9]+\.[0-9]{6}) //' \
	    -e 's/ <[0-9]+\.[0-9]+>$//' -e 's/\) {2,}= /) = /' "$1"
}

# The extended regular expression of a glob (only '*' special).
_trace_glob_re() {
	local re
	re=$(printf '%s' "$1" | sed -e 's/[][\.^$+?(){}|\\/]/\\&/g' \
	    -e 's/\*/.*/g')
	printf '%s' "$re"
}

# Set _trace_re from [-r] PATTERN.
_trace_pattern() {
	if [[ $1 == -r ]]; then
		_trace_re=$2
	else
		_trace_re=$(_trace_glob_re "$1")
	fi
}

# Print why, then FILE's first 60 lines; return 1.
_trace_fail() {
	local file=$1
	shift
	printf 'trace_expect: %s\n' "$@"
	printf -- '--- %s:\n' "$file"
	if [[ -f $file ]]; then
		sed -e 60q "$file"
	else
		echo "(no such file)"
	fi
	return 1
}

# Parse "[-r] FILE": sets _trace_mode and _trace_file; returns how many
# arguments it took.
_trace_args() {
	_trace_mode=glob
	if [[ ${1-} == -r ]]; then
		_trace_mode=re
		shift
		_trace_file=${1-}
		return 2
	fi
	_trace_file=${1-}
	return 1
}

# The number of tidied lines of _trace_file matching PATTERN.
_trace_count() {
	local pat=$1
	if [[ $_trace_mode == re ]]; then
		_trace_pattern -r "$pat"
	else
		_trace_pattern "$pat"
	fi
	_trace_lines "$_trace_file" | grep -Ec -- "^(${_trace_re})\$" || true
}

# trace_expect [-r] FILE PATTERN: some line matches.
trace_expect() {
	local n
	_trace_args "$@" || shift $?
	(($# == 1)) || { echo "usage: trace_expect [-r] FILE PATTERN"; return 2; }
	[[ -f $_trace_file ]] || _trace_fail "$_trace_file" "no trace file" ||
	    return 1
	n=$(_trace_count "$1")
	((n > 0)) || _trace_fail "$_trace_file" "no line matches: $1"
}

# trace_expect_none [-r] FILE PATTERN: no line matches.
trace_expect_none() {
	local n
	_trace_args "$@" || shift $?
	(($# == 1)) ||
	    { echo "usage: trace_expect_none [-r] FILE PATTERN"; return 2; }
	[[ -f $_trace_file ]] || _trace_fail "$_trace_file" "no trace file" ||
	    return 1
	n=$(_trace_count "$1")
	((n == 0)) || _trace_fail "$_trace_file" "$n lines match: $1"
}

# trace_expect_count [-r] FILE PATTERN N: exactly N lines match.
trace_expect_count() {
	local n
	_trace_args "$@" || shift $?
	(($# == 2)) ||
	    { echo "usage: trace_expect_count [-r] FILE PATTERN N"; return 2; }
	[[ -f $_trace_file ]] || _trace_fail "$_trace_file" "no trace file" ||
	    return 1
	n=$(_trace_count "$1")
	((n == $2)) ||
	    _trace_fail "$_trace_file" "$n lines match, not $2: $1"
}

# trace_expect_order [-r] FILE PATTERN...: lines match each PATTERN, in
# this order.
trace_expect_order() {
	local pat lineno=0 n found
	_trace_args "$@" || shift $?
	(($# > 0)) ||
	    { echo "usage: trace_expect_order [-r] FILE PATTERN..."; return 2; }
	[[ -f $_trace_file ]] || _trace_fail "$_trace_file" "no trace file" ||
	    return 1
	for pat in "$@"; do
		if [[ $_trace_mode == re ]]; then
			_trace_pattern -r "$pat"
		else
			_trace_pattern "$pat"
		fi
		found=$(_trace_lines "$_trace_file" | tail -n +$((lineno + 1)) |
		    grep -nE -m1 -- "^(${_trace_re})\$" | cut -d: -f1) || true
		if [[ -z $found ]]; then
			_trace_fail "$_trace_file" \
			    "no line matches, after line $lineno: $pat"
			return 1
		fi
		n=$found
		lineno=$((lineno + n))
	done
}
