/*
 * file.c - sendfile, sendfile64 and splice on managed sockets.
 *
 * Each is one call down the chain, to the Linux members lpWSPSendFile and
 * lpWSPSplice: layers that do not read payload forward them and the base
 * makes the kernel's own call, zero-copy, with its short counts, offsets,
 * blocking and errno.  A layer that reads the bytes copies them in bounded
 * pieces itself (WSPShimSendFileBySend); an older provider's table gets
 * the same as the core's fallback.  On any other descriptor the real call
 * runs.
 */
#include <fcntl.h>
#include <sys/sendfile.h>

#include "shim.h"

/*
 * shim_stale() for a call with a second descriptor: EBADF may be the
 * file's or the pipe's, so the socket is stale only if its own
 * descriptor is closed.  errno is kept.
 */
static int
shim_file_stale(int sfd)
{
	int saved = errno, open;

	if (saved != EBADF)
		return shim_stale(sfd);
	open = libc.fcntl(sfd, F_GETFD) >= 0;
	errno = saved;
	return !open && shim_stale(sfd);
}

/* sendfile on the chain of ws (the program's out descriptor). */
static ssize_t
shim_sendfile(struct wsock *ws, int out, int in, int64_t *off, size_t count)
{
	DWORD sent = 0;
	int err, rc;

	if (!shim_enter(ws, out))
		return shim_closed();
	rc = ws->procs->lpWSPSendFile(ws->handle, in, off, count, &sent,
	    &err);
	shim_leave();
	return rc == 0 ? (ssize_t)sent : shim_fail(err);
}

WSPSHIM_EXPORT ssize_t
sendfile(int out, int in, off_t *off, size_t count)
{
	struct wsock *ws = shim_sock(out, "sendfile");
	ssize_t rc;

	if (likely(ws == NULL))
		return libc.sendfile(out, in, off, count);
	rc = shim_sendfile(ws, out, in, (int64_t *)off, count);
	if (unlikely(rc < 0) && shim_file_stale(out))
		return libc.sendfile(out, in, off, count);
	return rc;
}

WSPSHIM_EXPORT ssize_t
sendfile64(int out, int in, off64_t *off, size_t count)
{
	return sendfile(out, in, (off_t *)off, count);
}

/* splice between the socket of ws (the program's descriptor sfd) and
 * the pipe fd. */
static ssize_t
shim_splice(struct wsock *ws, int sfd, int fd, DWORD dir, size_t len,
    unsigned flags)
{
	DWORD moved = 0;
	int err, rc;

	if (!shim_enter(ws, sfd))
		return shim_closed();
	rc = ws->procs->lpWSPSplice(ws->handle, fd, dir, len, flags, &moved,
	    &err);
	shim_leave();
	return rc == 0 ? (ssize_t)moved : shim_fail(err);
}

/*
 * splice with a managed socket at one end goes down the chain.  Both ends
 * managed, or an offset at either end, is a call the kernel refuses
 * before moving a byte (one end must be a pipe, and neither a pipe nor a
 * socket takes an offset): it runs natively, so its errno is the kernel's
 * own, in the kernel's order of checks.
 */
WSPSHIM_EXPORT ssize_t
splice(int in, off_t *inoff, int out, off_t *outoff, size_t len,
    unsigned int flags)
{
	struct wsock *wi = shim_sock(in, "splice");
	struct wsock *wo = shim_sock(out, "splice");
	ssize_t rc;
	int sfd;

	if (likely(wi == NULL && wo == NULL) || (wi != NULL && wo != NULL) ||
	    inoff != NULL || outoff != NULL)
		return libc.splice(in, inoff, out, outoff, len, flags);
	if (wi != NULL) {
		sfd = in;
		rc = shim_splice(wi, in, out, WSPSHIM_SPLICE_FROM_SOCKET, len,
		    flags);
	} else {
		sfd = out;
		rc = shim_splice(wo, out, in, WSPSHIM_SPLICE_TO_SOCKET, len,
		    flags);
	}
	if (unlikely(rc < 0) && shim_file_stale(sfd))
		return libc.splice(in, inoff, out, outoff, len, flags);
	return rc;
}
