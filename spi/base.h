/*
 * base.h - the built-in base provider, the end of every chain.
 *
 * It is an ordinary provider to everything above it (base_startup is its
 * WSPStartup and fills a complete WSPPROC_TABLE), and it is the only code
 * that issues socket syscalls, always through the libc table.  Its SOCKET
 * handles are virtual (see handle.h): each names a kernel descriptor that
 * the core may re-point when the program closes the original descriptor of
 * a dup()ed socket.
 */
#ifndef WSPSHIM_BASE_H
#define WSPSHIM_BASE_H

#include <sys/socket.h>
#include <netinet/in.h>

#include <wspshim/ws2spi.h>

/* The base provider's WSPStartup. */
int WSPAPI base_startup(WORD wVersionRequested, LPWSPDATA lpWSPData,
    LPWSAPROTOCOL_INFOW lpProtocolInfo, WSPUPCALLTABLE UpcallTable,
    LPWSPPROC_TABLE lpProcTable);

/* The SOCK_CLOEXEC/SOCK_NONBLOCK bits a WSPSocket's dwFlags ask for. */
static inline int
base_open_flags(DWORD f)
{
	return ((f & WSA_FLAG_NO_HANDLE_INHERIT) ? SOCK_CLOEXEC : 0) |
	    ((f & WSA_FLAG_WSPSHIM_NONBLOCK) ? SOCK_NONBLOCK : 0);
}

/*
 * What socket() gets for a WSPSocket on entry info: a 0 or
 * FROM_PROTOCOL_INFO member takes the entry's value, except a protocol 0
 * the entry matches (PFL_MATCHES_PROTOCOL_ZERO), the kernel's default for
 * its type, which goes down as it is: strace then sees the call the
 * program made.
 */
static inline void
base_socket_args(const WSAPROTOCOL_INFOW *info, int *af, int *type,
    int *protocol)
{
	if (*af == 0 || *af == FROM_PROTOCOL_INFO)
		*af = info->iAddressFamily;
	if (*type == 0 || *type == FROM_PROTOCOL_INFO)
		*type = info->iSocketType;
	if (*protocol == FROM_PROTOCOL_INFO || (*protocol == 0 &&
	    (info->dwProviderFlags & PFL_MATCHES_PROTOCOL_ZERO) == 0))
		*protocol = info->iProtocol;
}

/*
 * WSPSocket for a socket the core matched to info, an entry of the catalog
 * in force, with no group, no token and only WSA_FLAG_NO_HANDLE_INHERIT
 * and WSA_FLAG_WSPSHIM_NONBLOCK in dwFlags (the usual WSASocket call on a
 * base-only chain): the same socket, without the checks those conditions
 * make pointless.  The handle and its descriptor in *fd, or
 * INVALID_SOCKET with *lpErrno.
 */
SOCKET base_socket_direct(const WSAPROTOCOL_INFOW *info, int af, int type,
    int protocol, DWORD dwFlags, int *fd, LPINT lpErrno);

/*
 * A base socket for fd, a kernel socket of entry info (an entry of the
 * catalog in force) made as base_socket_direct() makes one, with its
 * dwFlags: what the core builds when a socket it made without one is first
 * used through the SPI.  The handle, which owns fd from now on, or
 * INVALID_SOCKET with *err (fd is left open).
 */
SOCKET base_wrap_fd(int fd, const WSAPROTOCOL_INFOW *info, DWORD dwFlags,
    int *err);

/* Free base socket s without closing its descriptor (the core closes the
 * descriptors of base-only chains itself). */
void base_release(SOCKET s);

/* The base's lpWSPSendFile and lpWSPSplice (basefile.c): the kernel's
 * own calls on the socket's descriptor. */
int WSPAPI base_sendfile(SOCKET s, int hFile, int64_t *lpOffset,
    size_t cbCount, LPDWORD lpNumberOfBytesSent, LPINT lpErrno);
int WSPAPI base_splice(SOCKET s, int fd, DWORD dwDirection,
    size_t cbLength, DWORD dwFlags, LPDWORD lpNumberOfBytesMoved,
    LPINT lpErrno);

/* The base's WSPCloseSocket, for the core to call without the table. */
int WSPAPI base_closesocket(SOCKET s, LPINT lpErrno);

/* The kernel descriptor behind a base handle, or -1 for anything else (a
 * stale handle, a kernel descriptor, a layer's handle). */
