/*
 * catfile.c - the catalog file: where it is, its text format, loading at
 * start-up (failing closed on a bad file), and locked, atomic updates.
 *
 * The format is described in docs/catalog-file.md.  One table of fields
 * drives both the parser and the writer, so they cannot drift apart.
 * File descriptors are read, written and closed through the libc table
 * (the shim defines those names); open, fsync, rename and flock are not
 * interposed and are called directly.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catfile.h"
#include "catfile-config.h"
#include "errmap.h"
#include "libc.h"
#include "log.h"
#include "once.h"
#include "trust.h"
#include "wstr.h"

/* {77737073-6869-4d01-9a5e-636c6f736564}: "wspshi", then "closed". */
const GUID catfile_closed_guid = { 0x77737073, 0x6869, 0x4d01,
    { 0x9a, 0x5e, 0x63, 0x6c, 0x6f, 0x73, 0x65, 0x64 } };

static int catfile_secure_forced = -1;
static int catfile_root_forced = -1;
static int catfile_quiet;
static char *catfile_override;

/* --- small helpers -------------------------------------------------------- */

/* WSANO_RECOVERY, after putting "line N: ..." in err. */
static int __attribute__((format(printf, 3, 4)))
catfile_corrupt(struct catfile_error *err, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	err->line = line;
	n = snprintf(err->msg, sizeof(err->msg), "line %d: ", line);
	if (n < 0 || (size_t)n >= sizeof(err->msg))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(err->msg + n, sizeof(err->msg) - (size_t)n, fmt, ap);
	va_end(ap);
	return WSANO_RECOVERY;
}

/* code, after putting the message (no line) in err. */
static int __attribute__((format(printf, 3, 4)))
catfile_fail(struct catfile_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	err->line = 0;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

/* Nothing: err's message gets "PREFIX: " in front. */
static void
catfile_prefix(struct catfile_error *err, const char *prefix)
{
	char old[sizeof(err->msg)];

	memcpy(old, err->msg, sizeof(old));
	if (snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old) < 0)
		err->msg[0] = '\0';
}

/* A growing text buffer; oom is set once an append fails. */
struct catfile_buf {
	char	*p;
	size_t	 len, cap;
	int	 oom;
};

/* Nothing: appends n bytes of s to b. */
static void
buf_add(struct catfile_buf *b, const char *s, size_t n)
{
	size_t cap;
	char *p;

	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Nothing: appends the formatted text (a line of the file) to b. */
static void __attribute__((format(printf, 2, 3)))
buf_printf(struct catfile_buf *b, const char *fmt, ...)
{
	char line[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		b->oom = 1;
		return;
	}
	buf_add(b, line, (size_t)n);
}

/* The GUID's text form in buf. */
char *
catfile_guid_str(const GUID *g, char *buf, size_t len)
{
	snprintf(buf, len, "{%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x}",
	    g->Data1, g->Data2, g->Data3, g->Data4[0], g->Data4[1],
	    g->Data4[2], g->Data4[3], g->Data4[4], g->Data4[5], g->Data4[6],
	    g->Data4[7]);
	return buf;
}

/* The value of hex digit c, or -1. */
static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* 0 and *g from the n bytes at s ("{8-4-4-4-12}", braces optional), or
 * -1. */
static int
guid_parse_n(const char *s, size_t n, GUID *g)
{
	static const int groups[] = { 8, 4, 4, 4, 12 };
	uint8_t b[16];
	size_t i, at = 0, nb = 0;
	int k, h, l;

	if (n == 38 && s[0] == '{' && s[37] == '}') {
		s++;
		n = 36;
	}
	if (n != 36)
		return -1;
	for (k = 0; k < 5; k++) {
		if (k > 0 && s[at++] != '-')
			return -1;
		for (i = 0; i < (size_t)groups[k]; i += 2) {
			if ((h = hexval(s[at])) < 0 ||
			    (l = hexval(s[at + 1])) < 0)
				return -1;
			b[nb++] = (uint8_t)(h << 4 | l);
			at += 2;
		}
	}
	g->Data1 = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	    (uint32_t)b[2] << 8 | b[3];
	g->Data2 = (uint16_t)(b[4] << 8 | b[5]);
	g->Data3 = (uint16_t)(b[6] << 8 | b[7]);
	memcpy(g->Data4, b + 8, 8);
	return 0;
}

/* 0 and *g, or -1 when s is not a GUID. */
int
catfile_guid_parse(const char *s, GUID *g)
{
	return guid_parse_n(s, strlen(s), g);
}

/* --- where the file is ---------------------------------------------------- */

/* The system catalog file's path. */
const char *
catfile_system_path(void)
{
	return CATFILE_SYSTEM_PATH;
}

/* Whether secure execution is on. */
int
catfile_secure(void)
{
	int f = __atomic_load_n(&catfile_secure_forced, __ATOMIC_RELAXED);

	return f >= 0 ? f : getauxval(AT_SECURE) != 0;
}

/* Nothing: forces catfile_secure's answer (-1: ask the kernel again). */
void
catfile_force_secure(int secure)
{
	__atomic_store_n(&catfile_secure_forced, secure, __ATOMIC_RELAXED);
}

/* Nothing: forces whether the process counts as root (-1: geteuid). */
void
catfile_force_root(int root)
{
	__atomic_store_n(&catfile_root_forced, root, __ATOMIC_RELAXED);
}

/* CATFILE_SECURE and CATFILE_ROOT as they apply to this process. */
int
catfile_mode(void)
{
	int r = __atomic_load_n(&catfile_root_forced, __ATOMIC_RELAXED);

	if (r < 0)
		r = geteuid() == 0;
	return (catfile_secure() ? CATFILE_SECURE : 0) |
	    (r ? CATFILE_ROOT : 0);
}

/* A setting from the environment, NULL when unset or empty. */
static const char *
catfile_env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : NULL;
}

