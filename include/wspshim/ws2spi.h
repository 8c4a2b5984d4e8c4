/*
 * ws2spi.h - the Windows Sockets 2 Service Provider Interface of libwspshim.
 *
 * What a provider (a layer plugin, or the built-in base) exports and what
 * the core hands it: WSPStartup, WSPPROC_TABLE, WSPUPCALLTABLE, WSPDATA, and
 * the WSC* catalog calls.  Member orders and numbers are Winsock's, so an
 * LSP written for Windows ports with few changes.
 *
 * Conventions of every WSP* operation: it returns 0 (or a count, or a
 * handle) on success; on failure it returns SOCKET_ERROR (INVALID_SOCKET
 * for handle-returning operations) and stores a WSAE* code in *lpErrno.
 * errno never crosses this interface.
 *
 * Linux members (sendmsg/recvmsg with ancillary data, accept4, sendfile,
 * splice) are appended to WSPPROC_TABLE after the 30 Winsock members.  A
 * provider reports how many it fills through WSPDATA.wLinuxTableVersion; a
 * provider built against Winsock's table leaves it 0 and keeps loading.
 * The core completes an older table before anything uses it: each member
 * the provider's version lacks gets a fallback built on its Winsock
 * members, so every table a provider is handed (the next provider's, from
 * WSPShimStartNextProvider) has every member of this header filled.
 */
#ifndef WSPSHIM_WS2SPI_H
#define WSPSHIM_WS2SPI_H

#include <sys/select.h>
#include <wspshim/winsock2.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef WSPAPI
#define WSPAPI
#endif

/* The SPI version this core speaks (2.2), and its Linux table version. */
#define WSPSHIM_SPI_VERSION		MAKEWORD(2, 2)
#define WSPSHIM_LINUX_TABLE_VERSION	2

typedef struct WSPData {
	WORD	wVersion;
	WORD	wHighVersion;
	WCHAR	szDescription[WSADESCRIPTION_LEN + 1];
	/*
	 * libwspshim: which Linux members of WSPPROC_TABLE the provider
	 * filled (0: none; 1: lpWSPSendMsg, lpWSPRecvMsg, lpWSPAccept4; 2:
	 * also lpWSPSendFile, lpWSPSplice).  The core zeroes this struct and
	 * the table before WSPStartup.
	 */
	WORD	wLinuxTableVersion;
} WSPDATA, *LPWSPDATA;

typedef struct _WSATHREADID {
	HANDLE		ThreadHandle;
	DWORD_PTR	Reserved;
} WSATHREADID, *LPWSATHREADID;

typedef BOOL (WSPAPI *LPBLOCKINGCALLBACK)(DWORD_PTR dwContext);
typedef void (WSPAPI *LPWSAUSERAPC)(DWORD_PTR dwContext);

/* The 30 Winsock operations, in Winsock order. */
typedef SOCKET (WSPAPI *LPWSPACCEPT)(SOCKET s, struct sockaddr *addr,
    LPINT addrlen, LPCONDITIONPROC lpfnCondition, DWORD_PTR dwCallbackData,
    LPINT lpErrno);
typedef INT (WSPAPI *LPWSPADDRESSTOSTRING)(LPSOCKADDR lpsaAddress,
    DWORD dwAddressLength, LPWSAPROTOCOL_INFOW lpProtocolInfo,
    LPWSTR lpszAddressString, LPDWORD lpdwAddressStringLength,
    LPINT lpErrno);
typedef int (WSPAPI *LPWSPASYNCSELECT)(SOCKET s, HWND hWnd, unsigned int wMsg,
    LONG lEvent, LPINT lpErrno);
typedef int (WSPAPI *LPWSPBIND)(SOCKET s, const struct sockaddr *name,
    int namelen, LPINT lpErrno);
typedef int (WSPAPI *LPWSPCANCELBLOCKINGCALL)(LPINT lpErrno);
typedef int (WSPAPI *LPWSPCLEANUP)(LPINT lpErrno);
typedef int (WSPAPI *LPWSPCLOSESOCKET)(SOCKET s, LPINT lpErrno);
typedef int (WSPAPI *LPWSPCONNECT)(SOCKET s, const struct sockaddr *name,
    int namelen, LPWSABUF lpCallerData, LPWSABUF lpCalleeData, LPQOS lpSQOS,
    LPQOS lpGQOS, LPINT lpErrno);
typedef int (WSPAPI *LPWSPDUPLICATESOCKET)(SOCKET s, DWORD dwProcessId,
    LPWSAPROTOCOL_INFOW lpProtocolInfo, LPINT lpErrno);
typedef int (WSPAPI *LPWSPENUMNETWORKEVENTS)(SOCKET s, WSAEVENT hEventObject,
    LPWSANETWORKEVENTS lpNetworkEvents, LPINT lpErrno);
typedef int (WSPAPI *LPWSPEVENTSELECT)(SOCKET s, WSAEVENT hEventObject,
    LONG lNetworkEvents, LPINT lpErrno);
typedef BOOL (WSPAPI *LPWSPGETOVERLAPPEDRESULT)(SOCKET s,
    LPWSAOVERLAPPED lpOverlapped, LPDWORD lpcbTransfer, BOOL fWait,
    LPDWORD lpdwFlags, LPINT lpErrno);
typedef int (WSPAPI *LPWSPGETPEERNAME)(SOCKET s, struct sockaddr *name,
    LPINT namelen, LPINT lpErrno);
typedef int (WSPAPI *LPWSPGETSOCKNAME)(SOCKET s, struct sockaddr *name,
    LPINT namelen, LPINT lpErrno);
typedef int (WSPAPI *LPWSPGETSOCKOPT)(SOCKET s, int level, int optname,
    char *optval, LPINT optlen, LPINT lpErrno);
typedef BOOL (WSPAPI *LPWSPGETQOSBYNAME)(SOCKET s, LPWSABUF lpQOSName,
    LPQOS lpQOS, LPINT lpErrno);
typedef int (WSPAPI *LPWSPIOCTL)(SOCKET s, DWORD dwIoControlCode,
    LPVOID lpvInBuffer, DWORD cbInBuffer, LPVOID lpvOutBuffer,
    DWORD cbOutBuffer, LPDWORD lpcbBytesReturned,
    LPWSAOVERLAPPED lpOverlapped,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
    LPWSATHREADID lpThreadId, LPINT lpErrno);
typedef SOCKET (WSPAPI *LPWSPJOINLEAF)(SOCKET s, const struct sockaddr *name,
    int namelen, LPWSABUF lpCallerData, LPWSABUF lpCalleeData, LPQOS lpSQOS,
    LPQOS lpGQOS, DWORD dwFlags, LPINT lpErrno);
