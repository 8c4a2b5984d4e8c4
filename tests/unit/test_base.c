/*
 * test_base.c - the built-in base provider, driven through the table its
 * WSPStartup fills, as a layer would drive it.
 *
 * Criterion runs each test in its own process, so every test starts the
 * base afresh.  Sockets use only 127.0.0.1, ::1 and abstract AF_UNIX names;
 * every socket a test waits on is non-blocking and every wait is a poll()
 * with a time limit, and each suite has a timeout besides.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base.h"
#include "catalog.h"
#include "errmap.h"
#include "event.h"
#include "handle.h"
#include "libc.h"
#include "tls.h"
#include "wstr.h"

#define CR	WSA_FLAG_MULTIPOINT_C_ROOT
#define CL	WSA_FLAG_MULTIPOINT_C_LEAF
#define DR	WSA_FLAG_MULTIPOINT_D_ROOT
#define DL	WSA_FLAG_MULTIPOINT_D_LEAF
#define NB	WSA_FLAG_WSPSHIM_NONBLOCK
#define NOINHERIT WSA_FLAG_NO_HANDLE_INHERIT

#define WAIT_MS		3000

static WSPPROC_TABLE procs;
static WSPDATA wspdata;
static const WSPUPCALLTABLE no_upcalls;
static struct libc_table real;	/* libc as resolved, for the fakes */

/* The first built-in base entry for (af, type). */
static const WSAPROTOCOL_INFOW *
entry(int af, int type)
{
	const struct catalog *c = catalog_builtin();
	size_t i;

	for (i = 0; i < c->count; i++)
		if (c->entries[i].info.iAddressFamily == af &&
		    c->entries[i].info.iSocketType == type &&
		    c->entries[i].info.ProtocolChain.ChainLen == BASE_PROTOCOL)
			return &c->entries[i].info;
	cr_assert_fail("no built-in entry for af %d type %d", af, type);
	return NULL;
}

/* Nothing: starts the base as a layer would. */
static void
base_up(void)
{
	WSAPROTOCOL_INFOW info = *entry(AF_INET, SOCK_STREAM);

	libc_init();
	real = libc;
	cr_assert_eq(base_startup(WSPSHIM_SPI_VERSION, &wspdata, &info,
	    no_upcalls, &procs), 0);
}

/* Nothing: undoes fault injection and the start. */
static void
base_down(void)
{
	int err;

	libc_reset();
	(void)procs.lpWSPCleanup(&err);
}

TestSuite(startup, .timeout = 30);
TestSuite(socket, .init = base_up, .fini = base_down, .timeout = 30);
TestSuite(io, .init = base_up, .fini = base_down, .timeout = 30);
TestSuite(accept, .init = base_up, .fini = base_down, .timeout = 30);
TestSuite(opts, .init = base_up, .fini = base_down, .timeout = 30);
TestSuite(ioctl, .init = base_up, .fini = base_down, .timeout = 30);
TestSuite(handles, .init = base_up, .fini = base_down, .timeout = 30);
TestSuite(dup, .init = base_up, .fini = base_down, .timeout = 30);
TestSuite(adopt, .init = base_up, .fini = base_down, .timeout = 30);
TestSuite(addr, .init = base_up, .fini = base_down, .timeout = 30);
TestSuite(misc, .init = base_up, .fini = base_down, .timeout = 30);

/* A new base socket of the built-in entry for (af, type). */
static SOCKET
mk(int af, int type, DWORD flags)
{
	WSAPROTOCOL_INFOW info = *entry(af, type);
	SOCKET s;
	int err = 0;

	s = procs.lpWSPSocket(af, type, FROM_PROTOCOL_INFO, &info, 0, flags,
	    &err);
	cr_assert_neq(s, INVALID_SOCKET, "WSPSocket(%d, %d): %d", af, type,
	    err);
	return s;
}

/* The kernel descriptor of a live base socket. */
static int
kfd(SOCKET s)
{
	int fd = base_kernel_fd(s);

	cr_assert_geq(fd, 0);
	return fd;
}

/* Nothing: closes a base socket, which must succeed. */
static void
cl(SOCKET s)
{
	int err = 0;

	cr_assert_eq(procs.lpWSPCloseSocket(s, &err), 0, "close: %d", err);
}

/* Nothing: waits (bounded) until fd reports one of ev. */
static void
wait_fd(int fd, short ev)
{
	struct pollfd p = { .fd = fd, .events = ev };

	cr_assert_eq(poll(&p, 1, WAIT_MS), 1, "fd %d never got %#x", fd, ev);
}

/* The length of a loopback address of af in *ss, port 0 (or a fresh
 * abstract name for AF_UNIX). */
static socklen_t
loopback(int af, struct sockaddr_storage *ss)
{
	static int serial;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_un *un = (struct sockaddr_un *)ss;
	int n;

	memset(ss, 0, sizeof(*ss));
	switch (af) {
	case AF_INET:
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(*sin);
	case AF_INET6:
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		return sizeof(*sin6);
	default:
		un->sun_family = AF_UNIX;
		n = snprintf(un->sun_path + 1, sizeof(un->sun_path) - 1,
		    "wspshim-test-base-%d-%d", (int)getpid(), ++serial);
		return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
		    (size_t)n);
	}
}

/* Nothing: binds s to a loopback address; *ss and *len get its name. */
static void
bind_loopback(SOCKET s, int af, struct sockaddr_storage *ss, int *len)
{
	int err = 0;

	*len = (int)loopback(af, ss);
	cr_assert_eq(procs.lpWSPBind(s, (struct sockaddr *)ss, *len, &err), 0,
	    "bind: %d", err);
	*len = sizeof(*ss);
	cr_assert_eq(procs.lpWSPGetSockName(s, (struct sockaddr *)ss, len,
	    &err), 0, "getsockname: %d", err);
}

/* Nothing: a listening, non-blocking socket of (af, type) in *l, with its
 * name in *ss and *len. */
static void
listener(int af, int type, SOCKET *l, struct sockaddr_storage *ss,
    int *len)
{
	int err = 0;

	*l = mk(af, type, NB);
	bind_loopback(*l, af, ss, len);
	cr_assert_eq(procs.lpWSPListen(*l, 8, &err), 0, "listen: %d", err);
}

/* A non-blocking client of (af, type) connecting to ss. */
static SOCKET
connector(int af, int type, const struct sockaddr_storage *ss, int len)
{
	SOCKET c = mk(af, type, NB);
	int err = 0, rc;

	rc = procs.lpWSPConnect(c, (const struct sockaddr *)ss, len, NULL,
	    NULL, NULL, NULL, &err);
	cr_assert(rc == 0 || err == WSAEINPROGRESS || err == WSAEWOULDBLOCK,
	    "connect: %d", err);
	return c;
}

/* Nothing: a connected, non-blocking pair of (af, type) in *a and *b. */
static void
conn_pair(int af, int type, SOCKET *a, SOCKET *b)
{
	struct sockaddr_storage ss;
	SOCKET l;
	int len, err = 0;

	listener(af, type, &l, &ss, &len);
	*a = connector(af, type, &ss, len);
	wait_fd(kfd(l), POLLIN);
	*b = procs.lpWSPAccept4(l, NULL, NULL, NB, &err);
	cr_assert_neq(*b, INVALID_SOCKET, "accept4: %d", err);
	wait_fd(kfd(*a), POLLOUT);
	cl(l);
}

/* Nothing: sends n bytes of p on s in one WSABUF, all of them. */
static void
send1(SOCKET s, const void *p, size_t n)
{
	WSABUF b = { .len = (ULONG)n, .buf = (CHAR *)(uintptr_t)p };
	DWORD sent = 0;
	int err = 0;

	cr_assert_eq(procs.lpWSPSend(s, &b, 1, &sent, 0, NULL, NULL, NULL,
	    &err), 0, "send: %d", err);
	cr_assert_eq(sent, n);
}

/* Nothing: receives exactly n bytes on stream socket s into p. */
static void
recv_exact(SOCKET s, void *p, size_t n)
{
	WSABUF b;
	DWORD got, flags;
	size_t have = 0;
	int err = 0;

	while (have < n) {
		wait_fd(kfd(s), POLLIN);
		b.buf = (CHAR *)p + have;
		b.len = (ULONG)(n - have);
		flags = 0;
		cr_assert_eq(procs.lpWSPRecv(s, &b, 1, &got, &flags, NULL,
		    NULL, NULL, &err), 0, "recv: %d", err);
		cr_assert_gt(got, 0, "early end of stream");
		have += got;
	}
}

/* The inode of a descriptor's file. */
static ino_t
inode(int fd)
{
	struct stat st;

	cr_assert_eq(fstat(fd, &st), 0);
	return st.st_ino;
}

/* Whether fd is open. */
static int
is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* ------------------------------------------------------------------ */
/* WSPStartup and WSPCleanup                                           */

Test(startup, accepts_2_2)
{
	WSAPROTOCOL_INFOW info = *entry(AF_INET, SOCK_STREAM);
	WSPPROC_TABLE t;
	WSPDATA d;

	memset(&d, 0, sizeof(d));
	cr_assert_eq(base_startup(MAKEWORD(2, 2), &d, &info, no_upcalls, &t),
	    0);
	cr_expect_eq(d.wVersion, MAKEWORD(2, 2));
	cr_expect_eq(d.wHighVersion, MAKEWORD(2, 2));
	cr_expect_eq(d.wLinuxTableVersion, WSPSHIM_LINUX_TABLE_VERSION);
	cr_expect_gt(wstr_len(d.szDescription), 0);
	cr_expect_lt(wstr_len(d.szDescription), WSADESCRIPTION_LEN + 1);
}

Test(startup, caps_higher_requests_at_2_2)
{
	WSAPROTOCOL_INFOW info = *entry(AF_INET, SOCK_STREAM);
	const WORD req[] = { MAKEWORD(2, 3), MAKEWORD(3, 0), MAKEWORD(3, 1),
	    MAKEWORD(255, 255) };
	WSPPROC_TABLE t;
	WSPDATA d;
	size_t i;

	for (i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
		memset(&d, 0, sizeof(d));
		cr_assert_eq(base_startup(req[i], &d, &info, no_upcalls, &t),
		    0, "request %#x", req[i]);
		cr_expect_eq(d.wVersion, MAKEWORD(2, 2), "request %#x",
		    req[i]);
		cr_expect_eq(d.wHighVersion, MAKEWORD(2, 2));
	}
}

Test(startup, refuses_below_2_2)
{
	WSAPROTOCOL_INFOW info = *entry(AF_INET, SOCK_STREAM);
	const WORD req[] = { MAKEWORD(2, 1), MAKEWORD(2, 0), MAKEWORD(1, 1),
	    MAKEWORD(1, 9), MAKEWORD(0, 0), MAKEWORD(0, 2) };
	WSPPROC_TABLE t;
	WSPDATA d;
	size_t i;
	int err;

	for (i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
		memset(&d, 0, sizeof(d));
		cr_expect_eq(base_startup(req[i], &d, &info, no_upcalls, &t),
		    WSAVERNOTSUPPORTED, "request %#x", req[i]);
		cr_expect_eq(d.wHighVersion, MAKEWORD(2, 2));
	}
	/* None of those counted as a start. */
	memset(&t, 0, sizeof(t));
	cr_assert_eq(base_startup(MAKEWORD(2, 2), &d, &info, no_upcalls, &t),
	    0);
	cr_expect_eq(t.lpWSPCleanup(&err), 0);
	cr_expect_eq(t.lpWSPCleanup(&err), SOCKET_ERROR);
	cr_expect_eq(err, WSANOTINITIALISED);
}

Test(startup, null_arguments_are_efault)
{
	WSAPROTOCOL_INFOW info = *entry(AF_INET, SOCK_STREAM);
	WSPPROC_TABLE t;
	WSPDATA d;
	int err;

	cr_expect_eq(base_startup(MAKEWORD(2, 2), NULL, &info, no_upcalls,
	    &t), WSAEFAULT);
	cr_expect_eq(base_startup(MAKEWORD(2, 2), &d, NULL, no_upcalls, &t),
	    WSAEFAULT);
	cr_expect_eq(base_startup(MAKEWORD(2, 2), &d, &info, no_upcalls,
	    NULL), WSAEFAULT);
	/* Still not started. */
	cr_assert_eq(base_startup(MAKEWORD(2, 2), &d, &info, no_upcalls, &t),
	    0);
	cr_expect_eq(t.lpWSPCleanup(&err), 0);
	cr_expect_eq(t.lpWSPCleanup(&err), SOCKET_ERROR);
}

Test(startup, fills_every_member)
{
	WSAPROTOCOL_INFOW info = *entry(AF_INET, SOCK_STREAM);
	void (*fp[sizeof(WSPPROC_TABLE) / sizeof(void (*)(void))])(void);
	WSPPROC_TABLE t;
	WSPDATA d;
	size_t i;

	cr_assert_eq(sizeof(fp) / sizeof(fp[0]),
	    WSPSHIM_WINSOCK_PROC_COUNT + 5);
	memset(&t, 0, sizeof(t));
	cr_assert_eq(base_startup(MAKEWORD(2, 2), &d, &info, no_upcalls, &t),
	    0);
	memcpy(fp, &t, sizeof(t));
	for (i = 0; i < sizeof(fp) / sizeof(fp[0]); i++)
		cr_expect_not_null(fp[i], "member %zu is NULL", i);
}

Test(startup, cleanup_is_counted)
{
	WSAPROTOCOL_INFOW info = *entry(AF_INET, SOCK_STREAM);
	WSPPROC_TABLE t;
	WSPDATA d;
	int err = 0, i;

	for (i = 0; i < 3; i++)
		cr_assert_eq(base_startup(MAKEWORD(2, 2), &d, &info,
		    no_upcalls, &t), 0);
	for (i = 0; i < 3; i++)
		cr_expect_eq(t.lpWSPCleanup(&err), 0, "cleanup %d", i);
	cr_expect_eq(t.lpWSPCleanup(&err), SOCKET_ERROR);
	cr_expect_eq(err, WSANOTINITIALISED);
}

Test(startup, cleanup_without_start_is_notinitialised)
{
	WSAPROTOCOL_INFOW info = *entry(AF_INET, SOCK_STREAM);
	WSPPROC_TABLE t;
	WSPDATA d;
	int err = 0;

	/* Get the table, then drop the one start it took. */
	cr_assert_eq(base_startup(MAKEWORD(2, 2), &d, &info, no_upcalls, &t),
	    0);
	cr_assert_eq(t.lpWSPCleanup(&err), 0);
	err = 0;
	cr_expect_eq(t.lpWSPCleanup(&err), SOCKET_ERROR);
	cr_expect_eq(err, WSANOTINITIALISED);
}

Test(startup, last_cleanup_closes_unused_dup_tokens)
{
	WSAPROTOCOL_INFOW info = *entry(AF_INET, SOCK_STREAM), tok, tok2;
	WSPDATA d;
	SOCKET s, s2;
	int err = 0, probe, spare;

	cr_assert_eq(base_startup(MAKEWORD(2, 2), &d, &info, no_upcalls,
	    &procs), 0);
	cr_assert_eq(base_startup(MAKEWORD(2, 2), &d, &info, no_upcalls,
	    &procs), 0);
	s = mk(AF_INET, SOCK_STREAM, 0);
	/* The token's descriptor takes the lowest free number. */
	probe = dup(2);
	cr_assert_geq(probe, 0);
	close(probe);
	cr_assert_eq(procs.lpWSPDuplicateSocket(s, (DWORD)getpid(), &tok,
	    &err), 0);
	cr_assert(is_open(probe));
	cr_expect_eq(inode(probe), inode(kfd(s)));
	cr_expect(fcntl(probe, F_GETFD) & FD_CLOEXEC);
	spare = dup(2);
	close(spare);
	cr_assert_eq(procs.lpWSPDuplicateSocket(s, (DWORD)getpid(), &tok2,
	    &err), 0);
	cr_assert(is_open(spare));

	/* Not the last cleanup: the tokens stay good. */
	cr_assert_eq(procs.lpWSPCleanup(&err), 0);
	cr_expect(is_open(probe));
	s2 = procs.lpWSPSocket(0, 0, 0, &tok2, 0, 0, &err);
	cr_assert_neq(s2, INVALID_SOCKET, "token after first cleanup: %d",
	    err);
	cr_expect_eq(base_kernel_fd(s2), spare);

	cr_assert_eq(procs.lpWSPCleanup(&err), 0);
	cr_expect_not(is_open(probe), "the last cleanup closes the token's "
	    "descriptor");
	cr_expect(is_open(kfd(s)), "the socket itself stays");
	cr_expect(is_open(spare), "a used token's descriptor is the "
	    "socket's");
	cr_expect_eq(procs.lpWSPSocket(0, 0, 0, &tok, 0, 0, &err),
	    INVALID_SOCKET);
	cr_expect_eq(err, WSAEINVAL);
}

