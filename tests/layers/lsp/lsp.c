/*
 * lsp.c - a test layer written the way Windows LSPs are, after the
 * Platform SDK's sample: it uses nothing of libwspshim but the Winsock
 * names (WSCEnumProtocols, WSCGetProviderPath, the upcall table) and
 * loads the provider below it itself.
 *
 * In WSPStartup it enumerates the catalog to find its own layered entries
 * by its compiled-in provider GUID (so it must be installed with
 * `wspshim install --guid LSP_GUID`), finds its position in
 * lpProtocolInfo->ProtocolChain, looks up the next entry of the chain,
 * asks WSCGetProviderPath for that entry's file, dlopens it and calls its
 * WSPStartup with the same struct (or, when the next is the base, the
 * base's own catalog entry: base providers never see chains).  Its
 * sockets are its own handles from WPUCreateSocketHandle, whose context
 * holds the handle below; every one of the 30 Winsock members and the 3
 * Linux members of table version 1 is filled by hand and calls down
 * (getsockopt SO_PROTOCOL_INFOW answers the chain's struct, as the
 * sample's does).
 *
 * It appends one line per WSPStartup, WSPCleanup, WSPSocket, WSPAccept
 * and WSPCloseSocket to the file WSP_LSP_LOG names (a Windows LSP would
 * read the registry; the environment is the nearest thing):
 *
 *   startup self=ID pos=P entry=ID chain=A,B,... next=ID base=0|1
 *       nextpath=PATH passed=ID rc=N
 *   socket entry=ID lower=H handle=H rc=N
 *   accept lower=H handle=H rc=N
 *   close handle=H rc=N
 *   cleanup rc=N
 *   bytes sent=N received=N		(at the last WSPCleanup)
 *
 * test_layer_winway.sh reads them.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <wspshim/ws2spi.h>

#define EXPORT	__attribute__((visibility("default")))

/* {5f1e3a8c-7b2d-4c61-9e0a-3d4b5c6d7e8f}: the GUID its installer uses. */
static const GUID lsp_guid = {
	0x5f1e3a8c, 0x7b2d, 0x4c61,
	{ 0x9e, 0x0a, 0x3d, 0x4b, 0x5c, 0x6d, 0x7e, 0x8f }
};

/* One chain this layer was started for, with the provider below. */
struct inst {
	struct inst	*link;
	DWORD		chain;		/* the chain entry's catalog id */
	DWORD		self;		/* our layered entry in that chain */
	int		starts;		/* WSPStartup calls not cleaned up */
	void		*dl;		/* the next provider's module */
	WSPPROC_TABLE	next;		/* ... and its table */
	WSAPROTOCOL_INFOW info;		/* the chain's struct */
	WSAPROTOCOL_INFOW below;	/* what WSPSocket passes down */
	int		below_is_base;
};

/* A socket: the context of our handle. */
struct sock {
	SOCKET		lower;
	struct inst	*in;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct inst *insts;
static WSPUPCALLTABLE up;
static _Atomic unsigned long long sent, received;

/* Append one line to the log WSP_LSP_LOG names, if any. */
static void __attribute__((format(printf, 1, 2)))
lsp_log(const char *fmt, ...)
{
	const char *path = getenv("WSP_LSP_LOG");
	char line[1024];
	va_list ap;
	int fd, n;

	if (path == NULL || *path == '\0')
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0600)) < 0)
		return;
	if (write(fd, line, (size_t)n) != n)
		n = 0;
	close(fd);
}

/* The instance of chain id `chain', or NULL (lock held). */
static struct inst *
inst_find(DWORD chain)
{
	struct inst *in;

	for (in = insts; in != NULL; in = in->link)
		if (in->chain == chain)
			return in;
	return NULL;
}

/* The instance of a struct's chain, or NULL with *err. */
static struct inst *
inst_of(const WSAPROTOCOL_INFOW *info, LPINT err)
{
	struct inst *in;

	if (info == NULL) {
		*err = WSAEFAULT;
		return NULL;
	}
	pthread_mutex_lock(&lock);
	in = inst_find(info->dwCatalogEntryId);
	pthread_mutex_unlock(&lock);
	if (in == NULL)
		*err = WSAEINVAL;
	return in;
}

