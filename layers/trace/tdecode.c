/*
 * tdecode.c - socket call arguments in strace's syntax (tdecode.h).
 *
 * The format was matched by running strace 6 on this machine and
 * comparing, call by call; tests/trace-golden/ holds the result.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <wspshim/winsock2.h>

#include "tdecode.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* A value and its name. */
struct tname {
	unsigned	v;
	const char	*name;
};

#define N(x)	{ x, #x }

void
tl_init(struct tline *l, char *buf, size_t size)
{
	l->buf = buf;
	l->size = size;
	l->n = 0;
	if (size > 0)
		buf[0] = '\0';
}

void
tl_putc(struct tline *l, char c)
{
	if (l->n + 1 < l->size)
		l->buf[l->n] = c;
	l->n++;
}

void
tl_puts(struct tline *l, const char *s)
{
	while (*s != '\0')
		tl_putc(l, *s++);
}

void
tl_printf(struct tline *l, const char *fmt, ...)
{
	va_list ap;
	size_t room = l->n + 1 < l->size ? l->size - l->n : 0;
	int w;

	va_start(ap, fmt);
	w = vsnprintf(room > 0 ? l->buf + l->n : NULL, room, fmt, ap);
	va_end(ap);
	if (w > 0)
		l->n += (size_t)w;
}

void
tl_pad(struct tline *l, size_t col)
{
	while (l->n < col)
		tl_putc(l, ' ');
}

/* The length of the line, which is terminated (and cut to fit). */
size_t
tl_end(struct tline *l)
{
	size_t n = l->n < l->size ? l->n : l->size - 1;

	l->buf[n] = '\0';
	return l->n;
}

/* 0 when n bytes at p can all be read (checked in pieces), else -1. */
static int
treadable(const struct tmem *m, const void *p, size_t n)
{
	char scratch[512];
	struct iovec local, remote;
	size_t done, part;

	if (m->trusted)
		return p == NULL && n > 0 ? -1 : 0;
	if (p == NULL)
		return n == 0 ? 0 : -1;
	for (done = 0; done < n; done += part) {
		part = n - done < sizeof(scratch) ? n - done : sizeof(scratch);
		local.iov_base = scratch;
		local.iov_len = part;
		remote.iov_base = (char *)(uintptr_t)p + done;
		remote.iov_len = part;
		if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) !=
		    (ssize_t)part)
			return -1;
	}
	return 0;
}

int
tpeek(const struct tmem *m, void *dst, const void *src, size_t n)
{
	struct iovec local, remote;

	if (n == 0)
		return 0;
	if (src == NULL)
		return -1;
	if (m->trusted) {
		memcpy(dst, src, n);
		return 0;
	}
	local.iov_base = dst;
	local.iov_len = n;
	remote.iov_base = (void *)(uintptr_t)src;
	remote.iov_len = n;
	return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) ==
	    (ssize_t)n ? 0 : -1;
}

void
td_ptr(struct tline *l, const void *p)
{
	if (p == NULL)
		tl_puts(l, "NULL");
	else
		tl_printf(l, "%p", p);
}

/* One byte of a quoted string; next is the byte after it, or -1. */
static void
td_byte(struct tline *l, unsigned char c, int next, int hex)
{
	if (hex) {
		tl_printf(l, "\\x%02x", c);
		return;
	}
	switch (c) {
	case '"':
		tl_puts(l, "\\\"");
		return;
	case '\\':
		tl_puts(l, "\\\\");
		return;
	case '\t':
		tl_puts(l, "\\t");
		return;
	case '\n':
		tl_puts(l, "\\n");
		return;
	case '\v':
		tl_puts(l, "\\v");
		return;
	case '\f':
		tl_puts(l, "\\f");
		return;
	case '\r':
		tl_puts(l, "\\r");
		return;
	}
	if (c >= 0x20 && c < 0x7f) {
		tl_putc(l, (char)c);
		return;
	}
	/* Octal, as short as it can be unless an octal digit follows. */
	if (next >= '0' && next <= '7')
		tl_printf(l, "\\%03o", c);
	else
		tl_printf(l, "\\%o", c);
}

/* Bytes p[0..n) quoted, without a length limit (the caller checked). */
static void
td_quoted(struct tline *l, const unsigned char *p, size_t n, int hex)
{
	size_t i;

	tl_putc(l, '"');
	for (i = 0; i < n; i++)
		td_byte(l, p[i], i + 1 < n ? p[i + 1] : -1, hex);
	tl_putc(l, '"');
}

void
td_str(struct tline *l, const struct tmem *m, const void *p, size_t len,
    int hex)
{
	size_t shown = len < m->strsize ? len : m->strsize;

	if ((p == NULL && len > 0) || treadable(m, p, shown) != 0) {
		td_ptr(l, p);
		return;
	}
	td_quoted(l, p, shown, hex);
	if (shown < len)
		tl_puts(l, "...");
}

/* The name of v in t, or NULL. */
static const char *
tname_find(const struct tname *t, size_t n, unsigned v)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i].v == v)
			return t[i].name;
	return NULL;
}

/* A value by name, or "0x.. /\* WHAT *\/" when it has none. */
static void
td_named(struct tline *l, const struct tname *t, size_t n, unsigned v,
    const char *what)
{
	const char *s = tname_find(t, n, v);

	if (s != NULL)
		tl_puts(l, s);
	else
		tl_printf(l, "%#x /* %s */", v, what);
}

/* Flag bits by name in table order, unknown bits as hex after them, "0"
 * for none. */
static void
td_flags(struct tline *l, const struct tname *t, size_t n, unsigned v,
    const char *what)
{
	unsigned rest = v;
	size_t i;
	int first = 1;

	if (v == 0) {
		tl_putc(l, '0');
		return;
	}
	for (i = 0; i < n; i++) {
		if ((rest & t[i].v) != t[i].v || t[i].v == 0)
			continue;
		tl_printf(l, "%s%s", first ? "" : "|", t[i].name);
		rest &= ~t[i].v;
		first = 0;
	}
	if (rest == 0)
		return;
	if (first)
		tl_printf(l, "%#x /* %s */", rest, what);
	else
		tl_printf(l, "|%#x", rest);
}

