/*
 * layerenv.c - WSPSHIM_LAYERS: a run catalog with layers over the bases
 * (see layerenv.h for the syntax and the rules).
 *
 * Runs once, from core_init, before any socket is made through the core:
 * it only reads the environment, looks for files and edits a copy of the
 * catalog in force, which it then publishes.  No plugin is loaded here;
 * that happens when a chain first starts.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>

#include "layerenv.h"
#include "log.h"
#include "trust.h"

#ifndef WSPSHIM_LAYERDIR
#define WSPSHIM_LAYERDIR	NULL	/* a unit test build: none */
#endif

#define LAYERENV_PREFIX		"libwsp_"
#define LAYERENV_SUFFIX		".so"
#define LAYERENV_TOO_MANY	"WSPSHIM_LAYERS"

/* One element of the variable. */
struct layerenv_layer {
	char	*name;		/* before the first ':' */
	char	*params;	/* after it, or NULL when there is none */
};

static char *layerenv_find(const char *name, const struct layerenv_opts *o,
    char *searched, size_t size);

/* Whether the file at path is there and regular. */
static int
layerenv_is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Nothing: appends place to the list in searched (size bytes). */
static void
layerenv_note(char *searched, size_t size, const char *place)
{
	if (searched == NULL || size == 0)
		return;
	if (searched[0] != '\0')
		strlcat(searched, ", ", size);
	strlcat(searched, place, size);
}

/* dir/sub + libwsp_NAME.so if that is a file (malloc'd), else NULL;
 * the directory looked in is noted in searched. */
static char *
layerenv_try(const char *dir, const char *sub, const char *name,
    char *searched, size_t size)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, sub) < 0)
		return NULL;
	layerenv_note(searched, size, p);
	free(p);
	if (asprintf(&p, "%s/%s" LAYERENV_PREFIX "%s" LAYERENV_SUFFIX, dir,
	    sub, name) < 0)
		return NULL;
	if (layerenv_is_file(p))
		return p;
	free(p);
	return NULL;
}

/* The path of the plugin name stands for, made absolute (malloc'd), or
 * NULL. */
char *
layerenv_resolve(const char *name, const struct layerenv_opts *o,
    char *searched, size_t size)
{
	char *p = layerenv_find(name, o, searched, size), *abs;

	/* A relative name (WSPSHIM_LAYER_PATH, a relative preload's
	 * directory) is the start-up directory's file, even after the
	 * program changes directory. */
	if (p == NULL || p[0] == '/')
		return p;
	abs = trust_absolute_dup(p);
	free(p);
	return abs;
}

/* The path of the plugin name stands for, as found (malloc'd), or NULL. */
static char *
layerenv_find(const char *name, const struct layerenv_opts *o,
    char *searched, size_t size)
{
	const char *d, *end;
	char *dir, *sub, *p = NULL;

	if (searched != NULL && size > 0)
		searched[0] = '\0';
	if (strchr(name, '/') != NULL) {
		layerenv_note(searched, size, name);
		return layerenv_is_file(name) ? strdup(name) : NULL;
	}
	if (*name == '\0')
		return NULL;
	for (d = o->layer_path; d != NULL && *d != '\0' && p == NULL;
	    d = *end != '\0' ? end + 1 : end) {
		end = strchrnul(d, ':');
		if (end == d)
			continue;	/* an empty component */
		if ((dir = strndup(d, (size_t)(end - d))) == NULL)
			return NULL;
		p = layerenv_try(dir, "", name, searched, size);
		free(dir);
	}
	if (p == NULL && o->install_dir != NULL && *o->install_dir != '\0')
		p = layerenv_try(o->install_dir, "", name, searched, size);
	if (p == NULL && o->lib_dir != NULL && *o->lib_dir != '\0') {
		if (asprintf(&sub, "../layers/%s/", name) < 0)
			return NULL;
		p = layerenv_try(o->lib_dir, sub, name, searched, size);
		free(sub);
	}
	return p;
}

/* Nothing: frees the parsed elements. */
static void
layerenv_free_layers(struct layerenv_layer *l, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(l[i].name);
		free(l[i].params);
	}
	free(l);
}

/* The unescaped element starting at *sp (which moves past it and its
 * comma), malloc'd, or NULL when memory runs out. */
static char *
layerenv_element(const char **sp)
{
	const char *s = *sp;
	char *out, *o;

	if ((out = o = malloc(strlen(s) + 1)) == NULL)
		return NULL;
	for (; *s != '\0' && *s != ','; s++) {
		if (s[0] == '\\' && (s[1] == ',' || s[1] == '\\'))
			s++;
		*o++ = *s;
	}
	*o = '\0';
	*sp = *s == ',' ? s + 1 : s;
	return out;
}

/* 0 and the non-empty elements of spec in *out (*n of them), or
 * WSAENOBUFS. */
