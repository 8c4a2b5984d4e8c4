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
static inline __attribute__((always_inline)) ssize_t
shim_send_bufs(struct wsock *ws, int fd, WSABUF *b, DWORD n, int flags,
    const struct sockaddr *to, socklen_t tolen)
{
	DWORD sent = 0;
	int err, rc;

	if (!shim_enter(ws, fd))
		return shim_closed();
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
static inline __attribute__((always_inline)) ssize_t
shim_recv_bufs(struct wsock *ws, int fd, WSABUF *b, DWORD n, int flags,
    struct sockaddr *from, socklen_t *fromlen)
{
	DWORD got = 0, fl = (DWORD)flags;
	int err, rc;

	if (!shim_enter(ws, fd))
		return shim_closed();
	if (from == NULL)
		rc = ws->procs->lpWSPRecv(ws->handle, b, n, &got, &fl, NULL,
		    NULL, NULL, &err);
	else	/* the length pointer as it is: the kernel judges it */
		rc = ws->procs->lpWSPRecvFrom(ws->handle, b, n, &got, &fl,
		    from, (LPINT)fromlen, NULL, NULL, NULL, &err);
	shim_leave();
	return rc == 0 ? (ssize_t)got : shim_fail(err);
}

/* The calls the single-buffer hooks stand for. */
enum shim_io_op {
	IO_SEND, IO_SENDTO, IO_RECV, IO_RECVFROM, IO_READ, IO_WRITE,
	IO_READV, IO_WRITEV
};

/* The native call for a single-buffer op: what a pass-through hook does,
 * and what a managed one redoes after finding its descriptor stale. */
static ssize_t
shim_io_native(enum shim_io_op op, int fd, void *buf, size_t n, int flags,
    struct sockaddr *addr, socklen_t alen, socklen_t *palen)
{
	switch (op) {
	case IO_SEND:
		return libc.send(fd, buf, n, flags);
	case IO_SENDTO:
		return libc.sendto(fd, buf, n, flags, addr, alen);
	case IO_RECV:
		return libc.recv(fd, buf, n, flags);
	case IO_RECVFROM:
		return libc.recvfrom(fd, buf, n, flags, addr, palen);
	case IO_READ:
		return libc.read(fd, buf, n);
	case IO_WRITE:
		return libc.write(fd, buf, n);
	default:
		break;
	}
	errno = EINVAL;
	return -1;
}

static const char *const shim_io_name[] = {
	[IO_SEND] = "send", [IO_SENDTO] = "sendto", [IO_RECV] = "recv",
	[IO_RECVFROM] = "recvfrom", [IO_READ] = "read", [IO_WRITE] = "write",
	[IO_READV] = "readv", [IO_WRITEV] = "writev",
};

/*
 * A chain with no layer is the built-in base alone, and what the base does
 * with one buffer is exactly the native call on the descriptor the program
 * used (the base's own tests hold it to that).  So the hooks make that call
 * themselves instead of the SPI round trip: the same result and errno,
 * with WSAGetLastError set as the base would set it on failure.
 */
static __attribute__((noinline, cold)) ssize_t
shim_direct_failed(void)
{
	wsp_tls.last_error = errmap_to_wsa(errno);
	return -1;
}

#define SHIM_DIRECT(call) do {						\
	ssize_t rc_ = (call);						\
	return rc_ < 0 ? shim_direct_failed() : rc_;			\
} while (0)

/* Whether the one-buffer hooks may make the call on slot themselves: a
 * base-only chain whose base need not see the call (core.h). */
static inline int
shim_direct(const struct wsock *slot)
{
	return (__atomic_load_n(&slot->flags, __ATOMIC_RELAXED) &
	    WSOCK_DIRECT) != 0;
}

/* Whether op sends. */
static inline int
shim_io_sends(enum shim_io_op op)
{
	return op == IO_SEND || op == IO_SENDTO || op == IO_WRITE ||
	    op == IO_WRITEV;
}

/*
 * The managed half of the single-buffer hooks.  slot is what the fd table
 * held (a socket or a marker).  Always inlined into one small wrapper per
 * operation below, so op is a constant in each copy: no switch on it, no
 * name lookup, and no arguments the operation does not use.
 */
