/*
 * libc.c - the real-function table.
 *
 * Until libc_init() runs, each member is a raw-syscall fallback: a hook
 * called from another library's constructor, before ours, still reaches
 * the kernel without dlsym() (which may allocate) and without recursion.
 * libc_init() then resolves each name with dlsym(RTLD_NEXT), so preloads
 * stacked after this one keep working, and refuses a result that lies in
 * this library itself.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <fcntl.h>
#include <liburing.h>

#include "libc.h"

/* Raw-syscall fallbacks, one per member. */
#define FB(name) fb_##name
static int FB(socket)(int d, int t, int p)
{ return (int)syscall(SYS_socket, d, t, p); }
static int FB(socketpair)(int d, int t, int p, int sv[2])
{ return (int)syscall(SYS_socketpair, d, t, p, sv); }
static int FB(bind)(int fd, const struct sockaddr *a, socklen_t l)
{ return (int)syscall(SYS_bind, fd, a, l); }
static int FB(connect)(int fd, const struct sockaddr *a, socklen_t l)
{ return (int)syscall(SYS_connect, fd, a, l); }
static int FB(listen)(int fd, int b)
{ return (int)syscall(SYS_listen, fd, b); }
static int FB(accept)(int fd, struct sockaddr *a, socklen_t *l)
{ return (int)syscall(SYS_accept4, fd, a, l, 0); }
static int FB(accept4)(int fd, struct sockaddr *a, socklen_t *l, int f)
{ return (int)syscall(SYS_accept4, fd, a, l, f); }
static ssize_t FB(send)(int fd, const void *b, size_t n, int f)
{ return syscall(SYS_sendto, fd, b, n, f, NULL, 0); }
static ssize_t FB(sendto)(int fd, const void *b, size_t n, int f,
    const struct sockaddr *a, socklen_t l)
{ return syscall(SYS_sendto, fd, b, n, f, a, l); }
static ssize_t FB(sendmsg)(int fd, const struct msghdr *m, int f)
{ return syscall(SYS_sendmsg, fd, m, f); }
static int FB(sendmmsg)(int fd, struct mmsghdr *v, unsigned int n, int f)
{ return (int)syscall(SYS_sendmmsg, fd, v, n, f); }
static ssize_t FB(recv)(int fd, void *b, size_t n, int f)
{ return syscall(SYS_recvfrom, fd, b, n, f, NULL, NULL); }
static ssize_t FB(recvfrom)(int fd, void *b, size_t n, int f,
    struct sockaddr *a, socklen_t *l)
{ return syscall(SYS_recvfrom, fd, b, n, f, a, l); }
static ssize_t FB(recvmsg)(int fd, struct msghdr *m, int f)
{ return syscall(SYS_recvmsg, fd, m, f); }
static int FB(recvmmsg)(int fd, struct mmsghdr *v, unsigned int n, int f,
    struct timespec *t)
{ return (int)syscall(SYS_recvmmsg, fd, v, n, f, t); }
static ssize_t FB(read)(int fd, void *b, size_t n)
{ return syscall(SYS_read, fd, b, n); }
static ssize_t FB(write)(int fd, const void *b, size_t n)
{ return syscall(SYS_write, fd, b, n); }
static ssize_t FB(readv)(int fd, const struct iovec *v, int n)
{ return syscall(SYS_readv, fd, v, n); }
static ssize_t FB(writev)(int fd, const struct iovec *v, int n)
{ return syscall(SYS_writev, fd, v, n); }
static ssize_t FB(sendfile)(int o, int i, off_t *off, size_t n)
{ return syscall(SYS_sendfile, o, i, off, n); }
static ssize_t FB(splice)(int i, off_t *io, int o, off_t *oo, size_t n,
    unsigned int f)
{ return syscall(SYS_splice, i, io, o, oo, n, f); }
static int FB(close)(int fd)
{ return (int)syscall(SYS_close, fd); }
static int FB(close_range)(unsigned int a, unsigned int b, int f)
{ return (int)syscall(SYS_close_range, a, b, f); }
static int FB(shutdown)(int fd, int h)
{ return (int)syscall(SYS_shutdown, fd, h); }
static int FB(getsockopt)(int fd, int lv, int nm, void *v, socklen_t *l)
{ return (int)syscall(SYS_getsockopt, fd, lv, nm, v, l); }
static int FB(setsockopt)(int fd, int lv, int nm, const void *v, socklen_t l)
{ return (int)syscall(SYS_setsockopt, fd, lv, nm, v, l); }
static int FB(getsockname)(int fd, struct sockaddr *a, socklen_t *l)
{ return (int)syscall(SYS_getsockname, fd, a, l); }
static int FB(getpeername)(int fd, struct sockaddr *a, socklen_t *l)
{ return (int)syscall(SYS_getpeername, fd, a, l); }
static int FB(dup)(int fd)
{ return (int)syscall(SYS_dup, fd); }
static int FB(dup2)(int fd, int fd2)
{
	/* dup3 refuses fd == fd2; dup2 answers it after checking fd. */
	if (fd == fd2)
		return syscall(SYS_fcntl, fd, F_GETFD) < 0 ? -1 : fd;
	return (int)syscall(SYS_dup3, fd, fd2, 0);
}
static int FB(dup3)(int fd, int fd2, int f)
{ return (int)syscall(SYS_dup3, fd, fd2, f); }

