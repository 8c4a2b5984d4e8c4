/*
 * wsecho_server.c - a Winsock echo server, written as a Windows programmer
 * writes one: WSAStartup to WSACleanup, getaddrinfo, WSASocket, AcceptEx
 * and GetAcceptExSockaddrs looked up by GUID, select over a TCP listener
 * and a UDP socket.  On Windows it builds with <winsock2.h>, <ws2tcpip.h>
 * and <mswsock.h> and ws2_32.lib/mswsock.lib; here only the include lines
 * differ (see docs/porting-from-windows.md).
 *
 *	wsecho_server PORT
 *
 * Echoes every TCP connection (one at a time) and every UDP datagram on
 * 127.0.0.1:PORT; a TCP client that sends "QUIT" stops it.  Prints
 * "listening" once ready.  Exits 0, or 1 with the failing call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wspshim/winsock2.h>
#include <wspshim/ws2tcpip.h>
#include <wspshim/mswsock.h>

#define ADDR_SPACE	(sizeof(SOCKADDR_STORAGE) + 16)

static LPFN_ACCEPTEX pAcceptEx;
static LPFN_GETACCEPTEXSOCKADDRS pGetAcceptExSockaddrs;

static int
report(const char *what)
{
	fprintf(stderr, "wsecho_server: %s failed with error %d\n", what,
	    WSAGetLastError());
	return 1;
}

static int
lookup(SOCKET s, GUID guid, void *fn, size_t size)
{
	DWORD bytes = 0;

	return WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &guid,
	    sizeof(guid), fn, (DWORD)size, &bytes, NULL, NULL);
}

/* Accept one connection with AcceptEx and echo it; 1 if it said QUIT. */
static int
serve_tcp(SOCKET listener)
{
	char out[64 + 2 * ADDR_SPACE], buf[512];	/* buf holds 64 */
	SOCKADDR *local, *remote;
	int llen, rlen, n, quit = 0;
	DWORD got = 0;
	WSAOVERLAPPED ov;
	SOCKET client;

	client = WSASocket(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
	    WSA_FLAG_OVERLAPPED);
	if (client == INVALID_SOCKET)
		return report("WSASocket"), -1;
	memset(&ov, 0, sizeof(ov));
	if (!pAcceptEx(listener, client, out, 64, ADDR_SPACE, ADDR_SPACE,
	    &got, &ov)) {
		closesocket(client);
		return report("AcceptEx"), -1;
	}
	pGetAcceptExSockaddrs(out, 64, ADDR_SPACE, ADDR_SPACE, &local, &llen,
	    &remote, &rlen);
	setsockopt(client, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT,
	    (char *)&listener, sizeof(listener));
	/* The first bytes came with AcceptEx; echo them, then the rest. */
	memcpy(buf, out, got);
	for (n = (int)got; n > 0; n = recv(client, buf, sizeof(buf), 0)) {
		if (n >= 4 && memcmp(buf, "QUIT", 4) == 0)
			quit = 1;
		if (send(client, buf, n, 0) != n)
			break;
	}
	shutdown(client, SD_BOTH);
	closesocket(client);
	return quit;
}

/* Echo one datagram. */
static void
serve_udp(SOCKET udp)
{
	SOCKADDR_STORAGE from;
	socklen_t fromlen = sizeof(from);
	char buf[512];
	int n;

	n = recvfrom(udp, buf, sizeof(buf), 0, (SOCKADDR *)&from, &fromlen);
	if (n > 0)
		sendto(udp, buf, n, 0, (SOCKADDR *)&from, fromlen);
}

int
main(int argc, char **argv)
{
	WSADATA wsaData;
	ADDRINFOA hints, *res = NULL;
	SOCKET listener, udp;
	fd_set readfds;
	int rc, quit = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: wsecho_server PORT\n");
		return 2;
	}
	if ((rc = WSAStartup(MAKEWORD(2, 2), &wsaData)) != 0) {
		fprintf(stderr, "WSAStartup failed with error %d\n", rc);
		return 1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
	if (getaddrinfo("127.0.0.1", argv[1], &hints, &res) != 0)
		return report("getaddrinfo");
	listener = WSASocket(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
	    WSA_FLAG_OVERLAPPED);
	udp = WSASocket(AF_INET, SOCK_DGRAM, IPPROTO_UDP, NULL, 0, 0);
	if (listener == INVALID_SOCKET || udp == INVALID_SOCKET)
		return report("WSASocket");
	if (bind(listener, res->ai_addr, (int)res->ai_addrlen) ==
	    SOCKET_ERROR || listen(listener, SOMAXCONN) == SOCKET_ERROR)
		return report("bind/listen");
	if (bind(udp, res->ai_addr, (int)res->ai_addrlen) == SOCKET_ERROR)
		return report("bind UDP");
	freeaddrinfo(res);
	if (lookup(listener, (GUID)WSAID_ACCEPTEX, &pAcceptEx,
	    sizeof(pAcceptEx)) == SOCKET_ERROR ||
	    lookup(listener, (GUID)WSAID_GETACCEPTEXSOCKADDRS,
	    &pGetAcceptExSockaddrs, sizeof(pGetAcceptExSockaddrs)) ==
	    SOCKET_ERROR)
		return report("SIO_GET_EXTENSION_FUNCTION_POINTER");
	printf("listening\n");
	fflush(stdout);
	while (!quit) {
		FD_ZERO(&readfds);
		FD_SET(listener, &readfds);
		FD_SET(udp, &readfds);
		if (select(0, &readfds, NULL, NULL, NULL) == SOCKET_ERROR)
			return report("select");
		if (FD_ISSET(udp, &readfds))
			serve_udp(udp);
		if (FD_ISSET(listener, &readfds) &&
		    (quit = serve_tcp(listener)) < 0)
			return 1;
	}
	closesocket(udp);
	closesocket(listener);
	WSACleanup();
	return 0;
}
