/*
 * test_catedit.c - catalog editing (copy, add a layer over bases and over
 * chains, remove, reorder, publish) and the run catalog WSPSHIM_LAYERS
 * builds with it.
 *
 * Parameters hold arrays, not pointers: Criterion re-executes the binary
 * for each test, so addresses from the parent's image mean nothing there.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "catedit.h"
#include "layerenv.h"
#include "wstr.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

enum { TCP = 1001, UDP, RAW, TCP6, UDP6, RAW6, USTREAM, UDGRAM, USEQ };
#define NBUILTIN	9
#define NEXT		1010	/* the first id an edit of the built-ins has */

static const GUID g_trace = { 0x11111111, 0x2222, 0x3333,
    { 1, 2, 3, 4, 5, 6, 7, 8 } };
static const GUID g_other = { 0x44444444, 0x5555, 0x6666,
    { 8, 7, 6, 5, 4, 3, 2, 1 } };

/* A GUID that differs in its last byte for each n. */
static GUID
guid_n(int n)
{
	GUID g = g_other;

	g.Data4[7] = (BYTE)(0x40 + n);
	return g;
}

/* Whether a WCHAR string equals a UTF-8 one. */
static int
wname_is(const WCHAR *w, const char *s)
{
	char buf[4 * (WSAPROTOCOL_LEN + 1)];

	wstr_to_utf8(buf, sizeof(buf), w);
	return strcmp(buf, s) == 0;
}

/* The entry name as UTF-8, for failure messages (a static buffer). */
static const char *
name_of(const WCHAR *w)
{
	static char buf[4 * (WSAPROTOCOL_LEN + 1)];

	wstr_to_utf8(buf, sizeof(buf), w);
	return buf;
}

/* The entry of ed with this id; fails the test when there is none. */
static const struct catalog_entry *
by_id(const struct catalog_edit *ed, DWORD id)
{
	const struct catalog_entry *e = catalog_by_id(&ed->cat, id);

	cr_assert_not_null(e, "no entry %u", id);
	return e;
}

/* The position of id in ed, or -1. */
static int
pos_of(const struct catalog_edit *ed, DWORD id)
{
	size_t i;

	for (i = 0; i < ed->cat.count; i++)
		if (ed->cat.entries[i].info.dwCatalogEntryId == id)
			return (int)i;
	return -1;
}

/* An edit of the built-in catalog. */
static void
begin_builtin(struct catalog_edit *ed)
{
	cr_assert_eq(catedit_begin(ed, catalog_builtin(), 0), 0);
}

/* ------------------------------------------------------------------ */
/* Copying. */

Test(begin, copies_the_catalog_and_owns_its_strings)
{
	const struct catalog *b = catalog_builtin();
	struct catalog_edit ed;
	size_t i;

	begin_builtin(&ed);
	cr_assert_eq(ed.cat.count, b->count);
	cr_assert_eq(ed.cat.entries, ed.e);
	cr_assert_eq(ed.next_id, NEXT);
	for (i = 0; i < b->count; i++) {
		cr_expect_eq(memcmp(&ed.e[i].info, &b->entries[i].info,
		    sizeof(WSAPROTOCOL_INFOW)), 0, "entry %zu", i);
		cr_expect_str_eq(ed.e[i].path, b->entries[i].path);
		cr_expect_neq(ed.e[i].path, b->entries[i].path);
		cr_expect_null(ed.e[i].params);
	}
	catedit_free(&ed);
	cr_expect_eq(ed.cat.count, 0);
	cr_expect_null(ed.e);
}

Test(begin, null_means_the_catalog_in_force)
{
	struct catalog_edit ed;

	cr_assert_eq(catedit_begin(&ed, NULL, 0), 0);
	cr_expect_eq(ed.cat.count, catalog_current()->count);
	catedit_free(&ed);
}

struct next_case {
	DWORD	given, want;
};

ParameterizedTestParameters(begin, next_id)
{
	static struct next_case cases[] = {
		{ 0, NEXT },		/* computed */
		{ 5000, 5000 },		/* a counter from a file */
		{ NEXT, NEXT },
		{ 1005, NEXT },		/* below an id in use: raised */
		{ 1, NEXT },
	};

	return cr_make_param_array(struct next_case, cases, NELEM(cases));
}

ParameterizedTest(struct next_case *c, begin, next_id)
{
	struct catalog_edit ed;

	cr_assert_eq(catedit_begin(&ed, catalog_builtin(), c->given), 0);
	cr_expect_eq(ed.next_id, c->want, "given %u: %u, want %u", c->given,
	    ed.next_id, c->want);
	catedit_free(&ed);
}

Test(begin, empty_catalog_starts_at_the_first_id)
{
	static const struct catalog empty = { 0, NULL };
	struct catalog_edit ed;
	DWORD id;

	cr_assert_eq(catedit_begin(&ed, &empty, 0), 0);
	cr_expect_eq(ed.next_id, CATALOG_FIRST_ID);
	cr_assert_eq(catedit_add_layer(&ed, &g_trace, "/l.so", "l", NULL,
	    NULL, 0, &id), 0);
	cr_expect_eq(id, CATALOG_FIRST_ID);
	cr_expect_eq(ed.cat.count, 1);
	catedit_free(&ed);
}

/* ------------------------------------------------------------------ */
/* A layer over base entries. */

Test(add, layer_over_bases_entries_and_ids)
{
	static const DWORD over[] = { TCP, UDP6, USTREAM };
	const struct catalog_entry *l, *c;
	struct catalog_edit ed;
	DWORD id = 0;
	size_t i;

	begin_builtin(&ed);
	cr_assert_eq(catedit_add_layer(&ed, &g_trace, "/x/libwsp_trace.so",
	    "trace", "out=/tmp/t", over, NELEM(over), &id), 0);
	cr_expect_eq(id, NEXT);
	cr_expect_eq(ed.next_id, NEXT + 1 + NELEM(over));
	cr_assert_eq(ed.cat.count, NBUILTIN + 1 + NELEM(over));

	/* The layered entry: hidden, ChainLen 0, the layer's own. */
	l = by_id(&ed, id);
	cr_expect_eq(l->info.ProtocolChain.ChainLen, LAYERED_PROTOCOL);
	cr_expect(l->info.dwProviderFlags & PFL_HIDDEN);
	cr_expect_eq(memcmp(&l->info.ProviderId, &g_trace, sizeof(GUID)), 0);
	cr_expect(wname_is(l->info.szProtocol, "trace"), "name %s",
	    name_of(l->info.szProtocol));
	cr_expect_str_eq(l->path, "/x/libwsp_trace.so");
	cr_expect_str_eq(l->params, "out=/tmp/t");

	/* One chain per over entry, ids in over[] order. */
	for (i = 0; i < NELEM(over); i++) {
		c = by_id(&ed, id + 1 + (DWORD)i);
		cr_expect_eq(c->info.ProtocolChain.ChainLen, 2);
		cr_expect_eq(c->info.ProtocolChain.ChainEntries[0], id);
		cr_expect_eq(c->info.ProtocolChain.ChainEntries[1], over[i]);
		cr_expect_eq(memcmp(&c->info.ProviderId, &g_trace,
		    sizeof(GUID)), 0);
		cr_expect_str_eq(c->path, "/x/libwsp_trace.so");
		cr_expect_str_eq(c->params, "out=/tmp/t");
	}
	catedit_free(&ed);
}

