/*
 * wspshim.c - the wspshim command: show and change the catalog file, and
 * run a program with libwspshim.so preloaded (docs/wspshim-command.md).
 *
 *	wspshim [--catalog FILE | --user | --system] COMMAND [ARGS...]
 *
 * It links the core's archive and calls the installer operations behind
 * the WSC* calls (spi/wsc.c) on the catalog file directly, so it can name
 * the file and say exactly what went wrong.  Usage errors exit 2, with the
 * usage on stderr; failures exit 1 with one message.
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>

#include "catfile.h"
#include "wspshim/ws2spi.h"
#include "layerenv.h"
#include "libc.h"
#include "wstr.h"

#ifndef WSPSHIM_INSTALLED_LIB
#define WSPSHIM_INSTALLED_LIB	"/usr/local/lib/libwspshim.so"
#endif
#ifndef WSPSHIM_TOOL_LAYERDIR
#define WSPSHIM_TOOL_LAYERDIR	NULL
#endif

#define EXIT_USAGE	2
#define EXIT_REFUSED	2	/* a layer that crashes in its start */
#define TRIAL_SECS	10	/* a layer's trial start may take this long */

static const char *progname = "wspshim";
static const char *cmdname;		/* the subcommand, for messages */
static char catalog_file[PATH_MAX];	/* the catalog file acted on */
static const char *catalog_opt;		/* --catalog FILE, or NULL */
static int catalog_where;		/* 'u' --user, 's' --system, or 0 */

static int pick_catalog(void);

static const char usage_main[] =
"usage: wspshim [--catalog FILE | --user | --system] COMMAND [ARGS...]\n"
"\n"
"Show and change the libwspshim protocol catalog, and run programs with\n"
"their sockets going through its provider chains.\n"
"\n"
"commands:\n"
"  catalog [--brief]             list the catalog file's entries\n"
"  install [OPTIONS] LAYER       install a layer over base entries\n"
"  remove ID|GUID|NAME           remove a layer (or provider) and its "
"chains\n"
"  order ID...                   put these entries first in catalog order\n"
"  run [--] PROGRAM [ARGS...]    run PROGRAM with libwspshim.so preloaded\n"
"                                (-l LAYER[:PARAMS] before -- adds a layer)\n"
"  trace [OPTIONS] -- PROGRAM    run PROGRAM with the trace layer: one\n"
"                                strace-style line per socket call\n"
"  tracecmp [OPTIONS] -- PROGRAM compare PROGRAM's socket calls under\n"
"                                strace and under the trace layer\n"
"  help [COMMAND]                show this help, or a command's\n"
"\n"
"The catalog file: --catalog FILE, else $WSPSHIM_CATALOG, else the\n"
"per-user file ($XDG_CONFIG_HOME or ~/.config)/wspshim/catalog if it\n"
"exists, else the system file.  --user and --system pick one of the two.\n"
"Changes reach programs started afterwards, not running ones.\n";

static const char usage_catalog[] =
"usage: wspshim catalog [--brief] [--catalog FILE]\n"
"\n"
"List every entry of the catalog file, in catalog order, the way\n"
"\"netsh winsock show catalog\" does: entry type, description, provider\n"
"GUID and path, entry id, version, address family, socket address sizes,\n"
"socket type, protocol, service and provider flags, protocol chain and\n"
"layer parameters.  --brief prints one line per entry.  A missing file\n"
"lists the built-in catalog.\n";

static const char usage_install[] =
"usage: wspshim install [--over ID|KIND[,...]] [--name NAME] "
"[--params STR]\n"
"                       [--ifs] [--guid GUID] [--catalog FILE] LAYER\n"
"\n"
"Install LAYER (a plugin file, or a short name found as WSPSHIM_LAYERS\n"
"finds it) as a hidden layered entry, with a chain over each entry named\n"
"by --over, first in catalog order.  The absolute path of the file is\n"
"stored.  The file must export WSPStartup, and its parameter check\n"
"(WSPShimCheckParams) must accept --params; the layer is then started\n"
"once in a child process: one that crashes or hangs there is refused,\n"
"exit 2.\n"
"\n"
"  --over LIST   catalog entry ids (base or chain entries) and kinds:\n"
"                tcp udp raw tcp6 udp6 raw6 unix-stream unix-dgram\n"
"                unix-seqpacket, or the groups ipv4 ipv6 ip unix all\n"
"                (default: all, every base entry)\n"
"  --name NAME   the layer's name (default: the file name without\n"
"                \"libwsp_\" and \".so\"); chains are \"NAME over [BASE]\"\n"
"  --params STR  the parameter string the layer reads\n"
"  --ifs         the layer hands out the handles of the provider below it\n"
"                (XP1_IFS_HANDLES)\n"
"  --guid GUID   the provider GUID the layer's own code expects (a layer\n"
"                written the Windows way finds its entry by it); default:\n"
"                a new random one\n"
"\n"
"Prints the new layered entry's id and provider GUID.\n";

static const char usage_remove[] =
"usage: wspshim remove [--catalog FILE] ID|GUID|NAME\n"
"\n"
"Remove a provider's entries and every chain that names one of them.\n"
"ID is a catalog entry id: a layered entry, or a chain (which removes the\n"
"layer on top of it), or an installed base entry.  GUID is a provider id,\n"
"{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}.  NAME is an installed layer's\n"
"name.  The built-in base entries are removed only by their GUID.\n";

static const char usage_order[] =
"usage: wspshim order [--catalog FILE] ID...\n"
"\n"
"Put the listed catalog entries first, in this order; the others follow\n"
"in their present order (WSCWriteProviderOrder).  Selection takes the\n"
"first entry that matches a socket, so the order decides which chain a\n"
"socket goes through.\n";

static const char usage_run[] =
"usage: wspshim run [-l LAYER[:PARAMS]]... [--library FILE] [--] PROGRAM "
"[ARGS...]\n"
"\n"
"Execute PROGRAM with libwspshim.so first in LD_PRELOAD (an LD_PRELOAD\n"
"already set is kept after it).  Each -l adds a layer for this run only,\n"
"through WSPSHIM_LAYERS (the first -l is the top layer); the catalog file\n"
"is not changed.  With --catalog FILE, PROGRAM uses that catalog file\n"
"(WSPSHIM_CATALOG).  --library names the libwspshim.so to preload.\n"
"Each layer and its parameters are checked first, and each -l layer is\n"
"started once in a child process; a mistake, or a layer that crashes or\n"
"hangs there, exits 2 with one line and PROGRAM is not run.  A static,\n"
"set-ID or capability program, which no preload reaches, is said so,\n"
"and refused with a policy layer.\n"
"The exit status is PROGRAM's; 127 when it cannot be found, 126 when it\n"
"cannot be run.\n";

static const char usage_trace[] =
"usage: wspshim trace [-o FILE] [-f] [-t|-tt|-ttt|-r] [-T] [-v] [-s N]\n"
"                     [-e CALLS]\n"
"                     [--fd N[,N...]] [--position top|bottom]\n"
"                     [-l LAYER[:PARAMS]]... [--library FILE] [--]\n"
"                     PROGRAM [ARGS...]\n"
"\n"
"Run PROGRAM with libwspshim.so preloaded and the trace layer in the chain\n"
"of every TCP, UDP and AF_UNIX socket: one line per socket call, in\n"
"strace's syntax, on stderr or in FILE (docs/layers/trace.md).\n"
"\n"
"  -o FILE        write the lines to FILE (%p: the process id)\n"
"  -f             \"[pid N] \" before the lines of other threads and of\n"
"                 child processes, as strace -f does\n"
"  -t, -tt, -ttt  time of day, with microseconds, or as seconds since the\n"
"                 epoch, before each line\n"
"  -r             time since the previous call before each line\n"
"  -T             time spent in the call after each line, <0.000012>\n"
"  -v             warn (once) when the program's socket calls bypass the\n"
"                 shim: a static or set-ID program, which no preload\n"
"                 reaches, or a socket closed by a raw syscall\n"
"  -s N           show at most N bytes of data (default 32)\n"
"  -e CALLS       trace only these calls (comma-separated, strace names;\n"
"                 \"trace=\" may come first; %network for every socket\n"
"                 call)\n"
"  --fd N[,N...]  trace only calls on these descriptors\n"
"  --position P   top: the trace sees what the program asked (default);\n"
"                 bottom: what reached the base provider, below the\n"
"                 other layers\n"
"  -l LAYER[:PARAMS]\n"
"                 another layer in the chain (as \"run -l\"); without -l,\n"
"                 the layers WSPSHIM_LAYERS names\n"
"  --library FILE the libwspshim.so to preload\n"
"\n"
"The exit status is PROGRAM's; 127 when it cannot be found, 126 when it\n"
"cannot be run; 2 for a usage error.\n";

