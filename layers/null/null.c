/*
 * null.c - the pass-through layer: every call goes to the provider below,
 * unchanged.  It is also the template for a new layer: copy this file,
 * keep the start-up and the handle/context idiom, change the operations
 * you care about.
 *
 * Handles.  The layer is non-IFS: each of its sockets is a handle whose
 * context (struct nsock) holds the handle of the provider below.  The
 * handle and the context's memory come together from
 * WSPShimCreateSocketHandleEx, and go together with WPUCloseSocketHandle:
 * creating and closing a socket allocate nothing (a layer that must also
 * run outside libwspshim would malloc the struct and call
 * WPUCreateSocketHandle, the Winsock way).  An operation finds the context with
 * WSPShimHandleContext, the inline form of WPUQuerySocketHandleContext
 * (the same answer, with no call), and calls down: no allocation, lock or
 * syscall.  The data calls (send and receive) are tail calls: the lookup,
 * three loads (the handle below, the instance, the function) and a jump,
 * and the provider below returns straight to our caller.  SIO_BASE_HANDLE and SIO_BSP_HANDLE go down like every
 * other ioctl, as the core requires.
 *
 * Instances.  The core loads one copy of this file per layered catalog
 * entry (so null,null,null is three copies, each with its own globals) and
 * starts a copy once per chain that names its entry: the TCP, UDP and
 * AF_UNIX chains, whose providers below differ.  Each chain is an
 * instance with its own next provider.  A socket's context names its
 * instance; the calls with no socket find it by the chain id in
 * lpProtocolInfo.  An instance also keeps the struct its WSPSocket passes
 * below, asked of the core once when the chain starts.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wspshim/ws2spi.h>

#include "once.h"

#define EXPORT	__attribute__((visibility("default")))

struct ninst {
	struct ninst	*link;
	DWORD		chain;		/* the chain entry's catalog id */
	DWORD		self;		/* this layer's layered entry id */
	_Atomic int	starts;		/* WSPStartup calls not cleaned up */
	_Atomic int	live;		/* open sockets */
	WSPPROC_TABLE	next;		/* the provider below */
	/*
	 * What WSPSocket passes below for a struct with no duplicate-socket
	 * token, worked out at start: the catalog's entry of the base when
	 * the base is below, NULL when a layer is (it gets the struct we
	 * got).  ask: none could be worked out; ask WSPShimNextProtocol for
	 * every socket.
	 */
	LPWSAPROTOCOL_INFOW down;
	int		ask;
	WSAPROTOCOL_INFOW info;		/* the chain's struct */
};

/* A socket: the handle below and the instance, whose next table has the
 * provider below's members. */
struct nsock {
	SOCKET		lower;		/* the handle of the provider below */
	struct ninst	*in;
};

static const WCHAR description[] = {
	'w', 's', 'p', 's', 'h', 'i', 'm', ' ', 'n', 'u', 'l', 'l', 0
};

static _Atomic(struct ninst *) instances;
/* The instances again, by chain id modulo the size: WSPSocket finds its
 * own with one load, however many chains there are.  Ids are handed out
 * in sequence, so the chains of a catalog rarely share a place; one that
 * does not hold its chain's instance is looked up on the list. */
#define INST_BYID	16
static _Atomic(struct ninst *) inst_byid[INST_BYID];
static WSPUPCALLTABLE up;
/* The core's upcall table, stored once by the first WSPStartup (once.h:
 * starts for other chains may run at the same time, and a child forked
 * meanwhile must not find it half-written); the core hands every start
 * the same table. */
static struct wsp_once up_once = WSP_ONCE_INIT;

static void
up_store(void *table)
{
	up = *(const WSPUPCALLTABLE *)table;
}
static DWORD served;		/* the layered entry this module serves */

/* The instance of chain id `chain', or NULL: the list walk. */
static __attribute__((noinline)) struct ninst *
inst_walk(DWORD chain)
{
	struct ninst *in;

	for (in = atomic_load_explicit(&instances, memory_order_acquire);
	    in != NULL; in = in->link)
		if (in->chain == chain)
			return in;
	return NULL;
}

/* The instance of chain id `chain', or NULL. */
static inline struct ninst *
inst_find(DWORD chain)
{
	struct ninst *in = atomic_load_explicit(&inst_byid[chain % INST_BYID],
	    memory_order_acquire);

	if (__builtin_expect(in != NULL && in->chain == chain, 1))
		return in;
	return inst_walk(chain);
}

