/*
 * old.c - a layer written against an older table: Winsock's 30 members
 * only (wLinuxTableVersion 0), or with its parameter string "1", also
 * the three Linux members of version 1 (sendmsg, recvmsg, accept4).
 *
 * It is what an LSP ported from Windows looks like before it learns the
 * Linux members, in the simplest Winsock style, IFS: its sockets are the
 * handles of the provider below, and every operation calls down with the
 * same handle.  Every chain that names it has the same provider below (a
 * layered entry is one module copy), so one next table serves them all.
 *
 * The core must complete its table (spi/procfill.c) so that the layers
 * above it, which call the Linux members, never jump to NULL: the
 * integration test runs real programs with every shipped layer over it.
 *
 * With "xor" it is also a layer that changes payload: WSPSend sends the
 * bytes XORed with 0x5a (at most 16 KiB a call, from a copy) and WSPRecv
 * and WSPRecvFrom XOR what they received, so a connection whose two ends
 * both pass through it carries the program's bytes only if every byte
 * went through those members.  "xor" reports version 0, so sendfile and
 * splice are the core's fallbacks over its WSPSend/WSPRecv; "xor2"
 * reports version 2 and implements them itself with
 * WSPShimSendFileBySend and WSPShimSpliceByCopy on its own table, as
 * writing-a-layer.md tells a layer that reads payload to do.
 */
#include <stdatomic.h>
#include <string.h>

#include <wspshim/ws2spi.h>

#define EXPORT	__attribute__((visibility("default")))

static WSPPROC_TABLE next;		/* the provider below */
static WSPPROC_TABLE own;		/* ours, as handed to the core */
static _Atomic int starts;
static int xor_mode;

#define XOR_KEY		0x5a
#define XOR_CHUNK	16384

/* Nothing: XORs the first n bytes of the buffers. */
static void
xor_bufs(LPWSABUF b, DWORD nb, size_t n)
{
	size_t k;
	DWORD i;

	for (i = 0; i < nb && n > 0; i++)
		for (k = 0; k < b[i].len && n > 0; k++, n--)
			b[i].buf[k] ^= XOR_KEY;
}

/* The struct to pass below for info: 0 and *pass, or SOCKET_ERROR. */
static int
old_pass(LPWSAPROTOCOL_INFOW info, LPWSAPROTOCOL_INFOW pass, LPINT err)
{
	if (info == NULL) {
		*err = WSAEFAULT;
		return SOCKET_ERROR;
	}
	return WSPShimNextProtocolInfo(info, WSPShimSelfCatalogEntryId(), pass,
	    err);
}

static SOCKET WSPAPI
old_accept(SOCKET s, struct sockaddr *addr, LPINT addrlen,
    LPCONDITIONPROC cond, DWORD_PTR data, LPINT err)
{
	return next.lpWSPAccept(s, addr, addrlen, cond, data, err);
}

static INT WSPAPI
old_address_to_string(LPSOCKADDR sa, DWORD salen, LPWSAPROTOCOL_INFOW info,
    LPWSTR str, LPDWORD strlen, LPINT err)
{
	WSAPROTOCOL_INFOW pass;

	if (old_pass(info, &pass, err) != 0)
		return SOCKET_ERROR;
	return next.lpWSPAddressToString(sa, salen, &pass, str, strlen, err);
}

static int WSPAPI
old_async_select(SOCKET s, HWND w, unsigned int msg, LONG ev, LPINT err)
{
	return next.lpWSPAsyncSelect(s, w, msg, ev, err);
}

static int WSPAPI
old_bind(SOCKET s, const struct sockaddr *name, int len, LPINT err)
{
	return next.lpWSPBind(s, name, len, err);
}

static int WSPAPI
old_cancel_blocking_call(LPINT err)
{
	return next.lpWSPCancelBlockingCall(err);
}

static int WSPAPI
old_cleanup(LPINT err)
{
	int n = atomic_load(&starts);

	do {
		if (n <= 0) {
			*err = WSANOTINITIALISED;
			return SOCKET_ERROR;
		}
	} while (!atomic_compare_exchange_weak(&starts, &n, n - 1));
	return next.lpWSPCleanup(err);
}

static int WSPAPI
old_closesocket(SOCKET s, LPINT err)
{
	return next.lpWSPCloseSocket(s, err);
}

static int WSPAPI
old_connect(SOCKET s, const struct sockaddr *name, int len, LPWSABUF caller,
    LPWSABUF callee, LPQOS sqos, LPQOS gqos, LPINT err)
{
	return next.lpWSPConnect(s, name, len, caller, callee, sqos, gqos, err);
}