static int
FB(ioctl)(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	return (int)syscall(SYS_ioctl, fd, req, arg);
}

static int
FB(fcntl)(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return (int)syscall(SYS_fcntl, fd, cmd, arg);
}

/* Not a syscall: liburing's own function (it makes the raw calls). */
static int FB(io_uring_queue_init_params)(unsigned e, struct io_uring *r,
    struct io_uring_params *p)
{ return io_uring_queue_init_params(e, r, p); }
static const struct libc_table fallback = {
#define LIBC_FN(ret, name, params, args) .name = FB(name),
#include "libc.def"
#undef LIBC_FN
	.ioctl = FB(ioctl),
	.fcntl = FB(fcntl),
};

struct libc_table libc = {
#define LIBC_FN(ret, name, params, args) .name = FB(name),
#include "libc.def"
#undef LIBC_FN
	.ioctl = FB(ioctl),
	.fcntl = FB(fcntl),
};

static struct libc_table resolved;
static int resolved_done;

/* The next definition of name after this library, or NULL. */
static void *
resolve(const char *name)
{
	Dl_info self, found;
	void *p;

	p = dlsym(RTLD_NEXT, name);
	if (p == NULL)
		return NULL;
	/* Never resolve to ourselves (a preload order we did not expect). */
	if (dladdr((void *)resolve, &self) && dladdr(p, &found) &&
	    self.dli_fbase == found.dli_fbase)
		return NULL;
	return p;
}

void
libc_init(void)
{
	struct libc_table t = fallback;
	void *p;

	if (__atomic_load_n(&resolved_done, __ATOMIC_ACQUIRE))
		return;
#define LIBC_FN(ret, name, params, args)				\
	if ((p = resolve(#name)) != NULL)				\
		t.name = (ret (*) params)p;
#include "libc.def"
#undef LIBC_FN
	if ((p = resolve("ioctl")) != NULL)
		t.ioctl = (int (*)(int, unsigned long, ...))p;
	if ((p = resolve("fcntl")) != NULL)
		t.fcntl = (int (*)(int, int, ...))p;
	resolved = t;
	libc = t;
	__atomic_store_n(&resolved_done, 1, __ATOMIC_RELEASE);
}

void
libc_reset(void)
{
	if (__atomic_load_n(&resolved_done, __ATOMIC_ACQUIRE))
		libc = resolved;
	else
		libc = fallback;
}