Test(add, new_entries_come_first_in_order)
{
	static const DWORD over[] = { UDP, TCP };
	struct catalog_edit ed;
	DWORD id;
	size_t i;

	begin_builtin(&ed);
	cr_assert_eq(catedit_add_layer(&ed, &g_trace, "/t.so", "t", NULL,
	    over, NELEM(over), &id), 0);
	cr_expect_eq(pos_of(&ed, id), 0);
	cr_expect_eq(pos_of(&ed, id + 1), 1);	/* over UDP */
	cr_expect_eq(pos_of(&ed, id + 2), 2);	/* over TCP */
	for (i = 0; i < NBUILTIN; i++)
		cr_expect_eq(pos_of(&ed, CATALOG_FIRST_ID + (DWORD)i),
		    3 + (int)i, "base %zu", i);
	catedit_free(&ed);
}

/* Each built-in entry a chain can go over, and the chain's name. */
struct over_case {
	DWORD	base;
	char	name[64];
};

ParameterizedTestParameters(add, chain_copies_protocol_fields)
{
	static struct over_case cases[] = {
		{ TCP, "trace over [wspshim [TCP/IP]]" },
		{ UDP, "trace over [wspshim [UDP/IP]]" },
		{ RAW, "trace over [wspshim [RAW/IP]]" },
		{ TCP6, "trace over [wspshim [TCP/IPv6]]" },
		{ UDP6, "trace over [wspshim [UDP/IPv6]]" },
		{ RAW6, "trace over [wspshim [RAW/IPv6]]" },
		{ USTREAM, "trace over [wspshim [UNIX stream]]" },
		{ UDGRAM, "trace over [wspshim [UNIX datagram]]" },
		{ USEQ, "trace over [wspshim [UNIX seqpacket]]" },
	};

	return cr_make_param_array(struct over_case, cases, NELEM(cases));
}

ParameterizedTest(struct over_case *oc, add, chain_copies_protocol_fields)
{
	const WSAPROTOCOL_INFOW *b, *c;
	struct catalog_edit ed;
	DWORD id;

	begin_builtin(&ed);
	cr_assert_eq(catedit_add_layer(&ed, &g_trace, "/t.so", "trace", NULL,
	    &oc->base, 1, &id), 0);
	b = &by_id(&ed, oc->base)->info;
	c = &by_id(&ed, id + 1)->info;
	cr_expect_eq(c->dwServiceFlags1, b->dwServiceFlags1);
	cr_expect_eq(c->dwServiceFlags2, b->dwServiceFlags2);
	cr_expect_eq(c->dwProviderFlags, b->dwProviderFlags);
	cr_expect_eq(c->iVersion, b->iVersion);
	cr_expect_eq(c->iAddressFamily, b->iAddressFamily);
	cr_expect_eq(c->iMaxSockAddr, b->iMaxSockAddr);
	cr_expect_eq(c->iMinSockAddr, b->iMinSockAddr);
	cr_expect_eq(c->iSocketType, b->iSocketType);
	cr_expect_eq(c->iProtocol, b->iProtocol);
	cr_expect_eq(c->iProtocolMaxOffset, b->iProtocolMaxOffset);
	cr_expect_eq(c->iNetworkByteOrder, b->iNetworkByteOrder);
	cr_expect_eq(c->iSecurityScheme, b->iSecurityScheme);
	cr_expect_eq(c->dwMessageSize, b->dwMessageSize);
	cr_expect_eq(c->dwProviderReserved, 0);
	cr_expect(wname_is(c->szProtocol, oc->name), "name \"%s\", want "
	    "\"%s\"", name_of(c->szProtocol), oc->name);
	/* The base entry itself is left as it was. */
	cr_expect_eq(memcmp(b, &catalog_builtin()->entries[oc->base -
	    CATALOG_FIRST_ID].info, sizeof(*b)), 0);
	catedit_free(&ed);
}

Test(add, layered_entry_is_hidden_from_enumeration)
{
	WSAPROTOCOL_INFOW buf[32];
	DWORD len = sizeof(buf), id, tcp = TCP;
	struct catalog_edit ed;
	int n, err, i, seen = 0;

	begin_builtin(&ed);
	cr_assert_eq(catedit_add_layer(&ed, &g_trace, "/t.so", "t", NULL,
	    &tcp, 1, &id), 0);
	n = catalog_enum(&ed.cat, NULL, 0, buf, &len, &err);
	cr_assert_gt(n, 0);
	for (i = 0; i < n; i++) {
		cr_expect_neq(buf[i].dwCatalogEntryId, id);
		seen |= buf[i].dwCatalogEntryId == id + 1;
	}
	cr_expect(seen, "the chain is listed");
	len = sizeof(buf);
	n = catalog_enum(&ed.cat, NULL, 1, buf, &len, &err);
	for (i = 0, seen = 0; i < n; i++)
		seen |= buf[i].dwCatalogEntryId == id;
	cr_expect(seen, "WSCEnumProtocols lists the layered entry");
	catedit_free(&ed);
}

Test(add, selection_picks_the_new_chain)
{
	static const DWORD over[] = { TCP, UDP };
	const struct catalog_entry *e;
	struct catalog_edit ed;
	DWORD id;

	begin_builtin(&ed);
	cr_assert_eq(catedit_add_layer(&ed, &g_trace, "/t.so", "t", NULL,
	    over, NELEM(over), &id), 0);
	cr_assert_eq(catalog_select(&ed.cat, AF_INET, SOCK_STREAM, 0, &e), 0);
	cr_expect_eq(e->info.dwCatalogEntryId, id + 1);
	cr_assert_eq(catalog_select(&ed.cat, AF_INET, SOCK_DGRAM,
	    IPPROTO_UDP, &e), 0);
	cr_expect_eq(e->info.dwCatalogEntryId, id + 2);
	/* Not covered: still the base. */
	cr_assert_eq(catalog_select(&ed.cat, AF_INET6, SOCK_STREAM, 0, &e),
	    0);
	cr_expect_eq(e->info.dwCatalogEntryId, TCP6);
	/* The chain routes by its id and ends on its base. */
	cr_expect_eq(catalog_base_of(&ed.cat, by_id(&ed, id + 1)),
	    by_id(&ed, TCP));
	catedit_free(&ed);
}

/* ------------------------------------------------------------------ */
/* A layer over chains. */

