/*
 * probe.c - the helpers every probe links: failure lines, the watchdog,
 * the echo server's addresses, bounded sends and receives.
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "probe.h"

const char *probe_name = "probe";

static const char *const tnames[T_COUNT] = {
	[T_TCP4] = "tcp4",
	[T_TCP6] = "tcp6",
	[T_UDP4] = "udp4",
	[T_UDP4C] = "udp4c",
	[T_UDP6] = "udp6",
	[T_UDP6C] = "udp6c",
	[T_UNIX_STREAM] = "unix-stream",
	[T_UNIX_DGRAM] = "unix-dgram",
	[T_UNIX_SEQPACKET] = "unix-seqpacket",
};

static void
watchdog_fired(int sig)
{
	static const char msg[] = ": watchdog: no progress in "
	    "PROBE_WATCHDOG seconds (a call blocked or deadlocked)\n";

	(void)sig;
	(void)!write(STDOUT_FILENO, probe_name, strlen(probe_name));
	(void)!write(STDOUT_FILENO, msg, sizeof(msg) - 1);
	_exit(3);
}

void
probe_init(const char *name)
{
	struct sigaction sa;
	sigset_t chld;

	probe_name = name;
	/*
	 * Under strace (tracecmp's reference run) a traced process is woken
	 * by every signal, even one with no handler, so a child's SIGCHLD
	 * ends a socket wait that has SO_RCVTIMEO with EINTR.  Blocked, it
	 * wakes nothing; waitpid() needs no delivery.
	 */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = watchdog_fired;
	sigaction(SIGALRM, &sa, NULL);
	alarm(PROBE_WATCHDOG);
	/* A transcript must reach the file even if a child _exits. */
	setvbuf(stdout, NULL, _IOLBF, 0);
}

void
fail(const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", probe_name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	exit(1);
}

void
fail_errno(const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	printf("%s: ", probe_name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(": %s (%s)\n", errno_name(e), strerror(e));
	fflush(stdout);
	exit(1);
}

const char *
errno_name(int e)
{
	static char buf[16];
	const char *s = e == 0 ? "0" : strerrorname_np(e);

	if (s != NULL)
		return s;
	snprintf(buf, sizeof(buf), "E?%d", e);
	return buf;
}

enum transport
transport_byname(const char *s)
{
	int t;

	for (t = 0; t < T_COUNT; t++)
		if (strcmp(s, tnames[t]) == 0)
			return (enum transport)t;
	fail("unknown transport %s", s);
}

const char *
transport_name(enum transport t)
{
	return tnames[t];
}

/* The port echod reported for key ("tcp4") in ECHO_DIR/ports. */
static int
echo_port(const char *key)
{
	char path[512], k[16];
	const char *dir = getenv("ECHO_DIR");
	FILE *f;
	int port, found = -1;

	if (dir == NULL)
		fail("ECHO_DIR is not set (where echod runs)");
	snprintf(path, sizeof(path), "%s/ports", dir);
	if ((f = fopen(path, "re")) == NULL)
		fail_errno("cannot open %s", path);
	while (fscanf(f, "%15s %d", k, &port) == 2)
		if (strcmp(k, key) == 0)
			found = port;
	fclose(f);
	if (found <= 0)
		fail("%s has no %s port", path, key);
	return found;
}

static void
peer_inet(struct peer *p, int family, const char *key)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&p->addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&p->addr;
	int port = echo_port(key);

	p->family = family;
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		p->len = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		sin6->sin6_addr = in6addr_loopback;
		p->len = sizeof(*sin6);
	}
}

static void
peer_unix(struct peer *p, const char *file)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&p->addr;
	const char *dir = getenv("ECHO_DIR");
	int n;

	if (dir == NULL)
		fail("ECHO_DIR is not set (where echod runs)");
	p->family = AF_UNIX;
	sun->sun_family = AF_UNIX;
	n = snprintf(sun->sun_path, sizeof(sun->sun_path), "%s/%s", dir, file);
	if (n < 0 || (size_t)n >= sizeof(sun->sun_path))
		fail("socket path %s/%s is too long", dir, file);
	p->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    (size_t)n + 1);
}

