/*
 * base.c - the built-in base provider: the end of every chain, and the only
 * code that issues socket syscalls (always through the libc table).
 *
 * A base SOCKET is a virtual handle the base mints itself, naming a small
 * per-socket struct in a type-stable pool: the kernel descriptor (atomic,
 * so the core can re-point it), a copy of the socket's catalog entry, its
 * WSPSocket flags and whether the kernel already closed the descriptor
 * behind it.  The value packs a process-wide generation and the struct's
 * pool index, and is 2 modulo 4, so it never equals a WPU handle (0 modulo
 * 4) or a kernel descriptor (below 2^32); a lookup is one pool load and a
 * compare with the struct's own handle, which also catches stale handles.
 * The base does not use the WPU handle table: that keeps the data path at
 * a few instructions per call.
 *
 * Errors from the kernel go through errmap_from_errno(), which keeps the
 * native errno for the shim; errors the base decides itself are plain WSA
 * codes.  The data path (Send, Recv and friends) takes no lock and
 * allocates nothing: WSABUF arrays become iovecs on the stack.
 *
 * Duplicate-socket tokens live in a small static table of one-shot slots.
 * A token is a tag, the slot's generation and its index packed into
 * dwProviderReserved, so a consumed, recycled or forged value is refused.
 * docs/base-provider.md says what each operation does and where it keeps
 * Linux semantics instead of Winsock's.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "addrstr.h"
#include "base.h"
#include "tls.h"
#include "catalog.h"
#include "errmap.h"
#include "ext.h"
#include "handle.h"
#include "libc.h"
#include "netev.h"
#include "ovl.h"
#include "pool.h"
#include "share.h"
#include "wstr.h"

/* The SPI version the base supports: exactly 2.2. */
#define BASE_VERSION		MAKEWORD(2, 2)

#define BASE_MP_FLAGS	(WSA_FLAG_MULTIPOINT_C_ROOT |			\
			 WSA_FLAG_MULTIPOINT_C_LEAF |			\
			 WSA_FLAG_MULTIPOINT_D_ROOT |			\
			 WSA_FLAG_MULTIPOINT_D_LEAF)
#define BASE_OPEN_FLAGS	(WSA_FLAG_NO_HANDLE_INHERIT |			\
			 WSA_FLAG_WSPSHIM_NONBLOCK)
#define BASE_SOCK_FLAGS	(WSA_FLAG_OVERLAPPED | BASE_MP_FLAGS |		\
			 WSA_FLAG_ACCESS_SYSTEM_SECURITY | BASE_OPEN_FLAGS)

/* WSABUF arrays up to this size convert to iovecs in a small stack frame. */
#define BASE_IOV_SMALL		8

/* Room for any address string (an AF_UNIX path is at most 108 bytes). */
#define BASE_ADDRSTR_MAX	256

/*
 * The multi-buffer paths live out of line (noinline), so the single-buffer
 * fast path keeps a small stack frame; only the rare large arrays pay for
 * an IOV_MAX-sized one.
 */
#define BASE_COLD	__attribute__((noinline, cold))
#define BASE_OUTLINE	__attribute__((noinline))
#define BASE_INLINE	inline __attribute__((always_inline))

/*
 * While any socket of the process has network events selected (netev.h),
 * the calls whose outcome re-enables one go through an out-of-line
 * variant that tells the watcher after the call.  Tested at entry, so the
 * usual call pays one compare and a branch not taken and keeps nothing
 * across its syscall.
 */
#define BASE_NETEV_TAKES(call) do {					\
	if (netev_any())						\
		return call;						\
} while (0)

/* bs->detached: the socket has had overlapped operations (ovl.c), so
 * closing it cancels what is pending, or network events (netev.c), which
 * closing ends.  A bit of a field the close path
 * tests anyway, so sockets that never had one pay nothing. */
#define BASE_DETACHED		1
#define BASE_OVL		2
#define BASE_NETEV		4	/* had network events (netev.c) */
#define BASE_MARKS		(BASE_OVL | BASE_NETEV)

/* Token layout: tag (5 bits) | generation (17) | slot index (10). */
#define BASE_TOKEN_TAG		0xa8000000u
#define BASE_TOKEN_TAG_MASK	0xf8000000u
#define BASE_TOKEN_IDX_BITS	10
#define BASE_TOKEN_SLOTS	(1u << BASE_TOKEN_IDX_BITS)
#define BASE_TOKEN_GEN_MASK	0x1ffffu
/* The high bits this tag shares with share.c's (SHARE_TOKEN_TAG). */
#define BASE_ANY_TOKEN_MASK	0xf0000000u
_Static_assert((BASE_TOKEN_TAG & BASE_ANY_TOKEN_MASK) ==
    (SHARE_TOKEN_TAG & BASE_ANY_TOKEN_MASK) &&
    BASE_TOKEN_TAG != SHARE_TOKEN_TAG, "one test finds either token");

/* Token slot states, in the low two bits of the slot's state word. */
#define BASE_TOK_FREE		0u
#define BASE_TOK_BUSY		1u
#define BASE_TOK_LIVE		2u
#define BASE_TOK_STATE		3u

/* What a token's descriptor is. */
#define BASE_TOK_DUP		1	/* ours, from WSPDuplicateSocket */
#define BASE_TOK_ADOPT		2	/* the program's, taken over as it is */

struct base_sock {
	_Atomic uint32_t	pool_link;	/* the pool's while free: a stale
						 * reader's fields stay whole */
	_Atomic int		fd;		/* the kernel descriptor */
	_Atomic int		detached;	/* the kernel closed fd (bit 0);
						 * overlapped state (BASE_OVL) */
	_Atomic DWORD		flags;		/* WSPSocket dwFlags */
	uint32_t		idx1;		/* pool index + 1, 0 until
						 * known (it never changes) */
	_Atomic SOCKET		self;		/* our own handle */
	const WSAPROTOCOL_INFOW	*info;		/* its entry (base_info_keep) */
	int			stream;		/* info's type is SOCK_STREAM:
						 * the one-buffer receive reads
						 * it beside fd */
};

struct base_token {
	_Atomic uint32_t	state;	/* generation << 2 | BASE_TOK_* */
	int			fd;
	int			kind;	/* BASE_TOK_DUP or BASE_TOK_ADOPT */
	struct share_blob	*blob;	/* the layers' attachments, or NULL */
	DWORD			flags;	/* the source socket's dwFlags */
};

static struct pool base_pool = POOL_INIT(struct base_sock);

/*
 * Each thread keeps the last base socket it freed, so a thread that makes
 * and closes sockets in turn stays off the pool's shared free list (as the
 * core keeps a wsock: see core.c).  Taken and left with one exchange each,
 * which a signal handler cannot split; a thread's key destructor gives it
 * back to the pool.
 */
static __thread _Atomic(struct base_sock *) base_spare
    __attribute__((tls_model("initial-exec")));
static __thread int base_spare_keyed
    __attribute__((tls_model("initial-exec")));
static pthread_key_t base_spare_key;
static _Atomic int base_spare_ok;	/* 0 none, 1 making, 2 the key exists */
static struct base_token base_tokens[BASE_TOKEN_SLOTS];
static _Atomic unsigned base_token_hint;

static _Atomic int base_starts;
static atomic_flag base_upcall_lock = ATOMIC_FLAG_INIT;
static WSPUPCALLTABLE base_upcalls;

static const WCHAR base_description[] =
    u"libwspshim base provider (Linux sockets)";

/* SOCKET_ERROR, with code in *lpErrno. */
static inline int
base_fail(LPINT lpErrno, int code)
{
	*lpErrno = code;
	return SOCKET_ERROR;
}

/* SOCKET_ERROR, with the mapped (and remembered) errno in *lpErrno. */
static int
base_fail_errno(LPINT lpErrno)
{
	*lpErrno = errmap_from_errno(errno);
	return SOCKET_ERROR;
}

/* INVALID_SOCKET, with code in *lpErrno. */
static inline SOCKET
base_fail_h(LPINT lpErrno, int code)
{
	*lpErrno = code;
	return INVALID_SOCKET;
}

/* Base handles: generation << 24 | pool index << 2 | 2. */
#define BASE_H_IDX_SHIFT	2
#define BASE_H_IDX_MASK		((SOCKET)0x3fffff)
#define BASE_H_GEN_SHIFT	24
#define BASE_H_TAG		((SOCKET)2)
_Static_assert(sizeof(INT) == sizeof(socklen_t),
    "length pointers pass to the kernel as they are");
_Static_assert(((SOCKET)POOL_MAX_CHUNKS << POOL_CHUNK_SHIFT) - 1 <=
    BASE_H_IDX_MASK, "every pool index fits in a base handle");

__thread int base_made_fd __attribute__((tls_model("initial-exec")));

/* Generations start at 256, so every handle is at least 2^32. */
static _Atomic uint64_t base_gen = 256;

/*
 * The socket a handle names, or NULL for a stale or foreign handle.  The
 * struct's own handle is 0 or a live handle (at least HANDLE_MIN, 2 modulo
 * 4, naming this very struct), so once the tag rules out 0, comparing it
 * with s is the whole check.  pool_at_fast() with the object size as a
 * constant: one load for the chunk, a multiply by an immediate.
 */
static inline struct base_sock *
base_get(SOCKET s)
{
	uint32_t i = (uint32_t)((s >> BASE_H_IDX_SHIFT) & BASE_H_IDX_MASK);
	unsigned char *c;
	struct base_sock *bs;

	if ((s & 3) != BASE_H_TAG)
		return NULL;
	c = atomic_load_explicit(&base_pool.chunks[i >> POOL_CHUNK_SHIFT],
	    memory_order_acquire);
	if (c == NULL)
		return NULL;
	bs = (struct base_sock *)(void *)(c + POOL_HDR +
	    (size_t)(i & ((1u << POOL_CHUNK_SHIFT) - 1)) *
	    POOL_OBJSIZE(struct base_sock));
	if (atomic_load_explicit(&bs->self, memory_order_acquire) != s)
		return NULL;
	return bs;
}

/*
 * The kernel descriptor to use for bs: the one the program called on, when
 * the shim recorded it for this very socket (so a dup()ed descriptor's
 * calls reach the kernel on that descriptor, as they would without us,
 * even while another thread closes and reuses the original's number), else
 * the socket's own.
 */
static inline int
base_fd(struct base_sock *bs)
{
	if (wsp_tls.call_base != 0 && wsp_tls.call_base ==
	    atomic_load_explicit(&bs->self, memory_order_relaxed))
		return wsp_tls.call_fd;
	return atomic_load_explicit(&bs->fd, memory_order_relaxed);
}

/* Nothing: closes a descriptor of ours, leaving errno as it was. */
static void
base_close_quiet(int fd)
{
	int saved = errno;

	(void)libc.close(fd);
	errno = saved;
}

