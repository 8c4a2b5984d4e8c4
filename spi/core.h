/*
 * core.h - chain sockets, the fd table, and the operations that create and
 * retire them.  Shared by the application API (wsa.c) and the shim.
 *
 * The descriptor a program sees is the base's real kernel descriptor.  The
 * fd table maps it to a struct wsock: the chain socket (top provider's
 * table and handle).  dup()ed descriptors share one wsock; the chain's
 * WSPCloseSocket runs when the last of them closes, as the kernel does.
 */
#ifndef WSPSHIM_CORE_H
#define WSPSHIM_CORE_H

#include <stdatomic.h>
#include <stdint.h>
#include <wspshim/ws2spi.h>
#include "provider.h"
#include "tls.h"

/* wsock.flags */
#define WSOCK_API	0x1	/* made through WSASocket: WSACleanup closes it */
/* A base-only chain the shim's one-buffer hooks may bypass (shim/io.c):
 * cleared for good when the socket's network events are selected, whose
 * re-enabling rules need the base to see every receive (netev.h). */
#define WSOCK_DIRECT	0x2

/*
 * A socket of a base-only chain made by the socket() hook has no base
 * socket until something calls it through the SPI (the hooks' direct
 * paths never do): base and handle hold a token, (generation << 2) |
 * WSOCK_LAZY, unique to this life of the wsock, and core_sock_ready()
 * makes the base socket on first use.  A token retired unused becomes
 * token | WSOCK_DEAD.  Base handles are 2 modulo 4, so bit 0 tells both
 * apart from a base socket.
 */
#define WSOCK_LAZY	1
#define WSOCK_DEAD	2

struct wsock {
	/*
	 * The pool's free-list link while the wsock is free (pool.h): a
	 * thread that read the wsock from the fd table just before another
	 * closed it may still be reading it, so the fields it uses stay
	 * whole, and this word is never read.
	 */
	_Atomic uint32_t pool_link;
	int		owed;		/* under the lock: the descriptor
					 * whose calls in flight an owed
					 * retirement waits for (see
					 * core_retire_idle), or -1 */
	const WSPPROC_TABLE *procs;	/* the top provider's table */
	_Atomic SOCKET	handle;		/* the top provider's handle */
	_Atomic SOCKET	base;		/* the base provider's handle */
	struct chain	*chain;
	_Atomic int	fdrefs;		/* descriptors naming this socket */
	_Atomic int	kfd;		/* the socket's own descriptor (the
					 * one a base-only chain's close
					 * closes); -1 once the kernel
					 * closed the last */
	int		alt;		/* another descriptor naming it, or -1 */
	unsigned	flags;
	DWORD		dwflags;	/* lazy: its base socket's dwFlags */
	struct wsock	*owed_next;	/* under the lock: the next owed
					 * retirement */
	uint64_t	gen;		/* lives of this wsock (lazy tokens) */
};

/*
 * fdtab_calls[fd]: the calls in flight on descriptor fd (core_hold), and
 * a flag that a close waits for them (fd's pending slot, or an owed
 * retirement).  Counted per descriptor, not per socket: a close of one
 * descriptor of a dup()ed socket waits only for the calls made on that
 * number, as only they reach the kernel on it.  Never reset while the
 * process runs: a thread that read a stale table entry may count itself
 * in on a number for a moment before it sees the table changed and
 * counts itself out.
 */
#define FDTAB_CALLS	0x3fffffffu
#define FDTAB_DEFER	0x40000000u

/* Make the base socket of a lazy wsock (see WSOCK_LAZY): ws, or NULL when
 * it is being closed or no base socket can be made (the call then passes
 * through to libc, which is what the base would do). */
struct wsock *core_materialize(struct wsock *ws);

/* ws, ready for calls through its chain (handle and base are the
 * provider's), or NULL as core_materialize().  Every consumer of a wsock
 * from the fd table goes through here (shim_resolve, core_manage). */
static inline struct wsock *
core_sock_ready(struct wsock *ws)
{
	if (__builtin_expect((atomic_load_explicit(&ws->base,
	    memory_order_acquire) & 1) == 0, 1))
		return ws;
	return core_materialize(ws);
}

