/*
 * handle.c - the socket handle table behind the WPU upcalls (see handle.h).
 *
 * A handle is gen << 24 | index << 2: the slot's index in bits 2-23 (the
 * table holds at most 1 << 22 slots) and its generation above.
 * Generations are at least 256, so every handle is a multiple of 4 and at
 * least HANDLE_MIN; a slot never gets the same generation twice until 2^40
 * handles have been made (see the free list below).
 *
 * Slots live in a flat pool (see pool.h): slot i at base + i * 32, in one
 * reservation made on the first handle_create(), read-only zero pages until
 * handed out and never unmapped.  A live slot holds its whole handle; a
 * free one holds 0.  Any 64-bit value names a slot, the one at base +
 * (value << 3 & mask): so a value is a live handle exactly when the slot it
 * names holds it, with no other check.  Slot 0, which the pool never hands
 * out, holds 4, a value that names slot 1 (a zero slot 0 would match the
 * value 0).  Until the first handle exists the table is handle_empty, two
 * static slots with the same property.  Layers read the table directly,
 * inline, through the exported descriptor WSPShimHandleTable
 * (WSPShimHandleContext in ws2spi.h): its mask is published after its slots
 * pointer, and read before it, so a reader never pairs the large mask with
 * the small table.
 *
 * The pool only hands out slots never used before.  A closed slot goes on
 * the table's own free list, not back to the pool, and the next create
 * takes it from there: a Treiber stack of slot indices whose links are the
 * slots' first 4 bytes (index << 2, as in a handle) and whose head is laid
 * out as a handle, tag << 24 | index << 2.  Every pop adds one to the
 * tag, so a stale pop's compare-and-swap fails (no ABA: the link of a
 * slot on the list changes only after the slot is popped); a push keeps
 * it.  The tag is also the generation of the handle the popped slot gets:
 * the new head's tag with the slot's index, with no counter of its own to
 * update.  A slot never used before moves the tag on too, so every handle
 * made gets a tag no other had, until it wraps after 2^40 handles
 * (skipping the values below 256), as the separate counter this replaces
 * did.  That is a load and a compare-and-swap each way, where the pool's
 * general path would also convert between pointers and indices and zero the
 * slot; and a slot keeps its context storage (WSPShimCreateSocketHandleEx)
 * from one life to the next, which the pool, which owns the whole object
 * while it is free, would not allow.
 *
 * Reads are validated, seqlock style: load the handle (acquire), load the
 * fields, fence (acquire), load the handle again.  A slot closed and reused
 * in between holds a different handle, so a query never returns another
 * socket's context.  Closing is one compare-and-swap of the handle to 0,
 * after a plain compare (the pages of a slot never handed out are
 * read-only): of two racing closes, exactly one wins.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <wspshim/ws2spi.h>

#include "export.h"
#include "handle.h"
#include "pool.h"

#define HANDLE_IDX_SHIFT	2
#define HANDLE_IDX_BITS		22
#define HANDLE_IDX_MASK		(((uint64_t)1 << HANDLE_IDX_BITS) - 1)
#define HANDLE_GEN_SHIFT	(HANDLE_IDX_SHIFT + HANDLE_IDX_BITS)
#define HANDLE_GEN_MIN		((uint64_t)1 << (32 - HANDLE_GEN_SHIFT))

/* The slot a value names is (value << HANDLE_SLOT_SHIFT) & mask bytes in. */
#define HANDLE_SLOT_SHIFT	3
#define HANDLE_SLOT_MASK	(HANDLE_IDX_MASK << (HANDLE_IDX_SHIFT + \
				    HANDLE_SLOT_SHIFT))
/* What slot 0 holds: a value that names slot 1, never slot 0. */
#define HANDLE_SLOT0_KEY	((SOCKET)1 << HANDLE_IDX_SHIFT)

/* Context storage a slot keeps from one life to the next (aligned as
 * malloc aligns, for any type the layer keeps there). */
struct handle_mem {
	size_t			size;		/* bytes in data */
	struct handle_mem	*all;		/* the block made before */
	_Alignas(16) unsigned char data[];
};

