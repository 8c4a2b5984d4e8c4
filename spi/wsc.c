/*
 * wsc.c - the installer calls: WSCInstallProvider, WSCDeinstallProvider,
 * WSCWriteProviderOrder, WSCInstallProviderAndChains, and the libwspshim
 * extension WSPShimSetLayerParams.
 *
 * Each one is a single locked read-change-write of the catalog file
 * (catfile_update), so it is all or nothing and two installers never lose
 * each other's entries.  A change reloads this process's catalog
 * (catfile_changed, set by core_init); other processes see it at their
 * next WSAStartup (docs/catalog-file.md, "A live catalog").  Also the 64_32
 * and 32 forms, WSCUpdateProvider and WSCGet/SetProviderInfo.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catfile.h"
#include "errmap.h"
#include "export.h"
#include "log.h"
#include "trust.h"
#include "wstr.h"

/* Whether two GUIDs are equal. */
static int
wsc_guid_eq(const GUID *a, const GUID *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* The index of the entry with this id in ed, or -1. */
static long
wsc_find(const struct catalog_edit *ed, DWORD id)
{
	size_t i;

	for (i = 0; i < ed->cat.count; i++)
		if (ed->e[i].info.dwCatalogEntryId == id)
			return (long)i;
	return -1;
}

/* WSAEINVAL, with err saying the provider is already there, if ed has an
 * entry of provider id; else 0. */
static int
wsc_check_new_guid(const struct catalog_edit *ed, const GUID *id,
    struct catfile_error *err)
{
	char g[40];
	size_t i;

	for (i = 0; i < ed->cat.count; i++)
		if (wsc_guid_eq(&ed->e[i].info.ProviderId, id)) {
			err->line = 0;
			snprintf(err->msg, sizeof(err->msg), "provider %s is "
			    "already installed (entry %u)",
			    catfile_guid_str(id, g, sizeof(g)),
			    ed->e[i].info.dwCatalogEntryId);
			return WSAEINVAL;
		}
	return 0;
}

/* code, with err's message set. */
static int __attribute__((format(printf, 3, 4)))
wsc_say(struct catfile_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	err->line = 0;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

/*
 * Replace ed's entries with the n at v (whose strings are borrowed: the
 * new edit copies them), keeping the counter at least next_id.  0 or
 * WSAENOBUFS, with ed unchanged on failure.
 */
static int
wsc_rebuild(struct catalog_edit *ed, const struct catalog_entry *v,
    size_t n, DWORD next_id)
{
	struct catalog_edit ned;
	struct catalog c;

	c.count = n;
	c.entries = v;
	if (catedit_begin(&ned, &c, next_id) != 0)
		return WSAENOBUFS;
	catedit_free(ed);
	*ed = ned;
	ed->cat.entries = ed->e;
	return 0;
}

/* --- WSCInstallProvider --------------------------------------------------- */

struct wsc_install_arg {
	const GUID		*id;
	const char		*path;
	const WSAPROTOCOL_INFOW	*list;
	size_t			 n;
	DWORD			 first;
};

/* 0 if chain pc may go in catalog ed, else WSAEINVAL with err. */
static int
wsc_check_chain(const struct catalog_edit *ed, const WSAPROTOCOLCHAIN *pc,
    size_t k, struct catfile_error *err)
{
	long j;
	int i;

	if (pc->ChainLen < 0 || pc->ChainLen > MAX_PROTOCOL_CHAIN)
		return wsc_say(err, WSAEINVAL, "entry %zu: ChainLen %d is not "
		    "0 to %d", k, pc->ChainLen, MAX_PROTOCOL_CHAIN);
	if (pc->ChainLen < 2)
		return 0;
	for (i = 0; i < pc->ChainLen; i++) {
		if (wsc_find(ed, pc->ChainEntries[i]) < 0)
			return wsc_say(err, WSAEINVAL, "entry %zu: its chain "
			    "names entry %u, which is not installed", k,
			    pc->ChainEntries[i]);
		/* One layer at two positions could not tell them apart
		 * (the core's catedit_add_layer refuses it too). */
		for (j = 0; j < i; j++)
			if (pc->ChainEntries[j] == pc->ChainEntries[i])
				return wsc_say(err, WSAEINVAL, "entry %zu: its "
				    "chain names entry %u twice", k,
				    pc->ChainEntries[i]);
	}
	j = wsc_find(ed, pc->ChainEntries[pc->ChainLen - 1]);
	if (ed->e[j].info.ProtocolChain.ChainLen != BASE_PROTOCOL)
		return wsc_say(err, WSAEINVAL, "entry %zu: its chain ends on "
		    "entry %u, which is not a base entry", k,
		    pc->ChainEntries[pc->ChainLen - 1]);
	return 0;
}

/* 0 once the new entries are appended to ed, or a WSA code. */
static int
wsc_install_edit(struct catalog_edit *ed, void *varg,
    struct catfile_error *err)
{
	struct wsc_install_arg *a = varg;
	struct catalog_entry *v, *ne;
	DWORD id = ed->next_id;
	size_t i;
	int rc;

	if ((rc = wsc_check_new_guid(ed, a->id, err)) != 0)
		return rc;
	for (i = 0; i < a->n; i++)
		if ((rc = wsc_check_chain(ed, &a->list[i].ProtocolChain, i,
		    err)) != 0)
			return rc;
	if (id == 0 || (DWORD)(id + a->n) < id)
		return wsc_say(err, WSAENOBUFS, "catalog entry ids are used "
		    "up");
	if ((v = calloc(ed->cat.count + a->n, sizeof(*v))) == NULL)
		return WSAENOBUFS;
	memcpy(v, ed->e, ed->cat.count * sizeof(*v));
	for (i = 0; i < a->n; i++) {
		ne = &v[ed->cat.count + i];
		ne->info = a->list[i];
		ne->info.ProviderId = *a->id;
		ne->info.dwCatalogEntryId = id + (DWORD)i;
		if (ne->info.ProtocolChain.ChainLen == BASE_PROTOCOL)
			ne->info.ProtocolChain.ChainEntries[0] = id + (DWORD)i;
		ne->path = a->path;
		ne->params = NULL;
	}
	rc = wsc_rebuild(ed, v, ed->cat.count + a->n, id + (DWORD)a->n);
	free(v);
	a->first = id;
	return rc;
}

/* The provider path to store for path: the catalog names plugins by
 * absolute path only, so a relative one becomes the file it names from
 * here (links resolved when it exists); path itself when absolute or the
 * built-in base's name; NULL when it cannot be made absolute. */
static const char *
wsc_abs_path(const char *path, char *buf, size_t len)
{
	char *r;

	if (path[0] == '/' || strcmp(path, CATALOG_BASE_PATH) == 0)
		return path;
	if ((r = realpath(path, NULL)) != NULL) {
		if (strlen(r) >= len) {
			free(r);
			return NULL;
		}
		strcpy(buf, r);
		free(r);
		return buf;
	}
	return trust_absolute(path, buf, len) == 0 ? buf : NULL;
}

/* 0 and *first_id (the first new entry), or a WSA code with err. */
int
wsc_install_provider(const char *file, const GUID *id, const char *path,
    const WSAPROTOCOL_INFOW *list, size_t n, DWORD *first_id,
    struct catfile_error *err)
{
	struct wsc_install_arg a = { id, path, list, n, 0 };
	char abs[PATH_MAX];
	int rc;

	if (id == NULL || path == NULL || list == NULL)
		return wsc_say(err, WSAEFAULT, "a NULL argument");
	if (n == 0 || *path == '\0')
		return wsc_say(err, WSAEINVAL, n == 0 ? "no entries to "
		    "install" : "an empty provider path");
	if ((a.path = wsc_abs_path(path, abs, sizeof(abs))) == NULL)
		return wsc_say(err, WSAEINVAL, "provider path %s cannot be "
		    "made absolute", path);
	rc = catfile_update(file, wsc_install_edit, &a, err);
	if (rc == 0 && first_id != NULL)
		*first_id = a.first;
	return rc;
}

/* --- WSCInstallProviderAndChains ------------------------------------------ */

struct wsc_layer_arg {
	const GUID		*id;
	const char		*path, *name, *params;
	DWORD			 xp1;
	const DWORD		*over;	/* ids, or */
	const WSAPROTOCOL_INFOW	*infos;	/* protocols to match */
	size_t			 n;
	DWORD			 layer;
};

/* Nothing: appends id to ids (*n of them) unless it is there. */
static void
wsc_add_id(DWORD *ids, size_t *n, DWORD id)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (ids[i] == id)
			return;
	ids[(*n)++] = id;
}

/*
 * The ids to layer over for the protocols in infos: every base entry with
 * the same family, type and protocol, as Windows picks them (its other
 * members, dwCatalogEntryId included, are not looked at).  0 and *out
 * (malloc'd, *nout ids), or a WSA code with err.
 */
static int
wsc_resolve_infos(const struct catalog_edit *ed,
    const WSAPROTOCOL_INFOW *infos, size_t n, DWORD **out, size_t *nout,
    struct catfile_error *err)
{
	const WSAPROTOCOL_INFOW *p, *e;
	size_t i, j, m = 0, before;
	DWORD *ids;

	if ((ids = calloc(ed->cat.count + 1, sizeof(*ids))) == NULL)
		return WSAENOBUFS;
	for (i = 0; i < n; i++) {
		p = &infos[i];
		before = m;
		for (j = 0; j < ed->cat.count; j++) {
			e = &ed->e[j].info;
			if (e->ProtocolChain.ChainLen == BASE_PROTOCOL &&
			    e->iAddressFamily == p->iAddressFamily &&
			    e->iSocketType == p->iSocketType &&
			    e->iProtocol == p->iProtocol)
				wsc_add_id(ids, &m, e->dwCatalogEntryId);
		}
		if (m == before) {
			free(ids);
			return wsc_say(err, WSAEINVAL, "protocol %zu (family "
			    "%d, type %d, protocol %d) matches no base entry",
			    i, p->iAddressFamily, p->iSocketType,
			    p->iProtocol);
		}
	}
	*out = ids;
	*nout = m;
	return 0;
}

/* 0 if every id in over can have a layer put over it, else WSAEINVAL
 * with err naming the first that cannot. */
static int
wsc_check_over(const struct catalog_edit *ed, const DWORD *over, size_t n,
    struct catfile_error *err)
{
	size_t i, j;
	long k;
	int len;

	for (i = 0; i < n; i++) {
		if ((k = wsc_find(ed, over[i])) < 0)
			return wsc_say(err, WSAEINVAL, "no catalog entry %u",
			    over[i]);
		len = ed->e[k].info.ProtocolChain.ChainLen;
		if (len == LAYERED_PROTOCOL)
			return wsc_say(err, WSAEINVAL, "entry %u is a layered "
			    "entry; install over a base or chain entry",
			    over[i]);
		if (len >= MAX_PROTOCOL_CHAIN)
			return wsc_say(err, WSAEINVAL, "chain %u is already "
			    "%d long", over[i], len);
		for (j = 0; j < i; j++)
			if (over[j] == over[i])
				return wsc_say(err, WSAEINVAL, "entry %u is "
				    "listed twice", over[i]);
	}
	return 0;
}

/* 0 once the layer and its chains are in ed, or a WSA code. */
static int
wsc_layer_edit(struct catalog_edit *ed, void *varg,
    struct catfile_error *err)
{
	struct wsc_layer_arg *a = varg;
	DWORD *ids = NULL, top;
	const DWORD *over = a->over;
	size_t i, n = a->n;
	int rc;

	if ((rc = wsc_check_new_guid(ed, a->id, err)) != 0)
		return rc;
	if (a->infos != NULL) {
		if ((rc = wsc_resolve_infos(ed, a->infos, a->n, &ids, &n,
		    err)) != 0)
			return rc;
		over = ids;
	}
	if ((rc = wsc_check_over(ed, over, n, err)) != 0)
		goto out;
	rc = catedit_add_layer(ed, a->id, a->path, a->name, a->params, over,
	    n, &a->layer);
	if (rc != 0)
		goto out;
	/* Without XP1_IFS_HANDLES the layer hands out its own handles:
	 * neither its entry nor its chains may claim IFS handles. */
	for (i = 0; i < ed->cat.count; i++) {
		WSAPROTOCOL_INFOW *p = &ed->e[i].info;

		top = p->ProtocolChain.ChainLen >= 2 ?
		    p->ProtocolChain.ChainEntries[0] : p->dwCatalogEntryId;
		if (top != a->layer)
			continue;
		p->dwServiceFlags1 &= ~(DWORD)XP1_IFS_HANDLES;
		if (p->dwCatalogEntryId == a->layer)
			p->dwServiceFlags1 |= a->xp1;
		else
			p->dwServiceFlags1 |= a->xp1 & XP1_IFS_HANDLES;
	}
out:
	free(ids);
	return rc;
}

/* The layer's entry id in *layer_id; 0 or a WSA code with err. */
static int
wsc_layer(const char *file, struct wsc_layer_arg *a, DWORD *layer_id,
    struct catfile_error *err)
{
	char abs[PATH_MAX];
	const char *given = a->path;
	int rc;

	if (a->id == NULL || a->path == NULL || a->name == NULL ||
	    (a->n > 0 && a->over == NULL && a->infos == NULL))
		return wsc_say(err, WSAEFAULT, "a NULL argument");
	if (*a->path == '\0')
		return wsc_say(err, WSAEINVAL, "an empty provider path");
	if ((a->path = wsc_abs_path(given, abs, sizeof(abs))) == NULL)
		return wsc_say(err, WSAEINVAL, "provider path %s cannot be "
		    "made absolute", given);
	if (a->n == 0)
		return wsc_say(err, WSAEINVAL, "nothing to install over");
	if ((a->xp1 & ~(DWORD)XP1_IFS_HANDLES) != 0)
		return wsc_say(err, WSAEINVAL, "service flags 0x%x: only "
		    "XP1_IFS_HANDLES may be given", a->xp1);
	rc = catfile_update(file, wsc_layer_edit, a, err);
	if (rc == 0 && layer_id != NULL)
		*layer_id = a->layer;
	return rc;
}

/* 0 and the layer's entry id in *layer_id, or a WSA code with err. */
int
wsc_install_layer(const char *file, const GUID *id, const char *path,
    const char *name, DWORD xp1, const char *params, const DWORD *over,
    size_t n, DWORD *layer_id, struct catfile_error *err)
{
	struct wsc_layer_arg a = { id, path, name, params, xp1, over, NULL,
	    n, 0 };

	return wsc_layer(file, &a, layer_id, err);
}

/* --- removal, order, parameters ------------------------------------------- */

/* 0 once provider *arg is gone from ed, or WSAEINVAL. */
static int
wsc_deinstall_edit(struct catalog_edit *ed, void *arg,
    struct catfile_error *err)
{
	char g[40];
	int rc;

	rc = catedit_remove_provider(ed, arg);
	if (rc == WSAEINVAL)
		return wsc_say(err, rc, "provider %s is not installed",
		    catfile_guid_str(arg, g, sizeof(g)));
	return rc;
}

/* 0 once provider id is gone from the file, or a WSA code with err. */
int
wsc_deinstall(const char *file, const GUID *id, struct catfile_error *err)
{
	if (id == NULL)
		return wsc_say(err, WSAEFAULT, "a NULL argument");
	return catfile_update(file, wsc_deinstall_edit, (void *)id, err);
}

struct wsc_order_arg {
	const DWORD	*ids;
	size_t		 n;
};

/* 0 once the ids come first in ed, or WSAEINVAL. */
static int
wsc_order_edit(struct catalog_edit *ed, void *varg,
    struct catfile_error *err)
{
	struct wsc_order_arg *a = varg;
	size_t i, j;

	for (i = 0; i < a->n; i++) {
		if (wsc_find(ed, a->ids[i]) < 0)
			return wsc_say(err, WSAEINVAL, "no catalog entry %u",
			    a->ids[i]);
		for (j = 0; j < i; j++)
			if (a->ids[j] == a->ids[i])
				return wsc_say(err, WSAEINVAL, "entry %u is "
				    "listed twice", a->ids[i]);
	}
	return catedit_reorder(ed, a->ids, a->n);
}

/* 0 once the ids come first in the file, or a WSA code with err. */
int
wsc_write_order(const char *file, const DWORD *ids, size_t n,
    struct catfile_error *err)
{
	struct wsc_order_arg a = { ids, n };

	if (ids == NULL && n > 0)
		return wsc_say(err, WSAEFAULT, "a NULL argument");
	return catfile_update(file, wsc_order_edit, &a, err);
}

struct wsc_params_arg {
	DWORD		 id;
	const char	*params;
};

/* 0 once the entry (and, for a layered entry, the chains it tops) has
 * the new parameters, or a WSA code. */
static int
wsc_params_edit(struct catalog_edit *ed, void *varg,
    struct catfile_error *err)
{
	struct wsc_params_arg *a = varg;
	const WSAPROTOCOLCHAIN *pc;
	struct catalog_entry *v;
	size_t i;
	long k;
	int rc, layered;

	if ((k = wsc_find(ed, a->id)) < 0)
		return wsc_say(err, WSAEINVAL, "no catalog entry %u", a->id);
	layered = ed->e[k].info.ProtocolChain.ChainLen == LAYERED_PROTOCOL;
	if ((v = calloc(ed->cat.count, sizeof(*v))) == NULL)
		return WSAENOBUFS;
	memcpy(v, ed->e, ed->cat.count * sizeof(*v));
	for (i = 0; i < ed->cat.count; i++) {
		pc = &v[i].info.ProtocolChain;
		if (v[i].info.dwCatalogEntryId == a->id || (layered &&
		    pc->ChainLen >= 2 && pc->ChainLen <= MAX_PROTOCOL_CHAIN &&
		    pc->ChainEntries[0] == a->id))
			v[i].params = a->params;
	}
	rc = wsc_rebuild(ed, v, ed->cat.count, ed->next_id);
	free(v);
	return rc;
}

/* 0 once entry id has the parameters, or a WSA code with err. */
int
wsc_set_params(const char *file, DWORD id, const char *params,
    struct catfile_error *err)
{
	struct wsc_params_arg a = { id, params };

	if (params != NULL && *params == '\0')
		a.params = NULL;
	return catfile_update(file, wsc_params_edit, &a, err);
}

/* --- WSCUpdateProvider, provider information ----------------------------- */

struct wsc_update_arg {
	const GUID		*id;
	const char		*path;
	const WSAPROTOCOL_INFOW	*list;
	size_t			 n;
};

/* 0 once the provider's entries are the listed ones, or a WSA code. */
static int
wsc_update_edit(struct catalog_edit *ed, void *varg,
    struct catfile_error *err)
{
	struct wsc_update_arg *a = varg;
	const WSAPROTOCOL_INFOW *p;
	struct catalog_entry *v;
	char g[40];
	size_t i, j, mine = 0;
	long k;
	int rc;

	for (i = 0; i < ed->cat.count; i++)
		mine += wsc_guid_eq(&ed->e[i].info.ProviderId, a->id);
	if (mine == 0)
		return wsc_say(err, WSAEINVAL, "provider %s is not installed",
		    catfile_guid_str(a->id, g, sizeof(g)));
	if (a->n != mine)
		return wsc_say(err, WSAEINVAL, "provider %s has %zu entries, "
		    "%zu given", catfile_guid_str(a->id, g, sizeof(g)), mine,
		    a->n);
	for (i = 0; i < a->n; i++) {
		p = &a->list[i];
		k = wsc_find(ed, p->dwCatalogEntryId);
		if (k < 0 || !wsc_guid_eq(&ed->e[k].info.ProviderId, a->id))
			return wsc_say(err, WSAEINVAL, "entry %zu: %u is not "
			    "an entry of the provider", i,
			    p->dwCatalogEntryId);
		for (j = 0; j < i; j++)
			if (a->list[j].dwCatalogEntryId == p->dwCatalogEntryId)
				return wsc_say(err, WSAEINVAL, "entry %u is "
				    "listed twice", p->dwCatalogEntryId);
		if ((p->ProtocolChain.ChainLen > 1) !=
		    (ed->e[k].info.ProtocolChain.ChainLen > 1) ||
		    (p->ProtocolChain.ChainLen == BASE_PROTOCOL) !=
		    (ed->e[k].info.ProtocolChain.ChainLen == BASE_PROTOCOL))
			return wsc_say(err, WSAEINVAL, "entry %u: a base, "
			    "layered or chain entry stays one",
			    p->dwCatalogEntryId);
		if ((rc = wsc_check_chain(ed, &p->ProtocolChain, i, err)) != 0)
			return rc;
	}
	if ((v = calloc(ed->cat.count, sizeof(*v))) == NULL)
		return WSAENOBUFS;
	memcpy(v, ed->e, ed->cat.count * sizeof(*v));
	for (i = 0; i < a->n; i++) {
		k = wsc_find(ed, a->list[i].dwCatalogEntryId);
		v[k].info = a->list[i];
		v[k].info.ProviderId = *a->id;
		if (v[k].info.ProtocolChain.ChainLen == BASE_PROTOCOL)
			v[k].info.ProtocolChain.ChainEntries[0] =
			    v[k].info.dwCatalogEntryId;
	}
	for (i = 0; i < ed->cat.count; i++)
		if (wsc_guid_eq(&v[i].info.ProviderId, a->id))
			v[i].path = a->path;
	rc = wsc_rebuild(ed, v, ed->cat.count, ed->next_id);
	free(v);
	return rc;
}

/* 0 once provider id's entries are the n at list, with path; or a WSA
 * code with err. */
int
wsc_update_provider(const char *file, const GUID *id, const char *path,
    const WSAPROTOCOL_INFOW *list, size_t n, struct catfile_error *err)
{
	struct wsc_update_arg a = { id, path, list, n };

	if (id == NULL || path == NULL || (list == NULL && n > 0))
		return wsc_say(err, WSAEFAULT, "a NULL argument");
	if (*path == '\0')
		return wsc_say(err, WSAEINVAL, "an empty provider path");
	return catfile_update(file, wsc_update_edit, &a, err);
}

struct wsc_cat_arg {
	const GUID	*id;
	DWORD		 cats;
};

/* 0 once every entry of the provider has the categories, or
 * WSAEINVALIDPROVIDER. */
static int
wsc_cat_edit(struct catalog_edit *ed, void *varg, struct catfile_error *err)
{
	struct wsc_cat_arg *a = varg;
	char g[40];
	size_t i, n = 0;

	for (i = 0; i < ed->cat.count; i++)
		if (wsc_guid_eq(&ed->e[i].info.ProviderId, a->id)) {
			ed->e[i].lsp_categories = a->cats;
			n++;
		}
	if (n == 0)
		return wsc_say(err, WSAEINVALIDPROVIDER, "provider %s is not "
		    "installed", catfile_guid_str(a->id, g, sizeof(g)));
	return 0;
}

/* 0 once provider id has LSP categories cats, or a WSA code with err. */
int
wsc_set_categories(const char *file, const GUID *id, DWORD cats,
    struct catfile_error *err)
{
	struct wsc_cat_arg a = { id, cats };

	return catfile_update(file, wsc_cat_edit, &a, err);
}

/* 0 and provider id's LSP categories from the file, or a WSA code. */
int
wsc_get_categories(const char *file, const GUID *id, DWORD *cats,
    struct catfile_error *err)
{
	struct catalog_edit ed;
	char g[40];
	size_t i;
	int rc;

	if (file == NULL)
		return wsc_say(err, WSAEACCES, "the catalog file's path is "
		    "too long");
	if ((rc = catfile_read(file, &ed, NULL, err)) != 0)
		return rc;
	rc = wsc_say(err, WSAEINVALIDPROVIDER, "provider %s is not installed",
	    catfile_guid_str(id, g, sizeof(g)));
	for (i = 0; i < ed.cat.count; i++)
		if (wsc_guid_eq(&ed.e[i].info.ProviderId, id)) {
			*cats = ed.e[i].lsp_categories;
			rc = 0;
			break;
		}
	catedit_free(&ed);
	return rc;
}

/* --- the exported calls --------------------------------------------------- */

/* 0, or SOCKET_ERROR with *lpErrno = rc (logged when it is the file's
 * fault, not the caller's). */
static int
wsc_result(const char *fn, int rc, const struct catfile_error *err,
    LPINT lpErrno)
{
	if (rc == 0)
		return 0;
	if ((rc == WSAEACCES || rc == WSANO_RECOVERY || rc == WSAENOBUFS) &&
	    !catfile_is_quiet())
		log_msg("%s: %s", fn, err->msg[0] != '\0' ? err->msg :
		    errmap_message(rc));
	if (lpErrno != NULL)
		*lpErrno = rc;
	return SOCKET_ERROR;
}

/* A malloc'd UTF-8 copy of w, or NULL (no memory). */
static char *
wsc_utf8(const WCHAR *w)
{
	size_t n = wstr_to_utf8(NULL, 0, w) + 1;
	char *s;

	if ((s = malloc(n)) != NULL)
		wstr_to_utf8(s, n, w);
	return s;
}

/* WSCInstallProvider (update 0) or WSCUpdateProvider (update 1): 0, or
 * SOCKET_ERROR and *lpErrno. */
static int
wsc_provider_call(const char *fn, int update, LPGUID id, const WCHAR *wpath,
    const WSAPROTOCOL_INFOW *list, DWORD n, LPINT lpErrno)
{
	struct catfile_error err = { 0, "" };
	char buf[PATH_MAX], *path;
	const char *file = catfile_path(buf, sizeof(buf));
	int rc;

	if (id == NULL || wpath == NULL || list == NULL || lpErrno == NULL)
		return wsc_result(fn, WSAEFAULT, &err, lpErrno);
	if ((path = wsc_utf8(wpath)) == NULL)
		return wsc_result(fn, WSAENOBUFS, &err, lpErrno);
	rc = update ? wsc_update_provider(file, id, path, list, n, &err) :
	    wsc_install_provider(file, id, path, list, n, NULL, &err);
	free(path);
	return wsc_result(fn, rc, &err, lpErrno);
}

/* 0, or SOCKET_ERROR and *lpErrno (ws2spi.h). */
WSPSHIM_EXPORT int WSPAPI
WSCInstallProvider(LPGUID lpProviderId, const WCHAR *lpszProviderDllPath,
    const LPWSAPROTOCOL_INFOW lpProtocolInfoList, DWORD dwNumberOfEntries,
    LPINT lpErrno)
{
	return wsc_provider_call(__func__, 0, lpProviderId,
	    lpszProviderDllPath, lpProtocolInfoList, dwNumberOfEntries,
	    lpErrno);
}

/* 0 and *lpdwCatalogEntryId, or SOCKET_ERROR and *lpErrno. */
WSPSHIM_EXPORT int WSPAPI
WSCInstallProviderAndChains(LPGUID lpProviderId,
    const LPWSTR lpszProviderDllPath, const LPWSTR lpszLspName,
    DWORD dwServiceFlags, LPWSAPROTOCOL_INFOW lpProtocolInfoList,
    DWORD dwNumberOfEntries, LPDWORD lpdwCatalogEntryId, LPINT lpErrno)
{
	struct catfile_error err = { 0, "" };
	struct wsc_layer_arg a;
	char buf[PATH_MAX], *path, *name;
	const char *file = catfile_path(buf, sizeof(buf));
	int rc;

	if (lpProviderId == NULL || lpszProviderDllPath == NULL ||
	    lpszLspName == NULL || lpProtocolInfoList == NULL ||
	    lpErrno == NULL)
		return wsc_result(__func__, WSAEFAULT, &err, lpErrno);
	path = wsc_utf8(lpszProviderDllPath);
	name = wsc_utf8(lpszLspName);
	if (path == NULL || name == NULL) {
		free(path);
		free(name);
		return wsc_result(__func__, WSAENOBUFS, &err, lpErrno);
	}
	memset(&a, 0, sizeof(a));
	a.id = lpProviderId;
	a.path = path;
	a.name = name;
	a.xp1 = dwServiceFlags;
	a.infos = lpProtocolInfoList;
	a.n = dwNumberOfEntries;
	rc = wsc_layer(file, &a, lpdwCatalogEntryId, &err);
	free(path);
	free(name);
	return wsc_result(__func__, rc, &err, lpErrno);
}

/* 0, or SOCKET_ERROR and *lpErrno. */
WSPSHIM_EXPORT int WSPAPI
WSCDeinstallProvider(LPGUID lpProviderId, LPINT lpErrno)
{
	struct catfile_error err = { 0, "" };
	char buf[PATH_MAX];
	const char *file = catfile_path(buf, sizeof(buf));

	if (lpProviderId == NULL || lpErrno == NULL)
		return wsc_result(__func__, WSAEFAULT, &err, lpErrno);
	return wsc_result(__func__, wsc_deinstall(file, lpProviderId, &err),
	    &err, lpErrno);
}

/* 0 or the WSA code itself, as Winsock's. */
WSPSHIM_EXPORT int WSPAPI
WSCWriteProviderOrder(LPDWORD lpwdCatalogEntryId, DWORD dwNumberOfEntries)
{
	struct catfile_error err = { 0, "" };
	char buf[PATH_MAX];
	const char *file = catfile_path(buf, sizeof(buf));
	int rc, dummy;

	if (lpwdCatalogEntryId == NULL)
		rc = WSAEFAULT;
	else
		rc = wsc_write_order(file, lpwdCatalogEntryId,
		    dwNumberOfEntries, &err);
	wsc_result(__func__, rc, &err, &dummy);
	return rc;
}

/* 0, or SOCKET_ERROR and *lpErrno. */
WSPSHIM_EXPORT int WSPAPI
WSPShimSetLayerParams(DWORD dwCatalogEntryId, const char *lpszParams,
    LPINT lpErrno)
{
	struct catfile_error err = { 0, "" };
	char buf[PATH_MAX];
	const char *file = catfile_path(buf, sizeof(buf));

	if (lpszParams == NULL || lpErrno == NULL)
		return wsc_result(__func__, WSAEFAULT, &err, lpErrno);
	return wsc_result(__func__, wsc_set_params(file, dwCatalogEntryId,
	    lpszParams, &err), &err, lpErrno);
}

/* 0, or SOCKET_ERROR and *lpErrno. */
WSPSHIM_EXPORT int WSPAPI
WSCUpdateProvider(LPGUID lpProviderId, const WCHAR *lpszProviderDllPath,
    const LPWSAPROTOCOL_INFOW lpProtocolInfoList, DWORD dwNumberOfEntries,
    LPINT lpErrno)
{
	return wsc_provider_call(__func__, 1, lpProviderId,
	    lpszProviderDllPath, lpProtocolInfoList, dwNumberOfEntries,
	    lpErrno);
}

/*
 * The 64_32 and 32 forms: Windows keeps a 32-bit and a 64-bit catalog on
 * a 64-bit machine; here there is one catalog, so each is its native
 * call (the 32-bit provider path of the 64_32 forms must be given, as on
 * Windows, and is not stored).  WSCEnumProtocols32 is beside
 * WSCEnumProtocols, in wsa.c.
 */
WSPSHIM_EXPORT int WSPAPI
WSCInstallProvider64_32(LPGUID lpProviderId,
    const WCHAR *lpszProviderDllPath,
    const LPWSAPROTOCOL_INFOW lpProtocolInfoList, DWORD dwNumberOfEntries,
    LPINT lpErrno)
{
	return WSCInstallProvider(lpProviderId, lpszProviderDllPath,
	    lpProtocolInfoList, dwNumberOfEntries, lpErrno);
}

WSPSHIM_EXPORT int WSPAPI
WSCInstallProviderAndChains64_32(LPGUID lpProviderId,
    const LPWSTR lpszProviderDllPath, const LPWSTR lpszProviderDllPath32,
    const LPWSTR lpszLspName, DWORD dwServiceFlags,
    LPWSAPROTOCOL_INFOW lpProtocolInfoList, DWORD dwNumberOfEntries,
    LPDWORD lpdwCatalogEntryId, LPINT lpErrno)
{
	struct catfile_error err = { 0, "" };

	if (lpszProviderDllPath32 == NULL)
		return wsc_result(__func__, WSAEFAULT, &err, lpErrno);
	return WSCInstallProviderAndChains(lpProviderId, lpszProviderDllPath,
	    lpszLspName, dwServiceFlags, lpProtocolInfoList,
	    dwNumberOfEntries, lpdwCatalogEntryId, lpErrno);
}

WSPSHIM_EXPORT int WSPAPI
WSCDeinstallProvider32(LPGUID lpProviderId, LPINT lpErrno)
{
	return WSCDeinstallProvider(lpProviderId, lpErrno);
}

/* The LSP_* category bits Windows defines. */
#define WSC_LSP_KNOWN	(LSP_SYSTEM | LSP_INSPECTOR | LSP_REDIRECTOR | \
	LSP_PROXY | LSP_FIREWALL | LSP_INBOUND_MODIFY | LSP_OUTBOUND_MODIFY | \
	LSP_CRYPTO_COMPRESS | LSP_LOCAL_CACHE)

