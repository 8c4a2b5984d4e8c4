/*
 * probe_sigfd - a signal handler's socket call must not steer the call it
 * interrupted to another descriptor.
 *
 *	probe_sigfd [SECONDS]
 *
 * The main thread sends one-byte datagrams as fast as it can on a dup()
 * of one AF_UNIX datagram socket ("m"); a helper thread interrupts it with
 * SIGUSR1 as often as it can, and the handler sends "h" on another socket.
 * Both threads run at once on different CPUs, so the signal lands at any
 * instruction of the main thread's send, including the middle of the
 * shim's own bookkeeping for it.  Every "m" must arrive at the first
 * socket's peer and every "h" at the second's, none of either anywhere
 * else, and the counts must match what was sent.  Runs for SECONDS
 * (default 2); the transcript has no counts, so it is the same every run.
 */
#include <errno.h>
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

static int hfd;				/* the handler sends here */
static volatile sig_atomic_t nh, nhbad;
static _Atomic int running = 1;	/* another thread clears it */
static pthread_t main_thread;
static long seconds = 2;

static void
on_usr1(int sig)
{
	int saved = errno;

	(void)sig;
	if (send(hfd, "h", 1, MSG_DONTWAIT) == 1)
		nh++;
	else if (errno != EAGAIN)
		nhbad++;
	errno = saved;
}

static void *
kicker(void *arg)
{
	struct timespec end, now;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += seconds;
	do {
		pthread_kill(main_thread, SIGUSR1);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec < end.tv_sec ||
	    (now.tv_sec == end.tv_sec && now.tv_nsec < end.tv_nsec));
	running = 0;
	return NULL;
}

/* Read every datagram waiting on fd; the count, each checked to be c. */
static long
drain(int fd, char c, const char *what)
{
	char b[16];
	long n = 0;
	ssize_t k;

	while ((k = recv(fd, b, sizeof(b), MSG_DONTWAIT)) >= 0) {
		if (k != 1 || b[0] != c)
			fail("%s: a datagram of %zd bytes starting '%c' "
			    "(another socket's data)", what, k,
			    k > 0 ? b[0] : '?');
		n++;
	}
	if (errno != EAGAIN && errno != EINTR)
		fail_errno("recv (%s)", what);
	return n;
}

int
main(int argc, char **argv)
{
	struct sigaction sa;
	sigset_t usr1;
	pthread_t th;
	long nm = 0, gotm = 0, goth = 0, iters = 0;
	int m[2], h[2], d, rc;

	probe_init("probe_sigfd");
	if (argc > 1 && ((seconds = strtol(argv[1], NULL, 10)) <= 0 ||
	    seconds > 10))
		seconds = 2;
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, m) != 0 ||
	    socketpair(AF_UNIX, SOCK_DGRAM, 0, h) != 0)
		fail_errno("socketpair");
	hfd = h[0];
	/* A dup, so that the descriptor the call names is not the socket's
	 * first one: the shim must reach the kernel on exactly this one. */
	if ((d = dup(m[0])) < 0)
		fail_errno("dup");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	main_thread = pthread_self();
	if ((rc = pthread_create(&th, NULL, kicker, NULL)) != 0) {
		errno = rc;
		fail_errno("pthread_create");
	}
	while (running) {
		if (send(d, "m", 1, MSG_DONTWAIT) == 1)
			nm++;
		else if (errno != EAGAIN && errno != EINTR)
			fail_errno("send(%d)", d);
		/* Drain with the signal blocked: only the sends race it. */
		if (++iters % 32 == 0) {
			pthread_sigmask(SIG_BLOCK, &usr1, NULL);
			gotm += drain(m[1], 'm', "the main socket's peer");
			goth += drain(h[1], 'h', "the handler socket's peer");
			pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
		}
	}
	pthread_join(th, NULL);
	signal(SIGUSR1, SIG_IGN);
	gotm += drain(m[1], 'm', "the main socket's peer");
	goth += drain(h[1], 'h', "the handler socket's peer");
	if (nhbad != 0)
		fail("%ld handler sends failed", (long)nhbad);
	if (gotm != nm || goth != nh)
		fail("sent %ld and %ld, received %ld and %ld", nm, (long)nh,
		    gotm, goth);
	if (nm == 0 || nh == 0)
		fail("%ld sends, %ld handler sends: nothing raced", nm,
		    (long)nh);
	fprintf(stderr, "probe_sigfd: %ld sends, %ld handler sends\n", nm,
	    (long)nh);
	printf("sigfd: every datagram reached the socket it was sent on\n");
	return 0;
}
