/*
 * test_lazy.c - the direct socket life of a base-only chain (spi/core.c):
 * core_socket_base() publishes a kernel socket with no base socket, the
 * first call through the SPI makes it (core_sock_ready), and close, dup,
 * forget and fork handle both states, alone and racing each other.
 *
 * Never preloaded: the calls the shim's hooks make are made here by hand
 * (core_socket_base for socket(), core_close_sock for close(), core_dup
 * after dup(), core_manage as the WSA calls do).  Criterion runs each test
 * in a process of its own.  Every loop is bounded.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "catalog.h"
#include "core.h"
#include "errmap.h"
#include "provider.h"

#define NO_CATALOG	"/nonexistent/wspshim-test/catalog"
#define TCP_ID		1001	/* the built-in IPv4 TCP entry */
#define RACE_ROUNDS	4000	/* per thread, in the race tests */

/* Nothing: every test process sees the built-in catalog only. */
static void __attribute__((constructor))
hermetic_catalog(void)
{
	setenv("WSPSHIM_CATALOG", NO_CATALOG, 1);
	unsetenv("WSPSHIM_LAYERS");
	unsetenv("WSPSHIM_MANAGE");
	unsetenv("WSPSHIM_FALLBACK");
}

/* The started base-only chain of the IPv4 TCP entry. */
static struct chain *
tcp_chain(void)
{
	const struct catalog_entry *e;
	struct chain *c;
	WSADATA d;
	int err;

	cr_assert_eq(WSAStartup(MAKEWORD(2, 2), &d), 0);
	cr_assert_eq(catalog_select(catalog_current(), AF_INET, SOCK_STREAM,
	    0, &e), 0);
	c = chain_get(e, &err);
	cr_assert_not_null(c, "chain_get: %d", err);
	cr_assert(c->base_only, "the TCP entry's chain is the base alone");
	return c;
}

/* A lazy socket of c, as the socket() hook makes it. */
static int
lazy_socket(struct chain *c, DWORD flags)
{
	int fd = core_socket_base(c, AF_INET, SOCK_STREAM, 0, flags);

	cr_assert_geq(fd, 0, "core_socket_base: %d", -fd);
	return fd;
}

/* Whether fd's chain socket has no base socket yet. */
static int
is_lazy(int fd)
{
	struct wsock *ws = fdtab_get(fd);

	cr_assert(fdtab_is_sock(ws), "descriptor %d has a chain socket", fd);
	return (atomic_load(&ws->base) & 3) == WSOCK_LAZY;
}

/* The number of descriptors open in this process. */
static int
fd_count(void)
{
	struct dirent *d;
	DIR *dir = opendir("/proc/self/fd");
	int n = 0;

	cr_assert_not_null(dir);
	while ((d = readdir(dir)) != NULL)
		if (d->d_name[0] != '.')
			n++;
	closedir(dir);
	return n - 1;
}

/* SIO_BASE_HANDLE of fd through WSAIoctl (makes the base socket). */
static int
base_handle_fd(int fd)
{
	DWORD n = 0;
	int out = -1;

	cr_assert_eq(WSAIoctl((SOCKET)fd, SIO_BASE_HANDLE, NULL, 0, &out,
	    sizeof(out), &n, NULL, NULL), 0, "WSAIoctl: %d",
	    WSAGetLastError());
	return out;
}

/* close() as the hook makes it: 0, or the WSA code. */
static int
hook_close(int fd)
{
	int rc = core_close_sock(fd, fdtab_get(fd));

	return rc == 0 ? 0 : -rc;
}

Test(lazy, socket_has_no_base_until_used)
{
	struct chain *c = tcp_chain();
	struct wsock *ws;
	SOCKET h = 0;
	DWORD n;
	int fd, type = 0, live = c->live;
	socklen_t len = sizeof(type);

	fd = lazy_socket(c, 0);
	cr_assert(is_lazy(fd));
	cr_assert_eq(c->live, live + 1);
	cr_assert_eq(getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len), 0);
	cr_assert_eq(type, SOCK_STREAM, "the kernel socket is there");
	/* The first call through the SPI makes the base socket. */
	cr_assert_eq(base_handle_fd(fd), fd);
	cr_assert(!is_lazy(fd));
	ws = fdtab_get(fd);
	cr_assert_eq(atomic_load(&ws->handle), atomic_load(&ws->base),
	    "the base is the top provider");
	cr_assert_eq(WSAIoctl((SOCKET)fd, SIO_BSP_HANDLE, NULL, 0, &h,
	    sizeof(h), &n, NULL, NULL), 0);
	cr_assert_eq(h, atomic_load(&ws->base));
	cr_assert_eq(hook_close(fd), 0);
	cr_assert_eq(fcntl(fd, F_GETFD), -1, "closed");
	cr_assert_eq(c->live, live);
}

