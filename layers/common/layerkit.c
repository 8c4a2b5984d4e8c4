/*
 * layerkit.c - the pass-through engine of the shipped layers (see
 * layerkit.h).  Start-up, instances and the handle/context idiom are those
 * of layers/null/null.c; each operation here also fills a struct lk_call
 * for the layer's hooks.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "layerkit.h"
#include "ovlwatch.h"
#include "once.h"

/* The most buffers a capped send or receive passes down. */
#define LK_CUT	64

/* One (chain, position) that names the layer. */
struct lk_inst {
	struct lk_inst	*link;
	DWORD		chain;		/* the chain entry's catalog id */
	DWORD		self;		/* the layer's layered entry id */
	_Atomic int	starts;		/* WSPStartup calls not cleaned up */
	_Atomic int	live;		/* open sockets */
	void		*conf;
	WSPPROC_TABLE	next;		/* the provider below */
	WSAPROTOCOL_INFOW info;		/* the chain's struct */
};

static _Atomic(struct lk_inst *) lk_insts;
static void *lk_conf;			/* the layer's configuration */
static _Atomic int lk_starts;		/* over all instances */
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

const char *const lk_op_names[LK_NOPS] = {
	[LK_ACCEPT] = "accept",
	[LK_ADDRESSTOSTRING] = "addresstostring",
	[LK_ASYNCSELECT] = "asyncselect",
	[LK_BIND] = "bind",
	[LK_CANCELBLOCKINGCALL] = "cancelblockingcall",
	[LK_CLEANUP] = "cleanup",
	[LK_CLOSESOCKET] = "closesocket",
	[LK_CONNECT] = "connect",
	[LK_DUPLICATESOCKET] = "duplicatesocket",
	[LK_ENUMNETWORKEVENTS] = "enumnetworkevents",
	[LK_EVENTSELECT] = "eventselect",
	[LK_GETOVERLAPPEDRESULT] = "getoverlappedresult",
	[LK_GETPEERNAME] = "getpeername",
	[LK_GETSOCKNAME] = "getsockname",
	[LK_GETSOCKOPT] = "getsockopt",
	[LK_GETQOSBYNAME] = "getqosbyname",
	[LK_IOCTL] = "ioctl",
	[LK_JOINLEAF] = "joinleaf",
	[LK_LISTEN] = "listen",
	[LK_RECV] = "recv",
	[LK_RECVDISCONNECT] = "recvdisconnect",
	[LK_RECVFROM] = "recvfrom",
	[LK_SELECT] = "select",
	[LK_SEND] = "send",
	[LK_SENDDISCONNECT] = "senddisconnect",
	[LK_SENDTO] = "sendto",
	[LK_SETSOCKOPT] = "setsockopt",
	[LK_SHUTDOWN] = "shutdown",
	[LK_SOCKET] = "socket",
	[LK_STRINGTOADDRESS] = "stringtoaddress",
	[LK_SENDMSG] = "sendmsg",
	[LK_RECVMSG] = "recvmsg",
	[LK_ACCEPT4] = "accept4",
	[LK_SENDFILE] = "sendfile",
	[LK_SPLICE_SEND] = "splice_send",
	[LK_SPLICE_RECV] = "splice_recv",
};

int
lk_op_sends(enum lk_op op)
{
	return op == LK_SEND || op == LK_SENDTO || op == LK_SENDMSG ||
	    op == LK_SENDFILE || op == LK_SPLICE_SEND;
}

int
lk_op_receives(enum lk_op op)
{
	return op == LK_RECV || op == LK_RECVFROM || op == LK_RECVMSG ||
	    op == LK_SPLICE_RECV;
}

/* --- instances ---------------------------------------------------------- */

/* The instance of chain id `chain', or NULL. */
static struct lk_inst *
lk_inst_find(DWORD chain)
{
	struct lk_inst *in;

	for (in = atomic_load_explicit(&lk_insts, memory_order_acquire);
	    in != NULL; in = in->link)
		if (in->chain == chain)
			return in;
	return NULL;
}

/* The instance for a call naming no chain (WSPCleanup, WSPSelect): a
 * started one, preferably with no socket open (the core cleans up idle
 * chains).  NULL if none is started. */
static struct lk_inst *
lk_inst_any(void)
{
	struct lk_inst *in, *best = NULL;

	for (in = atomic_load_explicit(&lk_insts, memory_order_acquire);
	    in != NULL; in = in->link)
		if (in->starts > 0 &&
		    (best == NULL || atomic_load(&best->live) != 0))
			best = in;
	return best;
}

/* The instance of info's chain, for a call with no socket; NULL with
 * *err set. */
static struct lk_inst *
lk_inst_of(LPWSAPROTOCOL_INFOW info, LPINT err)
{
	struct lk_inst *in;

	if (info == NULL) {
		*err = WSAEFAULT;
		return NULL;
	}
	if ((in = lk_inst_find(info->dwCatalogEntryId)) == NULL)
		*err = WSAEINVAL;
	return in;
}

/* --- sockets ------------------------------------------------------------ */

/*
 * A socket of ours over lower (a new socket of instance in), or NULL with
 * *err set and lower closed.  Its struct is the storage of its handle
 * (WSPShimCreateSocketHandleEx): no malloc per socket.  Nobody knows the
 * handle until we return it, so filling the struct after making the
 * handle is safe.
 */
static struct lk_sock *
lk_wrap(struct lk_inst *in, SOCKET lower, const struct lk_sock *like,
    LPINT err)
{
	struct lk_sock *ls;
	SOCKET self;
	DWORD n;
	int e2, fd = -1;

	if (in->next.lpWSPIoctl(lower, SIO_BASE_HANDLE, NULL, 0, &fd,
	    sizeof(fd), &n, NULL, NULL, NULL, &e2) != 0)
		fd = -1;
	self = WSPShimCreateSocketHandleEx(in->self, (DWORD)lk_layer.sock_size,
	    (LPVOID *)&ls, err);
	if (self == INVALID_SOCKET) {
		in->next.lpWSPCloseSocket(lower, &e2);
		return NULL;
	}
	/* The storage holds what its last socket left: the layer's own
	 * fields after struct lk_sock start zeroed, as documented. */
	memset(ls, 0, lk_layer.sock_size);
	ls->lower = lower;
	ls->self = self;
	ls->in = in;
	ls->conf = in->conf;
	if (like != NULL) {
		ls->af = like->af;
		ls->type = like->type;
		ls->protocol = like->protocol;
	}
	ls->fd = fd;
	atomic_fetch_add(&in->live, 1);
	if (lk_layer.sock_open != NULL)
		lk_layer.sock_open(ls);
	return ls;
}

