/*
 * base_ext.c - the base provider's WSPSelect, WSPSendDisconnect,
 * WSPRecvDisconnect and extension functions (mswsock.h).
 *
 * They take base handles.  A layer that does not take part in one of these
 * calls forwards it unchanged, so its own handle arrives here: the core
 * names, for the call in progress, the top handle and base handle of every
 * socket it concerns (base_hint), and the base finds its socket from that.
 *
 * Overlapped forms: until the overlapped engine is in the base, a request
 * with a WSAOVERLAPPED is carried out before the call returns; it then
 * returns success with Internal 0, InternalHigh the byte count, and the
 * event set.  A completion routine cannot be run that way and is
 * WSAEOPNOTSUPP.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "base.h"
#include "errmap.h"
#include "ext.h"
#include "libc.h"
#include "netev.h"
#include "tls.h"

#define BASE_SELECT_STACK	64	/* sockets polled without malloc */
#define BASE_SEND_CHUNK		(1u << 30)

static __thread const SOCKET *hint_top;
static __thread const SOCKET *hint_base;
static __thread unsigned hint_n;

void
base_hint(const SOCKET *tops, const SOCKET *bases, unsigned n)
{
	hint_top = tops;
	hint_base = bases;
	hint_n = n;
}

/* The kernel descriptor of s, a base handle or a hinted top handle; -1. */
static int
ext_fd(SOCKET s)
{
	unsigned i;
	int fd = base_kernel_fd(s);

	if (fd >= 0)
		return fd;
	for (i = 0; i < hint_n; i++)
		if (hint_top[i] == s)
			return base_kernel_fd(hint_base[i]);
	return -1;
}

/* The base handle s names (as ext_fd()), or INVALID_SOCKET. */
static SOCKET
ext_base(SOCKET s)
{
	unsigned i;

	if (base_kernel_fd(s) >= 0)
		return s;
	for (i = 0; i < hint_n; i++)
		if (hint_top[i] == s)
			return hint_base[i];
	return INVALID_SOCKET;
}

/* Set the last error (extension functions report through it); FALSE. */
static BOOL
ext_fail(int code)
{
	wsp_tls.last_error = code;
	return FALSE;
}

/* FALSE with the last error mapped from errno. */
static BOOL
ext_fail_errno(void)
{
	return ext_fail(errmap_from_errno(errno));
}

/* TRUE after recording a finished request in ov (when there is one). */
static BOOL
ext_done(LPWSAOVERLAPPED ov, DWORD bytes)
{
	if (ov != NULL) {
		ov->Internal = 0;
		ov->InternalHigh = bytes;
		if (ov->hEvent != WSA_INVALID_EVENT)
			base_set_event(ov->hEvent);
	}
	wsp_tls.last_error = 0;
	return TRUE;
}

/* 0 once fd is ready for events (waiting as long as it takes), or -1. */
static int
ext_wait(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	int rc;

	do
		rc = poll(&p, 1, -1);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? -1 : 0;
}