/* 0 and the per-user file's path in buf, or -1 (none, or too long). */
int
catfile_user_path(char *buf, size_t len)
{
	const char *xdg = catfile_env("XDG_CONFIG_HOME");
	const char *home = catfile_env("HOME");
	char dir[PATH_MAX];
	int n;

	if (xdg != NULL && xdg[0] == '/')
		n = snprintf(buf, len, "%s/wspshim/catalog", xdg);
	else if (home != NULL && trust_absolute(home, dir, sizeof(dir)) == 0)
		n = snprintf(buf, len, "%s/.config/wspshim/catalog", dir);
	else
		return -1;
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* 0 and the catalog file by the rules in buf, or -1 (too long). */
int
catfile_locate(char *buf, size_t len, int mode)
{
	const char *v;
	struct stat st;
	int n;

	if (!(mode & CATFILE_SECURE)) {
		/* A relative name is the start-up directory's file, even
		 * after the program changed directory. */
		if ((v = catfile_env("WSPSHIM_CATALOG")) != NULL)
			return trust_absolute(v, buf, len);
		/* The per-user file counts when it is there, even if it
		 * cannot be read (an error to report, not to skip); one
		 * whose directory cannot even be searched is not there, or
		 * a daemon with someone else's HOME would fail closed.  A
		 * root process never takes it: HOME may be anyone's. */
		if (!(mode & CATFILE_ROOT) &&
		    catfile_user_path(buf, len) == 0 && stat(buf, &st) == 0)
			return 0;
	}
	n = snprintf(buf, len, "%s", CATFILE_SYSTEM_PATH);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Nothing: the WSC* calls act on path from now on (NULL: the rules). */
void
catfile_set_path(const char *path)
{
	free(catfile_override);
	catfile_override = path != NULL ? strdup(path) : NULL;
}

/* Nothing: sets whether the WSC* calls log their failures. */
void
catfile_set_quiet(int quiet)
{
	catfile_quiet = quiet;
}

/* Whether the WSC* calls keep their failures out of the log. */
int
catfile_is_quiet(void)
{
	return catfile_quiet;
}

/* The file the WSC* calls act on (in buf), or NULL (too long). */
const char *
catfile_path(char *buf, size_t len)
{
	if (catfile_override != NULL)
		return catfile_override;
	return catfile_locate(buf, len, catfile_mode()) == 0 ? buf : NULL;
}

void (*catfile_changed)(void);

/* --- the fields of an entry ----------------------------------------------- */

enum catfile_type {
	FT_WSTR,	/* szProtocol: a string, UTF-16 in memory */
	FT_GUID,
	FT_PATH,	/* a string of bytes, required */
	FT_PARAMS,	/* a string of bytes, optional */
	FT_OPTHEX,	/* a DWORD in hex, optional, written when not 0 */
	FT_CHAIN,	/* ProtocolChain: length, then ids */
	FT_HEX,		/* a DWORD, written in hex */
	FT_DWORD,	/* a DWORD, written in decimal */
	FT_INT		/* an int */
};

struct catfile_field {
	const char		*name;
	enum catfile_type	 type;
	size_t			 off;	/* in struct catalog_entry */
};

#define INFO(m)		offsetof(struct catalog_entry, info.m)
#define ENTRY(m)	offsetof(struct catalog_entry, m)

/* Every field of an entry, in the order the writer puts them.  The id is
 * on the "entry" line itself. */
static const struct catfile_field catfile_fields[] = {
	{ "szProtocol", FT_WSTR, INFO(szProtocol) },
	{ "ProviderId", FT_GUID, INFO(ProviderId) },
	{ "path", FT_PATH, ENTRY(path) },
	{ "params", FT_PARAMS, ENTRY(params) },
	{ "ProtocolChain", FT_CHAIN, INFO(ProtocolChain) },
	{ "dwServiceFlags1", FT_HEX, INFO(dwServiceFlags1) },
	{ "dwServiceFlags2", FT_HEX, INFO(dwServiceFlags2) },
	{ "dwServiceFlags3", FT_HEX, INFO(dwServiceFlags3) },
	{ "dwServiceFlags4", FT_HEX, INFO(dwServiceFlags4) },
	{ "dwProviderFlags", FT_HEX, INFO(dwProviderFlags) },
	{ "iVersion", FT_INT, INFO(iVersion) },
	{ "iAddressFamily", FT_INT, INFO(iAddressFamily) },
	{ "iMaxSockAddr", FT_INT, INFO(iMaxSockAddr) },
	{ "iMinSockAddr", FT_INT, INFO(iMinSockAddr) },
	{ "iSocketType", FT_INT, INFO(iSocketType) },
	{ "iProtocol", FT_INT, INFO(iProtocol) },
	{ "iProtocolMaxOffset", FT_INT, INFO(iProtocolMaxOffset) },
	{ "iNetworkByteOrder", FT_INT, INFO(iNetworkByteOrder) },
	{ "iSecurityScheme", FT_INT, INFO(iSecurityScheme) },
	{ "dwMessageSize", FT_DWORD, INFO(dwMessageSize) },
	{ "dwProviderReserved", FT_HEX, INFO(dwProviderReserved) },
	{ "LspCategories", FT_OPTHEX, ENTRY(lsp_categories) },
};

#define CATFILE_NFIELDS \
	(sizeof(catfile_fields) / sizeof(catfile_fields[0]))

_Static_assert(CATFILE_NFIELDS <= 32, "the seen mask holds every field");

/* A member of an entry, by the field's offset. */
#define FIELD(e, f)	((void *)((char *)(e) + (f)->off))

/* --- writing -------------------------------------------------------------- */

/* The length of the well-formed UTF-8 sequence at s (n bytes left), or 0
 * when it is not one (overlong, surrogate, beyond U+10FFFF, cut short). */
static size_t
utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c;
	size_t len, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	*cp = c;
	return len;
}

/* Nothing: appends code point c as UTF-8. */
static void
buf_utf8(struct catfile_buf *b, uint32_t c)
{
	char u[4];
	size_t n;

	if (c < 0x80) {
		u[0] = (char)c;
		n = 1;
	} else if (c < 0x800) {
		u[0] = (char)(0xc0 | c >> 6);
		u[1] = (char)(0x80 | (c & 0x3f));
		n = 2;
	} else if (c < 0x10000) {
		u[0] = (char)(0xe0 | c >> 12);
		u[1] = (char)(0x80 | (c >> 6 & 0x3f));
		u[2] = (char)(0x80 | (c & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | c >> 18);
		u[1] = (char)(0x80 | (c >> 12 & 0x3f));
		u[2] = (char)(0x80 | (c >> 6 & 0x3f));
		u[3] = (char)(0x80 | (c & 0x3f));
		n = 4;
	}
	buf_add(b, u, n);
}

/* Whether ASCII c is written with a short escape; the escape letter. */
static int
esc_letter(int c)
{
	switch (c) {
	case '"':
		return '"';
	case '\\':
		return '\\';
	case '\n':
		return 'n';
	case '\t':
		return 't';
	case '\r':
		return 'r';
	}
	return 0;
}

/* Nothing: appends byte string s, quoted and escaped. */
static void
buf_quote_bytes(struct catfile_buf *b, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, k;
	uint32_t cp;
	char e[8];
	int l;

	buf_add(b, "\"", 1);
	while (i < n) {
		if ((l = esc_letter(u[i])) != 0) {
			e[0] = '\\';
			e[1] = (char)l;
			buf_add(b, e, 2);
			i++;
		} else if (u[i] < 0x20 || u[i] == 0x7f) {
			snprintf(e, sizeof(e), "\\x%02x", u[i]);
			buf_add(b, e, 4);
			i++;
		} else if ((k = utf8_seq(u + i, n - i, &cp)) != 0) {
			buf_add(b, s + i, k);
			i += k;
		} else {
			snprintf(e, sizeof(e), "\\x%02x", u[i]);
			buf_add(b, e, 4);
			i++;
		}
	}
	buf_add(b, "\"", 1);
}

/* Nothing: appends UTF-16 string w (at most max units), quoted, as UTF-8
 * with escapes; a lone surrogate is written \uXXXX so nothing is lost. */
static void
buf_quote_wide(struct catfile_buf *b, const WCHAR *w, size_t max)
{
	size_t i;
	uint32_t c;
	char e[8];
	int l;

	buf_add(b, "\"", 1);
	for (i = 0; i < max && w[i] != 0; i++) {
		c = w[i];
		if (c < 0x80 && (l = esc_letter((int)c)) != 0) {
			e[0] = '\\';
			e[1] = (char)l;
			buf_add(b, e, 2);
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(e, sizeof(e), "\\u%04x", c);
			buf_add(b, e, 6);
		} else if (c >= 0xd800 && c <= 0xdbff && i + 1 < max &&
		    w[i + 1] >= 0xdc00 && w[i + 1] <= 0xdfff) {
			buf_utf8(b, 0x10000 + ((c - 0xd800) << 10) +
			    (w[i + 1] - 0xdc00u));
			i++;
		} else if (c >= 0xd800 && c <= 0xdfff) {
			snprintf(e, sizeof(e), "\\u%04x", c);
			buf_add(b, e, 6);
		} else
			buf_utf8(b, c);
	}
	buf_add(b, "\"", 1);
}

/* Nothing: appends one field line of entry e. */
static void
buf_field(struct catfile_buf *b, const struct catalog_entry *e,
    const struct catfile_field *f)
{
	const WSAPROTOCOLCHAIN *pc;
	const char *s;
	char g[40];
	int i, n;

	switch (f->type) {
	case FT_PARAMS:
		if (e->params == NULL)
			return;
		/* FALLTHROUGH */
	case FT_PATH:
		s = *(const char *const *)FIELD(e, f);
		buf_printf(b, "\t%s ", f->name);
		buf_quote_bytes(b, s != NULL ? s : "");
		break;
	case FT_WSTR:
		buf_printf(b, "\t%s ", f->name);
		buf_quote_wide(b, FIELD(e, f), WSAPROTOCOL_LEN + 1);
		break;
	case FT_GUID:
		buf_printf(b, "\t%s %s", f->name,
		    catfile_guid_str(FIELD(e, f), g, sizeof(g)));
		break;
	case FT_CHAIN:
		pc = FIELD(e, f);
		buf_printf(b, "\t%s %d", f->name, pc->ChainLen);
		/* The listed ids: the chain's, and any non-zero ones after. */
		n = pc->ChainLen > 0 ? pc->ChainLen : 0;
		for (i = n; i < MAX_PROTOCOL_CHAIN; i++)
			if (pc->ChainEntries[i] != 0)
				n = i + 1;
		for (i = 0; i < n; i++)
			buf_printf(b, " %u", pc->ChainEntries[i]);
		break;
	case FT_OPTHEX:
		if (*(const DWORD *)FIELD(e, f) == 0)
			return;
		/* FALLTHROUGH */
	case FT_HEX:
		buf_printf(b, "\t%s 0x%08x", f->name,
		    *(const DWORD *)FIELD(e, f));
		break;
	case FT_DWORD:
		buf_printf(b, "\t%s %u", f->name, *(const DWORD *)FIELD(e, f));
		break;
	case FT_INT:
		buf_printf(b, "\t%s %d", f->name, *(const int *)FIELD(e, f));
		break;
	}
	buf_add(b, "\n", 1);
}

/* The file's text for c and next_id (malloc'd, *len bytes), or NULL. */
char *
catfile_format(const struct catalog *c, DWORD next_id, size_t *len)
{
	struct catfile_buf b = { NULL, 0, 0, 0 };
	const struct catalog_entry *e;
	size_t i, k;

	buf_printf(&b, "# libwspshim protocol catalog "
	    "(format: docs/catalog-file.md).\n");
	buf_printf(&b, "# Change it with the wspshim command or the WSC* "
	    "calls.\n");
	buf_printf(&b, "wspshim-catalog %d\n", CATFILE_VERSION);
	buf_printf(&b, "next-id %u\n", next_id);
	for (i = 0; i < c->count; i++) {
		e = &c->entries[i];
		buf_printf(&b, "\nentry %u\n", e->info.dwCatalogEntryId);
		for (k = 0; k < CATFILE_NFIELDS; k++)
			buf_field(&b, e, &catfile_fields[k]);
		buf_printf(&b, "end\n");
	}
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

/* --- parsing -------------------------------------------------------------- */

/* One entry as parsed: the entry, its line, which fields were seen. */
struct catfile_pent {
	struct catalog_entry	e;
	int			line;
	uint32_t		seen;
};

struct catfile_parser {
	struct catfile_pent	*v;
	size_t			 n, cap;
	struct catfile_error	*err;
	int			 line;
};

/* Whether c is a blank (space or tab). */
static int
is_blank(int c)
{
	return c == ' ' || c == '\t';
}

/* 0 and *out from the n bytes at s, a decimal number (with a sign when
 * lo < 0) or 0x and hex digits, within [lo, hi]; else -1. */
static int
parse_num(const char *s, size_t n, int64_t lo, int64_t hi, int64_t *out)
{
	int64_t v = 0;
	size_t i = 0;
	int neg = 0, d, base = 10;

	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	} else if (n > 1 && s[0] == '-' && lo < 0) {
		neg = 1;
		i = 1;
	}
	if (i == n)
		return -1;
	for (; i < n; i++) {
		d = base == 16 ? hexval(s[i]) :
		    s[i] >= '0' && s[i] <= '9' ? s[i] - '0' : -1;
		if (d < 0)
			return -1;
		v = v * base + d;
		if (v > (int64_t)UINT32_MAX + 1)
			return -1;
	}
	if (neg)
		v = -v;
	if (v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* The value of n hex digits at s, or -1. */
static long
hex_n(const char *s, size_t n)
{
	long v = 0;
	size_t i;
	int d;

	for (i = 0; i < n; i++) {
		if ((d = hexval(s[i])) < 0)
			return -1;
		v = v << 4 | d;
	}
	return v;
}

/*
 * Parse the quoted string in the n bytes at s.  wide: into w (UTF-16,
 * at most WSAPROTOCOL_LEN units and a terminator), taking UTF-8 text and
 * \uXXXX; else into a malloc'd byte string *out, taking \xHH.  0 or a
 * WSA code with err set.
 */
static int
parse_string(struct catfile_parser *ps, const char *s, size_t n, int wide,
    WCHAR *w, char **out)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 1, k, nw = 0, nb = 0;
	uint32_t cp;
	char *bytes = NULL;
	long v;
	int c;

	if (n < 2 || s[0] != '"')
		return catfile_corrupt(ps->err, ps->line,
		    "a string must be in double quotes");
	if (!wide && (bytes = malloc(n)) == NULL)
		return WSAENOBUFS;
	for (;;) {
		if (i >= n) {
			free(bytes);
			return catfile_corrupt(ps->err, ps->line,
			    "unterminated string");
		}
		c = u[i];
		if (c == '"')
			break;
		if (c < 0x20 || c == 0x7f) {
			free(bytes);
			return catfile_corrupt(ps->err, ps->line,
			    "control character 0x%02x in a string (write "
			    "it as an escape)", c);
		}
		if (c == '\\') {
			if (i + 1 >= n)
				c = 0;
			else
				c = s[++i];
			switch (c) {
			case '"':
			case '\\':
				cp = (uint32_t)c;
				break;
			case 'n':
				cp = '\n';
				break;
			case 't':
				cp = '\t';
				break;
			case 'r':
				cp = '\r';
				break;
			case 'x':
				v = !wide && i + 2 < n ?
				    hex_n(s + i + 1, 2) : -1;
				if (v <= 0)
					goto bad_escape;
				cp = (uint32_t)v;
				i += 2;
				break;
			case 'u':
				v = wide && i + 4 < n ?
				    hex_n(s + i + 1, 4) : -1;
				if (v <= 0)
					goto bad_escape;
				cp = (uint32_t)v;
				i += 4;
				break;
			default:
				goto bad_escape;
			}
			i++;
			k = 0;	/* an escape: one unit or byte */
		} else if (wide) {
			if ((k = utf8_seq(u + i, n - i, &cp)) == 0)
				return catfile_corrupt(ps->err, ps->line,
				    "invalid UTF-8 in a string");
			i += k;
		} else {
			cp = (uint32_t)c;
			i++;
			k = 0;
		}
		if (!wide) {
			bytes[nb++] = (char)cp;
			continue;
		}
		/* k == 0: an escaped code unit, taken as it is. */
		if (nw + (k != 0 && cp >= 0x10000 ? 2 : 1) > WSAPROTOCOL_LEN)
			return catfile_corrupt(ps->err, ps->line,
			    "szProtocol is longer than %d UTF-16 units",
			    WSAPROTOCOL_LEN);
		if (k != 0 && cp >= 0x10000) {
			w[nw++] = (WCHAR)(0xd800 + ((cp - 0x10000) >> 10));
			w[nw++] = (WCHAR)(0xdc00 + ((cp - 0x10000) & 0x3ff));
		} else
			w[nw++] = (WCHAR)cp;
	}
	if (i + 1 != n) {
		free(bytes);
		return catfile_corrupt(ps->err, ps->line,
		    "text after the closing quote");
	}
	if (wide) {
		memset(w + nw, 0, (WSAPROTOCOL_LEN + 1 - nw) * sizeof(*w));
		return 0;
	}
	bytes[nb] = '\0';
	*out = bytes;
	return 0;

bad_escape:
	free(bytes);
	return catfile_corrupt(ps->err, ps->line, "bad escape in a string "
	    "(\\\" \\\\ \\n \\t \\r, %s)", wide ? "\\uXXXX" : "\\xHH");
}

/* 0 and the protocol chain from the n bytes at s ("LEN [ID...]"), or
 * WSANO_RECOVERY. */
static int
parse_chain(struct catfile_parser *ps, const char *s, size_t n,
    WSAPROTOCOLCHAIN *pc)
{
	size_t i = 0, j, k = 0;
	int64_t v;
	int first = 1;

	memset(pc, 0, sizeof(*pc));
	while (i < n) {
		for (j = i; j < n && !is_blank(s[j]); j++)
			;
		if (first) {
			if (parse_num(s + i, j - i, 0, MAX_PROTOCOL_CHAIN,
			    &v) != 0)
				return catfile_corrupt(ps->err, ps->line,
				    "ProtocolChain length must be 0 to %d",
				    MAX_PROTOCOL_CHAIN);
			pc->ChainLen = (int)v;
			first = 0;
		} else {
			if (k == MAX_PROTOCOL_CHAIN)
				return catfile_corrupt(ps->err, ps->line,
				    "more than %d ProtocolChain entries",
				    MAX_PROTOCOL_CHAIN);
			if (parse_num(s + i, j - i, 0, UINT32_MAX, &v) != 0)
				return catfile_corrupt(ps->err, ps->line,
				    "bad ProtocolChain entry id");
			pc->ChainEntries[k++] = (DWORD)v;
		}
		for (i = j; i < n && is_blank(s[i]); i++)
			;
	}
	if ((int)k < pc->ChainLen)
		return catfile_corrupt(ps->err, ps->line, "ProtocolChain "
		    "length %d but %zu entries", pc->ChainLen, k);
	return 0;
}

/* 0 after storing field f of entry pe from the n bytes at v, or a WSA
 * code. */
static int
parse_field(struct catfile_parser *ps, struct catfile_pent *pe,
    const struct catfile_field *f, const char *v, size_t n)
{
	int64_t x;
	char *s;
	int rc;

	switch (f->type) {
	case FT_WSTR:
		return parse_string(ps, v, n, 1, FIELD(&pe->e, f), NULL);
	case FT_PATH:
	case FT_PARAMS:
		if ((rc = parse_string(ps, v, n, 0, NULL, &s)) != 0)
			return rc;
		*(char **)FIELD(&pe->e, f) = s;
		if (f->type == FT_PATH && *s == '\0')
			return catfile_corrupt(ps->err, ps->line,
			    "empty provider path");
		/* A relative path would be looked for from wherever the
		 * program runs (or along the library search path). */
		if (f->type == FT_PATH && *s != '/' &&
		    strcmp(s, CATALOG_BASE_PATH) != 0)
			return catfile_corrupt(ps->err, ps->line, "provider "
			    "path is not absolute (only the built-in base is "
			    "named \"%s\")", CATALOG_BASE_PATH);
		return 0;
	case FT_GUID:
		if (guid_parse_n(v, n, FIELD(&pe->e, f)) != 0)
			return catfile_corrupt(ps->err, ps->line, "bad GUID "
			    "(want {xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx})");
		return 0;
	case FT_CHAIN:
		return parse_chain(ps, v, n, FIELD(&pe->e, f));
	case FT_HEX:
	case FT_OPTHEX:
	case FT_DWORD:
		if (parse_num(v, n, 0, UINT32_MAX, &x) != 0)
			return catfile_corrupt(ps->err, ps->line, "%s: bad "
			    "number (0 to 4294967295, decimal or 0x hex)",
			    f->name);
		*(DWORD *)FIELD(&pe->e, f) = (DWORD)x;
		return 0;
	case FT_INT:
		if (parse_num(v, n, INT_MIN, INT_MAX, &x) != 0)
			return catfile_corrupt(ps->err, ps->line, "%s: bad "
			    "number (a 32-bit signed integer)", f->name);
		*(int *)FIELD(&pe->e, f) = (int)x;
		return 0;
	}
	return WSANO_RECOVERY;
}

/* Nothing: frees the parsed entries. */
static void
parser_free(struct catfile_parser *ps)
{
	size_t i;

	for (i = 0; i < ps->n; i++) {
		free((char *)ps->v[i].e.path);
		free((char *)ps->v[i].e.params);
	}
	free(ps->v);
	ps->v = NULL;
	ps->n = ps->cap = 0;
}

/* A new zeroed entry at the end, or NULL (no memory). */
static struct catfile_pent *
parser_add(struct catfile_parser *ps)
{
	struct catfile_pent *v;
	size_t cap;

	if (ps->n == ps->cap) {
		cap = ps->cap ? ps->cap * 2 : 16;
		if ((v = reallocarray(ps->v, cap, sizeof(*v))) == NULL)
			return NULL;
		ps->v = v;
		ps->cap = cap;
	}
	memset(&ps->v[ps->n], 0, sizeof(ps->v[0]));
	return &ps->v[ps->n++];
}

/* 0 if entry pe has every required field, else WSANO_RECOVERY. */
static int
entry_complete(struct catfile_parser *ps, const struct catfile_pent *pe)
{
	size_t k;

	for (k = 0; k < CATFILE_NFIELDS; k++)
		if (catfile_fields[k].type != FT_PARAMS &&
		    catfile_fields[k].type != FT_OPTHEX &&
		    (pe->seen & (1u << k)) == 0)
			return catfile_corrupt(ps->err, pe->line, "entry %u "
			    "has no %s", pe->e.info.dwCatalogEntryId,
			    catfile_fields[k].name);
	return 0;
}

/* The parsed entry with this id, or NULL. */
static const struct catfile_pent *
parser_find(const struct catfile_parser *ps, DWORD id)
{
	size_t i;

	for (i = 0; i < ps->n; i++)
		if (ps->v[i].e.info.dwCatalogEntryId == id)
			return &ps->v[i];
	return NULL;
}

/* 0 when the entries hang together (unique ids below next_id, chains
 * naming entries that exist and ending on a base), else WSANO_RECOVERY. */
static int
parser_check(struct catfile_parser *ps, DWORD next_id)
{
	const struct catfile_pent *pe, *o;
	const WSAPROTOCOLCHAIN *pc;
	size_t i, j;
	int k;

	for (i = 0; i < ps->n; i++) {
		pe = &ps->v[i];
		for (j = 0; j < i; j++)
			if (ps->v[j].e.info.dwCatalogEntryId ==
			    pe->e.info.dwCatalogEntryId)
				return catfile_corrupt(ps->err, pe->line,
				    "entry id %u used twice (also line %d)",
				    pe->e.info.dwCatalogEntryId,
				    ps->v[j].line);
		if (pe->e.info.dwCatalogEntryId >= next_id)
			return catfile_corrupt(ps->err, pe->line, "entry id "
			    "%u is not below next-id %u",
			    pe->e.info.dwCatalogEntryId, next_id);
	}
	for (i = 0; i < ps->n; i++) {
		pe = &ps->v[i];
		pc = &pe->e.info.ProtocolChain;
		if (pc->ChainLen < 2)
			continue;
		for (k = 0; k < pc->ChainLen; k++)
			if (parser_find(ps, pc->ChainEntries[k]) == NULL)
				return catfile_corrupt(ps->err, pe->line,
				    "chain entry %u names entry %u, which is "
				    "not in the file", pe->e.info.
				    dwCatalogEntryId, pc->ChainEntries[k]);
		o = parser_find(ps, pc->ChainEntries[pc->ChainLen - 1]);
		if (o->e.info.ProtocolChain.ChainLen != BASE_PROTOCOL)
			return catfile_corrupt(ps->err, pe->line, "chain entry "
			    "%u does not end on a base entry (%u has "
			    "ChainLen %d)", pe->e.info.dwCatalogEntryId,
			    o->e.info.dwCatalogEntryId,
			    o->e.info.ProtocolChain.ChainLen);
	}
	return 0;
}

/* The field named by the n bytes at k, or NULL. */
static const struct catfile_field *
field_named(const char *k, size_t n)
{
	size_t i;

	for (i = 0; i < CATFILE_NFIELDS; i++)
		if (strlen(catfile_fields[i].name) == n &&
		    memcmp(catfile_fields[i].name, k, n) == 0)
			return &catfile_fields[i];
	return NULL;
}

/* Whether the n bytes at k spell word. */
static int
key_is(const char *k, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(k, word, n) == 0;
}

/* 0 and the entries of text in ps, or a WSA code. */
static int
parse_lines(struct catfile_parser *ps, const char *text, size_t len,
    DWORD *next_id)
{
	const char *p = text, *end = text + len, *nl, *k, *v, *e;
	const struct catfile_field *f;
	struct catfile_pent *cur = NULL;
	size_t kn, vn, fi;
	int64_t x;
	int version = 0, have_next = 0, rc;

	if (memchr(text, '\0', len) != NULL) {
		ps->line = 1;
		for (nl = text; *nl != '\0'; nl++)
			if (*nl == '\n')
				ps->line++;
		return catfile_corrupt(ps->err, ps->line, "NUL byte");
	}
	ps->line = 0;
	for (; p < end; p = nl + 1) {
		ps->line++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		for (k = p; k < nl && is_blank(*k); k++)
			;
		if (k == nl || *k == '#')
			continue;
		for (e = k; e < nl && !is_blank(*e); e++)
			;
		kn = (size_t)(e - k);
		for (v = e; v < nl && is_blank(*v); v++)
			;
		for (e = nl; e > v && is_blank(e[-1]); e--)
			;
		vn = (size_t)(e - v);

		if (version == 0) {
			if (!key_is(k, kn, "wspshim-catalog"))
				return catfile_corrupt(ps->err, ps->line,
				    "not a libwspshim catalog file (it must "
				    "start with \"wspshim-catalog %d\")",
				    CATFILE_VERSION);
			if (parse_num(v, vn, 1, INT_MAX, &x) != 0)
				return catfile_corrupt(ps->err, ps->line,
				    "bad format version");
			if (x > CATFILE_VERSION)
				return catfile_corrupt(ps->err, ps->line,
				    "format version %d is newer than this "
				    "library reads (%d)", (int)x,
				    CATFILE_VERSION);
			version = (int)x;
			continue;
		}
		if (key_is(k, kn, "entry")) {
			if (cur != NULL)
				return catfile_corrupt(ps->err, ps->line,
				    "entry %u (line %d) has no \"end\"",
				    cur->e.info.dwCatalogEntryId, cur->line);
			if (parse_num(v, vn, 1, UINT32_MAX, &x) != 0)
				return catfile_corrupt(ps->err, ps->line,
				    "bad entry id (1 to 4294967295)");
			if ((cur = parser_add(ps)) == NULL)
				return WSAENOBUFS;
			cur->line = ps->line;
			cur->e.info.dwCatalogEntryId = (DWORD)x;
			continue;
		}
		if (key_is(k, kn, "end")) {
			if (cur == NULL)
				return catfile_corrupt(ps->err, ps->line,
				    "\"end\" outside an entry");
			if (vn != 0)
				return catfile_corrupt(ps->err, ps->line,
				    "text after \"end\"");
			if ((rc = entry_complete(ps, cur)) != 0)
				return rc;
			cur = NULL;
			continue;
		}
		if (key_is(k, kn, "next-id")) {
			if (cur != NULL)
				return catfile_corrupt(ps->err, ps->line,
				    "next-id inside entry %u",
				    cur->e.info.dwCatalogEntryId);
			if (have_next)
				return catfile_corrupt(ps->err, ps->line,
				    "next-id given twice");
			if (parse_num(v, vn, 1, UINT32_MAX, &x) != 0)
				return catfile_corrupt(ps->err, ps->line,
				    "bad next-id (1 to 4294967295)");
			*next_id = (DWORD)x;
			have_next = 1;
			continue;
		}
		if ((f = field_named(k, kn)) == NULL)
			return catfile_corrupt(ps->err, ps->line,
			    "unknown key \"%.*s\"", (int)(kn > 40 ? 40 : kn),
			    k);
		if (cur == NULL)
			return catfile_corrupt(ps->err, ps->line,
			    "%s outside an entry", f->name);
		fi = (size_t)(f - catfile_fields);
		if (cur->seen & (1u << fi))
			return catfile_corrupt(ps->err, ps->line,
			    "%s given twice in entry %u", f->name,
			    cur->e.info.dwCatalogEntryId);
		if (vn == 0)
			return catfile_corrupt(ps->err, ps->line,
			    "%s has no value", f->name);
		if ((rc = parse_field(ps, cur, f, v, vn)) != 0)
			return rc;
		cur->seen |= 1u << fi;
	}
	if (version == 0)
		return catfile_corrupt(ps->err, ps->line > 0 ? ps->line : 1,
		    "empty file (a catalog file starts with "
		    "\"wspshim-catalog %d\")", CATFILE_VERSION);
	if (cur != NULL)
		return catfile_corrupt(ps->err, cur->line, "entry %u has no "
		    "\"end\"", cur->e.info.dwCatalogEntryId);
	if (!have_next)
		return catfile_corrupt(ps->err, ps->line, "no next-id line");
	return parser_check(ps, *next_id);
}

/* 0 and a new edit of the text's catalog, or a WSA code (err). */
int
catfile_parse(const char *text, size_t len, struct catalog_edit *ed,
    struct catfile_error *err)
{
	struct catfile_parser ps;
	struct catalog_entry *ents = NULL;
	struct catalog c;
	DWORD next_id = 0;
	size_t i;
	int rc;

	memset(&ps, 0, sizeof(ps));
	memset(ed, 0, sizeof(*ed));
	ps.err = err;
	err->line = 0;
	err->msg[0] = '\0';
	if ((rc = parse_lines(&ps, text, len, &next_id)) != 0)
		goto out;
	if (ps.n > 0 && (ents = calloc(ps.n, sizeof(*ents))) == NULL) {
		rc = WSAENOBUFS;
		goto out;
	}
	for (i = 0; i < ps.n; i++)
		ents[i] = ps.v[i].e;
	c.count = ps.n;
	c.entries = ents;
	rc = catedit_begin(ed, &c, next_id);
out:
	if (rc == WSAENOBUFS)
		catfile_fail(err, rc, "out of memory");
	free(ents);
	parser_free(&ps);
	return rc;
}

/* --- reading and writing the file ----------------------------------------- */

/* 0 and the whole file at fd in a malloc'd *text (*len bytes), or a WSA
 * code with err. */
static int
read_all(int fd, char **text, size_t *len, struct catfile_error *err)
{
	size_t cap = 8192, n = 0;
	char *p = NULL, *q;
	ssize_t r;

	for (;;) {
		if (n == cap || p == NULL) {
			if (p != NULL)
				cap *= 2;
			if ((q = realloc(p, cap)) == NULL) {
				free(p);
				return catfile_fail(err, WSAENOBUFS,
				    "out of memory");
			}
			p = q;
		}
		r = libc.read(fd, p + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(p);
			return catfile_fail(err, WSAEACCES, "cannot read: %s",
			    strerror(errno));
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > CATFILE_MAX_SIZE) {
			free(p);
			return catfile_corrupt(err, 0, "larger than %u bytes",
			    CATFILE_MAX_SIZE);
		}
	}
	*text = p;
	*len = n;
	return 0;
}

/* 0 and a new edit of the catalog file at path (the built-in catalog and
 * *missing when there is none), or a WSA code with err; trust is -1 to
 * read any file, else the file must pass trust_open's checks (strict when
 * trust is 1). */
static int
catfile_read_trusted(const char *path, struct catalog_edit *ed,
    int *missing, struct catfile_error *err, int trust)
{
	char why[PATH_MAX + 160];
	struct stat st;
	size_t len = 0;
	char *text = NULL;
	int fd, rc;

	memset(ed, 0, sizeof(*ed));
	err->line = 0;
	err->msg[0] = '\0';
	if (missing != NULL)
		*missing = 0;
	/* O_NONBLOCK: a FIFO must not hang the program's start-up; it is
	 * refused below like anything else that is not a regular file. */
	if (trust < 0)
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	else if ((fd = trust_open(path, trust, why, sizeof(why))) < 0 &&
	    errno != ENOENT) {
		rc = catfile_fail(err, WSAEACCES, "%s: %s", errno == EPERM ?
		    "refused" : "cannot open", why);
		goto out;
	}
	if (fd < 0 && errno == ENOENT) {
		if (missing != NULL)
			*missing = 1;
		if (catedit_begin(ed, catalog_builtin(), 0) != 0)
			return catfile_fail(err, WSAENOBUFS, "out of memory");
		return 0;
	}
	if (fd < 0) {
		rc = catfile_fail(err, WSAEACCES, "cannot open: %s",
		    strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		libc.close(fd);
		rc = catfile_fail(err, WSAEACCES, "not a regular file");
		goto out;
	}
	rc = read_all(fd, &text, &len, err);
	libc.close(fd);
	if (rc != 0)
		goto out;
	rc = catfile_parse(text, len, ed, err);
	free(text);
out:
	if (rc != 0) {
		char pre[PATH_MAX + 16];

		snprintf(pre, sizeof(pre), "catalog file %s", path);
		catfile_prefix(err, pre);
	}
	return rc;
}

/* 0 and a new edit of the catalog file at path, or a WSA code (see
 * catfile.h); no owner or mode checks: for the editor. */
int
catfile_read(const char *path, struct catalog_edit *ed, int *missing,
    struct catfile_error *err)
{
	return catfile_read_trusted(path, ed, missing, err, -1);
}

/* The directory part of path into buf ("." for none); -1 if too long. */
static int
dir_of(const char *path, char *buf, size_t len)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (slash == NULL)
		return snprintf(buf, len, ".") < (int)len ? 0 : -1;
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= len)
		return -1;
	memcpy(buf, path, n);
	buf[n] = '\0';
	return 0;
}

/* 0 once every directory of path's directory dir exists, or -1 (errno). */
static int
make_dirs(char *dir)
{
	struct stat st;
	char *s;

	for (s = dir + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		if (s[-1] != '/') {
			char c = *s;

			*s = '\0';
			if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
				*s = c;
				return -1;
			}
			*s = c;
		}
		if (*s == '\0')
			break;
	}
	if (stat(dir, &st) != 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

/* 0 once the n bytes at p are written to fd, or -1 (errno). */
static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = libc.write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* 0, or WSAEACCES / WSAENOBUFS with err: ed written to path atomically. */
int
catfile_write(const char *path, const struct catalog_edit *ed,
    struct catfile_error *err)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	const char *what = "write";
	struct stat st;
	size_t len;
	char *text;
	int fd = -1, dfd, e;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp) ||
	    dir_of(path, dir, sizeof(dir)) != 0)
		return catfile_fail(err, WSAEACCES, "cannot write catalog "
		    "file %s: %s", path, strerror(ENAMETOOLONG));
	if ((text = catfile_format(&ed->cat, ed->next_id, &len)) == NULL)
		return catfile_fail(err, WSAENOBUFS, "out of memory");
	/* We hold the lock: a leftover temporary file is a dead writer's. */
	if (unlink(tmp) != 0 && errno != ENOENT)
		goto fail;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0644);
	if (fd < 0)
		goto fail;
	if (stat(path, &st) == 0) {
		/* The new file takes the old one's place: its mode, and
		 * when root rewrites someone's file, its owner. */
		if (fchmod(fd, st.st_mode & 07777) != 0)
			goto fail;
		if (geteuid() == 0 && fchown(fd, st.st_uid, st.st_gid) != 0)
			goto fail;
	}
	if (write_all(fd, text, len) != 0)
		goto fail;
	what = "sync";
	if (fsync(fd) != 0)
		goto fail;
	e = libc.close(fd);
	fd = -1;
	if (e != 0)
		goto fail;
	what = "rename";
	if (rename(tmp, path) != 0)
		goto fail;
	free(text);
	/* The rename is durable once the directory is. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		libc.close(dfd);
	}
	return 0;
fail:
	e = errno;
	if (fd >= 0)
		libc.close(fd);
	unlink(tmp);
	free(text);
	return catfile_fail(err, WSAEACCES, "cannot %s catalog file %s: %s",
	    what, path, strerror(e));
}

/* 0 after fn changed the catalog file at path under its lock, or a WSA
 * code with err. */