static const char usage_tracecmp[] =
"usage: wspshim tracecmp [--ports] [--keep-going] [-v] [-s N] [-i FILE]\n"
"                        [-l LAYER[:PARAMS]]... [--keep DIR] [--timeout S]\n"
"                        [--library FILE] [--] PROGRAM [ARGS...]\n"
"\n"
"Run PROGRAM under strace -f without the shim, and with libwspshim.so and\n"
"the trace layer at the bottom of every chain (WSPSHIM_MANAGE=all); keep\n"
"the calls on sockets, normalise what must differ (pids, addresses of\n"
"buffers; kernel-chosen ports with --ports) and compare.  Prints\n"
"\"match: N calls\" (exit 0) or the first difference with context (exit\n"
"1); -v counts each filter rule (docs/tracing.md lists them).\n"
"\n"
"  --ports       kernel-chosen ports and autobound AF_UNIX names match\n"
"  --keep-going  every difference, not only the first\n"
"  -v            count the filter rules; say where the traces are\n"
"  -s N          bytes of data compared per buffer (default 32)\n"
"  -i FILE       standard input of both runs (default /dev/null)\n"
"  -l LAYER      another layer, above the trace layer\n"
"  --keep DIR    keep the traces and the program's output in DIR\n"
"  --timeout S   each run may take S seconds (default 60), then it is\n"
"                killed with everything it started\n"
"\n"
"Needs strace and python3.  Exit 2 for a usage error, 3 when a run\n"
"could not be made.\n";

static const char usage_help[] = "usage: wspshim help [COMMAND]\n";

