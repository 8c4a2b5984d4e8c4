/*
 * wsa_ext.c - the extension functions as the program calls them.
 *
 * WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER) asks the socket's chain, so
 * a layer may answer with a function of its own or forward the question;
 * the program then gets one of the trampolines below instead, because the
 * chain's function takes the top provider's handles and the program holds
 * kernel descriptors.  On every call the trampoline asks the chain again
 * (WSPIoctl on the socket's top handle: the socket decides, and a layer
 * sees each use), and calls the answer with the top handles.  A layer that
 * forwarded the question passes its own handle on unchanged; the base
 * finds its socket from the core's hint (base_hint).
 *
 * AcceptEx, GetAcceptExSockaddrs and TransmitFile are also exported by
 * name, as mswsock.dll exports them.
 */
#include <string.h>

#include "base.h"
#include "core.h"
#include "export.h"
#include "ext.h"
#include "tls.h"
#include "wsa.h"

/* The chain's function i for ws (its top provider's answer), or NULL
 * with the last error set. */
static ext_any
ext_lookup(struct wsock *ws, int i, const char *name)
{
	ext_any fn = NULL;
	DWORD n = 0;
	int err = 0, rc;

	wsp_tls.call = name;
	wsp_tls.depth++;
	rc = ws->procs->lpWSPIoctl(ws->handle,
	    SIO_GET_EXTENSION_FUNCTION_POINTER, (void *)&ext_guids[i],
	    sizeof(GUID), &fn, sizeof(fn), &n, NULL, NULL, NULL, &err);
	wsp_tls.depth--;
	if (rc != 0 || fn == NULL) {
		wsp_tls.last_error = rc != 0 ? err : WSAEOPNOTSUPP;
		return NULL;
	}
	wsp_tls.call = name;
	return fn;
}

/* The sockets of the call in progress on this thread, for base_hint. */
static __thread SOCKET ext_tops[2], ext_bases[2];

/*
 * The chain socket of s and its function i, with the call entered (the
 * base told which socket s is, s held, the depth raised): ext_leave(s)
 * ends it.
 * NULL with the last error, nothing entered.
 */
static struct wsock *
ext_sock(SOCKET s, int i, const char *name, ext_any *fn)
{
	struct wsock *ws;

	if ((ws = wsa_enter(s, name)) == NULL)
		return NULL;
	if ((*fn = ext_lookup(ws, i, name)) == NULL) {
		wsa_leave(s);
		return NULL;
	}
	ext_tops[0] = ws->handle;
	ext_bases[0] = ws->base;
	base_hint(ext_tops, ext_bases, 1);
	return ws;
}

/* Nothing: ends the call ext_sock entered on s. */
static void
ext_leave(SOCKET s)
{
	base_hint(NULL, NULL, 0);
	wsa_leave(s);
}

static BOOL PASCAL
wsa_acceptex(SOCKET sListenSocket, SOCKET sAcceptSocket, PVOID lpOutputBuffer,
    DWORD dwReceiveDataLength, DWORD dwLocalAddressLength,
    DWORD dwRemoteAddressLength, LPDWORD lpdwBytesReceived,
    LPOVERLAPPED lpOverlapped)
{
	struct wsock *ls, *as;
	ext_any fn;
	BOOL ok;

	if ((as = wsa_enter(sAcceptSocket, "AcceptEx")) == NULL)
		return FALSE;
	if ((ls = ext_sock(sListenSocket, EXT_ACCEPTEX, "AcceptEx", &fn)) ==
	    NULL) {
		wsa_leave(sAcceptSocket);
		return FALSE;
	}
	ext_tops[1] = as->handle;
	ext_bases[1] = as->base;
	base_hint(ext_tops, ext_bases, 2);
	ok = ((LPFN_ACCEPTEX)fn)(ls->handle, as->handle, lpOutputBuffer,
	    dwReceiveDataLength, dwLocalAddressLength, dwRemoteAddressLength,
	    lpdwBytesReceived, lpOverlapped);
	ext_leave(sListenSocket);
	wsa_leave(sAcceptSocket);
	return ok;
}

