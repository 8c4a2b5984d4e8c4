/*
 * ws2tcpip.h - the TCP/IP names Windows keeps apart from winsock2.h: the
 * UTF-16 forms of the resolver calls (GetAddrInfoW, FreeAddrInfoW,
 * GetNameInfoW, InetPtonW, InetNtopW) and Windows' spellings of the
 * resolver's types.  getaddrinfo(), getnameinfo(), inet_pton() and
 * inet_ntop() are glibc's own, with Linux's EAI_* codes; the W forms return
 * Winsock's codes (WSAHOST_NOT_FOUND, ...), as Windows does.  Option
 * numbers (IP_MULTICAST_IF, IPV6_V6ONLY, IP_PKTINFO, ...) are Linux's.
 *
 * Self-contained; usable from C (C99 or later) and C++.
 */
#ifndef WSPSHIM_WS2TCPIP_H
#define WSPSHIM_WS2TCPIP_H

#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <wspshim/winsock2.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct addrinfo	ADDRINFOA, *PADDRINFOA, *LPADDRINFOA;

/* Windows' member order (ai_canonname before ai_addr). */
typedef struct addrinfoW {
	int			ai_flags;
	int			ai_family;
	int			ai_socktype;
	int			ai_protocol;
	size_t			ai_addrlen;
	PWSTR			ai_canonname;
	struct sockaddr		*ai_addr;
	struct addrinfoW	*ai_next;
} ADDRINFOW, *PADDRINFOW;

typedef struct ip_mreq		IP_MREQ, *PIP_MREQ;
typedef struct ipv6_mreq	IPV6_MREQ, *PIPV6_MREQ;
typedef struct in_pktinfo	IN_PKTINFO, *PIN_PKTINFO;
typedef struct in6_pktinfo	IN6_PKTINFO, *PIN6_PKTINFO;

#define INET_ADDRSTRLEN_W	INET_ADDRSTRLEN
#define InetPtonA		inet_pton
#define InetNtopA		inet_ntop

/*
 * getaddrinfo() with UTF-16 names: 0 and *ppResult (free it with
 * FreeAddrInfoW), or a Winsock code (also the last error):
 * WSAHOST_NOT_FOUND, WSATRY_AGAIN, WSANO_RECOVERY, WSAEAFNOSUPPORT,
 * WSATYPE_NOT_FOUND, WSAESOCKTNOSUPPORT, WSAEINVAL,
 * WSA_NOT_ENOUGH_MEMORY.
 */
INT WSAAPI GetAddrInfoW(PCWSTR pNodeName, PCWSTR pServiceName,
    const ADDRINFOW *pHints, PADDRINFOW *ppResult);
void WSAAPI FreeAddrInfoW(PADDRINFOW pAddrInfo);

/* getnameinfo() into UTF-16 buffers (sizes in WCHARs): 0 or a Winsock
 * code as GetAddrInfoW, WSAEFAULT for a buffer too small. */
INT WSAAPI GetNameInfoW(const SOCKADDR *pSockaddr, socklen_t SockaddrLength,
    PWCHAR pNodeBuffer, DWORD NodeBufferSize, PWCHAR pServiceBuffer,
    DWORD ServiceBufferSize, INT Flags);

/* inet_pton() of a UTF-16 string: 1, 0 for a string that is no address,
 * or -1 with WSAEAFNOSUPPORT (or WSAEFAULT for a NULL pointer). */
INT WSAAPI InetPtonW(INT Family, PCWSTR pszAddrString, PVOID pAddrBuf);

/* inet_ntop() into a UTF-16 buffer of StringBufSize WCHARs: the buffer, or
 * NULL with WSAEAFNOSUPPORT or WSA_INVALID_PARAMETER (NULL or short). */
PCWSTR WSAAPI InetNtopW(INT Family, const void *pAddr, PWSTR pStringBuf,
    size_t StringBufSize);

#ifdef UNICODE
#define GetAddrInfo	GetAddrInfoW
#define FreeAddrInfo	FreeAddrInfoW
#define GetNameInfo	GetNameInfoW
#define InetPton	InetPtonW
#define InetNtop	InetNtopW
#define ADDRINFOT	ADDRINFOW
#define PADDRINFOT	PADDRINFOW
#else
#define GetAddrInfo	getaddrinfo
#define FreeAddrInfo	freeaddrinfo
#define GetNameInfo	getnameinfo
#define InetPton	inet_pton
#define InetNtop	inet_ntop
#define ADDRINFOT	ADDRINFOA
#define PADDRINFOT	PADDRINFOA
#endif

#ifdef __cplusplus
}
#endif

#endif /* WSPSHIM_WS2TCPIP_H */