/* The instance for a call that names no chain (WSPCleanup, WSPSelect): a
 * started one, preferably with no socket open (the core cleans up idle
 * chains).  NULL if none is started. */
static struct ninst *
inst_any(void)
{
	struct ninst *in, *best = NULL;

	for (in = atomic_load_explicit(&instances, memory_order_acquire);
	    in != NULL; in = in->link)
		if (in->starts > 0 &&
		    (best == NULL || atomic_load(&best->live) != 0))
			best = in;
	return best;
}

/* SOCKET_ERROR with WSAENOTSOCK: what a call on a handle that is not
 * ours gets (out of line, off the data path). */
static __attribute__((noinline, cold)) int
notsock(LPINT err)
{
	*err = WSAENOTSOCK;
	return SOCKET_ERROR;
}

/* The context of handle s, or NULL with *err set.  WSPShimHandleContext
 * answers as up.lpWPUQuerySocketHandleContext would (the portable way),
 * inline: the data path's one lookup costs a few instructions. */
static inline struct nsock *
nsock(SOCKET s, LPINT err)
{
	DWORD_PTR ctx;

	if (__builtin_expect(!WSPShimHandleContext(s, &ctx), 0)) {
		notsock(err);
		return NULL;
	}
	return (struct nsock *)ctx;
}

/*
 * The data calls: the lookup, then a tail call down (the provider below
 * returns straight to our caller).  Every context is a struct nsock, never
 * NULL, so a hit needs no other test.
 */
#define NULL_DATA(s, err, call) do {					\
	DWORD_PTR ctx_;							\
	struct nsock *ns;						\
									\
	if (__builtin_expect(!WSPShimHandleContext(s, &ctx_), 0))	\
		return notsock(err);					\
	ns = (struct nsock *)ctx_;					\
	return ns->in->next.call;					\
} while (0)

/* INVALID_SOCKET, lower closed: a handle for it could not be made (out
 * of line: the usual path then saves fewer registers). */
static __attribute__((noinline, cold)) SOCKET
nwrap_fail(struct ninst *in, SOCKET lower)
{
	int e2;

	in->next.lpWSPCloseSocket(lower, &e2);
	return INVALID_SOCKET;
}

/*
 * A handle of ours for lower, a new socket of instance in; INVALID_SOCKET
 * (and lower closed) on failure.  The handle comes with the memory of its
 * context (WSPShimCreateSocketHandleEx): no malloc per socket, and none to
 * free.
 */
static inline SOCKET
nwrap(struct ninst *in, SOCKET lower, LPINT err)
{
	struct nsock *ns;
	LPVOID mem;
	SOCKET h;

	if (lower == INVALID_SOCKET)
		return INVALID_SOCKET;
	h = WSPShimCreateSocketHandleEx(in->self, sizeof(*ns), &mem, err);
	if (__builtin_expect(h == INVALID_SOCKET, 0))
		return nwrap_fail(in, lower);
	/* Nobody has the handle yet: fill the context before it goes out. */
	ns = mem;
	ns->lower = lower;
	ns->in = in;
	atomic_fetch_add_explicit(&in->live, 1, memory_order_relaxed);
	return h;
}

/* INVALID_SOCKET: WSPSocket with no struct (WSAEFAULT) or one of a chain
 * we were not started for (WSAEINVAL). */
static __attribute__((noinline, cold)) SOCKET
socket_fail(LPWSAPROTOCOL_INFOW info, LPINT err)
{
	*err = info == NULL ? WSAEFAULT : WSAEINVAL;
	return INVALID_SOCKET;
}

/* WSPSocket when the struct for below is not the one worked out at start
 * (info carries a duplicate-socket token, or none was): the core's
 * answer, copied into scratch if the token needs it. */
static __attribute__((noinline)) SOCKET
socket_asking(struct ninst *in, int af, int type, int protocol,
    LPWSAPROTOCOL_INFOW info, GROUP g, DWORD flags, LPINT err)
{
	WSAPROTOCOL_INFOW scratch, *next;

	next = WSPShimNextProtocol(info, in->self, &scratch, err);
	if (next == NULL)
		return INVALID_SOCKET;
	return nwrap(in, in->next.lpWSPSocket(af, type, protocol, next, g,
	    flags, err), err);
}

