/*
 * catalog.c - show the protocol catalog the way "netsh winsock show catalog"
 * does, then create one socket of each base kind through WSASocketW.
 *
 * Only the public headers: a layer author can start from this file.
 * Exits 0 unless the API misbehaves; a socket the system refuses (a raw
 * socket without privilege, IPv6 switched off) is an outcome, not an error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wspshim/winsock2.h>
#include <wspshim/ws2spi.h>

static const struct {
	int		 code;
	const char	*name;
} wsa_names[] = {
	{ 0, "NO_ERROR" },
	{ WSAEINTR, "WSAEINTR" },
	{ WSAEBADF, "WSAEBADF" },
	{ WSAEACCES, "WSAEACCES" },
	{ WSAEFAULT, "WSAEFAULT" },
	{ WSAEINVAL, "WSAEINVAL" },
	{ WSAEMFILE, "WSAEMFILE" },
	{ WSAEWOULDBLOCK, "WSAEWOULDBLOCK" },
	{ WSAEINPROGRESS, "WSAEINPROGRESS" },
	{ WSAENOTSOCK, "WSAENOTSOCK" },
	{ WSAENOPROTOOPT, "WSAENOPROTOOPT" },
	{ WSAEPROTOTYPE, "WSAEPROTOTYPE" },
	{ WSAEPROTONOSUPPORT, "WSAEPROTONOSUPPORT" },
	{ WSAESOCKTNOSUPPORT, "WSAESOCKTNOSUPPORT" },
	{ WSAEOPNOTSUPP, "WSAEOPNOTSUPP" },
	{ WSAEPFNOSUPPORT, "WSAEPFNOSUPPORT" },
	{ WSAEAFNOSUPPORT, "WSAEAFNOSUPPORT" },
	{ WSAENETDOWN, "WSAENETDOWN" },
	{ WSAENOBUFS, "WSAENOBUFS" },
	{ WSASYSNOTREADY, "WSASYSNOTREADY" },
	{ WSAVERNOTSUPPORTED, "WSAVERNOTSUPPORTED" },
	{ WSANOTINITIALISED, "WSANOTINITIALISED" },
	{ WSAEINVALIDPROCTABLE, "WSAEINVALIDPROCTABLE" },
	{ WSAEINVALIDPROVIDER, "WSAEINVALIDPROVIDER" },
	{ WSAEPROVIDERFAILEDINIT, "WSAEPROVIDERFAILEDINIT" },
};

/* The name of a WSA error code, or "WSA error" for one not in the table. */
static const char *
wsa_name(int code)
{
	size_t i;

	for (i = 0; i < sizeof(wsa_names) / sizeof(wsa_names[0]); i++)
		if (wsa_names[i].code == code)
			return wsa_names[i].name;
	return "WSA error";
}

/*
 * Convert the UTF-16 string src into UTF-8 in dst (cap bytes, always
 * terminated); a lone surrogate becomes U+FFFD.  Returns dst.
 */
static char *
wchar_to_utf8(char *dst, size_t cap, const WCHAR *src)
{
	size_t n = 0;
	unsigned long c;
	int len;

	if (cap == 0)
		return dst;
	for (; *src != 0; src++) {
		c = *src;
		if (c >= 0xd800 && c <= 0xdbff && src[1] >= 0xdc00 &&
		    src[1] <= 0xdfff) {
			c = 0x10000 + ((c - 0xd800) << 10) + (src[1] - 0xdc00);
			src++;
		} else if (c >= 0xd800 && c <= 0xdfff)
			c = 0xfffd;
		len = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
		if (n + len >= cap)
			break;
		switch (len) {
		case 1:
			dst[n++] = (char)c;
			break;
		case 2:
			dst[n++] = (char)(0xc0 | c >> 6);
			dst[n++] = (char)(0x80 | (c & 0x3f));
			break;
		case 3:
			dst[n++] = (char)(0xe0 | c >> 12);
			dst[n++] = (char)(0x80 | (c >> 6 & 0x3f));
			dst[n++] = (char)(0x80 | (c & 0x3f));
			break;
		default:
			dst[n++] = (char)(0xf0 | c >> 18);
			dst[n++] = (char)(0x80 | (c >> 12 & 0x3f));
			dst[n++] = (char)(0x80 | (c >> 6 & 0x3f));
			dst[n++] = (char)(0x80 | (c & 0x3f));
			break;
		}
	}
	dst[n] = '\0';
	return dst;
}

