/*
 * trace.c - an strace-compatible trace of every socket call that passes
 * through the layer (docs/layers/trace.md):
 *
 *	socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP) = 3
 *	connect(3, {sa_family=AF_INET, sin_port=htons(80), ...}, 16) = 0
 *	sendto(3, "GET / HTTP/1.1\r\n", 16, 0, NULL, 0) = 16
 *	recvfrom(3, 0x7ffd..., 4096, 0, NULL, NULL) = -1 EAGAIN (...)
 *
 * The name is what strace shows for the entry point the program called
 * (WSPShimCallName): send() is sendto(..., NULL, 0), recv() recvfrom(...,
 * NULL, NULL), as glibc makes them on x86_64.  The descriptor is the
 * socket's kernel descriptor, asked of the provider below with
 * SIO_BASE_HANDLE.  Arguments are decoded by tdecode.c.
 *
 * The layer is non-IFS, as layers/null (which this follows): a handle of
 * its own per socket, the handle below in its context, one instance per
 * chain.  Around each call it decides first whether the call is traced at
 * all (the e= and fd= filters: a string compare or two, no syscall); a
 * traced call is formatted on the stack and written with one write(2) to
 * a descriptor of the layer's own, high up and protected from the program
 * (WSPShimProtectDescriptor).  What a provider calls passes straight to
 * libc, so those writes are never traced themselves.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <wspshim/ws2spi.h>

#include "once.h"
#include "outfile.h"
#include "ovlwatch.h"
#include "tdecode.h"

#define EXPORT		__attribute__((visibility("default")))

#define TRACE_FD_MIN	1000	/* the output descriptor goes above this */
#define TRACE_LINE	2048	/* stack line; longer lines are redone */
#define TRACE_COL	39	/* strace pads lines to here, then " = " */
#define TRACE_FDS	16	/* fd= values */

/* What strace calls the entry points (the e= names). */
enum tid {
	T_SOCKET, T_SOCKETPAIR, T_BIND, T_CONNECT, T_LISTEN, T_ACCEPT,
	T_ACCEPT4, T_GETSOCKNAME, T_GETPEERNAME, T_GETSOCKOPT, T_SETSOCKOPT,
	T_SHUTDOWN, T_SENDTO, T_RECVFROM, T_SENDMSG, T_RECVMSG, T_SENDMMSG,
	T_RECVMMSG, T_READ, T_WRITE, T_READV, T_WRITEV, T_CLOSE,
	T_CLOSE_RANGE, T_IOCTL, T_FCNTL, T_SENDFILE, T_SPLICE, T_OTHER,
	T_NIDS
};

static const char *const tid_names[T_NIDS] = {
	"socket", "socketpair", "bind", "connect", "listen", "accept",
	"accept4", "getsockname", "getpeername", "getsockopt", "setsockopt",
	"shutdown", "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg",
	"recvmmsg", "read", "write", "readv", "writev", "close",
	"close_range", "ioctl", "fcntl", "sendfile", "splice", "other",
};

/* The calls of strace's %network class (sendfile is one: strace marks
 * it TN). */
#define T_NETWORK	(((1u << (T_RECVMMSG + 1)) - 1) | 1u << T_SENDFILE)

/* The configuration, set once by the first WSPStartup. */
static struct {
	int		out;		/* the descriptor written to */
	int		pids;		/* 0, 1 other tasks, 2 every line */
	int		stamp;		/* 0, 't' t, 'u' tt, 'e' ttt, 'r' */
	int		elapsed;	/* T: <seconds> after the result */
	size_t		strsize;	/* s=N */
	uint32_t	calls;		/* e=: bit per enum tid */
	int		nfds;		/* fd=: how many, 0 for any */
	int		fds[TRACE_FDS];
	pid_t		root;		/* the pid at start-up */
	int		verbose;	/* v: warn of calls that bypass */
	long		gmtoff;		/* the local time zone's offset */
} cf = {
	.out = STDERR_FILENO,
	.strsize = 32,
	.calls = ~0u,
};

static char cf_pattern[PATH_MAX];	/* out= with %p: reopened after fork */
/* configure() runs once (once.h: a child forked while another thread
 * configures runs it again itself, where a pthread_once would hang under
 * ThreadSanitizer and a lock taken in a fork handler can be missed). */
static struct wsp_once cf_once = WSP_ONCE_INIT;
static int cf_failed;
static int cf_checking;		/* WSPShimCheckParams: open nothing */
static char cf_why[192];	/* a message naming the bad word */
static DWORD cf_self;		/* the layered entry, for configure():
				 * claimed once, read atomically */
static _Atomic uint64_t last_ns;	/* for r: the previous call's start */
/* Set before fork() by the forking thread, read in its child (which is a
 * copy of that thread): per thread, as threads may fork at once. */
static __thread pid_t fork_parent;
static __thread uint64_t fork_ns;
static _Atomic int warned_bypass;	/* v: said once */

struct tinst {
	struct tinst	*link;
	DWORD		chain;		/* the chain entry's catalog id */
	DWORD		self;		/* this layer's layered entry id */
	_Atomic int	starts;		/* WSPStartup calls not cleaned up */
	_Atomic int	live;		/* open sockets */
	WSPPROC_TABLE	next;		/* the provider below */
	WSAPROTOCOL_INFOW info;		/* the chain's struct */
};

struct tsock {
	SOCKET		lower;		/* the handle below */
	struct tinst	*in;
	_Atomic int	fd;		/* kernel descriptor (from birth): calls
					 * on the socket in several threads
					 * refresh it at once (tsock_fd) */
};

static const WCHAR description[] = {
	'w', 's', 'p', 's', 'h', 'i', 'm', ' ', 't', 'r', 'a', 'c', 'e', 0
};

static _Atomic(struct tinst *) instances;
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

/* socketpair(): the first end, until its twin comes (per thread; a slot
 * is taken by a compare-and-swap of its thread id, no lock). */
#define PAIR_SLOTS	8
static struct {
	_Atomic pid_t	tid;
	int		fd;
} pairs[PAIR_SLOTS];

/* What trace attaches to a duplicated socket's token (its source). */
struct share_from {
	int32_t		pid;
	int32_t		fd;
};

/* The id trace attaches it under (WSPShimShareAttach). */
static const GUID trace_share_id = { 0x7d3c1e52, 0x4a1b, 0x4f0e,
	{ 0x9b, 0x61, 0x2c, 0x85, 0x14, 0xd7, 0x3e, 0xa9 } };

/* --- one call ------------------------------------------------------------ */

/* What the kinds of line need; set by the operation, read by tc_format. */
enum tkind {
	K_SOCKET, K_SOCKETPAIR, K_ADDR, K_LISTEN, K_ACCEPT, K_NAME,
	K_GETSOCKOPT, K_SETSOCKOPT, K_SHUTDOWN, K_SEND, K_RECV, K_SENDMSG,
	K_RECVMSG, K_CLOSE, K_IOCTL, K_SENDFILE, K_SPLICE, K_EVSELECT,
	K_EVENUM, K_DUPSOCK
};

struct tcall {
	enum tid	id;
	enum tkind	kind;
	const char	*name;		/* the program's entry point */
	int		fd;
	int		failed;
	int		err;		/* errno shown, when failed */
	int64_t		ret;
	uint64_t	t0;		/* CLOCK_REALTIME at the start */
	uint64_t	m0, m1;		/* CLOCK_MONOTONIC around the call */
	int		saved_errno;
	/* Arguments. */
	const WSABUF	*bufs;
	DWORD		nbuf;
	unsigned	flags;
	const struct sockaddr *addr;
	int		addrlen;	/* given */
	int		addrlen_out;	/* returned */
	int		lenptr_null;
	const struct msghdr *msg;
	int		level, optname;
	const void	*optval;
	int		optlen, optlen_out;
	int		a[3];		/* socket: af, type, protocol; ... */
	unsigned	code;		/* ioctl */
	const void	*arg;		/* ioctl argument */
	int		fd2;		/* accept: the new fd; socketpair;
					 * sendfile, splice: the other fd */
	uint64_t	count;		/* sendfile, splice: bytes asked */
	int64_t		off0;		/* sendfile: *offset before */
	int		off_ok;		/* ... which could be read */
	int		completion;	/* an overlapped request's end */
	DWORD		token;		/* a shared socket's (WSPSocket,
					 * WSPDuplicateSocket) */
	struct share_from from;		/* WSPSocket of a token: its source,
					 * pid 0 when unknown */
};

/* The enum tid of the program's entry point name (dflt when NULL or not
 * one of ours). */
static enum tid
tid_of(const char *n, enum tid dflt)
{
	if (n == NULL)
		return dflt;
	switch (n[0]) {
	case 'a':
		if (strcmp(n, "accept") == 0)
			return T_ACCEPT;
		if (strcmp(n, "accept4") == 0)
			return T_ACCEPT4;
		break;
	case 'b':
		if (strcmp(n, "bind") == 0)
			return T_BIND;
		break;
	case 'c':
		if (strcmp(n, "connect") == 0)
			return T_CONNECT;
		if (strcmp(n, "close") == 0 || strcmp(n, "closesocket") == 0)
			return T_CLOSE;
		if (strcmp(n, "close_range") == 0 ||
		    strcmp(n, "closefrom") == 0)
			return T_CLOSE_RANGE;
		break;
	case 'f':
		if (strcmp(n, "fcntl") == 0)
			return T_FCNTL;
		break;
	case 'g':
		if (strcmp(n, "getsockopt") == 0)
			return T_GETSOCKOPT;
		if (strcmp(n, "getsockname") == 0)
			return T_GETSOCKNAME;
		if (strcmp(n, "getpeername") == 0)
			return T_GETPEERNAME;
		break;
	case 'i':
		if (strcmp(n, "ioctl") == 0)
			return T_IOCTL;
		break;
	case 'l':
		if (strcmp(n, "listen") == 0)
			return T_LISTEN;
		break;
	case 'r':
		if (strcmp(n, "recv") == 0 || strcmp(n, "recvfrom") == 0)
			return T_RECVFROM;
		if (strcmp(n, "read") == 0)
			return T_READ;
		if (strcmp(n, "readv") == 0)
			return T_READV;
		if (strcmp(n, "recvmsg") == 0)
			return T_RECVMSG;
		if (strcmp(n, "recvmmsg") == 0)
			return T_RECVMMSG;
		break;
	case 's':
		if (strcmp(n, "send") == 0 || strcmp(n, "sendto") == 0)
			return T_SENDTO;
		if (strcmp(n, "sendmsg") == 0)
			return T_SENDMSG;
		if (strcmp(n, "sendmmsg") == 0)
			return T_SENDMMSG;
		if (strcmp(n, "socket") == 0)
			return T_SOCKET;
		if (strcmp(n, "socketpair") == 0)
			return T_SOCKETPAIR;
		if (strcmp(n, "setsockopt") == 0)
			return T_SETSOCKOPT;
		if (strcmp(n, "shutdown") == 0)
			return T_SHUTDOWN;
		if (strncmp(n, "sendfile", 8) == 0)
			return T_SENDFILE;
		if (strcmp(n, "splice") == 0)
			return T_SPLICE;
		break;
	case 'w':
		if (strcmp(n, "write") == 0)
			return T_WRITE;
		if (strcmp(n, "writev") == 0)
			return T_WRITEV;
		break;
	case 'W':
		if (strncmp(n, "WSASocket", 9) == 0)
			return T_SOCKET;
		break;
	}
	return T_OTHER;
}