typedef int (WSPAPI *LPWSPLISTEN)(SOCKET s, int backlog, LPINT lpErrno);
typedef int (WSPAPI *LPWSPRECV)(SOCKET s, LPWSABUF lpBuffers,
    DWORD dwBufferCount, LPDWORD lpNumberOfBytesRecvd, LPDWORD lpFlags,
    LPWSAOVERLAPPED lpOverlapped,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
    LPWSATHREADID lpThreadId, LPINT lpErrno);
typedef int (WSPAPI *LPWSPRECVDISCONNECT)(SOCKET s,
    LPWSABUF lpInboundDisconnectData, LPINT lpErrno);
typedef int (WSPAPI *LPWSPRECVFROM)(SOCKET s, LPWSABUF lpBuffers,
    DWORD dwBufferCount, LPDWORD lpNumberOfBytesRecvd, LPDWORD lpFlags,
    struct sockaddr *lpFrom, LPINT lpFromlen, LPWSAOVERLAPPED lpOverlapped,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
    LPWSATHREADID lpThreadId, LPINT lpErrno);
/* WSPSelect's sets are Winsock's fd_set (winsock2.h: a count and an array
 * of handles), as is WPUFDIsSet's. */
typedef int (WSPAPI *LPWSPSELECT)(int nfds, fd_set *readfds,
    fd_set *writefds, fd_set *exceptfds, const struct timeval *timeout,
    LPINT lpErrno);
typedef int (WSPAPI *LPWSPSEND)(SOCKET s, LPWSABUF lpBuffers,
    DWORD dwBufferCount, LPDWORD lpNumberOfBytesSent, DWORD dwFlags,
    LPWSAOVERLAPPED lpOverlapped,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
    LPWSATHREADID lpThreadId, LPINT lpErrno);
typedef int (WSPAPI *LPWSPSENDDISCONNECT)(SOCKET s,
    LPWSABUF lpOutboundDisconnectData, LPINT lpErrno);
typedef int (WSPAPI *LPWSPSENDTO)(SOCKET s, LPWSABUF lpBuffers,
    DWORD dwBufferCount, LPDWORD lpNumberOfBytesSent, DWORD dwFlags,
    const struct sockaddr *lpTo, int iTolen, LPWSAOVERLAPPED lpOverlapped,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
    LPWSATHREADID lpThreadId, LPINT lpErrno);
typedef int (WSPAPI *LPWSPSETSOCKOPT)(SOCKET s, int level, int optname,
    const char *optval, int optlen, LPINT lpErrno);
typedef int (WSPAPI *LPWSPSHUTDOWN)(SOCKET s, int how, LPINT lpErrno);
typedef SOCKET (WSPAPI *LPWSPSOCKET)(int af, int type, int protocol,
    LPWSAPROTOCOL_INFOW lpProtocolInfo, GROUP g, DWORD dwFlags,
    LPINT lpErrno);
typedef INT (WSPAPI *LPWSPSTRINGTOADDRESS)(LPWSTR AddressString,
    INT AddressFamily, LPWSAPROTOCOL_INFOW lpProtocolInfo,
    LPSOCKADDR lpAddress, LPINT lpAddressLength, LPINT lpErrno);

/*
 * Linux members (wLinuxTableVersion 1).  dwFlags and *lpFlags are the
 * MSG_* flags of sendmsg(2)/recvmsg(2); the message header is Linux's, with
 * its ancillary data (SCM_RIGHTS included).  lpWSPAccept4 takes
 * WSA_FLAG_NO_HANDLE_INHERIT and WSA_FLAG_WSPSHIM_NONBLOCK, which the base
 * applies atomically, as accept4(2) does.
 */
typedef int (WSPAPI *LPWSPSENDMSG)(SOCKET s, const struct msghdr *lpMsg,
    DWORD dwFlags, LPDWORD lpNumberOfBytesSent, LPINT lpErrno);
typedef int (WSPAPI *LPWSPRECVMSG)(SOCKET s, struct msghdr *lpMsg,
    LPDWORD lpFlags, LPDWORD lpNumberOfBytesRecvd, LPINT lpErrno);
typedef SOCKET (WSPAPI *LPWSPACCEPT4)(SOCKET s, struct sockaddr *addr,
    LPINT addrlen, DWORD dwFlags, LPINT lpErrno);

/*
 * Linux members (wLinuxTableVersion 2): sendfile(2) and splice(2) with a
 * socket of the chain at one end, as ONE call down the chain.  A layer
 * that does not read payload forwards them with its handle below, and
 * the base makes the kernel's own call, zero-copy: its short counts, its
 * non-blocking behaviour (the socket's O_NONBLOCK; SPLICE_F_NONBLOCK for
 * the pipe) and its offset rules are the caller's.  A layer that must
 * see or change the bytes does not forward them: it implements the
 * member with WSPShimSendFileBySend / WSPShimSpliceByCopy below, which
 * hand the bytes in bounded pieces to a table's lpWSPSend/lpWSPRecv.
 *
 * lpWSPSendFile: send up to cbCount bytes of the file hFile (a
 * descriptor of the caller's, which stays the caller's) on s.  With
 * lpOffset, read from *lpOffset and advance *lpOffset by the bytes sent,
 * leaving the file offset alone; with NULL, read from the file offset and
 * advance it by the bytes sent, never further.  0 and the count in
 * *lpNumberOfBytesSent (0 at end of file; less than asked when the
 * socket's buffer filled on a non-blocking socket), or SOCKET_ERROR with
 * *lpErrno: WSAEWOULDBLOCK (non-blocking, nothing could be sent), the
 * codes of sendfile(2)'s errno (WSAEBADF, WSAEINVAL, ESPIPE's code,
 * WSAEFAULT, WSAENOTCONN, WSAECONNRESET, ...) through the error map, and
 * WSAENOTSOCK.  The shim restores the kernel's own errno when the code
 * comes up unchanged.  cbCount is what the program passed; the kernel
 * moves at most 0x7ffff000 bytes per call.
 *
 * lpWSPSplice: move up to cbLength bytes between s and the pipe fd (the
 * caller's): dwDirection WSPSHIM_SPLICE_TO_SOCKET reads the pipe and
 * sends on s, WSPSHIM_SPLICE_FROM_SOCKET receives from s into the pipe.
 * dwFlags are SPLICE_F_* of splice(2).  No offsets: a socket or pipe end
 * with an offset is refused by the kernel before any byte moves, and the
 * shim lets the kernel say so without the chain.  0 and the count in
 * *lpNumberOfBytesMoved (0: end of stream), or SOCKET_ERROR with
 * *lpErrno as lpWSPSendFile (WSAEINVAL when fd is not a pipe).
 */
#define WSPSHIM_SPLICE_TO_SOCKET	0
#define WSPSHIM_SPLICE_FROM_SOCKET	1

