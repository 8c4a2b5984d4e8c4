/*
 * probe_errno - the errno of failing socket calls, and errno left alone by
 * calls that succeed.
 *
 *	probe_errno refused|epipe|sigpipe|eagain|ebadf|enotsock|einval|
 *	    other|sentinel|all
 *
 * Each group is a table of cases: a call set up to fail, and the errno
 * Linux gives for it.  The probe prints "case: ENAME" per case and fails
 * at the first that differs.  sentinel sets errno to a value no call
 * uses before each of ~35 successful calls and checks it is still there.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"

#define SENTINEL	7777

struct errcase {
	const char	*name;
	int		(*run)(void);	/* the errno the call gave, or 0 */
	int		want;
};

/* -1 and its errno become the errno; success is 0. */
static int
err_of(long rc)
{
	return rc < 0 ? errno : 0;
}

/* A port nobody listens on (bound a moment ago, then closed). */
static int
closed_port(int family)
{
	int l, port;

	l = local_listener(family, &port);
	close(l);
	return port;
}

static void
loopback(int family, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		*len = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		sin6->sin6_addr = in6addr_loopback;
		*len = sizeof(*sin6);
	}
}

/* A socket of family/type with I/O timeouts. */
static int
sock(int family, int type)
{
	int fd = socket(family, type, 0);

	if (fd < 0)
		fail_errno("socket(%d, %d)", family, type);
	set_timeouts(fd);
	return fd;
}

/* connect fd to the loopback port; the errno, or 0. */
static int
connect_port(int fd, int family, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;

	loopback(family, port, &ss, &len);
	return err_of(connect(fd, (struct sockaddr *)&ss, len));
}

/* An AF_UNIX stream connection over an abstract autobound listener. */
static void
unix_pair(int *cli, int *srv)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t len = sizeof(sun);
	int l = sock(AF_UNIX, SOCK_STREAM);

	if (bind(l, (struct sockaddr *)&sun, sizeof(sa_family_t)) != 0 ||
	    listen(l, 4) != 0 ||
	    getsockname(l, (struct sockaddr *)&sun, &len) != 0)
		fail_errno("an AF_UNIX listener");
	*cli = sock(AF_UNIX, SOCK_STREAM);
	if (connect(*cli, (struct sockaddr *)&sun, len) != 0)
		fail_errno("connect to the AF_UNIX listener");
	if ((*srv = accept(l, NULL, NULL)) < 0)
		fail_errno("accept(%d)", l);
	close(l);
}

/* --- refused ------------------------------------------------------------ */

static int
refused_tcp4(void)
{
	int fd = sock(AF_INET, SOCK_STREAM);
	int e = connect_port(fd, AF_INET, closed_port(AF_INET));

	close(fd);
	return e;
}

static int
refused_tcp6(void)
{
	int fd = sock(AF_INET6, SOCK_STREAM);
	int e = connect_port(fd, AF_INET6, closed_port(AF_INET6));

	close(fd);
	return e;
}

/* A connected UDP socket learns of the ICMP port unreachable. */
static int
refused_udp(void)
{
	int fd = sock(AF_INET, SOCK_DGRAM), e;
	char b[4];

	if (connect_port(fd, AF_INET, closed_port(AF_INET)) != 0 ||
	    send(fd, "ping", 4, 0) != 4)
		fail_errno("send on a connected UDP socket");
	e = err_of(recv(fd, b, sizeof(b), 0));
	close(fd);
	return e;
}

static int
refused_unix(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t len = sizeof(sun);
	int b = sock(AF_UNIX, SOCK_STREAM), fd = sock(AF_UNIX, SOCK_STREAM);
	int e;

	/* Bound but not listening. */
	if (bind(b, (struct sockaddr *)&sun, sizeof(sa_family_t)) != 0 ||
	    getsockname(b, (struct sockaddr *)&sun, &len) != 0)
		fail_errno("autobind an AF_UNIX socket");
	e = err_of(connect(fd, (struct sockaddr *)&sun, len));
	close(fd);
	close(b);
	return e;
}

