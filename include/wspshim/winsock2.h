/*
 * winsock2.h - the Windows Sockets 2 application API of libwspshim.
 *
 * Types, member orders and numeric values are Winsock's own, so code written
 * against Winsock compiles with few changes.  Address families, socket types,
 * protocol numbers, SOL_SOCKET and the FIONBIO/FIONREAD/SIOCATMARK ioctl
 * codes are Linux's own: a SOCKET returned here is a real kernel descriptor
 * and works with send(), recv(), poll() and epoll as it is.
 *
 * Self-contained; usable from C (C99 or later) and C++.
 */
#ifndef WSPSHIM_WINSOCK2_H
#define WSPSHIM_WINSOCK2_H

/*
 * FD_SETSIZE is Winsock's 64 unless the program defines it before its
 * first include, as on Windows; glibc's <sys/select.h> sets its own, so a
 * program's value is kept aside while the system headers are read (one
 * defined after <sys/select.h> was read is glibc's, not the program's).
 */
#if defined(FD_SETSIZE) && !defined(_SYS_SELECT_H)
#define WSPSHIM_USER_FD_SETSIZE
#pragma push_macro("FD_SETSIZE")
#undef FD_SETSIZE
#endif

#include <stddef.h>
#include <stdint.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef WSAAPI
#define WSAAPI
#endif
/* windef.h's calling convention of callbacks (completion routines): the
 * platform's own here. */
#ifndef CALLBACK
#define CALLBACK
#endif

/* Windows base types, with their Windows widths. */
typedef uint8_t		BYTE;
typedef uint16_t	WORD;
typedef uint32_t	DWORD;
typedef int32_t		INT;
typedef int32_t		BOOL;
typedef uint32_t	ULONG;
typedef uint32_t	UINT;
typedef int32_t		LONG;
typedef char		CHAR;
typedef uint16_t	WCHAR;		/* UTF-16 code unit */
typedef uintptr_t	ULONG_PTR;
typedef uintptr_t	DWORD_PTR;
typedef uintptr_t	WPARAM;
typedef intptr_t	LPARAM;
typedef void		*HANDLE;
typedef void		*HWND;
typedef void		*LPVOID;
typedef INT		*LPINT;
typedef DWORD		*LPDWORD;
typedef DWORD_PTR	*PDWORD_PTR;
typedef WORD		*LPWORD;
typedef CHAR		*LPSTR;
typedef const CHAR	*LPCSTR;
typedef WCHAR		*LPWSTR;
typedef const WCHAR	*LPCWSTR;
typedef struct sockaddr	*LPSOCKADDR;
typedef struct sockaddr	SOCKADDR;

/* --- Windows type spellings (issue 14) ---------------------------------
 *
 * The BSD short names are glibc's own when it declares them (u_long is then
 * unsigned long, 8 bytes on LP64, where Windows has 4); a strict C build
 * that hides them gets the same definitions here.
 */
#ifndef __u_char_defined
typedef unsigned char	u_char;
typedef unsigned short	u_short;
typedef unsigned int	u_int;
typedef unsigned long	u_long;
#define __u_char_defined
#endif
typedef short		SHORT;
typedef unsigned short	USHORT;
typedef unsigned char	UCHAR;
typedef int64_t		LONGLONG;
typedef uint64_t	ULONGLONG;
typedef intptr_t	LONG_PTR;
typedef intptr_t	INT_PTR;
typedef uintptr_t	UINT_PTR;
typedef size_t		SIZE_T;
typedef void		*PVOID;
typedef const void	*LPCVOID;
typedef HANDLE		*LPHANDLE;
typedef HANDLE		*PHANDLE;
typedef BOOL		*LPBOOL;
typedef ULONG		*PULONG;
typedef CHAR		*PCHAR;
typedef CHAR		*PSTR;
typedef const CHAR	*PCSTR;
typedef WCHAR		*PWSTR;
typedef const WCHAR	*PCWSTR;
typedef WCHAR		*PWCHAR;
typedef union _LARGE_INTEGER {
	struct {
		DWORD	LowPart;
		LONG	HighPart;
	} u;
	LONGLONG	QuadPart;
} LARGE_INTEGER, *PLARGE_INTEGER;

typedef struct sockaddr		*PSOCKADDR;
typedef struct sockaddr_in	SOCKADDR_IN, *PSOCKADDR_IN, *LPSOCKADDR_IN;
typedef struct sockaddr_in6	SOCKADDR_IN6, *PSOCKADDR_IN6,
				*LPSOCKADDR_IN6;
typedef struct sockaddr_storage	SOCKADDR_STORAGE, *PSOCKADDR_STORAGE,
				*LPSOCKADDR_STORAGE;
typedef struct in_addr		IN_ADDR, *PIN_ADDR, *LPIN_ADDR;
typedef struct in6_addr		IN6_ADDR, *PIN6_ADDR, *LPIN6_ADDR;
typedef struct linger		LINGER, *PLINGER, *LPLINGER;
typedef struct timeval		TIMEVAL, *PTIMEVAL, *LPTIMEVAL;
typedef unsigned short		ADDRESS_FAMILY;
/* --- end of the type spellings --- */

#ifndef FALSE
#define FALSE	0
#endif
#ifndef TRUE
#define TRUE	1
#endif

/* A socket handle.  Through the application API it is a kernel descriptor. */
typedef uintptr_t	SOCKET;
#define INVALID_SOCKET	(~(SOCKET)0)
#define SOCKET_ERROR	(-1)

typedef unsigned int	GROUP;
typedef HANDLE		WSAEVENT;
#define WSA_INVALID_EVENT	((WSAEVENT)NULL)

#define MAKEWORD(lo, hi) \
	((WORD)(((BYTE)((lo) & 0xff)) | ((WORD)((BYTE)((hi) & 0xff))) << 8))
#define LOBYTE(w)	((BYTE)((w) & 0xff))
#define HIBYTE(w)	((BYTE)(((w) >> 8) & 0xff))

typedef struct _GUID {
	uint32_t	Data1;
	uint16_t	Data2;
	uint16_t	Data3;
	uint8_t		Data4[8];
} GUID, *LPGUID;

/* One buffer of a scatter/gather array. */
typedef struct _WSABUF {
	ULONG	len;
	CHAR	*buf;
} WSABUF, *LPWSABUF;

