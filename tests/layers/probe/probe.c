/*
 * probe.c - a pass-through test layer that reports what it is given.
 *
 * Its parameter string (WSPSHIM_LAYERS=probe:FILE) names a file to which
 * it appends one line per WSPStartup, WSPCleanup, WSPSocket, WSPAccept
 * and WSPCloseSocket call: its own layered entry id (from
 * WSPShimFindSelf, so it may be loaded by a layer above it), its
 * position in the chain, the struct it received (dwCatalogEntryId,
 * ChainLen, ChainEntries and a hash of all 628 bytes) and the struct it passed down, and the result.
 * test_layers_env.sh reads those lines to check the propagation rule.
 *
 * It is non-IFS: each socket is a WPUCreateSocketHandle handle whose
 * context holds the handle below; every operation looks the context up
 * with WPUQuerySocketHandleContext (a lookup that fails is logged as
 * "ctx=bad" where the line has room for it) and calls down.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <wspshim/ws2spi.h>

#define EXPORT	__attribute__((visibility("default")))

/* One chain this layer was started for. */
struct pinst {
	struct pinst	*link;
	DWORD		chain;		/* the chain entry's catalog id */
	int		starts;		/* WSPStartup calls not cleaned up */
	WSPPROC_TABLE	next;		/* the provider below */
};