int base_kernel_fd(SOCKET s);

/*
 * The descriptor of the base socket this thread made last, which
 * wsp_tls.made_base names (see core_made_since): set before made_base and
 * made, so a signal handler that makes a socket in between leaves the
 * count above one.  Closing or releasing that socket on this thread sets
 * made_base to INVALID_SOCKET, so a record is never used for a socket that
 * is gone.
 */
extern __thread int base_made_fd __attribute__((tls_model("initial-exec")));

/* Point a base socket at another kernel descriptor of the same file; the
 * socket owns fd from now on (a base_detach is undone). */
void base_set_fd(SOCKET s, int fd);

/* The kernel already closed the descriptor (dup2 over it): the socket's
 * WSPCloseSocket must free it without calling close(). */
void base_detach(SOCKET s);

/* For ovl.c: 1 when live base socket s was made with WSA_FLAG_OVERLAPPED,
 * with its socket type in *type; else 0 (its overlapped arguments are
 * ignored). */
int base_ovl_socket(SOCKET s, int *type);

/* For ovl.c: closing or releasing s calls ovl_close() first. */
void base_ovl_mark(SOCKET s);

/* For netev.c: closing or releasing s calls netev_close() first. */
void base_netev_mark(SOCKET s);

/*
 * A duplicate-socket token that makes the next WSPSocket receiving it take
 * over fd as it is (adoption of a socket the core did not see created).
 * Fills *info with a copy of entry and the token in dwProviderReserved.
 * 0, or a WSA code.
 */
int base_adopt_token(int fd, const WSAPROTOCOL_INFOW *entry,
    WSAPROTOCOL_INFOW *info);

/* fork() child handler: voids every duplicate-socket token. */
void base_atfork_child(void);

/* Whether info->dwProviderReserved holds a token of ours. */
int base_is_token(const WSAPROTOCOL_INFOW *info);

/*
 * base_ext.c: WSPSelect, WSPSendDisconnect, WSPRecvDisconnect and the
 * extension functions.  For the call in progress on this thread, the core
 * names the sockets it concerns: tops[i] is the handle the chain's top
 * provider knows and bases[i] the base's handle of the same socket, so a
 * layer that forwards a call unchanged (its own handle) still reaches the
 * right socket.  n 0 clears it; the arrays must outlive the call.
 */
void base_hint(const SOCKET *tops, const SOCKET *bases, unsigned n);

int WSPAPI base_select(int nfds, fd_set *readfds, fd_set *writefds,
    fd_set *exceptfds, const struct timeval *timeout, LPINT lpErrno);
int WSPAPI base_send_disconnect(SOCKET s, LPWSABUF lpOutboundDisconnectData,
    LPINT lpErrno);
int WSPAPI base_recv_disconnect(SOCKET s, LPWSABUF lpInboundDisconnectData,
    LPINT lpErrno);

/*
 * CF_DEFER (base_ext.c): keep accepted connection fd for the next
 * WSPAccept on listener ls (descriptor lfd): 0, or -1 when the table is
 * full; take it back (the descriptor, or -1).  What a listener kept is
 * closed once the listener is gone, found by base_defer_sweep, which the
 * API's closesocket and WSACleanup call and every use of the table runs
 * first (the close path of the hooks does not pay for it).
 */
int base_defer_put(SOCKET ls, int lfd, int fd);
int base_defer_take(SOCKET ls);
void base_defer_sweep(void);

/* 1 when a connection is kept for the listener on descriptor lfd (an
 * accept takes it at once: the listener is readable), else 0. */
int base_defer_ready(int lfd);

/*
 * The interface WSPJoinLeaf joins on (base_ext.c), as Winsock chooses it:
 * the socket's IP_MULTICAST_IF (IPV6_MULTICAST_IF), else the interface of
 * its bound address, else the kernel's default (INADDR_ANY, 0).
 */
struct in_addr base_mcast_if4(int fd);
unsigned base_mcast_if6(int fd);

/* Nothing: sets event h with the upcall table WSPStartup kept. */
void base_set_event(WSAEVENT h);

/* SIO_GET_EXTENSION_FUNCTION_POINTER: 0 and the base's function for the
 * GUID at in, or WSAEINVAL (unknown GUID) or WSAEFAULT. */
int base_ext_lookup(const void *in, DWORD cbin, void *out, DWORD cbout,
    LPDWORD lpcb);

#endif
