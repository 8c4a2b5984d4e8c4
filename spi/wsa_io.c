/*
 * wsa_io.c - the rest of the synchronous Winsock application API:
 * WSAConnect, WSAAccept, WSAJoinLeaf, WSASendDisconnect,
 * WSARecvDisconnect, ioctlsocket, __WSAFDIsSet, select (WSPShimSelect) and
 * the WSAHton and WSANtoh calls.
 *
 * Each goes to the socket's chain (its top provider with its top handle),
 * names itself for trace (wsp_tls.call), and reports through the last
 * error.  Sockets are kernel descriptors, as everywhere in this API.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "core.h"
#include "export.h"
#include "tls.h"
#include "wsa.h"

/* 0 with the last error cleared, or SOCKET_ERROR with err. */
static int
wsa_result(int rc, int err)
{
	if (rc != 0)
		return wsa_fail(err);
	wsp_tls.last_error = 0;
	return 0;
}

WSPSHIM_EXPORT int WSAAPI
WSAConnect(SOCKET s, const struct sockaddr *name, int namelen,
    LPWSABUF lpCallerData, LPWSABUF lpCalleeData, LPQOS lpSQOS,
    LPQOS lpGQOS)
{
	struct wsock *ws;
	int err = 0, rc;

	if ((ws = wsa_enter(s, "WSAConnect")) == NULL)
		return SOCKET_ERROR;
	rc = ws->procs->lpWSPConnect(ws->handle, name, namelen, lpCallerData,
	    lpCalleeData, lpSQOS, lpGQOS, &err);
	wsa_leave(s);
	/* Winsock's non-blocking connect reports WSAEWOULDBLOCK. */
	if (rc != 0 && err == WSAEINPROGRESS)
		err = WSAEWOULDBLOCK;
	return wsa_result(rc, err);
}

WSPSHIM_EXPORT SOCKET WSAAPI
WSAAccept(SOCKET s, struct sockaddr *addr, LPINT addrlen,
    LPCONDITIONPROC lpfnCondition, DWORD_PTR dwCallbackData)
{
	struct wsock *ws;
	struct chain *c;
	unsigned mark;
	SOCKET h;
	int err = 0, fd;

	if ((ws = wsa_enter(s, "WSAAccept")) == NULL)
		return INVALID_SOCKET;
	if (addr != NULL && (addrlen == NULL || *addrlen < 0)) {
		wsa_leave(s);
		wsa_fail(WSAEFAULT);
		return INVALID_SOCKET;
	}
	c = ws->chain;		/* ws may be gone after the call */
	mark = core_made_mark();
	h = ws->procs->lpWSPAccept(ws->handle, addr, addrlen, lpfnCondition,
	    dwCallbackData, &err);
	wsa_leave(s);
	if (h == INVALID_SOCKET) {
		wsa_fail(err != 0 ? err : WSASYSCALLFAILURE);
		return INVALID_SOCKET;
	}
	fd = core_publish(c, h, core_made_since(mark), WSOCK_API, &err);
	if (fd < 0) {
		wsa_fail(err);
		return INVALID_SOCKET;
	}
	wsp_tls.last_error = 0;
	return (SOCKET)fd;
}

WSPSHIM_EXPORT SOCKET WSAAPI
WSAJoinLeaf(SOCKET s, const struct sockaddr *name, int namelen,
    LPWSABUF lpCallerData, LPWSABUF lpCalleeData, LPQOS lpSQOS,
    LPQOS lpGQOS, DWORD dwFlags)
{
	struct wsock *ws;
	SOCKET h, self;
	int err = 0;

	if ((ws = wsa_enter(s, "WSAJoinLeaf")) == NULL)
		return INVALID_SOCKET;
	self = ws->handle;	/* ws may be gone after the call */
	h = ws->procs->lpWSPJoinLeaf(self, name, namelen, lpCallerData,
	    lpCalleeData, lpSQOS, lpGQOS, dwFlags, &err);
	wsa_leave(s);
	if (h == INVALID_SOCKET) {
		wsa_fail(err != 0 ? err : WSASYSCALLFAILURE);
		return INVALID_SOCKET;
	}
	/* IP multipoint is non-rooted: the leaf keeps its own socket (a
	 * rooted provider's new handle would need publishing). */
	if (h != self) {
		wsa_fail(WSAEOPNOTSUPP);
		return INVALID_SOCKET;
	}
	wsp_tls.last_error = 0;
	return s;
}

