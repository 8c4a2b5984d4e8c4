/*
 * log.c - one-line diagnostics to stderr or to the file WSPSHIM_LOG names.
 *
 * The line is formatted on the stack and written with a single write(2)
 * through the libc table, so concurrent lines do not interleave and the
 * shim's own hooks are never re-entered.  WSPSHIM_LOG=off silences it; under
 * secure execution the file setting is ignored (stderr is kept).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "libc.h"
#include "log.h"

static int log_fd = -2;		/* -2: not decided yet, -1: off */

/* The core's protection of a descriptor from the program (weak: the unit
 * tests link the logger without the core). */
extern int WSPShimProtectDescriptor(int fd, int protect, int *err)
    __attribute__((weak));

static int
log_open(void)
{
	const char *path;
	int fd;

	path = getauxval(AT_SECURE) ? NULL : getenv("WSPSHIM_LOG");
	if (path == NULL || *path == '\0')
		return STDERR_FILENO;
	if (strcmp(path, "off") == 0)
		return -1;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return STDERR_FILENO;
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
	char line[512];
	int saved = errno, n, m, fd;
	va_list ap;

	fd = __atomic_load_n(&log_fd, __ATOMIC_ACQUIRE);
	if (fd == -2) {
		int want = log_open(), expected = -2;

		if (!__atomic_compare_exchange_n(&log_fd, &expected, want, 0,
		    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) && want > 2)
			libc.close(want);
		fd = __atomic_load_n(&log_fd, __ATOMIC_ACQUIRE);
	}
	if (fd < 0)
		goto out;
	n = snprintf(line, sizeof(line), "wspshim[%d]: ", (int)getpid());
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		goto out;
	n += m;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	(void)!libc.write(fd, line, (size_t)n);
out:
	errno = saved;
}
