/*
 * layerenv.h - WSPSHIM_LAYERS: layers for one run, no catalog file touched.
 *
 * WSPSHIM_LAYERS="a:PARAMS,b,c" covers every TCP and UDP (IPv4 and IPv6)
 * and AF_UNIX base entry of the catalog in force with the chain
 * [a, b, c, base], a on top.  It is built with catedit_add_layer like any
 * installation: c over the base entries, b over c's chains, a over b's,
 * so the full chains come first in catalog order and win selection (the
 * intermediate chains stay, after them).  At most MAX_PROTOCOL_CHAIN - 1
 * layers fit over a base.  The layers are taken to hand out their own
 * socket handles (WPUCreateSocketHandle), so their entries do not claim
 * XP1_IFS_HANDLES, as with `wspshim install` without --ifs.
 *
 * Syntax.  Elements are separated by ','.  Inside an element "\," stands
 * for a comma and "\\" for a backslash; every other character, backslash
 * included, stands for itself.  What follows the first ':' of an element
 * is the layer's parameter string (read by the layer with
 * WSPShimGetLayerParams); so a layer name cannot hold ':' or ',' but
 * parameters can hold both ("trace:file=/tmp/t\,x" gives "file=/tmp/t,x").
 * Empty elements are skipped.  Before the ':', a name with a '/' is a path
 * to the plugin; any other NAME is looked up as libwsp_NAME.so in each
 * directory of WSPSHIM_LAYER_PATH (colon-separated), then in the install
 * directory (WSPSHIM_LAYERDIR), then in the build tree next to the library
 * (<dir of libwspshim.so>/../layers/NAME/libwsp_NAME.so).
 *
 * A layer that names no file (or too many layers) is logged once, naming
 * it and the places searched, and kept in the catalog as a provider that
 * cannot load: the sockets its chains cover fail with
 * WSAEPROVIDERFAILEDINIT (errno ELIBACC) through the core's ordinary
 * chain start-up, instead of running silently without it.  With
 * WSPSHIM_FALLBACK=1 such a layer is left out instead (too many layers:
 * the variable is ignored), with a log line.  Under secure execution
 * (AT_SECURE) the variables are ignored, with a log line.
 */
#ifndef WSPSHIM_LAYERENV_H
#define WSPSHIM_LAYERENV_H

#include "catedit.h"

#define LAYERENV_MAX	(MAX_PROTOCOL_CHAIN - 1)

struct layerenv_opts {
	const char	*layer_path;	/* WSPSHIM_LAYER_PATH, or NULL */
	const char	*install_dir;	/* the installed layers, or NULL */
	const char	*lib_dir;	/* where libwspshim.so is, or NULL */
	int		fallback;	/* WSPSHIM_FALLBACK=1 */
	/* Told of each layer kept although it cannot load (layered id,
	 * catalog path); may be NULL. */
	void		(*unusable)(DWORD layer_id, const char *path);
};

/* The plugin file a layer name (a path, or a short NAME) stands for,
 * malloc'd, or NULL when there is none; searched (may be NULL) gets the
 * places looked at, cut to size bytes. */
char *layerenv_resolve(const char *name, const struct layerenv_opts *o,
    char *searched, size_t size);

/* Add the layers spec names to ed, over its TCP, UDP and AF_UNIX base
 * entries.  0 and *installed (layers added), or WSAENOBUFS (ed may then
 * hold some of the layers). */
int layerenv_build(struct catalog_edit *ed, const char *spec,
    const struct layerenv_opts *o, int *installed);

/* The catalog WSPSHIM_LAYERS makes of base (base itself when it names no
 * layer); nothing is published.  A reload of the catalog file uses it. */
const struct catalog *layerenv_apply(const struct catalog *base,
    void (*unusable)(DWORD layer_id, const char *path));

/* Apply WSPSHIM_LAYERS to the catalog in force; called by core_init,
 * which passes the loader's provider_set_unusable as unusable. */
void layerenv_init(void (*unusable)(DWORD layer_id, const char *path));

#endif