/* The thread's key destructor: its spare base socket goes to the pool. */
static void
base_spare_free(void *unused)
{
	struct base_sock *bs;

	base_spare_keyed = 0;
	bs = atomic_exchange_explicit(&base_spare, NULL, memory_order_relaxed);
	if (bs != NULL)
		pool_put(&base_pool, bs);
}

/* Nothing: makes the key that gives exiting threads' spares back, once
 * (without it, freed base sockets go straight to the pool). */
static void
base_spare_init(void)
{
	int expected = 0;

	if (atomic_load_explicit(&base_spare_ok, memory_order_acquire) != 0 ||
	    !atomic_compare_exchange_strong(&base_spare_ok, &expected, 1))
		return;
	if (pthread_key_create(&base_spare_key, base_spare_free) == 0)
		atomic_store_explicit(&base_spare_ok, 2, memory_order_release);
}

/* A base socket to fill in (its fields as its last life left them, but
 * idx1, which stays right), or NULL when the pool runs out. */
static inline struct base_sock *
base_sock_get(void)
{
	struct base_sock *bs;

	bs = atomic_exchange_explicit(&base_spare, NULL, memory_order_relaxed);
	if (bs == NULL)
		return pool_get_raw(&base_pool);
	atomic_thread_fence(memory_order_release);	/* as pool_get_raw */
	return bs;
}

/* Nothing: bs becomes the thread's spare, and the old spare, if any,
 * goes to the pool. */
static inline void
base_sock_spare(struct base_sock *bs)
{
	bs = atomic_exchange_explicit(&base_spare, bs, memory_order_relaxed);
	if (bs != NULL)
		pool_put(&base_pool, bs);
}

/* base_sock_put() on a thread's first time: registers the key that gives
 * its spare back when it exits. */
static __attribute__((noinline)) void
base_sock_put_first(struct base_sock *bs)
{
	if (atomic_load_explicit(&base_spare_ok, memory_order_acquire) != 2 ||
	    pthread_setspecific(base_spare_key, &base_spare_ok) != 0) {
		pool_put(&base_pool, bs);
		return;
	}
	base_spare_keyed = 1;
	base_sock_spare(bs);
}

/* Nothing: bs, whose handle is cleared, is free (it may be handed out
 * again at once). */
static inline void
base_sock_put(struct base_sock *bs)
{
	if (__builtin_expect(!base_spare_keyed, 0))
		base_sock_put_first(bs);
	else
		base_sock_spare(bs);
}

/*
 * The protocol entries base sockets point at.  A socket keeps its entry
 * (for SO_PROTOCOL_INFO, WSPDuplicateSocket, and its type on the receive
 * path) as a pointer to an immutable struct, never a copy of its own: a
 * 628-byte struct per socket would cost more to copy than the rest of
 * socket() and close() together.  An entry of the catalog in force is used
 * as it is (catalogs are never freed or changed once in force); any other
 * struct (a layer's copy) is kept once per distinct content, with
 * dwProviderReserved (a token) as 0, on a list that only grows.
 */
struct base_info {
	struct base_info	*next;
	WSAPROTOCOL_INFOW	info;
};

static _Atomic(struct base_info *) base_infos;

/* Whether a and b are the same entry (dwProviderReserved aside). */
static int
base_info_same(const WSAPROTOCOL_INFOW *a, const WSAPROTOCOL_INFOW *b)
{
	const size_t r = offsetof(WSAPROTOCOL_INFOW, dwProviderReserved),
	    after = r + sizeof(a->dwProviderReserved);

	return a->dwCatalogEntryId == b->dwCatalogEntryId &&
	    memcmp(a, b, r) == 0 &&
	    memcmp((const char *)a + after, (const char *)b + after,
	    sizeof(*a) - after) == 0;
}

/* base_info_keep() for a struct the catalog in force does not own (or
 * one with a token): the kept copy, or NULL (no memory). */
static __attribute__((noinline)) const WSAPROTOCOL_INFOW *
base_info_copy(const WSAPROTOCOL_INFOW *info)
{
	struct base_info *k, *head;

	head = atomic_load_explicit(&base_infos, memory_order_acquire);
	for (k = head; k != NULL; k = k->next)
		if (&k->info == info || base_info_same(&k->info, info))
			return &k->info;
	if ((k = malloc(sizeof(*k))) == NULL)
		return NULL;
	k->info = *info;
	k->info.dwProviderReserved = 0;
	/* Another thread may have kept the same content meanwhile: a
	 * duplicate on the list is harmless. */
	do
		k->next = head;
	while (!atomic_compare_exchange_weak_explicit(&base_infos, &head, k,
	    memory_order_release, memory_order_acquire));
	return &k->info;
}

/* The immutable struct equal to info with no token, or NULL (no memory).
 * The usual struct, an entry of the catalog in force that a layer passed
 * down as it is, is its own answer. */
static inline const WSAPROTOCOL_INFOW *
base_info_keep(const WSAPROTOCOL_INFOW *info)
{
	if (__builtin_expect(info->dwProviderReserved == 0 &&
	    catalog_owns(catalog_current(), info), 1))
		return info;
	return base_info_copy(info);
}

/*
 * A new base handle that owns fd, for info, an immutable struct (see
 * base_info_keep), or INVALID_SOCKET with *err (fd is left open for the
 * caller to deal with).
 */
static inline SOCKET
base_wrap_kept(int fd, const WSAPROTOCOL_INFOW *info, DWORD flags, int *err)
{
	struct base_sock *bs;
	uint32_t i1;
	SOCKET h;

	if ((bs = base_sock_get()) == NULL) {
		*err = WSAENOBUFS;
		return INVALID_SOCKET;
	}
	/* Only the owner reads idx1, and an object's index never changes:
	 * it is worked out once per object, not per socket. */
	if (__builtin_expect((i1 = bs->idx1) == 0, 0))
		bs->idx1 = i1 = pool_index(&base_pool, bs) + 1;
	bs->info = info;
	bs->stream = info->iSocketType == SOCK_STREAM;
	atomic_store_explicit(&bs->flags, flags, memory_order_relaxed);
	atomic_store_explicit(&bs->detached, 0, memory_order_relaxed);
	atomic_store_explicit(&bs->fd, fd, memory_order_relaxed);
	h = (SOCKET)atomic_fetch_add_explicit(&base_gen, 1,
	    memory_order_relaxed) << BASE_H_GEN_SHIFT |
	    (SOCKET)(i1 - 1) << BASE_H_IDX_SHIFT | BASE_H_TAG;
	atomic_store_explicit(&bs->self, h, memory_order_release);
	/*
	 * What the core reads back instead of asking SIO_BASE_HANDLE and
	 * SIO_BSP_HANDLE down the chain (see core_made_since): the
	 * descriptor, then the handle, then the count, which one
	 * instruction adds (a signal handler that makes a socket between
	 * its load and store would otherwise be lost from the count).
	 */
	base_made_fd = fd;
	atomic_signal_fence(memory_order_seq_cst);
	wsp_tls.made_base = h;
	atomic_signal_fence(memory_order_seq_cst);
	__atomic_fetch_add(&wsp_tls.made, 1, __ATOMIC_RELAXED);
	return h;
}

/* base_wrap_kept() for any struct info: a new base handle that owns fd, or
 * INVALID_SOCKET with *err (fd is left open). */
static inline SOCKET
base_wrap(int fd, const WSAPROTOCOL_INFOW *info, DWORD flags, int *err)
{
	if ((info = base_info_keep(info)) == NULL) {
		*err = WSAENOBUFS;
		return INVALID_SOCKET;
	}
	return base_wrap_kept(fd, info, flags, err);
}

/* --- duplicate-socket tokens ------------------------------------------ */

/* Whether info->dwProviderReserved holds a token of ours. */
int
base_is_token(const WSAPROTOCOL_INFOW *info)
{
	return info != NULL && (info->dwProviderReserved & BASE_ANY_TOKEN_MASK)
	    == (BASE_TOKEN_TAG & BASE_ANY_TOKEN_MASK);
}

/* 0 and a new live token for fd (and blob, taken over) in *tok, or
 * WSAENOBUFS (table full; blob is freed). */
static int
base_token_new(int fd, int kind, DWORD flags, struct share_blob *blob,
    DWORD *tok)
{
	struct base_token *t;
	unsigned i, idx, start;
	uint32_t st;

	start = atomic_load_explicit(&base_token_hint, memory_order_relaxed);
	for (i = 0; i < BASE_TOKEN_SLOTS; i++) {
		idx = (start + i) % BASE_TOKEN_SLOTS;
		t = &base_tokens[idx];
		st = atomic_load_explicit(&t->state, memory_order_acquire);
		if ((st & BASE_TOK_STATE) != BASE_TOK_FREE)
			continue;
		if (!atomic_compare_exchange_strong_explicit(&t->state, &st,
		    (st & ~BASE_TOK_STATE) | BASE_TOK_BUSY,
		    memory_order_acquire, memory_order_relaxed))
			continue;
		t->fd = fd;
		t->kind = kind;
		t->flags = flags;
		t->blob = blob;
		atomic_store_explicit(&t->state,
		    (st & ~BASE_TOK_STATE) | BASE_TOK_LIVE,
		    memory_order_release);
		atomic_store_explicit(&base_token_hint, idx + 1,
		    memory_order_relaxed);
		*tok = BASE_TOKEN_TAG | ((st >> 2) & BASE_TOKEN_GEN_MASK) <<
		    BASE_TOKEN_IDX_BITS | idx;
		return 0;
	}
	free(blob);
	return WSAENOBUFS;
}

/* Nothing: frees a slot claimed from state st, bumping its generation. */
static void
base_token_release(struct base_token *t, uint32_t st)
{
	atomic_store_explicit(&t->state, ((st >> 2) + 1) << 2 | BASE_TOK_FREE,
	    memory_order_release);
}

/*
 * Consume a token: 0 and its descriptor, kind and flags (its attachments
 * delivered to this thread's layers), or WSAEINVAL for a value that is not
 * live (used, recycled or forged).
 */
static int
base_token_take(DWORD tok, int *fd, int *kind, DWORD *flags)
{
	struct share_blob *blob;
	struct base_token *t;
	uint32_t st;

	t = &base_tokens[tok & (BASE_TOKEN_SLOTS - 1)];
	st = atomic_load_explicit(&t->state, memory_order_acquire);
	if ((st & BASE_TOK_STATE) != BASE_TOK_LIVE ||
	    ((st >> 2) & BASE_TOKEN_GEN_MASK) !=
	    ((tok >> BASE_TOKEN_IDX_BITS) & BASE_TOKEN_GEN_MASK))
		return WSAEINVAL;
	if (!atomic_compare_exchange_strong_explicit(&t->state, &st,
	    (st & ~BASE_TOK_STATE) | BASE_TOK_BUSY, memory_order_acquire,
	    memory_order_relaxed))
		return WSAEINVAL;	/* another thread took it first */
	*fd = t->fd;
	*kind = t->kind;
	*flags = t->flags;
	blob = t->blob;
	t->blob = NULL;
	base_token_release(t, st);
	/* Adoption, which may run in a signal handler's call, has nothing
	 * to deliver and frees nothing. */
	if (*kind == BASE_TOK_DUP)
		share_deliver(tok, blob);
	return 0;
}

