/*
 * probe_dup - descriptor duplication and range closes on sockets.
 *
 *	probe_dup FORM [TRANSPORT]
 *
 * FORM dup, dup2, dup3, dupfd, dupfd_cloexec: the duplicate carries data,
 *   the original too; closing the original keeps the duplicate working;
 *   the original's number, reused by a new socket, names the new socket.
 * dup2onto: dup2 onto a socket closes it (its peer reads end of file),
 *   unless another duplicate still holds it.
 * self: dup2(fd, fd) is a no-op; dup3(fd, fd) EINVAL; closed fds EBADF.
 * close_range, close_range_cloexec, closefrom: the sockets in the range
 *   are closed (their peers read end of file) or marked close-on-exec.
 * all: every form, on TRANSPORT (default tcp4).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/close_range.h>

#include "probe.h"

#define NPAIR	3

static struct peer peer;
static unsigned long seed = 1;

/* One echo round trip on fd. */
static void
echo(int fd)
{
	round_trip(fd, peer.type, 700, seed++);
}

static int
fd_cloexec(int fd)
{
	int f = fcntl(fd, F_GETFD);

	if (f < 0)
		fail_errno("fcntl(%d, F_GETFD)", fd);
	return (f & FD_CLOEXEC) != 0;
}

/* fd must be closed: EBADF. */
static void
expect_closed(int fd, const char *why)
{
	errno = 0;
	if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
		fail("fd %d %s: F_GETFD wants EBADF, got errno %s", fd, why,
		    errno_name(errno));
}

/* The peer of a closed socket reads end of file (bounded). */
static void
expect_eof(int fd, const char *why)
{
	char b[8];
	ssize_t k;

	if ((k = recv(fd, b, sizeof(b), 0)) != 0)
		fail_errno("the peer (fd %d) of a socket %s: recv returned "
		    "%zd, want 0 (end of file)", fd, why, k);
}

/* Duplicate fd by form; the new descriptor (checked for its flags). */
static int
duplicate(int fd, const char *form)
{
	int d, cloexec = 0;

	if (strcmp(form, "dup") == 0)
		d = dup(fd);
	else if (strcmp(form, "dup2") == 0)
		d = dup2(fd, 20);
	else if (strcmp(form, "dup3") == 0) {
		d = dup3(fd, 21, O_CLOEXEC);
		cloexec = 1;
	} else if (strcmp(form, "dupfd") == 0)
		d = fcntl(fd, F_DUPFD, 30);
	else if (strcmp(form, "dupfd_cloexec") == 0) {
		d = fcntl(fd, F_DUPFD_CLOEXEC, 40);
		cloexec = 1;
	} else
		fail("unknown form %s", form);
	if (d < 0)
		fail_errno("%s(%d)", form, fd);
	if (d == fd || fd_cloexec(d) != cloexec)
		fail("%s(%d) gave fd %d with FD_CLOEXEC %s", form, fd, d,
		    fd_cloexec(d) ? "set" : "clear");
	if ((strcmp(form, "dup2") == 0 && d != 20) ||
	    (strcmp(form, "dup3") == 0 && d != 21) ||
	    (strcmp(form, "dupfd") == 0 && d < 30) ||
	    (strcmp(form, "dupfd_cloexec") == 0 && d < 40))
		fail("%s(%d) gave fd %d, not the number asked for", form, fd,
		    d);
	return d;
}

static void
dup_form(const char *form)
{
	int fd, d, n;

	fd = peer_socket(&peer, 0);
	echo(fd);
	d = duplicate(fd, form);
	echo(d);
	echo(fd);
	echo(d);
	if (close(fd) != 0)
		fail_errno("close(%d), the original", fd);
	expect_closed(fd, "closed");
	echo(d);
	/* The number comes back for a new socket: it is that one now. */
	n = peer_socket(&peer, 0);
	echo(n);
	echo(d);
	if (close(d) != 0 || close(n) != 0)
		fail_errno("close(%d), close(%d)", d, n);
	printf("%s: fd %d -> %d; closing %d keeps %d working; %d reused\n",
	    form, fd, d, fd, d, n);
}

/* dup2 over the only descriptor of a socket closes it; over one that has
 * another duplicate leaves the socket to that duplicate. */
static void
dup2onto(void)
{
	int a, b, p, b2, r;

	a = peer_socket(&peer, 0);
	tcp_pair(AF_INET, &b, &p);
	if ((r = dup2(a, b)) != b)
		fail_errno("dup2(%d, %d) returned %d", a, b, r);
	expect_eof(p, "dup2()ed over");
	echo(b);
	echo(a);
	close(a);
	echo(b);
	close(p);
	close(b);

	a = peer_socket(&peer, 0);
	tcp_pair(AF_INET, &b, &p);
	if ((b2 = dup(b)) < 0 || dup2(a, b) != b)
		fail_errno("dup(%d), dup2(%d, %d)", b, a, b);
	exchange(b2, p);
	echo(b);
	close(b2);
	expect_eof(p, "whose last duplicate closed");
	close(p);
	close(a);
	close(b);
	printf("dup2onto: the target's peer reads EOF; with a duplicate "
	    "left, the socket lives on\n");
}

