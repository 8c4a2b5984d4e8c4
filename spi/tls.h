/*
 * tls.h - the library's per-thread state.
 *
 * Initial-exec TLS: one load from the thread pointer, no allocation and no
 * lock, so it is usable from any hook and from signal handlers.
 */
#ifndef WSPSHIM_TLS_H
#define WSPSHIM_TLS_H

#include <stdint.h>

struct wsp_tls {
	int	last_error;	/* WSAGetLastError() */
	int	native_wsa;	/* the WSA code the base made last ... */
	int	native_errno;	/* ... and the errno it came from */
	int	depth;		/* > 0 inside the core or a provider */
	const char *call;	/* the entry point the program called */
	uintptr_t call_base;	/* during a shim call: the socket's base handle */
	int	call_fd;	/* ... and the descriptor the program used */
	unsigned made;		/* base sockets made on this thread (wraps) */
	uintptr_t made_base;	/* ... and the handle of the last one */
	/* While a provider's WSPStartup runs on this thread: the chain it
	 * is started for (the struct's id and ChainEntries) and the deepest
	 * position known to be starting, so that a layer loaded by the one
	 * above it finds itself below (WSPShimFindSelf). */
	struct wsp_start {
		uint32_t chain;
		int	len;
		uint32_t entries[7];
		int	above;
	} start;
};

extern __thread struct wsp_tls wsp_tls
    __attribute__((tls_model("initial-exec")));

#endif
