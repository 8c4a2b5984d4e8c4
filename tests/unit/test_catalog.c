/*
 * test_catalog.c - the built-in catalog, selection, routing, enumeration
 * and the A/W forms of an entry.
 *
 * Parameters hold arrays, not pointers: Criterion re-executes the binary
 * for each test, so addresses from the parent's image mean nothing there.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <limits.h>
#include <string.h>
#include <sys/un.h>

#include "catalog.h"
#include "wstr.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define INFO_SIZE	((DWORD)sizeof(WSAPROTOCOL_INFOW))
#define KEEP		INT_MIN		/* route cases: leave the field as is */
#define NOTHING		0		/* no entry expected */

enum { TCP = 1001, UDP, RAW, TCP6, UDP6, RAW6, USTREAM, UDGRAM, USEQ };

/* A short name for the codes these tests meet, for failure messages. */
static const char *
code_name(int err)
{
	switch (err) {
	case 0:
		return "0";
	case WSAEINVAL:
		return "WSAEINVAL";
	case WSAEFAULT:
		return "WSAEFAULT";
	case WSAENOBUFS:
		return "WSAENOBUFS";
	case WSAESOCKTNOSUPPORT:
		return "WSAESOCKTNOSUPPORT";
	case WSAEAFNOSUPPORT:
		return "WSAEAFNOSUPPORT";
	case WSAEPROTONOSUPPORT:
		return "WSAEPROTONOSUPPORT";
	default:
		return "other";
	}
}

/* Whether a WCHAR string equals an ASCII one. */
static int
wname_is(const WCHAR *w, const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (w[i] != (unsigned char)s[i])
			return 0;
	return w[i] == 0;
}

/*
 * The test catalog: a layered entry, chains over it, then copies of the
 * built-in entries (layered entries and chains come first, as installed).
 *   2001 layered (ChainLen 0), TCP/IPv4 triple, not PFL_HIDDEN
 *   2002 chain { 2001, 1001 }, TCP/IPv4
 *   2003 chain { 2001, 9999 }: its base is unknown (UDP/IPv6 triple)
 *   2004 chain { 2001, 2001 }: it ends on a layered entry (UDP/IPv6)
 *   2005 ChainLen 8: malformed (UDP/IPv6)
 *   ...  the nine built-in entries
 *   2006 chain { 2001, 1001 } claiming UDP/IPv4 over the TCP base
 */
#define T_LAYER		2001
#define T_CHAIN		2002
#define T_NOBASE	2003
#define T_ONLAYER	2004
#define T_TOOLONG	2005
#define T_MISMATCH	2006

static struct catalog_entry test_entries[16];
static struct catalog test_cat;

/* An entry with the given id, chain and triple, TCP-like otherwise. */
static struct catalog_entry
mk(DWORD id, int chainlen, DWORD top, DWORD base, int af, int type,
    int proto)
{
	struct catalog_entry e;

	memset(&e, 0, sizeof(e));
	e.info.dwServiceFlags1 = XP1_GUARANTEED_DELIVERY;
	e.info.dwProviderFlags = PFL_MATCHES_PROTOCOL_ZERO;
	e.info.dwCatalogEntryId = id;
	e.info.ProtocolChain.ChainLen = chainlen;
	e.info.ProtocolChain.ChainEntries[0] = top;
	if (chainlen >= 2 && chainlen <= MAX_PROTOCOL_CHAIN)
		e.info.ProtocolChain.ChainEntries[chainlen - 1] = base;
	e.info.iVersion = 2;
	e.info.iAddressFamily = af;
	e.info.iSocketType = type;
	e.info.iProtocol = proto;
	wstr_from_utf8(e.info.szProtocol, WSAPROTOCOL_LEN + 1, "test");
	e.path = "libtest.so";
	return e;
}

/* The test catalog described above, built on first use. */
static const struct catalog *
test_catalog(void)
{
	const struct catalog *b = catalog_builtin();
	size_t n = 0, i;

	if (test_cat.count != 0)
		return &test_cat;
	test_entries[n++] = mk(T_LAYER, 0, T_LAYER, 0, AF_INET, SOCK_STREAM,
	    IPPROTO_TCP);
	test_entries[n++] = mk(T_CHAIN, 2, T_LAYER, TCP, AF_INET,
	    SOCK_STREAM, IPPROTO_TCP);
	test_entries[n++] = mk(T_NOBASE, 2, T_LAYER, 9999, AF_INET6,
	    SOCK_DGRAM, IPPROTO_UDP);
	test_entries[n++] = mk(T_ONLAYER, 2, T_LAYER, T_LAYER, AF_INET6,
	    SOCK_DGRAM, IPPROTO_UDP);
	test_entries[n++] = mk(T_TOOLONG, 8, T_LAYER, 0, AF_INET6,
	    SOCK_DGRAM, IPPROTO_UDP);
	for (i = 0; i < b->count; i++)
		test_entries[n++] = b->entries[i];
	test_entries[n++] = mk(T_MISMATCH, 2, T_LAYER, TCP, AF_INET,
	    SOCK_DGRAM, IPPROTO_UDP);
	cr_assert_leq(n, NELEM(test_entries));
	test_cat.entries = test_entries;
	test_cat.count = n;
	return &test_cat;
}

/* ------------------------------------------------------------------ */
/* The built-in catalog. */

struct builtin_case {
	DWORD	id;
	char	name[32];
	int	af, type, proto, maxoff;
	DWORD	xp1, pfl, msgsize;
	int	minsa, maxsa;
};

#define XTCP	(XP1_GUARANTEED_DELIVERY | XP1_GUARANTEED_ORDER | \
		    XP1_GRACEFUL_CLOSE | XP1_EXPEDITED_DATA | XP1_IFS_HANDLES)
#define XUDP6	(XP1_CONNECTIONLESS | XP1_MESSAGE_ORIENTED | \
		    XP1_SUPPORT_MULTIPOINT | XP1_IFS_HANDLES)
