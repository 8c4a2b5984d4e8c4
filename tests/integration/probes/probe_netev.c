/*
 * probe_netev.c - network events as a Winsock program uses them, over
 * loopback, through whatever chain the environment sets up:
 * WSAEventSelect, WSAEnumNetworkEvents and WSAWaitForMultipleEvents for
 * FD_ACCEPT, FD_CONNECT, FD_WRITE, FD_READ, FD_OOB and FD_CLOSE with
 * Winsock's re-enabling rules (each event once, again only after its
 * re-enabling call), their error codes, UDP, the errors, cancelling, and
 * WSAPoll.  Checks each rule itself (exit 1 with the line that failed) and
 * prints what it saw; the output is the same in every mode, so
 * test_netev_layers.sh compares it across chains.  Links libwspshim.so;
 * every wait is bounded.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <wspshim/winsock2.h>

#include "wsacheck.h"

#define WAIT_MS		5000	/* for an event that must come */
#define QUIET_MS	200	/* for one that must not */

static const char *const ev_name[FD_MAX_EVENTS] = {
	"FD_READ", "FD_WRITE", "FD_OOB", "FD_ACCEPT", "FD_CONNECT",
	"FD_CLOSE", "FD_QOS", "FD_GROUP_QOS", "FD_ROUTING_INTERFACE_CHANGE",
	"FD_ADDRESS_LIST_CHANGE",
};

/* A TCP listener on 127.0.0.1 and its address. */
static SOCKET
listener(struct sockaddr_in *a)
{
	socklen_t len = sizeof(*a);
	SOCKET l = WSASocketA(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, 0);

	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(l != INVALID_SOCKET && bind((int)l, (struct sockaddr *)a,
	    sizeof(*a)) == 0 && listen((int)l, 8) == 0 &&
	    getsockname((int)l, (struct sockaddr *)a, &len) == 0, "listener");
	return l;
}

/* A blocking client connected to a. */
static SOCKET
client(const struct sockaddr_in *a)
{
	SOCKET c = WSASocketA(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, 0);

	CHECK(c != INVALID_SOCKET && connect((int)c,
	    (const struct sockaddr *)a, sizeof(*a)) == 0, "client connect");
	return c;
}

/* An accept on l, waiting for the connection if l is non-blocking. */
static SOCKET
accept_one(SOCKET l)
{
	WSAPOLLFD p = { .fd = l, .events = POLLRDNORM };
	SOCKET a;

	CHECK(WSAPoll(&p, 1, WAIT_MS) == 1, "a connection to accept");
	a = accept(l, NULL, NULL);
	CHECK(a != INVALID_SOCKET, "accept");
	return a;
}

/* The events recorded on s (its event ev reset). */
static WSANETWORKEVENTS
take(SOCKET s, WSAEVENT ev)
{
	WSANETWORKEVENTS ne;

	CHECK(WSAEnumNetworkEvents(s, ev, &ne) == 0, "WSAEnumNetworkEvents");
	return ne;
}

/*
 * Wait until every event of want has been recorded on s (gathering what
 * each wake-up handed over), print them as "label: FD_X ...", with the
 * error code of FD_CONNECT and FD_CLOSE; what else came is not printed.
 */
static void
expect(const char *label, SOCKET s, WSAEVENT ev, long want)
{
	WSANETWORKEVENTS ne;
	long got = 0;
	int code[FD_MAX_EVENTS] = { 0 }, i, tries;
	DWORD r;

	for (tries = 0; (got & want) != want && tries < 50; tries++) {
		r = WSAWaitForMultipleEvents(1, &ev, FALSE, WAIT_MS, FALSE);
		CHECK(r == WSA_WAIT_EVENT_0, "%s: the event is set (%lu), "
		    "have 0x%lx of 0x%lx", label, (unsigned long)r, got, want);
		ne = take(s, ev);
		for (i = 0; i < FD_MAX_EVENTS; i++)
			if (ne.lNetworkEvents & 1L << i)
				code[i] = ne.iErrorCode[i];
		got |= ne.lNetworkEvents;
	}
	CHECK((got & want) == want, "%s: 0x%lx of 0x%lx", label, got, want);
	printf("%s:", label);
	for (i = 0; i < FD_MAX_EVENTS; i++) {
		if ((want & 1L << i) == 0)
			continue;
		if (i == FD_CONNECT_BIT || i == FD_CLOSE_BIT)
			printf(" %s(%d)", ev_name[i], code[i]);
		else {
			CHECK(code[i] == 0, "%s: %s code %d", label,
			    ev_name[i], code[i]);
			printf(" %s", ev_name[i]);
		}
	}
	printf("\n");
}