/*
 * tid_of with a cache: the shim's call names are static strings, so the
 * answer for a pointer never changes.  Slot = pointer << 8 | id, one
 * atomic word (a reader never sees one thread's pointer with another's
 * id); a miss compares the strings and fills the slot.
 */
#define NAME_SLOTS	64
static _Atomic uint64_t name_cache[NAME_SLOTS];

/* The enum tid of name n (dflt when NULL). */
static inline enum tid
tid_cached(const char *n, enum tid dflt)
{
	uint64_t key = (uint64_t)(uintptr_t)n, v;
	_Atomic uint64_t *slot;
	enum tid id;

	if (n == NULL)
		return dflt;
	slot = &name_cache[(key >> 3) % NAME_SLOTS];
	v = atomic_load_explicit(slot, memory_order_relaxed);
	if (v >> 8 == key)
		return (enum tid)(v & 0xff);
	id = tid_of(n, dflt);
	if (key >> 56 == 0)
		atomic_store_explicit(slot, key << 8 | (uint64_t)id,
		    memory_order_relaxed);
	return id;
}

/* CLOCK_x in nanoseconds. */
static uint64_t
now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The socket's kernel descriptor now (the base's, which a duplicate
 * closed under it may have moved), or the one learned at birth. */
static int
tsock_fd(struct tsock *ts)
{
	DWORD n;
	int fd = -1, err;

	if (ts->in->next.lpWSPIoctl(ts->lower, SIO_BASE_HANDLE, NULL, 0, &fd,
	    sizeof(fd), &n, NULL, NULL, NULL, &err) == 0 && fd >= 0)
		atomic_store_explicit(&ts->fd, fd, memory_order_relaxed);
	return atomic_load_explicit(&ts->fd, memory_order_relaxed);
}

/* Whether fd passes the fd= filter. */
static int
fd_wanted(int fd)
{
	int i;

	if (cf.nfds == 0)
		return 1;
	for (i = 0; i < cf.nfds; i++)
		if (cf.fds[i] == fd)
			return 1;
	return 0;
}

/* The rest of tc_begin, for a call the e= filter lets through: the fd=
 * filter, then the clocks and errno.  Out of line, so that the filtered
 * path stays a few instructions. */
static __attribute__((noinline)) int
tc_start(struct tcall *c, struct tsock *ts, enum tkind kind)
{
	c->fd = -1;
	if (ts != NULL && !fd_wanted(c->fd = tsock_fd(ts)))
		return 0;
	c->kind = kind;
	c->failed = 0;
	c->ret = 0;
	c->lenptr_null = 0;
	c->completion = 0;
	c->token = 0;
	if (cf.stamp != 0 && cf.stamp != 'r')
		c->t0 = now_ns(CLOCK_REALTIME);
	if (cf.stamp == 'r' || cf.elapsed)
		c->m0 = now_ns(CLOCK_MONOTONIC);
	c->saved_errno = errno;
	errno = 0;
	return 1;
}

/* Start call c on socket ts (NULL: no socket yet) if the filters let it
 * through: 1, with the clocks read and errno cleared for the native one;
 * else 0 (the caller just calls down). */
static inline int
tc_begin(struct tcall *c, struct tsock *ts, enum tid dflt, enum tkind kind)
{
	c->name = WSPShimCallName();
	c->id = tid_cached(c->name, dflt);
	if (cf_failed || (cf.calls & (1u << c->id)) == 0)
		return 0;
	return tc_start(c, ts, kind);
}

/* The call came back: rc 0 (or a count in ret) or failed with WSA code
 * err; errno is given back as it was. */
static void
tc_done(struct tcall *c, int failed, int err)
{
	int native = errno;

	if (cf.elapsed)
		c->m1 = now_ns(CLOCK_MONOTONIC);
	c->failed = failed;
	if (failed)
		c->err = td_errno_for(err, native);
	errno = c->saved_errno;
}

/* The data of a send or receive in nb buffers: a string for one buffer,
 * an iovec array for more; at most avail bytes of it. */
static void
tc_bufs(struct tline *l, const struct tmem *m, const WSABUF *b, DWORD nb,
    size_t avail, int vec)
{
	DWORD i;

	if (!vec && nb == 1) {
		td_str(l, m, b[0].buf, b[0].len < avail ? b[0].len : avail,
		    0);
		return;
	}
	tl_putc(l, '[');
	for (i = 0; i < nb; i++) {
		if (i > 0)
			tl_puts(l, ", ");
		if (i >= m->strsize) {
			tl_puts(l, "...");
			break;
		}
		td_iov_elem(l, m, b[i].buf, b[i].len, &avail);
	}
	tl_putc(l, ']');
}

/* The total length of nb buffers. */
static size_t
bufs_len(const WSABUF *b, DWORD nb)
{
	size_t n = 0;
	DWORD i;

	for (i = 0; i < nb; i++)
		n += b[i].len;
	return n;
}

/* sendmsg's header made up from buffers and an address (a chain whose
 * provider above has no Linux members sends messages that way). */
static void
tc_fake_msghdr(struct tline *l, const struct tmem *m, const struct tcall *c,
    size_t avail)
{
	tl_puts(l, "{msg_name=");
	td_sockaddr(l, m, c->addr, c->addrlen);
	tl_printf(l, ", msg_namelen=%d, msg_iov=", c->addr != NULL ?
	    c->addrlen : 0);
	tc_bufs(l, m, c->bufs, c->nbuf, avail, 1);
	tl_printf(l, ", msg_iovlen=%u, msg_controllen=0, msg_flags=0}",
	    (unsigned)c->nbuf);
}

/* The arguments of a send, by the name the program called it. */
static void
tc_send(struct tline *l, const struct tmem *m, const struct tcall *c)
{
	size_t len = c->bufs != NULL ? bufs_len(c->bufs, c->nbuf) : 0;

	switch (c->id) {
	case T_WRITE:
		tc_bufs(l, m, c->bufs, c->nbuf, SIZE_MAX, 0);
		tl_printf(l, ", %zu", len);
		return;
	case T_WRITEV:
		tc_bufs(l, m, c->bufs, c->nbuf, SIZE_MAX, 1);
		tl_printf(l, ", %u", (unsigned)c->nbuf);
		return;
	case T_SENDMSG:
	case T_SENDMMSG:
		if (c->id == T_SENDMMSG)
			tl_puts(l, "[{msg_hdr=");
		if (c->kind == K_SENDMSG)
			td_msghdr(l, m, c->msg, 0, SIZE_MAX, 0);
		else
			tc_fake_msghdr(l, m, c, SIZE_MAX);
		if (c->id == T_SENDMMSG) {
			if (!c->failed)
				tl_printf(l, ", msg_len=%lld",
				    (long long)c->ret);
			tl_puts(l, "}], 1");
		}
		tl_puts(l, ", ");
		td_msgflags(l, c->flags);
		return;
	case T_SENDTO:
		tc_bufs(l, m, c->bufs, c->nbuf, SIZE_MAX, 0);
		tl_printf(l, ", %zu, ", len);
		td_msgflags(l, c->flags);
		tl_puts(l, ", ");
		td_sockaddr(l, m, c->addr, c->addrlen);
		tl_printf(l, ", %d", c->addr != NULL ? c->addrlen : 0);
		return;
	default:
		if (c->kind == K_SENDMSG) {
			td_msghdr(l, m, c->msg, 0, SIZE_MAX, 0);
			tl_puts(l, ", ");
			td_msgflags(l, c->flags);
			return;
		}
		tc_bufs(l, m, c->bufs, c->nbuf, SIZE_MAX, 0);
		tl_printf(l, ", %zu", len);
		return;
	}
}

/* The arguments of a receive: data only when it succeeded. */
static void
tc_recv(struct tline *l, const struct tmem *m, const struct tcall *c)
{
	size_t got = c->failed ? 0 : (size_t)c->ret;
	size_t len = c->bufs != NULL ? bufs_len(c->bufs, c->nbuf) : 0;
	struct msghdr h;

	switch (c->id) {
	case T_READV:
		if (c->failed)
			td_ptr(l, c->bufs);
		else
			tc_bufs(l, m, c->bufs, c->nbuf, got, 1);
		tl_printf(l, ", %u", (unsigned)c->nbuf);
		return;
	case T_RECVMSG:
	case T_RECVMMSG:
		if (c->kind != K_RECVMSG) {
			/* Made up, as for sendmsg. */
			if (c->failed)
				tl_printf(l, "{msg_namelen=%d}", c->addrlen);
			else
				tc_fake_msghdr(l, m, c, got);
		} else if (c->id == T_RECVMMSG && c->failed) {
			td_ptr(l, c->msg);
		} else if (c->failed) {
			if (tpeek(m, &h, c->msg, sizeof(h)) == 0)
				tl_printf(l, "{msg_namelen=%u}",
				    (unsigned)h.msg_namelen);
			else
				td_ptr(l, c->msg);
		} else {
			if (c->id == T_RECVMMSG)
				tl_puts(l, "[{msg_hdr=");
			td_msghdr(l, m, c->msg, 1, got, c->addrlen);
			if (c->id == T_RECVMMSG)
				tl_printf(l, ", msg_len=%zu}]", got);
		}
		if (c->id == T_RECVMMSG)
			tl_puts(l, ", 1");
		tl_puts(l, ", ");
		td_msgflags(l, c->flags);
		if (c->id == T_RECVMMSG)
			tl_puts(l, ", NULL");
		return;
	default:
		break;
	}
	if (c->failed)
		td_ptr(l, c->bufs != NULL && c->nbuf > 0 ? c->bufs[0].buf :
		    NULL);
	else
		tc_bufs(l, m, c->bufs, c->nbuf, got, 0);
	tl_printf(l, ", %zu", len);
	if (c->id == T_READ)
		return;
	tl_puts(l, ", ");
	td_msgflags(l, c->flags);
	if (c->id != T_RECVFROM)
		return;
	tl_puts(l, ", ");
	if (c->addr == NULL || c->lenptr_null)
		tl_puts(l, "NULL, NULL");
	else
		td_sockaddr_out(l, m, c->addr, c->addrlen, c->addrlen_out,
		    c->failed, 0);
}