/* Nothing: voids every live token, closing the descriptors we dup()ed. */
static void
base_token_flush(void)
{
	struct base_token *t;
	uint32_t st;
	unsigned i;

	for (i = 0; i < BASE_TOKEN_SLOTS; i++) {
		t = &base_tokens[i];
		st = atomic_load_explicit(&t->state, memory_order_acquire);
		if ((st & BASE_TOK_STATE) != BASE_TOK_LIVE ||
		    !atomic_compare_exchange_strong_explicit(&t->state, &st,
		    (st & ~BASE_TOK_STATE) | BASE_TOK_BUSY,
		    memory_order_acquire, memory_order_relaxed))
			continue;
		if (t->kind == BASE_TOK_DUP)
			base_close_quiet(t->fd);
		free(t->blob);
		t->blob = NULL;
		base_token_release(t, st);
	}
}

/*
 * Nothing: a fork()ed child voids every token its parent made (closing its
 * copies of their descriptors).  A token is for the process that asked
 * (WSADuplicateSocket's dwProcessId), and one-shot: without this, parent
 * and child could each make a socket from the same token.
 */
void
base_atfork_child(void)
{
	base_token_flush();
}

/* 0 and *info holding entry and an adopt token for fd, or a WSA code. */
int
base_adopt_token(int fd, const WSAPROTOCOL_INFOW *entry,
    WSAPROTOCOL_INFOW *info)
{
	DWORD tok;
	int err;

	if (entry == NULL || info == NULL)
		return WSAEFAULT;
	if (fd < 0)
		return WSAENOTSOCK;
	if ((err = base_token_new(fd, BASE_TOK_ADOPT, 0, NULL, &tok)) != 0)
		return err;
	if (info != entry)
		memcpy(info, entry, sizeof(*info));
	info->dwProviderReserved = tok;
	return 0;
}

/* --- the accessors the core uses -------------------------------------- */

/* The kernel descriptor behind a base handle, or -1. */
int
base_kernel_fd(SOCKET s)
{
	struct base_sock *bs = base_get(s);

	return bs == NULL ? -1 : base_fd(bs);
}

/* Nothing: points the socket at fd, which it now owns. */
void
base_set_fd(SOCKET s, int fd)
{
	struct base_sock *bs = base_get(s);

	if (bs == NULL)
		return;
	atomic_store_explicit(&bs->fd, fd, memory_order_release);
	atomic_fetch_and_explicit(&bs->detached, ~BASE_DETACHED,
	    memory_order_release);
}

/* Nothing: WSPCloseSocket will free the socket without close(). */
void
base_detach(SOCKET s)
{
	struct base_sock *bs = base_get(s);

	if (bs != NULL)
		atomic_fetch_or_explicit(&bs->detached, BASE_DETACHED,
		    memory_order_release);
}

/* 1 when live base socket s was made with WSA_FLAG_OVERLAPPED (its
 * overlapped calls are overlapped), else 0; *type is its socket type. */
int
base_ovl_socket(SOCKET s, int *type)
{
	struct base_sock *bs = base_get(s);

	if (bs == NULL || (atomic_load_explicit(&bs->flags,
	    memory_order_relaxed) & WSA_FLAG_OVERLAPPED) == 0)
		return 0;
	*type = bs->info->iSocketType;
	return 1;
}

/* Nothing: closing or releasing s will call ovl_close() first. */
void
base_ovl_mark(SOCKET s)
{
	struct base_sock *bs = base_get(s);

	if (bs != NULL)
		atomic_fetch_or_explicit(&bs->detached, BASE_OVL,
		    memory_order_release);
}

/* Nothing: closing or releasing s will call netev_close() first. */
void
base_netev_mark(SOCKET s)
{
	struct base_sock *bs = base_get(s);

	if (bs != NULL)
		atomic_fetch_or_explicit(&bs->detached, BASE_NETEV,
		    memory_order_release);
}

/* --- WSPSocket and WSPCloseSocket ------------------------------------- */

/* base_check_flags() for flags with a multipoint or unknown bit. */
static __attribute__((noinline)) int
base_check_flags_mp(const WSAPROTOCOL_INFOW *e, DWORD f)
{
	DWORD xp = e->dwServiceFlags1;
	int c, d;

	if ((f & ~(DWORD)BASE_SOCK_FLAGS) != 0)
		return WSAEINVAL;
	if ((xp & XP1_SUPPORT_MULTIPOINT) == 0)
		return WSAEINVAL;
	c = !!(f & WSA_FLAG_MULTIPOINT_C_ROOT) +
	    !!(f & WSA_FLAG_MULTIPOINT_C_LEAF);
	d = !!(f & WSA_FLAG_MULTIPOINT_D_ROOT) +
	    !!(f & WSA_FLAG_MULTIPOINT_D_LEAF);
	if (c != 1 || d != 1)
		return WSAEINVAL;
	if ((f & WSA_FLAG_MULTIPOINT_C_ROOT) &&
	    (xp & XP1_MULTIPOINT_CONTROL_PLANE) == 0)
		return WSAEINVAL;
	if ((f & WSA_FLAG_MULTIPOINT_D_ROOT) &&
	    (xp & XP1_MULTIPOINT_DATA_PLANE) == 0)
		return WSAEINVAL;
	return 0;
}

/* 0 if dwFlags suit the entry's service flags, else WSAEINVAL. */
static inline int
base_check_flags(const WSAPROTOCOL_INFOW *e, DWORD f)
{
	if ((f & ~(DWORD)(BASE_SOCK_FLAGS & ~BASE_MP_FLAGS)) == 0)
		return 0;
	return base_check_flags_mp(e, f);
}

/* A base socket for a token's descriptor, or INVALID_SOCKET. */
static SOCKET
base_socket_shared(LPWSAPROTOCOL_INFOW info, LPINT lpErrno)
{
	SOCKET h;
	DWORD flags;
	int fd, kind, err;

	if (share_is_token(info->dwProviderReserved)) {
		kind = BASE_TOK_DUP;
		err = share_take(info->dwProviderReserved,
		    info->iAddressFamily, info->iSocketType, &fd, &flags);
	} else
		err = base_token_take(info->dwProviderReserved, &fd, &kind,
		    &flags);
	if (err != 0)
		return base_fail_h(lpErrno, err);
	h = base_wrap(fd, info, flags, &err);
	if (h == INVALID_SOCKET) {
		/* The token is spent: do not leak the descriptor it owned. */
		if (kind == BASE_TOK_DUP)
			base_close_quiet(fd);
		return base_fail_h(lpErrno, err);
	}
	return h;
}

/* WSPSocket: a new base socket, or INVALID_SOCKET. */
static SOCKET WSPAPI
base_socket(int af, int type, int protocol,
    LPWSAPROTOCOL_INFOW lpProtocolInfo, GROUP g, DWORD dwFlags,
    LPINT lpErrno)
{
	SOCKET h;
	int fd, err, keep0, sflags = 0;

	if (lpProtocolInfo == NULL)
		return base_fail_h(lpErrno, WSAEFAULT);
	if (base_is_token(lpProtocolInfo))
		return base_socket_shared(lpProtocolInfo, lpErrno);
	if (af == 0 || af == FROM_PROTOCOL_INFO)
		af = lpProtocolInfo->iAddressFamily;
	if (type == 0 || type == FROM_PROTOCOL_INFO)
		type = lpProtocolInfo->iSocketType;
	else {
		/* A layer may still carry socket()'s flag bits in type. */
		sflags = type & (SOCK_NONBLOCK | SOCK_CLOEXEC);
		type &= ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	}
	/*
	 * An entry that protocol 0 selects is the kernel's default for its
	 * type, so a 0 the caller gave goes to socket() as it is: strace
	 * shows the same call as without the shim.
	 */
	keep0 = protocol == 0 &&
	    (lpProtocolInfo->dwProviderFlags & PFL_MATCHES_PROTOCOL_ZERO);
	if (protocol == 0 || protocol == FROM_PROTOCOL_INFO)
		protocol = lpProtocolInfo->iProtocol;
	if ((err = catalog_check(lpProtocolInfo, af, type, protocol)) != 0)
		return base_fail_h(lpErrno, err);
	if (g != 0)
		return base_fail_h(lpErrno, WSAEINVAL);
	if ((err = base_check_flags(lpProtocolInfo, dwFlags)) != 0)
		return base_fail_h(lpErrno, err);

	fd = libc.socket(af, type | sflags | base_open_flags(dwFlags),
	    keep0 ? 0 : protocol);
	if (fd < 0) {
		*lpErrno = errmap_from_errno(errno);
		return INVALID_SOCKET;
	}
	h = base_wrap(fd, lpProtocolInfo, dwFlags, &err);
	if (h == INVALID_SOCKET) {
		base_close_quiet(fd);
		return base_fail_h(lpErrno, err);
	}
	return h;
}

/*
 * The base's WSPSocket for a call the core already matched to entry info,
 * an entry of the catalog in force, with no group, no token and only
 * BASE_OPEN_FLAGS in dwFlags: everything base_socket() would check holds,
 * so this is the kernel call and the wrapping alone, and the same socket
 * base_socket() would make.  The handle and the descriptor in *fd, or
 * INVALID_SOCKET with *lpErrno (the native errno kept, as WSPSocket keeps
 * it).
 */
SOCKET
base_socket_direct(const WSAPROTOCOL_INFOW *info, int af, int type,
    int protocol, DWORD dwFlags, int *fd, LPINT lpErrno)
{
	SOCKET h;

	base_socket_args(info, &af, &type, &protocol);
	*fd = libc.socket(af, type | base_open_flags(dwFlags), protocol);
	if (*fd < 0) {
		*lpErrno = errmap_from_errno(errno);
		return INVALID_SOCKET;
	}
	h = base_wrap_kept(*fd, info, dwFlags, lpErrno);
	if (h == INVALID_SOCKET)
		base_close_quiet(*fd);
	return h;
}

/* A base socket for fd, a socket of entry info (an entry of the catalog in
 * force) that the core made with base_socket_direct()'s call and no base
 * socket yet: the handle, or INVALID_SOCKET with *err (fd is left open). */
SOCKET
base_wrap_fd(int fd, const WSAPROTOCOL_INFOW *info, DWORD dwFlags, int *err)
{
	return base_wrap_kept(fd, info, dwFlags, err);
}

/* Nothing: a socket this thread made last is no longer a new one for the
 * core to learn (see base_made_fd). */
static inline void
base_unmade(SOCKET s)
{
	if (__builtin_expect(wsp_tls.made_base == s, 0))
		wsp_tls.made_base = INVALID_SOCKET;
}

/* base_closesocket() of a socket detached or marked for ovl.c (out of
 * line: the usual close pays nothing for it): what pending requests it
 * had are aborted, then its descriptor is closed unless the kernel closed
 * it.  0 or SOCKET_ERROR. */