typedef int (WSPAPI *LPWSPSENDFILE)(SOCKET s, int hFile, int64_t *lpOffset,
    size_t cbCount, LPDWORD lpNumberOfBytesSent, LPINT lpErrno);
typedef int (WSPAPI *LPWSPSPLICE)(SOCKET s, int fd, DWORD dwDirection,
    size_t cbLength, DWORD dwFlags, LPDWORD lpNumberOfBytesMoved,
    LPINT lpErrno);

typedef struct _WSPPROC_TABLE {
	LPWSPACCEPT			lpWSPAccept;
	LPWSPADDRESSTOSTRING		lpWSPAddressToString;
	LPWSPASYNCSELECT		lpWSPAsyncSelect;
	LPWSPBIND			lpWSPBind;
	LPWSPCANCELBLOCKINGCALL		lpWSPCancelBlockingCall;
	LPWSPCLEANUP			lpWSPCleanup;
	LPWSPCLOSESOCKET		lpWSPCloseSocket;
	LPWSPCONNECT			lpWSPConnect;
	LPWSPDUPLICATESOCKET		lpWSPDuplicateSocket;
	LPWSPENUMNETWORKEVENTS		lpWSPEnumNetworkEvents;
	LPWSPEVENTSELECT		lpWSPEventSelect;
	LPWSPGETOVERLAPPEDRESULT	lpWSPGetOverlappedResult;
	LPWSPGETPEERNAME		lpWSPGetPeerName;
	LPWSPGETSOCKNAME		lpWSPGetSockName;
	LPWSPGETSOCKOPT			lpWSPGetSockOpt;
	LPWSPGETQOSBYNAME		lpWSPGetQOSByName;
	LPWSPIOCTL			lpWSPIoctl;
	LPWSPJOINLEAF			lpWSPJoinLeaf;
	LPWSPLISTEN			lpWSPListen;
	LPWSPRECV			lpWSPRecv;
	LPWSPRECVDISCONNECT		lpWSPRecvDisconnect;
	LPWSPRECVFROM			lpWSPRecvFrom;
	LPWSPSELECT			lpWSPSelect;
	LPWSPSEND			lpWSPSend;
	LPWSPSENDDISCONNECT		lpWSPSendDisconnect;
	LPWSPSENDTO			lpWSPSendTo;
	LPWSPSETSOCKOPT			lpWSPSetSockOpt;
	LPWSPSHUTDOWN			lpWSPShutdown;
	LPWSPSOCKET			lpWSPSocket;
	LPWSPSTRINGTOADDRESS		lpWSPStringToAddress;
	/* Linux members, wLinuxTableVersion >= 1 */
	LPWSPSENDMSG			lpWSPSendMsg;
	LPWSPRECVMSG			lpWSPRecvMsg;
	LPWSPACCEPT4			lpWSPAccept4;
	/* Linux members, wLinuxTableVersion >= 2 */
	LPWSPSENDFILE			lpWSPSendFile;
	LPWSPSPLICE			lpWSPSplice;
} WSPPROC_TABLE, *LPWSPPROC_TABLE;

/* How many Winsock members come before the Linux ones, and how many
 * members a table of each Linux version has. */
#define WSPSHIM_WINSOCK_PROC_COUNT	30
#define WSPSHIM_PROC_COUNT(version)					\
	(WSPSHIM_WINSOCK_PROC_COUNT +					\
	    ((version) >= 2 ? 5 : (version) >= 1 ? 3 : 0))
WSPSHIM_STATIC_ASSERT(offsetof(WSPPROC_TABLE, lpWSPSendMsg) ==
    WSPSHIM_WINSOCK_PROC_COUNT * sizeof(void (*)(void)),
    "30 Winsock members come first");
WSPSHIM_STATIC_ASSERT(sizeof(WSPPROC_TABLE) ==
    WSPSHIM_PROC_COUNT(WSPSHIM_LINUX_TABLE_VERSION) * sizeof(void (*)(void)),
    "the version counts every member");

/* The core's services to providers (upcalls), in Winsock order. */
typedef BOOL (WSPAPI *LPWPUCLOSEEVENT)(WSAEVENT hEvent, LPINT lpErrno);
typedef int (WSPAPI *LPWPUCLOSESOCKETHANDLE)(SOCKET s, LPINT lpErrno);
typedef WSAEVENT (WSPAPI *LPWPUCREATEEVENT)(LPINT lpErrno);
typedef SOCKET (WSPAPI *LPWPUCREATESOCKETHANDLE)(DWORD dwCatalogEntryId,
    DWORD_PTR dwContext, LPINT lpErrno);
typedef int (WSPAPI *LPWPUFDISSET)(SOCKET s, fd_set *fdset);
typedef int (WSPAPI *LPWPUGETPROVIDERPATH)(LPGUID lpProviderId,
    WCHAR *lpszProviderDllPath, LPINT lpProviderDllPathLen, LPINT lpErrno);
typedef SOCKET (WSPAPI *LPWPUMODIFYIFSHANDLE)(DWORD dwCatalogEntryId,
    SOCKET ProposedHandle, LPINT lpErrno);
typedef BOOL (WSPAPI *LPWPUPOSTMESSAGE)(HWND hWnd, UINT Msg, WPARAM wParam,
    LPARAM lParam);
typedef int (WSPAPI *LPWPUQUERYBLOCKINGCALLBACK)(DWORD dwCatalogEntryId,
    LPBLOCKINGCALLBACK *lplpfnCallback, PDWORD_PTR lpdwContext,
    LPINT lpErrno);
typedef int (WSPAPI *LPWPUQUERYSOCKETHANDLECONTEXT)(SOCKET s,
    PDWORD_PTR lpContext, LPINT lpErrno);
typedef int (WSPAPI *LPWPUQUEUEAPC)(LPWSATHREADID lpThreadId,
    LPWSAUSERAPC lpfnUserApc, DWORD_PTR dwContext, LPINT lpErrno);
typedef BOOL (WSPAPI *LPWPURESETEVENT)(WSAEVENT hEvent, LPINT lpErrno);
typedef BOOL (WSPAPI *LPWPUSETEVENT)(WSAEVENT hEvent, LPINT lpErrno);
typedef int (WSPAPI *LPWPUOPENCURRENTTHREAD)(LPWSATHREADID lpThreadId,
    LPINT lpErrno);
typedef int (WSPAPI *LPWPUCLOSETHREAD)(LPWSATHREADID lpThreadId,
    LPINT lpErrno);

