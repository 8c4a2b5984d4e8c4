/*
 * catedit.c - building and changing catalogs in memory.
 *
 * An edit owns a growable copy of a catalog's entries and their strings.
 * Every change checks all it needs first and allocates before it touches
 * the entries, so a change that fails leaves the edit as it was.  A
 * published catalog is one block (header, entries, strings) kept on a list
 * for the life of the process: readers of the catalog in force take no
 * lock, so nothing can tell when the last one is done with it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "catedit.h"
#include "wstr.h"

#define CATEDIT_MIN_CAP	16

/* A published catalog: the header readers see, then entries and strings;
 * next keeps every block reachable. */
struct catedit_frozen {
	struct catedit_frozen	*next;
	struct catalog		cat;
};

static struct catedit_frozen *catedit_published;

static const WCHAR catedit_over[] = u" over [";
#define CATEDIT_OVER_LEN	(sizeof(catedit_over) / sizeof(WCHAR) - 1)

/* Whether two GUIDs are equal. */
static int
catedit_guid_eq(const GUID *a, const GUID *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* A copy of s, or NULL for NULL; *fail is set when memory runs out. */
static char *
catedit_strdup(const char *s, int *fail)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*fail = 1;
	return d;
}

/* Nothing: frees the strings an entry owns. */
static void
catedit_free_strings(struct catalog_entry *e)
{
	free((char *)e->path);
	free((char *)e->params);
	e->path = NULL;
	e->params = NULL;
}

/* 0 once the edit has room for extra more entries, or WSAENOBUFS. */
static int
catedit_reserve(struct catalog_edit *ed, size_t extra)
{
	struct catalog_entry *e;
	size_t want;

	if (extra > SIZE_MAX / 2 - ed->cat.count)
		return WSAENOBUFS;
	want = ed->cat.count + extra;
	if (want <= ed->cap)
		return 0;
	if (want < CATEDIT_MIN_CAP)
		want = CATEDIT_MIN_CAP;
	if (want < ed->cap * 2)
		want = ed->cap * 2;
	e = reallocarray(ed->e, want, sizeof(*e));
	if (e == NULL)
		return WSAENOBUFS;
	ed->e = e;
	ed->cap = want;
	ed->cat.entries = e;
	return 0;
}

/* The index of the entry with this id, or -1. */
static ssize_t
catedit_find(const struct catalog_edit *ed, DWORD id)
{
	size_t i;

	for (i = 0; i < ed->cat.count; i++)
		if (ed->e[i].info.dwCatalogEntryId == id)
			return (ssize_t)i;
	return -1;
}

/* 0, or WSAENOBUFS: the edit holds a copy of c (the catalog in force
 * when c is NULL) and hands out ids from max(next_id, highest + 1). */
int
catedit_begin(struct catalog_edit *ed, const struct catalog *c,
    DWORD next_id)
{
	const struct catalog_entry *s;
	DWORD high = CATALOG_FIRST_ID - 1;
	size_t i;
	int fail = 0;

	memset(ed, 0, sizeof(*ed));
	if (c == NULL)
		c = catalog_current();
	if (catedit_reserve(ed, c->count) != 0)
		return WSAENOBUFS;
	for (i = 0; i < c->count; i++) {
		s = &c->entries[i];
		ed->e[i].info = s->info;
		ed->e[i].path = catedit_strdup(s->path, &fail);
		ed->e[i].params = catedit_strdup(s->params, &fail);
		ed->e[i].lsp_categories = s->lsp_categories;
		ed->cat.count = i + 1;
		if (s->info.dwCatalogEntryId > high)
			high = s->info.dwCatalogEntryId;
		if (fail) {
			catedit_free(ed);
			return WSAENOBUFS;
		}
	}
	ed->next_id = high + 1;
	if (next_id > ed->next_id)
		ed->next_id = next_id;
	return 0;
}

/* Nothing: frees what the edit owns and leaves it empty. */
void
catedit_free(struct catalog_edit *ed)
{
	size_t i;

	for (i = 0; i < ed->cat.count; i++)
		catedit_free_strings(&ed->e[i]);
	free(ed->e);
	memset(ed, 0, sizeof(*ed));
}