/* Our socket s, or NULL with *err (WSAENOTSOCK). */
static struct sock *
sock_of(SOCKET s, LPINT err)
{
	DWORD_PTR ctx;

	if (up.lpWPUQuerySocketHandleContext(s, &ctx, err) != 0)
		return NULL;
	return (struct sock *)ctx;
}

/* Our handle over lower, a new socket of instance in; INVALID_SOCKET with
 * *err and lower closed when it cannot be made. */
static SOCKET
sock_wrap(struct inst *in, SOCKET lower, LPINT err)
{
	struct sock *ls;
	SOCKET h;
	int e2;

	if ((ls = calloc(1, sizeof(*ls))) == NULL) {
		*err = WSAENOBUFS;
		goto fail;
	}
	ls->lower = lower;
	ls->in = in;
	h = up.lpWPUCreateSocketHandle(in->self, (DWORD_PTR)ls, err);
	if (h != INVALID_SOCKET)
		return h;
	free(ls);
fail:
	in->next.lpWSPCloseSocket(lower, &e2);
	return INVALID_SOCKET;
}

/* The socket context of s, or return SOCKET_ERROR (WSAENOTSOCK). */
#define SOCK(s, err, ls)						\
	struct sock *ls = sock_of((s), (err));				\
	if (ls == NULL)							\
		return SOCKET_ERROR

static SOCKET WSPAPI
lsp_accept(SOCKET s, struct sockaddr *addr, LPINT addrlen,
    LPCONDITIONPROC cond, DWORD_PTR data, LPINT err)
{
	struct sock *ls = sock_of(s, err);
	SOCKET lower, h;

	if (ls == NULL)
		return INVALID_SOCKET;
	lower = ls->in->next.lpWSPAccept(ls->lower, addr, addrlen, cond, data,
	    err);
	h = lower == INVALID_SOCKET ? INVALID_SOCKET :
	    sock_wrap(ls->in, lower, err);
	lsp_log("accept lower=%lu handle=%lu rc=%d", (unsigned long)lower,
	    (unsigned long)h, h == INVALID_SOCKET ? *err : 0);
	return h;
}

/* The struct to pass below for a call given info: info itself when a
 * layer is below; the base's own entry, with info's duplicate-socket
 * token, when the base is. */
static LPWSAPROTOCOL_INFOW
pass_down(struct inst *in, LPWSAPROTOCOL_INFOW info,
    LPWSAPROTOCOL_INFOW scratch)
{
	if (!in->below_is_base)
		return info;
	*scratch = in->below;
	scratch->dwProviderReserved = info->dwProviderReserved;
	return scratch;
}

static INT WSPAPI
lsp_address_to_string(LPSOCKADDR sa, DWORD salen, LPWSAPROTOCOL_INFOW info,
    LPWSTR out, LPDWORD outlen, LPINT err)
{
	WSAPROTOCOL_INFOW scratch;
	struct inst *in = inst_of(info, err);

	if (in == NULL)
		return SOCKET_ERROR;
	return in->next.lpWSPAddressToString(sa, salen,
	    pass_down(in, info, &scratch), out, outlen, err);
}

static int WSPAPI
lsp_async_select(SOCKET s, HWND hwnd, unsigned int msg, LONG ev, LPINT err)
{
	SOCK(s, err, ls);
	return ls->in->next.lpWSPAsyncSelect(ls->lower, hwnd, msg, ev, err);
}

static int WSPAPI
lsp_bind(SOCKET s, const struct sockaddr *name, int namelen, LPINT err)
{
	SOCK(s, err, ls);
	return ls->in->next.lpWSPBind(ls->lower, name, namelen, err);
}

static int WSPAPI
lsp_cancel_blocking_call(LPINT err)
{
	*err = WSAEINVAL;	/* Winsock 2: no blocking calls to cancel */
	return SOCKET_ERROR;
}

