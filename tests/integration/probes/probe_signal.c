/*
 * probe_signal - a signal handler that writes to a socket and closes a
 * duplicate while the main thread is busy in socket calls.
 *
 *	probe_signal [SECONDS]
 *
 * A helper thread sends the main thread SIGUSR1 every millisecond for
 * SECONDS (default 2).  The handler write()s one byte to a TCP socket and
 * close()s the next of NDUP duplicates of another.  The main thread
 * meanwhile opens, uses, duplicates and closes sockets in a loop (its
 * calls restart or retry on EINTR).  Nothing may deadlock (the watchdog
 * bounds the run); the peer must receive exactly one byte per handler
 * run; every close in the handler must succeed; the duplicated socket
 * must still work.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"

#define NDUP	256
#define DUPBASE	300

static int wfd;				/* the handler writes here */
static int dups[NDUP];			/* ... and closes these */
static volatile sig_atomic_t nsig, nclosed, nbad;
static _Atomic int running = 1;	/* another thread clears it */
static pthread_t main_thread;
static long seconds = 2;

static void
on_usr1(int sig)
{
	int saved = errno;

	(void)sig;
	if (write(wfd, "s", 1) != 1)
		nbad++;
	if (nclosed < NDUP) {
		if (close(dups[nclosed]) != 0)
			nbad++;
		nclosed++;
	}
	nsig++;
	errno = saved;
}

static void *
kicker(void *arg)
{
	struct timespec ms = { .tv_nsec = 1000000 };
	long i, n = seconds * 1000;

	(void)arg;
	for (i = 0; i < n; i++) {
		pthread_kill(main_thread, SIGUSR1);
		nanosleep(&ms, NULL);
	}
	running = 0;
	return NULL;
}

/* send all of buf, retrying on EINTR. */
static void
send_eintr(int fd, const char *buf, size_t n)
{
	ssize_t k;

	while (n > 0) {
		if ((k = send(fd, buf, n, 0)) < 0) {
			if (errno == EINTR)
				continue;
			fail_errno("send(%d)", fd);
		}
		buf += k;
		n -= (size_t)k;
	}
}

/* receive exactly n bytes, retrying on EINTR (bounded by the watchdog). */
static void
recv_eintr(int fd, char *buf, size_t n)
{
	ssize_t k;

	while (n > 0) {
		if ((k = recv(fd, buf, n, 0)) < 0) {
			if (errno == EINTR)
				continue;
			fail_errno("recv(%d)", fd);
		}
		if (k == 0)
			fail("recv(%d): end of stream", fd);
		buf += k;
		n -= (size_t)k;
	}
}

/* A blocking stream socket connected to p, without timeouts (a timed
 * socket call is not restarted after a handler), the connect done with
 * the signal blocked. */
static int
busy_socket(const struct peer *p)
{
	sigset_t s, old;
	int fd;

	if ((fd = socket(p->family, SOCK_STREAM, 0)) < 0)
		fail_errno("socket");
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &s, &old);
	if (connect(fd, (const struct sockaddr *)&p->addr, p->len) != 0)
		fail_errno("connect(%d)", fd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return fd;
}

static void
busy_echo(int fd, long i)
{
	char out[1500], in[1500];
	size_t n = 1 + (size_t)(i * 37 % 1499);

	pattern(out, n, (unsigned long)i);
	send_eintr(fd, out, n);
	recv_eintr(fd, in, n);
	if (memcmp(in, out, n) != 0)
		fail("iteration %ld: the echo differs", i);
}

/* The main thread's loop; the number of iterations. */
static long
busy(const struct peer *pt, const struct peer *pu)
{
	long i;
	int fd, d;

	for (i = 0; running; i++) {
		fd = busy_socket((i & 1) ? pu : pt);
		busy_echo(fd, i);
		if ((d = dup(fd)) < 0)
			fail_errno("dup(%d)", fd);
		busy_echo(d, i + 1);
		if (close(fd) != 0 || close(d) != 0)
			fail_errno("close(%d), close(%d)", fd, d);
	}
	return i;
}

/* Read the handler's bytes on rfd: exactly nsig of them. */
static void
count_bytes(int rfd)
{
	char b[4096];
	long got = 0;
	ssize_t k;

	while (got < nsig) {
		if ((k = recv(rfd, b, sizeof(b), 0)) <= 0)
			fail_errno("reading the handler's bytes after %ld of "
			    "%ld", got, (long)nsig);
		got += k;
	}
	if (recv(rfd, b, sizeof(b), MSG_DONTWAIT) > 0)
		fail("the peer has more bytes than the %ld handler runs",
		    (long)nsig);
}

int
main(int argc, char **argv)
{
	struct sigaction sa;
	struct peer pt, pu;
	pthread_t th;
	int rfd, shared, i, rc;
	long iters;

	probe_init("probe_signal");
	if (argc > 1 && ((seconds = strtol(argv[1], NULL, 10)) <= 0 ||
	    seconds > 10))
		seconds = 2;
	peer_get(T_TCP4, &pt);
	peer_get(T_UNIX_STREAM, &pu);
	tcp_pair(AF_INET, &wfd, &rfd);
	shared = peer_socket(&pt, 0);
	for (i = 0; i < NDUP; i++)
		if ((dups[i] = fcntl(shared, F_DUPFD, DUPBASE)) < 0)
			fail_errno("F_DUPFD(%d)", shared);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	main_thread = pthread_self();
	if ((rc = pthread_create(&th, NULL, kicker, NULL)) != 0) {
		errno = rc;
		fail_errno("pthread_create");
	}
	iters = busy(&pt, &pu);
	pthread_join(th, NULL);
	signal(SIGUSR1, SIG_IGN);
	if (nsig == 0 || iters == 0)
		fail("%ld handler runs, %ld iterations", (long)nsig, iters);
	if (nbad != 0)
		fail("%ld write or close calls failed in the handler",
		    (long)nbad);
	count_bytes(rfd);
	for (i = 0; i < nclosed; i++)
		if (fcntl(dups[i], F_GETFD) != -1 || errno != EBADF)
			fail("fd %d, closed in the handler, is open", dups[i]);
	round_trip(shared, SOCK_STREAM, 1000, 9);
	for (i = nclosed; i < NDUP; i++)
		round_trip(dups[i], SOCK_STREAM, 10, (unsigned long)i);
	fprintf(stderr, "probe_signal: %ld handler runs, %ld iterations\n",
	    (long)nsig, iters);
	printf("signal: every handler write arrived, every close held, no "
	    "deadlock\n");
	return 0;
}
