/*
 * probe_io - echo round trips through one API family on one transport.
 *
 *	probe_io TRANSPORT API [small]
 *
 * TRANSPORT: tcp4 tcp6 udp4 udp4c udp6 udp6c unix-stream unix-dgram
 * unix-seqpacket ("udp4" is unconnected, "udp4c" connected).
 * API: send (send/recv), sendto (sendto/recvfrom), msg (sendmsg/recvmsg),
 * mmsg (sendmmsg/recvmmsg), rw (write/read), rwv (writev/readv), or all
 * (each of them on a fresh socket, in that order).
 *
 * Three messages of 1, 1000 and 60000 bytes (8000 for message transports;
 * 1, 100 and 1000 with "small", which also makes recvmmsg block, for
 * strace) go to the echo server; the echo must equal
 * what was sent, message for message where the transport keeps
 * boundaries, with the server's address as the source where the socket is
 * unconnected.  Each API adds checks of its own (MSG_PEEK, MSG_TRUNC,
 * zero-length reads, EDESTADDRREQ, EINVAL, EAGAIN).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "probe.h"

#define NMSG	3
#define MAXMSG	65536

struct io {
	struct peer	p;
	int		fd;
	int		stream;		/* SOCK_STREAM: no boundaries */
	size_t		size[NMSG];
	unsigned long	seed;
	const char	*api;
	int		settled;	/* "small": blocking recvmmsg, so
					 * that the calls made depend on
					 * timing no more than a stream's
					 * split does (strace) */
};

/* Send one buffer; the count, or -1 with errno. */
typedef ssize_t xmit_fn(struct io *, const char *, size_t);
/* Receive into buf; the count, or -1.  *from and *fromlen get the source when
 * the API reports one (*fromlen stays 0 otherwise). */
typedef ssize_t take_fn(struct io *, char *, size_t,
    struct sockaddr_storage *, socklen_t *);

struct api {
	const char	*name;
	xmit_fn		*xmit;
	take_fn		*take;
	int		addressed;	/* xmit can name a destination */
	void		(*extra)(struct io *);
};

static char out[NMSG][MAXMSG];
static char in[NMSG * MAXMSG];

/* The destination for an unconnected socket, else NULL. */
static const struct sockaddr *
dest(struct io *io, socklen_t *len)
{
	*len = io->p.connected ? 0 : io->p.len;
	return io->p.connected ? NULL : (const struct sockaddr *)&io->p.addr;
}

static ssize_t
xmit_send(struct io *io, const char *b, size_t n)
{
	return send(io->fd, b, n, 0);
}

static ssize_t
xmit_sendto(struct io *io, const char *b, size_t n)
{
	socklen_t len;
	const struct sockaddr *to = dest(io, &len);

	return sendto(io->fd, b, n, 0, to, len);
}

static ssize_t
xmit_sendmsg(struct io *io, const char *b, size_t n)
{
	struct iovec iov[2] = {
		{ (void *)b, n / 2 }, { (void *)(b + n / 2), n - n / 2 },
	};
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };

	m.msg_name = (void *)dest(io, &m.msg_namelen);
	return sendmsg(io->fd, &m, 0);
}

static ssize_t
xmit_write(struct io *io, const char *b, size_t n)
{
	return write(io->fd, b, n);
}

static ssize_t
xmit_writev(struct io *io, const char *b, size_t n)
{
	struct iovec iov[3] = {
		{ (void *)b, n / 3 }, { (void *)(b + n / 3), 0 },
		{ (void *)(b + n / 3), n - n / 3 },
	};

	return writev(io->fd, iov, 3);
}

static ssize_t
take_recv(struct io *io, char *b, size_t n, struct sockaddr_storage *from,
    socklen_t *fromlen)
{
	(void)from;
	*fromlen = 0;
	return recv(io->fd, b, n, 0);
}

