/*
 * test_addrstr.c - socket addresses to strings and back: formats, strict
 * parsing, sizes and round trips.
 *
 * Parameters hold arrays, not pointers: Criterion re-executes the binary
 * for each test, so addresses from the parent's image mean nothing there.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>
#include <sys/un.h>

#include "addrstr.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define SUN_OFF		offsetof(struct sockaddr_un, sun_path)
#define SUN_PATH	sizeof(((struct sockaddr_un *)0)->sun_path)

/* ------------------------------------------------------------------ */
/* IP addresses to strings. */

struct ipfmt_case {
	int		af;
	char		addr[48];
	uint16_t	port;
	uint32_t	scope;
	int		lendelta;	/* added to the natural length */
	int		err;
	char		want[64];
};

/* The sockaddr of an IP case in ss; its natural length. */
static size_t
ip_sockaddr(int af, const char *addr, uint16_t port, uint32_t scope,
    struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (af == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		cr_assert_eq(inet_pton(AF_INET, addr, &sin->sin_addr), 1);
		return sizeof(*sin);
	}
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	sin6->sin6_scope_id = scope;
	cr_assert_eq(inet_pton(AF_INET6, addr, &sin6->sin6_addr), 1);
	return sizeof(*sin6);
}

ParameterizedTestParameters(format, ip)
{
	static struct ipfmt_case cases[] = {
		{ AF_INET, "127.0.0.1", 80, 0, 0, 0, "127.0.0.1:80" },
		{ AF_INET, "127.0.0.1", 0, 0, 0, 0, "127.0.0.1" },
		{ AF_INET, "0.0.0.0", 65535, 0, 0, 0, "0.0.0.0:65535" },
		{ AF_INET, "255.255.255.255", 1, 0, 0, 0,
		    "255.255.255.255:1" },
		{ AF_INET, "10.0.0.1", 8080, 0, -1, WSAEINVAL, "" },
		{ AF_INET, "10.0.0.1", 8080, 0,
		    (int)(sizeof(struct sockaddr_storage) -
		    sizeof(struct sockaddr_in)), 0, "10.0.0.1:8080" },
		{ AF_INET6, "::1", 443, 0, 0, 0, "[::1]:443" },
		{ AF_INET6, "::1", 0, 0, 0, 0, "::1" },
		{ AF_INET6, "::", 0, 0, 0, 0, "::" },
		{ AF_INET6, "fe80::1", 80, 2, 0, 0, "[fe80::1%2]:80" },
		{ AF_INET6, "fe80::1", 0, 2, 0, 0, "fe80::1%2" },
		{ AF_INET6, "fe80::1", 65535, 4294967295u, 0, 0,
		    "[fe80::1%4294967295]:65535" },
		{ AF_INET6, "::ffff:1.2.3.4", 0, 0, 0, 0, "::ffff:1.2.3.4" },
		{ AF_INET6, "2001:db8::", 8080, 0, 0, 0, "[2001:db8::]:8080" },
		{ AF_INET6, "2001:db8:1:2:3:4:5:6", 1, 0, 0, 0,
		    "[2001:db8:1:2:3:4:5:6]:1" },
		{ AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255",
		    65535, 4294967295u, 0, 0, "[ffff:ffff:ffff:ffff:ffff:"
		    "ffff:ffff:ffff%4294967295]:65535" },
		{ AF_INET6, "::1", 443, 0, -1, WSAEINVAL, "" },
		{ AF_INET6, "::1", 443, 0,
		    (int)sizeof(struct sockaddr_in) -
		    (int)sizeof(struct sockaddr_in6), WSAEINVAL, "" },
	};

	return cr_make_param_array(struct ipfmt_case, cases, NELEM(cases));
}

ParameterizedTest(struct ipfmt_case *c, format, ip)
{
	struct sockaddr_storage ss;
	char out[80];
	size_t len, need = 12345;
	int err;

	len = ip_sockaddr(c->af, c->addr, c->port, c->scope, &ss);
	len = (size_t)((int)len + c->lendelta);
	memset(out, 'Z', sizeof(out));
	err = addrstr_format((struct sockaddr *)&ss, len, out, sizeof(out),
	    &need);
	cr_assert_eq(err, c->err, "%s port %u: error %d", c->addr,
	    (unsigned)c->port, err);
	if (err != 0) {
		cr_assert_eq(need, 0);
		cr_assert_eq(out[0], 'Z');
		return;
	}
	cr_assert_str_eq(out, c->want);
	cr_assert_eq(need, strlen(c->want) + 1);
}

