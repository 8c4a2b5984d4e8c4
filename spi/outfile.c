/*
 * outfile.c - opening output files safely (see outfile.h).
 *
 * The descriptor is closed, and O_NONBLOCK cleared, with raw system calls:
 * this file is linked into the core, where close and fcntl are the shim's
 * own names, and into layers, where the core's libc table is not visible.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "outfile.h"

/* Nothing: fd closed, errno kept. */
static void
outfile_close(int fd)
{
	int e = errno;

	(void)syscall(SYS_close, fd);
	errno = e;
}

/* Whether st is the null device (1, 3), which discards what is written
 * to it: out=/dev/null is how a user runs a layer for its side effects. */
static int
outfile_null(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && major(st->st_rdev) == 1 &&
	    minor(st->st_rdev) == 3;
}

/* 0 when st may be written (or, with links set, be one of several
 * names of the file), else -1 with *why and errno. */
static int
outfile_check(const struct stat *st, int links, const char **why)
{
	static __thread char owner[48];

	if (outfile_null(st))
		return 0;
	if (!S_ISREG(st->st_mode)) {
		*why = "it is not a regular file";
		errno = EINVAL;
		return -1;
	}
	if (!links && st->st_nlink > 1) {
		*why = "it has other hard links";
		errno = EMLINK;
		return -1;
	}
	if (st->st_uid != geteuid()) {
		snprintf(owner, sizeof(owner), "it belongs to user %u",
		    (unsigned)st->st_uid);
		*why = owner;
		errno = EPERM;
		return -1;
	}
	return 0;
}

/* A descriptor of path open for writing, or -1 (see outfile.h). */
int
outfile_open(const char *path, int how, unsigned mode, const char **why)
{
	const char *dummy;
	struct stat st;
	int fd, flags;

	if (why == NULL)
		why = &dummy;
	flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK | (how == OUTFILE_APPEND ? O_APPEND : 0);
	if ((fd = open(path, flags, (mode_t)(mode & 0644))) < 0) {
		*why = errno == ELOOP ? "it is a symbolic link" :
		    strerror(errno);
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		*why = strerror(errno);
		outfile_close(fd);
		return -1;
	}
	if (outfile_check(&st, 0, why) != 0) {
		outfile_close(fd);
		return -1;
	}
	/* Only now, with the file known to be the caller's own. */
	if ((how == OUTFILE_TRUNC && !outfile_null(&st) &&
	    ftruncate(fd, 0) != 0) ||
	    syscall(SYS_fcntl, fd, F_SETFL, flags & O_APPEND) != 0) {
		*why = strerror(errno);
		outfile_close(fd);
		return -1;
	}
	return fd;
}

/* 0 when a file may be renamed over path, or -1 (see outfile.h). */
int
outfile_may_replace(const char *path, const char **why)
{
	const char *dummy;
	struct stat st;

	if (why == NULL)
		why = &dummy;
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : (*why = strerror(errno), -1);
	if (S_ISLNK(st.st_mode)) {
		*why = "it is a symbolic link";
		errno = ELOOP;
		return -1;
	}
	if (outfile_null(&st))
		return 1;
	return outfile_check(&st, 1, why);
}
