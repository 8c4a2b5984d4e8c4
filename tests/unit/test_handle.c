/*
 * test_handle.c - the WPU socket handle table: life cycle, stale handles,
 * handle values, scale, and concurrent use; the public inline accessor
 * WSPShimHandleContext, which must answer as the upcall does; and
 * WSPShimCreateSocketHandleEx, handles that come with their context's
 * memory.
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <wspshim/ws2spi.h>

#include "handle.h"

#define SENTINEL	(-12345)

/* A new handle for (id, ctx); fails the test if there is none. */
static SOCKET
make(DWORD id, DWORD_PTR ctx)
{
	int err = SENTINEL;
	SOCKET s = handle_create(id, ctx, &err);

	cr_assert_neq(s, INVALID_SOCKET, "create failed: %d", err);
	cr_assert_eq(err, SENTINEL, "success leaves *lpErrno alone");
	return s;
}

/* The WSA code handle_query() gives for s, or 0 with *ctx on success. */
static int
query(SOCKET s, DWORD_PTR *ctx)
{
	int err = SENTINEL, rc;

	rc = handle_query(s, ctx, &err);
	if (rc == 0) {
		cr_assert_eq(err, SENTINEL, "success leaves *lpErrno alone");
		return 0;
	}
	cr_assert_eq(rc, SOCKET_ERROR);
	return err;
}

/* The WSA code handle_close() gives for s, or 0. */
static int
close_handle(SOCKET s)
{
	int err = SENTINEL, rc;

	rc = handle_close(s, &err);
	if (rc == 0) {
		cr_assert_eq(err, SENTINEL, "success leaves *lpErrno alone");
		return 0;
	}
	cr_assert_eq(rc, SOCKET_ERROR);
	return err;
}

Test(handle, create_then_query_gives_the_context)
{
	DWORD_PTR ctx = 0;
	SOCKET s = make(1001, (DWORD_PTR)0xdeadbeefcafeULL);

	cr_assert_eq(query(s, &ctx), 0);
	cr_assert_eq(ctx, (DWORD_PTR)0xdeadbeefcafeULL);
	cr_assert_eq(handle_catalog_id(s), 1001);
}

Test(handle, values_are_multiples_of_4_at_or_above_handle_min)
{
	SOCKET s[64];
	int i;

	cr_assert_eq(HANDLE_MIN, (SOCKET)1 << 32);
	for (i = 0; i < 64; i++) {
		s[i] = make(1001, (DWORD_PTR)i);
		cr_assert_geq(s[i], HANDLE_MIN);
		cr_assert_eq(s[i] % 4, 0);
		cr_assert_neq(s[i], INVALID_SOCKET);
	}
	for (i = 0; i < 64; i++)
		cr_assert_eq(close_handle(s[i]), 0);
}

Test(handle, distinct_handles_keep_distinct_contexts)
{
	SOCKET a = make(1001, 10), b = make(1002, 20);
	DWORD_PTR ctx;

	cr_assert_neq(a, b);
	cr_assert_eq(query(a, &ctx), 0);
	cr_assert_eq(ctx, 10);
	cr_assert_eq(query(b, &ctx), 0);
	cr_assert_eq(ctx, 20);
	cr_assert_eq(handle_catalog_id(a), 1001);
	cr_assert_eq(handle_catalog_id(b), 1002);
}

Test(handle, stale_handle_gives_enotsock)
{
	DWORD_PTR ctx = 77;
	SOCKET s = make(1001, 5);

	cr_assert_eq(close_handle(s), 0);
	cr_assert_eq(query(s, &ctx), WSAENOTSOCK);
	cr_assert_eq(ctx, 77, "a failed query leaves *lpContext alone");
	cr_assert_eq(handle_lookup(s, &ctx), 0);
	cr_assert_eq(handle_catalog_id(s), 0);
}

Test(handle, stale_handle_after_slot_reuse_gives_enotsock)
{
	SOCKET old = make(1001, 1), new;
	DWORD_PTR ctx;

	cr_assert_eq(close_handle(old), 0);
	new = make(1002, 2);
	/* The slot is reused (same index bits), the handle is not. */
	cr_assert_eq(new & 0xffffff, old & 0xffffff);
	cr_assert_neq(new, old);
	cr_assert_eq(query(old, &ctx), WSAENOTSOCK);
	cr_assert_eq(close_handle(old), WSAENOTSOCK,
	    "closing a stale handle does not close the new one");
	cr_assert_eq(query(new, &ctx), 0);
	cr_assert_eq(ctx, 2);
	cr_assert_eq(handle_catalog_id(old), 0);
	cr_assert_eq(handle_catalog_id(new), 1002);
}

