/*
 * golden.c - the trace layer's decoder (layers/trace/tdecode.c) on fixed
 * inputs, one line per case, "NAME: OUTPUT".  test_trace_golden.sh runs
 * it and compares its output with decode.out; every expected line was
 * checked against what strace 6 prints for the same argument.
 *
 *	golden			print every case
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <wspshim/winsock2.h>

#include "cmsg-cases.h"
#include "tdecode.h"

static char linebuf[8192];
static struct tline line;
static struct tmem mem = { .trusted = 1, .strsize = 32 };
static struct tmem careful = { .trusted = 0, .strsize = 32 };
static void *bad;		/* an unmapped page */

/* Nothing: starts case name. */
static void
begin(void)
{
	tl_init(&line, linebuf, sizeof(linebuf));
}

/* Nothing: prints case name with what was formatted. */
static void
end(const char *name)
{
	tl_end(&line);
	printf("%s: %s\n", name, linebuf);
}

/* A pointer printed the way the .out file has it (addresses vary). */
static void
ptr_case(const char *name, const void *p)
{
	begin();
	td_ptr(&line, p);
	tl_end(&line);
	printf("%s: %s\n", name, p == bad ? "BAD" : linebuf);
}

static void
strings(void)
{
	unsigned char all[256];
	int i;

	for (i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	for (i = 0; i < 256; i += 16) {
		char name[32];
		struct tmem wide = { .trusted = 1, .strsize = 64 };

		begin();
		td_str(&line, &wide, all + i, 16, 0);
		snprintf(name, sizeof(name), "str bytes %02x-%02x", i, i + 15);
		end(name);
	}
	begin();
	td_str(&line, &mem, "\0011\0a@9\x7f\x80\"\\'?\0\0", 14, 0);
	end("str octal before digits");
	begin();
	td_str(&line, &mem, "\0018\0019\0017", 6, 0);
	end("str octal before 8 and 9");
	begin();
	td_str(&line, &mem, "0123456789012345678901234567890123456789", 40,
	    0);
	end("str cut at 32");
	begin();
	td_str(&line, &mem, "exactly 32 bytes, not one more!!", 32, 0);
	end("str of exactly 32");
	begin();
	td_str(&line, &mem, "", 0, 0);
	end("str empty");
	begin();
	td_str(&line, &mem, "\x00\x40", 2, 1);
	end("str hex");
	begin();
	td_str(&line, &careful, bad, 5, 0);
	tl_end(&line);
	printf("str bad pointer: %s\n", strtoul(linebuf, NULL, 16) ==
	    (unsigned long)(uintptr_t)bad ? "BAD" : linebuf);
	begin();
	td_str(&line, &careful, "readable", 8, 0);
	end("str checked and readable");
	ptr_case("ptr NULL", NULL);
	ptr_case("ptr bad", bad);
}

static void
names(void)
{
	static const int fams[] = { AF_UNSPEC, AF_UNIX, AF_INET, AF_INET6,
	    AF_NETLINK, AF_PACKET, 99 };
	static const int types[] = { SOCK_STREAM, SOCK_DGRAM,
	    SOCK_SEQPACKET, SOCK_RAW, SOCK_STREAM | SOCK_CLOEXEC,
	    SOCK_DGRAM | SOCK_NONBLOCK,
	    SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0x4d,
	    SOCK_DGRAM | 0x100000 };
	static const int protos[][2] = { { AF_INET, 0 }, { AF_INET, 6 },
	    { AF_INET6, 17 }, { AF_INET6, 262 }, { AF_INET, 3 },
	    { AF_UNIX, 0 } };
	static const unsigned msgs[] = { 0, MSG_PEEK, MSG_DONTWAIT |
	    MSG_NOSIGNAL, MSG_OOB | MSG_MORE | MSG_NOSIGNAL | 0x80000,
	    MSG_TRUNC | MSG_WAITALL | MSG_ERRQUEUE, MSG_CMSG_CLOEXEC,
	    0x100000, MSG_PEEK | 0x200000 };
	static const int levels[][2] = { { SOL_SOCKET, SO_REUSEADDR },
	    { SOL_SOCKET, SO_RCVTIMEO }, { SOL_SOCKET, 0x2005 },
	    { IPPROTO_TCP, 1 }, { IPPROTO_TCP, 9999 }, { IPPROTO_IP, 1 },
	    { IPPROTO_IPV6, 26 }, { IPPROTO_UDP, 1 }, { 999, 1 } };
	size_t i;

	for (i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
		begin();
		td_family(&line, fams[i]);
		end("family");
	}
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		begin();
		td_socktype(&line, types[i]);
		end("type");
	}
	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
		begin();
		td_protocol(&line, protos[i][0], protos[i][1]);
		end("protocol");
	}
	for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		begin();
		td_msgflags(&line, msgs[i]);
		end("msg flags");
	}
	begin();
	td_sockflags(&line, SOCK_CLOEXEC | SOCK_NONBLOCK | 4);
	end("accept4 flags");
	for (i = 0; i < 4; i++) {
		begin();
		td_shut(&line, i == 3 ? 7 : (int)i);
		end("shutdown how");
	}
	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		begin();
		td_level(&line, levels[i][0]);
		tl_puts(&line, ", ");
		td_optname(&line, levels[i][0], levels[i][1]);
		end("level, option");
	}
	begin();
	td_fileflags(&line, O_RDWR | O_NONBLOCK);
	end("file flags");
	begin();
	td_fileflags(&line, O_RDONLY);
	end("file flags none");
}

