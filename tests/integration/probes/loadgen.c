/*
 * loadgen - the load test's client: drives loadd over loopback and checks
 * every byte.
 *
 *	loadgen PORT FILE REQUESTS CONNS
 *
 * CONNS threads share REQUESTS requests, keep-alive, each thread opening
 * a new connection every 8 requests.  Request i is GET /file (every
 * fourth) or GET /gen/N with N from i (0 to 64 KiB); each response must
 * be 200 with exactly the expected body (FILE's bytes, or the pattern).
 * The run has two halves: after each, with every connection closed,
 * GET /stats asks the server for its descriptors (client connections
 * left out) and resident set.
 *
 * Prints, the same on every good run whatever the mode the server runs
 * in: the request and byte counts, a digest of every body received, the
 * error count, whether the descriptor count was the same after both
 * halves, and whether the resident set grew by at most RSS_SLACK KiB
 * between them.  The measured figures go to stderr.  Exits 0 only when
 * all of that holds.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

/*
 * How much the server's resident set may grow from the end of the first
 * half to the end of the second, in KiB.  The first half warms up
 * everything that grows to a working size once (malloc arenas of each
 * thread that serves, the pools of wsocks and handles, the layers'
 * per-socket state, page cache of the file mapped by sendfile is not
 * counted); after that a server that frees what it allocates stays within
 * a few pages, while a leak of even 64 bytes per request or 512 per
 * connection over a half (2000 requests, 250 connections by default)
 * would pass 128 KiB.
 */
#define RSS_SLACK	128
#define PER_CONN	8		/* requests on one connection */
#define IO_TIMEOUT	10		/* seconds, each blocking call */

static int port;
static unsigned char *file;
static size_t file_len;
static long nreq;
static int nconn;
static _Atomic long next_req, errors, nfile, ngen;
static _Atomic unsigned long long nbytes, digest;
static long half_end;

/* FNV-1a of n bytes. */
static uint64_t
fnv(const unsigned char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	while (n-- > 0)
		h = (h ^ *p++) * 1099511628211ULL;
	return h;
}

static void
err(const char *fmt, long i, const char *what)
{
	fprintf(stderr, "loadgen: request %ld: %s%s%s\n", i, fmt,
	    what ? ": " : "", what ? what : "");
	atomic_fetch_add(&errors, 1);
}

/* A connected socket with timeouts, or -1. */
static int
dial(void)
{
	struct sockaddr_in a = {
		.sin_family = AF_INET,
		.sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	struct timeval tv = { .tv_sec = IO_TIMEOUT };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Send path's request on fd and read the response body into a malloc'd
 * buffer: its length, or -1 (said why). */
static long
get(int fd, const char *path, unsigned char **body, long i)
{
	char req[128], head[512], *p;
	size_t hn = 0;
	long len, got = 0;
	ssize_t k;
	int n;

	*body = NULL;
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n",
	    path);
	if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		err("send", i, strerror(errno));
		return -1;
	}
	/* The header, a byte at a time (it is short): nothing of the body
	 * is read with it. */
	while (hn < 4 || memcmp(head + hn - 4, "\r\n\r\n", 4) != 0) {
		if (hn + 1 >= sizeof(head) || recv(fd, head + hn, 1, 0) != 1) {
			err("reading the header", i, strerror(errno));
			return -1;
		}
		hn++;
	}
	head[hn] = '\0';
	if (strncmp(head, "HTTP/1.1 200 OK\r\n", 17) != 0 ||
	    (p = strstr(head, "Content-Length: ")) == NULL) {
		err("bad response", i, head);
		return -1;
	}
	len = strtol(p + 16, NULL, 10);
	if (len < 0 || (*body = malloc((size_t)len + 1)) == NULL) {
		err("bad length", i, p);
		return -1;
	}
	while (got < len) {
		k = recv(fd, *body + got, (size_t)(len - got), 0);
		if (k <= 0) {
			err("reading the body", i, k == 0 ? "end of stream" :
			    strerror(errno));
			return -1;
		}
		got += k;
	}
	(*body)[len] = '\0';
	return len;
}

/* Check request i's response body. */
static void
check(long i, const unsigned char *b, long len)
{
	long n, j;

	if (i % 4 == 0) {
		if ((size_t)len != file_len || memcmp(b, file, file_len) != 0) {
			err("the file differs", i, NULL);
			return;
		}
		atomic_fetch_add(&nfile, 1);
	} else {
		n = (i * 2654435761L) % 65537;
		if (len != n) {
			err("generated body of the wrong length", i, NULL);
			return;
		}
		for (j = 0; j < n; j++)
			if (b[j] != (unsigned char)('a' + (j * 7 + n) % 26)) {
				err("generated body differs", i, NULL);
				return;
			}
		atomic_fetch_add(&ngen, 1);
	}
	atomic_fetch_add(&nbytes, (unsigned long long)len);
	/* Order-independent: a sum over requests of (i, body) hashes. */
	atomic_fetch_add(&digest, fnv(b, (size_t)len) ^ (uint64_t)i *
	    0x9e3779b97f4a7c15ULL);
}

