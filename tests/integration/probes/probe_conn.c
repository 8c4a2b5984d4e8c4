/*
 * probe_conn - connection set-up and descriptor flags.
 *
 *	probe_conn nbconnect|refused|accept4|sockflags|fionbio|all
 *
 * nbconnect: a non-blocking connect() to the TCP echo services (IPv4 and
 *   IPv6) gives EINPROGRESS, epoll reports EPOLLOUT, SO_ERROR is 0, a
 *   second connect() is EISCONN, and an echo works with O_NONBLOCK kept.
 * refused: a non-blocking connect() to a closed port completes with
 *   SO_ERROR ECONNREFUSED and EPOLLERR.
 * accept4: accept4() with SOCK_NONBLOCK|SOCK_CLOEXEC sets exactly those
 *   flags on the new descriptor (and accept()/accept4(0) none).
 * sockflags: socket() with SOCK_NONBLOCK|SOCK_CLOEXEC on every transport
 *   sets both flags; SO_TYPE reports the type without them.
 * fionbio: F_SETFL and ioctl(FIONBIO) turn O_NONBLOCK off and on.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "probe.h"

/* Whether fd has O_NONBLOCK and FD_CLOEXEC, as two bits (1, 2). */
static int
fd_flags(int fd)
{
	int fl, fdfl;

	if ((fl = fcntl(fd, F_GETFL)) < 0 || (fdfl = fcntl(fd, F_GETFD)) < 0)
		fail_errno("fcntl(%d, F_GETFL/F_GETFD)", fd);
	return ((fl & O_NONBLOCK) ? 1 : 0) | ((fdfl & FD_CLOEXEC) ? 2 : 0);
}

static const char *
flag_names(int f)
{
	static const char *const names[] = {
		"none", "O_NONBLOCK", "FD_CLOEXEC", "O_NONBLOCK|FD_CLOEXEC",
	};

	return names[f & 3];
}

/* Wait (bounded) for events on fd; the events epoll reported. */
static unsigned
wait_for(int fd, unsigned events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd }, got;
	int ep, n;

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		fail_errno("epoll_create1");
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
		fail_errno("epoll_ctl(ADD, %d)", fd);
	memset(&got, 0, sizeof(got));
	n = epoll_wait(ep, &got, 1, PROBE_IO_TIMEOUT * 1000);
	if (n != 1 || got.data.fd != fd)
		fail_errno("epoll_wait for fd %d returned %d", fd, n);
	close(ep);
	return got.events;
}

/* The pending error of fd (SO_ERROR). */
static int
so_error(int fd)
{
	socklen_t len = sizeof(int);
	int err = -1;

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		fail_errno("getsockopt(%d, SO_ERROR)", fd);
	return err;
}

/* An echo on a non-blocking stream socket, waiting with epoll. */
static void
nb_echo(int fd)
{
	char msg[300], b[300];
	size_t got = 0;
	ssize_t k;

	pattern(msg, sizeof(msg), 77);
	if (send(fd, msg, sizeof(msg), 0) != (ssize_t)sizeof(msg))
		fail_errno("send(%d) on a non-blocking socket", fd);
	while (got < sizeof(b)) {
		wait_for(fd, EPOLLIN);
		k = recv(fd, b + got, sizeof(b) - got, 0);
		if (k <= 0)
			fail_errno("recv(%d) after EPOLLIN returned %zd", fd, k);
		got += (size_t)k;
	}
	if (memcmp(b, msg, sizeof(b)) != 0)
		fail("fd %d: the echo differs from what was sent", fd);
}