static int WSPAPI
lsp_cleanup(LPINT err)
{
	struct inst *in, *pick = NULL;
	int rc = 0, last = 1, down;

	pthread_mutex_lock(&lock);
	for (in = insts; in != NULL; in = in->link)
		if (in->starts > 0 && pick == NULL)
			pick = in;
	if (pick != NULL)
		pick->starts--;
	for (in = insts; in != NULL; in = in->link)
		if (in->starts > 0)
			last = 0;
	/* The provider below was started once per instance. */
	down = pick != NULL && pick->starts == 0;
	pthread_mutex_unlock(&lock);
	if (pick == NULL) {
		*err = WSANOTINITIALISED;
		return SOCKET_ERROR;
	}
	if (down)
		rc = pick->next.lpWSPCleanup(err);
	lsp_log("cleanup rc=%d", rc != 0 ? *err : 0);
	if (last)
		lsp_log("bytes sent=%llu received=%llu", atomic_load(&sent),
		    atomic_load(&received));
	return rc;
}

static int WSPAPI
lsp_closesocket(SOCKET s, LPINT err)
{
	int rc, e2;

	SOCK(s, err, ls);
	rc = ls->in->next.lpWSPCloseSocket(ls->lower, err);
	if (rc == 0) {
		up.lpWPUCloseSocketHandle(s, &e2);
		free(ls);
	}
	lsp_log("close handle=%lu rc=%d", (unsigned long)s, rc != 0 ? *err : 0);
	return rc;
}

static int WSPAPI
lsp_connect(SOCKET s, const struct sockaddr *name, int namelen,
    LPWSABUF caller, LPWSABUF callee, LPQOS sqos, LPQOS gqos, LPINT err)
{
	SOCK(s, err, ls);
	return ls->in->next.lpWSPConnect(ls->lower, name, namelen, caller,
	    callee, sqos, gqos, err);
}

/* The token's struct names our chain, as the SDK sample rewrites it:
 * what the provider below wrote, but for dwProviderReserved, becomes our
 * chain's entry. */
static int WSPAPI
lsp_duplicate_socket(SOCKET s, DWORD pid, LPWSAPROTOCOL_INFOW info,
    LPINT err)
{
	DWORD token;
	int rc;

	SOCK(s, err, ls);
	rc = ls->in->next.lpWSPDuplicateSocket(ls->lower, pid, info, err);
	if (rc == 0) {
		token = info->dwProviderReserved;
		*info = ls->in->info;
		info->dwProviderReserved = token;
	}
	return rc;
}

static int WSPAPI
lsp_enum_network_events(SOCKET s, WSAEVENT ev, LPWSANETWORKEVENTS ne,
    LPINT err)
{
	SOCK(s, err, ls);
	return ls->in->next.lpWSPEnumNetworkEvents(ls->lower, ev, ne, err);
}

static int WSPAPI
lsp_event_select(SOCKET s, WSAEVENT ev, LONG events, LPINT err)
{
	SOCK(s, err, ls);
	return ls->in->next.lpWSPEventSelect(ls->lower, ev, events, err);
}

static BOOL WSPAPI
lsp_get_overlapped_result(SOCKET s, LPWSAOVERLAPPED ov, LPDWORD n,
    BOOL wait, LPDWORD flags, LPINT err)
{
	struct sock *ls = sock_of(s, err);

	if (ls == NULL)
		return FALSE;
	return ls->in->next.lpWSPGetOverlappedResult(ls->lower, ov, n, wait,
	    flags, err);
}

static int WSPAPI
lsp_getpeername(SOCKET s, struct sockaddr *name, LPINT namelen, LPINT err)
{
	SOCK(s, err, ls);
	return ls->in->next.lpWSPGetPeerName(ls->lower, name, namelen, err);
}

static int WSPAPI
lsp_getsockname(SOCKET s, struct sockaddr *name, LPINT namelen, LPINT err)
{
	SOCK(s, err, ls);
	return ls->in->next.lpWSPGetSockName(ls->lower, name, namelen, err);
}

