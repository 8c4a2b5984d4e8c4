/*
 * test_event.c - event objects, waits and APC queues (spi/event.c,
 * spi/apc.c) as a program and a layer see them: manual reset, the
 * descriptor behind an event, stale handles, wait-any and wait-all over
 * up to 64 events, timeouts, every documented error, and APCs that run
 * only in alertable waits of the thread they were queued to.
 *
 * Criterion runs each test in a process of its own.  Every wait here is
 * bounded: WAIT_MS for what must happen, SHORT_MS for what must not.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <wspshim/ws2spi.h>

#include "event.h"
#include "provider.h"

#define WAIT_MS		5000
#define SHORT_MS	50

static void __attribute__((constructor))
hermetic_catalog(void)
{
	setenv("WSPSHIM_CATALOG", "/nonexistent/wspshim-test/catalog", 1);
	unsetenv("WSPSHIM_LAYERS");
}

static void
start(void)
{
	WSADATA d;

	cr_assert_eq(WSAStartup(MAKEWORD(2, 2), &d), 0);
}

/* Milliseconds on the monotonic clock. */
static int64_t
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Whether descriptor fd polls readable now. */
static int
readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static WSAEVENT
new_event(void)
{
	WSAEVENT e = WSACreateEvent();

	cr_assert_neq(e, WSA_INVALID_EVENT, "WSACreateEvent: %d",
	    WSAGetLastError());
	return e;
}

TestSuite(event, .init = start);
TestSuite(wait, .init = start);
TestSuite(apc, .init = start);

Test(not_started, event_calls_need_startup)
{
	cr_assert_eq(WSACreateEvent(), WSA_INVALID_EVENT);
	cr_assert_eq(WSAGetLastError(), WSANOTINITIALISED);
	cr_assert_eq(WSASetEvent((WSAEVENT)(uintptr_t)7), FALSE);
	cr_assert_eq(WSAGetLastError(), WSANOTINITIALISED);
}

Test(event, manual_reset_and_pollable)
{
	WSAEVENT e = new_event();
	int fd = WSAEventDescriptor(e);

	cr_assert_geq(fd, 0);
	cr_assert_eq(event_is_set(e), 0, "a new event is reset");
	cr_assert(!readable(fd));
	cr_assert_eq(WSASetEvent(e), TRUE);
	cr_assert_eq(WSASetEvent(e), TRUE);
	cr_assert_eq(event_is_set(e), 1);
	cr_assert(readable(fd), "a set event's descriptor polls readable");
	/* Waiting consumes nothing: manual reset. */
	cr_assert_eq(WSAWaitForMultipleEvents(1, &e, FALSE, 0, FALSE),
	    WSA_WAIT_EVENT_0);
	cr_assert_eq(WSAWaitForMultipleEvents(1, &e, FALSE, 0, FALSE),
	    WSA_WAIT_EVENT_0);
	cr_assert_eq(WSAResetEvent(e), TRUE);
	cr_assert_eq(event_is_set(e), 0, "one reset clears two sets");
	cr_assert_eq(WSAResetEvent(e), TRUE, "resetting a reset event");
	cr_assert_eq(WSACloseEvent(e), TRUE);
}

Test(event, bad_handles_are_invalid_handle)
{
	WSAEVENT bad[] = { WSA_INVALID_EVENT, (WSAEVENT)(uintptr_t)1,
	    (WSAEVENT)(uintptr_t)0x12345673, (WSAEVENT)(uintptr_t)~0ull };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		WSASetLastError(0);
		cr_assert_eq(WSASetEvent(bad[i]), FALSE);
		cr_assert_eq(WSAGetLastError(), WSA_INVALID_HANDLE);
		cr_assert_eq(WSAResetEvent(bad[i]), FALSE);
		cr_assert_eq(WSAGetLastError(), WSA_INVALID_HANDLE);
		cr_assert_eq(WSACloseEvent(bad[i]), FALSE);
		cr_assert_eq(WSAGetLastError(), WSA_INVALID_HANDLE);
		cr_assert_eq(WSAEventDescriptor(bad[i]), -1);
	}
}

