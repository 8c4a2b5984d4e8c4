/*
 * probe_fortify - read, recv and recvfrom in a _FORTIFY_SOURCE=2 build.
 *
 *	probe_fortify
 *
 * With buffers of known size and lengths the compiler cannot see, glibc
 * sends these calls to __read_chk, __recv_chk and __recvfrom_chk (the
 * test checks the imports); the shim must catch those entry points too.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "probe.h"

/* Lengths the compiler cannot fold into constants. */
static volatile size_t want = 600;

/* Receive want bytes into a fixed buffer with read or recv. */
static void
fortified_stream(int fd, int use_read)
{
	char out[600], in[600], tmp[1024];
	size_t got = 0, n = want;
	ssize_t k;

	pattern(out, n, (unsigned long)use_read + 1);
	send_all(fd, out, n);
	while (got < n) {
		/* tmp's size is known, the length is not: a _chk call. */
		if (use_read)
			k = read(fd, tmp, want - got);
		else
			k = recv(fd, tmp, want - got, 0);
		if (k <= 0)
			fail_errno("%s(%d) after %zu bytes", use_read ?
			    "read" : "recv", fd, got);
		memcpy(in + got, tmp, (size_t)k);
		got += (size_t)k;
	}
	if (memcmp(in, out, n) != 0)
		fail("%s: the echo differs", use_read ? "read" : "recv");
}

static void
fortified_dgram(int fd, const struct peer *p)
{
	char out[600], in[1024];
	struct sockaddr_storage from;
	socklen_t len = sizeof(from);
	ssize_t k;

	pattern(out, want, 9);
	if (sendto(fd, out, want, 0, (const struct sockaddr *)&p->addr,
	    p->len) != (ssize_t)want)
		fail_errno("sendto");
	k = recvfrom(fd, in, want + 1, 0, (struct sockaddr *)&from, &len);
	if (k != (ssize_t)want || memcmp(in, out, want) != 0)
		fail_errno("recvfrom returned %zd, want the %zu bytes sent",
		    k, want);
	if (!same_addr(&from, len, &p->addr, p->len))
		fail("recvfrom: the source is not the server");
}

int
main(void)
{
	struct peer p;
	int fd;

	probe_init("probe_fortify");
	peer_get(T_TCP4, &p);
	fd = peer_socket(&p, 0);
	fortified_stream(fd, 1);
	fortified_stream(fd, 0);
	close(fd);
	peer_get(T_UDP4, &p);
	fd = peer_socket(&p, 0);
	fortified_dgram(fd, &p);
	close(fd);
	printf("fortified read, recv, recvfrom: echoes intact\n");
	return 0;
}