/* An ioctl the program made (ioctl or fcntl(F_SETFL)). */
static void
tc_ioctl(struct tline *l, const struct tmem *m, const struct tcall *c)
{
	int v;

	if (c->id == T_FCNTL) {
		tl_puts(l, "F_SETFL, ");
		td_fileflags(l, c->a[0]);
		return;
	}
	switch (c->code) {
	case FIONBIO:
		tl_puts(l, "FIONBIO, ");
		break;
	case FIONREAD:
		tl_puts(l, "FIONREAD, ");
		break;
	case SIOCATMARK:
		tl_puts(l, "SIOCATMARK, ");
		break;
	default:
		tl_printf(l, "%#x, ", c->code);
		td_ptr(l, c->arg);
		return;
	}
	if ((c->failed && c->code != FIONBIO) ||
	    tpeek(m, &v, c->arg, sizeof(v)) != 0)
		td_ptr(l, c->arg);
	else
		tl_printf(l, "[%d]", v);
}

/*
 * sendfile and splice, as strace shows them: sendfile(OUT, IN, [OFF] =>
 * [NEWOFF], COUNT), the new offset only after a call that moved bytes,
 * NULL for no offset; splice(IN, NULL, OUT, NULL, LEN, FLAGS), the socket
 * at the end the bytes go from or to.
 */
static void
tc_file(struct tline *l, const struct tmem *m, const struct tcall *c)
{
	int64_t off;

	if (c->kind == K_SPLICE) {
		if (c->a[0] == WSPSHIM_SPLICE_FROM_SOCKET)
			tl_printf(l, "%d, NULL, %d, NULL, ", c->fd, c->fd2);
		else
			tl_printf(l, "%d, NULL, %d, NULL, ", c->fd2, c->fd);
		tl_printf(l, "%llu, ", (unsigned long long)c->count);
		td_spliceflags(l, c->flags);
		return;
	}
	tl_printf(l, "%d, %d, ", c->fd, c->fd2);
	if (c->arg == NULL)
		tl_puts(l, "NULL");
	else if (!c->off_ok)
		td_ptr(l, c->arg);
	else {
		tl_printf(l, "[%llu]", (unsigned long long)c->off0);
		if (!c->failed && c->ret != 0 &&
		    tpeek(m, &off, c->arg, sizeof(off)) == 0)
			tl_printf(l, " => [%llu]", (unsigned long long)off);
	}
	tl_printf(l, ", %llu", (unsigned long long)c->count);
}

/* The name and arguments of c. */
static void
tc_args(struct tline *l, const struct tmem *m, const struct tcall *c)
{
	switch (c->kind) {
	case K_SOCKET:
	case K_SOCKETPAIR:
		td_family(l, c->a[0]);
		tl_puts(l, ", ");
		td_socktype(l, c->a[1]);
		tl_puts(l, ", ");
		td_protocol(l, c->a[0], c->a[2]);
		if (c->kind == K_SOCKETPAIR)
			tl_printf(l, ", [%d, %d]", c->fd, c->fd2);
		else if (c->token != 0)
			tl_printf(l, ", {dwProviderReserved=%#x}",
			    (unsigned)c->token);
		if (c->token != 0 && c->from.pid != 0)
			tl_printf(l, " /* from pid %d fd %d */",
			    (int)c->from.pid, (int)c->from.fd);
		return;
	default:
		break;
	}
	if (c->id == T_CLOSE_RANGE) {
		tl_printf(l, "%d, %d, 0", c->fd, c->fd);
		return;
	}
	if (c->kind == K_SENDFILE || c->kind == K_SPLICE) {
		tc_file(l, m, c);
		return;
	}
	tl_printf(l, "%d", c->fd);
	switch (c->kind) {
	case K_ADDR:
		tl_puts(l, ", ");
		td_sockaddr(l, m, c->addr, c->addrlen);
		tl_printf(l, ", %d", c->addrlen);
		return;
	case K_LISTEN:
		tl_printf(l, ", %d", c->a[0]);
		return;
	case K_SHUTDOWN:
		tl_puts(l, ", ");
		td_shut(l, c->a[0]);
		return;
	case K_ACCEPT:
	case K_NAME:
		tl_puts(l, ", ");
		if (c->addr == NULL && c->lenptr_null)
			tl_puts(l, "NULL, NULL");
		else
			td_sockaddr_out(l, m, c->addr, c->addrlen,
			    c->addrlen_out, c->failed, c->lenptr_null);
		if (c->id == T_ACCEPT4) {
			tl_puts(l, ", ");
			td_sockflags(l, c->a[0]);
		}
		return;
	case K_GETSOCKOPT:
		tl_puts(l, ", ");
		td_level(l, c->level);
		tl_puts(l, ", ");
		td_optname(l, c->level, c->optname);
		tl_puts(l, ", ");
		if (c->failed)
			td_ptr(l, c->optval);
		else
			td_optval_get(l, m, c->level, c->optname, c->optval,
			    c->optlen_out);
		if (c->lenptr_null)
			tl_puts(l, ", NULL");
		else if (c->failed || c->optlen == c->optlen_out)
			tl_printf(l, ", [%d]", c->optlen);
		else
			tl_printf(l, ", [%d => %d]", c->optlen,
			    c->optlen_out);
		return;
	case K_SETSOCKOPT:
		tl_puts(l, ", ");
		td_level(l, c->level);
		tl_puts(l, ", ");
		td_optname(l, c->level, c->optname);
		tl_puts(l, ", ");
		td_optval_set(l, m, c->level, c->optname, c->optval,
		    c->optlen);
		tl_printf(l, ", %d", c->optlen);
		return;
	case K_SEND:
	case K_SENDMSG:
		tl_puts(l, ", ");
		tc_send(l, m, c);
		return;
	case K_RECV:
	case K_RECVMSG:
		tl_puts(l, ", ");
		tc_recv(l, m, c);
		return;
	case K_IOCTL:
		tl_puts(l, ", ");
		tc_ioctl(l, m, c);
		return;
	case K_EVSELECT:
		tl_printf(l, ", %p, ", c->arg);
		td_netevents(l, (unsigned)c->a[0]);
		return;
	case K_DUPSOCK:
		tl_printf(l, ", %d, ", c->a[0]);
		if (c->failed)
			td_ptr(l, c->optval);
		else
			tl_printf(l, "{dwCatalogEntryId=%u, "
			    "dwProviderReserved=%#x}", (unsigned)c->a[1],
			    (unsigned)c->token);
		return;
	case K_EVENUM:
		tl_printf(l, ", %p, ", c->arg);
		if (c->failed || c->optval == NULL)
			td_ptr(l, c->optval);
		else
			td_netrecord(l, m, c->optval);
		return;
	default:
		return;
	}
}

/* The name strace shows for c. */
static const char *
tc_name(const struct tcall *c)
{
	if (c->id == T_OTHER || (c->id == T_SOCKET && c->name != NULL &&
	    c->name[0] == 'W') || (c->id == T_CLOSE && c->name != NULL &&
	    strcmp(c->name, "closesocket") == 0))
		return c->name != NULL ? c->name : "?";
	return tid_names[c->id];
}

/* The whole line of c into l. */
static void
tc_format(struct tline *l, const struct tcall *c)
{
	struct tmem m = { .trusted = !c->failed, .strsize = cf.strsize };
	time_t secs;
	long day;
	uint64_t prev;
	pid_t tid;

	tid = (pid_t)syscall(SYS_gettid);
	if (cf.pids == 2 || (cf.pids == 1 && tid != cf.root))
		tl_printf(l, "[pid %5d] ", (int)tid);
	secs = (time_t)(c->t0 / 1000000000u);
	switch (cf.stamp) {
	case 't':
	case 'u':
		/* The zone's offset was read once: no lock here, so a line
		 * from a signal handler cannot deadlock. */
		day = (long)((secs + cf.gmtoff) % 86400);
		if (day < 0)
			day += 86400;
		tl_printf(l, "%02ld:%02ld:%02ld", day / 3600, day / 60 % 60,
		    day % 60);
		if (cf.stamp == 'u')
			tl_printf(l, ".%06u",
			    (unsigned)(c->t0 % 1000000000u / 1000));
		tl_putc(l, ' ');
		break;
	case 'e':
		tl_printf(l, "%lld.%06u ", (long long)secs,
		    (unsigned)(c->t0 % 1000000000u / 1000));
		break;
	case 'r':
		prev = atomic_exchange(&last_ns, c->m0);
		prev = prev == 0 || prev > c->m0 ? 0 : c->m0 - prev;
		tl_printf(l, "%6llu.%06u ",
		    (unsigned long long)(prev / 1000000000u),
		    (unsigned)(prev % 1000000000u / 1000));
		break;
	}
	tl_printf(l, "%s(", tc_name(c));
	tc_args(l, &m, c);
	tl_putc(l, ')');
	tl_pad(l, TRACE_COL);
	if (c->failed)
		td_errno(l, c->err);
	else if (c->kind == K_ACCEPT || c->kind == K_SOCKET)
		tl_printf(l, " = %d", c->fd2);
	else if (c->id == T_SENDMMSG || c->id == T_RECVMMSG)
		tl_puts(l, " = 1");	/* one message per line */
	else
		tl_printf(l, " = %lld", (long long)c->ret);
	if (cf.elapsed && !c->completion) {
		prev = c->m1 - c->m0;
		tl_printf(l, " <%llu.%06u>",
		    (unsigned long long)(prev / 1000000000u),
		    (unsigned)(prev % 1000000000u / 1000));
	}
	if (c->completion)
		tl_puts(l, " <completion>");
	tl_putc(l, '\n');
}

/* Write c's line: one write(2), formatted on the stack (or, for a line
 * longer than TRACE_LINE, in a buffer of its size). */
static void twarn(const char *why);

/* Nothing: with v, says once that socket calls bypass the shim (fd, which
 * the chain has, was closed or replaced where no hook sees it: a raw
 * syscall, or I/O inside a library; the shim redoes the call in libc). */
static __attribute__((noinline)) void
warn_bypass(int fd)
{
	char msg[200];

	if (atomic_exchange(&warned_bypass, 1))
		return;
	snprintf(msg, sizeof(msg), "descriptor %d was closed or replaced "
	    "behind the shim (a raw syscall, or a library's own I/O): such "
	    "calls bypass every layer and are not in this trace", fd);
	twarn(msg);
}

