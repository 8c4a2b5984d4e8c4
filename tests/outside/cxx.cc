// cxx.cc - the public headers from C++: they compile, and their functions
// link with C names (extern "C").  Built against the installed library
// through pkg-config, like main.c.
#include <wspshim/winsock2.h>
#include <wspshim/ws2spi.h>

#include <cstdio>

static_assert(sizeof(WSAPROTOCOL_INFOW) == 628, "WSAPROTOCOL_INFOW size");

int
main()
{
	WSADATA wsa;
	WSAPROTOCOL_INFOW info;
	DWORD size = sizeof(info);
	INT err = 0;

	if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) {
		std::fprintf(stderr, "cxx: WSAStartup failed\n");
		return 1;
	}
	// One entry fits or the call asks for more; either way it linked.
	(void)WSCEnumProtocols(nullptr, &info, &size, &err);
	if (WSACleanup() != 0) {
		std::fprintf(stderr, "cxx: WSACleanup failed\n");
		return 1;
	}
	std::puts("ok");
	return 0;
}
