/*
 * ovlwatch.h - for a layer that passes overlapped requests down as they
 * are but wants to know when each ends (trace prints it, stats counts
 * it), without taking the request over as a Winsock overlapped manager
 * does.
 *
 * The program learns that a pending request ended in one of two ways,
 * and the watch hears of it the same way: its completion routine (the
 * watch passes its own down, which reports and then calls the program's
 * with the same arguments, in the same thread and alertable wait), or
 * WSPGetOverlappedResult's answer (the layer tells the watch).  A request
 * the program waits for only by its event and never asks about is never
 * reported; its entry goes when its socket closes.
 *
 * What the layer keeps for a request (its data) is stored by the watch,
 * by WSAOVERLAPPED, and handed to its done function.  Thread-safe; a
 * fork child starts with no entries (ovlwatch_atfork_child).
 */
#ifndef WSPSHIM_OVLWATCH_H
#define WSPSHIM_OVLWATCH_H

#include <stddef.h>

#include <wspshim/ws2spi.h>

/* A pending request of the layer's ended with status err (0 or a WSA
 * code) and cb bytes; data is what the layer stored at ovlwatch_begin.
 * closed: its socket was closed before (data must not lead to it).  It
 * may run under the watch's lock: it must not call the watch. */
typedef void (*ovlwatch_done_fn)(void *data, DWORD err, DWORD cb,
    int closed);

struct ovlwatch;

/*
 * Before passing down overlapped request ov (not NULL) of the layer's
 * socket key: an entry with size bytes of data for the layer to fill
 * (*data), reported through done; *crp is replaced by the watch's routine
 * when the program gave one.  NULL when out of memory: pass the request
 * down unwatched, *crp unchanged.
 */
struct ovlwatch *ovlwatch_begin(LPWSAOVERLAPPED ov, const void *key,
    LPWSAOVERLAPPED_COMPLETION_ROUTINE *crp, ovlwatch_done_fn done,
    size_t size, void **data);

/*
 * After the call below returned rc (0 or SOCKET_ERROR) with err: 1 when
 * the request is pending (done will be called if the program asks or its
 * routine runs), 0 when it completed at once or failed, or the socket is
 * not overlapped (then no report comes; a routine of the program's still
 * runs if the request completed at once, as Winsock queues it).
 */
int ovlwatch_issued(struct ovlwatch *w, LPWSAOVERLAPPED ov, int rc,
    int err);

/* WSPGetOverlappedResult answered for ov: ok, or failed with err (a
 * failure with WSA_IO_INCOMPLETE is no end); cb the count. */
void ovlwatch_result(LPWSAOVERLAPPED ov, BOOL ok, int err, DWORD cb);

/* The layer's socket key is closed: its requests with no routine to come
 * are forgotten; those with one report closed. */
void ovlwatch_close(const void *key);

/*
 * fork() child handler: the parent's requests are none of the child's,
 * and a lock another of its threads held is let go.  Registered as the
 * layer loads; a layer whose own child handler may close sockets (and so
 * call ovlwatch_close) calls it first as well, since handlers registered
 * before the watch's run before it.  Calling it twice is harmless.
 */
void ovlwatch_atfork_child(void);

#endif