static void
tc_emit(const struct tcall *c)
{
	char stack[TRACE_LINE], *heap;
	struct tline l;
	size_t n;
	int saved = errno;

	if (cf.verbose && c->failed && (c->err == EBADF ||
	    c->err == ENOTSOCK))
		warn_bypass(c->fd);
	tl_init(&l, stack, sizeof(stack));
	tc_format(&l, c);
	if ((n = tl_end(&l)) < sizeof(stack)) {
		(void)!write(cf.out, stack, n);
	} else if ((heap = malloc(n + 1)) != NULL) {
		tl_init(&l, heap, n + 1);
		tc_format(&l, c);
		n = tl_end(&l);
		(void)!write(cf.out, heap, n);
		free(heap);
	} else {
		stack[sizeof(stack) - 2] = '\n';
		(void)!write(cf.out, stack, sizeof(stack) - 1);
	}
	errno = saved;
}

/* --- configuration ------------------------------------------------------- */

/* Expand %p (the pid) and %% in pattern into out: 0, or -1 if too long. */
static int
expand_path(const char *pattern, char *out, size_t size)
{
	size_t n = 0;
	int w;

	for (; *pattern != '\0'; pattern++) {
		if (pattern[0] == '%' && pattern[1] == 'p') {
			w = snprintf(out + n, size - n, "%ld", (long)getpid());
			if (w < 0 || (size_t)w >= size - n)
				return -1;
			n += (size_t)w;
			pattern++;
			continue;
		}
		if (pattern[0] == '%' && pattern[1] == '%')
			pattern++;
		if (n + 1 >= size)
			return -1;
		out[n++] = *pattern;
	}
	out[n] = '\0';
	return 0;
}

/* A descriptor for fd moved above the program's range, close-on-exec and
 * protected from the program's close, close_range and dup2; fd itself is
 * closed when it was moved (not when it is stderr). */
static int
park_fd(int fd, int keep)
{
	int high, err;

	if ((high = fcntl(fd, F_DUPFD_CLOEXEC, TRACE_FD_MIN)) >= 0) {
		if (!keep)
			close(fd);
		fd = high;
	}
	WSPShimProtectDescriptor(fd, TRUE, &err);
	return fd;
}

/* Nothing: the out= file opened before, if any, is closed (and no longer
 * protected); lines go to stderr again until the next one opens. */
static void
close_out(void)
{
	int err;

	if (cf.out == STDERR_FILENO)
		return;
	WSPShimProtectDescriptor(cf.out, FALSE, &err);
	close(cf.out);
	cf.out = STDERR_FILENO;
}

/* NULL after opening the out= file, or why not. */
static const char *
open_out(const char *pattern)
{
	static char msg[PATH_MAX + 64];
	char path[PATH_MAX];
	const char *why;
	int fd;

	if (expand_path(pattern, path, sizeof(path)) != 0 || path[0] == '\0')
		return "bad out= file name";
	if (cf_checking)
		return NULL;		/* the command checks the file */
	/* No symbolic link, nor anyone else's file (outfile.h). */
	if ((fd = outfile_open(path, OUTFILE_APPEND, 0600, &why)) < 0) {
		snprintf(msg, sizeof(msg), "cannot open the out= file %s: %s",
		    path, why);
		return msg;
	}
	cf.out = park_fd(fd, 0);
	if (strstr(pattern, "%p") != NULL)
		snprintf(cf_pattern, sizeof(cf_pattern), "%s", pattern);
	return NULL;
}

/* Nothing: before fork(), the pid and time the child's file names as its
 * start (taken in the parent, before any of its calls after the fork). */
static void
note_fork(void)
{
	fork_parent = getpid();
	fork_ns = now_ns(CLOCK_REALTIME);
}

/* Nothing: the first line of a forked child's own file says whose child
 * it is and since when, so that a reader of the files (tracecmp) starts
 * its descriptor table from its parent's at that moment:
 *	--- forked from pid 1234 at 1765000000.123456 ---
 */
static void
note_parent(void)
{
	char line[96];
	int n;

	n = snprintf(line, sizeof(line), "--- forked from pid %ld at "
	    "%llu.%06llu ---\n", (long)fork_parent,
	    (unsigned long long)(fork_ns / 1000000000u),
	    (unsigned long long)(fork_ns % 1000000000u / 1000u));
	if (n > 0 && (size_t)n < sizeof(line))
		(void)!write(cf.out, line, (size_t)n);
}

/* Nothing: in a child after fork(), a file named with %p is the child's
 * own, as its pid says (vfork and posix_spawn children run no fork
 * handlers; they exec and start the layer again, or _exit). */
static void
reopen_child(void)
{
	char pattern[sizeof(cf_pattern)];
	int old = cf.out, err;

	/* First: the lines below may close sockets (ovlwatch.h). */
	ovlwatch_atfork_child();
	if (!wsp_once_done(&cf_once) || cf_failed || cf_pattern[0] == '\0' ||
	    old == STDERR_FILENO)
		return;
	/* open_out() keeps the pattern it is given in cf_pattern: from a
	 * copy, so that the child's children reopen theirs too. */
	memcpy(pattern, cf_pattern, sizeof(pattern));
	if (open_out(pattern) != NULL) {
		cf.out = old;
		return;
	}
	WSPShimProtectDescriptor(old, FALSE, &err);
	close(old);
	note_parent();
}

/* NULL after adding one e= name, or why not. */
static const char *
add_call(const char *s, uint32_t *calls)
{
	const char *near;
	int i;

	if (strcmp(s, "all") == 0) {
		*calls = ~0u;
		return NULL;
	}
	if (strcmp(s, "%network") == 0 || strcmp(s, "network") == 0) {
		*calls |= T_NETWORK;
		return NULL;
	}
	for (i = 0; i < T_NIDS; i++)
		if (strcmp(s, tid_names[i]) == 0) {
			*calls |= 1u << i;
			return NULL;
		}
	near = WSPShimNearestWord(s, tid_names, T_NIDS);
	snprintf(cf_why, sizeof(cf_why), "unknown call \"%s\" in e=%s%s%s", s,
	    near != NULL ? " (did you mean " : "", near != NULL ? near : "",
	    near != NULL ? "?)" : "");
	return cf_why;
}

/* NULL after adding one fd= number, or why not. */
static const char *
add_fd(const char *s)
{
	char *end;
	long v;

	v = strtol(s, &end, 10);
	if (end == s || *end != '\0' || v < 0 || v > INT_MAX)
		return "fd= takes descriptor numbers";
	if (cf.nfds == TRACE_FDS)
		return "too many fd= numbers";
	cf.fds[cf.nfds++] = (int)v;
	return NULL;
}

/* Whether tok starts a new key: a flag or KEY= of ours. */
static int
is_key(const char *tok)
{
	static const char *const flags[] = { "f", "t", "tt", "ttt", "r",
	    "T", "v" };
	static const char *const keys[] = { "out=", "s=", "e=", "fd=", "f=" };
	size_t i;

	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (strcmp(tok, flags[i]) == 0)
			return 1;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strncmp(tok, keys[i], strlen(keys[i])) == 0)
			return 1;
	return 0;
}

/* NULL after applying one key (k, its value v), or why not. */
static const char *
apply_key(const char *k, char *v, uint32_t *calls, int *have_calls)
{
	char *end;
	long n;

	if (strcmp(k, "f") == 0) {
		if (v == NULL || strcmp(v, "1") == 0)
			cf.pids = 1;
		else if (strcmp(v, "all") == 0)
			cf.pids = 2;
		else
			return "f= takes all";
	} else if (strcmp(k, "t") == 0 && v == NULL) {
		cf.stamp = 't';
	} else if (strcmp(k, "tt") == 0 && v == NULL) {
		cf.stamp = 'u';
	} else if (strcmp(k, "ttt") == 0 && v == NULL) {
		cf.stamp = 'e';
	} else if (strcmp(k, "r") == 0 && v == NULL) {
		cf.stamp = 'r';
	} else if (strcmp(k, "T") == 0 && v == NULL) {
		cf.elapsed = 1;
	} else if (strcmp(k, "v") == 0 && v == NULL) {
		cf.verbose = 1;
	} else if (strcmp(k, "s") == 0 && v != NULL) {
		n = strtol(v, &end, 10);
		if (end == v || *end != '\0' || n < 0 || n > 1 << 20)
			return "s= takes a size";
		cf.strsize = (size_t)n;
	} else if (strcmp(k, "out") == 0 && v != NULL) {
		/* The last out= wins; the one before must not leak. */
		close_out();
		return open_out(v);
	} else if (strcmp(k, "e") == 0 && v != NULL) {
		*have_calls = 1;
		return add_call(v, calls);
	} else if (strcmp(k, "fd") == 0 && v != NULL) {
		return add_fd(v);
	} else {
		return "unknown key (out=, f, t, tt, ttt, r, T, v, s=, e=, "
		    "fd=)";
	}
	return NULL;
}

/* NULL after parsing the parameter string, or why not.  Keys are
 * separated by ';' or ','; a ',' followed by something that is not a key
 * continues the value before it (e=connect,sendto and out=a,b). */
static const char *
parse_params(char *s)
{
	uint32_t calls = 0;
	char *tok, *eq, *v, *k = NULL, *val = NULL;
	const char *why = NULL;
	int have_calls = 0;

	while (why == NULL && (tok = strsep(&s, ";,")) != NULL) {
		tok += strspn(tok, " \t\n");
		if (*tok == '\0')
			continue;
		if (k != NULL && !is_key(tok)) {
			/* Another value of the key before. */
			if (strcmp(k, "e") == 0)
				why = add_call(tok, &calls);
			else if (strcmp(k, "fd") == 0)
				why = add_fd(tok);
			else if (strcmp(k, "out") == 0 && val != NULL) {
				/* The comma was part of the file name. */
				val[strlen(val)] = ',';
				close_out();
				why = open_out(val);
			} else
				why = "unknown key";
			continue;
		}
		v = NULL;
		if ((eq = strchr(tok, '=')) != NULL) {
			*eq = '\0';
			v = eq + 1;
		}
		k = tok;
		val = v;
		why = apply_key(k, v, &calls, &have_calls);
	}
	if (why == NULL && have_calls)
		cf.calls = calls;
	return why;
}

/* Nothing: writes "wsp_trace: WHY" on stderr (one write, no stdio). */
static void
twarn(const char *why)
{
	char msg[256];
	int n = snprintf(msg, sizeof(msg), "wsp_trace: %s\n", why);

	if (n > 0 && (size_t)n < sizeof(msg))
		(void)!write(STDERR_FILENO, msg, (size_t)n);
}

/* The parameter check the wspshim command calls (ws2spi.h): the parser
 * on a copy, opening no file, with the configuration put back after. */
