/*
 * basefile.c - sendfile and splice: the base's members, and the copying
 * forms for providers that must see the bytes.
 *
 * The base makes the kernel's own call on the socket's descriptor, so a
 * chain whose layers forward the members moves the file zero-copy, with
 * the kernel's short counts, offsets, blocking and errno.
 *
 * The copying forms (WSPShimSendFileBySend, WSPShimSpliceByCopy) are what
 * a layer that reads payload calls, and what the core's fallback for an
 * older table is (procfill.c).  They follow the kernel's rules from
 * outside it (PITFALLS 22): bounded pieces on the stack, each handed to a
 * table's WSPSend or WSPRecv; a short send ends the call with the short
 * count, so a non-blocking socket never waits; the file offset (or the
 * caller's offset) moves by exactly the bytes sent; no byte is taken from
 * a pipe or a socket before the other end has taken it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base.h"
#include "errmap.h"
#include "export.h"
#include "libc.h"
#include "netev.h"

#define BASEFILE_CHUNK	16384
#define BASEFILE_MAX	0x7ffff000	/* the kernel's MAX_RW_COUNT */

_Static_assert(sizeof(off_t) == sizeof(int64_t),
    "the members' offsets are the kernel's loff_t");

/* SOCKET_ERROR with code in *err. */
static int
bf_fail(LPINT err, int code)
{
	*err = code;
	return SOCKET_ERROR;
}

/* SOCKET_ERROR with the code of errno, remembered as the native errno. */
static int
bf_fail_errno(LPINT err)
{
	*err = errmap_from_errno(errno);
	return SOCKET_ERROR;
}

/* lpWSPSendFile of the base: the kernel's sendfile on the socket. */
int WSPAPI
base_sendfile(SOCKET s, int hFile, int64_t *lpOffset, size_t cbCount,
    LPDWORD lpNumberOfBytesSent, LPINT lpErrno)
{
	int fd = base_kernel_fd(s);
	ssize_t n;

	if (fd < 0)
		return bf_fail(lpErrno, WSAENOTSOCK);
	if (lpNumberOfBytesSent == NULL)
		return bf_fail(lpErrno, WSAEFAULT);
	if ((n = libc.sendfile(fd, hFile, (off_t *)lpOffset, cbCount)) < 0) {
		if (errno == EAGAIN)
			netev_hook(s, NETEV_SEND_BLOCKED);
		return bf_fail_errno(lpErrno);
	}
	*lpNumberOfBytesSent = (DWORD)n;
	return 0;
}

/* lpWSPSplice of the base: the kernel's splice between the socket and
 * the pipe. */
int WSPAPI
base_splice(SOCKET s, int fd, DWORD dwDirection, size_t cbLength,
    DWORD dwFlags, LPDWORD lpNumberOfBytesMoved, LPINT lpErrno)
{
	int kfd = base_kernel_fd(s);
	ssize_t n;

	if (kfd < 0)
		return bf_fail(lpErrno, WSAENOTSOCK);
	if (lpNumberOfBytesMoved == NULL)
		return bf_fail(lpErrno, WSAEFAULT);
	if (dwDirection == WSPSHIM_SPLICE_TO_SOCKET)
		n = libc.splice(fd, NULL, kfd, NULL, cbLength, dwFlags);
	else if (dwDirection == WSPSHIM_SPLICE_FROM_SOCKET)
		n = libc.splice(kfd, NULL, fd, NULL, cbLength, dwFlags);
	else
		return bf_fail(lpErrno, WSAEINVAL);
	if (n < 0)
		return bf_fail_errno(lpErrno);
	*lpNumberOfBytesMoved = (DWORD)n;
	return 0;
}

/* Send n bytes of buf with t's WSPSend: 0 and *sent, or SOCKET_ERROR. */
static int
bf_send(const WSPPROC_TABLE *t, SOCKET s, char *buf, size_t n,
    LPDWORD sent, LPINT err)
{
	WSABUF b = { .len = (ULONG)n, .buf = buf };

	return t->lpWSPSend(s, &b, 1, sent, 0, NULL, NULL, NULL, err);
}

/*
 * The file offset of hFile, checked as the kernel checks a sendfile's
 * file before it moves a byte: 0 and *pos, or SOCKET_ERROR with its code
 * (not open, or not open for reading: EBADF; a pipe or socket: EINVAL,
 * or ESPIPE when the call has an offset).
 */