Test(handle, double_close_gives_enotsock)
{
	SOCKET s = make(1001, 3);

	cr_assert_eq(close_handle(s), 0);
	cr_assert_eq(close_handle(s), WSAENOTSOCK);
}

Test(handle, null_lpcontext_gives_efault)
{
	SOCKET s = make(1001, 3);
	int err = SENTINEL;

	cr_assert_eq(handle_query(s, NULL, &err), SOCKET_ERROR);
	cr_assert_eq(err, WSAEFAULT);
	cr_assert_eq(handle_lookup(s, NULL), 1, "lookup accepts NULL");
}

Test(handle, foreign_values_give_enotsock)
{
	static const SOCKET bad[] = {
		0, 1, 3, 4, 1023, (SOCKET)INT_MAX, HANDLE_MIN - 4,
		HANDLE_MIN + 1, HANDLE_MIN + 2, INVALID_SOCKET,
		(SOCKET)1 << 40, ~(SOCKET)3,
	};
	DWORD_PTR ctx;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(query(bad[i], &ctx), WSAENOTSOCK, "%#jx",
		    (uintmax_t)bad[i]);
		cr_assert_eq(close_handle(bad[i]), WSAENOTSOCK);
		cr_assert_eq(handle_lookup(bad[i], &ctx), 0);
		cr_assert_eq(handle_catalog_id(bad[i]), 0);
	}
}

Test(handle, handle_with_a_live_slot_but_wrong_generation_is_stale)
{
	SOCKET s = make(1001, 9);
	DWORD_PTR ctx;

	cr_assert_eq(query(s + ((SOCKET)1 << 24), &ctx), WSAENOTSOCK);
	cr_assert_eq(query(s - ((SOCKET)1 << 24), &ctx), WSAENOTSOCK);
	cr_assert_eq(query(s + 4, &ctx), WSAENOTSOCK, "the next, unused slot");
	cr_assert_eq(query(s, &ctx), 0);
}

Test(handle, lookup_returns_1_and_the_context)
{
	SOCKET s = make(1001, 42);
	DWORD_PTR ctx = 0;

	cr_assert_eq(handle_lookup(s, &ctx), 1);
	cr_assert_eq(ctx, 42);
}

Test(handle, modify_ifs_returns_the_proposed_handle)
{
	int err = SENTINEL;

	cr_assert_eq(handle_modify_ifs(1001, 7, &err), 7);
	cr_assert_eq(handle_modify_ifs(0, HANDLE_MIN, &err), HANDLE_MIN,
	    "the catalog id is not consulted");
	cr_assert_eq(err, SENTINEL);
}

Test(handle, modify_ifs_of_invalid_socket_gives_einval)
{
	int err = SENTINEL;

	cr_assert_eq(handle_modify_ifs(1001, INVALID_SOCKET, &err),
	    INVALID_SOCKET);
	cr_assert_eq(err, WSAEINVAL);
}

Test(handle, context_zero_and_all_ones_round_trip)
{
	SOCKET a = make(0, 0), b = make(UINT32_MAX, UINTPTR_MAX);
	DWORD_PTR ctx = 1;

	cr_assert_eq(query(a, &ctx), 0);
	cr_assert_eq(ctx, 0);
	cr_assert_eq(query(b, &ctx), 0);
	cr_assert_eq(ctx, UINTPTR_MAX);
	cr_assert_eq(handle_catalog_id(b), UINT32_MAX);
}

#define CYCLES	100000

/* The timeout bounds the cost per operation: a scan would blow it. */
Test(handle, many_create_close_cycles_stay_o1_and_unique, .timeout = 30)
{
	SOCKET prev = 0, s;
	DWORD_PTR ctx;
	int i;

	for (i = 0; i < CYCLES; i++) {
		s = make(1001, (DWORD_PTR)i);
		cr_assert_gt(s, prev, "handles are never reused");
		if (prev != 0)
			cr_assert_eq(s & 0xffffff, prev & 0xffffff,
			    "one slot, reused every time");
		cr_assert_eq(query(s, &ctx), 0);
		cr_assert_eq(ctx, (DWORD_PTR)i);
		cr_assert_eq(close_handle(s), 0);
		if (prev != 0)
			cr_assert_eq(query(prev, &ctx), WSAENOTSOCK);
		prev = s;
	}
}

Test(handle, many_live_handles_are_found_in_o1, .timeout = 30)
{
	static SOCKET s[CYCLES];
	DWORD_PTR ctx;
	int i;

	for (i = 0; i < CYCLES; i++)
		s[i] = make(1001, (DWORD_PTR)i * 3);
	for (i = CYCLES - 1; i >= 0; i--) {
		cr_assert_eq(query(s[i], &ctx), 0);
		cr_assert_eq(ctx, (DWORD_PTR)i * 3);
	}
	for (i = 0; i < CYCLES; i++)
		cr_assert_eq(close_handle(s[i]), 0);
	for (i = 0; i < CYCLES; i++)
		cr_assert_eq(handle_lookup(s[i], &ctx), 0);
}