struct handle_slot {
	_Atomic uint32_t	link;		/* while free: the next free
						 * slot's index << 2 */
	_Atomic uint32_t	catalog_id;
	_Atomic SOCKET		handle;		/* 0 while free */
	_Atomic uintptr_t	ctx;
	/* Touched only by the thread that holds the slot (between taking it
	 * off the free list and publishing it): readers never look. */
	struct handle_mem	*mem;
};

_Static_assert(sizeof(SOCKET) == 8, "handles need a 64-bit SOCKET");
_Static_assert(((uint64_t)POOL_MAX_CHUNKS << POOL_CHUNK_SHIFT) <=
    ((uint64_t)1 << HANDLE_IDX_BITS), "a pool index fits the handle");
_Static_assert(HANDLE_GEN_MIN << HANDLE_GEN_SHIFT == HANDLE_MIN,
    "the smallest handle is HANDLE_MIN");
_Static_assert(offsetof(struct handle_slot, handle) ==
    WSPSHIM_HANDLE_SLOT_HANDLE && offsetof(struct handle_slot, ctx) ==
    WSPSHIM_HANDLE_SLOT_CONTEXT, "the slot layout ws2spi.h reads");
_Static_assert(sizeof(struct handle_slot) == POOL_OBJSIZE(struct handle_slot) &&
    sizeof(struct handle_slot) ==
    (size_t)1 << (HANDLE_IDX_SHIFT + HANDLE_SLOT_SHIFT),
    "slot i is i * 32 bytes in, in the pool and in handle_empty");

/* The index bits of a handle, and one step of its generation. */
#define HANDLE_IDX_FIELD	(HANDLE_IDX_MASK << HANDLE_IDX_SHIFT)
#define HANDLE_GEN_ONE		((uint64_t)1 << HANDLE_GEN_SHIFT)

static struct pool handle_pool = POOL_INIT_FLAT(struct handle_slot);
/* The free list: tag << 24 | the first free slot's index << 2 (index 0:
 * empty, as slot 0 is never handed out); the tag starts at 256. */
static _Atomic uint64_t handle_free = HANDLE_MIN;
/* Every storage block ever made, newest first: they are never freed, and
 * this keeps them reachable from a global (leak checkers do not look in
 * the table's mapping). */
static _Atomic(struct handle_mem *) handle_mems;

/* The table before the first handle: slot 0 names slot 1, slot 1 is 0. */
static struct handle_slot handle_empty[2] = {
	{ .handle = HANDLE_SLOT0_KEY },
};

/*
 * The descriptor layers read (WSPShimHandleTable, through an alias: the
 * header declares it const for them).  Written only by handle_publish().
 */
static WSPSHIM_HANDLE_TABLE handle_desc = {
	.dwVersion = WSPSHIM_HANDLE_TABLE_VERSION,
	.ulSlotMask = sizeof(struct handle_slot),
	.lpSlots = (const unsigned char *)handle_empty,
};
extern const WSPSHIM_HANDLE_TABLE WSPShimHandleTable
    __attribute__((alias("handle_desc")));

/* Point the descriptor at the pool's slots, once they exist: 1, or 0 when
 * they cannot be reserved.  Racing callers store the same values. */
static int
handle_publish(void)
{
	struct handle_slot *slot0;

	if (__atomic_load_n(&handle_desc.ulSlotMask, __ATOMIC_ACQUIRE) ==
	    HANDLE_SLOT_MASK)
		return 1;
	slot0 = (struct handle_slot *)(void *)pool_flat_base(&handle_pool);
	if (slot0 == NULL)
		return 0;
	atomic_store_explicit(&slot0->handle, HANDLE_SLOT0_KEY,
	    memory_order_relaxed);
	__atomic_store_n(&handle_desc.lpSlots, (const unsigned char *)slot0,
	    __ATOMIC_RELEASE);
	__atomic_store_n(&handle_desc.ulSlotMask, HANDLE_SLOT_MASK,
	    __ATOMIC_RELEASE);
	return 1;
}

