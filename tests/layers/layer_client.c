/*
 * layer_client.c - the program test_layers_env.sh runs under the preload
 * with WSPSHIM_LAYERS set.  It prints one line saying what happened and
 * exits 0, or exits 1 when something it checks is wrong (2: bad usage).
 *
 *   layer_client socket FAMILY TYPE
 *	socket(); prints "ok" or "errno=NAME".
 *   layer_client wsasocket FAMILY TYPE
 *	WSAStartup, WSASocketW, WSACleanup; prints "ok" or "wsa=CODE".
 *   layer_client exchange FAMILY TYPE [wsacleanup]
 *	a round trip between two sockets of that kind made with the POSIX
 *	calls (listen/connect/accept for streams), checking that
 *	WSAIoctl(SIO_BASE_HANDLE) answers each socket's own descriptor;
 *	with wsacleanup, the sockets are closed and WSACleanup runs before
 *	exit (so every chain is cleaned up); without it the program exits
 *	with its sockets open and WSAStartup in force.  Prints "ok" or
 *	"skip" (no IPv6 loopback).
 *
 * FAMILY is inet, inet6 or unix; TYPE is stream, dgram or seqpacket.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <wspshim/winsock2.h>

/* An errno's name, for the ones the tests expect. */
static const char *
errno_name(int e)
{
	static char buf[16];

	switch (e) {
	case ELIBACC:
		return "ELIBACC";
	case ELIBBAD:
		return "ELIBBAD";
	case EAFNOSUPPORT:
		return "EAFNOSUPPORT";
	default:
		snprintf(buf, sizeof(buf), "%d", e);
		return buf;
	}
}

/* The value of a FAMILY or TYPE word, or -1. */
static int
word(const char *w)
{
	static const struct {
		const char *name;
		int value;
	} words[] = {
		{ "inet", AF_INET }, { "inet6", AF_INET6 },
		{ "unix", AF_UNIX }, { "stream", SOCK_STREAM },
		{ "dgram", SOCK_DGRAM }, { "seqpacket", SOCK_SEQPACKET },
	};
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(w, words[i].name) == 0)
			return words[i].value;
	return -1;
}

/* Fail: print why and exit 1. */
static void
fail(const char *what)
{
	printf("FAIL %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Exit 1 unless WSAIoctl(SIO_BASE_HANDLE) on fd answers fd. */
static void
check_base(int fd)
{
	DWORD n = 0;
	int base = -1;

	if (WSAIoctl((SOCKET)fd, SIO_BASE_HANDLE, NULL, 0, &base,
	    sizeof(base), &n, NULL, NULL) != 0) {
		printf("FAIL SIO_BASE_HANDLE on %d: WSA error %d\n", fd,
		    WSAGetLastError());
		exit(1);
	}
	if (base != fd || n != sizeof(base)) {
		printf("FAIL SIO_BASE_HANDLE on %d answered %d (%u bytes)\n",
		    fd, base, n);
		exit(1);
	}
}

/* A loopback address of family af, port 0 (unix: an abstract name). */
static socklen_t
loopback(int af, struct sockaddr_storage *ss, int n)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_un *sun = (struct sockaddr_un *)ss;
	int len;

	memset(ss, 0, sizeof(*ss));
	switch (af) {
	case AF_INET:
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(*sin);
	case AF_INET6:
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		return sizeof(*sin6);
	default:
		sun->sun_family = AF_UNIX;
		len = snprintf(sun->sun_path + 1, sizeof(sun->sun_path) - 1,
		    "wspshim-layer-client-%d-%d", (int)getpid(), n);
		return (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
		    1 + (size_t)len);
	}
}

/* A socket of (af, type) bound to a loopback address, its address in
 * *ss; exits 0 with "skip" when IPv6 has no loopback here. */
static int
bound(int af, int type, struct sockaddr_storage *ss, socklen_t *len, int n)
{
	int fd;

	if ((fd = socket(af, type, 0)) < 0)
		fail("socket");
	*len = loopback(af, ss, n);
	if (bind(fd, (struct sockaddr *)ss, *len) != 0) {
		if (af == AF_INET6 && errno == EADDRNOTAVAIL) {
			printf("skip\n");
			exit(0);
		}
		fail("bind");
	}
	if (getsockname(fd, (struct sockaddr *)ss, len) != 0)
		fail("getsockname");
	return fd;
}

/* Exit 1 unless fd receives exactly msg. */
static void
expect(int fd, const char *msg)
{
	char buf[64];
	ssize_t n;

	n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0)
		fail("recv");
	if ((size_t)n != strlen(msg) || memcmp(buf, msg, (size_t)n) != 0) {
		printf("FAIL received %.*s, want %s\n", (int)n, buf, msg);
		exit(1);
	}
}

/* The exchange command; returns the exit status. */
static int
exchange(int af, int type, int cleanup)
{
	struct sockaddr_storage a, b;
	socklen_t alen, blen;
	WSADATA wd;
	int s1, s2, s3 = -1;

	if (WSAStartup(MAKEWORD(2, 2), &wd) != 0)
		fail("WSAStartup");
	s1 = bound(af, type, &a, &alen, 1);
	if (type == SOCK_DGRAM) {
		s2 = bound(af, type, &b, &blen, 2);
		if (sendto(s2, "ping", 4, 0, (struct sockaddr *)&a, alen) != 4)
			fail("sendto");
		expect(s1, "ping");
		if (sendto(s1, "pong", 4, 0, (struct sockaddr *)&b, blen) != 4)
			fail("sendto");
		expect(s2, "pong");
	} else {
		if (listen(s1, 1) != 0)
			fail("listen");
		if ((s2 = socket(af, type, 0)) < 0)
			fail("socket");
		if (connect(s2, (struct sockaddr *)&a, alen) != 0)
			fail("connect");
		if ((s3 = accept(s1, NULL, NULL)) < 0)
			fail("accept");
		check_base(s3);
		if (send(s2, "ping", 4, 0) != 4)
			fail("send");
		expect(s3, "ping");
		if (send(s3, "pong", 4, 0) != 4)
			fail("send");
		expect(s2, "pong");
	}
	check_base(s1);
	check_base(s2);
	if (cleanup) {
		if (close(s1) != 0 || close(s2) != 0 ||
		    (s3 >= 0 && close(s3) != 0))
			fail("close");
		if (WSACleanup() != 0)
			fail("WSACleanup");
	}
	printf("ok\n");
	return 0;
}

int
main(int argc, char **argv)
{
	WSADATA wd;
	SOCKET s;
	int af, type, fd;

	if (argc < 4 || (af = word(argv[2])) < 0 || (type = word(argv[3])) < 0)
		return 2;
	setvbuf(stdout, NULL, _IONBF, 0);
	if (strcmp(argv[1], "socket") == 0) {
		fd = socket(af, type, 0);
		if (fd < 0)
			printf("errno=%s\n", errno_name(errno));
		else
			printf("ok\n");
		return 0;
	}
	if (strcmp(argv[1], "wsasocket") == 0) {
		if (WSAStartup(MAKEWORD(2, 2), &wd) != 0)
			fail("WSAStartup");
		s = WSASocketW(af, type, 0, NULL, 0, 0);
		if (s == INVALID_SOCKET)
			printf("wsa=%d\n", WSAGetLastError());
		else
			printf("ok\n");
		WSACleanup();
		return 0;
	}
	if (strcmp(argv[1], "exchange") == 0)
		return exchange(af, type, argc > 4 &&
		    strcmp(argv[4], "wsacleanup") == 0);
	return 2;
}
