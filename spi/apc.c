/*
 * apc.c - per-thread APC queues: WPUQueueApc, WPUOpenCurrentThread,
 * WPUCloseThread, and what alertable waits run (see event.h).
 *
 * A queue lives in a type-stable pool and keeps its eventfd (made when
 * the thread first waits alertably or is sent an APC) from one thread to
 * the next; a WSATHREADID is (pool index + 1, generation), and
 * the generation is checked under the queue's lock, so an id of a thread
 * that has exited is refused (WSAEINVAL) even once its queue serves
 * another thread.  The eventfd counts as readable while APCs are queued:
 * an alertable wait polls it beside its events, and running the queue
 * drains it under the same lock that queueing takes, so no wake-up is
 * lost.
 *
 * Threads: a thread's queue is retired by a key destructor when it exits;
 * what was still queued to it is dropped, as Windows drops the APCs of an
 * exiting thread.  fork(): the child's copy of the forking thread's queue
 * is emptied and gets an eventfd of its own (the inherited one is the
 * parent's), since the child inherits no pending operations.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>

#include "event.h"
#include "libc.h"
#include "once.h"
#include "pool.h"

struct apc_node {
	struct apc_node	*next;
	LPWSAUSERAPC	fn;
	DWORD_PTR	ctx;
};

struct apc_thread {
	_Atomic uint32_t	pool_link;	/* the pool's while free */
	atomic_flag		lock;		/* guards the fields below */
	uint64_t		gen;		/* 0 while no thread owns it */
	int			fd1;		/* its eventfd + 1, for ever */
	struct apc_node		*head;
	struct apc_node		**tail;		/* NULL while empty */
};

static struct pool apc_pool = POOL_INIT(struct apc_thread);
static _Atomic uint64_t apc_gen = 1;
static pthread_key_t apc_key;
static struct wsp_once apc_once = WSP_ONCE_INIT;
static int apc_key_ok;

static __thread struct apc_thread *apc_me
    __attribute__((tls_model("initial-exec")));
static __thread WSATHREADID apc_me_id
    __attribute__((tls_model("initial-exec")));

/* Nothing: t's lock is held (held for a few stores at a time). */
static void
apc_lock(struct apc_thread *t)
{
	while (atomic_flag_test_and_set_explicit(&t->lock,
	    memory_order_acquire))
		sched_yield();
}

static void
apc_unlock(struct apc_thread *t)
{
	atomic_flag_clear_explicit(&t->lock, memory_order_release);
}

/* Nothing: frees a detached list of APCs without running them. */
static void
apc_drop(struct apc_node *n)
{
	struct apc_node *next;

	for (; n != NULL; n = next) {
		next = n->next;
		free(n);
	}
}

/* The key destructor: the exiting thread's queue is retired. */
static void
apc_exit(void *arg)
{
	struct apc_thread *t = arg;
	struct apc_node *n;

	apc_lock(t);
	t->gen = 0;
	n = t->head;
	t->head = NULL;
	t->tail = NULL;
	apc_unlock(t);
	apc_drop(n);
	if (t->fd1 != 0)
		event_drain(t->fd1 - 1);
	apc_me = NULL;
	pool_put(&apc_pool, t);
}

/* fork() child (event.h): every queue but the forking thread's belongs to
 * a thread the child lacks. */
void
apc_atfork_child(void)
{
	struct apc_thread *t = apc_me;
	int fd;

	if (t == NULL)
		return;
	atomic_flag_clear_explicit(&t->lock, memory_order_relaxed);
	apc_drop(t->head);
	t->head = NULL;
	t->tail = NULL;
	if (t->fd1 != 0 &&
	    (fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) >= 0) {
		(void)libc.close(t->fd1 - 1);
		t->fd1 = fd + 1;
	}
}

static void
apc_init(void *unused)
{
	apc_key_ok = pthread_key_create(&apc_key, apc_exit) == 0;
}

/* The calling thread's queue, made on first use; NULL when it cannot be
 * made (no memory, no descriptor, no key). */
static struct apc_thread *
apc_self(void)
{
	struct apc_thread *t = apc_me;

	if (__builtin_expect(t != NULL, 1))
		return t;
	wsp_once(&apc_once, apc_init, NULL);
	if (!apc_key_ok || (t = pool_get_raw(&apc_pool)) == NULL)
		return NULL;
	if (pthread_setspecific(apc_key, t) != 0) {
		pool_put(&apc_pool, t);
		return NULL;
	}
	apc_lock(t);
	t->head = NULL;
	t->tail = NULL;
	t->gen = atomic_fetch_add_explicit(&apc_gen, 1, memory_order_relaxed);
	apc_me_id.ThreadHandle = (HANDLE)(uintptr_t)(pool_index(&apc_pool, t)
	    + 1);
	apc_me_id.Reserved = (DWORD_PTR)t->gen;
	apc_unlock(t);
	apc_me = t;
	return t;
}