static const struct tname families[] = {
	{ 0, "AF_UNSPEC" }, { 1, "AF_UNIX" }, { 2, "AF_INET" },
	{ 3, "AF_AX25" }, { 4, "AF_IPX" }, { 5, "AF_APPLETALK" },
	{ 6, "AF_NETROM" }, { 7, "AF_BRIDGE" }, { 8, "AF_ATMPVC" },
	{ 9, "AF_X25" }, { 10, "AF_INET6" }, { 11, "AF_ROSE" },
	{ 12, "AF_DECnet" }, { 13, "AF_NETBEUI" }, { 14, "AF_SECURITY" },
	{ 15, "AF_KEY" }, { 16, "AF_NETLINK" }, { 17, "AF_PACKET" },
	{ 18, "AF_ASH" }, { 19, "AF_ECONET" }, { 20, "AF_ATMSVC" },
	{ 21, "AF_RDS" }, { 22, "AF_SNA" }, { 23, "AF_IRDA" },
	{ 24, "AF_PPPOX" }, { 25, "AF_WANPIPE" }, { 26, "AF_LLC" },
	{ 27, "AF_IB" }, { 28, "AF_MPLS" }, { 29, "AF_CAN" },
	{ 30, "AF_TIPC" }, { 31, "AF_BLUETOOTH" }, { 32, "AF_IUCV" },
	{ 33, "AF_RXRPC" }, { 34, "AF_ISDN" }, { 35, "AF_PHONET" },
	{ 36, "AF_IEEE802154" }, { 37, "AF_CAIF" }, { 38, "AF_ALG" },
	{ 39, "AF_NFC" }, { 40, "AF_VSOCK" }, { 41, "AF_KCM" },
	{ 42, "AF_QIPCRTR" }, { 43, "AF_SMC" }, { 44, "AF_XDP" },
	{ 45, "AF_MCTP" },
};

void
td_family(struct tline *l, int af)
{
	td_named(l, families, NELEM(families), (unsigned)af, "AF_???");
}

static const struct tname socktypes[] = {
	N(SOCK_STREAM), N(SOCK_DGRAM), N(SOCK_RAW), N(SOCK_RDM),
	N(SOCK_SEQPACKET), N(SOCK_DCCP), N(SOCK_PACKET),
};

static const struct tname sockflags[] = {
	N(SOCK_CLOEXEC), N(SOCK_NONBLOCK),
};

void
td_socktype(struct tline *l, int type)
{
	unsigned fl = (unsigned)type & (SOCK_CLOEXEC | SOCK_NONBLOCK);
	unsigned rest = (unsigned)type & ~fl;
	const char *s = tname_find(socktypes, NELEM(socktypes), rest & 0xf);

	if (s == NULL)
		tl_printf(l, "%#x /* SOCK_??? */", rest);
	else {
		tl_puts(l, s);
		if ((rest & ~0xfu) != 0)
			tl_printf(l, "|%#x /* SOCK_??? */", rest & ~0xfu);
	}
	if (fl != 0) {
		tl_putc(l, '|');
		td_flags(l, sockflags, NELEM(sockflags), fl, "SOCK_???");
	}
}

void
td_sockflags(struct tline *l, int flags)
{
	td_flags(l, sockflags, NELEM(sockflags), (unsigned)flags, "SOCK_???");
}

static const struct tname ipprotos[] = {
	N(IPPROTO_IP), N(IPPROTO_ICMP), N(IPPROTO_IGMP), N(IPPROTO_IPIP),
	N(IPPROTO_TCP), N(IPPROTO_EGP), N(IPPROTO_PUP), N(IPPROTO_UDP),
	N(IPPROTO_IDP), N(IPPROTO_TP), N(IPPROTO_DCCP), N(IPPROTO_IPV6),
	N(IPPROTO_ROUTING), N(IPPROTO_FRAGMENT), N(IPPROTO_RSVP),
	N(IPPROTO_GRE), N(IPPROTO_ESP), N(IPPROTO_AH), N(IPPROTO_ICMPV6),
	N(IPPROTO_NONE), N(IPPROTO_DSTOPTS), N(IPPROTO_MTP),
	N(IPPROTO_BEETPH), N(IPPROTO_ENCAP), N(IPPROTO_PIM),
	N(IPPROTO_COMP), N(IPPROTO_SCTP), N(IPPROTO_MH),
	N(IPPROTO_UDPLITE), N(IPPROTO_MPLS), N(IPPROTO_ETHERNET),
	N(IPPROTO_RAW), N(IPPROTO_MPTCP),
};

void
td_protocol(struct tline *l, int af, int protocol)
{
	if (af == AF_INET || af == AF_INET6)
		td_named(l, ipprotos, NELEM(ipprotos), (unsigned)protocol,
		    "IPPROTO_???");
	else
		tl_printf(l, "%d", protocol);
}

static const struct tname msgflags[] = {
	{ 0x1, "MSG_OOB" }, { 0x2, "MSG_PEEK" }, { 0x4, "MSG_DONTROUTE" },
	{ 0x8, "MSG_CTRUNC" }, { 0x10, "MSG_PROBE" }, { 0x20, "MSG_TRUNC" },
	{ 0x40, "MSG_DONTWAIT" }, { 0x80, "MSG_EOR" },
	{ 0x100, "MSG_WAITALL" }, { 0x200, "MSG_FIN" }, { 0x400, "MSG_SYN" },
	{ 0x800, "MSG_CONFIRM" }, { 0x1000, "MSG_RST" },
	{ 0x2000, "MSG_ERRQUEUE" }, { 0x4000, "MSG_NOSIGNAL" },
	{ 0x8000, "MSG_MORE" }, { 0x10000, "MSG_WAITFORONE" },
	{ 0x20000, "MSG_SENDPAGE_NOTLAST" }, { 0x40000, "MSG_BATCH" },
	{ 0x80000, "MSG_NO_SHARED_FRAGS" }, { 0x4000000, "MSG_ZEROCOPY" },
	{ 0x20000000, "MSG_FASTOPEN" }, { 0x40000000, "MSG_CMSG_CLOEXEC" },
	{ 0x80000000u, "MSG_CMSG_COMPAT" },
};

void
td_msgflags(struct tline *l, unsigned flags)
{
	td_flags(l, msgflags, NELEM(msgflags), flags, "MSG_???");
}

static const struct tname shuts[] = {
	N(SHUT_RD), N(SHUT_WR), N(SHUT_RDWR),
};

static const struct tname spliceflags[] = {
	N(SPLICE_F_MOVE), N(SPLICE_F_NONBLOCK), N(SPLICE_F_MORE),
	N(SPLICE_F_GIFT),
};

void
td_spliceflags(struct tline *l, unsigned flags)
{
	td_flags(l, spliceflags, NELEM(spliceflags), flags, "SPLICE_F_???");
}

static const struct tname netevents[] = {
	N(FD_READ), N(FD_WRITE), N(FD_OOB), N(FD_ACCEPT), N(FD_CONNECT),
	N(FD_CLOSE), N(FD_QOS), N(FD_GROUP_QOS),
	N(FD_ROUTING_INTERFACE_CHANGE), N(FD_ADDRESS_LIST_CHANGE),
};

void
td_netevents(struct tline *l, unsigned events)
{
	td_flags(l, netevents, NELEM(netevents), events, "FD_???");
}