/* WSPSocket: our handle over a new socket of the provider below. */
static SOCKET WSPAPI
null_socket(int af, int type, int protocol, LPWSAPROTOCOL_INFOW info,
    GROUP g, DWORD flags, LPINT err)
{
	struct ninst *in;
	SOCKET lower;

	if (info == NULL || (in = inst_find(info->dwCatalogEntryId)) == NULL)
		return socket_fail(info, err);
	/*
	 * The struct for below is fixed for the chain (the rule of
	 * WSPShimNextProtocol) unless it carries a token: so no call, and
	 * our arguments go down in the registers they came in.
	 */
	if (__builtin_expect(info->dwProviderReserved != 0 || in->ask, 0))
		return socket_asking(in, af, type, protocol, info, g, flags,
		    err);
	lower = in->next.lpWSPSocket(af, type, protocol,
	    in->down != NULL ? in->down : info, g, flags, err);
	return nwrap(in, lower, err);
}

/* WSPCloseSocket: our handle, then the socket below (a tail call: its
 * result is ours).  Closing the handle gives the context's memory back,
 * so what it holds is read first; of two threads closing s at once, the
 * one whose handle close fails leaves the socket below alone. */
static int WSPAPI
null_closesocket(SOCKET s, LPINT err)
{
	DWORD_PTR ctx;
	struct nsock *ns;
	struct ninst *in;
	SOCKET lower;

	/* As NULL_DATA: a context is never NULL, so no test of it. */
	if (__builtin_expect(!WSPShimHandleContext(s, &ctx), 0))
		return notsock(err);
	ns = (struct nsock *)ctx;
	in = ns->in;
	lower = ns->lower;
	if (up.lpWPUCloseSocketHandle(s, err) != 0)
		return SOCKET_ERROR;
	atomic_fetch_sub_explicit(&in->live, 1, memory_order_relaxed);
	return in->next.lpWSPCloseSocket(lower, err);
}

static SOCKET WSPAPI
null_accept(SOCKET s, struct sockaddr *addr, LPINT addrlen,
    LPCONDITIONPROC cond, DWORD_PTR data, LPINT err)
{
	struct nsock *ns = nsock(s, err);

	if (ns == NULL)
		return INVALID_SOCKET;
	return nwrap(ns->in, ns->in->next.lpWSPAccept(ns->lower, addr,
	    addrlen, cond, data, err), err);
}

static SOCKET WSPAPI
null_accept4(SOCKET s, struct sockaddr *addr, LPINT addrlen, DWORD flags,
    LPINT err)
{
	struct nsock *ns = nsock(s, err);

	if (ns == NULL)
		return INVALID_SOCKET;
	return nwrap(ns->in, ns->in->next.lpWSPAccept4(ns->lower, addr,
	    addrlen, flags, err), err);
}

/* WSPJoinLeaf: s again when below kept its socket, else a new handle. */
static SOCKET WSPAPI
null_joinleaf(SOCKET s, const struct sockaddr *name, int namelen,
    LPWSABUF caller, LPWSABUF callee, LPQOS sqos, LPQOS gqos, DWORD flags,
    LPINT err)
{
	struct nsock *ns = nsock(s, err);
	SOCKET h;

	if (ns == NULL)
		return INVALID_SOCKET;
	h = ns->in->next.lpWSPJoinLeaf(ns->lower, name, namelen, caller,
	    callee, sqos, gqos, flags, err);
	if (h == ns->lower)
		return s;
	return nwrap(ns->in, h, err);
}

/* WSPDuplicateSocket: below makes the token; the struct the program gets
 * is the chain's, with that token in dwProviderReserved. */
static int WSPAPI
null_duplicate_socket(SOCKET s, DWORD pid, LPWSAPROTOCOL_INFOW info,
    LPINT err)
{
	struct nsock *ns = nsock(s, err);
	DWORD token;

	if (ns == NULL)
		return SOCKET_ERROR;
	if (ns->in->next.lpWSPDuplicateSocket(ns->lower, pid, info, err) != 0)
		return SOCKET_ERROR;
	token = info->dwProviderReserved;
	*info = ns->in->info;
	info->dwProviderReserved = token;
	return 0;
}

/* The socket operations that only translate the handle. */
static int WSPAPI
null_async_select(SOCKET s, HWND wnd, unsigned int msg, LONG ev, LPINT err)
{
	struct nsock *ns = nsock(s, err);

	return ns == NULL ? SOCKET_ERROR :
	    ns->in->next.lpWSPAsyncSelect(ns->lower, wnd, msg, ev, err);
}

