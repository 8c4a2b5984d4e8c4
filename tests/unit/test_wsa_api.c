/*
 * test_wsa_api.c - the rest of the Winsock application API (spi/wsa_io.c,
 * spi/wsa_ext.c, spi/wsa_name.c, spi/base_ext.c) over loopback, with
 * Windows' documented results and codes: the header's constants, the
 * Winsock fd_set, select, WSAConnect, WSAAccept and its condition
 * function, WSAJoinLeaf on IP multicast, the disconnect calls,
 * ioctlsocket, byte order, the UTF-16 resolver calls and the extension
 * functions found by GUID.
 *
 * Each test runs twice: in suite "plain" with the built-in catalog alone
 * (every socket on the base provider), and in suite "layers3" with
 * WSPSHIM_LAYERS naming the null layer three times, so every socket has
 * three layers above the base.  The binary exports its own copy of the
 * core's API (-Wl,--export-dynamic), so the layer plugins, dlopen()ed by
 * the core in this process, use this copy.  Never preloaded; every wait is
 * bounded.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <wspshim/mswsock.h>
#include <wspshim/ws2tcpip.h>

#include "errmap.h"

const char *WSPShimCallName(void);

#define NO_CATALOG	"/nonexistent/wspshim-test/catalog"
#define WAIT_MS		5000
#define MP_LEAF		(WSA_FLAG_MULTIPOINT_C_LEAF | \
			    WSA_FLAG_MULTIPOINT_D_LEAF)

/* Nothing: the built-in catalog, whatever the machine has installed. */
static void
hermetic(void)
{
	setenv("WSPSHIM_CATALOG", NO_CATALOG, 1);
	unsetenv("WSPSHIM_LAYERS");
	unsetenv("WSPSHIM_MANAGE");
	unsetenv("WSPSHIM_FALLBACK");
}

static void
plain(void)
{
	hermetic();
}

/*
 * Three null layers.  A layer names libwspshim.so (DT_NEEDED), which the
 * core's load by descriptor cannot find through the layer's $ORIGIN: it
 * is loaded here first, locally, so the layers' own symbols still bind
 * to the core this binary exports.
 */
static void
layers3(void)
{
	static void *shim;

	if (shim == NULL)
		shim = dlopen(TEST_SHIM_LIB, RTLD_NOW | RTLD_LOCAL);
	cr_assert_not_null(shim, "%s", dlerror());
	hermetic();
	setenv("WSPSHIM_LAYERS", TEST_NULL_LAYER "," TEST_NULL_LAYER ","
	    TEST_NULL_LAYER, 1);
}

/* One test in both suites. */
#define BOTH(name)							\
	static void t_##name(void);					\
	Test(plain, name, .init = plain) { t_##name(); }		\
	Test(layers3, name, .init = layers3) { t_##name(); }		\
	static void t_##name(void)

static const char *
wname(int code)
{
	const char *s = code == 0 ? "0" : errmap_name(code);

	return s != NULL ? s : "an unknown code";
}

#define ASSERT_ERR(code, what) do {					\
	int got_ = WSAGetLastError();					\
	cr_assert_eq(got_, (code), "%s: last error %s, want %s", (what), \
	    wname(got_), wname(code));					\
} while (0)

static void
start(void)
{
	WSADATA d;

	cr_assert_eq(WSAStartup(MAKEWORD(2, 2), &d), 0);
}

/* A socket from WSASocketW; asserts. */
static SOCKET
mk(int af, int type, int proto, DWORD flags)
{
	SOCKET s = WSASocketW(af, type, proto, NULL, 0, flags);

	cr_assert_neq(s, INVALID_SOCKET, "WSASocketW(%d, %d): %s", af, type,
	    wname(WSAGetLastError()));
	return s;
}

/* Whether this suite runs with layers. */
static int
layered(void)
{
	return getenv("WSPSHIM_LAYERS") != NULL;
}

/* Whether the null layer is loaded in this process. */
static int
null_loaded(void)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");
	int found = 0;

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, "libwsp_null.so") != NULL)
			found = 1;
	fclose(f);
	return found;
}

/* A listening TCP socket on 127.0.0.1 (or ::1), its address in *sa. */
static SOCKET
listener(int af, struct sockaddr_storage *ss, int *len)
{
	SOCKET l = mk(af, SOCK_STREAM, 0, 0);

	memset(ss, 0, sizeof(*ss));
	*len = sizeof(*ss);
	if (af == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		*len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		*len = sizeof(*a);
	}
	cr_assert_eq(bind((int)l, (struct sockaddr *)ss, (socklen_t)*len), 0);
	cr_assert_eq(listen((int)l, 8), 0);
	socklen_t sl = sizeof(*ss);
	cr_assert_eq(getsockname((int)l, (struct sockaddr *)ss, &sl), 0);
	*len = (int)sl;
	return l;
}

/* Whether fd becomes readable within WAIT_MS. */
static int
readable(SOCKET s)
{
	struct pollfd p = { .fd = (int)s, .events = POLLIN };

	return poll(&p, 1, WAIT_MS) == 1;
}

/* Receive exactly n bytes into buf within the bound; asserts. */
static void
recv_all(SOCKET s, char *buf, int n)
{
	int got = 0, k;

	while (got < n) {
		cr_assert(readable(s), "no data within %d ms", WAIT_MS);
		k = (int)recv((int)s, buf + got, (size_t)(n - got), 0);
		cr_assert_gt(k, 0, "recv: %s", strerror(errno));
		got += k;
	}
}

/* ------------------------------------------------------------------ */
/* Constants and types with Winsock's values. */