void
td_netrecord(struct tline *l, const struct tmem *m, const void *p)
{
	WSANETWORKEVENTS ne;
	int i, any = 0;

	if (tpeek(m, &ne, p, sizeof(ne)) != 0) {
		td_ptr(l, p);
		return;
	}
	tl_puts(l, "{lNetworkEvents=");
	td_netevents(l, (unsigned)ne.lNetworkEvents);
	for (i = 0; i < FD_MAX_EVENTS; i++) {
		if ((ne.lNetworkEvents & 1L << i) == 0 ||
		    ne.iErrorCode[i] == 0)
			continue;
		tl_printf(l, "%s[%s_BIT]=%d", any ? ", " : ", iErrorCode={",
		    netevents[i].name, ne.iErrorCode[i]);
		any = 1;
	}
	tl_puts(l, any ? "}}" : "}");
}

void
td_shut(struct tline *l, int how)
{
	td_named(l, shuts, NELEM(shuts), (unsigned)how, "SHUT_???");
}

static const struct tname levels[] = {
	{ 0, "SOL_IP" }, { 1, "SOL_SOCKET" }, { 6, "SOL_TCP" },
	{ 17, "SOL_UDP" }, { 41, "SOL_IPV6" }, { 58, "SOL_ICMPV6" },
	{ 132, "SOL_SCTP" }, { 136, "SOL_UDPLITE" }, { 255, "SOL_RAW" },
	{ 256, "SOL_IPX" }, { 257, "SOL_AX25" }, { 258, "SOL_ATALK" },
	{ 259, "SOL_NETROM" }, { 260, "SOL_ROSE" }, { 261, "SOL_DECNET" },
	{ 262, "SOL_X25" }, { 263, "SOL_PACKET" }, { 264, "SOL_ATM" },
	{ 265, "SOL_AAL" }, { 266, "SOL_IRDA" }, { 267, "SOL_NETBEUI" },
	{ 268, "SOL_LLC" }, { 269, "SOL_DCCP" }, { 270, "SOL_NETLINK" },
	{ 271, "SOL_TIPC" }, { 272, "SOL_RXRPC" }, { 273, "SOL_PPPOL2TP" },
	{ 274, "SOL_BLUETOOTH" }, { 275, "SOL_PNPIPE" }, { 276, "SOL_RDS" },
	{ 277, "SOL_IUCV" }, { 278, "SOL_CAIF" }, { 279, "SOL_ALG" },
	{ 280, "SOL_NFC" }, { 281, "SOL_KCM" }, { 282, "SOL_TLS" },
	{ 283, "SOL_XDP" }, { 284, "SOL_MPTCP" }, { 285, "SOL_MCTP" },
	{ 286, "SOL_SMC" },
};

void
td_level(struct tline *l, int level)
{
	td_named(l, levels, NELEM(levels), (unsigned)level, "SOL_??");
}

/* SOL_SOCKET options (x86_64 numbers); the kind says how values print. */
#define OPT_INT		0	/* [N] when len >= 4, else the address */
#define OPT_LINGER	1
#define OPT_PEERCRED	2
#define OPT_RAW		3	/* the bytes as a string */
#define OPT_INTOCT	4	/* as OPT_INT, but short values in octal */

static const struct topt {
	unsigned	v;
	const char	*name;
	int		kind;
} so_opts[] = {
	{ 1, "SO_DEBUG", OPT_INT }, { 2, "SO_REUSEADDR", OPT_INT },
	{ 3, "SO_TYPE", OPT_INTOCT }, { 4, "SO_ERROR", OPT_INT },
	{ 5, "SO_DONTROUTE", OPT_INT }, { 6, "SO_BROADCAST", OPT_INT },
	{ 7, "SO_SNDBUF", OPT_INT }, { 8, "SO_RCVBUF", OPT_INT },
	{ 9, "SO_KEEPALIVE", OPT_INT }, { 10, "SO_OOBINLINE", OPT_INT },
	{ 11, "SO_NO_CHECK", OPT_INT }, { 12, "SO_PRIORITY", OPT_INT },
	{ 13, "SO_LINGER", OPT_LINGER }, { 14, "SO_BSDCOMPAT", OPT_INT },
	{ 15, "SO_REUSEPORT", OPT_INT }, { 16, "SO_PASSCRED", OPT_INT },
	{ 17, "SO_PEERCRED", OPT_PEERCRED }, { 18, "SO_RCVLOWAT", OPT_INT },
	{ 19, "SO_SNDLOWAT", OPT_INT }, { 20, "SO_RCVTIMEO_OLD", OPT_RAW },
	{ 21, "SO_SNDTIMEO_OLD", OPT_RAW },
	{ 22, "SO_SECURITY_AUTHENTICATION", OPT_RAW },
	{ 23, "SO_SECURITY_ENCRYPTION_TRANSPORT", OPT_RAW },
	{ 24, "SO_SECURITY_ENCRYPTION_NETWORK", OPT_RAW },
	{ 25, "SO_BINDTODEVICE", OPT_RAW }, { 26, "SO_ATTACH_FILTER", OPT_RAW },
	{ 27, "SO_DETACH_FILTER", OPT_RAW }, { 28, "SO_PEERNAME", OPT_RAW },
	{ 29, "SO_TIMESTAMP_OLD", OPT_INT }, { 30, "SO_ACCEPTCONN", OPT_INT },
	{ 31, "SO_PEERSEC", OPT_RAW }, { 32, "SO_SNDBUFFORCE", OPT_INT },
	{ 33, "SO_RCVBUFFORCE", OPT_INT }, { 34, "SO_PASSSEC", OPT_INT },
	{ 35, "SO_TIMESTAMPNS_OLD", OPT_INT }, { 36, "SO_MARK", OPT_INT },
	{ 37, "SO_TIMESTAMPING_OLD", OPT_INT },
	{ 38, "SO_PROTOCOL", OPT_INTOCT },
	{ 39, "SO_DOMAIN", OPT_INTOCT }, { 40, "SO_RXQ_OVFL", OPT_INT },
	{ 41, "SO_WIFI_STATUS", OPT_INT }, { 42, "SO_PEEK_OFF", OPT_INT },
	{ 43, "SO_NOFCS", OPT_INT }, { 44, "SO_LOCK_FILTER", OPT_INT },
	{ 45, "SO_SELECT_ERR_QUEUE", OPT_INT }, { 46, "SO_BUSY_POLL", OPT_INT },
	{ 47, "SO_MAX_PACING_RATE", OPT_INT },
	{ 48, "SO_BPF_EXTENSIONS", OPT_INT },
	{ 49, "SO_INCOMING_CPU", OPT_INT },
	{ 50, "SO_ATTACH_BPF", OPT_INT },
	{ 51, "SO_ATTACH_REUSEPORT_CBPF", OPT_RAW },
	{ 52, "SO_ATTACH_REUSEPORT_EBPF", OPT_INT },
	{ 53, "SO_CNX_ADVICE", OPT_INT }, { 55, "SO_MEMINFO", OPT_RAW },
	{ 56, "SO_INCOMING_NAPI_ID", OPT_INT }, { 57, "SO_COOKIE", OPT_RAW },
	{ 59, "SO_PEERGROUPS", OPT_RAW }, { 60, "SO_ZEROCOPY", OPT_INT },
	{ 61, "SO_TXTIME", OPT_RAW }, { 62, "SO_BINDTOIFINDEX", OPT_INT },
	{ 63, "SO_TIMESTAMP_NEW", OPT_INT },
	{ 64, "SO_TIMESTAMPNS_NEW", OPT_INT },
	{ 65, "SO_TIMESTAMPING_NEW", OPT_RAW },
	{ 66, "SO_RCVTIMEO_NEW", OPT_RAW }, { 67, "SO_SNDTIMEO_NEW", OPT_RAW },
	{ 68, "SO_DETACH_REUSEPORT_BPF", OPT_INT },
	{ 69, "SO_PREFER_BUSY_POLL", OPT_INT },
	{ 70, "SO_BUSY_POLL_BUDGET", OPT_INT },
	{ 71, "SO_NETNS_COOKIE", OPT_RAW }, { 72, "SO_BUF_LOCK", OPT_INT },
	{ 73, "SO_RESERVE_MEM", OPT_INT }, { 74, "SO_TXREHASH", OPT_INT },
};