/*
 * Workers run ROUNDS rounds, and more (up to MAX_ROUNDS) until the readers
 * have seen MIN_HITS live handles, so the test never passes without having
 * raced queries against closes.
 */
#define THREADS		8
#define ROUNDS		20000
#define MAX_ROUNDS	2000000
#define READERS		2
#define MIN_HITS	200000
#define READER_MAX	100000000L

static _Atomic SOCKET published[THREADS];
static _Atomic int failures;
static _Atomic int workers_left;
static _Atomic long reader_hits;
static pthread_barrier_t start;

/* The context thread t binds to its round r: the thread in the top bits. */
static DWORD_PTR
ctx_of(uintptr_t t, int r)
{
	return (DWORD_PTR)t << 40 | (DWORD_PTR)(unsigned)r;
}

/* Create, query, publish and close handles; count every wrong answer. */
static void *
worker(void *arg)
{
	uintptr_t t = (uintptr_t)arg;
	SOCKET s, last = 0;
	DWORD_PTR ctx;
	int r, err;

	pthread_barrier_wait(&start);
	for (r = 0; r < MAX_ROUNDS && (r < ROUNDS ||
	    atomic_load(&reader_hits) < MIN_HITS); r++) {
		err = 0;
		s = handle_create((DWORD)t + 1, ctx_of(t, r), &err);
		if (s == INVALID_SOCKET || s < HANDLE_MIN || s % 4 != 0) {
			atomic_fetch_add(&failures, 1);
			break;
		}
		atomic_store(&published[t], s);
		if (handle_query(s, &ctx, &err) != 0 || ctx != ctx_of(t, r) ||
		    handle_catalog_id(s) != (DWORD)t + 1)
			atomic_fetch_add(&failures, 1);
		if (last != 0 && handle_query(last, &ctx, &err) !=
		    SOCKET_ERROR)
			atomic_fetch_add(&failures, 1);
		if (handle_close(s, &err) != 0)
			atomic_fetch_add(&failures, 1);
		last = s;
	}
	atomic_fetch_sub(&workers_left, 1);
	return NULL;
}

/* Query other threads' handles while they close them: a success must
 * carry the owner's context, never that of a socket reusing the slot. */
static void *
reader(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	DWORD_PTR ctx;
	uintptr_t t;
	SOCKET s;
	long n;

	pthread_barrier_wait(&start);
	for (n = 0; n < READER_MAX && atomic_load(&workers_left) > 0; n++) {
		t = (uintptr_t)rand_r(&seed) % THREADS;
		s = atomic_load(&published[t]);
		if (s == 0 || !handle_lookup(s, &ctx))
			continue;
		atomic_fetch_add(&reader_hits, 1);
		if (ctx >> 40 != t)
			atomic_fetch_add(&failures, 1);
	}
	return NULL;
}

Test(handle, concurrent_create_query_close_never_mixes_contexts,
    .timeout = 60)
{
	pthread_t w[THREADS], rd[READERS];
	uintptr_t i;

	atomic_store(&workers_left, THREADS);
	cr_assert_eq(pthread_barrier_init(&start, NULL, THREADS + READERS), 0);
	for (i = 0; i < READERS; i++)
		cr_assert_eq(pthread_create(&rd[i], NULL, reader,
		    (void *)(i + 1)), 0);
	for (i = 0; i < THREADS; i++)
		cr_assert_eq(pthread_create(&w[i], NULL, worker, (void *)i),
		    0);
	for (i = 0; i < THREADS; i++)
		pthread_join(w[i], NULL);
	for (i = 0; i < READERS; i++)
		pthread_join(rd[i], NULL);
	cr_assert_eq(atomic_load(&failures), 0);
	cr_assert_gt(atomic_load(&reader_hits), 0, "the readers raced");
	for (i = 0; i < THREADS; i++)
		cr_assert_eq(handle_lookup(atomic_load(&published[i]), NULL),
		    0, "every handle was closed");
	cr_log_info("reader hits: %ld", atomic_load(&reader_hits));
}

/* --- WSPShimHandleContext, the inline accessor ---------------------------- */

/*
 * The inline and the upcall agree on s: both find it, with the same
 * context, or neither does (and the inline leaves *lpContext alone).
 * Returns whether s was found.
 */
