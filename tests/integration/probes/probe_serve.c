/*
 * probe_serve - servers in the shapes real ones have, each with its own
 * client, for tracecmp and the adoption checks.
 *
 *	probe_serve fork N DEPTH	fork-per-connection TCP server
 *	probe_serve handoff		hands its connection to a child on fds
 *					0 and 1, which execs "handed"
 *	probe_serve handed		(what handoff execs)
 *	probe_serve scm			SCM_RIGHTS of a socket it already has
 *	probe_serve pktinfo		UDP with IP_PKTINFO and IPV6_PKTINFO,
 *					and an IP_RECVERR from the error queue
 *	probe_serve resolve		connects to every address getaddrinfo
 *					gives for the loopback name (NULL)
 *	probe_serve raw			a send and a close made with syscall(),
 *					which no preload sees, then a send on
 *					the closed number (EBADF)
 *
 * fork: a client process makes N connections one after the other; the
 * server forks a handler per connection, which forks DEPTH - 1 more
 * times, and the last one echoes.  handoff and scm: the descriptor that
 * is closed first must leave the socket working on the other one.  Every
 * process waits for its children, so each one's calls come in one order.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"

#define MSG	16

static char self[4096];

/* Wait for pid; fail unless it exited 0. */
static void
reap(pid_t pid, const char *what)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		fail_errno("waitpid(%s)", what);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail("the %s child ended with status 0x%x", what, status);
}

/* A connected TCP client socket to 127.0.0.1:port. */
static int
client_socket(int port)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int fd;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		fail_errno("socket");
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0)
		fail_errno("connect to port %d", port);
	return fd;
}

/* A child process that makes n connections to port, each sending a
 * message and reading back `replies' messages of MSG bytes. */
static pid_t
client(int listener, int port, int n, int replies)
{
	char out[MSG], in[MSG];
	pid_t pid;
	int i, k, fd;

	if ((pid = fork()) < 0)
		fail_errno("fork");
	if (pid > 0)
		return pid;
	close(listener);
	for (i = 0; i < n; i++) {
		fd = client_socket(port);
		pattern(out, MSG, (unsigned long)i);
		send_all(fd, out, MSG);
		for (k = 0; k < replies; k++) {
			recv_all(fd, in, MSG);
			if (memcmp(in, out, MSG) != 0)
				fail("reply %d on connection %d differs", k, i);
		}
		close(fd);
	}
	exit(0);
}

/* Echo one message on c, forking depth more times first. */
static void
serve(int c, int depth)
{
	char buf[MSG];
	pid_t pid;

	if (depth > 0) {
		if ((pid = fork()) < 0)
			fail_errno("fork");
		if (pid == 0) {
			serve(c, depth - 1);
			exit(0);
		}
		close(c);
		reap(pid, "handler");
		return;
	}
	recv_all(c, buf, MSG);
	send_all(c, buf, MSG);
	close(c);
}

static void
do_fork(int n, int depth)
{
	pid_t cli, pid;
	int l, c, i, port;

	l = local_listener(AF_INET, &port);
	cli = client(l, port, n, 1);
	for (i = 0; i < n; i++) {
		if ((c = accept(l, NULL, NULL)) < 0)
			fail_errno("accept");
		if ((pid = fork()) < 0)
			fail_errno("fork");
		if (pid == 0) {
			close(l);
			serve(c, depth - 1);
			exit(0);
		}
		close(c);
		reap(pid, "handler");
	}
	reap(cli, "client");
	close(l);
}

static void
do_handoff(void)
{
	pid_t cli, pid;
	int l, c, port;

	l = local_listener(AF_INET, &port);
	cli = client(l, port, 1, 2);
	if ((c = accept(l, NULL, NULL)) < 0)
		fail_errno("accept");
	if ((pid = fork()) < 0)
		fail_errno("fork");
	if (pid == 0) {
		if (dup2(c, 0) != 0 || dup2(c, 1) != 1)
			fail_errno("dup2");
		close(c);
		close(l);
		execl(self, "probe_serve", "handed", (char *)NULL);
		fail_errno("exec %s", self);
	}
	close(c);
	reap(pid, "handed");
	reap(cli, "client");
	close(l);
}

