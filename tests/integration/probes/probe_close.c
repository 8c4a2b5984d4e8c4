/*
 * probe_close - a close racing a call on the same socket.
 *
 *	probe_close OP
 *
 * Thread A makes one call OP on socket c1 (whose peer is p1); while the
 * call is in flight (blocked in the kernel, or held by a slow layer above
 * it: WSPSHIM_LAYERS='fault:delay=OP:300ms,...'), the main thread closes
 * c1 and makes socket c2 (which the kernel gives c1's number, when it is
 * free) with a peer p2 of its own.  Without the shim a call that started
 * holds the kernel file: it finishes on c1's socket (or, had it not
 * started yet, fails with EBADF), and c2 never sees it.  The probe checks
 * exactly that, whatever the timing:
 *
 *	send		A sends on c1: p1 gets the bytes or A got EBADF; p2
 *			gets nothing, and c2 works
 *	recv		A blocks in recv on c1: it gets p1's bytes (or EBADF),
 *			never p2's, and c2 gets p2's
 *	accept		A blocks in accept on listener l1; main makes c2,
 *			closes l1 and connects c2 to its port: A takes that
 *			connection (the listener lives while A holds it), or
 *			EBADF
 *	connect		A connects c1 to p1: c2 connects to p2 all the same,
 *			and p1's listener sees at most A's connection
 *	setsockopt	A sets SO_KEEPALIVE on c1: c2 keeps its default
 *	shutdown	A shuts c1 down for writing: c2 still sends to p2
 *	dup		as send, but c1 has a duplicate d that stays open
 *			(the close is of one descriptor of a shared socket)
 *	range		as send, but closed with close_range(c1, c1)
 *
 * Prints "OP: ok" and exits 0, or "probe_close: why" and exits 1.  Every
 * blocking call is bounded (socket timeouts, poll, the watchdog).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"

#define A_DATA		"DATA-FOR-SOCKET-1"
#define P1_DATA		"FROM-PEER-1"
#define P2_DATA		"FROM-PEER-2"

static const char *op;
static int c1, dupfd = -1, l1, p1lis, p1;
static sem_t started;
static atomic_int a_done;
static pid_t a_tid;
/* Thread A's result: its return value and errno, and what it read. */
static long a_rc;
static int a_errno;
static char a_buf[64];

/* Sleep ms milliseconds. */
static void
nap(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
	    .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* A TCP socket on 127.0.0.1 with I/O timeouts. */
static int
tcp_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		fail_errno("socket");
	set_timeouts(fd);
	return fd;
}

/* Connect fd to 127.0.0.1:port. */
static void
connect_to(int fd, int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0)
		fail_errno("connect to port %d", port);
}

/* Accept one connection on listener l, waiting at most 3 seconds. */
static int
accept_one(int l)
{
	struct pollfd p = { .fd = l, .events = POLLIN };
	int fd;

	if (poll(&p, 1, 3000) != 1)
		fail("no connection to accept");
	if ((fd = accept(l, NULL, NULL)) < 0)
		fail_errno("accept");
	set_timeouts(fd);
	return fd;
}

/* What fd has to read within ms milliseconds, into buf ("" if
 * nothing, the errno name on error, "EOF" at end of stream). */
static const char *
read_some(int fd, char *buf, size_t size, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	buf[0] = '\0';
	if (poll(&p, 1, ms) != 1)
		return buf;
	n = recv(fd, buf, size - 1, MSG_DONTWAIT);
	if (n < 0)
		return errno_name(errno);
	if (n == 0)
		return "EOF";
	buf[n] = '\0';
	return buf;
}

/* Thread A: the one call on c1 (or l1). */
static void *
thread_a(void *arg)
{
	int on = 1;

	(void)arg;
	a_tid = gettid();
	sem_post(&started);
	errno = 0;
	if (strcmp(op, "send") == 0 || strcmp(op, "dup") == 0 ||
	    strcmp(op, "range") == 0)
		a_rc = send(c1, A_DATA, strlen(A_DATA), MSG_NOSIGNAL);
	else if (strcmp(op, "recv") == 0) {
		a_rc = recv(c1, a_buf, sizeof(a_buf) - 1, 0);
		if (a_rc > 0)
			a_buf[a_rc] = '\0';
	} else if (strcmp(op, "accept") == 0)
		a_rc = accept(l1, NULL, NULL);
	else if (strcmp(op, "connect") == 0) {
		struct sockaddr_in sin;
		socklen_t len = sizeof(sin);

		if (getsockname(p1lis, (struct sockaddr *)&sin, &len) != 0)
			fail_errno("getsockname");
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a_rc = connect(c1, (struct sockaddr *)&sin, len);
	} else if (strcmp(op, "setsockopt") == 0)
		a_rc = setsockopt(c1, SOL_SOCKET, SO_KEEPALIVE, &on,
		    sizeof(on));
	else if (strcmp(op, "shutdown") == 0)
		a_rc = shutdown(c1, SHUT_WR);
	a_errno = errno;
	atomic_store(&a_done, 1);
	return NULL;
}

/* Whether thread A sleeps now (in the kernel's call, or in a slow
 * layer's delay before it): its state in /proc is S. */
static int
a_sleeps(void)
{
	char path[64], buf[256], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)a_tid);
	if ((fd = open(path, O_RDONLY)) < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p != NULL && p[1] == ' ' && p[2] == 'S';
}

/* Wait (at most 5 s) until A's call is under way, asleep in it, or
 * done: a close before A even called would test nothing, and natively
 * too the call could then reach the socket made under c1's number. */