/* Nothing: prints "wspshim: CMD: message" on stderr. */
static void __attribute__((format(printf, 1, 2)))
warnx_(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	if (cmdname != NULL)
		fprintf(stderr, "%s: ", cmdname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* EXIT_USAGE, after a message and the usage text on stderr. */
static int __attribute__((format(printf, 2, 3)))
usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	if (cmdname != NULL)
		fprintf(stderr, "%s: ", cmdname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fputs(usage, stderr);
	return EXIT_USAGE;
}

/* 0 after the help text went to stdout. */
static int
show_help(const char *usage)
{
	fputs(usage, stdout);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* --- reading the catalog -------------------------------------------------- */

/* 0 and the catalog file's entries in ed (*missing when there is no
 * file), or 1 after the message. */
static int
read_catalog(struct catalog_edit *ed, int *missing)
{
	struct catfile_error err;

	memset(ed, 0, sizeof(*ed));
	if (pick_catalog() != 0)
		return 1;
	if (catfile_read(catalog_file, ed, missing, &err) != 0) {
		warnx_("%s", err.msg);
		return 1;
	}
	return 0;
}

/* The UTF-8 form of an entry's description, with control characters
 * shown as '?', in buf. */
static char *
entry_name(const WSAPROTOCOL_INFOW *p, char *buf, size_t len)
{
	char *s;

	wstr_to_utf8(buf, len, p->szProtocol);
	for (s = buf; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
	return buf;
}

/* s with control characters shown as '?', in buf. */
static const char *
printable(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < len; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' :
		    s[i];
	buf[i] = '\0';
	return buf;
}

/* What netsh calls the kind of an entry. */
static const char *
entry_type(const WSAPROTOCOL_INFOW *p)
{
	if (p->ProtocolChain.ChainLen == LAYERED_PROTOCOL)
		return "Layered Service Provider";
	if (p->ProtocolChain.ChainLen == BASE_PROTOCOL)
		return "Base Service Provider";
	return "Layered Chain Entry";
}

/* The short kind of an entry, for --brief. */
static const char *
entry_kind(const WSAPROTOCOL_INFOW *p)
{
	if (p->ProtocolChain.ChainLen == LAYERED_PROTOCOL)
		return "layer";
	if (p->ProtocolChain.ChainLen == BASE_PROTOCOL)
		return "base";
	return "chain";
}

/* The name of an address family, or "?". */
static const char *
family_name(int af)
{
	switch (af) {
	case AF_UNSPEC:
		return "AF_UNSPEC";
	case AF_INET:
		return "AF_INET";
	case AF_INET6:
		return "AF_INET6";
	case AF_UNIX:
		return "AF_UNIX";
	}
	return "?";
}

/* The name of a socket type, or "?". */
static const char *
socktype_name(int type)
{
	switch (type) {
	case SOCK_STREAM:
		return "SOCK_STREAM";
	case SOCK_DGRAM:
		return "SOCK_DGRAM";
	case SOCK_RAW:
		return "SOCK_RAW";
	case SOCK_SEQPACKET:
		return "SOCK_SEQPACKET";
	}
	return "?";
}

/* The chain's ids as "1010 : 1001" in buf. */
static char *
chain_str(const WSAPROTOCOLCHAIN *pc, const char *sep, char *buf,
    size_t len)
{
	size_t n = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < pc->ChainLen && i < MAX_PROTOCOL_CHAIN; i++)
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%u",
		    i ? sep : "", pc->ChainEntries[i]);
	return buf;
}

/* Nothing: prints one entry in netsh's layout. */
static void
print_entry(const struct catalog_entry *e)
{
	const WSAPROTOCOL_INFOW *p = &e->info;
	char name[WSAPROTOCOL_LEN * 3 + 1], g[40], chain[128], buf[PATH_MAX];

	printf("\nWinsock Catalog Provider Entry\n"
	    "------------------------------------------------------\n");
	printf("%-36s%s\n", "Entry Type:", entry_type(p));
	printf("%-36s%s\n", "Description:", entry_name(p, name, sizeof(name)));
	printf("%-36s%s\n", "Provider ID:",
	    catfile_guid_str(&p->ProviderId, g, sizeof(g)));
	printf("%-36s%s\n", "Provider Path:",
	    printable(e->path != NULL ? e->path : "", buf, sizeof(buf)));
	printf("%-36s%u\n", "Catalog Entry ID:", p->dwCatalogEntryId);
	printf("%-36s%d\n", "Version:", p->iVersion);
	printf("%-36s%d (%s)\n", "Address Family:", p->iAddressFamily,
	    family_name(p->iAddressFamily));
	printf("%-36s%d\n", "Max Address Length:", p->iMaxSockAddr);
	printf("%-36s%d\n", "Min Address Length:", p->iMinSockAddr);
	printf("%-36s%d (%s)\n", "Socket Type:", p->iSocketType,
	    socktype_name(p->iSocketType));
	if (p->iProtocolMaxOffset != 0)
		printf("%-36s%d to %lld\n", "Protocol:", p->iProtocol,
		    (long long)p->iProtocol + p->iProtocolMaxOffset);
	else
		printf("%-36s%d\n", "Protocol:", p->iProtocol);
	printf("%-36s0x%x\n", "Service Flags:", p->dwServiceFlags1);
	printf("%-36s0x%x\n", "Provider Flags:", p->dwProviderFlags);
	printf("%-36s%u\n", "Message Size:", p->dwMessageSize);
	printf("%-36s%d\n", "Protocol Chain Length:",
	    p->ProtocolChain.ChainLen);
	if (p->ProtocolChain.ChainLen > 1)
		printf("%-36s%s\n", "Protocol Chain:",
		    chain_str(&p->ProtocolChain, " : ", chain, sizeof(chain)));
	if (e->params != NULL)
		printf("%-36s%s\n", "Layer Parameters:",
		    printable(e->params, buf, sizeof(buf)));
}

/* Nothing: prints one entry on one line. */
static void
print_brief(const struct catalog_entry *e)
{
	const WSAPROTOCOL_INFOW *p = &e->info;
	char name[WSAPROTOCOL_LEN * 3 + 1], chain[128], buf[PATH_MAX];

	if (p->ProtocolChain.ChainLen > 1)
		chain_str(&p->ProtocolChain, ",", chain, sizeof(chain));
	else
		snprintf(chain, sizeof(chain), "-");
	printf("%-6u %-6s %-9s %-15s %-5d %-16s %s", p->dwCatalogEntryId,
	    entry_kind(p), family_name(p->iAddressFamily),
	    socktype_name(p->iSocketType), p->iProtocol, chain,
	    entry_name(p, name, sizeof(name)));
	if (e->params != NULL)
		printf("  params=%s", printable(e->params, buf, sizeof(buf)));
	putchar('\n');
}

/* The exit status of "wspshim catalog". */
static int
cmd_catalog(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "brief", no_argument, NULL, 'b' },
		{ "catalog", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct catalog_edit ed;
	size_t i;
	int c, brief = 0, missing;

	while ((c = getopt_long(argc, argv, "bh", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			brief = 1;
			break;
		case 'c':
			catalog_opt = optarg;
			break;
		case 'h':
			return show_help(usage_catalog);
		default:
			return usage_error(usage_catalog, "bad option");
		}
	}
	if (optind < argc)
		return usage_error(usage_catalog, "unexpected argument: %s",
		    argv[optind]);
	if (read_catalog(&ed, &missing) != 0)
		return 1;
	if (brief) {
		printf("# %s%s\n", catalog_file, missing ?
		    " (no such file: the built-in catalog)" : "");
		printf("%-6s %-6s %-9s %-15s %-5s %-16s %s\n", "ID", "KIND",
		    "FAMILY", "TYPE", "PROTO", "CHAIN", "DESCRIPTION");
		for (i = 0; i < ed.cat.count; i++)
			print_brief(&ed.e[i]);
	} else {
		printf("Catalog file: %s%s\n", catalog_file, missing ?
		    " (no such file: the built-in catalog)" : "");
		for (i = 0; i < ed.cat.count; i++)
			print_entry(&ed.e[i]);
	}
	catedit_free(&ed);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* --- install -------------------------------------------------------------- */

/* Base entry kinds --over knows: a name, and the family, type and
 * protocol it matches (-1: any). */
static const struct {
	const char	*name;
	int		 af, type, proto;
} kinds[] = {
	{ "tcp", AF_INET, SOCK_STREAM, IPPROTO_TCP },
	{ "udp", AF_INET, SOCK_DGRAM, IPPROTO_UDP },
	{ "raw", AF_INET, SOCK_RAW, -1 },
	{ "tcp6", AF_INET6, SOCK_STREAM, IPPROTO_TCP },
	{ "udp6", AF_INET6, SOCK_DGRAM, IPPROTO_UDP },
	{ "raw6", AF_INET6, SOCK_RAW, -1 },
	{ "unix-stream", AF_UNIX, SOCK_STREAM, -1 },
	{ "unix-dgram", AF_UNIX, SOCK_DGRAM, -1 },
	{ "unix-seqpacket", AF_UNIX, SOCK_SEQPACKET, -1 },
	{ "ipv4", AF_INET, -1, -1 },
	{ "ipv6", AF_INET6, -1, -1 },
	{ "ip", -2, -1, -1 },		/* AF_INET or AF_INET6 */
	{ "unix", AF_UNIX, -1, -1 },
	{ "all", -1, -1, -1 },
};

/* Whether base entry p is of kind k. */
static int
kind_matches(size_t k, const WSAPROTOCOL_INFOW *p)
{
	int af = kinds[k].af;

	if (af == -2 && p->iAddressFamily != AF_INET &&
	    p->iAddressFamily != AF_INET6)
		return 0;
	if (af >= 0 && p->iAddressFamily != af)
		return 0;
	if (kinds[k].type >= 0 && p->iSocketType != kinds[k].type)
		return 0;
	return kinds[k].proto < 0 || p->iProtocol == kinds[k].proto;
}

/* 0 and *v, a decimal catalog entry id in s; else -1. */
static int
parse_id(const char *s, DWORD *v)
{
	unsigned long long x;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || x == 0 || x > UINT32_MAX)
		return -1;
	*v = (DWORD)x;
	return 0;
}

/* Nothing: adds id to ids (*n of them, room for the catalog) unless it is
 * there. */
static void
add_id(DWORD *ids, size_t *n, DWORD id)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (ids[i] == id)
			return;
	ids[(*n)++] = id;
}

/*
 * The ids the --over list names in catalog ed, into ids (room for
 * count + 1 of them), *n of them.  0, EXIT_USAGE (a word that is neither
 * an id nor a kind) or 1 (an id not in the catalog, a kind with no entry).
 */
static int
resolve_over(const char *list, const struct catalog_edit *ed, DWORD *ids,
    size_t *n)
{
	char *copy, *w, *save = NULL;
	size_t k, i, before;
	DWORD id;
	int rc = 0;

	*n = 0;
	if ((copy = strdup(list)) == NULL) {
		warnx_("out of memory");
		return 1;
	}
	for (w = strtok_r(copy, ", ", &save); w != NULL && rc == 0;
	    w = strtok_r(NULL, ", ", &save)) {
		if (parse_id(w, &id) == 0) {
			for (i = 0; i < ed->cat.count; i++)
				if (ed->e[i].info.dwCatalogEntryId == id)
					break;
			if (i == ed->cat.count) {
				warnx_("no catalog entry %u in %s", id,
				    catalog_file);
				rc = 1;
			} else if (*n < ed->cat.count)
				add_id(ids, n, id);
			continue;
		}
		for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
			if (strcmp(kinds[k].name, w) == 0)
				break;
		if (k == sizeof(kinds) / sizeof(kinds[0])) {
			rc = usage_error(usage_install, "--over: \"%s\" is "
			    "neither a catalog entry id nor a kind", w);
			break;
		}
		before = *n;
		for (i = 0; i < ed->cat.count; i++)
			if (ed->e[i].info.ProtocolChain.ChainLen ==
			    BASE_PROTOCOL && kind_matches(k, &ed->e[i].info))
				add_id(ids, n, ed->e[i].info.dwCatalogEntryId);
		if (*n == before) {
			warnx_("--over %s: no such base entry in %s", w,
			    catalog_file);
			rc = 1;
		}
	}
	free(copy);
	if (rc == 0 && *n == 0)
		rc = usage_error(usage_install, "--over names no entry");
	return rc;
}

/* The directory of the libwspshim.so the command goes with, malloc'd, or
 * NULL. */
static char *
library_dir(const char *lib)
{
	const char *slash = strrchr(lib, '/');

	if (slash == NULL)
		return strdup(".");
	return strndup(lib, slash == lib ? 1 : (size_t)(slash - lib));
}

static const char *find_library(const char *given);
static void add_layer_elem(char *out, size_t *n, const char *s);

/* The short name of the layer nearest to the misspelt name among those
 * in the places o searches (libwsp_NAME.so), malloc'd, or NULL. */
static char *
nearest_layer(const char *name, const struct layerenv_opts *o)
{
	const char *words[64], *near, *b;
	char pat[PATH_MAX], *copy, *dir, *save = NULL, *r = NULL;
	glob_t g;
	size_t i, n = 0;
	int flags = 0;

	memset(&g, 0, sizeof(g));
	if (o->layer_path != NULL && (copy = strdup(o->layer_path)) != NULL) {
		for (dir = strtok_r(copy, ":", &save); dir != NULL;
		    dir = strtok_r(NULL, ":", &save)) {
			snprintf(pat, sizeof(pat), "%s/libwsp_*.so", dir);
			if (glob(pat, flags, NULL, &g) == 0)
				flags = GLOB_APPEND;
		}
		free(copy);
	}
	if (o->install_dir != NULL) {
		snprintf(pat, sizeof(pat), "%s/libwsp_*.so", o->install_dir);
		if (glob(pat, flags, NULL, &g) == 0)
			flags = GLOB_APPEND;
	}
	if (o->lib_dir != NULL) {
		snprintf(pat, sizeof(pat), "%s/../layers/*/libwsp_*.so",
		    o->lib_dir);
		if (glob(pat, flags, NULL, &g) == 0)
			flags = GLOB_APPEND;
	}
	for (i = 0; flags != 0 && i < g.gl_pathc && n < 64; i++) {
		b = strrchr(g.gl_pathv[i], '/');
		b = b != NULL ? b + 8 : g.gl_pathv[i] + 7;	/* libwsp_ */
		/* Cut ".so" in place: the names point into gl_pathv. */
		g.gl_pathv[i][strlen(g.gl_pathv[i]) - 3] = '\0';
		words[n++] = b;
	}
	if ((near = WSPShimNearestWord(name, words, n)) != NULL)
		r = strdup(near);
	if (flags != 0)
		globfree(&g);
	return r;
}

/* The absolute path of the plugin LAYER names (short names also in the
 * build tree of given_lib, else of the library this command goes with),
 * malloc'd, or NULL after the message. */
static char *
resolve_layer(const char *layer, const char *given_lib)
{
	struct layerenv_opts o;
	char searched[1024], *found, *abs, *near;
	const char *lib;
	struct stat st;

	memset(&o, 0, sizeof(o));
	o.layer_path = getenv("WSPSHIM_LAYER_PATH");
	o.install_dir = WSPSHIM_TOOL_LAYERDIR;
	lib = given_lib != NULL ? given_lib : find_library(NULL);
	o.lib_dir = lib != NULL ? library_dir(lib) : NULL;
	found = layerenv_resolve(layer, &o, searched, sizeof(searched));
	if (found == NULL) {
		near = nearest_layer(layer, &o);
		warnx_("no layer %s%s%s%s (looked in: %s)", layer,
		    near != NULL ? ", did you mean " : "",
		    near != NULL ? near : "", near != NULL ? "?" : "",
		    searched);
		free(near);
		free((char *)o.lib_dir);
		return NULL;
	}
	free((char *)o.lib_dir);
	abs = realpath(found, NULL);
	if (abs == NULL || stat(abs, &st) != 0 || !S_ISREG(st.st_mode)) {
		warnx_("%s: %s", found, abs == NULL ? strerror(errno) :
		    "not a regular file");
		free(found);
		free(abs);
		return NULL;
	}
	free(found);
	return abs;
}

/* The name a layer file gets: its file name without "libwsp_" and ".so";
 * malloc'd. */
static char *
layer_name(const char *path)
{
	const char *b = strrchr(path, '/');
	size_t n;

	b = b != NULL ? b + 1 : path;
	if (strncmp(b, "libwsp_", 7) == 0 && b[7] != '\0')
		b += 7;
	n = strlen(b);
	if (n > 3 && strcmp(b + n - 3, ".so") == 0)
		n -= 3;
	return strndup(b, n);
}

/* --- checking layers before a run or an install ------------------------- */

/*
 * 0 when the plugin file path (named name by the user) loads, exports
 * WSPStartup, and its WSPShimCheckParams (ws2spi.h), when it has one,
 * accepts params; else -1 after one line naming the mistake.  The layer
 * is loaded into this process for the check, not started, and unloaded;
 * lib (the libwspshim.so the program gets, or NULL) is loaded first, as
 * the preload is in the program, so that a layer that needs it by its
 * soname alone (one built out of the tree) finds it.
 */
static int
check_plugin(const char *name, const char *path, const char *params,
    const char *lib)
{
	LPWSPSHIMCHECKPARAMS check;
	char why[256], *lname;
	/* The file as the user named it, or as found for a short name. */
	const char *shown = strchr(name, '/') != NULL ? name : path;
	const char *err, *colon;
	void *h, *hlib;
	int rc = -1;

	hlib = lib != NULL ? dlopen(lib, RTLD_NOW | RTLD_LOCAL) : NULL;
	/* Lazily: a layer written the Windows way finds the WSC* calls in
	 * the program's libwspshim.so, not here; the trial start, in a
	 * child with the library preloaded, runs it for real. */
	if ((h = dlopen(path, RTLD_LAZY | RTLD_LOCAL)) == NULL) {
		err = dlerror();
		/* Only the library is missing here (this command, copied
		 * out of its prefix, cannot find it): the program gets it
		 * by its preload, so the layer cannot be checked now. */
		if (hlib == NULL && err != NULL &&
		    strncmp(err, "libwspshim.so: ", 15) == 0) {
			rc = 0;
			goto done;
		}
		/* dlerror() says "PATH: why"; the line names the file once. */
		if (err != NULL && (colon = strstr(err, ": ")) != NULL)
			err = colon + 2;
		warnx_("%s is not a layer (%s)", shown, err != NULL ? err :
		    "it does not load");
		goto done;
	}
	if (dlsym(h, "WSPStartup") == NULL) {
		warnx_("%s is not a layer (it exports no WSPStartup)", shown);
		goto out;
	}
	*(void **)&check = dlsym(h, "WSPShimCheckParams");
	why[0] = '\0';
	if (check != NULL && check(params != NULL ? params : "", why,
	    sizeof(why)) != 0) {
		lname = strchr(name, '/') != NULL ? layer_name(path) : NULL;
		warnx_("%s: %s", lname != NULL ? lname : name, why[0] != '\0' ?
		    why : "bad parameters");
		free(lname);
		goto out;
	}
	rc = 0;
out:
	dlclose(h);
done:
	if (hlib != NULL)
		dlclose(hlib);
	return rc;
}

/*
 * 0 when every element of spec, a WSPSHIM_LAYERS list (spi/layerenv.h),
 * names a layer that passes check_plugin (short names looked up beside
 * lib as the library will), and *policy set when one is the policy layer;
 * else EXIT_USAGE (or 1, out of memory) after one line.
 */
static int
check_layer_list(const char *spec, const char *lib, int *policy)
{
	char *elem, *path, *params, *name;
	const char *p;
	size_t n;
	int rc = 0;

	if ((elem = malloc(strlen(spec) + 1)) == NULL) {
		warnx_("out of memory");
		return 1;
	}
	for (p = spec; *p != '\0' && rc == 0; p += *p == ',') {
		/* One element, "\," and "\\" unescaped. */
		for (n = 0; *p != '\0' && *p != ','; p++) {
			if (*p == '\\' && (p[1] == ',' || p[1] == '\\'))
				p++;
			elem[n++] = *p;
		}
		elem[n] = '\0';
		if (n == 0)
			continue;
		params = strchr(elem, ':');
		if (params != NULL)
			*params++ = '\0';
		if ((path = resolve_layer(elem, lib)) == NULL ||
		    check_plugin(elem, path, params, lib) != 0)
			rc = EXIT_USAGE;
		else if ((name = layer_name(path)) != NULL) {
			*policy |= strcmp(name, "policy") == 0;
			free(name);
		}
		free(path);
	}
	free(elem);
	return rc;
}

/*
 * 0 when the trace output pattern out (%p: the pid) can be written: the
 * file is opened for appending (created if need be, as the trace layer
 * will) or, with %p, its directory is writable; else EXIT_USAGE after one
 * line.  strace -o refuses an unwritable file before the run in the same
 * way.
 */
static int
check_trace_out(const char *out)
{
	char dir[PATH_MAX], *slash;
	int fd;

	if (strstr(out, "%p") == NULL) {
		fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0) {
			close(fd);
			return 0;
		}
		warnx_("-o %s: %s", out, strerror(errno));
		return EXIT_USAGE;
	}
	snprintf(dir, sizeof(dir), "%s", out);
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		slash[slash == dir] = '\0';
	if (access(dir, W_OK | X_OK) == 0)
		return 0;
	warnx_("-o %s: %s: %s", out, dir, strerror(errno));
	return EXIT_USAGE;
}

/* 0 and a new random (version 4) GUID in *g, or -1. */
static int
new_guid(GUID *g)
{
	unsigned char b[16];
	size_t got = 0;
	ssize_t r;

	while (got < sizeof(b)) {
		r = getrandom(b + got, sizeof(b) - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	g->Data1 = (DWORD)b[0] << 24 | (DWORD)b[1] << 16 | (DWORD)b[2] << 8 |
	    b[3];
	g->Data2 = (WORD)(b[4] << 8 | b[5]);
	g->Data3 = (WORD)(b[6] << 8 | b[7]);
	memcpy(g->Data4, b + 8, 8);
	return 0;
}

/* --- a layer's trial start -------------------------------------------------- */

/*
 * A layer's WSPStartup runs in the program that makes the socket, so a
 * layer that crashes there takes that program down.  Before such a layer
 * is stored in a catalog or handed to a program, it is started once in a
 * child process, the way the program would start it: libwspshim.so
 * loaded, WSPSHIM_LAYERS naming the layer alone over the built-in
 * catalog, one socket of each kind it covers made through WSASocketW
 * (each starts one chain).  The child's output goes nowhere; it tells the
 * parent what went wrong through a pipe.
 */

typedef int (WSAAPI *trial_startup_fn)(WORD, LPWSADATA);
typedef SOCKET (WSAAPI *trial_socket_fn)(int, int, int, LPWSAPROTOCOL_INFOW,
    GROUP, DWORD);
typedef int (WSAAPI *trial_error_fn)(void);
typedef int (WSAAPI *trial_close_fn)(SOCKET);

/* One socket of each kind WSPSHIM_LAYERS covers. */
static const int trial_kinds[][3] = {
	{ AF_INET, SOCK_STREAM, IPPROTO_TCP },
	{ AF_INET, SOCK_DGRAM, IPPROTO_UDP },
	{ AF_INET6, SOCK_STREAM, IPPROTO_TCP },
	{ AF_INET6, SOCK_DGRAM, IPPROTO_UDP },
	{ AF_UNIX, SOCK_STREAM, 0 },
	{ AF_UNIX, SOCK_DGRAM, 0 },
	{ AF_UNIX, SOCK_SEQPACKET, 0 },
};

/* Does not return: the child of a trial start, with WSPSHIM_LAYERS and
 * WSPSHIM_CATALOG set; exits 0, or 3 after writing why to fd. */
static void
trial_child(const char *lib, int fd)
{
	struct rlimit no_core = { 0, 0 };
	trial_startup_fn startup;
	trial_socket_fn mksocket;
	trial_error_fn lasterr;
	trial_close_fn closes;
	char msg[256];
	WSADATA wd;
	SOCKET s;
	size_t i;
	void *h;
	int null, e;

	setrlimit(RLIMIT_CORE, &no_core);
	if ((null = open("/dev/null", O_RDWR)) >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
	}
	alarm(TRIAL_SECS);
	if ((h = dlopen(lib, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(msg, sizeof(msg), "cannot load %s: %s", lib,
		    dlerror());
		goto fail;
	}
	startup = (trial_startup_fn)dlsym(h, "WSAStartup");
	mksocket = (trial_socket_fn)dlsym(h, "WSASocketW");
	lasterr = (trial_error_fn)dlsym(h, "WSAGetLastError");
	closes = (trial_close_fn)dlsym(h, "closesocket");
	if (startup == NULL || mksocket == NULL || lasterr == NULL ||
	    closes == NULL) {
		snprintf(msg, sizeof(msg), "%s lacks the Winsock API", lib);
		goto fail;
	}
	if ((e = startup(0x0202, &wd)) != 0) {
		snprintf(msg, sizeof(msg), "WSAStartup failed: %d", e);
		goto fail;
	}
	for (i = 0; i < sizeof(trial_kinds) / sizeof(trial_kinds[0]); i++) {
		s = mksocket(trial_kinds[i][0], trial_kinds[i][1],
		    trial_kinds[i][2], NULL, 0, 0);
		if (s != INVALID_SOCKET) {
			closes(s);
			continue;
		}
		/* Only a chain that cannot start counts (no IPv6 here is
		 * no fault of the layer's). */
		e = lasterr();
		if (e == WSAEPROVIDERFAILEDINIT || e == WSAEINVALIDPROCTABLE ||
		    e == WSAEINVALIDPROVIDER || e == WSASYSCALLFAILURE) {
			snprintf(msg, sizeof(msg), "it failed to start "
			    "(error %d; see WSPSHIM_LOG=2)", e);
			goto fail;
		}
	}
	_exit(0);
fail:
	if (write(fd, msg, strlen(msg)) < 0)
		_exit(3);
	_exit(3);
}

/*
 * 0 when the layer spec (a WSPSHIM_LAYERS element: a path or name, and
 * ":PARAMS") starts in a child process, or when it only fails to start
 * (said in one warning line: its sockets will fail, the program will
 * not); EXIT_REFUSED after one line when it crashes or hangs there; 1
 * after one line when it cannot be tried (no temporary directory, no
 * fork).  lib is the libwspshim.so to load; NULL when none was found
 * (said, and nothing is tried: without it no layer can load).
 */
static int
trial_start(const char *lib, const char *spec, const char *layer)
{
	char dir[PATH_MAX], cat[PATH_MAX + 8], msg[256];
	const char *tmp = getenv("TMPDIR");
	char *elem = NULL;
	int p[2] = { -1, -1 }, st, rc = 0;
	size_t n = 0;
	ssize_t got;
	pid_t pid;

	if (lib == NULL) {
		warnx_("cannot try %s's start: no libwspshim.so found",
		    layer);
		return 0;
	}
	/* A directory of its own, so that the catalog path surely names
	 * no file: $TMPDIR, else /tmp. */
	snprintf(dir, sizeof(dir), "%s/wspshim-trial.XXXXXX",
	    tmp != NULL && tmp[0] == '/' && strlen(tmp) < PATH_MAX - 32 ?
	    tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		snprintf(dir, sizeof(dir), "/tmp/wspshim-trial.XXXXXX");
		if (mkdtemp(dir) == NULL)
			goto fail;
	}
	if ((elem = malloc(2 * strlen(spec) + 1)) == NULL ||
	    pipe2(p, O_CLOEXEC) != 0)
		goto fail;
	add_layer_elem(elem, &n, spec);
	elem[n] = '\0';
	/* The built-in catalog under the layer: nothing else can crash. */
	snprintf(cat, sizeof(cat), "%s/none", dir);
	fflush(NULL);
	if ((pid = fork()) < 0)
		goto fail;
	if (pid == 0) {
		close(p[0]);
		if (setenv("WSPSHIM_LAYERS", elem, 1) != 0 ||
		    setenv("WSPSHIM_CATALOG", cat, 1) != 0)
			_exit(3);
		unsetenv("WSPSHIM_FALLBACK");
		unsetenv("LD_PRELOAD");
		trial_child(lib, p[1]);
	}
	close(p[1]);
	p[1] = -1;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			goto fail;
	got = read(p[0], msg, sizeof(msg) - 1);
	msg[got > 0 ? got : 0] = '\0';
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM) {
		warnx_("refused: layer %s did not finish starting in %d s "
		    "(tried in a child process)", layer, TRIAL_SECS);
		rc = EXIT_REFUSED;
	} else if (WIFSIGNALED(st)) {
		warnx_("refused: layer %s crashed in its start (%s; tried in "
		    "a child process)", layer, strsignal(WTERMSIG(st)));
		rc = EXIT_REFUSED;
	} else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		warnx_("warning: layer %s: %s", layer, *msg != '\0' ? msg :
		    "its trial start failed");
	}
out:
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	rmdir(dir);
	free(elem);
	return rc;
fail:
	/* Untried is not tried: the layer is not taken. */
	warnx_("cannot try %s's start: %s", layer, strerror(errno));
	rc = 1;
	goto out;
}

/* The exit status of "wspshim install". */
static int
cmd_install(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "over", required_argument, NULL, 'o' },
		{ "name", required_argument, NULL, 'n' },
		{ "params", required_argument, NULL, 'p' },
		{ "ifs", no_argument, NULL, 'i' },
		{ "guid", required_argument, NULL, 'g' },
		{ "catalog", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *over = "all", *name = NULL, *params = NULL, *gopt = NULL;
	struct catfile_error err;
	struct catalog_edit ed;
	char *path = NULL, *dname = NULL, *spec = NULL, g[40];
	DWORD *ids = NULL, layer, xp1 = 0;
	size_t n = 0, i;
	GUID guid;
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "o:n:p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			over = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 'p':
			params = optarg;
			break;
		case 'i':
			xp1 = XP1_IFS_HANDLES;
			break;
		case 'g':
			gopt = optarg;
			break;
		case 'c':
			catalog_opt = optarg;
			break;
		case 'h':
			return show_help(usage_install);
		default:
			return usage_error(usage_install, "bad option");
		}
	}
	if (optind == argc)
		return usage_error(usage_install, "no LAYER given");
	if (optind + 1 < argc)
		return usage_error(usage_install, "unexpected argument: %s",
		    argv[optind + 1]);
	if (name != NULL && *name == '\0')
		return usage_error(usage_install, "--name is empty");
	if (gopt != NULL && catfile_guid_parse(gopt, &guid) != 0)
		return usage_error(usage_install, "--guid %s is not a GUID "
		    "({xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx})", gopt);
	if (read_catalog(&ed, NULL) != 0)
		return 1;
	if ((ids = calloc(ed.cat.count + 1, sizeof(*ids))) == NULL) {
		warnx_("out of memory");
		goto out;
	}
	if ((rc = resolve_over(over, &ed, ids, &n)) != 0)
		goto out;
	rc = 1;
	rc = EXIT_USAGE;
	if ((path = resolve_layer(argv[optind], NULL)) == NULL ||
	    check_plugin(argv[optind], path, params,
	    find_library(NULL)) != 0)
		goto out;
	rc = 1;
	if (name == NULL && (name = dname = layer_name(path)) == NULL) {
		warnx_("out of memory");
		goto out;
	}
	if (asprintf(&spec, "%s%s%s", path, params != NULL ? ":" : "",
	    params != NULL ? params : "") < 0) {
		spec = NULL;
		warnx_("out of memory");
		goto out;
	}
	if ((c = trial_start(find_library(NULL), spec, argv[optind])) != 0) {
		rc = c;
		goto out;
	}
	if (gopt == NULL && new_guid(&guid) != 0) {
		warnx_("cannot make a GUID: %s", strerror(errno));
		goto out;
	}
	if (wsc_install_layer(catalog_file, &guid, path, name, xp1, params,
	    ids, n, &layer, &err) != 0) {
		warnx_("%s", err.msg);
		goto out;
	}
	printf("installed %s as entry %u, provider %s, chains", name, layer,
	    catfile_guid_str(&guid, g, sizeof(g)));
	for (i = 0; i < n; i++)
		printf(" %u", layer + 1 + (DWORD)i);
	printf("\n");
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	catedit_free(&ed);
	free(ids);
	free(path);
	free(dname);
	free(spec);
	return rc;
}

/* --- remove, order -------------------------------------------------------- */

/* 0 and the provider GUID that ID, GUID or NAME stands for in ed, or the
 * exit status after the message. */
static int
resolve_provider(const char *what, const struct catalog_edit *ed, GUID *g)
{
	const struct catalog_entry *e = NULL, *top;
	char name[WSAPROTOCOL_LEN * 3 + 1], gs[40];
	size_t i, found = 0;
	DWORD id;

	if (catfile_guid_parse(what, g) == 0)
		return 0;
	if (parse_id(what, &id) == 0) {
		for (i = 0; i < ed->cat.count; i++)
			if (ed->e[i].info.dwCatalogEntryId == id)
				e = &ed->e[i];
		if (e == NULL) {
			warnx_("no catalog entry %u in %s", id, catalog_file);
			return 1;
		}
		*g = e->info.ProviderId;
		if (e->info.ProtocolChain.ChainLen >= 2) {
			/* A chain stands for the layer on top of it. */
			for (i = 0; i < ed->cat.count; i++) {
				top = &ed->e[i];
				if (top->info.dwCatalogEntryId ==
				    e->info.ProtocolChain.ChainEntries[0])
					*g = top->info.ProviderId;
			}
		} else if (e->info.ProtocolChain.ChainLen == BASE_PROTOCOL &&
		    memcmp(g, &catalog_base_guid, sizeof(*g)) == 0) {
			warnx_("entry %u is a built-in base entry; to remove "
			    "all of them, name the GUID %s", id,
			    catfile_guid_str(g, gs, sizeof(gs)));
			return 1;
		}
		return 0;
	}
	for (i = 0; i < ed->cat.count; i++) {
		e = &ed->e[i];
		if (e->info.ProtocolChain.ChainLen != LAYERED_PROTOCOL ||
		    strcmp(entry_name(&e->info, name, sizeof(name)), what) != 0)
			continue;
		if (found > 0 && memcmp(g, &e->info.ProviderId,
		    sizeof(*g)) != 0) {
			warnx_("several layers are named %s; name one by its "
			    "entry id or GUID", what);
			return 1;
		}
		*g = e->info.ProviderId;
		found++;
	}
	if (found == 0) {
		warnx_("no layer named %s in %s", what, catalog_file);
		return 1;
	}
	return 0;
}

/* The exit status of "wspshim remove". */
static int
cmd_remove(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "catalog", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct catfile_error err;
	struct catalog_edit ed;
	char g[40];
	GUID guid;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			catalog_opt = optarg;
			break;
		case 'h':
			return show_help(usage_remove);
		default:
			return usage_error(usage_remove, "bad option");
		}
	}
	if (optind == argc)
		return usage_error(usage_remove, "nothing to remove");
	if (optind + 1 < argc)
		return usage_error(usage_remove, "unexpected argument: %s",
		    argv[optind + 1]);
	if (read_catalog(&ed, NULL) != 0)
		return 1;
	rc = resolve_provider(argv[optind], &ed, &guid);
	catedit_free(&ed);
	if (rc != 0)
		return rc;
	if (wsc_deinstall(catalog_file, &guid, &err) != 0) {
		warnx_("%s", err.msg);
		return 1;
	}
	printf("removed provider %s\n", catfile_guid_str(&guid, g, sizeof(g)));
	return fflush(stdout) == 0 ? 0 : 1;
}

