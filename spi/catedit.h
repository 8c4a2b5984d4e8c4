/*
 * catedit.h - building and changing catalogs in memory.
 *
 * One mechanism serves the catalog file's installers (WSC* calls, the
 * wspshim command) and WSPSHIM_LAYERS: copy the catalog, edit the copy,
 * publish or save it.  Entry ids come from next_id and are never reused.
 */
#ifndef WSPSHIM_CATEDIT_H
#define WSPSHIM_CATEDIT_H

#include "catalog.h"

/* A catalog being edited: entries, their strings, and the id counter. */
struct catalog_edit {
	struct catalog		cat;		/* cat.entries points at e */
	struct catalog_entry	*e;		/* owned, with owned strings */
	size_t			cap;
	DWORD			next_id;	/* next entry id to hand out */
};

/* Start an edit from a copy of c (NULL: the catalog in force), next_id
 * one past its highest id unless given (0 means compute; a given next_id
 * at or below an id in c is raised past it, so no id is handed out
 * twice).  0 or WSAENOBUFS. */
int catedit_begin(struct catalog_edit *ed, const struct catalog *c,
    DWORD next_id);

/* Free an edit's memory. */
void catedit_free(struct catalog_edit *ed);

/*
 * Install a layer the way WSCInstallProviderAndChains does: a hidden
 * layered entry (ChainLen 0) for the provider, and over each entry in
 * over[] (a base entry or an existing chain) a chain entry with the layer
 * on top, named "NAME over [BASE NAME]", inserted before everything else
 * in catalog order.  The layered entry's id goes to *layer_id.  0, or
 * WSAEINVAL (unknown, layered or repeated id in over[], chain too long),
 * WSAENOBUFS; on failure the edit is unchanged.
 *
 * The new entries come in this order and take consecutive ids: the
 * layered entry, then one chain for each of over[0..n-1].  A chain copies
 * the protocol fields of the entry it goes over, with the layer's
 * ProviderId, path and params, and ChainEntries [layer, the over entry's
 * chain...]; over a chain called "X", its name is "NAME over [X]", so the
 * base's name stays at the end, brackets and all, as on Windows.
 */
int catedit_add_layer(struct catalog_edit *ed, const GUID *provider_id,
    const char *path, const char *name, const char *params,
    const DWORD *over, size_t n, DWORD *layer_id);

/* Remove every entry of provider_id and every chain that names one of
 * them.  0, or WSAEINVAL when there is none. */
int catedit_remove_provider(struct catalog_edit *ed, const GUID *provider_id);

/* Put the listed ids first, in this order, the rest after in their old
 * order.  0, or WSAEINVAL (unknown or repeated id). */
int catedit_reorder(struct catalog_edit *ed, const DWORD *ids, size_t n);

/* Freeze the edit into a catalog that can be published with
 * catalog_set_current (it is never freed: readers hold no lock).  NULL on
 * WSAENOBUFS. */
const struct catalog *catedit_publish(struct catalog_edit *ed);

#endif
