/*
 * ovl.c - overlapped WSPSend, WSPSendTo, WSPRecv and WSPRecvFrom in the
 * base provider, on io_uring (see ovl.h and docs/overlapped.md).
 *
 * Order.  Each socket keeps one queue per direction, in posting order,
 * and at most one operation of each queue is in the kernel at a time: the
 * head.  io_uring completes several receives pending on one socket in no
 * promised order (newest first, measured), so order comes from here, not
 * from the kernel: a receive is in the kernel only when every receive
 * posted before it has completed, and a stream send that the kernel takes
 * in part is sent on from where it stopped before the next one starts, so
 * the bytes of two sends never interleave.
 *
 * Completion.  A request that can complete at once does (one non-blocking
 * call, when its queue is empty): the call returns 0, the event is set and
 * the routine queued, as Winsock does.  Otherwise it is queued, the call
 * fails with WSA_IO_PENDING, and one engine thread per process completes
 * it: it waits on the ring, applies each result, and submits the next
 * head.  Completing sets Internal (the status: 0 or a WSA code) last,
 * after InternalHigh (the byte count) and Offset (the flags, which
 * WSPGetOverlappedResult reports); then it sets the event, queues the
 * routine to the issuing thread (apc.c) and wakes WSPGetOverlappedResult
 * waiters.  The engine never touches a WSAOVERLAPPED after that.
 *
 * Start-up.  Nothing exists until a process's first overlapped request on
 * an overlapped socket: then the ring (through the real-function table, so
 * tests can refuse it) and the thread.  Where io_uring is refused
 * (kernel.io_uring_disabled, seccomp, an old kernel), the same engine
 * waits with poll(2) and makes the non-blocking calls itself; the choice
 * is logged once.
 *
 * Close.  The base marks a socket that had a request (base_ovl_mark), and
 * its close calls ovl_close(): requests not yet in the kernel complete
 * with WSA_OPERATION_ABORTED at once; those in the kernel are cancelled
 * and complete so, and ovl_close() waits (bounded) until the kernel holds
 * none, so the caller's buffers are free when closesocket returns.
 *
 * fork(): the child inherits no pending request, no ring and no thread;
 * its first request starts its own.  One lock (ovl_lock) guards every
 * queue and the submission side of the ring; requests are short work
 * under it.
 */
#include <errno.h>
#include <limits.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include "base.h"
#include "errmap.h"
#include "event.h"
#include "export.h"
#include "libc.h"
#include "log.h"
#include "ovl.h"
#include "spawn.h"

#define OVL_SEND		0
#define OVL_RECV		1
#define OVL_BUCKETS		256
#define OVL_RING_ENTRIES	256
#define OVL_TAG_POLL		((uint64_t)1)	/* user_data: a readiness
						 * poll for the op */
#define OVL_CLOSE_WAIT_MS	2000

enum { OVL_NONE, OVL_RING, OVL_POLL };

/* What applying a result to a request leaves to do. */
enum { OVL_DONE, OVL_AGAIN, OVL_MORE };

struct ovl_sock;

struct ovl_op {
	struct ovl_op		*next;
	struct ovl_sock		*os;
	int			dir;
	int			flags;		/* MSG_* for the kernel */
	int			inflight;	/* the ring holds it */
	uint64_t		armed;		/* ... as this user_data */
	LPWSAOVERLAPPED		ov;
	LPWSAOVERLAPPED_COMPLETION_ROUTINE fn;
	WSATHREADID		tid;
	LPINT			fromlen;	/* WSPRecvFrom: the caller's */
	size_t			done;		/* bytes moved so far */
	size_t			total;
	DWORD			oflags;
	struct msghdr		msg;		/* what the kernel gets */
	struct sockaddr_storage	to;		/* WSPSendTo: its copy */
	DWORD			niov;
	struct iovec		iov[];		/* the WSABUFs, as moved on */
};

struct ovl_sock {
	struct ovl_sock		*next;		/* in its hash bucket */
	SOCKET			s;
	int			fd;
	int			stream;
	int			closing;
	int			closer;		/* ovl_close() waits on it:
						 * it frees it, no one else */
	unsigned		inflight;	/* ops the ring holds */
	struct ovl_op		*head[2];
	struct ovl_op		**tail[2];
};

