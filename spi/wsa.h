/*
 * wsa.h - what the files of the application API (wsa.c, wsa_io.c,
 * wsa_ext.c, wsa_name.c, wsaovl.c, event.c) share: the last error, the
 * start-up check, the socket lookup and the call bracket of wsa.c, and
 * the extension function trampolines of wsa_ext.c.
 */
#ifndef WSPSHIM_WSA_H
#define WSPSHIM_WSA_H

#include <wspshim/winsock2.h>
#include "core.h"

/* Set the last error to code; returns SOCKET_ERROR. */
int wsa_fail(int code);

/* Whether WSAStartup is in force; sets WSANOTINITIALISED when not. */
int wsa_started(void);

/* The descriptor of SOCKET s as an int, or -1. */
int wsa_fd(SOCKET s);

/* The chain socket of s, taking a plain socket in when needed; NULL with
 * the last error WSAENOTSOCK. */
struct wsock *wsa_sock(SOCKET s);

/*
 * The start of a call named name through the chain of SOCKET s: its
 * chain socket, held (core_hold) so that a close meanwhile waits for the
 * call to return, as the kernel keeps a file a call is in, and the depth
 * raised, so the providers' own calls go straight to libc.  NULL with the
 * last error set (WSANOTINITIALISED, WSAENOTSOCK: no socket, or closed
 * since it was looked up), nothing entered.  wsa_leave(s) ends it.  Not
 * for a call that waits for a close to end it (WSAGetOverlappedResult).
 */
struct wsock *wsa_enter(SOCKET s, const char *name);

/* Nothing: ends the call wsa_enter() began on s. */
void wsa_leave(SOCKET s);

/*
 * After the chain answered SIO_GET_EXTENSION_FUNCTION_POINTER: replace the
 * provider's function in out with the core's for the GUID in in.  0, or
 * WSAEINVAL for a GUID the core has no trampoline for (the program would
 * otherwise call a provider function with a SOCKET).
 */
int wsa_ext_pointer(const void *in, DWORD cbin, void *out, DWORD cbout);

#endif