Test(lazy, kernel_failure_keeps_its_errno)
{
	struct chain *c = tcp_chain();
	struct rlimit old, rl;
	int rc, fd;

	/* No descriptor left: the kernel's EMFILE comes back as WSAEMFILE,
	 * and the shim's edge turns it back into exactly EMFILE. */
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	fd = dup(0);		/* the lowest free number */
	cr_assert_geq(fd, 0);
	close(fd);
	rl = old;
	rl.rlim_cur = (rlim_t)fd;	/* every number below it is taken */
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	rc = core_socket_base(c, AF_INET, SOCK_STREAM, 0, 0);
	cr_assert_eq(rc, -WSAEMFILE, "got %d", rc);
	cr_assert_eq(errmap_errno_for(WSAEMFILE), EMFILE);
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	/* A protocol the kernel refuses: its own code, not a made-up one. */
	rc = core_socket_base(c, AF_INET, SOCK_STREAM, 17, 0);
	cr_assert_lt(rc, 0);
	cr_assert_eq(errmap_errno_for(-rc), EPROTONOSUPPORT, "%d", -rc);
}

Test(lazy, closes_without_a_base_socket)
{
	struct chain *c = tcp_chain();
	int before = fd_count(), fd;

	fd = lazy_socket(c, 0);
	cr_assert_eq(hook_close(fd), 0);
	cr_assert_eq(fcntl(fd, F_GETFD), -1);
	cr_assert_null(fdtab_get(fd));
	/* The same again, through closesocket's path. */
	fd = lazy_socket(c, 0);
	cr_assert_eq(closesocket((SOCKET)fd), 0);
	cr_assert_eq(fcntl(fd, F_GETFD), -1);
	cr_assert_eq(fd_count(), before, "nothing leaked");
}

Test(lazy, flags_reach_the_kernel_and_the_base)
{
	struct chain *c = tcp_chain();
	WSAPROTOCOL_INFOW info, tok;
	int fd, fd2, len = (int)sizeof(info), err = 0;
	struct wsock *ws;

	fd = lazy_socket(c, WSA_FLAG_NO_HANDLE_INHERIT |
	    WSA_FLAG_WSPSHIM_NONBLOCK);
	cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	cr_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
	/* SO_PROTOCOL_INFOW down the chain, as the getsockopt hook sends
	 * it after core_sock_ready. */
	ws = fdtab_get(fd);
	cr_assert(fdtab_is_sock(ws));
	ws = core_sock_ready(ws);
	cr_assert_not_null(ws);
	cr_assert_eq(ws->procs->lpWSPGetSockOpt(atomic_load(&ws->handle),
	    SOL_SOCKET, SO_PROTOCOL_INFOW, (char *)&info, &len, &err), 0,
	    "%d", err);
	cr_assert_eq(info.dwCatalogEntryId, TCP_ID);
	/* A duplicate-socket token carries the flags to its socket. */
	cr_assert_eq(WSADuplicateSocketW((SOCKET)fd, (DWORD)getpid(), &tok),
	    0, "%d", WSAGetLastError());
	fd2 = (int)WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO,
	    FROM_PROTOCOL_INFO, &tok, 0, 0);
	cr_assert_geq(fd2, 0, "%d", WSAGetLastError());
	cr_assert_neq(fd2, fd);
	cr_assert(fcntl(fd2, F_GETFD) & FD_CLOEXEC);
	cr_assert_eq(hook_close(fd), 0);
	cr_assert_eq(hook_close(fd2), 0);
	cr_assert_eq(fcntl(fd2, F_GETFD), -1);
}

Test(lazy, dup_survives_the_original_in_both_states)
{
	struct chain *c = tcp_chain();
	int before = fd_count(), fd, fd2, round;

	for (round = 0; round < 2; round++) {
		fd = lazy_socket(c, 0);
		if (round == 1)
			(void)base_handle_fd(fd);	/* made before the dup */
		fd2 = dup(fd);
		cr_assert_geq(fd2, 0);
		core_dup(fd, fd2);
		cr_assert_eq(fdtab_get(fd2), fdtab_get(fd));
		cr_assert_eq(hook_close(fd), 0);
		cr_assert_eq(fcntl(fd, F_GETFD), -1, "the original closes");
		cr_assert_eq(fcntl(fd2, F_GETFD), 0, "the dup stays");
		/* The base socket (made now, or re-pointed) is the dup's. */
		cr_assert_eq(base_handle_fd(fd2), fd2);
		cr_assert_eq(hook_close(fd2), 0);
		cr_assert_eq(fcntl(fd2, F_GETFD), -1);
	}
	cr_assert_eq(fd_count(), before, "nothing leaked");
}

