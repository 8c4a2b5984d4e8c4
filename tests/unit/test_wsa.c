/*
 * test_wsa.c - the Winsock application API (spi/wsa.c) as a program sees
 * it: start-up and clean-up, WSASocket over every base entry, selection
 * and routing errors, protocol structs, enumeration, provider paths,
 * duplicated sockets, closesocket, address strings, WSAIoctl, the
 * per-thread last error, and libc faults surfacing as Winsock codes.
 *
 * Never preloaded: send(), recv(), bind() and friends here are libc's, so
 * they show that a SOCKET from WSASocket is a plain kernel descriptor.
 * Criterion runs each test in a process of its own, so every test starts
 * with the library not started and an empty descriptor table.  Parameters
 * hold arrays, not pointers: Criterion re-executes the binary for each
 * test, so addresses from the parent's image mean nothing there.  Every
 * wait is a poll() with a timeout.  The tests run with the built-in
 * catalog whatever the machine has installed: a constructor points
 * WSPSHIM_CATALOG at a file that does not exist and clears the other
 * settings that would change the catalog.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "catalog.h"
#include "core.h"
#include "errmap.h"
#include "libc.h"
#include "wstr.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define WAIT_MS		5000		/* the bound on every wait */
#define INFO_W		((DWORD)sizeof(WSAPROTOCOL_INFOW))
#define INFO_A		((DWORD)sizeof(WSAPROTOCOL_INFOA))
#define VISIBLE		7		/* built-in entries not hidden */
#define ALL		9		/* built-in entries */
#define FROM		FROM_PROTOCOL_INFO
#define MP_LEAF		(WSA_FLAG_MULTIPOINT_C_LEAF | \
			    WSA_FLAG_MULTIPOINT_D_LEAF)

enum { TCP = 1001, UDP, RAW, TCP6, UDP6, RAW6, USTREAM, UDGRAM, USEQ };

#define XTCP	(XP1_GUARANTEED_DELIVERY | XP1_GUARANTEED_ORDER | \
		    XP1_GRACEFUL_CLOSE | XP1_EXPEDITED_DATA | XP1_IFS_HANDLES)
#define XUDP6	(XP1_CONNECTIONLESS | XP1_MESSAGE_ORIENTED | \
		    XP1_SUPPORT_MULTIPOINT | XP1_IFS_HANDLES)
#define XUDP	(XUDP6 | XP1_SUPPORT_BROADCAST)
#define XUSTR	(XP1_GUARANTEED_DELIVERY | XP1_GUARANTEED_ORDER | \
		    XP1_GRACEFUL_CLOSE | XP1_IFS_HANDLES)
#define XUDG	(XP1_CONNECTIONLESS | XP1_MESSAGE_ORIENTED | \
		    XP1_GUARANTEED_DELIVERY | XP1_GUARANTEED_ORDER | \
		    XP1_IFS_HANDLES)
#define XUSEQ	(XP1_GUARANTEED_DELIVERY | XP1_GUARANTEED_ORDER | \
		    XP1_MESSAGE_ORIENTED | XP1_GRACEFUL_CLOSE | XP1_IFS_HANDLES)

#define NO_CATALOG	"/nonexistent/wspshim-test/catalog"

/* ------------------------------------------------------------------ */
/* Helpers. */

/* Nothing: every test process sees the built-in catalog only. */
static void __attribute__((constructor))
hermetic_catalog(void)
{
	setenv("WSPSHIM_CATALOG", NO_CATALOG, 1);
	unsetenv("WSPSHIM_LAYERS");
	unsetenv("WSPSHIM_MANAGE");
	unsetenv("WSPSHIM_FALLBACK");
}

/* A code's name for failure messages. */
static const char *
wsa_name(int code)
{
	const char *s;

	if (code == 0)
		return "0";
	s = errmap_name(code);
	return s != NULL ? s : "an unknown code";
}

/* Start the library at 2.2. */
static void
start(void)
{
	WSADATA d;
	int rc;

	rc = WSAStartup(MAKEWORD(2, 2), &d);
	cr_assert_eq(rc, 0, "WSAStartup: %s", wsa_name(rc));
}

/* Assert the last call failed with code. */
static void
assert_error(int code, const char *what)
{
	int got = WSAGetLastError();

	cr_assert_eq(got, code, "%s: last error %s (%d), want %s", what,
	    wsa_name(got), got, wsa_name(code));
}

/* Whether descriptor fd is open. */
static int
fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

/* Assert that fd is closed: fcntl(F_GETFD) fails with EBADF. */
static void
assert_closed(int fd, const char *what)
{
	errno = 0;
	cr_assert_eq(fcntl(fd, F_GETFD), -1, "%s: descriptor %d is open",
	    what, fd);
	cr_assert_eq(errno, EBADF, "%s: fcntl: %s", what, strerror(errno));
}

/* The number of descriptors open in this process. */
static int
fd_count(void)
{
	struct dirent *d;
	DIR *dir = opendir("/proc/self/fd");
	int n = 0;

	cr_assert_not_null(dir, "opendir /proc/self/fd");
	while ((d = readdir(dir)) != NULL)
		if (d->d_name[0] != '.')
			n++;
	closedir(dir);
	return n - 1;		/* the directory's own descriptor */
}

/* WSASocketW that must succeed with last error 0; the descriptor. */
static int
api_socket(int af, int type, int proto, DWORD flags)
{
	SOCKET s;

	WSASetLastError(WSAEINTR);
	s = WSASocketW(af, type, proto, NULL, 0, flags);
	cr_assert_neq(s, INVALID_SOCKET, "WSASocketW(%d, %#x, %d): %s", af,
	    (unsigned)type, proto, wsa_name(WSAGetLastError()));
	assert_error(0, "WSASocketW success");
	cr_assert_leq(s, (SOCKET)INT_MAX, "a descriptor, not a handle");
	return (int)s;
}

/* WSASocketW that must fail with code, creating no descriptor. */
static void
api_socket_fails(int af, int type, int proto, LPWSAPROTOCOL_INFOW info,
    GROUP g, DWORD flags, int code)
{
	int before = fd_count();
	SOCKET s;

	s = WSASocketW(af, type, proto, info, g, flags);
	cr_assert_eq(s, INVALID_SOCKET, "WSASocketW(%d, %#x, %d) made %d",
	    af, (unsigned)type, proto, (int)s);
	assert_error(code, "WSASocketW");
	cr_assert_eq(fd_count(), before, "a failed WSASocketW left a "
	    "descriptor open");
}

/* A socket option of fd read with libc's getsockopt. */
static int
sockopt_int(int fd, int level, int name)
{
	socklen_t len = sizeof(int);
	int v = -1;

	cr_assert_eq(getsockopt(fd, level, name, &v, &len), 0,
	    "getsockopt(%d, %d): %s", level, name, strerror(errno));
	return v;
}

/* The socket's WSPGetSockOpt down its chain, as the preloaded getsockopt
 * reaches it (the unit tests link no shim). */
static int
chain_getsockopt(int fd, int name, void *val, int *len, int *err)
{
	struct wsock *ws = fdtab_get(fd);

	cr_assert(ws != NULL && ws != FDTAB_ADOPT,
	    "descriptor %d has a chain socket", fd);
	*err = 0;
	return ws->procs->lpWSPGetSockOpt(ws->handle, SOL_SOCKET, name, val,
	    len, err);
}

/* The catalog id SO_PROTOCOL_INFOW gives for fd. */
static DWORD
socket_entry_id(int fd)
{
	WSAPROTOCOL_INFOW info;
	int len = (int)sizeof(info), err, rc;

	rc = chain_getsockopt(fd, SO_PROTOCOL_INFOW, &info, &len, &err);
	cr_assert_eq(rc, 0, "SO_PROTOCOL_INFOW: %s", wsa_name(err));
	return info.dwCatalogEntryId;
}

/* Whether a WCHAR string equals an ASCII one. */
static int
wname_is(const WCHAR *w, const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (w[i] != (unsigned char)s[i])
			return 0;
	return w[i] == 0;
}

/* The visible entry with this id, through WSAEnumProtocolsW. */
static void
enum_entry_w(DWORD id, WSAPROTOCOL_INFOW *out)
{
	WSAPROTOCOL_INFOW buf[16];
	DWORD len = sizeof(buf);
	int i, n;

	n = WSAEnumProtocolsW(NULL, buf, &len);
	cr_assert_gt(n, 0, "WSAEnumProtocolsW: %s",
	    wsa_name(WSAGetLastError()));
	for (i = 0; i < n; i++)
		if (buf[i].dwCatalogEntryId == id) {
			*out = buf[i];
			return;
		}
	cr_assert_fail("entry %u is not enumerated", id);
}

/* The entry with this id, hidden ones included, through
 * WSCEnumProtocols. */
static void
wsc_entry(DWORD id, WSAPROTOCOL_INFOW *out)
{
	WSAPROTOCOL_INFOW buf[16];
	DWORD len = sizeof(buf);
	int i, n, err;

	n = WSCEnumProtocols(NULL, buf, &len, &err);
	cr_assert_gt(n, 0, "WSCEnumProtocols: %s", wsa_name(err));
	for (i = 0; i < n; i++)
		if (buf[i].dwCatalogEntryId == id) {
			*out = buf[i];
			return;
		}
	cr_assert_fail("entry %u is not in the catalog", id);
}

Test(wsc, enum_protocols32_lists_the_one_catalog)
{
	WSAPROTOCOL_INFOW a[16], b[16];
	DWORD la = sizeof(a), lb = sizeof(b), need = 0;
	int na, nb, err = 0;

	na = WSCEnumProtocols(NULL, a, &la, &err);
	nb = WSCEnumProtocols32(NULL, b, &lb, &err);
	cr_assert_gt(na, 0);
	cr_expect_eq(na, nb);
	cr_expect_eq(la, lb);
	cr_expect(memcmp(a, b, la) == 0);
	cr_expect_eq(WSCEnumProtocols32(NULL, NULL, &need, &err),
	    SOCKET_ERROR);
	cr_expect_eq(err, WSAENOBUFS);
	cr_expect_eq(need, la);
}

/* poll() fd for events, bounded. */
static void
wait_for(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	int rc;

	rc = poll(&p, 1, WAIT_MS);
	cr_assert_eq(rc, 1, "descriptor %d not ready within %d ms (%s)", fd,
	    WAIT_MS, rc < 0 ? strerror(errno) : "timed out");
}

/* Send msg on from; it must arrive whole on to. */
static void
expect_flow(int from, int to, const char *msg)
{
	size_t n = strlen(msg);
	char buf[128];
	ssize_t r;

	r = send(from, msg, n, MSG_NOSIGNAL);
	cr_assert_eq(r, (ssize_t)n, "send on %d: %s", from,
	    r < 0 ? strerror(errno) : "short");
	wait_for(to, POLLIN);
	r = recv(to, buf, sizeof(buf), MSG_DONTWAIT);
	cr_assert_eq(r, (ssize_t)n, "recv on %d: %s", to,
	    r < 0 ? strerror(errno) : "wrong length");
	cr_assert_arr_eq(buf, msg, n);
}

/* A loopback address of family af in ss (AF_UNIX: the autobind form, an
 * unused abstract name chosen by the kernel); its length. */
static socklen_t
loopback(int af, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	ss->ss_family = (sa_family_t)af;
	switch (af) {
	case AF_INET:
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(*sin);
	case AF_INET6:
		sin6->sin6_addr = in6addr_loopback;
		return sizeof(*sin6);
	default:
		return sizeof(sa_family_t);
	}
}

/* A connected pair over loopback: cli's data arrives on peer. */
struct pair {
	int	srv;
	int	cli;
	int	peer;		/* srv itself for datagrams */
};

/* Bind fd to loopback and return its address in ss. */
static socklen_t
bind_loopback(int fd, int af, struct sockaddr_storage *ss)
{
	socklen_t len = loopback(af, ss);

	cr_assert_eq(bind(fd, (struct sockaddr *)ss, len), 0, "bind: %s",
	    strerror(errno));
	len = sizeof(*ss);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)ss, &len), 0,
	    "getsockname: %s", strerror(errno));
	return len;
}

/* Connect cli to srv (listening first unless type is SOCK_DGRAM). */
static void
pair_connect(struct pair *p, int af, int type)
{
	struct sockaddr_storage ss;
	socklen_t len = bind_loopback(p->srv, af, &ss);

	if (type != SOCK_DGRAM)
		cr_assert_eq(listen(p->srv, 4), 0, "listen: %s",
		    strerror(errno));
	cr_assert_eq(connect(p->cli, (struct sockaddr *)&ss, len), 0,
	    "connect: %s", strerror(errno));
	if (type == SOCK_DGRAM) {
		p->peer = p->srv;
		return;
	}
	wait_for(p->srv, POLLIN);
	p->peer = accept(p->srv, NULL, NULL);
	cr_assert_geq(p->peer, 0, "accept: %s", strerror(errno));
}

/* Two sockets from WSASocketW, connected over loopback. */
static void
pair_open(struct pair *p, int af, int type, int proto)
{
	p->srv = api_socket(af, type, proto, 0);
	p->cli = api_socket(af, type, proto, 0);
	pair_connect(p, af, type);
}

/* ------------------------------------------------------------------ */
/* The calls that need WSAStartup. */

enum api_call {
	C_SOCKETW, C_SOCKETA, C_CLOSESOCKET, C_ENUMW, C_ENUMA, C_DUPW,
	C_DUPA, C_ADDRSTRW, C_ADDRSTRA, C_STRADDRW, C_STRADDRA, C_IOCTL,
	C_CLEANUP
};

struct call_case {
	char		name[24];
	enum api_call	call;
};

#define CALL_ROWS \
	{ "WSASocketW", C_SOCKETW }, \
	{ "WSASocketA", C_SOCKETA }, \
	{ "closesocket", C_CLOSESOCKET }, \
	{ "WSAEnumProtocolsW", C_ENUMW }, \
	{ "WSAEnumProtocolsA", C_ENUMA }, \
	{ "WSADuplicateSocketW", C_DUPW }, \
	{ "WSADuplicateSocketA", C_DUPA }, \
	{ "WSAAddressToStringW", C_ADDRSTRW }, \
	{ "WSAAddressToStringA", C_ADDRSTRA }, \
	{ "WSAStringToAddressW", C_STRADDRW }, \
	{ "WSAStringToAddressA", C_STRADDRA }, \
	{ "WSAIoctl", C_IOCTL }, \
	{ "WSACleanup", C_CLEANUP }

/* The address-string calls, with arguments that work once started;
 * whether the call reported failure. */
static int
call_addr(enum api_call c)
{
	struct sockaddr_storage ss;
	socklen_t sl = loopback(AF_INET, &ss);
	WCHAR w[64], ws[] = { '1', '.', '2', '.', '3', '.', '4', 0 };
	char a[64], as[] = "1.2.3.4";
	DWORD len = 64;
	int alen = (int)sizeof(ss);

	switch (c) {
	case C_ADDRSTRW:
		return WSAAddressToStringW((LPSOCKADDR)&ss, sl, NULL, w,
		    &len) == SOCKET_ERROR;
	case C_ADDRSTRA:
		return WSAAddressToStringA((LPSOCKADDR)&ss, sl, NULL, a,
		    &len) == SOCKET_ERROR;
	case C_STRADDRW:
		return WSAStringToAddressW(ws, AF_INET, NULL,
		    (LPSOCKADDR)&ss, &alen) == SOCKET_ERROR;
	default:
		return WSAStringToAddressA(as, AF_INET, NULL,
		    (LPSOCKADDR)&ss, &alen) == SOCKET_ERROR;
	}
}

/* Make call c with arguments that work once started (fd is a socket made
 * with libc's socket()); whether the call reported failure. */
