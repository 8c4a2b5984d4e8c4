/*
 * test_catfile.c - the catalog file: format round trips, escaping, corrupt
 * files and their line numbers, where the file is (secure execution
 * included, through the catfile_force_secure seam), start-up failing
 * closed, and the installer calls with their never-reused ids.
 *
 * Parameters hold arrays, not pointers: Criterion re-executes the binary
 * for each test, so addresses from the parent's image mean nothing there.
 * Each test works in its own temporary directory.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catfile.h"
#include "wstr.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static char tmpdir[PATH_MAX];
static char catpath[PATH_MAX];

/* Nothing: buf (PATH_MAX bytes) gets tmpdir/name. */
static void
path_in(char *buf, const char *name)
{
	cr_assert_lt(snprintf(buf, PATH_MAX, "%s/%s", tmpdir, name),
	    PATH_MAX);
}

/* Nothing: buf (PATH_MAX bytes) gets path and suffix. */
static void
path_plus(char *buf, const char *path, const char *suffix)
{
	cr_assert_lt(snprintf(buf, PATH_MAX, "%s%s", path, suffix), PATH_MAX);
}

/* A GUID that is n and zeroes. */
static GUID
guid(DWORD n)
{
	GUID g;

	memset(&g, 0, sizeof(g));
	g.Data1 = n;
	return g;
}

/* Nothing: a fresh directory for the test, and catpath inside it. */
static void
setup_dir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/catfile-test.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	cr_assert_not_null(mkdtemp(tmpdir));
	path_in(catpath, "sub/dir/catalog");
	unsetenv("WSPSHIM_CATALOG");
	unsetenv("WSPSHIM_FALLBACK");
	catfile_force_secure(0);
	catfile_set_path(catpath);
}

/* Nothing: removes the test's directory. */
static void
teardown_dir(void)
{
	char cmd[PATH_MAX + 16];

	catfile_set_path(NULL);
	catfile_force_secure(-1);
	catfile_force_root(-1);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		cr_log_warn("cannot remove %s", tmpdir);
}

