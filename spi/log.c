/*
 * log.c - one-line diagnostics to stderr or to the file WSPSHIM_LOG names.
 *
 * The line is formatted on the stack and written with a single write(2)
 * through the libc table, so concurrent lines do not interleave and the
 * shim's own hooks are never re-entered.  WSPSHIM_LOG=off silences it; under
 * secure execution the file setting is ignored (stderr is kept).  The file
 * is opened at the first line, with outfile_open's rules (no symbolic
 * link, the caller's own regular file, created 0600); a relative name is
 * taken from the start-up directory.  A file refused goes to stderr, with
 * one line saying why.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "libc.h"
#include "log.h"
#include "outfile.h"
#include "trust.h"

static int log_fd = -2;		/* -2: not decided yet, -1: off */

/* The core's protection of a descriptor from the program (weak: the unit
 * tests link the logger without the core). */
extern int WSPShimProtectDescriptor(int fd, int protect, int *err)
    __attribute__((weak));

static void log_vline(int fd, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Nothing: writes "wspshim[pid]: " and the formatted text as one line to
 * fd. */
static void
log_vline(int fd, const char *fmt, va_list ap)
{
	char line[512];
	int n, m;

	n = snprintf(line, sizeof(line), "wspshim[%d]: ", (int)getpid());
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		return;
	n += m;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	(void)!libc.write(fd, line, (size_t)n);
}

/* Nothing: log_vline with arguments. */
static void __attribute__((format(printf, 2, 3)))
log_line(int fd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(fd, fmt, ap);
	va_end(ap);
}

/* The descriptor the log goes to, -1 when it is off. */
static int
log_open(void)
{
	char abs[PATH_MAX];
	const char *path, *why = NULL;
	int fd = -1;

	path = getauxval(AT_SECURE) ? NULL : getenv("WSPSHIM_LOG");
	if (path == NULL || *path == '\0')
		return STDERR_FILENO;
	if (strcmp(path, "off") == 0)
		return -1;
	if (trust_absolute(path, abs, sizeof(abs)) != 0)
		why = "no start-up directory to find it from";
	else if ((fd = outfile_open(abs, OUTFILE_APPEND, 0600, &why)) >= 0)
		why = NULL;
	if (why != NULL) {
		log_line(STDERR_FILENO, "log file %s refused: %s; logging to "
		    "stderr", path, why);
		return STDERR_FILENO;
	}
	/* Keep it out of the program's way: above its usual range. */
	int high = libc.fcntl(fd, F_DUPFD_CLOEXEC, 1000), err;
	if (high >= 0) {
		libc.close(fd);
		fd = high;
	}
	/* And safe from its close(), close_range() and dup2(). */
	if (WSPShimProtectDescriptor != NULL)
		WSPShimProtectDescriptor(fd, 1, &err);
	return fd;
}

void
log_msg(const char *fmt, ...)
{
	int saved = errno, fd;
	va_list ap;

	fd = __atomic_load_n(&log_fd, __ATOMIC_ACQUIRE);
	if (fd == -2) {
		int want = log_open(), expected = -2;

		if (!__atomic_compare_exchange_n(&log_fd, &expected, want, 0,
		    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) && want > 2)
			libc.close(want);
		fd = __atomic_load_n(&log_fd, __ATOMIC_ACQUIRE);
	}
	if (fd >= 0) {
		va_start(ap, fmt);
		log_vline(fd, fmt, ap);
		va_end(ap);
	}
	errno = saved;
}