/* ------------------------------------------------------------------ */
/* AF_UNIX addresses to strings. */

struct unfmt_case {
	char	what[32];
	char	path[SUN_PATH + 8];	/* sun_path bytes */
	size_t	plen;			/* how many of them count */
	int	err;
	char	want[SUN_PATH + 8];
};

#define P107 \
	"/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/sock"
#define P108	P107 "x"
_Static_assert(sizeof(P107) == 108, "P107 is 107 bytes");

ParameterizedTestParameters(format, unix)
{
	static struct unfmt_case cases[] = {
		{ "path", "/tmp/sock", 10, 0, "/tmp/sock" },
		{ "path, no terminator", "/tmp/sock", 9, 0, "/tmp/sock" },
		{ "path, full length", "/tmp/sock", SUN_PATH, 0,
		    "/tmp/sock" },
		{ "relative path", "sock", 5, 0, "sock" },
		{ "107 bytes", P107, 108, 0, P107 },
		{ "108 bytes, no terminator", P108, 108, 0, P108 },
		{ "abstract", "\0name", 5, 0, "@name" },
		{ "abstract, bytes", "\0a b\x01", 5, 0, "@a b\x01" },
		{ "abstract, empty", "", 1, 0, "@" },
		{ "abstract with a NUL", "\0na\0me", 6, WSAEINVAL, "" },
		{ "abstract, full length", "\0name", SUN_PATH, WSAEINVAL,
		    "" },
		{ "unnamed", "", 0, 0, "" },
	};

	return cr_make_param_array(struct unfmt_case, cases, NELEM(cases));
}

ParameterizedTest(struct unfmt_case *c, format, unix)
{
	struct sockaddr_un un;
	char out[SUN_PATH + 8];
	size_t need = 12345;
	int err;

	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	memcpy(un.sun_path, c->path, c->plen);
	err = addrstr_format((struct sockaddr *)&un, SUN_OFF + c->plen, out,
	    sizeof(out), &need);
	cr_assert_eq(err, c->err, "%s: error %d", c->what, err);
	if (err == 0) {
		cr_assert_str_eq(out, c->want, "%s", c->what);
		cr_assert_eq(need, strlen(c->want) + 1, "%s", c->what);
	}
}

Test(format, unix_longer_than_sockaddr_un_is_clamped)
{
	struct {
		struct sockaddr_un	un;
		char			more[16];
	} big;
	char out[SUN_PATH + 8];

	memset(&big, 'q', sizeof(big));
	big.un.sun_family = AF_UNIX;
	memcpy(big.un.sun_path, P108, SUN_PATH);
	cr_assert_eq(addrstr_format((struct sockaddr *)&big, sizeof(big),
	    out, sizeof(out), NULL), 0);
	cr_assert_str_eq(out, P108);
}

Test(format, bad_families_and_lengths)
{
	struct sockaddr_storage ss;
	char out[64];
	size_t need = 1;

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_NETLINK;
	cr_assert_eq(addrstr_format((struct sockaddr *)&ss, sizeof(ss), out,
	    sizeof(out), &need), WSAEINVAL);
	cr_assert_eq(need, 0);
	ss.ss_family = AF_UNSPEC;
	cr_assert_eq(addrstr_format((struct sockaddr *)&ss, sizeof(ss), out,
	    sizeof(out), &need), WSAEINVAL);
	ss.ss_family = AF_INET;
	cr_assert_eq(addrstr_format((struct sockaddr *)&ss, 1, out,
	    sizeof(out), &need), WSAEINVAL);
	cr_assert_eq(addrstr_format((struct sockaddr *)&ss, 0, out,
	    sizeof(out), &need), WSAEINVAL);
	cr_assert_eq(addrstr_format(NULL, sizeof(ss), out, sizeof(out),
	    &need), WSAEFAULT);
	cr_assert_eq(need, 0);
}

