/*
 * provider.h - loaded providers and started chains.
 *
 * A provider instance is a loaded module serving exactly one layered
 * catalog entry id (the built-in base serves every base entry): a plugin
 * file is loaded once per process for the first entry that names it, and
 * as a separate copy (its own globals) for every other entry that names
 * the same file, so a file at several positions of one chain, as in
 * WSPSHIM_LAYERS=null,null, has one instance per position.  An instance is
 * started with WSPStartup once per chain entry that uses it; each
 * successful start is matched by one WSPCleanup.  A chain is the started
 * top provider of one selectable catalog entry: what a socket of that
 * entry dispatches to.  No lock is held while a provider's WSPStartup or
 * WSPCleanup runs, nor while a plugin loads.
 */
#ifndef WSPSHIM_PROVIDER_H
#define WSPSHIM_PROVIDER_H

#include <pthread.h>
#include <wspshim/ws2spi.h>
#include "catalog.h"

struct provider {
	struct provider	*next;		/* registry list (only grows) */
	char		*path;		/* as the catalog names it */
	DWORD		entry_id;	/* the catalog entry it serves */
	GUID		id;
	void		*dl;		/* dlopen handle; NULL for the base */
	void		*base;		/* the module's load address */
	LPWSPSTARTUP	startup;
	WSPPROC_TABLE	procs;		/* from the latest WSPStartup */
	WSPDATA		data;
	int		starts;		/* successful WSPStartup calls */
	int		table_told;	/* logged: a later start's table
					 * differed */
	int		error;		/* cannot load: why (already logged) */
	int		start_logged;	/* a failed WSPStartup was said */
};

struct chain {
	struct chain	*next;
	const struct catalog_entry *entry;	/* the selectable entry */
	struct provider	*top;
	const WSPPROC_TABLE *procs;		/* &top->procs */
	int		base_only;		/* no layer: the built-in base */
	unsigned	wsock_flags;		/* its sockets' first flags:
						 * WSOCK_DIRECT when base_only
						 * (core.h) */
	int		error;			/* 0, or why it did not start */
	int		started;
	int		live;			/* sockets open on it */
	int		busy;			/* starting or cleaning up */
	pthread_t	busy_thread;		/* ... in this thread */
};

/* The upcall table handed to every provider. */
extern const WSPUPCALLTABLE provider_upcalls;

/* The chain of a selectable entry, started on first use.  NULL and *err
 * (WSAEPROVIDERFAILEDINIT, WSAEINVALIDPROCTABLE, ...) when it cannot
 * start; the failure is remembered and logged once.  Another thread
 * asking meanwhile waits for the start-up; the starting thread itself
 * (a provider making a socket of its own chain) gets WSAEINPROGRESS. */
struct chain *chain_get(const struct catalog_entry *e, int *err);

/* Start (load if needed) the provider of a catalog entry, calling its
 * WSPStartup with info; above is the position in info's chain of the
 * provider that starts it (-1 for the top), which WSPShimFindSelf reads
 * while the WSPStartup runs.  0 and *out, or a WSA code. */
int provider_start(const struct catalog_entry *e, LPWSAPROTOCOL_INFOW info,
    int above, struct provider **out);

/* Undo one successful provider_start (WSPCleanup). */
void provider_cleanup(struct provider *p);

/* Record that the instance for catalog entry id (file path) cannot load:
 * whatever uses it fails with WSAEPROVIDERFAILEDINIT at once, and logs
 * nothing more (the caller has said why). */
void provider_set_unusable(DWORD id, const char *path);

/* WSPCleanup the chains that have no socket open (final WSACleanup);
 * they start again on next use. */
void chain_cleanup_idle(void);

/* fork() handlers for the registry and chain locks. */
void provider_atfork_prepare(void);
void provider_atfork_parent(void);
void provider_atfork_child(void);

#endif
