/*
 * probe_churn - threads make and close sockets as fast as they can while
 * other threads call on whatever descriptor was last made.
 *
 *	probe_churn
 *
 * NMAKER threads each make ROUNDS sockets (UDP and AF_UNIX datagram, so
 * no TIME_WAIT), with socket()'s flag bits on some, a dup() and a close of
 * the original on every other one, a call that goes through the chain
 * (setsockopt, getsockopt SO_TYPE) on every third, and close everything
 * they made.  NUSER threads meanwhile call getsockopt(SO_TYPE) and ioctl
 * (FIONREAD), which change nothing, on the descriptors the makers last
 * published, which are being closed and reused under them.  Under
 * WSPSHIM_MANAGE=all that races the first call through the SPI (which
 * makes a base socket) against the lock-free close.
 *
 * Checks: every socket(), dup() and close() of a maker succeeds, with the
 * flags asked for; the users never crash; afterwards as many descriptors
 * are open as before, and a pipe opened first is still open (a close of a
 * wrong number would show up as EBADF in a maker or a missing pipe).
 * Prints one line that does not depend on timing.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "probe.h"

#define NMAKER	4
#define NUSER	3
#define ROUNDS	3000

static _Atomic int published[NMAKER];
static _Atomic int makers_left = NMAKER;

/* Close fd, which this thread made and owns: it must succeed. */
static void
must_close(int id, int fd)
{
	if (close(fd) != 0)
		fail_errno("maker %d: close(%d)", id, fd);
}

static void *
maker(void *arg)
{
	int id = (int)(long)arg, i, fd, d, v, extra;
	socklen_t len;

	for (i = 0; i < ROUNDS; i++) {
		extra = (i % 4 == 1 ? SOCK_CLOEXEC : 0) |
		    (i % 4 == 2 ? SOCK_NONBLOCK : 0);
		fd = socket(i % 2 ? AF_INET : AF_UNIX, SOCK_DGRAM | extra, 0);
		if (fd < 0)
			fail_errno("maker %d: socket", id);
		if (((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0) !=
		    ((extra & SOCK_CLOEXEC) != 0) ||
		    ((fcntl(fd, F_GETFL) & O_NONBLOCK) != 0) !=
		    ((extra & SOCK_NONBLOCK) != 0))
			fail("maker %d: socket flags of %d", id, fd);
		atomic_store(&published[id], fd);
		if (i % 3 == 0) {
			v = 65536;
			len = sizeof(v);
			if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v,
			    sizeof(v)) != 0 || getsockopt(fd, SOL_SOCKET,
			    SO_TYPE, &v, &len) != 0 || v != SOCK_DGRAM)
				fail_errno("maker %d: socket options", id);
		}
		if (i % 2 == 0) {
			if ((d = dup(fd)) < 0)
				fail_errno("maker %d: dup(%d)", id, fd);
			atomic_store(&published[id], d);
			must_close(id, fd);
			fd = d;
		}
		must_close(id, fd);
	}
	atomic_store(&published[id], -1);
	atomic_fetch_sub(&makers_left, 1);
	return NULL;
}

static void *
user(void *arg)
{
	int i = (int)(long)arg, fd, v;
	socklen_t len;

	while (atomic_load(&makers_left) > 0) {
		fd = atomic_load(&published[i++ % NMAKER]);
		if (fd < 0)
			continue;
		/* Results do not matter: the number may be anything now. */
		len = sizeof(v);
		(void)getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len);
		(void)ioctl(fd, FIONREAD, &v);
	}
	return NULL;
}

int
main(void)
{
	pthread_t t[NMAKER + NUSER];
	int guard[2], before, i;

	probe_init("probe_churn");
	if (pipe(guard) != 0)
		fail_errno("pipe");
	/* One socket of each kind first, through its chain (getsockopt), so
	 * that what a layer opens once as it starts (trace's out= file) is
	 * open before the count: only what the churn leaves behind counts. */
	for (i = 0; i < 2; i++) {
		int fd = socket(i ? AF_INET : AF_UNIX, SOCK_DGRAM, 0), v;
		socklen_t len = sizeof(v);

		if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) != 0
		    || close(fd) != 0)
			fail_errno("a first socket");
	}
	before = fd_count();
	for (i = 0; i < NMAKER; i++)
		atomic_store(&published[i], -1);
	for (i = 0; i < NMAKER; i++)
		if (pthread_create(&t[i], NULL, maker, (void *)(long)i) != 0)
			fail("pthread_create");
	for (i = 0; i < NUSER; i++)
		if (pthread_create(&t[NMAKER + i], NULL, user,
		    (void *)(long)i) != 0)
			fail("pthread_create");
	for (i = 0; i < NMAKER + NUSER; i++)
		pthread_join(t[i], NULL);
	if (fd_count() != before)
		fail("%d descriptors open after, %d before", fd_count(),
		    before);
	if (fcntl(guard[0], F_GETFD) != 0 || fcntl(guard[1], F_GETFD) != 0)
		fail("the guard pipe was closed");
	printf("%d makers x %d sockets: all made and closed, nothing "
	    "leaked\n", NMAKER, ROUNDS);
	return 0;
}