#define XUDP	(XUDP6 | XP1_SUPPORT_BROADCAST)
#define XUSTR	(XP1_GUARANTEED_DELIVERY | XP1_GUARANTEED_ORDER | \
		    XP1_GRACEFUL_CLOSE | XP1_IFS_HANDLES)
#define XUDG	(XP1_CONNECTIONLESS | XP1_MESSAGE_ORIENTED | \
		    XP1_GUARANTEED_DELIVERY | XP1_GUARANTEED_ORDER | \
		    XP1_IFS_HANDLES)
#define XUSEQ	(XP1_GUARANTEED_DELIVERY | XP1_GUARANTEED_ORDER | \
		    XP1_MESSAGE_ORIENTED | XP1_GRACEFUL_CLOSE | XP1_IFS_HANDLES)
#define PZ	PFL_MATCHES_PROTOCOL_ZERO
#define PRAW	(PFL_MATCHES_PROTOCOL_ZERO | PFL_HIDDEN)
#define S4	((int)sizeof(struct sockaddr_in))
#define S6	((int)sizeof(struct sockaddr_in6))
#define SUMIN	((int)sizeof(sa_family_t))
#define SUMAX	((int)sizeof(struct sockaddr_un))

ParameterizedTestParameters(builtin, entries_in_order)
{
	static struct builtin_case cases[] = {
		{ TCP, "wspshim [TCP/IP]", AF_INET, SOCK_STREAM, IPPROTO_TCP,
		    0, XTCP, PZ, 0, S4, S4 },
		{ UDP, "wspshim [UDP/IP]", AF_INET, SOCK_DGRAM, IPPROTO_UDP,
		    0, XUDP, PZ, 65507, S4, S4 },
		{ RAW, "wspshim [RAW/IP]", AF_INET, SOCK_RAW, 0, 255, XUDP,
		    PRAW, 65535, S4, S4 },
		{ TCP6, "wspshim [TCP/IPv6]", AF_INET6, SOCK_STREAM,
		    IPPROTO_TCP, 0, XTCP, PZ, 0, S6, S6 },
		{ UDP6, "wspshim [UDP/IPv6]", AF_INET6, SOCK_DGRAM,
		    IPPROTO_UDP, 0, XUDP, PZ, 65527, S6, S6 },
		{ RAW6, "wspshim [RAW/IPv6]", AF_INET6, SOCK_RAW, 0, 255,
		    XUDP6, PRAW, 65535, S6, S6 },
		{ USTREAM, "wspshim [UNIX stream]", AF_UNIX, SOCK_STREAM, 0,
		    0, XUSTR, PZ, 0, SUMIN, SUMAX },
		{ UDGRAM, "wspshim [UNIX datagram]", AF_UNIX, SOCK_DGRAM, 0,
		    0, XUDG, PZ, MSG_SIZE_UNLIMITED, SUMIN, SUMAX },
		{ USEQ, "wspshim [UNIX seqpacket]", AF_UNIX, SOCK_SEQPACKET,
		    0, 0, XUSEQ, PZ, MSG_SIZE_UNLIMITED, SUMIN, SUMAX },
	};

	return cr_make_param_array(struct builtin_case, cases,
	    NELEM(cases));
}

ParameterizedTest(struct builtin_case *c, builtin, entries_in_order)
{
	const struct catalog *cat = catalog_builtin();
	const struct catalog_entry *ent;
	const WSAPROTOCOL_INFOW *e;
	size_t idx = c->id - CATALOG_FIRST_ID;

	cr_assert_eq(cat->count, 9);
	ent = &cat->entries[idx];
	e = &ent->info;
	cr_assert_eq(e->dwCatalogEntryId, c->id, "position %zu", idx);
	cr_expect(wname_is(e->szProtocol, c->name), "name of %s", c->name);
	cr_expect_eq(e->iAddressFamily, c->af, "%s", c->name);
	cr_expect_eq(e->iSocketType, c->type, "%s", c->name);
	cr_expect_eq(e->iProtocol, c->proto, "%s", c->name);
	cr_expect_eq(e->iProtocolMaxOffset, c->maxoff, "%s", c->name);
	cr_expect_eq(e->dwServiceFlags1, c->xp1, "%s", c->name);
	cr_expect_eq(e->dwServiceFlags2, 0);
	cr_expect_eq(e->dwServiceFlags3, 0);
	cr_expect_eq(e->dwServiceFlags4, 0);
	cr_expect_eq(e->dwProviderFlags, c->pfl, "%s", c->name);
	cr_expect_eq(e->dwMessageSize, c->msgsize, "%s", c->name);
	cr_expect_eq(e->iMinSockAddr, c->minsa, "%s", c->name);
	cr_expect_eq(e->iMaxSockAddr, c->maxsa, "%s", c->name);
	cr_expect_eq(e->ProtocolChain.ChainLen, 1);
	cr_expect_eq(e->ProtocolChain.ChainEntries[0], c->id);
	cr_expect_eq(e->iVersion, 2);
	cr_expect_eq(e->iNetworkByteOrder, BIGENDIAN);
	cr_expect_eq(e->iSecurityScheme, 0);
	cr_expect_eq(e->dwProviderReserved, 0);
	cr_expect(memcmp(&e->ProviderId, &catalog_base_guid,
	    sizeof(GUID)) == 0);
	cr_expect_str_eq(ent->path, CATALOG_BASE_PATH);
	cr_expect_null(ent->params);
	cr_expect_eq(catalog_by_id(cat, c->id), ent);
	cr_expect_eq(catalog_base_of(cat, ent), ent);
}

Test(builtin, guid_is_not_nil)
{
	static const GUID nil;

	cr_assert(memcmp(&catalog_base_guid, &nil, sizeof(GUID)) != 0);
}