static int
agree(SOCKET s)
{
	DWORD_PTR up = 0x5a5a, in = 0xa5a5;
	int err = SENTINEL, rc, hit;

	rc = handle_query(s, &up, &err);
	hit = WSPShimHandleContext(s, &in);
	cr_assert(hit == 0 || hit == 1, "%#jx: %d", (uintmax_t)s, hit);
	cr_assert_eq(hit, rc == 0, "%#jx: inline %d, upcall %d (%d)",
	    (uintmax_t)s, hit, rc, err);
	if (hit)
		cr_assert_eq(in, up, "%#jx: contexts differ", (uintmax_t)s);
	else
		cr_assert_eq(in, 0xa5a5, "a miss leaves *lpContext alone");
	return hit;
}

/* Neither finds any of the values that are not handles, around s. */
static void
agree_none_near(SOCKET s)
{
	static const SOCKET fixed[] = {
		0, 1, 2, 3, 4, 5, 8, 12, 32, 1023, 1024, (SOCKET)INT_MAX,
		(SOCKET)UINT32_MAX, HANDLE_MIN - 4, HANDLE_MIN - 1,
		HANDLE_MIN + 1, HANDLE_MIN + 2, HANDLE_MIN + 3,
		INVALID_SOCKET, INVALID_SOCKET - 1, INVALID_SOCKET - 3,
		(SOCKET)1 << 40, (SOCKET)1 << 63, ~(SOCKET)3, ~(SOCKET)0 << 24,
	};
	size_t i;
	int b;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		cr_assert_eq(agree(fixed[i]), 0, "%#jx", (uintmax_t)fixed[i]);
	if (s == 0)
		return;
	/* The same slot in other generations, and other low bits. */
	for (b = 24; b < 64; b++)
		cr_assert_eq(agree(s ^ (SOCKET)1 << b), 0);
	for (b = 0; b < 2; b++)
		cr_assert_eq(agree(s | (SOCKET)1 << b), 0);
	/* A base-provider handle (2 modulo 4) with the same slot index. */
	cr_assert_eq(agree(s | 2), 0);
	/* Neighbouring slots, and the last slot of the table. */
	cr_assert_eq(agree(s + 4), 0);
	cr_assert_eq(agree(s - 4), 0);
	cr_assert_eq(agree((s & ~(SOCKET)0xffffff) | 0xfffffc), 0);
}

/* A small, fixed pseudo-random sequence (xorshift64). */
static uint64_t
next_rand(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

Test(handle_inline, the_descriptor_has_this_version)
{
	cr_assert_eq(WSPShimHandleTable.dwVersion,
	    WSPSHIM_HANDLE_TABLE_VERSION);
}

/* Before the first handle the table is a static placeholder: nothing is
 * found, nothing crashes (each test runs in a new process). */
Test(handle_inline, before_the_first_handle_nothing_is_found)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	int i;

	agree_none_near((SOCKET)1 << 32 | 4);
	for (i = 0; i < 100000; i++)
		cr_assert_eq(agree((SOCKET)next_rand(&x)), 0);
	for (i = 0; i < 4096; i++)
		cr_assert_eq(agree((SOCKET)i), 0);
}

Test(handle_inline, live_closed_and_reused_handles_agree)
{
	SOCKET a = make(1001, 11), b = make(1002, 22), old, new;
	DWORD_PTR ctx;

	cr_assert_eq(agree(a), 1);
	cr_assert_eq(agree(b), 1);
	cr_assert_eq(WSPShimHandleContext(b, &ctx), 1);
	cr_assert_eq(ctx, 22);
	agree_none_near(a);
	old = a;
	cr_assert_eq(close_handle(old), 0);
	cr_assert_eq(agree(old), 0, "closed");
	new = make(1003, 33);
	cr_assert_eq(new & 0xffffff, old & 0xffffff, "the slot was reused");
	cr_assert_eq(agree(old), 0, "closed, slot reused");
	cr_assert_eq(agree(new), 1);
	cr_assert_eq(WSPShimHandleContext(new, &ctx), 1);
	cr_assert_eq(ctx, 33);
	agree_none_near(new);
}

Test(handle_inline, contexts_zero_and_all_ones_agree)
{
	SOCKET a = make(0, 0), b = make(UINT32_MAX, UINTPTR_MAX);
	DWORD_PTR ctx = 1;

	cr_assert_eq(agree(a), 1);
	cr_assert_eq(WSPShimHandleContext(a, &ctx), 1);
	cr_assert_eq(ctx, 0);
	cr_assert_eq(agree(b), 1);
	cr_assert_eq(WSPShimHandleContext(b, &ctx), 1);
	cr_assert_eq(ctx, UINTPTR_MAX);
}

