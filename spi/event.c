/*
 * event.c - event objects and waits: the WPU event upcalls and the wait
 * that WSAWaitForMultipleEvents and the alertable sleep make (see
 * event.h; the application API's calls are in wsaovl.c).
 *
 * A handle is gen << 24 | pool index << 2 | 3: 3 modulo 4, so it is never
 * NULL, a socket handle or a small descriptor, and the generation comes
 * from one process-wide counter, so a handle is never made twice.  Each
 * slot keeps its eventfd from one life to the next (a fresh slot is zero,
 * so the descriptor is kept plus one): a lookup that races a close and a
 * reuse of the slot can at worst reach another event of ours, never a
 * descriptor the program owns.
 *
 * Manual reset maps onto an eventfd directly: setting adds 1 to its
 * counter, resetting reads the counter back to 0, and waiting only polls,
 * so it consumes nothing.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <time.h>

#include "event.h"
#include "export.h"
#include "libc.h"
#include "pool.h"
#include "tls.h"

#define EVENT_TAG		((uintptr_t)3)
#define EVENT_IDX_SHIFT		2
#define EVENT_IDX_MASK		((uintptr_t)0x3fffff)
#define EVENT_GEN_SHIFT		24

struct event_obj {
	_Atomic uint32_t	pool_link;	/* the pool's while free */
	_Atomic int		fd1;		/* its eventfd + 1, for ever */
	_Atomic uintptr_t	handle;		/* 0 while free */
};

_Static_assert(((uintptr_t)POOL_MAX_CHUNKS << POOL_CHUNK_SHIFT) - 1 <=
    EVENT_IDX_MASK, "every pool index fits in an event handle");

static struct pool event_pool = POOL_INIT(struct event_obj);
static _Atomic uintptr_t event_gen = 1;

/* The live event h names, or NULL. */
static struct event_obj *
event_get(WSAEVENT h)
{
	uintptr_t v = (uintptr_t)h;
	struct event_obj *e;

	if ((v & 3) != EVENT_TAG)
		return NULL;
	e = pool_at_fast(&event_pool,
	    (uint32_t)(v >> EVENT_IDX_SHIFT & EVENT_IDX_MASK));
	if (e == NULL || atomic_load_explicit(&e->handle,
	    memory_order_acquire) != v)
		return NULL;
	return e;
}

/* WPUCreateEvent: a new, reset event, or WSA_INVALID_EVENT with
 * WSA_NOT_ENOUGH_MEMORY. */
WSAEVENT WSPAPI
event_create(LPINT lpErrno)
{
	struct event_obj *e;
	uintptr_t gen, h;
	int fd;

	if ((e = pool_get_raw(&event_pool)) == NULL)
		goto fail;
	if (atomic_load_explicit(&e->fd1, memory_order_relaxed) == 0) {
		fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fd < 0) {
			pool_put(&event_pool, e);
			goto fail;
		}
		atomic_store_explicit(&e->fd1, fd + 1, memory_order_relaxed);
	}
	gen = atomic_fetch_add_explicit(&event_gen, 1, memory_order_relaxed);
	h = gen << EVENT_GEN_SHIFT |
	    (uintptr_t)pool_index(&event_pool, e) << EVENT_IDX_SHIFT |
	    EVENT_TAG;
	atomic_store_explicit(&e->handle, h, memory_order_release);
	return (WSAEVENT)h;
fail:
	*lpErrno = WSA_NOT_ENOUGH_MEMORY;
	return WSA_INVALID_EVENT;
}

/* The eventfd of e. */
static inline int
event_obj_fd(struct event_obj *e)
{
	return atomic_load_explicit(&e->fd1, memory_order_relaxed) - 1;
}

void
event_drain(int fd)
{
	uint64_t v;
	int saved = errno;

	(void)libc.read(fd, &v, sizeof(v));
	errno = saved;
}

/* WPUCloseEvent: TRUE, or FALSE with WSA_INVALID_HANDLE.  The eventfd
 * stays with the slot, drained, for the next event made there. */
BOOL WSPAPI
event_close(WSAEVENT h, LPINT lpErrno)
{
	struct event_obj *e = event_get(h);
	uintptr_t v = (uintptr_t)h;

	/* Of two racing closes, the one that clears the handle wins. */
	if (e == NULL || !atomic_compare_exchange_strong_explicit(&e->handle,
	    &v, 0, memory_order_acq_rel, memory_order_relaxed)) {
		*lpErrno = WSA_INVALID_HANDLE;
		return FALSE;
	}
	event_drain(event_obj_fd(e));
	pool_put(&event_pool, e);
	return TRUE;
}