/* PITFALLS 25: a stale handle never reaches what now has its number. */
Test(event, stale_handle_touches_nothing)
{
	WSAEVENT old = new_event(), e2;
	int sv[2], fd = WSAEventDescriptor(old);
	char c;

	cr_assert_eq(WSACloseEvent(old), TRUE);
	cr_assert_eq(WSACloseEvent(old), FALSE, "closed twice");
	cr_assert_eq(WSAGetLastError(), WSA_INVALID_HANDLE);
	/* A socket made now, and an event in the freed slot. */
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	e2 = new_event();
	cr_assert_neq(e2, old, "a handle is never made twice");
	cr_assert_eq(WSAEventDescriptor(e2), fd, "the slot keeps its fd");
	cr_assert_neq(sv[0], fd);
	cr_assert_neq(sv[1], fd);
	cr_assert_eq(WSASetEvent(old), FALSE);
	cr_assert_eq(WSAGetLastError(), WSA_INVALID_HANDLE);
	cr_assert_eq(event_is_set(e2), 0, "the stale set reached e2");
	cr_assert_eq(recv(sv[1], &c, 1, MSG_DONTWAIT), -1);
	cr_assert_eq(errno, EAGAIN, "the stale set reached a socket");
	cr_assert_eq(WSAWaitForMultipleEvents(1, &old, FALSE, 0, FALSE),
	    WSA_WAIT_FAILED);
	cr_assert_eq(WSAGetLastError(), WSA_INVALID_HANDLE);
	/* A reused slot starts reset even if the old event was set. */
	cr_assert_eq(WSASetEvent(e2), TRUE);
	cr_assert_eq(WSACloseEvent(e2), TRUE);
	e2 = new_event();
	cr_assert_eq(event_is_set(e2), 0);
}

Test(event, upcalls_are_the_same_objects)
{
	const WSPUPCALLTABLE *u = &provider_upcalls;
	WSAEVENT e;
	int err = 0;

	e = u->lpWPUCreateEvent(&err);
	cr_assert_neq(e, WSA_INVALID_EVENT);
	cr_assert_eq(u->lpWPUSetEvent(e, &err), TRUE);
	cr_assert_eq(WSAWaitForMultipleEvents(1, &e, TRUE, 0, FALSE),
	    WSA_WAIT_EVENT_0);
	cr_assert_eq(u->lpWPUResetEvent(e, &err), TRUE);
	cr_assert_eq(event_is_set(e), 0);
	cr_assert_eq(u->lpWPUCloseEvent(e, &err), TRUE);
	err = 0;
	cr_assert_eq(u->lpWPUSetEvent(e, &err), FALSE);
	cr_assert_eq(err, WSA_INVALID_HANDLE);
}

Test(wait, bad_parameters)
{
	WSAEVENT e[WSA_MAXIMUM_WAIT_EVENTS + 1];
	int i;

	for (i = 0; i <= WSA_MAXIMUM_WAIT_EVENTS; i++)
		e[i] = new_event();
	cr_assert_eq(WSAWaitForMultipleEvents(0, e, FALSE, 0, FALSE),
	    WSA_WAIT_FAILED);
	cr_assert_eq(WSAGetLastError(), WSA_INVALID_PARAMETER);
	cr_assert_eq(WSAWaitForMultipleEvents(WSA_MAXIMUM_WAIT_EVENTS + 1, e,
	    FALSE, 0, FALSE), WSA_WAIT_FAILED);
	cr_assert_eq(WSAGetLastError(), WSA_INVALID_PARAMETER);
	cr_assert_eq(WSAWaitForMultipleEvents(1, NULL, FALSE, 0, FALSE),
	    WSA_WAIT_FAILED);
	cr_assert_eq(WSAGetLastError(), WSA_INVALID_PARAMETER);
	WSACloseEvent(e[5]);
	cr_assert_eq(WSAWaitForMultipleEvents(10, e, FALSE, 0, FALSE),
	    WSA_WAIT_FAILED);
	cr_assert_eq(WSAGetLastError(), WSA_INVALID_HANDLE);
}

Test(wait, timeout_is_honoured)
{
	WSAEVENT e = new_event();
	int64_t t0 = now_ms(), dt;

	cr_assert_eq(WSAWaitForMultipleEvents(1, &e, FALSE, SHORT_MS, FALSE),
	    WSA_WAIT_TIMEOUT);
	dt = now_ms() - t0;
	cr_assert_geq(dt, SHORT_MS - 1, "returned after %lld ms",
	    (long long)dt);
	cr_assert_lt(dt, WAIT_MS);
	cr_assert_eq(WSAWaitForMultipleEvents(1, &e, TRUE, 0, FALSE),
	    WSA_WAIT_TIMEOUT, "a zero timeout only looks");
}

