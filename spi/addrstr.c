/*
 * addrstr.c - socket addresses as strings, the way Winsock writes them,
 * for WSPAddressToString / WSPStringToAddress and the WSA*String* calls.
 *
 *	AF_INET		"127.0.0.1:80", or "127.0.0.1" when the port is 0
 *	AF_INET6	"[fe80::1%2]:80", or "fe80::1%2" when the port is 0;
 *			the scope id is numeric, and "%0" is left out
 *	AF_UNIX		the path; "@name" for an abstract name; "" unnamed
 *
 * Parsing is strict: inet_pton(3) on the address part, the whole string
 * consumed, a port of decimal digits only (at most five, up to 65535), an
 * IPv6 address with a port in brackets.  Anything else is WSAEINVAL.
 *
 * Strings are UTF-8 here; the W calls convert with wstr.  A relative
 * AF_UNIX path that starts with '@' prints as itself and so reads back as
 * an abstract name: write it "./@name" to parse it as a path.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>
#include <sys/un.h>

#include "addrstr.h"

#define ADDRSTR_MAX	128	/* longer than any string we make */
#define SUN_PATH_OFF	offsetof(struct sockaddr_un, sun_path)
#define SUN_PATH_LEN	sizeof(((struct sockaddr_un *)0)->sun_path)

_Static_assert(SUN_PATH_LEN + 2 <= ADDRSTR_MAX, "room for '@' and NUL");
_Static_assert(INET6_ADDRSTRLEN + 20 <= ADDRSTR_MAX,
    "room for brackets, scope id and port");

/* The number of digits written at p for v (no terminator). */
static size_t
addrstr_put_uint(char *p, uint32_t v)
{
	char tmp[10];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

/* 0 and *v, the value of the n decimal digits at p (1..maxdigits of them,
 * at most max), or WSAEINVAL. */
static int
addrstr_get_uint(const char *p, size_t n, size_t maxdigits, uint32_t max,
    uint32_t *v)
{
	uint64_t acc = 0;
	size_t i;

	if (n == 0 || n > maxdigits)
		return WSAEINVAL;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return WSAEINVAL;
		acc = acc * 10 + (uint64_t)(p[i] - '0');
	}
	if (acc > max)
		return WSAEINVAL;
	*v = (uint32_t)acc;
	return 0;
}

/* 0 and *port (network order) from the rest of a string, or WSAEINVAL. */
static int
addrstr_get_port(const char *p, in_port_t *port)
{
	uint32_t v;
	int err;

	if ((err = addrstr_get_uint(p, strlen(p), 5, 65535, &v)) != 0)
		return err;
	*port = htons((uint16_t)v);
	return 0;
}

/* The length of the string made for an AF_INET address, or 0 if len is
 * short. */
static size_t
addrstr_fmt_in(const struct sockaddr *sa, size_t len, char *buf)
{
	struct sockaddr_in sin;
	size_t n;

	if (len < sizeof(sin))
		return 0;
	memcpy(&sin, sa, sizeof(sin));
	if (inet_ntop(AF_INET, &sin.sin_addr, buf, INET_ADDRSTRLEN) == NULL)
		return 0;
	n = strlen(buf);
	if (sin.sin_port != 0) {
		buf[n++] = ':';
		n += addrstr_put_uint(buf + n, ntohs(sin.sin_port));
	}
	buf[n] = '\0';
	return n;
}

/* The length of the string made for an AF_INET6 address, or 0 if len is
 * short. */
static size_t
addrstr_fmt_in6(const struct sockaddr *sa, size_t len, char *buf)
{
	struct sockaddr_in6 sin6;
	size_t n = 0;

	if (len < sizeof(sin6))
		return 0;
	memcpy(&sin6, sa, sizeof(sin6));
	if (sin6.sin6_port != 0)
		buf[n++] = '[';
	if (inet_ntop(AF_INET6, &sin6.sin6_addr, buf + n,
	    INET6_ADDRSTRLEN) == NULL)
		return 0;
	n += strlen(buf + n);
	if (sin6.sin6_scope_id != 0) {
		buf[n++] = '%';
		n += addrstr_put_uint(buf + n, sin6.sin6_scope_id);
	}
	if (sin6.sin6_port != 0) {
		buf[n++] = ']';
		buf[n++] = ':';
		n += addrstr_put_uint(buf + n, ntohs(sin6.sin6_port));
	}
	buf[n] = '\0';
	return n;
}

/* 0 and *n, the length of the string made for an AF_UNIX address, or
 * WSAEINVAL (an abstract name holding a NUL byte cannot be written). */
static int
addrstr_fmt_un(const struct sockaddr *sa, size_t len, char *buf, size_t *n)
{
	const char *path = (const char *)sa + SUN_PATH_OFF;
	size_t plen;

	if (len > sizeof(struct sockaddr_un))
		len = sizeof(struct sockaddr_un);
	plen = len - SUN_PATH_OFF;
	if (plen == 0) {
		*n = 0;			/* unnamed */
	} else if (path[0] == '\0') {
		if (memchr(path + 1, '\0', plen - 1) != NULL)
			return WSAEINVAL;
		buf[0] = '@';
		memcpy(buf + 1, path + 1, plen - 1);
		*n = plen;
	} else {
		*n = strnlen(path, plen);
		memcpy(buf, path, *n);
	}
	buf[*n] = '\0';
	return 0;
}

/* 0, or WSAEINVAL (bad or short address) or WSAEFAULT (no room, or sa
 * NULL); *needed gets the size needed with the terminator. */