struct psock {
	SOCKET		lower;
	struct pinst	*in;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(struct pinst *) insts;
static struct pinst *started[64];	/* start order, for WSPCleanup */
static int nstarted;
static WSPUPCALLTABLE up;
static DWORD self;
static char logfile[1024];

/* Append one formatted line to the log file, if there is one. */
static void plog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
plog(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int fd, n;

	if (logfile[0] == '\0')
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	fd = open(logfile, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	(void)!write(fd, line, (size_t)n);
	close(fd);
}

/* A 64-bit FNV-1a hash of a protocol struct. */
static unsigned long long
info_hash(const WSAPROTOCOL_INFOW *info)
{
	const unsigned char *p = (const unsigned char *)info;
	unsigned long long h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < sizeof(*info); i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

/* "entry=E chainlen=L chain=a,b,c info=H" for a struct, into buf. */
static const char *
info_str(const char *pfx, const WSAPROTOCOL_INFOW *info, char *buf,
    size_t len)
{
	const WSAPROTOCOLCHAIN *pc = &info->ProtocolChain;
	size_t n;
	int i;

	n = (size_t)snprintf(buf, len, "%sentry=%u %schainlen=%d %schain=",
	    pfx, info->dwCatalogEntryId, pfx, pc->ChainLen, pfx);
	for (i = 0; i < pc->ChainLen && i < MAX_PROTOCOL_CHAIN && n < len;
	    i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%u", i ? "," : "",
		    pc->ChainEntries[i]);
	if (n < len)
		snprintf(buf + n, len - n, " %sinfo=%016llx", pfx,
		    info_hash(info));
	return buf;
}

/* Our position in a chain, or -1. */
static int
position(const WSAPROTOCOL_INFOW *info)
{
	int i;

	for (i = 0; i < info->ProtocolChain.ChainLen &&
	    i < MAX_PROTOCOL_CHAIN; i++)
		if (info->ProtocolChain.ChainEntries[i] == self)
			return i;
	return -1;
}

/* The instance for a chain id, or NULL. */
static struct pinst *
inst_find(DWORD chain)
{
	struct pinst *in;

	for (in = atomic_load(&insts); in != NULL; in = in->link)
		if (in->chain == chain)
			return in;
	return NULL;
}

/* The context of handle s, or NULL with *err set. */
static struct psock *
psock_of(SOCKET s, LPINT err)
{
	DWORD_PTR ctx;

	if (up.lpWPUQuerySocketHandleContext(s, &ctx, err) != 0)
		return NULL;
	return (struct psock *)ctx;
}

/* Our handle over lower, or INVALID_SOCKET (lower closed). */
static SOCKET
wrap(struct pinst *in, SOCKET lower, LPINT err)
{
	struct psock *ps;
	SOCKET h;
	int e2;

	if (lower == INVALID_SOCKET)
		return INVALID_SOCKET;
	if ((ps = malloc(sizeof(*ps))) == NULL) {
		*err = WSAENOBUFS;
		in->next.lpWSPCloseSocket(lower, &e2);
		return INVALID_SOCKET;
	}
	ps->lower = lower;
	ps->in = in;
	h = up.lpWPUCreateSocketHandle(self, (DWORD_PTR)ps, err);
	if (h == INVALID_SOCKET) {
		free(ps);
		in->next.lpWSPCloseSocket(lower, &e2);
	}
	return h;
}

static SOCKET WSPAPI
probe_socket(int af, int type, int protocol, LPWSAPROTOCOL_INFOW info,
    GROUP g, DWORD flags, LPINT err)
{
	WSAPROTOCOL_INFOW pass;
	char a[256], b[256];
	struct pinst *in;
	SOCKET lower, h;

	if (info == NULL || (in = inst_find(info->dwCatalogEntryId)) == NULL) {
		*err = WSAEINVAL;
		return INVALID_SOCKET;
	}
	if (WSPShimNextProtocolInfo(info, self, &pass, err) != 0)
		return INVALID_SOCKET;
	lower = in->next.lpWSPSocket(af, type, protocol, &pass, g, flags,
	    err);
	h = wrap(in, lower, err);
	plog("socket self=%u pos=%d %s %s handle=%#llx lower=%#llx rc=%d",
	    self, position(info), info_str("", info, a, sizeof(a)),
	    info_str("passed_", &pass, b, sizeof(b)), (unsigned long long)h,
	    (unsigned long long)lower, h == INVALID_SOCKET ? *err : 0);
	return h;
}

static int WSPAPI
probe_closesocket(SOCKET s, LPINT err)
{
	struct psock *ps = psock_of(s, err);
	int rc, e2;

	if (ps == NULL) {
		plog("closesocket self=%u ctx=bad rc=%d", self, *err);
		return SOCKET_ERROR;
	}
	rc = ps->in->next.lpWSPCloseSocket(ps->lower, err);
	up.lpWPUCloseSocketHandle(s, &e2);
	plog("closesocket self=%u ctx=ok lower=%#llx rc=%d", self,
	    (unsigned long long)ps->lower, rc == 0 ? 0 : *err);
	free(ps);
	return rc;
}

static SOCKET WSPAPI
probe_accept(SOCKET s, struct sockaddr *addr, LPINT addrlen,
    LPCONDITIONPROC cond, DWORD_PTR data, LPINT err)
{
	struct psock *ps = psock_of(s, err);
	SOCKET h;

	if (ps == NULL) {
		plog("accept self=%u ctx=bad rc=%d", self, *err);
		return INVALID_SOCKET;
	}
	h = wrap(ps->in, ps->in->next.lpWSPAccept(ps->lower, addr, addrlen,
	    cond, data, err), err);
	plog("accept self=%u ctx=ok handle=%#llx rc=%d", self,
	    (unsigned long long)h, h == INVALID_SOCKET ? *err : 0);
	return h;
}

static SOCKET WSPAPI
probe_accept4(SOCKET s, struct sockaddr *addr, LPINT addrlen, DWORD flags,
    LPINT err)
{
	struct psock *ps = psock_of(s, err);
	SOCKET h;

	if (ps == NULL) {
		plog("accept self=%u ctx=bad rc=%d", self, *err);
		return INVALID_SOCKET;
	}
	h = wrap(ps->in, ps->in->next.lpWSPAccept4(ps->lower, addr, addrlen,
	    flags, err), err);
	plog("accept self=%u ctx=ok handle=%#llx rc=%d", self,
	    (unsigned long long)h, h == INVALID_SOCKET ? *err : 0);
	return h;
}

static SOCKET WSPAPI
probe_joinleaf(SOCKET s, const struct sockaddr *name, int namelen,
    LPWSABUF caller, LPWSABUF callee, LPQOS sqos, LPQOS gqos, DWORD flags,
    LPINT err)
{
	struct psock *ps = psock_of(s, err);
	SOCKET h;

	if (ps == NULL)
		return INVALID_SOCKET;
	h = ps->in->next.lpWSPJoinLeaf(ps->lower, name, namelen, caller,
	    callee, sqos, gqos, flags, err);
	return h == ps->lower ? s : wrap(ps->in, h, err);
}

static int WSPAPI
probe_duplicate_socket(SOCKET s, DWORD pid, LPWSAPROTOCOL_INFOW info,
    LPINT err)
{
	struct psock *ps = psock_of(s, err);

	return ps == NULL ? SOCKET_ERROR :
	    ps->in->next.lpWSPDuplicateSocket(ps->lower, pid, info, err);
}

static int WSPAPI
probe_async_select(SOCKET s, HWND wnd, unsigned int msg, LONG ev,
    LPINT err)
{
	struct psock *ps = psock_of(s, err);

	return ps == NULL ? SOCKET_ERROR :
	    ps->in->next.lpWSPAsyncSelect(ps->lower, wnd, msg, ev, err);
}

static int WSPAPI
probe_bind(SOCKET s, const struct sockaddr *name, int namelen, LPINT err)
{
	struct psock *ps = psock_of(s, err);

	return ps == NULL ? SOCKET_ERROR :
	    ps->in->next.lpWSPBind(ps->lower, name, namelen, err);
}

static int WSPAPI
probe_connect(SOCKET s, const struct sockaddr *name, int namelen,
    LPWSABUF caller, LPWSABUF callee, LPQOS sqos, LPQOS gqos, LPINT err)
{
	struct psock *ps = psock_of(s, err);

	return ps == NULL ? SOCKET_ERROR :
	    ps->in->next.lpWSPConnect(ps->lower, name, namelen, caller,
	    callee, sqos, gqos, err);
}

static int WSPAPI
probe_enum_network_events(SOCKET s, WSAEVENT ev, LPWSANETWORKEVENTS ne,
    LPINT err)
{
	struct psock *ps = psock_of(s, err);

	return ps == NULL ? SOCKET_ERROR :
	    ps->in->next.lpWSPEnumNetworkEvents(ps->lower, ev, ne, err);
}

static int WSPAPI
probe_event_select(SOCKET s, WSAEVENT ev, LONG events, LPINT err)
{
	struct psock *ps = psock_of(s, err);

	return ps == NULL ? SOCKET_ERROR :
	    ps->in->next.lpWSPEventSelect(ps->lower, ev, events, err);
}

static BOOL WSPAPI
probe_get_overlapped_result(SOCKET s, LPWSAOVERLAPPED ov, LPDWORD n,
    BOOL wait, LPDWORD flags, LPINT err)
{
	struct psock *ps = psock_of(s, err);

	return ps == NULL ? FALSE :
	    ps->in->next.lpWSPGetOverlappedResult(ps->lower, ov, n, wait,
	    flags, err);
}

static int WSPAPI
probe_getpeername(SOCKET s, struct sockaddr *name, LPINT len, LPINT err)
{
	struct psock *ps = psock_of(s, err);

	return ps == NULL ? SOCKET_ERROR :
	    ps->in->next.lpWSPGetPeerName(ps->lower, name, len, err);
}

static int WSPAPI
probe_getsockname(SOCKET s, struct sockaddr *name, LPINT len, LPINT err)
{
	struct psock *ps = psock_of(s, err);

	return ps == NULL ? SOCKET_ERROR :
	    ps->in->next.lpWSPGetSockName(ps->lower, name, len, err);
}

static int WSPAPI
probe_getsockopt(SOCKET s, int level, int name, char *val, LPINT len,
    LPINT err)
{
	struct psock *ps = psock_of(s, err);

	return ps == NULL ? SOCKET_ERROR :
	    ps->in->next.lpWSPGetSockOpt(ps->lower, level, name, val, len,
	    err);
}

static BOOL WSPAPI
probe_get_qos_by_name(SOCKET s, LPWSABUF name, LPQOS qos, LPINT err)
{
	struct psock *ps = psock_of(s, err);

	return ps == NULL ? FALSE :
	    ps->in->next.lpWSPGetQOSByName(ps->lower, name, qos, err);
}

static int WSPAPI
probe_ioctl(SOCKET s, DWORD code, LPVOID in, DWORD inlen, LPVOID out,
    DWORD outlen, LPDWORD n, LPWSAOVERLAPPED ov,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID tid, LPINT err)
{
	struct psock *ps = psock_of(s, err);

	/* SIO_BASE_HANDLE and SIO_BSP_HANDLE go down too. */
	return ps == NULL ? SOCKET_ERROR :
	    ps->in->next.lpWSPIoctl(ps->lower, code, in, inlen, out, outlen,
	    n, ov, cr, tid, err);
}

static int WSPAPI
probe_listen(SOCKET s, int backlog, LPINT err)
{
	struct psock *ps = psock_of(s, err);

	return ps == NULL ? SOCKET_ERROR :
	    ps->in->next.lpWSPListen(ps->lower, backlog, err);
}

static int WSPAPI
probe_recv(SOCKET s, LPWSABUF b, DWORD nb, LPDWORD got, LPDWORD flags,
    LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr,
    LPWSATHREADID tid, LPINT err)
{
	struct psock *ps = psock_of(s, err);

	return ps == NULL ? SOCKET_ERROR :
	    ps->in->next.lpWSPRecv(ps->lower, b, nb, got, flags, ov, cr, tid,
	    err);
}

static int WSPAPI
probe_recv_disconnect(SOCKET s, LPWSABUF data, LPINT err)
{
	struct psock *ps = psock_of(s, err);

	return ps == NULL ? SOCKET_ERROR :
	    ps->in->next.lpWSPRecvDisconnect(ps->lower, data, err);
}

static int WSPAPI
probe_recvfrom(SOCKET s, LPWSABUF b, DWORD nb, LPDWORD got, LPDWORD flags,
    struct sockaddr *from, LPINT fromlen, LPWSAOVERLAPPED ov,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID tid, LPINT err)
{
	struct psock *ps = psock_of(s, err);

	return ps == NULL ? SOCKET_ERROR :
	    ps->in->next.lpWSPRecvFrom(ps->lower, b, nb, got, flags, from,
	    fromlen, ov, cr, tid, err);
}

static int WSPAPI
probe_send(SOCKET s, LPWSABUF b, DWORD nb, LPDWORD sent, DWORD flags,
    LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr,
    LPWSATHREADID tid, LPINT err)
{
	struct psock *ps = psock_of(s, err);

	return ps == NULL ? SOCKET_ERROR :
	    ps->in->next.lpWSPSend(ps->lower, b, nb, sent, flags, ov, cr, tid,
	    err);
}

static int WSPAPI
probe_send_disconnect(SOCKET s, LPWSABUF data, LPINT err)
{
	struct psock *ps = psock_of(s, err);

	return ps == NULL ? SOCKET_ERROR :
	    ps->in->next.lpWSPSendDisconnect(ps->lower, data, err);
}

static int WSPAPI
probe_sendto(SOCKET s, LPWSABUF b, DWORD nb, LPDWORD sent, DWORD flags,
    const struct sockaddr *to, int tolen, LPWSAOVERLAPPED ov,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID tid, LPINT err)
{
	struct psock *ps = psock_of(s, err);

	return ps == NULL ? SOCKET_ERROR :
	    ps->in->next.lpWSPSendTo(ps->lower, b, nb, sent, flags, to, tolen,
	    ov, cr, tid, err);
}

static int WSPAPI
probe_setsockopt(SOCKET s, int level, int name, const char *val, int len,
    LPINT err)
{
	struct psock *ps = psock_of(s, err);

	return ps == NULL ? SOCKET_ERROR :
	    ps->in->next.lpWSPSetSockOpt(ps->lower, level, name, val, len,
	    err);
}

static int WSPAPI
probe_shutdown(SOCKET s, int how, LPINT err)
{
	struct psock *ps = psock_of(s, err);

	return ps == NULL ? SOCKET_ERROR :
	    ps->in->next.lpWSPShutdown(ps->lower, how, err);
}

static int WSPAPI
probe_sendmsg(SOCKET s, const struct msghdr *msg, DWORD flags,
    LPDWORD sent, LPINT err)
{
	struct psock *ps = psock_of(s, err);

	return ps == NULL ? SOCKET_ERROR :
	    ps->in->next.lpWSPSendMsg(ps->lower, msg, flags, sent, err);
}

static int WSPAPI
probe_recvmsg(SOCKET s, struct msghdr *msg, LPDWORD flags, LPDWORD got,
    LPINT err)
{
	struct psock *ps = psock_of(s, err);

	return ps == NULL ? SOCKET_ERROR :
	    ps->in->next.lpWSPRecvMsg(ps->lower, msg, flags, got, err);
}

static int WSPAPI
probe_sendfile(SOCKET s, int file, int64_t *off, size_t count,
    LPDWORD sent, LPINT err)
{
	struct psock *ps = psock_of(s, err);

	return ps == NULL ? SOCKET_ERROR :
	    ps->in->next.lpWSPSendFile(ps->lower, file, off, count, sent,
	    err);
}

static int WSPAPI
probe_splice(SOCKET s, int fd, DWORD dir, size_t len, DWORD flags,
    LPDWORD moved, LPINT err)
{
	struct psock *ps = psock_of(s, err);

	return ps == NULL ? SOCKET_ERROR :
	    ps->in->next.lpWSPSplice(ps->lower, fd, dir, len, flags, moved,
	    err);
}

/* The operations that name no socket go to any started chain's next. */
static struct pinst *
inst_any(void)
{
	struct pinst *in;

	for (in = atomic_load(&insts); in != NULL; in = in->link)
		if (in->starts > 0)
			return in;
	return NULL;
}

static int WSPAPI
probe_cancel_blocking_call(LPINT err)
{
	*err = WSAEOPNOTSUPP;
	return SOCKET_ERROR;
}

/* WSPSelect: the sets hold kernel descriptors here, not our handles. */
static int WSPAPI
probe_select(int nfds, fd_set *r, fd_set *w, fd_set *x,
    const struct timeval *tmo, LPINT err)
{
	struct pinst *in = inst_any();

	if (in == NULL) {
		*err = WSANOTINITIALISED;
		return SOCKET_ERROR;
	}
	return in->next.lpWSPSelect(nfds, r, w, x, tmo, err);
}

static INT WSPAPI
probe_address_to_string(LPSOCKADDR sa, DWORD salen,
    LPWSAPROTOCOL_INFOW info, LPWSTR out, LPDWORD outlen, LPINT err)
{
	WSAPROTOCOL_INFOW pass;
	struct pinst *in;

	if (info == NULL || (in = inst_find(info->dwCatalogEntryId)) == NULL ||
	    WSPShimNextProtocolInfo(info, self, &pass, err) != 0) {
		*err = WSAEINVAL;
		return SOCKET_ERROR;
	}
	return in->next.lpWSPAddressToString(sa, salen, &pass, out, outlen,
	    err);
}

static INT WSPAPI
probe_string_to_address(LPWSTR str, INT af, LPWSAPROTOCOL_INFOW info,
    LPSOCKADDR sa, LPINT salen, LPINT err)
{
	WSAPROTOCOL_INFOW pass;
	struct pinst *in;

	if (info == NULL || (in = inst_find(info->dwCatalogEntryId)) == NULL ||
	    WSPShimNextProtocolInfo(info, self, &pass, err) != 0) {
		*err = WSAEINVAL;
		return SOCKET_ERROR;
	}
	return in->next.lpWSPStringToAddress(str, af, &pass, sa, salen, err);
}

/* WSPCleanup: balances the latest start still open. */
static int WSPAPI
probe_cleanup(LPINT err)
{
	struct pinst *in = NULL;
	int rc;

	pthread_mutex_lock(&lock);
	if (nstarted > 0) {
		in = started[--nstarted];
		in->starts--;
	}
	pthread_mutex_unlock(&lock);
	if (in == NULL) {
		plog("cleanup self=%u rc=%d", self, WSANOTINITIALISED);
		*err = WSANOTINITIALISED;
		return SOCKET_ERROR;
	}
	rc = in->next.lpWSPCleanup(err);
	plog("cleanup self=%u chain=%u rc=%d", self, in->chain,
	    rc == 0 ? 0 : *err);
	return rc;
}

static const WSPPROC_TABLE probe_procs = {
	.lpWSPAccept = probe_accept,
	.lpWSPAddressToString = probe_address_to_string,
	.lpWSPAsyncSelect = probe_async_select,
	.lpWSPBind = probe_bind,
	.lpWSPCancelBlockingCall = probe_cancel_blocking_call,
	.lpWSPCleanup = probe_cleanup,
	.lpWSPCloseSocket = probe_closesocket,
	.lpWSPConnect = probe_connect,
	.lpWSPDuplicateSocket = probe_duplicate_socket,
	.lpWSPEnumNetworkEvents = probe_enum_network_events,
	.lpWSPEventSelect = probe_event_select,
	.lpWSPGetOverlappedResult = probe_get_overlapped_result,
	.lpWSPGetPeerName = probe_getpeername,
	.lpWSPGetSockName = probe_getsockname,
	.lpWSPGetSockOpt = probe_getsockopt,
	.lpWSPGetQOSByName = probe_get_qos_by_name,
	.lpWSPIoctl = probe_ioctl,
	.lpWSPJoinLeaf = probe_joinleaf,
	.lpWSPListen = probe_listen,
	.lpWSPRecv = probe_recv,
	.lpWSPRecvDisconnect = probe_recv_disconnect,
	.lpWSPRecvFrom = probe_recvfrom,
	.lpWSPSelect = probe_select,
	.lpWSPSend = probe_send,
	.lpWSPSendDisconnect = probe_send_disconnect,
	.lpWSPSendTo = probe_sendto,
	.lpWSPSetSockOpt = probe_setsockopt,
	.lpWSPShutdown = probe_shutdown,
	.lpWSPSocket = probe_socket,
	.lpWSPStringToAddress = probe_string_to_address,
	.lpWSPSendMsg = probe_sendmsg,
	.lpWSPRecvMsg = probe_recvmsg,
	.lpWSPAccept4 = probe_accept4,
	.lpWSPSendFile = probe_sendfile,
	.lpWSPSplice = probe_splice,
};

/* The instance of chain id, made if needed; NULL when out of memory. */
static struct pinst *
inst_get(DWORD chain)
{
	struct pinst *in;

	pthread_mutex_lock(&lock);
	if ((in = inst_find(chain)) == NULL &&
	    (in = calloc(1, sizeof(*in))) != NULL) {
		in->chain = chain;
		in->link = atomic_load(&insts);
		atomic_store(&insts, in);
	}
	pthread_mutex_unlock(&lock);
	return in;
}

EXPORT int WSPAPI
WSPStartup(WORD version, LPWSPDATA data, LPWSAPROTOCOL_INFOW info,
    WSPUPCALLTABLE upcalls, LPWSPPROC_TABLE procs)
{
	WSAPROTOCOL_INFOW pass;
	WSPPROC_TABLE next;
	char a[256], b[256];
	struct pinst *in;
	int err = 0, len = (int)sizeof(logfile), rc;
	DWORD id;

	if (data == NULL || info == NULL || procs == NULL)
		return WSAEFAULT;
	/* Found in the chain whoever loaded us (the core, or a layer that
	 * loads the next itself); a second entry gets a copy of us. */
	if ((id = WSPShimFindSelf(info, &err)) == 0)
		return err;
	if (!WSPShimClaimSelf(&self, id))
		return WSPShimStartCopy(info, id, data, procs, &err) == 0 ?
		    0 : err;
	if (WSPShimGetLayerParams(self, logfile, &len, &err) != 0)
		logfile[0] = '\0';
	up = upcalls;
	memset(&pass, 0, sizeof(pass));
	rc = WSPShimStartNextProvider(info, self, &next, &pass, &err);
	plog("startup self=%u pos=%d %s %s rc=%d", self, position(info),
	    info_str("", info, a, sizeof(a)),
	    info_str("passed_", &pass, b, sizeof(b)), rc == 0 ? 0 : err);
	if (rc != 0)
		return err;
	if ((in = inst_get(info->dwCatalogEntryId)) == NULL) {
		next.lpWSPCleanup(&err);
		return WSAENOBUFS;
	}
	pthread_mutex_lock(&lock);
	in->next = next;
	in->starts++;
	if (nstarted < (int)(sizeof(started) / sizeof(started[0])))
		started[nstarted++] = in;
	pthread_mutex_unlock(&lock);
	data->wVersion = WSPSHIM_SPI_VERSION;	/* 2.2 is all there is */
	data->wHighVersion = WSPSHIM_SPI_VERSION;
	data->wLinuxTableVersion = WSPSHIM_LINUX_TABLE_VERSION;
	*procs = probe_procs;
	return 0;
}
