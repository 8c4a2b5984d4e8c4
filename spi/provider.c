/*
 * provider.c - the provider registry, chain start-up and the upcall table.
 *
 * A provider is loaded once per process (the base is built in; plugins
 * come from dlopen) and started once per catalog entry that uses it.  The
 * registry lock only guards the list: it is never held while a provider's
 * WSPStartup runs, because real layers call WSCEnumProtocols, or start the
 * next provider, from inside it.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base.h"
#include "core.h"
#include "handle.h"
#include "libc.h"
#include "log.h"
#include "provider.h"
#include "wstr.h"
#include "export.h"

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t chain_lock = PTHREAD_MUTEX_INITIALIZER;
static struct provider *providers;
static struct chain *chains;

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

/* The registered provider for entry e, loading it if needed.  0 or a WSA
 * code (the reason is logged once, naming the file). */
static int
provider_load(const struct catalog_entry *e, struct provider **out)
{
	struct provider *p;
	void *dl, *sym;

	if (guid_eq(&e->info.ProviderId, &catalog_base_guid)) {
		*out = &base_provider;
		return 0;
	}
	pthread_mutex_lock(&registry_lock);
	for (p = providers; p != NULL; p = p->next)
		if (strcmp(p->path, e->path) == 0)
			break;
	pthread_mutex_unlock(&registry_lock);
	if (p != NULL) {
		*out = p;
		return 0;
	}

	dl = dlopen(e->path, RTLD_NOW | RTLD_LOCAL);
	if (dl == NULL) {
		log_msg("provider %s: cannot load: %s", e->path, dlerror());
		return WSAEPROVIDERFAILEDINIT;
	}
	sym = dlsym(dl, "WSPStartup");
	if (sym == NULL) {
		log_msg("provider %s: no WSPStartup export", e->path);
		dlclose(dl);
		return WSAEPROVIDERFAILEDINIT;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL || (p->path = strdup(e->path)) == NULL) {
		free(p);
		dlclose(dl);
		return WSAENOBUFS;
	}
	p->id = e->info.ProviderId;
	p->dl = dl;
	p->startup = (LPWSPSTARTUP)sym;

	pthread_mutex_lock(&registry_lock);
	struct provider *q;
	for (q = providers; q != NULL; q = q->next)
		if (strcmp(q->path, e->path) == 0)
			break;
	if (q == NULL) {
		p->next = providers;
		providers = p;
	}
	pthread_mutex_unlock(&registry_lock);
	if (q != NULL) {		/* another thread won the race */
		free(p->path);
		free(p);
		p = q;
	}
	*out = p;
	return 0;
}

/* Whether a filled proc table is usable: 0, or WSAEINVALIDPROCTABLE. */
static int
provider_check_table(const WSPPROC_TABLE *t, const WSPDATA *d)
{
	typedef void (*fn)(void);
	const fn *m = (const fn *)(const void *)t;
	size_t n = WSPSHIM_WINSOCK_PROC_COUNT, i;

	if (d->wLinuxTableVersion >= 1)
		n = sizeof(*t) / sizeof(fn);
	for (i = 0; i < n; i++)
		if (m[i] == NULL)
			return WSAEINVALIDPROCTABLE;
	return 0;
}

int
provider_start(const struct catalog_entry *e, LPWSAPROTOCOL_INFOW info,
    struct provider **out)
{
	struct provider *p;
	WSPPROC_TABLE t;
	WSPDATA d;
	int err, cerr;

	if ((err = provider_load(e, &p)) != 0)
		return err;
	memset(&t, 0, sizeof(t));
	memset(&d, 0, sizeof(d));
	err = p->startup(WSPSHIM_SPI_VERSION, &d, info, provider_upcalls, &t);
	if (err != 0) {
		log_msg("provider %s: WSPStartup failed: %d", p->path, err);
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
	} else if ((err = provider_check_table(&t, &d)) != 0) {
		log_msg("provider %s: WSPStartup returned a proc table with a "
		    "NULL member", p->path);
	}
	if (err != 0) {
		/* The provider did start: balance it before refusing it. */
		if (t.lpWSPCleanup != NULL)
			t.lpWSPCleanup(&cerr);
		return err;
	}
	pthread_mutex_lock(&registry_lock);
	p->procs = t;
	p->data = d;
	p->starts++;
	pthread_mutex_unlock(&registry_lock);
	*out = p;
	return 0;
}

