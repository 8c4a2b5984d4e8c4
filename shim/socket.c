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

/*
 * The catalog entry (domain, type, protocol) selects in catalog c: 0, or
 * a WSA code.  Programs make the same kind of socket over and over, so
 * each thread remembers its last answer (catalogs in force never change).
 */
static int
shim_select(const struct catalog *c, int domain, int type, int protocol,
    const struct catalog_entry **e)
{
	static __thread struct {
		const struct catalog	*c;
		const struct catalog_entry *e;
		int			domain, type, protocol;
	} last __attribute__((tls_model("initial-exec")));
	int err;

	if (last.c == c && last.domain == domain && last.type == type &&
	    last.protocol == protocol) {
		*e = last.e;
		return 0;
	}
	if ((err = catalog_select(c, domain, type, protocol, e)) != 0)
		return err;
	last.c = c;
	last.e = *e;
	last.domain = domain;
	last.type = type;
	last.protocol = protocol;
	return 0;
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
	if (shim_select(catalog_current(), domain, t, protocol, &e) != 0 ||
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