/* Nothing of mask is recorded on s for QUIET_MS. */
static void
quiet(const char *label, SOCKET s, WSAEVENT ev, long mask)
{
	WSANETWORKEVENTS ne;
	DWORD r;

	r = WSAWaitForMultipleEvents(1, &ev, FALSE, QUIET_MS, FALSE);
	ne = take(s, ev);
	CHECK((ne.lNetworkEvents & mask) == 0, "%s: 0x%lx recorded (wait "
	    "%lu)", label, (long)ne.lNetworkEvents, (unsigned long)r);
	printf("%s: nothing\n", label);
}

/* Everything s has to read, read (s is non-blocking): the byte count. */
static long
drain(SOCKET s)
{
	char buf[65536];
	long total = 0;
	ssize_t n;

	while ((n = recv((int)s, buf, sizeof(buf), 0)) > 0)
		total += n;
	CHECK(n < 0 && WSAGetLastError() == WSAEWOULDBLOCK,
	    "drain ends with WSAEWOULDBLOCK (%zd)", n);
	return total;
}

static void
send_n(SOCKET s, size_t n, int flags)
{
	char buf[4096];

	memset(buf, 'x', sizeof(buf));
	CHECK(n <= sizeof(buf) && send((int)s, buf, n, flags) == (ssize_t)n,
	    "send %zu", n);
}

/* FD_ACCEPT, FD_CONNECT, FD_WRITE, FD_READ, FD_OOB and FD_CLOSE on one
 * TCP connection, each with its re-enabling rule. */
