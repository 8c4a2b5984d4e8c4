/*
 * loadd - an event-loop HTTP/1.1 server for the load test: one epoll
 * loop, every socket non-blocking, keep-alive, as nginx and redis work.
 *
 *	loadd DIR FILE sendfile|write
 *
 * Listens on 127.0.0.1, port chosen by the kernel and written to
 * DIR/port (atomically).  Serves
 *	GET /file	FILE, with non-blocking sendfile() from an offset
 *			(mode sendfile) or read() + send() (mode write),
 *			resumed on EPOLLOUT after EAGAIN or a short count
 *	GET /gen/N	N bytes (at most 1 MiB) of a pattern made from N,
 *			with send()
 *	GET /stats	"fds F rss R waits W" in the body: F the
 *			descriptors open but the client connections (so a
 *			leak under load shows, whatever the number of
 *			connections), R the resident set in KiB
 *			(/proc/self/statm), W how many times a response
 *			waited for EPOLLOUT
 * Accepted sockets get a 64 KiB send buffer, so that big responses hit
 * EAGAIN and short counts all the time, and TCP_NODELAY (as nginx's
 * keep-alive connections), so that a header sent apart from its body is
 * not held back by Nagle's algorithm.  A malformed request gets 400
 * and the connection closed.  Exits on SIGTERM, or after 120 s without a
 * connection (a test that died must not leave it behind).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "probe.h"

#define MAXCONN		512
#define REQMAX		1024
#define GENMAX		(1 << 20)
#define IDLE_MS		120000

struct conn {
	int		fd;		/* -1: free */
	char		req[REQMAX];
	size_t		reqlen;
	char		head[256];	/* the response header */
	size_t		headlen, headoff;
	int		body;		/* 0 none, 'f' file, 'g' generated */
	off_t		off, len;	/* body bytes sent, body length */
	long		gen;		/* /gen/N: N */
};

