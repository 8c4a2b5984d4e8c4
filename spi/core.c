/*
 * core.c - chain sockets: creation, adoption, dup sharing and close.
 *
 * The data path never comes here: it reads the fd table and calls the top
 * provider.  The usual life of a socket takes no lock either: creation
 * claims an empty table slot with one compare-and-swap, and closing a
 * socket no dup shares takes the slot back and its reference count from 1
 * to 0 the same way.  Everything else that changes the table (dup sharing,
 * stale entries, adoption markers) runs under one lifecycle lock taken
 * with signals blocked, so a signal handler that closes a socket cannot
 * deadlock against the thread it interrupted, and fork() sees it released.
 *
 * The rules that make the two mix: whoever takes a wsock out of a slot
 * owns that descriptor's reference; retirement is the count going to 0,
 * which happens once; references are added (core_dup) only under the lock
 * and only to a count above 0.
 *
 * A chain with no layer is the base alone, and a socket() on one is made
 * without it (core_socket_base): the kernel socket is published with a
 * token in place of a base socket (WSOCK_LAZY), because the hooks' direct
 * paths never need one.  The first call that goes through the SPI makes
 * it (core_sock_ready, from shim_resolve and core_manage: every consumer
 * of a wsock from the table), without the lock.  The extra rules:
 *  - the token is unique to one life of the wsock, and moves only by
 *    compare-and-swap: to a base handle (core_materialize: the handle
 *    field first, then the base field) or to dead (retirement); whichever
 *    comes first wins, and the loser releases what it made, so a base
 *    socket exists exactly when the base field holds one, and a wsock
 *    that was closed and reused in the meantime is never touched;
 *  - readers look at the base field (bit 0 clear: a base handle) before
 *    they use the handle;
 *  - the descriptor of a base-only chain's socket is the core's to close:
 *    kfd, which only core_drop changes (under the lock, storing kfd
 *    before it looks for a base socket to re-point, while a
 *    materialization publishes its base socket before it reads kfd, so
 *    one of the two sees the other); the base socket is only freed
 *    (base_release), so a stale descriptor it may hold for a moment is
 *    never closed.
 * Each thread keeps one freed wsock (wsock_spare), so a thread that makes
 * and closes sockets in turn stays off the shared free list.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base.h"
#include "catalog.h"
#include "catfile.h"
#include "core.h"
#include "errmap.h"
#include "export.h"
#include "layerenv.h"
#include "libc.h"
#include "log.h"
#include "pool.h"
#include "tls.h"

static struct pool wsock_pool = POOL_INIT(struct wsock);

/*
 * Each thread keeps the last wsock it freed, so a thread that closes and
 * makes sockets in turn does not go to the shared free list each time.
 * It is taken and left with one exchange each, which a signal handler
 * cannot split; a thread's key destructor gives it back to the pool.  A
 * fork() child keeps only the forking thread's (the other threads' are
 * lost to the child: at most one object each).
 */
static __thread _Atomic(struct wsock *) wsock_spare
    __attribute__((tls_model("initial-exec")));
static __thread int wsock_spare_keyed
    __attribute__((tls_model("initial-exec")));
static pthread_key_t wsock_spare_key;
static int wsock_spare_ok;		/* the key exists */

/* A wsock to fill in (all fields, as pool_get_raw), or NULL. */
static inline struct wsock *
core_wsock_get(void)
{
	struct wsock *ws;

	ws = atomic_exchange_explicit(&wsock_spare, NULL, memory_order_relaxed);
	if (ws == NULL)
		return pool_get_raw(&wsock_pool);
	atomic_thread_fence(memory_order_release);	/* as pool_get_raw */
	return ws;
}

/* Nothing: ws, freed, becomes the thread's spare, or goes to the pool. */
static inline void
core_wsock_spare(struct wsock *ws)
{
	ws = atomic_exchange_explicit(&wsock_spare, ws, memory_order_relaxed);
	if (ws != NULL)
		pool_put(&wsock_pool, ws);
}

/* core_wsock_put() on a thread's first time: registers the key that
 * gives its spare back when it exits. */
static __attribute__((noinline)) void
core_wsock_put_first(struct wsock *ws)
{
	if (!__atomic_load_n(&wsock_spare_ok, __ATOMIC_ACQUIRE) ||
	    pthread_setspecific(wsock_spare_key, &wsock_spare_ok) != 0) {
		pool_put(&wsock_pool, ws);
		return;
	}
	wsock_spare_keyed = 1;
	core_wsock_spare(ws);
}