static void *
worker(void *arg)
{
	unsigned char *body;
	char path[64];
	long i, len;
	int fd = -1, on = 0;

	(void)arg;
	while ((i = atomic_fetch_add(&next_req, 1)) < half_end) {
		if (fd < 0 && (fd = dial()) < 0) {
			err("connect", i, strerror(errno));
			continue;
		}
		if (i % 4 == 0)
			snprintf(path, sizeof(path), "/file");
		else
			snprintf(path, sizeof(path), "/gen/%ld",
			    (i * 2654435761L) % 65537);
		len = get(fd, path, &body, i);
		if (len >= 0)
			check(i, body, len);
		free(body);
		if (len < 0 || ++on == PER_CONN) {
			close(fd);
			fd = -1;
			on = 0;
		}
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* Run requests up to end over nconn threads. */
static void
run_to(long end)
{
	pthread_t t[64];
	int i;

	half_end = end;
	for (i = 0; i < nconn; i++)
		if (pthread_create(&t[i], NULL, worker, NULL) != 0) {
			fprintf(stderr, "loadgen: pthread_create\n");
			exit(1);
		}
	for (i = 0; i < nconn; i++)
		pthread_join(t[i], NULL);
	atomic_store(&next_req, end);
}

/* The server's figures: 0, *fds, *rss and *waits, or -1. */
static int
server_stats(int *fds, long *rss, long *waits)
{
	unsigned char *body;
	int fd = dial(), rc = -1;

	if (fd < 0)
		return -1;
	if (get(fd, "/stats", &body, -1) > 0 &&
	    sscanf((char *)body, "fds %d rss %ld waits %ld", fds, rss,
	    waits) == 3)
		rc = 0;
	free(body);
	close(fd);
	return rc;
}

int
main(int argc, char **argv)
{
	struct stat st;
	FILE *f;
	int fds1, fds2, flat_fds, flat_rss;
	long rss1, rss2, waits1, waits2;

	if (argc != 5 || (port = atoi(argv[1])) <= 0 ||
	    (nreq = atol(argv[3])) < 2 || (nconn = atoi(argv[4])) < 1 ||
	    nconn > 64) {
		fprintf(stderr, "usage: loadgen PORT FILE REQUESTS CONNS "
		    "(at most 64)\n");
		return 2;
	}
	if ((f = fopen(argv[2], "rb")) == NULL || fstat(fileno(f), &st) != 0 ||
	    (file = malloc((size_t)st.st_size + 1)) == NULL ||
	    fread(file, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		fprintf(stderr, "loadgen: cannot read %s\n", argv[2]);
		return 1;
	}
	fclose(f);
	file_len = (size_t)st.st_size;
	alarm(240);	/* whatever happens, a bounded run */
	run_to(nreq / 2);
	if (server_stats(&fds1, &rss1, &waits1) != 0) {
		fprintf(stderr, "loadgen: no stats after the first half\n");
		return 1;
	}
	run_to(nreq);
	if (server_stats(&fds2, &rss2, &waits2) != 0) {
		fprintf(stderr, "loadgen: no stats after the second half\n");
		return 1;
	}
	flat_fds = fds1 == fds2;
	flat_rss = rss2 - rss1 <= RSS_SLACK;
	fprintf(stderr, "loadgen: server descriptors %d then %d; resident "
	    "%ld KiB then %ld KiB (%+ld); %ld responses waited for EPOLLOUT"
	    "\n", fds1, fds2, rss1, rss2, rss2 - rss1, waits2);
	printf("requests %ld (%ld file, %ld generated), %llu body bytes, "
	    "digest %016llx\n", nreq, atomic_load(&nfile),
	    atomic_load(&ngen), atomic_load(&nbytes), atomic_load(&digest));
	printf("errors %ld\n", atomic_load(&errors));
	printf("server descriptors flat between the halves: %s\n",
	    flat_fds ? "yes" : "no");
	printf("server resident set flat (within %d KiB): %s\n", RSS_SLACK,
	    flat_rss ? "yes" : "no");
	return atomic_load(&errors) == 0 && flat_fds && flat_rss ? 0 : 1;
}