/* The exit status of "wspshim order". */
static int
cmd_order(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "catalog", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct catfile_error err;
	char *copy, *w, *save;
	DWORD *ids, id;
	size_t n = 0, cap = 0;
	int c, i, rc = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			catalog_opt = optarg;
			break;
		case 'h':
			return show_help(usage_order);
		default:
			return usage_error(usage_order, "bad option");
		}
	}
	if (optind == argc)
		return usage_error(usage_order, "no entry ids given");
	for (i = optind; i < argc; i++)
		cap += strlen(argv[i]) / 2 + 1;
	if ((ids = calloc(cap, sizeof(*ids))) == NULL) {
		warnx_("out of memory");
		return 1;
	}
	for (i = optind; i < argc && rc == 0; i++) {
		if ((copy = strdup(argv[i])) == NULL) {
			warnx_("out of memory");
			rc = 1;
			break;
		}
		save = NULL;
		for (w = strtok_r(copy, ",", &save); w != NULL;
		    w = strtok_r(NULL, ",", &save)) {
			if (parse_id(w, &id) != 0) {
				rc = usage_error(usage_order, "not a catalog "
				    "entry id: %s", w);
				break;
			}
			ids[n++] = id;
		}
		free(copy);
	}
	if (rc == 0 && pick_catalog() != 0)
		rc = 1;
	if (rc == 0 && wsc_write_order(catalog_file, ids, n, &err) != 0) {
		warnx_("%s", err.msg);
		rc = 1;
	}
	free(ids);
	return rc;
}