static ssize_t
take_recvfrom(struct io *io, char *b, size_t n,
    struct sockaddr_storage *from, socklen_t *fromlen)
{
	*fromlen = sizeof(*from);
	return recvfrom(io->fd, b, n, 0, (struct sockaddr *)from, fromlen);
}

static ssize_t
take_recvmsg(struct io *io, char *b, size_t n, struct sockaddr_storage *from,
    socklen_t *fromlen)
{
	size_t k = n < 7 ? n : 7;
	struct iovec iov[2] = { { b, k }, { b + k, n - k } };
	struct msghdr m = {
		.msg_name = from, .msg_namelen = sizeof(*from),
		.msg_iov = iov, .msg_iovlen = 2,
	};
	ssize_t r;

	r = recvmsg(io->fd, &m, 0);
	*fromlen = m.msg_namelen;
	if (r >= 0 && (m.msg_flags & ~MSG_EOR) != 0)
		fail("%s: recvmsg of %zd bytes set msg_flags 0x%x",
		    transport_name(io->p.t), r, (unsigned)m.msg_flags);
	return r;
}

static ssize_t
take_read(struct io *io, char *b, size_t n, struct sockaddr_storage *from,
    socklen_t *fromlen)
{
	(void)from;
	*fromlen = 0;
	return read(io->fd, b, n);
}

static ssize_t
take_readv(struct io *io, char *b, size_t n, struct sockaddr_storage *from,
    socklen_t *fromlen)
{
	size_t k = n < 3 ? n : 3;
	struct iovec iov[2] = { { b, k }, { b + k, n - k } };

	(void)from;
	*fromlen = 0;
	return readv(io->fd, iov, 2);
}

/* The source of a message on an unconnected socket must be the server. */
static void
check_source(struct io *io, const struct sockaddr_storage *from,
    socklen_t fromlen)
{
	if (io->p.connected || fromlen == 0)
		return;
	if (!same_addr(from, fromlen, &io->p.addr, io->p.len))
		fail("%s %s: the echo's source (family %d, length %u) is not "
		    "the server", transport_name(io->p.t), io->api,
		    from->ss_family, (unsigned)fromlen);
}

/* An unconnected datagram socket cannot send without an address. */
static void
expect_edestaddrreq(struct io *io, xmit_fn *xmit)
{
	char b = 'x';

	errno = 0;
	if (xmit(io, &b, 1) != -1 || errno != EDESTADDRREQ)
		fail("%s %s without an address: want -1 EDESTADDRREQ, got "
		    "errno %s", transport_name(io->p.t), io->api,
		    errno_name(errno));
	printf("%s without an address: EDESTADDRREQ\n", io->api);
}

/* Send all of b, looping on short counts (streams). */
static void
xmit_all(struct io *io, xmit_fn *xmit, const char *b, size_t n)
{
	ssize_t k;

	while (n > 0) {
		if ((k = xmit(io, b, n)) <= 0)
			fail_errno("%s %s: sending %zu bytes returned %zd",
			    transport_name(io->p.t), io->api, n, k);
		b += k;
		n -= (size_t)k;
	}
}

/* Receive one message of n bytes and compare it with want. */
static void
take_message(struct io *io, take_fn *take, const char *want, size_t n)
{
	struct sockaddr_storage from;
	socklen_t fromlen;
	ssize_t k;

	memset(&from, 0, sizeof(from));
	if ((k = take(io, in, sizeof(in), &from, &fromlen)) < 0)
		fail_errno("%s %s: receiving the %zu-byte echo",
		    transport_name(io->p.t), io->api, n);
	if ((size_t)k != n || memcmp(in, want, n) != 0)
		fail("%s %s: sent %zu bytes, the echo has %zd%s",
		    transport_name(io->p.t), io->api, n, k,
		    (size_t)k == n ? " that differ" : "");
	check_source(io, &from, fromlen);
}