static int WSPAPI
old_duplicate_socket(SOCKET s, DWORD pid, LPWSAPROTOCOL_INFOW info,
    LPINT err)
{
	return next.lpWSPDuplicateSocket(s, pid, info, err);
}

static int WSPAPI
old_enum_network_events(SOCKET s, WSAEVENT ev, LPWSANETWORKEVENTS ne,
    LPINT err)
{
	return next.lpWSPEnumNetworkEvents(s, ev, ne, err);
}

static int WSPAPI
old_event_select(SOCKET s, WSAEVENT ev, LONG events, LPINT err)
{
	return next.lpWSPEventSelect(s, ev, events, err);
}

static BOOL WSPAPI
old_get_overlapped_result(SOCKET s, LPWSAOVERLAPPED ov, LPDWORD n,
    BOOL wait, LPDWORD flags, LPINT err)
{
	return next.lpWSPGetOverlappedResult(s, ov, n, wait, flags, err);
}

static int WSPAPI
old_getpeername(SOCKET s, struct sockaddr *name, LPINT len, LPINT err)
{
	return next.lpWSPGetPeerName(s, name, len, err);
}

static int WSPAPI
old_getsockname(SOCKET s, struct sockaddr *name, LPINT len, LPINT err)
{
	return next.lpWSPGetSockName(s, name, len, err);
}

static int WSPAPI
old_getsockopt(SOCKET s, int level, int name, char *val, LPINT len,
    LPINT err)
{
	return next.lpWSPGetSockOpt(s, level, name, val, len, err);
}

static BOOL WSPAPI
old_get_qos_by_name(SOCKET s, LPWSABUF name, LPQOS qos, LPINT err)
{
	return next.lpWSPGetQOSByName(s, name, qos, err);
}

static int WSPAPI
old_ioctl(SOCKET s, DWORD code, LPVOID in, DWORD inlen, LPVOID out,
    DWORD outlen, LPDWORD ret, LPWSAOVERLAPPED ov,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID tid, LPINT err)
{
	return next.lpWSPIoctl(s, code, in, inlen, out, outlen, ret, ov, cr,
	    tid, err);
}

static SOCKET WSPAPI
old_joinleaf(SOCKET s, const struct sockaddr *name, int len,
    LPWSABUF caller, LPWSABUF callee, LPQOS sqos, LPQOS gqos, DWORD flags,
    LPINT err)
{
	return next.lpWSPJoinLeaf(s, name, len, caller, callee, sqos, gqos,
	    flags, err);
}

static int WSPAPI
old_listen(SOCKET s, int backlog, LPINT err)
{
	return next.lpWSPListen(s, backlog, err);
}

static int WSPAPI
old_recv(SOCKET s, LPWSABUF b, DWORD nb, LPDWORD got, LPDWORD flags,
    LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr,
    LPWSATHREADID tid, LPINT err)
{
	int rc = next.lpWSPRecv(s, b, nb, got, flags, ov, cr, tid, err);

	if (rc == 0 && xor_mode)
		xor_bufs(b, nb, *got);
	return rc;
}

static int WSPAPI
old_recv_disconnect(SOCKET s, LPWSABUF data, LPINT err)
{
	return next.lpWSPRecvDisconnect(s, data, err);
}

static int WSPAPI
old_recvfrom(SOCKET s, LPWSABUF b, DWORD nb, LPDWORD got, LPDWORD flags,
    struct sockaddr *from, LPINT fromlen, LPWSAOVERLAPPED ov,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID tid, LPINT err)
{
	int rc = next.lpWSPRecvFrom(s, b, nb, got, flags, from, fromlen, ov,
	    cr, tid, err);

	if (rc == 0 && xor_mode)
		xor_bufs(b, nb, *got);
	return rc;
}

static int WSPAPI
old_select(int nfds, fd_set *r, fd_set *w, fd_set *x,
    const struct timeval *tv, LPINT err)
{
	return next.lpWSPSelect(nfds, r, w, x, tv, err);
}

/* XOR mode: a copy of at most XOR_CHUNK bytes, changed, goes down (a
 * send may be short). */