int
addrstr_format(const struct sockaddr *sa, size_t len, char *out,
    size_t cap, size_t *needed)
{
	char buf[ADDRSTR_MAX];
	sa_family_t family;
	size_t n = 0;
	int err = 0;

	if (needed != NULL)
		*needed = 0;
	if (sa == NULL)
		return WSAEFAULT;
	if (len < sizeof(family))
		return WSAEINVAL;
	memcpy(&family, &sa->sa_family, sizeof(family));
	switch (family) {
	case AF_INET:
		if ((n = addrstr_fmt_in(sa, len, buf)) == 0)
			err = WSAEINVAL;
		break;
	case AF_INET6:
		if ((n = addrstr_fmt_in6(sa, len, buf)) == 0)
			err = WSAEINVAL;
		break;
	case AF_UNIX:
		err = addrstr_fmt_un(sa, len, buf, &n);
		break;
	default:
		err = WSAEINVAL;
		break;
	}
	if (err != 0)
		return err;
	if (needed != NULL)
		*needed = n + 1;
	if (out == NULL || cap < n + 1)
		return WSAEFAULT;
	memcpy(out, buf, n + 1);
	return 0;
}

/* 0 and *dst from the n bytes at p, an address of family af, or
 * WSAEINVAL. */
static int
addrstr_pton(int af, const char *p, size_t n, void *dst)
{
	char buf[INET6_ADDRSTRLEN];

	if (n == 0 || n >= sizeof(buf))
		return WSAEINVAL;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return inet_pton(af, buf, dst) == 1 ? 0 : WSAEINVAL;
}

/* 0 and *sin from "a.b.c.d" or "a.b.c.d:port", or WSAEINVAL. */
static int
addrstr_parse_in(const char *s, struct sockaddr_in *sin)
{
	const char *colon = strchr(s, ':');
	size_t n = colon != NULL ? (size_t)(colon - s) : strlen(s);
	int err;

	sin->sin_family = AF_INET;
	if ((err = addrstr_pton(AF_INET, s, n, &sin->sin_addr)) != 0)
		return err;
	if (colon != NULL)
		return addrstr_get_port(colon + 1, &sin->sin_port);
	return 0;
}

/* 0 and *sin6 from "addr[%scope]" or "[addr[%scope]]:port" ("[addr]"
 * too), or WSAEINVAL. */
static int
addrstr_parse_in6(const char *s, struct sockaddr_in6 *sin6)
{
	const char *end, *pct;
	uint32_t scope = 0;
	int err;

	sin6->sin6_family = AF_INET6;
	if (s[0] == '[') {
		s++;
		if ((end = strchr(s, ']')) == NULL)
			return WSAEINVAL;
		if (end[1] == ':') {
			err = addrstr_get_port(end + 2, &sin6->sin6_port);
			if (err != 0)
				return err;
		} else if (end[1] != '\0') {
			return WSAEINVAL;
		}
	} else {
		end = s + strlen(s);
	}
	pct = memchr(s, '%', (size_t)(end - s));
	if (pct != NULL) {
		err = addrstr_get_uint(pct + 1, (size_t)(end - pct - 1), 10,
		    UINT32_MAX, &scope);
		if (err != 0)
			return err;
		end = pct;
	}
	sin6->sin6_scope_id = scope;
	return addrstr_pton(AF_INET6, s, (size_t)(end - s),
	    &sin6->sin6_addr);
}

/* 0, *un and *need (its length) from a path, "@name" or "", or
 * WSAEINVAL for a name too long. */
static int
addrstr_parse_un(const char *s, struct sockaddr_un *un, size_t *need)
{
	size_t n = strlen(s);

	un->sun_family = AF_UNIX;
	if (n == 0) {
		*need = SUN_PATH_OFF;		/* unnamed */
	} else if (s[0] == '@') {
		if (n > SUN_PATH_LEN)
			return WSAEINVAL;
		un->sun_path[0] = '\0';
		memcpy(un->sun_path + 1, s + 1, n - 1);
		*need = SUN_PATH_OFF + n;	/* exact: NULs would count */
	} else {
		if (n > SUN_PATH_LEN)
			return WSAEINVAL;
		memcpy(un->sun_path, s, n);
		/* Count the terminator when it fits, as the kernel does. */
		*need = SUN_PATH_OFF + n + (n < SUN_PATH_LEN ? 1 : 0);
	}
	return 0;
}

/* 0 and *len, or WSAEINVAL (bad string or family), or WSAEFAULT (*len
 * short, set to the size needed; or len NULL, or out NULL). */
int
addrstr_parse(const char *s, int af, struct sockaddr *out, int *len)
{
	union {
		struct sockaddr_in	sin;
		struct sockaddr_in6	sin6;
		struct sockaddr_un	un;
	} u;
	size_t need;
	int err;

	if (len == NULL)
		return WSAEFAULT;
	if (s == NULL)
		return WSAEINVAL;
	memset(&u, 0, sizeof(u));
	switch (af) {
	case AF_INET:
		err = addrstr_parse_in(s, &u.sin);
		need = sizeof(u.sin);
		break;
	case AF_INET6:
		err = addrstr_parse_in6(s, &u.sin6);
		need = sizeof(u.sin6);
		break;
	case AF_UNIX:
		err = addrstr_parse_un(s, &u.un, &need);
		break;
	default:
		return WSAEINVAL;
	}
	if (err != 0)
		return err;
	if (*len < 0 || (size_t)*len < need || out == NULL) {
		*len = (int)need;
		return WSAEFAULT;
	}
	memcpy(out, &u, need);
	*len = (int)need;
	return 0;
}