/* Nothing: ws is free (it may be handed out again at once). */
static inline void
core_wsock_put(struct wsock *ws)
{
	if (__builtin_expect(!wsock_spare_keyed, 0))
		core_wsock_put_first(ws);
	else
		core_wsock_spare(ws);
}

/* The thread's key destructor: its spare goes back to the pool. */
static void
core_wsock_spare_free(void *unused)
{
	struct wsock *ws;

	wsock_spare_keyed = 0;
	ws = atomic_exchange_explicit(&wsock_spare, NULL, memory_order_relaxed);
	if (ws != NULL)
		pool_put(&wsock_pool, ws);
}

static pthread_mutex_t life_lock = PTHREAD_MUTEX_INITIALIZER;
int core_state;			/* 0 new, 1 starting, 2 ready */
static int manage_all;		/* WSPSHIM_MANAGE=all: base-only too */

/* Take the lifecycle lock with every signal blocked; *old gets the mask. */
static void
life_lock_take(sigset_t *old)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, old);
	pthread_mutex_lock(&life_lock);
}

static void
life_lock_drop(const sigset_t *old)
{
	pthread_mutex_unlock(&life_lock);
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

static void
core_atfork_prepare(void)
{
	pthread_mutex_lock(&life_lock);
	provider_atfork_prepare();
}

static void
core_atfork_parent(void)
{
	provider_atfork_parent();
	pthread_mutex_unlock(&life_lock);
}

static void
core_atfork_child(void)
{
	provider_atfork_child();
	pthread_mutex_init(&life_lock, NULL);
}

/* Whether any socket can be managed: WSPSHIM_MANAGE=all, or a catalog
 * entry with layers.  When none can, nothing is ever adopted. */
static int
core_any_managed(void)
{
	const struct catalog *c = catalog_current();
	size_t i;

	if (manage_all)
		return 1;
	for (i = 0; i < c->count; i++)
		if (c->entries[i].info.ProtocolChain.ChainLen > 1)
			return 1;
	return 0;
}

/* Mark every socket open now (inherited across exec, or made before the
 * core was ready) for adoption on first use, when any can be managed:
 * otherwise the first use of each would cost getsockopt calls for
 * nothing. */
static void
core_mark_inherited(void)
{
	struct dirent *d;
	struct stat st;
	DIR *dir;
	int fd, self;

	if (!core_any_managed() || (dir = opendir("/proc/self/fd")) == NULL)
		return;
	self = dirfd(dir);
	while ((d = readdir(dir)) != NULL) {
		if (d->d_name[0] < '0' || d->d_name[0] > '9')
			continue;
		fd = atoi(d->d_name);
		if (fd == self || !fdtab_fits(fd))
			continue;
		if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode))
			fdtab_swap(fd, FDTAB_ADOPT);
	}
	closedir(dir);
}