static struct conn conns[MAXCONN];
static int nconns;
static int file_fd;
static off_t file_size;
static int use_sendfile;
static volatile sig_atomic_t stop;
static long waits;		/* responses that waited for EPOLLOUT */

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void
die(const char *what)
{
	fprintf(stderr, "loadd: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Byte i of the /gen/N body. */
static unsigned char
gen_byte(long n, off_t i)
{
	return (unsigned char)('a' + (i * 7 + n) % 26);
}

/* The resident set in KiB. */
static long
rss_kib(void)
{
	long size = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f == NULL)
		return -1;
	if (fscanf(f, "%ld %ld", &size, &res) != 2)
		res = -1;
	fclose(f);
	return res < 0 ? -1 : res * (sysconf(_SC_PAGESIZE) / 1024);
}

static void
conn_close(int ep, struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	nconns--;
}

/* Start the response to the request in c->req: 0, or -1 (malformed). */
static int
respond(struct conn *c)
{
	char path[256], body[128];
	char *end;
	long n;

	c->body = 0;
	c->off = c->len = 0;
	body[0] = '\0';
	if (sscanf(c->req, "GET %255s HTTP/1.1", path) != 1)
		return -1;
	if (strcmp(path, "/file") == 0) {
		c->body = 'f';
		c->len = file_size;
	} else if (strncmp(path, "/gen/", 5) == 0) {
		n = strtol(path + 5, &end, 10);
		if (end == path + 5 || *end != '\0' || n < 0 || n > GENMAX)
			return -1;
		c->body = 'g';
		c->gen = n;
		c->len = n;
	} else if (strcmp(path, "/stats") == 0) {
		/* Client connections, the listener and the epoll descriptor
		 * are the server's own; everything else must stay put. */
		snprintf(body, sizeof(body), "fds %d rss %ld waits %ld\n",
		    fd_count() - nconns, rss_kib(), waits);
		c->len = (off_t)strlen(body);
	} else {
		return -1;
	}
	c->headlen = (size_t)snprintf(c->head, sizeof(c->head),
	    "HTTP/1.1 200 OK\r\nContent-Length: %lld\r\n\r\n%s",
	    (long long)c->len, body);
	if (body[0] != '\0')
		c->len = 0;	/* sent with the header */
	c->headoff = 0;
	return 0;
}

/* Send what c has pending: 0 when all is sent, 1 when the socket is
 * full (wait for EPOLLOUT), -1 when the connection is gone. */
static int
send_pending(struct conn *c)
{
	unsigned char buf[16384];
	ssize_t k;
	off_t o;
	size_t n, i;

	while (c->headoff < c->headlen) {
		k = send(c->fd, c->head + c->headoff, c->headlen - c->headoff,
		    MSG_NOSIGNAL);
		if (k < 0)
			return errno == EAGAIN ? 1 : -1;
		c->headoff += (size_t)k;
	}
	while (c->off < c->len) {
		n = (size_t)(c->len - c->off);
		if (c->body == 'f' && use_sendfile) {
			o = c->off;
			k = sendfile(c->fd, file_fd, &o, n);
			if (k > 0 && o != c->off + k) {
				fprintf(stderr, "loadd: sendfile moved the "
				    "offset by %lld for %zd bytes\n",
				    (long long)(o - c->off), k);
				exit(1);
			}
		} else {
			if (n > sizeof(buf))
				n = sizeof(buf);
			if (c->body == 'f') {
				k = pread(file_fd, buf, n, c->off);
				if (k <= 0)
					die("pread");
				n = (size_t)k;
			} else {
				for (i = 0; i < n; i++)
					buf[i] = gen_byte(c->gen,
					    c->off + (off_t)i);
			}
			k = send(c->fd, buf, n, MSG_NOSIGNAL);
		}
		if (k < 0)
			return errno == EAGAIN ? 1 : -1;
		if (k == 0)
			return -1;
		c->off += k;
	}
	return 0;
}

/* Read and serve requests on c until it would block: 0, or -1 to close
 * it. */
static int
serve(int ep, struct conn *c)
{
	struct epoll_event ev = { .data.ptr = c };
	char *eoh;
	ssize_t k;
	size_t used;
	int rc;

	for (;;) {
		/* Finish the response in progress first. */
		if (c->headoff < c->headlen || c->off < c->len) {
			rc = send_pending(c);
			if (rc < 0)
				return -1;
			waits += rc == 1;
			ev.events = EPOLLIN | (rc == 1 ? EPOLLOUT : 0);
			if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
				die("epoll_ctl MOD");
			if (rc == 1)
				return 0;
		}
		eoh = memmem(c->req, c->reqlen, "\r\n\r\n", 4);
		if (eoh != NULL) {
			used = (size_t)(eoh - c->req) + 4;
			*eoh = '\0';
			if (respond(c) != 0) {
				(void)!send(c->fd, "HTTP/1.1 400 Bad Request\r\n"
				    "Content-Length: 0\r\n\r\n", 45,
				    MSG_NOSIGNAL);
				return -1;
			}
			memmove(c->req, c->req + used, c->reqlen - used);
			c->reqlen -= used;
			continue;
		}
		if (c->reqlen == sizeof(c->req))
			return -1;
		k = recv(c->fd, c->req + c->reqlen, sizeof(c->req) -
		    c->reqlen, 0);
		if (k < 0)
			return errno == EAGAIN ? 0 : -1;
		if (k == 0)
			return -1;
		c->reqlen += (size_t)k;
	}
}

int
main(int argc, char **argv)
{
	struct sockaddr_in a = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	struct epoll_event ev, evs[64];
	char tmp[4096], dst[4096];
	socklen_t alen = sizeof(a);
	struct conn *c;
	struct stat st;
	int lfd, ep, fd, i, n, one = 1, sndbuf = 65536;
	FILE *f;

	if (argc != 4 || (strcmp(argv[3], "sendfile") != 0 &&
	    strcmp(argv[3], "write") != 0)) {
		fprintf(stderr, "usage: loadd DIR FILE sendfile|write\n");
		return 2;
	}
	use_sendfile = argv[3][0] == 's';
	signal(SIGTERM, on_term);
	signal(SIGPIPE, SIG_IGN);
	if ((file_fd = open(argv[2], O_RDONLY | O_CLOEXEC)) < 0 ||
	    fstat(file_fd, &st) != 0)
		die(argv[2]);
	file_size = st.st_size;
	for (i = 0; i < MAXCONN; i++)
		conns[i].fd = -1;
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) != 0 || bind(lfd, (struct sockaddr *)&a,
	    sizeof(a)) != 0 || listen(lfd, 128) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen) != 0)
		die("listen");
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll_create1");
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) != 0)
		die("epoll_ctl ADD");
	/* The first /stats must not measure the stats code's own first use
	 * (stdio's and opendir's buffers, about 130 KiB). */
	snprintf(tmp, sizeof(tmp), "fds %d rss %ld\n", fd_count(),
	    rss_kib());
	snprintf(tmp, sizeof(tmp), "%s/port.tmp", argv[1]);
	snprintf(dst, sizeof(dst), "%s/port", argv[1]);
	if ((f = fopen(tmp, "w")) == NULL ||
	    fprintf(f, "%d\n", ntohs(a.sin_port)) < 0 || fclose(f) != 0 ||
	    rename(tmp, dst) != 0)
		die("port file");
	while (!stop) {
		n = epoll_wait(ep, evs, 64, IDLE_MS);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("epoll_wait");
		if (n == 0) {
			fprintf(stderr, "loadd: idle for %d s, exiting\n",
			    IDLE_MS / 1000);
			return 1;
		}
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL) {
				while ((fd = accept4(lfd, NULL, NULL,
				    SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					for (c = conns; c < conns + MAXCONN &&
					    c->fd >= 0; c++)
						;
					if (c == conns + MAXCONN) {
						close(fd);
						continue;
					}
					setsockopt(fd, SOL_SOCKET, SO_SNDBUF,
					    &sndbuf, sizeof(sndbuf));
					setsockopt(fd, IPPROTO_TCP,
					    TCP_NODELAY, &one, sizeof(one));
					memset(c, 0, sizeof(*c));
					c->fd = fd;
					nconns++;
					ev.events = EPOLLIN;
					ev.data.ptr = c;
					if (epoll_ctl(ep, EPOLL_CTL_ADD, fd,
					    &ev) != 0)
						die("epoll_ctl ADD");
				}
				if (errno != EAGAIN && errno != ECONNABORTED)
					die("accept4");
				continue;
			}
			c = evs[i].data.ptr;
			if (serve(ep, c) != 0)
				conn_close(ep, c);
		}
	}
	return 0;
}
