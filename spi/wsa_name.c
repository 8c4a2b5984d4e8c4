/*
 * wsa_name.c - the UTF-16 resolver calls of ws2tcpip.h: GetAddrInfoW,
 * FreeAddrInfoW, GetNameInfoW, InetPtonW, InetNtopW.  Each converts its
 * strings and calls glibc's own function; the EAI_* results become
 * Winsock's codes, as Windows returns them.  None needs WSAStartup on
 * Linux, but, as on Windows, each fails with WSANOTINITIALISED before it.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include <wspshim/ws2tcpip.h>

#include "export.h"
#include "tls.h"
#include "wsa.h"
#include "wstr.h"

#define NAME_MAX_UTF8	(NI_MAXHOST * 3)

/* Winsock's code for a getaddrinfo()/getnameinfo() result. */
static int
wsa_eai(int rc)
{
	switch (rc) {
	case 0:
		return 0;
	case EAI_AGAIN:
		return WSATRY_AGAIN;
	case EAI_BADFLAGS:
		return WSAEINVAL;
	case EAI_FAIL:
		return WSANO_RECOVERY;
	case EAI_FAMILY:
		return WSAEAFNOSUPPORT;
	case EAI_MEMORY:
		return WSA_NOT_ENOUGH_MEMORY;
	case EAI_SERVICE:
		return WSATYPE_NOT_FOUND;
	case EAI_SOCKTYPE:
		return WSAESOCKTNOSUPPORT;
	case EAI_OVERFLOW:
		return WSAEFAULT;
	case EAI_NONAME:
#ifdef EAI_NODATA
	case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
	case EAI_ADDRFAMILY:
#endif
		return WSAHOST_NOT_FOUND;
	default:
		return WSANO_RECOVERY;
	}
}

/* A new UTF-8 copy of w (NULL stays NULL); *err on failure. */
static char *
name_utf8(PCWSTR w, int *err)
{
	size_t n;
	char *s;

	if (w == NULL)
		return NULL;
	n = wstr_to_utf8(NULL, 0, w) + 1;
	if ((s = malloc(n)) == NULL) {
		*err = WSA_NOT_ENOUGH_MEMORY;
		return NULL;
	}
	wstr_to_utf8(s, n, w);
	return s;
}

/* A new UTF-16 copy of s; NULL when out of memory. */
static PWSTR
name_utf16(const char *s)
{
	size_t n = wstr_from_utf8(NULL, 0, s) + 1;
	PWSTR w = malloc(n * sizeof(WCHAR));

	if (w != NULL)
		wstr_from_utf8(w, n, s);
	return w;
}

WSPSHIM_EXPORT void WSAAPI
FreeAddrInfoW(PADDRINFOW pAddrInfo)
{
	PADDRINFOW next;

	for (; pAddrInfo != NULL; pAddrInfo = next) {
		next = pAddrInfo->ai_next;
		free(pAddrInfo->ai_canonname);
		free(pAddrInfo->ai_addr);
		free(pAddrInfo);
	}
}

/* The ADDRINFOW list of a getaddrinfo() answer, or NULL (out of memory). */
static PADDRINFOW
addrinfo_w(const struct addrinfo *a)
{
	PADDRINFOW head = NULL, *tail = &head, w;

	for (; a != NULL; a = a->ai_next) {
		if ((w = calloc(1, sizeof(*w))) == NULL)
			goto fail;
		*tail = w;
		tail = &w->ai_next;
		w->ai_flags = a->ai_flags;
		w->ai_family = a->ai_family;
		w->ai_socktype = a->ai_socktype;
		w->ai_protocol = a->ai_protocol;
		w->ai_addrlen = a->ai_addrlen;
		if (a->ai_addr != NULL) {
			if ((w->ai_addr = malloc(a->ai_addrlen)) == NULL)
				goto fail;
			memcpy(w->ai_addr, a->ai_addr, a->ai_addrlen);
		}
		if (a->ai_canonname != NULL &&
		    (w->ai_canonname = name_utf16(a->ai_canonname)) == NULL)
			goto fail;
	}
	return head;
fail:
	FreeAddrInfoW(head);
	return NULL;
}

