/*
 * winsock.c - a probe written as a Windows program is: only names from the
 * Winsock headers, WSAStartup to WSACleanup, the extension functions
 * looked up by GUID.  Built outside the tree with pkg-config; the only
 * change from its Windows form is the include lines.
 *
 * In one process: a TCP exchange (a listener, ConnectEx to it, AcceptEx
 * with the first data, GetAcceptExSockaddrs, send/recv back, select,
 * WSASendDisconnect), then a UDP one (WSASendMsg and WSARecvMsg over
 * 127.0.0.1, ioctlsocket FIONREAD, WSANtohs).  Prints one line per step
 * to stdout, "done" at the end, and exits 0; or names the failed step and
 * its WSAGetLastError() on stderr and exits 1.
 */
#include <stdio.h>
#include <string.h>

#include <wspshim/winsock2.h>
#include <wspshim/ws2tcpip.h>
#include <wspshim/mswsock.h>

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

int
main(void)
{
	WSADATA wsaData;
	int rc;

	if ((rc = WSAStartup(MAKEWORD(2, 2), &wsaData)) != 0) {
		fprintf(stderr, "WSAStartup failed: %d\n", rc);
		return 1;
	}
	if (tcp_exchange() != 0 || udp_exchange() != 0)
		return 1;
	if (WSACleanup() == SOCKET_ERROR)
		return fail("WSACleanup");
	printf("done\n");
	return 0;
}