/* --- run ------------------------------------------------------------------ */

/* Whether path names a regular file. */
static int
is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/*
 * The libwspshim.so to preload: given (--library), else the one beside
 * this program in a build tree (../shim/libwspshim.so), else the installed
 * one.  An absolute path in a static buffer, or NULL when none is there.
 */
static const char *
find_library(const char *given)
{
	static char buf[PATH_MAX];
	char self[PATH_MAX], *slash, *r;
	ssize_t n;

	if (given != NULL) {
		/* Absolute, as LD_PRELOAD needs, but as given otherwise. */
		if (given[0] == '/')
			n = snprintf(buf, sizeof(buf), "%s", given);
		else if (getcwd(self, sizeof(self)) != NULL)
			n = snprintf(buf, sizeof(buf), "%s/%s", self, given);
		else
			return NULL;
		return n < (ssize_t)sizeof(buf) && is_file(buf) ? buf : NULL;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			n = snprintf(buf, sizeof(buf),
			    "%s/../shim/libwspshim.so", self);
			if (n > 0 && n < (ssize_t)sizeof(buf) &&
			    (r = realpath(buf, NULL)) != NULL) {
				snprintf(buf, sizeof(buf), "%s", r);
				free(r);
				if (is_file(buf))
					return buf;
			}
		}
	}
	snprintf(buf, sizeof(buf), "%s", WSPSHIM_INSTALLED_LIB);
	return is_file(buf) ? buf : NULL;
}

