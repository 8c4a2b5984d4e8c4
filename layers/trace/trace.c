/*
 * trace.c - one line per call, strace style (docs/layers/trace.md):
 *
 *	socket(AF_INET, SOCK_STREAM, 6) = 5
 *	connect(5, 127.0.0.1:8080) = 0
 *	send(5, 64) = 64
 *	recv(5, 4096) = -1 WSAECONNRESET
 *
 * The name is the entry point the program called (WSPShimCallName: write
 * and send both reach WSPSend), the first argument the kernel descriptor.
 * Lines go to stderr, or with out=FILE (%p: the pid) to that file, opened
 * O_APPEND | O_CLOEXEC, moved to a descriptor at 1000 or above, out of
 * the program's way, and protected from the program's close, closefrom
 * and dup2 (WSPShimProtectDescriptor).  Each line is one write(2), so lines of several
 * threads or processes never mix.  What a provider calls does not come
 * back through the chain, so the writes are not traced themselves.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layerkit.h"

#define TRACE_FD_MIN	1000

static int out_fd = STDERR_FILENO;

/* Open the out= file (pattern expanded) high up; NULL, or why not. */
static const char *
open_out(const char *pattern)
{
	char path[PATH_MAX];
	int fd, high, err;

	if (lk_expand_path(pattern, path, sizeof(path)) != 0 ||
	    path[0] == '\0')
		return "bad out= file name";
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return "cannot open the out= file";
	if ((high = fcntl(fd, F_DUPFD_CLOEXEC, TRACE_FD_MIN)) >= 0) {
		close(fd);
		fd = high;
	}
	/* Keep it open whatever the program closes (closefrom, say). */
	WSPShimProtectDescriptor(fd, TRUE, &err);
	out_fd = fd;
	return NULL;
}

static const char *
trace_configure(DWORD self, const char *params, void **conf)
{
	char *copy, *s, *tok;
	const char *why = NULL;

	if ((copy = strdup(params)) == NULL)
		return "out of memory";
	s = copy;
	while (why == NULL && (tok = strsep(&s, ";,")) != NULL) {
		tok += strspn(tok, " \t\n");
		if (*tok == '\0')
			continue;
		if (strncmp(tok, "out=", 4) == 0)
			why = open_out(tok + 4);
		else
			why = "unknown key (out=FILE)";
	}
	free(copy);
	return why;
}

/* Append to a line buffer; never past its end. */
struct line {
	char	buf[512];
	size_t	n;
};

static void put(struct line *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
put(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (l->n >= sizeof(l->buf))
		return;
	va_start(ap, fmt);
	w = vsnprintf(l->buf + l->n, sizeof(l->buf) - l->n, fmt, ap);
	va_end(ap);
	if (w > 0)
		l->n += (size_t)w;
	if (l->n >= sizeof(l->buf))
		l->n = sizeof(l->buf) - 1;
}

static const char *
family_name(int af)
{
	switch (af) {
	case AF_INET:
		return "AF_INET";
	case AF_INET6:
		return "AF_INET6";
	case AF_UNIX:
		return "AF_UNIX";
	}
	return NULL;
}

static const char *
type_name(int type)
{
	switch (type) {
	case SOCK_STREAM:
		return "SOCK_STREAM";
	case SOCK_DGRAM:
		return "SOCK_DGRAM";
	case SOCK_SEQPACKET:
		return "SOCK_SEQPACKET";
	case SOCK_RAW:
		return "SOCK_RAW";
	}
	return NULL;
}

/* ", ADDR", or ", NULL". */
static void
put_addr(struct line *l, const struct lk_call *c)
{
	char a[160];

	put(l, ", %s", lk_addr_str(c->addr, c->addrlen, a, sizeof(a)));
}

/* The arguments of call c, after the name and '('. */
static void
put_args(struct line *l, const struct lk_call *c)
{
	const char *n;

	if (c->op == LK_SOCKET) {
		if ((n = family_name(c->arg[0])) != NULL)
			put(l, "%s, ", n);
		else
			put(l, "%d, ", c->arg[0]);
		if ((n = type_name(c->arg[1])) != NULL)
			put(l, "%s, %d", n, c->arg[2]);
		else
			put(l, "%d, %d", c->arg[1], c->arg[2]);
		return;
	}
	if (c->ls == NULL)
		return;
	put(l, "%d", c->ls->fd);
	switch (c->op) {
	case LK_SEND:
	case LK_RECV:
	case LK_SENDMSG:
	case LK_RECVMSG:
		put(l, ", %llu", (unsigned long long)c->len);
		break;
	case LK_SENDTO:
		put(l, ", %llu", (unsigned long long)c->len);
		if (c->addr != NULL)
			put_addr(l, c);
		break;
	case LK_RECVFROM:
		put(l, ", %llu", (unsigned long long)c->len);
		break;
	case LK_CONNECT:
	case LK_BIND:
	case LK_JOINLEAF:
		put_addr(l, c);
		break;
	case LK_LISTEN:
	case LK_SHUTDOWN:
		put(l, ", %d", c->arg[0]);
		break;
	case LK_GETSOCKOPT:
	case LK_SETSOCKOPT:
		put(l, ", %d, %d", c->arg[0], c->arg[1]);
		break;
	case LK_IOCTL:
		put(l, ", %#x", (unsigned)c->arg[0]);
		break;
	default:
		break;
	}
}

/* The result: bytes, a new descriptor, 0, or -1 and the WSA code. */
static void
put_result(struct line *l, const struct lk_call *c)
{
	const char *n;
	char a[160];

	if (c->failed) {
		if ((n = lk_wsa_name(c->err)) != NULL)
			put(l, " = -1 %s", n);
		else
			put(l, " = -1 %d", c->err);
		return;
	}
	if (lk_op_sends(c->op) || lk_op_receives(c->op))
		put(l, " = %llu", (unsigned long long)c->bytes);
	else if (c->nls != NULL)
		put(l, " = %d", c->nls->fd);
	else
		put(l, " = 0");
	if ((c->op == LK_ACCEPT || c->op == LK_ACCEPT4 ||
	    c->op == LK_RECVFROM) && c->addr != NULL && c->addrlen > 0)
		put(l, " (%s)", lk_addr_str(c->addr, c->addrlen, a,
		    sizeof(a)));
}

static int
trace_after(struct lk_call *c)
{
	const char *name = WSPShimCallName();
	struct line l = { .n = 0 };

	if (name == NULL || *name == '\0')
		name = lk_op_names[c->op];
	put(&l, "%s(", name);
	put_args(&l, c);
	put(&l, ")");
	put_result(&l, c);
	l.buf[l.n++] = '\n';
	(void)!write(out_fd, l.buf, l.n);
	return 0;
}

const struct lk_layer lk_layer = {
	.name = "trace",
	.sock_size = sizeof(struct lk_sock),
	.configure = trace_configure,
	.after = trace_after,
};

/* The provider's one export. */
LK_EXPORT int WSPAPI
WSPStartup(WORD version, LPWSPDATA data, LPWSAPROTOCOL_INFOW info,
    WSPUPCALLTABLE upcalls, LPWSPPROC_TABLE procs)
{
	return lk_startup(version, data, info, upcalls, procs);
}