Test(current, builtin_until_set_then_published)
{
	const struct catalog *t = test_catalog();

	cr_assert_eq(catalog_current(), catalog_builtin());
	catalog_set_current(t);
	cr_assert_eq(catalog_current(), t);
	/* NULL means the catalog in force. */
	cr_assert_eq(catalog_by_id(NULL, T_CHAIN), &t->entries[1]);
	catalog_set_current(NULL);
	cr_assert_eq(catalog_current(), catalog_builtin());
	cr_assert_null(catalog_by_id(NULL, T_CHAIN));
	cr_assert_not_null(catalog_by_id(NULL, TCP));
}

Test(by_id, unknown_is_null)
{
	cr_assert_null(catalog_by_id(catalog_builtin(), 0));
	cr_assert_null(catalog_by_id(catalog_builtin(), 1000));
	cr_assert_null(catalog_by_id(catalog_builtin(), 1010));
}

/* ------------------------------------------------------------------ */
/* Selection without a protocol struct. */

struct sel_case {
	char	what[48];
	int	af, type, proto;
	int	err;
	DWORD	id;
};

ParameterizedTestParameters(select, first_match_or_furthest_error)
{
	static struct sel_case cases[] = {
		/* Plain matches and wildcards. */
		{ "tcp", AF_INET, SOCK_STREAM, IPPROTO_TCP, 0, TCP },
		{ "tcp proto 0", AF_INET, SOCK_STREAM, 0, 0, TCP },
		{ "inet any type, proto 0", AF_INET, 0, 0, 0, TCP },
		{ "inet any type, udp", AF_INET, 0, IPPROTO_UDP, 0, UDP },
		{ "any family, udp", 0, SOCK_DGRAM, IPPROTO_UDP, 0, UDP },
		{ "any family, any type, tcp", 0, 0, IPPROTO_TCP, 0, TCP },
		{ "udp proto 0", AF_INET, SOCK_DGRAM, 0, 0, UDP },
		{ "tcp6", AF_INET6, SOCK_STREAM, 0, 0, TCP6 },
		{ "udp6", AF_INET6, 0, IPPROTO_UDP, 0, UDP6 },
		{ "unix stream", AF_UNIX, SOCK_STREAM, 0, 0, USTREAM },
		{ "unix any type", AF_UNIX, 0, 0, 0, USTREAM },
		{ "unix dgram", AF_UNIX, SOCK_DGRAM, 0, 0, UDGRAM },
		{ "unix seqpacket", AF_UNIX, SOCK_SEQPACKET, 0, 0, USEQ },
		/* Raw: protocol range 0..255, hidden but selectable. */
		{ "raw proto 0", AF_INET, SOCK_RAW, 0, 0, RAW },
		{ "raw icmp", AF_INET, SOCK_RAW, IPPROTO_ICMP, 0, RAW },
		{ "raw tcp", AF_INET, SOCK_RAW, IPPROTO_TCP, 0, RAW },
		{ "raw 255", AF_INET, SOCK_RAW, 255, 0, RAW },
		{ "raw 256", AF_INET, SOCK_RAW, 256, WSAEPROTONOSUPPORT, 0 },
		{ "raw -1", AF_INET, SOCK_RAW, -1, WSAEPROTONOSUPPORT, 0 },
		{ "icmp any type", AF_INET, 0, IPPROTO_ICMP, 0, RAW },
		{ "raw6 icmpv6", AF_INET6, SOCK_RAW, IPPROTO_ICMPV6, 0, RAW6 },
		{ "any family, raw, icmp", 0, SOCK_RAW, IPPROTO_ICMP, 0, RAW },
		/* af 0 and protocol 0 comes before everything. */
		{ "0,0,0", 0, 0, 0, WSAEINVAL, 0 },
		{ "0,stream,0", 0, SOCK_STREAM, 0, WSAEINVAL, 0 },
		{ "0,raw,0", 0, SOCK_RAW, 0, WSAEINVAL, 0 },
		{ "0,bad type,0", 0, 99, 0, WSAEINVAL, 0 },
		/* Precedence: type, then family, then protocol. */
		{ "bad type", AF_INET, 99, 0, WSAESOCKTNOSUPPORT, 0 },
		{ "bad type beats bad family", AF_NETLINK, 99, 0,
		    WSAESOCKTNOSUPPORT, 0 },
		{ "bad type beats bad protocol", AF_INET, 99, 300,
		    WSAESOCKTNOSUPPORT, 0 },
		{ "flags not masked", AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0,
		    WSAESOCKTNOSUPPORT, 0 },
		{ "netlink raw", AF_NETLINK, SOCK_RAW, 0, WSAEAFNOSUPPORT, 0 },
		{ "netlink dgram", AF_NETLINK, SOCK_DGRAM, 0,
		    WSAEAFNOSUPPORT, 0 },
		{ "bad family beats bad protocol", AF_NETLINK, SOCK_DGRAM,
		    300, WSAEAFNOSUPPORT, 0 },
		{ "packet raw", AF_PACKET, SOCK_RAW, 768, WSAEAFNOSUPPORT, 0 },
		{ "inet seqpacket: only unix has the type", AF_INET,
		    SOCK_SEQPACKET, 0, WSAEAFNOSUPPORT, 0 },
		{ "inet seqpacket sctp", AF_INET, SOCK_SEQPACKET,
		    IPPROTO_SCTP, WSAEAFNOSUPPORT, 0 },
		{ "unix raw", AF_UNIX, SOCK_RAW, 0, WSAEAFNOSUPPORT, 0 },
		{ "udp with stream", AF_INET, SOCK_STREAM, IPPROTO_UDP,
		    WSAEPROTONOSUPPORT, 0 },
		{ "tcp with dgram", AF_INET, SOCK_DGRAM, IPPROTO_TCP,
		    WSAEPROTONOSUPPORT, 0 },
		{ "udp6 with stream", AF_INET6, SOCK_STREAM, IPPROTO_UDP,
		    WSAEPROTONOSUPPORT, 0 },
		{ "unix stream tcp", AF_UNIX, SOCK_STREAM, IPPROTO_TCP,
		    WSAEPROTONOSUPPORT, 0 },
		{ "inet any type, proto 300", AF_INET, 0, 300,
		    WSAEPROTONOSUPPORT, 0 },
		{ "any family, stream, sctp", 0, SOCK_STREAM, IPPROTO_SCTP,
		    WSAEPROTONOSUPPORT, 0 },
	};

	return cr_make_param_array(struct sel_case, cases, NELEM(cases));
}