Test(add, layer_over_a_chain)
{
	const struct catalog_entry *c, *e;
	struct catalog_edit ed;
	DWORD l1, l2, chain;

	begin_builtin(&ed);
	chain = TCP6;
	cr_assert_eq(catedit_add_layer(&ed, &g_trace, "/t.so", "trace", NULL,
	    &chain, 1, &l1), 0);
	chain = l1 + 1;
	cr_assert_eq(catedit_add_layer(&ed, &g_other, "/s.so", "stats", "p",
	    &chain, 1, &l2), 0);
	cr_expect_eq(l2, l1 + 2);
	c = by_id(&ed, l2 + 1);
	cr_expect_eq(c->info.ProtocolChain.ChainLen, 3);
	cr_expect_eq(c->info.ProtocolChain.ChainEntries[0], l2);
	cr_expect_eq(c->info.ProtocolChain.ChainEntries[1], l1);
	cr_expect_eq(c->info.ProtocolChain.ChainEntries[2], TCP6);
	cr_expect_eq(memcmp(&c->info.ProviderId, &g_other, sizeof(GUID)), 0);
	cr_expect(wname_is(c->info.szProtocol,
	    "stats over [trace over [wspshim [TCP/IPv6]]]"), "name %s",
	    name_of(c->info.szProtocol));
	cr_expect_str_eq(c->path, "/s.so");
	cr_expect_str_eq(c->params, "p");
	/* The newest layer's chain is first and wins selection; the one
	 * below stays, after it. */
	cr_expect_eq(pos_of(&ed, l2), 0);
	cr_expect_eq(pos_of(&ed, l2 + 1), 1);
	cr_expect_lt(pos_of(&ed, l2 + 1), pos_of(&ed, l1 + 1));
	cr_assert_eq(catalog_select(&ed.cat, AF_INET6, SOCK_STREAM, 0, &e),
	    0);
	cr_expect_eq(e, c);
	cr_expect_eq(catalog_base_of(&ed.cat, c), by_id(&ed, TCP6));
	catedit_free(&ed);
}

Test(add, depth_limit_is_seven)
{
	struct catalog_edit ed;
	DWORD over = UDP, id = 0;
	size_t count;
	int depth;
	GUID g;

	begin_builtin(&ed);
	/* Six layers fit over a base: chains of length 2 .. 7. */
	for (depth = 1; depth <= MAX_PROTOCOL_CHAIN - 1; depth++) {
		g = guid_n(depth);
		cr_assert_eq(catedit_add_layer(&ed, &g, "/l.so", "l", NULL,
		    &over, 1, &id), 0, "depth %d", depth);
		over = id + 1;
		cr_expect_eq(by_id(&ed, over)->info.ProtocolChain.ChainLen,
		    depth + 1);
	}
	cr_expect_eq(by_id(&ed, over)->info.ProtocolChain.ChainEntries[6],
	    UDP);
	/* A seventh would make a chain of eight: refused, nothing kept. */
	count = ed.cat.count;
	id = ed.next_id;
	g = guid_n(7);
	cr_expect_eq(catedit_add_layer(&ed, &g, "/l.so", "l", NULL, &over, 1,
	    NULL), WSAEINVAL);
	cr_expect_eq(ed.cat.count, count);
	cr_expect_eq(ed.next_id, id);
	catedit_free(&ed);
}

/* Bad over[] lists: the edit stays as it was. */
struct bad_over_case {
	char	what[32];
	DWORD	over[3];
	size_t	n;
};

ParameterizedTestParameters(add, bad_over_is_refused)
{
	static struct bad_over_case cases[] = {
		{ "unknown id", { 4242 }, 1 },
		{ "unknown after good", { TCP, 4242 }, 2 },
		{ "layered entry", { NEXT }, 1 },
		{ "repeated id", { TCP, UDP, TCP }, 3 },
		{ "id 0", { 0 }, 1 },
	};

	return cr_make_param_array(struct bad_over_case, cases,
	    NELEM(cases));
}

ParameterizedTest(struct bad_over_case *c, add, bad_over_is_refused)
{
	struct catalog_edit ed;
	DWORD tcp = TCP, next;
	size_t count;

	begin_builtin(&ed);
	/* A layered entry with id NEXT exists for the "layered" case. */
	cr_assert_eq(catedit_add_layer(&ed, &g_trace, "/t.so", "t", NULL,
	    &tcp, 1, NULL), 0);
	count = ed.cat.count;
	next = ed.next_id;
	cr_expect_eq(catedit_add_layer(&ed, &g_other, "/o.so", "o", NULL,
	    c->over, c->n, NULL), WSAEINVAL, "%s", c->what);
	cr_expect_eq(ed.cat.count, count);
	cr_expect_eq(ed.next_id, next);
	catedit_free(&ed);
}

Test(add, missing_arguments_are_refused)
{
	struct catalog_edit ed;
	DWORD tcp = TCP;

	begin_builtin(&ed);
	cr_expect_eq(catedit_add_layer(&ed, NULL, "/t.so", "t", NULL, &tcp, 1,
	    NULL), WSAEINVAL);
	cr_expect_eq(catedit_add_layer(&ed, &g_trace, NULL, "t", NULL, &tcp,
	    1, NULL), WSAEINVAL);
	cr_expect_eq(catedit_add_layer(&ed, &g_trace, "/t.so", NULL, NULL,
	    &tcp, 1, NULL), WSAEINVAL);
	cr_expect_eq(catedit_add_layer(&ed, &g_trace, "/t.so", "t", NULL,
	    NULL, 1, NULL), WSAEINVAL);
	cr_expect_eq(ed.cat.count, NBUILTIN);
	catedit_free(&ed);
}

Test(add, long_names_are_cut_and_keep_the_bracket)
{
	char name[400];
	const WCHAR *w;
	struct catalog_edit ed;
	DWORD id, tcp = TCP;
	size_t n;

	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	begin_builtin(&ed);
	cr_assert_eq(catedit_add_layer(&ed, &g_trace, "/t.so", name, NULL,
	    &tcp, 1, &id), 0);
	w = by_id(&ed, id)->info.szProtocol;
	cr_expect_eq(wstr_len(w), WSAPROTOCOL_LEN);
	w = by_id(&ed, id + 1)->info.szProtocol;
	n = wstr_len(w);
	cr_expect_leq(n, WSAPROTOCOL_LEN);
	cr_expect_eq(w[n - 1], u']');
	catedit_free(&ed);
}

/* Whether every code unit of w after its terminator is 0. */
static int
zero_tail(const WCHAR *w)
{
	size_t i;

	for (i = wstr_len(w); i <= WSAPROTOCOL_LEN; i++)
		if (w[i] != 0)
			return 0;
	return 1;
}