int
catfile_update(const char *path, catfile_edit_fn fn, void *arg,
    struct catfile_error *err)
{
	char lock[PATH_MAX], dir[PATH_MAX];
	struct catalog_edit ed;
	int lfd, rc;

	err->line = 0;
	err->msg[0] = '\0';
	if (path == NULL || *path == '\0')
		return catfile_fail(err, WSAEACCES, "no catalog file can be "
		    "named (path too long)");
	if (snprintf(lock, sizeof(lock), "%s.lock", path) >=
	    (int)sizeof(lock) || dir_of(path, dir, sizeof(dir)) != 0)
		return catfile_fail(err, WSAEACCES, "catalog file %s: %s",
		    path, strerror(ENAMETOOLONG));
	if (make_dirs(dir) != 0)
		return catfile_fail(err, WSAEACCES, "cannot create directory "
		    "%s for the catalog file: %s", dir, strerror(errno));
	/* O_NOFOLLOW: a link planted there must not make root create or
	 * open another file. */
	lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW,
	    0644);
	if (lfd < 0)
		return catfile_fail(err, WSAEACCES, "cannot open lock file "
		    "%s: %s", lock, strerror(errno));
	while ((rc = flock(lfd, LOCK_EX)) != 0 && errno == EINTR)
		;
	if (rc != 0) {
		rc = catfile_fail(err, WSAEACCES, "cannot lock %s: %s", lock,
		    strerror(errno));
		libc.close(lfd);
		return rc;
	}
	if ((rc = catfile_read(path, &ed, NULL, err)) == 0) {
		if ((rc = fn(&ed, arg, err)) != 0) {
			char pre[PATH_MAX + 16];

			if (err->msg[0] == '\0')
				catfile_fail(err, rc, "%s", errmap_message(rc));
			snprintf(pre, sizeof(pre), "catalog file %s", path);
			catfile_prefix(err, pre);
		}
		if (rc == 0)
			rc = catfile_write(path, &ed, err);
		catedit_free(&ed);
	}
	flock(lfd, LOCK_UN);
	libc.close(lfd);
	if (rc == 0 && catfile_changed != NULL)
		catfile_changed();
	return rc;
}