static __attribute__((noinline, cold)) int
base_close_marked(SOCKET s, struct base_sock *bs, int fd, int detached,
    LPINT lpErrno)
{
	base_unmade(s);
	base_sock_put(bs);
	if (detached & BASE_OVL)
		ovl_close(s);
	if (detached & BASE_NETEV)
		netev_close(s);
	if (detached & BASE_DETACHED)
		return 0;
	if (fd >= 0 && libc.close(fd) != 0 && errno != EINTR)
		return base_fail_errno(lpErrno);
	return 0;
}

/* base_release() of a socket marked for ovl.c or netev.c, out of line:
 * its pending requests are aborted, its events forgotten, then it is
 * freed. */
static __attribute__((noinline, cold)) void
base_release_marked(SOCKET s, struct base_sock *bs, int marks)
{
	if (marks & BASE_OVL)
		ovl_close(s);
	if (marks & BASE_NETEV)
		netev_close(s);
	base_unmade(s);
	base_sock_put(bs);
}

/* Nothing: frees base socket s, leaving its descriptor open. */
void
base_release(SOCKET s)
{
	struct base_sock *bs = base_get(s);

	if (bs != NULL && atomic_compare_exchange_strong_explicit(&bs->self,
	    &s, INVALID_SOCKET, memory_order_acq_rel, memory_order_relaxed)) {
		int marks = atomic_load_explicit(&bs->detached,
		    memory_order_relaxed) & BASE_MARKS;

		if (__builtin_expect(marks != 0, 0)) {
			base_release_marked(s, bs, marks);
			return;
		}
		base_unmade(s);
		base_sock_put(bs);
	}
}

/* WSPCloseSocket: 0, or SOCKET_ERROR (the handle is gone either way). */
int WSPAPI
base_closesocket(SOCKET s, LPINT lpErrno)
{
	struct base_sock *bs;
	int fd, detached;

	if ((bs = base_get(s)) == NULL)
		return base_fail(lpErrno, WSAENOTSOCK);
	fd = atomic_load_explicit(&bs->fd, memory_order_acquire);
	detached = atomic_load_explicit(&bs->detached, memory_order_acquire);
	/* Of two racing closes, the one that clears the handle wins. */
	if (!atomic_compare_exchange_strong_explicit(&bs->self, &s,
	    INVALID_SOCKET, memory_order_acq_rel, memory_order_relaxed))
		return base_fail(lpErrno, WSAENOTSOCK);
	if (__builtin_expect(detached != 0, 0))
		return base_close_marked(s, bs, fd, detached, lpErrno);
	base_unmade(s);
	base_sock_put(bs);
	/* Linux frees the descriptor even when close() reports EINTR. */
	if (fd >= 0 && libc.close(fd) != 0 && errno != EINTR)
		return base_fail_errno(lpErrno);
	return 0;
}

/* --- connection set-up ------------------------------------------------ */

/* WSPBind: 0 or SOCKET_ERROR. */
static int WSPAPI
base_bind(SOCKET s, const struct sockaddr *name, int namelen, LPINT lpErrno)
{
	struct base_sock *bs;

	if ((bs = base_get(s)) == NULL)
		return base_fail(lpErrno, WSAENOTSOCK);
	if (libc.bind(base_fd(bs), name, (socklen_t)namelen) != 0)
		return base_fail_errno(lpErrno);
	return 0;
}

/* 0 if connect data and QoS can be honoured (ignored), else a WSA code. */
static int
base_check_connect_data(LPWSABUF lpCallerData, LPWSABUF lpCalleeData)
{
	/* No base protocol carries connect data (XP1_CONNECT_DATA). */
	if (lpCallerData != NULL && lpCallerData->len != 0)
		return WSAEOPNOTSUPP;
	if (lpCalleeData != NULL)
		lpCalleeData->len = 0;
	return 0;
}

/* WSPConnect: 0 or SOCKET_ERROR.  QoS is advisory and ignored. */
static int WSPAPI
base_connect(SOCKET s, const struct sockaddr *name, int namelen,
    LPWSABUF lpCallerData, LPWSABUF lpCalleeData, LPQOS lpSQOS,
    LPQOS lpGQOS, LPINT lpErrno)
{
	struct base_sock *bs;
	int err;

	if ((bs = base_get(s)) == NULL)
		return base_fail(lpErrno, WSAENOTSOCK);
	if ((err = base_check_connect_data(lpCallerData, lpCalleeData)) != 0)
		return base_fail(lpErrno, err);
	if (libc.connect(base_fd(bs), name, (socklen_t)namelen) != 0) {
		if (netev_any() && (errno == EINPROGRESS || errno == EAGAIN))
			netev_note(s, NETEV_CONNECTING);
		return base_fail_errno(lpErrno);
	}
	netev_hook(s, NETEV_CONNECTED);
	return 0;
}

/* WSPListen: 0 or SOCKET_ERROR. */
static int WSPAPI
base_listen(SOCKET s, int backlog, LPINT lpErrno)
{
	struct base_sock *bs;

	if ((bs = base_get(s)) == NULL)
		return base_fail(lpErrno, WSAENOTSOCK);
	if (libc.listen(base_fd(bs), backlog) != 0)
		return base_fail_errno(lpErrno);
	netev_hook(s, NETEV_LISTEN);
	return 0;
}

/* Nothing: closes an accepted connection so that the peer sees a reset. */
static void
base_refuse(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int saved = errno;

	(void)libc.setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	(void)libc.close(fd);
	errno = saved;
}

/*
 * Ask the condition function about an accepted connection: 0 to keep it,
 * else the WSA code to report (the connection is then closed).
 */
static int
base_condition(SOCKET ls, int lfd, int fd, struct sockaddr_storage *peer,
    socklen_t peerlen, LPCONDITIONPROC cond, DWORD_PTR data)
{
	struct sockaddr_storage local;
	socklen_t locallen = sizeof(local);
	WSABUF caller, callee, *calleep = NULL;
	GROUP g = 0;
	int saved = errno, rc;

	caller.buf = (CHAR *)peer;
	caller.len = peerlen;
	if (libc.getsockname(fd, (struct sockaddr *)&local, &locallen) == 0) {
		callee.buf = (CHAR *)&local;
		callee.len = locallen < sizeof(local) ? locallen :
		    sizeof(local);
		calleep = &callee;
	}
	errno = saved;
	rc = cond(&caller, NULL, NULL, NULL, calleep, NULL, &g, data);
	if (rc == CF_ACCEPT)
		return 0;
	/* Deferred: queued again for the next accept, as Winsock does. */
	if (rc == CF_DEFER && base_defer_put(ls, lfd, fd) == 0)
		return WSATRY_AGAIN;
	base_refuse(fd);
	if (rc == CF_REJECT)
		return WSAECONNREFUSED;
	if (rc == CF_DEFER)
		return WSAENOBUFS;
	return WSAEINVAL;
}

/*
 * Accept one connection on s as a new base socket: kflags are accept4()'s
 * SOCK_* bits, or -1 for accept(); wflags the new socket's dwFlags.
 * The handle, or INVALID_SOCKET.
 */
static BASE_INLINE SOCKET
base_accept_common(SOCKET s, struct sockaddr *addr, LPINT addrlen,
    LPCONDITIONPROC cond, DWORD_PTR data, int kflags, DWORD wflags,
    LPINT lpErrno)
{
	struct sockaddr_storage peer;
	struct sockaddr *ka = addr;
	struct base_sock *bs;
	socklen_t klen = 0, *kl = NULL;
	SOCKET h;
	int fd, err;

	if ((bs = base_get(s)) == NULL)
		return base_fail_h(lpErrno, WSAENOTSOCK);
	/* The length pointer goes to the kernel as it is: a bad one, or a
	 * negative length, is the kernel's to refuse, as without us. */
	kl = (socklen_t *)addrlen;
	if (cond != NULL) {
		/* The condition function sees the whole peer address. */
		ka = (struct sockaddr *)&peer;
		klen = sizeof(peer);
		kl = &klen;
	}
	/* A connection deferred before comes first (see base_defer_put). */
	if (cond != NULL && (fd = base_defer_take(s)) >= 0)
		(void)libc.getpeername(fd, ka, kl);
	else if (kflags < 0)
		fd = libc.accept(base_fd(bs), ka, kl);
	else
		fd = libc.accept4(base_fd(bs), ka, kl, kflags);
	if (fd < 0)
		return base_fail_h(lpErrno, errmap_from_errno(errno));
	if (cond != NULL) {
		if ((err = base_condition(s, base_fd(bs), fd, &peer, klen,
		    cond, data)) != 0)
			return base_fail_h(lpErrno, err);
		if (addr != NULL && addrlen != NULL)
			memcpy(addr, &peer, (size_t)*addrlen < klen ?
			    (size_t)*addrlen : klen);
	}
	wflags |= atomic_load_explicit(&bs->flags, memory_order_relaxed) &
	    WSA_FLAG_OVERLAPPED;
	if ((h = base_wrap(fd, bs->info, wflags, &err)) == INVALID_SOCKET) {
		base_refuse(fd);
		return base_fail_h(lpErrno, err);
	}
	if (cond != NULL && addr != NULL && addrlen != NULL)
		*addrlen = (INT)klen;
	return h;
}

/* base_accept_common() while network events are selected: the accept
 * re-enables FD_ACCEPT, and the new socket takes the listener's events. */
static BASE_COLD SOCKET
base_accept_watched(SOCKET s, struct sockaddr *addr, LPINT addrlen,
    LPCONDITIONPROC cond, DWORD_PTR data, int kflags, DWORD wflags,
    LPINT lpErrno)
{
	SOCKET h = base_accept_common(s, addr, addrlen, cond, data, kflags,
	    wflags, lpErrno);

	netev_accepted(s, h);
	return h;
}

/* WSPAccept: the accepted socket, or INVALID_SOCKET. */
static SOCKET WSPAPI
base_accept(SOCKET s, struct sockaddr *addr, LPINT addrlen,
    LPCONDITIONPROC lpfnCondition, DWORD_PTR dwCallbackData, LPINT lpErrno)
{
	BASE_NETEV_TAKES(base_accept_watched(s, addr, addrlen, lpfnCondition,
	    dwCallbackData, -1, 0, lpErrno));
	return base_accept_common(s, addr, addrlen, lpfnCondition,
	    dwCallbackData, -1, 0, lpErrno);
}

/* WSPAccept4 (Linux member): the accepted socket, or INVALID_SOCKET. */
static SOCKET WSPAPI
base_accept4(SOCKET s, struct sockaddr *addr, LPINT addrlen, DWORD dwFlags,
    LPINT lpErrno)
{
	if ((dwFlags & ~(DWORD)BASE_OPEN_FLAGS) != 0)
		return base_fail_h(lpErrno, WSAEINVAL);
	BASE_NETEV_TAKES(base_accept_watched(s, addr, addrlen, NULL, 0,
	    base_open_flags(dwFlags), dwFlags, lpErrno));
	return base_accept_common(s, addr, addrlen, NULL, 0,
	    base_open_flags(dwFlags), dwFlags, lpErrno);
}