ParameterizedTest(struct sel_case *c, select, first_match_or_furthest_error)
{
	const struct catalog_entry *out = NULL;
	int err;

	err = catalog_select(catalog_builtin(), c->af, c->type, c->proto,
	    &out);
	cr_assert_eq(err, c->err, "%s: got %s, want %s", c->what,
	    code_name(err), code_name(c->err));
	if (c->err == 0) {
		cr_assert_not_null(out, "%s", c->what);
		cr_assert_eq(out->info.dwCatalogEntryId, c->id,
		    "%s: got %u, want %u", c->what,
		    (unsigned)out->info.dwCatalogEntryId, (unsigned)c->id);
	} else {
		cr_assert_null(out, "%s: *out written on failure", c->what);
	}
}

Test(select, skips_layered_and_takes_chain_first)
{
	const struct catalog_entry *out = NULL;

	cr_assert_eq(catalog_select(test_catalog(), AF_INET, SOCK_STREAM,
	    IPPROTO_TCP, &out), 0);
	cr_assert_eq(out->info.dwCatalogEntryId, T_CHAIN);
	cr_assert_eq(catalog_select(test_catalog(), AF_INET, 0, 0, &out), 0);
	cr_assert_eq(out->info.dwCatalogEntryId, T_CHAIN);
}

Test(select, skips_malformed_chain_length)
{
	const struct catalog_entry *out = NULL;

	/* 2003 (unknown base) is selectable; routing refuses it later. */
	cr_assert_eq(catalog_select(test_catalog(), AF_INET6, SOCK_DGRAM, 0,
	    &out), 0);
	cr_assert_eq(out->info.dwCatalogEntryId, T_NOBASE);
	test_entries[2].info.ProtocolChain.ChainLen = -1;
	test_entries[3].info.ProtocolChain.ChainLen = 0;
	cr_assert_eq(catalog_select(test_catalog(), AF_INET6, SOCK_DGRAM, 0,
	    &out), 0);
	cr_assert_eq(out->info.dwCatalogEntryId, UDP6, "ChainLen 8 taken");
}

Test(select, only_layered_entries_support_nothing)
{
	struct catalog_entry e = mk(T_LAYER, 0, T_LAYER, 0, AF_INET,
	    SOCK_STREAM, IPPROTO_TCP);
	struct catalog c = { 1, &e };
	struct catalog empty = { 0, NULL };

	cr_assert_eq(catalog_select(&c, AF_INET, SOCK_STREAM, IPPROTO_TCP,
	    NULL), WSAEAFNOSUPPORT);
	cr_assert_eq(catalog_select(&empty, AF_INET, SOCK_STREAM, 0, NULL),
	    WSAEAFNOSUPPORT);
}

Test(select, protocol_zero_needs_the_flag)
{
	struct catalog_entry e[2];
	struct catalog c = { 2, e };
	const struct catalog_entry *out = NULL;

	e[0] = mk(3001, 1, 3001, 0, AF_INET, SOCK_STREAM, IPPROTO_TCP);
	e[0].info.dwProviderFlags = 0;
	e[1] = mk(3002, 1, 3002, 0, AF_INET, SOCK_STREAM, IPPROTO_TCP);
	cr_assert_eq(catalog_select(&c, AF_INET, SOCK_STREAM, 0, &out), 0);
	cr_assert_eq(out->info.dwCatalogEntryId, 3002);
	cr_assert_eq(catalog_select(&c, AF_INET, SOCK_STREAM, IPPROTO_TCP,
	    &out), 0);
	cr_assert_eq(out->info.dwCatalogEntryId, 3001);
	c.count = 1;
	cr_assert_eq(catalog_select(&c, AF_INET, SOCK_STREAM, 0, &out),
	    WSAEPROTONOSUPPORT);
}

Test(select, null_catalog_is_the_current_one)
{
	const struct catalog_entry *out = NULL;

	catalog_set_current(test_catalog());
	cr_assert_eq(catalog_select(NULL, AF_INET, SOCK_STREAM, 0, &out), 0);
	cr_assert_eq(out->info.dwCatalogEntryId, T_CHAIN);
	catalog_set_current(NULL);
	cr_assert_eq(catalog_select(NULL, AF_INET, SOCK_STREAM, 0, &out), 0);
	cr_assert_eq(out->info.dwCatalogEntryId, TCP);
}

/* ------------------------------------------------------------------ */
/* catalog_check on single entries. */

struct check_case {
	char	what[40];
	int	proto, maxoff;
	DWORD	pfl;
	int	af, type, p;
	int	err;
};

