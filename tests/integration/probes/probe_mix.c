/*
 * probe_mix - 16 threads mix every call that changes the descriptor table
 * with data calls and fork+exec, for a bounded time.
 *
 *	probe_mix [SECONDS]
 *	probe_mix child		(what the exec'd children run)
 *
 * Each thread loops for SECONDS (default 2): it makes a socket (a UDP
 * socket connected to itself, or an AF_UNIX stream pair from
 * socketpair), sends a payload unique to (thread, iteration), moves the
 * socket to another number by one of dup, dup2 onto a socket of its own
 * (which closes that one), dup3 with O_CLOEXEC or F_DUPFD, closes the
 * original, receives through the new number and checks it got exactly
 * its own bytes, then closes everything.  Every 16th iteration of the
 * first four threads forks, and the child execs this program ("child"),
 * which makes a socket and round-trips through it; its exit status must
 * be 0.  No thread touches another's descriptors, but the numbers are
 * reused between threads all the time, so a stale table entry shows up as
 * foreign data, EBADF or a leaked descriptor.
 *
 * Checks: every call succeeds and every payload comes back intact; as
 * many descriptors are open afterwards as before (counted after one
 * round of "child" has started the chains), and a pipe opened first is
 * still open.  Prints one line that does not depend on timing.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"

#define NTHREAD		16
#define NFORKER		4	/* threads that also fork+exec */
#define FORK_EVERY	16	/* iterations */
#define MAXITER		20000	/* per thread, whatever the time */

static struct timespec deadline;
static char self_exe[4096];

/* Whether the deadline has passed. */
static int
expired(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline.tv_sec || (now.tv_sec ==
	    deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec);
}

/* A UDP socket on 127.0.0.1 connected to itself, with timeouts. */
static int
udp_self(int id)
{
	struct sockaddr_in a = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	socklen_t len = sizeof(a);
	int fd;

	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0)
		fail_errno("thread %d: socket", id);
	set_timeouts(fd);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0 ||
	    connect(fd, (struct sockaddr *)&a, len) != 0)
		fail_errno("thread %d: bind/connect to itself", id);
	return fd;
}

/* Close fd, which this thread owns: it must succeed. */
static void
must_close(int id, int fd)
{
	if (close(fd) != 0)
		fail_errno("thread %d: close(%d)", id, fd);
}

/* fd moved to another number by way (0 dup, 1 dup2 onto a socket of this
 * thread's, 2 dup3 O_CLOEXEC, 3 F_DUPFD), the original closed: the new
 * number. */
static int
move(int id, int fd, int way)
{
	int d, other;

	switch (way) {
	case 0:
		d = dup(fd);
		break;
	case 1:
		if ((other = socket(AF_UNIX, SOCK_DGRAM, 0)) < 0)
			fail_errno("thread %d: socket", id);
		d = dup2(fd, other);
		if (d >= 0 && d != other)
			fail("thread %d: dup2 gave %d, not %d", id, d, other);
		break;
	case 2:
		if ((other = socket(AF_UNIX, SOCK_DGRAM, 0)) < 0)
			fail_errno("thread %d: socket", id);
		d = dup3(fd, other, O_CLOEXEC);
		if (d >= 0 && fcntl(d, F_GETFD) != FD_CLOEXEC)
			fail("thread %d: dup3 lost O_CLOEXEC", id);
		break;
	default:
		d = fcntl(fd, F_DUPFD, 3);
		break;
	}
	if (d < 0)
		fail_errno("thread %d: move %d by way %d", id, fd, way);
	must_close(id, fd);
	return d;
}

/* Send a payload unique to (id, i) on x, read it back on y. */
static void
check_path(int id, long i, int x, int y)
{
	char out[64], in[64];
	ssize_t n, len;

	len = snprintf(out, sizeof(out), "thread %d iteration %ld", id, i);
	if ((n = send(x, out, (size_t)len, MSG_NOSIGNAL)) != len)
		fail_errno("thread %d: send %zd of %zd", id, n, len);
	recv_all(y, in, (size_t)len);
	if (memcmp(in, out, (size_t)len) != 0)
		fail("thread %d: sent \"%s\", got \"%.*s\"", id, out,
		    (int)len, in);
}

