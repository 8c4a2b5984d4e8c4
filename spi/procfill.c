/*
 * procfill.c - the fallbacks that complete an older provider's table.
 *
 * A fallback is a table member, so it gets only the member's arguments:
 * nothing says which provider's table it stands in.  So each completed
 * table has a slot of its own here, holding a copy of the provider's
 * table, and the slot's own set of fallback functions (generated below,
 * FILL_SLOTS of each), which call the members of that copy.  A provider's
 * table is the same on every start (layers hand out a static table), so
 * a provider keeps its slot across restarts; slots are never freed.
 *
 * Claiming a slot is lock-free (a compare-and-swap), as everything on the
 * start-up path must be that a fork could interrupt.  The fallbacks
 * themselves add one direct call to what they stand for.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "errmap.h"
#include "export.h"
#include "libc.h"
#include "log.h"
#include "procfill.h"

#define FILL_SLOTS	64
#define FILL_STACK_BUFS	64	/* WSABUFs on the stack */

enum { SLOT_FREE, SLOT_FILLING, SLOT_READY };

struct fill_slot {
	_Atomic int	state;
	unsigned	version;	/* what the provider reported */
	WSPPROC_TABLE	t;		/* its table, as it gave it */
};

static struct fill_slot fill_slots[FILL_SLOTS];

typedef void (*fill_fn)(void);

/* Whether t has every member of version v (none of them NULL). */
int
procfill_has_members(const WSPPROC_TABLE *t, unsigned v)
{
	const fill_fn *m = (const fill_fn *)(const void *)t;
	size_t i;

	for (i = 0; i < WSPSHIM_PROC_COUNT(v); i++)
		if (m[i] == NULL)
			return 0;
	return 1;
}

/* SOCKET_ERROR with *err set to the code of errnum, remembered as the
 * native errno (the shim shows the errno itself when it comes up). */
static int
fill_fail_errno(LPINT err, int errnum)
{
	*err = errmap_from_errno(errnum);
	return SOCKET_ERROR;
}

/*
 * The WSABUFs of an iovec array: stack when it fits, else *heap (freed
 * by the caller).  NULL with *err: EMSGSIZE past IOV_MAX, as the kernel,
 * or WSAENOBUFS.
 */
static WSABUF *
fill_bufs(const struct iovec *iov, size_t n, WSABUF *stack, WSABUF **heap,
    LPINT err)
{
	WSABUF *b = stack;
	size_t i;

	*heap = NULL;
	if (n > IOV_MAX) {
		fill_fail_errno(err, EMSGSIZE);
		return NULL;
	}
	if (n > FILL_STACK_BUFS &&
	    (b = *heap = calloc(n, sizeof(*b))) == NULL) {
		*err = WSAENOBUFS;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		b[i].buf = iov[i].iov_base;
		b[i].len = iov[i].iov_len > UINT32_MAX ? UINT32_MAX :
		    (ULONG)iov[i].iov_len;
	}
	return b;
}

/* lpWSPSendMsg on t: WSPSend or WSPSendTo; ancillary data cannot go
 * through Winsock's members, and is refused rather than dropped. */
static int
fill_sendmsg(const WSPPROC_TABLE *t, SOCKET s, const struct msghdr *msg,
    DWORD flags, LPDWORD sent, LPINT err)
{
	WSABUF stack[FILL_STACK_BUFS], *b, *heap;
	int rc;

	if (msg == NULL || sent == NULL) {
		*err = WSAEFAULT;
		return SOCKET_ERROR;
	}
	if (msg->msg_controllen != 0) {
		log_once("a provider without Linux members cannot send "
		    "ancillary data: sendmsg fails with EOPNOTSUPP");
		*err = WSAEOPNOTSUPP;
		return SOCKET_ERROR;
	}
	if ((b = fill_bufs(msg->msg_iov, msg->msg_iovlen, stack, &heap,
	    err)) == NULL)
		return SOCKET_ERROR;
	if (msg->msg_name == NULL)
		rc = t->lpWSPSend(s, b, (DWORD)msg->msg_iovlen, sent, flags,
		    NULL, NULL, NULL, err);
	else
		rc = t->lpWSPSendTo(s, b, (DWORD)msg->msg_iovlen, sent, flags,
		    msg->msg_name, (int)msg->msg_namelen, NULL, NULL, NULL,
		    err);
	free(heap);
	return rc;
}

