/*
 * io.c - the data path: send, sendto, recv, recvfrom, read, write, readv,
 * writev, and the _FORTIFY_SOURCE forms __read_chk, __recv_chk and
 * __recvfrom_chk.
 *
 * For a descriptor the shim does not manage (every pipe, file and socket
 * no layer covers) each hook is one bounds-checked table load and a jump
 * to libc.  For a managed socket it builds WSABUFs on the stack and calls
 * the top provider: no allocation, no lock, no syscall of its own.
 */
#include <stdlib.h>
#include <unistd.h>

#include "shim.h"

/* glibc's fortify failure; it terminates the program as the unshimmed
 * call would. */
extern void __chk_fail(void) __attribute__((noreturn));

/* Send through the chain; the byte count or -1. */
static ssize_t
shim_send_bufs(struct wsock *ws, WSABUF *b, DWORD n, int flags,
    const struct sockaddr *to, socklen_t tolen)
{
	DWORD sent = 0;
	int err, rc;

	shim_enter();
	if (to == NULL)
		rc = ws->procs->lpWSPSend(ws->handle, b, n, &sent,
		    (DWORD)flags, NULL, NULL, NULL, &err);
	else
		rc = ws->procs->lpWSPSendTo(ws->handle, b, n, &sent,
		    (DWORD)flags, to, (int)tolen, NULL, NULL, NULL, &err);
	shim_leave();
	return rc == 0 ? (ssize_t)sent : shim_fail(err);
}

/* Receive through the chain; the byte count or -1. */
static ssize_t
shim_recv_bufs(struct wsock *ws, WSABUF *b, DWORD n, int flags,
    struct sockaddr *from, socklen_t *fromlen)
{
	DWORD got = 0, fl = (DWORD)flags;
	int err, rc, flen;

	shim_enter();
	if (from == NULL || fromlen == NULL) {
		rc = ws->procs->lpWSPRecv(ws->handle, b, n, &got, &fl, NULL,
		    NULL, NULL, &err);
	} else {
		flen = (int)*fromlen;
		rc = ws->procs->lpWSPRecvFrom(ws->handle, b, n, &got, &fl,
		    from, &flen, NULL, NULL, NULL, &err);
		if (rc == 0)
			*fromlen = (socklen_t)flen;
	}
	shim_leave();
	return rc == 0 ? (ssize_t)got : shim_fail(err);
}

WSPSHIM_EXPORT ssize_t
send(int fd, const void *buf, size_t n, int flags)
{
	struct wsock *ws = shim_sock(fd, "send");
	WSABUF b;
	ssize_t rc;

	if (likely(ws == NULL))
		return libc.send(fd, buf, n, flags);
	b = shim_buf(buf, n);
	rc = shim_send_bufs(ws, &b, 1, flags, NULL, 0);
	if (unlikely(rc < 0) && shim_stale(fd))
		return libc.send(fd, buf, n, flags);
	return rc;
}

WSPSHIM_EXPORT ssize_t
sendto(int fd, const void *buf, size_t n, int flags,
    const struct sockaddr *addr, socklen_t len)
{
	struct wsock *ws = shim_sock(fd, "sendto");
	WSABUF b;
	ssize_t rc;

	if (likely(ws == NULL))
		return libc.sendto(fd, buf, n, flags, addr, len);
	b = shim_buf(buf, n);
	rc = shim_send_bufs(ws, &b, 1, flags, addr, len);
	if (unlikely(rc < 0) && shim_stale(fd))
		return libc.sendto(fd, buf, n, flags, addr, len);
	return rc;
}

WSPSHIM_EXPORT ssize_t
recv(int fd, void *buf, size_t n, int flags)
{
	struct wsock *ws = shim_sock(fd, "recv");
	WSABUF b;
	ssize_t rc;

	if (likely(ws == NULL))
		return libc.recv(fd, buf, n, flags);
	b = shim_buf(buf, n);
	rc = shim_recv_bufs(ws, &b, 1, flags, NULL, NULL);
	if (unlikely(rc < 0) && shim_stale(fd))
		return libc.recv(fd, buf, n, flags);
	return rc;
}