static int
noent_unix(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX,
	    .sun_path = "/nonexistent/wspshim-probe.sock" };
	int fd = sock(AF_UNIX, SOCK_STREAM), e;

	e = err_of(connect(fd, (struct sockaddr *)&sun, sizeof(sun)));
	close(fd);
	return e;
}

static const struct errcase refused_cases[] = {
	{ "connect tcp4 to a closed port", refused_tcp4, ECONNREFUSED },
	{ "connect tcp6 to a closed port", refused_tcp6, ECONNREFUSED },
	{ "recv on udp4 connected to a closed port", refused_udp,
	    ECONNREFUSED },
	{ "connect unix to a bound, not listening socket", refused_unix,
	    ECONNREFUSED },
	{ "connect unix to a missing path", noent_unix, ENOENT },
	{ NULL, NULL, 0 },
};

/* --- epipe ----------------------------------------------------------------- */

static int
epipe_unix_send(void)
{
	int c, s, e;

	unix_pair(&c, &s);
	close(s);
	e = err_of(send(c, "x", 1, 0));
	close(c);
	return e;
}

static int
epipe_unix_write(void)
{
	int c, s, e;

	unix_pair(&c, &s);
	close(s);
	e = err_of(write(c, "x", 1));
	close(c);
	return e;
}

static int
epipe_unix_sendmsg(void)
{
	struct iovec iov = { "x", 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	int c, s, e;

	unix_pair(&c, &s);
	close(s);
	e = err_of(sendmsg(c, &m, 0));
	close(c);
	return e;
}

static int
epipe_tcp_shut(void)
{
	int c, s, e;

	tcp_pair(AF_INET, &c, &s);
	if (shutdown(c, SHUT_WR) != 0)
		fail_errno("shutdown(%d, SHUT_WR)", c);
	e = err_of(send(c, "x", 1, 0));
	close(c);
	close(s);
	return e;
}

/* TCP to a peer that closed: the first send may still succeed; the
 * error after the peer's RST is EPIPE or ECONNRESET (timing), reported
 * as EPIPE when either. */
static int
epipe_tcp_closed(void)
{
	int c, s, e = 0, i;

	tcp_pair(AF_INET, &c, &s);
	close(s);
	for (i = 0; i < 200 && e == 0; i++) {
		e = err_of(send(c, "x", 1, 0));
		if (e == 0)
			usleep(5000);
	}
	close(c);
	return e == ECONNRESET ? EPIPE : e;
}

static int
enotconn_send(void)
{
	int fd = sock(AF_INET, SOCK_STREAM), e;

	e = err_of(send(fd, "x", 1, 0));
	close(fd);
	return e;
}

static const struct errcase epipe_cases[] = {
	{ "send on unix stream, peer closed", epipe_unix_send, EPIPE },
	{ "write on unix stream, peer closed", epipe_unix_write, EPIPE },
	{ "sendmsg on unix stream, peer closed", epipe_unix_sendmsg, EPIPE },
	{ "send on tcp after shutdown(SHUT_WR)", epipe_tcp_shut, EPIPE },
	{ "send on tcp, peer closed", epipe_tcp_closed, EPIPE },
	{ "send on unconnected tcp", enotconn_send, EPIPE },
	{ NULL, NULL, 0 },
};

/* Print "case: ENAME"; fail unless it is want. */
static void
expect(const char *name, int want, int got)
{
	printf("%s: %s\n", name, errno_name(got));
	if (got != want)
		fail("%s: want %s, got %s", name, errno_name(want),
		    errno_name(got));
}

/* The errno of call (0 when it succeeded), under its own text. */
#define EXPECT(want, call)	expect(#call, want, err_of((long)(call)))

static void
run_cases(const struct errcase *c)
{
	for (; c->name != NULL; c++)
		expect(c->name, c->want, c->run());
}

/* --- sigpipe -------------------------------------------------------------- */

/* In a child with SIGPIPE at its default: send on a closed peer with
 * flags; how the child ended, as a string. */
static const char *
sigpipe_child(int flags)
{
	int c, s, status;
	pid_t pid;

	unix_pair(&c, &s);
	close(s);
	if ((pid = fork()) < 0)
		fail_errno("fork");
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		alarm(PROBE_WATCHDOG);
		_exit(send(c, "x", 1, flags) == -1 && errno == EPIPE ? 0 : 1);
	}
	close(c);
	if (waitpid(pid, &status, 0) != pid)
		fail_errno("waitpid");
	if (WIFSIGNALED(status))
		return WTERMSIG(status) == SIGPIPE ? "killed by SIGPIPE" :
		    "killed by another signal";
	return WEXITSTATUS(status) == 0 ? "EPIPE, no signal" :
	    "no EPIPE";
}

