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
static pthread_mutex_t life_lock = PTHREAD_MUTEX_INITIALIZER;
static int core_state;		/* 0 new, 1 starting, 2 ready */
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
	pthread_atfork(core_atfork_prepare, core_atfork_parent,
	    core_atfork_child);
	core_mark_inherited();
	wsp_tls.depth--;
	__atomic_store_n(&core_state, 2, __ATOMIC_RELEASE);
	return 0;
}

int
core_ready(void)
{
	return __atomic_load_n(&core_state, __ATOMIC_ACQUIRE) == 2;
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
				base_set_fd(ws->base, other);
				atomic_store(&ws->kfd, other);
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
	if (kernel_closed)
		base_detach(ws->base);
	return 1;
}

/* Run the chain's WSPCloseSocket for a socket whose last descriptor is
 * gone, and free it.  0, or -1 with *err. */
static int
core_retire(struct wsock *ws, int *err)
{
	int rc;

	errmap_clear_native();
	if (ws->chain->base_only)
		rc = base_closesocket(ws->handle, err);
	else {
		wsp_tls.depth++;
		rc = ws->procs->lpWSPCloseSocket(ws->handle, err);
		wsp_tls.depth--;
	}
	__atomic_fetch_sub(&ws->chain->live, 1, __ATOMIC_RELEASE);
	pool_put(&wsock_pool, ws);
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

/* The kernel descriptor and base handle of chain handle h: 0, or -1 with
 * *err (h is left open).  made is what the base made during the call
 * that returned h (see core_made_since). */
static int
core_learn(struct chain *c, SOCKET h, SOCKET made, int *fd, SOCKET *base,
    int *err)
{
	DWORD n;
	int rc;

	if (made != INVALID_SOCKET && (*fd = base_kernel_fd(made)) >= 0) {
		*base = made;
		return 0;
	}
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
 * Take chain handle h, whose base handle is base and kernel descriptor fd,
 * into a new wsock and publish it under fd.  fd, or -1 with *err (h is
 * closed).
 */
static int
core_insert(struct chain *c, SOCKET h, SOCKET base, int fd, unsigned wflags,
    int *err)
{
	struct wsock *ws, *old;
	sigset_t mask;
	int e2;

	if (!fdtab_fits(fd) || (ws = pool_get_raw(&wsock_pool)) == NULL) {
		core_abandon(c, h);
		*err = fdtab_fits(fd) ? WSAENOBUFS : WSAEMFILE;
		return -1;
	}
	ws->procs = c->procs;
	ws->handle = h;
	ws->base = base;
	ws->chain = c;
	ws->flags = wflags;
	ws->alt = -1;
	atomic_store(&ws->fdrefs, 1);
	atomic_store(&ws->kfd, fd);
	__atomic_fetch_add(&c->live, 1, __ATOMIC_RELAXED);

	/* A number nobody names (the usual case) takes no lock. */
	if (fdtab_claim(fd, ws))
		return fd;
	life_lock_take(&mask);
	old = fdtab_swap(fd, ws);
	/* A stale entry: the number was closed behind our back. */
	if (!fdtab_is_sock(old) || core_drop(old, fd, 1, &e2) != 1)
		old = NULL;
	life_lock_drop(&mask);
	if (old != NULL)
		core_retire(old, &e2);
	return fd;
}

int
core_publish(struct chain *c, SOCKET h, SOCKET made, unsigned wflags,
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
	unsigned mark;
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
	return core_publish(c, h, core_made_since(mark), wflags, err);
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
	log_once("cannot adopt socket %d into catalog entry %u: %s", fd,
	    e->info.dwCatalogEntryId, errmap_name(err) ? errmap_name(err) :
	    "error");
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
		return ws;
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