static int
layerenv_parse(const char *spec, struct layerenv_layer **out, size_t *n)
{
	struct layerenv_layer *l;
	size_t max = 1, k = 0;
	const char *s;
	char *e, *colon;

	for (s = spec; *s != '\0'; s++)
		if (*s == ',')
			max++;
	if ((l = calloc(max, sizeof(*l))) == NULL)
		return WSAENOBUFS;
	for (s = spec; *s != '\0';) {
		if ((e = layerenv_element(&s)) == NULL)
			goto nomem;
		if (*e == '\0') {
			free(e);
			continue;
		}
		if ((colon = strchr(e, ':')) != NULL) {
			*colon = '\0';
			if ((l[k].params = strdup(colon + 1)) == NULL) {
				free(e);
				goto nomem;
			}
		}
		l[k++].name = e;
	}
	*out = l;
	*n = k;
	return 0;
nomem:
	layerenv_free_layers(l, k);
	return WSAENOBUFS;
}

/* A GUID for a layer file: a hash of its path, so the same file gets the
 * same provider id in every run (an RFC 9562 version 8 layout). */
static GUID
layerenv_guid(const char *path)
{
	uint64_t h1 = 0xcbf29ce484222325ULL, h2 = 0x84222325cbf29ce4ULL;
	const unsigned char *p;
	GUID g;
	int i;

	for (p = (const unsigned char *)path; *p != '\0'; p++) {
		h1 = (h1 ^ *p) * 0x100000001b3ULL;
		h2 = (h2 ^ *p) * 0x100000001b3ULL + 0x9e3779b97f4a7c15ULL;
	}
	g.Data1 = (DWORD)(h1 >> 32);
	g.Data2 = (WORD)(h1 >> 16);
	g.Data3 = (WORD)((h1 & 0x0fff) | 0x8000);
	for (i = 0; i < 8; i++)
		g.Data4[i] = (BYTE)(h2 >> (8 * i));
	g.Data4[0] = (BYTE)((g.Data4[0] & 0x3f) | 0x80);
	return g;
}

/* The catalog name of a layer: NAME, or for a path its file name without
 * "libwsp_" and ".so"; malloc'd. */
static char *
layerenv_display_name(const char *name)
{
	const char *b = strrchr(name, '/');
	size_t n, ns = sizeof(LAYERENV_SUFFIX) - 1;

	if (b == NULL)
		return strdup(name);
	b++;
	if (strncmp(b, LAYERENV_PREFIX, sizeof(LAYERENV_PREFIX) - 1) == 0 &&
	    b[sizeof(LAYERENV_PREFIX) - 1] != '\0')
		b += sizeof(LAYERENV_PREFIX) - 1;
	n = strlen(b);
	if (n > ns && strcmp(b + n - ns, LAYERENV_SUFFIX) == 0)
		n -= ns;
	return strndup(b, n);
}

/* Whether WSPSHIM_LAYERS covers base entry e: TCP or UDP over IPv4 or
 * IPv6, or AF_UNIX (raw sockets never). */
static int
layerenv_covers(const WSAPROTOCOL_INFOW *e)
{
	if (e->ProtocolChain.ChainLen != BASE_PROTOCOL ||
	    e->iSocketType == SOCK_RAW)
		return 0;
	if (e->iAddressFamily == AF_UNIX)
		return 1;
	if (e->iAddressFamily != AF_INET && e->iAddressFamily != AF_INET6)
		return 0;
	return (e->iSocketType == SOCK_STREAM && e->iProtocol == IPPROTO_TCP) ||
	    (e->iSocketType == SOCK_DGRAM && e->iProtocol == IPPROTO_UDP);
}

/* Install one layer over the n entries of over[], which then holds the
 * new chains' ids.  0 or WSAENOBUFS. */
static int
layerenv_install(struct catalog_edit *ed, const char *path,
    const char *name, const char *params, int usable, DWORD *over, size_t n,
    const struct layerenv_opts *o)
{
	GUID g = layerenv_guid(path);
	char *display;
	DWORD id;
	size_t j;
	int err;

	if ((display = layerenv_display_name(name)) == NULL)
		return WSAENOBUFS;
	err = catedit_add_layer(ed, &g, path, display, params, over, n, &id);
	free(display);
	if (err != 0)
		return err;
	if (!usable && o->unusable != NULL)
		o->unusable(id, path);
	/* The new entries come first.  A layer named here is taken to hand
	 * out its own handles, as `wspshim install` takes it without
	 * --ifs: none of its entries claims XP1_IFS_HANDLES. */
	for (j = 0; j <= n; j++)
		ed->e[j].info.dwServiceFlags1 &= ~(DWORD)XP1_IFS_HANDLES;
	for (j = 0; j < n; j++)
		over[j] = id + 1 + (DWORD)j;
	return 0;
}