typedef struct _WSAOVERLAPPED {
	ULONG_PTR	Internal;
	ULONG_PTR	InternalHigh;
	DWORD		Offset;
	DWORD		OffsetHigh;
	WSAEVENT	hEvent;
} WSAOVERLAPPED, *LPWSAOVERLAPPED;

typedef void (WSAAPI *LPWSAOVERLAPPED_COMPLETION_ROUTINE)(DWORD dwError,
    DWORD cbTransferred, LPWSAOVERLAPPED lpOverlapped, DWORD dwFlags);

typedef struct _flowspec {
	ULONG	TokenRate;
	ULONG	TokenBucketSize;
	ULONG	PeakBandwidth;
	ULONG	Latency;
	ULONG	DelayVariation;
	ULONG	ServiceType;
	ULONG	MaxSduSize;
	ULONG	MinimumPolicedSize;
} FLOWSPEC, *LPFLOWSPEC;

typedef struct _QualityOfService {
	FLOWSPEC	SendingFlowspec;
	FLOWSPEC	ReceivingFlowspec;
	WSABUF		ProviderSpecific;
} QOS, *LPQOS;

#define FD_MAX_EVENTS	10
typedef struct _WSANETWORKEVENTS {
	LONG	lNetworkEvents;
	INT	iErrorCode[FD_MAX_EVENTS];
} WSANETWORKEVENTS, *LPWSANETWORKEVENTS;

typedef INT (WSAAPI *LPCONDITIONPROC)(LPWSABUF lpCallerId,
    LPWSABUF lpCallerData, LPQOS lpSQOS, LPQOS lpGQOS, LPWSABUF lpCalleeId,
    LPWSABUF lpCalleeData, GROUP *g, DWORD_PTR dwCallbackData);

/* What a WSAAccept condition function answers. */
#define CF_ACCEPT	0x0000
#define CF_REJECT	0x0001
#define CF_DEFER	0x0002

/* WSAJoinLeaf directions. */
#define JL_SENDER_ONLY		0x01
#define JL_RECEIVER_ONLY	0x02
#define JL_BOTH			0x04

/* Protocol catalog entries. */
#define MAX_PROTOCOL_CHAIN	7
#define BASE_PROTOCOL		1
#define LAYERED_PROTOCOL	0
#define WSAPROTOCOL_LEN		255

typedef struct _WSAPROTOCOLCHAIN {
	INT	ChainLen;	/* 0 layered, 1 base, > 1 chain */
	DWORD	ChainEntries[MAX_PROTOCOL_CHAIN];
} WSAPROTOCOLCHAIN, *LPWSAPROTOCOLCHAIN;

typedef struct _WSAPROTOCOL_INFOW {
	DWORD		dwServiceFlags1;
	DWORD		dwServiceFlags2;
	DWORD		dwServiceFlags3;
	DWORD		dwServiceFlags4;
	DWORD		dwProviderFlags;
	GUID		ProviderId;
	DWORD		dwCatalogEntryId;
	WSAPROTOCOLCHAIN ProtocolChain;
	INT		iVersion;
	INT		iAddressFamily;
	INT		iMaxSockAddr;
	INT		iMinSockAddr;
	INT		iSocketType;
	INT		iProtocol;
	INT		iProtocolMaxOffset;
	INT		iNetworkByteOrder;
	INT		iSecurityScheme;
	DWORD		dwMessageSize;
	DWORD		dwProviderReserved;
	WCHAR		szProtocol[WSAPROTOCOL_LEN + 1];
} WSAPROTOCOL_INFOW, *LPWSAPROTOCOL_INFOW;

typedef struct _WSAPROTOCOL_INFOA {
	DWORD		dwServiceFlags1;
	DWORD		dwServiceFlags2;
	DWORD		dwServiceFlags3;
	DWORD		dwServiceFlags4;
	DWORD		dwProviderFlags;
	GUID		ProviderId;
	DWORD		dwCatalogEntryId;
	WSAPROTOCOLCHAIN ProtocolChain;
	INT		iVersion;
	INT		iAddressFamily;
	INT		iMaxSockAddr;
	INT		iMinSockAddr;
	INT		iSocketType;
	INT		iProtocol;
	INT		iProtocolMaxOffset;
	INT		iNetworkByteOrder;
	INT		iSecurityScheme;
	DWORD		dwMessageSize;
	DWORD		dwProviderReserved;
	CHAR		szProtocol[WSAPROTOCOL_LEN + 1];
} WSAPROTOCOL_INFOA, *LPWSAPROTOCOL_INFOA;

#if defined(__cplusplus) && __cplusplus >= 201103L
#define WSPSHIM_STATIC_ASSERT(c, m)	static_assert(c, m)
#else
#define WSPSHIM_STATIC_ASSERT(c, m)	_Static_assert(c, m)
#endif
WSPSHIM_STATIC_ASSERT(sizeof(GUID) == 16, "GUID is 16 bytes");
WSPSHIM_STATIC_ASSERT(sizeof(WSAPROTOCOLCHAIN) == 32,
    "WSAPROTOCOLCHAIN is 32 bytes");
WSPSHIM_STATIC_ASSERT(sizeof(WSAPROTOCOL_INFOW) == 628,
    "WSAPROTOCOL_INFOW is 628 bytes, as in Winsock");
WSPSHIM_STATIC_ASSERT(sizeof(WSAPROTOCOL_INFOA) == 372,
    "WSAPROTOCOL_INFOA is 372 bytes, as in Winsock");
WSPSHIM_STATIC_ASSERT(offsetof(WSAPROTOCOL_INFOW, szProtocol) == 116,
    "szProtocol follows dwProviderReserved");

/* dwServiceFlags1 */
#define XP1_CONNECTIONLESS		0x00000001
#define XP1_GUARANTEED_DELIVERY		0x00000002
#define XP1_GUARANTEED_ORDER		0x00000004
#define XP1_MESSAGE_ORIENTED		0x00000008
#define XP1_PSEUDO_STREAM		0x00000010
#define XP1_GRACEFUL_CLOSE		0x00000020
#define XP1_EXPEDITED_DATA		0x00000040
#define XP1_CONNECT_DATA		0x00000080
#define XP1_DISCONNECT_DATA		0x00000100
#define XP1_SUPPORT_BROADCAST		0x00000200
#define XP1_SUPPORT_MULTIPOINT		0x00000400
#define XP1_MULTIPOINT_CONTROL_PLANE	0x00000800
#define XP1_MULTIPOINT_DATA_PLANE	0x00001000
#define XP1_QOS_SUPPORTED		0x00002000
#define XP1_INTERRUPT			0x00004000
#define XP1_UNI_SEND			0x00008000
#define XP1_UNI_RECV			0x00010000
#define XP1_IFS_HANDLES			0x00020000
#define XP1_PARTIAL_MESSAGE		0x00040000
#define XP1_SAN_SUPPORT_SDP		0x00080000