/* Receive total bytes from a stream and compare with the messages. */
static void
take_stream(struct io *io, take_fn *take, size_t total)
{
	struct sockaddr_storage from;
	socklen_t fromlen;
	size_t got = 0, off = 0;
	ssize_t k;
	int i;

	while (got < total) {
		if ((k = take(io, in + got, total - got, &from, &fromlen)) < 0)
			fail_errno("%s %s: receiving after %zu of %zu bytes",
			    transport_name(io->p.t), io->api, got, total);
		if (k == 0)
			fail("%s %s: end of stream after %zu of %zu bytes",
			    transport_name(io->p.t), io->api, got, total);
		got += (size_t)k;
	}
	for (i = 0; i < NMSG; i++) {
		if (memcmp(in + off, out[i], io->size[i]) != 0)
			fail("%s %s: echoed message %d differs from the one "
			    "sent", transport_name(io->p.t), io->api, i);
		off += io->size[i];
	}
}

/* The three messages through one API. */
static void
run_messages(struct io *io, const struct api *a)
{
	xmit_fn *xmit = a->xmit;
	size_t total = 0;
	ssize_t k;
	int i;

	if (!io->p.connected && !a->addressed) {
		expect_edestaddrreq(io, xmit);
		xmit = xmit_sendto;
	}
	for (i = 0; i < NMSG; i++) {
		pattern(out[i], io->size[i], io->seed + (unsigned long)i);
		total += io->size[i];
		if (io->stream) {
			xmit_all(io, xmit, out[i], io->size[i]);
			continue;
		}
		if ((k = xmit(io, out[i], io->size[i])) != (ssize_t)
		    io->size[i])
			fail_errno("%s %s: sending a %zu-byte message "
			    "returned %zd", transport_name(io->p.t), a->name,
			    io->size[i], k);
		take_message(io, a->take, out[i], io->size[i]);
	}
	if (io->stream)
		take_stream(io, a->take, total);
	printf("%s %s: fd %d, %d messages, %zu bytes echoed intact\n",
	    transport_name(io->p.t), a->name, io->fd, NMSG, total);
}

/* Nothing is pending: a MSG_DONTWAIT receive fails with EAGAIN. */
static void
expect_eagain(struct io *io)
{
	char b[16];

	errno = 0;
	if (recv(io->fd, b, sizeof(b), MSG_DONTWAIT) != -1 ||
	    errno != EAGAIN)
		fail("%s: recv(MSG_DONTWAIT) with nothing pending: want -1 "
		    "EAGAIN, got errno %s", transport_name(io->p.t),
		    errno_name(errno));
}

/* send: MSG_PEEK leaves a message in place (MSG_WAITALL for streams). */
static void
extra_send(struct io *io)
{
	char msg[50], b[64];
	ssize_t k;
	int fl = io->stream ? MSG_WAITALL : MSG_PEEK;

	pattern(msg, sizeof(msg), io->seed + 10);
	xmit_all(io, io->p.connected ? xmit_send : xmit_sendto, msg,
	    sizeof(msg));
	k = recv(io->fd, b, io->stream ? sizeof(msg) : sizeof(b), fl);
	if (k != (ssize_t)sizeof(msg) || memcmp(b, msg, sizeof(msg)) != 0)
		fail_errno("%s: recv(%s) returned %zd, want the 50 bytes sent",
		    transport_name(io->p.t), io->stream ? "MSG_WAITALL" :
		    "MSG_PEEK", k);
	if (!io->stream && (recv(io->fd, b, sizeof(b), 0) != (ssize_t)
	    sizeof(msg) || memcmp(b, msg, sizeof(msg)) != 0))
		fail("%s: the message peeked at is not the one received",
		    transport_name(io->p.t));
	expect_eagain(io);
	printf("recv(%s): 50 bytes; recv(MSG_DONTWAIT): EAGAIN\n",
	    io->stream ? "MSG_WAITALL" : "MSG_PEEK");
}