static void
addrs(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_port = htons(8080) };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6,
	    .sin6_port = htons(443), .sin6_flowinfo = htonl(5),
	    .sin6_scope_id = 77 };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct sockaddr sa = { .sa_family = 99 };

	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	begin();
	td_sockaddr(&line, &mem, (void *)&sin, sizeof(sin));
	end("sockaddr in");
	begin();
	td_sockaddr(&line, &mem, (void *)&sin, 4);
	end("sockaddr in, short");
	inet_pton(AF_INET6, "::1", &sin6.sin6_addr);
	begin();
	td_sockaddr(&line, &mem, (void *)&sin6, sizeof(sin6));
	end("sockaddr in6");
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &sin6.sin6_addr);
	begin();
	td_sockaddr(&line, &mem, (void *)&sin6, 24);
	end("sockaddr in6, RFC 2133 length");
	inet_pton(AF_INET6, "fe80::2", &sin6.sin6_addr);
	begin();
	td_sockaddr(&line, &mem, (void *)&sin6, sizeof(sin6));
	end("sockaddr in6, no such interface");
	begin();
	td_sockaddr(&line, &mem, (void *)&sun, sizeof(sa_family_t));
	end("sockaddr unix, unnamed");
	strcpy(sun.sun_path, "/tmp/x.sock");
	begin();
	td_sockaddr(&line, &mem, (void *)&sun, sizeof(sun));
	end("sockaddr unix, path");
	begin();
	td_sockaddr(&line, &mem, (void *)&sun,
	    (int)(offsetof(struct sockaddr_un, sun_path) + 11));
	end("sockaddr unix, path without NUL");
	memcpy(sun.sun_path, "\0abs\0tract", 10);
	begin();
	td_sockaddr(&line, &mem, (void *)&sun,
	    (int)(offsetof(struct sockaddr_un, sun_path) + 10));
	end("sockaddr unix, abstract");
	begin();
	td_sockaddr(&line, &mem, &sa, sizeof(sa));
	end("sockaddr unknown family");
	begin();
	td_sockaddr(&line, &mem, NULL, 0);
	end("sockaddr NULL");
	begin();
	td_sockaddr(&line, &careful, bad, 16);
	tl_end(&line);
	printf("sockaddr bad pointer: %s\n", strtoul(linebuf, NULL, 16) ==
	    (unsigned long)(uintptr_t)bad ? "BAD" : linebuf);
	begin();
	td_sockaddr_out(&line, &mem, (void *)&sin, 16, 16, 0, 0);
	end("sockaddr out, same length");
	begin();
	td_sockaddr_out(&line, &mem, (void *)&sun, 110, 13, 0, 0);
	end("sockaddr out, shorter");
	begin();
	td_sockaddr_out(&line, &mem, NULL, 0, 0, 0, 1);
	end("sockaddr out, NULL, NULL");
}

