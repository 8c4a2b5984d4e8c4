/*
 * ovecho.c - an overlapped Winsock echo server and client, written as a
 * Windows programmer writes them: WSASocket with WSA_FLAG_OVERLAPPED,
 * WSARecv and WSASend with completion routines that post the next
 * request, alertable waits (WSAWaitForMultipleEvents and SleepEx) in
 * which the routines run, and WSAEventSelect for the listener's
 * FD_ACCEPT.  On Windows it builds with <winsock2.h> and ws2_32.lib; here
 * only the include line differs.
 *
 *	ovecho server PORT
 *	ovecho client PORT ROUNDS SIZE
 *
 * The server echoes every connection on 127.0.0.1:PORT, several at once,
 * until a client sends "QUIT" (ovecho client PORT 1 4), which it echoes
 * too; it prints "listening" once ready.  The client sends ROUNDS
 * messages of SIZE bytes (at most 65536), each read back whole before the
 * next, checks every byte, and prints "echoed N bytes in R rounds".
 * Exits 0, or 1 with the failing call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wspshim/winsock2.h>

#define PIECE	65536

/* One connection of the server, or the client's one. */
struct conn {
	WSAOVERLAPPED	ov;		/* first: the routines get &ov */
	SOCKET		s;
	WSABUF		wsa;
	size_t		want;		/* client: bytes still to come back */
	int		quit;		/* server: it asked the server to stop */
	char		buf[PIECE];
};

static int stop, failed;

static void
report(const char *what)
{
	fprintf(stderr, "ovecho: %s failed: %d\n", what, WSAGetLastError());
	failed = 1;
}

static void CALLBACK on_recv(DWORD err, DWORD cb, LPWSAOVERLAPPED ov,
    DWORD flags);

/* Post a receive into the whole buffer (or the rest the client wants). */
static int
post_recv(struct conn *c, size_t room)
{
	DWORD flags = 0;

	memset(&c->ov, 0, sizeof(c->ov));
	c->wsa.buf = c->buf + (PIECE - room);
	c->wsa.len = (ULONG)room;
	if (WSARecv(c->s, &c->wsa, 1, NULL, &flags, &c->ov, on_recv) != 0 &&
	    WSAGetLastError() != WSA_IO_PENDING) {
		report("WSARecv");
		return -1;
	}
	return 0;
}

static void
conn_end(struct conn *c)
{
	closesocket(c->s);
	free(c);
}

/* Server: the echo went out; read again. */
static void CALLBACK
on_sent(DWORD err, DWORD cb, LPWSAOVERLAPPED ov, DWORD flags)
{
	struct conn *c = (struct conn *)ov;

	(void)cb;
	(void)flags;
	if (c->quit) {		/* the QUIT went back: stop now */
		stop = 1;
		conn_end(c);
	} else if (err != 0 || post_recv(c, PIECE) != 0)
		conn_end(c);
}

/* Server: cb bytes came; send them back (the send completes in posting
 * order, whole: Winsock sends all of a stream request). */
static void CALLBACK
on_recv(DWORD err, DWORD cb, LPWSAOVERLAPPED ov, DWORD flags)
{
	struct conn *c = (struct conn *)ov;

	(void)flags;
	if (err != 0 || cb == 0) {
		conn_end(c);
		return;
	}
	if (cb == 4 && memcmp(c->buf, "QUIT", 4) == 0)
		c->quit = 1;
	memset(&c->ov, 0, sizeof(c->ov));
	c->wsa.buf = c->buf;
	c->wsa.len = cb;
	if (WSASend(c->s, &c->wsa, 1, NULL, 0, &c->ov, on_sent) != 0 &&
	    WSAGetLastError() != WSA_IO_PENDING) {
		report("WSASend");
		conn_end(c);
	}
}

static SOCKET
tcp_socket(void)
{
	SOCKET s = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
	    WSA_FLAG_OVERLAPPED);

	if (s == INVALID_SOCKET)
		report("WSASocketW");
	return s;
}