/* --- data transfer ---------------------------------------------------- */

/* Nothing: describes n WSABUFs (and an address) in m, using iov. */
static inline void
base_msg(struct msghdr *m, struct iovec *iov, const WSABUF *b, DWORD n,
    const struct sockaddr *name, socklen_t namelen)
{
	DWORD i;

	for (i = 0; i < n; i++) {
		iov[i].iov_base = b[i].buf;
		iov[i].iov_len = b[i].len;
	}
	memset(m, 0, sizeof(*m));
	m->msg_name = (void *)(uintptr_t)name;
	m->msg_namelen = name != NULL ? namelen : 0;
	m->msg_iov = iov;
	m->msg_iovlen = n;
}

/* sendmsg() of n (at most IOV_MAX) WSABUFs: bytes sent, or -1 and errno. */
static BASE_COLD ssize_t
base_sendv_big(int fd, const WSABUF *b, DWORD n, int flags,
    const struct sockaddr *to, socklen_t tolen)
{
	struct iovec iov[IOV_MAX];
	struct msghdr m;

	base_msg(&m, iov, b, n, to, tolen);
	return libc.sendmsg(fd, &m, flags);
}

/* sendmsg() of n (at most IOV_MAX) WSABUFs: bytes sent, or -1 and errno. */
static BASE_OUTLINE ssize_t
base_sendv(int fd, const WSABUF *b, DWORD n, int flags,
    const struct sockaddr *to, socklen_t tolen)
{
	struct iovec iov[BASE_IOV_SMALL];
	struct msghdr m;

	if (n > BASE_IOV_SMALL)
		return base_sendv_big(fd, b, n, flags, to, tolen);
	base_msg(&m, iov, b, n, to, tolen);
	return libc.sendmsg(fd, &m, flags);
}

/* recvmsg() into m: bytes received, or -1; *from_len and *oflags set. */
static inline ssize_t
base_recvmsg_into(int fd, struct msghdr *m, int flags, socklen_t *fromlen,
    int *oflags)
{
	ssize_t r;

	if ((r = libc.recvmsg(fd, m, flags)) >= 0) {
		*oflags = m->msg_flags;
		if (m->msg_name != NULL)
			*fromlen = m->msg_namelen;
	}
	return r;
}

/* recvmsg() into n (at most IOV_MAX) WSABUFs: as base_recvv(). */
static BASE_COLD ssize_t
base_recvv_big(int fd, const WSABUF *b, DWORD n, int flags,
    struct sockaddr *from, socklen_t *fromlen, int *oflags)
{
	struct iovec iov[IOV_MAX];
	struct msghdr m;

	base_msg(&m, iov, b, n, from, from != NULL ? *fromlen : 0);
	return base_recvmsg_into(fd, &m, flags, fromlen, oflags);
}

/* recvmsg() into n WSABUFs: bytes received, or -1 and errno. */
static BASE_OUTLINE ssize_t
base_recvv(int fd, const WSABUF *b, DWORD n, int flags,
    struct sockaddr *from, socklen_t *fromlen, int *oflags)
{
	struct iovec iov[BASE_IOV_SMALL];
	struct msghdr m;

	if (n > BASE_IOV_SMALL)
		return base_recvv_big(fd, b, n, flags, from, fromlen, oflags);
	base_msg(&m, iov, b, n, from, from != NULL ? *fromlen : 0);
	return base_recvmsg_into(fd, &m, flags, fromlen, oflags);
}

/*
 * The descriptor a data call on s uses, or -1 if s is not a live socket of
 * ours.  When s is the base handle of the socket the shim's current call
 * names, the call's own descriptor is recorded beside it, and no lookup
 * is needed: the shim found the socket live when the call began, and a
 * socket another thread closes meanwhile is the race the program has
 * without us too (the call reaches the kernel on a descriptor that may be
 * closed or reused, as its own would).
 */
static inline int
base_data_fd(SOCKET s)
{
	struct base_sock *bs;

	if (s == wsp_tls.call_base && s != 0)
		return wsp_tls.call_fd;
	if ((bs = base_get(s)) == NULL)
		return -1;
	return atomic_load_explicit(&bs->fd, memory_order_relaxed);
}

/* WSPSend and WSPSendTo: 0 and the bytes sent, or SOCKET_ERROR. */
static BASE_INLINE int
base_xmit(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
    LPDWORD lpNumberOfBytesSent, DWORD dwFlags, const struct sockaddr *lpTo,
    int iTolen, LPINT lpErrno)
{
	socklen_t tolen = lpTo != NULL ? (socklen_t)iTolen : 0;
	ssize_t n;
	int fd;

	if ((fd = base_data_fd(s)) < 0)
		return base_fail(lpErrno, WSAENOTSOCK);
	if (lpNumberOfBytesSent == NULL ||
	    (lpBuffers == NULL && dwBufferCount != 0))
		return base_fail(lpErrno, WSAEFAULT);
	if (dwBufferCount == 1) {
		if (lpTo == NULL)
			n = libc.send(fd, lpBuffers->buf, lpBuffers->len,
			    (int)dwFlags);
		else
			n = libc.sendto(fd, lpBuffers->buf, lpBuffers->len,
			    (int)dwFlags, lpTo, tolen);
	} else {
		if (dwBufferCount > IOV_MAX)
			return base_fail(lpErrno, WSAEINVAL);
		n = base_sendv(fd, lpBuffers, dwBufferCount, (int)dwFlags,
		    lpTo, tolen);
	}
	if (n < 0)
		return base_fail_errno(lpErrno);
	*lpNumberOfBytesSent = (DWORD)n;
	return 0;
}

/*
 * WSPSend and WSPSendTo with lpOverlapped set, or while network events
 * are selected (out of line, so the usual calls neither carry the extra
 * arguments nor keep anything across the syscall): an overlapped request
 * on an overlapped socket (ovl.c); on any other the overlapped arguments
 * are ignored and the call is synchronous, as Winsock documents.  A send
 * that would block re-enables FD_WRITE (netev.h).
 */
static BASE_COLD int
base_xmit_slow(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
    LPDWORD lpNumberOfBytesSent, DWORD dwFlags, const struct sockaddr *lpTo,
    int iTolen, LPWSAOVERLAPPED lpOverlapped,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
    LPWSATHREADID lpThreadId, LPINT lpErrno)
{
	int fd, type, rc;

	if (lpOverlapped != NULL && (fd = base_data_fd(s)) >= 0 &&
	    base_ovl_socket(s, &type))
		return ovl_send(s, fd, type, lpBuffers, dwBufferCount,
		    lpNumberOfBytesSent, dwFlags, lpTo, iTolen, lpOverlapped,
		    lpCompletionRoutine, lpThreadId, lpErrno);
	rc = base_xmit(s, lpBuffers, dwBufferCount, lpNumberOfBytesSent,
	    dwFlags, lpTo, iTolen, lpErrno);
	if (rc != 0 && *lpErrno == WSAEWOULDBLOCK)
		netev_hook(s, NETEV_SEND_BLOCKED);
	return rc;
}

/* WSPSend: 0 and the bytes sent, or SOCKET_ERROR. */
static int WSPAPI
base_send(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
    LPDWORD lpNumberOfBytesSent, DWORD dwFlags, LPWSAOVERLAPPED lpOverlapped,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
    LPWSATHREADID lpThreadId, LPINT lpErrno)
{
	if (__builtin_expect(lpOverlapped != NULL, 0))
		return base_xmit_slow(s, lpBuffers, dwBufferCount,
		    lpNumberOfBytesSent, dwFlags, NULL, 0, lpOverlapped,
		    lpCompletionRoutine, lpThreadId, lpErrno);
	if (netev_any())
		return base_xmit_slow(s, lpBuffers, dwBufferCount,
		    lpNumberOfBytesSent, dwFlags, NULL, 0, NULL, NULL, NULL,
		    lpErrno);
	return base_xmit(s, lpBuffers, dwBufferCount, lpNumberOfBytesSent,
	    dwFlags, NULL, 0, lpErrno);
}

/* WSPSendTo: 0 and the bytes sent, or SOCKET_ERROR. */
static int WSPAPI
base_sendto(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
    LPDWORD lpNumberOfBytesSent, DWORD dwFlags, const struct sockaddr *lpTo,
    int iTolen, LPWSAOVERLAPPED lpOverlapped,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
    LPWSATHREADID lpThreadId, LPINT lpErrno)
{
	if (__builtin_expect(lpOverlapped != NULL, 0))
		return base_xmit_slow(s, lpBuffers, dwBufferCount,
		    lpNumberOfBytesSent, dwFlags, lpTo, iTolen, lpOverlapped,
		    lpCompletionRoutine, lpThreadId, lpErrno);
	if (netev_any())
		return base_xmit_slow(s, lpBuffers, dwBufferCount,
		    lpNumberOfBytesSent, dwFlags, lpTo, iTolen, NULL, NULL,
		    NULL, lpErrno);
	return base_xmit(s, lpBuffers, dwBufferCount, lpNumberOfBytesSent,
	    dwFlags, lpTo, iTolen, lpErrno);
}

/*
 * WSPRecv and WSPRecvFrom past the one-buffer cases: recvmsg() into the
 * WSABUFs (out of line, so the one-buffer paths keep a small frame).
 */
static BASE_OUTLINE int
base_rcv_msg(int fd, LPWSABUF lpBuffers, DWORD dwBufferCount,
    LPDWORD lpNumberOfBytesRecvd, LPDWORD lpFlags, struct sockaddr *lpFrom,
    LPINT lpFromlen, LPINT lpErrno)
{
	socklen_t fromlen = 0;
	ssize_t n;
	int oflags = 0;

	if (lpFrom != NULL) {
		if (lpFromlen == NULL)
			return base_fail(lpErrno, WSAEFAULT);
		fromlen = (socklen_t)*lpFromlen;
	}
	if (dwBufferCount > IOV_MAX)
		return base_fail(lpErrno, WSAEINVAL);
	n = base_recvv(fd, lpBuffers, dwBufferCount, (int)*lpFlags,
	    lpFrom, &fromlen, &oflags);
	if (n < 0)
		return base_fail_errno(lpErrno);
	*lpNumberOfBytesRecvd = (DWORD)n;
	*lpFlags = (DWORD)oflags;
	if (lpFrom != NULL)
		*lpFromlen = (INT)fromlen;
	return 0;
}

/*
 * WSPRecv and WSPRecvFrom: 0, the bytes received and recvmsg()'s msg_flags
 * in *lpFlags, or SOCKET_ERROR.  One buffer on a stream socket is a plain
 * recv(), which has no flags to report.
 */