/* What a completion routine is called with, queued as an APC. */
struct ovl_done {
	LPWSAOVERLAPPED_COMPLETION_ROUTINE fn;
	LPWSAOVERLAPPED		ov;
	DWORD			err;
	DWORD			cb;
	DWORD			flags;
};

static pthread_mutex_t ovl_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ovl_cond = PTHREAD_COND_INITIALIZER;
static _Atomic int ovl_mode = OVL_NONE;
static struct io_uring ovl_ring;
static int ovl_unsubmitted;		/* SQEs made, not yet submitted */
static int ovl_wake = -1;		/* poll mode: wakes the engine */
static struct ovl_sock *ovl_socks[OVL_BUCKETS];

/* --- delivery ---------------------------------------------------------- */

/* The APC that runs a completion routine in the issuing thread. */
static void WSPAPI
ovl_routine_apc(DWORD_PTR ctx)
{
	struct ovl_done *d = (struct ovl_done *)ctx;

	d->fn(d->err, d->cb, d->ov, d->flags);
	free(d);
}

/*
 * Nothing: request ov is complete with status err, cb bytes and flags.
 * hEvent is read before Internal is stored: a caller that sees Internal
 * change may reuse ov at once.
 */
static void
ovl_deliver(LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE fn,
    LPWSATHREADID tid, DWORD err, DWORD cb, DWORD flags)
{
	WSAEVENT ev = ov->hEvent;
	struct ovl_done *d = NULL;
	int e2;

	if (fn != NULL && tid != NULL && (d = malloc(sizeof(*d))) != NULL)
		*d = (struct ovl_done){ .fn = fn, .ov = ov, .err = err,
		    .cb = cb, .flags = flags };
	ov->InternalHigh = cb;
	ov->Offset = flags;
	__atomic_store_n(&ov->Internal, (ULONG_PTR)err, __ATOMIC_RELEASE);
	if (ev != WSA_INVALID_EVENT)
		(void)event_set(ev, &e2);
	if (d != NULL && apc_queue(tid, ovl_routine_apc, (DWORD_PTR)d,
	    &e2) != 0) {
		/* The thread exited: its routines never run (as Windows). */
		free(d);
	}
}

void
ovl_complete_now(LPWSAOVERLAPPED lpOverlapped,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
    LPWSATHREADID lpThreadId, DWORD cb, DWORD flags)
{
	if (lpThreadId == NULL)
		lpThreadId = apc_self_id();
	if (lpOverlapped->hEvent != WSA_INVALID_EVENT) {
		int e2;

		(void)event_reset(lpOverlapped->hEvent, &e2);
	}
	ovl_deliver(lpOverlapped, lpCompletionRoutine, lpThreadId, 0, cb,
	    flags);
}

/* --- the per-socket queues (ovl_lock held) ----------------------------- */

static unsigned
ovl_bucket(SOCKET s)
{
	return (unsigned)((s >> 2) ^ (s >> 24)) % OVL_BUCKETS;
}

/* The queues of base socket s, or NULL. */
static struct ovl_sock *
ovl_find(SOCKET s)
{
	struct ovl_sock *os;

	for (os = ovl_socks[ovl_bucket(s)]; os != NULL; os = os->next)
		if (os->s == s)
			return os;
	return NULL;
}

/* The queues of s, made if need be (and s marked for ovl_close()), or
 * NULL when memory runs out. */
static struct ovl_sock *
ovl_sock_get(SOCKET s, int fd, int type)
{
	struct ovl_sock *os = ovl_find(s);
	unsigned b = ovl_bucket(s);

	if (os != NULL) {
		os->fd = fd;
		return os;
	}
	if ((os = calloc(1, sizeof(*os))) == NULL)
		return NULL;
	os->s = s;
	os->fd = fd;
	os->stream = type == SOCK_STREAM;
	os->tail[OVL_SEND] = &os->head[OVL_SEND];
	os->tail[OVL_RECV] = &os->head[OVL_RECV];
	os->next = ovl_socks[b];
	ovl_socks[b] = os;
	base_ovl_mark(s);
	return os;
}