/* Every value with the index of a slot never handed out, in a chunk never
 * made writable, and random values: none is found, by either. */
Test(handle_inline, slots_never_handed_out_and_random_values_agree)
{
	static const uint32_t idx[] = {
		0, 1, 2, 1023, 1024, 1025, 4096, 1u << 20, (1u << 21) + 7,
		(1u << 22) - 2, (1u << 22) - 1,
	};
	uint64_t x = 0x2545f4914f6cdd1dULL, gen;
	SOCKET live = make(1001, 5), s;
	size_t i;
	int k;

	for (i = 0; i < sizeof(idx) / sizeof(idx[0]); i++)
		for (gen = 0; gen < 1024; gen += 37)
			for (k = 0; k < 4; k++) {
				s = (SOCKET)gen << 24 | (SOCKET)idx[i] << 2 |
				    (SOCKET)k;
				if (s != live)
					cr_assert_eq(agree(s), 0, "%#jx",
					    (uintmax_t)s);
			}
	for (i = 0; i < 1000000; i++) {
		s = (SOCKET)next_rand(&x);
		if (s != live)
			cr_assert_eq(agree(s), 0, "%#jx", (uintmax_t)s);
	}
	cr_assert_eq(agree(live), 1);
}

/* Many live handles, spread over many chunks, then all closed. */
Test(handle_inline, many_handles_agree_live_and_closed, .timeout = 60)
{
	static SOCKET s[CYCLES];
	DWORD_PTR ctx;
	int i;

	for (i = 0; i < CYCLES; i++)
		s[i] = make(1001, (DWORD_PTR)i * 7);
	for (i = 0; i < CYCLES; i++) {
		cr_assert_eq(agree(s[i]), 1);
		cr_assert_eq(WSPShimHandleContext(s[i], &ctx), 1);
		cr_assert_eq(ctx, (DWORD_PTR)i * 7);
		cr_assert_eq(agree(s[i] + ((SOCKET)1 << 24)), 0);
		cr_assert_eq(agree(s[i] | 2), 0);
	}
	for (i = 0; i < CYCLES; i += 2)
		cr_assert_eq(close_handle(s[i]), 0);
	for (i = 0; i < CYCLES; i++)
		cr_assert_eq(agree(s[i]), i % 2);
}

/*
 * One thread closes and recreates handles, LIVES times, recording in
 * lives[] which handle each life had and using the life number as the
 * context; another queries, with the inline, the current handle and old
 * ones, QUERIES times.  A context the inline returns for s must be that of
 * s's own life: lives[ctx] == s.  Bounded: fixed counts on both sides.
 */
#define LIVES		200000
#define QUERIES		4000000L

static _Atomic SOCKET lives[LIVES];
static _Atomic int lives_made;
static _Atomic int recycler_done, reader_done;
static _Atomic long last_seen = -1;	/* the last life the reader found */

static void *
recycler(void *arg)
{
	SOCKET s;
	int r, n, err;

	(void)arg;
	pthread_barrier_wait(&start);
	for (r = 0; r < LIVES; r++) {
		s = handle_create(1001, (DWORD_PTR)r, &err);
		if (s == INVALID_SOCKET) {
			atomic_fetch_add(&failures, 1);
			break;
		}
		atomic_store(&lives[r], s);
		atomic_store(&lives_made, r + 1);
		/* Now and then wait (boundedly) until the reader has found
		 * this life, so the test races even on one busy CPU. */
		for (n = 0; r % 64 == 0 && n < 100000 &&
		    !atomic_load(&reader_done) &&
		    atomic_load(&last_seen) != r; n++)
			sched_yield();
		if (handle_close(s, &err) != 0)
			atomic_fetch_add(&failures, 1);
	}
	atomic_store(&recycler_done, 1);
	return NULL;
}

static void *
inline_reader(void *arg)
{
	uint64_t x = 0x853c49e6748fea9bULL;
	long n, hits = 0;
	DWORD_PTR ctx;
	SOCKET s;
	int made;

	(void)arg;
	pthread_barrier_wait(&start);
	for (n = 0; n < QUERIES && !atomic_load(&recycler_done); n++) {
		if ((made = atomic_load(&lives_made)) == 0) {
			n--;		/* not started: no query made */
			continue;
		}
		/* Mostly the newest life, sometimes an older one. */
		if (n % 8 != 0)
			s = atomic_load(&lives[made - 1]);
		else
			s = atomic_load(&lives[next_rand(&x) % (uint64_t)made]);
		if (!WSPShimHandleContext(s, &ctx))
			continue;
		hits++;
		if (ctx >= (DWORD_PTR)LIVES || atomic_load(&lives[ctx]) != s)
			atomic_fetch_add(&failures, 1);
		atomic_store(&last_seen, (long)ctx);
	}
	atomic_fetch_add(&reader_hits, hits);
	atomic_store(&reader_done, 1);
	return NULL;
}

