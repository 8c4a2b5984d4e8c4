/*
 * count.c - the layer of docs/writing-a-layer.md, built out of tree:
 *
 *	cc -shared -fPIC -o libwsp_count.so count.c \
 *	    $(pkg-config --cflags --libs wspshim)
 *
 * It counts the sends and receives of the program, and the bytes they
 * moved, and writes one line at exit to the file its parameters name
 * (out=FILE; stderr without one):
 *
 *	sends 5 bytes_out 500 recvs 2 bytes_in 500
 *
 * Everything else passes down unchanged.  It is layers/null/null.c with
 * the counting added: the handle/context idiom, one instance per chain,
 * every member of the table filled.  Built with -DCOUNT_WINDOWS_WAY it
 * finds and starts the provider below as a Windows LSP does
 * (WSCEnumProtocols, WSCGetProviderPath, dlopen, dlsym) instead of with
 * WSPShimStartNextProvider.
 */
#define _GNU_SOURCE		/* PATH_MAX, O_CLOEXEC under -std=c11 */
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <wspshim/ws2spi.h>

#define EXPORT	__attribute__((visibility("default")))

struct ninst {
	struct ninst	*link;
	DWORD		chain;		/* the chain entry's catalog id */
	DWORD		self;		/* this layer's layered entry id */
	_Atomic int	starts;		/* WSPStartup calls not cleaned up */
	_Atomic int	live;		/* open sockets */
	WSPPROC_TABLE	next;		/* the provider below */
	WSAPROTOCOL_INFOW info;		/* the chain's struct */
};

struct nsock {
	SOCKET		lower;		/* the handle of the provider below */
	struct ninst	*in;
};

static const WCHAR description[] = {
	'c', 'o', 'u', 'n', 't', 0
};

static _Atomic(struct ninst *) instances;
static WSPUPCALLTABLE up;
/* The core's upcall table, stored once by the first WSPStartup
 * (pthread_once: starts for other chains may run at the same time, and a
 * child forked meanwhile must not find it half-written); the core hands
 * every start the same table.  up_arg carries it into the once routine,
 * which runs in the calling thread. */
static pthread_once_t up_once = PTHREAD_ONCE_INIT;
static __thread const WSPUPCALLTABLE *up_arg;

static void
up_store(void)
{
	up = *up_arg;
}

/* What the layer counts, and where it writes the counts. */
static _Atomic uint64_t sends, recvs, bytes_out, bytes_in;
static char out_path[PATH_MAX];