static void
tcp_rules(void)
{
	struct sockaddr_in a;
	SOCKET l = listener(&a), c, s, c2, c3, s2, s3;
	WSAEVENT el = WSACreateEvent(), ec = WSACreateEvent();
	u_long zero = 0;
	int fl, bufsz = 4096, rc;
	long n, total;
	char b;

	CHECK(el != WSA_INVALID_EVENT && ec != WSA_INVALID_EVENT, "events");
	CHECK(WSAEventSelect(l, el, FD_ACCEPT) == 0, "select listener");
	c = WSASocketA(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, 0);
	CHECK(c != INVALID_SOCKET, "socket");
	CHECK(WSAEventSelect(c, ec, FD_CONNECT | FD_WRITE | FD_READ |
	    FD_OOB | FD_CLOSE) == 0, "select client");
	fl = fcntl((int)c, F_GETFL);
	CHECK(fl >= 0 && (fl & O_NONBLOCK), "WSAEventSelect: non-blocking");
	printf("WSAEventSelect made the socket non-blocking\n");
	CHECK(ioctlsocket(c, FIONBIO, &zero) == SOCKET_ERROR &&
	    WSAGetLastError() == WSAEINVAL, "FIONBIO 0 refused");
	printf("ioctlsocket(FIONBIO, 0): WSAEINVAL\n");
	quiet("unconnected client", c, ec, FD_ALL_EVENTS);

	rc = connect((int)c, (struct sockaddr *)&a, sizeof(a));
	CHECK(rc == SOCKET_ERROR && (WSAGetLastError() == WSAEWOULDBLOCK ||
	    WSAGetLastError() == WSAEINPROGRESS), "connect is pending");
	expect("listener", l, el, FD_ACCEPT);
	expect("client", c, ec, FD_CONNECT | FD_WRITE);
	s = accept_one(l);
	quiet("listener after its accept", l, el, FD_ACCEPT);

	/* FD_ACCEPT comes once until an accept re-enables it. */
	c2 = client(&a);
	expect("second connection", l, el, FD_ACCEPT);
	c3 = client(&a);
	quiet("third connection, no accept since", l, el, FD_ACCEPT);
	s2 = accept_one(l);
	expect("accept with one still queued", l, el, FD_ACCEPT);
	s3 = accept_one(l);

	/* FD_READ: again after a read while data remains, not without. */
	send_n(s, 100, 0);
	expect("100 bytes", c, ec, FD_READ);
	CHECK(recv((int)c, &b, 1, 0) == 1, "recv 1");
	expect("1 byte read, 99 remain", c, ec, FD_READ);
	send_n(s, 100, 0);
	quiet("more data, no read since", c, ec, FD_READ);
	total = drain(c);
	CHECK(total == 199, "read %ld of 199", total);
	quiet("all read", c, ec, FD_READ);
	send_n(s, 10, 0);
	expect("new data after the read", c, ec, FD_READ);
	CHECK(drain(c) == 10, "read 10");

	/* FD_OOB: an urgent byte; a receive with MSG_OOB re-enables. */
	send_n(s, 1, MSG_OOB);
	expect("urgent byte", c, ec, FD_OOB);
	CHECK(recv((int)c, &b, 1, MSG_OOB) == 1, "recv MSG_OOB");
	(void)drain(c);

	/* FD_WRITE: only after a send that would block, once room comes. */
	CHECK(setsockopt((int)c, SOL_SOCKET, SO_SNDBUF, (char *)&bufsz,
	    sizeof(bufsz)) == 0, "SO_SNDBUF");
	CHECK(setsockopt((int)s, SOL_SOCKET, SO_RCVBUF, (char *)&bufsz,
	    sizeof(bufsz)) == 0, "SO_RCVBUF");
	(void)take(c, ec);
	for (n = 0; n < 100000; n++) {
		char buf[4096];

		memset(buf, 'y', sizeof(buf));
		if (send((int)c, buf, sizeof(buf), 0) < 0)
			break;
	}
	CHECK(WSAGetLastError() == WSAEWOULDBLOCK, "send blocks at last");
	printf("send: WSAEWOULDBLOCK once the buffers are full\n");
	/* The peer reads until the sender has room (bounded). */
	for (n = 0; n < 100; n++) {
		WSANETWORKEVENTS ne;

		(void)drain(s);
		if (WSAWaitForMultipleEvents(1, &ec, FALSE, 50, FALSE) !=
		    WSA_WAIT_EVENT_0)
			continue;
		ne = take(c, ec);
		if (ne.lNetworkEvents & FD_WRITE)
			break;
	}
	CHECK(n < 100, "room again: FD_WRITE");
	printf("room again: FD_WRITE\n");
	(void)drain(s);

	/* FD_CLOSE in order: code 0, and no FD_READ for the end. */
	(void)take(c, ec);
	CHECK(closesocket(s) == 0, "closesocket");
	expect("peer closed", c, ec, FD_CLOSE);
	quiet("after FD_CLOSE", c, ec, FD_READ | FD_CLOSE);
	CHECK(recv((int)c, &b, 1, 0) == 0, "recv sees the end");

	/* FD_CLOSE after a reset: WSAECONNRESET. */
	{
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		WSAEVENT e2 = WSACreateEvent();

		CHECK(WSAEventSelect(c2, e2, FD_READ | FD_CLOSE) == 0,
		    "select second");
		CHECK(setsockopt((int)s2, SOL_SOCKET, SO_LINGER, (char *)&lg,
		    sizeof(lg)) == 0, "SO_LINGER");
		CHECK(closesocket(s2) == 0, "reset");
		expect("peer reset", c2, e2, FD_CLOSE);
		WSACloseEvent(e2);
	}
	closesocket(c);
	closesocket(c2);
	closesocket(c3);
	closesocket(s3);
	closesocket(l);
	WSACloseEvent(el);
	WSACloseEvent(ec);
}