void
provider_cleanup(struct provider *p)
{
	int err;

	pthread_mutex_lock(&registry_lock);
	if (p->starts == 0) {
		pthread_mutex_unlock(&registry_lock);
		return;
	}
	p->starts--;
	pthread_mutex_unlock(&registry_lock);
	if (p->procs.lpWSPCleanup(&err) != 0)
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
	err = provider_start(top, &info, &c->top);
	if (err != 0) {
		/* A provider that cannot start fails its sockets, clearly. */
		if (err != WSAEINVALIDPROCTABLE)
			err = WSAEPROVIDERFAILEDINIT;
		return err;
	}
	c->procs = &c->top->procs;
	c->linux_ext = c->top->data.wLinuxTableVersion >= 1;
	return 0;
}

struct chain *
chain_get(const struct catalog_entry *e, int *err)
{
	struct chain *c;

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
		chains = c;
	}
	if (c->procs == NULL && c->error == 0) {
		c->error = chain_start(c);
		if (c->error == 0)
			__atomic_store_n(&c->started, 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&chain_lock);
	if (c->error != 0) {
		*err = c->error;
		return NULL;
	}
	return c;
}

void
chain_cleanup_idle(void)
{
	struct chain *c;

	pthread_mutex_lock(&chain_lock);
	for (c = chains; c != NULL; c = c->next) {
		if (c->procs == NULL ||
		    __atomic_load_n(&c->live, __ATOMIC_ACQUIRE) != 0)
			continue;
		provider_cleanup(c->top);
		c->procs = NULL;
		c->started = 0;
	}
	pthread_mutex_unlock(&chain_lock);
}

void
provider_atfork_prepare(void)
{
	pthread_mutex_lock(&chain_lock);
	pthread_mutex_lock(&registry_lock);
}

void
provider_atfork_parent(void)
{
	pthread_mutex_unlock(&registry_lock);
	pthread_mutex_unlock(&chain_lock);
}

void
provider_atfork_child(void)
{
	pthread_mutex_init(&registry_lock, NULL);
	pthread_mutex_init(&chain_lock, NULL);
}

/*
 * The upcalls.  Events are eventfd descriptors (a handle is the descriptor
 * plus one, so no valid event is NULL); there are no window messages, APCs
 * or blocking hooks on Linux, and those upcalls say so.
 */
static WSAEVENT WSPAPI
upcall_create_event(LPINT lpErrno)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	if (fd < 0) {
		*lpErrno = WSAENOBUFS;
		return WSA_INVALID_EVENT;
	}
	return (WSAEVENT)(intptr_t)(fd + 1);
}

static int
event_fd(WSAEVENT h)
{
	return (int)(intptr_t)h - 1;
}

static BOOL WSPAPI
upcall_close_event(WSAEVENT h, LPINT lpErrno)
{
	if (h == WSA_INVALID_EVENT || libc.close(event_fd(h)) != 0) {
		*lpErrno = WSA_INVALID_HANDLE;
		return FALSE;
	}
	return TRUE;
}

static BOOL WSPAPI
upcall_set_event(WSAEVENT h, LPINT lpErrno)
{
	uint64_t one = 1;

	if (h == WSA_INVALID_EVENT ||
	    libc.write(event_fd(h), &one, sizeof(one)) != sizeof(one)) {
		*lpErrno = WSA_INVALID_HANDLE;
		return FALSE;
	}
	return TRUE;
}

static BOOL WSPAPI
upcall_reset_event(WSAEVENT h, LPINT lpErrno)
{
	uint64_t v;

	if (h == WSA_INVALID_EVENT ||
	    (libc.read(event_fd(h), &v, sizeof(v)) < 0 && errno != EAGAIN)) {
		*lpErrno = WSA_INVALID_HANDLE;
		return FALSE;
	}
	return TRUE;
}