Test(startup, last_cleanup_leaves_adopted_descriptors)
{
	WSAPROTOCOL_INFOW info = *entry(AF_UNIX, SOCK_STREAM), tok;
	WSPDATA d;
	int sv[2], err;

	cr_assert_eq(base_startup(MAKEWORD(2, 2), &d, &info, no_upcalls,
	    &procs), 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	cr_assert_eq(base_adopt_token(sv[0], &info, &tok), 0);
	cr_assert_eq(procs.lpWSPCleanup(&err), 0);
	cr_expect(is_open(sv[0]), "the program's descriptor is not ours");
	cr_expect_eq(procs.lpWSPSocket(0, 0, 0, &tok, 0, 0, &err),
	    INVALID_SOCKET);
	cr_expect_eq(err, WSAEINVAL);
}

/* ------------------------------------------------------------------ */
/* WSPSocket                                                           */

/* The protocol to ask of a built-in entry (raw ones need a real one). */
static int
proto_for(const WSAPROTOCOL_INFOW *e)
{
	if (e->iSocketType != SOCK_RAW)
		return e->iProtocol;
	return e->iAddressFamily == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
}

/* The kernel's idea of a socket option that is an int. */
static int
sockopt_int(int fd, int level, int name)
{
	socklen_t len = sizeof(int);
	int v = -1;

	cr_assert_eq(getsockopt(fd, level, name, &v, &len), 0);
	return v;
}

Test(socket, every_base_entry)
{
	const struct catalog *c = catalog_builtin();
	WSAPROTOCOL_INFOW info;
	SOCKET s;
	size_t i;
	int err, fd, n = 0;

	for (i = 0; i < c->count; i++) {
		info = c->entries[i].info;
		if (info.ProtocolChain.ChainLen != BASE_PROTOCOL)
			continue;
		err = 0;
		s = procs.lpWSPSocket(info.iAddressFamily, info.iSocketType,
		    proto_for(&info), &info, 0, 0, &err);
		if (s == INVALID_SOCKET && info.iSocketType == SOCK_RAW) {
			cr_expect_eq(err, WSAEACCES, "raw entry %u: %d",
			    info.dwCatalogEntryId, err);
			continue;
		}
		cr_assert_neq(s, INVALID_SOCKET, "entry %u: %d",
		    info.dwCatalogEntryId, err);
		fd = kfd(s);
		cr_expect_eq(sockopt_int(fd, SOL_SOCKET, SO_DOMAIN),
		    info.iAddressFamily);
		cr_expect_eq(sockopt_int(fd, SOL_SOCKET, SO_TYPE),
		    info.iSocketType);
		cr_expect_eq(sockopt_int(fd, SOL_SOCKET, SO_PROTOCOL),
		    proto_for(&info));
		cr_expect_geq(s, HANDLE_MIN, "a virtual handle");
		cr_expect_eq(s % 4, 2, "base handles are 2 modulo 4");
		cr_expect_eq(handle_lookup(s, NULL), 0,
		    "never mistaken for a WPU handle");
		cl(s);
		n++;
	}
	cr_expect_geq(n, 7, "TCP, UDP (v4, v6) and three AF_UNIX entries");
}

Test(socket, wildcards_come_from_protocol_info)
{
	static const int pick[][3] = {
		{ 0, 0, 0 },
		{ FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO },
		{ 1, 0, FROM_PROTOCOL_INFO },
		{ 0, 1, 0 },
		{ FROM_PROTOCOL_INFO, 1, 1 },
		{ 1, 1, 1 },
	};
	const struct catalog *c = catalog_builtin();
	WSAPROTOCOL_INFOW info;
	int af, type, proto, err;
	size_t i, j;
	SOCKET s;

	for (i = 0; i < c->count; i++) {
		info = c->entries[i].info;
		if (info.iSocketType == SOCK_RAW)
			continue;	/* protocol 0 is no raw protocol */
		for (j = 0; j < sizeof(pick) / sizeof(pick[0]); j++) {
			af = pick[j][0] == 1 ? info.iAddressFamily : pick[j][0];
			type = pick[j][1] == 1 ? info.iSocketType : pick[j][1];
			proto = pick[j][2] == 1 ? info.iProtocol : pick[j][2];
			err = 0;
			s = procs.lpWSPSocket(af, type, proto, &info, 0, 0,
			    &err);
			cr_assert_neq(s, INVALID_SOCKET, "entry %u, row %zu: "
			    "%d", info.dwCatalogEntryId, j, err);
			cr_expect_eq(sockopt_int(kfd(s), SOL_SOCKET, SO_TYPE),
			    info.iSocketType);
			cl(s);
		}
	}
}

Test(socket, triple_must_fit_the_entry)
{
	WSAPROTOCOL_INFOW tcp = *entry(AF_INET, SOCK_STREAM);
	int err;

	err = 0;
	cr_expect_eq(procs.lpWSPSocket(AF_INET, SOCK_DGRAM, 0, &tcp, 0, 0,
	    &err), INVALID_SOCKET);
	cr_expect_eq(err, WSAESOCKTNOSUPPORT);
	err = 0;
	cr_expect_eq(procs.lpWSPSocket(AF_INET6, SOCK_STREAM, 0, &tcp, 0, 0,
	    &err), INVALID_SOCKET);
	cr_expect_eq(err, WSAEAFNOSUPPORT);
	err = 0;
	cr_expect_eq(procs.lpWSPSocket(AF_INET, SOCK_STREAM, IPPROTO_UDP,
	    &tcp, 0, 0, &err), INVALID_SOCKET);
	cr_expect_eq(err, WSAEPROTONOSUPPORT);
}

Test(socket, null_protocol_info_is_efault)
{
	int err = 0;

	cr_expect_eq(procs.lpWSPSocket(AF_INET, SOCK_STREAM, 0, NULL, 0, 0,
	    &err), INVALID_SOCKET);
	cr_expect_eq(err, WSAEFAULT);
}

Test(socket, group_must_be_zero)
{
	WSAPROTOCOL_INFOW udp = *entry(AF_INET, SOCK_DGRAM);
	const GROUP g[] = { 1, 2, 0x1234, ~0u };
	size_t i;
	int err;

	for (i = 0; i < sizeof(g) / sizeof(g[0]); i++) {
		err = 0;
		cr_expect_eq(procs.lpWSPSocket(0, 0, 0, &udp, g[i], 0, &err),
		    INVALID_SOCKET);
		cr_expect_eq(err, WSAEINVAL, "g %u", g[i]);
	}
}

Test(socket, unknown_flags_are_einval)
{
	WSAPROTOCOL_INFOW udp = *entry(AF_INET, SOCK_DGRAM);
	const DWORD bad[] = { 0x20, 0x200, 0x400, 0x10000, 0x1000000,
	    0x20000000, 0x80000000, WSA_FLAG_REGISTERED_IO };
	size_t i;
	int err;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = 0;
		cr_expect_eq(procs.lpWSPSocket(0, 0, 0, &udp, 0, bad[i], &err),
		    INVALID_SOCKET, "flags %#x", bad[i]);
		cr_expect_eq(err, WSAEINVAL, "flags %#x", bad[i]);
	}
}

Test(socket, known_flags_are_accepted)
{
	WSAPROTOCOL_INFOW tcp = *entry(AF_INET, SOCK_STREAM);
	const DWORD ok[] = { WSA_FLAG_OVERLAPPED,
	    WSA_FLAG_ACCESS_SYSTEM_SECURITY, NOINHERIT, NB,
	    WSA_FLAG_OVERLAPPED | NOINHERIT | NB };
	size_t i;
	SOCKET s;
	int err;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		err = 0;
		s = procs.lpWSPSocket(0, 0, 0, &tcp, 0, ok[i], &err);
		cr_assert_neq(s, INVALID_SOCKET, "flags %#x: %d", ok[i], err);
		cl(s);
	}
}

