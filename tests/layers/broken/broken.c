/*
 * broken.c - plugins that a careful loader must refuse, one per build of
 * this file (BROKEN is the kind):
 *
 *   nostartup	exports no WSPStartup (but links libwspshim.so, which
 *		does export one: the loader must not take that for the
 *		plugin's own)
 *   startfail	WSPStartup fails with WSASYSNOTREADY
 *   nullmember	WSPStartup returns a proc table with a NULL member
 *   newer	WSPStartup says it speaks SPI 2.3
 *   crash	WSPStartup dies of SIGSEGV (a write through NULL): it takes
 *		the program down, so wspshim install and run must refuse it
 *   hang	WSPStartup never returns
 *
 * The ones that start fill the table with a stub the core never gets to
 * call (it refuses them first) and a WSPCleanup that succeeds: a provider
 * refused after a successful WSPStartup is cleaned up once.
 */
#include <string.h>
#include <unistd.h>

#include <wspshim/ws2spi.h>

#define EXPORT	__attribute__((visibility("default")))

#define NOSTARTUP	1
#define STARTFAIL	2
#define NULLMEMBER	3
#define NEWER		4
#define CRASH		5
#define HANG		6

#if BROKEN == NOSTARTUP

EXPORT int broken_not_a_provider(void);

/* Something to export, so the file is a plugin in every other way. */
EXPORT int
broken_not_a_provider(void)
{
	return WSPShimSelfCatalogEntryId() != 0;
}

#else

/* WSPCleanup: nothing to undo. */
static int WSPAPI
broken_cleanup(LPINT err)
{
	*err = 0;
	return 0;
}

/* A table of the right shape whose every member is fn, but WSPCleanup. */
static void
broken_fill(LPWSPPROC_TABLE t, void (*fn)(void))
{
	void (**m)(void) = (void (**)(void))(void *)t;
	size_t i;

	for (i = 0; i < sizeof(*t) / sizeof(*m); i++)
		m[i] = fn;
	t->lpWSPCleanup = broken_cleanup;
}

/* Never called: the core refuses the table first. */
static void
broken_op(void)
{
}

/* Where the crash kind writes: volatile, so the write is made. */
static volatile int *volatile crash_at;

EXPORT int WSPAPI
WSPStartup(WORD version, LPWSPDATA data, LPWSAPROTOCOL_INFOW info,
    WSPUPCALLTABLE upcalls, LPWSPPROC_TABLE procs)
{
	if (BROKEN == STARTFAIL)
		return WSASYSNOTREADY;
	if (BROKEN == CRASH)
		*crash_at = 1;
	while (BROKEN == HANG)
		pause();
	data->wVersion = WSPSHIM_SPI_VERSION;
	data->wHighVersion = WSPSHIM_SPI_VERSION;
	data->wLinuxTableVersion = 1;
	broken_fill(procs, broken_op);
	if (BROKEN == NULLMEMBER)
		procs->lpWSPSelect = NULL;
	if (BROKEN == NEWER)
		data->wVersion = data->wHighVersion = MAKEWORD(2, 3);
	return 0;
}

#endif