/* sendto: naming the server on a connected socket. */
static void
extra_sendto(struct io *io)
{
	char b[8] = "sendto!", r[16];
	ssize_t k;

	if (!io->p.connected)
		return;
	errno = 0;
	k = sendto(io->fd, b, sizeof(b), 0,
	    (const struct sockaddr *)&io->p.addr, io->p.len);
	printf("sendto with an address on a connected socket: %s\n",
	    k >= 0 ? "sent" : errno_name(errno));
	if (k == (ssize_t)sizeof(b) && (recv(io->fd, r, io->stream ?
	    sizeof(b) : sizeof(r), io->stream ? MSG_WAITALL : 0) !=
	    (ssize_t)sizeof(b) ||
	    memcmp(r, b, sizeof(b)) != 0))
		fail("%s: the echo of sendto with an address is wrong",
		    transport_name(io->p.t));
	if (k > 0 && k != (ssize_t)sizeof(b))
		fail("%s: sendto with an address sent %zd of %zu bytes",
		    transport_name(io->p.t), k, sizeof(b));
}

/* msg: a message larger than the buffer comes back with MSG_TRUNC. */
static void
extra_msg(struct io *io)
{
	char msg[100], b[10];
	struct iovec iov = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t k;

	if (io->stream)
		return;
	pattern(msg, sizeof(msg), io->seed + 20);
	if (io->p.connected)
		k = send(io->fd, msg, sizeof(msg), 0);
	else
		k = sendto(io->fd, msg, sizeof(msg), 0,
		    (const struct sockaddr *)&io->p.addr, io->p.len);
	if (k != (ssize_t)sizeof(msg))
		fail_errno("%s: sending 100 bytes", transport_name(io->p.t));
	k = recvmsg(io->fd, &m, 0);
	if (k != (ssize_t)sizeof(b) || !(m.msg_flags & MSG_TRUNC) ||
	    memcmp(b, msg, sizeof(b)) != 0)
		fail_errno("%s: recvmsg of a 100-byte message into 10 bytes "
		    "returned %zd, msg_flags 0x%x; want 10 and MSG_TRUNC",
		    transport_name(io->p.t), k, (unsigned)m.msg_flags);
	printf("recvmsg of 100 bytes into 10: 10, MSG_TRUNC\n");
}

/* rw: a zero-length read returns 0 and takes nothing. */
static void
extra_rw(struct io *io)
{
	char msg[20], b[64];
	ssize_t k;

	pattern(msg, sizeof(msg), io->seed + 30);
	xmit_all(io, io->p.connected ? xmit_write : xmit_sendto, msg,
	    sizeof(msg));
	if ((k = read(io->fd, b, 0)) != 0)
		fail_errno("%s: read of 0 bytes returned %zd",
		    transport_name(io->p.t), k);
	k = recv(io->fd, b, io->stream ? sizeof(msg) : sizeof(b),
	    MSG_WAITALL);
	if (k != (ssize_t)sizeof(msg) || memcmp(b, msg, sizeof(msg)) != 0)
		fail_errno("%s: after a 0-byte read, read %zd bytes, want "
		    "the 20 sent", transport_name(io->p.t), k);
	printf("read of 0 bytes: 0, the message stays\n");
}

/* rwv: more than IOV_MAX vectors is EINVAL. */
static void
extra_rwv(struct io *io)
{
	static struct iovec many[IOV_MAX + 1];
	char b = 'v';
	int i;

	for (i = 0; i <= IOV_MAX; i++)
		many[i] = (struct iovec){ &b, 0 };
	errno = 0;
	if (writev(io->fd, many, IOV_MAX + 1) != -1 || errno != EINVAL)
		fail("%s: writev of IOV_MAX+1 vectors: want -1 EINVAL, got "
		    "errno %s", transport_name(io->p.t), errno_name(errno));
	errno = 0;
	if (readv(io->fd, many, IOV_MAX + 1) != -1 || errno != EINVAL)
		fail("%s: readv of IOV_MAX+1 vectors: want -1 EINVAL, got "
		    "errno %s", transport_name(io->p.t), errno_name(errno));
	printf("writev and readv of IOV_MAX+1 vectors: EINVAL\n");
}

