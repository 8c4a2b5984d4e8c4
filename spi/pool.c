/*
 * pool.c - type-stable, lock-free object pools (see pool.h).
 *
 * A chunk is one anonymous mapping, aligned to a power of two at least its
 * own size, that starts with a small header naming its chunk number; the
 * objects follow.  So pool_index() finds the chunk by masking the pointer
 * and pool_at() by indexing chunks[], both O(1).  Chunks are installed with
 * a CAS and never unmapped.
 *
 * A flat pool instead reserves room for every object at once, read-only
 * (zero pages, nothing committed), and makes a chunk's pages writable with
 * mprotect() when its first object is handed out; chunks[] then holds the
 * chunk's first object.  Index 0 is never handed out (next_fresh starts at
 * 1), and object 0's chunk is writable from the start, for the owner.
 *
 * Fresh indices come from next_fresh; returned objects go on a Treiber
 * stack whose head is tag << 32 | (index + 1), the tag bumped on every
 * change so a stale compare-and-swap fails (no ABA).  A free object's first
 * 4 bytes hold the next free index + 1.  Readers that may hold a stale
 * pointer read those bytes while the object is reused, so the pool touches
 * object memory only through atomics (relaxed), and so must such readers.
 *
 * No malloc, no lock, no errno change: usable from signal handlers, and a
 * forked child inherits a consistent pool.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pool.h"

#define POOL_CHUNK_OBJS		((uint32_t)1 << POOL_CHUNK_SHIFT)
#define POOL_MAX_OBJS		((uint32_t)POOL_MAX_CHUNKS << POOL_CHUNK_SHIFT)
#define POOL_MIN_ALIGN		((size_t)1 << 16)	/* >= any page size */

_Static_assert(POOL_MAX_CHUNKS <= (1u << (32 - POOL_CHUNK_SHIFT)) / 2,
    "indices and index + 1 fit in 32 bits");

struct pool_chunk_hdr {
	uint32_t	chunkno;
};

/* The power of two a chunk of p spans and is aligned to. */
static inline size_t
pool_chunk_align(const struct pool *p)
{
	size_t bytes = POOL_HDR + (p->objsize << POOL_CHUNK_SHIFT);

	if (bytes <= POOL_MIN_ALIGN)
		return POOL_MIN_ALIGN;
	return (size_t)1 << (64 - __builtin_clzll((unsigned long long)bytes -
	    1));
}

/* The address of object index in its (installed) chunk base. */
static inline unsigned char *
pool_obj(const struct pool *p, unsigned char *base, uint32_t index)
{
	return base + (p->flat ? 0 : POOL_HDR) +
	    (size_t)(index & (POOL_CHUNK_OBJS - 1)) * p->objsize;
}

/* Make [a, a + n) writable, whole pages: 0, or -1 (errno untouched). */
static int
pool_writable(unsigned char *a, size_t n)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t lo = (uintptr_t)a & ~(page - 1);
	uintptr_t hi = ((uintptr_t)a + n + page - 1) & ~(page - 1);
	int saved = errno, rc;

	rc = mprotect((void *)lo, hi - lo, PROT_READ | PROT_WRITE);
	errno = saved;
	return rc;
}