Test(constants, winsock_values)
{
	static const GUID cx = WSAID_CONNECTEX, ax = WSAID_ACCEPTEX,
	    rm = WSAID_WSARECVMSG, sm = WSAID_WSASENDMSG,
	    dx = WSAID_DISCONNECTEX, tf = WSAID_TRANSMITFILE,
	    tp = WSAID_TRANSMITPACKETS, gs = WSAID_GETACCEPTEXSOCKADDRS;

	cr_expect_eq(SIO_GET_EXTENSION_FUNCTION_POINTER, 0xC8000006u);
	cr_expect_eq(SIO_GET_EXTENSION_FUNCTION_POINTER,
	    _WSAIORW(IOC_WS2, 6));
	cr_expect_eq(cx.Data1, 0x25a207b9u);
	cr_expect_eq(cx.Data4[7], 0x3e);
	cr_expect_eq(ax.Data1, 0xb5367df1u);
	cr_expect_eq(gs.Data1, 0xb5367df2u);
	cr_expect_eq(tf.Data1, 0xb5367df0u);
	cr_expect_eq(ax.Data4[7], 0x92);
	cr_expect_eq(dx.Data1, 0x7fda2e11u);
	cr_expect_eq(tp.Data1, 0xd9689da0u);
	cr_expect_eq(rm.Data1, 0xf689d7c8u);
	cr_expect_eq(rm.Data4[7], 0x22);
	cr_expect_eq(sm.Data1, 0xa441e712u);
	cr_expect_eq(sm.Data4[7], 0x6d);
	cr_expect_eq(SD_RECEIVE, 0);
	cr_expect_eq(SD_SEND, 1);
	cr_expect_eq(SD_BOTH, 2);
	cr_expect_eq(FD_SETSIZE, 64);
	cr_expect_eq(sizeof(fd_set), sizeof(SOCKET) * (64 + 1));
	cr_expect_eq(CF_ACCEPT, 0);
	cr_expect_eq(CF_REJECT, 1);
	cr_expect_eq(CF_DEFER, 2);
	cr_expect_eq(TF_DISCONNECT, 1);
	cr_expect_eq(TF_REUSE_SOCKET, 2);
	cr_expect_eq(TP_ELEMENT_MEMORY, 1);
	cr_expect_eq(TP_ELEMENT_FILE, 2);
	cr_expect_eq(SO_UPDATE_ACCEPT_CONTEXT, 0x700B);
	cr_expect_eq(SO_UPDATE_CONNECT_CONTEXT, 0x7010);
	cr_expect_eq(sizeof(u_short), 2);
	cr_expect_eq(sizeof(SOCKADDR_IN), sizeof(struct sockaddr_in));
	cr_expect_eq(sizeof(LPHANDLE), sizeof(void *));
	cr_expect_eq(offsetof(WSAMSG, dwFlags) + sizeof(ULONG),
	    offsetof(WSAMSG, Control) + sizeof(WSABUF) + sizeof(ULONG));
	cr_expect_eq(sizeof(WSACMSGHDR), sizeof(struct cmsghdr));
}

/* ------------------------------------------------------------------ */
/* The Winsock fd_set. */

Test(fdset, holds_any_socket_value_once_in_order)
{
	fd_set s;
	SOCKET big = 1500, virt = (SOCKET)0x100000006ull;

	FD_ZERO(&s);
	cr_assert_eq(s.fd_count, 0);
	FD_SET(big, &s);
	FD_SET(virt, &s);
	FD_SET(big, &s);
	FD_SET(3, &s);
	cr_assert_eq(s.fd_count, 3, "a socket is in a set once");
	cr_assert(FD_ISSET(big, &s));
	cr_assert(FD_ISSET(virt, &s));
	cr_assert(!FD_ISSET(4, &s));
	FD_CLR(virt, &s);
	cr_assert_eq(s.fd_count, 2);
	cr_assert_eq(s.fd_array[0], big, "FD_CLR keeps the order");
	cr_assert_eq(s.fd_array[1], 3);
	cr_assert_eq(__WSAFDIsSet(3, &s), 1);
	cr_assert_eq(__WSAFDIsSet(3, NULL), 0);
}

Test(fdset, a_full_set_ignores_more)
{
	fd_set s;
	SOCKET i;

	FD_ZERO(&s);
	for (i = 0; i < FD_SETSIZE + 10; i++)
		FD_SET(i + 100, &s);
	cr_assert_eq(s.fd_count, FD_SETSIZE);
	cr_assert(!FD_ISSET(FD_SETSIZE + 100, &s));
}

/* ------------------------------------------------------------------ */
/* WSAConnect, WSAAccept, select. */

BOTH(connect_accept_exchange)
{
	struct sockaddr_storage ss, peer;
	int len, plen = sizeof(peer);
	SOCKET l, c, a;
	char buf[8];

	start();
	l = listener(AF_INET, &ss, &len);
	c = mk(AF_INET, SOCK_STREAM, 0, 0);
	cr_assert_eq(WSAConnect(c, (struct sockaddr *)&ss, len, NULL, NULL,
	    NULL, NULL), 0, "%s", wname(WSAGetLastError()));
	ASSERT_ERR(0, "WSAConnect");
	a = WSAAccept(l, (struct sockaddr *)&peer, &plen, NULL, 0);
	cr_assert_neq(a, INVALID_SOCKET, "%s", wname(WSAGetLastError()));
	cr_assert_eq(plen, (int)sizeof(struct sockaddr_in));
	cr_assert_eq(null_loaded(), layered(), "the suite's layers are there");
	cr_assert_eq(send((int)c, "ping", 4, 0), 4);
	recv_all(a, buf, 4);
	cr_assert_eq(memcmp(buf, "ping", 4), 0);
	cr_assert_eq(closesocket(a), 0);
	cr_assert_eq(closesocket(c), 0);
	cr_assert_eq(closesocket(l), 0);
	cr_assert_eq(WSACleanup(), 0);
}

BOTH(connect_data_is_opnotsupp_and_refused_is_econnrefused)
{
	struct sockaddr_storage ss;
	WSABUF data = { 4, "data" };
	int len;
	SOCKET l, c;

	start();
	l = listener(AF_INET, &ss, &len);
	c = mk(AF_INET, SOCK_STREAM, 0, 0);
	cr_assert_eq(WSAConnect(c, (struct sockaddr *)&ss, len, &data, NULL,
	    NULL, NULL), SOCKET_ERROR);
	ASSERT_ERR(WSAEOPNOTSUPP, "connect data");
	closesocket(l);		/* nobody listens there now */
	cr_assert_eq(WSAConnect(c, (struct sockaddr *)&ss, len, NULL, NULL,
	    NULL, NULL), SOCKET_ERROR);
	ASSERT_ERR(WSAECONNREFUSED, "no listener");
	cr_assert_eq(WSAConnect((SOCKET)-5, (struct sockaddr *)&ss, len,
	    NULL, NULL, NULL, NULL), SOCKET_ERROR);
	ASSERT_ERR(WSAENOTSOCK, "not a socket");
}

BOTH(nonblocking_connect_is_ewouldblock)
{
	struct sockaddr_storage ss;
	u_long on = 1;
	int len, rc;
	SOCKET l, c;

	start();
	l = listener(AF_INET, &ss, &len);
	c = mk(AF_INET, SOCK_STREAM, 0, 0);
	cr_assert_eq(ioctlsocket(c, FIONBIO, &on), 0);
	rc = WSAConnect(c, (struct sockaddr *)&ss, len, NULL, NULL, NULL,
	    NULL);
	/* Loopback may finish at once; if not, Winsock's code. */
	if (rc != 0)
		ASSERT_ERR(WSAEWOULDBLOCK, "non-blocking connect");
	closesocket(c);
	closesocket(l);
}

static int cond_calls;
static int cond_answer;
static struct sockaddr_storage cond_caller;