/* --- programs the preload cannot reach ---------------------------------- */

/*
 * The file execvp() would run for prog (PATH searched when prog has no
 * '/'), in path (PATH_MAX bytes): 0, or an errno (ENOENT: none found,
 * EACCES: found but not executable), as execvp would report it.
 */
static int
find_program(const char *prog, char *path)
{
	const char *dirs = getenv("PATH"), *end;
	int found = ENOENT;
	size_t n;

	if (strchr(prog, '/') != NULL) {
		if (snprintf(path, PATH_MAX, "%s", prog) >= PATH_MAX)
			return ENAMETOOLONG;
		return access(path, X_OK) == 0 ? 0 : errno;
	}
	if (*prog == '\0')
		return ENOENT;
	for (dirs = dirs != NULL ? dirs : "/usr/bin:/bin"; *dirs != '\0';
	    dirs = *end != '\0' ? end + 1 : end) {
		end = strchrnul(dirs, ':');
		n = (size_t)(end - dirs);
		if (snprintf(path, PATH_MAX, "%.*s%s%s", (int)n, dirs,
		    n > 0 ? "/" : "", prog) >= PATH_MAX || !is_file(path))
			continue;
		if (access(path, X_OK) == 0)
			return 0;
		found = EACCES;
	}
	return found;
}

/* Whether the ELF file fd has no program interpreter (PT_INTERP), so
 * the kernel starts it without ld.so: 1, 0, or -1 when it is not a
 * 64-bit ELF file (a script: its interpreter decides). */
static int
elf_static(int fd)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	int i;

	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(ph))
		return -1;
	for (i = 0; i < eh.e_phnum; i++) {
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff +
		    (Elf64_Off)i * sizeof(ph))) != (ssize_t)sizeof(ph))
			return -1;
		if (ph.p_type == PT_INTERP)
			return 0;
	}
	return 1;
}

/*
 * Why no LD_PRELOAD can reach program prog, or NULL when one can (or the
 * program cannot be looked at: execvp then says why).  The kernel runs a
 * set-user-ID or set-group-ID file that changes our ids, or one with file
 * capabilities, in secure-execution mode, where ld.so ignores the
 * preload (unless the mount is nosuid); a file with no PT_INTERP has no
 * ld.so at all.  The one detection of these cases: run and trace say so,
 * and refuse a policy layer.
 */
static const char *
unpreloadable(const char *prog)
{
	char path[PATH_MAX];
	const char *why = NULL;
	struct statvfs vfs;
	struct stat st;
	int fd;

	if (find_program(prog, path) != 0 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	if (fstat(fd, &st) != 0)
		goto out;
	if (fstatvfs(fd, &vfs) != 0 || !(vfs.f_flag & ST_NOSUID)) {
		if ((st.st_mode & S_ISUID) && st.st_uid != geteuid())
			why = "is set-user-ID";
		else if ((st.st_mode & S_ISGID) && st.st_gid != getegid())
			why = "is set-group-ID";
		else if (fgetxattr(fd, "security.capability", NULL, 0) >= 0)
			why = "has file capabilities";
	}
	if (why == NULL && elf_static(fd) == 1)
		why = "is statically linked";
out:
	close(fd);
	return why;
}

/* A WSPSHIM_LAYERS element for s: ',' and '\' escaped. */
static void
add_layer_elem(char *out, size_t *n, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == ',' || *s == '\\')
			out[(*n)++] = '\\';
		out[(*n)++] = *s;
	}
}

/*
 * 0 when prog may run with the layers WSPSHIM_LAYERS names: each passes
 * check_layer_list; a program the preload cannot reach is said on stderr,
 * and refused (EXIT_USAGE) with a policy layer, which would silently not
 * apply.  Else the exit status, after one line.
 */
static int
check_run(const char *prog, const char *lib)
{
	const char *spec = getenv("WSPSHIM_LAYERS"), *why;
	int rc, policy = 0;

	if (spec != NULL && (rc = check_layer_list(spec, lib, &policy)) != 0)
		return rc;
	if ((why = unpreloadable(prog)) == NULL)
		return 0;
	if (policy) {
		warnx_("%s %s: it would run without the shim and the policy "
		    "layer would not apply; not running it", prog, why);
		return EXIT_USAGE;
	}
	warnx_("%s %s: it runs without the shim, so no layer sees its "
	    "socket calls", prog, why);
	return 0;
}

/* The exit status of "wspshim run" when the program cannot be executed
 * (otherwise it does not return). */
