/*
 * fuzz_addrstr - WSAStringToAddressA/W and WSAAddressToStringA/W (the
 * base provider's spi/addrstr.c, through the Winsock API of spi/wsa.c).
 *
 * The first byte picks the call and the family (AF_INET, AF_INET6, or
 * whatever the input says), the second the buffer size; the rest is the
 * string (A: bytes, W: 16-bit units) or the socket address bytes.
 * Properties: nothing crashes or writes past a buffer (ASan); a failure
 * is a documented code; a string that parses formats back to a string
 * that parses to the same address; a formatted address is terminated and
 * its reported length is exact (too small a buffer gets WSAEFAULT and the
 * length needed, which then succeeds).
 */
#include <netinet/in.h>
#include <sys/socket.h>

#include "fuzz.h"

#include <wspshim/winsock2.h>

/* Whether e is a code these calls document. */
static int
known_error(int e)
{
	return e == WSAEINVAL || e == WSAEFAULT || e == WSAEAFNOSUPPORT ||
	    e == WSAENOBUFS;
}

/* Format sa (len bytes) with the A call: 0 and out, or the error. */
static int
to_string_a(struct sockaddr *sa, DWORD len, char *out, DWORD cap)
{
	DWORD need = 1;
	char tiny[1];
	int e;

	/* Too small first: WSAEFAULT and the length needed. */
	if (WSAAddressToStringA(sa, len, NULL, tiny, &need) == 0)
		FZ_CHECK(need == 1 && tiny[0] == '\0');
	else if ((e = WSAGetLastError()) != WSAEFAULT || need <= 1)
		return e;
	if (need > cap)
		return WSAEFAULT;
	FZ_CHECK(WSAAddressToStringA(sa, len, NULL, out, &need) == 0);
	FZ_CHECK(strlen(out) + 1 == need);
	return 0;
}

/* The same with the W call; out as UTF-16 units. */
static int
to_string_w(struct sockaddr *sa, DWORD len, WCHAR *out, DWORD cap)
{
	DWORD need = cap, i;

	if (WSAAddressToStringW(sa, len, NULL, out, &need) != 0)
		return WSAGetLastError();
	FZ_CHECK(need >= 1 && need <= cap);
	for (i = 0; i < need - 1; i++)
		FZ_CHECK(out[i] != 0);
	FZ_CHECK(out[need - 1] == 0);
	return 0;
}

/* The string s parsed back must give the first len bytes of sa. */
static void
same_address(const char *s, int af, const struct sockaddr_storage *sa,
    int len)
{
	struct sockaddr_storage back;
	int blen = (int)sizeof(back);

	memset(&back, 0, sizeof(back));
	if (WSAStringToAddressA((LPSTR)s, af, NULL, (struct sockaddr *)&back,
	    &blen) != 0) {
		fprintf(stderr, "\"%s\" does not parse back: %d\n", s,
		    WSAGetLastError());
		abort();
	}
	FZ_CHECK(blen == len && memcmp(&back, sa, (size_t)len) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct sockaddr_storage sa;
	char out[512], *s;
	WCHAR w[256], wout[256];
	uint8_t op = fz_u8(&f), sz = fz_u8(&f);
	int af, len, rc, e;
	size_t i;

	af = op & 0x10 ? AF_INET6 : AF_INET;
	if ((op & 0x60) == 0x60)
		af = (int)(int8_t)sz;	/* any family, for the errors */
	len = (int)(sz % (sizeof(sa) + 8));
	memset(&sa, 0xa5, sizeof(sa));
	switch (op & 3) {
	case 0:		/* WSAStringToAddressA */
	case 1:		/* WSAStringToAddressW */
		if ((op & 3) == 0) {
			s = fz_str(&f);
			rc = WSAStringToAddressA(s, af, NULL,
			    (struct sockaddr *)&sa, &len);
		} else {
			for (i = 0; i + 1 < sizeof(w) / sizeof(w[0]) &&
			    f.n >= 2; i++)
				w[i] = (WCHAR)(fz_u8(&f) | fz_u8(&f) << 8);
			w[i] = 0;
			s = NULL;
			rc = WSAStringToAddressW(w, af, NULL,
			    (struct sockaddr *)&sa, &len);
		}
		if (rc != 0) {
			e = WSAGetLastError();
			FZ_CHECK(known_error(e));
			free(s);
			return 0;
		}
		FZ_CHECK(len > 0 && (size_t)len <= sizeof(sa));
		FZ_CHECK(((struct sockaddr *)&sa)->sa_family == af);
		/* Format it and parse that again. */
		FZ_CHECK(to_string_a((struct sockaddr *)&sa, (DWORD)len, out,
		    sizeof(out)) == 0);
		same_address(out, af, &sa, len);
		FZ_CHECK(to_string_w((struct sockaddr *)&sa, (DWORD)len, wout,
		    sizeof(wout) / sizeof(wout[0])) == 0);
		for (i = 0; out[i] != '\0'; i++)
			FZ_CHECK(wout[i] == (WCHAR)(unsigned char)out[i]);
		FZ_CHECK(wout[i] == 0);
		free(s);
		return 0;
	default:	/* WSAAddressToStringA / W of any bytes */
		fz_bytes(&f, &sa, sizeof(sa));
		if (af == AF_INET || af == AF_INET6)
			((struct sockaddr *)&sa)->sa_family = (sa_family_t)af;
		if ((op & 3) == 2)
			rc = to_string_a((struct sockaddr *)&sa, (DWORD)len,
			    out, sizeof(out));
		else
			rc = to_string_w((struct sockaddr *)&sa, (DWORD)len,
			    wout, sizeof(wout) / sizeof(wout[0]));
		FZ_CHECK(rc == 0 || known_error(rc));
		return 0;
	}
}
