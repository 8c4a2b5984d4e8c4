/*
 * probe_ovl.c - overlapped I/O as a Winsock program does it, over
 * loopback, through whatever chain the environment sets up: 128 receives
 * and 128 sends in flight on one TCP socket (completion routines for the
 * receives, WSAGetOverlappedResult for the sends) against an echo thread,
 * a UDP WSASendTo/WSARecvFrom pair with an event, and cancellation by
 * closesocket.  Prints what it saw; the output is the same in every mode,
 * so test_ovl_layers.sh compares it across chains.  Links libwspshim.so
 * (the application API); every wait is bounded.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <wspshim/winsock2.h>

#define INFLIGHT	128
#define PIECE		4096
#define TOTAL		(INFLIGHT * PIECE)
#define WAIT_MS		10000

static unsigned char sent[TOTAL], got[TOTAL];
static WSAOVERLAPPED rov[INFLIGHT], sov[INFLIGHT];
static WSABUF rb[INFLIGHT], sb[INFLIGHT];
static int order[INFLIGHT], ndone, bad_order;

static void __attribute__((noreturn))
fail(const char *what)
{
	printf("FAIL %s: %d\n", what, WSAGetLastError());
	exit(1);
}

static void WSAAPI
on_recv(DWORD err, DWORD cb, LPWSAOVERLAPPED ov, DWORD flags)
{
	if (err != 0)
		printf("recv error %lu\n", (unsigned long)err);
	order[ndone] = (int)(ov - rov);
	if (order[ndone] != ndone)
		bad_order = 1;
	ndone++;
}

/* The echo side: a plain socket, read and written back. */
static void *
echo_main(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[8192];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
		if (send(fd, buf, (size_t)n, 0) != n)
			break;
	close(fd);
	return NULL;
}

/* An overlapped TCP socket connected to an echo thread. */
static SOCKET
tcp_echo(pthread_t *t)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	SOCKET s;
	int l, c;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(l, 1) != 0 ||
	    getsockname(l, (struct sockaddr *)&a, &len) != 0)
		fail("listener");
	s = WSASocketA(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
	    WSA_FLAG_OVERLAPPED);
	if (s == INVALID_SOCKET ||
	    connect((int)s, (struct sockaddr *)&a, sizeof(a)) != 0)
		fail("connect");
	if ((c = accept(l, NULL, NULL)) < 0)
		fail("accept");
	close(l);
	pthread_create(t, NULL, echo_main, (void *)(intptr_t)c);
	return s;
}

static void
tcp_round(void)
{
	DWORD n, flags = 0, cb = 0, fl = 0;
	size_t off = 0, i;
	unsigned sum = 0;
	pthread_t t;
	SOCKET s = tcp_echo(&t);
	int k, pending = 0;

	for (i = 0; i < TOTAL; i++)
		sent[i] = (unsigned char)(i * 31 + i / 4093);
	for (k = 0; k < INFLIGHT; k++) {
		rb[k] = (WSABUF){ PIECE, (char *)got + k * PIECE };
		if (WSARecv(s, &rb[k], 1, &n, &flags, &rov[k], on_recv) != 0) {
			if (WSAGetLastError() != WSA_IO_PENDING)
				fail("WSARecv");
			pending++;
		}
	}
	for (k = 0; k < INFLIGHT; k++) {
		sb[k] = (WSABUF){ PIECE, (char *)sent + k * PIECE };
		if (WSASend(s, &sb[k], 1, &n, 0, &sov[k], NULL) != 0 &&
		    WSAGetLastError() != WSA_IO_PENDING)
			fail("WSASend");
	}
	for (k = 0; k < INFLIGHT; k++)
		if (!WSAGetOverlappedResult(s, &sov[k], &cb, TRUE, &fl) ||
		    cb != PIECE)
			fail("send result");
	while (ndone < INFLIGHT)
		if (SleepEx(WAIT_MS, TRUE) != WSA_WAIT_IO_COMPLETION)
			fail("routines");
	/* The receives, in posting order, hold a prefix of the stream;
	 * read the rest synchronously behind them. */
	for (k = 0; k < INFLIGHT; k++) {
		memmove(got + off, rb[k].buf, rov[k].InternalHigh);
		off += rov[k].InternalHigh;
	}
	while (off < TOTAL) {
		WSAOVERLAPPED ov = { 0 };
		WSABUF b = { (ULONG)(TOTAL - off), (char *)got + off };

		if (WSARecv(s, &b, 1, &n, &flags, &ov, NULL) != 0) {
			if (WSAGetLastError() != WSA_IO_PENDING ||
			    !WSAGetOverlappedResult(s, &ov, &n, TRUE, &fl))
				fail("tail");
		}
		if (n == 0)
			fail("early end");
		off += n;
	}
	for (i = 0; i < TOTAL; i++)
		sum = sum * 33 + got[i];
	printf("tcp %d in flight: %s, order %s, bytes %zu, sum %08x\n",
	    INFLIGHT, memcmp(got, sent, TOTAL) == 0 ? "same bytes" : "DIFFER",
	    bad_order ? "WRONG" : "posting", off, sum);
	closesocket(s);
	pthread_join(t, NULL);
	(void)pending;
}