static const struct tname ip_opts[] = {
	{ 1, "IP_TOS" }, { 2, "IP_TTL" }, { 3, "IP_HDRINCL" },
	{ 4, "IP_OPTIONS" }, { 5, "IP_ROUTER_ALERT" }, { 6, "IP_RECVOPTS" },
	{ 7, "IP_RETOPTS" }, { 8, "IP_PKTINFO" }, { 9, "IP_PKTOPTIONS" },
	{ 10, "IP_MTU_DISCOVER" }, { 11, "IP_RECVERR" }, { 12, "IP_RECVTTL" },
	{ 13, "IP_RECVTOS" }, { 14, "IP_MTU" }, { 15, "IP_FREEBIND" },
	{ 16, "IP_IPSEC_POLICY" }, { 17, "IP_XFRM_POLICY" },
	{ 18, "IP_PASSSEC" }, { 19, "IP_TRANSPARENT" },
	{ 20, "IP_ORIGDSTADDR" }, { 21, "IP_MINTTL" }, { 22, "IP_NODEFRAG" },
	{ 23, "IP_CHECKSUM" }, { 24, "IP_BIND_ADDRESS_NO_PORT" },
	{ 25, "IP_RECVFRAGSIZE" }, { 26, "IP_RECVERR_RFC4884" },
	{ 32, "IP_MULTICAST_IF" }, { 33, "IP_MULTICAST_TTL" },
	{ 34, "IP_MULTICAST_LOOP" }, { 35, "IP_ADD_MEMBERSHIP" },
	{ 36, "IP_DROP_MEMBERSHIP" }, { 37, "IP_UNBLOCK_SOURCE" },
	{ 38, "IP_BLOCK_SOURCE" }, { 39, "IP_ADD_SOURCE_MEMBERSHIP" },
	{ 40, "IP_DROP_SOURCE_MEMBERSHIP" }, { 41, "IP_MSFILTER" },
	{ 42, "MCAST_JOIN_GROUP" }, { 43, "MCAST_BLOCK_SOURCE" },
	{ 44, "MCAST_UNBLOCK_SOURCE" }, { 45, "MCAST_LEAVE_GROUP" },
	{ 46, "MCAST_JOIN_SOURCE_GROUP" }, { 47, "MCAST_LEAVE_SOURCE_GROUP" },
	{ 48, "MCAST_MSFILTER" }, { 49, "IP_MULTICAST_ALL" },
	{ 50, "IP_UNICAST_IF" },
};

static const struct tname ipv6_opts[] = {
	{ 1, "IPV6_ADDRFORM" }, { 2, "IPV6_2292PKTINFO" },
	{ 3, "IPV6_2292HOPOPTS" }, { 4, "IPV6_2292DSTOPTS" },
	{ 5, "IPV6_2292RTHDR" }, { 6, "IPV6_2292PKTOPTIONS" },
	{ 7, "IPV6_CHECKSUM" }, { 8, "IPV6_2292HOPLIMIT" },
	{ 9, "IPV6_NEXTHOP" }, { 10, "IPV6_AUTHHDR" }, { 11, "IPV6_FLOWINFO" },
	{ 16, "IPV6_UNICAST_HOPS" }, { 17, "IPV6_MULTICAST_IF" },
	{ 18, "IPV6_MULTICAST_HOPS" }, { 19, "IPV6_MULTICAST_LOOP" },
	{ 20, "IPV6_ADD_MEMBERSHIP" }, { 21, "IPV6_DROP_MEMBERSHIP" },
	{ 22, "IPV6_ROUTER_ALERT" }, { 23, "IPV6_MTU_DISCOVER" },
	{ 24, "IPV6_MTU" }, { 25, "IPV6_RECVERR" }, { 26, "IPV6_V6ONLY" },
	{ 27, "IPV6_JOIN_ANYCAST" }, { 28, "IPV6_LEAVE_ANYCAST" },
	{ 29, "IPV6_MULTICAST_ALL" }, { 30, "IPV6_ROUTER_ALERT_ISOLATE" },
	{ 31, "IPV6_RECVERR_RFC4884" }, { 32, "IPV6_FLOWLABEL_MGR" },
	{ 33, "IPV6_FLOWINFO_SEND" }, { 34, "IPV6_IPSEC_POLICY" },
	{ 35, "IPV6_XFRM_POLICY" }, { 36, "IPV6_HDRINCL" },
	{ 49, "IPV6_RECVPKTINFO" }, { 50, "IPV6_PKTINFO" },
	{ 51, "IPV6_RECVHOPLIMIT" }, { 52, "IPV6_HOPLIMIT" },
	{ 53, "IPV6_RECVHOPOPTS" }, { 54, "IPV6_HOPOPTS" },
	{ 55, "IPV6_RTHDRDSTOPTS" }, { 56, "IPV6_RECVRTHDR" },
	{ 57, "IPV6_RTHDR" }, { 58, "IPV6_RECVDSTOPTS" },
	{ 59, "IPV6_DSTOPTS" }, { 60, "IPV6_RECVPATHMTU" },
	{ 61, "IPV6_PATHMTU" }, { 62, "IPV6_DONTFRAG" },
	{ 66, "IPV6_RECVTCLASS" }, { 67, "IPV6_TCLASS" },
	{ 70, "IPV6_AUTOFLOWLABEL" }, { 72, "IPV6_ADDR_PREFERENCES" },
	{ 73, "IPV6_MINHOPCOUNT" }, { 74, "IPV6_ORIGDSTADDR" },
	{ 75, "IPV6_TRANSPARENT" }, { 76, "IPV6_UNICAST_IF" },
	{ 77, "IPV6_RECVFRAGSIZE" }, { 78, "IPV6_FREEBIND" },
};