/* The slot value s names (every value names one; see the top comment). */
static inline struct handle_slot *
handle_slot_of(SOCKET s)
{
	uintptr_t mask = __atomic_load_n(&handle_desc.ulSlotMask,
	    __ATOMIC_ACQUIRE);
	const unsigned char *base = __atomic_load_n(&handle_desc.lpSlots,
	    __ATOMIC_RELAXED);

	return (struct handle_slot *)(uintptr_t)(base +
	    ((s << HANDLE_SLOT_SHIFT) & mask));
}

/* 1 with the context and catalog id of live handle s, else 0. */
static int
handle_read(SOCKET s, DWORD_PTR *ctx, DWORD *id)
{
	struct handle_slot *slot = handle_slot_of(s);
	uintptr_t c;
	uint32_t i;

	if (atomic_load_explicit(&slot->handle, memory_order_acquire) != s)
		return 0;
	c = atomic_load_explicit(&slot->ctx, memory_order_relaxed);
	i = atomic_load_explicit(&slot->catalog_id, memory_order_relaxed);
	atomic_thread_fence(memory_order_acquire);
	if (atomic_load_explicit(&slot->handle, memory_order_relaxed) != s)
		return 0;
	if (ctx != NULL)
		*ctx = c;
	if (id != NULL)
		*id = i;
	return 1;
}

/* The slot at index i of the published table. */
static inline struct handle_slot *
handle_at(uint32_t i)
{
	return (struct handle_slot *)(uintptr_t)__atomic_load_n(
	    &handle_desc.lpSlots, __ATOMIC_RELAXED) + i;
}

/* The tag of free-list head `head', one on: past 2^40 it starts again at
 * 256 (a handle is never below HANDLE_MIN). */
static inline uint64_t
handle_tag_next(uint64_t head)
{
	uint64_t t = (head & ~HANDLE_IDX_FIELD) + HANDLE_GEN_ONE;

	return t < HANDLE_MIN ? HANDLE_MIN : t;
}

/* The handle for a slot taken off the free list (the slot's index and a
 * generation new to it: the tag the pop made), or 0 when the list is
 * empty.  A non-empty list means the table is published (a slot was
 * handed out before it was freed). */
static inline SOCKET
handle_pop(void)
{
	uint64_t head, next;
	SOCKET idx;

	head = atomic_load_explicit(&handle_free, memory_order_acquire);
	do {
		if ((idx = head & HANDLE_IDX_FIELD) == 0)
			return 0;
		/* A stale link (the slot was taken meanwhile) fails the
		 * compare-and-swap: the tag has moved on. */
		next = handle_tag_next(head) | atomic_load_explicit(&handle_at(
		    (uint32_t)(idx >> HANDLE_IDX_SHIFT))->link,
		    memory_order_relaxed);
	} while (!atomic_compare_exchange_weak_explicit(&handle_free, &head,
	    next, memory_order_acquire, memory_order_acquire));
	return (next & ~HANDLE_IDX_FIELD) | idx;
}

/* Nothing: the slot of handle (or index field) h goes on the free list. */
static inline void
handle_push(struct handle_slot *slot, SOCKET h)
{
	uint64_t head, next;

	head = atomic_load_explicit(&handle_free, memory_order_relaxed);
	do {
		atomic_store_explicit(&slot->link,
		    (uint32_t)(head & HANDLE_IDX_FIELD), memory_order_relaxed);
		next = (head & ~HANDLE_IDX_FIELD) | (h & HANDLE_IDX_FIELD);
	} while (!atomic_compare_exchange_weak_explicit(&handle_free, &head,
	    next, memory_order_release, memory_order_relaxed));
}

/* The index in handle h. */
static inline uint32_t
handle_index(SOCKET h)
{
	return (uint32_t)(h >> HANDLE_IDX_SHIFT & HANDLE_IDX_MASK);
}

/* A slot never used before, from the pool, with its handle, or NULL when
 * the table cannot grow.  Its generation is a tag of its own, as a pop's
 * is (the head's tag moved one on, its index kept), so no two handles
 * ever made share a generation.  Out of line: reused slots are the usual
 * case. */
