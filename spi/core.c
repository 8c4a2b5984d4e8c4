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
 *
 * A close never pulls a socket from under a call in flight on it, as the
 * kernel never frees a file a syscall is using:
 *  - every call through the chain holds its descriptor, fdtab_calls[fd]
 *    counted up before it reads the table again and down after its last
 *    provider returned (core_hold, core_unhold); the count belongs to the
 *    number, not the wsock, and is never reset, so a stale reader's
 *    count in and out is harmless;
 *  - a close takes the slot first and reads the count after (both
 *    sequentially consistent): a call that counted itself in before sees
 *    nothing changed and is seen; one after sees the slot changed and
 *    fails as a call after the close (EBADF);
 *  - a close that sees calls closes nothing: under the lock the slot
 *    becomes a pending close (the wsock with FDTAB_PENDING_BIT) and the
 *    count gets FDTAB_DEFER; whoever takes the count to FDTAB_DEFER alone
 *    and swaps it to 0 under the lock (the last call out, or the closer
 *    if they all left meanwhile) does the close as it would have been
 *    done (core_idle_held), the chain's WSPCloseSocket included when it
 *    was the socket's last descriptor, so no provider's context goes
 *    while a call uses it;
 *  - while pending, the number stays open in the kernel (the calls reach
 *    the kernel on it) and the program's close of it is EBADF, dup2 onto
 *    it EBUSY, range closes leave it; its slot is cleared only under the
 *    lock after the number is closed, so a hook that sees it pending and
 *    looks again under the lock (core_pending) is never wrong;
 *  - a retirement for a number the kernel itself replaced (dup2 over it,
 *    closed behind our back) waits the same way on that number's count
 *    (core_retire_idle, the core_owed list).
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/kcmp.h>

#include "base.h"
#include "catalog.h"
#include "catfile.h"
#include "core.h"
#include "errmap.h"
#include "event.h"
#include "export.h"
#include "layerenv.h"
#include "libc.h"
#include "log.h"
#include "netev.h"
#include "ovl.h"
#include "pool.h"
#include "tls.h"
#include "trust.h"

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
static pthread_mutex_t adopt_lock = PTHREAD_MUTEX_INITIALIZER; /* below */
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

/*
 * The library's fork() handlers, all of them, registered once as it loads
 * (core_init, from the shim's constructor) so that no fork can miss them:
 * glibc leaves out of a fork the handlers registered while its prepare
 * phase runs, so a module that registered on first use (the overlapped
 * engine, the APC queues) could be forked half-registered.  The locks are
 * taken in one order here: the overlapped engine's, the network-event
 * watcher's, then the core's and the providers'.
 */
static void
core_atfork_prepare(void)
{
	ovl_atfork_prepare();
	netev_atfork_prepare();
	pthread_mutex_lock(&life_lock);
	provider_atfork_prepare();
}

static void
core_atfork_parent(void)
{
	provider_atfork_parent();
	pthread_mutex_unlock(&life_lock);
	netev_atfork_parent();
	ovl_atfork_parent();
}

/*
 * In a fork() child only the forking thread runs, and it is in no call
 * (fork is not a socket call): the calls other threads had in flight are
 * not the child's, so every descriptor's count starts again at 0.  A
 * close that waited for them stays pending in the child (its descriptor
 * open until the child exits or execs): doing it here would call
 * providers whose locks other threads of the parent may have held.
 */
