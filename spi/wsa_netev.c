/*
 * wsa_netev.c - the application API of network events (winsock2.h):
 * WSAEventSelect and WSAEnumNetworkEvents through the socket's chain, and
 * WSAPoll.
 *
 * WSAPoll has no SPI call under it (Winsock's providers answer it through
 * a private ioctl): a SOCKET of this API is the program's kernel
 * descriptor, so it is poll(2) on them with Winsock's rules on top (a
 * peer's close is POLLHUP, signals do not end the wait), and
 * the base's kept connections (WSAAccept's CF_DEFER) count as readable
 * listeners, as base_select counts them.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <wspshim/winsock2.h>

#include "base.h"
#include "core.h"
#include "errmap.h"
#include "event.h"
#include "export.h"
#include "libc.h"
#include "tls.h"
#include "wsa.h"

WSPSHIM_EXPORT int WSAAPI
WSAEventSelect(SOCKET s, WSAEVENT hEventObject, long lNetworkEvents)
{
	struct wsock *ws;
	int err, rc;

	if ((ws = wsa_enter(s, "WSAEventSelect")) == NULL)
		return SOCKET_ERROR;
	/* Bits the SPI's LONG cannot carry; the rest is the chain's to
	 * judge (the base refuses what is not FD_ALL_EVENTS). */
	if (lNetworkEvents != (LONG)lNetworkEvents) {
		wsa_leave(s);
		return wsa_fail(WSAEINVAL);
	}
	/* From now on every receive reaches the base, which re-enables
	 * FD_READ (core.h): before the call, so none slips past. */
	if (lNetworkEvents != 0)
		__atomic_fetch_and(&ws->flags, ~(unsigned)WSOCK_DIRECT,
		    __ATOMIC_RELAXED);
	rc = ws->procs->lpWSPEventSelect(ws->handle, hEventObject,
	    (LONG)lNetworkEvents, &err);
	wsa_leave(s);
	if (rc != 0)
		return wsa_fail(err);
	wsp_tls.last_error = 0;
	return 0;
}

WSPSHIM_EXPORT int WSAAPI
WSAEnumNetworkEvents(SOCKET s, WSAEVENT hEventObject,
    LPWSANETWORKEVENTS lpNetworkEvents)
{
	WSA_CHAIN_CALL("WSAEnumNetworkEvents", lpWSPEnumNetworkEvents(
	    ws->handle, hEventObject, lpNetworkEvents, &err_));
}

/* --- WSAPoll ------------------------------------------------------------ */

#define WSAPOLL_STACK	64
#define WSAPOLL_ASK	(POLLRDNORM | POLLRDBAND | POLLIN | POLLPRI | \
			 POLLWRNORM | POLLWRBAND | POLLOUT)
#define WSAPOLL_READ	(POLLRDNORM | POLLIN)

/* poll(2) until it answers, resumed after signals with the time left (a
 * Winsock wait does not end for a signal): its result, or -1. */
static int
wsapoll_wait(struct pollfd *p, nfds_t n, int ms)
{
	struct timespec end;
	int rc;

	if (ms > 0)
		event_deadline(&end, (unsigned long)ms);
	while ((rc = poll(p, n, ms)) < 0 && errno == EINTR)
		if (ms > 0)
			ms = event_ms_left(&end);
	return rc;
}

/* Whether descriptor fd is a socket. */
static int
wsapoll_is_socket(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

WSPSHIM_EXPORT int WSAAPI
WSAPoll(LPWSAPOLLFD fdArray, ULONG fds, INT timeout)
{
	struct pollfd stack[WSAPOLL_STACK], *p = stack;
	ULONG i, valid = 0;
	int rc, ready = 0, ms = timeout < 0 ? -1 : timeout;

	if (!wsa_started())
		return SOCKET_ERROR;
	if (fdArray == NULL)
		return wsa_fail(WSAEFAULT);
	if (fds == 0)
		return wsa_fail(WSAEINVAL);
	for (i = 0; i < fds; i++)
		if ((fdArray[i].events & ~WSAPOLL_ASK) != 0)
			return wsa_fail(WSAEINVAL);
	if (fds > WSAPOLL_STACK && (p = calloc(fds, sizeof(*p))) == NULL)
		return wsa_fail(WSAENOBUFS);
	for (i = 0; i < fds; i++) {
		fdArray[i].revents = 0;
		p[i].fd = -1;		/* ignored by poll(2) */
		p[i].events = fdArray[i].events;
		p[i].revents = 0;
		if (fdArray[i].fd > (SOCKET)INT_MAX)
			continue;	/* INVALID_SOCKET: ignored */
		if (!wsapoll_is_socket((int)fdArray[i].fd)) {
			fdArray[i].revents = POLLNVAL;
			continue;
		}
		p[i].fd = (int)fdArray[i].fd;
		p[i].events |= POLLRDHUP;	/* Winsock's POLLHUP */
		valid++;
		if ((p[i].events & WSAPOLL_READ) != 0 &&
		    base_defer_ready(p[i].fd))
			ms = 0;		/* a kept connection: readable now */
	}
	if (valid == 0) {
		if (p != stack)
			free(p);
		return wsa_fail(WSAEINVAL);
	}
	rc = wsapoll_wait(p, fds, ms);
	if (rc < 0) {
		rc = errmap_from_errno(errno);
		if (p != stack)
			free(p);
		return wsa_fail(rc);
	}
	for (i = 0; i < fds; i++) {
		if (p[i].fd >= 0) {
			/* A stream's peer that closed or reset is POLLHUP
			 * to Winsock; Linux says POLLRDHUP until both
			 * directions are shut. */
			if (p[i].revents & POLLRDHUP)
				p[i].revents = (short)((p[i].revents &
				    ~POLLRDHUP) | POLLHUP);
			fdArray[i].revents = (SHORT)p[i].revents;
			if ((p[i].events & WSAPOLL_READ) != 0 &&
			    base_defer_ready(p[i].fd))
				fdArray[i].revents |= (SHORT)(p[i].events &
				    WSAPOLL_READ);
		}
		if (fdArray[i].revents != 0)
			ready++;
	}
	if (p != stack)
		free(p);
	wsp_tls.last_error = 0;
	return ready;
}