static void
sigpipe(void)
{
	const char *r;

	r = sigpipe_child(0);
	printf("send, peer closed, SIGPIPE default: %s\n", r);
	if (strcmp(r, "killed by SIGPIPE") != 0)
		fail("send to a closed peer: want death by SIGPIPE, got %s",
		    r);
	r = sigpipe_child(MSG_NOSIGNAL);
	printf("send(MSG_NOSIGNAL), peer closed: %s\n", r);
	if (strcmp(r, "EPIPE, no signal") != 0)
		fail("send(MSG_NOSIGNAL) to a closed peer: want EPIPE and "
		    "no signal, got %s", r);
}

/* --- eagain ---------------------------------------------------------------- */

static void
eagain(void)
{
	struct timeval tv = { .tv_usec = 100000 };
	struct mmsghdr mm = { 0 };
	struct iovec iov;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	char b[64], big[4096];
	int c, s, l, u, port, i, e = 0;

	iov = (struct iovec){ b, sizeof(b) };
	mm.msg_hdr = m;
	tcp_pair(AF_INET, &c, &s);
	EXPECT(EAGAIN, recv(c, b, sizeof(b), MSG_DONTWAIT));
	if (fcntl(c, F_SETFL, O_NONBLOCK) != 0)
		fail_errno("F_SETFL O_NONBLOCK");
	EXPECT(EAGAIN, recv(c, b, sizeof(b), 0));
	EXPECT(EAGAIN, read(c, b, sizeof(b)));
	EXPECT(EAGAIN, recvmsg(c, &m, 0));
	if (setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0)
		fail_errno("SO_RCVTIMEO");
	EXPECT(EAGAIN, recv(s, b, sizeof(b), 0));
	close(c);
	close(s);

	l = local_listener(AF_INET, &port);
	if (fcntl(l, F_SETFL, O_NONBLOCK) != 0)
		fail_errno("F_SETFL O_NONBLOCK");
	EXPECT(EAGAIN, accept(l, NULL, NULL));
	EXPECT(EAGAIN, accept4(l, NULL, NULL, SOCK_CLOEXEC));
	close(l);

	u = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	EXPECT(EAGAIN, recvfrom(u, b, sizeof(b), 0, NULL, NULL));
	EXPECT(EAGAIN, recvmmsg(u, &mm, 1, 0, NULL));
	close(u);

	unix_pair(&c, &s);
	if (fcntl(c, F_SETFL, O_NONBLOCK) != 0)
		fail_errno("F_SETFL O_NONBLOCK");
	memset(big, 'b', sizeof(big));
	for (i = 0; i < 100000 && e == 0; i++)
		e = err_of(send(c, big, sizeof(big), 0));
	expect("send until a non-blocking unix stream is full", EAGAIN, e);
	close(c);
	close(s);
}

/* --- ebadf ----------------------------------------------------------------- */