static int WSAAPI
cond(LPWSABUF lpCallerId, LPWSABUF lpCallerData, LPQOS lpSQOS,
    LPQOS lpGQOS, LPWSABUF lpCalleeId, LPWSABUF lpCalleeData, GROUP *g,
    DWORD_PTR dwCallbackData)
{
	cond_calls++;
	cr_assert_eq(dwCallbackData, (DWORD_PTR)0x1234);
	cr_assert_not_null(lpCallerId);
	cr_assert_not_null(lpCalleeId);
	memcpy(&cond_caller, lpCallerId->buf, lpCallerId->len);
	return cond_answer;
}

BOTH(condition_accept_sees_the_caller)
{
	struct sockaddr_storage ss, mine;
	socklen_t ml = sizeof(mine);
	int len;
	SOCKET l, c, a;

	start();
	l = listener(AF_INET, &ss, &len);
	c = mk(AF_INET, SOCK_STREAM, 0, 0);
	cr_assert_eq(connect((int)c, (struct sockaddr *)&ss, (socklen_t)len),
	    0);
	cond_answer = CF_ACCEPT;
	a = WSAAccept(l, NULL, NULL, cond, 0x1234);
	cr_assert_neq(a, INVALID_SOCKET, "%s", wname(WSAGetLastError()));
	cr_assert_eq(cond_calls, 1);
	getsockname((int)c, (struct sockaddr *)&mine, &ml);
	cr_assert_eq(((struct sockaddr_in *)&cond_caller)->sin_port,
	    ((struct sockaddr_in *)&mine)->sin_port,
	    "the caller id is the peer's address");
	closesocket(a);
	closesocket(c);
	closesocket(l);
}

BOTH(condition_reject_refuses_the_peer)
{
	struct sockaddr_storage ss;
	char b;
	int len;
	SOCKET l, c;

	start();
	l = listener(AF_INET, &ss, &len);
	c = mk(AF_INET, SOCK_STREAM, 0, 0);
	cr_assert_eq(connect((int)c, (struct sockaddr *)&ss, (socklen_t)len),
	    0);
	cond_answer = CF_REJECT;
	cr_assert_eq(WSAAccept(l, NULL, NULL, cond, 0x1234), INVALID_SOCKET);
	ASSERT_ERR(WSAECONNREFUSED, "CF_REJECT");
	cr_assert(readable(c));
	errno = 0;
	cr_assert_eq(recv((int)c, &b, 1, 0), -1);
	cr_assert_eq(errno, ECONNRESET, "the peer sees %s", strerror(errno));
	closesocket(c);
	closesocket(l);
}

BOTH(condition_defer_keeps_the_connection_queued)
{
	struct sockaddr_storage ss;
	fd_set r;
	struct timeval tv = { 0, 0 };
	char buf[4];
	int len;
	SOCKET l, c, a;

	start();
	l = listener(AF_INET, &ss, &len);
	c = mk(AF_INET, SOCK_STREAM, 0, 0);
	cr_assert_eq(connect((int)c, (struct sockaddr *)&ss, (socklen_t)len),
	    0);
	cr_assert_eq(send((int)c, "abc", 3, 0), 3);
	cond_answer = CF_DEFER;
	cr_assert_eq(WSAAccept(l, NULL, NULL, cond, 0x1234), INVALID_SOCKET);
	ASSERT_ERR(WSATRY_AGAIN, "CF_DEFER");
	/* Still queued: select sees the listener readable. */
	FD_ZERO(&r);
	FD_SET(l, &r);
	cr_assert_eq(select(0, &r, NULL, NULL, &tv), 1);
	cr_assert(FD_ISSET(l, &r));
	cond_answer = CF_ACCEPT;
	a = WSAAccept(l, NULL, NULL, cond, 0x1234);
	cr_assert_neq(a, INVALID_SOCKET, "%s", wname(WSAGetLastError()));
	cr_assert_eq(cond_calls, 2, "asked again about the same connection");
	recv_all(a, buf, 3);
	cr_assert_eq(memcmp(buf, "abc", 3), 0, "the deferred connection");
	closesocket(a);
	closesocket(c);
	closesocket(l);
}

BOTH(select_reports_readable_writable_and_times_out)
{
	struct sockaddr_storage ss;
	struct timeval tv = { 0, 20000 };
	fd_set r, w;
	int len;
	SOCKET l, c, a, u;

	start();
	l = listener(AF_INET, &ss, &len);
	c = mk(AF_INET, SOCK_STREAM, 0, 0);
	u = mk(AF_INET, SOCK_DGRAM, 0, 0);
	cr_assert_eq(WSAConnect(c, (struct sockaddr *)&ss, len, NULL, NULL,
	    NULL, NULL), 0);
	a = WSAAccept(l, NULL, NULL, NULL, 0);
	cr_assert_neq(a, INVALID_SOCKET);
	FD_ZERO(&r);
	FD_SET(a, &r);
	FD_SET(u, &r);
	cr_assert_eq(select(0, &r, NULL, NULL, &tv), 0, "nothing to read");
	cr_assert_eq(r.fd_count, 0);
	cr_assert_eq(send((int)c, "x", 1, 0), 1);
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(a, &r);
	FD_SET(u, &r);
	FD_SET(c, &w);
	tv.tv_sec = 5;
	cr_assert_eq(select(0, &r, &w, NULL, &tv), 2);
	cr_assert(FD_ISSET(a, &r));
	cr_assert(!FD_ISSET(u, &r));
	cr_assert(FD_ISSET(c, &w));
	closesocket(a);
	closesocket(c);
	closesocket(u);
	closesocket(l);
}

BOTH(select_errors)
{
	struct timeval tv = { 0, 0 }, bad = { -1, 0 };
	fd_set r;
	SOCKET u;

	start();
	u = mk(AF_INET, SOCK_DGRAM, 0, 0);
	FD_ZERO(&r);
	cr_assert_eq(select(0, NULL, NULL, NULL, &tv), SOCKET_ERROR);
	ASSERT_ERR(WSAEINVAL, "no sets");
	cr_assert_eq(select(0, &r, NULL, NULL, &tv), SOCKET_ERROR);
	ASSERT_ERR(WSAEINVAL, "empty sets");
	FD_SET(u, &r);
	cr_assert_eq(select(0, &r, NULL, NULL, &bad), SOCKET_ERROR);
	ASSERT_ERR(WSAEINVAL, "negative timeout");
	FD_SET(1500, &r);
	cr_assert_eq(select(0, &r, NULL, NULL, &tv), SOCKET_ERROR);
	ASSERT_ERR(WSAENOTSOCK, "1500 is no socket");
	closesocket(u);
	WSACleanup();
	FD_ZERO(&r);
	FD_SET(u, &r);
	cr_assert_eq(select(0, &r, NULL, NULL, &tv), SOCKET_ERROR);
	ASSERT_ERR(WSANOTINITIALISED, "after WSACleanup");
}

/* ------------------------------------------------------------------ */
/* Disconnect, ioctlsocket, byte order. */