Test(add, names_are_zero_after_the_terminator)
{
	struct catalog_edit ed;
	DWORD over = UDGRAM, id;

	begin_builtin(&ed);
	cr_assert_eq(catedit_add_layer(&ed, &g_trace, "/t.so", "t", NULL,
	    &over, 1, &id), 0);
	over = id + 1;
	cr_assert_eq(catedit_add_layer(&ed, &g_other, "/o.so", "o", NULL,
	    &over, 1, &id), 0);
	cr_expect(zero_tail(by_id(&ed, id)->info.szProtocol));
	cr_expect(zero_tail(by_id(&ed, id + 1)->info.szProtocol));
	cr_expect(zero_tail(by_id(&ed, over)->info.szProtocol));
	catedit_free(&ed);
}

Test(add, name_cut_never_splits_a_surrogate_pair)
{
	/* 130 U+1F600 (a pair each): the over name is cut within them. */
	char name[130 * 4 + 1];
	struct catalog_edit ed;
	const WCHAR *w;
	DWORD id, over;
	size_t i, n;

	for (i = 0; i < 130; i++)
		memcpy(name + 4 * i, "\xf0\x9f\x98\x80", 4);
	name[sizeof(name) - 1] = '\0';
	begin_builtin(&ed);
	over = TCP;
	cr_assert_eq(catedit_add_layer(&ed, &g_trace, "/t.so", name, NULL,
	    &over, 1, &id), 0);
	over = id + 1;
	cr_assert_eq(catedit_add_layer(&ed, &g_other, "/o.so", "o", NULL,
	    &over, 1, &id), 0);
	w = by_id(&ed, id + 1)->info.szProtocol;
	n = wstr_len(w);
	cr_expect_eq(w[n - 1], u']');
	cr_expect(!(w[n - 2] >= 0xd800 && w[n - 2] <= 0xdbff),
	    "half a surrogate pair before the bracket");
	catedit_free(&ed);
}

/* ------------------------------------------------------------------ */
/* Removing. */

Test(remove, provider_and_its_chains)
{
	static const DWORD over[] = { TCP, UDP };
	struct catalog_edit ed;
	DWORD id;

	begin_builtin(&ed);
	cr_assert_eq(catedit_add_layer(&ed, &g_trace, "/t.so", "t", NULL,
	    over, NELEM(over), &id), 0);
	cr_assert_eq(catedit_remove_provider(&ed, &g_trace), 0);
	cr_expect_eq(ed.cat.count, NBUILTIN);
	cr_expect_null(catalog_by_id(&ed.cat, id));
	cr_expect_null(catalog_by_id(&ed.cat, id + 1));
	cr_expect_null(catalog_by_id(&ed.cat, id + 2));
	cr_expect_eq(pos_of(&ed, TCP), 0);
	catedit_free(&ed);
}

Test(remove, lower_layer_takes_the_chains_over_it)
{
	struct catalog_edit ed;
	DWORD l1, l2, l3, over = TCP, other = UDP;

	begin_builtin(&ed);
	cr_assert_eq(catedit_add_layer(&ed, &g_trace, "/t.so", "t", NULL,
	    &over, 1, &l1), 0);
	over = l1 + 1;
	cr_assert_eq(catedit_add_layer(&ed, &g_other, "/o.so", "o", NULL,
	    &over, 1, &l2), 0);
	/* g_other also goes straight over UDP: that chain goes with it. */
	{
		GUID g3 = guid_n(3);

		cr_assert_eq(catedit_add_layer(&ed, &g3, "/3.so", "3", NULL,
		    &other, 1, &l3), 0);
	}
	cr_assert_eq(catedit_remove_provider(&ed, &g_trace), 0);
	cr_expect_null(catalog_by_id(&ed.cat, l1));
	cr_expect_null(catalog_by_id(&ed.cat, l1 + 1));
	/* o's chain named t: gone; o's layered entry stays. */
	cr_expect_null(catalog_by_id(&ed.cat, l2 + 1));
	cr_expect_not_null(catalog_by_id(&ed.cat, l2));
	cr_expect_not_null(catalog_by_id(&ed.cat, l3 + 1));
	cr_expect_eq(ed.cat.count, NBUILTIN + 1 + 2);
	catedit_free(&ed);
}

Test(remove, unknown_provider_is_einval)
{
	struct catalog_edit ed;

	begin_builtin(&ed);
	cr_expect_eq(catedit_remove_provider(&ed, &g_trace), WSAEINVAL);
	cr_expect_eq(catedit_remove_provider(&ed, NULL), WSAEINVAL);
	cr_expect_eq(ed.cat.count, NBUILTIN);
	catedit_free(&ed);
}

Test(remove, base_provider_takes_every_chain)
{
	struct catalog_edit ed;
	DWORD tcp = TCP, id;

	begin_builtin(&ed);
	cr_assert_eq(catedit_add_layer(&ed, &g_trace, "/t.so", "t", NULL,
	    &tcp, 1, &id), 0);
	cr_assert_eq(catedit_remove_provider(&ed, &catalog_base_guid), 0);
	cr_expect_eq(ed.cat.count, 1);
	cr_expect_eq(ed.cat.entries[0].info.dwCatalogEntryId, id);
	catedit_free(&ed);
}

Test(ids, never_reused)
{
	struct catalog_edit ed;
	DWORD a, b, tcp = TCP;

	begin_builtin(&ed);
	cr_assert_eq(catedit_add_layer(&ed, &g_trace, "/t.so", "t", NULL,
	    &tcp, 1, &a), 0);
	cr_assert_eq(catedit_remove_provider(&ed, &g_trace), 0);
	cr_assert_eq(catedit_add_layer(&ed, &g_trace, "/t.so", "t", NULL,
	    &tcp, 1, &b), 0);
	cr_expect_eq(b, a + 2, "ids %u then %u", a, b);
	catedit_free(&ed);
}

Test(ids, survive_a_round_trip_through_next_id)
{
	struct catalog_edit ed, ed2;
	const struct catalog *c;
	DWORD a, b, tcp = TCP;

	begin_builtin(&ed);
	cr_assert_eq(catedit_add_layer(&ed, &g_trace, "/t.so", "t", NULL,
	    &tcp, 1, &a), 0);
	cr_assert_eq(catedit_remove_provider(&ed, &g_trace), 0);
	c = catedit_publish(&ed);
	cr_assert_not_null(c);
	/* The published catalog no longer shows a or a + 1; the counter
	 * carried along (as the catalog file keeps it) still skips them. */
	cr_assert_eq(catedit_begin(&ed2, c, ed.next_id), 0);
	cr_assert_eq(catedit_add_layer(&ed2, &g_trace, "/t.so", "t", NULL,
	    &tcp, 1, &b), 0);
	cr_expect_gt(b, a + 1);
	catedit_free(&ed2);
	catedit_free(&ed);
}

/* ------------------------------------------------------------------ */
/* Reordering. */

