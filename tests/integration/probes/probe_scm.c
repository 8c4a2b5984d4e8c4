/*
 * probe_scm - descriptors passed with SCM_RIGHTS over AF_UNIX.
 *
 *	probe_scm fork|self|ctrunc
 *
 * fork: the parent connects a TCP socket to the echo server and passes it
 *   over a socketpair to a forked child, then closes its own copy; the
 *   child uses the received descriptor and reports back.
 * self: a TCP and a connected UDP socket go over an AF_UNIX connection
 *   made with socket()/connect() to this same process, in one message;
 *   the originals are closed and the received copies carry data.
 * ctrunc: two descriptors into room for one: MSG_CTRUNC, one arrives.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"

/* Send the n descriptors fds over sock with one byte of data. */
static void
send_fds(int sock, const int *fds, int n)
{
	char buf[CMSG_SPACE(sizeof(int) * 4)];
	struct iovec iov = { "F", 1 };
	struct msghdr m = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = buf, .msg_controllen = CMSG_SPACE(sizeof(int) *
		    (size_t)n),
	};
	struct cmsghdr *cm;

	memset(buf, 0, sizeof(buf));
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)n);
	if (sendmsg(sock, &m, 0) != 1)
		fail_errno("sendmsg of %d descriptors over fd %d", n, sock);
}

/* Receive up to room descriptors from sock into fds (close-on-exec);
 * how many came.  *flags gets msg_flags but MSG_CMSG_CLOEXEC. */
static int
recv_fds(int sock, int *fds, int room, int *flags)
{
	char buf[CMSG_SPACE(sizeof(int) * 4)], b;
	struct iovec iov = { &b, 1 };
	struct msghdr m = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = buf, .msg_controllen = CMSG_LEN(sizeof(int) *
		    (size_t)room),
	};
	struct cmsghdr *cm;
	int n = 0, i;

	if (recvmsg(sock, &m, MSG_CMSG_CLOEXEC) != 1 || b != 'F')
		fail_errno("recvmsg of descriptors on fd %d", sock);
	*flags = m.msg_flags & ~MSG_CMSG_CLOEXEC;
	for (cm = CMSG_FIRSTHDR(&m); cm != NULL; cm = CMSG_NXTHDR(&m, cm)) {
		if (cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SCM_RIGHTS)
			fail("recvmsg: an unexpected control message");
		n = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		memcpy(fds, CMSG_DATA(cm), sizeof(int) * (size_t)n);
	}
	for (i = 0; i < n; i++)
		if (!(fcntl(fds[i], F_GETFD) & FD_CLOEXEC))
			fail("fd %d received with MSG_CMSG_CLOEXEC is not "
			    "close-on-exec", fds[i]);
	return n;
}

/* The socket type of fd, checked to be family/type. */
static void
expect_socket(int fd, int family, int type)
{
	socklen_t len = sizeof(int);
	int d = -1, t = -1;

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &d, &len) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &t, &len) != 0)
		fail_errno("getsockopt(%d, SO_DOMAIN/SO_TYPE)", fd);
	if (d != family || t != type)
		fail("received fd %d is family %d type %d, want %d %d", fd, d,
		    t, family, type);
}

static void
scm_fork(void)
{
	struct peer p;
	int sv[2], tcp, got[4], n, fl;
	char ack = 0;
	pid_t pid;

	peer_get(T_TCP4, &p);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		fail_errno("socketpair");
	set_timeouts(sv[0]);
	set_timeouts(sv[1]);
	if ((pid = fork()) < 0)
		fail_errno("fork");
	if (pid == 0) {
		close(sv[0]);
		if ((n = recv_fds(sv[1], got, 1, &fl)) != 1)
			fail("child: received %d descriptors, want 1", n);
		expect_socket(got[0], AF_INET, SOCK_STREAM);
		round_trip(got[0], SOCK_STREAM, 3000, 41);
		round_trip(got[0], SOCK_STREAM, 10, 42);
		close(got[0]);
		if (send(sv[1], "K", 1, 0) != 1)
			fail_errno("child: send the answer");
		_exit(0);
	}
	close(sv[1]);
	tcp = peer_socket(&p, 0);
	round_trip(tcp, SOCK_STREAM, 100, 40);
	send_fds(sv[0], &tcp, 1);
	close(tcp);
	if (recv(sv[0], &ack, 1, 0) != 1 || ack != 'K')
		fail_errno("no answer from the child");
	close(sv[0]);
	printf("fork: TCP fd %d passed to the child, used there\n", tcp);
	if (waitpid(pid, &n, 0) != pid || !WIFEXITED(n) ||
	    WEXITSTATUS(n) != 0)
		fail("the child failed (status 0x%x)", (unsigned)n);
}

