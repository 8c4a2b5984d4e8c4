/*
 * conn.c - bind, connect, listen, accept, accept4, shutdown,
 * getsockname, getpeername.
 */
#include <fcntl.h>

#include "shim.h"

/* bind on a managed socket. */
static __attribute__((noinline)) int
shim_bind_chain(struct wsock *ws, int fd, const struct sockaddr *addr,
    socklen_t len)
{
	int err, rc;

	if (!shim_enter(ws, fd))
		return shim_closed();
	rc = ws->procs->lpWSPBind(ws->handle, addr, (int)len, &err);
	shim_leave();
	return rc == 0 ? 0 : shim_fail(err);
}

WSPSHIM_EXPORT int
bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct wsock *ws = shim_sock(fd, "bind");

	if (ws == NULL)
		return libc.bind(fd, addr, len);
	return shim_bind_chain(ws, fd, addr, len);
}

/* connect on a managed socket. */
static __attribute__((noinline)) int
shim_connect_chain(struct wsock *ws, int fd, const struct sockaddr *addr,
    socklen_t len)
{
	int err, rc;

	if (!shim_enter(ws, fd))
		return shim_closed();
	rc = ws->procs->lpWSPConnect(ws->handle, addr, (int)len, NULL, NULL,
	    NULL, NULL, &err);
	shim_leave();
	return rc == 0 ? 0 : shim_fail(err);
}

WSPSHIM_EXPORT int
connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct wsock *ws = shim_sock(fd, "connect");

	if (ws == NULL)
		return libc.connect(fd, addr, len);
	return shim_connect_chain(ws, fd, addr, len);
}

/* listen on a managed socket. */
static __attribute__((noinline)) int
shim_listen_chain(struct wsock *ws, int fd, int backlog)
{
	int err, rc;

	if (!shim_enter(ws, fd))
		return shim_closed();
	rc = ws->procs->lpWSPListen(ws->handle, backlog, &err);
	shim_leave();
	return rc == 0 ? 0 : shim_fail(err);
}

WSPSHIM_EXPORT int
listen(int fd, int backlog)
{
	struct wsock *ws = shim_sock(fd, "listen");

	if (ws == NULL)
		return libc.listen(fd, backlog);
	return shim_listen_chain(ws, fd, backlog);
}

/* accept4 through the chain: the new connection belongs to the listening
 * socket's chain.  Flags are applied atomically by the base (lpWSPAccept4;
 * an older provider's table has the core's fallback for it). */
static int
shim_accept(struct wsock *ws, int lfd, struct sockaddr *addr, socklen_t *len,
    int flags)
{
	struct chain *c = ws->chain;	/* ws may be gone after the call */
	DWORD wflags = 0;
	SOCKET h;
	unsigned mark;
	int err = 0, fd;

	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) {
		errno = EINVAL;
		return -1;
	}
	if (flags & SOCK_NONBLOCK)
		wflags |= WSA_FLAG_WSPSHIM_NONBLOCK;
	if (flags & SOCK_CLOEXEC)
		wflags |= WSA_FLAG_NO_HANDLE_INHERIT;
	/* The length pointer goes down as it is: only the kernel judges
	 * it, as without us. */
	mark = core_made_mark();
	if (!shim_enter(ws, lfd))
		return shim_closed();
	h = ws->procs->lpWSPAccept4(ws->handle, addr, (LPINT)len, wflags,
	    &err);
	shim_leave();
	if (h == INVALID_SOCKET)
		return shim_fail(err);
	fd = core_publish(c, h, core_made_since(mark), 0, &err);
	if (fd < 0)
		return shim_fail(err);
	return fd;
}

WSPSHIM_EXPORT int
accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	struct wsock *ws = shim_sock(fd, "accept4");
	int nfd;

	if (ws != NULL)
		return shim_accept(ws, fd, addr, len, flags);
	nfd = libc.accept4(fd, addr, len, flags);
	if (nfd >= 0 && unlikely(fdtab_get(nfd) != NULL))
		core_forget(nfd);
	return nfd;
}

WSPSHIM_EXPORT int
accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	struct wsock *ws = shim_sock(fd, "accept");
	int nfd;

	if (ws != NULL)
		return shim_accept(ws, fd, addr, len, 0);
	nfd = libc.accept(fd, addr, len);
	if (nfd >= 0 && unlikely(fdtab_get(nfd) != NULL))
		core_forget(nfd);
	return nfd;
}

/* shutdown on a managed socket. */
static __attribute__((noinline)) int
shim_shutdown_chain(struct wsock *ws, int fd, int how)
{
	int err, rc;

	if (!shim_enter(ws, fd))
		return shim_closed();
	rc = ws->procs->lpWSPShutdown(ws->handle, how, &err);
	shim_leave();
	return rc == 0 ? 0 : shim_fail(err);
}

WSPSHIM_EXPORT int
shutdown(int fd, int how)
{
	struct wsock *ws = shim_sock(fd, "shutdown");

	if (ws == NULL)
		return libc.shutdown(fd, how);
	return shim_shutdown_chain(ws, fd, how);
}

/* getsockname on a managed socket. */
static __attribute__((noinline)) int
shim_getsockname_chain(struct wsock *ws, int fd, struct sockaddr *addr,
    socklen_t *len)
{
	int err, rc;

	/* The length pointer goes down as it is: only the kernel judges
	 * it, as without us. */
	if (!shim_enter(ws, fd))
		return shim_closed();
	rc = ws->procs->lpWSPGetSockName(ws->handle, addr, (LPINT)len, &err);
	shim_leave();
	return rc == 0 ? 0 : shim_fail(err);
}

WSPSHIM_EXPORT int
getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
	struct wsock *ws = shim_sock(fd, "getsockname");

	if (ws == NULL)
		return libc.getsockname(fd, addr, len);
	return shim_getsockname_chain(ws, fd, addr, len);
}

/* getpeername on a managed socket. */
static __attribute__((noinline)) int
shim_getpeername_chain(struct wsock *ws, int fd, struct sockaddr *addr,
    socklen_t *len)
{
	int err, rc;

	/* The length pointer goes down as it is: only the kernel judges
	 * it, as without us. */
	if (!shim_enter(ws, fd))
		return shim_closed();
	rc = ws->procs->lpWSPGetPeerName(ws->handle, addr, (LPINT)len, &err);
	shim_leave();
	return rc == 0 ? 0 : shim_fail(err);
}

WSPSHIM_EXPORT int
getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
	struct wsock *ws = shim_sock(fd, "getpeername");

	if (ws == NULL)
		return libc.getpeername(fd, addr, len);
	return shim_getpeername_chain(ws, fd, addr, len);
}