/* Read a message on fd 0 and write it back on fd 1 twice, closing fd 0
 * in between: the socket must go on working on fd 1. */
static void
do_handed(void)
{
	char buf[MSG];
	size_t got = 0;
	ssize_t n;

	while (got < MSG) {
		if ((n = read(0, buf + got, MSG - got)) <= 0)
			fail_errno("read(0)");
		got += (size_t)n;
	}
	if (write(1, buf, MSG) != MSG)
		fail_errno("write(1)");
	if (close(0) != 0)
		fail_errno("close(0)");
	if (write(1, buf, MSG) != MSG)
		fail_errno("write(1) after close(0)");
	if (close(1) != 0)
		fail_errno("close(1)");
}

/* A one-byte message with room for one descriptor. */
struct fd_msg {
	char		c;
	struct iovec	iov;
	struct msghdr	m;
	union {				/* last: cmsghdr ends in a flexible array */
		struct cmsghdr	h;
		char		b[CMSG_SPACE(sizeof(int))];
	} ctl;
};

/* Nothing: f is ready for sendmsg or recvmsg. */
static void
fd_msg_init(struct fd_msg *f)
{
	memset(f, 0, sizeof(*f));
	f->c = 'x';
	f->iov = (struct iovec){ .iov_base = &f->c, .iov_len = 1 };
	f->m = (struct msghdr){ .msg_iov = &f->iov, .msg_iovlen = 1,
	    .msg_control = f->ctl.b, .msg_controllen = sizeof(f->ctl.b) };
}

/* Send fd over u with SCM_RIGHTS. */
static void
send_fd(int u, int fd)
{
	struct fd_msg f;
	struct msghdr m;
	struct cmsghdr *cm;

	fd_msg_init(&f);
	m = f.m;
	cm = CMSG_FIRSTHDR(&m);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	if (sendmsg(u, &m, 0) != 1)
		fail_errno("sendmsg(SCM_RIGHTS)");
}

/* The descriptor received on u with SCM_RIGHTS. */
static int
recv_fd(int u)
{
	struct fd_msg f;
	struct msghdr m;
	struct cmsghdr *cm;
	int fd;

	fd_msg_init(&f);
	m = f.m;
	if (recvmsg(u, &m, 0) != 1)
		fail_errno("recvmsg(SCM_RIGHTS)");
	cm = CMSG_FIRSTHDR(&m);
	if (cm == NULL || cm->cmsg_type != SCM_RIGHTS)
		fail("no SCM_RIGHTS");
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

static void
do_scm(void)
{
	char out[MSG], in[MSG];
	int cli, srv, u[2], r;

	tcp_pair(AF_INET, &cli, &srv);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, u) != 0)
		fail_errno("socketpair");
	send_fd(u[0], cli);
	r = recv_fd(u[1]);
	pattern(out, MSG, 1);
	send_all(r, out, MSG);
	recv_all(srv, in, MSG);
	if (close(cli) != 0)
		fail_errno("close(%d)", cli);
	pattern(out, MSG, 2);
	send_all(r, out, MSG);
	recv_all(srv, in, MSG);
	if (memcmp(in, out, MSG) != 0)
		fail("the second message differs");
	close(r);
	if (recv(srv, in, MSG, 0) != 0)
		fail("no end of stream after the last close");
	close(srv);
	close(u[0]);
	close(u[1]);
}

/* A UDP socket of family af bound to loopback port 0, with the receive
 * options on; *ss and *len get its address. */
