/*
 * test_closewait.c - a close racing calls in flight (spi/core.c): a call
 * holds its descriptor (core_hold .. core_unhold), and a close of that
 * descriptor meanwhile leaves it open, its slot a pending close, until
 * the last call out does the close; a call after the close is refused.
 *
 * Never preloaded: the hooks' bracket is made here by hand.  Sockets are
 * made as WSASocket makes them on the built-in TCP entry (a base socket
 * at once), so they are ready for calls.  Every loop is bounded.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "catalog.h"
#include "core.h"

#define NO_CATALOG	"/nonexistent/wspshim-test/catalog"
#define RACE_ROUNDS	2000

/* Nothing: every test process sees the built-in catalog only. */
static void __attribute__((constructor))
hermetic_catalog(void)
{
	setenv("WSPSHIM_CATALOG", NO_CATALOG, 1);
	unsetenv("WSPSHIM_LAYERS");
	unsetenv("WSPSHIM_MANAGE");
}

/* A managed TCP socket with its base socket, as WSASocket makes one. */
static int
api_socket(void)
{
	const struct catalog_entry *e;
	WSADATA d;
	int err, fd;

	cr_assert_eq(WSAStartup(MAKEWORD(2, 2), &d), 0);
	cr_assert_eq(catalog_select(catalog_current(), AF_INET, SOCK_STREAM,
	    0, &e), 0);
	fd = core_socket(e, AF_INET, SOCK_STREAM, 0, NULL, 0, 0, WSOCK_API,
	    &err);
	cr_assert_geq(fd, 0, "core_socket: %d", err);
	cr_assert(fdtab_is_sock(fdtab_get(fd)));
	return fd;
}

/* Whether fd is open in the kernel. */
static int
is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

Test(closewait, close_with_no_call_in_flight_closes_at_once)
{
	int fd = api_socket(), err;

	cr_assert_eq(core_close(fd, &err), 0);
	cr_assert(!is_open(fd));
	cr_assert_null(fdtab_get(fd));
}

Test(closewait, close_waits_for_the_call_in_flight)
{
	int fd = api_socket(), err = 0;
	struct wsock *ws = fdtab_get(fd);
	SOCKET b;

	cr_assert_neq(core_hold(ws, fd, &b), 0);
	cr_assert_eq(core_close(fd, &err), 0, "the close itself succeeds");
	cr_assert(is_open(fd), "the call still uses the descriptor");
	cr_assert(fdtab_is_pending(fdtab_get(fd)));
	cr_assert(core_pending(fd));
	cr_assert_eq(__atomic_load_n(&fdtab_npending, __ATOMIC_RELAXED), 1);
	cr_assert_eq(core_close(fd, &err), -1, "closed already");
	cr_assert_eq(err, WSAEBADF);
	cr_assert(is_open(fd));
	core_unhold(fd);
	cr_assert(!is_open(fd), "the last call out closed it");
	cr_assert_null(fdtab_get(fd));
	cr_assert_eq(__atomic_load_n(&fdtab_npending, __ATOMIC_RELAXED), 0);
	cr_assert_eq(atomic_load(&fdtab_calls[fd]), 0);
}

Test(closewait, close_waits_for_every_call)
{
	int fd = api_socket(), err;
	struct wsock *ws = fdtab_get(fd);
	SOCKET b;

	cr_assert_neq(core_hold(ws, fd, &b), 0);
	cr_assert_neq(core_hold(ws, fd, &b), 0);
	cr_assert_eq(core_close(fd, &err), 0);
	core_unhold(fd);
	cr_assert(is_open(fd), "one call is still in flight");
	core_unhold(fd);
	cr_assert(!is_open(fd));
}

Test(closewait, a_call_after_the_close_is_refused)
{
	int fd = api_socket(), err;
	struct wsock *ws = fdtab_get(fd);
	SOCKET b;

	cr_assert_neq(core_hold(ws, fd, &b), 0);
	cr_assert_eq(core_close(fd, &err), 0);
	cr_assert_eq(core_hold(ws, fd, &b), 0, "the slot no longer names ws");
	cr_assert(is_open(fd), "a refused call is no call in flight...");
	core_unhold(fd);
	cr_assert(!is_open(fd), "... and the one that was ends the close");
	cr_assert_eq(core_hold(ws, fd, &b), 0);
	cr_assert_eq(atomic_load(&fdtab_calls[fd]), 0);
}

