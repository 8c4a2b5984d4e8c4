/*
 * echod - the echo server the integration probes talk to.
 *
 *	echod DIR [IDLE_SECONDS]
 *
 * One process, one poll loop, every socket non-blocking.  It serves
 * TCP and UDP on 127.0.0.1 and ::1 (port 0: the kernel picks) and AF_UNIX
 * stream, datagram and seqpacket sockets at DIR/stream.sock,
 * DIR/dgram.sock and DIR/seqpacket.sock.  Streams are echoed byte for
 * byte, datagrams and seqpacket records message for message.  When every
 * socket is listening it writes DIR/ports ("tcp4 PORT" lines; written to a
 * temporary name and renamed, so a reader never sees half of it).
 *
 * It exits 0 on SIGTERM or SIGINT, or after IDLE_SECONDS (default 120)
 * without any traffic, and 1 when a socket cannot be set up (IPv6 missing
 * included: the tests must fail then, not skip).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAXCONN		1024
#define BUFSZ		65536

enum kind { K_LISTEN, K_DGRAM, K_STREAM, K_SEQPACKET };

struct conn {
	enum kind	kind;
	int		type;		/* listeners: what they accept */
	int		fd;
	int		eof;		/* the client shut its side */
	size_t		off, len;	/* pending echo: buf[off..len) */
	char		*buf;
};

static struct conn conns[MAXCONN];
static struct pollfd pfds[MAXCONN];
static int nconn;
static const char *dir;
static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

__attribute__((noreturn, format(printf, 1, 2))) static void
die(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	fputs("echod: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(e));
	exit(1);
}

/* Add fd to the poll set; 0, or -1 when the set is full. */
static int
conn_add(int fd, enum kind kind, int type)
{
	struct conn *c;

	if (nconn == MAXCONN)
		return -1;
	c = &conns[nconn++];
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->kind = kind;
	c->type = type;
	if ((kind == K_STREAM || kind == K_SEQPACKET) &&
	    (c->buf = malloc(BUFSZ)) == NULL) {
		nconn--;
		return -1;
	}
	return 0;
}

/* Close conns[i] and move the last one into its place. */
static void
conn_drop(int i)
{
	close(conns[i].fd);
	free(conns[i].buf);
	conns[i] = conns[--nconn];
}

/* A non-blocking socket of family/type bound to addr. */
static int
bound_socket(int family, int type, const struct sockaddr *addr,
    socklen_t len, const char *what)
{
	int fd, on = 1;

	fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket for %s", what);
	if (family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) != 0)
		die("IPV6_V6ONLY for %s", what);
	if (bind(fd, addr, len) != 0)
		die("bind for %s (is %s available?)", what,
		    family == AF_INET6 ? "IPv6 on ::1" : "the address");
	if (type != SOCK_DGRAM && listen(fd, 512) != 0)
		die("listen for %s", what);
	return fd;
}

/* Serve TCP or UDP on the loopback address of family; its port. */
static int
serve_inet(int family, int type, const char *what)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		len = sizeof(*sin6);
	}
	fd = bound_socket(family, type, (struct sockaddr *)&ss, len, what);
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		die("getsockname for %s", what);
	conn_add(fd, type == SOCK_DGRAM ? K_DGRAM : K_LISTEN, type);
	return ntohs(family == AF_INET ? sin->sin_port : sin6->sin6_port);
}

/* Serve AF_UNIX sockets of type at DIR/file. */
static void
serve_unix(int type, const char *file)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int n, fd;

	n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", dir, file);
	if (n < 0 || (size_t)n >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		die("%s/%s", dir, file);
	}
	unlink(sun.sun_path);
	fd = bound_socket(AF_UNIX, type, (struct sockaddr *)&sun,
	    sizeof(sun), file);
	conn_add(fd, type == SOCK_DGRAM ? K_DGRAM : K_LISTEN, type);
}

static void
remove_unix(void)
{
	static const char *const files[] = {
		"stream.sock", "dgram.sock", "seqpacket.sock",
	};
	char path[512];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
}

/* Write DIR/ports, atomically. */
static void
write_ports(int tcp4, int udp4, int tcp6, int udp6)
{
	char tmp[512], path[512];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s/ports.tmp", dir);
	snprintf(path, sizeof(path), "%s/ports", dir);
	if ((f = fopen(tmp, "we")) == NULL)
		die("%s", tmp);
	fprintf(f, "tcp4 %d\nudp4 %d\ntcp6 %d\nudp6 %d\n", tcp4, udp4, tcp6,
	    udp6);
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		die("%s", path);
}