/* Forget ls: the layer's state, then its handle, which gives its memory
 * back (so ls is not touched after that). */
static void
lk_release(struct lk_sock *ls)
{
	struct lk_inst *in = ls->in;
	SOCKET self = ls->self;
	int e2;

	ovlwatch_close(ls);
	if (lk_layer.sock_close != NULL)
		lk_layer.sock_close(ls);
	up.lpWPUCloseSocketHandle(self, &e2);
	atomic_fetch_sub(&in->live, 1);
}

/* Close ls and the socket below (a socket refused after it was made). */
static void
lk_discard(struct lk_sock *ls)
{
	int e2;

	ls->in->next.lpWSPCloseSocket(ls->lower, &e2);
	lk_release(ls);
}

/* Remember the peer of a new connection, asking below. */
static void
lk_learn_peer(struct lk_sock *ls)
{
	int len = (int)sizeof(ls->peer), e2;

	if (ls->in->next.lpWSPGetPeerName(ls->lower,
	    (struct sockaddr *)&ls->peer, &len, &e2) == 0 && len > 0 &&
	    len <= (int)sizeof(ls->peer))
		ls->peerlen = len;
}

/* --- the call record and the hooks -------------------------------------- */

/* Start the record of op; for a socket operation find s's context.
 * 0, or -1 with *err set (not a handle of ours). */
static int
lk_begin(struct lk_call *c, enum lk_op op, SOCKET s, int has_sock,
    LPINT err)
{
	DWORD_PTR ctx;

	memset(c, 0, sizeof(*c));
	c->op = op;
	if (!has_sock)
		return 0;
	/* The upcall's answer, inline (see ws2spi.h): no call per op. */
	if (!WSPShimHandleContext(s, &ctx)) {
		*err = WSAENOTSOCK;
		return -1;
	}
	c->ls = (struct lk_sock *)ctx;
	c->conf = c->ls->conf;
	return 0;
}

/* Run before(): 1 when the call may go down, else 0 (it failed with the
 * code before() gave).  The hooks may call libc; errno is kept, since a
 * call that succeeds must leave the program's errno as it was. */
static int
lk_go(struct lk_call *c, LPINT err)
{
	int code, saved;

	if (lk_layer.before == NULL)
		return 1;
	saved = errno;
	code = lk_layer.before(c);
	errno = saved;
	if (code == 0)
		return 1;
	c->failed = c->injected = 1;
	c->err = *err = code;
	return 0;
}

/* Finish the record: rc is what below returned (0 or SOCKET_ERROR, when
 * it was called).  Runs after(); returns 0 or SOCKET_ERROR. */
static int
lk_done(struct lk_call *c, int rc, LPINT err)
{
	int code = 0, saved;

	if (!c->injected && rc != 0) {
		c->failed = 1;
		c->err = *err;
	}
	if (lk_layer.after != NULL) {
		saved = errno;
		code = lk_layer.after(c);
		errno = saved;
	}
	if (code != 0 && !c->failed) {
		c->failed = 1;
		c->err = *err = code;
	}
	return c->failed ? SOCKET_ERROR : 0;
}

/* As lk_done for an operation that made socket c->nls (or failed): our
 * handle, or INVALID_SOCKET (a socket after() refused is closed). */
static SOCKET
lk_done_sock(struct lk_call *c, LPINT err)
{
	int rc = c->nls == NULL ? SOCKET_ERROR : 0;

	if (lk_done(c, rc, err) != 0) {
		if (c->nls != NULL)
			lk_discard(c->nls);
		return INVALID_SOCKET;
	}
	return c->nls->self;
}

/*
 * Overlapped requests: one the call leaves pending (c->pending) is
 * watched (ovlwatch.h), and after() runs again, with c->completion set,
 * when the program learns it ended.
 */
struct lk_ovl {
	enum lk_op	op;
	struct lk_sock	*ls;
	void		*conf;
};

/* The second after() of a pending request (ovlwatch_done_fn). */
static void
lk_ovl_done(void *data, DWORD err, DWORD cb, int closed)
{
	const struct lk_ovl *o = data;
	struct lk_call c;
	int saved = errno;

	memset(&c, 0, sizeof(c));
	c.op = o->op;
	c.ls = closed ? NULL : o->ls;
	c.conf = o->conf;
	c.completion = 1;
	c.failed = err != 0;
	c.err = (int)err;
	c.bytes = err == 0 ? cb : 0;
	(void)lk_layer.after(&c);
	errno = saved;
}

/* Before c's request goes down with ov: its watch, or NULL (not
 * overlapped, or a layer with no after()); *crp as ovlwatch_begin. */
static struct ovlwatch *
lk_ovl_watch(const struct lk_call *c, LPWSAOVERLAPPED ov,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE *crp)
{
	struct ovlwatch *w;
	struct lk_ovl *o;
	void *data;

	if (ov == NULL || lk_layer.after == NULL ||
	    (w = ovlwatch_begin(ov, c->ls, crp, lk_ovl_done, sizeof(*o),
	    &data)) == NULL)
		return NULL;
	o = data;
	o->op = c->op;
	o->ls = c->ls;
	o->conf = c->conf;
	return w;
}

/* The bytes in n buffers. */
static uint64_t
lk_buflen(const WSABUF *b, DWORD n)
{
	uint64_t sum = 0;
	DWORD i;

	for (i = 0; b != NULL && i < n; i++)
		sum += b[i].len;
	return sum;
}

static uint64_t
lk_iovlen(const struct iovec *v, size_t n)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		sum += v[i].iov_len;
	return sum;
}

/* The first buffers of b, cut to hold at most limit bytes, in cut[];
 * *n becomes their number. */
