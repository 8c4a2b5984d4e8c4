/*
 * handle.h - the socket handle table behind the WPU upcalls.
 *
 * A layer that is not IFS gets a virtual SOCKET from WPUCreateSocketHandle,
 * bound to its context.  Handles are process-unique: the value carries a
 * slot index and the slot's generation, so a query is one array lookup and a
 * handle used after WPUCloseSocketHandle gives WSAENOTSOCK instead of
 * another socket's context.  Handle values are multiples of 4 and never
 * below HANDLE_MIN, so they are never mistaken for kernel descriptors.
 * Lock-free: slots come from a flat pool (see pool.h) and, once closed, go
 * on the table's own free list.  WSPShimCreateSocketHandleEx (ws2spi.h)
 * also gives a handle the memory of its context, which its slot keeps for
 * its next handle.
 */
#ifndef WSPSHIM_HANDLE_H
#define WSPSHIM_HANDLE_H

#include <wspshim/ws2spi.h>

#define HANDLE_MIN	((SOCKET)1 << 32)

/* WPUCreateSocketHandle: a new handle for (catalog id, context), or
 * INVALID_SOCKET with WSAENOBUFS. */
SOCKET WSPAPI handle_create(DWORD dwCatalogEntryId, DWORD_PTR dwContext,
    LPINT lpErrno);

/* WPUQuerySocketHandleContext: 0 and the context, or SOCKET_ERROR with
 * WSAENOTSOCK (stale or foreign handle) or WSAEFAULT (lpContext NULL). */
int WSPAPI handle_query(SOCKET s, PDWORD_PTR lpContext, LPINT lpErrno);

/* WPUCloseSocketHandle: 0, or SOCKET_ERROR with WSAENOTSOCK. */
int WSPAPI handle_close(SOCKET s, LPINT lpErrno);

/* WPUModifyIFSHandle: an IFS provider's own handle, returned unchanged
 * (the core learns the kernel descriptor through SIO_BASE_HANDLE);
 * INVALID_SOCKET with WSAEINVAL for INVALID_SOCKET.  The catalog id is not
 * consulted. */
SOCKET WSPAPI handle_modify_ifs(DWORD dwCatalogEntryId,
    SOCKET ProposedHandle, LPINT lpErrno);

/* The catalog entry id a live handle was created with, or 0. */
DWORD handle_catalog_id(SOCKET s);

/* Fast query for internal callers: 1 with the context in *ctx (ctx may be
 * NULL), or 0 for a stale or foreign handle (*ctx untouched). */
int handle_lookup(SOCKET s, DWORD_PTR *ctx);

#endif
