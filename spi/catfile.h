/*
 * catfile.h - the persistent catalog file and the installer operations.
 *
 * The file (docs/catalog-file.md) holds the whole catalog: every entry's
 * WSAPROTOCOL_INFOW, provider path and layer parameters, in catalog order,
 * and the next entry id to hand out.  core_init() loads it once; the WSC*
 * calls and the wspshim command change it under an exclusive lock, by
 * writing a new file and renaming it over the old one, so readers never
 * see half a file and two installers never lose each other's entries.
 *
 * Errors are WSA codes: WSANO_RECOVERY for a corrupt file, WSAEACCES for
 * one that cannot be read, locked or written, WSAENOBUFS, and whatever an
 * edit returns (WSAEINVAL).  A struct catfile_error says why, in words.
 */
#ifndef WSPSHIM_CATFILE_H
#define WSPSHIM_CATFILE_H

#include <stddef.h>
#include "catedit.h"

#define CATFILE_VERSION		1	/* the format written */
#define CATFILE_MAX_SIZE	(16u << 20)	/* larger: corrupt */
#define CATFILE_CLOSED_PATH	"/dev/null/unusable-catalog-file"

/* Why an operation failed: one line of text, and the file's line number
 * when the file itself is at fault (else 0). */
struct catfile_error {
	int	line;
	char	msg[512];
};

/* Who is asking (catfile_mode): under secure execution, a root process. */
#define CATFILE_SECURE	1
#define CATFILE_ROOT	2

/*
 * The catalog file the rules name, into buf (len bytes): the file
 * WSPSHIM_CATALOG names (made absolute against the start-up directory);
 * else, unless mode has CATFILE_ROOT, $XDG_CONFIG_HOME/wspshim/catalog,
 * or ~/.config/wspshim/catalog (from HOME), if that file exists; else the
 * system file.  With CATFILE_SECURE only the system file counts.  Empty
 * settings count as unset, and so does a relative XDG_CONFIG_HOME.
 * Returns 0, or -1 when the path does not fit.
 */
int catfile_locate(char *buf, size_t len, int mode);

/* CATFILE_SECURE and CATFILE_ROOT (effective user 0) for this process;
 * any of them makes the start-up checks strict (root's files only). */
int catfile_mode(void);

/* Test seam: -1 asks geteuid again, 0 or 1 forces CATFILE_ROOT. */
void catfile_force_root(int root);

/* The system catalog file compiled in (sysconfdir/wspshim/catalog). */
const char *catfile_system_path(void);

/* Whether the process runs under secure execution (AT_SECURE), unless a
 * test forced the answer with catfile_force_secure. */
int catfile_secure(void);

/* Test seam: -1 restores getauxval(AT_SECURE), 0 or 1 forces it. */
void catfile_force_secure(int secure);

/* The per-user catalog file into buf (len bytes), whether it exists or
 * not; 0, or -1 when there is none (no absolute XDG_CONFIG_HOME, no
 * HOME) or it does not fit. */
int catfile_user_path(char *buf, size_t len);

/* The catalog file the WSC* calls of this process change: the one given
 * to catfile_set_path, else catfile_locate's, in buf (len bytes).  NULL
 * when it does not fit. */
const char *catfile_path(char *buf, size_t len);

/* Make the WSC* calls of this process change path (NULL: the rules).
 * For tests and the command: call it before other threads use them. */
void catfile_set_path(const char *path);

/* Don't log failures of the WSC* calls (the command reports them). */
void catfile_set_quiet(int quiet);
int catfile_is_quiet(void);

/*
 * Parse a catalog file's text (len bytes, need not be terminated) into a
 * new edit holding its entries and next-id.  0, WSANO_RECOVERY (err says
 * where and why), or WSAENOBUFS.  ed needs catedit_free after success.
 */
int catfile_parse(const char *text, size_t len, struct catalog_edit *ed,
    struct catfile_error *err);

/* The text of a catalog file for catalog c and counter next_id, in a
 * malloc'd buffer of *len bytes (terminated), or NULL (no memory). */
char *catfile_format(const struct catalog *c, DWORD next_id, size_t *len);

/*
 * Read the catalog file at path into a new edit.  A missing file gives the
 * built-in catalog and sets *missing (which may be NULL).  0,
 * WSANO_RECOVERY, WSAEACCES or WSAENOBUFS; err names the file.  It checks
 * no owner or mode (the editor's read); start-up and any reload that will
 * load what the file names go through catfile_startup_catalog.
 */
int catfile_read(const char *path, struct catalog_edit *ed, int *missing,
    struct catfile_error *err);

/* Write ed's catalog to path atomically: a temporary file beside it,
 * fsync, rename, fsync of the directory.  The caller holds the lock.
 * 0, WSAEACCES or WSAENOBUFS. */
int catfile_write(const char *path, const struct catalog_edit *ed,
    struct catfile_error *err);