BOTH(send_disconnect_is_shutdown_send)
{
	struct sockaddr_storage ss;
	WSABUF data = { 2, "no" };
	char b;
	int len;
	SOCKET l, c, a;

	start();
	l = listener(AF_INET, &ss, &len);
	c = mk(AF_INET, SOCK_STREAM, 0, 0);
	cr_assert_eq(WSAConnect(c, (struct sockaddr *)&ss, len, NULL, NULL,
	    NULL, NULL), 0);
	a = WSAAccept(l, NULL, NULL, NULL, 0);
	cr_assert_eq(WSASendDisconnect(c, &data), SOCKET_ERROR);
	ASSERT_ERR(WSAEOPNOTSUPP, "disconnect data");
	cr_assert_eq(WSASendDisconnect(c, NULL), 0);
	cr_assert(readable(a));
	cr_assert_eq(recv((int)a, &b, 1, 0), 0, "the peer sees the end");
	cr_assert_eq(WSARecvDisconnect(a, NULL), 0);
	cr_assert_eq(send((int)a, "y", 1, 0), 1, "the other way still works");
	cr_assert(readable(c));
	cr_assert_eq(recv((int)c, &b, 1, 0), 1);
	closesocket(a);
	closesocket(c);
	closesocket(l);
}

BOTH(disconnect_on_an_unconnected_socket_is_enotconn)
{
	SOCKET c;

	start();
	c = mk(AF_INET, SOCK_STREAM, 0, 0);
	cr_assert_eq(WSASendDisconnect(c, NULL), SOCKET_ERROR);
	ASSERT_ERR(WSAENOTCONN, "WSASendDisconnect");
	closesocket(c);
}

BOTH(ioctlsocket_fionbio_fionread)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	u_long v = 1;
	SOCKET u, s;

	start();
	u = mk(AF_INET, SOCK_DGRAM, 0, 0);
	s = mk(AF_INET, SOCK_DGRAM, 0, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind((int)u, (struct sockaddr *)&a, sizeof(a)), 0);
	getsockname((int)u, (struct sockaddr *)&a, &al);
	cr_assert_eq(ioctlsocket(u, FIONBIO, &v), 0);
	cr_assert(fcntl((int)u, F_GETFL) & O_NONBLOCK);
	v = 0;
	cr_assert_eq(ioctlsocket(u, FIONREAD, &v), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(sendto((int)s, "hello", 5, 0, (struct sockaddr *)&a,
	    sizeof(a)), 5);
	cr_assert(readable(u));
	cr_assert_eq(ioctlsocket(u, FIONREAD, &v), 0);
	cr_assert_eq(v, 5);
	cr_assert_eq(ioctlsocket(u, FIONREAD, NULL), SOCKET_ERROR);
	ASSERT_ERR(WSAEFAULT, "argp NULL");
	cr_assert_eq(ioctlsocket(u, 0x12345, &v), SOCKET_ERROR);
	ASSERT_ERR(WSAEINVAL, "unknown command");
	cr_assert_eq(ioctlsocket((SOCKET)-1, FIONREAD, &v), SOCKET_ERROR);
	ASSERT_ERR(WSAENOTSOCK, "INVALID_SOCKET");
	closesocket(u);
	closesocket(s);
}

BOTH(byte_order_calls)
{
	u_long l;
	u_short sh;
	SOCKET s;

	start();
	s = mk(AF_INET, SOCK_STREAM, 0, 0);
	cr_assert_eq(WSAHtonl(s, 0x01020304, &l), 0);
	cr_assert_eq(l, htonl(0x01020304));
	cr_assert_eq(WSANtohl(s, l, &l), 0);
	cr_assert_eq(l, 0x01020304);
	cr_assert_eq(WSAHtons(s, 0x0102, &sh), 0);
	cr_assert_eq(sh, htons(0x0102));
	cr_assert_eq(WSANtohs(s, sh, &sh), 0);
	cr_assert_eq(sh, 0x0102);
	cr_assert_eq(WSAHtonl(s, 1, NULL), SOCKET_ERROR);
	ASSERT_ERR(WSAEFAULT, "NULL out");
	cr_assert_eq(WSAHtons((SOCKET)-1, 1, &sh), SOCKET_ERROR);
	ASSERT_ERR(WSAENOTSOCK, "not a socket");
	closesocket(s);
}

/* ------------------------------------------------------------------ */
/* Multipoint: IP multicast over loopback. */