static int WSPAPI
lsp_getsockopt(SOCKET s, int level, int name, char *val, LPINT len,
    LPINT err)
{
	SOCK(s, err, ls);
	/* The socket's protocol is our chain, as the SDK sample answers. */
	if (level == SOL_SOCKET && name == SO_PROTOCOL_INFOW) {
		if (val == NULL || len == NULL ||
		    *len < (int)sizeof(WSAPROTOCOL_INFOW)) {
			if (len != NULL)
				*len = (int)sizeof(WSAPROTOCOL_INFOW);
			*err = WSAEFAULT;
			return SOCKET_ERROR;
		}
		memcpy(val, &ls->in->info, sizeof(WSAPROTOCOL_INFOW));
		*len = (int)sizeof(WSAPROTOCOL_INFOW);
		return 0;
	}
	return ls->in->next.lpWSPGetSockOpt(ls->lower, level, name, val, len,
	    err);
}

static BOOL WSPAPI
lsp_get_qos_by_name(SOCKET s, LPWSABUF name, LPQOS qos, LPINT err)
{
	struct sock *ls = sock_of(s, err);

	if (ls == NULL)
		return FALSE;
	return ls->in->next.lpWSPGetQOSByName(ls->lower, name, qos, err);
}

static int WSPAPI
lsp_ioctl(SOCKET s, DWORD code, LPVOID in, DWORD inlen, LPVOID out,
    DWORD outlen, LPDWORD got, LPWSAOVERLAPPED ov,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID tid, LPINT err)
{
	SOCK(s, err, ls);
	return ls->in->next.lpWSPIoctl(ls->lower, code, in, inlen, out, outlen,
	    got, ov, cr, tid, err);
}

static SOCKET WSPAPI
lsp_joinleaf(SOCKET s, const struct sockaddr *name, int namelen,
    LPWSABUF caller, LPWSABUF callee, LPQOS sqos, LPQOS gqos, DWORD flags,
    LPINT err)
{
	struct sock *ls = sock_of(s, err);
	SOCKET r;

	if (ls == NULL)
		return INVALID_SOCKET;
	r = ls->in->next.lpWSPJoinLeaf(ls->lower, name, namelen, caller,
	    callee, sqos, gqos, flags, err);
	if (r == INVALID_SOCKET || r == ls->lower)
		return r == INVALID_SOCKET ? r : s;
	return sock_wrap(ls->in, r, err);
}

static int WSPAPI
lsp_listen(SOCKET s, int backlog, LPINT err)
{
	SOCK(s, err, ls);
	return ls->in->next.lpWSPListen(ls->lower, backlog, err);
}

static int WSPAPI
lsp_recv(SOCKET s, LPWSABUF bufs, DWORD n, LPDWORD got, LPDWORD flags,
    LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr,
    LPWSATHREADID tid, LPINT err)
{
	int rc;

	SOCK(s, err, ls);
	rc = ls->in->next.lpWSPRecv(ls->lower, bufs, n, got, flags, ov, cr, tid,
	    err);
	if (rc == 0 && ov == NULL && got != NULL)
		atomic_fetch_add(&received, *got);
	return rc;
}

static int WSPAPI
lsp_recv_disconnect(SOCKET s, LPWSABUF data, LPINT err)
{
	SOCK(s, err, ls);
	return ls->in->next.lpWSPRecvDisconnect(ls->lower, data, err);
}

static int WSPAPI
lsp_recvfrom(SOCKET s, LPWSABUF bufs, DWORD n, LPDWORD got, LPDWORD flags,
    struct sockaddr *from, LPINT fromlen, LPWSAOVERLAPPED ov,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID tid, LPINT err)
{
	int rc;

	SOCK(s, err, ls);
	rc = ls->in->next.lpWSPRecvFrom(ls->lower, bufs, n, got, flags, from,
	    fromlen, ov, cr, tid, err);
	if (rc == 0 && ov == NULL && got != NULL)
		atomic_fetch_add(&received, *got);
	return rc;
}

