/*
 * ovl.h - overlapped I/O in the base provider (see ovl.c and
 * docs/overlapped.md).
 *
 * The base's WSPSend, WSPSendTo, WSPRecv and WSPRecvFrom hand an
 * overlapped request on a WSA_FLAG_OVERLAPPED socket to ovl_send() and
 * ovl_recv(); nothing here runs, and no ring or thread exists, until a
 * process makes its first such request.
 */
#ifndef WSPSHIM_OVL_H
#define WSPSHIM_OVL_H

#include <wspshim/ws2spi.h>

/*
 * An overlapped send (lpTo NULL: WSPSend) on base socket s, descriptor fd
 * of socket type type: 0 when it completed at once (the byte count in
 * *lpNumberOfBytesSent if not NULL, the event set, the routine queued),
 * or SOCKET_ERROR with WSA_IO_PENDING (it completes later) or the error
 * that ended it at once.
 */
int ovl_send(SOCKET s, int fd, int type, LPWSABUF lpBuffers,
    DWORD dwBufferCount, LPDWORD lpNumberOfBytesSent, DWORD dwFlags,
    const struct sockaddr *lpTo, int iTolen, LPWSAOVERLAPPED lpOverlapped,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
    LPWSATHREADID lpThreadId, LPINT lpErrno);

/* An overlapped receive (lpFrom NULL: WSPRecv), as ovl_send(). */
int ovl_recv(SOCKET s, int fd, int type, LPWSABUF lpBuffers,
    DWORD dwBufferCount, LPDWORD lpNumberOfBytesRecvd, LPDWORD lpFlags,
    struct sockaddr *lpFrom, LPINT lpFromlen, LPWSAOVERLAPPED lpOverlapped,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
    LPWSATHREADID lpThreadId, LPINT lpErrno);

/* fork() handlers, called by the core's (core.c), which registers them
 * all as the library loads: the child starts with no engine and no
 * requests. */
void ovl_atfork_prepare(void);
void ovl_atfork_parent(void);
void ovl_atfork_child(void);

/* Nothing: an operation that succeeded at once with cb bytes and flags is
 * reported complete (Internal, InternalHigh, the event, the routine). */
void ovl_complete_now(LPWSAOVERLAPPED lpOverlapped,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
    LPWSATHREADID lpThreadId, DWORD cb, DWORD flags);

/* Nothing: every operation pending on base socket s completes with
 * WSA_OPERATION_ABORTED; returns once the kernel holds none of them. */
void ovl_close(SOCKET s);

/* The base's WSPGetOverlappedResult (ws2spi.h). */
BOOL WSPAPI ovl_get_result(SOCKET s, LPWSAOVERLAPPED lpOverlapped,
    LPDWORD lpcbTransfer, BOOL fWait, LPDWORD lpdwFlags, LPINT lpErrno);

/* Nothing: WSPGetOverlappedResult waiters look again (a request was
 * completed outside the engine). */
void ovl_wake_waiters(void);

/* Which mechanism overlapped I/O uses in this process: "io_uring",
 * "poll" (the fallback), or "none" before the first request. */
const char *ovl_backend(void);

#endif