/* lpWSPRecvMsg on t: WSPRecvFrom; no ancillary data comes back. */
static int
fill_recvmsg(const WSPPROC_TABLE *t, SOCKET s, struct msghdr *msg,
    LPDWORD flags, LPDWORD got, LPINT err)
{
	WSABUF stack[FILL_STACK_BUFS], *b, *heap;
	int rc, nlen;

	if (msg == NULL || flags == NULL || got == NULL) {
		*err = WSAEFAULT;
		return SOCKET_ERROR;
	}
	if ((b = fill_bufs(msg->msg_iov, msg->msg_iovlen, stack, &heap,
	    err)) == NULL)
		return SOCKET_ERROR;
	nlen = (int)msg->msg_namelen;
	rc = t->lpWSPRecvFrom(s, b, (DWORD)msg->msg_iovlen, got, flags,
	    msg->msg_name, msg->msg_name != NULL ? &nlen : NULL, NULL, NULL,
	    NULL, err);
	free(heap);
	if (rc != 0)
		return rc;
	msg->msg_namelen = msg->msg_name != NULL ? (socklen_t)nlen : 0;
	msg->msg_controllen = 0;
	msg->msg_flags = (int)*flags;
	return 0;
}

/*
 * lpWSPAccept4 on t: WSPAccept, then the flags through the chain
 * (FIONBIO) and on the kernel descriptor (FD_CLOEXEC, which no Winsock
 * member sets).  Not atomic, which only the Linux member can be.
 */
static SOCKET
fill_accept4(const WSPPROC_TABLE *t, SOCKET s, struct sockaddr *addr,
    LPINT addrlen, DWORD flags, LPINT err)
{
	u_long one = 1;
	SOCKET h;
	DWORD n;
	int fd, e2;

	if (flags & ~(DWORD)(WSA_FLAG_NO_HANDLE_INHERIT |
	    WSA_FLAG_WSPSHIM_NONBLOCK)) {
		*err = WSAEINVAL;
		return INVALID_SOCKET;
	}
	h = t->lpWSPAccept(s, addr, addrlen, NULL, 0, err);
	if (h == INVALID_SOCKET || flags == 0)
		return h;
	if ((flags & WSA_FLAG_WSPSHIM_NONBLOCK) && t->lpWSPIoctl(h, FIONBIO,
	    &one, sizeof(one), NULL, 0, &n, NULL, NULL, NULL, err) != 0)
		goto fail;
	if (flags & WSA_FLAG_NO_HANDLE_INHERIT) {
		if (t->lpWSPIoctl(h, SIO_BASE_HANDLE, NULL, 0, &fd,
		    sizeof(fd), &n, NULL, NULL, NULL, err) != 0)
			goto fail;
		if (libc.fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
			fill_fail_errno(err, errno);
			goto fail;
		}
	}
	return h;
fail:
	t->lpWSPCloseSocket(h, &e2);
	return INVALID_SOCKET;
}

/*
 * The fallback functions of slot n: each passes its slot's table to the
 * fallback above (or to the copying sendfile and splice of basefile.c).
 */
#define FILL_FNS(n)							\
static int WSPAPI							\
fb_sendmsg_##n(SOCKET s, const struct msghdr *m, DWORD f, LPDWORD c,	\
    LPINT e)								\
{									\
	return fill_sendmsg(&fill_slots[n].t, s, m, f, c, e);		\
}									\
static int WSPAPI							\
fb_recvmsg_##n(SOCKET s, struct msghdr *m, LPDWORD f, LPDWORD c,	\
    LPINT e)								\
{									\
	return fill_recvmsg(&fill_slots[n].t, s, m, f, c, e);		\
}									\
static SOCKET WSPAPI							\
fb_accept4_##n(SOCKET s, struct sockaddr *a, LPINT l, DWORD f, LPINT e)	\
{									\
	return fill_accept4(&fill_slots[n].t, s, a, l, f, e);		\
}									\
static int WSPAPI							\
fb_sendfile_##n(SOCKET s, int h, int64_t *o, size_t c, LPDWORD n_,	\
    LPINT e)								\
{									\
	return WSPShimSendFileBySend(&fill_slots[n].t, s, h, o, c, n_, e);\
}									\
static int WSPAPI							\
fb_splice_##n(SOCKET s, int fd, DWORD d, size_t c, DWORD f,		\
    LPDWORD n_, LPINT e)						\
{									\
	return WSPShimSpliceByCopy(&fill_slots[n].t, s, fd, d, c, f,	\
	    n_, e);							\
}