EXPORT int
WSPShimCheckParams(const char *params, char *why, size_t len)
{
	__typeof__(cf) saved = cf;
	const char *bad;
	char *copy;

	if ((copy = strdup(params != NULL ? params : "")) == NULL) {
		snprintf(why, len, "out of memory");
		return -1;
	}
	cf_checking = 1;
	bad = parse_params(copy);
	cf_checking = 0;
	cf = saved;
	free(copy);
	if (bad != NULL) {
		snprintf(why, len, "%s", bad);
		return -1;
	}
	return 0;
}

/* Registered as the library loads, not when it is configured: a handler
 * registered while another thread forks is left out of that fork. */
__attribute__((constructor)) static void
trace_atfork(void)
{
	pthread_atfork(note_fork, NULL, reopen_child);
}

/* Nothing: reads the layer's parameters (once: cf_once). */
static void
configure(void *unused)
{
	char buf[1024], *params = buf;
	int len = sizeof(buf), err;
	const char *why;
	DWORD self = __atomic_load_n(&cf_self, __ATOMIC_ACQUIRE);
	struct tm tm;
	time_t now;

	cf_failed = 0;		/* a child may run it again: see once.h */
	cf.root = getpid();
	if (WSPShimGetLayerParams(self, buf, &len, &err) != 0) {
		if (err != WSAEFAULT ||
		    (params = malloc((size_t)len)) == NULL ||
		    WSPShimGetLayerParams(self, params, &len, &err) != 0) {
			cf_failed = 1;
			goto out;
		}
	}
	if ((why = parse_params(params)) != NULL) {
		twarn(why);
		cf_failed = 1;
		goto out;
	}
	/* Local time only when the lines show it: tzset() takes a glibc
	 * lock, and a child forked while another thread held it would hang
	 * here. */
	if (cf.stamp == 't' || cf.stamp == 'u') {
		tzset();
		now = time(NULL);
		if (localtime_r(&now, &tm) != NULL)
			cf.gmtoff = tm.tm_gmtoff;
	}
	/* No out=: stderr as it is now, kept out of the program's way. */
	if (cf.out == STDERR_FILENO)
		cf.out = park_fd(STDERR_FILENO, 1);
out:
	if (params != buf)
		free(params);
}

/* --- instances and handles ---------------------------------------------- */

/* The instance of chain id `chain', or NULL. */
static struct tinst *
inst_find(DWORD chain)
{
	struct tinst *in;

	for (in = atomic_load_explicit(&instances, memory_order_acquire);
	    in != NULL; in = in->link)
		if (in->chain == chain)
			return in;
	return NULL;
}

/* A started instance for a call that names no chain, preferably one with
 * no socket open; NULL if none is started. */
static struct tinst *
inst_any(void)
{
	struct tinst *in, *best = NULL;

	for (in = atomic_load_explicit(&instances, memory_order_acquire);
	    in != NULL; in = in->link)
		if (in->starts > 0 &&
		    (best == NULL || atomic_load(&best->live) != 0))
			best = in;
	return best;
}

/* The context of handle s, or NULL with *err set: the upcall's answer,
 * inline (WSPShimHandleContext, ws2spi.h). */
static inline struct tsock *
tsock(SOCKET s, LPINT err)
{
	DWORD_PTR ctx;

	if (!WSPShimHandleContext(s, &ctx)) {
		*err = WSAENOTSOCK;
		return NULL;
	}
	return (struct tsock *)ctx;
}

/* The kernel descriptor of a handle of the provider below, or -1. */
static int
lower_fd(struct tinst *in, SOCKET lower)
{
	DWORD n;
	int fd = -1, err;

	if (in->next.lpWSPIoctl(lower, SIO_BASE_HANDLE, NULL, 0, &fd,
	    sizeof(fd), &n, NULL, NULL, NULL, &err) != 0)
		return -1;
	return fd;
}

/* A handle of ours for lower, a new socket of instance in (its kernel
 * descriptor fd); INVALID_SOCKET (and lower closed) on failure. */
static SOCKET
twrap(struct tinst *in, SOCKET lower, int fd, LPINT err)
{
	struct tsock *ts;
	SOCKET h;
	int e2;

	if (lower == INVALID_SOCKET)
		return INVALID_SOCKET;
	if ((ts = malloc(sizeof(*ts))) == NULL) {
		*err = WSAENOBUFS;
		goto out_close;
	}
	ts->lower = lower;
	ts->in = in;
	ts->fd = fd;
	h = up.lpWPUCreateSocketHandle(in->self, (DWORD_PTR)ts, err);
	if (h != INVALID_SOCKET) {
		atomic_fetch_add(&in->live, 1);
		return h;
	}
	free(ts);
out_close:
	in->next.lpWSPCloseSocket(lower, &e2);
	return INVALID_SOCKET;
}

/* Socket triple and flags of a socket socketpair() made, for its line. */
static void
pair_describe(struct tinst *in, SOCKET lower, int fd, struct tcall *c)
{
	int v, len, err, fl;

	c->a[0] = c->a[1] = c->a[2] = 0;
	len = sizeof(v);
	if (in->next.lpWSPGetSockOpt(lower, SOL_SOCKET, SO_DOMAIN,
	    (char *)&v, &len, &err) == 0)
		c->a[0] = v;
	len = sizeof(v);
	if (in->next.lpWSPGetSockOpt(lower, SOL_SOCKET, SO_TYPE, (char *)&v,
	    &len, &err) == 0)
		c->a[1] = v;
	len = sizeof(v);
	if (in->next.lpWSPGetSockOpt(lower, SOL_SOCKET, SO_PROTOCOL,
	    (char *)&v, &len, &err) == 0)
		c->a[2] = v;
	if ((fl = fcntl(fd, F_GETFD)) >= 0 && (fl & FD_CLOEXEC))
		c->a[1] |= SOCK_CLOEXEC;
	if ((fl = fcntl(fd, F_GETFL)) >= 0 && (fl & O_NONBLOCK))
		c->a[1] |= SOCK_NONBLOCK;
}

/* socketpair() adopts both ends, one after the other: the first is kept
 * until the second comes, then one line is written for both. */
static void
pair_note(struct tinst *in, SOCKET lower, int fd, struct tcall *c)
{
	pid_t tid = (pid_t)syscall(SYS_gettid), none;
	int i, first = -1;

	for (i = 0; i < PAIR_SLOTS; i++)
		if (atomic_load(&pairs[i].tid) == tid) {
			first = pairs[i].fd;
			atomic_store(&pairs[i].tid, 0);
			break;
		}
	for (i = 0; first < 0 && i < PAIR_SLOTS; i++) {
		none = 0;
		if (atomic_compare_exchange_strong(&pairs[i].tid, &none,
		    tid)) {
			pairs[i].fd = fd;
			break;
		}
	}
	if (first < 0)
		return;
	c->kind = K_SOCKETPAIR;
	c->fd = first;
	c->fd2 = fd;
	c->ret = 0;
	pair_describe(in, lower, fd, c);
	tc_emit(c);
}

/* --- the operations ---------------------------------------------------- */

/* WSPSocket: our handle over a new socket of the provider below.  An
 * adoption (the shared-socket path) is traced only for socketpair(). */
static SOCKET WSPAPI
tr_socket(int af, int type, int protocol, LPWSAPROTOCOL_INFOW info,
    GROUP g, DWORD flags, LPINT err)
{
	WSAPROTOCOL_INFOW pass, *next;
	struct tinst *in;
	struct tcall c;
	SOCKET lower;
	int traced, fd;

	if (info == NULL || (in = inst_find(info->dwCatalogEntryId)) == NULL) {
		*err = info == NULL ? WSAEFAULT : WSAEINVAL;
		return INVALID_SOCKET;
	}
	if ((next = WSPShimNextProtocol(info, in->self, &pass, err)) == NULL)
		return INVALID_SOCKET;
	traced = tc_begin(&c, NULL, T_SOCKET, K_SOCKET);
	lower = in->next.lpWSPSocket(af, type, protocol, next, g, flags,
	    err);
	fd = lower == INVALID_SOCKET ? -1 : lower_fd(in, lower);
	if (!traced)
		return twrap(in, lower, fd, err);
	tc_done(&c, lower == INVALID_SOCKET, *err);
	if (c.id == T_SOCKETPAIR) {
		if (lower != INVALID_SOCKET)
			pair_note(in, lower, fd, &c);
	} else if (c.id == T_SOCKET && af != FROM_PROTOCOL_INFO &&
	    (c.failed || fd_wanted(fd))) {
		c.a[0] = af;
		c.a[1] = type;
		if (flags & WSA_FLAG_NO_HANDLE_INHERIT)
			c.a[1] |= SOCK_CLOEXEC;
		if (flags & WSA_FLAG_WSPSHIM_NONBLOCK)
			c.a[1] |= SOCK_NONBLOCK;
		c.a[2] = protocol;
		c.fd2 = fd;
		/* A shared socket's line names the token it was made of,
		 * and the source trace attached to it. */
		c.token = info->dwProviderReserved;
		c.from.pid = 0;
		if (c.token != 0 && !c.failed) {
			DWORD n = sizeof(c.from);

			if (WSPShimShareData(info, &trace_share_id, &c.from,
			    &n) != 0 || n != sizeof(c.from))
				c.from.pid = 0;
		}
		tc_emit(&c);
	}
	return twrap(in, lower, fd, err);
}

/*
 * --- Overlapped requests ------------------------------------------------
 *
 * An overlapped send or receive gets two lines: the call as issued (with
 * its result: the count when it completed at once, EINPROGRESS for
 * WSA_IO_PENDING), and, when the program learns it ended (ovlwatch.h),
 * the same call with what it moved and " <completion>".  The watch keeps
 * the line and a copy of the WSABUF array (the program may free
 * its own once the call returns; only the buffers must stay).
 */
struct tovl {
	struct tcall	c;
	WSABUF		wsa[];
};

/* The completion line (ovlwatch_done_fn). */
static void
tovl_done(void *data, DWORD err, DWORD cb, int closed)
{
	struct tovl *t = data;

	(void)closed;		/* the line needs nothing of the socket */
	if (cf.stamp != 0 && cf.stamp != 'r')
		t->c.t0 = now_ns(CLOCK_REALTIME);
	if (cf.stamp == 'r')
		t->c.m0 = now_ns(CLOCK_MONOTONIC);
	t->c.completion = 1;
	t->c.failed = err != 0;
	t->c.err = err != 0 ? td_errno_for((int)err, 0) : 0;
	t->c.ret = err != 0 ? 0 : (int64_t)cb;
	tc_emit(&t->c);
}

/* Before an overlapped call on ts traced as c: its watch (or NULL), with
 * the routine to pass down in *crp. */
