/*
 * probe_threads - 16 threads open, use, duplicate and close sockets at
 * once; or fork while threads do.
 *
 *	probe_threads [SECONDS]
 *	probe_threads fork
 *
 * Each thread loops for SECONDS (default 3) or MAXITER iterations: it
 * opens a socket of the next transport, sends the echo server a payload
 * unique to (thread, iteration), sometimes through a dup()ed descriptor
 * after closing the original, and checks that exactly its own bytes come
 * back.  Descriptor numbers are reused between threads all the time, so a
 * stale or shared table entry shows up as lost or foreign data.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"

#define NTHREAD	16
#define MAXITER	3000
#define NFORK	200
#define NFORKER	4

/* TCP is a small share: each connection leaves a TIME_WAIT behind. */
static const enum transport rota[] = {
	T_TCP4, T_UNIX_STREAM, T_UDP4C, T_UNIX_SEQPACKET, T_UNIX_DGRAM,
	T_UNIX_STREAM, T_TCP6, T_UNIX_STREAM, T_UDP6C, T_UNIX_SEQPACKET,
	T_UNIX_DGRAM, T_UNIX_STREAM,
};

static struct peer peers[T_COUNT];
static struct timespec deadline;
static long counts[NTHREAD];
static _Atomic int stop;		/* the forking thread sets it */

static int
expired(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline.tv_sec || (now.tv_sec ==
	    deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec);
}

/* One iteration of thread id: a fresh socket, a round trip, maybe through
 * a duplicate, then close. */
static void
iteration(int id, long i)
{
	const struct peer *p = &peers[rota[(size_t)(i + id) %
	    (sizeof(rota) / sizeof(rota[0]))]];
	size_t n = 1 + (size_t)((i * 7919 + id * 104729) % 3000);
	unsigned long seed = (unsigned long)id * 1000003UL + (unsigned long)i;
	int fd, d;

	fd = peer_socket(p, (i & 1) ? SOCK_CLOEXEC : 0);
	round_trip(fd, p->type, n, seed);
	switch (i % 4) {
	case 1:
		if ((d = dup(fd)) < 0 || close(fd) != 0)
			fail_errno("thread %d: dup(%d) and close", id, fd);
		round_trip(d, p->type, n, seed + 1);
		fd = d;
		break;
	case 2:
		if ((d = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0)
			fail_errno("thread %d: F_DUPFD_CLOEXEC(%d)", id, fd);
		round_trip(d, p->type, n, seed + 2);
		round_trip(fd, p->type, n, seed + 3);
		if (close(d) != 0)
			fail_errno("thread %d: close(%d)", id, d);
		break;
	}
	if (close(fd) != 0)
		fail_errno("thread %d: close(%d)", id, fd);
}

static void *
worker(void *arg)
{
	int id = (int)(long)arg;
	long i;

	/* At least one iteration, however late the thread got to run. */
	for (i = 0; i < MAXITER && (i == 0 || !expired()) && !stop; i++)
		iteration(id, i);
	counts[id] = i;
	return NULL;
}

/* The child of a fork taken while the workers run. */
static void
child(int n)
{
	int fd, d;

	probe_name = "probe_threads fork child";
	alarm(PROBE_WATCHDOG);
	fd = peer_socket(&peers[n % 2 ? T_TCP4 : T_UNIX_STREAM], 0);
	round_trip(fd, SOCK_STREAM, 1000, (unsigned long)n);
	if ((d = dup(fd)) < 0 || close(fd) != 0)
		_exit(2);
	round_trip(d, SOCK_STREAM, 100, (unsigned long)n + 1);
	_exit(close(d) == 0 ? 0 : 3);
}

/* fork NFORK times while NFORKER threads loop; 0 or the failed child. */
static void
forks(void)
{
	pthread_t th[NFORKER];
	pid_t pid;
	int t, i, status;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += 20;
	for (t = 0; t < NFORKER; t++)
		if (pthread_create(&th[t], NULL, worker, (void *)(long)t) != 0)
			fail("pthread_create");
	for (i = 0; i < NFORK; i++) {
		if ((pid = fork()) < 0)
			fail_errno("fork");
		if (pid == 0)
			child(i);
		if (waitpid(pid, &status, 0) != pid)
			fail_errno("waitpid");
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fail("fork child %d failed (status 0x%x)", i,
			    (unsigned)status);
	}
	stop = 1;
	for (t = 0; t < NFORKER; t++)
		pthread_join(th[t], NULL);
	printf("%d forks while %d threads used sockets: every child "
	    "worked\n", NFORK, NFORKER);
}

int
main(int argc, char **argv)
{
	pthread_t th[NTHREAD];
	long secs = argc > 1 ? strtol(argv[1], NULL, 10) : 3, total = 0;
	int t, rc;

	probe_init("probe_threads");
	for (t = 0; t < T_COUNT; t++)
		peer_get((enum transport)t, &peers[t]);
	if (argc > 1 && strcmp(argv[1], "fork") == 0) {
		forks();
		return 0;
	}
	if (secs <= 0 || secs > 20)
		secs = 3;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += secs;
	for (t = 0; t < NTHREAD; t++)
		if ((rc = pthread_create(&th[t], NULL, worker,
		    (void *)(long)t)) != 0) {
			errno = rc;
			fail_errno("pthread_create");
		}
	for (t = 0; t < NTHREAD; t++) {
		pthread_join(th[t], NULL);
		if (counts[t] == 0)
			fail("thread %d made no round trip", t);
		total += counts[t];
	}
	fprintf(stderr, "probe_threads: %ld iterations in %lds\n", total,
	    secs);
	printf("%d threads: every round trip intact\n", NTHREAD);
	return 0;
}