/* The instance of chain id `chain', or NULL. */
static struct ninst *
inst_find(DWORD chain)
{
	struct ninst *in;

	for (in = atomic_load_explicit(&instances, memory_order_acquire);
	    in != NULL; in = in->link)
		if (in->chain == chain)
			return in;
	return NULL;
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

/* The context of handle s, or NULL with *err set. */
static inline struct nsock *
nsock(SOCKET s, LPINT err)
{
	DWORD_PTR ctx;

	if (up.lpWPUQuerySocketHandleContext(s, &ctx, err) != 0)
		return NULL;
	return (struct nsock *)ctx;
}

/* A handle of ours for lower, a new socket of instance in; INVALID_SOCKET
 * (and lower closed) on failure. */
static SOCKET
nwrap(struct ninst *in, SOCKET lower, LPINT err)
{
	struct nsock *ns;
	SOCKET h;
	int e2;

	if (lower == INVALID_SOCKET)
		return INVALID_SOCKET;
	if ((ns = malloc(sizeof(*ns))) == NULL) {
		*err = WSAENOBUFS;
		goto out_close;
	}
	ns->lower = lower;
	ns->in = in;
	h = up.lpWPUCreateSocketHandle(in->self, (DWORD_PTR)ns, err);
	if (h != INVALID_SOCKET) {
		atomic_fetch_add(&in->live, 1);
		return h;
	}
	free(ns);
out_close:
	in->next.lpWSPCloseSocket(lower, &e2);
	return INVALID_SOCKET;
}

/* WSPSocket: our handle over a new socket of the provider below. */
static SOCKET WSPAPI
count_socket(int af, int type, int protocol, LPWSAPROTOCOL_INFOW info,
    GROUP g, DWORD flags, LPINT err)
{
	WSAPROTOCOL_INFOW pass;
	struct ninst *in;
	SOCKET lower;

	if (info == NULL || (in = inst_find(info->dwCatalogEntryId)) == NULL) {
		*err = info == NULL ? WSAEFAULT : WSAEINVAL;
		return INVALID_SOCKET;
	}
	/* The struct for below: keeps dwProviderReserved (a dup token). */
	if (WSPShimNextProtocolInfo(info, in->self, &pass, err) != 0)
		return INVALID_SOCKET;
	lower = in->next.lpWSPSocket(af, type, protocol, &pass, g, flags, err);
	return nwrap(in, lower, err);
}

/* WSPCloseSocket: close below, then our handle and context. */
static int WSPAPI
count_closesocket(SOCKET s, LPINT err)
{
	struct nsock *ns = nsock(s, err);
	int rc, e2;

	if (ns == NULL)
		return SOCKET_ERROR;
	rc = ns->in->next.lpWSPCloseSocket(ns->lower, err);
	up.lpWPUCloseSocketHandle(s, &e2);
	atomic_fetch_sub(&ns->in->live, 1);
	free(ns);
	return rc;
}

static SOCKET WSPAPI
count_accept(SOCKET s, struct sockaddr *addr, LPINT addrlen,
    LPCONDITIONPROC cond, DWORD_PTR data, LPINT err)
{
	struct nsock *ns = nsock(s, err);

	if (ns == NULL)
		return INVALID_SOCKET;
	return nwrap(ns->in, ns->in->next.lpWSPAccept(ns->lower, addr,
	    addrlen, cond, data, err), err);
}

static SOCKET WSPAPI
count_accept4(SOCKET s, struct sockaddr *addr, LPINT addrlen, DWORD flags,
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
count_joinleaf(SOCKET s, const struct sockaddr *name, int namelen,
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
count_duplicate_socket(SOCKET s, DWORD pid, LPWSAPROTOCOL_INFOW info,
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
count_async_select(SOCKET s, HWND wnd, unsigned int msg, LONG ev, LPINT err)
{
	struct nsock *ns = nsock(s, err);

	return ns == NULL ? SOCKET_ERROR :
	    ns->in->next.lpWSPAsyncSelect(ns->lower, wnd, msg, ev, err);
}

static int WSPAPI
count_bind(SOCKET s, const struct sockaddr *name, int namelen, LPINT err)
{
	struct nsock *ns = nsock(s, err);

	return ns == NULL ? SOCKET_ERROR :
	    ns->in->next.lpWSPBind(ns->lower, name, namelen, err);
}

static int WSPAPI
count_connect(SOCKET s, const struct sockaddr *name, int namelen,
    LPWSABUF caller, LPWSABUF callee, LPQOS sqos, LPQOS gqos, LPINT err)
{
	struct nsock *ns = nsock(s, err);

	return ns == NULL ? SOCKET_ERROR :
	    ns->in->next.lpWSPConnect(ns->lower, name, namelen, caller, callee,
	    sqos, gqos, err);
}

static int WSPAPI
count_enum_network_events(SOCKET s, WSAEVENT ev, LPWSANETWORKEVENTS ne,
    LPINT err)
{
	struct nsock *ns = nsock(s, err);

	return ns == NULL ? SOCKET_ERROR :
	    ns->in->next.lpWSPEnumNetworkEvents(ns->lower, ev, ne, err);
}

static int WSPAPI
count_event_select(SOCKET s, WSAEVENT ev, LONG events, LPINT err)
{
	struct nsock *ns = nsock(s, err);

	return ns == NULL ? SOCKET_ERROR :
	    ns->in->next.lpWSPEventSelect(ns->lower, ev, events, err);
}

static BOOL WSPAPI
count_get_overlapped_result(SOCKET s, LPWSAOVERLAPPED ov, LPDWORD n,
    BOOL wait, LPDWORD flags, LPINT err)
{
	struct nsock *ns = nsock(s, err);

	return ns == NULL ? FALSE :
	    ns->in->next.lpWSPGetOverlappedResult(ns->lower, ov, n, wait,
	    flags, err);
}

static int WSPAPI
count_getpeername(SOCKET s, struct sockaddr *name, LPINT namelen, LPINT err)
{
	struct nsock *ns = nsock(s, err);

	return ns == NULL ? SOCKET_ERROR :
	    ns->in->next.lpWSPGetPeerName(ns->lower, name, namelen, err);
}

static int WSPAPI
count_getsockname(SOCKET s, struct sockaddr *name, LPINT namelen, LPINT err)
{
	struct nsock *ns = nsock(s, err);

	return ns == NULL ? SOCKET_ERROR :
	    ns->in->next.lpWSPGetSockName(ns->lower, name, namelen, err);
}

static int WSPAPI
count_getsockopt(SOCKET s, int level, int name, char *val, LPINT len,
    LPINT err)
{
	struct nsock *ns = nsock(s, err);

	return ns == NULL ? SOCKET_ERROR :
	    ns->in->next.lpWSPGetSockOpt(ns->lower, level, name, val, len,
	    err);
}

static BOOL WSPAPI
count_get_qos_by_name(SOCKET s, LPWSABUF name, LPQOS qos, LPINT err)
{
	struct nsock *ns = nsock(s, err);

	return ns == NULL ? FALSE :
	    ns->in->next.lpWSPGetQOSByName(ns->lower, name, qos, err);
}

static int WSPAPI
count_ioctl(SOCKET s, DWORD code, LPVOID in, DWORD inlen, LPVOID out,
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
count_listen(SOCKET s, int backlog, LPINT err)
{
	struct nsock *ns = nsock(s, err);

	return ns == NULL ? SOCKET_ERROR :
	    ns->in->next.lpWSPListen(ns->lower, backlog, err);
}

/* Count one receive of n bytes (when rc says it worked); returns rc. */
static int
count_in(int rc, LPDWORD n)
{
	if (rc == 0 && n != NULL) {
		atomic_fetch_add_explicit(&recvs, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&bytes_in, *n, memory_order_relaxed);
	}
	return rc;
}

/* Count one send of n bytes (when rc says it worked); returns rc. */
static int
count_out(int rc, LPDWORD n)
{
	if (rc == 0 && n != NULL) {
		atomic_fetch_add_explicit(&sends, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&bytes_out, *n, memory_order_relaxed);
	}
	return rc;
}

static int WSPAPI
count_recv(SOCKET s, LPWSABUF b, DWORD nb, LPDWORD got, LPDWORD flags,
    LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr,
    LPWSATHREADID tid, LPINT err)
{
	struct nsock *ns = nsock(s, err);

	if (ns == NULL)
		return SOCKET_ERROR;
	return count_in(ns->in->next.lpWSPRecv(ns->lower, b, nb, got, flags,
	    ov, cr, tid, err), got);
}

static int WSPAPI
count_recv_disconnect(SOCKET s, LPWSABUF data, LPINT err)
{
	struct nsock *ns = nsock(s, err);

	return ns == NULL ? SOCKET_ERROR :
	    ns->in->next.lpWSPRecvDisconnect(ns->lower, data, err);
}

static int WSPAPI
count_recvfrom(SOCKET s, LPWSABUF b, DWORD nb, LPDWORD got, LPDWORD flags,
    struct sockaddr *from, LPINT fromlen, LPWSAOVERLAPPED ov,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID tid, LPINT err)
{
	struct nsock *ns = nsock(s, err);

	if (ns == NULL)
		return SOCKET_ERROR;
	return count_in(ns->in->next.lpWSPRecvFrom(ns->lower, b, nb, got,
	    flags, from, fromlen, ov, cr, tid, err), got);
}

static int WSPAPI
count_send(SOCKET s, LPWSABUF b, DWORD nb, LPDWORD sent, DWORD flags,
    LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr,
    LPWSATHREADID tid, LPINT err)
{
	struct nsock *ns = nsock(s, err);

	if (ns == NULL)
		return SOCKET_ERROR;
	return count_out(ns->in->next.lpWSPSend(ns->lower, b, nb, sent, flags,
	    ov, cr, tid, err), sent);
}

static int WSPAPI
count_send_disconnect(SOCKET s, LPWSABUF data, LPINT err)
{
	struct nsock *ns = nsock(s, err);

	return ns == NULL ? SOCKET_ERROR :
	    ns->in->next.lpWSPSendDisconnect(ns->lower, data, err);
}

static int WSPAPI
count_sendto(SOCKET s, LPWSABUF b, DWORD nb, LPDWORD sent, DWORD flags,
    const struct sockaddr *to, int tolen, LPWSAOVERLAPPED ov,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID tid, LPINT err)
{
	struct nsock *ns = nsock(s, err);

	if (ns == NULL)
		return SOCKET_ERROR;
	return count_out(ns->in->next.lpWSPSendTo(ns->lower, b, nb, sent,
	    flags, to, tolen, ov, cr, tid, err), sent);
}

static int WSPAPI
count_setsockopt(SOCKET s, int level, int name, const char *val, int len,
    LPINT err)
{
	struct nsock *ns = nsock(s, err);

	return ns == NULL ? SOCKET_ERROR :
	    ns->in->next.lpWSPSetSockOpt(ns->lower, level, name, val, len,
	    err);
}

static int WSPAPI
count_shutdown(SOCKET s, int how, LPINT err)
{
	struct nsock *ns = nsock(s, err);

	return ns == NULL ? SOCKET_ERROR :
	    ns->in->next.lpWSPShutdown(ns->lower, how, err);
}

static int WSPAPI
count_sendmsg(SOCKET s, const struct msghdr *msg, DWORD flags, LPDWORD sent,
    LPINT err)
{
	struct nsock *ns = nsock(s, err);

	if (ns == NULL)
		return SOCKET_ERROR;
	return count_out(ns->in->next.lpWSPSendMsg(ns->lower, msg, flags,
	    sent, err), sent);
}

static int WSPAPI
count_recvmsg(SOCKET s, struct msghdr *msg, LPDWORD flags, LPDWORD got,
    LPINT err)
{
	struct nsock *ns = nsock(s, err);

	if (ns == NULL)
		return SOCKET_ERROR;
	return count_in(ns->in->next.lpWSPRecvMsg(ns->lower, msg, flags, got,
	    err), got);
}

/* sendfile and splice: forwarded (the base moves the bytes zero-copy),
 * and counted like the sends and receives they are. */
static int WSPAPI
count_sendfile(SOCKET s, int file, int64_t *off, size_t count,
    LPDWORD sent, LPINT err)
{
	struct nsock *ns = nsock(s, err);

	if (ns == NULL)
		return SOCKET_ERROR;
	return count_out(ns->in->next.lpWSPSendFile(ns->lower, file, off,
	    count, sent, err), sent);
}

static int WSPAPI
count_splice(SOCKET s, int fd, DWORD dir, size_t len, DWORD flags,
    LPDWORD moved, LPINT err)
{
	struct nsock *ns = nsock(s, err);
	int rc;

	if (ns == NULL)
		return SOCKET_ERROR;
	rc = ns->in->next.lpWSPSplice(ns->lower, fd, dir, len, flags, moved,
	    err);
	return dir == WSPSHIM_SPLICE_TO_SOCKET ? count_out(rc, moved) :
	    count_in(rc, moved);
}

/* The operations with no socket: find the instance, then call down. */
static INT WSPAPI
count_address_to_string(LPSOCKADDR sa, DWORD salen,
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
count_string_to_address(LPWSTR str, INT af, LPWSAPROTOCOL_INFOW info,
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
count_cancel_blocking_call(LPINT err)
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
count_select(int nfds, fd_set *r, fd_set *w, fd_set *x,
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
count_cleanup(LPINT err)
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

static const WSPPROC_TABLE count_procs = {
	.lpWSPAccept = count_accept,
	.lpWSPAddressToString = count_address_to_string,
	.lpWSPAsyncSelect = count_async_select,
	.lpWSPBind = count_bind,
	.lpWSPCancelBlockingCall = count_cancel_blocking_call,
	.lpWSPCleanup = count_cleanup,
	.lpWSPCloseSocket = count_closesocket,
	.lpWSPConnect = count_connect,
	.lpWSPDuplicateSocket = count_duplicate_socket,
	.lpWSPEnumNetworkEvents = count_enum_network_events,
	.lpWSPEventSelect = count_event_select,
	.lpWSPGetOverlappedResult = count_get_overlapped_result,
	.lpWSPGetPeerName = count_getpeername,
	.lpWSPGetSockName = count_getsockname,
	.lpWSPGetSockOpt = count_getsockopt,
	.lpWSPGetQOSByName = count_get_qos_by_name,
	.lpWSPIoctl = count_ioctl,
	.lpWSPJoinLeaf = count_joinleaf,
	.lpWSPListen = count_listen,
	.lpWSPRecv = count_recv,
	.lpWSPRecvDisconnect = count_recv_disconnect,
	.lpWSPRecvFrom = count_recvfrom,
	.lpWSPSelect = count_select,
	.lpWSPSend = count_send,
	.lpWSPSendDisconnect = count_send_disconnect,
	.lpWSPSendTo = count_sendto,
	.lpWSPSetSockOpt = count_setsockopt,
	.lpWSPShutdown = count_shutdown,
	.lpWSPSocket = count_socket,
	.lpWSPStringToAddress = count_string_to_address,
	.lpWSPSendMsg = count_sendmsg,
	.lpWSPRecvMsg = count_recvmsg,
	.lpWSPAccept4 = count_accept4,
	.lpWSPSendFile = count_sendfile,
	.lpWSPSplice = count_splice,
};

/*
 * The instance of info's chain, made if new, with next as its provider
 * below; NULL when out of memory.  Lock-free (a lock held by another
 * thread when the program forks would stay locked in the child): a thread
 * that loses the race to add the same chain takes the winner's.
 */
static struct ninst *
inst_get(LPWSAPROTOCOL_INFOW info, DWORD self, const WSPPROC_TABLE *next)
{
	struct ninst *in, *head, *p;

	if ((in = inst_find(info->dwCatalogEntryId)) != NULL) {
		if (atomic_load(&in->starts) == 0)
			in->next = *next;	/* restarted after cleanup */
		return in;
	}
	if ((in = calloc(1, sizeof(*in))) == NULL)
		return NULL;
	in->chain = info->dwCatalogEntryId;
	in->self = self;
	in->info = *info;
	in->next = *next;
	head = atomic_load(&instances);
	do {
		for (p = head; p != NULL; p = p->link)
			if (p->chain == in->chain) {
				free(in);
				return p;
			}
		in->link = head;
	} while (!atomic_compare_exchange_weak(&instances, &head, in));
	return in;
}

/* At exit: the counts, one line, to out_path (or stderr). */
static void
write_counts(void)
{
	char line[160];
	int fd = STDERR_FILENO, n;

	n = snprintf(line, sizeof(line),
	    "sends %llu bytes_out %llu recvs %llu bytes_in %llu\n",
	    (unsigned long long)sends, (unsigned long long)bytes_out,
	    (unsigned long long)recvs, (unsigned long long)bytes_in);
	if (out_path[0] != '\0')
		fd = open(out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
		    0644);
	if (fd < 0 || n < 0)
		return;
	(void)!write(fd, line, (size_t)n);
	if (fd != STDERR_FILENO)
		close(fd);
}

/* Read our parameters ("out=FILE" or nothing), once: config_error gets
 * 0, or WSASYSNOTREADY for parameters we do not understand. */
static DWORD config_self;
static int config_error;
static pthread_once_t config_once = PTHREAD_ONCE_INIT;

static void
configure(void)
{
	char params[sizeof(out_path)];
	int len = (int)sizeof(params), err;

	config_error = WSASYSNOTREADY;
	if (WSPShimGetLayerParams(config_self, params, &len, &err) != 0)
		return;
	if (strncmp(params, "out=", 4) == 0)
		snprintf(out_path, sizeof(out_path), "%s", params + 4);
	else if (params[0] != '\0')
		return;
	atexit(write_counts);
	config_error = 0;
}

#ifdef COUNT_WINDOWS_WAY
/* The catalog entry with this id, copied to *e: 0, or WSAEINVAL. */
static int
catalog_entry(DWORD id, LPWSAPROTOCOL_INFOW e)
{
	LPWSAPROTOCOL_INFOW all;
	DWORD len = 0;
	int n, i, err;

	/* First the size, then every entry, hidden and layered ones too. */
	if (WSCEnumProtocols(NULL, NULL, &len, &err) != SOCKET_ERROR ||
	    err != WSAENOBUFS || (all = malloc(len)) == NULL)
		return WSAEINVAL;
	n = WSCEnumProtocols(NULL, all, &len, &err);
	for (i = 0; i < n; i++)
		if (all[i].dwCatalogEntryId == id)
			break;
	if (n > 0 && i < n)
		*e = all[i];
	free(all);
	return n > 0 && i < n ? 0 : WSAEINVAL;
}

/*
 * Start the provider below us the Windows way: the entry after ours in
 * the chain, its file from WSCGetProviderPath, dlopen and dlsym, its
 * WSPStartup with the struct the propagation rule says.  0, or a WSA code.
 */
static int
start_next(LPWSAPROTOCOL_INFOW info, DWORD self, WSPUPCALLTABLE upcalls,
    LPWSPPROC_TABLE next, LPWSAPROTOCOL_INFOW pass)
{
	const WSAPROTOCOLCHAIN *pc = &info->ProtocolChain;
	WSAPROTOCOL_INFOW e;
	WCHAR wpath[PATH_MAX];
	char path[PATH_MAX];
	LPWSPSTARTUP startup;
	WSPDATA data;
	void *dl;
	int pos, i, len = PATH_MAX, err, e2;

	for (pos = 0; pos < pc->ChainLen - 1; pos++)
		if (pc->ChainEntries[pos] == self)
			break;
	if (pos >= pc->ChainLen - 1 ||
	    catalog_entry(pc->ChainEntries[pos + 1], &e) != 0)
		return WSAEINVAL;
	/* A layer below gets the chain's struct as it is; the base gets
	 * its own entry, keeping the duplicate-socket token we were given. */
	if (pos + 1 == pc->ChainLen - 1) {
		*pass = e;
		pass->dwProviderReserved = info->dwProviderReserved;
	} else {
		*pass = *info;
	}
	if (WSCGetProviderPath(&e.ProviderId, wpath, &len, &err) != 0)
		return err;
	for (i = 0; i < len && wpath[i] != 0; i++) {
		if (wpath[i] > 0x7f)
			return WSAEINVAL;	/* keep the example ASCII */
		path[i] = (char)wpath[i];
	}
	path[i] = '\0';
	if ((dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL ||
	    (startup = (LPWSPSTARTUP)dlsym(dl, "WSPStartup")) == NULL)
		return WSAEPROVIDERFAILEDINIT;
	memset(&data, 0, sizeof(data));
	memset(next, 0, sizeof(*next));
	if ((err = startup(MAKEWORD(2, 2), &data, pass, upcalls, next)) != 0)
		return err;
	/* We forward the Linux members: an older provider below gets the
	 * core's fallbacks for those its version lacks. */
	if (WSPShimCompleteProcTable(next, data.wLinuxTableVersion,
	    &err) != 0) {
		next->lpWSPCleanup(&e2);
		return err;
	}
	return 0;
}
#else
/* Start the provider below us with the core's helper. */
static int
start_next(LPWSAPROTOCOL_INFOW info, DWORD self, WSPUPCALLTABLE upcalls,
    LPWSPPROC_TABLE next, LPWSAPROTOCOL_INFOW pass)
{
	int err;

	(void)upcalls;		/* the core hands the provider below its own */
	if (WSPShimStartNextProvider(info, self, next, pass, &err) != 0)
		return err;
	return 0;
}
#endif

/*
 * The one export, called once per chain that names this layer: read the
 * parameters, start the provider below us in that chain, hand the core
 * our table.  0, or WSAEFAULT, WSAVERNOTSUPPORTED, WSAEINVAL (not in
 * the chain), WSASYSNOTREADY, WSAENOBUFS, or what starting the provider
 * below gave.
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
	 * core, or a layer above us that loads the next itself).  This
	 * module serves one entry; asked for another, it hands back a copy
	 * of itself, which the core loads. */
	if ((self = WSPShimFindSelf(info, &err)) == 0)
		return err;
	if (!WSPShimClaimSelf(&config_self, self))
		return WSPShimStartCopy(info, self, data, procs, &err) == 0 ?
		    0 : err;
	/* pthread_once, not a mutex: a mutex held by another thread when
	 * the program forks would stay locked in the child. */
	pthread_once(&config_once, configure);
	if (config_error != 0)
		return config_error;
	if ((err = start_next(info, self, upcalls, &next, &pass)) != 0)
		return err;

	if ((in = inst_get(info, self, &next)) == NULL) {
		next.lpWSPCleanup(&err);
		return WSAENOBUFS;
	}
	atomic_fetch_add(&in->starts, 1);
	up_arg = &upcalls;
	pthread_once(&up_once, up_store);

	memcpy(data->szDescription, description, sizeof(description));
	data->wLinuxTableVersion = WSPSHIM_LINUX_TABLE_VERSION;
	*procs = count_procs;
	return 0;
}