/* --- start-up ----------------------------------------------------------- */

#define CATFILE_CLOSED_MAX	16	/* built-in entries covered */

static struct catalog_entry catfile_closed_e[2 * CATFILE_CLOSED_MAX + 1];
static struct catalog catfile_closed_cat;
static struct wsp_once catfile_closed_once = WSP_ONCE_INIT;

/* Nothing: builds the fail-closed catalog (static storage: it must work
 * when memory does not). */
static void
catfile_closed_build(void *unused)
{
	static const char name[] = "catalog file unusable";
	const struct catalog *b = catalog_builtin();
	struct catalog_entry *layer, *chain, *base;
	char base_name[WSAPROTOCOL_LEN * 3 + 1], cname[WSAPROTOCOL_LEN * 4];
	size_t i, n = b->count < CATFILE_CLOSED_MAX ? b->count :
	    CATFILE_CLOSED_MAX;
	DWORD high = CATALOG_FIRST_ID - 1;

	for (i = 0; i < b->count; i++)
		if (b->entries[i].info.dwCatalogEntryId > high)
			high = b->entries[i].info.dwCatalogEntryId;
	layer = &catfile_closed_e[0];
	layer->info.ProviderId = catfile_closed_guid;
	layer->info.dwCatalogEntryId = high + 1;
	layer->info.dwProviderFlags = PFL_HIDDEN;
	layer->info.ProtocolChain.ChainLen = LAYERED_PROTOCOL;
	layer->info.iVersion = 2;
	wstr_from_utf8(layer->info.szProtocol, WSAPROTOCOL_LEN + 1, name);
	layer->path = CATFILE_CLOSED_PATH;
	for (i = 0; i < n; i++) {
		chain = &catfile_closed_e[1 + i];
		base = &catfile_closed_e[1 + n + i];
		*base = b->entries[i];
		base->info.ProviderId = catfile_closed_guid;
		base->path = CATFILE_CLOSED_PATH;
		base->params = NULL;

		*chain = *base;
		chain->info.dwCatalogEntryId = high + 2 + (DWORD)i;
		memset(&chain->info.ProtocolChain, 0,
		    sizeof(chain->info.ProtocolChain));
		chain->info.ProtocolChain.ChainLen = 2;
		chain->info.ProtocolChain.ChainEntries[0] = high + 1;
		chain->info.ProtocolChain.ChainEntries[1] =
		    base->info.dwCatalogEntryId;
		wstr_to_utf8(base_name, sizeof(base_name),
		    base->info.szProtocol);
		snprintf(cname, sizeof(cname), "%s over [%s]", name, base_name);
		wstr_from_utf8(chain->info.szProtocol, WSAPROTOCOL_LEN + 1,
		    cname);
	}
	catfile_closed_cat.count = 1 + 2 * n;
	catfile_closed_cat.entries = catfile_closed_e;
}