/* What netsh calls the kind of an entry, from its chain length. */
static const char *
entry_type(const WSAPROTOCOL_INFOW *p)
{
	switch (p->ProtocolChain.ChainLen) {
	case LAYERED_PROTOCOL:
		return "Layered Service Provider";
	case BASE_PROTOCOL:
		return "Base Service Provider";
	default:
		return "Layered Chain Entry";
	}
}

static const char *
family_name(int af)
{
	switch (af) {
	case AF_INET:
		return "AF_INET";
	case AF_INET6:
		return "AF_INET6";
	case AF_UNIX:
		return "AF_UNIX";
	default:
		return "AF_?";
	}
}

static const char *
type_name(int type)
{
	switch (type) {
	case SOCK_STREAM:
		return "SOCK_STREAM";
	case SOCK_DGRAM:
		return "SOCK_DGRAM";
	case SOCK_RAW:
		return "SOCK_RAW";
	case SOCK_SEQPACKET:
		return "SOCK_SEQPACKET";
	default:
		return "SOCK_?";
	}
}

/*
 * Print one entry as netsh does.  Returns 0, or -1 when WSCGetProviderPath
 * fails on a provider the catalog itself listed.
 */
static int
print_entry(WSAPROTOCOL_INFOW *p)
{
	WCHAR wpath[4096];
	char name[WSAPROTOCOL_LEN * 3 + 1], path[sizeof(wpath) / 2 * 3 + 1];
	const GUID *g = &p->ProviderId;
	int i, len = sizeof(wpath) / sizeof(wpath[0]), err = 0, rc = 0;

	if (WSCGetProviderPath(&p->ProviderId, wpath, &len, &err) != 0) {
		fprintf(stderr, "catalog: WSCGetProviderPath for entry %u: "
		    "%s (%d)\n", (unsigned)p->dwCatalogEntryId, wsa_name(err),
		    err);
		snprintf(path, sizeof(path), "(%s)", wsa_name(err));
		rc = -1;
	} else
		wchar_to_utf8(path, sizeof(path), wpath);

	printf("\nWinsock Catalog Provider Entry\n"
	    "------------------------------------------------------\n");
	printf("%-36s%s\n", "Entry Type:", entry_type(p));
	printf("%-36s%s\n", "Description:",
	    wchar_to_utf8(name, sizeof(name), p->szProtocol));
	printf("%-36s{%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X}\n",
	    "Provider ID:", (unsigned)g->Data1, g->Data2, g->Data3,
	    g->Data4[0], g->Data4[1], g->Data4[2], g->Data4[3], g->Data4[4],
	    g->Data4[5], g->Data4[6], g->Data4[7]);
	printf("%-36s%s\n", "Provider Path:", path);
	printf("%-36s%u\n", "Catalog Entry ID:",
	    (unsigned)p->dwCatalogEntryId);
	printf("%-36s%d\n", "Version:", p->iVersion);
	printf("%-36s%d\n", "Address Family:", p->iAddressFamily);
	printf("%-36s%d\n", "Max Address Length:", p->iMaxSockAddr);
	printf("%-36s%d\n", "Min Address Length:", p->iMinSockAddr);
	printf("%-36s%d\n", "Socket Type:", p->iSocketType);
	printf("%-36s%d\n", "Protocol:", p->iProtocol);
	printf("%-36s0x%x\n", "Service Flags:", (unsigned)p->dwServiceFlags1);
	printf("%-36s%d\n", "Protocol Chain Length:",
	    p->ProtocolChain.ChainLen);
	if (p->ProtocolChain.ChainLen > 1) {
		printf("%-36s", "Protocol Chain:");
		for (i = 0; i < p->ProtocolChain.ChainLen &&
		    i < MAX_PROTOCOL_CHAIN; i++)
			printf("%s%u", i ? ":" : "",
			    (unsigned)p->ProtocolChain.ChainEntries[i]);
		printf("\n");
	}
	return rc;
}

/* The protocol to ask for with a base entry's triple: raw IP needs one. */
static int
probe_protocol(const WSAPROTOCOL_INFOW *p)
{
	int want;

	if (p->iProtocol != 0 || p->iSocketType != SOCK_RAW)
		return p->iProtocol;
	want = p->iAddressFamily == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	return want <= p->iProtocol + p->iProtocolMaxOffset ? want : 0;
}

