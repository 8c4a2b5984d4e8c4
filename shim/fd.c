/*
 * fd.c - the descriptor life cycle: close, close_range, closefrom, dup,
 * dup2, dup3, fcntl and fcntl64.
 *
 * dup()ed descriptors share one chain socket and its WSPCloseSocket runs
 * when the last one closes, as the kernel does.  Every call that returns a
 * descriptor number drops whatever stale entry the table still had for it.
 * In a vfork() child, which shares the parent's memory, the hooks leave the
 * tables alone and only make the real calls.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <unistd.h>
#include <linux/close_range.h>

#include "log.h"
#include "shim.h"

WSPSHIM_EXPORT int
close(int fd)
{
	struct wsock *ws = fdtab_get(fd);
	int rc;

	if (likely(ws == NULL))
		return libc.close(fd);
	if (wsp_tls.depth != 0 || shim_in_vfork_child()) {
		/* The library's own descriptor (or a vfork child's copy). */
		if (wsp_tls.depth != 0)
			core_forget(fd);
		return libc.close(fd);
	}
	if (ws == FDTAB_PROTECTED) {
		errno = EBADF;		/* not the program's to close */
		return -1;
	}
	wsp_tls.call = "close";
	rc = core_close_sock(fd, ws);
	return rc == 0 ? 0 : shim_fail(-rc);
}

/* Retire the managed descriptors in [first, last] from their chains
 * (the last one of a socket runs its WSPCloseSocket) without closing them:
 * the real close_range() that follows does, so the kernel sees exactly the
 * call the program made.  One with a call in flight is closed as close()
 * closes it, which leaves it pending until the call returns. */
static void
shim_close_managed(unsigned int first, unsigned int last)
{
	unsigned int fd, hi = fdtab_high();

	if (last >= hi)
		last = hi == 0 ? 0 : hi - 1;
	for (fd = first; fd <= last && fd < hi; fd++) {
		struct wsock *ws = fdtab_get((int)fd);
		int err;

		if (ws == NULL || fdtab_keep_open(ws))
			continue;
		/* A call in flight on it still needs the number: closed as
		 * close() would (pending), the range then leaves it. */
		if (fdtab_is_sock(ws) && (atomic_load(&fdtab_calls[fd]) &
		    FDTAB_CALLS) != 0)
			core_close((int)fd, &err);
		else
			core_forget((int)fd);
	}
}

/* The real close_range over [first, last], leaving protected descriptors
 * and pending closes (which close themselves when the calls in flight on
 * their sockets end) open: the range is closed in the pieces between
 * them. */
static int
shim_close_range_real(unsigned int first, unsigned int last, int flags)
{
	unsigned int fd, hi = fdtab_high(), from = first;
	int rc = 0;

	if (likely(__atomic_load_n(&fdtab_protected, __ATOMIC_RELAXED) == 0 &&
	    __atomic_load_n(&fdtab_npending, __ATOMIC_RELAXED) == 0))
		return libc.close_range(first, last, flags);
	for (fd = first; fd <= last && fd < hi; fd++) {
		if (!fdtab_keep_open(fdtab_get((int)fd)))
			continue;
		if (fd > from && libc.close_range(from, fd - 1, flags) != 0)
			rc = -1;
		from = fd + 1;
	}
	if (from <= last && libc.close_range(from, last, flags) != 0)
		rc = -1;
	return rc;
}

WSPSHIM_EXPORT int
close_range(unsigned int first, unsigned int last, int flags)
{
	if (first > last || wsp_tls.depth != 0 || shim_in_vfork_child() ||
	    (flags & CLOSE_RANGE_CLOEXEC))
		return libc.close_range(first, last, flags);
	wsp_tls.call = "close_range";
	shim_close_managed(first, last);
	return shim_close_range_real(first, last, flags);
}

WSPSHIM_EXPORT void
closefrom(int lowfd)
{
	unsigned int first = lowfd < 0 ? 0 : (unsigned int)lowfd;
	unsigned int fd, hi;

	if (wsp_tls.depth == 0 && !shim_in_vfork_child()) {
		wsp_tls.call = "closefrom";
		shim_close_managed(first, ~0u);
	}
	if (shim_close_range_real(first, ~0u, 0) == 0)
		return;
	/* Kernels before 5.9: close what the table says is open, then
	 * every number up to the descriptor limit. */
	hi = (unsigned int)sysconf(_SC_OPEN_MAX);
	for (fd = first; fd < hi; fd++)
		if (!fdtab_keep_open(fdtab_get((int)fd)))
			libc.close((int)fd);
}

