/*
 * opt.c - getsockopt, setsockopt and ioctl.
 *
 * getsockopt(SOL_SOCKET, SO_PROTOCOL_INFOW/A) answers the socket's catalog
 * entry even for a socket no layer covers (it is then found by its
 * triple).  ioctl sends FIONBIO, FIONREAD and SIOCATMARK down the chain;
 * other requests act on the kernel descriptor directly.
 */
#include <stdarg.h>
#include <string.h>

#include "catalog.h"
#include "shim.h"

/* Answer SO_PROTOCOL_INFOW/A for an unmanaged socket. */
static int
shim_protocol_info(int fd, int name, void *val, socklen_t *len)
{
	const struct catalog_entry *e = core_entry_of_fd(fd);
	size_t need = name == SO_PROTOCOL_INFOW ? sizeof(WSAPROTOCOL_INFOW) :
	    sizeof(WSAPROTOCOL_INFOA);

	if (e == NULL) {
		/* Not a socket, or one no catalog entry covers. */
		return libc.getsockopt(fd, SOL_SOCKET, name, val, len);
	}
	if (len == NULL || val == NULL || *len < need) {
		if (len != NULL)
			*len = (socklen_t)need;
		errno = EFAULT;
		wsp_tls.last_error = WSAEFAULT;
		return -1;
	}
	if (name == SO_PROTOCOL_INFOW)
		memcpy(val, &e->info, need);
	else
		catalog_info_to_a(&e->info, val);
	*len = (socklen_t)need;
	return 0;
}

/*
 * Whether the kernel socket behind fd is no longer of the kind its chain
 * was made for: the number was closed and reused by a raw syscall(), which
 * no preload sees.  Asked only when the program asks which protocol the
 * socket is (SO_PROTOCOL_INFOW/A), so that answer is always the kernel's.
 */
static int
shim_entry_stale(struct wsock *ws, int fd)
{
	const struct catalog_entry *e = core_entry_of_fd(fd);
	const WSAPROTOCOL_INFOW *have = &ws->chain->entry->info;

	return e == NULL || e->info.iAddressFamily != have->iAddressFamily ||
	    e->info.iSocketType != have->iSocketType ||
	    e->info.iProtocol != have->iProtocol;
}

WSPSHIM_EXPORT int
getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	struct wsock *ws = shim_sock(fd, "getsockopt");
	int err, rc;

	if (ws != NULL && unlikely(level == SOL_SOCKET &&
	    (name == SO_PROTOCOL_INFOW || name == SO_PROTOCOL_INFOA)) &&
	    shim_entry_stale(ws, fd)) {
		core_forget(fd);
		ws = NULL;
	}
	if (ws == NULL) {
		if (unlikely(level == SOL_SOCKET && (name == SO_PROTOCOL_INFOW
		    || name == SO_PROTOCOL_INFOA)) && core_ready())
			return shim_protocol_info(fd, name, val, len);
		return libc.getsockopt(fd, level, name, val, len);
	}
	/* The length pointer goes down as it is: only the kernel judges
	 * it, as without us. */
	if (!shim_enter(ws, fd))
		return shim_closed();
	rc = ws->procs->lpWSPGetSockOpt(ws->handle, level, name, val,
	    (LPINT)len, &err);
	shim_leave();
	return rc == 0 ? 0 : shim_fail(err);
}

/* setsockopt on a managed socket. */
static __attribute__((noinline)) int
shim_setsockopt_chain(struct wsock *ws, int fd, int level, int name,
    const void *val, socklen_t len)
{
	int err, rc;

	if (!shim_enter(ws, fd))
		return shim_closed();
	rc = ws->procs->lpWSPSetSockOpt(ws->handle, level, name, val,
	    (int)len, &err);
	shim_leave();
	return rc == 0 ? 0 : shim_fail(err);
}

WSPSHIM_EXPORT int
setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	struct wsock *ws = shim_sock(fd, "setsockopt");

	if (ws == NULL)
		return libc.setsockopt(fd, level, name, val, len);
	return shim_setsockopt_chain(ws, fd, level, name, val, len);
}

WSPSHIM_EXPORT int
ioctl(int fd, unsigned long req, ...)
{
	struct wsock *ws;
	va_list ap;
	void *arg;
	DWORD n;
	int err, rc;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (likely((ws = shim_sock(fd, "ioctl")) == NULL) ||
	    (req != FIONBIO && req != FIONREAD && req != SIOCATMARK))
		return libc.ioctl(fd, req, arg);
	if (!shim_enter(ws, fd))
		return shim_closed();
	if (req == FIONBIO)
		rc = ws->procs->lpWSPIoctl(ws->handle, (DWORD)req, arg,
		    sizeof(int), NULL, 0, &n, NULL, NULL, NULL, &err);
	else
		rc = ws->procs->lpWSPIoctl(ws->handle, (DWORD)req, NULL, 0,
		    arg, sizeof(int), &n, NULL, NULL, NULL, &err);
	shim_leave();
	return rc == 0 ? 0 : shim_fail(err);
}
