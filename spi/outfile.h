/*
 * outfile.h - opening the files the library and its layers write (the
 * log WSPSHIM_LOG names, trace's and stats' out= files) so that a name
 * planted by someone else cannot redirect them.
 *
 * The one rule for them all: the last component is never followed if it
 * is a symbolic link (O_NOFOLLOW), the file must be a regular file with
 * one link (no FIFO, device or planted hard link), a file that is there
 * already must be the caller's own (effective user), and a new one is
 * created with mode 0600 (the caller may ask for up to 0644; the umask
 * applies too).  The descriptor is close-on-exec; opening never blocks.
 * The one exception is the null device (/dev/null and any other name of
 * char device 1:3), which discards what is written: out=/dev/null runs
 * a layer for its side effects, as strace -o /dev/null does.
 *
 * This file is compiled into the core and, as a small static library,
 * into the layers that write files (layers/meson.build), so both follow
 * the same code.  It calls no name the shim interposes.
 */
#ifndef WSPSHIM_OUTFILE_H
#define WSPSHIM_OUTFILE_H

#define OUTFILE_APPEND	1	/* write at the end (a log) */
#define OUTFILE_TRUNC	2	/* start the file empty (a report) */

/*
 * Open path for writing as above (how: OUTFILE_APPEND or OUTFILE_TRUNC;
 * mode: for a new file, at most 0644).  A descriptor, or -1 with errno and
 * *why (may be NULL) set to a phrase for a log line: "it is a symbolic
 * link", "it is not a regular file", "it has other hard links", "it
 * belongs to user N", or strerror's text.
 */
int outfile_open(const char *path, int how, unsigned mode, const char **why);

/*
 * Whether a finished file may be renamed over path: 0 when there is
 * nothing there or the caller's own regular file, 1 when path is the null
 * device (write nothing: the report is discarded), else -1 with *why (a
 * symbolic link, not a regular file, or someone else's file: replacing it
 * would lose it).
 */
int outfile_may_replace(const char *path, const char **why);

#endif
