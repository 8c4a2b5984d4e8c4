/*
 * bench.c - per-operation cost of the socket calls a program makes, for
 * comparing runs with and without the shim (bench/run drives it).
 *
 *	bench [-n ITERATIONS] [WORKLOAD...]
 *
 * Each workload sets up, warms up, then times ITERATIONS operations and
 * prints "NAME VALUE UNIT" (ns/op, or MB/s for bulk).  Under
 * valgrind --tool=callgrind --instr-atstart=no only the timed loop is
 * counted, so instructions per operation are total Ir / ITERATIONS.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_START_INSTRUMENTATION	do { } while (0)
#define CALLGRIND_STOP_INSTRUMENTATION	do { } while (0)
#endif

#define MSG	64
#define BULK	(64 * 1024)
#define SENDFILE_SZ	(1 << 20)

static long iterations = 20000;

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Start and stop the measured region (callgrind and the clock). */
static double t0;

static void
measure_begin(void)
{
	CALLGRIND_START_INSTRUMENTATION;
	t0 = now_ns();
}

static double
measure_end(void)
{
	double dt = now_ns() - t0;

	CALLGRIND_STOP_INSTRUMENTATION;
	return dt;
}

static void
xfull(ssize_t (*io)(int, void *, size_t), int fd, void *buf, size_t n)
{
	size_t done = 0;
	ssize_t r;

	while (done < n) {
		r = io(fd, (char *)buf + done, n - done);
		if (r <= 0)
			err(1, "io");
		done += (size_t)r;
	}
}

static ssize_t
do_read(int fd, void *b, size_t n)
{
	return read(fd, b, n);
}

static ssize_t
do_write(int fd, void *b, size_t n)
{
	return write(fd, b, n);
}

static ssize_t
do_recv(int fd, void *b, size_t n)
{
	return recv(fd, b, n, 0);
}

static ssize_t
do_send(int fd, void *b, size_t n)
{
	return send(fd, b, n, 0);
}

