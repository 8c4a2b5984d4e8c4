/*
 * test_pool.c - the type-stable object pool: indices, zeroing (and
 * pool_get_raw, which does not), reuse, growth across chunks, and
 * concurrent use.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "pool.h"

struct obj {
	_Atomic uint64_t	a;
	_Atomic uint64_t	b;
	unsigned char		pad[40];
};

#define CHUNK_OBJS	(1u << POOL_CHUNK_SHIFT)

/* Pools are large (the chunk table); keep them out of the stack. */
static struct pool objs = POOL_INIT(struct obj);

/* 1 when every byte of the object is zero. */
static int
all_zero(const void *p, size_t n)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (c[i] != 0)
			return 0;
	return 1;
}

Test(pool, objsize_is_rounded_to_16)
{
	struct pool p = POOL_INIT(char[17]);

	cr_assert_eq(p.objsize, 32);
	cr_assert_eq(objs.objsize % 16, 0);
	cr_assert_geq(objs.objsize, sizeof(struct obj));
}

Test(pool, first_objects_get_consecutive_indices)
{
	void *o0 = pool_get(&objs), *o1 = pool_get(&objs);

	cr_assert_not_null(o0);
	cr_assert_not_null(o1);
	cr_assert_eq(pool_index(&objs, o0), 0);
	cr_assert_eq(pool_index(&objs, o1), 1);
	cr_assert_eq((char *)o1 - (char *)o0, (ptrdiff_t)objs.objsize);
}

Test(pool, index_round_trips_through_pool_at)
{
	void *o[64];
	int i;

	for (i = 0; i < 64; i++) {
		o[i] = pool_get(&objs);
		cr_assert_not_null(o[i]);
	}
	for (i = 0; i < 64; i++) {
		cr_assert_eq(pool_at(&objs, pool_index(&objs, o[i])), o[i]);
		cr_assert_eq((uintptr_t)o[i] % 16, 0, "objects are 16-aligned");
	}
}

Test(pool, pool_at_is_null_for_never_handed_out_index)
{
	void *o = pool_get(&objs);

	cr_assert_not_null(o);
	cr_assert_null(pool_at(&objs, 1));
	cr_assert_null(pool_at(&objs, CHUNK_OBJS * 3));
	cr_assert_null(pool_at(&objs, UINT32_MAX));
	cr_assert_null(pool_at(&objs,
	    (uint32_t)POOL_MAX_CHUNKS << POOL_CHUNK_SHIFT));
}

Test(pool, get_returns_zeroed_object_after_reuse)
{
	struct obj *o = pool_get(&objs), *again;

	cr_assert_not_null(o);
	cr_assert(all_zero(o, objs.objsize));
	memset(o, 0xa5, objs.objsize);
	pool_put(&objs, o);
	again = pool_get(&objs);
	cr_assert_eq(again, o, "a freed object is handed out again");
	cr_assert(all_zero(again, objs.objsize));
}

Test(pool, get_raw_keeps_what_the_last_life_left)
{
	struct obj *o = pool_get_raw(&objs), *again;
	unsigned char want[sizeof(o->pad)];

	cr_assert_not_null(o);
	cr_assert(all_zero(o, objs.objsize), "a fresh object is zero");
	atomic_store(&o->b, 0x1122334455667788u);
	memset(o->pad, 0x5a, sizeof(o->pad));
	memset(want, 0x5a, sizeof(want));
	pool_put(&objs, o);
	again = pool_get_raw(&objs);
	cr_assert_eq(again, o, "a freed object is handed out again");
	/* Only the free-list link (the first 4 bytes) is the pool's. */
	cr_assert_eq(atomic_load(&again->b), 0x1122334455667788u);
	cr_assert_eq(memcmp(again->pad, want, sizeof(want)), 0);
	pool_put(&objs, again);
	again = pool_get(&objs);
	cr_assert_eq(again, o);
	cr_assert(all_zero(again, objs.objsize),
	    "pool_get zeroes what pool_get_raw would have left");
}

Test(pool, freed_objects_are_reused_before_fresh_ones)
{
	void *o[8];
	uint32_t fresh;
	int i;

	for (i = 0; i < 8; i++)
		o[i] = pool_get(&objs);
	fresh = atomic_load(&objs.next_fresh);
	for (i = 0; i < 8; i++)
		pool_put(&objs, o[i]);
	for (i = 0; i < 8; i++) {
		void *g = pool_get(&objs);

		cr_assert_eq(pool_index(&objs, g), (uint32_t)(7 - i),
		    "free list is LIFO");
	}
	cr_assert_eq(atomic_load(&objs.next_fresh), fresh);
}

Test(pool, put_null_is_harmless)
{
	pool_put(&objs, NULL);
	cr_assert_eq(atomic_load(&objs.free_head), 0);
}

