/*
 * test_wstr.c - UTF-8 <-> UTF-16 conversion: round trips, ill-formed
 * input, truncation and sizing.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <iconv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wstr.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define SENTINEL	0x5A5A

/* Whether the first n units of a and b agree and a is terminated at n. */
static int
units_eq(const WCHAR *a, const WCHAR *b, size_t n)
{
	return memcmp(a, b, n * sizeof(WCHAR)) == 0 && a[n] == 0;
}

Test(wstr, len_counts_units)
{
	static const WCHAR s[] = { 'a', 0xD83D, 0xDE00, 'b', 0 };

	cr_assert_eq(wstr_len(s), 4);
	cr_assert_eq(wstr_len(s + 4), 0);
	cr_assert_eq(wstr_len(NULL), 0);
}

Test(wstr, ascii_round_trip)
{
	const char *src = "wspshim [TCP/IP] ~!\x7f";
	WCHAR w[64];
	char back[64];
	size_t i, n;

	n = wstr_from_utf8(w, NELEM(w), src);
	cr_assert_eq(n, strlen(src));
	for (i = 0; i < n; i++)
		cr_assert_eq(w[i], (unsigned char)src[i], "unit %zu", i);
	cr_assert_eq(w[n], 0);
	cr_assert_eq(wstr_to_utf8(back, sizeof(back), w), n);
	cr_assert_str_eq(back, src);
}

Test(wstr, bmp_round_trip)
{
	/* e-acute (2 bytes), euro sign (3), CJK (3), U+FFFF (3). */
	const char *src = "\xc3\xa9\xe2\x82\xac\xe6\x97\xa5\xef\xbf\xbf";
	static const WCHAR want[] = { 0x00E9, 0x20AC, 0x65E5, 0xFFFF };
	WCHAR w[16];
	char back[32];

	cr_assert_eq(wstr_from_utf8(w, NELEM(w), src), NELEM(want));
	cr_assert(units_eq(w, want, NELEM(want)));
	cr_assert_eq(wstr_to_utf8(back, sizeof(back), w), strlen(src));
	cr_assert_str_eq(back, src);
}

Test(wstr, astral_uses_surrogate_pairs)
{
	/* U+10000, U+1F600, U+10FFFF. */
	const char *src = "\xf0\x90\x80\x80\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf";
	static const WCHAR want[] = {
		0xD800, 0xDC00, 0xD83D, 0xDE00, 0xDBFF, 0xDFFF
	};
	WCHAR w[16];
	char back[32];

	cr_assert_eq(wstr_from_utf8(w, NELEM(w), src), NELEM(want));
	cr_assert(units_eq(w, want, NELEM(want)));
	cr_assert_eq(wstr_to_utf8(back, sizeof(back), w), strlen(src));
	cr_assert_str_eq(back, src);
}

struct lone_case {
	WCHAR	in[4];
	char	want[16];
};

ParameterizedTestParameters(wstr, lone_surrogate_becomes_fffd)
{
	static struct lone_case cases[] = {
		{ { 0xD800, 'a', 0 }, "\xef\xbf\xbd" "a" },
		{ { 0xDC00, 0 }, "\xef\xbf\xbd" },
		{ { 'a', 0xD83D, 0 }, "a\xef\xbf\xbd" },
		{ { 0xDE00, 0xD83D, 0 }, "\xef\xbf\xbd\xef\xbf\xbd" },
		{ { 0xDC00, 0xDC00, 0 }, "\xef\xbf\xbd\xef\xbf\xbd" },
		{ { 0xDBFF, 0xDBFF, 0xDFFF, 0 },
		    "\xef\xbf\xbd\xf4\x8f\xbf\xbf" },
	};

	return cr_make_param_array(struct lone_case, cases, NELEM(cases));
}

ParameterizedTest(struct lone_case *c, wstr, lone_surrogate_becomes_fffd)
{
	char out[32];

	cr_assert_eq(wstr_to_utf8(out, sizeof(out), c->in), strlen(c->want));
	cr_assert_str_eq(out, c->want);
}

/*
 * Parameters hold arrays, not pointers: Criterion re-executes the binary
 * for each test, so addresses in the parent's image mean nothing there.
 */
struct bad8_case {
	char		in[8];
	WCHAR		want[8];
	size_t		n;
};

#define R	0xFFFD