/* The number of code units of s before its terminator, at most max. */
static size_t
catedit_wlen(const WCHAR *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n] != 0)
		n++;
	return n;
}

/* n, less one if that would split a surrogate pair at s[n - 1]. */
static size_t
catedit_wcut(const WCHAR *s, size_t n)
{
	if (n > 0 && s[n - 1] >= 0xd800 && s[n - 1] <= 0xdbff)
		n--;
	return n;
}

/*
 * Nothing: out gets "LAYER over [OVER]", Windows' name for a chain (its
 * LSP installer writes "%s over [%s]", so a chain over a chain reads
 * "a over [b over [wspshim [TCP/IP]]]").  When it does not fit, OVER is
 * cut first, then LAYER, by whole characters, and the closing bracket
 * stays.  The rest of out is zeroed.
 */
static void
catedit_chain_name(WCHAR out[WSAPROTOCOL_LEN + 1], const WCHAR *layer,
    const WCHAR *over)
{
	size_t nl, no, room = WSAPROTOCOL_LEN - CATEDIT_OVER_LEN - 1;

	nl = catedit_wlen(layer, WSAPROTOCOL_LEN);
	no = catedit_wlen(over, WSAPROTOCOL_LEN + 1);
	if (nl > room)
		nl = catedit_wcut(layer, room);
	if (no > room - nl)
		no = catedit_wcut(over, room - nl);
	memcpy(out, layer, nl * sizeof(WCHAR));
	memcpy(out + nl, catedit_over, CATEDIT_OVER_LEN * sizeof(WCHAR));
	memcpy(out + nl + CATEDIT_OVER_LEN, over, no * sizeof(WCHAR));
	out[nl + CATEDIT_OVER_LEN + no] = u']';
	/* Zeros to the end: no bytes of the over entry's name stay behind
	 * the terminator. */
	memset(out + nl + CATEDIT_OVER_LEN + no + 1, 0,
	    (WSAPROTOCOL_LEN - nl - CATEDIT_OVER_LEN - no) * sizeof(WCHAR));
}

/* 0 if entry o can have a layer put over it, else WSAEINVAL (a layered
 * entry, a malformed chain, or one already MAX_PROTOCOL_CHAIN long). */
static int
catedit_over_ok(const struct catalog_entry *o)
{
	int len = o->info.ProtocolChain.ChainLen;

	return len >= BASE_PROTOCOL && len < MAX_PROTOCOL_CHAIN ? 0 :
	    WSAEINVAL;
}

/* Nothing: c becomes the chain of layer id over entry o. */
static void
catedit_make_chain(struct catalog_entry *c, const struct catalog_entry *o,
    const GUID *provider_id, DWORD layer, DWORD id, const WCHAR *name)
{
	const WSAPROTOCOLCHAIN *oc = &o->info.ProtocolChain;
	int i;

	c->info = o->info;
	c->info.ProviderId = *provider_id;
	c->info.dwCatalogEntryId = id;
	c->info.dwProviderReserved = 0;
	memset(&c->info.ProtocolChain, 0, sizeof(c->info.ProtocolChain));
	c->info.ProtocolChain.ChainEntries[0] = layer;
	if (oc->ChainLen == BASE_PROTOCOL) {
		/* A base entry's own ChainEntries need not name it. */
		c->info.ProtocolChain.ChainEntries[1] =
		    o->info.dwCatalogEntryId;
	} else {
		for (i = 0; i < oc->ChainLen; i++)
			c->info.ProtocolChain.ChainEntries[i + 1] =
			    oc->ChainEntries[i];
	}
	c->info.ProtocolChain.ChainLen = oc->ChainLen + 1;
	catedit_chain_name(c->info.szProtocol, name, o->info.szProtocol);
}

/*
 * 0 and *layer_id, or WSAEINVAL / WSAENOBUFS with the edit unchanged.
 * The new entries, [layered, chain over over[0], ..., chain over
 * over[n - 1]], take consecutive ids in that order and go first.
 */