static BASE_INLINE int
base_rcv(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
    LPDWORD lpNumberOfBytesRecvd, LPDWORD lpFlags, struct sockaddr *lpFrom,
    LPINT lpFromlen, LPINT lpErrno)
{
	struct base_sock *bs = NULL;
	ssize_t n;
	int fd;

	if (lpFrom == NULL && dwBufferCount == 1) {
		/* A plain recv() if it is a stream socket: its type is needed. */
		if ((bs = base_get(s)) == NULL)
			return base_fail(lpErrno, WSAENOTSOCK);
		fd = s == wsp_tls.call_base ? wsp_tls.call_fd :
		    atomic_load_explicit(&bs->fd, memory_order_relaxed);
	} else if ((fd = base_data_fd(s)) < 0)
		return base_fail(lpErrno, WSAENOTSOCK);
	if (lpNumberOfBytesRecvd == NULL || lpFlags == NULL ||
	    (lpBuffers == NULL && dwBufferCount != 0))
		return base_fail(lpErrno, WSAEFAULT);
	if (dwBufferCount != 1)
		return base_rcv_msg(fd, lpBuffers, dwBufferCount,
		    lpNumberOfBytesRecvd, lpFlags, lpFrom, lpFromlen, lpErrno);
	/*
	 * One buffer on a stream socket is a plain recv(); one buffer with an
	 * address is a plain recvfrom() with the caller's length pointer,
	 * which only the kernel judges (a bad one or a negative length is
	 * refused after the data arrives, as without us; no flags come
	 * back that way).
	 */
	if (lpFrom != NULL)
		n = libc.recvfrom(fd, lpBuffers->buf, lpBuffers->len,
		    (int)*lpFlags, lpFrom, (socklen_t *)lpFromlen);
	else if (bs->stream)
		n = libc.recv(fd, lpBuffers->buf, lpBuffers->len,
		    (int)*lpFlags);
	else
		return base_rcv_msg(fd, lpBuffers, dwBufferCount,
		    lpNumberOfBytesRecvd, lpFlags, lpFrom, lpFromlen, lpErrno);
	if (n < 0)
		return base_fail_errno(lpErrno);
	*lpNumberOfBytesRecvd = (DWORD)n;
	*lpFlags = 0;
	return 0;
}

/* What a receive with flags fl re-enables (netev.h). */
static inline enum netev_what
base_rcv_what(DWORD fl)
{
	return (fl & MSG_OOB) != 0 ? NETEV_RECV_OOB : NETEV_RECV;
}

/* WSPRecv and WSPRecvFrom with lpOverlapped set, or while network events
 * are selected: as base_xmit_slow().  A receive re-enables FD_READ
 * (FD_OOB with MSG_OOB) once it is made, so data still there is reported
 * again. */
static BASE_COLD int
base_rcv_slow(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
    LPDWORD lpNumberOfBytesRecvd, LPDWORD lpFlags, struct sockaddr *lpFrom,
    LPINT lpFromlen, LPWSAOVERLAPPED lpOverlapped,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
    LPWSATHREADID lpThreadId, LPINT lpErrno)
{
	DWORD fl = lpFlags != NULL ? *lpFlags : 0;
	int fd, type, rc;

	if (lpOverlapped != NULL && (fd = base_data_fd(s)) >= 0 &&
	    base_ovl_socket(s, &type))
		rc = ovl_recv(s, fd, type, lpBuffers, dwBufferCount,
		    lpNumberOfBytesRecvd, lpFlags, lpFrom, lpFromlen,
		    lpOverlapped, lpCompletionRoutine, lpThreadId, lpErrno);
	else
		rc = base_rcv(s, lpBuffers, dwBufferCount,
		    lpNumberOfBytesRecvd, lpFlags, lpFrom, lpFromlen,
		    lpErrno);
	netev_hook(s, base_rcv_what(fl));
	return rc;
}

/* WSPRecv: 0, the bytes received and the flags, or SOCKET_ERROR. */
static int WSPAPI
base_recv(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
    LPDWORD lpNumberOfBytesRecvd, LPDWORD lpFlags,
    LPWSAOVERLAPPED lpOverlapped,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
    LPWSATHREADID lpThreadId, LPINT lpErrno)
{
	if (__builtin_expect(lpOverlapped != NULL, 0))
		return base_rcv_slow(s, lpBuffers, dwBufferCount,
		    lpNumberOfBytesRecvd, lpFlags, NULL, NULL, lpOverlapped,
		    lpCompletionRoutine, lpThreadId, lpErrno);
	if (netev_any())
		return base_rcv_slow(s, lpBuffers, dwBufferCount,
		    lpNumberOfBytesRecvd, lpFlags, NULL, NULL, NULL, NULL, NULL,
		    lpErrno);
	return base_rcv(s, lpBuffers, dwBufferCount, lpNumberOfBytesRecvd,
	    lpFlags, NULL, NULL, lpErrno);
}

/* WSPRecvFrom: as WSPRecv, with the sender's address. */
static int WSPAPI
base_recvfrom(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
    LPDWORD lpNumberOfBytesRecvd, LPDWORD lpFlags, struct sockaddr *lpFrom,
    LPINT lpFromlen, LPWSAOVERLAPPED lpOverlapped,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
    LPWSATHREADID lpThreadId, LPINT lpErrno)
{
	if (__builtin_expect(lpOverlapped != NULL, 0))
		return base_rcv_slow(s, lpBuffers, dwBufferCount,
		    lpNumberOfBytesRecvd, lpFlags, lpFrom, lpFromlen,
		    lpOverlapped, lpCompletionRoutine, lpThreadId, lpErrno);
	if (netev_any())
		return base_rcv_slow(s, lpBuffers, dwBufferCount,
		    lpNumberOfBytesRecvd, lpFlags, lpFrom, lpFromlen, NULL,
		    NULL, NULL, lpErrno);
	return base_rcv(s, lpBuffers, dwBufferCount, lpNumberOfBytesRecvd,
	    lpFlags, lpFrom, lpFromlen, lpErrno);
}

/* WSPSendMsg (Linux member): 0 and the bytes sent, or SOCKET_ERROR. */
static inline int
base_sendmsg_do(SOCKET s, const struct msghdr *lpMsg, DWORD dwFlags,
    LPDWORD lpNumberOfBytesSent, LPINT lpErrno)
{
	struct base_sock *bs;
	ssize_t n;

	if ((bs = base_get(s)) == NULL)
		return base_fail(lpErrno, WSAENOTSOCK);
	if (lpNumberOfBytesSent == NULL)
		return base_fail(lpErrno, WSAEFAULT);
	if ((n = libc.sendmsg(base_fd(bs), lpMsg, (int)dwFlags)) < 0)
		return base_fail_errno(lpErrno);
	*lpNumberOfBytesSent = (DWORD)n;
	return 0;
}

/* base_sendmsg_do() while network events are selected: as
 * base_xmit_watched(). */
static BASE_COLD int
base_sendmsg_watched(SOCKET s, const struct msghdr *lpMsg, DWORD dwFlags,
    LPDWORD lpNumberOfBytesSent, LPINT lpErrno)
{
	int rc = base_sendmsg_do(s, lpMsg, dwFlags, lpNumberOfBytesSent,
	    lpErrno);

	if (rc != 0 && *lpErrno == WSAEWOULDBLOCK)
		netev_note(s, NETEV_SEND_BLOCKED);
	return rc;
}

static int WSPAPI
base_sendmsg(SOCKET s, const struct msghdr *lpMsg, DWORD dwFlags,
    LPDWORD lpNumberOfBytesSent, LPINT lpErrno)
{
	BASE_NETEV_TAKES(base_sendmsg_watched(s, lpMsg, dwFlags,
	    lpNumberOfBytesSent, lpErrno));
	return base_sendmsg_do(s, lpMsg, dwFlags, lpNumberOfBytesSent,
	    lpErrno);
}

/* WSPRecvMsg (Linux member): 0, the bytes received and msg_flags in
 * *lpFlags, or SOCKET_ERROR. */
static inline int
base_recvmsg_do(SOCKET s, struct msghdr *lpMsg, LPDWORD lpFlags,
    LPDWORD lpNumberOfBytesRecvd, LPINT lpErrno)
{
	struct base_sock *bs;
	ssize_t n;

	if ((bs = base_get(s)) == NULL)
		return base_fail(lpErrno, WSAENOTSOCK);
	if (lpMsg == NULL || lpFlags == NULL || lpNumberOfBytesRecvd == NULL)
		return base_fail(lpErrno, WSAEFAULT);
	if ((n = libc.recvmsg(base_fd(bs), lpMsg, (int)*lpFlags)) < 0)
		return base_fail_errno(lpErrno);
	*lpNumberOfBytesRecvd = (DWORD)n;
	*lpFlags = (DWORD)lpMsg->msg_flags;
	return 0;
}

/* base_recvmsg_do() while network events are selected: as
 * base_rcv_watched(). */
static BASE_COLD int
base_recvmsg_watched(SOCKET s, struct msghdr *lpMsg, LPDWORD lpFlags,
    LPDWORD lpNumberOfBytesRecvd, LPINT lpErrno)
{
	DWORD fl = lpFlags != NULL ? *lpFlags : 0;
	int rc = base_recvmsg_do(s, lpMsg, lpFlags, lpNumberOfBytesRecvd,
	    lpErrno);

	netev_note(s, base_rcv_what(fl));
	return rc;
}

static int WSPAPI
base_recvmsg(SOCKET s, struct msghdr *lpMsg, LPDWORD lpFlags,
    LPDWORD lpNumberOfBytesRecvd, LPINT lpErrno)
{
	BASE_NETEV_TAKES(base_recvmsg_watched(s, lpMsg, lpFlags,
	    lpNumberOfBytesRecvd, lpErrno));
	return base_recvmsg_do(s, lpMsg, lpFlags, lpNumberOfBytesRecvd,
	    lpErrno);
}

/* WSPShutdown: 0 or SOCKET_ERROR (SD_* are Linux's SHUT_* values). */
static int WSPAPI
base_shutdown(SOCKET s, int how, LPINT lpErrno)
{
	struct base_sock *bs;

	if ((bs = base_get(s)) == NULL)
		return base_fail(lpErrno, WSAENOTSOCK);
	if (libc.shutdown(base_fd(bs), how) != 0)
		return base_fail_errno(lpErrno);
	return 0;
}

/* --- names and options ------------------------------------------------ */

/* WSPGetSockName / WSPGetPeerName: 0 or SOCKET_ERROR. */
static int
base_name(SOCKET s, struct sockaddr *name, LPINT namelen, int peer,
    LPINT lpErrno)
{
	struct base_sock *bs;
	int rc;

	if ((bs = base_get(s)) == NULL)
		return base_fail(lpErrno, WSAENOTSOCK);
	/* The length pointer goes to the kernel as it is: a bad one is the
	 * kernel's to refuse (EFAULT, EINVAL), as without us. */
	if (peer)
		rc = libc.getpeername(base_fd(bs), name, (socklen_t *)namelen);
	else
		rc = libc.getsockname(base_fd(bs), name, (socklen_t *)namelen);
	if (rc != 0)
		return base_fail_errno(lpErrno);
	return 0;
}