/*
 * Whether dup2/dup3 onto fd2 must be refused: it is protected (EBADF), or
 * the program closed it while calls were in flight on its socket and
 * those calls still use the number (EBUSY, Linux's answer for a number
 * that an open() has taken but not installed yet: the number is not free
 * until they return).
 */
static int
shim_dup_onto_protected(int fd2)
{
	struct wsock *v = fdtab_get(fd2);

	if (likely(!fdtab_keep_open(v)) || wsp_tls.depth != 0)
		return 0;
	if (v == FDTAB_PROTECTED) {
		errno = EBADF;
		return 1;
	}
	if (!core_pending(fd2))
		return 0;
	errno = EBUSY;
	return 1;
}

/* After a dup family call returned fd2 for fd: share or drop entries. */
static int
shim_dup_done(int fd, int fd2)
{
	if (fd2 < 0 || wsp_tls.depth != 0)
		return fd2;
	if (likely(fdtab_get(fd) == NULL && fdtab_get(fd2) == NULL))
		return fd2;
	if (shim_in_vfork_child())
		return fd2;
	wsp_tls.call = "dup";
	if (fdtab_get(fd) == FDTAB_ADOPT)
		core_adopt(fd);
	if (fdtab_get(fd) == FDTAB_PROTECTED)
		fd = -1;		/* the copy is the program's own */
	core_dup(fd, fd2);
	return fd2;
}

/*
 * Whether fd, a managed socket, is held (core_hold) across a dup of it: a
 * close of fd racing the dup then waits, so the copy the kernel makes and
 * the socket the table shares with it are the same one (without it, fd
 * could be closed and made again between the two).
 */
static int
shim_dup_hold(int fd)
{
	struct wsock *ws = fdtab_get(fd);
	SOCKET b;

	return fdtab_is_sock(ws) && wsp_tls.depth == 0 &&
	    !shim_in_vfork_child() && core_hold(ws, fd, &b);
}

/* shim_dup_done(), then the end of the hold. */
static int
shim_dup_release(int held, int fd, int fd2)
{
	fd2 = shim_dup_done(fd, fd2);
	if (held)
		core_unhold(fd);
	return fd2;
}

WSPSHIM_EXPORT int
dup(int fd)
{
	int held = shim_dup_hold(fd);

	return shim_dup_release(held, fd, libc.dup(fd));
}

WSPSHIM_EXPORT int
dup2(int fd, int fd2)
{
	int held;

	if (fd == fd2)
		return libc.dup2(fd, fd2);
	if (shim_dup_onto_protected(fd2))
		return -1;
	held = shim_dup_hold(fd);
	return shim_dup_release(held, fd, libc.dup2(fd, fd2));
}

WSPSHIM_EXPORT int
dup3(int fd, int fd2, int flags)
{
	int held;

	if (fd == fd2)
		return libc.dup3(fd, fd2, flags);	/* EINVAL, as native */
	if (shim_dup_onto_protected(fd2))
		return -1;
	held = shim_dup_hold(fd);
	return shim_dup_release(held, fd, libc.dup3(fd, fd2, flags));
}

/* F_SETFL on a managed socket: the O_NONBLOCK part goes down the chain as
 * FIONBIO (layers see the mode change, and may refuse it), then the real
 * fcntl applies the whole flag word. */
static int
shim_setfl(struct wsock *ws, int fd, int cmd, void *arg)
{
	ULONG on = ((intptr_t)arg & O_NONBLOCK) != 0;
	DWORD n;
	int err, rc;

	if (!shim_enter(ws, fd))
		return shim_closed();
	rc = ws->procs->lpWSPIoctl(ws->handle, FIONBIO, &on, sizeof(on), NULL,
	    0, &n, NULL, NULL, NULL, &err);
	shim_leave();
	if (rc != 0)
		return shim_fail(err);
	return libc.fcntl(fd, cmd, arg);
}

/* The body of fcntl and fcntl64 (their argument read as a word, as glibc
 * does itself). */
static int
shim_fcntl(int fd, int cmd, void *arg)
{
	struct wsock *ws;
	int held;

	switch (cmd) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		held = shim_dup_hold(fd);	/* before the copy is made */
		return shim_dup_release(held, fd, libc.fcntl(fd, cmd, arg));
	case F_SETFL:
		if ((ws = shim_sock(fd, "fcntl")) != NULL)
			return shim_setfl(ws, fd, cmd, arg);
		break;
	}
	return libc.fcntl(fd, cmd, arg);
}

WSPSHIM_EXPORT int
fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return shim_fcntl(fd, cmd, arg);
}

WSPSHIM_EXPORT int
fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return shim_fcntl(fd, cmd, arg);
}
