/*
 * fdtab.c - the fd table: kernel descriptor -> chain socket.
 *
 * One flat array of pointers, indexed by descriptor, sized once from the
 * hard RLIMIT_NOFILE (capped) and mapped without reserve, so untouched
 * pages cost nothing and a fork copies only what is in use.  Readers do one
 * bounds check and one acquire load; writers publish with release order.
 * Descriptors beyond the table are never managed: they pass to libc.
 */
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "core.h"
#include "log.h"

#define FDTAB_MAX	(1u << 20)	/* Linux's default fs.nr_open */
#define FDTAB_MIN	1024u

_Atomic(struct wsock *) *fdtab_slots;
_Atomic uint32_t *fdtab_calls;
unsigned fdtab_cap;
unsigned fdtab_hi;		/* one past the highest descriptor published */
unsigned fdtab_protected;	/* descriptors marked FDTAB_PROTECTED */
unsigned fdtab_npending;	/* slots that are pending closes */

void
fdtab_init(void)
{
	struct rlimit rl;
	unsigned cap = FDTAB_MAX;
	void *p, *c;

	if (fdtab_slots != NULL)
		return;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY
	    && rl.rlim_max < FDTAB_MAX)
		cap = (unsigned)rl.rlim_max;
	if (cap < FDTAB_MIN)
		cap = FDTAB_MIN;
	p = mmap(NULL, (size_t)cap * sizeof(*fdtab_slots),
	    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
	    -1, 0);
	if (p == MAP_FAILED) {
		log_msg("cannot map the fd table (%u entries): sockets pass "
		    "through unmanaged", cap);
		return;
	}
	c = mmap(NULL, (size_t)cap * sizeof(*fdtab_calls),
	    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
	    -1, 0);
	if (c == MAP_FAILED) {
		munmap(p, (size_t)cap * sizeof(*fdtab_slots));
		log_msg("cannot map the fd table's call counts (%u entries): "
		    "sockets pass through unmanaged", cap);
		return;
	}
	fdtab_calls = c;
	fdtab_slots = p;
	__atomic_store_n(&fdtab_cap, cap, __ATOMIC_RELEASE);
}

struct wsock *
fdtab_swap(int fd, struct wsock *s)
{
	if (!fdtab_fits(fd))
		return NULL;
	if (s != NULL)
		fdtab_cover(fd);
	return atomic_exchange_explicit(&fdtab_slots[fd], s,
	    memory_order_acq_rel);
}
