/*
 * procfill.h - completing an older provider's table.
 *
 * A provider reports in WSPDATA.wLinuxTableVersion which Linux members of
 * WSPPROC_TABLE it filled.  Before any table is used or handed to a layer,
 * the core fills the members its version lacks with fallbacks built on
 * the table's own Winsock members (procfill.c), so nothing above an older
 * provider ever calls a NULL member.  This is the one place that knows
 * what each version has.
 */
#ifndef WSPSHIM_PROCFILL_H
#define WSPSHIM_PROCFILL_H

#include <wspshim/ws2spi.h>

/* Whether t has every member of version v (none of them NULL). */
int procfill_has_members(const WSPPROC_TABLE *t, unsigned v);

/*
 * Fill the members of t that version v lacks with fallbacks calling the
 * members t has now (a copy of t is kept for them).  0, or WSAENOBUFS when
 * every fallback table is taken (logged once).  Nothing to do, and 0, for
 * the current version.
 */
int procfill_complete(WSPPROC_TABLE *t, unsigned v);

#endif