static inline __attribute__((always_inline)) ssize_t
shim_io1(enum shim_io_op op, struct wsock *slot, int fd, void *buf,
    size_t n, int flags, struct sockaddr *addr, socklen_t alen,
    socklen_t *palen)
{
	struct wsock *ws = shim_resolve(slot, fd, shim_io_name[op]);
	WSABUF b;
	ssize_t rc;

	/* read() of 0 bytes returns at once without taking a datagram;
	 * recv() of 0 bytes would take one, so it stays native. */
	if (unlikely(ws == NULL) || (op == IO_READ && n == 0))
		return shim_io_native(op, fd, buf, n, flags, addr, alen, palen);
	b = shim_buf(buf, n);
	if (shim_io_sends(op))
		rc = shim_send_bufs(ws, fd, &b, 1, flags,
		    op == IO_SENDTO ? addr : NULL, alen);
	else
		rc = shim_recv_bufs(ws, fd, &b, 1, flags,
		    op == IO_RECVFROM ? addr : NULL, palen);
	if (unlikely(rc < 0) && shim_stale(fd))
		return shim_io_native(op, fd, buf, n, flags, addr, alen, palen);
	return rc;
}

/*
 * A single-buffer call on its way down a chain.  The chain gets pointers
 * into it, so the compiler keeps the record in memory across the call:
 * the path that succeeds then saves no registers for the arguments that
 * only a failure needs again.
 */
struct shim_io_call {
	WSABUF		b;
	DWORD		done;		/* bytes sent or received */
	DWORD		fl;		/* a receive's flags, in and out */
	int		err;
	int		rc;		/* the chain's result */
	int		fd;
	int		flags;		/* as the program gave them */
	socklen_t	alen;
	size_t		n;		/* the length before WSABUF's clamp */
	struct sockaddr	*addr;
	socklen_t	*palen;
};

/* After the chain failed: errno and WSAGetLastError, and the native call
 * again when the descriptor was stale (see shim_stale). */
static __attribute__((noinline, cold)) ssize_t
shim_io1_failed(enum shim_io_op op, struct shim_io_call *c)
{
	shim_fail(c->err);
	if (!shim_stale(c->fd))
		return -1;
	return shim_io_native(op, c->fd, c->b.buf, c->n, c->flags, c->addr,
	    c->alen, c->palen);
}

/*
 * The managed half for a socket called from outside the chain (the hook
 * checked both): shim_resolve(), shim_enter() and shim_leave() with what
 * the hook knows folded in (depth is 0, so it becomes 1 and 0 again),
 * the socket held across the call as they hold it.
 */
static inline __attribute__((always_inline)) ssize_t
shim_io1_chain(enum shim_io_op op, struct wsock *ws, int fd, void *buf,
    size_t n, int flags, struct sockaddr *addr, socklen_t alen,
    socklen_t *palen)
{
	struct shim_io_call c;
	SOCKET b;
	int rc;

	c.b = shim_buf(buf, n);
	c.done = 0;
	c.fd = fd;
	c.flags = flags;
	c.n = n;
	if (op == IO_SENDTO || op == IO_RECVFROM) {
		c.addr = addr;
		c.alen = alen;
		c.palen = palen;
	}
	/* shim_enter() with depth 0 known; the same order of stores, for
	 * the same reason (a signal handler's own calls). */
	wsp_tls.depth = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	wsp_tls.call = shim_io_name[op];
	if (unlikely(!core_hold(ws, fd, &b))) {
		wsp_tls.depth = 0;
		return shim_closed();
	}
	wsp_tls.call_base = b;
	wsp_tls.call_fd = fd;
	errmap_clear_native();
	switch (op) {
	case IO_SEND:
	case IO_WRITE:
		rc = ws->procs->lpWSPSend(ws->handle, &c.b, 1, &c.done,
		    (DWORD)flags, NULL, NULL, NULL, &c.err);
		break;
	case IO_SENDTO:
		rc = ws->procs->lpWSPSendTo(ws->handle, &c.b, 1, &c.done,
		    (DWORD)flags, addr, (int)alen, NULL, NULL, NULL, &c.err);
		break;
	case IO_RECVFROM:
		/* the length pointer as it is: the kernel judges it */
		c.fl = (DWORD)flags;
		rc = ws->procs->lpWSPRecvFrom(ws->handle, &c.b, 1, &c.done,
		    &c.fl, addr, (LPINT)palen, NULL, NULL, NULL, &c.err);
		break;
	default:
		c.fl = (DWORD)flags;
		rc = ws->procs->lpWSPRecv(ws->handle, &c.b, 1, &c.done, &c.fl,
		    NULL, NULL, NULL, &c.err);
		break;
	}
	c.rc = rc;
	wsp_tls.call_base = 0;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	/* The descriptor and result from memory: nothing of the call is
	 * kept in registers across it. */
	core_unhold(wsp_tls.call_fd);
	wsp_tls.depth = 0;
	if (likely(c.rc == 0))
		return (ssize_t)c.done;
	return shim_io1_failed(op, &c);
}