BOTH(joinleaf_ipv4_group_over_loopback)
{
	struct sockaddr_in any = { .sin_family = AF_INET }, grp = any;
	struct in_addr lo = { .s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(any);
	char buf[16];
	SOCKET r, snd;

	start();
	r = mk(AF_INET, SOCK_DGRAM, 0, MP_LEAF);
	snd = mk(AF_INET, SOCK_DGRAM, 0, MP_LEAF);
	cr_assert_eq(bind((int)r, (struct sockaddr *)&any, sizeof(any)), 0);
	getsockname((int)r, (struct sockaddr *)&grp, &al);
	grp.sin_addr.s_addr = htonl(0xef0102fe);	/* 239.1.2.254 */
	/* The receiver names loopback by IP_MULTICAST_IF. */
	cr_assert_eq(setsockopt((int)r, IPPROTO_IP, IP_MULTICAST_IF, &lo,
	    sizeof(lo)), 0);
	cr_assert_eq(WSAJoinLeaf(r, (struct sockaddr *)&grp, sizeof(grp),
	    NULL, NULL, NULL, NULL, JL_RECEIVER_ONLY), r, "%s",
	    wname(WSAGetLastError()));
	cr_assert_eq(setsockopt((int)snd, IPPROTO_IP, IP_MULTICAST_IF, &lo,
	    sizeof(lo)), 0);
	cr_assert_eq(WSAJoinLeaf(snd, (struct sockaddr *)&grp, sizeof(grp),
	    NULL, NULL, NULL, NULL, JL_SENDER_ONLY), snd);
	cr_assert_eq(sendto((int)snd, "group", 5, 0, (struct sockaddr *)&grp,
	    sizeof(grp)), 5, "%s", strerror(errno));
	cr_assert(readable(r), "the group's datagram arrives over lo");
	cr_assert_eq(recv((int)r, buf, sizeof(buf), 0), 5);
	cr_assert_eq(memcmp(buf, "group", 5), 0);
	closesocket(r);
	closesocket(snd);
}

BOTH(joinleaf_ipv4_takes_the_bound_address)
{
	struct sockaddr_in a = { .sin_family = AF_INET }, grp;
	struct in_addr lo = { .s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	char buf[16];
	SOCKET r, snd;

	start();
	r = mk(AF_INET, SOCK_DGRAM, 0, MP_LEAF);
	snd = mk(AF_INET, SOCK_DGRAM, 0, MP_LEAF);
	a.sin_addr = lo;
	/* Bound to 127.0.0.1: the membership is on lo.  (A socket bound to
	 * a unicast address receives no multicast on Linux, so bind to the
	 * group's port on any address after joining is not needed: the
	 * test reads the join from the kernel's table instead.) */
	cr_assert_eq(bind((int)r, (struct sockaddr *)&a, sizeof(a)), 0);
	getsockname((int)r, (struct sockaddr *)&a, &al);
	grp = a;
	grp.sin_addr.s_addr = htonl(0xef0102fd);	/* 239.1.2.253 */
	cr_assert_eq(WSAJoinLeaf(r, (struct sockaddr *)&grp, sizeof(grp),
	    NULL, NULL, NULL, NULL, JL_BOTH), r, "%s",
	    wname(WSAGetLastError()));
	FILE *f = fopen("/proc/net/igmp", "r");
	char line[256], dev[32] = "";
	int found = 0;

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (line[0] != '\t')
			sscanf(line, "%*d %31s", dev);
		else if (strstr(line, "FD0201EF") != NULL &&
		    strcmp(dev, "lo") == 0)
			found = 1;
	}
	fclose(f);
	cr_assert(found, "239.1.2.253 is joined on lo");
	(void)buf;
	(void)snd;
	closesocket(r);
	closesocket(snd);
}

BOTH(joinleaf_ipv6_joins_on_the_bound_interface)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6 }, grp;
	socklen_t al = sizeof(a);
	char line[256];
	int found = 0;
	FILE *f;
	SOCKET r;

	start();
	r = mk(AF_INET6, SOCK_DGRAM, 0, MP_LEAF);
	a.sin6_addr = in6addr_loopback;
	cr_assert_eq(bind((int)r, (struct sockaddr *)&a, sizeof(a)), 0);
	getsockname((int)r, (struct sockaddr *)&a, &al);
	grp = a;
	cr_assert_eq(inet_pton(AF_INET6, "ff12::1:3", &grp.sin6_addr), 1);
	cr_assert_eq(WSAJoinLeaf(r, (struct sockaddr *)&grp, sizeof(grp),
	    NULL, NULL, NULL, NULL, JL_RECEIVER_ONLY), r, "%s",
	    wname(WSAGetLastError()));
	/* Linux's lo has no multicast route for IPv6, so a datagram sent to
	 * the group over lo cannot arrive; the membership can be checked. */
	f = fopen("/proc/net/igmp6", "r");
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, " lo ") != NULL &&
		    strstr(line, "ff120000000000000000000000010003") != NULL)
			found = 1;
	fclose(f);
	cr_assert(found, "ff12::1:3 is joined on lo");
	closesocket(r);
}

BOTH(joinleaf_errors)
{
	struct sockaddr_in grp = { .sin_family = AF_INET };
	SOCKET t, u;

	start();
	grp.sin_addr.s_addr = htonl(0xef0102fe);
	t = mk(AF_INET, SOCK_STREAM, 0, 0);
	u = mk(AF_INET, SOCK_DGRAM, 0, MP_LEAF);
	cr_assert_eq(WSAJoinLeaf(t, (struct sockaddr *)&grp, sizeof(grp),
	    NULL, NULL, NULL, NULL, JL_BOTH), INVALID_SOCKET);
	ASSERT_ERR(WSAEOPNOTSUPP, "TCP");
	cr_assert_eq(WSAJoinLeaf(u, (struct sockaddr *)&grp, sizeof(grp),
	    NULL, NULL, NULL, NULL, 0x40), INVALID_SOCKET);
	ASSERT_ERR(WSAEINVAL, "bad direction");
	cr_assert_eq(WSAJoinLeaf(u, (struct sockaddr *)&grp, 4, NULL, NULL,
	    NULL, NULL, JL_BOTH), INVALID_SOCKET);
	ASSERT_ERR(WSAEFAULT, "short address");
	closesocket(t);
	closesocket(u);
}

/* ------------------------------------------------------------------ */
/* The UTF-16 resolver calls. */

/* A UTF-16 copy of an ASCII string in w (n units). */
static PWSTR
W(WCHAR *w, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i + 1 < n && s[i] != '\0'; i++)
		w[i] = (WCHAR)(unsigned char)s[i];
	w[i] = 0;
	return w;
}

/* Whether the UTF-16 w equals the ASCII s. */
static int
weq(const WCHAR *w, const char *s)
{
	while (*s != '\0' && *w == (WCHAR)(unsigned char)*s) {
		w++;
		s++;
	}
	return *w == 0 && *s == '\0';
}

Test(names, getaddrinfow_numeric)
{
	WCHAR node[32], serv[8];
	ADDRINFOW hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICHOST }, *res;
	struct sockaddr_in *sin;

	start();
	cr_assert_eq(GetAddrInfoW(W(node, 32, "127.0.0.1"), W(serv, 8, "80"),
	    &hints, &res), 0);
	cr_assert_not_null(res);
	cr_assert_eq(res->ai_family, AF_INET);
	cr_assert_eq(res->ai_addrlen, sizeof(*sin));
	sin = (struct sockaddr_in *)res->ai_addr;
	cr_assert_eq(sin->sin_port, htons(80));
	cr_assert_eq(sin->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	FreeAddrInfoW(res);
	cr_assert_eq(GetAddrInfoW(W(node, 32, "not-an-address"), NULL, &hints,
	    &res), WSAHOST_NOT_FOUND);
	ASSERT_ERR(WSAHOST_NOT_FOUND, "GetAddrInfoW");
	cr_assert_eq(GetAddrInfoW(NULL, NULL, &hints, &res),
	    WSAHOST_NOT_FOUND);
	hints.ai_family = 12345;
	cr_assert_eq(GetAddrInfoW(W(node, 32, "127.0.0.1"), NULL, &hints,
	    &res), WSAEAFNOSUPPORT);
	FreeAddrInfoW(NULL);
}

Test(names, getaddrinfow_needs_startup)
{
	ADDRINFOW *res;
	WCHAR node[16];

	cr_assert_eq(GetAddrInfoW(W(node, 16, "127.0.0.1"), NULL, NULL, &res),
	    WSANOTINITIALISED);
}

Test(names, getnameinfow_numeric)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6,
	    .sin6_port = htons(443) };
	WCHAR host[64], serv[16], tiny[2];

	start();
	a.sin6_addr = in6addr_loopback;
	cr_assert_eq(GetNameInfoW((SOCKADDR *)&a, sizeof(a), host, 64, serv,
	    16, NI_NUMERICHOST | NI_NUMERICSERV), 0);
	cr_assert(weq(host, "::1"));
	cr_assert(weq(serv, "443"));
	cr_assert_eq(GetNameInfoW((SOCKADDR *)&a, sizeof(a), tiny, 2, NULL,
	    0, NI_NUMERICHOST), WSAEFAULT);
	cr_assert_eq(GetNameInfoW(NULL, sizeof(a), host, 64, NULL, 0, 0),
	    WSAEFAULT);
}