/* The reservation of flat pool p, made if needed (see pool.h). */
unsigned char *
pool_flat_base(struct pool *p)
{
	size_t bytes = (size_t)POOL_MAX_OBJS * p->objsize;
	unsigned char *b, *expected = NULL;
	int saved;

	b = atomic_load_explicit(&p->flat_base, memory_order_acquire);
	if (b != NULL || !p->flat)
		return b;
	saved = errno;
	b = mmap(NULL, bytes, PROT_READ,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (b == MAP_FAILED) {
		errno = saved;
		return NULL;
	}
	if (pool_writable(b, p->objsize << POOL_CHUNK_SHIFT) != 0) {
		(void)munmap(b, bytes);
		errno = saved;
		return NULL;
	}
	if (!atomic_compare_exchange_strong_explicit(&p->flat_base, &expected,
	    b, memory_order_acq_rel, memory_order_acquire)) {
		/* Another thread made it first: keep theirs. */
		(void)munmap(b, bytes);
		b = expected;
	}
	errno = saved;
	return b;
}

/* Chunk chunkno of flat pool p, made writable if needed, or NULL. */
static unsigned char *
pool_flat_chunk(struct pool *p, uint32_t chunkno)
{
	size_t span = p->objsize << POOL_CHUNK_SHIFT;
	unsigned char *base, *c;

	c = atomic_load_explicit(&p->chunks[chunkno], memory_order_acquire);
	if (c != NULL)
		return c;
	if ((base = pool_flat_base(p)) == NULL)
		return NULL;
	c = base + (size_t)chunkno * span;
	/* Racing threads make the same pages writable and store the same
	 * pointer: both harmless. */
	if (pool_writable(c, span) != 0)
		return NULL;
	atomic_store_explicit(&p->chunks[chunkno], c, memory_order_release);
	return c;
}

/*
 * A new chunk numbered chunkno, or NULL (errno untouched).  Map twice the
 * alignment and trim both ends; as the alignment is a multiple of every
 * page size, the cuts fall on page boundaries.
 */
static unsigned char *
pool_map_chunk(struct pool *p, uint32_t chunkno)
{
	size_t align = pool_chunk_align(p), head;
	struct pool_chunk_hdr *hdr;
	unsigned char *raw, *base;
	int saved = errno;

	raw = mmap(NULL, 2 * align, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED) {
		errno = saved;
		return NULL;
	}
	base = (unsigned char *)(((uintptr_t)raw + align - 1) &
	    ~(uintptr_t)(align - 1));
	head = (size_t)(base - raw);
	if (head != 0)
		(void)munmap(raw, head);
	(void)munmap(base + align, align - head);
	hdr = (struct pool_chunk_hdr *)(void *)base;
	hdr->chunkno = chunkno;
	/* The same value every time: a cache for pool_index(). */
	atomic_store_explicit(&p->chunk_mask, align - 1,
	    memory_order_relaxed);
	errno = saved;
	return base;
}

/* The installed chunk for chunkno, mapping it if needed, or NULL. */
static unsigned char *
pool_chunk(struct pool *p, uint32_t chunkno)
{
	unsigned char *c, *mine, *expected = NULL;
	int saved;

	if (p->flat)
		return pool_flat_chunk(p, chunkno);
	c = atomic_load_explicit(&p->chunks[chunkno], memory_order_acquire);
	if (c != NULL)
		return c;
	mine = pool_map_chunk(p, chunkno);
	if (mine == NULL)
		return NULL;
	if (atomic_compare_exchange_strong_explicit(&p->chunks[chunkno],
	    &expected, mine, memory_order_acq_rel, memory_order_acquire))
		return mine;
	/* Another thread installed it first: keep theirs. */
	saved = errno;
	(void)munmap(mine, pool_chunk_align(p));
	errno = saved;
	return expected;
}

/* The object's free-list link word (its first 4 bytes). */
static inline _Atomic uint32_t *
pool_link(void *obj)
{
	return (_Atomic uint32_t *)obj;
}

/* Zero an object with relaxed atomic stores (see the top comment). */
static void
pool_zero(const struct pool *p, void *obj)
{
	_Atomic uint64_t *w = obj;
	size_t i, n = p->objsize / sizeof(*w);

	for (i = 0; i < n; i++)
		atomic_store_explicit(&w[i], 0, memory_order_relaxed);
}

/* An object popped off the free list, or NULL when the list is empty. */
static void *
pool_pop(struct pool *p)
{
	uint64_t head, next;
	uint32_t i1;
	void *obj;

	head = atomic_load_explicit(&p->free_head, memory_order_acquire);
	for (;;) {
		i1 = (uint32_t)head;
		if (i1 == 0)
			return NULL;
		/* An index on the free list was handed out, so its chunk
		 * is mapped. */
		obj = pool_obj(p, atomic_load_explicit(
		    &p->chunks[(i1 - 1) >> POOL_CHUNK_SHIFT],
		    memory_order_acquire), i1 - 1);
		next = atomic_load_explicit(pool_link(obj),
		    memory_order_relaxed);
		next |= ((head >> 32) + 1) << 32;
		if (atomic_compare_exchange_weak_explicit(&p->free_head,
		    &head, next, memory_order_acquire, memory_order_acquire))
			return obj;
	}
}

/* A never-used object, or NULL when indices or memory run out.  Out of
 * line: pool_get_raw() reuses objects far more often. */
static __attribute__((noinline)) void *
pool_fresh(struct pool *p)
{
	unsigned char *c;
	uint32_t index;

	/* Test first, so failing callers cannot wrap the counter. */
	if (atomic_load_explicit(&p->next_fresh, memory_order_relaxed) >=
	    POOL_MAX_OBJS)
		return NULL;
	index = atomic_fetch_add_explicit(&p->next_fresh, 1,
	    memory_order_relaxed);
	if (index >= POOL_MAX_OBJS)
		return NULL;
	c = pool_chunk(p, index >> POOL_CHUNK_SHIFT);
	if (c == NULL)
		return NULL;	/* that index is lost; the rest still work */
	return pool_obj(p, c, index);
}

/*
 * An object as it was left (a fresh one is zero; a reused one holds its
 * last life's values but for the link word), or NULL when memory or
 * indices run out.  For callers that set every field themselves, on the
 * socket life-cycle path where zeroing a large object would cost more than
 * the rest of the call.
 */
void *
pool_get_raw(struct pool *p)
{
	void *obj;

	obj = pool_pop(p);
	if (obj == NULL)
		obj = pool_fresh(p);
	if (obj == NULL)
		return NULL;
	/*
	 * A stale reader that loads one of the caller's new values (stored
	 * with relaxed atomics) and then fences (acquire) sees every store
	 * made before the object was freed: the seqlock-style validated reads
	 * of the handle and fd tables rely on it.
	 */
	atomic_thread_fence(memory_order_release);
	return obj;
}

/* A zeroed object, or NULL when memory or indices run out. */
void *
pool_get(struct pool *p)
{
	void *obj = pool_get_raw(p);

	if (obj != NULL)
		pool_zero(p, obj);
	return obj;
}

/* The index of obj, which came from pool_get(p). */
static inline uint32_t
pool_index_of(const struct pool *p, const void *obj)
{
	/* obj came from a mapped chunk, so the mask is set. */
	uintptr_t mask = atomic_load_explicit(&p->chunk_mask,
	    memory_order_relaxed);
	uintptr_t base = (uintptr_t)obj & ~mask;
	const struct pool_chunk_hdr *hdr = (const void *)base;
	size_t off = (uintptr_t)obj - base - POOL_HDR;

	if (p->flat)
		return (uint32_t)(((uintptr_t)obj - (uintptr_t)
		    atomic_load_explicit(&p->flat_base,
		    memory_order_relaxed)) / p->objsize);
	return (hdr->chunkno << POOL_CHUNK_SHIFT) +
	    (uint32_t)(off / p->objsize);
}

/* Nothing: obj goes back on the free list. */
void
pool_put(struct pool *p, void *obj)
{
	uint64_t head, next;
	uint32_t i1;

	if (obj == NULL)
		return;
	i1 = pool_index_of(p, obj) + 1;
	head = atomic_load_explicit(&p->free_head, memory_order_relaxed);
	do {
		atomic_store_explicit(pool_link(obj), (uint32_t)head,
		    memory_order_relaxed);
		next = ((head >> 32) + 1) << 32 | i1;
	} while (!atomic_compare_exchange_weak_explicit(&p->free_head, &head,
	    next, memory_order_release, memory_order_relaxed));
}

uint32_t
pool_index(const struct pool *p, const void *obj)
{
	return pool_index_of(p, obj);
}

/* The object with this index, or NULL if it was never handed out. */
void *
pool_at(const struct pool *p, uint32_t index)
{
	unsigned char *c;

	if (index >= POOL_MAX_OBJS || index >=
	    atomic_load_explicit(&p->next_fresh, memory_order_relaxed))
		return NULL;
	c = atomic_load_explicit(&p->chunks[index >> POOL_CHUNK_SHIFT],
	    memory_order_acquire);
	if (c == NULL)
		return NULL;
	return pool_obj(p, c, index);
}