static int
call_api(enum api_call c, int fd)
{
	WSAPROTOCOL_INFOW w[16];
	WSAPROTOCOL_INFOA a[16];
	DWORD len, n;
	unsigned long v;

	switch (c) {
	case C_SOCKETW:
		return WSASocketW(AF_INET, SOCK_STREAM, 0, NULL, 0, 0) ==
		    INVALID_SOCKET;
	case C_SOCKETA:
		catalog_info_to_a(&catalog_by_id(NULL, TCP)->info, &a[0]);
		return WSASocketA(FROM, FROM, FROM, &a[0], 0, 0) ==
		    INVALID_SOCKET;
	case C_CLOSESOCKET:
		return closesocket((SOCKET)fd) == SOCKET_ERROR;
	case C_ENUMW:
		len = sizeof(w);
		return WSAEnumProtocolsW(NULL, w, &len) == SOCKET_ERROR;
	case C_ENUMA:
		len = sizeof(a);
		return WSAEnumProtocolsA(NULL, a, &len) == SOCKET_ERROR;
	case C_DUPW:
		return WSADuplicateSocketW((SOCKET)fd, (DWORD)getpid(),
		    &w[0]) == SOCKET_ERROR;
	case C_DUPA:
		return WSADuplicateSocketA((SOCKET)fd, (DWORD)getpid(),
		    &a[0]) == SOCKET_ERROR;
	case C_IOCTL:
		return WSAIoctl((SOCKET)fd, FIONREAD, NULL, 0, &v, sizeof(v),
		    &n, NULL, NULL) == SOCKET_ERROR;
	case C_CLEANUP:
		return WSACleanup() == SOCKET_ERROR;
	default:
		return call_addr(c);
	}
}

/* Call c must fail with WSANOTINITIALISED and leave fd open. */
static void
expect_not_initialised(const struct call_case *c)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0), before;

	cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
	before = fd_count();
	WSASetLastError(0);
	cr_assert(call_api(c->call, fd), "%s succeeded", c->name);
	assert_error(WSANOTINITIALISED, c->name);
	cr_assert(fd_is_open(fd), "%s closed the socket", c->name);
	cr_assert_eq(fd_count(), before, "%s changed the descriptors",
	    c->name);
	close(fd);
}

ParameterizedTestParameters(not_started, every_call_fails_before_startup)
{
	static struct call_case cases[] = { CALL_ROWS };

	return cr_make_param_array(struct call_case, cases, NELEM(cases));
}

ParameterizedTest(struct call_case *c, not_started,
    every_call_fails_before_startup)
{
	expect_not_initialised(c);
}

ParameterizedTestParameters(not_started, every_call_fails_after_last_cleanup)
{
	static struct call_case cases[] = { CALL_ROWS };

	return cr_make_param_array(struct call_case, cases, NELEM(cases));
}

ParameterizedTest(struct call_case *c, not_started,
    every_call_fails_after_last_cleanup)
{
	start();
	start();
	cr_assert_eq(WSACleanup(), 0);
	cr_assert_eq(WSACleanup(), 0);
	expect_not_initialised(c);
}

Test(not_started, failed_startup_does_not_count)
{
	WSADATA d;

	cr_assert_eq(WSAStartup(MAKEWORD(0, 2), &d), WSAVERNOTSUPPORTED);
	cr_assert_eq(WSAStartup(MAKEWORD(2, 2), NULL), WSAEFAULT);
	cr_assert_eq(WSASocketW(AF_INET, SOCK_STREAM, 0, NULL, 0, 0),
	    INVALID_SOCKET);
	assert_error(WSANOTINITIALISED, "WSASocketW");
	cr_assert_eq(WSACleanup(), SOCKET_ERROR);
	assert_error(WSANOTINITIALISED, "WSACleanup");
}

/* The WSC calls are for installers and need no WSAStartup. */
Test(not_started, wsc_calls_work_without_startup)
{
	WSAPROTOCOL_INFOW buf[16];
	DWORD len = sizeof(buf);
	WCHAR path[64];
	GUID g = catalog_base_guid;
	int plen = 64, err = 0;

	cr_assert_eq(WSCEnumProtocols(NULL, buf, &len, &err), ALL, "%s",
	    wsa_name(err));
	cr_assert_eq(WSCGetProviderPath(&g, path, &plen, &err), 0, "%s",
	    wsa_name(err));
}

/* ------------------------------------------------------------------ */
/* WSAStartup and WSACleanup. */

struct version_case {
	BYTE	major, minor;		/* requested */
	BYTE	got_major, got_minor;	/* wVersion */
};

ParameterizedTestParameters(startup, negotiates_up_to_2_2)
{
	static struct version_case cases[] = {
		{ 1, 0, 1, 0 }, { 1, 1, 1, 1 }, { 2, 0, 2, 0 },
		{ 2, 1, 2, 1 }, { 2, 2, 2, 2 }, { 2, 3, 2, 2 },
		{ 2, 255, 2, 2 }, { 3, 0, 2, 2 }, { 3, 5, 2, 2 },
		{ 255, 255, 2, 2 },
	};

	return cr_make_param_array(struct version_case, cases,
	    NELEM(cases));
}

ParameterizedTest(struct version_case *c, startup, negotiates_up_to_2_2)
{
	WSADATA d;
	int rc;

	memset(&d, 0xa5, sizeof(d));
	rc = WSAStartup(MAKEWORD(c->major, c->minor), &d);
	cr_assert_eq(rc, 0, "%u.%u: %s", c->major, c->minor, wsa_name(rc));
	cr_assert_eq(d.wVersion, MAKEWORD(c->got_major, c->got_minor),
	    "%u.%u gave wVersion %u.%u", c->major, c->minor,
	    LOBYTE(d.wVersion), HIBYTE(d.wVersion));
	cr_assert_eq(d.wHighVersion, MAKEWORD(2, 2));
	cr_assert_neq(d.szDescription[0], '\0');
	cr_assert_not_null(memchr(d.szDescription, '\0',
	    sizeof(d.szDescription)));
	cr_assert_str_eq(d.szSystemStatus, "Running");
	cr_assert_eq(WSACleanup(), 0);
}

ParameterizedTestParameters(startup, major_version_0_is_not_supported)
{
	static struct version_case cases[] = {
		{ 0, 0, 0, 0 }, { 0, 1, 0, 0 }, { 0, 2, 0, 0 },
		{ 0, 255, 0, 0 },
	};

	return cr_make_param_array(struct version_case, cases,
	    NELEM(cases));
}

ParameterizedTest(struct version_case *c, startup,
    major_version_0_is_not_supported)
{
	WSADATA d;

	cr_assert_eq(WSAStartup(MAKEWORD(c->major, c->minor), &d),
	    WSAVERNOTSUPPORTED, "%u.%u", c->major, c->minor);
	cr_assert_eq(WSACleanup(), SOCKET_ERROR, "it must not count");
}

Test(startup, null_wsadata_is_efault)
{
	cr_assert_eq(WSAStartup(MAKEWORD(2, 2), NULL), WSAEFAULT);
	cr_assert_eq(WSACleanup(), SOCKET_ERROR, "it must not count");
	assert_error(WSANOTINITIALISED, "WSACleanup");
}

Test(startup, two_starts_need_two_cleanups_and_a_third_fails)
{
	int fd;

	start();
	start();
	cr_assert_eq(WSACleanup(), 0);
	fd = api_socket(AF_INET, SOCK_STREAM, 0, 0);
	cr_assert_eq(closesocket((SOCKET)fd), 0, "still started");
	cr_assert_eq(WSACleanup(), 0);
	cr_assert_eq(WSACleanup(), SOCKET_ERROR);
	assert_error(WSANOTINITIALISED, "third WSACleanup");
}