/* FD_CONNECT with the connect's error, and the listener's events passed
 * to the socket it accepts. */
static void
tcp_connect_refused(void)
{
	struct sockaddr_in a;
	SOCKET l = listener(&a), c;
	WSAEVENT e = WSACreateEvent();

	closesocket(l);		/* nobody listens on a's port now */
	c = WSASocketA(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, 0);
	CHECK(WSAEventSelect(c, e, FD_CONNECT | FD_WRITE) == 0, "select");
	CHECK(connect((int)c, (struct sockaddr *)&a, sizeof(a)) ==
	    SOCKET_ERROR, "connect pending or refused");
	expect("refused", c, e, FD_CONNECT);
	closesocket(c);
	WSACloseEvent(e);
}

static void
tcp_accept_inherits(void)
{
	struct sockaddr_in a;
	SOCKET l = listener(&a), c, s;
	WSAEVENT e = WSACreateEvent();
	WSANETWORKEVENTS ne;
	int fl;
	char b;

	CHECK(WSAEventSelect(l, e, FD_ACCEPT | FD_READ | FD_CLOSE) == 0,
	    "select listener");
	c = client(&a);
	expect("inherit: listener", l, e, FD_ACCEPT);
	s = accept_one(l);
	fl = fcntl((int)s, F_GETFL);
	CHECK(fl >= 0 && (fl & O_NONBLOCK), "accepted: non-blocking");
	send_n(c, 5, 0);
	/* The accepted socket records on the listener's event, and its
	 * receives re-enable FD_READ as any selected socket's. */
	expect("inherit: accepted", s, e, FD_READ);
	CHECK(recv((int)s, &b, 1, 0) == 1, "recv 1 of 5");
	expect("inherit: 1 read, 4 remain", s, e, FD_READ);
	ne = take(l, e);
	CHECK((ne.lNetworkEvents & FD_READ) == 0, "the listener has no "
	    "FD_READ");
	closesocket(c);
	closesocket(s);
	closesocket(l);
	WSACloseEvent(e);
}

