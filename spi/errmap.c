/*
 * errmap.c - errno <-> WSA code, names and messages, all generated from
 * errors.def as switch statements (jump tables: O(1), no data to search),
 * and the per-thread state of the library.
 */
#include <errno.h>
#include <stddef.h>

#include <wspshim/winsock2.h>

#include "errmap.h"
#include "tls.h"

__thread struct wsp_tls wsp_tls __attribute__((tls_model("initial-exec")));

/* The WSA code for an errno; WSASYSCALLFAILURE when the table has none. */
int
errmap_to_wsa(int errnum)
{
	switch (errnum) {
#define ERRMAP_BOTH(code, errno_, msg)	case errno_: return code;
#define ERRMAP_CODE(code, errno_, msg)
#define ERRMAP_ALIAS(errno_, code)	case errno_: return code;
#include "errors.def"
#undef ERRMAP_BOTH
#undef ERRMAP_CODE
#undef ERRMAP_ALIAS
	default:
		return WSASYSCALLFAILURE;
	}
}

/* The errno for a WSA code; EIO when the table has none. */
int
errmap_to_errno(int wsa)
{
	switch (wsa) {
#define ERRMAP_BOTH(code, errno_, msg)	case code: return errno_;
#define ERRMAP_CODE(code, errno_, msg)	case code: return errno_;
#define ERRMAP_ALIAS(errno_, code)
#include "errors.def"
#undef ERRMAP_BOTH
#undef ERRMAP_CODE
#undef ERRMAP_ALIAS
	default:
		return EIO;
	}
}

/* "WSAEINVAL" for WSAEINVAL; NULL for a code the table does not know. */
const char *
errmap_name(int wsa)
{
	switch (wsa) {
#define ERRMAP_BOTH(code, errno_, msg)	case code: return #code;
#define ERRMAP_CODE(code, errno_, msg)	case code: return #code;
#define ERRMAP_ALIAS(errno_, code)
#include "errors.def"
#undef ERRMAP_BOTH
#undef ERRMAP_CODE
#undef ERRMAP_ALIAS
	default:
		return NULL;
	}
}

/* The table's message for a WSA code, or a fixed one for 0 and unknowns. */
const char *
errmap_message(int wsa)
{
	switch (wsa) {
	case 0:
		return "No error";
#define ERRMAP_BOTH(code, errno_, msg)	case code: return msg;
#define ERRMAP_CODE(code, errno_, msg)	case code: return msg;
#define ERRMAP_ALIAS(errno_, code)
#include "errors.def"
#undef ERRMAP_BOTH
#undef ERRMAP_CODE
#undef ERRMAP_ALIAS
	default:
		return "Unknown Winsock error";
	}
}

/* The WSA code for errnum, remembered with errnum for this thread. */
int
errmap_from_errno(int errnum)
{
	int wsa = errmap_to_wsa(errnum);

	/* An errno of 0 is a caller's bug: never hand it back as the errno
	 * of a failure. */
	wsp_tls.native_wsa = errnum > 0 ? wsa : 0;
	wsp_tls.native_errno = errnum;
	return wsa;
}

/* The native errno if wsa is the code the base made, else the table's. */
int
errmap_errno_for(int wsa)
{
	if (wsa != 0 && wsa == wsp_tls.native_wsa)
		return wsp_tls.native_errno;
	return errmap_to_errno(wsa);
}