static int
xor_send(SOCKET s, LPWSABUF b, DWORD nb, LPDWORD sent, DWORD flags,
    const struct sockaddr *to, int tolen, LPINT err)
{
	char buf[XOR_CHUNK];
	WSABUF one = { .buf = buf };
	size_t n = 0, k;
	DWORD i;

	for (i = 0; i < nb && n < sizeof(buf); i++) {
		k = b[i].len < sizeof(buf) - n ? b[i].len : sizeof(buf) - n;
		memcpy(buf + n, b[i].buf, k);
		n += k;
	}
	one.len = (ULONG)n;
	xor_bufs(&one, 1, n);
	if (to != NULL)
		return next.lpWSPSendTo(s, &one, 1, sent, flags, to, tolen,
		    NULL, NULL, NULL, err);
	return next.lpWSPSend(s, &one, 1, sent, flags, NULL, NULL, NULL, err);
}

static int WSPAPI
old_send(SOCKET s, LPWSABUF b, DWORD nb, LPDWORD sent, DWORD flags,
    LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr,
    LPWSATHREADID tid, LPINT err)
{
	if (xor_mode)
		return xor_send(s, b, nb, sent, flags, NULL, 0, err);
	return next.lpWSPSend(s, b, nb, sent, flags, ov, cr, tid, err);
}

static int WSPAPI
old_send_disconnect(SOCKET s, LPWSABUF data, LPINT err)
{
	return next.lpWSPSendDisconnect(s, data, err);
}

static int WSPAPI
old_sendto(SOCKET s, LPWSABUF b, DWORD nb, LPDWORD sent, DWORD flags,
    const struct sockaddr *to, int tolen, LPWSAOVERLAPPED ov,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID tid, LPINT err)
{
	if (xor_mode)
		return xor_send(s, b, nb, sent, flags, to, tolen, err);
	return next.lpWSPSendTo(s, b, nb, sent, flags, to, tolen, ov, cr, tid,
	    err);
}

static int WSPAPI
old_setsockopt(SOCKET s, int level, int name, const char *val, int len,
    LPINT err)
{
	return next.lpWSPSetSockOpt(s, level, name, val, len, err);
}

static int WSPAPI
old_shutdown(SOCKET s, int how, LPINT err)
{
	return next.lpWSPShutdown(s, how, err);
}

static SOCKET WSPAPI
old_socket(int af, int type, int protocol, LPWSAPROTOCOL_INFOW info,
    GROUP g, DWORD flags, LPINT err)
{
	WSAPROTOCOL_INFOW pass;

	if (old_pass(info, &pass, err) != 0)
		return INVALID_SOCKET;
	return next.lpWSPSocket(af, type, protocol, &pass, g, flags, err);
}

static INT WSPAPI
old_string_to_address(LPWSTR str, INT af, LPWSAPROTOCOL_INFOW info,
    LPSOCKADDR sa, LPINT salen, LPINT err)
{
	WSAPROTOCOL_INFOW pass;

	if (old_pass(info, &pass, err) != 0)
		return SOCKET_ERROR;
	return next.lpWSPStringToAddress(str, af, &pass, sa, salen, err);
}

/* Version 1's members, filled only when the parameter asks for them. */
static int WSPAPI
old_sendmsg(SOCKET s, const struct msghdr *msg, DWORD flags, LPDWORD sent,
    LPINT err)
{
	WSABUF b[8];
	size_t i;

	if (!xor_mode)
		return next.lpWSPSendMsg(s, msg, flags, sent, err);
	/* xor2: the data part only (no control part can be XORed). */
	if (msg->msg_controllen != 0) {
		*err = WSAEOPNOTSUPP;
		return SOCKET_ERROR;
	}
	for (i = 0; i < msg->msg_iovlen && i < 8; i++) {
		b[i].buf = msg->msg_iov[i].iov_base;
		b[i].len = (ULONG)msg->msg_iov[i].iov_len;
	}
	return xor_send(s, b, (DWORD)i, sent, flags, msg->msg_name,
	    (int)msg->msg_namelen, err);
}

static int WSPAPI
old_recvmsg(SOCKET s, struct msghdr *msg, LPDWORD flags, LPDWORD got,
    LPINT err)
{
	int rc = next.lpWSPRecvMsg(s, msg, flags, got, err);
	size_t i, n, k;

	for (i = 0, n = rc == 0 && xor_mode ? *got : 0;
	    i < msg->msg_iovlen && n > 0; i++)
		for (k = 0; k < msg->msg_iov[i].iov_len && n > 0; k++, n--)
			((char *)msg->msg_iov[i].iov_base)[k] ^= XOR_KEY;
	return rc;
}