Test(wait, any_of_64_gives_the_lowest_set)
{
	WSAEVENT e[WSA_MAXIMUM_WAIT_EVENTS];
	int i;

	for (i = 0; i < WSA_MAXIMUM_WAIT_EVENTS; i++)
		e[i] = new_event();
	WSASetEvent(e[63]);
	cr_assert_eq(WSAWaitForMultipleEvents(64, e, FALSE, WAIT_MS, FALSE),
	    WSA_WAIT_EVENT_0 + 63);
	WSASetEvent(e[37]);
	cr_assert_eq(WSAWaitForMultipleEvents(64, e, FALSE, WAIT_MS, FALSE),
	    WSA_WAIT_EVENT_0 + 37);
	WSASetEvent(e[0]);
	cr_assert_eq(WSAWaitForMultipleEvents(64, e, FALSE, WAIT_MS, FALSE),
	    WSA_WAIT_EVENT_0);
}

Test(wait, all_of_64_needs_every_one)
{
	WSAEVENT e[WSA_MAXIMUM_WAIT_EVENTS];
	int i;

	for (i = 0; i < WSA_MAXIMUM_WAIT_EVENTS; i++)
		e[i] = new_event();
	for (i = 0; i < WSA_MAXIMUM_WAIT_EVENTS - 1; i++)
		WSASetEvent(e[i]);
	cr_assert_eq(WSAWaitForMultipleEvents(64, e, TRUE, SHORT_MS, FALSE),
	    WSA_WAIT_TIMEOUT, "63 of 64 set");
	WSASetEvent(e[63]);
	cr_assert_eq(WSAWaitForMultipleEvents(64, e, TRUE, WAIT_MS, FALSE),
	    WSA_WAIT_EVENT_0);
}

struct setter {
	WSAEVENT	*e;
	int		n;
	int		delay_ms;
};

/* Sets each event in turn, delay_ms apart. */
static void *
setter_main(void *arg)
{
	struct setter *s = arg;
	struct timespec d = { 0, 0 };
	int i;

	d.tv_nsec = (long)s->delay_ms * 1000000;
	for (i = 0; i < s->n; i++) {
		nanosleep(&d, NULL);
		WSASetEvent(s->e[i]);
	}
	return NULL;
}

Test(wait, all_wakes_when_another_thread_sets_the_last)
{
	WSAEVENT e[WSA_MAXIMUM_WAIT_EVENTS];
	struct setter s = { .e = e, .n = 4, .delay_ms = 10 };
	pthread_t t;
	int i;

	for (i = 0; i < WSA_MAXIMUM_WAIT_EVENTS; i++)
		e[i] = new_event();
	for (i = 4; i < WSA_MAXIMUM_WAIT_EVENTS; i++)
		WSASetEvent(e[i]);
	cr_assert_eq(pthread_create(&t, NULL, setter_main, &s), 0);
	cr_assert_eq(WSAWaitForMultipleEvents(64, e, TRUE, WAIT_MS, FALSE),
	    WSA_WAIT_EVENT_0);
	pthread_join(t, NULL);
}

Test(wait, any_wakes_when_another_thread_sets_one)
{
	WSAEVENT e[3];
	struct setter s = { .e = &e[2], .n = 1, .delay_ms = 20 };
	pthread_t t;
	int i;

	for (i = 0; i < 3; i++)
		e[i] = new_event();
	cr_assert_eq(pthread_create(&t, NULL, setter_main, &s), 0);
	cr_assert_eq(WSAWaitForMultipleEvents(3, e, FALSE, WAIT_MS, FALSE),
	    WSA_WAIT_EVENT_0 + 2);
	pthread_join(t, NULL);
}

/* --- APCs -------------------------------------------------------------- */

static pthread_t apc_thread_seen;
static int apc_runs;

static void WSPAPI
count_apc(DWORD_PTR ctx)
{
	apc_thread_seen = pthread_self();
	apc_runs += (int)ctx;
}

Test(apc, runs_only_in_alertable_waits_of_its_thread)
{
	WSATHREADID tid;
	WSAEVENT e = new_event();
	int err = 0;

	cr_assert_eq(apc_open_current_thread(&tid, &err), 0);
	cr_assert_eq(apc_queue(&tid, count_apc, 1, &err), 0);
	cr_assert_eq(apc_queue(&tid, count_apc, 10, &err), 0);
	cr_assert_eq(WSAWaitForMultipleEvents(1, &e, FALSE, SHORT_MS, FALSE),
	    WSA_WAIT_TIMEOUT, "a non-alertable wait runs no APC");
	cr_assert_eq(apc_runs, 0);
	cr_assert_eq(SleepEx(SHORT_MS, FALSE), 0);
	cr_assert_eq(apc_runs, 0);
	WSASetEvent(e);
	cr_assert_eq(WSAWaitForMultipleEvents(1, &e, FALSE, WAIT_MS, TRUE),
	    WSA_WAIT_IO_COMPLETION);
	cr_assert_eq(apc_runs, 11, "both ran, once each");
	cr_assert(pthread_equal(apc_thread_seen, pthread_self()));
	cr_assert_eq(WSAWaitForMultipleEvents(1, &e, FALSE, WAIT_MS, TRUE),
	    WSA_WAIT_EVENT_0, "nothing left to run");
	cr_assert_eq(apc_close_thread(&tid, &err), 0);
}