/* dwProviderFlags */
#define PFL_MULTIPLE_PROTO_ENTRIES	0x00000001
#define PFL_RECOMMENDED_PROTO_ENTRY	0x00000002
#define PFL_HIDDEN			0x00000004
#define PFL_MATCHES_PROTOCOL_ZERO	0x00000008
#define PFL_NETWORKDIRECT_PROVIDER	0x00000010

#define BIGENDIAN			0x0000
#define LITTLEENDIAN			0x0001
#define SECURITY_PROTOCOL_NONE		0x0000

/* dwMessageSize special values */
#define MSG_SIZE_STREAM			0x00000000
#define MSG_SIZE_DEPENDS_ON_MTU		0x00000001
#define MSG_SIZE_UNLIMITED		0xFFFFFFFFu

/* dwFlags of WSASocket / WSPSocket */
#define WSA_FLAG_OVERLAPPED		0x01
#define WSA_FLAG_MULTIPOINT_C_ROOT	0x02
#define WSA_FLAG_MULTIPOINT_C_LEAF	0x04
#define WSA_FLAG_MULTIPOINT_D_ROOT	0x08
#define WSA_FLAG_MULTIPOINT_D_LEAF	0x10
#define WSA_FLAG_ACCESS_SYSTEM_SECURITY	0x40
#define WSA_FLAG_NO_HANDLE_INHERIT	0x80
#define WSA_FLAG_REGISTERED_IO		0x100
/*
 * libwspshim extension: create the socket non-blocking, atomically (the
 * SOCK_NONBLOCK of socket() and accept4()).  Winsock has no such bit.
 */
#define WSA_FLAG_WSPSHIM_NONBLOCK	0x40000000

#define FROM_PROTOCOL_INFO	(-1)

/* Socket options: Linux's SOL_SOCKET, Winsock's option numbers. */
#define SO_PROTOCOL_INFOA	0x2004
#define SO_PROTOCOL_INFOW	0x2005

/* WSAIoctl codes (FIONBIO, FIONREAD and SIOCATMARK are Linux's). */
#define IOC_UNIX	0x00000000
#define IOC_WS2		0x08000000
#define IOC_PROTOCOL	0x10000000
#define IOC_VENDOR	0x18000000
#define IOC_WSPSHIM_OUT	0x40000000
#define IOC_WSPSHIM_IN	0x80000000u
#define _WSAIO(x, y)	(IOC_WSPSHIM_OUT | 0 | (x) | (y))
#define _WSAIOR(x, y)	(IOC_WSPSHIM_OUT | (x) | (y))
#define _WSAIOW(x, y)	(IOC_WSPSHIM_IN | (x) | (y))
#define _WSAIORW(x, y)	(IOC_WSPSHIM_IN | IOC_WSPSHIM_OUT | (x) | (y))
#define SIO_BASE_HANDLE	((DWORD)0x48000022)	/* _WSAIOR(IOC_WS2, 34) */
#define SIO_BSP_HANDLE	((DWORD)0x4800001B)	/* _WSAIOR(IOC_WS2, 27) */
/*
 * libwspshim: SIO_BASE_HANDLE answers the kernel descriptor (an int) and
 * SIO_BSP_HANDLE the base provider's own SOCKET handle.  Every layer
 * forwards both unchanged; the core relies on it.  While the shim is
 * dispatching a program's call, SIO_BASE_HANDLE answers the descriptor
 * the program used (a dup()ed one stays itself); otherwise the socket's
 * own.
 */

#define WSADESCRIPTION_LEN	256
#define WSASYS_STATUS_LEN	128

/* Filled by WSAStartup (the 64-bit Winsock member order). */
typedef struct WSAData {
	WORD		wVersion;
	WORD		wHighVersion;
	unsigned short	iMaxSockets;
	unsigned short	iMaxUdpDg;
	char		*lpVendorInfo;
	char		szDescription[WSADESCRIPTION_LEN + 1];
	char		szSystemStatus[WSASYS_STATUS_LEN + 1];
} WSADATA, *LPWSADATA;

/*
 * Error codes: Winsock's values.  The WSAE* codes are 10000 plus the BSD
 * errno; Linux errno values differ, so libwspshim maps them by table.
 */