static void
ebadf_on(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss), ol = sizeof(int);
	struct iovec iov;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	char b[16];
	int v = 1;

	iov = (struct iovec){ b, sizeof(b) };
	loopback(AF_INET, 9, &ss, &len);
	EXPECT(EBADF, send(fd, "x", 1, 0));
	EXPECT(EBADF, recv(fd, b, sizeof(b), 0));
	EXPECT(EBADF, sendto(fd, "x", 1, 0, (struct sockaddr *)&ss, len));
	EXPECT(EBADF, recvfrom(fd, b, sizeof(b), 0, NULL, NULL));
	EXPECT(EBADF, sendmsg(fd, &m, 0));
	EXPECT(EBADF, recvmsg(fd, &m, 0));
	EXPECT(EBADF, write(fd, "x", 1));
	EXPECT(EBADF, read(fd, b, sizeof(b)));
	EXPECT(EBADF, writev(fd, &iov, 1));
	EXPECT(EBADF, readv(fd, &iov, 1));
	EXPECT(EBADF, connect(fd, (struct sockaddr *)&ss, len));
	EXPECT(EBADF, bind(fd, (struct sockaddr *)&ss, len));
	EXPECT(EBADF, listen(fd, 1));
	EXPECT(EBADF, accept(fd, NULL, NULL));
	EXPECT(EBADF, shutdown(fd, SHUT_RDWR));
	EXPECT(EBADF, getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &ol));
	EXPECT(EBADF, setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, ol));
	EXPECT(EBADF, getsockname(fd, (struct sockaddr *)&ss, &len));
	EXPECT(EBADF, getpeername(fd, (struct sockaddr *)&ss, &len));
	EXPECT(EBADF, ioctl(fd, FIONREAD, &v));
	EXPECT(EBADF, fcntl(fd, F_GETFL));
	EXPECT(EBADF, dup(fd));
	EXPECT(EBADF, close(fd));
}

static void
ebadf(void)
{
	struct peer p;
	int fd;

	peer_get(T_TCP4, &p);
	fd = peer_socket(&p, 0);
	round_trip(fd, SOCK_STREAM, 10, 1);
	if (close(fd) != 0)
		fail_errno("close(%d)", fd);
	ebadf_on(fd);
	ebadf_on(-1);
	ebadf_on(1000000);
}

/* --- enotsock ------------------------------------------------------------- */

static void
enotsock_on(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss), ol = sizeof(int);
	struct iovec iov;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct mmsghdr mm = { 0 };
	char b[16];
	int v = 1;

	iov = (struct iovec){ b, sizeof(b) };
	mm.msg_hdr = m;
	loopback(AF_INET, 9, &ss, &len);
	EXPECT(ENOTSOCK, send(fd, "x", 1, 0));
	EXPECT(ENOTSOCK, recv(fd, b, sizeof(b), MSG_DONTWAIT));
	EXPECT(ENOTSOCK, sendto(fd, "x", 1, 0, (struct sockaddr *)&ss, len));
	EXPECT(ENOTSOCK, recvfrom(fd, b, sizeof(b), MSG_DONTWAIT, NULL,
	    NULL));
	EXPECT(ENOTSOCK, sendmsg(fd, &m, 0));
	EXPECT(ENOTSOCK, recvmsg(fd, &m, MSG_DONTWAIT));
	EXPECT(ENOTSOCK, sendmmsg(fd, &mm, 1, 0));
	EXPECT(ENOTSOCK, recvmmsg(fd, &mm, 1, MSG_DONTWAIT, NULL));
	EXPECT(ENOTSOCK, connect(fd, (struct sockaddr *)&ss, len));
	EXPECT(ENOTSOCK, bind(fd, (struct sockaddr *)&ss, len));
	EXPECT(ENOTSOCK, listen(fd, 1));
	EXPECT(ENOTSOCK, accept(fd, NULL, NULL));
	EXPECT(ENOTSOCK, accept4(fd, NULL, NULL, SOCK_CLOEXEC));
	EXPECT(ENOTSOCK, shutdown(fd, SHUT_RDWR));
	EXPECT(ENOTSOCK, getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &ol));
	EXPECT(ENOTSOCK, setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, ol));
	EXPECT(ENOTSOCK, getsockname(fd, (struct sockaddr *)&ss, &len));
	EXPECT(ENOTSOCK, getpeername(fd, (struct sockaddr *)&ss, &len));
}