typedef struct _WSPUPCALLTABLE {
	LPWPUCLOSEEVENT			lpWPUCloseEvent;
	LPWPUCLOSESOCKETHANDLE		lpWPUCloseSocketHandle;
	LPWPUCREATEEVENT		lpWPUCreateEvent;
	LPWPUCREATESOCKETHANDLE		lpWPUCreateSocketHandle;
	LPWPUFDISSET			lpWPUFDIsSet;
	LPWPUGETPROVIDERPATH		lpWPUGetProviderPath;
	LPWPUMODIFYIFSHANDLE		lpWPUModifyIFSHandle;
	LPWPUPOSTMESSAGE		lpWPUPostMessage;
	LPWPUQUERYBLOCKINGCALLBACK	lpWPUQueryBlockingCallback;
	LPWPUQUERYSOCKETHANDLECONTEXT	lpWPUQuerySocketHandleContext;
	LPWPUQUEUEAPC			lpWPUQueueApc;
	LPWPURESETEVENT			lpWPUResetEvent;
	LPWPUSETEVENT			lpWPUSetEvent;
	LPWPUOPENCURRENTTHREAD		lpWPUOpenCurrentThread;
	LPWPUCLOSETHREAD		lpWPUCloseThread;
} WSPUPCALLTABLE, *LPWSPUPCALLTABLE;

WSPSHIM_STATIC_ASSERT(sizeof(WSPUPCALLTABLE) == 15 * sizeof(void (*)(void)),
    "WSPUPCALLTABLE has 15 members");

/*
 * The one required export of a provider.  Called once per chain entry that
 * names the provider; each success is matched by one WSPCleanup.  Returns 0
 * or an error code (WSASYSNOTREADY, WSAVERNOTSUPPORTED, WSAEINPROGRESS,
 * WSAEPROCLIM, WSAEFAULT).
 */
typedef int (WSPAPI *LPWSPSTARTUP)(WORD wVersionRequested,
    LPWSPDATA lpWSPData, LPWSAPROTOCOL_INFOW lpProtocolInfo,
    WSPUPCALLTABLE UpcallTable, LPWSPPROC_TABLE lpProcTable);
int WSPAPI WSPStartup(WORD wVersionRequested, LPWSPDATA lpWSPData,
    LPWSAPROTOCOL_INFOW lpProtocolInfo, WSPUPCALLTABLE UpcallTable,
    LPWSPPROC_TABLE lpProcTable);

/*
 * WPUCompleteOverlappedRequest: a layer that took its client's overlapped
 * request (and issued its own below) completes the client's: Internal
 * becomes dwError (0 or a WSA code), InternalHigh cbTransferred, hEvent is
 * set, and WSPGetOverlappedResult waiters wake.  As on Windows it queues
 * no completion routine: a layer queues the client's routine itself with
 * WPUQueueApc(lpThreadId, ...), lpThreadId being the one the request came
 * with.  0, or SOCKET_ERROR with WSAEFAULT (lpOverlapped NULL) or
 * WSA_INVALID_HANDLE (hEvent is not an event; the request is completed
 * all the same).  Not in the upcall table (a separate export, as in
 * Winsock).
 */
int WSPAPI WPUCompleteOverlappedRequest(SOCKET s,
    LPWSAOVERLAPPED lpOverlapped, DWORD dwError, DWORD cbTransferred,
    LPINT lpErrno);

/*
 * Catalog calls.  WSCEnumProtocols is WSAEnumProtocolsW with hidden and
 * layered entries included, reporting through *lpErrno; called outside a
 * provider, it first reloads the catalog file if it changed.
 */
int WSPAPI WSCEnumProtocols(LPINT lpiProtocols,
    LPWSAPROTOCOL_INFOW lpProtocolBuffer, LPDWORD lpdwBufferLength,
    LPINT lpErrno);

/*
 * The file path of a provider, as UTF-16 with its terminator; the length is
 * in characters.  WSAEINVAL for an unknown provider, WSAEFAULT (and the
 * length needed) for a short buffer.
 */
int WSPAPI WSCGetProviderPath(LPGUID lpProviderId,
    WCHAR *lpszProviderDllPath, LPINT lpProviderDllPathLen, LPINT lpErrno);

/*
 * Installer calls.  They change the catalog FILE (docs/catalog-file.md)
 * under its lock, atomically, and the calling process reloads it at once
 * (its next enumeration and socket see the change); other running
 * processes see it at their next WSAStartup or WSCEnumProtocols.
 * The file changed is the one the process would load: WSPSHIM_CATALOG,
 * else the per-user file if there is one, else the system file.  Each
 * returns 0, or SOCKET_ERROR with *lpErrno: WSAEFAULT (a NULL pointer),
 * WSAEINVAL (bad ids, a GUID already installed or not installed),
 * WSAEACCES (the file cannot be locked or written; the log line says
 * why), WSANO_RECOVERY (the file is corrupt; the log line names the line),
 * WSAENOBUFS.
 *
 * WSCInstallProvider: append the dwNumberOfEntries entries, each with the
 * next catalog entry id, ProviderId *lpProviderId and the provider path.
 * A chain's ChainEntries must name installed entries and end on a base
 * entry and may not name one entry twice.  WSAEINVAL when the GUID is
 * already installed, or for such a chain.
 */
int WSPAPI WSCInstallProvider(LPGUID lpProviderId,
    const WCHAR *lpszProviderDllPath,
    const LPWSAPROTOCOL_INFOW lpProtocolInfoList, DWORD dwNumberOfEntries,
    LPINT lpErrno);

/* Remove every entry of the provider, and every chain that names one. */
int WSPAPI WSCDeinstallProvider(LPGUID lpProviderId, LPINT lpErrno);

/*
 * Put the listed entries first, in this order; the others keep their
 * order after them (Winsock wants the whole list; a whole list works the
 * same here).  Returns 0 or the WSA code itself: WSAEINVAL (an unknown or
 * repeated id), WSAEFAULT, WSAEACCES, WSANO_RECOVERY, WSAENOBUFS.
 */
int WSPAPI WSCWriteProviderOrder(LPDWORD lpwdCatalogEntryId,
    DWORD dwNumberOfEntries);

/*
 * Install a layer: a hidden layered entry (ChainLen 0) named lpszLspName
 * for the provider, and a chain with the layer on top over each protocol
 * in lpProtocolInfoList, named "NAME over [BASE]", first in catalog order.
 * As on Windows, a listed struct is looked at only for its iAddressFamily,
 * iSocketType and iProtocol: it stands for every base entry with those
 * three (WSAEINVAL when none has them).  To put a layer over a chain, use
 * WSCInstallProvider with a chain entry, as Windows installers do, or
 * `wspshim install --over ID`.  dwServiceFlags may be 0 or
 * XP1_IFS_HANDLES (the layer hands out the handles of the provider below
 * it); without it, XP1_IFS_HANDLES is cleared in the new entries.  The
 * layered entry's id goes to *lpdwCatalogEntryId (may be NULL).
 */