static LPWSABUF
lk_cut(LPWSABUF b, DWORD *n, WSABUF *cut, uint64_t limit)
{
	DWORD i, k = 0;

	for (i = 0; i < *n && k < LK_CUT && limit > 0; i++) {
		cut[k] = b[i];
		if (cut[k].len > limit)
			cut[k].len = (ULONG)limit;
		limit -= cut[k].len;
		k++;
	}
	*n = k;
	return cut;
}

/* The same for an iovec array. */
static struct iovec *
lk_cutv(const struct iovec *v, size_t *n, struct iovec *cut, uint64_t limit)
{
	size_t i, k = 0;

	for (i = 0; i < *n && k < LK_CUT && limit > 0; i++) {
		cut[k] = v[i];
		if (cut[k].iov_len > limit)
			cut[k].iov_len = (size_t)limit;
		limit -= cut[k].iov_len;
		k++;
	}
	*n = k;
	return cut;
}

/* --- operations on no socket -------------------------------------------- */

static SOCKET WSPAPI
lk_socket(int af, int type, int protocol, LPWSAPROTOCOL_INFOW info,
    GROUP g, DWORD flags, LPINT err)
{
	WSAPROTOCOL_INFOW pass;
	struct lk_sock like;
	struct lk_inst *in;
	struct lk_call c;
	SOCKET lower;

	lk_begin(&c, LK_SOCKET, 0, 0, err);
	if ((in = lk_inst_of(info, err)) == NULL)
		return INVALID_SOCKET;
	c.conf = in->conf;
	like.af = af == 0 || af == FROM_PROTOCOL_INFO ?
	    info->iAddressFamily : af;
	like.type = type == 0 || type == FROM_PROTOCOL_INFO ?
	    info->iSocketType : type;
	like.protocol = protocol == 0 || protocol == FROM_PROTOCOL_INFO ?
	    info->iProtocol : protocol;
	c.arg[0] = like.af;
	c.arg[1] = like.type;
	c.arg[2] = like.protocol;
	if (lk_go(&c, err) &&
	    WSPShimNextProtocolInfo(info, in->self, &pass, err) == 0) {
		lower = in->next.lpWSPSocket(af, type, protocol, &pass, g,
		    flags, err);
		if (lower != INVALID_SOCKET &&
		    (c.nls = lk_wrap(in, lower, &like, err)) != NULL)
			c.nls->shared = info->dwProviderReserved != 0;
	}
	return lk_done_sock(&c, err);
}

static INT WSPAPI
lk_address_to_string(LPSOCKADDR sa, DWORD salen, LPWSAPROTOCOL_INFOW info,
    LPWSTR str, LPDWORD strlen, LPINT err)
{
	WSAPROTOCOL_INFOW pass;
	struct lk_inst *in;
	struct lk_call c;
	int rc = SOCKET_ERROR;

	lk_begin(&c, LK_ADDRESSTOSTRING, 0, 0, err);
	if ((in = lk_inst_of(info, err)) == NULL)
		return SOCKET_ERROR;
	c.conf = in->conf;
	c.addr = sa;
	c.addrlen = (int)salen;
	if (lk_go(&c, err) &&
	    WSPShimNextProtocolInfo(info, in->self, &pass, err) == 0) {
		rc = in->next.lpWSPAddressToString(sa, salen, &pass, str,
		    strlen, err);
	}
	return lk_done(&c, rc, err);
}

static INT WSPAPI
lk_string_to_address(LPWSTR str, INT af, LPWSAPROTOCOL_INFOW info,
    LPSOCKADDR sa, LPINT salen, LPINT err)
{
	WSAPROTOCOL_INFOW pass;
	struct lk_inst *in;
	struct lk_call c;
	int rc = SOCKET_ERROR;

	lk_begin(&c, LK_STRINGTOADDRESS, 0, 0, err);
	if ((in = lk_inst_of(info, err)) == NULL)
		return SOCKET_ERROR;
	c.conf = in->conf;
	c.arg[0] = af;
	if (lk_go(&c, err) &&
	    WSPShimNextProtocolInfo(info, in->self, &pass, err) == 0) {
		rc = in->next.lpWSPStringToAddress(str, af, &pass, sa, salen,
		    err);
	}
	return lk_done(&c, rc, err);
}

static int WSPAPI
lk_cancel_blocking_call(LPINT err)
{
	struct lk_inst *in = lk_inst_any();
	struct lk_call c;
	int rc = SOCKET_ERROR;

	lk_begin(&c, LK_CANCELBLOCKINGCALL, 0, 0, err);
	if (in == NULL) {
		*err = WSANOTINITIALISED;
		return SOCKET_ERROR;
	}
	c.conf = in->conf;
	if (lk_go(&c, err)) {
		rc = in->next.lpWSPCancelBlockingCall(err);
	}
	return lk_done(&c, rc, err);
}

/* WSPSelect: the sets would hold handles of ours, which below does not
 * know; the base has no WSPSelect, so below answers as it will. */
static int WSPAPI
lk_select(int nfds, fd_set *r, fd_set *w, fd_set *x,
    const struct timeval *tv, LPINT err)
{
	struct lk_inst *in = lk_inst_any();
	struct lk_call c;
	int rc = SOCKET_ERROR;

	lk_begin(&c, LK_SELECT, 0, 0, err);
	if (in == NULL) {
		*err = WSANOTINITIALISED;
		return SOCKET_ERROR;
	}
	c.conf = in->conf;
	if (lk_go(&c, err)) {
		rc = in->next.lpWSPSelect(nfds, r, w, x, tv, err);
	}
	if (lk_done(&c, rc == SOCKET_ERROR ? rc : 0, err) != 0)
		return SOCKET_ERROR;
	return rc;
}

/* WSPCleanup: balance one WSPStartup of an instance and of its next
 * provider.  Instances are kept (a socket may still name one); the last
 * cleanup of all runs the layer's cleanup hook. */
static int WSPAPI
lk_cleanup(LPINT err)
{
	struct lk_inst *in;
	int rc, n;

	while ((in = lk_inst_any()) != NULL) {
		n = atomic_load(&in->starts);
		while (n > 0) {
			if (!atomic_compare_exchange_weak(&in->starts, &n,
			    n - 1))
				continue;
			rc = in->next.lpWSPCleanup(err);
			if (atomic_fetch_sub(&lk_starts, 1) == 1 &&
			    lk_layer.cleanup != NULL)
				lk_layer.cleanup();
			return rc;
		}
	}
	*err = WSANOTINITIALISED;
	return SOCKET_ERROR;
}