Test(startup, starts_again_after_the_last_cleanup)
{
	struct pair p;

	start();
	pair_open(&p, AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(WSACleanup(), 0);
	close(p.peer);
	start();
	pair_open(&p, AF_INET, SOCK_STREAM, 0);
	expect_flow(p.cli, p.peer, "again");
	cr_assert_eq(socket_entry_id(p.cli), TCP);
}

/* ------------------------------------------------------------------ */
/* What the last WSACleanup closes. */

Test(cleanup, last_cleanup_closes_api_sockets_only)
{
	int tcp, unx, udp6, plain, taken, pfd[2];
	unsigned long on = 1;
	DWORD n;

	start();
	tcp = api_socket(AF_INET, SOCK_STREAM, 0, 0);
	unx = api_socket(AF_UNIX, SOCK_DGRAM, 0, 0);
	udp6 = api_socket(AF_INET6, SOCK_DGRAM, IPPROTO_UDP, 0);
	plain = socket(AF_INET, SOCK_STREAM, 0);
	taken = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert(plain >= 0 && taken >= 0 && pipe(pfd) == 0);
	/* The API takes a plain socket in on first use; it stays the
	 * program's. */
	cr_assert_eq(WSAIoctl((SOCKET)taken, FIONBIO, &on, sizeof(on), NULL,
	    0, &n, NULL, NULL), 0, "%s", wsa_name(WSAGetLastError()));
	cr_assert_eq(WSACleanup(), 0);
	assert_closed(tcp, "TCP socket");
	assert_closed(unx, "AF_UNIX socket");
	assert_closed(udp6, "UDP/IPv6 socket");
	cr_assert(fd_is_open(plain), "a socket() socket was closed");
	cr_assert(fd_is_open(taken), "a socket the API took in was closed");
	cr_assert_eq(sockopt_int(taken, SOL_SOCKET, SO_TYPE), SOCK_STREAM);
	cr_assert(fd_is_open(pfd[0]) && fd_is_open(pfd[1]),
	    "a pipe was closed");
}

Test(cleanup, inner_cleanup_closes_nothing)
{
	int fd;

	start();
	start();
	fd = api_socket(AF_INET, SOCK_DGRAM, 0, 0);
	cr_assert_eq(WSACleanup(), 0);
	cr_assert(fd_is_open(fd), "closed by a WSACleanup that was not the "
	    "last");
	cr_assert_eq(sockopt_int(fd, SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
	cr_assert_eq(WSACleanup(), 0);
	assert_closed(fd, "after the last WSACleanup");
}

Test(cleanup, closes_duplicates_made_from_tokens)
{
	WSAPROTOCOL_INFOW info;
	int src, dup;
	SOCKET s;

	start();
	src = api_socket(AF_INET, SOCK_STREAM, 0, 0);
	cr_assert_eq(WSADuplicateSocketW((SOCKET)src, (DWORD)getpid(),
	    &info), 0);
	s = WSASocketW(FROM, FROM, FROM, &info, 0, 0);
	cr_assert_neq(s, INVALID_SOCKET, "%s", wsa_name(WSAGetLastError()));
	dup = (int)s;
	cr_assert_eq(WSACleanup(), 0);
	assert_closed(src, "source");
	assert_closed(dup, "duplicate");
}

/* A token nobody used dies with the last WSACleanup, and the descriptor
 * it held is released. */
Test(cleanup, voids_unused_tokens)
{
	WSAPROTOCOL_INFOW info;
	int src, before;

	start();
	src = api_socket(AF_INET, SOCK_STREAM, 0, 0);
	before = fd_count();
	cr_assert_eq(WSADuplicateSocketW((SOCKET)src, (DWORD)getpid(),
	    &info), 0);
	cr_assert_eq(fd_count(), before + 1, "the token holds a descriptor");
	cr_assert_eq(WSACleanup(), 0);
	cr_assert_eq(fd_count(), before - 1, "the socket and the token's "
	    "descriptor must both be closed");
	start();
	api_socket_fails(FROM, FROM, FROM, &info, 0, 0, WSAEINVAL);
}

/* ------------------------------------------------------------------ */
/* WSASocketW over every base entry. */

struct kind {
	char	name[24];
	int	af;
	int	type;
	int	proto;
	DWORD	id;		/* the entry it must select */
};

#define KIND_ROWS \
	{ "tcp", AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP }, \
	{ "udp", AF_INET, SOCK_DGRAM, IPPROTO_UDP, UDP }, \
	{ "tcp6", AF_INET6, SOCK_STREAM, IPPROTO_TCP, TCP6 }, \
	{ "udp6", AF_INET6, SOCK_DGRAM, IPPROTO_UDP, UDP6 }, \
	{ "unix stream", AF_UNIX, SOCK_STREAM, 0, USTREAM }, \
	{ "unix dgram", AF_UNIX, SOCK_DGRAM, 0, UDGRAM }, \
	{ "unix seqpacket", AF_UNIX, SOCK_SEQPACKET, 0, USEQ }

ParameterizedTestParameters(socket, every_base_kind_is_a_kernel_socket)
{
	static struct kind cases[] = {
		KIND_ROWS,
		{ "tcp proto 0", AF_INET, SOCK_STREAM, 0, TCP },
		{ "udp proto 0", AF_INET, SOCK_DGRAM, 0, UDP },
		{ "tcp6 proto 0", AF_INET6, SOCK_STREAM, 0, TCP6 },
		{ "inet any type", AF_INET, 0, 0, TCP },
		{ "udp6 any type", AF_INET6, 0, IPPROTO_UDP, UDP6 },
		{ "any family, tcp", 0, 0, IPPROTO_TCP, TCP },
		{ "any family, udp", 0, SOCK_DGRAM, IPPROTO_UDP, UDP },
		{ "unix any type", AF_UNIX, 0, 0, USTREAM },
	};

	return cr_make_param_array(struct kind, cases, NELEM(cases));
}

ParameterizedTest(struct kind *k, socket, every_base_kind_is_a_kernel_socket)
{
	const WSAPROTOCOL_INFOW *e = &catalog_by_id(NULL, k->id)->info;
	struct stat st;
	int fd;

	start();
	fd = api_socket(k->af, k->type, k->proto, 0);
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert(S_ISSOCK(st.st_mode), "%s: not a socket", k->name);
	cr_assert_eq(sockopt_int(fd, SOL_SOCKET, SO_DOMAIN),
	    e->iAddressFamily, "%s", k->name);
	cr_assert_eq(sockopt_int(fd, SOL_SOCKET, SO_TYPE), e->iSocketType,
	    "%s", k->name);
	cr_assert_eq(sockopt_int(fd, SOL_SOCKET, SO_PROTOCOL), e->iProtocol,
	    "%s", k->name);
	cr_assert_eq(socket_entry_id(fd), k->id, "%s", k->name);
	cr_assert_eq(closesocket((SOCKET)fd), 0);
	assert_closed(fd, k->name);
}

ParameterizedTestParameters(socket, data_flows_with_plain_send_and_recv)
{
	static struct kind cases[] = { KIND_ROWS };

	return cr_make_param_array(struct kind, cases, NELEM(cases));
}

ParameterizedTest(struct kind *k, socket, data_flows_with_plain_send_and_recv)
{
	struct pair p;

	start();
	pair_open(&p, k->af, k->type, k->proto);
	expect_flow(p.cli, p.peer, "hello over loopback");
	if (k->type != SOCK_DGRAM)
		expect_flow(p.peer, p.cli, "and back");
	cr_assert_eq(closesocket((SOCKET)p.cli), 0);
	if (p.peer != p.srv)
		close(p.peer);
	cr_assert_eq(closesocket((SOCKET)p.srv), 0);
}

struct flag_case {
	char	name[40];
	int	type_bits;	/* or'ed into type */
	DWORD	flags;		/* dwFlags */
	int	nonblock;	/* O_NONBLOCK expected */
	int	cloexec;	/* FD_CLOEXEC expected */
};

ParameterizedTestParameters(socket, open_flags_are_applied)
{
	static struct flag_case cases[] = {
		{ "none", 0, 0, 0, 0 },
		{ "SOCK_NONBLOCK", SOCK_NONBLOCK, 0, 1, 0 },
		{ "SOCK_CLOEXEC", SOCK_CLOEXEC, 0, 0, 1 },
		{ "both type bits", SOCK_NONBLOCK | SOCK_CLOEXEC, 0, 1, 1 },
		{ "NO_HANDLE_INHERIT", 0, WSA_FLAG_NO_HANDLE_INHERIT, 0, 1 },
		{ "WSPSHIM_NONBLOCK", 0, WSA_FLAG_WSPSHIM_NONBLOCK, 1, 0 },
		{ "NONBLOCK type, NO_HANDLE_INHERIT", SOCK_NONBLOCK,
		    WSA_FLAG_NO_HANDLE_INHERIT, 1, 1 },
		{ "OVERLAPPED", 0, WSA_FLAG_OVERLAPPED, 0, 0 },
	};

	return cr_make_param_array(struct flag_case, cases, NELEM(cases));
}

ParameterizedTest(struct flag_case *c, socket, open_flags_are_applied)
{
	static const int kinds[][2] = {
		{ AF_INET, SOCK_STREAM }, { AF_INET6, SOCK_DGRAM },
		{ AF_UNIX, SOCK_SEQPACKET },
	};
	size_t i;
	int fd;

	start();
	for (i = 0; i < NELEM(kinds); i++) {
		fd = api_socket(kinds[i][0], kinds[i][1] | c->type_bits, 0,
		    c->flags);
		cr_assert_eq(sockopt_int(fd, SOL_SOCKET, SO_TYPE),
		    kinds[i][1], "%s: the flag bits are not part of the "
		    "type", c->name);
		cr_assert_eq(!!(fcntl(fd, F_GETFL) & O_NONBLOCK), c->nonblock,
		    "%s: O_NONBLOCK", c->name);
		cr_assert_eq(!!(fcntl(fd, F_GETFD) & FD_CLOEXEC), c->cloexec,
		    "%s: FD_CLOEXEC", c->name);
		cr_assert_eq(closesocket((SOCKET)fd), 0);
	}
}

struct raw_case {
	char	name[8];
	int	af;
	int	proto;
	DWORD	id;
};

/* A raw socket: what libc's socket() does decides what WSASocketW must
 * do (privilege is detected with a real attempt, not guessed). */
static void
expect_raw(const struct raw_case *c)
{
	int fd, e, want;
	SOCKET s;

	errno = 0;
	fd = socket(c->af, SOCK_RAW, c->proto);
	e = errno;
	if (fd >= 0)
		close(fd);
	s = WSASocketW(c->af, SOCK_RAW, c->proto, NULL, 0, 0);
	if (fd >= 0) {
		cr_assert_neq(s, INVALID_SOCKET, "%s: privileged, yet %s",
		    c->name, wsa_name(WSAGetLastError()));
		assert_error(0, c->name);
		cr_assert_eq(socket_entry_id((int)s), c->id);
		cr_assert_eq(sockopt_int((int)s, SOL_SOCKET, SO_PROTOCOL),
		    c->proto);
		cr_assert_eq(closesocket(s), 0);
		return;
	}
	want = e == EPERM || e == EACCES ? WSAEACCES : errmap_to_wsa(e);
	cr_assert_eq(s, INVALID_SOCKET, "%s: libc refused (%s), the API "
	    "did not", c->name, strerror(e));
	assert_error(want, c->name);
}

#define RAW_ROWS \
	{ "raw4", AF_INET, IPPROTO_ICMP, RAW }, \
	{ "raw6", AF_INET6, IPPROTO_ICMPV6, RAW6 }

ParameterizedTestParameters(socket, raw_needs_privilege)
{
	static struct raw_case cases[] = { RAW_ROWS };

	return cr_make_param_array(struct raw_case, cases, NELEM(cases));
}

ParameterizedTest(struct raw_case *c, socket, raw_needs_privilege)
{
	start();
	expect_raw(c);
}

ParameterizedTestParameters(socket, raw_without_privilege_is_eacces)
{
	static struct raw_case cases[] = { RAW_ROWS };

	return cr_make_param_array(struct raw_case, cases, NELEM(cases));
}

/* Run as root, the test gives its process up to nobody first, so the
 * unprivileged path is taken on any machine. */
ParameterizedTest(struct raw_case *c, socket, raw_without_privilege_is_eacces)
{
	if (geteuid() == 0) {
		cr_assert_eq(setresgid(65534, 65534, 65534), 0);
		cr_assert_eq(setresuid(65534, 65534, 65534), 0);
	}
	start();
	expect_raw(c);
}

struct select_case {
	char	name[40];
	int	af;
	int	type;
	int	proto;
	int	err;
};

ParameterizedTestParameters(socket, selection_errors)
{
	static struct select_case cases[] = {
		{ "af 0, protocol 0", 0, SOCK_STREAM, 0, WSAEINVAL },
		{ "all zero", 0, 0, 0, WSAEINVAL },
		{ "af 0, protocol 0, bad type", 0, 99, 0, WSAEINVAL },
		{ "bad type", AF_INET, 99, 0, WSAESOCKTNOSUPPORT },
		{ "bad type with flag bits", AF_INET, 99 | SOCK_NONBLOCK, 0,
		    WSAESOCKTNOSUPPORT },
		{ "bad type beats bad family", AF_NETLINK, 99, 0,
		    WSAESOCKTNOSUPPORT },
		{ "bad family", AF_NETLINK, SOCK_DGRAM, 0, WSAEAFNOSUPPORT },
		{ "bad family beats bad protocol", AF_NETLINK, SOCK_DGRAM,
		    300, WSAEAFNOSUPPORT },
		{ "seqpacket over inet", AF_INET, SOCK_SEQPACKET, 0,
		    WSAEAFNOSUPPORT },
		{ "udp on a stream", AF_INET, SOCK_STREAM, IPPROTO_UDP,
		    WSAEPROTONOSUPPORT },
		{ "tcp on unix", AF_UNIX, SOCK_STREAM, IPPROTO_TCP,
		    WSAEPROTONOSUPPORT },
		{ "PF_UNIX as protocol", AF_UNIX, SOCK_STREAM, 1,
		    WSAEPROTONOSUPPORT },
		{ "raw past its range", AF_INET, SOCK_RAW, 256,
		    WSAEPROTONOSUPPORT },
		{ "unknown protocol", AF_INET6, SOCK_DGRAM, 200,
		    WSAEPROTONOSUPPORT },
	};

	return cr_make_param_array(struct select_case, cases, NELEM(cases));
}

ParameterizedTest(struct select_case *c, socket, selection_errors)
{
	start();
	api_socket_fails(c->af, c->type, c->proto, NULL, 0, 0, c->err);
}

struct mp_case {
	char	name[40];
	int	af;
	int	type;
	DWORD	flags;
	GROUP	g;
	int	err;
};

ParameterizedTestParameters(socket, group_and_multipoint_flags)
{
	static struct mp_case cases[] = {
		{ "udp leaf", AF_INET, SOCK_DGRAM, MP_LEAF, 0, 0 },
		{ "udp6 leaf", AF_INET6, SOCK_DGRAM, MP_LEAF, 0, 0 },
		{ "udp leaf, overlapped", AF_INET, SOCK_DGRAM,
		    MP_LEAF | WSA_FLAG_OVERLAPPED, 0, 0 },
		{ "tcp leaf", AF_INET, SOCK_STREAM, MP_LEAF, 0, WSAEINVAL },
		{ "unix dgram leaf", AF_UNIX, SOCK_DGRAM, MP_LEAF, 0,
		    WSAEINVAL },
		{ "udp c_leaf only", AF_INET, SOCK_DGRAM,
		    WSA_FLAG_MULTIPOINT_C_LEAF, 0, WSAEINVAL },
		{ "udp d_leaf only", AF_INET, SOCK_DGRAM,
		    WSA_FLAG_MULTIPOINT_D_LEAF, 0, WSAEINVAL },
		{ "udp c_root (non-rooted)", AF_INET, SOCK_DGRAM,
		    WSA_FLAG_MULTIPOINT_C_ROOT | WSA_FLAG_MULTIPOINT_D_LEAF,
		    0, WSAEINVAL },
		{ "udp d_root (non-rooted)", AF_INET, SOCK_DGRAM,
		    WSA_FLAG_MULTIPOINT_C_LEAF | WSA_FLAG_MULTIPOINT_D_ROOT,
		    0, WSAEINVAL },
		{ "udp both c flags", AF_INET, SOCK_DGRAM,
		    MP_LEAF | WSA_FLAG_MULTIPOINT_C_ROOT, 0, WSAEINVAL },
		{ "unknown dwFlags bit", AF_INET, SOCK_STREAM, 0x20, 0,
		    WSAEINVAL },
		{ "group on tcp", AF_INET, SOCK_STREAM, 0, 1, WSAEINVAL },
		{ "group SG_UNCONSTRAINED", AF_INET, SOCK_DGRAM, 0, 1,
		    WSAEINVAL },
		{ "group SG_CONSTRAINED", AF_INET, SOCK_DGRAM, 0, 2,
		    WSAEINVAL },
		{ "group on unix", AF_UNIX, SOCK_STREAM, 0, 7, WSAEINVAL },
	};

	return cr_make_param_array(struct mp_case, cases, NELEM(cases));
}

ParameterizedTest(struct mp_case *c, socket, group_and_multipoint_flags)
{
	SOCKET s;

	start();
	if (c->err != 0) {
		api_socket_fails(c->af, c->type, 0, NULL, c->g, c->flags,
		    c->err);
		return;
	}
	s = WSASocketW(c->af, c->type, 0, NULL, c->g, c->flags);
	cr_assert_neq(s, INVALID_SOCKET, "%s: %s", c->name,
	    wsa_name(WSAGetLastError()));
	assert_error(0, c->name);
	cr_assert_eq(closesocket(s), 0);
}

/* ------------------------------------------------------------------ */
/* WSASocket with a protocol struct. */

struct entry_case {
	int	index;		/* position in WSAEnumProtocols */
	DWORD	id;
	char	name[32];
	int	af;
	int	type;
	int	proto;
	DWORD	xp1;
};

#define ENTRY_ROWS \
	{ 0, TCP, "wspshim [TCP/IP]", AF_INET, SOCK_STREAM, 6, XTCP }, \
	{ 1, UDP, "wspshim [UDP/IP]", AF_INET, SOCK_DGRAM, 17, XUDP }, \
	{ 2, TCP6, "wspshim [TCP/IPv6]", AF_INET6, SOCK_STREAM, 6, XTCP }, \
	{ 3, UDP6, "wspshim [UDP/IPv6]", AF_INET6, SOCK_DGRAM, 17, XUDP }, \
	{ 4, USTREAM, "wspshim [UNIX stream]", AF_UNIX, SOCK_STREAM, 0, \
	    XUSTR }, \
	{ 5, UDGRAM, "wspshim [UNIX datagram]", AF_UNIX, SOCK_DGRAM, 0, \
	    XUDG }, \
	{ 6, USEQ, "wspshim [UNIX seqpacket]", AF_UNIX, SOCK_SEQPACKET, 0, \
	    XUSEQ }

/* fd is a socket of the entry c describes. */
static void
assert_socket_of(int fd, const struct entry_case *c)
{
	cr_assert_eq(sockopt_int(fd, SOL_SOCKET, SO_DOMAIN), c->af, "%s",
	    c->name);
	cr_assert_eq(sockopt_int(fd, SOL_SOCKET, SO_TYPE), c->type, "%s",
	    c->name);
	cr_assert_eq(sockopt_int(fd, SOL_SOCKET, SO_PROTOCOL), c->proto,
	    "%s", c->name);
	cr_assert_eq(socket_entry_id(fd), c->id, "%s", c->name);
}

ParameterizedTestParameters(from_info, every_enumerated_entry)
{
	static struct entry_case cases[] = { ENTRY_ROWS };

	return cr_make_param_array(struct entry_case, cases, NELEM(cases));
}

ParameterizedTest(struct entry_case *c, from_info, every_enumerated_entry)
{
	WSAPROTOCOL_INFOW info;
	SOCKET s;

	start();
	enum_entry_w(c->id, &info);
	WSASetLastError(WSAEINTR);
	s = WSASocketW(FROM, FROM, FROM, &info, 0, 0);
	cr_assert_neq(s, INVALID_SOCKET, "%s: %s", c->name,
	    wsa_name(WSAGetLastError()));
	assert_error(0, c->name);
	assert_socket_of((int)s, c);
	cr_assert_eq(closesocket(s), 0);
	/* 0 asks for the struct's value just as FROM_PROTOCOL_INFO does. */
	s = WSASocketW(0, 0, 0, &info, 0, 0);
	cr_assert_neq(s, INVALID_SOCKET, "%s, zeros: %s", c->name,
	    wsa_name(WSAGetLastError()));
	assert_socket_of((int)s, c);
	cr_assert_eq(closesocket(s), 0);
}

ParameterizedTestParameters(from_info, socketa_with_an_a_struct)
{
	static struct entry_case cases[] = { ENTRY_ROWS };

	return cr_make_param_array(struct entry_case, cases, NELEM(cases));
}

ParameterizedTest(struct entry_case *c, from_info, socketa_with_an_a_struct)
{
	WSAPROTOCOL_INFOA a[16];
	DWORD len = sizeof(a);
	SOCKET s;
	int n;

	start();
	n = WSAEnumProtocolsA(NULL, a, &len);
	cr_assert_eq(n, VISIBLE, "%s", wsa_name(WSAGetLastError()));
	cr_assert_eq(a[c->index].dwCatalogEntryId, c->id);
	WSASetLastError(WSAEINTR);
	s = WSASocketA(FROM, FROM, FROM, &a[c->index], 0, 0);
	cr_assert_neq(s, INVALID_SOCKET, "%s: %s", c->name,
	    wsa_name(WSAGetLastError()));
	assert_error(0, c->name);
	assert_socket_of((int)s, c);
	cr_assert_eq(closesocket(s), 0);
}

struct override_case {
	char	name[40];
	DWORD	id;		/* the struct's entry */
	int	af;
	int	type;
	int	proto;
	int	err;
	int	nonblock;
};

ParameterizedTestParameters(from_info, explicit_values_override_the_struct)
{
	static struct override_case cases[] = {
		{ "all explicit", TCP, AF_INET, SOCK_STREAM, IPPROTO_TCP, 0,
		    0 },
		{ "family explicit", TCP, AF_INET, FROM, FROM, 0, 0 },
		{ "protocol explicit, zero type", UDP6, FROM, 0, IPPROTO_UDP,
		    0, 0 },
		{ "flag bits in an explicit type", TCP6, FROM,
		    SOCK_STREAM | SOCK_NONBLOCK, FROM, 0, 1 },
		{ "unix explicit", UDGRAM, AF_UNIX, SOCK_DGRAM, 0, 0, 0 },
		{ "other family", TCP, AF_INET6, FROM, FROM,
		    WSAEAFNOSUPPORT, 0 },
		{ "other type", TCP, FROM, SOCK_DGRAM, FROM,
		    WSAESOCKTNOSUPPORT, 0 },
		{ "other protocol", TCP, FROM, FROM, IPPROTO_UDP,
		    WSAEPROTONOSUPPORT, 0 },
		{ "unix with a protocol", USTREAM, FROM, FROM, 1,
		    WSAEPROTONOSUPPORT, 0 },
	};

	return cr_make_param_array(struct override_case, cases,
	    NELEM(cases));
}

ParameterizedTest(struct override_case *c, from_info,
    explicit_values_override_the_struct)
{
	WSAPROTOCOL_INFOW info;
	int fd;

	start();
	enum_entry_w(c->id, &info);
	if (c->err != 0) {
		api_socket_fails(c->af, c->type, c->proto, &info, 0, 0,
		    c->err);
		return;
	}
	fd = (int)WSASocketW(c->af, c->type, c->proto, &info, 0, 0);
	cr_assert_neq((SOCKET)fd, INVALID_SOCKET, "%s: %s", c->name,
	    wsa_name(WSAGetLastError()));
	cr_assert_eq(socket_entry_id(fd), c->id, "%s", c->name);
	cr_assert_eq(!!(fcntl(fd, F_GETFL) & O_NONBLOCK), c->nonblock,
	    "%s", c->name);
	cr_assert_eq(closesocket((SOCKET)fd), 0);
}

Test(from_info, unknown_entry_id_is_einval)
{
	WSAPROTOCOL_INFOW info;

	start();
	enum_entry_w(TCP, &info);
	info.dwCatalogEntryId = 4242;
	api_socket_fails(FROM, FROM, FROM, &info, 0, 0, WSAEINVAL);
	api_socket_fails(AF_INET, SOCK_STREAM, 0, &info, 0, 0, WSAEINVAL);
}

Test(from_info, no_family_anywhere_is_eafnosupport)
{
	WSAPROTOCOL_INFOW info;

	start();
	enum_entry_w(UDP, &info);
	info.iAddressFamily = 0;
	api_socket_fails(FROM, FROM, FROM, &info, 0, 0, WSAEAFNOSUPPORT);
	info.iAddressFamily = FROM;
	api_socket_fails(0, SOCK_DGRAM, 0, &info, 0, 0, WSAEAFNOSUPPORT);
}

Test(from_info, group_is_still_checked)
{
	WSAPROTOCOL_INFOW info;

	start();
	enum_entry_w(UDP, &info);
	api_socket_fails(FROM, FROM, FROM, &info, 3, 0, WSAEINVAL);
	api_socket_fails(FROM, FROM, FROM, &info, 0,
	    WSA_FLAG_MULTIPOINT_C_LEAF, WSAEINVAL);
}

/* A hidden raw entry, from WSCEnumProtocols, with the protocol given. */
Test(from_info, hidden_raw_entry_with_a_protocol)
{
	WSAPROTOCOL_INFOW info;
	int fd, e;
	SOCKET s;

	start();
	wsc_entry(RAW, &info);
	errno = 0;
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	e = errno;
	if (fd >= 0)
		close(fd);
	s = WSASocketW(FROM, FROM, IPPROTO_ICMP, &info, 0, 0);
	if (fd < 0) {
		cr_assert_eq(s, INVALID_SOCKET);
		assert_error(e == EPERM || e == EACCES ? WSAEACCES :
		    errmap_to_wsa(e), "raw4");
		return;
	}
	cr_assert_neq(s, INVALID_SOCKET, "%s", wsa_name(WSAGetLastError()));
	cr_assert_eq(socket_entry_id((int)s), RAW);
	cr_assert_eq(sockopt_int((int)s, SOL_SOCKET, SO_PROTOCOL),
	    IPPROTO_ICMP);
	cr_assert_eq(closesocket(s), 0);
}

/* ------------------------------------------------------------------ */
/* SO_PROTOCOL_INFOW / SO_PROTOCOL_INFOA of an API socket. */

ParameterizedTestParameters(protocol_info, w_is_the_catalog_entry)
{
	static struct kind cases[] = { KIND_ROWS };

	return cr_make_param_array(struct kind, cases, NELEM(cases));
}

ParameterizedTest(struct kind *k, protocol_info, w_is_the_catalog_entry)
{
	WSAPROTOCOL_INFOW info;
	int fd, len = (int)sizeof(info) + 16, err;

	start();
	fd = api_socket(k->af, k->type, k->proto, 0);
	memset(&info, 0xa5, sizeof(info));
	cr_assert_eq(chain_getsockopt(fd, SO_PROTOCOL_INFOW, &info, &len,
	    &err), 0, "%s", wsa_name(err));
	cr_assert_eq(len, (int)INFO_W, "optlen is the struct size");
	cr_assert_arr_eq(&info, &catalog_by_id(NULL, k->id)->info,
	    sizeof(info), "%s: not the catalog entry", k->name);
}

ParameterizedTestParameters(protocol_info, a_is_the_catalog_entry)
{
	static struct kind cases[] = { KIND_ROWS };

	return cr_make_param_array(struct kind, cases, NELEM(cases));
}

ParameterizedTest(struct kind *k, protocol_info, a_is_the_catalog_entry)
{
	WSAPROTOCOL_INFOA info, want;
	int fd, len = (int)sizeof(info), err;

	start();
	fd = api_socket(k->af, k->type, k->proto, 0);
	memset(&info, 0xa5, sizeof(info));
	cr_assert_eq(chain_getsockopt(fd, SO_PROTOCOL_INFOA, &info, &len,
	    &err), 0, "%s", wsa_name(err));
	cr_assert_eq(len, (int)INFO_A);
	catalog_info_to_a(&catalog_by_id(NULL, k->id)->info, &want);
	cr_assert_arr_eq(&info, &want, offsetof(WSAPROTOCOL_INFOA,
	    szProtocol), "%s", k->name);
	cr_assert_str_eq(info.szProtocol, want.szProtocol);
}

struct short_case {
	char	name[24];
	int	opt;
	int	len;
	int	null_val;
	int	need;
};

ParameterizedTestParameters(protocol_info, short_optlen_is_efault_with_size)
{
	static struct short_case cases[] = {
		{ "W one short", SO_PROTOCOL_INFOW, 627, 0, 628 },
		{ "W zero", SO_PROTOCOL_INFOW, 0, 0, 628 },
		{ "W negative", SO_PROTOCOL_INFOW, -1, 0, 628 },
		{ "W NULL optval", SO_PROTOCOL_INFOW, 628, 1, 628 },
		{ "A one short", SO_PROTOCOL_INFOA, 371, 0, 372 },
		{ "A zero", SO_PROTOCOL_INFOA, 0, 0, 372 },
		{ "A NULL optval", SO_PROTOCOL_INFOA, 372, 1, 372 },
	};

	return cr_make_param_array(struct short_case, cases, NELEM(cases));
}

ParameterizedTest(struct short_case *c, protocol_info,
    short_optlen_is_efault_with_size)
{
	unsigned char buf[sizeof(WSAPROTOCOL_INFOW)];
	int fd, len = c->len, err;

	start();
	fd = api_socket(AF_INET, SOCK_STREAM, 0, 0);
	memset(buf, 0xa5, sizeof(buf));
	cr_assert_eq(chain_getsockopt(fd, c->opt, c->null_val ? NULL : buf,
	    &len, &err), SOCKET_ERROR, "%s", c->name);
	cr_assert_eq(err, WSAEFAULT, "%s: %s", c->name, wsa_name(err));
	cr_assert_eq(len, c->need, "%s: optlen %d", c->name, len);
	cr_assert_eq(buf[0], 0xa5, "%s: the buffer was written", c->name);
}

/* ------------------------------------------------------------------ */
/* WSAEnumProtocolsW / WSAEnumProtocolsA / WSCEnumProtocols. */

ParameterizedTestParameters(enum_protocols, w_entries_in_order)
{
	static struct entry_case cases[] = { ENTRY_ROWS };

	return cr_make_param_array(struct entry_case, cases, NELEM(cases));
}

/* The members every built-in base entry shares. */
static void
assert_base_members(const WSAPROTOCOL_INFOW *e, const struct entry_case *c)
{
	cr_assert_eq(e->dwCatalogEntryId, c->id, "index %d", c->index);
	cr_assert_eq(e->iAddressFamily, c->af, "%s", c->name);
	cr_assert_eq(e->iSocketType, c->type, "%s", c->name);
	cr_assert_eq(e->iProtocol, c->proto, "%s", c->name);
	cr_assert_eq(e->iProtocolMaxOffset, 0, "%s", c->name);
	cr_assert_eq(e->dwServiceFlags1, c->xp1, "%s: XP1 %#x", c->name,
	    e->dwServiceFlags1);
	cr_assert_eq(e->dwProviderFlags, PFL_MATCHES_PROTOCOL_ZERO, "%s",
	    c->name);
	cr_assert_eq(e->ProtocolChain.ChainLen, BASE_PROTOCOL, "%s",
	    c->name);
	cr_assert_eq(e->ProtocolChain.ChainEntries[0], c->id, "%s", c->name);
	cr_assert_arr_eq(&e->ProviderId, &catalog_base_guid, sizeof(GUID));
	cr_assert_eq(e->iVersion, 2);
	cr_assert_eq(e->dwProviderReserved, 0);
}

ParameterizedTest(struct entry_case *c, enum_protocols, w_entries_in_order)
{
	WSAPROTOCOL_INFOW buf[16];
	DWORD len = sizeof(buf);

	start();
	cr_assert_eq(WSAEnumProtocolsW(NULL, buf, &len), VISIBLE);
	cr_assert_eq(len, VISIBLE * INFO_W, "the bytes written");
	assert_base_members(&buf[c->index], c);
	cr_assert(wname_is(buf[c->index].szProtocol, c->name), "name of %u",
	    c->id);
}

ParameterizedTestParameters(enum_protocols, a_entries_in_order)
{
	static struct entry_case cases[] = { ENTRY_ROWS };

	return cr_make_param_array(struct entry_case, cases, NELEM(cases));
}

ParameterizedTest(struct entry_case *c, enum_protocols, a_entries_in_order)
{
	WSAPROTOCOL_INFOA buf[16];
	WSAPROTOCOL_INFOW w;
	DWORD len = sizeof(buf);

	start();
	cr_assert_eq(WSAEnumProtocolsA(NULL, buf, &len), VISIBLE);
	cr_assert_eq(len, VISIBLE * INFO_A, "the bytes written");
	memset(&w, 0, sizeof(w));
	memcpy(&w, &buf[c->index], offsetof(WSAPROTOCOL_INFOA, szProtocol));
	assert_base_members(&w, c);
	cr_assert_str_eq(buf[c->index].szProtocol, c->name);
}

Test(enum_protocols, hidden_raw_entries_only_from_wsc)
{
	WSAPROTOCOL_INFOW w[16], all[16];
	DWORD wlen = sizeof(w), alen = sizeof(all);
	int n, i, err;

	start();
	n = WSAEnumProtocolsW(NULL, w, &wlen);
	cr_assert_eq(n, VISIBLE);
	for (i = 0; i < n; i++) {
		cr_assert_neq(w[i].iSocketType, SOCK_RAW);
		cr_assert_eq(w[i].dwProviderFlags & PFL_HIDDEN, 0);
	}
	n = WSCEnumProtocols(NULL, all, &alen, &err);
	cr_assert_eq(n, ALL, "%s", wsa_name(err));
	cr_assert_eq(alen, ALL * INFO_W);
	for (i = 0; i < n; i++)
		cr_assert_eq(all[i].dwCatalogEntryId, (DWORD)(TCP + i),
		    "ids run from 1001 in catalog order");
	cr_assert_eq(all[RAW - TCP].dwProviderFlags,
	    PFL_MATCHES_PROTOCOL_ZERO | PFL_HIDDEN);
	cr_assert_eq(all[RAW - TCP].iProtocolMaxOffset, 255);
	cr_assert_eq(all[RAW6 - TCP].iSocketType, SOCK_RAW);
}

struct size_case {
	char	name[32];
	int	wide;		/* W (1) or A (0) */
	int	delta;		/* bytes added to the exact size */
	int	null_buf;
	int	rc;		/* count, or SOCKET_ERROR */
	int	err;
};

ParameterizedTestParameters(enum_protocols, sizing)
{
	static struct size_case cases[] = {
		{ "W size query", 1, INT_MIN, 1, SOCKET_ERROR, WSAENOBUFS },
		{ "W exact fit", 1, 0, 0, VISIBLE, 0 },
		{ "W one byte short", 1, -1, 0, SOCKET_ERROR, WSAENOBUFS },
		{ "W one entry short", 1, -628, 0, SOCKET_ERROR, WSAENOBUFS },
		{ "W room to spare", 1, 1000, 0, VISIBLE, 0 },
		{ "W NULL buffer, room", 1, 0, 1, SOCKET_ERROR, WSAEFAULT },
		{ "A size query", 0, INT_MIN, 1, SOCKET_ERROR, WSAENOBUFS },
		{ "A exact fit", 0, 0, 0, VISIBLE, 0 },
		{ "A one byte short", 0, -1, 0, SOCKET_ERROR, WSAENOBUFS },
		{ "A one entry short", 0, -372, 0, SOCKET_ERROR, WSAENOBUFS },
		{ "A room to spare", 0, 1000, 0, VISIBLE, 0 },
		{ "A NULL buffer, room", 0, 0, 1, SOCKET_ERROR, WSAEFAULT },
	};

	return cr_make_param_array(struct size_case, cases, NELEM(cases));
}

ParameterizedTest(struct size_case *c, enum_protocols, sizing)
{
	static unsigned char buf[16 * sizeof(WSAPROTOCOL_INFOW)];
	DWORD need = VISIBLE * (c->wide ? INFO_W : INFO_A), len;
	void *p = c->null_buf ? NULL : buf;
	int rc;

	start();
	len = c->delta == INT_MIN ? 0 : (DWORD)((int)need + c->delta);
	memset(buf, 0xa5, sizeof(buf));
	WSASetLastError(0);
	if (c->wide)
		rc = WSAEnumProtocolsW(NULL, p, &len);
	else
		rc = WSAEnumProtocolsA(NULL, p, &len);
	cr_assert_eq(rc, c->rc, "%s: returned %d", c->name, rc);
	if (rc == SOCKET_ERROR)
		assert_error(c->err, c->name);
	cr_assert_eq(len, need, "%s: length %u, need %u", c->name, len, need);
	if (c->err == WSAENOBUFS)
		cr_assert_eq(buf[0], 0xa5, "%s: buffer written", c->name);
}

Test(enum_protocols, null_length_is_efault)
{
	WSAPROTOCOL_INFOW w[16];
	WSAPROTOCOL_INFOA a[16];

	start();
	cr_assert_eq(WSAEnumProtocolsW(NULL, w, NULL), SOCKET_ERROR);
	assert_error(WSAEFAULT, "W");
	cr_assert_eq(WSAEnumProtocolsA(NULL, a, NULL), SOCKET_ERROR);
	assert_error(WSAEFAULT, "A");
}

struct filter_case {
	char	name[32];
	INT	filter[6];
	int	hidden;		/* WSCEnumProtocols instead */
	int	n;
	DWORD	ids[4];
};

ParameterizedTestParameters(enum_protocols, filters)
{
	static struct filter_case cases[] = {
		{ "tcp", { IPPROTO_TCP, 0 }, 0, 2, { TCP, TCP6 } },
		{ "udp among unknown ids", { 9999, IPPROTO_UDP, -5, 0 }, 0, 2,
		    { UDP, UDP6 } },
		{ "tcp and udp", { IPPROTO_UDP, IPPROTO_TCP, 0 }, 0, 4,
		    { TCP, UDP, TCP6, UDP6 } },
		{ "unknown only", { 9999, 12345, 0 }, 0, 0, { 0 } },
		{ "empty", { 0, IPPROTO_TCP }, 0, 0, { 0 } },
		{ "icmp: only hidden entries", { IPPROTO_ICMP, 0 }, 0, 0,
		    { 0 } },
		{ "icmp from WSC", { IPPROTO_ICMP, 0 }, 1, 2, { RAW, RAW6 } },
		{ "tcp from WSC", { IPPROTO_TCP, 0 }, 1, 4,
		    { TCP, RAW, TCP6, RAW6 } },
	};

	return cr_make_param_array(struct filter_case, cases, NELEM(cases));
}

ParameterizedTest(struct filter_case *c, enum_protocols, filters)
{
	WSAPROTOCOL_INFOW w[16];
	WSAPROTOCOL_INFOA a[16];
	DWORD len = sizeof(w), alen = sizeof(a);
	int n, i, err;

	start();
	if (c->hidden)
		n = WSCEnumProtocols(c->filter, w, &len, &err);
	else
		n = WSAEnumProtocolsW(c->filter, w, &len);
	cr_assert_eq(n, c->n, "%s: %d entries", c->name, n);
	cr_assert_eq(len, (DWORD)c->n * INFO_W, "%s", c->name);
	for (i = 0; i < n; i++)
		cr_assert_eq(w[i].dwCatalogEntryId, c->ids[i], "%s [%d]",
		    c->name, i);
	if (c->hidden)
		return;
	n = WSAEnumProtocolsA(c->filter, a, &alen);
	cr_assert_eq(n, c->n, "%s (A): %d entries", c->name, n);
	cr_assert_eq(alen, (DWORD)c->n * INFO_A, "%s (A)", c->name);
	for (i = 0; i < n; i++)
		cr_assert_eq(a[i].dwCatalogEntryId, c->ids[i], "%s (A) [%d]",
		    c->name, i);
}

/* ------------------------------------------------------------------ */
/* WSCGetProviderPath. */

Test(provider_path, base_guid_gives_the_library)
{
	WCHAR path[64];
	GUID g = catalog_base_guid;
	int len = 64, err = 0;

	cr_assert_eq(WSCGetProviderPath(&g, path, &len, &err), 0, "%s",
	    wsa_name(err));
	cr_assert(wname_is(path, CATALOG_BASE_PATH));
	cr_assert_eq(len, (int)strlen(CATALOG_BASE_PATH) + 1,
	    "characters with the terminator");
}

Test(provider_path, exact_length_fits)
{
	WCHAR path[64];
	GUID g = catalog_base_guid;
	int len = (int)strlen(CATALOG_BASE_PATH) + 1, err = 0;

	cr_assert_eq(WSCGetProviderPath(&g, path, &len, &err), 0, "%s",
	    wsa_name(err));
	cr_assert(wname_is(path, CATALOG_BASE_PATH));
}

Test(provider_path, short_buffer_is_efault_with_length)
{
	WCHAR path[64];
	GUID g = catalog_base_guid;
	int need = (int)strlen(CATALOG_BASE_PATH) + 1, len = need - 1, err;

	path[0] = 0x5a5a;
	cr_assert_eq(WSCGetProviderPath(&g, path, &len, &err), SOCKET_ERROR);
	cr_assert_eq(err, WSAEFAULT, "%s", wsa_name(err));
	cr_assert_eq(len, need);
	cr_assert_eq(path[0], 0x5a5a, "the buffer was written");
	len = 0;
	cr_assert_eq(WSCGetProviderPath(&g, NULL, &len, &err), SOCKET_ERROR);
	cr_assert_eq(err, WSAEFAULT);
	cr_assert_eq(len, need);
}

Test(provider_path, unknown_guid_is_einval)
{
	WCHAR path[64];
	GUID g = catalog_base_guid;
	int len = 64, err = 0;

	g.Data4[7] ^= 0xff;
	cr_assert_eq(WSCGetProviderPath(&g, path, &len, &err), SOCKET_ERROR);
	cr_assert_eq(err, WSAEINVAL, "%s", wsa_name(err));
	memset(&g, 0, sizeof(g));
	cr_assert_eq(WSCGetProviderPath(&g, path, &len, &err), SOCKET_ERROR);
	cr_assert_eq(err, WSAEINVAL, "nil GUID: %s", wsa_name(err));
}

Test(provider_path, null_arguments_are_efault)
{
	WCHAR path[64];
	GUID g = catalog_base_guid;
	int len = 64, err = 0;

	cr_assert_eq(WSCGetProviderPath(NULL, path, &len, &err),
	    SOCKET_ERROR);
	cr_assert_eq(err, WSAEFAULT);
	cr_assert_eq(WSCGetProviderPath(&g, path, NULL, &err), SOCKET_ERROR);
	cr_assert_eq(err, WSAEFAULT);
}

/* ------------------------------------------------------------------ */
/* WSADuplicateSocketW / WSADuplicateSocketA. */

/* A new descriptor from a token, which must work. */
static int
socket_from_token(LPWSAPROTOCOL_INFOW info)
{
	SOCKET s;

	WSASetLastError(WSAEINTR);
	s = WSASocketW(FROM, FROM, FROM, info, 0, 0);
	cr_assert_neq(s, INVALID_SOCKET, "WSASocketW(token): %s",
	    wsa_name(WSAGetLastError()));
	assert_error(0, "WSASocketW(token)");
	return (int)s;
}

ParameterizedTestParameters(duplicate, token_makes_a_working_descriptor)
{
	static struct kind cases[] = { KIND_ROWS };

	return cr_make_param_array(struct kind, cases, NELEM(cases));
}

ParameterizedTest(struct kind *k, duplicate, token_makes_a_working_descriptor)
{
	WSAPROTOCOL_INFOW info;
	struct pair p;
	int dup;

	start();
	pair_open(&p, k->af, k->type, k->proto);
	memset(&info, 0, sizeof(info));
	cr_assert_eq(WSADuplicateSocketW((SOCKET)p.cli, (DWORD)getpid(),
	    &info), 0, "%s", wsa_name(WSAGetLastError()));
	cr_assert_eq(info.dwCatalogEntryId, k->id, "the struct names the "
	    "socket's entry");
	cr_assert_eq(info.iAddressFamily, k->af);
	cr_assert_neq(info.dwProviderReserved, 0, "the token");
	dup = socket_from_token(&info);
	cr_assert_neq(dup, p.cli);
	cr_assert_eq(socket_entry_id(dup), k->id);
	cr_assert_neq(fcntl(dup, F_GETFD) & FD_CLOEXEC, 0,
	    "a duplicate is close-on-exec");
	expect_flow(dup, p.peer, "through the duplicate");
	expect_flow(p.cli, p.peer, "through the source");
	if (k->type != SOCK_DGRAM)
		expect_flow(p.peer, dup, "to the duplicate");
}

Test(duplicate, protocol_info_of_the_duplicate_is_the_entry)
{
	WSAPROTOCOL_INFOW info, got;
	int src, dup, len = (int)sizeof(got), err;

	start();
	src = api_socket(AF_INET6, SOCK_DGRAM, 0, 0);
	cr_assert_eq(WSADuplicateSocketW((SOCKET)src, (DWORD)getpid(),
	    &info), 0);
	dup = socket_from_token(&info);
	cr_assert_eq(chain_getsockopt(dup, SO_PROTOCOL_INFOW, &got, &len,
	    &err), 0, "%s", wsa_name(err));
	cr_assert_arr_eq(&got, &catalog_by_id(NULL, UDP6)->info,
	    sizeof(got), "no token left in dwProviderReserved");
}

Test(duplicate, token_is_one_shot)
{
	WSAPROTOCOL_INFOW info, copy;
	int src;

	start();
	src = api_socket(AF_INET, SOCK_STREAM, 0, 0);
	cr_assert_eq(WSADuplicateSocketW((SOCKET)src, (DWORD)getpid(),
	    &info), 0);
	copy = info;
	(void)socket_from_token(&info);
	api_socket_fails(FROM, FROM, FROM, &copy, 0, 0, WSAEINVAL);
	api_socket_fails(AF_INET, SOCK_STREAM, IPPROTO_TCP, &copy, 0, 0,
	    WSAEINVAL);
}

/* With a token, g and dwFlags are ignored: the socket is the source's. */
Test(duplicate, token_ignores_group_and_flags)
{
	WSAPROTOCOL_INFOW info;
	struct pair p;
	int dup;
	SOCKET s;

	start();
	pair_open(&p, AF_INET, SOCK_DGRAM, 0);
	cr_assert_eq(WSADuplicateSocketW((SOCKET)p.cli, (DWORD)getpid(),
	    &info), 0);
	s = WSASocketW(AF_INET6, 99, 300, &info, 5,
	    0x20 | WSA_FLAG_MULTIPOINT_C_ROOT | WSA_FLAG_WSPSHIM_NONBLOCK);
	cr_assert_neq(s, INVALID_SOCKET, "%s", wsa_name(WSAGetLastError()));
	dup = (int)s;
	cr_assert_eq(sockopt_int(dup, SOL_SOCKET, SO_DOMAIN), AF_INET);
	cr_assert_eq(sockopt_int(dup, SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
	cr_assert_eq(fcntl(dup, F_GETFL) & O_NONBLOCK, 0,
	    "dwFlags were applied");
	expect_flow(dup, p.peer, "token wins");
}

Test(duplicate, each_call_gives_its_own_token)
{
	WSAPROTOCOL_INFOW a, b;
	int src, da, db;

	start();
	src = api_socket(AF_UNIX, SOCK_STREAM, 0, 0);
	cr_assert_eq(WSADuplicateSocketW((SOCKET)src, (DWORD)getpid(), &a),
	    0);
	cr_assert_eq(WSADuplicateSocketW((SOCKET)src, (DWORD)getpid(), &b),
	    0);
	cr_assert_neq(a.dwProviderReserved, b.dwProviderReserved);
	db = socket_from_token(&b);
	da = socket_from_token(&a);
	cr_assert(da != db && da != src && db != src);
}

Test(duplicate, survives_closing_the_source_first)
{
	WSAPROTOCOL_INFOW info;
	struct pair p;
	int dup;

	start();
	pair_open(&p, AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(WSADuplicateSocketW((SOCKET)p.cli, (DWORD)getpid(),
	    &info), 0);
	cr_assert_eq(closesocket((SOCKET)p.cli), 0);
	assert_closed(p.cli, "source");
	dup = socket_from_token(&info);
	expect_flow(dup, p.peer, "source closed before the token was used");
	expect_flow(p.peer, dup, "reply");
}

Test(duplicate, survives_closing_the_source_after)
{
	WSAPROTOCOL_INFOW info;
	struct pair p;
	int dup;

	start();
	pair_open(&p, AF_UNIX, SOCK_SEQPACKET, 0);
	cr_assert_eq(WSADuplicateSocketW((SOCKET)p.cli, (DWORD)getpid(),
	    &info), 0);
	dup = socket_from_token(&info);
	cr_assert_eq(closesocket((SOCKET)p.cli), 0);
	expect_flow(dup, p.peer, "source closed after");
	cr_assert_eq(closesocket((SOCKET)dup), 0);
	assert_closed(dup, "duplicate");
}

Test(duplicate, a_form_round_trips_through_socketa)
{
	WSAPROTOCOL_INFOA a;
	struct pair p;
	SOCKET s;

	start();
	pair_open(&p, AF_INET6, SOCK_STREAM, 0);
	cr_assert_eq(WSADuplicateSocketA((SOCKET)p.cli, (DWORD)getpid(), &a),
	    0, "%s", wsa_name(WSAGetLastError()));
	cr_assert_eq(a.dwCatalogEntryId, TCP6);
	cr_assert_str_eq(a.szProtocol, "wspshim [TCP/IPv6]");
	s = WSASocketA(FROM, FROM, FROM, &a, 0, 0);
	cr_assert_neq(s, INVALID_SOCKET, "%s", wsa_name(WSAGetLastError()));
	expect_flow((int)s, p.peer, "A token");
	cr_assert_eq(WSASocketA(FROM, FROM, FROM, &a, 0, 0), INVALID_SOCKET,
	    "an A token is one-shot too");
	assert_error(WSAEINVAL, "WSASocketA(used token)");
}

/* A socket made with socket() is taken in by the API on first use. */
Test(duplicate, works_on_a_plain_socket)
{
	WSAPROTOCOL_INFOW info;
	int fd, dup;

	start();
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(WSADuplicateSocketW((SOCKET)fd, (DWORD)getpid(), &info),
	    0, "%s", wsa_name(WSAGetLastError()));
	cr_assert_eq(info.dwCatalogEntryId, UDP);
	dup = socket_from_token(&info);
	cr_assert_eq(sockopt_int(dup, SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
	cr_assert_eq(WSACleanup(), 0);
	assert_closed(dup, "the duplicate came from WSASocket");
	cr_assert(fd_is_open(fd), "the plain socket stays the program's");
}

/* A pid that surely names no process: a reaped child's. */
static DWORD
dead_pid(void)
{
	pid_t pid = fork();
	int status;

	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0)
		_exit(0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return (DWORD)pid;
}

/* A child that has exited and is not reaped (the caller reaps it). */
static DWORD
zombie_pid(void)
{
	siginfo_t si;
	pid_t pid = fork();

	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0)
		_exit(0);
	memset(&si, 0, sizeof(si));
	cr_assert_eq(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
	return (DWORD)pid;
}

struct pid_case {
	char	name[32];
	int	which;		/* 0 zombie, 1 dead, 2 zero, 3 too big */
	int	err;
};

ParameterizedTestParameters(duplicate, other_processes_are_refused)
{
	static struct pid_case cases[] = {
		{ "exited, not yet reaped", 0, WSAEINVAL },
		{ "no such process", 1, WSAEINVAL },
		{ "pid 0", 2, WSAEINVAL },
		{ "pid above INT_MAX", 3, WSAEINVAL },
	};

	return cr_make_param_array(struct pid_case, cases, NELEM(cases));
}

ParameterizedTest(struct pid_case *c, duplicate, other_processes_are_refused)
{
	static const DWORD fixed[] = { 0, 0, 0, 0x80000000u };
	WSAPROTOCOL_INFOW w;
	WSAPROTOCOL_INFOA a;
	DWORD pid = fixed[c->which];
	int src, before;

	if (c->which == 0)
		pid = zombie_pid();
	else if (c->which == 1)
		pid = dead_pid();
	start();
	src = api_socket(AF_INET, SOCK_STREAM, 0, 0);
	before = fd_count();
	cr_assert_eq(WSADuplicateSocketW((SOCKET)src, pid, &w), SOCKET_ERROR,
	    "%s", c->name);
	assert_error(c->err, c->name);
	cr_assert_eq(WSADuplicateSocketA((SOCKET)src, pid, &a), SOCKET_ERROR,
	    "%s (A)", c->name);
	assert_error(c->err, c->name);
	/* The process id is checked before the buffer. */
	cr_assert_eq(WSADuplicateSocketW((SOCKET)src, pid, NULL),
	    SOCKET_ERROR);
	assert_error(c->err, "NULL struct, W");
	cr_assert_eq(WSADuplicateSocketA((SOCKET)src, pid, NULL),
	    SOCKET_ERROR);
	assert_error(c->err, "NULL struct, A");
	cr_assert_eq(fd_count(), before, "a refused token holds a "
	    "descriptor");
	if (c->which == 0)
		waitpid((pid_t)pid, NULL, 0);
}

Test(duplicate, null_struct_is_efault)
{
	int src;

	start();
	src = api_socket(AF_INET, SOCK_DGRAM, 0, 0);
	cr_assert_eq(WSADuplicateSocketW((SOCKET)src, (DWORD)getpid(), NULL),
	    SOCKET_ERROR);
	assert_error(WSAEFAULT, "W");
	cr_assert_eq(WSADuplicateSocketA((SOCKET)src, (DWORD)getpid(), NULL),
	    SOCKET_ERROR);
	assert_error(WSAEFAULT, "A");
}

struct notsock_case {
	char	name[24];
	int	what;		/* 0 pipe, 1 closed, 2 INVALID_SOCKET,
				 * 3 regular file */
};

#define NOTSOCK_ROWS \
	{ "pipe", 0 }, { "closed descriptor", 1 }, \
	{ "INVALID_SOCKET", 2 }, { "regular file", 3 }

/* A SOCKET that names no socket, of the kind c asks for; *keep gets a
 * descriptor that must stay open (or -1). */
static SOCKET
not_a_socket(int what, int *keep)
{
	int pfd[2], fd;

	*keep = -1;
	switch (what) {
	case 0:
		cr_assert_eq(pipe(pfd), 0);
		*keep = pfd[1];
		return (SOCKET)pfd[0];
	case 1:
		fd = socket(AF_INET, SOCK_STREAM, 0);
		cr_assert_geq(fd, 0);
		close(fd);
		return (SOCKET)fd;
	case 2:
		return INVALID_SOCKET;
	default:
		fd = open("/proc/self/stat", O_RDONLY);
		cr_assert_geq(fd, 0);
		*keep = fd;
		return (SOCKET)fd;
	}
}

ParameterizedTestParameters(duplicate, non_socket_is_enotsock)
{
	static struct notsock_case cases[] = { NOTSOCK_ROWS };

	return cr_make_param_array(struct notsock_case, cases, NELEM(cases));
}

ParameterizedTest(struct notsock_case *c, duplicate, non_socket_is_enotsock)
{
	WSAPROTOCOL_INFOW w;
	WSAPROTOCOL_INFOA a;
	SOCKET s;
	int keep;

	start();
	s = not_a_socket(c->what, &keep);
	cr_assert_eq(WSADuplicateSocketW(s, (DWORD)getpid(), &w),
	    SOCKET_ERROR, "%s", c->name);
	assert_error(WSAENOTSOCK, c->name);
	cr_assert_eq(WSADuplicateSocketA(s, (DWORD)getpid(), &a),
	    SOCKET_ERROR, "%s (A)", c->name);
	assert_error(WSAENOTSOCK, c->name);
	/* Not a socket is found before the missing struct, as in W. */
	cr_assert_eq(WSADuplicateSocketW(s, (DWORD)getpid(), NULL),
	    SOCKET_ERROR);
	assert_error(WSAENOTSOCK, "NULL struct, W");
	cr_assert_eq(WSADuplicateSocketA(s, (DWORD)getpid(), NULL),
	    SOCKET_ERROR);
	assert_error(WSAENOTSOCK, "NULL struct, A");
	if (keep >= 0)
		cr_assert(fd_is_open(keep));
}

/* ------------------------------------------------------------------ */
/* closesocket. */

ParameterizedTestParameters(closesocket, non_socket_is_enotsock_and_stays_open)
{
	static struct notsock_case cases[] = { NOTSOCK_ROWS };

	return cr_make_param_array(struct notsock_case, cases, NELEM(cases));
}

ParameterizedTest(struct notsock_case *c, closesocket,
    non_socket_is_enotsock_and_stays_open)
{
	SOCKET s;
	int keep;

	start();
	s = not_a_socket(c->what, &keep);
	cr_assert_eq(closesocket(s), SOCKET_ERROR, "%s", c->name);
	assert_error(WSAENOTSOCK, c->name);
	if (c->what == 0 || c->what == 3)
		cr_assert(fd_is_open((int)s), "%s was closed", c->name);
	if (keep >= 0)
		cr_assert(fd_is_open(keep));
}

Test(closesocket, pipe_still_carries_data)
{
	char b = 0;
	int pfd[2];

	start();
	cr_assert_eq(pipe(pfd), 0);
	cr_assert_eq(closesocket((SOCKET)pfd[0]), SOCKET_ERROR);
	cr_assert_eq(closesocket((SOCKET)pfd[1]), SOCKET_ERROR);
	assert_error(WSAENOTSOCK, "closesocket(pipe)");
	cr_assert_eq(write(pfd[1], "x", 1), 1);
	wait_for(pfd[0], POLLIN);
	cr_assert_eq(read(pfd[0], &b, 1), 1);
	cr_assert_eq(b, 'x');
}

Test(closesocket, closes_api_and_plain_sockets_once)
{
	int api, plain;

	start();
	api = api_socket(AF_INET, SOCK_STREAM, 0, 0);
	plain = socket(AF_UNIX, SOCK_DGRAM, 0);
	cr_assert_geq(plain, 0);
	cr_assert_eq(closesocket((SOCKET)api), 0);
	assert_closed(api, "API socket");
	cr_assert_eq(closesocket((SOCKET)plain), 0);
	assert_closed(plain, "plain socket");
	cr_assert_eq(closesocket((SOCKET)api), SOCKET_ERROR);
	assert_error(WSAENOTSOCK, "second closesocket");
}

/* ------------------------------------------------------------------ */
/* Address strings. */

struct addr_case {
	char		s[48];
	int		af;
	char		addr[40];	/* for inet_pton; "" for AF_UNIX */
	uint16_t	port;
};

ParameterizedTestParameters(addrstr, round_trips)
{
	static struct addr_case cases[] = {
		{ "127.0.0.1:80", AF_INET, "127.0.0.1", 80 },
		{ "127.0.0.1", AF_INET, "127.0.0.1", 0 },
		{ "10.1.2.3:65535", AF_INET, "10.1.2.3", 65535 },
		{ "[::1]:443", AF_INET6, "::1", 443 },
		{ "::1", AF_INET6, "::1", 0 },
		{ "[2001:db8::7]:1", AF_INET6, "2001:db8::7", 1 },
		{ "@wsa-test", AF_UNIX, "", 0 },
		{ "/run/wsa.sock", AF_UNIX, "", 0 },
	};

	return cr_make_param_array(struct addr_case, cases, NELEM(cases));
}

/* The sockaddr parsed from c must hold c's address and port. */
static void
assert_parsed(const struct addr_case *c, const struct sockaddr_storage *ss,
    int len)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	const struct sockaddr_un *sun = (const struct sockaddr_un *)ss;
	unsigned char want[16];

	cr_assert_eq(ss->ss_family, c->af, "%s", c->s);
	if (c->af == AF_INET) {
		cr_assert_eq(len, (int)sizeof(*sin));
		cr_assert_eq(inet_pton(AF_INET, c->addr, want), 1);
		cr_assert_arr_eq(&sin->sin_addr, want, 4, "%s", c->s);
		cr_assert_eq(ntohs(sin->sin_port), c->port, "%s", c->s);
	} else if (c->af == AF_INET6) {
		cr_assert_eq(len, (int)sizeof(*sin6));
		cr_assert_eq(inet_pton(AF_INET6, c->addr, want), 1);
		cr_assert_arr_eq(&sin6->sin6_addr, want, 16, "%s", c->s);
		cr_assert_eq(ntohs(sin6->sin6_port), c->port, "%s", c->s);
	} else if (c->s[0] == '@') {
		cr_assert_eq(len, (int)(offsetof(struct sockaddr_un, sun_path)
		    + strlen(c->s)), "abstract: exact length");
		cr_assert_eq(sun->sun_path[0], '\0');
		cr_assert_arr_eq(sun->sun_path + 1, c->s + 1,
		    strlen(c->s) - 1);
	} else {
		cr_assert_str_eq(sun->sun_path, c->s);
	}
}

ParameterizedTest(struct addr_case *c, addrstr, round_trips)
{
	struct sockaddr_storage ss;
	WCHAR w[128], back[128];
	char a[128];
	int len = (int)sizeof(ss);
	DWORD n = 128;

	start();
	wstr_from_utf8(w, NELEM(w), c->s);
	memset(&ss, 0, sizeof(ss));
	cr_assert_eq(WSAStringToAddressW(w, c->af, NULL, (LPSOCKADDR)&ss,
	    &len), 0, "%s: %s", c->s, wsa_name(WSAGetLastError()));
	assert_parsed(c, &ss, len);
	cr_assert_eq(WSAAddressToStringW((LPSOCKADDR)&ss, (DWORD)len, NULL,
	    back, &n), 0, "%s: %s", c->s, wsa_name(WSAGetLastError()));
	cr_assert(wname_is(back, c->s), "W round trip of %s", c->s);
	cr_assert_eq(n, strlen(c->s) + 1, "%s: characters written", c->s);
	/* The same through the A forms. */
	strlcpy(a, c->s, sizeof(a));
	len = (int)sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	cr_assert_eq(WSAStringToAddressA(a, c->af, NULL, (LPSOCKADDR)&ss,
	    &len), 0, "%s (A): %s", c->s, wsa_name(WSAGetLastError()));
	assert_parsed(c, &ss, len);
	n = sizeof(a);
	memset(a, 0, sizeof(a));
	cr_assert_eq(WSAAddressToStringA((LPSOCKADDR)&ss, (DWORD)len, NULL,
	    a, &n), 0, "%s (A): %s", c->s, wsa_name(WSAGetLastError()));
	cr_assert_str_eq(a, c->s);
	cr_assert_eq(n, strlen(c->s) + 1, "%s (A): bytes written", c->s);
}

struct bad_case {
	char	s[48];
	int	af;
};

ParameterizedTestParameters(addrstr, bad_strings_are_einval)
{
	static struct bad_case cases[] = {
		{ "", AF_INET }, { "localhost", AF_INET },
		{ "127.0.0.1:", AF_INET }, { "127.0.0.1:65536", AF_INET },
		{ "127.0.0.1:8x", AF_INET }, { "127.0.0.1:-1", AF_INET },
		{ "256.0.0.1", AF_INET }, { "127.0.0.1 ", AF_INET },
		{ "[127.0.0.1]:80", AF_INET }, { "::1", AF_INET },
		{ "[::1]:", AF_INET6 }, { "[::1", AF_INET6 },
		{ "::1]:80", AF_INET6 }, { "[::1]80", AF_INET6 },
		{ "127.0.0.1", AF_INET6 }, { "[::1]:99999", AF_INET6 },
		{ "127.0.0.1:80", AF_APPLETALK }, { "127.0.0.1:80", 0 },
	};

	return cr_make_param_array(struct bad_case, cases, NELEM(cases));
}

ParameterizedTest(struct bad_case *c, addrstr, bad_strings_are_einval)
{
	struct sockaddr_storage ss;
	WCHAR w[64];
	char a[64];
	int len = (int)sizeof(ss);

	start();
	wstr_from_utf8(w, NELEM(w), c->s);
	cr_assert_eq(WSAStringToAddressW(w, c->af, NULL, (LPSOCKADDR)&ss,
	    &len), SOCKET_ERROR, "\"%s\" parsed", c->s);
	assert_error(WSAEINVAL, c->s);
	strlcpy(a, c->s, sizeof(a));
	len = (int)sizeof(ss);
	cr_assert_eq(WSAStringToAddressA(a, c->af, NULL, (LPSOCKADDR)&ss,
	    &len), SOCKET_ERROR, "\"%s\" parsed (A)", c->s);
	assert_error(WSAEINVAL, c->s);
}

struct strlen_case {
	char	s[48];
	int	af;
	int	wide;
	DWORD	len;		/* what the caller offers */
	int	null_buf;
};

ParameterizedTestParameters(addrstr, short_string_buffer_is_efault)
{
	static struct strlen_case cases[] = {
		{ "127.0.0.1:80", AF_INET, 1, 12, 0 },
		{ "127.0.0.1:80", AF_INET, 1, 0, 1 },
		{ "127.0.0.1:80", AF_INET, 0, 12, 0 },
		{ "127.0.0.1:80", AF_INET, 0, 1, 1 },
		{ "[::1]:443", AF_INET6, 1, 9, 0 },
		{ "[::1]:443", AF_INET6, 0, 1, 0 },
		{ "127.0.0.1", AF_INET, 0, 9, 0 },
	};

	return cr_make_param_array(struct strlen_case, cases, NELEM(cases));
}

ParameterizedTest(struct strlen_case *c, addrstr,
    short_string_buffer_is_efault)
{
	struct sockaddr_storage ss;
	WCHAR w[64];
	char a[64];
	DWORD n = c->len, need = (DWORD)strlen(c->s) + 1;
	int len = (int)sizeof(ss), rc;

	start();
	cr_assert_eq(WSAStringToAddressA(c->s, c->af, NULL, (LPSOCKADDR)&ss,
	    &len), 0);
	w[0] = 0x5a5a;
	a[0] = 'Z';
	if (c->wide)
		rc = WSAAddressToStringW((LPSOCKADDR)&ss, (DWORD)len, NULL,
		    c->null_buf ? NULL : w, &n);
	else
		rc = WSAAddressToStringA((LPSOCKADDR)&ss, (DWORD)len, NULL,
		    c->null_buf ? NULL : a, &n);
	cr_assert_eq(rc, SOCKET_ERROR, "%s", c->s);
	assert_error(WSAEFAULT, c->s);
	cr_assert_eq(n, need, "%s: length needed %u, got %u", c->s, need, n);
	cr_assert(w[0] == 0x5a5a && a[0] == 'Z', "the buffer was written");
	/* The length it asked for is enough. */
	if (c->wide)
		rc = WSAAddressToStringW((LPSOCKADDR)&ss, (DWORD)len, NULL, w,
		    &n);
	else
		rc = WSAAddressToStringA((LPSOCKADDR)&ss, (DWORD)len, NULL, a,
		    &n);
	cr_assert_eq(rc, 0, "%s: %s", c->s, wsa_name(WSAGetLastError()));
}

Test(addrstr, short_address_buffer_is_efault_with_size)
{
	struct sockaddr_in6 sin6;
	WCHAR w[] = { '[', ':', ':', '1', ']', ':', '8', 0 };
	char a[] = "10.0.0.1:8";
	int len = (int)sizeof(sin6) - 1;

	start();
	cr_assert_eq(WSAStringToAddressW(w, AF_INET6, NULL,
	    (LPSOCKADDR)&sin6, &len), SOCKET_ERROR);
	assert_error(WSAEFAULT, "W");
	cr_assert_eq(len, (int)sizeof(sin6));
	len = 0;
	cr_assert_eq(WSAStringToAddressA(a, AF_INET, NULL, NULL, &len),
	    SOCKET_ERROR);
	assert_error(WSAEFAULT, "A, NULL address");
	cr_assert_eq(len, (int)sizeof(struct sockaddr_in));
}

Test(addrstr, bad_addresses_are_einval_or_efault)
{
	struct sockaddr_storage ss;
	WCHAR w[64];
	DWORD n = 64;

	start();
	loopback(AF_INET, &ss);
	cr_assert_eq(WSAAddressToStringW((LPSOCKADDR)&ss,
	    sizeof(struct sockaddr_in) - 1, NULL, w, &n), SOCKET_ERROR);
	assert_error(WSAEINVAL, "short sockaddr_in");
	cr_assert_eq(WSAAddressToStringW((LPSOCKADDR)&ss, 1, NULL, w, &n),
	    SOCKET_ERROR);
	assert_error(WSAEINVAL, "no room for the family");
	ss.ss_family = AF_APPLETALK;
	cr_assert_eq(WSAAddressToStringW((LPSOCKADDR)&ss, sizeof(ss), NULL,
	    w, &n), SOCKET_ERROR);
	assert_error(WSAEINVAL, "unknown family");
	cr_assert_eq(WSAAddressToStringW(NULL, sizeof(ss), NULL, w, &n),
	    SOCKET_ERROR);
	assert_error(WSAEFAULT, "NULL address");
	loopback(AF_INET, &ss);
	cr_assert_eq(WSAAddressToStringW((LPSOCKADDR)&ss, sizeof(ss), NULL,
	    w, NULL), SOCKET_ERROR);
	assert_error(WSAEFAULT, "NULL length");
	cr_assert_eq(WSAAddressToStringA((LPSOCKADDR)&ss, sizeof(ss), NULL,
	    NULL, NULL), SOCKET_ERROR);
	assert_error(WSAEFAULT, "NULL length (A)");
	cr_assert_eq(WSAStringToAddressW(NULL, AF_INET, NULL,
	    (LPSOCKADDR)&ss, (int[]){ sizeof(ss) }), SOCKET_ERROR);
	assert_error(WSAEFAULT, "NULL string");
	cr_assert_eq(WSAStringToAddressA(NULL, AF_INET, NULL,
	    (LPSOCKADDR)&ss, (int[]){ sizeof(ss) }), SOCKET_ERROR);
	assert_error(WSAEFAULT, "NULL string (A)");
}

/* A protocol struct picks the provider, and for AF_UNSPEC the family. */
Test(addrstr, protocol_struct_gives_the_family)
{
	struct sockaddr_storage ss;
	WSAPROTOCOL_INFOW info;
	WSAPROTOCOL_INFOA ainfo;
	WCHAR w[] = { '1', '.', '2', '.', '3', '.', '4', ':', '5', 0 };
	WCHAR out[64];
	DWORD n = 64;
	int len = (int)sizeof(ss);

	start();
	enum_entry_w(UDP, &info);
	cr_assert_eq(WSAStringToAddressW(w, AF_UNSPEC, &info,
	    (LPSOCKADDR)&ss, &len), 0, "%s", wsa_name(WSAGetLastError()));
	cr_assert_eq(ss.ss_family, AF_INET);
	cr_assert_eq(WSAAddressToStringW((LPSOCKADDR)&ss, (DWORD)len, &info,
	    out, &n), 0);
	cr_assert(wname_is(out, "1.2.3.4:5"));
	catalog_info_to_a(&info, &ainfo);
	len = (int)sizeof(ss);
	cr_assert_eq(WSAStringToAddressA("6.7.8.9", AF_UNSPEC, &ainfo,
	    (LPSOCKADDR)&ss, &len), 0);
	cr_assert_eq(((struct sockaddr_in *)&ss)->sin_addr.s_addr,
	    htonl(0x06070809));
	len = (int)sizeof(ss);
	cr_assert_eq(WSAStringToAddressW(w, AF_UNSPEC, NULL,
	    (LPSOCKADDR)&ss, &len), SOCKET_ERROR);
	assert_error(WSAEINVAL, "AF_UNSPEC without a struct");
	info.dwCatalogEntryId = 4242;
	len = (int)sizeof(ss);
	cr_assert_eq(WSAStringToAddressW(w, AF_INET, &info,
	    (LPSOCKADDR)&ss, &len), SOCKET_ERROR);
	assert_error(WSAEINVAL, "unknown entry id");
}

/* ------------------------------------------------------------------ */
/* WSAIoctl. */

Test(ioctl, base_handle_is_the_descriptor)
{
	int fd, out = -1;
	DWORD n = 0;

	start();
	fd = api_socket(AF_INET6, SOCK_STREAM, 0, 0);
	WSASetLastError(WSAEINTR);
	cr_assert_eq(WSAIoctl((SOCKET)fd, SIO_BASE_HANDLE, NULL, 0, &out,
	    sizeof(out), &n, NULL, NULL), 0, "%s",
	    wsa_name(WSAGetLastError()));
	assert_error(0, "WSAIoctl success");
	cr_assert_eq(out, fd);
	cr_assert_eq(n, sizeof(int));
}

/* SIO_BSP_HANDLE answers the base provider's own handle, which is no
 * descriptor: the chain socket's base handle. */
Test(ioctl, bsp_handle_is_the_base_handle)
{
	SOCKET h = 0;
	DWORD n = 0;
	int fd;

	start();
	fd = api_socket(AF_UNIX, SOCK_DGRAM, 0, 0);
	cr_assert_eq(WSAIoctl((SOCKET)fd, SIO_BSP_HANDLE, NULL, 0, &h,
	    sizeof(h), &n, NULL, NULL), 0, "%s",
	    wsa_name(WSAGetLastError()));
	cr_assert_eq(n, sizeof(SOCKET));
	cr_assert_eq(h, fdtab_get(fd)->base);
	cr_assert_gt(h, (SOCKET)INT_MAX, "not a descriptor");
}

/* SIOCATMARK keeps Linux's answer: 0 with no urgent data pending. */
Test(ioctl, siocatmark_is_linux_answer)
{
	struct pair p;
	int v = -1;
	DWORD n;

	start();
	pair_open(&p, AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(WSAIoctl((SOCKET)p.cli, SIOCATMARK, NULL, 0, &v,
	    sizeof(v), &n, NULL, NULL), 0, "%s",
	    wsa_name(WSAGetLastError()));
	cr_assert_eq(v, 0);
}

/* A socket no catalog entry covers is not one the API can act on, but
 * closesocket still closes it. */
Test(ioctl, socket_of_no_catalog_entry_is_enotsock)
{
	WSAPROTOCOL_INFOW info;
	unsigned long v;
	DWORD n;
	int fd;

	start();
	fd = socket(AF_NETLINK, SOCK_RAW, 0);
	cr_assert_geq(fd, 0, "socket(AF_NETLINK): %s", strerror(errno));
	cr_assert_eq(WSAIoctl((SOCKET)fd, FIONREAD, NULL, 0, &v, sizeof(v),
	    &n, NULL, NULL), SOCKET_ERROR);
	assert_error(WSAENOTSOCK, "WSAIoctl(netlink)");
	cr_assert_eq(WSADuplicateSocketW((SOCKET)fd, (DWORD)getpid(), &info),
	    SOCKET_ERROR);
	assert_error(WSAENOTSOCK, "WSADuplicateSocketW(netlink)");
	cr_assert(fd_is_open(fd));
	cr_assert_eq(closesocket((SOCKET)fd), 0, "%s",
	    wsa_name(WSAGetLastError()));
	assert_closed(fd, "netlink socket");
}

Test(ioctl, fionbio_toggles_o_nonblock)
{
	unsigned long on = 1, off = 0;
	int fd, ion = 1;
	DWORD n;

	start();
	fd = api_socket(AF_UNIX, SOCK_STREAM, 0, 0);
	cr_assert_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	cr_assert_eq(WSAIoctl((SOCKET)fd, FIONBIO, &on, sizeof(on), NULL, 0,
	    &n, NULL, NULL), 0, "%s", wsa_name(WSAGetLastError()));
	cr_assert_neq(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	cr_assert_eq(WSAIoctl((SOCKET)fd, FIONBIO, &off, sizeof(off), NULL,
	    0, &n, NULL, NULL), 0);
	cr_assert_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	cr_assert_eq(WSAIoctl((SOCKET)fd, FIONBIO, &ion, sizeof(ion), NULL,
	    0, &n, NULL, NULL), 0, "an int argument");
	cr_assert_neq(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	cr_assert_eq(WSAIoctl((SOCKET)fd, FIONBIO, NULL, 0, NULL, 0, &n,
	    NULL, NULL), SOCKET_ERROR);
	assert_error(WSAEFAULT, "FIONBIO without an argument");
}

/* Wait (bounded) until FIONREAD on fd says want; the last answer. */
static unsigned long
fionread_until(int fd, unsigned long want)
{
	unsigned long v = 0;
	DWORD n;
	int i;

	for (i = 0; i < WAIT_MS / 10; i++) {
		cr_assert_eq(WSAIoctl((SOCKET)fd, FIONREAD, NULL, 0, &v,
		    sizeof(v), &n, NULL, NULL), 0, "%s",
		    wsa_name(WSAGetLastError()));
		cr_assert_eq(n, sizeof(v));
		if (v == want)
			break;
		poll(NULL, 0, 10);
	}
	return v;
}

Test(ioctl, fionread_counts_queued_bytes)
{
	struct pair p;
	char buf[16];

	start();
	pair_open(&p, AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(fionread_until(p.peer, 0), 0);
	cr_assert_eq(send(p.cli, "abc", 3, 0), 3);
	cr_assert_eq(send(p.cli, "defg", 4, 0), 4);
	cr_assert_eq(fionread_until(p.peer, 7), 7);
	cr_assert_eq(recv(p.peer, buf, 2, MSG_DONTWAIT), 2);
	cr_assert_eq(fionread_until(p.peer, 5), 5);
}

Test(ioctl, fionread_with_an_int_buffer)
{
	struct pair p;
	int v = -1;
	DWORD n = 0;

	start();
	pair_open(&p, AF_UNIX, SOCK_DGRAM, 0);
	expect_flow(p.cli, p.peer, "x");
	cr_assert_eq(send(p.cli, "12345", 5, 0), 5);
	wait_for(p.peer, POLLIN);
	cr_assert_eq(WSAIoctl((SOCKET)p.peer, FIONREAD, NULL, 0, &v,
	    sizeof(v), &n, NULL, NULL), 0);
	cr_assert_eq(v, 5);
	cr_assert_eq(n, sizeof(int));
}

Test(ioctl, works_on_a_plain_socket)
{
	unsigned long on = 1;
	int fd, out = -1;
	DWORD n;

	start();
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(WSAIoctl((SOCKET)fd, FIONBIO, &on, sizeof(on), NULL, 0,
	    &n, NULL, NULL), 0, "%s", wsa_name(WSAGetLastError()));
	cr_assert_neq(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	cr_assert_eq(WSAIoctl((SOCKET)fd, SIO_BASE_HANDLE, NULL, 0, &out,
	    sizeof(out), &n, NULL, NULL), 0);
	cr_assert_eq(out, fd);
}

Test(ioctl, bad_requests_fail_with_their_codes)
{
	WSAOVERLAPPED ov;
	int fd, out, pfd[2];
	short small;
	DWORD n;

	start();
	fd = api_socket(AF_INET, SOCK_DGRAM, 0, 0);
	cr_assert_eq(WSAIoctl((SOCKET)fd, 0x12345678, NULL, 0, &out,
	    sizeof(out), &n, NULL, NULL), SOCKET_ERROR);
	assert_error(WSAEINVAL, "unknown code");
	cr_assert_eq(WSAIoctl((SOCKET)fd, SIO_BASE_HANDLE, NULL, 0, &small,
	    sizeof(small), &n, NULL, NULL), SOCKET_ERROR);
	assert_error(WSAEFAULT, "short out buffer");
	cr_assert_eq(WSAIoctl((SOCKET)fd, SIO_BASE_HANDLE, NULL, 0, &out,
	    sizeof(out), NULL, NULL, NULL), SOCKET_ERROR);
	assert_error(WSAEFAULT, "NULL byte count");
	/* Not an overlapped socket: the overlapped arguments are ignored. */
	memset(&ov, 0, sizeof(ov));
	ov.Internal = 12345;
	cr_assert_eq(WSAIoctl((SOCKET)fd, FIONREAD, NULL, 0, &out,
	    sizeof(out), &n, &ov, NULL), 0);
	cr_assert_eq(ov.Internal, 12345, "a synchronous call touched ov");
	cr_assert_eq(pipe(pfd), 0);
	cr_assert_eq(WSAIoctl((SOCKET)pfd[0], FIONREAD, NULL, 0, &out,
	    sizeof(out), &n, NULL, NULL), SOCKET_ERROR);
	assert_error(WSAENOTSOCK, "pipe");
}

/* ------------------------------------------------------------------ */
/* The last error belongs to the thread. */

static void *
other_thread(void *arg)
{
	int *seen = arg;

	seen[0] = WSAGetLastError();
	WSASetLastError(WSAECONNRESET);
	(void)WSASocketW(AF_INET, 99, 0, NULL, 0, 0);
	seen[1] = WSAGetLastError();
	return NULL;
}

Test(last_error, is_per_thread)
{
	pthread_t t;
	int seen[2] = { -1, -1 };

	start();
	WSASetLastError(WSAEWOULDBLOCK);
	cr_assert_eq(pthread_create(&t, NULL, other_thread, seen), 0);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(seen[0], 0, "a new thread starts at 0");
	cr_assert_eq(seen[1], WSAESOCKTNOSUPPORT, "the thread's own error");
	cr_assert_eq(WSAGetLastError(), WSAEWOULDBLOCK, "untouched here");
}

Test(last_error, get_returns_what_was_set)
{
	WSASetLastError(12345);
	cr_assert_eq(WSAGetLastError(), 12345);
	WSASetLastError(0);
	cr_assert_eq(WSAGetLastError(), 0);
}

/* ------------------------------------------------------------------ */
/* libc faults, injected through the libc table. */

static int inject_errno;

static int
socket_fails(int domain, int type, int protocol)
{
	errno = inject_errno;
	return -1;
}

static int
fcntl_fails(int fd, int cmd, ...)
{
	errno = inject_errno;
	return -1;
}

struct fault_case {
	char	name[16];
	int	errnum;
	int	code;
};

ParameterizedTestParameters(fault, socket_errno_becomes_the_code)
{
	static struct fault_case cases[] = {
		{ "EMFILE", EMFILE, WSAEMFILE },
		{ "ENFILE", ENFILE, WSAEMFILE },
		{ "ENOBUFS", ENOBUFS, WSAENOBUFS },
		{ "ENOMEM", ENOMEM, WSAENOBUFS },
		{ "EACCES", EACCES, WSAEACCES },
		{ "EPERM", EPERM, WSAEACCES },
		{ "EXDEV", EXDEV, WSASYSCALLFAILURE },
	};

	return cr_make_param_array(struct fault_case, cases, NELEM(cases));
}

ParameterizedTest(struct fault_case *c, fault, socket_errno_becomes_the_code)
{
	int fd, before;
	SOCKET s;

	start();
	before = fd_count();
	inject_errno = c->errnum;
	libc.socket = socket_fails;
	s = WSASocketW(AF_INET, SOCK_STREAM, 0, NULL, 0, 0);
	libc_reset();
	cr_assert_eq(s, INVALID_SOCKET, "%s", c->name);
	assert_error(c->code, c->name);
	cr_assert_eq(fd_count(), before);
	fd = api_socket(AF_INET, SOCK_STREAM, 0, 0);
	cr_assert_eq(closesocket((SOCKET)fd), 0, "works again after reset");
}

ParameterizedTestParameters(fault, duplicate_errno_becomes_the_code)
{
	static struct fault_case cases[] = {
		{ "EMFILE", EMFILE, WSAEMFILE },
		{ "ENOMEM", ENOMEM, WSAENOBUFS },
	};

	return cr_make_param_array(struct fault_case, cases, NELEM(cases));
}

ParameterizedTest(struct fault_case *c, fault,
    duplicate_errno_becomes_the_code)
{
	WSAPROTOCOL_INFOW info;
	int fd, rc;

	start();
	fd = api_socket(AF_INET, SOCK_DGRAM, 0, 0);
	inject_errno = c->errnum;
	libc.fcntl = fcntl_fails;
	rc = WSADuplicateSocketW((SOCKET)fd, (DWORD)getpid(), &info);
	libc_reset();
	cr_assert_eq(rc, SOCKET_ERROR, "%s", c->name);
	assert_error(c->code, c->name);
}

/* ------------------------------------------------------------------ */
/* A catalog published while WSAEnumProtocolsA runs. */

static struct catalog_entry small_entries[2];
static const struct catalog small_catalog = { 2, small_entries };
static _Atomic int flipping;

/* Publish the built-in and a two-entry catalog in turn until told. */
static void *
flip_catalogs(void *arg)
{
	unsigned i;

	for (i = 0; atomic_load(&flipping); i++)
		catalog_set_current(i % 2 ? &small_catalog : NULL);
	catalog_set_current(NULL);
	return NULL;
}

Test(enum_protocols, a_form_reads_one_catalog_per_call, .timeout = 60)
{
	WSAPROTOCOL_INFOA a[16];
	pthread_t t;
	DWORD len;
	int i, n;

	small_entries[0] = *catalog_by_id(NULL, TCP);
	small_entries[1] = *catalog_by_id(NULL, UDP6);
	start();
	atomic_store(&flipping, 1);
	cr_assert_eq(pthread_create(&t, NULL, flip_catalogs, NULL), 0);
	for (i = 0; i < 200000; i++) {
		len = sizeof(a);
		n = WSAEnumProtocolsA(NULL, a, &len);
		if (n != 2 && n != VISIBLE)
			break;
		if (len != (DWORD)n * INFO_A)
			break;
	}
	atomic_store(&flipping, 0);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(i, 200000, "call %d: %d entries (%s), length %u", i, n,
	    wsa_name(n < 0 ? WSAGetLastError() : 0), len);
}

/* ------------------------------------------------------------------ */
/* The first WSAStartup of a process, from many threads at once. */

#define RACERS	8		/* threads per process */
#define ROUNDS	24		/* processes, each with a fresh library */

static pthread_barrier_t race_start;

static void *
race_startup(void *arg)
{
	WSADATA d;
	int *rc = arg;

	pthread_barrier_wait(&race_start);
	*rc = WSAStartup(MAKEWORD(2, 2), &d);
	return NULL;
}

/* In a fresh process: RACERS threads start the library at once.  The
 * exit status is the number of starts that failed, or 100 for a balance
 * of WSACleanup calls that does not match. */
static void
race_once(void)
{
	pthread_t t[RACERS];
	int rc[RACERS], i, bad = 0;

	alarm(WAIT_MS / 1000 * 2);	/* a hang ends the round */
	if (pthread_barrier_init(&race_start, NULL, RACERS) != 0)
		_exit(100);
	for (i = 0; i < RACERS; i++) {
		rc[i] = -1;
		if (pthread_create(&t[i], NULL, race_startup, &rc[i]) != 0)
			_exit(100);
	}
	for (i = 0; i < RACERS; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < RACERS; i++)
		bad += rc[i] != 0;
	for (i = 0; i < RACERS - bad; i++)
		if (WSACleanup() != 0)
			_exit(100);
	_exit(WSACleanup() == SOCKET_ERROR ? bad : 100);
}

Test(startup, concurrent_first_starts_all_succeed, .timeout = 120)
{
	int round, status;
	pid_t pid;

	for (round = 0; round < ROUNDS; round++) {
		pid = fork();
		cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
		if (pid == 0) {
			alarm(20);	/* a hung child fails, bounded */
			race_once();
		}
		cr_assert_eq(waitpid(pid, &status, 0), pid);
		cr_assert(WIFEXITED(status), "round %d: killed by signal %d",
		    round, WTERMSIG(status));
		cr_assert_neq(WEXITSTATUS(status), 100, "round %d: the "
		    "WSACleanup count does not match the starts", round);
		cr_assert_eq(WEXITSTATUS(status), 0, "round %d: %d of %d "
		    "concurrent first WSAStartup calls failed", round,
		    WEXITSTATUS(status), RACERS);
	}
}

/* --- WSPShimNextProtocol: the struct a layer passes down ---------------- */

#define NEXT_TOP	2000u	/* the layers of next_catalog's chain */
#define NEXT_MID	2001u
#define NEXT_CHAIN	3000u
#define NEXT_BASE	CATALOG_FIRST_ID	/* TCP, the first base entry */

static struct catalog_entry next_entries[4];
static struct catalog next_cat = { .count = 4, .entries = next_entries };

/* Put in force a catalog of TCP's base entry, a chain over it (NEXT_TOP
 * then NEXT_MID then the base) and the two layers' own entries. */
static void
next_catalog(void)
{
	const struct catalog_entry *tcp = catalog_by_id(catalog_builtin(),
	    NEXT_BASE);
	WSAPROTOCOLCHAIN *pc;
	int i;

	cr_assert_not_null(tcp);
	next_entries[0] = *tcp;
	next_entries[1] = *tcp;
	next_entries[1].info.dwCatalogEntryId = NEXT_CHAIN;
	pc = &next_entries[1].info.ProtocolChain;
	pc->ChainLen = 3;
	pc->ChainEntries[0] = NEXT_TOP;
	pc->ChainEntries[1] = NEXT_MID;
	pc->ChainEntries[2] = NEXT_BASE;
	for (i = 2; i < 4; i++) {
		next_entries[i] = *tcp;
		next_entries[i].info.dwCatalogEntryId = i == 2 ? NEXT_TOP :
		    NEXT_MID;
		pc = &next_entries[i].info.ProtocolChain;
		pc->ChainLen = LAYERED_PROTOCOL;
		pc->ChainEntries[0] = next_entries[i].info.dwCatalogEntryId;
	}
	catalog_set_current(&next_cat);
}

Test(next, a_layer_above_a_layer_passes_the_same_struct)
{
	LPWSAPROTOCOL_INFOW chain;
	WSAPROTOCOL_INFOW scratch, copy;
	int err = 0;

	next_catalog();
	chain = &next_entries[1].info;
	/* Asked twice: the second answer comes from the cache. */
	cr_assert_eq(WSPShimNextProtocol(chain, NEXT_TOP, &scratch, &err),
	    chain);
	cr_assert_eq(WSPShimNextProtocol(chain, NEXT_TOP, &scratch, &err),
	    chain);
	/* A copy is checked in full and passed on as it is, too. */
	copy = *chain;
	cr_assert_eq(WSPShimNextProtocol(&copy, NEXT_TOP, NULL, &err), &copy);
	cr_assert_eq(err, 0);
}

Test(next, the_last_layer_passes_the_catalogs_base_entry)
{
	LPWSAPROTOCOL_INFOW chain, got;
	WSAPROTOCOL_INFOW copy;
	int err = 0, i;

	next_catalog();
	chain = &next_entries[1].info;
	for (i = 0; i < 2; i++) {
		got = WSPShimNextProtocol(chain, NEXT_MID, NULL, &err);
		cr_assert_eq(got, &next_entries[0].info, "round %d", i);
	}
	copy = *chain;
	cr_assert_eq(WSPShimNextProtocol(&copy, NEXT_MID, NULL, &err),
	    &next_entries[0].info);
	/* Answers are per (struct, layer): the top layer still gets the
	 * chain after the last one asked. */
	cr_assert_eq(WSPShimNextProtocol(chain, NEXT_TOP, NULL, &err), chain);
}

Test(next, a_token_travels_with_a_copy_of_the_base_entry)
{
	WSAPROTOCOL_INFOW chain, scratch, want;
	LPWSAPROTOCOL_INFOW got;
	int err = 0;

	next_catalog();
	chain = next_entries[1].info;
	chain.dwProviderReserved = 0xa8001234u;
	memset(&scratch, 0x5a, sizeof(scratch));
	got = WSPShimNextProtocol(&chain, NEXT_MID, &scratch, &err);
	cr_assert_eq(got, &scratch);
	want = next_entries[0].info;
	want.dwProviderReserved = 0xa8001234u;
	cr_assert_arr_eq(&scratch, &want, sizeof(want));
	/* Above a layer, the chain struct with its token goes as it is. */
	cr_assert_eq(WSPShimNextProtocol(&chain, NEXT_TOP, &scratch, &err),
	    &chain);
	/* No room for the copy. */
	err = 0;
	cr_assert_null(WSPShimNextProtocol(&chain, NEXT_MID, NULL, &err));
	cr_assert_eq(err, WSAEFAULT);
}

Test(next, bad_requests_are_refused)
{
	WSAPROTOCOL_INFOW chain, scratch;
	int err;

	next_catalog();
	chain = next_entries[1].info;
	err = 0;
	cr_assert_null(WSPShimNextProtocol(NULL, NEXT_TOP, &scratch, &err));
	cr_assert_eq(err, WSAEFAULT);
	err = 0;	/* not in the chain */
	cr_assert_null(WSPShimNextProtocol(&chain, 4242, &scratch, &err));
	cr_assert_eq(err, WSAEINVAL);
	err = 0;	/* the base is last: nothing below it */
	cr_assert_null(WSPShimNextProtocol(&chain, NEXT_BASE, &scratch,
	    &err));
	cr_assert_eq(err, WSAEINVAL);
	err = 0;	/* a base entry is no chain */
	cr_assert_null(WSPShimNextProtocol(&next_entries[0].info, NEXT_TOP,
	    &scratch, &err));
	cr_assert_eq(err, WSAEINVAL);
	chain.ProtocolChain.ChainEntries[1] = NEXT_TOP;	/* named twice */
	err = 0;
	cr_assert_null(WSPShimNextProtocol(&chain, NEXT_TOP, &scratch, &err));
	cr_assert_eq(err, WSAEINVAL);
	chain = next_entries[1].info;	/* names an entry that is not there */
	chain.ProtocolChain.ChainEntries[2] = 9999;
	err = 0;
	cr_assert_null(WSPShimNextProtocol(&chain, NEXT_MID, &scratch, &err));
	cr_assert_eq(err, WSAEINVAL);
	/* lpErrno may be NULL. */
	cr_assert_null(WSPShimNextProtocol(NULL, NEXT_TOP, &scratch, NULL));
}

Test(next, an_answer_does_not_outlive_a_changed_copy)
{
	WSAPROTOCOL_INFOW copy;
	int err = 0;

	next_catalog();
	copy = next_entries[1].info;
	cr_assert_eq(WSPShimNextProtocol(&copy, NEXT_MID, NULL, &err),
	    &next_entries[0].info);
	/* The same address, new content: judged afresh. */
	copy.ProtocolChain.ChainLen = 2;
	copy.ProtocolChain.ChainEntries[1] = NEXT_BASE;
	err = 0;
	cr_assert_null(WSPShimNextProtocol(&copy, NEXT_MID, NULL, &err));
	cr_assert_eq(err, WSAEINVAL);
}

/*
 * A catalog of NEXT_CHAINS chains over TCP's base entry, each of the same
 * NEXT_LAYERS layers in a rotated order (so each layer has a different
 * position in each chain, as one layer file over several chains has), the
 * layers' own entries, and the base: more (struct, layer) pairs than the
 * cache of answers has slots, and pairs with the same struct or the same
 * layer meeting in a slot.
 */
#define NEXT_CHAINS	48
#define NEXT_LAYERS	6
#define NEXT_MANY	(1 + NEXT_CHAINS + NEXT_LAYERS)

static struct catalog_entry many_entries[NEXT_MANY];
static struct catalog many_cat = { .count = NEXT_MANY,
    .entries = many_entries };

/* The id of the layer at position l of chain c. */
static DWORD
many_layer(int c, int l)
{
	return 5000u + (DWORD)((c + l) % NEXT_LAYERS);
}

/* Put the many-chain catalog in force. */
static void
many_catalog(void)
{
	const struct catalog_entry *tcp = catalog_by_id(catalog_builtin(),
	    NEXT_BASE);
	struct catalog_entry *e;
	int c, l;

	cr_assert_not_null(tcp);
	many_entries[0] = *tcp;
	for (c = 0; c < NEXT_CHAINS; c++) {
		e = &many_entries[1 + c];
		*e = *tcp;
		e->info.dwCatalogEntryId = 4000u + (DWORD)c;
		e->info.ProtocolChain.ChainLen = NEXT_LAYERS + 1;
		for (l = 0; l < NEXT_LAYERS; l++)
			e->info.ProtocolChain.ChainEntries[l] =
			    many_layer(c, l);
		e->info.ProtocolChain.ChainEntries[NEXT_LAYERS] = NEXT_BASE;
	}
	for (l = 0; l < NEXT_LAYERS; l++) {
		e = &many_entries[1 + NEXT_CHAINS + l];
		*e = *tcp;
		e->info.dwCatalogEntryId = 5000u + (DWORD)l;
		e->info.ProtocolChain.ChainLen = LAYERED_PROTOCOL;
	}
	catalog_set_current(&many_cat);
}

/* The answer layer l of chain c must get: the chain struct itself above
 * a layer, the catalog's base entry above the base. */
static LPWSAPROTOCOL_INFOW
many_want(int c, int l)
{
	return l + 1 < NEXT_LAYERS ? &many_entries[1 + c].info :
	    &many_entries[0].info;
}

/* The number of wrong answers over every (chain, layer), in an order
 * that starts at `from'. */
static int
many_wrong(int from)
{
	LPWSAPROTOCOL_INFOW got;
	int i, c, l, err, wrong = 0;

	for (i = 0; i < NEXT_CHAINS * NEXT_LAYERS; i++) {
		c = (i + from) % NEXT_CHAINS;
		l = (i / NEXT_CHAINS + from) % NEXT_LAYERS;
		err = 0;
		got = WSPShimNextProtocol(&many_entries[1 + c].info,
		    many_layer(c, l), NULL, &err);
		if (got != many_want(c, l) || err != 0)
			wrong++;
	}
	return wrong;
}

Test(next, answers_stay_right_when_pairs_collide_in_the_cache)
{
	int pass, err;

	many_catalog();
	/* The first pass works the answers out; the next ones find them,
	 * in the cache or, after a collision, in the rows. */
	for (pass = 0; pass < 4; pass++)
		cr_assert_eq(many_wrong(pass * 7), 0, "pass %d", pass);
	/* An id not in the chain still gets WSAEINVAL, and the base, which
	 * has nothing below, too. */
	err = 0;
	cr_assert_null(WSPShimNextProtocol(&many_entries[1].info, 4242, NULL,
	    &err));
	cr_assert_eq(err, WSAEINVAL);
	err = 0;
	cr_assert_null(WSPShimNextProtocol(&many_entries[1].info, NEXT_BASE,
	    NULL, &err));
	cr_assert_eq(err, WSAEINVAL);
}

Test(next, cached_answers_match_next_protocol_info)
{
	WSAPROTOCOL_INFOW info;
	LPWSAPROTOCOL_INFOW got;
	int c, l, round, err;

	many_catalog();
	for (round = 0; round < 2; round++)
		for (c = 0; c < NEXT_CHAINS; c += 5)
			for (l = 0; l < NEXT_LAYERS; l++) {
				err = 0;
				got = WSPShimNextProtocol(
				    &many_entries[1 + c].info,
				    many_layer(c, l), NULL, &err);
				cr_assert_not_null(got);
				cr_assert_eq(WSPShimNextProtocolInfo(
				    &many_entries[1 + c].info,
				    many_layer(c, l), &info, &err), 0);
				cr_assert_arr_eq(got, &info, sizeof(info));
			}
}

Test(next, a_catalog_put_in_force_later_answers_for_itself)
{
	LPWSAPROTOCOL_INFOW old_chain = &next_entries[1].info;
	int err = 0;

	next_catalog();
	/* Twice: the second answer is the cached one. */
	cr_assert_eq(WSPShimNextProtocol(old_chain, NEXT_MID, NULL, &err),
	    &next_entries[0].info);
	cr_assert_eq(WSPShimNextProtocol(old_chain, NEXT_MID, NULL, &err),
	    &next_entries[0].info);
	/* Another catalog with TCP's base at another address. */
	many_catalog();
	cr_assert_eq(WSPShimNextProtocol(&many_entries[3].info,
	    many_layer(2, NEXT_LAYERS - 1), NULL, &err),
	    &many_entries[0].info);
	/* The old chain struct is no longer the catalog's own: judged in
	 * full, and the base it names is the one in force now. */
	err = 0;
	cr_assert_eq(WSPShimNextProtocol(old_chain, NEXT_MID, NULL, &err),
	    &many_entries[0].info);
	cr_assert_eq(err, 0);
	/* And back: the first catalog's answers again. */
	catalog_set_current(&next_cat);
	cr_assert_eq(WSPShimNextProtocol(old_chain, NEXT_MID, NULL, &err),
	    &next_entries[0].info);
	cr_assert_eq(WSPShimNextProtocol(old_chain, NEXT_TOP, NULL, &err),
	    old_chain);
}

/* Threads asking at once, each from its own starting point: bounded,
 * NEXT_ROUNDS passes each. */
#define NEXT_THREADS	4
#define NEXT_ROUNDS	300

static _Atomic int next_wrong;

static void *
next_asker(void *arg)
{
	int r;

	for (r = 0; r < NEXT_ROUNDS; r++)
		atomic_fetch_add(&next_wrong, many_wrong((int)(uintptr_t)arg +
		    r));
	return NULL;
}

Test(next, threads_asking_at_once_get_the_right_answers, .timeout = 60)
{
	pthread_t t[NEXT_THREADS];
	uintptr_t i;

	many_catalog();
	for (i = 0; i < NEXT_THREADS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, next_asker,
		    (void *)(i * 5)), 0);
	for (i = 0; i < NEXT_THREADS; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(atomic_load(&next_wrong), 0);
}