int
catedit_add_layer(struct catalog_edit *ed, const GUID *provider_id,
    const char *path, const char *name, const char *params,
    const DWORD *over, size_t n, DWORD *layer_id)
{
	struct catalog_entry *ne = NULL;
	WCHAR wname[WSAPROTOCOL_LEN + 1] = { 0 };
	DWORD id;
	ssize_t k;
	size_t i, j, total;
	int fail = 0;

	if (provider_id == NULL || path == NULL || name == NULL ||
	    (n > 0 && over == NULL))
		return WSAEINVAL;
	for (i = 0; i < n; i++) {
		if ((k = catedit_find(ed, over[i])) < 0 ||
		    catedit_over_ok(&ed->e[k]) != 0)
			return WSAEINVAL;
		for (j = 0; j < i; j++)
			if (over[j] == over[i])
				return WSAEINVAL;
	}
	total = n + 1;
	if (ed->next_id == 0 || (DWORD)(ed->next_id + total) < ed->next_id)
		return WSAENOBUFS;	/* the id counter would wrap */
	if (catedit_reserve(ed, total) != 0 ||
	    (ne = calloc(total, sizeof(*ne))) == NULL)
		return WSAENOBUFS;
	for (i = 0; i < total; i++) {
		ne[i].path = catedit_strdup(path, &fail);
		ne[i].params = catedit_strdup(params, &fail);
	}
	if (fail) {
		for (i = 0; i < total; i++)
			catedit_free_strings(&ne[i]);
		free(ne);
		return WSAENOBUFS;
	}

	wstr_from_utf8(wname, WSAPROTOCOL_LEN + 1, name);
	id = ed->next_id;
	/* The layered entry: hidden, ChainLen 0, the protocol fields of the
	 * first entry it goes over (as Windows installers copy them). */
	if (n > 0)
		ne[0].info = ed->e[catedit_find(ed, over[0])].info;
	else
		ne[0].info.iVersion = 2;
	ne[0].info.ProviderId = *provider_id;
	ne[0].info.dwCatalogEntryId = id;
	ne[0].info.dwProviderFlags |= PFL_HIDDEN;
	ne[0].info.dwProviderReserved = 0;
	memset(&ne[0].info.ProtocolChain, 0, sizeof(ne[0].info.ProtocolChain));
	ne[0].info.ProtocolChain.ChainLen = LAYERED_PROTOCOL;
	memcpy(ne[0].info.szProtocol, wname, sizeof(wname));
	for (i = 0; i < n; i++) {
		k = catedit_find(ed, over[i]);
		catedit_make_chain(&ne[i + 1], &ed->e[k], provider_id, id,
		    id + 1 + (DWORD)i, wname);
	}

	memmove(ed->e + total, ed->e, ed->cat.count * sizeof(*ed->e));
	memcpy(ed->e, ne, total * sizeof(*ne));
	ed->cat.count += total;
	ed->next_id = id + (DWORD)total;
	free(ne);
	if (layer_id != NULL)
		*layer_id = id;
	return 0;
}

/* Whether chain entry e names one of the n ids. */
static int
catedit_names_any(const struct catalog_entry *e, const DWORD *ids, size_t n)
{
	const WSAPROTOCOLCHAIN *pc = &e->info.ProtocolChain;
	size_t j;
	int i;

	if (pc->ChainLen < 2 || pc->ChainLen > MAX_PROTOCOL_CHAIN)
		return 0;
	for (i = 0; i < pc->ChainLen; i++)
		for (j = 0; j < n; j++)
			if (pc->ChainEntries[i] == ids[j])
				return 1;
	return 0;
}