/* Whether a WSASocketW failure is the system's answer, not a fault. */
static int
expected_failure(int err)
{
	return err == WSAEACCES || err == WSAEAFNOSUPPORT ||
	    err == WSAEMFILE || err == WSAENOBUFS;
}

/*
 * Create a socket with the triple of base entry p, read its protocol info
 * back and close it.  Returns 0, or -1 when the API misbehaves.
 */
static int
try_socket(const WSAPROTOCOL_INFOW *p)
{
	WSAPROTOCOL_INFOW got;
	char name[WSAPROTOCOL_LEN * 3 + 1];
	socklen_t len = sizeof(got);
	SOCKET s;
	int af = p->iAddressFamily, type = p->iSocketType, err;
	int proto = probe_protocol(p);

	printf("%-8s %-14s %3d  ", family_name(af), type_name(type), proto);
	WSASetLastError(-1);
	s = WSASocketW(af, type, proto, NULL, 0, 0);
	err = WSAGetLastError();
	if (s == INVALID_SOCKET) {
		printf("%s (%d)\n", wsa_name(err), err);
		return expected_failure(err) ? 0 : -1;
	}
	if (err != 0) {
		printf("socket %lu, but last error %d\n", (unsigned long)s, err);
		closesocket(s);
		return -1;
	}
	memset(&got, 0, sizeof(got));
	if (getsockopt((int)s, SOL_SOCKET, SO_PROTOCOL_INFOW, &got,
	    &len) != 0) {
		printf("socket %lu, getsockopt(SO_PROTOCOL_INFOW) failed\n",
		    (unsigned long)s);
		closesocket(s);
		return -1;
	}
	printf("socket %lu, entry %u \"%s\"\n", (unsigned long)s,
	    (unsigned)got.dwCatalogEntryId,
	    wchar_to_utf8(name, sizeof(name), got.szProtocol));
	if (closesocket(s) != 0) {
		err = WSAGetLastError();
		printf("  closesocket: %s (%d)\n", wsa_name(err), err);
		return -1;
	}
	return 0;
}

/* Whether an earlier base entry in p[0..i) has the same triple as p[i]. */
static int
seen_kind(const WSAPROTOCOL_INFOW *p, int i)
{
	int j;

	for (j = 0; j < i; j++)
		if (p[j].ProtocolChain.ChainLen == BASE_PROTOCOL &&
		    p[j].iAddressFamily == p[i].iAddressFamily &&
		    p[j].iSocketType == p[i].iSocketType &&
		    probe_protocol(&p[j]) == probe_protocol(&p[i]))
			return 1;
	return 0;
}

int
main(void)
{
	WSADATA wsa;
	WSAPROTOCOL_INFOW *info = NULL;
	DWORD size = 0;
	int n, i, err = 0, rc, status = 0;

	if ((rc = WSAStartup(MAKEWORD(2, 2), &wsa)) != 0) {
		fprintf(stderr, "catalog: WSAStartup: %s (%d)\n", wsa_name(rc),
		    rc);
		return 1;
	}
	if (WSCEnumProtocols(NULL, NULL, &size, &err) != SOCKET_ERROR ||
	    err != WSAENOBUFS || size == 0) {
		fprintf(stderr, "catalog: WSCEnumProtocols did not ask for a "
		    "buffer (error %s, %lu bytes)\n", wsa_name(err),
		    (unsigned long)size);
		status = 1;
		goto out;
	}
	if ((info = malloc(size)) == NULL) {
		perror("catalog: malloc");
		status = 1;
		goto out;
	}
	if ((n = WSCEnumProtocols(NULL, info, &size, &err)) == SOCKET_ERROR) {
		fprintf(stderr, "catalog: WSCEnumProtocols: %s (%d)\n",
		    wsa_name(err), err);
		status = 1;
		goto out;
	}

	printf("%d catalog entries (%s)\n", n, wsa.szDescription);
	for (i = 0; i < n; i++)
		if (print_entry(&info[i]) != 0)
			status = 1;

	printf("\nOne socket of each base kind (WSASocketW):\n");
	for (i = 0; i < n; i++) {
		if (info[i].ProtocolChain.ChainLen != BASE_PROTOCOL ||
		    seen_kind(info, i))
			continue;
		if (try_socket(&info[i]) != 0)
			status = 1;
	}

out:
	free(info);
	if (WSACleanup() != 0) {
		err = WSAGetLastError();
		fprintf(stderr, "catalog: WSACleanup: %s (%d)\n",
		    wsa_name(err), err);
		status = 1;
	}
	return status;
}