/* Nothing: os leaves the hash table. */
static void
ovl_unlink(struct ovl_sock *os)
{
	struct ovl_sock **pp = &ovl_socks[ovl_bucket(os->s)];

	while (*pp != NULL && *pp != os)
		pp = &(*pp)->next;
	if (*pp == os)
		*pp = os->next;
}

/* Nothing: a closing socket with nothing left is freed. */
static void
ovl_sock_reap(struct ovl_sock *os)
{
	if (os->closing && !os->closer && os->inflight == 0 &&
	    os->head[OVL_SEND] == NULL && os->head[OVL_RECV] == NULL)
		free(os);
}

/* Nothing: op, the head of its queue, leaves it, completed with err. */
static void
ovl_finish(struct ovl_op *op, DWORD err)
{
	struct ovl_sock *os = op->os;

	os->head[op->dir] = op->next;
	if (op->next == NULL)
		os->tail[op->dir] = &os->head[op->dir];
	if (op->fromlen != NULL && err == 0)
		*op->fromlen = (INT)op->msg.msg_namelen;
	ovl_deliver(op->ov, op->fn, &op->tid, err, (DWORD)op->done,
	    op->oflags);
	free(op);
}

/* The non-blocking call for op: bytes moved, or -errno. */
static ssize_t
ovl_try(struct ovl_op *op)
{
	ssize_t n;

	if (op->dir == OVL_SEND)
		n = libc.sendmsg(op->os->fd, &op->msg, op->flags |
		    MSG_DONTWAIT);
	else
		n = libc.recvmsg(op->os->fd, &op->msg, op->flags |
		    MSG_DONTWAIT);
	return n < 0 ? -errno : n;
}

/* Nothing: the first n bytes of what op has left to send are sent. */
static void
ovl_advance(struct ovl_op *op, size_t n)
{
	struct iovec *v = op->msg.msg_iov;
	size_t left = op->msg.msg_iovlen;

	while (left > 0 && n >= v->iov_len) {
		n -= v->iov_len;
		v++;
		left--;
	}
	if (left > 0) {
		v->iov_base = (char *)v->iov_base + n;
		v->iov_len -= n;
	}
	op->msg.msg_iov = v;
	op->msg.msg_iovlen = left;
}

/* What result res (bytes, or -errno) of op's call leaves to do; OVL_DONE
 * once op is completed and freed. */
static int
ovl_step(struct ovl_op *op, ssize_t res)
{
	if (res == -EAGAIN || res == -EWOULDBLOCK)
		return OVL_AGAIN;
	if (res == -EINTR)
		return OVL_MORE;
	if (res < 0) {
		ovl_finish(op, res == -ECANCELED ? WSA_OPERATION_ABORTED :
		    (DWORD)errmap_to_wsa((int)-res));
		return OVL_DONE;
	}
	op->done += (size_t)res;
	if (op->dir == OVL_SEND && op->os->stream && op->done < op->total &&
	    res > 0) {
		ovl_advance(op, (size_t)res);
		return OVL_MORE;
	}
	if (op->dir == OVL_RECV)
		op->oflags = (DWORD)op->msg.msg_flags;
	ovl_finish(op, 0);
	return OVL_DONE;
}

/* An SQE, submitting what is queued if the ring is full; NULL only if
 * the ring refuses. */
static struct io_uring_sqe *
ovl_sqe(void)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ovl_ring);

	if (sqe == NULL) {
		(void)io_uring_submit(&ovl_ring);
		ovl_unsubmitted = 0;
		sqe = io_uring_get_sqe(&ovl_ring);
	}
	if (sqe != NULL)
		ovl_unsubmitted++;
	return sqe;
}

/* Nothing: op goes into the ring, as its call or (poll set) as a wait
 * for its socket to be ready; a full ring that refuses fails it. */
static void
ovl_arm(struct ovl_op *op, int poll)
{
	struct io_uring_sqe *sqe = ovl_sqe();
	int fd = op->os->fd;

	if (sqe == NULL) {
		ovl_finish(op, WSAENOBUFS);
		return;
	}
	if (poll)
		io_uring_prep_poll_add(sqe, fd, op->dir == OVL_SEND ?
		    POLLOUT : POLLIN);
	else if (op->dir == OVL_SEND)
		io_uring_prep_sendmsg(sqe, fd, &op->msg, (unsigned)op->flags);
	else
		io_uring_prep_recvmsg(sqe, fd, &op->msg, (unsigned)op->flags);
	op->armed = (uint64_t)(uintptr_t)op | (poll ? OVL_TAG_POLL : 0);
	io_uring_sqe_set_data64(sqe, op->armed);
	op->inflight = 1;
	op->os->inflight++;
}

