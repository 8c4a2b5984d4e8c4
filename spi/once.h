/*
 * once.h - run an initialiser once per process, safely across fork().
 *
 * pthread_once is not enough here.  The core and the layers initialise
 * lazily, on a program's first socket call, so a once can be running in
 * one thread while another thread forks.  The child then holds a
 * half-run once whose runner it does not have: glibc re-runs it (its
 * fork generation counter), ThreadSanitizer's pthread_once waits for it
 * for ever, and a mutex plus pthread_atfork handlers has a window of its
 * own (handlers that a library registers while a fork's prepare phase
 * runs are left out of that fork).  So the state word itself says who
 * runs the initialiser:
 *
 *	0		never run
 *	WSP_ONCE_DONE	run to the end
 *	a thread id	that thread is running it
 *
 * A caller that finds a thread id that is not a thread of its own
 * process (tgkill(getpid(), tid, 0) answers ESRCH: the runner was a
 * thread of the parent it was forked from) takes the once over and runs
 * the initialiser again from the start, as glibc's pthread_once does in
 * a child; an initialiser must therefore tolerate a half-finished run
 * before it (overwrite, never append).  No fork handler is needed, so
 * there is no registration to race with.
 *
 * The fast path is one acquire load, inline.  Waiters sleep on the state
 * word (futex), woken when it turns done, with a bound so a runner that
 * vanished (a thread cancelled mid-initialiser) is noticed too.
 *
 * This file and once.c are compiled into the core and, as a small static
 * library, into the layers (layers/meson.build), like outfile.c.  It
 * calls no name the shim interposes.
 */
#ifndef WSPSHIM_ONCE_H
#define WSPSHIM_ONCE_H

#include <stdatomic.h>

#define WSP_ONCE_DONE	(-1)

struct wsp_once {
	_Atomic int	state;		/* 0, WSP_ONCE_DONE or a thread id */
};

#define WSP_ONCE_INIT	{ 0 }

int wsp_once_slow(struct wsp_once *o, void (*init)(void *), void *arg);

/*
 * Run init(arg) unless it has run in this process (or in the one this
 * was forked from, to the end); wait while another thread runs it.  0
 * once it has run; -1 when the calling thread is the one running it (a
 * signal handler, or init itself, calling back in): init has not
 * finished, and waiting would never end.
 */
static inline int
wsp_once(struct wsp_once *o, void (*init)(void *), void *arg)
{
	if (__builtin_expect(atomic_load_explicit(&o->state,
	    memory_order_acquire) == WSP_ONCE_DONE, 1))
		return 0;
	return wsp_once_slow(o, init, arg);
}

/* Whether init has run to the end (an acquire load). */
static inline int
wsp_once_done(struct wsp_once *o)
{
	return atomic_load_explicit(&o->state, memory_order_acquire) ==
	    WSP_ONCE_DONE;
}

#endif
