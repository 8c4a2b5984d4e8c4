/*
 * probe_race - a send on a duplicate while another thread closes the
 * original and makes a new socket under the same number.
 *
 *	probe_race		(with librace.so preloaded, below the shim)
 *
 * S is a UDP socket connected to receiver R1, D = F_DUPFD(S).  The main
 * thread sends on D; librace.so holds that send just before the syscall
 * while a second thread closes S and makes socket N (it gets S's number)
 * connected to receiver R2.  The datagram was sent on D: R1 must have it,
 * R2 nothing, as without the shim.
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "probe.h"
#include "race.h"

static sem_t *go, *done;
static int S, N;
static struct sockaddr_storage r2addr;
static socklen_t r2len;

/* A UDP receiver on 127.0.0.1; its address into *ss. */
static int
receiver(struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	int fd;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*len = sizeof(*ss);
	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)ss, sizeof(*sin)) != 0 ||
	    getsockname(fd, (struct sockaddr *)ss, len) != 0)
		fail_errno("a UDP receiver");
	set_timeouts(fd);
	return fd;
}

/* The other thread: close the original, make N under its number. */
static void *
other(void *arg)
{
	(void)arg;
	sem_wait(go);
	if (close(S) != 0)
		fail_errno("close(%d)", S);
	if ((N = socket(AF_INET, SOCK_DGRAM, 0)) < 0 ||
	    connect(N, (struct sockaddr *)&r2addr, r2len) != 0)
		fail_errno("a second socket");
	sem_post(done);
	return NULL;
}

int
main(void)
{
	struct sockaddr_storage r1addr;
	socklen_t r1len;
	pthread_t t;
	int *armed, r1, r2, d;
	char b[16];
	ssize_t k;

	probe_init("probe_race");
	armed = dlsym(RTLD_DEFAULT, "race_armed");
	go = dlsym(RTLD_DEFAULT, "race_go");
	done = dlsym(RTLD_DEFAULT, "race_done");
	if (armed == NULL || go == NULL || done == NULL)
		fail("librace.so is not preloaded");
	sem_init(go, 0, 0);
	sem_init(done, 0, 0);
	r1 = receiver(&r1addr, &r1len);
	r2 = receiver(&r2addr, &r2len);
	if ((S = socket(AF_INET, SOCK_DGRAM, 0)) < 0 ||
	    connect(S, (struct sockaddr *)&r1addr, r1len) != 0)
		fail_errno("the first socket");
	if ((d = fcntl(S, F_DUPFD, 50)) < 0)
		fail_errno("F_DUPFD(%d)", S);
	if (pthread_create(&t, NULL, other, NULL) != 0)
		fail("pthread_create");
	*armed = 1;
	if (send(d, "for-r1", 6, 0) != 6)
		fail_errno("send(%d)", d);
	pthread_join(t, NULL);
	if (N != S)
		fail("the second socket is fd %d, not %d", N, S);
	if ((k = recv(r1, b, sizeof(b), 0)) != 6 || memcmp(b, "for-r1", 6))
		fail_errno("R1 did not get the datagram sent on the "
		    "duplicate (recv %zd)", k);
	if (recv(r2, b, sizeof(b), MSG_DONTWAIT) >= 0)
		fail("R2 got a datagram sent on the duplicate of another "
		    "socket");
	printf("send on dup %d while fd %d was closed and reused: it went "
	    "where it should\n", d, S);
	return 0;
}
