/*
 * probe_early - use the sockets libearly.so made before the shim was
 * initialised.
 *
 *	probe_early
 *
 * They must carry data (adopted on first use when the shim manages
 * them), survive dup and close of the original, and fd numbers must be
 * what they would be without the shim.
 */
#include <stdio.h>
#include <unistd.h>

#include "early.h"
#include "probe.h"

static void
use(int fd, unsigned long seed)
{
	int d;

	if (fd < 0)
		fail("libearly made no socket");
	round_trip(fd, SOCK_STREAM, 1500, seed);
	if ((d = dup(fd)) < 0)
		fail_errno("dup(%d)", fd);
	round_trip(d, SOCK_STREAM, 10, seed + 1);
	if (close(fd) != 0)
		fail_errno("close(%d)", fd);
	round_trip(d, SOCK_STREAM, 20000, seed + 2);
	if (close(d) != 0)
		fail_errno("close(%d)", d);
	printf("early fd %d works, through dup %d too\n", fd, d);
}

int
main(void)
{
	struct peer p;
	int fd;

	probe_init("probe_early");
	trace_begin();
	use(early_tcp, 10);
	use(early_unix, 20);
	peer_get(T_TCP4, &p);
	fd = peer_socket(&p, 0);
	round_trip(fd, SOCK_STREAM, 100, 30);
	close(fd);
	printf("a new socket after them: fd %d\n", fd);
	trace_mark("probe:end");
	return 0;
}