Test(names, inetptonw_inetntopw)
{
	struct in_addr a4;
	struct in6_addr a6;
	WCHAR s[64], out[64], tiny[4];

	start();
	cr_assert_eq(InetPtonW(AF_INET, W(s, 64, "10.1.2.3"), &a4), 1);
	cr_assert_eq(a4.s_addr, htonl(0x0a010203));
	cr_assert_eq(InetPtonW(AF_INET, W(s, 64, "10.1.2"), &a4), 0);
	cr_assert_eq(InetPtonW(AF_INET6, W(s, 64, "fe80::1"), &a6), 1);
	cr_assert_eq(InetPtonW(12345, W(s, 64, "1.2.3.4"), &a4), -1);
	ASSERT_ERR(WSAEAFNOSUPPORT, "InetPtonW");
	cr_assert_eq(InetPtonW(AF_INET, NULL, &a4), -1);
	ASSERT_ERR(WSAEFAULT, "InetPtonW NULL");
	cr_assert_eq(InetNtopW(AF_INET6, &a6, out, 64), out);
	cr_assert(weq(out, "fe80::1"));
	cr_assert_null(InetNtopW(AF_INET6, &a6, tiny, 4));
	ASSERT_ERR(WSA_INVALID_PARAMETER, "short buffer");
	cr_assert_null(InetNtopW(12345, &a6, out, 64));
	ASSERT_ERR(WSAEAFNOSUPPORT, "InetNtopW family");
}

/* ------------------------------------------------------------------ */
/* Extension functions found by GUID. */

/* The extension function of guid for s; asserts. */
static void *
ext(SOCKET s, GUID guid)
{
	void *fn = NULL;
	DWORD n = 0;

	cr_assert_eq(WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &guid,
	    sizeof(guid), &fn, sizeof(fn), &n, NULL, NULL), 0, "%s",
	    wname(WSAGetLastError()));
	ASSERT_ERR(0, "WSAIoctl");
	cr_assert_not_null(fn);
	return fn;
}

BOTH(extension_lookup_errors)
{
	GUID bad = { 1, 2, 3, { 4 } }, cx = WSAID_CONNECTEX;
	void *fn;
	DWORD n;
	SOCKET s;

	start();
	s = mk(AF_INET, SOCK_STREAM, 0, 0);
	cr_assert_eq(WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &bad,
	    sizeof(bad), &fn, sizeof(fn), &n, NULL, NULL), SOCKET_ERROR);
	ASSERT_ERR(WSAEINVAL, "unknown GUID");
	cr_assert_eq(WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &cx,
	    sizeof(cx), &fn, 2, &n, NULL, NULL), SOCKET_ERROR);
	ASSERT_ERR(WSAEFAULT, "short out buffer");
	cr_assert_eq(WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, NULL,
	    0, &fn, sizeof(fn), &n, NULL, NULL), SOCKET_ERROR);
	ASSERT_ERR(WSAEFAULT, "no GUID");
	closesocket(s);
}

BOTH(connectex_acceptex_getacceptexsockaddrs)
{
	struct sockaddr_storage ss;
	struct sockaddr_in any = { .sin_family = AF_INET };
	struct sockaddr *la, *ra;
	char out[64 + 2 * (sizeof(struct sockaddr_in) + 16)];
	int len, ll, rl;
	DWORD sent = 0, got = 0;
	WSAOVERLAPPED ov;
	LPFN_CONNECTEX connectex;
	LPFN_ACCEPTEX acceptex;
	LPFN_GETACCEPTEXSOCKADDRS getaddrs;
	SOCKET l, c, a;
	pid_t pid;

	start();
	l = listener(AF_INET, &ss, &len);
	c = mk(AF_INET, SOCK_STREAM, 0, WSA_FLAG_OVERLAPPED);
	a = mk(AF_INET, SOCK_STREAM, 0, WSA_FLAG_OVERLAPPED);
	connectex = (LPFN_CONNECTEX)ext(c, (GUID)WSAID_CONNECTEX);
	acceptex = (LPFN_ACCEPTEX)ext(l, (GUID)WSAID_ACCEPTEX);
	getaddrs = (LPFN_GETACCEPTEXSOCKADDRS)ext(l,
	    (GUID)WSAID_GETACCEPTEXSOCKADDRS);
	/* Winsock's rule: ConnectEx needs a bound socket. */
	memset(&ov, 0, sizeof(ov));
	cr_assert_eq(connectex(c, (struct sockaddr *)&ss, len, NULL, 0, NULL,
	    &ov), FALSE);
	ASSERT_ERR(WSAEINVAL, "ConnectEx unbound");
	cr_assert_eq(bind((int)c, (struct sockaddr *)&any, sizeof(any)), 0);
	cr_assert_eq(connectex(c, (struct sockaddr *)&ss, len, "first", 5,
	    &sent, &ov), TRUE, "%s", wname(WSAGetLastError()));
	cr_assert_eq(sent, 5);
	cr_assert_eq(ov.Internal, 0);
	cr_assert_eq(ov.InternalHigh, 5);
	memset(&ov, 0, sizeof(ov));
	cr_assert_eq(acceptex(l, a, out, 5, sizeof(struct sockaddr_in) + 16,
	    sizeof(struct sockaddr_in) + 16, &got, &ov), TRUE, "%s",
	    wname(WSAGetLastError()));
	cr_assert_eq(got, 5);
	cr_assert_eq(memcmp(out, "first", 5), 0);
	getaddrs(out, 5, sizeof(struct sockaddr_in) + 16,
	    sizeof(struct sockaddr_in) + 16, &la, &ll, &ra, &rl);
	cr_assert_eq(ll, (int)sizeof(struct sockaddr_in));
	cr_assert_eq(rl, (int)sizeof(struct sockaddr_in));
	cr_assert_eq(((struct sockaddr_in *)la)->sin_port,
	    ((struct sockaddr_in *)&ss)->sin_port, "local is the listener's");
	/* The accept socket is now the connection, SOCKET value unchanged. */
	cr_assert_eq(send((int)a, "back", 4, 0), 4);
	recv_all(c, out, 4);
	cr_assert_eq(memcmp(out, "back", 4), 0);
	/* Too little room for the addresses. */
	cr_assert_eq(acceptex(l, a, out, 0, 8, 8, &got, &ov), FALSE);
	ASSERT_ERR(WSAEINVAL, "AcceptEx short address space");
	(void)pid;
	closesocket(a);
	closesocket(c);
	closesocket(l);
}

