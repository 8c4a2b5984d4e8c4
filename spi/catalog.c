/*
 * catalog.c - the built-in protocol catalog, the catalog in force, and the
 * selection, routing and enumeration rules (DESIGN.md, "Catalog and
 * selection").
 *
 * A catalog never changes once published: readers load one pointer with
 * acquire order and scan an array, taking no lock and allocating nothing,
 * because socket() runs catalog_select() on every socket it creates.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/un.h>

#include "catalog.h"
#include "wstr.h"

_Static_assert(offsetof(WSAPROTOCOL_INFOW, szProtocol) ==
    offsetof(WSAPROTOCOL_INFOA, szProtocol),
    "the A and W forms agree up to szProtocol");

/* {77737073-6869-4d01-9a5e-626173650001}: "wspshi", then "base". */
#define CATALOG_BASE_GUID_INIT \
	{ 0x77737073, 0x6869, 0x4d01, \
	    { 0x9a, 0x5e, 0x62, 0x61, 0x73, 0x65, 0x00, 0x01 } }

const GUID catalog_base_guid = CATALOG_BASE_GUID_INIT;

enum {
	CATALOG_ID_TCP = CATALOG_FIRST_ID,
	CATALOG_ID_UDP,
	CATALOG_ID_RAW,
	CATALOG_ID_TCP6,
	CATALOG_ID_UDP6,
	CATALOG_ID_RAW6,
	CATALOG_ID_UNIX_STREAM,
	CATALOG_ID_UNIX_DGRAM,
	CATALOG_ID_UNIX_SEQPACKET
};

#define XP1_TCP		(XP1_GUARANTEED_DELIVERY | XP1_GUARANTEED_ORDER | \
			    XP1_GRACEFUL_CLOSE | XP1_EXPEDITED_DATA | \
			    XP1_IFS_HANDLES)
#define XP1_UDP6	(XP1_CONNECTIONLESS | XP1_MESSAGE_ORIENTED | \
			    XP1_SUPPORT_MULTIPOINT | XP1_IFS_HANDLES)
#define XP1_UDP		(XP1_UDP6 | XP1_SUPPORT_BROADCAST)
#define XP1_UNIX_STREAM	(XP1_GUARANTEED_DELIVERY | XP1_GUARANTEED_ORDER | \
			    XP1_GRACEFUL_CLOSE | XP1_IFS_HANDLES)
#define XP1_UNIX_DGRAM	(XP1_CONNECTIONLESS | XP1_MESSAGE_ORIENTED | \
			    XP1_GUARANTEED_DELIVERY | XP1_GUARANTEED_ORDER | \
			    XP1_IFS_HANDLES)
#define XP1_UNIX_SEQ	(XP1_GUARANTEED_DELIVERY | XP1_GUARANTEED_ORDER | \
			    XP1_MESSAGE_ORIENTED | XP1_GRACEFUL_CLOSE | \
			    XP1_IFS_HANDLES)

#define PFL_BASE	PFL_MATCHES_PROTOCOL_ZERO
#define PFL_RAW		(PFL_MATCHES_PROTOCOL_ZERO | PFL_HIDDEN)

/* The largest UDP payload: 65535 less the IP (20; IPv6: 0, its payload
 * length excludes the fixed header) and UDP (8) headers. */
#define MSG_UDP		65507
#define MSG_UDP6	65527
#define MSG_RAW		65535
/*
 * AF_UNIX datagram and seqpacket messages are not bounded by any MTU or
 * length field: Linux refuses a message only when it exceeds the sending
 * socket's SO_SNDBUF (less a small overhead), a per-socket setting the
 * program may raise.  The catalog cannot know it, and the protocol itself
 * sets no limit, so the entry says MSG_SIZE_UNLIMITED; a program that
 * needs the bound reads SO_SNDBUF.
 */
#define MSG_UNIX	MSG_SIZE_UNLIMITED

#define SUN_MIN		((int)sizeof(sa_family_t))	/* unnamed */
#define SUN_MAX		((int)sizeof(struct sockaddr_un))
#define SIN_SIZE	((int)sizeof(struct sockaddr_in))
#define SIN6_SIZE	((int)sizeof(struct sockaddr_in6))

