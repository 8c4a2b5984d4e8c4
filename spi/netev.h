/*
 * netev.h - network events in the base provider: WSPEventSelect and
 * WSPEnumNetworkEvents (see netev.c and docs/overlapped.md).
 *
 * Nothing here runs, and no thread or epoll instance exists, until a
 * process's first WSPEventSelect.  The base's calls tell the watcher what
 * re-enables an event (netev_hook); while no socket of the process has
 * events selected, that is one load and a branch not taken.
 */
#ifndef WSPSHIM_NETEV_H
#define WSPSHIM_NETEV_H

#include <stdatomic.h>

#include <wspshim/ws2spi.h>

/* What a base call did, for the re-enabling rules. */
enum netev_what {
	NETEV_RECV,		/* a receive: re-enables FD_READ */
	NETEV_RECV_OOB,		/* a receive with MSG_OOB: FD_OOB */
	NETEV_SEND_BLOCKED,	/* a send failed with EWOULDBLOCK: FD_WRITE */
	NETEV_ACCEPT,		/* an accept: FD_ACCEPT */
	NETEV_CONNECTING,	/* a connect is under way: FD_CONNECT later */
	NETEV_CONNECTED,	/* a connect succeeded at once */
	NETEV_LISTEN,		/* the socket listens: FD_ACCEPT */
};

/* Sockets of this process with events selected. */
extern unsigned netev_live __attribute__((visibility("hidden")));

/* Whether any socket of this process has events selected: one compare
 * with memory (a plain word read with __atomic builtins, declared hidden
 * so no address is loaded first). */
static inline int
netev_any(void)
{
	return __builtin_expect(__atomic_load_n(&netev_live,
	    __ATOMIC_RELAXED) != 0, 0);
}

void netev_note(SOCKET s, enum netev_what what);

/* Nothing: tells the watcher what base call on s did, if it watches s. */
static inline void
netev_hook(SOCKET s, enum netev_what what)
{
	if (netev_any())
		netev_note(s, what);
}

void netev_accepted(SOCKET ls, SOCKET s);

/* Nothing: listener ls accepted s (INVALID_SOCKET when the accept failed):
 * FD_ACCEPT is re-enabled, and s takes ls's events and event object, as
 * Winsock's accepted sockets do. */
static inline void
netev_hook_accept(SOCKET ls, SOCKET s)
{
	if (netev_any())
		netev_accepted(ls, s);
}

/* The base's WSPEventSelect and WSPEnumNetworkEvents (ws2spi.h). */
int WSPAPI netev_select(SOCKET s, WSAEVENT hEventObject,
    LONG lNetworkEvents, LPINT lpErrno);
int WSPAPI netev_enum(SOCKET s, WSAEVENT hEventObject,
    LPWSANETWORKEVENTS lpNetworkEvents, LPINT lpErrno);

/* 1 when base socket s has network events selected (it must stay
 * non-blocking), else 0. */
int netev_selected(SOCKET s);

/* Nothing: s is being closed or released; the watcher forgets it (its
 * descriptor is still open). */
void netev_close(SOCKET s);

/* fork() handlers, called by the core's (core.c): the child starts with
 * no watcher and no socket watched (its sockets keep O_NONBLOCK). */
void netev_atfork_prepare(void);
void netev_atfork_parent(void);
void netev_atfork_child(void);

#endif