BOTH(disconnectex_then_reuse)
{
	struct sockaddr_storage ss;
	LPFN_DISCONNECTEX disc;
	char b;
	int len;
	SOCKET l, c, a;

	start();
	l = listener(AF_INET, &ss, &len);
	c = mk(AF_INET, SOCK_STREAM, 0, 0);
	cr_assert_eq(WSAConnect(c, (struct sockaddr *)&ss, len, NULL, NULL,
	    NULL, NULL), 0);
	a = WSAAccept(l, NULL, NULL, NULL, 0);
	disc = (LPFN_DISCONNECTEX)ext(c, (GUID)WSAID_DISCONNECTEX);
	cr_assert_eq(disc(c, NULL, 0, 1), FALSE);
	ASSERT_ERR(WSAEINVAL, "dwReserved");
	cr_assert_eq(disc(c, NULL, TF_REUSE_SOCKET, 0), TRUE, "%s",
	    wname(WSAGetLastError()));
	cr_assert(readable(a));
	cr_assert_eq(recv((int)a, &b, 1, 0), 0);
	closesocket(a);
	closesocket(c);
	closesocket(l);
}

BOTH(transmitfile_and_transmitpackets)
{
	struct sockaddr_storage ss;
	char path[] = "/tmp/wspshim-tf-XXXXXX", buf[64];
	TRANSMIT_FILE_BUFFERS tb = { "<h>", 3, "<t>", 3 };
	TRANSMIT_PACKETS_ELEMENT el[2];
	LPFN_TRANSMITFILE tf;
	LPFN_TRANSMITPACKETS tp;
	WSAOVERLAPPED ov;
	int len, fd;
	SOCKET l, c, a;

	start();
	fd = mkstemp(path);
	cr_assert(fd >= 0);
	unlink(path);
	cr_assert_eq(write(fd, "0123456789", 10), 10);
	l = listener(AF_INET, &ss, &len);
	c = mk(AF_INET, SOCK_STREAM, 0, 0);
	cr_assert_eq(WSAConnect(c, (struct sockaddr *)&ss, len, NULL, NULL,
	    NULL, NULL), 0);
	a = WSAAccept(l, NULL, NULL, NULL, 0);
	tf = (LPFN_TRANSMITFILE)ext(c, (GUID)WSAID_TRANSMITFILE);
	tp = (LPFN_TRANSMITPACKETS)ext(c, (GUID)WSAID_TRANSMITPACKETS);
	memset(&ov, 0, sizeof(ov));
	ov.Offset = 2;		/* the file from offset 2, 5 bytes */
	cr_assert_eq(tf(c, (HANDLE)(intptr_t)fd, 5, 0, &ov, &tb, 0), TRUE,
	    "%s", wname(WSAGetLastError()));
	cr_assert_eq(ov.InternalHigh, 11);
	recv_all(a, buf, 11);
	cr_assert_eq(memcmp(buf, "<h>23456<t>", 11), 0);
	memset(el, 0, sizeof(el));
	el[0].dwElFlags = TP_ELEMENT_MEMORY;
	el[0].cLength = 2;
	el[0].u.pBuffer = "ab";
	el[1].dwElFlags = TP_ELEMENT_FILE;
	el[1].cLength = 3;
	el[1].u.f.nFileOffset.QuadPart = 7;
	el[1].u.f.hFile = (HANDLE)(intptr_t)fd;
	cr_assert_eq(tp(c, el, 2, 0, NULL, TP_DISCONNECT), TRUE, "%s",
	    wname(WSAGetLastError()));
	recv_all(a, buf, 5);
	cr_assert_eq(memcmp(buf, "ab789", 5), 0);
	cr_assert(readable(a));
	cr_assert_eq(recv((int)a, buf, 1, 0), 0, "TP_DISCONNECT shut it");
	el[0].dwElFlags = 0;
	cr_assert_eq(tp(a, el, 1, 0, NULL, 0), FALSE);
	ASSERT_ERR(WSAEINVAL, "element with no kind");
	close(fd);
	closesocket(a);
	closesocket(c);
	closesocket(l);
}

BOTH(wsasendmsg_wsarecvmsg_with_pktinfo)
{
	struct sockaddr_in a = { .sin_family = AF_INET }, from;
	socklen_t al = sizeof(a);
	char data[16], ctl[WSA_CMSG_SPACE(sizeof(struct in_pktinfo))];
	WSABUF b = { 5, "hello" }, rb = { sizeof(data), data };
	WSAMSG sm, rm;
	LPFN_WSASENDMSG sendmsg_;
	LPFN_WSARECVMSG recvmsg_;
	LPWSACMSGHDR cm;
	DWORD n = 0;
	int on = 1, seen = 0;
	SOCKET r, s;

	start();
	r = mk(AF_INET, SOCK_DGRAM, 0, 0);
	s = mk(AF_INET, SOCK_DGRAM, 0, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind((int)r, (struct sockaddr *)&a, sizeof(a)), 0);
	getsockname((int)r, (struct sockaddr *)&a, &al);
	cr_assert_eq(setsockopt((int)r, IPPROTO_IP, IP_PKTINFO, &on,
	    sizeof(on)), 0);
	sendmsg_ = (LPFN_WSASENDMSG)ext(s, (GUID)WSAID_WSASENDMSG);
	recvmsg_ = (LPFN_WSARECVMSG)ext(r, (GUID)WSAID_WSARECVMSG);
	memset(&sm, 0, sizeof(sm));
	sm.name = (LPSOCKADDR)&a;
	sm.namelen = sizeof(a);
	sm.lpBuffers = &b;
	sm.dwBufferCount = 1;
	cr_assert_eq(sendmsg_(s, &sm, 0, &n, NULL, NULL), 0, "%s",
	    wname(WSAGetLastError()));
	cr_assert_eq(n, 5);
	cr_assert(readable(r));
	memset(&rm, 0, sizeof(rm));
	rm.name = (LPSOCKADDR)&from;
	rm.namelen = sizeof(from);
	rm.lpBuffers = &rb;
	rm.dwBufferCount = 1;
	rm.Control.buf = ctl;
	rm.Control.len = sizeof(ctl);
	n = 0;
	cr_assert_eq(recvmsg_(r, &rm, &n, NULL, NULL), 0, "%s",
	    wname(WSAGetLastError()));
	cr_assert_eq(n, 5);
	cr_assert_eq(memcmp(data, "hello", 5), 0);
	cr_assert_eq(rm.namelen, (int)sizeof(from));
	for (cm = WSA_CMSG_FIRSTHDR(&rm); cm != NULL;
	    cm = WSA_CMSG_NXTHDR(&rm, cm))
		if (cm->cmsg_level == IPPROTO_IP &&
		    cm->cmsg_type == IP_PKTINFO)
			seen = 1;
	cr_assert(seen, "IP_PKTINFO arrives in the control buffer");
	cr_assert_eq(recvmsg_(r, NULL, &n, NULL, NULL), SOCKET_ERROR);
	ASSERT_ERR(WSAEFAULT, "no WSAMSG");
	closesocket(r);
	closesocket(s);
}