/* WPUSetEvent: TRUE, or FALSE with WSA_INVALID_HANDLE. */
BOOL WSPAPI
event_set(WSAEVENT h, LPINT lpErrno)
{
	struct event_obj *e = event_get(h);
	uint64_t one = 1;
	int saved = errno;

	if (e == NULL) {
		*lpErrno = WSA_INVALID_HANDLE;
		return FALSE;
	}
	/* Only a counter at its maximum refuses (EAGAIN): it is set. */
	(void)libc.write(event_obj_fd(e), &one, sizeof(one));
	errno = saved;
	return TRUE;
}

/* WPUResetEvent: TRUE, or FALSE with WSA_INVALID_HANDLE. */
BOOL WSPAPI
event_reset(WSAEVENT h, LPINT lpErrno)
{
	struct event_obj *e = event_get(h);

	if (e == NULL) {
		*lpErrno = WSA_INVALID_HANDLE;
		return FALSE;
	}
	event_drain(event_obj_fd(e));
	return TRUE;
}

int
event_fd(WSAEVENT h)
{
	struct event_obj *e = event_get(h);

	return e != NULL ? event_obj_fd(e) : -1;
}

int
event_is_set(WSAEVENT h)
{
	struct pollfd p = { .events = POLLIN };

	if ((p.fd = event_fd(h)) < 0)
		return -1;
	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0;
}

void
event_deadline(struct timespec *end, unsigned long ms)
{
	clock_gettime(CLOCK_MONOTONIC, end);
	end->tv_sec += (time_t)(ms / 1000);
	end->tv_nsec += (long)(ms % 1000) * 1000000;
	if (end->tv_nsec >= 1000000000) {
		end->tv_sec++;
		end->tv_nsec -= 1000000000;
	}
}

int
event_ms_left(const struct timespec *end)
{
	struct timespec now;
	int64_t ms;

	if (end == NULL)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (int64_t)(end->tv_sec - now.tv_sec) * 1000 +
	    (end->tv_nsec - now.tv_nsec + 999999) / 1000000;
	if (ms <= 0)
		return 0;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

/*
 * One look at fds without waiting: for wait-any the lowest index set (or
 * n), for wait-all n when every one is set, else the first that is not.
 * -1 when a descriptor is no longer open.
 */
static long
event_scan(const int *fds, DWORD n, int all)
{
	struct pollfd p[WSA_MAXIMUM_WAIT_EVENTS];
	DWORD i;

	for (i = 0; i < n; i++)
		p[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
	while (n > 0 && poll(p, n, 0) < 0)
		if (errno != EINTR)
			return -1;
	for (i = 0; i < n; i++) {
		if (p[i].revents & POLLNVAL)
			return -1;
		if (((p[i].revents & POLLIN) != 0) != all)
			return (long)i;
	}
	return (long)n;
}

DWORD
event_wait_fds(const int *fds, DWORD n, int all, DWORD ms, int alertable)
{
	struct pollfd p[WSA_MAXIMUM_WAIT_EVENTS + 1];
	struct timespec end, *endp = NULL;
	long i;
	int k, left, wake = alertable ? apc_wake_fd() : -1;
	DWORD j;

	if (ms != WSA_INFINITE) {
		event_deadline(&end, ms);
		endp = &end;
	}
	for (;;) {
		/* Routines already queued run first, as on Windows. */
		if (alertable && apc_run() > 0)
			return WSA_WAIT_IO_COMPLETION;
		if ((i = event_scan(fds, n, all)) < 0) {
			wsp_tls.last_error = WSA_INVALID_HANDLE;
			return WSA_WAIT_FAILED;
		}
		if (n > 0 && !all && i < (long)n)
			return WSA_WAIT_EVENT_0 + (DWORD)i;
		if (n > 0 && all && i == (long)n)
			return WSA_WAIT_EVENT_0;
		if ((left = event_ms_left(endp)) == 0)
			return WSA_WAIT_TIMEOUT;
		/* Wait on every event (wait-any) or on those not yet set
		 * (wait-all: any of them may be reset again meanwhile, so the
		 * next scan looks at all), and on the thread's APC queue. */
		k = 0;
		for (j = 0; j < n; j++)
			if (!all || event_scan(&fds[j], 1, 0) != 0)
				p[k++] = (struct pollfd){ .fd = fds[j],
				    .events = POLLIN };
		if (wake >= 0)
			p[k++] = (struct pollfd){ .fd = wake, .events = POLLIN };
		if (poll(p, (nfds_t)k, left) < 0 && errno != EINTR) {
			wsp_tls.last_error = WSA_NOT_ENOUGH_MEMORY;
			return WSA_WAIT_FAILED;
		}
	}
}