WSPSHIM_EXPORT ssize_t
recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *addr,
    socklen_t *len)
{
	struct wsock *ws = shim_sock(fd, "recvfrom");
	WSABUF b;
	ssize_t rc;

	if (likely(ws == NULL))
		return libc.recvfrom(fd, buf, n, flags, addr, len);
	b = shim_buf(buf, n);
	rc = shim_recv_bufs(ws, &b, 1, flags, addr, len);
	if (unlikely(rc < 0) && shim_stale(fd))
		return libc.recvfrom(fd, buf, n, flags, addr, len);
	return rc;
}

WSPSHIM_EXPORT ssize_t
read(int fd, void *buf, size_t n)
{
	struct wsock *ws = shim_sock(fd, "read");
	WSABUF b;
	ssize_t rc;

	/* read() of 0 bytes returns at once without taking a datagram;
	 * recv() of 0 bytes would take one, so it stays native. */
	if (likely(ws == NULL) || n == 0)
		return libc.read(fd, buf, n);
	b = shim_buf(buf, n);
	rc = shim_recv_bufs(ws, &b, 1, 0, NULL, NULL);
	if (unlikely(rc < 0) && shim_stale(fd))
		return libc.read(fd, buf, n);
	return rc;
}

WSPSHIM_EXPORT ssize_t
write(int fd, const void *buf, size_t n)
{
	struct wsock *ws = shim_sock(fd, "write");
	WSABUF b;
	ssize_t rc;

	if (likely(ws == NULL))
		return libc.write(fd, buf, n);
	b = shim_buf(buf, n);
	rc = shim_send_bufs(ws, &b, 1, 0, NULL, 0);
	if (unlikely(rc < 0) && shim_stale(fd))
		return libc.write(fd, buf, n);
	return rc;
}

WSPSHIM_EXPORT ssize_t
readv(int fd, const struct iovec *iov, int n)
{
	struct wsock *ws = shim_sock(fd, "readv");
	WSABUF stack[SHIM_STACK_BUFS], *b, *heap;
	ssize_t rc;

	if (likely(ws == NULL))
		return libc.readv(fd, iov, n);
	if ((b = shim_iov_to_wsabuf(iov, n, stack, &heap)) == NULL)
		return -1;
	rc = shim_recv_bufs(ws, b, (DWORD)n, 0, NULL, NULL);
	free(heap);
	if (unlikely(rc < 0) && shim_stale(fd))
		return libc.readv(fd, iov, n);
	return rc;
}

WSPSHIM_EXPORT ssize_t
writev(int fd, const struct iovec *iov, int n)
{
	struct wsock *ws = shim_sock(fd, "writev");
	WSABUF stack[SHIM_STACK_BUFS], *b, *heap;
	ssize_t rc;

	if (likely(ws == NULL))
		return libc.writev(fd, iov, n);
	if ((b = shim_iov_to_wsabuf(iov, n, stack, &heap)) == NULL)
		return -1;
	rc = shim_send_bufs(ws, b, (DWORD)n, 0, NULL, 0);
	free(heap);
	if (unlikely(rc < 0) && shim_stale(fd))
		return libc.writev(fd, iov, n);
	return rc;
}

WSPSHIM_EXPORT ssize_t
__read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	if (n > buflen)
		__chk_fail();
	return read(fd, buf, n);
}

WSPSHIM_EXPORT ssize_t
__recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	if (n > buflen)
		__chk_fail();
	return recv(fd, buf, n, flags);
}

WSPSHIM_EXPORT ssize_t
__recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
    struct sockaddr *addr, socklen_t *len)
{
	if (n > buflen)
		__chk_fail();
	return recvfrom(fd, buf, n, flags, addr, len);
}