Test(format, short_output_faults_with_size_needed)
{
	struct sockaddr_storage ss;
	char out[16];
	size_t len, need = 0;

	len = ip_sockaddr(AF_INET, "127.0.0.1", 80, 0, &ss);
	memset(out, 'Z', sizeof(out));
	cr_assert_eq(addrstr_format((struct sockaddr *)&ss, len, out, 12,
	    &need), WSAEFAULT);
	cr_assert_eq(need, 13);
	cr_assert_eq(out[0], 'Z', "written on failure");
	cr_assert_eq(addrstr_format((struct sockaddr *)&ss, len, NULL, 0,
	    &need), WSAEFAULT);
	cr_assert_eq(need, 13);
	cr_assert_eq(addrstr_format((struct sockaddr *)&ss, len, NULL, 64,
	    &need), WSAEFAULT);
	cr_assert_eq(addrstr_format((struct sockaddr *)&ss, len, out, 13,
	    NULL), 0);
	cr_assert_str_eq(out, "127.0.0.1:80");
}

/* ------------------------------------------------------------------ */
/* Strings to IP addresses. */

struct ipparse_case {
	char		in[64];
	int		af;
	int		err;
	char		addr[48];	/* expected, when err is 0 */
	uint16_t	port;
	uint32_t	scope;
};

