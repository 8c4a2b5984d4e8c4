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
 * The body of an API call that is one SPI call down the chain of SOCKET s
 * (in scope), named name: spi_call is the member's call on ws, with
 * &err_ for its error.  Returns 0 with the last error 0, or SOCKET_ERROR
 * with the call's error as the last error.
 */
#define WSA_CHAIN_CALL(name, spi_call) do {				\
	struct wsock *ws;						\
	int err_, rc_;							\
									\
	if ((ws = wsa_enter(s, name)) == NULL)				\
		return SOCKET_ERROR;					\
	rc_ = ws->procs->spi_call;					\
	wsa_leave(s);							\
	if (rc_ != 0)							\
		return wsa_fail(err_);					\
	wsp_tls.last_error = 0;						\
	return 0;							\
} while (0)

/*
 * After the chain answered SIO_GET_EXTENSION_FUNCTION_POINTER: replace the
 * provider's function in out with the core's for the GUID in in.  0, or
 * WSAEINVAL for a GUID the core has no trampoline for (the program would
 * otherwise call a provider function with a SOCKET).
 */
int wsa_ext_pointer(const void *in, DWORD cbin, void *out, DWORD cbout);

#endif