WSPSHIM_EXPORT INT WSAAPI
GetAddrInfoW(PCWSTR pNodeName, PCWSTR pServiceName, const ADDRINFOW *pHints,
    PADDRINFOW *ppResult)
{
	struct addrinfo hints, *res = NULL, *hp = NULL;
	char *node, *serv = NULL;
	int err = 0, rc;

	if (!wsa_started())
		return WSANOTINITIALISED;
	if (ppResult == NULL) {
		wsp_tls.last_error = WSAEINVAL;
		return WSAEINVAL;
	}
	*ppResult = NULL;
	if (pNodeName == NULL && pServiceName == NULL) {
		wsp_tls.last_error = WSAHOST_NOT_FOUND;
		return WSAHOST_NOT_FOUND;
	}
	if (pHints != NULL) {
		memset(&hints, 0, sizeof(hints));
		hints.ai_flags = pHints->ai_flags;
		hints.ai_family = pHints->ai_family;
		hints.ai_socktype = pHints->ai_socktype;
		hints.ai_protocol = pHints->ai_protocol;
		hp = &hints;
	}
	node = name_utf8(pNodeName, &err);
	if (err == 0)
		serv = name_utf8(pServiceName, &err);
	if (err == 0) {
		rc = getaddrinfo(node, serv, hp, &res);
		err = wsa_eai(rc);
	}
	if (err == 0 && (*ppResult = addrinfo_w(res)) == NULL)
		err = WSA_NOT_ENOUGH_MEMORY;
	if (res != NULL)
		freeaddrinfo(res);
	free(node);
	free(serv);
	wsp_tls.last_error = err;
	return err;
}

WSPSHIM_EXPORT INT WSAAPI
GetNameInfoW(const SOCKADDR *pSockaddr, socklen_t SockaddrLength,
    PWCHAR pNodeBuffer, DWORD NodeBufferSize, PWCHAR pServiceBuffer,
    DWORD ServiceBufferSize, INT Flags)
{
	char host[NAME_MAX_UTF8], serv[NI_MAXSERV];
	int err, rc;

	if (!wsa_started())
		return WSANOTINITIALISED;
	if (pSockaddr == NULL) {
		wsp_tls.last_error = WSAEFAULT;
		return WSAEFAULT;
	}
	rc = getnameinfo(pSockaddr, SockaddrLength,
	    pNodeBuffer != NULL ? host : NULL,
	    pNodeBuffer != NULL ? sizeof(host) : 0,
	    pServiceBuffer != NULL ? serv : NULL,
	    pServiceBuffer != NULL ? sizeof(serv) : 0, Flags);
	err = wsa_eai(rc);
	if (err == 0 && pNodeBuffer != NULL &&
	    wstr_from_utf8(NULL, 0, host) >= NodeBufferSize)
		err = WSAEFAULT;
	if (err == 0 && pServiceBuffer != NULL &&
	    wstr_from_utf8(NULL, 0, serv) >= ServiceBufferSize)
		err = WSAEFAULT;
	if (err == 0 && pNodeBuffer != NULL)
		wstr_from_utf8(pNodeBuffer, NodeBufferSize, host);
	if (err == 0 && pServiceBuffer != NULL)
		wstr_from_utf8(pServiceBuffer, ServiceBufferSize, serv);
	wsp_tls.last_error = err;
	return err;
}

WSPSHIM_EXPORT INT WSAAPI
InetPtonW(INT Family, PCWSTR pszAddrString, PVOID pAddrBuf)
{
	char s[INET6_ADDRSTRLEN + 1];

	if (pszAddrString == NULL || pAddrBuf == NULL) {
		wsp_tls.last_error = WSAEFAULT;
		return -1;
	}
	if (Family != AF_INET && Family != AF_INET6) {
		wsp_tls.last_error = WSAEAFNOSUPPORT;
		return -1;
	}
	/* A string too long for any address is no address. */
	if (wstr_to_utf8(s, sizeof(s), pszAddrString) >= sizeof(s))
		return 0;
	return inet_pton(Family, s, pAddrBuf) == 1 ? 1 : 0;
}

WSPSHIM_EXPORT PCWSTR WSAAPI
InetNtopW(INT Family, const void *pAddr, PWSTR pStringBuf,
    size_t StringBufSize)
{
	char s[INET6_ADDRSTRLEN];

	if (Family != AF_INET && Family != AF_INET6) {
		wsp_tls.last_error = WSAEAFNOSUPPORT;
		return NULL;
	}
	if (pAddr == NULL || pStringBuf == NULL ||
	    inet_ntop(Family, pAddr, s, sizeof(s)) == NULL ||
	    wstr_from_utf8(NULL, 0, s) >= StringBufSize) {
		wsp_tls.last_error = WSA_INVALID_PARAMETER;
		return NULL;
	}
	wstr_from_utf8(pStringBuf, StringBufSize, s);
	return pStringBuf;
}