/* What catfile_update applies: change ed, return 0 or a WSA code (and
 * say why in err when it is not obvious). */
typedef int (*catfile_edit_fn)(struct catalog_edit *ed, void *arg,
    struct catfile_error *err);

/*
 * Change the catalog file at path: create its directories, take an
 * exclusive flock on "path.lock", read the file (missing: the built-in
 * catalog), apply fn, write it back atomically, unlock.  Nothing is
 * written when fn fails.  0 or a WSA code.
 */
int catfile_update(const char *path, catfile_edit_fn fn, void *arg,
    struct catfile_error *err);

/*
 * The catalog a process starting now runs with, given the catalog file
 * path (NULL: none can be named): the file's, the built-in one when the
 * file is missing, and for a file that cannot be read or parsed, or that
 * fails trust_open's owner and mode checks (strict for catfile_mode() !=
 * 0), the fail-closed catalog, or the built-in one when fallback is set.
 * Logs one line when the file is unusable.  Never NULL.
 */
const struct catalog *catfile_startup_catalog(const char *path,
    int fallback);

/*
 * Load the catalog file once at start-up and publish it (core_init).
 * When the file is unusable and the run fails closed, unusable (may be
 * NULL) is told the fail-closed provider's entry id and path, so the
 * loader fails its chains at once without trying the file or logging
 * more: the line catfile_load logged is the one line about it.
 */
void catfile_load(void (*unusable)(DWORD id, const char *path));

/*
 * The catalog a process starting now would load, when the catalog file
 * (by the rules) is not the one the catalog in force came from (another
 * path, or another device, inode, size or modification time: writers
 * rename a new file over it) or when force is set; NULL when it is
 * unchanged, or another thread is reloading.  A stat, no read, when
 * nothing changed.  Nothing is published (the caller adds WSPSHIM_LAYERS
 * and publishes; see core_catalog_refresh).  unusable as for
 * catfile_load.
 */
const struct catalog *catfile_reload(int force,
    void (*unusable)(DWORD id, const char *path));

/* fork() child handler: clears catfile_reload's running flag. */
void catfile_atfork_child(void);

/* Called after every catfile_update that changed the file, in this
 * process (NULL: nothing); core_init sets it so the process sees its own
 * installs at once. */
extern void (*catfile_changed)(void);

/*
 * The fail-closed catalog: every built-in base entry with a provider that
 * cannot load (CATFILE_CLOSED_PATH), and a chain over each from a layered
 * entry that cannot load either, first in order.  Every socket the
 * built-in catalog would take fails with WSAEPROVIDERFAILEDINIT (ELIBACC),
 * and so does any chain WSPSHIM_LAYERS puts over these entries.
 */
const struct catalog *catfile_closed(void);

/* The provider GUID of the fail-closed catalog's entries. */
extern const GUID catfile_closed_guid;

/*
 * The installer operations behind the WSC* calls, on the catalog file at
 * file, reporting in err (spi/wsc.c).  Each returns 0 or a WSA code.
 */

/* Append entries (ids assigned from the counter, ProviderId set to *id). */
int wsc_install_provider(const char *file, const GUID *id, const char *path,
    const WSAPROTOCOL_INFOW *list, size_t n, DWORD *first_id,
    struct catfile_error *err);

/* A layered entry (service flags xp1) with chains over the over[] ids,
 * the layer's parameters params (may be NULL); its id to *layer_id. */
int wsc_install_layer(const char *file, const GUID *id, const char *path,
    const char *name, DWORD xp1, const char *params, const DWORD *over,
    size_t n, DWORD *layer_id, struct catfile_error *err);

/* Remove a provider's entries and the chains that name them. */
int wsc_deinstall(const char *file, const GUID *id,
    struct catfile_error *err);

/* Put the listed ids first, in this order. */
int wsc_write_order(const char *file, const DWORD *ids, size_t n,
    struct catfile_error *err);

/* Set (or with NULL, clear) a layered entry's parameter string. */
int wsc_set_params(const char *file, DWORD id, const char *params,
    struct catfile_error *err);

/* Replace provider id's entries (WSCUpdateProvider). */
int wsc_update_provider(const char *file, const GUID *id, const char *path,
    const WSAPROTOCOL_INFOW *list, size_t n, struct catfile_error *err);

/* Set, or read from the file, a provider's LSP categories. */
int wsc_set_categories(const char *file, const GUID *id, DWORD cats,
    struct catfile_error *err);
int wsc_get_categories(const char *file, const GUID *id, DWORD *cats,
    struct catfile_error *err);

/* Format a GUID as {xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx} into buf (39
 * bytes at least); returns buf. */
char *catfile_guid_str(const GUID *g, char *buf, size_t len);

/* Parse that form (braces optional); 0, or -1 when s is not one. */
int catfile_guid_parse(const char *s, GUID *g);

#endif
