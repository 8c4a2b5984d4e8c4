/*
 * provider.c - the provider registry, chain start-up and the upcall table.
 *
 * A provider instance serves one catalog entry (the base is built in;
 * plugins come from dlopen, and a file that already serves another entry
 * is loaded again from a copy, so each instance has its own globals).
 * A plugin is opened once, through trust_open's owner and mode checks,
 * and loaded from that descriptor (/proc/self/fd/N), so the file checked
 * is the file loaded.  It
 * is started once per chain that uses it.  Loads are serialised by one
 * lock; the registry list only grows and is read without a lock.  No lock
 * is held while a provider's WSPStartup or WSPCleanup runs, because real
 * layers call WSCEnumProtocols, or start the next provider, from inside it.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"
#include "catfile.h"
#include "core.h"
#include "errmap.h"
#include "event.h"
#include "handle.h"
#include "libc.h"
#include "log.h"
#include "procfill.h"
#include "provider.h"
#include "tls.h"
#include "trust.h"
#include "wstr.h"
#include "export.h"

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t chain_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t chain_cond = PTHREAD_COND_INITIALIZER;
/* Recursive: a plugin's constructor may make a socket whose chain loads
 * another plugin. */
static pthread_mutex_t load_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static struct provider *providers;
static struct chain *chains;

static void next_row_build(const struct catalog_entry *e);

static struct provider base_provider = {
	.path = (char *)CATALOG_BASE_PATH,
	.startup = base_startup,
};

/* Whether two GUIDs are equal. */
static int
guid_eq(const GUID *a, const GUID *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* The registry's first instance (an acquire load: the list only grows,
 * and an instance is complete before it is linked in). */
static struct provider *
provider_first(void)
{
	return __atomic_load_n(&providers, __ATOMIC_ACQUIRE);
}

/* Nothing: links p into the registry (load_lock held). */
static void
provider_link(struct provider *p)
{
	p->next = providers;
	__atomic_store_n(&providers, p, __ATOMIC_RELEASE);
}

/* The instance serving catalog entry id from path, or NULL. */
static struct provider *
provider_find(DWORD id, const char *path)
{
	struct provider *p;

	for (p = provider_first(); p != NULL; p = p->next)
		if (p->entry_id == id && strcmp(p->path, path) == 0)
			return p;
	return NULL;
}

/* An instance of path that could not load, or NULL. */
static struct provider *
provider_find_failed(const char *path)
{
	struct provider *p;

	for (p = provider_first(); p != NULL; p = p->next)
		if (p->error != 0 && strcmp(p->path, path) == 0)
			return p;
	return NULL;
}

/* dl_iterate_phdr callback: 1 when the object is named *(char **)arg. */
static int
provider_name_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	return info->dlpi_name != NULL &&
	    strcmp(info->dlpi_name, *(const char **)arg) == 0;
}

/*
 * A descriptor of the same file as fd whose /proc/self/fd/N name no
 * loaded object has: the dynamic linker matches objects by name before it
 * looks at the file, so a number reused after an earlier copy was loaded
 * and its descriptor closed would give back that copy.  fd is closed if
 * another is returned; -1 (fd closed) on failure.
 */
static int
provider_fresh_fd(int fd, char *name, size_t size)
{
	const char *n = name;
	int nfd;

	for (;;) {
		snprintf(name, size, "/proc/self/fd/%d", fd);
		if (dl_iterate_phdr(provider_name_cb, &n) == 0)
			return fd;
		nfd = libc.fcntl(fd, F_DUPFD_CLOEXEC, fd + 1);
		libc.close(fd);
		if (nfd < 0)
			return -1;
		fd = nfd;
	}
}

/* Copy the checked file open at src (path names it) into a new memfd:
 * the descriptor, or -1 with *why set.  src stays open. */