static const struct tname tcp_opts[] = {
	{ 1, "TCP_NODELAY" }, { 2, "TCP_MAXSEG" }, { 3, "TCP_CORK" },
	{ 4, "TCP_KEEPIDLE" }, { 5, "TCP_KEEPINTVL" }, { 6, "TCP_KEEPCNT" },
	{ 7, "TCP_SYNCNT" }, { 8, "TCP_LINGER2" }, { 9, "TCP_DEFER_ACCEPT" },
	{ 10, "TCP_WINDOW_CLAMP" }, { 11, "TCP_INFO" }, { 12, "TCP_QUICKACK" },
	{ 13, "TCP_CONGESTION" }, { 14, "TCP_MD5SIG" },
	{ 16, "TCP_THIN_LINEAR_TIMEOUTS" }, { 17, "TCP_THIN_DUPACK" },
	{ 18, "TCP_USER_TIMEOUT" }, { 19, "TCP_REPAIR" },
	{ 20, "TCP_REPAIR_QUEUE" }, { 21, "TCP_QUEUE_SEQ" },
	{ 22, "TCP_REPAIR_OPTIONS" }, { 23, "TCP_FASTOPEN" },
	{ 24, "TCP_TIMESTAMP" }, { 25, "TCP_NOTSENT_LOWAT" },
	{ 26, "TCP_CC_INFO" }, { 27, "TCP_SAVE_SYN" }, { 28, "TCP_SAVED_SYN" },
	{ 29, "TCP_REPAIR_WINDOW" }, { 30, "TCP_FASTOPEN_CONNECT" },
	{ 31, "TCP_ULP" }, { 32, "TCP_MD5SIG_EXT" },
	{ 33, "TCP_FASTOPEN_KEY" }, { 34, "TCP_FASTOPEN_NO_COOKIE" },
	{ 35, "TCP_ZEROCOPY_RECEIVE" }, { 36, "TCP_INQ" },
	{ 37, "TCP_TX_DELAY" },
};

static const struct tname udp_opts[] = {
	{ 1, "UDP_CORK" }, { 100, "UDP_ENCAP" }, { 101, "UDP_NO_CHECK6_TX" },
	{ 102, "UDP_NO_CHECK6_RX" }, { 103, "UDP_SEGMENT" }, { 104, "UDP_GRO" },
};

/* The SOL_SOCKET option v, or NULL. */
static const struct topt *
so_opt(unsigned v)
{
	size_t i;

	for (i = 0; i < NELEM(so_opts); i++)
		if (so_opts[i].v == v)
			return &so_opts[i];
	return NULL;
}

void
td_optname(struct tline *l, int level, int name)
{
	const struct topt *o;

	switch (level) {
	case SOL_SOCKET:
		if ((o = so_opt((unsigned)name)) != NULL)
			tl_puts(l, o->name);
		else
			tl_printf(l, "%#x /* SO_??? */", (unsigned)name);
		return;
	case SOL_IP:
		td_named(l, ip_opts, NELEM(ip_opts), (unsigned)name,
		    "IP_???");
		return;
	case SOL_IPV6:
		td_named(l, ipv6_opts, NELEM(ipv6_opts), (unsigned)name,
		    "IPV6_???");
		return;
	case IPPROTO_TCP:	/* SOL_TCP */
		td_named(l, tcp_opts, NELEM(tcp_opts), (unsigned)name,
		    "TCP_???");
		return;
	case IPPROTO_UDP:	/* SOL_UDP */
		td_named(l, udp_opts, NELEM(udp_opts), (unsigned)name,
		    "UDP_???");
		return;
	}
	tl_printf(l, "%d", name);
}

/* An IPv6 scope id: if_nametoindex("lo") for a link-local address on an
 * interface that exists, else the number. */
static void
td_scope(struct tline *l, const struct in6_addr *a, uint32_t id)
{
	char name[IF_NAMESIZE];

	if (id != 0 && (IN6_IS_ADDR_LINKLOCAL(a) ||
	    IN6_IS_ADDR_MC_LINKLOCAL(a)) && if_indextoname(id, name) != NULL)
		tl_printf(l, "if_nametoindex(\"%s\")", name);
	else
		tl_printf(l, "%u", id);
}

/* The address part of an AF_UNIX sockaddr of len bytes. */
static void
td_sun(struct tline *l, const struct sockaddr_un *sun, size_t len)
{
	size_t plen = len - offsetof(struct sockaddr_un, sun_path), n;

	if (plen > sizeof(sun->sun_path))
		plen = sizeof(sun->sun_path);
	if (plen == 0)
		return;
	tl_puts(l, ", sun_path=");
	if (sun->sun_path[0] == '\0') {
		tl_putc(l, '@');
		td_quoted(l, (const unsigned char *)sun->sun_path + 1,
		    plen - 1, 0);
		return;
	}
	for (n = 0; n < plen && sun->sun_path[n] != '\0'; n++)
		continue;
	td_quoted(l, (const unsigned char *)sun->sun_path, n, 0);
}

void
td_sockaddr(struct tline *l, const struct tmem *m, const struct sockaddr *sa,
    int len)
{
	struct sockaddr_storage ss;
	const struct sockaddr_in *sin = (const void *)&ss;
	const struct sockaddr_in6 *sin6 = (const void *)&ss;
	char host[INET6_ADDRSTRLEN];
	size_t n;

	if (sa == NULL) {
		tl_puts(l, "NULL");
		return;
	}
	n = len > (int)sizeof(ss) ? sizeof(ss) : (size_t)(len > 0 ? len : 0);
	if (n < sizeof(sa_family_t) || tpeek(m, &ss, sa, n) != 0) {
		td_ptr(l, sa);
		return;
	}
	tl_puts(l, "{sa_family=");
	td_family(l, ss.ss_family);
	switch (ss.ss_family) {
	case AF_INET:
		if (n < sizeof(*sin))
			break;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		tl_printf(l, ", sin_port=htons(%u), "
		    "sin_addr=inet_addr(\"%s\")}", ntohs(sin->sin_port), host);
		return;
	case AF_INET6:
		if (n < offsetof(struct sockaddr_in6, sin6_scope_id))
			break;
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		tl_printf(l, ", sin6_port=htons(%u), sin6_flowinfo=htonl(%u), "
		    "inet_pton(AF_INET6, \"%s\", &sin6_addr)",
		    ntohs(sin6->sin6_port), ntohl(sin6->sin6_flowinfo), host);
		if (n >= sizeof(*sin6)) {
			tl_puts(l, ", sin6_scope_id=");
			td_scope(l, &sin6->sin6_addr, sin6->sin6_scope_id);
		}
		tl_putc(l, '}');
		return;
	case AF_UNIX:
		td_sun(l, (const struct sockaddr_un *)(const void *)&ss, n);
		tl_putc(l, '}');
		return;
	}
	if (n > sizeof(sa_family_t)) {
		tl_puts(l, ", sa_data=");
		td_quoted(l, (const unsigned char *)&ss + sizeof(sa_family_t),
		    n - sizeof(sa_family_t), 0);
	}
	tl_putc(l, '}');
}

