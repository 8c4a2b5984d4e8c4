/*
 * sandbox.c - the file system and signal calls of the layer parameter
 * parsers, stood in for: a parameter string may name any file (out=,
 * trace's out=/etc/passwd) or any signal (stats' signal=SEGV), and a
 * fuzzer must neither create files nor take the sanitizer's signals.
 *
 * Defined in the fuzz program, these names win over libc's for the
 * layer code linked into it.  Every open gives a new descriptor of
 * /dev/null (closed by the caller as a real one would be); sigaction
 * records nothing and succeeds.
 *
 * The plain names are defined, not the _FILE_OFFSET_BITS=64
 * redirections (open is open64 then): on 64-bit targets they are one ABI.
 */
#undef _FILE_OFFSET_BITS
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <unistd.h>

int open(const char *path, int flags, ...);
int open64(const char *path, int flags, ...);
int openat(int dir, const char *path, int flags, ...);
int openat64(int dir, const char *path, int flags, ...);
int creat(const char *path, mode_t mode);
int sigaction(int sig, const struct sigaction *sa, struct sigaction *old);

/* A new descriptor of /dev/null, whatever path names (-1 and EINVAL for
 * NULL or an empty path, as the kernel gives ENOENT). */
static int
sandbox_open(const char *path, int flags)
{
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
	return sandbox_open(path, flags);
}

int
open64(const char *path, int flags, ...)
{
	return sandbox_open(path, flags);
}

int
openat(int dir, const char *path, int flags, ...)
{
	(void)dir;
	return sandbox_open(path, flags);
}

int
openat64(int dir, const char *path, int flags, ...)
{
	(void)dir;
	return sandbox_open(path, flags);
}

int
creat(const char *path, mode_t mode)
{
	(void)mode;
	return sandbox_open(path, O_WRONLY);
}

int
sigaction(int sig, const struct sigaction *sa, struct sigaction *old)
{
	(void)sa;
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
