/*
 * ovlbench.c - throughput of 64 KiB TCP sends over loopback, three ways,
 * for comparing the overlapped engine with what it is built on (bench/run
 * drives it):
 *
 *	ovlbench blocking|ovl|uring INFLIGHT MIB
 *
 * blocking: send() of each 64 KiB piece in turn (INFLIGHT is ignored);
 * ovl: WSASend on a WSA_FLAG_OVERLAPPED socket with INFLIGHT requests
 *   posted, each reposted once WSAGetOverlappedResult says it is done,
 *   through whatever chain the environment sets up (it links
 *   libwspshim.so);
 * uring: a plain liburing program doing the same: INFLIGHT sends in the
 *   ring (MSG_WAITALL, so each moves its whole piece), each resubmitted
 *   from its completion.
 * A thread receives with blocking recv() and checks the byte count.
 * Prints "MODE INFLIGHT MB/s CPU-ms/GiB": the wall-clock throughput and
 * the CPU time of every thread of the process per GiB moved.
 */
#include <arpa/inet.h>
#include <err.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <wspshim/winsock2.h>

#define PIECE		(64 * 1024)
#define MAX_INFLIGHT	256

static size_t total;
static unsigned char piece[MAX_INFLIGHT][PIECE];

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds (user and system, every thread) in r. */
static double
cpu_s(const struct rusage *r)
{
	return (double)r->ru_utime.tv_sec + (double)r->ru_utime.tv_usec / 1e6 +
	    (double)r->ru_stime.tv_sec + (double)r->ru_stime.tv_usec / 1e6;
}

/* The receiving side: everything the sender sends, counted. */
/* Nothing: the calling thread runs on CPU cpu only (when there are two:
 * sender and receiver apart, each where the scheduler cannot move it,
 * which is what makes the figures repeat). */