void
td_sockaddr_out(struct tline *l, const struct tmem *m,
    const struct sockaddr *sa, int inlen, int outlen, int failed,
    int lenptr_null)
{
	if (failed || sa == NULL || outlen <= 0)
		td_ptr(l, sa);
	else
		td_sockaddr(l, m, sa, outlen < inlen ? outlen : inlen);
	if (lenptr_null)
		tl_puts(l, ", NULL");
	else if (failed || inlen == outlen)
		tl_printf(l, ", [%d]", inlen);
	else
		tl_printf(l, ", [%d => %d]", inlen, outlen);
}

/* Before element i of an array: ", " after the first, and 1; or "..."
 * and 0 when the -s limit's m->strsize elements are shown already (how
 * strace cuts arrays). */
static int
td_elem(struct tline *l, const struct tmem *m, size_t i)
{
	if (i > 0)
		tl_puts(l, ", ");
	if (i >= m->strsize) {
		tl_puts(l, "...");
		return 0;
	}
	return 1;
}

void
td_iov_elem(struct tline *l, const struct tmem *m, const void *base,
    size_t len, size_t *avail)
{
	size_t show = len < *avail ? len : *avail;

	tl_puts(l, "{iov_base=");
	td_str(l, m, base, show, 0);
	tl_printf(l, ", iov_len=%zu}", len);
	*avail -= show;
}

void
td_iovec(struct tline *l, const struct tmem *m, const struct iovec *iov,
    size_t n, size_t avail)
{
	struct iovec one;
	size_t i;

	if (n > 0 && treadable(m, iov, n * sizeof(*iov)) != 0) {
		td_ptr(l, iov);
		return;
	}
	tl_putc(l, '[');
	for (i = 0; i < n && td_elem(l, m, i); i++) {
		memcpy(&one, &iov[i], sizeof(one));
		td_iov_elem(l, m, one.iov_base, one.iov_len, &avail);
	}
	tl_putc(l, ']');
}

/*
 * Control messages, as strace 6.1 prints them (src/msghdr.c there):
 * SOL_SOCKET and SOL_IP types by name and their data decoded when it is
 * at least the size the type needs; a type with no decoder, or too little
 * data, shows no cmsg_data; other levels show the type in hex and no
 * data.  Arrays (SCM_RIGHTS, IP_TTL, IP_TOS, ...) show at most -s
 * elements, as strace's; structures and SCM_SECURITY's string are never
 * cut.  The numbers are x86_64's.
 */
enum cmsg_kind {
	CM_NONE,	/* the type's name only */
	CM_FDS,		/* int array */
	CM_CREDS,	/* struct ucred */
	CM_STRING,	/* quoted, whole */
	CM_TIMEVAL,	/* one struct timeval (16 bytes) */
	CM_TIMESPEC,	/* one struct timespec (16 bytes) */
	CM_TIMESPEC3,	/* three of them (scm_timestamping) */
	CM_UINTS,	/* unsigned int array */
	CM_XBYTES,	/* byte array in hex */
	CM_PKTINFO,	/* struct in_pktinfo */
	CM_RECVERR,	/* struct sock_extended_err + the offender */
	CM_SOCKADDR,	/* a sockaddr */
};

static const struct tcmsg {
	unsigned	v;
	const char	*name;
	enum cmsg_kind	kind;
	size_t		min;	/* data bytes the decoder needs */
} scm_types[] = {
	{ 1, "SCM_RIGHTS", CM_FDS, sizeof(int) },
	{ 2, "SCM_CREDENTIALS", CM_CREDS, sizeof(struct ucred) },
	{ 3, "SCM_SECURITY", CM_STRING, 1 },
	{ 29, "SO_TIMESTAMP_OLD", CM_TIMEVAL, 1 },
	{ 35, "SO_TIMESTAMPNS_OLD", CM_TIMESPEC, 1 },
	{ 37, "SO_TIMESTAMPING_OLD", CM_TIMESPEC3, 1 },
	{ 41, "SO_WIFI_STATUS", CM_NONE, 0 },
	{ 54, "SCM_TIMESTAMPING_OPT_STATS", CM_NONE, 0 },
	{ 58, "SCM_TIMESTAMPING_PKTINFO", CM_NONE, 0 },
	{ 61, "SO_TXTIME", CM_NONE, 0 },
	{ 63, "SO_TIMESTAMP_NEW", CM_TIMEVAL, 1 },
	{ 64, "SO_TIMESTAMPNS_NEW", CM_TIMESPEC, 1 },
	{ 65, "SO_TIMESTAMPING_NEW", CM_TIMESPEC3, 1 },
}, ip_types[] = {
	{ 1, "IP_TOS", CM_XBYTES, 1 },
	{ 2, "IP_TTL", CM_UINTS, sizeof(unsigned) },
	{ 3, "SCM_SECURITY", CM_STRING, 1 },
	{ 6, "IP_RECVOPTS", CM_XBYTES, 1 },
	{ 7, "IP_RETOPTS", CM_XBYTES, 1 },
	{ 8, "IP_PKTINFO", CM_PKTINFO, sizeof(struct in_pktinfo) },
	{ 11, "IP_RECVERR", CM_RECVERR, 16 + sizeof(struct sockaddr_in) },
	{ 20, "IP_ORIGDSTADDR", CM_SOCKADDR, sizeof(struct sockaddr_in) },
	{ 23, "IP_CHECKSUM", CM_UINTS, sizeof(unsigned) },
};

/* The entry of type v in t, or NULL. */
static const struct tcmsg *
tcmsg_find(const struct tcmsg *t, size_t n, unsigned v)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i].v == v)
			return &t[i];
	return NULL;
}

/* An array of dlen / size elements at d (int, unsigned or hex bytes by
 * kind), at most m->strsize of them, as strace's print_local_array. */
static void
td_cmsg_array(struct tline *l, const struct tmem *m, const unsigned char *d,
    size_t dlen, enum cmsg_kind kind)
{
	size_t size = kind == CM_XBYTES ? 1 : sizeof(int), i, n = dlen / size;
	unsigned u;
	int v;

	tl_putc(l, '[');
	for (i = 0; i < n && td_elem(l, m, i); i++) {
		if (kind == CM_XBYTES) {
			tl_printf(l, d[i] != 0 ? "%#x" : "%u", d[i]);
		} else if (kind == CM_UINTS) {
			memcpy(&u, d + i * size, sizeof(u));
			tl_printf(l, "%u", u);
		} else {
			memcpy(&v, d + i * size, sizeof(v));
			tl_printf(l, "%d", v);
		}
	}
	tl_putc(l, ']');
}