Test(reorder, listed_first_rest_in_old_order)
{
	static const DWORD ids[] = { USEQ, TCP6 };
	struct catalog_edit ed;
	DWORD rest[] = { TCP, UDP, RAW, UDP6, RAW6, USTREAM, UDGRAM };
	size_t i;

	begin_builtin(&ed);
	cr_assert_eq(catedit_reorder(&ed, ids, NELEM(ids)), 0);
	cr_expect_eq(pos_of(&ed, USEQ), 0);
	cr_expect_eq(pos_of(&ed, TCP6), 1);
	for (i = 0; i < NELEM(rest); i++)
		cr_expect_eq(pos_of(&ed, rest[i]), 2 + (int)i);
	cr_expect_eq(ed.cat.count, NBUILTIN);
	catedit_free(&ed);
}

Test(reorder, moves_a_chain_behind_its_base)
{
	const struct catalog_entry *e;
	struct catalog_edit ed;
	DWORD tcp = TCP, id;

	begin_builtin(&ed);
	cr_assert_eq(catedit_add_layer(&ed, &g_trace, "/t.so", "t", NULL,
	    &tcp, 1, &id), 0);
	cr_assert_eq(catedit_reorder(&ed, &tcp, 1), 0);
	cr_assert_eq(catalog_select(&ed.cat, AF_INET, SOCK_STREAM, 0, &e), 0);
	cr_expect_eq(e->info.dwCatalogEntryId, TCP);
	cr_expect_str_eq(by_id(&ed, id + 1)->path, "/t.so");
	catedit_free(&ed);
}

struct bad_order_case {
	char	what[32];
	DWORD	ids[3];
	size_t	n;
};

ParameterizedTestParameters(reorder, bad_lists_are_refused)
{
	static struct bad_order_case cases[] = {
		{ "unknown id", { TCP, 4242 }, 2 },
		{ "repeated id", { UDP, TCP, UDP }, 3 },
		{ "id 0", { 0 }, 1 },
	};

	return cr_make_param_array(struct bad_order_case, cases,
	    NELEM(cases));
}

ParameterizedTest(struct bad_order_case *c, reorder, bad_lists_are_refused)
{
	struct catalog_edit ed;
	size_t i;

	begin_builtin(&ed);
	cr_expect_eq(catedit_reorder(&ed, c->ids, c->n), WSAEINVAL, "%s",
	    c->what);
	for (i = 0; i < NBUILTIN; i++)
		cr_expect_eq(pos_of(&ed, CATALOG_FIRST_ID + (DWORD)i),
		    (int)i);
	catedit_free(&ed);
}

/* ------------------------------------------------------------------ */
/* Publishing. */

Test(publish, frozen_copy_independent_of_the_edit)
{
	static const DWORD over[] = { TCP, UDP };
	const struct catalog *c;
	struct catalog_edit ed;
	DWORD id;
	size_t i, n;

	begin_builtin(&ed);
	cr_assert_eq(catedit_add_layer(&ed, &g_trace, "/t.so", "t", "a=b",
	    over, NELEM(over), &id), 0);
	c = catedit_publish(&ed);
	cr_assert_not_null(c);
	n = ed.cat.count;
	cr_assert_eq(c->count, n);
	cr_assert_neq(c->entries, ed.cat.entries);
	for (i = 0; i < n; i++) {
		cr_expect_eq(memcmp(&c->entries[i].info, &ed.e[i].info,
		    sizeof(WSAPROTOCOL_INFOW)), 0);
		cr_expect_str_eq(c->entries[i].path, ed.e[i].path);
		cr_expect_neq(c->entries[i].path, ed.e[i].path);
		if (ed.e[i].params == NULL)
			cr_expect_null(c->entries[i].params);
		else
			cr_expect_str_eq(c->entries[i].params,
			    ed.e[i].params);
	}
	/* Editing or freeing the edit leaves the frozen copy alone. */
	cr_assert_eq(catedit_remove_provider(&ed, &g_trace), 0);
	catedit_free(&ed);
	cr_expect_eq(c->count, n);
	cr_expect_str_eq(catalog_by_id(c, id)->params, "a=b");
	cr_expect_str_eq(catalog_by_id(c, id + 2)->path, "/t.so");
}

Test(publish, becomes_the_catalog_in_force)
{
	const struct catalog_entry *e;
	const struct catalog *c;
	struct catalog_edit ed;
	DWORD tcp = TCP, id;

	begin_builtin(&ed);
	cr_assert_eq(catedit_add_layer(&ed, &g_trace, "/t.so", "t", NULL,
	    &tcp, 1, &id), 0);
	c = catedit_publish(&ed);
	catedit_free(&ed);
	catalog_set_current(c);
	cr_expect_eq(catalog_current(), c);
	cr_assert_eq(catalog_select(NULL, AF_INET, SOCK_STREAM, IPPROTO_TCP,
	    &e), 0);
	cr_expect_eq(e->info.dwCatalogEntryId, id + 1);
	catalog_set_current(NULL);
	cr_expect_eq(catalog_current(), catalog_builtin());
}

Test(publish, empty_catalog)
{
	static const struct catalog empty = { 0, NULL };
	const struct catalog *c;
	struct catalog_edit ed;

	cr_assert_eq(catedit_begin(&ed, &empty, 0), 0);
	c = catedit_publish(&ed);
	cr_assert_not_null(c);
	cr_expect_eq(c->count, 0);
	cr_expect_eq(catalog_select(c, AF_INET, SOCK_STREAM, 0, NULL),
	    WSAEAFNOSUPPORT);
	catedit_free(&ed);
}

/* ------------------------------------------------------------------ */
/* WSPSHIM_LAYERS. */

static char tmpdir[64];
static DWORD unusable_ids[8];
static char unusable_paths[8][PATH_MAX];
static int n_unusable;

/* Records what layerenv_build reports as unusable. */
static void
note_unusable(DWORD id, const char *path)
{
	if (n_unusable < (int)NELEM(unusable_ids)) {
		unusable_ids[n_unusable] = id;
		strlcpy(unusable_paths[n_unusable], path, PATH_MAX);
	}
	n_unusable++;
}

/* Create the empty file dir/rel (and its directory). */
static void
touch(const char *dir, const char *rel)
{
	char p[PATH_MAX], *slash;
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	/* Each directory on the way, as mkdir -p. */
	for (slash = p + strlen(dir) + 1; (slash = strchr(slash, '/')) != NULL;
	    slash++) {
		*slash = '\0';
		mkdir(p, 0755);
		*slash = '/';
	}
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert_geq(fd, 0, "create %s", p);
	close(fd);
}

/* A private directory with some layer files:
 *   path1/libwsp_a.so  path1/libwsp_b.so  path2/libwsp_b.so
 *   inst/libwsp_c.so   inst/libwsp_a.so
 *   lib/../layers/d/libwsp_d.so (the build tree)
 * and a log file the library writes to. */