/* 0 after sending all n bytes of p on fd, or -1 with errno. */
static int
ext_send_all(int fd, const char *p, size_t n)
{
	ssize_t k;

	while (n > 0) {
		k = libc.send(fd, p, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EAGAIN) {
			if (ext_wait(fd, POLLOUT) != 0)
				return -1;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* 0 after sending len bytes of file fd (all up to its end when len is 0)
 * from *off (the file position when off is NULL); *sent adds what went. */
static int
ext_send_file(int sfd, int ffd, off_t *off, size_t len, DWORD *sent)
{
	size_t want;
	ssize_t k;
	int all = len == 0;

	while (all || len > 0) {
		want = all || len > BASE_SEND_CHUNK ? BASE_SEND_CHUNK : len;
		k = libc.sendfile(sfd, ffd, off, want);
		if (k < 0 && errno == EAGAIN) {
			if (ext_wait(sfd, POLLOUT) != 0)
				return -1;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		if (k == 0)
			break;	/* end of file */
		*sent += (DWORD)k;
		if (!all)
			len -= (size_t)k;
	}
	return 0;
}

static int defer_get(SOCKET ls, int lfd, int peek);

/* --- WSPSelect -------------------------------------------------------- */

/* Nothing: adds the handles of set to p with events ev. */
static void
sel_add(struct pollfd *p, unsigned *n, const fd_set *set, short ev)
{
	const SOCKET *a;
	u_int i;

	if (set == NULL)
		return;
	a = set->fd_array;
	for (i = 0; i < set->fd_count; i++) {
		p[*n].fd = ext_fd(a[i]);
		p[*n].events = ev;
		p[*n].revents = 0;
		(*n)++;
	}
}

/* How many handles of set stay (those whose poll entries show ready),
 * compacting the set to them. */
static int
sel_keep(fd_set *set, const struct pollfd *p, unsigned *at, int kind)
{
	SOCKET *a;
	u_int i, k = 0;
	short r;
	int ready;

	if (set == NULL)
		return 0;
	a = set->fd_array;
	for (i = 0; i < set->fd_count; i++) {
		r = p[*at + i].revents;
		if (kind == 0)
			ready = (r & (POLLIN | POLLHUP | POLLERR)) != 0 ||
			    defer_get(0, p[*at + i].fd, 1) >= 0;
		else if (kind == 1)	/* a failed connect is an exception */
			ready = (r & POLLOUT) != 0 && (r & POLLERR) == 0;
		else
			ready = (r & (POLLPRI | POLLERR)) != 0;
		if (ready)
			a[k++] = a[i];
	}
	*at += set->fd_count;
	set->fd_count = k;
	return (int)k;
}

/* The poll timeout of a Winsock timeval (NULL waits), or -2 if bad. */
static int
sel_timeout(const struct timeval *tv)
{
	long long ms;

	if (tv == NULL)
		return -1;
	if (tv->tv_sec < 0 || tv->tv_usec < 0)
		return -2;
	ms = (long long)tv->tv_sec * 1000 + (tv->tv_usec + 999) / 1000;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

int WSPAPI
base_select(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds,
    const struct timeval *timeout, LPINT lpErrno)
{
	struct pollfd stack[BASE_SELECT_STACK], *p = stack;
	unsigned n = 0, at = 0, total = 0, i;
	int ms = sel_timeout(timeout), rc, err = 0;

	total += readfds != NULL ? readfds->fd_count : 0;
	total += writefds != NULL ? writefds->fd_count : 0;
	total += exceptfds != NULL ? exceptfds->fd_count : 0;
	if (total == 0 || ms == -2) {
		*lpErrno = WSAEINVAL;
		return SOCKET_ERROR;
	}
	if (total > BASE_SELECT_STACK &&
	    (p = calloc(total, sizeof(*p))) == NULL) {
		*lpErrno = WSAENOBUFS;
		return SOCKET_ERROR;
	}
	sel_add(p, &n, readfds, POLLIN);
	sel_add(p, &n, writefds, POLLOUT);
	sel_add(p, &n, exceptfds, POLLPRI);
	for (i = 0; i < n; i++)
		if (p[i].fd < 0)
			err = WSAENOTSOCK;
	for (i = 0; err == 0 && readfds != NULL && i < readfds->fd_count; i++)
		if (defer_get(0, p[i].fd, 1) >= 0)
			ms = 0;		/* a kept connection is ready now */
	if (err == 0) {
		do
			rc = poll(p, n, ms);
		while (rc < 0 && errno == EINTR && ms < 0);
		if (rc < 0)
			err = errmap_from_errno(errno);
	}
	if (err == 0) {
		rc = sel_keep(readfds, p, &at, 0);
		rc += sel_keep(writefds, p, &at, 1);
		rc += sel_keep(exceptfds, p, &at, 2);
	}
	if (p != stack)
		free(p);
	if (err != 0) {
		*lpErrno = err;
		return SOCKET_ERROR;
	}
	return rc;
}

/* --- WSPSendDisconnect, WSPRecvDisconnect ----------------------------- */

/* shutdown(how) on s; disconnect data is WSAEOPNOTSUPP (no built-in
 * protocol carries it, XP1_DISCONNECT_DATA).  0 or SOCKET_ERROR. */
static int
ext_shutdown(SOCKET s, LPWSABUF data, int how, LPINT lpErrno)
{
	int fd = ext_fd(s);

	if (fd < 0) {
		*lpErrno = WSAENOTSOCK;
		return SOCKET_ERROR;
	}
	if (data != NULL && data->len != 0) {
		*lpErrno = WSAEOPNOTSUPP;
		return SOCKET_ERROR;
	}
	if (libc.shutdown(fd, how) != 0) {
		*lpErrno = errmap_from_errno(errno);
		return SOCKET_ERROR;
	}
	return 0;
}

int WSPAPI
base_send_disconnect(SOCKET s, LPWSABUF lpOutboundDisconnectData,
    LPINT lpErrno)
{
	return ext_shutdown(s, lpOutboundDisconnectData, SHUT_WR, lpErrno);
}

int WSPAPI
base_recv_disconnect(SOCKET s, LPWSABUF lpInboundDisconnectData,
    LPINT lpErrno)
{
	if (lpInboundDisconnectData != NULL)
		lpInboundDisconnectData->len = 0;
	return ext_shutdown(s, NULL, SHUT_RD, lpErrno);
}

/* --- the extension functions ------------------------------------------ */

/* The address length of fd's family (for AcceptEx's buffer check). */
static socklen_t
ext_addrlen(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (libc.getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return sizeof(ss);
	return ss.ss_family == AF_INET ? sizeof(struct sockaddr_in) :
	    ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : len;
}

/* Nothing: stores one address of fd (local or peer) for GetAcceptEx-
 * Sockaddrs at p, room bytes. */
static void
ext_put_addr(int fd, int peer, char *p, DWORD room)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	INT n = 0;
	int rc;

	DWORD off = (DWORD)(ext_addr_at(p) - p);

	rc = peer ? libc.getpeername(fd, (struct sockaddr *)&ss, &len) :
	    libc.getsockname(fd, (struct sockaddr *)&ss, &len);
	if (rc == 0 && room >= off && len <= room - off) {
		n = (INT)len;
		memcpy(ext_addr_at(p), &ss, len);
	}
	memcpy(p, &n, sizeof(n));
}

/* AcceptEx: the accepted connection becomes sAcceptSocket (its descriptor
 * is replaced with dup3, so every layer's socket over it stays). */
static BOOL PASCAL
base_acceptex(SOCKET sListenSocket, SOCKET sAcceptSocket,
    PVOID lpOutputBuffer, DWORD dwReceiveDataLength,
    DWORD dwLocalAddressLength, DWORD dwRemoteAddressLength,
    LPDWORD lpdwBytesReceived, LPOVERLAPPED lpOverlapped)
{
	int lfd = ext_fd(sListenSocket), afd = ext_fd(sAcceptSocket);
	int nfd, fl, fdfl, saved;
	socklen_t need;
	ssize_t got = 0;
	char *out = lpOutputBuffer;

	if (lfd < 0 || afd < 0)
		return ext_fail(WSAENOTSOCK);
	if (out == NULL || (lpOverlapped == NULL && lpdwBytesReceived == NULL))
		return ext_fail(WSAEFAULT);
	need = ext_addrlen(lfd) + EXT_ADDR_EXTRA;
	if (dwLocalAddressLength < need || dwRemoteAddressLength < need)
		return ext_fail(WSAEINVAL);
	if ((fl = libc.fcntl(afd, F_GETFL)) < 0 ||
	    (fdfl = libc.fcntl(afd, F_GETFD)) < 0)
		return ext_fail(WSAENOTSOCK);
	for (;;) {
		nfd = libc.accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		netev_hook_accept(ext_base(sListenSocket), INVALID_SOCKET);
		if (nfd >= 0)
			break;
		if (errno == EAGAIN && ext_wait(lfd, POLLIN) == 0)
			continue;
		if (errno != EINTR && errno != ECONNABORTED)
			return ext_fail_errno();
	}
	if (libc.dup3(nfd, afd, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
		saved = errno;
		(void)libc.close(nfd);
		errno = saved;
		return ext_fail_errno();
	}
	(void)libc.close(nfd);
	(void)libc.fcntl(afd, F_SETFL, fl & O_NONBLOCK);
	if (dwReceiveDataLength > 0) {
		do {
			got = libc.recv(afd, out, dwReceiveDataLength, 0);
			if (got < 0 && errno == EAGAIN &&
			    ext_wait(afd, POLLIN) == 0)
				continue;
		} while (got < 0 && (errno == EINTR || errno == EAGAIN));
		if (got < 0)
			return ext_fail_errno();
	}
	ext_put_addr(afd, 0, out + dwReceiveDataLength, dwLocalAddressLength);
	ext_put_addr(afd, 1, out + dwReceiveDataLength + dwLocalAddressLength,
	    dwRemoteAddressLength);
	if (lpdwBytesReceived != NULL)
		*lpdwBytesReceived = (DWORD)got;
	return ext_done(lpOverlapped, (DWORD)got);
}

/* GetAcceptExSockaddrs: parses what base_acceptex stored. */
static void PASCAL
base_getacceptexsockaddrs(PVOID lpOutputBuffer, DWORD dwReceiveDataLength,
    DWORD dwLocalAddressLength, DWORD dwRemoteAddressLength,
    struct sockaddr **LocalSockaddr, LPINT LocalSockaddrLength,
    struct sockaddr **RemoteSockaddr, LPINT RemoteSockaddrLength)
{
	ext_getacceptexsockaddrs(lpOutputBuffer, dwReceiveDataLength,
	    dwLocalAddressLength, dwRemoteAddressLength, LocalSockaddr,
	    LocalSockaddrLength, RemoteSockaddr, RemoteSockaddrLength);
}

/* Whether fd has a local port (Winsock's ConnectEx needs a bound socket). */
static int
ext_bound(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (libc.getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ((struct sockaddr_in *)&ss)->sin_port != 0;
	if (ss.ss_family == AF_INET6)
		return ((struct sockaddr_in6 *)&ss)->sin6_port != 0;
	return 1;
}

/* ConnectEx: connect (waiting for the handshake), then send the data. */
static BOOL PASCAL
base_connectex(SOCKET s, const struct sockaddr *name, int namelen,
    PVOID lpSendBuffer, DWORD dwSendDataLength, LPDWORD lpdwBytesSent,
    LPOVERLAPPED lpOverlapped)
{
	int fd = ext_fd(s), e = 0;
	socklen_t el = sizeof(e);

	if (fd < 0)
		return ext_fail(WSAENOTSOCK);
	if (name == NULL)
		return ext_fail(WSAEFAULT);
	if (!ext_bound(fd))
		return ext_fail(WSAEINVAL);
	if (libc.connect(fd, name, (socklen_t)namelen) != 0) {
		if (errno != EINPROGRESS && errno != EINTR)
			return ext_fail_errno();
		if (ext_wait(fd, POLLOUT) != 0 || libc.getsockopt(fd,
		    SOL_SOCKET, SO_ERROR, &e, &el) != 0)
			return ext_fail_errno();
		if (e != 0)
			return ext_fail(errmap_from_errno(e));
	}
	netev_hook(ext_base(s), NETEV_CONNECTED);
	if (lpSendBuffer != NULL && dwSendDataLength > 0 &&
	    ext_send_all(fd, lpSendBuffer, dwSendDataLength) != 0)
		return ext_fail_errno();
	if (lpdwBytesSent != NULL)
		*lpdwBytesSent = lpSendBuffer != NULL ? dwSendDataLength : 0;
	return ext_done(lpOverlapped, lpSendBuffer != NULL ?
	    dwSendDataLength : 0);
}

/* DisconnectEx: a graceful close of the connection; with
 * TF_REUSE_SOCKET the socket is made unconnected again (connect to
 * AF_UNSPEC) so that AcceptEx or ConnectEx can use it. */
static BOOL PASCAL
base_disconnectex(SOCKET s, LPOVERLAPPED lpOverlapped, DWORD dwFlags,
    DWORD dwReserved)
{
	struct sockaddr sa = { .sa_family = AF_UNSPEC };
	int fd = ext_fd(s);

	if (fd < 0)
		return ext_fail(WSAENOTSOCK);
	if (dwReserved != 0 || (dwFlags & ~(DWORD)TF_REUSE_SOCKET) != 0)
		return ext_fail(WSAEINVAL);
	if (libc.shutdown(fd, SHUT_RDWR) != 0)
		return ext_fail_errno();
	if ((dwFlags & TF_REUSE_SOCKET) &&
	    libc.connect(fd, &sa, sizeof(sa)) != 0)
		return ext_fail_errno();
	return ext_done(lpOverlapped, 0);
}

/* TransmitFile: head, the file (from the OVERLAPPED's offset, else its
 * position), tail; TF_DISCONNECT shuts the connection down after. */
static BOOL PASCAL
base_transmitfile(SOCKET hSocket, HANDLE hFile, DWORD nNumberOfBytesToWrite,
    DWORD nNumberOfBytesPerSend, LPOVERLAPPED lpOverlapped,
    LPTRANSMIT_FILE_BUFFERS lpTransmitBuffers, DWORD dwReserved)
{
	int fd = ext_fd(hSocket), ffd = (int)(intptr_t)hFile;
	LPTRANSMIT_FILE_BUFFERS tb = lpTransmitBuffers;
	off_t off, *offp = NULL;
	DWORD sent = 0;

	if (fd < 0)
		return ext_fail(WSAENOTSOCK);
	if ((dwReserved & ~(DWORD)(TF_DISCONNECT | TF_REUSE_SOCKET |
	    TF_WRITE_BEHIND | TF_USE_SYSTEM_THREAD | TF_USE_KERNEL_APC)) != 0)
		return ext_fail(WSAEINVAL);
	if (tb != NULL && tb->Head != NULL && tb->HeadLength > 0) {
		if (ext_send_all(fd, tb->Head, tb->HeadLength) != 0)
			return ext_fail_errno();
		sent += tb->HeadLength;
	}
	if (hFile != NULL) {
		if (lpOverlapped != NULL) {
			off = (off_t)((uint64_t)lpOverlapped->OffsetHigh << 32 |
			    lpOverlapped->Offset);
			offp = &off;
		}
		if (ext_send_file(fd, ffd, offp, nNumberOfBytesToWrite,
		    &sent) != 0)
			return ext_fail(errno == EBADF || errno == EINVAL ?
			    WSAEINVAL : errmap_from_errno(errno));
	}
	if (tb != NULL && tb->Tail != NULL && tb->TailLength > 0) {
		if (ext_send_all(fd, tb->Tail, tb->TailLength) != 0)
			return ext_fail_errno();
		sent += tb->TailLength;
	}
	if ((dwReserved & TF_DISCONNECT) &&
	    libc.shutdown(fd, SHUT_WR) != 0)
		return ext_fail_errno();
	return ext_done(lpOverlapped, sent);
}

/* TransmitPackets: each element in turn (memory, or a file range whose
 * offset -1 means the file's position and length 0 its rest). */
static BOOL PASCAL
base_transmitpackets(SOCKET hSocket, LPTRANSMIT_PACKETS_ELEMENT lpPacketArray,
    DWORD nElementCount, DWORD nSendSize, LPOVERLAPPED lpOverlapped,
    DWORD dwFlags)
{
	LPTRANSMIT_PACKETS_ELEMENT e;
	int fd = ext_fd(hSocket);
	off_t off;
	DWORD i, sent = 0;

	if (fd < 0)
		return ext_fail(WSAENOTSOCK);
	if (lpPacketArray == NULL && nElementCount > 0)
		return ext_fail(WSAEFAULT);
	if ((dwFlags & ~(DWORD)(TP_DISCONNECT | TP_REUSE_SOCKET |
	    TP_USE_SYSTEM_THREAD | TP_USE_KERNEL_APC)) != 0)
		return ext_fail(WSAEINVAL);
	for (i = 0; i < nElementCount; i++) {
		e = &lpPacketArray[i];
		switch (e->dwElFlags & (TP_ELEMENT_MEMORY | TP_ELEMENT_FILE)) {
		case TP_ELEMENT_MEMORY:
			if (e->u.pBuffer == NULL && e->cLength > 0)
				return ext_fail(WSAEFAULT);
			if (ext_send_all(fd, e->u.pBuffer, e->cLength) != 0)
				return ext_fail_errno();
			sent += e->cLength;
			break;
		case TP_ELEMENT_FILE:
			off = (off_t)e->u.f.nFileOffset.QuadPart;
			if (ext_send_file(fd, (int)(intptr_t)e->u.f.hFile,
			    off < 0 ? NULL : &off, e->cLength, &sent) != 0)
				return ext_fail(errno == EBADF ||
				    errno == EINVAL ? WSAEINVAL :
				    errmap_from_errno(errno));
			break;
		default:
			return ext_fail(WSAEINVAL);
		}
	}
	if ((dwFlags & TP_DISCONNECT) && libc.shutdown(fd, SHUT_WR) != 0)
		return ext_fail_errno();
	return ext_done(lpOverlapped, sent);
}

/* Nothing: describes a WSAMSG for the kernel (iov has dwBufferCount). */
static void
ext_msghdr(struct msghdr *m, struct iovec *iov, const WSAMSG *w)
{
	ULONG i;

	for (i = 0; i < w->dwBufferCount; i++) {
		iov[i].iov_base = w->lpBuffers[i].buf;
		iov[i].iov_len = w->lpBuffers[i].len;
	}
	memset(m, 0, sizeof(*m));
	m->msg_name = w->name;
	m->msg_namelen = w->name != NULL ? (socklen_t)w->namelen : 0;
	m->msg_iov = iov;
	m->msg_iovlen = w->dwBufferCount;
	m->msg_control = w->Control.len > 0 ? w->Control.buf : NULL;
	m->msg_controllen = w->Control.len;
}

/* 0 if a WSAMSG and a completion routine can be used, else a WSA code. */
static int
ext_msg_check(int fd, const WSAMSG *msg,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE cr)
{
	if (fd < 0)
		return WSAENOTSOCK;
	if (msg == NULL || (msg->lpBuffers == NULL && msg->dwBufferCount > 0))
		return WSAEFAULT;
	if (msg->dwBufferCount > IOV_MAX)
		return WSAENOBUFS;
	if (cr != NULL)
		return WSAEOPNOTSUPP;	/* needs the overlapped engine */
	return 0;
}

/* WSARecvMsg: recvmsg(2); dwFlags in: MSG_PEEK; out: the kernel's flags. */
static INT PASCAL
base_wsarecvmsg(SOCKET s, LPWSAMSG lpMsg, LPDWORD lpdwNumberOfBytesRecvd,
    LPWSAOVERLAPPED lpOverlapped,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine)
{
	struct iovec iov[IOV_MAX];
	struct msghdr m;
	int fd = ext_fd(s), err;
	ssize_t n;

	if ((err = ext_msg_check(fd, lpMsg, lpCompletionRoutine)) != 0) {
		wsp_tls.last_error = err;
		return SOCKET_ERROR;
	}
	ext_msghdr(&m, iov, lpMsg);
	do
		n = libc.recvmsg(fd, &m, (int)(lpMsg->dwFlags & MSG_PEEK));
	while (n < 0 && errno == EINTR);
	netev_hook(ext_base(s), NETEV_RECV);
	if (n < 0) {
		wsp_tls.last_error = errmap_from_errno(errno);
		return SOCKET_ERROR;
	}
	lpMsg->namelen = (INT)m.msg_namelen;
	lpMsg->Control.len = (ULONG)m.msg_controllen;
	lpMsg->dwFlags = (ULONG)m.msg_flags;
	if (lpdwNumberOfBytesRecvd != NULL)
		*lpdwNumberOfBytesRecvd = (DWORD)n;
	(void)ext_done(lpOverlapped, (DWORD)n);
	return 0;
}

/* WSASendMsg: sendmsg(2) with Linux's MSG_* flags. */
static INT PASCAL
base_wsasendmsg(SOCKET s, LPWSAMSG lpMsg, DWORD dwFlags,
    LPDWORD lpNumberOfBytesSent, LPWSAOVERLAPPED lpOverlapped,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine)
{
	struct iovec iov[IOV_MAX];
	struct msghdr m;
	int fd = ext_fd(s), err;
	ssize_t n;

	if ((err = ext_msg_check(fd, lpMsg, lpCompletionRoutine)) != 0) {
		wsp_tls.last_error = err;
		return SOCKET_ERROR;
	}
	ext_msghdr(&m, iov, lpMsg);
	do
		n = libc.sendmsg(fd, &m, (int)dwFlags | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		netev_hook(ext_base(s), NETEV_SEND_BLOCKED);
	if (n < 0) {
		wsp_tls.last_error = errmap_from_errno(errno);
		return SOCKET_ERROR;
	}
	if (lpNumberOfBytesSent != NULL)
		*lpNumberOfBytesSent = (DWORD)n;
	(void)ext_done(lpOverlapped, (DWORD)n);
	return 0;
}

static const ext_any base_ext_fns[EXT_COUNT] = {
#define EXT_BASE(id, fn)	[id] = (ext_any)base_##fn,
	EXT_FUNCTIONS(EXT_BASE)
#undef EXT_BASE
};

int
base_ext_lookup(const void *in, DWORD cbin, void *out, DWORD cbout,
    LPDWORD lpcb)
{
	int i = ext_index(in, cbin);

	if (i < 0)
		return in == NULL || cbin < sizeof(GUID) ? WSAEFAULT :
		    WSAEINVAL;
	if (out == NULL || cbout < sizeof(ext_any))
		return WSAEFAULT;
	memcpy(out, &base_ext_fns[i], sizeof(ext_any));
	*lpcb = sizeof(ext_any);
	return 0;
}

/* --- WSAAccept's CF_DEFER: connections kept for a later accept ------- */

/*
 * Linux cannot put an accepted connection back in the queue, so a
 * deferred one is kept here, by the listening socket, and the next
 * WSPAccept with a condition function on that listener takes it before
 * asking the kernel; WSPSelect reports the listener readable meanwhile.
 * Few programs defer, so this is a small table under a lock; defer_n
 * keeps every use of it to one load while it is empty.
 */
#define DEFER_SLOTS	16

static struct {
	SOCKET	ls;		/* the listener's base handle; 0: free */
	int	lfd;		/* ... and its descriptor */
	int	fd;		/* the connection kept */
} defer_tab[DEFER_SLOTS];
static pthread_mutex_t defer_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic unsigned defer_n;

/* Nothing: closes what listeners that are gone kept (defer_lock held). */
static void
defer_sweep_locked(void)
{
	int i, saved = errno;

	for (i = 0; i < DEFER_SLOTS; i++)
		if (defer_tab[i].ls != 0 &&
		    base_kernel_fd(defer_tab[i].ls) != defer_tab[i].lfd) {
			(void)libc.close(defer_tab[i].fd);
			defer_tab[i].ls = 0;
			atomic_fetch_sub(&defer_n, 1);
		}
	errno = saved;
}

void
base_defer_sweep(void)
{
	if (atomic_load_explicit(&defer_n, memory_order_relaxed) == 0)
		return;
	pthread_mutex_lock(&defer_lock);
	defer_sweep_locked();
	pthread_mutex_unlock(&defer_lock);
}

int
base_defer_put(SOCKET ls, int lfd, int fd)
{
	int i, rc = -1;

	pthread_mutex_lock(&defer_lock);
	defer_sweep_locked();
	for (i = 0; i < DEFER_SLOTS && rc < 0; i++)
		if (defer_tab[i].ls == 0) {
			defer_tab[i].ls = ls;
			defer_tab[i].lfd = lfd;
			defer_tab[i].fd = fd;
			atomic_fetch_add(&defer_n, 1);
			rc = 0;
		}
	pthread_mutex_unlock(&defer_lock);
	return rc;
}

/* The connection kept for listener ls (by handle) or, with ls 0, for
 * descriptor lfd: taken out of the table, or (peek) only answered.  The
 * descriptor, or -1. */
static int
defer_get(SOCKET ls, int lfd, int peek)
{
	int i, fd = -1;

	if (atomic_load_explicit(&defer_n, memory_order_relaxed) == 0)
		return -1;
	pthread_mutex_lock(&defer_lock);
	defer_sweep_locked();
	for (i = 0; i < DEFER_SLOTS && fd < 0; i++)
		if (defer_tab[i].ls != 0 && (ls != 0 ?
		    defer_tab[i].ls == ls : defer_tab[i].lfd == lfd)) {
			fd = defer_tab[i].fd;
			if (!peek) {
				defer_tab[i].ls = 0;
				atomic_fetch_sub(&defer_n, 1);
			}
		}
	pthread_mutex_unlock(&defer_lock);
	return fd;
}

int
base_defer_take(SOCKET ls)
{
	return defer_get(ls, -1, 0);
}

int
base_defer_ready(int lfd)
{
	return defer_get(0, lfd, 1) >= 0;
}

/* --- WSPJoinLeaf's interface ----------------------------------------- */

struct in_addr
base_mcast_if4(int fd)
{
	struct sockaddr_in sin;
	struct in_addr a = { .s_addr = htonl(INADDR_ANY) };
	socklen_t len = sizeof(a);
	int saved = errno;

	if (libc.getsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &a, &len) != 0 ||
	    a.s_addr == htonl(INADDR_ANY)) {
		len = sizeof(sin);
		a.s_addr = htonl(INADDR_ANY);
		if (libc.getsockname(fd, (struct sockaddr *)&sin, &len) == 0 &&
		    sin.sin_family == AF_INET)
			a = sin.sin_addr;
	}
	errno = saved;
	return a;
}

unsigned
base_mcast_if6(int fd)
{
	struct sockaddr_in6 sin6;
	struct ifaddrs *ifs = NULL, *i;
	socklen_t len = sizeof(int);
	unsigned idx = 0;
	int v = 0, saved = errno;

	if (libc.getsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &v,
	    &len) == 0 && v > 0)
		return (unsigned)v;
	len = sizeof(sin6);
	if (libc.getsockname(fd, (struct sockaddr *)&sin6, &len) != 0 ||
	    sin6.sin6_family != AF_INET6 ||
	    IN6_IS_ADDR_UNSPECIFIED(&sin6.sin6_addr))
		goto out;
	if (sin6.sin6_scope_id != 0) {
		idx = sin6.sin6_scope_id;
		goto out;
	}
	if (getifaddrs(&ifs) != 0)
		goto out;
	for (i = ifs; i != NULL && idx == 0; i = i->ifa_next)
		if (i->ifa_addr != NULL && i->ifa_addr->sa_family == AF_INET6 &&
		    memcmp(&((struct sockaddr_in6 *)(void *)i->ifa_addr)->
		    sin6_addr, &sin6.sin6_addr, sizeof(sin6.sin6_addr)) == 0)
			idx = if_nametoindex(i->ifa_name);
	freeifaddrs(ifs);
out:
	errno = saved;
	return idx;
}
