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

/* Each function's index and the name the base and the core give their
 * own (base_NAME, wsa_NAME): one list for both tables. */
#define EXT_FUNCTIONS(X)						\
	X(EXT_ACCEPTEX, acceptex)					\
	X(EXT_GETACCEPTEXSOCKADDRS, getacceptexsockaddrs)		\
	X(EXT_CONNECTEX, connectex)					\
	X(EXT_DISCONNECTEX, disconnectex)				\
	X(EXT_TRANSMITFILE, transmitfile)				\
	X(EXT_TRANSMITPACKETS, transmitpackets)				\
	X(EXT_WSARECVMSG, wsarecvmsg)					\
	X(EXT_WSASENDMSG, wsasendmsg)

/* Any function pointer, as SIO_GET_EXTENSION_FUNCTION_POINTER hands one. */
typedef void (*ext_any)(void);

extern const GUID ext_guids[EXT_COUNT];

/* The index of the GUID at in (cbin bytes), or -1 (also for a NULL or
 * short buffer). */
int ext_index(const void *in, DWORD cbin);

/*
 * Each address AcceptEx stores after the received data starts with its
 * length (an INT) and holds the sockaddr at the next 8-byte aligned
 * address after it (ext_addr_at: at most 11 bytes in); Winsock asks for 16
 * bytes more than the address, so this always fits.
 */
#define EXT_ADDR_EXTRA	16

/* Where the sockaddr of the region starting at p lies. */
static inline char *
ext_addr_at(char *p)
{
	return (char *)(((uintptr_t)p + sizeof(INT) + 7) & ~(uintptr_t)7);
}

/* The sockaddr of AcceptEx output, for GetAcceptExSockaddrs. */
void ext_getacceptexsockaddrs(PVOID buf, DWORD rxlen, DWORD locallen,
    DWORD remotelen, struct sockaddr **local, LPINT locallenp,
    struct sockaddr **remote, LPINT remotelenp);

#endif