/* The fail-closed catalog. */
const struct catalog *
catfile_closed(void)
{
	wsp_once(&catfile_closed_once, catfile_closed_build, NULL);
	return &catfile_closed_cat;
}

/* The catalog to run with for the catalog file at path (see catfile.h);
 * never NULL.  Logs one line when the file is unusable. */
const struct catalog *
catfile_startup_catalog(const char *path, int fallback)
{
	struct catfile_error err;
	struct catalog_edit ed;
	const struct catalog *c = NULL;
	int missing, rc;

	if (path == NULL) {
		rc = catfile_fail(&err, WSAEACCES, "catalog file: the path "
		    "is too long");
	} else if ((rc = catfile_read_trusted(path, &ed, &missing, &err,
	    catfile_mode() != 0)) == 0) {
		if (!missing && (c = catedit_publish(&ed)) == NULL)
			rc = catfile_fail(&err, WSAENOBUFS, "catalog file "
			    "%s: out of memory", path);
		catedit_free(&ed);
		if (rc == 0)
			return c != NULL ? c : catalog_builtin();
	}
	if (fallback) {
		log_msg("%s; using the built-in catalog (WSPSHIM_FALLBACK=1)",
		    err.msg);
		return catalog_builtin();
	}
	log_msg("%s; sockets fail with WSAEPROVIDERFAILEDINIT "
	    "(WSPSHIM_FALLBACK=1 uses the built-in catalog)", err.msg);
	return catfile_closed();
}