static int
cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "layer", required_argument, NULL, 'l' },
		{ "library", required_argument, NULL, 'L' },
		{ "catalog", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *given = NULL, *lib, *old, **l;
	char *layers = NULL, *preload = NULL;
	size_t len = 1, n = 0;
	int c, i, nl = 0, e;

	if ((l = calloc((size_t)argc, sizeof(*l))) == NULL) {
		warnx_("out of memory");
		return 1;
	}
	while ((c = getopt_long(argc, argv, "+l:h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (*optarg == '\0' || *optarg == ':') {
				free(l);
				return usage_error(usage_run, "-l needs a "
				    "layer name");
			}
			len += 2 * strlen(optarg) + 1;
			l[nl++] = optarg;
			break;
		case 'L':
			given = optarg;
			break;
		case 'c':
			catalog_opt = optarg;
			break;
		case 'h':
			free(l);
			return show_help(usage_run);
		default:
			free(l);
			return usage_error(usage_run, "bad option (put -- "
			    "before the program)");
		}
	}
	if (optind == argc) {
		free(l);
		return usage_error(usage_run, "no program given");
	}
	if ((lib = find_library(given)) == NULL) {
		warnx_("cannot find libwspshim.so%s%s", given ? " at " : "",
		    given ? given : " (build it, or give --library FILE)");
		goto fail;
	}
	if (strpbrk(lib, " \t\n:") != NULL) {
		warnx_("%s cannot go in LD_PRELOAD (a space or colon in the "
		    "path)", lib);
		goto fail;
	}
	if (nl > 0) {
		if ((layers = malloc(len)) == NULL)
			goto nomem;
		for (i = 0; i < nl; i++) {
			if (i > 0)
				layers[n++] = ',';
			add_layer_elem(layers, &n, l[i]);
		}
		layers[n] = '\0';
		if (setenv("WSPSHIM_LAYERS", layers, 1) != 0)
			goto nomem;
	}
	/* Every layer the program will get, checked before it runs. */
	if ((e = check_run(argv[optind], lib)) != 0) {
		free(layers);
		free(l);
		return e;
	}
	/* Then each -l layer started once in a child, so that one that
	 * crashes in its start is refused before the program runs. */
	for (i = 0; i < nl; i++) {
		char lname[256];

		snprintf(lname, sizeof(lname), "%.*s",
		    (int)strcspn(l[i], ":"), l[i]);
		if ((e = trial_start(lib, l[i], lname)) != 0) {
			free(layers);
			free(l);
			return e;
		}
	}
	if (catalog_opt != NULL || catalog_where != 0) {
		if (pick_catalog() != 0)
			goto fail;
		if (setenv("WSPSHIM_CATALOG", catalog_file, 1) != 0)
			goto nomem;
	}
	old = getenv("LD_PRELOAD");
	if (asprintf(&preload, "%s%s%s", lib, old != NULL && *old != '\0' ?
	    ":" : "", old != NULL ? old : "") < 0) {
		preload = NULL;
		goto nomem;
	}
	if (setenv("LD_PRELOAD", preload, 1) != 0)
		goto nomem;
	free(preload);
	free(layers);
	free(l);
	execvp(argv[optind], argv + optind);
	e = errno;
	warnx_("%s: %s", argv[optind], strerror(e));
	return e == ENOENT ? 127 : 126;
nomem:
	warnx_("%s", strerror(errno ? errno : ENOMEM));
fail:
	free(preload);
	free(layers);
	free(l);
	return 1;
}

/* --- trace ---------------------------------------------------------------- */

/* Append s to the buffer *out (of *size, *n used), growing it: 0 or -1. */
static int
buf_add(char **out, size_t *size, size_t *n, const char *s, int escape)
{
	size_t need = *n + 2 * strlen(s) + 1;
	char *p;

	if (need > *size) {
		if ((p = realloc(*out, need * 2)) == NULL)
			return -1;
		*out = p;
		*size = need * 2;
	}
	if (escape)
		add_layer_elem(*out, n, s);
	else {
		memcpy(*out + *n, s, strlen(s));
		*n += strlen(s);
	}
	(*out)[*n] = '\0';
	return 0;
}

/* Whether s is a plain descriptor list: digits and commas. */
static int
is_fd_list(const char *s)
{
	return *s != '\0' && strspn(s, "0123456789,") == strlen(s) &&
	    s[0] != ',' && s[strlen(s) - 1] != ',';
}

/*
 * The exit status of "wspshim trace" when the program cannot be executed
 * (otherwise it does not return): the trace layer's parameters from the
 * options, WSPSHIM_LAYERS with it on top of (or below) the other layers,
 * then "run".
 */