Test(handle_inline, never_gives_a_context_from_another_life, .timeout = 120)
{
	pthread_t w, r;

	atomic_store(&failures, 0);
	atomic_store(&reader_hits, 0);
	cr_assert_eq(pthread_barrier_init(&start, NULL, 2), 0);
	cr_assert_eq(pthread_create(&r, NULL, inline_reader, NULL), 0);
	cr_assert_eq(pthread_create(&w, NULL, recycler, NULL), 0);
	pthread_join(w, NULL);
	pthread_join(r, NULL);
	cr_assert_eq(atomic_load(&failures), 0);
	cr_assert_eq(atomic_load(&lives_made), LIVES);
	cr_assert_gt(atomic_load(&reader_hits), 0, "the reader raced");
	cr_assert_eq(agree(atomic_load(&lives[LIVES - 1])), 0, "all closed");
	cr_log_info("inline reader hits: %ld", atomic_load(&reader_hits));
}

/* --- WSPShimCreateSocketHandleEx: a handle with its context's memory ------ */

/* A new handle with cb bytes of storage in *mem; fails the test if there
 * is none. */
static SOCKET
make_ex(DWORD id, DWORD cb, void **mem)
{
	int err = SENTINEL;
	SOCKET s;

	*mem = NULL;
	s = WSPShimCreateSocketHandleEx(id, cb, mem, &err);
	cr_assert_neq(s, INVALID_SOCKET, "create failed: %d", err);
	cr_assert_eq(err, SENTINEL, "success leaves *lpErrno alone");
	cr_assert_not_null(*mem);
	return s;
}

Test(handle_ex, the_context_is_the_storage_and_is_aligned)
{
	unsigned char *mem;
	DWORD_PTR ctx = 0, in = 0;
	SOCKET s = make_ex(1001, 64, (void **)&mem);

	cr_assert_geq(s, HANDLE_MIN);
	cr_assert_eq(s % 4, 0);
	cr_assert_eq((uintptr_t)mem % 16, 0, "aligned for any type");
	memset(mem, 0xa5, 64);		/* all of it is the layer's */
	cr_assert_eq(query(s, &ctx), 0);
	cr_assert_eq(ctx, (DWORD_PTR)mem);
	cr_assert_eq(WSPShimHandleContext(s, &in), 1);
	cr_assert_eq(in, (DWORD_PTR)mem);
	cr_assert_eq(handle_catalog_id(s), 1001);
	cr_assert_eq(close_handle(s), 0);
}

Test(handle_ex, a_closed_handle_is_stale_and_its_slot_keeps_the_storage)
{
	void *a, *b;
	DWORD_PTR ctx = 77;
	SOCKET s = make_ex(1001, 48, &a), t;

	cr_assert_eq(close_handle(s), 0);
	cr_assert_eq(query(s, &ctx), WSAENOTSOCK);
	cr_assert_eq(ctx, 77);
	cr_assert_eq(close_handle(s), WSAENOTSOCK, "no double close");
	/* The slot closed last is the next one out, with its storage: no
	 * allocation in between. */
	t = make_ex(1002, 48, &b);
	cr_assert_eq(t & 0xffffff, s & 0xffffff, "the same slot");
	cr_assert_neq(t, s, "a new handle value");
	cr_assert_eq(b, a, "the same storage");
	cr_assert_eq(query(s, &ctx), WSAENOTSOCK, "the old handle stays stale");
	cr_assert_eq(close_handle(t), 0);
}

Test(handle_ex, a_larger_context_gets_larger_storage)
{
	unsigned char *mem;
	DWORD_PTR ctx;
	SOCKET s = make_ex(1001, 16, (void **)&mem);

	cr_assert_eq(close_handle(s), 0);
	s = make_ex(1001, 4096, (void **)&mem);
	memset(mem, 0x3c, 4096);
	cr_assert_eq(query(s, &ctx), 0);
	cr_assert_eq(ctx, (DWORD_PTR)mem);
	cr_assert_eq(close_handle(s), 0);
	/* A small one after it reuses the large storage. */
	s = make_ex(1001, 8, (void **)&mem);
	cr_assert_eq(mem[4095], 0x3c, "the storage was kept, not shrunk");
	cr_assert_eq(close_handle(s), 0);
}