/* 0, or WSAEINVAL (no entry of provider_id) or WSAENOBUFS. */
int
catedit_remove_provider(struct catalog_edit *ed, const GUID *provider_id)
{
	DWORD *ids;
	size_t i, n = 0, kept = 0;

	if (provider_id == NULL || ed->cat.count == 0)
		return WSAEINVAL;
	if ((ids = calloc(ed->cat.count, sizeof(*ids))) == NULL)
		return WSAENOBUFS;
	for (i = 0; i < ed->cat.count; i++)
		if (catedit_guid_eq(&ed->e[i].info.ProviderId, provider_id))
			ids[n++] = ed->e[i].info.dwCatalogEntryId;
	if (n == 0) {
		free(ids);
		return WSAEINVAL;
	}
	for (i = 0; i < ed->cat.count; i++) {
		if (catedit_guid_eq(&ed->e[i].info.ProviderId, provider_id) ||
		    catedit_names_any(&ed->e[i], ids, n)) {
			catedit_free_strings(&ed->e[i]);
			continue;
		}
		ed->e[kept++] = ed->e[i];
	}
	ed->cat.count = kept;
	free(ids);
	return 0;
}

/* 0, or WSAEINVAL (unknown or repeated id) or WSAENOBUFS. */
int
catedit_reorder(struct catalog_edit *ed, const DWORD *ids, size_t n)
{
	struct catalog_entry *ne;
	unsigned char *taken;
	size_t i, m = 0;
	ssize_t k;
	int err = WSAEINVAL;

	if (n == 0)
		return 0;
	if (ids == NULL || n > ed->cat.count)
		return WSAEINVAL;
	ne = calloc(ed->cat.count, sizeof(*ne));
	taken = calloc(ed->cat.count, 1);
	if (ne == NULL || taken == NULL) {
		err = WSAENOBUFS;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((k = catedit_find(ed, ids[i])) < 0 || taken[k])
			goto out;
		taken[k] = 1;
		ne[m++] = ed->e[k];
	}
	for (i = 0; i < ed->cat.count; i++)
		if (!taken[i])
			ne[m++] = ed->e[i];
	memcpy(ed->e, ne, m * sizeof(*ne));
	err = 0;
out:
	free(ne);
	free(taken);
	return err;
}

/* The bytes a string takes in a frozen block (none for NULL). */
static size_t
catedit_str_size(const char *s)
{
	return s == NULL ? 0 : strlen(s) + 1;
}

/* s copied to *at (which advances), or NULL for NULL. */
static const char *
catedit_str_put(char **at, const char *s)
{
	size_t n = catedit_str_size(s);
	char *d = *at;

	if (s == NULL)
		return NULL;
	memcpy(d, s, n);
	*at += n;
	return d;
}

/* An immutable copy of the edit that is never freed, or NULL (no
 * memory).  The edit itself stays the caller's. */
const struct catalog *
catedit_publish(struct catalog_edit *ed)
{
	struct catedit_frozen *f, *head;
	struct catalog_entry *e;
	size_t i, hdr, size, strs = 0;
	char *at;

	for (i = 0; i < ed->cat.count; i++) {
		strs += catedit_str_size(ed->e[i].path);
		strs += catedit_str_size(ed->e[i].params);
	}
	hdr = (sizeof(*f) + _Alignof(struct catalog_entry) - 1) &
	    ~(_Alignof(struct catalog_entry) - 1);
	if (ed->cat.count > (SIZE_MAX - hdr - strs) / sizeof(*e))
		return NULL;
	size = hdr + ed->cat.count * sizeof(*e) + strs;
	if ((f = malloc(size)) == NULL)
		return NULL;
	e = (struct catalog_entry *)(void *)((char *)f + hdr);
	at = (char *)(e + ed->cat.count);
	for (i = 0; i < ed->cat.count; i++) {
		e[i].info = ed->e[i].info;
		e[i].path = catedit_str_put(&at, ed->e[i].path);
		e[i].params = catedit_str_put(&at, ed->e[i].params);
		e[i].lsp_categories = ed->e[i].lsp_categories;
	}
	f->cat.count = ed->cat.count;
	f->cat.entries = e;
	head = __atomic_load_n(&catedit_published, __ATOMIC_RELAXED);
	do
		f->next = head;
	while (!__atomic_compare_exchange_n(&catedit_published, &head, f, 1,
	    __ATOMIC_RELEASE, __ATOMIC_RELAXED));
	return &f->cat;
}