BOTH(extension_call_names_for_trace)
{
	SOCKET s;
	DWORD n;
	u_long v = 0;

	start();
	s = mk(AF_INET, SOCK_STREAM, 0, 0);
	(void)WSAIoctl(s, FIONREAD, NULL, 0, &v, sizeof(v), &n, NULL, NULL);
	cr_assert_str_eq(WSPShimCallName(), "WSAIoctl");
	(void)ioctlsocket(s, FIONREAD, &v);
	cr_assert_str_eq(WSPShimCallName(), "ioctlsocket");
	(void)WSASendDisconnect(s, NULL);
	cr_assert_str_eq(WSPShimCallName(), "WSASendDisconnect");
	closesocket(s);
}

/* ------------------------------------------------------------------ */
/* Winsock's rules where the project differed. */

BOTH(duplicate_token_is_one_shot_across_fork)
{
	WSAPROTOCOL_INFOW info;
	struct pollfd none;
	SOCKET s, d;
	pid_t pid;
	int st = -1, i;

	start();
	s = mk(AF_INET, SOCK_STREAM, 0, 0);
	cr_assert_eq(WSADuplicateSocketW(s, (DWORD)getpid(), &info), 0);
	cr_assert_str_eq(WSPShimCallName(), "WSADuplicateSocketW");
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		alarm(20);	/* a hung child fails, bounded */
		/* The token was made for the parent: void here. */
		d = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO,
		    FROM_PROTOCOL_INFO, &info, 0, 0);
		_exit(d == INVALID_SOCKET && WSAGetLastError() == WSAEINVAL ?
		    0 : 1);
	}
	for (i = 0; i < WAIT_MS / 10 && waitpid(pid, &st, WNOHANG) == 0; i++)
		(void)poll(&none, 0, 10);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "the child could use its parent's token");
	d = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO,
	    FROM_PROTOCOL_INFO, &info, 0, 0);
	cr_assert_neq(d, INVALID_SOCKET, "the parent still can: %s",
	    wname(WSAGetLastError()));
	cr_assert_eq(WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO,
	    FROM_PROTOCOL_INFO, &info, 0, 0), INVALID_SOCKET);
	ASSERT_ERR(WSAEINVAL, "a second use");
	closesocket(d);
	closesocket(s);
}

/* The protocol of a socket (SO_PROTOCOL). */
static int
proto_of(SOCKET s)
{
	int p = -1;
	socklen_t l = sizeof(p);

	cr_assert_eq(getsockopt((int)s, SOL_SOCKET, SO_PROTOCOL, &p, &l), 0);
	return p;
}

BOTH(protocol_info_triple_rule)
{
	WSAPROTOCOL_INFOW info, buf[64];
	DWORD len = sizeof(buf);
	INT udp[] = { IPPROTO_UDP, 0 };
	SOCKET t;
	int n, i;

	start();
	/* The first UDP/IPv4 entry (the chain's, under layers). */
	n = WSAEnumProtocolsW(udp, buf, &len);
	for (i = 0; i < n && buf[i].iAddressFamily != AF_INET; i++)
		;
	cr_assert_lt(i, n);
	info = buf[i];
	/* Arguments 0 or FROM_PROTOCOL_INFO: the struct's triple. */
	t = WSASocketW(0, 0, 0, &info, 0, 0);
	cr_assert_neq(t, INVALID_SOCKET, "%s", wname(WSAGetLastError()));
	cr_assert_eq(proto_of(t), IPPROTO_UDP);
	closesocket(t);
	/* A caller's change to the struct counts: protocol 0 is the
	 * kernel's default for the type, UDP. */
	info.iProtocol = 0;
	t = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO,
	    FROM_PROTOCOL_INFO, &info, 0, 0);
	cr_assert_neq(t, INVALID_SOCKET, "%s", wname(WSAGetLastError()));
	cr_assert_eq(proto_of(t), IPPROTO_UDP);
	closesocket(t);
	/* An explicit argument wins over the struct. */
	info.iSocketType = SOCK_STREAM;
	t = WSASocketW(0, SOCK_DGRAM, IPPROTO_UDP, &info, 0, 0);
	cr_assert_neq(t, INVALID_SOCKET, "%s", wname(WSAGetLastError()));
	cr_assert_eq(proto_of(t), IPPROTO_UDP);
	closesocket(t);
	/* The struct's changed type does not fit the UDP provider. */
	cr_assert_eq(WSASocketW(0, 0, 0, &info, 0, 0), INVALID_SOCKET);
	ASSERT_ERR(WSAESOCKTNOSUPPORT, "a stream on the UDP entry");
}

BOTH(udp_entries_advertise_broadcast)
{
	WSAPROTOCOL_INFOW buf[64];
	DWORD len = sizeof(buf);
	int n, i, udp = 0;

	start();
	n = WSAEnumProtocolsW(NULL, buf, &len);
	cr_assert_gt(n, 0);
	for (i = 0; i < n; i++)
		if (buf[i].iSocketType == SOCK_DGRAM &&
		    buf[i].iProtocol == IPPROTO_UDP) {
			udp += buf[i].ProtocolChain.ChainLen ==
			    BASE_PROTOCOL;
			/* A chain of non-IFS layers drops IFS_HANDLES. */
			cr_assert(buf[i].dwServiceFlags1 &
			    XP1_SUPPORT_BROADCAST, "entry %u",
			    buf[i].dwCatalogEntryId);
			if (buf[i].ProtocolChain.ChainLen == BASE_PROTOCOL)
				cr_assert_eq(buf[i].dwServiceFlags1,
				    XP1_CONNECTIONLESS | XP1_MESSAGE_ORIENTED |
				    XP1_SUPPORT_BROADCAST |
				    XP1_SUPPORT_MULTIPOINT | XP1_IFS_HANDLES,
				    "entry %u", buf[i].dwCatalogEntryId);
		}
	cr_assert_eq(udp, 2, "UDP over IPv4 and IPv6");
}

BOTH(closing_the_listener_closes_a_deferred_connection)
{
	struct sockaddr_storage ss;
	char b;
	int len;
	ssize_t n;
	SOCKET l, c;

	start();
	l = listener(AF_INET, &ss, &len);
	c = mk(AF_INET, SOCK_STREAM, 0, 0);
	cr_assert_eq(connect((int)c, (struct sockaddr *)&ss, (socklen_t)len),
	    0);
	cond_answer = CF_DEFER;
	cr_assert_eq(WSAAccept(l, NULL, NULL, cond, 0x1234), INVALID_SOCKET);
	ASSERT_ERR(WSATRY_AGAIN, "CF_DEFER");
	cr_assert_eq(closesocket(l), 0);
	cr_assert(readable(c), "the peer hears of it");
	n = recv((int)c, &b, 1, 0);
	cr_assert(n == 0 || (n < 0 && errno == ECONNRESET),
	    "recv gave %zd (%s)", n, strerror(errno));
	closesocket(c);
}