static void
pin(int cpu)
{
	cpu_set_t set;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	(void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *
receiver(void *arg)
{
	static unsigned char buf[1 << 18];
	int fd = (int)(intptr_t)arg;
	size_t got = 0;
	ssize_t n;

	pin(1);
	while (got < total && (n = recv(fd, buf, sizeof(buf), 0)) > 0)
		got += (size_t)n;
	if (got != total)
		errx(1, "received %zu of %zu bytes", got, total);
	return NULL;
}

/* A connected TCP pair over 127.0.0.1: the sender made by mk. */
static void
tcp_pair(int (*mk)(void), int *snd, int *rcv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int l;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((l = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    bind(l, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(l, 1) != 0 ||
	    getsockname(l, (struct sockaddr *)&a, &len) != 0)
		err(1, "listener");
	if ((*snd = mk()) < 0 ||
	    connect(*snd, (struct sockaddr *)&a, sizeof(a)) != 0)
		err(1, "connect");
	if ((*rcv = accept(l, NULL, NULL)) < 0)
		err(1, "accept");
	close(l);
}

static int
mk_plain(void)
{
	return socket(AF_INET, SOCK_STREAM, 0);
}

static int
mk_overlapped(void)
{
	SOCKET s = WSASocketA(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
	    WSA_FLAG_OVERLAPPED);

	return s == INVALID_SOCKET ? -1 : (int)s;
}

static void
run_blocking(int fd)
{
	size_t sent = 0;
	ssize_t n;

	while (sent < total) {
		n = send(fd, piece[0], PIECE, 0);
		if (n < 0)
			err(1, "send");
		sent += (size_t)n;
	}
}

static void
run_ovl(int fd, unsigned inflight)
{
	static WSAOVERLAPPED ov[MAX_INFLIGHT];
	static WSABUF b[MAX_INFLIGHT];
	size_t posted = 0, done = 0;
	DWORD cb, fl;
	unsigned i;

	for (i = 0; i < inflight && posted < total; i++) {
		b[i].buf = (CHAR *)piece[i];
		b[i].len = PIECE;
		if (WSASend((SOCKET)fd, &b[i], 1, NULL, 0, &ov[i], NULL) != 0 &&
		    WSAGetLastError() != WSA_IO_PENDING)
			errx(1, "WSASend: %d", WSAGetLastError());
		posted += PIECE;
	}
	/* Requests complete in posting order: wait for the oldest. */
	for (i = 0; done < total; i = (i + 1) % inflight) {
		if (!WSAGetOverlappedResult((SOCKET)fd, &ov[i], &cb, TRUE,
		    &fl))
			errx(1, "WSAGetOverlappedResult: %d",
			    WSAGetLastError());
		if (cb != PIECE)
			errx(1, "a send moved %lu bytes", (unsigned long)cb);
		done += cb;
		if (posted < total) {
			if (WSASend((SOCKET)fd, &b[i], 1, NULL, 0, &ov[i],
			    NULL) != 0 && WSAGetLastError() != WSA_IO_PENDING)
				errx(1, "WSASend: %d", WSAGetLastError());
			posted += PIECE;
		}
	}
}

static void
run_uring(int fd, unsigned inflight)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	size_t posted = 0, done = 0;
	unsigned i;
	int r;

	if ((r = io_uring_queue_init(MAX_INFLIGHT, &ring, 0)) != 0)
		errx(1, "io_uring_queue_init: %s", strerror(-r));
	for (i = 0; i < inflight && posted < total; i++) {
		sqe = io_uring_get_sqe(&ring);
		io_uring_prep_send(sqe, fd, piece[i], PIECE, MSG_WAITALL);
		io_uring_sqe_set_data64(sqe, i);
		posted += PIECE;
	}
	io_uring_submit(&ring);
	while (done < total) {
		if ((r = io_uring_wait_cqe(&ring, &cqe)) != 0)
			errx(1, "io_uring_wait_cqe: %s", strerror(-r));
		if (cqe->res != PIECE)
			errx(1, "a send gave %d", cqe->res);
		i = (unsigned)io_uring_cqe_get_data64(cqe);
		io_uring_cqe_seen(&ring, cqe);
		done += PIECE;
		if (posted < total) {
			sqe = io_uring_get_sqe(&ring);
			io_uring_prep_send(sqe, fd, piece[i], PIECE,
			    MSG_WAITALL);
			io_uring_sqe_set_data64(sqe, i);
			io_uring_submit(&ring);
			posted += PIECE;
		}
	}
	io_uring_queue_exit(&ring);
}

int
main(int argc, char **argv)
{
	WSADATA wd;
	pthread_t t;
	unsigned inflight;
	struct rusage r0, r1;
	int snd, rcv;
	double t0, t1;

	if (argc != 4)
		errx(2, "usage: ovlbench blocking|ovl|uring INFLIGHT MIB");
	inflight = (unsigned)atoi(argv[2]);
	total = (size_t)atoi(argv[3]) << 20;
	if (inflight < 1 || inflight > MAX_INFLIGHT || total == 0)
		errx(2, "INFLIGHT is 1 to %d, MIB at least 1", MAX_INFLIGHT);
	if (WSAStartup(MAKEWORD(2, 2), &wd) != 0)
		errx(1, "WSAStartup");
	pin(0);		/* the sender, and the engine it starts */
	tcp_pair(strcmp(argv[1], "ovl") == 0 ? mk_overlapped : mk_plain,
	    &snd, &rcv);
	if (pthread_create(&t, NULL, receiver, (void *)(intptr_t)rcv) != 0)
		errx(1, "pthread_create");
	getrusage(RUSAGE_SELF, &r0);
	t0 = now_s();
	if (strcmp(argv[1], "blocking") == 0)
		run_blocking(snd);
	else if (strcmp(argv[1], "ovl") == 0)
		run_ovl(snd, inflight);
	else if (strcmp(argv[1], "uring") == 0)
		run_uring(snd, inflight);
	else
		errx(2, "no mode %s", argv[1]);
	pthread_join(t, NULL);
	t1 = now_s();
	getrusage(RUSAGE_SELF, &r1);
	printf("%s %u %.1f %.1f\n", argv[1], inflight,
	    (double)total / (1 << 20) / (t1 - t0),
	    (cpu_s(&r1) - cpu_s(&r0)) * 1e3 / ((double)total / (1 << 30)));
	closesocket((SOCKET)snd);
	close(rcv);
	WSACleanup();
	return 0;
}
