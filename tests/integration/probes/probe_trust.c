/*
 * probe_trust.c - the start-up trust checks in a process that may run
 * setuid root (test_trust.sh runs a setuid-root copy as nobody).
 *
 * Unlike the other probes it links the core itself, as the wspshim
 * command does: the kernel drops LD_PRELOAD for a setuid program, and
 * under secure execution the library reads only the system catalog,
 * which a test must not touch.  So it hands the catalog file named on
 * the command line to the same start-up function catfile_load uses
 * (catfile_startup_catalog: owner and mode checks, strict under secure
 * execution or for root), publishes the result, and makes a TCP socket,
 * whose chain loads the plugins the file names through the loader's own
 * checks.  It prints what it is ("secure=1 euid=0") and the socket's
 * result; the library's log lines go to stderr.
 *
 *	probe_trust CATALOG
 */
#include <stdio.h>
#include <sys/auxv.h>
#include <unistd.h>

#include <wspshim/winsock2.h>

#include "catalog.h"
#include "catfile.h"
#include "provider.h"

int
main(int argc, char **argv)
{
	const struct catalog *c;
	WSADATA wd;
	SOCKET s;

	if (argc != 2) {
		fprintf(stderr, "usage: probe_trust CATALOG\n");
		return 2;
	}
	printf("secure=%d euid=%d\n", getauxval(AT_SECURE) != 0,
	    (int)geteuid());
	if (WSAStartup(MAKEWORD(2, 2), &wd) != 0) {
		printf("WSAStartup failed\n");
		return 1;
	}
	c = catfile_startup_catalog(argv[1], 0);
	printf("catalog %s\n", c == catfile_closed() ? "closed" :
	    c == catalog_builtin() ? "builtin" : "file");
	/* As catfile_load does: the fail-closed provider never loads. */
	if (c == catfile_closed())
		provider_set_unusable(c->entries[0].info.dwCatalogEntryId,
		    CATFILE_CLOSED_PATH);
	if (c != catalog_builtin())
		catalog_set_current(c);
	s = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, 0);
	if (s == INVALID_SOCKET)
		printf("socket error %d\n", WSAGetLastError());
	else
		printf("socket ok\n");
	fflush(stdout);
	return 0;
}
