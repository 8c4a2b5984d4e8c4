/*
 * stack.c - libstack.so, another preload to stack with libwspshim.so.
 *
 * It interposes send, sendto, sendmsg and write, counts the bytes they
 * carry to sockets in stack_bytes, and calls on with dlsym(RTLD_NEXT), as
 * any well-behaved interposer does.  Preloaded after libwspshim.so it
 * must see what the shim (or its base provider) passes on; preloaded
 * before, what the program calls.
 */
#include <dlfcn.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "stack.h"

unsigned long stack_bytes;

typedef ssize_t send_fn(int, const void *, size_t, int);
typedef ssize_t sendto_fn(int, const void *, size_t, int,
    const struct sockaddr *, socklen_t);
typedef ssize_t sendmsg_fn(int, const struct msghdr *, int);
typedef ssize_t write_fn(int, const void *, size_t);

/* The next definition of name (the shim's, libc's, ...). */
static void *
next(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

static void
count(int fd, ssize_t n)
{
	struct stat st;

	if (n > 0 && fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode))
		__atomic_fetch_add(&stack_bytes, (unsigned long)n,
		    __ATOMIC_RELAXED);
}

ssize_t
send(int fd, const void *buf, size_t n, int flags)
{
	static send_fn *f;
	ssize_t r;

	if (f == NULL)
		f = (send_fn *)next("send");
	r = f(fd, buf, n, flags);
	count(fd, r);
	return r;
}

ssize_t
sendto(int fd, const void *buf, size_t n, int flags,
    const struct sockaddr *to, socklen_t len)
{
	static sendto_fn *f;
	ssize_t r;

	if (f == NULL)
		f = (sendto_fn *)next("sendto");
	r = f(fd, buf, n, flags, to, len);
	count(fd, r);
	return r;
}

ssize_t
sendmsg(int fd, const struct msghdr *msg, int flags)
{
	static sendmsg_fn *f;
	ssize_t r;

	if (f == NULL)
		f = (sendmsg_fn *)next("sendmsg");
	r = f(fd, msg, flags);
	count(fd, r);
	return r;
}

ssize_t
write(int fd, const void *buf, size_t n)
{
	static write_fn *f;
	ssize_t r;

	if (f == NULL)
		f = (write_fn *)next("write");
	r = f(fd, buf, n);
	count(fd, r);
	return r;
}