#define WSA_INVALID_HANDLE		6
#define WSA_NOT_ENOUGH_MEMORY		8
#define WSA_INVALID_PARAMETER		87
#define WSA_OPERATION_ABORTED		995
#define WSA_IO_INCOMPLETE		996
#define WSA_IO_PENDING			997
#define WSABASEERR			10000
#define WSAEINTR			10004
#define WSAEBADF			10009
#define WSAEACCES			10013
#define WSAEFAULT			10014
#define WSAEINVAL			10022
#define WSAEMFILE			10024
#define WSAEWOULDBLOCK			10035
#define WSAEINPROGRESS			10036
#define WSAEALREADY			10037
#define WSAENOTSOCK			10038
#define WSAEDESTADDRREQ			10039
#define WSAEMSGSIZE			10040
#define WSAEPROTOTYPE			10041
#define WSAENOPROTOOPT			10042
#define WSAEPROTONOSUPPORT		10043
#define WSAESOCKTNOSUPPORT		10044
#define WSAEOPNOTSUPP			10045
#define WSAEPFNOSUPPORT			10046
#define WSAEAFNOSUPPORT			10047
#define WSAEADDRINUSE			10048
#define WSAEADDRNOTAVAIL		10049
#define WSAENETDOWN			10050
#define WSAENETUNREACH			10051
#define WSAENETRESET			10052
#define WSAECONNABORTED			10053
#define WSAECONNRESET			10054
#define WSAENOBUFS			10055
#define WSAEISCONN			10056
#define WSAENOTCONN			10057
#define WSAESHUTDOWN			10058
#define WSAETOOMANYREFS			10059
#define WSAETIMEDOUT			10060
#define WSAECONNREFUSED			10061
#define WSAELOOP			10062
#define WSAENAMETOOLONG			10063
#define WSAEHOSTDOWN			10064
#define WSAEHOSTUNREACH			10065
#define WSAENOTEMPTY			10066
#define WSAEPROCLIM			10067
#define WSAEUSERS			10068
#define WSAEDQUOT			10069
#define WSAESTALE			10070
#define WSAEREMOTE			10071
#define WSASYSNOTREADY			10091
#define WSAVERNOTSUPPORTED		10092
#define WSANOTINITIALISED		10093
#define WSAEDISCON			10101
#define WSAENOMORE			10102
#define WSAECANCELLED			10103
#define WSAEINVALIDPROCTABLE		10104
#define WSAEINVALIDPROVIDER		10105
#define WSAEPROVIDERFAILEDINIT		10106
#define WSASYSCALLFAILURE		10107
#define WSASERVICE_NOT_FOUND		10108
#define WSATYPE_NOT_FOUND		10109
#define WSA_E_NO_MORE			10110
#define WSA_E_CANCELLED			10111
#define WSAEREFUSED			10112
#define WSAHOST_NOT_FOUND		11001
#define WSATRY_AGAIN			11002
#define WSANO_RECOVERY			11003
#define WSANO_DATA			11004
#define WSA_QOS_RECEIVERS		11005
#define WSA_QOS_SENDERS			11006
#define WSA_QOS_NO_SENDERS		11007
#define WSA_QOS_NO_RECEIVERS		11008
#define WSA_QOS_REQUEST_CONFIRMED	11009
#define WSA_QOS_ADMISSION_FAILURE	11010
#define WSA_QOS_POLICY_FAILURE		11011
#define WSA_QOS_BAD_STYLE		11012
#define WSA_QOS_BAD_OBJECT		11013
#define WSA_QOS_TRAFFIC_CTRL_ERROR	11014
#define WSA_QOS_GENERIC_ERROR		11015
#define WSA_QOS_ESERVICETYPE		11016
#define WSA_QOS_EFLOWSPEC		11017
#define WSA_QOS_EPROVSPECBUF		11018
#define WSA_QOS_EFILTERSTYLE		11019
#define WSA_QOS_EFILTERTYPE		11020
#define WSA_QOS_EFILTERCOUNT		11021
#define WSA_QOS_EOBJLENGTH		11022
#define WSA_QOS_EFLOWCOUNT		11023
#define WSA_QOS_EUNKOWNPSOBJ		11024
#define WSA_QOS_EPOLICYOBJ		11025
#define WSA_QOS_EFLOWDESC		11026
#define WSA_QOS_EPSFLOWSPEC		11027
#define WSA_QOS_EPSFILTERSPEC		11028
#define WSA_QOS_ESDMODEOBJ		11029
#define WSA_QOS_ESHAPERATEOBJ		11030
#define WSA_QOS_RESERVED_PETYPE		11031
#define WSANO_ADDRESS			WSANO_DATA

/*
 * Start the library for this thread's caller: reference counted.  Returns 0,
 * or WSAVERNOTSUPPORTED (major version 0) or WSAEFAULT (lpWSAData NULL).
 * Supported versions are 1.0 to 2.2.
 */
int WSAAPI WSAStartup(WORD wVersionRequested, LPWSADATA lpWSAData);

/*
 * Drop one WSAStartup reference; the last one closes every socket created
 * through WSASocket.  Returns 0, or SOCKET_ERROR with WSANOTINITIALISED.
 */
int WSAAPI WSACleanup(void);

/* The calling thread's last error, and a way to set it. */
int WSAAPI WSAGetLastError(void);
void WSAAPI WSASetLastError(int iError);

/*
 * Create a socket through the protocol catalog.  With lpProtocolInfo NULL
 * the first catalog entry matching (af, type, protocol) is chosen; with a
 * struct, its dwCatalogEntryId routes the call and each argument that is 0
 * or FROM_PROTOCOL_INFO comes from the struct.  Returns a kernel descriptor
 * (last error 0), or INVALID_SOCKET and one of WSANOTINITIALISED,
 * WSAEAFNOSUPPORT, WSAESOCKTNOSUPPORT, WSAEPROTONOSUPPORT, WSAEPROTOTYPE,
 * WSAEINVAL, WSAEMFILE, WSAENOBUFS, WSAEACCES, WSAEPROVIDERFAILEDINIT.
 */
SOCKET WSAAPI WSASocketW(int af, int type, int protocol,
    LPWSAPROTOCOL_INFOW lpProtocolInfo, GROUP g, DWORD dwFlags);
SOCKET WSAAPI WSASocketA(int af, int type, int protocol,
    LPWSAPROTOCOL_INFOA lpProtocolInfo, GROUP g, DWORD dwFlags);

/* Close a socket made by WSASocket or socket().  0 or SOCKET_ERROR. */
int WSAAPI closesocket(SOCKET s);

/*
 * Copy the visible (not PFL_HIDDEN, not layered) catalog entries, filtered
 * by the 0-terminated lpiProtocols array when it is not NULL, into
 * lpProtocolBuffer.  Returns the number copied, or SOCKET_ERROR with
 * WSAENOBUFS and *lpdwBufferLength set to the size needed, or WSAEFAULT.
 */
int WSAAPI WSAEnumProtocolsW(LPINT lpiProtocols,
    LPWSAPROTOCOL_INFOW lpProtocolBuffer, LPDWORD lpdwBufferLength);
int WSAAPI WSAEnumProtocolsA(LPINT lpiProtocols,
    LPWSAPROTOCOL_INFOA lpProtocolBuffer, LPDWORD lpdwBufferLength);

/*
 * Fill lpProtocolInfo with a token from which WSASocket (FROM_PROTOCOL_INFO)
 * makes a new descriptor sharing the socket.  Only the calling process can
 * use the token.  0 or SOCKET_ERROR (WSAEINVAL, WSAENOTSOCK, WSAEFAULT,
 * WSAEMFILE).
 */
int WSAAPI WSADuplicateSocketW(SOCKET s, DWORD dwProcessId,
    LPWSAPROTOCOL_INFOW lpProtocolInfo);
int WSAAPI WSADuplicateSocketA(SOCKET s, DWORD dwProcessId,
    LPWSAPROTOCOL_INFOA lpProtocolInfo);

