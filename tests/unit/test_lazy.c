/*
 * test_lazy.c - the direct socket life of a base-only chain (spi/core.c):
 * core_socket_base() publishes a kernel socket with no base socket, the
 * first call through the SPI makes it (core_sock_ready), and close, dup,
 * forget and fork handle both states, alone and racing each other.  Also
 * core_socket_top(), socket() on a chain with a layer: the layer is the
 * test's own table over the base's (a plugin could not link to this
 * binary), so it can make the base sockets the core learns from unusual.
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
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base.h"
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
		int ok = alarm(20) == 0 &&	/* a hung child fails, bounded */
		    base_handle_fd(fd) == fd && hook_close(fd) == 0 &&
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

/* --- core_socket_top: socket() on a chain with a layer ------------------ */

/*
 * A layer of the test's own, with no plugin file (the test binary does not
 * export the upcalls a plugin links to): its handle is the base handle
 * below plus one, and it calls the base's table.  Modes make the base
 * sockets the core learns from unusual: an extra one made during the
 * call, or a helper made and closed, the socket returned being an older
 * one.
 */
#define FAKE_PLAIN	0
#define FAKE_EXTRA	1	/* makes a second base socket, kept */
#define FAKE_OLD	2	/* makes one, closes it, returns fake_old */

static WSPPROC_TABLE below, fake_procs;
static struct chain fake;
static int fake_mode;
static SOCKET fake_old = INVALID_SOCKET, fake_extra = INVALID_SOCKET;

static SOCKET WSPAPI
fake_socket(int af, int type, int protocol, LPWSAPROTOCOL_INFOW info,
    GROUP g, DWORD flags, LPINT err)
{
	SOCKET lower;
	int e2;

	lower = below.lpWSPSocket(af, type, protocol, info, g, flags, err);
	if (lower == INVALID_SOCKET)
		return INVALID_SOCKET;
	if (fake_mode == FAKE_EXTRA)
		fake_extra = below.lpWSPSocket(af, type, protocol, info, g, 0,
		    err);
	if (fake_mode == FAKE_OLD) {
		below.lpWSPCloseSocket(lower, &e2);
		lower = fake_old;
	}
	return lower + 1;
}

static int WSPAPI
fake_closesocket(SOCKET s, LPINT err)
{
	return below.lpWSPCloseSocket(s - 1, err);
}

static int WSPAPI
fake_ioctl(SOCKET s, DWORD code, LPVOID in, DWORD inlen, LPVOID out,
    DWORD outlen, LPDWORD n, LPWSAOVERLAPPED ov,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID tid, LPINT err)
{
	return below.lpWSPIoctl(s - 1, code, in, inlen, out, outlen, n, ov,
	    cr, tid, err);
}

/* A started chain of the IPv4 TCP entry with the fake layer on top. */
static struct chain *
null_chain(void)
{
	const struct catalog_entry *e;
	WSAPROTOCOL_INFOW info;
	WSPDATA data;
	WSADATA d;

	cr_assert_eq(WSAStartup(MAKEWORD(2, 2), &d), 0);
	cr_assert_eq(catalog_select(catalog_current(), AF_INET, SOCK_STREAM,
	    0, &e), 0);
	info = e->info;
	cr_assert_eq(base_startup(WSPSHIM_SPI_VERSION, &data, &info,
	    provider_upcalls, &below), 0);
	fake_procs = below;
	fake_procs.lpWSPSocket = fake_socket;
	fake_procs.lpWSPCloseSocket = fake_closesocket;
	fake_procs.lpWSPIoctl = fake_ioctl;
	fake.entry = e;
	fake.procs = &fake_procs;
	fake.started = 1;
	return &fake;
}