ParameterizedTestParameters(wstr, bad_utf8_maximal_subparts)
{
	static struct bad8_case cases[] = {
		{ "\x80", { R }, 1 },
		{ "\xbf" "a", { R, 'a' }, 2 },
		{ "\xc0\xaf", { R, R }, 2 },		/* overlong */
		{ "\xc1\xbf", { R, R }, 2 },
		{ "\xe0\x80\xaf", { R, R, R }, 3 },
		{ "\xed\xa0\x80", { R, R, R }, 3 },		/* D800 */
		{ "\xf0\x80\x80\x80", { R, R, R, R }, 4 },
		{ "\xf4\x90\x80\x80", { R, R, R, R }, 4 },
		{ "\xf5\x80", { R, R }, 2 },
		{ "\xff\xfe", { R, R }, 2 },
		{ "\xe2\x82", { R }, 1 },		/* cut at the end */
		{ "\xe2\x82" "A", { R, 'A' }, 2 },
		{ "\xf0\x9f\x98" "x", { R, 'x' }, 2 },
		{ "a\xc3", { 'a', R }, 2 },
		{ "\xc3\xa9\xa9", { 0x00E9, R }, 2 },
		{ "\xc2\x80", { 0x0080 }, 1 },		/* smallest 2-byte */
		{ "\xed\x9f\xbf", { 0xD7FF }, 1 },	/* under surrogates */
		{ "\xee\x80\x80", { 0xE000 }, 1 },	/* above them */
	};

	return cr_make_param_array(struct bad8_case, cases, NELEM(cases));
}

ParameterizedTest(struct bad8_case *c, wstr, bad_utf8_maximal_subparts)
{
	WCHAR w[16];
	size_t n;

	n = wstr_from_utf8(w, NELEM(w), c->in);
	cr_assert_eq(n, c->n, "needs %zu units, want %zu", n, c->n);
	cr_assert(units_eq(w, c->want, c->n));
}

struct cut16_case {
	char		in[8];
	size_t		cap;
	size_t		need;
	WCHAR		want[8];	/* terminated */
};

ParameterizedTestParameters(wstr, from_utf8_truncates_whole_chars)
{
	static struct cut16_case cases[] = {
		{ "abc", 4, 3, { 'a', 'b', 'c', 0 } },
		{ "abc", 3, 3, { 'a', 'b', 0 } },
		{ "abc", 1, 3, { 0 } },
		{ "a\xf0\x9f\x98\x80", 4, 3, { 'a', 0xD83D, 0xDE00, 0 } },
		{ "a\xf0\x9f\x98\x80", 3, 3, { 'a', 0 } },	/* no half */
		{ "a\xf0\x9f\x98\x80", 2, 3, { 'a', 0 } },
		/* A prefix: the 'b' that would fit is not written. */
		{ "\xf0\x9f\x98\x80" "b", 2, 3, { 0 } },
		{ "", 1, 0, { 0 } },
	};

	return cr_make_param_array(struct cut16_case, cases, NELEM(cases));
}

ParameterizedTest(struct cut16_case *c, wstr, from_utf8_truncates_whole_chars)
{
	WCHAR w[16];
	size_t i;

	for (i = 0; i < NELEM(w); i++)
		w[i] = SENTINEL;
	cr_assert_eq(wstr_from_utf8(w, c->cap, c->in), c->need);
	cr_assert(units_eq(w, c->want, wstr_len(c->want)));
	for (i = c->cap; i < NELEM(w); i++)
		cr_assert_eq(w[i], SENTINEL, "wrote past cap at %zu", i);
}

struct cut8_case {
	WCHAR		in[8];
	size_t		cap;
	size_t		need;
	char		want[8];
};

ParameterizedTestParameters(wstr, to_utf8_truncates_whole_sequences)
{
	static struct cut8_case cases[] = {
		{ { 'a', 0x00E9, 0 }, 4, 3, "a\xc3\xa9" },
		{ { 'a', 0x00E9, 0 }, 3, 3, "a" },
		{ { 0x20AC, 'x', 0 }, 3, 4, "" },
		{ { 0x20AC, 'x', 0 }, 4, 4, "\xe2\x82\xac" },
		{ { 0xD83D, 0xDE00, 0 }, 4, 4, "" },
		{ { 0xD83D, 0xDE00, 0 }, 5, 4, "\xf0\x9f\x98\x80" },
		{ { 'a', 'b', 0 }, 1, 2, "" },
	};

	return cr_make_param_array(struct cut8_case, cases, NELEM(cases));
}