Test(closewait, a_close_of_a_dup_waits_only_for_calls_on_its_number)
{
	int fd = api_socket(), d, err;
	struct wsock *ws = fdtab_get(fd);
	SOCKET b;

	cr_assert_geq(d = dup(fd), 0);
	core_dup(fd, d);
	cr_assert_eq(fdtab_get(d), ws);
	cr_assert_neq(core_hold(ws, d, &b), 0);
	cr_assert_eq(core_close(fd, &err), 0);
	cr_assert(!is_open(fd), "no call uses fd's number");
	cr_assert(is_open(d));
	cr_assert_eq(core_close(d, &err), 0);
	cr_assert(is_open(d), "the call on d still uses it");
	core_unhold(d);
	cr_assert(!is_open(d));
	cr_assert_null(fdtab_get(d));
}

Test(closewait, the_last_descriptor_closes_after_a_pending_one)
{
	int fd = api_socket(), d, err;
	struct wsock *ws = fdtab_get(fd);
	SOCKET b;

	cr_assert_geq(d = dup(fd), 0);
	core_dup(fd, d);
	cr_assert_neq(core_hold(ws, fd, &b), 0);
	cr_assert_eq(core_close(fd, &err), 0);
	cr_assert(is_open(fd), "pending: a call uses it");
	cr_assert_eq(core_close(d, &err), 0);
	cr_assert(!is_open(d), "d had no call: closed at once");
	cr_assert(is_open(fd), "the socket lives on in the pending one");
	core_unhold(fd);
	cr_assert(!is_open(fd));
	cr_assert_eq(__atomic_load_n(&fdtab_npending, __ATOMIC_RELAXED), 0);
}

Test(closewait, a_dup_of_a_pending_descriptor_shares_its_socket)
{
	int fd = api_socket(), d, err;
	struct wsock *ws = fdtab_get(fd);
	SOCKET b;

	cr_assert_neq(core_hold(ws, fd, &b), 0);
	cr_assert_eq(core_close(fd, &err), 0);
	/* A dup that was under way when the close came (the dup hooks hold
	 * the descriptor, as a call does). */
	cr_assert_geq(d = dup(fd), 0);
	core_dup(fd, d);
	cr_assert_eq(fdtab_get(d), ws);
	core_unhold(fd);
	cr_assert(!is_open(fd));
	cr_assert(is_open(d), "the copy keeps the socket");
	cr_assert_eq(fdtab_get(d), ws);
	cr_assert_eq(core_close(d, &err), 0);
	cr_assert(!is_open(d));
}

/* The other side of the race: calls on one number, held and let go. */
static void *
caller(void *arg)
{
	int fd = *(int *)arg, i;
	struct wsock *ws;
	SOCKET b;

	for (i = 0; i < 1000; i++) {
		ws = fdtab_get(fd);
		if (!fdtab_is_sock(ws) || core_hold(ws, fd, &b) == 0)
			break;
		core_unhold(fd);
	}
	return NULL;
}

Test(closewait, racing_calls_and_close_leave_nothing_open)
{
	pthread_t t;
	int fd, i, err;

	for (i = 0; i < RACE_ROUNDS; i++) {
		fd = api_socket();
		cr_assert_eq(pthread_create(&t, NULL, caller, &fd), 0);
		cr_assert_eq(core_close(fd, &err), 0);
		pthread_join(t, NULL);
		cr_assert(!is_open(fd), "round %d: fd %d left open", i, fd);
		cr_assert_eq(atomic_load(&fdtab_calls[fd]), 0);
		cr_assert(!fdtab_is_pending(fdtab_get(fd)));
	}
	cr_assert_eq(__atomic_load_n(&fdtab_npending, __ATOMIC_RELAXED), 0);
}