/* --- operations that make sockets --------------------------------------- */

static SOCKET WSPAPI
lk_accept(SOCKET s, struct sockaddr *addr, LPINT addrlen,
    LPCONDITIONPROC cond, DWORD_PTR data, LPINT err)
{
	struct lk_call c;
	struct lk_sock *ls;
	SOCKET lower;

	if (lk_begin(&c, LK_ACCEPT, s, 1, err) != 0)
		return INVALID_SOCKET;
	ls = c.ls;
	if (lk_go(&c, err)) {
		lower = ls->in->next.lpWSPAccept(ls->lower, addr, addrlen,
		    cond, data, err);
		if (lower != INVALID_SOCKET &&
		    (c.nls = lk_wrap(ls->in, lower, ls, err)) != NULL) {
			lk_learn_peer(c.nls);
			c.addr = (struct sockaddr *)&c.nls->peer;
			c.addrlen = c.nls->peerlen;
		}
	}
	return lk_done_sock(&c, err);
}

static SOCKET WSPAPI
lk_accept4(SOCKET s, struct sockaddr *addr, LPINT addrlen, DWORD flags,
    LPINT err)
{
	struct lk_call c;
	struct lk_sock *ls;
	SOCKET lower;

	if (lk_begin(&c, LK_ACCEPT4, s, 1, err) != 0)
		return INVALID_SOCKET;
	ls = c.ls;
	c.arg[0] = (int)flags;
	if (lk_go(&c, err)) {
		lower = ls->in->next.lpWSPAccept4(ls->lower, addr, addrlen,
		    flags, err);
		if (lower != INVALID_SOCKET &&
		    (c.nls = lk_wrap(ls->in, lower, ls, err)) != NULL) {
			lk_learn_peer(c.nls);
			c.addr = (struct sockaddr *)&c.nls->peer;
			c.addrlen = c.nls->peerlen;
		}
	}
	return lk_done_sock(&c, err);
}

/* WSPJoinLeaf: s again when below kept its socket, else a new one. */
static SOCKET WSPAPI
lk_joinleaf(SOCKET s, const struct sockaddr *name, int namelen,
    LPWSABUF caller, LPWSABUF callee, LPQOS sqos, LPQOS gqos, DWORD flags,
    LPINT err)
{
	struct lk_call c;
	struct lk_sock *ls;
	SOCKET lower;
	int rc = SOCKET_ERROR;

	if (lk_begin(&c, LK_JOINLEAF, s, 1, err) != 0)
		return INVALID_SOCKET;
	ls = c.ls;
	c.addr = name;
	c.addrlen = namelen;
	if (lk_go(&c, err)) {
		lower = ls->in->next.lpWSPJoinLeaf(ls->lower, name, namelen,
		    caller, callee, sqos, gqos, flags, err);
		if (lower != ls->lower && lower != INVALID_SOCKET) {
			c.nls = lk_wrap(ls->in, lower, ls, err);
			return lk_done_sock(&c, err);
		}
		if (lower != INVALID_SOCKET)
			rc = 0;
	}
	return lk_done(&c, rc, err) == 0 ? s : INVALID_SOCKET;
}

/* --- operations on a socket --------------------------------------------- */

static int WSPAPI
lk_closesocket(SOCKET s, LPINT err)
{
	struct lk_call c;
	int rc;

	if (lk_begin(&c, LK_CLOSESOCKET, s, 1, err) != 0)
		return SOCKET_ERROR;
	if (!lk_go(&c, err))
		return lk_done(&c, SOCKET_ERROR, err);
	rc = c.ls->in->next.lpWSPCloseSocket(c.ls->lower, err);
	rc = lk_done(&c, rc, err);
	lk_release(c.ls);
	return rc;
}

static int WSPAPI
lk_bind(SOCKET s, const struct sockaddr *name, int namelen, LPINT err)
{
	struct lk_call c;
	int rc = SOCKET_ERROR;

	if (lk_begin(&c, LK_BIND, s, 1, err) != 0)
		return SOCKET_ERROR;
	c.addr = name;
	c.addrlen = namelen;
	if (lk_go(&c, err))
		rc = c.ls->in->next.lpWSPBind(c.ls->lower, name, namelen, err);
	return lk_done(&c, rc, err);
}

static int WSPAPI
lk_connect(SOCKET s, const struct sockaddr *name, int namelen,
    LPWSABUF caller, LPWSABUF callee, LPQOS sqos, LPQOS gqos, LPINT err)
{
	struct lk_call c;
	struct lk_sock *ls;
	int rc = SOCKET_ERROR;

	if (lk_begin(&c, LK_CONNECT, s, 1, err) != 0)
		return SOCKET_ERROR;
	ls = c.ls;
	c.addr = name;
	c.addrlen = namelen;
	if (lk_go(&c, err))
		rc = ls->in->next.lpWSPConnect(ls->lower, name, namelen,
		    caller, callee, sqos, gqos, err);
	/* The peer, also for a connect still in progress. */
	if ((rc == 0 || *err == WSAEWOULDBLOCK || *err == WSAEINPROGRESS) &&
	    !c.injected && name != NULL && namelen > 0 &&
	    namelen <= (int)sizeof(ls->peer)) {
		memcpy(&ls->peer, name, (size_t)namelen);
		ls->peerlen = namelen;
	}
	return lk_done(&c, rc, err);
}

static int WSPAPI
lk_listen(SOCKET s, int backlog, LPINT err)
{
	struct lk_call c;
	int rc = SOCKET_ERROR;

	if (lk_begin(&c, LK_LISTEN, s, 1, err) != 0)
		return SOCKET_ERROR;
	c.arg[0] = backlog;
	if (lk_go(&c, err))
		rc = c.ls->in->next.lpWSPListen(c.ls->lower, backlog, err);
	return lk_done(&c, rc, err);
}