static void PASCAL
wsa_getacceptexsockaddrs(PVOID lpOutputBuffer, DWORD dwReceiveDataLength,
    DWORD dwLocalAddressLength, DWORD dwRemoteAddressLength,
    struct sockaddr **LocalSockaddr, LPINT LocalSockaddrLength,
    struct sockaddr **RemoteSockaddr, LPINT RemoteSockaddrLength)
{
	/* No socket: the layout is the one every AcceptEx here writes. */
	ext_getacceptexsockaddrs(lpOutputBuffer, dwReceiveDataLength,
	    dwLocalAddressLength, dwRemoteAddressLength, LocalSockaddr,
	    LocalSockaddrLength, RemoteSockaddr, RemoteSockaddrLength);
}

static BOOL PASCAL
wsa_connectex(SOCKET s, const struct sockaddr *name, int namelen,
    PVOID lpSendBuffer, DWORD dwSendDataLength, LPDWORD lpdwBytesSent,
    LPOVERLAPPED lpOverlapped)
{
	struct wsock *ws;
	ext_any fn;
	BOOL ok;

	if ((ws = ext_sock(s, EXT_CONNECTEX, "ConnectEx", &fn)) == NULL)
		return FALSE;
	ok = ((LPFN_CONNECTEX)fn)(ws->handle, name, namelen, lpSendBuffer,
	    dwSendDataLength, lpdwBytesSent, lpOverlapped);
	ext_leave(s);
	return ok;
}

static BOOL PASCAL
wsa_disconnectex(SOCKET s, LPOVERLAPPED lpOverlapped, DWORD dwFlags,
    DWORD dwReserved)
{
	struct wsock *ws;
	ext_any fn;
	BOOL ok;

	if ((ws = ext_sock(s, EXT_DISCONNECTEX, "DisconnectEx", &fn)) == NULL)
		return FALSE;
	ok = ((LPFN_DISCONNECTEX)fn)(ws->handle, lpOverlapped, dwFlags,
	    dwReserved);
	ext_leave(s);
	return ok;
}

static BOOL PASCAL
wsa_transmitfile(SOCKET hSocket, HANDLE hFile, DWORD nNumberOfBytesToWrite,
    DWORD nNumberOfBytesPerSend, LPOVERLAPPED lpOverlapped,
    LPTRANSMIT_FILE_BUFFERS lpTransmitBuffers, DWORD dwReserved)
{
	struct wsock *ws;
	ext_any fn;
	BOOL ok;

	if ((ws = ext_sock(hSocket, EXT_TRANSMITFILE, "TransmitFile", &fn)) ==
	    NULL)
		return FALSE;
	ok = ((LPFN_TRANSMITFILE)fn)(ws->handle, hFile, nNumberOfBytesToWrite,
	    nNumberOfBytesPerSend, lpOverlapped, lpTransmitBuffers,
	    dwReserved);
	ext_leave(hSocket);
	return ok;
}

static BOOL PASCAL
wsa_transmitpackets(SOCKET hSocket, LPTRANSMIT_PACKETS_ELEMENT lpPacketArray,
    DWORD nElementCount, DWORD nSendSize, LPOVERLAPPED lpOverlapped,
    DWORD dwFlags)
{
	struct wsock *ws;
	ext_any fn;
	BOOL ok;

	if ((ws = ext_sock(hSocket, EXT_TRANSMITPACKETS, "TransmitPackets",
	    &fn)) == NULL)
		return FALSE;
	ok = ((LPFN_TRANSMITPACKETS)fn)(ws->handle, lpPacketArray,
	    nElementCount, nSendSize, lpOverlapped, dwFlags);
	ext_leave(hSocket);
	return ok;
}