static void
a_wait_busy(void)
{
	int i;

	sem_wait(&started);
	for (i = 0; i < 5000 && !atomic_load(&a_done) && !a_sleeps(); i++)
		nap(1);
	nap(100);
}

/* Fail unless A's call either succeeded or found c1 closed (EBADF, or
 * ENOTSOCK for a number reused by a non-socket). */
static void
a_ok_or_closed(void)
{
	if (a_rc < 0 && a_errno != EBADF && a_errno != ENOTSOCK)
		fail("%s on c1 failed with %s (the call must finish on c1's "
		    "socket, or find c1 closed)", op, errno_name(a_errno));
}

int
main(int argc, char **argv)
{
	char buf[64];
	const char *got;
	pthread_t a;
	int p1port, p2port, p2lis, c2, p2, on, v;
	socklen_t len;

	probe_init("probe_close");
	signal(SIGPIPE, SIG_IGN);	/* a send on a shut socket: EPIPE */
	if (argc != 2)
		fail("usage: probe_close send|recv|accept|connect|"
		    "setsockopt|shutdown|dup");
	op = argv[1];
	p1lis = local_listener(AF_INET, &p1port);
	p2lis = local_listener(AF_INET, &p2port);
	c1 = tcp_socket();
	if (strcmp(op, "accept") == 0) {
		l1 = local_listener(AF_INET, &v);
		p1port = v;
	} else if (strcmp(op, "connect") != 0) {
		connect_to(c1, p1port);
		p1 = accept_one(p1lis);
	}
	if (strcmp(op, "dup") == 0 && (dupfd = dup(c1)) < 0)
		fail_errno("dup");
	sem_init(&started, 0, 0);
	if (pthread_create(&a, NULL, thread_a, NULL) != 0)
		fail("pthread_create");
	a_wait_busy();

	if (strcmp(op, "accept") == 0) {
		/* c2 first: the close then frees what the layers kept for
		 * l1 with nothing made after it to reuse the memory.  The
		 * listener A holds still takes connections. */
		c2 = tcp_socket();
		if (close(l1) != 0)
			fail_errno("close");
		connect_to(c2, p1port);
		pthread_join(a, NULL);
		a_ok_or_closed();
		if (a_rc >= 0) {
			send_all(c2, P2_DATA, strlen(P2_DATA));
			got = read_some((int)a_rc, buf, sizeof(buf), 3000);
			if (strcmp(got, P2_DATA) != 0)
				fail("the socket A accepted got \"%s\"", got);
		}
		printf("%s: ok\n", op);
		return 0;
	}

	/* Close c1 while A's call is in flight; make c2. */
	if (strcmp(op, "range") == 0) {
		if (close_range((unsigned)c1, (unsigned)c1, 0) != 0)
			fail_errno("close_range");
	} else if (close(c1) != 0)
		fail_errno("close");
	c2 = tcp_socket();
	if (strcmp(op, "setsockopt") == 0) {
		pthread_join(a, NULL);
		a_ok_or_closed();
		on = -1;
		len = sizeof(on);
		if (getsockopt(c2, SOL_SOCKET, SO_KEEPALIVE, &on, &len) != 0)
			fail_errno("getsockopt on c2");
		if (on != 0)
			fail("A's SO_KEEPALIVE on c1 reached c2");
		printf("%s: ok\n", op);
		return 0;
	}
	connect_to(c2, p2port);
	p2 = accept_one(p2lis);
	if (strcmp(op, "recv") == 0) {
		/* Bytes for both: A must get p1's. */
		send_all(p2, P2_DATA, strlen(P2_DATA));
		nap(50);
		send_all(p1, P1_DATA, strlen(P1_DATA));
	}
	pthread_join(a, NULL);
	a_ok_or_closed();

	if (strcmp(op, "send") == 0 || strcmp(op, "dup") == 0 ||
	    strcmp(op, "range") == 0) {
		got = read_some(p2, buf, sizeof(buf), 300);
		if (*got != '\0')
			fail("c2's peer got \"%s\": A's send on c1 reached c2",
			    got);
		got = read_some(p1, buf, sizeof(buf), a_rc < 0 ? 300 : 3000);
		if (a_rc > 0 && strcmp(got, A_DATA) != 0)
			fail("A's send returned %ld, c1's peer got \"%s\"",
			    a_rc, got);
	} else if (strcmp(op, "recv") == 0) {
		if (a_rc >= 0 && strcmp(a_buf, P1_DATA) != 0)
			fail("A's recv on c1 got \"%s\", not c1's peer's bytes",
			    a_buf);
		got = read_some(c2, buf, sizeof(buf), 3000);
		if (strcmp(got, P2_DATA) != 0)
			fail("c2 got \"%s\", not its peer's bytes", got);
	} else if (strcmp(op, "connect") == 0) {
		/* c2's connect above worked; p1's listener may hold A's
		 * connection, and p2's holds c2's. */
		got = read_some(p2, buf, sizeof(buf), 200);
		if (*got != '\0')
			fail("c2's peer got \"%s\"", got);
	}
	/* c2 is whole: what it sends arrives at its own peer. */
	send_all(c2, P2_DATA, strlen(P2_DATA));
	got = read_some(p2, buf, sizeof(buf), 3000);
	if (strcmp(got, P2_DATA) != 0)
		fail("c2 sent \"%s\", its peer got \"%s\"", P2_DATA, got);
	printf("%s: ok\n", op);
	return 0;
}