/*
 * Render a sockaddr as "127.0.0.1:80", "[::1]:443" or a path for AF_UNIX.
 * *lpdwAddressStringLength is in characters, counting the terminator; a
 * short buffer gives WSAEFAULT with the length needed.
 */
INT WSAAPI WSAAddressToStringW(LPSOCKADDR lpsaAddress, DWORD dwAddressLength,
    LPWSAPROTOCOL_INFOW lpProtocolInfo, LPWSTR lpszAddressString,
    LPDWORD lpdwAddressStringLength);
INT WSAAPI WSAAddressToStringA(LPSOCKADDR lpsaAddress, DWORD dwAddressLength,
    LPWSAPROTOCOL_INFOA lpProtocolInfo, LPSTR lpszAddressString,
    LPDWORD lpdwAddressStringLength);

/* Parse such a string into a sockaddr; WSAEINVAL for a bad string. */
INT WSAAPI WSAStringToAddressW(LPWSTR AddressString, INT AddressFamily,
    LPWSAPROTOCOL_INFOW lpProtocolInfo, LPSOCKADDR lpAddress,
    LPINT lpAddressLength);
INT WSAAPI WSAStringToAddressA(LPSTR AddressString, INT AddressFamily,
    LPWSAPROTOCOL_INFOA lpProtocolInfo, LPSOCKADDR lpAddress,
    LPINT lpAddressLength);

/*
 * Control a socket through its chain: SIO_BASE_HANDLE (the kernel
 * descriptor), FIONBIO, FIONREAD, SIOCATMARK, and
 * SIO_GET_EXTENSION_FUNCTION_POINTER (mswsock.h), whose answer is a
 * function taking SOCKETs.  lpOverlapped and lpCompletionRoutine go down
 * unchanged; the base answers every code at once: on an overlapped
 * socket an overlapped request is reported complete at once.
 */
int WSAAPI WSAIoctl(SOCKET s, DWORD dwIoControlCode, LPVOID lpvInBuffer,
    DWORD cbInBuffer, LPVOID lpvOutBuffer, DWORD cbOutBuffer,
    LPDWORD lpcbBytesReturned, LPWSAOVERLAPPED lpOverlapped,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine);

/* --- select and fd_set, as Winsock has them (issue 14) -----------------
 *
 * A Winsock fd_set is a count and an array of SOCKETs, not a bitmap, so a
 * socket numbered 1500 fits as well as 3.  This header makes fd_set,
 * FD_SET, FD_CLR, FD_ISSET, FD_ZERO and FD_SETSIZE (64 unless defined
 * before the first include) the Winsock ones, and maps select() to
 * WSPShimSelect(), which goes to the sockets' provider (WSPSelect).  Only
 * a source that includes this header sees any of it: libwspshim.so
 * exports no select of its own, and a POSIX program keeps glibc's fd_set
 * and select.  A program file that needs the POSIX ones beside this
 * header defines WSPSHIM_NO_WINSOCK_SELECT before including it (and then
 * has neither the Winsock fd_set nor select; a layer must not, as
 * WSPSelect's sets are Winsock's).
 */
#ifndef WSPSHIM_NO_WINSOCK_SELECT
#undef FD_SETSIZE
#ifdef WSPSHIM_USER_FD_SETSIZE
#pragma pop_macro("FD_SETSIZE")
#else
#define FD_SETSIZE	64
#endif

typedef struct wspshim_fd_set {
	u_int	fd_count;		/* how many are in the array */
	SOCKET	fd_array[FD_SETSIZE];
} wspshim_fd_set, FD_SET, *PFD_SET, *LPFD_SET;

#define fd_set		wspshim_fd_set

#undef FD_SET
#undef FD_CLR
#undef FD_ISSET
#undef FD_ZERO

/* Add fd unless present or the set is full (FD_SETSIZE), as Winsock. */
#define FD_SET(fd, set) do {						\
	u_int wspshim_i_;						\
	for (wspshim_i_ = 0; wspshim_i_ < (set)->fd_count; wspshim_i_++) \
		if ((set)->fd_array[wspshim_i_] == (SOCKET)(fd))	\
			break;						\
	if (wspshim_i_ == (set)->fd_count &&				\
	    (set)->fd_count < FD_SETSIZE)				\
		(set)->fd_array[(set)->fd_count++] = (SOCKET)(fd);	\
} while (0)

/* Remove fd, keeping the order of the rest. */
#define FD_CLR(fd, set) do {						\
	u_int wspshim_i_;						\
	for (wspshim_i_ = 0; wspshim_i_ < (set)->fd_count; wspshim_i_++) \
		if ((set)->fd_array[wspshim_i_] == (SOCKET)(fd)) {	\
			while (wspshim_i_ + 1 < (set)->fd_count) {	\
				(set)->fd_array[wspshim_i_] =		\
				    (set)->fd_array[wspshim_i_ + 1];	\
				wspshim_i_++;				\
			}						\
			(set)->fd_count--;				\
			break;						\
		}							\
} while (0)

#define FD_ZERO(set)	((set)->fd_count = 0)
#define FD_ISSET(fd, set)	__WSAFDIsSet((SOCKET)(fd), (fd_set *)(set))
#endif /* WSPSHIM_NO_WINSOCK_SELECT */
/* --- end of select and fd_set --- */

/* --- more of the application API (issue 14) -------------------------- */

/* shutdown() directions, Winsock's names for Linux's SHUT_* values. */
#define SD_RECEIVE	SHUT_RD
#define SD_SEND		SHUT_WR
#define SD_BOTH		SHUT_RDWR

/* Winsock's ioctl command for the extension functions (mswsock.h). */
#define SIO_GET_EXTENSION_FUNCTION_POINTER	((DWORD)0xC8000006)
		/* _WSAIORW(IOC_WS2, 6) */

/* WSARecvMsg / WSASendMsg: the control buffer holds Linux's cmsghdr
 * records, whose layout is Winsock's WSACMSGHDR (size_t, int, int). */
typedef struct _WSAMSG {
	LPSOCKADDR	name;
	INT		namelen;
	LPWSABUF	lpBuffers;
	ULONG		dwBufferCount;
	WSABUF		Control;
	ULONG		dwFlags;
} WSAMSG, *PWSAMSG, *LPWSAMSG;
typedef struct cmsghdr	WSACMSGHDR, *PWSACMSGHDR, *LPWSACMSGHDR;
#define WSA_CMSG_FIRSTHDR(msg)	\
	((msg)->Control.len >= sizeof(WSACMSGHDR) ?	\
	    (LPWSACMSGHDR)(void *)(msg)->Control.buf : (LPWSACMSGHDR)NULL)