/* A struct timeval or timespec (x86_64: two 64-bit words) at d. */
static void
td_cmsg_time(struct tline *l, const unsigned char *d, int nsec)
{
	int64_t t[2];

	memcpy(t, d, sizeof(t));
	tl_printf(l, "{tv_sec=%lld, %s=%lld}", (long long)t[0],
	    nsec ? "tv_nsec" : "tv_usec", (long long)t[1]);
}

/* An interface index: if_nametoindex("lo") when it names one. */
static void
td_ifindex(struct tline *l, unsigned idx)
{
	char name[IF_NAMESIZE];

	if (idx != 0 && if_indextoname(idx, name) != NULL)
		tl_printf(l, "if_nametoindex(\"%s\")", name);
	else
		tl_printf(l, "%u", idx);
}

/* The data of a control message of kind c->kind: dlen bytes at d. */
static void
td_cmsg_data(struct tline *l, const struct tmem *m, const struct tcmsg *c,
    const unsigned char *d, size_t dlen)
{
	struct tmem local = { .trusted = 1, .strsize = m->strsize };
	char a1[INET_ADDRSTRLEN], a2[INET_ADDRSTRLEN];
	struct sock_ee {
		uint32_t	ee_errno;
		uint8_t		ee_origin, ee_type, ee_code, ee_pad;
		uint32_t	ee_info, ee_data;
	} ee;
	struct in_pktinfo pi;
	struct ucred uc;
	int i;

	tl_puts(l, ", cmsg_data=");
	switch (c->kind) {
	case CM_FDS:
	case CM_UINTS:
	case CM_XBYTES:
		td_cmsg_array(l, m, d, dlen, c->kind);
		break;
	case CM_CREDS:
		memcpy(&uc, d, sizeof(uc));
		tl_printf(l, "{pid=%d, uid=%u, gid=%u}", (int)uc.pid,
		    (unsigned)uc.uid, (unsigned)uc.gid);
		break;
	case CM_STRING:
		td_quoted(l, d, dlen, 0);
		break;
	case CM_TIMEVAL:
	case CM_TIMESPEC:
		if (dlen != 2 * sizeof(int64_t))
			tl_puts(l, "???");
		else
			td_cmsg_time(l, d, c->kind == CM_TIMESPEC);
		break;
	case CM_TIMESPEC3:
		if (dlen != 6 * sizeof(int64_t)) {
			tl_puts(l, "???");
			break;
		}
		tl_putc(l, '[');
		for (i = 0; i < 3; i++) {
			tl_puts(l, i > 0 ? ", " : "");
			td_cmsg_time(l, d + i * 2 * sizeof(int64_t), 1);
		}
		tl_putc(l, ']');
		break;
	case CM_PKTINFO:
		memcpy(&pi, d, sizeof(pi));
		inet_ntop(AF_INET, &pi.ipi_spec_dst, a1, sizeof(a1));
		inet_ntop(AF_INET, &pi.ipi_addr, a2, sizeof(a2));
		tl_puts(l, "{ipi_ifindex=");
		td_ifindex(l, (unsigned)pi.ipi_ifindex);
		tl_printf(l, ", ipi_spec_dst=inet_addr(\"%s\"), "
		    "ipi_addr=inet_addr(\"%s\")}", a1, a2);
		break;
	case CM_RECVERR:
		memcpy(&ee, d, sizeof(ee));
		tl_printf(l, "{ee_errno=%u, ee_origin=%u, ee_type=%u, "
		    "ee_code=%u, ee_info=%u, ee_data=%u, offender=",
		    ee.ee_errno, ee.ee_origin, ee.ee_type, ee.ee_code,
		    ee.ee_info, ee.ee_data);
		td_sockaddr(l, &local, (const struct sockaddr *)(const void *)
		    (d + sizeof(ee)), (int)sizeof(struct sockaddr_in));
		tl_putc(l, '}');
		break;
	case CM_SOCKADDR:
		td_sockaddr(l, &local, (const struct sockaddr *)(const void *)d,
		    (int)(dlen > sizeof(struct sockaddr_storage) ?
		    sizeof(struct sockaddr_storage) : dlen));
		break;
	case CM_NONE:
		break;
	}
}

/* The type of a control message at level, then its data (dlen bytes at
 * d) when strace decodes it. */
static void
td_cmsg_type(struct tline *l, const struct tmem *m, int level, int type,
    const unsigned char *d, size_t dlen)
{
	const struct tcmsg *c = NULL;
	const char *unknown;

	if (level == SOL_SOCKET) {
		c = tcmsg_find(scm_types, NELEM(scm_types), (unsigned)type);
		unknown = "SCM_???";
	} else if (level == SOL_IP) {
		c = tcmsg_find(ip_types, NELEM(ip_types), (unsigned)type);
		unknown = "IP_???";
	} else {
		tl_printf(l, "%#x", (unsigned)type);
		return;
	}
	if (c == NULL) {
		tl_printf(l, "%#x /* %s */", (unsigned)type, unknown);
		return;
	}
	tl_puts(l, c->name);
	if (c->kind != CM_NONE && dlen >= c->min)
		td_cmsg_data(l, m, c, d, dlen);
}

/* The control messages of len bytes at ctl (already read into buf):
 * each whole header, its data cut at the end of the buffer; bytes left
 * after the last header that fits are "..." and where they start. */
static void
td_cmsgs(struct tline *l, const struct tmem *m, const void *ctl,
    const unsigned char *buf, size_t len)
{
	struct cmsghdr h;
	size_t off = 0, left = len, clen, step;

	tl_putc(l, '[');
	while (left >= sizeof(h)) {
		memcpy(&h, buf + off, sizeof(h));
		if (off > 0)
			tl_puts(l, ", ");
		tl_printf(l, "{cmsg_len=%zu, cmsg_level=", (size_t)h.cmsg_len);
		td_level(l, h.cmsg_level);
		tl_puts(l, ", cmsg_type=");
		clen = h.cmsg_len < left ? h.cmsg_len : left;
		td_cmsg_type(l, m, h.cmsg_level, h.cmsg_type,
		    buf + off + sizeof(h), clen > sizeof(h) ?
		    clen - sizeof(h) : 0);
		tl_putc(l, '}');
		if (clen < sizeof(h)) {
			left -= sizeof(h);
			break;
		}
		step = CMSG_ALIGN(h.cmsg_len);
		if (step >= left || step < sizeof(h)) {	/* (or wrapped) */
			left = 0;
			break;
		}
		off += step;
		left -= step;
	}
	if (left > 0)
		tl_printf(l, "%s... /* %p */", len > left ? ", " : "",
		    (const void *)((const char *)ctl + (len - left)));
	tl_putc(l, ']');
}

/* msg_control and msg_controllen (the first only when len is not 0). */
static void
td_control(struct tline *l, const struct tmem *m, const void *ctl,
    size_t len)
{
	unsigned char buf[1024];

	if (len > 0) {
		tl_puts(l, ", msg_control=");
		if (len >= sizeof(struct cmsghdr) && len <= sizeof(buf) &&
		    tpeek(m, buf, ctl, len) == 0)
			td_cmsgs(l, m, ctl, buf, len);
		else
			td_ptr(l, ctl);
	}
	tl_printf(l, ", msg_controllen=%zu", len);
}

