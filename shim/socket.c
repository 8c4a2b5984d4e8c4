/*
 * socket.c - socket() and socketpair().
 *
 * socket() selects a catalog entry exactly as WSASocket does.  When the
 * entry is a base with no layer over it, or nothing matches (AF_NETLINK,
 * AF_PACKET, ...), the real socket() runs and the descriptor stays
 * unmanaged: the chain costs nothing where there is no layer.
 */
#include "catalog.h"
#include "shim.h"

/* A new descriptor from libc: a number still in the table is stale. */
static int
shim_fresh(int fd)
{
	if (fd >= 0 && unlikely(fdtab_get(fd) != NULL))
		core_forget(fd);
	return fd;
}

WSPSHIM_EXPORT int
socket(int domain, int type, int protocol)
{
	const struct catalog_entry *e;
	DWORD flags;
	int t = type, err, fd;

	if (!shim_any_managed() || wsp_tls.depth != 0 || !core_ready())
		return shim_fresh(libc.socket(domain, type, protocol));
	wsp_tls.call = "socket";
	flags = wsa_type_flags(&t);
	if (catalog_select(catalog_current(), domain, t, protocol, &e) != 0 ||
	    !core_manages(e))
		return shim_fresh(libc.socket(domain, type, protocol));
	fd = core_socket(e, domain, t, protocol, NULL, 0, flags, 0, &err);
	if (fd < 0)
		return shim_fail(err);
	return fd;
}

/*
 * socketpair() has no WSP operation: the kernel makes the pair, and each
 * end is adopted through its chain (the shared-socket path) when the
 * catalog covers it.
 */
WSPSHIM_EXPORT int
socketpair(int domain, int type, int protocol, int sv[2])
{
	int rc;

	rc = libc.socketpair(domain, type, protocol, sv);
	if (rc != 0 || wsp_tls.depth != 0 || !core_ready())
		return rc;
	shim_fresh(sv[0]);
	shim_fresh(sv[1]);
	if (shim_any_managed()) {
		wsp_tls.call = "socketpair";
		core_adopt(sv[0]);
		core_adopt(sv[1]);
	}
	return 0;
}
