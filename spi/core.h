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

struct wsock {
	const WSPPROC_TABLE *procs;	/* the top provider's table */
	SOCKET		handle;		/* the top provider's handle */
	SOCKET		base;		/* the base provider's handle */
	struct chain	*chain;
	_Atomic int	fdrefs;		/* descriptors naming this socket */
	_Atomic int	kfd;		/* the descriptor the base uses */
	int		alt;		/* another descriptor naming it, or -1 */
	unsigned	flags;
};

/* Markers in the fd table: a socket to adopt on first use, and a
 * descriptor of the library's or a layer's own (a log or trace file) that
 * the program's close(), close_range() and dup2() must not take. */
#define FDTAB_ADOPT	((struct wsock *)1)
#define FDTAB_PROTECTED	((struct wsock *)2)

/* Whether a table value is a chain socket (not NULL or a marker). */
static inline int
fdtab_is_sock(const struct wsock *ws)
{
	return (uintptr_t)ws > (uintptr_t)FDTAB_PROTECTED;
}

/* How many descriptors are protected now (0 keeps range closes fast). */
extern unsigned fdtab_protected;

extern _Atomic(struct wsock *) *fdtab_slots;
extern unsigned fdtab_cap;

/* The wsock of fd, FDTAB_ADOPT, or NULL; one bounds-checked load. */
static inline struct wsock *
fdtab_get(int fd)
{
	if ((unsigned)fd >= __atomic_load_n(&fdtab_cap, __ATOMIC_RELAXED))
		return NULL;
	return atomic_load_explicit(&fdtab_slots[fd], memory_order_acquire);
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

/* Publish s for fd if fd names nothing (no marker, no socket): 1 if it
 * did, 0 if the slot was taken (or fd is beyond the table). */
int fdtab_claim(int fd, struct wsock *s);

/* One past the highest descriptor ever published (bounds table scans). */
unsigned fdtab_high(void);

/* Initialise the core once: libc table, fd table, catalog, base.  Safe to
 * call from any hook; returns 0 when ready. */
int core_init(void);
int core_ready(void);

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
 * base, and the core need not ask SIO_BSP_HANDLE and SIO_BASE_HANDLE
 * down the chain; otherwise (none: a layer reused one; several: a layer
 * made more, or a nested WSASocket) INVALID_SOCKET, and it asks.
 */
static inline unsigned
core_made_mark(void)
{
	return wsp_tls.made;
}

static inline SOCKET
core_made_since(unsigned mark)
{
	return wsp_tls.made - mark == 1 ? (SOCKET)wsp_tls.made_base :
	    INVALID_SOCKET;
}

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

/* fd2 now names the same socket as fd (after a successful dup family call
 * that returned fd2).  Drops whatever fd2 named before. */
void core_dup(int fd, int fd2);

/* The kernel closed fd (or reused its number) behind the core's back:
 * forget it, releasing the chain socket without a close() of fd. */
void core_forget(int fd);

/* Move SOCK_NONBLOCK/SOCK_CLOEXEC out of *type into WSPSocket dwFlags
 * bits (WSA_FLAG_WSPSHIM_NONBLOCK, WSA_FLAG_NO_HANDLE_INHERIT). */
DWORD wsa_type_flags(int *type);

/* Final WSACleanup: close every descriptor made through the API. */
void core_close_api_sockets(void);

#endif