static __attribute__((noinline)) struct handle_slot *
handle_fresh(SOCKET *h)
{
	struct handle_slot *slot;
	uint64_t head, tag;

	if (!handle_publish() || (slot = pool_get_raw(&handle_pool)) == NULL)
		return NULL;
	head = atomic_load_explicit(&handle_free, memory_order_relaxed);
	do
		tag = handle_tag_next(head);
	while (!atomic_compare_exchange_weak_explicit(&handle_free, &head,
	    tag | (head & HANDLE_IDX_FIELD), memory_order_relaxed,
	    memory_order_relaxed));
	*h = tag | (SOCKET)pool_index(&handle_pool, slot) << HANDLE_IDX_SHIFT;
	return slot;
}

/* A free slot and its new handle, or NULL (WSAENOBUFS). */
static inline struct handle_slot *
handle_take(SOCKET *h)
{
	struct handle_slot *slot;

	if ((*h = handle_pop()) != 0)
		slot = handle_at(handle_index(*h));
	else if ((slot = handle_fresh(h)) == NULL)
		return NULL;
	/*
	 * A stale reader that loads one of the new values stored below
	 * (relaxed) and then fences (acquire) sees the close that freed the
	 * slot, so its second load of the handle fails: the seqlock of
	 * handle_read() and WSPShimHandleContext() relies on it.
	 */
	atomic_thread_fence(memory_order_release);
	return slot;
}

/* Make slot live as handle h for (catalog id, context): h. */
static inline SOCKET
handle_publish_slot(struct handle_slot *slot, SOCKET h,
    DWORD dwCatalogEntryId, DWORD_PTR dwContext)
{
	atomic_store_explicit(&slot->catalog_id, dwCatalogEntryId,
	    memory_order_relaxed);
	atomic_store_explicit(&slot->ctx, dwContext, memory_order_relaxed);
	atomic_store_explicit(&slot->handle, h, memory_order_release);
	return h;
}

/* A new handle for (catalog id, context), or INVALID_SOCKET (WSAENOBUFS). */
SOCKET WSPAPI
handle_create(DWORD dwCatalogEntryId, DWORD_PTR dwContext, LPINT lpErrno)
{
	struct handle_slot *slot;
	SOCKET h;

	if ((slot = handle_take(&h)) == NULL) {
		*lpErrno = WSAENOBUFS;
		return INVALID_SOCKET;
	}
	return handle_publish_slot(slot, h, dwCatalogEntryId, dwContext);
}

/*
 * Storage of at least n bytes for slot, kept for its later lives: a new
 * block replacing its own, which was too small; NULL when memory runs
 * out.  The old block is not freed: a call racing the close of the
 * slot's last handle may still read it, and the storage is promised never
 * to go away.  Sizes are powers of two from 64, so a slot outgrows at most
 * a few blocks, together smaller than the one it keeps.  Out of line: a
 * slot's block is usually large enough.
 */
static __attribute__((noinline)) struct handle_mem *
handle_grow(struct handle_slot *slot, size_t n)
{
	struct handle_mem *m;
	size_t size = 64;

	while (size < n)
		size <<= 1;
	if ((m = malloc(sizeof(*m) + size)) == NULL)
		return NULL;
	m->size = size;
	m->all = atomic_load_explicit(&handle_mems, memory_order_relaxed);
	while (!atomic_compare_exchange_weak_explicit(&handle_mems, &m->all, m,
	    memory_order_release, memory_order_relaxed))
		;
	slot->mem = m;
	return m;
}

/*
 * WSPShimCreateSocketHandleEx's other cases: lppContext NULL, an empty
 * free list (h is 0), a slot (of handle h, taken already) whose storage
 * is too small, or none.  Out of line, so the usual case saves no
 * registers.
 */