Test(top, socket_is_published_with_its_base_and_closed)
{
	struct chain *c = null_chain();
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	struct wsock *ws;
	int fd;

	fd = core_socket_top(c, AF_INET, SOCK_STREAM, 0,
	    WSA_FLAG_NO_HANDLE_INHERIT | WSA_FLAG_WSPSHIM_NONBLOCK);
	cr_assert_geq(fd, 0, "core_socket_top: %d", -fd);
	ws = fdtab_get(fd);
	cr_assert(fdtab_is_sock(ws));
	cr_expect_neq(ws->handle, ws->base, "the layer's handle is on top");
	cr_expect_eq(base_kernel_fd(ws->base), fd, "the base's descriptor");
	cr_expect_eq(atomic_load(&ws->kfd), fd);
	cr_expect_eq(c->live, 1);
	cr_expect(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	cr_expect(fcntl(fd, F_GETFL) & O_NONBLOCK);
	cr_expect_eq(base_handle_fd(fd), fd, "asked down the chain: the same");
	/* The kernel's own socket: bind it. */
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_expect_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_expect_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	cr_assert_eq(hook_close(fd), 0);
	cr_expect_null(fdtab_get(fd));
	cr_expect_eq(fcntl(fd, F_GETFD), -1, "the chain closed it");
	cr_expect_eq(errno, EBADF);
	cr_expect_eq(c->live, 0);
}

Test(top, errors_come_back_as_wsa_codes)
{
	struct chain *c = null_chain();
	int before = fd_count();

	cr_expect_eq(core_socket_top(c, AF_INET, SOCK_STREAM, IPPROTO_UDP, 0),
	    -WSAEPROTONOSUPPORT, "the base checks the triple");
	cr_expect_eq(core_socket_top(c, AF_INET, SOCK_STREAM, 0, 0x200),
	    -WSAEINVAL, "and the flags");
	cr_expect_eq(c->live, 0);
	cr_expect_eq(fd_count(), before);
}

Test(top, kernel_failure_keeps_its_errno)
{
	struct chain *c = null_chain();
	struct rlimit rl, low;
	int fd;

	/* No descriptor left: the kernel's EMFILE comes up the chain as
	 * WSAEMFILE with the native errno kept for the shim. */
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	fd = dup(0);		/* the lowest free number */
	cr_assert_geq(fd, 0);
	close(fd);
	low = rl;
	low.rlim_cur = (rlim_t)fd;	/* every number below it is taken */
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	fd = core_socket_top(c, AF_INET, SOCK_STREAM, 0, 0);
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	cr_expect_eq(fd, -WSAEMFILE);
	cr_expect_eq(errmap_errno_for(WSAEMFILE), EMFILE);
	cr_expect_eq(c->live, 0);
}

Test(top, dup_survives_the_original)
{
	struct chain *c = null_chain();
	int fd, fd2;

	fd = core_socket_top(c, AF_INET, SOCK_STREAM, 0, 0);
	cr_assert_geq(fd, 0);
	cr_assert_geq(fd2 = dup(fd), 0);
	core_dup(fd, fd2);
	cr_assert_eq(hook_close(fd), 0);
	cr_expect_eq(fcntl(fd2, F_GETFD), 0, "the dup is still open");
	cr_expect_eq(base_kernel_fd(fdtab_get(fd2)->base), fd2,
	    "the base socket moved to the dup");
	cr_expect_eq(c->live, 1);
	cr_assert_eq(hook_close(fd2), 0);
	cr_expect_eq(fcntl(fd2, F_GETFD), -1);
	cr_expect_eq(c->live, 0);
}

/* Makers create and close layered sockets (a dup every third round),
 * racing one another on their threads' spares and the table. */
static struct chain *top_chain;

static void *
top_maker(void *arg)
{
	struct wsock *ws;
	int i, fd, fd2;

	for (i = 0; i < RACE_ROUNDS; i++) {
		fd = core_socket_top(top_chain, AF_INET, SOCK_STREAM, 0, 0);
		if (fd < 0) {
			atomic_fetch_add(&failures, 1);
			continue;
		}
		ws = fdtab_get(fd);
		if (!fdtab_is_sock(ws) || base_kernel_fd(ws->base) != fd)
			atomic_fetch_add(&failures, 1);
		fd2 = -1;
		if (i % 3 == 0 && (fd2 = dup(fd)) >= 0)
			core_dup(fd, fd2);
		if (core_close_sock(fd, fdtab_get(fd)) != 0)
			atomic_fetch_add(&failures, 1);
		if (fd2 >= 0 && core_close_sock(fd2, fdtab_get(fd2)) != 0)
			atomic_fetch_add(&failures, 1);
	}
	return arg;
}

Test(top, threads_make_and_close_without_leaks, .timeout = 60)
{
	pthread_t t[4];
	int before, guard[2], i;

	top_chain = null_chain();
	cr_assert_eq(pipe(guard), 0);
	before = fd_count();
	for (i = 0; i < 4; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, top_maker, NULL), 0);
	for (i = 0; i < 4; i++)
		cr_assert_eq(pthread_join(t[i], NULL), 0);
	cr_assert_eq(atomic_load(&failures), 0, "a create or close failed");
	cr_assert_eq(fd_count(), before, "descriptors leaked or lost");
	cr_assert_eq(fcntl(guard[0], F_GETFD), 0, "a stray close hit the "
	    "pipe");
	cr_assert_eq(top_chain->live, 0, "every socket retired once");
}