int WSPAPI WSCInstallProviderAndChains(LPGUID lpProviderId,
    const LPWSTR lpszProviderDllPath, const LPWSTR lpszLspName,
    DWORD dwServiceFlags, LPWSAPROTOCOL_INFOW lpProtocolInfoList,
    DWORD dwNumberOfEntries, LPDWORD lpdwCatalogEntryId, LPINT lpErrno);

/*
 * WSCUpdateProvider: change the entries of an installed provider: each
 * listed struct replaces the provider's entry with its dwCatalogEntryId
 * (ProviderId and the id are kept; a base entry's ChainEntries[0] stays
 * its id), and every entry of the provider gets the new path.  Order and
 * layer parameters are kept.  WSAEINVAL when the GUID is not installed,
 * when dwNumberOfEntries is not the provider's number of entries, when a
 * struct names an id that is not the provider's or names one twice, turns
 * a base, layered or chain entry into another kind, or has a chain
 * WSCInstallProvider would refuse.
 */
int WSPAPI WSCUpdateProvider(LPGUID lpProviderId,
    const WCHAR *lpszProviderDllPath,
    const LPWSAPROTOCOL_INFOW lpProtocolInfoList, DWORD dwNumberOfEntries,
    LPINT lpErrno);

/*
 * The 64_32 and 32 forms of x64 Windows installers.  Windows keeps a
 * 32-bit and a 64-bit catalog on a 64-bit machine; here there is one, so
 * each is its native call.  lpszProviderDllPath32 must not be NULL
 * (WSAEFAULT), as on Windows, and is not stored: the one path stored is
 * lpszProviderDllPath.
 */
int WSPAPI WSCInstallProvider64_32(LPGUID lpProviderId,
    const WCHAR *lpszProviderDllPath,
    const LPWSAPROTOCOL_INFOW lpProtocolInfoList, DWORD dwNumberOfEntries,
    LPINT lpErrno);
int WSPAPI WSCInstallProviderAndChains64_32(LPGUID lpProviderId,
    const LPWSTR lpszProviderDllPath, const LPWSTR lpszProviderDllPath32,
    const LPWSTR lpszLspName, DWORD dwServiceFlags,
    LPWSAPROTOCOL_INFOW lpProtocolInfoList, DWORD dwNumberOfEntries,
    LPDWORD lpdwCatalogEntryId, LPINT lpErrno);
int WSPAPI WSCDeinstallProvider32(LPGUID lpProviderId, LPINT lpErrno);
int WSPAPI WSCEnumProtocols32(LPINT lpiProtocols,
    LPWSAPROTOCOL_INFOW lpProtocolBuffer, LPDWORD lpdwBufferLength,
    LPINT lpErrno);

/* LSP categories (WSCSetProviderInfo with ProviderInfoLspCategories). */
#define LSP_SYSTEM		0x80000000
#define LSP_INSPECTOR		0x00000001
#define LSP_REDIRECTOR		0x00000002
#define LSP_PROXY		0x00000004
#define LSP_FIREWALL		0x00000008
#define LSP_INBOUND_MODIFY	0x00000010
#define LSP_OUTBOUND_MODIFY	0x00000020
#define LSP_CRYPTO_COMPRESS	0x00000040
#define LSP_LOCAL_CACHE		0x00000080

#ifndef ERROR_CALL_NOT_IMPLEMENTED
#define ERROR_CALL_NOT_IMPLEMENTED	120
#endif

typedef enum _WSC_PROVIDER_INFO_TYPE {
	ProviderInfoLspCategories,
	ProviderInfoAudit
} WSC_PROVIDER_INFO_TYPE;

typedef struct _WSC_PROVIDER_AUDIT_INFO {
	DWORD	RecordSize;
	void	*Reserved;	/* PVOID */
} WSC_PROVIDER_AUDIT_INFO;

typedef BYTE *PBYTE;

/*
 * WSCGetProviderInfo, WSCSetProviderInfo: a provider's information class.
 * ProviderInfoLspCategories, a DWORD of LSP_* bits, is kept in the catalog
 * file on every entry of the provider (0 until set); the library itself
 * does nothing with it.  Get reads the file.  Flags must be 0.  0, or
 * SOCKET_ERROR with *lpErrno: ERROR_CALL_NOT_IMPLEMENTED for
 * ProviderInfoAudit (as Windows); WSAEINVAL for another class, Flags not 0,
 * (Set) an InfoSize other than 4 or unknown category bits; WSAEFAULT for a
 * NULL lpProviderId, InfoSize or lpErrno, a NULL Info or one smaller than
 * a DWORD (Get sets *InfoSize to 4); WSAEINVALIDPROVIDER when no entry has
 * the GUID; WSAEACCES, WSANO_RECOVERY, WSAENOBUFS as above.
 */
int WSPAPI WSCGetProviderInfo(LPGUID lpProviderId,
    WSC_PROVIDER_INFO_TYPE InfoType, PBYTE Info, size_t *InfoSize,
    DWORD Flags, LPINT lpErrno);
int WSPAPI WSCSetProviderInfo(LPGUID lpProviderId,
    WSC_PROVIDER_INFO_TYPE InfoType, PBYTE Info, size_t InfoSize,
    DWORD Flags, LPINT lpErrno);