/* Markers in the fd table: a socket to adopt on first use, and a
 * descriptor of the library's or a layer's own (a log or trace file) that
 * the program's close(), close_range() and dup2() must not take. */
#define FDTAB_ADOPT	((struct wsock *)1)
#define FDTAB_PROTECTED	((struct wsock *)2)

/*
 * A descriptor the program closed while calls were in flight on its
 * socket: the kernel descriptor stays open (those calls reach the kernel
 * on it) and its slot holds the wsock with the top bit set until the
 * last of those calls returns and the close is done (core_hold).
 * Pointers never have the top bit set in user space, so a pending slot
 * is negative as a signed value, and fdtab_is_sock() stays one compare.
 */
#define FDTAB_PENDING_BIT	((uintptr_t)1 << 63)

static inline struct wsock *
fdtab_pending(const struct wsock *ws)
{
	return (struct wsock *)((uintptr_t)ws | FDTAB_PENDING_BIT);
}

/* Whether a table value is a pending close (see FDTAB_PENDING_BIT). */
static inline int
fdtab_is_pending(const struct wsock *v)
{
	return ((uintptr_t)v & FDTAB_PENDING_BIT) != 0;
}

/* Whether a table value is a chain socket (not NULL, a marker or a
 * pending close). */
static inline int
fdtab_is_sock(const struct wsock *ws)
{
	return (intptr_t)ws > (intptr_t)FDTAB_PROTECTED;
}

/* How many descriptors are protected now (0 keeps range closes fast). */
extern unsigned fdtab_protected;

extern _Atomic(struct wsock *) *fdtab_slots;
extern _Atomic uint32_t *fdtab_calls;
extern unsigned fdtab_cap;

/* The wsock of fd, FDTAB_ADOPT, or NULL; one bounds-checked load. */
static inline struct wsock *
fdtab_get(int fd)
{
	if ((unsigned)fd >= __atomic_load_n(&fdtab_cap, __ATOMIC_RELAXED))
		return NULL;
	return atomic_load_explicit(&fdtab_slots[fd], memory_order_acquire);
}

/* How many slots are pending closes now (0 keeps range closes fast). */
extern unsigned fdtab_npending;

/* Whether the program's close, dup2 onto it, or range close must leave
 * the descriptor of table value v open: protected, or a pending close. */
static inline int
fdtab_keep_open(const struct wsock *v)
{
	return v == FDTAB_PROTECTED || fdtab_is_pending(v);
}

/* Set up the fd table (sized from RLIMIT_NOFILE), once. */
void fdtab_init(void);

/* Whether the table can hold fd. */
static inline int
fdtab_fits(int fd)
{
	return fd >= 0 && (unsigned)fd < fdtab_cap;
}

/* Publish s (or FDTAB_ADOPT, or NULL) for fd; returns what was there. */
struct wsock *fdtab_swap(int fd, struct wsock *s);

extern unsigned fdtab_hi;	/* one past the highest descriptor published */