static void
layer_dirs(void)
{
	char p[PATH_MAX];

	strlcpy(tmpdir, "/tmp/test_catedit.XXXXXX", sizeof(tmpdir));
	cr_assert_not_null(mkdtemp(tmpdir));
	touch(tmpdir, "path1/libwsp_a.so");
	touch(tmpdir, "path1/libwsp_b.so");
	touch(tmpdir, "path2/libwsp_b.so");
	touch(tmpdir, "inst/libwsp_c.so");
	touch(tmpdir, "inst/libwsp_a.so");
	touch(tmpdir, "build/layers/d/libwsp_d.so");
	snprintf(p, sizeof(p), "%s/build/shim", tmpdir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/log", tmpdir);
	setenv("WSPSHIM_LOG", p, 1);
	n_unusable = 0;
}

/* Nothing: removes what layer_dirs made. */
static void
layer_dirs_done(void)
{
	char cmd[PATH_MAX + 16];

	if (tmpdir[0] == '\0')
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	(void)!system(cmd);
}

/* Options naming the directories of layer_dirs. */
static struct layerenv_opts
opts(int fallback)
{
	static char lp[2 * PATH_MAX], inst[PATH_MAX], lib[PATH_MAX];
	struct layerenv_opts o = { 0 };

	snprintf(lp, sizeof(lp), "%s/path1::%s/path2", tmpdir, tmpdir);
	snprintf(inst, sizeof(inst), "%s/inst", tmpdir);
	snprintf(lib, sizeof(lib), "%s/build/shim", tmpdir);
	o.layer_path = lp;
	o.install_dir = inst;
	o.lib_dir = lib;
	o.fallback = fallback;
	o.unusable = note_unusable;
	return o;
}

/* The log's lines, in a static buffer ("" when there is none). */
static const char *
log_text(void)
{
	static char buf[8192];
	char p[PATH_MAX];
	ssize_t n;
	int fd;

	buf[0] = '\0';
	snprintf(p, sizeof(p), "%s/log", tmpdir);
	if ((fd = open(p, O_RDONLY)) < 0)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	return buf;
}

/* The number of lines in s. */
static int
lines(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

/* Where a short name resolves: relative to tmpdir, or "" for none. */
struct resolve_case {
	char	name[64];
	char	want[64];
};

ParameterizedTestParameters(layerenv, resolve)
{
	static struct resolve_case cases[] = {
		{ "a", "path1/libwsp_a.so" },	/* path before install */
		{ "b", "path1/libwsp_b.so" },	/* first path dir wins */
		{ "c", "inst/libwsp_c.so" },
		{ "d", "build/shim/../layers/d/libwsp_d.so" },
		{ "e", "" },
		{ "", "" },
	};

	return cr_make_param_array(struct resolve_case, cases,
	    NELEM(cases));
}

ParameterizedTest(struct resolve_case *c, layerenv, resolve,
    .init = layer_dirs, .fini = layer_dirs_done)
{
	struct layerenv_opts o = opts(0);
	char searched[1024], want[PATH_MAX], *p;

	p = layerenv_resolve(c->name, &o, searched, sizeof(searched));
	if (c->want[0] == '\0') {
		cr_expect_null(p, "%s resolved to %s", c->name, p);
		return;
	}
	snprintf(want, sizeof(want), "%s/%s", tmpdir, c->want);
	cr_assert_not_null(p, "%s: not found (searched %s)", c->name,
	    searched);
	cr_expect_str_eq(p, want);
	free(p);
}

Test(layerenv, resolve_names_every_place_searched, .init = layer_dirs,
    .fini = layer_dirs_done)
{
	struct layerenv_opts o = opts(0);
	char searched[2048], want[4 * PATH_MAX];

	cr_expect_null(layerenv_resolve("zz", &o, searched,
	    sizeof(searched)));
	snprintf(want, sizeof(want), "%s/path1/, %s/path2/, %s/inst/, "
	    "%s/build/shim/../layers/zz/", tmpdir, tmpdir, tmpdir, tmpdir);
	cr_expect_str_eq(searched, want);
}

Test(layerenv, resolve_a_path_as_given, .init = layer_dirs,
    .fini = layer_dirs_done)
{
	struct layerenv_opts o = opts(0);
	char p[PATH_MAX], *r;

	snprintf(p, sizeof(p), "%s/inst/libwsp_c.so", tmpdir);
	r = layerenv_resolve(p, &o, NULL, 0);
	cr_assert_not_null(r);
	cr_expect_str_eq(r, p);
	free(r);
	snprintf(p, sizeof(p), "%s/inst/libwsp_nope.so", tmpdir);
	cr_expect_null(layerenv_resolve(p, &o, NULL, 0));
	/* A directory is no plugin. */
	snprintf(p, sizeof(p), "%s/inst", tmpdir);
	cr_expect_null(layerenv_resolve(p, &o, NULL, 0));
}

/* The chain every covered base gets, top first; checks names, order and
 * selection; returns the layered ids (top first) in ids. */
static void
expect_full_chains(const struct catalog_edit *ed, int nl, DWORD *ids)
{
	static const DWORD covered[] = { TCP, UDP, TCP6, UDP6, USTREAM,
	    UDGRAM, USEQ };
	const struct catalog_entry *e;
	const WSAPROTOCOLCHAIN *pc;
	size_t i;
	int k;

	for (i = 0; i < NELEM(covered); i++) {
		const WSAPROTOCOL_INFOW *b = &by_id(ed, covered[i])->info;

		cr_assert_eq(catalog_select(&ed->cat, b->iAddressFamily,
		    b->iSocketType, b->iProtocol, &e), 0);
		pc = &e->info.ProtocolChain;
		cr_assert_eq(pc->ChainLen, nl + 1, "base %u: chain of %d",
		    covered[i], pc->ChainLen);
		/* The base's service flags, but the layers' handles are
		 * not IFS handles. */
		cr_expect_eq(e->info.dwServiceFlags1, b->dwServiceFlags1 &
		    ~(DWORD)XP1_IFS_HANDLES, "base %u: flags %#x", covered[i],
		    e->info.dwServiceFlags1);
		cr_expect_eq(pc->ChainEntries[nl], covered[i]);
		for (k = 0; k < nl; k++) {
			if (i == 0)
				ids[k] = pc->ChainEntries[k];
			cr_expect_eq(pc->ChainEntries[k], ids[k]);
			cr_expect_eq(by_id(ed, ids[k])->info.ProtocolChain.
			    ChainLen, LAYERED_PROTOCOL);
			cr_expect_eq(by_id(ed, ids[k])->info.dwServiceFlags1 &
			    XP1_IFS_HANDLES, 0);
		}
		/* Full chains come before everything else but the top
		 * layer's own entry. */
		cr_expect_leq(pos_of(ed, e->info.dwCatalogEntryId),
		    (int)NELEM(covered));
	}
	/* Raw sockets are never covered. */
	cr_assert_eq(catalog_select(&ed->cat, AF_INET, SOCK_RAW, 1, &e), 0);
	cr_expect_eq(e->info.dwCatalogEntryId, RAW);
	cr_assert_eq(catalog_select(&ed->cat, AF_INET6, SOCK_RAW, 58, &e), 0);
	cr_expect_eq(e->info.dwCatalogEntryId, RAW6);
}

Test(layerenv, three_layers_cover_every_base, .init = layer_dirs,
    .fini = layer_dirs_done)
{
	struct layerenv_opts o = opts(0);
	struct catalog_edit ed;
	const struct catalog_entry *e;
	char want[PATH_MAX];
	DWORD ids[3];
	int n;

	begin_builtin(&ed);
	cr_assert_eq(layerenv_build(&ed, "a:level=1,b,c:x", &o, &n), 0);
	cr_expect_eq(n, 3);
	expect_full_chains(&ed, 3, ids);
	e = by_id(&ed, ids[0]);
	cr_expect(wname_is(e->info.szProtocol, "a"));
	cr_expect_str_eq(e->params, "level=1");
	snprintf(want, sizeof(want), "%s/path1/libwsp_a.so", tmpdir);
	cr_expect_str_eq(e->path, want);
	e = by_id(&ed, ids[1]);
	cr_expect(wname_is(e->info.szProtocol, "b"));
	cr_expect_null(e->params);
	e = by_id(&ed, ids[2]);
	cr_expect_str_eq(e->params, "x");
	snprintf(want, sizeof(want), "%s/inst/libwsp_c.so", tmpdir);
	cr_expect_str_eq(e->path, want);
	/* Installed bottom first: c's ids are the lowest. */
	cr_expect_lt(ids[2], ids[1]);
	cr_expect_lt(ids[1], ids[0]);
	cr_assert_eq(catalog_select(&ed.cat, AF_INET, SOCK_STREAM, 0, &e), 0);
	cr_expect(wname_is(e->info.szProtocol,
	    "a over [b over [c over [wspshim [TCP/IP]]]]"), "name %s",
	    name_of(e->info.szProtocol));
	cr_expect_eq(n_unusable, 0);
	cr_expect_str_eq(log_text(), "");
	catedit_free(&ed);
}

Test(layerenv, same_file_at_every_position, .init = layer_dirs,
    .fini = layer_dirs_done)
{
	struct layerenv_opts o = opts(0);
	struct catalog_edit ed;
	DWORD ids[6];
	int n, k;

	begin_builtin(&ed);
	cr_assert_eq(layerenv_build(&ed, "a,a,a,a,a,a", &o, &n), 0);
	cr_expect_eq(n, 6);
	expect_full_chains(&ed, 6, ids);
	/* One layered entry per position, all of the same file and GUID. */
	for (k = 1; k < 6; k++) {
		cr_expect_neq(ids[k], ids[0]);
		cr_expect_str_eq(by_id(&ed, ids[k])->path,
		    by_id(&ed, ids[0])->path);
		cr_expect_eq(memcmp(&by_id(&ed, ids[k])->info.ProviderId,
		    &by_id(&ed, ids[0])->info.ProviderId, sizeof(GUID)), 0);
	}
	catedit_free(&ed);
}

/* Parameters: spec -> the top layer's name and params ("-": NULL). */
struct params_case {
	char	spec[64];
	int	layers;
	char	name[16];
	char	params[32];
};

ParameterizedTestParameters(layerenv, element_syntax)
{
	static struct params_case cases[] = {
		{ "a", 1, "a", "-" },
		{ "a:", 1, "a", "" },
		{ "a:k=v:w", 1, "a", "k=v:w" },
		{ "a:x\\,y,b", 2, "a", "x,y" },
		{ "a:x\\\\,b", 2, "a", "x\\" },
		{ "a:x\\\\\\,y", 1, "a", "x\\,y" },
		{ "a:c:\\d", 1, "a", "c:\\d" },
		{ ",a,,b,", 2, "a", "-" },
		{ "b,a:p", 2, "b", "-" },
	};

	return cr_make_param_array(struct params_case, cases,
	    NELEM(cases));
}

ParameterizedTest(struct params_case *c, layerenv, element_syntax,
    .init = layer_dirs, .fini = layer_dirs_done)
{
	struct layerenv_opts o = opts(0);
	const struct catalog_entry *e, *top;
	struct catalog_edit ed;
	int n;

	begin_builtin(&ed);
	cr_assert_eq(layerenv_build(&ed, c->spec, &o, &n), 0);
	cr_expect_eq(n, c->layers, "%s: %d layers", c->spec, n);
	cr_assert_eq(catalog_select(&ed.cat, AF_INET, SOCK_STREAM, 0, &e), 0);
	top = by_id(&ed, e->info.ProtocolChain.ChainEntries[0]);
	cr_expect(wname_is(top->info.szProtocol, c->name), "%s: top %s",
	    c->spec, name_of(top->info.szProtocol));
	if (strcmp(c->params, "-") == 0)
		cr_expect_null(top->params, "%s: params %s", c->spec,
		    top->params);
	else
		cr_expect_str_eq(top->params, c->params, "%s", c->spec);
	catedit_free(&ed);
}

Test(layerenv, path_element_gets_its_file_name, .init = layer_dirs,
    .fini = layer_dirs_done)
{
	struct layerenv_opts o = opts(0);
	const struct catalog_entry *e;
	struct catalog_edit ed;
	char spec[PATH_MAX];
	int n;

	snprintf(spec, sizeof(spec), "%s/inst/libwsp_c.so:q", tmpdir);
	begin_builtin(&ed);
	cr_assert_eq(layerenv_build(&ed, spec, &o, &n), 0);
	cr_assert_eq(catalog_select(&ed.cat, AF_UNIX, SOCK_DGRAM, 0, &e), 0);
	cr_expect(wname_is(e->info.szProtocol,
	    "c over [wspshim [UNIX datagram]]"), "name %s",
	    name_of(e->info.szProtocol));
	cr_expect_str_eq(e->params, "q");
	catedit_free(&ed);
}

Test(layerenv, missing_layer_is_kept_and_fails, .init = layer_dirs,
    .fini = layer_dirs_done)
{
	struct layerenv_opts o = opts(0);
	const struct catalog_entry *e;
	struct catalog_edit ed;
	const char *log;
	DWORD ids[3];
	int n;

	begin_builtin(&ed);
	cr_assert_eq(layerenv_build(&ed, "a,nosuch,c", &o, &n), 0);
	cr_expect_eq(n, 3);
	expect_full_chains(&ed, 3, ids);
	cr_assert_eq(n_unusable, 1);
	cr_expect_eq(unusable_ids[0], ids[1]);
	cr_expect_str_eq(unusable_paths[0], "nosuch");
	e = by_id(&ed, ids[1]);
	cr_expect_str_eq(e->path, "nosuch");
	log = log_text();
	cr_expect_eq(lines(log), 1, "log: %s", log);
	cr_expect_not_null(strstr(log, "\"nosuch\" not found"), "log: %s",
	    log);
	cr_expect_not_null(strstr(log, "/path2/"), "log: %s", log);
	cr_expect_not_null(strstr(log, "/layers/nosuch/"), "log: %s", log);
	cr_expect_not_null(strstr(log, "WSAEPROVIDERFAILEDINIT"), "log: %s",
	    log);
	catedit_free(&ed);
}

Test(layerenv, fallback_leaves_the_missing_layer_out, .init = layer_dirs,
    .fini = layer_dirs_done)
{
	struct layerenv_opts o = opts(1);
	struct catalog_edit ed;
	const char *log;
	DWORD ids[2];
	int n;

	begin_builtin(&ed);
	cr_assert_eq(layerenv_build(&ed, "a,nosuch,c", &o, &n), 0);
	cr_expect_eq(n, 2);
	expect_full_chains(&ed, 2, ids);
	cr_expect(wname_is(by_id(&ed, ids[0])->info.szProtocol, "a"));
	cr_expect(wname_is(by_id(&ed, ids[1])->info.szProtocol, "c"));
	cr_expect_eq(n_unusable, 0);
	log = log_text();
	cr_expect_eq(lines(log), 1, "log: %s", log);
	cr_expect_not_null(strstr(log, "left out (WSPSHIM_FALLBACK=1)"),
	    "log: %s", log);
	catedit_free(&ed);
}

Test(layerenv, too_many_layers_fail_the_sockets, .init = layer_dirs,
    .fini = layer_dirs_done)
{
	struct layerenv_opts o = opts(0);
	struct catalog_edit ed;
	DWORD ids[1];
	int n;

	begin_builtin(&ed);
	cr_assert_eq(layerenv_build(&ed, "a,a,a,a,a,a,a", &o, &n), 0);
	cr_expect_eq(n, 1);
	expect_full_chains(&ed, 1, ids);
	cr_assert_eq(n_unusable, 1);
	cr_expect_eq(unusable_ids[0], ids[0]);
	cr_expect_eq(lines(log_text()), 1, "log: %s", log_text());
	cr_expect_not_null(strstr(log_text(), "7 layers"));
	catedit_free(&ed);
}

Test(layerenv, too_many_layers_with_fallback_change_nothing,
    .init = layer_dirs, .fini = layer_dirs_done)
{
	struct layerenv_opts o = opts(1);
	struct catalog_edit ed;
	int n;

	begin_builtin(&ed);
	cr_assert_eq(layerenv_build(&ed, "a,a,a,a,a,a,a", &o, &n), 0);
	cr_expect_eq(n, 0);
	cr_expect_eq(ed.cat.count, NBUILTIN);
	cr_expect_eq(lines(log_text()), 1);
	catedit_free(&ed);
}

Test(layerenv, empty_spec_changes_nothing, .init = layer_dirs,
    .fini = layer_dirs_done)
{
	struct layerenv_opts o = opts(0);
	struct catalog_edit ed;
	int n;

	begin_builtin(&ed);
	cr_assert_eq(layerenv_build(&ed, ",,", &o, &n), 0);
	cr_expect_eq(n, 0);
	cr_expect_eq(ed.cat.count, NBUILTIN);
	cr_expect_str_eq(log_text(), "");
	catedit_free(&ed);
}

Test(layerenv, goes_over_installed_chains_first, .init = layer_dirs,
    .fini = layer_dirs_done)
{
	struct layerenv_opts o = opts(0);
	const struct catalog_entry *e;
	struct catalog_edit ed;
	DWORD tcp = TCP, inst;
	int n;

	/* A catalog (as from the file) with a layer installed over TCP:
	 * the run's layers go over the bases and win selection. */
	begin_builtin(&ed);
	cr_assert_eq(catedit_add_layer(&ed, &g_trace, "/t.so", "t", NULL,
	    &tcp, 1, &inst), 0);
	cr_assert_eq(layerenv_build(&ed, "a", &o, &n), 0);
	cr_assert_eq(catalog_select(&ed.cat, AF_INET, SOCK_STREAM, 0, &e), 0);
	cr_expect_eq(e->info.ProtocolChain.ChainLen, 2);
	cr_expect_eq(e->info.ProtocolChain.ChainEntries[1], TCP);
	cr_expect(wname_is(by_id(&ed, e->info.ProtocolChain.ChainEntries[0])->
	    info.szProtocol, "a"));
	cr_expect_not_null(catalog_by_id(&ed.cat, inst + 1));
	catedit_free(&ed);
}

/* layerenv_init, as core_init runs it: the catalog in force changes. */
Test(layerenv, init_publishes_the_run_catalog, .init = layer_dirs,
    .fini = layer_dirs_done)
{
	const struct catalog_entry *e;
	char lp[PATH_MAX];

	snprintf(lp, sizeof(lp), "%s/path1", tmpdir);
	setenv("WSPSHIM_LAYER_PATH", lp, 1);
	setenv("WSPSHIM_LAYERS", "b:z,a", 1);
	layerenv_init(note_unusable);
	cr_assert_eq(catalog_select(NULL, AF_INET6, SOCK_DGRAM, 0, &e), 0);
	cr_expect_eq(e->info.ProtocolChain.ChainLen, 3);
	cr_expect_str_eq(catalog_by_id(NULL,
	    e->info.ProtocolChain.ChainEntries[0])->params, "z");
	catalog_set_current(NULL);
}

Test(layerenv, init_tells_the_loader_of_a_missing_layer,
    .init = layer_dirs, .fini = layer_dirs_done)
{
	const struct catalog_entry *e;

	unsetenv("WSPSHIM_LAYER_PATH");
	unsetenv("WSPSHIM_FALLBACK");
	setenv("WSPSHIM_LAYERS", "nosuch", 1);
	layerenv_init(note_unusable);
	cr_assert_eq(catalog_select(NULL, AF_INET, SOCK_STREAM, 0, &e), 0);
	cr_assert_eq(e->info.ProtocolChain.ChainLen, 2);
	cr_assert_eq(n_unusable, 1);
	cr_expect_eq(unusable_ids[0], e->info.ProtocolChain.ChainEntries[0]);
	cr_expect_str_eq(unusable_paths[0], "nosuch");
	cr_expect_eq(lines(log_text()), 1, "log: %s", log_text());
	catalog_set_current(NULL);
}

Test(layerenv, init_without_the_variable_changes_nothing)
{
	unsetenv("WSPSHIM_LAYERS");
	layerenv_init(note_unusable);
	cr_expect_eq(catalog_current(), catalog_builtin());
	setenv("WSPSHIM_LAYERS", "", 1);
	layerenv_init(note_unusable);
	cr_expect_eq(catalog_current(), catalog_builtin());
}