/*
 * libwspshim helpers for layer authors (not in Winsock).
 *
 * WSPShimNextProtocolInfo: the struct a layer passes to the provider below
 * it, by the chain-propagation rule: the same chain struct, unmodified,
 * when the next provider is a layer; the base's own catalog entry when it
 * is the base, keeping dwProviderReserved (a duplicate-socket token) from
 * lpProtocolInfo.  dwSelfCatalogEntryId is the layer's own (layered) entry
 * id, which it finds in lpProtocolInfo->ProtocolChain.  0, or SOCKET_ERROR
 * with WSAEINVAL (the id is not in the chain, or is its last entry, or
 * the chain names an entry twice) or WSAEFAULT.
 *
 * WSPShimNextProtocol: the same rule without a copy, for WSPSocket's hot
 * path: the struct to pass down itself.  That is lpProtocolInfo when the
 * next provider is a layer, the catalog's own entry of the base when it is
 * the base, and, only when lpProtocolInfo carries a token, *lpScratch
 * filled with the base's entry and that token.  What it returns is [in]
 * for every provider below (the catalog's entries are read-only memory).
 * NULL with *lpErrno as WSPShimNextProtocolInfo's errors (WSAEFAULT also
 * when a token needs lpScratch and it is NULL).  Asked for a struct of the
 * catalog itself, as the core and the layers above pass, it answers from
 * a table worked out when the chain starts, through a cache keyed by
 * (struct, dwSelfCatalogEntryId): a hash and three comparisons, about 20
 * instructions, lock-free; a copy made by WSPShimNextProtocolInfo is
 * checked in full each time.
 *
 * WSPShimStartNextProvider: the same, and also load and start the next
 * provider (its WSPStartup with that struct), filling *lpNextProcTable.
 * The layer balances each success by calling lpNextProcTable->lpWSPCleanup
 * from its own WSPCleanup.  0, or SOCKET_ERROR with WSAEINVAL,
 * WSAEPROVIDERFAILEDINIT, WSAEINVALIDPROCTABLE or the next provider's own
 * WSPStartup error.  The table handed back is complete for this header,
 * whatever version the next provider reported (see the file comment), and
 * it is sizeof(WSPPROC_TABLE) of this header: the name is a macro for
 * WSPShimStartNextProviderV2, while a layer built against the version 1
 * header still calls WSPShimStartNextProvider, which fills the 33 members
 * that header's table has and no more.
 *
 * WSPShimSelfCatalogEntryId: the layered catalog entry id of the calling
 * layer, the value to pass as dwSelfCatalogEntryId above; 0 when the
 * caller is not a layer the core loaded.  The core loads one module
 * instance per layered entry (a file named at several positions of one
 * chain, as in WSPSHIM_LAYERS=null,null, is loaded once per position, each
 * copy with its own globals), so the answer is exact even where searching
 * ProtocolChain for the layer's ids would be ambiguous.  The caller is
 * found by its return address, so call it from the layer's own code, not
 * through a library shared by several layers.  Cheap (no lock), usable
 * in WSPStartup and in every operation.
 *
 * A layer may instead do it the Windows way (WSCEnumProtocols,
 * WSCGetProviderPath, dlopen and dlsym("WSPStartup")): libwspshim.so
 * exports the base provider's WSPStartup under that name.  A layer so
 * loaded, by a layer above it rather than by the core, is not one the
 * core loaded: WSPShimSelfCatalogEntryId gives it 0, and it finds its
 * entry with WSPShimFindSelf.
 *
 * WSPShimFindSelf: the layered entry id the calling module serves in the
 * chain of lpProtocolInfo, found the way a Windows LSP finds its position
 * (its catalog ids searched for in lpProtocolInfo->ProtocolChain), for a
 * module loaded by anyone.  The module's catalog ids are the layered
 * entries the core loaded it for and those whose provider file is the
 * module's file (same device and inode).  When the module's file is at
 * several positions of the chain, the answer during a WSPStartup is the
 * first position below the provider that is starting it: the core
 * remembers, on this thread, which position of the chain it is starting,
 * and each WSPShimFindSelf during that start-up moves it down to the
 * position it answered, so a layer that loads and starts the next
 * provider itself need not say anything.  Outside a start-up: the entry
 * the core loaded the module for, else the first.  0, with *lpErrno
 * WSAEINVAL (no position of the chain, its last excepted, names the
 * module, or ChainLen is not 2 to 7) or WSAEFAULT (lpProtocolInfo NULL).
 * Call it from the layer's own code, as WSPShimSelfCatalogEntryId.
 *
 * WSPShimStartCopy: for a module asked to start for a second layered
 * entry (a layer above dlopened the file the module was loaded from for
 * another entry, and got this same module, with its globals): the core
 * loads a separate copy of the module for dwSelfCatalogEntryId (as it
 * does for a file named at several positions) and starts it with
 * lpProtocolInfo; *lpWSPData and *lpProcTable get what the copy's
 * WSPStartup gave, for the caller's WSPStartup to return as its own, so
 * the layer above talks to the copy directly (its WSPCleanup included).
 * 0, or SOCKET_ERROR with WSAEFAULT, WSAEINVAL (dwSelfCatalogEntryId is not
 * a layered entry above the last position of the chain, or the copy would
 * be the caller itself) or what loading or starting the copy gave
 * (WSAEPROVIDERFAILEDINIT, WSAEINVALIDPROCTABLE, its WSPStartup's error).
 * The shipped layers and the layer kit do this; docs/writing-a-layer.md
 * ("Started by another layer") shows the few lines.
 */
int WSPAPI WSPShimNextProtocolInfo(LPWSAPROTOCOL_INFOW lpProtocolInfo,
    DWORD dwSelfCatalogEntryId, LPWSAPROTOCOL_INFOW lpNextProtocolInfo,
    LPINT lpErrno);
LPWSAPROTOCOL_INFOW WSPAPI WSPShimNextProtocol(
    LPWSAPROTOCOL_INFOW lpProtocolInfo, DWORD dwSelfCatalogEntryId,
    LPWSAPROTOCOL_INFOW lpScratch, LPINT lpErrno);
int WSPAPI WSPShimStartNextProviderV2(LPWSAPROTOCOL_INFOW lpProtocolInfo,
    DWORD dwSelfCatalogEntryId, LPWSPPROC_TABLE lpNextProcTable,
    LPWSAPROTOCOL_INFOW lpNextProtocolInfo, LPINT lpErrno);
#define WSPShimStartNextProvider	WSPShimStartNextProviderV2
DWORD WSPAPI WSPShimSelfCatalogEntryId(void);
DWORD WSPAPI WSPShimFindSelf(LPWSAPROTOCOL_INFOW lpProtocolInfo,
    LPINT lpErrno);
int WSPAPI WSPShimStartCopy(LPWSAPROTOCOL_INFOW lpProtocolInfo,
    DWORD dwSelfCatalogEntryId, LPWSPDATA lpWSPData,
    LPWSPPROC_TABLE lpProcTable, LPINT lpErrno);

/*
 * WSPShimClaimSelf: whether a module serves layered entry
 * dwSelfCatalogEntryId, with *lpdwServed a variable of the module's own,
 * 0 at load: the first entry claimed is the module's, and only that one.
 * A layer's WSPStartup that gets FALSE calls WSPShimStartCopy.  Inline and
 * lock-free.
 */
static inline BOOL
WSPShimClaimSelf(DWORD *lpdwServed, DWORD dwSelfCatalogEntryId)
{
	DWORD none = 0;

	return __atomic_compare_exchange_n(lpdwServed, &none,
	    dwSelfCatalogEntryId, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) ||
	    none == dwSelfCatalogEntryId;
}