#define WSA_CMSG_DATA(c)	CMSG_DATA(c)
#define WSA_CMSG_SPACE(n)	CMSG_SPACE(n)
#define WSA_CMSG_LEN(n)		CMSG_LEN(n)
#define WSA_CMSG_NXTHDR(msg, c)	wspshim_cmsg_nxthdr(msg, c)
#define WSA_CMSGHDR_ALIGN(n)	CMSG_ALIGN(n)
#define WSA_CMSGDATA_ALIGN(n)	CMSG_ALIGN(n)

/* The record after c in msg's control buffer (the first when c is NULL),
 * or NULL. */
static inline LPWSACMSGHDR
wspshim_cmsg_nxthdr(const WSAMSG *msg, const WSACMSGHDR *c)
{
	const char *end = msg->Control.buf + msg->Control.len, *p;

	if (c == NULL)
		return WSA_CMSG_FIRSTHDR(msg);
	if (c->cmsg_len < sizeof(WSACMSGHDR))
		return NULL;
	p = (const char *)c + CMSG_ALIGN(c->cmsg_len);
	if (p + sizeof(WSACMSGHDR) > end ||
	    p + CMSG_ALIGN(((const WSACMSGHDR *)(const void *)p)->cmsg_len) >
	    end)
		return NULL;
	return (LPWSACMSGHDR)(uintptr_t)p;
}
/* Flags Winsock adds to MSG_* (dwFlags of WSAMSG): Linux's own values. */
#ifndef MSG_BCAST
#define MSG_BCAST	0
#define MSG_MCAST	0
#endif
#define MSG_PARTIAL	0x8000
		/* Winsock's; never set here (no message-mode streams) */

/*
 * Connect through the socket's chain (WSPConnect).  Connect data and QoS
 * are those of Winsock: no built-in protocol carries connect data, so
 * lpCallerData with a length is WSAEOPNOTSUPP and lpCalleeData->len is
 * set to 0.  0, or SOCKET_ERROR with the last error (WSAEWOULDBLOCK on a
 * non-blocking socket whose connection is under way, WSAECONNREFUSED, ...).
 */
int WSAAPI WSAConnect(SOCKET s, const struct sockaddr *name, int namelen,
    LPWSABUF lpCallerData, LPWSABUF lpCalleeData, LPQOS lpSQOS,
    LPQOS lpGQOS);

/*
 * Accept a connection through the chain (WSPAccept), asking
 * lpfnCondition first when it is not NULL: CF_ACCEPT takes it, CF_REJECT
 * resets it (the peer sees a refusal) and fails with WSAECONNREFUSED,
 * CF_DEFER leaves it queued for the next WSAAccept and fails with
 * WSATRY_AGAIN.  The new socket, or INVALID_SOCKET.
 */
SOCKET WSAAPI WSAAccept(SOCKET s, struct sockaddr *addr, LPINT addrlen,
    LPCONDITIONPROC lpfnCondition, DWORD_PTR dwCallbackData);

/*
 * Join a multipoint session (WSPJoinLeaf): for IP multicast on a
 * C_LEAF|D_LEAF UDP socket, membership of the group name names on the
 * interface of IP_MULTICAST_IF, else of the bound address.  Returns s, or
 * INVALID_SOCKET (WSAEOPNOTSUPP, WSAEINVAL, WSAEFAULT, ...).
 */
SOCKET WSAAPI WSAJoinLeaf(SOCKET s, const struct sockaddr *name,
    int namelen, LPWSABUF lpCallerData, LPWSABUF lpCalleeData,
    LPQOS lpSQOS, LPQOS lpGQOS, DWORD dwFlags);

/* Shut one direction down (shutdown(SD_SEND) / shutdown(SD_RECEIVE));
 * disconnect data is WSAEOPNOTSUPP.  0 or SOCKET_ERROR. */
int WSAAPI WSASendDisconnect(SOCKET s, LPWSABUF lpOutboundDisconnectData);
int WSAAPI WSARecvDisconnect(SOCKET s, LPWSABUF lpInboundDisconnectData);

/* FIONBIO, FIONREAD, SIOCATMARK through the chain (WSPIoctl); argp is a
 * u_long.  0 or SOCKET_ERROR (WSAEFAULT for argp NULL, WSAEINVAL for an
 * unknown command). */
int WSAAPI ioctlsocket(SOCKET s, long cmd, u_long *argp);

#ifndef WSPSHIM_NO_WINSOCK_SELECT
/* Whether fd is in the Winsock set (what FD_ISSET calls). */
int WSAAPI __WSAFDIsSet(SOCKET fd, fd_set *set);

/*
 * Winsock's select() (this header maps the name): nfds is ignored; the
 * sets hold SOCKETs and are rewritten to those that are ready.  Returns
 * how many, 0 at the timeout, or SOCKET_ERROR (WSAEINVAL when every set
 * is empty or NULL, WSAENOTSOCK, WSAEFAULT).
 */
int WSAAPI WSPShimSelect(int nfds, fd_set *readfds, fd_set *writefds,
    fd_set *exceptfds, const struct timeval *timeout);
#define select(n, r, w, x, t)	WSPShimSelect(n, r, w, x, t)
#endif /* WSPSHIM_NO_WINSOCK_SELECT */

/* Byte order of the socket's provider (always big-endian for IP):
 * 0 or SOCKET_ERROR (WSAENOTSOCK, WSAEFAULT). */
int WSAAPI WSAHtonl(SOCKET s, u_long hostlong, u_long *lpnetlong);
int WSAAPI WSAHtons(SOCKET s, u_short hostshort, u_short *lpnetshort);
int WSAAPI WSANtohl(SOCKET s, u_long netlong, u_long *lphostlong);
int WSAAPI WSANtohs(SOCKET s, u_short netshort, u_short *lphostshort);
/* --- end of more of the application API --- */

/*
 * --- Event objects and alertable waits (docs/overlapped.md) ---------------
 *
 * A WSAEVENT is a manual-reset event backed by a kernel eventfd: set, it
 * stays set (and its descriptor polls readable) until WSAResetEvent.
 * WSAEventDescriptor gives that descriptor, for poll() or epoll; it belongs
 * to the event (never close it).  A closed event's handle is refused with
 * WSA_INVALID_HANDLE, never taken for another object.
 */