ParameterizedTestParameters(check, one_entry)
{
	static struct check_case cases[] = {
		{ "exact", 6, 0, 0, AF_INET, SOCK_STREAM, 6, 0 },
		{ "wildcards", 6, 0, 0, 0, 0, 6, 0 },
		{ "proto 0 without flag", 6, 0, 0, AF_INET, SOCK_STREAM, 0,
		    WSAEPROTONOSUPPORT },
		{ "proto 0 with flag", 6, 0, PZ, AF_INET, SOCK_STREAM, 0, 0 },
		{ "range low end", 10, 5, 0, AF_INET, SOCK_STREAM, 10, 0 },
		{ "range high end", 10, 5, 0, AF_INET, SOCK_STREAM, 15, 0 },
		{ "above range", 10, 5, 0, AF_INET, SOCK_STREAM, 16,
		    WSAEPROTONOSUPPORT },
		{ "below range", 10, 5, 0, AF_INET, SOCK_STREAM, 9,
		    WSAEPROTONOSUPPORT },
		{ "negative offset is empty", 10, -1, 0, AF_INET,
		    SOCK_STREAM, 10, WSAEPROTONOSUPPORT },
		{ "range to INT_MAX, no overflow", INT_MAX, INT_MAX, 0,
		    AF_INET, SOCK_STREAM, INT_MAX, 0 },
		{ "range from 0 holds 0", 0, 255, 0, AF_INET, SOCK_STREAM, 0,
		    0 },
		{ "type first", 6, 0, 0, AF_INET6, SOCK_DGRAM, 17,
		    WSAESOCKTNOSUPPORT },
		{ "family second", 6, 0, 0, AF_INET6, SOCK_STREAM, 17,
		    WSAEAFNOSUPPORT },
		{ "protocol last", 6, 0, 0, AF_INET, SOCK_STREAM, 17,
		    WSAEPROTONOSUPPORT },
		{ "FROM_PROTOCOL_INFO is no wildcard here", 6, 0, 0,
		    FROM_PROTOCOL_INFO, SOCK_STREAM, 6, WSAEAFNOSUPPORT },
	};

	return cr_make_param_array(struct check_case, cases, NELEM(cases));
}

ParameterizedTest(struct check_case *c, check, one_entry)
{
	struct catalog_entry e = mk(3001, 1, 3001, 0, AF_INET, SOCK_STREAM,
	    c->proto);
	int err;

	e.info.iProtocolMaxOffset = c->maxoff;
	e.info.dwProviderFlags = c->pfl;
	err = catalog_check(&e.info, c->af, c->type, c->p);
	cr_assert_eq(err, c->err, "%s: got %s, want %s", c->what,
	    code_name(err), code_name(c->err));
}

/* ------------------------------------------------------------------ */
/* catalog_base_of. */

Test(base_of, chain_ends_on_base)
{
	const struct catalog *t = test_catalog();
	const struct catalog_entry *tcp = catalog_by_id(t, TCP);

	cr_assert_not_null(tcp);
	cr_assert_neq(tcp, catalog_by_id(catalog_builtin(), TCP));
	cr_assert_eq(catalog_base_of(t, catalog_by_id(t, T_CHAIN)), tcp);
	cr_assert_eq(catalog_base_of(t, catalog_by_id(t, T_MISMATCH)), tcp);
	cr_assert_eq(catalog_base_of(t, tcp), tcp);
	/* The base is looked up in the catalog given. */
	cr_assert_eq(catalog_base_of(catalog_builtin(),
	    catalog_by_id(t, T_CHAIN)), catalog_by_id(catalog_builtin(), TCP));
}

Test(base_of, layered_unknown_and_malformed_are_null)
{
	const struct catalog *t = test_catalog();

	cr_assert_null(catalog_base_of(t, catalog_by_id(t, T_LAYER)));
	cr_assert_null(catalog_base_of(t, catalog_by_id(t, T_NOBASE)));
	cr_assert_null(catalog_base_of(t, catalog_by_id(t, T_ONLAYER)));
	cr_assert_null(catalog_base_of(t, catalog_by_id(t, T_TOOLONG)));
	cr_assert_null(catalog_base_of(t, NULL));
}

/* ------------------------------------------------------------------ */
/* Routing. */

struct route_case {
	char	what[56];
	int	testcat;		/* the test catalog, else built-in */
	DWORD	id;			/* info's dwCatalogEntryId */
	int	iaf, itype, iproto;	/* info's triple, KEEP: the entry's */
	DWORD	reserved;		/* info's dwProviderReserved */
	int	af, type, proto;	/* the arguments */
	int	err;
	DWORD	out;
	int	raf, rtype, rproto;	/* resolved */
};

#define FPI	FROM_PROTOCOL_INFO
#define TCP4T	AF_INET, SOCK_STREAM, IPPROTO_TCP