/*
 * WSPShimCompleteProcTable: complete a table a layer got by starting the
 * next provider itself, the Windows way (dlopen + WSPStartup), whose
 * WSPDATA reported wLinuxTableVersion: every member that version lacks
 * is filled with the core's fallback built on the table's own Winsock
 * members (what WSPShimStartNextProvider does by itself).  The table must
 * stay as it is afterwards (the fallbacks call its members through a
 * copy the core keeps).  0, or SOCKET_ERROR with WSAEFAULT (NULL table),
 * WSAEINVALIDPROCTABLE (a member the version has is NULL, or a version
 * newer than this header's) or WSAENOBUFS (the core's 64 fallback tables
 * are taken).
 *
 * The fallbacks: lpWSPSendMsg as lpWSPSend/lpWSPSendTo (ancillary data:
 * WSAEOPNOTSUPP, never dropped), lpWSPRecvMsg as lpWSPRecvFrom (no
 * ancillary data comes back), lpWSPAccept4 as lpWSPAccept, then FIONBIO
 * and FD_CLOEXEC (not atomic: another thread's fork+exec in between may
 * inherit the socket), lpWSPSendFile and lpWSPSplice as below.
 */
int WSPAPI WSPShimCompleteProcTable(LPWSPPROC_TABLE lpProcTable,
    WORD wLinuxTableVersion, LPINT lpErrno);

/*
 * sendfile and splice for a layer that must see or change the bytes: the
 * member's whole work, with the bytes handed in bounded pieces (16 KiB)
 * to lpProcTable->lpWSPSend (or lpWSPRecv, for a splice from the socket)
 * on s.  A layer passes its own table to see the pieces in its own
 * WSPSend, or its next table to send them below itself.  As the kernel's
 * call: a non-blocking socket never waits (a short count, or
 * WSAEWOULDBLOCK when nothing went); the file offset, or *lpOffset, moves
 * by exactly the bytes sent; bytes read from the pipe and not sent stay
 * in the pipe (tee(2) reads them first); a splice into the pipe takes from
 * the socket only what the pipe took (MSG_PEEK first).  Arguments and
 * return as lpWSPSendFile and lpWSPSplice; a file that cannot be read
 * where the kernel would refuse it (a pipe or socket as hFile) gives the
 * kernel's code (WSAEINVAL, or ESPIPE's with an offset).
 */
int WSPAPI WSPShimSendFileBySend(const WSPPROC_TABLE *lpProcTable, SOCKET s,
    int hFile, int64_t *lpOffset, size_t cbCount,
    LPDWORD lpNumberOfBytesSent, LPINT lpErrno);
int WSPAPI WSPShimSpliceByCopy(const WSPPROC_TABLE *lpProcTable, SOCKET s,
    int fd, DWORD dwDirection, size_t cbLength, DWORD dwFlags,
    LPDWORD lpNumberOfBytesMoved, LPINT lpErrno);

/*
 * WSPShimCreateSocketHandleEx: WPUCreateSocketHandle with the context's
 * memory included, for a layer's per-socket struct: a new handle for
 * dwCatalogEntryId whose context is the address of cbContext bytes of
 * storage that belong to the handle, which *lppContext receives.  The
 * storage is aligned for any type, and its contents are unspecified (what
 * an earlier socket left, or zeroes): the layer fills it before it hands
 * the handle out.  WSPShimHandleContext and WPUQuerySocketHandleContext
 * give that address, like any context.
 *
 * WPUCloseSocketHandle closes the handle and gives the storage back at
 * once: another thread's next handle may reuse it, so read what is needed
 * from it (the handle below, an instance pointer) before closing, and do
 * not free it.  Never freed or unmapped, it stays readable after the
 * close, so a call that still used the handle would read another
 * socket's fields instead of faulting (the lookup itself never gives a
 * closed handle's context); libwspshim runs a socket's WSPCloseSocket
 * only once no call on it from the program is in flight in the chain.
 *
 * This replaces malloc + WPUCreateSocketHandle and WPUCloseSocketHandle +
 * free: the storage stays with its handle slot from one socket to the
 * next, so in the usual case creating and closing a socket allocate
 * nothing.  Lock-free, like the upcalls.  Returns the handle, or
 * INVALID_SOCKET with *lpErrno WSAEFAULT (lppContext NULL) or
 * WSAENOBUFS (no handle or memory left).  A cbContext of 0 is allowed
 * (the storage is then a distinct address the layer need not use).  A layer that
 * may also run outside libwspshim keeps malloc and the upcall, the
 * portable Winsock way.
 */
SOCKET WSPAPI WSPShimCreateSocketHandleEx(DWORD dwCatalogEntryId,
    DWORD cbContext, LPVOID *lppContext, LPINT lpErrno);

/*
 * The parameter string of a layered catalog entry (what `wspshim install
 * LAYER:PARAMS` or WSPSHIM_LAYERS gave it), as UTF-8 with its terminator
 * into lpszParams (*lpLength bytes); an entry with no parameters gives "".
 * A layer reads it in WSPStartup.  0, or SOCKET_ERROR with WSAEINVAL
 * (unknown id) or WSAEFAULT (short buffer; *lpLength gets the size needed).
 */
int WSPAPI WSPShimGetLayerParams(DWORD dwCatalogEntryId, char *lpszParams,
    LPINT lpLength, LPINT lpErrno);

/*
 * Set the parameter string of a catalog entry in the catalog FILE (as the
 * installer calls above; "" removes it).  For a layered entry, the chains
 * it tops get the same string.  0, or SOCKET_ERROR with WSAEFAULT (NULL
 * lpszParams), WSAEINVAL (unknown id), WSAEACCES, WSANO_RECOVERY or
 * WSAENOBUFS.
 */
int WSPAPI WSPShimSetLayerParams(DWORD dwCatalogEntryId,
    const char *lpszParams, LPINT lpErrno);

/*
 * The entry point the program called for the operation a layer is
 * handling now, on this thread: the POSIX name ("sendto", "write",
 * "readv", "accept4", "close", ...) or the Winsock one ("WSASocketW",
 * "closesocket").  A trace layer prints it; it is a static string.
 */
const char *WSPAPI WSPShimCallName(void);

/*
 * A layer's own state, carried with a duplicated socket's token to the
 * socket made of it (in this process or another: a Linux extension; a
 * Windows LSP would keep its own shared memory for this).
 *
 * In its WSPDuplicateSocket, before calling down, a layer attaches up to
 * WSPSHIM_SHARE_DATA_MAX bytes in all (every layer of the chain together)
 * under an id of its own: they go with the token the base makes for this
 * thread's call.  In its WSPSocket, after the provider below made the
 * socket of a token, it reads what was attached under that id.  Attach:
 * 0, or WSAEFAULT (NULL id, or NULL data with a length), WSAEINVAL (the id
 * already attached for this call) or WSAENOBUFS (too much).  Data: 0 and
 * the bytes in lpBuffer with their count in *lpdwLength; WSAEFAULT (NULL
 * pointer, or *lpdwLength too small: it is set to the count needed),
 * WSAEINVAL (lpProtocolInfo is not the token this thread just took) or
 * WSANO_DATA (nothing under that id).
 */
#define WSPSHIM_SHARE_DATA_MAX	1024