/* dup2(fd, fd) changes nothing; dup3(fd, fd) is EINVAL; closed is EBADF. */
static void
self(void)
{
	int fd, c, r;

	fd = peer_socket(&peer, SOCK_CLOEXEC);
	if ((r = dup2(fd, fd)) != fd || !fd_cloexec(fd))
		fail_errno("dup2(%d, %d) returned %d, FD_CLOEXEC %s", fd, fd,
		    r, fd_cloexec(fd) ? "kept" : "lost");
	echo(fd);
	errno = 0;
	if (dup3(fd, fd, 0) != -1 || errno != EINVAL)
		fail("dup3(%d, %d, 0): want EINVAL, got errno %s", fd, fd,
		    errno_name(errno));
	echo(fd);
	c = peer_socket(&peer, 0);
	close(c);
	errno = 0;
	if (dup2(c, c) != -1 || errno != EBADF)
		fail("dup2 of closed fd %d onto itself: want EBADF, got %s", c,
		    errno_name(errno));
	errno = 0;
	if (dup(c) != -1 || errno != EBADF)
		fail("dup of closed fd %d: want EBADF, got %s", c,
		    errno_name(errno));
	errno = 0;
	if (fcntl(c, F_DUPFD, 0) != -1 || errno != EBADF)
		fail("F_DUPFD of closed fd %d: want EBADF, got %s", c,
		    errno_name(errno));
	close(fd);
	printf("self: dup2(%d, %d) no-op, dup3 EINVAL, closed fd %d EBADF\n",
	    fd, fd, c);
}

/* NPAIR connections whose accepted ends have consecutive numbers above
 * every client end: cli[i] and acc[i].  The listener, still open (so
 * that the next free numbers are those of the accepted ends). */
static int
pairs(int cli[NPAIR], int acc[NPAIR])
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int l, port, i;

	l = local_listener(AF_INET, &port);
	if (getsockname(l, (struct sockaddr *)&ss, &len) != 0)
		fail_errno("getsockname(%d)", l);
	for (i = 0; i < NPAIR; i++) {
		if ((cli[i] = socket(AF_INET, SOCK_STREAM, 0)) < 0)
			fail_errno("socket");
		set_timeouts(cli[i]);
		if (connect(cli[i], (struct sockaddr *)&ss, len) != 0)
			fail_errno("connect to the local listener");
	}
	for (i = 0; i < NPAIR; i++) {
		if ((acc[i] = accept(l, NULL, NULL)) < 0)
			fail_errno("accept(%d)", l);
		if (i > 0 && acc[i] != acc[i - 1] + 1)
			fail("accepted fds %d, %d are not consecutive",
			    acc[i - 1], acc[i]);
		exchange(cli[i], acc[i]);
	}
	return l;
}

/* Close (or mark) the accepted ends with how; check what followed. */
static void
range(const char *how)
{
	int cli[NPAIR], acc[NPAIR], i, l, r = 0, cloexec;

	l = pairs(cli, acc);
	cloexec = strcmp(how, "close_range_cloexec") == 0;
	if (strcmp(how, "close_range") == 0)
		r = close_range((unsigned)acc[0], (unsigned)acc[NPAIR - 1], 0);
	else if (cloexec)
		r = close_range((unsigned)acc[0], ~0U, CLOSE_RANGE_CLOEXEC);
	else if (strcmp(how, "closefrom") == 0)
		closefrom(acc[0]);
	else
		fail("unknown form %s", how);
	if (r != 0)
		fail_errno("%s(%d..%d)", how, acc[0], acc[NPAIR - 1]);
	for (i = 0; i < NPAIR; i++) {
		if (cloexec) {
			if (!fd_cloexec(acc[i]))
				fail("fd %d is not close-on-exec", acc[i]);
			exchange(cli[i], acc[i]);
			close(acc[i]);
		} else
			expect_closed(acc[i], how);
		expect_eof(cli[i], cloexec ? "closed after close_range "
		    "CLOEXEC" : "closed by close_range/closefrom");
	}
	/* The numbers come back for new sockets, which must work. */
	for (i = 0; i < NPAIR; i++) {
		int n = peer_socket(&peer, 0);

		if (n != acc[i])
			fail("after %s, a new socket is fd %d, want %d", how,
			    n, acc[i]);
		echo(n);
	}
	for (i = 0; i < NPAIR; i++) {
		close(acc[i]);
		close(cli[i]);
	}
	close(l);
	printf("%s: fds %d..%d %s; peers read EOF; numbers reused\n", how,
	    acc[0], acc[NPAIR - 1], cloexec ? "close-on-exec" : "closed");
}

int
main(int argc, char **argv)
{
	static const char *const forms[] = {
		"dup", "dup2", "dup3", "dupfd", "dupfd_cloexec",
	};
	static const char *const ranges[] = {
		"close_range", "close_range_cloexec", "closefrom",
	};
	const char *what;
	size_t i;
	int all, done = 0;

	probe_init("probe_dup");
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: probe_dup FORM [TRANSPORT]\n");
		return 2;
	}
	what = argv[1];
	all = strcmp(what, "all") == 0;
	peer_get(transport_byname(argc == 3 ? argv[2] : "tcp4"), &peer);
	trace_begin();
	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
		if (all || strcmp(what, forms[i]) == 0) {
			dup_form(forms[i]);
			done++;
		}
	if (all || strcmp(what, "dup2onto") == 0) {
		dup2onto();
		done++;
	}
	if (all || strcmp(what, "self") == 0) {
		self();
		done++;
	}
	for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		if (all || strcmp(what, ranges[i]) == 0) {
			range(ranges[i]);
			done++;
		}
	if (done == 0)
		fail("unknown form %s", what);
	trace_mark("probe:end");
	return 0;
}
