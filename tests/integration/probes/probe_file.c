/*
 * probe_file - sendfile and splice between files, pipes and sockets.
 *
 *	probe_file sendfile|splice
 *
 * sendfile: 200 kB of a temporary file go to a TCP connection to the echo
 *   server, with an offset (which must advance; the file position must
 *   not) and without one (the file position must advance); the echo must
 *   be the file.
 * splice: bytes go from a pipe into the socket and from the socket into a
 *   pipe; what comes out of the second pipe is what went into the first.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "probe.h"

#define FILESZ	200000

static char data[FILESZ], back[FILESZ];

/* A temporary file (in ECHO_DIR) holding data; its descriptor (already
 * unlinked). */
static int
temp_file(void)
{
	const char *dir = getenv("ECHO_DIR");
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/probe-file.XXXXXX",
	    dir != NULL ? dir : ".");
	if ((fd = mkstemp(path)) < 0)
		fail_errno("mkstemp");
	unlink(path);
	pattern(data, sizeof(data), 77);
	if (write(fd, data, sizeof(data)) != (ssize_t)sizeof(data))
		fail_errno("writing the temporary file");
	return fd;
}

/* sendfile all of [from, FILESZ) to sock; off NULL uses the position. */
static void
send_file(int sock, int f, off_t *off, off_t from)
{
	size_t left = FILESZ - (size_t)from;
	ssize_t k;

	while (left > 0) {
		if ((k = sendfile(sock, f, off, left)) <= 0)
			fail_errno("sendfile(%d, %d) with %zu bytes left", sock,
			    f, left);
		left -= (size_t)k;
	}
}

static void
do_sendfile(void)
{
	struct peer p;
	off_t off = 1000, pos;
	int sock, f = temp_file();

	peer_get(T_TCP4, &p);
	sock = peer_socket(&p, 0);
	if (lseek(f, 5, SEEK_SET) != 5)
		fail_errno("lseek");
	send_file(sock, f, &off, off);
	recv_all(sock, back, FILESZ - 1000);
	if (off != FILESZ || memcmp(back, data + 1000, FILESZ - 1000) != 0)
		fail("sendfile with an offset: offset %lld, or the echo "
		    "differs", (long long)off);
	if ((pos = lseek(f, 0, SEEK_CUR)) != 5)
		fail("sendfile with an offset moved the file position to %lld",
		    (long long)pos);
	send_file(sock, f, NULL, 5);
	recv_all(sock, back, FILESZ - 5);
	if (memcmp(back, data + 5, FILESZ - 5) != 0)
		fail("sendfile from the file position: the echo differs");
	if ((pos = lseek(f, 0, SEEK_CUR)) != FILESZ)
		fail("sendfile left the file position at %lld, want %d",
		    (long long)pos, FILESZ);
	close(sock);
	close(f);
	printf("sendfile: %d bytes with an offset and from the position, "
	    "echoed intact\n", 2 * FILESZ - 1005);
}

/* Move n bytes with splice from in to out (one of them a pipe). */
static void
splice_all(int in, int out, size_t n)
{
	ssize_t k;

	while (n > 0) {
		if ((k = splice(in, NULL, out, NULL, n, 0)) <= 0)
			fail_errno("splice(%d -> %d) with %zu bytes left", in,
			    out, n);
		n -= (size_t)k;
	}
}

static void
do_splice(void)
{
	struct peer p;
	size_t n = 50000;
	int sock, a[2], b[2];

	peer_get(T_TCP4, &p);
	sock = peer_socket(&p, 0);
	if (pipe(a) != 0 || pipe(b) != 0)
		fail_errno("pipe");
	pattern(data, n, 78);
	if (write(a[1], data, n) != (ssize_t)n)
		fail_errno("filling the pipe");
	splice_all(a[0], sock, n);
	splice_all(sock, b[1], n);
	if (read(b[0], back, n) != (ssize_t)n || memcmp(back, data, n) != 0)
		fail("splice: what came out is not what went in");
	close(sock);
	printf("splice: %zu bytes pipe -> socket -> pipe intact\n", n);
}

int
main(int argc, char **argv)
{
	const char *w = argc == 2 ? argv[1] : "";

	probe_init("probe_file");
	if (strcmp(w, "sendfile") == 0)
		do_sendfile();
	else if (strcmp(w, "splice") == 0)
		do_splice();
	else
		fail("usage: probe_file sendfile|splice");
	return 0;
}