static void
nbconnect(enum transport t)
{
	struct peer p;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	unsigned ev;
	int fd;

	peer_get(t, &p);
	if ((fd = socket(p.family, SOCK_STREAM | SOCK_NONBLOCK, 0)) < 0)
		fail_errno("socket(SOCK_NONBLOCK)");
	errno = 0;
	if (connect(fd, (struct sockaddr *)&p.addr, p.len) != -1 ||
	    errno != EINPROGRESS)
		fail("%s: non-blocking connect: want -1 EINPROGRESS, got "
		    "errno %s", transport_name(t), errno_name(errno));
	ev = wait_for(fd, EPOLLOUT);
	if (ev != EPOLLOUT || so_error(fd) != 0)
		fail("%s: connect completed with events 0x%x, SO_ERROR %s",
		    transport_name(t), ev, errno_name(so_error(fd)));
	/* Linux: the first connect() after completion reports it (0),
	 * the next one EISCONN. */
	if (connect(fd, (struct sockaddr *)&p.addr, p.len) != 0)
		fail_errno("%s: connect after completion: want 0",
		    transport_name(t));
	errno = 0;
	if (connect(fd, (struct sockaddr *)&p.addr, p.len) != -1 ||
	    errno != EISCONN)
		fail("%s: connect again: want EISCONN, got errno %s",
		    transport_name(t), errno_name(errno));
	if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0 ||
	    !same_addr(&ss, len, &p.addr, p.len))
		fail_errno("%s: getpeername is not the server",
		    transport_name(t));
	nb_echo(fd);
	if (fd_flags(fd) != 1)
		fail("%s: flags after the echo: %s, want O_NONBLOCK",
		    transport_name(t), flag_names(fd_flags(fd)));
	close(fd);
	printf("%s: fd %d EINPROGRESS, EPOLLOUT, SO_ERROR 0, 0, EISCONN, "
	    "echo ok, O_NONBLOCK kept\n", transport_name(t), fd);
}

static void
refused(void)
{
	struct peer p;
	unsigned ev;
	int l, port, fd, rc;

	/* A port that was just free: bound, never listened on. */
	l = local_listener(AF_INET, &port);
	close(l);
	peer_get(T_TCP4, &p);
	((struct sockaddr_in *)&p.addr)->sin_port = htons((uint16_t)port);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) < 0)
		fail_errno("socket(SOCK_NONBLOCK)");
	errno = 0;
	rc = connect(fd, (struct sockaddr *)&p.addr, p.len);
	if (rc != -1 || errno != EINPROGRESS)
		fail("non-blocking connect to a closed port: want -1 "
		    "EINPROGRESS, got %d errno %s", rc, errno_name(errno));
	ev = wait_for(fd, EPOLLOUT);
	if (!(ev & EPOLLERR) || so_error(fd) != ECONNREFUSED)
		fail("refused connect: events 0x%x, SO_ERROR %s", ev,
		    errno_name(so_error(fd)));
	/* SO_ERROR cleared the error: the socket is now plainly closed. */
	errno = 0;
	if (send(fd, "x", 1, MSG_NOSIGNAL) != -1 || errno != EPIPE)
		fail("send after a refused connect: want EPIPE, got errno %s",
		    errno_name(errno));
	close(fd);
	printf("refused: fd %d EINPROGRESS, EPOLLERR, SO_ERROR "
	    "ECONNREFUSED, then EPIPE\n", fd);
}

/* accept4 with flags on a listener; checks the new descriptor. */
static void
accept_with(int l, int port, int flags, int want)
{
	struct sockaddr_storage ss, mine;
	struct peer p;
	socklen_t len = sizeof(ss), mlen = sizeof(mine);
	int c, a;

	peer_get(T_TCP4, &p);
	((struct sockaddr_in *)&p.addr)->sin_port = htons((uint16_t)port);
	p.connected = 1;
	c = peer_socket(&p, 0);
	a = flags < 0 ? accept(l, (struct sockaddr *)&ss, &len) :
	    accept4(l, (struct sockaddr *)&ss, &len, flags);
	if (a < 0)
		fail_errno("accept4(%d, flags 0x%x)", l, (unsigned)flags);
	if (getsockname(c, (struct sockaddr *)&mine, &mlen) != 0 ||
	    !same_addr(&ss, len, &mine, mlen))
		fail("accept4: the peer address is not the client's");
	if (fd_flags(a) != want)
		fail("accept4(flags 0x%x) gave %s, want %s", (unsigned)flags,
		    flag_names(fd_flags(a)), flag_names(want));
	if (want & 1) {
		char b;

		errno = 0;
		if (recv(a, &b, 1, 0) != -1 || errno != EAGAIN)
			fail("recv on the non-blocking accepted socket: want "
			    "EAGAIN, got errno %s", errno_name(errno));
	}
	printf("accept4(%s): fd %d, %s\n", flags < 0 ? "accept" :
	    flags == 0 ? "0" : flag_names(((flags & SOCK_NONBLOCK) ? 1 : 0) |
	    ((flags & SOCK_CLOEXEC) ? 2 : 0)), a, flag_names(want));
	close(a);
	close(c);
}

