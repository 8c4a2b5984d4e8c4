/*
 * wsaovl.c - the application API of event objects, waits and overlapped
 * I/O (winsock2.h): WSACreateEvent and friends, WSAWaitForMultipleEvents,
 * SleepEx, and WSASend, WSARecv, WSASendTo, WSARecvFrom and
 * WSAGetOverlappedResult through the socket's chain.
 *
 * Each reports through the thread's last error, as wsa.c's calls do, and
 * passes the calling thread's WSATHREADID to the SPI calls that take one.
 */
#include <wspshim/winsock2.h>

#include "core.h"
#include "event.h"
#include "export.h"
#include "tls.h"
#include "wsa.h"

WSPSHIM_EXPORT WSAEVENT WSAAPI
WSACreateEvent(void)
{
	WSAEVENT h;
	int err;

	if (!wsa_started())
		return WSA_INVALID_EVENT;
	if ((h = event_create(&err)) == WSA_INVALID_EVENT)
		wsp_tls.last_error = err;
	return h;
}

/* TRUE, or FALSE with the last error set, for the three calls below. */
static BOOL
wsa_event_op(BOOL (WSPAPI *op)(WSAEVENT, LPINT), WSAEVENT h)
{
	int err;

	if (!wsa_started())
		return FALSE;
	if (!op(h, &err)) {
		wsp_tls.last_error = err;
		return FALSE;
	}
	return TRUE;
}

WSPSHIM_EXPORT BOOL WSAAPI
WSACloseEvent(WSAEVENT hEvent)
{
	return wsa_event_op(event_close, hEvent);
}

WSPSHIM_EXPORT BOOL WSAAPI
WSASetEvent(WSAEVENT hEvent)
{
	return wsa_event_op(event_set, hEvent);
}

WSPSHIM_EXPORT BOOL WSAAPI
WSAResetEvent(WSAEVENT hEvent)
{
	return wsa_event_op(event_reset, hEvent);
}

WSPSHIM_EXPORT int WSAAPI
WSAEventDescriptor(WSAEVENT hEvent)
{
	int fd = event_fd(hEvent);

	if (fd < 0)
		wsp_tls.last_error = WSA_INVALID_HANDLE;
	return fd;
}

WSPSHIM_EXPORT DWORD WSAAPI
WSAWaitForMultipleEvents(DWORD cEvents, const WSAEVENT *lphEvents,
    BOOL fWaitAll, DWORD dwTimeout, BOOL fAlertable)
{
	int fds[WSA_MAXIMUM_WAIT_EVENTS];
	DWORD i;

	if (!wsa_started())
		return WSA_WAIT_FAILED;
	if (cEvents == 0 || cEvents > WSA_MAXIMUM_WAIT_EVENTS ||
	    lphEvents == NULL) {
		wsp_tls.last_error = WSA_INVALID_PARAMETER;
		return WSA_WAIT_FAILED;
	}
	for (i = 0; i < cEvents; i++) {
		if ((fds[i] = event_fd(lphEvents[i])) < 0) {
			wsp_tls.last_error = WSA_INVALID_HANDLE;
			return WSA_WAIT_FAILED;
		}
	}
	return event_wait_fds(fds, cEvents, fWaitAll != FALSE, dwTimeout,
	    fAlertable != FALSE);
}

WSPSHIM_EXPORT DWORD WSAAPI
WSPShimSleepEx(DWORD dwMilliseconds, BOOL bAlertable)
{
	DWORD r = event_wait_fds(NULL, 0, 0, dwMilliseconds,
	    bAlertable != FALSE);

	return r == WSA_WAIT_IO_COMPLETION ? r : 0;
}

/*
 * The overlapped calls: each goes down the socket's chain with the
 * calling thread's WSATHREADID.  0 (last error 0) when the call completed
 * at once, else SOCKET_ERROR with the last error: WSA_IO_PENDING for a
 * request that completes later, or the call's error.
 */
WSPSHIM_EXPORT int WSAAPI
WSASend(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
    LPDWORD lpNumberOfBytesSent, DWORD dwFlags, LPWSAOVERLAPPED lpOverlapped,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine)
{
	WSA_CHAIN_CALL("WSASend", lpWSPSend(ws->handle, lpBuffers,
	    dwBufferCount, lpNumberOfBytesSent, dwFlags, lpOverlapped,
	    lpCompletionRoutine, apc_self_id(), &err_));
}

WSPSHIM_EXPORT int WSAAPI
WSASendTo(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
    LPDWORD lpNumberOfBytesSent, DWORD dwFlags, const struct sockaddr *lpTo,
    int iTolen, LPWSAOVERLAPPED lpOverlapped,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine)
{
	WSA_CHAIN_CALL("WSASendTo", lpWSPSendTo(ws->handle, lpBuffers,
	    dwBufferCount, lpNumberOfBytesSent, dwFlags, lpTo, iTolen,
	    lpOverlapped, lpCompletionRoutine, apc_self_id(), &err_));
}

WSPSHIM_EXPORT int WSAAPI
WSARecv(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
    LPDWORD lpNumberOfBytesRecvd, LPDWORD lpFlags,
    LPWSAOVERLAPPED lpOverlapped,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine)
{
	WSA_CHAIN_CALL("WSARecv", lpWSPRecv(ws->handle, lpBuffers,
	    dwBufferCount, lpNumberOfBytesRecvd, lpFlags, lpOverlapped,
	    lpCompletionRoutine, apc_self_id(), &err_));
}

WSPSHIM_EXPORT int WSAAPI
WSARecvFrom(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
    LPDWORD lpNumberOfBytesRecvd, LPDWORD lpFlags, struct sockaddr *lpFrom,
    LPINT lpFromlen, LPWSAOVERLAPPED lpOverlapped,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine)
{
	WSA_CHAIN_CALL("WSARecvFrom", lpWSPRecvFrom(ws->handle, lpBuffers,
	    dwBufferCount, lpNumberOfBytesRecvd, lpFlags, lpFrom, lpFromlen,
	    lpOverlapped, lpCompletionRoutine, apc_self_id(), &err_));
}

WSPSHIM_EXPORT BOOL WSAAPI
WSAGetOverlappedResult(SOCKET s, LPWSAOVERLAPPED lpOverlapped,
    LPDWORD lpcbTransfer, BOOL fWait, LPDWORD lpdwFlags)
{
	struct wsock *ws;
	BOOL ok;
	int err;

	/* Not wsa_enter(): a wait (fWait) may last until a closesocket
	 * aborts the request, and a close waits for the calls held on the
	 * socket.  The request itself is the engine's, valid until it
	 * completes, whatever happens to the socket. */
	if (!wsa_started() || (ws = wsa_sock(s)) == NULL)
		return FALSE;
	wsp_tls.call = "WSAGetOverlappedResult";
	wsp_tls.depth++;
	ok = ws->procs->lpWSPGetOverlappedResult(ws->handle, lpOverlapped,
	    lpcbTransfer, fWait, lpdwFlags, &err);
	wsp_tls.depth--;
	if (!ok) {
		wsp_tls.last_error = err;
		return FALSE;
	}
	wsp_tls.last_error = 0;
	return TRUE;
}