static int
bf_file_pos(int hFile, int with_offset, int64_t *pos, LPINT err)
{
	int fl = libc.fcntl(hFile, F_GETFL);
	off_t p;

	if (fl >= 0 && (fl & O_ACCMODE) == O_WRONLY)
		errno = EBADF;
	else if (fl >= 0 && (p = lseek(hFile, 0, SEEK_CUR)) >= 0) {
		*pos = p;
		return 0;
	} else if (fl >= 0 && errno == ESPIPE && !with_offset)
		errno = EINVAL;
	return bf_fail_errno(err);
}

WSPSHIM_EXPORT int WSPAPI
WSPShimSendFileBySend(const WSPPROC_TABLE *lpProcTable, SOCKET s,
    int hFile, int64_t *lpOffset, size_t cbCount,
    LPDWORD lpNumberOfBytesSent, LPINT lpErrno)
{
	char buf[BASEFILE_CHUNK];
	size_t total = 0, want;
	int64_t pos;
	ssize_t got;
	DWORD sent;
	int rc = 0;

	if (lpProcTable == NULL || lpNumberOfBytesSent == NULL)
		return bf_fail(lpErrno, WSAEFAULT);
	if (bf_file_pos(hFile, lpOffset != NULL, &pos, lpErrno) != 0)
		return SOCKET_ERROR;
	if (lpOffset != NULL && (pos = *lpOffset) < 0) {
		errno = EINVAL;
		return bf_fail_errno(lpErrno);
	}
	if (cbCount > BASEFILE_MAX)
		cbCount = BASEFILE_MAX;
	while (total < cbCount) {
		want = cbCount - total < sizeof(buf) ? cbCount - total :
		    sizeof(buf);
		got = pread(hFile, buf, want, (off_t)pos);
		if (got < 0) {
			if (total == 0)
				rc = bf_fail_errno(lpErrno);
			break;
		}
		if (got == 0)
			break;		/* end of file */
		if (bf_send(lpProcTable, s, buf, (size_t)got, &sent,
		    lpErrno) != 0) {
			if (total == 0)
				rc = SOCKET_ERROR;	/* WSAEWOULDBLOCK too */
			break;
		}
		total += sent;
		pos += sent;
		if ((ssize_t)sent < got)
			break;		/* the socket is full: a short count */
	}
	if (rc != 0)
		return rc;
	/* The offset moves by what was sent, and no further. */
	if (lpOffset != NULL)
		*lpOffset = pos;
	else if (total > 0)
		(void)lseek(hFile, (off_t)pos, SEEK_SET);
	*lpNumberOfBytesSent = (DWORD)total;
	return 0;
}

/* Nothing: closes both ends of a scratch pipe, keeping errno. */
static void
bf_close_pair(int p[2])
{
	int saved = errno;

	(void)libc.close(p[0]);
	(void)libc.close(p[1]);
	errno = saved;
}

/*
 * A splice from the pipe fd into s: the bytes are copied out with tee(2)
 * (the pipe keeps them), sent, and only the bytes sent are then taken
 * from the pipe.  tee blocks on an empty pipe exactly as splice would.
 */
static int
bf_splice_to(const WSPPROC_TABLE *t, SOCKET s, int fd, size_t len,
    DWORD flags, LPDWORD moved, LPINT err)
{
	char buf[BASEFILE_CHUNK];
	ssize_t n, got;
	DWORD sent;
	int p[2], rc;

	if (len > sizeof(buf))
		len = sizeof(buf);
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0)
		return bf_fail_errno(err);
	n = tee(fd, p[1], len, flags & SPLICE_F_NONBLOCK);
	if (n <= 0) {
		bf_close_pair(p);
		if (n < 0)
			return bf_fail_errno(err);
		*moved = 0;		/* no writer left: end of stream */
		return 0;
	}
	got = libc.read(p[0], buf, (size_t)n);
	bf_close_pair(p);
	if (got < 0)
		return bf_fail_errno(err);
	if ((rc = bf_send(t, s, buf, (size_t)got, &sent, err)) != 0)
		return rc;
	/* Take what was sent; it is at the head of the pipe. */
	if (sent > 0 && libc.read(fd, buf, sent) < 0)
		return bf_fail_errno(err);
	*moved = sent;
	return 0;
}