ParameterizedTestParameters(parse, ip)
{
	static struct ipparse_case cases[] = {
		{ "127.0.0.1:80", AF_INET, 0, "127.0.0.1", 80, 0 },
		{ "127.0.0.1", AF_INET, 0, "127.0.0.1", 0, 0 },
		{ "0.0.0.0:0", AF_INET, 0, "0.0.0.0", 0, 0 },
		{ "1.2.3.4:65535", AF_INET, 0, "1.2.3.4", 65535, 0 },
		{ "1.2.3.4:00080", AF_INET, 0, "1.2.3.4", 80, 0 },
		{ "[::1]:443", AF_INET6, 0, "::1", 443, 0 },
		{ "::1", AF_INET6, 0, "::1", 0, 0 },
		{ "[::1]", AF_INET6, 0, "::1", 0, 0 },
		{ "[fe80::1%2]:80", AF_INET6, 0, "fe80::1", 80, 2 },
		{ "fe80::1%2", AF_INET6, 0, "fe80::1", 0, 2 },
		{ "fe80::1%4294967295", AF_INET6, 0, "fe80::1", 0,
		    4294967295u },
		{ "fe80::1%0", AF_INET6, 0, "fe80::1", 0, 0 },
		{ "::ffff:1.2.3.4", AF_INET6, 0, "::ffff:1.2.3.4", 0, 0 },
		{ "[::ffff:1.2.3.4]:7", AF_INET6, 0, "::ffff:1.2.3.4", 7, 0 },
		/* Without brackets there is no port: this is an address. */
		{ "::1:80", AF_INET6, 0, "::1:80", 0, 0 },
		/* IPv4, bad. */
		{ "", AF_INET, WSAEINVAL, "", 0, 0 },
		{ "127.0.0.1:", AF_INET, WSAEINVAL, "", 0, 0 },
		{ "127.0.0.1:65536", AF_INET, WSAEINVAL, "", 0, 0 },
		{ "127.0.0.1:123456", AF_INET, WSAEINVAL, "", 0, 0 },
		{ "127.0.0.1:000080", AF_INET, WSAEINVAL, "", 0, 0 },
		{ "127.0.0.1:-1", AF_INET, WSAEINVAL, "", 0, 0 },
		{ "127.0.0.1:+80", AF_INET, WSAEINVAL, "", 0, 0 },
		{ "127.0.0.1: 80", AF_INET, WSAEINVAL, "", 0, 0 },
		{ "127.0.0.1:80 ", AF_INET, WSAEINVAL, "", 0, 0 },
		{ "127.0.0.1:0x50", AF_INET, WSAEINVAL, "", 0, 0 },
		{ "127.0.0.1:80:90", AF_INET, WSAEINVAL, "", 0, 0 },
		{ " 127.0.0.1", AF_INET, WSAEINVAL, "", 0, 0 },
		{ "127.0.0.1 ", AF_INET, WSAEINVAL, "", 0, 0 },
		{ "127.1", AF_INET, WSAEINVAL, "", 0, 0 },
		{ "256.0.0.1", AF_INET, WSAEINVAL, "", 0, 0 },
		{ "1.2.3.4.5", AF_INET, WSAEINVAL, "", 0, 0 },
		{ "0x7f.0.0.1", AF_INET, WSAEINVAL, "", 0, 0 },
		{ "localhost", AF_INET, WSAEINVAL, "", 0, 0 },
		{ "localhost:80", AF_INET, WSAEINVAL, "", 0, 0 },
		{ "[127.0.0.1]:80", AF_INET, WSAEINVAL, "", 0, 0 },
		{ ":80", AF_INET, WSAEINVAL, "", 0, 0 },
		{ "::1", AF_INET, WSAEINVAL, "", 0, 0 },
		{ "1111111111111111111.2.3.4", AF_INET, WSAEINVAL, "", 0, 0 },
		/* IPv6, bad. */
		{ "", AF_INET6, WSAEINVAL, "", 0, 0 },
		{ "[]", AF_INET6, WSAEINVAL, "", 0, 0 },
		{ "[]:80", AF_INET6, WSAEINVAL, "", 0, 0 },
		{ "[::1]:", AF_INET6, WSAEINVAL, "", 0, 0 },
		{ "[::1]:65536", AF_INET6, WSAEINVAL, "", 0, 0 },
		{ "[::1]:80x", AF_INET6, WSAEINVAL, "", 0, 0 },
		{ "[::1]80", AF_INET6, WSAEINVAL, "", 0, 0 },
		{ "[::1", AF_INET6, WSAEINVAL, "", 0, 0 },
		{ "::1]", AF_INET6, WSAEINVAL, "", 0, 0 },
		{ "[[::1]]:80", AF_INET6, WSAEINVAL, "", 0, 0 },
		{ "[::1]%2", AF_INET6, WSAEINVAL, "", 0, 0 },
		{ "[::1]:80%2", AF_INET6, WSAEINVAL, "", 0, 0 },
		{ "fe80::1%", AF_INET6, WSAEINVAL, "", 0, 0 },
		{ "[fe80::1%]:80", AF_INET6, WSAEINVAL, "", 0, 0 },
		{ "fe80::1%eth0", AF_INET6, WSAEINVAL, "", 0, 0 },
		{ "fe80::1%-1", AF_INET6, WSAEINVAL, "", 0, 0 },
		{ "fe80::1%4294967296", AF_INET6, WSAEINVAL, "", 0, 0 },
		{ "fe80::1%2%3", AF_INET6, WSAEINVAL, "", 0, 0 },
		{ ":::1", AF_INET6, WSAEINVAL, "", 0, 0 },
		{ " ::1", AF_INET6, WSAEINVAL, "", 0, 0 },
		{ "::1 ", AF_INET6, WSAEINVAL, "", 0, 0 },
		{ "127.0.0.1", AF_INET6, WSAEINVAL, "", 0, 0 },
		{ "[127.0.0.1]:80", AF_INET6, WSAEINVAL, "", 0, 0 },
		{ "1:2:3:4:5:6:7:8:9", AF_INET6, WSAEINVAL, "", 0, 0 },
		/* Families. */
		{ "127.0.0.1", AF_UNSPEC, WSAEINVAL, "", 0, 0 },
		{ "127.0.0.1", AF_NETLINK, WSAEINVAL, "", 0, 0 },
		{ "127.0.0.1", -1, WSAEINVAL, "", 0, 0 },
	};

	return cr_make_param_array(struct ipparse_case, cases, NELEM(cases));
}