static void
accept_flags(void)
{
	int l, port;

	l = local_listener(AF_INET, &port);
	accept_with(l, port, SOCK_NONBLOCK | SOCK_CLOEXEC, 3);
	accept_with(l, port, SOCK_NONBLOCK, 1);
	accept_with(l, port, SOCK_CLOEXEC, 2);
	accept_with(l, port, 0, 0);
	accept_with(l, port, -1, 0);
	close(l);
}

/* socket() with both flags on transport t. */
static void
sock_flags(enum transport t)
{
	struct peer p;
	socklen_t len = sizeof(int);
	int fd, type = -1, f;

	peer_get(t, &p);
	fd = socket(p.family, p.type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fail_errno("socket(%s, SOCK_NONBLOCK|SOCK_CLOEXEC)",
		    transport_name(t));
	if ((f = fd_flags(fd)) != 3)
		fail("socket(%s, SOCK_NONBLOCK|SOCK_CLOEXEC) has %s",
		    transport_name(t), flag_names(f));
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
	    type != p.type)
		fail_errno("%s: SO_TYPE is %d, want %d", transport_name(t),
		    type, p.type);
	close(fd);
	if ((fd = socket(p.family, p.type | SOCK_CLOEXEC, 0)) < 0 ||
	    (f = fd_flags(fd)) != 2)
		fail("socket(%s, SOCK_CLOEXEC) has %s", transport_name(t),
		    flag_names(fd_flags(fd)));
	close(fd);
	if ((fd = socket(p.family, p.type, 0)) < 0 || (f = fd_flags(fd)) != 0)
		fail("socket(%s) has %s", transport_name(t),
		    flag_names(fd_flags(fd)));
	close(fd);
	printf("socket(%s): fd %d, flags as asked\n", transport_name(t), fd);
}

static void
sockflags(void)
{
	int t;

	for (t = 0; t < T_COUNT; t++)
		if (t != T_UDP4C && t != T_UDP6C)
			sock_flags((enum transport)t);
}

static void
fionbio(void)
{
	struct peer p;
	int fd, on;

	peer_get(T_TCP4, &p);
	fd = peer_socket(&p, 0);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0 ||
	    fd_flags(fd) != 1)
		fail_errno("F_SETFL O_NONBLOCK: flags %s",
		    flag_names(fd_flags(fd)));
	nb_echo(fd);
	on = 0;
	if (ioctl(fd, FIONBIO, &on) != 0 || fd_flags(fd) != 0)
		fail_errno("ioctl(FIONBIO, 0): flags %s",
		    flag_names(fd_flags(fd)));
	round_trip(fd, SOCK_STREAM, 100, 5);
	on = 1;
	if (ioctl(fd, FIONBIO, &on) != 0 || fd_flags(fd) != 1)
		fail_errno("ioctl(FIONBIO, 1): flags %s",
		    flag_names(fd_flags(fd)));
	nb_echo(fd);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0 ||
	    fd_flags(fd) != 0)
		fail_errno("F_SETFL without O_NONBLOCK: flags %s",
		    flag_names(fd_flags(fd)));
	round_trip(fd, SOCK_STREAM, 100, 6);
	close(fd);
	printf("fionbio: fd %d, F_SETFL and FIONBIO switch O_NONBLOCK\n", fd);
}

int
main(int argc, char **argv)
{
	const char *what = argc == 2 ? argv[1] : "";
	int all = strcmp(what, "all") == 0, done = 0;

	probe_init("probe_conn");
	trace_begin();
	if (all || strcmp(what, "nbconnect") == 0) {
		nbconnect(T_TCP4);
		nbconnect(T_TCP6);
		done++;
	}
	if (all || strcmp(what, "refused") == 0) {
		refused();
		done++;
	}
	if (all || strcmp(what, "accept4") == 0) {
		accept_flags();
		done++;
	}
	if (all || strcmp(what, "sockflags") == 0) {
		sockflags();
		done++;
	}
	if (all || strcmp(what, "fionbio") == 0) {
		fionbio();
		done++;
	}
	if (done == 0) {
		fprintf(stderr, "usage: probe_conn nbconnect|refused|accept4|"
		    "sockflags|fionbio|all\n");
		return 2;
	}
	trace_mark("probe:end");
	return 0;
}
