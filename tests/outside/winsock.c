/*
 * winsock.c - a probe written as a Windows program is: only names from the
 * Winsock headers, WSAStartup to WSACleanup, the extension functions
 * looked up by GUID.  Built outside the tree with pkg-config; the only
 * change from its Windows form is the include lines.
 *
 * In one process: a TCP exchange (a listener, ConnectEx to it, AcceptEx
 * with the first data, GetAcceptExSockaddrs, send/recv back, select,
 * WSASendDisconnect), then a UDP one (WSASendMsg and WSARecvMsg over
 * 127.0.0.1, ioctlsocket FIONREAD, WSANtohs), then WSAConnect, WSAAccept
 * with a condition function, WSADuplicateSocket and WSAJoinLeaf on a
 * multicast group over 127.0.0.1.  Prints one line per step
 * to stdout, "done" at the end, and exits 0; or names the failed step and
 * its WSAGetLastError() on stderr and exits 1.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <wspshim/winsock2.h>
#include <wspshim/ws2tcpip.h>
#include <wspshim/mswsock.h>

#ifndef CALLBACK
#define CALLBACK
#endif
/* Windows' GetCurrentProcessId() (kernel32): here getpid(). */
#define GetCurrentProcessIdForProbe()	((DWORD)getpid())

static int
fail(const char *step)
{
	fprintf(stderr, "winsock probe: %s failed: %d\n", step,
	    WSAGetLastError());
	return 1;
}

static void *
extension(SOCKET s, GUID guid)
{
	void *fn = NULL;
	DWORD bytes = 0;

	if (WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &guid,
	    sizeof(guid), &fn, sizeof(fn), &bytes, NULL, NULL) == SOCKET_ERROR)
		return NULL;
	return fn;
}

static int
tcp_exchange(void)
{
	LPFN_CONNECTEX pConnectEx;
	LPFN_ACCEPTEX pAcceptEx;
	LPFN_GETACCEPTEXSOCKADDRS pGetAcceptExSockaddrs;
	SOCKADDR_IN addr, any, *local, *remote;
	WSAOVERLAPPED ov;
	char buf[2 * (sizeof(SOCKADDR_IN) + 16) + 16];
	int addrlen = sizeof(addr), ll, rl;
	DWORD sent = 0, got = 0;
	SOCKET listener, client, accepted;
	struct timeval tv = { 5, 0 };
	fd_set readfds;

	listener = WSASocket(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
	    WSA_FLAG_OVERLAPPED);
	client = WSASocket(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
	    WSA_FLAG_OVERLAPPED);
	accepted = WSASocket(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
	    WSA_FLAG_OVERLAPPED);
	if (listener == INVALID_SOCKET || client == INVALID_SOCKET ||
	    accepted == INVALID_SOCKET)
		return fail("WSASocket");
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	if (InetPtonA(AF_INET, "127.0.0.1", &addr.sin_addr) != 1)
		return fail("InetPton");
	if (bind(listener, (SOCKADDR *)&addr, sizeof(addr)) == SOCKET_ERROR ||
	    listen(listener, SOMAXCONN) == SOCKET_ERROR ||
	    getsockname(listener, (SOCKADDR *)&addr,
	    (socklen_t *)&addrlen) == SOCKET_ERROR)
		return fail("bind/listen");
	pConnectEx = (LPFN_CONNECTEX)extension(client,
	    (GUID)WSAID_CONNECTEX);
	pAcceptEx = (LPFN_ACCEPTEX)extension(listener, (GUID)WSAID_ACCEPTEX);
	pGetAcceptExSockaddrs = (LPFN_GETACCEPTEXSOCKADDRS)extension(
	    listener, (GUID)WSAID_GETACCEPTEXSOCKADDRS);
	if (pConnectEx == NULL || pAcceptEx == NULL ||
	    pGetAcceptExSockaddrs == NULL)
		return fail("SIO_GET_EXTENSION_FUNCTION_POINTER");
	memset(&any, 0, sizeof(any));
	any.sin_family = AF_INET;
	if (bind(client, (SOCKADDR *)&any, sizeof(any)) == SOCKET_ERROR)
		return fail("bind client");
	memset(&ov, 0, sizeof(ov));
	if (!pConnectEx(client, (SOCKADDR *)&addr, sizeof(addr), "hello", 5,
	    &sent, &ov) && WSAGetLastError() != WSA_IO_PENDING)
		return fail("ConnectEx");
	printf("ConnectEx sent %lu\n", (unsigned long)sent);
	memset(&ov, 0, sizeof(ov));
	if (!pAcceptEx(listener, accepted, buf, 5, sizeof(SOCKADDR_IN) + 16,
	    sizeof(SOCKADDR_IN) + 16, &got, &ov))
		return fail("AcceptEx");
	pGetAcceptExSockaddrs(buf, 5, sizeof(SOCKADDR_IN) + 16,
	    sizeof(SOCKADDR_IN) + 16, (SOCKADDR **)&local, &ll,
	    (SOCKADDR **)&remote, &rl);
	if (got != 5 || memcmp(buf, "hello", 5) != 0 ||
	    local->sin_port != addr.sin_port)
		return fail("AcceptEx data");
	if (setsockopt(accepted, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT,
	    (char *)&listener, sizeof(listener)) == SOCKET_ERROR ||
	    setsockopt(client, SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, NULL,
	    0) == SOCKET_ERROR)
		return fail("SO_UPDATE_ACCEPT_CONTEXT/SO_UPDATE_CONNECT_CONTEXT");
	printf("AcceptEx got %lu: %.5s\n", (unsigned long)got, buf);
	if (send(accepted, "world", 5, 0) != 5)
		return fail("send");
	FD_ZERO(&readfds);
	FD_SET(client, &readfds);
	if (select(0, &readfds, NULL, NULL, &tv) != 1 ||
	    !FD_ISSET(client, &readfds))
		return fail("select");
	if (recv(client, buf, sizeof(buf), 0) != 5 ||
	    memcmp(buf, "world", 5) != 0)
		return fail("recv");
	printf("select, recv: world\n");
	if (WSASendDisconnect(client, NULL) == SOCKET_ERROR ||
	    recv(accepted, buf, sizeof(buf), 0) != 0)
		return fail("WSASendDisconnect");
	printf("WSASendDisconnect: the peer sees the end\n");
	closesocket(accepted);
	closesocket(client);
	closesocket(listener);
	return 0;
}

