/*
 * libc.h - the one table through which the library reaches libc.
 *
 * Every member starts out pointing at a raw-syscall fallback, so a hook that
 * runs before libc_init() (another library's constructor) still works and
 * nothing allocates; libc_init() swaps in the functions dlsym(RTLD_NEXT)
 * finds.  Tests replace members to inject faults.  Internal code calls
 * libc.<name>(), never a bare POSIX name that the shim defines.
 */
#ifndef WSPSHIM_LIBC_H
#define WSPSHIM_LIBC_H

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

struct io_uring;
struct io_uring_params;

struct libc_table {
#define LIBC_FN(ret, name, params, args) ret (*name) params;
#include "libc.def"
#undef LIBC_FN
	int (*ioctl)(int fd, unsigned long req, ...);
	int (*fcntl)(int fd, int cmd, ...);
};

/* Hidden where declared, not only where defined: each call through it is
 * then one indirect call relative to the program counter, not a load of
 * its address and a call (the library calls through it on every path). */
extern struct libc_table libc __attribute__((visibility("hidden")));

/* Resolve the real functions once; safe to call again.  Never allocates
 * through the shim's own hooks. */
void libc_init(void);

/* Restore the resolved functions (undoes a test's fault injection). */
void libc_reset(void);

#endif