int
core_init(void)
{
	int expected = 0;
	const char *m;

	if (__atomic_load_n(&core_state, __ATOMIC_ACQUIRE) == 2)
		return 0;
	if (!__atomic_compare_exchange_n(&core_state, &expected, 1, 0,
	    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return __atomic_load_n(&core_state, __ATOMIC_ACQUIRE) == 2 ?
		    0 : -1;
	wsp_tls.depth++;
	libc_init();
	m = getenv("WSPSHIM_MANAGE");
	manage_all = m != NULL && strcmp(m, "all") == 0;
	/* The catalog file, before anything reads the catalog in force. */
	catfile_load(provider_set_unusable);
	/* WSPSHIM_LAYERS goes over the catalog in force (the catalog
	 * file's, loaded first), before any socket is made through the core;
	 * a layer it cannot find fails its chains through the loader. */
	layerenv_init(provider_set_unusable);
	fdtab_init();
	if (pthread_key_create(&wsock_spare_key, core_wsock_spare_free) == 0)
		__atomic_store_n(&wsock_spare_ok, 1, __ATOMIC_RELEASE);
	pthread_atfork(core_atfork_prepare, core_atfork_parent,
	    core_atfork_child);
	core_mark_inherited();
	wsp_tls.depth--;
	__atomic_store_n(&core_state, 2, __ATOMIC_RELEASE);
	return 0;
}

int
core_manages(const struct catalog_entry *e)
{
	return manage_all || e->info.ProtocolChain.ChainLen > 1;
}

/* Another descriptor than fd that names ws, or -1. */
static int
core_other_fd(const struct wsock *ws, int fd)
{
	unsigned i, hi = fdtab_high();

	if (ws->alt != fd && ws->alt >= 0 && fdtab_get(ws->alt) == ws)
		return ws->alt;
	for (i = 0; i < hi; i++)
		if ((int)i != fd && fdtab_get((int)i) == ws)
			return (int)i;
	return -1;
}

/* Count one more descriptor for ws, unless its count already reached 0
 * (a lock-free close is retiring it): 1 if counted. */
static int
core_ref(struct wsock *ws)
{
	int n = atomic_load(&ws->fdrefs);

	do {
		if (n <= 0)
			return 0;
	} while (!atomic_compare_exchange_weak(&ws->fdrefs, &n, n + 1));
	return 1;
}

/*
 * Drop descriptor fd's reference to ws (already taken out of the table).
 * kernel_closed: the kernel no longer has fd for this socket (dup2 over it,
 * or closed behind our back), so no close() of fd may happen.  Otherwise
 * the descriptor is closed here, unless it is the socket's last one: then
 * the chain's WSPCloseSocket closes it.  Called with the lifecycle lock
 * held and fd's reference owned (so the count is at least 1, and above 1
 * whenever another descriptor also holds one: a lock-free close, which
 * only takes a count from 1 to 0, cannot race this decision).  Returns 0, -1 with *err, or 1 when fd was the last descriptor:
 * the caller then runs core_retire(ws) once it has dropped the lock (no
 * provider is ever called under it: a layer may take locks of its own,
 * and fork handlers take this one).
 */
static int
core_drop(struct wsock *ws, int fd, int kernel_closed, int *err)
{
	int other, rc = 0;

	if (atomic_load(&ws->fdrefs) > 1) {
		if (atomic_load(&ws->kfd) == fd) {
			other = core_other_fd(ws, fd);
			if (other >= 0) {
				/* kfd first: see core_materialize. */
				atomic_store(&ws->kfd, other);
				base_set_fd(atomic_load(&ws->base), other);
			}
		}
		if (ws->alt == fd)
			ws->alt = -1;
		atomic_fetch_sub(&ws->fdrefs, 1);
		if (!kernel_closed && libc.close(fd) != 0) {
			*err = errmap_from_errno(errno);
			rc = -1;
		}
		return rc;
	}
	atomic_store(&ws->fdrefs, 0);
	if (kernel_closed) {
		base_detach(ws->base);
		atomic_store(&ws->kfd, -1);	/* for a lazy wsock */
	}
	return 1;
}

/* Close the descriptor of a base-only chain's socket, as the base's
 * WSPCloseSocket would: 0, or -1 with *err. */
static int
core_close_kfd(struct wsock *ws, int *err)
{
	int fd = atomic_load_explicit(&ws->kfd, memory_order_relaxed);

	/* Linux frees the descriptor even when close() reports EINTR. */
	if (fd >= 0 && libc.close(fd) != 0 && errno != EINTR) {
		*err = errmap_from_errno(errno);
		return -1;
	}
	return 0;
}

/* The chain's WSPCloseSocket for ws, a socket of a chain with layers
 * whose last descriptor is gone: 0, or -1 with *err.  The caller then
 * frees ws (core_retired). */
static inline __attribute__((always_inline)) int
core_retire_top(struct wsock *ws, int *err)
{
	int rc;

	errmap_clear_native();
	wsp_tls.depth++;
	rc = ws->procs->lpWSPCloseSocket(ws->handle, err);
	wsp_tls.depth--;
	return rc == 0 ? 0 : -1;
}

/* Nothing: ws, retired, leaves its chain's count and is free. */
static inline __attribute__((always_inline)) void
core_retired(struct wsock *ws)
{
	__atomic_fetch_sub(&ws->chain->live, 1, __ATOMIC_RELEASE);
	core_wsock_put(ws);
}

/* Run the chain's WSPCloseSocket for a socket whose last descriptor is
 * gone, and free it.  0, or -1 with *err. */
static int
core_retire(struct wsock *ws, int *err)
{
	SOCKET b;
	int rc;

	if (!ws->chain->base_only) {
		rc = core_retire_top(ws, err);
	} else {
		errmap_clear_native();
		/*
		 * The base alone: the core closes the descriptor it tracks
		 * (kfd, which core_drop keeps right under the lock) and only
		 * frees the base socket, whose own descriptor a racing
		 * core_materialize() may still be setting.  A lazy wsock:
		 * whoever moves the token on, this or core_materialize(),
		 * decides whether a base socket exists.
		 */
		b = atomic_load(&ws->base);
		if ((b & 3) != WSOCK_LAZY || !atomic_compare_exchange_strong(
		    &ws->base, &b, b | WSOCK_DEAD))
			base_release(b);	/* handle == base */
		rc = core_close_kfd(ws, err);
	}
	core_retired(ws);
	return rc == 0 ? 0 : -1;
}

/* Close a chain handle that never made it into the table. */
static void
core_abandon(struct chain *c, SOCKET h)
{
	int err;

	wsp_tls.depth++;
	c->procs->lpWSPCloseSocket(h, &err);
	wsp_tls.depth--;
}

/* core_learn() when the chain made no base socket, or several, in the
 * call that returned h: the answers asked down the chain. */
static __attribute__((noinline)) int
core_learn_ask(struct chain *c, SOCKET h, int *fd, SOCKET *base, int *err)
{
	DWORD n;
	int rc;

	wsp_tls.depth++;
	rc = c->procs->lpWSPIoctl(h, SIO_BASE_HANDLE, NULL, 0, fd,
	    sizeof(*fd), &n, NULL, NULL, NULL, err) != 0 ||
	    c->procs->lpWSPIoctl(h, SIO_BSP_HANDLE, NULL, 0, base,
	    sizeof(*base), &n, NULL, NULL, NULL, err) != 0;
	wsp_tls.depth--;
	if (rc == 0)
		return 0;
	log_once("catalog entry %u: a provider does not forward "
	    "SIO_BASE_HANDLE/SIO_BSP_HANDLE; its sockets fail",
	    c->entry->info.dwCatalogEntryId);
	*err = WSAEPROVIDERFAILEDINIT;
	return -1;
}

/*
 * The kernel descriptor and base handle of chain handle h: 0, or -1 with
 * *err (h is left open).  made is what the base made during the call
 * that returned h (see core_made_since); the descriptor it was made with
 * is the base's record (base_made_fd), as nothing can have re-pointed a
 * base socket that is in no table yet.  The record is read before the
 * handle is checked again: a signal handler that made or closed a socket
 * on this thread since core_made_since() changed the handle (handles are
 * never reused), and then the base socket is asked.
 */
static inline int
core_learn(struct chain *c, SOCKET h, SOCKET made, int *fd, SOCKET *base,
    int *err)
{
	int kfd;

	if (__builtin_expect(made != INVALID_SOCKET, 1)) {
		kfd = base_made_fd;
		atomic_signal_fence(memory_order_seq_cst);
		if (__builtin_expect(wsp_tls.made_base == made, 1)) {
			*fd = kfd;
			*base = made;
			return 0;
		}
		if ((*fd = base_kernel_fd(made)) >= 0) {
			*base = made;
			return 0;
		}
	}
	return core_learn_ask(c, h, fd, base, err);
}

/* Publish ws under fd, whose slot still names something (a stale entry:
 * the number was closed behind our back, or a marker).  Returns fd. */
static int
core_publish_stale(struct wsock *ws, int fd)
{
	struct wsock *old;
	sigset_t mask;
	int e2;

	life_lock_take(&mask);
	old = fdtab_swap(fd, ws);
	if (!fdtab_is_sock(old) || core_drop(old, fd, 1, &e2) != 1)
		old = NULL;
	life_lock_drop(&mask);
	if (old != NULL)
		core_retire(old, &e2);
	return fd;
}

/* Nothing: closes a descriptor of ours, leaving errno as it was. */
static void
core_close_quiet(int fd)
{
	int saved = errno;

	(void)libc.close(fd);
	errno = saved;
}

/*
 * Take chain handle h, whose base handle is base and kernel descriptor fd,
 * into a new wsock and publish it under fd.  fd, or -1 with *err (h is
 * closed).
 */
static inline __attribute__((always_inline)) int
core_insert(struct chain *c, SOCKET h, SOCKET base, int fd, unsigned wflags,
    int *err)
{
	struct wsock *ws;

	if (!fdtab_fits(fd) || (ws = core_wsock_get()) == NULL) {
		core_abandon(c, h);
		*err = fdtab_fits(fd) ? WSAENOBUFS : WSAEMFILE;
		return -1;
	}
	ws->procs = c->procs;
	atomic_store_explicit(&ws->handle, h, memory_order_relaxed);
	atomic_store_explicit(&ws->base, base, memory_order_relaxed);
	ws->chain = c;
	ws->flags = wflags;
	ws->alt = -1;
	atomic_store(&ws->fdrefs, 1);
	atomic_store(&ws->kfd, fd);
	__atomic_fetch_add(&c->live, 1, __ATOMIC_RELAXED);

	/* A number nobody names (the usual case) takes no lock. */
	if (fdtab_claim(fd, ws))
		return fd;
	return core_publish_stale(ws, fd);
}

/* core_publish(), inline in the core's own callers. */
static inline __attribute__((always_inline)) int
core_publish_in(struct chain *c, SOCKET h, SOCKET made, unsigned wflags,
    int *err)
{
	SOCKET base = INVALID_SOCKET;
	int fd = -1;

	if (core_learn(c, h, made, &fd, &base, err) != 0) {
		core_abandon(c, h);
		return -1;
	}
	return core_insert(c, h, base, fd, wflags, err);
}

int
core_publish(struct chain *c, SOCKET h, SOCKET made, unsigned wflags,
    int *err)
{
	return core_publish_in(c, h, made, wflags, err);
}

int
core_socket_base(struct chain *c, int af, int type, int protocol,
    DWORD flags)
{
	const WSAPROTOCOL_INFOW *info = &c->entry->info;
	struct wsock *ws;
	SOCKET lazy;
	int fd;

	base_socket_args(info, &af, &type, &protocol);
	fd = libc.socket(af, type | base_open_flags(flags), protocol);
	if (fd < 0)
		return -errmap_from_errno(errno);
	if (!fdtab_fits(fd) || (ws = core_wsock_get()) == NULL) {
		core_close_quiet(fd);
		errmap_clear_native();	/* the code is ours, not the kernel's */
		return fdtab_fits(fd) ? -WSAENOBUFS : -WSAEMFILE;
	}
	lazy = (SOCKET)++ws->gen << 2 | WSOCK_LAZY;
	ws->procs = c->procs;
	atomic_store_explicit(&ws->handle, lazy, memory_order_relaxed);
	atomic_store_explicit(&ws->base, lazy, memory_order_relaxed);
	ws->chain = c;
	ws->flags = 0;
	ws->dwflags = flags;
	ws->alt = -1;
	atomic_store_explicit(&ws->fdrefs, 1, memory_order_relaxed);
	atomic_store_explicit(&ws->kfd, fd, memory_order_relaxed);
	__atomic_fetch_add(&c->live, 1, __ATOMIC_RELAXED);
	if (fdtab_claim(fd, ws))
		return fd;
	return core_publish_stale(ws, fd);
}

/*
 * The chain's WSPSocket with top, the struct for the top provider, and the
 * new socket published: its descriptor, or -1 with *err.  The base socket
 * the call made tells the core the descriptor (core_learn), so the usual
 * socket costs the providers' own work and one table slot.
 */
static inline __attribute__((always_inline)) int
core_socket_call(struct chain *c, int af, int type, int protocol,
    LPWSAPROTOCOL_INFOW top, GROUP g, DWORD flags, unsigned wflags,
    int *err)
{
	unsigned mark;
	SOCKET h;

	*err = 0;
	mark = core_made_mark();
	wsp_tls.depth++;
	errmap_clear_native();
	h = c->procs->lpWSPSocket(af, type, protocol, top, g, flags, err);
	wsp_tls.depth--;
	if (h == INVALID_SOCKET) {
		if (*err == 0)
			*err = WSASYSCALLFAILURE;
		return -1;
	}
	return core_publish_in(c, h, core_made_since(mark), wflags, err);
}

/* dwFlags a base-only chain's socket may have and still be made by
 * base_socket_direct(). */
#define CORE_DIRECT_FLAGS	(WSA_FLAG_NO_HANDLE_INHERIT |		\
				 WSA_FLAG_WSPSHIM_NONBLOCK)

int
core_socket(const struct catalog_entry *e, int af, int type, int protocol,
    LPWSAPROTOCOL_INFOW info, GROUP g, DWORD flags, unsigned wflags,
    int *err)
{
	WSAPROTOCOL_INFOW pass, *top;
	struct chain *c;
	SOCKET h;
	int fd;

	if ((c = chain_get(e, err)) == NULL)
		return -1;
	/*
	 * A chain with no layer is the base alone, and what the base's
	 * WSPSocket does with no struct, no group and no flags but socket()'s
	 * is the kernel call: make the socket without the dispatch and the
	 * checks the selection already made.
	 */
	if (c->base_only && info == NULL && g == 0 &&
	    (flags & ~(DWORD)CORE_DIRECT_FLAGS) == 0) {
		if ((wflags & WSOCK_API) == 0) {
			fd = core_socket_base(c, af, type, protocol, flags);
			if (fd >= 0)
				return fd;
			*err = -fd;
			return -1;
		}
		errmap_clear_native();
		h = base_socket_direct(&e->info, af, type, protocol, flags,
		    &fd, err);
		if (h == INVALID_SOCKET)
			return -1;
		return core_insert(c, h, h, fd, wflags, err);
	}
	/*
	 * The top provider gets the chain entry's own struct, which is [in]
	 * only (the built-in catalog is read-only memory).  A token the
	 * caller carries in dwProviderReserved travels with a copy.
	 */
	top = (LPWSAPROTOCOL_INFOW)(uintptr_t)&e->info;
	if (info != NULL && info->dwProviderReserved != 0) {
		pass = e->info;
		pass.dwProviderReserved = info->dwProviderReserved;
		top = &pass;
	}
	return core_socket_call(c, af, type, protocol, top, g, flags, wflags,
	    err);
}

int
core_socket_top(struct chain *c, int af, int type, int protocol,
    DWORD flags)
{
	int err, fd;

	fd = core_socket_call(c, af, type, protocol,
	    (LPWSAPROTOCOL_INFOW)(uintptr_t)&c->entry->info, 0, flags, 0,
	    &err);
	return fd >= 0 ? fd : -err;
}

struct wsock *
core_materialize(struct wsock *ws)
{
	SOCKET lazy, want, h;
	int err, fd, k;

	/*
	 * No lock.  The handle is set first, then the base, each by a
	 * compare-and-swap from this life's token: a reader who sees the
	 * base handle sees the handle; of this and a racing retirement
	 * (token -> dead) or materialization only one wins; and a wsock
	 * closed and reused meanwhile (a new token) is left alone.  A base
	 * socket that loses is released without closing anything.
	 */
	lazy = atomic_load(&ws->base);
	if ((lazy & 3) != WSOCK_LAZY)
		return (lazy & 1) == 0 ? ws : NULL;
	fd = atomic_load(&ws->kfd);
	if (atomic_load(&ws->fdrefs) <= 0 || fd < 0 ||
	    (h = base_wrap_fd(fd, &ws->chain->entry->info, ws->dwflags,
	    &err)) == INVALID_SOCKET)
		return NULL;
	want = lazy;
	if (!atomic_compare_exchange_strong(&ws->handle, &want, h) ||
	    !atomic_compare_exchange_strong(&ws->base, &lazy, h)) {
		base_release(h);
		return NULL;	/* the call passes through to libc */
	}
	/*
	 * core_drop() may have moved the socket to another of its
	 * descriptors while the base socket was made: it stores kfd, then
	 * looks for a base socket; this published the base socket, and now
	 * reads kfd.  Whichever comes second sees the other's store, so the
	 * base socket ends on the last descriptor.  (The core, not the base,
	 * closes a base-only chain's descriptor: see core_retire.)
	 */
	while ((k = atomic_load(&ws->kfd)) != fd && k >= 0) {
		base_set_fd(h, k);
		fd = k;
	}
	return ws;
}

/* Adopt fd through entry e's chain (the shared-socket path). */
static struct wsock *
core_adopt_entry(int fd, const struct catalog_entry *e)
{
	WSAPROTOCOL_INFOW info;
	int err, rc;

	if ((err = base_adopt_token(fd, &e->info, &info)) != 0)
		goto fail;
	rc = core_socket(e, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO,
	    FROM_PROTOCOL_INFO, &info, 0, 0, 0, &err);
	if (rc == fd)
		return fdtab_get(fd);
fail:
	/* A layer that did not start has said so, once, with what the
	 * program sees; this is the same cause. */
	if (err != WSAEPROVIDERFAILEDINIT && err != WSASYSNOTREADY)
		log_once("descriptor %d, a socket the program had before the "
		    "shim saw it, cannot go through its layers: %s (%s)", fd,
		    errmap_name(err) ? errmap_name(err) : "error",
		    errmap_message(err));
	return NULL;
}

/* The catalog entry an existing socket's triple selects, or NULL. */
const struct catalog_entry *
core_entry_of_fd(int fd)
{
	const struct catalog_entry *e;
	int af, type, proto;
	socklen_t len = sizeof(int);

	if (libc.getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &af, &len) != 0)
		return NULL;
	len = sizeof(int);
	if (libc.getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0)
		return NULL;
	len = sizeof(int);
	if (libc.getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) != 0)
		return NULL;
	if (catalog_select(catalog_current(), af, type, proto, &e) != 0)
		return NULL;
	return e;
}