struct queuer {
	WSATHREADID	tid;
	int		delay_ms;
	int		rc;
};

static void *
queuer_main(void *arg)
{
	struct queuer *q = arg;
	struct timespec d = { 0, (long)q->delay_ms * 1000000 };
	int err = 0;

	nanosleep(&d, NULL);
	q->rc = apc_queue(&q->tid, count_apc, 1, &err);
	return NULL;
}

Test(apc, another_thread_wakes_an_alertable_sleep)
{
	struct queuer q = { .delay_ms = 20 };
	pthread_t t;
	int err;
	int64_t t0 = now_ms();

	cr_assert_eq(apc_open_current_thread(&q.tid, &err), 0);
	cr_assert_eq(pthread_create(&t, NULL, queuer_main, &q), 0);
	cr_assert_eq(SleepEx(WAIT_MS, TRUE), WSA_WAIT_IO_COMPLETION);
	cr_assert_lt(now_ms() - t0, WAIT_MS);
	pthread_join(t, NULL);
	cr_assert_eq(q.rc, 0);
	cr_assert_eq(apc_runs, 1);
	cr_assert(pthread_equal(apc_thread_seen, pthread_self()),
	    "the APC ran in the thread it was queued to");
}

static void *
open_and_exit(void *arg)
{
	int err;

	apc_open_current_thread(arg, &err);
	return NULL;
}

Test(apc, thread_that_exited_is_einval)
{
	WSATHREADID tid, mine;
	pthread_t t;
	int err = 0;

	cr_assert_eq(pthread_create(&t, NULL, open_and_exit, &tid), 0);
	pthread_join(t, NULL);
	/* Its queue may now serve this thread: the old id still fails. */
	cr_assert_eq(apc_open_current_thread(&mine, &err), 0);
	cr_assert_eq(apc_queue(&tid, count_apc, 1, &err), SOCKET_ERROR);
	cr_assert_eq(err, WSAEINVAL);
	cr_assert_eq(SleepEx(0, TRUE), 0);
	cr_assert_eq(apc_runs, 0);
}

Test(apc, bad_arguments)
{
	WSATHREADID forged = { (HANDLE)(uintptr_t)0x7fffff00, 5 };
	WSATHREADID zero = { 0 };
	int err = 0;

	cr_assert_eq(apc_queue(NULL, count_apc, 0, &err), SOCKET_ERROR);
	cr_assert_eq(err, WSAEFAULT);
	cr_assert_eq(apc_queue(&zero, NULL, 0, &err), SOCKET_ERROR);
	cr_assert_eq(err, WSAEFAULT);
	cr_assert_eq(apc_queue(&zero, count_apc, 0, &err), SOCKET_ERROR);
	cr_assert_eq(err, WSAEINVAL);
	cr_assert_eq(apc_queue(&forged, count_apc, 0, &err), SOCKET_ERROR);
	cr_assert_eq(err, WSAEINVAL);
	cr_assert_eq(apc_open_current_thread(NULL, &err), SOCKET_ERROR);
	cr_assert_eq(err, WSAEFAULT);
	cr_assert_eq(apc_close_thread(NULL, &err), SOCKET_ERROR);
	cr_assert_eq(err, WSAEFAULT);
}

Test(apc, child_of_fork_inherits_no_queued_apc)
{
	WSATHREADID tid;
	int err, status;
	pid_t pid;

	cr_assert_eq(apc_open_current_thread(&tid, &err), 0);
	cr_assert_eq(apc_queue(&tid, count_apc, 1, &err), 0);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		int ok = alarm(20) == 0 &&	/* a hung child fails, bounded */
		    SleepEx(SHORT_MS, TRUE) == 0 && apc_runs == 0;

		/* The child's own queue works. */
		ok = ok && apc_queue(&tid, count_apc, 2, &err) == 0 &&
		    SleepEx(WAIT_MS, TRUE) == WSA_WAIT_IO_COMPLETION &&
		    apc_runs == 2;
		_exit(ok ? 0 : 1);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the child ran an APC queued before fork, or lost its own");
	cr_assert_eq(SleepEx(WAIT_MS, TRUE), WSA_WAIT_IO_COMPLETION);
	cr_assert_eq(apc_runs, 1, "the parent still runs its own");
}