static void
udp_round(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET }, from;
	socklen_t len = sizeof(a);
	WSAOVERLAPPED ov = { 0 }, ov2 = { 0 };
	char buf[64] = { 0 }, from_s[32];
	WSABUF b = { sizeof(buf), buf }, out = { 5, "hello" };
	DWORD n, flags = 0, cb = 0, fl = 0;
	INT flen = sizeof(from);
	SOCKET s, t;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s = WSASocketA(AF_INET, SOCK_DGRAM, 0, NULL, 0, WSA_FLAG_OVERLAPPED);
	t = WSASocketA(AF_INET, SOCK_DGRAM, 0, NULL, 0, WSA_FLAG_OVERLAPPED);
	if (bind((int)s, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname((int)s, (struct sockaddr *)&a, &len) != 0)
		fail("udp bind");
	ov.hEvent = WSACreateEvent();
	if (WSARecvFrom(s, &b, 1, &n, &flags, (struct sockaddr *)&from, &flen,
	    &ov, NULL) == 0 || WSAGetLastError() != WSA_IO_PENDING)
		fail("WSARecvFrom");
	if (WSASendTo(t, &out, 1, &n, 0, (struct sockaddr *)&a, sizeof(a),
	    &ov2, NULL) != 0)
		fail("WSASendTo");
	if (WSAWaitForMultipleEvents(1, &ov.hEvent, FALSE, WAIT_MS, FALSE) !=
	    WSA_WAIT_EVENT_0 || !WSAGetOverlappedResult(s, &ov, &cb, FALSE,
	    &fl))
		fail("udp wait");
	inet_ntop(AF_INET, &from.sin_addr, from_s, sizeof(from_s));
	printf("udp: %lu bytes \"%s\" from %s, address length %d\n",
	    (unsigned long)cb, buf, from_s, flen);
	WSACloseEvent(ov.hEvent);
	closesocket(s);
	closesocket(t);
}

static void
cancel_round(void)
{
	WSAOVERLAPPED ov[2] = { { 0 } };
	char buf[2][8];
	WSABUF b[2] = { { 8, buf[0] }, { 8, buf[1] } };
	DWORD n, flags = 0, cb = 0, fl = 0;
	pthread_t t;
	SOCKET s = tcp_echo(&t);
	int k;

	for (k = 0; k < 2; k++)
		if (WSARecv(s, &b[k], 1, &n, &flags, &ov[k], NULL) == 0)
			fail("cancel: completed");
	closesocket(s);
	for (k = 0; k < 2; k++) {
		BOOL ok = WSAGetOverlappedResult(s, &ov[k], &cb, FALSE, &fl);

		printf("cancelled request %d: %s, status %lu\n", k,
		    ok ? "succeeded" : "failed",
		    (unsigned long)ov[k].Internal);
	}
	pthread_join(t, NULL);
}

int
main(void)
{
	WSADATA d;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (WSAStartup(MAKEWORD(2, 2), &d) != 0)
		fail("WSAStartup");
	tcp_round();
	udp_round();
	cancel_round();
	WSACleanup();
	return 0;
}