static int WSPAPI
null_bind(SOCKET s, const struct sockaddr *name, int namelen, LPINT err)
{
	struct nsock *ns = nsock(s, err);

	return ns == NULL ? SOCKET_ERROR :
	    ns->in->next.lpWSPBind(ns->lower, name, namelen, err);
}

static int WSPAPI
null_connect(SOCKET s, const struct sockaddr *name, int namelen,
    LPWSABUF caller, LPWSABUF callee, LPQOS sqos, LPQOS gqos, LPINT err)
{
	struct nsock *ns = nsock(s, err);

	return ns == NULL ? SOCKET_ERROR :
	    ns->in->next.lpWSPConnect(ns->lower, name, namelen, caller, callee,
	    sqos, gqos, err);
}

static int WSPAPI
null_enum_network_events(SOCKET s, WSAEVENT ev, LPWSANETWORKEVENTS ne,
    LPINT err)
{
	struct nsock *ns = nsock(s, err);

	return ns == NULL ? SOCKET_ERROR :
	    ns->in->next.lpWSPEnumNetworkEvents(ns->lower, ev, ne, err);
}

static int WSPAPI
null_event_select(SOCKET s, WSAEVENT ev, LONG events, LPINT err)
{
	struct nsock *ns = nsock(s, err);

	return ns == NULL ? SOCKET_ERROR :
	    ns->in->next.lpWSPEventSelect(ns->lower, ev, events, err);
}

static BOOL WSPAPI
null_get_overlapped_result(SOCKET s, LPWSAOVERLAPPED ov, LPDWORD n,
    BOOL wait, LPDWORD flags, LPINT err)
{
	struct nsock *ns = nsock(s, err);

	return ns == NULL ? FALSE :
	    ns->in->next.lpWSPGetOverlappedResult(ns->lower, ov, n, wait,
	    flags, err);
}

static int WSPAPI
null_getpeername(SOCKET s, struct sockaddr *name, LPINT namelen, LPINT err)
{
	struct nsock *ns = nsock(s, err);

	return ns == NULL ? SOCKET_ERROR :
	    ns->in->next.lpWSPGetPeerName(ns->lower, name, namelen, err);
}

static int WSPAPI
null_getsockname(SOCKET s, struct sockaddr *name, LPINT namelen, LPINT err)
{
	struct nsock *ns = nsock(s, err);

	return ns == NULL ? SOCKET_ERROR :
	    ns->in->next.lpWSPGetSockName(ns->lower, name, namelen, err);
}

static int WSPAPI
null_getsockopt(SOCKET s, int level, int name, char *val, LPINT len,
    LPINT err)
{
	struct nsock *ns = nsock(s, err);

	return ns == NULL ? SOCKET_ERROR :
	    ns->in->next.lpWSPGetSockOpt(ns->lower, level, name, val, len,
	    err);
}

static BOOL WSPAPI
null_get_qos_by_name(SOCKET s, LPWSABUF name, LPQOS qos, LPINT err)
{
	struct nsock *ns = nsock(s, err);

	return ns == NULL ? FALSE :
	    ns->in->next.lpWSPGetQOSByName(ns->lower, name, qos, err);
}

static int WSPAPI
null_ioctl(SOCKET s, DWORD code, LPVOID in, DWORD inlen, LPVOID out,
    DWORD outlen, LPDWORD n, LPWSAOVERLAPPED ov,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID tid, LPINT err)
{
	struct nsock *ns = nsock(s, err);

	/* SIO_BASE_HANDLE and SIO_BSP_HANDLE included: below answers. */
	return ns == NULL ? SOCKET_ERROR :
	    ns->in->next.lpWSPIoctl(ns->lower, code, in, inlen, out, outlen,
	    n, ov, cr, tid, err);
}

static int WSPAPI
null_listen(SOCKET s, int backlog, LPINT err)
{
	struct nsock *ns = nsock(s, err);

	return ns == NULL ? SOCKET_ERROR :
	    ns->in->next.lpWSPListen(ns->lower, backlog, err);
}