/* Whether a non-NULL table value is a socket called from outside the
 * chain: the managed calls the hooks take the short way. */
static inline int
shim_chain_call(const struct wsock *slot)
{
	return fdtab_is_sock(slot) && wsp_tls.depth == 0;
}

/*
 * The per-operation managed halves, out of line: a hook's pass-through
 * path is then a bounds check, a load and a jump to libc, with no frame to
 * set up.  Each takes the hook's own arguments in the hook's order, slot
 * last, so the hook reaches it with one register move and a jump.
 */
#define SHIM_MANAGED	static __attribute__((noinline)) ssize_t

SHIM_MANAGED
shim_send1(int fd, const void *buf, size_t n, int flags, struct wsock *slot)
{
	return shim_io1(IO_SEND, slot, fd, (void *)(uintptr_t)buf, n, flags,
	    NULL, 0, NULL);
}

SHIM_MANAGED
shim_sendto1(int fd, const void *buf, size_t n, int flags,
    const struct sockaddr *addr, socklen_t len, struct wsock *slot)
{
	return shim_io1(IO_SENDTO, slot, fd, (void *)(uintptr_t)buf, n, flags,
	    (struct sockaddr *)(uintptr_t)addr, len, NULL);
}

SHIM_MANAGED
shim_recv1(int fd, void *buf, size_t n, int flags, struct wsock *slot)
{
	return shim_io1(IO_RECV, slot, fd, buf, n, flags, NULL, 0, NULL);
}

SHIM_MANAGED
shim_recvfrom1(int fd, void *buf, size_t n, int flags, struct sockaddr *addr,
    socklen_t *len, struct wsock *slot)
{
	return shim_io1(IO_RECVFROM, slot, fd, buf, n, flags, addr, 0, len);
}

SHIM_MANAGED
shim_read1(int fd, void *buf, size_t n, struct wsock *slot)
{
	return shim_io1(IO_READ, slot, fd, buf, n, 0, NULL, 0, NULL);
}

SHIM_MANAGED
shim_write1(int fd, const void *buf, size_t n, struct wsock *slot)
{
	return shim_io1(IO_WRITE, slot, fd, (void *)(uintptr_t)buf, n, 0, NULL,
	    0, NULL);
}

/* The same for a socket called from outside the chain, the common case. */
SHIM_MANAGED
shim_send_chain(int fd, const void *buf, size_t n, int flags,
    struct wsock *ws)
{
	return shim_io1_chain(IO_SEND, ws, fd, (void *)(uintptr_t)buf, n,
	    flags, NULL, 0, NULL);
}

SHIM_MANAGED
shim_sendto_chain(int fd, const void *buf, size_t n, int flags,
    const struct sockaddr *addr, socklen_t len, struct wsock *ws)
{
	return shim_io1_chain(IO_SENDTO, ws, fd, (void *)(uintptr_t)buf, n,
	    flags, (struct sockaddr *)(uintptr_t)addr, len, NULL);
}

SHIM_MANAGED
shim_recv_chain(int fd, void *buf, size_t n, int flags, struct wsock *ws)
{
	return shim_io1_chain(IO_RECV, ws, fd, buf, n, flags, NULL, 0, NULL);
}

SHIM_MANAGED
shim_recvfrom_chain(int fd, void *buf, size_t n, int flags,
    struct sockaddr *addr, socklen_t *len, struct wsock *ws)
{
	return shim_io1_chain(IO_RECVFROM, ws, fd, buf, n, flags, addr, 0,
	    len);
}

SHIM_MANAGED
shim_read_chain(int fd, void *buf, size_t n, struct wsock *ws)
{
	return shim_io1_chain(IO_READ, ws, fd, buf, n, 0, NULL, 0, NULL);
}

SHIM_MANAGED
shim_write_chain(int fd, const void *buf, size_t n, struct wsock *ws)
{
	return shim_io1_chain(IO_WRITE, ws, fd, (void *)(uintptr_t)buf, n, 0,
	    NULL, 0, NULL);
}