static void
enotsock(void)
{
	char b[2];
	int p[2], n;

	if (pipe(p) != 0)
		fail_errno("pipe");
	enotsock_on(p[0]);
	enotsock_on(p[1]);
	EXPECT(0, write(p[1], "ok", 2));
	EXPECT(0, read(p[0], b, 2));
	if (memcmp(b, "ok", 2) != 0)
		fail("the pipe lost its bytes");
	if ((n = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		fail_errno("open /dev/null");
	enotsock_on(n);
	close(n);
	close(p[0]);
	close(p[1]);
}

/* --- einval ---------------------------------------------------------------- */

/* A negative address length where something is waiting: the kernel
 * takes it (a datagram, a connection) and then refuses the length. */
static void
einval_pending(int l, int port)
{
	struct sockaddr_storage ss, self;
	socklen_t len, slen = sizeof(self);
	char b[8];
	int c, u = sock(AF_INET, SOCK_DGRAM);

	if (bind(u, (struct sockaddr *)&(struct sockaddr_in){
	    .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) },
	    sizeof(struct sockaddr_in)) != 0 ||
	    getsockname(u, (struct sockaddr *)&self, &slen) != 0 ||
	    sendto(u, "x", 1, 0, (struct sockaddr *)&self, slen) != 1)
		fail_errno("a datagram to itself");
	len = (socklen_t)-1;
	EXPECT(EINVAL, recvfrom(u, b, sizeof(b), 0, (struct sockaddr *)&ss,
	    &len));
	c = sock(AF_INET, SOCK_STREAM);
	if (connect_port(c, AF_INET, port) != 0)
		fail_errno("connect to the listener");
	len = (socklen_t)-1;
	EXPECT(EINVAL, accept4(l, (struct sockaddr *)&ss, &len, 0));
	close(c);
	close(u);
}

static void
einval(void)
{
	struct sockaddr_storage ss;
	struct timespec bad = { .tv_nsec = 2000000000L };
	struct mmsghdr mm = { 0 };
	struct linger lg = { 0 };
	socklen_t len, ol = (socklen_t)-1;
	int t, u, c, s, v = 1, l, port;

	t = sock(AF_INET, SOCK_STREAM);
	u = sock(AF_INET, SOCK_DGRAM);
	loopback(AF_INET, 0, &ss, &len);
	EXPECT(0, bind(t, (struct sockaddr *)&ss, len));
	EXPECT(EINVAL, bind(t, (struct sockaddr *)&ss, len));
	EXPECT(EINVAL, bind(u, (struct sockaddr *)&ss, 1));
	EXPECT(EINVAL, connect(u, (struct sockaddr *)&ss, 3));
	EXPECT(EINVAL, sendto(u, "x", 1, 0, (struct sockaddr *)&ss, 1));
	EXPECT(EINVAL, accept(t, NULL, NULL));
	EXPECT(EINVAL, shutdown(u, 7));
	EXPECT(EINVAL, setsockopt(u, SOL_SOCKET, SO_RCVBUF, &v, 1));
	EXPECT(EINVAL, setsockopt(u, SOL_SOCKET, SO_LINGER, &lg, 2));
	EXPECT(EINVAL, getsockopt(u, SOL_SOCKET, SO_TYPE, &v, &ol));
	EXPECT(EINVAL, getsockname(u, (struct sockaddr *)&ss, &ol));
	EXPECT(EINVAL, recvmmsg(u, &mm, 1, 0, &bad));
	EXPECT(EINVAL, socket(AF_INET, 99, 0));
	EXPECT(EINVAL, socket(AF_INET, SOCK_STREAM | 0x1000, 0));
	EXPECT(EINVAL, fcntl(t, F_DUPFD, -1));
	EXPECT(EINVAL, dup3(t, t, 0));
	EXPECT(EINVAL, dup3(t, 50, 0x1));
	l = local_listener(AF_INET, &port);
	EXPECT(EINVAL, accept4(l, NULL, NULL, 0x1));
	einval_pending(l, port);
	close(l);
	tcp_pair(AF_INET, &c, &s);
	EXPECT(EINVAL, shutdown(c, -1));
	close(c);
	close(s);
	close(t);
	close(u);
}

/* --- other ----------------------------------------------------------------- */

static void
other(void)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char b[8], *big;
	int t, u, d, c, s, l, port, v = 1;

	EXPECT(EAFNOSUPPORT, socket(12345, SOCK_STREAM, 0));
	EXPECT(EPROTONOSUPPORT, socket(AF_INET, SOCK_STREAM, IPPROTO_UDP));
	EXPECT(EPROTONOSUPPORT, socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP));
	EXPECT(EPROTONOSUPPORT, socket(AF_UNIX, SOCK_STREAM, 5));
	EXPECT(ESOCKTNOSUPPORT, socket(AF_INET, SOCK_SEQPACKET, 0));
	EXPECT(ESOCKTNOSUPPORT, socket(AF_INET6, SOCK_SEQPACKET, 0));

	t = sock(AF_INET, SOCK_STREAM);
	u = sock(AF_INET, SOCK_DGRAM);
	d = sock(AF_UNIX, SOCK_DGRAM);
	EXPECT(ENOTCONN, recv(t, b, sizeof(b), 0));
	len = sizeof(ss);
	EXPECT(ENOTCONN, getpeername(t, (struct sockaddr *)&ss, &len));
	EXPECT(ENOTCONN, shutdown(t, SHUT_RDWR));
	EXPECT(ENOTCONN, send(d, "x", 1, 0));
	EXPECT(EOPNOTSUPP, listen(u, 1));
	EXPECT(EOPNOTSUPP, accept(d, NULL, NULL));
	EXPECT(ENOPROTOOPT, setsockopt(u, SOL_SOCKET, 9999, &v, sizeof(v)));
	EXPECT(ENOPROTOOPT, setsockopt(u, IPPROTO_TCP, 1, &v, sizeof(v)));
	l = local_listener(AF_INET, &port);
	loopback(AF_INET, port, &ss, &len);
	EXPECT(EADDRINUSE, bind(t, (struct sockaddr *)&ss, len));
	close(l);
	loopback(AF_INET6, 9, &ss, &len);
	EXPECT(EAFNOSUPPORT, connect(u, (struct sockaddr *)&ss, len));
	loopback(AF_INET, 9, &ss, &len);
	if ((big = calloc(1, 70000)) == NULL)
		fail("out of memory");
	EXPECT(EMSGSIZE, sendto(u, big, 70000, 0, (struct sockaddr *)&ss,
	    len));
	free(big);
	tcp_pair(AF_INET, &c, &s);
	len = sizeof(ss);
	if (getpeername(c, (struct sockaddr *)&ss, &len) != 0)
		fail_errno("getpeername");
	EXPECT(EISCONN, connect(c, (struct sockaddr *)&ss, len));
	close(c);
	close(s);
	close(t);
	close(u);
	close(d);
}