static struct ovlwatch *
tovl_before(const struct tcall *c, const struct tsock *ts,
    LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE *crp,
    const WSABUF *b, DWORD nb)
{
	struct ovlwatch *w;
	struct tovl *t;
	void *data;

	w = ovlwatch_begin(ov, ts, crp, tovl_done,
	    sizeof(*t) + nb * sizeof(WSABUF), &data);
	if (w == NULL)
		return NULL;
	t = data;
	t->c = *c;
	if (nb != 0 && b != NULL)
		memcpy(t->wsa, b, nb * sizeof(WSABUF));
	t->c.bufs = b != NULL ? t->wsa : NULL;
	return w;
}

/* WSPCloseSocket: close below, then our handle and context. */
static int WSPAPI
tr_closesocket(SOCKET s, LPINT err)
{
	struct tsock *ts = tsock(s, err);
	struct tcall c;
	int rc, e2, traced;

	if (ts == NULL)
		return SOCKET_ERROR;
	traced = tc_begin(&c, ts, T_CLOSE, K_CLOSE);
	rc = ts->in->next.lpWSPCloseSocket(ts->lower, err);
	if (traced) {
		tc_done(&c, rc != 0, *err);
		/* Only the program's closes: not the core's own (dup2() over
		 * a socket, a number found reused behind the shim's back). */
		if (c.id == T_CLOSE || c.id == T_CLOSE_RANGE)
			tc_emit(&c);
	}
	up.lpWPUCloseSocketHandle(s, &e2);
	atomic_fetch_sub(&ts->in->live, 1);
	ovlwatch_close(ts);
	free(ts);
	return rc;
}

/* accept and accept4 (the new socket's descriptor goes in the line). */
static SOCKET
tr_accept_common(struct tsock *ts, struct sockaddr *addr, LPINT addrlen,
    int use4, DWORD flags, LPCONDITIONPROC cond, DWORD_PTR data, LPINT err)
{
	struct tcall c;
	SOCKET lower;
	int traced, fd;

	traced = tc_begin(&c, ts, use4 ? T_ACCEPT4 : T_ACCEPT, K_ACCEPT);
	if (traced) {
		c.addr = addr;
		c.lenptr_null = addrlen == NULL;
		c.addrlen = addrlen != NULL ? *addrlen : 0;
		c.a[0] = ((flags & WSA_FLAG_NO_HANDLE_INHERIT) ?
		    SOCK_CLOEXEC : 0) | ((flags & WSA_FLAG_WSPSHIM_NONBLOCK) ?
		    SOCK_NONBLOCK : 0);
	}
	if (use4)
		lower = ts->in->next.lpWSPAccept4(ts->lower, addr, addrlen,
		    flags, err);
	else
		lower = ts->in->next.lpWSPAccept(ts->lower, addr, addrlen,
		    cond, data, err);
	fd = lower == INVALID_SOCKET ? -1 : lower_fd(ts->in, lower);
	if (traced) {
		tc_done(&c, lower == INVALID_SOCKET, *err);
		c.addrlen_out = addrlen != NULL && !c.failed ? *addrlen : 0;
		c.fd2 = fd;
		tc_emit(&c);
	}
	return twrap(ts->in, lower, fd, err);
}

static SOCKET WSPAPI
tr_accept(SOCKET s, struct sockaddr *addr, LPINT addrlen,
    LPCONDITIONPROC cond, DWORD_PTR data, LPINT err)
{
	struct tsock *ts = tsock(s, err);

	if (ts == NULL)
		return INVALID_SOCKET;
	return tr_accept_common(ts, addr, addrlen, 0, 0, cond, data, err);
}

static SOCKET WSPAPI
tr_accept4(SOCKET s, struct sockaddr *addr, LPINT addrlen, DWORD flags,
    LPINT err)
{
	struct tsock *ts = tsock(s, err);

	if (ts == NULL)
		return INVALID_SOCKET;
	return tr_accept_common(ts, addr, addrlen, 1, flags, NULL, 0, err);
}

/* WSPJoinLeaf: s again when below kept its socket, else a new handle. */
static SOCKET WSPAPI
tr_joinleaf(SOCKET s, const struct sockaddr *name, int namelen,
    LPWSABUF caller, LPWSABUF callee, LPQOS sqos, LPQOS gqos, DWORD flags,
    LPINT err)
{
	struct tsock *ts = tsock(s, err);
	SOCKET h;

	if (ts == NULL)
		return INVALID_SOCKET;
	h = ts->in->next.lpWSPJoinLeaf(ts->lower, name, namelen, caller,
	    callee, sqos, gqos, flags, err);
	if (h == ts->lower)
		return s;
	return twrap(ts->in, h, h == INVALID_SOCKET ? -1 :
	    lower_fd(ts->in, h), err);
}

/* WSPDuplicateSocket: below makes the token; the program gets the
 * chain's struct with that token, which carries the source's pid and fd
 * to the target's trace. */
static int WSPAPI
tr_duplicate_socket(SOCKET s, DWORD pid, LPWSAPROTOCOL_INFOW info,
    LPINT err)
{
	struct tsock *ts = tsock(s, err);
	struct share_from from;
	struct tcall c;
	DWORD token;
	int traced, rc;

	if (ts == NULL)
		return SOCKET_ERROR;
	traced = tc_begin(&c, ts, T_OTHER, K_DUPSOCK);
	/* The target's line says where its socket came from. */
	from.pid = (int32_t)getpid();
	from.fd = tsock_fd(ts);
	(void)WSPShimShareAttach(&trace_share_id, &from, sizeof(from));
	rc = ts->in->next.lpWSPDuplicateSocket(ts->lower, pid, info, err);
	if (rc == 0) {
		token = info->dwProviderReserved;
		*info = ts->in->info;
		info->dwProviderReserved = token;
	}
	if (traced) {
		tc_done(&c, rc != 0, *err);
		c.a[0] = (int)pid;
		c.optval = info;
		if (rc == 0) {
			c.a[1] = (int)info->dwCatalogEntryId;
			c.token = info->dwProviderReserved;
		}
		tc_emit(&c);
	}
	return rc;
}

static int WSPAPI
tr_async_select(SOCKET s, HWND wnd, unsigned int msg, LONG ev, LPINT err)
{
	struct tsock *ts = tsock(s, err);

	return ts == NULL ? SOCKET_ERROR :
	    ts->in->next.lpWSPAsyncSelect(ts->lower, wnd, msg, ev, err);
}

/* bind and connect: (fd, address, length). */
static int WSPAPI
tr_bind(SOCKET s, const struct sockaddr *name, int namelen, LPINT err)
{
	struct tsock *ts = tsock(s, err);
	struct tcall c;
	int rc;

	if (ts == NULL)
		return SOCKET_ERROR;
	if (!tc_begin(&c, ts, T_BIND, K_ADDR))
		return ts->in->next.lpWSPBind(ts->lower, name, namelen, err);
	rc = ts->in->next.lpWSPBind(ts->lower, name, namelen, err);
	tc_done(&c, rc != 0, *err);
	c.addr = name;
	c.addrlen = namelen;
	tc_emit(&c);
	return rc;
}

static int WSPAPI
tr_connect(SOCKET s, const struct sockaddr *name, int namelen,
    LPWSABUF caller, LPWSABUF callee, LPQOS sqos, LPQOS gqos, LPINT err)
{
	struct tsock *ts = tsock(s, err);
	struct tcall c;
	int rc;

	if (ts == NULL)
		return SOCKET_ERROR;
	if (!tc_begin(&c, ts, T_CONNECT, K_ADDR))
		return ts->in->next.lpWSPConnect(ts->lower, name, namelen,
		    caller, callee, sqos, gqos, err);
	rc = ts->in->next.lpWSPConnect(ts->lower, name, namelen, caller,
	    callee, sqos, gqos, err);
	tc_done(&c, rc != 0, *err);
	c.addr = name;
	c.addrlen = namelen;
	tc_emit(&c);
	return rc;
}

/* WSPEnumNetworkEvents: WSAEnumNetworkEvents(FD, EVENT, {record}). */
static int WSPAPI
tr_enum_network_events(SOCKET s, WSAEVENT ev, LPWSANETWORKEVENTS ne,
    LPINT err)
{
	struct tsock *ts = tsock(s, err);
	struct tcall c;
	int rc;

	if (ts == NULL)
		return SOCKET_ERROR;
	if (!tc_begin(&c, ts, T_OTHER, K_EVENUM))
		return ts->in->next.lpWSPEnumNetworkEvents(ts->lower, ev, ne,
		    err);
	rc = ts->in->next.lpWSPEnumNetworkEvents(ts->lower, ev, ne, err);
	tc_done(&c, rc != 0, *err);
	c.arg = ev;
	c.optval = ne;
	tc_emit(&c);
	return rc;
}

/* WSPEventSelect: WSAEventSelect(FD, EVENT, FD_...). */
static int WSPAPI
tr_event_select(SOCKET s, WSAEVENT ev, LONG events, LPINT err)
{
	struct tsock *ts = tsock(s, err);
	struct tcall c;
	int rc;

	if (ts == NULL)
		return SOCKET_ERROR;
	if (!tc_begin(&c, ts, T_OTHER, K_EVSELECT))
		return ts->in->next.lpWSPEventSelect(ts->lower, ev, events,
		    err);
	rc = ts->in->next.lpWSPEventSelect(ts->lower, ev, events, err);
	tc_done(&c, rc != 0, *err);
	c.arg = ev;
	c.a[0] = (int)events;
	tc_emit(&c);
	return rc;
}

static BOOL WSPAPI
tr_get_overlapped_result(SOCKET s, LPWSAOVERLAPPED ov, LPDWORD n,
    BOOL wait, LPDWORD flags, LPINT err)
{
	struct tsock *ts = tsock(s, err);
	BOOL ok;

	if (ts == NULL)
		return FALSE;
	ok = ts->in->next.lpWSPGetOverlappedResult(ts->lower, ov, n, wait,
	    flags, err);
	ovlwatch_result(ov, ok, *err, ok && n != NULL ? *n : 0);
	return ok;
}

/* getsockname and getpeername: (fd, address, [length]). */
static int
tr_name(struct tsock *ts, struct sockaddr *name, LPINT namelen, int peer,
    LPINT err)
{
	struct tcall c;
	int rc, traced;

	traced = tc_begin(&c, ts, peer ? T_GETPEERNAME : T_GETSOCKNAME,
	    K_NAME);
	if (traced) {
		c.addr = name;
		c.addrlen = namelen != NULL ? *namelen : 0;
		c.lenptr_null = namelen == NULL;
	}
	if (peer)
		rc = ts->in->next.lpWSPGetPeerName(ts->lower, name, namelen,
		    err);
	else
		rc = ts->in->next.lpWSPGetSockName(ts->lower, name, namelen,
		    err);
	if (traced) {
		tc_done(&c, rc != 0, *err);
		c.addrlen_out = namelen != NULL ? *namelen : 0;
		tc_emit(&c);
	}
	return rc;
}