Test(top, extra_base_socket_makes_the_core_ask_down_the_chain)
{
	struct chain *c = null_chain();
	struct wsock *ws;
	int fd, err;

	fake_mode = FAKE_EXTRA;
	fd = core_socket_top(c, AF_INET, SOCK_STREAM, 0, 0);
	cr_assert_geq(fd, 0, "core_socket_top: %d", -fd);
	ws = fdtab_get(fd);
	cr_assert(fdtab_is_sock(ws));
	cr_expect_eq(ws->handle, ws->base + 1, "SIO_BSP_HANDLE's answer");
	cr_expect_eq(base_kernel_fd(ws->base), fd);
	cr_expect_neq(base_kernel_fd(fake_extra), fd, "not the extra one");
	cr_assert_eq(hook_close(fd), 0);
	cr_expect_eq(below.lpWSPCloseSocket(fake_extra, &err), 0);
}

Test(top, closed_helper_is_not_taken_for_the_new_socket)
{
	struct chain *c = null_chain();
	struct wsock *ws;
	int fd, err = 0;

	/* The layer made one base socket and closed it: the count says one
	 * was made, but its record is gone, so the core asks. */
	fake_old = below.lpWSPSocket(AF_INET, SOCK_STREAM, 0,
	    (LPWSAPROTOCOL_INFOW)(uintptr_t)&c->entry->info, 0, 0, &err);
	cr_assert_neq(fake_old, INVALID_SOCKET);
	fake_mode = FAKE_OLD;
	fd = core_socket_top(c, AF_INET, SOCK_STREAM, 0, 0);
	cr_assert_geq(fd, 0, "core_socket_top: %d", -fd);
	ws = fdtab_get(fd);
	cr_assert(fdtab_is_sock(ws));
	cr_expect_eq(ws->base, fake_old);
	cr_expect_eq(fd, base_kernel_fd(fake_old));
	cr_assert_eq(hook_close(fd), 0);
	cr_expect_eq(fcntl(fd, F_GETFD), -1);
}

/* A signal handler that makes and closes a layered socket on the thread
 * it interrupts, which may be in the middle of making one itself: each
 * must learn its own base socket and descriptor. */
static _Atomic int sig_made;

static void
top_handler(int sig)
{
	struct wsock *ws;
	int fd, saved = errno;

	(void)sig;
	fd = core_socket_top(top_chain, AF_INET, SOCK_STREAM, 0, 0);
	if (fd >= 0) {
		ws = fdtab_get(fd);
		if (!fdtab_is_sock(ws) || base_kernel_fd(ws->base) != fd)
			atomic_fetch_add(&failures, 1);
		if (core_close_sock(fd, ws) != 0)
			atomic_fetch_add(&failures, 1);
		atomic_fetch_add(&sig_made, 1);
	}
	errno = saved;
}

Test(top, signal_handler_sockets_do_not_mix_with_the_interrupted_one,
    .timeout = 60)
{
	struct sigaction sa = { .sa_handler = top_handler };
	struct itimerval it = { { 0, 200 }, { 0, 200 } };
	struct wsock *ws;
	int i, fd, before;

	top_chain = null_chain();
	before = fd_count();
	sigemptyset(&sa.sa_mask);
	cr_assert_eq(sigaction(SIGPROF, &sa, NULL), 0);
	cr_assert_eq(setitimer(ITIMER_PROF, &it, NULL), 0);
	/* Bounded: a few hundred interruptions, or 400000 rounds. */
	for (i = 0; i < 400000 && atomic_load(&sig_made) < 300; i++) {
		fd = core_socket_top(top_chain, AF_INET, SOCK_STREAM, 0, 0);
		if (fd < 0) {
			atomic_fetch_add(&failures, 1);
			continue;
		}
		ws = fdtab_get(fd);
		if (!fdtab_is_sock(ws) || base_kernel_fd(ws->base) != fd)
			atomic_fetch_add(&failures, 1);
		if (core_close_sock(fd, ws) != 0)
			atomic_fetch_add(&failures, 1);
	}
	memset(&it, 0, sizeof(it));
	cr_assert_eq(setitimer(ITIMER_PROF, &it, NULL), 0);
	signal(SIGPROF, SIG_IGN);
	cr_assert_eq(atomic_load(&failures), 0, "a socket learnt another's");
	cr_assert_eq(fd_count(), before, "descriptors leaked or lost");
	cr_assert_eq(top_chain->live, 0);
	cr_log_info("%d sockets made by the handler", atomic_load(&sig_made));
}
