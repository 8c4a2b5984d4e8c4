/*
 * probe_static_connect.c - a statically linked program (no PT_INTERP, so no
 * ld.so and no LD_PRELOAD) that connects to 127.0.0.1:PORT: "connected",
 * or the error, on stdout; exit 0 or 1.  test_command_errors.sh shows
 * that "wspshim run" says the shim cannot reach it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: probe_static PORT\n");
		return 2;
	}
	sin.sin_port = htons((unsigned short)atoi(argv[1]));
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		printf("%s\n", strerror(errno));
		return 1;
	}
	printf("connected\n");
	close(fd);
	return 0;
}
