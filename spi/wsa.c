/*
 * wsa.c - the Winsock application API (winsock2.h) and the catalog read
 * calls (ws2spi.h).
 *
 * Each call reports through the thread's last error (WSAGetLastError), set
 * to 0 on success where Winsock does so.  Sockets are the kernel
 * descriptors of the core's chain sockets; a descriptor that the core does
 * not manage yet (made by a plain socket()) is taken in on demand.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base.h"
#include "catalog.h"
#include "core.h"
#include "errmap.h"
#include "event.h"
#include "export.h"
#include "libc.h"
#include "share.h"
#include "tls.h"
#include "wsa.h"
#include "wstr.h"

#define WSA_LOW_VERSION		MAKEWORD(1, 0)
#define WSA_HIGH_VERSION	MAKEWORD(2, 2)
#define WSA_INIT_WAIT_MS	5000	/* for another thread's core_init() */

static int wsa_starts;

/* Fail with code: set the last error, return SOCKET_ERROR. */
int
wsa_fail(int code)
{
	wsp_tls.last_error = code;
	return SOCKET_ERROR;
}

/* Whether WSAStartup is in force; sets WSANOTINITIALISED when not. */
int
wsa_started(void)
{
	if (__atomic_load_n(&wsa_starts, __ATOMIC_ACQUIRE) > 0)
		return 1;
	wsp_tls.last_error = WSANOTINITIALISED;
	return 0;
}

/* A version word as a comparable number (major * 256 + minor). */
static unsigned
wsa_version_key(WORD v)
{
	return (unsigned)LOBYTE(v) << 8 | HIBYTE(v);
}

/*
 * core_init(), waiting while another thread runs it (the first WSAStartup
 * of a process may come from several threads at once).  0 when ready, -1
 * when this thread is inside it or it does not finish within
 * WSA_INIT_WAIT_MS.
 */
static int
wsa_core_init(void)
{
	struct timespec ms = { 0, 1000000 };
	int i;

	for (i = 0; core_init() != 0; i++) {
		if (wsp_tls.depth > 0 || i >= WSA_INIT_WAIT_MS)
			return -1;
		nanosleep(&ms, NULL);
	}
	return 0;
}

WSPSHIM_EXPORT int WSAAPI
WSAStartup(WORD wVersionRequested, LPWSADATA lpWSAData)
{
	WORD v = wVersionRequested;

	if (LOBYTE(v) == 0)
		return WSAVERNOTSUPPORTED;
	if (lpWSAData == NULL)
		return WSAEFAULT;
	if (wsa_core_init() != 0)
		return WSASYSNOTREADY;
	/* Catalog changes of other processes count from here on, as
	 * Windows processes see them when they look again. */
	if (wsp_tls.depth == 0)
		core_catalog_refresh(0);
	if (wsa_version_key(v) > wsa_version_key(WSA_HIGH_VERSION))
		v = WSA_HIGH_VERSION;
	memset(lpWSAData, 0, sizeof(*lpWSAData));
	lpWSAData->wVersion = v;
	lpWSAData->wHighVersion = WSA_HIGH_VERSION;
	strlcpy(lpWSAData->szDescription, "libwspshim Winsock 2.2 SPI",
	    sizeof(lpWSAData->szDescription));
	strlcpy(lpWSAData->szSystemStatus, "Running",
	    sizeof(lpWSAData->szSystemStatus));
	__atomic_fetch_add(&wsa_starts, 1, __ATOMIC_ACQ_REL);
	return 0;
}

