/*
 * wstr.h - UTF-8 <-> UTF-16 (WCHAR) for names, paths and address strings.
 */
#ifndef WSPSHIM_WSTR_H
#define WSPSHIM_WSTR_H

#include <stddef.h>
#include <wspshim/winsock2.h>

/* Length of a terminated WCHAR string, in code units (0 for NULL). */
size_t wstr_len(const WCHAR *s);

/* Convert src into dst (cap code units, always terminated when cap > 0).
 * Returns the code units the whole string needs, terminator excluded; an
 * ill-formed sequence becomes U+FFFD.  A string cut to fit never ends in
 * half a surrogate pair.  dst NULL measures only; src NULL is "". */
size_t wstr_from_utf8(WCHAR *dst, size_t cap, const char *src);

/* Convert src into dst (cap bytes, always terminated when cap > 0).
 * Returns the bytes the whole string needs, terminator excluded; an
 * unpaired surrogate becomes U+FFFD.  A string cut to fit never ends in
 * part of a UTF-8 sequence.  dst NULL measures only; src NULL is "". */
size_t wstr_to_utf8(char *dst, size_t cap, const WCHAR *src);

#endif