ParameterizedTestParameters(route, by_id_from_info_or_override)
{
	static struct route_case cases[] = {
		{ "all FROM_PROTOCOL_INFO", 0, TCP, KEEP, KEEP, KEEP, 0,
		    FPI, FPI, FPI, 0, TCP, TCP4T },
		{ "all 0", 0, TCP, KEEP, KEEP, KEEP, 0, 0, 0, 0, 0, TCP,
		    TCP4T },
		{ "af FROM_PROTOCOL_INFO", 0, TCP, KEEP, KEEP, KEEP, 0,
		    FPI, SOCK_STREAM, IPPROTO_TCP, 0, TCP, TCP4T },
		{ "type FROM_PROTOCOL_INFO", 0, TCP, KEEP, KEEP, KEEP, 0,
		    AF_INET, FPI, IPPROTO_TCP, 0, TCP, TCP4T },
		{ "protocol FROM_PROTOCOL_INFO", 0, TCP, KEEP, KEEP, KEEP, 0,
		    AF_INET, SOCK_STREAM, FPI, 0, TCP, TCP4T },
		{ "af 0", 0, TCP, KEEP, KEEP, KEEP, 0, 0, SOCK_STREAM,
		    IPPROTO_TCP, 0, TCP, TCP4T },
		{ "type 0", 0, TCP, KEEP, KEEP, KEEP, 0, AF_INET, 0,
		    IPPROTO_TCP, 0, TCP, TCP4T },
		{ "protocol 0", 0, TCP, KEEP, KEEP, KEEP, 0, AF_INET,
		    SOCK_STREAM, 0, 0, TCP, TCP4T },
		{ "explicit protocol overrides", 0, RAW, KEEP, KEEP, KEEP, 0,
		    FPI, FPI, IPPROTO_ICMP, 0, RAW, AF_INET, SOCK_RAW,
		    IPPROTO_ICMP },
		{ "explicit af checked", 0, TCP, KEEP, KEEP, KEEP, 0,
		    AF_INET6, FPI, FPI, WSAEAFNOSUPPORT, 0, 0, 0, 0 },
		{ "explicit type checked", 0, TCP, KEEP, KEEP, KEEP, 0,
		    FPI, SOCK_DGRAM, FPI, WSAESOCKTNOSUPPORT, 0, 0, 0, 0 },
		{ "explicit protocol checked", 0, TCP, KEEP, KEEP, KEEP, 0,
		    FPI, FPI, IPPROTO_UDP, WSAEPROTONOSUPPORT, 0, 0, 0, 0 },
		{ "struct's protocol checked", 0, TCP, KEEP, KEEP,
		    IPPROTO_UDP, 0, FPI, FPI, FPI, WSAEPROTONOSUPPORT, 0, 0,
		    0, 0 },
		{ "struct's family 0", 0, TCP, 0, KEEP, KEEP, 0, FPI, FPI,
		    FPI, WSAEAFNOSUPPORT, 0, 0, 0, 0 },
		{ "struct's family -1", 0, TCP, FPI, KEEP, KEEP, 0, 0, 0, 0,
		    WSAEAFNOSUPPORT, 0, 0, 0, 0 },
		{ "struct's family 0, explicit af", 0, TCP, 0, KEEP, KEEP, 0,
		    AF_INET, FPI, FPI, 0, TCP, TCP4T },
		{ "struct's type 0 stays a wildcard", 0, TCP, KEEP, 0, KEEP,
		    0, FPI, FPI, FPI, 0, TCP, AF_INET, 0, IPPROTO_TCP },
		{ "struct's protocol 0 matches zero", 0, UDP, KEEP, KEEP, 0,
		    0, FPI, FPI, FPI, 0, UDP, AF_INET, SOCK_DGRAM, 0 },
		{ "dwProviderReserved ignored", 0, TCP, KEEP, KEEP, KEEP,
		    0xdeadbeef, FPI, FPI, FPI, 0, TCP, TCP4T },
		{ "unknown id", 0, 4242, AF_INET, SOCK_STREAM, IPPROTO_TCP,
		    0, FPI, FPI, FPI, WSAEINVAL, 0, 0, 0, 0 },
		{ "id 0", 0, 0, AF_INET, SOCK_STREAM, IPPROTO_TCP, 0, FPI,
		    FPI, FPI, WSAEINVAL, 0, 0, 0, 0 },
		{ "unknown id beats bad family", 0, 4242, 0, 0, 0, 0, 0, 0,
		    0, WSAEINVAL, 0, 0, 0, 0 },
		{ "layered id", 1, T_LAYER, KEEP, KEEP, KEEP, 0, FPI, FPI,
		    FPI, WSAEINVAL, 0, 0, 0, 0 },
		{ "chain", 1, T_CHAIN, KEEP, KEEP, KEEP, 0, FPI, FPI, FPI, 0,
		    T_CHAIN, TCP4T },
		{ "chain, explicit af checked against its base", 1, T_CHAIN,
		    KEEP, KEEP, KEEP, 0, AF_INET6, FPI, FPI, WSAEAFNOSUPPORT,
		    0, 0, 0, 0 },
		{ "chain checked against its base", 1, T_MISMATCH, KEEP, KEEP,
		    KEEP, 0, FPI, FPI, FPI, WSAESOCKTNOSUPPORT, 0, 0, 0, 0 },
		{ "chain over an unknown base", 1, T_NOBASE, KEEP, KEEP, KEEP,
		    0, FPI, FPI, FPI, WSAEINVAL, 0, 0, 0, 0 },
		{ "chain ending on a layer", 1, T_ONLAYER, KEEP, KEEP, KEEP,
		    0, FPI, FPI, FPI, WSAEINVAL, 0, 0, 0, 0 },
		{ "chain too long", 1, T_TOOLONG, KEEP, KEEP, KEEP, 0, FPI,
		    FPI, FPI, WSAEINVAL, 0, 0, 0, 0 },
		{ "base entry in the test catalog", 1, UDP6, KEEP, KEEP, KEEP,
		    0, FPI, FPI, FPI, 0, UDP6, AF_INET6, SOCK_DGRAM,
		    IPPROTO_UDP },
		{ "built-in has no chain", 0, T_CHAIN, AF_INET, SOCK_STREAM,
		    IPPROTO_TCP, 0, FPI, FPI, FPI, WSAEINVAL, 0, 0, 0, 0 },
	};

	return cr_make_param_array(struct route_case, cases, NELEM(cases));
}

ParameterizedTest(struct route_case *c, route, by_id_from_info_or_override)
{
	const struct catalog *cat = c->testcat ? test_catalog() :
	    catalog_builtin();
	const struct catalog_entry *e, *out = NULL;
	WSAPROTOCOL_INFOW info;
	int af = c->af, type = c->type, proto = c->proto, err;

	memset(&info, 0, sizeof(info));
	if ((e = catalog_by_id(cat, c->id)) != NULL)
		info = e->info;
	info.dwCatalogEntryId = c->id;
	if (c->iaf != KEEP)
		info.iAddressFamily = c->iaf;
	if (c->itype != KEEP)
		info.iSocketType = c->itype;
	if (c->iproto != KEEP)
		info.iProtocol = c->iproto;
	info.dwProviderReserved = c->reserved;

	err = catalog_route(cat, &af, &type, &proto, &info, &out);
	cr_assert_eq(err, c->err, "%s: got %s, want %s", c->what,
	    code_name(err), code_name(c->err));
	if (err != 0) {
		cr_assert_null(out, "%s", c->what);
		cr_assert(af == c->af && type == c->type && proto == c->proto,
		    "%s: arguments changed on failure", c->what);
		return;
	}
	cr_assert_not_null(out, "%s", c->what);
	cr_assert_eq(out->info.dwCatalogEntryId, c->out, "%s", c->what);
	cr_assert_eq(af, c->raf, "%s: af %d", c->what, af);
	cr_assert_eq(type, c->rtype, "%s: type %d", c->what, type);
	cr_assert_eq(proto, c->rproto, "%s: protocol %d", c->what, proto);
}