/* Nothing: what the ring was given is submitted. */
static void
ovl_flush(void)
{
	if (ovl_unsubmitted > 0) {
		(void)io_uring_submit(&ovl_ring);
		ovl_unsubmitted = 0;
	}
}

/* Nothing: the queue's head is started, in the ring; in poll mode every
 * request that can complete now does. */
static void
ovl_kick(struct ovl_sock *os, int dir)
{
	struct ovl_op *op;

	while (!os->closing && (op = os->head[dir]) != NULL &&
	    !op->inflight) {
		if (atomic_load_explicit(&ovl_mode, memory_order_relaxed) ==
		    OVL_RING) {
			ovl_arm(op, 0);
			return;
		}
		if (ovl_step(op, ovl_try(op)) == OVL_AGAIN)
			return;
	}
}

/* Nothing: a completion from the ring is applied. */
static void
ovl_cqe(uint64_t ud, int res)
{
	struct ovl_op *op = (struct ovl_op *)(uintptr_t)(ud & ~OVL_TAG_POLL);
	struct ovl_sock *os;
	int dir, r;

	if (op == NULL)
		return;			/* a cancellation's own */
	os = op->os;
	dir = op->dir;
	op->inflight = 0;
	os->inflight--;
	if (ud & OVL_TAG_POLL)
		/* Ready (or failed: the call says how): call again. */
		r = res == -ECANCELED ? OVL_DONE : OVL_MORE;
	else
		r = ovl_step(op, res);
	if (ud & OVL_TAG_POLL && res == -ECANCELED)
		ovl_finish(op, WSA_OPERATION_ABORTED);
	else if (r != OVL_DONE && os->closing)
		ovl_finish(op, WSA_OPERATION_ABORTED);
	else if (r != OVL_DONE)
		/* Again: a non-blocking socket, so wait for it first. */
		ovl_arm(op, r == OVL_AGAIN);
	else
		ovl_kick(os, dir);
	ovl_sock_reap(os);
}

/* --- the engine -------------------------------------------------------- */

static void *
ovl_ring_main(void *unused)
{
	struct io_uring_cqe *cqe;
	unsigned head, n;
	int r;

	for (;;) {
		if ((r = io_uring_wait_cqe(&ovl_ring, &cqe)) < 0) {
			if (r != -EINTR)
				log_once("overlapped I/O: waiting on the ring "
				    "failed (%s)", strerror(-r));
			continue;
		}
		pthread_mutex_lock(&ovl_lock);
		n = 0;
		io_uring_for_each_cqe(&ovl_ring, head, cqe) {
			ovl_cqe(io_uring_cqe_get_data64(cqe), cqe->res);
			n++;
		}
		io_uring_cq_advance(&ovl_ring, n);
		ovl_flush();
		pthread_cond_broadcast(&ovl_cond);
		pthread_mutex_unlock(&ovl_lock);
	}
	return NULL;
}

/* Nothing: the engine of poll mode, which has no ring, looks again. */
static void
ovl_poke(void)
{
	uint64_t one = 1;
	int saved = errno;

	if (ovl_wake >= 0)
		(void)libc.write(ovl_wake, &one, sizeof(one));
	errno = saved;
}

/* The fallback engine: poll(2) on every socket with a request queued,
 * then the non-blocking calls of those that are ready. */