static int WSPAPI
lk_shutdown(SOCKET s, int how, LPINT err)
{
	struct lk_call c;
	int rc = SOCKET_ERROR;

	if (lk_begin(&c, LK_SHUTDOWN, s, 1, err) != 0)
		return SOCKET_ERROR;
	c.arg[0] = how;
	if (lk_go(&c, err))
		rc = c.ls->in->next.lpWSPShutdown(c.ls->lower, how, err);
	return lk_done(&c, rc, err);
}

static int WSPAPI
lk_send(SOCKET s, LPWSABUF b, DWORD nb, LPDWORD sent, DWORD flags,
    LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr,
    LPWSATHREADID tid, LPINT err)
{
	WSABUF cut[LK_CUT];
	struct ovlwatch *w;
	struct lk_call c;
	int rc = SOCKET_ERROR;

	if (lk_begin(&c, LK_SEND, s, 1, err) != 0)
		return SOCKET_ERROR;
	c.len = lk_buflen(b, nb);
	if (lk_go(&c, err)) {
		if (c.limit != 0 && c.limit < c.len)
			b = lk_cut(b, &nb, cut, c.limit);
		w = lk_ovl_watch(&c, ov, &cr);
		rc = c.ls->in->next.lpWSPSend(c.ls->lower, b, nb, sent, flags,
		    ov, cr, tid, err);
		c.pending = w != NULL && ovlwatch_issued(w, ov, rc, *err);
		if (rc == 0 && sent != NULL)
			c.bytes = *sent;
	}
	return lk_done(&c, rc, err);
}

static int WSPAPI
lk_sendto(SOCKET s, LPWSABUF b, DWORD nb, LPDWORD sent, DWORD flags,
    const struct sockaddr *to, int tolen, LPWSAOVERLAPPED ov,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID tid, LPINT err)
{
	WSABUF cut[LK_CUT];
	struct ovlwatch *w;
	struct lk_call c;
	int rc = SOCKET_ERROR;

	if (lk_begin(&c, LK_SENDTO, s, 1, err) != 0)
		return SOCKET_ERROR;
	c.len = lk_buflen(b, nb);
	c.addr = to;
	c.addrlen = tolen;
	if (lk_go(&c, err)) {
		if (c.limit != 0 && c.limit < c.len)
			b = lk_cut(b, &nb, cut, c.limit);
		w = lk_ovl_watch(&c, ov, &cr);
		rc = c.ls->in->next.lpWSPSendTo(c.ls->lower, b, nb, sent,
		    flags, to, tolen, ov, cr, tid, err);
		c.pending = w != NULL && ovlwatch_issued(w, ov, rc, *err);
		if (rc == 0 && sent != NULL)
			c.bytes = *sent;
	}
	return lk_done(&c, rc, err);
}

static int WSPAPI
lk_sendmsg(SOCKET s, const struct msghdr *msg, DWORD flags, LPDWORD sent,
    LPINT err)
{
	struct iovec cut[LK_CUT];
	struct msghdr m;
	struct lk_call c;
	int rc = SOCKET_ERROR;

	if (lk_begin(&c, LK_SENDMSG, s, 1, err) != 0)
		return SOCKET_ERROR;
	if (msg != NULL) {
		c.len = lk_iovlen(msg->msg_iov, msg->msg_iovlen);
		c.addr = msg->msg_name;
		c.addrlen = msg->msg_name != NULL ? (int)msg->msg_namelen : 0;
	}
	if (lk_go(&c, err)) {
		if (msg != NULL && c.limit != 0 && c.limit < c.len) {
			m = *msg;
			m.msg_iov = lk_cutv(msg->msg_iov, &m.msg_iovlen, cut,
			    c.limit);
			msg = &m;
		}
		rc = c.ls->in->next.lpWSPSendMsg(c.ls->lower, msg, flags, sent,
		    err);
		if (rc == 0 && sent != NULL)
			c.bytes = *sent;
	}
	return lk_done(&c, rc, err);
}

/* sendfile and splice go down as they are (zero-copy below); before()
 * sees the count offered and may cap it. */
static int WSPAPI
lk_sendfile(SOCKET s, int file, int64_t *off, size_t count, LPDWORD sent,
    LPINT err)
{
	struct lk_call c;
	int rc = SOCKET_ERROR;

	if (lk_begin(&c, LK_SENDFILE, s, 1, err) != 0)
		return SOCKET_ERROR;
	c.len = count;
	if (lk_go(&c, err)) {
		if (c.limit != 0 && c.limit < count)
			count = (size_t)c.limit;
		rc = c.ls->in->next.lpWSPSendFile(c.ls->lower, file, off,
		    count, sent, err);
		if (rc == 0 && sent != NULL)
			c.bytes = *sent;
	}
	return lk_done(&c, rc, err);
}

static int WSPAPI
lk_splice(SOCKET s, int fd, DWORD dir, size_t len, DWORD flags,
    LPDWORD moved, LPINT err)
{
	struct lk_call c;
	int rc = SOCKET_ERROR;

	if (lk_begin(&c, dir == WSPSHIM_SPLICE_FROM_SOCKET ? LK_SPLICE_RECV :
	    LK_SPLICE_SEND, s, 1, err) != 0)
		return SOCKET_ERROR;
	c.len = len;
	if (lk_go(&c, err)) {
		if (c.limit != 0 && c.limit < len)
			len = (size_t)c.limit;
		rc = c.ls->in->next.lpWSPSplice(c.ls->lower, fd, dir, len,
		    flags, moved, err);
		if (rc == 0 && moved != NULL)
			c.bytes = *moved;
	}
	return lk_done(&c, rc, err);
}

static int WSPAPI
lk_recv(SOCKET s, LPWSABUF b, DWORD nb, LPDWORD got, LPDWORD flags,
    LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr,
    LPWSATHREADID tid, LPINT err)
{
	WSABUF cut[LK_CUT];
	struct ovlwatch *w;
	struct lk_call c;
	int rc = SOCKET_ERROR;

	if (lk_begin(&c, LK_RECV, s, 1, err) != 0)
		return SOCKET_ERROR;
	c.len = lk_buflen(b, nb);
	if (lk_go(&c, err)) {
		if (c.limit != 0 && c.limit < c.len)
			b = lk_cut(b, &nb, cut, c.limit);
		w = lk_ovl_watch(&c, ov, &cr);
		rc = c.ls->in->next.lpWSPRecv(c.ls->lower, b, nb, got, flags,
		    ov, cr, tid, err);
		c.pending = w != NULL && ovlwatch_issued(w, ov, rc, *err);
		if (rc == 0 && got != NULL)
			c.bytes = *got;
	}
	return lk_done(&c, rc, err);
}

