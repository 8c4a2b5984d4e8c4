/*
 * installer.c - an LSP installer following the Platform SDK's steps, in
 * one process, then a socket through what it installed; and a process
 * that sees another process's install at its next WSAStartup.  Run under
 * the preload by test_catalog_live.sh; prints what it found and exits 0,
 * or 1 with a line saying what went wrong.
 *
 *   installer sdk LAYER_PATH
 *	install the layered entry (the test LSP's GUID), enumerate to learn
 *	its id, install a chain over TCP/IPv4 (another GUID, as the sample
 *	does), enumerate to learn the chain's id, put it first with
 *	WSCWriteProviderOrder, then make a TCP socket with socket() and
 *	exchange bytes over loopback with a socket made before the install:
 *	the new socket's SO_PROTOCOL_INFOW names the chain, the old one
 *	still works.  Prints "layer=ID chain=ID".
 *   installer watch
 *	make a TCP socket, print "before=ID" (its SO_PROTOCOL_INFOW entry),
 *	wait for a line on stdin (another process installs meanwhile),
 *	WSAStartup, make another, print "after=ID".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <wspshim/ws2spi.h>

static const GUID lsp_guid = {	/* tests/layers/lsp/lsp.c's */
	0x5f1e3a8c, 0x7b2d, 0x4c61,
	{ 0x9e, 0x0a, 0x3d, 0x4b, 0x5c, 0x6d, 0x7e, 0x8f }
};
static const GUID chain_guid = {
	0x5f1e3a8c, 0x7b2d, 0x4c61,
	{ 0x9e, 0x0a, 0x3d, 0x4b, 0x5c, 0x6d, 0x7e, 0x90 }
};

/* Print a line and exit 1. */
static void __attribute__((noreturn, format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(1);
}

/* The whole catalog (malloc'd, *n entries), as the SDK sample gets it. */
static WSAPROTOCOL_INFOW *
enumerate(int *n)
{
	WSAPROTOCOL_INFOW *buf;
	DWORD len = 0;
	int err = 0;

	if (WSCEnumProtocols(NULL, NULL, &len, &err) != SOCKET_ERROR ||
	    err != WSAENOBUFS)
		fail("WSCEnumProtocols sizing: error %d", err);
	if ((buf = malloc(len)) == NULL)
		fail("out of memory");
	if ((*n = WSCEnumProtocols(NULL, buf, &len, &err)) == SOCKET_ERROR)
		fail("WSCEnumProtocols: error %d", err);
	return buf;
}

/* The id of the entry of provider g with chain length len, or 0. */
static DWORD
find(const GUID *g, int len)
{
	WSAPROTOCOL_INFOW *v;
	DWORD id = 0;
	int n, i;

	v = enumerate(&n);
	for (i = 0; i < n && id == 0; i++)
		if (memcmp(&v[i].ProviderId, g, sizeof(*g)) == 0 &&
		    v[i].ProtocolChain.ChainLen == len)
			id = v[i].dwCatalogEntryId;
	free(v);
	return id;
}

/* The catalog entry id a socket's SO_PROTOCOL_INFOW names. */
static DWORD
entry_of(int fd)
{
	WSAPROTOCOL_INFOW info;
	socklen_t len = sizeof(info);

	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL_INFOW, &info, &len) != 0)
		fail("SO_PROTOCOL_INFOW: errno %d", errno);
	return info.dwCatalogEntryId;
}

/* Set w to the ASCII string s. */
static void
wset(WCHAR *w, const char *s)
{
	while ((*w++ = (WCHAR)(unsigned char)*s++) != 0)
		;
}