/* 0 and *installed, or WSAENOBUFS; see layerenv.h. */
int
layerenv_build(struct catalog_edit *ed, const char *spec,
    const struct layerenv_opts *o, int *installed)
{
	struct layerenv_layer *l = NULL;
	char searched[400], *path;
	DWORD *over = NULL;
	size_t i, n = 0, nl = 0;
	int err, usable;

	*installed = 0;
	if ((err = layerenv_parse(spec, &l, &nl)) != 0)
		return err;
	if (nl == 0)
		goto out;
	if ((over = calloc(ed->cat.count + 1, sizeof(*over))) == NULL) {
		err = WSAENOBUFS;
		goto out;
	}
	for (i = 0; i < ed->cat.count; i++)
		if (layerenv_covers(&ed->e[i].info))
			over[n++] = ed->e[i].info.dwCatalogEntryId;
	if (n == 0) {
		log_msg("WSPSHIM_LAYERS: the catalog has no TCP, UDP or "
		    "AF_UNIX base entry to put layers over");
		goto out;
	}
	if (nl > LAYERENV_MAX) {
		if (o->fallback) {
			log_msg("WSPSHIM_LAYERS names %zu layers, more than "
			    "the %d a chain holds; ignored "
			    "(WSPSHIM_FALLBACK=1)", nl, LAYERENV_MAX);
			goto out;
		}
		log_msg("WSPSHIM_LAYERS names %zu layers, more than the %d a "
		    "chain holds; its sockets fail with "
		    "WSAEPROVIDERFAILEDINIT", nl, LAYERENV_MAX);
		err = layerenv_install(ed, LAYERENV_TOO_MANY, LAYERENV_TOO_MANY,
		    NULL, 0, over, n, o);
		if (err == 0)
			*installed = 1;
		goto out;
	}
	/* Bottom first: each layer goes over the chains of the one below. */
	for (i = nl; i-- > 0;) {
		path = layerenv_resolve(l[i].name, o, searched,
		    sizeof(searched));
		usable = path != NULL;
		if (!usable) {
			log_msg("WSPSHIM_LAYERS: layer \"%s\" not found "
			    "(searched %s); %s", l[i].name,
			    searched[0] != '\0' ? searched : "nowhere",
			    o->fallback ? "left out (WSPSHIM_FALLBACK=1)" :
			    "its sockets fail with WSAEPROVIDERFAILEDINIT");
			if (o->fallback)
				continue;
			/* Kept, under the name given: a provider that
			 * cannot load, so chain start-up fails. */
			if ((path = strdup(l[i].name)) == NULL) {
				err = WSAENOBUFS;
				goto out;
			}
		}
		err = layerenv_install(ed, path, l[i].name, l[i].params,
		    usable, over, n, o);
		free(path);
		if (err != 0)
			goto out;
		(*installed)++;
	}
out:
	free(over);
	layerenv_free_layers(l, nl);
	return err;
}

/* The directory this library was loaded from, malloc'd, or NULL. */
static char *
layerenv_lib_dir(void)
{
	Dl_info info;
	const char *slash;

	if (dladdr((void *)layerenv_lib_dir, &info) == 0 ||
	    info.dli_fname == NULL || info.dli_fname[0] == '\0')
		return NULL;
	if ((slash = strrchr(info.dli_fname, '/')) == NULL)
		return strdup(".");
	if (slash == info.dli_fname)
		return strdup("/");
	return strndup(info.dli_fname, (size_t)(slash - info.dli_fname));
}

/* The run catalog WSPSHIM_LAYERS asks for over base: base itself when it
 * asks for nothing (or cannot be applied, said in the log). */
const struct catalog *
layerenv_apply(const struct catalog *base,
    void (*unusable)(DWORD layer_id, const char *path))
{
	struct layerenv_opts o = { 0 };
	struct catalog_edit ed;
	const struct catalog *c = base;
	const char *spec, *fb;
	char *lib_dir;
	int err, n;

	spec = getenv("WSPSHIM_LAYERS");
	if (spec == NULL || *spec == '\0')
		return base;
	if (getauxval(AT_SECURE)) {
		log_msg("WSPSHIM_LAYERS ignored: secure execution (AT_SECURE)");
		return base;
	}
	fb = getenv("WSPSHIM_FALLBACK");
	o.fallback = fb != NULL && strcmp(fb, "1") == 0;
	o.layer_path = getenv("WSPSHIM_LAYER_PATH");
	o.install_dir = WSPSHIM_LAYERDIR;
	o.lib_dir = lib_dir = layerenv_lib_dir();
	o.unusable = unusable;
	if (catedit_begin(&ed, base, 0) != 0) {
		err = WSAENOBUFS;
		goto fail;
	}
	err = layerenv_build(&ed, spec, &o, &n);
	if (err == 0 && n > 0 && (c = catedit_publish(&ed)) == NULL) {
		c = base;
		err = WSAENOBUFS;
	}
	catedit_free(&ed);
fail:
	free(lib_dir);
	if (err != 0)
		log_msg("WSPSHIM_LAYERS ignored: out of memory");
	return c;
}

/* Nothing: publishes the run catalog WSPSHIM_LAYERS asks for. */
void
layerenv_init(void (*unusable)(DWORD layer_id, const char *path))
{
	const struct catalog *base = catalog_current(), *c;

	if ((c = layerenv_apply(base, unusable)) != base)
		catalog_set_current(c);
}