static int
server(const struct sockaddr_in *addr)
{
	WSANETWORKEVENTS ne;
	WSAEVENT ev = WSACreateEvent();
	SOCKET l = tcp_socket();
	struct conn *c;
	DWORD r;

	if (l == INVALID_SOCKET || ev == WSA_INVALID_EVENT)
		return 1;
	if (bind(l, (const struct sockaddr *)addr, sizeof(*addr)) != 0 ||
	    listen(l, SOMAXCONN) != 0) {
		report("bind/listen");
		return 1;
	}
	if (WSAEventSelect(l, ev, FD_ACCEPT) != 0) {
		report("WSAEventSelect");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	while (!stop && !failed) {
		/* Alertable: the connections' routines run in here. */
		r = WSAWaitForMultipleEvents(1, &ev, FALSE, WSA_INFINITE, TRUE);
		if (r == WSA_WAIT_IO_COMPLETION)
			continue;
		if (r != WSA_WAIT_EVENT_0 ||
		    WSAEnumNetworkEvents(l, ev, &ne) != 0) {
			report("WSAWaitForMultipleEvents");
			break;
		}
		if ((ne.lNetworkEvents & FD_ACCEPT) == 0)
			continue;
		if ((c = calloc(1, sizeof(*c))) == NULL)
			break;
		/* The accepted socket takes the listener's events: it
		 * needs none of them. */
		if ((c->s = accept(l, NULL, NULL)) == INVALID_SOCKET ||
		    WSAEventSelect(c->s, NULL, 0) != 0 ||
		    post_recv(c, PIECE) != 0) {
			if (c->s == INVALID_SOCKET &&
			    WSAGetLastError() == WSAEWOULDBLOCK) {
				free(c);
				continue;
			}
			report("accept");
			free(c);
			break;
		}
	}
	closesocket(l);
	WSACloseEvent(ev);
	return failed;
}

/* Client: the message went out (the routine only says so). */
static void CALLBACK
on_client_sent(DWORD err, DWORD cb, LPWSAOVERLAPPED ov, DWORD flags)
{
	(void)cb;
	(void)ov;
	(void)flags;
	if (err != 0)
		failed = 1;
}

/* Client: part of the echo came back; read the rest. */
static void CALLBACK
on_client_recv(DWORD err, DWORD cb, LPWSAOVERLAPPED ov, DWORD flags)
{
	struct conn *c = (struct conn *)ov;
	DWORD fl = 0;

	(void)flags;
	if (err != 0 || cb == 0) {
		failed = 1;
		return;
	}
	c->want -= cb;
	if (c->want == 0)
		return;
	memset(&c->ov, 0, sizeof(c->ov));
	c->wsa.buf += cb;
	c->wsa.len = (ULONG)c->want;
	if (WSARecv(c->s, &c->wsa, 1, NULL, &fl, &c->ov, on_client_recv) != 0
	    && WSAGetLastError() != WSA_IO_PENDING)
		failed = 1;
}

static int
client(const struct sockaddr_in *addr, long rounds, size_t size)
{
	static char msg[PIECE];
	struct conn *c = calloc(1, sizeof(*c));
	WSAOVERLAPPED sov;
	WSABUF sb;
	DWORD fl = 0;
	long r;
	size_t i, total = 0;

	if (c == NULL || (c->s = tcp_socket()) == INVALID_SOCKET)
		return 1;
	if (connect(c->s, (const struct sockaddr *)addr, sizeof(*addr)) != 0) {
		report("connect");
		return 1;
	}
	for (r = 0; r < rounds && !failed; r++) {
		for (i = 0; i < size; i++)
			msg[i] = (char)('a' + (i + (size_t)r) % 26);
		if (size == 4 && rounds == 1)
			memcpy(msg, "QUIT", 4);
		/* The receive first, then the send: both in flight. */
		memset(&c->ov, 0, sizeof(c->ov));
		c->want = size;
		c->wsa.buf = c->buf;
		c->wsa.len = (ULONG)size;
		if (WSARecv(c->s, &c->wsa, 1, NULL, &fl, &c->ov,
		    on_client_recv) != 0 && WSAGetLastError() != WSA_IO_PENDING) {
			report("WSARecv");
			break;
		}
		memset(&sov, 0, sizeof(sov));
		sb.buf = msg;
		sb.len = (ULONG)size;
		if (WSASend(c->s, &sb, 1, NULL, 0, &sov, on_client_sent) != 0 &&
		    WSAGetLastError() != WSA_IO_PENDING) {
			report("WSASend");
			break;
		}
		/* Alertable sleeps until the whole echo is back (bounded:
		 * ten seconds without a routine is a failure). */
		while (c->want != 0 && !failed)
			if (SleepEx(10000, TRUE) != WSA_WAIT_IO_COMPLETION) {
				fprintf(stderr, "ovecho: no echo in 10 s\n");
				failed = 1;
			}
		if (!failed && memcmp(c->buf, msg, size) != 0) {
			fprintf(stderr, "ovecho: round %ld came back "
			    "different\n", r);
			failed = 1;
		}
		total += size;
	}
	/* The last send's routine, if it has not run yet. */
	(void)SleepEx(0, TRUE);
	if (!failed)
		printf("echoed %zu bytes in %ld rounds\n", total, rounds);
	conn_end(c);
	return failed;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in addr;
	WSADATA wd;
	int rc;

	if ((argc != 3 || strcmp(argv[1], "server") != 0) &&
	    (argc != 5 || strcmp(argv[1], "client") != 0)) {
		fprintf(stderr, "usage: ovecho server PORT\n"
		    "       ovecho client PORT ROUNDS SIZE\n");
		return 2;
	}
	if (WSAStartup(MAKEWORD(2, 2), &wd) != 0) {
		fprintf(stderr, "ovecho: WSAStartup failed\n");
		return 1;
	}
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons((u_short)atoi(argv[2]));
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (argv[1][0] == 's')
		rc = server(&addr);
	else if (atol(argv[3]) < 1 || atol(argv[4]) < 1 ||
	    atol(argv[4]) > PIECE) {
		fprintf(stderr, "ovecho: ROUNDS at least 1, SIZE 1 to %d\n",
		    PIECE);
		rc = 2;
	} else
		rc = client(&addr, atol(argv[3]), (size_t)atol(argv[4]));
	WSACleanup();
	return rc;
}