Test(route, without_info_selects_and_keeps_arguments)
{
	const struct catalog_entry *out = NULL;
	int af = AF_INET, type = 0, proto = 0;

	cr_assert_eq(catalog_route(catalog_builtin(), &af, &type, &proto,
	    NULL, &out), 0);
	cr_assert_eq(out->info.dwCatalogEntryId, TCP);
	cr_assert(af == AF_INET && type == 0 && proto == 0);
	af = 0;
	cr_assert_eq(catalog_route(catalog_builtin(), &af, &type, &proto,
	    NULL, &out), WSAEINVAL);
	af = AF_INET;
	type = SOCK_STREAM;
	proto = IPPROTO_UDP;
	cr_assert_eq(catalog_route(catalog_builtin(), &af, &type, &proto,
	    NULL, &out), WSAEPROTONOSUPPORT);
}

Test(route, null_arguments_fault)
{
	int af = FPI, type = FPI;

	cr_assert_eq(catalog_route(catalog_builtin(), &af, &type, NULL,
	    &catalog_builtin()->entries[0].info, NULL), WSAEFAULT);
}

/* ------------------------------------------------------------------ */
/* Enumeration. */

struct enum_case {
	char	what[40];
	int	testcat;
	int	filtered;		/* use filter[], else NULL */
	INT	filter[4];		/* 0-terminated */
	int	hidden;
	DWORD	ids[16];
	int	n;
};

ParameterizedTestParameters(enumerate, filters_and_hides)
{
	static struct enum_case cases[] = {
		{ "all visible", 0, 0, { 0 }, 0,
		    { TCP, UDP, TCP6, UDP6, USTREAM, UDGRAM, USEQ }, 7 },
		{ "all, hidden too", 0, 0, { 0 }, 1,
		    { TCP, UDP, RAW, TCP6, UDP6, RAW6, USTREAM, UDGRAM, USEQ },
		    9 },
		{ "tcp", 0, 1, { IPPROTO_TCP }, 0, { TCP, TCP6 }, 2 },
		{ "tcp, raw range holds it", 0, 1, { IPPROTO_TCP }, 1,
		    { TCP, RAW, TCP6, RAW6 }, 4 },
		{ "udp and an unknown id", 0, 1, { 4242, IPPROTO_UDP }, 0,
		    { UDP, UDP6 }, 2 },
		{ "tcp and udp", 0, 1, { IPPROTO_UDP, IPPROTO_TCP }, 0,
		    { TCP, UDP, TCP6, UDP6 }, 4 },
		{ "only unknown ids", 0, 1, { 4242, 300 }, 1, { 0 }, 0 },
		{ "empty filter", 0, 1, { 0 }, 1, { 0 }, 0 },
		{ "icmp: raw only, hidden", 0, 1, { IPPROTO_ICMP }, 0, { 0 },
		    0 },
		{ "icmp with hidden", 0, 1, { IPPROTO_ICMP }, 1, { RAW, RAW6 },
		    2 },
		{ "layered hidden, chains shown", 1, 1, { IPPROTO_TCP }, 0,
		    { T_CHAIN, TCP, TCP6 }, 3 },
		{ "layered with hidden", 1, 1, { IPPROTO_TCP }, 1,
		    { T_LAYER, T_CHAIN, TCP, RAW, TCP6, RAW6 }, 6 },
	};

	return cr_make_param_array(struct enum_case, cases, NELEM(cases));
}

ParameterizedTest(struct enum_case *c, enumerate, filters_and_hides)
{
	const struct catalog *cat = c->testcat ? test_catalog() :
	    catalog_builtin();
	WSAPROTOCOL_INFOW buf[20];
	DWORD len = sizeof(buf);
	int n, i, err = 0;

	n = catalog_enum(cat, c->filtered ? c->filter : NULL, c->hidden,
	    buf, &len, &err);
	cr_assert_eq(n, c->n, "%s: %d entries, want %d (error %s)", c->what,
	    n, c->n, code_name(err));
	cr_assert_eq(len, (DWORD)c->n * INFO_SIZE, "%s", c->what);
	for (i = 0; i < n; i++) {
		cr_assert_eq(buf[i].dwCatalogEntryId, c->ids[i],
		    "%s: entry %d is %u, want %u", c->what, i,
		    (unsigned)buf[i].dwCatalogEntryId, (unsigned)c->ids[i]);
		cr_assert(memcmp(&buf[i], &catalog_by_id(cat,
		    c->ids[i])->info, sizeof(buf[i])) == 0, "%s: copy",
		    c->what);
	}
}

Test(enumerate, null_buffer_reports_needed_size)
{
	DWORD len = 0;
	int err = 0;

	cr_assert_eq(catalog_enum(catalog_builtin(), NULL, 0, NULL, &len,
	    &err), SOCKET_ERROR);
	cr_assert_eq(err, WSAENOBUFS);
	cr_assert_eq(len, 7 * INFO_SIZE);
	len = 0;
	cr_assert_eq(catalog_enum(catalog_builtin(), NULL, 1, NULL, &len,
	    &err), SOCKET_ERROR);
	cr_assert_eq(len, 9 * INFO_SIZE);
}

Test(enumerate, exact_fit)
{
	WSAPROTOCOL_INFOW buf[7];
	DWORD len = sizeof(buf);
	int err = 0;

	cr_assert_eq(catalog_enum(catalog_builtin(), NULL, 0, buf, &len,
	    &err), 7);
	cr_assert_eq(err, 0);
	cr_assert_eq(len, sizeof(buf));
	cr_assert_eq(buf[6].dwCatalogEntryId, USEQ);
}

Test(enumerate, one_byte_short)
{
	WSAPROTOCOL_INFOW buf[7];
	DWORD len = sizeof(buf) - 1;
	int err = 0;
	size_t i;

	memset(buf, 0xA5, sizeof(buf));
	cr_assert_eq(catalog_enum(catalog_builtin(), NULL, 0, buf, &len,
	    &err), SOCKET_ERROR);
	cr_assert_eq(err, WSAENOBUFS);
	cr_assert_eq(len, sizeof(buf));
	for (i = 0; i < sizeof(buf); i++)
		cr_assert_eq(((unsigned char *)buf)[i], 0xA5,
		    "buffer written at byte %zu", i);
}