void
peer_get(enum transport t, struct peer *p)
{
	memset(p, 0, sizeof(*p));
	p->t = t;
	p->connected = 1;
	switch (t) {
	case T_TCP4:
		p->type = SOCK_STREAM;
		peer_inet(p, AF_INET, "tcp4");
		break;
	case T_TCP6:
		p->type = SOCK_STREAM;
		peer_inet(p, AF_INET6, "tcp6");
		break;
	case T_UDP4:
	case T_UDP4C:
		p->type = SOCK_DGRAM;
		p->connected = t == T_UDP4C;
		peer_inet(p, AF_INET, "udp4");
		break;
	case T_UDP6:
	case T_UDP6C:
		p->type = SOCK_DGRAM;
		p->connected = t == T_UDP6C;
		peer_inet(p, AF_INET6, "udp6");
		break;
	case T_UNIX_STREAM:
		p->type = SOCK_STREAM;
		peer_unix(p, "stream.sock");
		break;
	case T_UNIX_DGRAM:
		p->type = SOCK_DGRAM;
		peer_unix(p, "dgram.sock");
		break;
	case T_UNIX_SEQPACKET:
		p->type = SOCK_SEQPACKET;
		peer_unix(p, "seqpacket.sock");
		break;
	default:
		fail("bad transport %d", (int)t);
	}
}

int
fd_count(void)
{
	struct dirent *d;
	DIR *dir = opendir("/proc/self/fd");
	int n = 0;

	if (dir == NULL)
		fail_errno("opendir /proc/self/fd");
	while ((d = readdir(dir)) != NULL)
		if (d->d_name[0] != '.')
			n++;
	closedir(dir);
	return n - 1;	/* the directory's own */
}

void
set_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = PROBE_IO_TIMEOUT };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0)
		fail_errno("setsockopt(%d, SO_RCVTIMEO/SO_SNDTIMEO)", fd);
}

int
peer_socket(const struct peer *p, int extra)
{
	struct sockaddr_un any = { .sun_family = AF_UNIX };
	int fd;

	if ((fd = socket(p->family, p->type | extra, 0)) < 0)
		fail_errno("socket(%s)", transport_name(p->t));
	set_timeouts(fd);
	/* An AF_UNIX datagram client needs an address for the replies:
	 * bind with only the family autobinds an abstract one. */
	if (p->family == AF_UNIX && p->type == SOCK_DGRAM &&
	    bind(fd, (struct sockaddr *)&any, sizeof(sa_family_t)) != 0)
		fail_errno("autobind of the %s socket", transport_name(p->t));
	if (p->connected &&
	    connect(fd, (const struct sockaddr *)&p->addr, p->len) != 0)
		fail_errno("connect to the %s echo service",
		    transport_name(p->t));
	return fd;
}

void
pattern(void *buf, size_t n, unsigned long seed)
{
	unsigned char *b = buf;
	unsigned long x = seed * 2654435761UL + 0x9e3779b9UL;
	size_t i;

	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		b[i] = (unsigned char)x;
	}
}

void
send_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	ssize_t k;

	while (n > 0) {
		if ((k = send(fd, p, n, 0)) < 0)
			fail_errno("send(%d, %zu bytes)", fd, n);
		if (k == 0)
			fail("send(%d) sent nothing", fd);
		p += k;
		n -= (size_t)k;
	}
}

void
recv_all(int fd, void *buf, size_t n)
{
	char *p = buf;
	size_t want = n;
	ssize_t k;

	while (n > 0) {
		if ((k = recv(fd, p, n, 0)) < 0)
			fail_errno("recv(%d) after %zu of %zu bytes", fd,
			    want - n, want);
		if (k == 0)
			fail("recv(%d): end of stream after %zu of %zu bytes",
			    fd, want - n, want);
		p += k;
		n -= (size_t)k;
	}
}

void
round_trip(int fd, int type, size_t n, unsigned long seed)
{
	char out[65536], in[65536 + 1];
	ssize_t k;

	if (n > sizeof(out))
		fail("round_trip of %zu bytes is too large", n);
	pattern(out, n, seed);
	if (type == SOCK_STREAM) {
		send_all(fd, out, n);
		recv_all(fd, in, n);
	} else {
		if ((k = send(fd, out, n, 0)) != (ssize_t)n)
			fail_errno("send(%d) of a %zu-byte message returned "
			    "%zd", fd, n, k);
		if ((k = recv(fd, in, sizeof(in), 0)) < 0)
			fail_errno("recv(%d) of a %zu-byte echo", fd, n);
		if ((size_t)k != n)
			fail("fd %d: sent a %zu-byte message, the echo has "
			    "%zd", fd, n, k);
	}
	if (memcmp(in, out, n) != 0)
		fail("fd %d: the %zu bytes echoed differ from those sent", fd,
		    n);
}

