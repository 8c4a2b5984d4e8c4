/*
 * mswsock.h - the Winsock extension functions of libwspshim: their GUIDs
 * (Windows' values), function pointer types and flags.
 *
 * A program asks for each with WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER,
 * &guid, sizeof(guid), &fn, sizeof(fn), &n, NULL, NULL), as on Windows, and
 * calls the pointer with its SOCKETs; each call goes down the socket's
 * provider chain.  A file HANDLE (TransmitFile, TransmitPackets) is a file
 * descriptor cast to HANDLE: (HANDLE)(intptr_t)fd.
 *
 * Self-contained; usable from C (C99 or later) and C++.
 */
#ifndef WSPSHIM_MSWSOCK_H
#define WSPSHIM_MSWSOCK_H

#include <wspshim/winsock2.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef PASCAL
#define PASCAL
#endif

#ifndef WSPSHIM_OVERLAPPED_DEFINED
#define WSPSHIM_OVERLAPPED_DEFINED
typedef WSAOVERLAPPED	OVERLAPPED, *LPOVERLAPPED;
#endif

#define WSAID_ACCEPTEX \
	{ 0xb5367df1, 0xcbac, 0x11cf, \
	    { 0x95, 0xca, 0x00, 0x80, 0x5f, 0x48, 0xa1, 0x92 } }
#define WSAID_GETACCEPTEXSOCKADDRS \
	{ 0xb5367df2, 0xcbac, 0x11cf, \
	    { 0x95, 0xca, 0x00, 0x80, 0x5f, 0x48, 0xa1, 0x92 } }
#define WSAID_TRANSMITFILE \
	{ 0xb5367df0, 0xcbac, 0x11cf, \
	    { 0x95, 0xca, 0x00, 0x80, 0x5f, 0x48, 0xa1, 0x92 } }
#define WSAID_CONNECTEX \
	{ 0x25a207b9, 0xddf3, 0x4660, \
	    { 0x8e, 0xe9, 0x76, 0xe5, 0x8c, 0x74, 0x06, 0x3e } }
#define WSAID_DISCONNECTEX \
	{ 0x7fda2e11, 0x8630, 0x436f, \
	    { 0xa0, 0x31, 0xf5, 0x36, 0xa6, 0xee, 0xc1, 0x57 } }
#define WSAID_TRANSMITPACKETS \
	{ 0xd9689da0, 0x1f90, 0x11d3, \
	    { 0x99, 0x71, 0x00, 0xc0, 0x4f, 0x68, 0xc8, 0x76 } }
#define WSAID_WSARECVMSG \
	{ 0xf689d7c8, 0x6f1f, 0x436b, \
	    { 0x8a, 0x53, 0xe5, 0x4f, 0xe3, 0x51, 0xc3, 0x22 } }
#define WSAID_WSASENDMSG \
	{ 0xa441e712, 0x754f, 0x43ca, \
	    { 0x84, 0xa7, 0x0d, 0xee, 0x44, 0xcf, 0x60, 0x6d } }

/* TransmitFile / TransmitPackets / DisconnectEx flags (Winsock's). */
#define TF_DISCONNECT		0x01
#define TF_REUSE_SOCKET		0x02
#define TF_WRITE_BEHIND		0x04
#define TF_USE_DEFAULT_WORKER	0x00
#define TF_USE_SYSTEM_THREAD	0x10
#define TF_USE_KERNEL_APC	0x20
#define TP_DISCONNECT		TF_DISCONNECT
#define TP_REUSE_SOCKET		TF_REUSE_SOCKET
#define TP_USE_DEFAULT_WORKER	TF_USE_DEFAULT_WORKER
#define TP_USE_SYSTEM_THREAD	TF_USE_SYSTEM_THREAD
#define TP_USE_KERNEL_APC	TF_USE_KERNEL_APC
#define TP_ELEMENT_MEMORY	1
#define TP_ELEMENT_FILE		2
#define TP_ELEMENT_EOP		4

/* Socket options a program sets after AcceptEx / ConnectEx (accepted and
 * ignored: the kernel socket is already complete). */
#define SO_UPDATE_ACCEPT_CONTEXT	0x700B
#define SO_CONNECT_TIME			0x700C
#define SO_UPDATE_CONNECT_CONTEXT	0x7010

typedef struct _TRANSMIT_FILE_BUFFERS {
	LPVOID	Head;
	DWORD	HeadLength;
	LPVOID	Tail;
	DWORD	TailLength;
} TRANSMIT_FILE_BUFFERS, *PTRANSMIT_FILE_BUFFERS, *LPTRANSMIT_FILE_BUFFERS;