/* Nothing: writes text to path. */
static void
put_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "fopen %s: %s", path, strerror(errno));
	cr_assert_eq(fwrite(text, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

/* The contents of path (malloc'd, terminated), or NULL. */
static char *
get_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *p;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	p = calloc(1, (size_t)n + 1);
	cr_assert_eq(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return p;
}

/* Nothing: sets a UTF-16 string from UTF-8. */
static void
wset(WCHAR *w, const char *s)
{
	wstr_from_utf8(w, WSAPROTOCOL_LEN + 1, s);
}

/* Nothing: zeroes the units after w's terminator. */
static void
terminate(WCHAR *w)
{
	size_t n = 0;

	while (n < WSAPROTOCOL_LEN && w[n] != 0)
		n++;
	memset(w + n, 0, (WSAPROTOCOL_LEN + 1 - n) * sizeof(*w));
}

/* Whether two catalogs hold the same entries, field for field. */
static void
assert_same(const struct catalog *a, const struct catalog *b)
{
	size_t i;

	cr_assert_eq(a->count, b->count, "%zu entries, not %zu", b->count,
	    a->count);
	for (i = 0; i < a->count; i++) {
		const struct catalog_entry *x = &a->entries[i];
		const struct catalog_entry *y = &b->entries[i];

		WSAPROTOCOL_INFOW xi = x->info, yi = y->info;

		/* What follows szProtocol's terminator means nothing. */
		terminate(xi.szProtocol);
		terminate(yi.szProtocol);
		cr_assert(memcmp(&xi, &yi, sizeof(xi)) == 0,
		    "entry %zu (%u): WSAPROTOCOL_INFOW differs", i,
		    x->info.dwCatalogEntryId);
		cr_assert_str_eq(x->path, y->path);
		if (x->params == NULL)
			cr_assert_null(y->params, "entry %zu has params", i);
		else
			cr_assert_str_eq(x->params, y->params);
	}
}

/* Nothing: format c, parse the text, and expect the same catalog and
 * counter, and the same text once more. */
static void
round_trip(const struct catalog *c, DWORD next_id)
{
	struct catfile_error err;
	struct catalog_edit ed;
	size_t len, len2;
	char *text, *text2;

	text = catfile_format(c, next_id, &len);
	cr_assert_not_null(text);
	cr_assert_eq(strlen(text), len);
	cr_assert_eq(catfile_parse(text, len, &ed, &err), 0, "%s\n%s",
	    err.msg, text);
	cr_assert_eq(ed.next_id, next_id);
	assert_same(c, &ed.cat);
	text2 = catfile_format(&ed.cat, ed.next_id, &len2);
	cr_assert_str_eq(text, text2);
	free(text);
	free(text2);
	catedit_free(&ed);
}

/* --- the format ----------------------------------------------------------- */

Test(format, builtin_round_trips)
{
	round_trip(catalog_builtin(), 1010);
}

/* Every field set to something other than its usual value, and strings
 * that need every kind of escape. */
Test(format, every_field_round_trips)
{
	static const GUID g = { 0xdeadbeef, 0x1234, 0xabcd,
	    { 0, 1, 2, 3, 0xfc, 0xfd, 0xfe, 0xff } };
	struct catalog_entry e[3];
	struct catalog c = { NELEM(e), e };
	WCHAR odd[] = { 'q', '"', '\\', '\n', '\t', 1, 0x7f, 0xe9, 0xd83d,
	    0xde00, 0xd800, 'x', 0xdc00, 0xffff, 0 };
	int i;

	memset(e, 0, sizeof(e));
	e[0].info.dwServiceFlags1 = 0xffffffff;
	e[0].info.dwServiceFlags2 = 2;
	e[0].info.dwServiceFlags3 = 3;
	e[0].info.dwServiceFlags4 = 0x80000000;
	e[0].info.dwProviderFlags = 0x1f;
	e[0].info.ProviderId = g;
	e[0].info.dwCatalogEntryId = 4000000000u;
	e[0].info.ProtocolChain.ChainLen = 1;
	e[0].info.ProtocolChain.ChainEntries[0] = 4000000000u;
	e[0].info.iVersion = -1;
	e[0].info.iAddressFamily = INT_MAX;
	e[0].info.iMaxSockAddr = INT_MIN;
	e[0].info.iMinSockAddr = 7;
	e[0].info.iSocketType = 5;
	e[0].info.iProtocol = -255;
	e[0].info.iProtocolMaxOffset = 255;
	e[0].info.iNetworkByteOrder = 1;
	e[0].info.iSecurityScheme = 42;
	e[0].info.dwMessageSize = MSG_SIZE_UNLIMITED;
	e[0].info.dwProviderReserved = 0x12345678;
	memcpy(e[0].info.szProtocol, odd, sizeof(odd));
	e[0].path = "/odd \"path\"\\with\nnewline\ttab\x01\x7f\xc3\xa9\xff\xfe";
	e[0].params = "a=1,b=\"two\"\\\x02 \xe2\x82\xac";

	/* A layered entry: its unused ChainEntries keep their values. */
	e[1] = e[0];
	e[1].info.dwCatalogEntryId = 7;
	e[1].info.ProtocolChain.ChainLen = 0;
	e[1].info.ProtocolChain.ChainEntries[0] = 0;
	e[1].info.ProtocolChain.ChainEntries[6] = 99;
	e[1].params = "";
	/* A chain of the longest kind, and a name of the longest kind. */
	e[2] = e[0];
	e[2].info.dwCatalogEntryId = 8;
	e[2].info.ProtocolChain.ChainLen = 7;
	for (i = 0; i < 6; i++)
		e[2].info.ProtocolChain.ChainEntries[i] = 7;
	e[2].info.ProtocolChain.ChainEntries[6] = 4000000000u;
	e[2].params = NULL;
	for (i = 0; i < WSAPROTOCOL_LEN; i++)
		e[2].info.szProtocol[i] = (WCHAR)(0x4e00 + i);
	e[2].info.szProtocol[WSAPROTOCOL_LEN] = 0;
	round_trip(&c, 4000000001u);
}

/* The escapes are the documented ones, and text that needs none is
 * written as it is. */
Test(format, escapes_are_the_documented_ones)
{
	struct catalog_entry e;
	struct catalog c = { 1, &e };
	WCHAR name[] = { 'a', '"', 0xe9, 0xd800, 7, 0 };
	size_t len;
	char *text;

	memset(&e, 0, sizeof(e));
	e.info.dwCatalogEntryId = 1001;
	e.info.ProtocolChain.ChainLen = 1;
	e.info.ProtocolChain.ChainEntries[0] = 1001;
	memcpy(e.info.szProtocol, name, sizeof(name));
	e.path = "/p q/\"x\"\\\n\t\r\x01\xff\xc3\xa9.so";
	e.params = "k=v";
	text = catfile_format(&c, 1002, &len);
	cr_assert_not_null(text);
	cr_expect_not_null(strstr(text, "\tszProtocol \"a\\\"\xc3\xa9\\ud800"
	    "\\u0007\"\n"), "%s", text);
	cr_expect_not_null(strstr(text, "\tpath \"/p q/\\\"x\\\"\\\\\\n\\t\\r"
	    "\\x01\\xff\xc3\xa9.so\"\n"), "%s", text);
	cr_expect_not_null(strstr(text, "\tparams \"k=v\"\n"), "%s", text);
	cr_expect_not_null(strstr(text, "\tProtocolChain 1 1001\n"));
	cr_expect_not_null(strstr(text, "\tProviderId "
	    "{00000000-0000-0000-0000-000000000000}\n"));
	cr_expect_eq(strncmp(strstr(text, "wspshim-catalog"),
	    "wspshim-catalog 1\nnext-id 1002\n", 30), 0);
	free(text);
}

/* Hand-written files may use hex anywhere, upper-case GUIDs, blank lines,
 * comments and indentation of any kind. */
Test(format, reader_takes_hand_written_variants)
{
	static const char text[] =
	    "# a comment\n\n   wspshim-catalog 1\n"
	    "next-id 0x3f0\n"
	    "entry 1001\n"
	    "  szProtocol \"h\\u00e9\"  \n"
	    "ProviderId 77737073-6869-4D01-9A5E-626173650001\n"
	    "path \"/x\"\n"
	    "\t# comment inside\n"
	    "ProtocolChain 1 1001\n dwServiceFlags1 0X1f\n dwServiceFlags2 0\n"
	    "dwServiceFlags3 0\ndwServiceFlags4 0\ndwProviderFlags 0\n"
	    "iVersion 0x2\niAddressFamily -0\niMaxSockAddr 16\n"
	    "iMinSockAddr 16\niSocketType 1\niProtocol 6\n"
	    "iProtocolMaxOffset 0\niNetworkByteOrder 0\niSecurityScheme 0\n"
	    "dwMessageSize 0\ndwProviderReserved 0\nend";
	struct catfile_error err;
	struct catalog_edit ed;

	cr_assert_eq(catfile_parse(text, strlen(text), &ed, &err), 0, "%s",
	    err.msg);
	cr_assert_eq(ed.next_id, 1008);
	cr_assert_eq(ed.cat.count, 1);
	cr_expect_eq(ed.e[0].info.szProtocol[1], 0xe9);
	cr_expect_eq(ed.e[0].info.dwServiceFlags1, 0x1f);
	cr_expect_eq(ed.e[0].info.iVersion, 2);
	cr_expect(memcmp(&ed.e[0].info.ProviderId, &catalog_base_guid,
	    sizeof(GUID)) == 0);
	cr_expect_null(ed.e[0].params);
	catedit_free(&ed);
}

/* --- corrupt files -------------------------------------------------------- */

/* A valid file of one base entry; the cases below change one line. */
static const char *const good_lines[] = {
	"wspshim-catalog 1",					/* 1 */
	"next-id 1003",						/* 2 */
	"",							/* 3 */
	"entry 1001",						/* 4 */
	"\tszProtocol \"base\"",				/* 5 */
	"\tProviderId {77737073-6869-4d01-9a5e-626173650001}",	/* 6 */
	"\tpath \"libwspshim.so\"",				/* 7 */
	"\tProtocolChain 1 1001",				/* 8 */
	"\tdwServiceFlags1 0x00020066",				/* 9 */
	"\tdwServiceFlags2 0",					/* 10 */
	"\tdwServiceFlags3 0",					/* 11 */
	"\tdwServiceFlags4 0",					/* 12 */
	"\tdwProviderFlags 0x8",				/* 13 */
	"\tiVersion 2",						/* 14 */
	"\tiAddressFamily 2",					/* 15 */
	"\tiMaxSockAddr 16",					/* 16 */
	"\tiMinSockAddr 16",					/* 17 */
	"\tiSocketType 1",					/* 18 */
	"\tiProtocol 6",					/* 19 */
	"\tiProtocolMaxOffset 0",				/* 20 */
	"\tiNetworkByteOrder 0",				/* 21 */
	"\tiSecurityScheme 0",					/* 22 */
	"\tdwMessageSize 0",					/* 23 */
	"\tdwProviderReserved 0",				/* 24 */
	"end",							/* 25 */
};

/* An entry over 1001 to append: its lines, with %s for ProtocolChain. */
#define LAYER_ENTRY(id, chain) \
	"\nentry " id "\n\tszProtocol \"l\"\n\tProviderId " \
	"{11111111-2222-3333-4444-555555555555}\n\tpath \"/l.so\"\n" \
	"\tProtocolChain " chain "\n\tdwServiceFlags1 0\n" \
	"\tdwServiceFlags2 0\n\tdwServiceFlags3 0\n\tdwServiceFlags4 0\n" \
	"\tdwProviderFlags 0\n\tiVersion 2\n\tiAddressFamily 2\n" \
	"\tiMaxSockAddr 16\n\tiMinSockAddr 16\n\tiSocketType 1\n" \
	"\tiProtocol 6\n\tiProtocolMaxOffset 0\n\tiNetworkByteOrder 0\n" \
	"\tiSecurityScheme 0\n\tdwMessageSize 0\n\tdwProviderReserved 0\n" \
	"end\n"

struct corrupt_case {
	int	replace;	/* line to replace (1-based); 0: append */
	char	with[640];	/* its new text (no newline: one line) */
	int	line;		/* the line the error names */
	char	says[64];	/* part of the message */
};

/* The good file with case k applied, in buf. */
static size_t
corrupt_text(const struct corrupt_case *k, char *buf, size_t size)
{
	size_t i, n = 0;

	for (i = 0; i < NELEM(good_lines); i++) {
		const char *l = (int)i + 1 == k->replace ? k->with :
		    good_lines[i];

		n += (size_t)snprintf(buf + n, size - n, "%s\n", l);
	}
	if (k->replace == 0)
		n += (size_t)snprintf(buf + n, size - n, "%s", k->with);
	return n;
}

ParameterizedTestParameters(corrupt, each_gives_its_error_and_line)
{
	static struct corrupt_case cases[] = {
		{ 1, "hello", 1, "not a libwspshim catalog file" },
		{ 1, "wspshim-catalog 2", 1, "newer than this library" },
		{ 1, "wspshim-catalog x", 1, "bad format version" },
		{ 2, "# no next-id", 25, "no next-id line" },
		{ 3, "next-id 1004", 3, "next-id given twice" },
		{ 2, "next-id 1001", 4, "not below next-id 1001" },
		{ 4, "entry 0", 4, "bad entry id" },
		{ 5, "\tszProtocol \"x", 5, "unterminated string" },
		{ 5, "\tszProtocol x", 5, "in double quotes" },
		{ 5, "\tszProtocol \"a\\qb\"", 5, "bad escape" },
		{ 5, "\tszProtocol \"a\\x41\"", 5, "bad escape" },
		{ 5, "\tszProtocol \"a\\u0000\"", 5, "bad escape" },
		{ 5, "\tszProtocol \"\xc3\x28\"", 5, "invalid UTF-8" },
		{ 5, "\tszProtocol \"\xed\xa0\x80\"", 5, "invalid UTF-8" },
		{ 5, "\tszProtocol \"a\" b", 5, "after the closing quote" },
		{ 5, "\tszProtocol \"a\tb\"", 5, "control character" },
		{ 5, "\tszProtocol \""
		    "0123456789012345678901234567890123456789012345678901234567"
		    "0123456789012345678901234567890123456789012345678901234567"
		    "0123456789012345678901234567890123456789012345678901234567"
		    "0123456789012345678901234567890123456789012345678901234567"
		    "0123456789012345678901234\"", 5, "longer than 255" },
		{ 5, "\tszProtocol", 5, "has no value" },
		{ 6, "\tProviderId {7773707-6869-4d01-9a5e-626173650001}", 6,
		    "bad GUID" },
		{ 6, "\tProviderId {77737073-6869-4d01-9a5e-62617365000g}", 6,
		    "bad GUID" },
		{ 7, "\tpath \"\"", 7, "empty provider path" },
		{ 7, "\tpath \"a\\x00b\"", 7, "bad escape" },
		{ 7, "\tpath \"a\\u0041\"", 7, "bad escape" },
		{ 7, "\tpath \"libwsp_x.so\"", 7, "path is not absolute" },
		{ 7, "\tpath \"./libwspshim.so\"", 7, "path is not absolute" },
		{ 8, "\tProtocolChain 8", 8, "length must be 0 to 7" },
		{ 8, "\tProtocolChain -1", 8, "length must be 0 to 7" },
		{ 8, "\tProtocolChain 2 1001", 8, "length 2 but 1 entries" },
		{ 8, "\tProtocolChain 1 1 2 3 4 5 6 7 8", 8, "more than 7" },
		{ 9, "\tdwServiceFlags1 4294967296", 9, "dwServiceFlags1: bad "
		    "number" },
		{ 9, "\tdwServiceFlags1 -1", 9, "bad number" },
		{ 9, "\tdwServiceFlags1 0x", 9, "bad number" },
		{ 9, "\tdwServiceFlags1 12ab", 9, "bad number" },
		{ 14, "\tiVersion 2147483648", 14, "iVersion: bad number" },
		{ 14, "\tiVersion -2147483649", 14, "bad number" },
		{ 14, "\tiVersion 2 3", 14, "bad number" },
		{ 14, "\tbogus 1", 14, "unknown key \"bogus\"" },
		{ 14, "# iVersion dropped", 4, "entry 1001 has no iVersion" },
		{ 15, "\tiVersion 2", 15, "iVersion given twice" },
		{ 25, "end now", 25, "text after \"end\"" },
		{ 25, "# no end", 4, "entry 1001 has no \"end\"" },
		{ 25, "entry 1002", 25, "has no \"end\"" },
		{ 3, "iVersion 2", 3, "iVersion outside an entry" },
		{ 3, "end", 3, "\"end\" outside an entry" },
		{ 0, "next-id 2000\n", 26, "next-id given twice" },
		{ 0, LAYER_ENTRY("1001", "0"), 27, "entry id 1001 used twice" },
		{ 0, LAYER_ENTRY("1002", "2 1002 1009"), 27,
		    "names entry 1009, which is not in the file" },
		{ 0, LAYER_ENTRY("1002", "2 1001 1002"), 27,
		    "does not end on a base entry" },
		{ 0, LAYER_ENTRY("1003", "0"), 27, "not below next-id 1003" },
	};

	return cr_make_param_array(struct corrupt_case, cases, NELEM(cases));
}

ParameterizedTest(struct corrupt_case *k, corrupt,
    each_gives_its_error_and_line)
{
	struct catfile_error err;
	struct catalog_edit ed;
	char text[8192];
	size_t n = corrupt_text(k, text, sizeof(text));

	cr_assert_eq(catfile_parse(text, n, &ed, &err), WSANO_RECOVERY,
	    "parsed:\n%s", text);
	cr_expect_eq(err.line, k->line, "line %d, not %d: %s", err.line,
	    k->line, err.msg);
	cr_expect_not_null(strstr(err.msg, k->says), "\"%s\" lacks \"%s\"",
	    err.msg, k->says);
}

Test(corrupt, the_unchanged_case_file_is_valid)
{
	struct corrupt_case k = { 100, "", 0, "" };
	struct catfile_error err;
	struct catalog_edit ed;
	char text[8192];
	size_t n = corrupt_text(&k, text, sizeof(text));

	cr_assert_eq(catfile_parse(text, n, &ed, &err), 0, "%s", err.msg);
	cr_assert_eq(ed.cat.count, 1);
	catedit_free(&ed);
}

Test(corrupt, a_nul_byte_names_its_line)
{
	static const char text[] = "wspshim-catalog 1\nnext-id 1\nx\0y\n";
	struct catfile_error err;
	struct catalog_edit ed;

	cr_assert_eq(catfile_parse(text, sizeof(text) - 1, &ed, &err),
	    WSANO_RECOVERY);
	cr_expect_eq(err.line, 3);
	cr_expect_not_null(strstr(err.msg, "NUL byte"));
}

Test(corrupt, an_empty_file_is_corrupt)
{
	struct catfile_error err;
	struct catalog_edit ed;

	cr_assert_eq(catfile_parse("", 0, &ed, &err), WSANO_RECOVERY);
	cr_expect_eq(err.line, 1);
	cr_expect_not_null(strstr(err.msg, "empty file"));
}

Test(corrupt, read_names_the_file_and_line, .init = setup_dir,
    .fini = teardown_dir)
{
	struct catfile_error err;
	struct catalog_edit ed;

	path_in(catpath, "catalog");
	put_file(catpath, "wspshim-catalog 1\nnext-id 5\nfoo\n", 32);
	cr_assert_eq(catfile_read(catpath, &ed, NULL, &err), WSANO_RECOVERY);
	cr_expect_eq(err.line, 3);
	cr_expect_not_null(strstr(err.msg, catpath), "%s", err.msg);
	cr_expect_not_null(strstr(err.msg, "line 3: unknown key"), "%s",
	    err.msg);
}

/* --- reading, missing and unreadable files -------------------------------- */

Test(read, missing_file_is_the_builtin_catalog, .init = setup_dir,
    .fini = teardown_dir)
{
	struct catfile_error err;
	struct catalog_edit ed;
	int missing = 0;

	cr_assert_eq(catfile_read(catpath, &ed, &missing, &err), 0, "%s",
	    err.msg);
	cr_expect_eq(missing, 1);
	assert_same(catalog_builtin(), &ed.cat);
	cr_expect_eq(ed.next_id, 1010);
	catedit_free(&ed);
	cr_expect_eq(catfile_startup_catalog(catpath, 0), catalog_builtin());
}

Test(read, a_directory_is_unreadable, .init = setup_dir,
    .fini = teardown_dir)
{
	struct catfile_error err;
	struct catalog_edit ed;

	cr_assert_eq(catfile_read(tmpdir, &ed, NULL, &err), WSAEACCES);
	cr_expect_not_null(strstr(err.msg, tmpdir));
}

Test(read, a_fifo_is_refused_without_waiting, .init = setup_dir,
    .fini = teardown_dir, .timeout = 10)
{
	struct catfile_error err;
	struct catalog_edit ed;

	path_in(catpath, "fifo");
	cr_assert_eq(mkfifo(catpath, 0600), 0);
	cr_assert_eq(catfile_read(catpath, &ed, NULL, &err), WSAEACCES);
	cr_expect_not_null(strstr(err.msg, "not a regular file"), "%s",
	    err.msg);
}

Test(read, written_file_reads_back, .init = setup_dir,
    .fini = teardown_dir)
{
	struct catfile_error err;
	struct catalog_edit ed, back;
	const struct catalog *c;
	GUID g = { 1, 2, 3, { 4 } };
	DWORD over[] = { 1001, 1005 }, id;

	cr_assert_eq(catedit_begin(&ed, catalog_builtin(), 1234), 0);
	cr_assert_eq(catedit_add_layer(&ed, &g, "/x.so", "x", "p=1", over, 2,
	    &id), 0);
	path_in(catpath, "catalog");
	cr_assert_eq(catfile_write(catpath, &ed, &err), 0, "%s", err.msg);
	cr_assert_eq(catfile_read(catpath, &back, NULL, &err), 0, "%s",
	    err.msg);
	assert_same(&ed.cat, &back.cat);
	cr_expect_eq(back.next_id, ed.next_id);
	c = catfile_startup_catalog(catpath, 0);
	assert_same(&ed.cat, c);
	catedit_free(&ed);
	catedit_free(&back);
}

/* --- where the file is ---------------------------------------------------- */

Test(locate, environment_then_user_then_system, .init = setup_dir,
    .fini = teardown_dir)
{
	char buf[PATH_MAX], user[PATH_MAX];

	setenv("XDG_CONFIG_HOME", tmpdir, 1);
	setenv("WSPSHIM_CATALOG", "/elsewhere/cat", 1);
	cr_assert_eq(catfile_locate(buf, sizeof(buf), 0), 0);
	cr_expect_str_eq(buf, "/elsewhere/cat");

	/* No per-user file: the system file. */
	unsetenv("WSPSHIM_CATALOG");
	cr_assert_eq(catfile_locate(buf, sizeof(buf), 0), 0);
	cr_expect_str_eq(buf, catfile_system_path());

	/* A per-user file: that one. */
	path_in(user, "wspshim");
	cr_assert_eq(mkdir(user, 0700), 0);
	path_in(user, "wspshim/catalog");
	put_file(user, "", 0);
	cr_assert_eq(catfile_locate(buf, sizeof(buf), 0), 0);
	cr_expect_str_eq(buf, user);

	/* HOME when XDG_CONFIG_HOME is relative. */
	setenv("XDG_CONFIG_HOME", "relative", 1);
	setenv("HOME", "/nonexistent-home", 1);
	cr_assert_eq(catfile_locate(buf, sizeof(buf), 0), 0);
	cr_expect_str_eq(buf, catfile_system_path());

	/* An empty WSPSHIM_CATALOG counts as unset. */
	setenv("WSPSHIM_CATALOG", "", 1);
	cr_assert_eq(catfile_locate(buf, sizeof(buf), 0), 0);
	cr_expect_str_eq(buf, catfile_system_path());

	/* Too long for the buffer. */
	setenv("WSPSHIM_CATALOG", "/a/very/long/path", 1);
	cr_expect_eq(catfile_locate(buf, 8, 0), -1);
}

/* Under secure execution neither WSPSHIM_CATALOG nor the per-user file
 * counts: only the system file. */
Test(locate, secure_execution_uses_only_the_system_file,
    .init = setup_dir, .fini = teardown_dir)
{
	char buf[PATH_MAX], user[PATH_MAX];

	setenv("WSPSHIM_CATALOG", "/elsewhere/cat", 1);
	cr_assert_eq(catfile_locate(buf, sizeof(buf), 1), 0);
	cr_expect_str_eq(buf, catfile_system_path());

	unsetenv("WSPSHIM_CATALOG");
	setenv("XDG_CONFIG_HOME", tmpdir, 1);
	path_in(user, "wspshim");
	cr_assert_eq(mkdir(user, 0700), 0);
	path_in(user, "wspshim/catalog");
	put_file(user, "", 0);
	cr_assert_eq(catfile_locate(buf, sizeof(buf), 1), 0);
	cr_expect_str_eq(buf, catfile_system_path());

	/* catfile_path follows the seam, too. */
	catfile_set_path(NULL);
	catfile_force_secure(1);
	setenv("WSPSHIM_CATALOG", "/elsewhere/cat", 1);
	cr_expect_str_eq(catfile_path(buf, sizeof(buf)),
	    catfile_system_path());
	catfile_force_secure(0);
	cr_expect_str_eq(catfile_path(buf, sizeof(buf)), "/elsewhere/cat");
	catfile_set_path("/given");
	cr_expect_str_eq(catfile_path(buf, sizeof(buf)), "/given");
}

/*
 * catfile_load under secure execution: WSPSHIM_CATALOG names a corrupt
 * file, which would fail closed, but is not even looked at; the system
 * file decides.  (Its contents on this machine are not ours to choose, so
 * the test only checks that the corrupt file had no say.)
 */
Test(locate, secure_load_ignores_the_environment, .init = setup_dir,
    .fini = teardown_dir)
{
	path_in(catpath, "bad");
	put_file(catpath, "garbage\n", 8);
	setenv("WSPSHIM_CATALOG", catpath, 1);
	setenv("WSPSHIM_LOG", "off", 1);
	catfile_force_secure(1);
	catalog_set_current(NULL);
	catfile_load(NULL);
	cr_expect_neq(catalog_current(), catfile_closed());

	catfile_force_secure(0);
	catalog_set_current(NULL);
	catfile_load(NULL);
	cr_expect_eq(catalog_current(), catfile_closed());

	/* WSPSHIM_FALLBACK is heeded only without secure execution. */
	setenv("WSPSHIM_FALLBACK", "1", 1);
	catalog_set_current(NULL);
	catfile_load(NULL);
	cr_expect_eq(catalog_current(), catalog_builtin());
	catalog_set_current(NULL);
}

/* --- start-up ------------------------------------------------------------ */

Test(startup, corrupt_file_fails_closed_and_fallback_opens,
    .init = setup_dir, .fini = teardown_dir)
{
	path_in(catpath, "bad");
	put_file(catpath, "wspshim-catalog 1\nbroken\n", 25);
	setenv("WSPSHIM_LOG", "off", 1);
	cr_expect_eq(catfile_startup_catalog(catpath, 0), catfile_closed());
	cr_expect_eq(catfile_startup_catalog(catpath, 1), catalog_builtin());
	cr_expect_eq(catfile_startup_catalog(NULL, 0), catfile_closed());
	cr_expect_eq(catfile_startup_catalog(tmpdir, 0), catfile_closed());
}

static DWORD told_id;
static char told_path[PATH_MAX];

/* Nothing: records what catfile_load told the loader. */
static void
record_unusable(DWORD id, const char *path)
{
	told_id = id;
	snprintf(told_path, sizeof(told_path), "%s", path);
}

/* Failing closed, the loader hears of the provider that cannot load, so
 * it does not try the file or log again; otherwise it hears nothing. */
Test(startup, load_tells_the_loader_when_closed, .init = setup_dir,
    .fini = teardown_dir)
{
	path_in(catpath, "bad");
	put_file(catpath, "junk\n", 5);
	setenv("WSPSHIM_CATALOG", catpath, 1);
	setenv("WSPSHIM_LOG", "off", 1);
	catalog_set_current(NULL);
	catfile_load(record_unusable);
	cr_assert_eq(catalog_current(), catfile_closed());
	cr_expect_eq(told_id, catfile_closed()->entries[0].info.
	    dwCatalogEntryId);
	cr_expect_eq(catfile_closed()->entries[0].info.ProtocolChain.ChainLen,
	    LAYERED_PROTOCOL);
	cr_expect_str_eq(told_path, CATFILE_CLOSED_PATH);

	told_id = 0;
	setenv("WSPSHIM_FALLBACK", "1", 1);
	catalog_set_current(NULL);
	catfile_load(record_unusable);
	cr_expect_eq(catalog_current(), catalog_builtin());
	cr_expect_eq(told_id, 0);
	catalog_set_current(NULL);
}

/* Every triple the built-in catalog takes selects a chain of the
 * fail-closed catalog whose top and base cannot load, and no entry names
 * the real base provider any more. */
Test(startup, closed_catalog_covers_every_builtin_socket)
{
	const struct catalog *b = catalog_builtin(), *c = catfile_closed();
	const struct catalog_entry *e, *top, *base;
	size_t i;

	cr_assert_eq(c->count, 2 * b->count + 1);
	for (i = 0; i < c->count; i++) {
		cr_expect(memcmp(&c->entries[i].info.ProviderId,
		    &catalog_base_guid, sizeof(GUID)) != 0);
		cr_expect_str_eq(c->entries[i].path, CATFILE_CLOSED_PATH);
	}
	for (i = 0; i < b->count; i++) {
		const WSAPROTOCOL_INFOW *p = &b->entries[i].info;

		cr_assert_eq(catalog_select(c, p->iAddressFamily,
		    p->iSocketType, p->iProtocol, &e), 0);
		cr_expect_eq(e->info.ProtocolChain.ChainLen, 2);
		top = catalog_by_id(c, e->info.ProtocolChain.ChainEntries[0]);
		cr_assert_not_null(top);
		cr_expect_eq(top->info.ProtocolChain.ChainLen,
		    LAYERED_PROTOCOL);
		base = catalog_base_of(c, e);
		cr_assert_not_null(base);
		cr_expect_eq(base->info.dwCatalogEntryId, p->dwCatalogEntryId);
	}
}

/* --- the installer calls -------------------------------------------------- */

/* The catalog in the file now, as an edit. */
static void
load(struct catalog_edit *ed)
{
	struct catfile_error err;

	cr_assert_eq(catfile_read(catpath, ed, NULL, &err), 0, "%s",
	    err.msg);
}

/* Whether any entry of ed has this id. */
static int
has_id(const struct catalog_edit *ed, DWORD id)
{
	return catalog_by_id(&ed->cat, id) != NULL;
}

Test(wsc, ids_are_never_reused_after_remove_and_install,
    .init = setup_dir, .fini = teardown_dir)
{
	struct catfile_error err;
	struct catalog_edit ed;
	GUID a = guid(0xa), b = guid(0xb);
	DWORD over[] = { 1001, 1002 }, id;

	cr_assert_eq(wsc_install_layer(catpath, &a, "/a.so", "a", 0, NULL,
	    over, 2, &id, &err), 0, "%s", err.msg);
	cr_expect_eq(id, 1010);
	cr_assert_eq(wsc_deinstall(catpath, &a, &err), 0, "%s", err.msg);
	load(&ed);
	cr_expect_eq(ed.next_id, 1013);
	cr_expect_not(has_id(&ed, 1010));
	catedit_free(&ed);

	cr_assert_eq(wsc_install_layer(catpath, &b, "/b.so", "b", 0, NULL,
	    over, 1, &id, &err), 0, "%s", err.msg);
	cr_expect_eq(id, 1013);
	cr_assert_eq(wsc_deinstall(catpath, &b, &err), 0);
	cr_assert_eq(wsc_install_layer(catpath, &a, "/a.so", "a", 0, NULL,
	    over, 1, &id, &err), 0, "%s", err.msg);
	cr_expect_eq(id, 1015);
	load(&ed);
	cr_expect_eq(ed.next_id, 1017);
	cr_expect(has_id(&ed, 1015) && has_id(&ed, 1016));
	catedit_free(&ed);
}

Test(wsc, install_provider_appends_with_new_ids, .init = setup_dir,
    .fini = teardown_dir)
{
	WSAPROTOCOL_INFOW list[2];
	struct catalog_edit ed;
	const struct catalog_entry *e;
	WCHAR path[] = u"/lsp.so";
	GUID g = guid(0x1234);
	int err = 0;

	memset(list, 0, sizeof(list));
	list[0] = catalog_builtin()->entries[0].info;
	list[0].ProtocolChain.ChainLen = LAYERED_PROTOCOL;
	wset(list[0].szProtocol, "lsp");
	list[1] = list[0];
	list[1].ProtocolChain.ChainLen = 2;
	list[1].ProtocolChain.ChainEntries[0] = 1002;	/* any known id */
	list[1].ProtocolChain.ChainEntries[1] = 1001;
	wset(list[1].szProtocol, "lsp over tcp");
	cr_assert_eq(WSCInstallProvider(&g, path, list, 2, &err), 0,
	    "error %d", err);
	load(&ed);
	cr_assert_eq(ed.cat.count, catalog_builtin()->count + 2);
	e = &ed.e[ed.cat.count - 2];
	cr_expect_eq(e->info.dwCatalogEntryId, 1010);
	cr_expect(memcmp(&e->info.ProviderId, &g, sizeof(g)) == 0);
	cr_expect_str_eq(e->path, "/lsp.so");
	cr_expect_eq(ed.e[ed.cat.count - 1].info.dwCatalogEntryId, 1011);
	cr_expect_eq(ed.next_id, 1012);
	catedit_free(&ed);

	/* The same GUID again is WSAEINVAL; NULLs are WSAEFAULT. */
	cr_expect_eq(WSCInstallProvider(&g, path, list, 1, &err),
	    SOCKET_ERROR);
	cr_expect_eq(err, WSAEINVAL);
	cr_expect_eq(WSCInstallProvider(NULL, path, list, 1, &err),
	    SOCKET_ERROR);
	cr_expect_eq(err, WSAEFAULT);
	cr_expect_eq(WSCInstallProvider(&g, NULL, list, 1, &err),
	    SOCKET_ERROR);
	cr_expect_eq(err, WSAEFAULT);
	cr_expect_eq(WSCInstallProvider(&g, path, NULL, 1, &err),
	    SOCKET_ERROR);
	cr_expect_eq(err, WSAEFAULT);

	/* A chain naming an entry that is not there is WSAEINVAL. */
	g.Data1++;
	list[1].ProtocolChain.ChainEntries[0] = 999;
	cr_expect_eq(WSCInstallProvider(&g, path, list + 1, 1, &err),
	    SOCKET_ERROR);
	cr_expect_eq(err, WSAEINVAL);
	/* Ending on something other than a base entry too. */
	list[1].ProtocolChain.ChainEntries[0] = 1001;
	list[1].ProtocolChain.ChainEntries[1] = 1010;
	cr_expect_eq(WSCInstallProvider(&g, path, list + 1, 1, &err),
	    SOCKET_ERROR);
	cr_expect_eq(err, WSAEINVAL);
}

Test(wsc, install_provider_refuses_an_entry_twice_in_a_chain,
    .init = setup_dir, .fini = teardown_dir)
{
	WSAPROTOCOL_INFOW c;
	struct catalog_edit ed;
	WCHAR path[] = u"/lsp.so";
	GUID g = guid(0x4321);
	int err = 0;

	/* [1010, 1010, 1001]: one layered entry at two positions, which no
	 * layer can tell apart; catedit_add_layer never makes one. */
	cr_assert_eq(wsc_install_layer(catpath, &g, "/l.so", "l", 0, NULL,
	    (DWORD[]){ 1001 }, 1, NULL, &(struct catfile_error){ 0 }), 0);
	memset(&c, 0, sizeof(c));
	c = catalog_builtin()->entries[0].info;
	c.ProtocolChain.ChainLen = 3;
	c.ProtocolChain.ChainEntries[0] = 1010;
	c.ProtocolChain.ChainEntries[1] = 1010;
	c.ProtocolChain.ChainEntries[2] = 1001;
	g.Data1++;
	cr_expect_eq(WSCInstallProvider(&g, path, &c, 1, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEINVAL);
	/* A base entry named twice is refused the same way. */
	c.ProtocolChain.ChainLen = 2;
	c.ProtocolChain.ChainEntries[0] = 1001;
	c.ProtocolChain.ChainEntries[1] = 1001;
	cr_expect_eq(WSCInstallProvider(&g, path, &c, 1, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEINVAL);
	load(&ed);
	cr_expect_eq(ed.cat.count, catalog_builtin()->count + 2,
	    "nothing written");
	catedit_free(&ed);
	/* [1010, 1001] is fine. */
	c.ProtocolChain.ChainEntries[0] = 1010;
	cr_expect_eq(WSCInstallProvider(&g, path, &c, 1, &err), 0,
	    "error %d", err);
}

Test(wsc, install_provider_and_chains_matches_protocols,
    .init = setup_dir, .fini = teardown_dir)
{
	WSAPROTOCOL_INFOW want[2];
	struct catalog_edit ed;
	const struct catalog_entry *l, *c;
	WCHAR path[] = u"/trace.so", name[] = u"trace";
	GUID g = guid(0x77);
	DWORD id = 0;
	int err = 0;

	memset(want, 0, sizeof(want));
	/* UDP over IPv6, and TCP over IPv4: by the triple only, as Windows
	 * picks them; the dwCatalogEntryId (UDP/IPv6's) is not looked at. */
	want[0].iAddressFamily = AF_INET6;
	want[0].iSocketType = SOCK_DGRAM;
	want[0].iProtocol = IPPROTO_UDP;
	want[1].iAddressFamily = AF_INET;
	want[1].iSocketType = SOCK_STREAM;
	want[1].iProtocol = IPPROTO_TCP;
	want[1].dwCatalogEntryId = 1005;
	cr_assert_eq(WSCInstallProviderAndChains(&g, path, name, 0, want, 2,
	    &id, &err), 0, "error %d", err);
	cr_expect_eq(id, 1010);
	load(&ed);
	l = catalog_by_id(&ed.cat, 1010);
	cr_assert_not_null(l);
	cr_expect_eq(l->info.ProtocolChain.ChainLen, LAYERED_PROTOCOL);
	cr_expect_eq(l->info.dwServiceFlags1 & XP1_IFS_HANDLES, 0);
	c = catalog_by_id(&ed.cat, 1011);
	cr_assert_not_null(c);
	cr_expect_eq(c->info.ProtocolChain.ChainEntries[1], 1005);
	cr_expect_eq(c->info.dwServiceFlags1 & XP1_IFS_HANDLES, 0);
	c = catalog_by_id(&ed.cat, 1012);
	cr_assert_not_null(c);
	cr_expect_eq(c->info.ProtocolChain.ChainEntries[1], 1001);
	cr_expect_eq(ed.e[0].info.dwCatalogEntryId, 1010, "chains go first");
	catedit_free(&ed);

	/* XP1_IFS_HANDLES keeps the flag; any other flag is WSAEINVAL. */
	g.Data1++;
	cr_assert_eq(WSCInstallProviderAndChains(&g, path, name,
	    XP1_IFS_HANDLES, want + 1, 1, NULL, &err), 0, "error %d", err);
	load(&ed);
	cr_expect_neq(catalog_by_id(&ed.cat, 1014)->info.dwServiceFlags1 &
	    XP1_IFS_HANDLES, 0);
	catedit_free(&ed);
	g.Data1++;
	cr_expect_eq(WSCInstallProviderAndChains(&g, path, name,
	    XP1_CONNECTIONLESS, want, 1, NULL, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEINVAL);
	/* A chain id names nothing: only base entries are layered over. */
	want[0] = catalog_builtin()->entries[0].info;
	want[0].iSocketType = SOCK_RAW;
	want[0].iProtocol = 77;
	want[0].dwCatalogEntryId = 1001;
	cr_expect_eq(WSCInstallProviderAndChains(&g, path, name, 0, want, 1,
	    NULL, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEINVAL);
	/* A protocol nothing provides. */
	want[0].iProtocol = 99;
	cr_expect_eq(WSCInstallProviderAndChains(&g, path, name, 0, want, 1,
	    NULL, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEINVAL);
	cr_expect_eq(WSCInstallProviderAndChains(&g, path, NULL, 0, want, 1,
	    NULL, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEFAULT);
}

Test(wsc, deinstall_removes_the_chains_naming_it, .init = setup_dir,
    .fini = teardown_dir)
{
	struct catfile_error err;
	struct catalog_edit ed;
	GUID a = guid(0xa), b = guid(0xb);
	DWORD over[] = { 1001 }, la, lb;
	int e = 0;

	cr_assert_eq(wsc_install_layer(catpath, &a, "/a.so", "a", 0, NULL,
	    over, 1, &la, &err), 0);
	/* b over a's chain: [b, a, 1001]. */
	over[0] = la + 1;
	cr_assert_eq(wsc_install_layer(catpath, &b, "/b.so", "b", 0, NULL,
	    over, 1, &lb, &err), 0, "%s", err.msg);
	cr_assert_eq(WSCDeinstallProvider(&a, &e), 0, "error %d", e);
	load(&ed);
	cr_expect_not(has_id(&ed, la));
	cr_expect_not(has_id(&ed, la + 1));
	cr_expect_not(has_id(&ed, lb + 1), "b's chain named a");
	cr_expect(has_id(&ed, lb), "b's own entry stays");
	catedit_free(&ed);
	cr_expect_eq(WSCDeinstallProvider(&a, &e), SOCKET_ERROR);
	cr_expect_eq(e, WSAEINVAL);
	cr_expect_eq(WSCDeinstallProvider(NULL, &e), SOCKET_ERROR);
	cr_expect_eq(e, WSAEFAULT);
}

Test(wsc, write_provider_order_returns_the_code, .init = setup_dir,
    .fini = teardown_dir)
{
	DWORD ids[] = { 1009, 1003 }, bad[] = { 1001, 1001 }, unknown[] = { 5 };
	struct catalog_edit ed;

	cr_assert_eq(WSCWriteProviderOrder(ids, 2), 0);
	load(&ed);
	cr_expect_eq(ed.e[0].info.dwCatalogEntryId, 1009);
	cr_expect_eq(ed.e[1].info.dwCatalogEntryId, 1003);
	cr_expect_eq(ed.e[2].info.dwCatalogEntryId, 1001);
	catedit_free(&ed);
	cr_expect_eq(WSCWriteProviderOrder(bad, 2), WSAEINVAL);
	cr_expect_eq(WSCWriteProviderOrder(unknown, 1), WSAEINVAL);
	cr_expect_eq(WSCWriteProviderOrder(NULL, 1), WSAEFAULT);
}

Test(wsc, set_layer_params_reaches_the_chains, .init = setup_dir,
    .fini = teardown_dir)
{
	struct catfile_error err;
	struct catalog_edit ed;
	GUID a = guid(0xa);
	DWORD over[] = { 1001, 1002 }, id;
	int e = 0;

	cr_assert_eq(wsc_install_layer(catpath, &a, "/a.so", "a", 0, "old",
	    over, 2, &id, &err), 0);
	cr_assert_eq(WSPShimSetLayerParams(id, "new,\"x\"", &e), 0);
	load(&ed);
	cr_expect_str_eq(catalog_by_id(&ed.cat, id)->params, "new,\"x\"");
	cr_expect_str_eq(catalog_by_id(&ed.cat, id + 1)->params, "new,\"x\"");
	cr_expect_str_eq(catalog_by_id(&ed.cat, id + 2)->params, "new,\"x\"");
	cr_expect_null(catalog_by_id(&ed.cat, 1001)->params);
	catedit_free(&ed);
	cr_assert_eq(WSPShimSetLayerParams(id, "", &e), 0);
	load(&ed);
	cr_expect_null(catalog_by_id(&ed.cat, id)->params);
	catedit_free(&ed);
	cr_expect_eq(WSPShimSetLayerParams(4242, "x", &e), SOCKET_ERROR);
	cr_expect_eq(e, WSAEINVAL);
	cr_expect_eq(WSPShimSetLayerParams(id, NULL, &e), SOCKET_ERROR);
	cr_expect_eq(e, WSAEFAULT);
}

/* A file that cannot be written is WSAEACCES (a path through a regular
 * file works even for root); a corrupt one is WSANO_RECOVERY and stays as
 * it was. */
Test(wsc, unwritable_and_corrupt_files, .init = setup_dir,
    .fini = teardown_dir)
{
	char blocker[PATH_MAX], *before, *after;
	DWORD ids[] = { 1001 };
	GUID g = guid(1);
	int e = 0;

	setenv("WSPSHIM_LOG", "off", 1);
	path_in(blocker, "file");
	put_file(blocker, "x", 1);
	path_in(catpath, "file/catalog");
	catfile_set_path(catpath);
	cr_expect_eq(WSCWriteProviderOrder(ids, 1), WSAEACCES);
	cr_expect_eq(WSCDeinstallProvider(&g, &e), SOCKET_ERROR);
	cr_expect_eq(e, WSAEACCES);

	path_in(catpath, "catalog");
	catfile_set_path(catpath);
	put_file(catpath, "wspshim-catalog 1\nnonsense\n", 27);
	before = get_file(catpath);
	cr_expect_eq(WSCWriteProviderOrder(ids, 1), WSANO_RECOVERY);
	cr_expect_eq(WSPShimSetLayerParams(1001, "x", &e), SOCKET_ERROR);
	cr_expect_eq(e, WSANO_RECOVERY);
	after = get_file(catpath);
	cr_expect_str_eq(before, after);
	free(before);
	free(after);
}

/* The write is a rename of a finished file: nothing is left beside it but
 * the lock file, and the mode the file had is kept. */
Test(wsc, update_is_atomic_and_keeps_the_mode, .init = setup_dir,
    .fini = teardown_dir)
{
	char tmp[PATH_MAX], lock[PATH_MAX];
	DWORD ids[] = { 1002 };
	struct stat st;

	cr_assert_eq(WSCWriteProviderOrder(ids, 1), 0);
	cr_assert_eq(chmod(catpath, 0640), 0);
	cr_assert_eq(WSCWriteProviderOrder(ids, 1), 0);
	cr_assert_eq(stat(catpath, &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0640);
	path_plus(tmp, catpath, ".tmp");
	path_plus(lock, catpath, ".lock");
	cr_expect_neq(access(tmp, F_OK), 0);
	cr_expect_eq(access(lock, F_OK), 0);
}

/* --- what start-up trusts ------------------------------------------------- */

/* Nothing: the log goes to tmpdir/log (once per test process). */
static void
log_to_file(void)
{
	char log[PATH_MAX];

	path_in(log, "log");
	setenv("WSPSHIM_LOG", log, 1);
}

/* Whether the log holds exactly one line, and it has every one of the
 * NULL-terminated strings. */
static int
one_log_line_has(const char *first, ...)
{
	char log[PATH_MAX], text[4096];
	const char *s;
	va_list ap;
	FILE *f;
	size_t n;
	int ok = 1;

	path_in(log, "log");
	if ((f = fopen(log, "r")) == NULL)
		return 0;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	if (n == 0 || strchr(text, '\n') != text + n - 1) {
		cr_log_error("not one line: %s", text);
		return 0;
	}
	va_start(ap, first);
	for (s = first; s != NULL; s = va_arg(ap, const char *))
		if (strstr(text, s) == NULL) {
			cr_log_error("no \"%s\" in: %s", s, text);
			ok = 0;
		}
	va_end(ap);
	return ok;
}

/* Nothing: a valid catalog file (the built-in one and a layer) at
 * catpath, folders created 0755. */
static void
put_catalog(void)
{
	GUID g = guid(0x77);
	DWORD over[] = { 1001 }, id;
	struct catfile_error err;

	cr_assert_eq(wsc_install_layer(catpath, &g, "/l.so", "l", 0, NULL,
	    over, 1, &id, &err), 0, "%s", err.msg);
}

Test(trust, a_world_writable_file_fails_closed, .init = setup_dir,
    .fini = teardown_dir)
{
	put_catalog();
	log_to_file();
	cr_assert_eq(chmod(catpath, 0666), 0);
	cr_expect_eq(catfile_startup_catalog(catpath, 0), catfile_closed());
	cr_expect(one_log_line_has(catpath, "refused: it is writable by "
	    "others (mode 0666, owner 0)", "WSAEPROVIDERFAILEDINIT", NULL));
}

Test(trust, a_group_writable_folder_fails_closed, .init = setup_dir,
    .fini = teardown_dir)
{
	char dir[PATH_MAX];

	put_catalog();
	log_to_file();
	path_in(dir, "sub");
	cr_assert_eq(chmod(dir, 0775), 0);
	cr_expect_eq(catfile_startup_catalog(catpath, 0), catfile_closed());
	cr_expect(one_log_line_has(catpath, "the folder ", "/sub is writable "
	    "by its group (mode 0775", NULL));
}

/* A sticky folder (as /tmp) is fine: only an entry's owner may replace
 * it there. */
Test(trust, a_sticky_world_writable_folder_is_fine, .init = setup_dir,
    .fini = teardown_dir)
{
	char dir[PATH_MAX];
	const struct catalog *c;

	put_catalog();
	path_in(dir, "sub");
	cr_assert_eq(chmod(dir, 01777), 0);
	c = catfile_startup_catalog(catpath, 0);
	cr_expect(c != catfile_closed() && c != catalog_builtin());
}

/* Another user's file: refused for root (strict), and for anyone else
 * too (forced not root here: the test runs as root to chown). */
Test(trust, another_users_file_fails_closed, .init = setup_dir,
    .fini = teardown_dir)
{
	if (geteuid() != 0)
		cr_assert_fail("this check needs root (chown to another user)");
	put_catalog();
	log_to_file();
	cr_assert_eq(chown(catpath, 65534, 65534), 0);
	cr_expect_eq(catfile_startup_catalog(catpath, 0), catfile_closed());
	catfile_force_root(0);
	cr_expect_eq(catfile_startup_catalog(catpath, 1), catalog_builtin());
}

Test(trust, strict_trusts_only_roots_files, .init = setup_dir,
    .fini = teardown_dir)
{
	if (geteuid() != 0)
		cr_assert_fail("this check needs root (chown to another user)");
	put_catalog();
	log_to_file();
	cr_assert_eq(chown(catpath, 65534, 65534), 0);
	catfile_force_secure(1);
	cr_expect_eq(catfile_startup_catalog(catpath, 0), catfile_closed());
	cr_expect(one_log_line_has("is owned by user 65534 (mode 0644); a "
	    "root or secure-execution process trusts only root's files",
	    NULL));
}

/* A link is followed to the file, and the file's own folders are the
 * ones checked. */
Test(trust, a_symlink_to_a_good_file_is_followed, .init = setup_dir,
    .fini = teardown_dir)
{
	char link[PATH_MAX];
	const struct catalog *c;

	put_catalog();
	path_in(link, "link");
	cr_assert_eq(symlink(catpath, link), 0);
	c = catfile_startup_catalog(link, 0);
	cr_expect(c != catfile_closed() && c != catalog_builtin());
}

/* A root process never takes the per-user file (HOME may be anyone's);
 * WSPSHIM_CATALOG still counts, and a relative one is made absolute. */
Test(locate, root_ignores_the_per_user_file, .init = setup_dir,
    .fini = teardown_dir)
{
	char buf[PATH_MAX], user[PATH_MAX], cwd[PATH_MAX], want[PATH_MAX + 16];

	setenv("XDG_CONFIG_HOME", tmpdir, 1);
	path_in(user, "wspshim");
	cr_assert_eq(mkdir(user, 0700), 0);
	path_in(user, "wspshim/catalog");
	put_file(user, "", 0);
	cr_assert_eq(catfile_locate(buf, sizeof(buf), CATFILE_ROOT), 0);
	cr_expect_str_eq(buf, catfile_system_path());
	cr_assert_eq(catfile_locate(buf, sizeof(buf), 0), 0);
	cr_expect_str_eq(buf, user);

	setenv("WSPSHIM_CATALOG", "rel/cat", 1);
	cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
	snprintf(want, sizeof(want), "%s/rel/cat", cwd);
	cr_assert_eq(catfile_locate(buf, sizeof(buf), CATFILE_ROOT), 0);
	cr_expect_str_eq(buf, want);
}

/* The installer stores an absolute path: the parser refuses others. */
Test(wsc, install_makes_a_relative_path_absolute, .init = setup_dir,
    .fini = teardown_dir)
{
	char cwd[PATH_MAX], want[PATH_MAX + 32];
	struct catfile_error err;
	struct catalog_edit ed;
	DWORD over[] = { 1001 }, id;
	GUID g = guid(0x78);
	size_t i;
	int found = 0;

	cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
	snprintf(want, sizeof(want), "%s/no/such/libwsp_rel.so", cwd);
	cr_assert_eq(wsc_install_layer(catpath, &g, "no/such/libwsp_rel.so",
	    "rel", 0, NULL, over, 1, &id, &err), 0, "%s", err.msg);
	cr_assert_eq(catfile_read(catpath, &ed, NULL, &err), 0, "%s",
	    err.msg);
	for (i = 0; i < ed.cat.count; i++)
		if (ed.e[i].info.dwCatalogEntryId == id)
			found = strcmp(ed.e[i].path, want) == 0;
	cr_expect(found, "entry %u has path %s", id, want);
	catedit_free(&ed);
}

/* Install provider g with a layered entry and a chain over TCP (ids 1010
 * and 1011 in a fresh file) through WSCInstallProvider. */
static void
install_two(const GUID *g, WSAPROTOCOL_INFOW list[2])
{
	WCHAR path[] = u"/old.so";
	int err = 0;

	memset(list, 0, 2 * sizeof(*list));
	list[0] = catalog_builtin()->entries[0].info;
	list[0].ProtocolChain.ChainLen = LAYERED_PROTOCOL;
	wset(list[0].szProtocol, "u");
	cr_assert_eq(WSCInstallProvider((LPGUID)g, path, list, 1, &err), 0,
	    "error %d", err);
	list[0].dwCatalogEntryId = 1010;
	list[1] = catalog_builtin()->entries[0].info;
	list[1].ProtocolChain.ChainLen = 2;
	list[1].ProtocolChain.ChainEntries[0] = 1010;
	list[1].ProtocolChain.ChainEntries[1] = 1001;
	wset(list[1].szProtocol, "u over tcp");
}

Test(wsc, update_provider_replaces_entries_and_path, .init = setup_dir,
    .fini = teardown_dir)
{
	WSAPROTOCOL_INFOW list[2];
	struct catalog_edit ed;
	const struct catalog_entry *e;
	WCHAR path[] = u"/new.so";
	GUID g = guid(0x55), other = guid(0x56);
	int err = 0;

	install_two(&g, list);
	/* The layered entry gets a new name and flags; the path changes. */
	wset(list[0].szProtocol, "renamed");
	list[0].dwServiceFlags1 = XP1_GUARANTEED_DELIVERY;
	list[0].ProviderId = other;		/* not looked at */
	cr_assert_eq(WSCUpdateProvider(&g, path, list, 1, &err), 0,
	    "error %d", err);
	load(&ed);
	e = catalog_by_id(&ed.cat, 1010);
	cr_assert_not_null(e);
	cr_expect_str_eq(e->path, "/new.so");
	cr_expect_eq(e->info.dwServiceFlags1, XP1_GUARANTEED_DELIVERY);
	cr_expect(memcmp(&e->info.ProviderId, &g, sizeof(g)) == 0);
	cr_expect_eq(e->info.szProtocol[0], 'r');
	cr_expect_eq(ed.cat.count, catalog_builtin()->count + 1);
	catedit_free(&ed);

	/* Unknown GUID, a wrong count, an id of another provider, an id
	 * twice, a layered entry turned into a chain: WSAEINVAL. */
	cr_expect_eq(WSCUpdateProvider(&other, path, list, 1, &err),
	    SOCKET_ERROR);
	cr_expect_eq(err, WSAEINVAL);
	list[1] = list[0];
	cr_expect_eq(WSCUpdateProvider(&g, path, list, 2, &err),
	    SOCKET_ERROR);
	cr_expect_eq(err, WSAEINVAL);
	list[1].dwCatalogEntryId = 1001;
	cr_expect_eq(WSCUpdateProvider(&g, path, list + 1, 1, &err),
	    SOCKET_ERROR);
	cr_expect_eq(err, WSAEINVAL);
	list[0].ProtocolChain.ChainLen = 2;
	list[0].ProtocolChain.ChainEntries[0] = 1010;
	list[0].ProtocolChain.ChainEntries[1] = 1001;
	cr_expect_eq(WSCUpdateProvider(&g, path, list, 1, &err),
	    SOCKET_ERROR);
	cr_expect_eq(err, WSAEINVAL);
	cr_expect_eq(WSCUpdateProvider(&g, NULL, list, 1, &err),
	    SOCKET_ERROR);
	cr_expect_eq(err, WSAEFAULT);
	load(&ed);
	cr_expect_str_eq(catalog_by_id(&ed.cat, 1010)->path, "/new.so",
	    "a refused update writes nothing");
	catedit_free(&ed);
}

Test(wsc, the_64_32_and_32_forms_are_the_one_catalog, .init = setup_dir,
    .fini = teardown_dir)
{
	WSAPROTOCOL_INFOW want, list[2];
	WCHAR p64[] = u"/l64.so", p32[] = u"/l32.so", name[] = u"l";
	struct catalog_edit ed;
	GUID g = guid(0x64), h = guid(0x32);
	DWORD id = 0;
	int err = 0;

	memset(&want, 0, sizeof(want));
	want.iAddressFamily = AF_INET;
	want.iSocketType = SOCK_STREAM;
	want.iProtocol = IPPROTO_TCP;
	cr_expect_eq(WSCInstallProviderAndChains64_32(&g, p64, NULL, name, 0,
	    &want, 1, &id, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEFAULT);
	cr_assert_eq(WSCInstallProviderAndChains64_32(&g, p64, p32, name, 0,
	    &want, 1, &id, &err), 0, "error %d", err);
	cr_expect_eq(id, 1010);
	load(&ed);
	cr_expect_str_eq(catalog_by_id(&ed.cat, 1010)->path, "/l64.so");
	catedit_free(&ed);
	install_two(&h, list);		/* WSCInstallProvider: 1012 */
	cr_assert_eq(WSCInstallProvider64_32(&h, p64, list, 1, &err),
	    SOCKET_ERROR);
	cr_expect_eq(err, WSAEINVAL, "GUID installed already");
	cr_assert_eq(WSCDeinstallProvider32(&g, &err), 0, "error %d", err);
	cr_expect_eq(WSCDeinstallProvider32(&g, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEINVAL);
	load(&ed);
	cr_expect_not(has_id(&ed, 1010));
	cr_expect_not(has_id(&ed, 1011));
	cr_expect(has_id(&ed, 1012));
	catedit_free(&ed);
}

Test(wsc, provider_info_keeps_lsp_categories, .init = setup_dir,
    .fini = teardown_dir)
{
	WSAPROTOCOL_INFOW list[2];
	struct catalog_edit ed;
	DWORD cats = LSP_INSPECTOR | LSP_FIREWALL, got = 0;
	GUID g = guid(0xca7), none = guid(0xdead);
	size_t size = sizeof(got);
	int err = 0;

	install_two(&g, list);
	cr_assert_eq(WSCGetProviderInfo(&g, ProviderInfoLspCategories,
	    (PBYTE)&got, &size, 0, &err), 0, "error %d", err);
	cr_expect_eq(got, 0, "none until set");
	cr_assert_eq(WSCSetProviderInfo(&g, ProviderInfoLspCategories,
	    (PBYTE)&cats, sizeof(cats), 0, &err), 0, "error %d", err);
	size = 64;
	cr_assert_eq(WSCGetProviderInfo(&g, ProviderInfoLspCategories,
	    (PBYTE)&got, &size, 0, &err), 0, "error %d", err);
	cr_expect_eq(got, cats);
	cr_expect_eq(size, sizeof(DWORD));
	load(&ed);
	cr_expect_eq(catalog_by_id(&ed.cat, 1010)->lsp_categories, cats,
	    "kept in the file");
	catedit_free(&ed);

	/* A NULL buffer, or a short one: WSAEFAULT and the size. */
	size = 1;
	cr_expect_eq(WSCGetProviderInfo(&g, ProviderInfoLspCategories,
	    (PBYTE)&got, &size, 0, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEFAULT);
	cr_expect_eq(size, sizeof(DWORD));
	size = 0;
	cr_expect_eq(WSCGetProviderInfo(&g, ProviderInfoLspCategories, NULL,
	    &size, 0, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEFAULT);
	cr_expect_eq(size, sizeof(DWORD));
	/* Audit: not implemented, as on Windows; other classes, flags,
	 * sizes and bits: WSAEINVAL; an unknown GUID: WSAEINVALIDPROVIDER. */
	size = sizeof(got);
	cr_expect_eq(WSCGetProviderInfo(&g, ProviderInfoAudit, (PBYTE)&got,
	    &size, 0, &err), SOCKET_ERROR);
	cr_expect_eq(err, ERROR_CALL_NOT_IMPLEMENTED);
	cr_expect_eq(WSCSetProviderInfo(&g, ProviderInfoAudit, (PBYTE)&cats,
	    sizeof(cats), 0, &err), SOCKET_ERROR);
	cr_expect_eq(err, ERROR_CALL_NOT_IMPLEMENTED);
	cr_expect_eq(WSCGetProviderInfo(&g, (WSC_PROVIDER_INFO_TYPE)7,
	    (PBYTE)&got, &size, 0, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEINVAL);
	cr_expect_eq(WSCGetProviderInfo(&g, ProviderInfoLspCategories,
	    (PBYTE)&got, &size, 1, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEINVAL);
	cr_expect_eq(WSCSetProviderInfo(&g, ProviderInfoLspCategories,
	    (PBYTE)&cats, sizeof(cats) + 1, 0, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEINVAL);
	got = 0x100;
	cr_expect_eq(WSCSetProviderInfo(&g, ProviderInfoLspCategories,
	    (PBYTE)&got, sizeof(got), 0, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEINVAL);
	cr_expect_eq(WSCSetProviderInfo(&g, ProviderInfoLspCategories, NULL,
	    sizeof(cats), 0, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEFAULT);
	cr_expect_eq(WSCSetProviderInfo(&none, ProviderInfoLspCategories,
	    (PBYTE)&cats, sizeof(cats), 0, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEINVALIDPROVIDER);
	cr_expect_eq(WSCGetProviderInfo(&none, ProviderInfoLspCategories,
	    (PBYTE)&got, &size, 0, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEINVALIDPROVIDER);
	cr_expect_eq(WSCGetProviderInfo(NULL, ProviderInfoLspCategories,
	    (PBYTE)&got, &size, 0, &err), SOCKET_ERROR);
	cr_expect_eq(err, WSAEFAULT);
}