static int
udp_exchange(void)
{
	LPFN_WSASENDMSG pWSASendMsg;
	LPFN_WSARECVMSG pWSARecvMsg;
	SOCKADDR_IN addr, from;
	WSABUF data, in;
	WSAMSG msg;
	char buf[64];
	int addrlen = sizeof(addr);
	u_long pending = 0;
	u_short port;
	DWORD n = 0;
	SOCKET a, b;

	a = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
	b = WSASocket(AF_INET, SOCK_DGRAM, IPPROTO_UDP, NULL, 0, 0);
	if (a == INVALID_SOCKET || b == INVALID_SOCKET)
		return fail("UDP sockets");
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(a, (SOCKADDR *)&addr, sizeof(addr)) == SOCKET_ERROR ||
	    getsockname(a, (SOCKADDR *)&addr, (socklen_t *)&addrlen) ==
	    SOCKET_ERROR)
		return fail("UDP bind");
	pWSASendMsg = (LPFN_WSASENDMSG)extension(b, (GUID)WSAID_WSASENDMSG);
	pWSARecvMsg = (LPFN_WSARECVMSG)extension(a, (GUID)WSAID_WSARECVMSG);
	if (pWSASendMsg == NULL || pWSARecvMsg == NULL)
		return fail("WSASendMsg/WSARecvMsg lookup");
	data.buf = "datagram";
	data.len = 8;
	memset(&msg, 0, sizeof(msg));
	msg.name = (SOCKADDR *)&addr;
	msg.namelen = sizeof(addr);
	msg.lpBuffers = &data;
	msg.dwBufferCount = 1;
	if (pWSASendMsg(b, &msg, 0, &n, NULL, NULL) == SOCKET_ERROR || n != 8)
		return fail("WSASendMsg");
	if (ioctlsocket(a, FIONREAD, &pending) == SOCKET_ERROR)
		return fail("ioctlsocket");
	in.buf = buf;
	in.len = sizeof(buf);
	memset(&msg, 0, sizeof(msg));
	msg.name = (SOCKADDR *)&from;
	msg.namelen = sizeof(from);
	msg.lpBuffers = &in;
	msg.dwBufferCount = 1;
	if (pWSARecvMsg(a, &msg, &n, NULL, NULL) == SOCKET_ERROR || n != 8 ||
	    memcmp(buf, "datagram", 8) != 0)
		return fail("WSARecvMsg");
	if (WSANtohs(a, from.sin_port, &port) == SOCKET_ERROR)
		return fail("WSANtohs");
	printf("UDP: %lu bytes from port %s, FIONREAD said %s\n",
	    (unsigned long)n, port != 0 ? "non-zero" : "0",
	    pending == 8 ? "8" : "something else");
	closesocket(a);
	closesocket(b);
	return 0;
}

