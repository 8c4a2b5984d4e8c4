/*
 * main.c - a program built outside the tree against the installed
 * libwspshim, through pkg-config: "cc main.c $(pkg-config --cflags --libs
 * wspshim)".  It uses only the public headers.
 *
 * WSAStartup, a TCP socket from WSASocketW whose SO_PROTOCOL_INFOW says
 * TCP, a loopback connection to a listener of its own with plain POSIX
 * calls, send and recv both ways, closesocket, WSACleanup.  Prints "ok" and
 * exits 0, or names the step that failed and exits 1.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <wspshim/winsock2.h>
#include <wspshim/ws2spi.h>

/* Report the failed step with the WSA and errno codes; returns 1. */
static int
fail(const char *step)
{
	int e = errno;

	fprintf(stderr, "outside: %s failed (WSA error %d, errno %s)\n",
	    step, WSAGetLastError(), strerror(e));
	return 1;
}

/* Send all of msg on s, then receive as many bytes on r into buf.
 * Returns 0 or -1. */
static int
exchange(int s, int r, const char *msg, char *buf, size_t cap)
{
	size_t len = strlen(msg), got = 0;
	ssize_t n;
	int tries;

	if (len >= cap || send(s, msg, len, 0) != (ssize_t)len)
		return -1;
	for (tries = 0; got < len && tries < 100; tries++) {
		n = recv(r, buf + got, len - got, 0);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	buf[got] = '\0';
	return got == len && strcmp(buf, msg) == 0 ? 0 : -1;
}

int
main(void)
{
	WSADATA wsa;
	WSAPROTOCOL_INFOW info;
	struct sockaddr_in sin;
	socklen_t len;
	SOCKET s;
	int l, a;
	char buf[64];

	if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0)
		return fail("WSAStartup");
	if (wsa.wVersion != MAKEWORD(2, 2))
		return fail("WSAStartup version 2.2");

	s = WSASocketW(AF_INET, SOCK_STREAM, 0, NULL, 0, 0);
	if (s == INVALID_SOCKET)
		return fail("WSASocketW(AF_INET, SOCK_STREAM, 0)");
	len = sizeof(info);
	memset(&info, 0, sizeof(info));
	if (getsockopt((int)s, SOL_SOCKET, SO_PROTOCOL_INFOW, &info,
	    &len) != 0)
		return fail("getsockopt(SO_PROTOCOL_INFOW)");
	if (len != sizeof(info) || info.iProtocol != IPPROTO_TCP ||
	    info.iAddressFamily != AF_INET || info.iSocketType != SOCK_STREAM)
		return fail("SO_PROTOCOL_INFOW names TCP over IPv4");

	if ((l = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return fail("socket (listener)");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	len = sizeof(sin);
	if (bind(l, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    listen(l, 1) != 0 ||
	    getsockname(l, (struct sockaddr *)&sin, &len) != 0)
		return fail("bind/listen on 127.0.0.1");
	if (connect((int)s, (struct sockaddr *)&sin, sizeof(sin)) != 0)
		return fail("connect");
	if ((a = accept(l, NULL, NULL)) < 0)
		return fail("accept");

	if (exchange((int)s, a, "ping", buf, sizeof(buf)) != 0)
		return fail("send/recv ping");
	if (exchange(a, (int)s, "pong", buf, sizeof(buf)) != 0)
		return fail("send/recv pong");

	if (closesocket(s) != 0 || closesocket((SOCKET)a) != 0 ||
	    closesocket((SOCKET)l) != 0)
		return fail("closesocket");
	if (WSACleanup() != 0)
		return fail("WSACleanup");
	puts("ok");
	return 0;
}