/* The managed half of readv and writev. */
static __attribute__((noinline)) ssize_t
shim_iov(enum shim_io_op op, struct wsock *slot, int fd,
    const struct iovec *iov, int n)
{
	struct wsock *ws = shim_resolve(slot, fd, shim_io_name[op]);
	WSABUF stack[SHIM_STACK_BUFS], *b, *heap;
	ssize_t rc;

	if (ws == NULL)
		goto native;
	if ((b = shim_iov_to_wsabuf(iov, n, stack, &heap)) == NULL)
		return -1;
	if (shim_io_sends(op))
		rc = shim_send_bufs(ws, fd, b, (DWORD)n, 0, NULL, 0);
	else
		rc = shim_recv_bufs(ws, fd, b, (DWORD)n, 0, NULL, NULL);
	free(heap);
	if (likely(rc >= 0) || !shim_stale(fd))
		return rc;
native:
	return op == IO_READV ? libc.readv(fd, iov, n) :
	    libc.writev(fd, iov, n);
}

WSPSHIM_EXPORT ssize_t
send(int fd, const void *buf, size_t n, int flags)
{
	struct wsock *slot = fdtab_get(fd);

	if (likely(slot == NULL))
		return libc.send(fd, buf, n, flags);
	if (likely(shim_chain_call(slot))) {
		if (shim_direct(slot))
			SHIM_DIRECT(libc.send(fd, buf, n, flags));
		return shim_send_chain(fd, buf, n, flags, slot);
	}
	return shim_send1(fd, buf, n, flags, slot);
}

WSPSHIM_EXPORT ssize_t
sendto(int fd, const void *buf, size_t n, int flags,
    const struct sockaddr *addr, socklen_t len)
{
	struct wsock *slot = fdtab_get(fd);

	if (likely(slot == NULL))
		return libc.sendto(fd, buf, n, flags, addr, len);
	if (likely(shim_chain_call(slot))) {
		if (shim_direct(slot))
			SHIM_DIRECT(libc.sendto(fd, buf, n, flags, addr, len));
		return shim_sendto_chain(fd, buf, n, flags, addr, len, slot);
	}
	return shim_sendto1(fd, buf, n, flags, addr, len, slot);
}

WSPSHIM_EXPORT ssize_t
recv(int fd, void *buf, size_t n, int flags)
{
	struct wsock *slot = fdtab_get(fd);

	if (likely(slot == NULL))
		return libc.recv(fd, buf, n, flags);
	if (likely(shim_chain_call(slot))) {
		if (shim_direct(slot))
			SHIM_DIRECT(libc.recv(fd, buf, n, flags));
		return shim_recv_chain(fd, buf, n, flags, slot);
	}
	return shim_recv1(fd, buf, n, flags, slot);
}

WSPSHIM_EXPORT ssize_t
recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *addr,
    socklen_t *len)
{
	struct wsock *slot = fdtab_get(fd);

	if (likely(slot == NULL))
		return libc.recvfrom(fd, buf, n, flags, addr, len);
	if (likely(shim_chain_call(slot))) {
		if (shim_direct(slot))
			SHIM_DIRECT(libc.recvfrom(fd, buf, n, flags, addr, len));
		return shim_recvfrom_chain(fd, buf, n, flags, addr, len, slot);
	}
	return shim_recvfrom1(fd, buf, n, flags, addr, len, slot);
}

WSPSHIM_EXPORT ssize_t
read(int fd, void *buf, size_t n)
{
	struct wsock *slot = fdtab_get(fd);

	if (likely(slot == NULL))
		return libc.read(fd, buf, n);
	if (likely(shim_chain_call(slot))) {
		if (shim_direct(slot))
			SHIM_DIRECT(libc.read(fd, buf, n));
		/* read() of 0 bytes stays native (see shim_io1). */
		if (n != 0)
			return shim_read_chain(fd, buf, n, slot);
	}
	return shim_read1(fd, buf, n, slot);
}

WSPSHIM_EXPORT ssize_t
write(int fd, const void *buf, size_t n)
{
	struct wsock *slot = fdtab_get(fd);

	if (likely(slot == NULL))
		return libc.write(fd, buf, n);
	if (likely(shim_chain_call(slot))) {
		if (shim_direct(slot))
			SHIM_DIRECT(libc.write(fd, buf, n));
		return shim_write_chain(fd, buf, n, slot);
	}
	return shim_write1(fd, buf, n, slot);
}

WSPSHIM_EXPORT ssize_t
readv(int fd, const struct iovec *iov, int n)
{
	struct wsock *slot = fdtab_get(fd);

	if (likely(slot == NULL))
		return libc.readv(fd, iov, n);
	return shim_iov(IO_READV, slot, fd, iov, n);
}

WSPSHIM_EXPORT ssize_t
writev(int fd, const struct iovec *iov, int n)
{
	struct wsock *slot = fdtab_get(fd);

	if (likely(slot == NULL))
		return libc.writev(fd, iov, n);
	return shim_iov(IO_WRITEV, slot, fd, iov, n);
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