static int WSPAPI
tr_getpeername(SOCKET s, struct sockaddr *name, LPINT namelen, LPINT err)
{
	struct tsock *ts = tsock(s, err);

	return ts == NULL ? SOCKET_ERROR : tr_name(ts, name, namelen, 1, err);
}

static int WSPAPI
tr_getsockname(SOCKET s, struct sockaddr *name, LPINT namelen, LPINT err)
{
	struct tsock *ts = tsock(s, err);

	return ts == NULL ? SOCKET_ERROR : tr_name(ts, name, namelen, 0, err);
}

static int WSPAPI
tr_getsockopt(SOCKET s, int level, int name, char *val, LPINT len,
    LPINT err)
{
	struct tsock *ts = tsock(s, err);
	struct tcall c;
	int rc;

	if (ts == NULL)
		return SOCKET_ERROR;
	if (!tc_begin(&c, ts, T_GETSOCKOPT, K_GETSOCKOPT))
		return ts->in->next.lpWSPGetSockOpt(ts->lower, level, name,
		    val, len, err);
	c.optlen = len != NULL ? *len : 0;
	c.lenptr_null = len == NULL;
	rc = ts->in->next.lpWSPGetSockOpt(ts->lower, level, name, val, len,
	    err);
	tc_done(&c, rc != 0, *err);
	c.level = level;
	c.optname = name;
	c.optval = val;
	c.optlen_out = len != NULL ? *len : 0;
	tc_emit(&c);
	return rc;
}

static BOOL WSPAPI
tr_get_qos_by_name(SOCKET s, LPWSABUF name, LPQOS qos, LPINT err)
{
	struct tsock *ts = tsock(s, err);

	return ts == NULL ? FALSE :
	    ts->in->next.lpWSPGetQOSByName(ts->lower, name, qos, err);
}

/* The F_GETFL flags an fcntl(F_SETFL) that asks for non-blocking mode on
 * (or off) gives, as near as the layer can tell: the flags now with
 * O_NONBLOCK changed. */
static int
setfl_flags(int fd, const void *in, DWORD inlen)
{
	int on = 0, fl;

	if (in != NULL && inlen >= sizeof(on))
		memcpy(&on, in, sizeof(on));
	if ((fl = fcntl(fd, F_GETFL)) < 0)
		fl = O_RDWR;
	return on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
}

static int WSPAPI
tr_ioctl(SOCKET s, DWORD code, LPVOID in, DWORD inlen, LPVOID out,
    DWORD outlen, LPDWORD n, LPWSAOVERLAPPED ov,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID tid, LPINT err)
{
	struct tsock *ts = tsock(s, err);
	struct tcall c;
	int rc;

	if (ts == NULL)
		return SOCKET_ERROR;
	/* The core's plumbing (after every new socket) is not traced. */
	if (code == SIO_BASE_HANDLE || code == SIO_BSP_HANDLE ||
	    !tc_begin(&c, ts, T_IOCTL, K_IOCTL))
		return ts->in->next.lpWSPIoctl(ts->lower, code, in, inlen, out,
		    outlen, n, ov, cr, tid, err);
	if (c.id == T_FCNTL)
		c.a[0] = setfl_flags(c.fd, in, inlen);
	rc = ts->in->next.lpWSPIoctl(ts->lower, code, in, inlen, out, outlen,
	    n, ov, cr, tid, err);
	tc_done(&c, rc != 0, *err);
	c.code = code;
	c.arg = code == FIONBIO ? in : out;
	tc_emit(&c);
	return rc;
}

static int WSPAPI
tr_listen(SOCKET s, int backlog, LPINT err)
{
	struct tsock *ts = tsock(s, err);
	struct tcall c;
	int rc;

	if (ts == NULL)
		return SOCKET_ERROR;
	if (!tc_begin(&c, ts, T_LISTEN, K_LISTEN))
		return ts->in->next.lpWSPListen(ts->lower, backlog, err);
	rc = ts->in->next.lpWSPListen(ts->lower, backlog, err);
	tc_done(&c, rc != 0, *err);
	c.a[0] = backlog;
	tc_emit(&c);
	return rc;
}

/* WSPRecv and WSPRecvFrom (from NULL for WSPRecv). */
static int
tr_recv_common(struct tsock *ts, LPWSABUF b, DWORD nb, LPDWORD got,
    LPDWORD flags, struct sockaddr *from, LPINT fromlen, int isfrom,
    LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr,
    LPWSATHREADID tid, LPINT err)
{
	struct ovlwatch *w = NULL;
	struct tcall c;
	int rc, traced;

	traced = tc_begin(&c, ts, T_RECVFROM, K_RECV);
	if (traced) {
		c.bufs = b;
		c.nbuf = nb;
		c.flags = flags != NULL ? *flags : 0;
		c.addr = from;
		c.lenptr_null = fromlen == NULL;
		c.addrlen = fromlen != NULL ? *fromlen : 0;
		if (ov != NULL)
			w = tovl_before(&c, ts, ov, &cr, b, nb);
	}
	if (isfrom)
		rc = ts->in->next.lpWSPRecvFrom(ts->lower, b, nb, got, flags,
		    from, fromlen, ov, cr, tid, err);
	else
		rc = ts->in->next.lpWSPRecv(ts->lower, b, nb, got, flags, ov,
		    cr, tid, err);
	if (traced) {
		tc_done(&c, rc != 0, *err);
		c.ret = rc == 0 && got != NULL ? (int64_t)*got : 0;
		c.addrlen_out = fromlen != NULL && rc == 0 ? *fromlen : 0;
		tc_emit(&c);
	}
	if (w != NULL)
		(void)ovlwatch_issued(w, ov, rc, *err);
	return rc;
}

static int WSPAPI
tr_recv(SOCKET s, LPWSABUF b, DWORD nb, LPDWORD got, LPDWORD flags,
    LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr,
    LPWSATHREADID tid, LPINT err)
{
	struct tsock *ts = tsock(s, err);

	if (ts == NULL)
		return SOCKET_ERROR;
	return tr_recv_common(ts, b, nb, got, flags, NULL, NULL, 0, ov, cr,
	    tid, err);
}

static int WSPAPI
tr_recvfrom(SOCKET s, LPWSABUF b, DWORD nb, LPDWORD got, LPDWORD flags,
    struct sockaddr *from, LPINT fromlen, LPWSAOVERLAPPED ov,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID tid, LPINT err)
{
	struct tsock *ts = tsock(s, err);

	if (ts == NULL)
		return SOCKET_ERROR;
	return tr_recv_common(ts, b, nb, got, flags, from, fromlen, 1, ov, cr,
	    tid, err);
}

static int WSPAPI
tr_recv_disconnect(SOCKET s, LPWSABUF data, LPINT err)
{
	struct tsock *ts = tsock(s, err);

	return ts == NULL ? SOCKET_ERROR :
	    ts->in->next.lpWSPRecvDisconnect(ts->lower, data, err);
}

/* WSPSend and WSPSendTo (to NULL for WSPSend). */
static int
tr_send_common(struct tsock *ts, LPWSABUF b, DWORD nb, LPDWORD sent,
    DWORD flags, const struct sockaddr *to, int tolen, int isto,
    LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr,
    LPWSATHREADID tid, LPINT err)
{
	struct ovlwatch *w = NULL;
	struct tcall c;
	int rc, traced;

	traced = tc_begin(&c, ts, T_SENDTO, K_SEND);
	if (traced && ov != NULL) {
		c.bufs = b;
		c.nbuf = nb;
		c.flags = flags;
		c.addr = to;
		c.addrlen = tolen;
		w = tovl_before(&c, ts, ov, &cr, b, nb);
	}
	if (isto)
		rc = ts->in->next.lpWSPSendTo(ts->lower, b, nb, sent, flags,
		    to, tolen, ov, cr, tid, err);
	else
		rc = ts->in->next.lpWSPSend(ts->lower, b, nb, sent, flags, ov,
		    cr, tid, err);
	if (traced) {
		tc_done(&c, rc != 0, *err);
		c.ret = rc == 0 && sent != NULL ? (int64_t)*sent : 0;
		c.bufs = b;
		c.nbuf = nb;
		c.flags = flags;
		c.addr = to;
		c.addrlen = tolen;
		tc_emit(&c);
	}
	if (w != NULL)
		(void)ovlwatch_issued(w, ov, rc, *err);
	return rc;
}

static int WSPAPI
tr_send(SOCKET s, LPWSABUF b, DWORD nb, LPDWORD sent, DWORD flags,
    LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr,
    LPWSATHREADID tid, LPINT err)
{
	struct tsock *ts = tsock(s, err);

	if (ts == NULL)
		return SOCKET_ERROR;
	return tr_send_common(ts, b, nb, sent, flags, NULL, 0, 0, ov, cr, tid,
	    err);
}

static int WSPAPI
tr_sendto(SOCKET s, LPWSABUF b, DWORD nb, LPDWORD sent, DWORD flags,
    const struct sockaddr *to, int tolen, LPWSAOVERLAPPED ov,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID tid, LPINT err)
{
	struct tsock *ts = tsock(s, err);

	if (ts == NULL)
		return SOCKET_ERROR;
	return tr_send_common(ts, b, nb, sent, flags, to, tolen, 1, ov, cr,
	    tid, err);
}

static int WSPAPI
tr_send_disconnect(SOCKET s, LPWSABUF data, LPINT err)
{
	struct tsock *ts = tsock(s, err);

	return ts == NULL ? SOCKET_ERROR :
	    ts->in->next.lpWSPSendDisconnect(ts->lower, data, err);
}

static int WSPAPI
tr_setsockopt(SOCKET s, int level, int name, const char *val, int len,
    LPINT err)
{
	struct tsock *ts = tsock(s, err);
	struct tcall c;
	int rc;

	if (ts == NULL)
		return SOCKET_ERROR;
	if (!tc_begin(&c, ts, T_SETSOCKOPT, K_SETSOCKOPT))
		return ts->in->next.lpWSPSetSockOpt(ts->lower, level, name,
		    val, len, err);
	rc = ts->in->next.lpWSPSetSockOpt(ts->lower, level, name, val, len,
	    err);
	tc_done(&c, rc != 0, *err);
	c.level = level;
	c.optname = name;
	c.optval = val;
	c.optlen = len;
	tc_emit(&c);
	return rc;
}

static int WSPAPI
tr_shutdown(SOCKET s, int how, LPINT err)
{
	struct tsock *ts = tsock(s, err);
	struct tcall c;
	int rc;

	if (ts == NULL)
		return SOCKET_ERROR;
	if (!tc_begin(&c, ts, T_SHUTDOWN, K_SHUTDOWN))
		return ts->in->next.lpWSPShutdown(ts->lower, how, err);
	rc = ts->in->next.lpWSPShutdown(ts->lower, how, err);
	tc_done(&c, rc != 0, *err);
	c.a[0] = how;
	tc_emit(&c);
	return rc;
}

