/*
 * provider.h - loaded providers and started chains.
 *
 * A provider (a plugin file, or the built-in base) is loaded once per
 * process however many catalog entries name it, and started with
 * WSPStartup once per entry that uses it; each successful start is matched
 * by one WSPCleanup.  A chain is the started top provider of one selectable
 * catalog entry: what a socket of that entry dispatches to.
 */
#ifndef WSPSHIM_PROVIDER_H
#define WSPSHIM_PROVIDER_H

#include <wspshim/ws2spi.h>
#include "catalog.h"

struct provider {
	struct provider	*next;		/* registry list */
	char		*path;		/* as the catalog names it */
	GUID		id;
	void		*dl;		/* dlopen handle; NULL for the base */
	LPWSPSTARTUP	startup;
	WSPPROC_TABLE	procs;		/* from the latest WSPStartup */
	WSPDATA		data;
	int		starts;		/* successful WSPStartup calls */
};

struct chain {
	struct chain	*next;
	const struct catalog_entry *entry;	/* the selectable entry */
	struct provider	*top;
	const WSPPROC_TABLE *procs;		/* &top->procs */
	int		linux_ext;		/* top filled Linux members */
	int		error;			/* 0, or why it did not start */
	int		started;
	int		live;			/* sockets open on it */
};

/* The upcall table handed to every provider. */
extern const WSPUPCALLTABLE provider_upcalls;

/* The chain of a selectable entry, started on first use.  NULL and *err
 * (WSAEPROVIDERFAILEDINIT, WSAEINVALIDPROCTABLE, ...) when it cannot
 * start; the failure is remembered and logged once. */
struct chain *chain_get(const struct catalog_entry *e, int *err);

/* Start (load if needed) the provider of a catalog entry, calling its
 * WSPStartup with info.  0 and *out, or a WSA code. */
int provider_start(const struct catalog_entry *e, LPWSAPROTOCOL_INFOW info,
    struct provider **out);

/* Undo one successful provider_start (WSPCleanup). */
void provider_cleanup(struct provider *p);

/* WSPCleanup the chains that have no socket open (final WSACleanup);
 * they start again on next use. */
void chain_cleanup_idle(void);

/* fork() handlers for the registry and chain locks. */
void provider_atfork_prepare(void);
void provider_atfork_parent(void);
void provider_atfork_child(void);

#endif
