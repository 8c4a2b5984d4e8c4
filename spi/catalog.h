/*
 * catalog.h - the protocol catalog and the WSASocket selection rules.
 *
 * A catalog is an immutable, ordered array of entries; the current one is
 * published as a whole and never changed in place, so readers take no lock.
 * Built in: base entries for TCP, UDP and raw over IPv4 and IPv6, and
 * AF_UNIX stream, datagram and seqpacket, with ids from 1001.
 */
#ifndef WSPSHIM_CATALOG_H
#define WSPSHIM_CATALOG_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <wspshim/ws2spi.h>

#define CATALOG_FIRST_ID	1001
#define CATALOG_BASE_PATH	"libwspshim.so"	/* the built-in base */

struct catalog_entry {
	WSAPROTOCOL_INFOW	info;
	const char		*path;		/* provider file, UTF-8 */
	const char		*params;	/* layer parameters, or NULL */
	DWORD			lsp_categories;	/* LSP_* (WSCSetProviderInfo) */
};

struct catalog {
	size_t			count;
	const struct catalog_entry *entries;	/* in catalog order */
};

/* The built-in catalog (base entries only). */
const struct catalog *catalog_builtin(void);

/* Where catalog_current() reads; written only by catalog_set_current(). */
extern _Atomic(const struct catalog *) catalog_in_force;

/* The catalog in force for this process (an acquire load; the built-in
 * catalog until catalog_set_current()).  Inline: WSPShimNextProtocol
 * asks for every socket of every layer. */
static inline const struct catalog *
catalog_current(void)
{
	return atomic_load_explicit(&catalog_in_force, memory_order_acquire);
}

/* Publish c as the catalog in force (a release store; NULL restores the
 * built-in one).  c must stay valid and unchanged for the life of the
 * process: readers hold no reference. */
void catalog_set_current(const struct catalog *c);

/* In the calls below, a catalog c of NULL means catalog_current(). */

/* The base provider's GUID. */
extern const GUID catalog_base_guid;

/* The entry with this id, or NULL. */
/* Whether info is the struct of one of c's own entries (so immutable, and
 * never freed: catalogs in force are not). */
static inline int
catalog_owns(const struct catalog *c, const WSAPROTOCOL_INFOW *info)
{
	uintptr_t off = (uintptr_t)info - (uintptr_t)&c->entries[0].info;

	return off < c->count * sizeof(c->entries[0]) &&
	    off % sizeof(c->entries[0]) == 0;
}

const struct catalog_entry *catalog_by_id(const struct catalog *c,
    DWORD id);

/* The base entry a chain ends on (the entry itself for a base entry), or
 * NULL for a layered entry or a chain naming an unknown id. */
const struct catalog_entry *catalog_base_of(const struct catalog *c,
    const struct catalog_entry *e);

/* Whether protocol lies in the entry's range [iProtocol, +MaxOffset]
 * (summed in 64 bits: a catalog file may hold any values). */
static inline int
catalog_in_range(const WSAPROTOCOL_INFOW *e, int protocol)
{
	int64_t lo = e->iProtocol;

	return protocol >= lo && protocol <= lo + e->iProtocolMaxOffset;
}

/*
 * Whether one entry accepts (af, type, protocol), wildcards included:
 * 0 if it does, else the error it gives, by type, then family, then
 * protocol (WSAESOCKTNOSUPPORT, WSAEAFNOSUPPORT, WSAEPROTONOSUPPORT).
 * Inline: the base's WSPSocket checks every socket with it.
 */
static inline int
catalog_check(const WSAPROTOCOL_INFOW *e, int af, int type, int protocol)
{
	if (type != 0 && type != e->iSocketType)
		return WSAESOCKTNOSUPPORT;
	if (af != 0 && af != e->iAddressFamily)
		return WSAEAFNOSUPPORT;
	if (catalog_in_range(e, protocol))
		return 0;
	if (protocol == 0 &&
	    (e->dwProviderFlags & PFL_MATCHES_PROTOCOL_ZERO) != 0)
		return 0;
	return WSAEPROTONOSUPPORT;
}

/* Selection with no protocol struct: the first non-layered entry, hidden
 * ones included, that accepts (af, type, protocol).  0 and *out (out may be
 * NULL), or the error of the entry that got furthest; WSAEINVAL for af 0
 * and protocol 0; WSAEAFNOSUPPORT when no entry is selectable at all.
 * Entries whose ChainLen is outside 1..MAX_PROTOCOL_CHAIN are skipped. */
int catalog_select(const struct catalog *c, int af, int type, int protocol,
    const struct catalog_entry **out);

/* WSASocket's routing: with info NULL, catalog_select(), the three left
 * as given; with info, route by info->dwCatalogEntryId and take each of
 * *af, *type, *protocol that is 0 or FROM_PROTOCOL_INFO from the struct (a
 * family still 0 or -1 is WSAEAFNOSUPPORT; an unknown or layered id, or a
 * chain whose base is unknown, is WSAEINVAL), then check the resolved
 * triple against the entry (for a chain, the base it ends on).  Resolves
 * the three in place on success.  0 and *out, or a WSA code (WSAEFAULT
 * for a NULL af, type or protocol).  dwProviderReserved is not looked at:
 * duplicate-socket tokens are the caller's business. */
int catalog_route(const struct catalog *c, int *af, int *type,
    int *protocol, const WSAPROTOCOL_INFOW *info,
    const struct catalog_entry **out);

/* Enumeration (WSAEnumProtocolsW / WSCEnumProtocols): copy the entries
 * whose iProtocol is in the 0-terminated filter (all when NULL; an entry
 * with a protocol range matches an id inside it), skipping hidden and
 * layered ones unless include_hidden.  Lengths are in bytes, and on
 * return *lpdwBufferLength holds the size needed (the bytes written, on
 * success).  Returns the count, or SOCKET_ERROR with *lpErrno WSAENOBUFS
 * (buffer too small) or WSAEFAULT (lpdwBufferLength NULL, or a NULL buffer
 * where entries would be written). */
int catalog_enum(const struct catalog *c, const INT *lpiProtocols,
    int include_hidden, LPWSAPROTOCOL_INFOW lpProtocolBuffer,
    LPDWORD lpdwBufferLength, LPINT lpErrno);

/* The A form of an entry (szProtocol converted to UTF-8, cut to fit). */
void catalog_info_to_a(const WSAPROTOCOL_INFOW *w, WSAPROTOCOL_INFOA *a);
void catalog_info_to_w(const WSAPROTOCOL_INFOA *a, WSAPROTOCOL_INFOW *w);

#endif