ParameterizedTest(struct cut8_case *c, wstr, to_utf8_truncates_whole_sequences)
{
	char out[16];
	size_t i;

	memset(out, SENTINEL & 0xff, sizeof(out));
	cr_assert_eq(wstr_to_utf8(out, c->cap, c->in), c->need);
	cr_assert_str_eq(out, c->want);
	for (i = c->cap; i < sizeof(out); i++)
		cr_assert_eq(out[i], SENTINEL & 0xff, "wrote past cap at %zu",
		    i);
}

Test(wstr, zero_cap_writes_nothing)
{
	WCHAR w[2] = { SENTINEL, SENTINEL };
	char c[2] = { 'z', 'z' };
	static const WCHAR abc[] = { 'a', 'b', 'c', 0 };

	cr_assert_eq(wstr_from_utf8(w, 0, "abc"), 3);
	cr_assert_eq(w[0], SENTINEL);
	cr_assert_eq(wstr_to_utf8(c, 0, abc), 3);
	cr_assert_eq(c[0], 'z');
}

Test(wstr, null_dst_measures_and_null_src_is_empty)
{
	static const WCHAR pair[] = { 0xD83D, 0xDE00, 0 };
	WCHAR w[2] = { SENTINEL, SENTINEL };
	char c[2] = { 'z', 'z' };

	cr_assert_eq(wstr_from_utf8(NULL, 10, "\xf0\x9f\x98\x80"), 2);
	cr_assert_eq(wstr_to_utf8(NULL, 10, pair), 4);
	cr_assert_eq(wstr_from_utf8(w, 2, NULL), 0);
	cr_assert_eq(w[0], 0);
	cr_assert_eq(wstr_to_utf8(c, 2, NULL), 0);
	cr_assert_eq(c[0], '\0');
}

/*
 * Every Unicode scalar value (U+0001..U+10FFFF less the surrogates) in one
 * string: UTF-16 -> UTF-8 must equal glibc's iconv output byte for byte,
 * and converting back must give the original units.
 */
Test(wstr, every_scalar_value_agrees_with_iconv)
{
	size_t nunits = 0, need8, need16, inleft, outleft, i;
	WCHAR *w, *back;
	unsigned char *le;
	char *u8, *ref, *in, *out;
	uint32_t cp;
	iconv_t cd;

	w = malloc(2 * 0x110000 * sizeof(WCHAR) + sizeof(WCHAR));
	cr_assert_not_null(w);
	for (cp = 1; cp <= 0x10FFFF; cp++) {
		if (cp >= 0xD800 && cp <= 0xDFFF)
			continue;
		if (cp < 0x10000) {
			w[nunits++] = (WCHAR)cp;
		} else {
			w[nunits++] = (WCHAR)(0xD800 + ((cp - 0x10000) >> 10));
			w[nunits++] = (WCHAR)(0xDC00 + (cp & 0x3FF));
		}
	}
	w[nunits] = 0;

	need8 = wstr_to_utf8(NULL, 0, w);
	u8 = malloc(need8 + 1);
	cr_assert_not_null(u8);
	cr_assert_eq(wstr_to_utf8(u8, need8 + 1, w), need8);

	/* The reference, from little-endian bytes whatever the host. */
	le = malloc(nunits * 2);
	ref = malloc(need8 + 16);
	cr_assert(le != NULL && ref != NULL);
	for (i = 0; i < nunits; i++) {
		le[2 * i] = (unsigned char)(w[i] & 0xff);
		le[2 * i + 1] = (unsigned char)(w[i] >> 8);
	}
	cd = iconv_open("UTF-8", "UTF-16LE");
	cr_assert(cd != (iconv_t)-1);
	in = (char *)le;
	inleft = nunits * 2;
	out = ref;
	outleft = need8 + 16;
	cr_assert_neq(iconv(cd, &in, &inleft, &out, &outleft), (size_t)-1);
	iconv_close(cd);
	cr_assert_eq(inleft, 0);
	cr_assert_eq((size_t)(out - ref), need8);
	cr_assert(memcmp(u8, ref, need8) == 0);

	back = malloc((nunits + 1) * sizeof(WCHAR));
	cr_assert_not_null(back);
	need16 = wstr_from_utf8(back, nunits + 1, u8);
	cr_assert_eq(need16, nunits);
	cr_assert(units_eq(back, w, nunits));

	free(back);
	free(ref);
	free(le);
	free(u8);
	free(w);
}
