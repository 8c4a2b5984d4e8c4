/*
 * file.c - sendfile, sendfile64 and splice on managed sockets.
 *
 * The kernel would move these bytes without user space ever seeing them,
 * and so past every layer.  On a managed socket they are copied through
 * the chain instead, in bounded chunks on the stack; on any other
 * descriptor the real call runs.
 */
#include <fcntl.h>
#include <poll.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "shim.h"

#define SHIM_COPY_CHUNK	16384

/* Send all n bytes of buf down the chain, waiting for room when the
 * socket is non-blocking (the bytes are already out of their source and
 * must not be lost).  The count sent, or -1 if nothing was. */
static ssize_t
shim_send_all(struct wsock *ws, int fd, const char *buf, size_t n)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	size_t done = 0;
	DWORD sent;
	WSABUF b;
	int err, rc;

	while (done < n) {
		b = shim_buf(buf + done, n - done);
		if (!shim_enter(ws, fd)) {
			if (done == 0)
				return shim_closed();
			break;
		}
		rc = ws->procs->lpWSPSend(ws->handle, &b, 1, &sent, 0, NULL,
		    NULL, NULL, &err);
		shim_leave();
		if (rc == 0) {
			done += sent;
			continue;
		}
		if (err == WSAEWOULDBLOCK && done > 0) {
			poll(&p, 1, -1);
			continue;
		}
		if (done == 0)
			return shim_fail(err);
		break;
	}
	return (ssize_t)done;
}

/* sendfile to a managed socket: read (or pread at *off) and send. */
static ssize_t
shim_sendfile(struct wsock *ws, int out, int in, off_t *off, size_t count)
{
	char buf[SHIM_COPY_CHUNK];
	size_t total = 0, want;
	ssize_t got, sent;

	while (total < count) {
		want = count - total < sizeof(buf) ? count - total :
		    sizeof(buf);
		got = off != NULL ? pread(in, buf, want, *off) :
		    libc.read(in, buf, want);
		if (got < 0)
			return total > 0 ? (ssize_t)total : -1;
		if (got == 0)
			break;
		sent = shim_send_all(ws, out, buf, (size_t)got);
		if (sent < 0)
			return total > 0 ? (ssize_t)total : -1;
		if (off != NULL)
			*off += sent;
		else if (sent < got)	/* put back what was not sent */
			lseek(in, sent - got, SEEK_CUR);
		total += (size_t)sent;
		if (sent < got)
			break;
	}
	return (ssize_t)total;
}

WSPSHIM_EXPORT ssize_t
sendfile(int out, int in, off_t *off, size_t count)
{
	struct wsock *ws = shim_sock(out, "sendfile");

	if (likely(ws == NULL))
		return libc.sendfile(out, in, off, count);
	return shim_sendfile(ws, out, in, off, count);
}

WSPSHIM_EXPORT ssize_t
sendfile64(int out, int in, off_t *off, size_t count)
{
	return sendfile(out, in, off, count);
}

/* splice from a managed socket into a pipe: receive no more than the
 * pipe has room for, so nothing taken from the socket is lost. */
static ssize_t
shim_splice_in(struct wsock *ws, int fd, int pipe_out, size_t len,
    unsigned flags)
{
	char buf[SHIM_COPY_CHUNK];
	int queued = 0, size;
	DWORD got = 0, fl = 0;
	WSABUF b;
	int err, rc;

	size = libc.fcntl(pipe_out, F_GETPIPE_SZ);
	if (size < 0)
		return -1;		/* not a pipe: EBADF/EINVAL as native */
	libc.ioctl(pipe_out, FIONREAD, &queued);
	if (len > (size_t)(size - queued))
		len = (size_t)(size - queued);
	if (len > sizeof(buf))
		len = sizeof(buf);
	if (len == 0) {
		errno = EAGAIN;
		return -1;
	}
	if (flags & SPLICE_F_NONBLOCK)
		fl |= MSG_DONTWAIT;
	b = shim_buf(buf, len);
	if (!shim_enter(ws, fd))
		return shim_closed();
	rc = ws->procs->lpWSPRecv(ws->handle, &b, 1, &got, &fl, NULL, NULL,
	    NULL, &err);
	shim_leave();
	if (rc != 0)
		return shim_fail(err);
	if (got == 0)
		return 0;
	return libc.write(pipe_out, buf, got);
}

/* splice from a pipe into a managed socket. */
static ssize_t
shim_splice_out(struct wsock *ws, int pipe_in, int out, size_t len,
    unsigned flags)
{
	char buf[SHIM_COPY_CHUNK];
	ssize_t got;

	if (len > sizeof(buf))
		len = sizeof(buf);
	got = libc.read(pipe_in, buf, len);
	if (got <= 0)
		return got;
	return shim_send_all(ws, out, buf, (size_t)got);
}

WSPSHIM_EXPORT ssize_t
splice(int in, off_t *inoff, int out, off_t *outoff, size_t len,
    unsigned int flags)
{
	struct wsock *wi = shim_sock(in, "splice");
	struct wsock *wo = shim_sock(out, "splice");

	if (likely(wi == NULL && wo == NULL))
		return libc.splice(in, inoff, out, outoff, len, flags);
	if (wi != NULL && wo != NULL) {
		errno = EINVAL;		/* one end must be a pipe */
		return -1;
	}
	if ((wi != NULL && inoff != NULL) || (wo != NULL && outoff != NULL)) {
		errno = ESPIPE;
		return -1;
	}
	if (wi != NULL)
		return outoff != NULL ? (errno = ESPIPE, -1) :
		    shim_splice_in(wi, in, out, len, flags);
	return inoff != NULL ? (errno = ESPIPE, -1) :
	    shim_splice_out(wo, in, out, len, flags);
}
