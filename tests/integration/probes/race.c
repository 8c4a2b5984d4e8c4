/*
 * race.c - librace.so, a preload below libwspshim.so that holds a send
 * open at its most delicate moment.
 *
 * Its send and sendto, once armed (race_armed), post race_go and wait for
 * race_done before calling on: between the moment the caller above chose
 * a descriptor and the syscall, another thread of the probe runs.  What
 * is a narrow window for a real program becomes certain here.
 */
#include <dlfcn.h>
#include <semaphore.h>
#include <stddef.h>
#include <sys/socket.h>

#include "race.h"

sem_t race_go, race_done;
int race_armed;

typedef ssize_t send_fn(int, const void *, size_t, int);
typedef ssize_t sendto_fn(int, const void *, size_t, int,
    const struct sockaddr *, socklen_t);

/* Once armed: let the other thread run to completion. */
static void
hold(void)
{
	if (__atomic_exchange_n(&race_armed, 0, __ATOMIC_ACQ_REL)) {
		sem_post(&race_go);
		sem_wait(&race_done);
	}
}

ssize_t
send(int fd, const void *buf, size_t n, int flags)
{
	static send_fn *f;

	if (f == NULL)
		f = (send_fn *)dlsym(RTLD_NEXT, "send");
	hold();
	return f(fd, buf, n, flags);
}

ssize_t
sendto(int fd, const void *buf, size_t n, int flags,
    const struct sockaddr *to, socklen_t len)
{
	static sendto_fn *f;

	if (f == NULL)
		f = (sendto_fn *)dlsym(RTLD_NEXT, "sendto");
	hold();
	return f(fd, buf, n, flags, to, len);
}