WSPSHIM_EXPORT int WSAAPI
WSASendDisconnect(SOCKET s, LPWSABUF lpOutboundDisconnectData)
{
	struct wsock *ws;
	int err = 0, rc;

	if ((ws = wsa_enter(s, "WSASendDisconnect")) == NULL)
		return SOCKET_ERROR;
	rc = ws->procs->lpWSPSendDisconnect(ws->handle,
	    lpOutboundDisconnectData, &err);
	wsa_leave(s);
	return wsa_result(rc, err);
}

WSPSHIM_EXPORT int WSAAPI
WSARecvDisconnect(SOCKET s, LPWSABUF lpInboundDisconnectData)
{
	struct wsock *ws;
	int err = 0, rc;

	if ((ws = wsa_enter(s, "WSARecvDisconnect")) == NULL)
		return SOCKET_ERROR;
	rc = ws->procs->lpWSPRecvDisconnect(ws->handle,
	    lpInboundDisconnectData, &err);
	wsa_leave(s);
	return wsa_result(rc, err);
}

WSPSHIM_EXPORT int WSAAPI
ioctlsocket(SOCKET s, long cmd, u_long *argp)
{
	struct wsock *ws;
	DWORD n = 0;
	int err = 0, rc;

	if ((ws = wsa_enter(s, "ioctlsocket")) == NULL)
		return SOCKET_ERROR;
	if (argp == NULL) {
		wsa_leave(s);
		return wsa_fail(WSAEFAULT);
	}
	if (cmd == FIONBIO)
		rc = ws->procs->lpWSPIoctl(ws->handle, (DWORD)cmd, argp,
		    sizeof(*argp), NULL, 0, &n, NULL, NULL, NULL, &err);
	else
		rc = ws->procs->lpWSPIoctl(ws->handle, (DWORD)cmd, NULL, 0,
		    argp, sizeof(*argp), &n, NULL, NULL, NULL, &err);
	wsa_leave(s);
	return wsa_result(rc, err);
}

WSPSHIM_EXPORT int WSAAPI
__WSAFDIsSet(SOCKET fd, fd_set *set)
{
	const SOCKET *a;
	u_int i;

	if (set == NULL)
		return 0;
	a = set->fd_array;
	for (i = 0; i < set->fd_count; i++)
		if (a[i] == fd)
			return 1;
	return 0;
}

/* --- select ----------------------------------------------------------- */

struct sel {
	struct wsock	*first;		/* the socket whose chain answers */
	unsigned	n;		/* entries in tops, bases, fds */
	SOCKET		*tops;
	SOCKET		*bases;
	SOCKET		*fds;
};

/* A copy of set with each SOCKET as its top handle, recorded in sl;
 * NULL for a NULL set, or with *err (WSAENOTSOCK, WSAENOBUFS). */
static fd_set *
sel_down(const fd_set *set, struct sel *sl, int *err)
{
	const SOCKET *a;
	SOCKET *d;
	struct wsock *ws;
	fd_set *c;
	u_int i;

	if (set == NULL || *err != 0)
		return NULL;
	c = malloc(offsetof(fd_set, fd_array) +
	    (set->fd_count + 1) * sizeof(SOCKET));
	if (c == NULL) {
		*err = WSAENOBUFS;
		return NULL;
	}
	a = set->fd_array;
	d = c->fd_array;
	for (i = 0; i < set->fd_count; i++) {
		if ((ws = wsa_sock(a[i])) == NULL) {
			*err = WSAENOTSOCK;
			break;
		}
		if (sl->first == NULL)
			sl->first = ws;
		d[i] = ws->handle;
		sl->tops[sl->n] = ws->handle;
		sl->bases[sl->n] = ws->base;
		sl->fds[sl->n] = a[i];
		sl->n++;
	}
	c->fd_count = set->fd_count;
	return c;
}

