/*
 * msg.c - sendmsg, recvmsg, sendmmsg, recvmmsg.
 *
 * Messages go through the Linux members lpWSPSendMsg/lpWSPRecvMsg, which
 * carry ancillary data (SCM_RIGHTS included).  Every table has them: the
 * core completes an older provider's with fallbacks (spi/procfill.c).
 * Descriptors received with SCM_RIGHTS, managed socket or not, are handed
 * to adoption, so a socket passed in from another process gets its layers.
 */
#include <stdlib.h>
#include <time.h>

#include "log.h"
#include "shim.h"

ssize_t
shim_sendmsg(struct wsock *ws, int fd, const struct msghdr *msg, int flags)
{
	DWORD sent = 0;
	int err, rc;

	if (!shim_enter(ws, fd))
		return shim_closed();
	rc = ws->procs->lpWSPSendMsg(ws->handle, msg, (DWORD)flags, &sent,
	    &err);
	shim_leave();
	return rc == 0 ? (ssize_t)sent : shim_fail(err);
}

ssize_t
shim_recvmsg(struct wsock *ws, int fd, struct msghdr *msg, int flags)
{
	DWORD got = 0, fl = (DWORD)flags;
	int err, rc;

	if (!shim_enter(ws, fd))
		return shim_closed();
	rc = ws->procs->lpWSPRecvMsg(ws->handle, msg, &fl, &got, &err);
	shim_leave();
	if (rc != 0)
		return shim_fail(err);
	shim_note_rights(msg);
	return (ssize_t)got;
}

WSPSHIM_EXPORT ssize_t
sendmsg(int fd, const struct msghdr *msg, int flags)
{
	struct wsock *ws = shim_sock(fd, "sendmsg");

	ssize_t rc;

	if (likely(ws == NULL))
		return libc.sendmsg(fd, msg, flags);
	rc = shim_sendmsg(ws, fd, msg, flags);
	if (unlikely(rc < 0) && shim_stale(fd))
		return libc.sendmsg(fd, msg, flags);
	return rc;
}

WSPSHIM_EXPORT ssize_t
recvmsg(int fd, struct msghdr *msg, int flags)
{
	struct wsock *ws = shim_sock(fd, "recvmsg");
	ssize_t rc;

	if (likely(ws == NULL)) {
		rc = libc.recvmsg(fd, msg, flags);
		if (rc >= 0 && unlikely(msg->msg_controllen != 0) &&
		    wsp_tls.depth == 0)
			shim_note_rights(msg);
		return rc;
	}
	rc = shim_recvmsg(ws, fd, msg, flags);
	if (unlikely(rc < 0) && shim_stale(fd))
		return recvmsg(fd, msg, flags);
	return rc;
}

/* sendmmsg: one message at a time through the chain.  As the kernel does,
 * an error after the first message ends the batch and the count stands. */
WSPSHIM_EXPORT int
sendmmsg(int fd, struct mmsghdr *vec, unsigned int n, int flags)
{
	struct wsock *ws = shim_sock(fd, "sendmmsg");
	unsigned int i;
	ssize_t rc;

	if (likely(ws == NULL))
		return libc.sendmmsg(fd, vec, n, flags);
	if (n > UIO_MAXIOV)
		n = UIO_MAXIOV;
	for (i = 0; i < n; i++) {
		rc = shim_sendmsg(ws, fd, &vec[i].msg_hdr, flags);
		if (rc < 0)
			return i == 0 ? -1 : (int)i;
		vec[i].msg_len = (unsigned int)rc;
	}
	return (int)i;
}

/* Whether the deadline (absolute, CLOCK_MONOTONIC) has passed. */
static int
shim_expired(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline->tv_sec || (now.tv_sec ==
	    deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

/* recvmmsg: one message at a time.  MSG_WAITFORONE makes every message
 * after the first non-blocking; the timeout, as in the kernel, is only
 * checked after each message is received. */
WSPSHIM_EXPORT int
recvmmsg(int fd, struct mmsghdr *vec, unsigned int n, int flags,
    struct timespec *tmo)
{
	struct wsock *ws = shim_sock(fd, "recvmmsg");
	struct timespec deadline;
	unsigned int i;
	ssize_t rc;
	int fl = flags & ~MSG_WAITFORONE;

	if (likely(ws == NULL)) {
		rc = libc.recvmmsg(fd, vec, n, flags, tmo);
		for (i = 0; rc > 0 && i < (unsigned int)rc &&
		    wsp_tls.depth == 0; i++)
			if (unlikely(vec[i].msg_hdr.msg_controllen != 0))
				shim_note_rights(&vec[i].msg_hdr);
		return (int)rc;
	}
	if (tmo != NULL) {
		if (tmo->tv_sec < 0 || tmo->tv_nsec < 0 ||
		    tmo->tv_nsec >= 1000000000L) {
			errno = EINVAL;
			return -1;
		}
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += tmo->tv_sec;
		deadline.tv_nsec += tmo->tv_nsec;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
	}
	if (n > UIO_MAXIOV)
		n = UIO_MAXIOV;
	for (i = 0; i < n; i++) {
		rc = shim_recvmsg(ws, fd, &vec[i].msg_hdr, fl);
		if (rc < 0)
			return i == 0 ? -1 : (int)i;
		vec[i].msg_len = (unsigned int)rc;
		if (flags & MSG_WAITFORONE)
			fl |= MSG_DONTWAIT;
		if (tmo != NULL && shim_expired(&deadline)) {
			i++;
			break;
		}
	}
	return (int)i;
}