/* Nothing: raises the high mark to cover fd (fdtab_fits(fd)). */
static inline void
fdtab_cover(int fd)
{
	unsigned hi = __atomic_load_n(&fdtab_hi, __ATOMIC_RELAXED);

	while ((unsigned)fd >= hi && !__atomic_compare_exchange_n(&fdtab_hi,
	    &hi, (unsigned)fd + 1, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

/* Publish s for fd if fd names nothing (no marker, no socket): 1 if it
 * did, 0 if the slot was taken (or fd is beyond the table). */
static inline int
fdtab_claim(int fd, struct wsock *s)
{
	struct wsock *want = NULL;

	if (!fdtab_fits(fd))
		return 0;
	fdtab_cover(fd);
	return atomic_compare_exchange_strong_explicit(&fdtab_slots[fd],
	    &want, s, memory_order_acq_rel, memory_order_relaxed);
}

/* One past the highest descriptor ever published (bounds table scans). */
static inline unsigned
fdtab_high(void)
{
	return __atomic_load_n(&fdtab_hi, __ATOMIC_RELAXED);
}

/* Initialise the core once: libc table, fd table, catalog, base.  Safe to
 * call from any hook; returns 0 when ready. */
int core_init(void);

/*
 * Reload the catalog in force from the catalog file when the file changed
 * since it was loaded (a stat; always with force), WSPSHIM_LAYERS applied
 * over it, published as one new catalog: sockets made from then on select
 * from it, sockets open keep their chains.  Called at WSAStartup, by
 * WSCEnumProtocols outside a provider, and (forced) after each WSC* change
 * of this process; never on socket()'s path.  core_catalog_hook (set by
 * the shim) is told of the new catalog.
 */
void core_catalog_refresh(int force);
extern void (*core_catalog_hook)(const struct catalog *c);

extern int core_state;		/* 0 new, 1 starting, 2 ready */

/* Whether core_init() has finished. */
static inline int
core_ready(void)
{
	return __atomic_load_n(&core_state, __ATOMIC_ACQUIRE) == 2;
}

/*
 * Create a socket through the chain of a routed catalog entry (the
 * WSASocket role, after catalog_route): start the chain, call the top
 * WSPSocket, learn the kernel descriptor and publish it.  Returns the
 * descriptor, or -1 with *err a WSA code.
 */
int core_socket(const struct catalog_entry *e, int af, int type,
    int protocol, LPWSAPROTOCOL_INFOW info, GROUP g, DWORD flags,
    unsigned wflags, int *err);

/*
 * socket() on c, a started chain that is the base alone, with af, type
 * and protocol that select c's entry and only WSA_FLAG_NO_HANDLE_INHERIT
 * and WSA_FLAG_WSPSHIM_NONBLOCK in flags: the kernel socket, published
 * with no base socket yet (see WSOCK_LAZY), so its whole life, when only
 * the hooks' direct paths use it, is one pool object and two
 * compare-and-swaps.  The descriptor, or minus a WSA code (the native
 * errno kept for the shim).
 */
int core_socket_base(struct chain *c, int af, int type, int protocol,
    DWORD flags);

/*
 * socket() on c, a started chain with layers, with af, type and protocol
 * that select c's entry and socket()'s flags in flags: the top provider's
 * WSPSocket with the chain entry's struct, no group, and the new socket
 * published (as core_socket with no struct, without finding the chain
 * again).  The descriptor, or minus a WSA code (the native errno kept for
 * the shim).
 */
int core_socket_top(struct chain *c, int af, int type, int protocol,
    DWORD flags);

/*
 * Take a chain handle the top provider returned (WSPSocket, WSPAccept)
 * into a new wsock and publish it under its kernel descriptor.  made is
 * core_made_since() of the call that returned h.  Returns the descriptor
 * or -1 with *err (the handle is closed on failure).
 */
int core_publish(struct chain *c, SOCKET h, SOCKET made, unsigned wflags,
    int *err);

/*
 * The base socket a chain call made: bracket a WSPSocket or WSPAccept
 * with mark = core_made_mark() ... core_made_since(mark).  When the chain
 * made exactly one base socket on this thread, that is the new socket's
 * base (its descriptor is base_made_fd), and the core need not ask
 * SIO_BSP_HANDLE and SIO_BASE_HANDLE down the chain; otherwise (none: a
 * layer reused one; several: a layer made more, or a nested WSASocket;
 * or the one it made was closed again on this thread) INVALID_SOCKET,
 * and it asks.
 */
static inline unsigned
core_made_mark(void)
{
	return wsp_tls.made;
}

static inline SOCKET
core_made_since(unsigned mark)
{
	SOCKET b = wsp_tls.made_base;

	/* The handle before the count: a signal handler that makes a
	 * socket after the handle is read raises the count. */
	atomic_signal_fence(memory_order_seq_cst);
	return wsp_tls.made - mark == 1 ? b : INVALID_SOCKET;
}

/* The chain socket of fd when its slot holds a marker or a lazy wsock:
 * the adopted (FDTAB_ADOPT) or ready (core_sock_ready) wsock, or NULL when
 * the call passes through.  errno is kept. */
struct wsock *core_resolve(int fd);

/* Adopt fd, a socket the core did not see created, through the chain its
 * triple selects, if that chain has layers (or WSPSHIM_MANAGE=all).  The
 * wsock, or NULL (the descriptor stays unmanaged).  errno is kept. */
struct wsock *core_adopt(int fd);

/* As core_adopt, but force also wraps a socket of a base-only entry (the
 * Winsock API was asked about it). */
struct wsock *core_manage(int fd, int force);

/* Whether sockets of entry e go through the chain (it has layers, or
 * WSPSHIM_MANAGE=all is set). */
int core_manages(const struct catalog_entry *e);

/* The catalog entry an existing socket's (domain, type, protocol)
 * selects, or NULL. */
const struct catalog_entry *core_entry_of_fd(int fd);

/* Close one descriptor of a managed socket: drop it from the table, close
 * it, and run the chain's WSPCloseSocket if it was the last.  0 or -1 with
 * *err. */
int core_close(int fd, int *err);

/* core_close() for the close() hook, which found ws (a chain socket or a
 * marker) in fd's slot: 0, or minus a WSA code. */
int core_close_sock(int fd, struct wsock *ws);

/* fd2 now names the same socket as fd (after a successful dup family call
 * that returned fd2).  Drops whatever fd2 named before. */
void core_dup(int fd, int fd2);

/* The kernel closed fd (or reused its number) behind the core's back:
 * forget it, releasing the chain socket without a close() of fd. */
void core_forget(int fd);

/* Whether fd's slot is a pending close, looked at under the lifecycle
 * lock (a pending close being done now has closed the number when the
 * slot says so no more). */
int core_pending(int fd);

/* core_unhold() when the count it dropped was the last with a close
 * waiting: the close, done now. */
void core_idle(int fd);

/*
 * A call on ws, which the program named as fd, holds fd from here to
 * core_unhold(fd): a close of fd meanwhile leaves the descriptor open
 * (and so the chain's WSPCloseSocket unrun, if it was the socket's last)
 * until the last call in flight on fd returns, as the kernel keeps a file
 * while a syscall uses it.  So the call reaches the kernel on the socket
 * it started on, and every provider's context of it stays valid.  It
 * fails when fd no longer names ws (closed since the caller read the
 * table, closed and made again, or not ready): the call is then one that
 * started after the close, and fails with WSAEBADF.  The count goes up
 * before the table is read again, and a close takes the slot before it
 * reads the count (both sequentially consistent), so of a call and a
 * close that race, at least one sees the other.  1 with ws's base handle
 * in *base, or 0.
 */
static inline int
core_hold(struct wsock *ws, int fd, SOCKET *base)
{
	SOCKET b;

	atomic_fetch_add(&fdtab_calls[fd], 1);
	if (__builtin_expect(atomic_load(&fdtab_slots[fd]) == ws, 1)) {
		/* After the table: the fields of the life it names. */
		b = atomic_load_explicit(&ws->base, memory_order_relaxed);
		if (__builtin_expect((b & 1) == 0, 1)) {
			*base = b;
			return 1;
		}
	}
	if (atomic_fetch_sub(&fdtab_calls[fd], 1) == (FDTAB_DEFER | 1))
		core_idle(fd);
	return 0;
}

/* core_hold(), out of line: for the hooks whose own path to libc should
 * not pay for the registers an inline hold needs. */
int core_hold_call(struct wsock *ws, int fd, SOCKET *base);

/* core_unhold(), out of line, for the same hooks. */
void core_unhold_call(int fd);

/* The end of a call core_hold() let in on fd: a close that waited for it
 * is done now if it was the last. */
static inline void
core_unhold(int fd)
{
	if (__builtin_expect(atomic_fetch_sub(&fdtab_calls[fd], 1) ==
	    (FDTAB_DEFER | 1), 0))
		core_idle(fd);
}

/* Move SOCK_NONBLOCK/SOCK_CLOEXEC out of *type into WSPSocket dwFlags
 * bits (WSA_FLAG_WSPSHIM_NONBLOCK, WSA_FLAG_NO_HANDLE_INHERIT). */
DWORD wsa_type_flags(int *type);

/* Final WSACleanup: close every descriptor made through the API. */
void core_close_api_sockets(void);

#endif
