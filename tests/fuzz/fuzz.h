/*
 * fuzz.h - what the libFuzzer targets share (tests/fuzz/README.md).
 *
 * Each target defines LLVMFuzzerTestOneInput.  Input is consumed front to
 * back with the fz_* readers, which return zeros once it runs out, so
 * every input, short or long, is a valid run.  A target checks a property
 * (a round trip, a model, an invariant) with FZ_CHECK, which aborts with
 * the failed condition: libFuzzer then saves the input as a crash.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz {
	const uint8_t	*p;
	size_t		n;
};

/* The next byte, or 0 when the input is used up. */
static inline uint8_t
fz_u8(struct fz *f)
{
	if (f->n == 0)
		return 0;
	f->n--;
	return *f->p++;
}

/* The next 4 bytes, little-endian. */
static inline uint32_t
fz_u32(struct fz *f)
{
	uint32_t v = 0;
	int i;

	for (i = 0; i < 4; i++)
		v |= (uint32_t)fz_u8(f) << (8 * i);
	return v;
}

/* Copy up to n bytes of the input into dst, zero-filling the rest. */
static inline void
fz_bytes(struct fz *f, void *dst, size_t n)
{
	size_t k = n < f->n ? n : f->n;

	memcpy(dst, f->p, k);
	memset((char *)dst + k, 0, n - k);
	f->p += k;
	f->n -= k;
}

/* The rest of the input as a NUL-terminated string (malloc'd; NUL bytes
 * inside end it early, as they would for any C caller). */
static inline char *
fz_str(struct fz *f)
{
	char *s = malloc(f->n + 1);

	if (s == NULL)
		abort();
	memcpy(s, f->p, f->n);
	s[f->n] = '\0';
	f->p += f->n;
	f->n = 0;
	return s;
}

#define FZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,	\
		    __LINE__, #cond);					\
		abort();						\
	}								\
} while (0)

#endif