static void
core_atfork_child(void)
{
	unsigned i, hi = fdtab_high();

	provider_atfork_child();
	base_atfork_child();
	pthread_mutex_init(&life_lock, NULL);
	for (i = 0; i < hi; i++)
		atomic_fetch_and(&fdtab_calls[i], FDTAB_DEFER);
	pthread_mutex_init(&adopt_lock, NULL);
	catfile_atfork_child();
	apc_atfork_child();
	ovl_atfork_child();
	netev_atfork_child();
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

static void core_catalog_changed(void);

/* Nothing: the relative paths of the environment made absolute for the
 * process's children (trust.h), with the loader's name of this library
 * for its LD_PRELOAD entry.  Not in secure execution, where the loader
 * and the library ignore those words anyway. */
static void
core_env_absolute(void)
{
	Dl_info info;

	if (getauxval(AT_SECURE))
		return;
	trust_env_absolute(dladdr((void *)core_env_absolute, &info) != 0 ?
	    info.dli_fname : NULL);
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
	/* Relative paths the library is given (WSPSHIM_CATALOG, _LOG,
	 * _LAYER_PATH, a relative preload) name files from here, even after
	 * the program changes directory. */
	trust_note_startdir();
	core_env_absolute();
	m = getenv("WSPSHIM_MANAGE");
	manage_all = m != NULL && strcmp(m, "all") == 0;
	/* The catalog file, before anything reads the catalog in force;
	 * this process's own installs reload it at once. */
	catfile_load(provider_set_unusable);
	catfile_changed = core_catalog_changed;
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

void (*core_catalog_hook)(const struct catalog *c);

void
core_catalog_refresh(int force)
{
	const struct catalog *c;

	if (__atomic_load_n(&core_state, __ATOMIC_ACQUIRE) != 2 ||
	    (c = catfile_reload(force, provider_set_unusable)) == NULL)
		return;
	/* WSPSHIM_LAYERS goes over the new file's catalog, and the two are
	 * published at once: no socket sees one without the other.  The
	 * old catalog stays (sockets and chains of it hold its entries). */
	c = layerenv_apply(c, provider_set_unusable);
	catalog_set_current(c);
	if (core_catalog_hook != NULL)
		core_catalog_hook(c);
}

/* Nothing: catfile_update changed the file in this process. */
static void
core_catalog_changed(void)
{
	core_catalog_refresh(1);
}

int
core_manages(const struct catalog_entry *e)
{
	return manage_all || e->info.ProtocolChain.ChainLen > 1;
}

/* Another descriptor than fd that names ws (or is a pending close of
 * it), or -1. */
static int
core_other_fd(const struct wsock *ws, int fd)
{
	unsigned i, hi = fdtab_high();

	struct wsock *p = fdtab_pending(ws), *v;

	if (ws->alt != fd && ws->alt >= 0 && fdtab_get(ws->alt) == ws)
		return ws->alt;
	for (i = 0; i < hi; i++)
		if ((int)i != fd && ((v = fdtab_get((int)i)) == ws || v == p))
			return (int)i;
	return -1;
}

/* The wsock a slot value stands for: a pending close's own (the slot
 * leaves the pending state: the caller replaced it), else v itself. */
static struct wsock *
core_unpend(struct wsock *v)
{
	if (!fdtab_is_pending(v))
		return v;
	__atomic_fetch_sub(&fdtab_npending, 1, __ATOMIC_RELAXED);
	return (struct wsock *)((uintptr_t)v & ~FDTAB_PENDING_BIT);
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
 * gone, and free it.  close_kfd 0: the descriptor is left open for the
 * caller to close (see core_idle).  0, or -1 with *err. */
static int
core_retire_fd(struct wsock *ws, int *err, int close_kfd)
{
	SOCKET b;
	int rc;

	if (!ws->chain->base_only) {
		if (!close_kfd)
			base_detach(atomic_load(&ws->base));
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
		rc = close_kfd ? core_close_kfd(ws, err) : 0;
	}
	if (close_kfd)
		core_retired(ws);
	return rc == 0 ? 0 : -1;
}

/* core_retire_fd() with the descriptor closed too. */
static int
core_retire(struct wsock *ws, int *err)
{
	return core_retire_fd(ws, err, 1);
}

/*
 * --- Closes that wait for the calls in flight ---------------------------
 *
 * A call through the chain counts itself in fdtab_calls[fd] (core_hold)
 * from before its first provider to after its last.  A close that finds
 * calls in flight on fd once it owns the descriptor closes nothing: under
 * the lock it leaves the slot as a pending close (FDTAB_PENDING_BIT) and
 * sets FDTAB_DEFER, and the close is done (core_idle_held) by whoever
 * takes the count to 0 with FDTAB_DEFER set: a compare-and-swap from
 * FDTAB_DEFER alone to 0, under the lock, which one thread wins.  A call
 * that started before fd was marked pending was counted then, and a call
 * after cannot use fd (core_hold reads the slot), so when the count is 0
 * under the lock the pending close is free to go on, and no other can be
 * marked on fd while the lock is held.
 */

/* Retirements owed once the calls on a descriptor end (core_retire_idle),
 * linked by owed_next; under the lock. */
static struct wsock *core_owed;

/* Do the waiting closes of fd: its count is 0 and FDTAB_DEFER was
 * cleared, with the lock held (this drops it).  A pending fd is closed as
 * core_close() would have; if it was its socket's last descriptor, the
 * number is closed only after the chain's WSPCloseSocket and the slot
 * cleared under the lock after that, so the number is never free while
 * the slot still says it is the program's to leave alone.  Then the
 * retirements owed on fd. */
static void
core_idle_held(int fd, sigset_t *mask)
{
	struct wsock *v = fdtab_get(fd), *ws = NULL, *owed = NULL, **pp, *o;
	int err;

	if (fdtab_is_pending(v)) {
		ws = (struct wsock *)((uintptr_t)v & ~FDTAB_PENDING_BIT);
		if (core_drop(ws, fd, 0, &err) != 1) {
			atomic_store(&fdtab_slots[fd], NULL);
			__atomic_fetch_sub(&fdtab_npending, 1,
			    __ATOMIC_RELAXED);
			ws = NULL;
		}
	}
	for (pp = &core_owed; (o = *pp) != NULL;) {
		if (o->owed != fd) {
			pp = &o->owed_next;
			continue;
		}
		*pp = o->owed_next;
		o->owed = -1;
		o->owed_next = owed;
		owed = o;
	}
	life_lock_drop(mask);
	while ((o = owed) != NULL) {
		owed = o->owed_next;
		core_retire(o, &err);
	}
	if (ws == NULL)
		return;
	core_retire_fd(ws, &err, 0);
	life_lock_take(mask);
	(void)libc.close(fd);
	atomic_store(&fdtab_slots[fd], NULL);
	__atomic_fetch_sub(&fdtab_npending, 1, __ATOMIC_RELAXED);
	life_lock_drop(mask);
	core_retired(ws);
}

/* Nothing: FDTAB_DEFER is set on fd; the lock is held (this drops it).
 * Does the waiting closes if the count is 0. */
static void
core_idle_try(int fd, sigset_t *mask)
{
	uint32_t want = FDTAB_DEFER;

	if (atomic_compare_exchange_strong(&fdtab_calls[fd], &want, 0))
		core_idle_held(fd, mask);
	else
		life_lock_drop(mask);	/* the last call out does them */
}

void
core_idle(int fd)
{
	struct wsp_tls saved = wsp_tls;
	int e = errno;
	sigset_t mask;

	/* It runs inside the hook of a call that has its result already:
	 * leave that call's errno and error state as they were. */
	life_lock_take(&mask);
	core_idle_try(fd, &mask);
	saved.made = wsp_tls.made;
	saved.made_base = wsp_tls.made_base;
	wsp_tls = saved;
	errno = e;
}

/* Nothing: sets FDTAB_DEFER on fd, with the lock held (this drops it).
 * When the count was 0 already, the calls ended meanwhile: the closes
 * are done here. */
static void
core_defer_set(int fd, sigset_t *mask)
{
	uint32_t old = atomic_fetch_or(&fdtab_calls[fd], FDTAB_DEFER);

	if ((old & FDTAB_CALLS) == 0)
		core_idle_try(fd, mask);
	else
		life_lock_drop(mask);
}

/*
 * A close of fd, which the caller took out of the table and whose
 * reference it owns, with the lock held: 1 when calls are in flight on
 * fd (the slot is a pending close now, the lock is dropped and the close
 * done later), or 0 (none: the lock is still held and the caller closes).
 */
static int
core_close_wait_held(struct wsock *ws, int fd, sigset_t *mask)
{
	struct wsock *want = NULL;

	if ((atomic_load(&fdtab_calls[fd]) & FDTAB_CALLS) == 0 ||
	    !atomic_compare_exchange_strong(&fdtab_slots[fd], &want,
	    fdtab_pending(ws)))
		return 0;
	__atomic_fetch_add(&fdtab_npending, 1, __ATOMIC_RELAXED);
	core_defer_set(fd, mask);
	return 1;
}

/* core_close_wait_held() for a lock-free close that took fd's slot and
 * saw calls in flight: 1 (the close waits for them), or 0 (they ended:
 * the caller closes as usual).  Out of line: the usual close sees none. */
static __attribute__((noinline)) int
core_close_wait(struct wsock *ws, int fd)
{
	sigset_t mask;

	life_lock_take(&mask);
	if (core_close_wait_held(ws, fd, &mask))
		return 1;
	life_lock_drop(&mask);
	return 0;
}

/* Whether a close that took fd's slot from ws must wait for calls in
 * flight (see core_close_wait): one load in the usual case. */
static inline int
core_close_busy(struct wsock *ws, int fd)
{
	return __builtin_expect((atomic_load(&fdtab_calls[fd]) &
	    FDTAB_CALLS) != 0, 0) && core_close_wait(ws, fd);
}

/*
 * Retire ws, whose last descriptor fd the kernel already closed or
 * replaced (core_drop with kernel_closed), once no call is in flight on
 * fd: now, or by the last call out.  The calls in flight reach whatever
 * the kernel has under fd now (nothing can keep a number the kernel gave
 * away), but the providers' contexts of ws stay valid under them.
 */
static void
core_retire_idle(struct wsock *ws, int fd)
{
	sigset_t mask;
	int err;

	if ((atomic_load(&fdtab_calls[fd]) & FDTAB_CALLS) == 0) {
		core_retire(ws, &err);
		return;
	}
	life_lock_take(&mask);
	ws->owed = fd;
	ws->owed_next = core_owed;
	core_owed = ws;
	core_defer_set(fd, &mask);
}

int
core_hold_call(struct wsock *ws, int fd, SOCKET *base)
{
	return core_hold(ws, fd, base);
}

void
core_unhold_call(int fd)
{
	core_unhold(fd);
}

int
core_pending(int fd)
{
	sigset_t mask;
	int rc;

	life_lock_take(&mask);
	rc = fdtab_is_pending(fdtab_get(fd));
	life_lock_drop(&mask);
	return rc;
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
	old = core_unpend(fdtab_swap(fd, ws));
	if (!fdtab_is_sock(old) || core_drop(old, fd, 1, &e2) != 1)
		old = NULL;
	life_lock_drop(&mask);
	if (old != NULL)
		core_retire_idle(old, fd);
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
	ws->flags = wflags | c->wsock_flags;
	/* A socket accepted from a listener with network events has them
	 * too (netev.h): its receives must reach the base. */
	if (netev_any() && netev_selected(base))
		ws->flags &= ~(unsigned)WSOCK_DIRECT;
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
	/* Atomic: a call that found this wsock in its previous life may be
	 * in core_materialize, reading them before its compare-and-swap
	 * from the old token fails. */
	__atomic_store_n(&ws->chain, c, __ATOMIC_RELAXED);
	__atomic_store_n(&ws->flags, c->wsock_flags, __ATOMIC_RELAXED);
	__atomic_store_n(&ws->dwflags, flags, __ATOMIC_RELAXED);
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
	struct chain *c;
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
	/* chain and dwflags may already be a new life's (core_socket_base):
	 * then this token was retired (dead) before the wsock was reused,
	 * and the swap of the base below fails. */
	c = __atomic_load_n(&ws->chain, __ATOMIC_RELAXED);
	if (atomic_load(&ws->fdrefs) <= 0 || fd < 0 ||
	    (h = base_wrap_fd(fd, &c->entry->info,
	    __atomic_load_n(&ws->dwflags, __ATOMIC_RELAXED),
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

/*
 * Adoption shares a chain socket between descriptors of one open file
 * description, as dups do: a child that inherits its connection on fds 0
 * and 1, a dup2() before exec, a socket received with SCM_RIGHTS that the
 * process already has.  Otherwise close(0) would close fd 0's chain
 * socket while fd 1 still holds the kernel socket, and its layers would
 * lose it.  A socket has exactly one open file description (the kernel
 * makes one file per socket, and opening /proc/self/fd/N of a socket
 * fails), so the socket's inode names it; kcmp(KCMP_FILE) confirms a
 * match where the kernel has it (it needs CONFIG_KCMP, and a seccomp
 * profile may refuse it), and the inode alone decides where it does not.
 *
 * Only adoption looks (a marked descriptor's first use, or the Winsock
 * API meeting a socket it did not make): socket() and close() never do.
 * A candidate is a socket of the same catalog entry; its inode is asked
 * once per life of its wsock and kept in adopt_ids, by descriptor, with
 * the wsock and its handle (unique to that life), so a process that
 * receives many sockets asks each of its own sockets once.  Adoptions run
 * one at a time (adopt_lock, with signals blocked), so two threads
 * adopting two descriptors of one socket make one chain socket.
 */
struct adopt_id {
	const struct wsock *ws;
	SOCKET		handle;
	ino_t		ino;
};

static struct adopt_id *adopt_ids;	/* fdtab_cap entries, or NULL */
static int adopt_ids_tried;
static int adopt_no_kcmp;		/* kcmp(KCMP_FILE) is refused here */

/* 1 if descriptors a and b are one open file, 0 if not, -1 when the
 * kernel cannot tell (no kcmp). */
static int
core_same_file(int a, int b)
{
	pid_t pid;
	long r;

	if (adopt_no_kcmp)
		return -1;
	pid = getpid();
	r = syscall(SYS_kcmp, pid, pid, KCMP_FILE, a, b);
	if (r >= 0)
		return r == 0;
	if (errno == EBADF)
		return 0;	/* b was closed behind the shim: stale */
	if (errno == ENOSYS || errno == EPERM || errno == EACCES)
		adopt_no_kcmp = 1;
	return -1;
}

/* 0 with the inode of socket descriptor fd, which names ws, in *ino (from
 * adopt_ids when asked before in ws's life), or -1. */
static int
core_sock_ino(int fd, const struct wsock *ws, ino_t *ino)
{
	struct adopt_id *id = adopt_ids != NULL ? &adopt_ids[fd] : NULL;
	SOCKET h = atomic_load(&ws->handle);
	struct stat st;

	if (id != NULL && id->ws == ws && id->handle == h) {
		*ino = id->ino;
		return 0;
	}
	if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode))
		return -1;
	if (id != NULL)
		*id = (struct adopt_id){ .ws = ws, .handle = h,
		    .ino = st.st_ino };
	*ino = st.st_ino;
	return 0;
}

/* A descriptor other than fd, of a socket of entry e, whose open file is
 * fd's (inode ino), or -1; *h gets its wsock's handle. */
static int
core_find_same(int fd, ino_t ino, const struct catalog_entry *e, SOCKET *h)
{
	unsigned i, hi = fdtab_high();
	struct wsock *ws;
	ino_t other;

	if (!adopt_ids_tried) {
		void *p = mmap(NULL, (size_t)fdtab_cap * sizeof(*adopt_ids),
		    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
		    MAP_NORESERVE, -1, 0);

		adopt_ids_tried = 1;
		adopt_ids = p == MAP_FAILED ? NULL : p;
	}
	for (i = 0; i < hi; i++) {
		ws = fdtab_get((int)i);
		if ((int)i == fd || !fdtab_is_sock(ws) ||
		    ws->chain->entry->info.dwCatalogEntryId !=
		    e->info.dwCatalogEntryId)
			continue;
		*h = atomic_load(&ws->handle);
		if (core_sock_ino((int)i, ws, &other) != 0 || other != ino ||
		    core_same_file(fd, (int)i) == 0)
			continue;
		return (int)i;
	}
	return -1;
}

/* Publish the wsock descriptor other names, while its handle is still h,
 * under fd too: another descriptor of its open file.  The wsock, or NULL
 * when other no longer names that socket. */
static struct wsock *
core_share(int other, SOCKET h, int fd)
{
	struct wsock *ws, *old, *retire = NULL;
	sigset_t mask;
	int err;

	life_lock_take(&mask);
	ws = fdtab_get(other);
	if (!fdtab_is_sock(ws) || atomic_load(&ws->handle) != h ||
	    !core_ref(ws))
		ws = NULL;
	else if (fdtab_get(other) != ws || atomic_load(&ws->handle) != h) {
		/* Closed, and the wsock went to a new socket, before the
		 * reference was counted: give it back (as core_dup). */
		if (core_drop(ws, fd, 1, &err) == 1)
			retire = ws;
		ws = NULL;
	}
	if (ws != NULL) {
		ws->alt = fd;
		old = fdtab_swap(fd, ws);	/* the marker, or nothing */
		if (fdtab_is_sock(old) && core_drop(old, fd, 1, &err) == 1)
			retire = old;
	}
	life_lock_drop(&mask);
	if (retire != NULL)
		core_retire(retire, &err);
	return ws;
}

/* core_adopt_entry(), or the chain socket of another descriptor of fd's
 * open file when there is one. */
static struct wsock *
core_adopt_shared(int fd, const struct catalog_entry *e)
{
	struct wsock *ws = NULL;
	struct stat st;
	sigset_t mask, all;
	SOCKET h;
	int other;

	if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode))
		return core_adopt_entry(fd, e);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &mask);
	pthread_mutex_lock(&adopt_lock);
	/* Another thread may have adopted fd while this one waited. */
	ws = fdtab_get(fd);
	if (fdtab_is_sock(ws))
		goto out;
	ws = NULL;
	if ((other = core_find_same(fd, st.st_ino, e, &h)) >= 0)
		ws = core_share(other, h, fd);
	if (ws == NULL)
		ws = core_adopt_entry(fd, e);
out:
	pthread_mutex_unlock(&adopt_lock);
	pthread_sigmask(SIG_SETMASK, &mask, NULL);
	return ws != NULL ? core_sock_ready(ws) : NULL;
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
			atomic_compare_exchange_strong_explicit(
			    &fdtab_slots[fd], &ws, NULL,
			    memory_order_acq_rel, memory_order_relaxed);
		errno = saved;
		return NULL;
	}
	/* A marked descriptor (inherited, received, made early) or one the
	 * Winsock API met may share its open file with a socket the table
	 * has; socketpair()'s new ends cannot. */
	if (ws == FDTAB_ADOPT || force)
		ws = core_adopt_shared(fd, e);
	else
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
core_close_held(struct wsock *ws, int fd, int *err, sigset_t *mask)
{
	int rc;

	if (core_close_wait_held(ws, fd, mask))
		return 0;
	rc = core_drop(ws, fd, 0, err);
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
	if (core_close_busy(ws, fd)) {
		*rc = 0;
		return 1;
	}
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
	if (core_close_busy(ws, fd))
		return 0;
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
	if (fdtab_is_pending(fdtab_get(fd))) {
		/* Closed already: its close waits for calls in flight. */
		life_lock_drop(&mask);
		*err = WSAEBADF;
		return -1;
	}
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
	/* A closed descriptor whose close waits for calls in flight is
	 * still open in the kernel: its copy shares the socket. */
	if (fdtab_is_pending(ws))
		ws = (struct wsock *)((uintptr_t)ws & ~FDTAB_PENDING_BIT);
	if (!fdtab_is_sock(ws) || !core_ref(ws))
		ws = NULL;
	else if ((old = fdtab_get(fd)) != ws && old != fdtab_pending(ws)) {
		/* A lock-free close took fd and the wsock went to a new
		 * socket before the reference was counted: give it back. */
		if (core_drop(ws, fd2, 1, &err) == 1)
			retire = ws;
		ws = NULL;
	}
	if (ws != NULL)
		ws->alt = fd2;
	old = core_unpend(fdtab_swap(fd2, ws));
	if (old == FDTAB_PROTECTED)
		__atomic_fetch_sub(&fdtab_protected, 1, __ATOMIC_RELAXED);
	if (!fdtab_is_sock(old) || core_drop(old, fd2, 1, &err) != 1)
		old = NULL;
	life_lock_drop(&mask);
	if (old != NULL)
		core_retire_idle(old, fd2);
	if (retire != NULL)
		core_retire_idle(retire, fd);
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
	if (fdtab_is_pending(fdtab_get(fd))) {
		/* The program closed it: the pending close keeps it open. */
		life_lock_drop(&mask);
		return;
	}
	old = fdtab_swap(fd, NULL);
	if (old == FDTAB_PROTECTED)
		__atomic_fetch_sub(&fdtab_protected, 1, __ATOMIC_RELAXED);
	if (!fdtab_is_sock(old) || core_drop(old, fd, 1, &err) != 1)
		old = NULL;
	life_lock_drop(&mask);
	if (old != NULL)
		core_retire_idle(old, fd);
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
	if (!atomic_compare_exchange_strong_explicit(&fdtab_slots[fd], &want,
	    bProtect ? FDTAB_PROTECTED : NULL, memory_order_acq_rel,
	    memory_order_acquire)) {
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