static int
sdk(const char *path)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	WSAPROTOCOL_INFOW *v, base, layered, chain;
	WCHAR wpath[1024];
	socklen_t alen = sizeof(a);
	DWORD layer_id, chain_id, *order;
	char buf[8];
	int n, i, err = 0, lfd, old, cfd, sfd, rc;
	size_t k;

	/* A listener made before anything is installed. */
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    bind(lfd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(lfd, 4) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen) != 0)
		fail("listener: errno %d", errno);
	old = (int)entry_of(lfd);
	if (old != 1001)
		fail("the listener is on entry %d, not TCP's 1001", old);
	for (k = 0; path[k] != '\0' && k + 1 < 1024; k++)
		wpath[k] = (WCHAR)(unsigned char)path[k];
	wpath[k] = 0;

	/* 1. The base entry to layer over: TCP over IPv4. */
	v = enumerate(&n);
	for (i = 0; i < n; i++)
		if (v[i].ProtocolChain.ChainLen == BASE_PROTOCOL &&
		    v[i].iAddressFamily == AF_INET &&
		    v[i].iSocketType == SOCK_STREAM &&
		    v[i].iProtocol == IPPROTO_TCP)
			break;
	if (i == n)
		fail("no TCP/IPv4 base entry");
	base = v[i];
	free(v);

	/* 2. The layered entry, then its id from the catalog. */
	layered = base;
	layered.ProtocolChain.ChainLen = LAYERED_PROTOCOL;
	layered.dwServiceFlags1 &= ~(DWORD)XP1_IFS_HANDLES;
	layered.dwProviderFlags |= PFL_HIDDEN;
	wset(layered.szProtocol, "sdk lsp");
	if (WSCInstallProvider((LPGUID)&lsp_guid, wpath, &layered, 1,
	    &err) != 0)
		fail("WSCInstallProvider (layered): error %d", err);
	if ((layer_id = find(&lsp_guid, LAYERED_PROTOCOL)) == 0)
		fail("the layered entry just installed is not enumerated");

	/* 3. The chain over TCP, under the chain's own GUID. */
	chain = base;
	chain.ProtocolChain.ChainLen = 2;
	chain.ProtocolChain.ChainEntries[0] = layer_id;
	chain.ProtocolChain.ChainEntries[1] = base.dwCatalogEntryId;
	chain.dwServiceFlags1 &= ~(DWORD)XP1_IFS_HANDLES;
	wset(chain.szProtocol, "sdk lsp over [TCP/IP]");
	if (WSCInstallProvider((LPGUID)&chain_guid, wpath, &chain, 1,
	    &err) != 0)
		fail("WSCInstallProvider (chain): error %d", err);
	if ((chain_id = find(&chain_guid, 2)) == 0)
		fail("the chain just installed is not enumerated");

	/* 4. Reorder: the chain first, the rest as they were. */
	v = enumerate(&n);
	if ((order = calloc((size_t)n, sizeof(*order))) == NULL)
		fail("out of memory");
	order[0] = chain_id;
	for (i = 0, k = 1; i < n; i++)
		if (v[i].dwCatalogEntryId != chain_id)
			order[k++] = v[i].dwCatalogEntryId;
	free(v);
	if ((rc = WSCWriteProviderOrder(order, (DWORD)n)) != 0)
		fail("WSCWriteProviderOrder: %d", rc);
	free(order);
	v = enumerate(&n);
	if (v[0].dwCatalogEntryId != chain_id)
		fail("the chain is not first after the reorder (%u is)",
		    v[0].dwCatalogEntryId);
	free(v);

	/* 5. A socket now goes through the chain; the old one still works. */
	if ((cfd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		fail("socket: errno %d", errno);
	if (entry_of(cfd) != chain_id)
		fail("the new socket is on entry %u, not the chain %u",
		    entry_of(cfd), chain_id);
	if (connect(cfd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    (sfd = accept(lfd, NULL, NULL)) < 0)
		fail("connect/accept: errno %d", errno);
	if (send(cfd, "sdk", 3, 0) != 3 || recv(sfd, buf, 3, MSG_WAITALL) != 3 ||
	    memcmp(buf, "sdk", 3) != 0 || send(sfd, "ok", 2, 0) != 2 ||
	    recv(cfd, buf, 2, MSG_WAITALL) != 2 || memcmp(buf, "ok", 2) != 0)
		fail("exchange: errno %d", errno);
	close(cfd);
	close(sfd);
	close(lfd);
	printf("layer=%u chain=%u\n", layer_id, chain_id);
	return 0;
}

static int
watch(void)
{
	WSADATA wd;
	char line[64];
	int a, b;

	if ((a = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		fail("socket: errno %d", errno);
	printf("before=%u\n", entry_of(a));
	fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL)
		fail("no go-ahead on stdin");
	if (WSAStartup(MAKEWORD(2, 2), &wd) != 0)
		fail("WSAStartup failed");
	if ((b = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		fail("socket: errno %d", errno);
	printf("after=%u old=%u\n", entry_of(b), entry_of(a));
	close(a);
	close(b);
	WSACleanup();
	return 0;
}

int
main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && strcmp(argv[1], "sdk") == 0)
		return sdk(argv[2]);
	if (argc == 2 && strcmp(argv[1], "watch") == 0)
		return watch();
	fprintf(stderr, "usage: installer sdk LAYER_PATH | installer watch\n");
	return 2;
}