/*
 * What the catalog in force was loaded from: the file's path and identity
 * (device, inode, size, modification time; all 0 for a file that was
 * missing).  Writers replace the file by rename, so a change gives a new
 * inode; the time and size catch an editor writing in place.
 */
struct catfile_id {
	char		path[PATH_MAX];
	dev_t		dev;
	ino_t		ino;
	off_t		size;
	struct timespec	mtim;
};

static struct catfile_id catfile_loaded;
static _Atomic int catfile_reloading;

/* Nothing: *id becomes the identity of the file at path now. */
static void
catfile_id_of(const char *path, struct catfile_id *id)
{
	struct stat st;

	memset(id, 0, sizeof(*id));
	if (path == NULL)
		return;
	snprintf(id->path, sizeof(id->path), "%s", path);
	if (stat(path, &st) == 0) {
		id->dev = st.st_dev;
		id->ino = st.st_ino;
		id->size = st.st_size;
		id->mtim = st.st_mtim;
	}
}

/* The catalog the catalog file (by the rules) gives a process starting
 * now, never NULL; its identity into *id. */
static const struct catalog *
catfile_rules_catalog(struct catfile_id *id)
{
	char path[PATH_MAX];
	const char *fb, *p;
	int mode = catfile_mode();

	/* Under secure execution nothing the environment says counts,
	 * WSPSHIM_FALLBACK included: it would turn a failure closed into
	 * one open. */
	fb = mode & CATFILE_SECURE ? NULL : getenv("WSPSHIM_FALLBACK");
	p = catfile_locate(path, sizeof(path), mode) == 0 ? path : NULL;
	/* The identity first: a change made while it is read is seen by
	 * the next check. */
	catfile_id_of(p, id);
	return catfile_startup_catalog(p, fb != NULL && strcmp(fb, "1") == 0);
}