static const struct api apis[] = {
	{ "send", xmit_send, take_recv, 0, extra_send },
	{ "sendto", xmit_sendto, take_recvfrom, 1, extra_sendto },
	{ "msg", xmit_sendmsg, take_recvmsg, 1, extra_msg },
	{ "rw", xmit_write, take_read, 0, extra_rw },
	{ "rwv", xmit_writev, take_readv, 0, extra_rwv },
};

/* sendmmsg: the three messages in one call; the count and each
 * msg_len. */
static void
mmsg_send(struct io *io)
{
	struct mmsghdr v[NMSG];
	struct iovec iov[NMSG];
	int i, n;

	memset(v, 0, sizeof(v));
	for (i = 0; i < NMSG; i++) {
		pattern(out[i], io->size[i], io->seed + (unsigned long)i);
		iov[i] = (struct iovec){ out[i], io->size[i] };
		v[i].msg_hdr.msg_iov = &iov[i];
		v[i].msg_hdr.msg_iovlen = 1;
		v[i].msg_hdr.msg_name = (void *)dest(io,
		    &v[i].msg_hdr.msg_namelen);
	}
	if ((n = sendmmsg(io->fd, v, NMSG, 0)) != NMSG)
		fail_errno("%s: sendmmsg of %d messages returned %d",
		    transport_name(io->p.t), NMSG, n);
	for (i = 0; i < NMSG; i++)
		if (v[i].msg_len != io->size[i])
			fail("%s: sendmmsg: message %d has msg_len %u, want "
			    "%zu", transport_name(io->p.t), i, v[i].msg_len,
			    io->size[i]);
}

/* recvmmsg with MSG_WAITFORONE until every echo is in: the messages
 * must come back whole, in order, from the server. */
static void
mmsg_recv(struct io *io)
{
	struct sockaddr_storage from[NMSG];
	struct mmsghdr v[NMSG];
	struct iovec iov[NMSG];
	int i, n, msgs = 0;

	while (msgs < NMSG) {
		memset(v, 0, sizeof(v));
		for (i = 0; i < NMSG - msgs; i++) {
			iov[i] = (struct iovec){ in + (size_t)i * MAXMSG,
			    MAXMSG };
			v[i].msg_hdr.msg_iov = &iov[i];
			v[i].msg_hdr.msg_iovlen = 1;
			v[i].msg_hdr.msg_name = &from[i];
			v[i].msg_hdr.msg_namelen = sizeof(from[i]);
		}
		n = recvmmsg(io->fd, v, (unsigned)(NMSG - msgs),
		    io->settled ? 0 : MSG_WAITFORONE, NULL);
		if (n <= 0)
			fail_errno("%s: recvmmsg after %d messages returned "
			    "%d", transport_name(io->p.t), msgs, n);
		for (i = 0; i < n; i++, msgs++) {
			if (v[i].msg_len != io->size[msgs] ||
			    memcmp(iov[i].iov_base, out[msgs],
			    io->size[msgs]) != 0)
				fail("%s: recvmmsg: echo %d has %u bytes "
				    "(want %zu) or differs",
				    transport_name(io->p.t), msgs,
				    v[i].msg_len, io->size[msgs]);
			check_source(io, &from[i], v[i].msg_hdr.msg_namelen);
		}
	}
}

