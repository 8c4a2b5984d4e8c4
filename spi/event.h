/*
 * event.h - event objects (WSAEVENT) and the per-thread APC queues behind
 * WPUQueueApc and alertable waits.
 *
 * An event is a slot in a type-stable pool that owns one eventfd for
 * ever: closing an event drains its eventfd and frees the slot, and the
 * next event made there reuses it.  A handle packs a generation and the
 * slot's index, so a stale handle is refused (WSA_INVALID_HANDLE) and can
 * never reach a descriptor that now belongs to something else (a socket
 * made after the close).
 *
 * A thread's APC queue is made when the thread first needs one (it opens
 * its WSATHREADID, or waits alertably), and retired when it exits: a
 * WSATHREADID names the queue by pool index and generation, so an APC
 * queued to a thread that has exited is refused instead of running
 * elsewhere.
 */
#ifndef WSPSHIM_EVENT_H
#define WSPSHIM_EVENT_H

#include <time.h>

#include <wspshim/ws2spi.h>

/* The WPU event upcalls (ws2spi.h): each validates its handle. */
WSAEVENT WSPAPI event_create(LPINT lpErrno);
BOOL WSPAPI event_close(WSAEVENT h, LPINT lpErrno);
BOOL WSPAPI event_set(WSAEVENT h, LPINT lpErrno);
BOOL WSPAPI event_reset(WSAEVENT h, LPINT lpErrno);

/* The eventfd of live event h, or -1. */
int event_fd(WSAEVENT h);

/* Nothing: the counter of eventfd fd is back to 0 (errno kept). */
void event_drain(int fd);

/* 1 when live event h is set, 0 when it is not, -1 when h is no event. */
int event_is_set(WSAEVENT h);

/* Nothing: *end is ms milliseconds from now (CLOCK_MONOTONIC). */
void event_deadline(struct timespec *end, unsigned long ms);

/* Milliseconds left until *end, rounded up, at most INT_MAX: a poll()
 * timeout; 0 once it passed, -1 when end is NULL (no limit). */
int event_ms_left(const struct timespec *end);

/*
 * Wait for events (event_fd() descriptors, or -1 for none) as
 * WSAWaitForMultipleEvents does; n may be 0 (a sleep).  Returns
 * WSA_WAIT_EVENT_0 + i, WSA_WAIT_TIMEOUT or WSA_WAIT_IO_COMPLETION.
 */
DWORD event_wait_fds(const int *fds, DWORD n, int all, DWORD ms,
    int alertable);

/* The WPU thread upcalls (ws2spi.h). */
int WSPAPI apc_queue(LPWSATHREADID lpThreadId, LPWSAUSERAPC lpfnUserApc,
    DWORD_PTR dwContext, LPINT lpErrno);
int WSPAPI apc_open_current_thread(LPWSATHREADID lpThreadId, LPINT lpErrno);
int WSPAPI apc_close_thread(LPWSATHREADID lpThreadId, LPINT lpErrno);

/*
 * The calling thread's own WSATHREADID, made on first use, for the core
 * to pass to the SPI calls that take one; NULL when no queue can be made
 * (out of memory or descriptors).
 */
LPWSATHREADID apc_self_id(void);

/* fork() child handler, called by the core's (core.c): the forking
 * thread's queue starts empty, with an eventfd of its own. */
void apc_atfork_child(void);

/*
 * Run every APC queued to the calling thread (those queued while they run
 * wait for the next call): the number run.  Only alertable waits call it.
 */
int apc_run(void);

/* The eventfd that polls readable while the calling thread has APCs
 * queued, or -1 when it has no queue. */
int apc_wake_fd(void);

#endif