static int
udp_server(int af, struct sockaddr_storage *ss, socklen_t *len)
{
	int fd, on = 1;

	memset(ss, 0, sizeof(*ss));
	if (af == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		*len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		*len = sizeof(*sin6);
	}
	if ((fd = socket(af, SOCK_DGRAM, 0)) < 0)
		fail_errno("socket");
	if (af == AF_INET && (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on,
	    sizeof(on)) != 0 || setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &on,
	    sizeof(on)) != 0 || setsockopt(fd, IPPROTO_IP, IP_RECVTOS, &on,
	    sizeof(on)) != 0))
		fail_errno("setsockopt(IP_PKTINFO/IP_RECVTTL/IP_RECVTOS)");
	if (af == AF_INET6 && (setsockopt(fd, IPPROTO_IPV6,
	    IPV6_RECVPKTINFO, &on, sizeof(on)) != 0 || setsockopt(fd,
	    IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof(on)) != 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVTCLASS, &on,
	    sizeof(on)) != 0))
		fail_errno("setsockopt(IPV6_RECVPKTINFO/HOPLIMIT/TCLASS)");
	if (bind(fd, (struct sockaddr *)ss, *len) != 0 ||
	    getsockname(fd, (struct sockaddr *)ss, len) != 0)
		fail_errno("bind");
	set_timeouts(fd);
	return fd;
}

/* One datagram from a client to a UDP server of family af, received with
 * its control messages and answered from the address it came to. */
static void
pktinfo(int af)
{
	struct sockaddr_storage sa, from;
	socklen_t len;
	char buf[MSG], out[MSG];
	union {
		struct cmsghdr	h;
		char		b[256];
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr m = {
		.msg_name = &from, .msg_namelen = sizeof(from),
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.b, .msg_controllen = sizeof(ctl.b),
	};
	union {
		struct cmsghdr	h;
		char		b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} rep;
	struct cmsghdr *cm, *info = NULL;
	size_t dlen;
	int s, c;

	s = udp_server(af, &sa, &len);
	if ((c = socket(af, SOCK_DGRAM, 0)) < 0)
		fail_errno("socket");
	set_timeouts(c);
	pattern(out, MSG, 3);
	if (sendto(c, out, MSG, 0, (struct sockaddr *)&sa, len) != MSG)
		fail_errno("sendto");
	if (recvmsg(s, &m, 0) != MSG)
		fail_errno("recvmsg");
	for (cm = CMSG_FIRSTHDR(&m); cm != NULL; cm = CMSG_NXTHDR(&m, cm))
		if ((af == AF_INET && cm->cmsg_level == IPPROTO_IP &&
		    cm->cmsg_type == IP_PKTINFO) || (af == AF_INET6 &&
		    cm->cmsg_level == IPPROTO_IPV6 &&
		    cm->cmsg_type == IPV6_PKTINFO))
			info = cm;
	if (info == NULL)
		fail("no packet info in the control messages");
	/* The reply goes from the address the datagram came to: its packet
	 * info, less the interface for IPv4. */
	dlen = info->cmsg_len - CMSG_LEN(0);
	memset(&rep, 0, sizeof(rep));
	rep.h.cmsg_level = info->cmsg_level;
	rep.h.cmsg_type = info->cmsg_type;
	rep.h.cmsg_len = CMSG_LEN(dlen);
	memcpy(CMSG_DATA(&rep.h), CMSG_DATA(info), dlen);
	if (af == AF_INET)
		((struct in_pktinfo *)(void *)CMSG_DATA(&rep.h))->ipi_ifindex =
		    0;
	m.msg_control = rep.b;
	m.msg_controllen = CMSG_SPACE(dlen);
	if (sendmsg(s, &m, 0) != MSG)
		fail_errno("sendmsg with packet info");
	if (recv(c, buf, MSG, 0) != MSG || memcmp(buf, out, MSG) != 0)
		fail("no reply");
	close(c);
	close(s);
}

/* A datagram to a closed port of 127.0.0.1 from a socket with IP_RECVERR:
 * the ICMP error read from its error queue (an IP_RECVERR message). */
static void
recverr(void)
{
	struct sockaddr_storage sa;
	socklen_t len;
	char buf[MSG], ctl[256];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	struct pollfd p;
	int c, on = 1;

	/* A port that was just free: bound, then closed. */
	close(udp_server(AF_INET, &sa, &len));
	if ((c = socket(AF_INET, SOCK_DGRAM, 0)) < 0 ||
	    setsockopt(c, IPPROTO_IP, IP_RECVERR, &on, sizeof(on)) != 0)
		fail_errno("socket with IP_RECVERR");
	memset(buf, 'e', sizeof(buf));
	if (sendto(c, buf, MSG, 0, (struct sockaddr *)&sa, len) != MSG)
		fail_errno("sendto a closed port");
	p = (struct pollfd){ .fd = c, .events = 0 };
	if (poll(&p, 1, PROBE_IO_TIMEOUT * 1000) != 1 ||
	    !(p.revents & POLLERR))
		fail("no error queued for the closed port");
	if (recvmsg(c, &m, MSG_ERRQUEUE) != MSG)
		fail_errno("recvmsg(MSG_ERRQUEUE)");
	close(c);
}

/* Two listeners on one port, 127.0.0.1 and ::1: the port. */
static int
dual_listeners(int *l4, int *l6)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6,
	    .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int port, tries, on = 1;

	for (tries = 0; tries < 20; tries++) {
		*l4 = local_listener(AF_INET, &port);
		if ((*l6 = socket(AF_INET6, SOCK_STREAM, 0)) < 0)
			fail_errno("socket");
		setsockopt(*l6, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
		sin6.sin6_port = htons((uint16_t)port);
		if (bind(*l6, (struct sockaddr *)&sin6, sizeof(sin6)) == 0 &&
		    listen(*l6, 8) == 0)
			return port;
		close(*l6);
		close(*l4);
	}
	fail("no port free on both 127.0.0.1 and ::1");
}

static void
do_resolve(void)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char port[16], out[MSG], in[MSG];
	int l4, l6, fd, a, n = 0, e;

	snprintf(port, sizeof(port), "%d", dual_listeners(&l4, &l6));
	if ((e = getaddrinfo(NULL, port, &hints, &res)) != 0)
		fail("getaddrinfo: %s", gai_strerror(e));
	for (ai = res; ai != NULL; ai = ai->ai_next, n++) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype,
		    ai->ai_protocol)) < 0)
			fail_errno("socket");
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0)
			fail_errno("connect");
		if ((a = accept(ai->ai_family == AF_INET ? l4 : l6, NULL,
		    NULL)) < 0)
			fail_errno("accept");
		pattern(out, MSG, (unsigned long)n);
		send_all(fd, out, MSG);
		recv_all(a, in, MSG);
		close(a);
		close(fd);
	}
	freeaddrinfo(res);
	if (n < 2)
		fail("getaddrinfo gave %d addresses, not 2", n);
	close(l4);
	close(l6);
}