/* UDP: FD_WRITE at once, FD_READ per datagram read while more remain. */
static void
udp_rules(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	SOCKET u = WSASocketA(AF_INET, SOCK_DGRAM, 0, NULL, 0, 0);
	SOCKET v = WSASocketA(AF_INET, SOCK_DGRAM, 0, NULL, 0, 0);
	WSAEVENT e = WSACreateEvent();
	char buf[64];

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(bind((int)v, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname((int)v, (struct sockaddr *)&a, &len) == 0, "bind");
	CHECK(WSAEventSelect(v, e, FD_READ | FD_WRITE) == 0, "select udp");
	expect("udp", v, e, FD_WRITE);
	CHECK(sendto((int)u, "one", 3, 0, (struct sockaddr *)&a,
	    sizeof(a)) == 3 && sendto((int)u, "two", 3, 0,
	    (struct sockaddr *)&a, sizeof(a)) == 3, "sendto");
	expect("two datagrams", v, e, FD_READ);
	CHECK(recvfrom((int)v, buf, sizeof(buf), 0, NULL, NULL) == 3,
	    "recvfrom");
	expect("one read, one left", v, e, FD_READ);
	CHECK(recvfrom((int)v, buf, sizeof(buf), 0, NULL, NULL) == 3,
	    "recvfrom");
	quiet("both read", v, e, FD_READ);

	/* lNetworkEvents 0 ends it: data no longer sets the event. */
	CHECK(WSAEventSelect(v, NULL, 0) == 0, "cancel");
	CHECK(sendto((int)u, "three", 5, 0, (struct sockaddr *)&a,
	    sizeof(a)) == 5, "sendto");
	CHECK(WSAWaitForMultipleEvents(1, &e, FALSE, QUIET_MS, FALSE) ==
	    WSA_WAIT_TIMEOUT, "cancelled: the event stays reset");
	CHECK(recvfrom((int)v, buf, sizeof(buf), 0, NULL, NULL) == 5,
	    "the datagram is there all the same");
	printf("cancelled: no event, the data is there\n");
	closesocket(u);
	closesocket(v);
	WSACloseEvent(e);
}

/* A UDP socket bound on 127.0.0.1, and its address. */
static SOCKET
udp_bound(struct sockaddr_in *a)
{
	socklen_t len = sizeof(*a);
	SOCKET v = WSASocketA(AF_INET, SOCK_DGRAM, 0, NULL, 0, 0);

	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(v != INVALID_SOCKET && bind((int)v, (struct sockaddr *)a,
	    sizeof(*a)) == 0 && getsockname((int)v, (struct sockaddr *)a,
	    &len) == 0, "udp bind");
	return v;
}

/* fork(): the child watches nothing it did not select itself, and its
 * own selection works; the parent's goes on after the fork. */
static void
fork_rules(void)
{
	struct sockaddr_in a, b;
	SOCKET u = WSASocketA(AF_INET, SOCK_DGRAM, 0, NULL, 0, 0);
	SOCKET v = udp_bound(&a), w = udp_bound(&b);
	WSAEVENT e = WSACreateEvent();
	WSANETWORKEVENTS ne;
	char buf[16];
	int status;
	pid_t pid;

	CHECK(WSAEventSelect(v, e, FD_READ) == 0, "select");
	fflush(stdout);
	if ((pid = fork()) == 0) {
		WSAEVENT f = WSACreateEvent();

		CHECK(WSAEnumNetworkEvents(v, NULL, &ne) == 0 &&
		    ne.lNetworkEvents == 0, "child: nothing inherited");
		CHECK(WSAEventSelect(w, f, FD_READ) == 0, "child: select");
		CHECK(sendto((int)u, "c", 1, 0, (struct sockaddr *)&b,
		    sizeof(b)) == 1, "child: sendto");
		expect("fork: child's own socket", w, f, FD_READ);
		_exit(0);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid &&
	    WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child");
	CHECK(sendto((int)u, "p", 1, 0, (struct sockaddr *)&a, sizeof(a)) ==
	    1, "sendto");
	expect("fork: parent after the fork", v, e, FD_READ);
	CHECK(recvfrom((int)v, buf, sizeof(buf), 0, NULL, NULL) == 1,
	    "recvfrom");
	closesocket(u);
	closesocket(v);
	closesocket(w);
	WSACloseEvent(e);
}

static void
errors(void)
{
	SOCKET s = WSASocketA(AF_INET, SOCK_STREAM, 0, NULL, 0, 0);
	WSAEVENT e = WSACreateEvent(), dead = WSACreateEvent();
	WSANETWORKEVENTS ne;
	int p[2];

	CHECK(pipe(p) == 0, "pipe");
	WSACloseEvent(dead);
	CHECK(WSAEventSelect((SOCKET)p[0], e, FD_READ) == SOCKET_ERROR &&
	    WSAGetLastError() == WSAENOTSOCK, "a pipe: WSAENOTSOCK");
	CHECK(WSAEventSelect(s, e, 1L << FD_MAX_EVENTS) == SOCKET_ERROR &&
	    WSAGetLastError() == WSAEINVAL, "an unknown bit: WSAEINVAL");
	CHECK(WSAEventSelect(s, dead, FD_READ) == SOCKET_ERROR &&
	    WSAGetLastError() == WSAEINVAL, "a closed event: WSAEINVAL");
	CHECK(WSAEnumNetworkEvents(s, e, NULL) == SOCKET_ERROR &&
	    WSAGetLastError() == WSAEFAULT, "no record: WSAEFAULT");
	CHECK(WSAEnumNetworkEvents(s, dead, &ne) == SOCKET_ERROR &&
	    WSAGetLastError() == WSAEINVAL, "enum, closed event: WSAEINVAL");
	CHECK(WSAEnumNetworkEvents(s, NULL, &ne) == 0 &&
	    ne.lNetworkEvents == 0, "never selected: nothing recorded");
	CHECK(WSAEnumNetworkEvents((SOCKET)p[0], NULL, &ne) ==
	    SOCKET_ERROR && WSAGetLastError() == WSAENOTSOCK,
	    "enum, a pipe: WSAENOTSOCK");
	printf("errors: WSAENOTSOCK WSAEINVAL WSAEINVAL WSAEFAULT WSAEINVAL "
	    "WSAENOTSOCK\n");
	close(p[0]);
	close(p[1]);
	closesocket(s);
	WSACloseEvent(e);
}

static void
poll_rules(void)
{
	struct sockaddr_in a;
	SOCKET l = listener(&a), c, s;
	WSAPOLLFD f[4];
	int p[2], n;

	CHECK(pipe(p) == 0, "pipe");
	memset(f, 0, sizeof(f));
	f[0].fd = l;
	f[0].events = POLLRDNORM;
	CHECK(WSAPoll(f, 1, 0) == 0 && f[0].revents == 0, "nothing yet");
	c = client(&a);
	f[1].fd = c;
	f[1].events = POLLWRNORM | POLLRDNORM;
	f[2].fd = INVALID_SOCKET;
	f[2].events = POLLRDNORM;
	f[2].revents = 0x7fff;
	f[3].fd = (SOCKET)p[0];
	f[3].events = POLLRDNORM;
	n = WSAPoll(f, 4, WAIT_MS);
	CHECK(n == 3 && (f[0].revents & POLLRDNORM) &&
	    f[1].revents == POLLWRNORM && f[2].revents == 0 &&
	    f[3].revents == POLLNVAL, "poll: %d, 0x%x 0x%x 0x%x 0x%x", n,
	    f[0].revents, f[1].revents, f[2].revents, f[3].revents);
	printf("WSAPoll: listener readable, client writable, INVALID_SOCKET "
	    "ignored, a pipe POLLNVAL\n");
	s = accept_one(l);
	CHECK(closesocket(s) == 0, "close the peer");
	f[1].events = POLLRDNORM;
	CHECK(WSAPoll(&f[1], 1, WAIT_MS) == 1 &&
	    (f[1].revents & POLLHUP), "peer closed: POLLHUP (0x%x)",
	    f[1].revents);
	printf("WSAPoll: the peer's close is POLLHUP\n");
	CHECK(WSAPoll(NULL, 1, 0) == SOCKET_ERROR &&
	    WSAGetLastError() == WSAEFAULT, "NULL: WSAEFAULT");
	CHECK(WSAPoll(f, 0, 0) == SOCKET_ERROR &&
	    WSAGetLastError() == WSAEINVAL, "none: WSAEINVAL");
	f[0].events = POLLMSG;
	CHECK(WSAPoll(f, 1, 0) == SOCKET_ERROR &&
	    WSAGetLastError() == WSAEINVAL, "POLLMSG: WSAEINVAL");
	CHECK(WSAPoll(&f[3], 1, 0) == SOCKET_ERROR &&
	    WSAGetLastError() == WSAEINVAL, "no socket: WSAEINVAL");
	printf("WSAPoll errors: WSAEFAULT WSAEINVAL WSAEINVAL WSAEINVAL\n");
	close(p[0]);
	close(p[1]);
	closesocket(c);
	closesocket(l);
}

int
main(void)
{
	WSADATA wd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	alarm(60);
	CHECK(WSAStartup(MAKEWORD(2, 2), &wd) == 0, "WSAStartup");
	tcp_rules();
	tcp_connect_refused();
	tcp_accept_inherits();
	udp_rules();
	fork_rules();
	errors();
	poll_rules();
	WSACleanup();
	printf("done\n");
	return 0;
}