static int CALLBACK
accept_all(LPWSABUF lpCallerId, LPWSABUF lpCallerData, LPQOS lpSQOS,
    LPQOS lpGQOS, LPWSABUF lpCalleeId, LPWSABUF lpCalleeData, GROUP *g,
    DWORD_PTR dwCallbackData)
{
	(void)lpCallerData; (void)lpSQOS; (void)lpGQOS; (void)lpCalleeData;
	(void)g;
	return lpCallerId != NULL && lpCalleeId != NULL &&
	    dwCallbackData == 42 ? CF_ACCEPT : CF_REJECT;
}

/* WSAConnect, WSAAccept with a condition function, WSADuplicateSocket,
 * WSAJoinLeaf on a multicast group over 127.0.0.1. */
static int
classic_calls(void)
{
	SOCKADDR_IN addr, grp;
	IN_ADDR lo;
	WSAPROTOCOL_INFO info;
	int addrlen = sizeof(addr);
	char buf[8];
	SOCKET l, c, a, d, m;

	l = WSASocket(AF_INET, SOCK_STREAM, 0, NULL, 0, 0);
	c = WSASocket(AF_INET, SOCK_STREAM, 0, NULL, 0, 0);
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l == INVALID_SOCKET || c == INVALID_SOCKET ||
	    bind(l, (SOCKADDR *)&addr, sizeof(addr)) == SOCKET_ERROR ||
	    listen(l, 4) == SOCKET_ERROR || getsockname(l, (SOCKADDR *)&addr,
	    (socklen_t *)&addrlen) == SOCKET_ERROR)
		return fail("listener");
	if (WSAConnect(c, (SOCKADDR *)&addr, sizeof(addr), NULL, NULL, NULL,
	    NULL) == SOCKET_ERROR)
		return fail("WSAConnect");
	a = WSAAccept(l, NULL, NULL, accept_all, 42);
	if (a == INVALID_SOCKET)
		return fail("WSAAccept");
	if (WSADuplicateSocket(a, GetCurrentProcessIdForProbe(), &info) ==
	    SOCKET_ERROR)
		return fail("WSADuplicateSocket");
	d = WSASocket(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO,
	    FROM_PROTOCOL_INFO, &info, 0, 0);
	if (d == INVALID_SOCKET || send(d, "dup", 3, 0) != 3 ||
	    recv(c, buf, sizeof(buf), 0) != 3)
		return fail("the duplicate");
	printf("WSAConnect, WSAAccept, WSADuplicateSocket: ok\n");
	m = WSASocket(AF_INET, SOCK_DGRAM, IPPROTO_UDP, NULL, 0,
	    WSA_FLAG_MULTIPOINT_C_LEAF | WSA_FLAG_MULTIPOINT_D_LEAF);
	lo.s_addr = htonl(INADDR_LOOPBACK);
	memset(&grp, 0, sizeof(grp));
	grp.sin_family = AF_INET;
	grp.sin_addr.s_addr = htonl(0xef0102fc);	/* 239.1.2.252 */
	if (m == INVALID_SOCKET || setsockopt(m, IPPROTO_IP, IP_MULTICAST_IF,
	    (char *)&lo, sizeof(lo)) == SOCKET_ERROR ||
	    WSAJoinLeaf(m, (SOCKADDR *)&grp, sizeof(grp), NULL, NULL, NULL,
	    NULL, JL_BOTH) == INVALID_SOCKET)
		return fail("WSAJoinLeaf");
	printf("WSAJoinLeaf: ok\n");
	closesocket(m);
	closesocket(d);
	closesocket(a);
	closesocket(c);
	closesocket(l);
	return 0;
}

int
main(void)
{
	WSADATA wsaData;
	int rc;

	if ((rc = WSAStartup(MAKEWORD(2, 2), &wsaData)) != 0) {
		fprintf(stderr, "WSAStartup failed: %d\n", rc);
		return 1;
	}
	if (tcp_exchange() != 0 || udp_exchange() != 0 ||
	    classic_calls() != 0)
		return 1;
	if (WSACleanup() == SOCKET_ERROR)
		return fail("WSACleanup");
	printf("done\n");
	return 0;
}