/* An AF_UNIX stream connection made with socket() and connect(). */
static void
unix_conn(int *cli, int *srv)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t len = sizeof(sun);
	int l;

	if ((l = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    bind(l, (struct sockaddr *)&sun, sizeof(sa_family_t)) != 0 ||
	    listen(l, 1) != 0 ||
	    getsockname(l, (struct sockaddr *)&sun, &len) != 0)
		fail_errno("an AF_UNIX listener");
	if ((*cli = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    connect(*cli, (struct sockaddr *)&sun, len) != 0)
		fail_errno("connect to the AF_UNIX listener");
	if ((*srv = accept(l, NULL, NULL)) < 0)
		fail_errno("accept");
	set_timeouts(*cli);
	set_timeouts(*srv);
	close(l);
}

static void
scm_self(void)
{
	struct peer pt, pu;
	int c, s, fds[2], got[4], n, fl;

	peer_get(T_TCP4, &pt);
	peer_get(T_UDP4C, &pu);
	unix_conn(&c, &s);
	fds[0] = peer_socket(&pt, 0);
	fds[1] = peer_socket(&pu, 0);
	round_trip(fds[0], SOCK_STREAM, 100, 50);
	round_trip(fds[1], SOCK_DGRAM, 100, 51);
	send_fds(c, fds, 2);
	if ((n = recv_fds(s, got, 2, &fl)) != 2 || fl != 0)
		fail("received %d descriptors with msg_flags 0x%x, want 2, 0",
		    n, (unsigned)fl);
	close(fds[0]);
	close(fds[1]);
	expect_socket(got[0], AF_INET, SOCK_STREAM);
	expect_socket(got[1], AF_INET, SOCK_DGRAM);
	round_trip(got[0], SOCK_STREAM, 5000, 52);
	round_trip(got[1], SOCK_DGRAM, 1000, 53);
	printf("self: fds %d, %d sent, received as %d, %d; they work\n",
	    fds[0], fds[1], got[0], got[1]);
	close(got[0]);
	close(got[1]);
	close(c);
	close(s);
}

static void
scm_ctrunc(void)
{
	struct peer pt;
	int c, s, fds[2], got[4], n, fl;

	peer_get(T_TCP4, &pt);
	unix_conn(&c, &s);
	fds[0] = peer_socket(&pt, 0);
	fds[1] = peer_socket(&pt, 0);
	send_fds(c, fds, 2);
	close(fds[1]);
	if ((n = recv_fds(s, got, 1, &fl)) != 1 || !(fl & MSG_CTRUNC))
		fail("2 descriptors into room for 1: got %d, msg_flags 0x%x; "
		    "want 1 and MSG_CTRUNC", n, (unsigned)fl);
	close(fds[0]);
	round_trip(got[0], SOCK_STREAM, 700, 54);
	printf("ctrunc: 2 sent, 1 received as fd %d, MSG_CTRUNC\n", got[0]);
	close(got[0]);
	close(c);
	close(s);
}

int
main(int argc, char **argv)
{
	const char *w = argc == 2 ? argv[1] : "";

	probe_init("probe_scm");
	trace_begin();
	if (strcmp(w, "fork") == 0)
		scm_fork();
	else if (strcmp(w, "self") == 0)
		scm_self();
	else if (strcmp(w, "ctrunc") == 0)
		scm_ctrunc();
	else
		fail("usage: probe_scm fork|self|ctrunc");
	trace_mark("probe:end");
	return 0;
}
