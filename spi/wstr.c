/*
 * wstr.c - UTF-8 <-> UTF-16 for protocol names, provider paths and
 * address strings.
 *
 * A small converter written for the purpose rather than iconv(3): glibc's
 * iconv allocates, may load gconv modules with dlopen, and depends on the
 * locale, none of which is welcome inside a preloaded library that runs in
 * other people's constructors and signal handlers.  The cases here (well-
 * formed UTF-8 per Unicode 15, table 3-7, and UTF-16 with surrogate pairs)
 * fit in a page.
 *
 * Ill-formed input never fails: each maximal subpart of an ill-formed UTF-8
 * sequence, and each unpaired surrogate, becomes one U+FFFD.  Output is
 * cut before a character that does not fit whole, so a surrogate pair or a
 * UTF-8 sequence is never split, and it is always terminated; the return
 * value is the size the whole string needs, so a caller can retry.
 */
#include <stddef.h>
#include <stdint.h>

#include "wstr.h"

#define WSTR_REPLACEMENT	0xFFFDu

/* Whether b is a UTF-8 continuation byte within [lo, hi]. */
static int
wstr_cont(unsigned char b, unsigned char lo, unsigned char hi)
{
	return b >= lo && b <= hi;
}

/*
 * The code point that starts at *sp, advancing *sp past it.  Returns
 * U+FFFD for an ill-formed sequence, consuming its maximal subpart (at
 * least one byte, never the terminator).
 */
static uint32_t
wstr_decode8(const unsigned char **sp)
{
	const unsigned char *s = *sp;
	unsigned char lo = 0x80, hi = 0xBF;
	uint32_t cp;
	int more, i;

	if (s[0] < 0x80) {
		*sp = s + 1;
		return s[0];
	}
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		more = 1;
		cp = s[0] & 0x1F;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		more = 2;
		cp = s[0] & 0x0F;
		if (s[0] == 0xE0)
			lo = 0xA0;	/* no overlong forms */
		else if (s[0] == 0xED)
			hi = 0x9F;	/* no surrogates */
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		more = 3;
		cp = s[0] & 0x07;
		if (s[0] == 0xF0)
			lo = 0x90;	/* no overlong forms */
		else if (s[0] == 0xF4)
			hi = 0x8F;	/* nothing above U+10FFFF */
	} else {
		/* A stray continuation byte, C0, C1 or F5..FF. */
		*sp = s + 1;
		return WSTR_REPLACEMENT;
	}
	for (i = 1; i <= more; i++) {
		/* The terminator is no continuation byte: we stop on it. */
		if (!wstr_cont(s[i], lo, hi)) {
			*sp = s + i;
			return WSTR_REPLACEMENT;
		}
		cp = (cp << 6) | (s[i] & 0x3F);
		lo = 0x80;
		hi = 0xBF;
	}
	*sp = s + i;
	return cp;
}

/* The code point that starts at *sp, advancing *sp past it (U+FFFD for an
 * unpaired surrogate, which consumes one unit). */
static uint32_t
wstr_decode16(const WCHAR **sp)
{
	const WCHAR *s = *sp;

	*sp = s + 1;
	if (s[0] < 0xD800 || s[0] > 0xDFFF)
		return s[0];
	if (s[0] <= 0xDBFF && s[1] >= 0xDC00 && s[1] <= 0xDFFF) {
		*sp = s + 2;
		return 0x10000 + (((uint32_t)s[0] - 0xD800) << 10) +
		    ((uint32_t)s[1] - 0xDC00);
	}
	return WSTR_REPLACEMENT;
}

/* The number of UTF-8 bytes cp takes, written to out (room for 4). */
static size_t
wstr_encode8(uint32_t cp, unsigned char *out)
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xC0 | (cp >> 6));
		out[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xE0 | (cp >> 12));
		out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (unsigned char)(0xF0 | (cp >> 18));
	out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

/* The number of UTF-16 units cp takes, written to out (room for 2). */
static size_t
wstr_encode16(uint32_t cp, WCHAR *out)
{
	if (cp < 0x10000) {
		out[0] = (WCHAR)cp;
		return 1;
	}
	cp -= 0x10000;
	out[0] = (WCHAR)(0xD800 + (cp >> 10));
	out[1] = (WCHAR)(0xDC00 + (cp & 0x3FF));
	return 2;
}

/* The length of s in code units, terminator excluded; 0 for NULL. */
size_t
wstr_len(const WCHAR *s)
{
	size_t n = 0;

	if (s == NULL)
		return 0;
	while (s[n] != 0)
		n++;
	return n;
}

/* The UTF-16 units the whole of src needs, terminator excluded. */
size_t
wstr_from_utf8(WCHAR *dst, size_t cap, const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t need = 0, used = 0, n, i;
	int full = 0;
	WCHAR u[2];

	if (dst == NULL)
		cap = 0;
	if (s == NULL)
		s = (const unsigned char *)"";
	while (*s != 0) {
		n = wstr_encode16(wstr_decode8(&s), u);
		need += n;
		if (full || cap == 0 || cap - 1 - used < n) {
			full = 1;	/* a prefix, never a split pair */
			continue;
		}
		for (i = 0; i < n; i++)
			dst[used++] = u[i];
	}
	if (cap > 0)
		dst[used] = 0;
	return need;
}

/* The UTF-8 bytes the whole of src needs, terminator excluded. */
size_t
wstr_to_utf8(char *dst, size_t cap, const WCHAR *src)
{
	const WCHAR *s = src;
	static const WCHAR empty[1];
	size_t need = 0, used = 0, n, i;
	unsigned char b[4];
	int full = 0;

	if (dst == NULL)
		cap = 0;
	if (s == NULL)
		s = empty;
	while (*s != 0) {
		n = wstr_encode8(wstr_decode16(&s), b);
		need += n;
		if (full || cap == 0 || cap - 1 - used < n) {
			full = 1;	/* a prefix, never a split sequence */
			continue;
		}
		for (i = 0; i < n; i++)
			dst[used++] = (char)b[i];
	}
	if (cap > 0)
		dst[used] = '\0';
	return need;
}