static void *
ovl_poll_main(void *unused)
{
	struct pollfd *p = NULL, *np;
	SOCKET *who = NULL, *nwho;
	size_t cap = 0, k, i, b;
	struct ovl_sock *os;
	uint64_t v;

	for (;;) {
		pthread_mutex_lock(&ovl_lock);
		k = 1;
		for (b = 0; b < OVL_BUCKETS; b++) {
			for (os = ovl_socks[b]; os != NULL; os = os->next) {
				short ev = (os->head[OVL_RECV] ? POLLIN : 0) |
				    (os->head[OVL_SEND] ? POLLOUT : 0);

				if (ev == 0)
					continue;
				if (k >= cap) {
					cap = cap ? cap * 2 : 64;
					np = realloc(p, cap * sizeof(*p));
					nwho = realloc(who, cap * sizeof(*who));
					if (np != NULL)
						p = np;
					if (nwho != NULL)
						who = nwho;
					if (np == NULL || nwho == NULL) {
						cap /= 2;
						break;
					}
				}
				p[k] = (struct pollfd){ .fd = os->fd,
				    .events = ev };
				who[k++] = os->s;
			}
		}
		pthread_mutex_unlock(&ovl_lock);
		if (p == NULL) {
			struct timespec ms = { 0, 1000000 };

			nanosleep(&ms, NULL);
			continue;
		}
		p[0] = (struct pollfd){ .fd = ovl_wake, .events = POLLIN };
		if (poll(p, (nfds_t)k, -1) < 0)
			continue;
		pthread_mutex_lock(&ovl_lock);
		if (p[0].revents & POLLIN)
			(void)libc.read(ovl_wake, &v, sizeof(v));
		for (i = 1; i < k; i++) {
			if (p[i].revents == 0 || (os = ovl_find(who[i])) ==
			    NULL)
				continue;
			if (p[i].revents & (POLLIN | POLLERR | POLLHUP))
				ovl_kick(os, OVL_RECV);
			if (p[i].revents & (POLLOUT | POLLERR | POLLHUP))
				ovl_kick(os, OVL_SEND);
		}
		pthread_cond_broadcast(&ovl_cond);
		pthread_mutex_unlock(&ovl_lock);
	}
	return NULL;
}

/* fork() handlers (ovl.h): the child starts with no engine and no
 * requests. */
void
ovl_atfork_prepare(void)
{
	pthread_mutex_lock(&ovl_lock);
}

void
ovl_atfork_parent(void)
{
	pthread_mutex_unlock(&ovl_lock);
}

void
ovl_atfork_child(void)
{
	struct ovl_sock *os, *next;
	struct ovl_op *op, *nop;
	size_t b;
	int d;

	for (b = 0; b < OVL_BUCKETS; b++) {
		for (os = ovl_socks[b]; os != NULL; os = next) {
			next = os->next;
			for (d = 0; d < 2; d++)
				for (op = os->head[d]; op != NULL; op = nop) {
					nop = op->next;
					free(op);
				}
			free(os);
		}
		ovl_socks[b] = NULL;
	}
	if (ovl_mode == OVL_RING)
		io_uring_queue_exit(&ovl_ring);	/* the parent keeps its own */
	if (ovl_wake >= 0)
		(void)libc.close(ovl_wake);
	ovl_wake = -1;
	ovl_unsubmitted = 0;
	atomic_store(&ovl_mode, OVL_NONE);
	pthread_mutex_init(&ovl_lock, NULL);
	pthread_cond_init(&ovl_cond, NULL);
}