/* Nothing: writes the ready top handles of c back into set as SOCKETs. */
static void
sel_up(fd_set *set, fd_set *c, const struct sel *sl)
{
	SOCKET *a, *d;
	u_int i, k = 0;
	unsigned j;

	if (set == NULL)
		return;
	a = set->fd_array;
	d = c->fd_array;
	for (i = 0; i < c->fd_count; i++)
		for (j = 0; j < sl->n; j++)
			if (sl->tops[j] == d[i]) {
				a[k++] = sl->fds[j];
				break;
			}
	set->fd_count = k;
}

WSPSHIM_EXPORT int WSAAPI
WSPShimSelect(int nfds, fd_set *readfds, fd_set *writefds,
    fd_set *exceptfds, const struct timeval *timeout)
{
	struct sel sl = { 0 };
	fd_set *r = NULL, *w = NULL, *x = NULL;
	size_t total = 0;
	int err = 0, rc = SOCKET_ERROR;

	if (!wsa_started())
		return SOCKET_ERROR;
	total += readfds != NULL ? readfds->fd_count : 0;
	total += writefds != NULL ? writefds->fd_count : 0;
	total += exceptfds != NULL ? exceptfds->fd_count : 0;
	if (total == 0)
		return wsa_fail(WSAEINVAL);
	sl.tops = calloc(total * 3, sizeof(SOCKET));
	if (sl.tops == NULL)
		return wsa_fail(WSAENOBUFS);
	sl.bases = sl.tops + total;
	sl.fds = sl.bases + total;
	r = sel_down(readfds, &sl, &err);
	w = sel_down(writefds, &sl, &err);
	x = sel_down(exceptfds, &sl, &err);
	if (err == 0) {
		/* As Winsock: the provider of the first socket answers. */
		wsp_tls.call = "select";
		base_hint(sl.tops, sl.bases, sl.n);
		wsp_tls.depth++;
		rc = sl.first->procs->lpWSPSelect(nfds, r, w, x, timeout,
		    &err);
		wsp_tls.depth--;
		base_hint(NULL, NULL, 0);
	}
	if (rc != SOCKET_ERROR) {
		sel_up(readfds, r, &sl);
		sel_up(writefds, w, &sl);
		sel_up(exceptfds, x, &sl);
	}
	free(r);
	free(w);
	free(x);
	free(sl.tops);
	if (rc == SOCKET_ERROR)
		return wsa_fail(err != 0 ? err : WSASYSCALLFAILURE);
	wsp_tls.last_error = 0;
	return rc;
}

/* --- byte order ------------------------------------------------------- */

/* 0 if s is a socket and out is not NULL, else SOCKET_ERROR.  Every
 * built-in protocol is big-endian (iNetworkByteOrder BIGENDIAN). */
static int
wsa_order_check(SOCKET s, const void *out)
{
	if (!wsa_started() || wsa_sock(s) == NULL)
		return SOCKET_ERROR;
	if (out == NULL)
		return wsa_fail(WSAEFAULT);
	return 0;
}

WSPSHIM_EXPORT int WSAAPI
WSAHtonl(SOCKET s, u_long hostlong, u_long *lpnetlong)
{
	if (wsa_order_check(s, lpnetlong) != 0)
		return SOCKET_ERROR;
	*lpnetlong = htonl((uint32_t)hostlong);
	return 0;
}

WSPSHIM_EXPORT int WSAAPI
WSAHtons(SOCKET s, u_short hostshort, u_short *lpnetshort)
{
	if (wsa_order_check(s, lpnetshort) != 0)
		return SOCKET_ERROR;
	*lpnetshort = htons(hostshort);
	return 0;
}

WSPSHIM_EXPORT int WSAAPI
WSANtohl(SOCKET s, u_long netlong, u_long *lphostlong)
{
	if (wsa_order_check(s, lphostlong) != 0)
		return SOCKET_ERROR;
	*lphostlong = ntohl((uint32_t)netlong);
	return 0;
}

WSPSHIM_EXPORT int WSAAPI
WSANtohs(SOCKET s, u_short netshort, u_short *lphostshort)
{
	if (wsa_order_check(s, lphostshort) != 0)
		return SOCKET_ERROR;
	*lphostshort = ntohs(netshort);
	return 0;
}
