/*
 * probe_static - a TCP conversation over loopback in a statically linked
 * program: no dynamic loader, so no preload reaches it (tracecmp and
 * "wspshim trace -v" must say so).  Only libc, linked -static.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
main(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	char buf[4];
	int l, c, a;

	if ((l = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    bind(l, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    listen(l, 1) != 0 ||
	    getsockname(l, (struct sockaddr *)&sin, &len) != 0 ||
	    (c = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    connect(c, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    (a = accept(l, NULL, NULL)) < 0 ||
	    send(c, "ping", 4, 0) != 4 || recv(a, buf, 4, MSG_WAITALL) != 4 ||
	    memcmp(buf, "ping", 4) != 0) {
		perror("probe_static");
		return 1;
	}
	close(a);
	close(c);
	close(l);
	puts("probe_static: ok");
	return 0;
}