static void
do_raw(void)
{
	char out[MSG], in[MSG];
	int cli, srv;

	tcp_pair(AF_INET, &cli, &srv);
	pattern(out, MSG, 4);
	if (syscall(SYS_sendto, cli, out, MSG, 0, NULL, 0) != MSG)
		fail_errno("syscall(SYS_sendto)");
	recv_all(srv, in, MSG);
	if (syscall(SYS_close, cli) != 0)
		fail_errno("syscall(SYS_close)");
	if (send(cli, out, MSG, 0) != -1 || errno != EBADF)
		fail("send on a closed number did not fail with EBADF");
	close(srv);
}

int
main(int argc, char **argv)
{
	ssize_t n;

	probe_init("probe_serve");
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) < 0)
		fail_errno("readlink(/proc/self/exe)");
	self[n] = '\0';
	if (argc == 4 && strcmp(argv[1], "fork") == 0)
		do_fork(atoi(argv[2]), atoi(argv[3]));
	else if (argc == 2 && strcmp(argv[1], "handoff") == 0)
		do_handoff();
	else if (argc == 2 && strcmp(argv[1], "handed") == 0)
		do_handed();
	else if (argc == 2 && strcmp(argv[1], "scm") == 0)
		do_scm();
	else if (argc == 2 && strcmp(argv[1], "pktinfo") == 0) {
		pktinfo(AF_INET);
		pktinfo(AF_INET6);
		recverr();
	} else if (argc == 2 && strcmp(argv[1], "resolve") == 0)
		do_resolve();
	else if (argc == 2 && strcmp(argv[1], "raw") == 0)
		do_raw();
	else
		fail("usage: probe_serve fork N DEPTH | handoff | scm | "
		    "pktinfo | resolve | raw");
	if (argc != 2 || strcmp(argv[1], "handed") != 0)
		printf("probe_serve %s: ok\n", argv[1]);
	return 0;
}