#define CATALOG_BASE_ENTRY(id, xp1, pfl, af, minsa, maxsa, type, proto, \
    maxoff, msgsize, name) {						\
	.info = {							\
		.dwServiceFlags1 = (xp1),				\
		.dwProviderFlags = (pfl),				\
		.ProviderId = CATALOG_BASE_GUID_INIT,			\
		.dwCatalogEntryId = (id),				\
		.ProtocolChain = { BASE_PROTOCOL, { (id) } },		\
		.iVersion = 2,						\
		.iAddressFamily = (af),					\
		.iMaxSockAddr = (maxsa),				\
		.iMinSockAddr = (minsa),				\
		.iSocketType = (type),					\
		.iProtocol = (proto),					\
		.iProtocolMaxOffset = (maxoff),				\
		.iNetworkByteOrder = BIGENDIAN,				\
		.iSecurityScheme = SECURITY_PROTOCOL_NONE,		\
		.dwMessageSize = (msgsize),				\
		.dwProviderReserved = 0,				\
		.szProtocol = name,					\
	},								\
	.path = CATALOG_BASE_PATH,					\
	.params = NULL,							\
}

static const struct catalog_entry catalog_builtin_entries[] = {
	CATALOG_BASE_ENTRY(CATALOG_ID_TCP, XP1_TCP, PFL_BASE, AF_INET,
	    SIN_SIZE, SIN_SIZE, SOCK_STREAM, IPPROTO_TCP, 0, MSG_SIZE_STREAM,
	    u"wspshim [TCP/IP]"),
	CATALOG_BASE_ENTRY(CATALOG_ID_UDP, XP1_UDP, PFL_BASE, AF_INET,
	    SIN_SIZE, SIN_SIZE, SOCK_DGRAM, IPPROTO_UDP, 0, MSG_UDP,
	    u"wspshim [UDP/IP]"),
	CATALOG_BASE_ENTRY(CATALOG_ID_RAW, XP1_UDP, PFL_RAW, AF_INET,
	    SIN_SIZE, SIN_SIZE, SOCK_RAW, 0, 255, MSG_RAW,
	    u"wspshim [RAW/IP]"),
	CATALOG_BASE_ENTRY(CATALOG_ID_TCP6, XP1_TCP, PFL_BASE, AF_INET6,
	    SIN6_SIZE, SIN6_SIZE, SOCK_STREAM, IPPROTO_TCP, 0,
	    MSG_SIZE_STREAM, u"wspshim [TCP/IPv6]"),
	CATALOG_BASE_ENTRY(CATALOG_ID_UDP6, XP1_UDP, PFL_BASE, AF_INET6,
	    SIN6_SIZE, SIN6_SIZE, SOCK_DGRAM, IPPROTO_UDP, 0, MSG_UDP6,
	    u"wspshim [UDP/IPv6]"),
	CATALOG_BASE_ENTRY(CATALOG_ID_RAW6, XP1_UDP6, PFL_RAW, AF_INET6,
	    SIN6_SIZE, SIN6_SIZE, SOCK_RAW, 0, 255, MSG_RAW,
	    u"wspshim [RAW/IPv6]"),
	CATALOG_BASE_ENTRY(CATALOG_ID_UNIX_STREAM, XP1_UNIX_STREAM, PFL_BASE,
	    AF_UNIX, SUN_MIN, SUN_MAX, SOCK_STREAM, 0, 0, MSG_SIZE_STREAM,
	    u"wspshim [UNIX stream]"),
	CATALOG_BASE_ENTRY(CATALOG_ID_UNIX_DGRAM, XP1_UNIX_DGRAM, PFL_BASE,
	    AF_UNIX, SUN_MIN, SUN_MAX, SOCK_DGRAM, 0, 0, MSG_UNIX,
	    u"wspshim [UNIX datagram]"),
	CATALOG_BASE_ENTRY(CATALOG_ID_UNIX_SEQPACKET, XP1_UNIX_SEQ, PFL_BASE,
	    AF_UNIX, SUN_MIN, SUN_MAX, SOCK_SEQPACKET, 0, 0, MSG_UNIX,
	    u"wspshim [UNIX seqpacket]"),
};

static const struct catalog catalog_builtin_catalog = {
	.count = sizeof(catalog_builtin_entries) /
	    sizeof(catalog_builtin_entries[0]),
	.entries = catalog_builtin_entries,
};

_Atomic(const struct catalog *) catalog_in_force =
    &catalog_builtin_catalog;