/* WSPSelect names no socket of ours here: the shim polls the kernel's
 * descriptors itself, so the call goes to any provider below. */
static int WSPAPI
lsp_select(int nfds, fd_set *r, fd_set *w, fd_set *x,
    const struct timeval *tv, LPINT err)
{
	struct inst *in;

	pthread_mutex_lock(&lock);
	in = insts;
	pthread_mutex_unlock(&lock);
	if (in == NULL) {
		*err = WSANOTINITIALISED;
		return SOCKET_ERROR;
	}
	return in->next.lpWSPSelect(nfds, r, w, x, tv, err);
}

static int WSPAPI
lsp_send(SOCKET s, LPWSABUF bufs, DWORD n, LPDWORD got, DWORD flags,
    LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr,
    LPWSATHREADID tid, LPINT err)
{
	int rc;

	SOCK(s, err, ls);
	rc = ls->in->next.lpWSPSend(ls->lower, bufs, n, got, flags, ov, cr, tid,
	    err);
	if (rc == 0 && ov == NULL && got != NULL)
		atomic_fetch_add(&sent, *got);
	return rc;
}

static int WSPAPI
lsp_send_disconnect(SOCKET s, LPWSABUF data, LPINT err)
{
	SOCK(s, err, ls);
	return ls->in->next.lpWSPSendDisconnect(ls->lower, data, err);
}

static int WSPAPI
lsp_sendto(SOCKET s, LPWSABUF bufs, DWORD n, LPDWORD got, DWORD flags,
    const struct sockaddr *to, int tolen, LPWSAOVERLAPPED ov,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID tid, LPINT err)
{
	int rc;

	SOCK(s, err, ls);
	rc = ls->in->next.lpWSPSendTo(ls->lower, bufs, n, got, flags, to, tolen,
	    ov, cr, tid, err);
	if (rc == 0 && ov == NULL && got != NULL)
		atomic_fetch_add(&sent, *got);
	return rc;
}

static int WSPAPI
lsp_setsockopt(SOCKET s, int level, int name, const char *val, int len,
    LPINT err)
{
	SOCK(s, err, ls);
	return ls->in->next.lpWSPSetSockOpt(ls->lower, level, name, val, len,
	    err);
}

static int WSPAPI
lsp_shutdown(SOCKET s, int how, LPINT err)
{
	SOCK(s, err, ls);
	return ls->in->next.lpWSPShutdown(ls->lower, how, err);
}

static SOCKET WSPAPI
lsp_socket(int af, int type, int protocol, LPWSAPROTOCOL_INFOW info,
    GROUP g, DWORD flags, LPINT err)
{
	WSAPROTOCOL_INFOW scratch;
	struct inst *in = inst_of(info, err);
	SOCKET lower, h = INVALID_SOCKET;

	if (in == NULL)
		return INVALID_SOCKET;
	lower = in->next.lpWSPSocket(af, type, protocol,
	    pass_down(in, info, &scratch), g, flags, err);
	if (lower != INVALID_SOCKET)
		h = sock_wrap(in, lower, err);
	lsp_log("socket entry=%u lower=%lu handle=%lu rc=%d",
	    info->dwCatalogEntryId, (unsigned long)lower, (unsigned long)h,
	    h == INVALID_SOCKET ? *err : 0);
	return h;
}

static INT WSPAPI
lsp_string_to_address(LPWSTR str, INT af, LPWSAPROTOCOL_INFOW info,
    LPSOCKADDR sa, LPINT salen, LPINT err)
{
	WSAPROTOCOL_INFOW scratch;
	struct inst *in = inst_of(info, err);

	if (in == NULL)
		return SOCKET_ERROR;
	return in->next.lpWSPStringToAddress(str, af,
	    pass_down(in, info, &scratch), sa, salen, err);
}

