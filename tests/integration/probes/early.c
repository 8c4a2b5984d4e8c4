/*
 * early.c - libearly.so, a library whose constructor uses sockets before
 * libwspshim.so's constructor has run.
 *
 * The dynamic linker initialises a program's libraries before the
 * preloaded ones, so these hooks run while the shim is not ready yet:
 * they must reach libc.  The sockets made here (a TCP and an AF_UNIX
 * stream connection to the echo server) stay open for probe_early, which
 * uses them (the shim adopts them on first use).  The destructor, which
 * runs after libwspshim.so's own destructors, uses a socket again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "early.h"
#include "probe.h"

int early_tcp = -1;
int early_unix = -1;

__attribute__((constructor)) static void
early_init(void)
{
	struct peer p;

	probe_name = "libearly constructor";
	peer_get(T_TCP4, &p);
	early_tcp = peer_socket(&p, 0);
	round_trip(early_tcp, SOCK_STREAM, 2000, 1);
	peer_get(T_UNIX_STREAM, &p);
	early_unix = peer_socket(&p, 0);
	round_trip(early_unix, SOCK_STREAM, 2000, 2);
}

__attribute__((destructor)) static void
early_fini(void)
{
	struct peer p;
	int fd;

	probe_name = "libearly destructor";
	peer_get(T_TCP4, &p);
	fd = peer_socket(&p, 0);
	round_trip(fd, SOCK_STREAM, 3000, 3);
	if (close(fd) != 0) {
		printf("libearly destructor: close(%d) failed\n", fd);
		_exit(1);
	}
	printf("destructor: a socket after the shim's destructors works\n");
	fflush(stdout);
}