/*
 * The room left in pipe fd: 0 and *room, or SOCKET_ERROR (not a pipe:
 * EINVAL, as splice says).  It counts bytes, not the pipe's page slots,
 * so a pipe holding many small writes may take less.
 */
static int
bf_pipe_room(int fd, size_t *room, LPINT err)
{
	int size, queued = 0;

	if ((size = libc.fcntl(fd, F_GETPIPE_SZ)) < 0) {
		if (libc.fcntl(fd, F_GETFL) >= 0)
			errno = EINVAL;
		return bf_fail_errno(err);
	}
	if (libc.ioctl(fd, FIONREAD, &queued) != 0)
		queued = 0;
	*room = queued >= size ? 0 : (size_t)(size - queued);
	return 0;
}

/*
 * A splice from s into the pipe fd: peek at most what the pipe has room
 * for, write it, and receive only what the pipe took.  With a full pipe,
 * SPLICE_F_NONBLOCK gives WSAEWOULDBLOCK; without it the call waits for
 * room, as splice does.
 */
static int
bf_splice_from(const WSPPROC_TABLE *t, SOCKET s, int fd, size_t len,
    DWORD flags, LPDWORD moved, LPINT err)
{
	struct pollfd pf = { .fd = fd, .events = POLLOUT };
	char buf[BASEFILE_CHUNK];
	DWORD got, fl, dontwait = 0;
	WSABUF b;
	size_t room;
	ssize_t w;
	int rc;

	if (flags & SPLICE_F_NONBLOCK)
		dontwait = MSG_DONTWAIT;
	for (;;) {
		if ((rc = bf_pipe_room(fd, &room, err)) != 0)
			return rc;
		if (room > 0)
			break;
		if (flags & SPLICE_F_NONBLOCK) {
			errno = EAGAIN;
			return bf_fail_errno(err);
		}
		if (poll(&pf, 1, -1) < 0)
			return bf_fail_errno(err);
	}
	if (len > room)
		len = room;
	if (len > sizeof(buf))
		len = sizeof(buf);
	b.buf = buf;
	b.len = (ULONG)len;
	fl = MSG_PEEK | dontwait;
	if ((rc = t->lpWSPRecv(s, &b, 1, &got, &fl, NULL, NULL, NULL,
	    err)) != 0)
		return rc;
	if (got == 0) {
		*moved = 0;		/* end of stream */
		return 0;
	}
	if ((w = libc.write(fd, buf, got)) < 0)
		return bf_fail_errno(err);
	/* Receive what the pipe took: it is already there to read. */
	b.len = (ULONG)w;
	fl = MSG_DONTWAIT;
	if (w > 0 && (rc = t->lpWSPRecv(s, &b, 1, &got, &fl, NULL, NULL,
	    NULL, err)) != 0)
		return rc;
	*moved = (DWORD)w;
	return 0;
}

WSPSHIM_EXPORT int WSPAPI
WSPShimSpliceByCopy(const WSPPROC_TABLE *lpProcTable, SOCKET s, int fd,
    DWORD dwDirection, size_t cbLength, DWORD dwFlags,
    LPDWORD lpNumberOfBytesMoved, LPINT lpErrno)
{
	if (lpProcTable == NULL || lpNumberOfBytesMoved == NULL)
		return bf_fail(lpErrno, WSAEFAULT);
	if (dwFlags & ~(DWORD)(SPLICE_F_MOVE | SPLICE_F_NONBLOCK |
	    SPLICE_F_MORE | SPLICE_F_GIFT)) {
		errno = EINVAL;
		return bf_fail_errno(lpErrno);
	}
	if (dwDirection == WSPSHIM_SPLICE_TO_SOCKET)
		return bf_splice_to(lpProcTable, s, fd, cbLength, dwFlags,
		    lpNumberOfBytesMoved, lpErrno);
	if (dwDirection == WSPSHIM_SPLICE_FROM_SOCKET)
		return bf_splice_from(lpProcTable, s, fd, cbLength, dwFlags,
		    lpNumberOfBytesMoved, lpErrno);
	return bf_fail(lpErrno, WSAEINVAL);
}
