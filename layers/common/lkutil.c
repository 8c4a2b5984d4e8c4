/*
 * lkutil.c - small helpers the shipped layers share: WSA code names,
 * address strings, file name patterns, a clock, and a warning line.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "layerkit.h"

#define E(code)	{ code, #code }

static const struct {
	int		code;
	const char	*name;
} lk_wsa_names[] = {
	E(WSA_INVALID_HANDLE), E(WSA_NOT_ENOUGH_MEMORY),
	E(WSA_INVALID_PARAMETER), E(WSA_OPERATION_ABORTED),
	E(WSA_IO_INCOMPLETE), E(WSA_IO_PENDING),
	E(WSAEINTR), E(WSAEBADF), E(WSAEACCES), E(WSAEFAULT), E(WSAEINVAL),
	E(WSAEMFILE), E(WSAEWOULDBLOCK), E(WSAEINPROGRESS), E(WSAEALREADY),
	E(WSAENOTSOCK), E(WSAEDESTADDRREQ), E(WSAEMSGSIZE), E(WSAEPROTOTYPE),
	E(WSAENOPROTOOPT), E(WSAEPROTONOSUPPORT), E(WSAESOCKTNOSUPPORT),
	E(WSAEOPNOTSUPP), E(WSAEPFNOSUPPORT), E(WSAEAFNOSUPPORT),
	E(WSAEADDRINUSE), E(WSAEADDRNOTAVAIL), E(WSAENETDOWN),
	E(WSAENETUNREACH), E(WSAENETRESET), E(WSAECONNABORTED),
	E(WSAECONNRESET), E(WSAENOBUFS), E(WSAEISCONN), E(WSAENOTCONN),
	E(WSAESHUTDOWN), E(WSAETOOMANYREFS), E(WSAETIMEDOUT),
	E(WSAECONNREFUSED), E(WSAELOOP), E(WSAENAMETOOLONG), E(WSAEHOSTDOWN),
	E(WSAEHOSTUNREACH), E(WSAENOTEMPTY), E(WSAEPROCLIM), E(WSAEUSERS),
	E(WSAEDQUOT), E(WSAESTALE), E(WSAEREMOTE), E(WSASYSNOTREADY),
	E(WSAVERNOTSUPPORTED), E(WSANOTINITIALISED), E(WSAEDISCON),
	E(WSAENOMORE), E(WSAECANCELLED), E(WSAEINVALIDPROCTABLE),
	E(WSAEINVALIDPROVIDER), E(WSAEPROVIDERFAILEDINIT),
	E(WSASYSCALLFAILURE), E(WSASERVICE_NOT_FOUND), E(WSATYPE_NOT_FOUND),
	E(WSA_E_NO_MORE), E(WSA_E_CANCELLED), E(WSAEREFUSED),
	E(WSAHOST_NOT_FOUND), E(WSATRY_AGAIN), E(WSANO_RECOVERY),
	E(WSANO_DATA),
};

#undef E

#define LK_WSA_NAMES	(sizeof(lk_wsa_names) / sizeof(lk_wsa_names[0]))
_Static_assert(LK_WSA_NAMES < LK_WSA_SLOTS, "every named code has a slot");

int
lk_wsa_index(int code)
{
	size_t i;

	for (i = 0; i < LK_WSA_NAMES; i++)
		if (lk_wsa_names[i].code == code)
			return (int)i;
	return LK_WSA_SLOTS - 1;
}

const char *
lk_wsa_index_name(int i)
{
	if (i < 0 || (size_t)i >= LK_WSA_NAMES)
		return "other";
	return lk_wsa_names[i].name;
}

const char *
lk_wsa_name(int code)
{
	size_t i;

	for (i = 0; i < sizeof(lk_wsa_names) / sizeof(lk_wsa_names[0]); i++)
		if (lk_wsa_names[i].code == code)
			return lk_wsa_names[i].name;
	return NULL;
}

int
lk_wsa_parse(const char *s, int *code)
{
	char *end;
	long v;
	size_t i;

	for (i = 0; i < sizeof(lk_wsa_names) / sizeof(lk_wsa_names[0]); i++)
		if (strcmp(lk_wsa_names[i].name, s) == 0) {
			*code = lk_wsa_names[i].code;
			return 0;
		}
	v = strtol(s, &end, 10);
	if (end == s || *end != '\0' || v <= 0 || v > 0xffff)
		return -1;
	*code = (int)v;
	return 0;
}

char *
lk_addr_str(const struct sockaddr *sa, int len, char *buf, size_t size)
{
	const struct sockaddr_in *sin = (const void *)sa;
	const struct sockaddr_in6 *sin6 = (const void *)sa;
	const struct sockaddr_un *sun = (const void *)sa;
	char host[INET6_ADDRSTRLEN];
	size_t plen;

	if (sa == NULL || len < (int)sizeof(sa_family_t)) {
		snprintf(buf, size, "NULL");
		return buf;
	}
	switch (sa->sa_family) {
	case AF_INET:
		if (len < (int)sizeof(*sin))
			break;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, size, "%s:%u", host, ntohs(sin->sin_port));
		return buf;
	case AF_INET6:
		if (len < (int)sizeof(*sin6))
			break;
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(buf, size, "[%s]:%u", host, ntohs(sin6->sin6_port));
		return buf;
	case AF_UNIX:
		plen = (size_t)len - offsetof(struct sockaddr_un, sun_path);
		if ((size_t)len <= offsetof(struct sockaddr_un, sun_path))
			snprintf(buf, size, "unix:(unnamed)");
		else if (sun->sun_path[0] == '\0')
			snprintf(buf, size, "unix:@%.*s", (int)plen - 1,
			    sun->sun_path + 1);
		else
			snprintf(buf, size, "unix:%.*s", (int)plen,
			    sun->sun_path);
		return buf;
	}
	snprintf(buf, size, "family %d", sa->sa_family);
	return buf;
}

int
lk_expand_path(const char *pattern, char *out, size_t size)
{
	size_t n = 0;
	int w;

	for (; *pattern != '\0'; pattern++) {
		if (pattern[0] == '%' && pattern[1] == 'p') {
			w = snprintf(out + n, size - n, "%ld", (long)getpid());
			if (w < 0 || (size_t)w >= size - n)
				return -1;
			n += (size_t)w;
			pattern++;
			continue;
		}
		if (pattern[0] == '%' && pattern[1] == '%')
			pattern++;
		if (n + 1 >= size)
			return -1;
		out[n++] = *pattern;
	}
	out[n] = '\0';
	return 0;
}

uint64_t
lk_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void
lk_warn(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n, m;

	n = snprintf(line, sizeof(line), "wsp_%s: ", lk_layer.name);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, (size_t)n);
}

void
lk_unknown(char *why, size_t len, const char *what, const char *word,
    const char *const *words, size_t n)
{
	const char *near = WSPShimNearestWord(word, words, n);

	if (near != NULL)
		snprintf(why, len, "unknown %s \"%s\" (did you mean %s?)", what,
		    word, near);
	else
		snprintf(why, len, "unknown %s \"%s\"", what, word);
}
