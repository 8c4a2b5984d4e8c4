/*
 * wsa.h - what the files of the application API share: the last error,
 * the start-up check and the socket lookup of wsa.c, and the extension
 * function trampolines of wsa_ext.c.
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
 * After the chain answered SIO_GET_EXTENSION_FUNCTION_POINTER: replace the
 * provider's function in out with the core's for the GUID in in.  0, or
 * WSAEINVAL for a GUID the core has no trampoline for (the program would
 * otherwise call a provider function with a SOCKET).
 */
int wsa_ext_pointer(const void *in, DWORD cbin, void *out, DWORD cbout);

#endif
