/*
 * wsaapi.h - what the application API's files (wsa.c, event.c, ovl.c)
 * share: the start-up check and the failure convention.
 */
#ifndef WSPSHIM_WSAAPI_H
#define WSPSHIM_WSAAPI_H

#include <wspshim/winsock2.h>

struct wsock;

/* Whether WSAStartup is in force: 1, or 0 with WSANOTINITIALISED as the
 * thread's last error. */
int wsa_started(void);

/* SOCKET_ERROR, with code as the thread's last error. */
int wsa_fail(int code);

/* The chain socket of s, taking a plain socket in when needed; NULL with
 * WSAENOTSOCK as the last error. */
struct wsock *wsa_sock(SOCKET s);

#endif
