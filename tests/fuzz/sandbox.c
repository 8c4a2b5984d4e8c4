/*
 * sandbox.c - the file system and signal calls of the layer parameter
 * parsers, stood in for: a parameter string may name any file (out=,
 * trace's out=/etc/passwd) or any signal (stats' signal=SEGV), and a
 * fuzzer must neither create files nor take the sanitizer's signals.
 *
 * Defined in the fuzz program, these names win over libc's for the
 * layer code linked into it.  While sandbox_on is set (fuzz_params.c
 * sets it around each parse), every open gives a new descriptor of
 * /dev/null (closed by the caller as a real one would be) and sigaction
 * changes nothing; otherwise (libFuzzer's own timers and files) they go
 * to libc.
 *
 * The plain names are defined, not the _FILE_OFFSET_BITS=64
 * redirections (open is open64 then): on 64-bit targets they are one ABI.
 */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox.h"

int open(const char *path, int flags, ...);
int open64(const char *path, int flags, ...);
int openat(int dir, const char *path, int flags, ...);
int openat64(int dir, const char *path, int flags, ...);
int creat(const char *path, mode_t mode);
int sigaction(int sig, const struct sigaction *sa, struct sigaction *old);

int sandbox_on;

/* The mode argument of an open that creates. */
#define MODE_ARG(flags, mode) do {					\
	va_list ap;							\
	(mode) = 0;							\
	if ((flags) & (O_CREAT | O_TMPFILE)) {				\
		va_start(ap, flags);					\
		(mode) = va_arg(ap, mode_t);				\
		va_end(ap);						\
	}								\
} while (0)

/* A new descriptor of /dev/null, whatever path names (ENOENT for NULL or
 * an empty path, as the kernel says); outside the sandbox, the real
 * openat. */
static int
sandbox_open(int dir, const char *path, int flags, mode_t mode)
{
	if (!sandbox_on)
		return (int)syscall(SYS_openat, dir, path, flags, mode);
	if (path == NULL || *path == '\0') {
		errno = ENOENT;
		return -1;
	}
	return (int)syscall(SYS_openat, AT_FDCWD, "/dev/null",
	    O_WRONLY | (flags & O_CLOEXEC));
}

int
open(const char *path, int flags, ...)
{
	mode_t mode;

	MODE_ARG(flags, mode);
	return sandbox_open(AT_FDCWD, path, flags, mode);
}

int
open64(const char *path, int flags, ...)
{
	mode_t mode;

	MODE_ARG(flags, mode);
	return sandbox_open(AT_FDCWD, path, flags, mode);
}

int
openat(int dir, const char *path, int flags, ...)
{
	mode_t mode;

	MODE_ARG(flags, mode);
	return sandbox_open(dir, path, flags, mode);
}

int
openat64(int dir, const char *path, int flags, ...)
{
	mode_t mode;

	MODE_ARG(flags, mode);
	return sandbox_open(dir, path, flags, mode);
}

int
creat(const char *path, mode_t mode)
{
	return sandbox_open(AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC,
	    mode);
}

int
sigaction(int sig, const struct sigaction *sa, struct sigaction *old)
{
	static int (*real)(int, const struct sigaction *,
	    struct sigaction *);

	if (!sandbox_on) {
		if (real == NULL)
			real = (int (*)(int, const struct sigaction *,
			    struct sigaction *))dlsym(RTLD_NEXT, "sigaction");
		if (real == NULL)
			abort();
		return real(sig, sa, old);
	}
	if (sig <= 0 || sig >= NSIG) {
		errno = EINVAL;
		return -1;
	}
	if (old != NULL) {
		sigemptyset(&old->sa_mask);
		old->sa_handler = SIG_DFL;
		old->sa_flags = 0;
	}
	return 0;
}