/* Send n bytes made from seed from x, receive them on y. */
static void
one_way(int x, int y, size_t n, unsigned long seed)
{
	char out[512], in[512];

	pattern(out, n, seed);
	send_all(x, out, n);
	recv_all(y, in, n);
	if (memcmp(in, out, n) != 0)
		fail("fd %d -> fd %d: the bytes received differ", x, y);
}

void
exchange(int x, int y)
{
	one_way(x, y, 300, (unsigned long)x * 7 + (unsigned long)y);
	one_way(y, x, 200, (unsigned long)y * 7 + (unsigned long)x);
}

int
local_listener(int family, int *port)
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
	if ((fd = socket(family, SOCK_STREAM, 0)) < 0)
		fail_errno("socket for a listener");
	if (bind(fd, (struct sockaddr *)&ss, len) != 0)
		fail_errno("bind a listener to port 0");
	if (listen(fd, 64) != 0)
		fail_errno("listen(%d)", fd);
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		fail_errno("getsockname(%d)", fd);
	*port = ntohs(family == AF_INET ? sin->sin_port : sin6->sin6_port);
	return fd;
}

void
tcp_pair(int family, int *cli, int *srv)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int l, port;

	l = local_listener(family, &port);
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		sin6->sin6_addr = in6addr_loopback;
		len = sizeof(*sin6);
	}
	if ((*cli = socket(family, SOCK_STREAM, 0)) < 0)
		fail_errno("socket for a client");
	set_timeouts(*cli);
	if (connect(*cli, (struct sockaddr *)&ss, len) != 0)
		fail_errno("connect to the local listener");
	if ((*srv = accept(l, NULL, NULL)) < 0)
		fail_errno("accept(%d)", l);
	set_timeouts(*srv);
	if (close(l) != 0)
		fail_errno("close(%d) (the listener)", l);
}

int
same_addr(const struct sockaddr_storage *a, socklen_t alen,
    const struct sockaddr_storage *b, socklen_t blen)
{
	const struct sockaddr_in *a4 = (const void *)a, *b4 = (const void *)b;
	const struct sockaddr_in6 *a6 = (const void *)a, *b6 = (const void *)b;
	const struct sockaddr_un *au = (const void *)a, *bu = (const void *)b;

	if (alen < sizeof(sa_family_t) || blen < sizeof(sa_family_t) ||
	    a->ss_family != b->ss_family)
		return 0;
	switch (a->ss_family) {
	case AF_INET:
		return alen == sizeof(*a4) && blen == sizeof(*b4) &&
		    a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	case AF_INET6:
		return alen == sizeof(*a6) && blen == sizeof(*b6) &&
		    a6->sin6_port == b6->sin6_port &&
		    memcmp(&a6->sin6_addr, &b6->sin6_addr, 16) == 0;
	case AF_UNIX:
		return strncmp(au->sun_path, bu->sun_path,
		    sizeof(au->sun_path)) == 0;
	}
	return 0;
}

int
shim_loaded(void)
{
	return dlsym(RTLD_DEFAULT, "WSPShimGetLayerParams") != NULL;
}

void
trace_mark(const char *what)
{
	(void)!write(-1, what, strlen(what));
}

void
trace_begin(void)
{
	static const int kinds[][2] = {
		{ AF_INET, SOCK_STREAM }, { AF_INET, SOCK_DGRAM },
		{ AF_INET6, SOCK_STREAM }, { AF_INET6, SOCK_DGRAM },
		{ AF_UNIX, SOCK_STREAM }, { AF_UNIX, SOCK_DGRAM },
		{ AF_UNIX, SOCK_SEQPACKET },
	};
	size_t i;
	int fd;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if ((fd = socket(kinds[i][0], kinds[i][1], 0)) < 0)
			fail_errno("socket(%d, %d)", kinds[i][0], kinds[i][1]);
		close(fd);
	}
	trace_mark("probe:begin");
}