ParameterizedTest(struct ipparse_case *c, parse, ip)
{
	struct sockaddr_storage got, want;
	int len = (int)sizeof(got), err;
	size_t wlen;

	memset(&got, 0xA5, sizeof(got));
	err = addrstr_parse(c->in, c->af, (struct sockaddr *)&got, &len);
	cr_assert_eq(err, c->err, "\"%s\": error %d, want %d", c->in, err,
	    c->err);
	if (err != 0) {
		cr_assert_eq(len, (int)sizeof(got), "\"%s\": len", c->in);
		cr_assert_eq(((unsigned char *)&got)[0], 0xA5);
		return;
	}
	wlen = ip_sockaddr(c->af, c->addr, c->port, c->scope, &want);
	cr_assert_eq(len, (int)wlen, "\"%s\": len %d", c->in, len);
	cr_assert(memcmp(&got, &want, wlen) == 0, "\"%s\": address", c->in);
}

/* ------------------------------------------------------------------ */
/* Strings to AF_UNIX addresses. */

struct unparse_case {
	char	in[SUN_PATH + 8];
	int	err;
	size_t	len;			/* expected length */
	char	path[SUN_PATH + 8];	/* expected sun_path bytes */
};

#define L(n)	(SUN_OFF + (n))

ParameterizedTestParameters(parse, unix)
{
	static struct unparse_case cases[] = {
		{ "/tmp/sock", 0, L(10), "/tmp/sock" },
		{ "sock", 0, L(5), "sock" },
		{ "./@name", 0, L(8), "./@name" },
		{ "@name", 0, L(5), "\0name" },
		{ "@", 0, L(1), "" },
		{ "", 0, L(0), "" },
		{ P107, 0, L(108), P107 },
		{ P108, 0, L(108), P108 },
		{ P108 "y", WSAEINVAL, 0, "" },
		{ "@" P107, 0, L(108), "\0" P107 },
		{ "@" P108, WSAEINVAL, 0, "" },
	};

	return cr_make_param_array(struct unparse_case, cases, NELEM(cases));
}

ParameterizedTest(struct unparse_case *c, parse, unix)
{
	struct sockaddr_un un;
	int len = (int)sizeof(un), err;

	memset(&un, 0xA5, sizeof(un));
	err = addrstr_parse(c->in, AF_UNIX, (struct sockaddr *)&un, &len);
	cr_assert_eq(err, c->err, "\"%s\": error %d", c->in, err);
	if (err != 0)
		return;
	cr_assert_eq(len, (int)c->len, "\"%s\": len %d", c->in, len);
	cr_assert_eq(un.sun_family, AF_UNIX);
	cr_assert(memcmp(un.sun_path, c->path, c->len - SUN_OFF) == 0,
	    "\"%s\": path", c->in);
}

Test(parse, short_length_faults_with_size_needed)
{
	struct sockaddr_in6 sin6;
	struct sockaddr_un un;
	int len;

	len = (int)sizeof(sin6) - 1;
	cr_assert_eq(addrstr_parse("[::1]:80", AF_INET6,
	    (struct sockaddr *)&sin6, &len), WSAEFAULT);
	cr_assert_eq(len, (int)sizeof(sin6));
	cr_assert_eq(addrstr_parse("[::1]:80", AF_INET6,
	    (struct sockaddr *)&sin6, &len), 0);
	cr_assert_eq(ntohs(sin6.sin6_port), 80);

	len = (int)L(5) - 1;
	cr_assert_eq(addrstr_parse("/tmp", AF_UNIX, (struct sockaddr *)&un,
	    &len), WSAEFAULT);
	cr_assert_eq(len, (int)L(5));

	len = -1;
	cr_assert_eq(addrstr_parse("1.2.3.4", AF_INET,
	    (struct sockaddr *)&sin6, &len), WSAEFAULT);
	cr_assert_eq(len, (int)sizeof(struct sockaddr_in));

	len = 64;
	cr_assert_eq(addrstr_parse("1.2.3.4", AF_INET, NULL, &len),
	    WSAEFAULT);
	cr_assert_eq(len, (int)sizeof(struct sockaddr_in));
}

Test(parse, bad_string_checked_before_room)
{
	struct sockaddr_in sin;
	int len = 1;

	cr_assert_eq(addrstr_parse("1.2.3.4:x", AF_INET,
	    (struct sockaddr *)&sin, &len), WSAEINVAL);
	cr_assert_eq(len, 1);
}