static void
vectors(void)
{
	struct iovec iov[2] = { { "ab", 2 }, { "cd", 2 } };
	struct iovec rd[2] = { { "abc", 3 }, { "d\0\0\0", 50 } };
	struct iovec badv[2] = { { "ok", 2 }, { NULL, 3 } };
	struct iovec many[40];
	size_t i;

	badv[1].iov_base = bad;
	for (i = 0; i < 40; i++) {
		many[i].iov_base = "x";
		many[i].iov_len = 1;
	}
	begin();
	td_iovec(&line, &mem, iov, 2, SIZE_MAX);
	end("iovec write");
	begin();
	td_iovec(&line, &mem, rd, 2, 4);
	end("iovec read of 4 bytes");
	begin();
	td_iovec(&line, &careful, badv, 2, SIZE_MAX);
	tl_end(&line);
	printf("iovec with a bad base: %s\n", strstr(linebuf, "iov_base=0x") ?
	    "{ok, then an address}" : linebuf);
	begin();
	td_iovec(&line, &mem, many, 40, SIZE_MAX);
	end("iovec of 40, cut at 32");
}

static void
messages(void)
{
	char cbuf[CMSG_SPACE(3 * sizeof(int)) +
	    CMSG_SPACE(sizeof(struct ucred))];
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_port = htons(53) };
	struct iovec io = { "m", 1 };
	struct msghdr m = { 0 };
	struct cmsghdr *cm;
	struct ucred uc = { 1234, 0, 0 };
	int fds[3] = { 5, 6, 7 };

	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	m.msg_iov = &io;
	m.msg_iovlen = 1;
	begin();
	td_msghdr(&line, &mem, &m, 0, SIZE_MAX, 0);
	end("msghdr plain");
	m.msg_name = &sin;
	m.msg_namelen = sizeof(sin);
	begin();
	td_msghdr(&line, &mem, &m, 0, SIZE_MAX, 0);
	end("msghdr with a name");
	begin();
	td_msghdr(&line, &mem, &m, 1, 1, 128);
	end("msghdr received, name length changed");
	memset(cbuf, 0, sizeof(cbuf));
	m.msg_name = NULL;
	m.msg_namelen = 0;
	m.msg_control = cbuf;
	m.msg_controllen = CMSG_SPACE(sizeof(int));
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), fds, sizeof(int));
	begin();
	td_msghdr(&line, &mem, &m, 0, SIZE_MAX, 0);
	end("msghdr SCM_RIGHTS");
	m.msg_controllen = sizeof(cbuf);
	cm->cmsg_len = CMSG_LEN(3 * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	cm = CMSG_NXTHDR(&m, cm);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_CREDENTIALS;
	cm->cmsg_len = CMSG_LEN(sizeof(uc));
	memcpy(CMSG_DATA(cm), &uc, sizeof(uc));
	m.msg_flags = MSG_CTRUNC;
	begin();
	td_msghdr(&line, &mem, &m, 1, 1, 0);
	end("msghdr three fds and credentials");
	m.msg_control = bad;
	m.msg_controllen = 20;
	m.msg_flags = 0;
	begin();
	td_msghdr(&line, &careful, &m, 0, SIZE_MAX, 0);
	tl_end(&line);
	printf("msghdr bad control: %s\n", strstr(linebuf, "msg_control=0x") ?
	    "control printed as its address" : linebuf);
	begin();
	td_msghdr(&line, &careful, bad, 0, SIZE_MAX, 0);
	tl_end(&line);
	printf("msghdr bad pointer: %s\n", strtoul(linebuf, NULL, 16) ==
	    (unsigned long)(uintptr_t)bad ? "BAD" : linebuf);
}

/* Every control message kind of cmsg-cases.h, at -s 32, 2 and 0: the
 * msg_control part of the msghdr, the address of trailing bytes as
 * ADDR. */
static void
controls(void)
{
	static const size_t sizes[] = { 32, 2, 0 };
	unsigned char ctl[256];
	struct iovec io = { "m", 1 };
	struct msghdr m = { .msg_iov = &io, .msg_iovlen = 1,
	    .msg_control = ctl };
	struct tmem sized = { .trusted = 1 };
	char *p, *q, *e;
	size_t i, k;

	for (i = 0; i < CMSG_NCASES; i++) {
		for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			m.msg_controllen = cmsg_case_build(&cmsg_cases[i],
			    ctl);
			sized.strsize = sizes[k];
			begin();
			td_msghdr(&line, &sized, &m, 0, SIZE_MAX, 0);
			tl_end(&line);
			p = strstr(linebuf, "msg_control=");
			e = p != NULL ? strstr(p, ", msg_controllen=") : NULL;
			if (e != NULL)
				*e = '\0';
			if (p != NULL && (q = strstr(p, "/* 0x")) != NULL)
				memcpy(q, "/* ADDR */", sizeof("/* ADDR */"));
			printf("cmsg %s s=%zu: %s\n", cmsg_cases[i].name,
			    sizes[k], p != NULL ? p + 12 : linebuf);
		}
	}
}