static int
provider_copy(int src, const char *path, const char **why)
{
	const char *base = strrchr(path, '/');
	char buf[16384];
	ssize_t n, w, off;
	int dst;

	if (lseek(src, 0, SEEK_SET) != 0 ||
	    (dst = memfd_create(base != NULL ? base + 1 : path,
	    MFD_CLOEXEC)) < 0) {
		*why = strerror(errno);
		return -1;
	}
	while ((n = libc.read(src, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		for (off = 0; off < n; off += w) {
			w = libc.write(dst, buf + off, (size_t)(n - off));
			if (w < 0 && errno != EINTR)
				goto fail;
			if (w < 0)
				w = 0;
		}
	}
	return dst;
fail:
	*why = strerror(errno);
	libc.close(dst);
	return -1;
}

/*
 * dlopen of the checked file open at *fd (path names it, for the log),
 * through /proc/self/fd: the file loaded is the one checked, whatever
 * happens to path meanwhile.  *fd may move to another number; the
 * handle, or NULL after one log line.
 */
static void *
provider_dlopen_fd(int *fd, const char *path)
{
	char name[64];
	void *dl;

	if ((*fd = provider_fresh_fd(*fd, name, sizeof(name))) < 0) {
		log_msg("provider %s: cannot load: %s", path,
		    strerror(errno));
		return NULL;
	}
	if ((dl = dlopen(name, RTLD_NOW | RTLD_LOCAL)) == NULL)
		log_msg("provider %s: cannot load: %s", path, dlerror());
	return dl;
}

/*
 * Load a separate copy of the plugin at path, open and checked at src
 * (the module is already loaded for another catalog entry, and dlopen of
 * the same file, or of another name for it, returns that same module):
 * copy it into a memfd, dlopen that, close the memfd.  The handle, or
 * NULL (logged).
 */
static void *
provider_open_copy(int src, const char *path)
{
	const char *why = NULL;
	void *dl;
	int fd;

	if ((fd = provider_copy(src, path, &why)) < 0) {
		log_msg("provider %s: cannot load a separate copy: %s", path,
		    why);
		return NULL;
	}
	dl = provider_dlopen_fd(&fd, path);
	if (fd >= 0)
		libc.close(fd);
	return dl;
}

/*
 * Load p's file, once it and its folders pass trust_open's owner and
 * mode checks (strict for a root or secure-execution process), and find
 * its own WSPStartup (one that a library it links, libwspshim.so
 * included, exports does not count).  0, or WSAEPROVIDERFAILEDINIT after
 * one log line naming the file and why.
 */
static int
provider_open(struct provider *p)
{
	struct link_map *own, *where;
	char why[PATH_MAX + 160];
	Dl_info info;
	void *dl, *sym;
	int fd, loaded;

	if ((fd = trust_open(p->path, catfile_mode() != 0, why,
	    sizeof(why))) < 0) {
		log_msg("provider %s: %s: %s", p->path, errno == EPERM ?
		    "refused" : "cannot load", why);
		return WSAEPROVIDERFAILEDINIT;
	}
	/* A module already in the process, loaded by the core for another
	 * entry or by a layer that loads the one below it itself, serves
	 * that entry: this one gets a copy of its own.  (A dlopen by path
	 * finds such a module whatever name it was loaded under: glibc
	 * matches the file's device and inode too.) */
	loaded = (dl = dlopen(p->path, RTLD_NOW | RTLD_LOCAL |
	    RTLD_NOLOAD)) != NULL;
	if (!loaded)
		dl = provider_dlopen_fd(&fd, p->path);
	if (dl != NULL && loaded) {
		dlclose(dl);
		dl = provider_open_copy(fd, p->path);
	}
	if (fd >= 0)
		libc.close(fd);
	if (dl == NULL)
		return WSAEPROVIDERFAILEDINIT;
	sym = dlsym(dl, "WSPStartup");
	if (sym == NULL || dlinfo(dl, RTLD_DI_LINKMAP, &own) != 0 ||
	    dladdr1(sym, &info, (void **)&where, RTLD_DL_LINKMAP) == 0 ||
	    where != own) {
		log_msg("provider %s: no WSPStartup export", p->path);
		dlclose(dl);
		return WSAEPROVIDERFAILEDINIT;
	}
	p->dl = dl;
	p->base = info.dli_fbase;
	p->startup = (LPWSPSTARTUP)sym;
	return 0;
}

/* A new registry instance for entry e (id), loaded, or failed with the
 * reason logged; NULL when memory runs out.  load_lock held. */
static struct provider *
provider_new(const struct catalog_entry *e, DWORD id, int error)
{
	struct provider *p, *failed;

	p = calloc(1, sizeof(*p));
	if (p == NULL || (p->path = strdup(e->path)) == NULL) {
		free(p);
		return NULL;
	}
	p->entry_id = id;
	p->id = e->info.ProviderId;
	if (error != 0) {
		p->error = error;
	} else if ((failed = provider_find_failed(e->path)) != NULL) {
		p->error = failed->error;	/* said once already */
	} else {
		wsp_tls.depth++;
		p->error = provider_open(p);
		wsp_tls.depth--;
	}
	provider_link(p);
	return p;
}

/* The instance for entry e, loading it if needed.  0 or a WSA code (the
 * reason is logged once, naming the file). */
static int
provider_load(const struct catalog_entry *e, struct provider **out)
{
	DWORD id = e->info.dwCatalogEntryId;
	struct provider *p;

	if (guid_eq(&e->info.ProviderId, &catalog_base_guid)) {
		*out = &base_provider;
		return 0;
	}
	if (e->path == NULL) {
		log_once("catalog entry %u names no provider file", id);
		return WSAEPROVIDERFAILEDINIT;
	}
	if ((p = provider_find(id, e->path)) == NULL) {
		pthread_mutex_lock(&load_lock);
		if ((p = provider_find(id, e->path)) == NULL)
			p = provider_new(e, id, 0);
		pthread_mutex_unlock(&load_lock);
		if (p == NULL)
			return WSAENOBUFS;
	}
	if (p->error != 0)
		return p->error;
	*out = p;
	return 0;
}

void
provider_set_unusable(DWORD id, const char *path)
{
	struct catalog_entry e = { .path = path };

	e.info.dwCatalogEntryId = id;
	pthread_mutex_lock(&load_lock);
	if (provider_find(id, path) == NULL)
		provider_new(&e, id, WSAEPROVIDERFAILEDINIT);
	pthread_mutex_unlock(&load_lock);
}


/* Nothing: the start-up context of this thread becomes (info's chain,
 * above), the old one saved in *old. */
static void
start_context_set(struct wsp_start *old, const WSAPROTOCOL_INFOW *info,
    int above)
{
	const WSAPROTOCOLCHAIN *pc = &info->ProtocolChain;
	int i;

	*old = wsp_tls.start;
	wsp_tls.start.chain = info->dwCatalogEntryId;
	wsp_tls.start.len = pc->ChainLen >= 0 &&
	    pc->ChainLen <= MAX_PROTOCOL_CHAIN ? pc->ChainLen : 0;
	for (i = 0; i < MAX_PROTOCOL_CHAIN; i++)
		wsp_tls.start.entries[i] = i < wsp_tls.start.len ?
		    pc->ChainEntries[i] : 0;
	wsp_tls.start.above = above;
}

int
provider_start(const struct catalog_entry *e, LPWSAPROTOCOL_INFOW info,
    int above, struct provider **out)
{
	struct wsp_start saved;
	struct provider *p;
	WSPPROC_TABLE t;
	WSPDATA d;
	int err, cerr;

	if ((err = provider_load(e, &p)) != 0)
		return err;
	memset(&t, 0, sizeof(t));
	memset(&d, 0, sizeof(d));
	/* Whatever the provider calls goes straight to libc.  A layer it
	 * loads itself learns from the context where it stands. */
	wsp_tls.depth++;
	start_context_set(&saved, info, above);
	err = p->startup(WSPSHIM_SPI_VERSION, &d, info, provider_upcalls, &t);
	wsp_tls.start = saved;
	wsp_tls.depth--;
	if (err != 0) {
		/* One line per layer, not per chain that names it: its own
		 * line (before this one) says why; this one says what the
		 * program sees. */
		if (!__atomic_exchange_n(&p->start_logged, 1,
		    __ATOMIC_RELAXED))
			log_msg("layer %s did not start (%s: %s): every socket "
			    "it covers fails with WSAEPROVIDERFAILEDINIT "
			    "(errno ELIBACC, \"%s\")", p->path,
			    errmap_name(err) != NULL ? errmap_name(err) :
			    "an unknown code", errmap_message(err),
			    strerror(ELIBACC));
		return err;
	}
	if (d.wVersion > WSPSHIM_SPI_VERSION ||
	    (LOBYTE(d.wVersion) == 2 && HIBYTE(d.wVersion) > 2) ||
	    LOBYTE(d.wVersion) > 2) {
		log_msg("provider %s: built for SPI %u.%u, newer than 2.2",
		    p->path, LOBYTE(d.wVersion), HIBYTE(d.wVersion));
		err = WSAVERNOTSUPPORTED;
	} else if (d.wLinuxTableVersion > WSPSHIM_LINUX_TABLE_VERSION) {
		log_msg("provider %s: Linux table version %u is newer than "
		    "this library's %u", p->path, d.wLinuxTableVersion,
		    WSPSHIM_LINUX_TABLE_VERSION);
		err = WSAVERNOTSUPPORTED;
	} else if (!procfill_has_members(&t, d.wLinuxTableVersion)) {
		log_msg("provider %s: WSPStartup returned a proc table with a "
		    "NULL member", p->path);
		err = WSAEINVALIDPROCTABLE;
	} else if ((err = procfill_complete(&t, d.wLinuxTableVersion)) != 0) {
		log_msg("provider %s: no room to complete its version %u "
		    "table", p->path, d.wLinuxTableVersion);
	}
	if (err != 0) {
		/* The provider did start: balance it before refusing it. */
		wsp_tls.depth++;
		if (t.lpWSPCleanup != NULL)
			t.lpWSPCleanup(&cerr);
		wsp_tls.depth--;
		return err;
	}
	/* Every call on a started chain reads p->procs without a lock, so
	 * the table is stored only while no chain is started on p: a start
	 * for a second chain (one WSPStartup per chain entry, as on
	 * Windows) keeps the first table.  A provider hands out the same
	 * table each time; one that does not is told once. */
	pthread_mutex_lock(&registry_lock);
	if (p->starts == 0) {
		p->procs = t;
		p->data = d;
	} else if (memcmp(&p->procs, &t, sizeof(t)) != 0 && !p->table_told) {
		p->table_told = 1;
		log_msg("provider %s: WSPStartup for another chain returned "
		    "another proc table; the first one is kept", p->path);
	}
	p->starts++;
	pthread_mutex_unlock(&registry_lock);
	*out = p;
	return 0;
}

void
provider_cleanup(struct provider *p)
{
	int err, rc;

	pthread_mutex_lock(&registry_lock);
	if (p->starts == 0) {
		pthread_mutex_unlock(&registry_lock);
		return;
	}
	p->starts--;
	pthread_mutex_unlock(&registry_lock);
	wsp_tls.depth++;
	rc = p->procs.lpWSPCleanup(&err);
	wsp_tls.depth--;
	if (rc != 0)
		log_msg("provider %s: WSPCleanup failed: %d", p->path, err);
}

/* The catalog entry whose provider is the top of chain entry e. */
static const struct catalog_entry *
chain_top_entry(const struct catalog_entry *e)
{
	if (e->info.ProtocolChain.ChainLen <= 1)
		return e;
	return catalog_by_id(catalog_current(),
	    e->info.ProtocolChain.ChainEntries[0]);
}

/* Start chain c: its top provider, with the chain entry's struct.  0 or
 * a WSA code. */
static int
chain_start(struct chain *c)
{
	const struct catalog_entry *top = chain_top_entry(c->entry);
	WSAPROTOCOL_INFOW info = c->entry->info;
	int err;

	if (top == NULL) {
		log_msg("catalog entry %u: chain names unknown entry %u",
		    c->entry->info.dwCatalogEntryId,
		    c->entry->info.ProtocolChain.ChainEntries[0]);
		return WSAEPROVIDERFAILEDINIT;
	}
	/* The answers its layers' WSPShimNextProtocol calls will want. */
	next_row_build(c->entry);
	err = provider_start(top, &info, -1, &c->top);
	if (err != 0) {
		/* A provider that cannot start fails its sockets, clearly. */
		if (err != WSAEINVALIDPROCTABLE)
			err = WSAEPROVIDERFAILEDINIT;
		return err;
	}
	c->procs = &c->top->procs;	/* complete (procfill_complete) */
	c->base_only = c->top == &base_provider;
	c->wsock_flags = c->base_only ? WSOCK_DIRECT : 0;
	return 0;
}

/* Wait until no other thread starts or cleans up c (chain_lock held).
 * 0, or WSAEINPROGRESS when this thread is the one doing it. */
static int
chain_wait(struct chain *c)
{
	while (c->busy && !pthread_equal(c->busy_thread, pthread_self()))
		pthread_cond_wait(&chain_cond, &chain_lock);
	return c->busy ? WSAEINPROGRESS : 0;
}

/* Mark c busy in this thread and drop chain_lock. */
static void
chain_busy(struct chain *c)
{
	c->busy = 1;
	c->busy_thread = pthread_self();
	pthread_mutex_unlock(&chain_lock);
}

/* Take chain_lock back, mark c idle and wake the waiters. */
static void
chain_idle(struct chain *c)
{
	pthread_mutex_lock(&chain_lock);
	c->busy = 0;
	pthread_cond_broadcast(&chain_cond);
}

struct chain *
chain_get(const struct catalog_entry *e, int *err)
{
	struct chain *c;
	int rc;

	/* A started chain needs no lock: chains are only ever added, at the
	 * head, with release order, and never freed. */
	for (c = __atomic_load_n(&chains, __ATOMIC_ACQUIRE); c != NULL;
	    c = c->next)
		if (c->entry == e) {
			if (__atomic_load_n(&c->started, __ATOMIC_ACQUIRE))
				return c;	/* it started without error */
			break;
		}
	pthread_mutex_lock(&chain_lock);
	for (c = chains; c != NULL; c = c->next)
		if (c->entry == e)
			break;
	if (c == NULL) {
		c = calloc(1, sizeof(*c));
		if (c == NULL) {
			pthread_mutex_unlock(&chain_lock);
			*err = WSAENOBUFS;
			return NULL;
		}
		c->entry = e;
		c->next = chains;
		__atomic_store_n(&chains, c, __ATOMIC_RELEASE);
	}
	if ((rc = chain_wait(c)) == 0 && !c->started && c->error == 0) {
		/* Start it with no lock held: see the file comment. */
		chain_busy(c);
		rc = chain_start(c);
		chain_idle(c);
		c->error = rc;
		if (rc == 0)
			__atomic_store_n(&c->started, 1, __ATOMIC_RELEASE);
	}
	if (rc == 0)
		rc = c->error;
	pthread_mutex_unlock(&chain_lock);
	if (rc != 0) {
		*err = rc;
		return NULL;
	}
	return c;
}

void
chain_cleanup_idle(void)
{
	struct provider *top;
	struct chain *c;

	pthread_mutex_lock(&chain_lock);
	/* New chains go in at the head, so c->next stays valid while the
	 * lock is dropped. */
	for (c = chains; c != NULL; c = c->next) {
		if (chain_wait(c) != 0 || !c->started ||
		    __atomic_load_n(&c->live, __ATOMIC_ACQUIRE) != 0)
			continue;
		top = c->top;
		/* c->procs stays: a thread that got this chain from chain_get
		 * just before may still read it; the next chain_get starts
		 * the provider again. */
		__atomic_store_n(&c->started, 0, __ATOMIC_RELEASE);
		chain_busy(c);
		provider_cleanup(top);
		chain_idle(c);
	}
	pthread_mutex_unlock(&chain_lock);
}

void
provider_atfork_prepare(void)
{
	pthread_mutex_lock(&load_lock);
	pthread_mutex_lock(&chain_lock);
	pthread_mutex_lock(&registry_lock);
}

void
provider_atfork_parent(void)
{
	pthread_mutex_unlock(&registry_lock);
	pthread_mutex_unlock(&chain_lock);
	pthread_mutex_unlock(&load_lock);
}

void
provider_atfork_child(void)
{
	pthread_mutexattr_t a;
	struct chain *c;

	pthread_mutex_init(&registry_lock, NULL);
	pthread_mutex_init(&chain_lock, NULL);
	pthread_cond_init(&chain_cond, NULL);
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&load_lock, &a);
	pthread_mutexattr_destroy(&a);
	/* A start-up another thread was in the middle of never ends here:
	 * that thread is gone. */
	for (c = chains; c != NULL; c = c->next)
		if (c->busy && !pthread_equal(c->busy_thread, pthread_self()))
			c->busy = 0;
}

/*
 * The upcalls.  Events and APC queues are event.c's and apc.c's; there are
 * no window messages or blocking hooks on Linux, and those upcalls say so.
 */
/* WPUFDIsSet: whether s is in the Winsock set (a count and an array). */
static int WSPAPI
upcall_fd_is_set(SOCKET s, fd_set *set)
{
	return __WSAFDIsSet(s, set);
}

static BOOL WSPAPI
upcall_post_message(HWND hWnd, UINT Msg, WPARAM wParam, LPARAM lParam)
{
	return FALSE;		/* no windows on Linux */
}

static int WSPAPI
upcall_query_blocking_callback(DWORD id, LPBLOCKINGCALLBACK *cb,
    PDWORD_PTR ctx, LPINT lpErrno)
{
	if (cb == NULL || ctx == NULL) {
		*lpErrno = WSAEFAULT;
		return SOCKET_ERROR;
	}
	*cb = NULL;		/* Winsock 2: no blocking hooks */
	*ctx = 0;
	return 0;
}

const WSPUPCALLTABLE provider_upcalls = {
	.lpWPUCloseEvent = event_close,
	.lpWPUCloseSocketHandle = handle_close,
	.lpWPUCreateEvent = event_create,
	.lpWPUCreateSocketHandle = handle_create,
	.lpWPUFDIsSet = upcall_fd_is_set,
	.lpWPUGetProviderPath = WSCGetProviderPath,
	.lpWPUModifyIFSHandle = handle_modify_ifs,
	.lpWPUPostMessage = upcall_post_message,
	.lpWPUQueryBlockingCallback = upcall_query_blocking_callback,
	.lpWPUQuerySocketHandleContext = handle_query,
	.lpWPUQueueApc = apc_queue,
	.lpWPUResetEvent = event_reset,
	.lpWPUSetEvent = event_set,
	.lpWPUOpenCurrentThread = apc_open_current_thread,
	.lpWPUCloseThread = apc_close_thread,
};

/* The position of id in a chain, or -1. */
static int
chain_position(const WSAPROTOCOLCHAIN *pc, DWORD id)
{
	int i;

	for (i = 0; i < pc->ChainLen && i < MAX_PROTOCOL_CHAIN; i++)
		if (pc->ChainEntries[i] == id)
			return i;
	return -1;
}

/* Whether a chain names some entry twice (one instance serves one
 * entry, so it could not tell its two positions apart). */
static int
chain_repeats(const WSAPROTOCOLCHAIN *pc)
{
	int i, j;

	for (i = 0; i < pc->ChainLen && i < MAX_PROTOCOL_CHAIN; i++)
		for (j = i + 1; j < pc->ChainLen && j < MAX_PROTOCOL_CHAIN; j++)
			if (pc->ChainEntries[i] == pc->ChainEntries[j])
				return 1;
	return 0;
}

/* The catalog entry below self in chain struct in: 0 with *out, and *base
 * set when that entry is the chain's last (the base), or a WSA code. */
static int
next_of(LPWSAPROTOCOL_INFOW in, DWORD self, const struct catalog_entry **out,
    int *base)
{
	const WSAPROTOCOLCHAIN *pc;
	const struct catalog_entry *e;
	int i;

	if (in == NULL)
		return WSAEFAULT;
	pc = &in->ProtocolChain;
	if (pc->ChainLen < 2 || pc->ChainLen > MAX_PROTOCOL_CHAIN ||
	    (i = chain_position(pc, self)) < 0 || i + 1 >= pc->ChainLen ||
	    chain_repeats(pc))
		return WSAEINVAL;
	e = catalog_by_id(catalog_current(), pc->ChainEntries[i + 1]);
	if (e == NULL)
		return WSAEINVAL;
	*out = e;
	*base = i + 1 == pc->ChainLen - 1;
	return 0;
}

/*
 * WSPShimNextProtocol's answers for the structs of the catalog in force,
 * worked out once.  Each layer's WSPSocket asks for every socket, and what
 * it passes is nearly always a catalog entry's own struct (the core hands
 * the top layer the chain entry's struct, and each layer passes it down
 * unchanged); such a struct never changes, so the answer for (struct,
 * layer) is fixed.
 *
 * An answer is an immutable record (struct next_ans) in a row: one row per
 * catalog entry, found by the struct's place in the catalog's array, with
 * the answer of every position of its chain.  Rows are built when a chain
 * starts (chain_start()), or on the first slow answer for an entry.  A
 * table of rows belongs to one catalog; one made for a catalog no longer
 * in force is replaced.  Rows and tables are never freed: a reader may
 * hold them.
 *
 * In front of the rows, what layers hit: a direct-mapped cache of
 * pointers to records, by a hash of (struct, layer id).  A record names
 * its struct, layer and catalog, so a hit is a hash, one load and three
 * compares, with no division and no scan; a miss (a collision, or a
 * record not cached yet) looks in the row and caches what it finds.
 */
struct next_ans {
	const WSAPROTOCOL_INFOW	*in;	/* the catalog's struct ... */
	const struct catalog	*cat;	/* ... of this catalog */
	LPWSAPROTOCOL_INFOW	pass;	/* what the layer passes below */
	DWORD			self;	/* the layer's id */
};

struct next_row {
	int			n;	/* positions answered */
	struct next_ans		ans[MAX_PROTOCOL_CHAIN];
};

struct next_table {
	const struct catalog	*cat;
	struct next_table	*prev;	/* the one it replaced, kept */
	_Atomic(struct next_row *) rows[];	/* by catalog index */
};

#define NEXT_CACHE_BITS	6

static _Atomic(struct next_table *) next_tab;
static _Atomic(const struct next_ans *) next_cache[1 << NEXT_CACHE_BITS];

/* The cache slot of (in, self): a multiplicative hash of both. */
static inline size_t
next_hash(const WSAPROTOCOL_INFOW *in, DWORD self)
{
	return (size_t)((((uintptr_t)in ^ self) * 0x9e3779b97f4a7c15u) >>
	    (64 - NEXT_CACHE_BITS));
}

/* The table for catalog c, made if needed; NULL when memory runs out. */
static struct next_table *
next_table_for(const struct catalog *c)
{
	struct next_table *t, *mine = NULL;

	t = atomic_load_explicit(&next_tab, memory_order_acquire);
	while (t == NULL || t->cat != c) {
		if (mine == NULL) {
			mine = calloc(1, sizeof(*mine) +
			    c->count * sizeof(mine->rows[0]));
			if (mine == NULL)
				return NULL;
			mine->cat = c;
		}
		mine->prev = t;
		if (atomic_compare_exchange_weak_explicit(&next_tab, &t, mine,
		    memory_order_acq_rel, memory_order_acquire))
			return mine;
	}
	free(mine);
	return t;
}

/*
 * Nothing: fill the row of catalog entry e (of the catalog in force) if it
 * has none.  Positions whose answer is an error, or needs a copy (a token
 * in the entry's dwProviderReserved, for the base), get no record: they
 * take the slow path, which says why.
 */
static void
next_row_build(const struct catalog_entry *e)
{
	const struct catalog *c = catalog_current();
	LPWSAPROTOCOL_INFOW in = (LPWSAPROTOCOL_INFOW)(uintptr_t)&e->info;
	const struct catalog_entry *below;
	struct next_row *r, *expected = NULL;
	struct next_ans *a;
	struct next_table *t;
	size_t k;
	int i, base;

	if (!catalog_owns(c, in) || (t = next_table_for(c)) == NULL)
		return;
	k = (size_t)(e - c->entries);
	if (atomic_load_explicit(&t->rows[k], memory_order_acquire) != NULL ||
	    (r = calloc(1, sizeof(*r))) == NULL)
		return;
	for (i = 0; i + 1 < in->ProtocolChain.ChainLen &&
	    i + 1 < MAX_PROTOCOL_CHAIN; i++) {
		if (next_of(in, in->ProtocolChain.ChainEntries[i], &below,
		    &base) != 0 || (base && in->dwProviderReserved != 0))
			continue;
		a = &r->ans[r->n++];
		a->in = in;
		a->cat = c;
		a->self = in->ProtocolChain.ChainEntries[i];
		a->pass = base ? (LPWSAPROTOCOL_INFOW)(uintptr_t)&below->info :
		    in;
	}
	if (!atomic_compare_exchange_strong_explicit(&t->rows[k], &expected,
	    r, memory_order_acq_rel, memory_order_acquire))
		free(r);	/* another thread built the same row */
}

/* The record for (in, self) in in's row, or NULL when there is none (in
 * is not a struct of the catalog in force, or its row is not built, or
 * the answer is an error or needs a copy). */
static const struct next_ans *
next_row_find(const WSAPROTOCOL_INFOW *in, DWORD self)
{
	const struct catalog *c = catalog_current();
	const struct next_table *t;
	const struct next_row *r;
	int i;

	t = atomic_load_explicit(&next_tab, memory_order_acquire);
	if (t == NULL || t->cat != c || !catalog_owns(c, in) ||
	    (r = atomic_load_explicit(&t->rows[(const struct catalog_entry *)
	    (const void *)in - c->entries], memory_order_acquire)) == NULL)
		return NULL;
	for (i = 0; i < r->n; i++)
		if (r->ans[i].self == self)
			return &r->ans[i];
	return NULL;
}

/* The catalog entry below self in the chain, and the struct to pass it. */
static int
next_entry(LPWSAPROTOCOL_INFOW in, DWORD self,
    const struct catalog_entry **out, LPWSAPROTOCOL_INFOW pass)
{
	int err, base;

	if (pass == NULL)
		return WSAEFAULT;
	if ((err = next_of(in, self, out, &base)) != 0)
		return err;
	if (base) {
		/* The base never sees a chain: its own entry, and the token. */
		*pass = (*out)->info;
		pass->dwProviderReserved = in->dwProviderReserved;
	} else {
		*pass = *in;
	}
	return 0;
}

WSPSHIM_EXPORT int WSPAPI
WSPShimNextProtocolInfo(LPWSAPROTOCOL_INFOW lpProtocolInfo,
    DWORD dwSelfCatalogEntryId, LPWSAPROTOCOL_INFOW lpNextProtocolInfo,
    LPINT lpErrno)
{
	const struct catalog_entry *e;
	int err;

	err = next_entry(lpProtocolInfo, dwSelfCatalogEntryId, &e,
	    lpNextProtocolInfo);
	if (err != 0) {
		if (lpErrno != NULL)
			*lpErrno = err;
		return SOCKET_ERROR;
	}
	return 0;
}

/* WSPShimNextProtocol on a cache miss: the answer from the struct's row
 * (cached for next time) or, with none, worked out from its chain. */
static __attribute__((noinline)) LPWSAPROTOCOL_INFOW
next_protocol_slow(LPWSAPROTOCOL_INFOW lpProtocolInfo,
    DWORD dwSelfCatalogEntryId, LPWSAPROTOCOL_INFOW lpScratch, LPINT lpErrno)
{
	const struct catalog_entry *e;
	const struct next_ans *a;
	int err, base;

	/* A struct of the catalog: its row, built on first use if its
	 * chain did not build it, and the answer cached for next time. */
	if ((a = next_row_find(lpProtocolInfo, dwSelfCatalogEntryId)) ==
	    NULL && catalog_owns(catalog_current(), lpProtocolInfo)) {
		next_row_build((const struct catalog_entry *)(const void *)
		    lpProtocolInfo);
		a = next_row_find(lpProtocolInfo, dwSelfCatalogEntryId);
	}
	if (a != NULL) {
		atomic_store_explicit(&next_cache[next_hash(lpProtocolInfo,
		    dwSelfCatalogEntryId)], a, memory_order_release);
		return a->pass;
	}
	/* No answer to keep: a copy, an error, or a token to copy. */
	if ((err = next_of(lpProtocolInfo, dwSelfCatalogEntryId, &e,
	    &base)) != 0)
		goto fail;
	if (!base)
		return lpProtocolInfo;	/* the same struct, unmodified */
	if (lpProtocolInfo->dwProviderReserved == 0)
		return (LPWSAPROTOCOL_INFOW)(uintptr_t)&e->info;
	/* A token travels with a copy of the base's entry. */
	if (lpScratch == NULL) {
		err = WSAEFAULT;
		goto fail;
	}
	*lpScratch = e->info;
	lpScratch->dwProviderReserved = lpProtocolInfo->dwProviderReserved;
	return lpScratch;
fail:
	if (lpErrno != NULL)
		*lpErrno = err;
	return NULL;
}

/* The struct to pass below (see ws2spi.h).  The usual case is a cache
 * hit: a leaf call with no stores. */
WSPSHIM_EXPORT LPWSAPROTOCOL_INFOW WSPAPI
WSPShimNextProtocol(LPWSAPROTOCOL_INFOW lpProtocolInfo,
    DWORD dwSelfCatalogEntryId, LPWSAPROTOCOL_INFOW lpScratch, LPINT lpErrno)
{
	const struct next_ans *a;

	a = atomic_load_explicit(&next_cache[next_hash(lpProtocolInfo,
	    dwSelfCatalogEntryId)], memory_order_acquire);
	if (__builtin_expect(a != NULL && a->in == lpProtocolInfo &&
	    a->self == dwSelfCatalogEntryId && a->cat == catalog_current(), 1))
		return a->pass;
	return next_protocol_slow(lpProtocolInfo, dwSelfCatalogEntryId,
	    lpScratch, lpErrno);
}

/*
 * Start the next provider and copy the first n bytes of its (complete)
 * table into *lpNextProcTable: a layer's table is as large as the header
 * it was built with says.  0, or SOCKET_ERROR with *lpErrno.
 */
static int
next_start(LPWSAPROTOCOL_INFOW lpProtocolInfo, DWORD dwSelfCatalogEntryId,
    LPWSPPROC_TABLE lpNextProcTable, size_t n,
    LPWSAPROTOCOL_INFOW lpNextProtocolInfo, LPINT lpErrno)
{
	const struct catalog_entry *e;
	struct provider *p;
	int err;

	if (lpNextProcTable == NULL) {
		err = WSAEFAULT;
		goto fail;
	}
	err = next_entry(lpProtocolInfo, dwSelfCatalogEntryId, &e,
	    lpNextProtocolInfo);
	if (err != 0)
		goto fail;
	err = provider_start(e, lpNextProtocolInfo,
	    chain_position(&lpProtocolInfo->ProtocolChain,
	    dwSelfCatalogEntryId), &p);
	if (err != 0)
		goto fail;
	memcpy(lpNextProcTable, &p->procs, n);
	return 0;
fail:
	if (lpErrno != NULL)
		*lpErrno = err;
	return SOCKET_ERROR;
}

WSPSHIM_EXPORT int WSPAPI
WSPShimStartNextProviderV2(LPWSAPROTOCOL_INFOW lpProtocolInfo,
    DWORD dwSelfCatalogEntryId, LPWSPPROC_TABLE lpNextProcTable,
    LPWSAPROTOCOL_INFOW lpNextProtocolInfo, LPINT lpErrno)
{
	return next_start(lpProtocolInfo, dwSelfCatalogEntryId,
	    lpNextProcTable, sizeof(*lpNextProcTable), lpNextProtocolInfo,
	    lpErrno);
}

/* The name layers built against the version 1 header call: their table
 * has the 33 members of that version. */
#undef WSPShimStartNextProvider
WSPSHIM_EXPORT int WSPAPI
WSPShimStartNextProvider(LPWSAPROTOCOL_INFOW lpProtocolInfo,
    DWORD dwSelfCatalogEntryId, LPWSPPROC_TABLE lpNextProcTable,
    LPWSAPROTOCOL_INFOW lpNextProtocolInfo, LPINT lpErrno);

WSPSHIM_EXPORT int WSPAPI
WSPShimStartNextProvider(LPWSAPROTOCOL_INFOW lpProtocolInfo,
    DWORD dwSelfCatalogEntryId, LPWSPPROC_TABLE lpNextProcTable,
    LPWSAPROTOCOL_INFOW lpNextProtocolInfo, LPINT lpErrno)
{
	return next_start(lpProtocolInfo, dwSelfCatalogEntryId,
	    lpNextProcTable, WSPSHIM_PROC_COUNT(1) * sizeof(void (*)(void)),
	    lpNextProtocolInfo, lpErrno);
}

/* Whether the files at a and b are one file (device and inode). */
static int
same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return a != NULL && b != NULL && *a != '\0' && *b != '\0' &&
	    stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
	    sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Whether the module at base (file name fname) serves layered entry e:
 * the core loaded it for e, or it is the file e names. */
static int
module_serves(const void *base, const char *fname,
    const struct catalog_entry *e)
{
	struct provider *p;

	if (e == NULL || e->info.ProtocolChain.ChainLen != LAYERED_PROTOCOL)
		return 0;
	for (p = provider_first(); p != NULL; p = p->next) {
		if (p->error != 0 || p->dl == NULL || p->base != base)
			continue;
		if (p->entry_id == e->info.dwCatalogEntryId)
			return 2;
		/* The core loads a plugin by descriptor, so the module's
		 * own name is /proc/self/fd/N, gone by now: its file is the
		 * path the core checked. */
		fname = p->path;
	}
	return same_file(e->path, fname);
}

/* Whether the start-up context of this thread is for info's chain. */
static int
start_context_is(const WSAPROTOCOL_INFOW *info)
{
	const WSAPROTOCOLCHAIN *pc = &info->ProtocolChain;
	int i;

	if (wsp_tls.start.len == 0 ||
	    wsp_tls.start.chain != info->dwCatalogEntryId ||
	    wsp_tls.start.len != pc->ChainLen)
		return 0;
	for (i = 0; i < pc->ChainLen; i++)
		if (wsp_tls.start.entries[i] != pc->ChainEntries[i])
			return 0;
	return 1;
}

/*
 * The layered entry the module at base serves in info's chain (see
 * ws2spi.h): its position, or -1.  The positions it could be are those
 * whose entry it serves; during a start-up of this chain on this thread,
 * the first below the deepest one starting (which then becomes this one);
 * otherwise the one the core loaded it for, else the first.
 */
static int
find_self(const WSAPROTOCOL_INFOW *info, const void *base, const char *fname)
{
	const WSAPROTOCOLCHAIN *pc = &info->ProtocolChain;
	const struct catalog *c = catalog_current();
	int i, how, first = -1, loaded = -1, below = -1, ctx;

	if (pc->ChainLen < 2 || pc->ChainLen > MAX_PROTOCOL_CHAIN)
		return -1;
	ctx = start_context_is(info);
	for (i = 0; i + 1 < pc->ChainLen; i++) {
		how = module_serves(base, fname,
		    catalog_by_id(c, pc->ChainEntries[i]));
		if (how == 0)
			continue;
		if (first < 0)
			first = i;
		if (how == 2 && loaded < 0)
			loaded = i;
		if (ctx && below < 0 && i > wsp_tls.start.above)
			below = i;
	}
	if (below >= 0) {
		wsp_tls.start.above = below;
		return below;
	}
	return loaded >= 0 ? loaded : first;
}

/* The layered entry id of the calling module in the chain of
 * lpProtocolInfo, or 0 with *lpErrno.  Not inlined: the return address
 * must be the caller's. */
WSPSHIM_EXPORT __attribute__((noinline)) DWORD WSPAPI
WSPShimFindSelf(LPWSAPROTOCOL_INFOW lpProtocolInfo, LPINT lpErrno)
{
	void *from = __builtin_extract_return_addr(__builtin_return_address(0));
	Dl_info info;
	int i, err = WSAEINVAL;

	if (lpProtocolInfo == NULL) {
		err = WSAEFAULT;
	} else if (dladdr(from, &info) != 0 && info.dli_fbase != NULL &&
	    (i = find_self(lpProtocolInfo, info.dli_fbase,
	    info.dli_fname)) >= 0) {
		return lpProtocolInfo->ProtocolChain.ChainEntries[i];
	}
	if (lpErrno != NULL)
		*lpErrno = err;
	return 0;
}

/* 0 with a separate copy of the calling module started for layered entry
 * dwSelfCatalogEntryId of lpProtocolInfo's chain, its WSPDATA and table in
 * *lpWSPData and *lpProcTable; or SOCKET_ERROR with *lpErrno.  Not
 * inlined: the return address must be the caller's. */
WSPSHIM_EXPORT __attribute__((noinline)) int WSPAPI
WSPShimStartCopy(LPWSAPROTOCOL_INFOW lpProtocolInfo,
    DWORD dwSelfCatalogEntryId, LPWSPDATA lpWSPData,
    LPWSPPROC_TABLE lpProcTable, LPINT lpErrno)
{
	void *from = __builtin_extract_return_addr(__builtin_return_address(0));
	const struct catalog_entry *e;
	struct provider *p;
	Dl_info info;
	int err, pos;

	if (lpProtocolInfo == NULL || lpWSPData == NULL ||
	    lpProcTable == NULL) {
		err = WSAEFAULT;
		goto fail;
	}
	e = catalog_by_id(catalog_current(), dwSelfCatalogEntryId);
	pos = chain_position(&lpProtocolInfo->ProtocolChain,
	    dwSelfCatalogEntryId);
	if (e == NULL || e->info.ProtocolChain.ChainLen != LAYERED_PROTOCOL ||
	    pos < 0 || pos + 1 >= lpProtocolInfo->ProtocolChain.ChainLen ||
	    dladdr(from, &info) == 0) {
		err = WSAEINVAL;
		goto fail;
	}
	/* The copy must not be the caller itself. */
	if ((p = provider_find(dwSelfCatalogEntryId, e->path)) != NULL &&
	    p->base == info.dli_fbase) {
		err = WSAEINVAL;
		goto fail;
	}
	if ((err = provider_start(e, lpProtocolInfo, pos - 1, &p)) != 0)
		goto fail;
	*lpWSPData = p->data;
	*lpProcTable = p->procs;
	return 0;
fail:
	if (lpErrno != NULL)
		*lpErrno = err;
	return SOCKET_ERROR;
}

/* The layered entry id of the instance whose code called, or 0.  Not
 * inlined: the return address must be the caller's. */
WSPSHIM_EXPORT __attribute__((noinline)) DWORD WSPAPI
WSPShimSelfCatalogEntryId(void)
{
	void *from = __builtin_extract_return_addr(__builtin_return_address(0));
	struct provider *p;
	Dl_info info;

	if (dladdr(from, &info) == 0 || info.dli_fbase == NULL)
		return 0;
	for (p = provider_first(); p != NULL; p = p->next)
		if (p->error == 0 && p->dl != NULL &&
		    p->base == info.dli_fbase)
			return p->entry_id;
	return 0;
}

WSPSHIM_EXPORT int WSPAPI
WSPShimGetLayerParams(DWORD dwCatalogEntryId, char *lpszParams,
    LPINT lpLength, LPINT lpErrno)
{
	const struct catalog_entry *e;
	const char *params;
	size_t need;
	int dummy;

	if (lpErrno == NULL)
		lpErrno = &dummy;
	if (lpLength == NULL) {
		*lpErrno = WSAEFAULT;
		return SOCKET_ERROR;
	}
	if ((e = catalog_by_id(catalog_current(), dwCatalogEntryId)) == NULL) {
		*lpErrno = WSAEINVAL;
		return SOCKET_ERROR;
	}
	params = e->params != NULL ? e->params : "";
	need = strlen(params) + 1;
	if (lpszParams == NULL || *lpLength < 0 || (size_t)*lpLength < need) {
		*lpLength = (int)need;
		*lpErrno = WSAEFAULT;
		return SOCKET_ERROR;
	}
	memcpy(lpszParams, params, need);
	*lpLength = (int)need;
	return 0;
}

/* The base provider under Winsock's export name, so a layer that loads
 * the next provider the Windows way (dlopen + dlsym) finds it here. */
WSPSHIM_EXPORT int WSPAPI
WSPStartup(WORD wVersionRequested, LPWSPDATA lpWSPData,
    LPWSAPROTOCOL_INFOW lpProtocolInfo, WSPUPCALLTABLE UpcallTable,
    LPWSPPROC_TABLE lpProcTable)
{
	return base_startup(wVersionRequested, lpWSPData, lpProtocolInfo,
	    UpcallTable, lpProcTable);
}