static int WSPAPI
tr_sendmsg(SOCKET s, const struct msghdr *msg, DWORD flags, LPDWORD sent,
    LPINT err)
{
	struct tsock *ts = tsock(s, err);
	struct tcall c;
	int rc;

	if (ts == NULL)
		return SOCKET_ERROR;
	if (!tc_begin(&c, ts, T_SENDMSG, K_SENDMSG))
		return ts->in->next.lpWSPSendMsg(ts->lower, msg, flags, sent,
		    err);
	rc = ts->in->next.lpWSPSendMsg(ts->lower, msg, flags, sent, err);
	tc_done(&c, rc != 0, *err);
	c.ret = rc == 0 && sent != NULL ? (int64_t)*sent : 0;
	c.msg = msg;
	c.flags = flags;
	c.bufs = NULL;
	tc_emit(&c);
	return rc;
}

/* sendfile: one call down (the base's zero-copy sendfile, or whatever
 * the layers below make of it), one strace line. */
static int WSPAPI
tr_sendfile(SOCKET s, int file, int64_t *off, size_t count, LPDWORD sent,
    LPINT err)
{
	static const struct tmem careful = { .trusted = 0 };
	struct tsock *ts = tsock(s, err);
	struct tcall c;
	int rc;

	if (ts == NULL)
		return SOCKET_ERROR;
	if (!tc_begin(&c, ts, T_SENDFILE, K_SENDFILE))
		return ts->in->next.lpWSPSendFile(ts->lower, file, off, count,
		    sent, err);
	c.fd2 = file;
	c.count = count;
	c.arg = off;
	c.off_ok = off != NULL &&
	    tpeek(&careful, &c.off0, off, sizeof(c.off0)) == 0;
	rc = ts->in->next.lpWSPSendFile(ts->lower, file, off, count, sent,
	    err);
	tc_done(&c, rc != 0, *err);
	c.ret = rc == 0 && sent != NULL ? (int64_t)*sent : 0;
	tc_emit(&c);
	return rc;
}

static int WSPAPI
tr_splice(SOCKET s, int fd, DWORD dir, size_t len, DWORD flags,
    LPDWORD moved, LPINT err)
{
	struct tsock *ts = tsock(s, err);
	struct tcall c;
	int rc;

	if (ts == NULL)
		return SOCKET_ERROR;
	if (!tc_begin(&c, ts, T_SPLICE, K_SPLICE))
		return ts->in->next.lpWSPSplice(ts->lower, fd, dir, len, flags,
		    moved, err);
	c.fd2 = fd;
	c.a[0] = (int)dir;
	c.count = len;
	c.flags = flags;
	rc = ts->in->next.lpWSPSplice(ts->lower, fd, dir, len, flags, moved,
	    err);
	tc_done(&c, rc != 0, *err);
	c.ret = rc == 0 && moved != NULL ? (int64_t)*moved : 0;
	tc_emit(&c);
	return rc;
}

/* The msg_namelen a receive is given, read without trusting msg (the
 * call has not proved it readable yet), or 0. */
static int
msg_namelen(const struct msghdr *msg)
{
	static const struct tmem careful = { .trusted = 0 };
	socklen_t n;

	if (tpeek(&careful, &n, &msg->msg_namelen, sizeof(n)) != 0)
		return 0;
	return (int)n;
}

static int WSPAPI
tr_recvmsg(SOCKET s, struct msghdr *msg, LPDWORD flags, LPDWORD got,
    LPINT err)
{
	struct tsock *ts = tsock(s, err);
	struct tcall c;
	int rc;

	if (ts == NULL)
		return SOCKET_ERROR;
	if (!tc_begin(&c, ts, T_RECVMSG, K_RECVMSG))
		return ts->in->next.lpWSPRecvMsg(ts->lower, msg, flags, got,
		    err);
	c.flags = flags != NULL ? *flags : 0;
	c.addrlen = msg_namelen(msg);
	rc = ts->in->next.lpWSPRecvMsg(ts->lower, msg, flags, got, err);
	tc_done(&c, rc != 0, *err);
	c.ret = rc == 0 && got != NULL ? (int64_t)*got : 0;
	c.msg = msg;
	c.bufs = NULL;
	tc_emit(&c);
	return rc;
}

/* The operations with no socket: find the instance, then call down. */
static INT WSPAPI
tr_address_to_string(LPSOCKADDR sa, DWORD salen, LPWSAPROTOCOL_INFOW info,
    LPWSTR str, LPDWORD strlen_, LPINT err)
{
	WSAPROTOCOL_INFOW pass;
	struct tinst *in;

	if (info == NULL || (in = inst_find(info->dwCatalogEntryId)) == NULL) {
		*err = info == NULL ? WSAEFAULT : WSAEINVAL;
		return SOCKET_ERROR;
	}
	if (WSPShimNextProtocolInfo(info, in->self, &pass, err) != 0)
		return SOCKET_ERROR;
	return in->next.lpWSPAddressToString(sa, salen, &pass, str, strlen_,
	    err);
}

static INT WSPAPI
tr_string_to_address(LPWSTR str, INT af, LPWSAPROTOCOL_INFOW info,
    LPSOCKADDR sa, LPINT salen, LPINT err)
{
	WSAPROTOCOL_INFOW pass;
	struct tinst *in;

	if (info == NULL || (in = inst_find(info->dwCatalogEntryId)) == NULL) {
		*err = info == NULL ? WSAEFAULT : WSAEINVAL;
		return SOCKET_ERROR;
	}
	if (WSPShimNextProtocolInfo(info, in->self, &pass, err) != 0)
		return SOCKET_ERROR;
	return in->next.lpWSPStringToAddress(str, af, &pass, sa, salen, err);
}

static int WSPAPI
tr_cancel_blocking_call(LPINT err)
{
	struct tinst *in = inst_any();

	if (in == NULL) {
		*err = WSANOTINITIALISED;
		return SOCKET_ERROR;
	}
	return in->next.lpWSPCancelBlockingCall(err);
}

static int WSPAPI
tr_select(int nfds, fd_set *r, fd_set *w, fd_set *x,
    const struct timeval *tv, LPINT err)
{
	struct tinst *in = inst_any();

	if (in == NULL) {
		*err = WSANOTINITIALISED;
		return SOCKET_ERROR;
	}
	return in->next.lpWSPSelect(nfds, r, w, x, tv, err);
}

/* WSPCleanup: balance one WSPStartup of an instance and of its next
 * provider.  Instances are kept (a socket may still name one). */
static int WSPAPI
tr_cleanup(LPINT err)
{
	struct tinst *in;
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

static const WSPPROC_TABLE trace_procs = {
	.lpWSPAccept = tr_accept,
	.lpWSPAddressToString = tr_address_to_string,
	.lpWSPAsyncSelect = tr_async_select,
	.lpWSPBind = tr_bind,
	.lpWSPCancelBlockingCall = tr_cancel_blocking_call,
	.lpWSPCleanup = tr_cleanup,
	.lpWSPCloseSocket = tr_closesocket,
	.lpWSPConnect = tr_connect,
	.lpWSPDuplicateSocket = tr_duplicate_socket,
	.lpWSPEnumNetworkEvents = tr_enum_network_events,
	.lpWSPEventSelect = tr_event_select,
	.lpWSPGetOverlappedResult = tr_get_overlapped_result,
	.lpWSPGetPeerName = tr_getpeername,
	.lpWSPGetSockName = tr_getsockname,
	.lpWSPGetSockOpt = tr_getsockopt,
	.lpWSPGetQOSByName = tr_get_qos_by_name,
	.lpWSPIoctl = tr_ioctl,
	.lpWSPJoinLeaf = tr_joinleaf,
	.lpWSPListen = tr_listen,
	.lpWSPRecv = tr_recv,
	.lpWSPRecvDisconnect = tr_recv_disconnect,
	.lpWSPRecvFrom = tr_recvfrom,
	.lpWSPSelect = tr_select,
	.lpWSPSend = tr_send,
	.lpWSPSendDisconnect = tr_send_disconnect,
	.lpWSPSendTo = tr_sendto,
	.lpWSPSetSockOpt = tr_setsockopt,
	.lpWSPShutdown = tr_shutdown,
	.lpWSPSocket = tr_socket,
	.lpWSPStringToAddress = tr_string_to_address,
	.lpWSPSendMsg = tr_sendmsg,
	.lpWSPRecvMsg = tr_recvmsg,
	.lpWSPAccept4 = tr_accept4,
	.lpWSPSendFile = tr_sendfile,
	.lpWSPSplice = tr_splice,
};

/*
 * The instance of info's chain, made if new, with next as its provider
 * below; NULL when out of memory.  Lock-free, as layers/null does (a lock
 * held by another thread when the program forks would stay locked in the
 * child): a thread that loses the race to add a chain takes the winner's.
 */
static struct tinst *
inst_get(LPWSAPROTOCOL_INFOW info, DWORD self, const WSPPROC_TABLE *next)
{
	struct tinst *in, *head, *p;

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

/*
 * The one export, called once per chain that names this layer: read the
 * parameters (the first time), start the provider below and hand the core
 * our table.  0, or WSAEFAULT, WSAVERNOTSUPPORTED, WSASYSNOTREADY,
 * WSAEINVAL (bad parameters, said on stderr), WSAENOBUFS, or what
 * starting the provider below gave.
 */
EXPORT int WSPAPI
WSPStartup(WORD version, LPWSPDATA data, LPWSAPROTOCOL_INFOW info,
    WSPUPCALLTABLE upcalls, LPWSPPROC_TABLE procs)
{
	WSAPROTOCOL_INFOW pass;
	WSPPROC_TABLE next;
	struct tinst *in;
	DWORD self;
	int err;

	if (data == NULL || info == NULL || procs == NULL)
		return WSAEFAULT;
	data->wHighVersion = MAKEWORD(2, 2);
	data->wVersion = MAKEWORD(2, 2);
	if (LOBYTE(version) < 2 ||
	    (LOBYTE(version) == 2 && HIBYTE(version) < 2))
		return WSAVERNOTSUPPORTED;
	/* Found in the chain whoever loaded us; a module serves one entry,
	 * and asked for another hands back a copy (ws2spi.h). */
	if ((self = WSPShimFindSelf(info, &err)) == 0)
		return err;
	if (!WSPShimClaimSelf(&cf_self, self))
		return WSPShimStartCopy(info, self, data, procs, &err) == 0 ?
		    0 : err;
	if (wsp_once(&cf_once, configure, NULL) != 0 || cf_failed)
		return WSAEINVAL;
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
	*procs = trace_procs;
	return 0;
}