static int WSPAPI
null_recv(SOCKET s, LPWSABUF b, DWORD nb, LPDWORD got, LPDWORD flags,
    LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr,
    LPWSATHREADID tid, LPINT err)
{
	NULL_DATA(s, err, lpWSPRecv(ns->lower, b, nb, got, flags, ov, cr, tid, err));
}

static int WSPAPI
null_recv_disconnect(SOCKET s, LPWSABUF data, LPINT err)
{
	struct nsock *ns = nsock(s, err);

	return ns == NULL ? SOCKET_ERROR :
	    ns->in->next.lpWSPRecvDisconnect(ns->lower, data, err);
}

static int WSPAPI
null_recvfrom(SOCKET s, LPWSABUF b, DWORD nb, LPDWORD got, LPDWORD flags,
    struct sockaddr *from, LPINT fromlen, LPWSAOVERLAPPED ov,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID tid, LPINT err)
{
	NULL_DATA(s, err, lpWSPRecvFrom(ns->lower, b, nb, got, flags, from,
	    fromlen, ov, cr, tid, err));
}

static int WSPAPI
null_send(SOCKET s, LPWSABUF b, DWORD nb, LPDWORD sent, DWORD flags,
    LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr,
    LPWSATHREADID tid, LPINT err)
{
	NULL_DATA(s, err, lpWSPSend(ns->lower, b, nb, sent, flags, ov, cr, tid, err));
}

static int WSPAPI
null_send_disconnect(SOCKET s, LPWSABUF data, LPINT err)
{
	struct nsock *ns = nsock(s, err);

	return ns == NULL ? SOCKET_ERROR :
	    ns->in->next.lpWSPSendDisconnect(ns->lower, data, err);
}

static int WSPAPI
null_sendto(SOCKET s, LPWSABUF b, DWORD nb, LPDWORD sent, DWORD flags,
    const struct sockaddr *to, int tolen, LPWSAOVERLAPPED ov,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID tid, LPINT err)
{
	NULL_DATA(s, err, lpWSPSendTo(ns->lower, b, nb, sent, flags, to, tolen,
	    ov, cr, tid, err));
}

static int WSPAPI
null_setsockopt(SOCKET s, int level, int name, const char *val, int len,
    LPINT err)
{
	struct nsock *ns = nsock(s, err);

	return ns == NULL ? SOCKET_ERROR :
	    ns->in->next.lpWSPSetSockOpt(ns->lower, level, name, val, len,
	    err);
}

static int WSPAPI
null_shutdown(SOCKET s, int how, LPINT err)
{
	struct nsock *ns = nsock(s, err);

	return ns == NULL ? SOCKET_ERROR :
	    ns->in->next.lpWSPShutdown(ns->lower, how, err);
}

static int WSPAPI
null_sendmsg(SOCKET s, const struct msghdr *msg, DWORD flags, LPDWORD sent,
    LPINT err)
{
	NULL_DATA(s, err, lpWSPSendMsg(ns->lower, msg, flags, sent, err));
}

static int WSPAPI
null_recvmsg(SOCKET s, struct msghdr *msg, LPDWORD flags, LPDWORD got,
    LPINT err)
{
	NULL_DATA(s, err, lpWSPRecvMsg(ns->lower, msg, flags, got, err));
}

static int WSPAPI
null_sendfile(SOCKET s, int file, int64_t *off, size_t count, LPDWORD sent,
    LPINT err)
{
	NULL_DATA(s, err, lpWSPSendFile(ns->lower, file, off, count, sent,
	    err));
}

static int WSPAPI
null_splice(SOCKET s, int fd, DWORD dir, size_t len, DWORD flags,
    LPDWORD moved, LPINT err)
{
	NULL_DATA(s, err, lpWSPSplice(ns->lower, fd, dir, len, flags, moved,
	    err));
}

/* The operations with no socket: find the instance, then call down. */
static INT WSPAPI
null_address_to_string(LPSOCKADDR sa, DWORD salen,
    LPWSAPROTOCOL_INFOW info, LPWSTR str, LPDWORD strlen, LPINT err)
{
	WSAPROTOCOL_INFOW pass;
	struct ninst *in;

	if (info == NULL || (in = inst_find(info->dwCatalogEntryId)) == NULL) {
		*err = info == NULL ? WSAEFAULT : WSAEINVAL;
		return SOCKET_ERROR;
	}
	if (WSPShimNextProtocolInfo(info, in->self, &pass, err) != 0)
		return SOCKET_ERROR;
	return in->next.lpWSPAddressToString(sa, salen, &pass, str, strlen,
	    err);
}