Test(handle_ex, null_lppcontext_gives_efault_and_loses_no_slot)
{
	int err = SENTINEL;
	void *mem;
	SOCKET s = make_ex(1001, 32, &mem), t;

	cr_assert_eq(close_handle(s), 0);
	cr_assert_eq(WSPShimCreateSocketHandleEx(1001, 32, NULL, &err),
	    INVALID_SOCKET);
	cr_assert_eq(err, WSAEFAULT);
	/* The slot it took off the free list went back. */
	t = make_ex(1001, 32, &mem);
	cr_assert_eq(t & 0xffffff, s & 0xffffff);
	cr_assert_eq(close_handle(t), 0);
}

Test(handle_ex, a_context_of_0_bytes_is_allowed)
{
	void *a, *b;
	SOCKET s = make_ex(1001, 0, &a), t = make_ex(1001, 0, &b);

	cr_assert_neq(a, b, "distinct addresses");
	cr_assert_eq(close_handle(s), 0);
	cr_assert_eq(close_handle(t), 0);
}

Test(handle_ex, plain_and_ex_handles_share_the_table)
{
	void *mem, *again;
	DWORD_PTR ctx;
	SOCKET s = make_ex(1001, 24, &mem), p;

	cr_assert_eq(close_handle(s), 0);
	/* A plain handle on the slot: its own context, not the storage. */
	p = make(1002, 0x1234);
	cr_assert_eq(p & 0xffffff, s & 0xffffff);
	cr_assert_eq(query(p, &ctx), 0);
	cr_assert_eq(ctx, 0x1234);
	cr_assert_eq(close_handle(p), 0);
	/* And the storage is still there for the next Ex handle. */
	s = make_ex(1003, 24, &again);
	cr_assert_eq(again, mem);
	cr_assert_eq(close_handle(s), 0);
}

Test(handle_ex, many_cycles_give_unique_handles, .timeout = 30)
{
	static SOCKET seen[CYCLES];
	void *mem;
	int i, j;

	for (i = 0; i < CYCLES; i++) {
		seen[i] = make_ex(1001, (DWORD)(i % 200), &mem);
		memset(mem, i, (size_t)(i % 200));
		cr_assert_eq(close_handle(seen[i]), 0);
	}
	/* Generations only grow: each value is larger than the last. */
	for (i = 1; i < CYCLES; i++)
		cr_assert_gt(seen[i], seen[i - 1], "%d", i);
	for (i = 0, j = CYCLES - 1; i < 16; i++, j--)
		cr_assert_eq(handle_lookup(seen[j], NULL), 0);
}

/*
 * Threads make Ex handles of different sizes, stamp their storage, keep a
 * few open at a time, check the stamps and the lookups, and close them;
 * readers look up the handles being published meanwhile.  Two live
 * handles sharing storage, a lookup giving another life's context, or a
 * handle value seen twice would each be counted.  Bounded: EX_ROUNDS
 * rounds a thread.
 */
#define EX_THREADS	6
#define EX_ROUNDS	30000
#define EX_HELD		4

struct ex_stamp {
	uintptr_t	thread;
	uint64_t	round;
	SOCKET		self;
};

static _Atomic SOCKET ex_published[EX_THREADS];
static _Atomic int ex_failures;
static _Atomic int ex_left;
static _Atomic long ex_hits;
static pthread_barrier_t ex_start;

static void *
ex_worker(void *arg)
{
	uintptr_t t = (uintptr_t)arg;
	struct ex_stamp *held[EX_HELD] = { NULL };
	SOCKET hs[EX_HELD] = { 0 }, last = 0;
	DWORD_PTR ctx;
	uint64_t r;
	int k, err;

	pthread_barrier_wait(&ex_start);
	for (r = 0; r < EX_ROUNDS; r++) {
		k = (int)(r % EX_HELD);
		if (held[k] != NULL) {
			/* Still ours: nobody else was handed this storage. */
			if (held[k]->thread != t || held[k]->self != hs[k] ||
			    !WSPShimHandleContext(hs[k], &ctx) ||
			    ctx != (DWORD_PTR)held[k])
				atomic_fetch_add(&ex_failures, 1);
			err = 0;
			if (handle_close(hs[k], &err) != 0)
				atomic_fetch_add(&ex_failures, 1);
			held[k] = NULL;
		}
		err = 0;
		hs[k] = WSPShimCreateSocketHandleEx(2000 + (DWORD)t,
		    (DWORD)(sizeof(struct ex_stamp) + (t * 40 + r) % 300),
		    (LPVOID *)&held[k], &err);
		if (hs[k] == INVALID_SOCKET || hs[k] <= last) {
			/* Generations grow, so a thread's handles do too. */
			atomic_fetch_add(&ex_failures, 1);
			held[k] = NULL;
			break;
		}
		last = hs[k];
		held[k]->thread = t;
		held[k]->round = r;
		held[k]->self = hs[k];
		atomic_store(&ex_published[t], hs[k]);
	}
	for (k = 0; k < EX_HELD; k++)
		if (held[k] != NULL && handle_close(hs[k], &err) != 0)
			atomic_fetch_add(&ex_failures, 1);
	atomic_fetch_sub(&ex_left, 1);
	return NULL;
}