int WSPAPI WSPShimShareAttach(const GUID *lpLayerId, const void *lpData,
    DWORD dwLength);
int WSPAPI WSPShimShareData(const WSAPROTOCOL_INFOW *lpProtocolInfo,
    const GUID *lpLayerId, void *lpBuffer, LPDWORD lpdwLength);

/*
 * Of the cWords words in lpszWords, the one nearest to the misspelt
 * lpszWord (by edit distance, a neighbour swap counting one), when it is
 * close enough to be a slip (at most a third of the word's letters
 * apart); else NULL.  For "did you mean connect?" in a layer's
 * WSPShimCheckParams message.
 */
const char *WSPAPI WSPShimNearestWord(const char *lpszWord,
    const char *const *lpszWords, size_t cWords);

/*
 * Not in the library: what a layer may export besides WSPStartup.  The
 * `wspshim` command (run, trace, install) dlopens a layer and, when it
 * has this, calls it with the parameter string before the program runs
 * or the catalog is changed, without starting the layer.  0 when the
 * parameters would start the layer; else -1 and one line without a
 * newline in why (len bytes), naming the bad word and, where it can, the
 * right one: `unknown operation "conect" (did you mean connect?)`.  It
 * must not open files, install handlers or keep state.
 */
int WSPShimCheckParams(const char *params, char *why, size_t len);
typedef int (*LPWSPSHIMCHECKPARAMS)(const char *params, char *why,
    size_t len);

/*
 * WSPShimHandleContext: WPUQuerySocketHandleContext for a layer's data
 * path, inline.  1 with the context of live handle s in *lpContext, or 0
 * (*lpContext untouched) for anything else: a closed handle, one whose
 * slot now holds another socket, a base-provider handle, INVALID_SOCKET,
 * a descriptor, any other value.  Exactly the answer the upcall gives
 * (which is this function plus its error codes), in about ten
 * instructions and no call; errno and WSAGetLastError are not touched.
 * Lock-free and async-signal-safe.  A layer that may also run outside
 * libwspshim keeps using the upcall, the portable Winsock way.
 *
 * It reads the handle table through WSPShimHandleTable, a read-only
 * descriptor libwspshim.so exports for it.  The descriptor's layout and
 * the slots it names are an ABI of this library version only
 * (dwVersion, WSPSHIM_HANDLE_TABLE_VERSION): a layer compiled against one
 * version must be rebuilt for a library whose version differs.  Use the
 * descriptor only through this function, from a shared object (a layer:
 * a program linked without -fPIE would get a copy relocation, a snapshot
 * that never changes), and never write it.
 *
 * How it validates (as the library does): the slot a handle names is
 * ulSlotMask & handle << 3 bytes from lpSlots, so every value names some
 * readable slot; a slot holds the whole handle while it is live and 0
 * otherwise, and slot 0, which no handle names, holds a value no value
 * naming it equals.  So a value is a live handle exactly when its slot
 * holds it.  The read is a seqlock: load the handle (acquire), load the
 * context, fence (acquire), load the handle again; a slot closed and
 * reused in between holds a new handle, never the old one.
 */
#define WSPSHIM_HANDLE_TABLE_VERSION	1
#define WSPSHIM_HANDLE_SLOT_HANDLE	8	/* offsets in a slot */
#define WSPSHIM_HANDLE_SLOT_CONTEXT	16

typedef struct WSPShimHandleTableDesc {
	DWORD		dwVersion;	/* WSPSHIM_HANDLE_TABLE_VERSION */
	DWORD		dwReserved;
	ULONG_PTR	ulSlotMask;	/* read before lpSlots (acquire) */
	const unsigned char *lpSlots;
} WSPSHIM_HANDLE_TABLE;

extern const WSPSHIM_HANDLE_TABLE WSPShimHandleTable
    __attribute__((visibility("default")));

/*
 * The loads of the read.  On x86 every load has acquire ordering in
 * hardware, so they need only the compiler to keep them in program order,
 * which volatile accesses guarantee: an __atomic acquire load or fence
 * would compile to the same instructions but makes gcc reload and store
 * back the stack-passed arguments of a layer's tail call down the chain,
 * a third of a pass-through data call.  Elsewhere: C11 acquire loads and
 * fence.
 */
#if defined(__x86_64__) || defined(__i386__)
#define WSPSHIM_LOAD_(p, order)						\
	__atomic_load_n((const volatile __typeof__(*(p)) *)(p),	\
	    __ATOMIC_RELAXED)
#define WSPSHIM_FENCE_ACQUIRE_()	((void)0)
#else
#define WSPSHIM_LOAD_(p, order)		__atomic_load_n((p), (order))
#define WSPSHIM_FENCE_ACQUIRE_()	__atomic_thread_fence(__ATOMIC_ACQUIRE)
#endif

static inline __attribute__((always_inline)) int
WSPShimHandleContext(SOCKET s, DWORD_PTR *lpContext)
{
	ULONG_PTR mask = WSPSHIM_LOAD_(&WSPShimHandleTable.ulSlotMask,
	    __ATOMIC_ACQUIRE);
	const unsigned char *slot = WSPSHIM_LOAD_(&WSPShimHandleTable.lpSlots,
	    __ATOMIC_RELAXED) + ((s << 3) & mask);
	const SOCKET *h = (const SOCKET *)(const void *)
	    (slot + WSPSHIM_HANDLE_SLOT_HANDLE);
	DWORD_PTR ctx;

	if (WSPSHIM_LOAD_(h, __ATOMIC_ACQUIRE) != s)
		return 0;
	ctx = WSPSHIM_LOAD_((const DWORD_PTR *)(const void *)
	    (slot + WSPSHIM_HANDLE_SLOT_CONTEXT), __ATOMIC_RELAXED);
	WSPSHIM_FENCE_ACQUIRE_();
	if (WSPSHIM_LOAD_(h, __ATOMIC_RELAXED) != s)
		return 0;
	*lpContext = ctx;
	return 1;
}

/*
 * Protect a descriptor of the layer's own (a log or trace file) from the
 * program, or lift the protection: while protected, the program's close()
 * and dup2()/dup3() onto it fail with EBADF, as if the number were not
 * open, and its close_range()/closefrom() leave it open.  Calls made from
 * inside a provider are not affected, so the layer closes it normally
 * (which also lifts the protection).  Open it O_CLOEXEC, above the
 * program's range (fcntl F_DUPFD_CLOEXEC from 1000, say).  0, or
 * SOCKET_ERROR with WSAEBADF (not open, or beyond the fd table) or
 * WSAEINVAL (a socket the library manages).
 */
int WSPAPI WSPShimProtectDescriptor(int fd, BOOL bProtect, LPINT lpErrno);

#ifdef __cplusplus
}
#endif

#endif /* WSPSHIM_WS2SPI_H */