static INT WSPAPI
null_string_to_address(LPWSTR str, INT af, LPWSAPROTOCOL_INFOW info,
    LPSOCKADDR sa, LPINT salen, LPINT err)
{
	WSAPROTOCOL_INFOW pass;
	struct ninst *in;

	if (info == NULL || (in = inst_find(info->dwCatalogEntryId)) == NULL) {
		*err = info == NULL ? WSAEFAULT : WSAEINVAL;
		return SOCKET_ERROR;
	}
	if (WSPShimNextProtocolInfo(info, in->self, &pass, err) != 0)
		return SOCKET_ERROR;
	return in->next.lpWSPStringToAddress(str, af, &pass, sa, salen, err);
}

static int WSPAPI
null_cancel_blocking_call(LPINT err)
{
	struct ninst *in = inst_any();

	if (in == NULL) {
		*err = WSANOTINITIALISED;
		return SOCKET_ERROR;
	}
	return in->next.lpWSPCancelBlockingCall(err);
}

/* WSPSelect: the sets hold handles of ours, which below does not know;
 * the base has no WSPSelect either, so the answer is below's. */
static int WSPAPI
null_select(int nfds, fd_set *r, fd_set *w, fd_set *x,
    const struct timeval *tv, LPINT err)
{
	struct ninst *in = inst_any();

	if (in == NULL) {
		*err = WSANOTINITIALISED;
		return SOCKET_ERROR;
	}
	return in->next.lpWSPSelect(nfds, r, w, x, tv, err);
}

/* WSPCleanup: balance one WSPStartup of an instance and of its next
 * provider.  Instances are kept (a socket may still name one). */
static int WSPAPI
null_cleanup(LPINT err)
{
	struct ninst *in;
	int n;

	while ((in = inst_any()) != NULL) {
		n = atomic_load(&in->starts);
		while (n > 0)
			if (atomic_compare_exchange_weak(&in->starts, &n,
			    n - 1))
				return in->next.lpWSPCleanup(err);
	}
	*err = WSANOTINITIALISED;
	return SOCKET_ERROR;
}

static const WSPPROC_TABLE null_procs = {
	.lpWSPAccept = null_accept,
	.lpWSPAddressToString = null_address_to_string,
	.lpWSPAsyncSelect = null_async_select,
	.lpWSPBind = null_bind,
	.lpWSPCancelBlockingCall = null_cancel_blocking_call,
	.lpWSPCleanup = null_cleanup,
	.lpWSPCloseSocket = null_closesocket,
	.lpWSPConnect = null_connect,
	.lpWSPDuplicateSocket = null_duplicate_socket,
	.lpWSPEnumNetworkEvents = null_enum_network_events,
	.lpWSPEventSelect = null_event_select,
	.lpWSPGetOverlappedResult = null_get_overlapped_result,
	.lpWSPGetPeerName = null_getpeername,
	.lpWSPGetSockName = null_getsockname,
	.lpWSPGetSockOpt = null_getsockopt,
	.lpWSPGetQOSByName = null_get_qos_by_name,
	.lpWSPIoctl = null_ioctl,
	.lpWSPJoinLeaf = null_joinleaf,
	.lpWSPListen = null_listen,
	.lpWSPRecv = null_recv,
	.lpWSPRecvDisconnect = null_recv_disconnect,
	.lpWSPRecvFrom = null_recvfrom,
	.lpWSPSelect = null_select,
	.lpWSPSend = null_send,
	.lpWSPSendDisconnect = null_send_disconnect,
	.lpWSPSendTo = null_sendto,
	.lpWSPSetSockOpt = null_setsockopt,
	.lpWSPShutdown = null_shutdown,
	.lpWSPSocket = null_socket,
	.lpWSPStringToAddress = null_string_to_address,
	.lpWSPSendMsg = null_sendmsg,
	.lpWSPRecvMsg = null_recvmsg,
	.lpWSPAccept4 = null_accept4,
	.lpWSPSendFile = null_sendfile,
	.lpWSPSplice = null_splice,
};

/*
 * Nothing: set what in's WSPSocket passes below (see struct ninst) from
 * the core's answer for the chain's struct, info: info itself when a
 * layer is below, the catalog's entry of the base when it is the base
 * (fixed while the chain runs), scratch when the struct needs a copy.
 */
