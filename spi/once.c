/*
 * once.c - the fork-safe once (once.h).
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "once.h"

/* How long a waiter sleeps before it looks at the runner again. */
#define ONCE_RECHECK_NS	(50 * 1000 * 1000)

/* Whether thread tid, which claimed a once, is a thread of this process:
 * after fork() it is a thread of the parent, and gone. */
static int
runner_alive(int tid)
{
	return syscall(SYS_tgkill, getpid(), tid, 0) == 0 || errno != ESRCH;
}

int
wsp_once_slow(struct wsp_once *o, void (*init)(void *), void *arg)
{
	const struct timespec bound = { 0, ONCE_RECHECK_NS };
	int me = (int)syscall(SYS_gettid), s, saved = errno;

	for (;;) {
		s = atomic_load_explicit(&o->state, memory_order_acquire);
		if (s == WSP_ONCE_DONE)
			break;
		if (s == me) {
			errno = saved;
			return -1;
		}
		if (s == 0 || !runner_alive(s)) {
			if (!atomic_compare_exchange_strong_explicit(&o->state,
			    &s, me, memory_order_acquire,
			    memory_order_acquire))
				continue;
			init(arg);
			atomic_store_explicit(&o->state, WSP_ONCE_DONE,
			    memory_order_release);
			syscall(SYS_futex, &o->state, FUTEX_WAKE_PRIVATE,
			    INT_MAX, NULL, NULL, 0);
			break;
		}
		/* Another thread of this process runs it: sleep while the
		 * word still names that thread. */
		syscall(SYS_futex, &o->state, FUTEX_WAIT_PRIVATE, s, &bound,
		    NULL, 0);
	}
	errno = saved;
	return 0;
}
