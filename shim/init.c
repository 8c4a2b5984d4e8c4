/*
 * init.c - start-up, and the small helpers the hooks share.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "catalog.h"
#include "shim.h"

static pid_t shim_pid;
static int any_managed;

/* Nothing: a catalog reloaded with chains makes sockets manageable from
 * then on (it never goes back: sockets already managed stay so). */
static void
shim_catalog_changed(const struct catalog *c)
{
	size_t i;

	for (i = 0; i < c->count && !any_managed; i++)
		if (c->entries[i].info.ProtocolChain.ChainLen > 1)
			__atomic_store_n(&any_managed, 1, __ATOMIC_RELEASE);
}

/* Start the core as soon as the library is loaded.  Hooks that run
 * earlier (other libraries' constructors) pass through to libc; sockets
 * they made are found and adopted on first use. */
__attribute__((constructor)) static void
shim_init(void)
{
	const struct catalog *c;
	size_t i;

	core_init();
	shim_pid = getpid();
	c = catalog_current();
	any_managed = getenv("WSPSHIM_MANAGE") != NULL &&
	    strcmp(getenv("WSPSHIM_MANAGE"), "all") == 0;
	for (i = 0; i < c->count && !any_managed; i++)
		if (c->entries[i].info.ProtocolChain.ChainLen > 1)
			any_managed = 1;
	core_catalog_hook = shim_catalog_changed;
}

static void
shim_atfork_child(void)
{
	shim_pid = getpid();
}

__attribute__((constructor)) static void
shim_init_fork(void)
{
	pthread_atfork(NULL, NULL, shim_atfork_child);
}

int
shim_in_vfork_child(void)
{
	return shim_pid != 0 && getpid() != shim_pid;
}

int
shim_any_managed(void)
{
	return any_managed;
}

WSABUF *
shim_iov_to_wsabuf(const struct iovec *iov, int n, WSABUF *stack,
    WSABUF **heap)
{
	WSABUF *b = stack;
	int i;

	*heap = NULL;
	if (n < 0 || n > IOV_MAX) {
		errno = EINVAL;
		return NULL;
	}
	if (n > SHIM_STACK_BUFS) {
		if ((b = *heap = calloc((size_t)n, sizeof(*b))) == NULL) {
			errno = ENOMEM;
			return NULL;
		}
	}
	for (i = 0; i < n; i++)
		b[i] = shim_buf(iov[i].iov_base, iov[i].iov_len);
	return b;
}

void
shim_note_rights(const struct msghdr *msg)
{
	struct cmsghdr *cm;
	const int *fds;
	size_t i, n;

	if (msg->msg_controllen == 0 || msg->msg_control == NULL)
		return;
	for (cm = CMSG_FIRSTHDR((struct msghdr *)msg); cm != NULL;
	    cm = CMSG_NXTHDR((struct msghdr *)msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		fds = (const int *)(void *)CMSG_DATA(cm);
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			/* A new number: whatever the table had is stale. */
			core_forget(fds[i]);
			if (shim_any_managed())
				fdtab_swap(fds[i], FDTAB_ADOPT);
		}
	}
}