static void
inst_down(struct ninst *in, LPWSAPROTOCOL_INFOW info)
{
	WSAPROTOCOL_INFOW scratch;
	LPWSAPROTOCOL_INFOW down;
	int err;

	down = WSPShimNextProtocol(info, in->self, &scratch, &err);
	in->ask = down == NULL || down == &scratch;
	in->down = in->ask || down == info ? NULL : down;
}

/*
 * The instance of info's chain, made if new, with next as its provider
 * below; NULL when out of memory.  Lock-free (a lock held by another
 * thread when the program forks would stay locked in the child): a thread
 * that loses the race to add the same chain takes the winner's.
 */
static struct ninst *
inst_get(LPWSAPROTOCOL_INFOW info, DWORD self, const WSPPROC_TABLE *next)
{
	struct ninst *in, *head, *p, *none = NULL;

	if ((in = inst_find(info->dwCatalogEntryId)) != NULL) {
		if (atomic_load(&in->starts) == 0) {
			/* restarted after cleanup */
			in->next = *next;
			inst_down(in, info);
		}
		return in;
	}
	if ((in = calloc(1, sizeof(*in))) == NULL)
		return NULL;
	in->chain = info->dwCatalogEntryId;
	in->self = self;
	in->info = *info;
	in->next = *next;
	inst_down(in, info);
	head = atomic_load(&instances);
	do {
		for (p = head; p != NULL; p = p->link)
			if (p->chain == in->chain) {
				free(in);
				return p;
			}
		in->link = head;
	} while (!atomic_compare_exchange_weak(&instances, &head, in));
	/* The first chain at its place keeps it. */
	atomic_compare_exchange_strong(&inst_byid[in->chain % INST_BYID],
	    &none, in);
	return in;
}

/*
 * The parameter check the wspshim command calls before a run or an
 * install (ws2spi.h): 0 when the parameters would start the layer, else
 * -1 and one line in why.  It must not start anything.  This layer takes
 * no parameters; a layer with some parses them here with the same code
 * its WSPStartup uses, into a scratch configuration.
 */
EXPORT int
WSPShimCheckParams(const char *params, char *why, size_t len)
{
	if (params == NULL || params[0] == '\0')
		return 0;
	snprintf(why, len, "takes no parameters (\"%s\")", params);
	return -1;
}

/*
 * The one export, called once per chain that names this layer: start the
 * provider below us in that chain and hand the core our table.  0, or
 * WSAEFAULT, WSAVERNOTSUPPORTED, WSASYSNOTREADY, WSAENOBUFS, or what
 * starting the provider below gave.
 */
EXPORT int WSPAPI
WSPStartup(WORD version, LPWSPDATA data, LPWSAPROTOCOL_INFOW info,
    WSPUPCALLTABLE upcalls, LPWSPPROC_TABLE procs)
{
	WSAPROTOCOL_INFOW pass;
	WSPPROC_TABLE next;
	struct ninst *in;
	DWORD self;
	int err;

	if (data == NULL || info == NULL || procs == NULL)
		return WSAEFAULT;
	/* 2.2 is both our minimum and our maximum. */
	data->wHighVersion = MAKEWORD(2, 2);
	data->wVersion = MAKEWORD(2, 2);
	if (LOBYTE(version) < 2 ||
	    (LOBYTE(version) == 2 && HIBYTE(version) < 2))
		return WSAVERNOTSUPPORTED;
	/* Our layered entry id, found in the chain whoever loaded us (the
	 * core, or a layer above that loads the next itself).  A module
	 * serves one entry: asked for another, it hands back a copy. */
	if ((self = WSPShimFindSelf(info, &err)) == 0)
		return err;
	if (!WSPShimClaimSelf(&served, self))
		return WSPShimStartCopy(info, self, data, procs, &err) == 0 ?
		    0 : err;
	if (WSPShimStartNextProvider(info, self, &next, &pass, &err) != 0)
		return err;

	if ((in = inst_get(info, self, &next)) == NULL) {
		next.lpWSPCleanup(&err);
		return WSAENOBUFS;
	}
	atomic_fetch_add(&in->starts, 1);
	wsp_once(&up_once, up_store, &upcalls);

	memcpy(data->szDescription, description, sizeof(description));
	data->wLinuxTableVersion = WSPSHIM_LINUX_TABLE_VERSION;
	*procs = null_procs;
	return 0;
}