static int
cmd_trace(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "fd", required_argument, NULL, 'F' },
		{ "position", required_argument, NULL, 'P' },
		{ "layer", required_argument, NULL, 'l' },
		{ "library", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char *params = NULL, *layers = NULL, **rargv = NULL, *end;
	const char *out = NULL, *calls = NULL, *fds = NULL, *lib = NULL;
	const char *strsize = NULL, *old, **l = NULL;
	size_t psize = 0, pn = 0, lsize = 0, ln = 0;
	int c, i, nl = 0, t = 0, r = 0, f = 0, T = 0, v = 0, bottom = 0, rc;

	if ((l = calloc((size_t)argc, sizeof(*l))) == NULL ||
	    (rargv = calloc((size_t)argc + 4, sizeof(*rargv))) == NULL) {
		warnx_("out of memory");
		rc = 1;
		goto done;
	}
	while ((c = getopt_long(argc, argv, "+o:ftrTvs:e:l:h", opts,
	    NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'f':
			f = 1;
			break;
		case 't':
			t++;
			break;
		case 'r':
			r = 1;
			break;
		case 'T':
			T = 1;
			break;
		case 'v':
			v = 1;
			break;
		case 's':
			if (strtol(optarg, &end, 10) < 0 || end == optarg ||
			    *end != '\0') {
				rc = usage_error(usage_trace, "-s takes a "
				    "number");
				goto done;
			}
			strsize = optarg;
			break;
		case 'e':
			calls = strncmp(optarg, "trace=", 6) == 0 ?
			    optarg + 6 : optarg;
			if (*calls == '\0') {
				rc = usage_error(usage_trace, "-e takes call "
				    "names");
				goto done;
			}
			break;
		case 'F':
			if (!is_fd_list(optarg)) {
				rc = usage_error(usage_trace, "--fd takes "
				    "descriptor numbers");
				goto done;
			}
			fds = optarg;
			break;
		case 'P':
			if (strcmp(optarg, "top") != 0 &&
			    strcmp(optarg, "bottom") != 0) {
				rc = usage_error(usage_trace, "--position is "
				    "top or bottom");
				goto done;
			}
			bottom = strcmp(optarg, "bottom") == 0;
			break;
		case 'l':
			if (*optarg == '\0' || *optarg == ':') {
				rc = usage_error(usage_trace, "-l needs a "
				    "layer name");
				goto done;
			}
			l[nl++] = optarg;
			break;
		case 'L':
			lib = optarg;
			break;
		case 'h':
			rc = show_help(usage_trace);
			goto done;
		default:
			rc = usage_error(usage_trace, "bad option (put -- "
			    "before the program)");
			goto done;
		}
	}
	if (optind == argc) {
		rc = usage_error(usage_trace, "no program given");
		goto done;
	}
	if (t > 0 && r) {
		rc = usage_error(usage_trace, "-r and -t do not go together");
		goto done;
	}
	if (out != NULL && (rc = check_trace_out(out)) != 0)
		goto done;
	/* The trace layer's parameters: KEY=VALUE;... */
	if (buf_add(&params, &psize, &pn, "trace:", 0) != 0)
		goto nomem;
	if (out != NULL && (buf_add(&params, &psize, &pn, "out=", 0) != 0 ||
	    buf_add(&params, &psize, &pn, out, 0) != 0 ||
	    buf_add(&params, &psize, &pn, ";", 0) != 0))
		goto nomem;
	if ((f && buf_add(&params, &psize, &pn, "f;", 0) != 0) ||
	    (t == 1 && buf_add(&params, &psize, &pn, "t;", 0) != 0) ||
	    (t == 2 && buf_add(&params, &psize, &pn, "tt;", 0) != 0) ||
	    (t > 2 && buf_add(&params, &psize, &pn, "ttt;", 0) != 0) ||
	    (r && buf_add(&params, &psize, &pn, "r;", 0) != 0) ||
	    (T && buf_add(&params, &psize, &pn, "T;", 0) != 0) ||
	    (v && buf_add(&params, &psize, &pn, "v;", 0) != 0))
		goto nomem;
	if (strsize != NULL && (buf_add(&params, &psize, &pn, "s=", 0) != 0 ||
	    buf_add(&params, &psize, &pn, strsize, 0) != 0 ||
	    buf_add(&params, &psize, &pn, ";", 0) != 0))
		goto nomem;
	if (calls != NULL && (buf_add(&params, &psize, &pn, "e=", 0) != 0 ||
	    buf_add(&params, &psize, &pn, calls, 0) != 0 ||
	    buf_add(&params, &psize, &pn, ";", 0) != 0))
		goto nomem;
	if (fds != NULL && (buf_add(&params, &psize, &pn, "fd=", 0) != 0 ||
	    buf_add(&params, &psize, &pn, fds, 0) != 0 ||
	    buf_add(&params, &psize, &pn, ";", 0) != 0))
		goto nomem;
	/* WSPSHIM_LAYERS: the trace element (escaped) and the others. */
	if (!bottom && buf_add(&layers, &lsize, &ln, params, 1) != 0)
		goto nomem;
	old = getenv("WSPSHIM_LAYERS");
	for (i = 0; i < nl; i++)
		if ((ln > 0 && buf_add(&layers, &lsize, &ln, ",", 0) != 0) ||
		    buf_add(&layers, &lsize, &ln, l[i], 1) != 0)
			goto nomem;
	if (nl == 0 && old != NULL && *old != '\0' &&
	    ((ln > 0 && buf_add(&layers, &lsize, &ln, ",", 0) != 0) ||
	    buf_add(&layers, &lsize, &ln, old, 0) != 0))
		goto nomem;
	if (bottom && ((ln > 0 && buf_add(&layers, &lsize, &ln, ",", 0) != 0) ||
	    buf_add(&layers, &lsize, &ln, params, 1) != 0))
		goto nomem;
	if (setenv("WSPSHIM_LAYERS", layers, 1) != 0)
		goto nomem;
	/* Then "run [--library FILE] -- PROGRAM ARGS...". */
	i = 0;
	rargv[i++] = (char *)"run";
	if (lib != NULL) {
		rargv[i++] = (char *)"--library";
		rargv[i++] = (char *)lib;
	}
	rargv[i++] = (char *)"--";
	memcpy(rargv + i, argv + optind, (size_t)(argc - optind) *
	    sizeof(*rargv));
	i += argc - optind;
	rargv[i] = NULL;
	free(params);
	free(layers);
	free(l);
	optind = 0;
	rc = cmd_run(i, rargv);
	free(rargv);
	return rc;
nomem:
	warnx_("out of memory");
	rc = 1;
done:
	free(params);
	free(layers);
	free(l);
	free(rargv);
	return rc;
}

/* --- tracecmp ------------------------------------------------------------- */

/*
 * 0 when the PROGRAM of a tracecmp command line (after "--", or the first
 * word that is not an option) can be executed, saying on stderr when the
 * preload cannot reach it (then no call can match); else 127 (not found)
 * or 126, as "run" and env(1) exit, after one line.  strace says "Can't
 * stat" and exits 1, but 1 is tracecmp's "the traces differ".
 */
static int
check_tracecmp_program(int argc, char **argv)
{
	static const char *const with_arg[] = { "-s", "-i", "-l", "--keep",
	    "--timeout", "--library" };
	char path[PATH_MAX];
	const char *prog = NULL, *why;
	size_t k;
	int i, e;

	for (i = 1; i < argc && prog == NULL; i++) {
		if (strcmp(argv[i], "--") == 0) {
			prog = i + 1 < argc ? argv[i + 1] : NULL;
			break;
		}
		if (argv[i][0] != '-') {
			prog = argv[i];
			break;
		}
		for (k = 0; k < sizeof(with_arg) / sizeof(with_arg[0]); k++)
			if (strcmp(argv[i], with_arg[k]) == 0)
				i++;
	}
	if (prog == NULL)
		return 0;		/* the usage error is tracecmp's */
	if ((e = find_program(prog, path)) != 0) {
		warnx_("%s: %s", prog, e == ENOENT && strchr(prog, '/') ==
		    NULL ? "command not found" : strerror(e));
		return e == ENOENT ? 127 : 126;
	}
	if ((why = unpreloadable(prog)) != NULL)
		warnx_("%s %s: it runs without the shim, so the trace layer "
		    "sees none of its calls and none can match", prog, why);
	return 0;
}

/*
 * The exit status of "wspshim tracecmp" when its Python program cannot be
 * executed (otherwise it does not return): wspshim-tracecmp from beside
 * this program, told where this program and the library are.
 */
static int
cmd_tracecmp(int argc, char **argv)
{
	char self[PATH_MAX], script[PATH_MAX + 32], *slash, **nargv;
	const char *given = NULL, *lib;
	ssize_t n;
	int i, j;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0)
			return show_help(usage_tracecmp);
		if (strcmp(argv[i], "--library") == 0 && i + 1 < argc)
			given = argv[i + 1];
	}
	if ((i = check_tracecmp_program(argc, argv)) != 0)
		return i;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0 || (self[n] = '\0', slash = strrchr(self, '/')) == NULL) {
		warnx_("cannot find this program's directory");
		return 1;
	}
	*slash = '\0';
	snprintf(script, sizeof(script), "%s/wspshim-tracecmp", self);
	if ((lib = find_library(given)) == NULL) {
		warnx_("cannot find libwspshim.so (build it, or give "
		    "--library FILE)");
		return 1;
	}
	if ((nargv = calloc((size_t)argc + 6, sizeof(*nargv))) == NULL) {
		warnx_("out of memory");
		return 1;
	}
	j = 0;
	nargv[j++] = (char *)"python3";
	nargv[j++] = script;
	nargv[j++] = (char *)"--tool";
	snprintf(self + strlen(self), sizeof(self) - strlen(self),
	    "/wspshim");
	nargv[j++] = self;
	if (given == NULL) {
		nargv[j++] = (char *)"--library";
		nargv[j++] = (char *)lib;
	}
	for (i = 1; i < argc; i++)
		nargv[j++] = argv[i];
	nargv[j] = NULL;
	execvp("python3", nargv);
	warnx_("python3: %s", strerror(errno));
	free(nargv);
	return errno == ENOENT ? 127 : 126;
}

/* --- main ----------------------------------------------------------------- */

static const struct {
	const char	*name;
	int		(*fn)(int, char **);
	const char	*usage;
} commands[] = {
	{ "catalog", cmd_catalog, usage_catalog },
	{ "install", cmd_install, usage_install },
	{ "remove", cmd_remove, usage_remove },
	{ "order", cmd_order, usage_order },
	{ "run", cmd_run, usage_run },
	{ "trace", cmd_trace, usage_trace },
	{ "tracecmp", cmd_tracecmp, usage_tracecmp },
};

#define NCOMMANDS	(sizeof(commands) / sizeof(commands[0]))

/* The exit status of "wspshim help [COMMAND]". */
static int
cmd_help(int argc, char **argv)
{
	size_t i;

	if (argc < 2)
		return show_help(usage_main);
	if (strcmp(argv[1], "help") == 0)
		return show_help(usage_help);
	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return show_help(commands[i].usage);
	return usage_error(usage_main, "unknown command: %s", argv[1]);
}

/* 0 once catalog_file names the file to act on (--catalog FILE, else
 * --user or --system, else the rules), or 1 after the message. */
static int
pick_catalog(void)
{
	int n, where = catalog_where;

	if (catalog_opt != NULL)
		where = 'c';
	switch (where) {
	case 'c':
		n = snprintf(catalog_file, sizeof(catalog_file), "%s",
		    catalog_opt);
		break;
	case 'u':
		if (catfile_user_path(catalog_file,
		    sizeof(catalog_file)) != 0) {
			warnx_("--user: no per-user file (HOME is not set, "
			    "or the path is too long)");
			return 1;
		}
		n = 0;
		break;
	case 's':
		n = snprintf(catalog_file, sizeof(catalog_file), "%s",
		    catfile_system_path());
		break;
	default:
		n = catfile_locate(catalog_file, sizeof(catalog_file),
		    catfile_mode()) == 0 ? 0 : -1;
		break;
	}
	if (n < 0 || (size_t)n >= sizeof(catalog_file) ||
	    catalog_file[0] == '\0') {
		warnx_("the catalog file path is empty or too long");
		return 1;
	}
	return 0;
}

/* The exit status of the command line. */
int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "catalog", required_argument, NULL, 'c' },
		{ "user", no_argument, NULL, 'u' },
		{ "system", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	size_t i;
	int c, where = 0, rc;

	libc_init();
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			catalog_opt = optarg;
			break;
		case 'u':
		case 's':
			if (where != 0 && where != c)
				return usage_error(usage_main, "--user and "
				    "--system do not go together");
			where = c;
			break;
		case 'h':
			return show_help(usage_main);
		default:
			return usage_error(usage_main, "bad option");
		}
	}
	if (optind == argc)
		return usage_error(usage_main, "no command given");
	argc -= optind;
	argv += optind;
	if (strcmp(argv[0], "help") == 0)
		return cmd_help(argc, argv);
	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[0], commands[i].name) == 0)
			break;
	if (i == NCOMMANDS)
		return usage_error(usage_main, "unknown command: %s", argv[0]);
	cmdname = commands[i].name;
	catalog_where = where;
	optind = 0;
	rc = commands[i].fn(argc, argv);
	return rc;
}