static void *
ex_reader(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	DWORD_PTR ctx;
	SOCKET s;
	long n;

	pthread_barrier_wait(&ex_start);
	for (n = 0; n < READER_MAX && atomic_load(&ex_left) > 0; n++) {
		s = atomic_load(&ex_published[rand_r(&seed) % EX_THREADS]);
		if (s == 0 || !WSPShimHandleContext(s, &ctx))
			continue;
		atomic_fetch_add(&ex_hits, 1);
		if (ctx == 0 || ctx % 16 != 0)
			atomic_fetch_add(&ex_failures, 1);
	}
	return NULL;
}

Test(handle_ex, threads_racing_create_and_close_never_share_storage,
    .timeout = 120)
{
	pthread_t w[EX_THREADS], rd[READERS];
	uintptr_t i;

	atomic_store(&ex_left, EX_THREADS);
	cr_assert_eq(pthread_barrier_init(&ex_start, NULL,
	    EX_THREADS + READERS), 0);
	for (i = 0; i < READERS; i++)
		cr_assert_eq(pthread_create(&rd[i], NULL, ex_reader,
		    (void *)(i + 1)), 0);
	for (i = 0; i < EX_THREADS; i++)
		cr_assert_eq(pthread_create(&w[i], NULL, ex_worker,
		    (void *)i), 0);
	for (i = 0; i < EX_THREADS; i++)
		pthread_join(w[i], NULL);
	for (i = 0; i < READERS; i++)
		pthread_join(rd[i], NULL);
	cr_assert_eq(atomic_load(&ex_failures), 0);
	for (i = 0; i < EX_THREADS; i++)
		cr_assert_eq(handle_lookup(atomic_load(&ex_published[i]), NULL),
		    0, "every handle was closed");
	cr_log_info("ex reader hits: %ld", atomic_load(&ex_hits));
}

/*
 * Generations come from the free list's tag, which every create moves on,
 * whether the slot is reused or never used before: no two handles made
 * share a generation, so a value made from a live handle with another
 * slot's index is not a handle either.
 */
Test(handle, every_handle_made_has_a_generation_of_its_own, .timeout = 30)
{
	enum { N = 48, TURNS = 6 };
	SOCKET live[N], seen[N * TURNS * 2];
	DWORD_PTR ctx;
	size_t nseen = 0, i, j;
	int r;

	for (i = 0; i < N; i++)
		seen[nseen++] = live[i] = make(1001, (DWORD_PTR)i);
	for (r = 0; r < TURNS; r++) {
		/* Close every other one, then make them again (reused
		 * slots), and a few more (slots never used before). */
		for (i = (size_t)r % 2; i < N; i += 2) {
			cr_assert_eq(close_handle(live[i]), 0);
			live[i] = make(1001, (DWORD_PTR)i);
			seen[nseen++] = live[i];
		}
	}
	for (i = 0; i < nseen; i++) {
		cr_assert_geq(seen[i], HANDLE_MIN);
		cr_assert_eq(seen[i] % 4, 0);
		for (j = 0; j < i; j++)
			cr_assert_neq(seen[i] >> 24, seen[j] >> 24,
			    "handles %zu and %zu share generation %#jx", i, j,
			    (uintmax_t)(seen[i] >> 24));
	}
	/* Another live handle's generation with this one's index. */
	for (i = 1; i < N; i++)
		cr_assert_eq(query((live[i] & 0xffffff) |
		    (live[i - 1] & ~(SOCKET)0xffffff), &ctx), WSAENOTSOCK);
	for (i = 0; i < N; i++)
		cr_assert_eq(close_handle(live[i]), 0);
}

/* A reused slot's generation is larger than its last one: a handle value
 * comes back only after the tag wraps. */
Test(handle, a_reused_slot_gets_a_larger_generation)
{
	SOCKET a, b, c;

	a = make(1001, 1);
	b = make(1001, 2);	/* a slot never used, between a's lives */
	cr_assert_eq(close_handle(a), 0);
	c = make(1001, 3);
	cr_assert_eq(c & 0xffffff, a & 0xffffff, "a's slot again");
	cr_assert_gt(c >> 24, a >> 24);
	cr_assert_gt(c >> 24, b >> 24);
	cr_assert_eq(close_handle(b), 0);
	cr_assert_eq(close_handle(c), 0);
}
