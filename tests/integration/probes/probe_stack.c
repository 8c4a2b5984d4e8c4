/*
 * probe_stack - libwspshim.so stacked with another preload (libstack.so).
 *
 *	probe_stack
 *
 * Run with libstack.so in LD_PRELOAD, before or after libwspshim.so.  The
 * probe sends a known number of bytes to sockets with send(), sendto(),
 * sendmsg() and write(); libstack.so, whatever its place, must have
 * counted exactly those bytes (each send reached it exactly once), and
 * the echoes must be intact.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "probe.h"

int
main(void)
{
	struct peer p;
	unsigned long *counted, before, sent = 0;
	char out[1000], in[1000];
	struct iovec iov = { out, 300 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	int fd;

	probe_init("probe_stack");
	if ((counted = dlsym(RTLD_DEFAULT, "stack_bytes")) == NULL)
		fail("libstack.so is not preloaded");
	peer_get(T_TCP4, &p);
	fd = peer_socket(&p, 0);
	before = *counted;
	pattern(out, sizeof(out), 3);
	if (send(fd, out, 100, 0) != 100 ||
	    sendto(fd, out + 100, 200, 0, NULL, 0) != 200 ||
	    sendmsg(fd, &m, 0) != 300 || write(fd, out, 400) != 400)
		fail_errno("sending 1000 bytes");
	sent = 1000;
	recv_all(fd, in, 1000);
	if (memcmp(in, out, 300) != 0 || memcmp(in + 300, out, 300) != 0 ||
	    memcmp(in + 600, out, 400) != 0)
		fail("the echo differs");
	if (*counted - before != sent)
		fail("libstack.so counted %lu bytes to sockets, the program "
		    "sent %lu", *counted - before, sent);
	close(fd);
	printf("stacked preload saw exactly the %lu bytes sent\n", sent);
	return 0;
}