#define FILL_FNS8(h)							\
	FILL_FNS(h##0) FILL_FNS(h##1) FILL_FNS(h##2) FILL_FNS(h##3)	\
	FILL_FNS(h##4) FILL_FNS(h##5) FILL_FNS(h##6) FILL_FNS(h##7)

/* Slot numbers in octal, so that the names paste: 0, 01, ..., 077. */
FILL_FNS8(0) FILL_FNS8(01) FILL_FNS8(02) FILL_FNS8(03)
FILL_FNS8(04) FILL_FNS8(05) FILL_FNS8(06) FILL_FNS8(07)

/* The Linux members, in table order, of each slot's set. */
struct fill_set {
	LPWSPSENDMSG	sendmsg;
	LPWSPRECVMSG	recvmsg;
	LPWSPACCEPT4	accept4;
	LPWSPSENDFILE	sendfile;
	LPWSPSPLICE	splice;
};

#define FILL_SET(n)	[n] = { fb_sendmsg_##n, fb_recvmsg_##n,		\
	fb_accept4_##n, fb_sendfile_##n, fb_splice_##n },
#define FILL_SET8(h)							\
	FILL_SET(h##0) FILL_SET(h##1) FILL_SET(h##2) FILL_SET(h##3)	\
	FILL_SET(h##4) FILL_SET(h##5) FILL_SET(h##6) FILL_SET(h##7)

static const struct fill_set fill_sets[FILL_SLOTS] = {
	FILL_SET8(0) FILL_SET8(01) FILL_SET8(02) FILL_SET8(03)
	FILL_SET8(04) FILL_SET8(05) FILL_SET8(06) FILL_SET8(07)
};

_Static_assert(sizeof(struct fill_set) == sizeof(WSPPROC_TABLE) -
    offsetof(WSPPROC_TABLE, lpWSPSendMsg), "a set is the Linux members");

/* The slot holding a copy of t (version v), claimed if none does; -1
 * when every slot is taken. */
static int
fill_slot_for(const WSPPROC_TABLE *t, unsigned v)
{
	size_t n = WSPSHIM_PROC_COUNT(v) * sizeof(fill_fn);
	struct fill_slot *s;
	int i, want;

	for (i = 0; i < FILL_SLOTS; i++) {
		s = &fill_slots[i];
		if (atomic_load_explicit(&s->state, memory_order_acquire) ==
		    SLOT_READY && s->version == v && memcmp(&s->t, t, n) == 0)
			return i;
	}
	for (i = 0; i < FILL_SLOTS; i++) {
		s = &fill_slots[i];
		want = SLOT_FREE;
		if (!atomic_compare_exchange_strong_explicit(&s->state, &want,
		    SLOT_FILLING, memory_order_acq_rel, memory_order_relaxed))
			continue;
		memset(&s->t, 0, sizeof(s->t));
		memcpy(&s->t, t, n);
		s->version = v;
		atomic_store_explicit(&s->state, SLOT_READY,
		    memory_order_release);
		return i;
	}
	return -1;
}

int
procfill_complete(WSPPROC_TABLE *t, unsigned v)
{
	const fill_fn *set;
	fill_fn *m = (fill_fn *)(void *)t;
	size_t i;
	int slot;

	if (v >= WSPSHIM_LINUX_TABLE_VERSION)
		return 0;
	if ((slot = fill_slot_for(t, v)) < 0) {
		log_once("more than %d providers of older table versions: "
		    "the next cannot start", FILL_SLOTS);
		return WSAENOBUFS;
	}
	set = (const fill_fn *)(const void *)&fill_sets[slot];
	for (i = WSPSHIM_PROC_COUNT(v); i < WSPSHIM_PROC_COUNT(
	    WSPSHIM_LINUX_TABLE_VERSION); i++)
		m[i] = set[i - WSPSHIM_WINSOCK_PROC_COUNT];
	return 0;
}

WSPSHIM_EXPORT int WSPAPI
WSPShimCompleteProcTable(LPWSPPROC_TABLE lpProcTable,
    WORD wLinuxTableVersion, LPINT lpErrno)
{
	int err = 0;

	if (lpProcTable == NULL)
		err = WSAEFAULT;
	else if (wLinuxTableVersion > WSPSHIM_LINUX_TABLE_VERSION ||
	    !procfill_has_members(lpProcTable, wLinuxTableVersion))
		err = WSAEINVALIDPROCTABLE;
	else
		err = procfill_complete(lpProcTable, wLinuxTableVersion);
	if (err == 0)
		return 0;
	if (lpErrno != NULL)
		*lpErrno = err;
	return SOCKET_ERROR;
}