/* The Linux members of table version 1. */
static int WSPAPI
lsp_sendmsg(SOCKET s, const struct msghdr *msg, DWORD flags, LPDWORD got,
    LPINT err)
{
	int rc;

	SOCK(s, err, ls);
	rc = ls->in->next.lpWSPSendMsg(ls->lower, msg, flags, got, err);
	if (rc == 0 && got != NULL)
		atomic_fetch_add(&sent, *got);
	return rc;
}

static int WSPAPI
lsp_recvmsg(SOCKET s, struct msghdr *msg, LPDWORD flags, LPDWORD got,
    LPINT err)
{
	int rc;

	SOCK(s, err, ls);
	rc = ls->in->next.lpWSPRecvMsg(ls->lower, msg, flags, got, err);
	if (rc == 0 && got != NULL)
		atomic_fetch_add(&received, *got);
	return rc;
}

static SOCKET WSPAPI
lsp_accept4(SOCKET s, struct sockaddr *addr, LPINT addrlen, DWORD flags,
    LPINT err)
{
	struct sock *ls = sock_of(s, err);
	SOCKET lower, h;

	if (ls == NULL)
		return INVALID_SOCKET;
	lower = ls->in->next.lpWSPAccept4(ls->lower, addr, addrlen, flags, err);
	h = lower == INVALID_SOCKET ? INVALID_SOCKET :
	    sock_wrap(ls->in, lower, err);
	lsp_log("accept lower=%lu handle=%lu rc=%d", (unsigned long)lower,
	    (unsigned long)h, h == INVALID_SOCKET ? *err : 0);
	return h;
}

/* Our table, filled by hand as the SDK sample fills its own. */
static const WSPPROC_TABLE lsp_procs = {
	.lpWSPAccept = lsp_accept,
	.lpWSPAddressToString = lsp_address_to_string,
	.lpWSPAsyncSelect = lsp_async_select,
	.lpWSPBind = lsp_bind,
	.lpWSPCancelBlockingCall = lsp_cancel_blocking_call,
	.lpWSPCleanup = lsp_cleanup,
	.lpWSPCloseSocket = lsp_closesocket,
	.lpWSPConnect = lsp_connect,
	.lpWSPDuplicateSocket = lsp_duplicate_socket,
	.lpWSPEnumNetworkEvents = lsp_enum_network_events,
	.lpWSPEventSelect = lsp_event_select,
	.lpWSPGetOverlappedResult = lsp_get_overlapped_result,
	.lpWSPGetPeerName = lsp_getpeername,
	.lpWSPGetSockName = lsp_getsockname,
	.lpWSPGetSockOpt = lsp_getsockopt,
	.lpWSPGetQOSByName = lsp_get_qos_by_name,
	.lpWSPIoctl = lsp_ioctl,
	.lpWSPJoinLeaf = lsp_joinleaf,
	.lpWSPListen = lsp_listen,
	.lpWSPRecv = lsp_recv,
	.lpWSPRecvDisconnect = lsp_recv_disconnect,
	.lpWSPRecvFrom = lsp_recvfrom,
	.lpWSPSelect = lsp_select,
	.lpWSPSend = lsp_send,
	.lpWSPSendDisconnect = lsp_send_disconnect,
	.lpWSPSendTo = lsp_sendto,
	.lpWSPSetSockOpt = lsp_setsockopt,
	.lpWSPShutdown = lsp_shutdown,
	.lpWSPSocket = lsp_socket,
	.lpWSPStringToAddress = lsp_string_to_address,
	.lpWSPSendMsg = lsp_sendmsg,
	.lpWSPRecvMsg = lsp_recvmsg,
	.lpWSPAccept4 = lsp_accept4,
};

/* The whole catalog, hidden and layered entries included, malloc'd
 * (*n entries), or NULL. */
static LPWSAPROTOCOL_INFOW
enum_catalog(int *n)
{
	LPWSAPROTOCOL_INFOW buf = NULL;
	DWORD len = 0;
	int err, got;

	/* Ask for the size, then fetch; the catalog may grow in between. */
	for (;;) {
		got = WSCEnumProtocols(NULL, buf, &len, &err);
		if (got != SOCKET_ERROR) {
			*n = got;
			return buf;
		}
		free(buf);
		if (err != WSAENOBUFS || (buf = malloc(len)) == NULL)
			return NULL;
	}
}