static __attribute__((noinline)) SOCKET
handle_create_ex_slow(DWORD dwCatalogEntryId, DWORD cbContext,
    LPVOID *lppContext, LPINT lpErrno, SOCKET h)
{
	struct handle_slot *slot = h != 0 ? handle_at(handle_index(h)) : NULL;
	struct handle_mem *m;

	if (lppContext == NULL) {
		if (slot != NULL)
			handle_push(slot, h);
		*lpErrno = WSAEFAULT;
		return INVALID_SOCKET;
	}
	if (slot == NULL && (slot = handle_fresh(&h)) == NULL) {
		*lpErrno = WSAENOBUFS;
		return INVALID_SOCKET;
	}
	atomic_thread_fence(memory_order_release);	/* see handle_take() */
	if ((m = slot->mem) == NULL || m->size < cbContext) {
		if ((m = handle_grow(slot, cbContext)) == NULL) {
			handle_push(slot, h);
			*lpErrno = WSAENOBUFS;
			return INVALID_SOCKET;
		}
	}
	*lppContext = m->data;
	return handle_publish_slot(slot, h, dwCatalogEntryId,
	    (DWORD_PTR)m->data);
}

/* WSPShimCreateSocketHandleEx: a new handle whose context is storage of
 * cbContext bytes it owns, or INVALID_SOCKET (see ws2spi.h).  The usual
 * case: a slot off the free list whose storage is large enough. */
WSPSHIM_EXPORT SOCKET WSPAPI
WSPShimCreateSocketHandleEx(DWORD dwCatalogEntryId, DWORD cbContext,
    LPVOID *lppContext, LPINT lpErrno)
{
	struct handle_slot *slot;
	struct handle_mem *m;
	SOCKET h = 0;

	if (__builtin_expect(lppContext != NULL && (h = handle_pop()) != 0 &&
	    (m = (slot = handle_at(handle_index(h)))->mem) != NULL &&
	    m->size >= cbContext, 1)) {
		atomic_thread_fence(memory_order_release); /* handle_take() */
		*lppContext = m->data;
		return handle_publish_slot(slot, h, dwCatalogEntryId,
		    (DWORD_PTR)m->data);
	}
	return handle_create_ex_slow(dwCatalogEntryId, cbContext, lppContext,
	    lpErrno, h);
}

/* 0 with the context in *lpContext, or SOCKET_ERROR. */
int WSPAPI
handle_query(SOCKET s, PDWORD_PTR lpContext, LPINT lpErrno)
{
	if (lpContext == NULL) {
		*lpErrno = WSAEFAULT;
		return SOCKET_ERROR;
	}
	if (!WSPShimHandleContext(s, lpContext)) {
		*lpErrno = WSAENOTSOCK;
		return SOCKET_ERROR;
	}
	return 0;
}

/* 0 once s is closed, or SOCKET_ERROR (WSAENOTSOCK) if it was not live. */
int WSPAPI
handle_close(SOCKET s, LPINT lpErrno)
{
	struct handle_slot *slot = handle_slot_of(s);
	SOCKET h = s;

	/* Compare first: a slot that may hold s is writable, others may not
	 * be (a CAS writes even when it fails). */
	if (atomic_load_explicit(&slot->handle, memory_order_relaxed) != s ||
	    !atomic_compare_exchange_strong_explicit(&slot->handle, &h, 0,
	    memory_order_acq_rel, memory_order_relaxed)) {
		*lpErrno = WSAENOTSOCK;
		return SOCKET_ERROR;
	}
	handle_push(slot, s);
	return 0;
}

/* ProposedHandle unchanged, or INVALID_SOCKET (WSAEINVAL) for an invalid
 * one. */
SOCKET WSPAPI
handle_modify_ifs(DWORD dwCatalogEntryId, SOCKET ProposedHandle,
    LPINT lpErrno)
{
	if (ProposedHandle == INVALID_SOCKET) {
		*lpErrno = WSAEINVAL;
		return INVALID_SOCKET;
	}
	return ProposedHandle;
}

/* The catalog entry id live handle s was created with, or 0. */
DWORD
handle_catalog_id(SOCKET s)
{
	DWORD id;

	return handle_read(s, NULL, &id) ? id : 0;
}

/* 1 with the context of live handle s in *ctx (if not NULL), else 0. */
int
handle_lookup(SOCKET s, DWORD_PTR *ctx)
{
	return handle_read(s, ctx, NULL);
}