/* Accept every pending connection on listener c. */
static void
do_accept(const struct conn *c)
{
	int fd;

	while ((fd = accept4(c->fd, NULL, NULL,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if (conn_add(fd, c->type == SOCK_SEQPACKET ? K_SEQPACKET :
		    K_STREAM, c->type) != 0) {
			fprintf(stderr, "echod: too many connections\n");
			close(fd);
		}
	}
}

/* Echo the datagrams waiting on c back to their senders. */
static void
do_dgram(const struct conn *c)
{
	static char buf[BUFSZ];
	struct sockaddr_storage from;
	socklen_t len;
	ssize_t n;
	int i;

	for (i = 0; i < 64; i++) {
		len = sizeof(from);
		n = recvfrom(c->fd, buf, sizeof(buf), MSG_DONTWAIT,
		    (struct sockaddr *)&from, &len);
		if (n < 0)
			return;
		if (sendto(c->fd, buf, (size_t)n, MSG_DONTWAIT,
		    (struct sockaddr *)&from, len) != n)
			perror("echod: sendto (a datagram is lost)");
	}
}

/* Read into a stream connection's buffer; 0, or -1 to drop it. */
static int
stream_in(struct conn *c)
{
	ssize_t n;

	if (c->off == c->len)
		c->off = c->len = 0;
	if (c->len == BUFSZ && c->off > 0) {
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	if (c->len == BUFSZ)
		return 0;
	n = recv(c->fd, c->buf + c->len, BUFSZ - c->len, MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0)
		c->eof = 1;
	c->len += (size_t)n;
	return 0;
}

/* Read one seqpacket record when the last is echoed; 0, or -1 to drop. */
static int
record_in(struct conn *c)
{
	ssize_t n;

	if (c->len > 0)
		return 0;
	n = recv(c->fd, c->buf, BUFSZ, MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0)
		c->eof = 1;
	c->off = 0;
	c->len = (size_t)n;
	return 0;
}

/* Send what is pending; 0, or -1 to drop the connection. */
static int
conn_out(struct conn *c)
{
	ssize_t n;

	if (c->len == c->off)
		return 0;
	n = send(c->fd, c->buf + c->off, c->len - c->off,
	    MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	c->off += (size_t)n;
	if (c->kind == K_SEQPACKET || c->off == c->len)
		c->off = c->len = 0;
	return 0;
}

/* Handle revents on conns[i]; 1 when it was dropped. */
static int
conn_event(int i, short revents)
{
	struct conn *c = &conns[i];
	int rc = 0;

	switch (c->kind) {
	case K_LISTEN:
		do_accept(c);
		return 0;
	case K_DGRAM:
		do_dgram(c);
		return 0;
	case K_STREAM:
	case K_SEQPACKET:
		break;
	}
	if (revents & (POLLIN | POLLHUP | POLLERR))
		rc = c->kind == K_STREAM ? stream_in(c) : record_in(c);
	if (rc == 0 && (revents & POLLOUT))
		rc = conn_out(c);
	if (rc == 0 && c->len != c->off)
		rc = conn_out(c);
	if (rc != 0 || (c->eof && c->len == c->off)) {
		conn_drop(i);
		return 1;
	}
	return 0;
}

static void
fill_pollfds(void)
{
	struct conn *c;
	int i;

	for (i = 0; i < nconn; i++) {
		c = &conns[i];
		pfds[i].fd = c->fd;
		pfds[i].revents = 0;
		pfds[i].events = 0;
		if (c->kind == K_LISTEN || c->kind == K_DGRAM)
			pfds[i].events = POLLIN;
		else if (c->len != c->off)
			pfds[i].events = POLLOUT;
		else if (!c->eof)
			pfds[i].events = POLLIN;
	}
}

/* The poll loop; returns when stopped or idle for idle seconds. */
static void
serve(long idle)
{
	struct timespec tick = { .tv_sec = 1 };
	sigset_t run;
	time_t last = time(NULL);
	int i, n, count;

	sigemptyset(&run);
	while (!stop) {
		fill_pollfds();
		count = nconn;
		n = ppoll(pfds, (nfds_t)count, &tick, &run);
		if (n < 0 && errno != EINTR)
			die("ppoll");
		if (n <= 0) {
			if (time(NULL) - last >= idle) {
				fprintf(stderr, "echod: idle for %lds, "
				    "exiting\n", idle);
				return;
			}
			continue;
		}
		last = time(NULL);
		/* Backwards: a dropped slot takes the last one's place,
		 * which has already been handled. */
		for (i = count - 1; i >= 0; i--)
			if (pfds[i].revents != 0)
				conn_event(i, pfds[i].revents);
	}
}

int
main(int argc, char **argv)
{
	struct sigaction sa;
	sigset_t block;
	long idle = 120;
	int tcp4, udp4, tcp6, udp6;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: echod DIR [IDLE_SECONDS]\n");
		return 2;
	}
	dir = argv[1];
	if (argc == 3 && (idle = strtol(argv[2], NULL, 10)) <= 0)
		idle = 120;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* The signals are taken only inside ppoll: no lost wake-up. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, NULL);

	tcp4 = serve_inet(AF_INET, SOCK_STREAM, "tcp4");
	udp4 = serve_inet(AF_INET, SOCK_DGRAM, "udp4");
	tcp6 = serve_inet(AF_INET6, SOCK_STREAM, "tcp6");
	udp6 = serve_inet(AF_INET6, SOCK_DGRAM, "udp6");
	serve_unix(SOCK_STREAM, "stream.sock");
	serve_unix(SOCK_DGRAM, "dgram.sock");
	serve_unix(SOCK_SEQPACKET, "seqpacket.sock");
	write_ports(tcp4, udp4, tcp6, udp6);
	serve(idle);
	remove_unix();
	return 0;
}