typedef struct _TRANSMIT_PACKETS_ELEMENT {
	ULONG	dwElFlags;
	ULONG	cLength;
	union {
		struct {
			LARGE_INTEGER	nFileOffset;
			HANDLE		hFile;
		} f;
		PVOID	pBuffer;
	} u;
} TRANSMIT_PACKETS_ELEMENT, *PTRANSMIT_PACKETS_ELEMENT,
    *LPTRANSMIT_PACKETS_ELEMENT;

typedef BOOL (PASCAL *LPFN_ACCEPTEX)(SOCKET sListenSocket,
    SOCKET sAcceptSocket, PVOID lpOutputBuffer, DWORD dwReceiveDataLength,
    DWORD dwLocalAddressLength, DWORD dwRemoteAddressLength,
    LPDWORD lpdwBytesReceived, LPOVERLAPPED lpOverlapped);
typedef void (PASCAL *LPFN_GETACCEPTEXSOCKADDRS)(PVOID lpOutputBuffer,
    DWORD dwReceiveDataLength, DWORD dwLocalAddressLength,
    DWORD dwRemoteAddressLength, struct sockaddr **LocalSockaddr,
    LPINT LocalSockaddrLength, struct sockaddr **RemoteSockaddr,
    LPINT RemoteSockaddrLength);
typedef BOOL (PASCAL *LPFN_CONNECTEX)(SOCKET s, const struct sockaddr *name,
    int namelen, PVOID lpSendBuffer, DWORD dwSendDataLength,
    LPDWORD lpdwBytesSent, LPOVERLAPPED lpOverlapped);
typedef BOOL (PASCAL *LPFN_DISCONNECTEX)(SOCKET s, LPOVERLAPPED lpOverlapped,
    DWORD dwFlags, DWORD dwReserved);
typedef BOOL (PASCAL *LPFN_TRANSMITFILE)(SOCKET hSocket, HANDLE hFile,
    DWORD nNumberOfBytesToWrite, DWORD nNumberOfBytesPerSend,
    LPOVERLAPPED lpOverlapped, LPTRANSMIT_FILE_BUFFERS lpTransmitBuffers,
    DWORD dwReserved);
typedef BOOL (PASCAL *LPFN_TRANSMITPACKETS)(SOCKET hSocket,
    LPTRANSMIT_PACKETS_ELEMENT lpPacketArray, DWORD nElementCount,
    DWORD nSendSize, LPOVERLAPPED lpOverlapped, DWORD dwFlags);
typedef INT (PASCAL *LPFN_WSARECVMSG)(SOCKET s, LPWSAMSG lpMsg,
    LPDWORD lpdwNumberOfBytesRecvd, LPWSAOVERLAPPED lpOverlapped,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine);
typedef INT (PASCAL *LPFN_WSASENDMSG)(SOCKET s, LPWSAMSG lpMsg,
    DWORD dwFlags, LPDWORD lpNumberOfBytesSent,
    LPWSAOVERLAPPED lpOverlapped,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine);

/*
 * mswsock.dll's own exports of three of them: the same as the pointers
 * SIO_GET_EXTENSION_FUNCTION_POINTER gives.
 */
BOOL PASCAL AcceptEx(SOCKET sListenSocket, SOCKET sAcceptSocket,
    PVOID lpOutputBuffer, DWORD dwReceiveDataLength,
    DWORD dwLocalAddressLength, DWORD dwRemoteAddressLength,
    LPDWORD lpdwBytesReceived, LPOVERLAPPED lpOverlapped);
void PASCAL GetAcceptExSockaddrs(PVOID lpOutputBuffer,
    DWORD dwReceiveDataLength, DWORD dwLocalAddressLength,
    DWORD dwRemoteAddressLength, struct sockaddr **LocalSockaddr,
    LPINT LocalSockaddrLength, struct sockaddr **RemoteSockaddr,
    LPINT RemoteSockaddrLength);
BOOL PASCAL TransmitFile(SOCKET hSocket, HANDLE hFile,
    DWORD nNumberOfBytesToWrite, DWORD nNumberOfBytesPerSend,
    LPOVERLAPPED lpOverlapped, LPTRANSMIT_FILE_BUFFERS lpTransmitBuffers,
    DWORD dwReserved);

#ifdef __cplusplus
}
#endif

#endif /* WSPSHIM_MSWSOCK_H */
