/*
 * fuzz_catfile - the catalog file parser (spi/catfile.c).
 *
 * Any input: catfile_parse either fails with WSANO_RECOVERY and a message
 * or succeeds.  A text it accepts must survive a round trip: formatted
 * back (catfile_format) and parsed again it must parse, and format to the
 * very same text.
 */
#include "fuzz.h"

#include "catfile.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct catalog_edit ed, ed2;
	struct catfile_error err;
	char *t1, *t2;
	size_t n1, n2;
	int rc;

	rc = catfile_parse((const char *)data, size, &ed, &err);
	if (rc != 0) {
		FZ_CHECK(rc == WSANO_RECOVERY || rc == WSAENOBUFS);
		FZ_CHECK(err.msg[0] != '\0');
		return 0;
	}
	t1 = catfile_format(&ed.cat, ed.next_id, &n1);
	FZ_CHECK(t1 != NULL && strlen(t1) == n1);
	rc = catfile_parse(t1, n1, &ed2, &err);
	if (rc != 0)
		fprintf(stderr, "the formatted text does not parse: %s\n%s",
		    err.msg, t1);
	FZ_CHECK(rc == 0);
	FZ_CHECK(ed2.cat.count == ed.cat.count && ed2.next_id == ed.next_id);
	t2 = catfile_format(&ed2.cat, ed2.next_id, &n2);
	FZ_CHECK(t2 != NULL && n2 == n1 && memcmp(t1, t2, n1) == 0);
	free(t1);
	free(t2);
	catedit_free(&ed);
	catedit_free(&ed2);
	return 0;
}
