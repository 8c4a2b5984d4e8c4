/*
 * errmap.h - the one map between Linux errno values and Winsock codes.
 *
 * errors.def holds the table; everything here is generated from it.  The
 * base provider is the only errno -> WSA point (errmap_from_errno) and the
 * shim the only WSA -> errno point (errmap_errno_for): the native errno is
 * kept per thread, so a code that comes back up the chain unchanged turns
 * back into exactly the errno the kernel gave.
 */
#ifndef WSPSHIM_ERRMAP_H
#define WSPSHIM_ERRMAP_H

/* The WSA code for an errno; WSASYSCALLFAILURE when the table has none. */
int errmap_to_wsa(int errnum);

/* The errno for a WSA code; EIO when the table has none. */
int errmap_to_errno(int wsa);

/* "WSAEINVAL" for WSAEINVAL; NULL for a code the table does not know. */
const char *errmap_name(int wsa);

/* A short English message for a WSA code ("Invalid argument"). */
const char *errmap_message(int wsa);

/* The base's edge: map errnum, remember it for this thread, return it. */
int errmap_from_errno(int errnum);

/* The shim's edge: the errno to show for a WSA code that came up the
 * chain: the remembered native errno if the code is the one the base made,
 * else errmap_to_errno(wsa). */
int errmap_errno_for(int wsa);

/* Forget the remembered errno (before each dispatch). */
static inline void errmap_clear_native(void);

#include "tls.h"
static inline void
errmap_clear_native(void)
{
	wsp_tls.native_wsa = 0;
}

#endif