/* 0 if the request names a class this library has, else a WSA code:
 * ERROR_CALL_NOT_IMPLEMENTED for ProviderInfoAudit, as on Windows. */
static int
wsc_info_class(const GUID *id, WSC_PROVIDER_INFO_TYPE type, DWORD flags)
{
	if (id == NULL)
		return WSAEFAULT;
	if (type == ProviderInfoAudit)
		return ERROR_CALL_NOT_IMPLEMENTED;
	if (type != ProviderInfoLspCategories || flags != 0)
		return WSAEINVAL;
	return 0;
}

/* 0 and the provider's LSP categories in *Info, or SOCKET_ERROR and
 * *lpErrno. */
WSPSHIM_EXPORT int WSPAPI
WSCGetProviderInfo(LPGUID lpProviderId, WSC_PROVIDER_INFO_TYPE InfoType,
    PBYTE Info, size_t *InfoSize, DWORD Flags, LPINT lpErrno)
{
	struct catfile_error err = { 0, "" };
	char buf[PATH_MAX];
	DWORD cats;
	int rc;

	if (lpErrno == NULL || InfoSize == NULL)
		return wsc_result(__func__, WSAEFAULT, &err, lpErrno);
	if ((rc = wsc_info_class(lpProviderId, InfoType, Flags)) != 0)
		return wsc_result(__func__, rc, &err, lpErrno);
	if (Info == NULL || *InfoSize < sizeof(DWORD)) {
		*InfoSize = sizeof(DWORD);
		return wsc_result(__func__, WSAEFAULT, &err, lpErrno);
	}
	rc = wsc_get_categories(catfile_path(buf, sizeof(buf)), lpProviderId,
	    &cats, &err);
	if (rc == 0) {
		memcpy(Info, &cats, sizeof(cats));
		*InfoSize = sizeof(cats);
	}
	return wsc_result(__func__, rc, &err, lpErrno);
}

