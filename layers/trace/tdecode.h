/*
 * tdecode.h - the trace layer's decoder: socket call arguments and
 * results written in strace's own syntax (docs/layers/trace.md).
 *
 * Everything here formats into a struct tline, a bounded line buffer that
 * counts what did not fit (so a caller can retry with a larger one), and
 * reads the program's memory only through tpeek(): directly when the call
 * that used it proved it readable, else with process_vm_readv(), so a bad
 * pointer is printed as strace prints it (its address in hex) instead of
 * faulting.  Nothing allocates; nothing here makes a socket call.
 *
 * The functions are the layer's internals; tests/trace-golden/ links them
 * directly and compares their output with checked-in files.
 */
#ifndef WSPSHIM_TDECODE_H
#define WSPSHIM_TDECODE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* A line being formatted: buf holds the first size - 1 bytes, n counts
 * every byte asked for (n >= size means it was cut). */
struct tline {
	char	*buf;
	size_t	size;
	size_t	n;
};

/* How a call's memory may be read. */
struct tmem {
	int	trusted;	/* the call succeeded: what it used is
				 * readable (memcpy); else process_vm_readv */
	size_t	strsize;	/* strace -s: bytes of data shown (32) */
};

/* Start a line in buf[size]. */
void	tl_init(struct tline *l, char *buf, size_t size);

/* Append a string, a character, or printf output. */
void	tl_puts(struct tline *l, const char *s);
void	tl_putc(struct tline *l, char c);
void	tl_printf(struct tline *l, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* Pad with spaces to column col (strace puts " = " at column 40), then
 * terminate: the line's length, without the NUL. */
void	tl_pad(struct tline *l, size_t col);
size_t	tl_end(struct tline *l);

/* Copy n bytes of the program's memory at src: 0, or -1 if any of it is
 * unreadable. */
int	tpeek(const struct tmem *m, void *dst, const void *src, size_t n);

/* A pointer as strace prints it: NULL or 0x7ffd.... */
void	td_ptr(struct tline *l, const void *p);

/* len bytes at p as a quoted, escaped string, at most m->strsize of them
 * and "..." after when there are more; hex forces \xNN escapes.  An
 * unreadable buffer is printed as its address. */
void	td_str(struct tline *l, const struct tmem *m, const void *p,
	    size_t len, int hex);

/* Names: AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_TCP (for af),
 * MSG_DONTWAIT|MSG_NOSIGNAL, SOCK_CLOEXEC|SOCK_NONBLOCK (accept4),
 * SHUT_WR, SOL_SOCKET, SO_REUSEADDR (for level), and unknown values the
 * way strace shows them (0x63 /\* AF_??? *\/). */
void	td_family(struct tline *l, int af);
void	td_socktype(struct tline *l, int type);
void	td_protocol(struct tline *l, int af, int protocol);
void	td_msgflags(struct tline *l, unsigned flags);
void	td_sockflags(struct tline *l, int flags);
void	td_shut(struct tline *l, int how);
/* splice(2) flags, as strace: SPLICE_F_MOVE|SPLICE_F_MORE, or 0. */
void	td_spliceflags(struct tline *l, unsigned flags);
/* WSAEventSelect's FD_* bits; WSAEnumNetworkEvents's record at p
 * (error codes of the events that have one). */
void	td_netevents(struct tline *l, unsigned events);
void	td_netrecord(struct tline *l, const struct tmem *m, const void *p);
void	td_level(struct tline *l, int level);
void	td_optname(struct tline *l, int level, int name);

/* A socket address of len bytes: {sa_family=AF_INET, sin_port=htons(80),
 * sin_addr=inet_addr("127.0.0.1")}, NULL, or the address when it cannot
 * be read or len is not positive. */
void	td_sockaddr(struct tline *l, const struct tmem *m,
	    const struct sockaddr *sa, int len);

/* An address a call filled in, with its length word: for accept,
 * recvfrom, getsockname and getpeername: "{...}, [16]", or
 * "{...}, [110 => 16]" when the call changed the length; NULL, NULL when
 * both are NULL; the pointer when the call failed. */
void	td_sockaddr_out(struct tline *l, const struct tmem *m,
	    const struct sockaddr *sa, int inlen, int outlen, int failed,
	    int lenptr_null);

/* An iovec array: [{iov_base="ab", iov_len=2}, ...].  Data is shown for
 * at most avail bytes in all (the bytes a receive returned; SIZE_MAX for
 * a send), and at most m->strsize elements.  td_iov_elem is one element,
 * using up *avail. */
void	td_iovec(struct tline *l, const struct tmem *m,
	    const struct iovec *iov, size_t n, size_t avail);
void	td_iov_elem(struct tline *l, const struct tmem *m, const void *base,
	    size_t len, size_t *avail);

/* A message header, as sendmsg (out 0) or recvmsg after it returned
 * (out 1, avail bytes received, namelen_in the msg_namelen it was given:
 * "msg_namelen=128 => 16" when the call changed it) shows it. */
void	td_msghdr(struct tline *l, const struct tmem *m,
	    const struct msghdr *msg, int out, size_t avail, int namelen_in);

/* The value of a socket option: setsockopt's (val, len), or getsockopt's
 * after it returned (val, outlen). */
void	td_optval_set(struct tline *l, const struct tmem *m, int level,
	    int name, const void *val, int len);
void	td_optval_get(struct tline *l, const struct tmem *m, int level,
	    int name, const void *val, int outlen);

/* " = -1 ECONNREFUSED (Connection refused)" for an errno. */
void	td_errno(struct tline *l, int e);

/* The errno a failing call shows the program for a WSA code: the native
 * errno when it is the one the code was made from, else the table's
 * (the shim's own rule, spi/errmap.h). */
int	td_errno_for(int wsa, int native);

/* The file status flags as fcntl(F_SETFL) shows them: O_RDWR|O_NONBLOCK. */
void	td_fileflags(struct tline *l, int flags);

#endif