/* --- sentinel -------------------------------------------------------------- */

/* call must succeed and leave errno as it found it. */
#define KEEPS(call)	keeps(#call, (long)(call))

static void
keeps(const char *name, long rc)
{
	if (rc < 0)
		fail_errno("%s failed", name);
	if (errno != SENTINEL)
		fail("%s succeeded but set errno to %s", name,
		    errno_name(errno));
	errno = SENTINEL;
}

/* Successful calls on a TCP connection to the echo server. */
static void
sentinel_tcp(void)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss), ol = sizeof(int);
	char b[64];
	struct iovec iov = { b, 5 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct mmsghdr mm = { 0 };
	struct peer p;
	int fd, d, v = 1, n;

	peer_get(T_TCP4, &p);
	memset(b, 'a', sizeof(b));
	errno = SENTINEL;
	KEEPS(fd = socket(AF_INET, SOCK_STREAM, 0));
	KEEPS(setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof(v)));
	KEEPS(getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &ol));
	KEEPS(connect(fd, (struct sockaddr *)&p.addr, p.len));
	KEEPS(getsockname(fd, (struct sockaddr *)&ss, &len));
	len = sizeof(ss);
	KEEPS(getpeername(fd, (struct sockaddr *)&ss, &len));
	KEEPS(send(fd, b, 5, 0));
	KEEPS(recv(fd, b, 5, MSG_WAITALL));
	KEEPS(sendto(fd, b, 5, 0, NULL, 0));
	KEEPS(recvfrom(fd, b, 5, MSG_WAITALL, NULL, NULL));
	KEEPS(sendmsg(fd, &m, 0));
	KEEPS(recvmsg(fd, &m, MSG_WAITALL));
	mm.msg_hdr = m;
	KEEPS(sendmmsg(fd, &mm, 1, 0));
	KEEPS(recvmmsg(fd, &mm, 1, MSG_WAITALL, NULL));
	KEEPS(write(fd, b, 5));
	KEEPS(recv(fd, b, 5, MSG_WAITALL));
	KEEPS(writev(fd, &iov, 1));
	KEEPS(recv(fd, b, 5, MSG_WAITALL));
	KEEPS(write(fd, b, 1));
	KEEPS(read(fd, b, 1));
	KEEPS(write(fd, b, 1));
	KEEPS(readv(fd, &(struct iovec){ b, 1 }, 1));
	KEEPS(ioctl(fd, FIONREAD, &n));
	KEEPS(fcntl(fd, F_GETFL));
	KEEPS(fcntl(fd, F_SETFL, O_NONBLOCK));
	KEEPS(fcntl(fd, F_SETFL, 0));
	KEEPS(d = dup(fd));
	KEEPS(close(d));
	KEEPS(d = dup2(fd, 60));
	KEEPS(close(d));
	KEEPS(d = dup3(fd, 61, O_CLOEXEC));
	KEEPS(close(d));
	KEEPS(d = fcntl(fd, F_DUPFD_CLOEXEC, 62));
	KEEPS(close(d));
	KEEPS(shutdown(fd, SHUT_WR));
	KEEPS(close(fd));
}

