/*
 * winsock.c - the start of the targets that call the Winsock API
 * (addrstr, wsasocket, sockopt): the built-in catalog, no layers, no
 * WSPSHIM_MANAGE, and WSAStartup once for the whole run.
 */
#include <stdlib.h>

#include "fuzz.h"

#include <wspshim/winsock2.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	WSADATA wd;

	(void)argc;
	(void)argv;
	setenv("WSPSHIM_CATALOG", "/nonexistent/wspshim-fuzz/catalog", 1);
	unsetenv("WSPSHIM_LAYERS");
	unsetenv("WSPSHIM_MANAGE");
	FZ_CHECK(WSAStartup(MAKEWORD(2, 2), &wd) == 0);
	return 0;
}