WSPSHIM_EXPORT int WSAAPI
WSACleanup(void)
{
	int n = __atomic_load_n(&wsa_starts, __ATOMIC_ACQUIRE);

	do {
		if (n <= 0)
			return wsa_fail(WSANOTINITIALISED);
	} while (!__atomic_compare_exchange_n(&wsa_starts, &n, n - 1, 0,
	    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
	if (n == 1) {
		core_close_api_sockets();
		base_defer_sweep();
		chain_cleanup_idle();
	}
	return 0;
}

WSPSHIM_EXPORT int WSAAPI
WSAGetLastError(void)
{
	return wsp_tls.last_error;
}

WSPSHIM_EXPORT void WSAAPI
WSASetLastError(int iError)
{
	wsp_tls.last_error = iError;
}

/* Move SOCK_NONBLOCK/SOCK_CLOEXEC out of *type into dwFlags bits. */
DWORD
wsa_type_flags(int *type)
{
	DWORD flags = 0;

	if (*type == FROM_PROTOCOL_INFO)
		return 0;
	if (*type & SOCK_NONBLOCK)
		flags |= WSA_FLAG_WSPSHIM_NONBLOCK;
	if (*type & SOCK_CLOEXEC)
		flags |= WSA_FLAG_NO_HANDLE_INHERIT;
	*type &= ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	return flags;
}

WSPSHIM_EXPORT SOCKET WSAAPI
WSASocketW(int af, int type, int protocol, LPWSAPROTOCOL_INFOW lpProtocolInfo,
    GROUP g, DWORD dwFlags)
{
	const struct catalog_entry *e;
	int err, fd, shared = 0;

	if (!wsa_started())
		return INVALID_SOCKET;
	if (lpProtocolInfo != NULL && base_is_token(lpProtocolInfo)) {
		shared = 1;
		/* The shared-socket path: g and dwFlags are ignored. */
		af = type = protocol = FROM_PROTOCOL_INFO;
		g = 0;
		dwFlags = 0;
	}
	wsp_tls.call = "WSASocketW";
	dwFlags |= wsa_type_flags(&type);
	err = catalog_route(catalog_current(), &af, &type, &protocol,
	    lpProtocolInfo, &e);
	if (err != 0) {
		wsp_tls.last_error = err;
		return INVALID_SOCKET;
	}
	fd = core_socket(e, af, type, protocol, lpProtocolInfo, g, dwFlags,
	    WSOCK_API, &err);
	if (shared)
		share_forget();	/* the layers have read what it carried */
	if (fd < 0) {
		wsp_tls.last_error = err;
		return INVALID_SOCKET;
	}
	wsp_tls.last_error = 0;
	return (SOCKET)fd;
}

WSPSHIM_EXPORT SOCKET WSAAPI
WSASocketA(int af, int type, int protocol, LPWSAPROTOCOL_INFOA lpProtocolInfo,
    GROUP g, DWORD dwFlags)
{
	WSAPROTOCOL_INFOW w;

	if (lpProtocolInfo == NULL)
		return WSASocketW(af, type, protocol, NULL, g, dwFlags);
	catalog_info_to_w(lpProtocolInfo, &w);
	return WSASocketW(af, type, protocol, &w, g, dwFlags);
}

/* The descriptor of SOCKET s as an int, or -1. */
int
wsa_fd(SOCKET s)
{
	return s <= (SOCKET)0x7fffffff ? (int)s : -1;
}

/* The chain socket of s, taking a plain socket in when needed; NULL with
 * the last error WSAENOTSOCK when s is no socket. */
struct wsock *
wsa_sock(SOCKET s)
{
	struct wsock *ws;
	int fd = wsa_fd(s);

	if (fd < 0 || !fdtab_fits(fd)) {
		wsp_tls.last_error = WSAENOTSOCK;
		return NULL;
	}
	ws = core_manage(fd, 1);
	if (ws == NULL)
		wsp_tls.last_error = WSAENOTSOCK;
	return ws;
}

/* The chain socket of s with a call named name entered (see wsa.h), or
 * NULL with the last error. */
struct wsock *
wsa_enter(SOCKET s, const char *name)
{
	struct wsock *ws;
	SOCKET b;

	if (!wsa_started() || (ws = wsa_sock(s)) == NULL)
		return NULL;
	if (!core_hold(ws, wsa_fd(s), &b)) {
		wsa_fail(WSAENOTSOCK);	/* closed meanwhile */
		return NULL;
	}
	wsp_tls.call = name;
	wsp_tls.depth++;
	return ws;
}

/* Nothing: the call wsa_enter() began on s is over. */
void
wsa_leave(SOCKET s)
{
	wsp_tls.depth--;
	core_unhold(wsa_fd(s));
}

WSPSHIM_EXPORT int WSAAPI
closesocket(SOCKET s)
{
	struct wsock *ws;
	int fd = wsa_fd(s), err, type, rc;
	socklen_t len = sizeof(type);

	if (!wsa_started())
		return SOCKET_ERROR;
	ws = fd >= 0 ? fdtab_get(fd) : NULL;
	if (!fdtab_is_sock(ws)) {
		/* A socket the core does not manage: close it if it is one. */
		if (fd < 0 || libc.getsockopt(fd, SOL_SOCKET, SO_TYPE, &type,
		    &len) != 0)
			return wsa_fail(WSAENOTSOCK);
	}
	wsp_tls.call = "closesocket";
	rc = core_close(fd, &err);
	base_defer_sweep();	/* a listener's deferred connections */
	if (rc != 0)	/* closed already: not a socket */
		return wsa_fail(err == WSAEBADF ? WSAENOTSOCK : err);
	return 0;
}

WSPSHIM_EXPORT int WSAAPI
WSAEnumProtocolsW(LPINT lpiProtocols, LPWSAPROTOCOL_INFOW lpProtocolBuffer,
    LPDWORD lpdwBufferLength)
{
	int n, err;

	if (!wsa_started())
		return SOCKET_ERROR;
	n = catalog_enum(catalog_current(), lpiProtocols, 0, lpProtocolBuffer,
	    lpdwBufferLength, &err);
	if (n == SOCKET_ERROR)
		return wsa_fail(err);
	return n;
}

WSPSHIM_EXPORT int WSAAPI
WSAEnumProtocolsA(LPINT lpiProtocols, LPWSAPROTOCOL_INFOA lpProtocolBuffer,
    LPDWORD lpdwBufferLength)
{
	const struct catalog *c;
	WSAPROTOCOL_INFOW *w;
	DWORD wlen = 0, need;
	int n, i, err;

	if (!wsa_started())
		return SOCKET_ERROR;
	if (lpdwBufferLength == NULL)
		return wsa_fail(WSAEFAULT);
	/* Size the W answer, then convert it into the caller's buffer; both
	 * steps read one catalog, even if another is published meanwhile. */
	c = catalog_current();
	n = catalog_enum(c, lpiProtocols, 0, NULL, &wlen, &err);
	if (n == SOCKET_ERROR && err != WSAENOBUFS)
		return wsa_fail(err);
	n = (int)(wlen / sizeof(WSAPROTOCOL_INFOW));
	need = (DWORD)n * sizeof(WSAPROTOCOL_INFOA);
	if (n == 0) {
		*lpdwBufferLength = 0;
		return 0;
	}
	if (*lpdwBufferLength < need) {
		*lpdwBufferLength = need;
		return wsa_fail(WSAENOBUFS);
	}
	if (lpProtocolBuffer == NULL)
		return wsa_fail(WSAEFAULT);
	if ((w = calloc((size_t)n, sizeof(*w))) == NULL)
		return wsa_fail(WSAENOBUFS);
	n = catalog_enum(c, lpiProtocols, 0, w, &wlen, &err);
	if (n == SOCKET_ERROR) {
		free(w);
		return wsa_fail(err);
	}
	for (i = 0; i < n; i++)
		catalog_info_to_a(&w[i], &lpProtocolBuffer[i]);
	free(w);
	*lpdwBufferLength = need;
	return n;
}

WSPSHIM_EXPORT int WSAAPI
WSADuplicateSocketW(SOCKET s, DWORD dwProcessId,
    LPWSAPROTOCOL_INFOW lpProtocolInfo)
{
	struct wsock *ws;
	int err, rc;

	if ((ws = wsa_enter(s, "WSADuplicateSocketW")) == NULL)
		return SOCKET_ERROR;
	share_forget();	/* no attachment from a call that failed earlier */
	rc = ws->procs->lpWSPDuplicateSocket(ws->handle, dwProcessId,
	    lpProtocolInfo, &err);
	share_forget();
	wsa_leave(s);
	if (rc != 0)
		return wsa_fail(err);
	return 0;
}

WSPSHIM_EXPORT int WSAAPI
WSADuplicateSocketA(SOCKET s, DWORD dwProcessId,
    LPWSAPROTOCOL_INFOA lpProtocolInfo)
{
	WSAPROTOCOL_INFOW w;

	/* With no struct the W form reports, in its own order: not a
	 * socket, a bad process id, then WSAEFAULT. */
	if (lpProtocolInfo == NULL)
		return WSADuplicateSocketW(s, dwProcessId, NULL);
	if (WSADuplicateSocketW(s, dwProcessId, &w) != 0)
		return SOCKET_ERROR;
	catalog_info_to_a(&w, lpProtocolInfo);
	return 0;
}

/* The chain that answers address strings for family af (or for the
 * entry info names).  NULL with the last error set. */
static struct chain *
wsa_addr_chain(int af, const WSAPROTOCOL_INFOW *info,
    WSAPROTOCOL_INFOW *pass)
{
	const struct catalog *c = catalog_current();
	const struct catalog_entry *e = NULL;
	struct chain *ch;
	size_t i;
	int err;

	if (info != NULL) {
		e = catalog_by_id(c, info->dwCatalogEntryId);
	} else {
		for (i = 0; i < c->count && e == NULL; i++)
			if (c->entries[i].info.ProtocolChain.ChainLen > 0 &&
			    c->entries[i].info.iAddressFamily == af)
				e = &c->entries[i];
	}
	if (e == NULL || e->info.ProtocolChain.ChainLen == 0) {
		wsp_tls.last_error = WSAEINVAL;
		return NULL;
	}
	if ((ch = chain_get(e, &err)) == NULL) {
		wsp_tls.last_error = err;
		return NULL;
	}
	*pass = e->info;
	return ch;
}

WSPSHIM_EXPORT INT WSAAPI
WSAAddressToStringW(LPSOCKADDR lpsaAddress, DWORD dwAddressLength,
    LPWSAPROTOCOL_INFOW lpProtocolInfo, LPWSTR lpszAddressString,
    LPDWORD lpdwAddressStringLength)
{
	WSAPROTOCOL_INFOW pass;
	struct chain *ch;
	int err, rc;

	if (!wsa_started())
		return SOCKET_ERROR;
	if (lpsaAddress == NULL || lpdwAddressStringLength == NULL)
		return wsa_fail(WSAEFAULT);
	if (dwAddressLength < sizeof(sa_family_t))
		return wsa_fail(WSAEINVAL);
	ch = wsa_addr_chain(lpsaAddress->sa_family, lpProtocolInfo, &pass);
	if (ch == NULL)
		return SOCKET_ERROR;
	wsp_tls.depth++;
	rc = ch->procs->lpWSPAddressToString(lpsaAddress, dwAddressLength,
	    &pass, lpszAddressString, lpdwAddressStringLength, &err);
	wsp_tls.depth--;
	if (rc != 0)
		return wsa_fail(err);
	return 0;
}

WSPSHIM_EXPORT INT WSAAPI
WSAAddressToStringA(LPSOCKADDR lpsaAddress, DWORD dwAddressLength,
    LPWSAPROTOCOL_INFOA lpProtocolInfo, LPSTR lpszAddressString,
    LPDWORD lpdwAddressStringLength)
{
	WSAPROTOCOL_INFOW wi, *pwi = NULL;
	WCHAR w[512];
	DWORD wlen = sizeof(w) / sizeof(w[0]);
	size_t need;

	if (lpdwAddressStringLength == NULL) {
		if (!wsa_started())
			return SOCKET_ERROR;
		return wsa_fail(WSAEFAULT);
	}
	if (lpProtocolInfo != NULL) {
		catalog_info_to_w(lpProtocolInfo, &wi);
		pwi = &wi;
	}
	if (WSAAddressToStringW(lpsaAddress, dwAddressLength, pwi, w, &wlen)
	    != 0)
		return SOCKET_ERROR;
	need = wstr_to_utf8(NULL, 0, w) + 1;
	if (lpszAddressString == NULL || *lpdwAddressStringLength < need) {
		*lpdwAddressStringLength = (DWORD)need;
		return wsa_fail(WSAEFAULT);
	}
	wstr_to_utf8(lpszAddressString, need, w);
	*lpdwAddressStringLength = (DWORD)need;
	return 0;
}

WSPSHIM_EXPORT INT WSAAPI
WSAStringToAddressW(LPWSTR AddressString, INT AddressFamily,
    LPWSAPROTOCOL_INFOW lpProtocolInfo, LPSOCKADDR lpAddress,
    LPINT lpAddressLength)
{
	WSAPROTOCOL_INFOW pass;
	struct chain *ch;
	int err, rc;

	if (!wsa_started())
		return SOCKET_ERROR;
	if (AddressString == NULL || lpAddressLength == NULL)
		return wsa_fail(WSAEFAULT);
	ch = wsa_addr_chain(AddressFamily, lpProtocolInfo, &pass);
	if (ch == NULL)
		return SOCKET_ERROR;
	wsp_tls.depth++;
	rc = ch->procs->lpWSPStringToAddress(AddressString, AddressFamily,
	    &pass, lpAddress, lpAddressLength, &err);
	wsp_tls.depth--;
	if (rc != 0)
		return wsa_fail(err);
	return 0;
}

WSPSHIM_EXPORT INT WSAAPI
WSAStringToAddressA(LPSTR AddressString, INT AddressFamily,
    LPWSAPROTOCOL_INFOA lpProtocolInfo, LPSOCKADDR lpAddress,
    LPINT lpAddressLength)
{
	WSAPROTOCOL_INFOW wi, *pwi = NULL;
	WCHAR w[512];

	if (AddressString == NULL) {
		if (!wsa_started())
			return SOCKET_ERROR;
		return wsa_fail(WSAEFAULT);
	}
	if (wstr_from_utf8(w, sizeof(w) / sizeof(w[0]), AddressString) >=
	    sizeof(w) / sizeof(w[0])) {
		if (!wsa_started())
			return SOCKET_ERROR;
		return wsa_fail(WSAEINVAL);
	}
	if (lpProtocolInfo != NULL) {
		catalog_info_to_w(lpProtocolInfo, &wi);
		pwi = &wi;
	}
	return WSAStringToAddressW(w, AddressFamily, pwi, lpAddress,
	    lpAddressLength);
}

WSPSHIM_EXPORT int WSAAPI
WSAIoctl(SOCKET s, DWORD dwIoControlCode, LPVOID lpvInBuffer,
    DWORD cbInBuffer, LPVOID lpvOutBuffer, DWORD cbOutBuffer,
    LPDWORD lpcbBytesReturned, LPWSAOVERLAPPED lpOverlapped,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine)
{
	struct wsock *ws;
	int err, rc;

	if ((ws = wsa_enter(s, "WSAIoctl")) == NULL)
		return SOCKET_ERROR;
	/* lpOverlapped and lpCompletionRoutine go down as they are: the
	 * provider decides what it can do with them. */
	rc = ws->procs->lpWSPIoctl(ws->handle, dwIoControlCode, lpvInBuffer,
	    cbInBuffer, lpvOutBuffer, cbOutBuffer, lpcbBytesReturned,
	    lpOverlapped, lpCompletionRoutine, apc_self_id(), &err);
	wsa_leave(s);
	if (rc != 0)
		return wsa_fail(err);
	/* The chain answered with a function of some provider, which takes
	 * that provider's handles; the program gets the core's own, which
	 * takes SOCKETs and goes down the chain on each call. */
	if (dwIoControlCode == SIO_GET_EXTENSION_FUNCTION_POINTER &&
	    (err = wsa_ext_pointer(lpvInBuffer, cbInBuffer, lpvOutBuffer,
	    cbOutBuffer)) != 0)
		return wsa_fail(err);
	wsp_tls.last_error = 0;
	return 0;
}

WSPSHIM_EXPORT int WSPAPI
WSCEnumProtocols(LPINT lpiProtocols, LPWSAPROTOCOL_INFOW lpProtocolBuffer,
    LPDWORD lpdwBufferLength, LPINT lpErrno)
{
	int dummy;

	if (lpErrno == NULL)
		lpErrno = &dummy;
	/* An installer sees the file as it is now (a layer enumerating in
	 * its WSPStartup sees the catalog its chain is starting from). */
	if (wsp_tls.depth == 0)
		core_catalog_refresh(0);
	return catalog_enum(catalog_current(), lpiProtocols, 1,
	    lpProtocolBuffer, lpdwBufferLength, lpErrno);
}

/* The one catalog is also the "32-bit" one (ws2spi.h). */
WSPSHIM_EXPORT int WSPAPI
WSCEnumProtocols32(LPINT lpiProtocols, LPWSAPROTOCOL_INFOW lpProtocolBuffer,
    LPDWORD lpdwBufferLength, LPINT lpErrno)
{
	return WSCEnumProtocols(lpiProtocols, lpProtocolBuffer,
	    lpdwBufferLength, lpErrno);
}

WSPSHIM_EXPORT int WSPAPI
WSCGetProviderPath(LPGUID lpProviderId, WCHAR *lpszProviderDllPath,
    LPINT lpProviderDllPathLen, LPINT lpErrno)
{
	const struct catalog *c = catalog_current();
	const char *path = NULL;
	size_t i, need;
	int dummy;

	if (lpErrno == NULL)
		lpErrno = &dummy;
	if (lpProviderId == NULL || lpProviderDllPathLen == NULL) {
		*lpErrno = WSAEFAULT;
		return SOCKET_ERROR;
	}
	for (i = 0; i < c->count && path == NULL; i++)
		if (memcmp(&c->entries[i].info.ProviderId, lpProviderId,
		    sizeof(GUID)) == 0)
			path = c->entries[i].path;
	if (path == NULL) {
		*lpErrno = WSAEINVAL;
		return SOCKET_ERROR;
	}
	need = wstr_from_utf8(NULL, 0, path) + 1;
	if (lpszProviderDllPath == NULL || *lpProviderDllPathLen < 0 ||
	    (size_t)*lpProviderDllPathLen < need) {
		*lpProviderDllPathLen = (int)need;
		*lpErrno = WSAEFAULT;
		return SOCKET_ERROR;
	}
	wstr_from_utf8(lpszProviderDllPath, need, path);
	*lpProviderDllPathLen = (int)need;
	return 0;
}

WSPSHIM_EXPORT const char *WSPAPI
WSPShimCallName(void)
{
	return wsp_tls.call;
}