Test(lazy, forget_leaves_the_descriptor_alone)
{
	struct chain *c = tcp_chain();
	int fd, round;

	/* core_forget: the kernel closed the number behind the core's back,
	 * so retiring the socket must not close() it (here it is still
	 * open, and must stay so). */
	for (round = 0; round < 2; round++) {
		fd = lazy_socket(c, 0);
		if (round == 1)
			(void)base_handle_fd(fd);
		core_forget(fd);
		cr_assert_null(fdtab_get(fd));
		cr_assert_eq(fcntl(fd, F_GETFD), 0, "still open");
		cr_assert_eq(close(fd), 0);
	}
}

Test(lazy, fork_child_closes_its_copy)
{
	struct chain *c = tcp_chain();
	int fd = lazy_socket(c, 0), status;
	pid_t pid;

	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int ok = base_handle_fd(fd) == fd && hook_close(fd) == 0 &&
		    fcntl(fd, F_GETFD) == -1;

		_exit(ok ? 0 : 1);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cr_assert(is_lazy(fd), "the parent's socket is its own");
	cr_assert_eq(fcntl(fd, F_GETFD), 0);
	cr_assert_eq(hook_close(fd), 0);
}

/* The race tests: makers create and close sockets (with a dup every other
 * round); users make base sockets for whatever descriptor they last saw
 * published, while it is being closed and its number reused. */
#define NMAKER	2
#define NUSER	2

static _Atomic int published[NMAKER];
static _Atomic int failures;
static struct chain *race_chain;

static void *
maker(void *arg)
{
	int id = (int)(intptr_t)arg, i, fd, fd2;

	for (i = 0; i < RACE_ROUNDS; i++) {
		fd = core_socket_base(race_chain, AF_INET, SOCK_STREAM, 0, 0);
		if (fd < 0) {
			atomic_fetch_add(&failures, 1);
			continue;
		}
		atomic_store(&published[id], fd);
		fd2 = -1;
		if (i % 2 == 1 && (fd2 = dup(fd)) >= 0)
			core_dup(fd, fd2);
		if (i % 3 == 0)
			(void)core_manage(fd, 1);
		if (fd2 >= 0)
			atomic_store(&published[id], fd2);
		/* Every close must succeed: a base socket that closed the
		 * wrong number would make a later one fail with EBADF. */
		if (core_close_sock(fd, fdtab_get(fd)) != 0)
			atomic_fetch_add(&failures, 1);
		if (fd2 >= 0 && core_close_sock(fd2, fdtab_get(fd2)) != 0)
			atomic_fetch_add(&failures, 1);
	}
	atomic_store(&published[id], -1);
	return NULL;
}

static void *
user(void *arg)
{
	struct wsock *ws;
	int i, fd;

	for (i = 0; i < RACE_ROUNDS * 2; i++) {
		fd = atomic_load(&published[i % NMAKER]);
		if (fd < 0)
			continue;
		/* What shim_resolve does for a call on fd. */
		ws = fdtab_get(fd);
		if (fdtab_is_sock(ws))
			(void)core_sock_ready(ws);
	}
	return NULL;
}

Test(lazy, create_use_and_close_race_without_leaks, .timeout = 60)
{
	pthread_t t[NMAKER + NUSER];
	int before, guard[2], i;

	race_chain = tcp_chain();
	cr_assert_eq(pipe(guard), 0);
	before = fd_count();
	for (i = 0; i < NMAKER; i++)
		atomic_store(&published[i], -1);
	for (i = 0; i < NMAKER; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, maker,
		    (void *)(intptr_t)i), 0);
	for (i = 0; i < NUSER; i++)
		cr_assert_eq(pthread_create(&t[NMAKER + i], NULL, user, NULL),
		    0);
	for (i = 0; i < NMAKER + NUSER; i++)
		cr_assert_eq(pthread_join(t[i], NULL), 0);
	cr_assert_eq(atomic_load(&failures), 0, "a create or close failed");
	cr_assert_eq(fd_count(), before, "descriptors leaked or lost");
	cr_assert_eq(fcntl(guard[0], F_GETFD), 0, "a stray close hit the "
	    "pipe");
	cr_assert_eq(fcntl(guard[1], F_GETFD), 0);
	cr_assert_eq(race_chain->live, 0, "every socket retired once");
}
