/*
 * probe_sendfile - the kernel's sendfile and splice rules on sockets of a
 * TCP loopback pair, for comparison with the run without the shim.
 *
 *	probe_sendfile blocking|nonblocking|timeout|splice|errors|all
 *
 * blocking: 300000 bytes with an offset pointer (it advances, the file
 *   offset does not) while a thread reads; 50000 from the file offset
 *   (which advances by exactly that); at and past the end of the file.
 * nonblocking: a socket with a small send buffer and no reader: the first
 *   sendfile is short, the next ones fail with EAGAIN, the offset (the
 *   pointer's, or the file's) is exactly the bytes sent, and the peer then
 *   receives exactly those bytes of the file.
 * timeout: an event loop sending a 4 MiB file on a non-blocking socket
 *   nobody reads, with poll() for 200 ms at each EAGAIN: it must time out
 *   (EAGAIN, never EPIPE or a hang).
 * splice: pipe -> socket and socket -> pipe, blocking; SPLICE_F_NONBLOCK
 *   on a full socket (EAGAIN, the pipe keeps its bytes) and on an empty
 *   one; offsets and two sockets (refused by the kernel).
 * errors: bad descriptors, a pipe or a socket as the file, a file opened
 *   write-only, a negative offset, a count of 0.
 * The transcript has no counts that depend on timing: relations ("short",
 * "offset=sent") and errno names.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"

#define FILESZ	(4 << 20)

static char *data, *back;

/* A temporary file of FILESZ bytes (in ECHO_DIR or TMPDIR), unlinked. */
static int
temp_file(int flags)
{
	const char *dir = getenv("TMPDIR");
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/probe-sendfile.XXXXXX",
	    dir != NULL ? dir : "/tmp");
	if ((fd = mkstemp(path)) < 0)
		fail_errno("mkstemp");
	if (write(fd, data, FILESZ) != FILESZ)
		fail_errno("writing the temporary file");
	if (flags != O_RDWR) {
		close(fd);
		if ((fd = open(path, flags)) < 0)
			fail_errno("reopening the temporary file");
	}
	unlink(path);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static off_t
pos(int fd)
{
	return lseek(fd, 0, SEEK_CUR);
}

static void
nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* A pair whose sender has a small send buffer and the receiver a small
 * receive buffer, so that a few hundred kB fill them. */
