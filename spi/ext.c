/*
 * ext.c - the extension functions' GUIDs (Windows' values) and the
 * AcceptEx output layout, shared by the core and the base.
 */
#include <stdint.h>
#include <string.h>

#include "ext.h"

const GUID ext_guids[EXT_COUNT] = {
	[EXT_ACCEPTEX] = WSAID_ACCEPTEX,
	[EXT_GETACCEPTEXSOCKADDRS] = WSAID_GETACCEPTEXSOCKADDRS,
	[EXT_CONNECTEX] = WSAID_CONNECTEX,
	[EXT_DISCONNECTEX] = WSAID_DISCONNECTEX,
	[EXT_TRANSMITFILE] = WSAID_TRANSMITFILE,
	[EXT_TRANSMITPACKETS] = WSAID_TRANSMITPACKETS,
	[EXT_WSARECVMSG] = WSAID_WSARECVMSG,
	[EXT_WSASENDMSG] = WSAID_WSASENDMSG,
};

int
ext_index(const void *in, DWORD cbin)
{
	int i;

	if (in == NULL || cbin < sizeof(GUID))
		return -1;
	for (i = 0; i < EXT_COUNT; i++)
		if (memcmp(in, &ext_guids[i], sizeof(GUID)) == 0)
			return i;
	return -1;
}

/* Nothing: points *sa and *len at one stored address (NULL, 0 if none). */
static void
ext_addr(char *p, DWORD room, struct sockaddr **sa, LPINT len)
{
	DWORD off = p != NULL ? (DWORD)(ext_addr_at(p) - p) : 0;
	INT n;

	if (p == NULL || room < off) {
		n = 0;
	} else {
		memcpy(&n, p, sizeof(n));
		if (n < 0 || (DWORD)n > room - off)
			n = 0;
	}
	if (sa != NULL)
		*sa = n > 0 ? (struct sockaddr *)(void *)ext_addr_at(p) :
		    NULL;
	if (len != NULL)
		*len = n;
}

void
ext_getacceptexsockaddrs(PVOID buf, DWORD rxlen, DWORD locallen,
    DWORD remotelen, struct sockaddr **local, LPINT locallenp,
    struct sockaddr **remote, LPINT remotelenp)
{
	char *p = buf;

	if (p == NULL) {
		ext_addr(NULL, 0, local, locallenp);
		ext_addr(NULL, 0, remote, remotelenp);
		return;
	}
	ext_addr(p + rxlen, locallen, local, locallenp);
	ext_addr(p + rxlen + locallen, remotelen, remote, remotelenp);
}