/* WSPGetSockName: 0 or SOCKET_ERROR. */
static int WSPAPI
base_getsockname(SOCKET s, struct sockaddr *name, LPINT namelen,
    LPINT lpErrno)
{
	return base_name(s, name, namelen, 0, lpErrno);
}

/* WSPGetPeerName: 0 or SOCKET_ERROR. */
static int WSPAPI
base_getpeername(SOCKET s, struct sockaddr *name, LPINT namelen,
    LPINT lpErrno)
{
	return base_name(s, name, namelen, 1, lpErrno);
}

/* SO_PROTOCOL_INFOW/A: 0 and the socket's entry, or a WSA code. */
static int
base_protocol_info(struct base_sock *bs, int optname, char *optval,
    LPINT optlen)
{
	WSAPROTOCOL_INFOA a;
	const void *src = bs->info;
	size_t size = sizeof(WSAPROTOCOL_INFOW);

	if (optlen == NULL)
		return WSAEFAULT;
	if (optname == SO_PROTOCOL_INFOA) {
		size = sizeof(WSAPROTOCOL_INFOA);
		src = &a;
	}
	if (optval == NULL || *optlen < (INT)size) {
		*optlen = (INT)size;
		return WSAEFAULT;
	}
	if (optname == SO_PROTOCOL_INFOA)
		catalog_info_to_a(bs->info, &a);
	memcpy(optval, src, size);
	*optlen = (INT)size;
	return 0;
}

/* WSPGetSockOpt: 0 or SOCKET_ERROR. */
static int WSPAPI
base_getsockopt(SOCKET s, int level, int optname, char *optval,
    LPINT optlen, LPINT lpErrno)
{
	struct base_sock *bs;
	int err;

	if ((bs = base_get(s)) == NULL)
		return base_fail(lpErrno, WSAENOTSOCK);
	if (level == SOL_SOCKET && (optname == SO_PROTOCOL_INFOW ||
	    optname == SO_PROTOCOL_INFOA)) {
		if ((err = base_protocol_info(bs, optname, optval,
		    optlen)) != 0)
			return base_fail(lpErrno, err);
		return 0;
	}
	/* The length pointer goes to the kernel as it is: a bad one, or a
	 * negative length, is the kernel's to refuse, as without us. */
	if (libc.getsockopt(base_fd(bs), level, optname, optval,
	    (socklen_t *)optlen) != 0)
		return base_fail_errno(lpErrno);
	return 0;
}

/* WSPSetSockOpt: 0 or SOCKET_ERROR. */
static int WSPAPI
base_setsockopt(SOCKET s, int level, int optname, const char *optval,
    int optlen, LPINT lpErrno)
{
	struct base_sock *bs;

	if ((bs = base_get(s)) == NULL)
		return base_fail(lpErrno, WSAENOTSOCK);
	/* What a Winsock program sets after AcceptEx or ConnectEx: the
	 * kernel socket is already complete (mswsock.h). */
	if (level == SOL_SOCKET && (optname == SO_UPDATE_ACCEPT_CONTEXT ||
	    optname == SO_UPDATE_CONNECT_CONTEXT))
		return 0;
	if (libc.setsockopt(base_fd(bs), level, optname, optval,
	    (socklen_t)optlen) != 0)
		return base_fail_errno(lpErrno);
	return 0;
}

/* --- WSPIoctl --------------------------------------------------------- */

/* Nothing: stores v in an out buffer as wide as the buffer allows. */
static void
base_put_ulong(void *out, DWORD cb, int v, LPDWORD lpcb)
{
	unsigned long ul = (unsigned long)v;
	int i = v;

	if (cb >= sizeof(ul)) {
		memcpy(out, &ul, sizeof(ul));
		*lpcb = sizeof(ul);
	} else {
		memcpy(out, &i, sizeof(i));
		*lpcb = sizeof(i);
	}
}

/* FIONBIO: 0 or a WSA code (the argument is an int or an unsigned long).
 * A socket with network events selected stays non-blocking (WSAEINVAL),
 * as Winsock's. */
static int
base_ioctl_fionbio(SOCKET s, int fd, const void *in, DWORD cb, LPDWORD lpcb)
{
	unsigned long ul;
	int i;

	if (in == NULL || cb < sizeof(i))
		return WSAEFAULT;
	if (cb >= sizeof(ul)) {
		memcpy(&ul, in, sizeof(ul));
		i = ul != 0;
	} else
		memcpy(&i, in, sizeof(i));
	if (i == 0 && netev_selected(s))
		return WSAEINVAL;
	if (libc.ioctl(fd, FIONBIO, &i) != 0)
		return errmap_from_errno(errno);
	*lpcb = 0;
	return 0;
}

/* FIONREAD, SIOCATMARK: 0 and the kernel's answer, or a WSA code. */
static int
base_ioctl_int(int fd, unsigned long req, void *out, DWORD cb, LPDWORD lpcb)
{
	int v;

	if (out == NULL || cb < sizeof(v))
		return WSAEFAULT;
	if (libc.ioctl(fd, req, &v) != 0)
		return errmap_from_errno(errno);
	base_put_ulong(out, cb, v, lpcb);
	return 0;
}

/* Nothing: copies an answer of size n into an out buffer that holds it. */
static int
base_ioctl_answer(const void *v, size_t n, void *out, DWORD cb, LPDWORD lpcb)
{
	if (out == NULL || cb < n)
		return WSAEFAULT;
	memcpy(out, v, n);
	*lpcb = (DWORD)n;
	return 0;
}

/* WSPIoctl: 0 or SOCKET_ERROR; an unknown code is WSAEINVAL. */
static int WSPAPI
base_ioctl(SOCKET s, DWORD dwIoControlCode, LPVOID lpvInBuffer,
    DWORD cbInBuffer, LPVOID lpvOutBuffer, DWORD cbOutBuffer,
    LPDWORD lpcbBytesReturned, LPWSAOVERLAPPED lpOverlapped,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
    LPWSATHREADID lpThreadId, LPINT lpErrno)
{
	struct base_sock *bs;
	int fd, err, type;

	if ((bs = base_get(s)) == NULL)
		return base_fail(lpErrno, WSAENOTSOCK);
	if (lpcbBytesReturned == NULL)
		return base_fail(lpErrno, WSAEFAULT);
	fd = base_fd(bs);
	switch (dwIoControlCode) {
	case FIONBIO:
		err = base_ioctl_fionbio(s, fd, lpvInBuffer, cbInBuffer,
		    lpcbBytesReturned);
		break;
	case FIONREAD:
	case SIOCATMARK:
		err = base_ioctl_int(fd, dwIoControlCode, lpvOutBuffer,
		    cbOutBuffer, lpcbBytesReturned);
		break;
	case SIO_BASE_HANDLE:
		err = base_ioctl_answer(&fd, sizeof(fd), lpvOutBuffer,
		    cbOutBuffer, lpcbBytesReturned);
		break;
	case SIO_BSP_HANDLE:
		err = base_ioctl_answer(&s, sizeof(s), lpvOutBuffer,
		    cbOutBuffer, lpcbBytesReturned);
		break;
	case SIO_GET_EXTENSION_FUNCTION_POINTER:
		err = base_ext_lookup(lpvInBuffer, cbInBuffer, lpvOutBuffer,
		    cbOutBuffer, lpcbBytesReturned);
		break;
	default:
		err = WSAEINVAL;
		break;
	}
	if (err != 0)
		return base_fail(lpErrno, err);
	/* Every code completes at once: an overlapped request is reported
	 * as completed immediately (event set, routine queued). */
	if (lpOverlapped != NULL && base_ovl_socket(s, &type))
		ovl_complete_now(lpOverlapped, lpCompletionRoutine,
		    lpThreadId, *lpcbBytesReturned, 0);
	return 0;
}

/* --- WSPDuplicateSocket ----------------------------------------------- */

/* WSPDuplicateSocket: 0 and a one-shot token in *lpProtocolInfo, or
 * SOCKET_ERROR.  A token for this process is a slot of base_tokens; one
 * for another is share.c's. */
static int WSPAPI
base_duplicate_socket(SOCKET s, DWORD dwProcessId,
    LPWSAPROTOCOL_INFOW lpProtocolInfo, LPINT lpErrno)
{
	struct base_sock *bs;
	DWORD tok, flags;
	int fd, err;

	if ((bs = base_get(s)) == NULL)
		return base_fail(lpErrno, WSAENOTSOCK);
	/* The process is checked before the buffer. */
	if (dwProcessId != (DWORD)getpid() &&
	    (err = share_check_target(dwProcessId)) != 0)
		return base_fail(lpErrno, err);
	if (lpProtocolInfo == NULL)
		return base_fail(lpErrno, WSAEFAULT);
	flags = atomic_load_explicit(&bs->flags, memory_order_relaxed);
	if (dwProcessId != (DWORD)getpid()) {
		if ((err = share_offer(base_fd(bs), flags, dwProcessId,
		    &tok)) != 0)
			return base_fail(lpErrno, err);
	} else {
		/* The token owns its own descriptor: it outlives the source. */
		if ((fd = libc.fcntl(base_fd(bs), F_DUPFD_CLOEXEC, 0)) < 0)
			return base_fail_errno(lpErrno);
		if ((err = base_token_new(fd, BASE_TOK_DUP, flags,
		    share_claim(), &tok)) != 0) {
			base_close_quiet(fd);
			return base_fail(lpErrno, err);
		}
	}
	memcpy(lpProtocolInfo, bs->info, sizeof(*lpProtocolInfo));
	lpProtocolInfo->dwProviderReserved = tok;
	return 0;
}

/* --- WSPJoinLeaf: IP multicast membership ----------------------------- */

/* 0 after joining the group name names, or a WSA code. */
static int
base_join_group(int fd, int af, const struct sockaddr *name, int namelen)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct ip_mreqn mr;
	struct ipv6_mreq mr6;
	int rc;

	if (name == NULL)
		return WSAEFAULT;
	if (af == AF_INET) {
		if (namelen < (int)sizeof(sin))
			return WSAEFAULT;
		memcpy(&sin, name, sizeof(sin));
		if (sin.sin_family != AF_INET ||
		    !IN_MULTICAST(ntohl(sin.sin_addr.s_addr)))
			return WSAEOPNOTSUPP;
		memset(&mr, 0, sizeof(mr));
		mr.imr_multiaddr = sin.sin_addr;
		mr.imr_address = base_mcast_if4(fd);
		rc = libc.setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr,
		    sizeof(mr));
	} else {
		if (namelen < (int)sizeof(sin6))
			return WSAEFAULT;
		memcpy(&sin6, name, sizeof(sin6));
		if (sin6.sin6_family != AF_INET6 ||
		    !IN6_IS_ADDR_MULTICAST(&sin6.sin6_addr))
			return WSAEOPNOTSUPP;
		mr6.ipv6mr_multiaddr = sin6.sin6_addr;
		mr6.ipv6mr_interface = sin6.sin6_scope_id != 0 ?
		    sin6.sin6_scope_id : base_mcast_if6(fd);
		rc = libc.setsockopt(fd, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP,
		    &mr6, sizeof(mr6));
	}
	return rc == 0 ? 0 : errmap_from_errno(errno);
}