#define WSA_MAXIMUM_WAIT_EVENTS	64
#define WSA_INFINITE		((DWORD)0xFFFFFFFF)
#define WSA_WAIT_EVENT_0	((DWORD)0)
#define WSA_WAIT_IO_COMPLETION	((DWORD)0xC0)
#define WSA_WAIT_TIMEOUT	((DWORD)258)
#define WSA_WAIT_FAILED		((DWORD)0xFFFFFFFF)

/* A new, reset event; WSA_INVALID_EVENT with WSANOTINITIALISED or
 * WSA_NOT_ENOUGH_MEMORY (no descriptor or memory left). */
WSAEVENT WSAAPI WSACreateEvent(void);

/* Each: TRUE, or FALSE with WSANOTINITIALISED or WSA_INVALID_HANDLE. */
BOOL WSAAPI WSACloseEvent(WSAEVENT hEvent);
BOOL WSAAPI WSASetEvent(WSAEVENT hEvent);
BOOL WSAAPI WSAResetEvent(WSAEVENT hEvent);

/*
 * Wait until one (fWaitAll FALSE) or all (TRUE) of cEvents events are set,
 * or dwTimeout milliseconds pass (WSA_INFINITE: no limit).  Returns
 * WSA_WAIT_EVENT_0 + i (wait-any: the lowest index set; wait-all: 0),
 * WSA_WAIT_TIMEOUT, or, when fAlertable is TRUE and completion routines or
 * queued APCs of this thread ran, WSA_WAIT_IO_COMPLETION.  On failure
 * WSA_WAIT_FAILED, with WSANOTINITIALISED, WSA_INVALID_PARAMETER (cEvents
 * 0 or above WSA_MAXIMUM_WAIT_EVENTS, lphEvents NULL) or
 * WSA_INVALID_HANDLE (an entry is not a live event).  Signals do not end
 * the wait.
 */
DWORD WSAAPI WSAWaitForMultipleEvents(DWORD cEvents,
    const WSAEVENT *lphEvents, BOOL fWaitAll, DWORD dwTimeout,
    BOOL fAlertable);

/* libwspshim: the eventfd behind hEvent, or -1 (WSA_INVALID_HANDLE). */
int WSAAPI WSAEventDescriptor(WSAEVENT hEvent);

/*
 * kernel32's SleepEx: sleep dwMilliseconds (WSA_INFINITE: no limit); when
 * bAlertable, return early, after running them, as soon as completion
 * routines or APCs are queued to this thread.  Returns 0 when the time
 * passed, WSA_WAIT_IO_COMPLETION when routines ran.  Exported as
 * WSPShimSleepEx, so the preloaded library does not put a kernel32 name in
 * every process; define WSPSHIM_NO_SLEEPEX to keep the name SleepEx free.
 */
DWORD WSAAPI WSPShimSleepEx(DWORD dwMilliseconds, BOOL bAlertable);
#ifndef WSPSHIM_NO_SLEEPEX
#define SleepEx	WSPShimSleepEx
#endif

/* --- end of event objects ---------------------------------------------- */

/*
 * --- Overlapped I/O (docs/overlapped.md) ----------------------------------
 *
 * On a socket made with WSA_FLAG_OVERLAPPED, a call with lpOverlapped not
 * NULL is a request: it returns 0 when it completed at once (the count in
 * *lpNumberOfBytes..., hEvent set, the routine queued), else SOCKET_ERROR
 * with WSA_IO_PENDING, and completes later.  Completion stores the status
 * (0 or a WSA code) in Internal and the count in InternalHigh, sets hEvent
 * (if not NULL; it is reset when the request is made) and queues
 * lpCompletionRoutine (if not NULL) to the calling thread, which runs it
 * in an alertable wait.  Requests on one socket complete in posting order
 * in each direction; closesocket completes what is pending with
 * WSA_OPERATION_ABORTED.  Without WSA_FLAG_OVERLAPPED, lpOverlapped and
 * lpCompletionRoutine are ignored and the call is synchronous.  The
 * buffers, lpOverlapped and (WSARecvFrom) lpFrom and lpFromlen must stay
 * valid until completion.  Errors besides the synchronous calls' own:
 * WSANOTINITIALISED, WSAENOTSOCK, WSAEFAULT (a NULL buffer array or
 * lpFlags), WSAEINVAL (more than IOV_MAX buffers), WSA_INVALID_HANDLE
 * (hEvent is not an event), WSAENOBUFS.
 */
int WSAAPI WSASend(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
    LPDWORD lpNumberOfBytesSent, DWORD dwFlags, LPWSAOVERLAPPED lpOverlapped,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine);
int WSAAPI WSASendTo(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
    LPDWORD lpNumberOfBytesSent, DWORD dwFlags, const struct sockaddr *lpTo,
    int iTolen, LPWSAOVERLAPPED lpOverlapped,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine);
int WSAAPI WSARecv(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
    LPDWORD lpNumberOfBytesRecvd, LPDWORD lpFlags,
    LPWSAOVERLAPPED lpOverlapped,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine);
int WSAAPI WSARecvFrom(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
    LPDWORD lpNumberOfBytesRecvd, LPDWORD lpFlags, struct sockaddr *lpFrom,
    LPINT lpFromlen, LPWSAOVERLAPPED lpOverlapped,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine);

/*
 * The result of a request on s: TRUE with the count in *lpcbTransfer and
 * the receive flags in *lpdwFlags; FALSE with WSA_IO_INCOMPLETE (still
 * pending and fWait FALSE), the request's own error (WSA_OPERATION_ABORTED
 * and others, with the count so far), WSAEFAULT (a NULL pointer),
 * WSA_INVALID_HANDLE (fWait TRUE and hEvent not an event), WSAENOTSOCK or
 * WSANOTINITIALISED.  fWait TRUE waits until the request completes.
 */
BOOL WSAAPI WSAGetOverlappedResult(SOCKET s, LPWSAOVERLAPPED lpOverlapped,
    LPDWORD lpcbTransfer, BOOL fWait, LPDWORD lpdwFlags);

/* Whether request lpOverlapped has completed (Windows' macro). */
#define HasOverlappedIoCompleted(lpOverlapped) \
	(__atomic_load_n(&(lpOverlapped)->Internal, __ATOMIC_ACQUIRE) != \
	    WSA_IO_PENDING)