static int WSPAPI
lk_recvfrom(SOCKET s, LPWSABUF b, DWORD nb, LPDWORD got, LPDWORD flags,
    struct sockaddr *from, LPINT fromlen, LPWSAOVERLAPPED ov,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID tid, LPINT err)
{
	WSABUF cut[LK_CUT];
	struct ovlwatch *w;
	struct lk_call c;
	int rc = SOCKET_ERROR;

	if (lk_begin(&c, LK_RECVFROM, s, 1, err) != 0)
		return SOCKET_ERROR;
	c.len = lk_buflen(b, nb);
	if (lk_go(&c, err)) {
		if (c.limit != 0 && c.limit < c.len)
			b = lk_cut(b, &nb, cut, c.limit);
		w = lk_ovl_watch(&c, ov, &cr);
		rc = c.ls->in->next.lpWSPRecvFrom(c.ls->lower, b, nb, got,
		    flags, from, fromlen, ov, cr, tid, err);
		c.pending = w != NULL && ovlwatch_issued(w, ov, rc, *err);
		if (rc == 0 && got != NULL)
			c.bytes = *got;
		if (rc == 0 && from != NULL && fromlen != NULL) {
			c.addr = from;
			c.addrlen = *fromlen;
		}
	}
	return lk_done(&c, rc, err);
}

static int WSPAPI
lk_recvmsg(SOCKET s, struct msghdr *msg, LPDWORD flags, LPDWORD got,
    LPINT err)
{
	struct iovec cut[LK_CUT];
	struct msghdr m, *mp = msg;
	struct lk_call c;
	int rc = SOCKET_ERROR;

	if (lk_begin(&c, LK_RECVMSG, s, 1, err) != 0)
		return SOCKET_ERROR;
	if (msg != NULL)
		c.len = lk_iovlen(msg->msg_iov, msg->msg_iovlen);
	if (lk_go(&c, err)) {
		if (msg != NULL && c.limit != 0 && c.limit < c.len) {
			m = *msg;
			m.msg_iov = lk_cutv(msg->msg_iov, &m.msg_iovlen, cut,
			    c.limit);
			mp = &m;
		}
		rc = c.ls->in->next.lpWSPRecvMsg(c.ls->lower, mp, flags, got,
		    err);
		if (mp != msg) {
			msg->msg_namelen = m.msg_namelen;
			msg->msg_controllen = m.msg_controllen;
			msg->msg_flags = m.msg_flags;
		}
		if (rc == 0 && got != NULL)
			c.bytes = *got;
		if (rc == 0 && msg != NULL && msg->msg_name != NULL) {
			c.addr = msg->msg_name;
			c.addrlen = (int)msg->msg_namelen;
		}
	}
	return lk_done(&c, rc, err);
}

static int WSPAPI
lk_getsockopt(SOCKET s, int level, int name, char *val, LPINT len,
    LPINT err)
{
	struct lk_call c;
	int rc = SOCKET_ERROR;

	if (lk_begin(&c, LK_GETSOCKOPT, s, 1, err) != 0)
		return SOCKET_ERROR;
	c.arg[0] = level;
	c.arg[1] = name;
	if (lk_go(&c, err))
		rc = c.ls->in->next.lpWSPGetSockOpt(c.ls->lower, level, name,
		    val, len, err);
	return lk_done(&c, rc, err);
}

static int WSPAPI
lk_setsockopt(SOCKET s, int level, int name, const char *val, int len,
    LPINT err)
{
	struct lk_call c;
	int rc = SOCKET_ERROR;

	if (lk_begin(&c, LK_SETSOCKOPT, s, 1, err) != 0)
		return SOCKET_ERROR;
	c.arg[0] = level;
	c.arg[1] = name;
	if (lk_go(&c, err))
		rc = c.ls->in->next.lpWSPSetSockOpt(c.ls->lower, level, name,
		    val, len, err);
	return lk_done(&c, rc, err);
}

static int WSPAPI
lk_getsockname(SOCKET s, struct sockaddr *name, LPINT namelen, LPINT err)
{
	struct lk_call c;
	int rc = SOCKET_ERROR;

	if (lk_begin(&c, LK_GETSOCKNAME, s, 1, err) != 0)
		return SOCKET_ERROR;
	if (lk_go(&c, err))
		rc = c.ls->in->next.lpWSPGetSockName(c.ls->lower, name,
		    namelen, err);
	return lk_done(&c, rc, err);
}

static int WSPAPI
lk_getpeername(SOCKET s, struct sockaddr *name, LPINT namelen, LPINT err)
{
	struct lk_call c;
	int rc = SOCKET_ERROR;

	if (lk_begin(&c, LK_GETPEERNAME, s, 1, err) != 0)
		return SOCKET_ERROR;
	if (lk_go(&c, err))
		rc = c.ls->in->next.lpWSPGetPeerName(c.ls->lower, name,
		    namelen, err);
	return lk_done(&c, rc, err);
}

static int WSPAPI
lk_ioctl(SOCKET s, DWORD code, LPVOID in, DWORD inlen, LPVOID out,
    DWORD outlen, LPDWORD n, LPWSAOVERLAPPED ov,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID tid, LPINT err)
{
	struct lk_call c;
	int rc = SOCKET_ERROR;

	if (lk_begin(&c, LK_IOCTL, s, 1, err) != 0)
		return SOCKET_ERROR;
	/* The core's handle queries go straight down, unhooked. */
	if (code == SIO_BASE_HANDLE || code == SIO_BSP_HANDLE)
		return c.ls->in->next.lpWSPIoctl(c.ls->lower, code, in, inlen,
		    out, outlen, n, ov, cr, tid, err);
	c.arg[0] = (int)code;
	if (lk_go(&c, err))
		rc = c.ls->in->next.lpWSPIoctl(c.ls->lower, code, in, inlen,
		    out, outlen, n, ov, cr, tid, err);
	return lk_done(&c, rc, err);
}