Test(socket, open_flags_are_atomic)
{
	SOCKET s;
	int fd;

	s = mk(AF_INET, SOCK_STREAM, 0);
	fd = kfd(s);
	cr_expect_not(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	cr_expect_not(fcntl(fd, F_GETFL) & O_NONBLOCK);
	cl(s);
	s = mk(AF_INET, SOCK_STREAM, NOINHERIT | NB);
	fd = kfd(s);
	cr_expect(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	cr_expect(fcntl(fd, F_GETFL) & O_NONBLOCK);
	cl(s);
}

static int fake_errno;
static int fake_calls;
static int fake_type;
static int fake_protocol;

/* A socket() that fails with fake_errno, or passes type on. */
static int
fake_socket(int domain, int type, int protocol)
{
	fake_calls++;
	fake_type = type;
	fake_protocol = protocol;
	if (fake_errno != 0) {
		errno = fake_errno;
		return -1;
	}
	/* Any real socket will do: the base only keeps its number. */
	return real.socket(AF_UNIX, SOCK_DGRAM | (type & (SOCK_CLOEXEC |
	    SOCK_NONBLOCK)), 0);
}

Test(socket, open_flags_reach_the_socket_call)
{
	WSAPROTOCOL_INFOW udp = *entry(AF_INET, SOCK_DGRAM);
	SOCKET s;
	int err;

	libc.socket = fake_socket;
	s = procs.lpWSPSocket(0, 0, 0, &udp, 0, NOINHERIT, &err);
	cr_assert_neq(s, INVALID_SOCKET);
	cr_expect_eq(fake_type, SOCK_DGRAM | SOCK_CLOEXEC);
	cl(s);
	s = procs.lpWSPSocket(0, 0, 0, &udp, 0, NB, &err);
	cr_assert_neq(s, INVALID_SOCKET);
	cr_expect_eq(fake_type, SOCK_DGRAM | SOCK_NONBLOCK);
	cl(s);
	/* socket()'s own bits in type are taken too. */
	s = procs.lpWSPSocket(0, SOCK_DGRAM | SOCK_NONBLOCK, 0, &udp, 0, 0,
	    &err);
	cr_assert_neq(s, INVALID_SOCKET);
	cr_expect_eq(fake_type, SOCK_DGRAM | SOCK_NONBLOCK);
	cl(s);
	s = procs.lpWSPSocket(0, 0, 0, &udp, 0, WSA_FLAG_OVERLAPPED, &err);
	cr_assert_neq(s, INVALID_SOCKET);
	cr_expect_eq(fake_type, SOCK_DGRAM);
	cl(s);
}

Test(socket, protocol_zero_reaches_the_kernel_as_zero)
{
	WSAPROTOCOL_INFOW tcp = *entry(AF_INET, SOCK_STREAM), other;
	SOCKET s;
	int err = 0;

	/* What strace shows must match the program's own call. */
	libc.socket = fake_socket;
	s = procs.lpWSPSocket(AF_INET, SOCK_STREAM, 0, &tcp, 0, 0, &err);
	cr_assert_neq(s, INVALID_SOCKET);
	cr_expect_eq(fake_protocol, 0);
	cl(s);
	s = procs.lpWSPSocket(AF_INET, SOCK_STREAM, FROM_PROTOCOL_INFO, &tcp,
	    0, 0, &err);
	cr_assert_neq(s, INVALID_SOCKET);
	cr_expect_eq(fake_protocol, IPPROTO_TCP);
	cl(s);
	s = procs.lpWSPSocket(AF_INET, SOCK_STREAM, IPPROTO_TCP, &tcp, 0, 0,
	    &err);
	cr_assert_neq(s, INVALID_SOCKET);
	cr_expect_eq(fake_protocol, IPPROTO_TCP);
	cl(s);
	/* An entry that protocol 0 does not select names its protocol. */
	other = tcp;
	other.dwProviderFlags &= ~(DWORD)PFL_MATCHES_PROTOCOL_ZERO;
	s = procs.lpWSPSocket(AF_INET, SOCK_STREAM, 0, &other, 0, 0, &err);
	cr_assert_neq(s, INVALID_SOCKET);
	cr_expect_eq(fake_protocol, IPPROTO_TCP);
	cl(s);
}

/*
 * The multipoint rules, written out by hand: for each kind of entry, the
 * combinations of C_ROOT, C_LEAF, D_ROOT and D_LEAF that WSPSocket takes.
 */
enum mp_kind { MP_NONE, MP_UNROOTED, MP_ROOTED_C, MP_ROOTED_D, MP_ROOTED_CD };

static const DWORD mp_valid[][6] = {
	[MP_NONE] = { 0, ~0u },
	[MP_UNROOTED] = { 0, CL | DL, ~0u },
	[MP_ROOTED_C] = { 0, CL | DL, CR | DL, ~0u },
	[MP_ROOTED_D] = { 0, CL | DL, CL | DR, ~0u },
	[MP_ROOTED_CD] = { 0, CL | DL, CR | DL, CL | DR, CR | DR, ~0u },
};

/* Which built-in entries support IP multipoint (Winsock: UDP and raw). */
static const struct {
	int		af, type;
	enum mp_kind	kind;
} mp_builtin[] = {
	{ AF_INET, SOCK_STREAM, MP_NONE },
	{ AF_INET, SOCK_DGRAM, MP_UNROOTED },
	{ AF_INET, SOCK_RAW, MP_UNROOTED },
	{ AF_INET6, SOCK_STREAM, MP_NONE },
	{ AF_INET6, SOCK_DGRAM, MP_UNROOTED },
	{ AF_INET6, SOCK_RAW, MP_UNROOTED },
	{ AF_UNIX, SOCK_STREAM, MP_NONE },
	{ AF_UNIX, SOCK_DGRAM, MP_NONE },
	{ AF_UNIX, SOCK_SEQPACKET, MP_NONE },
};

/* Whether the table lets an entry of kind k take multipoint bits mp. */
static int
mp_expected(enum mp_kind k, DWORD mp)
{
	size_t i;

	for (i = 0; mp_valid[k][i] != ~0u; i++)
		if (mp_valid[k][i] == mp)
			return 1;
	return 0;
}

/* Nothing: tries all 32 combinations of OVERLAPPED and the four
 * multipoint bits on entry e, expecting what kind k allows. */
static void
mp_try_all(const WSAPROTOCOL_INFOW *e, enum mp_kind k)
{
	WSAPROTOCOL_INFOW info = *e;
	DWORD f;
	SOCKET s;
	int err, want;

	for (f = 0; f < 32; f++) {
		want = mp_expected(k, f & (CR | CL | DR | DL));
		err = 0;
		fake_calls = 0;
		s = procs.lpWSPSocket(0, 0, proto_for(&info), &info, 0, f,
		    &err);
		if (want) {
			cr_expect_neq(s, INVALID_SOCKET, "entry %u flags %#x: "
			    "%d", info.dwCatalogEntryId, f, err);
			if (s != INVALID_SOCKET)
				cl(s);
		} else {
			cr_expect_eq(s, INVALID_SOCKET, "entry %u flags %#x",
			    info.dwCatalogEntryId, f);
			cr_expect_eq(err, WSAEINVAL, "entry %u flags %#x",
			    info.dwCatalogEntryId, f);
			cr_expect_eq(fake_calls, 0, "checked before socket()");
		}
	}
}

Test(socket, multipoint_flags_on_every_base_entry)
{
	const struct catalog *c = catalog_builtin();
	const WSAPROTOCOL_INFOW *e;
	size_t i, j;
	int seen = 0;

	/* Raw entries need privilege; the flags are what is tested. */
	libc.socket = fake_socket;
	for (i = 0; i < c->count; i++) {
		e = &c->entries[i].info;
		for (j = 0; j < sizeof(mp_builtin) / sizeof(mp_builtin[0]);
		    j++)
			if (mp_builtin[j].af == e->iAddressFamily &&
			    mp_builtin[j].type == e->iSocketType)
				break;
		cr_assert_lt(j, sizeof(mp_builtin) / sizeof(mp_builtin[0]),
		    "entry %u is not in the test's table",
		    e->dwCatalogEntryId);
		mp_try_all(e, mp_builtin[j].kind);
		seen++;
	}
	cr_expect_eq(seen, 9);
}

Test(socket, multipoint_flags_on_rooted_entries)
{
	WSAPROTOCOL_INFOW e = *entry(AF_INET, SOCK_DGRAM);
	DWORD base = e.dwServiceFlags1 & ~(DWORD)(XP1_MULTIPOINT_CONTROL_PLANE |
	    XP1_MULTIPOINT_DATA_PLANE);

	e.dwServiceFlags1 = base | XP1_MULTIPOINT_CONTROL_PLANE;
	mp_try_all(&e, MP_ROOTED_C);
	e.dwServiceFlags1 = base | XP1_MULTIPOINT_DATA_PLANE;
	mp_try_all(&e, MP_ROOTED_D);
	e.dwServiceFlags1 = base | XP1_MULTIPOINT_CONTROL_PLANE |
	    XP1_MULTIPOINT_DATA_PLANE;
	mp_try_all(&e, MP_ROOTED_CD);
	/* Plane bits without XP1_SUPPORT_MULTIPOINT allow nothing. */
	e.dwServiceFlags1 = (base & ~(DWORD)XP1_SUPPORT_MULTIPOINT) |
	    XP1_MULTIPOINT_CONTROL_PLANE | XP1_MULTIPOINT_DATA_PLANE;
	mp_try_all(&e, MP_NONE);
}

struct fault {
	int	errnum;
	int	wsa;
};

ParameterizedTestParameters(socket, socket_errors_are_mapped)
{
	static struct fault f[] = {
		{ EMFILE, WSAEMFILE },
		{ ENFILE, WSAEMFILE },
		{ ENOBUFS, WSAENOBUFS },
		{ ENOMEM, WSAENOBUFS },
		{ EPERM, WSAEACCES },
		{ EACCES, WSAEACCES },
		{ EAFNOSUPPORT, WSAEAFNOSUPPORT },
		{ EPROTONOSUPPORT, WSAEPROTONOSUPPORT },
		{ ESOCKTNOSUPPORT, WSAESOCKTNOSUPPORT },
	};

	return cr_make_param_array(struct fault, f, sizeof(f) / sizeof(f[0]));
}

ParameterizedTest(struct fault *f, socket, socket_errors_are_mapped)
{
	WSAPROTOCOL_INFOW tcp = *entry(AF_INET, SOCK_STREAM);
	int err = 0;

	libc.socket = fake_socket;
	fake_errno = f->errnum;
	cr_assert_eq(procs.lpWSPSocket(0, 0, 0, &tcp, 0, 0, &err),
	    INVALID_SOCKET);
	cr_expect_eq(err, f->wsa, "errno %d gave %d", f->errnum, err);
	cr_expect_eq(errmap_errno_for(err), f->errnum,
	    "the native errno is remembered");
}

Test(socket, raw_without_privilege_is_eacces)
{
	WSAPROTOCOL_INFOW raw = *entry(AF_INET, SOCK_RAW);
	SOCKET s;
	int err = 0, dropped;

	/* A real attempt, as nobody if we can drop root (this process is
	 * the test's own): allowed with CAP_NET_RAW, else WSAEACCES. */
	dropped = geteuid() == 0 && setgid(65534) == 0 && setuid(65534) == 0;
	s = procs.lpWSPSocket(AF_INET, SOCK_RAW, IPPROTO_ICMP, &raw, 0, 0,
	    &err);
	if (s != INVALID_SOCKET) {
		cr_expect_not(dropped, "root was dropped, yet raw works");
		cr_expect_eq(sockopt_int(kfd(s), SOL_SOCKET, SO_TYPE),
		    SOCK_RAW);
		cl(s);
	} else {
		cr_expect_eq(err, WSAEACCES);
		cr_expect(errmap_errno_for(err) == EPERM ||
		    errmap_errno_for(err) == EACCES);
	}
	/* And an injected EPERM, whatever our privileges. */
	libc.socket = fake_socket;
	fake_errno = EPERM;
	err = 0;
	cr_expect_eq(procs.lpWSPSocket(AF_INET, SOCK_RAW, IPPROTO_ICMP, &raw,
	    0, 0, &err), INVALID_SOCKET);
	cr_expect_eq(err, WSAEACCES);
	cr_expect_eq(errmap_errno_for(err), EPERM);
}

Test(socket, raw_protocol_zero_is_linux_s_answer)
{
	WSAPROTOCOL_INFOW raw = *entry(AF_INET, SOCK_RAW);
	SOCKET s;
	int err = 0;

	/* Linux has no raw protocol 0: EPROTONOSUPPORT, before privilege. */
	s = procs.lpWSPSocket(0, 0, 0, &raw, 0, 0, &err);
	cr_expect_eq(s, INVALID_SOCKET);
	cr_expect_eq(err, WSAEPROTONOSUPPORT);
}

/* ------------------------------------------------------------------ */
/* Data transfer                                                        */

/* Nothing: a round trip on a connected stream pair, with one buffer and
 * with scatter/gather arrays. */
static void
stream_round_trip(int af, int type)
{
	char out[64], in[64];
	WSABUF g[3], sc[2];
	DWORD n, flags;
	SOCKET a, b;
	int err = 0;

	conn_pair(af, type, &a, &b);
	send1(a, "hello", 5);
	recv_exact(b, in, 5);
	cr_expect_arr_eq(in, "hello", 5);

	g[0] = (WSABUF){ 3, "abc" };
	g[1] = (WSABUF){ 0, NULL };
	g[2] = (WSABUF){ 4, "defg" };
	n = 0;
	cr_assert_eq(procs.lpWSPSend(b, g, 3, &n, 0, NULL, NULL, NULL, &err),
	    0, "gather send: %d", err);
	cr_expect_eq(n, 7);
	memset(out, 0, sizeof(out));
	sc[0] = (WSABUF){ 2, out };
	sc[1] = (WSABUF){ 10, out + 32 };
	wait_fd(kfd(a), POLLIN);
	flags = 0;
	cr_assert_eq(procs.lpWSPRecv(a, sc, 2, &n, &flags, NULL, NULL, NULL,
	    &err), 0, "scatter recv: %d", err);
	cr_expect_eq(n, 7);
	cr_expect_arr_eq(out, "ab", 2);
	cr_expect_arr_eq(out + 32, "cdefg", 5);
	cr_expect_eq(flags, 0);

	/* Graceful close: a recv of 0 bytes. */
	cr_assert_eq(procs.lpWSPShutdown(a, SHUT_WR, &err), 0);
	wait_fd(kfd(b), POLLIN);
	sc[0] = (WSABUF){ sizeof(in), in };
	flags = 0;
	n = 99;
	cr_assert_eq(procs.lpWSPRecv(b, sc, 1, &n, &flags, NULL, NULL, NULL,
	    &err), 0);
	cr_expect_eq(n, 0);
	cl(a);
	cl(b);
}

Test(io, tcp4_round_trip)
{
	stream_round_trip(AF_INET, SOCK_STREAM);
}

Test(io, tcp6_round_trip)
{
	stream_round_trip(AF_INET6, SOCK_STREAM);
}

Test(io, unix_stream_round_trip)
{
	stream_round_trip(AF_UNIX, SOCK_STREAM);
}

Test(io, unix_seqpacket_round_trip)
{
	stream_round_trip(AF_UNIX, SOCK_SEQPACKET);
}

Test(io, many_buffers)
{
	static char out[200], in[200];
	WSABUF g[100], sc[100];
	DWORD n, flags;
	SOCKET a, b;
	int err = 0, i;

	for (i = 0; i < 200; i++)
		out[i] = (char)i;
	for (i = 0; i < 100; i++) {
		g[i] = (WSABUF){ 2, out + 2 * i };
		sc[i] = (WSABUF){ 2, in + 2 * i };
	}
	conn_pair(AF_UNIX, SOCK_SEQPACKET, &a, &b);
	cr_assert_eq(procs.lpWSPSend(a, g, 100, &n, 0, NULL, NULL, NULL,
	    &err), 0, "send: %d", err);
	cr_expect_eq(n, 200);
	wait_fd(kfd(b), POLLIN);
	flags = 0;
	cr_assert_eq(procs.lpWSPRecv(b, sc, 100, &n, &flags, NULL, NULL,
	    NULL, &err), 0, "recv: %d", err);
	cr_expect_eq(n, 200);
	cr_expect_arr_eq(in, out, 200);
	cl(a);
	cl(b);
}

Test(io, too_many_buffers_is_einval)
{
	static WSABUF g[IOV_MAX + 1];
	DWORD n, flags = 0;
	SOCKET a, b;
	int err = 0;

	conn_pair(AF_INET, SOCK_STREAM, &a, &b);
	cr_expect_eq(procs.lpWSPSend(a, g, IOV_MAX + 1, &n, 0, NULL, NULL,
	    NULL, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEINVAL);
	err = 0;
	cr_expect_eq(procs.lpWSPRecv(a, g, IOV_MAX + 1, &n, &flags, NULL,
	    NULL, NULL, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEINVAL);
	/* IOV_MAX itself is fine (empty buffers: nothing is sent). */
	cr_expect_eq(procs.lpWSPSend(a, g, IOV_MAX, &n, 0, NULL, NULL, NULL,
	    &err), 0, "%d", err);
	cl(a);
	cl(b);
}

/* An overlapped socket: an unconnected UDP send fails at once; a
 * receive with nothing queued is pending until closesocket aborts it. */
Test(io, overlapped_fails_at_once_or_pends)
{
	WSAOVERLAPPED ov, ov2;
	WSABUF b = { 1, "x" };
	DWORD n, flags = 0;
	SOCKET s = mk(AF_INET, SOCK_DGRAM, WSA_FLAG_OVERLAPPED);
	int err = 0;

	memset(&ov, 0, sizeof(ov));
	memset(&ov2, 0, sizeof(ov2));
	cr_expect_eq(procs.lpWSPSend(s, &b, 1, &n, 0, &ov, NULL, NULL, &err),
	    SOCKET_ERROR);
	cr_expect_eq(err, WSAEDESTADDRREQ);
	err = 0;
	cr_expect_eq(procs.lpWSPRecv(s, &b, 1, &n, &flags, &ov2, NULL, NULL,
	    &err), SOCKET_ERROR);
	cr_expect_eq(err, WSA_IO_PENDING);
	cr_expect_eq(ov2.Internal, WSA_IO_PENDING);
	cl(s);
	cr_expect_eq(ov2.Internal, WSA_OPERATION_ABORTED,
	    "closesocket aborts what is pending");
}

Test(io, missing_out_pointers_are_efault)
{
	WSABUF b = { 1, "x" };
	DWORD n, flags = 0;
	SOCKET s = mk(AF_INET, SOCK_DGRAM, NB);
	int err = 0;

	cr_expect_eq(procs.lpWSPSend(s, &b, 1, NULL, 0, NULL, NULL, NULL,
	    &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEFAULT);
	err = 0;
	cr_expect_eq(procs.lpWSPSend(s, NULL, 1, &n, 0, NULL, NULL, NULL,
	    &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEFAULT);
	err = 0;
	cr_expect_eq(procs.lpWSPRecv(s, &b, 1, &n, NULL, NULL, NULL, NULL,
	    &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEFAULT);
	err = 0;
	cr_expect_eq(procs.lpWSPRecv(s, &b, 1, NULL, &flags, NULL, NULL,
	    NULL, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEFAULT);
	/* A missing address length goes to the kernel, which judges it
	 * only once a datagram is there, as recvfrom(2) does: here the
	 * non-blocking queue is empty. */
	err = 0;
	cr_expect_eq(procs.lpWSPRecvFrom(s, &b, 1, &n, &flags,
	    (struct sockaddr *)&b, NULL, NULL, NULL, NULL, &err),
	    SOCKET_ERROR);
	cr_expect_eq(err, WSAEWOULDBLOCK);
	cl(s);
}

Test(io, empty_queue_would_block)
{
	char c;
	WSABUF b = { 1, &c };
	DWORD n, flags = 0;
	SOCKET s = mk(AF_INET, SOCK_DGRAM, NB);
	int err = 0;

	cr_expect_eq(procs.lpWSPRecv(s, &b, 1, &n, &flags, NULL, NULL, NULL,
	    &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEWOULDBLOCK);
	cr_expect_eq(errmap_errno_for(err), EAGAIN);
	cl(s);
}

/* Nothing: SendTo/RecvFrom between two bound datagram sockets of af. */
static void
dgram_round_trip(int af)
{
	struct sockaddr_storage sa, sb, from;
	char buf[32], hi[8], lo[8];
	WSABUF g[2], one;
	DWORD n, flags;
	SOCKET a, b;
	int la, lb, fromlen, err = 0;

	a = mk(af, SOCK_DGRAM, NB);
	b = mk(af, SOCK_DGRAM, NB);
	bind_loopback(a, af, &sa, &la);
	bind_loopback(b, af, &sb, &lb);

	one = (WSABUF){ 4, "ping" };
	cr_assert_eq(procs.lpWSPSendTo(a, &one, 1, &n, 0,
	    (struct sockaddr *)&sb, lb, NULL, NULL, NULL, &err), 0,
	    "sendto: %d", err);
	cr_expect_eq(n, 4);
	wait_fd(kfd(b), POLLIN);
	one = (WSABUF){ sizeof(buf), buf };
	fromlen = sizeof(from);
	flags = 0;
	cr_assert_eq(procs.lpWSPRecvFrom(b, &one, 1, &n, &flags,
	    (struct sockaddr *)&from, &fromlen, NULL, NULL, NULL, &err), 0,
	    "recvfrom: %d", err);
	cr_expect_eq(n, 4);
	cr_expect_arr_eq(buf, "ping", 4);
	cr_expect_eq(flags, 0);
	cr_expect_eq(fromlen, la);
	cr_expect_arr_eq(&from, &sa, (size_t)la, "the sender's address");

	/* Gather on send, scatter on receive: one datagram. */
	g[0] = (WSABUF){ 3, "abc" };
	g[1] = (WSABUF){ 3, "def" };
	cr_assert_eq(procs.lpWSPSendTo(b, g, 2, &n, 0, (struct sockaddr *)&sa,
	    la, NULL, NULL, NULL, &err), 0, "gather sendto: %d", err);
	cr_expect_eq(n, 6);
	wait_fd(kfd(a), POLLIN);
	g[0] = (WSABUF){ 4, hi };
	g[1] = (WSABUF){ 4, lo };
	fromlen = sizeof(from);
	flags = 0;
	cr_assert_eq(procs.lpWSPRecvFrom(a, g, 2, &n, &flags,
	    (struct sockaddr *)&from, &fromlen, NULL, NULL, NULL, &err), 0,
	    "scatter recvfrom: %d", err);
	cr_expect_eq(n, 6);
	cr_expect_arr_eq(hi, "abcd", 4);
	cr_expect_arr_eq(lo, "ef", 2);
	cr_expect_eq(fromlen, lb);
	cr_expect_arr_eq(&from, &sb, (size_t)lb);
	cl(a);
	cl(b);
}

Test(io, udp4_sendto_recvfrom)
{
	dgram_round_trip(AF_INET);
}

Test(io, udp6_sendto_recvfrom)
{
	dgram_round_trip(AF_INET6);
}

Test(io, unix_dgram_sendto_recvfrom)
{
	dgram_round_trip(AF_UNIX);
}

Test(io, truncated_datagram_keeps_linux_semantics)
{
	struct sockaddr_storage sb;
	char buf[4];
	WSABUF one;
	DWORD n, flags;
	SOCKET a, b;
	int lb, err = 0;

	a = mk(AF_INET, SOCK_DGRAM, NB);
	b = mk(AF_INET, SOCK_DGRAM, NB);
	bind_loopback(b, AF_INET, &sb, &lb);
	one = (WSABUF){ 10, "0123456789" };
	cr_assert_eq(procs.lpWSPSendTo(a, &one, 1, &n, 0,
	    (struct sockaddr *)&sb, lb, NULL, NULL, NULL, &err), 0);
	wait_fd(kfd(b), POLLIN);
	one = (WSABUF){ sizeof(buf), buf };
	flags = 0;
	cr_assert_eq(procs.lpWSPRecv(b, &one, 1, &n, &flags, NULL, NULL, NULL,
	    &err), 0, "a truncated datagram is no error: %d", err);
	cr_expect_eq(n, 4);
	cr_expect_arr_eq(buf, "0123", 4);
	cr_expect(flags & MSG_TRUNC, "MSG_TRUNC comes back in *lpFlags");
	cl(a);
	cl(b);
}

Test(io, recv_flags_go_to_the_kernel)
{
	char buf[8];
	WSABUF one = { sizeof(buf), buf };
	DWORD n, flags;
	SOCKET a, b;
	int err = 0;

	conn_pair(AF_INET, SOCK_STREAM, &a, &b);
	send1(a, "peek", 4);
	wait_fd(kfd(b), POLLIN);
	flags = MSG_PEEK;
	cr_assert_eq(procs.lpWSPRecv(b, &one, 1, &n, &flags, NULL, NULL, NULL,
	    &err), 0);
	cr_expect_eq(n, 4);
	recv_exact(b, buf, 4);
	cr_expect_arr_eq(buf, "peek", 4);
	cl(a);
	cl(b);
}

Test(io, sendmsg_recvmsg_pass_descriptors)
{
	union {
		struct cmsghdr	h;
		char		buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct msghdr m;
	struct iovec iov;
	struct cmsghdr *cm;
	char c = 'x', got[4];
	DWORD n, flags;
	SOCKET a, b;
	int p[2], fd, err = 0;

	cr_assert_eq(pipe(p), 0);
	conn_pair(AF_UNIX, SOCK_STREAM, &a, &b);
	memset(&m, 0, sizeof(m));
	memset(&ctl, 0, sizeof(ctl));
	iov = (struct iovec){ &c, 1 };
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = ctl.buf;
	m.msg_controllen = sizeof(ctl.buf);
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &p[1], sizeof(int));
	cr_assert_eq(procs.lpWSPSendMsg(a, &m, 0, &n, &err), 0,
	    "sendmsg: %d", err);
	cr_expect_eq(n, 1);
	close(p[1]);

	wait_fd(kfd(b), POLLIN);
	memset(&ctl, 0, sizeof(ctl));
	c = 0;
	m.msg_controllen = sizeof(ctl.buf);
	flags = MSG_CMSG_CLOEXEC;
	cr_assert_eq(procs.lpWSPRecvMsg(b, &m, &flags, &n, &err), 0,
	    "recvmsg: %d", err);
	cr_expect_eq(n, 1);
	cr_expect_eq(c, 'x');
	cr_expect_not(flags & MSG_CTRUNC);
	cm = CMSG_FIRSTHDR(&m);
	cr_assert_not_null(cm);
	cr_assert_eq(cm->cmsg_type, SCM_RIGHTS);
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	cr_expect(fcntl(fd, F_GETFD) & FD_CLOEXEC, "flags reach recvmsg");
	cr_assert_eq(write(fd, "ok", 2), 2);
	close(fd);
	cr_assert_eq(read(p[0], got, sizeof(got)), 2);
	cr_expect_arr_eq(got, "ok", 2);
	close(p[0]);
	cl(a);
	cl(b);
}

Test(io, recvmsg_reports_ctrunc)
{
	union {
		struct cmsghdr	h;
		char		buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct msghdr m;
	struct iovec iov;
	struct cmsghdr *cm;
	char c = 'y';
	DWORD n, flags;
	SOCKET a, b;
	int err = 0;

	conn_pair(AF_UNIX, SOCK_STREAM, &a, &b);
	memset(&m, 0, sizeof(m));
	memset(&ctl, 0, sizeof(ctl));
	iov = (struct iovec){ &c, 1 };
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = ctl.buf;
	m.msg_controllen = sizeof(ctl.buf);
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &(int){ 0 }, sizeof(int));
	cr_assert_eq(procs.lpWSPSendMsg(a, &m, 0, &n, &err), 0);
	wait_fd(kfd(b), POLLIN);
	m.msg_control = NULL;
	m.msg_controllen = 0;
	flags = 0;
	cr_assert_eq(procs.lpWSPRecvMsg(b, &m, &flags, &n, &err), 0);
	cr_expect(flags & MSG_CTRUNC);
	cl(a);
	cl(b);
}

static int fake_recv_errno;

/* A recv() that fails with fake_recv_errno. */
static ssize_t
fake_recv(int fd, void *buf, size_t n, int flags)
{
	errno = fake_recv_errno;
	return -1;
}

Test(io, recv_errors_keep_the_native_errno)
{
	char c;
	WSABUF b = { 1, &c };
	DWORD n, flags = 0;
	SOCKET s = mk(AF_INET, SOCK_STREAM, 0);
	int err = 0;

	libc.recv = fake_recv;
	fake_recv_errno = EINTR;
	cr_expect_eq(procs.lpWSPRecv(s, &b, 1, &n, &flags, NULL, NULL, NULL,
	    &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEINTR);
	cr_expect_eq(errmap_errno_for(err), EINTR);
	fake_recv_errno = EPIPE;
	cr_expect_eq(procs.lpWSPRecv(s, &b, 1, &n, &flags, NULL, NULL, NULL,
	    &err), SOCKET_ERROR);
	cr_expect_eq(errmap_errno_for(err), EPIPE, "lossless pass-through");
	libc_reset();
	cl(s);
}

Test(io, success_leaves_errno_alone)
{
	char buf[4];
	WSABUF one;
	DWORD n, flags = 0;
	SOCKET a, b;
	int err = 0;

	conn_pair(AF_INET, SOCK_STREAM, &a, &b);
	errno = 4242;
	one = (WSABUF){ 3, "abc" };
	cr_assert_eq(procs.lpWSPSend(a, &one, 1, &n, 0, NULL, NULL, NULL,
	    &err), 0);
	wait_fd(kfd(b), POLLIN);
	errno = 4242;
	one = (WSABUF){ sizeof(buf), buf };
	cr_assert_eq(procs.lpWSPRecv(b, &one, 1, &n, &flags, NULL, NULL,
	    NULL, &err), 0);
	cr_expect_eq(errno, 4242);
	cl(a);
	cl(b);
}

Test(io, connect_refused_is_mapped)
{
	struct sockaddr_storage ss;
	SOCKET probe, s;
	int len, err = 0;

	/* A port that was just free. */
	probe = mk(AF_INET, SOCK_STREAM, 0);
	bind_loopback(probe, AF_INET, &ss, &len);
	cl(probe);
	s = mk(AF_INET, SOCK_STREAM, 0);
	cr_expect_eq(procs.lpWSPConnect(s, (struct sockaddr *)&ss, len, NULL,
	    NULL, NULL, NULL, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAECONNREFUSED);
	cr_expect_eq(errmap_errno_for(err), ECONNREFUSED);
	cl(s);
}

Test(io, connect_data_and_qos)
{
	struct sockaddr_storage ss;
	char data[4] = "hey";
	WSABUF caller = { 3, data }, callee = { 4, data }, none = { 0, NULL };
	QOS qos;
	SOCKET l, c;
	int len, err = 0, rc;

	listener(AF_INET, SOCK_STREAM, &l, &ss, &len);
	c = mk(AF_INET, SOCK_STREAM, NB);
	cr_expect_eq(procs.lpWSPConnect(c, (struct sockaddr *)&ss, len,
	    &caller, NULL, NULL, NULL, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEOPNOTSUPP, "no protocol carries connect data");
	/* Empty caller data, callee data and QoS are fine. */
	memset(&qos, 0, sizeof(qos));
	err = 0;
	rc = procs.lpWSPConnect(c, (struct sockaddr *)&ss, len, &none,
	    &callee, &qos, NULL, &err);
	cr_expect(rc == 0 || err == WSAEINPROGRESS, "connect: %d", err);
	cr_expect_eq(callee.len, 0, "no callee data came back");
	cl(c);
	cl(l);
}

/* ------------------------------------------------------------------ */
/* WSPAccept and WSPAccept4                                            */

Test(accept, plain_accept_gives_the_peer_address)
{
	struct sockaddr_storage ss, peer, mine;
	SOCKET l, c, a;
	int len, plen, mlen, err = 0, fd;

	listener(AF_INET, SOCK_STREAM, &l, &ss, &len);
	c = connector(AF_INET, SOCK_STREAM, &ss, len);
	wait_fd(kfd(l), POLLIN);
	plen = sizeof(peer);
	a = procs.lpWSPAccept(l, (struct sockaddr *)&peer, &plen, NULL, 0,
	    &err);
	cr_assert_neq(a, INVALID_SOCKET, "accept: %d", err);
	mlen = sizeof(mine);
	cr_assert_eq(procs.lpWSPGetSockName(c, (struct sockaddr *)&mine,
	    &mlen, &err), 0);
	cr_expect_eq(plen, mlen);
	cr_expect_arr_eq(&peer, &mine, (size_t)mlen);
	fd = kfd(a);
	cr_expect_not(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	cr_expect_not(fcntl(fd, F_GETFL) & O_NONBLOCK,
	    "plain accept() takes no flags");
	cr_expect_eq(handle_catalog_id(a), handle_catalog_id(l));
	cl(a);
	cl(c);
	cl(l);
}

Test(accept, accept4_applies_flags)
{
	static const DWORD fl[] = { 0, NB, NOINHERIT, NB | NOINHERIT };
	struct sockaddr_storage ss;
	SOCKET l, c[4], a;
	size_t i;
	int len, err = 0, fd;

	listener(AF_INET6, SOCK_STREAM, &l, &ss, &len);
	for (i = 0; i < 4; i++) {
		c[i] = connector(AF_INET6, SOCK_STREAM, &ss, len);
		wait_fd(kfd(l), POLLIN);
		a = procs.lpWSPAccept4(l, NULL, NULL, fl[i], &err);
		cr_assert_neq(a, INVALID_SOCKET, "accept4: %d", err);
		fd = kfd(a);
		cr_expect_eq(!!(fcntl(fd, F_GETFL) & O_NONBLOCK),
		    !!(fl[i] & NB), "flags %#x", fl[i]);
		cr_expect_eq(!!(fcntl(fd, F_GETFD) & FD_CLOEXEC),
		    !!(fl[i] & NOINHERIT), "flags %#x", fl[i]);
		cl(a);
		cl(c[i]);
	}
	cl(l);
}

Test(accept, accept4_unknown_flags_are_einval)
{
	SOCKET l = mk(AF_INET, SOCK_STREAM, NB);
	int err = 0;

	cr_expect_eq(procs.lpWSPAccept4(l, NULL, NULL, WSA_FLAG_OVERLAPPED,
	    &err), INVALID_SOCKET);
	cr_expect_eq(err, WSAEINVAL);
	cr_expect_eq(procs.lpWSPAccept4(l, NULL, NULL, 0x100000, &err),
	    INVALID_SOCKET);
	cr_expect_eq(err, WSAEINVAL);
	cl(l);
}

Test(accept, nothing_pending_would_block)
{
	struct sockaddr_storage ss;
	SOCKET l;
	int len, err = 0;

	listener(AF_INET, SOCK_STREAM, &l, &ss, &len);
	cr_expect_eq(procs.lpWSPAccept(l, NULL, NULL, NULL, 0, &err),
	    INVALID_SOCKET);
	cr_expect_eq(err, WSAEWOULDBLOCK);
	cl(l);
}

static struct {
	int			answer;
	int			calls;
	struct sockaddr_storage	caller, callee;
	ULONG			caller_len, callee_len;
	DWORD_PTR		data;
	int			got_data, got_qos;
} cond;

/* A condition function that records what it saw and answers
 * cond.answer. */
static INT WSAAPI
condition(LPWSABUF lpCallerId, LPWSABUF lpCallerData, LPQOS lpSQOS,
    LPQOS lpGQOS, LPWSABUF lpCalleeId, LPWSABUF lpCalleeData, GROUP *g,
    DWORD_PTR dwCallbackData)
{
	cond.calls++;
	cond.data = dwCallbackData;
	cond.got_data = lpCallerData != NULL || lpCalleeData != NULL;
	cond.got_qos = lpSQOS != NULL || lpGQOS != NULL;
	if (lpCallerId != NULL) {
		cond.caller_len = lpCallerId->len;
		memcpy(&cond.caller, lpCallerId->buf, lpCallerId->len);
	}
	if (lpCalleeId != NULL) {
		cond.callee_len = lpCalleeId->len;
		memcpy(&cond.callee, lpCalleeId->buf, lpCalleeId->len);
	}
	return cond.answer;
}

/* The accept of one connection to a fresh TCP listener through the
 * condition function answering answer; *client gets the client. */
static SOCKET
accept_with(int answer, SOCKET *client, int *err,
    struct sockaddr_storage *lname, struct sockaddr_storage *peer,
    int *peerlen)
{
	struct sockaddr_storage ss;
	SOCKET l, a;
	int len;

	memset(&cond, 0, sizeof(cond));
	cond.answer = answer;
	listener(AF_INET, SOCK_STREAM, &l, &ss, &len);
	*lname = ss;
	*client = connector(AF_INET, SOCK_STREAM, &ss, len);
	wait_fd(kfd(l), POLLIN);
	a = procs.lpWSPAccept(l, (struct sockaddr *)peer, peerlen, condition,
	    0xfeed, err);
	cl(l);
	return a;
}

Test(accept, condition_accepts)
{
	struct sockaddr_storage lname, peer, cname;
	SOCKET a, c;
	int plen = sizeof(peer), clen = sizeof(cname), err = 0;

	a = accept_with(CF_ACCEPT, &c, &err, &lname, &peer, &plen);
	cr_assert_neq(a, INVALID_SOCKET, "accept: %d", err);
	cr_expect_eq(cond.calls, 1);
	cr_expect_eq(cond.data, 0xfeed);
	cr_expect_not(cond.got_data);
	cr_expect_not(cond.got_qos);
	cr_assert_eq(procs.lpWSPGetSockName(c, (struct sockaddr *)&cname,
	    &clen, &err), 0);
	cr_expect_eq(cond.caller_len, (ULONG)clen);
	cr_expect_arr_eq(&cond.caller, &cname, (size_t)clen,
	    "the caller id is the peer address");
	cr_expect_eq(cond.callee_len, sizeof(struct sockaddr_in));
	cr_expect_arr_eq(&cond.callee, &lname, sizeof(struct sockaddr_in),
	    "the callee id is the local address");
	cr_expect_eq(plen, clen);
	cr_expect_arr_eq(&peer, &cname, (size_t)clen);
	/* And the connection works. */
	send1(c, "ok", 2);
	recv_exact(a, &peer, 2);
	cl(a);
	cl(c);
}

Test(accept, condition_rejects)
{
	struct sockaddr_storage lname, peer;
	char buf[4];
	WSABUF b = { sizeof(buf), buf };
	DWORD n, flags = 0;
	SOCKET a, c;
	int plen = sizeof(peer), err = 0;

	a = accept_with(CF_REJECT, &c, &err, &lname, &peer, &plen);
	cr_expect_eq(a, INVALID_SOCKET);
	cr_expect_eq(err, WSAECONNREFUSED);
	cr_expect_eq(cond.calls, 1);
	/* The client sees the connection reset. */
	wait_fd(kfd(c), POLLIN);
	err = 0;
	cr_expect_eq(procs.lpWSPRecv(c, &b, 1, &n, &flags, NULL, NULL, NULL,
	    &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAECONNRESET);
	cl(c);
}

Test(accept, condition_defers)
{
	struct sockaddr_storage lname, peer;
	SOCKET a, c;
	int plen = sizeof(peer), err = 0;

	a = accept_with(CF_DEFER, &c, &err, &lname, &peer, &plen);
	cr_expect_eq(a, INVALID_SOCKET);
	cr_expect_eq(err, WSATRY_AGAIN);
	cr_expect_eq(cond.calls, 1);
	cl(c);
}

Test(accept, condition_with_bad_answer_is_einval)
{
	struct sockaddr_storage lname, peer;
	SOCKET a, c;
	int plen = sizeof(peer), err = 0;

	a = accept_with(77, &c, &err, &lname, &peer, &plen);
	cr_expect_eq(a, INVALID_SOCKET);
	cr_expect_eq(err, WSAEINVAL);
	cl(c);
}

Test(accept, short_address_buffer_keeps_linux_semantics)
{
	struct sockaddr_storage ss;
	char small[4];
	SOCKET l, c, c2, a;
	int len, slen = sizeof(small), err = 0;

	listener(AF_INET, SOCK_STREAM, &l, &ss, &len);
	c = connector(AF_INET, SOCK_STREAM, &ss, len);
	wait_fd(kfd(l), POLLIN);
	a = procs.lpWSPAccept(l, (struct sockaddr *)small, &slen, NULL, 0,
	    &err);
	cr_assert_neq(a, INVALID_SOCKET, "accept: %d", err);
	cr_expect_eq(slen, sizeof(struct sockaddr_in),
	    "the full length, as accept(2) reports it");
	/* A negative length is the kernel's to refuse: EINVAL, once a
	 * connection is there, as accept(2) does. */
	c2 = connector(AF_INET, SOCK_STREAM, &ss, len);
	wait_fd(kfd(l), POLLIN);
	err = 0;
	slen = -1;
	cr_expect_eq(procs.lpWSPAccept(l, (struct sockaddr *)small, &slen,
	    NULL, 0, &err), INVALID_SOCKET);
	cr_expect_eq(err, WSAEINVAL);
	cl(a);
	cl(c);
	cl(c2);
	cl(l);
}

/* ------------------------------------------------------------------ */
/* Socket options and names                                            */

Test(opts, protocol_info_w_is_the_entry)
{
	const struct catalog *c = catalog_builtin();
	WSAPROTOCOL_INFOW got, want;
	SOCKET s;
	size_t i;
	int len, err = 0;

	libc.socket = fake_socket;	/* raw entries too */
	for (i = 0; i < c->count; i++) {
		want = c->entries[i].info;
		s = procs.lpWSPSocket(0, 0, proto_for(&want), &want, 0, 0,
		    &err);
		cr_assert_neq(s, INVALID_SOCKET);
		len = sizeof(got);
		memset(&got, 0xa5, sizeof(got));
		cr_assert_eq(procs.lpWSPGetSockOpt(s, SOL_SOCKET,
		    SO_PROTOCOL_INFOW, (char *)&got, &len, &err), 0);
		cr_expect_eq(len, sizeof(WSAPROTOCOL_INFOW));
		cr_expect_arr_eq(&got, &want, sizeof(want), "entry %u",
		    want.dwCatalogEntryId);
		cl(s);
	}
}

Test(opts, protocol_info_a_is_the_entry)
{
	WSAPROTOCOL_INFOW w = *entry(AF_INET6, SOCK_DGRAM);
	WSAPROTOCOL_INFOA got, want;
	SOCKET s;
	int len = sizeof(got), err = 0;

	s = mk(AF_INET6, SOCK_DGRAM, 0);
	catalog_info_to_a(&w, &want);
	memset(&got, 0xa5, sizeof(got));
	cr_assert_eq(procs.lpWSPGetSockOpt(s, SOL_SOCKET, SO_PROTOCOL_INFOA,
	    (char *)&got, &len, &err), 0);
	cr_expect_eq(len, sizeof(WSAPROTOCOL_INFOA));
	cr_expect_arr_eq(&got, &want, sizeof(want));
	cr_expect_str_eq(got.szProtocol, want.szProtocol);
	cr_expect_gt(strlen(got.szProtocol), 0);
	cl(s);
}

Test(opts, protocol_info_short_optlen_is_efault)
{
	WSAPROTOCOL_INFOW w;
	SOCKET s = mk(AF_INET, SOCK_STREAM, 0);
	int len, err;

	len = sizeof(w) - 1;
	err = 0;
	cr_expect_eq(procs.lpWSPGetSockOpt(s, SOL_SOCKET, SO_PROTOCOL_INFOW,
	    (char *)&w, &len, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEFAULT);
	cr_expect_eq(len, sizeof(WSAPROTOCOL_INFOW));
	len = 4;
	err = 0;
	cr_expect_eq(procs.lpWSPGetSockOpt(s, SOL_SOCKET, SO_PROTOCOL_INFOA,
	    (char *)&w, &len, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEFAULT);
	cr_expect_eq(len, sizeof(WSAPROTOCOL_INFOA));
	len = sizeof(w);
	cr_expect_eq(procs.lpWSPGetSockOpt(s, SOL_SOCKET, SO_PROTOCOL_INFOW,
	    NULL, &len, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEFAULT);
	cr_expect_eq(procs.lpWSPGetSockOpt(s, SOL_SOCKET, SO_PROTOCOL_INFOW,
	    (char *)&w, NULL, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEFAULT);
	cl(s);
}

Test(opts, other_options_reach_the_kernel)
{
	SOCKET s = mk(AF_INET, SOCK_STREAM, 0);
	int v, len = sizeof(v), err = 0, one = 1;

	cr_assert_eq(procs.lpWSPGetSockOpt(s, SOL_SOCKET, SO_TYPE,
	    (char *)&v, &len, &err), 0);
	cr_expect_eq(v, SOCK_STREAM);
	cr_expect_eq(len, sizeof(int));
	cr_assert_eq(procs.lpWSPSetSockOpt(s, IPPROTO_TCP, TCP_NODELAY,
	    (char *)&one, sizeof(one), &err), 0);
	cr_expect_eq(sockopt_int(kfd(s), IPPROTO_TCP, TCP_NODELAY), 1);
	len = sizeof(v);
	cr_expect_eq(procs.lpWSPGetSockOpt(s, SOL_SOCKET, 0x7777,
	    (char *)&v, &len, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAENOPROTOOPT);
	/* The protocol struct cannot be set. */
	cr_expect_eq(procs.lpWSPSetSockOpt(s, SOL_SOCKET, SO_PROTOCOL_INFOW,
	    (char *)&v, sizeof(v), &err), SOCKET_ERROR);
	cl(s);
}

Test(opts, peer_and_sock_names)
{
	struct sockaddr_storage x, y;
	SOCKET a, b;
	int xl = sizeof(x), yl = sizeof(y), err = 0;

	conn_pair(AF_INET, SOCK_STREAM, &a, &b);
	cr_assert_eq(procs.lpWSPGetSockName(a, (struct sockaddr *)&x, &xl,
	    &err), 0);
	cr_assert_eq(procs.lpWSPGetPeerName(b, (struct sockaddr *)&y, &yl,
	    &err), 0);
	cr_expect_eq(xl, yl);
	cr_expect_arr_eq(&x, &y, (size_t)xl);
	cr_expect_eq(procs.lpWSPGetPeerName(a, NULL, &xl, &err),
	    SOCKET_ERROR);
	cr_expect_eq(err, WSAEFAULT);
	cl(a);
	cl(b);
	a = mk(AF_INET, SOCK_STREAM, 0);
	xl = sizeof(x);
	cr_expect_eq(procs.lpWSPGetPeerName(a, (struct sockaddr *)&x, &xl,
	    &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAENOTCONN);
	cl(a);
}

/* ------------------------------------------------------------------ */
/* WSPIoctl                                                            */

/* WSPIoctl without overlapped I/O. */
static int
ioc(SOCKET s, DWORD code, void *in, DWORD cbin, void *out, DWORD cbout,
    DWORD *ret, int *err)
{
	return procs.lpWSPIoctl(s, code, in, cbin, out, cbout, ret, NULL,
	    NULL, NULL, err);
}

Test(ioctl, fionbio_sets_and_clears_o_nonblock)
{
	SOCKET s = mk(AF_INET, SOCK_STREAM, 0);
	unsigned long ul;
	DWORD ret;
	int v, err = 0, fd = kfd(s);

	v = 1;
	cr_assert_eq(ioc(s, FIONBIO, &v, sizeof(v), NULL, 0, &ret, &err), 0);
	cr_expect(fcntl(fd, F_GETFL) & O_NONBLOCK);
	cr_expect_eq(ret, 0);
	v = 0;
	cr_assert_eq(ioc(s, FIONBIO, &v, sizeof(v), NULL, 0, &ret, &err), 0);
	cr_expect_not(fcntl(fd, F_GETFL) & O_NONBLOCK);
	/* A Winsock u_long ported to LP64 is 8 bytes wide. */
	ul = 1ul << 40;
	cr_assert_eq(ioc(s, FIONBIO, &ul, sizeof(ul), NULL, 0, &ret, &err),
	    0);
	cr_expect(fcntl(fd, F_GETFL) & O_NONBLOCK);
	cr_expect_eq(ioc(s, FIONBIO, &v, 2, NULL, 0, &ret, &err),
	    SOCKET_ERROR);
	cr_expect_eq(err, WSAEFAULT);
	cr_expect_eq(ioc(s, FIONBIO, NULL, 4, NULL, 0, &ret, &err),
	    SOCKET_ERROR);
	cr_expect_eq(err, WSAEFAULT);
	cl(s);
}

Test(ioctl, fionread_counts_pending_bytes)
{
	SOCKET a, b;
	unsigned long ul = ~0ul;
	DWORD ret;
	int v = -1, err = 0;

	conn_pair(AF_INET, SOCK_STREAM, &a, &b);
	cr_assert_eq(ioc(b, FIONREAD, NULL, 0, &v, sizeof(v), &ret, &err), 0);
	cr_expect_eq(v, 0);
	cr_expect_eq(ret, sizeof(int));
	send1(a, "12345", 5);
	wait_fd(kfd(b), POLLIN);
	cr_assert_eq(ioc(b, FIONREAD, NULL, 0, &v, sizeof(v), &ret, &err), 0);
	cr_expect_eq(v, 5);
	cr_assert_eq(ioc(b, FIONREAD, NULL, 0, &ul, sizeof(ul), &ret, &err),
	    0);
	cr_expect_eq(ul, 5, "an 8-byte buffer gets the whole value");
	cr_expect_eq(ret, sizeof(ul));
	cr_expect_eq(ioc(b, FIONREAD, NULL, 0, &v, 3, &ret, &err),
	    SOCKET_ERROR);
	cr_expect_eq(err, WSAEFAULT);
	cl(a);
	cl(b);
}

Test(ioctl, siocatmark_is_the_kernel_s_answer)
{
	WSABUF one = { 1, "!" };
	SOCKET a, b;
	DWORD ret, n;
	int v = -1, err = 0;
	char buf[2];

	conn_pair(AF_INET, SOCK_STREAM, &a, &b);
	cr_assert_eq(ioc(b, SIOCATMARK, NULL, 0, &v, sizeof(v), &ret, &err),
	    0);
	cr_expect_eq(v, 0, "Linux: not at a mark when there is none");
	send1(a, "ab", 2);
	cr_assert_eq(procs.lpWSPSend(a, &one, 1, &n, MSG_OOB, NULL, NULL,
	    NULL, &err), 0);
	wait_fd(kfd(b), POLLPRI);
	recv_exact(b, buf, 2);
	cr_assert_eq(ioc(b, SIOCATMARK, NULL, 0, &v, sizeof(v), &ret, &err),
	    0);
	cr_expect_eq(v, 1, "at the mark after the data before it");
	cl(a);
	cl(b);
}

Test(ioctl, base_and_bsp_handles)
{
	SOCKET s = mk(AF_INET, SOCK_DGRAM, 0), h = 0;
	DWORD ret = 0;
	int fd = -1, err = 0;

	cr_assert_eq(ioc(s, SIO_BASE_HANDLE, NULL, 0, &fd, sizeof(fd), &ret,
	    &err), 0);
	cr_expect_eq(fd, base_kernel_fd(s));
	cr_expect_eq(ret, sizeof(int));
	cr_expect_eq(sockopt_int(fd, SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
	cr_assert_eq(ioc(s, SIO_BSP_HANDLE, NULL, 0, &h, sizeof(h), &ret,
	    &err), 0);
	cr_expect_eq(h, s);
	cr_expect_eq(ret, sizeof(SOCKET));
	cr_expect_eq(ioc(s, SIO_BSP_HANDLE, NULL, 0, &fd, sizeof(fd), &ret,
	    &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEFAULT);
	cr_expect_eq(ioc(s, SIO_BASE_HANDLE, NULL, 0, NULL, 8, &ret, &err),
	    SOCKET_ERROR);
	cr_expect_eq(err, WSAEFAULT);
	cl(s);
}

Test(ioctl, unknown_code_is_einval)
{
	SOCKET s = mk(AF_INET, SOCK_DGRAM, 0);
	char buf[64];
	DWORD ret;
	int err = 0;

	cr_expect_eq(ioc(s, 0x48000099, NULL, 0, buf, sizeof(buf), &ret,
	    &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEINVAL);
	err = 0;
	cr_expect_eq(ioc(s, SIOCGIFCONF, buf, sizeof(buf), buf, sizeof(buf),
	    &ret, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEINVAL);
	cl(s);
}

Test(ioctl, non_overlapped_socket_ignores_ov_and_missing_count)
{
	SOCKET s = mk(AF_INET, SOCK_DGRAM, 0);
	WSAOVERLAPPED ov;
	DWORD ret;
	int fd, err = 0;

	/* Not an overlapped socket: ov is ignored. */
	memset(&ov, 0, sizeof(ov));
	ov.InternalHigh = 77;
	cr_expect_eq(procs.lpWSPIoctl(s, SIO_BASE_HANDLE, NULL, 0, &fd,
	    sizeof(fd), &ret, &ov, NULL, NULL, &err), 0);
	cr_expect_eq(ov.InternalHigh, 77);
	err = 0;
	cr_expect_eq(ioc(s, SIO_BASE_HANDLE, NULL, 0, &fd, sizeof(fd), NULL,
	    &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEFAULT);
	cl(s);
}

/* ------------------------------------------------------------------ */
/* Handles                                                              */

/* Nothing: expects every socket operation on s to give WSAENOTSOCK. */
static void
all_notsock(SOCKET s)
{
	struct sockaddr_storage ss;
	WSAPROTOCOL_INFOW info;
	struct msghdr m;
	char c;
	WSABUF b = { 1, &c };
	DWORD n, flags = 0;
	int len = sizeof(ss), err, v = 0;

#define NOTSOCK(call) do {						\
	err = 0;							\
	cr_expect_eq((long long)(call), (long long)SOCKET_ERROR, #call);\
	cr_expect_eq(err, WSAENOTSOCK, #call);				\
} while (0)
	memset(&ss, 0, sizeof(ss));
	memset(&m, 0, sizeof(m));
	NOTSOCK(procs.lpWSPBind(s, (struct sockaddr *)&ss, len, &err));
	NOTSOCK(procs.lpWSPConnect(s, (struct sockaddr *)&ss, len, NULL,
	    NULL, NULL, NULL, &err));
	NOTSOCK(procs.lpWSPListen(s, 1, &err));
	NOTSOCK(procs.lpWSPAccept(s, NULL, NULL, NULL, 0, &err));
	NOTSOCK(procs.lpWSPAccept4(s, NULL, NULL, 0, &err));
	NOTSOCK(procs.lpWSPSend(s, &b, 1, &n, 0, NULL, NULL, NULL, &err));
	NOTSOCK(procs.lpWSPSendTo(s, &b, 1, &n, 0, NULL, 0, NULL, NULL, NULL,
	    &err));
	NOTSOCK(procs.lpWSPRecv(s, &b, 1, &n, &flags, NULL, NULL, NULL,
	    &err));
	NOTSOCK(procs.lpWSPRecvFrom(s, &b, 1, &n, &flags, NULL, NULL, NULL,
	    NULL, NULL, &err));
	NOTSOCK(procs.lpWSPSendMsg(s, &m, 0, &n, &err));
	NOTSOCK(procs.lpWSPRecvMsg(s, &m, &flags, &n, &err));
	NOTSOCK(procs.lpWSPSendFile(s, 0, NULL, 1, &n, &err));
	NOTSOCK(procs.lpWSPSplice(s, 0, WSPSHIM_SPLICE_TO_SOCKET, 1, 0, &n,
	    &err));
	NOTSOCK(procs.lpWSPShutdown(s, SHUT_RDWR, &err));
	NOTSOCK(procs.lpWSPGetSockName(s, (struct sockaddr *)&ss, &len,
	    &err));
	NOTSOCK(procs.lpWSPGetPeerName(s, (struct sockaddr *)&ss, &len,
	    &err));
	len = sizeof(v);
	NOTSOCK(procs.lpWSPGetSockOpt(s, SOL_SOCKET, SO_TYPE, (char *)&v,
	    &len, &err));
	NOTSOCK(procs.lpWSPSetSockOpt(s, SOL_SOCKET, SO_KEEPALIVE,
	    (char *)&v, sizeof(v), &err));
	NOTSOCK(procs.lpWSPIoctl(s, SIO_BASE_HANDLE, NULL, 0, &v, sizeof(v),
	    &n, NULL, NULL, NULL, &err));
	NOTSOCK(procs.lpWSPDuplicateSocket(s, (DWORD)getpid(), &info, &err));
	NOTSOCK(procs.lpWSPJoinLeaf(s, (struct sockaddr *)&ss, len, NULL,
	    NULL, NULL, NULL, JL_BOTH, &err));
	NOTSOCK(procs.lpWSPCloseSocket(s, &err));
#undef NOTSOCK
	cr_expect_eq(base_kernel_fd(s), -1);
}

Test(handles, closed_handle_is_notsock_everywhere)
{
	SOCKET s = mk(AF_INET, SOCK_STREAM, 0);

	cl(s);
	all_notsock(s);
}

Test(handles, close_closes_the_descriptor_once)
{
	SOCKET s = mk(AF_INET, SOCK_STREAM, 0);
	int fd = kfd(s), err = 0;

	cr_assert(is_open(fd));
	cl(s);
	cr_expect_not(is_open(fd));
	cr_expect_eq(procs.lpWSPCloseSocket(s, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAENOTSOCK);
}

Test(handles, garbage_handles_are_notsock)
{
	all_notsock(0);
	all_notsock(3);
	all_notsock(INVALID_SOCKET);
	all_notsock(HANDLE_MIN);
	all_notsock(HANDLE_MIN + 4);
}

Test(handles, foreign_handles_are_notsock)
{
	static int layer_ctx;
	SOCKET mine, pointer_ctx, index_ctx;
	int err = 0;

	/* A layer's handles in the same table, with any context. */
	mine = mk(AF_INET, SOCK_STREAM, 0);
	pointer_ctx = handle_create(4242, (DWORD_PTR)&layer_ctx, &err);
	index_ctx = handle_create(4243, 1, &err);
	cr_assert_neq(pointer_ctx, INVALID_SOCKET);
	cr_assert_neq(index_ctx, INVALID_SOCKET);
	all_notsock(pointer_ctx);
	all_notsock(index_ctx);
	cr_expect_geq(base_kernel_fd(mine), 0, "ours still works");
	cl(mine);
}

Test(handles, set_fd_repoints_the_socket)
{
	SOCKET s = mk(AF_INET, SOCK_DGRAM, 0);
	int fd = kfd(s), nfd, got = -1, err = 0;
	DWORD ret;

	/* The core's move when the program closes the original of a dup. */
	nfd = dup(fd);
	cr_assert_geq(nfd, 0);
	close(fd);
	base_set_fd(s, nfd);
	cr_expect_eq(base_kernel_fd(s), nfd);
	cr_assert_eq(ioc(s, SIO_BASE_HANDLE, NULL, 0, &got, sizeof(got), &ret,
	    &err), 0);
	cr_expect_eq(got, nfd);
	cr_expect_eq(sockopt_int(nfd, SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
	cl(s);
	cr_expect_not(is_open(nfd), "close follows the new descriptor");
}

Test(handles, detach_skips_the_close)
{
	SOCKET s = mk(AF_INET, SOCK_DGRAM, 0);
	int fd = kfd(s), other;

	/* dup2() over the socket's descriptor: the kernel closed it and
	 * the number now names another file. */
	other = open("/dev/null", O_RDONLY);
	cr_assert_geq(other, 0);
	cr_assert_eq(dup2(other, fd), fd);
	close(other);
	base_detach(s);
	cl(s);
	cr_expect(is_open(fd), "a detached socket closes nothing");
	close(fd);
}

Test(handles, set_fd_and_detach_ignore_stale_handles)
{
	SOCKET s = mk(AF_INET, SOCK_DGRAM, 0);

	cl(s);
	base_set_fd(s, 1);
	base_detach(s);
	base_set_fd(0, 1);
	base_detach(INVALID_SOCKET);
	cr_expect_eq(base_kernel_fd(s), -1);
}

/*
 * The struct of the catalog in force, as a layer passes it down (the
 * base's inline path): the same checks, answers and socket as a copy.
 */
Test(socket, catalog_struct_is_checked_as_a_copy)
{
	LPWSAPROTOCOL_INFOW tcp = (LPWSAPROTOCOL_INFOW)(uintptr_t)
	    entry(AF_INET, SOCK_STREAM);
	WSAPROTOCOL_INFOW got;
	SOCKET s;
	int err, len = sizeof(got);

	cr_assert(catalog_owns(catalog_current(), tcp));
	err = 0;
	cr_expect_eq(procs.lpWSPSocket(AF_INET, SOCK_DGRAM, 0, tcp, 0, 0,
	    &err), INVALID_SOCKET);
	cr_expect_eq(err, WSAESOCKTNOSUPPORT);
	err = 0;
	cr_expect_eq(procs.lpWSPSocket(AF_INET6, SOCK_STREAM, 0, tcp, 0, 0,
	    &err), INVALID_SOCKET);
	cr_expect_eq(err, WSAEAFNOSUPPORT);
	err = 0;
	cr_expect_eq(procs.lpWSPSocket(AF_INET, SOCK_STREAM, IPPROTO_UDP, tcp,
	    0, 0, &err), INVALID_SOCKET);
	cr_expect_eq(err, WSAEPROTONOSUPPORT);
	err = 0;
	cr_expect_eq(procs.lpWSPSocket(0, 0, 0, tcp, 7, 0, &err),
	    INVALID_SOCKET);
	cr_expect_eq(err, WSAEINVAL, "a group");
	err = 0;
	cr_expect_eq(procs.lpWSPSocket(0, 0, 0, tcp, 0, 0x200, &err),
	    INVALID_SOCKET);
	cr_expect_eq(err, WSAEINVAL, "an unknown flag");
	err = 0;
	cr_expect_eq(procs.lpWSPSocket(0, 0, 0, tcp, 0, CR | DR, &err),
	    INVALID_SOCKET);
	cr_expect_eq(err, WSAEINVAL, "multipoint on TCP");
	s = procs.lpWSPSocket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0, tcp, 0,
	    NB | WSA_FLAG_OVERLAPPED, &err);
	cr_assert_neq(s, INVALID_SOCKET, "%d", err);
	cr_expect(fcntl(kfd(s), F_GETFL) & O_NONBLOCK);
	cr_expect(fcntl(kfd(s), F_GETFD) & FD_CLOEXEC, "type's flag bits");
	cr_assert_eq(procs.lpWSPGetSockOpt(s, SOL_SOCKET, SO_PROTOCOL_INFOW,
	    (char *)&got, &len, &err), 0);
	cr_expect_arr_eq(&got, tcp, sizeof(got));
	cl(s);
}

/* The record the core reads instead of asking down the chain: the socket
 * made last and its descriptor, forgotten once that socket is closed or
 * released on this thread. */
Test(handles, made_record_names_the_last_socket)
{
	SOCKET a, b;
	unsigned made = wsp_tls.made;

	a = mk(AF_INET, SOCK_STREAM, 0);
	cr_expect_eq(wsp_tls.made - made, 1);
	cr_expect_eq(wsp_tls.made_base, a);
	cr_expect_eq(base_made_fd, kfd(a));
	b = mk(AF_INET, SOCK_DGRAM, 0);
	cr_expect_eq(wsp_tls.made_base, b);
	cr_expect_eq(base_made_fd, kfd(b));
	cl(a);
	cr_expect_eq(wsp_tls.made_base, b, "an older socket's close");
	cl(b);
	cr_expect_eq(wsp_tls.made_base, INVALID_SOCKET);
	a = mk(AF_INET, SOCK_STREAM, 0);
	cr_expect_eq(wsp_tls.made_base, a);
	close(kfd(a));
	base_release(a);
	cr_expect_eq(wsp_tls.made_base, INVALID_SOCKET, "released");
}

/* A socket closed and made again in turn reuses the thread's spare
 * struct: the old handle stays stale, the new one works. */
Test(handles, reused_struct_keeps_old_handles_stale)
{
	SOCKET s, old;
	int i, err;

	old = mk(AF_INET, SOCK_DGRAM, 0);
	cl(old);
	for (i = 0; i < 64; i++) {
		s = mk(AF_INET, SOCK_DGRAM, 0);
		cr_expect_neq(s, old);
		cr_expect_eq(base_kernel_fd(old), -1);
		err = 0;
		cr_expect_eq(procs.lpWSPCloseSocket(old, &err), SOCKET_ERROR);
		cr_expect_eq(err, WSAENOTSOCK);
		cr_expect_geq(kfd(s), 0);
		cl(s);
		old = s;
	}
}

#define SPARE_THREADS	4
#define SPARE_ROUNDS	2000

struct spare_arg {
	SOCKET	seen[SPARE_ROUNDS];	/* every handle this thread made */
	int	last;			/* how many of seen[] are closed */
	int	bad;			/* checks that failed */
};

static struct spare_arg spare_args[SPARE_THREADS];

/* Each thread makes and closes sockets in turn (its spare struct going
 * round), checking that its handles name its own descriptor and that
 * closed ones, its own and the other threads', are refused. */
static void *
spare_thread(void *p)
{
	struct spare_arg *a = p, *o;
	SOCKET s;
	int i, fd, err, t;

	for (i = 0; i < SPARE_ROUNDS; i++) {
		err = 0;
		s = procs.lpWSPSocket(AF_INET, SOCK_DGRAM, 0,
		    (LPWSAPROTOCOL_INFOW)(uintptr_t)entry(AF_INET, SOCK_DGRAM),
		    0, 0, &err);
		if (s == INVALID_SOCKET) {
			a->bad++;
			continue;
		}
		fd = base_made_fd;
		if (base_kernel_fd(s) != fd || fcntl(fd, F_GETFD) < 0)
			a->bad++;
		/* Another thread's closed handle (its struct may be ours
		 * now) is refused. */
		o = &spare_args[(a - spare_args + 1) % SPARE_THREADS];
		if (i > 0 && (t = __atomic_load_n(&o->last, __ATOMIC_ACQUIRE))
		    != 0 && base_kernel_fd(o->seen[t - 1]) != -1)
			a->bad++;
		if (procs.lpWSPCloseSocket(s, &err) != 0)
			a->bad++;
		if (base_kernel_fd(s) != -1 ||
		    procs.lpWSPCloseSocket(s, &err) != SOCKET_ERROR ||
		    err != WSAENOTSOCK)
			a->bad++;
		a->seen[i] = s;
		__atomic_store_n(&a->last, i + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* qsort's order for handles. */
static int
handle_cmp(const void *a, const void *b)
{
	SOCKET x = *(const SOCKET *)a, y = *(const SOCKET *)b;

	return x < y ? -1 : x > y;
}

Test(handles, threads_with_spares_never_share_a_live_struct)
{
	static SOCKET all[SPARE_THREADS * SPARE_ROUNDS];
	pthread_t th[SPARE_THREADS];
	SOCKET s;
	int i, j, n = 0;

	for (i = 0; i < SPARE_THREADS; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, spare_thread,
		    &spare_args[i]), 0);
	for (i = 0; i < SPARE_THREADS; i++)
		cr_assert_eq(pthread_join(th[i], NULL), 0);
	for (i = 0; i < SPARE_THREADS; i++) {
		cr_expect_eq(spare_args[i].bad, 0, "thread %d", i);
		for (j = 0; j < SPARE_ROUNDS; j++) {
			s = all[n++] = spare_args[i].seen[j];
			cr_expect_eq(base_kernel_fd(s), -1);
		}
	}
	qsort(all, (size_t)n, sizeof(all[0]), handle_cmp);
	for (i = 1; i < n; i++)
		cr_assert_neq(all[i - 1], all[i], "a handle made twice");
	/* The exited threads' spares went back to the pool: a new socket
	 * still works. */
	s = mk(AF_INET, SOCK_DGRAM, 0);
	cl(s);
}

/* ------------------------------------------------------------------ */
/* Duplicate-socket tokens                                             */

Test(dup, token_makes_a_sharing_socket)
{
	WSAPROTOCOL_INFOW tok, want = *entry(AF_INET, SOCK_STREAM);
	SOCKET a, b, d;
	char buf[4];
	int err = 0;

	conn_pair(AF_INET, SOCK_STREAM, &a, &b);
	cr_assert_eq(procs.lpWSPDuplicateSocket(a, (DWORD)getpid(), &tok,
	    &err), 0, "dup: %d", err);
	cr_expect(base_is_token(&tok));
	cr_expect_arr_eq(&tok, &want, offsetof(WSAPROTOCOL_INFOW,
	    dwProviderReserved), "the struct is the socket's entry");
	cr_expect_arr_eq(tok.szProtocol, want.szProtocol,
	    sizeof(want.szProtocol));
	d = procs.lpWSPSocket(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO,
	    FROM_PROTOCOL_INFO, &tok, 0, 0, &err);
	cr_assert_neq(d, INVALID_SOCKET, "socket from token: %d", err);
	cr_expect_neq(d, a);
	cr_expect_neq(base_kernel_fd(d), kfd(a));
	cr_expect_eq(inode(kfd(d)), inode(kfd(a)), "the same socket");
	send1(d, "dup", 3);
	recv_exact(b, buf, 3);
	cr_expect_arr_eq(buf, "dup", 3);
	cl(d);
	cl(a);
	cl(b);
}

Test(dup, token_is_one_shot)
{
	WSAPROTOCOL_INFOW tok;
	SOCKET s, d;
	int err = 0;

	s = mk(AF_INET, SOCK_DGRAM, 0);
	cr_assert_eq(procs.lpWSPDuplicateSocket(s, (DWORD)getpid(), &tok,
	    &err), 0);
	d = procs.lpWSPSocket(0, 0, 0, &tok, 0, 0, &err);
	cr_assert_neq(d, INVALID_SOCKET);
	err = 0;
	cr_expect_eq(procs.lpWSPSocket(0, 0, 0, &tok, 0, 0, &err),
	    INVALID_SOCKET);
	cr_expect_eq(err, WSAEINVAL);
	cl(d);
	cl(s);
}

Test(dup, recycled_token_value_is_refused)
{
	WSAPROTOCOL_INFOW t1, t2, old;
	SOCKET s, d1, d2;
	int err = 0;

	s = mk(AF_INET, SOCK_DGRAM, 0);
	cr_assert_eq(procs.lpWSPDuplicateSocket(s, (DWORD)getpid(), &t1,
	    &err), 0);
	old = t1;
	d1 = procs.lpWSPSocket(0, 0, 0, &t1, 0, 0, &err);
	cr_assert_neq(d1, INVALID_SOCKET);
	/* A new token, maybe in the same slot: the old value stays dead. */
	cr_assert_eq(procs.lpWSPDuplicateSocket(s, (DWORD)getpid(), &t2,
	    &err), 0);
	cr_expect_neq(t2.dwProviderReserved, old.dwProviderReserved);
	err = 0;
	cr_expect_eq(procs.lpWSPSocket(0, 0, 0, &old, 0, 0, &err),
	    INVALID_SOCKET);
	cr_expect_eq(err, WSAEINVAL);
	d2 = procs.lpWSPSocket(0, 0, 0, &t2, 0, 0, &err);
	cr_expect_neq(d2, INVALID_SOCKET, "the new token still works");
	cl(d2);
	cl(d1);
	cl(s);
}

Test(dup, forged_token_is_refused)
{
	WSAPROTOCOL_INFOW tok, forged;
	/* The last flips the tag into share.c's: no holder answers it. */
	const DWORD flip[] = { 1u, 1u << 5, 1u << 12, 1u << 20, 1u << 26,
	    1u << 27 };
	SOCKET s, d;
	size_t i;
	int err = 0;

	s = mk(AF_INET, SOCK_DGRAM, 0);
	cr_assert_eq(procs.lpWSPDuplicateSocket(s, (DWORD)getpid(), &tok,
	    &err), 0);
	for (i = 0; i < sizeof(flip) / sizeof(flip[0]); i++) {
		forged = tok;
		forged.dwProviderReserved ^= flip[i];
		if (!base_is_token(&forged))
			continue;
		err = 0;
		cr_expect_eq(procs.lpWSPSocket(0, 0, 0, &forged, 0, 0, &err),
		    INVALID_SOCKET, "bit %#x", flip[i]);
		cr_expect_eq(err, WSAEINVAL);
	}
	d = procs.lpWSPSocket(0, 0, 0, &tok, 0, 0, &err);
	cr_expect_neq(d, INVALID_SOCKET, "the real token survived forgeries");
	cl(d);
	cl(s);
}

Test(dup, used_tokens_free_their_slots)
{
	WSAPROTOCOL_INFOW tok;
	SOCKET s, d;
	int i, err = 0;

	/* Far more tokens than any table holds at once. */
	s = mk(AF_INET, SOCK_DGRAM, 0);
	for (i = 0; i < 5000; i++) {
		cr_assert_eq(procs.lpWSPDuplicateSocket(s, (DWORD)getpid(),
		    &tok, &err), 0, "token %d: %d", i, err);
		d = procs.lpWSPSocket(0, 0, 0, &tok, 0, 0, &err);
		cr_assert_neq(d, INVALID_SOCKET, "socket %d: %d", i, err);
		cl(d);
	}
	cl(s);
}

Test(dup, plain_entries_are_no_tokens)
{
	const struct catalog *c = catalog_builtin();
	size_t i;

	cr_expect_not(base_is_token(NULL));
	for (i = 0; i < c->count; i++)
		cr_expect_not(base_is_token(&c->entries[i].info));
}

Test(dup, shared_path_ignores_group_and_flags)
{
	WSAPROTOCOL_INFOW tok;
	SOCKET s, d;
	int err = 0;

	s = mk(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(procs.lpWSPDuplicateSocket(s, (DWORD)getpid(), &tok,
	    &err), 0);
	d = procs.lpWSPSocket(AF_UNIX, SOCK_DGRAM, 99, &tok, 7, 0xffffffff,
	    &err);
	cr_assert_neq(d, INVALID_SOCKET, "%d", err);
	cr_expect_eq(sockopt_int(kfd(d), SOL_SOCKET, SO_TYPE), SOCK_STREAM);
	cl(d);
	cl(s);
}

/* Another process of ours takes the socket, through a token only it can
 * use, after the source closed its own (share.c's holder keeps it). */
Test(dup, another_process_takes_it)
{
	WSAPROTOCOL_INFOW tok;
	SOCKET s = mk(AF_INET, SOCK_DGRAM, 0), t;
	struct sockaddr_in a = { .sin_family = AF_INET }, b;
	socklen_t len = sizeof(a);
	int p[2], err = 0, st, fd;
	pid_t pid;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(kfd(s), (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(kfd(s), (struct sockaddr *)&a, &len), 0);
	cr_assert_eq(pipe(p), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		/* The child: the token from the pipe, then the socket. */
		if (read(p[0], &tok, sizeof(tok)) != (ssize_t)sizeof(tok))
			_exit(2);
		t = procs.lpWSPSocket(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO,
		    FROM_PROTOCOL_INFO, &tok, 0, 0, &err);
		if (t == INVALID_SOCKET)
			_exit(3);
		len = sizeof(b);
		fd = base_kernel_fd(t);
		if (getsockname(fd, (struct sockaddr *)&b, &len) != 0 ||
		    b.sin_port != a.sin_port)
			_exit(4);
		/* Used: a second take fails. */
		if (procs.lpWSPSocket(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO,
		    FROM_PROTOCOL_INFO, &tok, 0, 0, &err) != INVALID_SOCKET ||
		    err != WSAEINVAL)
			_exit(5);
		_exit(0);
	}
	cr_assert_eq(procs.lpWSPDuplicateSocket(s, (DWORD)pid, &tok, &err),
	    0, "%d", err);
	cr_expect(base_is_token(&tok));
	cl(s);		/* before the child takes it */
	cr_assert_eq(write(p[1], &tok, sizeof(tok)), (ssize_t)sizeof(tok));
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child: %d", st);
	/* Nor may this process use it. */
	err = 0;
	cr_expect_eq(procs.lpWSPSocket(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO,
	    FROM_PROTOCOL_INFO, &tok, 0, 0, &err), INVALID_SOCKET);
	cr_expect_eq(err, WSAEINVAL);
	close(p[0]);
	close(p[1]);
}

/* The layers' attachments go with an in-process token to the socket made
 * of it, under their ids, with WSPShimShareAttach's and ..Data's codes. */
Test(dup, attachments_travel_with_the_token)
{
	static const GUID a_id = { 1, 2, 3, { 4 } }, b_id = { 5, 6, 7, { 8 } },
	    none = { 9, 0, 0, { 0 } };
	static char big[WSPSHIM_SHARE_DATA_MAX + 1];
	WSAPROTOCOL_INFOW tok, other;
	SOCKET s = mk(AF_INET, SOCK_DGRAM, 0), t;
	char buf[16];
	DWORD n;
	int err = 0;

	cr_expect_eq(WSPShimShareAttach(NULL, "x", 1), WSAEFAULT);
	cr_expect_eq(WSPShimShareAttach(&a_id, NULL, 1), WSAEFAULT);
	cr_expect_eq(WSPShimShareAttach(&a_id, big, sizeof(big)), WSAENOBUFS);
	cr_assert_eq(WSPShimShareAttach(&a_id, "alpha", 5), 0);
	cr_expect_eq(WSPShimShareAttach(&a_id, "again", 5), WSAEINVAL);
	cr_assert_eq(WSPShimShareAttach(&b_id, NULL, 0), 0);
	cr_expect_eq(WSPShimShareAttach(&none, big,
	    WSPSHIM_SHARE_DATA_MAX - 5), WSAENOBUFS, "over the total");
	cr_assert_eq(procs.lpWSPDuplicateSocket(s, (DWORD)getpid(), &tok,
	    &err), 0, "%d", err);
	/* The next duplication carries nothing of the last one's. */
	cr_assert_eq(procs.lpWSPDuplicateSocket(s, (DWORD)getpid(), &other,
	    &err), 0, "%d", err);
	t = procs.lpWSPSocket(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO,
	    FROM_PROTOCOL_INFO, &tok, 0, 0, &err);
	cr_assert_neq(t, INVALID_SOCKET, "%d", err);
	n = sizeof(buf);
	cr_expect_eq(WSPShimShareData(&other, &a_id, buf, &n), WSAEINVAL,
	    "not the token just taken");
	n = 2;
	cr_expect_eq(WSPShimShareData(&tok, &a_id, buf, &n), WSAEFAULT);
	cr_expect_eq(n, 5, "the count needed");
	n = sizeof(buf);
	cr_assert_eq(WSPShimShareData(&tok, &a_id, buf, &n), 0);
	cr_expect(n == 5 && memcmp(buf, "alpha", 5) == 0);
	n = sizeof(buf);
	cr_expect_eq(WSPShimShareData(&tok, &b_id, buf, &n), 0);
	cr_expect_eq(n, 0);
	cr_expect_eq(WSPShimShareData(&tok, &none, buf, &n), WSANO_DATA);
	cl(t);
	t = procs.lpWSPSocket(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO,
	    FROM_PROTOCOL_INFO, &other, 0, 0, &err);
	cr_assert_neq(t, INVALID_SOCKET, "%d", err);
	n = sizeof(buf);
	cr_expect_eq(WSPShimShareData(&other, &a_id, buf, &n), WSANO_DATA);
	cl(t);
	cl(s);
}

Test(dup, missing_process_is_einval)
{
	WSAPROTOCOL_INFOW tok;
	SOCKET s = mk(AF_INET, SOCK_STREAM, 0);
	pid_t dead;
	int err = 0, st;

	dead = fork();
	cr_assert_geq(dead, 0);
	if (dead == 0)
		_exit(0);
	cr_assert_eq(waitpid(dead, &st, 0), dead);
	cr_expect_eq(procs.lpWSPDuplicateSocket(s, (DWORD)dead, &tok, &err),
	    SOCKET_ERROR);
	cr_expect_eq(err, WSAEINVAL);
	err = 0;
	cr_expect_eq(procs.lpWSPDuplicateSocket(s, 0, &tok, &err),
	    SOCKET_ERROR);
	cr_expect_eq(err, WSAEINVAL);
	err = 0;
	cr_expect_eq(procs.lpWSPDuplicateSocket(s, 0xfffffff0u, &tok, &err),
	    SOCKET_ERROR);
	cr_expect_eq(err, WSAEINVAL);
	/* Checked before the buffer. */
	err = 0;
	cr_expect_eq(procs.lpWSPDuplicateSocket(s, (DWORD)dead, NULL, &err),
	    SOCKET_ERROR);
	cr_expect_eq(err, WSAEINVAL);
	cl(s);
}

Test(dup, null_buffer_is_efault)
{
	SOCKET s = mk(AF_INET, SOCK_STREAM, 0);
	int err = 0;

	cr_expect_eq(procs.lpWSPDuplicateSocket(s, (DWORD)getpid(), NULL,
	    &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEFAULT);
	cl(s);
}

Test(dup, closed_source_still_works)
{
	WSAPROTOCOL_INFOW tok;
	SOCKET a, b, d;
	char buf[5];
	int err = 0;

	conn_pair(AF_UNIX, SOCK_STREAM, &a, &b);
	cr_assert_eq(procs.lpWSPDuplicateSocket(a, (DWORD)getpid(), &tok,
	    &err), 0);
	cl(a);
	d = procs.lpWSPSocket(0, 0, 0, &tok, 0, 0, &err);
	cr_assert_neq(d, INVALID_SOCKET, "%d", err);
	send1(d, "alive", 5);
	recv_exact(b, buf, 5);
	cr_expect_arr_eq(buf, "alive", 5);
	cl(d);
	cl(b);
}

Test(dup, token_keeps_the_source_flags)
{
	WSAPROTOCOL_INFOW tok;
	SOCKET s, d;
	int err = 0;

	/* A multipoint socket's duplicate may still join a group. */
	s = mk(AF_INET, SOCK_DGRAM, CL | DL);
	cr_assert_eq(procs.lpWSPDuplicateSocket(s, (DWORD)getpid(), &tok,
	    &err), 0);
	d = procs.lpWSPSocket(0, 0, 0, &tok, 0, 0, &err);
	cr_assert_neq(d, INVALID_SOCKET);
	err = 0;
	cr_expect_eq(procs.lpWSPJoinLeaf(d, NULL, 0, NULL, NULL, NULL, NULL,
	    JL_BOTH, &err), INVALID_SOCKET);
	cr_expect_eq(err, WSAEFAULT, "past the multipoint check");
	cl(d);
	cl(s);
}

/* ------------------------------------------------------------------ */
/* Adopt tokens                                                         */

Test(adopt, takes_the_descriptor_as_it_is)
{
	WSAPROTOCOL_INFOW e = *entry(AF_UNIX, SOCK_STREAM), tok, got;
	SOCKET s;
	char buf[3];
	int sv[2], len = sizeof(got), err = 0;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	cr_assert_eq(base_adopt_token(sv[0], &e, &tok), 0);
	cr_expect(base_is_token(&tok));
	cr_expect_arr_eq(&tok, &e, offsetof(WSAPROTOCOL_INFOW,
	    dwProviderReserved));
	s = procs.lpWSPSocket(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO,
	    FROM_PROTOCOL_INFO, &tok, 0, 0, &err);
	cr_assert_neq(s, INVALID_SOCKET, "%d", err);
	cr_expect_eq(base_kernel_fd(s), sv[0], "no dup: the same number");
	cr_assert_eq(procs.lpWSPGetSockOpt(s, SOL_SOCKET, SO_PROTOCOL_INFOW,
	    (char *)&got, &len, &err), 0);
	cr_expect_eq(got.dwCatalogEntryId, e.dwCatalogEntryId);
	cr_expect_eq(got.dwProviderReserved, 0);
	send1(s, "abc", 3);
	cr_assert_eq(read(sv[1], buf, 3), 3);
	cr_expect_arr_eq(buf, "abc", 3);
	cr_expect_eq(procs.lpWSPSocket(0, 0, 0, &tok, 0, 0, &err),
	    INVALID_SOCKET, "one-shot");
	cr_expect_eq(err, WSAEINVAL);
	cl(s);
	cr_expect_not(is_open(sv[0]), "the socket owns it now");
	close(sv[1]);
}

Test(adopt, bad_arguments)
{
	WSAPROTOCOL_INFOW e = *entry(AF_INET, SOCK_STREAM), tok;

	cr_expect_eq(base_adopt_token(-1, &e, &tok), WSAENOTSOCK);
	cr_expect_eq(base_adopt_token(0, NULL, &tok), WSAEFAULT);
	cr_expect_eq(base_adopt_token(0, &e, NULL), WSAEFAULT);
}

Test(adopt, in_place_struct)
{
	WSAPROTOCOL_INFOW e = *entry(AF_UNIX, SOCK_DGRAM);
	SOCKET s;
	int sv[2], err = 0;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	cr_assert_eq(base_adopt_token(sv[0], &e, &e), 0);
	s = procs.lpWSPSocket(0, 0, 0, &e, 0, 0, &err);
	cr_assert_neq(s, INVALID_SOCKET);
	cr_expect_eq(base_kernel_fd(s), sv[0]);
	cl(s);
	close(sv[1]);
}

Test(adopt, table_runs_out_gracefully)
{
	WSAPROTOCOL_INFOW e = *entry(AF_INET, SOCK_STREAM), tok;
	int i, err = 0;

	for (i = 0; i < 100000; i++)
		if ((err = base_adopt_token(0, &e, &tok)) != 0)
			break;
	cr_expect_eq(err, WSAENOBUFS);
	cr_expect_gt(i, 100, "room for a fair number of tokens");
}

/* ------------------------------------------------------------------ */
/* Addresses as strings                                                */

/* Whether w holds exactly the ASCII string s. */
static int
w_is(const WCHAR *w, const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (w[i] != (WCHAR)(unsigned char)s[i])
			return 0;
	return w[i] == 0;
}

/* Nothing: w gets the ASCII string s. */
static void
to_w(WCHAR *w, const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		w[i] = (WCHAR)(unsigned char)s[i];
	w[i] = 0;
}

Test(addr, address_to_string)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_port = htons(8080),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6,
	    .sin6_port = htons(443), .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	WCHAR w[128];
	DWORD len;
	int err = 0;

	len = 128;
	cr_assert_eq(procs.lpWSPAddressToString((LPSOCKADDR)&sin,
	    sizeof(sin), NULL, w, &len, &err), 0);
	cr_expect(w_is(w, "127.0.0.1:8080"));
	cr_expect_eq(len, 15, "WCHARs with the terminator");
	len = 128;
	cr_assert_eq(procs.lpWSPAddressToString((LPSOCKADDR)&sin6,
	    sizeof(sin6), NULL, w, &len, &err), 0);
	cr_expect(w_is(w, "[::1]:443"));
	cr_expect_eq(len, 10);
	strcpy(un.sun_path, "run/demo.sock");
	len = 128;
	cr_assert_eq(procs.lpWSPAddressToString((LPSOCKADDR)&un,
	    sizeof(un), NULL, w, &len, &err), 0);
	cr_expect(w_is(w, "run/demo.sock"));
	memset(un.sun_path, 0, sizeof(un.sun_path));
	memcpy(un.sun_path, "\0abs", 4);
	len = 128;
	cr_assert_eq(procs.lpWSPAddressToString((LPSOCKADDR)&un,
	    offsetof(struct sockaddr_un, sun_path) + 4, NULL, w, &len, &err),
	    0);
	cr_expect(w_is(w, "@abs"));
}

Test(addr, address_to_string_short_buffer)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_port = htons(80),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	WCHAR w[32];
	DWORD len;
	int err = 0;

	len = 12;	/* "127.0.0.1:80" needs 13 */
	cr_expect_eq(procs.lpWSPAddressToString((LPSOCKADDR)&sin,
	    sizeof(sin), NULL, w, &len, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEFAULT);
	cr_expect_eq(len, 13);
	cr_expect_eq(procs.lpWSPAddressToString((LPSOCKADDR)&sin,
	    sizeof(sin), NULL, w, &len, &err), 0, "exactly enough");
	cr_expect(w_is(w, "127.0.0.1:80"));
	len = 100;
	err = 0;
	cr_expect_eq(procs.lpWSPAddressToString((LPSOCKADDR)&sin,
	    sizeof(sin), NULL, NULL, &len, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEFAULT);
	cr_expect_eq(len, 13);
	err = 0;
	cr_expect_eq(procs.lpWSPAddressToString((LPSOCKADDR)&sin, 3, NULL, w,
	    &len, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEINVAL, "a short address");
	err = 0;
	cr_expect_eq(procs.lpWSPAddressToString(NULL, sizeof(sin), NULL, w,
	    &len, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEFAULT);
}

Test(addr, string_to_address)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	WSAPROTOCOL_INFOW e6 = *entry(AF_INET6, SOCK_STREAM);
	WCHAR w[64];
	int len, err = 0;

	to_w(w, "127.0.0.1:8080");
	len = sizeof(ss);
	cr_assert_eq(procs.lpWSPStringToAddress(w, AF_INET, NULL,
	    (LPSOCKADDR)&ss, &len, &err), 0, "%d", err);
	cr_expect_eq(len, sizeof(*sin));
	cr_expect_eq(sin->sin_family, AF_INET);
	cr_expect_eq(sin->sin_port, htons(8080));
	cr_expect_eq(sin->sin_addr.s_addr, htonl(INADDR_LOOPBACK));

	to_w(w, "[::1]:443");
	len = sizeof(ss);
	cr_assert_eq(procs.lpWSPStringToAddress(w, AF_UNSPEC, &e6,
	    (LPSOCKADDR)&ss, &len, &err), 0, "family from the entry: %d",
	    err);
	cr_expect_eq(len, sizeof(*sin6));
	cr_expect_eq(sin6->sin6_port, htons(443));
	cr_expect(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));

	to_w(w, "300.1.1.1");
	len = sizeof(ss);
	err = 0;
	cr_expect_eq(procs.lpWSPStringToAddress(w, AF_INET, NULL,
	    (LPSOCKADDR)&ss, &len, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEINVAL);

	to_w(w, "10.0.0.1:1");
	len = 4;
	err = 0;
	cr_expect_eq(procs.lpWSPStringToAddress(w, AF_INET, NULL,
	    (LPSOCKADDR)&ss, &len, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEFAULT);
	cr_expect_eq(len, sizeof(*sin), "the size needed");
	err = 0;
	cr_expect_eq(procs.lpWSPStringToAddress(NULL, AF_INET, NULL,
	    (LPSOCKADDR)&ss, &len, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEFAULT);
}

Test(addr, round_trip_through_strings)
{
	struct sockaddr_storage ss, back;
	WCHAR w[128];
	DWORD wl;
	SOCKET s;
	int len, blen, err = 0;

	s = mk(AF_INET6, SOCK_DGRAM, 0);
	bind_loopback(s, AF_INET6, &ss, &len);
	wl = 128;
	cr_assert_eq(procs.lpWSPAddressToString((LPSOCKADDR)&ss, (DWORD)len,
	    NULL, w, &wl, &err), 0);
	blen = sizeof(back);
	cr_assert_eq(procs.lpWSPStringToAddress(w, AF_INET6, NULL,
	    (LPSOCKADDR)&back, &blen, &err), 0);
	cr_expect_eq(blen, len);
	cr_expect_arr_eq(&back, &ss, (size_t)len);
	cl(s);
}

/* ------------------------------------------------------------------ */
/* What Linux cannot do, and WSPJoinLeaf                                */

Test(misc, stubs_are_opnotsupp)
{
	SOCKET s = mk(AF_INET, SOCK_STREAM, 0);
	WSABUF b = { 0, NULL };
	QOS q;
	int err;

#define OPNOTSUPP(call, fail) do {					\
	err = 0;							\
	cr_expect_eq((long long)(call), (long long)(fail), #call);	\
	cr_expect_eq(err, WSAEOPNOTSUPP, #call);			\
} while (0)
	OPNOTSUPP(procs.lpWSPAsyncSelect(s, NULL, 0, 0, &err), SOCKET_ERROR);
	OPNOTSUPP(procs.lpWSPCancelBlockingCall(&err), SOCKET_ERROR);
	OPNOTSUPP(procs.lpWSPGetQOSByName(s, &b, &q, &err), FALSE);
	/* Disconnect data: no built-in protocol carries it. */
	b.len = 4;
	b.buf = "data";
	OPNOTSUPP(procs.lpWSPSendDisconnect(s, &b, &err), SOCKET_ERROR);
#undef OPNOTSUPP
	cl(s);
}

/* The base's WSPEventSelect and WSPEnumNetworkEvents, called directly:
 * the record, its reset, the event object, the errors (probe_netev tests
 * the rules through the chain). */
Test(misc, network_events)
{
	SOCKET a, b;
	WSAEVENT e, dead;
	WSANETWORKEVENTS ne;
	int err = 0;
	char c;
	u_long off = 0;
	DWORD n = 0;

	conn_pair(AF_INET, SOCK_STREAM, &a, &b);
	cr_assert_neq(e = event_create(&err), WSA_INVALID_EVENT);
	cr_assert_neq(dead = event_create(&err), WSA_INVALID_EVENT);
	cr_assert(event_close(dead, &err));
	cr_expect_eq(procs.lpWSPEventSelect(b, e, FD_READ | FD_CLOSE, &err),
	    0, "select: %d", err);
	cr_expect_eq(event_is_set(e), 0, "nothing happened yet");
	send1(a, "x", 1);
	wait_fd(event_fd(e), POLLIN);
	cr_expect_eq(procs.lpWSPEnumNetworkEvents(b, e, &ne, &err), 0);
	cr_expect_eq(ne.lNetworkEvents, FD_READ);
	cr_expect_eq(event_is_set(e), 0, "the enum reset the event");
	cr_expect_eq(procs.lpWSPEnumNetworkEvents(b, NULL, &ne, &err), 0);
	cr_expect_eq(ne.lNetworkEvents, 0, "the enum cleared the record");
	cr_expect_eq(recv(kfd(b), &c, 1, 0), 1);
	/* FIONBIO 0 is refused while events are selected. */
	err = 0;
	cr_expect_eq(procs.lpWSPIoctl(b, FIONBIO, &off, sizeof(off), NULL, 0,
	    &n, NULL, NULL, NULL, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEINVAL);
	cr_expect_eq(procs.lpWSPEventSelect(b, NULL, 0, &err), 0, "cancel");
	cr_expect_eq(procs.lpWSPIoctl(b, FIONBIO, &off, sizeof(off), NULL, 0,
	    &n, NULL, NULL, NULL, &err), 0, "FIONBIO 0 after the cancel");
	/* Errors. */
	err = 0;
	cr_expect_eq(procs.lpWSPEventSelect(b, e, 1 << FD_MAX_EVENTS, &err),
	    SOCKET_ERROR);
	cr_expect_eq(err, WSAEINVAL, "an unknown bit");
	err = 0;
	cr_expect_eq(procs.lpWSPEventSelect(b, dead, FD_READ, &err),
	    SOCKET_ERROR);
	cr_expect_eq(err, WSAEINVAL, "a closed event");
	err = 0;
	cr_expect_eq(procs.lpWSPEnumNetworkEvents(b, NULL, NULL, &err),
	    SOCKET_ERROR);
	cr_expect_eq(err, WSAEFAULT, "no record");
	err = 0;
	cr_expect_eq(procs.lpWSPEventSelect((SOCKET)0x7ffffff2, e, FD_READ,
	    &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAENOTSOCK, "not a base socket");
	/* Closing a selected socket forgets it: a later socket on the same
	 * descriptor is not watched. */
	cr_expect_eq(procs.lpWSPEventSelect(b, e, FD_READ, &err), 0);
	cl(b);
	cl(a);
	cr_expect(event_close(e, &err));
}

Test(misc, joinleaf_needs_a_multipoint_udp_socket)
{
	struct sockaddr_in grp = { .sin_family = AF_INET };
	SOCKET tcp, udp;
	int err = 0;

	grp.sin_addr.s_addr = htonl(0xef0102fe);	/* 239.1.2.254 */
	tcp = mk(AF_INET, SOCK_STREAM, 0);
	udp = mk(AF_INET, SOCK_DGRAM, 0);
	cr_expect_eq(procs.lpWSPJoinLeaf(tcp, (struct sockaddr *)&grp,
	    sizeof(grp), NULL, NULL, NULL, NULL, JL_BOTH, &err),
	    INVALID_SOCKET);
	cr_expect_eq(err, WSAEOPNOTSUPP);
	err = 0;
	cr_expect_eq(procs.lpWSPJoinLeaf(udp, (struct sockaddr *)&grp,
	    sizeof(grp), NULL, NULL, NULL, NULL, JL_BOTH, &err),
	    INVALID_SOCKET);
	cr_expect_eq(err, WSAEOPNOTSUPP, "not created multipoint");
	cl(tcp);
	cl(udp);
}

Test(misc, joinleaf_argument_checks)
{
	struct sockaddr_in uni = { .sin_family = AF_INET };
	char data[2] = "x";
	WSABUF caller = { 1, data };
	SOCKET s = mk(AF_INET, SOCK_DGRAM, CL | DL);
	int err = 0;

	uni.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_expect_eq(procs.lpWSPJoinLeaf(s, (struct sockaddr *)&uni,
	    sizeof(uni), NULL, NULL, NULL, NULL, JL_BOTH, &err),
	    INVALID_SOCKET);
	cr_expect_eq(err, WSAEOPNOTSUPP, "a unicast address");
	err = 0;
	cr_expect_eq(procs.lpWSPJoinLeaf(s, (struct sockaddr *)&uni,
	    sizeof(uni), NULL, NULL, NULL, NULL, JL_BOTH | JL_SENDER_ONLY,
	    &err), INVALID_SOCKET);
	cr_expect_eq(err, WSAEINVAL);
	err = 0;
	cr_expect_eq(procs.lpWSPJoinLeaf(s, (struct sockaddr *)&uni,
	    sizeof(uni), &caller, NULL, NULL, NULL, JL_BOTH, &err),
	    INVALID_SOCKET);
	cr_expect_eq(err, WSAEOPNOTSUPP, "connect data");
	err = 0;
	cr_expect_eq(procs.lpWSPJoinLeaf(s, (struct sockaddr *)&uni, 4, NULL,
	    NULL, NULL, NULL, JL_BOTH, &err), INVALID_SOCKET);
	cr_expect_eq(err, WSAEFAULT);
	cl(s);
}

Test(misc, joinleaf_joins_an_ipv4_group)
{
	struct sockaddr_in grp = { .sin_family = AF_INET };
	struct ip_mreqn mr;
	SOCKET s = mk(AF_INET, SOCK_DGRAM, CL | DL);
	int err = 0;

	grp.sin_addr.s_addr = htonl(0xef0102fe);	/* 239.1.2.254 */
	if (procs.lpWSPJoinLeaf(s, (struct sockaddr *)&grp, sizeof(grp),
	    NULL, NULL, NULL, NULL, JL_BOTH, &err) == INVALID_SOCKET &&
	    errmap_errno_for(err) == ENODEV) {
		cl(s);
		cr_skip_test("no multicast route on this host");
	}
	cr_assert_eq(err, 0, "join: %d", err);
	/* Proof of membership: the kernel lets us drop it. */
	memset(&mr, 0, sizeof(mr));
	mr.imr_multiaddr = grp.sin_addr;
	cr_expect_eq(setsockopt(kfd(s), IPPROTO_IP, IP_DROP_MEMBERSHIP, &mr,
	    sizeof(mr)), 0);
	/* A sender joins nothing but succeeds. */
	cr_expect_eq(procs.lpWSPJoinLeaf(s, (struct sockaddr *)&grp,
	    sizeof(grp), NULL, NULL, NULL, NULL, JL_SENDER_ONLY, &err), s);
	cr_expect_neq(setsockopt(kfd(s), IPPROTO_IP, IP_DROP_MEMBERSHIP, &mr,
	    sizeof(mr)), 0);
	cl(s);
}

Test(misc, update_context_options_are_accepted_and_do_nothing)
{
	SOCKET s = mk(AF_INET, SOCK_STREAM, 0);
	int err = 0, one = 1;

	/* mswsock.h's SO_UPDATE_ACCEPT_CONTEXT and SO_UPDATE_CONNECT_CONTEXT,
	 * which Winsock programs set after AcceptEx and ConnectEx. */
	cr_expect_eq(procs.lpWSPSetSockOpt(s, SOL_SOCKET, 0x700B,
	    (const char *)&s, sizeof(s), &err), 0);
	cr_expect_eq(procs.lpWSPSetSockOpt(s, SOL_SOCKET, 0x7010, NULL, 0,
	    &err), 0);
	/* Any other unknown option still reaches the kernel. */
	cr_expect_eq(procs.lpWSPSetSockOpt(s, SOL_SOCKET, 0x700C,
	    (const char *)&one, sizeof(one), &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAENOPROTOOPT);
	cl(s);
}