Test(enumerate, filtered_size_counts_only_matches)
{
	static const INT udp[] = { IPPROTO_UDP, 0 };
	WSAPROTOCOL_INFOW buf[2];
	DWORD len = INFO_SIZE;
	int err = 0;

	cr_assert_eq(catalog_enum(catalog_builtin(), udp, 0, buf, &len,
	    &err), SOCKET_ERROR);
	cr_assert_eq(err, WSAENOBUFS);
	cr_assert_eq(len, 2 * INFO_SIZE);
	cr_assert_eq(catalog_enum(catalog_builtin(), udp, 0, buf, &len,
	    &err), 2);
}

Test(enumerate, faults)
{
	WSAPROTOCOL_INFOW buf[1];
	static const INT none[] = { 4242, 0 };
	DWORD len = 9 * INFO_SIZE;
	int err = 0;

	cr_assert_eq(catalog_enum(catalog_builtin(), NULL, 0, buf, NULL,
	    &err), SOCKET_ERROR);
	cr_assert_eq(err, WSAEFAULT);
	err = 0;
	cr_assert_eq(catalog_enum(catalog_builtin(), NULL, 0, NULL, &len,
	    &err), SOCKET_ERROR);
	cr_assert_eq(err, WSAEFAULT, "NULL buffer that would be written");
	/* Nothing to write: a NULL buffer is fine. */
	len = 100;
	cr_assert_eq(catalog_enum(catalog_builtin(), none, 0, NULL, &len,
	    &err), 0);
	cr_assert_eq(len, 0);
	/* No lpErrno: still no crash, still the right result. */
	len = 0;
	cr_assert_eq(catalog_enum(catalog_builtin(), NULL, 0, NULL, &len,
	    NULL), SOCKET_ERROR);
	cr_assert_eq(len, 7 * INFO_SIZE);
}

/* ------------------------------------------------------------------ */
/* The A and W forms. */

Test(convert, builtin_round_trip)
{
	const struct catalog *cat = catalog_builtin();
	WSAPROTOCOL_INFOA a;
	WSAPROTOCOL_INFOW w;
	char want[64];
	size_t i;

	for (i = 0; i < cat->count; i++) {
		const WSAPROTOCOL_INFOW *e = &cat->entries[i].info;

		catalog_info_to_a(e, &a);
		wstr_to_utf8(want, sizeof(want), e->szProtocol);
		cr_assert_str_eq(a.szProtocol, want);
		cr_assert_eq(strncmp(a.szProtocol, "wspshim [", 9), 0);
		cr_assert(memcmp(&a, e, offsetof(WSAPROTOCOL_INFOA,
		    szProtocol)) == 0, "entry %zu: fields differ", i);
		catalog_info_to_w(&a, &w);
		cr_assert(memcmp(&w, e, sizeof(w)) == 0,
		    "entry %zu: W -> A -> W differs", i);
	}
}

Test(convert, non_ascii_names)
{
	WSAPROTOCOL_INFOW w, back;
	WSAPROTOCOL_INFOA a;

	memset(&w, 0, sizeof(w));
	w.dwCatalogEntryId = 77;
	w.iProtocol = 6;
	/* "é€😀" */
	wstr_from_utf8(w.szProtocol, WSAPROTOCOL_LEN + 1,
	    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	catalog_info_to_a(&w, &a);
	cr_assert_str_eq(a.szProtocol, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	cr_assert_eq(a.dwCatalogEntryId, 77);
	cr_assert_eq(a.iProtocol, 6);
	catalog_info_to_w(&a, &back);
	cr_assert(memcmp(&back, &w, sizeof(w)) == 0);
}

Test(convert, to_a_cuts_between_sequences)
{
	WSAPROTOCOL_INFOW w;
	WSAPROTOCOL_INFOA a;
	size_t i;

	memset(&w, 0, sizeof(w));
	for (i = 0; i < WSAPROTOCOL_LEN; i++)
		w.szProtocol[i] = 0x20AC;	/* 3 UTF-8 bytes each */
	w.szProtocol[i++] = 'x';		/* a 256th, unterminated */
	catalog_info_to_a(&w, &a);
	/* 255 bytes hold 85 whole euro signs. */
	cr_assert_eq(strlen(a.szProtocol), 255);
	for (i = 0; i < 255; i += 3)
		cr_assert(memcmp(a.szProtocol + i, "\xe2\x82\xac", 3) == 0,
		    "byte %zu", i);
}

Test(convert, unterminated_names_are_cut)
{
	WSAPROTOCOL_INFOW w;
	WSAPROTOCOL_INFOA a;
	size_t i;

	memset(&w, 0, sizeof(w));
	for (i = 0; i <= WSAPROTOCOL_LEN; i++)
		w.szProtocol[i] = 'x';
	catalog_info_to_a(&w, &a);
	cr_assert_eq(strlen(a.szProtocol), WSAPROTOCOL_LEN);
	memset(a.szProtocol, 'y', sizeof(a.szProtocol));
	catalog_info_to_w(&a, &w);
	cr_assert_eq(wstr_len(w.szProtocol), WSAPROTOCOL_LEN);
	cr_assert_eq(w.szProtocol[0], 'y');
}

Test(convert, bad_utf8_becomes_fffd)
{
	WSAPROTOCOL_INFOA a;
	WSAPROTOCOL_INFOW w;

	memset(&a, 0, sizeof(a));
	memcpy(a.szProtocol, "a\xff" "b", 4);
	catalog_info_to_w(&a, &w);
	cr_assert_eq(w.szProtocol[0], 'a');
	cr_assert_eq(w.szProtocol[1], 0xFFFD);
	cr_assert_eq(w.szProtocol[2], 'b');
	cr_assert_eq(w.szProtocol[3], 0);
}