/* WSPDuplicateSocket: below makes the token; the program gets the
 * chain's struct with that token in dwProviderReserved. */
static int WSPAPI
lk_duplicate_socket(SOCKET s, DWORD pid, LPWSAPROTOCOL_INFOW info,
    LPINT err)
{
	struct lk_call c;
	DWORD token;
	int rc = SOCKET_ERROR;

	if (lk_begin(&c, LK_DUPLICATESOCKET, s, 1, err) != 0)
		return SOCKET_ERROR;
	if (lk_go(&c, err)) {
		rc = c.ls->in->next.lpWSPDuplicateSocket(c.ls->lower, pid,
		    info, err);
		if (rc == 0) {
			token = info->dwProviderReserved;
			*info = c.ls->in->info;
			info->dwProviderReserved = token;
		}
	}
	return lk_done(&c, rc, err);
}

static int WSPAPI
lk_async_select(SOCKET s, HWND wnd, unsigned int msg, LONG ev, LPINT err)
{
	struct lk_call c;
	int rc = SOCKET_ERROR;

	if (lk_begin(&c, LK_ASYNCSELECT, s, 1, err) != 0)
		return SOCKET_ERROR;
	if (lk_go(&c, err))
		rc = c.ls->in->next.lpWSPAsyncSelect(c.ls->lower, wnd, msg, ev,
		    err);
	return lk_done(&c, rc, err);
}

static int WSPAPI
lk_enum_network_events(SOCKET s, WSAEVENT ev, LPWSANETWORKEVENTS ne,
    LPINT err)
{
	struct lk_call c;
	int rc = SOCKET_ERROR;

	if (lk_begin(&c, LK_ENUMNETWORKEVENTS, s, 1, err) != 0)
		return SOCKET_ERROR;
	if (lk_go(&c, err))
		rc = c.ls->in->next.lpWSPEnumNetworkEvents(c.ls->lower, ev, ne,
		    err);
	return lk_done(&c, rc, err);
}

static int WSPAPI
lk_event_select(SOCKET s, WSAEVENT ev, LONG events, LPINT err)
{
	struct lk_call c;
	int rc = SOCKET_ERROR;

	if (lk_begin(&c, LK_EVENTSELECT, s, 1, err) != 0)
		return SOCKET_ERROR;
	if (lk_go(&c, err))
		rc = c.ls->in->next.lpWSPEventSelect(c.ls->lower, ev, events,
		    err);
	return lk_done(&c, rc, err);
}

static BOOL WSPAPI
lk_get_overlapped_result(SOCKET s, LPWSAOVERLAPPED ov, LPDWORD n, BOOL wait,
    LPDWORD flags, LPINT err)
{
	struct lk_call c;
	int rc = SOCKET_ERROR;

	if (lk_begin(&c, LK_GETOVERLAPPEDRESULT, s, 1, err) != 0)
		return FALSE;
	if (lk_go(&c, err)) {
		if (c.ls->in->next.lpWSPGetOverlappedResult(c.ls->lower, ov,
		    n, wait, flags, err))
			rc = 0;
		ovlwatch_result(ov, rc == 0, *err,
		    rc == 0 && n != NULL ? *n : 0);
	}
	return lk_done(&c, rc, err) == 0;
}

static BOOL WSPAPI
lk_get_qos_by_name(SOCKET s, LPWSABUF name, LPQOS qos, LPINT err)
{
	struct lk_call c;
	int rc = SOCKET_ERROR;

	if (lk_begin(&c, LK_GETQOSBYNAME, s, 1, err) != 0)
		return FALSE;
	if (lk_go(&c, err) && c.ls->in->next.lpWSPGetQOSByName(c.ls->lower,
	    name, qos, err))
		rc = 0;
	return lk_done(&c, rc, err) == 0;
}

static int WSPAPI
lk_recv_disconnect(SOCKET s, LPWSABUF data, LPINT err)
{
	struct lk_call c;
	int rc = SOCKET_ERROR;

	if (lk_begin(&c, LK_RECVDISCONNECT, s, 1, err) != 0)
		return SOCKET_ERROR;
	if (lk_go(&c, err))
		rc = c.ls->in->next.lpWSPRecvDisconnect(c.ls->lower, data, err);
	return lk_done(&c, rc, err);
}

static int WSPAPI
lk_send_disconnect(SOCKET s, LPWSABUF data, LPINT err)
{
	struct lk_call c;
	int rc = SOCKET_ERROR;

	if (lk_begin(&c, LK_SENDDISCONNECT, s, 1, err) != 0)
		return SOCKET_ERROR;
	if (lk_go(&c, err))
		rc = c.ls->in->next.lpWSPSendDisconnect(c.ls->lower, data, err);
	return lk_done(&c, rc, err);
}

static const WSPPROC_TABLE lk_procs = {
	.lpWSPAccept = lk_accept,
	.lpWSPAddressToString = lk_address_to_string,
	.lpWSPAsyncSelect = lk_async_select,
	.lpWSPBind = lk_bind,
	.lpWSPCancelBlockingCall = lk_cancel_blocking_call,
	.lpWSPCleanup = lk_cleanup,
	.lpWSPCloseSocket = lk_closesocket,
	.lpWSPConnect = lk_connect,
	.lpWSPDuplicateSocket = lk_duplicate_socket,
	.lpWSPEnumNetworkEvents = lk_enum_network_events,
	.lpWSPEventSelect = lk_event_select,
	.lpWSPGetOverlappedResult = lk_get_overlapped_result,
	.lpWSPGetPeerName = lk_getpeername,
	.lpWSPGetSockName = lk_getsockname,
	.lpWSPGetSockOpt = lk_getsockopt,
	.lpWSPGetQOSByName = lk_get_qos_by_name,
	.lpWSPIoctl = lk_ioctl,
	.lpWSPJoinLeaf = lk_joinleaf,
	.lpWSPListen = lk_listen,
	.lpWSPRecv = lk_recv,
	.lpWSPRecvDisconnect = lk_recv_disconnect,
	.lpWSPRecvFrom = lk_recvfrom,
	.lpWSPSelect = lk_select,
	.lpWSPSend = lk_send,
	.lpWSPSendDisconnect = lk_send_disconnect,
	.lpWSPSendTo = lk_sendto,
	.lpWSPSetSockOpt = lk_setsockopt,
	.lpWSPShutdown = lk_shutdown,
	.lpWSPSocket = lk_socket,
	.lpWSPStringToAddress = lk_string_to_address,
	.lpWSPSendMsg = lk_sendmsg,
	.lpWSPRecvMsg = lk_recvmsg,
	.lpWSPAccept4 = lk_accept4,
	.lpWSPSendFile = lk_sendfile,
	.lpWSPSplice = lk_splice,
};

