/*
 * handle.c - the socket handle table behind the WPU upcalls (see handle.h).
 *
 * A handle is gen << 24 | index << 2: the slot's pool index in bits 2-23
 * (the pool holds at most 1 << 22 objects) and its generation above.
 * Generations come from one process-wide counter and start at 256, so every
 * handle is a multiple of 4, at least HANDLE_MIN, and never handed out twice
 * (the 40-bit counter wraps after 2^40 creations).  A slot's generation is 0
 * while it is free; pool_get() zeroes it, so a handle can only match the
 * slot during the life it was made for.
 *
 * Reads are validated, seqlock style: load the generation (acquire), load
 * the fields, fence (acquire), load the generation again.  A slot closed and
 * reused in between shows a different generation, so a query never returns
 * another socket's context.  Closing is one compare-and-swap of the
 * generation to 0: of two racing closes, exactly one wins.
 */
#include <stdatomic.h>
#include <stdint.h>

#include <wspshim/ws2spi.h>

#include "handle.h"
#include "pool.h"

#define HANDLE_IDX_SHIFT	2
#define HANDLE_IDX_BITS		22
#define HANDLE_IDX_MASK		(((uint64_t)1 << HANDLE_IDX_BITS) - 1)
#define HANDLE_GEN_SHIFT	(HANDLE_IDX_SHIFT + HANDLE_IDX_BITS)
#define HANDLE_GEN_MASK		(((uint64_t)1 << (64 - HANDLE_GEN_SHIFT)) - 1)
#define HANDLE_GEN_MIN		((uint64_t)1 << (32 - HANDLE_GEN_SHIFT))

_Static_assert(sizeof(SOCKET) == 8, "handles need a 64-bit SOCKET");
_Static_assert(((uint64_t)POOL_MAX_CHUNKS << POOL_CHUNK_SHIFT) <=
    ((uint64_t)1 << HANDLE_IDX_BITS), "a pool index fits the handle");
_Static_assert(HANDLE_GEN_MIN << HANDLE_GEN_SHIFT == HANDLE_MIN,
    "the smallest handle is HANDLE_MIN");

struct handle_slot {
	_Atomic uint32_t	pool_link;	/* the pool's, while free */
	_Atomic uint32_t	catalog_id;
	_Atomic uint64_t	gen;		/* 0 while free */
	_Atomic uintptr_t	ctx;
};

static struct pool handle_pool = POOL_INIT(struct handle_slot);
static _Atomic uint64_t handle_next_gen = HANDLE_GEN_MIN;

/* A generation never used before (until the counter wraps). */
static uint64_t
handle_new_gen(void)
{
	uint64_t g;

	do {
		g = atomic_fetch_add_explicit(&handle_next_gen, 1,
		    memory_order_relaxed) & HANDLE_GEN_MASK;
	} while (g < HANDLE_GEN_MIN);
	return g;
}

/* The slot s names and, in *gen, its generation; NULL if s is no handle. */
static struct handle_slot *
handle_slot_of(SOCKET s, uint64_t *gen)
{
	if (s < HANDLE_MIN || (s & ((1u << HANDLE_IDX_SHIFT) - 1)) != 0)
		return NULL;
	*gen = s >> HANDLE_GEN_SHIFT;
	return pool_at_fast(&handle_pool,
	    (uint32_t)((s >> HANDLE_IDX_SHIFT) & HANDLE_IDX_MASK));
}

/* 1 with the context and catalog id of live handle s, else 0. */
static int
handle_read(SOCKET s, DWORD_PTR *ctx, DWORD *id)
{
	struct handle_slot *slot;
	uint64_t gen;
	uintptr_t c;
	uint32_t i;

	slot = handle_slot_of(s, &gen);
	if (slot == NULL ||
	    atomic_load_explicit(&slot->gen, memory_order_acquire) != gen)
		return 0;
	c = atomic_load_explicit(&slot->ctx, memory_order_relaxed);
	i = atomic_load_explicit(&slot->catalog_id, memory_order_relaxed);
	atomic_thread_fence(memory_order_acquire);
	if (atomic_load_explicit(&slot->gen, memory_order_relaxed) != gen)
		return 0;
	if (ctx != NULL)
		*ctx = c;
	if (id != NULL)
		*id = i;
	return 1;
}

/* A new handle for (catalog id, context), or INVALID_SOCKET (WSAENOBUFS). */
SOCKET WSPAPI
handle_create(DWORD dwCatalogEntryId, DWORD_PTR dwContext, LPINT lpErrno)
{
	struct handle_slot *slot;
	uint64_t gen;

	slot = pool_get(&handle_pool);
	if (slot == NULL) {
		*lpErrno = WSAENOBUFS;
		return INVALID_SOCKET;
	}
	gen = handle_new_gen();
	atomic_store_explicit(&slot->catalog_id, dwCatalogEntryId,
	    memory_order_relaxed);
	atomic_store_explicit(&slot->ctx, dwContext, memory_order_relaxed);
	atomic_store_explicit(&slot->gen, gen, memory_order_release);
	return (SOCKET)(gen << HANDLE_GEN_SHIFT |
	    (uint64_t)pool_index(&handle_pool, slot) << HANDLE_IDX_SHIFT);
}

/* 0 with the context in *lpContext, or SOCKET_ERROR. */
int WSPAPI
handle_query(SOCKET s, PDWORD_PTR lpContext, LPINT lpErrno)
{
	if (lpContext == NULL) {
		*lpErrno = WSAEFAULT;
		return SOCKET_ERROR;
	}
	if (!handle_read(s, lpContext, NULL)) {
		*lpErrno = WSAENOTSOCK;
		return SOCKET_ERROR;
	}
	return 0;
}

/* 0 once s is closed, or SOCKET_ERROR (WSAENOTSOCK) if it was not live. */
int WSPAPI
handle_close(SOCKET s, LPINT lpErrno)
{
	struct handle_slot *slot;
	uint64_t gen;

	slot = handle_slot_of(s, &gen);
	if (slot == NULL || !atomic_compare_exchange_strong_explicit(
	    &slot->gen, &gen, 0, memory_order_acq_rel, memory_order_relaxed)) {
		*lpErrno = WSAENOTSOCK;
		return SOCKET_ERROR;
	}
	pool_put(&handle_pool, slot);
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
