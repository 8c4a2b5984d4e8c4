/*
 * shim.h - what every interposed entry point shares.
 *
 * A hook looks its descriptor up (one bounds-checked load), and either
 * passes the call to libc or sends it to the top provider of the socket's
 * chain.  While the call is in the chain the thread's depth is raised, so
 * whatever a provider calls goes straight to libc.
 */
#ifndef WSPSHIM_SHIM_H
#define WSPSHIM_SHIM_H

#include <errno.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "core.h"
#include "errmap.h"
#include "export.h"
#include "libc.h"
#include "tls.h"

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)

/* The _FORTIFY_SOURCE entry points glibc declares only to fortified
 * builds. */
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen,
    int flags, struct sockaddr *addr, socklen_t *len);

/* The chain socket a non-NULL fd-table value stands for, or NULL when the
 * call passes through (a marker, a call from inside a provider, a socket
 * that adoption leaves unmanaged).  For a managed socket it records the
 * entry point the program called, which layers read with
 * WSPShimCallName(). */
static inline struct wsock *
shim_resolve(struct wsock *ws, int fd, const char *call)
{
	if (wsp_tls.depth != 0)
		return NULL;
	wsp_tls.call = call;		/* an adoption's WSPSocket sees it too */
	if (unlikely(!fdtab_is_sock(ws) || (atomic_load_explicit(&ws->base,
	    memory_order_acquire) & 1) != 0)) {
		/* A marker, or a lazy socket (core_sock_ready). */
		ws = core_resolve(fd);
		if (ws == NULL)
			return NULL;
	}
	return ws;
}

/* The chain socket fd names, or NULL when the call passes through. */
static inline struct wsock *
shim_sock(int fd, const char *call)
{
	struct wsock *ws = fdtab_get(fd);

	if (likely(ws == NULL))
		return NULL;
	return shim_resolve(ws, fd, call);
}

/*
 * Bracket a call into the chain on ws, which the program named as fd (the
 * base reaches the kernel on that very descriptor: a dup()ed one's calls
 * stay on it).  The depth goes up before the descriptor is recorded, and
 * comes down after the record is cleared, with the compiler kept from
 * reordering the stores: a signal handler that interrupts the bracket
 * either sees the depth and goes straight to libc, leaving the record
 * alone, or runs its own whole call first, which leaves the record
 * cleared for these stores to fill.  Otherwise a handler's send() could
 * leave its descriptor in the record of the call it interrupted, and that
 * call would reach the kernel on the handler's socket.
 *
 * The bracket also holds the socket (core_hold): a close of fd meanwhile
 * waits for the call to return before anything is closed, so the call
 * ends on the socket it started on, never on one made under the same
 * number, and no provider's context of it is freed under it.  1, or 0
 * when fd was closed since the hook read the table: the call then fails
 * as one made after the close (shim_closed).  The hold is out of line
 * here, so that a hook's pass-through path keeps needing no frame; the
 * one-buffer data calls inline it (shim_io1_chain).
 */
static inline int
shim_enter(struct wsock *ws, int fd)
{
	SOCKET b;

	wsp_tls.depth++;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (unlikely(!core_hold_call(ws, fd, &b))) {
		wsp_tls.depth--;
		return 0;
	}
	wsp_tls.call_base = b;
	wsp_tls.call_fd = fd;
	errmap_clear_native();
	return 1;
}

/* The end of the bracket shim_enter() opened (on the descriptor it
 * recorded, which a signal handler's calls leave alone).  Read nothing of
 * the wsock after it: a close that waited may have freed it. */
static inline void
shim_leave(void)
{
	wsp_tls.call_base = 0;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	core_unhold_call(wsp_tls.call_fd);
	wsp_tls.depth--;
}

/* Report a chain failure the POSIX way: errno (the native one when the
 * code came up unchanged) and -1; WSAGetLastError sees the code too. */
static inline int
shim_fail(int err)
{
	if (err == 0)
		err = WSASYSCALLFAILURE;
	wsp_tls.last_error = err;
	errno = errmap_errno_for(err);
	return -1;
}

/* A call whose descriptor was closed before it reached the chain
 * (shim_enter gave 0): EBADF, as for a call made after the close. */
static __attribute__((noinline, cold, unused)) int
shim_closed(void)
{
	errmap_clear_native();
	return shim_fail(WSAEBADF);
}

/*
 * After a managed call failed: whether the descriptor turned out not to be
 * the socket the table names any more (closed or replaced behind the
 * shim's back, by a raw syscall() or inside glibc: the kernel said EBADF
 * or ENOTSOCK and the code came up the chain unchanged).  Then the entry
 * is dropped and the caller redoes the call natively.  Costs nothing on
 * success.
 */
static inline int
shim_stale(int fd)
{
	if ((errno != ENOTSOCK && errno != EBADF) ||
	    wsp_tls.native_wsa == 0 || wsp_tls.native_wsa != wsp_tls.last_error)
		return 0;
	core_forget(fd);
	return 1;
}

/* A WSABUF for a buffer (its length clamped to what a ULONG holds). */
static inline WSABUF
shim_buf(const void *buf, size_t n)
{
	WSABUF b = {
		.len = n > (size_t)UINT32_MAX ? UINT32_MAX : (ULONG)n,
		.buf = (char *)(uintptr_t)buf,
	};
	return b;
}

/* How many WSABUFs shim_iov_to_wsabuf puts on the stack. */
#define SHIM_STACK_BUFS	64

/* Convert an iovec array; *heap is set when it had to allocate (the
 * caller frees it).  NULL with errno EINVAL or ENOMEM. */
WSABUF *shim_iov_to_wsabuf(const struct iovec *iov, int n, WSABUF *stack,
    WSABUF **heap);

/* Hand the descriptors of any SCM_RIGHTS message in msg to adoption. */
void shim_note_rights(const struct msghdr *msg);

/* Whether this is a vfork() child sharing the parent's memory: its hooks
 * must not change the shared tables. */
int shim_in_vfork_child(void);

/* The process's catalog has something to manage (else socket() skips
 * selection entirely). */
int shim_any_managed(void);

/* Send or receive one message on a managed socket (sendmsg/recvmsg). */
ssize_t shim_sendmsg(struct wsock *ws, int fd, const struct msghdr *msg,
    int flags);
ssize_t shim_recvmsg(struct wsock *ws, int fd, struct msghdr *msg,
    int flags);

#endif