/* Successful calls on a listener, UDP, and AF_UNIX sockets. */
static void
sentinel_rest(void)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char b[8];
	int l, c, a, port, u, sv[2];

	l = local_listener(AF_INET, &port);
	loopback(AF_INET, port, &ss, &len);
	c = socket(AF_INET, SOCK_STREAM, 0);
	errno = SENTINEL;
	KEEPS(connect(c, (struct sockaddr *)&ss, len));
	KEEPS(a = accept4(l, NULL, NULL, SOCK_CLOEXEC));
	KEEPS(close(a));
	KEEPS(close(l));
	KEEPS(close(c));
	KEEPS(u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	KEEPS(bind(u, (struct sockaddr *)&(struct sockaddr_in){
	    .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) },
	    sizeof(struct sockaddr_in)));
	len = sizeof(ss);
	KEEPS(getsockname(u, (struct sockaddr *)&ss, &len));
	KEEPS(sendto(u, "hi", 2, 0, (struct sockaddr *)&ss, len));
	KEEPS(recvfrom(u, b, sizeof(b), 0, NULL, NULL));
	KEEPS(close(u));
	KEEPS(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	KEEPS(send(sv[0], "hi", 2, 0));
	KEEPS(recv(sv[1], b, 2, MSG_WAITALL));
	KEEPS(close(sv[0]));
	KEEPS(close(sv[1]));
}

static void
sentinel(void)
{
	sentinel_tcp();
	sentinel_rest();
	printf("errno untouched by every successful call\n");
}

int
main(int argc, char **argv)
{
	static const struct {
		const char	*name;
		void		(*fn)(void);
	} groups[] = {
		{ "refused", NULL }, { "epipe", NULL }, { "sigpipe", sigpipe },
		{ "eagain", eagain }, { "ebadf", ebadf },
		{ "enotsock", enotsock }, { "einval", einval },
		{ "other", other }, { "sentinel", sentinel },
	};
	const char *what = argc == 2 ? argv[1] : "";
	int all = strcmp(what, "all") == 0, done = 0;
	size_t i;

	probe_init("probe_errno");
	signal(SIGPIPE, SIG_IGN);
	trace_begin();
	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		if (!all && strcmp(what, groups[i].name) != 0)
			continue;
		if (strcmp(groups[i].name, "refused") == 0)
			run_cases(refused_cases);
		else if (strcmp(groups[i].name, "epipe") == 0)
			run_cases(epipe_cases);
		else
			groups[i].fn();
		done++;
	}
	if (done == 0) {
		fprintf(stderr, "usage: probe_errno refused|epipe|sigpipe|"
		    "eagain|ebadf|enotsock|einval|other|sentinel|all\n");
		return 2;
	}
	trace_mark("probe:end");
	return 0;
}