/* The engine, started on first use (ovl_lock held): 0, or WSAENOBUFS. */
static int
ovl_start(void)
{
	struct io_uring_params prm;
	int r;

	if (atomic_load_explicit(&ovl_mode, memory_order_relaxed) != OVL_NONE)
		return 0;
	memset(&prm, 0, sizeof(prm));
	r = libc.io_uring_queue_init_params(OVL_RING_ENTRIES, &ovl_ring, &prm);
	if (r == 0) {
		if (spawn_engine(ovl_ring_main) != 0) {
			io_uring_queue_exit(&ovl_ring);
			return WSAENOBUFS;
		}
		atomic_store(&ovl_mode, OVL_RING);
		log_once("overlapped I/O: io_uring");
		return 0;
	}
	if ((ovl_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return WSAENOBUFS;
	if (spawn_engine(ovl_poll_main) != 0) {
		(void)libc.close(ovl_wake);
		ovl_wake = -1;
		return WSAENOBUFS;
	}
	atomic_store(&ovl_mode, OVL_POLL);
	log_once("overlapped I/O: io_uring unavailable (%s); using the poll "
	    "fallback", strerror(-r));
	return 0;
}

const char *
ovl_backend(void)
{
	switch (atomic_load(&ovl_mode)) {
	case OVL_RING:
		return "io_uring";
	case OVL_POLL:
		return "poll";
	default:
		return "none";
	}
}

/* --- requests ---------------------------------------------------------- */

/* A request for dir over the WSABUFs, or NULL with *err (WSAEFAULT,
 * WSAEINVAL, WSA_INVALID_HANDLE, WSAENOBUFS). */
static struct ovl_op *
ovl_op_new(int dir, LPWSABUF b, DWORD n, int flags, LPWSAOVERLAPPED ov,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE fn, LPWSATHREADID tid, int *err)
{
	struct ovl_op *op;
	DWORD i;

	if (b == NULL && n != 0) {
		*err = WSAEFAULT;
		return NULL;
	}
	if (n > IOV_MAX) {
		*err = WSAEINVAL;
		return NULL;
	}
	if (ov->hEvent != WSA_INVALID_EVENT && event_fd(ov->hEvent) < 0) {
		*err = WSA_INVALID_HANDLE;
		return NULL;
	}
	if (fn != NULL && tid == NULL && (tid = apc_self_id()) == NULL) {
		*err = WSAENOBUFS;
		return NULL;
	}
	if ((op = calloc(1, sizeof(*op) + n * sizeof(struct iovec))) == NULL) {
		*err = WSAENOBUFS;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		op->iov[i].iov_base = b[i].buf;
		op->iov[i].iov_len = b[i].len;
		op->total += b[i].len;
	}
	op->niov = n;
	op->msg.msg_iov = op->iov;
	op->msg.msg_iovlen = n;
	op->dir = dir;
	op->flags = flags;
	op->ov = ov;
	op->fn = fn;
	if (fn != NULL)
		op->tid = *tid;
	return op;
}

/*
 * Issue op on base socket s (descriptor fd): 0 when it completed at once
 * (*lpcb, if not NULL, has the bytes), else SOCKET_ERROR with
 * WSA_IO_PENDING or the error that ended it.
 */
static int
ovl_issue(struct ovl_op *op, SOCKET s, int fd, int type, LPDWORD lpcb,
    LPINT lpErrno)
{
	struct ovl_sock *os;
	LPWSAOVERLAPPED ov = op->ov;
	ssize_t res = -EAGAIN;
	int err, e2;

	ov->Internal = WSA_IO_PENDING;
	ov->InternalHigh = 0;
	ov->Offset = 0;
	if (ov->hEvent != WSA_INVALID_EVENT)
		(void)event_reset(ov->hEvent, &e2);
	pthread_mutex_lock(&ovl_lock);
	if ((err = ovl_start()) != 0 ||
	    (os = ovl_sock_get(s, fd, type)) == NULL) {
		err = err != 0 ? err : WSAENOBUFS;
		goto fail;
	}
	op->os = os;
	if (os->head[op->dir] == NULL) {
		/* Nothing before it: try at once. */
		while ((res = ovl_try(op)) == -EINTR)
			;
		if (res < 0 && res != -EAGAIN && res != -EWOULDBLOCK) {
			err = errmap_to_wsa((int)-res);
			goto fail;
		}
		if (res >= 0) {
			op->done = (size_t)res;
			if (op->dir == OVL_SEND && os->stream &&
			    op->done < op->total && res > 0)
				ovl_advance(op, (size_t)res);
			else
				goto now;
		}
	}
	*os->tail[op->dir] = op;
	os->tail[op->dir] = &op->next;
	if (os->head[op->dir] == op) {
		if (atomic_load(&ovl_mode) == OVL_RING) {
			/* The ring waits for readiness itself, unless the
			 * socket is non-blocking (see ovl_cqe()). */
			ovl_arm(op, 0);
			ovl_flush();
		} else {
			ovl_poke();
		}
	}
	pthread_mutex_unlock(&ovl_lock);
	*lpErrno = WSA_IO_PENDING;
	return SOCKET_ERROR;
now:
	/* Complete at once: as the engine would, in posting order. */
	if (op->dir == OVL_RECV)
		op->oflags = (DWORD)op->msg.msg_flags;
	if (lpcb != NULL)
		*lpcb = (DWORD)op->done;
	*os->tail[op->dir] = op;
	os->tail[op->dir] = &op->next;
	ovl_finish(op, 0);
	pthread_mutex_unlock(&ovl_lock);
	return 0;
fail:
	pthread_mutex_unlock(&ovl_lock);
	free(op);
	__atomic_store_n(&ov->Internal, (ULONG_PTR)err, __ATOMIC_RELEASE);
	*lpErrno = err;
	return SOCKET_ERROR;
}

int
ovl_send(SOCKET s, int fd, int type, LPWSABUF lpBuffers,
    DWORD dwBufferCount, LPDWORD lpNumberOfBytesSent, DWORD dwFlags,
    const struct sockaddr *lpTo, int iTolen, LPWSAOVERLAPPED lpOverlapped,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
    LPWSATHREADID lpThreadId, LPINT lpErrno)
{
	struct ovl_op *op;
	int err;

	if (lpTo != NULL && (iTolen < 0 ||
	    (size_t)iTolen > sizeof(struct sockaddr_storage)))
		return (*lpErrno = WSAEFAULT, SOCKET_ERROR);
	op = ovl_op_new(OVL_SEND, lpBuffers, dwBufferCount, (int)dwFlags,
	    lpOverlapped, lpCompletionRoutine, lpThreadId, &err);
	if (op == NULL)
		return (*lpErrno = err, SOCKET_ERROR);
	if (lpTo != NULL) {
		memcpy(&op->to, lpTo, (size_t)iTolen);
		op->msg.msg_name = &op->to;
		op->msg.msg_namelen = (socklen_t)iTolen;
	}
	return ovl_issue(op, s, fd, type, lpNumberOfBytesSent, lpErrno);
}

int
ovl_recv(SOCKET s, int fd, int type, LPWSABUF lpBuffers,
    DWORD dwBufferCount, LPDWORD lpNumberOfBytesRecvd, LPDWORD lpFlags,
    struct sockaddr *lpFrom, LPINT lpFromlen, LPWSAOVERLAPPED lpOverlapped,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
    LPWSATHREADID lpThreadId, LPINT lpErrno)
{
	struct ovl_op *op;
	int err, rc;

	if (lpFlags == NULL || (lpFrom != NULL && (lpFromlen == NULL ||
	    *lpFromlen < 0)))
		return (*lpErrno = WSAEFAULT, SOCKET_ERROR);
	op = ovl_op_new(OVL_RECV, lpBuffers, dwBufferCount, (int)*lpFlags,
	    lpOverlapped, lpCompletionRoutine, lpThreadId, &err);
	if (op == NULL)
		return (*lpErrno = err, SOCKET_ERROR);
	if (lpFrom != NULL) {
		/* Written by the kernel at completion: Winsock's rule that
		 * lpFrom and lpFromlen live until then. */
		op->msg.msg_name = lpFrom;
		op->msg.msg_namelen = (socklen_t)*lpFromlen;
		op->fromlen = lpFromlen;
	}
	rc = ovl_issue(op, s, fd, type, lpNumberOfBytesRecvd, lpErrno);
	if (rc == 0)
		*lpFlags = (DWORD)lpOverlapped->Offset;
	return rc;
}

void
ovl_close(SOCKET s)
{
	struct ovl_sock *os;
	struct ovl_op *op, *next, **pp;
	struct io_uring_sqe *sqe;
	struct timespec end;
	int d;

	if (atomic_load_explicit(&ovl_mode, memory_order_acquire) == OVL_NONE)
		return;
	pthread_mutex_lock(&ovl_lock);
	if ((os = ovl_find(s)) == NULL) {
		pthread_mutex_unlock(&ovl_lock);
		return;
	}
	ovl_unlink(os);
	os->closing = 1;
	/* From now on the socket is this call's to free: a completion that
	 * ovl_flush() below reaps must not free it (ovl_sock_reap's test). */
	os->closer = 1;
	for (d = 0; d < 2; d++) {
		/* What the kernel holds is cancelled (and stays queued until
		 * its completion comes); the rest is aborted now. */
		pp = &os->head[d];
		for (op = os->head[d]; op != NULL; op = next) {
			next = op->next;
			if (op->inflight) {
				if ((sqe = ovl_sqe()) != NULL) {
					io_uring_prep_cancel64(sqe, op->armed,
					    0);
					io_uring_sqe_set_data64(sqe, 0);
				}
				pp = &op->next;
				continue;
			}
			*pp = next;
			if (os->tail[d] == &op->next)
				os->tail[d] = pp;
			ovl_deliver(op->ov, op->fn, &op->tid,
			    WSA_OPERATION_ABORTED, (DWORD)op->done, 0);
			free(op);
		}
	}
	if (atomic_load(&ovl_mode) == OVL_RING)
		ovl_flush();
	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_sec += OVL_CLOSE_WAIT_MS / 1000;
	while (os->inflight > 0)
		if (pthread_cond_timedwait(&ovl_cond, &ovl_lock, &end) != 0) {
			log_once("overlapped I/O: a cancelled request is "
			    "still in the kernel after closesocket");
			break;
		}
	os->closer = 0;
	ovl_sock_reap(os);
	pthread_mutex_unlock(&ovl_lock);
}

BOOL WSPAPI
ovl_get_result(SOCKET s, LPWSAOVERLAPPED lpOverlapped, LPDWORD lpcbTransfer,
    BOOL fWait, LPDWORD lpdwFlags, LPINT lpErrno)
{
	ULONG_PTR st;

	if (lpOverlapped == NULL || lpcbTransfer == NULL ||
	    lpdwFlags == NULL) {
		*lpErrno = WSAEFAULT;
		return FALSE;
	}
	st = __atomic_load_n(&lpOverlapped->Internal, __ATOMIC_ACQUIRE);
	if (st == WSA_IO_PENDING) {
		if (!fWait) {
			*lpErrno = WSA_IO_INCOMPLETE;
			return FALSE;
		}
		if (lpOverlapped->hEvent != WSA_INVALID_EVENT &&
		    event_fd(lpOverlapped->hEvent) < 0) {
			*lpErrno = WSA_INVALID_HANDLE;
			return FALSE;
		}
		pthread_mutex_lock(&ovl_lock);
		while ((st = __atomic_load_n(&lpOverlapped->Internal,
		    __ATOMIC_ACQUIRE)) == WSA_IO_PENDING)
			pthread_cond_wait(&ovl_cond, &ovl_lock);
		pthread_mutex_unlock(&ovl_lock);
	}
	*lpcbTransfer = (DWORD)lpOverlapped->InternalHigh;
	*lpdwFlags = lpOverlapped->Offset;
	if (st != 0) {
		*lpErrno = (int)st;
		return FALSE;
	}
	return TRUE;
}

/* Nothing: waiters in ovl_get_result() look again (a layer completed a
 * request itself). */
void
ovl_wake_waiters(void)
{
	pthread_mutex_lock(&ovl_lock);
	pthread_cond_broadcast(&ovl_cond);
	pthread_mutex_unlock(&ovl_lock);
}

/*
 * WPUCompleteOverlappedRequest (ws2spi.h): a layer completes its client's
 * request ov itself, as a Windows LSP does: status and count are stored
 * (Internal last), the event is set and WSPGetOverlappedResult waiters
 * wake.  A completion routine is the layer's to queue (WPUQueueApc), as
 * on Windows.  0, or SOCKET_ERROR with WSAEFAULT (ov NULL) or
 * WSA_INVALID_HANDLE (hEvent is not an event; the request is completed
 * all the same).
 */
WSPSHIM_EXPORT int WSPAPI
WPUCompleteOverlappedRequest(SOCKET s, LPWSAOVERLAPPED lpOverlapped,
    DWORD dwError, DWORD cbTransferred, LPINT lpErrno)
{
	WSAEVENT ev;
	int bad;

	if (lpOverlapped == NULL) {
		*lpErrno = WSAEFAULT;
		return SOCKET_ERROR;
	}
	ev = lpOverlapped->hEvent;
	bad = ev != WSA_INVALID_EVENT && event_fd(ev) < 0;
	ovl_deliver(lpOverlapped, NULL, NULL, dwError, cbTransferred,
	    lpOverlapped->Offset);
	ovl_wake_waiters();
	if (bad) {
		*lpErrno = WSA_INVALID_HANDLE;
		return SOCKET_ERROR;
	}
	return 0;
}