static INT PASCAL
wsa_wsarecvmsg(SOCKET s, LPWSAMSG lpMsg, LPDWORD lpdwNumberOfBytesRecvd,
    LPWSAOVERLAPPED lpOverlapped,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine)
{
	struct wsock *ws;
	ext_any fn;
	INT rc;

	if ((ws = ext_sock(s, EXT_WSARECVMSG, "WSARecvMsg", &fn)) == NULL)
		return SOCKET_ERROR;
	rc = ((LPFN_WSARECVMSG)fn)(ws->handle, lpMsg, lpdwNumberOfBytesRecvd,
	    lpOverlapped, lpCompletionRoutine);
	ext_leave(s);
	return rc;
}

static INT PASCAL
wsa_wsasendmsg(SOCKET s, LPWSAMSG lpMsg, DWORD dwFlags,
    LPDWORD lpNumberOfBytesSent, LPWSAOVERLAPPED lpOverlapped,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine)
{
	struct wsock *ws;
	ext_any fn;
	INT rc;

	if ((ws = ext_sock(s, EXT_WSASENDMSG, "WSASendMsg", &fn)) == NULL)
		return SOCKET_ERROR;
	rc = ((LPFN_WSASENDMSG)fn)(ws->handle, lpMsg, dwFlags,
	    lpNumberOfBytesSent, lpOverlapped, lpCompletionRoutine);
	ext_leave(s);
	return rc;
}

static const ext_any wsa_ext_fns[EXT_COUNT] = {
#define EXT_WSA(id, fn)	[id] = (ext_any)wsa_##fn,
	EXT_FUNCTIONS(EXT_WSA)
#undef EXT_WSA
};

int
wsa_ext_pointer(const void *in, DWORD cbin, void *out, DWORD cbout)
{
	int i = ext_index(in, cbin);

	if (i < 0)
		return WSAEINVAL;
	if (out == NULL || cbout < sizeof(ext_any))
		return WSAEFAULT;
	memcpy(out, &wsa_ext_fns[i], sizeof(ext_any));
	return 0;
}

WSPSHIM_EXPORT BOOL PASCAL
AcceptEx(SOCKET sListenSocket, SOCKET sAcceptSocket, PVOID lpOutputBuffer,
    DWORD dwReceiveDataLength, DWORD dwLocalAddressLength,
    DWORD dwRemoteAddressLength, LPDWORD lpdwBytesReceived,
    LPOVERLAPPED lpOverlapped)
{
	return wsa_acceptex(sListenSocket, sAcceptSocket, lpOutputBuffer,
	    dwReceiveDataLength, dwLocalAddressLength, dwRemoteAddressLength,
	    lpdwBytesReceived, lpOverlapped);
}

WSPSHIM_EXPORT void PASCAL
GetAcceptExSockaddrs(PVOID lpOutputBuffer, DWORD dwReceiveDataLength,
    DWORD dwLocalAddressLength, DWORD dwRemoteAddressLength,
    struct sockaddr **LocalSockaddr, LPINT LocalSockaddrLength,
    struct sockaddr **RemoteSockaddr, LPINT RemoteSockaddrLength)
{
	wsa_getacceptexsockaddrs(lpOutputBuffer, dwReceiveDataLength,
	    dwLocalAddressLength, dwRemoteAddressLength, LocalSockaddr,
	    LocalSockaddrLength, RemoteSockaddr, RemoteSockaddrLength);
}

WSPSHIM_EXPORT BOOL PASCAL
TransmitFile(SOCKET hSocket, HANDLE hFile, DWORD nNumberOfBytesToWrite,
    DWORD nNumberOfBytesPerSend, LPOVERLAPPED lpOverlapped,
    LPTRANSMIT_FILE_BUFFERS lpTransmitBuffers, DWORD dwReserved)
{
	return wsa_transmitfile(hSocket, hFile, nNumberOfBytesToWrite,
	    nNumberOfBytesPerSend, lpOverlapped, lpTransmitBuffers,
	    dwReserved);
}