static SOCKET WSPAPI
old_accept4(SOCKET s, struct sockaddr *addr, LPINT addrlen, DWORD flags,
    LPINT err)
{
	return next.lpWSPAccept4(s, addr, addrlen, flags, err);
}

/* xor2: sendfile and splice that see the bytes, through our own
 * WSPSend and WSPRecv. */
static int WSPAPI
xor_sendfile(SOCKET s, int file, int64_t *off, size_t count, LPDWORD sent,
    LPINT err)
{
	return WSPShimSendFileBySend(&own, s, file, off, count, sent, err);
}

static int WSPAPI
xor_splice(SOCKET s, int fd, DWORD dir, size_t len, DWORD flags,
    LPDWORD moved, LPINT err)
{
	return WSPShimSpliceByCopy(&own, s, fd, dir, len, flags, moved, err);
}

/* Only the members of an older header: the rest stays as the core gave
 * it (zeroed). */
static void
old_fill(LPWSPPROC_TABLE t, int version)
{
	t->lpWSPAccept = old_accept;
	t->lpWSPAddressToString = old_address_to_string;
	t->lpWSPAsyncSelect = old_async_select;
	t->lpWSPBind = old_bind;
	t->lpWSPCancelBlockingCall = old_cancel_blocking_call;
	t->lpWSPCleanup = old_cleanup;
	t->lpWSPCloseSocket = old_closesocket;
	t->lpWSPConnect = old_connect;
	t->lpWSPDuplicateSocket = old_duplicate_socket;
	t->lpWSPEnumNetworkEvents = old_enum_network_events;
	t->lpWSPEventSelect = old_event_select;
	t->lpWSPGetOverlappedResult = old_get_overlapped_result;
	t->lpWSPGetPeerName = old_getpeername;
	t->lpWSPGetSockName = old_getsockname;
	t->lpWSPGetSockOpt = old_getsockopt;
	t->lpWSPGetQOSByName = old_get_qos_by_name;
	t->lpWSPIoctl = old_ioctl;
	t->lpWSPJoinLeaf = old_joinleaf;
	t->lpWSPListen = old_listen;
	t->lpWSPRecv = old_recv;
	t->lpWSPRecvDisconnect = old_recv_disconnect;
	t->lpWSPRecvFrom = old_recvfrom;
	t->lpWSPSelect = old_select;
	t->lpWSPSend = old_send;
	t->lpWSPSendDisconnect = old_send_disconnect;
	t->lpWSPSendTo = old_sendto;
	t->lpWSPSetSockOpt = old_setsockopt;
	t->lpWSPShutdown = old_shutdown;
	t->lpWSPSocket = old_socket;
	t->lpWSPStringToAddress = old_string_to_address;
	if (version >= 1) {
		t->lpWSPSendMsg = old_sendmsg;
		t->lpWSPRecvMsg = old_recvmsg;
		t->lpWSPAccept4 = old_accept4;
	}
	if (version >= 2) {
		t->lpWSPSendFile = xor_sendfile;
		t->lpWSPSplice = xor_splice;
	}
}

/* Start the provider below and hand the core our older table.  0, or
 * WSAEFAULT, WSASYSNOTREADY or what starting the provider below gave. */
EXPORT int WSPAPI
WSPStartup(WORD version, LPWSPDATA data, LPWSAPROTOCOL_INFOW info,
    WSPUPCALLTABLE upcalls, LPWSPPROC_TABLE procs)
{
	WSAPROTOCOL_INFOW pass;
	char params[16];
	int len = (int)sizeof(params), err, v = 0;
	DWORD self;

	if (data == NULL || info == NULL || procs == NULL)
		return WSAEFAULT;
	if ((self = WSPShimSelfCatalogEntryId()) == 0)
		return WSASYSNOTREADY;
	if (WSPShimGetLayerParams(self, params, &len, &err) != 0)
		params[0] = '\0';
	if (strcmp(params, "1") == 0)
		v = 1;
	else if (strcmp(params, "xor") == 0)
		xor_mode = 1;
	else if (strcmp(params, "xor2") == 0)
		xor_mode = 1, v = 2;
	if (WSPShimStartNextProvider(info, self, &next, &pass, &err) != 0)
		return err;
	atomic_fetch_add(&starts, 1);
	data->wVersion = WSPSHIM_SPI_VERSION;
	data->wHighVersion = WSPSHIM_SPI_VERSION;
	data->wLinuxTableVersion = (WORD)v;
	old_fill(procs, v);
	own = *procs;
	return 0;
}
