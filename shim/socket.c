/*
 * socket.c - socket() and socketpair().
 *
 * socket() selects a catalog entry exactly as WSASocket does.  When the
 * entry is a base with no layer over it, or nothing matches (AF_NETLINK,
 * AF_PACKET, ...), the real socket() runs and the descriptor stays
 * unmanaged: the chain costs nothing where there is no layer.  When a
 * base-only entry is managed all the same (WSPSHIM_MANAGE=all), the core
 * makes the socket without the SPI (core_socket_base); a chain with layers
 * gets its top WSPSocket called straight away (core_socket_top), as the
 * thread remembers the started chain with its selection.
 */
#include "catalog.h"
#include "provider.h"
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
 * What a thread's last socket() call selected.  Programs make the same
 * kind of socket over and over, so each thread remembers its last answer
 * (catalogs in force never change, and started chains are never freed),
 * keyed by the arguments as the program gave them.
 */
struct shim_last {
	const struct catalog	*c;
	const struct catalog_entry *e;	/* NULL: nothing matched */
	struct chain		*chain;	/* e's chain if managed and started */
	int			domain, type, protocol;
	int			managed;	/* core_manages(e) */
	int			busy;	/* a socket() of this thread reads it */
};

static __thread struct shim_last shim_last
    __attribute__((tls_model("initial-exec")));

/* Select for (domain, type, protocol) in catalog c into l (type with
 * socket()'s flag bits taken out in t). */
static void
shim_select(struct shim_last *l, const struct catalog *c, int domain,
    int type, int t, int protocol)
{
	int err;

	if (catalog_select(c, domain, t, protocol, &l->e) != 0)
		l->e = NULL;
	l->managed = l->e != NULL && core_manages(l->e);
	l->chain = l->managed ? chain_get(l->e, &err) : NULL;
	l->domain = domain;
	l->type = type;
	l->protocol = protocol;
	l->c = c;
}

/* The WSPSocket dwFlags for socket()'s type (as wsa_type_flags). */
static inline DWORD
shim_type_flags(int type)
{
	if (type == FROM_PROTOCOL_INFO)
		return 0;
	return ((type & SOCK_CLOEXEC) ? WSA_FLAG_NO_HANDLE_INHERIT : 0) |
	    ((type & SOCK_NONBLOCK) ? WSA_FLAG_WSPSHIM_NONBLOCK : 0);
}

/* socket() through the chain of entry e (NULL: unmanaged, to libc), with
 * t the type without its flag bits: the descriptor, or -1 and errno. */
static __attribute__((noinline)) int
shim_socket_chain(const struct catalog_entry *e, int domain, int type, int t,
    int protocol)
{
	int err, fd;

	if (e == NULL)
		return shim_fresh(libc.socket(domain, type, protocol));
	wsp_tls.call = "socket";	/* for the layers' WSPShimCallName */
	fd = core_socket(e, domain, t, protocol, NULL, 0,
	    shim_type_flags(type), 0, &err);
	if (fd < 0)
		return shim_fail(err);
	return fd;
}

/* socket() from a signal handler that interrupted this thread's socket():
 * the remembered selection is left to the interrupted call. */
static __attribute__((noinline)) int
shim_socket_nested(const struct catalog *c, int domain, int type, int t,
    int protocol)
{
	struct shim_last mine;

	shim_select(&mine, c, domain, type, t, protocol);
	return shim_socket_chain(mine.managed ? mine.e : NULL, domain, type,
	    t, protocol);
}

WSPSHIM_EXPORT int
socket(int domain, int type, int protocol)
{
	struct shim_last *l = &shim_last;
	const struct catalog *c;
	const struct catalog_entry *e;
	struct chain *ch;
	DWORD flags;
	int t, fd;

	if (!shim_any_managed() || wsp_tls.depth != 0 || !core_ready())
		return shim_fresh(libc.socket(domain, type, protocol));
	t = type == FROM_PROTOCOL_INFO ? type :
	    type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	c = catalog_current();
	if (unlikely(l->busy))
		return shim_socket_nested(c, domain, type, t, protocol);
	l->busy = 1;
	atomic_signal_fence(memory_order_seq_cst);
	if (l->c != c || l->domain != domain || l->type != type ||
	    l->protocol != protocol)
		shim_select(l, c, domain, type, t, protocol);
	e = l->managed ? l->e : NULL;
	ch = l->chain;
	atomic_signal_fence(memory_order_seq_cst);
	l->busy = 0;
	/* A started chain takes the core's direct paths; one that a
	 * WSACleanup stopped starts again through core_socket. */
	if (ch == NULL || !__atomic_load_n(&ch->started, __ATOMIC_ACQUIRE))
		return shim_socket_chain(e, domain, type, t, protocol);
	flags = shim_type_flags(type);
	if (ch->base_only)
		fd = core_socket_base(ch, domain, t, protocol, flags);
	else {
		wsp_tls.call = "socket";	/* for WSPShimCallName */
		fd = core_socket_top(ch, domain, t, protocol, flags);
	}
	return fd >= 0 ? fd : shim_fail(-fd);
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