/* The built-in catalog. */
const struct catalog *
catalog_builtin(void)
{
	return &catalog_builtin_catalog;
}

/* Nothing: publishes c (NULL: the built-in catalog) with release order. */
void
catalog_set_current(const struct catalog *c)
{
	if (c == NULL)
		c = &catalog_builtin_catalog;
	atomic_store_explicit(&catalog_in_force, c, memory_order_release);
}

/* c, or the catalog in force when c is NULL. */
static const struct catalog *
catalog_or_current(const struct catalog *c)
{
	return c != NULL ? c : catalog_current();
}

/* Whether an entry may be chosen for a socket: a base entry or a chain. */
static int
catalog_selectable(const WSAPROTOCOL_INFOW *e)
{
	return e->ProtocolChain.ChainLen >= BASE_PROTOCOL &&
	    e->ProtocolChain.ChainLen <= MAX_PROTOCOL_CHAIN;
}

/* Whether enumeration without include_hidden leaves the entry out. */
static int
catalog_hidden(const WSAPROTOCOL_INFOW *e)
{
	return (e->dwProviderFlags & PFL_HIDDEN) != 0 ||
	    e->ProtocolChain.ChainLen == LAYERED_PROTOCOL;
}

/* The entry with this id, or NULL. */
const struct catalog_entry *
catalog_by_id(const struct catalog *c, DWORD id)
{
	size_t i;

	c = catalog_or_current(c);
	for (i = 0; i < c->count; i++)
		if (c->entries[i].info.dwCatalogEntryId == id)
			return &c->entries[i];
	return NULL;
}

/* The base entry e ends on, or NULL (layered, malformed, unknown base). */
const struct catalog_entry *
catalog_base_of(const struct catalog *c, const struct catalog_entry *e)
{
	const struct catalog_entry *b;
	int len;

	if (e == NULL)
		return NULL;
	len = e->info.ProtocolChain.ChainLen;
	if (len == BASE_PROTOCOL)
		return e;
	if (len < 2 || len > MAX_PROTOCOL_CHAIN)
		return NULL;
	b = catalog_by_id(c, e->info.ProtocolChain.ChainEntries[len - 1]);
	if (b == NULL || b->info.ProtocolChain.ChainLen != BASE_PROTOCOL)
		return NULL;
	return b;
}

/* How far an entry failing with err got: type < family < protocol. */
static int
catalog_rank(int err)
{
	switch (err) {
	case WSAEPROTONOSUPPORT:
		return 2;
	case WSAEAFNOSUPPORT:
		return 1;
	default:
		return 0;
	}
}

/* 0 and *out, the first selectable entry accepting the triple; else the
 * error of the entry that got furthest. */
int
catalog_select(const struct catalog *c, int af, int type, int protocol,
    const struct catalog_entry **out)
{
	const struct catalog_entry *e;
	int err, best = -1, best_err = WSAEAFNOSUPPORT;
	size_t i;

	if (af == 0 && protocol == 0)
		return WSAEINVAL;
	c = catalog_or_current(c);
	for (i = 0; i < c->count; i++) {
		e = &c->entries[i];
		if (!catalog_selectable(&e->info))
			continue;
		err = catalog_check(&e->info, af, type, protocol);
		if (err == 0) {
			if (out != NULL)
				*out = e;
			return 0;
		}
		if (catalog_rank(err) > best) {
			best = catalog_rank(err);
			best_err = err;
		}
	}
	/* An empty catalog supports no family at all. */
	return best_err;
}

/* Whether v asks for the struct's value: 0 or FROM_PROTOCOL_INFO. */
static int
catalog_from_info(int v)
{
	return v == 0 || v == FROM_PROTOCOL_INFO;
}

/* 0, *out and the resolved triple; or a WSA code, leaving them alone. */
int
catalog_route(const struct catalog *c, int *af, int *type, int *protocol,
    const WSAPROTOCOL_INFOW *info, const struct catalog_entry **out)
{
	const struct catalog_entry *e, *b;
	int a, t, p, err;

	if (af == NULL || type == NULL || protocol == NULL)
		return WSAEFAULT;
	if (info == NULL)
		return catalog_select(c, *af, *type, *protocol, out);
	c = catalog_or_current(c);
	e = catalog_by_id(c, info->dwCatalogEntryId);
	if (e == NULL || !catalog_selectable(&e->info))
		return WSAEINVAL;
	if ((b = catalog_base_of(c, e)) == NULL)
		return WSAEINVAL;
	a = catalog_from_info(*af) ? info->iAddressFamily : *af;
	t = catalog_from_info(*type) ? info->iSocketType : *type;
	p = catalog_from_info(*protocol) ? info->iProtocol : *protocol;
	if (catalog_from_info(a))
		return WSAEAFNOSUPPORT;
	if ((err = catalog_check(&b->info, a, t, p)) != 0)
		return err;
	*af = a;
	*type = t;
	*protocol = p;
	if (out != NULL)
		*out = e;
	return 0;
}

