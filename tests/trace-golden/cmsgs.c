/*
 * cmsgs.c - sends every control message of cmsg-cases.h with sendmsg()
 * on a UDP socket to a receiver of its own (many fail with EINVAL: what
 * matters is the arguments' decoding).  test_trace_golden.sh traces it
 * with strace and with the trace layer, at several -s sizes, and the two
 * must print each msg_control alike.  It prints how many it sent.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cmsg-cases.h"

int
main(void)
{
	struct sockaddr_in to = { .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(to);
	unsigned char ctl[256];
	struct iovec iov = { .iov_base = "x", .iov_len = 1 };
	struct msghdr m = { .msg_name = &to, .msg_namelen = sizeof(to),
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl };
	size_t i;
	int r, s;

	if ((r = socket(AF_INET, SOCK_DGRAM, 0)) < 0 ||
	    bind(r, (struct sockaddr *)&to, sizeof(to)) != 0 ||
	    getsockname(r, (struct sockaddr *)&to, &len) != 0 ||
	    (s = socket(AF_INET, SOCK_DGRAM, 0)) < 0) {
		perror("cmsgs: a UDP socket on 127.0.0.1");
		return 1;
	}
	for (i = 0; i < CMSG_NCASES; i++) {
		m.msg_controllen = cmsg_case_build(&cmsg_cases[i], ctl);
		(void)sendmsg(s, &m, MSG_DONTWAIT);
	}
	close(s);
	close(r);
	printf("%zu\n", CMSG_NCASES);	/* how many the traces must show */
	return 0;
}