struct wsock *
core_manage(int fd, int force)
{
	const struct catalog_entry *e;
	struct wsock *ws;
	int saved = errno;

	ws = fdtab_get(fd);
	if (fdtab_is_sock(ws))
		return core_sock_ready(ws);
	if (ws == FDTAB_PROTECTED)
		return NULL;
	e = core_entry_of_fd(fd);
	if (e == NULL || (!force && !core_manages(e))) {
		/* Not ours to wrap: pass through from now on. */
		if (ws == FDTAB_ADOPT)
			__atomic_compare_exchange_n(&fdtab_slots[fd], &ws, NULL,
			    0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
		errno = saved;
		return NULL;
	}
	ws = core_adopt_entry(fd, e);
	errno = saved;
	return ws;
}

struct wsock *
core_resolve(int fd)
{
	struct wsock *ws = fdtab_get(fd);
	int saved;

	if (ws == NULL)
		return NULL;	/* closed meanwhile */
	if (ws == FDTAB_ADOPT)
		return core_adopt(fd);
	if (!fdtab_is_sock(ws))
		return NULL;		/* protected: not a socket */
	saved = errno;
	ws = core_sock_ready(ws);
	errno = saved;
	return ws;
}

struct wsock *
core_adopt(int fd)
{
	return core_manage(fd, 0);
}

/* Close descriptor fd of ws, already out of the table, with the lifecycle
 * lock held (this drops it): core_drop, then the retirement if fd was the
 * last.  0 or -1 with *err. */
static int
core_close_held(struct wsock *ws, int fd, int *err, const sigset_t *mask)
{
	int rc = core_drop(ws, fd, 0, err);

	life_lock_drop(mask);
	if (rc == 1)
		rc = core_retire(ws, err);
	return rc;
}

/*
 * The lock-free close of the usual socket, one descriptor and no dup: 1
 * with the chain's close done (rc and *err its result), or 0 when fd
 * needs the general path.  Whoever takes a wsock out of a table slot owns
 * that descriptor's reference; the reference count going from 1 to 0 is
 * the one and only retirement, and core_dup() adds references only to a
 * count above 0, under the lock.
 */
static int
core_close_fast(int fd, int *rc, int *err)
{
	struct wsock *ws = fdtab_get(fd), *want = ws;
	sigset_t mask;
	int one = 1;

	if (!fdtab_is_sock(ws) || atomic_load(&ws->fdrefs) != 1 ||
	    !atomic_compare_exchange_strong(&fdtab_slots[fd], &want, NULL))
		return 0;
	if (atomic_compare_exchange_strong(&ws->fdrefs, &one, 0)) {
		*rc = core_retire(ws, err);
		return 1;
	}
	/* A dup came in meanwhile: finish as the general path would,
	 * holding fd's reference. */
	life_lock_take(&mask);
	*rc = core_close_held(ws, fd, err, &mask);
	return 1;
}

/* core_close() for core_close_sock(): 0, or minus a WSA code. */
static __attribute__((noinline)) int
core_close_neg(int fd)
{
	int err = 0;

	return core_close(fd, &err) == 0 ? 0 : -(err != 0 ? err :
	    WSASYSCALLFAILURE);
}

/* The rest of core_close_sock() once it took fd's slot and a dup came in
 * meanwhile: the locked path, holding fd's reference.  0, or minus a WSA
 * code. */
static __attribute__((noinline)) int
core_close_shared(struct wsock *ws, int fd)
{
	sigset_t mask;
	int err = 0;

	life_lock_take(&mask);
	if (core_close_held(ws, fd, &err, &mask) == 0)
		return 0;
	return -(err != 0 ? err : WSASYSCALLFAILURE);
}

/* The rest of core_close_sock() once it took the last reference of a
 * socket with a base socket: its retirement.  0, or minus a WSA code. */
static __attribute__((noinline)) int
core_close_retire(struct wsock *ws)
{
	int err = 0;

	if (core_retire(ws, &err) == 0)
		return 0;
	return -(err != 0 ? err : WSASYSCALLFAILURE);
}

/* core_close_retire() for a socket of a chain with layers, the usual
 * one, with core_retire()'s part for it inline. */
static __attribute__((noinline)) int
core_close_top(struct wsock *ws)
{
	int err = 0, rc;

	rc = core_retire_top(ws, &err);
	core_retired(ws);
	return rc == 0 ? 0 : -(err != 0 ? err : WSASYSCALLFAILURE);
}

/*
 * The close() hook's way in: core_close_fast() and core_close() without
 * an error pointer.  A socket that no dup shares is closed here with two
 * compare-and-swaps, the slot and the reference count 1 -> 0, and then
 * the chain's WSPCloseSocket (core_close_retire); for a lazy wsock (a
 * socket() of a base-only chain that only the direct paths used, the
 * usual socket of WSPSHIM_MANAGE=all), a third instead, the token -> dead
 * (which a racing core_materialize() may win: then it has a base socket
 * to free), and the kernel close.
 */
int
core_close_sock(int fd, struct wsock *ws)
{
	struct wsock *want = ws;
	SOCKET b;
	int one = 1;

	if (!fdtab_is_sock(ws) || atomic_load(&ws->fdrefs) != 1 ||
	    !atomic_compare_exchange_strong(&fdtab_slots[fd], &want, NULL))
		return core_close_neg(fd);
	if (!atomic_compare_exchange_strong(&ws->fdrefs, &one, 0))
		return core_close_shared(ws, fd);
	b = atomic_load(&ws->base);
	if ((b & 3) != WSOCK_LAZY ||
	    !atomic_compare_exchange_strong(&ws->base, &b, b | WSOCK_DEAD))
		return ws->chain->base_only ? core_close_retire(ws) :
		    core_close_top(ws);
	core_retired(ws);
	/* Linux frees the descriptor even when close() reports EINTR. */
	if (libc.close(fd) != 0 && errno != EINTR)
		return -errmap_from_errno(errno);
	return 0;
}

int
core_close(int fd, int *err)
{
	struct wsock *ws;
	sigset_t mask;
	int rc;

	if (core_close_fast(fd, &rc, err))
		return rc;
	life_lock_take(&mask);
	ws = fdtab_swap(fd, NULL);
	if (!fdtab_is_sock(ws)) {
		life_lock_drop(&mask);
		if (libc.close(fd) != 0) {
			*err = errmap_from_errno(errno);
			return -1;
		}
		return 0;
	}
	return core_close_held(ws, fd, err, &mask);
}

void
core_dup(int fd, int fd2)
{
	struct wsock *ws, *old, *retire = NULL;
	sigset_t mask;
	int err;

	if (fd == fd2 || !fdtab_fits(fd2))
		return;
	life_lock_take(&mask);
	ws = fdtab_get(fd);
	if (!fdtab_is_sock(ws) || !core_ref(ws))
		ws = NULL;
	else if (fdtab_get(fd) != ws) {
		/* A lock-free close took fd and the wsock went to a new
		 * socket before the reference was counted: give it back. */
		if (core_drop(ws, fd2, 1, &err) == 1)
			retire = ws;
		ws = NULL;
	}
	if (ws != NULL)
		ws->alt = fd2;
	old = fdtab_swap(fd2, ws);
	if (old == FDTAB_PROTECTED)
		__atomic_fetch_sub(&fdtab_protected, 1, __ATOMIC_RELAXED);
	if (!fdtab_is_sock(old) || core_drop(old, fd2, 1, &err) != 1)
		old = NULL;
	life_lock_drop(&mask);
	if (old != NULL)
		core_retire(old, &err);
	if (retire != NULL)
		core_retire(retire, &err);
}

void
core_forget(int fd)
{
	struct wsock *old;
	sigset_t mask;
	int err;

	if (fdtab_get(fd) == NULL)
		return;
	life_lock_take(&mask);
	old = fdtab_swap(fd, NULL);
	if (old == FDTAB_PROTECTED)
		__atomic_fetch_sub(&fdtab_protected, 1, __ATOMIC_RELAXED);
	if (!fdtab_is_sock(old) || core_drop(old, fd, 1, &err) != 1)
		old = NULL;
	life_lock_drop(&mask);
	if (old != NULL)
		core_retire(old, &err);
}

void
core_close_api_sockets(void)
{
	unsigned i, hi = fdtab_high();
	struct wsock *ws;
	int err;

	for (i = 0; i < hi; i++) {
		ws = fdtab_get((int)i);
		if (fdtab_is_sock(ws) && (ws->flags & WSOCK_API))
			core_close((int)i, &err);
	}
}

WSPSHIM_EXPORT int WSPAPI
WSPShimProtectDescriptor(int fd, BOOL bProtect, LPINT lpErrno)
{
	struct wsock *want = bProtect ? NULL : FDTAB_PROTECTED;
	int dummy;

	if (lpErrno == NULL)
		lpErrno = &dummy;
	if (core_init() != 0 || !fdtab_fits(fd) ||
	    (bProtect && libc.fcntl(fd, F_GETFD) < 0)) {
		*lpErrno = WSAEBADF;
		return SOCKET_ERROR;
	}
	if (!__atomic_compare_exchange_n(&fdtab_slots[fd], &want,
	    bProtect ? FDTAB_PROTECTED : NULL, 0, __ATOMIC_ACQ_REL,
	    __ATOMIC_ACQUIRE)) {
		/* Already in that state is fine; a managed socket is not. */
		if (want == (bProtect ? FDTAB_PROTECTED : NULL))
			return 0;
		*lpErrno = WSAEINVAL;
		return SOCKET_ERROR;
	}
	if (bProtect) {
		fdtab_swap(fd, FDTAB_PROTECTED);	/* raises the high mark */
		__atomic_fetch_add(&fdtab_protected, 1, __ATOMIC_RELAXED);
	} else {
		__atomic_fetch_sub(&fdtab_protected, 1, __ATOMIC_RELAXED);
	}
	return 0;
}
