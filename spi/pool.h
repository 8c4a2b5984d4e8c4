/*
 * pool.h - type-stable, lock-free object pools.
 *
 * Objects live in chunks that are mapped on demand and never unmapped, and
 * freed objects go on a tagged (ABA-safe) free list.  A reader holding a
 * stale pointer therefore reads an old or recycled object, never unmapped
 * memory; that is what lets the fd table and the handle table be read
 * without locks, from any thread or signal handler, and survive fork().
 *
 * Every object has a stable 32-bit index; pool_at() maps it back in O(1).
 *
 * A flat pool (POOL_INIT_FLAT) keeps every object in one reservation made
 * on first use, object i at pool_flat_base() + i * objsize, so a reader
 * that knows the base needs no chunk table: the handle table's public
 * inline accessor relies on it.  The reservation is read-only zero pages
 * (no memory is committed for it), and a chunk's pages become writable
 * when its first object is handed out; like chunks, they are never
 * unmapped.  A flat pool never hands out index 0, so its owner may keep
 * what it likes in that first object.
 *
 * The pool writes object memory only with relaxed atomic stores (the
 * free-list link in a free object's first 4 bytes; the zeroing in
 * pool_get(), after a release fence), so a reader that may hold a stale
 * pointer must read the fields it validates with atomics too, and a
 * pool_get_raw() caller must store them with atomics.
 */
#ifndef WSPSHIM_POOL_H
#define WSPSHIM_POOL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define POOL_CHUNK_SHIFT	10			/* 1024 objects a chunk */
#define POOL_MAX_CHUNKS		4096			/* 4M objects at most */

struct pool {
	size_t			objsize;	/* rounded up to 16 bytes */
	_Atomic size_t		chunk_mask;	/* chunk alignment - 1, once
						 * the first chunk is mapped */
	_Atomic uint64_t	free_head;	/* tag << 32 | (index + 1) */
	_Atomic uint32_t	next_fresh;	/* never-used indices start here */
	int			flat;		/* one reservation, no headers */
	_Atomic(unsigned char *) flat_base;	/* flat: object 0, once made */
	/* Chunked: each chunk's mapping; flat: each chunk's first object,
	 * once its pages are writable. */
	_Atomic(unsigned char *) chunks[POOL_MAX_CHUNKS];
};

#define POOL_OBJSIZE(type)	((sizeof(type) + 15) & ~(size_t)15)
#define POOL_INIT(type)		{ .objsize = POOL_OBJSIZE(type) }
#define POOL_INIT_FLAT(type)	{ .objsize = POOL_OBJSIZE(type),	\
				  .next_fresh = 1, .flat = 1 }

#define POOL_HDR		64	/* chunk header; keeps objects aligned */

/*
 * The object at index of a chunked pool, for a hot path: one load and a
 * multiply.  Unlike
 * pool_at() it does not check that the index was ever handed out, so the
 * caller validates what it reads (a generation, its own handle): an index
 * in a mapped chunk that was never used names a zeroed object.  NULL when
 * the index's chunk is not mapped.
 */
static inline void *
pool_at_fast(const struct pool *p, uint32_t index)
{
	unsigned char *c;

	if (index >= (uint32_t)POOL_MAX_CHUNKS << POOL_CHUNK_SHIFT)
		return NULL;
	c = atomic_load_explicit(&p->chunks[index >> POOL_CHUNK_SHIFT],
	    memory_order_acquire);
	if (c == NULL)
		return NULL;
	return c + POOL_HDR + (size_t)(index & ((1u << POOL_CHUNK_SHIFT) - 1)) *
	    p->objsize;
}

/* A zeroed object, or NULL when memory or indices run out. */
void *pool_get(struct pool *p);

/* An object with whatever its last life left in it (fresh ones are zero),
 * for callers that store every field themselves; NULL as pool_get(). */
void *pool_get_raw(struct pool *p);

/* A flat pool's object 0 (its reservation), made if needed; NULL when it
 * cannot be mapped.  Objects a flat pool has not handed out read as
 * zeroes, except object 0, which is writable and left to the owner. */
unsigned char *pool_flat_base(struct pool *p);

/* Return an object; it may be handed out again at once. */
void pool_put(struct pool *p, void *obj);

/* The object's index, and back.  pool_at() returns NULL for an index that
 * was never handed out. */
uint32_t pool_index(const struct pool *p, const void *obj);
void *pool_at(const struct pool *p, uint32_t index);

#endif