/* Fork, exec this program as "child", and wait: it must exit 0. */
static void
fork_exec(int id)
{
	char *argv[] = { self_exe, "child", NULL };
	pid_t pid;
	int st;

	if ((pid = fork()) < 0)
		fail_errno("thread %d: fork", id);
	if (pid == 0) {
		execv(self_exe, argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			fail_errno("thread %d: waitpid", id);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail("thread %d: the exec'd child ended with status %#x", id,
		    st);
}

static void *
mixer(void *arg)
{
	int id = (int)(long)arg, fd, pair[2];
	long i;

	for (i = 0; i < MAXITER && !expired(); i++) {
		if (i % 2 == 0) {
			fd = udp_self(id);
			/* The payload is queued on the socket, then read
			 * through the new number. */
			check_path(id, i, fd, fd);
			fd = move(id, fd, (int)(i / 2 % 4));
			check_path(id, i, fd, fd);
			must_close(id, fd);
		} else {
			if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0)
				fail_errno("thread %d: socketpair", id);
			set_timeouts(pair[0]);
			set_timeouts(pair[1]);
			pair[0] = move(id, pair[0], (int)(i / 2 % 4));
			check_path(id, i, pair[0], pair[1]);
			check_path(id, i, pair[1], pair[0]);
			must_close(id, pair[0]);
			must_close(id, pair[1]);
		}
		if (id < NFORKER && i % FORK_EVERY == 0)
			fork_exec(id);
	}
	return NULL;
}

/* The exec'd child: a UDP socket, a round trip through a duplicate made
 * by dup2 onto an AF_UNIX datagram socket; an AF_UNIX stream pair. */
static int
child(void)
{
	int fd = udp_self(-1), pair[2];

	check_path(-1, 0, fd, fd);
	fd = move(-1, fd, 1);
	check_path(-1, 1, fd, fd);
	must_close(-1, fd);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0)
		fail_errno("child: socketpair");
	set_timeouts(pair[0]);
	check_path(-1, 2, pair[1], pair[0]);
	must_close(-1, pair[0]);
	must_close(-1, pair[1]);
	return 0;
}

int
main(int argc, char **argv)
{
	pthread_t t[NTHREAD];
	int guard[2], before, i, secs;
	ssize_t n;

	probe_init("probe_mix");
	if (argc > 1 && strcmp(argv[1], "child") == 0)
		return child();
	secs = argc > 1 ? atoi(argv[1]) : 2;
	if (secs <= 0 || secs > 20)
		fail("bad SECONDS: %s", argv[1]);
	n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	if (n <= 0)
		fail_errno("readlink /proc/self/exe");
	self_exe[n] = '\0';
	if (pipe(guard) != 0)
		fail_errno("pipe");
	/* Start the chains first: what a layer opens once per process (a
	 * trace or stats file) is not a leak. */
	child();
	before = fd_count();
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += secs;
	for (i = 0; i < NTHREAD; i++)
		if (pthread_create(&t[i], NULL, mixer, (void *)(long)i) != 0)
			fail("pthread_create");
	for (i = 0; i < NTHREAD; i++)
		pthread_join(t[i], NULL);
	if (fd_count() != before)
		fail("%d descriptors open after, %d before", fd_count(),
		    before);
	if (fcntl(guard[0], F_GETFD) != 0 || fcntl(guard[1], F_GETFD) != 0)
		fail("the guard pipe was closed");
	printf("%d threads: socket, socketpair, dup, dup2, dup3, F_DUPFD, "
	    "close, send, recv and fork+exec: all checked, nothing leaked\n",
	    NTHREAD);
	return 0;
}
