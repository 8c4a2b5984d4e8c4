/*
 * calls.c - every kind of socket call the trace layer decodes, made in a
 * fixed order with fixed data, so that its trace is the same on every run
 * once ports, addresses and the directory are replaced
 * (test_trace_golden.sh).  Successes, failures (refused, would block, not
 * connected, bad pointers), truncated and binary data, every address
 * family, SCM_RIGHTS.  Only 127.0.0.1, ::1 and AF_UNIX under DIR.  Every
 * blocking call is bounded by SO_RCVTIMEO; an alarm ends a stuck run.
 *
 *	trace-calls DIR
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

static const char *dir;

/* Nothing, or exits 1 saying what failed. */
static void
need(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "trace-calls: %s: %s\n", what,
		    strerror(errno));
		exit(1);
	}
}

/* A TCP listener on 127.0.0.1, its port in *port. */
static int
listener4(struct sockaddr_in *sin)
{
	socklen_t len = sizeof(*sin);
	int one = 1, l;

	need((l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0,
	    "socket");
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	need(bind(l, (struct sockaddr *)sin, sizeof(*sin)) == 0, "bind");
	need(listen(l, 5) == 0, "listen");
	need(getsockname(l, (struct sockaddr *)sin, &len) == 0,
	    "getsockname");
	return l;
}

/* Nothing: SO_RCVTIMEO of 5 s (the layer prints the raw timeval). */
static void
bound(int fd)
{
	struct timeval tv = { 5, 0 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static void
tcp(void)
{
	static const char bin[] = "hello\n\t\1\377 \"world\"\\\0";
	struct sockaddr_in sin, peer;
	struct linger lg = { 1, 5 };
	struct iovec iov[2] = { { "ab", 2 }, { "cd", 2 } };
	char buf[100], rb1[3], rb2[50];
	struct iovec riov[2] = { { rb1, 3 }, { rb2, 50 } };
	socklen_t len;
	int l, c, a, one = 1, v;

	l = listener4(&sin);
	need((c = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP)) >= 0, "socket");
	bound(c);
	need(connect(c, (struct sockaddr *)&sin, sizeof(sin)) == 0,
	    "connect");
	len = sizeof(peer);
	need((a = accept(l, (struct sockaddr *)&peer, &len)) >= 0, "accept");
	bound(a);
	send(c, bin, sizeof(bin), 0);
	recv(a, buf, sizeof(buf), 0);
	write(c, "0123456789012345678901234567890123456789", 40);
	read(a, buf, sizeof(buf));
	writev(c, iov, 2);
	readv(a, riov, 2);
	sendto(c, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT, NULL, 0);
	recvfrom(a, buf, 10, MSG_PEEK, NULL, NULL);
	len = sizeof(peer);
	recvfrom(a, buf, 10, 0, (struct sockaddr *)&peer, &len);
	len = sizeof(v);
	getsockopt(c, SOL_SOCKET, SO_ERROR, &v, &len);
	len = sizeof(v);
	getsockopt(c, SOL_SOCKET, SO_TYPE, &v, &len);
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	setsockopt(c, SOL_SOCKET, SO_REUSEADDR, &one, 2);
	len = sizeof(peer);
	getpeername(c, (struct sockaddr *)&peer, &len);
	ioctl(c, FIONBIO, &one);
	ioctl(a, FIONREAD, &v);
	fcntl(a, F_SETFL, fcntl(a, F_GETFL) | O_NONBLOCK);
	recv(a, buf, 10, 0);			/* EAGAIN */
	send(c, (void *)16, 5, MSG_NOSIGNAL);	/* EFAULT */
	shutdown(c, SHUT_WR);
	close(c);
	close(a);
	/* Refused, and a non-blocking connect. */
	close(l);
	need((c = socket(AF_INET, SOCK_STREAM, 0)) >= 0, "socket");
	connect(c, (struct sockaddr *)&sin, sizeof(sin));
	connect(c, (struct sockaddr *)16, sizeof(sin));	/* EFAULT */
	close(c);
	l = listener4(&sin);
	need((c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) >= 0,
	    "socket");
	connect(c, (struct sockaddr *)&sin, sizeof(sin));
	need((a = accept4(l, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0,
	    "accept4");
	fcntl(l, F_SETFL, O_RDWR | O_NONBLOCK);
	accept4(l, NULL, NULL, SOCK_NONBLOCK);	/* nothing waiting */
	close(a);
	close(c);
	close(l);
}

static void
udp6(void)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6,
	    .sin6_addr = IN6ADDR_LOOPBACK_INIT }, from;
	struct mmsghdr mm[2], rm[3];
	struct iovec io[2] = { { "a", 1 }, { "bb", 2 } };
	char b[3][10];
	struct iovec ri[3] = { { b[0], 10 }, { b[1], 10 }, { b[2], 10 } };
	socklen_t len = sizeof(s6);
	int u, i;

	need((u = socket(AF_INET6, SOCK_DGRAM, 0)) >= 0, "socket6");
	bound(u);
	need(bind(u, (struct sockaddr *)&s6, sizeof(s6)) == 0, "bind6");
	getsockname(u, (struct sockaddr *)&s6, &len);
	sendto(u, "abc", 3, 0, (struct sockaddr *)&s6, sizeof(s6));
	len = sizeof(from);
	recvfrom(u, b[0], sizeof(b[0]), 0, (struct sockaddr *)&from, &len);
	memset(mm, 0, sizeof(mm));
	for (i = 0; i < 2; i++) {
		mm[i].msg_hdr.msg_name = &s6;
		mm[i].msg_hdr.msg_namelen = sizeof(s6);
		mm[i].msg_hdr.msg_iov = &io[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	sendmmsg(u, mm, 2, 0);
	memset(rm, 0, sizeof(rm));
	for (i = 0; i < 3; i++) {
		rm[i].msg_hdr.msg_iov = &ri[i];
		rm[i].msg_hdr.msg_iovlen = 1;
	}
	recvmmsg(u, rm, 2, 0, NULL);
	recv(u, b[0], 10, MSG_DONTWAIT);	/* EAGAIN */
	close(u);
}

static void
unix_sockets(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX }, from;
	char cbuf[CMSG_SPACE(sizeof(int))], rcb[CMSG_SPACE(sizeof(int))];
	struct iovec io = { "m", 1 }, rio;
	struct msghdr m = { 0 }, r = { 0 };
	struct cmsghdr *cm;
	char buf[16];
	socklen_t len;
	int sv[2], d, e, got;

	need(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
	bound(sv[1]);
	memset(cbuf, 0, sizeof(cbuf));
	m.msg_iov = &io;
	m.msg_iovlen = 1;
	m.msg_control = cbuf;
	m.msg_controllen = sizeof(cbuf);
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &sv[0], sizeof(int));
	sendmsg(sv[0], &m, 0);
	rio.iov_base = buf;
	rio.iov_len = sizeof(buf);
	r.msg_iov = &rio;
	r.msg_iovlen = 1;
	r.msg_control = rcb;
	r.msg_controllen = sizeof(rcb);
	recvmsg(sv[1], &r, MSG_CMSG_CLOEXEC);
	memcpy(&got, CMSG_DATA(CMSG_FIRSTHDR(&r)), sizeof(got));
	close(got);
	close(sv[0]);
	close(sv[1]);
	/* Datagrams between two paths. */
	need((d = socket(AF_UNIX, SOCK_DGRAM, 0)) >= 0, "socket unix");
	need((e = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) >= 0,
	    "socket unix");
	bound(d);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/d.sock", dir);
	unlink(a.sun_path);
	need(bind(d, (struct sockaddr *)&a, sizeof(a)) == 0, "bind unix");
	sendto(e, "q", 1, 0, (struct sockaddr *)&a, sizeof(a));
	len = sizeof(from);
	recvfrom(d, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/none.sock", dir);
	connect(e, (struct sockaddr *)&a, sizeof(a));	/* ENOENT */
	shutdown(e, SHUT_RDWR);			/* ENOTCONN */
	close(d);
	close(e);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: trace-calls DIR\n");
		return 2;
	}
	dir = argv[1];
	alarm(30);
	tcp();
	udp6();
	unix_sockets();
	return 0;
}
