/*
 * wsacheck.h - the check of the probes written as Winsock programs
 * (probe_netev, probe_share): CHECK(cond, fmt, ...) prints
 * "FAIL (pid P, line N, last error E): ..." and exits 1 when cond is false.
 * A header of static definitions: each probe is one file.
 */
#ifndef WSACHECK_H
#define WSACHECK_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <wspshim/winsock2.h>

static int line;	/* of the check that ran last */

static void __attribute__((noreturn, format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	va_list ap;

	printf("FAIL (pid %d, line %d, last error %d): ", (int)getpid(),
	    line, WSAGetLastError());
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(1);
}

#define CHECK(cond, ...) do {						\
	line = __LINE__;						\
	if (!(cond))							\
		fail(__VA_ARGS__);					\
} while (0)

#endif