/* recvmmsg on a stream: gather the pieces, then compare. */
static void
mmsg_stream(struct io *io, size_t total)
{
	struct mmsghdr v[NMSG];
	struct iovec iov[NMSG];
	static char all[NMSG * MAXMSG];
	size_t got = 0;
	int i, n;

	while (got < total) {
		memset(v, 0, sizeof(v));
		for (i = 0; i < NMSG; i++) {
			iov[i] = (struct iovec){ in + (size_t)i * MAXMSG,
			    MAXMSG };
			v[i].msg_hdr.msg_iov = &iov[i];
			v[i].msg_hdr.msg_iovlen = 1;
		}
		/* Settled: one message a call, blocking, so that how the
		 * bytes split between calls is all that timing changes. */
		n = recvmmsg(io->fd, v, io->settled ? 1 : NMSG,
		    io->settled ? 0 : MSG_WAITFORONE, NULL);
		if (n <= 0)
			fail_errno("%s: recvmmsg after %zu of %zu bytes "
			    "returned %d", transport_name(io->p.t), got, total,
			    n);
		for (i = 0; i < n; i++) {
			if (v[i].msg_len == 0)
				fail("%s: recvmmsg: end of stream after %zu "
				    "bytes", transport_name(io->p.t), got);
			if (got + v[i].msg_len > total)
				fail("%s: recvmmsg: more bytes than sent",
				    transport_name(io->p.t));
			memcpy(all + got, iov[i].iov_base, v[i].msg_len);
			got += v[i].msg_len;
		}
	}
	for (i = 0, got = 0; i < NMSG; got += io->size[i], i++)
		if (memcmp(all + got, out[i], io->size[i]) != 0)
			fail("%s: recvmmsg: echoed message %d differs",
			    transport_name(io->p.t), i);
}

static void
run_mmsg(struct io *io)
{
	size_t total = 0;
	int i;

	for (i = 0; i < NMSG; i++)
		total += io->size[i];
	mmsg_send(io);
	if (io->stream)
		mmsg_stream(io, total);
	else
		mmsg_recv(io);
	if (sendmmsg(io->fd, NULL, 0, 0) != 0)
		fail_errno("%s: sendmmsg of 0 messages",
		    transport_name(io->p.t));
	printf("%s mmsg: fd %d, %d messages, %zu bytes echoed intact\n",
	    transport_name(io->p.t), io->fd, NMSG, total);
}

/* One API (by name) on a fresh socket. */
static void
run_one(enum transport t, const char *api, int small)
{
	static const size_t big[2][NMSG] = { { 1, 1000, 60000 },
	    { 1, 1000, 8000 } };
	static const size_t little[NMSG] = { 1, 100, 1000 };
	struct io io;
	size_t i;

	memset(&io, 0, sizeof(io));
	peer_get(t, &io.p);
	io.stream = io.p.type == SOCK_STREAM;
	io.api = api;
	io.seed = (unsigned long)t * 100 + strlen(api);
	memcpy(io.size, small ? little : big[!io.stream], sizeof(io.size));
	io.settled = small;
	io.fd = peer_socket(&io.p, 0);
	if (strcmp(api, "mmsg") == 0) {
		run_mmsg(&io);
	} else {
		for (i = 0; i < sizeof(apis) / sizeof(apis[0]); i++)
			if (strcmp(api, apis[i].name) == 0)
				break;
		if (i == sizeof(apis) / sizeof(apis[0]))
			fail("unknown API %s", api);
		run_messages(&io, &apis[i]);
		apis[i].extra(&io);
	}
	if (close(io.fd) != 0)
		fail_errno("close(%d)", io.fd);
}

int
main(int argc, char **argv)
{
	static const char *const all[] = {
		"send", "sendto", "msg", "mmsg", "rw", "rwv",
	};
	enum transport t;
	int small;
	size_t i;

	probe_init("probe_io");
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: probe_io TRANSPORT API [small]\n");
		return 2;
	}
	t = transport_byname(argv[1]);
	small = argc == 4 && strcmp(argv[3], "small") == 0;
	trace_begin();
	if (strcmp(argv[2], "all") == 0)
		for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
			run_one(t, all[i], small);
	else
		run_one(t, argv[2], small);
	trace_mark("probe:end");
	return 0;
}