/* --- start-up ----------------------------------------------------------- */

/*
 * Configure the layer from the parameters of its entry, once (lk_self
 * names the entry): lk_conf_error gets 0, or WSASYSNOTREADY (bad
 * parameters, said on stderr) or WSAENOBUFS.  A fork-safe once (once.h),
 * not a mutex: a mutex held by another thread when the program forks
 * would stay locked in the child.
 */
static DWORD lk_self;		/* the entry this module serves: claimed
				 * once (WSPShimClaimSelf), read atomically */
static int lk_conf_error;
static struct wsp_once lk_conf_once = WSP_ONCE_INIT;

static void
lk_configure(void *unused)
{
	DWORD self = __atomic_load_n(&lk_self, __ATOMIC_ACQUIRE);
	const char *why = NULL;
	char *params;
	int len = 0, err;

	lk_conf_error = 0;	/* a child may run it again: see once.h */
	WSPShimGetLayerParams(self, NULL, &len, &err);
	if ((params = calloc(1, len > 0 ? (size_t)len : 1)) == NULL) {
		lk_conf_error = WSAENOBUFS;
		return;
	}
	if (WSPShimGetLayerParams(self, params, &len, &err) != 0)
		params[0] = '\0';
	if (lk_layer.configure != NULL)
		why = lk_layer.configure(self, params, &lk_conf);
	if (why != NULL) {
		lk_warn("bad parameters \"%s\": %s", params, why);
		lk_conf_error = WSASYSNOTREADY;
	}
	free(params);
}

/*
 * The instance of info's chain, made if new, with next as its provider
 * below; NULL when out of memory.  Lock-free, for the same reason as
 * lk_configure: a thread that loses the race to add the same chain takes
 * the winner's.
 */
static struct lk_inst *
lk_inst_get(LPWSAPROTOCOL_INFOW info, DWORD self, const WSPPROC_TABLE *next)
{
	struct lk_inst *in, *head, *p;

	if ((in = lk_inst_find(info->dwCatalogEntryId)) != NULL) {
		if (atomic_load(&in->starts) == 0)
			in->next = *next;	/* restarted after cleanup */
		return in;
	}
	if ((in = calloc(1, sizeof(*in))) == NULL)
		return NULL;
	in->chain = info->dwCatalogEntryId;
	in->self = self;
	in->conf = lk_conf;
	in->info = *info;
	in->next = *next;
	head = atomic_load(&lk_insts);
	do {
		for (p = head; p != NULL; p = p->link)
			if (p->chain == in->chain) {
				free(in);
				return p;
			}
		in->link = head;
	} while (!atomic_compare_exchange_weak(&lk_insts, &head, in));
	return in;
}

int
lk_startup(WORD version, LPWSPDATA data, LPWSAPROTOCOL_INFOW info,
    WSPUPCALLTABLE upcalls, LPWSPPROC_TABLE procs)
{
	WSAPROTOCOL_INFOW pass;
	WSPPROC_TABLE next;
	struct lk_inst *in;
	const char *p;
	DWORD self;
	size_t i;
	int err;

	if (data == NULL || info == NULL || procs == NULL)
		return WSAEFAULT;
	data->wHighVersion = MAKEWORD(2, 2);
	data->wVersion = MAKEWORD(2, 2);
	if (LOBYTE(version) < 2 ||
	    (LOBYTE(version) == 2 && HIBYTE(version) < 2))
		return WSAVERNOTSUPPORTED;
	/* Our layered entry id, found in the chain whoever loaded us (the
	 * core, or a layer above that loads the next itself).  A module
	 * serves one entry, configured from its parameters: asked for
	 * another, it hands back a copy of itself, which the core loads. */
	if ((self = WSPShimFindSelf(info, &err)) == 0)
		return err;
	if (!WSPShimClaimSelf(&lk_self, self))
		return WSPShimStartCopy(info, self, data, procs, &err) == 0 ?
		    0 : err;
	if (wsp_once(&lk_conf_once, lk_configure, NULL) != 0)
		return WSASYSNOTREADY;	/* a start from within configure */
	if (lk_conf_error != 0)
		return lk_conf_error;
	if (WSPShimStartNextProvider(info, self, &next, &pass, &err) != 0)
		return err;

	if ((in = lk_inst_get(info, self, &next)) == NULL) {
		next.lpWSPCleanup(&err);
		return WSAENOBUFS;
	}
	atomic_fetch_add(&in->starts, 1);
	atomic_fetch_add(&lk_starts, 1);
	wsp_once(&up_once, up_store, &upcalls);

	/* "wspshim NAME" as UTF-16 (the name is ASCII). */
	p = "wspshim ";
	for (i = 0; *p != '\0' && i < WSADESCRIPTION_LEN; i++)
		data->szDescription[i] = (WCHAR)*p++;
	for (p = lk_layer.name; *p != '\0' && i < WSADESCRIPTION_LEN; i++)
		data->szDescription[i] = (WCHAR)*p++;
	data->szDescription[i] = 0;
	data->wLinuxTableVersion = WSPSHIM_LINUX_TABLE_VERSION;
	*procs = lk_procs;
	return 0;
}

/* The parameter check of the layer (ws2spi.h), for the wspshim command:
 * the layer's check hook, or 0 when it has none. */
LK_EXPORT int
WSPShimCheckParams(const char *params, char *why, size_t len)
{
	if (why != NULL && len > 0)
		why[0] = '\0';
	if (lk_layer.check == NULL)
		return 0;
	return lk_layer.check(params != NULL ? params : "", why, len);
}