/* The eventfd of t, whose lock is held, made on first use (a thread that
 * never waits alertably and is never sent an APC has none): the
 * descriptor, or -1 when none can be made. */
static int
apc_fd_locked(struct apc_thread *t)
{
	int fd;

	if (t->fd1 == 0) {
		if ((fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
			return -1;
		t->fd1 = fd + 1;
	}
	return t->fd1 - 1;
}

LPWSATHREADID
apc_self_id(void)
{
	return apc_self() != NULL ? &apc_me_id : NULL;
}

int
apc_wake_fd(void)
{
	struct apc_thread *t = apc_self();
	int fd;

	if (t == NULL)
		return -1;
	apc_lock(t);
	fd = apc_fd_locked(t);
	apc_unlock(t);
	return fd;
}

int
apc_run(void)
{
	struct apc_thread *t = apc_me;
	struct apc_node *n, *next;
	int count = 0;

	if (t == NULL)
		return 0;
	apc_lock(t);
	if ((n = t->head) != NULL) {
		t->head = NULL;
		t->tail = NULL;
		event_drain(t->fd1 - 1);
	}
	apc_unlock(t);
	for (; n != NULL; n = next, count++) {
		next = n->next;
		n->fn(n->ctx);
		free(n);
	}
	return count;
}

/* WPUQueueApc: 0 once fn(ctx) is queued to the thread, or SOCKET_ERROR
 * with WSAEFAULT (a NULL pointer), WSAEINVAL (no such thread: it exited,
 * or the id is not one) or WSAENOBUFS. */
int WSPAPI
apc_queue(LPWSATHREADID lpThreadId, LPWSAUSERAPC lpfnUserApc,
    DWORD_PTR dwContext, LPINT lpErrno)
{
	struct apc_thread *t;
	struct apc_node *n;
	uint64_t one = 1;
	uintptr_t idx1;
	int fd, saved;

	if (lpThreadId == NULL || lpfnUserApc == NULL) {
		*lpErrno = WSAEFAULT;
		return SOCKET_ERROR;
	}
	idx1 = (uintptr_t)lpThreadId->ThreadHandle;
	if (idx1 == 0 || idx1 > UINT32_MAX || lpThreadId->Reserved == 0 ||
	    (t = pool_at_fast(&apc_pool, (uint32_t)(idx1 - 1))) == NULL) {
		*lpErrno = WSAEINVAL;
		return SOCKET_ERROR;
	}
	if ((n = malloc(sizeof(*n))) == NULL) {
		*lpErrno = WSAENOBUFS;
		return SOCKET_ERROR;
	}
	*n = (struct apc_node){ .fn = lpfnUserApc, .ctx = dwContext };
	apc_lock(t);
	if (t->gen != (uint64_t)lpThreadId->Reserved ||
	    (fd = apc_fd_locked(t)) < 0) {
		apc_unlock(t);
		free(n);
		*lpErrno = t->gen != (uint64_t)lpThreadId->Reserved ?
		    WSAEINVAL : WSAENOBUFS;
		return SOCKET_ERROR;
	}
	if (t->tail == NULL)
		t->head = n;
	else
		*t->tail = n;
	t->tail = &n->next;
	apc_unlock(t);
	/* The descriptor is one of ours for ever: a queue retired
	 * meanwhile only gets a spurious wake-up. */
	saved = errno;
	(void)libc.write(fd, &one, sizeof(one));
	errno = saved;
	return 0;
}

/* WPUOpenCurrentThread: 0 with the calling thread's id, or SOCKET_ERROR
 * with WSAEFAULT or WSAENOBUFS. */
int WSPAPI
apc_open_current_thread(LPWSATHREADID lpThreadId, LPINT lpErrno)
{
	LPWSATHREADID me;

	if (lpThreadId == NULL) {
		*lpErrno = WSAEFAULT;
		return SOCKET_ERROR;
	}
	if ((me = apc_self_id()) == NULL) {
		*lpErrno = WSAENOBUFS;
		return SOCKET_ERROR;
	}
	*lpThreadId = *me;
	return 0;
}

/* WPUCloseThread: 0 (an id holds nothing to release: a stale one is
 * refused by its generation), or SOCKET_ERROR with WSAEFAULT. */
int WSPAPI
apc_close_thread(LPWSATHREADID lpThreadId, LPINT lpErrno)
{
	if (lpThreadId == NULL) {
		*lpErrno = WSAEFAULT;
		return SOCKET_ERROR;
	}
	return 0;
}