static void
small_pair(int *cli, int *srv)
{
	int sz = 16384;

	tcp_pair(AF_INET, cli, srv);
	setsockopt(*cli, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(*srv, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
}

struct reader {
	int	fd;
	size_t	n;
};

static void *
reader_main(void *arg)
{
	struct reader *r = arg;

	recv_all(r->fd, back, r->n);
	return NULL;
}

/* Everything the peer has now (non-blocking, until 300 ms of quiet): the
 * byte count; the bytes go to back. */
static size_t
drain(int fd, size_t max)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	ssize_t k;

	while (got < max && poll(&p, 1, 300) == 1) {
		if ((k = recv(fd, back + got, max - got, MSG_DONTWAIT)) <= 0)
			break;
		got += (size_t)k;
	}
	return got;
}

static void
blocking(void)
{
	struct reader r;
	pthread_t t;
	off_t off = 0;
	ssize_t k;
	int cli, srv, f = temp_file(O_RDWR);

	tcp_pair(AF_INET, &cli, &srv);
	r.fd = srv;
	r.n = 300000;
	pthread_create(&t, NULL, reader_main, &r);
	k = sendfile(cli, f, &off, 300000);
	pthread_join(t, NULL);
	printf("offset: sent %zd, offset %lld, file offset %lld, bytes %s\n",
	    k, (long long)off, (long long)pos(f),
	    memcmp(back, data, 300000) == 0 ? "equal" : "DIFFER");

	lseek(f, 1000, SEEK_SET);
	r.n = 50000;
	pthread_create(&t, NULL, reader_main, &r);
	k = sendfile(cli, f, NULL, 50000);
	pthread_join(t, NULL);
	printf("no offset: sent %zd, file offset %lld, bytes %s\n", k,
	    (long long)pos(f),
	    memcmp(back, data + 1000, 50000) == 0 ? "equal" : "DIFFER");

	off = FILESZ;
	k = sendfile(cli, f, &off, 100);
	printf("at end: %zd, offset %lld\n", k, (long long)off);
	off = FILESZ + 5;
	k = sendfile(cli, f, &off, 100);
	printf("past end: %zd, offset %lld\n", k, (long long)off);
	lseek(f, 0, SEEK_END);
	printf("file offset at end: %zd\n", sendfile(cli, f, NULL, 100));
	k = sendfile(cli, f, NULL, 0);
	printf("count 0: %zd\n", k);
	close(cli);
	close(srv);
	close(f);
}

/* Non-blocking sendfile until EAGAIN, with the pointer or without; then
 * what the peer gets must be exactly the bytes sent. */
static void
nonblocking_one(int with_off)
{
	off_t off = 100, start;
	size_t total = 0, got;
	ssize_t k;
	int cli, srv, f = temp_file(O_RDONLY), calls = 0, first_short = 0;
	int e = 0;

	small_pair(&cli, &srv);
	nonblock(cli);
	lseek(f, 300, SEEK_SET);
	start = with_off ? off : 300;
	for (;;) {
		k = sendfile(cli, f, with_off ? &off : NULL, FILESZ - 400);
		if (k < 0) {
			e = errno;
			break;
		}
		if (calls++ == 0)
			first_short = k > 0 && (size_t)k < FILESZ - 400;
		total += (size_t)k;
		if (calls > 1000)
			fail("no EAGAIN after 1000 calls");
	}
	printf("%s: first call short %s, then %s\n",
	    with_off ? "offset" : "no offset", first_short ? "yes" : "no",
	    errno_name(e));
	if (with_off)
		printf("  offset = start + sent: %s, file offset %lld\n",
		    off == start + (off_t)total ? "yes" : "no",
		    (long long)pos(f));
	else
		printf("  file offset = start + sent: %s\n",
		    pos(f) == start + (off_t)total ? "yes" : "no");
	/* Again, still full: EAGAIN and nothing moves. */
	off_t before = with_off ? off : pos(f);
	k = sendfile(cli, f, with_off ? &off : NULL, 1000);
	printf("  again: %zd %s, moved %s\n", k, k < 0 ? errno_name(errno) :
	    "", (with_off ? off : pos(f)) == before ? "no" : "YES");
	got = drain(srv, FILESZ);
	printf("  peer got the bytes sent: %s, and they are the file's: %s\n",
	    got == total ? "yes" : "no",
	    memcmp(back, data + start, got) == 0 ? "yes" : "no");
	close(cli);
	close(srv);
	close(f);
}

static void
nonblocking(void)
{
	nonblocking_one(1);
	nonblocking_one(0);
}

/* An event loop's sendfile with a deadline: poll for 200 ms after each
 * EAGAIN; nobody reads, so it must end by timing out. */
static void
timeout(void)
{
	struct pollfd p;
	off_t off = 0;
	ssize_t k;
	int cli, srv, f = temp_file(O_RDONLY), rounds = 0, e = 0;
	const char *how = "?";

	small_pair(&cli, &srv);
	nonblock(cli);
	for (;;) {
		k = sendfile(cli, f, &off, FILESZ - (size_t)off);
		if (k > 0)
			continue;
		if (k == 0) {
			how = "end of file";
			break;
		}
		e = errno;
		if (e != EAGAIN) {
			how = "error";
			break;
		}
		p.fd = cli;
		p.events = POLLOUT;
		if (poll(&p, 1, 200) == 0) {
			how = "timed out";
			break;
		}
		if (++rounds > 50) {
			how = "still writable";
			break;
		}
	}
	printf("timeout: %s, last errno %s, some sent %s\n", how,
	    errno_name(e), off > 0 ? "yes" : "no");
	close(cli);
	close(srv);
	close(f);
}

static int
pipe_queued(int fd)
{
	int n = -1;

	ioctl(fd, FIONREAD, &n);
	return n;
}

static void
splices(void)
{
	struct pollfd p;
	loff_t lo = 0;
	ssize_t k;
	int cli, srv, pp[2], q[2], n;

	tcp_pair(AF_INET, &cli, &srv);
	if (pipe(pp) != 0 || pipe(q) != 0)
		fail_errno("pipe");
	/* pipe -> socket, blocking. */
	write(pp[1], data, 10000);
	k = splice(pp[0], NULL, cli, NULL, 10000, 0);
	recv_all(srv, back, (size_t)k > 0 ? (size_t)k : 0);
	printf("pipe to socket: %zd, bytes %s\n", k,
	    k > 0 && memcmp(back, data, (size_t)k) == 0 ? "equal" : "DIFFER");
	/* socket -> pipe: the peer's 5000 bytes, once they are there. */
	send_all(srv, data + 7, 5000);
	p.fd = cli;
	p.events = POLLIN;
	poll(&p, 1, 2000);
	usleep(50000);
	k = splice(cli, NULL, q[1], NULL, 65536, 0);
	n = (int)read(q[0], back, 65536);
	printf("socket to pipe: %zd, pipe gave %d, bytes %s\n", k, n,
	    n == 5000 && memcmp(back, data + 7, 5000) == 0 ? "equal" :
	    "DIFFER");
	/* Nothing to read, non-blocking socket. */
	nonblock(cli);
	k = splice(cli, NULL, q[1], NULL, 65536, SPLICE_F_NONBLOCK);
	printf("empty socket: %zd %s\n", k, k < 0 ? errno_name(errno) : "");
	/* A full socket: EAGAIN, and the pipe keeps its bytes. */
	while (send(cli, data, 65536, MSG_DONTWAIT) > 0)
		;
	write(pp[1], data, 3000);
	k = splice(pp[0], NULL, cli, NULL, 3000, SPLICE_F_NONBLOCK);
	printf("full socket: %zd %s, pipe keeps %d\n", k,
	    k < 0 ? errno_name(errno) : "", pipe_queued(pp[0]));
	/* Offsets and two sockets: the kernel refuses them. */
	k = splice(pp[0], NULL, cli, &lo, 10, 0);
	printf("socket offset: %zd %s\n", k, k < 0 ? errno_name(errno) : "");
	k = splice(cli, NULL, q[1], &lo, 10, 0);
	printf("pipe offset: %zd %s\n", k, k < 0 ? errno_name(errno) : "");
	k = splice(cli, NULL, srv, NULL, 10, 0);
	printf("two sockets: %zd %s\n", k, k < 0 ? errno_name(errno) : "");
	k = splice(-1, NULL, cli, NULL, 10, 0);
	printf("bad pipe: %zd %s\n", k, k < 0 ? errno_name(errno) : "");
	close(cli);
	close(srv);
	close(pp[0]);
	close(pp[1]);
	close(q[0]);
	close(q[1]);
}

static void
report(const char *what, ssize_t k)
{
	printf("%s: %zd %s\n", what, k, k < 0 ? errno_name(errno) : "");
}

static void
errors(void)
{
	off_t off = 0;
	int cli, srv, pp[2], w = temp_file(O_WRONLY);

	tcp_pair(AF_INET, &cli, &srv);
	if (pipe(pp) != 0)
		fail_errno("pipe");
	write(pp[1], "abc", 3);
	report("bad file", sendfile(cli, -1, NULL, 10));
	report("closed file", sendfile(cli, 977, &off, 10));
	report("pipe as file", sendfile(cli, pp[0], NULL, 3));
	report("pipe as file, offset", sendfile(cli, pp[0], &off, 3));
	report("socket as file", sendfile(cli, srv, NULL, 3));
	report("write-only file", sendfile(cli, w, NULL, 3));
	report("write-only file, count 0", sendfile(cli, w, NULL, 0));
	close(w);
	w = temp_file(O_RDONLY);
	off = -1;
	report("negative offset", sendfile(cli, w, &off, 3));
	report("count 0", sendfile(cli, w, NULL, 0));
	shutdown(cli, SHUT_WR);
	report("after shutdown", sendfile(cli, w, NULL, 3));
	close(cli);
	close(srv);
	close(w);
	close(pp[0]);
	close(pp[1]);
}

int
main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "all";
	int all = strcmp(what, "all") == 0;

	probe_init("probe_sendfile");
	signal(SIGPIPE, SIG_IGN);
	if ((data = malloc(FILESZ)) == NULL ||
	    (back = malloc(FILESZ)) == NULL)
		fail("out of memory");
	pattern(data, FILESZ, 11);
	if (all || strcmp(what, "blocking") == 0)
		blocking();
	if (all || strcmp(what, "nonblocking") == 0)
		nonblocking();
	if (all || strcmp(what, "timeout") == 0)
		timeout();
	if (all || strcmp(what, "splice") == 0)
		splices();
	if (all || strcmp(what, "errors") == 0)
		errors();
	return 0;
}