static void
options(void)
{
	struct linger lg = { 1, 5 };
	struct ucred uc = { 0, (uid_t)-1, (gid_t)-1 };
	long long v8 = 1;
	int one = 1, err = ECONNREFUSED;
	char tv[16] = { 5 };

	begin();
	td_optval_set(&line, &mem, SOL_SOCKET, SO_REUSEADDR, &one, 4);
	end("setsockopt int");
	begin();
	td_optval_set(&line, &mem, SOL_SOCKET, SO_REUSEADDR, &v8, 8);
	end("setsockopt SOL_SOCKET int of 8 bytes");
	begin();
	td_optval_set(&line, &mem, IPPROTO_TCP, 1, &v8, 8);
	end("setsockopt TCP int of 8 bytes");
	begin();
	td_optval_set(&line, &mem, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	end("setsockopt linger");
	begin();
	td_optval_set(&line, &mem, SOL_SOCKET, SO_RCVTIMEO, tv, 16);
	end("setsockopt timeval");
	begin();
	td_optval_set(&line, &mem, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3);
	end("setsockopt device");
	begin();
	td_optval_set(&line, &mem, SOL_SOCKET, SO_REUSEADDR, NULL, 4);
	end("setsockopt NULL");
	begin();
	td_optval_get(&line, &mem, SOL_SOCKET, SO_ERROR, &err, 4);
	end("getsockopt SO_ERROR");
	err = 0;
	begin();
	td_optval_get(&line, &mem, SOL_SOCKET, SO_ERROR, &err, 4);
	end("getsockopt SO_ERROR 0");
	begin();
	td_optval_get(&line, &mem, SOL_SOCKET, SO_PEERCRED, &uc, sizeof(uc));
	end("getsockopt peercred");
	begin();
	td_optval_get(&line, &mem, SOL_SOCKET, SO_SNDBUF, "\x00\x40", 2);
	end("getsockopt short int");
	begin();
	td_optval_get(&line, &mem, SOL_SOCKET, SO_TYPE, "\1\0", 2);
	end("getsockopt short SO_TYPE");
}

static void
errors(void)
{
	static const int e[] = { ECONNREFUSED, EAGAIN, EINPROGRESS, EPIPE,
	    EFAULT, ENOTSOCK };

	static const int wsa[][2] = {
		{ WSAECONNREFUSED, ECONNREFUSED },	/* the base's own */
		{ WSAECONNREFUSED, ENOENT },		/* AF_UNIX, native */
		{ WSAECONNREFUSED, 0 },			/* a layer made it */
		{ WSAESHUTDOWN, EPIPE },		/* EPIPE kept */
		{ WSAEWOULDBLOCK, EAGAIN },
		{ WSAECONNRESET, EPIPE },		/* not from EPIPE */
		{ WSAEPROVIDERFAILEDINIT, 0 },
		{ 0, 0 },				/* none: EIO */
	};
	size_t i;

	for (i = 0; i < sizeof(e) / sizeof(e[0]); i++) {
		begin();
		td_errno(&line, e[i]);
		end("errno");
	}
	for (i = 0; i < sizeof(wsa) / sizeof(wsa[0]); i++) {
		begin();
		tl_printf(&line, "WSA %d, native %d:", wsa[i][0], wsa[i][1]);
		td_errno(&line, td_errno_for(wsa[i][0], wsa[i][1]));
		end("errno for");
	}
}

int
main(void)
{
	long page = sysconf(_SC_PAGESIZE);

	bad = mmap(NULL, (size_t)page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
	    -1, 0);
	if (bad == MAP_FAILED)
		return 1;
	strings();
	names();
	addrs();
	vectors();
	messages();
	controls();
	options();
	errors();
	return fflush(stdout) == 0 ? 0 : 1;
}