/* 0, or SOCKET_ERROR and *lpErrno. */
WSPSHIM_EXPORT int WSPAPI
WSCSetProviderInfo(LPGUID lpProviderId, WSC_PROVIDER_INFO_TYPE InfoType,
    PBYTE Info, size_t InfoSize, DWORD Flags, LPINT lpErrno)
{
	struct catfile_error err = { 0, "" };
	char buf[PATH_MAX];
	DWORD cats;
	int rc;

	if (lpErrno == NULL)
		return wsc_result(__func__, WSAEFAULT, &err, lpErrno);
	if ((rc = wsc_info_class(lpProviderId, InfoType, Flags)) != 0)
		return wsc_result(__func__, rc, &err, lpErrno);
	if (Info == NULL || InfoSize < sizeof(DWORD))
		return wsc_result(__func__, WSAEFAULT, &err, lpErrno);
	memcpy(&cats, Info, sizeof(cats));
	if (InfoSize != sizeof(DWORD) || (cats & ~(DWORD)WSC_LSP_KNOWN) != 0)
		return wsc_result(__func__, WSAEINVAL, &err, lpErrno);
	rc = wsc_set_categories(catfile_path(buf, sizeof(buf)), lpProviderId,
	    cats, &err);
	return wsc_result(__func__, rc, &err, lpErrno);
}