Test(parse, null_arguments)
{
	struct sockaddr_in sin;
	int len = (int)sizeof(sin);

	cr_assert_eq(addrstr_parse("1.2.3.4", AF_INET,
	    (struct sockaddr *)&sin, NULL), WSAEFAULT);
	cr_assert_eq(addrstr_parse(NULL, AF_INET, (struct sockaddr *)&sin,
	    &len), WSAEINVAL);
}

/* ------------------------------------------------------------------ */
/* Round trips. */

struct rt_case {
	char	s[64];
	int	af;
};

ParameterizedTestParameters(roundtrip, canonical_strings)
{
	static struct rt_case cases[] = {
		{ "127.0.0.1:80", AF_INET },
		{ "127.0.0.1", AF_INET },
		{ "192.168.100.200:65535", AF_INET },
		{ "[::1]:443", AF_INET6 },
		{ "::1", AF_INET6 },
		{ "[fe80::1%2]:80", AF_INET6 },
		{ "fe80::1%2", AF_INET6 },
		{ "[2001:db8::8:800:200c:417a]:1", AF_INET6 },
		{ "::ffff:10.0.0.1", AF_INET6 },
		{ "/run/wspshim.sock", AF_UNIX },
		{ "@wspshim", AF_UNIX },
		{ "@", AF_UNIX },
		{ "", AF_UNIX },
	};

	return cr_make_param_array(struct rt_case, cases, NELEM(cases));
}

ParameterizedTest(struct rt_case *c, roundtrip, canonical_strings)
{
	struct sockaddr_storage ss;
	int len = (int)sizeof(ss);
	char out[128];
	size_t need;

	cr_assert_eq(addrstr_parse(c->s, c->af, (struct sockaddr *)&ss,
	    &len), 0, "parse \"%s\"", c->s);
	cr_assert_eq(addrstr_format((struct sockaddr *)&ss, (size_t)len,
	    out, sizeof(out), &need), 0, "format \"%s\"", c->s);
	cr_assert_str_eq(out, c->s);
	cr_assert_eq(need, strlen(c->s) + 1);
}

Test(roundtrip, every_ipv4_port)
{
	struct sockaddr_in sin, back;
	char out[32];
	int len;
	uint32_t port;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(0x0A000001);
	for (port = 0; port <= 65535; port++) {
		sin.sin_port = htons((uint16_t)port);
		cr_assert_eq(addrstr_format((struct sockaddr *)&sin,
		    sizeof(sin), out, sizeof(out), NULL), 0);
		len = (int)sizeof(back);
		cr_assert_eq(addrstr_parse(out, AF_INET,
		    (struct sockaddr *)&back, &len), 0, "\"%s\"", out);
		cr_assert(memcmp(&back, &sin, sizeof(sin)) == 0, "\"%s\"",
		    out);
	}
}

/* A deterministic 32-bit generator for the IPv6 sweep. */
static uint32_t
lcg(uint32_t *state)
{
	*state = *state * 1664525u + 1013904223u;
	return *state;
}

Test(roundtrip, ipv6_sweep)
{
	struct sockaddr_in6 sin6, back;
	char out[80];
	uint32_t state = 1, r;
	int len, i, j;

	for (i = 0; i < 20000; i++) {
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		for (j = 0; j < 16; j++) {
			/* Runs of zero bytes exercise "::" compression. */
			r = lcg(&state);
			sin6.sin6_addr.s6_addr[j] =
			    (r >> 24) < 96 ? 0 : (uint8_t)(r >> 8);
		}
		r = lcg(&state);
		sin6.sin6_port = (r & 3) == 0 ? 0 : htons((uint16_t)(r >> 8));
		r = lcg(&state);
		sin6.sin6_scope_id = (r & 3) == 0 ? r >> 2 : 0;
		cr_assert_eq(addrstr_format((struct sockaddr *)&sin6,
		    sizeof(sin6), out, sizeof(out), NULL), 0);
		len = (int)sizeof(back);
		cr_assert_eq(addrstr_parse(out, AF_INET6,
		    (struct sockaddr *)&back, &len), 0, "\"%s\"", out);
		cr_assert(memcmp(&back, &sin6, sizeof(sin6)) == 0, "\"%s\"",
		    out);
	}
}
