/*
 * ext.h - the Winsock extension functions (mswsock.h) as the core and the
 * base know them: one index per GUID, and the layout AcceptEx writes for
 * GetAcceptExSockaddrs.
 */
#ifndef WSPSHIM_EXT_H
#define WSPSHIM_EXT_H

#include <wspshim/mswsock.h>

enum ext_fn {
	EXT_ACCEPTEX,
	EXT_GETACCEPTEXSOCKADDRS,
	EXT_CONNECTEX,
	EXT_DISCONNECTEX,
	EXT_TRANSMITFILE,
	EXT_TRANSMITPACKETS,
	EXT_WSARECVMSG,
	EXT_WSASENDMSG,
	EXT_COUNT
};

extern const GUID ext_guids[EXT_COUNT];

/* The index of the GUID at in (cbin bytes), or -1 (also for a NULL or
 * short buffer). */
int ext_index(const void *in, DWORD cbin);

/*
 * Each address AcceptEx stores after the received data starts with its
 * length (an INT) and holds the sockaddr EXT_ADDR_OFF bytes in; Winsock
 * asks for 16 bytes more than the address, so this always fits.
 */
#define EXT_ADDR_OFF	8
#define EXT_ADDR_EXTRA	16

/* The sockaddr of AcceptEx output, for GetAcceptExSockaddrs. */
void ext_getacceptexsockaddrs(PVOID buf, DWORD rxlen, DWORD locallen,
    DWORD remotelen, struct sockaddr **local, LPINT locallenp,
    struct sockaddr **remote, LPINT remotelenp);

#endif