Test(pool, grows_across_several_chunks)
{
	static void *o[3 * (1u << POOL_CHUNK_SHIFT) + 5];
	size_t n = sizeof(o) / sizeof(o[0]), i;

	for (i = 0; i < n; i++) {
		o[i] = pool_get(&objs);
		cr_assert_not_null(o[i]);
		cr_assert_eq(pool_index(&objs, o[i]), (uint32_t)i);
	}
	for (i = 0; i < 4; i++)
		cr_assert_not_null(atomic_load(&objs.chunks[i]));
	cr_assert_null(atomic_load(&objs.chunks[4]));
	for (i = 0; i < n; i++)
		cr_assert_eq(pool_at(&objs, (uint32_t)i), o[i]);
	/* Objects of different chunks do not overlap. */
	for (i = 0; i + 1 < n; i++)
		cr_assert(o[i + 1] != o[i]);
	memset(o[n - 1], 0xff, objs.objsize);
	cr_assert(all_zero(o[n - 2], objs.objsize));
}

Test(pool, large_objects_keep_o1_index)
{
	static struct pool big = POOL_INIT(char[4000]);
	void *a, *b;
	uint32_t i;

	for (i = 0; i < CHUNK_OBJS + 2; i++) {
		a = pool_get(&big);
		cr_assert_not_null(a);
		cr_assert_eq(pool_index(&big, a), i);
	}
	b = pool_at(&big, CHUNK_OBJS);
	cr_assert_not_null(b);
	cr_assert_eq(pool_index(&big, b), CHUNK_OBJS);
	memset(b, 1, big.objsize);
	cr_assert_eq(pool_index(&big, a), CHUNK_OBJS + 1);
}

#define THREADS		8
#define ROUNDS		100000
#define HELD		4

static struct pool shared = POOL_INIT(struct obj);
static _Atomic int conflicts;
static pthread_barrier_t start;

/* Take and return objects; flag any object two threads hold at once. */
static void *
churn(void *arg)
{
	uint64_t me = (uint64_t)(uintptr_t)arg + 1;
	struct obj *held[HELD];
	int r, i;

	pthread_barrier_wait(&start);
	for (r = 0; r < ROUNDS; r++) {
		int n = 1 + (int)((me + (uint64_t)r) % HELD);

		for (i = 0; i < n; i++) {
			held[i] = pool_get(&shared);
			if (held[i] == NULL ||
			    atomic_load(&held[i]->a) != 0 ||
			    atomic_load(&held[i]->b) != 0)
				atomic_fetch_add(&conflicts, 1);
			if (held[i] == NULL)
				return NULL;
			atomic_store(&held[i]->a, me);
			atomic_store(&held[i]->b, (uint64_t)r);
		}
		for (i = 0; i < n; i++) {
			if (atomic_load(&held[i]->a) != me ||
			    atomic_load(&held[i]->b) != (uint64_t)r)
				atomic_fetch_add(&conflicts, 1);
			if (pool_at(&shared, pool_index(&shared, held[i])) !=
			    held[i])
				atomic_fetch_add(&conflicts, 1);
		}
		for (i = n - 1; i >= 0; i--)
			pool_put(&shared, held[i]);
	}
	return NULL;
}

Test(pool, concurrent_get_put_never_shares_an_object, .timeout = 60)
{
	pthread_t t[THREADS];
	uintptr_t i;

	cr_assert_eq(pthread_barrier_init(&start, NULL, THREADS), 0);
	for (i = 0; i < THREADS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, churn, (void *)i), 0);
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(atomic_load(&conflicts), 0);
	/* Every object came back: at most THREADS * HELD were ever live. */
	cr_assert_leq(atomic_load(&shared.next_fresh), THREADS * HELD);
}

/* Flat pools: one reservation, object i at base + i * objsize. */
static struct pool flat = POOL_INIT_FLAT(struct obj);

Test(pool, flat_objects_are_contiguous_and_never_index_0)
{
	unsigned char *base = pool_flat_base(&flat);
	void *o[3 * CHUNK_OBJS];
	uint32_t i;

	cr_assert_not_null(base);
	cr_assert_eq(pool_flat_base(&flat), base, "made once");
	for (i = 0; i < 3 * CHUNK_OBJS; i++) {
		o[i] = pool_get(&flat);
		cr_assert_not_null(o[i]);
		cr_assert_eq(pool_index(&flat, o[i]), i + 1);
		cr_assert_eq(o[i], base + (size_t)(i + 1) * flat.objsize);
		cr_assert_eq(pool_at(&flat, i + 1), o[i]);
		cr_assert(all_zero(o[i], flat.objsize));
		memset(o[i], 0xff, sizeof(struct obj));
	}
	pool_put(&flat, o[5]);
	cr_assert_eq(pool_get(&flat), o[5], "reused");
	cr_assert(all_zero(o[5], flat.objsize), "zeroed again");
}

Test(pool, flat_objects_not_handed_out_read_as_zero)
{
	unsigned char *base = pool_flat_base(&flat);
	size_t last = ((size_t)POOL_MAX_CHUNKS << POOL_CHUNK_SHIFT) - 1;

	cr_assert_not_null(base);
	/* Object 0 is the owner's, writable. */
	memset(base, 0x5a, flat.objsize);
	cr_assert_eq(pool_index(&flat, pool_get(&flat)), 1);
	cr_assert(all_zero(base + 7 * CHUNK_OBJS * flat.objsize, flat.objsize));
	cr_assert(all_zero(base + last * flat.objsize, flat.objsize));
	cr_assert_eq(base[0], 0x5a);
}