/* Whether e's protocol range holds one of the ids of a 0-terminated list
 * (every entry when the list is NULL). */
static int
catalog_filter(const WSAPROTOCOL_INFOW *e, const INT *ids)
{
	if (ids == NULL)
		return 1;
	for (; *ids != 0; ids++)
		if (catalog_in_range(e, *ids))
			return 1;
	return 0;
}

/* Whether enumeration reports e. */
static int
catalog_listed(const WSAPROTOCOL_INFOW *e, const INT *ids, int hidden)
{
	return (hidden || !catalog_hidden(e)) && catalog_filter(e, ids);
}

/* The number of entries copied, or SOCKET_ERROR and *lpErrno. */
int
catalog_enum(const struct catalog *c, const INT *lpiProtocols,
    int include_hidden, LPWSAPROTOCOL_INFOW lpProtocolBuffer,
    LPDWORD lpdwBufferLength, LPINT lpErrno)
{
	const WSAPROTOCOL_INFOW *e;
	size_t i, n = 0, need;
	int dummy;

	if (lpErrno == NULL)
		lpErrno = &dummy;
	if (lpdwBufferLength == NULL) {
		*lpErrno = WSAEFAULT;
		return SOCKET_ERROR;
	}
	c = catalog_or_current(c);
	for (i = 0; i < c->count; i++)
		if (catalog_listed(&c->entries[i].info, lpiProtocols,
		    include_hidden))
			n++;
	if (n > UINT32_MAX / sizeof(WSAPROTOCOL_INFOW)) {
		*lpErrno = WSAENOBUFS;	/* no DWORD can say how much */
		return SOCKET_ERROR;
	}
	need = n * sizeof(WSAPROTOCOL_INFOW);
	if (*lpdwBufferLength < need) {
		*lpdwBufferLength = (DWORD)need;
		*lpErrno = WSAENOBUFS;
		return SOCKET_ERROR;
	}
	*lpdwBufferLength = (DWORD)need;
	if (n == 0)
		return 0;
	if (lpProtocolBuffer == NULL) {
		*lpErrno = WSAEFAULT;
		return SOCKET_ERROR;
	}
	for (i = 0, n = 0; i < c->count; i++) {
		e = &c->entries[i].info;
		if (catalog_listed(e, lpiProtocols, include_hidden))
			memcpy(&lpProtocolBuffer[n++], e, sizeof(*e));
	}
	return (int)n;
}

/* Nothing: a gets w with szProtocol as UTF-8, cut to fit. */
void
catalog_info_to_a(const WSAPROTOCOL_INFOW *w, WSAPROTOCOL_INFOA *a)
{
	WCHAR name[WSAPROTOCOL_LEN + 2];

	/* w->szProtocol may lack its terminator: work on a copy. */
	memcpy(name, w->szProtocol, sizeof(w->szProtocol));
	name[WSAPROTOCOL_LEN + 1] = 0;
	memset(a, 0, sizeof(*a));
	memcpy(a, w, offsetof(WSAPROTOCOL_INFOW, szProtocol));
	wstr_to_utf8(a->szProtocol, sizeof(a->szProtocol), name);
}

/* Nothing: w gets a with szProtocol as UTF-16, cut to fit. */
void
catalog_info_to_w(const WSAPROTOCOL_INFOA *a, WSAPROTOCOL_INFOW *w)
{
	char name[WSAPROTOCOL_LEN + 2];

	memcpy(name, a->szProtocol, sizeof(a->szProtocol));
	name[WSAPROTOCOL_LEN + 1] = '\0';
	memset(w, 0, sizeof(*w));
	memcpy(w, a, offsetof(WSAPROTOCOL_INFOA, szProtocol));
	wstr_from_utf8(w->szProtocol, WSAPROTOCOL_LEN + 1, name);
}