/* The UTF-8 form of an ASCII or UTF-16 path in out (size bytes); 0, or
 * -1 when it does not fit. */
static int
path_utf8(const WCHAR *w, char *out, size_t size)
{
	size_t o = 0;
	unsigned long c;

	for (; *w != 0; w++) {
		c = *w;
		if (c >= 0xd800 && c < 0xdc00 && w[1] >= 0xdc00 &&
		    w[1] < 0xe000) {
			c = 0x10000 + ((c - 0xd800) << 10) + (w[1] - 0xdc00);
			w++;
		}
		if (o + 5 > size)
			return -1;
		if (c < 0x80) {
			out[o++] = (char)c;
		} else if (c < 0x800) {
			out[o++] = (char)(0xc0 | c >> 6);
			out[o++] = (char)(0x80 | (c & 0x3f));
		} else if (c < 0x10000) {
			out[o++] = (char)(0xe0 | c >> 12);
			out[o++] = (char)(0x80 | ((c >> 6) & 0x3f));
			out[o++] = (char)(0x80 | (c & 0x3f));
		} else {
			out[o++] = (char)(0xf0 | c >> 18);
			out[o++] = (char)(0x80 | ((c >> 12) & 0x3f));
			out[o++] = (char)(0x80 | ((c >> 6) & 0x3f));
			out[o++] = (char)(0x80 | (c & 0x3f));
		}
	}
	out[o] = '\0';
	return 0;
}

/*
 * Load and start the provider below us in info's chain, the SDK
 * sample's way, into a new instance.  0 and *out, or a WSA code.
 */
static int
start_below(WORD version, LPWSAPROTOCOL_INFOW info, WSPUPCALLTABLE upcalls,
    struct inst **out)
{
	const WSAPROTOCOLCHAIN *pc = &info->ProtocolChain;
	LPWSAPROTOCOL_INFOW cat, next = NULL;
	WSAPROTOCOL_INFOW pass;
	WCHAR wpath[1024];
	char path[4096], chain[128];
	typedef void (*fn)(void);
	LPWSPSTARTUP startup;
	struct inst *in;
	WSPDATA data;
	DWORD self = 0;
	int n = 0, i, j, pos = -1, len, err = WSAEPROVIDERFAILEDINIT;
	size_t k, o = 0;