/* Nothing: the catalog file (by the rules) becomes the catalog in force;
 * a root process is told once that a per-user catalog is not read. */
void
catfile_load(void (*unusable)(DWORD id, const char *path))
{
	char path[PATH_MAX], user[PATH_MAX];
	const struct catalog *c;
	struct stat st;

	if (catfile_mode() == CATFILE_ROOT &&
	    catfile_locate(path, sizeof(path), CATFILE_ROOT) == 0 &&
	    catfile_env("WSPSHIM_CATALOG") == NULL &&
	    catfile_user_path(user, sizeof(user)) == 0 &&
	    stat(user, &st) == 0)
		log_msg("catalog file %s ignored: a root process reads the "
		    "system catalog %s unless WSPSHIM_CATALOG names one",
		    user, path);
	c = catfile_rules_catalog(&catfile_loaded);
	if (c == catfile_closed() && unusable != NULL)
		unusable(c->entries[0].info.dwCatalogEntryId,
		    CATFILE_CLOSED_PATH);
	if (c != catalog_builtin())
		catalog_set_current(c);
}

/* The catalog file's catalog if it changed since it was loaded (or when
 * force is set), else NULL; see catfile.h. */
const struct catalog *
catfile_reload(int force, void (*unusable)(DWORD id, const char *path))
{
	char path[PATH_MAX];
	struct catfile_id now;
	const struct catalog *c;
	int expected = 0;

	/* One check or reload at a time (catfile_loaded is read and written
	 * under the flag); a thread that finds one running leaves it to
	 * that one.  No lock: this runs in WSAStartup, and in a child
	 * forked meanwhile the flag is the parent thread's to clear. */
	if (!atomic_compare_exchange_strong(&catfile_reloading, &expected, 1))
		return NULL;
	if (!force) {
		catfile_id_of(catfile_locate(path, sizeof(path),
		    catfile_mode()) == 0 ? path : NULL, &now);
		if (memcmp(&now, &catfile_loaded, sizeof(now)) == 0) {
			atomic_store(&catfile_reloading, 0);
			return NULL;
		}
	}
	c = catfile_rules_catalog(&now);
	catfile_loaded = now;
	if (c == catfile_closed() && unusable != NULL)
		unusable(c->entries[0].info.dwCatalogEntryId,
		    CATFILE_CLOSED_PATH);
	atomic_store(&catfile_reloading, 0);
	return c;
}

/* Nothing: in a child after fork(), no reload is running (the thread
 * that ran one in the parent is not here). */
void
catfile_atfork_child(void)
{
	atomic_store(&catfile_reloading, 0);
}
