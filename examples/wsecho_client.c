/*
 * wsecho_client.c - the client of wsecho_server, written as a Windows
 * programmer writes one: WSAStartup to WSACleanup, getaddrinfo, ConnectEx
 * looked up by GUID (with the first data), recv, shutdown(SD_SEND), then a
 * UDP round trip with a select timeout.  Only the include lines differ
 * from the Windows source.
 *
 *	wsecho_client PORT MESSAGE
 *
 * Prints "tcp: MESSAGE" and "udp: MESSAGE" as they come back from
 * 127.0.0.1:PORT (only the TCP round for QUIT, which stops the server);
 * exits 0, or 1 with the failing call.
 */
#include <stdio.h>
#include <string.h>

#include <wspshim/winsock2.h>
#include <wspshim/ws2tcpip.h>
#include <wspshim/mswsock.h>

static int
report(const char *what)
{
	fprintf(stderr, "wsecho_client: %s failed with error %d\n", what,
	    WSAGetLastError());
	return 1;
}

static int
tcp_round(const ADDRINFOA *ai, const char *msg)
{
	GUID guid = WSAID_CONNECTEX;
	LPFN_CONNECTEX pConnectEx = NULL;
	SOCKADDR_IN any;
	WSAOVERLAPPED ov;
	char buf[512];
	DWORD bytes = 0, sent = 0;
	int len = (int)strlen(msg), got = 0, n;
	SOCKET s;

	s = WSASocket(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
	    WSA_FLAG_OVERLAPPED);
	if (s == INVALID_SOCKET)
		return report("WSASocket");
	if (WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &guid,
	    sizeof(guid), &pConnectEx, sizeof(pConnectEx), &bytes, NULL,
	    NULL) == SOCKET_ERROR)
		return report("WSAIoctl(ConnectEx)");
	/* ConnectEx wants a bound socket. */
	memset(&any, 0, sizeof(any));
	any.sin_family = AF_INET;
	if (bind(s, (SOCKADDR *)&any, sizeof(any)) == SOCKET_ERROR)
		return report("bind");
	memset(&ov, 0, sizeof(ov));
	if (!pConnectEx(s, ai->ai_addr, (int)ai->ai_addrlen, (PVOID)msg,
	    (DWORD)len, &sent, &ov))
		return report("ConnectEx");
	setsockopt(s, SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, NULL, 0);
	shutdown(s, SD_SEND);
	while (got < (int)sizeof(buf) - 1 &&
	    (n = recv(s, buf + got, sizeof(buf) - 1 - got, 0)) > 0)
		got += n;
	buf[got] = '\0';
	printf("tcp: %s\n", buf);
	closesocket(s);
	return got == len && memcmp(buf, msg, len) == 0 ? 0 : 1;
}

static int
udp_round(const ADDRINFOA *ai, const char *msg)
{
	struct timeval tv = { 5, 0 };
	char buf[512];
	fd_set readfds;
	int len = (int)strlen(msg), n;
	SOCKET s;

	s = WSASocket(AF_INET, SOCK_DGRAM, IPPROTO_UDP, NULL, 0, 0);
	if (s == INVALID_SOCKET)
		return report("WSASocket UDP");
	if (sendto(s, msg, len, 0, ai->ai_addr, (int)ai->ai_addrlen) != len)
		return report("sendto");
	FD_ZERO(&readfds);
	FD_SET(s, &readfds);
	if (select(0, &readfds, NULL, NULL, &tv) != 1)
		return report("select");
	n = recvfrom(s, buf, sizeof(buf) - 1, 0, NULL, NULL);
	if (n < 0)
		return report("recvfrom");
	buf[n] = '\0';
	printf("udp: %s\n", buf);
	closesocket(s);
	return n == len && memcmp(buf, msg, len) == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	WSADATA wsaData;
	ADDRINFOA hints, *res = NULL;
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: wsecho_client PORT MESSAGE\n");
		return 2;
	}
	if ((rc = WSAStartup(MAKEWORD(2, 2), &wsaData)) != 0) {
		fprintf(stderr, "WSAStartup failed with error %d\n", rc);
		return 1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_flags = AI_NUMERICHOST;
	if (getaddrinfo("127.0.0.1", argv[1], &hints, &res) != 0)
		return report("getaddrinfo");
	/* QUIT stops the server: no UDP answer would come. */
	rc = tcp_round(res, argv[2]) ||
	    (strcmp(argv[2], "QUIT") != 0 && udp_round(res, argv[2]));
	freeaddrinfo(res);
	WSACleanup();
	return rc;
}