/* A connected TCP pair over 127.0.0.1. */
static void
tcp_pair(int sv[2])
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int l, one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((l = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    bind(l, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(l, 8) != 0
	    || getsockname(l, (struct sockaddr *)&a, &len) != 0)
		err(1, "listen");
	if ((sv[0] = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    connect(sv[0], (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    (sv[1] = accept(l, NULL, NULL)) < 0)
		err(1, "connect");
	setsockopt(sv[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(sv[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	close(l);
}

static void
report(const char *name, double ns)
{
	printf("%-16s %10.1f ns/op\n", name, ns / (double)iterations);
	fflush(stdout);
}

static void
w_socket(void)
{
	long i;
	int fd;

	for (i = 0; i < 100; i++)
		close(socket(AF_INET, SOCK_STREAM, 0));
	measure_begin();
	for (i = 0; i < iterations; i++) {
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
			err(1, "socket");
		close(fd);
	}
	report("socket_close", measure_end());
}

/* One round trip: a sends, b receives, b sends back, a receives. */
static void
round_trips(const char *name, int a, int b,
    ssize_t (*tx)(int, void *, size_t), ssize_t (*rx)(int, void *, size_t))
{
	char buf[MSG] = { 0 };
	long i;

	for (i = 0; i < 100; i++) {
		xfull(tx, a, buf, MSG); xfull(rx, b, buf, MSG);
		xfull(tx, b, buf, MSG); xfull(rx, a, buf, MSG);
	}
	measure_begin();
	for (i = 0; i < iterations; i++) {
		xfull(tx, a, buf, MSG); xfull(rx, b, buf, MSG);
		xfull(tx, b, buf, MSG); xfull(rx, a, buf, MSG);
	}
	report(name, measure_end());
}

static void
w_tcp(void)
{
	int sv[2];

	tcp_pair(sv);
	round_trips("tcp_sendrecv", sv[0], sv[1], do_send, do_recv);
	close(sv[0]);
	close(sv[1]);
}

static void
w_tcp_rw(void)
{
	int sv[2];

	tcp_pair(sv);
	round_trips("tcp_readwrite", sv[0], sv[1], do_write, do_read);
	close(sv[0]);
	close(sv[1]);
}

static void
w_unix(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int l, sv[2];

	/* An abstract address: no file to clean up. */
	snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1, "wspshim-bench-%d",
	    (int)getpid());
	if ((l = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    bind(l, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(l, 1) != 0)
		err(1, "unix listen");
	if ((sv[0] = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    connect(sv[0], (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    (sv[1] = accept(l, NULL, NULL)) < 0)
		err(1, "unix connect");
	round_trips("unix_sendrecv", sv[0], sv[1], do_send, do_recv);
	close(l);
	close(sv[0]);
	close(sv[1]);
}

static void
w_udp(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET }, b = a, from;
	socklen_t len = sizeof(a), flen;
	char buf[MSG] = { 0 };
	int sa, sb;
	long i;

	a.sin_addr.s_addr = b.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((sa = socket(AF_INET, SOCK_DGRAM, 0)) < 0 ||
	    (sb = socket(AF_INET, SOCK_DGRAM, 0)) < 0 ||
	    bind(sa, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    bind(sb, (struct sockaddr *)&b, sizeof(b)) != 0 ||
	    getsockname(sa, (struct sockaddr *)&a, &len) != 0 ||
	    getsockname(sb, (struct sockaddr *)&b, &len) != 0)
		err(1, "udp");
#define UDP_RT() do {							\
	flen = sizeof(from);						\
	if (sendto(sa, buf, MSG, 0, (struct sockaddr *)&b, sizeof(b)) != MSG \
	    || recvfrom(sb, buf, MSG, 0, (struct sockaddr *)&from, &flen) \
	    != MSG)							\
		err(1, "udp rt");					\
	flen = sizeof(from);						\
	if (sendto(sb, buf, MSG, 0, (struct sockaddr *)&a, sizeof(a)) != MSG \
	    || recvfrom(sa, buf, MSG, 0, (struct sockaddr *)&from, &flen) \
	    != MSG)							\
		err(1, "udp rt");					\
} while (0)
	for (i = 0; i < 100; i++)
		UDP_RT();
	measure_begin();
	for (i = 0; i < iterations; i++)
		UDP_RT();
	report("udp_sendtorecvfrom", measure_end());
	close(sa);
	close(sb);
}

static void
w_pipe(void)
{
	char buf[MSG] = { 0 };
	int p[2];
	long i;

	if (pipe(p) != 0)
		err(1, "pipe");
	measure_begin();
	for (i = 0; i < iterations; i++) {
		if (write(p[1], buf, MSG) != MSG || read(p[0], buf, MSG) != MSG)
			err(1, "pipe io");
	}
	report("pipe_rw", measure_end());
	close(p[0]);
	close(p[1]);
}

static void
w_file(void)
{
	char path[] = "/tmp/wspshim-bench-XXXXXX", buf[4096];
	long i;
	int fd;

	if ((fd = mkstemp(path)) < 0)
		err(1, "mkstemp");
	unlink(path);
	memset(buf, 'x', sizeof(buf));
	for (i = 0; i < 16; i++)
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			err(1, "write");
	measure_begin();
	for (i = 0; i < iterations; i++) {
		if (read(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			lseek(fd, 0, SEEK_SET);
	}
	report("file_read4k", measure_end());
	close(fd);
}

static void
w_accept(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int l, c, s, one = 1;
	struct linger lg = { 1, 0 };
	long i, n = iterations / 10 > 0 ? iterations / 10 : 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((l = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(l, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(l, 64) != 0 ||
	    getsockname(l, (struct sockaddr *)&a, &len) != 0)
		err(1, "listen");
	measure_begin();
	for (i = 0; i < n; i++) {
		if ((c = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
		    connect(c, (struct sockaddr *)&a, sizeof(a)) != 0 ||
		    (s = accept(l, NULL, NULL)) < 0)
			err(1, "accept");
		/* RST instead of TIME_WAIT, so the ports last the run. */
		setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(c);
		close(s);
	}
	printf("%-16s %10.1f ns/op\n", "accept_close",
	    measure_end() / (double)n);
	close(l);
}

struct echo {
	int	fd;
	long	n;
};

static void *
echo_thread(void *arg)
{
	struct echo *e = arg;
	char buf[MSG];
	long i;

	for (i = 0; i < e->n; i++) {
		xfull(do_recv, e->fd, buf, MSG);
		xfull(do_send, e->fd, buf, MSG);
	}
	return NULL;
}

static void
w_tcp_threads(void)
{
	char buf[MSG] = { 0 };
	struct echo e;
	pthread_t t;
	int sv[2];
	long i;

	tcp_pair(sv);
	e.fd = sv[1];
	e.n = iterations;
	pthread_create(&t, NULL, echo_thread, &e);
	measure_begin();
	for (i = 0; i < iterations; i++) {
		xfull(do_send, sv[0], buf, MSG);
		xfull(do_recv, sv[0], buf, MSG);
	}
	report("tcp_2threads", measure_end());
	pthread_join(t, NULL);
	close(sv[0]);
	close(sv[1]);
}

static void *
sink_thread(void *arg)
{
	static char buf[BULK];
	struct echo *e = arg;
	ssize_t r;

	while ((r = read(e->fd, buf, sizeof(buf))) > 0)
		;
	return NULL;
}

static void
w_bulk(void)
{
	static char buf[BULK];
	struct echo e;
	pthread_t t;
	long i, n = iterations / 4 > 0 ? iterations / 4 : 1;
	double dt;
	int sv[2];

	tcp_pair(sv);
	e.fd = sv[1];
	pthread_create(&t, NULL, sink_thread, &e);
	measure_begin();
	for (i = 0; i < n; i++)
		xfull(do_write, sv[0], buf, sizeof(buf));
	shutdown(sv[0], SHUT_WR);
	pthread_join(t, NULL);
	dt = measure_end();
	printf("%-16s %10.1f MB/s\n", "tcp_bulk64k",
	    (double)n * BULK / (dt / 1e9) / 1e6);
	close(sv[0]);
	close(sv[1]);
}

/*
 * sendfile of a 1 MiB file (in the page cache) to a TCP connection that a
 * thread drains: a blocking sendfile sends it whole, so each call is one
 * file.  Prints the throughput as tcp_sendfile1m (MB/s) and the time per
 * call as sendfile_1m (ns/op); under callgrind, iterations / 10 calls.
 */
static void
w_sendfile(void)
{
	char path[] = "/tmp/wspshim-bench-XXXXXX";
	static char buf[BULK];
	struct echo e;
	pthread_t t;
	long i, n = iterations / 10 > 0 ? iterations / 10 : 1;
	off_t off;
	double dt;
	int sv[2], fd;
	ssize_t k;

	if ((fd = mkstemp(path)) < 0)
		err(1, "mkstemp");
	unlink(path);
	memset(buf, 'f', sizeof(buf));
	for (i = 0; i < SENDFILE_SZ / BULK; i++)
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			err(1, "write");
	tcp_pair(sv);
	e.fd = sv[1];
	pthread_create(&t, NULL, sink_thread, &e);
	measure_begin();
	for (i = 0; i < n; i++)
		for (off = 0; off < SENDFILE_SZ; off += k)
			if ((k = sendfile(sv[0], fd, &off, SENDFILE_SZ -
			    (size_t)off)) <= 0)
				err(1, "sendfile");
	shutdown(sv[0], SHUT_WR);
	pthread_join(t, NULL);
	dt = measure_end();
	printf("%-16s %10.1f ns/op\n", "sendfile_1m", dt / (double)n);
	printf("%-16s %10.1f MB/s\n", "tcp_sendfile1m",
	    (double)n * SENDFILE_SZ / (dt / 1e9) / 1e6);
	close(sv[0]);
	close(sv[1]);
	close(fd);
}

static const struct {
	const char *name;
	void (*run)(void);
} workloads[] = {
	{ "socket", w_socket },
	{ "udp", w_udp },
	{ "tcp", w_tcp },
	{ "tcprw", w_tcp_rw },
	{ "tcp2", w_tcp_threads },
	{ "unix", w_unix },
	{ "pipe", w_pipe },
	{ "file", w_file },
	{ "accept", w_accept },
	{ "bulk", w_bulk },
	{ "sendfile", w_sendfile },
};

int
main(int argc, char **argv)
{
	size_t i;
	int c, ran = 0;

	while ((c = getopt(argc, argv, "n:")) != -1) {
		if (c == 'n' && (iterations = atol(optarg)) > 0)
			continue;
		fprintf(stderr, "usage: bench [-n ITERATIONS] [WORKLOAD...]\n");
		return 2;
	}
	for (i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++) {
		int want = optind == argc;

		for (c = optind; c < argc && !want; c++)
			want = strcmp(argv[c], workloads[i].name) == 0;
		if (want) {
			workloads[i].run();
			ran++;
		}
	}
	if (ran == 0) {
		fprintf(stderr, "bench: no such workload\n");
		return 2;
	}
	return 0;
}