/* --- end of overlapped I/O --------------------------------------------- */

/*
 * --- Network events (docs/overlapped.md) -----------------------------------
 *
 * WSAEventSelect(s, hEvent, lNetworkEvents) records the FD_* events asked
 * for as they happen on s and sets hEvent at each; it makes s non-blocking
 * (and ioctlsocket(FIONBIO) cannot make it blocking while events are
 * selected).  A new WSAEventSelect replaces the last and clears what was
 * recorded; lNetworkEvents 0 ends the association.  WSAEnumNetworkEvents
 * hands over and clears the record (with each event's error code in
 * iErrorCode[FD_*_BIT]) and resets hEventObject if it is not NULL.
 *
 * Each event is recorded once, then again only after its re-enabling call,
 * as Winsock's: FD_READ after a receive (recv, recvfrom, recvmsg, WSARecv,
 * WSARecvFrom, WSARecvMsg), FD_OOB after a receive with MSG_OOB, FD_ACCEPT
 * after accept (accept4, WSAAccept, AcceptEx), FD_WRITE when a send that
 * failed with WSAEWOULDBLOCK can go on (and once when the socket connects
 * or is accepted), FD_CONNECT after a connect (its error code: 0 or why it
 * failed), FD_CLOSE once (0 for a graceful close, WSAECONNRESET for a
 * reset).  A condition true when the call is made is recorded at once.
 * FD_QOS, FD_GROUP_QOS, FD_ROUTING_INTERFACE_CHANGE and
 * FD_ADDRESS_LIST_CHANGE are accepted and never recorded.  WSAAsyncSelect
 * is not provided: there are no window messages.
 */
#define FD_READ_BIT			0
#define FD_READ				(1 << FD_READ_BIT)
#define FD_WRITE_BIT			1
#define FD_WRITE			(1 << FD_WRITE_BIT)
#define FD_OOB_BIT			2
#define FD_OOB				(1 << FD_OOB_BIT)
#define FD_ACCEPT_BIT			3
#define FD_ACCEPT			(1 << FD_ACCEPT_BIT)
#define FD_CONNECT_BIT			4
#define FD_CONNECT			(1 << FD_CONNECT_BIT)
#define FD_CLOSE_BIT			5
#define FD_CLOSE			(1 << FD_CLOSE_BIT)
#define FD_QOS_BIT			6
#define FD_QOS				(1 << FD_QOS_BIT)
#define FD_GROUP_QOS_BIT		7
#define FD_GROUP_QOS			(1 << FD_GROUP_QOS_BIT)
#define FD_ROUTING_INTERFACE_CHANGE_BIT	8
#define FD_ROUTING_INTERFACE_CHANGE	(1 << FD_ROUTING_INTERFACE_CHANGE_BIT)
#define FD_ADDRESS_LIST_CHANGE_BIT	9
#define FD_ADDRESS_LIST_CHANGE		(1 << FD_ADDRESS_LIST_CHANGE_BIT)
#define FD_ALL_EVENTS			((1 << FD_MAX_EVENTS) - 1)

/* 0, or SOCKET_ERROR with WSANOTINITIALISED, WSAENOTSOCK, WSAEINVAL (a bit
 * outside FD_ALL_EVENTS, or hEventObject is not an event while
 * lNetworkEvents is not 0) or WSAENOBUFS. */
int WSAAPI WSAEventSelect(SOCKET s, WSAEVENT hEventObject,
    long lNetworkEvents);

/* 0, or SOCKET_ERROR with WSANOTINITIALISED, WSAENOTSOCK, WSAEFAULT
 * (lpNetworkEvents NULL) or WSAEINVAL (hEventObject is neither NULL nor
 * an event). */
int WSAAPI WSAEnumNetworkEvents(SOCKET s, WSAEVENT hEventObject,
    LPWSANETWORKEVENTS lpNetworkEvents);

/*
 * WSAPoll: poll(2) on SOCKETs, with Winsock's rules.  events may hold
 * POLLRDNORM, POLLRDBAND, POLLIN, POLLPRI, POLLWRNORM, POLLWRBAND and
 * POLLOUT (Linux's values, from <poll.h>); revents gets those that are
 * ready and POLLERR, POLLHUP, POLLNVAL (fd is not a socket).  An entry
 * whose fd is INVALID_SOCKET (or any value above INT_MAX) is ignored and
 * its revents cleared.  timeout is in milliseconds, negative for no
 * limit; signals do not end the wait.  Returns the number of entries
 * with revents, 0 on time-out, or SOCKET_ERROR with WSANOTINITIALISED,
 * WSAEFAULT (fdArray NULL), WSAEINVAL (fds 0, an events bit outside
 * those above, or no entry is a socket) or WSAENOBUFS.
 */
typedef struct pollfd_ws {
	SOCKET	fd;
	SHORT	events;
	SHORT	revents;
} WSAPOLLFD, *PWSAPOLLFD, *LPWSAPOLLFD;

int WSAAPI WSAPoll(LPWSAPOLLFD fdArray, ULONG fds, INT timeout);

/* --- end of network events ---------------------------------------------- */

#ifdef UNICODE
#define WSASocket		WSASocketW
#define WSAEnumProtocols	WSAEnumProtocolsW
#define WSADuplicateSocket	WSADuplicateSocketW
#define WSAAddressToString	WSAAddressToStringW
#define WSAStringToAddress	WSAStringToAddressW
#define WSAPROTOCOL_INFO	WSAPROTOCOL_INFOW
#define LPWSAPROTOCOL_INFO	LPWSAPROTOCOL_INFOW
#define SO_PROTOCOL_INFO	SO_PROTOCOL_INFOW
#else
#define WSASocket		WSASocketA
#define WSAEnumProtocols	WSAEnumProtocolsA
#define WSADuplicateSocket	WSADuplicateSocketA
#define WSAAddressToString	WSAAddressToStringA
#define WSAStringToAddress	WSAStringToAddressA
#define WSAPROTOCOL_INFO	WSAPROTOCOL_INFOA
#define LPWSAPROTOCOL_INFO	LPWSAPROTOCOL_INFOA
#define SO_PROTOCOL_INFO	SO_PROTOCOL_INFOA
#endif

#ifdef __cplusplus
}
#endif

#endif /* WSPSHIM_WINSOCK2_H */
