/*
 * probe_behind - descriptors created or closed where no hook sees it.
 *
 *	probe_behind sysclose|sysreuse|fclose|sysdup2|getaddrinfo
 *
 * sysclose: a socket closed with syscall(SYS_close); the number, reused
 *   by open() and then by socket(), names the file and then the new
 *   socket.
 * sysreuse: a TCP socket closed with syscall(SYS_close), its number
 *   reused by a UDP socket made with syscall(SYS_socket): the UDP socket
 *   carries datagrams and, when the shim is loaded, getsockopt
 *   SO_PROTOCOL_INFOW describes it as UDP (not the TCP socket before it).
 * fclose: a socket wrapped with fdopen() and closed by fclose() (glibc
 *   closes it internally); the number, reused by pipe(), is the pipe.
 * sysdup2: syscall(SYS_dup2) puts a pipe over a socket's number; reads
 *   and writes there go to the pipe.
 * getaddrinfo: with AI_ADDRCONFIG glibc opens and closes a netlink socket
 *   internally; sockets made afterwards work and are numbered as usual.
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <wspshim/winsock2.h>

#include "probe.h"

static struct peer peer;

/* A TCP connection to the echo server, one round trip done. */
static int
echo_socket(void)
{
	int fd = peer_socket(&peer, 0);

	round_trip(fd, SOCK_STREAM, 500, (unsigned long)fd);
	return fd;
}

/* fd must read as /dev/zero. */
static void
expect_zeros(int fd, const char *how)
{
	char b[16], z[16] = { 0 };
	ssize_t k;

	memset(b, 'x', sizeof(b));
	if ((k = read(fd, b, sizeof(b))) != (ssize_t)sizeof(b) ||
	    memcmp(b, z, sizeof(b)) != 0)
		fail_errno("read(%d) of /dev/zero after %s returned %zd", fd,
		    how, k);
}

/* p[0]/p[1] must carry bytes as a pipe. */
static void
expect_pipe(int rd, int wr, const char *how)
{
	char b[8];
	ssize_t k;

	if ((k = write(wr, "pipe!", 5)) != 5)
		fail_errno("write(%d) to the pipe after %s returned %zd", wr,
		    how, k);
	if ((k = read(rd, b, sizeof(b))) != 5 || memcmp(b, "pipe!", 5) != 0)
		fail_errno("read(%d) from the pipe after %s returned %zd", rd,
		    how, k);
}

static void
sysclose(void)
{
	int fd = echo_socket(), z, n;

	if (syscall(SYS_close, fd) != 0)
		fail_errno("syscall(SYS_close, %d)", fd);
	if ((z = open("/dev/zero", O_RDONLY | O_CLOEXEC)) != fd)
		fail("open reused fd %d as %d", fd, z);
	expect_zeros(z, "syscall(SYS_close) of a socket");
	if (close(z) != 0)
		fail_errno("close(%d), /dev/zero", z);
	if ((n = echo_socket()) != fd)
		fail("a new socket is fd %d, want %d", n, fd);
	round_trip(n, SOCK_STREAM, 3000, 8);
	close(n);
	printf("sysclose: fd %d reused by open() reads the file; then by "
	    "socket()\n", fd);
}

/* With the shim: the catalog entry getsockopt reports for fd has
 * type/protocol. */
static void
expect_entry(int fd, int type, int protocol)
{
	WSAPROTOCOL_INFOW info;
	socklen_t len = sizeof(info);

	if (!shim_loaded())
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL_INFOW, &info, &len) != 0)
		fail_errno("getsockopt(%d, SO_PROTOCOL_INFOW)", fd);
	if (info.iSocketType != type || info.iProtocol != protocol)
		fail("fd %d: SO_PROTOCOL_INFOW says type %d protocol %d, the "
		    "socket is type %d protocol %d", fd, info.iSocketType,
		    info.iProtocol, type, protocol);
}

static void
sysreuse(void)
{
	struct peer pu;
	int fd = echo_socket(), u;

	expect_entry(fd, SOCK_STREAM, IPPROTO_TCP);
	if (syscall(SYS_close, fd) != 0)
		fail_errno("syscall(SYS_close, %d)", fd);
	if ((u = (int)syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0)) != fd)
		fail("syscall(SYS_socket) reused fd %d as %d", fd, u);
	peer_get(T_UDP4C, &pu);
	set_timeouts(u);
	if (connect(u, (struct sockaddr *)&pu.addr, pu.len) != 0)
		fail_errno("connect(%d) to the UDP echo service", u);
	round_trip(u, SOCK_DGRAM, 1000, 10);
	expect_entry(u, SOCK_DGRAM, IPPROTO_UDP);
	close(u);
	printf("sysreuse: fd %d, a TCP socket, then a UDP one made with "
	    "syscall(), is UDP\n", fd);
}

static void
do_fclose(void)
{
	char line[64];
	FILE *f;
	int fd = echo_socket(), p[2];

	if ((f = fdopen(fd, "r+")) == NULL)
		fail_errno("fdopen(%d)", fd);
	if (fputs("through stdio\n", f) == EOF || fflush(f) != 0)
		fail_errno("fputs to the socket");
	if (fgets(line, sizeof(line), f) == NULL ||
	    strcmp(line, "through stdio\n") != 0)
		fail("fgets: the echo through stdio differs");
	if (fclose(f) != 0)
		fail_errno("fclose");
	if (pipe(p) != 0)
		fail_errno("pipe");
	if (p[0] != fd)
		fail("pipe() reused fd %d as %d", fd, p[0]);
	expect_pipe(p[0], p[1], "fclose() of a socket");
	close(p[0]);
	close(p[1]);
	printf("fclose: fd %d reused by pipe() is the pipe\n", fd);
}

static void
sysdup2(void)
{
	int fd = echo_socket(), p[2];

	if (pipe(p) != 0)
		fail_errno("pipe");
	if (syscall(SYS_dup2, p[0], fd) != fd)
		fail_errno("syscall(SYS_dup2, %d, %d)", p[0], fd);
	expect_pipe(fd, p[1], "syscall(SYS_dup2) over a socket");
	close(fd);
	close(p[0]);
	close(p[1]);
	printf("sysdup2: fd %d, replaced by a pipe, is the pipe\n", fd);
}

static void
gai(void)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
		.ai_flags = AI_ADDRCONFIG | AI_NUMERICHOST,
	}, *res;
	int rc, fd;

	if ((rc = getaddrinfo("127.0.0.1", "80", &hints, &res)) != 0)
		fail("getaddrinfo: %s", gai_strerror(rc));
	freeaddrinfo(res);
	fd = echo_socket();
	round_trip(fd, SOCK_STREAM, 2000, 9);
	close(fd);
	printf("getaddrinfo: then fd %d works\n", fd);
}

int
main(int argc, char **argv)
{
	const char *w = argc == 2 ? argv[1] : "";

	probe_init("probe_behind");
	peer_get(T_TCP4, &peer);
	if (strcmp(w, "sysclose") == 0)
		sysclose();
	else if (strcmp(w, "sysreuse") == 0)
		sysreuse();
	else if (strcmp(w, "fclose") == 0)
		do_fclose();
	else if (strcmp(w, "sysdup2") == 0)
		sysdup2();
	else if (strcmp(w, "getaddrinfo") == 0)
		gai();
	else
		fail("usage: probe_behind sysclose|sysreuse|fclose|sysdup2|"
		    "getaddrinfo");
	return 0;
}
