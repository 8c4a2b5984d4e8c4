/*
 * nearest.c - "did you mean ...?" for a misspelt word: the command and
 * the layers' parameter checks (WSPShimCheckParams) share this one
 * helper, so every message suggests the same way.
 */
#include <string.h>

#include "export.h"
#include "wspshim/ws2spi.h"

#define NEAREST_MAX	64	/* longer words get no suggestion */

/* The edit distance (insertions, deletions, substitutions and swaps of
 * two neighbours) between a and b, or NEAREST_MAX when either is longer
 * than that. */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t d[NEAREST_MAX + 1][NEAREST_MAX + 1];
	size_t la = strlen(a), lb = strlen(b), i, j, v;

	if (la > NEAREST_MAX || lb > NEAREST_MAX)
		return NEAREST_MAX;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++)
		for (j = 1; j <= lb; j++) {
			v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	return d[la][lb];
}

WSPSHIM_EXPORT const char *WSPAPI
WSPShimNearestWord(const char *lpszWord, const char *const *lpszWords,
    size_t cWords)
{
	const char *best = NULL;
	size_t i, d, bestd, limit;

	if (lpszWord == NULL || lpszWords == NULL || *lpszWord == '\0')
		return NULL;
	/* Close enough to be a slip: a third of the word, at least one. */
	limit = strlen(lpszWord) / 3 > 0 ? strlen(lpszWord) / 3 : 1;
	bestd = limit + 1;
	for (i = 0; i < cWords; i++) {
		if (lpszWords[i] == NULL)
			continue;
		d = edit_distance(lpszWord, lpszWords[i]);
		if (d > 0 && d < bestd) {
			best = lpszWords[i];
			bestd = d;
		}
	}
	return best;
}