	if ((cat = enum_catalog(&n)) == NULL)
		return WSAENOBUFS;
	/* Our layered entries, by our GUID; our position, by their ids. */
	for (i = 0; i < n && pos < 0; i++) {
		if (memcmp(&cat[i].ProviderId, &lsp_guid, sizeof(GUID)) != 0 ||
		    cat[i].ProtocolChain.ChainLen != LAYERED_PROTOCOL)
			continue;
		for (j = 0; j < pc->ChainLen && j < MAX_PROTOCOL_CHAIN; j++)
			if (pc->ChainEntries[j] == cat[i].dwCatalogEntryId) {
				self = cat[i].dwCatalogEntryId;
				pos = j;
				break;
			}
	}
	if (pos < 0 || pos + 1 >= pc->ChainLen) {
		err = WSAEINVAL;
		goto out;
	}
	for (i = 0; i < n && next == NULL; i++)
		if (cat[i].dwCatalogEntryId == pc->ChainEntries[pos + 1])
			next = &cat[i];
	if (next == NULL)
		goto out;
	len = (int)(sizeof(wpath) / sizeof(wpath[0]));
	if (WSCGetProviderPath(&next->ProviderId, wpath, &len, &err) != 0 ||
	    path_utf8(wpath, path, sizeof(path)) != 0)
		goto out;
	/* Base providers never see chains: the base's own entry. */
	pass = next->ProtocolChain.ChainLen == BASE_PROTOCOL ? *next : *info;
	if ((in = calloc(1, sizeof(*in))) == NULL) {
		err = WSAENOBUFS;
		goto out;
	}
	in->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	startup = in->dl != NULL ? (LPWSPSTARTUP)dlsym(in->dl, "WSPStartup") :
	    NULL;
	if (startup == NULL) {
		if (in->dl != NULL)
			dlclose(in->dl);
		free(in);
		goto out;
	}
	memset(&data, 0, sizeof(data));
	err = startup(version, &data, &pass, upcalls, &in->next);
	/* The SDK sample checks that every member is there. */
	for (k = 0; err == 0 && k < WSPSHIM_WINSOCK_PROC_COUNT; k++)
		if (((fn *)(void *)&in->next)[k] == NULL)
			err = WSAEINVALIDPROCTABLE;
	for (j = 0; j < pc->ChainLen && o + 12 < sizeof(chain); j++)
		o += (size_t)snprintf(chain + o, sizeof(chain) - o, "%s%u",
		    j > 0 ? "," : "", pc->ChainEntries[j]);
	chain[o] = '\0';
	lsp_log("startup self=%u pos=%d entry=%u chain=%s next=%u base=%d "
	    "nextpath=%s passed=%u rc=%d", self, pos, info->dwCatalogEntryId,
	    chain, next->dwCatalogEntryId,
	    next->ProtocolChain.ChainLen == BASE_PROTOCOL, path,
	    pass.dwCatalogEntryId, err);
	if (err != 0) {
		dlclose(in->dl);
		free(in);
		goto out;
	}
	in->chain = info->dwCatalogEntryId;
	in->self = self;
	in->info = *info;
	in->below = *next;
	in->below_is_base = next->ProtocolChain.ChainLen == BASE_PROTOCOL;
	*out = in;
out:
	free(cat);
	return err;
}

/*
 * The one export: called once per chain that names this layer.  0, or
 * WSAEFAULT, WSAVERNOTSUPPORTED, WSAEINVAL (we are not in the chain, or
 * at its end), WSAENOBUFS, WSAEPROVIDERFAILEDINIT (the next provider
 * cannot be found or loaded), or what its WSPStartup gave.
 */
EXPORT int WSPAPI
WSPStartup(WORD version, LPWSPDATA data, LPWSAPROTOCOL_INFOW info,
    WSPUPCALLTABLE upcalls, LPWSPPROC_TABLE procs)
{
	static const char desc[] = "wspshim SDK-style test LSP";
	struct inst *in, *old;
	size_t i;
	int err;

	if (data == NULL || info == NULL || procs == NULL)
		return WSAEFAULT;
	data->wHighVersion = MAKEWORD(2, 2);
	data->wVersion = MAKEWORD(2, 2);
	if (LOBYTE(version) < 2 ||
	    (LOBYTE(version) == 2 && HIBYTE(version) < 2))
		return WSAVERNOTSUPPORTED;
	pthread_mutex_lock(&lock);
	old = inst_find(info->dwCatalogEntryId);
	if (old != NULL && old->starts > 0) {
		/* Started for this chain already: one more reference. */
		old->starts++;
		pthread_mutex_unlock(&lock);
		err = 0;
		goto done;
	}
	pthread_mutex_unlock(&lock);
	/* No lock while the next provider starts: it may call back. */
	if ((err = start_below(version, info, upcalls, &in)) != 0)
		return err;
	pthread_mutex_lock(&lock);
	if (old != NULL) {
		/* Restarted after its cleanup: the old record stays, since
		 * a socket context may name it. */
		old->next = in->next;
		old->dl = in->dl;
		old->starts = 1;
		free(in);
	} else {
		in->starts = 1;
		in->link = insts;
		insts = in;
	}
	pthread_mutex_unlock(&lock);
done:
	up = upcalls;
	for (i = 0; i < sizeof(desc); i++)
		data->szDescription[i] = (WCHAR)desc[i];
	data->wLinuxTableVersion = 1;
	*procs = lsp_procs;
	return 0;
}