/*
 * WSPJoinLeaf: s itself (IP multipoint is non-rooted, so a c_leaf joins
 * and keeps its handle), or INVALID_SOCKET.  Only IP multicast on a UDP
 * multipoint socket; anything else is WSAEOPNOTSUPP.
 */
static SOCKET WSPAPI
base_joinleaf(SOCKET s, const struct sockaddr *name, int namelen,
    LPWSABUF lpCallerData, LPWSABUF lpCalleeData, LPQOS lpSQOS,
    LPQOS lpGQOS, DWORD dwFlags, LPINT lpErrno)
{
	struct base_sock *bs;
	int af, err;

	if ((bs = base_get(s)) == NULL)
		return base_fail_h(lpErrno, WSAENOTSOCK);
	af = bs->info->iAddressFamily;
	if ((atomic_load_explicit(&bs->flags, memory_order_relaxed) &
	    BASE_MP_FLAGS) == 0 || bs->info->iSocketType != SOCK_DGRAM ||
	    (af != AF_INET && af != AF_INET6))
		return base_fail_h(lpErrno, WSAEOPNOTSUPP);
	if (dwFlags != JL_SENDER_ONLY &&
	    dwFlags != JL_RECEIVER_ONLY && dwFlags != JL_BOTH)
		return base_fail_h(lpErrno, WSAEINVAL);
	if ((err = base_check_connect_data(lpCallerData, lpCalleeData)) != 0)
		return base_fail_h(lpErrno, err);
	/* A sender needs no membership: it sends to the group address. */
	if (dwFlags != JL_SENDER_ONLY &&
	    (err = base_join_group(base_fd(bs), af, name, namelen)) != 0)
		return base_fail_h(lpErrno, err);
	return s;
}

/* --- addresses as strings --------------------------------------------- */

/* WSPAddressToString: 0 and the string, or SOCKET_ERROR (WSAEFAULT with
 * the length needed, in WCHARs with the terminator). */
static INT WSPAPI
base_address_to_string(LPSOCKADDR lpsaAddress, DWORD dwAddressLength,
    LPWSAPROTOCOL_INFOW lpProtocolInfo, LPWSTR lpszAddressString,
    LPDWORD lpdwAddressStringLength, LPINT lpErrno)
{
	char u8[BASE_ADDRSTR_MAX];
	WCHAR w[BASE_ADDRSTR_MAX];
	size_t need;
	int err;

	if (lpsaAddress == NULL || lpdwAddressStringLength == NULL)
		return base_fail(lpErrno, WSAEFAULT);
	err = addrstr_format(lpsaAddress, dwAddressLength, u8, sizeof(u8),
	    &need);
	if (err != 0)
		return base_fail(lpErrno, err == WSAEFAULT ? WSAEINVAL : err);
	need = wstr_from_utf8(w, BASE_ADDRSTR_MAX, u8) + 1;
	if (need > BASE_ADDRSTR_MAX)
		return base_fail(lpErrno, WSAEINVAL);
	if (lpszAddressString == NULL || *lpdwAddressStringLength < need) {
		*lpdwAddressStringLength = (DWORD)need;
		return base_fail(lpErrno, WSAEFAULT);
	}
	memcpy(lpszAddressString, w, need * sizeof(WCHAR));
	*lpdwAddressStringLength = (DWORD)need;
	return 0;
}

/* WSPStringToAddress: 0 and the address, or SOCKET_ERROR (WSAEINVAL for a
 * bad string, WSAEFAULT and the size needed for a short buffer). */
static INT WSPAPI
base_string_to_address(LPWSTR AddressString, INT AddressFamily,
    LPWSAPROTOCOL_INFOW lpProtocolInfo, LPSOCKADDR lpAddress,
    LPINT lpAddressLength, LPINT lpErrno)
{
	char u8[BASE_ADDRSTR_MAX * 3];
	int err;

	/* lpAddress NULL is a size query: WSAEFAULT and the size needed. */
	if (AddressString == NULL || lpAddressLength == NULL)
		return base_fail(lpErrno, WSAEFAULT);
	if (AddressFamily == AF_UNSPEC && lpProtocolInfo != NULL)
		AddressFamily = lpProtocolInfo->iAddressFamily;
	if (wstr_to_utf8(u8, sizeof(u8), AddressString) >= sizeof(u8))
		return base_fail(lpErrno, WSAEINVAL);
	if ((err = addrstr_parse(u8, AddressFamily, lpAddress,
	    lpAddressLength)) != 0)
		return base_fail(lpErrno, err);
	return 0;
}

/* --- what Linux cannot do --------------------------------------------- */

/*
 * The stubs: each answers SOCKET_ERROR (FALSE for the BOOL ones) with
 * WSAEOPNOTSUPP.  docs/base-provider.md says why each cannot be done.
 */

/* WSPAsyncSelect: there are no window messages. */
static int WSPAPI
base_no_async_select(SOCKET s, HWND hWnd, unsigned int wMsg, LONG lEvent,
    LPINT lpErrno)
{
	return base_fail(lpErrno, WSAEOPNOTSUPP);
}

/* WSPCancelBlockingCall: there are no Winsock 1 blocking hooks. */
static int WSPAPI
base_no_cancel_blocking_call(LPINT lpErrno)
{
	return base_fail(lpErrno, WSAEOPNOTSUPP);
}

/* WSPGetQOSByName: there is no QoS. */
static BOOL WSPAPI
base_no_get_qos_by_name(SOCKET s, LPWSABUF lpQOSName, LPQOS lpQOS,
    LPINT lpErrno)
{
	*lpErrno = WSAEOPNOTSUPP;
	return FALSE;
}

/* --- start-up --------------------------------------------------------- */

static int WSPAPI base_cleanup(LPINT lpErrno);

static const WSPPROC_TABLE base_procs = {
	.lpWSPAccept = base_accept,
	.lpWSPAddressToString = base_address_to_string,
	.lpWSPAsyncSelect = base_no_async_select,
	.lpWSPBind = base_bind,
	.lpWSPCancelBlockingCall = base_no_cancel_blocking_call,
	.lpWSPCleanup = base_cleanup,
	.lpWSPCloseSocket = base_closesocket,
	.lpWSPConnect = base_connect,
	.lpWSPDuplicateSocket = base_duplicate_socket,
	.lpWSPEnumNetworkEvents = netev_enum,
	.lpWSPEventSelect = netev_select,
	.lpWSPGetOverlappedResult = ovl_get_result,
	.lpWSPGetPeerName = base_getpeername,
	.lpWSPGetSockName = base_getsockname,
	.lpWSPGetSockOpt = base_getsockopt,
	.lpWSPGetQOSByName = base_no_get_qos_by_name,
	.lpWSPIoctl = base_ioctl,
	.lpWSPJoinLeaf = base_joinleaf,
	.lpWSPListen = base_listen,
	.lpWSPRecv = base_recv,
	.lpWSPRecvDisconnect = base_recv_disconnect,
	.lpWSPRecvFrom = base_recvfrom,
	.lpWSPSelect = base_select,
	.lpWSPSend = base_send,
	.lpWSPSendDisconnect = base_send_disconnect,
	.lpWSPSendTo = base_sendto,
	.lpWSPSetSockOpt = base_setsockopt,
	.lpWSPShutdown = base_shutdown,
	.lpWSPSocket = base_socket,
	.lpWSPStringToAddress = base_string_to_address,
	.lpWSPSendMsg = base_sendmsg,
	.lpWSPRecvMsg = base_recvmsg,
	.lpWSPAccept4 = base_accept4,
	.lpWSPSendFile = base_sendfile,
	.lpWSPSplice = base_splice,
};

/* A version word as a number that orders (major, minor) correctly. */
static inline unsigned
base_version_key(WORD v)
{
	return (unsigned)LOBYTE(v) << 8 | HIBYTE(v);
}

/* The base's WSPStartup: 0, or WSAEFAULT or WSAVERNOTSUPPORTED. */
int WSPAPI
base_startup(WORD wVersionRequested, LPWSPDATA lpWSPData,
    LPWSAPROTOCOL_INFOW lpProtocolInfo, WSPUPCALLTABLE UpcallTable,
    LPWSPPROC_TABLE lpProcTable)
{
	if (lpWSPData == NULL || lpProcTable == NULL ||
	    lpProtocolInfo == NULL)
		return WSAEFAULT;
	lpWSPData->wHighVersion = BASE_VERSION;
	if (base_version_key(wVersionRequested) <
	    base_version_key(BASE_VERSION)) {
		lpWSPData->wVersion = BASE_VERSION;
		return WSAVERNOTSUPPORTED;
	}
	libc_init();
	base_spare_init();
	lpWSPData->wVersion = BASE_VERSION;	/* min(request, 2.2) */
	memcpy(lpWSPData->szDescription, base_description,
	    sizeof(base_description));
	lpWSPData->wLinuxTableVersion = WSPSHIM_LINUX_TABLE_VERSION;
	*lpProcTable = base_procs;

	while (atomic_flag_test_and_set_explicit(&base_upcall_lock,
	    memory_order_acquire))
		;
	base_upcalls = UpcallTable;	/* keep the most recent */
	atomic_flag_clear_explicit(&base_upcall_lock, memory_order_release);
	atomic_fetch_add_explicit(&base_starts, 1, memory_order_acq_rel);
	return 0;
}

/* Nothing: sets event h through the kept upcall table (WPUSetEvent). */
void
base_set_event(WSAEVENT h)
{
	LPWPUSETEVENT set;
	int err;

	while (atomic_flag_test_and_set_explicit(&base_upcall_lock,
	    memory_order_acquire))
		;
	set = base_upcalls.lpWPUSetEvent;
	atomic_flag_clear_explicit(&base_upcall_lock, memory_order_release);
	if (set != NULL)
		(void)set(h, &err);
}

/* WSPCleanup: 0, or SOCKET_ERROR with WSANOTINITIALISED.  The last one
 * voids the tokens nobody used. */
static int WSPAPI
base_cleanup(LPINT lpErrno)
{
	int n;

	n = atomic_load_explicit(&base_starts, memory_order_acquire);
	do {
		if (n <= 0)
			return base_fail(lpErrno, WSANOTINITIALISED);
	} while (!atomic_compare_exchange_weak_explicit(&base_starts, &n,
	    n - 1, memory_order_acq_rel, memory_order_acquire));
	if (n == 1)
		base_token_flush();
	return 0;
}

_Static_assert(sizeof(base_description) <=
    sizeof(((WSPDATA *)0)->szDescription), "the description fits");