static int WSPAPI
upcall_fd_is_set(SOCKET s, fd_set *set)
{
	int fd = base_kernel_fd(s);

	if (fd < 0 && s < FD_SETSIZE)
		fd = (int)s;
	return fd >= 0 && fd < FD_SETSIZE && set != NULL && FD_ISSET(fd, set);
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

static int WSPAPI
upcall_queue_apc(LPWSATHREADID tid, LPWSAUSERAPC apc, DWORD_PTR ctx,
    LPINT lpErrno)
{
	*lpErrno = WSAEOPNOTSUPP;
	return SOCKET_ERROR;
}

static int WSPAPI
upcall_open_current_thread(LPWSATHREADID tid, LPINT lpErrno)
{
	if (tid == NULL) {
		*lpErrno = WSAEFAULT;
		return SOCKET_ERROR;
	}
	tid->ThreadHandle = (HANDLE)pthread_self();
	tid->Reserved = 0;
	return 0;
}

static int WSPAPI
upcall_close_thread(LPWSATHREADID tid, LPINT lpErrno)
{
	if (tid == NULL) {
		*lpErrno = WSAEFAULT;
		return SOCKET_ERROR;
	}
	return 0;
}

const WSPUPCALLTABLE provider_upcalls = {
	.lpWPUCloseEvent = upcall_close_event,
	.lpWPUCloseSocketHandle = handle_close,
	.lpWPUCreateEvent = upcall_create_event,
	.lpWPUCreateSocketHandle = handle_create,
	.lpWPUFDIsSet = upcall_fd_is_set,
	.lpWPUGetProviderPath = WSCGetProviderPath,
	.lpWPUModifyIFSHandle = handle_modify_ifs,
	.lpWPUPostMessage = upcall_post_message,
	.lpWPUQueryBlockingCallback = upcall_query_blocking_callback,
	.lpWPUQuerySocketHandleContext = handle_query,
	.lpWPUQueueApc = upcall_queue_apc,
	.lpWPUResetEvent = upcall_reset_event,
	.lpWPUSetEvent = upcall_set_event,
	.lpWPUOpenCurrentThread = upcall_open_current_thread,
	.lpWPUCloseThread = upcall_close_thread,
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

/* The catalog entry below self in the chain, and the struct to pass it. */
static int
next_entry(LPWSAPROTOCOL_INFOW in, DWORD self,
    const struct catalog_entry **out, LPWSAPROTOCOL_INFOW pass)
{
	const WSAPROTOCOLCHAIN *pc;
	const struct catalog_entry *e;
	int i;

	if (in == NULL || pass == NULL)
		return WSAEFAULT;
	pc = &in->ProtocolChain;
	if (pc->ChainLen < 2 || pc->ChainLen > MAX_PROTOCOL_CHAIN ||
	    (i = chain_position(pc, self)) < 0 || i + 1 >= pc->ChainLen)
		return WSAEINVAL;
	e = catalog_by_id(catalog_current(), pc->ChainEntries[i + 1]);
	if (e == NULL)
		return WSAEINVAL;
	if (i + 1 == pc->ChainLen - 1) {
		/* The base never sees a chain: its own entry, and the token. */
		*pass = e->info;
		pass->dwProviderReserved = in->dwProviderReserved;
	} else {
		*pass = *in;
	}
	*out = e;
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

WSPSHIM_EXPORT int WSPAPI
WSPShimStartNextProvider(LPWSAPROTOCOL_INFOW lpProtocolInfo,
    DWORD dwSelfCatalogEntryId, LPWSPPROC_TABLE lpNextProcTable,
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
	err = provider_start(e, lpNextProtocolInfo, &p);
	if (err != 0)
		goto fail;
	*lpNextProcTable = p->procs;
	return 0;
fail:
	if (lpErrno != NULL)
		*lpErrno = err;
	return SOCKET_ERROR;
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