void
td_msghdr(struct tline *l, const struct tmem *m, const struct msghdr *msg,
    int out, size_t avail, int namelen_in)
{
	struct msghdr h;

	if (tpeek(m, &h, msg, sizeof(h)) != 0) {
		td_ptr(l, msg);
		return;
	}
	tl_puts(l, "{msg_name=");
	td_sockaddr(l, m, h.msg_name, (int)h.msg_namelen);
	if (out && namelen_in != (int)h.msg_namelen)
		tl_printf(l, ", msg_namelen=%d => %u", namelen_in,
		    (unsigned)h.msg_namelen);
	else
		tl_printf(l, ", msg_namelen=%u", (unsigned)h.msg_namelen);
	tl_puts(l, ", msg_iov=");
	td_iovec(l, m, h.msg_iov, h.msg_iovlen, out ? avail : SIZE_MAX);
	tl_printf(l, ", msg_iovlen=%zu", (size_t)h.msg_iovlen);
	td_control(l, m, h.msg_control, h.msg_controllen);
	tl_puts(l, ", msg_flags=");
	td_msgflags(l, (unsigned)h.msg_flags);
	tl_putc(l, '}');
}

/* An int option value: [N] (SO_ERROR's by errno name), or the bytes
 * when there is no int. */
static void
td_optint(struct tline *l, const struct tmem *m, const void *val, int len,
    int sol_socket, int get, int so_error, int octal)
{
	int v;

	if ((sol_socket ? len >= (int)sizeof(v) : len == (int)sizeof(v)) &&
	    tpeek(m, &v, val, sizeof(v)) == 0) {
		if (so_error && v > 0 && strerrorname_np(v) != NULL)
			tl_printf(l, "[%s]", strerrorname_np(v));
		else
			tl_printf(l, "[%d]", v);
		return;
	}
	if (sol_socket && len < (int)sizeof(v)) {
		if (get && len > 0)
			td_str(l, m, val, (size_t)len, !octal);
		else
			td_ptr(l, val);
		return;
	}
	td_str(l, m, val, len > 0 ? (size_t)len : 0, 0);
}

/* An option value of len bytes (both directions). */
static void
td_optval(struct tline *l, const struct tmem *m, int level, int name,
    const void *val, int len, int get)
{
	const struct topt *o;
	struct linger lg;
	struct ucred uc;

	if (val == NULL) {
		tl_puts(l, "NULL");
		return;
	}
	o = level == SOL_SOCKET ? so_opt((unsigned)name) : NULL;
	if (o == NULL || o->kind == OPT_RAW) {
		if (o == NULL && len == (int)sizeof(int)) {
			td_optint(l, m, val, len, 0, get, 0, 0);
			return;
		}
		td_str(l, m, val, len > 0 ? (size_t)len : 0, 0);
		return;
	}
	switch (o->kind) {
	case OPT_LINGER:
		if (len >= (int)sizeof(lg) && tpeek(m, &lg, val,
		    sizeof(lg)) == 0) {
			tl_printf(l, "{l_onoff=%d, l_linger=%d}", lg.l_onoff,
			    lg.l_linger);
			return;
		}
		break;
	case OPT_PEERCRED:
		if (len >= (int)sizeof(uc) && tpeek(m, &uc, val,
		    sizeof(uc)) == 0) {
			tl_printf(l, "{pid=%d, uid=%d, gid=%d}", (int)uc.pid,
			    (int)uc.uid, (int)uc.gid);
			return;
		}
		break;
	default:
		td_optint(l, m, val, len, 1, get, name == SO_ERROR,
		    o->kind == OPT_INTOCT);
		return;
	}
	td_str(l, m, val, len > 0 ? (size_t)len : 0, 0);
}

void
td_optval_set(struct tline *l, const struct tmem *m, int level, int name,
    const void *val, int len)
{
	td_optval(l, m, level, name, val, len, 0);
}

void
td_optval_get(struct tline *l, const struct tmem *m, int level, int name,
    const void *val, int outlen)
{
	if (outlen <= 0 && val != NULL) {
		td_ptr(l, val);
		return;
	}
	td_optval(l, m, level, name, val, outlen, 1);
}

void
td_errno(struct tline *l, int e)
{
	const char *name = strerrorname_np(e);
	const char *desc = strerrordesc_np(e);

	if (name != NULL)
		tl_printf(l, " = -1 %s (%s)", name, desc != NULL ? desc :
		    "Unknown error");
	else
		tl_printf(l, " = -1 %d (Unknown error %d)", e, e);
}

/* The WSA code an errno makes at the base (errors.def's BOTH and ALIAS
 * rows), or WSASYSCALLFAILURE. */
static int
wsa_of_errno(int e)
{
	switch (e) {
#define ERRMAP_BOTH(code, errno_, msg)	case errno_: return code;
#define ERRMAP_CODE(code, errno_, msg)
#define ERRMAP_ALIAS(errno_, code)	case errno_: return code;
#include "errors.def"
#undef ERRMAP_BOTH
#undef ERRMAP_CODE
#undef ERRMAP_ALIAS
	default:
		return WSASYSCALLFAILURE;
	}
}

/* The errno the shim gives for a WSA code it did not see made (BOTH and
 * CODE rows), or EIO. */
static int
errno_of_wsa(int wsa)
{
	switch (wsa) {
#define ERRMAP_BOTH(code, errno_, msg)	case code: return errno_;
#define ERRMAP_CODE(code, errno_, msg)	case code: return errno_;
#define ERRMAP_ALIAS(errno_, code)
#include "errors.def"
#undef ERRMAP_BOTH
#undef ERRMAP_CODE
#undef ERRMAP_ALIAS
	default:
		return EIO;
	}
}

int
td_errno_for(int wsa, int native)
{
	if (wsa == 0)
		wsa = WSASYSCALLFAILURE;
	if (native > 0 && wsa_of_errno(native) == wsa)
		return native;
	return errno_of_wsa(wsa);
}

static const struct tname fileflags[] = {
	N(O_APPEND), N(O_ASYNC), N(O_DIRECT), N(O_NOATIME), N(O_NONBLOCK),
	N(O_DSYNC), N(O_SYNC), N(O_LARGEFILE), N(O_CLOEXEC),
};

void
td_fileflags(struct tline *l, int flags)
{
	static const char *const acc[] = { "O_RDONLY", "O_WRONLY", "O_RDWR",
	    "O_ACCMODE" };
	unsigned rest = (unsigned)flags & ~(unsigned)O_ACCMODE;

	tl_puts(l, acc[flags & O_ACCMODE]);
	if (rest == 0)
		return;
	tl_putc(l, '|');
	td_flags(l, fileflags, NELEM(fileflags), rest, "O_???");
}
